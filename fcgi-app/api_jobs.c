/*
 * api_jobs.c -- the jobs surface of seed 001 under /api/v1/jobs/:
 * get, list, get-object-url and delete.
 *
 * Errors use the seed's body, {"message": ..., "affected_query_parameter":
 * "job-id: number"}.  Tenancy is in the SQL: every statement takes the
 * caller's user id and an is-admin flag, so another user's job is simply
 * not found and the 404 is identical to that of a missing job.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "docket.h"

/* The seed's status words and the sentences status_meaning gives. */
static const struct {
	const char	*state;		/* job_state in PostgreSQL */
	const char	*word;
	const char	*meaning;
} statuses[] = {
	{ "ready", "ready", "The job has been created and is not queued yet" },
	{ "queued", "queued", "The job is waiting to be processed" },
	{ "running", "processing", "The job is being processed" },
	{ "succeeded", "success", "Job completed successfully" },
	{ "failed", "failed", "The job failed to process" },
	{ "canceled", "canceled", "The job was canceled before it finished" },
};

static size_t
status_index(const char *state)
{
	size_t	 i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(statuses[i].state, state) == 0)
			return i;
	return 0;
}

static const char *const parse_problem[] = {
	[PARSE_MISSING] = "is missing",
	[PARSE_EMPTY] = "is empty",
	[PARSE_NOT_NUMBER] = "must be a number",
	[PARSE_NOT_POSITIVE] = "must be a positive number",
	[PARSE_RANGE] = "is out of range",
	[PARSE_DUPLICATE] = "is given more than once",
};

static void
param_error(struct req *r, const char *name, const char *type,
    const char *problem)
{
	char	 msg[160], affected[80];

	snprintf(msg, sizeof(msg), "The %s query parameter %s", name, problem);
	snprintf(affected, sizeof(affected), "%s: %s", name, type);
	resp_error(r, 400, msg, affected);
}

/*
 * Reject parameters this route does not take, so a typo ("job_id") is a
 * clear 400 rather than a confusing "job-id is missing".
 */
static int
check_known(struct req *r, const char *const *allowed)
{
	const char	*bad = query_unknown(&r->query, allowed);
	char		 msg[160], name[72];

	if (bad == NULL)
		return 0;
	snprintf(name, sizeof(name), "%.64s", bad);
	snprintf(msg, sizeof(msg), "The %s query parameter is not supported",
	    name);
	resp_error(r, 400, msg, name);
	return -1;
}

/* An integer parameter in [min, max]; answers 400 itself on failure. */
static int
param_int(struct req *r, const char *name, int64_t min, int64_t max,
    int required, int64_t *out)
{
	enum parse_rc	 rc;
	const char	*v;
	size_t		 count;
	char		 problem[64];

	v = query_get(&r->query, name, &count);
	if (v == NULL && !required)
		return 1;
	rc = count > 1 ? PARSE_DUPLICATE : parse_int64(v, min, max, out);
	if (rc == PARSE_OK)
		return 0;
	if (min > 1 || (max < INT64_MAX && (rc == PARSE_RANGE ||
	    rc == PARSE_NOT_POSITIVE))) {
		snprintf(problem, sizeof(problem), "must be a number between "
		    "%lld and %lld", (long long)min, (long long)max);
		param_error(r, name, "number", problem);
	} else
		param_error(r, name, "number", parse_problem[rc]);
	return -1;
}

static void
job_not_found(struct req *r)
{
	resp_error(r, 404, "The job does not exist", "job-id: number");
}

/* The three tenancy parameters every job statement starts with. */
struct job_key {
	char		 id[24];
	char		 user[24];
	const char	*admin;
};

static void
job_key_init(struct job_key *k, const struct req *r, int64_t job_id)
{
	snprintf(k->id, sizeof(k->id), "%lld", (long long)job_id);
	snprintf(k->user, sizeof(k->user), "%lld", (long long)r->user_id);
	k->admin = req_is_admin(r) ? "t" : "f";
}

