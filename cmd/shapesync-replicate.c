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

#include "cli.h"
#include "envconf.h"
#include "frame.h"
#include "pg.h"
#include "pgoutput.h"
#include "health.h"
#include "registry.h"
#include "shape.h"

#define APPNAME "shapesync-replicate"
#define DEFAULT_REGISTRY "./var/registry.db"
#define DEFAULT_NAME "shapesync"
#define POLL_US 100000              /* registry and ack check interval */
#define RETRY_PUBLISH_US 5000000    /* retry a table that failed */
#define PARTITIONS_US 1000000       /* look for partitions without
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
	{ "db", required_argument, NULL, 'd' },
	{ "slot", required_argument, NULL, 'S' },
	{ "publication", required_argument, NULL, OPT_PUBLICATION },
	{ "registry", required_argument, NULL, OPT_REGISTRY },
	{ "table", required_argument, NULL, 't' },
	{ "create-slot", no_argument, NULL, OPT_CREATE_SLOT },
	{ "drop-slot", no_argument, NULL, OPT_DROP_SLOT },
	{ "start", required_argument, NULL, OPT_START },
	{ "endpos", required_argument, NULL, OPT_ENDPOS },
	{ "ack", required_argument, NULL, OPT_ACK },
	{ "status-interval", required_argument, NULL, 's' },
	{ "no-loop", no_argument, NULL, OPT_NO_LOOP },
	{ "take-over-slot", no_argument, NULL, OPT_TAKE_OVER },
	{ "temporary-slot", no_argument, NULL, OPT_TEMPORARY },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	SS_CLI_LOG_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "list-options", no_argument, NULL, OPT_LIST_OPTIONS },
	{ NULL, 0, NULL, 0 }
};

static void usage(void)
{
	printf("Usage: shapesync-replicate [OPTION]...\n"
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
	       "  -S, --slot NAME           replication slot (default: "
	       DEFAULT_NAME ")\n"
	       "      --publication NAME    publication (default: "
	       DEFAULT_NAME ")\n"
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

struct table {
	char *schema, *name;
	int done;                   /* in the publication, identity full */
	int warned;
	int64_t retry_us;           /* when to try again after a failure */
};

static struct {
	const char *conninfo;
	const char *slot, *pub;
	const char *registry;
	int registry_given;
	struct table *tables;
	size_t ntables, tables_alloc;
	int create_slot, drop_slot, no_loop, ack_received, take_over;
	int cleanup_slot, manual_publishing;  /* Electric's settings */
	int temporary;                        /* a temporary, random slot */
	ss_lsn start, endpos;
	int have_endpos;
	int64_t status_ms;
	int64_t idle_ms;                      /* 0: never sleep */
} opt;

static ss_lsn opt_lsn(const char *arg, const char *name)
{
	struct ss_err err = SS_ERR_INIT;
	ss_lsn v;

	if (ss_lsn_parse(arg, &v, &err) < 0)
		ss_cli_usage_error("option '--%s': %s", name, err.msg);
	return v;
}

static void add_table(struct table **tables, size_t *n, size_t *alloc,
		      const char *schema, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*tables)[i].schema, schema) &&
		    !strcmp((*tables)[i].name, name))
			return;
	ss_grow((void **)tables, alloc, *n + 1, sizeof(**tables));
	memset(&(*tables)[*n], 0, sizeof(**tables));
	(*tables)[*n].schema = ss_xstrdup(schema);
	(*tables)[*n].name = ss_xstrdup(name);
	(*n)++;
}

static void free_tables(struct table *tables, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(tables[i].schema);
		free(tables[i].name);
	}
	free(tables);
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
		if (ss_envconf_stream_names("ELECTRIC_REPLICATION_STREAM_ID", v, slot,
					    pub, &err) < 0)
			ss_cli_usage_error("%s", err.msg);
		opt.slot = slot;
		opt.pub = pub;
	}
	opt.cleanup_slot = env_bool("CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN");
	opt.temporary = env_bool("ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME");
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
	while ((c = getopt_long(argc, argv, ":d:S:t:s:hV", options,
				NULL)) != -1) {
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
			add_table(&opt.tables, &opt.ntables,
				  &opt.tables_alloc, s.schema, s.table);
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
						   "not '%s'", optarg);
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
			ss_cli_common_option(c, OPT_LIST_OPTIONS, usage, options, argv);
		}
	}
	if (optind < argc)
		ss_cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!ss_pg_slot_name_valid(opt.slot))
		ss_cli_usage_error("invalid slot name '%s'", opt.slot);
	if (!*opt.pub || strlen(opt.pub) > SS_IDENT_MAX ||
	    !ss_shape_utf8_valid(opt.pub, strlen(opt.pub)))
		ss_cli_usage_error("invalid publication name '%s'", opt.pub);
	if (opt.create_slot && opt.drop_slot)
		ss_cli_usage_error("--create-slot and --drop-slot exclude each "
				   "other");
	if (opt.temporary && opt.drop_slot)
		ss_cli_usage_error("--drop-slot has no slot to drop: a temporary "
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
	struct ss_registry *reg;     /* NULL: no registry */
	struct ss_beat *beat;        /* the heartbeat, with a registry */
	struct ss_pgo_cache *cache;
	struct ss_pg *admin, *repl;
	struct ss_pgo_msg msg;
	struct ss_frame_col *newc, *oldc; /* change rows, reused */
	size_t newc_alloc, oldc_alloc;
	struct ss_buf line;               /* the change frame being built */

	/* Tables to publish: --table, or the registry's. */
	struct table *tables;
	size_t ntables, tables_alloc;
	int reg_loaded;
	uint64_t reg_seq;
	int64_t reg_version;
	int64_t *added;              /* ids from the change log */
	size_t nadded, added_alloc;
	int64_t next_partitions;     /* next look at partitions' identity */
	int partitions_warned;

	/* The last relation frame written for each oid (compact JSON), so
	 * that one is written again only when it changes. */
	struct relsent {
		uint32_t oid;
		char *json;
	} *relsent;
	size_t nrelsent, relsent_alloc;

	ss_lsn durable;              /* the registry's durable LSN */
	ss_lsn emitted;              /* everything before is written out */
	ss_lsn written;              /* the last commit end or progress
					written, 0 if none yet */
	ss_lsn received;             /* the server's position we saw */
	ss_lsn slot_confirmed;       /* the slot's at connect time */
	ss_lsn sent_flush;           /* last flush position reported */
	ss_lsn max_flush;            /* the highest ever reported */
	int started;                 /* emitted was initialised */
	int64_t stream;              /* the registry's stream, 0 if none */
	struct ss_buf stream_reason; /* why this session began a new one */
	uint64_t xid_ref;

	/* The open transaction, as written out. */
	int in_txn;
	uint64_t xid;
	ss_lsn txn_lsn;
	uint64_t pos;                /* next change's pos */
	uint64_t skip_below;         /* resumed: pos already written */
	int resuming;                /* reconnected inside in_txn */
	int skip_txn;                /* a transaction already written */

	int64_t status_us, next_status, next_poll;
	int64_t next_slot_wal;       /* next look at the slot's WAL gauges */
	int64_t wal, retained, flush_lag; /* those gauges, -1 unknown */
	int64_t transactions, changes, reconnects;
	struct ss_lag_hist lag;      /* receive lag of the commits written */
	int want_status;
	int done;                    /* endpos reached */
	int streamed;                /* this session reached streaming */
	int asleep;                  /* the idle timeout closed the session */
	int64_t last_use;            /* registry: latest shape read or
					creation seen (wall clock, us) */
	int64_t active_us;           /* when a transaction or a shape use
					was last seen (monotonic) */
	int fatal;                   /* do not reconnect */
};

