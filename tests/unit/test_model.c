/* SPDX-License-Identifier: MIT */
/*
 * The model across an exec (model__exec()): the old image closed out with
 * its totals and blocks live at the exec, the new image's heap afresh (an
 * old address is nothing there), stacks kept; and the report snapshot's
 * images and target name from it.  With -f: copy-on-fork, a child's
 * releases of blocks it inherited (model_inherit), and each process's
 * parts of the report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model.h"
#include "report_input.h"

static void do_malloc(struct model *m, uint64_t ts, uint64_t ptr, uint64_t size)
{
	struct alloc_call c = { .fn = MS_FN_MALLOC, .tid = 7, .ts_ns = ts, .ptr = ptr, .size = size };

	model__alloc(m, &c, 0x11, 0x401000, 0);
}

static void do_free(struct model *m, uint64_t ts, uint64_t ptr)
{
	struct free_call c = { .fn = MS_FN_FREE, .tid = 7, .ts_ns = ts, .ptr = ptr };

	model__free_call(m, &c, 0, 0x401000, 0);
}

static struct model *new_model(void)
{
	struct model_opts mo = { .sz = sizeof(mo), .live_hint = 16, .freed_capacity = 64,
				 .start_ns = 1000, .interval_ns = 100000000 };
	uint64_t ip = 0x401000;
	struct model *m = model__new(&mo);

	model__stack(m, 0x11, &ip, 1, 0);
	return m;
}

static void test_model__exec_closes_the_image_and_starts_a_fresh_heap(void **state)
{
	struct model *m = new_model();
	const struct heap_totals *t;
	uint32_t nstacks;

	do_malloc(m, 2000, 0x1000, 100);
	do_malloc(m, 2100, 0x2000, 200);
	do_malloc(m, 2200, 0x3000, 300);
	do_free(m, 2300, 0x2000);
	model__flush(m);
	nstacks = stack_table__count(m->stacks);
	model__exec(m, 3000, "prog", "./prog --x");
	/* stacks span the images */
	assert_int_equal(stack_table__count(m->stacks), nstacks);
	assert_int_equal(m->nexecs, 1);
	assert_int_equal(m->execs[0].ts_ns, 3000);
	assert_string_equal(m->execs[0].comm, "prog");
	assert_string_equal(m->execs[0].cmdline, "./prog --x");
	assert_int_equal(m->execs[0].closed.allocations, 3);
	assert_int_equal(m->execs[0].closed.frees, 1);
	assert_int_equal(m->execs[0].closed.live_allocations, 2);
	assert_int_equal(m->execs[0].closed.live_bytes, 400);
	assert_int_equal(m->execs[0].threads, 1);
	t = heap__totals(m->heap);
	assert_int_equal(t->allocations, 0);
	assert_int_equal(t->live_allocations, 0);
	/* the old image's address means nothing now: an unknown free, not a release */
	do_free(m, 3100, 0x1000);
	do_malloc(m, 3200, 0x1000, 50);
	model__flush(m);
	t = heap__totals(m->heap);
	assert_int_equal(t->unknown_frees, 1);
	assert_int_equal(t->frees, 0);
	assert_int_equal(t->allocations, 1);
	assert_int_equal(t->live_bytes, 50);
	model__free(m);
}

