/*
 * supervise — child processes started, watched, restarted with backoff
 * and stopped in order. See supervise.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervise.h"

void ss_spawn_opts_init(struct ss_spawn_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->in_fd = o->out_fd = o->err_fd = -1;
}

/* In the child: report errno e to the parent and die. Only
 * async-signal-safe calls from here to exec. */
static void child_fail(int efd, int e)
{
	ssize_t n = write(efd, &e, sizeof(e));

	(void)n;
	_exit(127);
}

static void child_setup(char *const argv[], const struct ss_spawn_opts *o,
			pid_t parent, int efd)
{
	sigset_t all;
	int fd, sig;

	if (setpgid(0, o->pgid) < 0)
		child_fail(efd, errno);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (o->in_fd >= 0) {
		if (dup2(o->in_fd, 0) < 0)
			child_fail(efd, errno);
	} else {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			child_fail(efd, errno);
		if (fd > 2)
			close(fd);
	}
	if (o->out_fd >= 0 && dup2(o->out_fd, 1) < 0)
		child_fail(efd, errno);
	if (o->err_fd >= 0 && dup2(o->err_fd, 2) < 0)
		child_fail(efd, errno);
	if (o->switch_user) {
		if (setgid(o->gid) < 0)
			child_fail(efd, errno);
		if (o->user ? initgroups(o->user, o->gid) < 0
			    : setgroups(0, NULL) < 0)
			child_fail(efd, errno);
		if (setuid(o->uid) < 0)
			child_fail(efd, errno);
	}
	/* After the user switch: changing credentials clears it. */
	if (o->deathsig) {
		if (prctl(PR_SET_PDEATHSIG, o->deathsig) < 0)
			child_fail(efd, errno);
		if (getppid() != parent)
			_exit(1); /* the supervisor is already gone */
	}
	if (o->cwd && chdir(o->cwd) < 0)
		child_fail(efd, errno);
	execv(argv[0], argv);
	child_fail(efd, errno);
}

int ss_spawn(char *const argv[], const struct ss_spawn_opts *o, pid_t *pid,
	     struct ss_err *err)
{
	struct ss_spawn_opts dflt;
	pid_t parent = getpid(), p;
	int ep[2], e = 0;
	ssize_t n;

	if (!o) {
		ss_spawn_opts_init(&dflt);
		o = &dflt;
	}
	if (pipe2(ep, O_CLOEXEC) < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not run '%s': pipe: %s", argv[0],
				  strerror(errno));
	p = fork();
	if (p < 0) {
		e = errno;
		close(ep[0]);
		close(ep[1]);
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not run '%s': fork: %s", argv[0],
				  strerror(e));
	}
	if (p == 0) {
		close(ep[0]);
		child_setup(argv, o, parent, ep[1]);
	}
	close(ep[1]);
	/* Both sides set the group, so it exists before either goes on. */
	setpgid(p, o->pgid ? o->pgid : p);
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(e)) {
		waitpid(p, NULL, 0);
		return ss_err_set(err, SS_ERR_RUNTIME, "could not run '%s': %s",
				  argv[0], strerror(e));
	}
	*pid = p;
	return 0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int ss_run_wait(char *const argv[], const struct ss_spawn_opts *o,
		int64_t timeout_ms, int *status, struct ss_err *err)
{
	int64_t deadline =
	    timeout_ms > 0 ? ss_mono_us() + timeout_ms * 1000 : 0;
	pid_t pid, r;

	if (ss_spawn(argv, o, &pid, err) < 0)
		return -1;
	for (;;) {
		r = waitpid(pid, status, deadline ? WNOHANG : 0);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR) {
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "waiting for '%s': %s", argv[0],
					  strerror(errno));
		}
		if (deadline && ss_mono_us() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "'%s' did not finish within %lld ms",
					  argv[0], (long long)timeout_ms);
		}
		if (deadline)
			sleep_ms(20);
	}
}

void ss_describe_status(int status, char *out, size_t outsz)
{
	if (WIFEXITED(status))
		snprintf(out, outsz, "exited with status %d",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outsz, "was killed by signal %d (%s)",
			 WTERMSIG(status),
			 sigabbrev_np(WTERMSIG(status))
			     ? sigabbrev_np(WTERMSIG(status))
			     : "?");
	else
		snprintf(out, outsz, "ended with wait status %d", status);
}

