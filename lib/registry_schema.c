/*
 * registry_schema.c — the registry's schema: the migrations from one
 * PRAGMA user_version to the next, and the check that a file is a
 * registry of ours before anything writes to it.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "lsn.h"
#include "registry_int.h"

/* Each step moves the schema from version i to i+1. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE shapes ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " handle TEXT NOT NULL UNIQUE,"
    " definition TEXT NOT NULL UNIQUE,"
    " hash INTEGER NOT NULL,"
    " schema_name TEXT NOT NULL,"
    " table_name TEXT NOT NULL,"
    " snapshot_state INTEGER NOT NULL DEFAULT 0"
    "  CHECK (snapshot_state BETWEEN 0 AND 2),"
    " snapshot_xmin INTEGER, snapshot_xmax INTEGER, snapshot_xip TEXT,"
    " created_us INTEGER NOT NULL,"
    " last_read_us INTEGER,"
    " active_lsn INTEGER"
    ") STRICT;"
    "CREATE INDEX shapes_by_table ON shapes (schema_name, table_name);"
    "CREATE TABLE shape_relations ("
    " shape_id INTEGER NOT NULL, oid INTEGER NOT NULL,"
    " PRIMARY KEY (shape_id, oid)) STRICT, WITHOUT ROWID;"
    "CREATE INDEX shape_relations_by_oid ON shape_relations (oid, shape_id);"
    "CREATE TABLE shape_changes ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " shape_id INTEGER NOT NULL, handle TEXT NOT NULL,"
    " added INTEGER NOT NULL) STRICT;"
    "CREATE TABLE progress (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
    " STRICT, WITHOUT ROWID;"
    "INSERT INTO progress VALUES ('durable_lsn', 0), ('id_reserved', 0),"
    " ('changes_trimmed', 0);",
    /* 1 -> 2: the replication streams the logs were built from */
    "CREATE TABLE streams ("
    " stream INTEGER PRIMARY KEY,"
    " system_id TEXT NOT NULL, timeline INTEGER NOT NULL,"
    " db_oid INTEGER NOT NULL, db_name TEXT NOT NULL,"
    " slot TEXT NOT NULL, slot_lsn INTEGER NOT NULL,"
    " started_us INTEGER NOT NULL, reason TEXT NOT NULL,"
    " invalidated INTEGER NOT NULL) STRICT;"
    "INSERT INTO progress VALUES ('stream', 0);",
    /* 2 -> 3: the stages' heartbeats (health.h) */
    "CREATE TABLE heartbeats ("
    " stage TEXT PRIMARY KEY, pid INTEGER NOT NULL,"
    " state TEXT NOT NULL, detail TEXT NOT NULL,"
    " received_lsn INTEGER NOT NULL, flushed_lsn INTEGER NOT NULL,"
    " wal_lsn INTEGER NOT NULL, retained_wal INTEGER NOT NULL,"
    " flush_lag INTEGER NOT NULL, rss INTEGER NOT NULL,"
    " connections INTEGER NOT NULL, counters TEXT NOT NULL,"
    " receive_lag TEXT NOT NULL, updated_us INTEGER NOT NULL)"
    " STRICT, WITHOUT ROWID;",
    /* 3 -> 4: the partitions of published partitioned tables */
    ("CREATE TABLE partition_sets (oid INTEGER PRIMARY KEY,"
     " leaves TEXT NOT NULL) STRICT;"),
    /* 4 -> 5: what a subquery shape depends on (JSON; NULL for others) */
    "ALTER TABLE shapes ADD COLUMN deps TEXT;",
};

/*
 * In-memory registries (tests, fuzzing, a throwaway pipeline) start from
 * one image of the empty schema made once per process: creating a dozen
 * tables costs a millisecond per registry, copying the image microseconds.
 */
static pthread_once_t template_once = PTHREAD_ONCE_INIT;
static unsigned char *template_img; /* NULL when it could not be made */
static sqlite3_int64 template_len;

static int migrate_all(sqlite3 *db, const char *path, struct ss_err *err);

