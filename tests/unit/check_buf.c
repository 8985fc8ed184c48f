/*
 * check_buf.c -- unit tests for buf.c: bounded buffers, the JSON writer,
 * hex and base64url (RFC 4648 test vectors).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "docket.h"

/* ---- struct buf ---------------------------------------------------------- */

START_TEST(test_buf_basic)
{
	struct buf	 b;

	buf_init(&b, 1024);
	ck_assert_str_eq(buf_cstr(&b), "");
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	ck_assert_int_eq(buf_putc(&b, '-'), 0);
	ck_assert_int_eq(buf_append(&b, "xyz", 2), 0);
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_int_eq(buf_printf(&b, "[%d|%s]", 42, "s"), 0);
	ck_assert_str_eq(buf_cstr(&b), "abc-xy[42|s]");
	ck_assert_uint_eq(b.len, 12);
	ck_assert_int_eq(b.failed, 0);

	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	ck_assert_ptr_nonnull(b.data);		/* the allocation is kept */
	ck_assert_int_eq(buf_puts(&b, "again"), 0);
	ck_assert_str_eq(buf_cstr(&b), "again");
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);

	/* an empty append still leaves a valid C string */
	buf_init(&b, 16);
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_str_eq(b.data, "");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_grow_and_printf)
{
	struct buf	 b;
	char		 big[5000];
	size_t		 i;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 1 << 20);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(buf_puts(&b, "0123456789"), 0);
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_uint_gt(b.cap, b.len);
	/* longer than buf_printf's stack buffer: the second vsnprintf path */
	ck_assert_int_eq(buf_printf(&b, "<%s>", big), 0);
	ck_assert_uint_eq(b.len, 1000 + 2 + sizeof(big) - 1);
	ck_assert_int_eq(b.data[1000], '<');
	ck_assert_int_eq(b.data[b.len - 1], '>');
	ck_assert_int_eq(b.data[b.len], '\0');
	ck_assert_int_eq(b.failed, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_max)
{
	struct buf	 b;
	char		 big[600];

	buf_init(&b, 4);
	ck_assert_int_eq(buf_puts(&b, "abcd"), 0);	/* exactly max */
	ck_assert_int_eq(b.failed, 0);
	ck_assert_int_eq(buf_putc(&b, 'e'), -1);
	ck_assert_int_eq(b.failed, 1);
	ck_assert_str_eq(buf_cstr(&b), "abcd");
	/* sticky: even an append that would fit fails */
	ck_assert_int_eq(buf_append(&b, "", 0), -1);
	ck_assert_int_eq(buf_printf(&b, "%s", ""), -1);
	ck_assert_uint_eq(b.len, 4);
	/* reset clears it */
	buf_reset(&b);
	ck_assert_int_eq(b.failed, 0);
	ck_assert_int_eq(buf_puts(&b, "xy"), 0);
	ck_assert_int_eq(buf_puts(&b, "xyz"), -1);	/* would be 5 */
	ck_assert_str_eq(buf_cstr(&b), "xy");
	buf_free(&b);

	/* a single append larger than max, both printf paths */
	buf_init(&b, 8);
	ck_assert_int_eq(buf_printf(&b, "%s", "123456789"), -1);
	ck_assert_int_eq(b.failed, 1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 300);
	ck_assert_int_eq(buf_printf(&b, "%s", big), -1);
	ck_assert_int_eq(b.failed, 1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);

	/* a huge length does not wrap the size check */
	buf_init(&b, 16);
	ck_assert_int_eq(buf_puts(&b, "ab"), 0);
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX), -1);
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 1), -1);
	ck_assert_int_eq(b.failed, 1);
	buf_free(&b);

	/* max 0: nothing fits */
	buf_init(&b, 0);
	ck_assert_int_eq(buf_putc(&b, 'a'), -1);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_free(&b);
}
END_TEST

/* ---- JSON writer -------------------------------------------------------------- */

START_TEST(test_jw_nesting)
{
	struct buf	 b;
	struct jw	 w;

	buf_init(&b, 4096);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_kstr(&w, "a", "x");
	jw_key(&w, "b");
	jw_arr_open(&w);
	jw_int(&w, 1);
	jw_int(&w, -2);
	jw_null(&w);
	jw_bool(&w, 1);
	jw_bool(&w, 0);
	jw_obj_open(&w);
	jw_obj_close(&w);
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_raw(&w, "{\"r\":1}");
	jw_str(&w, "s");
	jw_arr_close(&w);
	jw_kint(&w, "c", INT64_MIN);
	jw_kint(&w, "m", INT64_MAX);
	jw_kstr(&w, "d", NULL);
	jw_key(&w, "e");
	jw_obj_open(&w);
	jw_key(&w, "f");
	jw_arr_open(&w);
	jw_arr_open(&w);
	jw_int(&w, 0);
	jw_arr_close(&w);
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_arr_close(&w);
	jw_kint(&w, "g", 7);
	jw_obj_close(&w);
	jw_obj_close(&w);
	ck_assert_int_eq(b.failed, 0);
	ck_assert_int_eq(w.depth, 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "{\"a\":\"x\",\"b\":[1,-2,null,true,false,{},[],{\"r\":1},\"s\"],"
	    "\"c\":-9223372036854775808,\"m\":9223372036854775807,"
	    "\"d\":null,\"e\":{\"f\":[[0],[]],\"g\":7}}");

	/* a top-level array of scalars */
	buf_reset(&b);
	jw_init(&w, &b);
	jw_arr_open(&w);
	jw_str(&w, NULL);
	jw_strn(&w, "abc", 2);
	jw_int(&w, 0);
	jw_arr_close(&w);
	ck_assert_str_eq(buf_cstr(&b), "[null,\"ab\",0]");
	buf_free(&b);
}
END_TEST

