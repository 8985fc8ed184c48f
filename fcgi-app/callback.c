/*
 * callback.c -- callback URLs, the private-address rule and signatures.
 *
 * A job may name a URL that the dispatcher POSTs the finished job to.  That
 * makes docket an HTTP client acting on a client's word, so two rules keep
 * it from being pointed at the inside of the network it runs in:
 *
 *  - At enqueue, callback_url_check() accepts only absolute http(s) URLs
 *    without user info, spaces or control characters, and refuses a host
 *    that is a literal private address or "localhost".
 *  - At delivery, the dispatcher resolves the host itself, refuses if any
 *    address is private (cb_addr_refused), and pins the addresses it checked
 *    so DNS cannot change between the check and the connect.
 *
 * "Private" is every range a service on this host or its LAN could sit in:
 * see private_nets[] below.  Operators exempt their own receivers with
 * callback_allow_nets, a comma list of CIDRs.
 *
 * A delivery is signed: X-Docket-Signature: t=<unix time>,v1=<hex
 * HMAC-SHA256(key, "<t>.<body>")>, where key is the bytes callback_key
 * spells in hex.  The receiver recomputes it and checks t is recent, which
 * proves the body came from us and is not a replay of an old one.
 *
 * Everything here is pure (no I/O but getaddrinfo-free parsing), so the
 * unit tests cover it without a network.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "docket.h"
#include "callback.h"

/* Shorthands for the table below. */
#define V4(a, b, c, d, len)	{ { AF_INET, { a, b, c, d } }, len }
#define V6(a, b, len)		{ { AF_INET6, { a, b } }, len }

/*
 * Ranges a callback must not reach (RFC 6890 and friends).  IPv4-mapped
 * (::ffff:0:0/96) and NAT64 (64:ff9b::/96) addresses are judged by the
 * IPv4 address they carry, in cb_addr_private().
 */
static const struct cb_net private_nets[] = {
	V4(0, 0, 0, 0, 8),		/* "this network", 0.0.0.0 */
	V4(10, 0, 0, 0, 8),		/* RFC 1918 */
	V4(100, 64, 0, 0, 10),		/* CGNAT shared space, RFC 6598 */
	V4(127, 0, 0, 0, 8),		/* loopback */
	V4(169, 254, 0, 0, 16),		/* link-local (cloud metadata) */
	V4(172, 16, 0, 0, 12),		/* RFC 1918 */
	V4(192, 0, 0, 0, 24),		/* IETF protocol assignments */
	V4(192, 168, 0, 0, 16),		/* RFC 1918 */
	V4(198, 18, 0, 0, 15),		/* benchmarking */
	V4(224, 0, 0, 0, 4),		/* multicast */
	V4(240, 0, 0, 0, 4),		/* reserved, broadcast */
	V6(0, 0, 96),			/* ::, ::1, IPv4-compatible */
	V6(0xfc, 0, 7),			/* unique local */
	V6(0xfe, 0x80, 10),		/* link-local */
	V6(0xfe, 0xc0, 10),		/* site-local (deprecated) */
	V6(0xff, 0, 8),			/* multicast */
};

#define NPRIVATE (sizeof(private_nets) / sizeof(private_nets[0]))

static int
why_set(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
	return 0;
}

/* ---- URL syntax -------------------------------------------------------- */

static int
host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/*
 * Split an absolute http(s) URL into scheme, host and port, checking what
 * we promise clients: at most CB_URL_MAX bytes of printable ASCII without
 * spaces or backslashes, a host, no user info ("user@"), a port in
 * 1..65535.  An IPv4 host must be four decimal numbers: inet_aton() also
 * reads "127.1" or "0x7f000001", which the resolver would happily turn into
 * loopback behind a literal-address check.  Returns CB_URL_OK (u filled)
 * or CB_URL_INVALID with a sentence in why.
 */
