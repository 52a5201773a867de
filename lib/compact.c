/*
 * compact.c — folding change messages into rows over a scratch SQLite file
 * (see compact.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "compact.h"
#include "datadir.h"
#include "log.h"
#include "registry.h"
#include "snapshot.h"

/* Rows held in memory between updates: a shape's hot rows are updated in
 * place there, and written to the scratch file when the updates merged
 * into the cache reach this many bytes of messages (memory stays bounded
 * as with the page cache) or when the rows are listed. */
#define CACHE_BYTES ((size_t)1 << 20)

struct ss_compact {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *get, *put, *set, *del;
	uint64_t folded, rows;
	/* key -> [row, relation, dirty]: rows of the scratch file, newer
	 * than it where dirty */
	json_t *cache;
	size_t cache_bytes; /* of the messages merged into it */
};

/* jansson returns NULL or -1 on out-of-memory alone (for what is done
 * here): treated like ss_xmalloc. */
static void no_memory(void)
{
	fprintf(stderr, "fatal: out of memory in compaction\n");
	abort();
}

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
	c->cache = json_object();
	if (!c->cache)
		no_memory();
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
	json_decref(c->cache);
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

/* The stored row of `key` (*new*: json_decref), or NULL: *found 0 when
 * the key has none, else with err. */
static json_t *load_row(struct ss_compact *c, const char *key, int *found,
			struct ss_err *err)
{
	json_t *row = NULL;
	int rc;

	*found = 0;
	bind_text(c->get, 1, key);
	rc = sqlite3_step(c->get);
	if (rc == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(c->get, 0);

		*found = 1;
		row = json_loads(text ? text : "", 0, NULL);
		if (!json_is_object(row)) {
			json_decref(row);
			row = NULL;
			ss_err_set(err, SS_ERR_RUNTIME,
				   "compaction scratch file '%s': a stored row "
				   "does not read back",
				   c->path);
		}
	} else if (rc != SQLITE_DONE) {
		db_error(c, "could not read a row", err);
	}
	sqlite3_reset(c->get);
	sqlite3_clear_bindings(c->get);
	return row;
}

/* Write the cached rows that are newer than the scratch file to it, and
 * empty the cache. */
static int flush_cache(struct ss_compact *c, struct ss_err *err)
{
	const char *key;
	json_t *e;
	int rc = 0;

	json_object_foreach(c->cache, key, e)
	{
		char *text, *rel;

		if (!json_is_true(json_array_get(e, 2)))
			continue;
		text = json_dumps(json_array_get(e, 0),
				  JSON_COMPACT | JSON_PRESERVE_ORDER);
		rel = json_dumps(json_array_get(e, 1), JSON_COMPACT);
		if (!text || !rel)
			no_memory();
		bind_text(c->set, 1, key);
		bind_text(c->set, 2, rel);
		bind_text(c->set, 3, text);
		rc = step_done(c, c->set, "could not update a row", err);
		free(text);
		free(rel);
		if (rc < 0)
			break;
	}
	json_object_clear(c->cache);
	c->cache_bytes = 0;
	return rc;
}

/* Merge an update's columns into the row of key, in the cache (from the
 * scratch file if it is not there). Returns 0, 1 when the key has no
 * row, -1 with err. */