static void test_report__images_name_the_target_by_its_last_exec(void **state)
{
	struct model *m = new_model();
	struct report_input in = { .pid = 42, .comm = "sh", .cmdline = "sh -c exec ./prog",
				   .exit_text = "exited", .exited = true, .launched = true,
				   .alloc_stacks = true, .start_ns = 1000, .end_ns = 9000 };
	struct report *r;

	do_malloc(m, 2000, 0x1000, 100);
	model__exec(m, 3000, "prog", "./prog");
	do_malloc(m, 4000, 0x5000, 10);
	do_malloc(m, 4100, 0x6000, 20);
	model__flush(m);
	in.heap = m->heap;
	in.stacks = m->stacks;
	in.execs = m->execs;
	in.nexecs = m->nexecs;
	r = report__build(&in);
	assert_string_equal(r->target.comm, "prog");
	assert_string_equal(r->target.cmdline, "./prog");
	assert_int_equal(r->totals.allocations, 2);
	assert_int_equal(r->totals.leaked_bytes, 30);
	assert_int_equal(r->nimages, 2);
	assert_string_equal(r->images[0].comm, "sh");
	assert_true(r->images[0].execed);
	assert_int_equal(r->images[0].start_ns, 1000);
	assert_int_equal(r->images[0].end_ns, 3000);
	assert_int_equal(r->images[0].live_allocations, 1);
	assert_int_equal(r->images[0].live_bytes, 100);
	assert_string_equal(r->images[1].comm, "prog");
	assert_false(r->images[1].execed);
	assert_int_equal(r->images[1].start_ns, 3000);
	assert_int_equal(r->images[1].end_ns, 9000);
	assert_int_equal(r->images[1].allocations, 2);
	report__free(r);
	/* no exec: no images, the report as before */
	in.nexecs = 0;
	r = report__build(&in);
	assert_int_equal(r->nimages, 0);
	assert_string_equal(r->target.comm, "sh");
	report__free(r);
	model__free(m);
}

/* A call of thread tid in process pid's heap (model__proc() routes it). */
static void proc_malloc(struct model *m, uint32_t tid, uint64_t ts, uint64_t ptr, uint64_t size)
{
	struct alloc_call c = { .fn = MS_FN_MALLOC, .tid = tid, .ts_ns = ts, .ptr = ptr, .size = size };

	model__alloc(m, &c, 0x11, 0x401000, 0);
}

static void proc_event(struct model *m, uint8_t kind, uint64_t ts, uint32_t pid, uint32_t other,
		       const char *comm)
{
	struct model_proc_event e = { .kind = kind, .ts_ns = ts, .pid = pid, .other = other,
				      .comm = comm };

	model__proc(m, &e);
}

/*
 * --all: an exec closes the process's image out (MODEL_PROC_IMAGE): a new
 * entry with the same pid takes the calls stamped from the exec on, one
 * stamped before it that came late still goes to the old image, and the
 * old image's blocks are live at its exec, not leaks; a pid reused after an
 * exit is a new process too.
 */
static void test_model__all_exec_and_pid_reuse_start_new_processes(void **state)
{
	struct model *m = new_model();
	struct report_input in = { .exit_text = "", .start_ns = 1000, .end_ns = 9000,
				   .system_wide = true };
	struct report *r;

	proc_event(m, MODEL_PROC_FORK, 1500, 50, 1, "bash");
	proc_malloc(m, 50, 2000, 0x1000, 100);
	proc_event(m, MODEL_PROC_IMAGE, 3000, 50, 0, "cat");
	proc_malloc(m, 50, 2500, 0x2000, 10);  /* before the exec, read after it */
	proc_malloc(m, 50, 3500, 0x3000, 300);
	proc_event(m, MODEL_PROC_EXIT, 4000, 50, 0, "cat");
	proc_event(m, MODEL_PROC_FORK, 5000, 50, 1, "sleep");
	proc_malloc(m, 50, 5100, 0x1000, 7);
	model__flush(m);
	assert_int_equal(m->nprocs, 3);
	assert_true(m->procs[0].execed);
	assert_false(m->procs[0].exited);
	assert_int_equal(m->procs[0].end_ns, 3000);
	assert_int_equal(heap__totals(m->procs[0].heap)->live_bytes, 110);
	assert_string_equal(m->procs[1].comm, "cat");
	assert_int_equal(m->procs[1].prev, 1);
	assert_true(m->procs[1].exited);
	assert_int_equal(heap__totals(m->procs[1].heap)->allocations, 1);
	assert_string_equal(m->procs[2].comm, "sleep");
	assert_int_equal(heap__totals(m->procs[2].heap)->live_bytes, 7);
	/* the target (pid 0) saw nothing */
	assert_int_equal(heap__totals(m->heap)->allocations, 0);

	in.heap = m->heap;
	in.stacks = m->stacks;
	in.procs = m->procs;
	in.nprocs = m->nprocs;
	r = report__build(&in);
	assert_true(r->system.on);
	assert_true(r->processes[0].execed);
	assert_int_equal(r->processes[0].leaked_bytes, 0);
	/* leaked: cat's 300 bytes; in use: sleep's 7, the execed image in neither */
	assert_int_equal(r->system.nby_leaked, 1);
	assert_int_equal(r->system.by_leaked[0], 1);
	assert_int_equal(r->system.leaked_bytes, 300);
	assert_int_equal(r->system.nby_in_use, 1);
	assert_int_equal(r->system.by_in_use[0], 2);
	assert_int_equal(r->system.in_use_bytes, 7);
	assert_int_equal(r->system.allocations, 4);
	report__free(r);
	model__free(m);
}

