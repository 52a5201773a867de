/*
 * pgq.c — serve's side of PostgreSQL: a connection pool, catalog lookups,
 * the publication, and the initial snapshot query that makes PostgreSQL
 * render each row as an Electric change message (reference 1.7). Built
 * on lib/pg: connecting, queries, quoting and settings are pg's; the
 * table's description is lib/catalog's, the publication lib/publication's.
 */
#include "pg.h"
#include "pgq.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "lsn.h"
#include "dnf.h"
#include "message.h"
#include "subq.h"
#include "publication.h"

/* ------------------------------------------------------------- pool */

struct ss_pgq_pool {
	char *conninfo;
	int max, out, connect_timeout_s, statement_timeout_ms;
	struct ss_pg **idle; /* oldest first: get takes the newest */
	int64_t *idle_since; /* when each was given back (monotonic) */
	size_t nidle;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

struct ss_pgq_pool *ss_pgq_pool_new(const char *conninfo, int max,
				    int connect_timeout_s)
{
	struct ss_pgq_pool *p = ss_xcalloc(1, sizeof(*p));

	p->conninfo = ss_xstrdup(conninfo);
	p->max = max > 0 ? max : 1;
	p->connect_timeout_s = connect_timeout_s;
	p->idle = ss_xcalloc((size_t)p->max, sizeof(*p->idle));
	p->idle_since = ss_xcalloc((size_t)p->max, sizeof(*p->idle_since));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return p;
}

void ss_pgq_pool_close(struct ss_pgq_pool *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nidle; i++)
		ss_pg_close(p->idle[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->idle);
	free(p->idle_since);
	free(p->conninfo);
	free(p);
}

/*
 * A connection with Electric's @display_settings (reference 1.7), errors
 * in serve's one-line form, application_name shapesync-serve.
 */
static struct ss_pg *pg_connect(struct ss_pgq_pool *p, struct ss_err *err)
{
	struct ss_pg_opts o = {SS_PG_DISPLAY | SS_PG_APPNAME | SS_PG_TERSE,
			       "shapesync-serve", p->connect_timeout_s,
			       p->statement_timeout_ms};
	struct ss_pg *pg;

