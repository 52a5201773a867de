/*
 * message.h — Electric's wire messages, built byte for byte: change
 * messages (key, value, headers, old_value), keys, and the control
 * messages (up-to-date, must-refetch, snapshot-end). store builds change
 * messages from frames; serve builds control messages; the snapshot's rows
 * are rendered by PostgreSQL in the same format (see the SQL in serve).
 */
#ifndef SS_MESSAGE_H
#define SS_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * A row key: "<schema>"."<table>" then, for each primary-key column in key
 * order, "/" and the value in double quotes with every "/" doubled, or
 * "/_" for NULL (reference 1.7). Schema and table are written with
 * PostgreSQL's quote_ident rules for the quoted form ("" doubles "), as
 * the snapshot SQL does. Appends to out (raw text, not JSON-escaped).
 */
void ss_message_key(struct ss_buf *out, const char *schema, const char *table,
		    const char *const *pk_values, size_t npk);

/* The control messages, as compact JSON. */
void ss_message_up_to_date(struct ss_buf *out, uint64_t global_last_seen_lsn);
void ss_message_must_refetch(struct ss_buf *out);
/* {"headers":{"control":"snapshot-end","xmin":"..","xmax":"..","xip_list":[..]}} */
void ss_message_snapshot_end(struct ss_buf *out, uint64_t xmin, uint64_t xmax,
			     const uint64_t *xip, size_t nxip);

#endif
