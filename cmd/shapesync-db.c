/*
 * shapesync-db — the operator's tool over the shape registry and the data
 * dir: create them, list, show, add and remove shapes, counters, check and
 * repair, vacuum, export and import. One command per invocation, like git.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "base.h"
#include "cli.h"
#include "compact.h"
#include "db.h"
#include "datadir.h"
#include "log.h"
#include "lsn.h"
#include "offset.h"
#include "registry.h"
#include "registry_stats.h"
#include "shape.h"

#define DEFAULT_REGISTRY "./var/registry.db"
#define DEFAULT_DATA_DIR "./var/data"

const char *registry_path;
const char *data_dir;

/* ---- option parsing ------------------------------------------------- */

static void usage(void)
{
	printf(
	    "Usage: shapesync-db [--registry PATH] [--dir DATADIR] <command> "
	    "[options]\n"
	    "       shapesync-db <command> --help\n"
	    "       shapesync-db --help | --version\n"
	    "\n"
	    "Maintains the shape registry and the data dir of a shapesync "
	    "pipeline.\n"
	    "\n"
	    "Commands:\n"
	    "  init                  create the registry and the data dir\n"
	    "  ls [--json]           list every shape in id order\n"
	    "  show [--json] SHAPE   show one shape (SHAPE: id or handle)\n"
	    "  add --table T [...]   register a shape, print '<id> <handle>'\n"
	    "  rm SHAPE...           remove shapes, move their data to trash\n"
	    "  stats [--json]        registry and data dir counters\n"
	    "  check [--repair]      check the registry and the data dir\n"
	    "  vacuum                compact the registry, empty the trash\n"
	    "  compact [SHAPE...]    fold shape logs into their rows (--all)\n"
	    "  export                write every shape as NDJSON to stdout\n"
	    "  import [FILE]         add shapes from NDJSON (default: stdin)\n"
	    "\n"
	    "Locations:\n"
	    "  --registry PATH       registry file (default: "
	    "$SHAPESYNC_REGISTRY,\n"
	    "                        else " DEFAULT_REGISTRY ")\n"
	    "  --dir DATADIR         data dir (default: $SHAPESYNC_DATA_DIR,\n"
	    "                        else " DEFAULT_DATA_DIR ")\n"
	    "\n"
	    "Other:\n"
	    "  --log-format FMT      text or json ($SHAPESYNC_LOG_FORMAT, text)\n"
	    "  --log-level LEVEL     debug, info, warning or error\n"
	    "                        ($ELECTRIC_LOG_LEVEL, info)\n"
	    "  -h, --help            show this help and exit\n"
	    "  -V, --version         show the version and exit\n"
	    "  --list-commands       print the command names, one per line\n"
	    "\n"
	    "See 'shapesync-db <command> --help' and shapesync-db(1).\n");
}

void parse_shape_ref(const char *arg, struct shape_ref *ref)
{
	struct ss_err err = SS_ERR_INIT;

	ref->arg = arg;
	ref->id = 0;
	if (*arg && strspn(arg, "0123456789") == strlen(arg)) {
		if (ss_parse_i64(arg, 0, INT64_MAX, &ref->id, "shape id",
				 &err) < 0)
			ss_cli_command_usage_error("invalid shape id '%s': %s",
						   arg, err.msg);
		if (ref->id == 0)
			ref->id = -1; /* well-formed, never exists */
		return;
	}
	if (!ss_shape_handle_valid(arg, NULL)) {
		ss_cli_log(SS_LOG_ERROR, NULL,
			   "name a shape by its id (digits) or its "
			   "handle (<hash>-<microseconds>)",
			   "invalid shape '%s'", arg);
		exit(SS_ERR_USAGE);
	}
}

/* ---- registry and data dir ------------------------------------------ */

struct ss_registry *open_registry(int create)
{
	struct ss_registry_opts opts;
	struct ss_registry *reg = NULL;
	struct ss_err err = SS_ERR_INIT;

	ss_registry_opts_init(&opts);
	opts.create = create;
	/* A one-shot process adds at most one shape: reserving a block of
	 * ids would leave a gap of unused ids behind at every run. */
	opts.id_block = 1;
	if (ss_registry_open_existing(registry_path, &opts, &reg, &err) < 0)
		ss_cli_die_err(&err);
	return reg;
}

void close_registry(struct ss_registry *reg)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_registry_close(reg, &err) < 0)
		ss_cli_die_err(&err);
}

static void flush_registry(struct ss_registry *reg)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_registry_flush(reg, &err) < 0)
		ss_cli_die_err(&err);
}

/* Look a shape up by id or handle: 1 found (rec filled), 0 not found. */
int lookup(struct ss_registry *reg, const struct shape_ref *ref,
	   struct ss_shape_rec *rec)
{
	struct ss_err err = SS_ERR_INIT;
	int r;

