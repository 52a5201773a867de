/*
 * tablefile.h — for the unit programs that run a table of cases from a
 * file (test-where, test-where-sublink): a failure reported at the case's
 * file and line, counted in tf_failures, and trimming a line.
 */
#ifndef SS_TABLEFILE_H
#define SS_TABLEFILE_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tf_failures;

static void tf_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tf_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	tf_failures++;
}

/* s without leading blanks and trailing blanks and line ends (in place). */
static char *tf_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

#endif
