/*
 * api_batches.c -- the batches surface of seed 003 (Scale's batch API):
 *
 *	GET  /batches/              the listing (listing.c: page, page_size,
 *	                            started, ended, order, status,
 *	                            recipe_type_id, recipe_type_name)
 *	GET  /batches/{id}/         one batch, with its definition
 *	POST /batches/              submit a batch; its creator job is run by
 *	                            the dispatcher (sql/004_batches.sql)
 *	POST /batches/validation/   what a batch would do, without doing it
 *
 * Errors are Django REST Framework's {"detail": "..."}.  A user sees only
 * its own batches; another user's batch is the same 404 as a missing one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docket.h"

#define BATCH_BODY_MAX	(64 * 1024)

/*
 * The columns of a batch, shared by the listing and the detail so the two
 * can never disagree.  The joins run on the page's rows only (listing.c
 * cuts the page first), so a deep page does not join the rows it skips.
 */
#define BATCH_COLUMNS \
	"b.id, b.title, b.description, b.status," \
	" rt.id, rt.name, rt.version, rt.title, rt.description," \
	" e.id, e.type, e.rule_id, e.occurred," \
	" cj.id, status_003(cj.state), cj.priority, cj.attempts, cj.error," \
	" cj.event_id, jt.id, jt.name, jt.version, jt.title, jt.description," \
	" jt.category, jt.author_name, jt.author_url, jt.is_system," \
	" jt.is_long_running, jt.is_active, jt.is_operational, jt.is_paused," \
	" jt.icon_code, jt.revision," \
	" b.created_count, b.failed_count, b.total_count, b.created," \
	" b.last_modified"
#define BATCH_JOINS \
	"JOIN recipe_types rt ON rt.id = b.recipe_type_id" \
	" JOIN trigger_events e ON e.id = b.event_id" \
	" LEFT JOIN jobs cj ON cj.id = b.creator_job_id" \
	" LEFT JOIN job_types jt ON jt.id = cj.job_type_id"

/* Column positions after the leading count column. */
enum {
	C_ID = 1, C_TITLE, C_DESC, C_STATUS,
	C_RT_ID, C_RT_NAME, C_RT_VERSION, C_RT_TITLE, C_RT_DESC,
	C_EV_ID, C_EV_TYPE, C_EV_RULE, C_EV_OCCURRED,
	C_CJ_ID, C_CJ_STATUS, C_CJ_PRIORITY, C_CJ_EXES, C_CJ_ERROR,
	C_CJ_EVENT, C_JT_ID, C_JT_NAME, C_JT_VERSION, C_JT_TITLE, C_JT_DESC,
	C_JT_CATEGORY, C_JT_AUTHOR, C_JT_AUTHOR_URL, C_JT_SYSTEM,
	C_JT_LONG, C_JT_ACTIVE, C_JT_OPERATIONAL, C_JT_PAUSED,
	C_JT_ICON, C_JT_REVISION,
	C_CREATED_COUNT, C_FAILED_COUNT, C_TOTAL_COUNT, C_CREATED,
	C_MODIFIED, C_DEFINITION
};

static const char *const status_words[] = { "SUBMITTED", "CREATED", NULL };

static const struct list_filter batch_filters[] = {
	{ "status", LV_CHOICE, status_words, NULL,
	  "b.status = ANY(%s::batch_status[])", "text",
	  "b.status = %s::batch_status" },
	{ "recipe_type_id", LV_INT, NULL, NULL,
	  "b.recipe_type_id = ANY(%s)", "bigint",
	  "b.recipe_type_id = %s" },
	{ "recipe_type_name", LV_TEXT, NULL, NULL,
	  "b.recipe_type_id IN (SELECT id FROM recipe_types"
	  " WHERE name = ANY(%s))", "text", NULL },
};

static const struct list_order batch_orders[] = {
	{ "id", "b.id" },
	{ "title", "b.title" },
	{ "description", "b.description" },
	{ "status", "b.status" },
	{ "recipe_type_id", "b.recipe_type_id" },
	{ "created_count", "b.created_count" },
	{ "failed_count", "b.failed_count" },
	{ "total_count", "b.total_count" },
	{ "created", "b.created" },
	{ "last_modified", "b.last_modified" },
};

static const struct list_spec batch_list = {
	.inner = "batches b",
	.select = BATCH_COLUMNS,
	.joins = BATCH_JOINS,
	.owner = "b.user_id",
	.time = "b.last_modified",
	.tiebreak = "b.id",
	.filters = batch_filters,
	.nfilters = sizeof(batch_filters) / sizeof(batch_filters[0]),
	.orders = batch_orders,
	.norders = sizeof(batch_orders) / sizeof(batch_orders[0]),
	.default_order = "last_modified",
	.window_fn = "batch_window",
	.drf_pages = 1,
	.extra_params = NULL,
};

