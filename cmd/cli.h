/*
 * cli.h — what every shapesync program shares on the command-line side:
 * start-up, diagnostics in the house format, exit codes, and the hidden
 * --list-options used by the shell completions. Only cmd/ prints; lib/
 * returns struct ss_err and these helpers turn it into messages.
 */
#ifndef SS_CLI_H
#define SS_CLI_H

#include <getopt.h>
#define SS_NORETURN __attribute__((noreturn))

#include "logline.h"
#include "util.h"

/* Program name used as the prefix of every message ("shapesync-db"). */
extern const char *ss_progname;

/*
 * Start-up every main() runs first: remember the program name, make sure
 * fds 0-2 are open (to /dev/null if not), put SIGPIPE back to its default
 * so a producer dies quietly when its reader goes away.
 */
void ss_cli_init(const char *progname);

/*
 * Diagnostics go through one formatter (lib/logline): the format is
 * --log-format, else $SHAPESYNC_LOG_FORMAT, else text; lines below the
 * level of --log-level, else $ELECTRIC_LOG_LEVEL, else info, are dropped.
 * ss_cli_init reads the environment (a bad value is a usage error).
 */
extern enum ss_log_format ss_log_fmt;
extern enum ss_log_level ss_log_min;

/* getopt values of the two options every program takes; put
 * SS_CLI_LOG_OPTIONS in the option table and let ss_cli_common_option
 * handle them. */
#define SS_OPT_LOG_FORMAT 0x1000
#define SS_OPT_LOG_LEVEL 0x1001
#define SS_CLI_LOG_OPTIONS                                                     \
	{"log-format", required_argument, NULL, SS_OPT_LOG_FORMAT},            \
	{                                                                      \
		"log-level", required_argument, NULL, SS_OPT_LOG_LEVEL         \
	}
/* The usage text of those options, for the "Other:" group. */
#define SS_CLI_LOG_USAGE                                                              \
	"      --log-format=FMT      text or json (default: $SHAPESYNC_LOG_FORMAT,\n" \
	"                            else text)\n"                                    \
	"      --log-level=LEVEL     debug, info, warning or error (default:\n"       \
	"                            $ELECTRIC_LOG_LEVEL, else info)\n"

/*
 * One message at `level`, with optional detail and hint (NULL or ""),
 * written to stderr in one write as the format says, if the level passes.
 */
void ss_cli_log(enum ss_log_level level, const char *detail, const char *hint,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "<prog>: <msg>" at level info (progress: listening, ready, restarts). */
void ss_cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Put the format and level in effect into the environment
 * (SHAPESYNC_LOG_FORMAT, ELECTRIC_LOG_LEVEL) so child programs log alike. */
void ss_cli_log_export(void);

/* "<prog>: error: <msg>" to stderr. */
void ss_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<prog>: warning: <msg>" to stderr. */
void ss_cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print an ss_err: the error line, then "detail:" and "hint:" lines. */
void ss_cli_report(const struct ss_err *err);
/* Report err and exit with its code (1 if unset). */
SS_NORETURN void ss_cli_die_err(const struct ss_err *err);
/* Report a runtime error (exit 1). */
SS_NORETURN void ss_cli_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Report a usage error with a pointer to --help, and exit 2. */
SS_NORETURN void ss_cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Print "<prog> (shapesync) <version>" and exit 0. */
SS_NORETURN void ss_cli_version(void);
/* Print every long option of `opts` as "--name", one per line, and exit 0
 * (the hidden --list-options the completions call). The hidden --list-*
 * options themselves are left out. */
SS_NORETURN void ss_cli_list_options(const struct option *opts);

/*
 * The end of a getopt_long switch that the stage programs share: 'h'
 * (usage() to stdout, exit 0), 'V', list_opt (the value of the hidden
 * --list-options), ':' (an option without its value), the log options
 * (SS_CLI_LOG_OPTIONS: set, then return) and anything else (an unknown
 * option, named; exit 2). Call it from `default:` for what a program
 * does not handle itself; it returns only for the log options. The
 * optstring must start with ':' (after a '+' if any), so that getopt
 * leaves the wording to this.
 */
void ss_cli_common_option(int c, int list_opt, void (*usage)(void),
			  const struct option *opts, char **argv);

/* The long name of the option whose value is val in opts ("?" if none). */
const char *ss_cli_opt_name(const struct option *opts, int val);

/*
 * getopt_long's ':' and '?' (with opterr = 0 and an optstring starting
 * with ':') as usage errors that name the option: "option '--NAME'
 * requires a value" (the full name, even if abbreviated), "option
 * '--NAME' takes no value", "unknown option '-x'" or "unknown option
 * 'ARG'". The hint is that of ss_cli_command_usage_error. Exits 2.
 */
SS_NORETURN void ss_cli_bad_option(char **argv, const struct option *opts,
				   int c);

/*
 * Programs with commands, like git (shapesync-db): "PROG [globals]
 * COMMAND [options]". Each command has its own options and --help text,
 * and its usage errors point at 'PROG COMMAND --help'.
 */
struct ss_cli_command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command's name */
	const struct option *opts;	   /* its options (with "help") */
	const char *help;		   /* its --help text */
};

