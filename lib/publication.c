/*
 * publication.c — the publication DDL of shapesync, for replicate and
 * serve alike: each statement is built once, below. See publication.h.
 */
#include "publication.h"

#include "registry.h"

#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

/* Run a query whose errors are "postgresql: ..." (serve's form). */
static int q_exec(struct ss_pg *pg, const char *sql, int nparams,
		  const char *const *params, PGresult **res, struct ss_err *err)
{
	return ss_pg_exec(pg, "postgresql", sql, nparams, params, res, NULL,
			  err);
}

/* ---- the statements ------------------------------------------------- */

/* Run one DDL statement; SQLSTATE `ok_state` (may be NULL) counts as
 * done: 42710 duplicate_object, someone else did it meanwhile. *done
 * (may be NULL) says whether this statement did it. */
static int run_ddl(struct ss_pg *pg, const char *what, struct ss_buf *sql,
		   const char *ok_state, int *done, struct ss_err *err)
{
	char state[6];
	int rc = ss_pg_exec(pg, what, sql->buf, 0, NULL, NULL, state, err);

	ss_buf_release(sql);
	if (done)
		*done = rc == 0;
	if (rc < 0 && ok_state && !strcmp(state, ok_state))
		rc = 0;
	return rc;
}

/* CREATE PUBLICATION pub (empty). *made: 0 if another made it meanwhile. */
static int create_publication(struct ss_pg *pg, const char *what,
			      const char *pub, int *made, struct ss_err *err)
{
	struct ss_buf sql = SS_BUF_INIT;

	ss_buf_adds(&sql, "CREATE PUBLICATION ");
	ss_pg_add_ident(pg, &sql, pub);
	return run_ddl(pg, what, &sql, "42710", made, err);
}

/* ALTER PUBLICATION pub ADD TABLE schema.table (already there: done). */
static int add_table(struct ss_pg *pg, const char *what, const char *pub,
		     const char *schema, const char *table, struct ss_err *err)
{
	struct ss_buf sql = SS_BUF_INIT;

	ss_buf_adds(&sql, "ALTER PUBLICATION ");
	ss_pg_add_ident(pg, &sql, pub);
	ss_buf_adds(&sql, " ADD TABLE ");
	ss_pg_add_qualified(pg, &sql, schema, table);
	return run_ddl(pg, what, &sql, "42710", NULL, err);
}

/* ALTER TABLE schema.table REPLICA IDENTITY FULL. */
static int identity_full(struct ss_pg *pg, const char *what, const char *schema,
			 const char *table, struct ss_err *err)
{
	struct ss_buf sql = SS_BUF_INIT;

	ss_buf_adds(&sql, "ALTER TABLE ");
	ss_pg_add_qualified(pg, &sql, schema, table);
	ss_buf_adds(&sql, " REPLICA IDENTITY FULL");
	return run_ddl(pg, what, &sql, NULL, NULL, err);
}

/* ---- replicate ------------------------------------------------------ */

int ss_publication_create(struct ss_pg *pg, const char *pub, int *created,
			  struct ss_err *err)
{
	const char *params[1] = {pub};
	PGresult *r;
	int exists, made, rc;

	*created = 0;
	if (ss_pg_exec(pg, "could not look up the publication",
		       "SELECT 1 FROM pg_publication WHERE pubname = $1", 1,
		       params, &r, NULL, err) < 0)
		return -1;
	exists = PQntuples(r) > 0;
	PQclear(r);
	if (exists)
		return 0;
	rc = create_publication(pg, "could not create the publication", pub,
				&made, err);
	if (rc == 0)
		*created = made;
	return rc;
}

