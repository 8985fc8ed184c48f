/*
 * db.c -- PostgreSQL access for docketd: the statement catalogue, the
 * per-process connection pool, and the mapping of SQLSTATEs to HTTP.
 *
 * Each worker process owns db_pool connections, shared by its threads: a
 * request checks one out on its first query and gives it back when it ends
 * (db_release), so a thread that waits on something else holds none.
 * Connections are made lazily and every statement in stmts[] is prepared
 * once per connection.  When PostgreSQL restarts, the broken connection is
 * reset on the next use; a statement marked retry_safe (reads, outside a
 * transaction) is run again once on the fresh connection, anything else
 * fails with DB_UNAVAILABLE (503) and the next request gets the new
 * connection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docket.h"


struct stmt_def {
	const char	*name;
	const char	*sql;
	int		 retry_safe;
};

static const struct stmt_def stmts[STMT__MAX] = {
	[STMT_PING] = { "ping", "SELECT 1", 1 },
	[STMT_AUTH] = { "auth",
	    "SELECT user_id, role, array_to_string(queues, ',')"
	    " FROM api_tokens"
	    " WHERE token_hash = $1::bytea AND revoked_at IS NULL"
	    " AND (expires_at IS NULL OR expires_at > now())", 1 },
	/* One round trip: the job, its objects and their results. */
	[STMT_JOB_GET] = { "job_get",
	    "SELECT j.id, u.name, j.name,"
	    " to_char(j.created_at AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD HH24:MI:SS.US\"000 UTC\"'),"
	    " j.total_size, j.credits_spent, u.email, j.state, j.uuid,"
	    " o.object_uuid, o.original_name, o.media_length, o.failure, r.kind"
	    " FROM jobs j JOIN users u ON u.id = j.user_id"
	    " LEFT JOIN job_objects o ON o.job_id = j.id"
	    " LEFT JOIN object_results r"
	    "  ON r.job_id = o.job_id AND r.object_uuid = o.object_uuid"
	    " WHERE j.id = $1 AND (j.user_id = $2 OR $3::boolean)"
	    " ORDER BY o.created_at, o.object_uuid, r.kind", 1 },
	[STMT_JOB_LIST_USER] = { "job_list_user",
	    "SELECT id, name, to_char(created_at AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD HH24:MI:SS.US\"000 UTC\"'),"
	    " total_size, credits_spent, state FROM jobs WHERE user_id = $1"
	    " ORDER BY created_at DESC, id DESC LIMIT $2", 1 },
	[STMT_JOB_LIST_ALL] = { "job_list_all",
	    "SELECT id, name, to_char(created_at AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD HH24:MI:SS.US\"000 UTC\"'),"
	    " total_size, credits_spent, state FROM jobs"
	    " ORDER BY created_at DESC, id DESC LIMIT $1", 1 },
	/* FOR UPDATE: concurrent deletes of one job run one after another. */
	[STMT_JOB_FIND] = { "job_find",
	    "SELECT uuid FROM jobs WHERE id = $1"
	    " AND (user_id = $2 OR $3::boolean) FOR UPDATE", 0 },
	[STMT_JOB_DELETE] = { "job_delete",
	    "DELETE FROM jobs WHERE id = $1 RETURNING id", 0 },
	/* No row: no such job; a NULL object: the job has no such object. */
	[STMT_OBJECT_FIND] = { "object_find",
	    "SELECT j.uuid, o.object_uuid FROM jobs j"
	    " LEFT JOIN job_objects o"
	    "  ON o.job_id = j.id AND o.object_uuid = $4"
	    " WHERE j.id = $1 AND (j.user_id = $2 OR $3::boolean)", 1 },
	[STMT_OBJECT_FETCH] = { "object_fetch",
	    "SELECT o.original_name, o.content_type FROM jobs j"
	    " JOIN job_objects o ON o.job_id = j.id"
	    " WHERE j.uuid = $1::uuid AND o.object_uuid = $2", 1 },
	[STMT_RESULT_FETCH] = { "result_fetch",
	    "SELECT o.original_name FROM jobs j"
	    " JOIN object_results r ON r.job_id = j.id"
	    " JOIN job_objects o"
	    "  ON o.job_id = r.job_id AND o.object_uuid = r.object_uuid"
	    " WHERE j.uuid = $1::uuid AND r.object_uuid = $2 AND r.kind = $3",
	    1 },
	/*
	 * The queue surface (seed 002): the functions of sql/003_queue.sql.
	 * A request body goes in whole as jsonb and the SQL takes "params" or
	 * "result" from it, so numbers and strings reach the table exactly as
	 * the client wrote them.  Scope: $user NULL = any owner, $queues NULL
	 * = any queue.
	 */
	[STMT_Q_ENQUEUE] = { "q_enqueue",
	    "SELECT queue_job_json(j, false), j.uuid"
	    " FROM queue_enqueue($1, $2, ($3::jsonb)->'params', $4, $5, $6, $7,"
	    " $8) j", 0 },
	[STMT_Q_GET] = { "q_get",
	    "SELECT queue_job_json(j, false), j.state IN ('succeeded',"
	    " 'failed', 'canceled') FROM jobs j"
	    " WHERE j.uuid = $1::uuid AND ($2::bigint IS NULL OR j.user_id = $2)",
	    1 },
	[STMT_Q_LEASE] = { "q_lease",
	    "SELECT queue_job_json(j, true), j.lease_token"
	    " FROM queue_lease($1::text[], $2, $3, $4) j", 0 },
	[STMT_Q_UPDATE] = { "q_update",
	    "SELECT u.outcome, queue_job_json(u.job, false)"
	    " FROM queue_update($1::uuid, $2, $3::text[], $4::uuid, $5,"
	    " ($6::jsonb)->'result') u", 0 },
	/* FOR UPDATE: a delete and a lease of one job run one after another. */
	[STMT_Q_LOCK] = { "q_lock",
	    "SELECT state = 'running' FROM jobs"
	    " WHERE uuid = $1::uuid AND ($2::bigint IS NULL OR user_id = $2)"
	    " FOR UPDATE", 0 },
	[STMT_Q_CANCEL] = { "q_cancel",
	    "SELECT c.outcome, queue_job_json(c.job, false)"
	    " FROM queue_cancel($1::uuid, $2) c", 0 },
	/* A transaction of its own, after the change committed: see the top
	 * of sql/003_queue.sql for why not inside it. */
	[STMT_Q_NOTIFY] = { "q_notify", "SELECT pg_notify($1, $2)", 0 },
	/* The batches surface (seed 003): sql/004_batches.sql.  NULL: no
	 * such recipe type. */
	[STMT_BATCH_SUBMIT] = { "b_submit",
	    "SELECT batch_submit($1, $2, $3, $4, $5::jsonb)", 0 },
	[STMT_BATCH_PREVIEW] = { "b_preview",
	    "SELECT recipe_count, warnings FROM batch_preview($1, $2, $3::jsonb)",
	    1 },
};

