/*
 * test-movein-restart.c — lib/movein without PostgreSQL: the restart path of
 * nested subqueries. A recorded move of the shape of a nested subquery
 * (I1) whose lines are in I1's log while their carrier J is not durable
 * is counted again into route's view of I1 when J comes again (recount),
 * with the lines J carries before its changes and those after them.
 * Real registry and data dir; no --db, so a move the outer shape would
 * have to query invalidates it (the callback records it).
 */
#include <inttypes.h>

#include "datadir.h"
#include "log.h"
#include "movein.h"
#include "offset.h"
#include "subq.h"
#include "unit.h"
#include "unit-registry.h"

#define MOVEIN(id)                                                             \
	"{\"key\":\"\\\"public\\\".\\\"projects\\\"/\\\"" id                   \
	"\\\"\",\"value\":{\"id\":\"" id "\",\"org_id\":\"" id                 \
	"\"},\"headers\":{\"operation\":\"insert\",\"relation\":[\"public\","  \
	"\"projects\"],\"is_move_in\":true}}"

static int invalidated;

static void on_write(void *ctx, json_t *frame)
{
	(void)ctx;
	(void)frame;
}

static void on_invalidate(void *ctx, int64_t outer, const char *reason)
{
	(void)ctx;
	(void)outer;
	(void)reason;
	invalidated++;
}

static char *handle_of(struct ss_registry *reg, int64_t id)
{
	struct ss_shape_rec rec;
	struct ss_err err = SS_ERR_INIT;
	char *h;

	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_id(reg, id, &rec, &err) == 1);
	h = ss_xstrdup(rec.handle);
	ss_shape_rec_release(&rec);
	return h;
}

/* Outer shape `id` (handle h) with clause `where` on one column `col`,
 * depending on inner shape `inner` (table t, column id). */
static void add_outer(struct ss_subq *q, int64_t id, const char *h,
		      const char *col, const char *where, int64_t inner)
{
	struct ss_where_column cols[1] = {{.name = col, .type = "int4"}};
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
	if (ss_where_compile_opts(where, cols, 1, NULL, 0, &o, &w, &err) < 0)
		FAILF("compile: %s", err.msg);
	if (ss_subq_add(q, id, h, w, cols, 1, &inner, &err) < 0)
		FAILF("add: %s", err.msg);
	ss_subq_deps_release(&d);
	ss_buf_release(&deps);
}

static void append(struct ss_log_writer *lw, ss_lsn lsn, int64_t after,
		   uint64_t k, const char *line)
{
	struct ss_offset off;
	struct ss_err err = SS_ERR_INIT;

	CHECK(ss_offset_for_movein(lsn, after, k, &off, &err) == 0);
	CHECK(ss_log_append(lw, &off, line, strlen(line), &err) == 0);
}

/*
 * Transaction J (commit LSN 0x3E8, xid 70) carried two moves of I1:
 * one queried earlier (moved at 0x1F4), written before J's changes
 * (project 10 entered I1), and J's own (org 2 entered I2), written
 * after them (project 20 entered I1). Both are in I1's log, and store's
 * durable position is below J. Route starts again: when J comes again,
 * I1's view counts both, so project 20 can leave it again.
 */
