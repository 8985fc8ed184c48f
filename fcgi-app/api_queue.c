/*
 * api_queue.c -- the job queue of seed 002 under /api/v1/queue/:
 * enqueue, get (with X-Accepted-Wait-Result), want_job (with
 * X-Accepted-Block-For), update (heartbeat and finish) and delete.
 *
 * The state changes are SQL functions (sql/003_queue.sql); this file
 * validates input, maps the caller to a scope, waits, and answers.  Every
 * job in an answer is rendered by queue_job_json() in PostgreSQL, the same
 * text a callback carries.
 *
 * Scope: a user token sees and leases its own jobs, an admin token every
 * job, a worker token leases, heartbeats and finishes jobs of any user on
 * its queues (nginx passes them as DOCKET_QUEUES; request.c keeps worker
 * tokens away from every other route).
 *
 * Errors are {"message": ..., "field": ...}: seed 002 shows no error body,
 * so this is the shape of nginx's own JSON errors plus the name of the
 * header or body field at fault.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "docket.h"

#define QUEUE_PREFIX	"/api/v1/queue/jobs/"
#define JSON_MAX_DEPTH	64

/* Who the caller is, as the SQL functions' scope arguments. */
struct scope {
	char		 user[24];
	const char	*user_p;		/* NULL: any owner */
	char		 queues[WAIT_MAX_QUEUES * 130 + 3];
	const char	*queues_p;		/* NULL: any queue */
	const char	*names[WAIT_MAX_QUEUES];	/* into names_store */
	size_t		 nnames;
	char		 names_store[WAIT_MAX_QUEUES * 130];
};

static void
q_error(struct req *r, int status, const char *message, const char *field)
{
	resp_error_detail(r, status, message, "field", field);
}

/* A 400 from PostgreSQL here means it refused the body's JSON (jsonb is
 * stricter than json-c about \u0000 and lone surrogates). */
static void
q_db_error(struct req *r, enum db_rc rc)
{
	int	 status = db_http_status(rc);

	q_error(r, status, status == 400 ? "The request body is not valid "
	    "JSON for this request" : db_error_message(status), NULL);
}

/*
 * An X-Accepted-* header (FastCGI param HTTP_X_ACCEPTED_*) as a whole number
 * of seconds in [min, max].  Returns 1 when absent, 0 when *out is set, -1
 * after answering 400.
 */
static int
header_int(struct req *r, const char *param, const char *name, int64_t min,
    int64_t max, int64_t *out)
{
	const char	*v = req_param(r, param);
	char		 msg[160];

	if (v == NULL)
		return 1;
	if (parse_int64(v, min, max, out) == PARSE_OK)
		return 0;
	snprintf(msg, sizeof(msg), "%s must be a whole number from %lld to "
	    "%lld", name, (long long)min, (long long)max);
	q_error(r, 400, msg, name);
	return -1;
}

static void
int_text(char out[24], int64_t v)
{
	snprintf(out, 24, "%lld", (long long)v);
}

/*
 * Read and parse a JSON object body.  *obj is owned by the caller (put it
 * with json_object_put).  An empty body gives *obj = NULL when !required.
 * Returns 0, or -1 after answering 400/413.
 */
static int
read_json_object(struct req *r, struct buf *body, int required,
    struct json_object **obj)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	size_t		 end;
	char		 msg[160];

	*obj = NULL;
	switch (req_read_body(r, (size_t)r->app->cfg->queue_body_max, body)) {
	case BODY_OK:
		break;
	case BODY_TOO_LARGE:
		snprintf(msg, sizeof(msg), "The request body is larger than "
		    "%ld bytes", r->app->cfg->queue_body_max);
		q_error(r, 413, msg, NULL);
		return -1;
	case BODY_READ_ERROR:
		q_error(r, 400, "The request body could not be read", NULL);
		return -1;
	}
	if (body->len == 0 || strspn(buf_cstr(body), " \t\r\n") == body->len) {
		if (!required)
			return 0;
		q_error(r, 400, "A JSON object body is required", "body");
		return -1;
	}
	if (!json_syntax_ok(body->data, body->len, JSON_MAX_DEPTH) ||
	    (tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL)
		goto bad;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, body->data, (int)body->len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto bad;
	end = json_tokener_get_parse_end(tok);
	if (end < body->len && strspn(body->data + end, " \t\r\n") !=
	    body->len - end)
		goto bad;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		json_tokener_free(tok);
		q_error(r, 400, "The request body must be a JSON object",
		    "body");
		return -1;
	}
	json_tokener_free(tok);
	*obj = o;
	return 0;
