/*
 * shapesync-route — reads frames on stdin and writes them on stdout with
 * the ids of the shapes each change belongs to (lib/route does the
 * matching). Keeps its shapes in step with the registry while it runs and
 * records the active mark of DESIGN.md step 2, only between transactions
 * (lib/activate).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activate.h"
#include "cli.h"
#include "frame.h"
#include "health.h"
#include "lsn.h"
#include "movein.h"
#include "registry.h"
#include "route.h"
#include "shape.h"
#include "subq.h"
#include "viewload.h"

#define DEFAULT_REGISTRY "./var/registry.db"
#define DEFAULT_POLL_MS 2
#define DEFAULT_DATA_DIR "./var/data"
/* How long activation waits for store to make its position durable
 * before a subquery view is given up (its shapes are invalidated). */
#define VIEW_WAIT_MS 60000

enum {
	OPT_LIST_OPTIONS = 256,
	OPT_REGISTRY,
	OPT_POLL_INTERVAL,
	OPT_MAX_LINE,
	OPT_DIR,
	OPT_DB,
	OPT_MOVEIN_TIMEOUT,
};

static const struct option options[] = {
    {"registry", required_argument, NULL, OPT_REGISTRY},
    {"dir", required_argument, NULL, OPT_DIR},
    {"db", required_argument, NULL, OPT_DB},
    {"movein-timeout", required_argument, NULL, OPT_MOVEIN_TIMEOUT},
    {"poll-interval", required_argument, NULL, OPT_POLL_INTERVAL},
    {"max-line", required_argument, NULL, OPT_MAX_LINE},
    {"verbose", no_argument, NULL, 'v'},
    SS_CLI_LOG_OPTIONS,
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

static void usage(void)
{
	printf(
	    "Usage: shapesync-route [--registry PATH] [options] < frames > frames\n"
	    "       shapesync-route --help | --version\n"
	    "\n"
	    "Tags each change frame with the ids of the shapes it belongs to\n"
	    "(\"shapes\", and \"moves\" where an update moves a row into or out of\n"
	    "a shape), drops changes that belong to no shape, and keeps its\n"
	    "shapes in step with the registry while it runs.\n"
	    "\n"
	    "Registry:\n"
	    "  --registry PATH       registry file (default: $SHAPESYNC_REGISTRY,\n"
	    "                        else " DEFAULT_REGISTRY ")\n"
	    "  --poll-interval TIME  look for new and removed shapes this often\n"
	    "                        (default: 2ms; e.g. 5ms, 1s)\n"
	    "  --dir DATADIR         data dir, read for subquery shapes' views\n"
	    "                        (default: $SHAPESYNC_DATA_DIR, else\n"
	    "                        " DEFAULT_DATA_DIR ")\n"
	    "  --db URL              PostgreSQL, for the move-in queries of\n"
	    "                        subquery shapes (default: $DATABASE_URL;\n"
	    "                        without one a move-in invalidates its shape)\n"
	    "  --movein-timeout TIME a move-in query running longer fails and\n"
	    "                        invalidates its shape (default: 60s; 0: the\n"
	    "                        server's statement_timeout)\n"
	    "\n"
	    "Input:\n"
	    "  --max-line SIZE       longest input line accepted (default: 256MiB)\n"
	    "\n"
	    "Other:\n"
	    "  -v, --verbose         report shapes loaded, what a restart did with\n"
	    "                        each recorded move, and a summary on stderr\n"
	    "      --log-format FMT  text or json ($SHAPESYNC_LOG_FORMAT, text)\n"
	    "      --log-level LEVEL debug, info, warning or error\n"
	    "                        ($ELECTRIC_LOG_LEVEL, info)\n"
	    "  -h, --help            show this help and exit\n"
	    "  -V, --version         show the version and exit\n"
	    "\n"
	    "See shapesync-route(1) and shapesync-frames(5).\n");
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static struct {
	struct ss_registry *reg;
	struct ss_router *router;
	struct ss_activate *act;  /* pending shapes and their marks */
	struct ss_subq *subq;	  /* subquery shapes' views */
	struct ss_movein *movein; /* their move-ins */
	const char *conninfo;	  /* for the move-in queries, or NULL */
	int restored;		  /* recorded move-ins restored */
	ss_lsn end_pos; /* end of the last commit passed (or progress) */
	const char *datadir;
	int verbose;
	uint64_t changes_in, changes_out, moves, dropped, eval_errors;
	uint64_t transactions;
	struct ss_beat *beat;		     /* the heartbeat */
	int64_t first_cpu_us, first_wall_us; /* at the first change (-v) */
} st;

static int64_t thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- output ----------------------------------------------------------- */

/*
 * Output on a stop: SIGINT/SIGTERM interrupt a write blocked on a full
 * pipe (the handlers have no SA_RESTART), and from then on no new frame is
 * written: the rest is abandoned, the way a killed process's output would
 * be (replicate acknowledges only what store made durable, so nothing is
 * lost), and route ends with status 0 instead of waiting for a reader that
 * may never read again. What is already buffered is flushed at the end if
 * that needs no waiting.
 */
static int output_abandoned(void)
{
	return stop && (errno == EINTR || errno == EAGAIN || ferror(stdout));
}

static void write_frame(json_t *frame)
{
	struct ss_err err = SS_ERR_INIT;

	if (stop)
		return;
	if (ss_frame_write(stdout, "<stdout>", frame, &err) < 0 &&
	    !output_abandoned())
		ss_cli_die_err(&err);
}

static void write_raw(const char *line, size_t len)
{
	if (stop)
		return;
	if ((fwrite(line, 1, len, stdout) != len ||
	     putc('\n', stdout) == EOF) &&
	    !output_abandoned())
		ss_cli_die("could not write to standard output: %s",
			   strerror(errno));
}

static void flush_out(void)
{
	if (stop)
		return;
	if (fflush(stdout) == EOF && !output_abandoned())
		ss_cli_die("could not write to standard output: %s",
			   strerror(errno));
}

static void on_invalidate(uint32_t oid, const int64_t *ids, size_t n,
			  const char *reason, void *ctx)
{
	json_t *f;

	(void)ctx;
	ss_cli_warning("invalidating %zu shape%s: %s", n, n == 1 ? "" : "s",
		       reason);
	f = ss_frame_new_invalidate(ids, n, oid ? oid : 1, reason);
	write_frame(f);
	json_decref(f);
}

/* Append a shape id in decimal (printf costs more than routing does). */
static void add_id(struct ss_buf *b, int64_t id)
{
	char d[24], *p = d + sizeof(d);
	uint64_t u = id < 0 ? -(uint64_t)id : (uint64_t)id;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (id < 0)
		*--p = '-';
	ss_buf_add(b, p, (size_t)(d + sizeof(d) - p));
}

/*
 * Write a change or truncate frame with "shapes" (and "moves"). The usual
 * input has neither, and then the line is copied with the new members
 * spliced in before its closing brace: no JSON is built or serialised.
 */
static void write_tagged(const struct ss_frame *f, const char *line, size_t len,
			 const struct ss_route_match *m,
			 const struct ss_buf *meta)
{
	static struct ss_buf b = SS_BUF_INIT;
	size_t i, end = len;

	if (f->has_shapes || (f->json && (json_object_get(f->json, "moves") ||
					  json_object_get(f->json, "meta")))) {
		json_t *j = json_deep_copy(f->json);

		json_object_del(j, "moves");
		json_object_del(j, "meta");
		ss_frame_set_shapes(j, m->ids, m->n);
		for (i = 0; i < m->n; i++)
			if (m->ops[i] != f->op && f->type == SS_FRAME_CHANGE)
				ss_frame_set_move(j, m->ids[i], m->ops[i]);
		if (meta && meta->len) {
			json_t *mo = json_loads(meta->buf, 0, NULL);
			const char *k;
			json_t *v;

			json_object_foreach(mo, k, v)
			{
				ss_frame_set_meta(j, strtoll(k, NULL, 10),
						  json_incref(v));
			}
			json_decref(mo);
		}
		write_frame(j);
		json_decref(j);
		return;
	}
	while (end > 0 && line[end - 1] != '}')
		end--;
	ss_buf_reset(&b);
	ss_buf_add(&b, line, end - 1);
	ss_buf_adds(&b, ",\"shapes\":[");
	for (i = 0; i < m->n; i++) {
		if (i)
			ss_buf_addc(&b, ',');
		add_id(&b, m->ids[i]);
	}
	ss_buf_addc(&b, ']');
	if (m->moves) {
		int first = 1;

		ss_buf_adds(&b, ",\"moves\":{");
		for (i = 0; i < m->n; i++) {
			if (m->ops[i] == f->op)
				continue;
			ss_buf_addf(&b, "%s\"%" PRId64 "\":\"%s\"",
				    first ? "" : ",", m->ids[i],
				    ss_frame_op_name(m->ops[i]));
			first = 0;
		}
		ss_buf_addc(&b, '}');
	}
	if (meta && meta->len) {
		ss_buf_adds(&b, ",\"meta\":");
		ss_buf_add(&b, meta->buf, meta->len);
	}
	ss_buf_addc(&b, '}');
	write_raw(b.buf, b.len);
}

/* ---- shapes from the registry ------------------------------------------ */

static void on_warn(const char *msg, void *ctx)
{
	(void)ctx;
	ss_cli_warning("%s", msg);
}

/* A view that cannot be loaded: its outer shapes cannot be routed. */
static void on_view_failed(int64_t inner, const char *why, void *ctx)
{
	char what[700];

	(void)ctx;
	snprintf(what, sizeof(what), "cannot give its view: %s", why);
	ss_router_invalidate_outers(st.router, inner, what);
}

/* A line of a move-in (lib/movein). */
static void on_movein_frame(void *ctx, json_t *frame)
{
	(void)ctx;
	write_frame(frame);
}

/* A shape whose move-in cannot be followed: its clients refetch. */
static void on_movein_failed(void *ctx, int64_t outer, const char *why)
{
	(void)ctx;
	ss_router_invalidate(st.router, outer, why);
}

/* --verbose: what a restart did with each recorded move. */
static void on_movein_trace(void *ctx, const char *what)
{
	(void)ctx;
	ss_cli_warning("%s", what);
}

/* Once, at start, with the views loaded at store's durable position:
 * the move-ins recorded before it. */
static void restore_moveins(uint64_t durable)
{
	struct ss_err err = SS_ERR_INIT;
	int rc;

	st.restored = 1;
	rc = ss_movein_restore(st.movein, durable, &err);
	if (rc < 0 || ss_movein_run(st.movein, &err) < 0)
		ss_cli_die_err(&err);
	if (rc > 0)
		ss_cli_warning("restored %d move-in%s", rc, rc == 1 ? "" : "s");
}

/* While activation waits for store: what route wrote must reach it. */
static int on_view_wait(void *ctx)
{
	(void)ctx;
	flush_out();
	return stop != 0;
}

static void on_activated(size_t n, ss_lsn position, void *ctx)
{
	static const struct ss_viewload_ops ops = {on_view_failed,
						   on_view_wait};
	struct ss_err err = SS_ERR_INIT;
	int loaded;

	(void)ctx;
	if (st.verbose)
		ss_cli_warning("activated %zu shape%s at %" PRIX32 "/%" PRIX32,
			       n, n == 1 ? "" : "s", (uint32_t)(position >> 32),
			       (uint32_t)position);
	/* New subquery shapes' views, as their inner shapes stand here: the
	 * end of what route passed (nothing yet: store's durable position,
	 * where the stream resumes). */
	if (!position && !st.restored) {
		/* At start: the views at store's durable position, and the
		 * move-ins recorded before it (lib/movein). */
		uint64_t durable;

		if (ss_registry_get_durable_lsn(st.reg, &durable, &err) < 0)
			ss_cli_die_err(&err);
		loaded = ss_viewload_run(st.subq, st.reg, st.datadir, durable,
					 VIEW_WAIT_MS, &ops, NULL, &err);
		if (loaded < 0)
			ss_cli_die_err(&err);
		restore_moveins(durable);
	} else {
		loaded = ss_viewload_run(st.subq, st.reg, st.datadir,
					 position ? st.end_pos : 0,
					 VIEW_WAIT_MS, &ops, NULL, &err);
		if (loaded < 0)
			ss_cli_die_err(&err);
	}
	if (loaded && st.verbose)
		ss_cli_warning("loaded %d subquery view%s", loaded,
			       loaded == 1 ? "" : "s");
}

static void refresh(void)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_activate_refresh(st.act, &err) < 0)
		ss_cli_die_err(&err);
}

