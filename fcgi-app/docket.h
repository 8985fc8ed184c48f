/*
 * docket.h -- the one internal header of docket.
 *
 * It declares the pure modules shared by docketd, docketctl and the unit
 * tests (buffers and JSON writing, parsers, config, signing, tokens, the
 * file store, logging) and, behind DOCKET_DAEMON, the request envelope,
 * router, response writer and database layer that only docketd uses.
 *
 * Conventions used everywhere:
 *  - Functions return 0 (or an enum's *_OK) on success and a negative value
 *    or another enum member on failure; out-parameters are set on success
 *    only.  Cleanup goes through one "fail:"/"out:" label.
 *  - Buffers are bounded: every struct buf has a maximum, and an append past
 *    it marks the buffer failed (sticky), so writers check once at the end.
 *  - Ownership: a pointer is borrowed unless the comment says "owned".
 */
#ifndef DOCKET_H
#define DOCKET_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define DOCKET_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ---- buf.c: bounded byte buffer, JSON writer, encoders ---------------- */

struct buf {
	char	*data;		/* owned; always NUL-terminated when len > 0 */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* hard ceiling on len */
	int	 failed;	/* sticky: an append failed (ENOMEM or max) */
};

void	 buf_init(struct buf *, size_t max);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_puts(struct buf *, const char *);
int	 buf_putc(struct buf *, char);
int	 buf_printf(struct buf *, const char *, ...) DOCKET_PRINTF(2, 3);
const char *buf_cstr(const struct buf *);

#define JW_MAXDEPTH 16

/*
 * A streaming JSON writer over a struct buf.  It tracks commas itself, so
 * callers only say what comes next.  Errors (too deep, buffer failed) are
 * sticky in the buffer.
 */
struct jw {
	struct buf	*b;				/* borrowed */
	int		 depth;
	unsigned char	 need_comma[JW_MAXDEPTH];
	int		 after_key;
};

void	 jw_init(struct jw *, struct buf *);
void	 jw_obj_open(struct jw *);
void	 jw_obj_close(struct jw *);
void	 jw_arr_open(struct jw *);
void	 jw_arr_close(struct jw *);
void	 jw_key(struct jw *, const char *);
void	 jw_str(struct jw *, const char *);	/* NULL writes null */
void	 jw_strn(struct jw *, const char *, size_t);
void	 jw_int(struct jw *, int64_t);
void	 jw_null(struct jw *);
void	 jw_bool(struct jw *, int);
void	 jw_raw(struct jw *, const char *);	/* trusted JSON text */
void	 jw_kstr(struct jw *, const char *, const char *);
void	 jw_kint(struct jw *, const char *, int64_t);
void	 jw_key_lit(struct jw *, const char *, size_t);
/* A PostgreSQL timestamptz in ISO/UTC text ("2015-06-15 19:03:26.346+00")
 * as ISO-8601 with six fraction digits and Z; NULL writes null, text of
 * another shape is written as it is. */
void	 jw_time_iso(struct jw *, const char *);

/*
 * A key that is a string literal needs no escaping and no strlen: the
 * quoted form is built by the compiler.  Listings write a dozen keys a row.
 */
#define JW_KEY(w, k)	jw_key_lit((w), "\"" k "\":", sizeof("\"" k "\":") - 1)
#define JW_KSTR(w, k, v) do { JW_KEY(w, k); jw_str((w), (v)); } while (0)
#define JW_KRAW(w, k, v) do { JW_KEY(w, k); jw_raw((w), (v)); } while (0)

void	 hex_encode(const unsigned char *, size_t, char *out);	/* 2n+1 */
int	 hex_decode(const char *, unsigned char *out, size_t outcap,
	    size_t *outlen);
void	 b64url_encode(const unsigned char *, size_t, char *out); /* no pad */
#define B64URL_LEN(n) (((n) * 4 + 2) / 3)

/* ---- parse.c: pure parsers and validators for network input ----------- */

enum parse_rc {
	PARSE_OK = 0,
	PARSE_MISSING,
	PARSE_EMPTY,
	PARSE_NOT_NUMBER,
	PARSE_NOT_POSITIVE,
	PARSE_RANGE,
	PARSE_DUPLICATE
};

enum parse_rc parse_int64(const char *, int64_t min, int64_t max, int64_t *);

#define QUERY_MAX_LEN		4096
#define QUERY_MAX_PARAMS	64

