/*
 * test-answer — runs tests/data/answer.test through lib/answer: each line
 * gives a shape's state, a request's offset, live flag and wait, and the
 * answer ss_answer_decide (and for a log range ss_answer_range) gives.
 *
 *   test-answer tests/data/answer.test
 *   test-answer -g FILE      print FILE with each case's actual result
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "unit.h"

static void parse_offset(const char *v, struct ss_offset *o, int line)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_offset_parse(v, SS_OFFSET_ALLOW_NOW, o, &err) < 0)
		FAILF("line %d: bad offset '%s': %s", line, v, err.msg);
}

/* base=GEN:END:CHUNKS[,GEN:END:CHUNKS...] newest first (gen 0:
 * 0:0_inf:0), reclaimed=OFF. */
static void parse_base(char *v, struct ss_base *b, int line)
{
	char *g, *save = NULL;

	memset(b, 0, sizeof(*b));
	for (g = strtok_r(v, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
		char end[64];
		unsigned long long gen, chunks;

		if (b->n == SS_BASE_MAX ||
		    sscanf(g, "%llu:%63[^:]:%llu", &gen, end, &chunks) != 3)
			FAILF("line %d: bad base '%s'", line, g);
		b->g[b->n].gen = gen;
		b->g[b->n].chunks = chunks;
		parse_offset(end, &b->g[b->n].end, line);
		b->n++;
	}
}

static int64_t num(const char *v, int line)
{
	char *end;
	long long n = strtoll(v, &end, 10);

	if (*end || !*v)
		FAILF("line %d: bad number '%s'", line, v);
	return n;
}

/* The answer of one case's inputs (rewritten in place). */
static void run_case(char *inputs, int line, struct ss_buf *out)
{
	struct ss_answer_in in;
	struct ss_answer a;
	struct ss_base base;
	struct ss_offset chunk_end;
	int have_end = 0;
	uint64_t count = 1;
	char *tok, *save = NULL;

	memset(&in, 0, sizeof(in));
	in.off.kind = SS_OFFSET_BEFORE_ALL;
	in.ready = 1;
	in.done = 1;
	in.now_us = 1000000;
	in.long_poll_ms = 20000;
	in.create_timeout_ms = 60000;
	for (tok = strtok_r(inputs, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *v = strchr(tok, '=');

		if (!v)
			FAILF("line %d: '%s' is not key=value", line, tok);
		*v++ = '\0';
		if (!strcmp(tok, "state"))
			in.state = !strcmp(v, "gone") ? SS_ANSWER_SHAPE_GONE
				   : !strcmp(v, "failed")
				       ? SS_ANSWER_SHAPE_FAILED
				       : SS_ANSWER_SHAPE_OK;
		else if (!strcmp(tok, "off"))
			parse_offset(v, &in.off, line);
		else if (!strcmp(tok, "live"))
			in.live = (int)num(v, line);
		else if (!strcmp(tok, "ready"))
			in.ready = (uint64_t)num(v, line);
		else if (!strcmp(tok, "done"))
			in.done = (int)num(v, line);
		else if (!strcmp(tok, "last"))
			parse_offset(v, &in.last, line);
		else if (!strcmp(tok, "now"))
			in.now_us = num(v, line);
		else if (!strcmp(tok, "deadline"))
			in.deadline_us = num(v, line);
		else if (!strcmp(tok, "oob"))
			in.oob = (int)num(v, line);
		else if (!strcmp(tok, "lp"))
			in.long_poll_ms = num(v, line);
		else if (!strcmp(tok, "ct"))
			in.create_timeout_ms = num(v, line);
		else if (!strcmp(tok, "chunk_end")) {
			parse_offset(v, &chunk_end, line);
			have_end = 1;
		} else if (!strcmp(tok, "count"))
			count = (uint64_t)num(v, line);
		else if (!strcmp(tok, "base")) {
			parse_base(v, &base, line);
			in.base = &base;
		} else if (!strcmp(tok, "reclaimed")) {
			if (!in.base)
				FAILF("line %d: reclaimed before base", line);
			parse_offset(v, &base.reclaimed, line);
			base.has_reclaimed = 1;
		} else
			FAILF("line %d: unknown input '%s'", line, tok);
	}
	ss_answer_decide(&in, &a);
	if (a.kind == SS_ANSWER_RANGE) {
		/* the log's chunk end after from: the shape's last by default
		 */
		ss_answer_range(&in, &a, have_end ? &chunk_end : &in.last,
				count);
	}
	ss_answer_format(&a, out);
}

int main(int argc, char **argv)
{
	char line[4096];
	FILE *f;
	int lineno = 0, cases = 0, gen = 0;

	if (argc == 3 && !strcmp(argv[1], "-g")) {
		gen = 1;
		argv++;
		argc--;
	}
	if (argc != 2)
		FAILF("usage: test-answer [-g] FILE");
	f = fopen(argv[1], "r");
	if (!f)
		FAILF("could not open '%s'", argv[1]);
	while (fgets(line, sizeof(line), f)) {
		struct ss_buf out = SS_BUF_INIT;
		char *sep, *inputs;
		size_t n = strlen(line);

		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#') {
			if (gen)
				printf("%s\n", line);
			continue;
		}
		sep = strstr(line, " => ");
		if (!sep)
			FAILF("%s:%d: no ' => '", argv[1], lineno);
		*sep = '\0';
		inputs = ss_xstrdup(line);
		run_case(inputs, lineno, &out);
		free(inputs);
		if (gen)
			printf("%s => %s\n", line, out.buf);
		unit_checks++;
		if (!gen && strcmp(out.buf, sep + 4)) {
			unit_failures++;
			fprintf(stderr,
				"%s:%d: %s\n  expected: %s\n  got:      %s\n",
				argv[1], lineno, line, sep + 4, out.buf);
		}
		cases++;
		ss_buf_release(&out);
	}
	fclose(f);
	if (cases < 1)
		FAILF("%s: no cases", argv[1]);
	if (gen)
		return 0;
	return unit_report();
}