/* ------------------------------------------------------------ supervisor */

struct proc {
	char **argv; /* owned, NULL-terminated */
	pid_t pid;   /* 0: not running */
};

struct unit {
	char *name;
	struct proc *procs;
	size_t nprocs;
	struct ss_spawn_opts opts; /* fds other than err_fd unused */
	int stop_sig;
	int64_t started_us;    /* 0: not started */
	int64_t restart_at_us; /* 0: no restart pending */
	int64_t backoff_ms;
	unsigned restarts;
	int stopping; /* the rest of the unit is being stopped */
};

struct ss_sup {
	struct unit *units;
	size_t nunits;
	int64_t min_ms, max_ms, healthy_ms;
	ss_sup_event_fn *fn;
	void *ctx;
	ss_sup_poll_fn *poll_fn; /* NULL once it returned nonzero */
	void *poll_ctx;
	int64_t poll_ms;
};

struct ss_sup *ss_sup_new(int64_t min_ms, int64_t max_ms, int64_t healthy_ms,
			  ss_sup_event_fn *fn, void *ctx)
{
	struct ss_sup *s = ss_xcalloc(1, sizeof(*s));

	s->min_ms = min_ms;
	s->max_ms = max_ms;
	s->healthy_ms = healthy_ms;
	s->fn = fn;
	s->ctx = ctx;
	return s;
}

void ss_sup_set_poll(struct ss_sup *s, ss_sup_poll_fn *fn, void *ctx,
		     int64_t every_ms)
{
	s->poll_fn = fn;
	s->poll_ctx = ctx;
	s->poll_ms = every_ms > 0 ? every_ms : 1;
}

void ss_sup_free(struct ss_sup *s)
{
	size_t i, j, k;

	if (!s)
		return;
	for (i = 0; i < s->nunits; i++) {
		struct unit *u = &s->units[i];

		for (j = 0; j < u->nprocs; j++) {
			for (k = 0; u->procs[j].argv[k]; k++)
				free(u->procs[j].argv[k]);
			free(u->procs[j].argv);
		}
		free(u->procs);
		free(u->name);
		if (u->opts.out_fd >= 0)
			close(u->opts.out_fd);
		if (u->opts.err_fd >= 0)
			close(u->opts.err_fd);
	}
	free(s->units);
	free(s);
}

void ss_sup_add(struct ss_sup *s, const char *name, size_t nprocs,
		char *const *const argvs[], const struct ss_spawn_opts *o,
		int stop_sig)
{
	struct unit *u;
	size_t i, n;

	s->units = ss_xrealloc(s->units, (s->nunits + 1) * sizeof(*s->units));
	u = &s->units[s->nunits++];
	memset(u, 0, sizeof(*u));
	u->name = ss_xstrdup(name);
	u->nprocs = nprocs;
	u->procs = ss_xcalloc(nprocs, sizeof(*u->procs));
	for (i = 0; i < nprocs; i++) {
		for (n = 0; argvs[i][n]; n++)
			;
		u->procs[i].argv = ss_xcalloc(n + 1, sizeof(char *));
		for (n = 0; argvs[i][n]; n++)
			u->procs[i].argv[n] = ss_xstrdup(argvs[i][n]);
	}
	if (o)
		u->opts = *o;
	else
		ss_spawn_opts_init(&u->opts);
	u->opts.user = NULL; /* borrowed pointers are not kept */
	u->opts.cwd = NULL;
	u->opts.in_fd = -1;
	/* The unit keeps its own copies of the output fds, for restarts. */
	if (u->opts.out_fd >= 0)
		u->opts.out_fd = fcntl(u->opts.out_fd, F_DUPFD_CLOEXEC, 3);
	if (u->opts.err_fd >= 0)
		u->opts.err_fd = fcntl(u->opts.err_fd, F_DUPFD_CLOEXEC, 3);
	u->stop_sig = stop_sig;
	u->backoff_ms = s->min_ms;
}

static void emit(struct ss_sup *s, struct ss_sup_event *ev)
{
	if (s->fn)
		s->fn(ev, s->ctx);
}

static const char *base(const char *path)
{
	const char *sl = strrchr(path, '/');

	return sl ? sl + 1 : path;
}

