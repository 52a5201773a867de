/*
 * registry_admin.c — the registry's admin mechanisms for shapesync-db:
 * check (and repair), vacuum, export and import.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "datadir.h"
#include "lsn.h"
#include "registry_int.h"
#include "subq.h"

/* ------------------------------------------------------- check, vacuum */

struct finding_ctx {
	ss_registry_finding_cb cb;
	void *ctx;
	int n;
};

static void finding(struct finding_ctx *f, int repaired, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finding(struct finding_ctx *f, int repaired, const char *fmt, ...)
{
	struct ss_buf msg = SS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	ss_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	f->n++;
	if (f->cb)
		f->cb(msg.buf, repaired, f->ctx);
	ss_buf_release(&msg);
}

/* Run a query whose rows are findings; with repair, run `fix` after. */
static int check_query(sqlite3 *db, struct finding_ctx *f, int repair,
		       const char *q, const char *fmt, const char *fix,
		       struct ss_err *err, const char *path)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		return ss_reg_sql_fail(err, db, "could not check", path);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		finding(f, repair && fix, fmt,
			ss_reg_col_text(st, 0) ? ss_reg_col_text(st, 0) : "");
		found++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ss_reg_sql_fail(err, db, "could not check", path);
	if (found && repair && fix && ss_reg_exec(db, fix, err, path) < 0)
		return -1;
	return 0;
}

