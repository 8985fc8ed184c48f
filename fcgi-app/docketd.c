/*
 * docketd.c -- the FastCGI daemon: master, pre-forked workers, threads.
 *
 * The master opens the listening socket, forks `workers` processes and
 * restarts any that dies.  Each worker runs `threads` threads, each looping
 * on FCGX_Accept_r with its own FCGX_Request (no lock around accept: a
 * mutex there deadlocks with nginx's kept-alive connections).  A worker's
 * threads share its PostgreSQL pool (db.c).
 *
 * Stopping (SIGTERM or SIGINT to the master): the master shuts down the
 * listening socket, which wakes every accept() in every worker, and sends
 * SIGTERM to the workers.  A worker then waits until its in-flight requests
 * are done (at most shutdown_grace seconds) and exits; threads idle on a
 * kept-alive nginx connection are not waited for.  The master exits once
 * all workers have.
 *
 * With `dispatcher = 1` the master also forks the dispatcher (dispatcher.c),
 * restarts it like a worker and sends it SIGTERM on stop; it takes no
 * requests.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "docket.h"
#include "callback.h"

#define MAX_WORKERS	DOCKET_MAX_WORKERS
#define LISTEN_BACKLOG	1024

static int		 listen_fd = -1;
static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_child;
static int		 inflight;		/* atomic: requests in progress */
static int		 stopping;		/* atomic: worker is draining */

static void
on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

static void
on_child(int sig)
{
	(void)sig;
	got_child = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: docketd [-c config]\n");
	exit(2);
}

/* ---- worker ------------------------------------------------------------- */

static void *
worker_thread(void *arg)
{
	struct app	*app = arg;
	FCGX_Request	 fr;
	struct buf	 out;
	int		 errors = 0;

	if (FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
		log_msg(LOG_ERR, "FCGX_InitRequest failed");
		return NULL;
	}
	buf_init(&out, RESP_MAX);
	for (;;) {
		if (FCGX_Accept_r(&fr) < 0) {
			if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST))
				break;
			/* A broken connection, not a broken listener. */
			if (++errors > 1000) {
				log_msg(LOG_ERR, "accept keeps failing; "
				    "thread stops");
				break;
			}
			usleep(1000);
			continue;
		}
		errors = 0;
		__atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
		request_handle(app, &fr, &out);
		/* While draining, let nginx open its next request elsewhere. */
		if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST))
			fr.keepConnection = 0;
		FCGX_Finish_r(&fr);
		__atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
	}
	FCGX_Free(&fr, 1);
	buf_free(&out);
	return NULL;
}

/* Wait until no request has been in flight for two checks in a row. */
static void
drain(long grace)
{
	struct timespec	 tick = { 0, 20 * 1000 * 1000 };
	long		 waited_ms = 0;
	int		 quiet = 0;

	while (quiet < 2 && waited_ms < grace * 1000) {
		quiet = __atomic_load_n(&inflight, __ATOMIC_SEQ_CST) == 0 ?
		    quiet + 1 : 0;
		nanosleep(&tick, NULL);
		waited_ms += 20;
	}
	if (quiet < 2)
		log_msg(LOG_WARN, "grace period over with %d requests in "
		    "flight", __atomic_load_n(&inflight, __ATOMIC_SEQ_CST));
}

