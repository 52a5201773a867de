/*
 * lsn.h — PostgreSQL log sequence numbers (WAL positions) as uint64_t:
 * parse the "X/Y" text form PostgreSQL prints (and a plain decimal 64-bit
 * integer, the form Electric puts in HTTP headers), format them back
 * exactly as PostgreSQL's pg_lsn output does.
 */
#ifndef SS_LSN_H
#define SS_LSN_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* An LSN is a plain 64-bit integer; 0 is PostgreSQL's InvalidXLogRecPtr. */
typedef uint64_t ss_lsn;

/* Longest formatted LSN plus the NUL: "FFFFFFFF/FFFFFFFF" is 17 bytes, and
 * a decimal uint64 is at most 20 digits. */
#define SS_LSN_STRMAX 21

/*
 * Parse an LSN from the `len` bytes at `s` (no NUL needed; an embedded NUL
 * is an error). Two forms are accepted:
 *   - "<hi>/<lo>": each half 1 to 8 hex digits, upper or lower case, as
 *     PostgreSQL's pg_lsn_in accepts (e.g. "16/B374D848", "0/0");
 *   - "<decimal>": 1 or more digits, at most 18446744073709551615.
 * No sign, no spaces, nothing else. Returns 0 and sets *out, or -1 with
 * err (SS_ERR_INPUT) "invalid LSN '<text>'" (the text quoted with control
 * bytes escaped and long input shortened).
 */
int ss_lsn_parse_n(const char *s, size_t len, ss_lsn *out, struct ss_err *err);
/* The same for a NUL-terminated string. */
int ss_lsn_parse(const char *s, ss_lsn *out, struct ss_err *err);

/*
 * Format as PostgreSQL does ("%X/%X" of the high and low 32 bits:
 * upper-case hex, no leading zeros, e.g. "0/16B3748"). Writes into `out`
 * (at least SS_LSN_STRMAX bytes) and returns it.
 */
char *ss_lsn_format(ss_lsn lsn, char out[SS_LSN_STRMAX]);
/* Format as a decimal integer (Electric's header form). Returns `out`. */
char *ss_lsn_format_dec(ss_lsn lsn, char out[SS_LSN_STRMAX]);

#endif
