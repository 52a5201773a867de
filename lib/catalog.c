/*
 * catalog.c — tables, keys, partitions and type names as PostgreSQL's
 * catalog describes them, for serve (describe) and replicate (relation
 * frames). See catalog.h.
 */
#include "catalog.h"

#include <inttypes.h>
#include <stdlib.h>

/* Run a query whose errors are "postgresql: ..." (serve's form). */
static int q_exec(struct ss_pg *pg, const char *sql, int nparams,
		  const char *const *params, PGresult **res, struct ss_err *err)
{
	return ss_pg_exec(pg, "postgresql", sql, nparams, params, res, NULL,
			  err);
}

static void oid_text(char buf[16], uint32_t oid)
{
	snprintf(buf, 16, "%" PRIu32, oid);
}

void ss_catalog_table_release(struct ss_catalog_table *t)
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

int ss_catalog_partition_sets(struct ss_pg *pg, uint32_t oid,
			      ss_catalog_partition_cb cb, void *ctx,
			      struct ss_err *err)
{
	char oidtxt[16];
	const char *params[1] = {oidtxt};
	PGresult *r;
	int rc;

	oid_text(oidtxt, oid);
	if (q_exec(
		pg,
		"SELECT t.relid::oid, n.nspname, c.relname, " SS_CATALOG_LEAVES_OF(
		    "t.relid") " FROM pg_catalog.pg_partition_tree($1::oid) t"
			       " JOIN pg_catalog.pg_class c ON c.oid = t.relid"
			       " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			       " WHERE c.relkind = 'p'",
		1, params, &r, err) < 0)
		return -1;
	rc = ss_catalog_each_partition_set(r, cb, ctx);
	PQclear(r);
	return rc;
}

int ss_catalog_describe(struct ss_pg *c, const char *schema, const char *name,
			struct ss_catalog_table *t, struct ss_err *err)
{
	const char *params[2] = {schema, name};
	char oidtxt[16];
	PGresult *r;
	int i, n, npk = 0;

	memset(t, 0, sizeof(*t));
	if (q_exec(c, describe_rel_sql, 2, params, &r, err) < 0)
		return -1;
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

