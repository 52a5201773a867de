/*
 * md5.h — the MD5 digest (RFC 1321), for the tags of subquery shapes:
 * Electric names a row's reason to be in a shape with the lowercase hex
 * MD5 of a string, and PostgreSQL's md5() computes the same for snapshot
 * rows. Not for anything that needs a cryptographic hash.
 */
#ifndef SS_MD5_H
#define SS_MD5_H

#include <stddef.h>
#include <stdint.h>

struct ss_md5 {
	uint32_t h[4];
	uint64_t len; /* bytes so far */
	unsigned char buf[64];
	size_t nbuf;
};

void ss_md5_init(struct ss_md5 *m);
void ss_md5_update(struct ss_md5 *m, const void *data, size_t n);
/* Finish: the 32 lowercase hex digits and a NUL into hex[33]. */
void ss_md5_hex(struct ss_md5 *m, char hex[33]);

#endif
