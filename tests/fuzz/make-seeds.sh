#!/bin/sh
# Writes the fuzz targets' seed inputs into tests/fuzz/corpus/<target>/.
# The seeds are kept in git (`make fuzz` does not run this); rerun it to
# change them.  Regression seeds (regress-*: inputs that once found a bug)
# are never written here: they are kept as found.
set -eu
cd "$(dirname "$0")"
c=corpus
# bytes given in hex (POSIX printf has no \x): the format is the octal escape itself
# shellcheck disable=SC2059
hex() { for b in "$@"; do printf "\\$(printf %03o "0x$b")"; done; }
mkdir -p $c/options $c/maps $c/proc_stat $c/probe_site $c/alloc_syms $c/unwind_table \
	 $c/json_writer $c/capture

# command lines: arguments separated by NUL bytes
printf -- '-p\0001234\0-d\0002.5\0--json\0out.json' > $c/options/attach
printf -- '--sample-bytes\00064k\0--ringbuf-size\00016\0--interval\00010\0--\0./prog\0-x' \
	> $c/options/launch
printf -- '-vv\0--min-age\0000.5\0--top\00020\0--unwind\0dwarf\0--no-batch\0-o\0r.html\0ls' \
	> $c/options/flags
printf -- '--check' > $c/options/check
printf -- '-f\0-p\00012,34,56' > $c/options/follow
printf -- '--comm\0nginx\0-d\0003' > $c/options/comm
printf -- '--all\0--sample-bytes\00064k\0-d\0002' > $c/options/all
printf -- 'record\0-o\0t.msb\0--cgroup\0/sys/fs/cgroup/a.slice' > $c/options/cgroup
printf -- 'report\0t.msb\0--json\0a.json' > $c/options/report
printf -- 'record\0-o\0t.msb\0--\0prog' > $c/options/record

# /proc/PID/maps (made-up lines in the kernel's format)
cat > $c/maps/libc <<'END'
55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 1048602                    /usr/bin/prog
7f3a1c028000-7f3a1c1bd000 r-xp 00028000 fe:01 2621473                    /usr/lib/x86_64-linux-gnu/libc.so.6
7f3a1c200000-7f3a1c221000 rw-p 00000000 00:00 0                          [heap]
7ffd5e7f0000-7ffd5e7f2000 r-xp 00000000 00:00 0                          [vdso]
END
cat > $c/maps/odd <<'END'
7f0000000000-7f0000001000 r-xp 00001000 00:2d 12 /tmp/a dir/lib (deleted)
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
END

# /proc/PID/stat
printf '4242 (prog) S 1 4242 4242 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 1 0\n' > $c/proc_stat/user
printf '2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0\n' > $c/proc_stat/kthread
printf '77 (a) Z (b) R 1 77 77 0 -1 4194304 0 0\n' > $c/proc_stat/comm-with-parens

# function prologues (x86-64): glibc free's, frame-pointer, CET, stack adjust
hex 48 85 ff 74 40 55 48 89 e5 > $c/probe_site/free
hex f3 0f 1e fa 55 48 89 e5 48 83 ec 10 e8 00 00 00 00 > $c/probe_site/endbr-fp
hex 41 57 41 56 49 89 fe 53 48 8b 05 10 20 00 00 0f 1f 44 00 00 eb fe > $c/probe_site/pushes

# strings as the target may name things
printf 'plain' > $c/json_writer/plain
printf '"quoted" \\ back\nslash\t</script><!--&amp;' > $c/json_writer/html
# valid: é, U+2028, an emoji; not: ff fe, an overlong '/', a surrogate, past U+10FFFF
hex 63 61 66 c3 a9 20 e2 80 a8 20 f0 9f 98 80 20 ff fe 20 c0 af 20 ed a0 80 20 f4 90 80 80 \
	> $c/json_writer/utf8

# ELF objects: a tiny allocator library, small by construction (no libc, no
# page alignment, no build id), with .eh_frame_hdr or with .debug_frame only
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/lib.c" <<'END'
typedef unsigned long size_t;
static char pool[64];
void *malloc(size_t n) { return n ? pool : 0; }
void free(void *p) { if (p) pool[0] = 0; }
void *calloc(size_t n, size_t m) { return malloc(n * m); }
void *realloc(void *p, size_t n) { free(p); return malloc(n); }
void *_Znwm(size_t n) { return malloc(n); }
END
small="-shared -fPIC -nostdlib -O1 -Wl,--build-id=none -Wl,-z,max-page-size=0x10
	-Wl,-z,noseparate-code -Wl,-z,norelro -Wl,--hash-style=gnu"