struct qparam {
	const char	*key;	/* into query.store */
	const char	*val;	/* into query.store */
};

struct query {
	size_t		 n;
	struct qparam	 p[QUERY_MAX_PARAMS];
	char		 store[QUERY_MAX_LEN + 2];
};

enum query_rc {
	QUERY_OK = 0,
	QUERY_TOO_LONG,
	QUERY_TOO_MANY,
	QUERY_BAD_ENCODING
};

enum query_rc query_parse(struct query *, const char *);
const char *query_get(const struct query *, const char *key, size_t *count);
const char *query_unknown(const struct query *, const char *const *allowed);
int	 url_decode(const char *, size_t, char *out, size_t outcap,
	    size_t *outlen);

/* 1 if s[0..len) is one JSON value (RFC 8259, nothing lenient) nested at
 * most max_depth deep, with only white space around it. */
int	 json_syntax_ok(const char *, size_t len, int max_depth);

#define TOKEN_MAX_LEN 128
int	 token_from_headers(const char *authorization, const char *x_api_token,
	    char *out, size_t outcap);

#define UUID_STR_LEN 36
int	 uuid_valid(const char *, size_t);
int	 object_name_valid(const char *, size_t);
int	 queue_name_valid(const char *, size_t);

enum object_kind { OBJECT_ORIGINAL = 0, OBJECT_FULL, OBJECT_MIN };

struct object_ref {
	char		 job_uuid[UUID_STR_LEN + 1];
	char		 name[64];
	enum object_kind kind;
};
int	 object_path_parse(const char *path, struct object_ref *);
const char *object_kind_name(enum object_kind);

/* ---- iso8601.c: date-times and durations of listing filters ----------- */

enum iso_rc {
	ISO_OK = 0,
	ISO_EMPTY,
	ISO_SYNTAX,		/* not the grammar */
	ISO_RANGE,		/* a field out of range (month 13, Feb 30) */
	ISO_NO_ZONE,		/* a date-time without Z or an offset */
	ISO_NO_TIME		/* a date without a time */
};

struct iso_duration {
	int64_t	 years, months, weeks, days;
	int64_t	 hours, minutes, seconds, micros;
};

enum iso_rc iso_datetime_parse(const char *, int64_t *us_since_epoch);
enum iso_rc iso_duration_parse(const char *, struct iso_duration *);
/* now minus a duration, calendar parts first (P1M from Mar 31 is Feb 28/29,
 * as PostgreSQL's timestamptz - interval does in UTC).  ISO_RANGE if the
 * result is before year 1. */
enum iso_rc iso_duration_before(const struct iso_duration *, int64_t now_us,
	    int64_t *out_us);
/* "YYYY-MM-DDTHH:MM:SS.ffffffZ", always 27 bytes + NUL; years 1..9999. */
#define ISO_FMT_LEN	28
int	 iso_format_us(int64_t us_since_epoch, char out[ISO_FMT_LEN]);

/* ---- listing.c: page, order, filter and time parameters of every list -- */

/*
 * A surface describes each of its lists once, as a struct list_spec of
 * whitelisted SQL fragments; list_parse validates a query string against
 * it and list_build turns the result into one SQL statement whose values
 * are all bound parameters.  No text from a client ever reaches the SQL.
 */
#define LIST_MAX_ORDER		8	/* order= values */
#define LIST_MAX_VALUES		32	/* values of one repeatable filter */
#define LIST_MAX_FILTERS	6
#define LIST_MAX_PARAMS		(8 + LIST_MAX_FILTERS * LIST_MAX_VALUES)

enum list_value { LV_TEXT, LV_INT, LV_CHOICE };

struct list_filter {
	const char	*param;		/* query parameter: "status" */
	enum list_value	 type;
	/* LV_CHOICE: the words clients write (NULL-terminated), and what each
	 * binds as (same index; NULL array: the word itself). */
	const char *const *choices;
	const char *const *binds;
	/* A predicate with one %s, replaced by the bound array:
	 * "b.status = ANY(%s)".  Trusted text from the spec. */
	const char	*sql;
	const char	*elem_type;	/* SQL element type: "text", "bigint" */
	/* The same predicate for exactly one value, with %s replaced by
	 * "$n::<elem_type>" ("b.recipe_type_id = %s"), or NULL to use sql.
	 * PostgreSQL 15 walks an index in order for "col = $1" but not for
	 * "col = ANY(ARRAY[$1])": it sorts every matching row instead. */
	const char	*sql_one;
};