static void call_as(struct model *m, uint32_t tid, uint64_t ts, uint64_t ptr, uint64_t size)
{
	struct alloc_call c = { .fn = MS_FN_MALLOC, .tid = tid, .ts_ns = ts, .ptr = ptr,
				.size = size };
	struct free_call f = { .fn = MS_FN_FREE, .tid = tid, .ts_ns = ts, .ptr = ptr };

	if (size)
		model__alloc(m, &c, 0x11, 0x401000, 0);
	else
		model__free_call(m, &f, 0, 0x401000, 0);
}

static void fork_event(struct model *m, uint8_t kind, uint64_t ts, uint32_t pid, uint32_t other)
{
	struct model_proc_event e = { .kind = kind, .ts_ns = ts, .pid = pid, .other = other,
				      .comm = "c" };

	model__proc(m, &e);
}

/*
 * The target (pid 7) allocates A, B, C, forks child 50, then allocates D and
 * frees B.  The child's releases of A and B (its copies) are inherited, of D
 * (the parent's after the fork) and of A again unknown; its own child 60
 * releases C, which it held from the target; after its exec the child's
 * release of C is the new program's: unknown.
 */
static void test_model__a_forked_child_releases_its_copies_of_the_parents_blocks(void **state)
{
	struct model_opts mo = { .sz = sizeof(mo), .live_hint = 16, .freed_capacity = 64 * 64,
				 .start_ns = 1000, .interval_ns = 100000000, .pid = 7 };
	uint64_t ip = 0x401000;
	struct model *m = model__new(&mo);
	const struct heap_totals *t;

	(void)state;
	model__stack(m, 0x11, &ip, 1, 0);
	call_as(m, 7, 2000, 0xa000, 10);
	call_as(m, 7, 2100, 0xb000, 20);
	call_as(m, 7, 2200, 0xc000, 30);
	fork_event(m, MODEL_PROC_FORK, 2500, 50, 7);
	call_as(m, 7, 2600, 0xd000, 40);
	call_as(m, 7, 2700, 0xb000, 0);
	call_as(m, 50, 3000, 0xa000, 0);
	call_as(m, 50, 3100, 0xb000, 0);
	call_as(m, 50, 3200, 0xd000, 0);
	call_as(m, 50, 3300, 0xa000, 0);
	fork_event(m, MODEL_PROC_FORK, 3400, 60, 50);
	call_as(m, 60, 3500, 0xc000, 0);
	fork_event(m, MODEL_PROC_NAME, 3600, 50, 0);
	call_as(m, 50, 3700, 0xc000, 0);
	model__flush(m);
	assert_int_equal(m->nprocs, 2);
	assert_int_equal(m->procs[0].inherit->frees, 2);
	t = heap__totals(m->procs[0].heap);
	assert_int_equal(t->unknown_frees, 3);
	assert_int_equal(t->live_allocations, 0);
	assert_int_equal(m->procs[1].inherit->frees, 1);
	assert_int_equal(heap__totals(m->procs[1].heap)->unknown_frees, 0);
	/* the target's own heap: its blocks, its release of B */
	t = heap__totals(m->heap);
	assert_int_equal(t->allocations, 4);
	assert_int_equal(t->frees, 1);
	assert_int_equal(t->unknown_frees, 0);
	model__free(m);
}

