/*
 * beanstalk-bench.c: the beanstalkd side of tests/bench/queue.
 *
 *   beanstalk-bench HOST PORT put|cycle CONNS SECONDS WARMUP TUBE [BYTES]
 *
 * CONNS threads, one TCP connection each (plain text protocol, no
 * pipelining: one command in flight per connection, like an HTTP/1.1
 * keep-alive client).  Every thread `use`s and `watch`es TUBE and ignores
 * `default`, so runs do not see each other's leftovers.
 *
 *   put:    put <pri> 0 60 <bytes>                  -> INSERTED <id>
 *   cycle:  put, reserve-with-timeout 5, delete <id> -> DELETED
 *           (the reserved job may be another thread's: as with docket's
 *           want_job, workers take whatever is first in the tube)
 *
 * The threads run for WARMUP + SECONDS; only operations that complete in
 * the last SECONDS count, with their latency (per put, or per whole cycle,
 * wall clock from the first byte sent to the last byte read).  Prints one
 * line:
 *
 *   ops=N seconds=S rate=R p50_ms=X p99_ms=Y errors=E timeouts=T
 *
 * reserve-with-timeout rather than plain reserve so that a lost job cannot
 * hang the run; a TIMED_OUT counts in timeouts (it should never happen: a
 * thread reserves only after its own put, so the tube always holds at least
 * as many ready jobs as there are threads reserving).
 *
 * Build: cc -O2 -pthread -o beanstalk-bench beanstalk-bench.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_PUT, MODE_CYCLE };

static const char *host, *port, *tube;
static enum mode mode;
static double t_start, t_measure, t_end;	/* CLOCK_MONOTONIC seconds */
static size_t nbytes = 24;
static pthread_barrier_t ready;

struct conn {
	int	 fd;
	char	 buf[65536];
	size_t	 off, len;
};

struct worker {
	pthread_t	 tid;
	int		 idx;
	uint64_t	 ops, errors, timeouts;
	uint32_t	*lat;		/* microseconds */
	size_t		 nlat, caplat;
	int		 failed;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *msg)
{
	fprintf(stderr, "beanstalk-bench: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static int
conn_open(struct conn *c)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM }, *res, *ai;
	int one = 1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	c->fd = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (c->fd < 0)
			continue;
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->off = c->len = 0;
	return 0;
}