	if (ref->id < 0)
		return 0;
	if (ref->id > 0)
		r = ss_registry_get_by_id(reg, ref->id, rec, &err);
	else
		r = ss_registry_get_by_handle(reg, ref->arg, rec, &err);
	if (r < 0)
		ss_cli_die_err(&err);
	return r;
}

/* Refuse to compare the registry with a data dir that is not one. */
void require_data_dir(void)
{
	struct ss_buf b = SS_BUF_INIT;
	struct stat st;
	int r;

	ss_buf_addf(&b, "%s/shapes", data_dir);
	r = stat(b.buf, &st);
	if (r < 0 || !S_ISDIR(st.st_mode)) {
		struct ss_err e = SS_ERR_INIT;

		ss_err_set(&e, SS_ERR_RUNTIME,
			   "'%s' is not a shapesync data dir", data_dir);
		ss_err_detail(&e, "'%s': %s", b.buf,
			      strerror(r < 0 ? errno : ENOTDIR));
		ss_err_hint(&e, "check --dir and $SHAPESYNC_DATA_DIR, or run "
				"'shapesync-db init'");
		ss_cli_report(&e);
		exit(SS_ERR_RUNTIME);
	}
	ss_buf_release(&b);
}

/* ---- output helpers ------------------------------------------------- */

static void out_buf(const struct ss_buf *b)
{
	if (fwrite(b->buf, 1, b->len, stdout) != b->len)
		ss_cli_flush_stdout();
}

/* Set when a record could not be shown in full: exit 1 at the end. */
static int damaged;

/* A record shown in part (a definition we cannot read means a damaged
 * registry): warn, and exit 1 at the end. */
static void shown_damaged(const struct ss_err *err)
{
	ss_cli_warning("%s", err->msg);
	damaged = 1;
}

/* ---- init ----------------------------------------------------------- */

static const struct option init_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

static int cmd_init(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *reg;

	while (ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS) != -1)
		;
	ss_cli_command_no_args(argc, argv);
	if (strcmp(registry_path, ":memory:") &&
	    ss_mkdirs(registry_path, 1, &err) < 0)
		ss_cli_die_err(&err);
	reg = open_registry(1);
	close_registry(reg);
	if (ss_datadir_init(data_dir, &err) < 0)
		ss_cli_die_err(&err);
	return 0;
}

/* ---- ls, export ----------------------------------------------------- */

static const struct option ls_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

struct ls_ctx {
	int json;
	int id_width, table_width;
	struct ss_buf line;
	int64_t n, total; /* export's progress */
};

/* First pass of the table: the widths of the variable columns, so that
 * the second pass can print as it goes (two streams, no buffering). */
static int ls_measure(const struct ss_shape_rec *rec, void *vctx)
{
	struct ls_ctx *ctx = vctx;

	ss_shape_rec_measure(rec, &ctx->id_width, &ctx->table_width);
	return 0;
}

static int ls_one(const struct ss_shape_rec *rec, void *vctx)
{
	struct ls_ctx *ctx = vctx;
	struct ss_buf *b = &ctx->line;
	struct ss_err err = SS_ERR_INIT;

	ss_buf_reset(b);
	if (ctx->json) {
		ss_shape_rec_to_json(rec, b);
		ss_buf_addc(b, '\n');
	} else if (ss_shape_rec_to_row(rec, ctx->id_width, ctx->table_width, b,
				       &err) < 0) {
		shown_damaged(&err);
	}
	if (fwrite(b->buf, 1, b->len, stdout) != b->len)
		return 1; /* reported by ss_cli_close_stdout */
	if (ctx->total)
		ss_cli_progress("exporting: %" PRId64 " of %" PRId64 " shapes",
				++ctx->n, ctx->total);
	return 0;
}

/* ls, or with progress (export) a progress line on a terminal. */
static int list_shapes(int json, int progress)
{
	struct ss_err err = SS_ERR_INIT;
	struct ls_ctx ctx = {json, 2, 5, SS_BUF_INIT, 0, 0};
	struct ss_registry *reg;

	reg = open_registry(0);
	/* The lines would land between the records on a terminal. */
	if (progress && !isatty(STDOUT_FILENO) && ss_cli_progress_active() &&
	    ss_registry_count(reg, &ctx.total, &err) < 0)
		ss_cli_die_err(&err);
	if (!json) {
		if (ss_registry_foreach(reg, ls_measure, &ctx, &err) < 0)
			ss_cli_die_err(&err);
		ss_buf_reset(&ctx.line);
		ss_shape_rec_table_header(&ctx.line, ctx.id_width,
					  ctx.table_width);
		out_buf(&ctx.line);
	}
	if (ss_registry_foreach(reg, ls_one, &ctx, &err) < 0) {
		ss_cli_progress_end();
		ss_cli_die_err(&err);
	}
	ss_cli_progress_end();
	ss_buf_release(&ctx.line);
	close_registry(reg);
	ss_cli_close_stdout();
	return damaged ? SS_ERR_RUNTIME : 0;
}