int ss_publication_add_table(struct ss_pg *pg, const char *pub,
			     const char *schema, const char *table,
			     int *changed, struct ss_err *err)
{
	const char *params[3] = {pub, schema, table};
	struct ss_buf sql = SS_BUF_INIT;
	PGresult *r;
	int in_pub, full, rc = 0;

	if (changed)
		*changed = 0;
	if (ss_pg_exec(pg, "could not look up a table",
		       "SELECT c.relreplident = 'f', EXISTS (SELECT 1 FROM "
		       "pg_publication_rel pr JOIN pg_publication p ON p.oid "
		       "= pr.prpubid WHERE p.pubname = $1 AND pr.prrelid = "
		       "c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = "
		       "c.relnamespace WHERE n.nspname = $2 AND c.relname = $3 "
		       "AND c.relkind IN ('r', 'p')",
		       3, params, &r, NULL, err) < 0)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		ss_buf_adds(&sql, "table ");
		ss_pg_add_qualified(pg, &sql, schema, table);
		ss_err_set(err, SS_ERR_INPUT, "%s does not exist", sql.buf);
		ss_buf_release(&sql);
		return -1;
	}
	full = !strcmp(PQgetvalue(r, 0, 0), "t");
	in_pub = !strcmp(PQgetvalue(r, 0, 1), "t");
	PQclear(r);
	if (in_pub && full)
		return 0;
	/* A table locked by a long transaction must not stall the stream
	 * for long: give up after 5 s and let the caller retry. */
	if (ss_pg_exec(pg, "could not set lock_timeout",
		       "SET lock_timeout = '5s'", 0, NULL, NULL, NULL, err) < 0)
		return -1;
	/* FULL first: every change the publication carries then has its
	 * whole old row (route invalidates shapes on one without). */
	if (!full)
		rc = identity_full(pg, "could not set REPLICA IDENTITY FULL",
				   schema, table, err);
	if (rc == 0 && !in_pub)
		rc = add_table(pg, "could not add a table to the publication",
			       pub, schema, table, err);
	if (rc == 0 && changed)
		*changed = 1;
	if (ss_pg_exec(pg, "could not reset lock_timeout", "RESET lock_timeout",
		       0, NULL, NULL, NULL, rc < 0 ? NULL : err) < 0 &&
	    rc == 0)
		return -1;
	return rc;
}

int ss_publication_partition_sets(struct ss_pg *pg, const char *pub,
				  ss_catalog_partition_cb cb, void *ctx,
				  struct ss_err *err)
{
	const char *params[1] = {pub};
	PGresult *r;
	int rc;

	/* Every partitioned table under a published one (a root, or a
	 * partitioned partition), with its leaves in oid order. */
	if (ss_pg_exec(
		pg, "could not read the partitions",
		"SELECT DISTINCT t.relid::oid, n.nspname, c.relname, " SS_CATALOG_LEAVES_OF(
		    "t.relid") " FROM pg_catalog.pg_publication_rel pr"
			       " JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid"
			       " CROSS JOIN LATERAL pg_catalog.pg_partition_tree(pr.prrelid) t"
			       " JOIN pg_catalog.pg_class c ON c.oid = t.relid"
			       " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			       " WHERE p.pubname = $1 AND c.relkind = 'p'",
		1, params, &r, NULL, err) < 0)
		return -1;
	rc = ss_catalog_each_partition_set(r, cb, ctx);
	PQclear(r);
	return rc;
}

/* The oids of a comma-separated list that the other lacks. */
static void leaves_missing(const char *from, const char *in, struct ss_buf *out)
{
	const char *p = from;

	while (*p) {
		size_t n = strcspn(p, ",");
		const char *q = in;
		int found = 0;

		while (*q && !found) {
			size_t m = strcspn(q, ",");

			found = m == n && !strncmp(p, q, n);
			q += m + (q[m] == ',');
		}
		if (!found) {
			if (out->len)
				ss_buf_addc(out, ',');
			ss_buf_add(out, p, n);
		}
		p += n + (p[n] == ',');
	}
}

int ss_publication_partitions_changed(struct ss_pg *pg, const char *before,
				      const char *now, int *spoils,
				      struct ss_buf *why, struct ss_err *err)
{
	struct ss_buf added = SS_BUF_INIT, gone = SS_BUF_INIT;
	const char *p;
	int rc = 0;

	*spoils = 0;
	ss_buf_reset(why);
	leaves_missing(now, before, &added);
	leaves_missing(before, now, &gone);
	/* A partition that left took its rows out of the table with no
	 * change in the WAL (DETACH, DROP). */
	if (gone.len) {
		*spoils = 1;
		ss_buf_addf(why, "partition%s %s left",
			    strchr(gone.buf, ',') ? "s" : "", gone.buf);
	}
	/* One that joined with rows brought them the same way (ATTACH); an
	 * empty one gets its rows through the WAL like any other. */
	for (p = added.buf; *p && rc == 0;) {
		size_t n = strcspn(p, ",");
		char oid[16];
		PGresult *r;
		const char *params[1] = {oid};

		snprintf(oid, sizeof(oid), "%.*s", (int)(n < 15 ? n : 15), p);
		rc = ss_pg_exec(
		    pg, "could not look into a new partition",
		    "SELECT format('SELECT EXISTS (SELECT 1 FROM %s)',"
		    " $1::oid::regclass)",
		    1, params, &r, NULL, err);
		if (rc == 0) {
			char *sql = ss_xstrdup(PQgetvalue(r, 0, 0));

			PQclear(r);
			rc = ss_pg_exec(pg,
					"could not look into a new partition",
					sql, 0, NULL, &r, NULL, err);
			free(sql);
			if (rc == 0) {
				if (!strcmp(PQgetvalue(r, 0, 0), "t")) {
					*spoils = 1;
					ss_buf_addf(
					    why,
					    "%spartition %s joined with rows",
					    why->len ? ", " : "", oid);
				}
				PQclear(r);
			}
		}
		p += n + (p[n] == ',');
	}
	ss_buf_release(&added);
	ss_buf_release(&gone);
	return rc;
}

