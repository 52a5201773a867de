/*
 * shapesync-serve — the HTTP Shape API (ElectricSQL's /v1/shape): options
 * (envconf reads the environment), the {route, method, handler} table of
 * lib/server, and the wiring of the modules that do the work: shapeapi
 * (/v1/shape over registry, tablecache, create, live), statusapi
 * (/v1/health, /metrics), the waker of live and the evict thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "connguard.h"
#include "create.h"
#include "datadir.h"
#include "envconf.h"
#include "evict.h"
#include "live.h"
#include "metrics.h"
#include "pgq.h"
#include "registry.h"
#include "sdnotify.h"
#include "server.h"
#include "shapeapi.h"
#include "statusapi.h"
#include "statuspage.h"
#include "tablecache.h"
#include "where.h"

#define DEFAULT_REGISTRY "./var/registry.db"
#define DEFAULT_DATA_DIR "./var/data"
#define TABLE_CACHE_US 1000000

/* ------------------------------------------------------------------ config */

static struct {
	struct ss_envconf_serve e; /* what the environment may set too */
	int threads;
	int64_t sse_timeout_ms, keepalive_ms, active_timeout_ms;
	int64_t create_timeout_ms, request_timeout_s;
	int subqueries; /* 1 unless --no-subqueries */
	uint64_t max_body, max_header;
	int64_t max_connections;
	int64_t max_open_logs; /* 0: from the descriptor limit */
	int no_active_wait, public_metrics;
	struct ss_where_limits where_limits;
} cfg;

/* Query arguments a request may have (lib/server cuts off more and
 * answers 431): Electric's own parameters and params[1..100] stay well
 * below this. */
#define MAX_QUERY_ARGS 256

/* ------------------------------------------------------------------ state */

static struct ss_registry *reg;
static struct ss_pgq_pool *pool;
static volatile sig_atomic_t stop_signal;
static atomic_int stopping;
static struct ss_live *live;	     /* waiting requests and their wake-ups */
static struct ss_create *creator;    /* shape creations (lib/create) */
static struct ss_tablecache *tables; /* catalog lookups, cached a second */

/* Counters for /metrics. */
static struct ss_metrics metrics;
static atomic_llong m_shapes_created, m_evicted;
static struct ss_shapeapi *api;	 /* /v1/shape (lib/shapeapi) */
static struct ss_statusapi *ops; /* /v1/health, /metrics */

/* ------------------------------------------------------------------ wiring */

/* The catalog behind the table cache: a pooled connection. */
static int describe_pg(void *ctx, const char *schema, const char *name,
		       struct ss_pgq_table *t, struct ss_err *err)
{
	void *conn = ss_pgq_get(pool, err);
	int r;

	(void)ctx;
	if (!conn)
		return -1;
	r = ss_pgq_describe(conn, schema, name, t, err);
	ss_pgq_put(pool, conn);
	return r;
}

static void *waker_main(void *arg)
{
	(void)arg;
	ss_live_run(live);
	return NULL;
}

static void warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	ss_cli_warning("%s", msg);
}

static enum MHD_Result handle_root(struct ss_server_req *sr, void *ctx)
{
	(void)ctx;
	return ss_server_send_text(sr, 200, "", "text/plain");
}

static enum MHD_Result handle_not_found(struct ss_server_req *sr, void *ctx)
{
	(void)ctx;
	return ss_server_send_text(sr, 404, "Not found", "text/plain");
}

static void answered(void *ctx, const struct ss_server_req *sr, unsigned status)
{
	(void)ctx;
	if (ss_server_req_route(sr) == SS_HTTP_SHAPE)
		ss_metrics_count_status(&metrics, (int)status);
}

/* Every 100 ms (the server's guard thread). */
static void server_tick(void *ctx)
{
	static int64_t touched_us;
	int64_t now = ss_mono_us(), id;

	(void)ctx;
	if (cfg.e.db_idle_ms)
		ss_pgq_pool_expire(pool, cfg.e.db_idle_ms * 1000, now);
	/* A request in a long-poll is a reader: without this, replicate's
	 * idle timeout (when below the long-poll timeout) would put it to
	 * sleep under clients that wait. */
	if (now - touched_us >= 1000000 && (id = ss_live_some_waited(live))) {
		ss_registry_touch(reg, id);
		touched_us = now;
	}
}

/* ------------------------------------------------------------------ eviction
 */