	oid_text(oidtxt, t->oid);
	params[0] = oidtxt;
	if (q_exec(c, describe_cols_sql, 1, params, &r, err) < 0) {
		ss_catalog_table_release(t);
		return -1;
	}
	n = PQntuples(r);
	t->cols = ss_xcalloc((size_t)n + 1, sizeof(*t->cols));
	t->ncols = (size_t)n;
	for (i = 0; i < n; i++) {
		struct ss_catalog_column *col = &t->cols[i];

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
		col->pk_index =
		    PQgetisnull(r, i, 8)
			? -1
			: (int)strtol(PQgetvalue(r, i, 8), NULL, 10) - 1;
		if (col->pk_index >= 0)
			npk++;
	}
	PQclear(r);
	if (npk > 0) {
		t->pk = ss_xcalloc((size_t)npk, sizeof(*t->pk));
		for (i = 0; i < n; i++)
			if (t->cols[i].pk_index >= 0 &&
			    t->cols[i].pk_index < npk)
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

long ss_catalog_column(const struct ss_catalog_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return (long)i;
	return -1;
}

int ss_catalog_each_partition_set(PGresult *r, ss_catalog_partition_cb cb,
				  void *ctx)
{
	int i, rc = 0;

	for (i = 0; i < PQntuples(r) && rc == 0; i++)
		rc = cb((uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10),
			PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
			PQgetvalue(r, i, 3), ctx);
	return rc;
}

/* ------------------------------------------------------------- types */

int ss_catalog_builtin_types(struct ss_pg *pg,
			     void (*cb)(uint32_t oid, const char *name,
					void *ctx),
			     void *ctx, struct ss_err *err)
{
	PGresult *r;
	int i, n;
	uint64_t oid;

	if (ss_pg_exec(pg, "could not load the built-in types",
		       "SELECT oid, typname FROM pg_type WHERE oid < 16384", 0,
		       NULL, &r, NULL, err) < 0)
		return -1;
	n = PQntuples(r);
	for (i = 0; i < n; i++)
		if (ss_parse_u64(PQgetvalue(r, i, 0), UINT32_MAX, &oid,
				 "type oid", NULL) == 0)
			cb((uint32_t)oid, PQgetvalue(r, i, 1), ctx);
	PQclear(r);
	return 0;
}

int ss_catalog_type_name(struct ss_pg *pg, uint32_t oid, struct ss_buf *out,
			 int *found, struct ss_err *err)
{
	char buf[16];
	const char *params[1] = {buf};
	PGresult *r;

	*found = 0;
	oid_text(buf, oid);
	if (ss_pg_exec(pg, "could not look up a type",
		       "SELECT typname FROM pg_type WHERE oid = $1::oid", 1,
		       params, &r, NULL, err) < 0)
		return -1;
	if (PQntuples(r) == 1) {
		ss_buf_adds(out, PQgetvalue(r, 0, 0));
		*found = 1;
	}
	PQclear(r);
	return 0;
}

/* ------------------------------------------------------------- keys */

int ss_catalog_primary_key(struct ss_pg *pg, uint32_t oid,
			   struct ss_catalog_key *k, struct ss_err *err)
{
	char buf[16];
	const char *params[1] = {buf};
	PGresult *r;
	size_t i;

	memset(k, 0, sizeof(*k));
	oid_text(buf, oid);
	if (ss_pg_exec(pg, "could not look up a primary key",
		       "SELECT a.attname, array_position(i.indkey::int2[], "
		       "a.attnum) - array_lower(i.indkey::int2[], 1) "
		       "FROM pg_index i JOIN pg_attribute a "
		       "ON a.attrelid = i.indrelid AND a.attnum = ANY "
		       "(i.indkey) WHERE i.indrelid = $1::oid AND "
		       "i.indisprimary",
		       1, params, &r, NULL, err) < 0)
		return -1;
	k->n = (size_t)PQntuples(r);
	k->names = ss_xcalloc(k->n + 1, sizeof(*k->names));
	k->pos = ss_xcalloc(k->n + 1, sizeof(*k->pos));
	for (i = 0; i < k->n; i++) {
		int64_t v;

		k->names[i] = ss_xstrdup(PQgetvalue(r, (int)i, 0));
		k->pos[i] = ss_parse_i64(PQgetvalue(r, (int)i, 1), 0, 31, &v,
					 "key index", NULL) == 0
				? (int)v
				: -1;
	}
	PQclear(r);
	return 0;
}

int ss_catalog_key_index(const struct ss_catalog_key *k, const char *name)
{
	size_t i;

	/* The first usable row of that name, as the lookup always did. */
	for (i = 0; i < k->n; i++)
		if (!strcmp(k->names[i], name) && k->pos[i] >= 0)
			return k->pos[i];
	return -1;
}

void ss_catalog_key_release(struct ss_catalog_key *k)
{
	ss_catalog_names_free(k->names, k->n);
	free(k->pos);
	memset(k, 0, sizeof(*k));
}

/* ------------------------------------------------------------- partitions */

int ss_catalog_ancestors(struct ss_pg *pg, uint32_t oid,
			 struct ss_catalog_rel **out, size_t *n,
			 struct ss_err *err)
{
	static const char anc_sql[] =
	    "SELECT a.relid::oid, n.nspname, c.relname, c.relreplident "
	    "FROM pg_catalog.pg_partition_ancestors($1::oid) WITH "
	    "ORDINALITY a(relid, ord) JOIN pg_catalog.pg_class c ON "
	    "c.oid = a.relid JOIN pg_catalog.pg_namespace n ON n.oid = "
	    "c.relnamespace WHERE a.relid <> $1::oid ORDER BY a.ord";
	char buf[16];
	const char *params[1] = {buf};
	struct ss_catalog_rel *rels;
	PGresult *r;
	size_t i, m;

	*out = NULL;
	*n = 0;
	oid_text(buf, oid);
	if (ss_pg_exec(pg, "could not look up a table's ancestors", anc_sql, 1,
		       params, &r, NULL, err) < 0)
		return -1;
	m = (size_t)PQntuples(r);
	rels = ss_xcalloc(m + 1, sizeof(*rels));
	for (i = 0; i < m; i++) {
		uint64_t v;

		if (ss_parse_u64(PQgetvalue(r, (int)i, 0), UINT32_MAX, &v,
				 "oid", err) < 0) {
			ss_catalog_rels_free(rels, i);
			PQclear(r);
			return -1;
		}
		rels[i].oid = (uint32_t)v;
		rels[i].schema = ss_xstrdup(PQgetvalue(r, (int)i, 1));
		rels[i].name = ss_xstrdup(PQgetvalue(r, (int)i, 2));
		rels[i].replident = PQgetvalue(r, (int)i, 3)[0];
	}
	PQclear(r);
	*out = rels;
	*n = m;
	return 0;
}

void ss_catalog_rels_free(struct ss_catalog_rel *rels, size_t n)
{
	size_t i;

	for (i = 0; rels && i < n; i++) {
		free(rels[i].schema);
		free(rels[i].name);
	}
	free(rels);
}

int ss_catalog_column_names(struct ss_pg *pg, uint32_t oid, char ***names,
			    size_t *n, struct ss_err *err)
{
	static const char names_sql[] =
	    "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
	    "$1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum";
	char buf[16];
	const char *params[1] = {buf};
	PGresult *r;
	size_t i;

	*names = NULL;
	*n = 0;
	oid_text(buf, oid);
	if (ss_pg_exec(pg, "could not look up a table's columns", names_sql, 1,
		       params, &r, NULL, err) < 0)
		return -1;
	*n = (size_t)PQntuples(r);
	*names = ss_xcalloc(*n + 1, sizeof(**names));
	for (i = 0; i < *n; i++)
		(*names)[i] = ss_xstrdup(PQgetvalue(r, (int)i, 0));
	PQclear(r);
	return 0;
}

void ss_catalog_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}
