/*
 * shapesync-store — reads tagged frames (from shapesync-route) on stdin
 * and appends each change to the durable logs of the shapes it belongs
 * to; records the durable LSN in the registry for replicate to acknowledge.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "frame.h"
#include "health.h"
#include "registry.h"
#include "store.h"

static volatile sig_atomic_t stop;
static struct ss_beat *beat;
static struct ss_frame_reader *rd; /* standard input */
static int64_t next_beat;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	printf(
	    "Usage: shapesync-store [options] < frames\n"
	    "\n"
	    "Appends tagged change frames to the per-shape logs in the data dir,\n"
	    "and records the durable LSN in the registry after each group commit.\n"
	    "\n"
	    "Locations:\n"
	    "  --registry PATH        registry file (default: $SHAPESYNC_REGISTRY,\n"
	    "                         else ./var/registry.db)\n"
	    "  --dir DATADIR          data dir (default: $SHAPESYNC_DATA_DIR,\n"
	    "                         else ./var/data)\n"
	    "\n"
	    "Logs:\n"
	    "  --chunk-bytes SIZE     close a log chunk at this size (default 10MiB;\n"
	    "                         $ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD)\n"
	    "  --max-open N           shape logs open at once (default 1024)\n"
	    "  --max-line SIZE        longest input frame (default 256MiB)\n"
	    "  --write-buffer SIZE    memory for buffered log writes, all shapes\n"
	    "                         (default 32MiB; 0: write each entry at once)\n"
	    "\n"
	    "Durability:\n"
	    "  --sync-interval TIME   group commit window (default 10ms)\n"
	    "  --sync-bytes SIZE      sync once this much is written (default 4MiB)\n"
	    "  --sync-every-commit    fsync every transaction (slow; for comparison)\n"
	    "  --no-sync              never fsync (tests only: not crash-safe)\n"
	    "\n"
	    "Other:\n"
	    "      --log-format FMT   text or json ($SHAPESYNC_LOG_FORMAT, text)\n"
	    "      --log-level LEVEL  debug, info, warning or error\n"
	    "                         ($ELECTRIC_LOG_LEVEL, info)\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n"
	    "\n"
	    "See shapesync-store(1) and shapesync-datadir(5).\n");
}

enum {
	OPT_REGISTRY = 256,
	OPT_DIR,
	OPT_CHUNK,
	OPT_MAX_OPEN,
	OPT_MAX_LINE,
	OPT_WRITE_BUFFER,
	OPT_SYNC_INTERVAL,
	OPT_SYNC_BYTES,
	OPT_SYNC_EVERY,
	OPT_NO_SYNC,
	OPT_LIST,
};

static const struct option options[] = {
    {"registry", required_argument, NULL, OPT_REGISTRY},
    {"dir", required_argument, NULL, OPT_DIR},
    {"chunk-bytes", required_argument, NULL, OPT_CHUNK},
    {"max-open", required_argument, NULL, OPT_MAX_OPEN},
    {"max-line", required_argument, NULL, OPT_MAX_LINE},
    {"write-buffer", required_argument, NULL, OPT_WRITE_BUFFER},
    {"sync-interval", required_argument, NULL, OPT_SYNC_INTERVAL},
    {"sync-bytes", required_argument, NULL, OPT_SYNC_BYTES},
    {"sync-every-commit", no_argument, NULL, OPT_SYNC_EVERY},
    {"no-sync", no_argument, NULL, OPT_NO_SYNC},
    SS_CLI_LOG_OPTIONS,
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"list-options", no_argument, NULL, OPT_LIST},
    {NULL, 0, NULL, 0}};

/* What the heartbeat says (written by its thread), at most every 100 ms
 * unless `now`. */
static void beat_publish(struct ss_store *st, int now)
{
	struct ss_store_stats ss;
	struct ss_heartbeat *hb;
	int64_t t = ss_mono_us();

	if (!now && t < next_beat)
		return;
	next_beat = t + 100000;
	ss_store_stats(st, &ss);
	hb = ss_beat_hold(beat);
	hb->flushed_lsn = ss.durable_lsn;
	hb->counters[0] = (int64_t)ss.transactions;
	hb->counters[1] = (int64_t)ss.entries;
	hb->counters[2] = (int64_t)ss.syncs;
	ss_beat_release(beat);
}

/* Report an error; exit with its code after a clean close. */
static void fail(struct ss_store *st, struct ss_registry *reg,
		 const struct ss_err *err)
{
	struct ss_err e2 = SS_ERR_INIT;

	ss_cli_report(err);
	if (beat) {
		ss_beat_state(beat, "error", err->msg);
		ss_beat_stop(beat, "stopped");
	}
	ss_store_close(st, &e2);
	ss_registry_close(reg, &e2);
	ss_frame_reader_free(rd);
	exit(err->code > 0 ? err->code : 1);
}

