/*
 * unit.h — the few macros C unit tests share: CHECK records a failure with
 * its file and line and goes on; FAILF stops the program. unit_report()
 * prints the tally and gives main()'s exit status; unit_rnd() is a repeatable
 * random sequence.
 */
#ifndef SS_UNIT_H
#define SS_UNIT_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_checks, unit_failures;

/* A fixed xorshift64 sequence, the same on every run, for tests that
 * generate cases. */
static uint64_t unit_rng = 0x9E3779B97F4A7C15ull;

static inline uint64_t unit_rnd(void)
{
	unit_rng ^= unit_rng << 13;
	unit_rng ^= unit_rng >> 7;
	unit_rng ^= unit_rng << 17;
	return unit_rng;
}

/* Start the sequence from another point: a run's SEED argument. */
static inline void unit_seed(uint64_t seed)
{
	unit_rng ^= seed * 0x100000001B3ull;
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		unit_checks++;                                                 \
		if (!(cond)) {                                                 \
			unit_failures++;                                       \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *ua_ = (a), *ub_ = (b);                             \
		unit_checks++;                                                 \
		if (!ua_ || !ub_ || strcmp(ua_, ub_)) {                        \
			unit_failures++;                                       \
			fprintf(stderr, "%s:%d: expected '%s', got '%s'\n",    \
				__FILE__, __LINE__, ub_ ? ub_ : "(null)",      \
				ua_ ? ua_ : "(null)");                         \
		}                                                              \
	} while (0)

#define FAILF(...)                                                             \
	do {                                                                   \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		exit(1);                                                       \
	} while (0)

static inline int unit_report(void)
{
	printf("%d checks, %d failed\n", unit_checks, unit_failures);
	return unit_failures ? 1 : 0;
}

#endif
