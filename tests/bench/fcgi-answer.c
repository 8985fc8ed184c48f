/*
 * fcgi-answer.c: the bare FastCGI responder of tests/bench/batches.
 *
 *   fcgi-answer SOCKET WORKERS THREADS FILE...
 *
 * Answers a request for .../NAME with the bytes of the FILE whose last path
 * segment is NAME (read once at start), 404 for any other, and does
 * nothing else: no database, no query parsing, no JSON.  It is built on
 * libfcgi the way docketd is (fcgi-app/docketd.c): WORKERS pre-forked
 * processes, each with THREADS threads blocked in FCGX_Accept_r on the one
 * listening socket, and the answer written with FCGX_PutStr.  So behind
 * nginx it costs what any libfcgi responder must: nginx's FastCGI work, the
 * hop to another process and back, libfcgi.  tests/bench/batches measures
 * a listing's captured answer through it ("fcgi floor") beside docketd.
 *
 * The socket is made mode 0666 so that nginx, running as another user,
 * can connect.  Runs until killed (SIGTERM ends the workers with the
 * process group).
 *
 * Build: cc -O2 -pthread -o fcgi-answer fcgi-answer.c -lfcgi
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct answer {
	const char	*name;		/* last path segment of the file */
	char		*body;		/* owned */
	size_t		 len;
};

static struct answer	*answers;
static int		 nanswers;
static int		 listen_fd;

static int
load(struct answer *a, const char *path)
{
	FILE		*f;
	long		 n;
	const char	*slash = strrchr(path, '/');

	a->name = slash != NULL ? slash + 1 : path;
	if ((f = fopen(path, "rb")) == NULL)
		goto fail;
	/* FCGX_PutStr takes an int length. */
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > INT_MAX ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto fail_close;
	if ((a->body = malloc((size_t)n + 1)) == NULL)
		goto fail_close;
	if (fread(a->body, 1, (size_t)n, f) != (size_t)n)
		goto fail_close;
	a->len = (size_t)n;
	fclose(f);
	return 0;
fail_close:
	free(a->body);
	a->body = NULL;
	fclose(f);
fail:
	fprintf(stderr, "fcgi-answer: %s: %s\n", path, strerror(errno));
	return -1;
}

static const struct answer *
lookup(const char *uri)
{
	const char	*slash;
	int		 i;

	if (uri == NULL)
		return NULL;
	slash = strrchr(uri, '/');
	for (i = 0; i < nanswers; i++)
		if (strcmp(answers[i].name, slash != NULL ? slash + 1 : uri) == 0)
			return &answers[i];
	return NULL;
}

static void *
serve(void *arg)
{
	FCGX_Request		 fr;
	const struct answer	*a;
	char			 head[128];
	int			 n;

	(void)arg;
	if (FCGX_InitRequest(&fr, listen_fd, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&fr) >= 0) {
		a = lookup(FCGX_GetParam("DOCUMENT_URI", fr.envp));
		if (a == NULL) {
			FCGX_PutS("Status: 404 Not Found\r\n"
			    "Content-Length: 0\r\n\r\n", fr.out);
		} else {
			n = snprintf(head, sizeof(head), "Status: 200 OK\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Length: %zu\r\n\r\n", a->len);
			FCGX_PutStr(head, n, fr.out);
			FCGX_PutStr(a->body, (int)a->len, fr.out);
		}
		FCGX_Finish_r(&fr);
	}
	return NULL;
}

static void
worker(int nthreads)
{
	pthread_t	*t;
	int		 i;

	if ((t = calloc((size_t)nthreads, sizeof(*t))) == NULL)
		_exit(1);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, serve, NULL) != 0)
			_exit(1);
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

int
main(int argc, char *argv[])
{
	int	 i, nworkers, nthreads;

	if (argc < 5) {
		fprintf(stderr, "usage: fcgi-answer SOCKET WORKERS THREADS "
		    "FILE...\n");
		return 2;
	}
	nworkers = atoi(argv[2]);
	nthreads = atoi(argv[3]);
	if (nworkers < 1 || nthreads < 1) {
		fprintf(stderr, "fcgi-answer: WORKERS and THREADS must be "
		    "positive\n");
		return 2;
	}
	nanswers = argc - 4;
	if ((answers = calloc((size_t)nanswers, sizeof(*answers))) == NULL)
		return 1;
	for (i = 0; i < nanswers; i++)
		if (load(&answers[i], argv[4 + i]) != 0)
			return 1;
	if (FCGX_Init() != 0)
		return 1;
	/*
	 * libfcgi catches SIGTERM to let a request finish, and its threads
	 * then stay in accept: the benchmark would leave them behind.
	 */
	signal(SIGTERM, SIG_DFL);
	unlink(argv[1]);
	if ((listen_fd = FCGX_OpenSocket(argv[1], 1024)) < 0 ||
	    chmod(argv[1], 0666) != 0) {
		fprintf(stderr, "fcgi-answer: cannot listen on %s\n", argv[1]);
		return 1;
	}
	for (i = 0; i < nworkers; i++)
		if (fork() == 0)
			worker(nthreads);
	while (wait(NULL) > 0)
		;
	return 0;
}
