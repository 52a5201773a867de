/*
 * test-viewload.c — lib/viewload: a subquery's view read from its inner
 * shape's files (snapshot, then log entries below the end position) on a
 * real registry and data dir; an inner shape whose snapshot is not
 * complete is reported through the failed callback and stays unloaded.
 */
#include <inttypes.h>

#include "datadir.h"
#include "log.h"
#include "snapshot.h"
#include "unit.h"
#include "unit-registry.h"
#include "viewload.h"

#define ROW(id)                                                                \
	"{\"key\":\"k" id "\",\"value\":{\"id\":\"" id                         \
	"\"},\"headers\":{\"operation\":\"insert\",\"relation\":[\"public\",\"t\"]}}"
#define DEL(id)                                                                \
	"{\"key\":\"k" id "\",\"value\":{\"id\":\"" id                         \
	"\"},\"headers\":{\"operation\":\"delete\",\"relation\":[\"public\",\"t\"]}}"
#define MOVEIN(id)                                                             \
	"{\"key\":\"k" id "\",\"value\":{\"id\":\"" id                         \
	"\"},\"headers\":{\"operation\":\"insert\",\"relation\":[\"public\","  \
	"\"t\"],\"is_move_in\":true}}"
#define EVENT                                                                  \
	"{\"headers\":{\"event\":\"move-in\",\"patterns\":[{\"pos\":0,"        \
	"\"value\":\"x\"}],\"txids\":[9]}}"
#define END "{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":\"1\"}}"

static char failed[300];

static void on_failed(int64_t inner, const char *why, void *ctx)
{
	(void)ctx;
	snprintf(failed, sizeof(failed), "%" PRId64 ": %s", inner, why);
}

static const struct ss_viewload_ops ops = {on_failed, NULL};

/* The inner shape's files: rows 7 and 8, then 8 deleted at LSN 200, 9
 * inserted at LSN 300, and 6 moved in by the lines of a nested subquery's
 * move (its event, the row, snapshot-end) written before the changes of
 * the transaction at LSN 400, at offsets (400 - 1)_0.. */
static void make_files(const char *dir)
{
	struct ss_snapshot_writer *sw;
	struct ss_log_writer *lw;
	struct ss_err err = SS_ERR_INIT;
	struct ss_offset off;
	uint64_t chunks;

	CHECK(ss_snapshot_begin(dir, 1000, &sw, &err) == 0);
	CHECK(ss_snapshot_add(sw, ROW("7"), strlen(ROW("7")), &err) == 0);
	CHECK(ss_snapshot_add(sw, ROW("8"), strlen(ROW("8")), &err) == 0);
	CHECK(ss_snapshot_finish(sw, END, strlen(END), &chunks, &err) == 0);
	CHECK(ss_log_writer_open(dir, NULL, &lw, &err) == 0);
	CHECK(ss_offset_for_change(200, 0, &off, &err) == 0 &&
	      ss_log_append(lw, &off, DEL("8"), strlen(DEL("8")), &err) == 0 &&
	      ss_log_commit(lw, 200, &err) == 0);
	CHECK(ss_offset_for_change(300, 0, &off, &err) == 0 &&
	      ss_log_append(lw, &off, ROW("9"), strlen(ROW("9")), &err) == 0 &&
	      ss_log_commit(lw, 300, &err) == 0);
	CHECK(ss_offset_for_movein(400, -1, 0, &off, &err) == 0 &&
	      ss_log_append(lw, &off, EVENT, strlen(EVENT), &err) == 0);
	CHECK(ss_offset_for_movein(400, -1, 1, &off, &err) == 0 &&
	      ss_log_append(lw, &off, MOVEIN("6"), strlen(MOVEIN("6")), &err) ==
		  0);
	CHECK(ss_offset_for_movein(400, -1, 2, &off, &err) == 0 &&
	      ss_log_append(lw, &off, END, strlen(END), &err) == 0 &&
	      ss_log_commit(lw, 400, &err) == 0);
	ss_log_writer_close(lw);
}

static int member(struct ss_subq *q, int64_t outer, const char *v)
{
	ss_where_member_fn fn;
	void *ctx;
	const char *vals[1] = {v};
	struct ss_err err = SS_ERR_INIT;
	int res = 9;

	CHECK(ss_subq_member_fn(q, outer, &fn, &ctx) == 1);
	CHECK(fn(ctx, 0, vals, 1, &res, &err) == 0);
	return res;
}

