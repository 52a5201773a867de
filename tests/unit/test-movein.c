/*
 * test-movein.c — lib/movein's restart of a nested subquery's move
 * (docs/subqueries.md, "Nested subqueries"): outer shape O (100) depends
 * on the projects' shape I1, itself a subquery shape (move_out=delete) on
 * the orgs' shape I2 (40). A move-out of I1 wrote the delete of project
 * 10 into the transaction at J (before its changes, or after them), and
 * its record was kept with that carrier. After a restart at a durable
 * position below J, the view of I1 (loaded without those lines) counts
 * them again when J comes again, not before: project 10 leaves O's view
 * there, and O gets its move-out event line exactly once; until then I1
 * routes with the move pending, as it did before the restart (its view
 * follows route's routing, not its log). With J durable, the record is
 * dropped and nothing is counted again. A move cancelled before its
 * lines were written is pending again after a restart until its cancel
 * is durable. A move out as deletes whose query found no row wrote no
 * line, so I1's log does not hold its carrier: once the carrier is
 * durable, the record is dropped all the same. A real
 * registry, data dir, log and state file; no PostgreSQL (no query runs).
 */
#include <inttypes.h>
#include <stdio.h>

#include "datadir.h"
#include "frame.h"
#include "log.h"
#include "movein.h"
#include "subq.h"
#include "unit.h"
#include "unit-registry.h"

static const struct ss_where_column projects[] = {
    {.name = "id", .type = "int4"},
    {.name = "org", .type = "int4"},
};
static const struct ss_where_column tasks[] = {
    {.name = "p", .type = "int4"},
};
static const struct ss_where_column orgs[] = {
    {.name = "id", .type = "int4"},
};

static int describe(void *ctx, const char *schema, const char *name,
		    const struct ss_where_column **cols, size_t *ncols,
		    struct ss_err *err)
{
	(void)ctx, (void)schema, (void)err;
	if (!strcmp(name, "projects")) {
		*cols = projects;
		*ncols = 2;
		return 1;
	}
	if (!strcmp(name, "orgs")) {
		*cols = orgs;
		*ncols = 1;
		return 1;
	}
	return 0;
}

static struct ss_where *compile(const char *text,
				const struct ss_where_column *cols, size_t n)
{
	struct ss_where_tables t = {describe, NULL};
	struct ss_where_opts o = {.tables = &t};
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;

	if (ss_where_compile_opts(text, cols, n, NULL, 0, &o, &w, &err) < 0)
		FAILF("%s: %s", text, err.msg);
	return w;
}

/* What lib/movein writes and invalidates. */
static struct ss_buf written;
static int nwritten, ninvalid;

static void on_write(void *ctx, json_t *f)
{
	char *s = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);

	(void)ctx;
	ss_buf_addf(&written, "%s\n", s);
	free(s);
	nwritten++;
}

/* what restore and recount traced (cfg.trace), one line each */
static struct ss_buf traced = SS_BUF_INIT;

static void on_trace(void *ctx, const char *what)
{
	(void)ctx;
	ss_buf_adds(&traced, what);
	ss_buf_addc(&traced, '\n');
}

static void on_invalidate(void *ctx, int64_t outer, const char *why)
{
	(void)ctx;
	fprintf(stderr, "invalidated %" PRId64 ": %s\n", outer, why);
	ninvalid++;
}

/* 1 if shape I1 sees org v in its subquery (a pending move-out keeps
 * it there) */
static int org_in(struct ss_subq *q, int64_t i1, const char *v)
{
	ss_where_member_fn fn;
	void *ctx;
	const char *vals[1] = {v};
	struct ss_err err = SS_ERR_INIT;
	int res = 9;

	CHECK(ss_subq_member_fn(q, i1, &fn, &ctx) == 1);
	CHECK(fn(ctx, 0, vals, 1, &res, &err) == 0);
	return res;
}

static int in_view(struct ss_subq *q, const char *v)
{
	ss_where_member_fn fn;
	void *ctx;
	const char *vals[1] = {v};
	struct ss_err err = SS_ERR_INIT;
	int res = 9;

	CHECK(ss_subq_member_fn(q, 100, &fn, &ctx) == 1);
	CHECK(fn(ctx, 0, vals, 1, &res, &err) == 0);
	return res;
}

#define J 0x2000
#define E 0x1800 /* store's durable position: below J */
#define DEL10                                                                  \
	"{\"key\":\"k10\",\"value\":{\"id\":\"10\",\"org\":\"1\"},"            \
	"\"headers\":{\"operation\":\"delete\",\"relation\":[\"public\","      \
	"\"projects\"]}}"

