/*
 * dispatcher.c -- the queue's background work: expired leases, job
 * timeouts, result TTLs, delayed jobs coming due, and callbacks.
 *
 * docketd's master forks one dispatcher process (config `dispatcher = 1`)
 * beside its workers and restarts it when it dies.  It never accepts
 * FastCGI requests.  Every docketd of a database may run one, but only one
 * is active: the one holding the session advisory lock DISPATCH_LOCK_KEY.
 * The others stand by and try again every second, so a second host (or a
 * second docketd on this one, as the tests start) takes over within a
 * second or so of the active one going away.
 *
 * The main thread, on its own connection ("docket-dispatcher"), takes the
 * lock and runs the sweeps of sql/003_queue.sql every dispatch_interval_ms.
 * A second thread, on a connection of its own ("docket-callbacks"),
 * delivers callbacks from the outbox (the callbacks table) while the main
 * thread holds the lock.  All state is in the database: a restarted
 * dispatcher carries on where the last one stopped.
 *
 * Delivery is at least once: a callback sent but not recorded (the process
 * died, the database went away) is sent again.  Receivers deduplicate on
 * X-Docket-Delivery.
 *
 * SIGTERM: the main thread leaves its wait at once, the callback thread
 * abandons a delivery in progress (it is not recorded, so it is retried),
 * and the process exits within about a second.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "docket.h"
#include "callback.h"

/*
 * The advisory lock that makes one dispatcher active per database: "docket"
 * in ASCII, a key no other user of pg_advisory_lock is likely to pick.
 */
#define DISPATCH_LOCK_KEY	"110429572130164"
#define EXPIRED_BATCH		100
#define EXPIRED_ROUNDS		10	/* batches per tick at most */
#define CALLBACK_BATCH		"16"
#define RESOLVE_MAX		16	/* pinned addresses per delivery */
#define ERROR_MAX		300	/* bytes of error text recorded */
#define STOP_WAIT_MS		900
#define CREATOR_ROUNDS		8	/* batch creator jobs per tick */
/* Folded job count deltas are dead rows that every jobs-list count reads
 * past until a VACUUM: vacuum after this many, so the scan stays a few
 * dozen pages (sql/005_job_counts.sql). */
#define FOLD_VACUUM_ROWS	2000
/* ... and let VACUUM give pages back (a short exclusive lock, which it
 * drops when an insert waits) only once the table has grown past this. */
#define FOLD_TRUNCATE_PAGES	128
#define ERROR_WAIT_MS		5000	/* after a failed sweep: no log flood */

/* ---- statements -------------------------------------------------------- */

enum dstmt {
	DS_LOCK = 0,
	DS_SINCE,
	DS_LEASES,
	DS_TIMEOUTS,
	DS_EXPIRED,
	DS_NOTIFY,
	DS_CB_DUE,
	DS_CB_RECORD,
	DS_CREATOR,
	DS_FOLD,
	DS__MAX
};

static const struct {
	const char	*name;
	const char	*sql;
} dstmts[DS__MAX] = {
	[DS_LOCK] = { "d_lock",
	    "SELECT pg_try_advisory_lock(" DISPATCH_LOCK_KEY ")" },
	/* A few seconds back, so jobs that came due while no dispatcher ran
	 * (a restart) still wake their waiters. */
	[DS_SINCE] = { "d_since", "SELECT now() - interval '5 seconds'" },
	[DS_LEASES] = { "d_leases",
	    "SELECT requeued, failed FROM queue_sweep_leases($1::integer)" },
	[DS_TIMEOUTS] = { "d_timeouts", "SELECT queue_sweep_timeouts()" },
	[DS_EXPIRED] = { "d_expired",
	    "SELECT * FROM queue_sweep_expired($1::integer)" },
	[DS_NOTIFY] = { "d_notify",
	    "SELECT queue_notify_due($1::timestamptz)" },
	[DS_CB_DUE] = { "d_cb_due",
	    "SELECT id, url, payload, attempt, job_uuid "
	    "FROM callback_due($1::integer)" },
	[DS_CB_RECORD] = { "d_cb_record",
	    "SELECT callback_record($1::bigint, $2::integer, $3::text, "
	    "$4::integer, $5::boolean, $6::integer, $7::integer, "
	    "$8::integer)" },
	/* Autocommit: each creator run is a transaction of its own. */
	[DS_CREATOR] = { "d_creator",
	    "SELECT batch_id, created FROM batch_run_next_creator($1::integer)" },
	[DS_FOLD] = { "d_fold", "SELECT folded, pages FROM job_counts_fold()" },
};