/* ---- output ------------------------------------------------------------ */

/* Write a frame. Standard output failing is not something reconnecting
 * can fix: the error is fatal. */
static int emit(struct state *st, json_t *frame, struct ss_err *err)
{
	int rc = ss_frame_write(stdout, "<stdout>", frame, err);

	json_decref(frame);
	if (rc < 0)
		st->fatal = 1;
	return rc;
}

/* ---- registry and publication -------------------------------------- */

static int on_shape(const struct ss_shape_rec *rec, void *ctx)
{
	struct state *st = ctx;

	if (rec->schema_name && rec->table_name)
		add_table(&st->tables, &st->ntables, &st->tables_alloc,
			  rec->schema_name, rec->table_name);
	return 0;
}

static int on_handle(uint64_t seq, int64_t id, const char *handle,
		     int added, void *ctx)
{
	(void)seq, (void)id, (void)handle, (void)added, (void)ctx;
	return 0;
}

static int on_change(uint64_t seq, int64_t id, const char *handle,
		     int added, void *ctx)
{
	struct state *st = ctx;

	(void)seq, (void)handle;
	if (added) {
		SS_GROW(st->added, st->added_alloc, st->nadded + 1);
		st->added[st->nadded++] = id;
	}
	return 0;
}

/* Pick up the tables of shapes registered since the last look. */
static int registry_tables(struct state *st, struct ss_err *err)
{
	uint64_t last = 0;
	size_t i;
	int r;

	if (st->reg_loaded) {
		st->nadded = 0;
		r = ss_registry_changes(st->reg, st->reg_seq, on_change, st,
					&last, err);
		if (r < 0)
			return -1;
		if (r == 0) {
			st->reg_seq = last;
			for (i = 0; i < st->nadded; i++) {
				struct ss_shape_rec rec;

				ss_shape_rec_init(&rec);
				r = ss_registry_get_by_id(st->reg, st->added[i],
							  &rec, err);
				if (r < 0)
					return -1;
				if (r > 0)
					on_shape(&rec, st);
				ss_shape_rec_release(&rec);
			}
			return 0;
		}
		/* The change log was trimmed past us: load in full. */
	}
	/* The position first, then the listing: a shape added in between
	 * is seen twice, never missed. */
	if (ss_registry_load_handles(st->reg, on_handle, NULL, &last,
				     err) < 0 ||
	    ss_registry_foreach(st->reg, on_shape, st, err) < 0)
		return -1;
	st->reg_seq = last;
	st->reg_loaded = 1;
	return 0;
}

/* Add pending tables to the publication. Failures other than a lost
 * connection are warnings: the table is retried later. */
static int publish_tables(struct state *st, struct ss_err *err)
{
	int64_t now = ss_mono_us();
	size_t i;

	for (i = 0; i < st->ntables; i++) {
		struct table *t = &st->tables[i];
		struct ss_err e = SS_ERR_INIT;

		if (t->done || now < t->retry_us)
			continue;
		if (ss_pg_publication_add_table(st->admin, opt.pub, t->schema,
						t->name, NULL, &e) == 0) {
			t->done = 1;
			continue;
		}
		if (PQstatus(ss_pg_conn(st->admin)) != CONNECTION_OK) {
			*err = e;
			return -1;
		}
		if (!t->warned) {
			ss_cli_log(SS_LOG_WARNING, NULL, e.hint,
				   "could not publish table \"%s\".\"%s\": %s",
				   t->schema, t->name, e.msg);
			t->warned = 1;
		}
		t->retry_us = now + RETRY_PUBLISH_US;
	}
	return 0;
}

/*
 * Partitions attached to or created under a published partitioned table
 * are published at once but keep the default replica identity: give them
 * REPLICA IDENTITY FULL (shapes need whole old rows), once a second, or
 * at the next tick after a relation message showed one without it.
 * Failures other than a lost connection are warnings, retried.
 */
struct pset_ctx {
	struct state *st;
	struct ss_err *err;
};

/* One partitioned table's leaves now: if they changed in a way the WAL
 * does not show, the shapes on it are invalidated (their clients refetch
 * a snapshot that has the rows as they are now). */
