/* SPDX-License-Identifier: MIT */
/*
 * Records shared by the BPF programs (bpf/memscope.bpf.c) and the loader.
 *
 * Every ring-buffer record starts with a one-byte type tag; the loader's
 * handle_event() dispatches on it.  Only fixed-size types that both sides
 * have are used here.  BPF sends raw arguments; the loader decodes them
 * (user/record/events.c), where the rules can be unit-tested.
 */
#ifndef MEMSCOPE_EVENTS_H
#define MEMSCOPE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Deepest user stack a record carries; deeper stacks are cut and flagged. */
#define MS_MAX_FRAMES 64

/*
 * Allocator entry points.  The value is the probe's attach cookie, so one BPF
 * program serves all of them.  Kept distinct (not folded into families) so the
 * reports can say exactly which function was called.
 */
enum ms_fn {
	MS_FN_NONE = 0,
	/* C allocators */
	MS_FN_MALLOC,
	MS_FN_CALLOC,
	MS_FN_REALLOC,
	MS_FN_REALLOCARRAY,
	MS_FN_POSIX_MEMALIGN,
	MS_FN_ALIGNED_ALLOC,
	MS_FN_MEMALIGN,
	MS_FN_VALLOC,
	MS_FN_PVALLOC,
	/* C++ operator new */
	MS_FN_NEW,
	MS_FN_NEW_NOTHROW,
	MS_FN_NEW_ALIGNED,
	MS_FN_NEW_ALIGNED_NOTHROW,
	MS_FN_NEW_ARRAY,
	MS_FN_NEW_ARRAY_NOTHROW,
	MS_FN_NEW_ARRAY_ALIGNED,
	MS_FN_NEW_ARRAY_ALIGNED_NOTHROW,
	/* releases */
	MS_FN_FREE,
	MS_FN_DELETE,
	MS_FN_DELETE_SIZED,
	MS_FN_DELETE_NOTHROW,
	MS_FN_DELETE_ALIGNED,
	MS_FN_DELETE_SIZED_ALIGNED,
	MS_FN_DELETE_ALIGNED_NOTHROW,
	MS_FN_DELETE_ARRAY,
	MS_FN_DELETE_ARRAY_SIZED,
	MS_FN_DELETE_ARRAY_NOTHROW,
	MS_FN_DELETE_ARRAY_ALIGNED,
	MS_FN_DELETE_ARRAY_SIZED_ALIGNED,
	MS_FN_DELETE_ARRAY_ALIGNED_NOTHROW,
	/*
	 * Not an allocator: glibc's __call_tls_dtors, the first step of a
	 * thread's exit (and of exit()).  Its probe marks the thread as
	 * exiting; its releases are then MS_EVF_EXITING.
	 */
	MS_FN_THREAD_EXIT,
	MS_FN__COUNT,
};

#define MS_FN_IS_RELEASE(fn) ((fn) >= MS_FN_FREE && (fn) < MS_FN_THREAD_EXIT)
#define MS_FN_IS_ALLOC(fn) ((fn) >= MS_FN_MALLOC && (fn) < MS_FN_FREE)

/*
 * Release chains: libstdc++'s operators tail-jump to simpler ones with the
 * same pointer (delete[](void*, size_t) -> delete[](void*) -> delete(void*)
 * -> free).  A release is folded into the one that started the chain when
 * its level is lower (see bpf/memscope.bpf.c).  Levels: free 1; delete and
 * aligned delete 2; their other variants 3; delete[] and aligned delete[] 4;
 * their other variants 5.
 */
#define MS_FN_RELEASE_LEVEL(fn)                                                \
	((fn) == MS_FN_FREE ? 1 :                                              \
	 (fn) == MS_FN_DELETE || (fn) == MS_FN_DELETE_ALIGNED ? 2 :            \
	 (fn) < MS_FN_DELETE_ARRAY ? 3 :                                       \
	 (fn) == MS_FN_DELETE_ARRAY || (fn) == MS_FN_DELETE_ARRAY_ALIGNED ? 4 : 5)