/* ---- frames ------------------------------------------------------------ */

static const char **vals_new, **vals_old;
static size_t vals_alloc;

/* lib/subq's layout hook: a change's row (of relation *oid) in the layout
 * of the table shape id is on. */
static const char *const *row_layout(void *ctx, int64_t id,
				     const char *const *row, int old)
{
	static const char **buf[2];
	static size_t alloc[2];

	return ss_router_row_layout(st.router, *(const uint32_t *)ctx, id, row,
				    &buf[old], &alloc[old]);
}

/* Match a change: its values newv / oldv, or those of sc. */
static void match(const struct ss_frame *f, const char *const *newv,
		  const char *const *oldv, const struct ss_route_scan *sc,
		  struct ss_route_match *m)
{
	if (sc)
		ss_router_match_scan(st.router, sc, m);
	else
		ss_router_match(st.router, f->oid, f->op, newv, oldv, m);
}

/*
 * The subquery side of a change (docs/subqueries.md): the views of the
 * inner shapes it belongs to follow it; their move-outs are written as a
 * move frame before it; a move-in is queried after the commit
 * (lib/movein); a view that cannot follow invalidates the outer shape.
 * Returns 1 when a view moved (the caller matches the change again), else
 * 0.
 */
static int route_subqueries(const struct ss_frame *f, const char *const *newv,
			    const char *const *oldv,
			    struct ss_subq_moves *moves,
			    const struct ss_route_match *m)
{
	const struct ss_frame_column *cols;
	size_t ncols = 0, i;
	json_t *mf;

	ss_subq_moves_reset(moves);
	cols = ss_router_relation_columns(st.router, f->oid, &ncols);
	if (cols)
		ss_subq_match_inner(st.subq, m, cols, ncols, newv, oldv, f->xid,
				    f->lsn, moves);
	if (!moves->n)
		return 0;
	mf = ss_subq_moves_frame(moves, f->xid, f->lsn, f->pos);
	if (mf) {
		write_frame(mf);
		json_decref(mf);
	}
	for (i = 0; i < moves->n; i++) {
		const struct ss_subq_move *mv = &moves->v[i];

		if (mv->kind == SS_SUBQ_INVALIDATE)
			ss_router_invalidate(st.router, mv->outer,
					     mv->text.buf);
		else if (mv->kind == SS_SUBQ_MOVE_IN ||
			 mv->kind == SS_SUBQ_MOVE_OUT_ROWS)
			ss_movein_add(st.movein, mv, f->xid, f->lsn);
	}
	return 1;
}