struct list_order {
	const char	*param;		/* what clients write: "last_modified" */
	const char	*sql;		/* the expression: "b.last_modified" */
};

/*
 * Two ways to count.  Without a window function the count is a count(*)
 * over the filtered rows.  With one, it is
 *   window_fn(owner bigint, <one array per filter, in spec order, NULL when
 *     not given>, started timestamptz, ended timestamptz, descending
 *     boolean, offset bigint) RETURNS (total bigint, lo timestamptz,
 *     hi timestamptz, skip bigint)
 * which reads maintained counts; when the first order key is the time
 * column it also says where the page starts (time >= lo AND time <= hi,
 * then OFFSET skip), so a deep page costs about what page 1 costs.
 */
struct list_spec {
	const char	*inner;		/* "batches b": the table pages come from */
	const char	*select;	/* outer SELECT list over the page rows */
	const char	*joins;		/* joins after the page is cut ("" none) */
	const char	*owner;		/* tenancy column, "b.user_id" */
	const char	*time;		/* started/ended column, NULL: none */
	const char	*tiebreak;	/* unique column ending every ORDER BY */
	const struct list_filter *filters;
	size_t		 nfilters;
	const struct list_order *orders;
	size_t		 norders;
	const char	*default_order;	/* "last_modified" or "-date" */
	const char	*window_fn;	/* NULL: count(*) */
	int		 drf_pages;	/* page/page_size lenient as Django REST
					 * Framework: bad page_size = default,
					 * above max = max, page=last */
	const char *const *extra_params;	/* other names the route takes */
};

#define LIST_PAGE_SIZE_DEFAULT	100
#define LIST_PAGE_SIZE_MAX	1000
#define LIST_PAGE_LAST		(-1)	/* page=last, drf_pages only */

struct list_params {
	int64_t		 page;		/* >= 1, or LIST_PAGE_LAST */
	int64_t		 page_size;
	int		 has_started;
	int64_t		 started_us, ended_us;	/* ended defaults to now */
	size_t		 norder;
	struct {
		size_t	 field;		/* index into spec->orders */
		int	 desc;
	}		 order[LIST_MAX_ORDER];
	/* per spec filter: the values given, as bound (borrowed from the
	 * query or from spec->binds) */
	size_t		 nvalues[LIST_MAX_FILTERS];
	const char	*values[LIST_MAX_FILTERS][LIST_MAX_VALUES];
	int		 any_given;	/* some listing parameter was present */
};

enum list_rc {
	LIST_OK = 0,
	LIST_BAD_PARAM,		/* 400 naming err->param */
	LIST_NO_PAGE		/* 404 "Invalid page." */
};

struct list_error {
	char	 param[64];
	char	 message[192];
};

enum list_rc list_parse(const struct list_spec *, const struct query *,
	    int64_t now_us, struct list_params *, struct list_error *);

/* The statement list_build makes, and the storage of its parameters. */
struct list_sql {
	struct buf	 text;			/* owned */
	int		 nparams;
	const char	*params[LIST_MAX_PARAMS];	/* borrowed or into store */
	char		 store[16][ISO_FMT_LEN];	/* formatted numbers, times */
	size_t		 nstore;
	int		 seeks;		/* the window places the page */
};

/*
 * Build the page statement.  owner: the caller's user id, 0 for every
 * user (admins).  offset is (page - 1) * page_size.  Result columns: 0 the
 * total count (on every row; one row of NULLs after it when the page is
 * empty), then the spec's select list.
 */
int	 list_build(const struct list_spec *, const struct list_params *,
	    int64_t owner, int64_t offset, struct list_sql *);
void	 list_sql_free(struct list_sql *);

/*
 * An absolute link to another page of the same list: base ("https://h:p")
 * + path + the query with page set to page (removed when page is 1, as
 * DRF's previous link does) and every other parameter kept, in order,
 * percent-encoded again.
 */
int	 list_link(const char *base, const char *path, const struct query *,
	    int64_t page, struct buf *out);

/* ---- batchdef.c: the body of POST /batches/ (seed 003) ----------------- */

#define BATCH_TITLE_MAX	255
#define BATCH_DESC_MAX	4000

struct batch_request {
	int64_t		 recipe_type_id;
	int		 has_title, has_description;	/* else JSON null */
	char		 title[BATCH_TITLE_MAX + 1];
	char		 description[BATCH_DESC_MAX + 1];
};

