/*
 * offset.h — Electric log offsets: a position in a shape log, the pair
 * {tx, op} written "<tx>_<op>" (reference section 1.5). tx is the commit
 * LSN of a transaction (0 for the "virtual" snapshot part of the log), op
 * the position of an operation within it; offsets compare as pairs, with
 * "inf" above every op. "-1" (before_all) precedes everything; "now" is a
 * request-only marker meaning "the shape's current end".
 */
#ifndef SS_OFFSET_H
#define SS_OFFSET_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum ss_offset_kind {
	SS_OFFSET_NORMAL = 0,	  /* {tx, op}; the zero value is first, 0_0 */
	SS_OFFSET_BEFORE_ALL = 1, /* Electric's {-1, 0}, text "-1"; tx=op=0 */
	SS_OFFSET_NOW = 2,	  /* "now", request offsets only; tx=op=0 */
};

/* op == SS_OFFSET_INF means :infinity ("<tx>_inf"). A numeric op is at
 * most SS_OFFSET_OP_MAX, which keeps the 16-byte encoding (below) total
 * and order-preserving. */
#define SS_OFFSET_INF UINT64_MAX
#define SS_OFFSET_OP_MAX (UINT64_MAX - 2)

/* Longest text form plus NUL: 20 digits, '_', 20 digits. */
#define SS_OFFSET_STRMAX 42
/* Size of the on-disk encoding. */
#define SS_OFFSET_BYTES 16

/*
 * A log offset: transparent value type, copy it freely. For kind NORMAL,
 * tx is any uint64 (0 = virtual/snapshot, > 0 = the commit LSN) and op is
 * 0..SS_OFFSET_OP_MAX or SS_OFFSET_INF. For the other kinds tx and op
 * are 0.
 */
struct ss_offset {
	uint64_t tx;
	uint64_t op;
	unsigned char kind; /* enum ss_offset_kind */
};

#define SS_OFFSET_INIT                                                         \
	{                                                                      \
		0, 0, SS_OFFSET_NORMAL                                         \
	}

/* Set *o to first (0_0), like SS_OFFSET_INIT. An offset owns nothing, so
 * there is no _release. */
void ss_offset_init(struct ss_offset *o);

/* The special values of reference 1.5: before_all "-1", first "0_0",
 * last_before_real "0_inf" (the end of the snapshot part), last
 * "18446744073709551615_inf". */
extern const struct ss_offset ss_offset_before_all;
extern const struct ss_offset ss_offset_first;
extern const struct ss_offset ss_offset_last_before_real;
extern const struct ss_offset ss_offset_last;

/* A NORMAL offset {tx, op} (op may be SS_OFFSET_INF). */
struct ss_offset ss_offset_make(uint64_t tx, uint64_t op);

/*
 * The offset of the change at 0-based position `pos` in the transaction
 * committed at `lsn`: {lsn, 2 * pos} (Electric leaves the odd op free for
 * the insert half of a primary-key-changing update). Returns 0, or -1 with
 * SS_ERR_INPUT if 2 * pos + 1 would exceed SS_OFFSET_OP_MAX.
 */
int ss_offset_for_change(uint64_t lsn, uint64_t pos, struct ss_offset *out,
			 struct ss_err *err);

/*
 * The same for a subquery shape, whose log has control lines between
 * changes (docs/subqueries.md): {lsn, 4 * pos + slot}, slot 0 for a
 * move-out the change at pos caused, 1 for the change, 2 for the insert
 * half of a primary-key-changing update. Returns 0, or -1 with
 * SS_ERR_INPUT when the op would exceed SS_OFFSET_OP_MAX or slot > 3.
 */
int ss_offset_for_subquery(uint64_t lsn, uint64_t pos, unsigned slot,
			   struct ss_offset *out, struct ss_err *err);

/*
 * Line k of a subquery shape's move-in written into the transaction
 * committed at lsn (docs/subqueries.md): before its changes (after < 0)
 * {lsn - 1, k}, above every entry of earlier transactions and below every
 * one of this; after them, the last at pos `after`, {lsn, 4 (after + 1) +
 * k}. Returns 0, or -1 with SS_ERR_INPUT when lsn is 0 (before) or the op
 * would exceed SS_OFFSET_OP_MAX.
 */