static int update_row(struct ss_compact *c, const char *key, json_t *val,
		      json_t *rel, size_t len, struct ss_err *err)
{
	json_t *e, *row;
	int found;

	if (c->cache_bytes >= CACHE_BYTES && flush_cache(c, err) < 0)
		return -1;
	c->cache_bytes += len;
	e = json_object_get(c->cache, key);
	if (e) {
		if (json_object_update(json_array_get(e, 0), val) < 0)
			no_memory();
		json_array_set(e, 1, rel);
		json_array_set(e, 2, json_true());
		return 0;
	}
	row = load_row(c, key, &found, err);
	if (!found)
		return 1;
	if (!row)
		return -1;
	if (json_object_update(row, val) < 0 ||
	    json_object_set_new(c->cache, key,
				json_pack("[oOb]", row, rel, 1)) < 0)
		no_memory();
	return 0;
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
	/* A move-in event changes no row: its rows follow as inserts (the
	 * log of a nested subquery's shape, read by route's viewload). A
	 * move-out event drops rows by tag, which a fold cannot follow:
	 * it is not a change, below. */
	if (json_is_object(hdr) &&
	    (json_object_get(hdr, "control") ||
	     (json_is_string(json_object_get(hdr, "event")) &&
	      !strcmp(json_string_value(json_object_get(hdr, "event")),
		      "move-in")))) {
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
		json_object_del(c->cache, key);
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
	if (!strcmp(op, "update")) {
		found = update_row(c, key, val,
				   json_object_get(hdr, "relation"), len, err);
		if (found <= 0) {
			rc = found;
			goto out;
		}
		/* An update of a key with no row (a log that starts after
		 * the row's insert): it is the row as far as we know. */
	}
	/* An insert replaces what the cache holds of the key. */
	json_object_del(c->cache, key);
	rel = json_dumps(json_object_get(hdr, "relation"), JSON_COMPACT);
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

	if (flush_cache(c, err) < 0)
		return -1;
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

/* ---------------------------------------------------------- a shape */

void ss_compact_opts_init(struct ss_compact_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->keep_chunks = 2;
	o->chunk_bytes = SS_LOG_CHUNK_BYTES_DEFAULT;
	o->grace_s = 3600;
}

struct run {
	const char *dir;
	const struct ss_compact_opts *o;
	struct ss_compact_result *res;
	struct ss_compact *fold;
	struct ss_log_reader *log;
	struct ss_snapshot_writer *w;
	struct ss_buf end_json; /* the base's snapshot-end entry */
	struct ss_buf path;
	/* the log may hold the lines of moves (a nested subquery's shape:
	 * move-in events, snapshot-end), which change no row */
	int moves;
};

/* Fold every entry of the chunk files of generation g. */
static int fold_base(struct run *r, const struct ss_base_gen *g,
		     uint64_t chunks, struct ss_err *err)
{
	struct ss_buf dir = SS_BUF_INIT;
	char *line = NULL;
	size_t cap = 0;
	uint64_t n;
	int rc = 0;

	ss_base_dir(&dir, r->dir, g->gen);
	for (n = 0; rc == 0 && n < chunks; n++) {
		ssize_t len;
		FILE *f;

		ss_buf_reset(&r->path);
		ss_snapshot_chunk_path(&r->path, dir.buf, n);
		f = fopen(r->path.buf, "re");
		if (!f) {
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"could not open '%s': %s", r->path.buf,
					strerror(errno));
			break;
		}
		while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
			int k = ss_compact_add(r->fold, line, (size_t)len, err);

			if (k < 0) {
				ss_err_prefix(err, "%s", r->path.buf);
				rc = -1;
			} else if (k == 1) {
				/* the snapshot-end: the new base ends with it
				 */
				ss_buf_reset(&r->end_json);
				ss_buf_add(&r->end_json,
					   line[0] == ',' ? line + 1 : line,
					   (size_t)len - (line[0] == ','));
				while (r->end_json.len &&
				       r->end_json.buf[r->end_json.len - 1] ==
					   '\n')
					r->end_json.buf[--r->end_json.len] =
					    '\0';
			}
		}
		if (rc == 0 && ferror(f))
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"could not read '%s': %s", r->path.buf,
					strerror(errno));
		fclose(f);
	}
	free(line);
	ss_buf_release(&dir);
	return rc;
}

static int fold_entry(const struct ss_offset *off, const char *entry,
		      size_t len, void *ctx, struct ss_err *err)
{
	struct run *r = ctx;

	int rc;

	(void)off;
	rc = ss_compact_add(r->fold, entry, len, err);
	if (rc == 0 || (rc == 1 && r->moves))
		return 0;
	if (!err->code)
		ss_err_set(err, SS_ERR_INPUT,
			   "a log entry is a control message");
	ss_err_prefix(err, "%s/log", r->dir);
	return -1;
}

