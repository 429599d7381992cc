#!/bin/sh
# Runs one command under another kernel: a Debian kernel package booted in
# QEMU with software emulation (no KVM needed), with this machine's / shared
# read-only over 9p, so the guest runs the same binaries and libraries.
#
# Usage: kernel-vm.sh [--kernel SERIES|PACKAGE] [--timeout SECS] [--mem SIZE]
#                     [--rw] -- CMD [ARGS...]
#   --kernel   a series (6.1, 6.12: the newest generic amd64 package of it that
#              apt knows) or an exact package (linux-image-6.1.0-57-amd64);
#              default 6.1, Debian 12's own kernel
#   --timeout  limit for CMD in seconds (default 1200); the VM as a whole gets
#              a few minutes more for booting and powering off
#   --mem      guest memory (default 2G)
#   --rw       share / read-write (default read-only; the guest always has
#              its own tmpfs on /tmp and /run)
#   --fetch-only  fetch the kernel, print the folder it is kept in and exit
#              (scripts/static-vm-test.sh boots it with an initramfs of its own)
#
# CMD runs as root, chrooted into the shared /, in the current directory, with
# PATH, HOME, LANG, LC_ALL and CI passed on: use `env NAME=VALUE CMD` for more.
# Exits with CMD's status, or 125 with a one-line message when the kernel could
# not be fetched, the VM did not boot or it timed out.
#
# The kernel is fetched without installing it (apt-get download, dpkg-deb -x)
# and kept with its initramfs in $BUILD/kernels/PACKAGE/ (BUILD defaults to
# build); /boot is left alone.  Needs qemu-system-x86 and busybox-static.
set -eu

die() {
	echo "kernel-vm: $*" >&2
	exit 125
}

kernel=6.1
limit=1200
mem=2G
readonly_share=on
fetch_only=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || die "'--kernel' needs a value"; kernel=$2; shift 2 ;;
	--kernel=*) kernel=${1#*=}; shift ;;
	--timeout) [ $# -ge 2 ] || die "'--timeout' needs a value"; limit=$2; shift 2 ;;
	--timeout=*) limit=${1#*=}; shift ;;
	--mem) [ $# -ge 2 ] || die "'--mem' needs a value"; mem=$2; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--rw) readonly_share=off; shift ;;
	--fetch-only) fetch_only=1; shift ;;
	--) shift; break ;;
	*) die "unknown argument '$1' (usage: kernel-vm.sh [--kernel K] [--timeout S] -- CMD...)" ;;
	esac
done
[ $# -gt 0 ] || [ -n "$fetch_only" ] || die "no command given (usage: kernel-vm.sh [--kernel K] -- CMD...)"
case $limit in
'' | *[!0-9]*) die "'--timeout $limit' is not a number of seconds" ;;
esac
for tool in qemu-system-x86_64 busybox apt-get dpkg-deb objcopy xz flock; do
	command -v "$tool" > /dev/null || die "'$tool' not found (run 'make test-deps')"
done
busybox_bin=$(command -v busybox)
# a dynamically linked busybox cannot run in the initramfs
if ! file_type=$(LC_ALL=C readelf -d "$busybox_bin" 2>&1) ||
	printf '%s' "$file_type" | grep -q NEEDED; then
	die "'$busybox_bin' is not statically linked (install busybox-static)"
fi

start=$(date +%s)
build=$(realpath -m "${BUILD:-build}")
scratch='' run='' qpid=''
# must not fail: under set -e a failure here would replace the exit status
# shellcheck disable=SC2317 # (run by the trap)
cleanup() {
	if [ -n "$qpid" ]; then kill "$qpid" 2> /dev/null || true; fi
	if [ -n "$scratch" ]; then rm -rf "$scratch"; fi
	if [ -n "$run" ]; then rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The newest generic amd64 image of a series that apt knows; signed and
# unsigned builds are the same kernel.  Not cloud (no 9p), not rt.
newest_of_series() {
	series_re=$(printf '%s' "$1" | sed 's/\./\\./g')
	apt-cache pkgnames linux-image- 2> /dev/null |
		grep -E "^linux-image-$series_re\.[0-9][0-9a-z.+~-]*-amd64(-unsigned)?\$" |
		grep -vE -- '-(cloud|rt)-amd64' | sort -V | tail -n 1
}

case $kernel in
linux-image-*) pkg=$kernel ;;
*[!0-9.]* | '') die "'--kernel $kernel' is neither a series like 6.1 nor a linux-image-* package" ;;
*)
	pkg=$(newest_of_series "$kernel")
	if [ -z "$pkg" ]; then
		echo "kernel-vm: apt knows no $kernel kernel; running apt-get update" >&2
		apt-get update -qq || die "apt-get update failed"
		pkg=$(newest_of_series "$kernel")
	fi
	[ -n "$pkg" ] || die "no generic amd64 package of kernel $kernel in apt's lists"
	;;
