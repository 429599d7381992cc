#!/bin/sh
# Installs the Debian packages the build and tests need, only when missing.
# Runs `apt-get update` at most once.  Set MEMSCOPE_DEPS_EXTRA to add more.
# --tests: what only the tests need: headless Chromium for the HTML report;
# Go's toolchain for `go tool pprof`, the real reader of --pprof profiles; valgrind,
# whose memcheck the reachability scan's leak kinds are compared with;
# QEMU, a static busybox and xz for the kernel matrix, scripts/kernel-vm.sh;
# gcc's ASan and UBSan runtimes for `make san`; clang's compiler-rt for `make fuzz`
# (libFuzzer: libclang_rt.fuzzer, a package clang only recommends); a debuginfod
# server and elfutils' tools for the tests of debug files served over HTTP;
# jemalloc, tcmalloc and mimalloc, linked into and preloaded under the tests' programs.
# libdebuginfod-dev: the client's header (the library itself is dlopen'ed at run time).
# libzstd-dev, liblzma-dev, libbz2-dev: static archives libdw.a needs (make static).
# --tests also: debhelper, dpkg-dev and lintian build and check the Debian package
# (make deb-test); man-db and bash-completion for make install-test.
set -eu
pkgs="clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libdw-dev libcjson-dev
libcmocka-dev systemtap-sdt-dev libc6-dbg libdebuginfod-dev pkg-config make gcc g++
libzstd-dev liblzma-dev libbz2-dev ${MEMSCOPE_DEPS_EXTRA:-}"
target=deps
if [ "${1:-}" = --tests ]; then
	pkgs="chromium golang-go valgrind qemu-system-x86 busybox-static xz-utils libasan8 libubsan1 libclang-rt-dev
debuginfod elfutils debhelper dpkg-dev lintian man-db bash-completion libjemalloc2 libtcmalloc-minimal4
libmimalloc2.0 ${MEMSCOPE_DEPS_EXTRA:-}"
	target=test-deps
fi
missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "memscope-bpf: missing packages:$missing (run 'sudo make $target')" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