enum cb_url_rc
cb_url_parse(const char *url, struct cb_url *u, char *why, size_t whylen)
{
	const char	*p, *end, *hs, *he, *rest;
	struct cb_addr	 addr;
	struct in_addr	 v4;
	size_t		 len, n, i;
	unsigned long	 port = 0;
	int		 https;

	len = strlen(url);
	if (len == 0 || len > CB_URL_MAX) {
		why_set(why, whylen, "callback URL must be 1 to 2048 bytes");
		return CB_URL_INVALID;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\') {
			why_set(why, whylen, "callback URL must not contain "
			    "spaces, control or non-ASCII characters "
			    "(percent-encode them)");
			return CB_URL_INVALID;
		}
	}
	if (strncasecmp(url, "http://", 7) == 0) {
		https = 0;
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		https = 1;
		p = url + 8;
	} else {
		why_set(why, whylen, "callback URL must be an absolute "
		    "http:// or https:// URL");
		return CB_URL_INVALID;
	}
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL) {
		why_set(why, whylen, "callback URL must not contain user "
		    "information");
		return CB_URL_INVALID;
	}

	if (*p == '[') {
		hs = p + 1;
		if ((he = memchr(hs, ']', (size_t)(end - hs))) == NULL) {
			why_set(why, whylen, "callback URL has an unterminated "
			    "IPv6 address");
			return CB_URL_INVALID;
		}
		rest = he + 1;
	} else {
		hs = p;
		he = memchr(p, ':', (size_t)(end - p));
		if (he == NULL)
			he = end;
		rest = he;
	}
	n = (size_t)(he - hs);
	if (n == 0) {
		why_set(why, whylen, "callback URL has no host");
		return CB_URL_INVALID;
	}
	if (n > CB_HOST_MAX) {
		why_set(why, whylen, "callback URL host is too long");
		return CB_URL_INVALID;
	}
	for (i = 0; i < n; i++)
		u->host[i] = (char)tolower((unsigned char)hs[i]);
	u->host[n] = '\0';
	u->host_is_ip = 0;

	if (*p == '[') {
		/* Zone ids ("%eth0") are refused by inet_pton: good. */
		if (cb_addr_parse(u->host, &addr) != 0 ||
		    addr.family != AF_INET6) {
			why_set(why, whylen, "callback URL has an invalid "
			    "IPv6 address");
			return CB_URL_INVALID;
		}
		u->host_is_ip = 1;
	} else {
		for (i = 0; i < n; i++)
			if (!host_char((unsigned char)u->host[i]))
				break;
		if (i < n || u->host[0] == '.' || u->host[0] == '-' ||
		    strstr(u->host, "..") != NULL) {
			why_set(why, whylen, "callback URL host is not a "
			    "valid host name or address");
			return CB_URL_INVALID;
		}
		if (cb_addr_parse(u->host, &addr) == 0)
			u->host_is_ip = 1;
		else if (inet_aton(u->host, &v4) != 0) {
			why_set(why, whylen, "callback URL: write an IPv4 "
			    "address as four decimal numbers");
			return CB_URL_INVALID;
		}
	}

	if (rest < end) {
		if (*rest != ':' || rest + 1 == end || end - rest > 6) {
			why_set(why, whylen, "callback URL has an invalid "
			    "port");
			return CB_URL_INVALID;
		}
		for (p = rest + 1; p < end; p++) {
			if (*p < '0' || *p > '9') {
				why_set(why, whylen, "callback URL has an "
				    "invalid port");
				return CB_URL_INVALID;
			}
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535) {
			why_set(why, whylen, "callback URL port must be 1 to "
			    "65535");
			return CB_URL_INVALID;
		}
	} else
		port = https ? 443 : 80;
	u->https = https;
	u->port = (unsigned)port;
	return CB_URL_OK;
}

/* ---- addresses and nets ----------------------------------------------- */

/* An IPv4 or IPv6 address in its usual text form; -1 if it is not one. */
int
cb_addr_parse(const char *text, struct cb_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strchr(text, ':') != NULL) {
		if (inet_pton(AF_INET6, text, a->a) != 1)
			return -1;
		a->family = AF_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, text, a->a) != 1)
		return -1;
	a->family = AF_INET;
	return 0;
}