static int cmd_ls(int argc, char **argv)
{
	int c, json = 0;

	while ((c = ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS)) !=
	       -1)
		if (c == OPT_JSON)
			json = 1;
	ss_cli_command_no_args(argc, argv);
	return list_shapes(json, 0);
}

static const struct option export_options[] = {
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

static int cmd_export(int argc, char **argv)
{
	while (ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS) != -1)
		ss_cli_progress_quiet(); /* --quiet, the one option */
	ss_cli_command_no_args(argc, argv);
	return list_shapes(1, 1);
}

/* ---- show ----------------------------------------------------------- */

static const struct option show_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

/*
 * The last argument names one shape: check the arguments, open the
 * registry and read the shape into rec, or exit 3 if there is none.
 */
static struct ss_registry *open_one_shape(int argc, char **argv,
					  struct ss_shape_rec *rec)
{
	struct ss_registry *reg;
	struct shape_ref ref;

	if (optind >= argc)
		ss_cli_command_usage_error("no shape given");
	parse_shape_ref(argv[optind++], &ref);
	ss_cli_command_no_args(argc, argv);
	reg = open_registry(0);
	ss_shape_rec_init(rec);
	if (!lookup(reg, &ref, rec)) {
		close_registry(reg);
		ss_cli_error("no shape '%s'", ref.arg);
		exit(SS_ERR_INPUT);
	}
	return reg;
}

static int cmd_show(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_registry *reg;
	int c, json = 0;

	while ((c = ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS)) !=
	       -1)
		if (c == OPT_JSON)
			json = 1;
	reg = open_one_shape(argc, argv, &rec);
	if (json) {
		ss_shape_rec_to_json(&rec, &b);
		ss_buf_addc(&b, '\n');
	} else if (ss_shape_rec_to_text(&rec, &b, &err) < 0) {
		shown_damaged(&err);
	}
	out_buf(&b);
	ss_buf_release(&b);
	ss_shape_rec_release(&rec);
	close_registry(reg);
	ss_cli_close_stdout();
	return damaged ? SS_ERR_RUNTIME : 0;
}

/* ---- add ------------------------------------------------------------ */

static const struct option add_options[] = {
    {"table", required_argument, NULL, OPT_TABLE},
    {"where", required_argument, NULL, OPT_WHERE},
    {"params", required_argument, NULL, OPT_PARAMS},
    {"columns", required_argument, NULL, OPT_COLUMNS},
    {"replica", required_argument, NULL, OPT_REPLICA},
    {"log", required_argument, NULL, OPT_LOG},
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

static void once(const char **seen, int c, const char *arg)
{
	if (*seen)
		ss_cli_command_usage_error("option '--%s' given twice",
					   ss_cli_opt_name(add_options, c));
	*seen = arg;
}

/* The canonical form is JSON: where and params must be UTF-8. */
static const char *utf8_arg(int c, const char *arg)
{
	if (!ss_utf8_valid(arg, strlen(arg)))
		ss_cli_command_usage_error("invalid --%s: not valid UTF-8",
					   ss_cli_opt_name(add_options, c));
	return arg;
}

static void opt_check(int r, int c, const char *arg, struct ss_err *err)
{
	if (r < 0)
		ss_cli_command_usage_error("invalid --%s '%s': %s",
					   ss_cli_opt_name(add_options, c), arg,
					   err->msg);
}

static int cmd_add(int argc, char **argv)
{
	const char *table = NULL, *where = NULL, *columns = NULL;
	const char *replica = NULL, *log = NULL;
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	struct ss_registry *reg;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_shape s;
	int c, created;

	ss_shape_init(&s);
	while ((c = ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS)) !=
	       -1) {
		switch (c) {
		case OPT_TABLE:
			once(&table, c, optarg);
			opt_check(ss_shape_parse_table(&s, optarg, &err), c,
				  optarg, &err);
			break;
		case OPT_WHERE:
			once(&where, c, optarg);
			ss_shape_set_where(&s, utf8_arg(c, optarg));
			break;
		case OPT_PARAMS:
			ss_shape_add_param(&s, utf8_arg(c, optarg));
			break;
		case OPT_COLUMNS:
			once(&columns, c, optarg);
			opt_check(ss_shape_parse_columns(&s, optarg, &err), c,
				  optarg, &err);
			break;
		case OPT_REPLICA:
			once(&replica, c, optarg);
			opt_check(ss_shape_parse_replica(&s, optarg, &err), c,
				  optarg, &err);
			break;
		case OPT_LOG:
			once(&log, c, optarg);
			opt_check(ss_shape_parse_log_mode(&s, optarg, &err), c,
				  optarg, &err);
			break;
		}
	}
	ss_cli_command_no_args(argc, argv);
	if (!table)
		ss_cli_command_usage_error("option '--table' is required");

	reg = open_registry(0);
	ss_shape_rec_init(&rec);
	if (ss_registry_add(reg, &s, NULL, 0, &rec, &created, &err) < 0)
		ss_cli_die_err(&err);
	close_registry(reg);
	ss_buf_addf(&b, "%" PRId64 " %s\n", rec.id, rec.handle);
	out_buf(&b);
	ss_buf_release(&b);
	ss_shape_rec_release(&rec);
	ss_shape_release(&s);
	ss_cli_close_stdout();
	return 0;
}

