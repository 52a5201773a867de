/*
 * registry_stats.c — shapesync-db stats as text or JSON: the registry's
 * figures, the data dir's counts and the stages' heartbeats. See
 * registry_stats.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_stats.h"

#include "health.h"
#include "lsn.h"

static void stat_str(struct ss_buf *b, int json, const char *k, const char *v)
{
	if (json) {
		ss_buf_addc(b, b->len ? ',' : '{');
		ss_buf_add_json_string(b, k, strlen(k));
		ss_buf_addc(b, ':');
		ss_buf_add_json_string(b, v, strlen(v));
	} else {
		ss_buf_addf(b, "%s: ", k);
		ss_buf_add_clean(b, v);
		ss_buf_addc(b, '\n');
	}
}

static void stat_int(struct ss_buf *b, int json, const char *k, int64_t v)
{
	if (json)
		ss_buf_addf(b, "%c\"%s\":%" PRId64, b->len ? ',' : '{', k, v);
	else
		ss_buf_addf(b, "%s: %" PRId64 "\n", k, v);
}

/* What the running stages last said of themselves (their heartbeats):
 * state, pid and registry connections, as stage_<name>_<key>. */
static int stage_stats(struct ss_registry *reg, struct ss_buf *b, int json,
		       int64_t now_us, struct ss_err *err)
{
	struct ss_heartbeat *hb;
	size_t i, n;
	char key[64];

	if (ss_registry_heartbeats(reg, &hb, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "stage_%s_state", hb[i].stage);
		stat_str(b, json, key, hb[i].state);
		snprintf(key, sizeof(key), "stage_%s_pid", hb[i].stage);
		stat_int(b, json, key, hb[i].pid);
		snprintf(key, sizeof(key), "stage_%s_registry_connections",
			 hb[i].stage);
		stat_int(b, json, key, hb[i].registry_connections);
		snprintf(key, sizeof(key), "stage_%s_age_ms", hb[i].stage);
		stat_int(b, json, key, (now_us - hb[i].updated_us) / 1000);
	}
	free(hb);
	return 0;
}

int ss_registry_stats_report(struct ss_registry *reg, const char *registry_path,
			     const char *data_dir, int json, int64_t now_us,
			     struct ss_buf *out, struct ss_err *err)
{
	struct ss_registry_stats st;
	struct ss_datadir_counts dc;
	struct ss_buf b = SS_BUF_INIT;
	char lsn[SS_LSN_STRMAX];

	memset(&st, 0, sizeof(st));
	if (ss_registry_stats(reg, &st, err) < 0 ||
	    ss_registry_datadir_counts(data_dir, &dc, err) < 0)
		return -1;
	stat_str(&b, json, "registry", registry_path);
	stat_str(&b, json, "data_dir", data_dir);
	stat_int(&b, json, "shapes", st.shapes);
	stat_int(&b, json, "schema_version", st.schema_version);
	ss_lsn_format(st.durable_lsn, lsn);
	stat_str(&b, json, "durable_lsn", lsn);
	stat_int(&b, json, "stream", st.stream);
	stat_int(&b, json, "db_bytes", st.db_bytes);
	stat_int(&b, json, "wal_bytes", st.wal_bytes);
	stat_int(&b, json, "next_id", st.next_block);
	stat_int(&b, json, "pending_writes", st.pending_writes);
	stat_int(&b, json, "buffer_capacity", st.buffer_capacity);
	stat_int(&b, json, "read_connections", st.read_connections);
	stat_int(&b, json, "write_connection", st.write_connection);
	stat_int(&b, json, "flushes", st.flushes);
	stat_int(&b, json, "flushed_ops", st.flushed_ops);
	stat_int(&b, json, "flush_errors", st.flush_errors);
	stat_int(&b, json, "writer_waits", st.writer_waits);
	stat_int(&b, json, "touches_dropped", st.touches_dropped);
	stat_int(&b, json, "conflicts", st.conflicts);
	stat_int(&b, json, "shape_dirs", dc.shape_dirs);
	stat_int(&b, json, "stray_entries", dc.stray_entries);
	stat_int(&b, json, "trash_entries", dc.trash_entries);
	if (stage_stats(reg, &b, json, now_us, err) < 0) {
		ss_buf_release(&b);
		return -1;
	}
	if (json)
		ss_buf_adds(&b, "}\n");
	ss_buf_add(out, b.buf, b.len);
	ss_buf_release(&b);
	return 0;
}
