/*
 * auth.c -- /_auth, the target of nginx's auth_request, and /healthz.
 *
 * /_auth answers 204 with X-Docket-User, X-Docket-Role and X-Docket-Queues
 * (a worker token's queues, comma-separated; empty otherwise) for a live token
 * (not revoked, not expired), 401 {"message": "Unauthorized"} otherwise, and
 * 503 when the database cannot say.  nginx caches the 204 answers for a few
 * seconds keyed by the token headers (see nginx/docket.conf.in), which is
 * the revocation delay documented in the README.
 */
#include <stdio.h>

#include "docket.h"

void
h_auth(struct req *r)
{
	char		 token[TOKEN_MAX_LEN + 1], hash[2 + 64 + 1];
	char		 hdr[128 + WAIT_MAX_QUEUES * 130];
	const char	*params[1];
	PGresult	*res = NULL;
	enum db_rc	 rc;
	int		 n;

	if (token_from_headers(req_param(r, "HTTP_AUTHORIZATION"),
	    req_param(r, "HTTP_X_API_TOKEN"), token, sizeof(token)) != 0)
		goto unauthorized;
	token_hash_bytea(token, hash);
	params[0] = hash;
	if ((rc = db_exec(r, STMT_AUTH, 1, params, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1)
		goto unauthorized;
	/* Queue names are plain words (sql/003_queue.sql), safe in a header. */
	n = snprintf(hdr, sizeof(hdr), "X-Docket-User: %.20s\r\n"
	    "X-Docket-Role: %.10s\r\nX-Docket-Queues: %s\r\n",
	    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	    PQgetvalue(res, 0, 2));
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		PQclear(res);
		resp_error(r, 500, "Internal server error", NULL);
		return;
	}
	PQclear(res);
	resp_send(r, 204, hdr, NULL, NULL, 0);
	return;
unauthorized:
	PQclear(res);
	resp_error(r, 401, "Unauthorized", NULL);
}

/* 200 when this worker can reach PostgreSQL, else 503. */
void
h_healthz(struct req *r)
{
	PGresult	*res = NULL;

	if (db_exec(r, STMT_PING, 0, NULL, &res) != DB_OK) {
		buf_puts(r->out, "{\"status\":\"unavailable\"}");
		resp_json(r, 503, NULL);
		return;
	}
	PQclear(res);
	buf_puts(r->out, "{\"status\":\"ok\"}");
	resp_json(r, 200, NULL);
}
