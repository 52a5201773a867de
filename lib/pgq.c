/*
 * pgq.c — serve's side of PostgreSQL: a connection pool, catalog lookups,
 * the publication, and the initial snapshot query that makes PostgreSQL
 * render each row as an Electric change message (reference 1.7).
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
#include "message.h"

/* Electric's @display_settings (reference 1.7), for every connection. */
static const char *const display_sets[] = {
	"SET bytea_output = 'hex'",
	"SET DateStyle = 'ISO, DMY'",
	"SET TimeZone = 'UTC'",
	"SET extra_float_digits = 1",
	"SET IntervalStyle = 'iso_8601'",
	NULL,
};

/* ------------------------------------------------------------- pool */

struct ss_pgq_pool {
	char *conninfo;
	int max, out, connect_timeout_s;
	PGconn **idle;         /* oldest first: get takes the newest */
	int64_t *idle_since;   /* when each was given back (monotonic) */
	size_t nidle;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

struct ss_pgq_pool *ss_pgq_pool_new(const char *conninfo, int max, int connect_timeout_s)
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
		PQfinish(p->idle[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->idle);
	free(p->idle_since);
	free(p->conninfo);
	free(p);
}

/* The first line of a libpq message, without its newline. */
static void pq_msg(char *out, size_t outsz, const char *msg)
{
	size_t n = strcspn(msg ? msg : "", "\n");

	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, msg ? msg : "", n);
	out[n] = '\0';
}

static int exec_ok(PGconn *c, const char *sql, struct ss_err *err)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	char m[400];

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(r);
		return 0;
	}
	pq_msg(m, sizeof(m), PQresultErrorMessage(r));
	PQclear(r);
	return ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s", m);
}

static PGconn *pg_connect(struct ss_pgq_pool *p, struct ss_err *err)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name",
			       "client_encoding", NULL };
	char timeout[16];
	const char *vals[5];
	PGconn *c;
	char m[400];
	int i;

	snprintf(timeout, sizeof(timeout), "%d", p->connect_timeout_s);
	vals[0] = p->conninfo;
	vals[1] = timeout;
	vals[2] = "shapesync-serve";
	vals[3] = "UTF8";
	vals[4] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		pq_msg(m, sizeof(m), c ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not connect to PostgreSQL: %s", m), NULL;
	}
	for (i = 0; display_sets[i]; i++)
		if (exec_ok(c, display_sets[i], err) < 0) {
			PQfinish(c);
			return NULL;
		}
	return c;
}