/* Route one change: the row values are newv / oldv, or those of sc (a
 * change the fast path scanned) when sc is not NULL. */
static void route_values(const struct ss_frame *f, const char *line, size_t len,
			 const char *const *newv, const char *const *oldv,
			 const struct ss_route_scan *sc)
{
	static struct ss_route_match m;

	if (!st.changes_in++ && st.verbose) {
		st.first_cpu_us = thread_cpu_us();
		st.first_wall_us = ss_mono_us();
	}
	static struct ss_subq_moves moves;
	static struct ss_buf meta = SS_BUF_INIT;

	if (sc) {
		newv = sc->newv;
		oldv = sc->oldv;
	}
	ss_buf_reset(&meta);
	match(f, newv, oldv, sc, &m);
	if (ss_subq_active(st.subq) && m.n &&
	    route_subqueries(f, newv, oldv, &moves, &m))
		/* A view moved: the change is matched again against it
		 * (inner first, when one change is both). */
		match(f, newv, oldv, sc, &m);
	/* The meta of its subquery shapes, each from the row in its own
	 * table's layout. A shape for which the row cannot be evaluated (an
	 * error in a position its clause did not need, such as a division
	 * by zero after an OR that held) is invalidated: a change without
	 * its tags would leave its clients (TanStack DB's collection)
	 * unable to follow its move-outs. */
	while (ss_subq_active(st.subq) && m.n) {
		struct ss_err err = SS_ERR_INIT;
		char why[700];
		int64_t bad = 0;

		ss_buf_reset(&meta);
		if (ss_subq_match_meta(st.subq, &m, newv, oldv, row_layout,
				       (void *)&f->oid, &meta, &bad, &err) == 0)
			break;
		st.eval_errors++;
		/* Its clients refetch; the others get the change, matched
		 * again without it. */
		snprintf(why, sizeof(why),
			 "the tags of a change at pos %" PRIu64
			 " of xid %" PRIu64 " cannot be computed: %s",
			 f->pos, f->xid, err.msg);
		ss_router_invalidate(st.router, bad, why);
		match(f, newv, oldv, sc, &m);
	}
	if (m.errors) {
		st.eval_errors += m.errors;
		ss_cli_warning("change at pos %" PRIu64 " of xid %" PRIu64
			       ": %zu shape%s could not be evaluated (counted "
			       "as no match); last: %s",
			       f->pos, f->xid, m.errors,
			       m.errors == 1 ? "" : "s", m.last_error);
	}
	if (!m.n) {
		st.dropped++;
		return;
	}
	st.changes_out++;
	st.moves += m.moves;
	write_tagged(f, line, len, &m, meta.len ? &meta : NULL);
}