/* Fold the log entries with after < offset <= upto. */
static int fold_log(struct run *r, const struct ss_offset *after,
		    const struct ss_offset *upto, struct ss_err *err)
{
	return ss_log_reader_each(r->log, after, upto, fold_entry, r, err);
}

static int write_row(const char *json, size_t len, void *ctx,
		     struct ss_err *err)
{
	return ss_snapshot_add(ctx, json, len, err);
}

static int last_end(const struct ss_offset *end, void *ctx, struct ss_err *err)
{
	(void)err;
	*(struct ss_offset *)ctx = *end;
	return 0;
}

/* The end of the closed log chunk before the newest keep ones, or 0_inf
 * when there is none; with keep 0, the last committed entry, so that a
 * fresh client reads the rows and no history at all: an open chunk of
 * the default 10 MiB can hold fifty thousand updates of a shape whose
 * rows take a few hundred KiB (bench/compact.sh). */
static int fold_upto(struct run *r, struct ss_offset *upto, struct ss_err *err)
{
	struct ss_log_head h;

	ss_log_reader_head(r->log, &h);
	*upto = ss_offset_last_before_real;
	if (!r->o->keep_chunks) {
		if (h.entries)
			*upto = h.last;
		return 0;
	}
	if (h.chunks <= r->o->keep_chunks)
		return 0;
	return ss_log_reader_each_chunk(r->log, &ss_offset_last_before_real,
					h.chunks - r->o->keep_chunks, last_end,
					upto, err);
}

int ss_compact_rows_at(const char *dir, uint64_t lsn, const char *scratch,
		       int (*cb)(const char *json, size_t len, void *ctx,
				 struct ss_err *err),
		       void *ctx, struct ss_err *err)
{
	struct run r;
	struct ss_compact_opts o;
	struct ss_base b;
	struct ss_base_gen *cur;
	struct ss_offset upto = ss_offset_make(lsn, SS_OFFSET_INF);
	uint64_t chunks = 0, ready;
	int done, rc = -1;

	memset(&r, 0, sizeof(r));
	ss_compact_opts_init(&o);
	r.dir = dir;
	r.o = &o;
	r.moves = 1;
	if (ss_base_read(dir, &b, err) < 0)
		return -1;
	cur = &b.g[0];
	if (cur->gen == 0) {
		if (ss_snapshot_state(dir, &ready, &done, err) < 0)
			return -1;
		if (!done)
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "the snapshot of shape '%s' is not "
					  "complete",
					  dir);
		chunks = ready;
	} else {
		chunks = cur->chunks;
		/* The base holds rows as they were at its end: nothing
		 * before it can be told apart any more. */
		if (ss_offset_compare(&cur->end, &upto) > 0)
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "shape '%s' is compacted past LSN "
					  "%" PRIu64,
					  dir, lsn);
	}
	if (ss_log_reader_open(dir, &r.log, err) == 0 &&
	    ss_compact_open(scratch, &r.fold, err) == 0 &&
	    fold_base(&r, cur, chunks, err) == 0 &&
	    fold_log(&r, &cur->end, &upto, err) == 0)
		rc = ss_compact_each(r.fold, cb, ctx, err);
	ss_compact_close(r.fold);
	ss_log_reader_close(r.log);
	ss_buf_release(&r.end_json);
	ss_buf_release(&r.path);
	return rc;
}

/* Remove generation g's chunk files (gen 0: the snapshot's). */
static void remove_gen(const char *dir, uint64_t gen)
{
	struct ss_buf d = SS_BUF_INIT;

	ss_base_dir(&d, dir, gen);
	ss_snapshot_remove(d.buf);
	if (gen)
		rmdir(d.buf);
	ss_buf_release(&d);
}

