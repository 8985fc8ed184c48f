/*
 * waiter.c -- long-polls that hold a thread but no database connection.
 *
 * Each worker process runs one listener thread with its own PostgreSQL
 * connection, LISTENing on two channels that the queue SQL notifies on
 * commit (sql/003_queue.sql):
 *
 *   docket_queue  "<queue>\t<user_id>"  a job became leasable
 *   docket_done   "<job uuid>"          a job finished or went away
 *
 * A request that waits (want_job with X-Accepted-Block-For, GET with
 * X-Accepted-Wait-Result) registers a struct waiter, gives its pool
 * connection back, and sleeps on its own condition variable.
 *
 * A docket_queue notification wakes ONE matching job waiter, the one that
 * has waited longest: one new job, one lease attempt per process, instead
 * of every waiter stampeding the database.  A waiter that leaves while
 * holding a wake-up it did not use (it leased another job, or its deadline
 * came) passes that wake-up on, so no job is left behind with waiters
 * asleep.  A docket_done notification wakes every waiter of that job.
 * When the listener (re)connects, notifications may have been missed, so
 * it wakes everybody once and they look for themselves.
 *
 * The NOTIFYs of enqueue and finish are sent by docketd after the commit,
 * and only when some thread of this docketd waits (waiter_any): the worker
 * processes count their waiters in a shared page the master maps before it
 * forks them.  A waiter counts itself before its first look at the
 * database, and a request checks the count after its commit, so either the
 * request sees the waiter and notifies, or the waiter's look comes after
 * the commit and finds the job.  A killed worker's slot is zeroed when the
 * master starts its replacement.
 */
#include <errno.h>
#include <poll.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docket.h"

static struct {
	pthread_mutex_t	 mu;
	struct waiter	*head, *tail;	/* oldest first */
	int		 stopping;
	int		 pipe[2];	/* wakes the listener for shutdown */
	const struct config *cfg;	/* borrowed */
	pthread_t	 thread;
	int		 running;
} W = { .mu = PTHREAD_MUTEX_INITIALIZER, .pipe = { -1, -1 } };

/* Waiting threads per worker process and kind; shared by all of them. */
struct waiter_counts {
	int	 n[DOCKET_MAX_WORKERS][2];	/* [slot][enum wait_kind] */
};

static struct waiter_counts *counts;	/* MAP_SHARED, from the master */
static int		 my_slot;

/* Master, before forking: the page every worker counts its waiters in. */
int
waiter_shared_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*counts), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	counts = p;
	return 0;
}

/* Master, before starting a worker in slot: its predecessor's waiters died
 * with it. */
void
waiter_slot_reset(int slot)
{
	if (counts == NULL)
		return;
	__atomic_store_n(&counts->n[slot][WAIT_JOB], 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&counts->n[slot][WAIT_RESULT], 0, __ATOMIC_SEQ_CST);
}

/* Does any thread of this docketd wait for kind?  (Without the shared page,
 * as in a test harness, assume so.) */
int
waiter_any(enum wait_kind kind)
{
	int	 i;

	if (counts == NULL)
		return 1;
	for (i = 0; i < DOCKET_MAX_WORKERS; i++)
		if (__atomic_load_n(&counts->n[i][kind], __ATOMIC_SEQ_CST) > 0)
			return 1;
	return 0;
}

/* Does a docket_queue payload "queue\tuser" concern this waiter? */
static int
job_waiter_matches(const struct waiter *w, const char *queue, size_t qlen,
    int64_t user)
{
	size_t	 i;

	if (w->kind != WAIT_JOB)
		return 0;
	if (w->user_id != 0 && w->user_id != user)
		return 0;
	if (w->nqueues == 0)
		return 1;
	for (i = 0; i < w->nqueues; i++)
		if (strlen(w->queues[i]) == qlen &&
		    memcmp(w->queues[i], queue, qlen) == 0)
			return 1;
	return 0;
}

/* Called with W.mu held. */
static void
wake_one_job_waiter(const char *payload)
{
	struct waiter	*w;
	const char	*tab = strchr(payload, '\t');
	int64_t		 user;

	if (tab == NULL || parse_int64(tab + 1, 1, INT64_MAX, &user) !=
	    PARSE_OK)
		return;
	for (w = W.head; w != NULL; w = w->next) {
		if (w->woken ||
		    !job_waiter_matches(w, payload, (size_t)(tab - payload),
		    user))
			continue;
		w->woken = 1;
		snprintf(w->note, sizeof(w->note), "%s", payload);
		pthread_cond_signal(&w->cv);
		return;
	}
}

/* Called with W.mu held. */
static void
wake_result_waiters(const char *uuid)
{
	struct waiter	*w;

	for (w = W.head; w != NULL; w = w->next)
		if (w->kind == WAIT_RESULT && strcmp(w->uuid, uuid) == 0) {
			w->woken = 1;
			pthread_cond_signal(&w->cv);
		}
}

/* Called with W.mu held. */
static void
wake_all(void)
{
	struct waiter	*w;

	for (w = W.head; w != NULL; w = w->next) {
		w->woken = 1;
		w->note[0] = '\0';
		pthread_cond_signal(&w->cv);
	}
}