struct batch_error {
	char	 field[64];	/* "definition.date_range.started" */
	char	 message[128];
};

int	 batch_request_parse(const char *body, size_t len,
	    struct batch_request *, struct buf *def, struct batch_error *);

/* ---- config.c ---------------------------------------------------------- */

struct config {
	char	 listen[256];
	long	 workers;
	long	 threads;
	char	 db[1024];
	long	 db_pool;
	char	 store_dir[512];
	char	 sql_dir[512];
	char	 base_url[256];
	char	 signing_keys[1024];
	char	 signing_key_id[32];
	long	 url_expires_default;
	long	 url_expires_max;
	long	 jobs_list_max;
	long	 shutdown_grace;
	long	 queue_body_max;	/* bytes of a queue request body */
	long	 queue_lease_default;	/* seconds, no X-Accepted-Timeout */
	long	 queue_lease_max;
	long	 queue_block_max;	/* X-Accepted-Block-For ceiling */
	long	 queue_wait_max;	/* X-Accepted-Wait-Result ceiling */
	long	 queue_delay_max;
	long	 queue_ttl_max;
	long	 queue_job_timeout_max;
	long	 queue_notify_always;	/* 1: NOTIFY even with no local waiter */
	long	 dispatcher;		/* 1: docketd runs the dispatcher */
	long	 dispatch_interval_ms;
	long	 queue_max_attempts;	/* expired leases before a job fails */
	char	 callback_key[256];	/* HMAC key of callback signatures */
	char	 callback_allow_nets[512];	/* CIDRs exempt from the
						 * private-address refusal */
	long	 callback_timeout;	/* seconds per delivery attempt */
	long	 callback_max_attempts;
	long	 callback_backoff_base;	/* seconds; doubles per attempt */
	long	 callback_backoff_max;
};

int	 config_load(struct config *, const char *path, char *err, size_t);
const char *config_default_path(void);

/* ---- sign.c: presigned object URLs ------------------------------------- */

#define SIGN_MAX_KEYS	8
#define SIGN_KID_MAX	16
#define SIGN_SIG_LEN	B64URL_LEN(32)

struct sign_key {
	char		 id[SIGN_KID_MAX + 1];
	unsigned char	 key[64];
	size_t		 keylen;
};

struct signer {
	struct sign_key	 keys[SIGN_MAX_KEYS];
	size_t		 nkeys;
	size_t		 current;
};

enum sign_rc {
	SIGN_OK = 0,
	SIGN_INVALID,
	SIGN_EXPIRED
};

int	 signer_init(struct signer *, const char *keys, const char *current,
	    char *err, size_t errlen);
int	 sign_compute(const struct sign_key *, const char *method,
	    const char *path, int64_t expires, char out[SIGN_SIG_LEN + 1]);
int	 sign_url(const struct signer *, const char *base, const char *path,
	    int64_t expires, struct buf *out);
enum sign_rc sign_verify(const struct signer *, const char *method,
	    const char *path, const char *expires, const char *kid,
	    const char *sig, time_t now);

/* ---- token.c: API tokens ------------------------------------------------ */

#define TOKEN_PREFIX	"dkt_"
#define TOKEN_LEN	(4 + B64URL_LEN(32))

int	 token_generate(char out[TOKEN_LEN + 1]);
void	 token_hash_bytea(const char *token, char out[2 + 64 + 1]);
int	 uuid_generate_v4(char out[37]);

/* ---- store.c: the file store -------------------------------------------- */

int	 store_path(char *out, size_t, const char *root, const char *job_uuid,
	    const char *name);
int	 store_remove_tree(const char *path);
int	 store_trash(const char *root, const char *job_uuid, char *out,
	    size_t outlen);
int	 store_untrash(const char *root, const char *job_uuid,
	    const char *trash);
int	 store_copy_in(const char *src, const char *dst, uid_t, gid_t,
	    int64_t *size);
const char *store_content_type(const char *name);
void	 store_safe_filename(const char *in, char *out, size_t outlen);

/* ---- callback.c: callback URLs and signatures (the dispatcher sends) -- */

enum cb_url_rc {
	CB_URL_OK = 0,
	CB_URL_INVALID,		/* not an absolute http(s) URL we accept */
	CB_URL_PRIVATE		/* loopback/private/link-local, not allowed */
};

