/*
 * parse.c -- pure parsers and validators for bytes that come off the network.
 *
 * Nothing here touches a request, the database or the heap: each function
 * takes a string, checks it against explicit limits, and either fills a typed
 * out-parameter or says precisely what was wrong, so that the surfaces can
 * name the offending parameter in their error bodies.  The unit tests in
 * tests/unit/check_parse.c exercise every branch.
 */
#include <ctype.h>
#include <string.h>

#include "docket.h"

/*
 * Parse a decimal integer in [min, max].  Only an optional '-' and ASCII
 * digits are accepted: no spaces, no '+', no exponent, no hex; strtoll's
 * leniency is exactly what an API must not have.
 * Returns PARSE_MISSING for NULL, PARSE_EMPTY for "", PARSE_NOT_NUMBER for
 * anything not digits, PARSE_NOT_POSITIVE for a number below min when
 * min is 1, PARSE_RANGE for any other number outside [min, max].
 */
enum parse_rc
parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char	*p;
	int		 neg = 0;
	uint64_t	 acc = 0, limit;

	if (s == NULL)
		return PARSE_MISSING;
	if (*s == '\0')
		return PARSE_EMPTY;
	p = s;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p == '\0')
		return PARSE_NOT_NUMBER;
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return PARSE_NOT_NUMBER;

	/* Accumulate with an explicit ceiling: 2^63 for negatives. */
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (p = s + neg; *p != '\0'; p++) {
		if (acc > (limit - (uint64_t)(*p - '0')) / 10)
			return PARSE_RANGE;
		acc = acc * 10 + (uint64_t)(*p - '0');
	}
	if (neg) {
		if (acc == 0) {
			if (0 < min)
				return min == 1 ? PARSE_NOT_POSITIVE : PARSE_RANGE;
			if (0 > max)
				return PARSE_RANGE;
			*out = 0;
			return PARSE_OK;
		}
		/* -acc without overflow, also for acc == 2^63. */
		if (min >= 0)
			return min == 1 ? PARSE_NOT_POSITIVE : PARSE_RANGE;
		if (acc - 1 > (uint64_t)(-(min + 1)))
			return PARSE_RANGE;
		if (-(int64_t)(acc - 1) - 1 > max)
			return PARSE_RANGE;
		*out = -(int64_t)(acc - 1) - 1;
		return PARSE_OK;
	}
	if ((int64_t)acc < min)
		return min == 1 ? PARSE_NOT_POSITIVE : PARSE_RANGE;
	if ((int64_t)acc > max)
		return PARSE_RANGE;
	*out = (int64_t)acc;
	return PARSE_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Percent-decode in[0..n) into out (NUL-terminated), '+' meaning space as in
 * application/x-www-form-urlencoded.  Rejects truncated or non-hex escapes
 * and an encoded NUL, which no docket parameter may contain.
 */