/* Remove what a killed run left behind: generation directories the
 * record does not list (one it dropped before all their files were gone,
 * or a partial newer one) and generation 0's files once it is dropped.
 * The record is what readers go by: nothing it lists is touched. */
static void remove_unlisted(const char *dir, const struct ss_base *b)
{
	struct dirent *de;
	uint64_t gen;
	char *end;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return; /* the run's own reads report a missing dir */
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "base.", 5) ||
		    !isdigit((unsigned char)de->d_name[5]))
			continue;
		errno = 0;
		gen = strtoull(de->d_name + 5, &end, 10);
		if (*end || errno || !gen || ss_base_find(b, gen))
			continue;
		remove_gen(dir, gen);
	}
	closedir(d);
	if (!ss_base_find(b, 0))
		remove_gen(dir, 0);
}

/* Drop generations superseded grace_s ago; punch the log below a
 * reclaimed offset that is itself grace_s old. */
static int reclaim(struct run *r, struct ss_base *b, int64_t now,
		   struct ss_err *err)
{
	struct ss_base_gen gone[SS_BASE_MAX];
	size_t keep = 1, ngone = 0, i;
	int fd;

	while (keep < b->n && now - b->g[keep - 1].at < r->o->grace_s)
		keep++;
	if (keep < b->n) {
		for (i = keep; i < b->n; i++)
			gone[ngone++] = b->g[i];
		b->n = keep;
		/* readers stop at the record; the files go after it */
		b->has_reclaimed = 1;
		b->reclaimed = b->g[keep - 1].end;
		if (!ss_offset_is_real(&b->reclaimed))
			b->has_reclaimed = 0; /* gen 0 kept: nothing */
		b->reclaimed_at = now;
		if (ss_base_write(r->dir, b, err) < 0)
			return -1;
		for (i = 0; i < ngone; i++)
			remove_gen(r->dir, gone[i].gen);
		r->res->dropped += ngone;
	}
	if (b->has_reclaimed && now - b->reclaimed_at >= r->o->grace_s &&
	    (!b->has_punched ||
	     ss_offset_compare(&b->punched, &b->reclaimed) < 0)) {
		uint64_t i0, pos = 0, len;
		struct ss_offset off;
		struct ss_log_head h;

		/* bytes [0, the first kept entry) */
		ss_log_reader_head(r->log, &h);
		if (ss_log_reader_find(r->log, &b->reclaimed, &i0, err) < 0)
			return -1;
		if (i0 < h.entries) {
			if (ss_log_reader_entry(r->log, i0, &off, &pos, &len,
						err) < 0)
				return -1;
		} else {
			pos = h.bytes;
		}
		ss_buf_reset(&r->path);
		ss_buf_addf(&r->path, "%s/log", r->dir);
		fd = open(r->path.buf, O_WRONLY | O_CLOEXEC);
		if (fd < 0 ||
		    (pos &&
		     fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, (off_t)pos) < 0)) {
			ss_err_set(err, SS_ERR_RUNTIME,
				   "could not give back the start of '%s': %s",
				   r->path.buf, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		r->res->punched = pos;
		b->has_punched = 1;
		b->punched = b->reclaimed;
		if (ss_base_write(r->dir, b, err) < 0)
			return -1;
	}
	return 0;
}

static int shape_run(struct run *r, struct ss_err *err)
{
	struct ss_base b;
	struct ss_offset upto;
	struct ss_base_gen *cur;
	uint64_t chunks = 0, ready;
	int64_t now = r->o->now ? r->o->now : (int64_t)time(NULL);
	int done, rc;

	if (ss_base_read(r->dir, &b, err) < 0)
		return -1;
	remove_unlisted(r->dir, &b);
	cur = &b.g[0];
	r->res->gen = cur->gen;
	if (cur->gen == 0) {
		if (ss_snapshot_state(r->dir, &ready, &done, err) < 0)
			return -1;
		if (!done) {
			r->res->skipped = "the snapshot is not complete";
			return 0;
		}
		chunks = ready;
	} else {
		chunks = cur->chunks;
	}
	if (ss_log_reader_open(r->dir, &r->log, err) < 0 ||
	    fold_upto(r, &upto, err) < 0)
		return -1;
	if (ss_offset_compare(&upto, &cur->end) <= 0) {
		r->res->skipped = "no closed log chunk past the newest base";
		return reclaim(r, &b, now, err);
	}
	if (cur->gen >= SS_BASE_GEN_MAX)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "shape '%s' has had %d compactions, the most "
				  "there can be",
				  r->dir, SS_BASE_GEN_MAX);
	ss_buf_reset(&r->path);
	ss_buf_addf(&r->path, "%s/compact.scratch", r->dir);
	if (ss_compact_open(r->path.buf, &r->fold, err) < 0 ||
	    fold_base(r, cur, chunks, err) < 0 ||
	    fold_log(r, &cur->end, &upto, err) < 0)
		return -1;
	if (!r->end_json.len)
		return ss_err_set(err, SS_ERR_INPUT,
				  "the base of shape '%s' has no snapshot-end",
				  r->dir);
	/* the new generation's files, then the record that makes it the
	 * newest */
	ss_buf_reset(&r->path);
	ss_base_dir(&r->path, r->dir, cur->gen + 1);
	if (ss_snapshot_begin(r->path.buf, r->o->chunk_bytes, &r->w, err) < 0 ||
	    ss_compact_each(r->fold, write_row, r->w, err) < 0)
		return -1; /* the caller drops r->w and its files */
	rc = ss_snapshot_finish(r->w, r->end_json.buf, r->end_json.len, &chunks,
				err);
	r->w = NULL; /* finish frees it, on failure too */
	if (rc < 0)
		return -1;
	r->res->folded = ss_compact_folded(r->fold);
	r->res->rows = ss_compact_rows(r->fold);
	if (b.n == SS_BASE_MAX)
		b.n--; /* the oldest goes now (reclaim drops its files) */
	memmove(&b.g[1], &b.g[0], b.n * sizeof(b.g[0]));
	b.n++;
	b.g[0].gen = b.g[1].gen + 1;
	b.g[0].end = upto;
	b.g[0].chunks = chunks;
	b.g[0].at = now;
	if (ss_base_write(r->dir, &b, err) < 0)
		return -1;
	r->res->compacted = 1;
	r->res->gen = b.g[0].gen;
	return reclaim(r, &b, now, err);
}

