/*
 * supervise — start programs as child processes and keep them running.
 *
 * A *unit* is one program, or several joined stdout-to-stdin by pipes (a
 * pipeline), that live and die together: when any process of a unit ends
 * while the supervisor is not stopping, the rest of the unit is stopped and
 * the whole unit is started again after a backoff delay. A process that
 * exits with status 2 (usage) or 3 (bad input) is *fatal*: restarting it
 * would fail the same way, so ss_sup_run returns and the caller stops
 * everything.
 *
 * Children run each in a process group of its own (so a terminal's ^C
 * reaches only the supervisor, which stops them in order),
 * get a parent-death signal (they do not outlive a supervisor killed with
 * SIGKILL), start with every signal unblocked and default dispositions,
 * and may run as another user (the embedded PostgreSQL as `postgres`).
 *
 * The library never prints: what happens to children is reported through
 * an event callback, and the caller words it.
 */
#ifndef SS_SUPERVISE_H
#define SS_SUPERVISE_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* How to start one child. Everything is *borrowed* for the call. */
struct ss_spawn_opts {
	int in_fd, out_fd,
	    err_fd;	 /* -1: /dev/null for in, inherit for out/err */
	int pgid;	 /* process group to join; 0: a new one */
	int deathsig;	 /* sent when the supervisor dies; 0: none */
	int switch_user; /* run as uid/gid below (from root) */
	uid_t uid;
	gid_t gid;
	const char *user; /* for supplementary groups; may be NULL */
	const char *cwd;  /* NULL: the supervisor's */
};

void ss_spawn_opts_init(struct ss_spawn_opts *o);

/*
 * Start argv[0] (a path: no PATH search) with argv. Returns 0 and the pid,
 * or -1 with SS_ERR_RUNTIME "could not run '<path>': <reason>" when fork or
 * the exec itself failed (the child reports exec errors back through a
 * close-on-exec pipe, so a missing program is an error here, not a mystery
 * exit later).
 */
int ss_spawn(char *const argv[], const struct ss_spawn_opts *o, pid_t *pid,
	     struct ss_err *err);

/*
 * Run argv to completion (as ss_spawn), waiting at most timeout_ms (0:
 * forever; the child is killed when the time is up). *status is the
 * waitpid status. Returns 0 when it ran (whatever its exit status), -1 on
 * failure to run or the timeout.
 */
int ss_run_wait(char *const argv[], const struct ss_spawn_opts *o,
		int64_t timeout_ms, int *status, struct ss_err *err);

/* "exited with status N" or "was killed by signal N (NAME)" into out. */
void ss_describe_status(int status, char *out, size_t outsz);

/* What the supervisor reports to its caller. */
enum ss_sup_event_kind {
	SS_SUP_STARTED,	   /* a unit's processes were started */
	SS_SUP_EXITED,	   /* one process ended (status) */
	SS_SUP_RESTARTING, /* the unit will be started again after delay_ms */
	SS_SUP_FATAL,	   /* a process ended with 2 or 3: ss_sup_run returns */
	SS_SUP_START_FAILED /* starting the unit failed (err); retried after
			       delay_ms */
};

struct ss_sup_event {
	enum ss_sup_event_kind kind;
	const char *unit; /* the unit's name */
	const char
	    *program; /* the process's argv[0] basename (EXITED, FATAL) */
	pid_t pid;
	int status;	   /* waitpid status (EXITED, FATAL) */
	int64_t delay_ms;  /* RESTARTING, START_FAILED */
	unsigned restarts; /* how many times this unit was restarted so far */
	int expected;	   /* EXITED: the unit was being stopped */
	const struct ss_err *err; /* START_FAILED */
};

typedef void ss_sup_event_fn(const struct ss_sup_event *ev, void *ctx);

struct ss_sup;

/* A new supervisor with no units. Backoff: min_ms doubling up to max_ms;
 * back to min_ms once a unit has run for healthy_ms. */
struct ss_sup *ss_sup_new(int64_t min_ms, int64_t max_ms, int64_t healthy_ms,
			  ss_sup_event_fn *fn, void *ctx);
void ss_sup_free(struct ss_sup *s);

/*
 * Add a unit of nprocs programs, argvs[i] the i-th (copied). o gives the
 * user switch, err_fd and deathsig for all of them (the fds for the pipes
 * are the supervisor's own; the first reads /dev/null, the last's stdout
 * is o->out_fd; the unit keeps duplicates of out_fd and err_fd, so the
 * caller may close its own; o->user and o->cwd are not kept). stop_sig is what
 * ss_sup_stop sends (SIGTERM for shapesync stages, SIGINT for a PostgreSQL
 * server: fast shutdown). Units are stopped in the reverse order of their
 * addition.
 */
void ss_sup_add(struct ss_sup *s, const char *name, size_t nprocs,
		char *const *const argvs[], const struct ss_spawn_opts *o,
		int stop_sig);

/*
 * Have ss_sup_run call fn(ctx) about every every_ms (1 if <= 0), between
 * its other work, until fn returns nonzero (then never again): a way to
 * notice, while supervising, that a unit has become ready. fn runs in the
 * caller's thread with the stop signals and SIGCHLD blocked, and must not
 * block: the loop reaps, restarts and stops nothing meanwhile. ctx is
 * borrowed: it must stay valid while ss_sup_run runs.
 */
typedef int ss_sup_poll_fn(void *ctx);
void ss_sup_set_poll(struct ss_sup *s, ss_sup_poll_fn *fn, void *ctx,
		     int64_t every_ms);

/* Start every unit that is not running. -1 if one could not be started
 * (nothing is left running then). */
int ss_sup_start(struct ss_sup *s, struct ss_err *err);

/*
 * Supervise until *stop becomes non-zero (set it from a signal handler
 * for SIGINT, SIGTERM or SIGHUP, which the caller blocks: this waits with
 * ppoll and those signals and SIGCHLD unblocked, so none is lost) or a
 * fatal exit.
 * Returns 0 when stopped on request, -1 with err on a fatal exit. Either
 * way the children are still running: call ss_sup_stop.
 */
int ss_sup_run(struct ss_sup *s, volatile sig_atomic_t *stop,
	       struct ss_err *err);

/* Stop every unit, last added first: its stop signal to each process,
 * then SIGKILL to what is left after timeout_ms; reaps them all. */
void ss_sup_stop(struct ss_sup *s, int64_t timeout_ms);

/* The pid of a unit's i-th process (0 while not running); for tests. */
pid_t ss_sup_pid(struct ss_sup *s, const char *unit, size_t i);

#endif
