# memscope-bpf — see README.md.  `make V=1` shows full commands.
.DELETE_ON_ERROR:
.SUFFIXES:

CC      ?= cc
CLANG   ?= clang
CXX     ?= c++
BPFTOOL ?= bpftool
# SAN=1: the loader and its tests built with ASan and UBSan, in their own folder;
# STATIC=1 (make static): the loader linked statically, in build-static
BUILD   ?= $(if $(filter 1,$(SAN)),build-san,$(if $(filter 1,$(STATIC)),build-static,build))
ARCH    ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CPPFLAGS += -Iinclude -Iuser -Iuser/record -Iuser/model -Iuser/report -I$(BUILD) -DMEMSCOPE_VERSION='"$(VERSION)"' -D_GNU_SOURCE
DEPFLAGS  = -MMD -MP
LDLIBS   += -lbpf -ldw -lelf -lz -lstdc++ -lm

# The binary the end-to-end tests run (MEMSCOPE_BIN in their environment).
MEMSCOPE_BIN := memscope-bpf
# What the tests run under: nothing, or with SAN=1 the sanitizers' settings.
TEST_ENV :=
# The traced programs are never sanitized (ASan would replace the very malloc
# they are traced for), and the tests read them from build/programs.
PROG_DIR ?= $(BUILD)/programs
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=undefined
override CFLAGS  += $(SAN_FLAGS)
override LDFLAGS += $(SAN_FLAGS)
MEMSCOPE_BIN := $(BUILD)/memscope-bpf
PROG_DIR := build/programs
# Each report goes to a file of its own under MEMSCOPE_SAN_LOGS, whichever
# process of a test it came from (the loader under e2e writes its stderr where
# the test reads it): scripts/run-tests.sh fails a binary after which any appeared.
TEST_ENV := MEMSCOPE_BIN=$(MEMSCOPE_BIN) MEMSCOPE_SAN_LOGS=$(abspath $(BUILD))/san-logs \
	ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0
endif
# One self-contained binary (make static): libbpf, libdw, libelf, zlib and the
# compressors libdw reads with, from Debian's static archives; no debuginfod
# client (it is a shared library loaded at run time: user/record/debuginfo.c).
ifeq ($(STATIC),1)
MEMSCOPE_BIN := $(BUILD)/memscope-bpf
override CPPFLAGS += -DMEMSCOPE_STATIC
override LDFLAGS  += -static -Wl,--wrap=dlopen
LDLIBS   += -lzstd -llzma -lbz2 -lpthread
endif

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Iinclude \
	-I/usr/include/$(shell uname -m)-linux-gnu -Wall -Werror

