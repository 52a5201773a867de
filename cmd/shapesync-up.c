/*
 * shapesync-up — run the whole pipeline with one set of defaults:
 * `replicate | route | store` and `serve`, supervised (a stage that dies is
 * restarted with backoff; one that reports bad usage or bad input stops
 * everything), with an embedded PostgreSQL when no database is given.
 * The supervising is lib/supervise, the embedded cluster lib/pgembed; this
 * file is options, wiring and messages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "envconf.h"
#include "pgembed.h"
#include "sdnotify.h"
#include "supervise.h"

#define DEFAULT_PG_BINDIR "/usr/lib/postgresql/15/bin"

/* In the order of the --<stage>-arg options. */
enum { STAGE_REPLICATE, STAGE_ROUTE, STAGE_STORE, STAGE_SERVE, NSTAGES };

/* Extra arguments for one stage (--<stage>-arg, repeatable). */
struct extra {
	const char **v;
	size_t n, alloc;
};

static struct {
	const char *dir, *database_url, *bind, *secret, *slot, *publication;
	const char *pg_bindir;
	int port, insecure, no_demo, restart_max, bind_given;
	struct extra extra[NSTAGES], compact_extra;
	int64_t compact_ms; /* 0: no compaction */
} opt;

/* Where to reach serve: its address, or loopback for "listen on all". */
static const char *probe_addr(void)
{
	if (!strcmp(opt.bind, "::"))
		return "::1";
	if (!strcmp(opt.bind, "0.0.0.0"))
		return "127.0.0.1";
	return opt.bind;
}

static volatile sig_atomic_t stop_requested;

static void usage(void)
{
	printf(
	    "Usage: shapesync up [OPTION]...\n"
	    "\n"
	    "Runs the whole pipeline: shapesync-replicate | shapesync-route |\n"
	    "shapesync-store, and shapesync-serve, restarting a stage that dies.\n"
	    "With no database given it starts a PostgreSQL of its own in DIR/pg\n"
	    "with a demo table, so there is something to sync at once.\n"
	    "\n"
	    "Where:\n"
	    "  --dir DIR             state: DIR/registry.db, DIR/data, DIR/pg\n"
	    "                        (default: ./var)\n"
	    "  --database-url URL    PostgreSQL to follow (default: $DATABASE_URL;\n"
	    "                        none: the embedded one)\n"
	    "  --db URL              the same\n"
	    "  --pg-bindir DIR       server binaries for the embedded PostgreSQL\n"
	    "                        (default: $PG_BINDIR, else %s)\n"
	    "  --no-demo             no demo table in a new embedded PostgreSQL\n"
	    "\n"
	    "HTTP:\n"
	    "  --port N              serve's port (default: $ELECTRIC_PORT, else\n"
	    "                        3000; 0: a free one)\n"
	    "  --bind ADDR           address to listen on (default: 127.0.0.1)\n"
	    "  --secret S            API secret (default: $ELECTRIC_SECRET)\n"
	    "  --insecure            no secret (the default on a loopback address)\n"
	    "\n"
	    "Replication:\n"
	    "  --slot NAME           replication slot (default: shapesync;\n"
	    "                        electric_slot_<id> with\n"
	    "                        $ELECTRIC_REPLICATION_STREAM_ID)\n"
	    "  --publication NAME    publication (default: shapesync;\n"
	    "                        electric_publication_<id>)\n"
	    "\n"
	    "Stages:\n"
	    "  --replicate-arg ARG   pass ARG to shapesync-replicate (repeatable)\n"
	    "  --route-arg ARG       pass ARG to shapesync-route (repeatable)\n"
	    "  --store-arg ARG       pass ARG to shapesync-store (repeatable)\n"
	    "  --serve-arg ARG       pass ARG to shapesync-serve (repeatable)\n"
	    "  --compact-interval TIME  compact shape logs this often with\n"
	    "                        shapesync-db compact --all (default: 10m;\n"
	    "                        0: never)\n"
	    "  --compact-arg ARG     pass ARG to that compact (repeatable)\n"
	    "  --restart-max SECONDS longest wait before restarting a stage that\n"
	    "                        keeps dying (default: 30; the wait starts at\n"
	    "                        0.1 s and doubles)\n"
	    "\n"
	    "Other:\n"
	    "      --log-format FMT  text or json ($SHAPESYNC_LOG_FORMAT, text)\n"
	    "      --log-level LEVEL debug, info, warning or error\n"
	    "                        ($ELECTRIC_LOG_LEVEL, info)\n"
	    "  -h, --help            show this help and exit\n"
	    "  -V, --version         show the version and exit\n"
	    "\n"
	    "See shapesync-up(1).\n",
	    DEFAULT_PG_BINDIR);
}

