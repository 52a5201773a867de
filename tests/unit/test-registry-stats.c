/*
 * test-registry-stats.c — lib/registry_stats (shapesync-db stats) over a
 * real registry file and data dir: every key in its order, the counts of
 * shapes, shape directories and trash, a stage's heartbeat with its age,
 * control characters cleaned in text and escaped in JSON; and
 * ss_registry_import_file (shapesync-db import) with its error forms.
 */
#include <jansson.h>
#include <sys/stat.h>

#include "unit.h"
#include "unit-registry.h"

#include "datadir.h"
#include "registry_stats.h"

static const char *const keys[] = {"registry",
				   "data_dir",
				   "shapes",
				   "schema_version",
				   "durable_lsn",
				   "stream",
				   "db_bytes",
				   "wal_bytes",
				   "next_id",
				   "pending_writes",
				   "buffer_capacity",
				   "read_connections",
				   "write_connection",
				   "flushes",
				   "flushed_ops",
				   "flush_errors",
				   "writer_waits",
				   "touches_dropped",
				   "conflicts",
				   "shape_dirs",
				   "stray_entries",
				   "trash_entries",
				   "stage_route_state",
				   "stage_route_pid",
				   "stage_route_registry_connections",
				   "stage_route_age_ms",
				   NULL};

/* The value of text line "key: value", or NULL. */
static const char *text_value(const char *text, const char *key, char *buf,
			      size_t n)
{
	const char *p = text;
	size_t k = strlen(key);

	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, k) && p[k] == ':' && p[k + 1] == ' ') {
			size_t len = strcspn(p + k + 2, "\n");

			snprintf(buf, n, "%.*s", (int)len, p + k + 2);
			return buf;
		}
	return NULL;
}

static void test_stats(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *r = unit_open_reg("stats.db", 0);
	struct ss_buf text = SS_BUF_INIT, js = SS_BUF_INIT, p = SS_BUF_INIT;
	struct ss_heartbeat hb, *got = NULL;
	char data[300], reg[300], v[400];
	json_t *obj, *val;
	const char *key, *line;
	size_t n = 0, i;

	snprintf(data, sizeof(data), "%s/data", unit_dir);
	snprintf(reg, sizeof(reg), "%s/stats.db", unit_dir);
	CHECK(ss_datadir_init(data, &err) == 0);
	unit_add_shape(r, 1);
	unit_add_shape(r, 2);
	ss_datadir_shape_path(&p, data, "123-456");
	CHECK(ss_mkdirs(p.buf, 0, &err) == 0);
	ss_buf_reset(&p);
	ss_datadir_shape_path(&p, data, "123-789");
	CHECK(ss_mkdirs(p.buf, 0, &err) == 0);
	CHECK(ss_datadir_trash(data, p.buf, &err) == 0);
	ss_heartbeat_init(&hb, "route");
	hb.pid = 4242;
	snprintf(hb.state, sizeof(hb.state), "a\tb");
	CHECK(ss_registry_heartbeat_put(r, &hb, &err) == 0);
	CHECK(ss_registry_heartbeats(r, &got, &n, &err) == 0 && n == 1);
	if (n != 1)
		FAILF("no heartbeat: %s", err.msg);

	CHECK(ss_registry_stats_report(r, reg, data, 0,
				       got[0].updated_us + 2500000, &text,
				       &err) == 0);
	/* Every key, one line each, in order. */
	for (i = 0, line = text.buf; keys[i]; i++) {
		size_t k = strlen(keys[i]);

		CHECK(!strncmp(line, keys[i], k) && line[k] == ':');
		line = strchr(line, '\n');
		if (!line)
			FAILF("text ends before %s", keys[i]);
		line++;
	}
	CHECK(*line == '\0');
	CHECK_STR(text_value(text.buf, "registry", v, sizeof(v)), reg);
	CHECK_STR(text_value(text.buf, "data_dir", v, sizeof(v)), data);
	CHECK_STR(text_value(text.buf, "shapes", v, sizeof(v)), "2");
	CHECK_STR(text_value(text.buf, "shape_dirs", v, sizeof(v)), "1");
	CHECK_STR(text_value(text.buf, "stray_entries", v, sizeof(v)), "0");
	CHECK_STR(text_value(text.buf, "trash_entries", v, sizeof(v)), "1");
	CHECK_STR(text_value(text.buf, "durable_lsn", v, sizeof(v)), "0/0");
	CHECK_STR(text_value(text.buf, "stage_route_state", v, sizeof(v)),
		  "a b");
	CHECK_STR(text_value(text.buf, "stage_route_pid", v, sizeof(v)),
		  "4242");
	CHECK_STR(text_value(text.buf, "stage_route_age_ms", v, sizeof(v)),
		  "2500");

	/* JSON: one object, the same keys in the same order. */
	CHECK(ss_registry_stats_report(r, reg, data, 1,
				       got[0].updated_us + 2500000, &js,
				       &err) == 0);
	CHECK(js.len && js.buf[0] == '{' && js.buf[js.len - 1] == '\n');
	obj = json_loads(js.buf, JSON_PRESERVE_ORDER, NULL);
	CHECK(obj && json_is_object(obj));
	i = 0;
	json_object_foreach(obj, key, val)
	{
		CHECK(keys[i] && !strcmp(key, keys[i]));
		if (keys[i])
			i++;
	}
	CHECK(!keys[i]);
	CHECK_STR(json_string_value(json_object_get(obj, "stage_route_state")),
		  "a\tb");
	CHECK(json_integer_value(json_object_get(obj, "shapes")) == 2);
	CHECK(json_integer_value(json_object_get(obj, "stage_route_age_ms")) ==
	      2500);
	json_decref(obj);

	/* A data dir that is a file: an error, nothing appended. */
	ss_buf_reset(&js);
	CHECK(ss_registry_stats_report(r, reg, reg, 0, 0, &js, &err) < 0);
	CHECK(err.msg[0] && js.len == 0);

	free(got);
	ss_buf_release(&text);
	ss_buf_release(&js);
	ss_buf_release(&p);
	ss_registry_close(r, &err);
}