static int on_partition_set(uint32_t oid, const char *schema, const char *name,
			    const char *leaves, void *p)
{
	struct pset_ctx *c = p;
	struct state *st = c->st;
	struct ss_buf before = SS_BUF_INIT, why = SS_BUF_INIT;
	int found, spoils = 0, rc = -1;
	int64_t n = 0;

	if (ss_registry_partitions_get(st->reg, oid, &before, &found, c->err) < 0)
		goto out;
	if (found && !strcmp(before.buf, leaves)) {
		rc = 0;
		goto out;
	}
	if (found && (ss_pg_partitions_changed(st->admin, before.buf, leaves,
					       &spoils, &why, c->err) < 0 ||
		      (spoils && ss_registry_remove_table(st->reg, schema, name,
							  &n, c->err) < 0)))
		goto out;
	if (n)
		ss_cli_warning("the partitions of \"%s\".\"%s\" changed (%s): "
			       "%" PRId64 " shape%s on it invalidated, their "
			       "clients must refetch", schema, name, why.buf, n,
			       n == 1 ? "" : "s");
	rc = ss_registry_partitions_set(st->reg, oid, leaves, c->err);
out:
	ss_buf_release(&before);
	ss_buf_release(&why);
	return rc;
}

static int partitions_full(struct state *st, struct ss_err *err)
{
	struct ss_err warn = SS_ERR_INIT;
	int64_t now = ss_mono_us();
	int changed = 0, failed = 0;

	if (now < st->next_partitions)
		return 0;
	st->next_partitions = now + PARTITIONS_US;
	if (ss_pg_partitions_full(st->admin, opt.pub, &changed, &failed,
				  &warn, err) < 0)
		return PQstatus(ss_pg_conn(st->admin)) != CONNECTION_OK ? -1 : 0;
	if (st->reg) {
		struct pset_ctx c = { st, err };

		if (ss_pg_partition_sets(st->admin, opt.pub, on_partition_set, &c,
					 err) < 0)
			return PQstatus(ss_pg_conn(st->admin)) != CONNECTION_OK ?
				-1 : 0;
	}
	if (failed && !st->partitions_warned) {
		ss_cli_warning("could not set REPLICA IDENTITY FULL on %d "
			       "partition%s: %s", failed, failed == 1 ? "" : "s",
			       warn.msg);
		st->partitions_warned = 1;
	}
	if (!failed)
		st->partitions_warned = 0;
	return 0;
}

/* What the slot may be acknowledged up to: the durable LSN (or, with
 * --ack=received, what was written out), never past what was written
 * out, never behind where the slot already stands. */
static ss_lsn ack_target(const struct state *st)
{
	ss_lsn a = opt.ack_received ? st->emitted : st->durable;

	if (a > st->emitted)
		a = st->emitted;
	if (a < st->slot_confirmed)
		a = st->slot_confirmed;
	if (a < st->max_flush)
		a = st->max_flush;
	return a;
}

static int send_status(struct state *st, int reply, struct ss_err *err)
{
	ss_lsn flush = ack_target(st);
	ss_lsn write = st->received > flush ? st->received : flush;

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
	hb->received_lsn = st->received;
	hb->flushed_lsn = st->max_flush;
	hb->wal_lsn = st->wal;
	hb->retained_wal = st->retained;
	hb->flush_lag = st->flush_lag;
	hb->counters[0] = st->transactions;
	hb->counters[1] = st->changes;
	hb->counters[2] = st->reconnects;
	hb->lag = st->lag;
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
	int64_t version;

	if (st->reg) {
		if (ss_registry_data_version(st->reg, &version, err) < 0)
			goto fatal;
		if (version != st->reg_version) {
			uint64_t d;

			st->reg_version = version;
			if (ss_registry_get_durable_lsn(st->reg, &d, err) < 0)
				goto fatal;
			st->durable = d;
			if (!opt.ntables && registry_tables(st, err) < 0)
				goto fatal;
		}
	}
	if (!opt.manual_publishing &&
	    (publish_tables(st, err) < 0 || partitions_full(st, err) < 0))
		return -1;
	if (ack_target(st) != st->sent_flush)
		st->want_status = 1;
	return 0;
fatal:
	st->fatal = 1;
	return -1;
}

/* ---- decoding ------------------------------------------------------- */

static const char *type_name(struct state *st, uint32_t oid,
			     struct ss_err *err)
{
	const char *name = ss_pgo_cache_type(st->cache, oid);
	char buf[16];
	const char *params[1] = { buf };
	PGresult *r;

	if (name)
		return name;
	/* pgoutput names only non-built-in types; built-ins were loaded at
	 * connect time, so this is a type created since. */
	snprintf(buf, sizeof(buf), "%" PRIu32, oid);
	if (ss_pg_exec(st->admin, "could not look up a type",
		       "SELECT typname FROM pg_type WHERE oid = $1::oid", 1,
		       params, &r, NULL, err) < 0)
		return NULL;
	if (PQntuples(r) == 1)
		ss_pgo_cache_put_type(st->cache, oid, PQgetvalue(r, 0, 0));
	else
		ss_pgo_cache_put_type(st->cache, oid, buf);
	PQclear(r);
	return ss_pgo_cache_type(st->cache, oid);
}

static int load_types(struct state *st, struct ss_err *err)
{
	PGresult *r;
	int i, n;
	uint64_t oid;

	if (ss_pgo_cache_ntypes(st->cache) > 0)
		return 0;
	if (ss_pg_exec(st->admin, "could not load the built-in types",
		       "SELECT oid, typname FROM pg_type WHERE oid < 16384",
		       0, NULL, &r, NULL, err) < 0)
		return -1;
	n = PQntuples(r);
	for (i = 0; i < n; i++)
		if (ss_parse_u64(PQgetvalue(r, i, 0), UINT32_MAX, &oid,
				 "type oid", NULL) == 0)
			ss_pgo_cache_put_type(st->cache, (uint32_t)oid,
					      PQgetvalue(r, i, 1));
	PQclear(r);
	return 0;
}

/* The primary key's columns and their positions in it (*new* result,
 * PQclear), looked up now: under REPLICA IDENTITY FULL pgoutput flags
 * every column as key. */