static void route_change(const struct ss_frame *f, const char *line, size_t len)
{
	const size_t *idx;
	const char *const *names;
	size_t n, ncols;

	if (!ss_router_table_routed(st.router, f->oid)) {
		if (!st.changes_in++ && st.verbose) {
			st.first_cpu_us = thread_cpu_us();
			st.first_wall_us = ss_mono_us();
		}
		st.dropped++;
		return;
	}
	n = ss_router_columns(st.router, f->oid, &idx, &names, &ncols);
	if (ncols > vals_alloc) {
		vals_new = ss_xrealloc(vals_new, ncols * sizeof(*vals_new));
		vals_old = ss_xrealloc(vals_old, ncols * sizeof(*vals_old));
		vals_alloc = ncols;
	}
	if (f->new_row)
		ss_frame_row_values(f->new_row, names, idx, n, vals_new);
	if (f->old_row)
		ss_frame_row_values(f->old_row, names, idx, n, vals_old);
	route_values(f, line, len,
		     f->new_row ? (const char *const *)vals_new : NULL,
		     f->old_row ? (const char *const *)vals_old : NULL, NULL);
}

static void route_truncate(const struct ss_frame *f, const char *line,
			   size_t len)
{
	struct ss_route_match m;
	int64_t *ids;
	size_t i, n;

	ss_router_truncate(st.router, f->oids, f->noids, &m);
	if (!m.n)
		return;
	write_tagged(f, line, len, &m, NULL);
	/* Subquery views of those shapes are left behind by a truncate:
	 * their outer shapes cannot follow (store invalidates the truncated
	 * shapes themselves). */
	ids = ss_xmalloc(m.n * sizeof(*ids));
	memcpy(ids, m.ids, m.n * sizeof(*ids));
	n = m.n;
	for (i = 0; i < n; i++)
		ss_router_invalidate_outers(st.router, ids[i], "was truncated");
	free(ids);
}

