/*
 * shape.c — shape definitions: Electric's identifier rules for the `table`
 * and `columns` parameters, the canonical JSON form that decides shape
 * identity, its hash, and the "<hash>-<us>" handles minted from it.
 */
#include "shape.h"

#include <inttypes.h>
#include <jansson.h>

/* Error texts are Electric's (E/postgres/identifiers.ex) so that HTTP
 * clients see the same 400 bodies as from Electric. */
#define MSG_ZERO_LENGTH "Invalid zero-length delimited identifier"
#define MSG_TOO_LONG "Identifier is too long (max length is 63)"
#define MSG_SPECIAL "Invalid unquoted identifier contains special characters"
#define MSG_UNESCAPED "Invalid identifier with unescaped quote"
#define MSG_DELIMS "Invalid relation identifier, too many delimiters"
#define MSG_UTF8 "Invalid identifier, not valid UTF-8"

/* How much of user text an error message echoes: ss_err.msg is 512 bytes
 * and the longest prefix above is under 60. */
#define ECHO_MAX 400

void ss_shape_init(struct ss_shape *s)
{
	memset(s, 0, sizeof(*s));
	s->replica = SS_REPLICA_DEFAULT;
	s->log_mode = SS_LOG_FULL;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void ss_shape_release(struct ss_shape *s)
{
	free(s->schema);
	free(s->table);
	free(s->where);
	free_strv(s->params, s->nparams);
	free_strv(s->columns, s->ncolumns);
	ss_shape_init(s);
}

/*
 * How many bytes of text (len bytes, valid UTF-8) to echo in a message:
 * at most ECHO_MAX, cut on a character boundary so the message stays valid
 * UTF-8 (serve puts it into a JSON body).
 */
static int echo_len(const char *text, size_t len)
{
	if (len <= ECHO_MAX)
		return (int)len;
	len = ECHO_MAX;
	while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
		len--;
	return (int)len;
}

static int is_ident_start(unsigned char c)
{
	/* Bytes >= 0x80 stand in for \pL: any non-ASCII character. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80;
}

static int is_ident_char(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/*
 * Parse one identifier, text[0..len), Electric's Identifiers.parse: a
 * part that starts and ends with '"' is quoted ("" unescapes to "), any
 * other is unquoted, checked and ASCII-downcased. text is valid UTF-8.
 * On success *out is *new*.
 */
static int parse_ident(const char *text, size_t len, char **out,
		       struct ss_err *err)
{
	struct ss_buf b = SS_BUF_INIT;
	size_t i;

	if (len >= 1 && text[0] == '"' && text[len - 1] == '"') {
		/* A lone '"' is both the opening and closing quote. */
		const char *in = text + 1;
		size_t inlen = len >= 2 ? len - 2 : 0;

		if (inlen == 0)
			return ss_err_set(err, SS_ERR_INPUT, MSG_ZERO_LENGTH);
		for (i = 0; i < inlen; i++) {
			if (in[i] != '"') {
				ss_buf_addc(&b, in[i]);
				continue;
			}
			/*
			 * Inside quotes only "" is allowed. Electric only
			 * rejects a lone quote and turns """ into "", we reject
			 * every odd run like PostgreSQL's lexer would.
			 */
			if (i + 1 < inlen && in[i + 1] == '"') {
				ss_buf_addc(&b, '"');
				i++;
				continue;
			}
			ss_buf_release(&b);
			return ss_err_set(err, SS_ERR_INPUT,
					  MSG_UNESCAPED ": %.*s",
					  echo_len(in, inlen), in);
		}
	} else {
		if (len == 0)
			return ss_err_set(err, SS_ERR_INPUT, MSG_ZERO_LENGTH);
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)text[i];

			if (i == 0 ? !is_ident_start(c) : !is_ident_char(c)) {
				ss_buf_release(&b);
				return ss_err_set(err, SS_ERR_INPUT,
						  MSG_SPECIAL ": %.*s",
						  echo_len(text, len), text);
			}
			/* PostgreSQL downcases only ASCII in UTF-8 databases.
			 */
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			ss_buf_addc(&b, (char)c);
		}
	}
	/* NAMEDATALEN counts bytes, so do we (Electric counts characters). */
	if (b.len > SS_IDENT_MAX) {
		ss_buf_release(&b);
		return ss_err_set(err, SS_ERR_INPUT, MSG_TOO_LONG);
	}
	*out = ss_buf_detach(&b, NULL);
	return 0;
}

