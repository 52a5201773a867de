/*
 * cli.c — start-up, message formatting and exit handling shared by the
 * programs in cmd/. See cli.h.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *ss_progname = "shapesync";
enum ss_log_format ss_log_fmt = SS_LOG_TEXT;
enum ss_log_level ss_log_min = SS_LOG_INFO;

void ss_cli_init(const char *progname)
{
	struct ss_err err = SS_ERR_INIT;
	const char *v;
	int fd;

	ss_progname = progname;
	/* A closed 0, 1 or 2 would let the next open() land there and data
	 * meant for a file would go to stdout (or the reverse). */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	/* The format first, so that a bad level is reported in it. */
	v = ss_cli_env_or("SHAPESYNC_LOG_FORMAT", NULL);
	if (v && ss_log_format_parse(v, &ss_log_fmt, "$SHAPESYNC_LOG_FORMAT",
				     &err) < 0)
		ss_cli_usage_error("%s", err.msg);
	v = ss_cli_env_or("ELECTRIC_LOG_LEVEL", NULL);
	if (v &&
	    ss_log_level_parse(v, &ss_log_min, "$ELECTRIC_LOG_LEVEL", &err) < 0)
		ss_cli_usage_error("%s", err.msg);
}

static void vlog(enum ss_log_level level, const char *detail, const char *hint,
		 const char *fmt, va_list ap)
{
	struct ss_buf msg = SS_BUF_INIT, line = SS_BUF_INIT;
	struct ss_logline l;
	size_t off = 0;

	if (level < ss_log_min)
		return;
	fflush(stdout);
	ss_buf_vaddf(&msg, fmt, ap);
	l.level = level;
	l.ts_us = ss_now_us();
	l.program = ss_progname;
	l.pid = (long)getpid();
	l.msg = msg.buf;
	l.detail = detail;
	l.hint = hint;
	ss_logline_format(&line, ss_log_fmt, &l);
	/* One write per message: lines of threads (and of the stages
	 * sharing up's stderr) do not interleave. */
	fflush(stderr);
	while (off < line.len) {
		ssize_t n = write(2, line.buf + off, line.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	ss_buf_release(&msg);
	ss_buf_release(&line);
}

void ss_cli_log(enum ss_log_level level, const char *detail, const char *hint,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, detail, hint, fmt, ap);
	va_end(ap);
}

void ss_cli_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(SS_LOG_INFO, NULL, NULL, fmt, ap);
	va_end(ap);
}

void ss_cli_log_export(void)
{
	setenv("SHAPESYNC_LOG_FORMAT",
	       ss_log_fmt == SS_LOG_JSON ? "json" : "text", 1);
	setenv("ELECTRIC_LOG_LEVEL", ss_log_level_name(ss_log_min), 1);
}

void ss_cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(SS_LOG_ERROR, NULL, NULL, fmt, ap);
	va_end(ap);
}

void ss_cli_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(SS_LOG_WARNING, NULL, NULL, fmt, ap);
	va_end(ap);
}

void ss_cli_report(const struct ss_err *err)
{
	ss_cli_log(SS_LOG_ERROR, err->detail, err->hint, "%s",
		   err->msg[0] ? err->msg : "unknown error");
}

void ss_cli_die_err(const struct ss_err *err)
{
	ss_cli_report(err);
	exit(err->code > 0 ? err->code : SS_ERR_RUNTIME);
}

void ss_cli_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(SS_LOG_ERROR, NULL, NULL, fmt, ap);
	va_end(ap);
	exit(SS_ERR_RUNTIME);
}

void ss_cli_usage_error(const char *fmt, ...)
{
	char hint[128];
	va_list ap;

	snprintf(hint, sizeof(hint), "try '%s --help' for more information",
		 ss_progname);
	va_start(ap, fmt);
	vlog(SS_LOG_ERROR, NULL, hint, fmt, ap);
	va_end(ap);
	exit(SS_ERR_USAGE);
}