static void
worker_main(const struct config *cfg, int slot)
{
	struct app	 app;
	pthread_t	 thread;
	pthread_attr_t	 attr;
	sigset_t	 set;
	char		 err[256];
	long		 i;
	int		 sig;

	memset(&app, 0, sizeof(app));
	app.cfg = cfg;
	if (signer_init(&app.signer, cfg->signing_keys, cfg->signing_key_id,
	    err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, "%s", err);
		_exit(1);
	}
	if ((app.pool = db_pool_new(cfg->db, cfg->db_pool)) == NULL) {
		log_msg(LOG_ERR, "out of memory");
		_exit(1);
	}
	if (FCGX_Init() != 0) {
		log_msg(LOG_ERR, "FCGX_Init failed");
		_exit(1);
	}

	/* Only this thread takes SIGTERM/SIGINT; the others never see it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGCHLD, SIG_DFL);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < cfg->threads; i++)
		if (pthread_create(&thread, &attr, worker_thread, &app)
		    != 0) {
			log_msg(LOG_ERR, "pthread_create failed");
			_exit(1);
		}
	pthread_attr_destroy(&attr);
	if (waiter_start(cfg, slot) != 0) {
		log_msg(LOG_ERR, "cannot start the LISTEN thread");
		_exit(1);
	}
	log_msg(LOG_INFO, "worker ready: %ld threads, %ld db connections",
	    cfg->threads, cfg->db_pool);

	while (sigwait(&set, &sig) != 0)
		continue;
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	FCGX_ShutdownPending();
	/* Long-polls answer at once instead of holding the drain. */
	waiter_stop();
	drain(cfg->shutdown_grace);
	log_msg(LOG_INFO, "worker stopped");
	/*
	 * Threads idle on kept-alive connections are not joined (they are
	 * detached); the process ends under them.  What they share (app,
	 * pool) stays allocated, as they may still be reading it.
	 */

#if defined(__SANITIZE_ADDRESS__)
	/* Threads may still sit in accept(): check leaks, then leave. */
	__lsan_do_recoverable_leak_check();
#endif
	_exit(0);
}

/* ---- master ------------------------------------------------------------- */

static sigset_t	 master_mask;	/* the mask before the master blocked */

static pid_t
spawn(const struct config *cfg, int slot)
{
	pid_t	 pid;

	waiter_slot_reset(slot);
	if ((pid = fork()) == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		sigprocmask(SIG_SETMASK, &master_mask, NULL);
		worker_main(cfg, slot);
	}
	if (pid < 0)
		log_msg(LOG_ERR, "fork: %s", strerror(errno));
	return pid;
}

/*
 * The dispatcher (dispatcher.c) is a child like the workers, restarted
 * like them, but it serves no FastCGI: it must not hold the listener, or
 * a stopping master's shutdown() would leave a socket open behind it.
 */
static pid_t
spawn_dispatcher(const struct config *cfg)
{
	pid_t	 pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		sigprocmask(SIG_SETMASK, &master_mask, NULL);
		close(listen_fd);
		listen_fd = -1;
		dispatcher_main(cfg);
	}
	if (pid < 0)
		log_msg(LOG_ERR, "fork (dispatcher): %s", strerror(errno));
	return pid;
}

/*
 * Open "unix:PATH" or "tcp:HOST:PORT" (libfcgi's ":PORT" / "HOST:PORT").
 * A unix socket is made 0660: nginx reaches it through the group.
 */
