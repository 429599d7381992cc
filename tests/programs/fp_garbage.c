/*
 * Frame pointers that lead to garbage: an allocation made with rbp pointing
 * at a fake frame on the stack, whose "return address" is not code.  A
 * frame-pointer walk must end there (truncated, "no_vma"), never show the
 * garbage as a frame.  Two kinds: text read as an address (the bytes
 * "ite3 :me", non-canonical) and an address in a mapping that is data.
 */
#include <stdint.h>
#include <stdlib.h>

static char data_not_code[64];

/* malloc(n) called with rbp = frame: [frame] the next rbp, [frame + 8] its "return address" */
__attribute__((noinline)) void *alloc_with_frame(size_t n, uint64_t *frame)
{
	void *p;

	/* below the red zone, rbp saved, the stack 16-byte aligned at the call */
	asm volatile("sub $128, %%rsp\n\t" /* @garbage_alloc */
		     "push %%rbp\n\t"
		     "sub $8, %%rsp\n\t"
		     "mov %2, %%rbp\n\t"
		     "call malloc@PLT\n\t"
		     "add $8, %%rsp\n\t"
		     "pop %%rbp\n\t"
		     "add $128, %%rsp\n\t"
		     : "=a"(p), "+D"(n)
		     : "b"(frame)
		     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc");
	return p;
}

int main(void)
{
	/* on the stack, above the call's stack pointer, as a real frame would be */
	uint64_t text[2] = { 0, 0x656d3a2033657469ull };
	uint64_t data[2] = { 0, (uint64_t)(uintptr_t)(data_not_code + 8) };
	void *volatile a = alloc_with_frame(111, text); /* @garbage_text */
	void *volatile b = alloc_with_frame(222, data); /* @garbage_data */

	(void)a;
	(void)b;
	return 0;
}
