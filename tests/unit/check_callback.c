/*
 * check_callback.c -- unit tests for callback.c: callback URL syntax, the
 * private-address rule at every range edge, callback_allow_nets parsing
 * and exemptions, callback_url_check, and the delivery signature.
 *
 * The signature known answers were computed independently of this code:
 *   K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
 *   printf '%s' '1700000000.{"id":"00000000-0000-4000-8000-000000000000",
 *     "status":"done"}' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K
 * (the body on one line), and the same for the message "0.".
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "docket.h"
#include "callback.h"

#define K1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KAT_BODY "{\"id\":\"00000000-0000-4000-8000-000000000000\"," \
	"\"status\":\"done\"}"
#define KAT_SIG "56121ad9ccf7ad00986b8be26bfd3fd915a24f6d8311d859202b21db6967eabe"
#define KAT_EMPTY_SIG \
	"0e80838223869e9517439e639ad55157d90d439a465b4e569e67014750fa80da"

static int
is_private(const char *text)
{
	struct cb_addr	 a;

	ck_assert_msg(cb_addr_parse(text, &a) == 0, "cannot parse %s", text);
	return cb_addr_private(&a);
}

#define PRIVATE(t)	ck_assert_msg(is_private(t) == 1, "%s is private", t)
#define PUBLIC(t)	ck_assert_msg(is_private(t) == 0, "%s is public", t)

/* ---- address classification --------------------------------------------- */

START_TEST(test_private_v4_edges)
{
	PRIVATE("0.0.0.0");
	PRIVATE("0.255.255.255");
	PUBLIC("1.0.0.0");
	PUBLIC("9.255.255.255");
	PRIVATE("10.0.0.0");
	PRIVATE("10.255.255.255");
	PUBLIC("11.0.0.0");
	PUBLIC("100.63.255.255");
	PRIVATE("100.64.0.0");
	PRIVATE("100.127.255.255");
	PUBLIC("100.128.0.0");
	PUBLIC("126.255.255.255");
	PRIVATE("127.0.0.0");
	PRIVATE("127.0.0.1");
	PRIVATE("127.0.0.2");
	PRIVATE("127.255.255.255");
	PUBLIC("128.0.0.0");
	PUBLIC("169.253.255.255");
	PRIVATE("169.254.0.0");
	PRIVATE("169.254.169.254");
	PRIVATE("169.254.255.255");
	PUBLIC("169.255.0.0");
	PUBLIC("172.15.255.255");
	PRIVATE("172.16.0.0");
	PRIVATE("172.31.255.255");
	PUBLIC("172.32.0.0");
	PRIVATE("192.0.0.1");
	PUBLIC("192.0.2.1");
	PUBLIC("192.167.255.255");
	PRIVATE("192.168.0.0");
	PRIVATE("192.168.255.255");
	PUBLIC("192.169.0.0");
	PRIVATE("198.18.0.1");
	PRIVATE("198.19.255.255");
	PUBLIC("198.20.0.0");
	PUBLIC("223.255.255.255");
	PRIVATE("224.0.0.1");
	PRIVATE("239.255.255.255");
	PRIVATE("240.0.0.1");
	PRIVATE("255.255.255.255");
	PUBLIC("8.8.8.8");
	PUBLIC("93.184.216.34");
}
END_TEST