static void evicted(void *ctx, const char *handle)
{
	(void)ctx;
	atomic_fetch_add(&m_evicted, 1);
	ss_live_removed(live, handle);
}

static void evict_once(void)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_evict_once(reg, cfg.e.data_dir, cfg.e.max_shapes, evicted, NULL,
			  &err) < 0)
		ss_cli_warning("eviction: %s", err.msg);
}

/* The registry's thread: every 100 ms, removals by any process reach the
 * live entries (so that a live answer does not ask the registry whether
 * its shape is still there); every second, eviction (--max-shapes). Its
 * own thread: a registry read may wait for SQLite's write lock. */
static void *registry_main(void *arg)
{
	int64_t warned_us = 0;

	(void)arg;
	while (!atomic_load(&stopping)) {
		int i;

		if (cfg.e.max_shapes > 0)
			evict_once();
		for (i = 0; i < 10 && !atomic_load(&stopping); i++) {
			struct ss_err err = SS_ERR_INIT;
			int64_t now = ss_mono_us();

			if (ss_live_follow(live, reg, &err) < 0 &&
			    (!warned_us || now - warned_us >= 60000000)) {
				ss_cli_warning("could not follow the "
					       "registry: %s",
					       err.msg);
				warned_us = now;
			}
			usleep(100000);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ main */

enum {
	OPT_LIST_OPTIONS = 256,
	OPT_REGISTRY,
	OPT_DIR,
	OPT_DATABASE_URL,
	OPT_PORT,
	OPT_BIND,
	OPT_SECRET,
	OPT_INSECURE,
	OPT_PUBLICATION,
	OPT_LONG_POLL,
	OPT_SSE_TIMEOUT,
	OPT_KEEPALIVE,
	OPT_MAX_AGE,
	OPT_STALE_AGE,
	OPT_CHUNK,
	OPT_MAX_SHAPES,
	OPT_MAX_INITIAL,
	OPT_MAX_EXISTING,
	OPT_MAX_CONN,
	OPT_THREADS,
	OPT_POOL,
	OPT_METRICS_PORT,
	OPT_ACTIVE_TIMEOUT,
	OPT_NO_ACTIVE_WAIT,
	OPT_INTEGRATION,
	OPT_SUBQUERIES,
	OPT_NO_SUBQUERIES,
	OPT_CONN_TIMEOUT,
	OPT_MAX_BODY,
	OPT_MAX_HEADER,
	OPT_CREATE_TIMEOUT,
	OPT_MAX_WHERE_LENGTH,
	OPT_MAX_IN_LIST,
	OPT_MAX_WHERE_COST,
	OPT_PUBLIC_METRICS,
	OPT_REQUEST_TIMEOUT,
	OPT_DB_IDLE,
	OPT_MAX_OPEN_LOGS,
};

static const struct option options[] = {
    {"registry", required_argument, NULL, OPT_REGISTRY},
    {"dir", required_argument, NULL, OPT_DIR},
    {"database-url", required_argument, NULL, OPT_DATABASE_URL},
    {"db", required_argument, NULL, OPT_DATABASE_URL},
    {"port", required_argument, NULL, OPT_PORT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"publication", required_argument, NULL, OPT_PUBLICATION},
    {"long-poll-timeout", required_argument, NULL, OPT_LONG_POLL},
    {"sse-timeout", required_argument, NULL, OPT_SSE_TIMEOUT},
    {"keepalive-interval", required_argument, NULL, OPT_KEEPALIVE},
    {"cache-max-age", required_argument, NULL, OPT_MAX_AGE},
    {"cache-stale-age", required_argument, NULL, OPT_STALE_AGE},
    {"chunk-bytes", required_argument, NULL, OPT_CHUNK},
    {"max-shapes", required_argument, NULL, OPT_MAX_SHAPES},
    {"max-initial-requests", required_argument, NULL, OPT_MAX_INITIAL},
    {"max-existing-requests", required_argument, NULL, OPT_MAX_EXISTING},
    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
    {"max-open-logs", required_argument, NULL, OPT_MAX_OPEN_LOGS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"db-pool-size", required_argument, NULL, OPT_POOL},
    {"db-idle-timeout", required_argument, NULL, OPT_DB_IDLE},
    {"metrics-port", required_argument, NULL, OPT_METRICS_PORT},
    {"public-metrics", no_argument, NULL, OPT_PUBLIC_METRICS},
    {"active-timeout", required_argument, NULL, OPT_ACTIVE_TIMEOUT},
    {"no-active-wait", no_argument, NULL, OPT_NO_ACTIVE_WAIT},
    {"snapshot-timeout", required_argument, NULL, OPT_CREATE_TIMEOUT},
    {"enable-delete", no_argument, NULL, OPT_INTEGRATION},
    {"experimental-subqueries", no_argument, NULL, OPT_SUBQUERIES},
    {"no-subqueries", no_argument, NULL, OPT_NO_SUBQUERIES},
    {"idle-timeout", required_argument, NULL, OPT_CONN_TIMEOUT},
    {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
    {"max-body", required_argument, NULL, OPT_MAX_BODY},
    {"max-header", required_argument, NULL, OPT_MAX_HEADER},
    {"max-where-length", required_argument, NULL, OPT_MAX_WHERE_LENGTH},
    {"max-in-list", required_argument, NULL, OPT_MAX_IN_LIST},
    {"max-where-cost", required_argument, NULL, OPT_MAX_WHERE_COST},
    SS_CLI_LOG_OPTIONS,
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0},
};

static void usage(void)
{
	printf(
	    "Usage: shapesync-serve [options]\n"
	    "\n"
	    "Serves the ElectricSQL HTTP Shape API (/v1/shape) from a shapesync data dir.\n"
	    "\n"
	    "Connections:\n"
	    "  --database-url URL         PostgreSQL (default: $ELECTRIC_QUERY_DATABASE_URL,\n"
	    "                             else $DATABASE_URL)\n"
	    "  --db URL                   the same, as shapesync-replicate spells it\n"
	    "  --registry PATH            registry (default: $SHAPESYNC_REGISTRY, else\n"
	    "                             " DEFAULT_REGISTRY ")\n"
	    "  --dir DATADIR              data dir (default: $SHAPESYNC_DATA_DIR, else\n"
	    "                             $ELECTRIC_STORAGE_DIR, else " DEFAULT_DATA_DIR
	    ")\n"
	    "  --publication NAME         publication for shape tables (shapesync;\n"
	    "                             $ELECTRIC_REPLICATION_STREAM_ID: its Electric\n"
	    "                             name)\n"
	    "\n"
	    "HTTP:\n"
	    "  --port N                   port ($ELECTRIC_PORT, else 3000)\n"
	    "  --bind ADDR                IPv4 or IPv6 address to listen on (127.0.0.1;\n"
	    "                             ::1 with $ELECTRIC_LISTEN_ON_IPV6=true)\n"
	    "  --metrics-port N           serve /metrics on its own port\n"
	    "                             ($ELECTRIC_PROMETHEUS_PORT, else 0: none)\n"
	    "  --public-metrics           serve /metrics on --port too (else 404 there)\n"
	    "  --secret S                 API secret ($ELECTRIC_SECRET)\n"
	    "  --insecure                 no secret ($ELECTRIC_INSECURE=true)\n"
	    "  --enable-delete            allow DELETE /v1/shape\n"
	    "  --no-subqueries            refuse where clauses with IN (SELECT ...)\n"
	    "                             (400, as Electric before 1.7.10)\n"
	    "  --experimental-subqueries  accepted; subqueries are on by default\n"
	    "                             ($ELECTRIC_ENABLE_INTEGRATION_TESTING=true)\n"
	    "  --threads N                HTTP threads (number of CPUs)\n"
	    "  --max-connections N        open connections at most (20000)\n"
	    "  --max-open-logs N          shape logs kept open at most (4 descriptors\n"
	    "                             each; from the descriptor limit)\n"
	    "  --max-initial-requests N   concurrent requests without handle (300)\n"
	    "  --max-existing-requests N  concurrent requests with a handle (10000;\n"
	    "                             both: $ELECTRIC_MAX_CONCURRENT_REQUESTS)\n"
	    "  --idle-timeout SECS        close idle connections after this (60;\n"
	    "                             $ELECTRIC_TCP_READ/SEND_TIMEOUT)\n"
	    "  --request-timeout SECS     a new connection's request must have arrived\n"
	    "                             whole by then, trickling or not (30)\n"
	    "  --max-header SIZE          request line and headers at most (32KiB)\n"
	    "  --max-body SIZE            POST body at most (64KiB)\n"
	    "\n"
	    "Shapes:\n"
	    "  --long-poll-timeout MS     live request wait ($ELECTRIC_LONG_POLL_TIMEOUT,\n"
	    "                             20000)\n"
	    "  --sse-timeout MS           SSE stream length (60000)\n"
	    "  --keepalive-interval MS    SSE keep-alive after silence (21000)\n"
	    "  --cache-max-age SECS       max-age ($ELECTRIC_CACHE_MAX_AGE, 60)\n"
	    "  --cache-stale-age SECS     stale-while-revalidate\n"
	    "                             ($ELECTRIC_CACHE_STALE_AGE, 300)\n"
	    "  --chunk-bytes SIZE         snapshot chunk size\n"
	    "                             ($ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD, 10MiB)\n"
	    "  --max-shapes N             evict least recently read shapes above N\n"
	    "                             ($ELECTRIC_MAX_SHAPES, 0: never)\n"
	    "  --db-pool-size N           PostgreSQL connections at most\n"
	    "                             ($ELECTRIC_DB_POOL_SIZE, else 8)\n"
	    "  --db-idle-timeout TIME     close a PostgreSQL connection unused for TIME\n"
	    "                             ($ELECTRIC_REPLICATION_IDLE_TIMEOUT, 0: never)\n"
	    "  --active-timeout MS        wait for route's mark of a new shape (10000)\n"
	    "  --no-active-wait           do not wait for route (tests without route)\n"
	    "  --snapshot-timeout MS      wait for a snapshot chunk at most (60000)\n"
	    "  --max-where-length BYTES   where clause text at most (65536)\n"
	    "  --max-in-list N            items in one IN list at most (10000)\n"
	    "  --max-where-cost N         work units to compile or evaluate a where\n"
	    "                             clause at most (10000000)\n"
	    "\n"
	    "Other:\n"
	    "      --log-format FMT       text or json ($SHAPESYNC_LOG_FORMAT, text)\n"
	    "      --log-level LEVEL      debug, info, warning or error\n"
	    "                             ($ELECTRIC_LOG_LEVEL, info)\n"
	    "  -h, --help                 show this help and exit\n"
	    "  -V, --version              show the version and exit\n"
	    "\n"
	    "See shapesync-serve(1).\n");
}

static void on_signal(int sig)
{
	(void)sig;
	stop_signal = 1;
}

static const char *get_env(const char *name)
{
	return getenv(name);
}

int main(int argc, char **argv)
{
	struct ss_registry_opts ro;
	struct ss_err err = SS_ERR_INIT;
	struct sockaddr_storage addr, maddr;
	unsigned ipflags;
	struct ss_server *d, *md = NULL;
	struct ss_server_cfg sc;
	char name[300];
	pthread_t waker, registry_thread;
	struct sigaction sa;
	sigset_t mask, stopset;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int c, max_conn_given = 0;
	int64_t started_us; /* wall clock: stages not seen since start */

	ss_cli_init("shapesync-serve");
	started_us = ss_now_us();
	cfg.e.registry = DEFAULT_REGISTRY;
	cfg.subqueries = 1; /* as Electric since 1.7.10 */
	cfg.e.data_dir = DEFAULT_DATA_DIR;
	cfg.e.publication = "shapesync";
	cfg.e.bind = "127.0.0.1";
	cfg.e.port = 3000;
	cfg.e.long_poll_ms = 20000;
	cfg.e.cache_max_age = 60;
	cfg.e.cache_stale_age = 300;
	cfg.e.chunk_bytes = SS_LOG_CHUNK_BYTES_DEFAULT;
	cfg.e.max_initial = 300;
	cfg.e.max_existing = 10000;
	cfg.e.pool_size = 8;
	cfg.e.conn_timeout_s = 60;
	if (ss_envconf_serve(get_env, &cfg.e, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
	cfg.sse_timeout_ms = 60000;
	cfg.keepalive_ms = 21000;
	cfg.max_connections = 20000;
	cfg.threads = ncpu > 0 ? (int)ncpu : 2;
	cfg.active_timeout_ms = 10000;
	cfg.create_timeout_ms = 60000;
	cfg.request_timeout_s = 30;
	cfg.max_body = 64 * 1024;
	cfg.max_header = 32 * 1024;
	ss_where_limits_default(&cfg.where_limits);

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", options, NULL)) != -1) {
		switch (c) {
		case OPT_REGISTRY:
			cfg.e.registry = optarg;
			break;
		case OPT_DIR:
			cfg.e.data_dir = optarg;
			break;
		case OPT_DATABASE_URL:
			cfg.e.database_url = optarg;
			break;
		case OPT_PORT:
			cfg.e.port =
			    (int)ss_cli_opt_int(optarg, 0, 65535, "--port");
			break;
		case OPT_BIND:
			cfg.e.bind = optarg;
			break;
		case OPT_SECRET:
			cfg.e.secret = optarg;
			break;
		case OPT_INSECURE:
			cfg.e.insecure = 1;
			break;
		case OPT_PUBLICATION:
			cfg.e.publication = optarg;
			break;
		case OPT_LONG_POLL:
			cfg.e.long_poll_ms = ss_cli_opt_duration_ms(
			    optarg, "--long-poll-timeout");
			break;
		case OPT_SSE_TIMEOUT:
			cfg.sse_timeout_ms =
			    ss_cli_opt_duration_ms(optarg, "--sse-timeout");
			break;
		case OPT_KEEPALIVE:
			cfg.keepalive_ms = ss_cli_opt_duration_ms(
			    optarg, "--keepalive-interval");
			break;
		case OPT_MAX_AGE:
			cfg.e.cache_max_age = ss_cli_opt_int(
			    optarg, 0, INT32_MAX, "--cache-max-age");
			break;
		case OPT_STALE_AGE:
			cfg.e.cache_stale_age = ss_cli_opt_int(
			    optarg, 0, INT32_MAX, "--cache-stale-age");
			break;
		case OPT_CHUNK:
			cfg.e.chunk_bytes =
			    ss_cli_opt_size(optarg, "--chunk-bytes");
			break;
		case OPT_MAX_SHAPES:
			cfg.e.max_shapes = ss_cli_opt_int(optarg, 0, INT64_MAX,
							  "--max-shapes");
			break;
		case OPT_MAX_INITIAL:
			cfg.e.max_initial = ss_cli_opt_int(
			    optarg, 1, INT32_MAX, "--max-initial-requests");
			break;
		case OPT_MAX_EXISTING:
			cfg.e.max_existing = ss_cli_opt_int(
			    optarg, 1, INT32_MAX, "--max-existing-requests");
			break;
		case OPT_MAX_CONN:
			cfg.max_connections = ss_cli_opt_int(
			    optarg, 1, 1000000, "--max-connections");
			max_conn_given = 1;
			break;
		case OPT_MAX_OPEN_LOGS:
			cfg.max_open_logs = ss_cli_opt_int(optarg, 1, 1000000,
							   "--max-open-logs");
			break;
		case OPT_THREADS:
			cfg.threads =
			    (int)ss_cli_opt_int(optarg, 1, 1024, "--threads");
			break;
		case OPT_POOL:
			cfg.e.pool_size = (int)ss_cli_opt_int(optarg, 1, 1000,
							      "--db-pool-size");
			break;
		case OPT_DB_IDLE: {
			struct ss_err terr = SS_ERR_INIT;

			if (ss_envconf_time_ms("--db-idle-timeout", optarg, 1,
					       &cfg.e.db_idle_ms, &terr) < 0)
				ss_cli_usage_error("%s", terr.msg);
			break;
		}
		case OPT_METRICS_PORT:
			cfg.e.metrics_port = (int)ss_cli_opt_int(
			    optarg, 0, 65535, "--metrics-port");
			break;
		case OPT_PUBLIC_METRICS:
			cfg.public_metrics = 1;
			break;
		case OPT_ACTIVE_TIMEOUT:
			cfg.active_timeout_ms =
			    ss_cli_opt_duration_ms(optarg, "--active-timeout");
			break;
		case OPT_NO_ACTIVE_WAIT:
			cfg.no_active_wait = 1;
			break;
		case OPT_CREATE_TIMEOUT:
			cfg.create_timeout_ms = ss_cli_opt_duration_ms(
			    optarg, "--snapshot-timeout");
			break;
		case OPT_SUBQUERIES:
			cfg.subqueries = 1;
			break;
		case OPT_NO_SUBQUERIES:
			cfg.subqueries = 0;
			break;
		case OPT_INTEGRATION:
			cfg.e.integration = 1;
			break;
		case OPT_CONN_TIMEOUT:
			cfg.e.conn_timeout_s =
			    ss_cli_opt_int(optarg, 1, 86400, "--idle-timeout");
			break;
		case OPT_REQUEST_TIMEOUT:
			cfg.request_timeout_s = ss_cli_opt_int(
			    optarg, 1, 86400, "--request-timeout");
			break;
		case OPT_MAX_BODY:
			cfg.max_body = ss_cli_opt_size(optarg, "--max-body");
			break;
		case OPT_MAX_HEADER:
			cfg.max_header =
			    ss_cli_opt_size(optarg, "--max-header");
			if (cfg.max_header < 4096 || cfg.max_header > 16 << 20)
				ss_cli_usage_error(
				    "option '--max-header' must be between "
				    "4KiB and 16MiB");
			break;
		/* route holds every clause to lib/where's defaults: serve
		 * may be stricter, never looser */
		case OPT_MAX_WHERE_LENGTH:
			cfg.where_limits.max_length = (size_t)ss_cli_opt_int(
			    optarg, 1, SS_WHERE_MAX_LENGTH,
			    "--max-where-length");
			break;
		case OPT_MAX_IN_LIST:
			cfg.where_limits.max_in = (size_t)ss_cli_opt_int(
			    optarg, 1, SS_WHERE_MAX_IN, "--max-in-list");
			break;
		case OPT_MAX_WHERE_COST:
			cfg.where_limits.max_cost = (uint64_t)ss_cli_opt_int(
			    optarg, 1000, SS_WHERE_MAX_COST,
			    "--max-where-cost");
			break;
		default:
			ss_cli_common_option(c, OPT_LIST_OPTIONS, usage,
					     options, argv);
		}
	}
	if (optind < argc)
		ss_cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg.e.secret && !*cfg.e.secret)
		cfg.e.secret = NULL;
	if (cfg.e.secret && cfg.e.insecure)
		ss_cli_usage_error("both a secret and --insecure given");
	if (!cfg.e.secret && !cfg.e.insecure)
		ss_cli_usage_error(
		    "no API secret: give --secret (or $ELECTRIC_SECRET), "
		    "or --insecure (or $ELECTRIC_INSECURE=true)");
	if (!cfg.e.database_url || !*cfg.e.database_url)
		ss_cli_usage_error(
		    "no database: give --database-url or $DATABASE_URL");
	if (!*cfg.e.registry || !*cfg.e.data_dir || !*cfg.e.publication)
		ss_cli_usage_error(
		    "--registry, --dir and --publication need a value");
	if (cfg.e.long_poll_ms < 0 || cfg.sse_timeout_ms < 1000 ||
	    cfg.keepalive_ms < 100)
		ss_cli_usage_error("timeouts out of range");
	if (!ss_sockaddr_parse(cfg.e.bind, cfg.e.port, &addr))
		ss_cli_usage_error("invalid --bind address '%s'", cfg.e.bind);
	/* "::" takes IPv4 clients too (dual stack). */
	ipflags = addr.ss_family != AF_INET6
		      ? 0
		      : MHD_USE_IPv6 |
			    (strcmp(cfg.e.bind, "::") ? 0 : MHD_USE_DUAL_STACK);

	{
		/* Every connection is a descriptor: take the hard limit. */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY &&
		    ss_connguard_fd_cap((int64_t)rl.rlim_cur,
					cfg.max_connections) <
			cfg.max_connections) {
			int64_t n = ss_connguard_fd_cap((int64_t)rl.rlim_cur,
							cfg.max_connections);

			if (max_conn_given)
				ss_cli_warning("--max-connections %" PRId64
					       " is more than "
					       "the descriptor limit (%" PRId64
					       ") allows: "
					       "using %" PRId64,
					       cfg.max_connections,
					       (int64_t)rl.rlim_cur, n);
			cfg.max_connections = n;
		}
		/* What the connections leave: half for the open shape logs. */
		{
			int64_t nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
						 rl.rlim_cur != RLIM_INFINITY
					     ? (int64_t)rl.rlim_cur
					     : -1;
			int64_t n = ss_connguard_log_cap(
			    nofile, cfg.max_connections, cfg.max_open_logs);

			if (cfg.max_open_logs && n < cfg.max_open_logs)
				ss_cli_warning("--max-open-logs %" PRId64
					       " is more than the descriptor "
					       "limit (%" PRId64
					       ") leaves beside %" PRId64
					       " connections: using %" PRId64,
					       cfg.max_open_logs, nofile,
					       cfg.max_connections, n);
			cfg.max_open_logs = n;
		}
	}
	ss_registry_opts_init(&ro);
	if (ss_registry_open_existing(cfg.e.registry, &ro, &reg, &err) < 0)
		ss_cli_die_err(&err);
	if (ss_datadir_init(cfg.e.data_dir, &err) < 0)
		ss_cli_die_err(&err);
	pool = ss_pgq_pool_new(cfg.e.database_url, cfg.e.pool_size, 5);
	tables = ss_tablecache_new(describe_pg, NULL, TABLE_CACHE_US, 256);
	live = ss_live_open(&err);
	if (!live)
		ss_cli_die_err(&err);
	ss_live_set_max_logs(live, (size_t)cfg.max_open_logs);
	{
		struct ss_create_cfg cc = {
		    reg,
		    pool,
		    live,
		    cfg.e.data_dir,
		    cfg.e.publication,
		    cfg.e.chunk_bytes,
		    cfg.e.pool_size,
		    cfg.e.manual_publishing,
		    cfg.no_active_wait,
		    cfg.active_timeout_ms,
		    &stopping,
		    &m_shapes_created,
		    warn_cb,
		    NULL,
		    cfg.e.test_fail_thread_start,
		};

		creator = ss_create_new(&cc);
	}
	if (ss_create_remove_stale(creator, &err) < 0)
		ss_cli_die_err(&err);
	{
		struct ss_shapeapi_cfg ac = {
		    reg,
		    live,
		    creator,
		    tables,
		    pool,
		    &metrics,
		    cfg.e.data_dir,
		    cfg.e.secret,
		    &cfg.where_limits,
		    cfg.e.integration,
		    cfg.e.long_poll_ms,
		    cfg.sse_timeout_ms,
		    cfg.keepalive_ms,
		    cfg.create_timeout_ms,
		    cfg.e.cache_max_age,
		    cfg.e.cache_stale_age,
		    cfg.e.max_initial,
		    cfg.e.max_existing,
		    &stopping,
		    warn_cb,
		    NULL,
		    cfg.subqueries,
		};

		api = ss_shapeapi_new(&ac);
	}
	{
		struct ss_statusapi_cfg stc = {
		    reg,
		    live,
		    api,
		    &metrics,
		    &m_shapes_created,
		    &m_evicted,
		    started_us,
		    cfg.public_metrics,
		};

		ops = ss_statusapi_new(&stc);
	}
	if ((errno = ss_thread_start(&waker, NULL, waker_main, NULL)) != 0)
		ss_cli_die("could not start a thread: %s", strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* libmicrohttpd's threads inherit this mask: only main takes
	 * SIGINT/SIGTERM (see ss_signals_block). */
	ss_signals_block(&mask);
	const struct ss_server_route routes[] = {
	    {SS_HTTP_ROOT, SS_HTTP_GET, handle_root, NULL},
	    {SS_HTTP_ROOT, SS_HTTP_HEAD, handle_root, NULL},
	    {SS_HTTP_HEALTH, SS_HTTP_GET, ss_statusapi_health, ops},
	    {SS_HTTP_HEALTH, SS_HTTP_HEAD, ss_statusapi_health, ops},
	    {SS_HTTP_METRICS, SS_HTTP_GET, ss_statusapi_public_metrics, ops},
	    {SS_HTTP_METRICS, SS_HTTP_HEAD, ss_statusapi_public_metrics, ops},
	    {SS_HTTP_SHAPE, SS_HTTP_OPTIONS, ss_shapeapi_options, api},
	    {SS_HTTP_SHAPE, SS_HTTP_DELETE, ss_shapeapi_delete, api},
	    {SS_HTTP_SHAPE, SS_HTTP_GET, ss_shapeapi_get, api},
	    {SS_HTTP_SHAPE, SS_HTTP_HEAD, ss_shapeapi_get, api},
	    {SS_HTTP_SHAPE, SS_HTTP_POST, ss_shapeapi_post, api},
	};
	/* The metrics port, when separate, serves /metrics and the
	 * operator's page over it at /. */
	const struct ss_server_route metrics_routes[] = {
	    {SS_HTTP_METRICS, SS_HTTP_GET, ss_statusapi_metrics, ops},
	    {SS_HTTP_METRICS, SS_HTTP_HEAD, ss_statusapi_metrics, ops},
	    {SS_HTTP_ROOT, SS_HTTP_GET, ss_statuspage_get, NULL},
	    {SS_HTTP_ROOT, SS_HTTP_HEAD, ss_statuspage_get, NULL},
	};

	memset(&sc, 0, sizeof(sc));
	sc.addr = (struct sockaddr *)&addr;
	sc.port = cfg.e.port;
	sc.ipflags = ipflags;
	sc.threads = cfg.threads;
	sc.max_connections = cfg.max_connections;
	sc.conn_timeout_s = cfg.e.conn_timeout_s;
	sc.request_timeout_s = cfg.request_timeout_s;
	sc.max_header = cfg.max_header;
	sc.max_body = cfg.max_body;
	sc.max_args = MAX_QUERY_ARGS;
	sc.routes = routes;
	sc.nroutes = sizeof(routes) / sizeof(routes[0]);
	sc.not_found = handle_not_found;
	sc.check = ss_shapeapi_check;
	sc.ctx = api;
	sc.answered = answered;
	sc.warn = warn_cb;
	sc.tick = server_tick;
	snprintf(name, sizeof(name), "%s%s%s:%d", ipflags ? "[" : "",
		 cfg.e.bind, ipflags ? "]" : "", cfg.e.port);
	sc.name = name;
	d = ss_server_start(&sc, &err);
	if (!d) {
		ss_signals_restore(&mask);
		ss_cli_die_err(&err);
	}
	if (cfg.e.metrics_port) {
		ss_sockaddr_parse(cfg.e.bind, cfg.e.metrics_port, &maddr);
		sc.plain = 1;
		sc.addr = (struct sockaddr *)&maddr;
		sc.port = cfg.e.metrics_port;
		sc.routes = metrics_routes;
		sc.nroutes = sizeof(metrics_routes) / sizeof(metrics_routes[0]);
		sc.check = NULL;
		sc.tick = NULL; /* the main server's guard ticks */
		snprintf(name, sizeof(name), "%s%s%s:%d", ipflags ? "[" : "",
			 cfg.e.bind, ipflags ? "]" : "", cfg.e.metrics_port);
		md = ss_server_start(&sc, &err);
		if (!md) {
			ss_signals_restore(&mask);
			ss_cli_die_err(&err);
		}
	}
	ss_signals_restore(&mask);
	if ((errno = ss_thread_start(&registry_thread, NULL, registry_main,
				     NULL)) != 0)
		ss_cli_die("could not start a thread: %s", strerror(errno));
	ss_cli_info("listening on http://%s%s%s:%u", ipflags ? "[" : "",
		    cfg.e.bind, ipflags ? "]" : "", ss_server_port(d));
	/* Under a Type=notify unit: ready now (shapesync up keeps the
	 * socket to itself and tells systemd when serve answers). */
	if (ss_sdnotify_send(getenv("NOTIFY_SOCKET"), "READY=1", &err) < 0)
		ss_cli_warning("%s", err.msg);

	/* Checked with the stop signals blocked, waited for with them
	 * unblocked in one step: a signal between the check and the wait
	 * would otherwise leave pause() waiting for a second one. */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stopset, &mask);
	while (!stop_signal)
		sigsuspend(&mask);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);

	/* Orderly stop: wake every waiting request, let them answer, then
	 * stop the daemon (it must not hold suspended connections). */
	if (ss_sdnotify_send(getenv("NOTIFY_SOCKET"), "STOPPING=1", &err) < 0)
		ss_cli_warning("%s", err.msg);
	atomic_store(&stopping, 1);
	ss_live_stop(live);
	pthread_join(waker, NULL);
	pthread_join(registry_thread, NULL);
	usleep(200000);
	ss_server_close(d);
	ss_server_close(md);
	/* Creations in flight see `stopping` and abort. */
	for (c = 0; c < 100 && ss_live_any_creating(live); c++)
		usleep(50000);
	ss_shapeapi_free(api);
	ss_statusapi_free(ops);
	ss_create_free(creator);
	ss_pgq_pool_close(pool);
	ss_tablecache_free(tables);
	if (ss_registry_close(reg, &err) < 0)
		ss_cli_die_err(&err);
	ss_live_close(live);
	return 0;
}