int ss_shape_parse_table(struct ss_shape *s, const char *text,
			 struct ss_err *err)
{
	size_t len, i, dot = 0, ndots = 0;
	int quoted = 0;
	char *schema = NULL, *table = NULL;

	if (!text)
		text = "";
	len = strlen(text);
	/* Checked first so every message below echoes valid UTF-8. */
	if (!ss_utf8_valid(text, len))
		return ss_err_set(err, SS_ERR_INPUT, MSG_UTF8);
	/* Split on '.' outside quotes; a '"' toggles, as in Electric's
	 * StringSplitter (so "" inside a quoted part toggles twice). */
	for (i = 0; i < len; i++) {
		if (text[i] == '"') {
			quoted = !quoted;
		} else if (text[i] == '.' && !quoted) {
			if (ndots++ == 0)
				dot = i;
		}
	}
	if (ndots > 1)
		return ss_err_set(err, SS_ERR_INPUT, MSG_DELIMS ": %.*s",
				  echo_len(text, len), text);
	if (ndots == 1) {
		if (parse_ident(text, dot, &schema, err) < 0)
			return -1;
		if (parse_ident(text + dot + 1, len - dot - 1, &table, err) <
		    0) {
			free(schema);
			return -1;
		}
	} else {
		if (parse_ident(text, len, &table, err) < 0)
			return -1;
		schema = ss_xstrdup("public");
	}
	free(s->schema);
	free(s->table);
	s->schema = schema;
	s->table = table;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort v[0..n) byte-wise, free duplicates; return the new count. */
static size_t sort_unique(char **v, size_t n)
{
	size_t i, out = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 1; i < n; i++) {
		if (!strcmp(v[out], v[i]))
			free(v[i]);
		else
			v[++out] = v[i];
	}
	return out + 1;
}

int ss_shape_parse_columns(struct ss_shape *s, const char *text,
			   struct ss_err *err)
{
	size_t len, i, start = 0, quotes_after = 0, n = 0, alloc = 0;
	char **cols = NULL;

