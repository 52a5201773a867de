/*
 * pgoutput.h — a decoder for the messages of PostgreSQL's pgoutput logical
 * decoding plugin, protocol version 1 (text values, no streaming), and the
 * caches a client keeps beside it: relations by oid and type names by oid.
 * Pure byte parsing: no server, no I/O, so it is tested on captured bytes.
 * Also the 32-bit to 64-bit transaction id extension.
 */
#ifndef SS_PGOUTPUT_H
#define SS_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "lsn.h"
#include "util.h"

/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define SS_PG_EPOCH_OFFSET_US INT64_C(946684800000000)

/* One column of a relation message. */
struct ss_pgo_column {
	char *name;
	uint32_t type_oid;
	int32_t typmod;
	int key; /* part of the replica identity key */
};

/* A relation as pgoutput describes it. Owned by whoever holds it; the
 * decoder's copy (in struct ss_pgo_msg) is borrowed until the next
 * decode, a relcache's until that oid is replaced or the cache freed. */
struct ss_pgo_relation {
	uint32_t oid;
	char *schema; /* "pg_catalog" when pgoutput sent "" */
	char *table;
	char replident; /* 'd', 'n', 'f' or 'i' */
	size_t ncols;
	struct ss_pgo_column *cols;
};

/* Kinds of a tuple value, pgoutput's own letters. */
#define SS_PGO_NULL 'n'
#define SS_PGO_UNCHANGED 'u' /* an unchanged TOAST value: not sent */
#define SS_PGO_TEXT 't'

/* One value of a tuple: text (not NUL-terminated), null or unchanged.
 * `data` is borrowed from the decoded message buffer. */
struct ss_pgo_value {
	char kind;
	uint32_t len;
	const char *data;
};

struct ss_pgo_tuple {
	size_t ncols;
	struct ss_pgo_value *vals; /* storage owned by the ss_pgo_msg */
	size_t alloc_;
};

/*
 * One decoded message. Transparent; fields belong to `type`:
 *   'B' begin:    final_lsn (the commit LSN), ts_us, xid
 *   'C' commit:   flags, commit_lsn, end_lsn, ts_us
 *   'O' origin:   origin_lsn, origin_name
 *   'R' relation: rel
 *   'Y' type:     type_oid, type_schema, type_name
 *   'I' insert:   relid, new_tuple
 *   'U' update:   relid, old_kind ('K' key, 'O' old row, 0 none),
 *                 old_tuple (if old_kind), new_tuple
 *   'D' delete:   relid, old_kind ('K' or 'O'), old_tuple
 *   'T' truncate: trunc_flags (1 cascade, 2 restart identity), relids,
 *                 nrelids
 *   'M' logical message (with the "messages" option): flags (1:
 *                 transactional), msg_lsn, msg_prefix, msg_content and
 *                 msg_len (the content is bytes, not NUL-terminated).
 * Strings and values are *borrowed*: they point into the input buffer
 * (valid while it lives and until the next decode into the same struct
 * or its release). Timestamps are Unix microseconds. Initialise with
 * SS_PGO_MSG_INIT, free with ss_pgo_msg_release (reusable afterwards).
 */
struct ss_pgo_msg {
	char type;
	ss_lsn final_lsn, commit_lsn, end_lsn, origin_lsn;
	int64_t ts_us;
	uint32_t xid;
	uint8_t flags;
	const char *origin_name;
	struct ss_pgo_relation rel;
	uint32_t type_oid;
	const char *type_schema, *type_name;
	uint32_t relid;
	char old_kind;
	struct ss_pgo_tuple old_tuple, new_tuple;
	uint8_t trunc_flags;
	uint32_t *relids;
	size_t nrelids;
	ss_lsn msg_lsn;
	const char *msg_prefix;
	const char *msg_content;
	size_t msg_len;

	/* Private storage. */
	size_t relids_alloc_, cols_alloc_;
};

#define SS_PGO_MSG_INIT                                                        \
	{                                                                      \
		.type = 0                                                      \
	}

void ss_pgo_msg_release(struct ss_pgo_msg *m);

/*
 * Decode one pgoutput message (the payload of an XLogData message, `len`
 * bytes at `buf`) into *m. Returns 0, or -1 with err (SS_ERR_INPUT) for a
 * truncated or malformed message or an unknown message type, e.g.
 * "pgoutput: insert message truncated at byte 7", "pgoutput: unknown
 * message type 'S'" (protocol version 1 never sends stream messages),
 * "pgoutput: relation message with invalid oid 0" (also for a type
 * message: the caches are keyed by oid).
 */
int ss_pgo_decode(struct ss_pgo_msg *m, const char *buf, size_t len,
		  struct ss_err *err);

/* ---- Relation and type caches ------------------------------------------ */

struct ss_pgo_cache;

/* A *new* empty cache (free with ss_pgo_cache_free; NULL is a no-op). */
struct ss_pgo_cache *ss_pgo_cache_new(void);
void ss_pgo_cache_free(struct ss_pgo_cache *c);

/*
 * Store a deep copy of `rel` (replacing the entry for its oid). Returns 1
 * if the relation is new or differs from the cached one in any field
 * (a schema change worth telling downstream about), 0 if identical.
 */
int ss_pgo_cache_put_relation(struct ss_pgo_cache *c,
			      const struct ss_pgo_relation *rel);
/* The cached relation for oid (*borrowed* until it is replaced or the
 * cache freed), or NULL. */
const struct ss_pgo_relation *
ss_pgo_cache_relation(const struct ss_pgo_cache *c, uint32_t oid);

/* Remember a type's name (copied). */
void ss_pgo_cache_put_type(struct ss_pgo_cache *c, uint32_t oid,
			   const char *name);
/* The type's name (*borrowed* while the cache lives), or NULL. */
const char *ss_pgo_cache_type(const struct ss_pgo_cache *c, uint32_t oid);
/* The number of types cached (for tests). */
size_t ss_pgo_cache_ntypes(const struct ss_pgo_cache *c);

/* ---- Transaction ids ------------------------------------------------- */

/*
 * pgoutput sends 32-bit xids; PostgreSQL's xid8 (pg_current_xact_id(),
 * pg_current_snapshot()) is 64-bit: epoch << 32 | xid. Every transaction
 * the stream can still carry is within 2^31 of the server's next xid, so
 * a 32-bit xid is extended to the 64-bit value nearest to a reference
 * 64-bit xid: seed the reference with the next full xid at connect time
 * (pg_snapshot_xmax(pg_current_snapshot())) and move it to each result.
 * Results below 3 (FirstNormalTransactionId) at epoch 0 cannot occur
 * from a real server; the arithmetic clamps at 0 anyway.
 */
uint64_t ss_pgo_xid_extend(uint64_t *reference, uint32_t xid);

#endif