/* A usage error (exit 2) whose hint is "try 'PROG COMMAND --help' ..."
 * while a command runs (ss_cli_command_run), else as ss_cli_usage_error. */
SS_NORETURN void ss_cli_command_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * Find the command named argv[optind] in `commands` (ended by a NULL
 * name) and run it on argv[optind..]: getopt starts over on its argv.
 * No command or an unknown one is a usage error. Returns its status.
 */
int ss_cli_command_run(const struct ss_cli_command *commands, int argc,
		       char **argv);

/*
 * The next option of the running command: -h/--help prints its help and
 * exits 0, list_opt (its hidden --list-options) lists its options, getopt
 * errors go to ss_cli_bad_option. Returns the others, -1 at the end.
 */
int ss_cli_command_next_opt(int argc, char **argv, int list_opt);

/* A usage error naming the first operand, if any is left. */
void ss_cli_command_no_args(int argc, char **argv);

/* Flush stdout, and exit 1 with a message if any write to it failed.
 * Call before exit(0) from a program that wrote to stdout. */
void ss_cli_close_stdout(void);
/* Flush stdout; on failure report and exit 1. */
void ss_cli_flush_stdout(void);

/* The value of environment variable `name` if set and non-empty, else
 * dflt (borrowed). */
const char *ss_cli_env_or(const char *name, const char *dflt);

/*
 * The path of program `name` (e.g. "shapesync-route"): next to this
 * executable if there, else the first on PATH. Returns 0 and the path in
 * out, or -1 when there is none (out then holds `name`).
 */
int ss_cli_find_program(const char *name, char *out, size_t outsz);

/*
 * Progress of a long command on a terminal: ss_cli_progress rewrites one
 * line of stderr ("\r", the text, erase to the end of the line) when
 * stderr is a terminal and ss_cli_progress_quiet was not called; nothing
 * otherwise, and at most ten times a second (calls in between are
 * dropped; the first after ss_cli_progress_end is drawn).
 * ss_cli_progress_end erases the line (call it before other output and
 * at the end). ss_cli_progress_active says whether lines are drawn.
 */
void ss_cli_progress(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void ss_cli_progress_end(void);
void ss_cli_progress_quiet(void);
int ss_cli_progress_active(void);

/* Parse an option argument or exit 2 with a clear message. */
long long ss_cli_opt_int(const char *arg, long long min, long long max,
			 const char *opt);
int64_t ss_cli_opt_duration_ms(const char *arg, const char *opt);
uint64_t ss_cli_opt_size(const char *arg, const char *opt);

#endif