/* route's state after a restart: O on I1 on I2, I1's view loaded at
 * `at` holding projects 10 and 11 (at E: without the delete at J). */
static struct ss_subq *state_at(int64_t i1, const char *h1, ss_lsn at)
{
	static const struct ss_pg_snapshot nosnap;
	struct ss_subq *q = ss_subq_new(SS_SUBQ_STACK_ID);
	struct ss_err err = SS_ERR_INIT;
	int64_t i2 = 40;
	const char *v10[1] = {"10"}, *v11[1] = {"11"};

	CHECK(ss_subq_add(
		  q, i1, h1,
		  compile("org IN (SELECT id FROM public.orgs)", projects, 2),
		  projects, 2, &i2, &err) == 0);
	CHECK(ss_subq_set_deletes(q, i1, &err) == 0);
	CHECK(ss_subq_add(
		  q, 100, "5-1700000000000000",
		  compile("p IN (SELECT id FROM public.projects)", tasks, 1),
		  tasks, 1, &i1, &err) == 0);
	CHECK(ss_subq_load(q, i1, v10, 1, &err) == 0 &&
	      ss_subq_load(q, i1, v11, 1, &err) == 0);
	CHECK(ss_subq_loaded(q, i1, at, &nosnap, &err) == 0 &&
	      ss_subq_loaded(q, i2, at, &nosnap, &err) == 0);
	return q;
}

static struct ss_subq *state(int64_t i1, const char *h1)
{
	return state_at(i1, h1, E);
}

/* lib/movein over state q, the registry and data dir, and the state
 * file at path, with this test's callbacks; the counters reset. */
static struct ss_movein *movein_new(struct ss_subq *q, struct ss_registry *reg,
				    const char *data, const char *path)
{
	struct ss_movein_cfg cfg;
	struct ss_movein *m;
	struct ss_err err = SS_ERR_INIT;

	memset(&cfg, 0, sizeof(cfg));
	cfg.subq = q;
	cfg.reg = reg;
	cfg.state_path = path;
	cfg.datadir = data;
	cfg.write = on_write;
	cfg.invalidate = on_invalidate;
	cfg.trace = on_trace;
	m = ss_movein_new(&cfg, &err);
	if (!m)
		FAILF("ss_movein_new: %s", err.msg);
	ss_buf_reset(&written);
	ss_buf_reset(&traced);
	nwritten = ninvalid = 0;
	return m;
}

/* I1's log: the delete of project 10 in the transaction at J, before its
 * changes (after < 0: offset (J - 1)_0) or after them (J_(4 (after + 1))). */
static void write_log(const char *dir, int64_t after)
{
	struct ss_log_writer *lw;
	struct ss_err err = SS_ERR_INIT;
	struct ss_offset off;

	CHECK(ss_log_writer_open(dir, NULL, &lw, &err) == 0);
	CHECK(ss_offset_for_movein(J, after, 0, &off, &err) == 0 &&
	      ss_log_append(lw, &off, DEL10, strlen(DEL10), &err) == 0 &&
	      ss_log_commit(lw, J, &err) == 0);
	ss_log_writer_close(lw);
}

static void write_state(const char *path, int64_t i1, const char *h1,
			int64_t after)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;

	ss_buf_addf(&b,
		    "{\"moveins\":[{\"shape\":%" PRId64
		    ",\"handle\":\"%s\",\"dep\":0,\"value\":[\"1\"],"
		    "\"xid\":700,\"out\":true,\"lsn\":\"0/1000\","
		    "\"carrier\":\"0/2000\"",
		    i1, h1);
	if (after >= 0)
		ss_buf_addf(&b, ",\"after\":%" PRId64, after);
	ss_buf_adds(&b, "}]}");
	CHECK(ss_write_file_atomic(path, b.buf, b.len, &err) == 0);
	ss_buf_release(&b);
}

/* One restart at durable position `durable` with the move written at
 * placement `after`; the transactions before J and J come again. */
