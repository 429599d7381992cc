#!/bin/sh
# The static memscope-bpf where nothing else exists: Debian 12's 6.1 kernel
# booted in QEMU (software emulation) from an initramfs that holds a static
# busybox, the static memscope-bpf and a static test program, and nothing
# else: no shared library, no host filesystem.  The tool traces the program
# there; its JSON report comes back over a second serial port and
# CHECKER (tests/ship/check_leaks.c) checks its numbers.  Also checked: the
# binary has no dynamic section, and with DEBUGINFOD_URLS set it says, in
# one line, that debuginfod is unavailable.
#
# Usage: static-vm-test.sh MEMSCOPE_STATIC PROGRAM CHECKER
# KERNEL (default 6.1): what scripts/kernel-vm.sh --kernel takes.
# Exits 0 when it passed, 1 when it failed, 77 when it could not run (no
# QEMU, no kernel): scripts/run-tests.sh's rule, a failure when CI=true.
set -u
bin=$1 prog=$2 checker=$3
kernel=${KERNEL:-6.1}
here=$(dirname "$0")
version=$(cat "$here/../VERSION")

cannot_run() {
	echo "static-vm-test: COULD NOT RUN: $*" >&2
	if [ "${CI:-}" = true ]; then
		echo "static-vm-test: CI=true: counted as a failure" >&2
		exit 1
	fi
	exit 77
}
fail() {
	echo "static-vm-test: FAILED: $*" >&2
	exit 1
}

for f in "$bin" "$prog" "$checker"; do
	[ -x "$f" ] || fail "'$f' is not an executable file"
done
# nothing to load at run time: no interpreter, no shared library
for f in "$bin" "$prog"; do
	if LC_ALL=C readelf -lW "$f" | grep -q 'INTERP\|DYNAMIC'; then
		fail "'$f' is not statically linked"
	fi
done
command -v qemu-system-x86_64 > /dev/null || cannot_run "no qemu-system-x86_64 (make test-deps)"
busybox=$(command -v busybox) || cannot_run "no busybox (make test-deps: busybox-static)"
if LC_ALL=C readelf -d "$busybox" 2>&1 | grep -q NEEDED; then
	cannot_run "'$busybox' is not statically linked (install busybox-static)"
fi
cache=$("$here/kernel-vm.sh" --kernel "$kernel" --fetch-only) || cannot_run "cannot fetch kernel $kernel"

work=$(mktemp -d "${TMPDIR:-/tmp}/static-vm.XXXXXX")
qpid=
trap 'if [ -n "$qpid" ]; then kill "$qpid" 2>/dev/null; fi; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
root=$work/root
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$bin" "$root/bin/memscope-bpf"
cp "$prog" "$root/bin/leaks"
cat > "$root/init" << 'EOF'
#!/bin/sh
# static-vm-test.sh's guest: only what this initramfs holds
export PATH=/bin
busybox mount -t devtmpfs dev /dev
exec < /dev/console > /dev/console 2>&1
busybox mount -t proc proc /proc
busybox mount -t sysfs sys /sys
busybox mount -t tmpfs tmp /tmp
busybox mkdir -p /sys/fs/bpf
busybox mount -t bpf bpf /sys/fs/bpf
echo "guest: kernel $(busybox uname -r); files: $(busybox find / -xdev -type f | busybox tr '\n' ' ')"
echo "guest: shared objects: $(busybox find / -xdev -name '*.so*' | busybox wc -l)"
/bin/memscope-bpf --version
DEBUGINFOD_URLS=http://127.0.0.1:1 /bin/memscope-bpf --json /tmp/report.json -- /bin/leaks \
	2> /tmp/stderr
echo "GUEST-TRACE-EXIT=$?"
busybox cat /tmp/stderr
# the report on the second serial port: no kernel message mixes in
busybox cat /tmp/report.json > /dev/ttyS1
busybox grep -c 'debuginfod is unavailable in the static build' /tmp/stderr | busybox sed 's/^/GUEST-DEBUGINFOD-LINES=/'
busybox sync
busybox poweroff -f
EOF
chmod 755 "$root/init"
(cd "$root" && find . | "$busybox" cpio -o -H newc 2> /dev/null) > "$work/initrd" ||
	fail "cannot make the initramfs"

echo "static-vm-test: booting $(basename "$cache") with an initramfs of $(du -sh "$root" | cut -f1)" \
	"(busybox, memscope-bpf, leaks)" >&2
timeout -k 10 "${STATIC_VM_TIMEOUT:-600}" qemu-system-x86_64 \
	-accel tcg -cpu max -smp 2 -m 1G \
	-display none -vga none -net none -no-reboot -monitor none \
	-serial "file:$work/console" -serial "file:$work/report" \
	-kernel "$cache/vmlinuz" -initrd "$work/initrd" \
	-append 'console=ttyS0 quiet panic=-1 rdinit=/init' < /dev/null > "$work/qemu.log" 2>&1 &
qpid=$!
wait "$qpid"
qrc=$?
qpid=
tr -d '\r' < "$work/console" > "$work/console.txt"
cat "$work/console.txt"
grep -q '^GUEST-TRACE-EXIT=' "$work/console.txt" ||
	cannot_run "the VM stopped (qemu status $qrc) before the trace ended: $(cat "$work/qemu.log")"
rc=$(sed -n 's/^GUEST-TRACE-EXIT=//p' "$work/console.txt")
[ "$rc" = 0 ] || fail "memscope-bpf exited $rc in the guest"
[ "$(sed -n 's/^GUEST-DEBUGINFOD-LINES=//p' "$work/console.txt")" = 1 ] ||
	fail "with DEBUGINFOD_URLS set, no one line saying debuginfod is unavailable"
grep -qx "memscope-bpf $version (static build: debuginfod unavailable)" "$work/console.txt" ||
	fail "--version in the guest is not '$version (static build: debuginfod unavailable)'"
grep -q '^guest: shared objects: 0$' "$work/console.txt" || fail "the guest holds shared objects"
tr -d '\r' < "$work/report" > "$work/report.json"
"$checker" "$work/report.json" "$version" || fail "the report's numbers are wrong"
echo "static-vm-test: passed: $(stat -c %s "$bin") bytes, traced '$(basename "$prog")' in a bare 6.1 initramfs"
