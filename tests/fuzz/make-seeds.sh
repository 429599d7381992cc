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
	 $c/json_writer

# command lines: arguments separated by NUL bytes
printf -- '-p\0001234\0-d\0002.5\0--json\0out.json' > $c/options/attach
printf -- '--sample-bytes\00064k\0--ringbuf-size\00016\0--interval\00010\0--\0./prog\0-x' \
	> $c/options/launch
printf -- '-vv\0--min-age\0000.5\0--top\00020\0--unwind\0dwarf\0--no-batch\0-o\0r.html\0ls' \
	> $c/options/flags
printf -- '--check' > $c/options/check

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
	# CFI naming register 100000000: refused before libdw (user/unwind_table.c)
	printf 'int f(int x) { __asm__ volatile(".cfi_undefined 100000000"); return x; }\n' \
		> "$tmp/absurd.c"
	gcc $small -s -o "$tmp/absurd.so" "$tmp/absurd.c"
}
objcopy -R .comment "$tmp/fp.so" $c/alloc_syms/symtab-fp.so
cp "$tmp/stripped.so" $c/alloc_syms/stripped.so
cp "$tmp/stripped.so" $c/unwind_table/eh-frame-hdr.so
objcopy --strip-all --keep-section=.debug_frame "$tmp/df.so" $c/unwind_table/debug-frame.so
cp "$tmp/absurd.so" $c/unwind_table/absurd-cfi-reg.so