enum ms_event_type {
	MS_EV_ALLOC = 1,
	MS_EV_FREE = 2,
	MS_EV_STACK = 3,
	MS_EV_THREAD = 4,
	MS_EV_ANNOT = 5,
	MS_EV_BATCH = 6,
	MS_EV_MAP = 7,
	MS_EV_PROC = 8,
	MS_EV_SLACK = 9,
};

/* ms_ev_alloc.flags / ms_ev_free.flags */
enum ms_ev_flags {
	MS_EVF_STACK_LOST = 1 << 0, /* a stack was wanted but could not be sent */
	/*
	 * Sampling (--sample-bytes): the block returned is not sampled, so it
	 * is not tracked; the record is sent only because the realloc released
	 * a sampled old block (args[0]).
	 */
	MS_EVF_UNTRACKED = 1 << 1,
	/*
	 * A release by a thread that is exiting (past __call_tls_dtors): what
	 * tells glibc's flush of the thread's cache at its exit from double
	 * frees when libc has no symbols (docs/findings.md).
	 */
	MS_EVF_EXITING = 1 << 2,
	/*
	 * Sampling: the released block is the releasing thread's last
	 * allocation, sampled or not (BPF sees every call, the loader only the
	 * sampled ones): the release ends a temporary allocation.
	 */
	MS_EVF_LAST_ALLOC = 1 << 3,
};

/*
 * Sampling: BPF draws the gap in bytes to the next sample point from a table
 * of MS_SAMPLE_GAPS quantiles of the exponential distribution with mean
 * sample_bytes, which the loader fills (user/model/sample.c).
 */
#define MS_SAMPLE_GAPS 4096

/*
 * An allocation call returned.  args are the first three integer arguments
 * as they were at entry; ret is the return value, except for posix_memalign,
 * where it is the pointer stored through its first argument (0 when the call
 * failed).  user/record/events.c turns this into pointer, size, old pointer and
 * alignment.  Under sampling, a realloc's args[0] is 0 when the old block
 * was not sampled (its release is not the loader's business).
 */
struct ms_ev_alloc {
	__u8 type; /* MS_EV_ALLOC */
	__u8 fn;   /* enum ms_fn */
	__u16 flags;
	__u32 tid;
	__u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 ret;
	__u64 args[3];
	__u64 caller; /* return address into the caller */
	__u64 stack;  /* stack hash (see ms_ev_stack), 0 when none */
};

/* A block given back.  ptr is never 0: free(NULL) is dropped in BPF. */
struct ms_ev_free {
	__u8 type; /* MS_EV_FREE */
	__u8 fn;   /* enum ms_fn */
	__u16 flags;
	__u32 tid;
	__u64 ts_ns;
	__u64 ptr;
	__u64 caller; /* return address into the caller */
	__u64 stack;  /* stack hash, 0 when free stacks are off */
};

/*
 * An address-space call of the target that returned successfully: mmap of
 * anonymous memory, munmap, mremap, brk (taken at the system call's exit,
 * where the registers still hold its arguments).  Raw: the loader rounds
 * lengths to pages (user/record/events.c).
 *   MS_MAP_MMAP    addr: the mapping, len: its length, prot and mflags as given
 *   MS_MAP_MUNMAP  addr, len as given
 *   MS_MAP_MREMAP  old_addr, old_len -> addr (the result), len; mflags: MREMAP_*
 *   MS_MAP_BRK     addr: the heap's start (mm->start_brk), len: its size now
 */
enum ms_map_op {
	MS_MAP_MMAP = 1,
	MS_MAP_MUNMAP = 2,
	MS_MAP_MREMAP = 3,
	MS_MAP_BRK = 4,
};

/* ms_ev_map.flags */
enum ms_map_flags {
	/* made by the allocator: during one of the thread's allocation calls */
	MS_MAPF_ALLOCATOR = 1 << 0,
	MS_MAPF_STACK_LOST = 1 << 1, /* a stack was wanted but could not be sent */
};