int ss_offset_for_movein(uint64_t lsn, int64_t after, uint64_t k,
			 struct ss_offset *out, struct ss_err *err);

/* Flags for ss_offset_parse: accept "now" (kind SS_OFFSET_NOW). Without
 * it "now" is an error, as it is anywhere but an HTTP request. */
#define SS_OFFSET_ALLOW_NOW 1u

/*
 * Parse the `len` bytes at `s` (no NUL needed). Accepted, nothing else:
 *   "-1"              before_all
 *   "now"             kind NOW, only with SS_OFFSET_ALLOW_NOW
 *   "<tx>_<op>"       both decimal digits only (leading zeros fine:
 *                     "0_02" is 0_2), tx <= UINT64_MAX, op <= OP_MAX
 *   "<tx>_inf"        op = SS_OFFSET_INF
 *   "-1_0"            before_all too: Electric's from_string accepts tx -1
 *                     with op 0 (leading zeros allowed as elsewhere)
 * Rejected: any other sign ("+1_2", "-0_0", "-1_5", "-1_inf"), spaces,
 * one or three parts ("10", "1_2_3"), empty parts ("_1", "1_", "1__2"),
 * numbers out of range. (Electric also takes "+1_2", "-0_0" and ops above
 * 64 bits; we do not.) Returns 0, or -1 with err (SS_ERR_INPUT)
 * "invalid offset '<text>'" and a detail line naming the accepted forms.
 */
int ss_offset_parse_n(const char *s, size_t len, unsigned flags,
		      struct ss_offset *out, struct ss_err *err);
/* The same for a NUL-terminated string. */
int ss_offset_parse(const char *s, unsigned flags, struct ss_offset *out,
		    struct ss_err *err);

/*
 * The text form: before_all -> "-1", now -> "now", {tx, inf} ->
 * "<tx>_inf", else "<tx>_<op>" in decimal without leading zeros. Writes
 * into `out` (at least SS_OFFSET_STRMAX bytes) and returns it.
 */
char *ss_offset_format(const struct ss_offset *o, char out[SS_OFFSET_STRMAX]);

/*
 * Compare: <0, 0, >0. Lexicographic on (tx, op), with inf above every op;
 * before_all is below everything. NOW has no place in a log: callers
 * resolve it first; for a total order it compares above every other
 * offset (and equal to itself).
 */
int ss_offset_compare(const struct ss_offset *a, const struct ss_offset *b);

/* Predicates (NORMAL offsets only; false for before_all and now):
 * virtual = in the snapshot part (tx == 0; snapshot chunk N ends at 0_N),
 * real = a transaction offset (tx > 0), inf = op is infinity. */
int ss_offset_is_virtual(const struct ss_offset *o);
int ss_offset_is_real(const struct ss_offset *o);
int ss_offset_is_inf(const struct ss_offset *o);
/* 1 if the struct holds a value this module can produce, else 0. */
int ss_offset_is_valid(const struct ss_offset *o);

/*
 * The 16-byte on-disk form, ordered so that memcmp() agrees with
 * ss_offset_compare(): bytes 0-7 are tx big-endian; bytes 8-15 are op + 1
 * big-endian, with inf stored as 0xFFFFFFFFFFFFFFFF; before_all is 16 zero
 * bytes (the only encoding whose op field is 0). This differs from
 * Electric's <<tx::64, op::64>> only in the op bias, which makes room for
 * before_all (Electric's tx -1) below 0_0.
 * Encode returns 0, or -1 with SS_ERR_INPUT for NOW or an invalid struct.
 * Decode returns 0, or -1 with SS_ERR_INPUT for a byte string no offset
 * encodes to (op field 0 with a non-zero tx field).
 */
int ss_offset_encode(const struct ss_offset *o,
		     unsigned char out[SS_OFFSET_BYTES], struct ss_err *err);
int ss_offset_decode(const unsigned char in[SS_OFFSET_BYTES],
		     struct ss_offset *out, struct ss_err *err);

#endif