static void template_make(void)
{
	struct ss_err err = SS_ERR_INIT;
	sqlite3 *db = NULL;
	unsigned char *img;

	if (sqlite3_open_v2(":memory:", &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    migrate_all(db, ":memory:", &err) < 0) {
		sqlite3_close(db);
		return;
	}
	img = sqlite3_serialize(db, "main", &template_len, 0);
	sqlite3_close(db);
	template_img = img;
}

/* Load the empty schema's image into db (an empty in-memory database).
 * 0 done, 1 no image (migrate the usual way), -1 error. */
static int from_template(sqlite3 *db, const char *path, struct ss_err *err)
{
	unsigned char *copy;

	pthread_once(&template_once, template_make);
	if (!template_img)
		return 1;
	copy = sqlite3_malloc64((sqlite3_uint64)template_len);
	if (!copy)
		return 1;
	memcpy(copy, template_img, (size_t)template_len);
	/* FREEONCLOSE: SQLite owns the copy from here, even on failure. */
	if (sqlite3_deserialize(db, "main", copy, template_len, template_len,
				SQLITE_DESERIALIZE_FREEONCLOSE |
				    SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
		return ss_reg_sql_fail(err, db, "could not create", path);
	return 0;
}

int ss_reg_migrate(struct ss_registry *r, sqlite3 *db, struct ss_err *err)
{
	int64_t version, appid, objects;
	size_t target = sizeof(migrations) / sizeof(migrations[0]);

	/* The first read is where SQLite notices a file that is not a
	 * database: check it explicitly for a clear message. */
	if (ss_reg_exec(db, "SELECT count(*) FROM sqlite_schema", err,
			r->path) < 0)
		return -1;
	version = ss_reg_query_int(db, "PRAGMA user_version", 0);
	appid = ss_reg_query_int(db, "PRAGMA application_id", 0);
	objects = ss_reg_query_int(db, "SELECT count(*) FROM sqlite_schema", 0);
	if ((appid != APPLICATION_ID && objects > 0) ||
	    (appid == 0 && version > 0))
		return ss_err_set(
		    err, SS_ERR_RUNTIME,
		    "'%s' is a SQLite database but not a shapesync registry",
		    r->path);
	if (version > (int64_t)target)
		return ss_err_set(
		    err, SS_ERR_RUNTIME,
		    "registry '%s' has schema version %" PRId64
		    ", newer than this shapesync understands (%zu)",
		    r->path, version, target);
	/* Before anything writes (journal_mode does): an empty file is not
	 * turned into a registry unless asked to create one. */
	if (version == 0 && objects == 0 && !r->o.create && !r->memory)
		return ss_err_set(
		    err, SS_ERR_RUNTIME,
		    "'%s' is an empty file, not a shapesync registry", r->path);
	if (!r->memory &&
	    ss_reg_exec(db, "PRAGMA journal_mode=WAL", err, r->path) < 0)
		return -1;
	if (version == (int64_t)target)
		return 0;
	if (r->memory && version == 0 && objects == 0) {
		int rc = from_template(db, r->path, err);

		if (rc <= 0)
			return rc;
	}
	return migrate_all(db, r->path, err);
}

/* Run every migration from the database's version to the last one. */
static int migrate_all(sqlite3 *db, const char *path, struct ss_err *err)
{
	size_t i, target = sizeof(migrations) / sizeof(migrations[0]);
	struct ss_buf sql = SS_BUF_INIT;
	int64_t version;

	if (ss_reg_exec(db, "BEGIN IMMEDIATE", err, path) < 0)
		return -1;
	/* Re-read under the lock: another process may have migrated. */
	version = ss_reg_query_int(db, "PRAGMA user_version", 0);
	for (i = (size_t)version; i < target; i++) {
		if (ss_reg_exec(db, migrations[i], err, path) < 0)
			goto fail;
	}
	ss_buf_addf(&sql, "PRAGMA user_version=%zu; PRAGMA application_id=%d;",
		    target, APPLICATION_ID);
	if (ss_reg_exec(db, sql.buf, err, path) < 0)
		goto fail;
	ss_buf_release(&sql);
	return ss_reg_exec(db, "COMMIT", err, path);
fail:
	ss_buf_release(&sql);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	ss_err_prefix(err, "migration failed");
	return -1;
}