/* One connection of the dispatcher, with its statements prepared. */
struct dconn {
	PGconn		*pg;		/* owned; NULL while disconnected */
	const char	*conninfo;	/* borrowed (config) */
	const char	*app;		/* application_name */
	int		 down;		/* an outage was logged */
};

static int	 stopping;		/* atomic: SIGTERM came */
static int	 active;		/* atomic: this process holds the lock */
static int	 cb_done;		/* atomic: the callback thread ended */
static pthread_mutex_t nap_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nap_cv;

static int
is_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_SEQ_CST);
}

static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms, or less when the dispatcher is told to stop. */
static void
nap(long ms)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&nap_mu);
	while (!is_stopping() &&
	    pthread_cond_timedwait(&nap_cv, &nap_mu, &ts) != ETIMEDOUT)
		continue;
	pthread_mutex_unlock(&nap_mu);
}

/*
 * Connect c if it is not, and prepare the statements.  An outage is logged
 * once when it starts and once when it ends, not every second.  Returns 0,
 * or -1 (c stays disconnected; the caller tries again later).
 */
static int
dconn_ensure(struct dconn *c)
{
	static const char *const keys[] = { "dbname", "connect_timeout",
	    "application_name", NULL };
	const char	*vals[] = { c->conninfo, "3", c->app, NULL };
	PGresult	*res;
	int		 i;

	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		if (!c->down)
			log_msg(LOG_ERR, "%s: database connection failed: %s",
			    c->app, c->pg ? PQerrorMessage(c->pg) :
			    "out of memory");
		goto fail;
	}
	for (i = 0; i < DS__MAX; i++) {
		res = PQprepare(c->pg, dstmts[i].name, dstmts[i].sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_msg(LOG_ERR, "%s: prepare %s: %s", c->app,
			    dstmts[i].name, PQresultErrorMessage(res));
			PQclear(res);
			goto fail;
		}
		PQclear(res);
	}
	if (c->down)
		log_msg(LOG_INFO, "%s: database connection is back", c->app);
	c->down = 0;
	return 0;
fail:
	c->down = 1;
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	return -1;
}

static void
dconn_close(struct dconn *c)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
}

/*
 * Check the result of what on c: res when it has the status wanted, else
 * NULL after logging why; a connection that broke is closed, so the next
 * dconn_ensure() reconnects (and the caller knows by c->pg == NULL).
 */
