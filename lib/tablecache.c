/*
 * tablecache.c — a short-lived, thread-safe cache of catalog lookups (see
 * tablecache.h).
 */
#include <pthread.h>
#include <string.h>

#include "tablecache.h"

struct entry {
	char *key;
	struct ss_pgq_table t;
	int found;
	int64_t at;
	struct entry *next;
};

struct ss_tablecache {
	pthread_mutex_t mu;
	struct entry *head;
	size_t n, max;
	int64_t ttl_us;
	ss_shapereq_describe_fn describe;
	void *ctx;
};

void ss_tablecache_copy(struct ss_pgq_table *dst,
			const struct ss_pgq_table *src)
{
	size_t i;

	*dst = *src;
	dst->schema = ss_xstrdup(src->schema);
	dst->name = ss_xstrdup(src->name);
	dst->cols = ss_xcalloc(src->ncols + 1, sizeof(*dst->cols));
	for (i = 0; i < src->ncols; i++) {
		dst->cols[i] = src->cols[i];
		dst->cols[i].name = ss_xstrdup(src->cols[i].name);
		dst->cols[i].type = ss_xstrdup(src->cols[i].type);
		dst->cols[i].elem_type =
		    src->cols[i].elem_type ? ss_xstrdup(src->cols[i].elem_type)
					   : NULL;
	}
	dst->pk = ss_xcalloc(src->npk + 1, sizeof(*dst->pk));
	if (src->npk)
		memcpy(dst->pk, src->pk, src->npk * sizeof(*dst->pk));
}

struct ss_tablecache *ss_tablecache_new(ss_shapereq_describe_fn describe,
					void *ctx, int64_t ttl_us, size_t max)
{
	struct ss_tablecache *c = ss_xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	c->describe = describe;
	c->ctx = ctx;
	c->ttl_us = ttl_us;
	c->max = max;
	return c;
}

static void clear_locked(struct ss_tablecache *c)
{
	struct entry *e;

	while ((e = c->head)) {
		c->head = e->next;
		free(e->key);
		ss_pgq_table_release(&e->t);
		free(e);
	}
	c->n = 0;
}

void ss_tablecache_free(struct ss_tablecache *c)
{
	if (!c)
		return;
	clear_locked(c);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int ss_tablecache_describe(void *cache, const char *schema, const char *name,
			   struct ss_pgq_table *t, struct ss_err *err)
{
	struct ss_tablecache *c = cache;
	struct ss_buf key = SS_BUF_INIT;
	struct entry *e;
	int64_t now = ss_mono_us();
	int r;

	ss_buf_adds(&key, schema);
	ss_buf_addc(&key, '\x1f');
	ss_buf_adds(&key, name);
	pthread_mutex_lock(&c->mu);
	for (e = c->head; e; e = e->next)
		if (!strcmp(e->key, key.buf) && now - e->at < c->ttl_us) {
			r = e->found;
			if (r)
				ss_tablecache_copy(t, &e->t);
			pthread_mutex_unlock(&c->mu);
			ss_buf_release(&key);
			return r;
		}
	pthread_mutex_unlock(&c->mu);

	r = c->describe(c->ctx, schema, name, t, err);
	if (r < 0) {
		ss_buf_release(&key);
		return -1;
	}
	e = ss_xcalloc(1, sizeof(*e));
	e->key = ss_buf_detach(&key, NULL);
	e->found = r;
	e->at = now;
	if (r)
		ss_tablecache_copy(&e->t, t);
	pthread_mutex_lock(&c->mu);
	if (c->n >= c->max)
		clear_locked(c);
	e->next = c->head;
	c->head = e;
	c->n++;
	pthread_mutex_unlock(&c->mu);
	return r;
}
