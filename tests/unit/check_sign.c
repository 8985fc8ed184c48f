/*
 * check_sign.c -- unit tests for sign.c (presigned object URLs: key specs,
 * HMAC known answers, verification, key rotation) and token.c (API tokens,
 * their stored hash, random uuids).
 *
 * The known answer was computed independently of this code with
 *   printf 'GET\n/objects/x\n123\nk1' |
 *     openssl dgst -sha256 -mac HMAC -macopt hexkey:$K1 -binary |
 *     base64 | tr '+/' '-_' | tr -d '=\n'
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "docket.h"

#define K1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define K2 "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f" \
	   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KAT_SIG "cO_0N02OmrzrDAs4RebQdJ3JZzuCESP-bE25N4zcX7s"

static void
init_ok(struct signer *s, const char *spec, const char *current)
{
	char	 err[256] = "";

	ck_assert_msg(signer_init(s, spec, current, err, sizeof(err)) == 0,
	    "signer_init(\"%s\", \"%s\"): %s", spec,
	    current ? current : "(null)", err);
}

static void
init_bad(const char *spec, const char *current, const char *errpart)
{
	struct signer	 s;
	char		 err[256] = "";

	ck_assert_msg(signer_init(&s, spec, current, err, sizeof(err)) == -1,
	    "signer_init accepted \"%s\"", spec);
	ck_assert_msg(strstr(err, errpart) != NULL,
	    "signer_init(\"%s\"): error \"%s\" lacks \"%s\"", spec, err,
	    errpart);
}

/* ---- signer_init ---------------------------------------------------------- */

START_TEST(test_signer_init_good)
{
	struct signer	 s;

	init_ok(&s, "k1:" K1, NULL);
	ck_assert_uint_eq(s.nkeys, 1);
	ck_assert_uint_eq(s.current, 0);
	ck_assert_str_eq(s.keys[0].id, "k1");
	ck_assert_uint_eq(s.keys[0].keylen, 32);
	ck_assert_int_eq(s.keys[0].key[0], 0x00);
	ck_assert_int_eq(s.keys[0].key[31], 0x1f);

	init_ok(&s, "k1:" K1 ",k2:" K2, "");
	ck_assert_uint_eq(s.nkeys, 2);
	ck_assert_uint_eq(s.current, 0);
	ck_assert_str_eq(s.keys[1].id, "k2");
	ck_assert_uint_eq(s.keys[1].keylen, 64);
	ck_assert_int_eq(s.keys[1].key[0], 0xf0);
	ck_assert_int_eq(s.keys[1].key[63], 0xff);

	init_ok(&s, "k1:" K1 ",k2:" K2, "k2");
	ck_assert_uint_eq(s.current, 1);
	init_ok(&s, "k1:" K1 ",k2:" K2, "k1");
	ck_assert_uint_eq(s.current, 0);

	/* upper-case hex; the longest kid; kid characters; trailing comma */
	init_ok(&s, "Key_2024-01abcde:" "000102030405060708090A0B0C0D0E0F"
	    "101112131415161718191A1B1C1D1E1F", NULL);
	ck_assert_str_eq(s.keys[0].id, "Key_2024-01abcde");
	ck_assert_int_eq(s.keys[0].key[10], 0x0a);
	init_ok(&s, "k1:" K1 ",", NULL);
	ck_assert_uint_eq(s.nkeys, 1);

	/* SIGN_MAX_KEYS keys */
	init_ok(&s, "a:" K1 ",b:" K1 ",c:" K1 ",d:" K1 ",e:" K1 ",f:" K1
	    ",g:" K1 ",h:" K1, "h");
	ck_assert_uint_eq(s.nkeys, SIGN_MAX_KEYS);
	ck_assert_uint_eq(s.current, SIGN_MAX_KEYS - 1);
}
END_TEST