	if (ss_pg_connect(p->conninfo, &o, &pg, err) < 0)
		return NULL;
	return pg;
}

void ss_pgq_pool_set_statement_timeout(struct ss_pgq_pool *p, int ms)
{
	pthread_mutex_lock(&p->mu);
	p->statement_timeout_ms = ms > 0 ? ms : 0;
	pthread_mutex_unlock(&p->mu);
}

/* Is the connection usable and outside a transaction? */
static int pg_idle(struct ss_pg *pg)
{
	PGconn *c = ss_pg_conn(pg);

	return PQstatus(c) == CONNECTION_OK &&
	       PQtransactionStatus(c) == PQTRANS_IDLE;
}

void *ss_pgq_get(struct ss_pgq_pool *p, struct ss_err *err)
{
	struct ss_pg *c = NULL;

	pthread_mutex_lock(&p->mu);
	while (!p->nidle && p->out >= p->max)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->nidle)
		c = p->idle[--p->nidle];
	p->out++;
	pthread_mutex_unlock(&p->mu);
	if (c && PQstatus(ss_pg_conn(c)) == CONNECTION_OK)
		return c;
	ss_pg_close(c);
	c = pg_connect(p, err);
	if (!c) {
		pthread_mutex_lock(&p->mu);
		p->out--;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return c;
}

void ss_pgq_put(struct ss_pgq_pool *p, void *conn)
{
	struct ss_pg *c = conn;

	if (c && !pg_idle(c)) {
		ss_pg_close(c);
		c = NULL;
	}
	pthread_mutex_lock(&p->mu);
	p->out--;
	if (c) {
		p->idle_since[p->nidle] = ss_mono_us();
		p->idle[p->nidle++] = c;
	}
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int ss_pgq_pool_expire(struct ss_pgq_pool *p, int64_t idle_us, int64_t now_us)
{
	struct ss_pg *old[64];
	size_t n = 0, i;

	pthread_mutex_lock(&p->mu);
	while (n < p->nidle && n < sizeof(old) / sizeof(*old) &&
	       now_us - p->idle_since[n] >= idle_us)
		n++;
	memcpy(old, p->idle, n * sizeof(*old));
	memmove(p->idle, p->idle + n, (p->nidle - n) * sizeof(*p->idle));
	memmove(p->idle_since, p->idle_since + n,
		(p->nidle - n) * sizeof(*p->idle_since));
	p->nidle -= n;
	pthread_mutex_unlock(&p->mu);
	/* Outside the lock: closing talks to the server. */
	for (i = 0; i < n; i++)
		ss_pg_close(old[i]);
	return (int)n;
}

int ss_pgq_pool_open(struct ss_pgq_pool *p)
{
	int n;

	pthread_mutex_lock(&p->mu);
	n = p->out + (int)p->nidle;
	pthread_mutex_unlock(&p->mu);
	return n;
}

/* ------------------------------------------------------------- catalog */

/* Run a query whose errors are "postgresql: ..." (SS_PG_TERSE). */
static int q_exec(struct ss_pg *pg, const char *sql, int nparams,
		  const char *const *params, PGresult **res, char state[6],
		  struct ss_err *err)
{
	return ss_pg_exec(pg, "postgresql", sql, nparams, params, res, state,
			  err);
}

/* Compatible names for serve's code: the catalog and the publication
 * own these now. */
void ss_pgq_table_release(struct ss_pgq_table *t)
{
	ss_catalog_table_release(t);
}

int ss_pgq_describe(void *conn, const char *schema, const char *name,
		    struct ss_pgq_table *t, struct ss_err *err)
{
	return ss_catalog_describe(conn, schema, name, t, err);
}

long ss_pgq_table_column(const struct ss_pgq_table *t, const char *name)
{
	return ss_catalog_column(t, name);
}

int ss_pgq_partition_sets(void *conn, uint32_t oid,
			  int (*cb)(uint32_t oid, const char *schema,
				    const char *name, const char *leaves,
				    void *ctx),
			  void *ctx, struct ss_err *err)
{
	return ss_catalog_partition_sets(conn, oid, cb, ctx, err);
}

int ss_pgq_check_published(void *conn, const char *pub,
			   const struct ss_pgq_table *t, struct ss_err *err)
{
	return ss_publication_check(conn, pub, t, err);
}

int ss_pgq_ensure_published(void *conn, const char *pub,
			    const struct ss_pgq_table *t, struct ss_err *err)
{
	return ss_publication_ensure(conn, pub, t, err);
}

int ss_pgq_wait_writers(void *conn, uint32_t oid, const char *schema,
			const char *table, int64_t deadline_us,
			const atomic_int *stopping, struct ss_err *err)
{
	/* The lock modes that write rows (DML takes ROW EXCLUSIVE, TRUNCATE
	 * ACCESS EXCLUSIVE; the others are taken by statements that may
	 * write too). A prepared transaction's locks have no pid and it
	 * holds no virtualxid: its virtual transaction ("-1/xid") is waited
	 * for by its locks, which go after it is visible, as a backend's
	 * all go together after it left the proc array. */
	static const char writers_sql[] =
	    "SELECT coalesce(array_agg(DISTINCT l.virtualtransaction), "
	    "'{}')::text FROM pg_catalog.pg_locks l WHERE l.locktype = "
	    "'relation' AND l.mode IN ('RowExclusiveLock', "
	    "'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock') "
	    "AND l.granted AND l.pid IS DISTINCT FROM pg_backend_pid() AND "
	    "l.database = (SELECT oid FROM pg_catalog.pg_database WHERE "
	    "datname = current_database()) AND l.relation IN (SELECT relid "
	    "FROM pg_catalog.pg_partition_tree($1::regclass) UNION SELECT "
	    "$1::regclass::oid)";
	static const char running_sql[] =
	    "SELECT count(*) FROM pg_catalog.pg_locks WHERE "
	    "virtualtransaction = ANY($1::text[])";
	struct ss_pg *pg = conn;
	struct ss_buf rel = SS_BUF_INIT;
	const char *params[1];
	PGresult *r = NULL;
	char *vxids;
	int64_t pause_us = 1000;
	int rc = 0;

	/* By oid when known: the table of the shape, whatever its name
	 * now; else by name, quoted. */
	if (oid)
		ss_buf_addf(&rel, "%" PRIu32, oid);
	else
		ss_pg_add_qualified(pg, &rel, schema, table);
	params[0] = rel.buf;
	rc = q_exec(pg, writers_sql, 1, params, &r, NULL, err);
	ss_buf_release(&rel);
	if (rc < 0)
		return -1;
	vxids = ss_xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	params[0] = vxids;
	while (strcmp(vxids, "{}")) {
		int64_t n;

		r = NULL;
		if (q_exec(pg, running_sql, 1, params, &r, NULL, err) < 0) {
			rc = -1;
			break;
		}
		n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		if (n == 0)
			break;
		if (stopping && atomic_load(stopping)) {
			rc = ss_err_set(err, SS_ERR_RUNTIME, "stopping");
			break;
		}
		if (ss_mono_us() > deadline_us) {
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"postgresql: a transaction writing to "
					"the table has been running for 10 "
					"minutes since the shape's mark");
			break;
		}
		usleep((useconds_t)pause_us);
		if (pause_us < 16000)
			pause_us *= 2;
	}
	free(vxids);
	return rc;
}

/* Interval typmod: range bits in the high 16 bits (PostgreSQL's
 * INTERVAL_MASK), precision in the low 16 (0xFFFF: none). */
static const char *interval_fields(int range)
{
	static const struct {
		int mask;
		const char *name;
	} f[] = {
	    {1 << 2, "YEAR"},
	    {1 << 1, "MONTH"},
	    {1 << 3, "DAY"},
	    {1 << 10, "HOUR"},
	    {1 << 11, "MINUTE"},
	    {1 << 12, "SECOND"},
	    {(1 << 2) | (1 << 1), "YEAR TO MONTH"},
	    {(1 << 3) | (1 << 10), "DAY TO HOUR"},
	    {(1 << 3) | (1 << 10) | (1 << 11), "DAY TO MINUTE"},
	    {(1 << 3) | (1 << 10) | (1 << 11) | (1 << 12), "DAY TO SECOND"},
	    {(1 << 10) | (1 << 11), "HOUR TO MINUTE"},
	    {(1 << 10) | (1 << 11) | (1 << 12), "HOUR TO SECOND"},
	    {(1 << 11) | (1 << 12), "MINUTE TO SECOND"},
	};
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].mask == range)
			return f[i].name;
	return NULL;
}