int ss_compact_shape(const char *dir, const struct ss_compact_opts *o,
		     struct ss_compact_result *res, struct ss_err *err)
{
	struct run r;
	struct ss_buf lock = SS_BUF_INIT;
	int fd, rc;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.dir = dir;
	r.o = o;
	r.res = res;
	ss_buf_addf(&lock, "%s/compact.lock", dir);
	fd = open(lock.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = ss_err_set(err, SS_ERR_RUNTIME, "could not open '%s': %s",
				lock.buf, strerror(errno));
		ss_buf_release(&lock);
		return rc;
	}
	ss_buf_release(&lock);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		res->skipped = "another compaction of it is running";
		return 0;
	}
	rc = shape_run(&r, err);
	ss_snapshot_abort(r.w);
	ss_compact_close(r.fold);
	ss_log_reader_close(r.log);
	ss_buf_release(&r.end_json);
	ss_buf_release(&r.path);
	close(fd); /* and the lock with it */
	return rc;
}

/* Does the file at path end with a control line? 1 yes, 0 no (or it is
 * missing: *missing set), -1 with err. */
static int ends_with_control(const char *path, int *missing, struct ss_err *err)
{
	char buf[4096], *nl;
	struct stat st;
	size_t want;
	ssize_t got;
	int fd, rc;

	*missing = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*missing = 1;
		return 0;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = ss_err_set(err, SS_ERR_RUNTIME, "could not open '%s': %s",
				path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	want = (uint64_t)st.st_size < sizeof(buf) - 1 ? (size_t)st.st_size
						      : sizeof(buf) - 1;
	got = pread(fd, buf, want, st.st_size - (off_t)want);
	close(fd);
	if (got < 0 || (size_t)got != want)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not read '%s': %s", path,
				  got < 0 ? strerror(errno) : "short read");
	buf[want] = '\0';
	/* the last line: after the newline before the final one */
	while (want && buf[want - 1] == '\n')
		buf[--want] = '\0';
	nl = strrchr(buf, '\n');
	return strstr(nl ? nl + 1 : buf, "\"control\":") != NULL;
}

