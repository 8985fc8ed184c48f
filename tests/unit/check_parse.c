/*
 * check_parse.c -- unit tests for parse.c: integers, percent-decoding,
 * query strings, tokens in headers, uuids, object names and object paths.
 * Every branch of every parser has a case here; each case says which.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "docket.h"

#define U1 "0123abcd-4567-89ef-0123-456789abcdef"
#define U2 "fedcba98-7654-4321-8fed-cba987654321"

/* ---- parse_int64 ------------------------------------------------------- */

struct int_case {
	const char	*in;
	int64_t		 min, max;
	enum parse_rc	 rc;
	int64_t		 want;		/* when rc == PARSE_OK */
};

static const struct int_case int_cases[] = {
	/* presence */
	{ NULL, 1, INT64_MAX, PARSE_MISSING, 0 },
	{ "", 1, INT64_MAX, PARSE_EMPTY, 0 },
	/* syntax: only [-]digits */
	{ "-", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "-", INT64_MIN, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ " 1", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "1 ", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "+1", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "1.5", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "1e3", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "0x10", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "--1", INT64_MIN, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "1-", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "abc", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "12a", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "-1a", INT64_MIN, INT64_MAX, PARSE_NOT_NUMBER, 0 },
	{ "\xd9\xa1", 1, INT64_MAX, PARSE_NOT_NUMBER, 0 },	/* Arabic 1 */
	/* plain values */
	{ "1", 1, INT64_MAX, PARSE_OK, 1 },
	{ "42", 1, INT64_MAX, PARSE_OK, 42 },
	{ "007", 1, INT64_MAX, PARSE_OK, 7 },
	{ "0", 0, INT64_MAX, PARSE_OK, 0 },
	{ "-0", INT64_MIN, INT64_MAX, PARSE_OK, 0 },
	{ "-0", 0, 10, PARSE_OK, 0 },
	{ "-5", -10, 10, PARSE_OK, -5 },
	/* below min: NOT_POSITIVE when min is 1, else RANGE */
	{ "0", 1, INT64_MAX, PARSE_NOT_POSITIVE, 0 },
	{ "-0", 1, INT64_MAX, PARSE_NOT_POSITIVE, 0 },
	{ "-5", 1, INT64_MAX, PARSE_NOT_POSITIVE, 0 },
	{ "-9223372036854775808", 1, INT64_MAX, PARSE_NOT_POSITIVE, 0 },
	{ "-5", 0, INT64_MAX, PARSE_RANGE, 0 },
	{ "-0", 5, 10, PARSE_RANGE, 0 },
	{ "3", 5, 10, PARSE_RANGE, 0 },
	{ "-11", -10, 10, PARSE_RANGE, 0 },
	/* above max */
	{ "10", 1, 10, PARSE_OK, 10 },
	{ "11", 1, 10, PARSE_RANGE, 0 },
	/* negative ranges: max applies to negative numbers too */
	{ "-7", -10, -5, PARSE_OK, -7 },
	{ "-5", -10, -5, PARSE_OK, -5 },
	{ "-3", -10, -5, PARSE_RANGE, 0 },
	{ "-0", -10, -5, PARSE_RANGE, 0 },
	{ "0", -10, -5, PARSE_RANGE, 0 },
	{ "3", -10, -5, PARSE_RANGE, 0 },
	/* the edges of int64_t */
	{ "9223372036854775807", 1, INT64_MAX, PARSE_OK, INT64_MAX },
	{ "9223372036854775808", 1, INT64_MAX, PARSE_RANGE, 0 },
	{ "9223372036854775809", 1, INT64_MAX, PARSE_RANGE, 0 },
	{ "18446744073709551615", 1, INT64_MAX, PARSE_RANGE, 0 },
	{ "18446744073709551616", 1, INT64_MAX, PARSE_RANGE, 0 },
	{ "99999999999999999999999999", 1, INT64_MAX, PARSE_RANGE, 0 },
	{ "00000000000000000000009223372036854775807", 1, INT64_MAX,
	    PARSE_OK, INT64_MAX },
	{ "-9223372036854775808", INT64_MIN, INT64_MAX, PARSE_OK, INT64_MIN },
	{ "-9223372036854775807", INT64_MIN, INT64_MAX, PARSE_OK,
	    -INT64_MAX },
	{ "-9223372036854775809", INT64_MIN, INT64_MAX, PARSE_RANGE, 0 },
	{ "-18446744073709551616", INT64_MIN, INT64_MAX, PARSE_RANGE, 0 },
	{ "-9223372036854775808", -INT64_MAX, INT64_MAX, PARSE_RANGE, 0 },
};