static PGconn *
listen_connect(void)
{
	static const char *const keys[] = { "dbname", "connect_timeout",
	    "application_name", NULL };
	const char	*vals[] = { W.cfg->db, "3", "docketd-listen", NULL };
	PGconn		*pg;
	PGresult	*res;

	pg = PQconnectdbParams(keys, vals, 1);
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK)
		goto fail;
	res = PQexec(pg, "LISTEN docket_queue; LISTEN docket_done");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	return pg;
fail:
	log_msg(LOG_WARN, "listener: cannot connect: %s",
	    pg != NULL ? PQerrorMessage(pg) : "out of memory");
	if (pg != NULL)
		PQfinish(pg);
	return NULL;
}

/*
 * Wait for the socket or the shutdown pipe; timeout_ms < 0 waits forever.
 * Returns 1 when the socket is readable, 0 on timeout, -1 on shutdown.
 */
static int
listen_poll(int fd, int timeout_ms)
{
	struct pollfd	 p[2];
	int		 n;

	p[0].fd = W.pipe[0];
	p[0].events = POLLIN;
	p[1].fd = fd;
	p[1].events = POLLIN;
	do
		n = poll(p, fd >= 0 ? 2 : 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (p[0].revents != 0)
		return -1;
	return n > 0 ? 1 : 0;
}

static void
deliver(PGnotify *n)
{
	pthread_mutex_lock(&W.mu);
	if (strcmp(n->relname, "docket_queue") == 0)
		wake_one_job_waiter(n->extra);
	else if (strcmp(n->relname, "docket_done") == 0)
		wake_result_waiters(n->extra);
	pthread_mutex_unlock(&W.mu);
}

static void *
listen_thread(void *arg)
{
	PGconn		*pg;
	PGnotify	*n;

	(void)arg;
	for (;;) {
		if ((pg = listen_connect()) == NULL) {
			if (listen_poll(-1, 1000) < 0)
				return NULL;
			continue;
		}
		pthread_mutex_lock(&W.mu);
		wake_all();
		pthread_mutex_unlock(&W.mu);
		for (;;) {
			if (listen_poll(PQsocket(pg), -1) < 0) {
				PQfinish(pg);
				return NULL;
			}
			if (PQconsumeInput(pg) == 0) {
				log_msg(LOG_WARN, "listener: connection lost: "
				    "%s", PQerrorMessage(pg));
				break;
			}
			while ((n = PQnotifies(pg)) != NULL) {
				deliver(n);
				PQfreemem(n);
			}
		}
		PQfinish(pg);
	}
}

int
waiter_start(const struct config *cfg, int slot)
{
	W.cfg = cfg;
	my_slot = slot;
	if (pipe(W.pipe) != 0)
		return -1;
	if (pthread_create(&W.thread, NULL, listen_thread, NULL) != 0)
		return -1;
	W.running = 1;
	return 0;
}

/* Wake every waiter for good and end the listener (worker shutdown). */
void
waiter_stop(void)
{
	pthread_mutex_lock(&W.mu);
	W.stopping = 1;
	wake_all();
	pthread_mutex_unlock(&W.mu);
	if (W.running) {
		(void)write(W.pipe[1], "x", 1);
		pthread_join(W.thread, NULL);
		W.running = 0;
	}
}

void
waiter_add(struct waiter *w)
{
	pthread_condattr_t	 ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->woken = 0;
	w->note[0] = '\0';
	if (counts != NULL)
		__atomic_add_fetch(&counts->n[my_slot][w->kind], 1,
		    __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&W.mu);
	w->next = NULL;
	w->prev = W.tail;
	if (W.tail != NULL)
		W.tail->next = w;
	else
		W.head = w;
	W.tail = w;
	pthread_mutex_unlock(&W.mu);
}

/*
 * Sleep until woken or the deadline (CLOCK_MONOTONIC).  A wake-up that came
 * while the caller was busy is not lost: it returns at once.  The wake-up
 * stays on the waiter until waiter_consume, so a caller that gives up
 * instead of acting on it (its client left) passes it on in waiter_remove.
 */
enum wait_rc
waiter_sleep(struct waiter *w, const struct timespec *deadline)
{
	enum wait_rc	 rc = WAIT_WOKEN;
	int		 e = 0;

	pthread_mutex_lock(&W.mu);
	while (!w->woken && !W.stopping && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&w->cv, &W.mu, deadline);
	if (W.stopping)
		rc = WAIT_STOPPING;
	else if (!w->woken)
		rc = WAIT_TIMEOUT;
	pthread_mutex_unlock(&W.mu);
	return rc;
}

/* The caller is about to look (lease, read): the wake-up is used. */
void
waiter_consume(struct waiter *w)
{
	pthread_mutex_lock(&W.mu);
	w->woken = 0;
	w->note[0] = '\0';
	pthread_mutex_unlock(&W.mu);
}

/* Unregister; an unused job wake-up goes to the next matching waiter. */
void
waiter_remove(struct waiter *w)
{
	char	 note[sizeof(((struct waiter *)0)->note)];

	pthread_mutex_lock(&W.mu);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		W.head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		W.tail = w->prev;
	if (w->woken && w->note[0] != '\0') {
		memcpy(note, w->note, sizeof(note));
		wake_one_job_waiter(note);
	}
	pthread_mutex_unlock(&W.mu);
	if (counts != NULL)
		__atomic_sub_fetch(&counts->n[my_slot][w->kind], 1,
		    __ATOMIC_SEQ_CST);
	pthread_cond_destroy(&w->cv);
}
