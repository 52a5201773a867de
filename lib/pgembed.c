/*
 * pgembed — the embedded PostgreSQL cluster of `shapesync up`. See
 * pgembed.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pg.h"
#include "pgembed.h"

/* Where a cluster goes when the postgres user cannot reach the directory
 * asked for (a clone under /root, mode 0700): a place it owns. */
#define ELSEWHERE_ROOT "/var/lib/shapesync"

void ss_argv_free(char **argv)
{
	size_t i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

void ss_pgembed_release(struct ss_pgembed *pe)
{
	free(pe->dir);
	free(pe->elsewhere);
	free(pe->sockdir);
	free(pe->bindir);
	free(pe->log_path);
	free(pe->pw_path);
	memset(pe, 0, sizeof(*pe));
}

static char *absolute(const char *path)
{
	char cwd[PATH_MAX];
	struct ss_buf b;

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return ss_xstrdup(path);
	ss_buf_init(&b);
	ss_buf_addf(&b, "%s/%s", cwd, path);
	return ss_buf_detach(&b, NULL);
}

/* access(path, mode) as the server's user: a child switches user, so the
 * answer is the kernel's, ACLs and all. */
static int user_access(const struct ss_pgembed *pe, const char *path, int mode)
{
	pid_t p;
	int st;

	if (!pe->switch_user)
		return access(path, mode) == 0;
	p = fork();
	if (p < 0)
		return 0;
	if (p == 0) {
		if (setgid(pe->gid) < 0 || setgroups(0, NULL) < 0 ||
		    setuid(pe->uid) < 0)
			_exit(2);
		_exit(access(path, mode) == 0 ? 0 : 1);
	}
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Create dir (mode 0700) for the server's user; EEXIST is fine. */
static int make_owned_dir(const struct ss_pgembed *pe, const char *dir,
			  struct ss_err *err)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not create directory '%s': %s", dir,
				  strerror(errno));
	if (pe->switch_user && chown(dir, pe->uid, pe->gid) < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not give '%s' to user postgres: %s",
				  dir, strerror(errno));
	return 0;
}

static int is_cluster(const char *dir)
{
	struct ss_buf p;
	int ok;

	ss_buf_init(&p);
	ss_buf_addf(&p, "%s/PG_VERSION", dir);
	ok = access(p.buf, F_OK) == 0;
	ss_buf_release(&p);
	return ok;
}

/* A server still running in dir (postmaster.pid names a live postgres
 * process)? A file that names another program's pid (a stale one from
 * before a reboot) is removed. */
static pid_t running_server(const char *dir)
{
	struct ss_buf p;
	long pid = 0;
	FILE *f;

	ss_buf_init(&p);
	ss_buf_addf(&p, "%s/postmaster.pid", dir);
	f = fopen(p.buf, "r");
	if (!f) {
		ss_buf_release(&p);
		return 0;
	}
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM)) {
		ss_buf_release(&p);
		return 0; /* stale: the server removes it itself */
	}
	/* A stale file from before a reboot can name a pid some other
	 * program has now: only a postgres counts. */
	{
		char comm[32] = "";
		struct ss_buf cp;
		FILE *c;

		ss_buf_init(&cp);
		ss_buf_addf(&cp, "/proc/%ld/comm", pid);
		c = fopen(cp.buf, "r");
		ss_buf_release(&cp);
		if (c) {
			if (!fgets(comm, sizeof(comm), c))
				comm[0] = '\0';
			fclose(c);
			if (strncmp(comm, "postgres", 8) != 0) {
				/* The server would refuse this file as
				 * another postmaster's: it is stale. */
				unlink(p.buf);
				ss_buf_release(&p);
				return 0;
			}
		}
	}
	ss_buf_release(&p);
	return (pid_t)pid;
}

/* The last `max` bytes of a file, for an error's detail. */
static void add_tail(struct ss_buf *b, const char *path, long max)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > max)
		fseek(f, -max, SEEK_END);
	else
		fseek(f, 0, SEEK_SET);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ss_buf_add(b, chunk, n);
	fclose(f);
	while (b->len && b->buf[b->len - 1] == '\n')
		ss_buf_setlen(b, b->len - 1);
}

static int random_password(char *out, size_t len, struct ss_err *err)
{
	static const char alnum[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char raw[64];
	size_t i;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, raw, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not read /dev/urandom");
	}
	close(fd);
	for (i = 0; i < len; i++)
		out[i] = alnum[raw[i] % (sizeof(alnum) - 1)];
	out[len] = '\0';
	return 0;
}