struct schema_item {
	const char *name;
	size_t col;
};

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct schema_item *)a)->name,
		      ((const struct schema_item *)b)->name);
}

/* One column's schema object; keys in byte order like Jason's maps. */
static void column_schema(const struct ss_pgq_table *t,
			  const struct ss_pgq_column *c, struct ss_buf *out)
{
	const char *type = c->elem_type ? c->elem_type : c->type;
	int tm = c->typmod, is_pk = 0;
	size_t i;

	for (i = 0; i < t->npk; i++)
		if (&t->cols[t->pk[i]] == c)
			is_pk = 1;
	ss_buf_addc(out, '{');
	if (c->dims)
		ss_buf_addf(out, "\"dims\":%d,", c->dims);
	if (tm >= 0) {
		if (!strcmp(type, "interval")) {
			const char *f = interval_fields((tm >> 16) & 0x7FFF);

			if (f)
				ss_buf_addf(out, "\"fields\":\"%s\",", f);
		} else if (!strcmp(type, "bpchar") || !strcmp(type, "bit") ||
			   !strcmp(type, "varbit")) {
			ss_buf_addf(out, "\"length\":%d,",
				    !strcmp(type, "bpchar") ? tm - 4 : tm);
		} else if (!strcmp(type, "varchar")) {
			ss_buf_addf(out, "\"max_length\":%d,", tm - 4);
		}
	}
	if (c->not_null || (is_pk && c->pk_index >= 0))
		ss_buf_adds(out, "\"not_null\":true,");
	if (c->pk_index >= 0)
		ss_buf_addf(out, "\"pk_index\":%d,", c->pk_index);
	if (tm >= 0) {
		if (!strcmp(type, "numeric")) {
			ss_buf_addf(out, "\"precision\":%d,\"scale\":%d,",
				    ((tm - 4) >> 16) & 0xFFFF,
				    (tm - 4) & 0xFFFF);
		} else if (!strcmp(type, "interval")) {
			if ((tm & 0xFFFF) != 0xFFFF)
				ss_buf_addf(out, "\"precision\":%d,",
					    tm & 0xFFFF);
		} else if (!strcmp(type, "time") || !strcmp(type, "timetz") ||
			   !strcmp(type, "timestamp") ||
			   !strcmp(type, "timestamptz")) {
			ss_buf_addf(out, "\"precision\":%d,", tm);
		}
	}
	ss_buf_adds(out, "\"type\":");
	ss_buf_add_json_string(out, type, strlen(type));
	ss_buf_addc(out, '}');
}