/*
 * Check a callback URL as given by a client: syntax (http or https, a
 * host, no user info, at most 2048 bytes) and, for a literal IP address or
 * "localhost", the private-address rule with allow_nets exempt (a comma
 * list of CIDRs, "" for none).  Host names are resolved and checked again
 * by the dispatcher at delivery.  why gets a sentence for the client.
 */
enum cb_url_rc callback_url_check(const char *url, const char *allow_nets,
	    char *why, size_t whylen);

/* ---- log.c --------------------------------------------------------------- */

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
void	 log_msg(enum log_level, const char *, ...) DOCKET_PRINTF(2, 3);

/* ---- docketd only: request envelope, routing, responses, database ----- */

#include <fcgiapp.h>
#include <libpq-fe.h>
#include <pthread.h>

#define RESP_MAX	(8u << 20)	/* largest response body docketd builds */

enum role { ROLE_NONE = 0, ROLE_USER, ROLE_ADMIN, ROLE_WORKER };

struct db_pool;
struct db_conn;

/* Per worker process; read-only once the threads start. */
struct app {
	const struct config	*cfg;		/* borrowed */
	struct signer		 signer;
	struct db_pool		*pool;		/* owned */
};

/*
 * One request.  Lives on a worker thread's stack for one FCGX_Accept_r ..
 * FCGX_Finish_r cycle; every pointer into FCGX params dies with it.
 */
struct req {
	FCGX_Request	*fcgi;		/* borrowed */
	struct app	*app;		/* borrowed */
	const char	*method;	/* FCGX param */
	const char	*path;		/* FCGX param (nginx's decoded $uri) */
	struct query	 query;
	int64_t		 user_id;	/* from nginx auth_request, 0 if none */
	enum role	 role;
	const char	*queues;	/* FCGX param: a worker token's queues,
					 * "a,b"; "" or NULL = every queue */
	struct buf	*out;		/* thread's response buffer, reset here */
	struct db_conn	*db;		/* checked out on first query */
	int		 in_tx;
	int		 responded;
};

typedef void (*handler_fn)(struct req *);

/* request.c */
void	 request_handle(struct app *, FCGX_Request *, struct buf *out);
const char *req_param(const struct req *, const char *);
enum body_rc { BODY_OK = 0, BODY_TOO_LARGE, BODY_READ_ERROR };
enum body_rc req_read_body(struct req *, size_t max, struct buf *);
int	 req_base_url(const struct req *, struct buf *);
int	 req_is_admin(const struct req *);
int	 req_peer_closed(const struct req *);

/* router.c */
enum route_rc { ROUTE_FOUND = 0, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };

/* Who may call a route (from nginx's auth_request answer). */
enum access {
	ACCESS_PUBLIC = 0,	/* no identity needed */
	ACCESS_USER,		/* user and admin tokens */
	ACCESS_LEASE		/* also worker tokens: lease, heartbeat, finish */
};

struct route {
	const char	*method;
	const char	*path;
	int		 prefix;	/* path is a prefix ("/objects/") */
	enum access	 access;
	handler_fn	 fn;
};

enum route_rc route_match(const char *method, const char *path,
	    const struct route **, char *allow, size_t allowlen);

/* response.c: the one place that writes to the FastCGI stream. */
void	 resp_send(struct req *, int status, const char *headers,
	    const char *ctype, const char *body, size_t len);
void	 resp_json(struct req *, int status, const char *headers);
void	 resp_error(struct req *, int status, const char *message,
	    const char *param);
void	 resp_error_detail(struct req *, int status, const char *message,
	    const char *key, const char *value);
void	 resp_detail(struct req *, int status, const char *detail);
const char *db_error_message(int status);
const char *http_reason(int status);

/* db.c: the statement catalogue, the per-process pool, SQLSTATE mapping. */
enum stmt {
	STMT_PING = 0,
	STMT_AUTH,
	STMT_JOB_GET,
	STMT_JOB_LIST_USER,
	STMT_JOB_LIST_ALL,
	STMT_JOB_FIND,
	STMT_JOB_DELETE,
	STMT_OBJECT_FIND,
	STMT_OBJECT_FETCH,
	STMT_RESULT_FETCH,
	STMT_Q_ENQUEUE,
	STMT_Q_GET,
	STMT_Q_LEASE,
	STMT_Q_UPDATE,
	STMT_Q_LOCK,
	STMT_Q_CANCEL,
	STMT_Q_NOTIFY,
	STMT_BATCH_SUBMIT,
	STMT_BATCH_PREVIEW,
	STMT__MAX
};