static void restart(struct ss_registry *reg, const char *data, int64_t i1,
		    const char *h1, int64_t after, ss_lsn durable,
		    int want_lines)
{
	struct ss_movein *m;
	struct ss_subq *q = state(i1, h1);
	struct ss_buf path = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;

	ss_buf_addf(&path, "%s/route-moveins.json", unit_dir);
	write_state(path.buf, i1, h1, after);
	m = movein_new(q, reg, data, path.buf);
	CHECK(ss_movein_restore(m, durable, &err) == 0);
	{
		char want[200];

		snprintf(want, sizeof(want),
			 "move out of shape %" PRId64
			 " (dependency 0, value 1; "
			 "xid 700 at 0/1000, carrier 0/2000): %s\n",
			 i1,
			 want_lines ? "recount at the carrier, pending again"
				    : "dropped, durable");
		CHECK_STR(traced.len ? traced.buf : "", want);
	}
	CHECK(ss_movein_run(m, &err) == 0);
	/* until J, I1 routes as it did before the restart: org 1's
	 * move-out pending (no query runs: there is no --db, and none
	 * would be right), so a change routed meanwhile moves the view
	 * as it did */
	CHECK(org_in(q, i1, "1") == (want_lines ? 1 : 0));
	/* a transaction before J: nothing counted yet */
	CHECK(ss_movein_begin(m, 701, J - 0x100, &err) == 0);
	CHECK(ss_movein_commit(m, 701, J - 0x100, J - 0x80, 3, &err) == 0);
	CHECK(nwritten == 0 && in_view(q, "10") == 1);
	CHECK(org_in(q, i1, "1") == (want_lines ? 1 : 0));
	/* J: its lines counted at their place, once */
	CHECK(ss_movein_begin(m, 702, J, &err) == 0);
	CHECK(nwritten == (after < 0 ? want_lines : 0));
	CHECK(ss_movein_commit(m, 702, J, J + 0x40, 3, &err) == 0);
	CHECK(nwritten == want_lines && ninvalid == 0);
	CHECK((strstr(traced.len ? traced.buf : "",
		      "carrier 0/2000): its lines counted again\n") != NULL) ==
	      want_lines);
	CHECK(in_view(q, "10") == (want_lines ? 0 : 1) &&
	      in_view(q, "11") == 1);
	CHECK(org_in(q, i1, "1") == 0); /* settled at J */
	if (want_lines) {
		char want[300];

		snprintf(want, sizeof(want),
			 "{\"type\":\"movein\",\"xid\":702,\"lsn\":\"0/2000\","
			 "\"pos\":0,\"shapes\":[100],%s\"message\":"
			 "\"{\\\"headers\\\":{\\\"event\\\":\\\"move-out\\\","
			 "\\\"patterns\\\":[{\\\"pos\\\":0,\\\"value\\\":",
			 after < 0 ? "" : "\"after\":3,");
		CHECK(strncmp(written.buf, want, strlen(want)) == 0);
		if (strncmp(written.buf, want, strlen(want)))
			fprintf(stderr, "got:  %swant: %s\n", written.buf,
				want);
		CHECK(strstr(written.buf, "\\\"txids\\\":[702]}}\"}") != NULL);
	}
	/* J again (a second restart would load and count afresh): the
	 * record no longer counts */
	CHECK(ss_movein_begin(m, 702, J, &err) == 0);
	CHECK(nwritten == want_lines);
	ss_movein_free(m);
	ss_subq_free(q);
	ss_buf_release(&path);
}

/*
 * A move of I1 (org 1's move-out, delete mode) that its transaction at
 * 0/1000 made and a transaction at 0/1900 cancelled (org 1 back) before
 * its lines were written. The views are loaded at `durable`: below the
 * cancel they hold the move and not the cancel, so the move is pending
 * again (the shape routes as it did until the cancel comes again and
 * cancels it again); once the cancel is durable, the record goes.
 */
static void cancelled(struct ss_registry *reg, const char *data, int64_t i1,
		      const char *h1, ss_lsn durable, int want_pending)
{
	struct ss_movein *m;
	struct ss_subq *q = state(i1, h1);
	struct ss_buf path = SS_BUF_INIT, b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;

	ss_buf_addf(&path, "%s/route-moveins.json", unit_dir);
	ss_buf_addf(&b,
		    "{\"moveins\":[{\"shape\":%" PRId64
		    ",\"handle\":\"%s\",\"dep\":0,\"value\":[\"1\"],"
		    "\"xid\":700,\"out\":true,\"lsn\":\"0/1000\","
		    "\"cancelled\":\"0/1900\"}]}",
		    i1, h1);
	CHECK(ss_write_file_atomic(path.buf, b.buf, b.len, &err) == 0);
	m = movein_new(q, reg, data, path.buf);
	CHECK(ss_movein_restore(m, durable, &err) == want_pending);
	CHECK(strstr(traced.len ? traced.buf : "",
		     want_pending
			 ? "): pending again, queried anew\n"
			 : "): dropped, its cancel is durable\n") != NULL);
	CHECK(org_in(q, i1, "1") == want_pending);
	ss_movein_free(m);
	ss_subq_free(q);
	ss_buf_release(&path);
	ss_buf_release(&b);
}