void *ss_pgq_get(struct ss_pgq_pool *p, struct ss_err *err)
{
	PGconn *c = NULL;

	pthread_mutex_lock(&p->mu);
	while (!p->nidle && p->out >= p->max)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->nidle)
		c = p->idle[--p->nidle];
	p->out++;
	pthread_mutex_unlock(&p->mu);
	if (c && PQstatus(c) == CONNECTION_OK)
		return c;
	PQfinish(c);
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
	PGconn *c = conn;

	if (c && (PQstatus(c) != CONNECTION_OK ||
		  PQtransactionStatus(c) != PQTRANS_IDLE)) {
		PQfinish(c);
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
	PGconn *old[64];
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
	/* Outside the lock: PQfinish talks to the server. */
	for (i = 0; i < n; i++)
		PQfinish(old[i]);
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

void ss_pgq_table_release(struct ss_pgq_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
		free(t->cols[i].elem_type);
	}
	free(t->cols);
	free(t->pk);
	free(t->schema);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

static const char describe_rel_sql[] =
	"SELECT c.oid, c.relkind, c.relreplident,"
	" n.nspname IN ('pg_catalog', 'information_schema')"
	"  OR n.nspname LIKE 'pg\\_toast%' FROM pg_catalog.pg_class c"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";

static const char describe_cols_sql[] =
	"SELECT a.attname, t.typname, et.typname, a.attndims, a.atttypmod,"
	" a.attnotnull, t.typtype, a.attgenerated <> '',"
	" (SELECT k.n FROM pg_catalog.pg_index i,"
	"   unnest(i.indkey) WITH ORDINALITY k(att, n)"
	"   WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.att = a.attnum)"
	" FROM pg_catalog.pg_attribute a"
	" JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	" LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'"
	" WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped"
	" ORDER BY a.attnum";

static int query_fail(PGresult *r, struct ss_err *err)
{
	char m[400];

	pq_msg(m, sizeof(m), PQresultErrorMessage(r));
	PQclear(r);
	return ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s", m);
}

int ss_pgq_partition_sets(void *conn, uint32_t oid,
			  int (*cb)(uint32_t oid, const char *schema, const char *name,
				    const char *leaves, void *ctx),
			  void *ctx, struct ss_err *err)
{
	char oidtxt[16];
	const char *params[1] = { oidtxt };
	PGresult *r;
	int rc;

	snprintf(oidtxt, sizeof(oidtxt), "%" PRIu32, oid);
	r = PQexecParams(conn, "SELECT t.relid::oid, n.nspname, c.relname, "
			 SS_PG_LEAVES_OF("t.relid")
			 " FROM pg_catalog.pg_partition_tree($1::oid) t"
			 " JOIN pg_catalog.pg_class c ON c.oid = t.relid"
			 " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			 " WHERE c.relkind = 'p'", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return query_fail(r, err);
	rc = ss_pg_each_partition_set(r, cb, ctx);
	PQclear(r);
	return rc;
}

int ss_pgq_describe(void *conn, const char *schema, const char *name,
		   struct ss_pgq_table *t, struct ss_err *err)
{
	PGconn *c = conn;
	const char *params[2] = { schema, name };
	char oidtxt[16];
	PGresult *r;
	int i, n, npk = 0;

	memset(t, 0, sizeof(*t));
	r = PQexecParams(c, describe_rel_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return query_fail(r, err);
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	t->oid = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	t->relkind = PQgetvalue(r, 0, 1)[0];
	t->replident = PQgetvalue(r, 0, 2)[0];
	t->system = !strcmp(PQgetvalue(r, 0, 3), "t");
	PQclear(r);
	t->schema = ss_xstrdup(schema);
	t->name = ss_xstrdup(name);

	snprintf(oidtxt, sizeof(oidtxt), "%" PRIu32, t->oid);
	params[0] = oidtxt;
	r = PQexecParams(c, describe_cols_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ss_pgq_table_release(t);
		return query_fail(r, err);
	}
	n = PQntuples(r);
	t->cols = ss_xcalloc((size_t)n + 1, sizeof(*t->cols));
	t->ncols = (size_t)n;
	for (i = 0; i < n; i++) {
		struct ss_pgq_column *col = &t->cols[i];

		col->name = ss_xstrdup(PQgetvalue(r, i, 0));
		col->type = ss_xstrdup(PQgetvalue(r, i, 1));
		if (!PQgetisnull(r, i, 2)) {
			int d = (int)strtol(PQgetvalue(r, i, 3), NULL, 10);

			col->elem_type = ss_xstrdup(PQgetvalue(r, i, 2));
			col->dims = d > 0 ? d : 1;
		}
		col->typmod = (int)strtol(PQgetvalue(r, i, 4), NULL, 10);
		col->not_null = PQgetvalue(r, i, 5)[0] == 't';
		col->is_enum = PQgetvalue(r, i, 6)[0] == 'e';
		col->generated = PQgetvalue(r, i, 7)[0] == 't';
		col->is_bpchar = !strcmp(col->type, "bpchar");
		col->pk_index = PQgetisnull(r, i, 8) ? -1 :
			(int)strtol(PQgetvalue(r, i, 8), NULL, 10) - 1;
		if (col->pk_index >= 0)
			npk++;
	}
	PQclear(r);
	if (npk > 0) {
		t->pk = ss_xcalloc((size_t)npk, sizeof(*t->pk));
		for (i = 0; i < n; i++)
			if (t->cols[i].pk_index >= 0 && t->cols[i].pk_index < npk)
				t->pk[t->cols[i].pk_index] = (size_t)i;
		t->npk = (size_t)npk;
	} else {
		/* No primary key: every column is the key (reference 1.7). */
		t->pk = ss_xcalloc((size_t)n + 1, sizeof(*t->pk));
		for (i = 0; i < n; i++)
			t->pk[i] = (size_t)i;
		t->npk = (size_t)n;
	}
	return 1;
}

long ss_pgq_table_column(const struct ss_pgq_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return (long)i;
	return -1;
}

/* Interval typmod: range bits in the high 16 bits (PostgreSQL's
 * INTERVAL_MASK), precision in the low 16 (0xFFFF: none). */
static const char *interval_fields(int range)
{
	static const struct { int mask; const char *name; } f[] = {
		{ 1 << 2, "YEAR" }, { 1 << 1, "MONTH" }, { 1 << 3, "DAY" },
		{ 1 << 10, "HOUR" }, { 1 << 11, "MINUTE" }, { 1 << 12, "SECOND" },
		{ (1 << 2) | (1 << 1), "YEAR TO MONTH" },
		{ (1 << 3) | (1 << 10), "DAY TO HOUR" },
		{ (1 << 3) | (1 << 10) | (1 << 11), "DAY TO MINUTE" },
		{ (1 << 3) | (1 << 10) | (1 << 11) | (1 << 12), "DAY TO SECOND" },
		{ (1 << 10) | (1 << 11), "HOUR TO MINUTE" },
		{ (1 << 10) | (1 << 11) | (1 << 12), "HOUR TO SECOND" },
		{ (1 << 11) | (1 << 12), "MINUTE TO SECOND" },
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
static void column_schema(const struct ss_pgq_table *t, const struct ss_pgq_column *c,
			  struct ss_buf *out)
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
				    ((tm - 4) >> 16) & 0xFFFF, (tm - 4) & 0xFFFF);
		} else if (!strcmp(type, "interval")) {
			if ((tm & 0xFFFF) != 0xFFFF)
				ss_buf_addf(out, "\"precision\":%d,", tm & 0xFFFF);
		} else if (!strcmp(type, "time") || !strcmp(type, "timetz") ||
			   !strcmp(type, "timestamp") || !strcmp(type, "timestamptz")) {
			ss_buf_addf(out, "\"precision\":%d,", tm);
		}
	}
	ss_buf_adds(out, "\"type\":");
	ss_buf_add_json_string(out, type, strlen(type));
	ss_buf_addc(out, '}');
}

void ss_pgq_schema_json(const struct ss_pgq_table *t, const size_t *sel, size_t nsel,
		       struct ss_buf *out)
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
		ss_buf_add_json_string(out, items[i].name, strlen(items[i].name));
		ss_buf_addc(out, ':');
		column_schema(t, &t->cols[items[i].col], out);
	}
	ss_buf_addc(out, '}');
	free(items);
}