bad:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	q_error(r, 400, "The request body is not valid JSON", "body");
	return -1;
}

/* Refuse body fields this route does not know: typos must not pass. */
static int
check_fields(struct req *r, struct json_object *o,
    const char *const *allowed)
{
	char		 msg[160];
	size_t		 i;

	if (o == NULL)
		return 0;
	json_object_object_foreach(o, key, val) {
		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		snprintf(msg, sizeof(msg), "Unknown field \"%.64s\"", key);
		q_error(r, 400, msg, "body");
		return -1;
	}
	return 0;
}

/* The uuid at the end of /api/v1/queue/jobs/<uuid>; 404 when malformed. */
static int
path_uuid(struct req *r, char out[UUID_STR_LEN + 1])
{
	const char	*id = r->path + strlen(QUEUE_PREFIX);

	if (!uuid_valid(id, strlen(id))) {
		q_error(r, 404, "The job does not exist", NULL);
		return -1;
	}
	memcpy(out, id, UUID_STR_LEN + 1);
	return 0;
}

/* Add a queue name to the scope's list; -1 after answering 400. */
static int
scope_add_queue(struct req *r, struct scope *s, const char *name, size_t n,
    const char *field)
{
	size_t	 used = 0, i;
	char	 msg[160];

	if (!queue_name_valid(name, n)) {
		snprintf(msg, sizeof(msg), "A queue name is 1 to 128 letters, "
		    "digits and ._:- starting with a letter or digit");
		q_error(r, 400, msg, field);
		return -1;
	}
	for (i = 0; i < s->nnames; i++)
		if (strlen(s->names[i]) == n &&
		    memcmp(s->names[i], name, n) == 0)
			return 0;
	if (s->nnames == WAIT_MAX_QUEUES) {
		snprintf(msg, sizeof(msg), "At most %d queues may be named",
		    WAIT_MAX_QUEUES);
		q_error(r, 400, msg, field);
		return -1;
	}
	for (i = 0; i < s->nnames; i++)
		used += strlen(s->names[i]) + 1;
	memcpy(s->names_store + used, name, n);
	s->names_store[used + n] = '\0';
	s->names[s->nnames++] = s->names_store + used;
	return 0;
}

/* "{a,b}": queue names need no quoting (queue_name_valid). */
static void
scope_queues_literal(struct scope *s)
{
	size_t	 i, used = 0;

	s->queues_p = NULL;
	if (s->nnames == 0)
		return;
	s->queues[used++] = '{';
	for (i = 0; i < s->nnames; i++) {
		used += (size_t)snprintf(s->queues + used,
		    sizeof(s->queues) - used, "%s%s", i ? "," : "",
		    s->names[i]);
	}
	s->queues[used++] = '}';
	s->queues[used] = '\0';
	s->queues_p = s->queues;
}

/*
 * A worker token's queues from nginx ("a,b"; empty: every queue) into s.
 * Returns -1 after answering 500 on a malformed list (a proxy bug).
 */