static const char batch_get_sql[] =
	"SELECT 0, " BATCH_COLUMNS ", b.definition FROM batches b "
	BATCH_JOINS " WHERE b.id = $1 AND (b.user_id = $2 OR $3::boolean)";

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
db_fail(struct req *r, enum db_rc rc)
{
	int	 status = db_http_status(rc);

	resp_detail(r, status, db_error_message(status));
}

static const char *
val(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* A number column, or null. */
static void
kraw(struct jw *w, const char *key, const PGresult *res, int row, int col)
{
	jw_key(w, key);
	if (PQgetisnull(res, row, col))
		jw_null(w);
	else
		jw_raw(w, PQgetvalue(res, row, col));
}

static void
kbool(struct jw *w, const char *key, const PGresult *res, int row, int col)
{
	jw_key(w, key);
	jw_bool(w, PQgetvalue(res, row, col)[0] == 't');
}

/* A reference to another model, {"id": N}, or null. */
static void
write_ref(struct jw *w, const char *key, const PGresult *res, int row,
    int col)
{
	jw_key(w, key);
	if (PQgetisnull(res, row, col)) {
		jw_null(w);
		return;
	}
	jw_obj_open(w);
	JW_KRAW(w, "id", PQgetvalue(res, row, col));
	jw_obj_close(w);
}

/* The creator job, in the shape of Scale's job details (seed 003). */
static void
write_creator_job(struct jw *w, const PGresult *res, int i)
{
	if (PQgetisnull(res, i, C_CJ_ID)) {
		jw_null(w);
		return;
	}
	jw_obj_open(w);
	JW_KRAW(w, "id", PQgetvalue(res, i, C_CJ_ID));
	JW_KEY(w, "job_type");
	if (PQgetisnull(res, i, C_JT_ID))
		jw_null(w);
	else {
		jw_obj_open(w);
		JW_KRAW(w, "id", PQgetvalue(res, i, C_JT_ID));
		JW_KSTR(w, "name", val(res, i, C_JT_NAME));
		JW_KSTR(w, "version", val(res, i, C_JT_VERSION));
		JW_KSTR(w, "title", val(res, i, C_JT_TITLE));
		JW_KSTR(w, "description", val(res, i, C_JT_DESC));
		JW_KSTR(w, "category", val(res, i, C_JT_CATEGORY));
		JW_KSTR(w, "author_name", val(res, i, C_JT_AUTHOR));
		JW_KSTR(w, "author_url", val(res, i, C_JT_AUTHOR_URL));
		kbool(w, "is_system", res, i, C_JT_SYSTEM);
		kbool(w, "is_long_running", res, i, C_JT_LONG);
		kbool(w, "is_active", res, i, C_JT_ACTIVE);
		kbool(w, "is_operational", res, i, C_JT_OPERATIONAL);
		kbool(w, "is_paused", res, i, C_JT_PAUSED);
		JW_KSTR(w, "icon_code", val(res, i, C_JT_ICON));
		jw_obj_close(w);
	}
	write_ref(w, "job_type_rev", res, i, C_JT_REVISION);
	write_ref(w, "event", res, i, C_CJ_EVENT);
	/* Scale's error is an object; a creator run that failed keeps the
	 * database's message as its description. */
	JW_KEY(w, "error");
	if (PQgetisnull(res, i, C_CJ_ERROR))
		jw_null(w);
	else {
		jw_obj_open(w);
		JW_KSTR(w, "name", "batch-creation-failed");
		JW_KSTR(w, "title", "Batch creation failed");
		JW_KSTR(w, "description", PQgetvalue(res, i, C_CJ_ERROR));
		JW_KSTR(w, "category", "SYSTEM");
		jw_obj_close(w);
	}
	JW_KSTR(w, "status", val(res, i, C_CJ_STATUS));
	JW_KRAW(w, "priority", PQgetvalue(res, i, C_CJ_PRIORITY));
	JW_KRAW(w, "num_exes", PQgetvalue(res, i, C_CJ_EXES));
	jw_obj_close(w);
}

/* One batch, in the seed's key order; the definition on details only. */
static void
write_batch(struct jw *w, const PGresult *res, int i, int with_definition)
{
	jw_obj_open(w);
	JW_KRAW(w, "id", PQgetvalue(res, i, C_ID));
	JW_KSTR(w, "title", val(res, i, C_TITLE));
	JW_KSTR(w, "description", val(res, i, C_DESC));
	JW_KSTR(w, "status", PQgetvalue(res, i, C_STATUS));
	JW_KEY(w, "recipe_type");
	jw_obj_open(w);
	JW_KRAW(w, "id", PQgetvalue(res, i, C_RT_ID));
	JW_KSTR(w, "name", PQgetvalue(res, i, C_RT_NAME));
	JW_KSTR(w, "version", PQgetvalue(res, i, C_RT_VERSION));
	JW_KSTR(w, "title", val(res, i, C_RT_TITLE));
	JW_KSTR(w, "description", val(res, i, C_RT_DESC));
	jw_obj_close(w);
	JW_KEY(w, "event");
	jw_obj_open(w);
	JW_KRAW(w, "id", PQgetvalue(res, i, C_EV_ID));
	JW_KSTR(w, "type", PQgetvalue(res, i, C_EV_TYPE));
	write_ref(w, "rule", res, i, C_EV_RULE);
	JW_KEY(w, "occurred");
	jw_time_iso(w, PQgetvalue(res, i, C_EV_OCCURRED));
	jw_obj_close(w);
	JW_KEY(w, "creator_job");
	write_creator_job(w, res, i);
	JW_KRAW(w, "created_count", PQgetvalue(res, i, C_CREATED_COUNT));
	JW_KRAW(w, "failed_count", PQgetvalue(res, i, C_FAILED_COUNT));
	JW_KRAW(w, "total_count", PQgetvalue(res, i, C_TOTAL_COUNT));
	JW_KEY(w, "created");
	jw_time_iso(w, PQgetvalue(res, i, C_CREATED));
	JW_KEY(w, "last_modified");
	jw_time_iso(w, PQgetvalue(res, i, C_MODIFIED));
	if (with_definition)
		kraw(w, "definition", res, i, C_DEFINITION);
	jw_obj_close(w);
}

/* GET /batches/ */
void
h_batches_list(struct req *r)
{
	struct list_params	 lp;
	struct list_error	 le;
	struct list_page	 pg;
	struct jw		 w;
	enum db_rc		 rc;
	int			 i;

	switch (list_parse(&batch_list, &r->query, now_us(), &lp, &le)) {
	case LIST_OK:
		break;
	case LIST_NO_PAGE:
		resp_detail(r, 404, "Invalid page.");
		return;
	default:
		resp_detail(r, 400, le.message);
		return;
	}
	switch (list_page_run(r, &batch_list, &lp,
	    req_is_admin(r) ? 0 : r->user_id, &pg, &rc)) {
	case LIST_OK:
		break;
	case LIST_NO_PAGE:
		resp_detail(r, 404, "Invalid page.");
		goto out;
	default:
		db_fail(r, rc);
		goto out;
	}
	jw_init(&w, r->out);
	list_page_begin(&w, &pg, "results");
	for (i = 0; i < pg.nrows; i++)
		write_batch(&w, pg.res, i, 0);
	list_page_end(&w);
	resp_json(r, 200, NULL);
out:
	list_page_free(&pg);
}

/*
 * Answer with batch id as the caller sees it: 200 (or 201 with Location
 * after a POST), 404 when it is not theirs.
 */
static void
answer_batch(struct req *r, const char *id, int status)
{
	const char	*params[3];
	char		 user[24], hdr[600];
	struct buf	 loc;
	struct jw	 w;
	PGresult	*res = NULL;
	enum db_rc	 rc;

	snprintf(user, sizeof(user), "%lld", (long long)r->user_id);
	params[0] = id;
	params[1] = user;
	params[2] = req_is_admin(r) ? "t" : "f";
	if ((rc = db_exec_sql(r, "batch_get", 1, batch_get_sql, 3, params,
	    &res)) != DB_OK) {
		db_fail(r, rc);
		return;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		resp_detail(r, 404, "Not found.");
		return;
	}
	jw_init(&w, r->out);
	write_batch(&w, res, 0, 1);
	PQclear(res);
	hdr[0] = '\0';
	if (status == 201) {
		buf_init(&loc, 512);
		req_base_url(r, &loc);
		buf_printf(&loc, "/batches/%s/", id);
		if (!loc.failed)
			snprintf(hdr, sizeof(hdr), "Location: %s\r\n",
			    buf_cstr(&loc));
		buf_free(&loc);
	}
	resp_json(r, status, hdr[0] != '\0' ? hdr : NULL);
}

/*
 * GET /batches/{id}/ (the trailing slash may be left out).  An id that is
 * not a number is a 404, as a URL pattern of digits makes it in Scale.
 */
void
h_batches_get(struct req *r)
{
	const char	*p = r->path + strlen("/batches/");
	char		 id[24];
	size_t		 n = strspn(p, "0123456789");
	int64_t		 v;

	if (r->query.n > 0) {
		resp_detail(r, 400, "This resource takes no query parameters.");
		return;
	}
	if (n == 0 || n >= sizeof(id) || (p[n] != '\0' &&
	    strcmp(p + n, "/") != 0)) {
		resp_detail(r, 404, "Not found.");
		return;
	}
	memcpy(id, p, n);
	id[n] = '\0';
	if (parse_int64(id, 1, INT64_MAX, &v) != PARSE_OK) {
		resp_detail(r, 404, "Not found.");
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)v);
	answer_batch(r, id, 200);
}

