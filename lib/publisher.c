/*
 * publisher.c — the publication kept in step with a set of tables, with
 * retries and one warning per trouble (see publisher.h); the statements
 * themselves are lib/publication's.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "publisher.h"

#include "publication.h"

static void warn(const struct ss_publisher *p, const char *hint,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(const struct ss_publisher *p, const char *hint,
		 const char *fmt, ...)
{
	struct ss_buf b = SS_BUF_INIT;
	va_list ap;

	if (!p->warn)
		return;
	va_start(ap, fmt);
	ss_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	p->warn(b.buf, hint, p->ctx);
	ss_buf_release(&b);
}

void ss_publisher_init(struct ss_publisher *p)
{
	memset(p, 0, sizeof(*p));
	p->retry_us = 5000000;
	p->partitions_us = 1000000;
}

void ss_publisher_release(struct ss_publisher *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->tables[i].schema);
		free(p->tables[i].name);
	}
	free(p->tables);
	p->tables = NULL;
	p->n = p->alloc = 0;
}

int ss_publisher_add(struct ss_publisher *p, const char *schema,
		     const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->tables[i].schema, schema) &&
		    !strcmp(p->tables[i].name, name))
			return 0;
	SS_GROW(p->tables, p->alloc, p->n + 1);
	memset(&p->tables[p->n], 0, sizeof(p->tables[p->n]));
	p->tables[p->n].schema = ss_xstrdup(schema);
	p->tables[p->n].name = ss_xstrdup(name);
	p->n++;
	return 1;
}

void ss_publisher_partitions_soon(struct ss_publisher *p)
{
	p->next_partitions = 0;
}

static int lost(struct ss_pg *admin)
{
	return PQstatus(ss_pg_conn(admin)) != CONNECTION_OK;
}

/* Add pending tables to the publication. */
static int publish_tables(struct ss_publisher *p, struct ss_pg *admin,
			  int64_t now, struct ss_err *err)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct ss_publisher_table *t = &p->tables[i];
		struct ss_err e = SS_ERR_INIT;

		if (t->done || now < t->retry_us)
			continue;
		if (ss_publication_add_table(admin, p->pub, t->schema, t->name,
					     NULL, &e) == 0) {
			t->done = 1;
			continue;
		}
		if (lost(admin)) {
			*err = e;
			return -1;
		}
		if (!t->warned) {
			warn(p, e.hint[0] ? e.hint : NULL,
			     "could not publish table \"%s\".\"%s\": %s",
			     t->schema, t->name, e.msg);
			t->warned = 1;
		}
		t->retry_us = now + p->retry_us;
	}
	return 0;
}

/* Shapes were invalidated: their table's partitions changed. */
static void on_spoiled(const char *schema, const char *name, const char *why,
		       int64_t n, void *ctx)
{
	warn(ctx, NULL,
	     "the partitions of \"%s\".\"%s\" changed (%s): "
	     "%" PRId64 " shape%s on it invalidated, their "
	     "clients must refetch",
	     schema, name, why, n, n == 1 ? "" : "s");
}

/*
 * Partitions attached to or created under a published partitioned table
 * are published at once but keep the default replica identity: give them
 * REPLICA IDENTITY FULL (shapes need whole old rows), once a period, or
 * at the next tick after ss_publisher_partitions_soon.
 */
static int partitions_full(struct ss_publisher *p, struct ss_pg *admin,
			   struct ss_registry *reg, int64_t now,
			   struct ss_err *err)
{
	struct ss_err w = SS_ERR_INIT;
	int changed = 0, failed = 0;

	if (now < p->next_partitions)
		return 0;
	p->next_partitions = now + p->partitions_us;
	if (ss_publication_partitions_full(admin, p->pub, &changed, &failed, &w,
					   err) < 0)
		return lost(admin) ? -1 : 0;
	if (reg && ss_publication_follow_partitions(admin, p->pub, reg,
						    on_spoiled, p, err) < 0)
		return lost(admin) ? -1 : 0;
	if (failed && !p->partitions_warned) {
		warn(p, NULL,
		     "could not set REPLICA IDENTITY FULL on %d "
		     "partition%s: %s",
		     failed, failed == 1 ? "" : "s", w.msg);
		p->partitions_warned = 1;
	}
	if (!failed)
		p->partitions_warned = 0;
	return 0;
}

int ss_publisher_tick(struct ss_publisher *p, struct ss_pg *admin,
		      struct ss_registry *reg, int64_t now, struct ss_err *err)
{
	if (publish_tables(p, admin, now, err) < 0 ||
	    partitions_full(p, admin, reg, now, err) < 0)
		return -1;
	return 0;
}