/* ------------------------------------------------------------- publication */

/* Append "schema"."table" quoted by libpq. */
static int add_qualified(PGconn *c, struct ss_buf *b, const char *schema,
			 const char *name, struct ss_err *err)
{
	char *s = PQescapeIdentifier(c, schema, strlen(schema));
	char *n = PQescapeIdentifier(c, name, strlen(name));

	if (!s || !n) {
		PQfreemem(s);
		PQfreemem(n);
		return ss_err_set(err, SS_ERR_RUNTIME, "postgresql: could not "
				  "quote a name: %s", PQerrorMessage(c));
	}
	ss_buf_addf(b, "%s.%s", s, n);
	PQfreemem(s);
	PQfreemem(n);
	return 0;
}

/* Run sql; SQLSTATE `ok_state` (e.g. duplicate_object) counts as done. */
static int exec_tolerant(PGconn *c, const char *sql, const char *ok_state,
			 struct ss_err *err)
{
	PGresult *r = PQexec(c, sql);
	const char *state;

	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		return 0;
	}
	state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (ok_state && state && !strcmp(state, ok_state)) {
		PQclear(r);
		return 0;
	}
	return query_fail(r, err);
}

/*
 * REPLICA IDENTITY FULL on every partition under partitioned table `oid`
 * (its changes come under them, with their replica identity: ALTER TABLE
 * on the parent does not recurse). Partitions added later get it from
 * shapesync-replicate.
 */
static int partitions_full(PGconn *c, const char *oidtxt, struct ss_err *err)
{
	const char *params[1] = { oidtxt };
	struct ss_buf sql = SS_BUF_INIT;
	PGresult *r;
	int i, rc = 0;

	r = PQexecParams(c,
		"SELECT n.nspname, c.relname FROM pg_catalog.pg_partition_tree($1::oid) p"
		" JOIN pg_catalog.pg_class c ON c.oid = p.relid"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE p.relid <> $1::oid AND c.relreplident <> 'f'",
		1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return query_fail(r, err);
	for (i = 0; rc == 0 && i < PQntuples(r); i++) {
		ss_buf_reset(&sql);
		ss_buf_adds(&sql, "ALTER TABLE ");
		rc = add_qualified(c, &sql, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), err);
		ss_buf_adds(&sql, " REPLICA IDENTITY FULL");
		if (rc == 0)
			rc = exec_tolerant(c, sql.buf, NULL, err);
	}
	PQclear(r);
	ss_buf_release(&sql);
	return rc;
}

