/*
 * The bundled demo for `make demo`: a tiny "request handler" with the kinds
 * of bugs memscope-bpf is for.  It serves 200 requests; every request
 * allocates and frees a buffer, every 10th caches a session that is never
 * evicted, and requests that fail validation leak their parsed header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct header {
	char *name;
	char *value;
};

struct session {
	int id;
	char token[48];
	struct session *next;
};

static struct session *cache;

__attribute__((noinline)) static struct header *parse_header(int req)
{
	struct header *h = malloc(sizeof(*h));
	char buf[64];

	snprintf(buf, sizeof(buf), "X-Request-%d", req);
	h->name = strdup(buf);
	h->value = calloc(1, 32);
	return h;
}

__attribute__((noinline)) static void free_header(struct header *h)
{
	free(h->name);
	free(h->value);
	free(h);
}

__attribute__((noinline)) static void cache_session(int req)
{
	struct session *s = malloc(sizeof(*s));

	s->id = req;
	snprintf(s->token, sizeof(s->token), "token-%d", req);
	s->next = cache;
	cache = s;
}

__attribute__((noinline)) static int handle_request(int req)
{
	char *body = malloc(1024);
	struct header *h = parse_header(req);

	memset(body, 'x', 1024);
	if (req % 10 == 0)
		cache_session(req);
	if (req % 25 == 7) {
		free(body);
		return -1; /* bug: the header leaks on this error path */
	}
	body = realloc(body, 4096);
	free(body);
	free_header(h);
	return 0;
}

int main(void)
{
	int failed = 0;

	for (int req = 0; req < 200; req++)
		failed += handle_request(req) != 0;
	printf("demo: served 200 requests, %d failed\n", failed);
	return 0;
}