/* ---- rm ------------------------------------------------------------- */

static const struct option rm_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

static int cmd_rm(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec *recs;
	struct ss_registry *reg;
	struct shape_ref *refs;
	struct ss_buf path = SS_BUF_INIT;
	int i, j, n, missing = 0;

	while (ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS) != -1)
		;
	n = argc - optind;
	if (n <= 0)
		ss_cli_command_usage_error("no shape given");
	refs = ss_xcalloc((size_t)n, sizeof(*refs));
	recs = ss_xcalloc((size_t)n, sizeof(*recs));
	for (i = 0; i < n; i++)
		parse_shape_ref(argv[optind + i], &refs[i]);

	/* All or nothing: every shape must exist before one is removed. */
	reg = open_registry(0);
	for (i = 0; i < n; i++) {
		ss_shape_rec_init(&recs[i]);
		if (!lookup(reg, &refs[i], &recs[i])) {
			refs[i].id = -2;
			missing++;
		}
	}
	/* The detail goes with the last of the errors. */
	for (i = 0, j = 0; i < n; i++)
		if (refs[i].id == -2)
			ss_cli_log(SS_LOG_ERROR,
				   ++j == missing ? "nothing was removed"
						  : NULL,
				   NULL, "no shape '%s'", refs[i].arg);
	if (missing) {
		close_registry(reg);
		exit(SS_ERR_INPUT);
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (recs[j].id == recs[i].id)
				break;
		if (j == i && ss_registry_remove(reg, recs[i].id, &err) < 0)
			ss_cli_die_err(&err);
	}
	/* Trash only what the registry no longer names. */
	flush_registry(reg);
	for (i = 0; i < n; i++) {
		ss_buf_reset(&path);
		ss_datadir_shape_path(&path, data_dir, recs[i].handle);
		if (ss_datadir_trash(data_dir, path.buf, &err) < 0) {
			ss_err_hint(
			    &err,
			    "the shapes are removed; 'shapesync-db check "
			    "--repair' moves what is left of their data to trash");
			ss_cli_report(&err);
			exit(SS_ERR_RUNTIME);
		}
	}
	close_registry(reg);
	for (i = 0; i < n; i++)
		ss_shape_rec_release(&recs[i]);
	free(recs);
	free(refs);
	ss_buf_release(&path);
	return 0;
}

/* ---- stats ---------------------------------------------------------- */

static const struct option stats_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"shapes", no_argument, NULL, OPT_SHAPES},
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

/* stats --shapes: one line (or JSON object) per shape's sizes. */
static void stats_shape(const struct ss_shape_rec *rec,
			const struct ss_compact_size *sz,
			const struct ss_compact_result *res,
			const struct ss_err *err, size_t n, size_t total,
			void *json)
{
	struct ss_buf b = SS_BUF_INIT;

	(void)res;
	(void)n;
	(void)total;
	if (err->code)
		ss_cli_warning("shape %" PRId64 " (%s): %s", rec->id,
			       rec->handle, err->msg);
	else
		ss_compact_size_line(rec, sz, *(int *)json, &b);
	ss_buf_addc(&b, '\n');
	if (!err->code)
		out_buf(&b);
	ss_buf_release(&b);
}

static int cmd_stats(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *reg;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_compact_opts o;
	struct ss_compact_policy p;
	int c, json = 0, shapes = 0;

	while ((c = ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS)) !=
	       -1) {
		if (c == OPT_JSON)
			json = 1;
		if (c == OPT_SHAPES)
			shapes = 1;
	}
	ss_cli_command_no_args(argc, argv);

	reg = open_registry(0);
	if (ss_registry_stats_report(reg, registry_path, data_dir, json,
				     ss_now_us(), &b, &err) < 0)
		ss_cli_die_err(&err);
	out_buf(&b);
	ss_compact_opts_init(&o);
	ss_compact_policy_init(&p);
	p.measure_only = 1;
	if (shapes && ss_compact_shapes(reg, data_dir, NULL, 0, &o, &p,
					stats_shape, &json, &err) < 0)
		ss_cli_die_err(&err);
	ss_buf_release(&b);
	close_registry(reg);
	ss_cli_close_stdout();
	return 0;
}