/* A subquery state with outer shape 100 on inner shape `inner`. */
static struct ss_subq *outer_on(int64_t inner)
{
	static const struct ss_where_column cols[] = {
	    {.name = "p", .type = "int4"}};
	struct ss_subq *q = ss_subq_new(SS_SUBQ_STACK_ID);
	struct ss_subq_deps d;
	struct ss_buf deps = SS_BUF_INIT;
	struct ss_where_tables t = {ss_subq_deps_describe, &d};
	struct ss_where_opts o = {.tables = &t};
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;

	ss_buf_addf(&deps,
		    "{\"inner\":[%" PRId64
		    "],\"tables\":[{\"schema\":\"public\","
		    "\"table\":\"t\",\"columns\":[[\"id\",\"int4\"]]}]}",
		    inner);
	CHECK(ss_subq_deps_parse(deps.buf, &d, &err) == 0);
	if (ss_where_compile_opts("p IN (SELECT id FROM t)", cols, 1, NULL, 0,
				  &o, &w, &err) < 0)
		FAILF("compile: %s", err.msg);
	CHECK(ss_subq_add(q, 100, "1-2", w, cols, 1, &inner, &err) == 0);
	ss_subq_deps_release(&d);
	ss_buf_release(&deps);
	return q;
}

int main(void)
{
	struct ss_registry *reg;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf data = SS_BUF_INIT, dir = SS_BUF_INIT;
	struct ss_shape_rec rec;
	struct ss_subq *q;
	int64_t inner, pending;
	int64_t *ids;

	unit_mkdtemp("/tmp/ss-unit-viewload.XXXXXX");
	reg = unit_open_reg("registry.db", 0);
	ss_buf_addf(&data, "%s/data", unit_dir);
	CHECK(ss_datadir_init(data.buf, &err) == 0);
	inner = unit_add_shape(reg, 1);
	pending = unit_add_shape(reg, 2);
	CHECK(ss_registry_set_snapshot(reg, inner, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_flush(reg, &err) == 0);
	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_id(reg, inner, &rec, &err) == 1);
	ss_datadir_shape_path(&dir, data.buf, rec.handle);
	ss_shape_rec_release(&rec);
	make_files(dir.buf);

	/* Up to (not including) 300: 7 in, 8 deleted at 200, 9 not yet. */
	q = outer_on(inner);
	CHECK(ss_viewload_run(q, reg, data.buf, 300, 1000, &ops, NULL, &err) ==
	      0);
	CHECK_STR(failed, "1: store did not make 0/12C durable within 1000 ms");
	CHECK(ss_registry_set_durable_lsn(reg, 300, 0, &err) == 1 &&
	      ss_registry_flush(reg, &err) == 0);
	failed[0] = '\0';
	CHECK(ss_viewload_run(q, reg, data.buf, 300, 1000, &ops, NULL, &err) ==
	      1);
	CHECK_STR(failed, "");
	CHECK(ss_subq_unloaded(q, &ids) == 0);
	free(ids);
	CHECK(member(q, 100, "7") == 1 && member(q, 100, "8") == 0 &&
	      member(q, 100, "9") == 0);
	ss_subq_free(q);

	/* 0: at store's durable position (400 now: 9 is in), without
	 * waiting. The line at (400 - 1)_0 is the transaction at 400's,
	 * which is not durable: not loaded (route counts it when that
	 * transaction comes again), until 401. */
	CHECK(ss_registry_set_durable_lsn(reg, 400, 0, &err) == 1 &&
	      ss_registry_flush(reg, &err) == 0);
	q = outer_on(inner);
	CHECK(ss_viewload_run(q, reg, data.buf, 0, 1000, &ops, NULL, &err) ==
	      1);
	CHECK(member(q, 100, "9") == 1 && member(q, 100, "8") == 0 &&
	      member(q, 100, "6") == 0);
	ss_subq_free(q);
	CHECK(ss_registry_set_durable_lsn(reg, 401, 0, &err) == 1 &&
	      ss_registry_flush(reg, &err) == 0);
	q = outer_on(inner);
	CHECK(ss_viewload_run(q, reg, data.buf, 0, 1000, &ops, NULL, &err) ==
	      1);
	CHECK(member(q, 100, "6") == 1 && member(q, 100, "9") == 1);
	ss_subq_free(q);

	/* An inner shape whose snapshot is not complete: reported. */
	q = outer_on(pending);
	CHECK(ss_viewload_run(q, reg, data.buf, 0, 1000, &ops, NULL, &err) ==
	      0);
	CHECK(strstr(failed, ": its snapshot is not complete") != NULL);
	CHECK(ss_subq_unloaded(q, &ids) == 1);
	free(ids);
	ss_subq_free(q);

	ss_buf_release(&data);
	ss_buf_release(&dir);
	CHECK(ss_registry_close(reg, &err) == 0);
	return unit_finish();
}