int ss_pgq_check_published(void *conn, const char *pub, const struct ss_pgq_table *t,
			   struct ss_err *err)
{
	PGconn *c = conn;
	char oidtxt[16];
	const char *params[2];
	PGresult *r;
	int has_rel, full;

	snprintf(oidtxt, sizeof(oidtxt), "%" PRIu32, t->oid);
	params[0] = pub;
	params[1] = oidtxt;
	r = PQexecParams(c,
		"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables"
		"  WHERE pubname = $1 AND (schemaname, tablename) ="
		"  (SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
		"   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		"   WHERE c.oid = $2::oid))"
		"  OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr"
		"  JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid"
		"  WHERE p.pubname = $1 AND pr.prrelid = $2::oid),"
		" (SELECT relreplident = 'f' FROM pg_catalog.pg_class WHERE oid = $2::oid)",
		2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return query_fail(r, err);
	has_rel = PQgetvalue(r, 0, 0)[0] == 't';
	full = PQgetvalue(r, 0, 1)[0] == 't';
	PQclear(r);
	if (!has_rel)
		return ss_err_set(err, SS_ERR_INPUT, "Database table \"%s\".\"%s\" is "
				  "missing from the publication \"%s\" and the "
				  "ELECTRIC_MANUAL_TABLE_PUBLISHING setting prevents "
				  "shapesync from adding it", t->schema, t->name, pub);
	if (!full)
		return ss_err_set(err, SS_ERR_INPUT, "Database table \"%s\".\"%s\" does "
				  "not have its replica identity set to FULL", t->schema,
				  t->name);
	return 0;
}

int ss_pgq_ensure_published(void *conn, const char *pub, const struct ss_pgq_table *t,
			   struct ss_err *err)
{
	PGconn *c = conn;
	struct ss_buf sql = SS_BUF_INIT;
	char oidtxt[16];
	const char *params[2];
	char *qpub = PQescapeIdentifier(c, pub, strlen(pub));
	PGresult *r;
	int has_pub, has_rel, full, rc = -1;

	if (!qpub)
		return ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s",
				  PQerrorMessage(c));
	snprintf(oidtxt, sizeof(oidtxt), "%" PRIu32, t->oid);
	params[0] = pub;
	params[1] = oidtxt;
	r = PQexecParams(c,
		"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1),"
		" EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr"
		"  JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid"
		"  WHERE p.pubname = $1 AND pr.prrelid = $2::oid)"
		"  OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication"
		"  WHERE pubname = $1 AND puballtables),"
		" (SELECT relreplident = 'f' FROM pg_catalog.pg_class WHERE oid = $2::oid)",
		2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQfreemem(qpub);
		return query_fail(r, err);
	}
	has_pub = PQgetvalue(r, 0, 0)[0] == 't';
	has_rel = PQgetvalue(r, 0, 1)[0] == 't';
	full = PQgetvalue(r, 0, 2)[0] == 't';
	PQclear(r);

	if (!has_pub) {
		ss_buf_addf(&sql, "CREATE PUBLICATION %s", qpub);
		/* 42710 duplicate_object: someone else made it meanwhile. */
		if (exec_tolerant(c, sql.buf, "42710", err) < 0)
			goto out;
	}
	/* The publication change comes before ALTER TABLE, as in Electric,
	 * to avoid deadlocks with the replication connection. */
	if (!has_rel) {
		ss_buf_reset(&sql);
		ss_buf_addf(&sql, "ALTER PUBLICATION %s ADD TABLE ", qpub);
		if (add_qualified(c, &sql, t->schema, t->name, err) < 0)
			goto out;
		if (exec_tolerant(c, sql.buf, "42710", err) < 0)
			goto out;
	}
	if (!full) {
		ss_buf_reset(&sql);
		ss_buf_adds(&sql, "ALTER TABLE ");
		if (add_qualified(c, &sql, t->schema, t->name, err) < 0)
			goto out;
		ss_buf_adds(&sql, " REPLICA IDENTITY FULL");
		if (exec_tolerant(c, sql.buf, NULL, err) < 0)
			goto out;
	}
	if (t->relkind == 'p' && partitions_full(c, oidtxt, err) < 0)
		goto out;
	rc = 0;