/*
 * -f in the report: the target (pid 7) leaks 100 bytes; child 50 leaks 30
 * (its 40 freed) and exits; child 60 still runs at the end, one block old
 * enough for the leak rule (60 bytes), one too young (50).  Each process's
 * leaks, sites and threads are its range of the arrays, each entry with
 * its pid; the totals are the target's.
 */
static void test_report__each_process_has_its_own_leaks_and_sites(void **state)
{
	struct model_opts mo = { .sz = sizeof(mo), .live_hint = 16, .freed_capacity = 64 * 64,
				 .start_ns = 1000, .interval_ns = 100000000, .pid = 7 };
	struct report_input in = { .pid = 7, .comm = "t", .exit_text = "exited", .exited = true,
				   .launched = true, .alloc_stacks = true, .start_ns = 1000,
				   .end_ns = 9000, .min_age_ns = 5000 };
	uint64_t ip = 0x401000;
	struct model *m = model__new(&mo);
	const struct report_process *p50, *p60;
	struct report *r;

	(void)state;
	model__stack(m, 0x11, &ip, 1, 0);
	call_as(m, 7, 2000, 0xa000, 100);
	fork_event(m, MODEL_PROC_FORK, 2500, 50, 7);
	fork_event(m, MODEL_PROC_FORK, 2600, 60, 7);
	call_as(m, 60, 2700, 0xf000, 60);
	call_as(m, 50, 3000, 0xc000, 30);
	call_as(m, 50, 3100, 0xd000, 40);
	call_as(m, 50, 3200, 0xd000, 0);
	fork_event(m, MODEL_PROC_EXIT, 3300, 50, 0);
	call_as(m, 60, 4500, 0xe000, 50);
	model__flush(m);
	in.heap = m->heap;
	in.stacks = m->stacks;
	in.detector = m->detector;
	in.procs = m->procs;
	in.nprocs = m->nprocs;
	r = report__build(&in);
	assert_int_equal(r->nprocesses, 2);
	p50 = &r->processes[0];
	p60 = &r->processes[1];
	assert_int_equal(r->totals.leaked_count, 1);
	assert_int_equal(r->totals.leaked_bytes, 100);
	assert_int_equal(r->nleaks, 3);
	assert_int_equal(r->target_leaks.first, 0);
	assert_int_equal(r->target_leaks.n, 1);
	assert_int_equal(r->leaks[0].pid, 7);
	assert_int_equal(r->leaks[0].bytes, 100);
	assert_int_equal(p50->leaks.n, 1);
	assert_int_equal(r->leaks[p50->leaks.first].pid, 50);
	assert_int_equal(r->leaks[p50->leaks.first].bytes, 30);
	assert_int_equal(p50->leaked_count, 1);
	assert_int_equal(p50->leaked_bytes, 30);
	/* running at the end: only the block older than the rule's age */
	assert_int_equal(p60->leaks.n, 1);
	assert_int_equal(r->leaks[p60->leaks.first].pid, 60);
	assert_int_equal(p60->leaked_bytes, 60);
	assert_int_equal(p60->live_bytes, 110);
	/* a site each, the same stack */
	assert_int_equal(r->nsites, 3);
	assert_int_equal(r->target_sites.n, 1);
	assert_int_equal(r->sites[p50->sites.first].pid, 50);
	assert_int_equal(r->sites[p50->sites.first].count, 2);
	assert_int_equal(r->sites[p50->sites.first].bytes, 70);
	assert_int_equal(r->sites[p60->sites.first].stack, r->sites[0].stack);
	assert_int_equal(r->nthreads, 3);
	assert_int_equal(r->threads[p60->threads.first].pid, 60);
	assert_int_equal(r->threads[p60->threads.first].tid, 60);
	assert_int_equal(r->nthread_sites, 3);
	report__free(r);
	model__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model__exec_closes_the_image_and_starts_a_fresh_heap),
		cmocka_unit_test(test_model__all_exec_and_pid_reuse_start_new_processes),
		cmocka_unit_test(test_report__images_name_the_target_by_its_last_exec),
		cmocka_unit_test(test_model__a_forked_child_releases_its_copies_of_the_parents_blocks),
		cmocka_unit_test(test_report__each_process_has_its_own_leaks_and_sites),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
