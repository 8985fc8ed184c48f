/*
 * token.c -- API tokens: generation and the hash stored in PostgreSQL.
 *
 * A token is "dkt_" followed by 32 random bytes in base64url.  Only its
 * SHA-256 is stored (api_tokens.token_hash), passed to PostgreSQL as a
 * bytea literal in hex form.  With 256 bits of randomness a salted slow
 * hash buys nothing, and a fast one keeps /_auth cheap.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "docket.h"

int
token_generate(char out[TOKEN_LEN + 1])
{
	unsigned char	 raw[32];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	memcpy(out, TOKEN_PREFIX, 4);
	b64url_encode(raw, sizeof(raw), out + 4);
	return 0;
}

/* out receives "\x" followed by 64 hex digits: PostgreSQL's bytea text. */
void
token_hash_bytea(const char *token, char out[2 + 64 + 1])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)token, strlen(token), md);
	out[0] = '\\';
	out[1] = 'x';
	hex_encode(md, sizeof(md), out + 2);
}

/* A random (version 4) UUID in canonical lower-case form. */
int
uuid_generate_v4(char out[UUID_STR_LEN + 1])
{
	unsigned char	 b[16];
	char		 hex[33];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	hex_encode(b, sizeof(b), hex);
	snprintf(out, UUID_STR_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex,
	    hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}