static int
send_all(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(c->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one \r\n-terminated line into out (without the \r\n). */
static int
read_line(struct conn *c, char *out, size_t outsz)
{
	for (;;) {
		char *nl = memmem(c->buf + c->off, c->len - c->off, "\r\n", 2);
		if (nl != NULL) {
			size_t n = (size_t)(nl - (c->buf + c->off));
			if (n >= outsz)
				n = outsz - 1;
			memcpy(out, c->buf + c->off, n);
			out[n] = '\0';
			c->off = (size_t)(nl - c->buf) + 2;
			return 0;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof c->buf)
			return -1;
		ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* Skip n bytes of body plus its \r\n. */
static int
skip_bytes(struct conn *c, size_t n)
{
	n += 2;
	while (n > 0) {
		size_t have = c->len - c->off;
		if (have > 0) {
			size_t k = have < n ? have : n;
			c->off += k;
			n -= k;
			continue;
		}
		c->off = c->len = 0;
		ssize_t r = read(c->fd, c->buf, sizeof c->buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len = (size_t)r;
	}
	return 0;
}

static int
command(struct conn *c, const char *cmd, const char *expect, char *line,
    size_t linesz)
{
	if (send_all(c, cmd, strlen(cmd)) < 0 || read_line(c, line, linesz) < 0)
		return -1;
	return strncmp(line, expect, strlen(expect)) == 0 ? 0 : 1;
}

static void
record(struct worker *w, double t0, double t1)
{
	if (t1 < t_measure || t1 > t_end)
		return;
	w->ops++;
	if (w->nlat == w->caplat) {
		w->caplat = w->caplat ? 2 * w->caplat : 65536;
		w->lat = realloc(w->lat, w->caplat * sizeof *w->lat);
		if (w->lat == NULL)
			die("realloc");
	}
	w->lat[w->nlat++] = (uint32_t)((t1 - t0) * 1e6 + 0.5);
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	struct conn *c = calloc(1, sizeof *c);
	char line[256], cmd[512], put[512], body[256];
	size_t putlen;
	int rc;

	if (c == NULL || conn_open(c) < 0) {
		w->failed = 1;
		pthread_barrier_wait(&ready);
		return NULL;
	}
	snprintf(cmd, sizeof cmd, "use %s\r\n", tube);
	rc = command(c, cmd, "USING", line, sizeof line);
	if (rc == 0) {
		snprintf(cmd, sizeof cmd, "watch %s\r\n", tube);
		rc = command(c, cmd, "WATCHING", line, sizeof line);
	}
	if (rc == 0 && strcmp(tube, "default") != 0)
		rc = command(c, "ignore default\r\n", "WATCHING", line, sizeof line);
	if (rc != 0)
		w->failed = 1;
	pthread_barrier_wait(&ready);
	if (w->failed)
		return NULL;

	if (nbytes >= sizeof body - 32)
		nbytes = sizeof body - 32;
	for (uint64_t seq = 0;; seq++) {
		double t0 = now(), t1;
		unsigned long id;
		size_t n;

		if (t0 >= t_end)
			break;
		/* A body of nbytes: a small JSON document, like docket's params. */
		n = (size_t)snprintf(body, sizeof body, "{\"t\":%d,\"n\":%llu", w->idx,
		    (unsigned long long)seq);
		while (n < nbytes - 1)
			body[n++] = ' ';
		body[n++] = '}';
		body[n] = '\0';
		putlen = (size_t)snprintf(put, sizeof put, "put 1 0 60 %zu\r\n%s\r\n", n, body);
		if (send_all(c, put, putlen) < 0 || read_line(c, line, sizeof line) < 0) {
			w->failed = 1;
			break;
		}
		if (strncmp(line, "INSERTED ", 9) != 0) {
			w->errors++;
			continue;
		}
		if (mode == MODE_PUT) {
			record(w, t0, now());
			continue;
		}
		rc = command(c, "reserve-with-timeout 5\r\n", "RESERVED ", line, sizeof line);
		if (rc < 0) {
			w->failed = 1;
			break;
		}
		if (rc > 0) {
			if (strncmp(line, "TIMED_OUT", 9) == 0)
				w->timeouts++;
			else
				w->errors++;
			continue;
		}
		if (sscanf(line, "RESERVED %lu %zu", &id, &n) != 2 || skip_bytes(c, n) < 0) {
			w->failed = 1;
			break;
		}
		snprintf(cmd, sizeof cmd, "delete %lu\r\n", id);
		rc = command(c, cmd, "DELETED", line, sizeof line);
		if (rc < 0) {
			w->failed = 1;
			break;
		}
		if (rc > 0) {
			w->errors++;
			continue;
		}
		t1 = now();
		record(w, t0, t1);
	}
	close(c->fd);
	free(c);
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int nconn, i, failed = 0;
	double seconds, warmup;
	struct worker *ws;
	uint64_t ops = 0, errors = 0, timeouts = 0;
	size_t nlat = 0, k;
	uint32_t *all;

	if (argc < 8) {
		fprintf(stderr, "usage: beanstalk-bench HOST PORT put|cycle CONNS SECONDS WARMUP TUBE [BYTES]\n");
		return 2;
	}
	host = argv[1];
	port = argv[2];
	if (strcmp(argv[3], "put") == 0)
		mode = MODE_PUT;
	else if (strcmp(argv[3], "cycle") == 0)
		mode = MODE_CYCLE;
	else {
		fprintf(stderr, "beanstalk-bench: mode must be put or cycle\n");
		return 2;
	}
	nconn = atoi(argv[4]);
	seconds = atof(argv[5]);
	warmup = atof(argv[6]);
	tube = argv[7];
	if (argc > 8)
		nbytes = (size_t)atol(argv[8]);
	if (nconn < 1 || seconds <= 0 || warmup < 0 || nbytes < 16) {
		fprintf(stderr, "beanstalk-bench: bad arguments\n");
		return 2;
	}

	ws = calloc((size_t)nconn, sizeof *ws);
	if (ws == NULL)
		die("calloc");
	pthread_barrier_init(&ready, NULL, (unsigned)nconn + 1);
	/* The clock starts once every connection is open. */
	t_start = t_measure = t_end = 1e300;
	for (i = 0; i < nconn; i++) {
		ws[i].idx = i;
		if (pthread_create(&ws[i].tid, NULL, run, &ws[i]) != 0)
			die("pthread_create");
	}
	t_start = now();
	t_measure = t_start + warmup;
	t_end = t_measure + seconds;
	pthread_barrier_wait(&ready);
	for (i = 0; i < nconn; i++) {
		pthread_join(ws[i].tid, NULL);
		failed |= ws[i].failed;
		ops += ws[i].ops;
		errors += ws[i].errors;
		timeouts += ws[i].timeouts;
		nlat += ws[i].nlat;
	}
	all = malloc((nlat ? nlat : 1) * sizeof *all);
	if (all == NULL)
		die("malloc");
	for (i = 0, k = 0; i < nconn; i++) {
		memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof *all);
		k += ws[i].nlat;
	}
	qsort(all, nlat, sizeof *all, cmp_u32);
	double p50 = nlat ? all[(size_t)(nlat * 0.50)] / 1000.0 : 0;
	double p99 = nlat ? all[(size_t)(nlat * 0.99)] / 1000.0 : 0;
	printf("ops=%llu seconds=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f errors=%llu timeouts=%llu\n",
	    (unsigned long long)ops, seconds, ops / seconds, p50, p99,
	    (unsigned long long)errors, (unsigned long long)timeouts);
	if (failed) {
		fprintf(stderr, "beanstalk-bench: a connection failed (connect or I/O error)\n");
		return 1;
	}
	return 0;
}
