/*
 * shapesync-replicate — streams a PostgreSQL logical replication slot
 * (pgoutput, protocol version 1) to stdout as change frames, keeps the
 * publication in step with the tables of registered shapes, and
 * acknowledges the slot only up to what store has made durable.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cli.h"
#include "decode.h"
#include "envconf.h"
#include "frame.h"
#include "pg.h"
#include "pgoutput.h"
#include "publisher.h"
#include "health.h"
#include "registry.h"
#include "registry_cursor.h"
#include "shape.h"
#include "slot.h"

#define APPNAME "shapesync-replicate"
#define DEFAULT_REGISTRY "./var/registry.db"
#define DEFAULT_NAME "shapesync"
#define POLL_US 100000		 /* registry and ack check interval */
#define RETRY_PUBLISH_US 5000000 /* retry a table that failed */
#define PARTITIONS_US                                                          \
	1000000 /* look for partitions without                                 \
		   REPLICA IDENTITY FULL this often */
#define BACKOFF_MAX_S 30

enum {
	OPT_LIST_OPTIONS = 256,
	OPT_REGISTRY,
	OPT_CREATE_SLOT,
	OPT_DROP_SLOT,
	OPT_START,
	OPT_ENDPOS,
	OPT_ACK,
	OPT_NO_LOOP,
	OPT_PUBLICATION,
	OPT_TAKE_OVER,
	OPT_TEMPORARY,
	OPT_IDLE_TIMEOUT,
};