/* The order of the input (and the transaction's last pos, for move-ins
 * written after its changes). */
static struct ss_frame_seq seq = SS_FRAME_SEQ_INIT;

static void handle(const struct ss_frame *f, const char *line, size_t len)
{
	struct ss_err err = SS_ERR_INIT;

	switch (f->type) {
	case SS_FRAME_BEGIN:
		ss_activate_begin(st.act);
		write_raw(line, len);
		/* Move-ins whose snapshot does not see this transaction go
		 * into it, before its changes. */
		if (ss_movein_begin(st.movein, f->xid, f->lsn, &err) < 0)
			ss_cli_die_err(&err);
		break;
	case SS_FRAME_COMMIT:
		/* The transaction's move-ins are recorded before store can
		 * make it durable, and queried: one whose snapshot nothing
		 * follows goes into it, after its changes. */
		if (ss_movein_commit(st.movein, f->xid, f->lsn, f->end_lsn,
				     ss_frame_seq_last_pos(&seq), &err) < 0)
			ss_cli_die_err(&err);
		write_raw(line, len);
		flush_out();
		st.end_pos = f->end_lsn > f->lsn ? f->end_lsn : f->lsn;
		if (ss_activate_commit(st.act, f->lsn, &err) < 0)
			ss_cli_die_err(&err);
		if (ss_movein_run(st.movein, &err) < 0)
			ss_cli_die_err(&err);
		st.transactions++;
		break;
	case SS_FRAME_PROGRESS:
		st.end_pos = f->lsn;
		ss_activate_progress(st.act, f->lsn);
		write_raw(line, len);
		break;
	case SS_FRAME_RELATION:
		if (ss_router_relation(st.router, f, &err) < 0)
			ss_cli_die_err(&err);
		ss_movein_forget_tables(st.movein);
		write_raw(line, len);
		break;
	case SS_FRAME_MARK:
		/* The markers of route's move-in queries (docs/subqueries.md):
		 * consumed here. */
		break;
	case SS_FRAME_MOVE:
	case SS_FRAME_MOVEIN:
		/* route's own output read again: worked out anew */
		break;
	case SS_FRAME_STREAM:
		st.end_pos = f->lsn;
		write_raw(line, len);
		if (ss_activate_stream(st.act, f->stream, f->lsn, &err) < 0)
			ss_cli_die_err(&err);
		break;
	case SS_FRAME_CHANGE:
		route_change(f, line, len);
		break;
	case SS_FRAME_TRUNCATE:
		route_truncate(f, line, len);
		break;
	default:
		write_raw(line, len);
		break;
	}
}

/* What the heartbeat says (written by its thread). */
static void beat_publish(void)
{
	struct ss_heartbeat *hb = ss_beat_hold(st.beat);

	hb->received_lsn = ss_activate_position(st.act);
	hb->counters[0] = (int64_t)st.transactions;
	hb->counters[1] = (int64_t)st.changes_in;
	hb->counters[2] = (int64_t)st.changes_out;
	ss_beat_release(st.beat);
}

/* ---- input ------------------------------------------------------------- */