START_TEST(test_signer_init_bad)
{
	init_bad("", NULL, "not set");
	init_bad(",", NULL, "kid:hexkey");
	init_bad(",k1:" K1, NULL, "kid:hexkey");
	init_bad("k1:" K1 ",,k2:" K1, NULL, "kid:hexkey");
	init_bad(K1, NULL, "kid:hexkey");			/* no colon */
	init_bad(":" K1, NULL, "kid:hexkey");			/* empty kid */
	init_bad("k 1:" K1, NULL, "kid:hexkey");
	init_bad("k.1:" K1, NULL, "kid:hexkey");
	init_bad("k/1:" K1, NULL, "kid:hexkey");
	init_bad("abcdefghijklmnopq:" K1, NULL, "kid:hexkey");	/* 17 */
	/* short key: 31 bytes */
	init_bad("k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b"
	    "1c1d1e", NULL, "64 to 128 hex digits");
	init_bad("k1:", NULL, "64 to 128 hex digits");
	init_bad("k1:" K2 "00", NULL, "64 to 128 hex digits");	/* 65 bytes */
	/* not hex, odd length */
	init_bad("k1:z00102030405060708090a0b0c0d0e0f101112131415161718191a1b"
	    "1c1d1e1f", NULL, "not hex");
	init_bad("k1:" K1 "0", NULL, "not hex");
	init_bad("k1:" K1 " ", NULL, "not hex");
	/* too many keys */
	init_bad("a:" K1 ",b:" K1 ",c:" K1 ",d:" K1 ",e:" K1 ",f:" K1
	    ",g:" K1 ",h:" K1 ",i:" K1, NULL, "at most");
	/* the same kid twice would sign and verify with different keys */
	init_bad("k1:" K1 ",k1:" K2, NULL, "twice");
	/* unknown current key */
	init_bad("k1:" K1 ",k2:" K2, "k3", "not in signing_keys");
	init_bad("k1:" K1, "K1", "not in signing_keys");
}
END_TEST

/* ---- sign_compute / sign_url ----------------------------------------------- */

START_TEST(test_sign_compute_kat)
{
	struct signer	 s;
	char		 a[SIGN_SIG_LEN + 1], b[SIGN_SIG_LEN + 1];

	init_ok(&s, "k1:" K1, NULL);
	ck_assert_int_eq(sign_compute(&s.keys[0], "GET", "/objects/x", 123, a),
	    0);
	ck_assert_uint_eq(strlen(a), SIGN_SIG_LEN);
	ck_assert_str_eq(a, KAT_SIG);
	/* deterministic */
	ck_assert_int_eq(sign_compute(&s.keys[0], "GET", "/objects/x", 123, b),
	    0);
	ck_assert_str_eq(a, b);
	/* every input is covered */
	ck_assert_int_eq(sign_compute(&s.keys[0], "HEAD", "/objects/x", 123, b),
	    0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(sign_compute(&s.keys[0], "GET", "/objects/y", 123, b),
	    0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(sign_compute(&s.keys[0], "GET", "/objects/x", 124, b),
	    0);
	ck_assert_str_ne(a, b);
	init_ok(&s, "k2:" K1, NULL);				/* same key */
	ck_assert_int_eq(sign_compute(&s.keys[0], "GET", "/objects/x", 123, b),
	    0);
	ck_assert_str_ne(a, b);
	init_ok(&s, "k1:" K2, NULL);				/* same kid */
	ck_assert_int_eq(sign_compute(&s.keys[0], "GET", "/objects/x", 123, b),
	    0);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_sign_compute_long_path)
{
	struct signer	 s;
	char		 path[1100], sig[SIGN_SIG_LEN + 1];

	init_ok(&s, "k1:" K1, NULL);
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(sign_compute(&s.keys[0], "GET", path, 1, sig), -1);
}
END_TEST

START_TEST(test_sign_url)
{
	struct signer	 s;
	struct buf	 b;

	init_ok(&s, "k1:" K1 ",k2:" K2, NULL);
	buf_init(&b, 1024);
	ck_assert_int_eq(sign_url(&s, "https://h:8443", "/objects/x", 123, &b),
	    0);
	ck_assert_str_eq(buf_cstr(&b), "https://h:8443/objects/x?expires=123"
	    "&kid=k1&signature=" KAT_SIG);
	buf_free(&b);

	/* a URL that does not fit the buffer is an error */
	buf_init(&b, 40);
	ck_assert_int_eq(sign_url(&s, "https://h:8443", "/objects/x", 123, &b),
	    -1);
	buf_free(&b);
}
END_TEST

/* ---- sign_verify ------------------------------------------------------------- */

/* Sign path with s's current key, then check it as a client would send it. */
static enum sign_rc
roundtrip(const struct signer *signer, const struct signer *verifier,
    const char *method, const char *path, int64_t expires, time_t now)
{
	struct buf	 b;
	struct query	 q;
	const char	*qs;
	enum sign_rc	 rc;

	buf_init(&b, 4096);
	ck_assert_int_eq(sign_url(signer, "", path, expires, &b), 0);
	qs = strchr(buf_cstr(&b), '?');
	ck_assert_ptr_nonnull(qs);
	ck_assert_int_eq(query_parse(&q, qs + 1), QUERY_OK);
	rc = sign_verify(verifier, method, path, query_get(&q, "expires", NULL),
	    query_get(&q, "kid", NULL), query_get(&q, "signature", NULL), now);
	buf_free(&b);
	return rc;
}

START_TEST(test_sign_verify_ok)
{
	struct signer	 s;

	init_ok(&s, "k1:" K1, NULL);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k1",
	    KAT_SIG, 100), SIGN_OK);
	/* HEAD is verified as GET */
	ck_assert_int_eq(sign_verify(&s, "HEAD", "/objects/x", "123", "k1",
	    KAT_SIG, 100), SIGN_OK);
	/* valid up to and including the second it expires */
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k1",
	    KAT_SIG, 123), SIGN_OK);
	ck_assert_int_eq(roundtrip(&s, &s, "GET", "/objects/a/b/full",
	    2000000000, 1999999999), SIGN_OK);
}
END_TEST

