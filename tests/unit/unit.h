/*
 * unit.h — the few macros C unit tests share: CHECK records a failure with
 * its file and line and goes on; FAILF stops the program. unit_report()
 * prints the tally and gives main()'s exit status.
 */
#ifndef SS_UNIT_H
#define SS_UNIT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_checks, unit_failures;

#define CHECK(cond)                                                          \
	do {                                                                 \
		unit_checks++;                                               \
		if (!(cond)) {                                               \
			unit_failures++;                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *ua_ = (a), *ub_ = (b);                           \
		unit_checks++;                                               \
		if (!ua_ || !ub_ || strcmp(ua_, ub_)) {                      \
			unit_failures++;                                     \
			fprintf(stderr, "%s:%d: expected '%s', got '%s'\n",  \
				__FILE__, __LINE__, ub_ ? ub_ : "(null)",    \
				ua_ ? ua_ : "(null)");                       \
		}                                                            \
	} while (0)

#define FAILF(...)                                                           \
	do {                                                                 \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);              \
		fprintf(stderr, __VA_ARGS__);                                \
		fputc('\n', stderr);                                         \
		exit(1);                                                     \
	} while (0)

static inline int unit_report(void)
{
	printf("%d checks, %d failed\n", unit_checks, unit_failures);
	return unit_failures ? 1 : 0;
}

#endif
