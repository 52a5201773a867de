/*
 * test-tool.c — small helpers the shell tests call (git's test-tool):
 *   test-tool durable-lsn REGISTRY [LSN]   print, or set, the durable LSN
 *                                          (what store records)
 *   test-tool maxrss FILE CMD [ARG...]     run CMD, write its peak RSS in KiB
 *                                          to FILE, exit with its status
 *   test-tool frames-check [FILE]          read frames with the stream
 *                                          order checks on; print the count;
 *                                          ending inside a transaction fails
 * Exit 0, 1 on runtime errors, 2 on usage, 3 on bad frames.
 */
#include <inttypes.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "lsn.h"
#include "registry.h"

static int die(const struct ss_err *err)
{
	fprintf(stderr, "test-tool: %s\n", err->msg);
	return err->code ? err->code : 1;
}

static int durable_lsn(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *reg;
	char buf[SS_LSN_STRMAX];
	uint64_t lsn;
	int rc = 0;

	if (argc < 3 || argc > 4) {
		fprintf(stderr,
			"usage: test-tool durable-lsn REGISTRY [LSN]\n");
		return 2;
	}
	if (argc == 4 && ss_lsn_parse(argv[3], &lsn, &err) < 0)
		return die(&err);
	if (ss_registry_open(argv[2], NULL, &reg, &err) < 0)
		return die(&err);
	if (argc == 4) {
		int64_t stream;

		rc = ss_registry_stream_get(reg, &stream, NULL, NULL, &err);
		if (rc == 0)
			rc =
			    ss_registry_set_durable_lsn(reg, lsn, stream, &err);
	} else if ((rc = ss_registry_get_durable_lsn(reg, &lsn, &err)) == 0)
		printf("%s\n", ss_lsn_format(lsn, buf));
	if (rc < 0) {
		ss_registry_close(reg, NULL);
		return die(&err);
	}
	if (ss_registry_close(reg, &err) < 0)
		return die(&err);
	return 0;
}

static int frames_check(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_frame f = SS_FRAME_INIT;
	struct ss_frame_reader *r;
	FILE *in = stdin;
	uint64_t n = 0;
	int rc;

	if (argc > 3) {
		fprintf(stderr, "usage: test-tool frames-check [FILE]\n");
		return 2;
	}
	if (argc == 3 && !(in = fopen(argv[2], "r"))) {
		perror(argv[2]);
		return 1;
	}
	r = ss_frame_reader_new(in, argc == 3 ? argv[2] : "<stdin>");
	ss_frame_reader_check_order(r, 1);
	while ((rc = ss_frame_read(r, &f, &err)) == SS_FRAME_OK ||
	       rc == SS_FRAME_AGAIN)
		if (rc == SS_FRAME_OK)
			n++;
	ss_frame_release(&f);
	if (rc == SS_FRAME_EOF && ss_frame_reader_seq(r)->in_txn) {
		fprintf(stderr, "test-tool: input ends inside a transaction\n");
		rc = -2;
	}
	ss_frame_reader_free(r);
	if (in != stdin)
		fclose(in);
	if (rc == -2)
		return 3;
	if (rc < 0)
		return die(&err);
	printf("%" PRIu64 "\n", n);
	return 0;
}

static int maxrss(int argc, char **argv)
{
	struct rusage ru;
	FILE *out;
	pid_t pid;
	int status;

	if (argc < 4) {
		fprintf(stderr, "usage: test-tool maxrss FILE CMD [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 1;
	}
	if (!(out = fopen(argv[2], "w"))) {
		perror(argv[2]);
		return 1;
	}
	fprintf(out, "%ld\n", ru.ru_maxrss);
	if (fclose(out) != 0) {
		perror(argv[2]);
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "maxrss"))
		return maxrss(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "durable-lsn"))
		return durable_lsn(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "frames-check"))
		return frames_check(argc, argv);
	fprintf(stderr, "usage: test-tool durable-lsn | maxrss | "
			"frames-check ...\n");
	return 2;
}