/*
 * Org 1's move-out of I1 (delete mode), made at 0/1000, was spliced into
 * J with no line: its query found no project of org 1. I1's log holds
 * nothing at J (its last transaction is 0/F00), and store's durable
 * position is past J: route starts again with the views loaded at
 * 0/3000. The move is done; made pending again, I1 would see org 1 as
 * kept, and route would give I1 a project of org 1 inserted at 0/2800
 * (store writes it: I1's log is behind it) that I1's view, loaded at
 * 0/3000, does not count; its delete at 0/3400 would leave a view it
 * was never in, and invalidate O (t7205, one run in ten).
 */
static void no_line_durable(struct ss_registry *reg, const char *data,
			    int64_t i1, const char *h1, const char *dir)
{
	struct ss_movein *m;
	struct ss_subq *q = state_at(i1, h1, 0x3000);
	struct ss_subq_moves moves;
	struct ss_log_writer *lw;
	struct ss_offset off;
	struct ss_buf path = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	const char *p12[1] = {"12"};
	char want[200];

	CHECK(ss_log_writer_open(dir, NULL, &lw, &err) == 0);
	off = ss_offset_make(0xF00, 1);
	CHECK(ss_log_append(lw, &off, DEL10, strlen(DEL10), &err) == 0 &&
	      ss_log_commit(lw, 0xF00, &err) == 0);
	ss_log_writer_close(lw);
	ss_buf_addf(&path, "%s/route-moveins.json", unit_dir);
	write_state(path.buf, i1, h1, -1);
	m = movein_new(q, reg, data, path.buf);
	CHECK(ss_movein_restore(m, 0x3000, &err) == 0);
	snprintf(want, sizeof(want),
		 "move out of shape %" PRId64 " (dependency 0, value 1; "
		 "xid 700 at 0/1000, carrier 0/2000): dropped, durable\n",
		 i1);
	CHECK_STR(traced.len ? traced.buf : "", want);
	CHECK(ss_movein_run(m, &err) == 0);
	CHECK(nwritten == 0 && ninvalid == 0);
	CHECK(org_in(q, i1, "1") == 0);
	if (org_in(q, i1, "1") == 1) {
		/* what route then does with project 12 */
		ss_subq_moves_init(&moves);
		CHECK(ss_subq_inner(q, i1, SS_FRAME_OP_INSERT, p12, NULL, 750,
				    0x2800, &moves, &err) == 0);
		if (ss_subq_inner(q, i1, SS_FRAME_OP_DELETE, NULL, p12, 760,
				  0x3400, &moves, &err) < 0)
			FAILF("project 12 leaves I1: %s", err.msg);
		ss_subq_moves_release(&moves);
	}
	ss_movein_free(m);
	ss_subq_free(q);
	ss_buf_release(&path);
}

/*
 * A move-out as deletes whose query found no row (org 1 left, no project
 * of it in I1) settled at J with no line, recorded "empty". A restart
 * with J not durable, and I1's log below J (nothing of J reached store,
 * or J held nothing for I1): the move is pending again with no query
 * (org 1 kept, as it was until J in the first run) and settles when J
 * comes again. Queried anew instead, org 1 stayed kept past J, so the
 * replay routed its projects to I1 where the first run had not.
 */
