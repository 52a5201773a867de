/*
 * base.h — a shape's bases: what a client starting at offset -1 reads
 * before the log. Generation 0 is the initial snapshot (snapshot.N in the
 * shape's directory, followed by the whole log). Each compaction makes
 * the next generation: the rows the snapshot and the log up to an offset
 * `end` leave, one insert per key, as chunk files in base.<gen>/ (the
 * layout of lib/snapshot), followed by the log after `end`.
 *
 * The file <dir>/base records the generations still on disk, newest
 * first; `reclaimed`: log entries at or below that offset are no longer
 * served (since `at`); `punched`: the log bytes of entries at or below
 * that offset were given back to the file system. It is
 * written whole to base.tmp, synced and renamed, so a reader sees the old
 * record or the new one. No file: generation 0 alone, nothing reclaimed.
 *
 *   shapesync-base 1
 *   gen 2 end 5000_4 chunks 3 at 1765000000
 *   gen 1 end 4000_0 chunks 4 at 1764990000
 *   reclaimed 3000_2 at 1764900000
 *   punched 2000_0
 *
 * A base chunk is addressed by the virtual offset 0_(gen * 2^32 + n) (gen
 * 0: 0_n, as lib/snapshot says), so that an offset names its generation:
 * an offset of a generation no longer on disk, or a real offset at or
 * below `reclaimed`, can only be answered with a refetch.
 */
#ifndef SS_BASE_H
#define SS_BASE_H

#include <stdint.h>

#include "offset.h"
#include "util.h"

#define SS_BASE_MAX 8		 /* generations kept at most */
#define SS_BASE_GEN_SHIFT 32	 /* op = gen << 32 | chunk */
#define SS_BASE_GEN_MAX 0xffffff /* keeps op below SS_OFFSET_OP_MAX */

struct ss_base_gen {
	uint64_t gen;
	struct ss_offset end; /* gen 0: 0_inf (the log follows whole) */
	uint64_t chunks;      /* gen 0: 0 in the record (snapshot.done has
				 it) */
	int64_t at;	      /* when it was made (Unix seconds; gen 0: 0) */
};

struct ss_base {
	size_t n;			   /* >= 1 */
	struct ss_base_gen g[SS_BASE_MAX]; /* newest first */
	int has_reclaimed;
	struct ss_offset reclaimed;
	int64_t reclaimed_at;
	int has_punched; /* punched <= reclaimed */
	struct ss_offset punched;
};

/* Read <dir>/base into *b (no file: generation 0 alone). Errors:
 * SS_ERR_INPUT "base record '<path>' is damaged: ...", SS_ERR_RUNTIME. */
int ss_base_read(const char *dir, struct ss_base *b, struct ss_err *err);

/* Write *b as <dir>/base (base.tmp, fsync, rename, fsync of dir). */
int ss_base_write(const char *dir, const struct ss_base *b, struct ss_err *err);

/* The directory of generation gen's chunk files: dir itself for 0, else
 * dir/base.<gen>. Appends to out. */
void ss_base_dir(struct ss_buf *out, const char *dir, uint64_t gen);

/* The virtual offset that addresses chunk n of generation gen. */
struct ss_offset ss_base_chunk_offset(uint64_t gen, uint64_t n);

/*
 * Where a request's offset stands against *b:
 *   SS_BASE_OK       -1, a real offset past reclaimed, or 0_inf;
 *   SS_BASE_CHUNK    a virtual offset of a generation on disk: *gen and
 *                    *chunk say which chunk it ends (the next to send is
 *                    chunk + 1; past the last one, the log after that
 *                    generation's end);
 *   SS_BASE_GONE     a generation no longer on disk, or a real offset at
 *                    or below reclaimed: answer with a refetch.
 */
enum ss_base_where { SS_BASE_OK, SS_BASE_CHUNK, SS_BASE_GONE };
enum ss_base_where ss_base_locate(const struct ss_base *b,
				  const struct ss_offset *o, uint64_t *gen,
				  uint64_t *chunk);

/* The generation record of gen in *b, or NULL. */
const struct ss_base_gen *ss_base_find(const struct ss_base *b, uint64_t gen);

#endif