static PGresult *primary_key(struct state *st, uint32_t oid,
			     struct ss_err *err)
{
	char buf[16];
	const char *params[1] = { buf };
	PGresult *r;

	snprintf(buf, sizeof(buf), "%" PRIu32, oid);
	if (ss_pg_exec(st->admin, "could not look up a primary key",
		       "SELECT a.attname, array_position(i.indkey::int2[], "
		       "a.attnum) - array_lower(i.indkey::int2[], 1) "
		       "FROM pg_index i JOIN pg_attribute a "
		       "ON a.attrelid = i.indrelid AND a.attnum = ANY "
		       "(i.indkey) WHERE i.indrelid = $1::oid AND "
		       "i.indisprimary", 1, params, &r, NULL, err) < 0)
		return NULL;
	return r;
}

/* The column's position in the primary key, or -1. */
static int key_index(PGresult *r, const char *name)
{
	int64_t v;
	int i;

	for (i = 0; i < PQntuples(r); i++)
		if (!strcmp(PQgetvalue(r, i, 0), name) &&
		    ss_parse_i64(PQgetvalue(r, i, 1), 0, 31, &v, "key index",
				 NULL) == 0)
			return (int)v;
	return -1;
}

/* Write relation frame f (stolen) for oid unless it is the last one
 * written for that oid and `force` is 0. */
static int emit_relation(struct state *st, uint32_t oid, json_t *f,
			 int force, struct ss_err *err)
{
	char *json = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct relsent *rs = NULL;
	size_t i;

	if (!json) /* out of memory: write it, remember nothing */
		return emit(st, f, err);
	for (i = 0; i < st->nrelsent; i++)
		if (st->relsent[i].oid == oid)
			rs = &st->relsent[i];
	if (rs && !force && !strcmp(rs->json, json)) {
		free(json);
		json_decref(f);
		return 0;
	}
	if (!rs) {
		SS_GROW(st->relsent, st->relsent_alloc, st->nrelsent + 1);
		rs = &st->relsent[st->nrelsent++];
		rs->oid = oid;
		rs->json = NULL;
	}
	free(rs->json);
	rs->json = json;
	return emit(st, f, err);
}

/*
 * A table's columns as relation frame members: those of `rel` (as
 * pgoutput sent them), in the order of `names` when given (the attribute
 * order of a partition's ancestor: the same columns), with the primary
 * key of table `oid`.
 */
static int add_columns(struct state *st, json_t *f, uint32_t oid,
		       const struct ss_pgo_relation *rel, PGresult *names,
		       struct ss_err *err)
{
	PGresult *pk = primary_key(st, oid, err);
	size_t i, j, n = names ? (size_t)PQntuples(names) : rel->ncols;
	int has_pk, k;

	if (!pk)
		return -1;
	has_pk = PQntuples(pk) > 0;
	for (j = 0; j < n; j++) {
		const struct ss_pgo_column *c = &rel->cols[j];
		const char *t;

		if (names) {
			for (i = 0; i < rel->ncols; i++)
				if (!strcmp(rel->cols[i].name,
					    PQgetvalue(names, (int)j, 0)))
					break;
			if (i == rel->ncols)
				continue; /* not in the stream's version */
			c = &rel->cols[i];
		}
		t = type_name(st, c->type_oid, err);
		if (!t) {
			PQclear(pk);
			return -1;
		}
		/* Without a primary key, the whole row is the key. */
		k = has_pk ? key_index(pk, c->name) : -1;
		ss_frame_add_column(f, c->name, t, c->type_oid, c->typmod,
				    has_pk ? k >= 0 : 1);
		if (k >= 0)
			ss_frame_set_key_index(f, k);
	}
	PQclear(pk);
	return 0;
}

/*
 * The relation frame of a pgoutput relation message, after one for each
 * partitioned table it is a partition of (looked up now in the catalog,
 * as the primary key is): with publish_via_partition_root off, pgoutput
 * sends the changes of a partitioned table under its partitions, and
 * readers match them against the shapes on the ancestors too.
 * `changed`: the message differs from the last one for its oid.
 */
static int relation_frame(struct state *st, const struct ss_pgo_relation *rel,
			  int changed, struct ss_err *err)
{
	static const char anc_sql[] =
		"SELECT a.relid::oid, n.nspname, c.relname, c.relreplident "
		"FROM pg_catalog.pg_partition_ancestors($1::oid) WITH "
		"ORDINALITY a(relid, ord) JOIN pg_catalog.pg_class c ON "
		"c.oid = a.relid JOIN pg_catalog.pg_namespace n ON n.oid = "
		"c.relnamespace WHERE a.relid <> $1::oid ORDER BY a.ord";
	static const char names_sql[] =
		"SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
		"$1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum";
	char buf[16];
	const char *params[1] = { buf };
	PGresult *anc = NULL, *names = NULL;
	uint32_t *oids = NULL;
	json_t *f;
	int i, n, rc = -1;

	snprintf(buf, sizeof(buf), "%" PRIu32, rel->oid);
	if (ss_pg_exec(st->admin, "could not look up a table's ancestors",
		       anc_sql, 1, params, &anc, NULL, err) < 0)
		return -1;
	n = PQntuples(anc);
	oids = ss_xcalloc((size_t)n + 1, sizeof(*oids));
	/* The root first: each frame comes before the frames naming it. */
	for (i = n - 1; i >= 0; i--) {
		uint64_t v;

		if (ss_parse_u64(PQgetvalue(anc, i, 0), UINT32_MAX, &v,
				 "oid", err) < 0)
			goto out;
		oids[i] = (uint32_t)v;
		snprintf(buf, sizeof(buf), "%" PRIu32, oids[i]);
		if (ss_pg_exec(st->admin, "could not look up a table's columns",
			       names_sql, 1, params, &names, NULL, err) < 0)
			goto out;
		f = ss_frame_new_relation(oids[i], PQgetvalue(anc, i, 1),
					  PQgetvalue(anc, i, 2),
					  PQgetvalue(anc, i, 3)[0]);
		if (add_columns(st, f, oids[i], rel, names, err) < 0) {
			json_decref(f);
			goto out;
		}
		PQclear(names);
		names = NULL;
		if (i + 1 < n)
			ss_frame_set_ancestors(f, oids + i + 1,
					       (size_t)(n - i - 1));
		if (emit_relation(st, oids[i], f, 0, err) < 0)
			goto out;
	}
	f = ss_frame_new_relation(rel->oid, rel->schema, rel->table,
				  rel->replident);
	if (add_columns(st, f, rel->oid, rel, NULL, err) < 0) {
		json_decref(f);
		goto out;
	}
	if (n > 0) {
		ss_frame_set_ancestors(f, oids, (size_t)n);
		/* A new partition: give it REPLICA IDENTITY FULL soon. */
		if (rel->replident != 'f')
			st->next_partitions = 0;
	}
	rc = emit_relation(st, rel->oid, f, changed, err);
out:
	PQclear(names);
	PQclear(anc);
	free(oids);
	return rc;
}