static int
same(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/*
 * GET /api/v1/jobs/get?job-id=N
 * 200 {"job_info": {...}, "results": {uuid: {"full": URL, "min": URL}}};
 * 400 on a bad job-id, 404 when the caller has no such job.
 */
void
h_jobs_get(struct req *r)
{
	static const char *const allowed[] = { "job-id", NULL };
	enum { C_ID, C_USER, C_NAME, C_DATE, C_SIZE, C_CREDITS, C_EMAIL,
	    C_STATE, C_UUID, C_OBJ, C_ORIG, C_MEDIA, C_FAILURE, C_KIND };
	struct job_key	 key;
	const char	*params[3];
	struct buf	 base, path, url;
	struct jw	 w;
	PGresult	*res = NULL;
	enum db_rc	 rc;
	int64_t		 job_id, expires;
	int		 i, n, open;
	const char	*obj, *prev;

	buf_init(&base, 512);
	buf_init(&path, 256);
	buf_init(&url, 1024);
	if (check_known(r, allowed) != 0 ||
	    param_int(r, "job-id", 1, INT64_MAX, 1, &job_id) != 0)
		goto out;
	job_key_init(&key, r, job_id);
	params[0] = key.id;
	params[1] = key.user;
	params[2] = key.admin;
	if ((rc = db_exec(r, STMT_JOB_GET, 3, params, &res)) != DB_OK) {
		resp_db_error(r, rc);
		goto out;
	}
	if ((n = PQntuples(res)) == 0) {
		job_not_found(r);
		goto out;
	}

	jw_init(&w, r->out);
	jw_obj_open(&w);
	JW_KEY(&w, "job_info");
	jw_obj_open(&w);
	JW_KSTR(&w, "user_id", PQgetvalue(res, 0, C_USER));
	JW_KRAW(&w, "job_id", PQgetvalue(res, 0, C_ID));
	JW_KSTR(&w, "job_name", PQgetvalue(res, 0, C_NAME));
	JW_KSTR(&w, "date", PQgetvalue(res, 0, C_DATE));
	JW_KRAW(&w, "total_size", PQgetvalue(res, 0, C_SIZE));
	JW_KRAW(&w, "credits_spent", PQgetvalue(res, 0, C_CREDITS));
	JW_KSTR(&w, "email", PQgetisnull(res, 0, C_EMAIL) ? NULL :
	    PQgetvalue(res, 0, C_EMAIL));

	/*
	 * Rows are objects x results, ordered by object: each object map
	 * takes an object's first row only.
	 */
	JW_KEY(&w, "object_uuid_names");
	jw_obj_open(&w);
	for (i = 0, prev = ""; i < n; i++) {
		if (PQgetisnull(res, i, C_OBJ) ||
		    same(prev, obj = PQgetvalue(res, i, C_OBJ)))
			continue;
		jw_kstr(&w, obj, PQgetvalue(res, i, C_ORIG));
		prev = obj;
	}
	jw_obj_close(&w);
	JW_KEY(&w, "media_length");
	jw_obj_open(&w);
	for (i = 0, prev = ""; i < n; i++) {
		if (PQgetisnull(res, i, C_OBJ) ||
		    same(prev, obj = PQgetvalue(res, i, C_OBJ)))
			continue;
		jw_key(&w, obj);
		jw_raw(&w, PQgetvalue(res, i, C_MEDIA));
		prev = obj;
	}
	jw_obj_close(&w);
	JW_KEY(&w, "failed_to_process");
	jw_obj_open(&w);
	for (i = 0, prev = ""; i < n; i++) {
		if (PQgetisnull(res, i, C_OBJ) ||
		    same(prev, obj = PQgetvalue(res, i, C_OBJ)))
			continue;
		if (!PQgetisnull(res, i, C_FAILURE))
			jw_kstr(&w, obj, PQgetvalue(res, i, C_FAILURE));
		prev = obj;
	}
	jw_obj_close(&w);
	JW_KSTR(&w, "status",
	    statuses[status_index(PQgetvalue(res, 0, C_STATE))].word);
	jw_obj_close(&w);

	/* results: one object per object that has any, URLs presigned. */
	req_base_url(r, &base);
	expires = (int64_t)time(NULL) + r->app->cfg->url_expires_default;
	JW_KEY(&w, "results");
	jw_obj_open(&w);
	for (i = 0, open = 0, prev = ""; i < n; i++) {
		if (PQgetisnull(res, i, C_KIND))
			continue;
		obj = PQgetvalue(res, i, C_OBJ);
		if (!same(prev, obj)) {
			if (open)
				jw_obj_close(&w);
			jw_key(&w, obj);
			jw_obj_open(&w);
			open = 1;
			prev = obj;
		}
		buf_reset(&path);
		buf_printf(&path, "/objects/%s/%s/%s",
		    PQgetvalue(res, i, C_UUID), obj,
		    PQgetvalue(res, i, C_KIND));
		jw_key(&w, PQgetvalue(res, i, C_KIND));
		buf_reset(&url);
		if (sign_url(&r->app->signer, buf_cstr(&base),
		    buf_cstr(&path), expires, &url) != 0)
			r->out->failed = 1;
		jw_str(&w, buf_cstr(&url));
	}
	if (open)
		jw_obj_close(&w);
	jw_obj_close(&w);
	jw_obj_close(&w);
	resp_json(r, 200, NULL);
out:
	PQclear(res);
	buf_free(&base);
	buf_free(&path);
	buf_free(&url);
}

static const char *const status_words[] = { "ready", "queued",
    "processing", "success", "failed", "canceled", NULL };
static const char *const status_states[] = { "ready", "queued", "running",
    "succeeded", "failed", "canceled", NULL };

static const struct list_filter job_filters[] = {
	{ "status", LV_CHOICE, status_words, status_states,
	  "j.state = ANY(%s::job_state[])", "text",
	  "j.state = %s::job_state" },
};

static const struct list_order job_orders[] = {
	{ "job_id", "j.id" },
	{ "job_name", "j.name" },
	{ "date", "j.created_at" },
	{ "total_size", "j.total_size" },
	{ "credits_spent", "j.credits_spent" },
	{ "status", "j.state" },
};

#define JOB_LIST_COLUMNS \
	"j.id, j.name, to_char(j.created_at AT TIME ZONE 'UTC'," \
	" 'YYYY-MM-DD HH24:MI:SS.US\"000 UTC\"'), j.total_size," \
	" j.credits_spent, j.state"

/*
 * The seed's list takes no parameters; given any of these it pages like
 * every other list (listing.c), strictly: a bad page or page_size is a 400
 * in this surface's error format, not DRF's quiet default.  Counts and
 * pages ordered by date come from job_window (sql/005_job_counts.sql):
 * maintained per-day counts that the queue's hot path only appends to.
 */
static const struct list_spec job_list = {
	.inner = "jobs j",
	.select = JOB_LIST_COLUMNS,
	.joins = "",
	.owner = "j.user_id",
	.time = "j.created_at",
	.tiebreak = "j.id",
	.filters = job_filters,
	.nfilters = sizeof(job_filters) / sizeof(job_filters[0]),
	.orders = job_orders,
	.norders = sizeof(job_orders) / sizeof(job_orders[0]),
	.default_order = "-date",
	.window_fn = "job_window",
	.drf_pages = 0,
	.extra_params = NULL,
};

/* One job of a list, columns from col on: id, name, date, size, credits,
 * state. */
static void
write_list_job(struct jw *w, const PGresult *res, int i, int col)
{
	size_t	 st = status_index(PQgetvalue(res, i, col + 5));

	jw_obj_open(w);
	JW_KRAW(w, "job_id", PQgetvalue(res, i, col));
	JW_KSTR(w, "job_name", PQgetvalue(res, i, col + 1));
	JW_KSTR(w, "date", PQgetvalue(res, i, col + 2));
	JW_KRAW(w, "total_size", PQgetvalue(res, i, col + 3));
	JW_KRAW(w, "credits_spent", PQgetvalue(res, i, col + 4));
	JW_KSTR(w, "status", statuses[st].word);
	JW_KSTR(w, "status_meaning", statuses[st].meaning);
	jw_obj_close(w);
}

/* The seed's list: the newest jobs_list_max jobs, {"jobs": [...]}. */
static void
jobs_list_plain(struct req *r)
{
	const char	*params[2];
	char		 user[24], limit[24];
	struct jw	 w;
	PGresult	*res = NULL;
	enum db_rc	 rc;
	int		 i, n;

	snprintf(user, sizeof(user), "%lld", (long long)r->user_id);
	snprintf(limit, sizeof(limit), "%ld", r->app->cfg->jobs_list_max);
	if (req_is_admin(r)) {
		params[0] = limit;
		rc = db_exec(r, STMT_JOB_LIST_ALL, 1, params, &res);
	} else {
		params[0] = user;
		params[1] = limit;
		rc = db_exec(r, STMT_JOB_LIST_USER, 2, params, &res);
	}
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	jw_init(&w, r->out);
	jw_obj_open(&w);
	JW_KEY(&w, "jobs");
	jw_arr_open(&w);
	for (i = 0, n = PQntuples(res); i < n; i++)
		write_list_job(&w, res, i, 0);
	jw_arr_close(&w);
	jw_obj_close(&w);
	PQclear(res);
	resp_json(r, 200, NULL);
}

/*
 * GET /api/v1/jobs/list[?page=&page_size=&status=&order=&started=&ended=]
 * 200 {"jobs": [...]}: the caller's jobs (every user's for an admin),
 * newest first.  Without parameters, the seed's answer: at most
 * jobs_list_max jobs.  With any, a page of them and, around "jobs",
 * "count", "next" and "previous" as every list in docket has.
 */
void
h_jobs_list(struct req *r)
{
	struct list_params	 lp;
	struct list_error	 le;
	struct list_page	 pg;
	struct timespec		 now;
	struct jw		 w;
	enum db_rc		 rc;
	char			 affected[80];
	int			 i;

	clock_gettime(CLOCK_REALTIME, &now);
	switch (list_parse(&job_list, &r->query, (int64_t)now.tv_sec *
	    1000000 + now.tv_nsec / 1000, &lp, &le)) {
	case LIST_OK:
		break;
	case LIST_NO_PAGE:
		resp_error(r, 404, "The page does not exist", "page: number");
		return;
	default:
		snprintf(affected, sizeof(affected), "%s: %s", le.param,
		    strncmp(le.param, "page", 4) == 0 ? "number" : "string");
		resp_error(r, 400, le.message, affected);
		return;
	}
	if (!lp.any_given) {
		jobs_list_plain(r);
		return;
	}
	switch (list_page_run(r, &job_list, &lp,
	    req_is_admin(r) ? 0 : r->user_id, &pg, &rc)) {
	case LIST_OK:
		break;
	case LIST_NO_PAGE:
		resp_error(r, 404, "The page does not exist", "page: number");
		goto out;
	default:
		resp_db_error(r, rc);
		goto out;
	}
	jw_init(&w, r->out);
	list_page_begin(&w, &pg, "jobs");
	for (i = 0; i < pg.nrows; i++)
		write_list_job(&w, pg.res, i, 1);
	list_page_end(&w);
	resp_json(r, 200, NULL);
out:
	list_page_free(&pg);
}

/*
 * GET /api/v1/jobs/get-object-url?job-id=N&object-uuid=U[&expires-in=S]
 * 200 {"url": absolute presigned URL}.  Unlike the seed, the job and the
 * object must exist and belong to the caller: 404 otherwise.
 */
void
h_jobs_object_url(struct req *r)
{
	static const char *const allowed[] = { "job-id", "object-uuid",
	    "expires-in", NULL };
	struct job_key	 key;
	const char	*params[4], *obj;
	struct buf	 path, url;
	struct jw	 w;
	PGresult	*res = NULL;
	enum db_rc	 rc;
	int64_t		 job_id, lifetime;
	size_t		 count;

	buf_init(&path, 256);
	buf_init(&url, 1024);
	if (check_known(r, allowed) != 0 ||
	    param_int(r, "job-id", 1, INT64_MAX, 1, &job_id) != 0)
		goto out;
	obj = query_get(&r->query, "object-uuid", &count);
	if (count > 1 || obj == NULL || *obj == '\0') {
		param_error(r, "object-uuid", "string", count > 1 ?
		    parse_problem[PARSE_DUPLICATE] : obj == NULL ?
		    parse_problem[PARSE_MISSING] : parse_problem[PARSE_EMPTY]);
		goto out;
	}
	/*
	 * A malformed name ("../x") is not rejected as such: it is bound as a
	 * parameter like any other and, matching no object, is a 404.
	 */
	lifetime = r->app->cfg->url_expires_default;
	if (param_int(r, "expires-in", 1, r->app->cfg->url_expires_max, 0,
	    &lifetime) < 0)
		goto out;

	job_key_init(&key, r, job_id);
	params[0] = key.id;
	params[1] = key.user;
	params[2] = key.admin;
	params[3] = obj;
	if ((rc = db_exec(r, STMT_OBJECT_FIND, 4, params, &res)) != DB_OK) {
		resp_db_error(r, rc);
		goto out;
	}
	if (PQntuples(res) == 0) {
		job_not_found(r);
		goto out;
	}
	if (PQgetisnull(res, 0, 1)) {
		resp_error(r, 404, "The object does not exist",
		    "object-uuid: string");
		goto out;
	}
	buf_printf(&path, "/objects/%s/%s", PQgetvalue(res, 0, 0), obj);
	req_base_url(r, &url);
	if (sign_url(&r->app->signer, "", buf_cstr(&path),
	    (int64_t)time(NULL) + lifetime, &url) != 0) {
		resp_error(r, 500, "Internal server error", NULL);
		goto out;
	}
	jw_init(&w, r->out);
	jw_obj_open(&w);
	JW_KSTR(&w, "url", buf_cstr(&url));
	jw_obj_close(&w);
	resp_json(r, 200, NULL);
out:
	PQclear(res);
	buf_free(&path);
	buf_free(&url);
}

/*
 * DELETE /api/v1/jobs/delete?job-id=N
 * 200 {"message": "Ok"}; the job's rows and files are gone.  The files are
 * first moved aside inside the store, then the rows are deleted in a
 * transaction that holds the job's row lock; if the database half fails,
 * the files move back, so a failed delete changes nothing.
 */
void
h_jobs_delete(struct req *r)
{
	static const char *const allowed[] = { "job-id", NULL };
	const char	*store = r->app->cfg->store_dir;
	struct job_key	 key;
	const char	*params[3];
	char		 uuid[UUID_STR_LEN + 1], trash[1024];
	PGresult	*res = NULL;
	enum db_rc	 rc;
	int64_t		 job_id;

	trash[0] = '\0';
	if (check_known(r, allowed) != 0 ||
	    param_int(r, "job-id", 1, INT64_MAX, 1, &job_id) != 0)
		return;
	job_key_init(&key, r, job_id);
	params[0] = key.id;
	params[1] = key.user;
	params[2] = key.admin;
	if ((rc = db_begin(r)) != DB_OK ||
	    (rc = db_exec(r, STMT_JOB_FIND, 3, params, &res)) != DB_OK)
		goto fail;
	if (PQntuples(res) == 0) {
		db_rollback(r);
		PQclear(res);
		job_not_found(r);
		return;
	}
	snprintf(uuid, sizeof(uuid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;

	if (store_trash(store, uuid, trash, sizeof(trash)) != 0) {
		log_msg(LOG_ERR, "delete job %s: cannot move files: %m", uuid);
		rc = DB_ERROR;
		goto fail;
	}
	if ((rc = db_exec(r, STMT_JOB_DELETE, 1, params, &res)) != DB_OK ||
	    (rc = db_commit(r)) != DB_OK) {
		if (store_untrash(store, uuid, trash) != 0)
			log_msg(LOG_ERR, "delete job %s: cannot restore %s: %m",
			    uuid, trash);
		goto fail;
	}
	PQclear(res);
	if (trash[0] != '\0' && store_remove_tree(trash) != 0)
		log_msg(LOG_ERR, "delete job %s: %s left behind: %m", uuid,
		    trash);
	buf_puts(r->out, "{\"message\":\"Ok\"}");
	resp_json(r, 200, NULL);
	return;
fail:
	PQclear(res);
	db_rollback(r);
	resp_db_error(r, rc);
}
