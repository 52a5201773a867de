/*
 * pgembed — a PostgreSQL cluster of our own, for `shapesync up` when no
 * database is given: initdb into a directory (once), then a server with
 * wal_level=logical that listens on a Unix socket and on a free loopback
 * port. As root the server runs as the `postgres` user (PostgreSQL refuses
 * root). Starting and watching the server process is the caller's (it is
 * one more supervised unit); this module prepares the directory, builds
 * the server's command line and says when it accepts connections.
 */
#ifndef SS_PGEMBED_H
#define SS_PGEMBED_H

#include <stdint.h>
#include <sys/types.h>

#include "supervise.h"
#include "util.h"

struct ss_pgembed {
	char *dir;	 /* the cluster's data directory, absolute (owned) */
	char *elsewhere; /* non-NULL: dir is not the one asked for, which is a
			  * symlink to it (the postgres user could not reach
			  * the asked-for place); owned */
	char *sockdir;	 /* Unix socket directory (owned) */
	char *bindir;	 /* PostgreSQL server binaries (owned) */
	char *log_path;	 /* the server's (and initdb's) log (owned) */
	char *pw_path; /* password of database user postgres for TCP (owned) */
	int port;
	int fresh;	 /* initdb ran in this ss_pgembed_prepare */
	int switch_user; /* run as uid/gid (we are root) */
	uid_t uid;
	gid_t gid;
};

/*
 * Prepare the cluster in `dir` (made absolute; created with initdb if it
 * holds no cluster yet), using the binaries in `bindir`, logging to
 * `log_path`; the TCP password goes to `pw_path` (mode 0600). Picks the
 * socket directory and a free port. Fails with a clear error and hint when
 * the binaries are missing, a server already runs in dir, or initdb fails
 * (the end of its log in the detail). Release pe with ss_pgembed_release
 * whatever the result.
 */
int ss_pgembed_prepare(struct ss_pgembed *pe, const char *dir,
		       const char *bindir, const char *log_path,
		       const char *pw_path, struct ss_err *err);
void ss_pgembed_release(struct ss_pgembed *pe);

/* The server's argv (*new*, NULL-terminated: free with ss_argv_free). */
char **ss_pgembed_server_argv(const struct ss_pgembed *pe);
void ss_argv_free(char **argv);

/* Spawn options for the server: user switch; output to the log (the fd is
 * opened here, *new*: the caller closes it once the server is started);
 * parent-death signal SIGINT (fast shutdown). -1 if the log cannot open. */
int ss_pgembed_spawn_opts(const struct ss_pgembed *pe, struct ss_spawn_opts *o,
			  struct ss_err *err);

/* A libpq connection string for the cluster over the socket, as database
 * user postgres, database postgres. */
void ss_pgembed_conninfo(const struct ss_pgembed *pe, struct ss_buf *b);

/*
 * Wait until the server accepts connections, at most timeout_ms. pid is
 * the server process: if it ends first, fail at once (it is not reaped, so
 * a supervisor still sees its exit). The error's hint names the log.
 */
int ss_pgembed_wait_ready(const struct ss_pgembed *pe, pid_t pid,
			  int64_t timeout_ms, struct ss_err *err);

/*
 * The demo data a first run shows: table `items` with a few rows, created
 * only if there is no table of that name. *created says whether it was.
 */
int ss_pgembed_create_demo(const char *conninfo, int *created,
			   struct ss_err *err);

#endif
