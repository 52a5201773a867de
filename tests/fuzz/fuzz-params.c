/*
 * fuzz-params.c — libFuzzer target for $n parameter binding in lib/where.
 * The input is a params JSON object on its first line, as serve accepts
 * subset__params ({"1": "5", "2": null, "3": 7}: keys numbered from 1,
 * strings, null, and numbers or booleans as their JSON text), and a clause
 * on the lines after it. The object becomes the values serve passes to
 * ss_where_compile_limited, the same way. Invariants: a clause that
 * compiles with its parameters renders them as typed literals, and that
 * canonical text compiles without parameters to the same canonical text
 * and evaluates alike on every row; a $n beyond the values given is an
 * error, never a read past them.
 */
#include <jansson.h>

#include "shape.h"
#include "where_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size), *clause;
	const char **pv = NULL;
	size_t npv = 0, i;
	json_t *params;
	json_error_t je;
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;
	struct ss_where_limits lim;

	clause = strchr(text, '\n');
	if (!clause) {
		free(text);
		return 0;
	}
	*clause++ = '\0';
	params = json_loads(text, JSON_DECODE_ANY, &je);
	if (!params || !json_is_object(params)) {
		json_decref(params);
		free(text);
		return 0;
	}
	/* serve's conversion (cmd/shapesync-serve.c, handle_subset) */
	npv = json_object_size(params);
	pv = calloc(npv + 1, sizeof(*pv));
	for (i = 0; i < npv; i++) {
		char key[24];
		json_t *v;

		snprintf(key, sizeof(key), "%zu", i + 1);
		v = json_object_get(params, key);
		if (!v)
			goto out; /* "must be numbered sequentially" */
		if (json_is_string(v)) {
			pv[i] = json_string_value(v);
		} else if (json_is_null(v)) {
			pv[i] = NULL;
		} else {
			char *t = json_dumps(v, JSON_ENCODE_ANY);

			json_object_set_new(params, key,
					    json_string(t ? t : ""));
			free(t);
			pv[i] = json_string_value(json_object_get(params, key));
		}
		/* serve rejects what is not UTF-8 before compiling */
		if (pv[i] && !ss_utf8_valid(pv[i], strlen(pv[i])))
			goto out;
	}
	ss_where_limits_default(&lim);
	lim.max_length = 4096;
	lim.max_in = 200;
	lim.max_cost = 100000;
	if (fz_compile(clause, pv, npv, &lim, &w, &err) < 0) {
		FUZZ_CHECK(w == NULL && err.msg[0] && err.code == SS_ERR_INPUT,
			   "compile error without message or code %d: '%s'",
			   err.code, clause);
	} else {
		fz_check_compiled(w, clause, NULL);
		ss_where_free(w);
	}
out:
	free(pv);
	json_decref(params);
	free(text);
	return 0;
}