enum {
	OPT_DIR = 256,
	OPT_DB,
	OPT_PG_BINDIR,
	OPT_NO_DEMO,
	OPT_PORT,
	OPT_BIND,
	OPT_SECRET,
	OPT_INSECURE,
	OPT_SLOT,
	OPT_PUBLICATION,
	OPT_ARG_REPLICATE,
	OPT_ARG_ROUTE,
	OPT_ARG_STORE,
	OPT_ARG_SERVE,
	OPT_RESTART_MAX,
	OPT_COMPACT_INTERVAL,
	OPT_ARG_COMPACT,
	OPT_LIST_OPTIONS
};

static const struct option options[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"database-url", required_argument, NULL, OPT_DB},
    {"db", required_argument, NULL, OPT_DB},
    {"pg-bindir", required_argument, NULL, OPT_PG_BINDIR},
    {"no-demo", no_argument, NULL, OPT_NO_DEMO},
    {"port", required_argument, NULL, OPT_PORT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"slot", required_argument, NULL, OPT_SLOT},
    {"publication", required_argument, NULL, OPT_PUBLICATION},
    {"replicate-arg", required_argument, NULL, OPT_ARG_REPLICATE},
    {"route-arg", required_argument, NULL, OPT_ARG_ROUTE},
    {"store-arg", required_argument, NULL, OPT_ARG_STORE},
    {"serve-arg", required_argument, NULL, OPT_ARG_SERVE},
    {"restart-max", required_argument, NULL, OPT_RESTART_MAX},
    {"compact-interval", required_argument, NULL, OPT_COMPACT_INTERVAL},
    {"compact-arg", required_argument, NULL, OPT_ARG_COMPACT},
    SS_CLI_LOG_OPTIONS,
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0}};

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ---------------------------------------------------------------- argv */

struct argv_b {
	char **v;
	size_t n, alloc;
};

static void arg(struct argv_b *a, const char *s)
{
	ss_grow((void **)&a->v, &a->alloc, a->n + 2, sizeof(char *));
	a->v[a->n++] = ss_xstrdup(s);
	a->v[a->n] = NULL;
}

/* An option and its value. */
static void arg2(struct argv_b *a, const char *name, const char *value)
{
	arg(a, name);
	arg(a, value);
}

static void arg_program(struct argv_b *a, const char *name)
{
	char path[PATH_MAX];

	if (ss_cli_find_program(name, path, sizeof(path)) < 0)
		ss_cli_die("cannot find '%s' next to this program or on PATH",
			   name);
	arg(a, path);
}

static void arg_extra(struct argv_b *a, int stage)
{
	size_t i;

	for (i = 0; i < opt.extra[stage].n; i++)
		arg(a, opt.extra[stage].v[i]);
}

static void path_in(struct ss_buf *b, const char *name)
{
	ss_buf_reset(b);
	ss_buf_addf(b, "%s/%s", opt.dir, name);
}

/* ------------------------------------------------------------- events */

static void on_event(const struct ss_sup_event *ev, void *ctx)
{
	char how[96];

	(void)ctx;
	switch (ev->kind) {
	case SS_SUP_STARTED:
		if (ev->restarts)
			ss_cli_info("started %s again (restart %u)", ev->unit,
				    ev->restarts);
		break;
	case SS_SUP_EXITED:
		/* An orderly stop is quiet; anything else is said. */
		if (ev->expected &&
		    ((WIFEXITED(ev->status) && WEXITSTATUS(ev->status) == 0) ||
		     (WIFSIGNALED(ev->status) &&
		      (WTERMSIG(ev->status) == SIGTERM ||
		       WTERMSIG(ev->status) == SIGINT ||
		       WTERMSIG(ev->status) == SIGPIPE))))
			break;
		ss_describe_status(ev->status, how, sizeof(how));
		ss_cli_warning("%s (pid %ld) %s", ev->program, (long)ev->pid,
			       how);
		break;
	case SS_SUP_RESTARTING:
		ss_cli_info("restarting %s in %lld ms", ev->unit,
			    (long long)ev->delay_ms);
		break;
	case SS_SUP_FATAL:
		ss_describe_status(ev->status, how, sizeof(how));
		ss_cli_error(
		    "%s (pid %ld) %s: retrying would fail the same way",
		    ev->program, (long)ev->pid, how);
		break;
	case SS_SUP_START_FAILED:
		ss_cli_warning(
		    "could not start %s: %s; trying again in %lld ms", ev->unit,
		    ev->err ? ev->err->msg : "?", (long long)ev->delay_ms);
		break;
	}
	fflush(stderr);
}