/*
 * Statements built per request (listings: list_build) are prepared on
 * first use and kept, a few per connection: a listing's text depends only
 * on which parameters were given, so a handful of shapes cover a workload,
 * and each then skips parsing and planning as the catalogue does.
 */
#define DYN_CACHE	32

struct dyn_stmt {
	char		*sql;		/* owned; NULL: free slot */
	uint64_t	 hash;
	char		 name[24];
};

struct db_conn {
	PGconn		*pg;		/* owned; NULL until first use */
	int		 ready;		/* connected and statements prepared */
	int		 in_use;
	struct dyn_stmt	 dyn[DYN_CACHE];
	unsigned	 dyn_next;	/* round-robin victim */
	unsigned	 dyn_serial;	/* names stay unique per connection */
};

struct db_pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	char		*conninfo;	/* owned */
	long		 size;
	struct db_conn	*conns;		/* owned, size entries */
};

/* SQLSTATE classes and codes to outcomes; first match wins. */
static const struct {
	const char	*prefix;
	enum db_rc	 rc;
} sqlstate_map[] = {
	{ "23505", DB_CONFLICT },
	{ "23502", DB_BAD_INPUT },
	{ "23514", DB_BAD_INPUT },
	{ "22", DB_BAD_INPUT },
	{ "40001", DB_BUSY },
	{ "40P01", DB_BUSY },
	{ "57014", DB_BUSY },
	{ "57P", DB_UNAVAILABLE },
	{ "08", DB_UNAVAILABLE },
	{ "53", DB_UNAVAILABLE },
};