int ss_compact_check(const char *dir, struct ss_buf *problem,
		     struct ss_err *err)
{
	struct ss_base b;
	struct ss_buf d = SS_BUF_INIT, p = SS_BUF_INIT;
	struct ss_log_reader *lr = NULL;
	struct ss_log_head h;
	struct ss_err e = SS_ERR_INIT;
	char o1[SS_OFFSET_STRMAX], o2[SS_OFFSET_STRMAX];
	size_t i;
	int rc = 0, missing, k;

	if (ss_base_read(dir, &b, &e) < 0) {
		if (e.code != SS_ERR_INPUT) {
			*err = e;
			return -1;
		}
		ss_buf_adds(problem, e.msg);
		return 1;
	}
	for (i = 0; rc == 0 && i < b.n; i++) {
		if (!b.g[i].gen)
			continue;
		ss_buf_reset(&d);
		ss_base_dir(&d, dir, b.g[i].gen);
		ss_buf_reset(&p);
		if (!b.g[i].chunks) {
			ss_buf_addf(problem,
				    "base generation %" PRIu64 " has no chunk",
				    b.g[i].gen);
			rc = 1;
			break;
		}
		ss_snapshot_chunk_path(&p, d.buf, b.g[i].chunks - 1);
		k = ends_with_control(p.buf, &missing, err);
		if (k < 0) {
			rc = -1;
		} else if (missing) {
			ss_buf_addf(problem,
				    "base generation %" PRIu64
				    " has no chunk file '%s'",
				    b.g[i].gen, p.buf);
			rc = 1;
		} else if (!k) {
			ss_buf_addf(problem,
				    "base generation %" PRIu64
				    " does not end with its snapshot-end: '%s'",
				    b.g[i].gen, p.buf);
			rc = 1;
		}
	}
	if (rc == 0 && b.has_punched &&
	    (!b.has_reclaimed ||
	     ss_offset_compare(&b.punched, &b.reclaimed) > 0)) {
		ss_buf_addf(problem,
			    "log punched to %s, past what is reclaimed",
			    ss_offset_format(&b.punched, o1));
		rc = 1;
	}
	if (rc == 0 && b.g[0].gen) {
		if (ss_log_reader_open(dir, &lr, &e) < 0) {
			if (e.code != SS_ERR_INPUT) {
				*err = e;
				rc = -1;
			} else {
				ss_buf_adds(problem, e.msg);
				rc = 1;
			}
		} else {
			ss_log_reader_head(lr, &h);
			if (!h.entries ||
			    ss_offset_compare(&b.g[0].end, &h.last) > 0) {
				ss_buf_addf(
				    problem,
				    "base generation %" PRIu64
				    " ends at %s, past the log's last entry %s",
				    b.g[0].gen,
				    ss_offset_format(&b.g[0].end, o1),
				    h.entries ? ss_offset_format(&h.last, o2)
					      : "(none)");
				rc = 1;
			}
			ss_log_reader_close(lr);
		}
	}
	ss_buf_release(&d);
	ss_buf_release(&p);
	return rc;
}

int ss_compact_measure(const char *dir, struct ss_compact_size *sz,
		       struct ss_err *err)
{
	struct ss_base b;
	struct ss_buf d = SS_BUF_INIT, p = SS_BUF_INIT;
	struct ss_log_reader *lr = NULL;
	struct ss_log_head h;
	uint64_t n, chunks, i0, ready, pos, len;
	struct ss_offset off;
	char buf[65536];
	int done, rc = -1;