struct ms_ev_map {
	__u8 type; /* MS_EV_MAP */
	__u8 op;   /* enum ms_map_op */
	__u16 flags;
	__u32 tid;
	__u64 ts_ns;
	__u64 addr;
	__u64 len;
	__u64 old_addr;
	__u64 old_len;
	__u32 prot;
	__u32 mflags;
	__u64 stack; /* stack hash, 0 when none (the allocator's, or no stacks) */
};

/*
 * Batching: each thread queues its allocation and release records in its
 * own state in BPF (a ring of MS_BATCH slots) and sends them MS_BATCH at a
 * time in one MS_EV_BATCH record, which costs a thread much less than a
 * ring-buffer record per call.  A thread's queue is also sent when it
 * exits, before it sends an annotation, and whenever the loader sweeps all
 * threads (every drain).  Records of one thread arrive in order; the loader
 * merges threads by ts_ns (user/record/events.c).
 */
#define MS_BATCH 32

/*
 * --check-overflow: the end of a block's usable area as glibc's chunk
 * header gives it, read at the block's allocation (after its MS_EV_ALLOC)
 * and at its release (before its MS_EV_FREE; for realloc at its entry).
 * The header is the 8 bytes before the block: the chunk's size with flags
 * in its 3 low bits, bit 1 set for a chunk of its own mmap().  The usable
 * size (malloc_usable_size()) is the size less 8, or less 16 for an
 * mmapped chunk.  bytes holds the last len bytes of the usable area
 * (len < MS_SLACK_WINDOW only when usable is smaller); the loader compares
 * those past the requested size.  usable 0: the header could not be read
 * or makes no sense; len 0: the bytes could not be read.
 */
#define MS_SLACK_WINDOW 32
/* the canary way's byte, written over the slack (bpf/memscope.bpf.c write_canary()) */
#define MS_CANARY 0x5c

enum ms_slack_kind {
	MS_SLACK_ALLOC = 1,   /* as the block was handed out */
	MS_SLACK_RELEASE = 2, /* as the program gives it back */
	MS_SLACK_FINAL = 3,   /* live at the end: read by the loader (not BPF) */
};

struct ms_ev_slack {
	__u8 type; /* MS_EV_SLACK */
	__u8 kind; /* enum ms_slack_kind */
	__u16 len;
	__u32 tid;
	__u64 ts_ns;
	__u64 ptr;
	__u64 usable;
	__u8 bytes[MS_SLACK_WINDOW];
};

union ms_batch_slot {
	__u8 type; /* MS_EV_ALLOC, MS_EV_FREE or MS_EV_SLACK */
	struct ms_ev_alloc a;
	struct ms_ev_free f;
	struct ms_ev_slack s;
	struct ms_ev_map m;
};

/* Always sent whole; only the first n slots hold records. */
struct ms_ev_batch {
	__u8 type; /* MS_EV_BATCH */
	__u8 pad;
	__u16 n;
	__u32 tid;
	union ms_batch_slot slots[MS_BATCH];
};

/*
 * A user stack seen for the first time (by this BPF object; the loader
 * deduplicates again, so repeats are harmless).  Frames are return addresses,
 * innermost first: symbolize them at ip - 1.  Only MS_EV_STACK_HDR +
 * 8 * nframes bytes are sent.
 */
struct ms_ev_stack {
	__u8 type; /* MS_EV_STACK */
	__u8 truncated; /* enum ms_stack_end: why the walk stopped early, 0 when it did not */
	__u16 nframes;
	__u32 flags;    /* enum ms_stack_flags */
	__u64 hash;
	__u64 ips[MS_MAX_FRAMES];
};

/*
 * Why a stack ends before its outermost frame (ms_ev_stack.truncated).  A
 * stack that reached a return address of 0, an undefined return address
 * (the CFI of _start and thread entry points) or the end of a frame-pointer
 * chain is complete.
 */