static int
scope_worker_queues(struct req *r, struct scope *s)
{
	const char	*p = r->queues, *comma;
	size_t		 n;

	if (p == NULL)
		return 0;
	while (*p != '\0') {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n > 0 && scope_add_queue(r, s, p, n, "DOCKET_QUEUES") != 0)
			return -1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* The owner part of the scope: users see their own jobs only. */
static void
scope_owner(const struct req *r, struct scope *s)
{
	memset(s, 0, sizeof(*s));
	if (r->role == ROLE_USER) {
		int_text(s->user, r->user_id);
		s->user_p = s->user;
	}
}

/*
 * Wake waiters: after the commit, in a statement of its own, and only when
 * some thread of this docketd waits for that kind of news (waiter.c; the
 * top of sql/003_queue.sql says why not inside the transaction).  A failed
 * NOTIFY costs a waiter its early wake-up, not the job: it looks again at
 * its deadline.
 */
static void
notify(struct req *r, enum wait_kind kind, const char *payload)
{
	const char	*params[2];
	PGresult	*res = NULL;

	if (!r->app->cfg->queue_notify_always && !waiter_any(kind))
		return;
	params[0] = kind == WAIT_JOB ? "docket_queue" : "docket_done";
	params[1] = payload;
	if (db_exec(r, STMT_Q_NOTIFY, 2, params, &res) == DB_OK)
		PQclear(res);
}

static void
deadline_in(struct timespec *ts, int64_t seconds)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)seconds;
}

static int
deadline_passed(const struct timespec *ts)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec ||
	    (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

/*
 * Between two looks of a long-poll: give the pool connection back, sleep
 * until woken or the deadline, and set *last when the next look is the
 * final one (deadline passed, or the worker is stopping).  A client that
 * has gone gets no further look -- a job leased for it would reach nobody --
 * and the wake-up it holds passes to the next waiter in waiter_remove.
 * Returns -1 after answering 499, else 0.
 */
static int
longpoll_wait(struct req *r, struct waiter *w,
    const struct timespec *deadline, int *last)
{
	db_release(r);
	if (waiter_sleep(w, deadline) != WAIT_WOKEN ||
	    deadline_passed(deadline))
		*last = 1;
	if (req_peer_closed(r)) {
		q_error(r, 499, "The client went away", NULL);
		return -1;
	}
	return 0;
}

/*
 * POST /api/v1/queue/jobs {"queue": Q, "params": {...}}
 * 202 with Location and the job.
 */
void
h_queue_enqueue(struct req *r)
{
	static const char *const fields[] = { "queue", "params", NULL };
	const struct config *cfg = r->app->cfg;
	struct json_object *o = NULL, *v;
	struct buf	 body, loc;
	const char	*params[8], *callback;
	char		 user[24], prio[24], delay[24], ttl[24], timeout[24];
	char		 why[160], queue[129], hdr[512], note[160];
	PGresult	*res = NULL;
	enum db_rc	 rc;
	int64_t		 n;
	int		 got;

	buf_init(&body, (size_t)cfg->queue_body_max + 1);
	buf_init(&loc, 512);
	params[5] = params[6] = params[7] = NULL;
	if ((got = header_int(r, "HTTP_X_ACCEPTED_PRIORITY",
	    "X-Accepted-Priority", 0, 3, &n)) < 0)
		goto out;
	int_text(prio, got == 0 ? n : 1);
	if ((got = header_int(r, "HTTP_X_ACCEPTED_DELAY", "X-Accepted-Delay",
	    0, cfg->queue_delay_max, &n)) < 0)
		goto out;
	int_text(delay, got == 0 ? n : 0);
	if ((got = header_int(r, "HTTP_X_ACCEPTED_RESULT_TTL",
	    "X-Accepted-Result-TTL", 0, cfg->queue_ttl_max, &n)) < 0)
		goto out;
	if (got == 0) {
		int_text(ttl, n);
		params[5] = ttl;
	}
	if ((got = header_int(r, "HTTP_X_ACCEPTED_JOB_TIMEOUT",
	    "X-Accepted-Job-Timeout", 1, cfg->queue_job_timeout_max, &n)) < 0)
		goto out;
	if (got == 0) {
		int_text(timeout, n);
		params[6] = timeout;
	}
	if ((callback = req_param(r, "HTTP_X_ACCEPTED_CALLBACK_URL")) != NULL) {
		if (callback_url_check(callback, cfg->callback_allow_nets, why,
		    sizeof(why)) != CB_URL_OK) {
			q_error(r, 400, why, "X-Accepted-Callback-URL");
			goto out;
		}
		params[7] = callback;
	}

	if (read_json_object(r, &body, 1, &o) != 0 ||
	    check_fields(r, o, fields) != 0)
		goto out;
	if (!json_object_object_get_ex(o, "queue", &v)) {
		q_error(r, 400, "The queue field is missing", "queue");
		goto out;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    !queue_name_valid(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v))) {
		q_error(r, 400, "queue must be a string of 1 to 128 letters, "
		    "digits and ._:- starting with a letter or digit", "queue");
		goto out;
	}
	snprintf(queue, sizeof(queue), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "params", &v) && v != NULL &&
	    !json_object_is_type(v, json_type_object)) {
		q_error(r, 400, "params must be a JSON object", "params");
		goto out;
	}

	int_text(user, r->user_id);
	params[0] = user;
	params[1] = queue;
	params[2] = buf_cstr(&body);
	params[3] = prio;
	params[4] = delay;
	if ((rc = db_exec(r, STMT_Q_ENQUEUE, 8, params, &res)) != DB_OK) {
		q_db_error(r, rc);
		goto out;
	}
	req_base_url(r, &loc);
	buf_printf(&loc, QUEUE_PREFIX "%s", PQgetvalue(res, 0, 1));
	if (loc.failed) {
		q_error(r, 500, "Internal server error", NULL);
		goto out;
	}
	snprintf(hdr, sizeof(hdr), "Location: %s\r\n", buf_cstr(&loc));
	buf_puts(r->out, PQgetvalue(res, 0, 0));
	if (strcmp(delay, "0") == 0) {
		snprintf(note, sizeof(note), "%s\t%s", queue, user);
		notify(r, WAIT_JOB, note);
	}
	resp_json(r, 202, hdr);