/*
 * The body of POST /batches/ and of its validation, read and checked, with
 * the caller and the recipe type as the statements bind them.  The request
 * is on the heap: too large for a thread's stack next to everything else.
 */
struct batch_post {
	struct batch_request	*br;		/* owned */
	struct buf		 body, def;	/* def: canonical definition */
	char			 user[24], rt[24];
};

static void
batch_post_free(struct batch_post *bp)
{
	free(bp->br);
	buf_free(&bp->body);
	buf_free(&bp->def);
}

/* 0, or -1 after answering (bp must still be freed). */
static int
batch_post_read(struct req *r, struct batch_post *bp)
{
	struct batch_error	 err;
	char			 msg[256];

	buf_init(&bp->body, BATCH_BODY_MAX);
	buf_init(&bp->def, BATCH_BODY_MAX);
	if ((bp->br = malloc(sizeof(*bp->br))) == NULL) {
		resp_detail(r, 500, "Internal server error");
		return -1;
	}
	if (r->query.n > 0) {
		resp_detail(r, 400, "This resource takes no query parameters.");
		return -1;
	}
	switch (req_read_body(r, BATCH_BODY_MAX, &bp->body)) {
	case BODY_OK:
		break;
	case BODY_TOO_LARGE:
		resp_detail(r, 413, "The request body is larger than 65536 "
		    "bytes.");
		return -1;
	case BODY_READ_ERROR:
		resp_detail(r, 400, "The request body could not be read.");
		return -1;
	}
	if (batch_request_parse(bp->body.data != NULL ? bp->body.data : "",
	    bp->body.len, bp->br, &bp->def, &err) != 0) {
		snprintf(msg, sizeof(msg), "%s: %s", err.field, err.message);
		resp_detail(r, 400, msg);
		return -1;
	}
	snprintf(bp->user, sizeof(bp->user), "%lld", (long long)r->user_id);
	snprintf(bp->rt, sizeof(bp->rt), "%lld",
	    (long long)bp->br->recipe_type_id);
	return 0;
}