void
cb_addr_format(const struct cb_addr *a, char *out, size_t outlen)
{
	if (inet_ntop(a->family, a->a, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "?");
}

static int
net_match(const struct cb_net *net, const struct cb_addr *a)
{
	unsigned	 full = net->prefix / 8, rem = net->prefix % 8;
	unsigned char	 mask;

	if (net->addr.family != a->family)
		return 0;
	if (memcmp(net->addr.a, a->a, full) != 0)
		return 0;
	if (rem == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rem));
	return (net->addr.a[full] & mask) == (a->a[full] & mask);
}

/*
 * The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64
 * (64:ff9b::a.b.c.d) IPv6 address: both reach an IPv4 host, and must be
 * judged as that host.  Returns 0 and sets v4, or -1.
 */
static int
embedded_v4(const struct cb_addr *a, struct cb_addr *v4)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };

	if (a->family != AF_INET6)
		return -1;
	if (memcmp(a->a, mapped, 12) != 0 && memcmp(a->a, nat64, 12) != 0)
		return -1;
	memset(v4, 0, sizeof(*v4));
	v4->family = AF_INET;
	memcpy(v4->a, a->a + 12, 4);
	return 0;
}

/* 1 if a is in a private range (private_nets[], or carries one). */
int
cb_addr_private(const struct cb_addr *a)
{
	struct cb_addr	 v4;
	size_t		 i;

	if (embedded_v4(a, &v4) == 0)
		return cb_addr_private(&v4);
	for (i = 0; i < NPRIVATE; i++)
		if (net_match(&private_nets[i], a))
			return 1;
	return 0;
}

/*
 * Parse "CIDR[, CIDR...]" ("" or blanks: no nets).  A CIDR is an address
 * with an optional /prefix (none: the one address); bits right of the
 * prefix must be zero, so that "10.1.2.3/8" is caught as the typo it
 * probably is.  Returns 0, or -1 with a sentence in err.
 */
int
cb_nets_parse(const char *spec, struct cb_nets *nets, char *err,
    size_t errlen)
{
	const char	*p = spec, *end, *slash;
	char		 item[64], pfx[8];
	struct cb_net	*net;
	int64_t		 prefix;
	unsigned	 bits, i;
	size_t		 n;

	memset(nets, 0, sizeof(*nets));
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0) {
			snprintf(err, errlen, "callback_allow_nets: empty "
			    "entry");
			return -1;
		}
		if (n >= sizeof(item)) {
			snprintf(err, errlen, "callback_allow_nets: entry "
			    "too long");
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (nets->n == CB_NETS_MAX) {
			snprintf(err, errlen, "callback_allow_nets: at most "
			    "%d entries", CB_NETS_MAX);
			return -1;
		}
		net = &nets->net[nets->n];
		if ((slash = strchr(item, '/')) != NULL) {
			if (strlen(slash + 1) >= sizeof(pfx)) {
				snprintf(err, errlen, "callback_allow_nets: "
				    "bad prefix in \"%s\"", item);
				return -1;
			}
			memcpy(pfx, slash + 1, strlen(slash + 1) + 1);
			item[slash - item] = '\0';
		}
		if (cb_addr_parse(item, &net->addr) != 0) {
			snprintf(err, errlen, "callback_allow_nets: \"%s\" is "
			    "not an IP address", item);
			return -1;
		}
		bits = net->addr.family == AF_INET ? 32 : 128;
		if (slash == NULL)
			prefix = bits;
		else if (parse_int64(pfx, 0, bits, &prefix) != PARSE_OK) {
			snprintf(err, errlen, "callback_allow_nets: prefix "
			    "of %s must be 0 to %u", item, bits);
			return -1;
		}
		net->prefix = (unsigned)prefix;
		for (i = net->prefix; i < bits; i++)
			if (net->addr.a[i / 8] & (0x80 >> (i % 8))) {
				snprintf(err, errlen, "callback_allow_nets: "
				    "%s/%u has bits set right of the prefix",
				    item, net->prefix);
				return -1;
			}
		nets->n++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return 0;
}

/* 1 if a is in one of nets (a mapped IPv6 address also as its IPv4). */
int
cb_nets_contain(const struct cb_nets *nets, const struct cb_addr *a)
{
	struct cb_addr	 v4;
	int		 has_v4 = embedded_v4(a, &v4) == 0;
	size_t		 i;

	for (i = 0; i < nets->n; i++)
		if (net_match(&nets->net[i], a) ||
		    (has_v4 && net_match(&nets->net[i], &v4)))
			return 1;
	return 0;
}