START_TEST(test_jw_escape)
{
	struct buf	 b;
	struct jw	 w;

	buf_init(&b, 4096);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_kstr(&w, "q\"k\\", "q\"b\\s\n\r\t\x01\x1f\x7f/\xc3\xa9");
	jw_key(&w, "nul");
	jw_strn(&w, "a\0b", 3);
	jw_kstr(&w, "ctl", "\b\f\x02");
	jw_kstr(&w, "", "");
	jw_kstr(&w, "only", "\"");
	jw_obj_close(&w);
	ck_assert_int_eq(b.failed, 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "{\"q\\\"k\\\\\":\"q\\\"b\\\\s\\n\\r\\t\\u0001\\u001f\x7f/\xc3\xa9\","
	    "\"nul\":\"a\\u0000b\","
	    "\"ctl\":\"\\u0008\\u000c\\u0002\","
	    "\"\":\"\","
	    "\"only\":\"\\\"\"}");
	buf_free(&b);
}
END_TEST

START_TEST(test_jw_depth)
{
	struct buf	 b;
	struct jw	 w;
	int		 i;

	buf_init(&b, 4096);
	jw_init(&w, &b);
	for (i = 0; i < JW_MAXDEPTH; i++)
		jw_arr_open(&w);
	ck_assert_int_eq(b.failed, 0);
	for (i = 0; i < JW_MAXDEPTH; i++)
		jw_arr_close(&w);
	ck_assert_int_eq(b.failed, 0);
	ck_assert_uint_eq(b.len, 2 * JW_MAXDEPTH);

	buf_reset(&b);
	jw_init(&w, &b);
	for (i = 0; i < JW_MAXDEPTH; i++) {
		jw_obj_open(&w);
		jw_key(&w, "k");
	}
	ck_assert_int_eq(b.failed, 0);
	jw_obj_open(&w);			/* one too deep */
	ck_assert_int_eq(b.failed, 1);
	ck_assert_int_eq(w.depth, JW_MAXDEPTH);

	/* closing more than was opened also fails */
	buf_reset(&b);
	jw_init(&w, &b);
	jw_arr_open(&w);
	jw_arr_close(&w);
	ck_assert_int_eq(b.failed, 0);
	jw_arr_close(&w);
	ck_assert_int_eq(b.failed, 1);
	buf_reset(&b);
	jw_init(&w, &b);
	jw_obj_close(&w);
	ck_assert_int_eq(b.failed, 1);
	buf_free(&b);
}
END_TEST

START_TEST(test_jw_max)
{
	struct buf	 b;
	struct jw	 w;
	size_t		 len;

	buf_init(&b, 16);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_kstr(&w, "k", "0123456789abcdef");	/* past 16 */
	ck_assert_int_eq(b.failed, 1);
	ck_assert_uint_le(b.len, 16);
	len = b.len;
	/* sticky: later, small writes change nothing */
	jw_kint(&w, "n", 1);
	jw_null(&w);
	jw_obj_close(&w);
	ck_assert_int_eq(b.failed, 1);
	ck_assert_uint_eq(b.len, len);
	buf_free(&b);

	/* the writer fills a buffer exactly to its max */
	buf_init(&b, 9);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_kint(&w, "ab", 12);
	jw_obj_close(&w);
	ck_assert_int_eq(b.failed, 0);
	ck_assert_str_eq(buf_cstr(&b), "{\"ab\":12}");
	buf_free(&b);
}
END_TEST

/* ---- hex ------------------------------------------------------------------ */