static void recount_both_placements(void)
{
	struct ss_registry *reg;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf data = SS_BUF_INIT, dir = SS_BUF_INIT,
		      state = SS_BUF_INIT, text = SS_BUF_INIT;
	struct ss_log_writer *lw;
	struct ss_movein_cfg cfg;
	struct ss_movein *m;
	struct ss_subq *q;
	struct ss_subq_moves moves;
	int64_t i2, i1, o, *ids;
	char *h1, *h2, *ho;
	const char *org2[1] = {"2"}, *p20[1] = {"20"};
	size_t n, k;

	reg = unit_open_reg("registry.db", 0);
	ss_buf_addf(&data, "%s/data", unit_dir);
	CHECK(ss_datadir_init(data.buf, &err) == 0);
	i2 = unit_add_shape(reg, 1);
	i1 = unit_add_shape(reg, 2);
	o = unit_add_shape(reg, 3);
	CHECK(ss_registry_set_snapshot(reg, i2, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_snapshot(reg, i1, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_snapshot(reg, o, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_durable_lsn(reg, 0x384, 0, &err) == 1 &&
	      ss_registry_flush(reg, &err) == 0);
	h2 = handle_of(reg, i2);
	h1 = handle_of(reg, i1);
	ho = handle_of(reg, o);

	/* I1's log: J's lines before its changes and after them */
	ss_datadir_shape_path(&dir, data.buf, h1);
	CHECK(ss_datadir_init(dir.buf, &err) == 0);
	CHECK(ss_log_writer_open(dir.buf, NULL, &lw, &err) == 0);
	append(lw, 0x3E8, -1, 0, MOVEIN("10"));
	append(lw, 0x3E8, 0, 0, MOVEIN("20"));
	CHECK(ss_log_commit(lw, 0x3E8, &err) == 0);
	ss_log_writer_close(lw);

	/* route's state file: the two moves of I1, carried by J */
	ss_buf_addf(&state, "%s/movein.state", unit_dir);
	ss_buf_addf(&text,
		    "{\"moveins\":["
		    "{\"shape\":%" PRId64 ",\"handle\":\"%s\",\"dep\":0,"
		    "\"value\":[\"1\"],\"xid\":50,\"lsn\":\"0/1F4\","
		    "\"carrier\":\"0/3E8\"},"
		    "{\"shape\":%" PRId64 ",\"handle\":\"%s\",\"dep\":0,"
		    "\"value\":[\"2\"],\"xid\":70,\"lsn\":\"0/3E8\","
		    "\"carrier\":\"0/3E8\",\"after\":0}]}",
		    i1, h1, i1, h1);
	CHECK(ss_write_file_atomic(state.buf, text.buf, text.len, &err) == 0);

	/* route's start: I1 on I2, O on I1, views at the durable 0x384 */
	q = ss_subq_new(SS_SUBQ_STACK_ID);
	add_outer(q, i1, h1, "org_id", "org_id IN (SELECT id FROM t)", i2);
	add_outer(q, o, ho, "project_id", "project_id IN (SELECT id FROM t)",
		  i1);
	CHECK(ss_subq_set_deletes(q, i1, &err) == 0);
	n = ss_subq_unloaded(q, &ids);
	CHECK(n == 2);
	for (k = 0; k < n; k++) {
		struct ss_pg_snapshot none;

		memset(&none, 0, sizeof(none));
		CHECK(ss_subq_loaded(q, ids[k], 0x384, &none, &err) == 0);
	}
	free(ids);
	memset(&cfg, 0, sizeof(cfg));
	cfg.subq = q;
	cfg.reg = reg;
	cfg.state_path = state.buf;
	cfg.datadir = data.buf;
	cfg.write = on_write;
	cfg.invalidate = on_invalidate;
	m = ss_movein_new(&cfg, &err);
	CHECK(m != NULL);
	if (!m)
		FAILF("movein: %s", err.msg);
	CHECK(ss_movein_restore(m, 0x384, &err) == 0);
	CHECK(ss_movein_run(m, &err) == 0);

	/* J comes again: its begin, its change (org 2 enters I2: I1's own
	 * move, its lines in the log), its commit */
	CHECK(ss_movein_begin(m, 70, 0x3E8, &err) == 0);
	ss_subq_moves_init(&moves);
	CHECK(ss_subq_inner(q, i2, SS_FRAME_OP_INSERT, org2, NULL, 70, 0x3E8,
			    &moves, &err) == 0);
	CHECK(moves.n == 1 && moves.v[0].kind == SS_SUBQ_MOVE_IN &&
	      moves.v[0].outer == i1);
	for (k = 0; k < moves.n; k++)
		ss_movein_add(m, &moves.v[k], 70, 0x3E8);
	ss_subq_moves_release(&moves);
	CHECK(ss_movein_commit(m, 70, 0x3E8, 0x3F0, 0, &err) == 0);

	/* project 20 is in I1's view: it can leave */
	ss_subq_moves_init(&moves);
	if (ss_subq_inner(q, i1, SS_FRAME_OP_DELETE, NULL, p20, 80, 0x400,
			  &moves, &err) < 0)
		FAILF("project 20 was not counted into I1's view: %s", err.msg);
	ss_subq_moves_release(&moves);

	ss_movein_free(m);
	ss_subq_free(q);
	free(h1);
	free(h2);
	free(ho);
	ss_buf_release(&data);
	ss_buf_release(&dir);
	ss_buf_release(&state);
	ss_buf_release(&text);
	ss_registry_close(reg, &err);
}

/* What outer shape id's clause sees of value v of its dependency 0. */
static int member(struct ss_subq *q, int64_t id, const char *v)
{
	ss_where_member_fn fn;
	void *ctx;
	const char *vals[1] = {v};
	struct ss_err err = SS_ERR_INIT;
	int res = 9;

	CHECK(ss_subq_member_fn(q, id, &fn, &ctx) == 1);
	CHECK(fn(ctx, 0, vals, 1, &res, &err) == 0);
	return res;
}

/*
 * T moved org 2 into I2; I1 saw it as not moved until its move-in (the
 * query's rows: projects 20 and 21) was written into J, commit LSN
 * 0x3E8, xid 70; project 21 was added to org 2 in between (at T'), so
 * its insert was not I1's: it is one of the lines. The lines are in
 * I1's log, J is not durable (store's durable position is 0x384).
 *   durable_t 0: T is J itself (pos 0; T' is J's pos 1), the lines
 *     after J's changes; T comes again.
 *   durable_t 1: T (0x300) is durable, the view of I2 is loaded with
 *     org 2; T' (0x390) and J come again, the lines before J's changes.
 * Route starts again: I1 must see org 2 move where the lines are, not
 * before, else project 21 is I1's change at T' and counted again with
 * the lines, and when it leaves I1 nothing moves for O.
 */
static void settle_at_carrier(int durable_t)
{
	struct ss_registry *reg;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf data = SS_BUF_INIT, dir = SS_BUF_INIT,
		      state = SS_BUF_INIT, text = SS_BUF_INIT,
		      name = SS_BUF_INIT;
	struct ss_log_writer *lw;
	struct ss_movein_cfg cfg;
	struct ss_movein *m;
	struct ss_subq *q;
	struct ss_subq_moves moves;
	int64_t i2, i1, o, *ids;
	char *h1, *h2, *ho;
	const char *org2[1] = {"2"}, *p21[1] = {"21"};
	int64_t after = durable_t ? -1 : 1;
	uint64_t xid_t = durable_t ? 65 : 70;
	ss_lsn lsn_t = durable_t ? 0x390 : 0x3E8;
	size_t n, k;
	int out;

	ss_buf_addf(&name, "registry-carrier%d.db", durable_t);
	reg = unit_open_reg(name.buf, 0);
	ss_buf_addf(&data, "%s/data-carrier%d", unit_dir, durable_t);
	CHECK(ss_datadir_init(data.buf, &err) == 0);
	i2 = unit_add_shape(reg, 1);
	i1 = unit_add_shape(reg, 2);
	o = unit_add_shape(reg, 3);
	CHECK(ss_registry_set_snapshot(reg, i2, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_snapshot(reg, i1, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_snapshot(reg, o, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_durable_lsn(reg, 0x384, 0, &err) == 1 &&
	      ss_registry_flush(reg, &err) == 0);
	h2 = handle_of(reg, i2);
	h1 = handle_of(reg, i1);
	ho = handle_of(reg, o);

	/* I1's log: the move's lines in J */
	ss_datadir_shape_path(&dir, data.buf, h1);
	CHECK(ss_datadir_init(dir.buf, &err) == 0);
	CHECK(ss_log_writer_open(dir.buf, NULL, &lw, &err) == 0);
	append(lw, 0x3E8, after, 0, MOVEIN("20"));
	append(lw, 0x3E8, after, 1, MOVEIN("21"));
	CHECK(ss_log_commit(lw, 0x3E8, &err) == 0);
	ss_log_writer_close(lw);

	ss_buf_addf(&state, "%s/movein-carrier%d.state", unit_dir, durable_t);
	ss_buf_addf(&text,
		    "{\"moveins\":["
		    "{\"shape\":%" PRId64 ",\"handle\":\"%s\",\"dep\":0,"
		    "\"value\":[\"2\"],\"xid\":%d,\"lsn\":\"%s\","
		    "\"carrier\":\"0/3E8\"%s}]}",
		    i1, h1, durable_t ? 60 : 70, durable_t ? "0/300" : "0/3E8",
		    durable_t ? "" : ",\"after\":1");
	CHECK(ss_write_file_atomic(state.buf, text.buf, text.len, &err) == 0);

	q = ss_subq_new(SS_SUBQ_STACK_ID);
	add_outer(q, i1, h1, "org_id", "org_id IN (SELECT id FROM t)", i2);
	add_outer(q, o, ho, "project_id", "project_id IN (SELECT id FROM t)",
		  i1);
	CHECK(ss_subq_set_deletes(q, i1, &err) == 0);
	if (durable_t) /* I2's files hold T */
		CHECK(ss_subq_load(q, i2, org2, 1, &err) == 0);
	n = ss_subq_unloaded(q, &ids);
	for (k = 0; k < n; k++) {
		struct ss_pg_snapshot none;

		memset(&none, 0, sizeof(none));
		CHECK(ss_subq_loaded(q, ids[k], 0x384, &none, &err) == 0);
	}
	free(ids);
	memset(&cfg, 0, sizeof(cfg));
	cfg.subq = q;
	cfg.reg = reg;
	cfg.state_path = state.buf;
	cfg.datadir = data.buf;
	cfg.write = on_write;
	cfg.invalidate = on_invalidate;
	m = ss_movein_new(&cfg, &err);
	if (!m)
		FAILF("movein: %s", err.msg);
	CHECK(ss_movein_restore(m, 0x384, &err) >= 0);
	CHECK(ss_movein_run(m, &err) == 0);

	if (!durable_t) {
		/* J again: org 2 enters I2 (pos 0) */
		CHECK(ss_movein_begin(m, 70, 0x3E8, &err) == 0);
		ss_subq_moves_init(&moves);
		CHECK(ss_subq_inner(q, i2, SS_FRAME_OP_INSERT, org2, NULL, 70,
				    0x3E8, &moves, &err) == 0);
		CHECK(moves.n == 1 && moves.v[0].kind == SS_SUBQ_MOVE_IN &&
		      moves.v[0].outer == i1);
		for (k = 0; k < moves.n; k++)
			ss_movein_add(m, &moves.v[k], 70, 0x3E8);
		ss_subq_moves_release(&moves);
	} else {
		CHECK(ss_movein_begin(m, xid_t, lsn_t, &err) == 0);
	}
	/* project 21 of org 2 (T'): I1's, as route would decide, only if
	 * I1 sees org 2 already (it did not when T' was first routed) */
	CHECK(member(q, i1, "2") == 0);
	if (member(q, i1, "2") == 1) {
		ss_subq_moves_init(&moves);
		CHECK(ss_subq_inner(q, i1, SS_FRAME_OP_INSERT, p21, NULL, xid_t,
				    lsn_t, &moves, &err) == 0);
		ss_subq_moves_release(&moves);
	}
	if (durable_t) {
		CHECK(ss_movein_commit(m, xid_t, lsn_t, lsn_t + 8, 0, &err) ==
		      0);
		CHECK(ss_movein_begin(m, 70, 0x3E8, &err) == 0);
	}
	CHECK(ss_movein_commit(m, 70, 0x3E8, 0x3F0, 1, &err) == 0);
	/* after the lines, org 2 counts for I1 */
	CHECK(member(q, i1, "2") == 1);

	/* project 21 leaves I1: a move-out of O */
	ss_subq_moves_init(&moves);
	CHECK(ss_subq_inner(q, i1, SS_FRAME_OP_DELETE, NULL, p21, 80, 0x400,
			    &moves, &err) == 0);
	for (k = 0, out = 0; k < moves.n; k++)
		out += moves.v[k].outer == o &&
		       moves.v[k].kind == SS_SUBQ_MOVE_OUT;
	CHECK(out == 1);
	ss_subq_moves_release(&moves);

	ss_movein_free(m);
	ss_subq_free(q);
	free(h1);
	free(h2);
	free(ho);
	ss_buf_release(&data);
	ss_buf_release(&dir);
	ss_buf_release(&state);
	ss_buf_release(&text);
	ss_buf_release(&name);
	ss_registry_close(reg, &err);
}

/*
 * The same lines (I1's move-in of org 2 written into J after its
 * changes: project 20), J not durable, but route starts again with no
 * shape depending on I1 yet: outer shape O is created while route
 * catches up, and activated after T, before J comes again (its view of
 * I1 is loaded there, without J's lines). J's lines must still be
 * counted into that view when J comes again.
 */
static void recount_late_outer(void)
{
	struct ss_registry *reg;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf data = SS_BUF_INIT, dir = SS_BUF_INIT,
		      state = SS_BUF_INIT, text = SS_BUF_INIT;
	struct ss_log_writer *lw;
	struct ss_movein_cfg cfg;
	struct ss_movein *m;
	struct ss_subq *q;
	struct ss_subq_moves moves;
	struct ss_pg_snapshot none;
	int64_t i2, i1, o, *ids;
	char *h1, *h2, *ho;
	const char *org2[1] = {"2"}, *p20[1] = {"20"};
	size_t n, k;

	memset(&none, 0, sizeof(none));
	reg = unit_open_reg("registry-late.db", 0);
	ss_buf_addf(&data, "%s/data-late", unit_dir);
	CHECK(ss_datadir_init(data.buf, &err) == 0);
	i2 = unit_add_shape(reg, 1);
	i1 = unit_add_shape(reg, 2);
	o = unit_add_shape(reg, 3);
	CHECK(ss_registry_set_snapshot(reg, i2, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_snapshot(reg, i1, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_snapshot(reg, o, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_durable_lsn(reg, 0x384, 0, &err) == 1 &&
	      ss_registry_flush(reg, &err) == 0);
	h2 = handle_of(reg, i2);
	h1 = handle_of(reg, i1);
	ho = handle_of(reg, o);

	ss_datadir_shape_path(&dir, data.buf, h1);
	CHECK(ss_datadir_init(dir.buf, &err) == 0);
	CHECK(ss_log_writer_open(dir.buf, NULL, &lw, &err) == 0);
	append(lw, 0x3E8, 0, 0, MOVEIN("20"));
	CHECK(ss_log_commit(lw, 0x3E8, &err) == 0);
	ss_log_writer_close(lw);

	/* T (0x390) moved org 2; its lines went into J (0x3E8) */
	ss_buf_addf(&state, "%s/movein-late.state", unit_dir);
	ss_buf_addf(&text,
		    "{\"moveins\":["
		    "{\"shape\":%" PRId64 ",\"handle\":\"%s\",\"dep\":0,"
		    "\"value\":[\"2\"],\"xid\":65,\"lsn\":\"0/390\","
		    "\"carrier\":\"0/3E8\",\"after\":0}]}",
		    i1, h1);
	CHECK(ss_write_file_atomic(state.buf, text.buf, text.len, &err) == 0);

	/* route's start: I1 on I2, nothing on I1 */
	q = ss_subq_new(SS_SUBQ_STACK_ID);
	add_outer(q, i1, h1, "org_id", "org_id IN (SELECT id FROM t)", i2);
	CHECK(ss_subq_set_deletes(q, i1, &err) == 0);
	n = ss_subq_unloaded(q, &ids);
	for (k = 0; k < n; k++)
		CHECK(ss_subq_loaded(q, ids[k], 0x384, &none, &err) == 0);
	free(ids);
	memset(&cfg, 0, sizeof(cfg));
	cfg.subq = q;
	cfg.reg = reg;
	cfg.state_path = state.buf;
	cfg.datadir = data.buf;
	cfg.write = on_write;
	cfg.invalidate = on_invalidate;
	m = ss_movein_new(&cfg, &err);
	if (!m)
		FAILF("movein: %s", err.msg);
	CHECK(ss_movein_restore(m, 0x384, &err) >= 0);
	CHECK(ss_movein_run(m, &err) == 0);

	/* T again */
	CHECK(ss_movein_begin(m, 65, 0x390, &err) == 0);
	ss_subq_moves_init(&moves);
	CHECK(ss_subq_inner(q, i2, SS_FRAME_OP_INSERT, org2, NULL, 65, 0x390,
			    &moves, &err) == 0);
	for (k = 0; k < moves.n; k++)
		ss_movein_add(m, &moves.v[k], 65, 0x390);
	ss_subq_moves_release(&moves);
	CHECK(ss_movein_commit(m, 65, 0x390, 0x398, 0, &err) == 0);
	CHECK(ss_movein_run(m, &err) == 0);

	/* O activated at 0x398: its view of I1 as I1's files hold it below
	 * 0x396 (nothing) */
	add_outer(q, o, ho, "project_id", "project_id IN (SELECT id FROM t)",
		  i1);
	n = ss_subq_unloaded(q, &ids);
	CHECK(n == 1);
	for (k = 0; k < n; k++)
		CHECK(ss_subq_loaded(q, ids[k], 0x398, &none, &err) == 0);
	free(ids);

	/* J again, no changes */
	CHECK(ss_movein_begin(m, 70, 0x3E8, &err) == 0);
	CHECK(ss_movein_commit(m, 70, 0x3E8, 0x3F0, -1, &err) == 0);

	/* project 20 is in I1's view: it can leave */
	ss_subq_moves_init(&moves);
	if (ss_subq_inner(q, i1, SS_FRAME_OP_DELETE, NULL, p20, 80, 0x400,
			  &moves, &err) < 0)
		FAILF("project 20 was not counted into I1's view: %s", err.msg);
	ss_subq_moves_release(&moves);

	ss_movein_free(m);
	ss_subq_free(q);
	free(h1);
	free(h2);
	free(ho);
	ss_buf_release(&data);
	ss_buf_release(&dir);
	ss_buf_release(&state);
	ss_buf_release(&text);
	ss_registry_close(reg, &err);
}

/* argv[1], if given: the one case to run (1..4) */
int main(int argc, char **argv)
{
	int only = argc > 1 ? argv[1][0] - '0' : 0;

	unit_mkdtemp("/tmp/ss-unit-movein.XXXXXX");
	if (!only || only == 1)
		recount_both_placements();
	if (!only || only == 2)
		settle_at_carrier(0);
	if (!only || only == 3)
		settle_at_carrier(1);
	if (!only || only == 4)
		recount_late_outer();
	return unit_finish();
}