esac
cache=$build/kernels/$pkg

# Modules the guest needs for a 9p root over virtio-pci; their dependencies
# are found from each module's own .modinfo (a package has no modules.dep).
WANTED_MODULES="virtio_pci 9pnet_virtio 9p"

# fetch_kernel: apt-get download + dpkg-deb -x into a scratch folder, then
# keep only vmlinuz, config and the needed modules (decompressed: busybox
# insmod reads plain .ko files), listed in load order in modules/order.
fetch_kernel() {
	scratch=$cache.tmp
	rm -rf "$scratch" "$cache"
	mkdir -p "$scratch/deb" "$scratch/modules"
	echo "kernel-vm: fetching $pkg" >&2
	if ! (cd "$scratch/deb" && apt-get download -q -o APT::Sandbox::User=root "$pkg" > /dev/null); then
		# stale lists name a version the mirror no longer has
		apt-get update -qq || die "apt-get update failed"
		(cd "$scratch/deb" && apt-get download -q -o APT::Sandbox::User=root "$pkg" > /dev/null) ||
			die "cannot download '$pkg'"
	fi
	dpkg-deb -x "$scratch"/deb/*.deb "$scratch/x" || die "cannot unpack '$pkg'"
	vmlinuz=$(ls "$scratch"/x/boot/vmlinuz-* 2> /dev/null | head -n 1)
	[ -n "$vmlinuz" ] || die "'$pkg' has no /boot/vmlinuz-*"
	moddir=$(ls -d "$scratch"/x/lib/modules/* "$scratch"/x/usr/lib/modules/* 2> /dev/null | head -n 1)
	[ -n "$moddir" ] || die "'$pkg' has no modules folder"
	# module name (dashes read as underscores, as the kernel does) -> file
	find "$moddir/kernel" -name '*.ko*' | while read -r f; do
		n=$(basename "$f")
		n=${n%%.ko*}
		printf '%s %s\n' "$(printf '%s' "$n" | tr - _)" "$f"
	done > "$scratch/index"
	: > "$scratch/modules/order"
	for m in $WANTED_MODULES; do
		add_module "$m" ""
	done
	cp "$vmlinuz" "$scratch/vmlinuz"
	cp "$scratch"/x/boot/config-* "$scratch/config" 2> /dev/null || true
	basename "$moddir" > "$scratch/release"
	rm -rf "$scratch/x" "$scratch/deb" "$scratch/index"
	mv "$scratch" "$cache"
	scratch=
}

# add_module NAME CHAIN: NAME's dependencies first, then NAME, each once.
add_module() {
	grep -qx "$1" "$scratch/modules/order" && return 0
	case " $2 " in *" $1 "*) die "module dependency loop: $2 $1" ;; esac
	f=$(awk -v n="$1" '$1 == n { print $2; exit }' "$scratch/index")
	if [ -z "$f" ]; then
		# built into this kernel: nothing to load
		sed 's,.*/,,; s/\.ko$//' "$moddir/modules.builtin" 2> /dev/null | tr - _ |
			grep -qx "$1" && return 0
		die "'$pkg' has no module '$1' (is it the cloud flavour?)"
	fi
	case $f in
	*.ko) cp "$f" "$scratch/modules/$1.ko" ;;
	*.ko.xz) xz -dc "$f" > "$scratch/modules/$1.ko" ;;
	*.ko.zst) zstd -qdc "$f" > "$scratch/modules/$1.ko" ;;
	*.ko.gz) gzip -dc "$f" > "$scratch/modules/$1.ko" ;;
	*) die "cannot read module '$f'" ;;
	esac
	deps=$(objcopy -O binary --only-section=.modinfo "$scratch/modules/$1.ko" /dev/stdout |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr , ' ')
	for d in $deps; do
		add_module "$d" "$2 $1"
	done
	echo "$1" >> "$scratch/modules/order"
}