static void
dyn_clear(struct db_conn *c)
{
	size_t	 i;

	for (i = 0; i < DYN_CACHE; i++) {
		free(c->dyn[i].sql);
		c->dyn[i].sql = NULL;
	}
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/*
 * The name of sql prepared on c, preparing it (and evicting the oldest
 * entry) if needed.  NULL on failure, with the error logged.
 */
static const char *
dyn_prepare(struct db_conn *c, const char *sql)
{
	struct dyn_stmt	*d;
	PGresult	*res;
	char		 dealloc[48];
	uint64_t	 h = fnv1a(sql);
	size_t		 i;

	for (i = 0; i < DYN_CACHE; i++)
		if (c->dyn[i].sql != NULL && c->dyn[i].hash == h &&
		    strcmp(c->dyn[i].sql, sql) == 0)
			return c->dyn[i].name;
	d = &c->dyn[c->dyn_next++ % DYN_CACHE];
	if (d->sql != NULL) {
		snprintf(dealloc, sizeof(dealloc), "DEALLOCATE %s", d->name);
		PQclear(PQexec(c->pg, dealloc));
		free(d->sql);
		d->sql = NULL;
	}
	snprintf(d->name, sizeof(d->name), "dyn_%u", c->dyn_serial++);
	res = PQprepare(c->pg, d->name, sql, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_msg(LOG_ERR, "prepare %s: %s", d->name,
		    PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	if ((d->sql = strdup(sql)) == NULL)
		return NULL;
	d->hash = h;
	return d->name;
}

struct db_pool *
db_pool_new(const char *conninfo, long size)
{
	struct db_pool	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->size = size;
	p->conninfo = strdup(conninfo);
	p->conns = calloc((size_t)size, sizeof(*p->conns));
	if (p->conninfo == NULL || p->conns == NULL) {
		db_pool_free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return p;
}

void
db_pool_free(struct db_pool *p)
{
	long	 i;

	if (p == NULL)
		return;
	for (i = 0; p->conns != NULL && i < p->size; i++) {
		if (p->conns[i].pg != NULL)
			PQfinish(p->conns[i].pg);
		dyn_clear(&p->conns[i]);
	}
	free(p->conns);
	free(p->conninfo);
	free(p);
}

/* Block until a connection is free; prefer one that is already connected. */
static struct db_conn *
pool_acquire(struct db_pool *p)
{
	struct db_conn	*c = NULL;
	long		 i;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		for (i = 0; i < p->size; i++) {
			if (p->conns[i].in_use)
				continue;
			if (c == NULL || (!c->ready && p->conns[i].ready))
				c = &p->conns[i];
		}
		if (c != NULL)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	c->in_use = 1;
	pthread_mutex_unlock(&p->mu);
	return c;
}

static void
pool_put(struct db_pool *p, struct db_conn *c)
{
	pthread_mutex_lock(&p->mu);
	c->in_use = 0;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Connect (or reconnect) and prepare the catalogue. */
static int
conn_ensure(struct db_conn *c, const char *conninfo)
{
	/*
	 * Times leave PostgreSQL as text in UTC and ISO form whatever the
	 * server's defaults, so a surface can turn "2015-06-15 19:03:26.346+00"
	 * into its own format with no parsing (jw_time_iso).
	 */
	static const char *const keys[] = { "dbname", "connect_timeout",
	    "application_name", "options", NULL };
	const char	*vals[] = { conninfo, "3", "docketd",
	    "-c TimeZone=UTC -c DateStyle=ISO,YMD", NULL };
	PGresult	*res;
	int		 i;

	if (c->ready && PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	c->ready = 0;
	if (c->pg != NULL)
		PQfinish(c->pg);
	dyn_clear(c);
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		log_msg(LOG_ERR, "database connection failed: %s",
		    c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return -1;
	}
	for (i = 0; i < STMT__MAX; i++) {
		res = PQprepare(c->pg, stmts[i].name, stmts[i].sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_msg(LOG_ERR, "prepare %s: %s", stmts[i].name,
			    PQresultErrorMessage(res));
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	c->ready = 1;
	return 0;
}

static enum db_rc
map_sqlstate(const PGresult *res)
{
	const char	*state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	size_t		 i;

	if (state == NULL)
		return DB_ERROR;
	for (i = 0; i < sizeof(sqlstate_map) / sizeof(sqlstate_map[0]); i++)
		if (strncmp(state, sqlstate_map[i].prefix,
		    strlen(sqlstate_map[i].prefix)) == 0)
			return sqlstate_map[i].rc;
	return DB_ERROR;
}

static enum db_rc
req_conn(struct req *r)
{
	if (r->db == NULL)
		r->db = pool_acquire(r->app->pool);
	if (conn_ensure(r->db, r->app->pool->conninfo) != 0)
		return DB_UNAVAILABLE;
	return DB_OK;
}

/*
 * Run a catalogue statement with text parameters.  On DB_OK *out holds the
 * result, which the caller owns and must PQclear; on failure *out is
 * untouched and the error is logged here with libpq's detail (the client
 * only ever sees the short message resp_db_error writes).
 */
static enum db_rc
exec_prepared(struct req *r, const char *label, int retry_safe,
    const char *sql, int nparams, const char *const *params, PGresult **out)
{
	PGresult	*res;
	ExecStatusType	 st;
	enum db_rc	 rc;
	const char	*name;
	int		 attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((rc = req_conn(r)) != DB_OK)
			return rc;
		name = sql == NULL ? label : dyn_prepare(r->db, sql);
		if (name == NULL) {
			if (PQstatus(r->db->pg) != CONNECTION_OK) {
				r->db->ready = 0;
				if (retry_safe && !r->in_tx)
					continue;
				return DB_UNAVAILABLE;
			}
			return DB_ERROR;
		}
		res = PQexecPrepared(r->db->pg, name, nparams, params, NULL,
		    NULL, 0);
		st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			*out = res;
			return DB_OK;
		}
		if (PQstatus(r->db->pg) != CONNECTION_OK) {
			log_msg(LOG_WARN, "%s: connection lost: %s", label,
			    PQerrorMessage(r->db->pg));
			PQclear(res);
			r->db->ready = 0;
			if (retry_safe && !r->in_tx)
				continue;
			return DB_UNAVAILABLE;
		}
		rc = map_sqlstate(res);
		log_msg(rc == DB_ERROR ? LOG_ERR : LOG_INFO, "%s: %s", label,
		    PQresultErrorMessage(res));
		PQclear(res);
		return rc;
	}
	return DB_UNAVAILABLE;
}

/*
 * Run a catalogue statement with text parameters.  On DB_OK *out holds the
 * result, which the caller owns and must PQclear; on failure *out is
 * untouched and the error is logged here with libpq's detail (the client
 * only ever sees the short message resp_db_error writes).
 */
enum db_rc
db_exec(struct req *r, enum stmt s, int nparams, const char *const *params,
    PGresult **out)
{
	return exec_prepared(r, stmts[s].name, stmts[s].retry_safe, NULL,
	    nparams, params, out);
}

/*
 * Run a statement built for this request (from whitelisted fragments only:
 * list_build), prepared once per connection and cached.  label names it in
 * the log; a read (retry_safe) is run again once after a reconnect, as
 * db_exec does.
 */
enum db_rc
db_exec_sql(struct req *r, const char *label, int retry_safe,
    const char *sql, int nparams, const char *const *params, PGresult **out)
{
	return exec_prepared(r, label, retry_safe, sql, nparams, params, out);
}

static enum db_rc
db_simple(struct req *r, const char *sql)
{
	PGresult	*res;
	enum db_rc	 rc = DB_OK;

	if ((rc = req_conn(r)) != DB_OK)
		return rc;
	res = PQexec(r->db->pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (PQstatus(r->db->pg) != CONNECTION_OK) {
			r->db->ready = 0;
			rc = DB_UNAVAILABLE;
		} else
			rc = map_sqlstate(res);
		log_msg(LOG_WARN, "%s: %s", sql, PQresultErrorMessage(res));
	}
	PQclear(res);
	return rc;
}

enum db_rc
db_begin(struct req *r)
{
	enum db_rc	 rc = db_simple(r, "BEGIN");

	if (rc == DB_OK)
		r->in_tx = 1;
	return rc;
}

enum db_rc
db_commit(struct req *r)
{
	enum db_rc	 rc = db_simple(r, "COMMIT");

	r->in_tx = 0;
	return rc;
}

void
db_rollback(struct req *r)
{
	if (r->in_tx && r->db != NULL && r->db->ready)
		(void)db_simple(r, "ROLLBACK");
	r->in_tx = 0;
}

/* Give the connection back; a transaction left open is rolled back. */
void
db_release(struct req *r)
{
	if (r->db == NULL)
		return;
	if (r->in_tx)
		db_rollback(r);
	pool_put(r->app->pool, r->db);
	r->db = NULL;
}

int
db_http_status(enum db_rc rc)
{
	switch (rc) {
	case DB_OK:
		return 200;
	case DB_BAD_INPUT:
		return 400;
	case DB_CONFLICT:
		return 409;
	case DB_UNAVAILABLE:
	case DB_BUSY:
		return 503;
	default:
		return 500;
	}
}

/* The short message a client sees for a database outcome's status. */
const char *
db_error_message(int status)
{
	switch (status) {
	case 400:
		return "Bad request";
	case 409:
		return "Conflict";
	case 503:
		return "Service unavailable";
	default:
		return "Internal server error";
	}
}

void
resp_db_error(struct req *r, enum db_rc rc)
{
	int	 status = db_http_status(rc);

	resp_error(r, status, db_error_message(status), NULL);
}