/* Write s to path (mode, owner) whole, or fail. */
static int write_file(const char *path, const char *s, mode_t mode,
		      int chown_to, uid_t uid, gid_t gid, struct ss_err *err)
{
	size_t len = strlen(s);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, s, len) != (ssize_t)len ||
	    (chown_to && fchown(fd, uid, gid) < 0)) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		unlink(path);
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not write '%s': %s", path,
				  strerror(e));
	}
	if (close(fd) < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not write '%s': %s", path,
				  strerror(errno));
	return 0;
}

static int run_initdb(struct ss_pgembed *pe, struct ss_err *err)
{
	char pw[33], tmpl[] = "/tmp/shapesync-pw.XXXXXX";
	struct ss_spawn_opts o;
	struct ss_buf initdb, dflag, pwflag;
	int fd, st, rc;

	if (random_password(pw, 32, err) < 0)
		return -1;
	if (write_file(pe->pw_path, pw, 0600, 0, 0, 0, err) < 0)
		return -1;
	/* initdb reads the password as the server's user: a private copy. */
	fd = mkstemp(tmpl);
	if (fd < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not create a temporary file: %s",
				  strerror(errno));
	close(fd);
	if (write_file(tmpl, pw, 0600, pe->switch_user, pe->uid, pe->gid, err) <
	    0)
		return -1;

	ss_buf_init(&initdb);
	ss_buf_init(&dflag);
	ss_buf_init(&pwflag);
	ss_buf_addf(&initdb, "%s/initdb", pe->bindir);
	ss_buf_addf(&dflag, "--pgdata=%s", pe->dir);
	ss_buf_addf(&pwflag, "--pwfile=%s", tmpl);
	{
		const char *argv[] = {initdb.buf,
				      dflag.buf,
				      "--username=postgres",
				      "--auth-local=trust",
				      "--auth-host=scram-sha-256",
				      pwflag.buf,
				      "--encoding=UTF8",
				      "--locale=C",
				      NULL};

		rc = ss_pgembed_spawn_opts(pe, &o, err);
		if (rc == 0) {
			o.deathsig = SIGKILL;
			rc = ss_run_wait((char *const *)argv, &o, 300000, &st,
					 err);
			close(o.err_fd);
		}
	}
	unlink(tmpl);
	if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		char how[96];
		struct ss_buf tail;

		ss_describe_status(st, how, sizeof(how));
		ss_err_set(err, SS_ERR_RUNTIME, "initdb %s", how);
		ss_buf_init(&tail);
		add_tail(&tail, pe->log_path, 1200);
		ss_err_detail(err, "%s", tail.buf ? tail.buf : "");
		ss_err_hint(err, "the whole log is %s", pe->log_path);
		ss_buf_release(&tail);
		rc = -1;
	}
	ss_buf_release(&initdb);
	ss_buf_release(&dflag);
	ss_buf_release(&pwflag);
	return rc;
}