static void
no_recipe_type(struct req *r, const struct batch_request *br)
{
	char	 msg[128];

	snprintf(msg, sizeof(msg), "recipe_type_id: there is no recipe type "
	    "%lld", (long long)br->recipe_type_id);
	resp_detail(r, 400, msg);
}

/* POST /batches/ -> 201, Location and the batch (SUBMITTED). */
void
h_batches_create(struct req *r)
{
	struct batch_post	 bp = { 0 };
	const char		*params[5];
	char			 id[24];
	PGresult		*res = NULL;
	enum db_rc		 rc;

	if (batch_post_read(r, &bp) != 0)
		goto out;
	params[0] = bp.user;
	params[1] = bp.rt;
	params[2] = bp.br->has_title ? bp.br->title : NULL;
	params[3] = bp.br->has_description ? bp.br->description : NULL;
	params[4] = buf_cstr(&bp.def);
	if ((rc = db_exec(r, STMT_BATCH_SUBMIT, 5, params, &res)) != DB_OK) {
		db_fail(r, rc);
		goto out;
	}
	if (PQgetisnull(res, 0, 0)) {
		no_recipe_type(r, bp.br);
		goto out;
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	answer_batch(r, id, 201);
out:
	PQclear(res);
	batch_post_free(&bp);
}

/* POST /batches/validation/ -> {"recipe_count": N, "warnings": [...]} */
void
h_batches_validate(struct req *r)
{
	struct batch_post	 bp = { 0 };
	const char		*params[3];
	struct jw		 w;
	PGresult		*res = NULL;
	enum db_rc		 rc;

	if (batch_post_read(r, &bp) != 0)
		goto out;
	params[0] = bp.user;
	params[1] = bp.rt;
	params[2] = buf_cstr(&bp.def);
	if ((rc = db_exec(r, STMT_BATCH_PREVIEW, 3, params, &res)) != DB_OK) {
		db_fail(r, rc);
		goto out;
	}
	if (PQgetisnull(res, 0, 0)) {
		no_recipe_type(r, bp.br);
		goto out;
	}
	jw_init(&w, r->out);
	jw_obj_open(&w);
	JW_KRAW(&w, "recipe_count", PQgetvalue(res, 0, 0));
	JW_KRAW(&w, "warnings", PQgetvalue(res, 0, 1));
	jw_obj_close(&w);
	resp_json(r, 200, NULL);
out:
	PQclear(res);
	batch_post_free(&bp);
}