void ss_cli_version(void)
{
	printf("%s (shapesync) %s\n", ss_progname, SS_VERSION);
	ss_cli_close_stdout();
	exit(0);
}

void ss_cli_list_options(const struct option *opts)
{
	for (; opts->name; opts++)
		if (strncmp(opts->name, "list-", 5))
			printf("--%s\n", opts->name);
	ss_cli_close_stdout();
	exit(0);
}

void ss_cli_flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		ss_cli_die("could not write to standard output: %s",
			   strerror(errno ? errno : EIO));
}

void ss_cli_close_stdout(void)
{
	int bad = ferror(stdout);

	if (fclose(stdout) != 0 || bad) {
		/* stdout is gone; stderr still works. */
		ss_cli_error("could not write to standard output: %s",
			     strerror(errno ? errno : EIO));
		exit(SS_ERR_RUNTIME);
	}
}

long long ss_cli_opt_int(const char *arg, long long min, long long max,
			 const char *opt)
{
	struct ss_err err = SS_ERR_INIT;
	int64_t v;

	if (ss_parse_i64(arg, min, max, &v, opt, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
	return v;
}

/* -1: not decided yet, 0: off, 1: on */
static int progress_on = -1, progress_shown;
static struct timespec progress_drawn;

void ss_cli_progress_quiet(void)
{
	progress_on = 0;
}

int ss_cli_progress_active(void)
{
	if (progress_on < 0)
		progress_on = isatty(STDERR_FILENO);
	return progress_on;
}

void ss_cli_progress(const char *fmt, ...)
{
	struct timespec now;
	va_list ap;

	if (!ss_cli_progress_active())
		return;
	/* A terminal needs no more than ten redraws a second; a command
	 * that reports each of a million items must not pay for a write
	 * each. The first line after an end is always drawn. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (progress_shown &&
	    (now.tv_sec - progress_drawn.tv_sec) * 1000 +
		    (now.tv_nsec - progress_drawn.tv_nsec) / 1000000 <
		100)
		return;
	progress_drawn = now;
	fputc('\r', stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\033[K", stderr);
	fflush(stderr);
	progress_shown = 1;
}

void ss_cli_progress_end(void)
{
	if (!progress_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	progress_shown = 0;
}

int64_t ss_cli_opt_duration_ms(const char *arg, const char *opt)
{
	struct ss_err err = SS_ERR_INIT;
	int64_t v;

	if (ss_parse_duration_ms(arg, &v, opt, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
	return v;
}

uint64_t ss_cli_opt_size(const char *arg, const char *opt)
{
	struct ss_err err = SS_ERR_INIT;
	uint64_t v;

	if (ss_parse_size(arg, &v, opt, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
	return v;
}

const char *ss_cli_env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

int ss_cli_find_program(const char *name, char *out, size_t outsz)
{
	const char *path = getenv("PATH"), *p, *colon;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(out, outsz, "%s/%s", self, name);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	for (p = path ? path : ""; *p; p = colon + 1) {
		size_t len;

		colon = strchr(p, ':');
		if (!colon)
			colon = p + strlen(p);
		len = (size_t)(colon - p);
		if (len &&
		    (size_t)snprintf(out, outsz, "%.*s/%s", (int)len, p, name) <
			outsz &&
		    access(out, X_OK) == 0)
			return 0;
		if (!*colon)
			break;
	}
	snprintf(out, outsz, "%s", name);
	return -1;
}

void ss_cli_common_option(int c, int list_opt, void (*usage)(void),
			  const struct option *opts, char **argv)
{
	if (c == 'h') {
		usage();
		ss_cli_close_stdout();
		exit(0);
	}
	if (c == 'V')
		ss_cli_version();
	if (c == list_opt)
		ss_cli_list_options(opts);
	if (c == ':')
		ss_cli_usage_error("option '%s' requires a value",
				   argv[optind - 1]);
	if (c == SS_OPT_LOG_FORMAT || c == SS_OPT_LOG_LEVEL) {
		struct ss_err err = SS_ERR_INIT;
		int rc = c == SS_OPT_LOG_FORMAT
			     ? ss_log_format_parse(optarg, &ss_log_fmt,
						   "--log-format", &err)
			     : ss_log_level_parse(optarg, &ss_log_min,
						  "--log-level", &err);

		if (rc < 0)
			ss_cli_usage_error("%s", err.msg);
		return;
	}
	ss_cli_usage_error("unknown option '%s'", argv[optind - 1]);
}

/* ---- options and commands ------------------------------------------- */

/* The command running, for its usage errors and --help. */
static const struct ss_cli_command *cur_command;

const char *ss_cli_opt_name(const struct option *opts, int val)
{
	for (; opts->name; opts++)
		if (opts->val == val)
			return opts->name;
	return "?";
}

/* Does argv element arg ("--name[=value]", maybe abbreviated) name the
 * long option of value val? */
static int names_long(const char *arg, const struct option *opts, int val)
{
	const char *name = ss_cli_opt_name(opts, val);
	size_t n;

	if (strncmp(arg, "--", 2))
		return 0;
	n = strcspn(arg + 2, "=");
	return n > 0 && !strncmp(arg + 2, name, n);
}

void ss_cli_command_usage_error(const char *fmt, ...)
{
	char hint[128];
	va_list ap;

	if (cur_command)
		snprintf(hint, sizeof(hint),
			 "try '%s %s --help' for more information", ss_progname,
			 cur_command->name);
	else
		snprintf(hint, sizeof(hint),
			 "try '%s --help' for more information", ss_progname);
	va_start(ap, fmt);
	vlog(SS_LOG_ERROR, NULL, hint, fmt, ap);
	va_end(ap);
	exit(SS_ERR_USAGE);
}

void ss_cli_bad_option(char **argv, const struct option *opts, int c)
{
	const char *arg = argv[optind - 1];

	if (c == ':') {
		if (names_long(arg, opts, optopt))
			ss_cli_command_usage_error(
			    "option '--%s' requires a value",
			    ss_cli_opt_name(opts, optopt));
		ss_cli_command_usage_error("option '-%c' requires a value",
					   optopt);
	}
	/* glibc sets optopt to the option's value when a long option that
	 * takes no value was given one ("--json=1"). */
	if (optopt != 0 && names_long(arg, opts, optopt))
		ss_cli_command_usage_error("option '--%s' takes no value",
					   ss_cli_opt_name(opts, optopt));
	if (optopt > 0 && optopt < 256)
		ss_cli_command_usage_error("unknown option '-%c'", optopt);
	ss_cli_command_usage_error("unknown option '%s'", arg);
}

int ss_cli_command_run(const struct ss_cli_command *commands, int argc,
		       char **argv)
{
	const struct ss_cli_command *cmd;

	if (optind >= argc)
		ss_cli_command_usage_error("no command given");
	for (cmd = commands; cmd->name; cmd++)
		if (!strcmp(cmd->name, argv[optind]))
			break;
	if (!cmd->name)
		ss_cli_command_usage_error("unknown command '%s'",
					   argv[optind]);
	cur_command = cmd;
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: start over on the command's own argv */
	return cmd->run(argc, argv);
}

int ss_cli_command_next_opt(int argc, char **argv, int list_opt)
{
	int c = getopt_long(argc, argv, ":h", cur_command->opts, NULL);

	if (c == 'h') {
		fputs(cur_command->help, stdout);
		ss_cli_close_stdout();
		exit(0);
	}
	if (c == list_opt)
		ss_cli_list_options(cur_command->opts);
	if (c == '?' || c == ':')
		ss_cli_bad_option(argv, cur_command->opts, c);
	return c;
}

void ss_cli_command_no_args(int argc, char **argv)
{
	if (optind < argc)
		ss_cli_command_usage_error("unexpected argument '%s'",
					   argv[optind]);
}