# shellcheck disable=SC2086
{
	gcc $small -fno-omit-frame-pointer -fcf-protection -o "$tmp/fp.so" "$tmp/lib.c"
	gcc $small -s -o "$tmp/stripped.so" "$tmp/lib.c"
	gcc $small -fno-asynchronous-unwind-tables -fno-unwind-tables -g \
		-Wl,--no-eh-frame-hdr -o "$tmp/df.so" "$tmp/lib.c"
	# CFI naming register 100000000: refused before libdw (user/record/unwind_table.c)
	printf 'int f(int x) { __asm__ volatile(".cfi_undefined 100000000"); return x; }\n' \
		> "$tmp/absurd.c"
	gcc $small -s -o "$tmp/absurd.so" "$tmp/absurd.c"
}
objcopy -R .comment "$tmp/fp.so" $c/alloc_syms/symtab-fp.so
cp "$tmp/stripped.so" $c/alloc_syms/stripped.so
cp "$tmp/stripped.so" $c/unwind_table/eh-frame-hdr.so
objcopy --strip-all --keep-section=.debug_frame "$tmp/df.so" $c/unwind_table/debug-frame.so
cp "$tmp/absurd.so" $c/unwind_table/absurd-cfi-reg.so

# capture files (fuzz_capture.c: the first byte is the mode), written by the
# writer itself: alloc/free-like records in small blocks, a stack, a string
cat > "$tmp/cap.c" <<'END'
#include <stdio.h>
#include <string.h>
#include "capture.h"
int main(int argc, char **argv)
{
	struct capture_writer_opts o = { .sz = sizeof(o), .block_bytes = 128 };
	struct capture_writer *w = capture_writer__new(1, "0.1.0", 5, &o);
	struct cap_enc e = { 0 };
	for (int i = 0; w && i < 24; i++) {
		cap_enc__reset(&e);
		cap_enc__uv(&e, 1000 + i * 37);
		cap_enc__sv(&e, i % 3 ? 48 : -4096);
		cap_enc__uv(&e, 24 << (i % 5));
		if (i % 8 == 7)
			cap_enc__str(&e, i % 16 ? "worker" : NULL);
		capture_writer__add(w, 1 + i % 3, e.p, e.len);
		if (i % 10 == 9)
			capture_writer__flush(w);
	}
	if (argc > 1 && !strcmp(argv[1], "close"))
		capture_writer__close(w);
	else
		capture_writer__flush(w);
	capture_writer__free(w);
	cap_enc__free(&e);
	return !w;
}
END
gcc -O1 -I../../user/record -o "$tmp/cap" "$tmp/cap.c" ../../user/record/capture.c -lz
{ hex 00; "$tmp/cap" close; } > $c/capture/complete
{ hex 00; "$tmp/cap"; } > $c/capture/cut-short
{ hex 80; "$tmp/cap" close; } > $c/capture/via-file
{ hex 01; "$tmp/cap" close; } > $c/capture/sealed
# built blocks: kind, method, record count, length (u16), records
{ hex 02 00 00 02 06 00 01 02 41 42 03 00 01 00 00 00 00; } > $c/capture/built
# records for the writer: block size, then type, length, bytes (type 0 flushes)
{ hex 03 02 05 03 61 62 63 07 00 00 00 ff 04 7a 7a 7a 7a; } > $c/capture/round-trip
# decoder calls on: u8, uv, sv, bytes, str, strcpy
{ hex 04 0c 2a ac 02 01 03 78 79 7a 00 06 68 65 6c 6c 6f; } > $c/capture/codec

# replay: the records of real captures (made by `memscope-bpf record` of the
# test programs, kept in tests/fuzz/captures/), as fuzz_replay takes them:
# a byte (odd: cut short), then u8 type, u16 length, payload per record
mkdir -p $c/replay
for cap in captures/*.msb; do
	name=$(basename "$cap" .msb)
	python3 - "$cap" > $c/replay/$name <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
plen = struct.unpack_from('<I', d, 12)[0]
off = 24 + plen
out = bytearray([0])
while off + 32 <= len(d):
    kind = d[off + 8]
    clen, rlen = struct.unpack_from('<II', d, off + 12)
    raw = zlib.decompress(d[off + 32:off + 32 + clen], -15) if rlen else b''
    off += 32 + clen
    p = 0
    while p < len(raw):
        t = raw[p]; p += 1
        n = s = 0
        while True:
            b = raw[p]; p += 1
            n |= (b & 0x7f) << s; s += 7
            if not b & 0x80:
                break
        if n < 65536:
            out += struct.pack('<BH', t, n) + raw[p:p + n]
        p += n
sys.stdout.buffer.write(bytes(out))
PY
done
