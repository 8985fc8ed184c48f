/*
 * callback.h -- the pure parts of callback delivery, shared by the
 * dispatcher (which sends) and the unit tests: URL syntax, CIDR lists,
 * address classification and the signature.  docket.h declares the one
 * entry point the rest of docketd uses, callback_url_check().
 */
#ifndef DOCKET_CALLBACK_H
#define DOCKET_CALLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "docket.h"

#define CB_URL_MAX	2048
#define CB_HOST_MAX	253		/* a DNS name; an IPv6 literal is less */
#define CB_NETS_MAX	32
#define CB_SIG_HEX	64		/* HMAC-SHA256 in lowercase hex */
#define CB_KEY_MAX	64		/* bytes, as signing keys */

/* A URL split into what delivery needs; host is lower case, no brackets. */
struct cb_url {
	int		 https;
	char		 host[CB_HOST_MAX + 1];
	int		 host_is_ip;	/* an IPv4 or IPv6 literal */
	unsigned	 port;		/* explicit, else 80 or 443 */
};

/* An address: family AF_INET (4 bytes used) or AF_INET6 (16 bytes). */
struct cb_addr {
	int		 family;
	unsigned char	 a[16];
};

struct cb_net {
	struct cb_addr	 addr;
	unsigned	 prefix;
};

struct cb_nets {
	struct cb_net	 net[CB_NETS_MAX];
	size_t		 n;
};

enum cb_url_rc cb_url_parse(const char *url, struct cb_url *, char *why,
	    size_t whylen);
int	 cb_addr_parse(const char *text, struct cb_addr *);
void	 cb_addr_format(const struct cb_addr *, char *out, size_t outlen);
int	 cb_addr_private(const struct cb_addr *);
int	 cb_nets_parse(const char *spec, struct cb_nets *, char *err,
	    size_t errlen);
int	 cb_nets_contain(const struct cb_nets *, const struct cb_addr *);
int	 cb_addr_refused(const struct cb_addr *, const struct cb_nets *);
int	 cb_key_parse(const char *hex, unsigned char key[CB_KEY_MAX],
	    size_t *keylen);
int	 cb_sign(const unsigned char *key, size_t keylen, int64_t t,
	    const char *body, size_t bodylen, char out[CB_SIG_HEX + 1]);

#endif /* DOCKET_CALLBACK_H */
