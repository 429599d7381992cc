// SPDX-License-Identifier: MIT
#include <math.h>

#include "sample.h"
#include "util.h"

double sample__probability(uint64_t size, uint64_t sample_bytes)
{
	if (!sample_bytes)
		return 1.0;
	/* -expm1 keeps the precision of 1 - exp(-x) for small x */
	return -expm1(-(double)size / (double)sample_bytes);
}

void sample__weigh(uint64_t sample_bytes, uint64_t size, uint64_t ptr, uint64_t ts_ns,
		   struct sample_weight *w)
{
	double p = sample__probability(size, sample_bytes), inv, whole, u;

	if (!sample_bytes || p >= 1.0) {
		w->count = 1;
		w->bytes = size;
		return;
	}
	if (p <= 0) {
		/* a 0-byte block is never sampled; stay finite if one comes */
		w->count = 1;
		w->bytes = 0;
		return;
	}
	inv = 1.0 / p;
	whole = floor(inv);
	/* a uniform number in [0, 1) that is a function of the block */
	u = (double)(ms_hash64(ptr ^ ms_hash64(ts_ns)) >> 11) * 0x1p-53;
	w->count = (uint64_t)whole + (u < inv - whole);
	w->bytes = (uint64_t)llround((double)size * inv);
}

void sample__fill_gaps(uint64_t sample_bytes, uint64_t *gaps, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		/* the quantile at (k + 0.5) / n: -ln(1 - q) * mean */
		double q = ((double)k + 0.5) / (double)n;

		gaps[k] = (uint64_t)(-log1p(-q) * (double)sample_bytes);
	}
}