	if (!text)
		text = "";
	len = strlen(text);
	if (!ss_utf8_valid(text, len))
		return ss_err_set(err, SS_ERR_INPUT, MSG_UTF8);
	for (i = 0; i < len; i++)
		quotes_after += text[i] == '"';
	/*
	 * Electric splits with ~r/,(?=(?:[^"]*"[^"]*")*[^"]*$)/: a comma
	 * splits iff an even number of quotes follows it. That differs from
	 * a left-to-right toggle when the quotes are unbalanced, and decides
	 * which error a malformed list gets, so do exactly the same.
	 */
	for (i = 0; i <= len; i++) {
		if (i < len && text[i] == '"')
			quotes_after--;
		if (i < len && (text[i] != ',' || quotes_after % 2))
			continue;
		SS_GROW(cols, alloc, n + 1);
		if (parse_ident(text + start, i - start, &cols[n], err) < 0) {
			free_strv(cols, n);
			return -1;
		}
		n++;
		start = i + 1;
	}
	n = sort_unique(cols, n);
	free_strv(s->columns, s->ncolumns);
	s->columns = cols;
	s->ncolumns = n;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

void ss_shape_set_where(struct ss_shape *s, const char *where)
{
	size_t len;

	free(s->where);
	s->where = NULL;
	if (!where)
		return;
	while (is_space(*where))
		where++;
	len = strlen(where);
	while (len > 0 && is_space(where[len - 1]))
		len--;
	if (len)
		s->where = ss_xstrndup(where, len);
}

void ss_shape_add_param(struct ss_shape *s, const char *value)
{
	/* Grow one at a time: a shape has a handful of parameters. */
	s->params =
	    ss_xrealloc(s->params, (s->nparams + 1) * sizeof(*s->params));
	s->params[s->nparams++] = ss_xstrdup(value ? value : "");
}

static const char *replica_name(enum ss_replica r)
{
	return r == SS_REPLICA_FULL ? "full" : "default";
}

static const char *log_mode_name(enum ss_log_mode m)
{
	return m == SS_LOG_CHANGES_ONLY ? "changes_only" : "full";
}

static int replica_from(const char *text, enum ss_replica *out)
{
	if (!strcmp(text, "default"))
		*out = SS_REPLICA_DEFAULT;
	else if (!strcmp(text, "full"))
		*out = SS_REPLICA_FULL;
	else
		return -1;
	return 0;
}

static int log_mode_from(const char *text, enum ss_log_mode *out)
{
	if (!strcmp(text, "full"))
		*out = SS_LOG_FULL;
	else if (!strcmp(text, "changes_only"))
		*out = SS_LOG_CHANGES_ONLY;
	else
		return -1;
	return 0;
}

int ss_shape_parse_replica(struct ss_shape *s, const char *text,
			   struct ss_err *err)
{
	if (!text) {
		s->replica = SS_REPLICA_DEFAULT;
		return 0;
	}
	if (replica_from(text, &s->replica) < 0)
		return ss_err_set(err, SS_ERR_INPUT, "is invalid");
	return 0;
}

int ss_shape_parse_move_out(struct ss_shape *s, const char *text,
			    struct ss_err *err)
{
	if (!text || !strcmp(text, "event"))
		s->move_out = SS_MOVE_OUT_EVENT;
	else if (!strcmp(text, "delete"))
		s->move_out = SS_MOVE_OUT_DELETE;
	else
		return ss_err_set(err, SS_ERR_INPUT, "is invalid");
	return 0;
}

int ss_shape_parse_log_mode(struct ss_shape *s, const char *text,
			    struct ss_err *err)
{
	if (!text) {
		s->log_mode = SS_LOG_FULL;
		return 0;
	}
	if (log_mode_from(text, &s->log_mode) < 0)
		return ss_err_set(err, SS_ERR_INPUT, "is invalid");
	return 0;
}

static void add_json_or_null(struct ss_buf *out, const char *s)
{
	if (s)
		ss_buf_add_json_string(out, s, strlen(s));
	else
		ss_buf_adds(out, "null");
}

static void add_json_array(struct ss_buf *out, char **v, size_t n)
{
	size_t i;

	ss_buf_addc(out, '[');
	for (i = 0; i < n; i++) {
		if (i)
			ss_buf_addc(out, ',');
		ss_buf_add_json_string(out, v[i], strlen(v[i]));
	}
	ss_buf_addc(out, ']');
}

void ss_shape_canonical(const struct ss_shape *s, struct ss_buf *out)
{
	ss_buf_adds(out, "{\"schema\":");
	add_json_or_null(out, s->schema);
	ss_buf_adds(out, ",\"table\":");
	add_json_or_null(out, s->table);
	ss_buf_adds(out, ",\"where\":");
	add_json_or_null(out, s->where);
	ss_buf_adds(out, ",\"params\":");
	add_json_array(out, s->params, s->nparams);
	ss_buf_adds(out, ",\"columns\":");
	if (s->ncolumns)
		add_json_array(out, s->columns, s->ncolumns);
	else
		ss_buf_adds(out, "null");
	ss_buf_addf(out, ",\"replica\":\"%s\",\"log\":\"%s\"",
		    replica_name(s->replica), log_mode_name(s->log_mode));
	if (s->move_out == SS_MOVE_OUT_DELETE)
		ss_buf_adds(out, ",\"move_out\":\"delete\"");
	ss_buf_addc(out, '}');
}

/* A JSON string value as a C string, or NULL if v is not a string or holds
 * a NUL (which a C string could not carry). Borrowed from v. */
static const char *json_cstr(json_t *v)
{
	const char *str;

	if (!json_is_string(v))
		return NULL;
	str = json_string_value(v);
	return strlen(str) == json_string_length(v) ? str : NULL;
}

static int valid_ident(const char *str)
{
	size_t len = str ? strlen(str) : 0;

	return len > 0 && len <= SS_IDENT_MAX;
}

/* Fill s from the parsed object o, which has exactly the seven keys. */
static int shape_from_json(struct ss_shape *s, json_t *o, struct ss_err *err)
{
	const char *str;
	json_t *v, *a;
	size_t i;

	str = json_cstr(json_object_get(o, "schema"));
	if (!valid_ident(str))
		return ss_err_set(err, SS_ERR_INPUT,
				  "'schema' must be an identifier");
	s->schema = ss_xstrdup(str);
	str = json_cstr(json_object_get(o, "table"));
	if (!valid_ident(str))
		return ss_err_set(err, SS_ERR_INPUT,
				  "'table' must be an identifier");
	s->table = ss_xstrdup(str);

	v = json_object_get(o, "where");
	if (!json_is_null(v)) {
		str = json_cstr(v);
		/* A where that set_where would change is not canonical. */
		if (!str || !*str || is_space(str[0]) ||
		    is_space(str[strlen(str) - 1]))
			return ss_err_set(
			    err, SS_ERR_INPUT,
			    "'where' must be null or a trimmed, non-empty string");
		s->where = ss_xstrdup(str);
	}

	a = json_object_get(o, "params");
	if (!json_is_array(a))
		return ss_err_set(err, SS_ERR_INPUT,
				  "'params' must be an array");
	json_array_foreach(a, i, v)
	{
		if (!(str = json_cstr(v)))
			return ss_err_set(err, SS_ERR_INPUT,
					  "'params' must hold strings");
		ss_shape_add_param(s, str);
	}

	a = json_object_get(o, "columns");
	if (!json_is_null(a)) {
		if (!json_is_array(a) || json_array_size(a) == 0)
			return ss_err_set(
			    err, SS_ERR_INPUT,
			    "'columns' must be null or a non-empty array");
		s->columns =
		    ss_xcalloc(json_array_size(a), sizeof(*s->columns));
		json_array_foreach(a, i, v)
		{
			str = json_cstr(v);
			if (!valid_ident(str))
				return ss_err_set(
				    err, SS_ERR_INPUT,
				    "'columns' must hold identifiers");
			if (i > 0 && strcmp(s->columns[i - 1], str) >= 0)
				return ss_err_set(
				    err, SS_ERR_INPUT,
				    "'columns' must be sorted and unique");
			s->columns[s->ncolumns++] = ss_xstrdup(str);
		}
	}

	str = json_cstr(json_object_get(o, "replica"));
	if (!str || replica_from(str, &s->replica) < 0)
		return ss_err_set(err, SS_ERR_INPUT,
				  "'replica' must be \"default\" or \"full\"");
	str = json_cstr(json_object_get(o, "log"));
	if (!str || log_mode_from(str, &s->log_mode) < 0)
		return ss_err_set(err, SS_ERR_INPUT,
				  "'log' must be \"full\" or \"changes_only\"");
	if (json_object_get(o, "move_out")) {
		str = json_cstr(json_object_get(o, "move_out"));
		/* only the non-default value is written */
		if (!str || strcmp(str, "delete"))
			return ss_err_set(err, SS_ERR_INPUT,
					  "'move_out' must be \"delete\"");
		s->move_out = SS_MOVE_OUT_DELETE;
	}
	return 0;
}

int ss_shape_from_canonical(struct ss_shape *s, const char *json,
			    struct ss_err *err)
{
	static const char *const keys[] = {
	    "schema", "table", "where", "params", "columns", "replica", "log"};
	json_error_t jerr;
	json_t *o;
	size_t i;
	int ret = -1;