/* ---- check ---------------------------------------------------------- */

static const struct option check_options[] = {
    {"repair", no_argument, NULL, OPT_REPAIR},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

struct check_ctx {
	int64_t found, repaired;
};

/* One finding: a line on stdout, counted. */
static void registry_finding(const char *msg, int repaired, void *vctx)
{
	struct check_ctx *ctx = vctx;
	struct ss_buf b = SS_BUF_INIT;

	ss_cli_progress_end();
	ss_buf_adds(&b, msg);
	ss_buf_adds(&b, repaired ? " (repaired)\n" : "\n");
	out_buf(&b);
	ss_buf_release(&b);
	ctx->found++;
	ctx->repaired += !!repaired;
}

/* What compaction left in each complete shape's directory
 * (ss_compact_check): a finding per shape with a problem. */
struct data_check {
	struct check_ctx *ctx;
	struct ss_err *err;
	struct ss_buf path, problem;
};

static int check_shape_data(const struct ss_shape_rec *rec, void *vctx)
{
	struct data_check *dc = vctx;
	struct stat st;
	int r;

	if (rec->snapshot_state != SS_SNAPSHOT_COMPLETE)
		return 0;
	ss_buf_reset(&dc->path);
	ss_datadir_shape_path(&dc->path, data_dir, rec->handle);
	if (stat(dc->path.buf, &st) < 0)
		return 0; /* missing: the data dir comparison says so */
	ss_buf_reset(&dc->problem);
	r = ss_compact_check(dc->path.buf, &dc->problem, dc->err);
	if (r < 0)
		return -1;
	if (r == 1) {
		struct ss_buf line = SS_BUF_INIT;

		ss_buf_addf(&line, "shape %" PRId64 " (%s): %s", rec->id,
			    rec->handle, dc->problem.buf);
		registry_finding(line.buf, 0, dc->ctx);
		ss_buf_release(&line);
	}
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	struct check_ctx ctx = {0, 0};
	struct ss_registry *reg;
	struct ss_err err = SS_ERR_INIT;
	struct ss_err count_err = SS_ERR_INIT;
	struct data_check dc = {NULL, NULL, SS_BUF_INIT, SS_BUF_INIT};
	int64_t shapes = 0;
	int c, repair = 0;

	while ((c = ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS)) !=
	       -1) {
		if (c == OPT_REPAIR)
			repair = 1;
		else if (c == OPT_QUIET)
			ss_cli_progress_quiet();
	}
	ss_cli_command_no_args(argc, argv);

	reg = open_registry(0);
	require_data_dir();
	ss_cli_progress("checking: the registry");
	if (ss_registry_check(reg, repair, registry_finding, &ctx, &err) < 0) {
		ss_cli_progress_end();
		ss_cli_die_err(&err);
	}
	/* A damaged registry would make healthy data look orphaned (and
	 * --repair would trash it): compare only with a sound registry. */
	if (ctx.found > ctx.repaired) {
		ss_cli_progress_end();
		ss_cli_warning("the registry has problems; the data dir was "
			       "not compared with it");
	} else {
		/* The count only words the line: its failure is no
		 * failure of the check. */
		if (ss_cli_progress_active() &&
		    ss_registry_count(reg, &shapes, &count_err) == 0) {
			ss_cli_progress_end();
			ss_cli_progress(
			    "checking: the data dir against %" PRId64
			    " shape%s",
			    shapes, shapes == 1 ? "" : "s");
		}
		if (ss_registry_check_datadir(reg, data_dir, repair,
					      registry_finding, &ctx,
					      &err) < 0) {
			ss_cli_progress_end();
			ss_cli_die_err(&err);
		}
		ss_cli_progress_end();
		ss_cli_progress("checking: the shapes' bases and logs");
		dc.ctx = &ctx;
		dc.err = &err;
		if (ss_registry_foreach(reg, check_shape_data, &dc, &err) !=
		    0) {
			ss_cli_progress_end();
			ss_cli_die_err(&err);
		}
		ss_cli_progress_end();
		ss_buf_release(&dc.path);
		ss_buf_release(&dc.problem);
	}
	close_registry(reg);

	if (!ctx.found)
		printf("ok: registry consistent\n");
	else if (repair)
		printf("%" PRId64 " problem%s found, %" PRId64 " repaired\n",
		       ctx.found, ctx.found == 1 ? "" : "s", ctx.repaired);
	else
		printf("%" PRId64 " problem%s found\n", ctx.found,
		       ctx.found == 1 ? "" : "s");
	ss_cli_close_stdout();
	return ctx.found > ctx.repaired ? SS_ERR_INPUT : 0;
}