static int unit_running(const struct unit *u)
{
	size_t i;

	for (i = 0; i < u->nprocs; i++)
		if (u->procs[i].pid)
			return 1;
	return 0;
}

/* Signal every live process of u. */
static void unit_kill(struct unit *u, int sig)
{
	size_t i;

	for (i = 0; i < u->nprocs; i++)
		if (u->procs[i].pid)
			kill(u->procs[i].pid, sig);
}

/* Start u's processes joined by pipes; on failure none is left running. */
static int unit_start(struct ss_sup *s, struct unit *u, struct ss_err *err)
{
	int in = -1, p[2];
	size_t i;

	for (i = 0; i < u->nprocs; i++) {
		struct ss_spawn_opts o = u->opts;
		int rc;

		p[0] = p[1] = -1;
		if (i + 1 < u->nprocs && pipe2(p, O_CLOEXEC) < 0) {
			ss_err_set(err, SS_ERR_RUNTIME, "pipe: %s",
				   strerror(errno));
			goto fail;
		}
		o.in_fd = in;
		o.out_fd = i + 1 < u->nprocs ? p[1] : u->opts.out_fd;
		o.pgid = 0;
		rc = ss_spawn(u->procs[i].argv, &o, &u->procs[i].pid, err);
		if (in >= 0)
			close(in);
		if (p[1] >= 0)
			close(p[1]);
		in = p[0];
		if (rc < 0)
			goto fail;
	}
	u->started_us = ss_mono_us();
	u->stopping = 0;
	{
		struct ss_sup_event ev = {.kind = SS_SUP_STARTED,
					  .unit = u->name,
					  .restarts = u->restarts};
		emit(s, &ev);
	}
	return 0;
fail:
	if (in >= 0)
		close(in);
	unit_kill(u, SIGKILL);
	for (i = 0; i < u->nprocs; i++)
		if (u->procs[i].pid) {
			waitpid(u->procs[i].pid, NULL, 0);
			u->procs[i].pid = 0;
		}
	return -1;
}

int ss_sup_start(struct ss_sup *s, struct ss_err *err)
{
	size_t i;

	for (i = 0; i < s->nunits; i++)
		if (!unit_running(&s->units[i]) &&
		    unit_start(s, &s->units[i], err) < 0) {
			ss_err_prefix(err, "%s", s->units[i].name);
			ss_sup_stop(s, 5000);
			return -1;
		}
	return 0;
}

static void on_sigchld(int sig)
{
	(void)sig;
}

/* Find the process pid among the units. */
static struct unit *find_pid(struct ss_sup *s, pid_t pid, size_t *idx)
{
	size_t i, j;

	for (i = 0; i < s->nunits; i++)
		for (j = 0; j < s->units[i].nprocs; j++)
			if (s->units[i].procs[j].pid == pid) {
				*idx = j;
				return &s->units[i];
			}
	return NULL;
}

/* A process of u ended while we were not stopping everything. */
static int on_exit_status(struct ss_sup *s, struct unit *u, size_t j,
			  int status, struct ss_err *err)
{
	struct ss_sup_event ev = {.unit = u->name,
				  .program = base(u->procs[j].argv[0]),
				  .pid = u->procs[j].pid,
				  .status = status,
				  .restarts = u->restarts};
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	char how[96];

	u->procs[j].pid = 0;
	if (u->stopping) {
		/* The rest of a unit that is going down anyway. */
		ev.kind = SS_SUP_EXITED;
		ev.expected = 1;
		emit(s, &ev);
		return 0;
	}
	if (code == SS_ERR_USAGE || code == SS_ERR_INPUT) {
		ev.kind = SS_SUP_FATAL;
		emit(s, &ev);
		ss_describe_status(status, how, sizeof(how));
		return ss_err_set(err, code, "%s %s", ev.program, how);
	}
	ev.kind = SS_SUP_EXITED;
	emit(s, &ev);
	/* The others of the unit lose their pipe partner: stop them too. */
	u->stopping = 1;
	unit_kill(u, u->stop_sig);
	if (ss_mono_us() - u->started_us >= s->healthy_ms * 1000)
		u->backoff_ms = s->min_ms;
	u->restart_at_us = ss_mono_us() + u->backoff_ms * 1000;
	u->restarts++;
	ev.kind = SS_SUP_RESTARTING;
	ev.delay_ms = u->backoff_ms;
	ev.restarts = u->restarts;
	emit(s, &ev);
	u->backoff_ms =
	    u->backoff_ms * 2 > s->max_ms ? s->max_ms : u->backoff_ms * 2;
	return 0;
}