	ss_shape_release(s);
	o = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		ss_err_set(err, SS_ERR_INPUT, "invalid canonical shape: %s",
			   jerr.text);
		ss_err_detail(err, "at line %d, column %d", jerr.line,
			      jerr.column);
		return -1;
	}
	if (!json_is_object(o)) {
		ss_err_set(err, SS_ERR_INPUT, "must be an object");
		goto out;
	}
	/* All seven keys and nothing else: with duplicates rejected, seven
	 * members that each name a known key are exactly the known keys. */
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!json_object_get(o, keys[i])) {
			ss_err_set(err, SS_ERR_INPUT, "missing key '%s'",
				   keys[i]);
			goto out;
		}
	}
	if (json_object_size(o) !=
	    sizeof(keys) / sizeof(keys[0]) +
		(json_object_get(o, "move_out") != NULL)) {
		const char *key;
		json_t *v;

		json_object_foreach(o, key, v)
		{
			for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
				if (!strcmp(key, keys[i]))
					break;
			if (i == sizeof(keys) / sizeof(keys[0]) &&
			    strcmp(key, "move_out"))
				break;
		}
		ss_err_set(err, SS_ERR_INPUT, "unknown key '%s'",
			   key ? key : "?");
		goto out;
	}
	ret = shape_from_json(s, o, err);