/* ------------------------------------------------------------ helpers */

/* Bind addr:port to see that it is free (port 0: pick one). Returns the
 * port, or exits with a clear message. */
static int check_port(const char *addr, int port)
{
	struct sockaddr_storage a;
	socklen_t len = ss_sockaddr_parse(addr, port, &a);
	int fd, one = 1;

	if (!len)
		ss_cli_usage_error("--bind: '%s' is not an IP address", addr);
	fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		ss_cli_die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, len) < 0) {
		ss_cli_log(SS_LOG_ERROR, NULL,
			   "choose another port with --port (0 picks a "
			   "free one)",
			   "cannot listen on %s:%d: %s", addr, port,
			   strerror(errno));
		exit(SS_ERR_RUNTIME);
	}
	len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.ss_family == AF_INET6
			 ? ((struct sockaddr_in6 *)&a)->sin6_port
			 : ((struct sockaddr_in *)&a)->sin_port);
}

/* What the ready lines print, once serve first accepts connections. */
struct ready {
	int embedded;
	const char *conninfo;
	const char *notify; /* $NOTIFY_SOCKET as up found it, or NULL */
};

/* Tell systemd (Type=notify) STATE; a failure is worth a warning only. */
static void notify(const char *socket_path, const char *state)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_sdnotify_send(socket_path, state, &err) < 0)
		ss_cli_warning("%s", err.msg);
}

/* ss_sup_poll_fn: has serve started listening? Then say where to point a
 * client. Polled from the supervision loop, so a stage that dies while
 * serve starts is restarted (or stops everything) as at any other time. */
static int ready_poll(void *ctx)
{
	const struct ready *rd = ctx;
	struct sockaddr_storage a;
	socklen_t alen = ss_sockaddr_parse(probe_addr(), opt.port, &a);
	char url[80];
	int fd, ok;

	/* Non-blocking, at most 50 ms: a connect whose SYN goes unanswered
	 * (a full accept queue) must not hold up the supervision loop. */
	fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, alen) == 0;
	if (fd >= 0 && !ok && errno == EINPROGRESS) {
		struct pollfd pfd = {fd, POLLOUT, 0};
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		ok = poll(&pfd, 1, 50) == 1 &&
		     getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
		     soerr == 0;
	}
	if (fd >= 0)
		close(fd);
	if (!ok)
		return 0;
	ss_sockaddr_url_host(opt.bind, opt.port, url, sizeof(url));
	ss_cli_info("ready: shapes at http://%s/v1/shape", url);
	if (rd->embedded) {
		ss_cli_info(
		    "try:  curl -i 'http://%s/v1/shape?table=items&offset=-1'",
		    url);
		ss_cli_info("psql: psql \"%s\"", rd->conninfo);
	}
	ss_cli_info("stop with ^C (SIGINT) or SIGTERM");
	notify(rd->notify, "READY=1\nSTATUS=serving shapes");
	return 1;
}

/* Run a one-shot program to the end; exit with a message if it failed. */
static void run_step(char **argv, const char *what)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_spawn_opts o;
	char how[96];
	int st;

	ss_spawn_opts_init(&o);
	o.deathsig = SIGTERM;
	if (ss_run_wait(argv, &o, 120000, &st, &err) < 0) {
		ss_err_prefix(&err, "%s", what);
		ss_cli_die_err(&err);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		ss_describe_status(st, how, sizeof(how));
		ss_cli_error("%s: %s %s", what, argv[0], how);
		exit(SS_ERR_RUNTIME);
	}
}

/* --------------------------------------------------------------- main */