static int bad_data(struct ss_err *err, const struct ss_pgo_relation *rel,
		    const char *fmt, const char *col)
{
	ss_err_set(err, SS_ERR_INPUT, "table \"%s\".\"%s\": ", rel->schema,
		   rel->table);
	/* The format is ours and takes exactly one string. */
	snprintf(err->msg + strlen(err->msg),
		 sizeof(err->msg) - strlen(err->msg), fmt, col);
	return -1;
}

/* A row from a tuple into cols (grown as needed); unchanged TOAST values
 * come from `fill` (the old row), and with keys_only only key columns
 * keep their values. */
static int row(const struct ss_pgo_relation *rel,
	       const struct ss_pgo_tuple *t, const struct ss_pgo_tuple *fill,
	       int keys_only, struct ss_frame_col **cols, size_t *alloc,
	       struct ss_err *err)
{
	size_t i;

	if (t->ncols != rel->ncols)
		return ss_err_set(err, SS_ERR_INPUT,
				  "table \"%s\".\"%s\": a row of %zu columns "
				  "for a relation of %zu", rel->schema,
				  rel->table, t->ncols, rel->ncols);
	SS_GROW(*cols, *alloc, t->ncols);
	for (i = 0; i < t->ncols; i++) {
		const struct ss_pgo_value *v = &t->vals[i];
		struct ss_frame_col *c = &(*cols)[i];

		if (v->kind == SS_PGO_UNCHANGED && fill &&
		    fill->ncols == t->ncols &&
		    fill->vals[i].kind != SS_PGO_UNCHANGED)
			v = &fill->vals[i];
		c->name = rel->cols[i].name;
		c->data = NULL;
		c->len = 0;
		if ((keys_only && !rel->cols[i].key) || v->kind == SS_PGO_NULL)
			continue;
		if (v->kind != SS_PGO_TEXT) {
			bad_data(err, rel, "no value for unchanged TOAST "
				 "column '%s'", rel->cols[i].name);
			ss_err_hint(err, "tables in shapes need REPLICA "
				    "IDENTITY FULL");
			return -1;
		}
		/* A zero-length value still needs a non-NULL pointer. */
		c->data = v->len ? v->data : "";
		c->len = v->len;
	}
	return 0;
}

static int change(struct state *st, const struct ss_pgo_msg *m,
		  struct ss_err *err)
{
	const struct ss_pgo_relation *rel;
	const struct ss_pgo_tuple *old = m->old_kind ? &m->old_tuple : NULL;
	enum ss_frame_op op;
	size_t nnew = 0, nold = 0;
	int rc;

	if (!st->in_txn)
		return ss_err_set(err, SS_ERR_INPUT,
				  "pgoutput: a change outside a transaction");
	if (st->pos++ < st->skip_below)
		return 0;
	rel = ss_pgo_cache_relation(st->cache, m->relid);
	if (!rel)
		return ss_err_set(err, SS_ERR_INPUT,
				  "pgoutput: a change of relation %" PRIu32
				  " before its relation message", m->relid);
	switch (m->type) {
	case 'I':
		op = SS_FRAME_OP_INSERT;
		rc = row(rel, &m->new_tuple, NULL, 0, &st->newc,
			 &st->newc_alloc, err);
		nnew = rel->ncols;
		break;
	case 'U':
		op = SS_FRAME_OP_UPDATE;
		/* Without an old tuple the key did not change: the key
		 * columns of the new row are the old ones. */
		rc = row(rel, &m->new_tuple, old, 0, &st->newc,
			 &st->newc_alloc, err);
		if (rc == 0)
			rc = old ? row(rel, old, NULL, m->old_kind == 'K',
				       &st->oldc, &st->oldc_alloc, err)
				 : row(rel, &m->new_tuple, NULL, 1, &st->oldc,
				       &st->oldc_alloc, err);
		nnew = nold = rel->ncols;
		break;
	default:
		op = SS_FRAME_OP_DELETE;
		rc = row(rel, old, NULL, m->old_kind == 'K', &st->oldc,
			 &st->oldc_alloc, err);
		nold = rel->ncols;
		break;
	}
	if (rc < 0)
		return -1;
	if (ss_frame_write_change(stdout, "<stdout>", op, rel->oid, st->xid,
				  st->txn_lsn, st->pos - 1, st->newc, nnew,
				  st->oldc, nold, &st->line, err) < 0) {
		st->fatal = 1;
		if (err->code == SS_ERR_INPUT)
			ss_err_prefix(err, "table \"%s\".\"%s\"", rel->schema,
				      rel->table);
		return -1;
	}
	return 0;
}

/* One pgoutput message. */
static int handle_xlog(struct state *st, const char *data, size_t len,
		       struct ss_err *err)
{
	struct ss_pgo_msg *m = &st->msg;
	uint64_t xid;

