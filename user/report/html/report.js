/*
 * memscope-bpf HTML report: draws the JSON report embedded in the page
 * (docs/report-format.md) with d3-flame-graph and uPlot.  See
 * docs/html-report.md.
 *
 * Every string from the target (symbols, file names, thread names, the
 * command line) reaches the page through textContent or setAttribute, never
 * through innerHTML, so a hostile name shows as text.  When the page has
 * rendered without an error it adds <div id="render-done">: the tests wait
 * for it.
 */
(function () {
	'use strict';

	var PRUNE_FRACTION = 1e-4;   /* flame graph frames below this share of the total are dropped */
	var TABLE_ROWS = 500;        /* rows drawn before "show all" */
	var errors = 0;

	function showError(msg) {
		var box = document.getElementById('errors');

		errors++;
		box.hidden = false;
		box.appendChild(el('div', null, 'This report could not be drawn completely: ' + msg));
	}

	window.addEventListener('error', function (e) {
		showError(e.message + (e.filename ? ' (' + e.filename.split('/').pop() + ':' + e.lineno + ')' : ''));
	});

	/* ---------- DOM and formatting helpers ---------- */

	/* el('td', {class: 'num', 'data-v': 3}, 'text', node, ...): text is always a text node */
	function el(tag, attrs) {
		var e = document.createElement(tag);
		var i, k, c;

		if (attrs) {
			for (k in attrs) {
				if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false)
					continue;
				if (k === 'class')
					e.className = attrs[k];
				else if (k === 'text')
					e.textContent = attrs[k];
				else
					e.setAttribute(k, attrs[k] === true ? '' : String(attrs[k]));
			}
		}
		for (i = 2; i < arguments.length; i++) {
			c = arguments[i];
			if (c === null || c === undefined)
				continue;
			e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
		}
		return e;
	}

	function $(id) {
		return document.getElementById(id);
	}

	function clear(node) {
		while (node.firstChild)
			node.removeChild(node.firstChild);
		return node;
	}

	function fmtInt(n) {
		if (n === null || n === undefined)
			return '–';
		return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
	}

	var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

	function fmtBytes(n) {
		var u = 0, v = n;

		if (n === null || n === undefined)
			return '–';
		while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
			v /= 1024;
			u++;
		}
		if (u === 0)
			return fmtInt(v) + ' B';
		return (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)) + ' ' + UNITS[u];
	}

	function fmtRate(n) {
		if (n === null || n === undefined)
			return '–';
		if (n >= 1e6)
			return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + ' M/s';
		if (n >= 1e3)
			return (n / 1e3).toFixed(n >= 1e4 ? 0 : 1) + ' k/s';
		return n.toFixed(n >= 10 ? 0 : 1) + ' /s';
	}

	/* microseconds as a duration: "13.4 ms", "2.50 s", "3 min 4 s" */
	function fmtDuration(us) {
		if (us === null || us === undefined)
			return '–';
		if (us < 1000)
			return fmtInt(us) + ' µs';
		if (us < 1e6)
			return (us / 1000).toFixed(us < 1e4 ? 2 : 1) + ' ms';
		if (us < 60e6)
			return (us / 1e6).toFixed(2) + ' s';
		return Math.floor(us / 60e6) + ' min ' + Math.round((us % 60e6) / 1e6) + ' s';
	}

	/* seconds since tracing started: "+0.002 s" */
	function fmtAt(us) {
		var s = us / 1e6;

		return '+' + (s < 10 ? s.toFixed(3) : s < 100 ? s.toFixed(2) : s.toFixed(1)) + ' s';
	}

	function plural(n, one, many) {
		return fmtInt(n) + ' ' + (n === 1 ? one : many);
	}

	function basename(p) {
		return p ? String(p).split('/').pop() : '';
	}

	function pct(part, whole) {
		if (!whole)
			return '';
		if (!part)
			return '0%';
		var p = 100 * part / whole;

		return (p >= 10 ? p.toFixed(1) : p >= 1 ? p.toFixed(2) : p.toFixed(3)) + '%';
	}

	/* ---------- the report ---------- */

	var R = JSON.parse($('report-data').textContent);
	var S = R.summary || {};
	var T = R.target || {};
	var TR = R.tracing || {};
	var stacks = new Map();
	var threadsByTid = new Map();

	(R.stacks || []).forEach(function (s) {
		stacks.set(s.id, s);
	});
	(R.threads || []).forEach(function (t) {
		threadsByTid.set(t.tid, t);
	});
	/*
	 * -f: the other processes traced; every leak, site, finding and thread names its pid.
	 * --all's keep no sites (their table is their view): no process filter then.
	 */
	var procs = R.system_wide ? [] : R.processes || [];
	var procsByPid = new Map();

	procs.forEach(function (p) {
		procsByPid.set(p.pid, p);
	});

	/* an entry's process: a report from before pids were written has only the target's */
	function pidOf(r) {
		return typeof r.pid === 'number' ? r.pid : T.pid;
	}

	function frameName(f) {
		if (f.function)
			return f.function;
		return f.ip + (f.module ? ' in ' + basename(f.module) : '');
	}

	function frameLoc(f) {
		if (f.file)
			return f.file + (f.line ? ':' + f.line : '');
		return f.module || '';
	}

	function siteFrame(id) {
		var s = stacks.get(id);

		if (!s || !s.frames || !s.frames.length)
			return null;
		return s.frames[s.site_frame >= 0 ? s.site_frame : 0];
	}

	function siteName(id) {
		var f = siteFrame(id);

		if (id === null || id === undefined)
			return TR.stacks === 'none' ? '(no call site: --no-stacks)' : '(no stack)';
		return f ? frameName(f) : '(stack ' + id + ')';
	}

	function siteLoc(id) {
		var f = siteFrame(id);

		return f ? frameLoc(f) : '';
	}

	/* ---------- state ---------- */

	var leakRuleAtExit = !TR.min_age_us;
	var threadSites = Array.isArray(R.thread_sites) ? R.thread_sites : null;
	var win = R.windows || { bucket_us: 0, origin_us: 0, entries: [] };
	var state = {
		metric: null,
		thread: null,     /* tid, with thread_sites only */
		process: null,    /* pid, with -f's processes only; null: every process */
		window: null,     /* {t0, t1, b0, b1, weights: Map stack -> {bytes, count}} */
		inverted: false,
		search: ''
	};

	/*
	 * Flame graph weightings.  site(s) reads a "sites" entry; ts(e) reads a
	 * thread_sites entry (absent: not available per thread).
	 */
	var METRICS = [
		{ id: 'live', unit: 'bytes', label: leakRuleAtExit ? 'In use at end (leaks)' : 'In use at end',
		  site: function (s) { return s.live_bytes; },
		  ts: function (e) { return e.length >= 7 ? e[5] : e[4]; } },
		{ id: 'leaked', unit: 'bytes', label: 'Leaked (' + (TR.leak_rule || 'leak rule') + ')',
		  only: !leakRuleAtExit },
		{ id: 'peak', unit: 'bytes', label: 'In use at peak',
		  site: function (s) { return s.peak_bytes; } },
		{ id: 'bytes', unit: 'bytes', label: 'Total bytes allocated',
		  site: function (s) { return s.bytes; },
		  ts: function (e) { return e[3]; } },
		{ id: 'allocations', unit: 'count', label: 'Allocation count',
		  site: function (s) { return s.allocations; },
		  ts: function (e) { return e[2]; } },
		{ id: 'temporary', unit: 'count', label: 'Temporary allocations',
		  site: function (s) { return s.temporary; },
		  ts: function (e) { return e.length >= 7 ? e[6] : undefined; } },
		{ id: 'win_bytes', unit: 'bytes', label: 'Window: bytes still in use at its end', win: true, what: 'Bytes' },
		{ id: 'win_count', unit: 'count', label: 'Window: blocks still in use at its end', win: true, what: 'Blocks' }
	];

	/* Whether entry r (a leak, site, finding, thread) is in the process chosen. */
	function ofProc(r) {
		return state.process === null || pidOf(r) === state.process;
	}

	function metricById(id) {
		return METRICS.filter(function (m) { return m.id === id; })[0];
	}

	function availableMetrics() {
		return METRICS.filter(function (m) {
			if (state.window)
				return !!m.win;
			if (m.win || m.only === false)
				return false;
			if (state.thread !== null)
				return !!m.ts && (m.id !== 'temporary' || threadSites.some(function (e) { return e.length >= 7; }));
			return true;
		});
	}

	/* Map stack id -> weight for the current state and metric */
	function weights(metric) {
		var w = new Map();

		function add(stack, v) {
			if (v > 0)
				w.set(stack, (w.get(stack) || 0) + v);
		}
		if (state.window) {
			state.window.weights.forEach(function (v, stack) {
				add(stack, metric.id === 'win_count' ? v.count : v.bytes);
			});
		} else if (state.thread !== null) {
			threadSites.forEach(function (e) {
				if (e[0] === state.thread)
					add(e[1], metric.ts(e));
			});
		} else if (metric.id === 'leaked') {
			(R.leaks || []).filter(ofProc).forEach(function (l) { add(l.stack, l.bytes); });
		} else if (metric.id === 'peak' && !(R.sites || []).some(function (s) { return 'peak_bytes' in s; })) {
			if (state.process === null || state.process === T.pid)
				((R.peak || {}).sites || []).forEach(function (p) { add(p.stack, p.bytes); });
		} else {
			(R.sites || []).filter(ofProc).forEach(function (s) { add(s.stack, metric.site(s)); });
		}
		return w;
	}

	function fmtValue(metric, v) {
		return metric.unit === 'bytes' ? fmtBytes(v) : fmtInt(v);
	}

	function fmtValueExact(metric, v) {
		return metric.unit === 'bytes' ? fmtInt(v) + ' bytes' : fmtInt(v);
	}

	/* ---------- header, warnings, summary ---------- */

	var STACK_ENDS = {
		depth: 'deeper frames not recorded (more than 64)',
		no_table: 'the stack ends here: the next frame is in code without unwind tables (--unwind=dwarf)',
		unsupported: 'the stack ends here: an unwind rule memscope-bpf cannot follow (a DWARF expression, a signal frame)',
		read: 'the stack ends here: the stack memory could not be read',
		no_vma: 'the stack ends here: a return address in no mapping'
	};

	/* How stacks were walked, and how many ended early, for the header. */
	function stacksMeta() {
		var how = { dwarf: 'unwound by the objects\' CFI (frame pointers where there is none)',
			fp: 'walked by frame pointers', none: 'not taken (direct caller only)' };
		var text = 'stacks ' + (how[TR.stacks] || TR.stacks || '?');

		if (S.truncated_stacks)
			text += ' · ' + plural(S.truncated_stacks, 'stack', 'stacks') + ' truncated';
		return text;
	}

	function renderHeader() {
		var name = T.comm || 'target';
		var meta = $('target-meta');

		document.title = 'memscope-bpf: ' + name + (T.pid ? ' (' + T.pid + ')' : '');
		$('target-name').textContent = name + (T.pid ? '  ·  pid ' + T.pid : '');
		$('target-cmdline').textContent = T.cmdline || '';
		meta.appendChild(el('div', null, (T.launched ? 'launched' : 'attached') + ', ' + (T.exit || '')));
		meta.appendChild(el('div', null, 'traced for ' + fmtDuration(S.duration_us)));
		meta.appendChild(el('div', { id: 'stacks-meta' }, stacksMeta()));
		meta.appendChild(el('div', null, 'memscope-bpf ' + (R.version || '')));
	}

	function renderWarnings() {
		var box = $('warnings');
		var bad = [], info = [];

		if (S.lost_events)
			bad.push(plural(S.lost_events, 'event was', 'events were') + ' dropped because the ring buffer was full. ' +
				'Counts and bytes below are too low, and a block whose release was dropped shows as still in use. ' +
				'Run again with a larger --ringbuf-size.');
		if (S.lost_stacks)
			bad.push(plural(S.lost_stacks, 'allocation', 'allocations') + ' lost their stack record; they are ' +
				'grouped under their direct caller only.');
		if (TR.execs_not_followed)
			bad.push('The target execed ' + plural(TR.execs_not_followed, 'time', 'times') + ' while traced and ' +
				'was not followed (an attached process): the numbers below mix the programs before and after.');
		(TR.degraded || []).forEach(function (d) {
			bad.push('This kernel refused ' + d.feature + ' (' + d.reason + '), so the trace ran with ' +
				d.instead + '.');
		});
		if (S.unknown_frees) {
			var why = T.launched ?
				'They are usually blocks the dynamic loader handed out before the C library\'s allocator took over, ' +
				'or blocks whose allocation event was dropped.' :
				'memscope-bpf attached to a running process, so they are most likely blocks allocated before it attached.';
			info.push((S.unknown_frees === 1 ? '1 release of a block' : fmtInt(S.unknown_frees) + ' releases of blocks') +
				' never seen allocated (unknown frees): ' +
				why + ' They are counted, not reported as bugs.');
		}
		if (S.vm_child_frees)
			info.push((S.vm_child_frees === 1 ? '1 release of a block' : fmtInt(S.vm_child_frees) + ' releases of blocks') +
				' allocated by ' + plural(TR.vm_children, 'process', 'processes') + ' sharing the address space ' +
				'(vfork children, not traced); counted apart from unknown frees.');
		(R.system_wide ? [] : R.processes || []).forEach(function (p) {
			info.push('Also traced (-f): pid ' + p.pid + ' \u2018' + (p.comm || '?') + '\u2019' +
				(p.ppid ? ', forked by ' + p.ppid : '') + ': ' +
				plural(p.allocations, 'allocation', 'allocations') + ', ' + plural(p.frees, 'free', 'frees') + ', ' +
				(p.exited ? plural(p.leaked_allocations, 'block', 'blocks') + ' (' + fmtBytes(p.leaked_bytes) +
					') leaked (live at its exit).' :
					plural(p.live_allocations, 'block', 'blocks') + ' (' + fmtBytes(p.live_bytes) +
					') live, still running.') +
				' Choose it under Process to see its leak sites, hotspots, findings and threads;' +
				' the summary, timeline and windows are the target\'s alone.');
		});
		if (!(R.processes || []).length && (TR.children || TR.children_at_attach)) {
			var kids = [];
			if (TR.children)
				kids.push(plural(TR.children, 'process', 'processes') + ' forked while traced');
			if (TR.children_at_attach)
				kids.push(plural(TR.children_at_attach, 'process', 'processes') + ' running below it at attach');
			info.push('The target had children: ' + kids.join('; ') + '. They were not traced: ' +
				'their allocations are not on this page.');
		}
		(R.images || []).forEach(function (im) {
			if (im.ended_by !== 'exec')
				return;
			info.push('Before its exec at ' + fmtDuration(im.end_t_us) + ', pid ' + im.pid + ' ran \u2018' +
				(im.comm || '?') + '\u2019 (' + (im.cmdline || '') + '): ' +
				plural(im.allocations, 'allocation', 'allocations') + ', ' +
				plural(im.live_allocations, 'block', 'blocks') + ' (' + fmtBytes(im.live_bytes) +
				') live at the exec. The exec released them: they are not this program\u2019s leaks, ' +
				'and the rest of the page is about the program it became.');
		});
		if (S.unmatched_annotations)
			info.push(plural(S.unmatched_annotations, 'annotation', 'annotations') + ' named an address in no block ' +
				'memscope-bpf knew of (unmatched annotations); they are not in the variables table.');
		if (!leakRuleAtExit && !R.system_wide)
			info.push('The target was still running when tracing stopped, so only blocks older than ' +
				fmtDuration(TR.min_age_us) + ' count as leaks: younger ones are probably still in use.');
		if (S.sample_untracked)
			bad.push(plural(S.sample_untracked, 'sampled block was', 'sampled blocks were') + ' not tracked because ' +
				'the table of sampled blocks was full: the estimates are too low.');
		if (TR.sample_bytes)
			info.push('Sampled (--sample-bytes ' + fmtInt(TR.sample_bytes) + '): a block was recorded on average every ' +
				fmtBytes(TR.sample_bytes) + ' allocated, and each stands for the blocks it represents, so counts and bytes ' +
				'are estimates. Releases of blocks that were not sampled are not seen: no double or unknown frees are detected.');
		if (S.truncated_stacks)
			info.push(plural(S.truncated_stacks, 'stack ends', 'stacks end') + ' before the outermost frame ' +
				'(truncated); each says why where it is shown.');
		if (TR.stacks === 'none' || TR.stacks === 'caller-only')
			info.push('Stacks were not taken (--no-stacks): allocations are grouped by their direct caller only, ' +
				'and releases carry no call site (a finding shows where its block was allocated).');
		if (bad.length) {
			var b = el('div', { class: 'banner', id: 'incomplete' },
				el('strong', null, 'The data is incomplete.'));
			var ul = el('ul');

			bad.forEach(function (t) { ul.appendChild(el('li', null, t)); });
			b.appendChild(ul);
			box.appendChild(b);
		}
		info.forEach(function (t) {
			box.appendChild(el('div', { class: 'banner info' }, t));
		});
	}

	function card(id, label, value, exact, sub, cls) {
		return el('dl', { class: 'card' + (cls ? ' ' + cls : '') },
			el('dt', null, label),
			el('dd', { id: 's-' + id, 'data-v': exact, title: exact !== undefined ? fmtInt(exact) : null }, value),
			sub ? el('div', { class: 'sub' }, sub) : null);
	}

	function renderSummary() {
		var box = $('summary');
		var leaked = S.leaked_bytes !== undefined ? S.leaked_bytes : S.live_bytes;
		var leakedN = S.leaked_allocations !== undefined ? S.leaked_allocations : S.live_allocations;
		var lost = (S.lost_events || 0) + (S.lost_stacks || 0);

		box.appendChild(card('duration', 'Traced for', fmtDuration(S.duration_us), S.duration_us, T.exit || ''));
		box.appendChild(card('allocations', 'Allocations', fmtInt(S.allocations), S.allocations,
			fmtBytes(S.bytes_allocated) + ' allocated'));
		box.appendChild(card('frees', 'Frees', fmtInt(S.frees), S.frees, fmtBytes(S.bytes_freed) + ' freed'));
		box.appendChild(card('peak', 'Peak in use', fmtBytes(S.peak_bytes), S.peak_bytes,
			S.peak_bytes ? 'at ' + fmtAt(S.peak_t_us) : 'nothing allocated'));
		box.appendChild(card('live', 'In use at end', fmtBytes(S.live_bytes), S.live_bytes,
			plural(S.live_allocations || 0, 'block', 'blocks')));
		if (R.anonymous_mappings) {
			var AM = R.anonymous_mappings;

			/* beside the heap: what the program mapped itself; the allocator's is the heap's backing */
			box.appendChild(card('mapped', 'Mapped by the program', fmtBytes(AM.program.live_bytes),
				AM.program.live_bytes, plural(AM.program.live_count || 0, 'anonymous mapping', 'anonymous mappings') +
				' · peak ' + fmtBytes(AM.program.peak_bytes)));
			box.appendChild(card('backing', 'Heap\u2019s backing', fmtBytes(AM.allocator.live_bytes + AM.brk.live_bytes),
				AM.allocator.live_bytes + AM.brk.live_bytes, fmtBytes(AM.allocator.live_bytes) +
				' mapped by the allocator · ' + fmtBytes(AM.brk.live_bytes) + ' break'));
		}
		box.appendChild(card('leaked', 'Leaked', fmtBytes(leaked), leaked,
			plural(leakedN || 0, 'block', 'blocks') + ' · ' + (TR.leak_rule || 'live at exit') +
			(S.leak_classes ? ' · ' + fmtBytes(S.leak_classes.definitely_lost.bytes + S.leak_classes.indirectly_lost.bytes) + ' definitely or indirectly lost' : '') +
			(S.runtime_leaked_allocations ? ' · ' + fmtBytes(S.runtime_leaked_bytes) + ' of it kept by the C/C++ runtime' : ''),
			leaked ? 'leak' : 'ok'));
		box.appendChild(card('temporary', 'Temporary', fmtInt(S.temporary_allocations), S.temporary_allocations,
			S.allocations ? pct(S.temporary_allocations || 0, S.allocations) + ' of allocations' : ''));
		box.appendChild(card('failed', 'Failed', fmtInt(S.failed_allocations), S.failed_allocations,
			'allocations that returned NULL'));
		box.appendChild(card('lost', 'Lost events', fmtInt(S.lost_events), S.lost_events,
			lost ? fmtInt(S.lost_stacks || 0) + ' lost stacks · ' + fmtInt(S.unknown_frees || 0) + ' unknown frees' :
				fmtInt(S.unknown_frees || 0) + ' unknown frees', lost ? 'leak' : null));
	}

	/* ---------- flame graph ---------- */

	var chart = null;

	function frameKey(f) {
		return (f.function || f.ip) + '\u0000' + (f.file || f.module || '') + '\u0000' + (f.line || 0);
	}

	function isLibrary(module) {
		return /\.so(\.[0-9.]+)?$/.test(basename(module));
	}

	/* A d3-flame-graph tree (root first) from stack weights; small frames pruned */
	function buildTree(w, metric) {
		var total = 0;
		var root = { name: 'all', value: 0, kids: new Map(), frame: null };

		w.forEach(function (v) { total += v; });
		w.forEach(function (v, id) {
			var s = stacks.get(id);
			var frames = s && s.frames ? s.frames : [];
			var node = root, i, f, key, child;

			root.value += v;
			if (!frames.length)
				frames = [{ function: id === null ? '(no stack)' : '(stack ' + id + ' unknown)', ip: '' }];
			for (i = frames.length - 1; i >= 0; i--) {
				f = frames[i];
				key = frameKey(f);
				child = node.kids.get(key);
				if (!child) {
					child = { name: frameName(f), value: 0, kids: new Map(), frame: f,
						  alloc: s && s.site_frame >= 0 && i < s.site_frame, stacks: 0 };
					node.kids.set(key, child);
				}
				child.value += v;
				if (i === 0)
					child.stacks++;
				node = child;
			}
		});

		var limit = total * PRUNE_FRACTION, pruned = 0;

		function convert(n) {
			var out = { name: n.name, value: n.value, frame: n.frame, alloc: n.alloc, stacks: n.stacks };
			var kids = [];

			n.kids.forEach(function (c) {
				if (c.value >= limit && c.value > 0)
					kids.push(convert(c));
				else
					pruned++;
			});
			if (kids.length)
				out.children = kids;
			return out;
		}
		var tree = convert(root);

		tree.name = 'all: ' + fmtValue(metric, total);
		return { tree: tree, total: total, pruned: pruned, limit: limit };
	}

	function makeTooltip(metric, total) {
		var box = $('tooltip');

		function tip() {}
		tip.show = function (event, d) {
			var f = d.data.frame;
			var rows = el('table');

			clear(box);
			box.appendChild(el('div', { class: 't-name' }, d.data.name));
			if (f && frameLoc(f))
				box.appendChild(el('div', { class: 't-loc' }, frameLoc(f)));
			if (f && f.module && f.file)
				box.appendChild(el('div', { class: 't-loc' }, f.module));
			rows.appendChild(el('tr', null, el('td', null, metric.label),
				el('td', null, fmtValue(metric, d.value) + (metric.unit === 'bytes' ? ' (' + fmtInt(d.value) + ' bytes)' : ''))));
			rows.appendChild(el('tr', null, el('td', null, 'share'), el('td', null, pct(d.value, total) + ' of the total')));
			if (d.data.stacks)
				rows.appendChild(el('tr', null, el('td', null, 'ends'), el('td', null,
					plural(d.data.stacks, 'stack', 'stacks') + ' end here')));
			if (f && f.inlined)
				rows.appendChild(el('tr', null, el('td', null, 'inlined'), el('td', null, 'yes')));
			if (d.data.alloc)
				rows.appendChild(el('tr', null, el('td', null, 'frame'), el('td', null, 'inside the allocator')));
			box.appendChild(rows);
			box.hidden = false;
			var x = event.clientX + 14, y = event.clientY + 14;

			if (x + box.offsetWidth > window.innerWidth - 8)
				x = Math.max(8, event.clientX - box.offsetWidth - 14);
			if (y + box.offsetHeight > window.innerHeight - 8)
				y = Math.max(8, event.clientY - box.offsetHeight - 14);
			box.style.left = x + 'px';
			box.style.top = y + 'px';
			return tip;
		};
		tip.hide = function () {
			box.hidden = true;
			return tip;
		};
		return tip;
	}

	function hashHue(s) {
		var h = 0;

		for (var i = 0; i < s.length; i++)
			h = (h * 31 + s.charCodeAt(i)) | 0;
		return (h >>> 0) % 1000 / 1000;
	}

	function colorOf(d) {
		var f = d.data.frame, v;

		if (d.highlight)
			return '#e600e6';
		if (!f)
			return '#c9ced6';
		v = hashHue(d.data.name);
		if (d.data.alloc)
			return 'rgb(' + Math.round(190 + 30 * v) + ',' + Math.round(192 + 30 * v) + ',' + Math.round(198 + 30 * v) + ')';
		if (f.module && isLibrary(f.module))   /* libraries: cool */
			return 'rgb(' + Math.round(120 + 60 * v) + ',' + Math.round(170 + 40 * v) + ',' + Math.round(225 + 25 * v) + ')';
		/* the program: warm, as flame graphs usually are */
		return 'rgb(' + Math.round(230 + 25 * v) + ',' + Math.round(120 + 90 * v) + ',' + Math.round(50 + 40 * v) + ')';
	}

	function searchMatch(d, term) {
		var f = d.data.frame;

		if (!term || !f)
			return false;
		term = term.toLowerCase();
		return d.data.name.toLowerCase().indexOf(term) >= 0 ||
			(frameLoc(f).toLowerCase().indexOf(term) >= 0);
	}

	function renderFlame() {
		var metric = metricById(state.metric);
		var box = $('flame');
		var built = buildTree(weights(metric), metric);
		var status = $('flame-status');
		var what = state.window ? ' allocated in ' + state.window.label + ' and still in use at its end' :
			state.thread !== null ? ' in thread ' + threadLabel(state.thread) :
			state.process !== null ? ' in process ' + processLabel(state.process) : '';

		/*
		 * Measure before clearing, and keep the height while the graph is
		 * redrawn: a collapsed box can hide the page's scroll bar, change the
		 * width and make the resize observer redraw again, and again.
		 */
		var width = Math.max(400, box.clientWidth || 1200);

		box.style.minHeight = box.offsetHeight + 'px';
		if (chart) {
			chart.destroy();
			chart = null;
		}
		clear(box);
		$('tooltip').hidden = true;
		status.textContent = (metric.what || metric.label) + what + ': ' + fmtValue(metric, built.total) +
			(built.pruned ? ' · ' + plural(built.pruned, 'frame', 'frames') + ' under ' +
			pct(built.limit, built.total) + ' of the total left out' : '') +
			'. Click a frame to zoom in, hover for exact numbers.';
		if (!built.total) {
			box.appendChild(el('div', { class: 'empty' }, 'Nothing to show for "' + metric.label + '"' + what + '.'));
			box.style.minHeight = '';
			return;
		}
		var factory = window.flamegraph && (window.flamegraph.default || window.flamegraph);

		chart = factory()
			.width(width)
			.cellHeight(19)
			.minFrameSize(1)
			.transitionDuration(250)
			.inverted(state.inverted)
			.sort(function (a, b) { return b.value - a.value; })
			.selfValue(false)
			.tooltip(makeTooltip(metric, built.total))
			.setColorMapper(colorOf)
			.setSearchMatch(searchMatch)
			.setDetailsElement($('flame-details'))
			.setLabelHandler(function (d) {
				var f = d.data.frame;

				return d.data.name + (f && frameLoc(f) ? '  —  ' + frameLoc(f) : '') + '  —  ' +
					fmtValue(metric, d.value) + ' (' + pct(d.value, built.total) + ')';
			})
			.setSearchHandler(function (results, sum, total) {
				$('flame-details').textContent = state.search ? 'search "' + state.search + '": ' +
					plural(results.length, 'frame', 'frames') + ', ' + fmtValue(metric, sum) + ' (' + pct(sum, total) + ')' : '';
			});
		d3.select(box).datum(built.tree).call(chart);
		box.style.minHeight = '';
		if (state.search)
			chart.search(state.search);
	}

	/* ---------- stacks view ---------- */

	function stackList(title, id) {
		var s = stacks.get(id);
		var wrap = el('div', { class: 'stack' }, el('h3', null, title));
		var ol = el('ol', { class: 'frames' });

		if (id === null || id === undefined || !s) {
			wrap.appendChild(el('div', { class: 'muted small' }, id === null || id === undefined ?
				(TR.stacks === 'none' ? 'no call site recorded (--no-stacks)' : 'no stack recorded') :
				'stack ' + id + ' is not in the report'));
			return wrap;
		}
		s.frames.forEach(function (f, i) {
			var site = i === s.site_frame, alloc = s.site_frame >= 0 && i < s.site_frame;
			var li = el('li', { class: site ? 'site' : alloc ? 'alloc' : null, title: f.ip + (f.module ? '  ' + f.module : '') },
				el('div', { class: 'f' }, '#' + i + '  ' + frameName(f),
					site ? el('span', { class: 'tag' }, 'allocation site') : null,
					f.inlined ? el('span', { class: 'tag' }, 'inlined') : null,
					alloc ? el('span', { class: 'tag' }, 'in the allocator') : null),
				el('div', { class: 'l' }, frameLoc(f) + (f.file && f.module ? '  ·  ' + basename(f.module) : '')));
			ol.appendChild(li);
		});
		if (s.truncated)
			ol.appendChild(el('li', { class: 'alloc truncated' }, '… ' +
				(STACK_ENDS[s.truncated_reason] || STACK_ENDS.depth)));
		wrap.appendChild(ol);
		return wrap;
	}

	function showStacks(title, list, noScroll) {
		var view = clear($('stack-view'));
		var grid = el('div', { class: 'stacks-grid' });

		$('stack-title').textContent = title;
		list.forEach(function (x) { grid.appendChild(stackList(x[0], x[1])); });
		view.appendChild(grid);
		$('stack-section').hidden = false;
		if (!noScroll)
			$('stack-section').scrollIntoView({ block: 'nearest' });
	}

	/* ---------- tables ---------- */

	/*
	 * A sortable, filterable table.  columns: {key, label, num, cls, value(row),
	 * text(row), title(row)}; value gives what sorts and goes in data-v.
	 */
	function Table(opts) {
		this.opts = opts;
		this.sortKey = opts.sort || null;
		this.asc = false;
		this.filter = '';
		this.all = false;
		this.rows = [];
		this.root = el('div', { id: opts.id });
		var self = this;
		var input = el('input', { type: 'search', placeholder: opts.placeholder || 'Filter', 'aria-label': 'filter' });

		input.addEventListener('input', function () {
			self.filter = input.value.toLowerCase();
			self.draw();
		});
		this.note = el('span', { class: 'muted small' });
		this.root.appendChild(el('div', { class: 'table-tools' }, input, this.note));
		this.wrap = el('div', { class: 'table-wrap' });
		this.root.appendChild(this.wrap);
		this.more = el('div', { class: 'more' });
		this.root.appendChild(this.more);
	}

	Table.prototype.setRows = function (rows, note) {
		this.rows = rows;
		this.extraNote = note || '';
		this.draw();
	};

	Table.prototype.setColumns = function (columns) {
		this.opts.columns = columns;
	};

	Table.prototype.draw = function () {
		var self = this, cols = this.opts.columns, rows = this.rows;
		var col = cols.filter(function (c) { return c.key === self.sortKey; })[0];

		if (this.filter) {
			rows = rows.filter(function (r) {
				return cols.some(function (c) {
					return !c.num && String(c.text ? c.text(r) : c.value(r)).toLowerCase().indexOf(self.filter) >= 0;
				});
			});
		}
		if (col) {
			rows = rows.slice().sort(function (a, b) {
				var x = col.value(a), y = col.value(b), r;

				if (x === y)
					r = 0;
				else if (x === null || x === undefined)
					r = -1;
				else if (y === null || y === undefined)
					r = 1;
				else if (col.num)
					r = x - y;
				else
					r = String(x).localeCompare(String(y));
				return self.asc ? r : -r;
			});
		}
		var table = el('table', { class: 'data', id: this.opts.id + '-table' });
		var tr = el('tr');

		cols.forEach(function (c) {
			var th = el('th', { class: [c.num ? 'num' : '', c.key === self.sortKey ? 'sorted' : '',
				c.key === self.sortKey && self.asc ? 'asc' : ''].join(' ').trim() || null,
				title: c.help || 'sort' }, c.label);

			th.addEventListener('click', function () {
				if (self.sortKey === c.key)
					self.asc = !self.asc;
				else {
					self.sortKey = c.key;
					self.asc = !c.num;
				}
				self.draw();
			});
			tr.appendChild(th);
		});
		table.appendChild(el('thead', null, tr));
		var tbody = el('tbody');
		var shown = this.all ? rows.length : Math.min(rows.length, TABLE_ROWS);

		for (var i = 0; i < shown; i++) {
			(function (r) {
				var row = el('tr', self.opts.rowAttrs ? self.opts.rowAttrs(r) : null);

				cols.forEach(function (c) {
					var v = c.value(r);

					row.appendChild(el('td', { class: [c.num ? 'num' : '', c.cls || ''].join(' ').trim() || null,
						'data-v': c.num ? v : null, title: c.title ? c.title(r) : null },
						c.node ? c.node(r) : c.text ? c.text(r) : v));
				});
				if (self.opts.onClick) {
					row.addEventListener('click', function () {
						var old = tbody.querySelector('tr.sel');

						if (old)
							old.classList.remove('sel');
						row.classList.add('sel');
						self.opts.onClick(r);
					});
				}
				tbody.appendChild(row);
			})(rows[i]);
		}
		table.appendChild(tbody);
		clear(this.wrap).appendChild(rows.length ? table : el('div', { class: 'empty' },
			this.rows.length ? 'No row matches "' + this.filter + '".' : this.opts.empty || 'Nothing here.'));
		this.note.textContent = (rows.length === this.rows.length ? plural(rows.length, 'row', 'rows') :
			fmtInt(rows.length) + ' of ' + plural(this.rows.length, 'row', 'rows')) + (this.extraNote ? ' · ' + this.extraNote : '');
		clear(this.more);
		if (shown < rows.length) {
			var b = el('button', { type: 'button' }, 'Show all ' + fmtInt(rows.length) + ' rows');

			b.addEventListener('click', function () {
				self.all = true;
				self.draw();
			});
			this.more.appendChild(el('span', { class: 'muted small' }, 'Showing the first ' + fmtInt(shown) + '. '));
			this.more.appendChild(b);
		}
	};

	function bytesCol(key, label, get, help) {
		return { key: key, label: label, num: true, value: get, help: help,
			text: function (r) { return fmtBytes(get(r)); },
			title: function (r) { return fmtInt(get(r)) + ' bytes'; } };
	}

	/* a number that names something (a thread id): sorts as a number, no separators */
	function idCol(key, label, get) {
		return { key: key, label: label, num: true, value: get, text: function (r) { return String(get(r)); } };
	}

	function countCol(key, label, get, help) {
		return { key: key, label: label, num: true, value: get, help: help,
			text: function (r) { return fmtInt(get(r)); } };
	}

	var siteCols = [
		{ key: 'site', label: 'Allocation site', cls: 'fn', value: function (r) { return siteName(r.stack); } },
		{ key: 'loc', label: 'Location', cls: 'loc', value: function (r) { return siteLoc(r.stack); } }
	];

	/* -f: the column naming each row's process, last (none with the target alone) */
	function procCols() {
		return procs.length ? [idCol('pid', 'Process', pidOf)] : [];
	}

	function windowCols() {
		if (!state.window)
			return [];
		return [countCol('win_count', 'Window blocks', function (r) { return winOf(r.stack).count; },
				'blocks allocated in the window and still in use at its end'),
			bytesCol('win_bytes', 'Window bytes', function (r) { return winOf(r.stack).bytes; },
				'bytes allocated in the window and still in use at its end')];
	}

	function winOf(stack) {
		return state.window.weights.get(stack) || { count: 0, bytes: 0 };
	}

	function stackRowAttrs(r) {
		return { 'data-stack': r.stack === null ? 'none' : r.stack };
	}

	var tables = {};
	/*
	 * Annotations (include/memscope.h): leaks[].variables, and top-level
	 * "variables" / "scopes" arrays of objects shown as generic tables.
	 */
	var leakVariables = (R.leaks || []).some(function (l) { return l.variables && l.variables.length; });
	var leakRuntime = (R.leaks || []).some(function (l) { return !!l.runtime; });
	/* the reachability scan's class of each group (docs/findings.md "Reachability") */
	var leakClass = (R.leaks || []).some(function (l) { return !!l.class; });
	var topVariables = Array.isArray(R.variables) && R.variables.length > 0;
	var hasVariables = leakVariables || topVariables;
	var hasScopes = Array.isArray(R.scopes) && R.scopes.length > 0;

	function variableText(v) {
		if (v === null || v === undefined)
			return '';
		if (typeof v === 'object')
			return v.name !== undefined ? String(v.name) : JSON.stringify(v);
		return String(v);
	}

	function makeTables() {
		tables.leaks = new Table({
			id: 'leaks', sort: 'bytes', placeholder: 'Filter by function or file',
			empty: 'No leaks: every block was released (' + (TR.leak_rule || 'live at exit') + ').',
			rowAttrs: stackRowAttrs,
			columns: [],
			onClick: function (r) { showStacks('Leak: ' + siteName(r.stack), [['allocated here', r.stack]]); }
		});
		tables.hotspots = new Table({
			id: 'hotspots', sort: 'bytes', placeholder: 'Filter by function or file',
			empty: 'No allocations.', rowAttrs: stackRowAttrs, columns: [],
			onClick: function (r) { showStacks('Allocation site: ' + siteName(r.stack), [['allocated here', r.stack]]); }
		});
		tables.findings = new Table({
			id: 'findings', placeholder: 'Filter by kind or message',
			empty: 'None seen: no double free, invalid free, mismatched free, realloc of a freed block or use after free.',
			rowAttrs: function (r) { return { 'data-kind': r.kind, 'data-stack': r.stack === null ? 'none' : r.stack }; },
			columns: [
				{ key: 'kind', label: 'Kind', value: function (r) { return r.kind; },
				  node: function (r) { return el('span', { class: 'kind' }, String(r.kind).replace(/_/g, ' ')); } },
				{ key: 'message', label: 'What happened', cls: 'fn', value: function (r) { return r.message || ''; } },
				{ key: 'site', label: 'Called from', cls: 'fn', value: function (r) { return siteName(r.stack); } },
				{ key: 'loc', label: 'Location', cls: 'loc', value: function (r) { return siteLoc(r.stack); } },
				countCol('occurrences', 'Times', function (r) { return r.occurrences; }),
				idCol('thread', 'Thread', function (r) { return r.thread; }),
				{ key: 't', label: 'First at', num: true, value: function (r) { return r.t_us; },
				  text: function (r) { return fmtAt(r.t_us); } }
			].concat(procCols()),
			onClick: function (r) {
				var list = [['the ' + (r.function || 'call') + ' that went wrong', r.stack],
					['where the block was allocated' + (r.alloc_function ? ' (' + r.alloc_function + ')' : ''), r.alloc_stack]];

				if (r.free_stack !== null && r.free_stack !== undefined)
					list.push(['the earlier release' + (r.free_function ? ' (' + r.free_function + ')' : ''), r.free_stack]);
				showStacks(String(r.kind).replace(/_/g, ' ') + ': ' + (r.message || ''), list);
			}
		});
		tables.threads = new Table({
			id: 'threads', sort: 'bytes', placeholder: 'Filter by name', empty: 'No threads allocated.',
			rowAttrs: function (r) { return { 'data-tid': r.tid }; },
			columns: [
				idCol('tid', 'TID', function (r) { return r.tid; }),
				{ key: 'name', label: 'Name', cls: 'fn', value: function (r) { return r.name === null ? '' : r.name; } },
				countCol('allocations', 'Allocations', function (r) { return r.allocations; }),
				bytesCol('bytes', 'Bytes allocated', function (r) { return r.bytes; }),
				countCol('frees', 'Frees', function (r) { return r.frees; }),
				countCol('live_count', 'Blocks in use at end', function (r) { return r.live_count; },
					'blocks this thread allocated that were in use at the end, whoever was to free them'),
				bytesCol('live_bytes', 'Bytes in use at end', function (r) { return r.live_bytes; }),
				countCol('temporary', 'Temporary', function (r) { return r.temporary; })
			].concat(procCols()),
			onClick: function (r) {
				if (threadSites && !state.window) {
					setThread(r.tid);
					$('flame-section').scrollIntoView({ block: 'start' });
				}
			}
		});
		if (topVariables && R.variables.every(function (v) { return v && typeof v === 'object' && 'name' in v; })) {
			tables.variables = new Table({
				id: 'variables', sort: 'size', placeholder: 'Filter by name, type or file',
				empty: 'No annotated variables.', rowAttrs: stackRowAttrs,
				columns: [
					{ key: 'name', label: 'Variable', cls: 'fn', value: function (r) { return r.name === null ? '' : r.name; } },
					{ key: 'type', label: 'Type', cls: 'fn', value: function (r) { return r.type || ''; } },
					bytesCol('size', 'Block size', function (r) { return r.size; }),
					{ key: 'site', label: 'Allocated at', cls: 'fn', value: function (r) { return siteName(r.stack); } },
					{ key: 'named', label: 'Named at', cls: 'loc',
					  value: function (r) { return r.file ? r.file + (r.line ? ':' + r.line : '') : ''; } },
					{ key: 't', label: 'Named', num: true, value: function (r) { return r.t_us; },
					  text: function (r) { return r.t_us === undefined ? '' : fmtAt(r.t_us); } },
					{ key: 'state', label: 'Block', value: function (r) { return r.freed ? 'freed' : 'in use at end'; } },
					{ key: 'lifetime', label: 'Lifetime', num: true, value: function (r) { return r.lifetime_us; },
					  text: function (r) { return r.lifetime_us === null || r.lifetime_us === undefined ? '–' : fmtDuration(r.lifetime_us); } }
				],
				onClick: function (r) {
					showStacks('Variable ' + r.name, [['where the block was allocated', r.stack],
						['where it was named', r.annotation_stack]]);
				}
			});
		} else if (topVariables) {
			tables.variables = genericTable('variables', R.variables);
		} else if (hasVariables) {
			tables.variables = new Table({
				id: 'variables', sort: 'bytes', placeholder: 'Filter by variable or function', empty: 'No variables.',
				rowAttrs: stackRowAttrs,
				columns: [
					{ key: 'variable', label: 'Variable', cls: 'fn', value: function (r) { return r.variable; } },
					siteCols[0], siteCols[1],
					countCol('count', 'Blocks leaked', function (r) { return r.count; }),
					bytesCol('bytes', 'Bytes leaked', function (r) { return r.bytes; })
				],
				onClick: function (r) { showStacks('Leak of ' + r.variable, [['allocated here', r.stack]]); }
			});
		}
		if (hasScopes && R.scopes.every(function (v) { return v && typeof v === 'object' && 'name' in v; }))
			tables.scopes = new Table({
				id: 'scopes', sort: 'bytes', placeholder: 'Filter by scope', empty: 'No scopes.',
				columns: [
					{ key: 'name', label: 'Scope', cls: 'fn', value: function (r) { return r.name === null ? '' : r.name; } },
					countCol('allocations', 'Allocations', function (r) { return r.allocations; }),
					bytesCol('bytes', 'Bytes allocated', function (r) { return r.bytes; })
				]
			});
		else if (hasScopes)
			tables.scopes = genericTable('scopes', R.scopes);
	}

	/* A table of an array of objects whose shape the page does not know: one column per key */
	function genericTable(id, list) {
		var keys = [];

		list.forEach(function (s) {
			Object.keys(s && typeof s === 'object' ? s : {}).forEach(function (k) {
				if (keys.indexOf(k) < 0)
					keys.push(k);
			});
		});
		return new Table({
			id: id, placeholder: 'Filter', empty: 'Nothing recorded.',
			rowAttrs: function (r) { return typeof r.stack === 'number' ? stackRowAttrs(r) : null; },
			columns: keys.map(function (k) {
				var numeric = list.every(function (s) { return !s || s[k] === undefined || s[k] === null || typeof s[k] === 'number'; });

				if (k === 'stack' || /_stack$/.test(k))
					return { key: k, label: k === 'stack' ? 'Allocation site' : k.replace(/_/g, ' '), cls: 'fn',
						 value: function (r) { return typeof r[k] === 'number' ? siteName(r[k]) : ''; } };
				if (numeric && /bytes/.test(k))
					return bytesCol(k, k.replace(/_/g, ' '), function (r) { return r[k]; });
				if (numeric && /_us$/.test(k))
					return { key: k, label: k.replace(/_us$/, '').replace(/_/g, ' '), num: true,
						 value: function (r) { return r[k]; }, text: function (r) { return fmtDuration(r[k]); } };
				if (numeric)
					return countCol(k, k.replace(/_/g, ' '), function (r) { return r[k]; });
				return { key: k, label: k.replace(/_/g, ' '), cls: 'fn', value: function (r) {
					var v = r[k];

					return Array.isArray(v) ? v.map(variableText).join(', ') : variableText(v);
				} };
			}),
			onClick: function (r) {
				if (typeof r.stack === 'number')
					showStacks(id === 'scopes' ? 'Scope' : 'Variable', [['allocated here', r.stack]]);
			}
		});
	}

	function refreshTables() {
		var wc = windowCols();
		/* the windows are the target's blocks */
		var inWin = function (r) {
			return !state.window || (pidOf(r) === T.pid && state.window.weights.has(r.stack));
		};
		var note = state.window ? 'only stacks with blocks allocated in ' + state.window.label + ' and still in use at its end' :
			state.process !== null ? 'process ' + processLabel(state.process) + '\'s' : '';
		var leakRows = (R.leaks || []).filter(inWin).filter(ofProc);
		var leakNote = null;
		var siteRows;

		tables.leaks.setColumns(siteCols.concat([
			countCol('count', 'Blocks', function (r) { return r.count; }),
			bytesCol('bytes', 'Bytes', function (r) { return r.bytes; }),
			{ key: 'age', label: 'Oldest', num: true, value: function (r) { return r.oldest_age_us; },
			  text: function (r) { return fmtDuration(r.oldest_age_us); },
			  help: 'age of the oldest leaked block when tracing stopped' }
		], leakVariables ? [{ key: 'vars', label: 'Variables', cls: 'fn',
			value: function (r) { return (r.variables || []).map(variableText).join(', '); } }] : [],
		leakRuntime ? [{ key: 'runtime', label: 'Kept by', cls: 'fn',
			value: function (r) { return r.runtime ? 'runtime: ' + r.runtime : 'the program'; },
			help: 'blocks the C and C++ runtimes keep until the process ends (stdio buffers, thread-local storage, name service caches, the C++ exception pool, ...) are not the program\'s leaks' }] : [],
		leakClass ? [{ key: 'class', label: 'Reachability', cls: 'fn',
			value: function (r) { return r.class ? r.class.replace('_', ' ') : 'not scanned'; },
			help: 'from a scan of the target\'s memory, as valgrind\'s memcheck defines them: definitely lost (no pointer to it), indirectly lost (pointed to only from lost blocks), possibly lost (only interior pointers), still reachable' }] : [], wc, procCols()));
		if (state.thread !== null && !state.window) {
			var mine = new Set();

			threadSites.forEach(function (e) {
				if (e[0] === state.thread)
					mine.add(e[1]);
			});
			note = 'stacks where thread ' + threadLabel(state.thread) + ' allocated';
			var live = new Map();

			threadSites.forEach(function (e) {
				if (e[0] === state.thread && e.length >= 7)
					live.set(e[1], e);
			});
			if (leakRuleAtExit && live.size) {
				/* every block live at exit leaked: the thread's own live blocks */
				leakRows = leakRows.filter(function (r) {
					var e = live.get(r.stack);

					return e && e[4] > 0;
				}).map(function (r) {
					var e = live.get(r.stack);

					return Object.assign({}, r, { count: e[4], bytes: e[5], oldest_age_us: null });
				});
				leakNote = 'blocks thread ' + threadLabel(state.thread) + ' allocated that were live at exit (the oldest block\'s age is not kept per thread)';
			} else {
				leakRows = leakRows.filter(function (r) { return mine.has(r.stack); });
				leakNote = note + ': leak numbers are the site\'s, for all threads';
			}
			siteRows = threadSites.filter(function (e) { return e[0] === state.thread; }).map(function (e) {
				return { stack: e[1], allocations: e[2], bytes: e[3],
					 live_bytes: e.length >= 7 ? e[5] : e[4], temporary: e.length >= 7 ? e[6] : null };
			});
			tables.hotspots.setColumns(siteCols.concat([
				countCol('allocations', 'Allocations', function (r) { return r.allocations; }),
				bytesCol('bytes', 'Bytes allocated', function (r) { return r.bytes; }),
				bytesCol('live', 'In use at end', function (r) { return r.live_bytes; }),
				countCol('temporary', 'Temporary', function (r) { return r.temporary; })
			]));
		} else {
			siteRows = (R.sites || []).filter(inWin).filter(ofProc);
			tables.hotspots.setColumns(siteCols.concat([
				countCol('allocations', 'Allocations', function (r) { return r.allocations; }),
				bytesCol('bytes', 'Bytes allocated', function (r) { return r.bytes; }),
				bytesCol('live', 'In use at end', function (r) { return r.live_bytes; }),
				bytesCol('peak', 'At peak', function (r) { return r.peak_bytes; }),
				countCol('temporary', 'Temporary', function (r) { return r.temporary; },
					'blocks freed by the thread that allocated them before its next allocation')
			], wc, procCols()));
		}
		if (state.window) {
			tables.leaks.sortKey = tables.hotspots.sortKey = 'win_bytes';
			tables.leaks.asc = tables.hotspots.asc = false;
		} else {
			['leaks', 'hotspots'].forEach(function (k) {
				if (tables[k].sortKey === 'win_bytes' || tables[k].sortKey === 'win_count')
					tables[k].sortKey = 'bytes';
			});
		}
		tables.leaks.setRows(leakRows, leakNote || note);
		tables.hotspots.setRows(siteRows, note);
		refreshProcessTables();
		updateTabCounts();
	}

	var tabDefs = [];

	function updateTabCounts() {
		tabDefs.forEach(function (t) {
			t.n.textContent = fmtInt(tables[t.key].rows.length);
		});
	}

	function renderTabs() {
		var bar = $('tabs'), panels = $('tab-panels');
		var defs = [['leaks', 'Leak sites'], ['hotspots', 'Hotspots'], ['threads', 'Threads']];

		if (hasVariables)
			defs.push(['variables', 'Variables']);
		if (hasScopes)
			defs.push(['scopes', 'Scopes']);
		defs.forEach(function (d, i) {
			var n = el('span', { class: 'n' });
			var b = el('button', { type: 'button', role: 'tab', id: 'tab-' + d[0], class: i === 0 ? 'on' : null }, d[1], n);
			var p = el('div', { role: 'tabpanel', id: 'panel-' + d[0], hidden: i !== 0 }, tables[d[0]].root);

			b.addEventListener('click', function () {
				tabDefs.forEach(function (t) {
					t.b.classList.toggle('on', t.key === d[0]);
					t.p.hidden = t.key !== d[0];
				});
			});
			bar.appendChild(b);
			panels.appendChild(p);
			tabDefs.push({ key: d[0], b: b, p: p, n: n });
		});
		/* no leaks: open the hotspots first */
		if (!(R.leaks || []).length)
			tabDefs[1].b.click();
	}

	/* The findings and threads of the process chosen (every process's without a choice). */
	function refreshProcessTables() {
		var note = state.process !== null ? 'process ' + processLabel(state.process) + '\'s' : '';

		tables.findings.setRows((R.findings || []).filter(ofProc), note);
		tables.threads.setRows((R.threads || []).filter(ofProc), (note ? note + '; ' : '') +
			(threadSites ? 'click a thread to filter the flame graph' :
			'per-thread stacks are not in this report: the flame graph cannot be filtered by thread'));
	}

	function renderStaticTables() {
		var findings = R.findings || [];

		refreshProcessTables();
		$('findings-count').textContent = fmtInt(findings.length);
		if (findings.length) {
			$('findings-table').appendChild(tables.findings.root);
			$('findings-hint').hidden = false;
		} else {
			$('findings-count').className = 'count none';
			$('findings-table').appendChild(el('div', { class: 'muted small', id: 'findings-none' }, tables.findings.opts.empty));
		}
		if (topVariables) {
			tables.variables.setRows(R.variables.filter(function (s) { return s && typeof s === 'object'; }));
		} else if (hasVariables) {
			var rows = [];

			R.leaks.forEach(function (l) {
				(l.variables || []).forEach(function (v) {
					rows.push({ variable: variableText(v), stack: l.stack, count: l.count, bytes: l.bytes });
				});
			});
			tables.variables.setRows(rows);
		}
		if (hasScopes)
			tables.scopes.setRows(R.scopes.filter(function (s) { return s && typeof s === 'object'; }));
	}

	/* ---------- timeline ---------- */

	var plots = [];

	function bucketOf(t_us) {
		return Math.floor((t_us - (win.origin_us || 0)) / win.bucket_us);
	}

	function setWindow(t0, t1) {
		var b0, b1, w = new Map(), label;

		if (!win.bucket_us) {
			showWindowNote('this report has no allocation windows');
			return;
		}
		b0 = Math.max(0, bucketOf(t0 * 1e6));
		b1 = Math.max(b0, bucketOf(t1 * 1e6));
		if (state.window && state.window.b0 === b0 && state.window.b1 === b1)
			return; /* the same buckets: nothing changes (synced charts report a drag twice) */
		(win.entries || []).forEach(function (e) {
			if (e[1] >= b0 && e[1] <= b1 && (e[2] === -1 || e[2] > b1)) {
				var v = w.get(e[0]) || { count: 0, bytes: 0 };

				v.count += e[3];
				v.bytes += e[4];
				w.set(e[0], v);
			}
		});
		var from = (win.origin_us + b0 * win.bucket_us), to = (win.origin_us + (b1 + 1) * win.bucket_us);

		label = fmtClock(from) + ' – ' + fmtClock(Math.min(to, Math.max(S.duration_us || to, from)));
		state.window = { t0: t0, t1: t1, b0: b0, b1: b1, weights: w, label: label };
		$('window-label').textContent = 'Window ' + label + ' (in steps of ' + fmtDuration(win.bucket_us) + ')';
		$('window-label').hidden = false;
		$('window-clear').hidden = false;
		if (state.metric !== 'win_count')
			state.metric = 'win_bytes';
		refreshControls();
		renderFlame();
		refreshTables();
	}

	/* a time since tracing started, in µs: "12.5 ms", "3.20 s" */
	function fmtClock(us) {
		return us < 1e6 ? +(us / 1000).toFixed(us < 1e4 ? 2 : 1) + ' ms' : (us / 1e6).toFixed(2) + ' s';
	}

	function showWindowNote(t) {
		$('window-label').textContent = t;
		$('window-label').hidden = false;
	}

	function clearWindow() {
		state.window = null;
		$('window-label').hidden = true;
		$('window-clear').hidden = true;
		plots.forEach(function (p) { p.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false); });
		state.metric = defaultMetric();
		refreshControls();
		renderFlame();
		refreshTables();
	}

	/* axis ticks in seconds, as precise as the spacing between them needs */
	function timeTicks(u, vals, axis, space, incr) {
		var ms = incr < 0.5, unit = ms ? 1000 : 1, dec = 0;

		/* as many decimals as the step between ticks has (0.25 ms: 2) */
		while (dec < 6 && Math.abs(Math.round(incr * unit * Math.pow(10, dec)) - incr * unit * Math.pow(10, dec)) > 1e-6)
			dec++;

		return vals.map(function (v) { return (v * unit).toFixed(dec) + (ms ? ' ms' : ' s'); });
	}

	function renderTimeline() {
		var tl = R.timeline || [];
		var box = $('timeline');

		if (tl.length < 2) {
			$('timeline-hint').hidden = true;
			box.appendChild(el('div', { class: 'empty' }, 'The trace was too short for a timeline (' +
				plural(tl.length, 'sample', 'samples') + ', one every ' + fmtDuration(TR.interval_us) + ').'));
			return;
		}
		var xs = [], heap = [], rss = [], heapMapped = [], foot = [], allocs = [], frees = [], prev = 0, hasRss = false;
		var hasMapped = !!R.anonymous_mappings, hasFoot = false;

		/* a launched target starts with nothing allocated */
		if (T.launched && tl[0].t_us > 0) {
			xs.push(0);
			heap.push(0);
			rss.push(null);
			heapMapped.push(hasMapped ? 0 : null);
			foot.push(null);
			allocs.push(null);
			frees.push(null);
		}

		tl.forEach(function (s) {
			var dt = (s.t_us - prev) / 1e6;

			xs.push(s.t_us / 1e6);
			heap.push(s.live_bytes);
			rss.push(s.rss_bytes === null || s.rss_bytes === undefined ? null : s.rss_bytes);
			hasRss = hasRss || rss[rss.length - 1] !== null;
			/* on RSS's axis: what the trace explains of it, the heap and what the program mapped */
			heapMapped.push(hasMapped ? s.live_bytes + (s.mapped_bytes || 0) : null);
			foot.push(s.footprint_bytes === null || s.footprint_bytes === undefined ? null : s.footprint_bytes);
			hasFoot = hasFoot || foot[foot.length - 1] !== null;
			allocs.push(dt > 0 ? s.allocations / dt : null);
			frees.push(dt > 0 ? s.frees / dt : null);
			prev = s.t_us;
		});
		var width = Math.max(400, box.clientWidth || 1200);
		var peakX = (S.peak_t_us || 0) / 1e6;
		var sync = { key: 'memscope-timeline', setSeries: false };
		var xAxis = { size: 30, values: timeTicks };
		var zeroBased = function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; };
		/* byte axes step in powers of two: 0, 16 KiB, 32 KiB, ... */
		var byteIncrs = [];

		for (var k = 0; k < 60; k++)
			byteIncrs.push(Math.pow(2, k));
		/* the whole trace, from the start of tracing to its end */
		var endX = Math.max(xs[xs.length - 1], (S.duration_us || 0) / 1e6);
		var xScale = { time: false, range: function () { return [0, endX]; } };

		function onSelect(u) {
			if (u.select.width < 3)
				return;
			plots.forEach(function (p) {
				if (p !== u && (p.select.left !== u.select.left || p.select.width !== u.select.width))
					p.setSelect({ left: u.select.left, width: u.select.width, top: 0,
						      height: p.over.clientHeight }, false);
			});
			setWindow(u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x'));
		}
		function peakLine(u) {
			if (!S.peak_bytes)
				return;
			var x = Math.round(u.valToPos(peakX, 'x', true)), ctx = u.ctx, dpr = window.devicePixelRatio || 1;

			ctx.save();
			ctx.strokeStyle = '#d64545';
			ctx.setLineDash([4 * dpr, 3 * dpr]);
			ctx.lineWidth = dpr;
			ctx.beginPath();
			ctx.moveTo(x, u.bbox.top);
			ctx.lineTo(x, u.bbox.top + u.bbox.height);
			ctx.stroke();
			if (u === plots[0]) {
				ctx.fillStyle = '#d64545';
				ctx.font = (11 * dpr) + 'px system-ui, sans-serif';
				ctx.textAlign = x > u.bbox.left + u.bbox.width * 0.8 ? 'right' : 'left';
				ctx.fillText('peak ' + fmtBytes(S.peak_bytes), x + (ctx.textAlign === 'right' ? -4 : 4) * dpr,
					u.bbox.top + 12 * dpr);
			}
			ctx.restore();
		}
		var cursor = { sync: sync, drag: { x: true, y: false, setScale: false } };
		var hooks = { setSelect: [onSelect], draw: [peakLine] };
		var timeSeries = { label: 'time', value: function (u, v) { return v === null ? '–' : fmtClock(v * 1e6); } };
		var memory = {
			width: width, height: 210, cursor: cursor, hooks: hooks,
			scales: { x: xScale, heap: { range: zeroBased }, rss: { range: zeroBased } },
			axes: [xAxis,
				{ scale: 'heap', size: 80, stroke: '#2563c9', incrs: byteIncrs, values: function (u, v) { return v.map(fmtBytes); } },
				{ scale: 'rss', side: 1, size: 80, stroke: '#8a5cc2', grid: { show: false }, incrs: byteIncrs,
				  show: hasRss, values: function (u, v) { return v.map(fmtBytes); } }],
			series: [timeSeries,
				{ label: 'Heap in use (left axis)', scale: 'heap', stroke: '#2563c9', width: 2,
				  fill: 'rgba(37,99,201,0.12)', value: function (u, v) { return fmtBytes(v); } },
				{ label: 'RSS (right axis)', scale: 'rss', stroke: '#8a5cc2', width: 1.5, dash: [6, 4], show: hasRss,
				  /* RSS is read only at recent grid points: join across the others */
				  spanGaps: true,
				  value: function (u, v) { return fmtBytes(v); } },
				{ label: 'Heap + mapped by the program (right axis)', scale: 'rss', stroke: '#1f9e89', width: 1.5,
				  show: hasMapped, value: function (u, v) { return v === null ? '–' : fmtBytes(v); } },
				/* what malloc holds from the system: above heap in use by its fragmentation */
				{ label: 'Malloc footprint (left axis)', scale: 'heap', stroke: '#c2410c', width: 1.5, dash: [2, 3],
				  show: hasFoot, spanGaps: true, value: function (u, v) { return fmtBytes(v); } }]
		};
		var rate = {
			width: width, height: 130, cursor: cursor, hooks: hooks,
			scales: { x: xScale, rate: { range: zeroBased } },
			axes: [xAxis,
				{ scale: 'rate', size: 80, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5,
					5e5, 1e6, 2e6, 5e6, 1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 1e9], values: function (u, v) { return v.map(fmtRate); } },
				{ scale: 'rate', side: 1, size: 80, grid: { show: false }, values: function (u, v) { return v.map(function () { return ''; }); } }],
			series: [timeSeries,
				{ label: 'Allocations per second', scale: 'rate', stroke: '#e08a1e', width: 1.5,
				  fill: 'rgba(224,138,30,0.10)', value: function (u, v) { return fmtRate(v); } },
				{ label: 'Frees per second', scale: 'rate', stroke: '#2e7d4f', width: 1.5,
				  value: function (u, v) { return fmtRate(v); } }]
		};
		var a = el('div', { id: 'timeline-memory' }), b = el('div', { id: 'timeline-rate' });

		box.appendChild(a);
		box.appendChild(b);
		plots.push(new uPlot(memory, [xs, heap, rss, heapMapped, foot], a));
		plots.push(new uPlot(rate, [xs, allocs, frees], b));
	}

	/* ---------- growing sites ---------- */

	/* curves drawn: the steepest sites, one colour each */
	var GROWTH_CURVES = 5;
	var GROWTH_COLOURS = ['#d64545', '#2563c9', '#e08a1e', '#2e7d4f', '#8a5cc2'];

	function fmtSlope(v) {
		return (v >= 0 ? '+' : '−') + fmtBytes(Math.round(Math.abs(v))) + '/s';
	}

	/*
	 * R.growing (docs/report-format.md "growing"): a table of every growing
	 * site, and each of the steepest's bytes in use as a step curve (a value
	 * holds until the next point), on the timeline's time axis.
	 */
	/* --all: every process in one table (R.system_wide), instead of one line each in the notes */
	function renderSystem() {
		var rows;

		if (!R.system_wide || typeof R.system_wide !== 'object')
			return;
		rows = (Array.isArray(R.processes) ? R.processes : []).filter(function (p) {
			return p && typeof p === 'object';
		});
		$('system-section').hidden = false;
		$('system-count').textContent = String(rows.length);
		var table = new Table({
			id: 'system', sort: 'leaked', placeholder: 'Filter by name or command line',
			empty: 'No process called a probed allocator while traced.',
			columns: [
				idCol('pid', 'pid', function (p) { return p.pid; }),
				{ key: 'comm', label: 'Process', value: function (p) { return p.comm || '?'; } },
				{ key: 'cmdline', label: 'Command line', value: function (p) { return p.cmdline || ''; },
				  text: function (p) { var c = p.cmdline || ''; return c.length > 80 ? c.slice(0, 79) + '\u2026' : c; },
				  title: function (p) { return p.cmdline || ''; } },
				{ key: 'state', label: 'At the end', value: function (p) {
					return p.execed ? 'execed' : p.exited ? 'exited' : 'running'; } },
				{ key: 'allocations', label: 'Allocations', num: true, value: function (p) { return p.allocations; },
				  text: function (p) { return fmtInt(p.allocations); } },
				bytesCol('allocated', 'Allocated', function (p) { return p.bytes_allocated; }),
				bytesCol('leaked', 'Leaked', function (p) { return p.leaked_bytes; },
					 'blocks live when it exited'),
				bytesCol('in_use', 'In use', function (p) { return p.exited || p.execed ? 0 : p.live_bytes; },
					 'blocks live at the end, still running')
			]
		});

		$('system-table').appendChild(table.root);
		table.setRows(rows);
	}

	function renderGrowth() {
		var list = Array.isArray(R.growing) ? R.growing.filter(function (g) {
			return g && typeof g === 'object' && typeof g.stack === 'number';
		}) : null;

		if (!list)
			return; /* a report from before growth was measured */
		$('growth-section').hidden = false;
		$('growth-count').textContent = String(list.length);
		$('growth-count').classList.toggle('none', !list.length);
		var table = new Table({
			id: 'growing', sort: 'slope', placeholder: 'Filter by function or file',
			empty: 'No site grew steadily' + ((S.duration_us || 0) < 2e6 ? ' (the trace lasted less than the 2 s the rule needs).' : '.'),
			rowAttrs: stackRowAttrs,
			columns: siteCols.concat([
				{ key: 'slope', label: 'Growth', num: true, value: function (r) { return r.bytes_per_s; },
				  text: function (r) { return fmtSlope(r.bytes_per_s); },
				  help: 'bytes in use gained per second (the slope of a least-squares line)' },
				{ key: 'r2', label: 'Fit (r²)', num: true, value: function (r) { return r.r2; },
				  text: function (r) { return typeof r.r2 === 'number' ? r.r2.toFixed(3) : '–'; },
				  help: 'how well the line fits: 1 is a straight line' },
				{ key: 'span', label: 'Over', num: true, value: function (r) { return r.span_us; },
				  text: function (r) { return fmtDuration(r.span_us); },
				  help: 'from the first allocation at the site to the end of the trace' },
				bytesCol('first_bytes', 'In use first', function (r) { return r.first_bytes; }),
				bytesCol('last_bytes', 'In use at end', function (r) { return r.last_bytes; })
			]),
			onClick: function (r) { showStacks('Growing: ' + siteName(r.stack), [['allocated here', r.stack]]); }
		});

		$('growth-table').appendChild(table.root);
		table.setRows(list);
		if (list.length)
			growthChart(list.slice(0, GROWTH_CURVES));
	}

	function growthChart(top) {
		var times = new Set(), xs, data, series;

		top.forEach(function (g) {
			(g.points || []).forEach(function (p) { times.add(p[0]); });
		});
		xs = Array.from(times).sort(function (a, b) { return a - b; });
		data = [xs.map(function (t) { return t / 1e6; })];
		series = [{ label: 'time', value: function (u, v) { return v === null ? '–' : fmtClock(v * 1e6); } }];
		top.forEach(function (g, i) {
			var pts = g.points || [], k = -1;

			data.push(xs.map(function (t) {
				while (k + 1 < pts.length && pts[k + 1][0] <= t)
					k++;
				return k < 0 ? null : pts[k][1];
			}));
			series.push({ label: siteName(g.stack) + ' ' + fmtSlope(g.bytes_per_s), stroke: GROWTH_COLOURS[i % GROWTH_COLOURS.length],
				width: 2, paths: uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
				value: function (u, v) { return v === null ? '–' : fmtBytes(v); } });
		});
		var byteIncrs = [];

		for (var k = 0; k < 60; k++)
			byteIncrs.push(Math.pow(2, k));
		var endX = Math.max(xs.length ? xs[xs.length - 1] / 1e6 : 0, (S.duration_us || 0) / 1e6);
		var box = $('growth-chart'), div = el('div', { id: 'growth-curves' });

		box.appendChild(div);
		plots.push(new uPlot({
			width: Math.max(400, box.clientWidth || 1200), height: 220,
			cursor: { drag: { x: false, y: false } },
			scales: { x: { time: false, range: function () { return [0, endX]; } },
				  y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; } } },
			axes: [{ size: 30, space: 70, values: timeTicks },
				{ size: 80, incrs: byteIncrs, values: function (u, v) { return v.map(fmtBytes); } }],
			series: series
		}, data, div));
	}

	/* ---------- histograms ---------- */

	function renderHistograms() {
		var box = $('histograms');
		var h = R.histograms || {};

		function hist(title, list, fmt, note) {
			var max = 0, wrap = el('div', { class: 'hist' }, el('h2', null, title));

			list.forEach(function (b) { max = Math.max(max, b.count); });
			if (!list.length)
				wrap.appendChild(el('div', { class: 'empty' }, 'no data'));
			list.forEach(function (b) {
				wrap.appendChild(el('div', { class: 'row' },
					el('span', { class: 'lbl' }, '≤ ' + fmt(b.max)),
					el('div', { class: 'bar', style: null, 'data-count': b.count }),
					el('span', { class: 'n' }, fmtInt(b.count))));
			});
			/* widths through CSSOM: no style attribute strings */
			Array.prototype.forEach.call(wrap.querySelectorAll('.bar'), function (bar) {
				bar.style.width = (max ? 100 * Number(bar.getAttribute('data-count')) / max : 0) + '%';
			});
			if (note)
				wrap.appendChild(el('p', { class: 'muted small' }, note));
			return wrap;
		}
		function fmtMaxBytes(v) {
			return v >= 1.8e19 ? 'any' : fmtBytes(v);
		}
		function fmtMaxUs(v) {
			return v >= 1.8e19 ? 'any' : fmtDuration(v);
		}
		box.appendChild(hist('Allocation sizes', h.sizes || [], fmtMaxBytes, 'allocations per size bucket'));
		box.appendChild(hist('Lifetimes of freed blocks', h.lifetimes_us || [], fmtMaxUs, 'blocks per lifetime bucket'));
	}

	/* ---------- controls ---------- */

	function threadLabel(tid) {
		var t = threadsByTid.get(tid);

		return tid + (t && t.name ? ' (' + t.name + ')' : '');
	}

	function processLabel(pid) {
		var p = procsByPid.get(pid);
		var comm = p ? p.comm : pid === T.pid ? T.comm : null;

		return pid + (comm ? ' (' + comm + ')' : '') + (pid === T.pid && procs.length ? ', the target' : '');
	}

	/* The chosen process's numbers, in words (the target's are the summary's). */
	function processSummary(pid) {
		var p = procsByPid.get(pid);

		if (pid === T.pid)
			return 'Process ' + processLabel(pid) + ': ' + plural(S.allocations || 0, 'allocation', 'allocations') +
				', ' + plural(S.frees || 0, 'free', 'frees') + '; ' + plural(S.leaked_allocations || 0, 'block', 'blocks') +
				' (' + fmtBytes(S.leaked_bytes || 0) + ') leaked: the summary above.';
		if (!p)
			return '';
		return 'Process ' + processLabel(pid) + (p.ppid ? ', forked by ' + p.ppid : '') + ': ' +
			plural(p.allocations, 'allocation', 'allocations') + ' (' + fmtBytes(p.bytes_allocated) + '), ' +
			plural(p.frees, 'free', 'frees') + ', peak ' + fmtBytes(p.peak_bytes) + '; ' +
			plural(p.leaked_allocations, 'block', 'blocks') + ' (' + fmtBytes(p.leaked_bytes) + ') leaked (' +
			(p.exited ? 'live at its exit' : 'still running: live and older than the leak rule\'s age') + '); ' +
			plural(p.unknown_frees || 0, 'unknown free', 'unknown frees') + ', ' +
			plural(p.inherited_frees || 0, 'release', 'releases') + ' of its parent\'s blocks.';
	}

	function defaultMetric() {
		if (state.thread !== null)
			return 'bytes';
		if (!leakRuleAtExit && (R.leaks || []).length)
			return 'leaked';
		return S.live_bytes ? 'live' : 'bytes';
	}

	function refreshControls() {
		var sel = $('metric');
		var list = availableMetrics();

		if (!list.some(function (m) { return m.id === state.metric; }))
			state.metric = list[0].id;
		clear(sel);
		list.forEach(function (m) {
			sel.appendChild(el('option', { value: m.id, selected: m.id === state.metric }, m.label));
		});
		sel.value = state.metric;
		var th = $('thread');

		th.disabled = !threadSites || !!state.window;
		th.title = !threadSites ? (S.thread_sites_complete === false ?
			'more (thread, stack) pairs than the loader counts: no per-thread stacks in this report' :
			'this report has no per-thread stacks (thread_sites)') :
			state.window ? 'a time window and a thread cannot be combined' : '';
		th.value = state.thread === null ? '' : String(state.thread);
		var ps = $('process');

		$('process-label').hidden = !procs.length;
		ps.disabled = !procs.length;
		ps.value = state.process === null ? '' : String(state.process);
		$('process-summary').hidden = state.process === null;
		$('process-summary').textContent = state.process === null ? '' : processSummary(state.process);
	}

	/* A process chosen (null: all): its leaks, sites, findings and threads; a thread of another is let go. */
	function setProcess(pid) {
		state.process = pid;
		if (state.thread !== null && pid !== null) {
			var t = threadsByTid.get(state.thread);

			if (t && pidOf(t) !== pid)
				state.thread = null;
		}
		state.metric = defaultMetric();
		refreshControls();
		renderFlame();
		refreshTables();
	}

	function setThread(tid) {
		var t = tid === null ? null : threadsByTid.get(tid);

		state.thread = tid;
		/* a thread of another process than the one chosen: its process is chosen */
		if (t && state.process !== null && pidOf(t) !== state.process)
			state.process = pidOf(t);
		state.metric = defaultMetric();
		refreshControls();
		renderFlame();
		refreshTables();
	}

	function wireControls() {
		var th = $('thread'), ps = $('process');

		ps.appendChild(el('option', { value: '' }, 'All processes'));
		if (procs.length) {
			ps.appendChild(el('option', { value: String(T.pid) }, processLabel(T.pid)));
			procs.forEach(function (p) {
				ps.appendChild(el('option', { value: String(p.pid) }, processLabel(p.pid)));
			});
		}
		ps.addEventListener('change', function () {
			setProcess(ps.value === '' ? null : Number(ps.value));
		});

		th.appendChild(el('option', { value: '' }, 'All threads'));
		(R.threads || []).forEach(function (t) {
			th.appendChild(el('option', { value: String(t.tid) }, threadLabel(t.tid)));
		});
		$('metric').addEventListener('change', function () {
			state.metric = $('metric').value;
			renderFlame();
		});
		th.addEventListener('change', function () {
			setThread(th.value === '' ? null : Number(th.value));
		});
		$('orient-flame').addEventListener('click', function () { setOrientation(false); });
		$('orient-icicle').addEventListener('click', function () { setOrientation(true); });
		$('flame-reset').addEventListener('click', function () {
			$('flame-search').value = '';
			state.search = '';
			if (chart) {
				chart.resetZoom();
				chart.clear();
			}
		});
		$('flame-search').addEventListener('input', function () {
			state.search = $('flame-search').value.trim();
			if (!chart)
				return;
			if (state.search)
				chart.search(state.search);
			else
				chart.clear();
		});
		$('window-clear').addEventListener('click', clearWindow);
		$('stack-close').addEventListener('click', function () { $('stack-section').hidden = true; });
		/* redraw at the new width when the page's width changes (a window resize, a scroll bar) */
		var resizeTimer = null, lastWidth = $('flame').clientWidth;

		if (window.ResizeObserver) {
			new ResizeObserver(function () {
				var w = $('flame').clientWidth;

				if (w === lastWidth || !w)
					return;
				lastWidth = w;
				clearTimeout(resizeTimer);
				resizeTimer = setTimeout(function () {
					if (chart && Math.abs(chart.width() - Math.max(400, w)) > 1)
						renderFlame();
					plots.forEach(function (p) {
						p.setSize({ width: Math.max(400, $('timeline').clientWidth), height: p.height });
					});
				}, 100);
			}).observe($('flame'));
		}
	}

	function setOrientation(inverted) {
		state.inverted = inverted;
		$('orient-flame').classList.toggle('on', !inverted);
		$('orient-icicle').classList.toggle('on', inverted);
		renderFlame();
	}

	function renderFooter() {
		var f = $('footer');

		f.appendChild(el('div', null, 'Schema ' + (R.schema || '?') + ' · ' + plural(TR.probes || 0, 'probe', 'probes') +
			' on ' + ((TR.allocators || []).map(basename).join(', ') || 'no allocator') +
			(TR.allocator ? ' · allocator: ' + TR.allocator.name + ' (' + basename(TR.allocator.path) + ')' : '') +
			' · allocation stacks: ' +
			(TR.stacks || '?') + ', release stacks: ' + (TR.free_stacks || '?') + ' · timeline every ' +
			fmtDuration(TR.interval_us) + '.'));
		f.appendChild(el('div', null, 'Drawn with d3, d3-flame-graph and uPlot, embedded in this file (licences: ' +
			'user/report/html/vendor/ in the memscope-bpf sources). This page loads nothing from the network.'));
	}

	/*
	 * The view named in the address's fragment, so a view can be linked to
	 * (and the tests can draw one without a mouse):
	 * #metric=peak&process=PID&thread=TID&window=T0,T1 (seconds)&view=icicle&search=TEXT&tab=hotspots&stack=ID
	 */
	function applyHash() {
		var q = new URLSearchParams(location.hash.replace(/^#/, ''));
		var v;

		if ((v = q.get('process')) !== null && (procsByPid.has(Number(v)) || (procs.length && Number(v) === T.pid)))
			setProcess(Number(v));
		if ((v = q.get('thread')) !== null && threadSites && threadsByTid.has(Number(v)))
			setThread(Number(v));
		if ((v = q.get('window')) !== null && /^[0-9.e+-]+,[0-9.e+-]+$/.test(v)) {
			var t0 = Number(v.split(',')[0]), t1 = Number(v.split(',')[1]);

			setWindow(t0, t1);
			plots.forEach(function (p) {
				var a = Math.max(0, p.valToPos(t0, 'x')), b = Math.min(p.over.clientWidth, p.valToPos(t1, 'x'));

				if (b > a)
					p.setSelect({ left: a, width: b - a, top: 0, height: p.over.clientHeight }, false);
			});
		}
		if ((v = q.get('metric')) !== null && availableMetrics().some(function (m) { return m.id === v; })) {
			state.metric = v;
			refreshControls();
			renderFlame();
		}
		if (q.get('view') === 'icicle')
			setOrientation(true);
		if ((v = q.get('search')) !== null && chart) {
			$('flame-search').value = v;
			state.search = v;
			chart.search(v);
		}
		if ((v = q.get('tab')) !== null && $('tab-' + v))
			$('tab-' + v).click();
		if ((v = q.get('stack')) !== null && stacks.has(Number(v)))
			showStacks('Stack ' + v + ': ' + siteName(Number(v)), [['allocated here', Number(v)]], true);
	}

	/* ---------- main ---------- */

	function main() {
		renderHeader();
		renderWarnings();
		renderSystem();
		renderSummary();
		makeTables();
		renderTabs();
		renderStaticTables();
		wireControls();
		state.metric = defaultMetric();
		refreshControls();
		renderTimeline();
		renderGrowth();
		renderFlame();
		refreshTables();
		renderHistograms();
		renderFooter();
		applyHash();
	}

	try {
		main();
	} catch (e) {
		showError(String(e && e.message || e));
		if (window.console)
			console.error(e);
	}
	if (!errors) {
		/* data-ms: from navigation start (HTML and JSON parsed, everything drawn) */
		var done = el('div', { id: 'render-done', hidden: true, 'data-stacks': stacks.size,
			'data-flame-frames': document.querySelectorAll('#flame g.frame').length,
			'data-ms': Math.round(performance.now()) });

		document.body.appendChild(done);
	}
})();