int ss_publication_partitions_full(struct ss_pg *pg, const char *pub,
				   int *changed, int *failed,
				   struct ss_err *warn, struct ss_err *err)
{
	const char *params[1] = {pub};
	struct ss_buf sql = SS_BUF_INIT;
	PGresult *r;
	int i, n, rc = 0;

	if (changed)
		*changed = 0;
	if (failed)
		*failed = 0;
	/* The EXISTS is a one-time filter: the partition listing is only
	 * expanded for a publication that holds a partitioned table. */
	if (ss_pg_exec(pg, "could not look up the partitions",
		       "SELECT n.nspname, c.relname FROM "
		       "pg_catalog.pg_publication_tables t "
		       "JOIN pg_catalog.pg_namespace n ON n.nspname = "
		       "t.schemaname JOIN pg_catalog.pg_class c ON "
		       "c.relnamespace = n.oid AND c.relname = t.tablename "
		       "WHERE t.pubname = $1 AND c.relispartition AND "
		       "c.relreplident <> 'f' AND EXISTS (SELECT 1 FROM "
		       "pg_catalog.pg_publication_rel pr JOIN "
		       "pg_catalog.pg_publication p ON p.oid = pr.prpubid "
		       "JOIN pg_catalog.pg_class pc ON pc.oid = pr.prrelid "
		       "WHERE p.pubname = $1 AND pc.relkind = 'p')",
		       1, params, &r, NULL, err) < 0)
		return -1;
	n = PQntuples(r);
	if (n > 0 &&
	    ss_pg_exec(pg, "could not set lock_timeout",
		       "SET lock_timeout = '5s'", 0, NULL, NULL, NULL, err) < 0)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++) {
		struct ss_err e = SS_ERR_INIT;

		if (identity_full(pg, "could not set REPLICA IDENTITY FULL",
				  PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
				  &e) == 0) {
			if (changed)
				(*changed)++;
			continue;
		}
		if (PQstatus(ss_pg_conn(pg)) != CONNECTION_OK) {
			*err = e;
			rc = -1;
			break;
		}
		if (failed)
			(*failed)++;
		if (warn)
			*warn = e;
	}
	PQclear(r);
	ss_buf_release(&sql);
	if (n > 0 && rc == 0 &&
	    ss_pg_exec(pg, "could not reset lock_timeout", "RESET lock_timeout",
		       0, NULL, NULL, NULL, err) < 0)
		rc = -1;
	return rc;
}

struct follow {
	struct ss_pg *pg;
	struct ss_registry *reg;
	void (*spoiled)(const char *, const char *, const char *, int64_t,
			void *);
	void *ctx;
	struct ss_err *err;
};

/* One partitioned table's leaves now against the registry's record. */
static int follow_set(uint32_t oid, const char *schema, const char *name,
		      const char *leaves, void *p)
{
	struct follow *f = p;
	struct ss_buf before = SS_BUF_INIT, why = SS_BUF_INIT;
	int found, spoils = 0, rc = -1;
	int64_t n = 0;

	if (ss_registry_partitions_get(f->reg, oid, &before, &found, f->err) <
	    0)
		goto out;
	if (found && !strcmp(before.buf, leaves)) {
		rc = 0;
		goto out;
	}
	if (found &&
	    (ss_publication_partitions_changed(f->pg, before.buf, leaves,
					       &spoils, &why, f->err) < 0 ||
	     (spoils &&
	      ss_registry_remove_table(f->reg, schema, name, &n, f->err) < 0)))
		goto out;
	if (n && f->spoiled)
		f->spoiled(schema, name, why.buf, n, f->ctx);
	rc = ss_registry_partitions_set(f->reg, oid, leaves, f->err);
out:
	ss_buf_release(&before);
	ss_buf_release(&why);
	return rc;
}

int ss_publication_follow_partitions(
    struct ss_pg *pg, const char *pub, struct ss_registry *reg,
    void (*spoiled)(const char *schema, const char *name, const char *why,
		    int64_t removed, void *ctx),
    void *ctx, struct ss_err *err)
{
	struct follow f = {pg, reg, spoiled, ctx, err};

	return ss_publication_partition_sets(pg, pub, follow_set, &f, err);
}

/* ---- serve ---------------------------------------------------------- */

/*
 * REPLICA IDENTITY FULL on every partition under partitioned table `oid`
 * (its changes come under them, with their replica identity: ALTER TABLE
 * on the parent does not recurse). Partitions added later get it from
 * shapesync-replicate.
 */