/* ---- vacuum --------------------------------------------------------- */

static const struct option vacuum_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

static int cmd_vacuum(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry_stats before, after;
	struct ss_registry *reg;
	long removed = 0;

	while (ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS) != -1)
		;
	ss_cli_command_no_args(argc, argv);

	reg = open_registry(0);
	if (ss_registry_stats(reg, &before, &err) < 0 ||
	    ss_registry_vacuum(reg, &err) < 0 ||
	    ss_registry_stats(reg, &after, &err) < 0)
		ss_cli_die_err(&err);
	close_registry(reg);
	if (ss_datadir_empty_trash(data_dir, &removed, &err) < 0)
		ss_cli_die_err(&err);
	printf("db_bytes_before: %" PRId64 "\n"
	       "db_bytes_after: %" PRId64 "\n"
	       "trash_entries_removed: %ld\n",
	       before.db_bytes, after.db_bytes, removed);
	ss_cli_close_stdout();
	return 0;
}

/* ---- import --------------------------------------------------------- */

static const struct option import_options[] = {
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

/* The input of import as it is read: bytes so far, of the file's size
 * when it is a regular file (0 when not known). */
struct import_in {
	FILE *f;
	uint64_t done, size;
};

static ssize_t import_read(void *cookie, char *buf, size_t len)
{
	struct import_in *in = cookie;
	size_t n = fread(buf, 1, len, in->f);

	if (n == 0 && ferror(in->f))
		return -1; /* errno is fread's */
	in->done += n;
	if (in->size)
		ss_cli_progress("importing: %" PRIu64 " of %" PRIu64 " bytes",
				in->done, in->size);
	else
		ss_cli_progress("importing: %" PRIu64 " bytes", in->done);
	return (ssize_t)n;
}

static int import_close(void *cookie)
{
	(void)cookie;
	return 0;
}

static int cmd_import(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *reg;
	const char *file = NULL, *name = "<stdin>";
	int64_t imported = 0;
	struct import_in counted = {NULL, 0, 0};
	cookie_io_functions_t io = {import_read, NULL, NULL, import_close};
	struct stat st;
	FILE *in = stdin, *read_from;
	int rc;

	while (ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS) != -1)
		ss_cli_progress_quiet(); /* --quiet, the one option */
	if (optind < argc)
		file = argv[optind++];
	ss_cli_command_no_args(argc, argv);

	if (file && strcmp(file, "-")) {
		name = file;
		in = fopen(file, "r");
		if (!in)
			ss_cli_die("could not open '%s': %s", file,
				   strerror(errno));
	}
	reg = open_registry(0);
	/* On a terminal, the import reads through a counter that draws
	 * the progress line; otherwise straight from the file. */
	read_from = in;
	if (ss_cli_progress_active()) {
		counted.f = in;
		if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
			counted.size = (uint64_t)st.st_size;
		read_from = fopencookie(&counted, "r", io);
		if (!read_from)
			ss_cli_die("could not read '%s': %s", name,
				   strerror(errno));
	}
	rc = ss_registry_import_file(reg, read_from, name, &imported, &err);
	if (read_from != in)
		fclose(read_from);
	ss_cli_progress_end();
	if (rc < 0)
		ss_cli_die_err(&err);
	close_registry(reg);
	if (in != stdin)
		fclose(in);
	return 0;
}

/* ---- log ------------------------------------------------------------ */