out:
	PQclear(res);
	json_object_put(o);
	buf_free(&body);
	buf_free(&loc);
}

/*
 * GET /api/v1/queue/jobs/<uuid>, optionally waiting up to
 * X-Accepted-Wait-Result seconds for the job to finish.
 */
void
h_queue_get(struct req *r)
{
	struct scope	 s;
	struct waiter	 w;
	struct timespec	 deadline;
	const char	*params[2];
	char		 uuid[UUID_STR_LEN + 1];
	PGresult	*res = NULL;
	enum db_rc	 rc;
	int64_t		 wait = 0;
	int		 waiting = 0, last = 0;

	if (path_uuid(r, uuid) != 0 ||
	    header_int(r, "HTTP_X_ACCEPTED_WAIT_RESULT",
	    "X-Accepted-Wait-Result", 0, r->app->cfg->queue_wait_max,
	    &wait) < 0)
		return;
	scope_owner(r, &s);
	params[0] = uuid;
	params[1] = s.user_p;
	if (wait > 0) {
		/* Registered before the first look, so no finish is missed. */
		memset(&w, 0, sizeof(w));
		w.kind = WAIT_RESULT;
		memcpy(w.uuid, uuid, sizeof(w.uuid));
		waiter_add(&w);
		waiting = 1;
		deadline_in(&deadline, wait);
	}
	for (;;) {
		if (waiting)
			waiter_consume(&w);
		if ((rc = db_exec(r, STMT_Q_GET, 2, params, &res)) != DB_OK) {
			q_db_error(r, rc);
			goto out;
		}
		if (PQntuples(res) == 0) {
			q_error(r, 404, "The job does not exist", NULL);
			goto out;
		}
		if (!waiting || last || PQgetvalue(res, 0, 1)[0] == 't')
			break;
		PQclear(res);
		res = NULL;
		if (longpoll_wait(r, &w, &deadline, &last) != 0)
			goto out;
	}
	buf_puts(r->out, PQgetvalue(res, 0, 0));
	resp_json(r, 200, NULL);
out:
	PQclear(res);
	if (waiting)
		waiter_remove(&w);
}