/*
 * Lines from standard input. Route reads raw lines itself (rather than
 * with ss_frame_reader, which decodes every line into JSON) so that change
 * frames can take the fast path of ss_router_scan_change; every other
 * line is decoded by ss_frame_parse, and the stream order is checked for
 * all of them with ss_frame_seq_check, so input is as strictly checked as
 * by the frame reader.
 */
static struct ss_frame_lines in;

#define LINE_OK SS_FRAME_LINE_OK
#define LINE_EOF SS_FRAME_LINE_EOF
#define LINE_AGAIN SS_FRAME_LINE_AGAIN

/* 1 if a whole line is buffered (then reading needs no poll). */
static int in_buffered(void)
{
	return ss_frame_lines_buffered(&in);
}

static int next_line(const char **line, size_t *len, struct ss_err *err)
{
	return ss_frame_lines_next(&in, line, len, err);
}

static void input_error(struct ss_err *err, uint64_t lineno)
{
	char msg[sizeof(err->msg)];

	snprintf(msg, sizeof(msg), "%s", err->msg);
	ss_err_set(err, SS_ERR_INPUT, "<stdin>:%" PRIu64 ": %.480s", lineno,
		   msg);
	ss_cli_die_err(err);
}

/*
 * Change frames that took the fast path wait here, up to BATCH of them
 * and only while their lines stay in the input buffer, so that the
 * router can prefetch the index memory of all of them before matching
 * them in order. Any other frame, and every registry refresh, first
 * flushes the batch.
 */
#define BATCH 32

static struct {
	struct ss_route_scan sc[BATCH];
	const char *line[BATCH];
	size_t len[BATCH];
	uint64_t lineno[BATCH];
	size_t n;
} batch;

static void flush_batch(void)
{
	struct ss_err err = SS_ERR_INIT;
	size_t i;

	/* Stage 0 ran at scan time; the prefetches of each stage have the
	 * whole batch's time to land before the next stage reads them. */
	for (i = 0; i < batch.n; i++)
		ss_router_prefetch(st.router, &batch.sc[i], 1);
	for (i = 0; i < batch.n; i++)
		ss_router_prefetch(st.router, &batch.sc[i], 2);
	for (i = 0; i < batch.n; i++) {
		struct ss_route_scan *sc = &batch.sc[i];
		struct ss_frame fast = SS_FRAME_INIT;

		fast.type = SS_FRAME_CHANGE;
		fast.op = sc->op;
		fast.oid = sc->oid;
		fast.xid = sc->xid;
		fast.lsn = sc->lsn;
		fast.pos = sc->pos;
		if (ss_frame_seq_check(&seq, &fast, &err) < 0)
			input_error(&err, batch.lineno[i]);
		route_values(&fast, batch.line[i], batch.len[i], NULL, NULL,
			     sc);
	}
	batch.n = 0;
}

static void process_line(const char *line, size_t len)
{
	static struct ss_frame f = SS_FRAME_INIT;
	struct ss_err err = SS_ERR_INIT;

	/* Whitespace around the object is tolerated, never written. */
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
		       line[len - 1] == '\r'))
		len--;
	while (len && (*line == ' ' || *line == '\t' || *line == '\r')) {
		line++;
		len--;
	}
	if (ss_router_scan_change(st.router, line, len, &batch.sc[batch.n])) {
		ss_router_prefetch(st.router, &batch.sc[batch.n], 0);
		batch.line[batch.n] = line;
		batch.len[batch.n] = len;
		batch.lineno[batch.n] = in.lineno;
		/* The next read may move the buffer the lines are in. */
		if (++batch.n == BATCH || !in_buffered())
			flush_batch();
		return;
	}
	flush_batch();
	if (ss_frame_parse(&f, line, len, &err) < 0 ||
	    ss_frame_seq_check(&seq, &f, &err) < 0)
		input_error(&err, in.lineno);
	handle(&f, line, len);
	ss_frame_release(&f);
}

/* ---- main -------------------------------------------------------------- */

static struct ss_registry *open_registry(const char *path)
{
	struct ss_registry_opts opts;
	struct ss_registry *reg = NULL;
	struct ss_err err = SS_ERR_INIT;

	ss_registry_opts_init(&opts);
	opts.id_block = 1; /* route never adds shapes */
	if (ss_registry_open_existing(path, &opts, &reg, &err) < 0)
		ss_cli_die_err(&err);
	return reg;
}