static const struct option log_options[] = {
    {"after", required_argument, NULL, OPT_AFTER},
    {"chunks", no_argument, NULL, OPT_CHUNKS},
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

/* Print a shape's committed log entries as "<offset> <json>" lines, or
 * with --chunks the offsets where its closed chunks end. */
static int print_entry(const struct ss_offset *off, const char *entry,
		       size_t len, void *ctx, struct ss_err *err)
{
	char text[SS_OFFSET_STRMAX];

	(void)ctx;
	(void)err;
	/* The message without its leading ',': one line. */
	printf("%s ", ss_offset_format(off, text));
	if (len < 2 || fwrite(entry + 1, 1, len - 1, stdout) != len - 1)
		ss_cli_flush_stdout();
	return 0;
}

static int print_chunk(const struct ss_offset *end, void *ctx,
		       struct ss_err *err)
{
	char text[SS_OFFSET_STRMAX];

	(void)ctx;
	(void)err;
	printf("%s\n", ss_offset_format(end, text));
	return 0;
}

static int cmd_log(int argc, char **argv)
{
	struct ss_offset after = ss_offset_before_all;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf path = SS_BUF_INIT;
	struct ss_log_reader *lr;
	struct ss_shape_rec rec;
	struct ss_registry *reg;
	struct ss_base base;
	int c, chunks = 0;

	while ((c = ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS)) !=
	       -1) {
		if (c == OPT_AFTER &&
		    ss_offset_parse(optarg, 0, &after, &err) < 0)
			ss_cli_command_usage_error("invalid --after '%s': %s",
						   optarg, err.msg);
		if (c == OPT_CHUNKS)
			chunks = 1;
	}
	reg = open_one_shape(argc, argv, &rec);
	ss_datadir_shape_path(&path, data_dir, rec.handle);
	/* Entries a compaction gave back are gone: start after them. */
	if (ss_base_read(path.buf, &base, &err) < 0 ||
	    ss_log_reader_open(path.buf, &lr, &err) < 0)
		ss_cli_die_err(&err);
	if (base.has_reclaimed &&
	    ss_offset_compare(&after, &base.reclaimed) < 0)
		after = base.reclaimed;
	if ((chunks ? ss_log_reader_each_chunk(lr, &after, 0, print_chunk, NULL,
					       &err)
		    : ss_log_reader_each(lr, &after, NULL, print_entry, NULL,
					 &err)) < 0)
		ss_cli_die_err(&err);
	ss_log_reader_close(lr);
	ss_buf_release(&path);
	ss_shape_rec_release(&rec);
	close_registry(reg);
	ss_cli_close_stdout();
	return 0;
}

/* ---- main ----------------------------------------------------------- */

static const struct ss_cli_command commands[] = {
    {"init", cmd_init, init_options,
     "Usage: shapesync-db [globals] init\n"
     "\n"
     "Creates the registry and the data dir if they are missing.\n"
     "Running it again changes nothing.\n"
     "\n"
     "Options:\n"
     "  -h, --help            show this help and exit\n"},
    {"ls", cmd_ls, ls_options,
     "Usage: shapesync-db [globals] ls [--json]\n"
     "\n"
     "Lists every shape in id order: a table with a header, or NDJSON.\n"
     "\n"
     "Options:\n"
     "  --json                one JSON object per shape (default: a table)\n"
     "  -h, --help            show this help and exit\n"},
    {"show", cmd_show, show_options,
     "Usage: shapesync-db [globals] show [--json] SHAPE\n"
     "\n"
     "Shows one shape. SHAPE is its id (digits) or its handle.\n"
     "\n"
     "Options:\n"
     "  --json                one JSON object (default: key: value lines)\n"
     "  -h, --help            show this help and exit\n"},
    {"add", cmd_add, add_options,
     "Usage: shapesync-db [globals] add --table TABLE [options]\n"
     "\n"
     "Registers a shape, or finds the one with the same definition, and\n"
     "prints '<id> <handle>'.\n"
     "\n"
     "Shape:\n"
     "  --table TABLE         [schema.]table (required; schema: public)\n"
     "  --where SQL           row filter (default: none, every row)\n"
     "  --params VALUE        value of the next $n in --where; repeat for\n"
     "                        $1, $2, ... in order (default: none)\n"
     "  --columns LIST        comma-separated columns (default: all)\n"
     "  --replica MODE        default | full (default: default)\n"
     "  --log MODE            full | changes_only (default: full)\n"
     "\n"
     "Other:\n"
     "  -h, --help            show this help and exit\n"},
    {"log", cmd_log, log_options,
     "Usage: shapesync-db [globals] log [--after OFFSET] [--chunks] SHAPE\n"
     "\n"
     "Prints a shape's committed log entries, one per line as\n"
     "'<offset> <message>', or with --chunks the offset where each closed\n"
     "chunk ends.\n"
     "\n"
     "Options:\n"
     "  --after OFFSET        only entries after OFFSET (default: -1, all)\n"
     "  --chunks              print chunk ends instead of entries\n"
     "  -h, --help            show this help and exit\n"},
    {"rm", cmd_rm, rm_options,
     "Usage: shapesync-db [globals] rm SHAPE...\n"
     "\n"
     "Removes shapes (ids or handles) and moves their data to the trash.\n"
     "All or nothing: if one is missing, none is removed.\n"
     "\n"
     "Options:\n"
     "  -h, --help            show this help and exit\n"},
    {"stats", cmd_stats, stats_options,
     "Usage: shapesync-db [globals] stats [--json] [--shapes]\n"
     "\n"
     "Prints the registry counters and the data dir counts.\n"
     "\n"
     "Options:\n"
     "  --json                one JSON object (default: key: value lines)\n"
     "  --shapes              then each complete shape's base, log after it\n"
     "                        and their ratio (what compact looks at)\n"
     "  -h, --help            show this help and exit\n"},
    {"check", cmd_check, check_options,
     "Usage: shapesync-db [globals] check [--repair] [--quiet]\n"
     "\n"
     "Checks the registry (integrity, invariants) and compares it with\n"
     "the data dir: orphan and stray entries, complete shapes without\n"
     "data. Prints one line per problem, then a summary. Exit status 3\n"
     "if problems remain.\n"
     "\n"
     "Options:\n"
     "  --repair              fix what can be fixed (default: report only)\n"
     "  --quiet               no progress line on a terminal\n"
     "  -h, --help            show this help and exit\n"},
    {"vacuum", cmd_vacuum, vacuum_options,
     "Usage: shapesync-db [globals] vacuum\n"
     "\n"
     "Compacts the registry and deletes the data dir's trash.\n"
     "\n"
     "Options:\n"
     "  -h, --help            show this help and exit\n"},
    {"compact", cmd_compact, compact_options,
     "Usage: shapesync-db [globals] compact [options] (SHAPE... | --all)\n"
     "\n"
     "Folds the closed part of shape logs into their rows, so that a new\n"
     "client reads the rows, not the history. Shapes named are compacted\n"
     "whatever their sizes; --all those the policy says are due. See\n"
     "shapesync-db(1) for the offsets clients hold meanwhile.\n"
     "\n"
     "Options:\n"
     "  --all                 every shape whose snapshot is complete\n"
     "  --force               with --all: whatever the sizes\n"
     "  --min-ratio R         due when base and log are R times the base (4)\n"
     "  --min-bytes SIZE      and the log after it is SIZE or more (1MiB)\n"
     "  --keep-chunks N       newest closed log chunks kept as they are (2;\n"
     "                        0: fold the open chunk too)\n"
     "  --grace TIME          older generations stay readable (1h)\n"
     "  --every TIME          run again every TIME until SIGTERM\n"
     "  --quiet               no progress line, no 'skipped' lines\n"
     "  -h, --help            show this help and exit\n"},
    {"export", cmd_export, export_options,
     "Usage: shapesync-db [globals] export [--quiet]\n"
     "\n"
     "Writes every shape as one JSON object per line to stdout.\n"
     "\n"
     "Options:\n"
     "  --quiet               no progress line on a terminal\n"
     "  -h, --help            show this help and exit\n"},
    {"import", cmd_import, import_options,
     "Usage: shapesync-db [globals] import [--quiet] [FILE]\n"
     "\n"
     "Adds the shapes of an export (NDJSON; default: stdin, also '-').\n"
     "All or nothing: a bad line imports nothing. Blank lines are\n"
     "skipped.\n"
     "\n"
     "Options:\n"
     "  --quiet               no progress line on a terminal\n"
     "  -h, --help            show this help and exit\n"},
    {NULL, NULL, NULL, NULL}};