int ss_registry_check(struct ss_registry *r, int repair,
		      ss_registry_finding_cb cb, void *ctx, struct ss_err *err)
{
	struct finding_ctx f = {cb, ctx, 0};
	sqlite3_stmt *st;
	sqlite3 *db;
	int rc, ok = 1;

	if (ss_registry_flush(r, err) < 0)
		return -1;
	db = ss_reg_wconn_get(r, err);
	if (!db)
		return -1;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) !=
	    SQLITE_OK) {
		ss_reg_sql_fail(err, db, "could not check", r->path);
		ss_reg_wconn_put(r);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *m = ss_reg_col_text(st, 0);

		if (m && strcmp(m, "ok")) {
			finding(&f, 0, "sqlite: %s", m);
			ok = 0;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ss_reg_sql_fail(err, db, "could not check", r->path);
		ss_reg_wconn_put(r);
		return -1;
	}
	if (!ok) {
		/* Our own checks mean nothing on a damaged file. */
		ss_reg_wconn_put(r);
		return f.n;
	}
	if (repair && ss_reg_exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto fail;
	if (check_query(
		db, &f, repair,
		"SELECT 'shape ' || shape_id || ' oid ' || oid FROM shape_relations"
		" WHERE shape_id NOT IN (SELECT id FROM shapes)",
		"relation row for a missing shape: %s",
		"DELETE FROM shape_relations WHERE shape_id NOT IN (SELECT id FROM shapes)",
		err, r->path) < 0)
		goto fail;
	if (check_query(
		db, &f, repair,
		"SELECT max(id) FROM shapes HAVING max(id) >"
		" (SELECT value FROM progress WHERE key = 'id_reserved')",
		"shape id %s is beyond the reserved ids",
		"UPDATE progress SET value = (SELECT max(id) FROM shapes)"
		" WHERE key = 'id_reserved'",
		err, r->path) < 0)
		goto fail;
	if (check_query(
		db, &f, repair,
		"SELECT key FROM (SELECT 'durable_lsn' AS key UNION ALL SELECT"
		" 'id_reserved' UNION ALL SELECT 'changes_trimmed' UNION ALL"
		" SELECT 'stream') WHERE key NOT IN (SELECT key FROM progress)",
		"progress row '%s' is missing",
		"INSERT OR IGNORE INTO progress VALUES ('durable_lsn', 0),"
		" ('id_reserved', (SELECT coalesce(max(id), 0) FROM shapes)),"
		" ('changes_trimmed', 0),"
		" ('stream', (SELECT coalesce(max(stream), 0) FROM streams))",
		err, r->path) < 0)
		goto fail;
	/* A started or complete snapshot must carry the PostgreSQL snapshot;
	 * repair returns such a shape to pending so it is snapshotted again. */
	if (check_query(
		db, &f, repair,
		"SELECT handle FROM shapes WHERE snapshot_state > 0 AND"
		" (snapshot_xmin IS NULL OR snapshot_xmax IS NULL OR"
		"  snapshot_xmin > snapshot_xmax)",
		"shape %s has a snapshot state without a valid snapshot",
		"UPDATE shapes SET snapshot_state = 0, snapshot_xmin = NULL,"
		" snapshot_xmax = NULL, snapshot_xip = NULL WHERE snapshot_state > 0 AND"
		" (snapshot_xmin IS NULL OR snapshot_xmax IS NULL OR"
		"  snapshot_xmin > snapshot_xmax)",
		err, r->path) < 0)
		goto fail;
	if (check_query(
		db, &f, 0,
		"SELECT 'version ' || (SELECT user_version FROM pragma_user_version)"
		" WHERE (SELECT user_version FROM pragma_user_version) != " SS_STR(
		    SS_REGISTRY_SCHEMA_VERSION),
		"unexpected schema %s", NULL, err, r->path) < 0)
		goto fail;
	if (repair && ss_reg_exec(db, "COMMIT", err, r->path) < 0)
		goto fail;
	ss_reg_wconn_put(r);
	return f.n;
fail:
	if (repair)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	ss_reg_wconn_put(r);
	return -1;
}

/* ------------------------------------------------------- for people */

/* Handles minted until the year 2286: 10 digits, '-', 16 digits. */
#define HANDLE_WIDTH 27
#define TABLE_WIDTH_MAX 40
#define TIME_WIDTH 20

static void add_time(struct ss_buf *b, int64_t us, int seconds_only)
{
	char t[64], *dot;

	if (us <= 0) {
		ss_buf_adds(b, "-");
		return;
	}
	ss_format_time_us(us, t, sizeof(t));
	if (seconds_only && (dot = strchr(t, '.')))
		snprintf(dot, sizeof(t) - (size_t)(dot - t), "Z");
	ss_buf_adds(b, t);
}

/* An identifier for people: bare when PostgreSQL would read it back as
 * is, else quoted (keywords are not checked: display only). */
static void add_ident(struct ss_buf *b, const char *ident)
{
	struct ss_buf q = SS_BUF_INIT;
	const char *p;
	int bare = (*ident >= 'a' && *ident <= 'z') || *ident == '_';

	for (p = ident; bare && *p; p++)
		bare = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		       *p == '_' || *p == '$';
	if (bare) {
		ss_buf_adds(b, ident);
		return;
	}
	ss_shape_quote_ident(&q, ident);
	ss_buf_add_clean(b, q.buf);
	ss_buf_release(&q);
}

void ss_shape_rec_table_name(const struct ss_shape_rec *rec, struct ss_buf *b)
{
	add_ident(b, rec->schema_name ? rec->schema_name : "");
	ss_buf_addc(b, '.');
	add_ident(b, rec->table_name ? rec->table_name : "");
}

static void pad(struct ss_buf *b, size_t start, size_t width)
{
	while (b->len - start < width)
		ss_buf_addc(b, ' ');
}

/* The definition of a record, parsed; -1 with err for one that cannot
 * be read (s is then empty). */
static int rec_shape(const struct ss_shape_rec *rec, struct ss_shape *s,
		     struct ss_err *err)
{
	struct ss_err e = SS_ERR_INIT;

	ss_shape_init(s);
	if (ss_shape_from_canonical(s, rec->definition, &e) == 0)
		return 0;
	ss_shape_init(s);
	return ss_err_set(err, SS_ERR_RUNTIME,
			  "shape %" PRId64 " has an unreadable "
			  "definition: %s",
			  rec->id, e.msg);
}

void ss_shape_rec_measure(const struct ss_shape_rec *rec, int *id_width,
			  int *table_width)
{
	struct ss_buf b = SS_BUF_INIT;
	int64_t n;
	int w = 1;

	for (n = rec->id; n >= 10; n /= 10)
		w++;
	if (w > *id_width)
		*id_width = w;
	ss_shape_rec_table_name(rec, &b);
	if ((int)b.len > *table_width)
		*table_width =
		    b.len > TABLE_WIDTH_MAX ? TABLE_WIDTH_MAX : (int)b.len;
	ss_buf_release(&b);
}

void ss_shape_rec_table_header(struct ss_buf *b, int id_width, int table_width)
{
	ss_buf_addf(b, "%*s %-*s %-*s %-8s %-*s %-*s WHERE\n", id_width, "ID",
		    HANDLE_WIDTH, "HANDLE", table_width, "TABLE", "SNAPSHOT",
		    TIME_WIDTH, "CREATED", TIME_WIDTH, "LAST_READ");
}

int ss_shape_rec_to_row(const struct ss_shape_rec *rec, int id_width,
			int table_width, struct ss_buf *b, struct ss_err *err)
{
	struct ss_shape s;
	size_t start;
	int bad = rec_shape(rec, &s, err) < 0;

	ss_buf_addf(b, "%*" PRId64 " ", id_width, rec->id);
	start = b->len;
	ss_buf_add_clean(b, rec->handle);
	pad(b, start, HANDLE_WIDTH);
	ss_buf_addc(b, ' ');
	start = b->len;
	ss_shape_rec_table_name(rec, b);
	pad(b, start, (size_t)table_width);
	ss_buf_addf(b, " %-8s ", ss_snapshot_state_name(rec->snapshot_state));
	start = b->len;
	add_time(b, rec->created_us, 1);
	pad(b, start, TIME_WIDTH);
	ss_buf_addc(b, ' ');
	start = b->len;
	add_time(b, rec->last_read_us, 1);
	pad(b, start, TIME_WIDTH);
	ss_buf_addc(b, ' ');
	if (bad)
		ss_buf_addc(b, '?');
	else if (s.where)
		ss_buf_add_clean(b, s.where);
	else
		ss_buf_addc(b, '-');
	ss_buf_addc(b, '\n');
	if (rec->deps) {
		/* The tree: a line under the ID column per inner shape. */
		struct ss_subq_deps d;
		struct ss_err e = SS_ERR_INIT;
		size_t i;

		if (ss_subq_deps_parse(rec->deps, &d, &e) < 0) {
			ss_buf_addf(b, "%*s\\_ subquery: ?\n", id_width, "");
		} else {
			for (i = 0; i < d.ninner; i++)
				ss_buf_addf(
				    b,
				    "%*s\\_ subquery %zu: shape %" PRId64 "\n",
				    id_width, "", i + 1, d.inner[i]);
			ss_subq_deps_release(&d);
		}
	}
	ss_shape_release(&s);
	return bad ? -1 : 0;
}

int ss_shape_rec_to_text(const struct ss_shape_rec *rec, struct ss_buf *b,
			 struct ss_err *err)
{
	struct ss_shape s;
	size_t i;
	int bad = rec_shape(rec, &s, err) < 0;

	ss_buf_addf(b, "id: %" PRId64 "\nhandle: ", rec->id);
	ss_buf_add_clean(b, rec->handle);
	ss_buf_adds(b, "\ntable: ");
	ss_shape_rec_table_name(rec, b);
	ss_buf_adds(b, "\nwhere: ");
	ss_buf_add_clean(b, bad ? "?" : s.where ? s.where : "-");
	ss_buf_adds(b, "\nparams: ");
	if (!s.nparams)
		ss_buf_addc(b, bad ? '?' : '-');
	for (i = 0; i < s.nparams; i++) {
		struct ss_buf q = SS_BUF_INIT;

		ss_buf_add_json_string(&q, s.params[i], strlen(s.params[i]));
		ss_buf_adds(b, i ? ", " : "");
		ss_buf_add(b, q.buf, q.len);
		ss_buf_release(&q);
	}
	ss_buf_adds(b, "\ncolumns: ");
	if (!s.ncolumns)
		ss_buf_addc(b, bad ? '?' : '*');
	for (i = 0; i < s.ncolumns; i++) {
		ss_buf_adds(b, i ? ", " : "");
		add_ident(b, s.columns[i]);
	}
	ss_buf_addf(b, "\nreplica: %s\nlog: %s\nhash: %" PRIu32 "\noids: ",
		    bad				   ? "?"
		    : s.replica == SS_REPLICA_FULL ? "full"
						   : "default",
		    bad					? "?"
		    : s.log_mode == SS_LOG_CHANGES_ONLY ? "changes_only"
							: "full",
		    rec->hash);
	if (!rec->noids)
		ss_buf_addc(b, '-');
	for (i = 0; i < rec->noids; i++)
		ss_buf_addf(b, "%s%" PRIu32, i ? " " : "", rec->oids[i]);
	if (rec->deps) {
		struct ss_subq_deps d;
		struct ss_err e = SS_ERR_INIT;

		ss_buf_adds(b, "\ndepends on:");
		if (ss_subq_deps_parse(rec->deps, &d, &e) < 0) {
			ss_buf_adds(b, " ?");
		} else {
			for (i = 0; i < d.ninner; i++)
				ss_buf_addf(b, " %" PRId64, d.inner[i]);
			ss_subq_deps_release(&d);
		}
	}
	ss_buf_addf(b, "\nsnapshot: %s\npg_snapshot: ",
		    ss_snapshot_state_name(rec->snapshot_state));
	if (rec->snapshot_state == SS_SNAPSHOT_PENDING) {
		ss_buf_addc(b, '-');
	} else {
		/* PostgreSQL's pg_snapshot text form: xmin:xmax:xip,... */
		ss_buf_addf(b, "%" PRIu64 ":%" PRIu64 ":", rec->snapshot.xmin,
			    rec->snapshot.xmax);
		for (i = 0; i < rec->snapshot.nxip; i++)
			ss_buf_addf(b, "%s%" PRIu64, i ? "," : "",
				    rec->snapshot.xip[i]);
	}
	ss_buf_adds(b, "\ncreated: ");
	add_time(b, rec->created_us, 0);
	ss_buf_adds(b, "\nlast_read: ");
	add_time(b, rec->last_read_us, 0);
	ss_buf_adds(b, "\nactive_lsn: ");
	if (rec->active)
		ss_buf_addf(b, "%" PRIX32 "/%" PRIX32,
			    (uint32_t)(rec->active_lsn >> 32),
			    (uint32_t)rec->active_lsn);
	else
		ss_buf_addc(b, '-');
	ss_buf_adds(b, "\ndefinition: ");
	ss_buf_add_clean(b, rec->definition);
	ss_buf_addc(b, '\n');
	ss_shape_release(&s);
	return bad ? -1 : 0;
}

/* ---------------------------------------------- registry vs data dir */

struct dircheck {
	struct finding_ctx f;
	struct ss_registry *reg;
	const char *dir;
	int repair;
	struct ss_err *err;
	/* complete shapes without a directory, removed after the walk */
	int64_t *ids;
	char **handles;
	size_t nids, alloc_ids, alloc_handles;
};

static int check_entry(const char *name, const char *path, int is_handle,
		       void *p)
{
	struct dircheck *c = p;
	struct ss_shape_rec rec;
	int r;

	if (is_handle) {
		ss_shape_rec_init(&rec);
		r = ss_registry_get_by_handle(c->reg, name, &rec, c->err);
		if (r < 0)
			return -1;
		ss_shape_rec_release(&rec);
		if (r == 1)
			return 0;
	}
	/* Trashing the entry just returned is safe during the walk: the
	 * rest of the directory is still listed (POSIX readdir). */
	if (c->repair && ss_datadir_trash(c->dir, path, c->err) < 0)
		return -1;
	finding(&c->f, c->repair, "%s: %s",
		is_handle ? "orphan data directory"
			  : "stray entry in data directory",
		path);
	return 0;
}

static int check_shape(const struct ss_shape_rec *rec, void *p)
{
	struct dircheck *c = p;
	struct ss_buf path = SS_BUF_INIT;
	struct ss_err e = SS_ERR_INIT;
	struct ss_shape s;
	struct stat st;

	ss_shape_init(&s);
	if (ss_shape_from_canonical(&s, rec->definition, &e) < 0)
		finding(&c->f, 0,
			"shape %" PRId64
			" (%s) has an unreadable definition: %s",
			rec->id, rec->handle, e.msg);
	ss_shape_release(&s);
	if (rec->snapshot_state != SS_SNAPSHOT_COMPLETE)
		return 0;
	ss_datadir_shape_path(&path, c->dir, rec->handle);
	errno = 0;
	if (stat(path.buf, &st) == 0 && S_ISDIR(st.st_mode)) {
		ss_buf_release(&path);
		return 0;
	}
	/* A file where the directory should be counts as missing. */
	if (errno != ENOENT && errno != ENOTDIR && errno != 0) {
		ss_err_set(c->err, SS_ERR_RUNTIME, "could not stat '%s': %s",
			   path.buf, strerror(errno));
		ss_buf_release(&path);
		return -1;
	}
	if (c->repair) {
		/* Removing while the registry streams could wait on the
		 * flusher under the reader; do it after the walk. */
		SS_GROW(c->ids, c->alloc_ids, c->nids + 1);
		SS_GROW(c->handles, c->alloc_handles, c->nids + 1);
		c->ids[c->nids] = rec->id;
		c->handles[c->nids++] = ss_xstrdup(rec->handle);
	} else {
		finding(&c->f, 0,
			"missing data directory of complete shape %" PRId64
			" (%s): %s",
			rec->id, rec->handle, path.buf);
	}
	ss_buf_release(&path);
	return 0;
}

int ss_registry_check_datadir(struct ss_registry *reg, const char *dir,
			      int repair, ss_registry_finding_cb cb, void *ctx,
			      struct ss_err *err)
{
	struct dircheck c;
	struct ss_buf path = SS_BUF_INIT;
	struct ss_err walk = SS_ERR_INIT;
	size_t i;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	c.f.cb = cb;
	c.f.ctx = ctx;
	c.reg = reg;
	c.dir = dir;
	c.repair = repair;
	c.err = err;
	if (ss_datadir_foreach_shape(dir, check_entry, &c, &walk) != 0 ||
	    ss_registry_foreach(reg, check_shape, &c, &walk) != 0) {
		/* A callback's error is in err already; a walk's in walk. */
		if (!err->code)
			*err = walk;
		rc = -1;
		goto out;
	}
	for (i = 0; i < c.nids; i++)
		if (ss_registry_remove(reg, c.ids[i], err) < 0) {
			rc = -1;
			goto out;
		}
	if (ss_registry_flush(reg, err) < 0) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < c.nids; i++) {
		ss_buf_reset(&path);
		ss_datadir_shape_path(&path, dir, c.handles[i]);
		finding(&c.f, 1,
			"missing data directory of complete shape %" PRId64
			" (%s): %s",
			c.ids[i], c.handles[i], path.buf);
	}
out:
	for (i = 0; i < c.nids; i++)
		free(c.handles[i]);
	free(c.handles);
	free(c.ids);
	ss_buf_release(&path);
	return rc < 0 ? -1 : c.f.n;
}