/* The delivery rule: 1 if a is private and not exempt by nets. */
int
cb_addr_refused(const struct cb_addr *a, const struct cb_nets *nets)
{
	return cb_addr_private(a) && !cb_nets_contain(nets, a);
}

/* ---- the enqueue-time check -------------------------------------------- */

static int
is_localhost(const char *host)
{
	size_t	 n = strlen(host), k = sizeof("localhost") - 1;

	if (n > 0 && host[n - 1] == '.')
		n--;
	if (n < k || strncmp(host + n - k, "localhost", k) != 0)
		return 0;
	/* "localhost" itself, or any name under it (RFC 6761). */
	return n == k || host[n - k - 1] == '.';
}

/*
 * See docket.h.  A malformed allow_nets exempts nothing: docketd refuses
 * to start with one, so this only matters to a caller that did not check.
 */
enum cb_url_rc
callback_url_check(const char *url, const char *allow_nets, char *why,
    size_t whylen)
{
	struct cb_url	 u;
	struct cb_nets	 nets;
	struct cb_addr	 a;
	char		 err[128], text[INET6_ADDRSTRLEN];
	enum cb_url_rc	 rc;

	if ((rc = cb_url_parse(url, &u, why, whylen)) != CB_URL_OK)
		return rc;
	if (cb_nets_parse(allow_nets != NULL ? allow_nets : "", &nets, err,
	    sizeof(err)) != 0)
		memset(&nets, 0, sizeof(nets));
	if (is_localhost(u.host)) {
		/* What "localhost" resolves to on any sane host. */
		cb_addr_parse("127.0.0.1", &a);
		if (cb_addr_refused(&a, &nets)) {
			why_set(why, whylen, "callback URL host localhost is "
			    "a private address");
			return CB_URL_PRIVATE;
		}
		return CB_URL_OK;
	}
	if (!u.host_is_ip || cb_addr_parse(u.host, &a) != 0)
		return CB_URL_OK;
	if (cb_addr_refused(&a, &nets)) {
		cb_addr_format(&a, text, sizeof(text));
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "callback URL host %s is a "
			    "private address", text);
		return CB_URL_PRIVATE;
	}
	return CB_URL_OK;
}

/* ---- signatures ---------------------------------------------------------- */

/*
 * callback_key: "" (not configured: keylen 0) or 64 to 128 hex digits,
 * the same strength rule as signing_keys.  Returns 0 or -1.
 */
int
cb_key_parse(const char *hex, unsigned char key[CB_KEY_MAX], size_t *keylen)
{
	size_t	 n = strlen(hex);

	*keylen = 0;
	if (n == 0)
		return 0;
	if (n < 64 || n > 2 * CB_KEY_MAX)
		return -1;
	return hex_decode(hex, key, CB_KEY_MAX, keylen) == 0 ? 0 : -1;
}

/*
 * out = lowercase hex HMAC-SHA256(key, "<t>.<body>").  The message is fed
 * in pieces, so a large body is not copied.  A fresh context per call: a
 * dispatcher signs a handful of deliveries a second, not thousands.
 * Returns 0 or -1 (out of memory, or OpenSSL without HMAC).
 */
int
cb_sign(const unsigned char *key, size_t keylen, int64_t t, const char *body,
    size_t bodylen, char out[CB_SIG_HEX + 1])
{
	EVP_MAC		*mac = NULL;
	EVP_MAC_CTX	*ctx = NULL;
	OSSL_PARAM	 params[2];
	unsigned char	 md[32];
	char		 prefix[32];
	size_t		 mdlen = 0;
	int		 n, rc = -1;

	n = snprintf(prefix, sizeof(prefix), "%lld.", (long long)t);
	if (n < 0 || (size_t)n >= sizeof(prefix))
		goto out;
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key, keylen, params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)prefix,
	    (size_t)n) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)body, bodylen) != 1 ||
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 ||
	    mdlen != sizeof(md))
		goto out;
	hex_encode(md, sizeof(md), out);
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}