/* A loopback port nobody listens on now. */
static int free_port(struct ss_err *err)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not find a free loopback port: %s",
				  strerror(errno));
	}
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int ss_pgembed_prepare(struct ss_pgembed *pe, const char *dir,
		       const char *bindir, const char *log_path,
		       const char *pw_path, struct ss_err *err)
{
	struct sockaddr_un sun;
	struct ss_buf p;
	pid_t running;
	int port;

	memset(pe, 0, sizeof(*pe));
	pe->dir = absolute(dir);
	pe->bindir = ss_xstrdup(bindir);
	pe->log_path = absolute(log_path);
	pe->pw_path = absolute(pw_path);

	ss_buf_init(&p);
	ss_buf_addf(&p, "%s/postgres", bindir);
	if (access(p.buf, X_OK) < 0) {
		ss_err_set(err, SS_ERR_RUNTIME, "no PostgreSQL server at '%s'",
			   p.buf);
		ss_err_hint(
		    err,
		    "install postgresql-15 ('make deps'), point --pg-bindir "
		    "at the server binaries, or give a database with DATABASE_URL");
		ss_buf_release(&p);
		return -1;
	}
	ss_buf_release(&p);

	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");

		if (!pw) {
			ss_err_set(
			    err, SS_ERR_RUNTIME,
			    "running as root, and there is no 'postgres' user to run "
			    "PostgreSQL as (it refuses to run as root)");
			ss_err_hint(
			    err,
			    "install postgresql-15 ('make deps'), which creates "
			    "it, or run as an ordinary user");
			return -1;
		}
		pe->switch_user = 1;
		pe->uid = pw->pw_uid;
		pe->gid = pw->pw_gid;
	}

	if (!is_cluster(pe->dir)) {
		struct stat st;

		if (ss_mkdirs(pe->dir, 1, err) < 0)
			return -1;
		if (lstat(pe->dir, &st) < 0 && pe->switch_user) {
			/* New: can the server's user reach where it is to live?
			 */
			char *parent = ss_xstrdup(pe->dir),
			     *sl = strrchr(parent, '/');

			*(sl == parent ? sl + 1 : sl) = '\0';
			if (!user_access(pe, parent, X_OK)) {
				struct ss_buf alt;

				ss_buf_init(&alt);
				ss_buf_addf(
				    &alt, "%s/pg-%016" PRIx64, ELSEWHERE_ROOT,
				    ss_hash64(pe->dir, strlen(pe->dir)));
				if (mkdir(ELSEWHERE_ROOT, 0755) < 0 &&
				    errno != EEXIST) {
					ss_err_set(
					    err, SS_ERR_RUNTIME,
					    "could not create directory '%s': %s",
					    ELSEWHERE_ROOT, strerror(errno));
					free(parent);
					ss_buf_release(&alt);
					return -1;
				}
				if (make_owned_dir(pe, alt.buf, err) < 0 ||
				    symlink(alt.buf, pe->dir) < 0) {
					if (!err->code)
						ss_err_set(
						    err, SS_ERR_RUNTIME,
						    "could not link '%s' to '%s': %s",
						    pe->dir, alt.buf,
						    strerror(errno));
					free(parent);
					ss_buf_release(&alt);
					return -1;
				}
				pe->elsewhere = ss_buf_detach(&alt, NULL);
			}
			free(parent);
		}
		if (pe->elsewhere) {
			free(pe->dir);
			pe->dir = ss_xstrdup(pe->elsewhere);
		} else if (make_owned_dir(pe, pe->dir, err) < 0) {
			return -1;
		}
		if (!user_access(pe, pe->dir, W_OK | X_OK)) {
			ss_err_set(
			    err, SS_ERR_RUNTIME,
			    "the PostgreSQL server's user cannot write to '%s'",
			    pe->dir);
			ss_err_hint(
			    err,
			    "check the permissions of its parent directories");
			return -1;
		}
		if (run_initdb(pe, err) < 0)
			return -1;
		pe->fresh = 1;
	} else {
		char real[PATH_MAX];

		if (realpath(pe->dir, real) && strcmp(real, pe->dir)) {
			pe->elsewhere = ss_xstrdup(real);
			free(pe->dir);
			pe->dir = ss_xstrdup(real);
		}
	}

	running = running_server(pe->dir);
	if (running) {
		ss_err_set(err, SS_ERR_RUNTIME,
			   "a PostgreSQL server (pid %ld) already runs in '%s'",
			   (long)running, pe->dir);
		ss_err_hint(
		    err,
		    "another 'shapesync up' on the same --dir? stop it first");
		return -1;
	}

	/* The socket lives in the cluster directory unless its path is too
	 * long for a Unix socket address. */
	if (strlen(pe->dir) + sizeof("/.s.PGSQL.65535.lock") <
	    sizeof(sun.sun_path)) {
		pe->sockdir = ss_xstrdup(pe->dir);
	} else {
		ss_buf_init(&p);
		ss_buf_addf(&p, "/tmp/shapesync-pg-%016" PRIx64,
			    ss_hash64(pe->dir, strlen(pe->dir)));
		pe->sockdir = ss_buf_detach(&p, NULL);
		if (make_owned_dir(pe, pe->sockdir, err) < 0)
			return -1;
	}
	port = free_port(err);
	if (port < 0)
		return -1;
	pe->port = port;
	return 0;
}

char **ss_pgembed_server_argv(const struct ss_pgembed *pe)
{
	char **argv = ss_xcalloc(32, sizeof(char *));
	struct ss_buf b;
	size_t n = 0;

#define ARG(...)                                                               \
	do {                                                                   \
		ss_buf_init(&b);                                               \
		ss_buf_addf(&b, __VA_ARGS__);                                  \
		argv[n++] = ss_buf_detach(&b, NULL);                           \
	} while (0)
	ARG("%s/postgres", pe->bindir);
	ARG("-D");
	ARG("%s", pe->dir);
	ARG("-p");
	ARG("%d", pe->port);
	ARG("-k");
	ARG("%s", pe->sockdir);
	ARG("-c");
	ARG("listen_addresses=127.0.0.1");
	ARG("-c");
	ARG("wal_level=logical");
	ARG("-c");
	ARG("max_wal_senders=10");
	ARG("-c");
	ARG("max_replication_slots=10");
	ARG("-c");
	ARG("logging_collector=off");
#undef ARG
	argv[n] = NULL;
	return argv;
}