out:
	PQfreemem(qpub);
	ss_buf_release(&sql);
	return rc;
}

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
	return ss_err_set(err, SS_ERR_RUNTIME, "unexpected pg_current_snapshot() '%.100s'",
			  text);
}

int ss_pgq_current_lsn(void *conn, uint64_t *lsn, struct ss_err *err)
{
	PGresult *r = PQexec(conn, "SELECT pg_current_wal_lsn()");
	int rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return query_fail(r, err);
	rc = ss_lsn_parse(PQgetvalue(r, 0, 0), lsn, err);
	PQclear(r);
	return rc;
}

/* Append an SQL string literal holding `s`. */
static int add_literal(PGconn *c, struct ss_buf *b, const char *s, size_t len,
		       struct ss_err *err)
{
	char *q = PQescapeLiteral(c, s, len);

	if (!q)
		return ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s", PQerrorMessage(c));
	ss_buf_adds(b, q);
	PQfreemem(q);
	return 0;
}

/* The text of a column as its output function writes it, which is what
 * pgoutput sends and so what the log holds: a ::text cast differs for
 * some types (bool gives "true" where the output function gives "t",
 * inet adds "/128", bpchar loses its padding). NULL stays NULL. */
static int add_text_expr(PGconn *c, struct ss_buf *b, const struct ss_pgq_column *col,
			 struct ss_err *err)
{
	char *q = PQescapeIdentifier(c, col->name, strlen(col->name));

	if (!q)
		return ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s", PQerrorMessage(c));
	ss_buf_addf(b, "(CASE WHEN %s IS NULL THEN NULL ELSE concat(%s, '') END)", q, q);
	PQfreemem(q);
	return 0;
}

/*
 * The snapshot query: one text column per row holding
 * {"key":..,"value":{..},"headers":{"operation":"insert","relation":[..]}}
 * with the key built exactly as ss_message_key builds it.
 */
static int build_query(PGconn *c, const struct ss_pgq_table *t, const size_t *sel,
		       size_t nsel, const char *where, const char *where2,
		       const char *extra_headers, const char *tail,
		       struct ss_buf *sql, struct ss_err *err)
{
	struct ss_buf tmp = SS_BUF_INIT;
	size_t i;
	int rc = -1;

	ss_buf_adds(sql, "SELECT '{\"key\":' || to_json(");
	ss_message_key(&tmp, t->schema, t->name, NULL, 0);
	if (add_literal(c, sql, tmp.buf, tmp.len, err) < 0)
		goto out;
	for (i = 0; i < t->npk; i++) {
		ss_buf_adds(sql, " || '/' || coalesce('\"' || replace(");
		if (add_text_expr(c, sql, &t->cols[t->pk[i]], err) < 0)
			goto out;
		ss_buf_adds(sql, ", '/', '//') || '\"', '_')");
	}
	ss_buf_adds(sql, ")::text || ',\"value\":{'");
	for (i = 0; i < nsel; i++) {
		const struct ss_pgq_column *col = &t->cols[sel[i]];

		ss_buf_reset(&tmp);
		if (i)
			ss_buf_addc(&tmp, ',');
		ss_buf_add_json_string(&tmp, col->name, strlen(col->name));
		ss_buf_addc(&tmp, ':');
		ss_buf_adds(sql, " || ");
		if (add_literal(c, sql, tmp.buf, tmp.len, err) < 0)
			goto out;
		ss_buf_adds(sql, " || coalesce(to_json(");
		if (add_text_expr(c, sql, col, err) < 0)
			goto out;
		ss_buf_adds(sql, ")::text, 'null')");
	}
	ss_buf_reset(&tmp);
	ss_buf_adds(&tmp, "},\"headers\":{\"operation\":\"insert\",\"relation\":[");
	ss_buf_add_json_string(&tmp, t->schema, strlen(t->schema));
	ss_buf_addc(&tmp, ',');
	ss_buf_add_json_string(&tmp, t->name, strlen(t->name));
	ss_buf_adds(&tmp, "]");
	if (extra_headers)
		ss_buf_adds(&tmp, extra_headers);
	ss_buf_adds(&tmp, "}}");
	ss_buf_adds(sql, " || ");
	if (add_literal(c, sql, tmp.buf, tmp.len, err) < 0)
		goto out;
	ss_buf_adds(sql, " FROM ONLY ");
	if (t->relkind == 'p') {
		/* ONLY would hide every row of a partitioned table. */
		ss_buf_setlen(sql, sql->len - 5);
	}
	if (add_qualified(c, sql, t->schema, t->name, err) < 0)
		goto out;
	if (where) {
		ss_buf_adds(sql, " WHERE (");
		ss_buf_adds(sql, where);
		ss_buf_adds(sql, ")");
	}
	if (where2) {
		ss_buf_adds(sql, where ? " AND (" : " WHERE (");
		ss_buf_adds(sql, where2);
		ss_buf_adds(sql, ")");
	}
	if (tail)
		ss_buf_adds(sql, tail);
	rc = 0;
out:
	ss_buf_release(&tmp);
	return rc;
}