# The initramfs: busybox, the modules and /init; the command comes in a
# second archive appended per run (the kernel unpacks both).
make_base_initramfs() {
	root=$cache/initramfs.tmp
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/newroot"
	cp "$busybox_bin" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	cp -r "$cache/modules" "$root/modules"
	cat > "$root/init" << 'EOF'
#!/bin/sh
# kernel-vm.sh's guest side: mount the host's / over 9p, run /cmd.sh in it
export PATH=/bin
busybox mount -t devtmpfs dev /dev
exec < /dev/console > /dev/console 2>&1
busybox mount -t proc proc /proc
busybox mount -t sysfs sys /sys
fail() {
	echo "kernel-vm guest: $*"
	echo "KERNEL-VM-EXIT=boot-failed"
	busybox poweroff -f
}
for m in $(busybox cat /modules/order); do
	busybox insmod "/modules/$m.ko" || fail "cannot load module '$m'"
done
. /share.conf
busybox mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,cache=loose,$share_mode" \
	hostroot /newroot || fail "cannot mount the host's / over 9p"
busybox mount -t proc proc /newroot/proc || fail "cannot mount proc"
busybox mount -t sysfs sys /newroot/sys || fail "cannot mount sysfs"
busybox mount -t devtmpfs dev /newroot/dev || fail "cannot mount devtmpfs"
busybox mkdir -p /newroot/dev/pts /newroot/dev/shm
busybox mount -t devpts devpts /newroot/dev/pts
busybox mount -t tmpfs tmp /newroot/dev/shm
busybox mkdir -p /hosttmp
busybox mount --bind /newroot/tmp /hosttmp || fail "cannot bind the host's /tmp"
busybox mount -t tmpfs tmp /newroot/tmp || fail "cannot mount tmpfs on /tmp"
case "$workdir" in
/tmp/*)
	busybox mkdir -p "/newroot$workdir"
	busybox mount --bind "/hosttmp${workdir#/tmp}" "/newroot$workdir" ||
		fail "cannot bind '$workdir' from the host's /tmp"
	;;
esac
busybox mount -t tmpfs run /newroot/run || fail "cannot mount tmpfs on /run"
busybox mount -t bpf bpf /newroot/sys/fs/bpf 2> /dev/null
# cgroup v2, as a systemd host has it (--cgroup's tests make a cgroup there)
busybox mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2> /dev/null
busybox mount -t debugfs debugfs /newroot/sys/kernel/debug 2> /dev/null
busybox mount -t tracefs tracefs /newroot/sys/kernel/tracing 2> /dev/null
# loopback, for the tests' local servers (the kv service test)
busybox ip link set lo up 2> /dev/null
busybox cp /cmd.sh /newroot/tmp/kernel-vm-cmd.sh
echo "kernel-vm guest: kernel $(busybox uname -r), up $(busybox cut -d' ' -f1 /proc/uptime) s"
busybox chroot /newroot /bin/sh /tmp/kernel-vm-cmd.sh
echo "KERNEL-VM-EXIT=$?"
busybox sync
busybox poweroff -f
EOF
	chmod 755 "$root/init"
	(cd "$root" && find . | busybox cpio -o -H newc 2> /dev/null) > "$cache/initramfs-$init_stamp.cpio.tmp"
	mv "$cache/initramfs-$init_stamp.cpio.tmp" "$cache/initramfs-$init_stamp.cpio"
	rm -rf "$root"
}

# one fetch at a time (two runs may want the same kernel)
mkdir -p "$build/kernels"
exec 9> "$build/kernels/.lock"
flock 9 || die "cannot lock '$build/kernels/.lock'"
if [ ! -f "$cache/vmlinuz" ] || [ ! -f "$cache/modules/order" ]; then
	fetch_kernel
fi
if [ -n "$fetch_only" ]; then
	echo "$cache"
	exit 0
fi
# built again whenever this script (its /init) changes
init_stamp=$(sha256sum "$0" | cut -c1-12)
[ -f "$cache/initramfs-$init_stamp.cpio" ] || make_base_initramfs
flock -u 9

# shell-quotes each argument
quote() {
	for a in "$@"; do
		printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
	done
}

run=$(mktemp -d "${TMPDIR:-/tmp}/kernel-vm.XXXXXX")

mkdir "$run/root"
if [ "$readonly_share" = on ]; then
	echo 'share_mode=ro' > "$run/root/share.conf"
else
	echo 'share_mode=rw' > "$run/root/share.conf"
fi
# the guest's /tmp is its own: a working directory under it is bound in from the host's
printf 'workdir=%s\n' "$(quote "$PWD")" >> "$run/root/share.conf"
{
	echo '# written by kernel-vm.sh: runs in the guest, chrooted into the host /'
	for v in PATH HOME LANG LC_ALL CI; do
		if val=$(printenv "$v"); then
			printf 'export %s=%s\n' "$v" "$(quote "$val")"
		fi
	done
	printf 'cd %s || exit 125\n' "$(quote "$PWD")"
	printf 'limit=%s\n' "$limit"
	printf 'timeout -k 10 "$limit" %s\n' "$(quote "$@")"
	cat << 'EOF'
rc=$?
[ $rc -eq 124 ] && echo "kernel-vm guest: the command timed out after $limit s"
exit $rc
EOF
} > "$run/root/cmd.sh"
(cd "$run/root" && find . | busybox cpio -o -H newc 2> /dev/null) > "$run/cmd.cpio"
cat "$cache/initramfs-$init_stamp.cpio" "$run/cmd.cpio" > "$run/initrd"

# the VM: the command's time, plus booting and powering off under emulation
# (KERNEL_VM_BOOT_SECS, default 300).
# Two vCPUs, emulated by one host thread (KERNEL_VM_ACCEL, default
# tcg,thread=single).  With a thread per vCPU, Debian's 6.12.118 took an
# "Oops: int3" in syscall_exit_to_user_mode_prepare at its first run of the
# tracer under syscall load: the int3 that patching the sys_exit tracepoint's
# static key leaves for a moment was still executed by the other vCPU after
# the patch was done.  Multi-threaded TCG's code modification across vCPUs is
# not what the kernel's text_poke_bp protocol assumes of a CPU; a single
# thread runs the same two-CPU guest with exact code modification.  6.1 did
# not crash either way (docs/testing.md, "Kernels in QEMU").
vm_limit=$((limit + ${KERNEL_VM_BOOT_SECS:-300}))
log=$run/console.log
: > "$log"
echo "kernel-vm: booting $pkg ($(cat "$cache/release")) with software emulation" >&2
timeout -k 10 "$vm_limit" qemu-system-x86_64 \
	-accel "${KERNEL_VM_ACCEL:-tcg,thread=single}" -cpu max -smp 2 -m "$mem" \
	-display none -vga none -net none -no-reboot -monitor none -serial stdio \
	-kernel "$cache/vmlinuz" -initrd "$run/initrd" \
	-append 'console=ttyS0 quiet panic=-1 rdinit=/init' \
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=$readonly_share,multidevs=remap" \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	< /dev/null > "$log" 2>&1 &
qpid=$!
# live output, without the serial line's carriage returns
tail -n +1 -f --pid="$qpid" "$log" | tr -d '\r' &
tpid=$!
qrc=0
wait "$qpid" || qrc=$?
qpid=
wait "$tpid" || true

# The first oops, BUG or warning of a crashed guest, without its register
# dump: a panic's last lines (all a CI log's tail may show) name the crash
# that followed, not the one that started it.
first_kernel_error() {
	tr -d '\r' < "$log" | awk '
		!on && /(Oops|BUG|WARNING|general protection|Kernel panic)/ { on = 1 }
		on && /(RSP|RAX|RDX|RBP|R08|R10|R13|FS|CS|CR2|PKRU|DR0|DR3|DR6|Code|Modules linked in):/ { next }
		on { print "kernel-vm: first kernel error: " $0; if (++n == 20) exit }'
}

elapsed=$(($(date +%s) - start))
rc=$(tr -d '\r' < "$log" | sed -n 's/^KERNEL-VM-EXIT=//p' | tail -n 1)
case $rc in
'')
	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		die "$pkg: the VM timed out after ${vm_limit} s before the command finished"
	fi
	first_kernel_error
	die "$pkg: the VM stopped (qemu status $qrc) before the command finished; see the console above"
	;;
boot-failed) die "$pkg: the guest could not set up (see the console above)" ;;
esac
echo "kernel-vm: $pkg ($(cat "$cache/release")): command exited $rc after ${elapsed} s in all" >&2
exit "$rc"
