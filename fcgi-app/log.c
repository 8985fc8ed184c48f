/*
 * log.c -- one line per event on stderr, with time, level and pid.
 *
 * docketd runs under systemd or the stack script, both of which collect
 * stderr; a line is written with one write(2) so lines from threads and
 * processes never interleave.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docket.h"

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	char		 line[1024];
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 n;
	int		 k;
	va_list		 ap;

	gmtime_r(&now, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
	k = snprintf(line + n, sizeof(line) - n, " [%s] %d: ", names[lvl],
	    (int)getpid());
	n += (k > 0) ? (size_t)k : 0;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = (k < 0) ? n : (n + (size_t)k >= sizeof(line) - 1 ?
	    sizeof(line) - 2 : n + (size_t)k);
	/* Newlines inside a message (e.g. from libpq) would split the line. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