START_TEST(test_sign_verify_method)
{
	struct signer	 s;
	static const char *const bad[] = { "POST", "PUT", "DELETE", "get",
	    "OPTIONS", "" };
	size_t		 i;

	init_ok(&s, "k1:" K1, NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sign_verify(&s, bad[i], "/objects/x", "123", "k1",
		    KAT_SIG, 100) == SIGN_INVALID, "method %s accepted", bad[i]);
}
END_TEST

START_TEST(test_sign_verify_expired)
{
	struct signer	 s;

	init_ok(&s, "k1:" K1, NULL);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k1",
	    KAT_SIG, 124), SIGN_EXPIRED);
	ck_assert_int_eq(sign_verify(&s, "HEAD", "/objects/x", "123", "k1",
	    KAT_SIG, 1700000000), SIGN_EXPIRED);
	ck_assert_int_eq(roundtrip(&s, &s, "GET", "/objects/x", 1000, 1001),
	    SIGN_EXPIRED);
	/* "expired" is only said of a URL we issued: tampered beats expired */
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/y", "123", "k1",
	    KAT_SIG, 124), SIGN_INVALID);
}
END_TEST

START_TEST(test_sign_verify_tampered)
{
	struct signer	 s;
	char		 sig[SIGN_SIG_LEN + 2];
	size_t		 i;

	init_ok(&s, "k1:" K1 ",k2:" K2, NULL);
	/* every single character of the signature matters */
	for (i = 0; i < SIGN_SIG_LEN; i++) {
		memcpy(sig, KAT_SIG, SIGN_SIG_LEN + 1);
		sig[i] = sig[i] == 'A' ? 'B' : 'A';
		ck_assert_msg(sign_verify(&s, "GET", "/objects/x", "123", "k1",
		    sig, 100) == SIGN_INVALID, "signature char %zu", i);
	}
	/* length */
	memcpy(sig, KAT_SIG, SIGN_SIG_LEN + 1);
	sig[SIGN_SIG_LEN - 1] = '\0';
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k1",
	    sig, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k1",
	    KAT_SIG "A", 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k1",
	    KAT_SIG "=", 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k1",
	    "", 100), SIGN_INVALID);
	/* path */
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/y", "123", "k1",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x/full", "123", "k1",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/", "123", "k1",
	    KAT_SIG, 100), SIGN_INVALID);
	/* expires: later, earlier, malformed */
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "124", "k1",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "9999999999",
	    "k1", KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "12", "k1",
	    KAT_SIG, 1), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "", "k1",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "-123", "k1",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123abc", "k1",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x",
	    "99999999999999999999", "k1", KAT_SIG, 100), SIGN_INVALID);
	/* kid: another configured key, an unknown one, a case change */
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k2",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k3",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "K1",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "",
	    KAT_SIG, 100), SIGN_INVALID);
}
END_TEST

START_TEST(test_sign_verify_missing)
{
	struct signer	 s;

	init_ok(&s, "k1:" K1, NULL);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", NULL, "k1",
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", NULL,
	    KAT_SIG, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", "123", "k1",
	    NULL, 100), SIGN_INVALID);
	ck_assert_int_eq(sign_verify(&s, "GET", "/objects/x", NULL, NULL,
	    NULL, 100), SIGN_INVALID);
}
END_TEST