static int count_entry(const char *name, const char *path, int is_handle,
		       void *p)
{
	struct ss_datadir_counts *dc = p;

	(void)name, (void)path;
	if (is_handle)
		dc->shape_dirs++;
	else
		dc->stray_entries++;
	return 0;
}

int ss_registry_datadir_counts(const char *dir, struct ss_datadir_counts *dc,
			       struct ss_err *err)
{
	struct ss_buf b = SS_BUF_INIT;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	memset(dc, 0, sizeof(*dc));
	if (ss_datadir_foreach_shape(dir, count_entry, dc, err) < 0)
		return -1;
	/* Top-level entries of <dir>/trash; none if there is no trash. */
	ss_buf_addf(&b, "%s/trash", dir);
	d = opendir(b.buf);
	if (!d) {
		if (errno != ENOENT)
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"could not read directory '%s': %s",
					b.buf, strerror(errno));
		ss_buf_release(&b);
		return rc;
	}
	while ((errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			dc->trash_entries++;
	if (errno)
		rc = ss_err_set(err, SS_ERR_RUNTIME,
				"could not read directory '%s': %s", b.buf,
				strerror(errno));
	closedir(d);
	ss_buf_release(&b);
	return rc;
}

int ss_registry_vacuum(struct ss_registry *r, struct ss_err *err)
{
	sqlite3 *db;
	int rc;

	if (ss_registry_flush(r, err) < 0)
		return -1;
	db = ss_reg_wconn_get(r, err);
	if (!db)
		return -1;
	rc = ss_reg_exec(
	    db, "VACUUM; PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);",
	    err, r->path);
	ss_reg_wconn_put(r);
	return rc;
}

/* ------------------------------------------------------- export, import */

void ss_shape_rec_to_json(const struct ss_shape_rec *rec, struct ss_buf *out)
{
	char lsn[SS_LSN_STRMAX];
	size_t i;

	ss_buf_addf(out, "{\"id\":%" PRId64 ",\"handle\":", rec->id);
	ss_buf_add_json_string(out, rec->handle, strlen(rec->handle));
	/* The canonical definition is itself compact JSON: embed it. */
	ss_buf_addf(out, ",\"definition\":%s,\"hash\":%" PRIu32 ",\"oids\":[",
		    rec->definition, rec->hash);
	for (i = 0; i < rec->noids; i++)
		ss_buf_addf(out, "%s%" PRIu32, i ? "," : "", rec->oids[i]);
	ss_buf_addf(out, "],\"snapshot_state\":\"%s\"",
		    ss_snapshot_state_name(rec->snapshot_state));
	if (rec->snapshot_state != SS_SNAPSHOT_PENDING || rec->snapshot.xmax) {
		ss_buf_addf(out,
			    ",\"xmin\":\"%" PRIu64 "\",\"xmax\":\"%" PRIu64
			    "\",\"xip\":[",
			    rec->snapshot.xmin, rec->snapshot.xmax);
		for (i = 0; i < rec->snapshot.nxip; i++)
			ss_buf_addf(out, "%s\"%" PRIu64 "\"", i ? "," : "",
				    rec->snapshot.xip[i]);
		ss_buf_addc(out, ']');
	}
	ss_buf_addf(out, ",\"created\":\"%" PRId64 "\",\"last_read\":",
		    rec->created_us);
	if (rec->last_read_us)
		ss_buf_addf(out, "\"%" PRId64 "\"", rec->last_read_us);
	else
		ss_buf_adds(out, "null");
	ss_buf_adds(out, ",\"active_lsn\":");
	if (rec->active) {
		ss_lsn_format(rec->active_lsn, lsn);
		ss_buf_addf(out, "\"%s\"", lsn);
	} else {
		ss_buf_adds(out, "null");
	}
	/* Kept canonical (import re-renders it): embed it. */
	if (rec->deps)
		ss_buf_addf(out, ",\"deps\":%s", rec->deps);
	ss_buf_addc(out, '}');
}

struct ss_registry_import {
	struct ss_registry *reg;
	sqlite3 *db;
	struct stmts s;
	struct ss_buf tmp;
	int64_t n, max_id;
	int64_t reserved; /* id_reserved when the import began */
};

int ss_registry_import_begin(struct ss_registry *r,
			     struct ss_registry_import **out,
			     struct ss_err *err)
{
	struct ss_registry_import *imp;
	sqlite3 *db;

	if (ss_registry_flush(r, err) < 0)
		return -1;
	db = ss_reg_wconn_get(r, err);
	if (!db)
		return -1;
	imp = ss_xcalloc(1, sizeof(*imp));
	imp->reg = r;
	imp->db = db;
	ss_buf_init(&imp->tmp);
	if (ss_reg_stmts_prepare(db, &imp->s) < 0) {
		ss_reg_sql_fail(err, db, "could not write", r->path);
		goto fail;
	}
	if (ss_reg_exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto fail;
	imp->reserved = ss_reg_query_int(
	    db, "SELECT value FROM progress WHERE key = 'id_reserved'", 0);
	*out = imp;
	return 0;
fail:
	ss_reg_stmts_finalize(&imp->s);
	free(imp);
	ss_reg_wconn_put(r);
	return -1;
}

/* Read a decimal uint64 from a JSON string (or integer) member. */
static int json_u64(json_t *obj, const char *key, int required, uint64_t *out,
		    struct ss_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			return ss_err_set(err, SS_ERR_INPUT,
					  "missing field '%s'", key);
		*out = 0;
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return ss_parse_u64(json_string_value(v), UINT64_MAX, out, key,
				    err);
	return ss_err_set(err, SS_ERR_INPUT,
			  "field '%s' must be a decimal string", key);
}

static int parse_import(const char *line, struct ss_shape_rec *rec,
			struct ss_err *err)
{
	static const char *const known[] = {
	    "id",      "handle",    "definition",
	    "hash",    "oids",	    "snapshot_state",
	    "xmin",    "xmax",	    "xip",
	    "created", "last_read", "active_lsn",
	    "deps",    NULL};
	json_error_t jerr;
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *v;
	struct ss_shape shape;
	struct ss_buf canon = SS_BUF_INIT;
	const char *key;
	char *defjson = NULL;
	uint64_t u;
	size_t i;
	int state;

	ss_shape_init(&shape);
	if (!o)
		return ss_err_set(err, SS_ERR_INPUT, "invalid JSON: %s",
				  jerr.text);
	if (!json_is_object(o)) {
		ss_err_set(err, SS_ERR_INPUT, "expected a JSON object");
		goto fail;
	}
	json_object_foreach(o, key, v)
	{
		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (!known[i]) {
			ss_err_set(err, SS_ERR_INPUT, "unknown field '%s'",
				   key);
			goto fail;
		}
	}
	v = json_object_get(o, "id");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		ss_err_set(err, SS_ERR_INPUT,
			   "field 'id' must be a positive integer");
		goto fail;
	}
	rec->id = json_integer_value(v);
	v = json_object_get(o, "handle");
	if (!json_is_string(v) ||
	    !ss_shape_handle_valid(json_string_value(v), NULL)) {
		ss_err_set(err, SS_ERR_INPUT,
			   "field 'handle' must be a valid shape handle");
		goto fail;
	}
	rec->handle = ss_xstrdup(json_string_value(v));
	v = json_object_get(o, "definition");
	if (!json_is_object(v)) {
		ss_err_set(err, SS_ERR_INPUT,
			   "field 'definition' must be an object");
		goto fail;
	}
	defjson = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!defjson || ss_shape_from_canonical(&shape, defjson, err) < 0) {
		ss_err_prefix(err, "field 'definition'");
		goto fail;
	}
	/* Store the canonical rendering, whatever spacing the line used. */
	ss_shape_canonical(&shape, &canon);
	rec->definition = ss_buf_detach(&canon, NULL);
	rec->hash =
	    ss_shape_hash_canonical(rec->definition, strlen(rec->definition));
	rec->schema_name = ss_xstrdup(shape.schema);
	rec->table_name = ss_xstrdup(shape.table);
	if (json_u64(o, "hash", 0, &u, err) < 0)
		goto fail;
	if (json_object_get(o, "hash") && u != rec->hash) {
		ss_err_set(err, SS_ERR_INPUT,
			   "field 'hash' does not match the definition");
		goto fail;
	}
	v = json_object_get(o, "oids");
	if (v && !json_is_array(v)) {
		ss_err_set(err, SS_ERR_INPUT, "field 'oids' must be an array");
		goto fail;
	}
	for (i = 0; v && i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);
		size_t alloc = rec->noids;

		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    json_integer_value(x) > UINT32_MAX) {
			ss_err_set(err, SS_ERR_INPUT,
				   "field 'oids' must hold oids");
			goto fail;
		}
		SS_GROW(rec->oids, alloc, rec->noids + 1);
		rec->oids[rec->noids++] = (uint32_t)json_integer_value(x);
	}
	v = json_object_get(o, "deps");
	if (v && !json_is_null(v)) {
		struct ss_subq_deps d;
		char *text =
		    json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
		int rc =
		    text ? ss_subq_deps_parse(text, &d, err)
			 : ss_err_set(err, SS_ERR_INPUT, "must be an object");

		free(text);
		if (rc < 0) {
			ss_err_prefix(err, "field 'deps'");
			goto fail;
		}
		ss_subq_deps_json(&d, &canon);
		rec->deps = ss_buf_detach(&canon, NULL);
		ss_subq_deps_release(&d);
	}
	v = json_object_get(o, "snapshot_state");
	state = json_is_string(v)
		    ? ss_snapshot_state_parse(json_string_value(v))
		: v ? -1
		    : SS_SNAPSHOT_PENDING;
	if (state < 0) {
		ss_err_set(
		    err, SS_ERR_INPUT,
		    "field 'snapshot_state' must be pending, started or complete");
		goto fail;
	}
	rec->snapshot_state = state;
	if (json_u64(o, "xmin", state != SS_SNAPSHOT_PENDING,
		     &rec->snapshot.xmin, err) < 0 ||
	    json_u64(o, "xmax", state != SS_SNAPSHOT_PENDING,
		     &rec->snapshot.xmax, err) < 0)
		goto fail;
	if (rec->snapshot.xmin > rec->snapshot.xmax) {
		ss_err_set(err, SS_ERR_INPUT, "xmin is greater than xmax");
		goto fail;
	}
	v = json_object_get(o, "xip");
	if (v && !json_is_array(v)) {
		ss_err_set(err, SS_ERR_INPUT, "field 'xip' must be an array");
		goto fail;
	}
	for (i = 0; v && i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);
		size_t alloc = rec->snapshot.nxip;

		SS_GROW(rec->snapshot.xip, alloc, rec->snapshot.nxip + 1);
		if (!json_is_string(x) ||
		    ss_parse_u64(json_string_value(x), UINT64_MAX,
				 &rec->snapshot.xip[rec->snapshot.nxip], "xip",
				 err) < 0) {
			ss_err_set(err, SS_ERR_INPUT,
				   "field 'xip' must hold decimal strings");
			goto fail;
		}
		rec->snapshot.nxip++;
	}
	/* Times are kept as signed 64-bit microseconds. */
	if (json_u64(o, "created", 1, &u, err) < 0)
		goto fail;
	if (u > INT64_MAX) {
		ss_err_set(err, SS_ERR_INPUT,
			   "field 'created' is out of range");
		goto fail;
	}
	rec->created_us = (int64_t)u;
	if (json_u64(o, "last_read", 0, &u, err) < 0)
		goto fail;
	if (u > INT64_MAX) {
		ss_err_set(err, SS_ERR_INPUT,
			   "field 'last_read' is out of range");
		goto fail;
	}
	rec->last_read_us = (int64_t)u;
	v = json_object_get(o, "active_lsn");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    ss_lsn_parse(json_string_value(v), &rec->active_lsn, err) <
			0) {
			ss_err_set(err, SS_ERR_INPUT,
				   "field 'active_lsn' must be an LSN");
			goto fail;
		}
		rec->active = 1;
	}
	free(defjson);
	json_decref(o);
	ss_shape_release(&shape);
	return 0;
