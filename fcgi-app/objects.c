/*
 * objects.c -- GET/HEAD /objects/<job-uuid>/<object>[/full|/min]: presigned
 * downloads, served without a token.
 *
 * The signature is checked first (constant time, sign.c), then the object
 * is looked up in PostgreSQL, so a URL for a deleted job is a 404 and never
 * reaches the disk.  The answer is an X-Accel-Redirect to nginx's internal
 * /_store/ location, built only from the validated uuid and name: nginx then
 * sends the bytes with sendfile and handles Range.  Content-Disposition
 * carries the original file name, in the quoted form for old clients and
 * RFC 5987's filename* for the exact UTF-8 name.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "docket.h"

static void
forbidden(struct req *r, const char *why)
{
	resp_error(r, 403, why, NULL);
}

/* Percent-encode for filename*= (RFC 5987 attr-char is kept as is). */
static void
rfc5987(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	  c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c))
			buf_putc(b, (char)c);
		else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

void
h_object_get(struct req *r)
{
	struct object_ref ref;
	const char	*params[3];
	char		 ascii[256];
	PGresult	*res = NULL;
	enum db_rc	 rc;
	const char	*orig, *ctype;
	size_t		 i;

	if (object_path_parse(r->path, &ref) != 0) {
		resp_error(r, 404, "Not found", NULL);
		return;
	}
	switch (sign_verify(&r->app->signer, r->method, r->path,
	    query_get(&r->query, "expires", NULL),
	    query_get(&r->query, "kid", NULL),
	    query_get(&r->query, "signature", NULL), time(NULL))) {
	case SIGN_OK:
		break;
	case SIGN_EXPIRED:
		forbidden(r, "Forbidden: the URL has expired");
		return;
	default:
		forbidden(r, "Forbidden: invalid signature");
		return;
	}

	params[0] = ref.job_uuid;
	params[1] = ref.name;
	params[2] = object_kind_name(ref.kind);
	if (ref.kind == OBJECT_ORIGINAL)
		rc = db_exec(r, STMT_OBJECT_FETCH, 2, params, &res);
	else
		rc = db_exec(r, STMT_RESULT_FETCH, 3, params, &res);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		resp_error(r, 404, "The object does not exist", NULL);
		return;
	}
	orig = PQgetvalue(res, 0, 0);
	ctype = ref.kind == OBJECT_ORIGINAL ? PQgetvalue(res, 0, 1) :
	    "application/json";

	/* Headers go in r->out; there is no body of ours to send. */
	buf_reset(r->out);
	if (ref.kind == OBJECT_ORIGINAL)
		buf_printf(r->out, "X-Accel-Redirect: /_store/%s/%s\r\n",
		    ref.job_uuid, ref.name);
	else
		buf_printf(r->out, "X-Accel-Redirect: /_store/%s/results/"
		    "%s.%s.json\r\n", ref.job_uuid, ref.name,
		    object_kind_name(ref.kind));
	buf_printf(r->out, "Content-Type: %.100s\r\n", ctype);
	for (i = 0; orig[i] != '\0' && i + 1 < sizeof(ascii); i++)
		ascii[i] = ((unsigned char)orig[i] < 0x20 ||
		    (unsigned char)orig[i] >= 0x7f || orig[i] == '"' ||
		    orig[i] == '\\') ? '_' : orig[i];
	ascii[i] = '\0';
	buf_printf(r->out, "Content-Disposition: attachment; filename=\"%s%s\""
	    "; filename*=UTF-8''", ascii,
	    ref.kind == OBJECT_ORIGINAL ? "" :
	    ref.kind == OBJECT_FULL ? ".full.json" : ".min.json");
	rfc5987(r->out, orig);
	if (ref.kind != OBJECT_ORIGINAL)
		buf_puts(r->out, ref.kind == OBJECT_FULL ? ".full.json" :
		    ".min.json");
	buf_puts(r->out, "\r\nCache-Control: private, no-store\r\n");
	PQclear(res);
	if (r->out->failed) {
		resp_error(r, 500, "Internal server error", NULL);
		return;
	}
	resp_send(r, 200, buf_cstr(r->out), NULL, NULL, 0);
}