enum db_rc {
	DB_OK = 0,
	DB_UNAVAILABLE,		/* no connection, or it broke: 503 */
	DB_BAD_INPUT,		/* 22xxx, 23502, 23514: 400 */
	DB_CONFLICT,		/* 23505: 409 */
	DB_BUSY,		/* 40001, 40P01, 57014: 503 */
	DB_ERROR		/* anything else: 500 */
};

struct db_pool *db_pool_new(const char *conninfo, long size);
void	 db_pool_free(struct db_pool *);
enum db_rc db_exec(struct req *, enum stmt, int nparams,
	    const char *const *params, PGresult **);
enum db_rc db_exec_sql(struct req *, const char *label, int retry_safe,
	    const char *sql, int nparams, const char *const *params,
	    PGresult **);
enum db_rc db_begin(struct req *);
enum db_rc db_commit(struct req *);
void	 db_rollback(struct req *);
void	 db_release(struct req *);
int	 db_http_status(enum db_rc);
void	 resp_db_error(struct req *, enum db_rc);

/*
 * waiter.c: long-polls without a database connection.  Each worker process
 * has one LISTEN connection (a thread of its own) on the docket_queue and
 * docket_done channels; a request that waits registers a struct waiter and
 * sleeps on its condition variable until a matching NOTIFY, its deadline,
 * or shutdown.
 */
#define WAIT_MAX_QUEUES	16

enum wait_kind { WAIT_JOB, WAIT_RESULT };
enum wait_rc { WAIT_WOKEN = 0, WAIT_TIMEOUT, WAIT_STOPPING };

struct waiter {
	enum wait_kind	 kind;
	/* WAIT_JOB: what the caller may lease */
	const char	*queues[WAIT_MAX_QUEUES];	/* borrowed */
	size_t		 nqueues;			/* 0: any queue */
	int64_t		 user_id;			/* 0: any user */
	/* WAIT_RESULT: the job waited on */
	char		 uuid[UUID_STR_LEN + 1];
	/* private to waiter.c */
	int		 woken;
	char		 note[192];	/* the docket_queue payload that woke it */
	pthread_cond_t	 cv;
	struct waiter	*prev, *next;
};

#define DOCKET_MAX_WORKERS	64

int	 waiter_shared_init(void);
void	 waiter_slot_reset(int slot);
int	 waiter_start(const struct config *, int slot);
int	 waiter_any(enum wait_kind);
void	 waiter_stop(void);
void	 waiter_add(struct waiter *);
enum wait_rc waiter_sleep(struct waiter *, const struct timespec *deadline);
void	 waiter_consume(struct waiter *);
void	 waiter_remove(struct waiter *);

/* dispatcher.c: lease expiry, timeouts, result TTL, callbacks. */
void	 dispatcher_main(const struct config *) __attribute__((noreturn));

/* list_page.c: run a listing (listing.c builds it) for a request. */
struct list_page {
	PGresult	*res;		/* owned: column 0 the count, then the
					 * spec's select list */
	int64_t		 total;
	int64_t		 page;		/* page=last resolved */
	int		 nrows;		/* rows of the page, 0 when empty */
	struct buf	 next, previous;	/* absolute URLs; empty: null */
};

int	 list_page_run(struct req *, const struct list_spec *,
	    const struct list_params *, int64_t owner, struct list_page *,
	    enum db_rc *);
void	 list_page_free(struct list_page *);
void	 list_page_begin(struct jw *, const struct list_page *,
	    const char *items);
void	 list_page_end(struct jw *);

/* Handlers: one file per surface. */
void	 h_healthz(struct req *);
void	 h_auth(struct req *);
void	 h_object_get(struct req *);
void	 h_jobs_get(struct req *);
void	 h_jobs_list(struct req *);
void	 h_jobs_object_url(struct req *);
void	 h_jobs_delete(struct req *);
void	 h_queue_enqueue(struct req *);
void	 h_queue_get(struct req *);
void	 h_queue_update(struct req *);
void	 h_queue_delete(struct req *);
void	 h_queue_want(struct req *);
void	 h_batches_list(struct req *);
void	 h_batches_get(struct req *);
void	 h_batches_create(struct req *);
void	 h_batches_validate(struct req *);

#endif /* DOCKET_H */
