/*
 * connguard.c — the connection limit and the per-connection deadlines of
 * connguard.h: an atomic count of places, and a list of connections under
 * one mutex that a sweeper walks a few times a second.
 */
#include <stdatomic.h>
#include <sys/socket.h>

#include "connguard.h"
#include "util.h"

struct ss_connguard_conn {
	int fd;
	_Atomic int64_t deadline_us;
	struct ss_connguard_conn *prev, *next;
};

struct ss_connguard {
	size_t max;
	atomic_size_t count;
	pthread_mutex_t mu;
	struct ss_connguard_conn *head;
	_Atomic int64_t last_report_us;
};

struct ss_connguard *ss_connguard_new(size_t max)
{
	struct ss_connguard *g = ss_xcalloc(1, sizeof(*g));

	g->max = max ? max : 1;
	atomic_init(&g->count, 0);
	pthread_mutex_init(&g->mu, NULL);
	return g;
}

void ss_connguard_free(struct ss_connguard *g)
{
	struct ss_connguard_conn *c, *n;

	if (!g)
		return;
	for (c = g->head; c; c = n) {
		n = c->next;
		free(c);
	}
	pthread_mutex_destroy(&g->mu);
	free(g);
}

int ss_connguard_reserve(struct ss_connguard *g)
{
	/* Taken first and given back when over: two threads accepting at
	 * once cannot both see the last place free. */
	if (atomic_fetch_add(&g->count, 1) >= g->max) {
		atomic_fetch_sub(&g->count, 1);
		return 0;
	}
	return 1;
}

void ss_connguard_release(struct ss_connguard *g)
{
	atomic_fetch_sub(&g->count, 1);
}

struct ss_connguard_conn *ss_connguard_add(struct ss_connguard *g, int fd,
					   int64_t deadline_us)
{
	struct ss_connguard_conn *c = ss_xcalloc(1, sizeof(*c));

	c->fd = fd;
	atomic_init(&c->deadline_us, deadline_us);
	pthread_mutex_lock(&g->mu);
	c->next = g->head;
	if (g->head)
		g->head->prev = c;
	g->head = c;
	pthread_mutex_unlock(&g->mu);
	return c;
}

void ss_connguard_set_deadline(struct ss_connguard_conn *c, int64_t deadline_us)
{
	if (c)
		atomic_store(&c->deadline_us, deadline_us);
}

void ss_connguard_remove(struct ss_connguard *g, struct ss_connguard_conn *c)
{
	if (!c)
		return;
	/* Under the mutex: once this returns, no sweep can still hold the
	 * descriptor, which the caller is about to close (and the kernel
	 * to give to another connection). */
	pthread_mutex_lock(&g->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&g->mu);
	free(c);
	ss_connguard_release(g);
}

size_t ss_connguard_sweep(struct ss_connguard *g, int64_t now_us)
{
	struct ss_connguard_conn *c;
	size_t n = 0;
	int64_t d;

	pthread_mutex_lock(&g->mu);
	for (c = g->head; c; c = c->next) {
		d = atomic_load(&c->deadline_us);
		if (d == 0 || d > now_us)
			continue;
		/* Cleared only if unchanged: a deadline the owner has just
		 * set again stands. */
		if (!atomic_compare_exchange_strong(&c->deadline_us, &d, 0))
			continue;
		shutdown(c->fd, SHUT_RDWR);
		n++;
	}
	pthread_mutex_unlock(&g->mu);
	return n;
}

size_t ss_connguard_count(struct ss_connguard *g)
{
	return atomic_load(&g->count);
}

int ss_connguard_refusal_report(struct ss_connguard *g, int64_t now_us)
{
	int64_t last = atomic_load(&g->last_report_us);

	return (last == 0 || now_us - last > 10000000) &&
	       atomic_compare_exchange_strong(&g->last_report_us, &last,
					      now_us);
}

int64_t ss_connguard_fd_cap(int64_t nofile, int64_t wanted)
{
	int64_t n;

	if (nofile < 0 || nofile - nofile / 4 >= wanted)
		return wanted;
	n = nofile - nofile / 4;
	return n < 1 ? 1 : n;
}

int64_t ss_connguard_log_cap(int64_t nofile, int64_t conns, int64_t wanted)
{
	int64_t cap;

	if (nofile < 0)
		return wanted > 0 ? wanted : 16384;
	cap = nofile > conns ? (nofile - conns) / 2 / 4 : 0;
	if (cap < 8)
		cap = 8;
	return wanted > 0 && wanted <= cap ? wanted : cap;
}