static int
open_listener(const char *spec, char *unix_path, size_t len)
{
	int	 fd;
	mode_t	 old;

	unix_path[0] = '\0';
	if (strncmp(spec, "unix:", 5) == 0) {
		if (strlen(spec + 5) >= len)
			return -1;
		memcpy(unix_path, spec + 5, strlen(spec + 5) + 1);
		unlink(unix_path);
		old = umask(007);
		fd = FCGX_OpenSocket(unix_path, LISTEN_BACKLOG);
		umask(old);
		return fd;
	}
	if (strncmp(spec, "tcp:", 4) == 0)
		return FCGX_OpenSocket(spec + 4, LISTEN_BACKLOG);
	return -1;
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	struct signer	 check;
	struct cb_nets	 nets;
	unsigned char	 cbkey[CB_KEY_MAX];
	size_t		 cbkeylen;
	struct sigaction sa;
	sigset_t	 block;
	pid_t		 pids[MAX_WORKERS], pid, disp = -1;
	time_t		 started[MAX_WORKERS], disp_started = 0;
	char		 err[512], unix_path[sizeof(cfg.listen)];
	const char	*path = NULL;
	long		 i, alive;
	int		 ch, status, quick_deaths = 0;
	time_t		 deadline;

	while ((ch = getopt(argc, argv, "c:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (config_load(&cfg, path, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, "config: %s", err);
		return 1;
	}
	/* Refuse to start with bad keys rather than 500 on every download. */
	if (signer_init(&check, cfg.signing_keys, cfg.signing_key_id, err,
	    sizeof(err)) != 0) {
		log_msg(LOG_ERR, "config: %s", err);
		return 1;
	}
	/* The same for the callback settings (enqueue checks, dispatcher). */
	if (cb_key_parse(cfg.callback_key, cbkey, &cbkeylen) != 0) {
		log_msg(LOG_ERR, "config: callback_key must be empty or 64 to "
		    "128 hex digits");
		return 1;
	}
	if (cb_nets_parse(cfg.callback_allow_nets, &nets, err,
	    sizeof(err)) != 0) {
		log_msg(LOG_ERR, "config: %s", err);
		return 1;
	}
	if (cfg.workers > MAX_WORKERS)
		cfg.workers = MAX_WORKERS;
	if ((listen_fd = open_listener(cfg.listen, unix_path,
	    sizeof(unix_path))) < 0) {
		log_msg(LOG_ERR, "cannot listen on %s", cfg.listen);
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Signals arrive only inside sigsuspend, so none is missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &master_mask);

	if (waiter_shared_init() != 0) {
		log_msg(LOG_ERR, "mmap: %s", strerror(errno));
		return 1;
	}
	for (i = 0; i < cfg.workers; i++) {
		pids[i] = spawn(&cfg, (int)i);
		started[i] = time(NULL);
	}
	if (cfg.dispatcher) {
		disp = spawn_dispatcher(&cfg);
		disp_started = time(NULL);
	}
	log_msg(LOG_INFO, "docketd listening on %s: %ld workers x %ld "
	    "threads%s", cfg.listen, cfg.workers, cfg.threads,
	    cfg.dispatcher ? ", dispatcher" : "");

	while (!got_stop) {
		sigsuspend(&master_mask);
		if (!got_child || got_stop)
			continue;
		got_child = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == disp) {
				log_msg(LOG_WARN, "dispatcher %d exited "
				    "(status %d); restarting", (int)pid,
				    status);
				if (time(NULL) - disp_started < 1)
					sleep(1);
				disp = spawn_dispatcher(&cfg);
				disp_started = time(NULL);
				continue;
			}
			for (i = 0; i < cfg.workers && pids[i] != pid; i++)
				continue;
			if (i == cfg.workers)
				continue;
			log_msg(LOG_WARN, "worker %d exited (status %d); "
			    "restarting", (int)pid, status);
			/* A worker that dies at once, again and again, is
			 * probably misconfigured: slow down, don't spin. */
			if (time(NULL) - started[i] < 1 && ++quick_deaths > 5)
				sleep(1);
			else
				quick_deaths = 0;
			pids[i] = spawn(&cfg, (int)i);
			started[i] = time(NULL);
		}
	}

	log_msg(LOG_INFO, "stopping: draining in-flight requests");
	shutdown(listen_fd, SHUT_RDWR);
	for (i = 0; i < cfg.workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	if (disp > 0)
		kill(disp, SIGTERM);
	deadline = time(NULL) + cfg.shutdown_grace + 5;
	for (alive = cfg.workers + (disp > 0); alive > 0 &&
	    time(NULL) < deadline;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0 && pid == disp)
			disp = -1;
		/* Forget reaped workers: their pids may be reused. */
		for (i = 0; pid > 0 && i < cfg.workers; i++)
			if (pids[i] == pid)
				pids[i] = -1;
		if (pid > 0)
			alive--;
		else if (pid < 0 && errno == ECHILD)
			break;
		else
			usleep(20000);
	}
	for (i = 0; alive > 0 && i < cfg.workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	if (disp > 0)
		kill(disp, SIGKILL);
	if (unix_path[0] != '\0')
		unlink(unix_path);
	log_msg(LOG_INFO, "docketd stopped");
	return 0;
}