static void no_line_pending(struct ss_registry *reg, const char *data,
			    int64_t i1, const char *h1)
{
	struct ss_movein *m;
	struct ss_subq *q = state_at(i1, h1, 0x1800);
	struct ss_buf path = SS_BUF_INIT, b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	char want[200];

	ss_buf_addf(&path, "%s/route-moveins.json", unit_dir);
	ss_buf_addf(&b,
		    "{\"moveins\":[{\"shape\":%" PRId64
		    ",\"handle\":\"%s\",\"dep\":0,\"value\":[\"1\"],"
		    "\"xid\":700,\"out\":true,\"empty\":true,"
		    "\"lsn\":\"0/1000\",\"carrier\":\"0/2000\"},"
		    /* and one that restore drops (its carrier durable), so
		     * the file is written again */
		    "{\"shape\":%" PRId64 ",\"handle\":\"%s\",\"dep\":0,"
		    "\"value\":[\"2\"],\"xid\":690,\"out\":true,"
		    "\"lsn\":\"0/F00\",\"carrier\":\"0/1000\"}]}",
		    i1, h1, i1, h1);
	CHECK(ss_write_file_atomic(path.buf, b.buf, b.len, &err) == 0);
	m = movein_new(q, reg, data, path.buf);
	CHECK(ss_movein_restore(m, 0x1800, &err) == 0); /* no query */
	snprintf(want, sizeof(want),
		 "move out of shape %" PRId64 " (dependency 0, value 1; "
		 "xid 700 at 0/1000, carrier 0/2000): recount at the "
		 "carrier, pending again\n",
		 i1);
	CHECK(strstr(traced.len ? traced.buf : "", want) != NULL);
	{
		/* the record, written again, keeps its mark */
		char text[600];
		FILE *f = fopen(path.buf, "r");
		size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

		text[n] = '\0';
		if (f)
			fclose(f);
		CHECK(strstr(text, "\"carrier\":\"0/2000\",\"empty\":true") !=
		      NULL);
	}
	CHECK(ss_movein_run(m, &err) == 0);
	CHECK(org_in(q, i1, "1") == 1); /* kept until J */
	CHECK(ss_movein_begin(m, 701, 0x1900, &err) == 0);
	CHECK(ss_movein_commit(m, 701, 0x1900, 0x1980, 3, &err) == 0);
	CHECK(org_in(q, i1, "1") == 1);
	CHECK(ss_movein_begin(m, 702, J, &err) == 0);
	CHECK(ss_movein_commit(m, 702, J, J + 0x40, 3, &err) == 0);
	CHECK(org_in(q, i1, "1") == 0); /* settled at J, no line */
	CHECK(nwritten == 0 && ninvalid == 0);
	CHECK(in_view(q, "10") == 1 && in_view(q, "11") == 1);
	ss_movein_free(m);
	ss_subq_free(q);
	ss_buf_release(&path);
	ss_buf_release(&b);
}

/* A shape of the registry to be I1, with its directory: its id. */
static int64_t projects_shape(struct ss_registry *reg, const char *data, int x,
			      char *h1, struct ss_buf *dir)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	int64_t id = unit_add_shape(reg, x);

	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_id(reg, id, &rec, &err) == 1);
	snprintf(h1, SS_HANDLE_MAX, "%s", rec.handle);
	ss_shape_rec_release(&rec);
	ss_buf_reset(dir);
	ss_datadir_shape_path(dir, data, h1);
	CHECK(ss_mkdirs(dir->buf, 0, &err) == 0);
	return id;
}

int main(void)
{
	struct ss_registry *reg;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf data = SS_BUF_INIT, dir = SS_BUF_INIT;
	char h1[SS_HANDLE_MAX];
	int64_t i1;

	unit_mkdtemp("/tmp/ss-unit-movein.XXXXXX");
	reg = unit_open_reg("registry.db", 0);
	ss_buf_addf(&data, "%s/data", unit_dir);
	CHECK(ss_datadir_init(data.buf, &err) == 0);

	/* before J's changes, J not durable: counted at J's begin */
	i1 = projects_shape(reg, data.buf, 1, h1, &dir);
	write_log(dir.buf, -1);
	restart(reg, data.buf, i1, h1, -1, E, 1);
	/* J durable: the loaded view holds it; the record goes */
	restart(reg, data.buf, i1, h1, -1, J + 1, 0);

	/* after J's changes (its last at pos 3): counted at J's commit */
	i1 = projects_shape(reg, data.buf, 2, h1, &dir);
	write_log(dir.buf, 3);
	restart(reg, data.buf, i1, h1, 3, E, 1);

	/* a cancelled move, the cancel not durable, then durable */
	cancelled(reg, data.buf, i1, h1, 0x1800, 1);
	cancelled(reg, data.buf, i1, h1, 0x1A00, 0);

	/* a move out as deletes with no row: no line at J, J durable */
	i1 = projects_shape(reg, data.buf, 3, h1, &dir);
	no_line_durable(reg, data.buf, i1, h1, dir.buf);
	no_line_pending(reg, data.buf, i1, h1);

	ss_buf_release(&data);
	ss_buf_release(&dir);
	ss_buf_release(&written);
	ss_buf_release(&traced);
	CHECK(ss_registry_close(reg, &err) == 0);
	return unit_finish();
}