	if (ss_pgo_decode(m, data, len, err) < 0)
		return -1;
	switch (m->type) {
	case 'B':
		if (opt.have_endpos && m->final_lsn >= opt.endpos) {
			st->done = 1;
			return 0;
		}
		xid = ss_pgo_xid_extend(&st->xid_ref, m->xid);
		if (st->resuming) {
			char a[SS_LSN_STRMAX], b[SS_LSN_STRMAX];

			st->resuming = 0;
			if (m->final_lsn != st->txn_lsn || xid != st->xid) {
				st->fatal = 1;
				return ss_err_set(err, SS_ERR_RUNTIME,
					"after reconnecting, the server sent "
					"transaction %" PRIu64 " at %s instead "
					"of %" PRIu64 " at %s",
					xid, ss_lsn_format(m->final_lsn, a),
					st->xid, ss_lsn_format(st->txn_lsn, b));
			}
			st->skip_below = st->pos;
			st->pos = 0;
			return 0;
		}
		if (st->in_txn)
			return ss_err_set(err, SS_ERR_INPUT,
					  "pgoutput: begin inside a "
					  "transaction");
		if (m->final_lsn < st->emitted) {
			st->skip_txn = 1; /* written before a reconnect */
			return 0;
		}
		st->in_txn = 1;
		st->xid = xid;
		st->txn_lsn = m->final_lsn;
		st->pos = st->skip_below = 0;
		return emit(st, ss_frame_new_begin(xid, m->final_lsn, m->ts_us),
			    err);
	case 'C':
		if (st->skip_txn) {
			st->skip_txn = 0;
			return 0;
		}
		if (!st->in_txn)
			return ss_err_set(err, SS_ERR_INPUT,
					  "pgoutput: commit outside a "
					  "transaction");
		if (emit(st, ss_frame_new_commit(st->xid, st->txn_lsn,
						 m->end_lsn, m->ts_us),
			 err) < 0)
			return -1;
		ss_cli_flush_stdout();
		st->in_txn = 0;
		st->transactions++;
		ss_lag_hist_add(&st->lag, (ss_now_us() - m->ts_us) / 1000);
		if (m->end_lsn > st->emitted)
			st->emitted = m->end_lsn;
		st->written = m->end_lsn;
		if (m->end_lsn > st->received)
			st->received = m->end_lsn;
		if (opt.have_endpos && m->end_lsn >= opt.endpos)
			st->done = 1;
		return 0;
	case 'R':
		return relation_frame(st, &m->rel,
				      ss_pgo_cache_put_relation(st->cache,
								&m->rel),
				      err);
	case 'Y':
		ss_pgo_cache_put_type(st->cache, m->type_oid, m->type_name);
		return 0;
	case 'I':
	case 'U':
	case 'D':
		if (st->skip_txn)
			return 0;
		st->changes++;
		return change(st, m, err);
	case 'T':
		if (st->skip_txn)
			return 0;
		if (!st->in_txn)
			return ss_err_set(err, SS_ERR_INPUT,
					  "pgoutput: truncate outside a "
					  "transaction");
		if (st->pos++ < st->skip_below)
			return 0;
		return emit(st, ss_frame_new_truncate(st->xid, st->txn_lsn,
						  st->pos - 1, m->relids,
						  m->nrelids), err);
	default:
		/* Origin: the origin of a replicated transaction, which
		 * changes nothing for shapes. Logical messages are not
		 * requested. */
		return 0;
	}
}

/* A keepalive: between transactions, everything before wal_end has been
 * sent to us (the server decodes in order), so that is how far the
 * stream has been read. */
static int handle_keepalive(struct state *st, const struct ss_pg_copymsg *k)
{
	if (k->reply)
		st->want_status = 1;
	if (st->in_txn || st->skip_txn)
		return 0;
	if (k->wal_end > st->received)
		st->received = k->wal_end;
	if (opt.have_endpos && k->wal_end >= opt.endpos)
		st->done = 1;
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
	if (st->in_txn || st->skip_txn || st->received <= st->emitted ||
	    (!opt.ack_received && st->durable < st->written))
		return 0;
	if (emit(st, ss_frame_new_progress(st->received), err) < 0)
		return -1;
	ss_cli_flush_stdout();
	st->emitted = st->written = st->received;
	st->want_status = 1;
	return 0;
}

