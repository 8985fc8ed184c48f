/*
 * sign.c -- presigned object URLs.
 *
 * A URL is BASE + PATH + "?expires=E&kid=K&signature=S" where
 * S = base64url(HMAC-SHA256(key[K], "GET\n" PATH "\n" E "\n" K)).
 * The key id travels in the URL so keys can rotate: sign with the current
 * key, verify with any configured one.  Signatures are compared in constant
 * time (CRYPTO_memcmp) and checked before the expiry, so that "expired" is
 * only ever said of a URL we really issued.  HEAD is verified as GET: a
 * client that may download a file may also ask for its size.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "docket.h"

static int
kid_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > SIGN_KID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/*
 * Parse "kid:hexkey[,kid:hexkey...]" (keys of 32..64 bytes) and select the
 * key named current (the first key when current is empty).
 */
int
signer_init(struct signer *s, const char *spec, const char *current,
    char *err, size_t errlen)
{
	const char	*p = spec, *colon, *end;
	char		 hex[129];
	struct sign_key	*k;
	size_t		 i, n;

	memset(s, 0, sizeof(*s));
	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		colon = memchr(p, ':', (size_t)(end - p));
		if (colon == NULL || !kid_valid(p, (size_t)(colon - p))) {
			snprintf(err, errlen, "signing_keys: expected "
			    "kid:hexkey with a short alphanumeric kid");
			return -1;
		}
		if (s->nkeys == SIGN_MAX_KEYS) {
			snprintf(err, errlen, "signing_keys: at most %d keys",
			    SIGN_MAX_KEYS);
			return -1;
		}
		k = &s->keys[s->nkeys];
		memcpy(k->id, p, (size_t)(colon - p));
		/* sign_url and sign_verify must agree on the key a kid names. */
		for (i = 0; i < s->nkeys; i++)
			if (strcmp(s->keys[i].id, k->id) == 0) {
				snprintf(err, errlen, "signing_keys: key id %s "
				    "is given twice", k->id);
				return -1;
			}
		n = (size_t)(end - colon - 1);
		if (n < 64 || n > 128) {
			snprintf(err, errlen, "signing_keys: key %s must be "
			    "64 to 128 hex digits", k->id);
			return -1;
		}
		memcpy(hex, colon + 1, n);
		hex[n] = '\0';
		if (hex_decode(hex, k->key, sizeof(k->key), &k->keylen) != 0) {
			snprintf(err, errlen, "signing_keys: key %s is not "
			    "hex", k->id);
			return -1;
		}
		s->nkeys++;
		p = *end ? end + 1 : end;
	}
	if (s->nkeys == 0) {
		snprintf(err, errlen, "signing_keys is not set");
		return -1;
	}
	if (current == NULL || *current == '\0')
		return 0;
	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].id, current) == 0) {
			s->current = i;
			return 0;
		}
	snprintf(err, errlen, "signing_key_id %.32s is not in signing_keys",
	    current);
	return -1;
}

/*
 * One HMAC context per thread.  OpenSSL 3's one-shot HMAC() fetches the
 * algorithm and builds a context on every call (about 25k instructions);
 * a kept context re-initialised with the same key costs a fraction of
 * that.  The key is compared by value, so a different signer (or a
 * rotated key) in the same thread simply re-keys it.  The context hangs
 * off a pthread key whose destructor frees it when the thread ends.
 */
struct hmac_tls {
	EVP_MAC_CTX	*ctx;		/* owned */
	unsigned char	 key[64];
	size_t		 keylen;
};

static EVP_MAC		*hmac_alg;
static pthread_key_t	 hmac_key;
static pthread_once_t	 hmac_once = PTHREAD_ONCE_INIT;
static int		 hmac_ready;

static void
hmac_tls_free(void *p)
{
	struct hmac_tls	*t = p;

	EVP_MAC_CTX_free(t->ctx);
	free(t);
}

