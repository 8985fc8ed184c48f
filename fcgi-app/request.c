/*
 * request.c -- the request envelope: from an accepted FastCGI request to a
 * routed handler call, and the cleanup after it.
 *
 * The routing path is DOCUMENT_URI (nginx's decoded, normalised $uri, which
 * inside the auth subrequest is "/_auth").  The caller's identity arrives
 * only as the DOCKET_USER and DOCKET_ROLE params that nginx sets from the
 * auth_request answer; a client header can never produce those names, as
 * FastCGI turns headers into HTTP_* params.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "docket.h"

const char *
req_param(const struct req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgi->envp);
}

int
req_is_admin(const struct req *r)
{
	return r->role == ROLE_ADMIN;
}

/*
 * The public base URL for absolute links: base_url from the config, else
 * scheme and Host of this request.
 */
int
req_base_url(const struct req *r, struct buf *b)
{
	const char	*host, *https;

	if (r->app->cfg->base_url[0] != '\0')
		return buf_puts(b, r->app->cfg->base_url);
	host = req_param(r, "HTTP_HOST");
	https = req_param(r, "HTTPS");
	if (host == NULL || *host == '\0' || strpbrk(host, "/\\ \"") != NULL)
		host = "localhost";
	return buf_printf(b, "%s://%.255s",
	    (https != NULL && *https != '\0') ? "https" : "http", host);
}

/*
 * Has nginx closed this request's connection?  It does when the client goes
 * away (fastcgi_ignore_client_abort off), and a long-poll must then not
 * lease a job that nobody will receive.
 */
int
req_peer_closed(const struct req *r)
{
	struct pollfd	 p = { .fd = r->fcgi->ipcFd,
			       .events = POLLIN | POLLRDHUP };

	if (poll(&p, 1, 0) <= 0)
		return 0;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static enum role
role_parse(const char *s)
{
	if (s == NULL)
		return ROLE_NONE;
	if (strcmp(s, "user") == 0)
		return ROLE_USER;
	if (strcmp(s, "admin") == 0)
		return ROLE_ADMIN;
	if (strcmp(s, "worker") == 0)
		return ROLE_WORKER;
	return ROLE_NONE;
}

/* Identity from nginx; 0 when absent or malformed (never trusted half-way). */
static int
req_identity(struct req *r)
{
	int64_t		 uid;

	if (parse_int64(req_param(r, "DOCKET_USER"), 1, INT64_MAX, &uid) !=
	    PARSE_OK)
		return -1;
	if ((r->role = role_parse(req_param(r, "DOCKET_ROLE"))) == ROLE_NONE)
		return -1;
	r->user_id = uid;
	r->queues = req_param(r, "DOCKET_QUEUES");
	return 0;
}

/*
 * Read the request body into b, at most max bytes.  The stream is read to
 * its end even when the body is too large, so that the connection stays
 * usable for nginx's next request.
 */
enum body_rc
req_read_body(struct req *r, size_t max, struct buf *b)
{
	char	 chunk[8192];
	int	 n;
	int	 too_large = 0;

	while ((n = FCGX_GetStr(chunk, sizeof(chunk), r->fcgi->in)) > 0) {
		if (too_large || b->len + (size_t)n > max) {
			too_large = 1;
			continue;
		}
		if (buf_append(b, chunk, (size_t)n) != 0)
			return BODY_READ_ERROR;
	}
	if (FCGX_GetError(r->fcgi->in) != 0)
		return BODY_READ_ERROR;
	return too_large ? BODY_TOO_LARGE : BODY_OK;
}

/*
 * An error docketd answers before any handler runs, in the form of the
 * surface the path belongs to: Django REST Framework's {"detail": ...}
 * under /batches/ (seed 003), {"message": ...} everywhere else.
 */
static void
envelope_error(struct req *r, int drf, int status, const char *message)
{
	if (drf)
		resp_detail(r, status, message);
	else
		resp_error(r, status, message, NULL);
}

void
request_handle(struct app *app, FCGX_Request *fr, struct buf *out)
{
	const struct route *rt = NULL;
	struct req	 r;
	char		 allow[128], hdr[160], msg[64];
	struct jw	 w;
	int		 drf;	/* seed 003 speaks Django REST Framework */

	memset(&r, 0, sizeof(r));
	r.fcgi = fr;
	r.app = app;
	r.out = out;
	buf_reset(out);
	r.method = req_param(&r, "REQUEST_METHOD");
	r.path = req_param(&r, "DOCUMENT_URI");
	if (r.method == NULL)
		r.method = "GET";
	if (r.path == NULL)
		r.path = "/";

	drf = strncmp(r.path, "/batches/", 9) == 0;
	switch (route_match(r.method, r.path, &rt, allow, sizeof(allow))) {
	case ROUTE_NOT_FOUND:
		envelope_error(&r, drf, 404, drf ? "Not found." : "Not found");
		goto out;
	case ROUTE_BAD_METHOD:
		snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
		buf_reset(out);
		jw_init(&w, out);
		jw_obj_open(&w);
		if (drf) {
			snprintf(msg, sizeof(msg), "Method \"%.16s\" not "
			    "allowed.", r.method);
			jw_kstr(&w, "detail", msg);
		} else
			jw_kstr(&w, "message", "Method not allowed");
		jw_obj_close(&w);
		resp_json(&r, 405, hdr);
		goto out;
	case ROUTE_FOUND:
		break;
	}

	switch (query_parse(&r.query, req_param(&r, "QUERY_STRING"))) {
	case QUERY_OK:
		break;
	case QUERY_TOO_LONG:
		envelope_error(&r, drf, 414, "The query string is too long");
		goto out;
	case QUERY_TOO_MANY:
		envelope_error(&r, drf, 400, "Too many query parameters");
		goto out;
	case QUERY_BAD_ENCODING:
		envelope_error(&r, drf, 400, "The query string is not valid "
		    "percent-encoding");
		goto out;
	}

	/*
	 * nginx always sets the identity on authenticated locations; reaching
	 * one without it means a misconfigured proxy, and we deny.  Worker
	 * tokens lease and finish jobs and see nothing else.
	 */
	if (rt->access != ACCESS_PUBLIC && req_identity(&r) != 0) {
		envelope_error(&r, drf, 401, drf ? "Invalid token." :
		    "Unauthorized");
		goto out;
	}
	if (r.role == ROLE_WORKER && rt->access != ACCESS_LEASE) {
		envelope_error(&r, drf, 403, "Worker tokens may only lease, "
		    "heartbeat and finish jobs");
		goto out;
	}
	rt->fn(&r);
	if (!r.responded) {
		log_msg(LOG_ERR, "%s %s: handler sent no response", r.method,
		    r.path);
		envelope_error(&r, drf, 500, "Internal server error");
	}
out:
	db_release(&r);
}