enum ms_stack_end {
	MS_STK_COMPLETE = 0,
	MS_STK_DEPTH = 1,       /* MS_MAX_FRAMES frames taken */
	MS_STK_NO_TABLE = 2,    /* --unwind=dwarf: an object (or a pc) without CFI rows */
	MS_STK_UNSUPPORTED = 3, /* a CFI rule the BPF unwinder cannot follow (DWARF expression) */
	MS_STK_READ = 4,        /* the stack could not be read, or went the wrong way */
	MS_STK_NO_VMA = 5,      /* a pc in no mapping (garbage, or code unmapped meanwhile) */
	MS_STK__COUNT,
};

enum ms_stack_flags {
	MS_STKF_FP = 1 << 0,      /* a frame came from the frame-pointer chain */
	MS_STKF_UNKNOWN = 1 << 1, /* a pc in a file the loader has not given rows for yet */
	MS_STKF_VMA_BUSY = 1 << 2, /* a mapping could not be looked up (the address space was
				      locked): a frame-pointer step there */
};

/*
 * Unwinding by the objects' CFI (.eh_frame): the loader turns each mapped
 * object's CFI into rows sorted by pc (user/record/unwind_table.c), all objects'
 * rows in one array map, and an object's place in it in a hash map keyed by
 * the file's (dev, inode).  A row holds from its pc to the next row's.  The
 * pc is the file offset of the instruction (what BPF gets from the mapping:
 * pc - vm_start + vm_pgoff * page size), not the ELF address.  On x86-64
 * the return address is always at CFA - 8; rows where it is not are
 * MS_UW_UNSUPPORTED.
 */
enum ms_unwind_rule {
	MS_UW_NONE = 0,        /* no CFI covers this pc */
	MS_UW_CFA_RSP = 1,     /* CFA = rsp + cfa_off */
	MS_UW_CFA_RBP = 2,     /* CFA = rbp + cfa_off */
	MS_UW_UNSUPPORTED = 3, /* a DWARF expression, another register, a signal frame */
	MS_UW_OUTERMOST = 4,   /* return address undefined: the outermost frame */
};

enum ms_unwind_rbp {
	MS_UW_RBP_SAME = 0,   /* the caller's rbp is this frame's */
	MS_UW_RBP_AT_CFA = 1, /* saved at CFA + rbp_off */
};

struct ms_unwind_row {
	__u32 pc;
	__s32 cfa_off;
	__s16 rbp_off;
	__u8 rule;     /* enum ms_unwind_rule */
	__u8 rbp_rule; /* enum ms_unwind_rbp */
	__u32 pad;     /* an array map rounds values to 8 bytes: the mmap'ed layout */
};

struct ms_unwind_key {
	__u64 dev; /* the kernel's encoding: major << 20 | minor */
	__u64 ino;
};

/*
 * One file mapping of a process as BPF keys its file (the vma_keys
 * iterator's records): the loader takes its objects' keys from these, not
 * from /proc/PID/maps or stat(), which on overlayfs show another inode.
 */
struct ms_vma_key {
	__u64 start, end;
	struct ms_unwind_key key;
	__u32 tgid; /* a kernel before 6.1 ignores the iterator's pid: all processes come */
	__u32 pad;
};

/* count 0: the object was looked at and has no CFI */
struct ms_unwind_obj {
	__u32 first;
	__u32 count;
};

/* --unwind */
enum ms_unwind_mode {
	MS_UNWIND_AUTO = 0,  /* CFI where an object has it, frame pointers elsewhere */
	MS_UNWIND_FP = 1,    /* frame pointers only (the old walk) */
	MS_UNWIND_DWARF = 2, /* CFI only: an object without it ends the stack */
};

#define MS_EV_STACK_HDR 16

/* A thread's first probe hit: its name then (threads may rename later). */
struct ms_ev_thread {
	__u8 type; /* MS_EV_THREAD */
	__u8 pad[3];
	__u32 tid;
	char comm[16];
	__u32 tgid; /* its process: -f traces several */
	__u32 pad2;
};