START_TEST(test_private_v6_edges)
{
	PRIVATE("::");
	PRIVATE("::1");
	PRIVATE("::2");
	PRIVATE("::127.0.0.1");
	PRIVATE("fe80::");
	PRIVATE("fe80::1");
	PRIVATE("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	PRIVATE("fec0::1");
	PUBLIC("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	PUBLIC("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	PRIVATE("fc00::");
	PRIVATE("fc00::1");
	PRIVATE("fd00::1");
	PRIVATE("fd12:3456:789a::1");
	PRIVATE("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	PRIVATE("ff02::1");
	PRIVATE("ff00::");
	PUBLIC("2001:4860:4860::8888");
	PUBLIC("2606:4700:4700::1111");
	PUBLIC("1::");
	/* IPv4-mapped and NAT64 addresses are judged by their IPv4 part. */
	PRIVATE("::ffff:127.0.0.1");
	PRIVATE("::ffff:7f00:1");
	PRIVATE("::ffff:10.0.0.1");
	PRIVATE("::ffff:169.254.169.254");
	PRIVATE("::ffff:0.0.0.0");
	PUBLIC("::ffff:8.8.8.8");
	PUBLIC("::ffff:11.0.0.0");
	PRIVATE("64:ff9b::127.0.0.1");
	PRIVATE("64:ff9b::10.1.2.3");
	PUBLIC("64:ff9b::8.8.8.8");
}
END_TEST

START_TEST(test_addr_parse)
{
	struct cb_addr	 a;
	char		 text[64];

	ck_assert_int_eq(cb_addr_parse("10.0.0.1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	cb_addr_format(&a, text, sizeof(text));
	ck_assert_str_eq(text, "10.0.0.1");
	ck_assert_int_eq(cb_addr_parse("FE80::1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	cb_addr_format(&a, text, sizeof(text));
	ck_assert_str_eq(text, "fe80::1");
	ck_assert_int_eq(cb_addr_parse("", &a), -1);
	ck_assert_int_eq(cb_addr_parse("127.1", &a), -1);
	ck_assert_int_eq(cb_addr_parse("0x7f.0.0.1", &a), -1);
	ck_assert_int_eq(cb_addr_parse("256.0.0.1", &a), -1);
	ck_assert_int_eq(cb_addr_parse("1.2.3.4.5", &a), -1);
	ck_assert_int_eq(cb_addr_parse("fe80::1%eth0", &a), -1);
	ck_assert_int_eq(cb_addr_parse("example.com", &a), -1);
}
END_TEST

/* ---- callback_allow_nets ------------------------------------------------ */

static void
nets_ok(const char *spec, struct cb_nets *nets, size_t n)
{
	char	 err[256] = "";

	ck_assert_msg(cb_nets_parse(spec, nets, err, sizeof(err)) == 0,
	    "cb_nets_parse(\"%s\"): %s", spec, err);
	ck_assert_msg(nets->n == n, "\"%s\": %zu nets, want %zu", spec,
	    nets->n, n);
}

static void
nets_bad(const char *spec, const char *errpart)
{
	struct cb_nets	 nets;
	char		 err[256] = "";

	ck_assert_msg(cb_nets_parse(spec, &nets, err, sizeof(err)) == -1,
	    "cb_nets_parse accepted \"%s\"", spec);
	ck_assert_msg(strstr(err, errpart) != NULL,
	    "cb_nets_parse(\"%s\"): error \"%s\" lacks \"%s\"", spec, err,
	    errpart);
}

static int
refused(const char *addr, const struct cb_nets *nets)
{
	struct cb_addr	 a;

	ck_assert_msg(cb_addr_parse(addr, &a) == 0, "cannot parse %s", addr);
	return cb_addr_refused(&a, nets);
}

START_TEST(test_nets_parse)
{
	struct cb_nets	 nets;

	nets_ok("", &nets, 0);
	nets_ok("   ", &nets, 0);
	nets_ok("127.0.0.2/32", &nets, 1);
	ck_assert_uint_eq(nets.net[0].prefix, 32);
	nets_ok("127.0.0.2", &nets, 1);
	ck_assert_uint_eq(nets.net[0].prefix, 32);
	nets_ok("fd00::1", &nets, 1);
	ck_assert_uint_eq(nets.net[0].prefix, 128);
	nets_ok(" 10.1.0.0/16 , fd00::/8,192.168.7.0/24 ", &nets, 3);
	ck_assert_uint_eq(nets.net[1].prefix, 8);
	ck_assert_int_eq(nets.net[1].addr.family, AF_INET6);
	nets_ok("0.0.0.0/0", &nets, 1);
	nets_ok("::/0", &nets, 1);

	nets_bad(",", "empty entry");
	nets_bad("10.0.0.0/8,", "empty entry");
	nets_bad("10.0.0.0/8,,10.1.0.0/16", "empty entry");
	nets_bad("10.0.0.0/33", "prefix");
	nets_bad("fd00::/129", "prefix");
	nets_bad("10.0.0.0/", "prefix");
	nets_bad("10.0.0.0/-1", "prefix");
	nets_bad("10.0.0.0/8x", "prefix");
	nets_bad("10.0.0.0/123456789", "prefix");
	nets_bad("10.0.0.0/8/8", "prefix");
	nets_bad("10.0.0/8", "not an IP address");
	nets_bad("example.com/32", "not an IP address");
	nets_bad("/8", "not an IP address");
	nets_bad("10.1.2.3/8", "bits set right of the prefix");
	nets_bad("fd00::1/8", "bits set right of the prefix");
	nets_bad("1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,"
	    "1.1.1.8,1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,"
	    "1.1.1.15,1.1.1.16,1.1.1.17,1.1.1.18,1.1.1.19,1.1.1.20,1.1.1.21,"
	    "1.1.1.22,1.1.1.23,1.1.1.24,1.1.1.25,1.1.1.26,1.1.1.27,1.1.1.28,"
	    "1.1.1.29,1.1.1.30,1.1.1.31,1.1.1.32,1.1.1.33", "at most");
}
END_TEST

START_TEST(test_nets_exempt)
{
	struct cb_nets	 nets;

	nets_ok("", &nets, 0);
	ck_assert(refused("127.0.0.2", &nets));
	ck_assert(!refused("8.8.8.8", &nets));

	nets_ok("127.0.0.2/32, 10.20.0.0/16, fd00:1::/32", &nets, 3);
	ck_assert(!refused("127.0.0.2", &nets));
	ck_assert(refused("127.0.0.1", &nets));
	ck_assert(refused("127.0.0.3", &nets));
	ck_assert(!refused("10.20.0.0", &nets));
	ck_assert(!refused("10.20.255.255", &nets));
	ck_assert(refused("10.19.255.255", &nets));
	ck_assert(refused("10.21.0.0", &nets));
	ck_assert(refused("10.0.0.1", &nets));
	ck_assert(!refused("fd00:1::5", &nets));
	ck_assert(refused("fd00:2::5", &nets));
	ck_assert(refused("::1", &nets));
	/* A mapped address is exempt through its IPv4 net, too. */
	ck_assert(!refused("::ffff:127.0.0.2", &nets));
	ck_assert(refused("::ffff:127.0.0.1", &nets));
	ck_assert(!refused("8.8.8.8", &nets));

	nets_ok("172.16.0.0/12", &nets, 1);
	ck_assert(!refused("172.16.0.0", &nets));
	ck_assert(!refused("172.31.255.255", &nets));
	ck_assert(refused("192.168.1.1", &nets));

	nets_ok("192.168.1.0/25", &nets, 1);
	ck_assert(!refused("192.168.1.127", &nets));
	ck_assert(refused("192.168.1.128", &nets));
}
END_TEST

/* ---- URLs ---------------------------------------------------------------- */

static void
url_ok(const char *url, const char *host, unsigned port, int https, int ip)
{
	struct cb_url	 u;
	char		 why[256] = "";

	ck_assert_msg(cb_url_parse(url, &u, why, sizeof(why)) == CB_URL_OK,
	    "cb_url_parse(\"%s\"): %s", url, why);
	ck_assert_str_eq(u.host, host);
	ck_assert_uint_eq(u.port, port);
	ck_assert_int_eq(u.https, https);
	ck_assert_int_eq(u.host_is_ip, ip);
}

static void
url_bad(const char *url, const char *whypart)
{
	struct cb_url	 u;
	char		 why[256] = "";

	ck_assert_msg(cb_url_parse(url, &u, why, sizeof(why)) ==
	    CB_URL_INVALID, "cb_url_parse accepted \"%s\"", url);
	ck_assert_msg(strstr(why, whypart) != NULL,
	    "cb_url_parse(\"%s\"): \"%s\" lacks \"%s\"", url, why, whypart);
	ck_assert_int_eq(callback_url_check(url, "", NULL, 0),
	    CB_URL_INVALID);
}

START_TEST(test_url_good)
{
	url_ok("http://example.com", "example.com", 80, 0, 0);
	url_ok("https://example.com", "example.com", 443, 1, 0);
	url_ok("HTTPS://Example.COM/hook?x=1#f", "example.com", 443, 1, 0);
	url_ok("http://example.com:8080/a/b", "example.com", 8080, 0, 0);
	url_ok("http://example.com:1", "example.com", 1, 0, 0);
	url_ok("http://example.com:65535/", "example.com", 65535, 0, 0);
	url_ok("http://example.com./", "example.com.", 80, 0, 0);
	url_ok("http://a-b.example.com?q", "a-b.example.com", 80, 0, 0);
	url_ok("http://8.8.8.8/x", "8.8.8.8", 80, 0, 1);
	url_ok("http://[2001:db8::1]:8443/x", "2001:db8::1", 8443, 0, 1);
	url_ok("https://[::ffff:8.8.8.8]/", "::ffff:8.8.8.8", 443, 1, 1);
	url_ok("http://example.com/p?email=a%40b", "example.com", 80, 0, 0);
}
END_TEST

START_TEST(test_url_bad)
{
	char	 longurl[CB_URL_MAX + 2];
	size_t	 n;

	url_bad("", "1 to 2048");
	n = strlen("http://example.com/");
	memcpy(longurl, "http://example.com/", n);
	memset(longurl + n, 'a', sizeof(longurl) - 1 - n);
	longurl[sizeof(longurl) - 1] = '\0';
	url_bad(longurl, "1 to 2048");
	longurl[CB_URL_MAX] = '\0';
	url_ok(longurl, "example.com", 80, 0, 0);

	url_bad("ftp://example.com/", "http:// or https://");
	url_bad("file:///etc/passwd", "http:// or https://");
	url_bad("gopher://example.com/", "http:// or https://");
	url_bad("//example.com/", "http:// or https://");
	url_bad("example.com/hook", "http:// or https://");
	url_bad("http:/example.com", "http:// or https://");
	url_bad("http://", "no host");
	url_bad("http:///path", "no host");
	url_bad("http://:80/", "no host");
	url_bad("http://user@example.com/", "user information");
	url_bad("http://user:pw@example.com/", "user information");
	url_bad("http://example.com@10.0.0.1/", "user information");
	url_bad("http://exa mple.com/", "spaces");
	url_bad("http://example.com/a b", "spaces");
	url_bad("http://example.com/\r\nX: y", "control");
	url_bad("http://example.com/\t", "control");
	url_bad("http://example.com/\x7f", "control");
	url_bad("http://ex\xc3\xa4mple.com/", "non-ASCII");
	url_bad("http://example.com\\@10.0.0.1/", "spaces");
	url_bad("http://example.com:/", "port");
	url_bad("http://example.com:0/", "port");
	url_bad("http://example.com:65536/", "port");
	url_bad("http://example.com:123456/", "port");
	url_bad("http://example.com:8x/", "port");
	url_bad("http://example.com:80:80/", "port");
	url_bad("http://[::1/", "unterminated");
	url_bad("http://[::1]x/", "port");
	url_bad("http://[example.com]/", "IPv6");
	url_bad("http://[10.0.0.1]/", "IPv6");
	url_bad("http://[fe80::1%25eth0]/", "IPv6");
	url_bad("http://exa_mple.com/", "host");
	url_bad("http://.example.com/", "host");
	url_bad("http://-example.com/", "host");
	url_bad("http://a..b/", "host");
	url_bad("http://127.1/", "four decimal numbers");
	url_bad("http://0x7f.0.0.1/", "four decimal numbers");
	url_bad("http://2130706433/", "four decimal numbers");
	url_bad("http://017700000001/", "four decimal numbers");
}
END_TEST

/* ---- callback_url_check --------------------------------------------------- */

static void
check_rc(const char *url, const char *allow, enum cb_url_rc want)
{
	char	 why[256] = "";
	enum cb_url_rc rc = callback_url_check(url, allow, why, sizeof(why));

	ck_assert_msg(rc == want, "callback_url_check(\"%s\", \"%s\") = %d "
	    "(%s), want %d", url, allow, rc, why, want);
	if (want != CB_URL_OK)
		ck_assert_msg(why[0] != '\0', "no reason for %s", url);
}

START_TEST(test_url_check)
{
	char	 why[256] = "";

	check_rc("https://example.com/hook", "", CB_URL_OK);
	check_rc("http://8.8.8.8/", "", CB_URL_OK);
	check_rc("http://[2606:4700:4700::1111]/", "", CB_URL_OK);
	check_rc("http://[::ffff:8.8.8.8]/", "", CB_URL_OK);
	check_rc("http://127.0.0.1/", "", CB_URL_PRIVATE);
	check_rc("http://127.0.0.2:8080/", "", CB_URL_PRIVATE);
	check_rc("http://10.0.0.0/", "", CB_URL_PRIVATE);
	check_rc("http://10.255.255.255/", "", CB_URL_PRIVATE);
	check_rc("http://11.0.0.0/", "", CB_URL_OK);
	check_rc("http://172.15.0.1/", "", CB_URL_OK);
	check_rc("http://172.16.0.1/", "", CB_URL_PRIVATE);
	check_rc("http://172.31.0.1/", "", CB_URL_PRIVATE);
	check_rc("http://172.32.0.1/", "", CB_URL_OK);
	check_rc("http://192.168.1.1/", "", CB_URL_PRIVATE);
	check_rc("http://169.254.169.254/latest/meta-data/", "",
	    CB_URL_PRIVATE);
	check_rc("http://100.63.0.1/", "", CB_URL_OK);
	check_rc("http://100.64.0.1/", "", CB_URL_PRIVATE);
	check_rc("http://100.127.0.1/", "", CB_URL_PRIVATE);
	check_rc("http://100.128.0.1/", "", CB_URL_OK);
	check_rc("http://0.0.0.0/", "", CB_URL_PRIVATE);
	check_rc("http://[::1]/", "", CB_URL_PRIVATE);
	check_rc("http://[::]/", "", CB_URL_PRIVATE);
	check_rc("http://[fe80::1]/", "", CB_URL_PRIVATE);
	check_rc("http://[fc00::1]/", "", CB_URL_PRIVATE);
	check_rc("http://[fd00::1]/", "", CB_URL_PRIVATE);
	check_rc("http://[::ffff:127.0.0.1]/", "", CB_URL_PRIVATE);
	check_rc("http://[::ffff:8.8.8.8]/", "", CB_URL_OK);
	check_rc("http://localhost/", "", CB_URL_PRIVATE);
	check_rc("http://LOCALHOST:8080/", "", CB_URL_PRIVATE);
	check_rc("http://localhost./", "", CB_URL_PRIVATE);
	check_rc("http://api.localhost/", "", CB_URL_PRIVATE);
	check_rc("http://notlocalhost/", "", CB_URL_OK);
	check_rc("http://localhost.example.com/", "", CB_URL_OK);
	/* Host names are resolved and judged at delivery, not here. */
	check_rc("http://internal.example/", "", CB_URL_OK);

	/* Exemptions. */
	check_rc("http://127.0.0.2:8080/", "127.0.0.2/32", CB_URL_OK);
	check_rc("http://127.0.0.1:8080/", "127.0.0.2/32", CB_URL_PRIVATE);
	check_rc("http://10.1.2.3/", "127.0.0.2/32, 10.1.0.0/16", CB_URL_OK);
	check_rc("http://10.2.0.1/", "127.0.0.2/32, 10.1.0.0/16",
	    CB_URL_PRIVATE);
	check_rc("http://[fd00::7]/", "fd00::/8", CB_URL_OK);
	check_rc("http://localhost/", "127.0.0.0/8", CB_URL_OK);
	check_rc("http://localhost/", "127.0.0.2/32", CB_URL_PRIVATE);
	/* A malformed list exempts nothing. */
	check_rc("http://127.0.0.2/", "127.0.0.2/33", CB_URL_PRIVATE);
	check_rc("http://127.0.0.2/", NULL, CB_URL_PRIVATE);

	ck_assert_int_eq(callback_url_check("http://10.0.0.1/", "", why,
	    sizeof(why)), CB_URL_PRIVATE);
	ck_assert_str_eq(why, "callback URL host 10.0.0.1 is a private "
	    "address");
	ck_assert_int_eq(callback_url_check("ftp://x/", "", why, sizeof(why)),
	    CB_URL_INVALID);
	ck_assert_str_eq(why, "callback URL must be an absolute http:// or "
	    "https:// URL");
	/* A short why is truncated, not overrun. */
	ck_assert_int_eq(callback_url_check("ftp://x/", "", why, 8),
	    CB_URL_INVALID);
	ck_assert_str_eq(why, "callbac");
}
END_TEST

/* ---- signatures ------------------------------------------------------------ */

START_TEST(test_sign_kat)
{
	unsigned char	 key[CB_KEY_MAX];
	size_t		 keylen;
	char		 sig[CB_SIG_HEX + 1];

	ck_assert_int_eq(cb_key_parse(K1, key, &keylen), 0);
	ck_assert_uint_eq(keylen, 32);
	ck_assert_int_eq(cb_sign(key, keylen, 1700000000, KAT_BODY,
	    strlen(KAT_BODY), sig), 0);
	ck_assert_str_eq(sig, KAT_SIG);
	ck_assert_int_eq(cb_sign(key, keylen, 0, "", 0, sig), 0);
	ck_assert_str_eq(sig, KAT_EMPTY_SIG);
	/* The time and every body byte are covered. */
	ck_assert_int_eq(cb_sign(key, keylen, 1700000001, KAT_BODY,
	    strlen(KAT_BODY), sig), 0);
	ck_assert_str_ne(sig, KAT_SIG);
	ck_assert_int_eq(cb_sign(key, keylen, 1700000000, KAT_BODY,
	    strlen(KAT_BODY) - 1, sig), 0);
	ck_assert_str_ne(sig, KAT_SIG);
	key[0] ^= 1;
	ck_assert_int_eq(cb_sign(key, keylen, 1700000000, KAT_BODY,
	    strlen(KAT_BODY), sig), 0);
	ck_assert_str_ne(sig, KAT_SIG);
}
END_TEST

START_TEST(test_key_parse)
{
	unsigned char	 key[CB_KEY_MAX];
	size_t		 keylen = 99;

	ck_assert_int_eq(cb_key_parse("", key, &keylen), 0);
	ck_assert_uint_eq(keylen, 0);
	ck_assert_int_eq(cb_key_parse(K1 K1, key, &keylen), 0);
	ck_assert_uint_eq(keylen, 64);
	ck_assert_int_eq(cb_key_parse("abcd", key, &keylen), -1);
	ck_assert_int_eq(cb_key_parse(K1 K1 "00", key, &keylen), -1);
	ck_assert_int_eq(cb_key_parse(K1 "0", key, &keylen), -1);
	ck_assert_int_eq(cb_key_parse("zz" K1, key, &keylen), -1);
}
END_TEST

static Suite *
callback_suite(void)
{
	Suite	*s = suite_create("callback");
	TCase	*tc;

	tc = tcase_create("addresses");
	tcase_add_test(tc, test_private_v4_edges);
	tcase_add_test(tc, test_private_v6_edges);
	tcase_add_test(tc, test_addr_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("nets");
	tcase_add_test(tc, test_nets_parse);
	tcase_add_test(tc, test_nets_exempt);
	suite_add_tcase(s, tc);
	tc = tcase_create("urls");
	tcase_add_test(tc, test_url_good);
	tcase_add_test(tc, test_url_bad);
	tcase_add_test(tc, test_url_check);
	suite_add_tcase(s, tc);
	tc = tcase_create("signature");
	tcase_add_test(tc, test_sign_kat);
	tcase_add_test(tc, test_key_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(callback_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
