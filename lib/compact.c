/*
 * compact.c — folding change messages into rows over a scratch SQLite file
 * (see compact.h).
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compact.h"

struct ss_compact {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *get, *put, *set, *del;
	uint64_t folded, rows;
};

static int db_error(struct ss_compact *c, const char *what, struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_RUNTIME,
			  "compaction scratch file '%s': "
			  "%s: %s",
			  c->path, what, sqlite3_errmsg(c->db));
}

static void remove_scratch(const char *path)
{
	char side[4096];

	unlink(path);
	snprintf(side, sizeof(side), "%s-journal", path);
	unlink(side);
}

int ss_compact_open(const char *path, struct ss_compact **out,
		    struct ss_err *err)
{
	/* No journal and no sync: the file is scratch, thrown away on any
	 * failure. The page cache is what bounds memory (8 MiB). */
	static const char setup[] =
	    "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
	    "PRAGMA cache_size=-8192; PRAGMA temp_store=FILE;"
	    "PRAGMA locking_mode=EXCLUSIVE;"
	    "CREATE TABLE rows (seq INTEGER PRIMARY KEY, key TEXT NOT NULL "
	    "UNIQUE, rel TEXT NOT NULL, value TEXT NOT NULL);"
	    "BEGIN";
	struct ss_compact *c = ss_xcalloc(1, sizeof(*c));

	*out = NULL;
	c->path = ss_xstrdup(path);
	remove_scratch(path);
	if (sqlite3_open_v2(path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, setup, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "SELECT value FROM rows WHERE key = ?",
			       -1, &c->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db,
			       "INSERT INTO rows (key, rel, value) VALUES "
			       "(?, ?, ?) ON CONFLICT (key) DO NOTHING",
			       -1, &c->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db,
			       "UPDATE rows SET rel = ?2, value = ?3 "
			       "WHERE key = ?1",
			       -1, &c->set, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "DELETE FROM rows WHERE key = ?", -1,
			       &c->del, NULL) != SQLITE_OK) {
		db_error(c, "could not set up", err);
		ss_compact_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

void ss_compact_close(struct ss_compact *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_finalize(c->set);
	sqlite3_finalize(c->del);
	sqlite3_close(c->db);
	remove_scratch(c->path);
	free(c->path);
	free(c);
}

/* Run a bound statement that returns no row; resets it. */
static int step_done(struct ss_compact *c, sqlite3_stmt *st, const char *what,
		     struct ss_err *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return db_error(c, what, err);
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* The row of `key` merged with the columns of `patch`, as compact JSON
 * (*new*, free()); NULL with err when the key has no row. */
static char *merged(struct ss_compact *c, const char *key, json_t *patch,
		    int *found, struct ss_err *err)
{
	json_t *row;
	char *out = NULL;
	int rc;

	*found = 0;
	bind_text(c->get, 1, key);
	rc = sqlite3_step(c->get);
	if (rc == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(c->get, 0);

		*found = 1;
		row = json_loads(text ? text : "", 0, NULL);
		if (row && json_object_update(row, patch) == 0)
			out =
			    json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(row);
		if (!out)
			ss_err_set(err, SS_ERR_RUNTIME,
				   "compaction scratch file '%s': a stored row "
				   "does not read back",
				   c->path);
	} else if (rc != SQLITE_DONE) {
		db_error(c, "could not read a row", err);
	}
	sqlite3_reset(c->get);
	sqlite3_clear_bindings(c->get);
	return out;
}

static int not_a_change(const char *json, size_t len, const char *why,
			struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_INPUT,
			  "entry is not a change message: %s: %.*s", why,
			  (int)(len > 120 ? 120 : len), json);
}

int ss_compact_add(struct ss_compact *c, const char *json, size_t len,
		   struct ss_err *err)
{
	json_error_t je;
	json_t *m, *hdr, *val;
	const char *key, *op;
	char *rel = NULL, *text = NULL;
	int rc = -1, found;

	if (len && json[0] == ',') {
		json++;
		len--;
	}
	while (len && (json[len - 1] == '\n'))
		len--;
	m = json_loadb(json, len, 0, &je);
	if (!m || !json_is_object(m)) {
		json_decref(m);
		return not_a_change(json, len, "not a JSON object", err);
	}
	hdr = json_object_get(m, "headers");
	if (json_is_object(hdr) && json_object_get(hdr, "control")) {
		json_decref(m);
		return 1;
	}
	key = json_string_value(json_object_get(m, "key"));
	op = json_string_value(json_object_get(hdr, "operation"));
	val = json_object_get(m, "value");
	if (!key || !op) {
		not_a_change(json, len, "no key or operation", err);
		goto out;
	}
	if (!strcmp(op, "delete")) {
		bind_text(c->del, 1, key);
		if (step_done(c, c->del, "could not delete a row", err) < 0)
			goto out;
		c->rows -= (uint64_t)sqlite3_changes(c->db);
		rc = 0;
		goto out;
	}
	if (strcmp(op, "insert") && strcmp(op, "update")) {
		not_a_change(json, len, "unknown operation", err);
		goto out;
	}
	if (!json_is_object(val) ||
	    !json_is_array(json_object_get(hdr, "relation"))) {
		not_a_change(json, len, "no value or relation", err);
		goto out;
	}
	rel = json_dumps(json_object_get(hdr, "relation"), JSON_COMPACT);
	if (!strcmp(op, "update")) {
		text = merged(c, key, val, &found, err);
		if (found && !text)
			goto out;
		if (found) {
			bind_text(c->set, 1, key);
			bind_text(c->set, 2, rel);
			bind_text(c->set, 3, text);
			if (step_done(c, c->set, "could not update a row",
				      err) < 0)
				goto out;
			rc = 0;
			goto out;
		}
		/* An update of a key with no row (a log that starts after
		 * the row's insert): it is the row as far as we know. */
	}
	text = json_dumps(val, JSON_COMPACT | JSON_PRESERVE_ORDER);
	bind_text(c->put, 1, key);
	bind_text(c->put, 2, rel);
	bind_text(c->put, 3, text);
	if (step_done(c, c->put, "could not insert a row", err) < 0)
		goto out;
	if (sqlite3_changes(c->db) > 0) {
		c->rows++;
	} else {
		/* the key has a row already: the insert replaces it */
		bind_text(c->set, 1, key);
		bind_text(c->set, 2, rel);
		bind_text(c->set, 3, text);
		if (step_done(c, c->set, "could not update a row", err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc == 0)
		c->folded++;
	free(rel);
	free(text);
	json_decref(m);
	return rc;
}

int ss_compact_each(struct ss_compact *c,
		    int (*cb)(const char *json, size_t len, void *ctx,
			      struct ss_err *err),
		    void *ctx, struct ss_err *err)
{
	struct ss_buf b = SS_BUF_INIT;
	sqlite3_stmt *q;
	int rc = 0, st;

	if (sqlite3_prepare_v2(c->db,
			       "SELECT key, rel, value FROM rows ORDER BY seq",
			       -1, &q, NULL) != SQLITE_OK)
		return db_error(c, "could not list the rows", err);
	while ((st = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(q, 0);

		ss_buf_reset(&b);
		ss_buf_adds(&b, "{\"key\":");
		ss_buf_add_json_string(&b, key, strlen(key));
		ss_buf_adds(&b, ",\"value\":");
		ss_buf_adds(&b, (const char *)sqlite3_column_text(q, 2));
		ss_buf_adds(&b, ",\"headers\":{\"operation\":\"insert\","
				"\"relation\":");
		ss_buf_adds(&b, (const char *)sqlite3_column_text(q, 1));
		ss_buf_adds(&b, "}}");
		if (cb(b.buf, b.len, ctx, err) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && st != SQLITE_DONE)
		rc = db_error(c, "could not list the rows", err);
	sqlite3_finalize(q);
	ss_buf_release(&b);
	return rc;
}

uint64_t ss_compact_folded(const struct ss_compact *c)
{
	return c->folded;
}

uint64_t ss_compact_rows(const struct ss_compact *c)
{
	return c->rows;
}