static int tree_full(struct ss_pg *c, const char *oidtxt, struct ss_err *err)
{
	const char *params[1] = {oidtxt};
	PGresult *r;
	int i, rc = 0;

	if (q_exec(
		c,
		"SELECT n.nspname, c.relname FROM pg_catalog.pg_partition_tree($1::oid) p"
		" JOIN pg_catalog.pg_class c ON c.oid = p.relid"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE p.relid <> $1::oid AND c.relreplident <> 'f'",
		1, params, &r, err) < 0)
		return -1;
	for (i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = identity_full(c, "postgresql", PQgetvalue(r, i, 0),
				   PQgetvalue(r, i, 1), err);
	PQclear(r);
	return rc;
}

/* What the catalog says of table `oidtxt` and publication `pub`, in one
 * query. Membership has two readings: serve's check (manual publishing)
 * accepts any way the table is published, as pg_publication_tables lists
 * it (a schema publication, a published parent) or named in the
 * publication; ensure adds the table unless it is named in the
 * publication or the publication is FOR ALL TABLES. */
struct membership {
	int has_pub; /* the publication exists */
	int named;   /* in pg_publication_rel, or FOR ALL TABLES */
	int listed;  /* in pg_publication_tables, or in pg_publication_rel */
	int full;    /* REPLICA IDENTITY FULL */
};

static int membership(struct ss_pg *c, const char *pub, const char *oidtxt,
		      struct membership *m, struct ss_err *err)
{
	const char *params[2] = {pub, oidtxt};
	PGresult *r;

	if (q_exec(
		c,
		"WITH rel AS (SELECT EXISTS (SELECT 1"
		"  FROM pg_catalog.pg_publication_rel pr"
		"  JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid"
		"  WHERE p.pubname = $1 AND pr.prrelid = $2::oid) AS named)"
		" SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1),"
		" rel.named OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication"
		"  WHERE pubname = $1 AND puballtables),"
		" rel.named OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables"
		"  WHERE pubname = $1 AND (schemaname, tablename) ="
		"  (SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
		"   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		"   WHERE c.oid = $2::oid)),"
		" (SELECT relreplident = 'f' FROM pg_catalog.pg_class WHERE oid = $2::oid)"
		" FROM rel",
		2, params, &r, err) < 0)
		return -1;
	m->has_pub = PQgetvalue(r, 0, 0)[0] == 't';
	m->named = PQgetvalue(r, 0, 1)[0] == 't';
	m->listed = PQgetvalue(r, 0, 2)[0] == 't';
	m->full = PQgetvalue(r, 0, 3)[0] == 't';
	PQclear(r);
	return 0;
}

int ss_publication_check(struct ss_pg *c, const char *pub,
			 const struct ss_catalog_table *t, struct ss_err *err)
{
	char oidtxt[16];
	struct membership m;

	snprintf(oidtxt, sizeof(oidtxt), "%" PRIu32, t->oid);
	if (membership(c, pub, oidtxt, &m, err) < 0)
		return -1;
	if (!m.listed)
		return ss_err_set(
		    err, SS_ERR_INPUT,
		    "Database table \"%s\".\"%s\" is "
		    "missing from the publication \"%s\" and the "
		    "ELECTRIC_MANUAL_TABLE_PUBLISHING setting prevents "
		    "shapesync from adding it",
		    t->schema, t->name, pub);
	if (!m.full)
		return ss_err_set(err, SS_ERR_INPUT,
				  "Database table \"%s\".\"%s\" does "
				  "not have its replica identity set to FULL",
				  t->schema, t->name);
	return 0;
}

int ss_publication_ensure(struct ss_pg *c, const char *pub,
			  const struct ss_catalog_table *t, struct ss_err *err)
{
	char oidtxt[16];
	struct membership m;
	int made;

	snprintf(oidtxt, sizeof(oidtxt), "%" PRIu32, t->oid);
	if (membership(c, pub, oidtxt, &m, err) < 0)
		return -1;

	if (!m.has_pub &&
	    create_publication(c, "postgresql", pub, &made, err) < 0)
		return -1;
	/* REPLICA IDENTITY FULL (of the table and, for a partitioned one,
	 * of its partitions) before the table joins the publication: an
	 * update or delete decoded in between would come with its key alone,
	 * and route invalidates the table's filtered shapes on one. Each
	 * statement commits on its own, so no lock is held across the two. */
	if (!m.full &&
	    identity_full(c, "postgresql", t->schema, t->name, err) < 0)
		return -1;
	if (t->relkind == 'p' && tree_full(c, oidtxt, err) < 0)
		return -1;
	if (!m.named &&
	    add_table(c, "postgresql", pub, t->schema, t->name, err) < 0)
		return -1;
	return 0;
}