	memset(sz, 0, sizeof(*sz));
	if (ss_base_read(dir, &b, err) < 0)
		return -1;
	sz->gen = b.g[0].gen;
	chunks = b.g[0].chunks;
	if (!sz->gen) {
		if (ss_snapshot_state(dir, &ready, &done, err) < 0)
			return -1;
		sz->snapshot_done = done;
		chunks = done ? ready : 0;
	} else {
		sz->snapshot_done = 1;
	}
	ss_base_dir(&d, dir, sz->gen);
	for (n = 0; n < chunks; n++) {
		size_t got, k;
		FILE *f;

		ss_buf_reset(&p);
		ss_snapshot_chunk_path(&p, d.buf, n);
		f = fopen(p.buf, "re");
		if (!f) {
			ss_err_set(err, SS_ERR_RUNTIME,
				   "could not open '%s': %s", p.buf,
				   strerror(errno));
			goto out;
		}
		while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
			sz->base_bytes += got;
			for (k = 0; k < got; k++)
				sz->base_rows += buf[k] == '\n';
		}
		fclose(f);
	}
	if (chunks && sz->base_rows)
		sz->base_rows--; /* the snapshot-end */
	if (ss_log_reader_open(dir, &lr, err) < 0 ||
	    ss_log_reader_find(lr, &b.g[0].end, &i0, err) < 0)
		goto out;
	ss_log_reader_head(lr, &h);
	pos = h.bytes;
	if (i0 < h.entries &&
	    ss_log_reader_entry(lr, i0, &off, &pos, &len, err) < 0)
		goto out;
	sz->tail_bytes = h.bytes - pos;
	sz->tail_entries = h.entries - i0;
	rc = 0;
out:
	ss_log_reader_close(lr);
	ss_buf_release(&d);
	ss_buf_release(&p);
	return rc;
}

int ss_compact_due(const struct ss_compact_size *sz, double ratio,
		   uint64_t min_bytes)
{
	double base = (double)(sz->base_bytes ? sz->base_bytes : min_bytes);

	if (!sz->snapshot_done || sz->tail_bytes < min_bytes)
		return 0;
	return (double)sz->base_bytes + (double)sz->tail_bytes > ratio * base;
}

void ss_compact_policy_init(struct ss_compact_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->min_ratio = 4;
	p->min_bytes = (uint64_t)1 << 20;
}

struct pick {
	const int64_t *ids;
	size_t nids;
	struct ss_shape_rec *v;
	size_t n, alloc;
};

static int pick_cb(const struct ss_shape_rec *rec, void *ctx)
{
	struct pick *pk = ctx;
	size_t i;

	if (rec->snapshot_state != SS_SNAPSHOT_COMPLETE)
		return 0;
	for (i = 0; pk->nids && i < pk->nids && pk->ids[i] != rec->id; i++)
		;
	if (pk->nids && i == pk->nids)
		return 0;
	SS_GROW(pk->v, pk->alloc, pk->n + 1);
	ss_shape_rec_init(&pk->v[pk->n]);
	ss_shape_rec_copy(&pk->v[pk->n++], rec);
	return 0;
}