# the loader's stages, one folder each (docs/architecture.md "Record, model, report"):
# user/record, user/model, user/report; the command line and session in user/
USER_DIRS := record model report
USER_SRCS := $(wildcard user/*.c $(USER_DIRS:%=user/%/*.c))
# the HTML report's page and vendored libraries, embedded by user/report/html/assets.S
HTML_ASSETS := user/report/html/report.html user/report/html/report.css user/report/html/report.js \
	       $(wildcard user/report/html/vendor/*.js user/report/html/vendor/*.css)
USER_OBJS := $(USER_SRCS:user/%.c=$(BUILD)/user/%.o) $(BUILD)/user/report/html/assets.o
LIB_OBJS  := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)
BPF_OBJS  := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.bpf.o)
.SECONDARY: $(BPF_OBJS)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
E2E_SRCS  := $(wildcard tests/e2e/*.c)
E2E_BIN   := $(BUILD)/tests/e2e/e2e
VERIFIER_TEST := $(BUILD)/tests/verifier/test_verifier_budget
RELIABILITY_TEST := $(BUILD)/tests/reliability/test_reliability
HTML_TEST  := $(BUILD)/tests/html/test_html
HTML_TOOLS := $(BUILD)/tests/html/embed_json $(BUILD)/tests/html/synth_report
PROG_C    := $(wildcard tests/programs/*.c)
PROG_CXX  := $(wildcard tests/programs/*.cc)
# programs also built optimized without frame pointers (NAME-nofp): unwinding by CFI
NOFP_C    := leaks qsort_cb
NOFP_CXX  := cxx_throw
# leaks.c linked with each of Debian's other allocators (test-deps installs them):
# leaks-jemalloc, leaks-tcmalloc, leaks-mimalloc
CUSTOM_ALLOCATORS := jemalloc tcmalloc mimalloc
ALLOC_LIBDIR      := /usr/lib/$(shell uname -m)-linux-gnu
ALLOC_LIB_jemalloc := $(ALLOC_LIBDIR)/libjemalloc.so.2
ALLOC_LIB_tcmalloc := $(ALLOC_LIBDIR)/libtcmalloc_minimal.so.4
ALLOC_LIB_mimalloc := $(ALLOC_LIBDIR)/libmimalloc.so.2
PROGS     := $(PROG_C:tests/programs/%.c=$(PROG_DIR)/%) \
	     $(PROG_CXX:tests/programs/%.cc=$(PROG_DIR)/%) \
	     $(addprefix $(PROG_DIR)/,$(addsuffix -nofp,$(NOFP_C) $(NOFP_CXX))) \
	     $(PROG_DIR)/libplugin-nofp.so $(PROG_DIR)/leaks-nocfi \
	     $(foreach a,$(CUSTOM_ALLOCATORS),$(PROG_DIR)/leaks-$(a)) $(PROG_DIR)/libarena.so

.PHONY: all deps test-deps demo test unit verifier verifier-report e2e kernel-matrix html \
	reliability bench-build clean san fuzz static static-test install uninstall man \
	check-man check-version install-test deb deb-test
all: $(MEMSCOPE_BIN)

deps:
	$(Q)scripts/deps.sh

# what only the tests need (headless Chromium for the HTML report's tests,
# go tool pprof for the pprof profile's, QEMU and a static busybox for kernel-matrix)
test-deps:
	$(Q)scripts/deps.sh --tests

$(MEMSCOPE_BIN): $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(notdir $(basename $(basename $<))) > $@

# the loader's stage that opens the BPF object needs its skeleton first
$(BUILD)/user/record/attach.o: $(SKELS)

# .incbin paths are relative to the top of the tree; the assembler reports no
# dependencies for them, hence the list.
$(BUILD)/user/report/html/assets.o: user/report/html/assets.S $(HTML_ASSETS)
	$(call msg,AS,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -c $< -o $@

$(BUILD)/user/%.o: user/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -c $< -o $@

# Programs traced by the end-to-end tests: allocations known by construction.
PROG_FLAGS := -O0 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -pthread
NOFP_FLAGS := -O2 -g -fomit-frame-pointer -pthread
$(PROG_DIR)/%-nofp: tests/programs/%.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NOFP_FLAGS) -Iinclude -o $@ $<
$(PROG_DIR)/%-nofp: tests/programs/%.cc | $(PROG_DIR)
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(NOFP_FLAGS) -Iinclude -o $@ $<
# frame pointers but no .eh_frame rows of its own (auto mode must walk those frames
# by rbp; its .debug_frame is read only by objects without .eh_frame_hdr)
$(PROG_DIR)/%-nocfi: tests/programs/%.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_FLAGS) -fno-asynchronous-unwind-tables -fno-unwind-tables -o $@ $<
# statically linked: libc inside the program's own file (glibc's libc.a, libc6-dev)
$(PROG_DIR)/static_stdio: tests/programs/static_stdio.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_FLAGS) -static -o $@ $<
# linked with another allocator: its malloc is the program's (by the library's full
# name, so no -dev package is needed)
$(CUSTOM_ALLOCATORS:%=$(PROG_DIR)/leaks-%): $(PROG_DIR)/leaks-%: tests/programs/leaks.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_FLAGS) -o $@ $< $(ALLOC_LIB_$*)
# the prefixed allocator of tests/programs/prefixed.c as a library it can dlopen
$(PROG_DIR)/libarena.so: tests/programs/lib/arena.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_FLAGS) -shared -fPIC -o $@ $<
# CFI only in .debug_frame: a fixture of tests/unit/test_unwind_table.c
$(PROG_DIR)/lib%-debugframe.so: tests/programs/lib/%.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fno-asynchronous-unwind-tables -fno-unwind-tables -nostartfiles \
		-shared -fPIC -o $@ $<
# a CFI register number past any real one: a fixture of tests/unit/test_unwind_table.c
$(PROG_DIR)/libabsurd-cfi.so: tests/programs/lib/absurd_cfi.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -nostartfiles -shared -fPIC -o $@ $<
$(BUILD)/tests/unit/test_unwind_table: $(PROG_DIR)/libplugin-debugframe.so \
	$(PROG_DIR)/libabsurd-cfi.so
# exports only (.dynsym), a label of no size before a static function: a fixture of
# tests/unit/test_symbolize.c
$(PROG_DIR)/libexports-stripped.so: tests/programs/lib/exports.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -fno-toplevel-reorder -shared -fPIC -o $@ $<
	$(Q)objcopy --strip-all $@
$(BUILD)/tests/unit/test_symbolize: $(PROG_DIR)/libexports-stripped.so
# dlopen'ed by tests/programs/dlopen.c
$(PROG_DIR)/lib%-nofp.so: tests/programs/lib/%.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NOFP_FLAGS) -shared -fPIC -o $@ $<
$(PROG_DIR)/%: tests/programs/%.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_FLAGS) -Iinclude -o $@ $<
$(PROG_DIR)/%: tests/programs/%.cc | $(PROG_DIR)
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(PROG_FLAGS) -Iinclude -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $< $(LIB_OBJS) -lcmocka -lcjson $(LDLIBS)

$(VERIFIER_TEST): tests/verifier/test_verifier_budget.c $(LIB_OBJS) | $(BUILD)/tests/verifier
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $< $(LIB_OBJS) -lcmocka $(LDLIBS)

$(E2E_BIN): $(E2E_SRCS) | $(BUILD)/tests/e2e
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $(E2E_SRCS) -lcmocka -lcjson

$(RELIABILITY_TEST): tests/reliability/test_reliability.c | $(BUILD)/tests/reliability
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $< -lcmocka -lcjson

# The HTML report's tests and tools: a page from any JSON report (embed_json),
# a large synthetic report (synth_report)
$(BUILD)/tests/html/embed_json: tests/html/embed_json.c $(BUILD)/user/report/render_html.o \
		$(BUILD)/user/report/html/assets.o | $(BUILD)/tests/html
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -o $@ $^

$(BUILD)/tests/html/synth_report: tests/html/synth_report.c | $(BUILD)/tests/html
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -o $@ $<

$(HTML_TEST): tests/html/test_html.c | $(BUILD)/tests/html
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $< -lcmocka -lcjson

$(BUILD) $(PROG_DIR) $(BUILD)/tests/unit \
$(BUILD)/tests/e2e $(BUILD)/tests/html $(BUILD)/tests/verifier $(BUILD)/tests/reliability:
	$(Q)mkdir -p $@

unit: $(UNIT_BINS)
	$(Q)$(TEST_ENV) scripts/run-tests.sh unit $(UNIT_BINS)

# Every BPF program in every configuration within 10% of the verifier's limit (root).
verifier: $(VERIFIER_TEST)
	$(Q)$(TEST_ENV) scripts/run-tests.sh verifier $(VERIFIER_TEST)

# The table behind that budget: program x configuration, instructions, % of the limit.
verifier-report: memscope-bpf
	$(Q)./memscope-bpf --check -v

e2e: $(MEMSCOPE_BIN) $(PROGS) $(E2E_BIN)
	$(Q)$(TEST_ENV) scripts/run-tests.sh e2e $(E2E_BIN)

# Load, faults and hostile input (docs/reliability.md; root, bpftool).
# RELIABILITY_LOAD_SECS, RELIABILITY_DETACHES: longer runs.
reliability: memscope-bpf $(PROGS) $(RELIABILITY_TEST)
	$(Q)scripts/run-tests.sh reliability $(RELIABILITY_TEST)

# A subset of e2e under other kernels (docs/kernels.md): each Debian 12 kernel
# series in KERNELS booted in QEMU with software emulation, this machine's /
# shared over 9p: the verifier budget and an e2e subset (scripts/kernel-tests.sh).
# All kernels run; the target fails if any of them failed.
# KERNELS: series (6.1: the newest 6.1 package apt knows) or linux-image-*
# package names; KERNEL_TESTS: globs of e2e test names, run in default mode.
KERNELS        ?= 6.1 6.12
KERNEL_TESTS   ?= test_e2e__plain_leaks_* test_e2e__threads_each_seen_* test_e2e__cxx_new_delete_* \
		  test_e2e__attach_to_running_* test_e2e__omit_frame_pointer_* test_e2e__annotations_* \
		  test_e2e__fallback_ladder_* test_e2e__uprobe_multi_refused_* \
		  test_e2e__frame_pointer_garbage_* test_e2e__zombie_target_* \
		  test_e2e__vfork_childs_* test_e2e__pid_target_reaped_* \
		  test_e2e__anonymous_mappings_*
KERNEL_TIMEOUT ?= 1500
# attach/detach cycles under syscall load in each kernel (scripts/attach-stress.sh)
KERNEL_STRESS_RUNS ?= 15
comma := ,
space := $(subst ,, )
kernel-matrix: memscope-bpf $(PROGS) $(E2E_BIN) $(VERIFIER_TEST) $(BUILD)/tests/ship/check_leaks
	$(Q)failed=; for k in $(KERNELS); do \
		BUILD='$(BUILD)' scripts/kernel-vm.sh --kernel "$$k" --timeout $(KERNEL_TIMEOUT) -- \
			scripts/kernel-tests.sh "$$k" $(VERIFIER_TEST) $(E2E_BIN) \
			'$(subst $(space),$(comma),$(strip $(KERNEL_TESTS)))' \
			./memscope-bpf $(PROG_DIR)/leaks $(BUILD)/tests/ship/check_leaks \
			$(VERSION) $(KERNEL_STRESS_RUNS) || \
			failed="$$failed $$k"; \
	done; \
	if [ -n "$$failed" ]; then echo "kernel-matrix: failed on:$$failed"; exit 1; fi

# The HTML report in headless Chromium, on reports of tests/programs/.
html: memscope-bpf $(PROGS) $(HTML_TEST) $(HTML_TOOLS)
	$(Q)scripts/run-tests.sh html $(HTML_TEST)

# The benchmark suite's programs (bench/), built but not run: `make test`
# builds them so they cannot rot unnoticed.
bench-build: $(BUILD)/bench/report_scale $(BUILD)/bench/live_view_scale
	$(Q)$(MAKE) --no-print-directory -C bench all

# The loader, the unit, verifier and end-to-end tests again, built with ASan
# and UBSan in build-san/ and run with that loader; a sanitizer report from any
# process of a test fails it (docs/testing.md).
san:
	$(Q)$(MAKE) --no-print-directory SAN=1 unit verifier e2e

# libFuzzer targets (tests/fuzz/) for the parsers of outside input, each run
# for FUZZ_SECONDS from its seeds in tests/fuzz/corpus/; a crash fails the run.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 20
FUZZ_FLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=undefined
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
# the loader's modules the targets call into, instrumented for coverage
FUZZ_OBJS    := $(addprefix $(FUZZ_BUILD)/user/,util.o options.o record/procmaps.o \
		record/probe_site.o record/alloc_syms.o record/unwind_table.o report/json_writer.o \
		record/capture.o record/recording.o record/symbolize.o record/debuginfo.o \
		report/report.o report/report_frames.o report/report_text.o report/render_json.o \
		$(patsubst user/%.c,%.o,$(wildcard user/model/*.c)))
.SECONDARY: $(FUZZ_OBJS)

$(FUZZ_BUILD)/user/%.o: user/%.c
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(WARN) $(DEPFLAGS) \
		-c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJS) | $(FUZZ_BUILD)/user
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $(WARN) $(DEPFLAGS) -o $@ $< \
		$(FUZZ_OBJS) -lcjson -ldw -lelf -lz -lm

$(FUZZ_BUILD)/user:
	$(Q)mkdir -p $@

fuzz: $(FUZZ_BINS)
	$(Q)scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BUILD) $(FUZZ_BINS)

# The README's test command: installs what is missing, builds, runs everything,
# then again under the sanitizers, then the fuzzers for a bounded time.
test: deps test-deps
	$(Q)$(MAKE) --no-print-directory all bench-build
	$(Q)$(MAKE) --no-print-directory unit verifier e2e reliability kernel-matrix html
	$(Q)$(MAKE) --no-print-directory check-man check-version install-test static-test deb-test
	$(Q)$(MAKE) --no-print-directory san
	$(Q)$(MAKE) --no-print-directory fuzz

# The README's demo command: trace the bundled demo, print the summary, write
# the HTML and JSON reports.
demo: deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/programs/demo
	$(Q)./memscope-bpf --html $(BUILD)/demo-report.html --json $(BUILD)/demo-report.json \
		-- $(BUILD)/programs/demo
	@echo "reports: $(BUILD)/demo-report.html (open in a browser), $(BUILD)/demo-report.json"

# Scale of analysis and JSON (bench/README.md): $(BUILD)/bench/report_scale [EVENTS LIVE STACKS]
$(BUILD)/bench/report_scale: bench/report_scale.c $(LIB_OBJS) | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

# Cost of one --live view against the number of sites (docs/live-view.md):
# $(BUILD)/bench/live_view_scale [NSITES [VIEWS]]
$(BUILD)/bench/live_view_scale: bench/live_view_scale.c $(LIB_OBJS) | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/bench:
	$(Q)mkdir -p $@

# ---- shipping: man page, install, the static binary, the Debian package ----

# The man page, its version from VERSION (man/memscope-bpf.8.in).
MANPAGE := $(BUILD)/memscope-bpf.8
man: $(MANPAGE)
$(MANPAGE): man/memscope-bpf.8.in VERSION | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)sed 's/@VERSION@/$(VERSION)/g' $< > $@

# make install [PREFIX=/usr/local] [DESTDIR=...]; make uninstall with the same.
# tests/ship/test-install.sh holds the list of files this lays out.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR      ?= $(PREFIX)/share/doc/memscope-bpf
INSTALL     ?= install
DOCS        := README.md $(wildcard docs/*.md)

install: $(MEMSCOPE_BIN) $(MANPAGE)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)/docs
	$(Q)$(INSTALL) -m 755 $(MEMSCOPE_BIN) $(DESTDIR)$(SBINDIR)/memscope-bpf
	$(Q)$(INSTALL) -m 644 include/memscope.h $(DESTDIR)$(INCLUDEDIR)/memscope.h
	$(Q)$(INSTALL) -m 644 $(MANPAGE) $(DESTDIR)$(MANDIR)/man8/memscope-bpf.8
	$(Q)$(INSTALL) -m 644 completions/memscope-bpf $(DESTDIR)$(BASHCOMPDIR)/memscope-bpf
	$(Q)$(INSTALL) -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(Q)$(INSTALL) -m 644 $(wildcard docs/*.md) $(DESTDIR)$(DOCDIR)/docs/

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/memscope-bpf $(DESTDIR)$(INCLUDEDIR)/memscope.h \
		$(DESTDIR)$(MANDIR)/man8/memscope-bpf.8 $(DESTDIR)$(BASHCOMPDIR)/memscope-bpf \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(DOCS))
	$(Q)rmdir $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# --help, the man page and the option parser name the same options.
check-man: $(MEMSCOPE_BIN) $(MANPAGE)
	$(Q)tests/ship/check-manpage.sh $(abspath $(MEMSCOPE_BIN)) $(MANPAGE)

# A shipping test that could not run exits 77 after saying so loudly: a skip,
# or with CI=true a failure (the scripts exit 1 then).
skip77 = rc=0; $(1) || rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

# VERSION is the one version: --version, the man page, debian/changelog, the reports.
check-version: $(MEMSCOPE_BIN) $(MANPAGE) $(PROG_DIR)/leaks
	$(Q)$(call skip77,tests/ship/check-version.sh $(abspath $(MEMSCOPE_BIN)) $(MANPAGE) $(PROG_DIR)/leaks)

# install and uninstall into a scratch DESTDIR lay out and remove the list.
install-test: $(MEMSCOPE_BIN) $(MANPAGE)
	$(Q)tests/ship/test-install.sh

# One self-contained memscope-bpf (STATIC=1 in build-static/): README "Install".
static:
	$(Q)$(MAKE) --no-print-directory STATIC=1 build-static/memscope-bpf
	@ls -l build-static/memscope-bpf

# The static binary traces a static program in Debian 12's 6.1 kernel booted
# in QEMU, from an initramfs holding busybox, the binary and the program
# alone: no shared library, no host filesystem (scripts/static-vm-test.sh).
$(PROG_DIR)/leaks-static: tests/programs/leaks.c | $(PROG_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_FLAGS) -static -o $@ $<
$(BUILD)/tests/ship/check_leaks: tests/ship/check_leaks.c | $(BUILD)/tests/ship
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $< -lcjson
$(BUILD)/tests/ship:
	$(Q)mkdir -p $@
static-test: static $(PROG_DIR)/leaks-static $(BUILD)/tests/ship/check_leaks
	$(Q)$(call skip77,BUILD='$(BUILD)' scripts/static-vm-test.sh build-static/memscope-bpf \
		$(PROG_DIR)/leaks-static $(BUILD)/tests/ship/check_leaks)

# The Debian package (debian/), built by dpkg-buildpackage from a copy of the
# tree in $(BUILD)/deb, so the build leaves this tree as it was; the .deb
# files land in $(BUILD)/deb.
deb:
	$(Q)scripts/build-deb.sh $(BUILD)/deb

# Builds the package, installs it with apt, traces a program with the
# installed tool, removes the package (root; tests/ship/test-deb.sh).
deb-test: deb $(PROG_DIR)/leaks $(BUILD)/tests/ship/check_leaks
	$(Q)$(call skip77,tests/ship/test-deb.sh $(BUILD)/deb $(PROG_DIR)/leaks $(BUILD)/tests/ship/check_leaks)

clean:
	$(Q)rm -rf $(BUILD) memscope-bpf build-san build-static $(FUZZ_BUILD)

-include $(USER_OBJS:.o=.d) $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.bpf.d) \
	$(UNIT_BINS:=.d) $(E2E_BIN).d $(HTML_TEST).d $(VERIFIER_TEST).d $(RELIABILITY_TEST).d \
	$(FUZZ_OBJS:.o=.d) $(FUZZ_BINS:=.d) $(BUILD)/tests/ship/check_leaks.d