void ss_pgq_schema_json(const struct ss_pgq_table *t, const size_t *sel,
			size_t nsel, struct ss_buf *out)
{
	struct schema_item *items = ss_xcalloc(nsel + 1, sizeof(*items));
	size_t i;

	for (i = 0; i < nsel; i++) {
		items[i].name = t->cols[sel[i]].name;
		items[i].col = sel[i];
	}
	qsort(items, nsel, sizeof(*items), cmp_item);
	ss_buf_addc(out, '{');
	for (i = 0; i < nsel; i++) {
		if (i)
			ss_buf_addc(out, ',');
		ss_buf_add_json_string(out, items[i].name,
				       strlen(items[i].name));
		ss_buf_addc(out, ':');
		column_schema(t, &t->cols[items[i].col], out);
	}
	ss_buf_addc(out, '}');
	free(items);
}

/* ------------------------------------------------------------- publication */

/* ------------------------------------------------------------- snapshot */

int ss_pgq_parse_snapshot(const char *text, struct ss_pg_snapshot *snap,
			  struct ss_err *err)
{
	const char *p = text;
	char *end;
	size_t alloc = 0;

	memset(snap, 0, sizeof(*snap));
	errno = 0;
	snap->xmin = strtoull(p, &end, 10);
	if (end == p || *end != ':')
		goto bad;
	p = end + 1;
	snap->xmax = strtoull(p, &end, 10);
	if (end == p || *end != ':' || errno)
		goto bad;
	p = end + 1;
	while (*p) {
		uint64_t x = strtoull(p, &end, 10);

		if (end == p || (*end && *end != ',') || errno)
			goto bad;
		SS_GROW(snap->xip, alloc, snap->nxip + 1);
		snap->xip[snap->nxip++] = x;
		p = *end ? end + 1 : end;
	}
	return 0;
bad:
	free(snap->xip);
	memset(snap, 0, sizeof(*snap));
	return ss_err_set(err, SS_ERR_RUNTIME,
			  "unexpected pg_current_snapshot() '%.100s'", text);
}

int ss_pgq_current_lsn(void *conn, uint64_t *lsn, struct ss_err *err)
{
	PGresult *r;
	int rc;

	if (q_exec(conn, "SELECT pg_current_wal_lsn()", 0, NULL, &r, NULL,
		   err) < 0)
		return -1;
	rc = ss_lsn_parse(PQgetvalue(r, 0, 0), lsn, err);
	PQclear(r);
	return rc;
}

/* Drain the results of a failed or abandoned query. */
static void drain(struct ss_pg *pg)
{
	PGconn *c = ss_pg_conn(pg);
	PGresult *r;

	while ((r = PQgetResult(c)))
		PQclear(r);
}

/* The rows of a snapshot or subset query, as they reach the callback. */
struct rows {
	struct ss_message_rows enc;
	size_t ncols;	 /* the query's columns */
	int has_headers; /* its last column is header text */
	const char **vals;
	size_t *lens; /* of vals (not read for NULLs) */
	struct ss_buf line;
	const struct ss_pgq_snapshot_cb *cb;
};