int ss_compact_shapes(struct ss_registry *reg, const char *datadir,
		      const int64_t *ids, size_t nids,
		      const struct ss_compact_opts *o,
		      const struct ss_compact_policy *p,
		      ss_compact_report_cb cb, void *ctx, struct ss_err *err)
{
	struct pick pk = {ids, nids, NULL, 0, 0};
	struct ss_buf dir = SS_BUF_INIT;
	int failed = 0;
	size_t i;

	if (ss_registry_foreach(reg, pick_cb, &pk, err) < 0) {
		for (i = 0; i < pk.n; i++)
			ss_shape_rec_release(&pk.v[i]);
		free(pk.v);
		return -1;
	}
	for (i = 0; i < pk.n; i++) {
		struct ss_compact_size sz;
		struct ss_compact_result res;
		struct ss_err e = SS_ERR_INIT;

		memset(&res, 0, sizeof(res));
		ss_buf_reset(&dir);
		ss_datadir_shape_path(&dir, datadir, pk.v[i].handle);
		if (ss_compact_measure(dir.buf, &sz, &e) == 0 &&
		    p->measure_only) {
			res.skipped = "measured only";
		} else if (!e.code && pk.v[i].deps) {
			/* Folding drops control lines: a move-out's rows
			 * would come back in the base. */
			res.skipped = "a subquery shape (its move events "
				      "cannot be folded)";
		} else if (!e.code) {
			if (p->force ||
			    ss_compact_due(&sz, p->min_ratio, p->min_bytes))
				ss_compact_shape(dir.buf, o, &res, &e);
			else
				res.skipped = "under the policy's ratio and "
					      "minimum";
		}
		if (e.code)
			failed++;
		if (cb)
			cb(&pk.v[i], &sz, &res, &e, i + 1, pk.n, ctx);
		ss_shape_rec_release(&pk.v[i]);
	}
	free(pk.v);
	ss_buf_release(&dir);
	return failed;
}

void ss_compact_describe(const struct ss_shape_rec *rec,
			 const struct ss_compact_size *before,
			 const struct ss_compact_result *res,
			 const struct ss_err *err, struct ss_buf *out)
{
	ss_buf_addf(out, "shape %" PRId64 " (%s): ", rec->id, rec->handle);
	if (err->code) {
		ss_buf_adds(out, err->msg);
		return;
	}
	if (res->compacted)
		ss_buf_addf(out,
			    "generation %" PRIu64 ": %" PRIu64
			    " rows from %" PRIu64 " entries (%" PRIu64
			    " bytes of base and log before)",
			    res->gen, res->rows, res->folded,
			    before->base_bytes + before->tail_bytes);
	else
		ss_buf_addf(out, "skipped: %s", res->skipped);
	if (res->dropped)
		ss_buf_addf(out, "; %" PRIu64 " older generation%s dropped",
			    res->dropped, res->dropped == 1 ? "" : "s");
	if (res->punched)
		ss_buf_addf(out, "; %" PRIu64 " log bytes given back",
			    res->punched);
}

void ss_compact_size_line(const struct ss_shape_rec *rec,
			  const struct ss_compact_size *sz, int json,
			  struct ss_buf *out)
{
	double ratio = sz->base_bytes
			   ? (double)(sz->base_bytes + sz->tail_bytes) /
				 (double)sz->base_bytes
			   : 0;

	if (json) {
		ss_buf_addf(out, "{\"id\":%" PRId64 ",\"handle\":", rec->id);
		ss_buf_add_json_string(out, rec->handle, strlen(rec->handle));
		ss_buf_addf(out,
			    ",\"generation\":%" PRIu64
			    ",\"base_bytes\":%" PRIu64 ",\"base_rows\":%" PRIu64
			    ",\"log_entries\":%" PRIu64
			    ",\"log_bytes\":%" PRIu64 ",\"ratio\":",
			    sz->gen, sz->base_bytes, sz->base_rows,
			    sz->tail_entries, sz->tail_bytes);
		if (sz->base_bytes)
			ss_buf_addf(out, "%.1f}", ratio);
		else
			ss_buf_adds(out, "null}");
		return;
	}
	ss_buf_addf(out,
		    "shape %" PRId64 " (%s): generation %" PRIu64
		    ": base %" PRIu64 " bytes, %" PRIu64
		    " rows; log after it %" PRIu64 " entries, %" PRIu64
		    " bytes; ratio ",
		    rec->id, rec->handle, sz->gen, sz->base_bytes,
		    sz->base_rows, sz->tail_entries, sz->tail_bytes);
	if (sz->base_bytes)
		ss_buf_addf(out, "%.1f", ratio);
	else
		ss_buf_addc(out, '-');
}