static const struct option global_options[] = {
    {"registry", required_argument, NULL, OPT_REGISTRY},
    {"dir", required_argument, NULL, OPT_DIR},
    SS_CLI_LOG_OPTIONS,
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {"list-commands", no_argument, NULL, OPT_LIST_COMMANDS},
    {NULL, 0, NULL, 0}};

int main(int argc, char **argv)
{
	const struct ss_cli_command *cmd;
	int c;

	ss_cli_init("shapesync-db");
	registry_path = ss_cli_env_or("SHAPESYNC_REGISTRY", DEFAULT_REGISTRY);
	data_dir = ss_cli_env_or("SHAPESYNC_DATA_DIR", DEFAULT_DATA_DIR);
	opterr = 0;
	/* "+": the first non-option is the command; the rest is its own. */
	while ((c = getopt_long(argc, argv, "+:hV", global_options, NULL)) !=
	       -1) {
		switch (c) {
		case OPT_REGISTRY:
			if (!*optarg)
				ss_cli_command_usage_error(
				    "option '--registry' needs a "
				    "path");
			registry_path = optarg;
			break;
		case OPT_DIR:
			if (!*optarg)
				ss_cli_command_usage_error(
				    "option '--dir' needs a path");
			data_dir = optarg;
			break;
		case 'h':
			usage();
			ss_cli_close_stdout();
			return 0;
		case 'V':
			ss_cli_version();
		case OPT_LIST_OPTIONS:
			ss_cli_list_options(global_options);
		case SS_OPT_LOG_FORMAT:
		case SS_OPT_LOG_LEVEL:
			ss_cli_common_option(c, OPT_LIST_OPTIONS, usage,
					     global_options, argv);
			break;
		case OPT_LIST_COMMANDS:
			for (cmd = commands; cmd->name; cmd++)
				printf("%s\n", cmd->name);
			ss_cli_close_stdout();
			return 0;
		default:
			ss_cli_bad_option(argv, global_options, c);
		}
	}
	return ss_cli_command_run(commands, argc, argv);
}