/* Queues named in ?queue= and in the body's "queue" (a string or a list). */
static int
want_queues(struct req *r, struct json_object *o, struct scope *s)
{
	struct json_object *v, *e;
	size_t		 i, n;

	for (i = 0; i < r->query.n; i++)
		if (strcmp(r->query.p[i].key, "queue") == 0 &&
		    scope_add_queue(r, s, r->query.p[i].val,
		    strlen(r->query.p[i].val), "queue") != 0)
			return -1;
	if (o == NULL || !json_object_object_get_ex(o, "queue", &v) ||
	    v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return scope_add_queue(r, s, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), "queue");
	if (!json_object_is_type(v, json_type_array))
		goto bad;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string))
			goto bad;
		if (scope_add_queue(r, s, json_object_get_string(e),
		    (size_t)json_object_get_string_len(e), "queue") != 0)
			return -1;
	}
	return 0;
bad:
	q_error(r, 400, "queue must be a queue name or a list of them",
	    "queue");
	return -1;
}

/*
 * A worker token may name only its own queues, and names none to mean all
 * of them.  Returns -1 after answering 403.
 */
static int
want_worker_scope(struct req *r, struct scope *s)
{
	struct scope	 allowed;
	size_t		 i, j;
	char		 msg[200];

	memset(&allowed, 0, sizeof(allowed));
	if (scope_worker_queues(r, &allowed) != 0)
		return -1;
	if (allowed.nnames == 0)
		return 0;
	if (s->nnames == 0) {
		for (i = 0; i < allowed.nnames; i++)
			if (scope_add_queue(r, s, allowed.names[i],
			    strlen(allowed.names[i]), "queue") != 0)
				return -1;
		return 0;
	}
	for (i = 0; i < s->nnames; i++) {
		for (j = 0; j < allowed.nnames; j++)
			if (strcmp(s->names[i], allowed.names[j]) == 0)
				break;
		if (j == allowed.nnames) {
			snprintf(msg, sizeof(msg), "This worker token does "
			    "not serve the queue %s", s->names[i]);
			q_error(r, 403, msg, "queue");
			return -1;
		}
	}
	return 0;
}

/*
 * POST /api/v1/queue/want_job[?queue=Q...]
 * 200 with a leased job (and its lease token), or 204.
 */