static void
hmac_setup(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	hmac_ready = hmac_alg != NULL &&
	    pthread_key_create(&hmac_key, hmac_tls_free) == 0;
}

static struct hmac_tls *
hmac_tls_get(void)
{
	struct hmac_tls	*t;

	pthread_once(&hmac_once, hmac_setup);
	if (!hmac_ready)
		return NULL;
	if ((t = pthread_getspecific(hmac_key)) != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->ctx = EVP_MAC_CTX_new(hmac_alg)) == NULL ||
	    pthread_setspecific(hmac_key, t) != 0) {
		hmac_tls_free(t);
		return NULL;
	}
	return t;
}

static int
hmac_sha256(const struct sign_key *k, const char *msg, size_t n,
    unsigned char out[32])
{
	OSSL_PARAM	 params[2];
	struct hmac_tls	*t;
	size_t		 outlen = 0;

	if ((t = hmac_tls_get()) == NULL)
		return -1;
	if (t->keylen == k->keylen && memcmp(t->key, k->key, k->keylen) == 0) {
		/* A NULL key re-uses the key the context already holds. */
		if (EVP_MAC_init(t->ctx, NULL, 0, NULL) != 1)
			return -1;
	} else {
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)"SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		t->keylen = 0;
		if (EVP_MAC_init(t->ctx, k->key, k->keylen, params) != 1)
			return -1;
		memcpy(t->key, k->key, k->keylen);
		t->keylen = k->keylen;
	}
	if (EVP_MAC_update(t->ctx, (const unsigned char *)msg, n) != 1 ||
	    EVP_MAC_final(t->ctx, out, &outlen, 32) != 1 || outlen != 32)
		return -1;
	return 0;
}

int
sign_compute(const struct sign_key *k, const char *method, const char *path,
    int64_t expires, char out[SIGN_SIG_LEN + 1])
{
	char		 msg[1024];
	unsigned char	 mac[32];
	int		 n;

	n = snprintf(msg, sizeof(msg), "%s\n%s\n%lld\n%s", method, path,
	    (long long)expires, k->id);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -1;
	if (hmac_sha256(k, msg, (size_t)n, mac) != 0)
		return -1;
	b64url_encode(mac, 32, out);
	return 0;
}

/* Append BASE PATH ?expires=..&kid=..&signature=.. to out. */
int
sign_url(const struct signer *s, const char *base, const char *path,
    int64_t expires, struct buf *out)
{
	const struct sign_key *k = &s->keys[s->current];
	char		 sig[SIGN_SIG_LEN + 1];

	if (sign_compute(k, "GET", path, expires, sig) != 0)
		return -1;
	buf_printf(out, "%s%s?expires=%lld&kid=%s&signature=%s", base, path,
	    (long long)expires, k->id, sig);
	return out->failed ? -1 : 0;
}

enum sign_rc
sign_verify(const struct signer *s, const char *method, const char *path,
    const char *expires, const char *kid, const char *sig, time_t now)
{
	const struct sign_key *k = NULL;
	char		 want[SIGN_SIG_LEN + 1];
	int64_t		 exp;
	size_t		 i;

	if (expires == NULL || kid == NULL || sig == NULL)
		return SIGN_INVALID;
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	if (strcmp(method, "GET") != 0)
		return SIGN_INVALID;
	if (parse_int64(expires, 0, INT64_MAX, &exp) != PARSE_OK)
		return SIGN_INVALID;
	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].id, kid) == 0)
			k = &s->keys[i];
	if (k == NULL || strlen(sig) != SIGN_SIG_LEN)
		return SIGN_INVALID;
	if (sign_compute(k, method, path, exp, want) != 0)
		return SIGN_INVALID;
	if (CRYPTO_memcmp(want, sig, SIGN_SIG_LEN) != 0)
		return SIGN_INVALID;
	if (exp < (int64_t)now)
		return SIGN_EXPIRED;
	return SIGN_OK;
}