static FILE *file_of(const char *name, const char *text, size_t len)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", unit_dir, name);
	f = fopen(path, "w+");
	if (!f || fwrite(text, 1, len, f) != len || fseek(f, 0, SEEK_SET))
		FAILF("%s: %s", path, strerror(errno));
	return f;
}

static void test_import_file(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *r = unit_open_reg("import.db", 0);
	static const char good[] =
	    "\n  \n{\"id\":7,\"handle\":\"123-456\",\"definition\":{\"schema\":"
	    "\"public\",\"table\":\"t\",\"where\":null,\"params\":[],"
	    "\"columns\":null,\"replica\":\"default\",\"log\":\"full\"},"
	    "\"created\":\"1\"}\n";
	static const char bad[] = "\n{\"id\":8}\n";
	static const char nul[] = "\n\n{\"id\"\0:8}\n";
	int64_t n = -1;
	FILE *f;

	f = file_of("bad.ndjson", bad, sizeof(bad) - 1);
	CHECK(ss_registry_import_file(r, f, "bad.ndjson", &n, &err) < 0);
	CHECK(err.code == SS_ERR_INPUT && n == 0);
	CHECK(!strncmp(err.msg, "bad.ndjson:2: ", 14));
	fclose(f);

	ss_err_clear(&err);
	f = file_of("nul.ndjson", nul, sizeof(nul) - 1);
	CHECK(ss_registry_import_file(r, f, "<stdin>", &n, &err) < 0);
	CHECK_STR(err.msg, "<stdin>:3: NUL byte in line");
	CHECK_STR(err.detail, "nothing was imported");
	fclose(f);

	ss_err_clear(&err);
	f = file_of("good.ndjson", good, sizeof(good) - 1);
	CHECK(ss_registry_import_file(r, f, "good.ndjson", &n, &err) == 0);
	CHECK(n == 1);
	CHECK(ss_registry_count(r, &n, &err) == 0 && n == 1);
	fclose(f);
	ss_registry_close(r, &err);
}

int main(void)
{
	unit_mkdtemp("/tmp/ss-unit-registry-stats.XXXXXX");
	test_stats();
	test_import_file();
	return unit_finish();
}