int
url_decode(const char *in, size_t n, char *out, size_t outcap,
    size_t *outlen)
{
	size_t	 i, o = 0;
	int	 hi, lo;
	char	 c;

	if (outcap == 0)
		return -1;
	for (i = 0; i < n; i++) {
		c = in[i];
		if (c == '%') {
			if (n - i < 3)
				return -1;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				return -1;
			i += 2;
		} else if (c == '+')
			c = ' ';
		else if (c == '\0')
			return -1;
		if (o + 1 >= outcap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

/*
 * Split a query string into decoded key/value pairs stored inside q itself.
 * Empty segments ("a=1&&b=2") are skipped; a key without '=' has value "".
 */
enum query_rc
query_parse(struct query *q, const char *qs)
{
	const char	*seg, *end, *eq;
	size_t		 used = 0, klen, vlen, room;

	q->n = 0;
	if (qs == NULL || *qs == '\0')
		return QUERY_OK;
	if (strlen(qs) > QUERY_MAX_LEN)
		return QUERY_TOO_LONG;

	for (seg = qs; *seg != '\0'; seg = *end ? end + 1 : end) {
		end = strchr(seg, '&');
		if (end == NULL)
			end = seg + strlen(seg);
		if (end == seg)
			continue;
		if (q->n == QUERY_MAX_PARAMS)
			return QUERY_TOO_MANY;
		eq = memchr(seg, '=', (size_t)(end - seg));
		klen = (size_t)((eq ? eq : end) - seg);
		room = sizeof(q->store) - used;
		/*
		 * Decoding never grows a string, so raw length + NUL bounds
		 * what it stores; key-only segments cost one byte more than
		 * they take in the query, hence the check even below
		 * QUERY_MAX_LEN.
		 */
		if (klen + 1 > room)
			return QUERY_TOO_LONG;
		if (url_decode(seg, klen, q->store + used, room, &klen) != 0)
			return QUERY_BAD_ENCODING;
		q->p[q->n].key = q->store + used;
		used += klen + 1;
		room = sizeof(q->store) - used;
		if (eq != NULL) {
			if ((size_t)(end - eq - 1) + 1 > room)
				return QUERY_TOO_LONG;
			if (url_decode(eq + 1, (size_t)(end - eq - 1),
			    q->store + used, room, &vlen) != 0)
				return QUERY_BAD_ENCODING;
		} else {
			if (room < 1)
				return QUERY_TOO_LONG;
			q->store[used] = '\0';
			vlen = 0;
		}
		q->p[q->n].val = q->store + used;
		used += vlen + 1;
		q->n++;
	}
	return QUERY_OK;
}

/* First value of key, or NULL; *count (if given) is how often it appears. */
const char *
query_get(const struct query *q, const char *key, size_t *count)
{
	const char	*first = NULL;
	size_t		 i, c = 0;

	for (i = 0; i < q->n; i++) {
		if (strcmp(q->p[i].key, key) != 0)
			continue;
		if (c++ == 0)
			first = q->p[i].val;
	}
	if (count != NULL)
		*count = c;
	return first;
}

/* The first key not in the NULL-terminated allowed list, or NULL. */
const char *
query_unknown(const struct query *q, const char *const *allowed)
{
	size_t	 i, j;

	for (i = 0; i < q->n; i++) {
		for (j = 0; allowed[j] != NULL; j++)
			if (strcmp(q->p[i].key, allowed[j]) == 0)
				break;
		if (allowed[j] == NULL)
			return q->p[i].key;
	}
	return NULL;
}

static int
token_chars_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > TOKEN_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.' && s[i] != '~')
			return 0;
	return 1;
}

/*
 * Find the API token in "Authorization: <token>", "Authorization: Bearer
 * <token>" (scheme case-insensitive) or "X-Api-Token: <token>".  The
 * Authorization header wins when both are present.  Returns 0 and copies the
 * token, or -1 when there is none or it has characters a token never has.
 */
int
token_from_headers(const char *authz, const char *xtoken, char *out,
    size_t outcap)
{
	const char	*t = NULL;
	size_t		 n;

	if (authz != NULL && *authz != '\0') {
		t = authz;
		if (strncasecmp(t, "Bearer ", 7) == 0)
			t += 7;
		while (*t == ' ')
			t++;
	} else if (xtoken != NULL && *xtoken != '\0')
		t = xtoken;
	if (t == NULL)
		return -1;
	n = strlen(t);
	while (n > 0 && t[n - 1] == ' ')
		n--;
	if (!token_chars_valid(t, n) || n + 1 > outcap)
		return -1;
	memcpy(out, t, n);
	out[n] = '\0';
	return 0;
}

/* Canonical lower-case 8-4-4-4-12 form only. */
int
uuid_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n != UUID_STR_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

/*
 * An object name is "<uuid>" or "<uuid>.<ext>" with an alphanumeric
 * extension of at most 16 characters: the same rule as the job_objects
 * CHECK constraint, so nothing that could name a path ever passes.
 */
int
object_name_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n < UUID_STR_LEN || !uuid_valid(s, UUID_STR_LEN))
		return 0;
	if (n == UUID_STR_LEN)
		return 1;
	if (s[UUID_STR_LEN] != '.' || n - UUID_STR_LEN - 1 < 1 ||
	    n - UUID_STR_LEN - 1 > 16)
		return 0;
	for (i = UUID_STR_LEN + 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

const char *
object_kind_name(enum object_kind k)
{
	switch (k) {
	case OBJECT_FULL:
		return "full";
	case OBJECT_MIN:
		return "min";
	default:
		return "original";
	}
}

/*
 * Parse "/objects/<job-uuid>/<object-name>[/full|/min]".  The path is the
 * already-decoded $uri from nginx; anything else (extra segments, dots,
 * encoded bytes, trailing slashes) is rejected.
 */
int
object_path_parse(const char *path, struct object_ref *ref)
{
	static const char prefix[] = "/objects/";
	const char	*p, *slash, *name;
	size_t		 n;

	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	p = path + sizeof(prefix) - 1;
	if ((slash = strchr(p, '/')) == NULL ||
	    !uuid_valid(p, (size_t)(slash - p)))
		return -1;
	memcpy(ref->job_uuid, p, UUID_STR_LEN);
	ref->job_uuid[UUID_STR_LEN] = '\0';

	name = slash + 1;
	slash = strchr(name, '/');
	n = slash ? (size_t)(slash - name) : strlen(name);
	if (!object_name_valid(name, n) || n >= sizeof(ref->name))
		return -1;
	memcpy(ref->name, name, n);
	ref->name[n] = '\0';

	if (slash == NULL)
		ref->kind = OBJECT_ORIGINAL;
	else if (strcmp(slash, "/full") == 0)
		ref->kind = OBJECT_FULL;
	else if (strcmp(slash, "/min") == 0)
		ref->kind = OBJECT_MIN;
	else
		return -1;
	return 0;
}

/*
 * A queue name: a letter or digit, then up to 127 of letters, digits and
 * "._:-" -- the jobs_queue_name CHECK of sql/003_queue.sql.  Such names need
 * no quoting in a PostgreSQL array literal or a NOTIFY payload.
 */
int
queue_name_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n < 1 || n > 128 || !isalnum((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != ':' && s[i] != '-')
			return 0;
	return 1;
}

/*
 * Strict JSON syntax (RFC 8259) of a whole text, nesting at most max_depth.
 * json-c's strict mode still takes 'single-quoted' strings, NaN, Infinity,
 * "1.", raw control characters and bytes that are not UTF-8 inside
 * strings; a request body is
 * checked here first so that what docket accepts is JSON and nothing else.
 * Recursive descent over a cursor; no allocation.
 */
struct jcur {
	const char	*p, *end;
};

static void
j_ws(struct jcur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
	    *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int
j_lit(struct jcur *c, const char *word)
{
	size_t	 n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

static int
j_digits(struct jcur *c)
{
	const char	*start = c->p;

	while (c->p < c->end && isdigit((unsigned char)*c->p))
		c->p++;
	return c->p > start ? 0 : -1;
}

static int
j_number(struct jcur *c)
{
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (j_digits(c) != 0)
		return -1;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (j_digits(c) != 0)
			return -1;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (j_digits(c) != 0)
			return -1;
	}
	return 0;
}

/*
 * One UTF-8 sequence starting at c->p - 1 (its lead byte already taken):
 * the shortest form, no UTF-16 surrogates, at most U+10FFFF.
 */
static int
j_utf8(struct jcur *c, unsigned char lead)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	int		 n, i;

	if (lead >= 0xc2 && lead <= 0xdf)
		n = 1;
	else if (lead >= 0xe0 && lead <= 0xef) {
		n = 2;
		if (lead == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (lead == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (lead >= 0xf0 && lead <= 0xf4) {
		n = 3;
		if (lead == 0xf0)
			lo = 0x90;		/* overlong */
		else if (lead == 0xf4)
			hi = 0x8f;		/* above U+10FFFF */
	} else
		return -1;
	for (i = 0; i < n; i++, c->p++) {
		if (c->p >= c->end || (unsigned char)*c->p < lo ||
		    (unsigned char)*c->p > hi)
			return -1;
		lo = 0x80;
		hi = 0xbf;
	}
	return 0;
}

static int
j_string(struct jcur *c)
{
	int	 i;

	c->p++;				/* the opening quote */
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p++;

		if (ch == '"')
			return 0;
		if (ch < 0x20)
			return -1;
		if (ch >= 0x80) {
			if (j_utf8(c, ch) != 0)
				return -1;
			continue;
		}
		if (ch != '\\')
			continue;
		if (c->p >= c->end)
			return -1;
		ch = (unsigned char)*c->p++;
		if (ch == 'u') {
			for (i = 0; i < 4; i++, c->p++)
				if (c->p >= c->end ||
				    !isxdigit((unsigned char)*c->p))
					return -1;
		} else if (strchr("\"\\/bfnrt", ch) == NULL || ch == '\0')
			return -1;
	}
	return -1;
}

static int
j_value(struct jcur *c, int depth)
{
	char	 close;

	j_ws(c);
	if (c->p >= c->end)
		return -1;
	switch (*c->p) {
	case '"':
		return j_string(c);
	case 't':
		return j_lit(c, "true");
	case 'f':
		return j_lit(c, "false");
	case 'n':
		return j_lit(c, "null");
	case '{':
	case '[':
		if (depth <= 0)
			return -1;
		close = *c->p == '{' ? '}' : ']';
		c->p++;
		j_ws(c);
		if (c->p < c->end && *c->p == close) {
			c->p++;
			return 0;
		}
		for (;;) {
			if (close == '}') {
				j_ws(c);
				if (c->p >= c->end || *c->p != '"' ||
				    j_string(c) != 0)
					return -1;
				j_ws(c);
				if (c->p >= c->end || *c->p++ != ':')
					return -1;
			}
			if (j_value(c, depth - 1) != 0)
				return -1;
			j_ws(c);
			if (c->p >= c->end)
				return -1;
			if (*c->p == close) {
				c->p++;
				return 0;
			}
			if (*c->p++ != ',')
				return -1;
		}
	default:
		return j_number(c);
	}
}

int
json_syntax_ok(const char *s, size_t len, int max_depth)
{
	struct jcur	 c = { s, s + len };

	if (j_value(&c, max_depth) != 0)
		return 0;
	j_ws(&c);
	return c.p == c.end;
}