/* Encode the row in r->vals and hand it on: the callback's answer. */
static int row_out(struct rows *r, struct ss_err *err)
{
	ss_buf_reset(&r->line);
	ss_message_rows_add(&r->enc, &r->line, r->vals, r->lens,
			    r->has_headers ? r->vals[r->ncols - 1] : NULL);
	return r->cb->row(r->cb->ctx, r->line.buf, r->line.len, err);
}

static void cancel(struct ss_pg *pg)
{
	PGcancel *cn = PQgetCancel(ss_pg_conn(pg));
	char eb[256];

	if (cn) {
		PQcancel(cn, eb, sizeof(eb));
		PQfreeCancel(cn);
	}
}

/* The rows of a query with parameters, one result per row. */
static int rows_single(struct ss_pg *pg, const struct ss_buf *sql,
		       const struct ss_pgq_subset *q, struct rows *rows,
		       struct ss_err *err)
{
	PGconn *c = ss_pg_conn(pg);
	PGresult *r;
	int rc = 0;

	if (!PQsendQueryParams(c, sql->buf, q->nparams, NULL,
			       (const char *const *)q->params, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(c)) {
		ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s",
			   PQerrorMessage(c));
		drain(pg);
		return -1;
	}
	while ((r = PQgetResult(c))) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_SINGLE_TUPLE && rc == 0) {
			size_t k;

			for (k = 0; k < rows->ncols; k++) {
				rows->vals[k] = PQgetisnull(r, 0, (int)k)
						    ? NULL
						    : PQgetvalue(r, 0, (int)k);
				rows->lens[k] =
				    (size_t)PQgetlength(r, 0, (int)k);
			}
			if (row_out(rows, err)) {
				cancel(pg); /* abandon the rest */
				rc = -1;
			}
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK &&
			   rc == 0) {
			ss_pg_fail(pg, "postgresql", r, NULL, err);
			rc = -1;
		}
		PQclear(r);
	}
	return rc;
}

/* One field of a COPY text row from p (before end), decoded in place and
 * NUL-terminated: *val the value (NULL for \N), *len its length. Returns
 * where the next field starts, past its tab, or NULL when this field ends
 * the row. */
static char *copy_field(char *p, char *end, const char **val, size_t *len)
{
	char *w = p, *start = p;
	int tab;

	if (p + 2 <= end && p[0] == '\\' && p[1] == 'N' &&
	    (p + 2 == end || p[2] == '\t')) {
		*val = NULL;
		return p + 2 == end ? NULL : p + 3;
	}
	while (p < end && *p != '\t') {
		char c = *p++;

		if (c == '\\' && p < end) {
			c = *p++;
			switch (c) {
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'v':
				c = '\v';
				break;
			default: /* '\\' and any other: itself */
				break;
			}
		}
		*w++ = c;
	}
	tab = p < end;
	*w = '\0'; /* at most where the tab or the newline was */
	*val = start;
	*len = (size_t)(w - start);
	return tab ? p + 1 : NULL;
}

/*
 * The rows of a query without parameters, through COPY ... TO STDOUT:
 * one buffer per row instead of one result, which takes a third of the
 * worker's time off a big snapshot. COPY's text format writes each value
 * as the column's output function does (what the query's results give),
 * with \b \f \n \r \t \v and \\ escaped and \N for NULL.
 */
static int rows_copy(struct ss_pg *pg, const struct ss_buf *sql,
		     struct rows *rows, struct ss_err *err)
{
	PGconn *c = ss_pg_conn(pg);
	struct ss_buf q = SS_BUF_INIT;
	PGresult *r;
	char *buf;
	int n, rc = 0;