int ss_pgembed_spawn_opts(const struct ss_pgembed *pe, struct ss_spawn_opts *o,
			  struct ss_err *err)
{
	int fd =
	    open(pe->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not open '%s': %s", pe->log_path,
				  strerror(errno));
	ss_spawn_opts_init(o);
	o->out_fd = o->err_fd = fd;
	o->deathsig = SIGINT;
	o->switch_user = pe->switch_user;
	o->uid = pe->uid;
	o->gid = pe->gid;
	o->user = pe->switch_user ? "postgres" : NULL;
	return 0;
}

void ss_pgembed_conninfo(const struct ss_pgembed *pe, struct ss_buf *b)
{
	const char *s;

	ss_buf_adds(b, "host='");
	for (s = pe->sockdir; *s; s++) {
		if (*s == '\'' || *s == '\\')
			ss_buf_addc(b, '\\');
		ss_buf_addc(b, *s);
	}
	ss_buf_addf(b, "' port=%d user=postgres dbname=postgres", pe->port);
}

int ss_pgembed_wait_ready(const struct ss_pgembed *pe, pid_t pid,
			  int64_t timeout_ms, struct ss_err *err)
{
	int64_t deadline = ss_mono_us() + timeout_ms * 1000;
	struct ss_buf ci;
	int rc = -1;

	ss_buf_init(&ci);
	ss_pgembed_conninfo(pe, &ci);
	for (;;) {
		struct timespec ts = {0, 50 * 1000000L};
		siginfo_t si;

		if (PQping(ci.buf) == PQPING_OK) {
			rc = 0;
			break;
		}
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid) {
			ss_err_set(err, SS_ERR_RUNTIME,
				   "the PostgreSQL server in '%s' "
				   "stopped while starting",
				   pe->dir);
			break;
		}
		if (ss_mono_us() >= deadline) {
			ss_err_set(err, SS_ERR_RUNTIME,
				   "the PostgreSQL server in '%s' "
				   "did not accept connections within %lld s",
				   pe->dir, (long long)(timeout_ms / 1000));
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (rc < 0) {
		struct ss_buf tail;

		ss_buf_init(&tail);
		add_tail(&tail, pe->log_path, 800);
		if (tail.len)
			ss_err_detail(err, "%s", tail.buf);
		ss_err_hint(err, "its log is %s", pe->log_path);
		ss_buf_release(&tail);
	}
	ss_buf_release(&ci);
	return rc;
}

int ss_pgembed_create_demo(const char *conninfo, int *created,
			   struct ss_err *err)
{
	static const char sql[] =
	    "CREATE TABLE items ("
	    " id bigint PRIMARY KEY,"
	    " title text NOT NULL,"
	    " status text NOT NULL DEFAULT 'todo',"
	    " priority integer NOT NULL DEFAULT 0,"
	    " updated_at timestamptz NOT NULL DEFAULT now());"
	    "INSERT INTO items (id, title, status, priority) VALUES"
	    " (1, 'Start shapesync up', 'done', 2),"
	    " (2, 'Follow the items shape with curl', 'todo', 1),"
	    " (3, 'Follow it with the TypeScript client', 'todo', 1),"
	    " (4, 'Change a row in psql and watch it arrive', 'todo', 3),"
	    " (5, 'Compose the stages by hand', 'todo', 0)";
	struct ss_pg *pg = NULL;
	PGresult *res = NULL;
	int rc;

	*created = 0;
	if (ss_pg_open(conninfo, 0, "shapesync-up", &pg, err) < 0)
		return -1;
	rc = ss_pg_exec(pg, "looking for the demo table",
			"SELECT to_regclass('public.items') IS NULL", 0, NULL,
			&res, NULL, err);
	if (rc == 0 && PQntuples(res) == 1 &&
	    !strcmp(PQgetvalue(res, 0, 0), "t")) {
		rc = ss_pg_exec(pg, "creating the demo table", sql, 0, NULL,
				NULL, NULL, err);
		if (rc == 0)
			*created = 1;
	}
	PQclear(res);
	ss_pg_close(pg);
	return rc;
}