static void parse_options(int argc, char **argv)
{
	const char *port_env;
	int c, st;

	opt.dir = "var";
	opt.restart_max = 30;
	opt.compact_ms = 600000; /* Electric's compaction runs every 10 min */
	opt.database_url = ss_cli_env_or("DATABASE_URL", NULL);
	opt.bind = "127.0.0.1";
	opt.secret = ss_cli_env_or("ELECTRIC_SECRET", NULL);
	opt.slot = "shapesync";
	opt.publication = "shapesync";
	{
		/* Electric's names, which up passes on as options. */
		static char slot[SS_ENVCONF_NAME_MAX], pub[SS_ENVCONF_NAME_MAX];
		struct ss_err err = SS_ERR_INIT;
		const char *id =
		    ss_cli_env_or("ELECTRIC_REPLICATION_STREAM_ID", NULL);

		if (id) {
			if (ss_envconf_stream_names(
				"ELECTRIC_REPLICATION_STREAM_ID", id, slot, pub,
				&err) < 0)
				ss_cli_usage_error("%s", err.msg);
			opt.slot = slot;
			opt.publication = pub;
		}
	}
	opt.pg_bindir = ss_cli_env_or("PG_BINDIR", DEFAULT_PG_BINDIR);
	port_env = ss_cli_env_or("ELECTRIC_PORT", NULL);
	opt.port =
	    port_env ? (int)ss_cli_opt_int(port_env, 0, 65535, "ELECTRIC_PORT")
		     : 3000;

	while ((c = getopt_long(argc, argv, ":hV", options, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			opt.dir = optarg;
			break;
		case OPT_DB:
			opt.database_url = optarg;
			break;
		case OPT_PG_BINDIR:
			opt.pg_bindir = optarg;
			break;
		case OPT_NO_DEMO:
			opt.no_demo = 1;
			break;
		case OPT_PORT:
			opt.port =
			    (int)ss_cli_opt_int(optarg, 0, 65535, "--port");
			break;
		case OPT_BIND:
			opt.bind = optarg;
			opt.bind_given = 1;
			break;
		case OPT_SECRET:
			opt.secret = optarg;
			break;
		case OPT_INSECURE:
			opt.insecure = 1;
			break;
		case OPT_SLOT:
			opt.slot = optarg;
			break;
		case OPT_PUBLICATION:
			opt.publication = optarg;
			break;
		case OPT_RESTART_MAX:
			opt.restart_max = (int)ss_cli_opt_int(optarg, 1, 3600,
							      "--restart-max");
			break;
		case OPT_COMPACT_INTERVAL: {
			struct ss_err err = SS_ERR_INIT;

			if (ss_envconf_time_ms("--compact-interval", optarg, 1,
					       &opt.compact_ms, &err) < 0)
				ss_cli_usage_error("%s", err.msg);
			break;
		}
		case OPT_ARG_COMPACT:
			ss_grow((void **)&opt.compact_extra.v,
				&opt.compact_extra.alloc,
				opt.compact_extra.n + 1, sizeof(char *));
			opt.compact_extra.v[opt.compact_extra.n++] = optarg;
			break;
		case OPT_ARG_REPLICATE:
		case OPT_ARG_ROUTE:
		case OPT_ARG_STORE:
		case OPT_ARG_SERVE:
			st = c - OPT_ARG_REPLICATE;
			ss_grow((void **)&opt.extra[st].v, &opt.extra[st].alloc,
				opt.extra[st].n + 1, sizeof(char *));
			opt.extra[st].v[opt.extra[st].n++] = optarg;
			break;
		default:
			ss_cli_common_option(c, OPT_LIST_OPTIONS, usage,
					     options, argv);
		}
	}
	if (optind < argc)
		ss_cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!*opt.dir)
		ss_cli_usage_error("--dir: empty");
	if (opt.secret && opt.insecure)
		ss_cli_usage_error(
		    "--secret and --insecure exclude each other");
	if (!opt.bind_given) {
		/* As serve reads it: Electric's setting picks IPv6 loopback. */
		const char *v = ss_cli_env_or("ELECTRIC_LISTEN_ON_IPV6", NULL);
		struct ss_err err = SS_ERR_INIT;
		int b = 0;

		if (v &&
		    ss_envconf_bool("ELECTRIC_LISTEN_ON_IPV6", v, &b, &err) < 0)
			ss_cli_usage_error("%s", err.msg);
		if (b)
			opt.bind = "::1";
	}
	if (!opt.secret && !opt.insecure) {
		struct sockaddr_storage a;

		if (!ss_sockaddr_parse(opt.bind, 0, &a))
			ss_cli_usage_error("--bind: '%s' is not an IP address",
					   opt.bind);
		if (!ss_sockaddr_loopback(&a))
			ss_cli_usage_error(
			    "listening on %s needs --secret (or --insecure)",
			    opt.bind);
		opt.insecure = 1;
	}
}