	ss_buf_adds(&q, "COPY (");
	ss_buf_add(&q, sql->buf, sql->len);
	ss_buf_adds(&q, ") TO STDOUT");
	n = PQsendQuery(c, q.buf);
	ss_buf_release(&q);
	if (!n) {
		ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s",
			   PQerrorMessage(c));
		drain(pg);
		return -1;
	}
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		ss_pg_fail(pg, "postgresql", r, NULL, err);
		PQclear(r);
		drain(pg);
		return -1;
	}
	PQclear(r);
	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		char *p = buf, *end = buf + n;
		size_t k;

		if (end > p && end[-1] == '\n')
			end--;
		for (k = 0; k < rows->ncols && rc == 0; k++) {
			if (!p)
				rc = ss_err_set(err, SS_ERR_RUNTIME,
						"postgresql: a COPY row has "
						"%zu columns, not %zu",
						k, rows->ncols);
			else
				p = copy_field(p, end, &rows->vals[k],
					       &rows->lens[k]);
		}
		if (rc == 0 && p)
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"postgresql: a COPY row has more than "
					"%zu columns",
					rows->ncols);
		if (rc == 0 && row_out(rows, err)) {
			cancel(pg); /* abandon the rest */
			rc = -1;
		}
		PQfreemem(buf);
		/* after an error, read on to the end of the COPY */
	}
	if (n == -2 && rc == 0)
		rc = ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s",
				PQerrorMessage(c));
	while ((r = PQgetResult(c))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
			ss_pg_fail(pg, "postgresql", r, NULL, err);
			rc = -1;
		}
		PQclear(r);
	}
	return rc;
}

/* The headers SQL of a subquery shape's rows: " || ',"active_conditions":'
 * || <ac> || ',"tags":' || <tags>" (lib/message's headers_sql). */
static int tags_sql(struct ss_pg *pg, const struct ss_pgq_subset *q,
		    struct ss_buf *out, struct ss_err *err)
{
	struct ss_buf st = SS_BUF_INIT, h = SS_BUF_INIT, tags = SS_BUF_INIT,
		      ac = SS_BUF_INIT;
	int rc = -1;

	if (ss_pg_add_literal(pg, &st, SS_SUBQ_STACK_ID,
			      strlen(SS_SUBQ_STACK_ID), err) < 0 ||
	    ss_pg_add_literal(pg, &h, q->tag_handle, strlen(q->tag_handle),
			      err) < 0)
		goto out;
	if (q->ac_sql) {
		ss_dnf_sql(q->dnf, st.buf, h.buf, &tags, NULL);
		ss_buf_adds(&ac, q->ac_sql);
	} else {
		ss_dnf_sql(q->dnf, st.buf, h.buf, &tags, &ac);
	}
	ss_buf_addf(out,
		    " || ',\"active_conditions\":' || (%s) || ',\"tags\":' || "
		    "(%s)",
		    ac.buf, tags.buf);
	rc = 0;
out:
	ss_buf_release(&st);
	ss_buf_release(&h);
	ss_buf_release(&tags);
	ss_buf_release(&ac);
	return rc;
}

int ss_pgq_snapshot(void *conn, const struct ss_pgq_table *t, const size_t *sel,
		    size_t nsel, const char *where, int rows,
		    const struct ss_pgq_snapshot_cb *cb, struct ss_err *err)
{
	return ss_pgq_subset(conn, t, sel, nsel, where, NULL, rows, cb, err);
}

/* How long a snapshot waits for committed transactions to become visible. */
#define SETTLE_US (30 * 1000000LL)

int ss_pgq_subset(void *conn, const struct ss_pgq_table *t, const size_t *sel,
		  size_t nsel, const char *where, const struct ss_pgq_subset *q,
		  int rows, const struct ss_pgq_snapshot_cb *cb,
		  struct ss_err *err)
{
	struct ss_pg *pg = conn;
	PGconn *c = ss_pg_conn(pg);
	struct ss_buf sql = SS_BUF_INIT;
	struct ss_pg_snapshot snap = {0, 0, NULL, 0};
	PGresult *r;
	int64_t settle_until = ss_mono_us() + SETTLE_US, pause_us = 1000;
	int i, rc = -1, enc_ready = 0;
	struct rows rs = {.line = SS_BUF_INIT};
	size_t ncols = 0;

