/* SPDX-License-Identifier: MIT */
/*
 * One object's call-frame information (.eh_frame, found through
 * .eh_frame_hdr; .debug_frame in an object without them) as the compact
 * rows the BPF unwinder reads (struct
 * ms_unwind_row, include/memscope_events.h): sorted by file offset, adjacent
 * rows with the same rules merged, a MS_UW_NONE row wherever no FDE covers
 * the code.  Built with libdw (dwarf_cfi_addrframe over each FDE's rows).
 *
 * The rows are owned by the caller (free()).  Errors are negative errno:
 * -ENOENT when the object has neither .eh_frame_hdr nor .debug_frame, -ENOTSUP
 * for a table encoding other than the one every linker writes, -EINVAL for
 * a file that is not ELF or is malformed.
 */
#ifndef MS_UNWIND_TABLE_H
#define MS_UNWIND_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "memscope_events.h"

int unwind_table__build(int fd, struct ms_unwind_row **rows, size_t *n);

/* The row that holds at file offset off, or NULL when off is before the first. */
const struct ms_unwind_row *unwind_table__lookup(const struct ms_unwind_row *rows, size_t n,
						 uint32_t off);

#endif