static const struct option options[] = {
    {"db", required_argument, NULL, 'd'},
    {"slot", required_argument, NULL, 'S'},
    {"publication", required_argument, NULL, OPT_PUBLICATION},
    {"registry", required_argument, NULL, OPT_REGISTRY},
    {"table", required_argument, NULL, 't'},
    {"create-slot", no_argument, NULL, OPT_CREATE_SLOT},
    {"drop-slot", no_argument, NULL, OPT_DROP_SLOT},
    {"start", required_argument, NULL, OPT_START},
    {"endpos", required_argument, NULL, OPT_ENDPOS},
    {"ack", required_argument, NULL, OPT_ACK},
    {"status-interval", required_argument, NULL, 's'},
    {"no-loop", no_argument, NULL, OPT_NO_LOOP},
    {"take-over-slot", no_argument, NULL, OPT_TAKE_OVER},
    {"temporary-slot", no_argument, NULL, OPT_TEMPORARY},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    SS_CLI_LOG_OPTIONS,
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

static void usage(void)
{
	printf(
	    "Usage: shapesync-replicate [OPTION]...\n"
	    "\n"
	    "Streams a PostgreSQL logical replication slot (pgoutput) to "
	    "stdout as\n"
	    "NDJSON frames (shapesync-frames(5)), and acknowledges the "
	    "slot only up\n"
	    "to the LSN that store has made durable.\n"
	    "\n"
	    "Connection:\n"
	    "  -d, --db CONNSTR          connection string or URI "
	    "(default:\n"
	    "                            $DATABASE_URL, else libpq's PG* "
	    "variables)\n"
	    "  -S, --slot NAME           replication slot (default: " DEFAULT_NAME
	    ")\n"
	    "      --publication NAME    publication (default: " DEFAULT_NAME
	    ")\n"
	    "\n"
	    "Tables:\n"
	    "      --registry PATH       shape registry: tables to publish "
	    "and the\n"
	    "                            durable LSN (default: "
	    "$SHAPESYNC_REGISTRY,\n"
	    "                            else " DEFAULT_REGISTRY ")\n"
	    "  -t, --table TABLE         publish [schema.]TABLE instead of "
	    "the\n"
	    "                            registry's tables (repeatable; "
	    "default: none)\n"
	    "\n"
	    "Slot actions (then exit):\n"
	    "      --create-slot         create the publication and the "
	    "slot\n"
	    "      --drop-slot           drop the slot\n"
	    "\n"
	    "Streaming:\n"
	    "      --start LSN           start there if the slot is behind "
	    "it\n"
	    "                            (default: where the slot stands)\n"
	    "      --endpos LSN          stop before the first transaction "
	    "that commits\n"
	    "                            at or after LSN (default: never "
	    "stop)\n"
	    "      --ack=MODE            registry: acknowledge the durable "
	    "LSN;\n"
	    "                            received: what was written out "
	    "(default:\n"
	    "                            registry)\n"
	    "  -s, --status-interval SECS  status updates at least this "
	    "often\n"
	    "                            (default: 10, at most "
	    "wal_sender_timeout/3)\n"
	    "      --no-loop             exit when the connection is lost "
	    "(default:\n"
	    "                            reconnect with backoff)\n"
	    "      --take-over-slot      end another process that holds "
	    "the slot\n"
	    "                            (default: exit with an error)\n"
	    "      --temporary-slot      a temporary slot with a random name "
	    "each\n"
	    "                            session; every shape is refetched "
	    "after it\n"
	    "                            ($ELECTRIC_TEMPORARY_REPLICATION_\n"
	    "                            SLOT_USE_RANDOM_NAME=true)\n"
	    "      --idle-timeout TIME   close the connections to "
	    "PostgreSQL after TIME\n"
	    "                            with no transaction and no shape "
	    "read; open\n"
	    "                            them again on the next read or "
	    "new shape\n"
	    "                            (e.g. 5min; default: "
	    "$ELECTRIC_REPLICATION_\n"
	    "                            IDLE_TIMEOUT, else 0: never)\n"
	    "\n"
	    "Other:\n"
	    "      --log-format FMT      text or json ($SHAPESYNC_LOG_FORMAT, text)\n"
	    "      --log-level LEVEL     debug, info, warning or error\n"
	    "                            ($ELECTRIC_LOG_LEVEL, info)\n"
	    "  -h, --help                show this help and exit\n"
	    "  -V, --version             show the version and exit\n"
	    "\n"
	    "See shapesync-replicate(1).\n");
}

/* ---- options ---------------------------------------------------------- */

static struct {
	const char *conninfo;
	const char *slot, *pub;
	const char *registry;
	int registry_given;
	struct ss_publisher tables; /* --table */
	int create_slot, drop_slot, no_loop, ack_received, take_over;
	int cleanup_slot, manual_publishing; /* Electric's settings */
	int temporary;			     /* a temporary, random slot */
	ss_lsn start, endpos;
	int have_endpos;
	int64_t status_ms;
	int64_t idle_ms; /* 0: never sleep */
} opt;

static ss_lsn opt_lsn(const char *arg, const char *name)
{
	struct ss_err err = SS_ERR_INIT;
	ss_lsn v;

	if (ss_lsn_parse(arg, &v, &err) < 0)
		ss_cli_usage_error("option '--%s': %s", name, err.msg);
	return v;
}

static int env_bool(const char *name)
{
	struct ss_err err = SS_ERR_INIT;
	const char *v = ss_cli_env_or(name, NULL);
	int b = 0;

	if (v && ss_envconf_bool(name, v, &b, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
	return b;
}

/* Electric's settings for the replication stream (shapesync-replicate(1),
 * ENVIRONMENT); the options parsed after this win. */
static void electric_env(void)
{
	static char slot[SS_ENVCONF_NAME_MAX], pub[SS_ENVCONF_NAME_MAX];
	struct ss_err err = SS_ERR_INIT;
	const char *v = ss_cli_env_or("ELECTRIC_REPLICATION_STREAM_ID", NULL);

	if (v) {
		if (ss_envconf_stream_names("ELECTRIC_REPLICATION_STREAM_ID", v,
					    slot, pub, &err) < 0)
			ss_cli_usage_error("%s", err.msg);
		opt.slot = slot;
		opt.pub = pub;
	}
	opt.cleanup_slot = env_bool("CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN");
	opt.temporary =
	    env_bool("ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME");
	opt.manual_publishing = env_bool("ELECTRIC_MANUAL_TABLE_PUBLISHING");
	v = ss_cli_env_or("ELECTRIC_REPLICATION_IDLE_TIMEOUT", NULL);
	if (v && ss_envconf_time_ms("ELECTRIC_REPLICATION_IDLE_TIMEOUT", v, 1,
				    &opt.idle_ms, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
}

static void parse_options(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	const char *env;
	int c;

	env = getenv("DATABASE_URL");
	opt.conninfo = env && *env ? env : NULL;
	opt.slot = opt.pub = DEFAULT_NAME;
	env = getenv("SHAPESYNC_REGISTRY");
	opt.registry = env && *env ? env : DEFAULT_REGISTRY;
	opt.status_ms = 10000;
	electric_env();

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:S:t:s:hV", options, NULL)) !=
	       -1) {
		switch (c) {
		case 'd':
			opt.conninfo = optarg;
			break;
		case 'S':
			opt.slot = optarg;
			break;
		case OPT_PUBLICATION:
			opt.pub = optarg;
			break;
		case OPT_REGISTRY:
			if (!*optarg)
				ss_cli_usage_error("option '--registry' needs "
						   "a path");
			opt.registry = optarg;
			opt.registry_given = 1;
			break;
		case 't': {
			struct ss_shape s;

			ss_shape_init(&s);
			if (ss_shape_parse_table(&s, optarg, &err) < 0)
				ss_cli_usage_error("invalid table '%s': %s",
						   optarg, err.msg);
			ss_publisher_add(&opt.tables, s.schema, s.table);
			ss_shape_release(&s);
			break;
		}
		case OPT_CREATE_SLOT:
			opt.create_slot = 1;
			break;
		case OPT_TAKE_OVER:
			opt.take_over = 1;
			break;
		case OPT_TEMPORARY:
			opt.temporary = 1;
			break;
		case OPT_DROP_SLOT:
			opt.drop_slot = 1;
			break;
		case OPT_START:
			opt.start = opt_lsn(optarg, "start");
			break;
		case OPT_ENDPOS:
			opt.endpos = opt_lsn(optarg, "endpos");
			opt.have_endpos = 1;
			break;
		case OPT_ACK:
			if (!strcmp(optarg, "registry"))
				opt.ack_received = 0;
			else if (!strcmp(optarg, "received"))
				opt.ack_received = 1;
			else
				ss_cli_usage_error("option '--ack' must be "
						   "'registry' or 'received', "
						   "not '%s'",
						   optarg);
			break;
		case 's':
			opt.status_ms = ss_cli_opt_int(optarg, 1, 3600,
						       "--status-interval") *
					1000;
			break;
		case OPT_NO_LOOP:
			opt.no_loop = 1;
			break;
		case OPT_IDLE_TIMEOUT:
			if (ss_envconf_time_ms("--idle-timeout", optarg, 1,
					       &opt.idle_ms, &err) < 0)
				ss_cli_usage_error("%s", err.msg);
			break;
		default:
			ss_cli_common_option(c, OPT_LIST_OPTIONS, usage,
					     options, argv);
		}
	}
	if (optind < argc)
		ss_cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!ss_pg_slot_name_valid(opt.slot))
		ss_cli_usage_error("invalid slot name '%s'", opt.slot);
	if (!*opt.pub || strlen(opt.pub) > SS_IDENT_MAX ||
	    !ss_utf8_valid(opt.pub, strlen(opt.pub)))
		ss_cli_usage_error("invalid publication name '%s'", opt.pub);
	if (opt.create_slot && opt.drop_slot)
		ss_cli_usage_error("--create-slot and --drop-slot exclude each "
				   "other");
	if (opt.temporary && opt.drop_slot)
		ss_cli_usage_error(
		    "--drop-slot has no slot to drop: a temporary "
		    "slot goes with its connection");
	if (opt.have_endpos && opt.start && opt.endpos < opt.start)
		ss_cli_usage_error("--endpos is before --start");
	if (opt.idle_ms && opt.temporary)
		ss_cli_usage_error("an idle timeout cannot be used with a "
				   "temporary slot: the slot would go with the "
				   "connection, and every shape with it");
}

/* ---- state ------------------------------------------------------------ */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct state {
	struct ss_registry *reg; /* NULL: no registry */
	struct ss_beat *beat;	 /* the heartbeat, with a registry */
	struct ss_pg *admin, *repl;
	struct ss_decode dec; /* pgoutput to frames, the positions */

	/* Tables to publish: --table, or the registry's. */
	struct ss_publisher publisher;
	struct ss_registry_cursor *cursor; /* follows the registry */

	ss_lsn durable;		     /* the registry's durable LSN */
	ss_lsn slot_confirmed;	     /* the slot's at connect time */
	ss_lsn sent_flush;	     /* last flush position reported */
	ss_lsn max_flush;	     /* the highest ever reported */
	int started;		     /* emitted was initialised */
	int64_t stream;		     /* the registry's stream, 0 if none */
	struct ss_buf stream_reason; /* why this session began a new one */

	int64_t status_us, next_status, next_poll;
	int64_t next_slot_wal; /* next look at the slot's WAL gauges */
	int64_t wal, retained, flush_lag; /* those gauges, -1 unknown */
	int64_t transactions, changes, reconnects;
	struct ss_lag_hist lag; /* receive lag of the commits written */
	int want_status;
	int done;		    /* endpos reached */
	int streamed;		    /* this session reached streaming */
	int asleep;		    /* the idle timeout closed the session */
	struct ss_stream_idle idle; /* --idle-timeout */
	int fatal;		    /* do not reconnect */
};

/* ---- output ------------------------------------------------------------ */

/* Write a frame (stolen). Standard output failing is not something
 * reconnecting can fix: the error is fatal. */
static int emit(struct state *st, json_t *frame, struct ss_err *err)
{
	int rc = ss_decode_emit(&st->dec, frame, err);

	if (rc < 0)
		st->fatal = 1;
	return rc;
}

/* After the decoder wrote: flush what it asks, look at new partitions. */
static void decoded(struct state *st)
{
	if (st->dec.flush) {
		st->dec.flush = 0;
		ss_cli_flush_stdout();
	}
	if (st->dec.new_partition) {
		st->dec.new_partition = 0;
		ss_publisher_partitions_soon(&st->publisher);
	}
	if (st->dec.fatal)
		st->fatal = 1;
	if (st->dec.done)
		st->done = 1;
}

/* One pgoutput message. */
static int handle_xlog(struct state *st, const char *data, size_t len,
		       struct ss_err *err)
{
	int rc = ss_decode_xlog(&st->dec, data, len, err);

	decoded(st);
	return rc;
}

/* A keepalive; the server may ask for a status update now. */
static int handle_keepalive(struct state *st, const struct ss_pg_copymsg *k)
{
	if (k->reply)
		st->want_status = 1;
	ss_decode_keepalive(&st->dec, k->wal_end);
	decoded(st);
	return 0;
}

/*
 * Between transactions, once what was written out is durable (or before
 * anything was), a progress frame moves the stream past WAL that held
 * nothing for us, so that store can record it and the slot can be
 * acknowledged past it. Called on the 100 ms tick and before stopping,
 * not per keepalive, which a busy server sends back to back.
 */
static int progress(struct state *st, struct ss_err *err)
{
	int r =
	    ss_decode_progress(&st->dec, st->durable, opt.ack_received, err);

	decoded(st);
	if (r > 0)
		st->want_status = 1;
	return r < 0 ? -1 : 0;
}

/* ---- registry and publication -------------------------------------- */

static void publish_warn(const char *msg, const char *hint, void *ctx)
{
	(void)ctx;
	ss_cli_log(SS_LOG_WARNING, NULL, hint, "%s", msg);
}

/* A shape registered (or listed by the cursor's first poll): its table
 * joins the publication. */
static int on_shape(int64_t id, const char *handle,
		    const struct ss_shape_rec *rec, void *ctx,
		    struct ss_err *err)
{
	struct state *st = ctx;

	(void)id, (void)handle, (void)err;
	if (rec->schema_name && rec->table_name)
		ss_publisher_add(&st->publisher, rec->schema_name,
				 rec->table_name);
	return 0;
}

/* What the slot may be acknowledged up to: the durable LSN (or, with
 * --ack=received, what was written out), never past what was written
 * out, never behind where the slot already stands. */
static ss_lsn ack_target(const struct state *st)
{
	return ss_stream_ack_target(st->durable, st->dec.emitted,
				    st->slot_confirmed, st->max_flush,
				    opt.ack_received);
}

static int send_status(struct state *st, int reply, struct ss_err *err)
{
	ss_lsn flush = ack_target(st);
	ss_lsn write = st->dec.received > flush ? st->dec.received : flush;

	if (ss_pg_send_status(st->repl, write, flush, reply, err) < 0)
		return -1;
	st->sent_flush = flush;
	if (flush > st->max_flush)
		st->max_flush = flush;
	st->want_status = 0;
	st->next_status = ss_mono_us() + st->status_us;
	return 0;
}

/* What the heartbeat says besides the state (written by its thread). */
static void beat_publish(struct state *st)
{
	struct ss_heartbeat *hb;

	if (!st->beat)
		return;
	hb = ss_beat_hold(st->beat);
	hb->received_lsn = st->dec.received;
	hb->flushed_lsn = st->max_flush;
	hb->wal_lsn = st->wal;
	hb->retained_wal = st->retained;
	hb->flush_lag = st->flush_lag;
	hb->counters[0] = st->dec.transactions;
	hb->counters[1] = st->dec.changes;
	hb->counters[2] = st->reconnects;
	hb->lag = st->dec.lag;
	ss_beat_release(st->beat);
}

/* Once a second: how much WAL the slot holds back, for the heartbeat. A
 * server that cannot say is not an error; a lost connection is. */
static int slot_wal(struct state *st, struct ss_err *err)
{
	int64_t now = ss_mono_us();

	if (!st->beat || now < st->next_slot_wal)
		return 0;
	st->next_slot_wal = now + 1000000;
	if (ss_pg_slot_wal(st->admin, opt.slot, &st->wal, &st->retained,
			   &st->flush_lag, err) < 0) {
		st->wal = st->retained = st->flush_lag = -1;
		if (PQstatus(ss_pg_conn(st->admin)) != CONNECTION_OK)
			return -1;
		ss_err_clear(err);
	}
	return 0;
}

/* The 100 ms tick: registry changes (durable LSN, new shapes). */
static int poll_registry(struct state *st, struct ss_err *err)
{
	int rc;

	if (st->reg) {
		/* With --table the cursor only watches for commits. */
		rc = ss_registry_cursor_poll(st->cursor, 0, err);
		if (rc < 0)
			goto fatal;
		if (rc != SS_REGISTRY_CURSOR_SAME) {
			uint64_t d;

			if (ss_registry_get_durable_lsn(st->reg, &d, err) < 0)
				goto fatal;
			st->durable = d;
		}
	}
	/* Failures other than a lost connection are warnings, retried. */
	if (!opt.manual_publishing &&
	    ss_publisher_tick(&st->publisher, st->admin, st->reg, ss_mono_us(),
			      err) < 0)
		return -1;
	if (ack_target(st) != st->sent_flush)
		st->want_status = 1;
	return 0;
fatal:
	st->fatal = 1;
	return -1;
}

/* ---- decoding ------------------------------------------------------- */

/* ---- the session ---------------------------------------------------- */

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* 1 if a shape was read or created since the last look (the registry's
 * latest use moved: see ss_stream_idle), 0 if not, -1 with err. */
static int shape_used(struct state *st, int64_t now, struct ss_err *err)
{
	int64_t use;

	if (ss_registry_last_use(st->reg, &use, err) < 0)
		return -1;
	return ss_stream_idle_use(&st->idle, use, now, ss_now_us());
}

/* --idle-timeout: with everything written out, end the session asleep. */
static int idle_check(struct state *st, int64_t now, struct ss_err *err)
{
	int used;

	if (!st->reg || !ss_stream_idle_due(&st->idle, now))
		return 0;
	used = shape_used(st, now, err);
	if (used < 0) {
		st->fatal = 1;
		return -1;
	}
	if (used && !ss_stream_idle_due(&st->idle, now))
		return 0;
	if (st->dec.in_txn || st->dec.skip_txn ||
	    st->dec.received > st->dec.emitted)
		return 0;
	st->asleep = 1;
	return 0;
}

/* Asleep: no connection to PostgreSQL until a shape is read or created
 * (the registry says), or a stop. Returns -1 on a registry error. */
static int idle_sleep(struct state *st, struct ss_err *err)
{
	int i, used;

	ss_cli_info("no transaction and no shape read for %" PRId64 " ms: "
		    "closed the connections to PostgreSQL until the next read "
		    "(--idle-timeout)",
		    opt.idle_ms);
	if (st->beat) {
		ss_beat_state(st->beat, "sleeping", "idle timeout");
		beat_publish(st);
	}
	while (!stop_requested) {
		for (i = 0; i < 10 && !stop_requested; i++)
			sleep_ms(100);
		used = shape_used(st, ss_mono_us(), err);
		if (used < 0)
			return -1;
		if (used) {
			ss_cli_info(
			    "a shape was read or created: reconnecting");
			break;
		}
		beat_publish(st);
	}
	st->asleep = 0;
	if (st->beat)
		ss_beat_state(st->beat, "connecting", NULL);
	return 0;
}

static int stream(struct state *st, struct ss_err *err)
{
	for (;;) {
		int64_t now = ss_mono_us(), wait;
		struct ss_pg_copymsg cm;
		struct pollfd pfd;
		char *buf;
		size_t len;
		int r;

		if (stop_requested || st->done) {
			/* Best effort: the slot is safe either way. */
			struct ss_err ignore = SS_ERR_INIT;

			if (progress(st, err) < 0)
				return -1;
			send_status(st, 0, &ignore);
			ss_pg_copy_end(st->repl, 1000);
			return 0;
		}
		if (now >= st->next_poll) {
			if (poll_registry(st, err) < 0 ||
			    progress(st, err) < 0 || slot_wal(st, err) < 0 ||
			    idle_check(st, now, err) < 0)
				return -1;
			beat_publish(st);
			st->next_poll = now + POLL_US;
			if (st->asleep) {
				struct ss_err ignore = SS_ERR_INIT;

				send_status(st, 0, &ignore);
				ss_pg_copy_end(st->repl, 1000);
				return 0;
			}
		}
		if (st->want_status || now >= st->next_status)
			if (send_status(st, 0, err) < 0)
				return -1;
		r = ss_pg_copy_read(st->repl, &buf, &len, err);
		if (r < 0)
			return -1;
		if (r == 0) {
			ss_cli_flush_stdout();
			wait = (st->next_poll < st->next_status
				    ? st->next_poll
				    : st->next_status) -
			       now;
			pfd.fd = ss_pg_socket(st->repl);
			pfd.events = POLLIN;
			pfd.revents = 0;
			r = poll(&pfd, 1,
				 wait > 0 ? (int)(wait / 1000) + 1 : 0);
			if (r < 0 && errno != EINTR) {
				ss_err_set(err, SS_ERR_RUNTIME,
					   "could not wait for the server: %s",
					   strerror(errno));
				return -1;
			}
			if (r > 0 && ss_pg_consume(st->repl, err) < 0)
				return -1;
			continue;
		}
		if (ss_pg_copymsg_parse(buf, len, &cm, err) < 0)
			r = -1;
		else if (cm.kind == 'k')
			r = handle_keepalive(st, &cm);
		else {
			st->idle.active_us = now;
			r = handle_xlog(st, cm.data, cm.len, err);
		}
		PQfreemem(buf);
		if (r < 0) {
			if (err->code != SS_ERR_RUNTIME)
				st->fatal = 1;
			return -1;
		}
	}
}

static void slot_notice(const char *msg, void *ctx)
{
	(void)ctx;
	ss_cli_warning("%s", msg);
}

static void slot_wait(int64_t seconds, const char *what, void *ctx)
{
	(void)ctx;
	ss_cli_warning("creating replication slot '%s' has waited %" PRId64
		       " s for transactions to end: %s",
		       opt.slot, seconds, what);
}

/*
 * Is this session's stream the one the shape logs were built from (see
 * lib/stream.h)? If not, a new stream began in the registry, which
 * invalidated every shape: start over from the slot's position as if
 * nothing had been written before. `created`, `lost`: what happened to the
 * slot; `confirmed`: its position now.
 */
static int check_stream(struct state *st, int created, int lost,
			ss_lsn confirmed, struct ss_err *err)
{
	int64_t invalidated = 0;
	int v;

	ss_buf_reset(&st->stream_reason);
	if (!st->reg)
		return 0;
	v = ss_stream_check(st->reg, st->repl, st->admin, opt.slot, created,
			    lost, confirmed, &st->stream, &st->stream_reason,
			    &invalidated, &st->fatal, err);
	if (v < 0)
		return -1;
	if (v != SS_STREAM_NEW)
		return 0;
	ss_cli_warning("%s", st->stream_reason.buf);
	ss_cli_warning("began stream %" PRId64 ": %" PRId64 " shape%s "
		       "invalidated, their clients must refetch",
		       st->stream, invalidated, invalidated == 1 ? "" : "s");
	/* Nothing written before belongs to the new stream. */
	st->started = 0;
	ss_decode_restart(&st->dec);
	st->max_flush = 0;
	st->sent_flush = 0;
	st->durable = confirmed;
	return 0;
}

static void disconnect(struct state *st)
{
	ss_pg_close(st->repl);
	ss_pg_close(st->admin);
	st->repl = st->admin = NULL;
	ss_decode_disconnected(&st->dec);
}

/* Connect, set up, stream. Returns 0 when done (an action, endpos or a
 * stop), -1 with err otherwise (st->fatal: do not retry). */
static int session(struct state *st, struct ss_err *err)
{
	struct ss_slot s = {.conninfo = opt.conninfo,
			    .appname = APPNAME,
			    .pub = opt.pub,
			    .temporary = opt.temporary,
			    .take_over = opt.take_over,
			    .notice = slot_notice,
			    .wait = slot_wait};
	ss_lsn confirmed;
	int64_t timeout_ms;

	if (opt.temporary) {
		/* A new one each session: the last went with its connection. */
		static char name[SS_ENVCONF_NAME_MAX];

		if (ss_envconf_random_slot(name, err) < 0)
			return -1;
		opt.slot = name;
	}
	s.slot = opt.slot;
	if (ss_pg_open(opt.conninfo, 0, APPNAME, &st->admin, err) < 0)
		return -1;
	if (ss_slot_lock(&s, st->admin, err) < 0) {
		st->fatal = s.fatal;
		return -1;
	}
	if (opt.drop_slot) {
		if (ss_pg_slot_drop(st->admin, opt.slot, err) < 0) {
			st->fatal = 1;
			return -1;
		}
		return 0;
	}
	if (ss_slot_lookup(&s, st->admin, err) < 0)
		return -1;
	if (opt.temporary && opt.create_slot)
		return 0; /* the streaming session makes its own */
	if (ss_slot_ready(&s, st->admin, &st->repl, err) < 0) {
		st->fatal = s.fatal;
		return -1;
	}
	confirmed = s.confirmed;
	if (check_stream(st, s.created, s.lost, confirmed, err) < 0)
		return -1;
	/* Tables first: pgoutput decides what to send as of the WAL it
	 * decodes, so a table joins the stream when it joins the
	 * publication. */
	ss_registry_cursor_invalidate(
	    st->cursor); /* read the registry at once */
	if (poll_registry(st, err) < 0)
		return -1;
	if (opt.create_slot)
		return 0;

	st->dec.catalog = st->admin;
	if (ss_pg_wal_sender_timeout(st->admin, &timeout_ms, err) < 0 ||
	    ss_pg_next_xid(st->admin, &st->dec.xid_ref, err) < 0 ||
	    ss_decode_load_types(&st->dec, err) < 0)
		return -1;
	st->status_us = opt.status_ms * 1000;
	if (timeout_ms > 0 && timeout_ms * 1000 / 3 < st->status_us)
		st->status_us = timeout_ms * 1000 / 3;
	st->slot_confirmed = confirmed;
	if (!st->started) {
		st->dec.emitted = confirmed > opt.start ? confirmed : opt.start;
		st->started = 1;
	}
	if (ss_pg_start_replication(st->repl, opt.slot, opt.pub,
				    st->dec.emitted, err) < 0)
		return -1;
	/* Which stream the frames are of, before any of them, and at once:
	 * route holds new shapes back until it sees a new stream begin. */
	if (st->stream > 0) {
		if (emit(st,
			 ss_frame_new_stream(st->stream, st->dec.emitted,
					     st->stream_reason.len
						 ? st->stream_reason.buf
						 : NULL),
			 err) < 0)
			return -1;
		ss_cli_flush_stdout();
	}
	st->streamed = 1;
	if (st->beat)
		ss_beat_state(st->beat, "streaming", NULL);
	st->next_poll = ss_mono_us() + POLL_US;
	st->idle.active_us = ss_mono_us();
	st->want_status = 1;
	return stream(st, err);
}

static void open_registry(struct state *st)
{
	struct ss_registry_opts ro;
	struct ss_err err = SS_ERR_INIT;

	ss_registry_opts_init(&ro);
	ro.id_block = 1;
	if (ss_registry_open_existing(opt.registry, &ro, &st->reg, &err) < 0)
		ss_cli_die_err(&err);
	/* Without --table, the tables of the registry's shapes. */
	{
		static const struct ss_registry_cursor_ops ops = {on_shape,
								  NULL, NULL};

		st->cursor =
		    ss_registry_cursor_new(st->reg, SS_REGISTRY_CURSOR_RECORDS,
					   opt.tables.n ? NULL : &ops, st);
	}
}

int main(int argc, char **argv)
{
	static struct state st = {.stream_reason = SS_BUF_INIT};
	static char outbuf[1 << 16];
	struct sigaction sa;
	struct ss_err err = SS_ERR_INIT;
	int64_t backoff_s = 1;
	size_t i;

	ss_cli_init(APPNAME);
	parse_options(argc, argv);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* The registry gives the durable LSN and, without --table, the
	 * tables; dropping the slot needs neither. */
	if (!opt.drop_slot &&
	    (!opt.ack_received || !opt.tables.n || opt.registry_given))
		open_registry(&st);
	if (opt.idle_ms && !st.reg && !opt.drop_slot && !opt.create_slot)
		ss_cli_usage_error("--idle-timeout needs the registry: a shape "
				   "read there is what wakes replicate");
	st.wal = st.retained = st.flush_lag = -1;
	st.idle.timeout_us = opt.idle_ms * 1000;
	/* A session that only creates the slot is not the pipeline's. */
	if (st.reg && !opt.create_slot) {
		if (ss_beat_start(st.reg, "replicate", 1000, &st.beat, &err) <
		    0)
			ss_cli_die_err(&err);
		ss_beat_state(st.beat, "connecting", NULL);
	}
	ss_decode_init(&st.dec);
	st.dec.out = stdout;
	st.dec.out_name = "<stdout>";
	st.dec.have_endpos = opt.have_endpos;
	st.dec.endpos = opt.endpos;
	ss_publisher_init(&st.publisher);
	st.publisher.pub = opt.pub;
	st.publisher.retry_us = RETRY_PUBLISH_US;
	st.publisher.partitions_us = PARTITIONS_US;
	st.publisher.warn = publish_warn;
	for (i = 0; i < opt.tables.n; i++)
		ss_publisher_add(&st.publisher, opt.tables.tables[i].schema,
				 opt.tables.tables[i].name);
	/* Frames go out in large writes; commits flush. (glibc ignores the
	 * size when it is to allocate the buffer itself.) */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	for (;;) {
		int rc;

		ss_err_clear(&err);
		st.streamed = 0;
		rc = session(&st, &err);
		disconnect(&st);
		if (rc == 0 && st.asleep && !stop_requested) {
			if (idle_sleep(&st, &err) < 0) {
				ss_beat_stop(st.beat, "stopped");
				ss_cli_die_err(&err);
			}
			backoff_s = 1;
			continue;
		}
		if (rc == 0 || stop_requested)
			break;
		if (st.beat) {
			ss_beat_state(st.beat, "error", err.msg);
			beat_publish(&st);
		}
		if (st.fatal || opt.no_loop || opt.create_slot ||
		    opt.drop_slot) {
			ss_beat_stop(st.beat, "stopped");
			ss_cli_die_err(&err);
		}
		ss_cli_report(&err);
		st.reconnects++;
		if (st.streamed)
			backoff_s = 1; /* it worked for a while: start over */
		ss_cli_warning("reconnecting in %" PRId64 " s", backoff_s);
		for (i = 0; i < (size_t)backoff_s * 10 && !stop_requested; i++)
			sleep_ms(100);
		if (stop_requested)
			break;
		if (backoff_s < BACKOFF_MAX_S)
			backoff_s *= 2;
	}
	if (opt.cleanup_slot && !opt.temporary && !opt.create_slot &&
	    !opt.drop_slot) {
		/* An orderly stop: the slot goes, and the next start begins a
		 * new replication stream (every shape is removed then). */
		ss_err_clear(&err);
		if (ss_slot_drop_now(opt.conninfo, APPNAME, opt.slot, &err) < 0)
			ss_cli_log(SS_LOG_WARNING, err.detail, err.hint, "%s",
				   err.msg);
		else
			ss_cli_info("dropped slot '%s' "
				    "($CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN)",
				    opt.slot);
	}
	beat_publish(&st);
	ss_beat_stop(st.beat, "stopped");
	ss_decode_release(&st.dec);
	ss_buf_release(&st.stream_reason);
	ss_publisher_release(&st.publisher);
	ss_publisher_release(&opt.tables);
	ss_registry_cursor_free(st.cursor);
	if (st.reg && ss_registry_close(st.reg, &err) < 0)
		ss_cli_die_err(&err);
	ss_cli_close_stdout();
	return 0;
}