void
h_queue_want(struct req *r)
{
	static const char *const allowed[] = { "queue", NULL };
	static const char *const fields[] = { "queue", NULL };
	const struct config *cfg = r->app->cfg;
	struct json_object *o = NULL;
	struct scope	 s;
	struct waiter	 w;
	struct timespec	 deadline;
	struct buf	 body;
	const char	*params[4], *addr, *bad;
	char		 lease[24], worker[96], hdr[96], msg[120];
	PGresult	*res = NULL;
	enum db_rc	 rc;
	int64_t		 lease_secs = cfg->queue_lease_default, block = 0;
	size_t		 i;
	int		 waiting = 0, last = 0;

	buf_init(&body, (size_t)cfg->queue_body_max + 1);
	if ((bad = query_unknown(&r->query, allowed)) != NULL) {
		snprintf(msg, sizeof(msg), "Unknown query parameter %.64s",
		    bad);
		q_error(r, 400, msg, "query");
		goto out;
	}
	if (header_int(r, "HTTP_X_ACCEPTED_TIMEOUT", "X-Accepted-Timeout", 1,
	    cfg->queue_lease_max, &lease_secs) < 0 ||
	    header_int(r, "HTTP_X_ACCEPTED_BLOCK_FOR", "X-Accepted-Block-For",
	    0, cfg->queue_block_max, &block) < 0)
		goto out;
	if (read_json_object(r, &body, 0, &o) != 0 ||
	    check_fields(r, o, fields) != 0)
		goto out;
	scope_owner(r, &s);
	if (want_queues(r, o, &s) != 0)
		goto out;
	if (r->role == ROLE_WORKER && want_worker_scope(r, &s) != 0)
		goto out;
	scope_queues_literal(&s);

	addr = req_param(r, "REMOTE_ADDR");
	snprintf(worker, sizeof(worker), "%s %lld from %.45s",
	    r->role == ROLE_WORKER ? "worker" : r->role == ROLE_ADMIN ?
	    "admin" : "user", (long long)r->user_id, addr ? addr : "?");
	int_text(lease, lease_secs);
	params[0] = s.queues_p;
	params[1] = s.user_p;
	params[2] = lease;
	params[3] = worker;

	if (block > 0) {
		memset(&w, 0, sizeof(w));
		w.kind = WAIT_JOB;
		for (i = 0; i < s.nnames; i++)
			w.queues[i] = s.names[i];
		w.nqueues = s.nnames;
		w.user_id = r->role == ROLE_USER ? r->user_id : 0;
		waiter_add(&w);
		waiting = 1;
		deadline_in(&deadline, block);
	}
	for (;;) {
		if (waiting)
			waiter_consume(&w);
		if ((rc = db_exec(r, STMT_Q_LEASE, 4, params, &res)) != DB_OK) {
			q_db_error(r, rc);
			goto out;
		}
		if (PQntuples(res) > 0 || !waiting || last)
			break;
		PQclear(res);
		res = NULL;
		if (longpoll_wait(r, &w, &deadline, &last) != 0)
			goto out;
	}
	if (PQntuples(res) == 0) {
		resp_send(r, 204, NULL, NULL, NULL, 0);
		goto out;
	}
	snprintf(hdr, sizeof(hdr), "X-Accepted-Lease-Token: %.36s\r\n",
	    PQgetvalue(res, 0, 1));
	buf_puts(r->out, PQgetvalue(res, 0, 0));
	resp_json(r, 200, hdr);
out:
	PQclear(res);
	if (waiting)
		waiter_remove(&w);
	json_object_put(o);
	buf_free(&body);
}

/* What a refused update means, for the 409 message. */
static const struct {
	const char	*outcome;
	int		 status;
	const char	*message;
} update_outcomes[] = {
	{ "not_found", 404, "The job does not exist" },
	{ "not_running", 409, "The job is not running: its lease expired "
	    "and it went back to the queue" },
	{ "finished", 409, "The job is already finished" },
	{ "canceled", 409, "The job was canceled" },
	{ "stale", 409, "The lease token is stale: the job's lease expired "
	    "and the job was leased again" },
};

/*
 * PUT /api/v1/queue/jobs/<uuid>
 * {"status": "running"} extends the lease; {"status": "done"|"failed",
 * "result": ...} finishes.  The lease token, when the worker sends it
 * (X-Accepted-Lease-Token or "lease_token"), must be the current one.
 */