static PGresult *
dcheck(struct dconn *c, PGresult *res, ExecStatusType want, const char *what)
{
	if (PQresultStatus(res) == want)
		return res;
	if (PQstatus(c->pg) != CONNECTION_OK) {
		log_msg(LOG_WARN, "%s: database connection lost; "
		    "reconnecting", c->app);
		c->down = 1;
		dconn_close(c);
	} else
		log_msg(LOG_ERR, "%s: %s: %s", c->app, what,
		    PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

/* Run statement s, which returns rows: the result (owned by the caller),
 * or NULL (dcheck). */
static PGresult *
dexec(struct dconn *c, enum dstmt s, int n, const char *const *params)
{
	return dcheck(c, PQexecPrepared(c->pg, dstmts[s].name, n, params,
	    NULL, NULL, 0), PGRES_TUPLES_OK, dstmts[s].name);
}

/* ---- the sweeps (main thread) -------------------------------------------- */

struct sweeper {
	const struct config	*cfg;		/* borrowed */
	struct dconn		 db;
	int			 locked;
	int			 standby_logged;
	char			 since[64];	/* queue_notify_due's last now() */
	long long		 unvacuumed;	/* deltas folded since VACUUM */
};

/* Remove STORE_DIR/<uuid> of jobs the TTL sweep deleted. */
static void
remove_job_dirs(const struct sweeper *sw, PGresult *res)
{
	char		 path[1024];
	const char	*uuid;
	int		 i;

	for (i = 0; i < PQntuples(res); i++) {
		uuid = PQgetvalue(res, i, 0);
		/* The path is built from what the database said: check it. */
		if (!uuid_valid(uuid, strlen(uuid)) ||
		    store_path(path, sizeof(path), sw->cfg->store_dir, uuid,
		    NULL) != 0)
			continue;
		if (store_remove_tree(path) != 0)
			log_msg(LOG_WARN, "cannot remove %s: %s", path,
			    strerror(errno));
	}
}

/*
 * Batch creator jobs (sql/004_batches.sql): run those waiting, a few per
 * tick.  A failed creation is recorded on its creator job by the SQL; the
 * tick stops there so a batch that always fails cannot spin the loop.
 */
static int
run_creators(struct sweeper *sw)
{
	const char	*p[1];
	char		 maxatt[24];
	PGresult	*res;
	int		 round, rows, created;

	snprintf(maxatt, sizeof(maxatt), "%ld", sw->cfg->queue_max_attempts);
	p[0] = maxatt;
	for (round = 0; round < CREATOR_ROUNDS; round++) {
		if ((res = dexec(&sw->db, DS_CREATOR, 1, p)) == NULL)
			return -1;
		rows = PQntuples(res);
		created = rows > 0 && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
		if (rows > 0)
			log_msg(created ? LOG_INFO : LOG_WARN,
			    "batch %s: %s", PQgetvalue(res, 0, 0), created ?
			    "jobs created" : "creation failed (see its "
			    "creator job's error)");
		PQclear(res);
		if (!created)
			break;
	}
	return 0;
}

/*
 * Fold the job count deltas of the last tick into the buckets the jobs
 * list counts from, and keep the delta table small (see FOLD_VACUUM_ROWS).
 * A VACUUM that fails is logged and left to autovacuum, which the table's
 * settings make eager.
 */
static int
fold_job_counts(struct sweeper *sw)
{
	PGresult	*res;
	long long	 pages;
	const char	*vacuum;

	if ((res = dexec(&sw->db, DS_FOLD, 0, NULL)) == NULL)
		return -1;
	sw->unvacuumed += strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	pages = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if (sw->unvacuumed < FOLD_VACUUM_ROWS &&
	    !(sw->unvacuumed > 0 && pages > FOLD_TRUNCATE_PAGES))
		return 0;
	vacuum = pages > FOLD_TRUNCATE_PAGES ?
	    "VACUUM job_count_deltas" :
	    "VACUUM (TRUNCATE false) job_count_deltas";
	sw->unvacuumed = 0;
	/* VACUUM runs outside any transaction: a simple query. */
	if ((res = dcheck(&sw->db, PQexec(sw->db.pg, vacuum),
	    PGRES_COMMAND_OK, vacuum)) == NULL)
		return sw->db.pg == NULL ? -1 : 0;
	PQclear(res);
	return 0;
}

/* One round of sweeps.  Returns -1 when the connection broke. */
static int
sweep(struct sweeper *sw)
{
	const struct config *cfg = sw->cfg;
	const char	*p[1];
	char		 maxatt[24], batch[24];
	PGresult	*res;
	long		 requeued, failed, n, expired = 0;
	int		 round;

	snprintf(maxatt, sizeof(maxatt), "%ld", cfg->queue_max_attempts);
	p[0] = maxatt;
	if ((res = dexec(&sw->db, DS_LEASES, 1, p)) == NULL)
		return -1;
	requeued = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	failed = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if (requeued != 0 || failed != 0)
		log_msg(LOG_INFO, "expired leases: %ld back in the queue, "
		    "%ld failed after %ld attempts", requeued, failed,
		    cfg->queue_max_attempts);

	if ((res = dexec(&sw->db, DS_TIMEOUTS, 0, NULL)) == NULL)
		return -1;
	n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (n != 0)
		log_msg(LOG_INFO, "job timeout: %ld running jobs failed", n);

	/* A backlog (the dispatcher was down) drains a few batches a tick. */
	snprintf(batch, sizeof(batch), "%d", EXPIRED_BATCH);
	p[0] = batch;
	for (round = 0; round < EXPIRED_ROUNDS; round++) {
		if ((res = dexec(&sw->db, DS_EXPIRED, 1, p)) == NULL)
			return -1;
		remove_job_dirs(sw, res);
		n = PQntuples(res);
		expired += n;
		PQclear(res);
		if (n < EXPIRED_BATCH)
			break;
	}
	if (expired != 0)
		log_msg(LOG_INFO, "result TTL: %ld finished jobs deleted",
		    expired);

	if (run_creators(sw) != 0)
		return -1;
	if (fold_job_counts(sw) != 0)
		return -1;

	p[0] = sw->since;
	if ((res = dexec(&sw->db, DS_NOTIFY, 1, p)) == NULL)
		return -1;
	snprintf(sw->since, sizeof(sw->since), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/*
 * One tick of the main thread: connect, take or keep the lock, sweep.
 * Returns how long to wait before the next tick, in milliseconds.
 */
static long
tick(struct sweeper *sw)
{
	PGresult	*res;
	int		 got;

	if (dconn_ensure(&sw->db) != 0) {
		sw->locked = 0;
		__atomic_store_n(&active, 0, __ATOMIC_SEQ_CST);
		return 1000;
	}
	if (!sw->locked) {
		if ((res = dexec(&sw->db, DS_LOCK, 0, NULL)) == NULL)
			goto lost;
		got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (!got) {
			if (!sw->standby_logged)
				log_msg(LOG_INFO, "dispatcher standing by: "
				    "another one holds the lock");
			sw->standby_logged = 1;
			return 1000;
		}
		if ((res = dexec(&sw->db, DS_SINCE, 0, NULL)) == NULL)
			goto lost;
		snprintf(sw->since, sizeof(sw->since), "%s",
		    PQgetvalue(res, 0, 0));
		PQclear(res);
		sw->locked = 1;
		sw->standby_logged = 0;
		__atomic_store_n(&active, 1, __ATOMIC_SEQ_CST);
		log_msg(LOG_INFO, "dispatcher active: every %ld ms",
		    sw->cfg->dispatch_interval_ms);
	}
	if (sweep(sw) != 0)
		goto lost;
	return sw->cfg->dispatch_interval_ms;
lost:
	/* A new session does not hold the old one's lock: take it again. */
	if (sw->db.pg == NULL) {
		sw->locked = 0;
		__atomic_store_n(&active, 0, __ATOMIC_SEQ_CST);
		return 1000;
	}
	/* An SQL error (a missing migration?) repeats: do not flood the log. */
	return ERROR_WAIT_MS;
}

/* ---- callbacks (second thread) ------------------------------------------ */

struct deliverer {
	const struct config	*cfg;		/* borrowed */
	struct dconn		 db;
	CURL			*curl;		/* owned */
	unsigned char		 key[CB_KEY_MAX];
	size_t			 keylen;
	struct cb_nets		 nets;
	char			 refused[INET6_ADDRSTRLEN]; /* by guard_socket */
};

/* One delivery's outcome, as callback_record() takes it. */
struct outcome {
	long		 http_status;	/* 0: no HTTP answer */
	char		 error[ERROR_MAX + 1];
	int		 final;
	int		 abandoned;	/* stopping: do not record */
};

static size_t
discard_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int
abort_on_stop(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
    curl_off_t d)
{
	(void)arg;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return is_stopping();
}

static int
sockaddr_to_addr(const struct sockaddr *sa, struct cb_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		a->family = AF_INET;
		memcpy(a->a, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		a->family = AF_INET6;
		memcpy(a->a, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
		return 0;
	}
	return -1;
}

/*
 * libcurl's socket opener: the last word on where a callback connects.
 * The addresses were checked and pinned before the transfer; this catches
 * anything that still slips through (a host name curl resolved itself).
 */
static curl_socket_t
guard_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *csa)
{
	struct deliverer *d = arg;
	struct cb_addr	 a;

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    sockaddr_to_addr(&csa->addr, &a) != 0)
		return CURL_SOCKET_BAD;
	if (cb_addr_refused(&a, &d->nets)) {
		cb_addr_format(&a, d->refused, sizeof(d->refused));
		return CURL_SOCKET_BAD;
	}
	return socket(csa->family, csa->socktype | SOCK_CLOEXEC,
	    csa->protocol);
}

/*
 * Resolve u's host and build the CURLOPT_RESOLVE entry pinning what was
 * checked ("host:port:addr,[v6addr]...").  A private address that is not
 * exempt refuses the whole delivery: a name that resolves to one public
 * and one private address is not a name we trust.
 */
static int
resolve_and_check(struct deliverer *d, const struct cb_url *u,
    struct buf *pin, struct outcome *o)
{
	struct addrinfo	 hints, *ai = NULL, *r;
	struct cb_addr	 a;
	char		 port[8], text[INET6_ADDRSTRLEN];
	int		 rc, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", u->port);
	if ((rc = getaddrinfo(u->host, port, &hints, &ai)) != 0) {
		snprintf(o->error, sizeof(o->error), "cannot resolve %.200s: "
		    "%s", u->host, gai_strerror(rc));
		return -1;
	}
	buf_printf(pin, "%s:%u:", u->host, u->port);
	for (r = ai; r != NULL; r = r->ai_next) {
		if (sockaddr_to_addr(r->ai_addr, &a) != 0)
			continue;
		cb_addr_format(&a, text, sizeof(text));
		if (cb_addr_refused(&a, &d->nets)) {
			snprintf(o->error, sizeof(o->error), "refused: %s is "
			    "a private address", text);
			o->final = 1;
			freeaddrinfo(ai);
			return -1;
		}
		if (n == RESOLVE_MAX)
			continue;
		buf_printf(pin, a.family == AF_INET6 ? "%s[%s]" : "%s%s",
		    n > 0 ? "," : "", text);
		n++;
	}
	freeaddrinfo(ai);
	if (n == 0 || pin->failed) {
		snprintf(o->error, sizeof(o->error), "cannot resolve %.200s: "
		    "no usable address", u->host);
		return -1;
	}
	return 0;
}

/*
 * POST one callback.  Fills o; never records (the caller does).  The body
 * is the payload as the outbox holds it, signed over "<t>.<body>".
 */
static void
deliver(struct deliverer *d, const char *id, const char *url,
    const char *payload, const char *attempt, const char *job,
    struct outcome *o)
{
	const struct config *cfg = d->cfg;
	struct cb_url	 u;
	struct buf	 pin;
	struct curl_slist *hdrs = NULL, *resolve = NULL, *h;
	char		 why[256], sig[CB_SIG_HEX + 1], line[256];
	char		 errbuf[CURL_ERROR_SIZE];
	size_t		 len = strlen(payload);
	time_t		 t = time(NULL);
	CURLcode	 rc;

	buf_init(&pin, 4096);
	if (cb_url_parse(url, &u, why, sizeof(why)) != CB_URL_OK) {
		snprintf(o->error, sizeof(o->error), "invalid URL: %s", why);
		o->final = 1;
		goto out;
	}
	if (!u.host_is_ip) {
		if (resolve_and_check(d, &u, &pin, o) != 0)
			goto out;
		if ((resolve = curl_slist_append(NULL, buf_cstr(&pin))) ==
		    NULL)
			goto oom;
	}
	if (cb_sign(d->key, d->keylen, (int64_t)t, payload, len, sig) != 0)
		goto oom;

	/* Expect: off, or curl waits a second for "100 Continue". */
	h = curl_slist_append(NULL, "Content-Type: application/json");
	hdrs = h;
	snprintf(line, sizeof(line), "X-Docket-Signature: t=%lld,v1=%s",
	    (long long)t, sig);
	h = h ? curl_slist_append(h, line) : NULL;
	snprintf(line, sizeof(line), "X-Docket-Delivery: %.64s", id);
	h = h ? curl_slist_append(h, line) : NULL;
	snprintf(line, sizeof(line), "X-Docket-Attempt: %.16s", attempt);
	h = h ? curl_slist_append(h, line) : NULL;
	snprintf(line, sizeof(line), "X-Docket-Job: %.64s", job);
	h = h ? curl_slist_append(h, line) : NULL;
	h = h ? curl_slist_append(h, "Expect:") : NULL;
	if (h == NULL)
		goto oom;

	errbuf[0] = '\0';
	d->refused[0] = '\0';
	curl_easy_reset(d->curl);
	curl_easy_setopt(d->curl, CURLOPT_URL, url);
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(d->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(d->curl, CURLOPT_USERAGENT, "docket-dispatcher");
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT, cfg->callback_timeout);
	curl_easy_setopt(d->curl, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(d->curl, CURLOPT_OPENSOCKETFUNCTION, guard_socket);
	curl_easy_setopt(d->curl, CURLOPT_OPENSOCKETDATA, d);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(d->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(d->curl, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
	curl_easy_setopt(d->curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(d->curl);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE,
		    &o->http_status);
	} else if (d->refused[0] != '\0') {
		snprintf(o->error, sizeof(o->error), "refused: %s is a "
		    "private address", d->refused);
		o->final = 1;
	} else if (rc == CURLE_ABORTED_BY_CALLBACK && is_stopping()) {
		o->abandoned = 1;
	} else
		snprintf(o->error, sizeof(o->error), "%s%s%s",
		    curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
	/* The pinned names must not outlive this transfer's list. */
	curl_easy_setopt(d->curl, CURLOPT_RESOLVE, NULL);
	goto out;
oom:
	snprintf(o->error, sizeof(o->error), "out of memory");
out:
	curl_slist_free_all(hdrs);
	curl_slist_free_all(resolve);
	buf_free(&pin);
}

/* Deliver the row of callback_due() and record the attempt. */
static void
deliver_row(struct deliverer *d, PGresult *due, int row)
{
	const struct config *cfg = d->cfg;
	const char	*id = PQgetvalue(due, row, 0);
	const char	*attempt = PQgetvalue(due, row, 3);
	const char	*job = PQgetvalue(due, row, 4);
	const char	*p[8];
	char		 status[16], dur[24], base[24], max[24], maxatt[24];
	struct outcome	 o;
	struct cb_url	 u;
	char		 why[8];
	PGresult	*res;
	int64_t		 t0 = mono_ms();

	memset(&o, 0, sizeof(o));
	if (d->keylen == 0) {
		snprintf(o.error, sizeof(o.error), "callback_key is not "
		    "configured");
		log_msg(LOG_WARN, "callback %s of job %s not sent: "
		    "callback_key is not configured", id, job);
	} else
		deliver(d, id, PQgetvalue(due, row, 1),
		    PQgetvalue(due, row, 2), attempt, job, &o);
	if (o.abandoned)
		return;

	snprintf(status, sizeof(status), "%ld", o.http_status);
	snprintf(dur, sizeof(dur), "%lld", (long long)(mono_ms() - t0));
	snprintf(base, sizeof(base), "%ld", cfg->callback_backoff_base);
	snprintf(max, sizeof(max), "%ld", cfg->callback_backoff_max);
	snprintf(maxatt, sizeof(maxatt), "%ld", cfg->callback_max_attempts);
	p[0] = id;
	p[1] = o.http_status != 0 ? status : NULL;
	p[2] = o.error[0] != '\0' ? o.error : NULL;
	p[3] = dur;
	p[4] = o.final ? "t" : "f";
	p[5] = base;
	p[6] = max;
	p[7] = maxatt;
	if ((res = dexec(&d->db, DS_CB_RECORD, 8, p)) == NULL)
		return;
	/* Log the host only: a URL's query may hold the receiver's secret. */
	if (cb_url_parse(PQgetvalue(due, row, 1), &u, why, sizeof(why)) !=
	    CB_URL_OK)
		snprintf(u.host, sizeof(u.host), "(invalid URL)");
	log_msg(strcmp(PQgetvalue(res, 0, 0), "failed") == 0 ? LOG_WARN :
	    LOG_INFO, "callback %s of job %s to %s, attempt %s: %s (%s)",
	    id, job, u.host, attempt, PQgetvalue(res, 0, 0),
	    o.http_status != 0 ? status : o.error);
	PQclear(res);
}

static void *
callback_thread(void *arg)
{
	struct deliverer *d = arg;
	const char	*p[1] = { CALLBACK_BATCH };
	PGresult	*due;
	int		 i, n;

	while (!is_stopping()) {
		if (!__atomic_load_n(&active, __ATOMIC_SEQ_CST)) {
			nap(200);
			continue;
		}
		if (dconn_ensure(&d->db) != 0 ||
		    (due = dexec(&d->db, DS_CB_DUE, 1, p)) == NULL) {
			nap(1000);
			continue;
		}
		n = PQntuples(due);
		for (i = 0; i < n && !is_stopping() &&
		    __atomic_load_n(&active, __ATOMIC_SEQ_CST); i++)
			deliver_row(d, due, i);
		PQclear(due);
		if (n == 0)
			nap(d->cfg->dispatch_interval_ms);
	}
	pthread_mutex_lock(&nap_mu);
	__atomic_store_n(&cb_done, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&nap_cv);
	pthread_mutex_unlock(&nap_mu);
	return NULL;
}

/* ---- the process ------------------------------------------------------------ */

/*
 * Wake the callback thread and give it STOP_WAIT_MS to end.  Returns 1 if
 * it did (it may be joined), 0 if it is still inside a blocking call
 * (getaddrinfo has no timeout we control).
 */
static int
stop_callbacks(void)
{
	int64_t		 until = mono_ms() + STOP_WAIT_MS;

	pthread_mutex_lock(&nap_mu);
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&nap_cv);
	pthread_mutex_unlock(&nap_mu);
	while (!__atomic_load_n(&cb_done, __ATOMIC_SEQ_CST) &&
	    mono_ms() < until)
		usleep(10000);
	return __atomic_load_n(&cb_done, __ATOMIC_SEQ_CST);
}

void
dispatcher_main(const struct config *cfg)
{
	static struct deliverer d;
	struct sweeper	 sw;
	pthread_condattr_t ca;
	pthread_t	 thread;
	sigset_t	 set;
	struct timespec	 ts;
	char		 err[256];
	long		 wait_ms;
	int		 sig;

	/* "docketd-disp" in ps and /proc/PID/comm: workers stay "docketd". */
	prctl(PR_SET_NAME, "docketd-disp", 0, 0, 0);

	/* Only sigtimedwait() below takes SIGTERM/SIGINT. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGCHLD, SIG_DFL);

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&nap_cv, &ca);
	pthread_condattr_destroy(&ca);

	memset(&sw, 0, sizeof(sw));
	sw.cfg = cfg;
	sw.db.conninfo = cfg->db;
	sw.db.app = "docket-dispatcher";

	/* The master checked both at start; a failure here is a bug. */
	d.cfg = cfg;
	d.db.conninfo = cfg->db;
	d.db.app = "docket-callbacks";
	if (cb_key_parse(cfg->callback_key, d.key, &d.keylen) != 0 ||
	    cb_nets_parse(cfg->callback_allow_nets, &d.nets, err,
	    sizeof(err)) != 0) {
		log_msg(LOG_ERR, "dispatcher: bad callback_key or "
		    "callback_allow_nets");
		_exit(1);
	}
	if (d.keylen == 0)
		log_msg(LOG_WARN, "callback_key is not configured: callbacks "
		    "are not sent (they wait in the outbox)");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (d.curl = curl_easy_init()) == NULL) {
		log_msg(LOG_ERR, "dispatcher: libcurl initialisation failed");
		_exit(1);
	}
	if (pthread_create(&thread, NULL, callback_thread, &d) != 0) {
		log_msg(LOG_ERR, "dispatcher: pthread_create failed");
		_exit(1);
	}
	log_msg(LOG_INFO, "dispatcher started");

	for (;;) {
		wait_ms = tick(&sw);
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = (wait_ms % 1000) * 1000000;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}

	if (stop_callbacks()) {
		pthread_join(thread, NULL);
		dconn_close(&d.db);
		curl_easy_cleanup(d.curl);
		curl_global_cleanup();
		dconn_close(&sw.db);
		log_msg(LOG_INFO, "dispatcher stopped");
#if defined(__SANITIZE_ADDRESS__)
		__lsan_do_recoverable_leak_check();
#endif
		_exit(0);
	}
	log_msg(LOG_INFO, "dispatcher stopped (a callback in progress was "
	    "abandoned)");
	_exit(0);
}