fail:
	free(defjson);
	json_decref(o);
	ss_shape_release(&shape);
	return -1;
}

int ss_registry_import_line(struct ss_registry_import *imp, const char *line,
			    struct ss_err *err)
{
	struct ss_shape_rec rec;
	int rc;

	ss_shape_rec_init(&rec);
	if (parse_import(line, &rec, err) < 0) {
		ss_shape_rec_release(&rec);
		return -1;
	}
	/* Ids at or below the reservation may be held, unused yet, by a
	 * running process: taking one would make that process's next add
	 * collide. Only ids above every reservation are free to import. */
	if (rec.id <= imp->reserved) {
		ss_err_set(err, SS_ERR_INPUT,
			   "shape id %" PRId64 " is not above the ids already"
			   " reserved in this registry (%" PRId64 ")",
			   rec.id, imp->reserved);
		ss_err_hint(
		    err, "import into a new registry to keep the exported ids");
		ss_shape_rec_release(&rec);
		return -1;
	}
	rc = ss_reg_insert_rec(imp->db, &imp->s, &rec, &imp->tmp);
	if (rc == 0) {
		/* Name what collided, for the operator. */
		sqlite3_stmt *st;

		ss_err_set(err, SS_ERR_INPUT,
			   "shape %" PRId64
			   " ('%s') conflicts with a registered"
			   " shape with the same id, handle or definition",
			   rec.id, rec.handle);
		if (sqlite3_prepare_v2(
			imp->db,
			"SELECT id, handle FROM shapes WHERE id = ?1"
			" OR handle = ?2 OR definition = ?3",
			-1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, rec.id);
			sqlite3_bind_text(st, 2, rec.handle, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, rec.definition, -1,
					  SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				ss_err_detail(
				    err, "registered: id %lld, handle '%s'",
				    (long long)sqlite3_column_int64(st, 0),
				    ss_reg_col_text(st, 1));
			sqlite3_finalize(st);
		}
	} else if (rc < 0) {
		ss_reg_sql_fail(err, imp->db, "could not write",
				imp->reg->path);
	} else {
		imp->n++;
		if (rec.id > imp->max_id)
			imp->max_id = rec.id;
	}
	ss_shape_rec_release(&rec);
	return rc > 0 ? 0 : -1;
}

int ss_registry_import_end(struct ss_registry_import *imp, int abort,
			   int64_t *imported, struct ss_err *err)
{
	struct ss_registry *r = imp->reg;
	struct ss_buf sql = SS_BUF_INIT;
	int rc = 0;

	if (imported)
		*imported = abort ? 0 : imp->n;
	if (abort) {
		sqlite3_exec(imp->db, "ROLLBACK", NULL, NULL, NULL);
	} else {
		/* Imported ids must never be handed out again. */
		ss_buf_addf(&sql,
			    "UPDATE progress SET value = max(value, %" PRId64
			    ")"
			    " WHERE key = 'id_reserved'; COMMIT;",
			    imp->max_id);
		rc = ss_reg_exec(imp->db, sql.buf, err, r->path);
		if (rc < 0) {
			sqlite3_exec(imp->db, "ROLLBACK", NULL, NULL, NULL);
			if (imported)
				*imported = 0;
		}
	}
	ss_reg_stmts_finalize(&imp->s);
	ss_buf_release(&imp->tmp);
	ss_buf_release(&sql);
	free(imp);
	ss_reg_wconn_put(r);
	/* Our id block may overlap what was just imported: take a new one. */
	if (!abort && rc == 0) {
		pthread_mutex_lock(&r->mu);
		r->n_local_commits++;
		pthread_mutex_unlock(&r->mu);
		pthread_mutex_lock(&r->idlock);
		r->next_id = r->id_hi + 1;
		pthread_mutex_unlock(&r->idlock);
	}
	return rc;
}

static int blank(const char *s, size_t n)
{
	return strspn(s, " \t\r\n") == n;
}

int ss_registry_import_file(struct ss_registry *reg, FILE *in, const char *name,
			    int64_t *imported, struct ss_err *err)
{
	struct ss_registry_import *imp;
	struct ss_err ignore = SS_ERR_INIT;
	char *line = NULL;
	size_t cap = 0;
	int64_t lineno = 0;
	ssize_t n;

	if (ss_registry_import_begin(reg, &imp, err) < 0)
		return -1;
	while ((errno = 0, n = getline(&line, &cap, in)) >= 0) {
		lineno++;
		if (blank(line, (size_t)n))
			continue;
		if (strlen(line) != (size_t)n) {
			ss_err_set(err, SS_ERR_INPUT, "NUL byte in line");
		} else {
			if (line[n - 1] == '\n')
				line[n - 1] = '\0';
			if (ss_registry_import_line(imp, line, err) == 0)
				continue;
		}
		ss_registry_import_end(imp, 1, imported, &ignore);
		free(line);
		ss_err_prefix(err, "%s:%" PRId64, name, lineno);
		if (!err->detail[0])
			ss_err_detail(err, "nothing was imported");
		return -1;
	}
	free(line);
	if (ferror(in)) {
		ss_registry_import_end(imp, 1, imported, &ignore);
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not read '%s': %s", name,
				  strerror(errno));
	}
	return ss_registry_import_end(imp, 0, imported, err);
}
