/*
 * message.c — Electric's wire messages: keys and control messages, built
 * as the reference describes them byte for byte.
 */
#include "message.h"

#include <inttypes.h>

static void quoted_name(struct ss_buf *out, const char *name)
{
	ss_buf_addc(out, '"');
	for (; *name; name++) {
		if (*name == '"')
			ss_buf_addc(out, '"');
		ss_buf_addc(out, *name);
	}
	ss_buf_addc(out, '"');
}

void ss_message_key(struct ss_buf *out, const char *schema, const char *table,
		    const char *const *pk_values, size_t npk)
{
	size_t i;

	quoted_name(out, schema);
	ss_buf_addc(out, '.');
	quoted_name(out, table);
	for (i = 0; i < npk; i++) {
		const char *v = pk_values[i];

		if (!v) {
			ss_buf_adds(out, "/_");
			continue;
		}
		ss_buf_adds(out, "/\"");
		for (; *v; v++) {
			if (*v == '/')
				ss_buf_addc(out, '/');
			ss_buf_addc(out, *v);
		}
		ss_buf_addc(out, '"');
	}
}

void ss_message_up_to_date(struct ss_buf *out, uint64_t lsn)
{
	ss_buf_addf(out, "{\"headers\":{\"control\":\"up-to-date\","
		    "\"global_last_seen_lsn\":\"%" PRIu64 "\"}}", lsn);
}

void ss_message_must_refetch(struct ss_buf *out)
{
	ss_buf_adds(out, "{\"headers\":{\"control\":\"must-refetch\"}}");
}

void ss_message_snapshot_end(struct ss_buf *out, uint64_t xmin, uint64_t xmax,
			     const uint64_t *xip, size_t nxip)
{
	size_t i;

	ss_buf_addf(out, "{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":\"%" PRIu64
		    "\",\"xmax\":\"%" PRIu64 "\",\"xip_list\":[", xmin, xmax);
	for (i = 0; i < nxip; i++)
		ss_buf_addf(out, "%s\"%" PRIu64 "\"", i ? "," : "", xip[i]);
	ss_buf_adds(out, "]}}");
}