START_TEST(test_hex)
{
	static const unsigned char bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab,
	    0xff };
	unsigned char	 out[16];
	char		 hex[2 * sizeof(bytes) + 1];
	size_t		 n = 99;

	hex_encode(bytes, sizeof(bytes), hex);
	ck_assert_str_eq(hex, "00017f80abff");
	hex_encode(bytes, 0, hex);
	ck_assert_str_eq(hex, "");

	ck_assert_int_eq(hex_decode("00017f80abff", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, sizeof(bytes));
	ck_assert_mem_eq(out, bytes, sizeof(bytes));
	ck_assert_int_eq(hex_decode("00017F80ABFF", out, sizeof(out), &n), 0);
	ck_assert_mem_eq(out, bytes, sizeof(bytes));
	ck_assert_int_eq(hex_decode("", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 0);

	n = 99;
	ck_assert_int_eq(hex_decode("abc", out, sizeof(out), &n), -1);
	ck_assert_int_eq(hex_decode("zz", out, sizeof(out), &n), -1);
	ck_assert_int_eq(hex_decode("0g", out, sizeof(out), &n), -1);
	ck_assert_int_eq(hex_decode("g0", out, sizeof(out), &n), -1);
	ck_assert_int_eq(hex_decode(" 0", out, sizeof(out), &n), -1);
	ck_assert_int_eq(hex_decode("0x", out, sizeof(out), &n), -1);
	ck_assert_uint_eq(n, 99);
	/* room: exactly outcap bytes fit, one more does not */
	ck_assert_int_eq(hex_decode("0102", out, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(hex_decode("010203", out, 2, &n), -1);
}
END_TEST

/* ---- base64url ------------------------------------------------------------- */

START_TEST(test_b64url_rfc4648)
{
	/* RFC 4648 section 10, with the padding removed */
	static const struct { const char *in, *out; } v[] = {
		{ "", "" },
		{ "f", "Zg" },
		{ "fo", "Zm8" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg" },
		{ "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	char	 out[64];
	size_t	 i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = strlen(v[i].in);
		memset(out, 'X', sizeof(out));
		b64url_encode((const unsigned char *)v[i].in, n, out);
		ck_assert_str_eq(out, v[i].out);
		ck_assert_uint_eq(strlen(out), B64URL_LEN(n));
	}
}
END_TEST

START_TEST(test_b64url_alphabet)
{
	/* "+/" in standard base64 are "-_" in base64url (RFC 4648 sec. 5) */
	static const unsigned char a[] = { 0xfb, 0xff };	/* "+/8=" */
	static const unsigned char b[] = { 0xff, 0xff, 0xfe };	/* "///+" */
	static const unsigned char c[] = { 0x00, 0x10, 0x83, 0x10, 0x51,
	    0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f, 0x41, 0x14, 0x93,
	    0x51, 0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f, 0x82,
	    0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb,
	    0xaf, 0xc3, 0x1c, 0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb,
	    0xf3, 0xdf, 0xbf };	/* every sextet 0..63 once */
	char	 out[80];

	b64url_encode(a, sizeof(a), out);
	ck_assert_str_eq(out, "-_8");
	b64url_encode(b, sizeof(b), out);
	ck_assert_str_eq(out, "___-");
	b64url_encode(c, sizeof(c), out);
	ck_assert_str_eq(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_");
	ck_assert_uint_eq(B64URL_LEN(32), 43);
	ck_assert_uint_eq(B64URL_LEN(0), 0);
}
END_TEST

/* PostgreSQL's ISO/UTC timestamptz text to ISO-8601 with Z (jw_time_iso). */
static void
time_is(const char *pg, const char *want)
{
	struct buf	 b;
	struct jw	 w;

	buf_init(&b, 256);
	jw_init(&w, &b);
	jw_time_iso(&w, pg);
	ck_assert_msg(strcmp(buf_cstr(&b), want) == 0, "%s: got %s, want %s",
	    pg ? pg : "NULL", buf_cstr(&b), want);
	buf_free(&b);
}

START_TEST(test_jw_time_iso)
{
	time_is("2015-06-15 19:03:26.346+00", "\"2015-06-15T19:03:26.346000Z\"");
	time_is("2015-06-15 19:03:26.346123+00",
	    "\"2015-06-15T19:03:26.346123Z\"");
	time_is("2015-06-15 19:03:26+00", "\"2015-06-15T19:03:26.000000Z\"");
	time_is("2015-06-15 19:03:26.1+00", "\"2015-06-15T19:03:26.100000Z\"");
	time_is(NULL, "null");
	/* another zone or shape is passed through, never guessed at */
	time_is("2015-06-15 19:03:26+02", "\"2015-06-15 19:03:26+02\"");
	time_is("infinity", "\"infinity\"");
	time_is("2015-06-15T19:03:26+00", "\"2015-06-15T19:03:26+00\"");
	time_is("", "\"\"");
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc;

	tc = tcase_create("buf");
	tcase_add_test(tc, test_buf_basic);
	tcase_add_test(tc, test_buf_grow_and_printf);
	tcase_add_test(tc, test_buf_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_jw_nesting);
	tcase_add_test(tc, test_jw_escape);
	tcase_add_test(tc, test_jw_depth);
	tcase_add_test(tc, test_jw_max);
	tcase_add_test(tc, test_jw_time_iso);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoders");
	tcase_add_test(tc, test_hex);
	tcase_add_test(tc, test_b64url_rfc4648);
	tcase_add_test(tc, test_b64url_alphabet);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(buf_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