/* Drain the results of a failed or abandoned query. */
static void drain(PGconn *c)
{
	PGresult *r;

	while ((r = PQgetResult(c)))
		PQclear(r);
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
		  int rows, const struct ss_pgq_snapshot_cb *cb, struct ss_err *err)
{
	PGconn *c = conn;
	struct ss_buf sql = SS_BUF_INIT;
	struct ss_pg_snapshot snap = { 0, 0, NULL, 0 };
	PGresult *r;
	int64_t settle_until = ss_mono_us() + SETTLE_US, pause_us = 1000;
	int i, rc = -1;

	for (;;) {
		int unsettled;

		if (exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) < 0)
			return -1;
		for (i = 0; display_sets[i]; i++)
			if (exec_ok(c, display_sets[i], err) < 0)
				goto out;
		r = PQexec(c, "SELECT pg_current_snapshot()::text, pg_current_wal_lsn(),"
			   " (SELECT count(*) FROM pg_catalog.pg_stat_activity"
			   "  WHERE wait_event = 'SyncRep' AND backend_xid IS NOT NULL"
			   "  AND datname = current_database())"
			   " + (SELECT count(*) FROM pg_snapshot_xip(pg_current_snapshot()) x"
			   "  WHERE pg_xact_status(x) = 'committed')");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			query_fail(r, err);
			goto out;
		}
		i = ss_pgq_parse_snapshot(PQgetvalue(r, 0, 0), &snap, err);
		if (i == 0 && q && q->lsn)
			i = ss_lsn_parse(PQgetvalue(r, 0, 1), q->lsn, err);
		unsettled = strcmp(PQgetvalue(r, 0, 2), "0") != 0;
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
		 * transactions are visible. (The microseconds between a
		 * commit's WAL flush and its proc array exit without
		 * synchronous replication are not covered.)
		 */
		free(snap.xip);
		snap.xip = NULL;
		if (exec_ok(c, "ROLLBACK", err) < 0)
			return -1;
		if (ss_mono_us() > settle_until) {
			ss_err_set(err, SS_ERR_RUNTIME, "a committed transaction stays "
				   "invisible to new snapshots");
			ss_err_hint(err, "is a synchronous standby "
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
		if (build_query(c, t, sel, nsel, where, q ? q->where : NULL,
				q ? q->headers : NULL, q ? q->tail : NULL, &sql, err) < 0)
			goto out;
		if (!PQsendQueryParams(c, sql.buf, 0, NULL, NULL, NULL, NULL, 0) ||
		    !PQsetSingleRowMode(c)) {
			ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s",
				   PQerrorMessage(c));
			drain(c);
			goto out;
		}
		while ((r = PQgetResult(c))) {
			ExecStatusType st = PQresultStatus(r);

			if (st == PGRES_SINGLE_TUPLE) {
				int stop = cb->row(cb->ctx, PQgetvalue(r, 0, 0),
						   (size_t)PQgetlength(r, 0, 0), err);

				PQclear(r);
				if (stop) {
					/* Abandon the rest: cancel, then drain. */
					PGcancel *cn = PQgetCancel(c);
					char eb[256];

					if (cn) {
						PQcancel(cn, eb, sizeof(eb));
						PQfreeCancel(cn);
					}
					drain(c);
					goto out;
				}
			} else if (st == PGRES_TUPLES_OK) {
				PQclear(r);
			} else {
				query_fail(r, err);
				drain(c);
				goto out;
			}
		}
	}
	if (exec_ok(c, "COMMIT", err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && PQtransactionStatus(c) != PQTRANS_IDLE) {
		PGresult *rb = PQexec(c, "ROLLBACK");

		PQclear(rb);
	}
	free(snap.xip);
	ss_buf_release(&sql);
	return rc;
}