enum ms_proc_event {
	MS_PROCEV_FORK = 1, /* -f: a traced process forked pid (its parent ppid) */
	MS_PROCEV_EXIT = 2, /* -f: the last thread of traced process pid exited (status) */
	MS_PROCEV_EXEC = 3, /* -f: traced process pid (not the target) execed: comm its new name */
	/* --all: process pid execed (traced: status 1): the loader probes the new image, the
	 * model closes the old one out */
	MS_PROCEV_IMAGE = 4,
};

/*
 * -f/--follow: a process joins or leaves the traced set.  Sent at once (not
 * batched): the loader knows a process before any call of its threads.
 */
struct ms_ev_proc {
	__u8 type; /* MS_EV_PROC */
	__u8 kind; /* enum ms_proc_event */
	__u16 pad;
	__u32 pid;
	__u32 ppid;
	__s32 status; /* EXIT: waitpid()'s form */
	__u64 ts_ns;
	char comm[16];
};

/* processes -f traces at once, the target included */
#define MS_MAX_PROCS 1024
/* processes --all traces at once (the procs map is made this large then) */
#define MS_MAX_PROCS_ALL 32768

enum ms_annot_kind {
	MS_ANNOT_TRACK = 1,
	MS_ANNOT_SCOPE_BEGIN = 2,
	MS_ANNOT_SCOPE_END = 3,
};

#define MS_ANNOT_NAME_MAX 64
#define MS_ANNOT_TYPE_MAX 32
#define MS_ANNOT_FILE_MAX 128

/*
 * An annotation from include/memscope.h.  Strings are read with
 * bpf_probe_read_user_str(): NUL-terminated and cut to their field.  That
 * read cannot fault pages in, and a string literal's page is often not
 * resident yet: then the field is empty and the loader reads the string
 * itself from its address (*_addr) while the target's memory exists.  The stack's innermost frame is the annotation
 * site + 1, so that it symbolizes (at ip - 1) to the annotation's line.
 */
struct ms_ev_annot {
	__u8 type; /* MS_EV_ANNOT */
	__u8 kind; /* enum ms_annot_kind */
	__u16 flags;
	__u32 tid;
	__u64 ts_ns;
	__u64 ptr;   /* track: the pointer named */
	__u64 stack; /* track: where the annotation is */
	__s32 line;  /* track: __LINE__ */
	__u32 pad;
	__u64 name_addr;
	__u64 tname_addr;
	__u64 file_addr;
	char name[MS_ANNOT_NAME_MAX];  /* track: variable; scope_begin: scope */
	char tname[MS_ANNOT_TYPE_MAX]; /* track: type name, "" when none */
	char file[MS_ANNOT_FILE_MAX];  /* track: __FILE__ */
};

/* Counters kept in a per-CPU array, summed by the loader. */
enum ms_stat {
	MS_STAT_LOST_EVENTS,  /* ring buffer full: an alloc/free record dropped */
	MS_STAT_LOST_STACKS,  /* ring buffer full: a stack record dropped */
	MS_STAT_STACK_ERRORS, /* no stack could be taken (no per-CPU scratch) */
	MS_STAT_STATE_ERRORS, /* per-thread state could not be had */
	MS_STAT_SAMPLE_FULL,  /* sampling: a sampled block not tracked, map full */
	MS_STAT_UNWIND_UNKNOWN, /* a frame in a file the loader has given no rows for yet */
	/* processes the target started that share its address space (vfork,
	 * clone(CLONE_VM) without CLONE_THREAD): not traced */
	MS_STAT_VM_CHILDREN,
	/* processes the target forked with an address space of their own: not traced */
	MS_STAT_CHILDREN,
	/* execs of the target, a launched one's own included (counted with the above) */
	MS_STAT_EXECS,
	MS_STAT__COUNT,
};

#endif /* MEMSCOPE_EVENTS_H */