START_TEST(test_parse_int64)
{
	const struct int_case *c = &int_cases[_i];
	int64_t		 v = 777;
	enum parse_rc	 rc;

	rc = parse_int64(c->in, c->min, c->max, &v);
	ck_assert_msg(rc == c->rc, "case %d \"%s\" [%lld, %lld]: rc %d, want %d",
	    _i, c->in ? c->in : "(null)", (long long)c->min,
	    (long long)c->max, (int)rc, (int)c->rc);
	if (c->rc == PARSE_OK)
		ck_assert_msg(v == c->want, "case %d: %lld, want %lld", _i,
		    (long long)v, (long long)c->want);
	else
		ck_assert_msg(v == 777, "case %d: out set on failure", _i);
}
END_TEST

/* ---- url_decode ---------------------------------------------------------- */

static int
dec(const char *in, char *out, size_t outcap, size_t *outlen)
{
	return url_decode(in, strlen(in), out, outcap, outlen);
}

START_TEST(test_url_decode_ok)
{
	char	 out[64];
	size_t	 n = 99;

	ck_assert_int_eq(dec("%41", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "A");
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(dec("a+b", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "a b");
	ck_assert_int_eq(dec("%2f%2F%7e%20x", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "//~ x");
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(dec("%2B", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "+");
	ck_assert_int_eq(dec("%e2%82%ac", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "\xe2\x82\xac");
	ck_assert_int_eq(dec("", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(n, 0);
	/* only the first n bytes are read */
	ck_assert_int_eq(url_decode("abc%41", 3, out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "abc");
}
END_TEST

START_TEST(test_url_decode_bad)
{
	char	 out[64];
	size_t	 n = 99;

	ck_assert_int_eq(dec("%4", out, sizeof(out), &n), -1);
	ck_assert_int_eq(dec("%", out, sizeof(out), &n), -1);
	ck_assert_int_eq(dec("ab%", out, sizeof(out), &n), -1);
	ck_assert_int_eq(dec("%zz", out, sizeof(out), &n), -1);
	ck_assert_int_eq(dec("%4z", out, sizeof(out), &n), -1);
	ck_assert_int_eq(dec("%z4", out, sizeof(out), &n), -1);
	ck_assert_int_eq(dec("%00", out, sizeof(out), &n), -1);
	ck_assert_int_eq(dec("a%00b", out, sizeof(out), &n), -1);
	/* a truncated escape at the end of the given length */
	ck_assert_int_eq(url_decode("%41", 2, out, sizeof(out), &n), -1);
	/* a raw NUL inside the given length */
	ck_assert_int_eq(url_decode("a\0b", 3, out, sizeof(out), &n), -1);
	ck_assert_uint_eq(n, 99);
}
END_TEST

START_TEST(test_url_decode_cap)
{
	char	 out[8];
	size_t	 n = 99;

	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(dec("abc", out, 4, &n), 0);	/* 3 + NUL fits */
	ck_assert_str_eq(out, "abc");
	ck_assert_int_eq(dec("abcd", out, 4, &n), -1);
	ck_assert_int_eq(dec("%41%42%43", out, 4, &n), 0);	/* decoded size */
	ck_assert_str_eq(out, "ABC");
	ck_assert_int_eq(dec("%41%42%43%44", out, 4, &n), -1);
	ck_assert_int_eq(dec("", out, 1, &n), 0);
	ck_assert_str_eq(out, "");
	/* no room even for the terminator: nothing is written */
	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(dec("", out, 0, &n), -1);
	ck_assert_int_eq(out[0], 'X');
	ck_assert_int_eq(dec("a", out, 1, &n), -1);
}
END_TEST

/* ---- query_parse / query_get / query_unknown ----------------------------- */

START_TEST(test_query_basic)
{
	struct query	 q;
	size_t		 cnt = 99;

	ck_assert_int_eq(query_parse(&q, NULL), QUERY_OK);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_int_eq(query_parse(&q, ""), QUERY_OK);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_ptr_null(query_get(&q, "a", &cnt));
	ck_assert_uint_eq(cnt, 0);

	ck_assert_int_eq(query_parse(&q, "job-id=12&object-uuid=x.png"),
	    QUERY_OK);
	ck_assert_uint_eq(q.n, 2);
	ck_assert_str_eq(q.p[0].key, "job-id");
	ck_assert_str_eq(q.p[0].val, "12");
	ck_assert_str_eq(q.p[1].key, "object-uuid");
	ck_assert_str_eq(q.p[1].val, "x.png");
	ck_assert_str_eq(query_get(&q, "job-id", &cnt), "12");
	ck_assert_uint_eq(cnt, 1);
	ck_assert_str_eq(query_get(&q, "object-uuid", NULL), "x.png");
	ck_assert_ptr_null(query_get(&q, "job", &cnt));
	ck_assert_uint_eq(cnt, 0);
	ck_assert_ptr_null(query_get(&q, "JOB-ID", NULL));
}
END_TEST

START_TEST(test_query_repeated)
{
	struct query	 q;
	size_t		 cnt = 0;

	ck_assert_int_eq(query_parse(&q, "job-id=1&x=y&job-id=2&job-id="),
	    QUERY_OK);
	ck_assert_uint_eq(q.n, 4);
	ck_assert_str_eq(query_get(&q, "job-id", &cnt), "1");
	ck_assert_uint_eq(cnt, 3);
	ck_assert_str_eq(query_get(&q, "x", &cnt), "y");
	ck_assert_uint_eq(cnt, 1);
}
END_TEST

START_TEST(test_query_segments)
{
	struct query	 q;
	size_t		 cnt = 0;

	/* empty segments are skipped */
	ck_assert_int_eq(query_parse(&q, "a=1&&b=2&"), QUERY_OK);
	ck_assert_uint_eq(q.n, 2);
	ck_assert_str_eq(query_get(&q, "b", NULL), "2");
	ck_assert_int_eq(query_parse(&q, "&&&"), QUERY_OK);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_int_eq(query_parse(&q, "&a=1"), QUERY_OK);
	ck_assert_uint_eq(q.n, 1);
	/* a key without '=' has the value "" */
	ck_assert_int_eq(query_parse(&q, "flag&k=v"), QUERY_OK);
	ck_assert_uint_eq(q.n, 2);
	ck_assert_str_eq(query_get(&q, "flag", &cnt), "");
	ck_assert_uint_eq(cnt, 1);
	ck_assert_str_eq(query_get(&q, "k", NULL), "v");
	/* an empty key; '=' inside a value; decoding of both halves */
	ck_assert_int_eq(query_parse(&q, "=v&a=b=c&k%20x=v+w%26"), QUERY_OK);
	ck_assert_uint_eq(q.n, 3);
	ck_assert_str_eq(q.p[0].key, "");
	ck_assert_str_eq(q.p[0].val, "v");
	ck_assert_str_eq(query_get(&q, "a", NULL), "b=c");
	ck_assert_str_eq(query_get(&q, "k x", NULL), "v w&");
	/* a key-only segment last */
	ck_assert_int_eq(query_parse(&q, "a=1&last"), QUERY_OK);
	ck_assert_str_eq(query_get(&q, "last", NULL), "");
}
END_TEST

START_TEST(test_query_limits)
{
	struct query	*q;
	char		*qs;
	size_t		 i, o;

	/* exact heap allocations so ASan sees any write past them */
	q = malloc(sizeof(*q));
	qs = malloc(QUERY_MAX_LEN * 2);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_nonnull(qs);

	/* QUERY_MAX_LEN bytes are fine, one more is not */
	memcpy(qs, "a=", 2);
	memset(qs + 2, 'x', QUERY_MAX_LEN - 2);
	qs[QUERY_MAX_LEN] = '\0';
	ck_assert_int_eq(query_parse(q, qs), QUERY_OK);
	ck_assert_uint_eq(strlen(query_get(q, "a", NULL)), QUERY_MAX_LEN - 2);
	qs[QUERY_MAX_LEN] = 'x';
	qs[QUERY_MAX_LEN + 1] = '\0';
	ck_assert_int_eq(query_parse(q, qs), QUERY_TOO_LONG);

	/* QUERY_MAX_PARAMS parameters are fine, one more is not */
	for (o = 0, i = 0; i < QUERY_MAX_PARAMS; i++)
		o += (size_t)snprintf(qs + o, 16, "%sk%zu=%zu", i ? "&" : "",
		    i, i);
	ck_assert_int_eq(query_parse(q, qs), QUERY_OK);
	ck_assert_uint_eq(q->n, QUERY_MAX_PARAMS);
	ck_assert_str_eq(query_get(q, "k63", NULL), "63");
	snprintf(qs + o, 16, "&k64=64");
	ck_assert_int_eq(query_parse(q, qs), QUERY_TOO_MANY);
	/* empty segments do not count */
	snprintf(qs + o, 16, "&&&");
	ck_assert_int_eq(query_parse(q, qs), QUERY_OK);

	/*
	 * Key-only segments take one byte more in q->store than in the
	 * query: a query under QUERY_MAX_LEN can still fill the store.  It
	 * must be refused, not written past the end.  30 "a&", then a key
	 * that fills the store exactly, an empty value, then more pairs.
	 */
	for (o = 0, i = 0; i < 30; i++) {
		qs[o++] = 'a';
		qs[o++] = '&';
	}
	for (i = 0; i < sizeof(q->store) - 30 * 3 - 1; i++)
		qs[o++] = 'k';
	qs[o++] = '=';
	while (o + 3 <= QUERY_MAX_LEN) {
		memcpy(qs + o, "&=x", 3);
		o += 3;
	}
	qs[o] = '\0';
	ck_assert_uint_le(strlen(qs), QUERY_MAX_LEN);
	ck_assert_int_eq(query_parse(q, qs), QUERY_TOO_LONG);
	/* the same with the value as the overflowing part */
	for (o = 0, i = 0; i < 30; i++) {
		qs[o++] = 'a';
		qs[o++] = '&';
	}
	for (i = 0; i < sizeof(q->store) - 30 * 3 - 2; i++)
		qs[o++] = 'k';
	memcpy(qs + o, "=vv", 4);
	ck_assert_int_eq(query_parse(q, qs), QUERY_TOO_LONG);
	/* and with a key-only segment last */
	for (o = 0, i = 0; i < 40; i++) {
		qs[o++] = 'a';
		qs[o++] = '&';
	}
	for (i = 0; i < sizeof(q->store) - 40 * 3 - 1; i++)
		qs[o++] = 'k';
	memcpy(qs + o, "&z", 3);
	ck_assert_int_eq(query_parse(q, qs), QUERY_TOO_LONG);

	free(qs);
	free(q);
}
END_TEST

START_TEST(test_query_bad_encoding)
{
	struct query	 q;

	ck_assert_int_eq(query_parse(&q, "a=%zz"), QUERY_BAD_ENCODING);
	ck_assert_int_eq(query_parse(&q, "%zz=1"), QUERY_BAD_ENCODING);
	ck_assert_int_eq(query_parse(&q, "a=1&b=%4"), QUERY_BAD_ENCODING);
	ck_assert_int_eq(query_parse(&q, "a=%00"), QUERY_BAD_ENCODING);
	ck_assert_int_eq(query_parse(&q, "%00"), QUERY_BAD_ENCODING);
	ck_assert_int_eq(query_parse(&q, "a%"), QUERY_BAD_ENCODING);
}
END_TEST

START_TEST(test_query_unknown)
{
	static const char *const allowed[] = { "job-id", "expires-in", NULL };
	static const char *const none[] = { NULL };
	struct query	 q;

	ck_assert_int_eq(query_parse(&q, ""), QUERY_OK);
	ck_assert_ptr_null(query_unknown(&q, allowed));
	ck_assert_ptr_null(query_unknown(&q, none));
	ck_assert_int_eq(query_parse(&q, "job-id=1&expires-in=5&job-id=2"),
	    QUERY_OK);
	ck_assert_ptr_null(query_unknown(&q, allowed));
	ck_assert_str_eq(query_unknown(&q, none), "job-id");
	ck_assert_int_eq(query_parse(&q, "job-id=1&foo=2&bar=3"), QUERY_OK);
	ck_assert_str_eq(query_unknown(&q, allowed), "foo");
	ck_assert_int_eq(query_parse(&q, "Job-Id=1"), QUERY_OK);
	ck_assert_str_eq(query_unknown(&q, allowed), "Job-Id");
	ck_assert_int_eq(query_parse(&q, "job-id%3d1"), QUERY_OK);
	ck_assert_str_eq(query_unknown(&q, allowed), "job-id=1");
}
END_TEST

/* ---- token_from_headers ---------------------------------------------------- */

START_TEST(test_token_headers_ok)
{
	char	 out[TOKEN_MAX_LEN + 1];

	ck_assert_int_eq(token_from_headers("dkt_abc-_.~9", NULL, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "dkt_abc-_.~9");
	ck_assert_int_eq(token_from_headers("Bearer tok1", NULL, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "tok1");
	ck_assert_int_eq(token_from_headers("bearer tok2", NULL, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "tok2");
	ck_assert_int_eq(token_from_headers("BEARER tok3", NULL, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "tok3");
	ck_assert_int_eq(token_from_headers("Bearer   tok4  ", NULL, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "tok4");
	ck_assert_int_eq(token_from_headers("tok5 ", NULL, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "tok5");
	ck_assert_int_eq(token_from_headers(NULL, "xtok", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "xtok");
	ck_assert_int_eq(token_from_headers("", "xtok2", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "xtok2");
	/* the X-Api-Token value is taken as it is, no scheme */
	ck_assert_int_eq(token_from_headers(NULL, "Bearer x", out,
	    sizeof(out)), -1);
}
END_TEST

START_TEST(test_token_headers_prefer)
{
	char	 out[TOKEN_MAX_LEN + 1];

	ck_assert_int_eq(token_from_headers("Bearer fromauth", "fromx", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "fromauth");
	ck_assert_int_eq(token_from_headers("fromauth", "fromx", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "fromauth");
	/* a bad Authorization is not rescued by a good X-Api-Token */
	ck_assert_int_eq(token_from_headers("Bearer bad!", "fromx", out,
	    sizeof(out)), -1);
}
END_TEST

START_TEST(test_token_headers_bad)
{
	char	 out[TOKEN_MAX_LEN + 1], big[TOKEN_MAX_LEN + 16];
	static const char *const bad[] = {
		"ab c", "tok\"en", "tok;en", "tok/en", "tok+en", "tok=",
		"t\tok", "tok\r\n", "Basic dXNlcjpwYXNz", "t\xc3\xa9",
	};
	size_t	 i;

	ck_assert_int_eq(token_from_headers(NULL, NULL, out, sizeof(out)), -1);
	ck_assert_int_eq(token_from_headers("", "", out, sizeof(out)), -1);
	ck_assert_int_eq(token_from_headers("", NULL, out, sizeof(out)), -1);
	ck_assert_int_eq(token_from_headers("Bearer ", NULL, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(token_from_headers("Bearer    ", NULL, out,
	    sizeof(out)), -1);
	ck_assert_int_eq(token_from_headers("   ", NULL, out, sizeof(out)), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(token_from_headers(bad[i], NULL, out,
		    sizeof(out)) == -1, "accepted \"%s\"", bad[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(token_from_headers(NULL, bad[i], out,
		    sizeof(out)) == -1, "accepted X-Api-Token \"%s\"", bad[i]);

	/* TOKEN_MAX_LEN is the longest accepted token */
	memset(big, 'a', sizeof(big));
	big[TOKEN_MAX_LEN] = '\0';
	ck_assert_int_eq(token_from_headers(big, NULL, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), TOKEN_MAX_LEN);
	big[TOKEN_MAX_LEN] = 'a';
	big[TOKEN_MAX_LEN + 1] = '\0';
	ck_assert_int_eq(token_from_headers(big, NULL, out, sizeof(out)), -1);
	ck_assert_int_eq(token_from_headers(NULL, big, out, sizeof(out)), -1);

	/* the caller's buffer bounds the copy */
	ck_assert_int_eq(token_from_headers("0123456789", NULL, out, 10), -1);
	ck_assert_int_eq(token_from_headers("0123456789", NULL, out, 11), 0);
	ck_assert_str_eq(out, "0123456789");
}
END_TEST

/* ---- uuid_valid / object_name_valid ------------------------------------- */

static int
uv(const char *s)
{
	return uuid_valid(s, strlen(s));
}

static int
ov(const char *s)
{
	return object_name_valid(s, strlen(s));
}

START_TEST(test_uuid_valid)
{
	ck_assert_int_eq(uv(U1), 1);
	ck_assert_int_eq(uv(U2), 1);
	ck_assert_int_eq(uv("00000000-0000-0000-0000-000000000000"), 1);
	ck_assert_int_eq(uv("0123ABCD-4567-89ef-0123-456789abcdef"), 0);
	ck_assert_int_eq(uv("0123abcd-4567-89ef-0123-456789abcdeF"), 0);
	ck_assert_int_eq(uv("0123abcd-4567-89ef-0123-456789abcde"), 0);
	ck_assert_int_eq(uv("0123abcd-4567-89ef-0123-456789abcdef0"), 0);
	ck_assert_int_eq(uv("0123abcd04567-89ef-0123-456789abcdef"), 0);
	ck_assert_int_eq(uv("0123abc-d4567-89ef-0123-456789abcdef"), 0);
	ck_assert_int_eq(uv("0123abcd-4567-89ef-0123-456789abcdeg"), 0);
	ck_assert_int_eq(uv("0123abcd-4567-89ef-0123_456789abcdef"), 0);
	ck_assert_int_eq(uv("{123abcd-4567-89ef-0123-456789abcdef}"), 0);
	ck_assert_int_eq(uv("0123abcd456789ef0123456789abcdef"), 0);
	ck_assert_int_eq(uv("../../../../../../../../etc/passwd.."), 0);
	ck_assert_int_eq(uv(""), 0);
	/* only the given length is looked at */
	ck_assert_int_eq(uuid_valid(U1 "/rest", UUID_STR_LEN), 1);
	ck_assert_int_eq(uuid_valid(U1, UUID_STR_LEN - 1), 0);
}
END_TEST

START_TEST(test_object_name_valid)
{
	ck_assert_int_eq(ov(U1), 1);
	ck_assert_int_eq(ov(U1 ".png"), 1);
	ck_assert_int_eq(ov(U1 ".PNG"), 1);
	ck_assert_int_eq(ov(U1 ".mp4"), 1);
	ck_assert_int_eq(ov(U1 ".a"), 1);
	ck_assert_int_eq(ov(U1 ".abcdefghij123456"), 1);	/* 16 */
	ck_assert_int_eq(ov(U1 ".abcdefghij1234567"), 0);	/* 17 */
	ck_assert_int_eq(ov(U1 "."), 0);
	ck_assert_int_eq(ov(U1 ".."), 0);
	ck_assert_int_eq(ov(U1 ".tar.gz"), 0);
	ck_assert_int_eq(ov(U1 ".p-g"), 0);
	ck_assert_int_eq(ov(U1 ".p_g"), 0);
	ck_assert_int_eq(ov(U1 ".png/"), 0);
	ck_assert_int_eq(ov(U1 ".p g"), 0);
	ck_assert_int_eq(ov(U1 ".\xc3\xa9"), 0);
	ck_assert_int_eq(ov(U1 "png"), 0);
	ck_assert_int_eq(ov(U1 "/png"), 0);
	ck_assert_int_eq(ov("0123ABCD-4567-89ef-0123-456789abcdef.png"), 0);
	ck_assert_int_eq(ov("0123abcd-4567-89ef-0123-456789abcde.png"), 0);
	ck_assert_int_eq(ov("x.png"), 0);
	ck_assert_int_eq(ov(".."), 0);
	ck_assert_int_eq(ov(""), 0);
	/* only the given length is looked at */
	ck_assert_int_eq(object_name_valid(U1 ".png/full", 40), 1);
}
END_TEST

/* ---- object_path_parse ----------------------------------------------------- */

/* ---- queue_name_valid: the jobs_queue_name CHECK, in C ----------------- */

static int
qv(const char *s)
{
	return queue_name_valid(s, strlen(s));
}

START_TEST(test_queue_name_valid)
{
	char	 name[130];

	ck_assert_int_eq(qv("default"), 1);
	ck_assert_int_eq(qv("a"), 1);
	ck_assert_int_eq(qv("9"), 1);
	ck_assert_int_eq(qv("thumbs.v2_hi-pri:eu"), 1);
	ck_assert_int_eq(qv(""), 0);
	ck_assert_int_eq(qv("-lead"), 0);
	ck_assert_int_eq(qv(".lead"), 0);
	ck_assert_int_eq(qv("_lead"), 0);
	ck_assert_int_eq(qv("a b"), 0);
	ck_assert_int_eq(qv("a,b"), 0);		/* the X-Docket-Queues separator */
	ck_assert_int_eq(qv("a\tb"), 0);	/* the NOTIFY payload separator */
	ck_assert_int_eq(qv("a/b"), 0);
	ck_assert_int_eq(qv("a\"b"), 0);
	ck_assert_int_eq(qv("a{b}"), 0);	/* array literal syntax */
	ck_assert_int_eq(qv("caf\xc3\xa9"), 0);
	ck_assert_int_eq(queue_name_valid("a\0b", 3), 0);
	memset(name, 'q', 128);
	name[128] = '\0';
	ck_assert_int_eq(qv(name), 1);
	name[128] = 'q';
	name[129] = '\0';
	ck_assert_int_eq(qv(name), 0);
}
END_TEST

START_TEST(test_object_path_good)
{
	struct object_ref r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(object_path_parse("/objects/" U1 "/" U2 ".png", &r), 0);
	ck_assert_str_eq(r.job_uuid, U1);
	ck_assert_str_eq(r.name, U2 ".png");
	ck_assert_int_eq(r.kind, OBJECT_ORIGINAL);
	ck_assert_int_eq(object_path_parse("/objects/" U1 "/" U2 ".png/full",
	    &r), 0);
	ck_assert_str_eq(r.name, U2 ".png");
	ck_assert_int_eq(r.kind, OBJECT_FULL);
	ck_assert_int_eq(object_path_parse("/objects/" U2 "/" U1 "/min", &r), 0);
	ck_assert_str_eq(r.job_uuid, U2);
	ck_assert_str_eq(r.name, U1);
	ck_assert_int_eq(r.kind, OBJECT_MIN);
	ck_assert_int_eq(object_path_parse("/objects/" U1 "/" U2
	    ".abcdefghij123456/full", &r), 0);
	ck_assert_str_eq(r.name, U2 ".abcdefghij123456");

	ck_assert_str_eq(object_kind_name(OBJECT_ORIGINAL), "original");
	ck_assert_str_eq(object_kind_name(OBJECT_FULL), "full");
	ck_assert_str_eq(object_kind_name(OBJECT_MIN), "min");
}
END_TEST

START_TEST(test_object_path_bad)
{
	static const char *const bad[] = {
		"",
		"/",
		"/objects/",
		"/objects/" U1,
		"/objects/" U1 "/",
		"/objects/" U1 "/" U2 ".png/",
		"/objects/" U1 "/" U2 ".png/full/",
		"/objects/" U1 "/" U2 ".png/full/x",
		"/objects/" U1 "/" U2 ".png/min/full",
		"/objects/" U1 "/" U2 ".png/max",
		"/objects/" U1 "/" U2 ".png/FULL",
		"/objects/" U1 "/" U2 ".png//full",
		"/objects/" U1 "/" U2 ".png/x/full",
		"/objects/" U1 "/" U2 ".png/..",
		"/objects/" U1 "/..",
		"/objects/" U1 "/../" U2,
		"/objects/" U1 "/./" U2,
		"/objects/../" U1 "/" U2,
		"/objects/..",
		"/objects//" U1 "/" U2,
		"/objects/" U1 "//" U2,
		"/objects/" U1 "/" U2 ".png%2f..",
		"/objects/" U1 "/" U2 ".p.g",
		"/objects/" U1 "/" U2 ".",
		"/objects/0123ABCD-4567-89ef-0123-456789abcdef/" U2,
		"/objects/" U1 "/fedcba98-7654-4321-8fed-CBA987654321",
		"/objects/" U1 "x/" U2,
		"/objects/" U1 "/" U2 "x",
		"/objects/" U1 "/etc/passwd",
		"objects/" U1 "/" U2,
		"/object/" U1 "/" U2,
		"/Objects/" U1 "/" U2,
		"//objects/" U1 "/" U2,
		"/api/v1/objects/" U1 "/" U2,
		U1 "/" U2,
	};
	struct object_ref r;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(object_path_parse(bad[i], &r) == -1,
		    "accepted \"%s\"", bad[i]);
}
END_TEST

static int
js(const char *s)
{
	return json_syntax_ok(s, strlen(s), 4);
}

START_TEST(test_json_syntax)
{
	static const char *const good[] = {
	    "{}", "[]", " {\"a\": 1} ", "\"x\"", "0", "-0", "-12.5e+3",
	    "1E9", "true", "false", "null", "[1, \"a\", null, [], {}]",
	    "{\"a\": {\"b\": [1, 2]}}", "\"\\u00e9\\n\\\"\\/\"",
	    "\"caf\xc3\xa9\"", "\r\n\t{}\n", "\"\xe2\x82\xac\xf0\x9f\x98\x80\"",
	    "\"\xf4\x8f\xbf\xbf\xed\x9f\xbf\"", NULL };
	static const char *const bad[] = {
	    "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{'a': 1}", "{a: 1}",
	    "NaN", "[Infinity]", "-Infinity", "1.", ".5", "01", "+1", "0x10",
	    "1e", "1e+", "--1", "\"a\tb\"", "\"a\nb\"", "\"\\x\"",
	    "\"\\u12g4\"", "\"\\u12\"", "\"open", "True", "nul", "nulls",
	    "{} {}", "{}x", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{1: 2}",
	    "[/* c */]", "\"\\", "\"a\xff" "b\"", "\"\xc3\x28\"",
	    "\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"",
	    "\"\xf4\x90\x80\x80\"", "\"\xc3\"", "\"\x80\"", NULL };
	size_t	 i;

	for (i = 0; good[i] != NULL; i++)
		ck_assert_msg(js(good[i]), "refused: %s", good[i]);
	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(!js(bad[i]), "accepted: %s", bad[i]);
	/* a NUL byte inside the text is not JSON */
	ck_assert(!json_syntax_ok("{}\0", 3, 4));
	ck_assert(!json_syntax_ok("\"a\0b\"", 5, 4));
	/* depth: 4 levels are fine, 5 are not */
	ck_assert(js("[[[[1]]]]"));
	ck_assert(!js("[[[[[1]]]]]"));
	ck_assert(!js("{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}"));
}
END_TEST

static Suite *
parse_suite(void)
{
	Suite	*s = suite_create("parse");
	TCase	*tc;

	tc = tcase_create("parse_int64");
	tcase_add_loop_test(tc, test_parse_int64, 0,
	    (int)(sizeof(int_cases) / sizeof(int_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("url_decode");
	tcase_add_test(tc, test_url_decode_ok);
	tcase_add_test(tc, test_url_decode_bad);
	tcase_add_test(tc, test_url_decode_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_test(tc, test_query_basic);
	tcase_add_test(tc, test_query_repeated);
	tcase_add_test(tc, test_query_segments);
	tcase_add_test(tc, test_query_limits);
	tcase_add_test(tc, test_query_bad_encoding);
	tcase_add_test(tc, test_query_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("token_from_headers");
	tcase_add_test(tc, test_token_headers_ok);
	tcase_add_test(tc, test_token_headers_prefer);
	tcase_add_test(tc, test_token_headers_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_uuid_valid);
	tcase_add_test(tc, test_object_name_valid);
	tcase_add_test(tc, test_queue_name_valid);
	tcase_add_test(tc, test_object_path_good);
	tcase_add_test(tc, test_object_path_bad);
	tcase_add_test(tc, test_json_syntax);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(parse_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