START_TEST(test_sign_verify_rotation)
{
	struct signer	 old, both, both_old, next;

	init_ok(&old, "k1:" K1, NULL);
	init_ok(&both, "k1:" K1 ",k2:" K2, "k2");
	init_ok(&both_old, "k2:" K2 ",k1:" K1, "k1");
	init_ok(&next, "k2:" K2, NULL);

	/* a URL signed with the old key verifies while both are configured */
	ck_assert_int_eq(roundtrip(&old, &both, "GET", "/objects/x", 500, 100),
	    SIGN_OK);
	ck_assert_int_eq(sign_verify(&both, "GET", "/objects/x", "123", "k1",
	    KAT_SIG, 100), SIGN_OK);
	/* new URLs use the current key and verify everywhere it is known */
	ck_assert_int_eq(roundtrip(&both, &both, "GET", "/objects/x", 500, 100),
	    SIGN_OK);
	ck_assert_int_eq(roundtrip(&both, &next, "GET", "/objects/x", 500, 100),
	    SIGN_OK);
	ck_assert_int_eq(roundtrip(&both, &both_old, "HEAD", "/objects/x", 500,
	    100), SIGN_OK);
	/* a verifier without the key refuses */
	ck_assert_int_eq(roundtrip(&both, &old, "GET", "/objects/x", 500, 100),
	    SIGN_INVALID);
	ck_assert_int_eq(roundtrip(&old, &next, "GET", "/objects/x", 500, 100),
	    SIGN_INVALID);
	/* and still says expired only for a URL it can verify */
	ck_assert_int_eq(roundtrip(&old, &both, "GET", "/objects/x", 50, 100),
	    SIGN_EXPIRED);
	ck_assert_int_eq(roundtrip(&old, &next, "GET", "/objects/x", 50, 100),
	    SIGN_INVALID);
}
END_TEST

/* ---- token.c ----------------------------------------------------------------- */

static int
cmpstr(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

START_TEST(test_token_generate)
{
	enum { N = 512 };
	static char	 toks[N][TOKEN_LEN + 1];
	char		 out[TOKEN_MAX_LEN + 1];
	size_t		 i, j;

	for (i = 0; i < N; i++) {
		memset(toks[i], 'X', sizeof(toks[i]));
		ck_assert_int_eq(token_generate(toks[i]), 0);
		ck_assert_uint_eq(strlen(toks[i]), TOKEN_LEN);
		ck_assert_uint_eq(TOKEN_LEN, 47);
		ck_assert_int_eq(strncmp(toks[i], TOKEN_PREFIX, 4), 0);
		for (j = 4; j < TOKEN_LEN; j++)
			ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789-_",
			    toks[i][j]) != NULL, "bad char in %s", toks[i]);
		/* what token_generate makes, token_from_headers accepts */
		ck_assert_int_eq(token_from_headers(toks[i], NULL, out,
		    sizeof(out)), 0);
		ck_assert_str_eq(out, toks[i]);
	}
	qsort(toks, N, sizeof(toks[0]), cmpstr);
	for (i = 1; i < N; i++)
		ck_assert_str_ne(toks[i - 1], toks[i]);
}
END_TEST

START_TEST(test_token_hash)
{
	char	 h[2 + 64 + 1];

	token_hash_bytea("abc", h);
	ck_assert_str_eq(h, "\\xba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	token_hash_bytea("", h);
	ck_assert_str_eq(h, "\\xe3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_uuid_generate)
{
	enum { N = 512 };
	static char	 u[N][UUID_STR_LEN + 1];
	size_t		 i;

	for (i = 0; i < N; i++) {
		ck_assert_int_eq(uuid_generate_v4(u[i]), 0);
		ck_assert_uint_eq(strlen(u[i]), UUID_STR_LEN);
		ck_assert_msg(uuid_valid(u[i], UUID_STR_LEN), "%s", u[i]);
		ck_assert_msg(u[i][14] == '4', "version: %s", u[i]);
		ck_assert_msg(strchr("89ab", u[i][19]) != NULL, "variant: %s",
		    u[i]);
		ck_assert_msg(object_name_valid(u[i], UUID_STR_LEN), "%s", u[i]);
	}
	qsort(u, N, sizeof(u[0]), cmpstr);
	for (i = 1; i < N; i++)
		ck_assert_str_ne(u[i - 1], u[i]);
}
END_TEST

static Suite *
sign_suite(void)
{
	Suite	*s = suite_create("sign");
	TCase	*tc;

	tc = tcase_create("signer_init");
	tcase_add_test(tc, test_signer_init_good);
	tcase_add_test(tc, test_signer_init_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("sign_compute");
	tcase_add_test(tc, test_sign_compute_kat);
	tcase_add_test(tc, test_sign_compute_long_path);
	tcase_add_test(tc, test_sign_url);
	suite_add_tcase(s, tc);

	tc = tcase_create("sign_verify");
	tcase_add_test(tc, test_sign_verify_ok);
	tcase_add_test(tc, test_sign_verify_method);
	tcase_add_test(tc, test_sign_verify_expired);
	tcase_add_test(tc, test_sign_verify_tampered);
	tcase_add_test(tc, test_sign_verify_missing);
	tcase_add_test(tc, test_sign_verify_rotation);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_add_test(tc, test_token_generate);
	tcase_add_test(tc, test_token_hash);
	tcase_add_test(tc, test_uuid_generate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(sign_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
