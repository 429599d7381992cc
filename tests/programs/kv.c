/*
 * A small key-value server, for the reachability scan of a running service
 * (-p): "ready PID PORT" on stdout once it listens on 127.0.0.1 (a port the
 * kernel chose), then one client at a time, a command a line:
 *   SET KEY VALUE  stores a copy of VALUE under KEY ("OK");
 *   GET KEY        the value ("NIL" when none);
 *   QUIT           closes the connection.
 * Values live in a hash table of chained entries: each stored key is three
 * blocks (the entry, 32 bytes; the key; the value), all reachable from the
 * bucket array, which is allocated before it says "ready" (before any
 * tracer attaches).  The planted leak: SET of a key already stored drops
 * the old value without freeing it (@planted_leak).  After each connection
 * it wipes the stack below it, so no stale copy of a dropped value's
 * address is left there for a conservative scan to find.
 * No stdio: its buffers would be blocks of their own.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUCKETS 1024
#define LINE_MAX_LEN 4096

struct entry {
	struct entry *next;
	char *key;
	char *value;
	size_t vlen;
};

static struct entry **buckets;
static char inbuf[LINE_MAX_LEN * 2];

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

__attribute__((noinline)) char *copy_value(const char *v, size_t len)
{
	char *p = malloc(len + 1); /* @copy_value */

	memcpy(p, v, len + 1);
	return p;
}

__attribute__((noinline)) char *copy_key(const char *k)
{
	size_t len = strlen(k);
	char *p = malloc(len + 1); /* @copy_key */

	memcpy(p, k, len + 1);
	return p;
}

__attribute__((noinline)) struct entry *new_entry(void)
{
	return malloc(sizeof(struct entry)); /* @new_entry */
}

static struct entry *find(const char *key)
{
	for (struct entry *e = buckets[hash(key) % BUCKETS]; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	return NULL;
}

__attribute__((noinline)) void set(const char *key, const char *value)
{
	struct entry *e = find(key);
	size_t len = strlen(value);

	if (e) {
		/* the planted leak: the old value is dropped, not freed */
		e->value = copy_value(value, len); /* @planted_leak */
		e->vlen = len;
		return;
	}
	e = new_entry();
	e->key = copy_key(key);
	e->value = copy_value(value, len);
	e->vlen = len;
	e->next = buckets[hash(key) % BUCKETS];
	buckets[hash(key) % BUCKETS] = e;
}

static int reply(int fd, const char *s, size_t len)
{
	return write(fd, s, len) == (ssize_t)len && write(fd, "\n", 1) == 1 ? 0 : -1;
}

/* One command line (its newline cut); -1 to close the connection. */
static int command(int fd, char *line)
{
	char *key, *value;
	struct entry *e;

	if (!strncmp(line, "SET ", 4)) {
		key = line + 4;
		value = strchr(key, ' ');
		if (!value)
			return reply(fd, "ERR", 3);
		*value++ = 0;
		set(key, value);
		return reply(fd, "OK", 2);
	}
	if (!strncmp(line, "GET ", 4)) {
		e = find(line + 4);
		return e ? reply(fd, e->value, e->vlen) : reply(fd, "NIL", 3);
	}
	if (!strcmp(line, "QUIT"))
		return -1;
	return reply(fd, "ERR", 3);
}

__attribute__((noinline)) void serve(int fd)
{
	size_t have = 0;

	for (;;) {
		char *nl;
		ssize_t n;

		while ((nl = memchr(inbuf, '\n', have))) {
			*nl = 0;
			if (command(fd, inbuf) < 0)
				return;
			have -= (size_t)(nl + 1 - inbuf);
			memmove(inbuf, nl + 1, have);
		}
		if (have == sizeof(inbuf))
			return; /* a line too long */
		n = read(fd, inbuf + have, sizeof(inbuf) - have);
		if (n <= 0)
			return;
		have += (size_t)n;
	}
}

/* Zeroes the stack where serve() and what it called ran. */
__attribute__((noinline)) void wipe_stack(void)
{
	volatile char pad[64 * 1024];

	memset((char *)pad, 0, sizeof(pad));
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char line[64];
	int ls, one = 1, n;

	buckets = calloc(BUCKETS, sizeof(*buckets));
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (!buckets || ls < 0)
		return 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 8) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &alen) < 0)
		return 1;
	n = snprintf(line, sizeof(line), "ready %d %d\n", (int)getpid(), ntohs(a.sin_port));
	if (write(1, line, (size_t)n) != n)
		return 1;
	for (;;) {
		int fd = accept(ls, NULL, NULL);

		if (fd < 0)
			continue;
		serve(fd);
		close(fd);
		wipe_stack();
	}
}