void
h_queue_update(struct req *r)
{
	static const char *const fields[] = { "status", "result",
	    "lease_token", NULL };
	struct json_object *o = NULL, *v;
	struct scope	 s;
	struct buf	 body;
	const char	*params[6], *status, *token;
	char		 uuid[UUID_STR_LEN + 1];
	PGresult	*res = NULL;
	enum db_rc	 rc;
	size_t		 i;

	buf_init(&body, (size_t)r->app->cfg->queue_body_max + 1);
	if (path_uuid(r, uuid) != 0 ||
	    read_json_object(r, &body, 1, &o) != 0 ||
	    check_fields(r, o, fields) != 0)
		goto out;
	if (!json_object_object_get_ex(o, "status", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    ((status = json_object_get_string(v)),
	    strcmp(status, "running") != 0 && strcmp(status, "done") != 0 &&
	    strcmp(status, "failed") != 0)) {
		q_error(r, 400, "status must be \"running\", \"done\" or "
		    "\"failed\"", "status");
		goto out;
	}
	token = req_param(r, "HTTP_X_ACCEPTED_LEASE_TOKEN");
	if (token != NULL && !uuid_valid(token, strlen(token))) {
		q_error(r, 400, "X-Accepted-Lease-Token must be the lease "
		    "token want_job gave", "X-Accepted-Lease-Token");
		goto out;
	}
	if (json_object_object_get_ex(o, "lease_token", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    !uuid_valid(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v)) ||
		    (token != NULL &&
		    strcmp(token, json_object_get_string(v)) != 0)) {
			q_error(r, 400, "lease_token must be the lease token "
			    "want_job gave", "lease_token");
			goto out;
		}
		token = json_object_get_string(v);
	}

	scope_owner(r, &s);
	if (r->role == ROLE_WORKER) {
		if (scope_worker_queues(r, &s) != 0)
			goto out;
		scope_queues_literal(&s);
	}
	params[0] = uuid;
	params[1] = s.user_p;
	params[2] = s.queues_p;
	params[3] = token;
	params[4] = status;
	params[5] = buf_cstr(&body);
	if ((rc = db_exec(r, STMT_Q_UPDATE, 6, params, &res)) != DB_OK) {
		q_db_error(r, rc);
		goto out;
	}
	for (i = 0; i < sizeof(update_outcomes) / sizeof(update_outcomes[0]);
	    i++)
		if (strcmp(PQgetvalue(res, 0, 0),
		    update_outcomes[i].outcome) == 0) {
			q_error(r, update_outcomes[i].status,
			    update_outcomes[i].message, NULL);
			goto out;
		}
	buf_puts(r->out, PQgetvalue(res, 0, 1));
	if (strcmp(status, "running") != 0)
		notify(r, WAIT_RESULT, uuid);
	resp_json(r, 200, NULL);
out:
	PQclear(res);
	json_object_put(o);
	buf_free(&body);
}

/*
 * DELETE /api/v1/queue/jobs/<uuid>
 * 200 with the job as it was.  A running job is canceled (its worker is
 * told on its next heartbeat or finish); any other is deleted with its
 * files.  As in the jobs surface's delete, the row is locked first, the
 * files are moved aside, and they move back if the database half fails.
 */
void
h_queue_delete(struct req *r)
{
	const char	*store = r->app->cfg->store_dir;
	struct scope	 s;
	const char	*params[2];
	char		 uuid[UUID_STR_LEN + 1], trash[1024];
	PGresult	*res = NULL;
	enum db_rc	 rc;

	trash[0] = '\0';
	if (path_uuid(r, uuid) != 0)
		return;
	scope_owner(r, &s);
	params[0] = uuid;
	params[1] = s.user_p;
	if ((rc = db_begin(r)) != DB_OK ||
	    (rc = db_exec(r, STMT_Q_LOCK, 2, params, &res)) != DB_OK)
		goto fail;
	if (PQntuples(res) == 0) {
		db_rollback(r);
		q_error(r, 404, "The job does not exist", NULL);
		goto out;
	}
	if (PQgetvalue(res, 0, 0)[0] != 't' &&
	    store_trash(store, uuid, trash, sizeof(trash)) != 0) {
		log_msg(LOG_ERR, "delete job %s: cannot move files: %m", uuid);
		rc = DB_ERROR;
		goto fail;
	}
	PQclear(res);
	res = NULL;
	if ((rc = db_exec(r, STMT_Q_CANCEL, 2, params, &res)) != DB_OK ||
	    (rc = db_commit(r)) != DB_OK) {
		if (store_untrash(store, uuid, trash) != 0)
			log_msg(LOG_ERR, "delete job %s: cannot restore %s: "
			    "%m", uuid, trash);
		goto fail;
	}
	if (trash[0] != '\0' && store_remove_tree(trash) != 0)
		log_msg(LOG_ERR, "delete job %s: %s left behind: %m", uuid,
		    trash);
	buf_puts(r->out, PQgetvalue(res, 0, 1));
	notify(r, WAIT_RESULT, uuid);
	resp_json(r, 200, NULL);
	goto out;
fail:
	db_rollback(r);
	q_db_error(r, rc);
out:
	PQclear(res);
}