	for (;;) {
		int unsettled;

		if (q_exec(pg,
			   "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
			   NULL, NULL, NULL, err) < 0)
			return -1;
		if (ss_pg_set_display(pg, err) < 0)
			goto out;
		if (q_exec(
			pg,
			"SELECT pg_current_snapshot()::text, pg_current_wal_lsn(),"
			" pg_current_wal_insert_lsn(),"
			" (SELECT count(*) FROM pg_catalog.pg_stat_activity"
			"  WHERE wait_event = 'SyncRep' AND backend_xid IS NOT NULL"
			"  AND datname = current_database())"
			" + (SELECT count(*) FROM pg_snapshot_xip(pg_current_snapshot()) x"
			"  WHERE pg_xact_status(x) = 'committed')",
			0, NULL, &r, NULL, err) < 0)
			goto out;
		i = ss_pgq_parse_snapshot(PQgetvalue(r, 0, 0), &snap, err);
		if (i == 0 && q && q->lsn)
			i = ss_lsn_parse(PQgetvalue(r, 0, 1), q->lsn, err);
		if (i == 0 && q && q->insert_lsn)
			i = ss_lsn_parse(PQgetvalue(r, 0, 2), q->insert_lsn,
					 err);
		unsettled = strcmp(PQgetvalue(r, 0, 3), "0") != 0;
		PQclear(r);
		if (i < 0)
			goto out;
		if (!unsettled)
			break;
		/*
		 * A transaction can be committed in the WAL, where replicate
		 * may have decoded it and route passed it before the shape's
		 * active mark, yet still be running for snapshots: its backend
		 * waits for a synchronous standby before it leaves the proc
		 * array. Neither the log nor this snapshot would hold it.
		 * Such a backend waits on SyncRep (seen in pg_stat_activity
		 * for our own role's backends, or all with pg_read_all_stats);
		 * one that stopped waiting since the snapshot was taken is
		 * committed in its xip. Take the snapshot again once such
		 * transactions are visible. (A shape's creation waits for
		 * the table's writers after the mark, which covers every
		 * such transaction: ss_pgq_wait_writers. Route's move-in
		 * queries check what their snapshot sees: lib/movein.)
		 */
		free(snap.xip);
		snap.xip = NULL;
		if (q_exec(pg, "ROLLBACK", 0, NULL, NULL, NULL, err) < 0)
			return -1;
		if (ss_mono_us() > settle_until) {
			ss_err_set(err, SS_ERR_RUNTIME,
				   "a committed transaction stays "
				   "invisible to new snapshots");
			ss_err_hint(
			    err, "is a synchronous standby "
				 "(synchronous_standby_names) not answering?");
			return -1;
		}
		usleep((useconds_t)pause_us);
		if (pause_us < 100000)
			pause_us *= 2;
	}
	if (cb->snapshot(cb->ctx, &snap, err))
		goto out;
	if (rows) {
		struct ss_buf hs = SS_BUF_INIT;

		if (q && q->dnf && tags_sql(pg, q, &hs, err) < 0) {
			ss_buf_release(&hs);
			goto out;
		}
		ss_message_snapshot_sql(
		    pg, t, sel, nsel, where, q ? q->where : NULL,
		    hs.len ? hs.buf : NULL, q ? q->tail : NULL, &sql);
		ncols = t->npk + nsel + (hs.len ? 1 : 0);
		ss_buf_release(&hs);
		ss_message_rows_init(&rs.enc, t, sel, nsel,
				     q ? q->operation : NULL,
				     q ? q->headers : NULL);
		enc_ready = 1;
		rs.ncols = ncols;
		rs.has_headers = ncols > t->npk + nsel;
		rs.vals = ss_xcalloc(ncols + 1, sizeof(*rs.vals));
		rs.lens = ss_xcalloc(ncols + 1, sizeof(*rs.lens));
		rs.cb = cb;
		if ((q && q->nparams ? rows_single(pg, &sql, q, &rs, err)
				     : rows_copy(pg, &sql, &rs, err)) < 0)
			goto out;
	}
	if (q_exec(pg, "COMMIT", 0, NULL, NULL, NULL, err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && PQtransactionStatus(c) != PQTRANS_IDLE) {
		PGresult *rb = PQexec(c, "ROLLBACK");

		PQclear(rb);
	}
	free(snap.xip);
	ss_buf_release(&sql);
	ss_buf_release(&rs.line);
	if (enc_ready)
		ss_message_rows_release(&rs.enc);
	free(rs.vals);
	free(rs.lens);
	return rc;
}
