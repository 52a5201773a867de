/*
 * db-compact.c — `shapesync-db compact`: options and output over
 * lib/compact (ss_compact_shapes), once or --every TIME.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compact.h"
#include "db.h"

const struct option compact_options[] = {
    {"all", no_argument, NULL, OPT_ALL},
    {"force", no_argument, NULL, OPT_FORCE},
    {"min-ratio", required_argument, NULL, OPT_MIN_RATIO},
    {"min-bytes", required_argument, NULL, OPT_MIN_BYTES},
    {"keep-chunks", required_argument, NULL, OPT_KEEP_CHUNKS},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"every", required_argument, NULL, OPT_EVERY},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, 'h'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

static volatile sig_atomic_t compact_stop;

static void on_compact_stop(int sig)
{
	(void)sig;
	compact_stop = 1;
}

/* Each shape's line (errors as warnings), and the progress line. */
static void compact_report(const struct ss_shape_rec *rec,
			   const struct ss_compact_size *before,
			   const struct ss_compact_result *res,
			   const struct ss_err *err, size_t n, size_t total,
			   void *quiet)
{
	struct ss_buf b = SS_BUF_INIT;

	ss_cli_progress_end();
	ss_compact_describe(rec, before, res, err, &b);
	if (err->code)
		ss_cli_warning("%s", b.buf);
	else if (res->compacted || !*(int *)quiet || res->dropped ||
		 res->punched)
		printf("%s\n", b.buf);
	fflush(stdout);
	if (n < total)
		ss_cli_progress("compacting: %zu of %zu shapes", n, total);
	ss_buf_release(&b);
}

/* Fold shape logs into their rows (lib/compact), once or --every TIME. */
int cmd_compact(int argc, char **argv)
{
	struct ss_compact_opts o;
	struct ss_compact_policy p;
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *reg;
	struct shape_ref ref;
	struct ss_shape_rec rec;
	int64_t *ids = NULL, every = 0;
	size_t nids = 0, alloc = 0;
	int c, all = 0, failed = 0, quiet = 0;

	ss_compact_opts_init(&o);
	ss_compact_policy_init(&p);
	/* Base chunks as large as the snapshot's and the log's. */
	if (getenv("ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD"))
		o.chunk_bytes = ss_cli_opt_size(
		    getenv("ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD"),
		    "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD");
	while ((c = ss_cli_command_next_opt(argc, argv, OPT_LIST_OPTIONS)) !=
	       -1) {
		switch (c) {
		case OPT_ALL:
			all = 1;
			break;
		case OPT_FORCE:
			p.force = 1;
			break;
		case OPT_MIN_RATIO:
			p.min_ratio = (double)ss_cli_opt_int(optarg, 1, 1000000,
							     "--min-ratio");
			break;
		case OPT_MIN_BYTES:
			p.min_bytes = ss_cli_opt_size(optarg, "--min-bytes");
			break;
		case OPT_KEEP_CHUNKS:
			o.keep_chunks = (uint64_t)ss_cli_opt_int(
			    optarg, 0, 1000000, "--keep-chunks");
			break;
		case OPT_GRACE:
			o.grace_s =
			    ss_cli_opt_duration_ms(optarg, "--grace") / 1000;
			break;
		case OPT_EVERY:
			every = ss_cli_opt_duration_ms(optarg, "--every");
			break;
		case OPT_QUIET:
			quiet = 1;
			ss_cli_progress_quiet();
			break;
		}
	}
	if (all == (optind < argc))
		ss_cli_command_usage_error(all ? "--all and shapes given"
					       : "no shape given (or --all)");
	reg = open_registry(0);
	require_data_dir();
	/* Shapes named are compacted whatever their sizes. */
	for (; optind < argc; optind++) {
		parse_shape_ref(argv[optind], &ref);
		ss_shape_rec_init(&rec);
		if (!lookup(reg, &ref, &rec)) {
			close_registry(reg);
			ss_cli_error("no shape '%s'", ref.arg);
			exit(SS_ERR_INPUT);
		}
		SS_GROW(ids, alloc, nids + 1);
		ids[nids++] = rec.id;
		ss_shape_rec_release(&rec);
		p.force = 1;
	}
	if (every) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_compact_stop;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	do {
		int64_t slept;

		ss_cli_progress("compacting");
		c = ss_compact_shapes(reg, data_dir, ids, nids, &o, &p,
				      compact_report, &quiet, &err);
		ss_cli_progress_end();
		if (c < 0)
			ss_cli_die_err(&err);
		failed += c;
		for (slept = 0; every && !compact_stop && slept < every;
		     slept += 100)
			usleep(100000);
	} while (every && !compact_stop);
	free(ids);
	close_registry(reg);
	ss_cli_close_stdout();
	return failed ? SS_ERR_RUNTIME : 0;
}