int main(int argc, char **argv)
{
	const char *registry_path = getenv("SHAPESYNC_REGISTRY");
	int64_t poll_ms = DEFAULT_POLL_MS, next_poll;
	int64_t movein_timeout_ms = 60000;
	uint64_t max_line = 0;
	static char outbuf[1 << 20];
	struct ss_err err = SS_ERR_INIT;
	struct sigaction sa;
	struct stat sb;
	int c, rc, fl = -1;
	unsigned tick = 0;

	ss_cli_init("shapesync-route");
	st.datadir = ss_cli_env_or("SHAPESYNC_DATA_DIR", DEFAULT_DATA_DIR);
	if (!registry_path || !*registry_path)
		registry_path = DEFAULT_REGISTRY;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vhV", options, NULL)) != -1) {
		switch (c) {
		case OPT_REGISTRY:
			if (!*optarg)
				ss_cli_usage_error(
				    "option '--registry' needs a "
				    "path");
			registry_path = optarg;
			break;
		case OPT_DB:
			if (!*optarg)
				ss_cli_usage_error("option '--db' needs a URL");
			st.conninfo = optarg;
			break;
		case OPT_DIR:
			if (!*optarg)
				ss_cli_usage_error(
				    "option '--dir' needs a path");
			st.datadir = optarg;
			break;
		case OPT_MOVEIN_TIMEOUT:
			movein_timeout_ms =
			    ss_cli_opt_duration_ms(optarg, "--movein-timeout");
			if (movein_timeout_ms < 0 ||
			    movein_timeout_ms > 24 * 3600 * 1000)
				ss_cli_usage_error("--movein-timeout must be "
						   "between 0 and 24h");
			break;
		case OPT_POLL_INTERVAL:
			poll_ms =
			    ss_cli_opt_duration_ms(optarg, "--poll-interval");
			if (poll_ms < 1 || poll_ms > 60000)
				ss_cli_usage_error("--poll-interval must be "
						   "between 1ms and 60s");
			break;
		case OPT_MAX_LINE:
			max_line = ss_cli_opt_size(optarg, "--max-line");
			if (max_line < 1024)
				ss_cli_usage_error(
				    "--max-line must be at least "
				    "1024 bytes");
			break;
		case 'v':
			st.verbose = 1;
			break;
		default:
			ss_cli_common_option(c, OPT_LIST_OPTIONS, usage,
					     options, argv);
		}
	}
	if (optind < argc)
		ss_cli_usage_error("unexpected argument '%s'", argv[optind]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll and read return */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	st.reg = open_registry(registry_path);
	if (ss_beat_start(st.reg, "route", 1000, &st.beat, &err) < 0)
		ss_cli_die_err(&err);
	ss_beat_state(st.beat, "running", NULL);
	st.router = ss_router_new(on_invalidate, NULL);
	st.subq = ss_subq_new(SS_SUBQ_STACK_ID);
	ss_router_set_subq(st.router, st.subq);
	{
		struct ss_movein_cfg mc;
		struct ss_buf path = SS_BUF_INIT;

		if (!st.conninfo && getenv("DATABASE_URL") &&
		    *getenv("DATABASE_URL"))
			st.conninfo = getenv("DATABASE_URL");
		ss_buf_addf(&path, "%s/route-moveins.json", st.datadir);
		memset(&mc, 0, sizeof(mc));
		mc.subq = st.subq;
		mc.reg = st.reg;
		mc.conninfo = st.conninfo;
		mc.query_timeout_ms = (int)movein_timeout_ms;
		mc.state_path = path.buf;
		mc.datadir = st.datadir;
		mc.write = on_movein_frame;
		mc.invalidate = on_movein_failed;
		if (st.verbose)
			mc.trace = on_movein_trace;
		st.movein = ss_movein_new(&mc, &err);
		ss_buf_release(&path);
		if (!st.movein)
			ss_cli_die_err(&err);
	}
	{
		static const struct ss_activate_ops ops = {on_warn,
							   on_activated};

		st.act = ss_activate_new(st.reg, st.router, &ops, NULL);
	}
	if (ss_activate_start(st.act, &err) < 0)
		ss_cli_die_err(&err);
	if (!st.restored) { /* no shape was activated at start */
		uint64_t durable;

		if (ss_registry_get_durable_lsn(st.reg, &durable, &err) < 0)
			ss_cli_die_err(&err);
		restore_moveins(durable);
	}
	if (st.verbose)
		ss_cli_warning("routing %zu shapes from '%s'",
			       ss_router_count(st.router), registry_path);

	/* A pipe or socket is read without blocking, so that a half-written
	 * line never keeps route from polling the registry. */
	if (fstat(0, &sb) == 0 &&
	    (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))) {
		fl = fcntl(0, F_GETFL);
		if (fl >= 0)
			fcntl(0, F_SETFL, fl | O_NONBLOCK);
	}
	for (c = 0; c < BATCH; c++)
		ss_buf_init(&batch.sc[c].scratch_);
	ss_frame_lines_init(&in, 0, "<stdin>", (size_t)max_line);
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	next_poll = ss_mono_us() + poll_ms * 1000;
	while (!stop) {
		const char *line = NULL;
		size_t len = 0;

		if (!in_buffered()) {
			struct pollfd pfd = {0, POLLIN, 0};
			int64_t now = ss_mono_us(), wait_ms;

			if (now >= next_poll) {
				flush_batch();
				refresh();
				beat_publish();
				ss_movein_idle(st.movein, now);
				next_poll = now + poll_ms * 1000;
			}
			if (!in.eof) {
				flush_out();
				wait_ms = (next_poll - now + 999) / 1000;
				if (wait_ms < 1)
					wait_ms = 1;
				rc = poll(&pfd, 1, (int)wait_ms);
				if (rc < 0 && errno != EINTR)
					ss_cli_die("could not poll standard "
						   "input: %s",
						   strerror(errno));
				if (rc <= 0)
					continue;
			}
		} else if ((++tick & 63) == 0 && ss_mono_us() >= next_poll) {
			flush_batch();
			refresh();
			beat_publish();
			next_poll = ss_mono_us() + poll_ms * 1000;
		}
		rc = next_line(&line, &len, &err);
		if (rc == LINE_AGAIN)
			continue;
		if (rc == LINE_EOF)
			break;
		if (rc < 0) {
			flush_batch();
			ss_cli_die_err(&err);
		}
		process_line(line, len);
	}
	flush_batch();
	if (ss_activate_in_txn(st.act) && !stop)
		ss_cli_warning("input ended inside a transaction");
	if (fl >= 0)
		fcntl(0, F_SETFL, fl);
	ss_frame_lines_release(&in);
	for (c = 0; c < BATCH; c++)
		ss_route_scan_release(&batch.sc[c]);
	if (st.verbose) {
		struct ss_router_stats rs;

		ss_router_stats(st.router, &rs);
		ss_cli_warning(
		    "shapes: %zu known, %zu routed (%zu by equality, "
		    "%zu by containment, %zu by range, %zu by prefix, %zu by "
		    "a subquery's view, %zu evaluated per row), %zu invalid",
		    rs.shapes, rs.compiled, rs.eq_indexed, rs.contain_indexed,
		    rs.range_indexed, rs.prefix_indexed, rs.subq_indexed,
		    rs.unindexed, rs.invalid);
	}
	if (st.verbose && st.changes_in) {
		double cpu = (double)(thread_cpu_us() - st.first_cpu_us) / 1e6;
		double wall = (double)(ss_mono_us() - st.first_wall_us) / 1e6;

		ss_cli_warning("from the first change on: %.3f s CPU (%.0f "
			       "changes/s), %.3f s wall",
			       cpu, cpu > 0 ? (double)st.changes_in / cpu : 0.0,
			       wall);
	}
	if (st.verbose)
		ss_cli_warning(
		    "%" PRIu64 " changes in, %" PRIu64 " out, %" PRIu64
		    " moves, %" PRIu64 " dropped, %" PRIu64
		    " evaluation errors, %" PRIu64 " marks",
		    st.changes_in, st.changes_out, st.moves, st.dropped,
		    st.eval_errors, ss_activate_marks(st.act));
	if (st.verbose) {
		struct ss_movein_stats ms;

		ss_movein_stats(st.movein, &ms);
		if (ms.queries || ms.failed || ms.recorded)
			ss_cli_warning("move-ins: %" PRIu64 " written (%" PRIu64
				       " rows), %" PRIu64 " queries, %" PRIu64
				       " run again, %" PRIu64
				       " failed, %zu recorded, %" PRIu64
				       " waits for a snapshot",
				       ms.written, ms.rows, ms.queries,
				       ms.reruns, ms.failed, ms.recorded,
				       ms.snapshot_waits);
	}
	free(vals_new);
	free(vals_old);
	beat_publish();
	ss_beat_stop(st.beat, "stopped");
	ss_activate_free(st.act);
	ss_movein_free(st.movein);
	ss_router_free(st.router);
	ss_subq_free(st.subq);
	if (ss_registry_close(st.reg, &err) < 0)
		ss_cli_die_err(&err);
	if (stop) {
		/* What is buffered goes out if it can without waiting (a file,
		 * a pipe with room); into a full pipe it is abandoned. */
		struct stat ob;

		if (fstat(1, &ob) == 0 && S_ISFIFO(ob.st_mode))
			fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
		if (ferror(stdout) || fflush(stdout) == EOF)
			__fpurge(stdout);
		return 0;
	}
	ss_cli_close_stdout();
	return 0;
}
