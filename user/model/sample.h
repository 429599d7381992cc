/* SPDX-License-Identifier: MIT */
/*
 * Sampling (--sample-bytes N), the arithmetic both sides rely on.
 *
 * BPF samples a block when a sample point of a Poisson process over the
 * bytes a thread allocates falls in it, the mean gap being N bytes (as
 * tcmalloc and jemalloc do): a block of s bytes is sampled with probability
 * p = 1 - exp(-s / N), so large blocks nearly always are and a 16-byte one
 * rarely.  A sampled block stands for 1/p blocks and s/p bytes.  Counters
 * are integers, so the count is rounded up or down at random with the
 * probabilities that keep it unbiased, the choice drawn from a hash of the
 * block's address and time: a block weighs the same when it is added and
 * when it goes, so live counters return to zero.
 */
#ifndef MS_SAMPLE_H
#define MS_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

struct sample_weight {
	uint64_t count; /* blocks this one stands for */
	uint64_t bytes; /* bytes it stands for */
};

/* The probability that a block of size bytes is sampled; 1 when N is 0. */
double sample__probability(uint64_t size, uint64_t sample_bytes);

/* What a sampled block stands for; {1, size} when sample_bytes is 0. */
void sample__weigh(uint64_t sample_bytes, uint64_t size, uint64_t ptr, uint64_t ts_ns,
		   struct sample_weight *w);

/* Fills gaps[0..n) with the midpoint quantiles of the exponential
 * distribution of mean sample_bytes, rounded down: BPF draws one at random
 * (n a power of two, MS_SAMPLE_GAPS). */
void sample__fill_gaps(uint64_t sample_bytes, uint64_t *gaps, size_t n);

#endif
