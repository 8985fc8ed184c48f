/*
 * buf.c -- bounded byte buffers, the JSON writer, and hex/base64url.
 *
 * Every response body and every URL docket builds goes through a struct buf
 * with a hard maximum, so no input can make docketd allocate without bound.
 * Failures are sticky (buf->failed): a writer appends freely and checks once
 * at the end, which keeps handlers free of per-call error checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docket.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Keep the allocation: a worker thread reuses one buffer per request. */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/*
 * Grow so that extra more bytes (and the NUL) fit.  The capacity never goes
 * past max + 1, so the fast path in buf_reserve needs no max check.
 */
static int
buf_grow(struct buf *b, size_t extra)
{
	size_t	 need, ncap;
	char	*p;

	if (b->failed)
		return -1;
	if (extra > b->max || b->len > b->max - extra) {
		b->failed = 1;
		return -1;
	}
	need = b->len + extra + 1;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if ((p = realloc(b->data, ncap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->cap = ncap;
	return 0;
}

/* Room for extra bytes plus the NUL: the common case is one comparison. */
static inline int
buf_reserve(struct buf *b, size_t extra)
{
	if (!b->failed && extra < b->cap - b->len)
		return 0;
	return buf_grow(b, extra);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, char c)
{
	if (buf_reserve(b, 1) != 0)
		return -1;
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	char	 small[256];

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return -1;
	}
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	if (buf_reserve(b, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

/* ---- JSON writer -------------------------------------------------------- */

void
jw_init(struct jw *w, struct buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

/* Emit the separator a new value needs at the current position. */
static void
jw_sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->depth > 0 && w->need_comma[w->depth - 1])
		buf_putc(w->b, ',');
	if (w->depth > 0)
		w->need_comma[w->depth - 1] = 1;
}

static void
jw_open(struct jw *w, char c)
{
	jw_sep(w);
	if (w->depth >= JW_MAXDEPTH) {
		w->b->failed = 1;
		return;
	}
	buf_putc(w->b, c);
	w->need_comma[w->depth++] = 0;
}

static void
jw_close(struct jw *w, char c)
{
	if (w->depth == 0) {
		w->b->failed = 1;
		return;
	}
	w->depth--;
	buf_putc(w->b, c);
}

void jw_obj_open(struct jw *w) { jw_open(w, '{'); }
void jw_obj_close(struct jw *w) { jw_close(w, '}'); }
void jw_arr_open(struct jw *w) { jw_open(w, '['); }
void jw_arr_close(struct jw *w) { jw_close(w, ']'); }

/* Bytes that JSON strings must escape: controls, quote, backslash. */
static const unsigned char json_escape[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
};

/* The length of s as a JSON string, quotes included. */
static size_t
escaped_len(const char *s, size_t n)
{
	size_t	 i, len = 2;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (!json_escape[c])
			len += 1;
		else if (c == '"' || c == '\\' || c == '\n' || c == '\r' ||
		    c == '\t')
			len += 2;
		else
			len += 6;
	}
	return len;
}

/*
 * Write a JSON string.  Control characters are escaped; bytes >= 0x80 are
 * copied as they are (the database holds UTF-8 only).  The worst case (every
 * byte a \u00XX) is reserved once, so the loop writes straight into the
 * buffer: this is the hottest loop of every listing.
 */
static void
jw_escape(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	  c;
	char		 *o;
	size_t		  i, run, need;

	/* Near the buffer's max, the worst case may not fit where the real
	 * string does: then count exactly. */
	if (n <= (SIZE_MAX - 2) / 6 && n * 6 + 2 <= b->max - b->len)
		need = n * 6 + 2;
	else
		need = escaped_len(s, n);
	if (buf_reserve(b, need) != 0)
		return;
	o = b->data + b->len;
	*o++ = '"';
	for (i = 0; i < n; i++) {
		/* Copy the run up to the next byte that needs escaping. */
		run = i;
		while (i < n && !json_escape[(unsigned char)s[i]])
			i++;
		memcpy(o, s + run, i - run);
		o += i - run;
		if (i == n)
			break;
		c = (unsigned char)s[i];
		*o++ = '\\';
		switch (c) {
		case '"':  *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u'; *o++ = '0'; *o++ = '0';
			*o++ = hex[c >> 4]; *o++ = hex[c & 0xf];
			break;
		}
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->data);
}

void
jw_key(struct jw *w, const char *k)
{
	jw_sep(w);
	jw_escape(w->b, k, strlen(k));
	buf_putc(w->b, ':');
	w->after_key = 1;
}

/* lit is the key already quoted and followed by ':' (see JW_KEY). */
void
jw_key_lit(struct jw *w, const char *lit, size_t len)
{
	jw_sep(w);
	buf_append(w->b, lit, len);
	w->after_key = 1;
}

void
jw_strn(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	jw_escape(w->b, s, n);
}

void
jw_str(struct jw *w, const char *s)
{
	if (s == NULL) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

void
jw_int(struct jw *w, int64_t v)
{
	jw_sep(w);
	buf_printf(w->b, "%lld", (long long)v);
}

void
jw_null(struct jw *w)
{
	jw_sep(w);
	buf_append(w->b, "null", 4);
}

void
jw_bool(struct jw *w, int v)
{
	jw_sep(w);
	buf_puts(w->b, v ? "true" : "false");
}

void
jw_raw(struct jw *w, const char *json)
{
	jw_sep(w);
	buf_puts(w->b, json);
}

/*
 * "YYYY-MM-DD HH:MM:SS[.f{1,6}]+00" -> "YYYY-MM-DDTHH:MM:SS.ffffffZ".  The
 * session's TimeZone is UTC (db.c), so the zone is always +00; anything
 * else is passed through quoted rather than guessed at.
 */
void
jw_time_iso(struct jw *w, const char *pg)
{
	char		 out[32];
	size_t		 n, i, f;

	if (pg == NULL) {
		jw_null(w);
		return;
	}
	n = strlen(pg);
	if (n < 22 || n > 29 || pg[10] != ' ' || strcmp(pg + n - 3, "+00")
	    != 0) {
		jw_str(w, pg);
		return;
	}
	memcpy(out, pg, 19);
	out[10] = 'T';
	out[19] = '.';
	f = 0;
	if (pg[19] == '.')
		for (i = 20; i < n - 3 && f < 6; i++)
			out[20 + f++] = pg[i];
	while (f < 6)
		out[20 + f++] = '0';
	out[26] = 'Z';
	jw_strn(w, out, 27);
}

void
jw_kstr(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	jw_str(w, v);
}

void
jw_kint(struct jw *w, const char *k, int64_t v)
{
	jw_key(w, k);
	jw_int(w, v);
}

/* ---- encoders ------------------------------------------------------------ */

void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t		  i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Returns 0 and sets *outlen, or -1 for odd length, bad digits or no room. */
int
hex_decode(const char *s, unsigned char *out, size_t outcap, size_t *outlen)
{
	size_t	 n = strlen(s), i;
	int	 hi, lo;

	if (n % 2 != 0 || n / 2 > outcap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		hi = hex_nibble(s[2 * i]);
		lo = hex_nibble(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

/* RFC 4648 section 5, without padding; out needs B64URL_LEN(n) + 1 bytes. */
void
b64url_encode(const unsigned char *in, size_t n, char *out)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t		  i, o = 0;
	uint32_t	  v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = tbl[v >> 6 & 63];
		out[o++] = tbl[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = tbl[v >> 6 & 63];
	}
	out[o] = '\0';
}
