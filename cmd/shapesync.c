/*
 * shapesync — the front command. `shapesync <stage> [args...]` runs
 * `shapesync-<stage>` the way git runs its subcommands: first from the
 * directory this binary lives in, then from PATH.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *const stages[] = {"up",    "replicate", "route", "store",
				     "serve", "db",	   NULL};

static void usage(void)
{
	int i;

	printf(
	    "Usage: shapesync <stage> [args...]\n"
	    "       shapesync --help | --version\n"
	    "\n"
	    "Keeps shapes, live filtered subsets of PostgreSQL tables, in sync with\n"
	    "HTTP clients. Each stage is its own program; this command runs\n"
	    "shapesync-<stage> with the remaining arguments.\n"
	    "\n"
	    "Stages:\n");
	for (i = 0; stages[i]; i++)
		printf("  %s\n", stages[i]);
	printf("\n"
	       "Options:\n"
	       "  -h, --help       show this help and exit\n"
	       "  -V, --version    show the version and exit\n"
	       "\n"
	       "See shapesync(1) and shapesync-<stage>(1).\n");
}

static const struct option options[] = {{"help", no_argument, NULL, 'h'},
					{"version", no_argument, NULL, 'V'},
					{"list-options", no_argument, NULL, 1},
					{"list-commands", no_argument, NULL, 2},
					{NULL, 0, NULL, 0}};

int main(int argc, char **argv)
{
	char path[PATH_MAX], name[128];
	const char *stage;
	int i, c;

	ss_cli_init("shapesync");
	/* Only options before the stage name are ours ("+": stop at the first
	 * non-option so `shapesync db --help` reaches shapesync-db). */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			ss_cli_close_stdout();
			return 0;
		case 'V':
			ss_cli_version();
		case 1:
			ss_cli_list_options(options);
		case 2:
			for (i = 0; stages[i]; i++)
				printf("%s\n", stages[i]);
			ss_cli_close_stdout();
			return 0;
		default:
			ss_cli_bad_option(argv, options, c);
		}
	}
	if (optind >= argc)
		ss_cli_usage_error("no stage given");
	stage = argv[optind];
	if (!*stage || strchr(stage, '/') || strlen(stage) > 64)
		ss_cli_usage_error("invalid stage name '%s'", stage);
	snprintf(name, sizeof(name), "shapesync-%s", stage);
	argv[optind] = name;
	if (ss_cli_find_program(name, path, sizeof(path)) < 0) {
		ss_cli_log(SS_LOG_ERROR, NULL,
			   "see 'shapesync --help' for the list of stages",
			   "'%s' is not a shapesync stage", stage);
		return SS_ERR_USAGE;
	}
	execv(path, argv + optind);
	ss_cli_die("could not run '%s': %s", path, strerror(errno));
}