int ss_sup_run(struct ss_sup *s, volatile sig_atomic_t *stop,
	       struct ss_err *err)
{
	struct sigaction sa;
	sigset_t block, orig, waitmask;
	int rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig);
	waitmask = orig;
	sigdelset(&waitmask, SIGCHLD);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGHUP);

	while (!*stop && rc == 0) {
		int64_t now, next = 0, wait_ms;
		struct timespec ts;
		int status;
		size_t i, j;
		pid_t pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			struct unit *u = find_pid(s, pid, &j);

			if (u && on_exit_status(s, u, j, status, err) < 0) {
				rc = -1;
				break;
			}
		}
		if (rc < 0)
			break;
		now = ss_mono_us();
		for (i = 0; i < s->nunits; i++) {
			struct unit *u = &s->units[i];

			if (!u->restart_at_us)
				continue;
			if (unit_running(u)) {
				/* Still going down: escalate after 5 s. */
				if (now - u->restart_at_us > 5000000)
					unit_kill(u, SIGKILL);
				if (!next || now + 100000 < next)
					next = now + 100000;
				continue;
			}
			if (now < u->restart_at_us) {
				if (!next || u->restart_at_us < next)
					next = u->restart_at_us;
				continue;
			}
			u->restart_at_us = 0;
			if (unit_start(s, u, err) < 0) {
				struct ss_sup_event ev = {
				    .kind = SS_SUP_START_FAILED,
				    .unit = u->name,
				    .delay_ms = u->backoff_ms,
				    .err = err,
				    .restarts = u->restarts};

				emit(s, &ev);
				ss_err_clear(err);
				u->restart_at_us = now + u->backoff_ms * 1000;
				u->backoff_ms = u->backoff_ms * 2 > s->max_ms
						    ? s->max_ms
						    : u->backoff_ms * 2;
				next = !next || u->restart_at_us < next
					   ? u->restart_at_us
					   : next;
			}
		}
		wait_ms = next ? (next - now) / 1000 + 1 : 1000;
		if (wait_ms > 1000)
			wait_ms = 1000;
		if (s->poll_fn && s->poll_fn(s->poll_ctx))
			s->poll_fn = NULL;
		if (s->poll_fn && wait_ms > s->poll_ms)
			wait_ms = s->poll_ms;
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = (wait_ms % 1000) * 1000000L;
		ppoll(NULL, 0, &ts, &waitmask);
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return rc;
}

void ss_sup_stop(struct ss_sup *s, int64_t timeout_ms)
{
	size_t i = s->nunits;

	while (i-- > 0) {
		struct unit *u = &s->units[i];
		int64_t deadline = ss_mono_us() + timeout_ms * 1000;
		int killed = 0;

		u->stopping = 1;
		u->restart_at_us = 0;
		unit_kill(u, u->stop_sig);
		while (unit_running(u)) {
			size_t j;
			int status;

			for (j = 0; j < u->nprocs; j++) {
				pid_t pid = u->procs[j].pid;

				if (pid &&
				    waitpid(pid, &status, WNOHANG) == pid) {
					struct ss_sup_event ev = {
					    .kind = SS_SUP_EXITED,
					    .unit = u->name,
					    .program =
						base(u->procs[j].argv[0]),
					    .pid = pid,
					    .status = status,
					    .restarts = u->restarts,
					    .expected = 1};

					u->procs[j].pid = 0;
					emit(s, &ev);
				}
			}
			if (!unit_running(u))
				break;
			if (!killed && ss_mono_us() >= deadline) {
				unit_kill(u, SIGKILL);
				killed = 1;
			}
			sleep_ms(10);
		}
	}
}

pid_t ss_sup_pid(struct ss_sup *s, const char *unit, size_t i)
{
	size_t k;

	for (k = 0; k < s->nunits; k++)
		if (!strcmp(s->units[k].name, unit) && i < s->units[k].nprocs)
			return s->units[k].procs[i].pid;
	return 0;
}