int main(int argc, char **argv)
{
	const char *registry =
	    ss_cli_env_or("SHAPESYNC_REGISTRY", "./var/registry.db");
	const char *chunk_env =
	    ss_cli_env_or("ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", NULL);
	struct ss_store_opts so;
	struct ss_registry_opts ro;
	struct ss_registry *reg = NULL;
	struct ss_store *st = NULL;
	struct ss_frame f = SS_FRAME_INIT;
	struct ss_err err = SS_ERR_INIT;
	uint64_t max_line = 0;
	struct sigaction sa;
	int c;

	ss_cli_init("shapesync-store");
	ss_store_opts_init(&so);
	so.dir = ss_cli_env_or("SHAPESYNC_DATA_DIR", "./var/data");
	if (chunk_env)
		so.chunk_bytes = ss_cli_opt_size(
		    chunk_env, "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", options, NULL)) != -1) {
		switch (c) {
		case OPT_REGISTRY:
			registry = optarg;
			break;
		case OPT_DIR:
			so.dir = optarg;
			break;
		case OPT_CHUNK:
			so.chunk_bytes =
			    ss_cli_opt_size(optarg, "--chunk-bytes");
			break;
		case OPT_MAX_OPEN:
			so.max_open = (int)ss_cli_opt_int(optarg, 1, 1000000,
							  "--max-open");
			break;
		case OPT_MAX_LINE:
			max_line = ss_cli_opt_size(optarg, "--max-line");
			break;
		case OPT_WRITE_BUFFER:
			so.write_buffer =
			    ss_cli_opt_size(optarg, "--write-buffer");
			break;
		case OPT_SYNC_INTERVAL:
			so.sync_interval_us =
			    ss_cli_opt_duration_ms(optarg, "--sync-interval") *
			    1000;
			break;
		case OPT_SYNC_BYTES:
			so.sync_bytes = ss_cli_opt_size(optarg, "--sync-bytes");
			break;
		case OPT_SYNC_EVERY:
			so.sync_every_commit = 1;
			break;
		case OPT_NO_SYNC:
			so.no_sync = 1;
			break;
		default:
			ss_cli_common_option(c, OPT_LIST, usage, options, argv);
		}
	}
	if (optind < argc)
		ss_cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!*registry || !*so.dir)
		ss_cli_usage_error("--registry and --dir must not be empty");
	if (!so.chunk_bytes)
		ss_cli_usage_error("--chunk-bytes must be at least 1");
	if (so.sync_every_commit && so.no_sync)
		ss_cli_usage_error(
		    "--sync-every-commit and --no-sync contradict each other");

	/* Each open shape log holds 4 descriptors: raise the soft limit to
	 * the hard one and keep --max-open within it. */
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			if (rl.rlim_cur < rl.rlim_max) {
				rl.rlim_cur = rl.rlim_max;
				setrlimit(RLIMIT_NOFILE, &rl);
				getrlimit(RLIMIT_NOFILE, &rl);
			}
			if (rl.rlim_cur != RLIM_INFINITY &&
			    (rlim_t)so.max_open * 4 + 64 > rl.rlim_cur)
				so.max_open =
				    rl.rlim_cur > 128
					? (int)((rl.rlim_cur - 64) / 4)
					: 16;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	ss_registry_opts_init(&ro);
	if (ss_registry_open_existing(registry, &ro, &reg, &err) < 0)
		ss_cli_die_err(&err);
	if (ss_store_open(reg, &so, &st, &err) < 0)
		fail(NULL, reg, &err);
	if (ss_beat_start(reg, "store", 1000, &beat, &err) < 0)
		fail(st, reg, &err);
	ss_beat_state(beat, "running", NULL);
	/* Non-blocking stdin: poll() tells when to read, and housekeeping
	 * (group commit, new snapshots) runs while the pipe is quiet. */
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	rd = ss_frame_reader_new_fd(0, "<stdin>");
	if (max_line)
		ss_frame_reader_set_max_line(rd, max_line);
	ss_frame_reader_check_order(rd, 1);

	while (!stop) {
		int rc;

		if (!ss_frame_reader_buffered(rd)) {
			struct pollfd pfd = {0, POLLIN, 0};
			int64_t deadline = ss_store_deadline(st),
				wait_ms = 1000;

			if (deadline) {
				wait_ms =
				    (deadline - ss_mono_us() + 999) / 1000;
				if (wait_ms < 0)
					wait_ms = 0;
			}
			rc = poll(&pfd, 1, (int)wait_ms);
			if (rc < 0 && errno != EINTR)
				ss_cli_die("poll: %s", strerror(errno));
			if (rc <= 0) {
				if (ss_store_poll(st, 1, &err) < 0)
					fail(st, reg, &err);
				beat_publish(st, 0);
				continue;
			}
		}
		rc = ss_frame_read(rd, &f, &err);
		if (rc == SS_FRAME_AGAIN)
			continue;
		if (rc == SS_FRAME_EOF)
			break;
		if (rc < 0)
			fail(st, reg, &err);
		if (ss_store_frame(st, &f, &err) < 0) {
			if (err.code == SS_ERR_INPUT)
				ss_err_prefix(&err, "<stdin>:%llu",
					      (unsigned long long)
						  ss_frame_reader_lineno(rd));
			fail(st, reg, &err);
		}
		if (ss_store_poll(st, 0, &err) < 0)
			fail(st, reg, &err);
		beat_publish(st, 0);
	}
	ss_frame_release(&f);
	if (!stop && ss_store_in_txn(st)) {
		ss_err_set(&err, SS_ERR_RUNTIME,
			   "input ended inside a transaction");
		ss_err_detail(
		    &err,
		    "the partial transaction was not stored; it is stored when"
		    " its frames are read again");
		fail(st, reg, &err);
	}
	ss_frame_reader_free(rd);
	beat_publish(st, 1);
	ss_beat_stop(beat, "stopped");
	beat = NULL;
	if (ss_store_close(st, &err) < 0) {
		ss_registry_close(reg, NULL);
		ss_cli_die_err(&err);
	}
	if (ss_registry_close(reg, &err) < 0)
		ss_cli_die_err(&err);
	ss_cli_close_stdout();
	return 0;
}
