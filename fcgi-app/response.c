/*
 * response.c -- the single writer of responses.
 *
 * Every byte docketd sends goes through resp_send: the status line, the
 * Content-Type and Content-Length, any extra headers, then the body.  A
 * handler answers exactly once; a second answer is a bug and is dropped
 * with a log line rather than corrupting the stream.
 */
#include <stdio.h>
#include <string.h>

#include "docket.h"

static const struct {
	int		 code;
	const char	*reason;
} reasons[] = {
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 204, "No Content" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 409, "Conflict" },
	{ 413, "Payload Too Large" },
	{ 414, "URI Too Long" },
	{ 499, "Client Closed Request" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
};

const char *
http_reason(int status)
{
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return "Unknown";
}

/*
 * Write a whole response.  headers, if not NULL, is zero or more complete
 * "Name: value\r\n" lines; ctype NULL means no body headers (204, or an
 * X-Accel-Redirect whose body nginx supplies).
 */
void
resp_send(struct req *r, int status, const char *headers, const char *ctype,
    const char *body, size_t len)
{
	char	 head[512];
	int	 n;

	if (r->responded) {
		log_msg(LOG_ERR, "%s %s: second response dropped", r->method,
		    r->path);
		return;
	}
	r->responded = 1;
	if (ctype != NULL)
		n = snprintf(head, sizeof(head), "Status: %d %s\r\n"
		    "Content-Type: %s\r\nContent-Length: %zu\r\n", status,
		    http_reason(status), ctype, len);
	else
		n = snprintf(head, sizeof(head), "Status: %d %s\r\n", status,
		    http_reason(status));
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	FCGX_PutStr(head, n, r->fcgi->out);
	if (headers != NULL)
		FCGX_PutS(headers, r->fcgi->out);
	FCGX_PutStr("\r\n", 2, r->fcgi->out);
	if (len > 0 && strcmp(r->method, "HEAD") != 0)
		FCGX_PutStr(body, (int)len, r->fcgi->out);
}

/* Send r->out as the JSON body; a buffer that overflowed is a 500. */
void
resp_json(struct req *r, int status, const char *headers)
{
	if (r->out->failed) {
		buf_reset(r->out);
		resp_error(r, 500, "Internal server error: response too large",
		    NULL);
		return;
	}
	resp_send(r, status, headers, "application/json", buf_cstr(r->out),
	    r->out->len);
}

/*
 * A JSON error body: {"message": ...} and, when value is not NULL, one more
 * member naming what was wrong.  Each surface picks the key its document
 * uses (seed 001: "affected_query_parameter"; the queue: "field").  Reuses
 * r->out.
 */
void
resp_error_detail(struct req *r, int status, const char *message,
    const char *key, const char *value)
{
	struct jw	 w;

	buf_reset(r->out);
	jw_init(&w, r->out);
	jw_obj_open(&w);
	jw_kstr(&w, "message", message);
	if (value != NULL)
		jw_kstr(&w, key, value);
	jw_obj_close(&w);
	resp_send(r, status, NULL, "application/json", buf_cstr(r->out),
	    r->out->len);
}

/* The error body of the jobs surface (seed 001) and of docketd's own
 * answers (404, 405, 401). */
void
resp_error(struct req *r, int status, const char *message, const char *param)
{
	resp_error_detail(r, status, message, "affected_query_parameter",
	    param);
}

/* The error body of the batches surface (seed 003, Django REST Framework):
 * {"detail": ...}.  Reuses r->out. */
void
resp_detail(struct req *r, int status, const char *detail)
{
	struct jw	 w;

	buf_reset(r->out);
	jw_init(&w, r->out);
	jw_obj_open(&w);
	jw_kstr(&w, "detail", detail);
	jw_obj_close(&w);
	resp_send(r, status, NULL, "application/json", buf_cstr(r->out),
	    r->out->len);
}