/* ---- the session ---------------------------------------------------- */

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
			       (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* --idle-timeout: a shape read or created since the last look counts as
 * activity, as WAL data does (stream()). Once neither was seen for the
 * timeout, between transactions and with everything written out, the
 * session ends asleep: nothing is lost, the slot keeps the WAL until the
 * next session. */
static int idle_check(struct state *st, int64_t now, struct ss_err *err)
{
	int64_t use;

	if (!opt.idle_ms || !st->reg)
		return 0;
	if (ss_registry_last_use(st->reg, &use, err) < 0) {
		st->fatal = 1;
		return -1;
	}
	if (use > st->last_use) {
		st->last_use = use;
		st->active_us = now;
	}
	if (now - st->active_us < opt.idle_ms * 1000 || st->in_txn ||
	    st->skip_txn || st->received > st->emitted)
		return 0;
	st->asleep = 1;
	return 0;
}

/* Asleep: no connection to PostgreSQL until a shape is read or created
 * (the registry says), or a stop. Returns -1 on a registry error. */
static int idle_sleep(struct state *st, struct ss_err *err)
{
	int64_t use;
	int i;

	ss_cli_info("no transaction and no shape read for %" PRId64 " ms: "
		    "closed the connections to PostgreSQL until the next read "
		    "(--idle-timeout)", opt.idle_ms);
	if (st->beat) {
		ss_beat_state(st->beat, "sleeping", "idle timeout");
		beat_publish(st);
	}
	while (!stop_requested) {
		for (i = 0; i < 10 && !stop_requested; i++)
			sleep_ms(100);
		if (ss_registry_last_use(st->reg, &use, err) < 0)
			return -1;
		if (use > st->last_use) {
			st->last_use = use;
			ss_cli_info("a shape was read or created: reconnecting");
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
			if (poll_registry(st, err) < 0 || progress(st, err) < 0 ||
			    slot_wal(st, err) < 0 || idle_check(st, now, err) < 0)
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
			wait = (st->next_poll < st->next_status ?
				st->next_poll : st->next_status) - now;
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
			st->active_us = now;
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

static void slot_wait(int64_t seconds, const char *what, void *ctx)
{
	(void)ctx;
	ss_cli_warning("creating replication slot '%s' has waited %" PRId64
		       " s for transactions to end: %s", opt.slot, seconds,
		       what);
}

static int count_snapshotted(const struct ss_shape_rec *rec, void *ctx)
{
	if (rec->snapshot_state != SS_SNAPSHOT_PENDING)
		++*(int64_t *)ctx;
	return 0;
}

/*
 * Is this session's stream the one the shape logs were built from (see
 * lib/stream.h)? If not, begin a new stream in the registry, which
 * invalidates every shape, and start over from the slot's position as if
 * nothing had been written before. `created`, `lost`: what happened to the
 * slot; `confirmed`: its position now.
 */
static int check_stream(struct state *st, int created, int lost,
			ss_lsn confirmed, struct ss_err *err)
{
	struct ss_stream_session now;
	struct ss_stream_id rec;
	enum ss_stream_verdict v;
	int64_t invalidated = 0;
	int has;

	ss_buf_reset(&st->stream_reason);
	if (!st->reg)
		return 0;
	memset(&now, 0, sizeof(now));
	if (ss_pg_identify_system(st->repl, st->admin, &now.id,
				  &now.server_lsn, err) < 0)
		return -1;
	snprintf(now.id.slot, sizeof(now.id.slot), "%s", opt.slot);
	now.id.slot_lsn = confirmed;
	now.slot_created = created;
	now.slot_lost = lost;
	now.slot_confirmed = confirmed;
	if (ss_registry_get_durable_lsn(st->reg, &now.durable, err) < 0 ||
	    ss_registry_stream_get(st->reg, &st->stream, &rec, &has, err) < 0)
		goto fatal;
	/* Only a registry with no stream recorded needs the count. */
	if (!has && ss_registry_foreach(st->reg, count_snapshotted, &now.shapes,
					err) < 0)
		goto fatal;
	v = ss_stream_decide(has ? &rec : NULL, &now, &st->stream_reason);
	if (v == SS_STREAM_SAME)
		return 0;
	if (ss_registry_stream_start(st->reg, &now.id, st->stream_reason.buf,
				     v == SS_STREAM_NEW, confirmed, &st->stream,
				     &invalidated, err) < 0)
		goto fatal;
	if (v == SS_STREAM_FIRST) {
		ss_buf_reset(&st->stream_reason);
		return 0;
	}
	ss_cli_warning("%s", st->stream_reason.buf);
	ss_cli_warning("began stream %" PRId64 ": %" PRId64 " shape%s "
		       "invalidated, their clients must refetch", st->stream,
		       invalidated, invalidated == 1 ? "" : "s");
	/* Nothing written before belongs to the new stream. */
	st->started = 0;
	st->in_txn = 0;
	st->resuming = 0;
	st->skip_txn = 0;
	st->written = 0;
	st->max_flush = 0;
	st->sent_flush = 0;
	st->durable = confirmed;
	return 0;
fatal:
	st->fatal = 1;
	return -1;
}

static void disconnect(struct state *st)
{
	ss_pg_close(st->repl);
	ss_pg_close(st->admin);
	st->repl = st->admin = NULL;
	/* A transaction cut short is sent again from its begin: skip what
	 * was already written of it. */
	if (st->in_txn)
		st->resuming = 1;
	st->skip_txn = 0;
}

/* Connect, set up, stream. Returns 0 when done (an action, endpos or a
 * stop), -1 with err otherwise (st->fatal: do not retry). */
static int session(struct state *st, struct ss_err *err)
{
	char key[128];
	int got, created = 0, exists, pub_created, lost;
	ss_lsn confirmed;
	int64_t timeout_ms;

	if (opt.temporary) {
		/* A new one each session: the last went with its connection. */
		static char name[SS_ENVCONF_NAME_MAX];

		if (ss_envconf_random_slot(name, err) < 0)
			return -1;
		opt.slot = name;
	}
	if (ss_pg_open(opt.conninfo, 0, APPNAME, &st->admin, err) < 0)
		return -1;
	snprintf(key, sizeof(key), "shapesync-replicate slot %s", opt.slot);
	if (ss_pg_try_lock(st->admin, key, &got, err) < 0)
		return -1;
	if (opt.take_over) {
		int ended;

		/* Whoever holds the lock or streams from the slot. */
		if (ss_pg_take_over(st->admin, key, opt.slot, &ended, err) < 0)
			return -1;
		if (ended)
			ss_cli_warning("took slot '%s' over: ended %d backend%s "
				       "holding it", opt.slot, ended,
				       ended == 1 ? "" : "s");
		if (!got && ss_pg_try_lock(st->admin, key, &got, err) < 0)
			return -1;
	}
	if (!got) {
		st->fatal = 1;
		ss_err_set(err, SS_ERR_RUNTIME,
			   "another shapesync-replicate is using slot '%s'",
			   opt.slot);
		ss_err_hint(err, "run one instance per slot, choose another "
			    "with --slot, or end a stale one with "
			    "--take-over-slot");
		return -1;
	}
	if (opt.drop_slot) {
		if (ss_pg_slot_drop(st->admin, opt.slot, err) < 0) {
			st->fatal = 1;
			return -1;
		}
		return 0;
	}
	/* The publication must exist before the slot's start: pgoutput
	 * looks it up as of the WAL it decodes. */
	if (ss_pg_publication_create(st->admin, opt.pub, &pub_created,
				     err) < 0 ||
	    ss_pg_slot_info(st->admin, opt.slot, &exists, &confirmed,
			    &lost, err) < 0)
		return -1;
	if (opt.temporary && opt.create_slot)
		return 0; /* the streaming session makes its own */
	if (exists && pub_created) {
		st->fatal = 1;
		ss_err_set(err, SS_ERR_RUNTIME,
			   "publication '%s' was created after slot '%s'",
			   opt.pub, opt.slot);
		ss_err_detail(err, "pgoutput cannot decode the slot's WAL from "
			      "before the publication existed");
		ss_err_hint(err, "drop the slot with --drop-slot (shapes must "
			    "then be created anew)");
		return -1;
	}
	if (ss_pg_open(opt.conninfo, SS_PG_REPLICATION | SS_PG_DISPLAY,
		       APPNAME, &st->repl, err) < 0)
		return -1;
	if (exists && lost) {
		/* The server will never stream it again: make it anew (the
		 * stream check below invalidates the shapes). */
		ss_cli_warning("replication slot '%s' was invalidated by the "
			       "server (wal_status lost); dropping it",
			       opt.slot);
		if (ss_pg_slot_drop(st->admin, opt.slot, err) < 0 &&
		    err->code != SS_ERR_INPUT)
			return -1;
		ss_err_clear(err);
		exists = 0;
	}
	if (!exists) {
		if (ss_pg_slot_create(st->repl, opt.slot, opt.temporary, &created,
				      &confirmed, st->admin, slot_wait, NULL,
				      err) < 0)
			return -1;
		if (!created && ss_pg_slot_info(st->admin, opt.slot, &exists,
						&confirmed, NULL, err) < 0)
			return -1;
	}
	if (check_stream(st, created, lost, confirmed, err) < 0)
		return -1;
	/* Tables first: pgoutput decides what to send as of the WAL it
	 * decodes, so a table joins the stream when it joins the
	 * publication. */
	st->reg_version = -1; /* read the registry at once */
	if (poll_registry(st, err) < 0)
		return -1;
	if (opt.create_slot)
		return 0;

	if (ss_pg_wal_sender_timeout(st->admin, &timeout_ms, err) < 0 ||
	    ss_pg_next_xid(st->admin, &st->xid_ref, err) < 0 ||
	    load_types(st, err) < 0)
		return -1;
	st->status_us = opt.status_ms * 1000;
	if (timeout_ms > 0 && timeout_ms * 1000 / 3 < st->status_us)
		st->status_us = timeout_ms * 1000 / 3;
	st->slot_confirmed = confirmed;
	if (!st->started) {
		st->emitted = confirmed > opt.start ? confirmed : opt.start;
		st->started = 1;
	}
	if (ss_pg_start_replication(st->repl, opt.slot, opt.pub, st->emitted,
				    err) < 0)
		return -1;
	/* Which stream the frames are of, before any of them, and at once:
	 * route holds new shapes back until it sees a new stream begin. */
	if (st->stream > 0) {
		if (emit(st, ss_frame_new_stream(st->stream, st->emitted,
						 st->stream_reason.len ?
						 st->stream_reason.buf : NULL),
			 err) < 0)
			return -1;
		ss_cli_flush_stdout();
	}
	st->streamed = 1;
	if (st->beat)
		ss_beat_state(st->beat, "streaming", NULL);
	st->next_poll = ss_mono_us() + POLL_US;
	st->active_us = ss_mono_us();
	st->want_status = 1;
	return stream(st, err);
}

static void open_registry(struct state *st)
{
	struct ss_registry_opts ro;
	struct ss_err err = SS_ERR_INIT;

	ss_registry_opts_init(&ro);
	ro.id_block = 1;
	if (ss_registry_open(opt.registry, &ro, &st->reg, &err) < 0) {
		if (err.code == SS_ERR_INPUT) {
			ss_cli_log(SS_LOG_ERROR, NULL, "run 'shapesync-db init' first, "
				   "or check --registry and $SHAPESYNC_REGISTRY",
				   "registry '%s' does not exist", opt.registry);
			exit(SS_ERR_RUNTIME);
		}
		ss_cli_die_err(&err);
	}
}

int main(int argc, char **argv)
{
	static struct state st = { .line = SS_BUF_INIT,
				   .stream_reason = SS_BUF_INIT };
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
	    (!opt.ack_received || !opt.ntables || opt.registry_given))
		open_registry(&st);
	if (opt.idle_ms && !st.reg && !opt.drop_slot && !opt.create_slot)
		ss_cli_usage_error("--idle-timeout needs the registry: a shape "
				   "read there is what wakes replicate");
	st.wal = st.retained = st.flush_lag = -1;
	/* A session that only creates the slot is not the pipeline's. */
	if (st.reg && !opt.create_slot) {
		if (ss_beat_start(st.reg, "replicate", 1000, &st.beat, &err) < 0)
			ss_cli_die_err(&err);
		ss_beat_state(st.beat, "connecting", NULL);
	}
	st.cache = ss_pgo_cache_new();
	for (i = 0; i < opt.ntables; i++)
		add_table(&st.tables, &st.ntables, &st.tables_alloc,
			  opt.tables[i].schema, opt.tables[i].name);
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
		struct ss_pg *pg = NULL;

		ss_err_clear(&err);
		if (ss_pg_open(opt.conninfo, 0, APPNAME, &pg, &err) < 0 ||
		    ss_pg_slot_drop(pg, opt.slot, &err) < 0) {
			ss_err_prefix(&err, "could not drop slot '%s'", opt.slot);
			ss_cli_log(SS_LOG_WARNING, err.detail, err.hint, "%s", err.msg);
		} else {
			ss_cli_info("dropped slot '%s' "
				    "($CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN)", opt.slot);
		}
		ss_pg_close(pg);
	}
	beat_publish(&st);
	ss_beat_stop(st.beat, "stopped");
	ss_pgo_msg_release(&st.msg);
	ss_buf_release(&st.line);
	ss_buf_release(&st.stream_reason);
	free(st.newc);
	free(st.oldc);
	free(st.added);
	for (i = 0; i < st.nrelsent; i++)
		free(st.relsent[i].json);
	free(st.relsent);
	free_tables(st.tables, st.ntables);
	free_tables(opt.tables, opt.ntables);
	ss_pgo_cache_free(st.cache);
	if (st.reg && ss_registry_close(st.reg, &err) < 0)
		ss_cli_die_err(&err);
	ss_cli_close_stdout();
	return 0;
}