int main(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_pgembed pe;
	struct ss_buf registry, data, conninfo;
	struct ready rd;
	struct argv_b a[NSTAGES];
	struct sigaction sa;
	struct ss_sup *sup;
	sigset_t block;
	int embedded, rc, i;
	char port[16];

	ss_cli_init("shapesync-up");
	parse_options(argc, argv);
	/* Readiness is up's to tell (systemd listens to the main process
	 * only): the stages do not see the socket. */
	rd.notify = getenv("NOTIFY_SOCKET");
	if (rd.notify) {
		rd.notify = ss_xstrdup(rd.notify);
		unsetenv("NOTIFY_SOCKET");
	}
	/* The stages log as up does, in one stream. */
	ss_cli_log_export();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* Before anything is started: a busy port is a plain message. */
	opt.port = check_port(opt.bind, opt.port);
	ss_buf_init(&registry);
	ss_buf_init(&data);
	ss_buf_init(&conninfo);
	if (ss_mkdirs(opt.dir, 0, &err) < 0)
		ss_cli_die_err(&err);
	path_in(&registry, "registry.db");
	path_in(&data, "data");

	sup = ss_sup_new(100, (int64_t)opt.restart_max * 1000, 10000, on_event,
			 NULL);
	memset(&pe, 0, sizeof(pe));
	embedded = !opt.database_url || !*opt.database_url;
	if (embedded) {
		struct ss_spawn_opts o;
		struct ss_buf pgdir, log, pw;
		char **sargv;

		ss_buf_init(&pgdir);
		ss_buf_init(&log);
		ss_buf_init(&pw);
		path_in(&pgdir, "pg");
		path_in(&log, "pg.log");
		path_in(&pw, "pg-password");
		ss_cli_info("no DATABASE_URL: starting PostgreSQL in %s",
			    pgdir.buf);
		if (ss_pgembed_prepare(&pe, pgdir.buf, opt.pg_bindir, log.buf,
				       pw.buf, &err) < 0)
			ss_cli_die_err(&err);
		if (pe.elsewhere)
			ss_cli_info(
			    "user postgres cannot reach %s, so the cluster lives "
			    "in %s (linked from there)",
			    pgdir.buf, pe.elsewhere);
		ss_buf_release(&pgdir);
		ss_buf_release(&log);
		ss_buf_release(&pw);
		if (ss_pgembed_spawn_opts(&pe, &o, &err) < 0)
			ss_cli_die_err(&err);
		sargv = ss_pgembed_server_argv(&pe);
		ss_sup_add(sup, "postgres", 1, (char *const *const[]){sargv},
			   &o, SIGINT);
		ss_argv_free(sargv);
		rc = ss_sup_start(sup, &err);
		close(o.err_fd);
		if (rc < 0)
			ss_cli_die_err(&err);
		if (ss_pgembed_wait_ready(&pe, ss_sup_pid(sup, "postgres", 0),
					  60000, &err) < 0) {
			ss_sup_stop(sup, 10000);
			ss_cli_die_err(&err);
		}
		ss_pgembed_conninfo(&pe, &conninfo);
		if (pe.fresh && !opt.no_demo) {
			int created;

			if (ss_pgembed_create_demo(conninfo.buf, &created,
						   &err) < 0) {
				ss_sup_stop(sup, 10000);
				ss_cli_die_err(&err);
			}
		}
	} else {
		ss_buf_adds(&conninfo, opt.database_url);
	}

	/* The registry, then the slot (both idempotent), before the stages. */
	if (access(registry.buf, F_OK) < 0) {
		struct argv_b init = {0};

		arg_program(&init, "shapesync-db");
		arg2(&init, "--registry", registry.buf);
		arg2(&init, "--dir", data.buf);
		arg(&init, "init");
		run_step(init.v, "creating the registry");
		ss_argv_free(init.v);
	}
	snprintf(port, sizeof(port), "%d", opt.port);
	memset(a, 0, sizeof(a));
	arg_program(&a[STAGE_REPLICATE], "shapesync-replicate");
	arg2(&a[STAGE_REPLICATE], "--db", conninfo.buf);
	arg2(&a[STAGE_REPLICATE], "--slot", opt.slot);
	arg2(&a[STAGE_REPLICATE], "--publication", opt.publication);
	arg_program(&a[STAGE_ROUTE], "shapesync-route");
	arg2(&a[STAGE_ROUTE], "--dir", data.buf);
	/* route's move-in queries go where serve's snapshots go */
	arg2(&a[STAGE_ROUTE], "--db",
	     embedded
		 ? conninfo.buf
		 : ss_cli_env_or("ELECTRIC_QUERY_DATABASE_URL",
				 ss_cli_env_or("ELECTRIC_POOLED_DATABASE_URL",
					       conninfo.buf)));
	arg_program(&a[STAGE_STORE], "shapesync-store");
	arg2(&a[STAGE_STORE], "--dir", data.buf);
	arg_program(&a[STAGE_SERVE], "shapesync-serve");
	/* serve queries through Electric's query URL when one is given
	 * (a pooler's); replicate keeps the direct one. */
	arg2(&a[STAGE_SERVE], "--database-url",
	     embedded
		 ? conninfo.buf
		 : ss_cli_env_or("ELECTRIC_QUERY_DATABASE_URL",
				 ss_cli_env_or("ELECTRIC_POOLED_DATABASE_URL",
					       conninfo.buf)));
	arg2(&a[STAGE_SERVE], "--dir", data.buf);
	arg2(&a[STAGE_SERVE], "--publication", opt.publication);
	arg2(&a[STAGE_SERVE], "--bind", opt.bind);
	arg2(&a[STAGE_SERVE], "--port", port);
	if (opt.secret)
		arg2(&a[STAGE_SERVE], "--secret", opt.secret);
	else
		arg(&a[STAGE_SERVE], "--insecure");
	for (i = 0; i < NSTAGES; i++)
		arg2(&a[i], "--registry", registry.buf);
	{
		/* The slot: replicate's own arguments, and --create-slot. */
		struct argv_b slot = {0};
		size_t k;

		for (k = 0; k < a[STAGE_REPLICATE].n; k++)
			arg(&slot, a[STAGE_REPLICATE].v[k]);
		arg(&slot, "--create-slot");
		run_step(slot.v, "creating the replication slot");
		ss_argv_free(slot.v);
	}
	for (i = 0; i < NSTAGES; i++)
		arg_extra(&a[i], i);
	{
		struct ss_spawn_opts o;

		ss_spawn_opts_init(&o);
		o.deathsig = SIGTERM;
		ss_sup_add(sup, "replicate | route | store", 3,
			   (char *const *const[]){a[0].v, a[1].v, a[2].v}, &o,
			   SIGTERM);
		ss_sup_add(sup, "serve", 1, (char *const *const[]){a[3].v}, &o,
			   SIGTERM);
		if (opt.compact_ms) {
			/* Compaction, on its timer: one more unit. */
			struct argv_b cv = {0};
			char every[32];
			size_t k;

			snprintf(every, sizeof(every), "%" PRId64 "ms",
				 opt.compact_ms);
			arg_program(&cv, "shapesync-db");
			arg2(&cv, "--registry", registry.buf);
			arg2(&cv, "--dir", data.buf);
			arg(&cv, "compact");
			arg(&cv, "--all");
			arg(&cv, "--quiet");
			arg2(&cv, "--every", every);
			for (k = 0; k < opt.compact_extra.n; k++)
				arg(&cv, opt.compact_extra.v[k]);
			ss_sup_add(sup, "compact", 1,
				   (char *const *const[]){cv.v}, &o, SIGTERM);
			ss_argv_free(cv.v);
		}
	}
	for (i = 0; i < NSTAGES; i++)
		ss_argv_free(a[i].v);

	/* From here a stop signal waits for ss_sup_run, so none is lost. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (!stop_requested && ss_sup_start(sup, &err) < 0) {
		ss_sup_stop(sup, 10000);
		ss_cli_die_err(&err);
	}
	rd.embedded = embedded;
	rd.conninfo = conninfo.buf;
	ss_sup_set_poll(sup, ready_poll, &rd, 50);

	rc = stop_requested ? 0 : ss_sup_run(sup, &stop_requested, &err);
	if (rc == 0)
		ss_cli_info("stopping");
	notify(rd.notify, "STOPPING=1");
	ss_sup_stop(sup, 15000);
	ss_sup_free(sup);
	ss_pgembed_release(&pe);
	ss_buf_release(&registry);
	ss_buf_release(&data);
	ss_buf_release(&conninfo);
	free((char *)rd.notify);
	if (rc < 0) {
		ss_err_prefix(&err, "stopped everything");
		err.code = SS_ERR_RUNTIME;
		ss_cli_die_err(&err);
	}
	return 0;
}