out:
	if (ret < 0) {
		ss_err_prefix(err, "invalid canonical shape");
		ss_shape_release(s);
	}
	json_decref(o);
	return ret;
}

uint32_t ss_shape_hash_canonical(const char *canonical, size_t len)
{
	uint64_t h = ss_hash64(canonical, len);

	/* Fold both halves in so every input byte still matters. */
	return (uint32_t)(h ^ (h >> 32));
}

void ss_shape_format_handle(uint32_t hash, int64_t us, char *out, size_t outsz)
{
	snprintf(out, outsz, "%" PRIu32 "-%" PRId64, hash, us < 0 ? 0 : us);
}

/*
 * Scan a run of 1..maxdigits decimal digits at *p with no leading zero
 * (so each number has one spelling). Return its length, or 0.
 */
static size_t scan_digits(const char *p, size_t maxdigits)
{
	size_t n = 0;

	while (p[n] >= '0' && p[n] <= '9') {
		if (++n > maxdigits)
			return 0;
	}
	if (n > 1 && p[0] == '0')
		return 0;
	return n;
}

int ss_shape_handle_valid(const char *text, uint32_t *hash)
{
	size_t nh, nu;
	uint64_t h = 0;
	size_t i;

	if (!text)
		return 0;
	nh = scan_digits(text, 10);
	if (nh == 0 || text[nh] != '-')
		return 0;
	nu = scan_digits(text + nh + 1, 20);
	if (nu == 0 || text[nh + 1 + nu] != '\0' ||
	    nh + 1 + nu >= SS_HANDLE_MAX)
		return 0;
	for (i = 0; i < nh; i++)
		h = h * 10 + (uint64_t)(text[i] - '0');
	if (h > UINT32_MAX)
		return 0;
	if (hash)
		*hash = (uint32_t)h;
	return 1;
}

void ss_shape_quote_ident(struct ss_buf *out, const char *ident)
{
	/* Always quoting is correct and avoids carrying PG's keyword list. */
	ss_buf_addc(out, '"');
	ss_buf_add_doubling(out, ident, '"');
	ss_buf_addc(out, '"');
}
