/*
 * check_config.c -- unit tests for config.c: defaults, the file format,
 * errors that name the place, and DOCKET_<KEY> environment overrides.
 *
 * Check runs each test in its own child process, so environment changes
 * made by one test never reach another.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "docket.h"

extern char **environ;

static char	 tmpfile_path[64];

/* Drop every DOCKET_* variable the caller's environment may carry. */
static void
clear_env(void)
{
	char	 name[256];
	size_t	 n;
	int	 again = 1;
	char	**e;

	while (again) {
		again = 0;
		for (e = environ; e != NULL && *e != NULL; e++) {
			if (strncmp(*e, "DOCKET_", 7) != 0)
				continue;
			n = strcspn(*e, "=");
			if (n >= sizeof(name))
				continue;
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			again = 1;
			break;
		}
	}
}

static void
setup(void)
{
	clear_env();
	tmpfile_path[0] = '\0';
}

static void
teardown(void)
{
	if (tmpfile_path[0] != '\0')
		unlink(tmpfile_path);
}

/*
 * Write text to a fresh temporary file (removing the previous one); its
 * path lives in tmpfile_path until the next call.
 */
static const char *
write_conf(const char *text)
{
	FILE	*f;
	int	 fd;

	if (tmpfile_path[0] != '\0')
		unlink(tmpfile_path);
	snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/check_config.XXXXXX");
	fd = mkstemp(tmpfile_path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return tmpfile_path;
}

static void
load_ok(struct config *c, const char *path)
{
	char	 err[1024] = "";

	ck_assert_msg(config_load(c, path, err, sizeof(err)) == 0,
	    "config_load: %s", err);
}

static void
load_bad(const char *path, const char *errpart)
{
	struct config	 c;
	char		 err[1024] = "";

	ck_assert_msg(config_load(&c, path, err, sizeof(err)) == -1,
	    "config_load accepted %s", path ? path : "(null)");
	ck_assert_msg(strstr(err, errpart) != NULL,
	    "error \"%s\" lacks \"%s\"", err, errpart);
}

static void
check_defaults(const struct config *c)
{
	ck_assert_str_eq(c->listen, "unix:/run/docket/docketd.sock");
	ck_assert_int_eq(c->workers, 2);
	ck_assert_int_eq(c->threads, 128);
	ck_assert_str_eq(c->db, "dbname=docket");
	ck_assert_int_eq(c->db_pool, 8);
	ck_assert_str_eq(c->store_dir, "/var/lib/docket/store");
	ck_assert_str_eq(c->sql_dir, DOCKET_SQL_DIR);
	ck_assert_str_eq(c->base_url, "");
	ck_assert_str_eq(c->signing_keys, "");
	ck_assert_str_eq(c->signing_key_id, "");
	ck_assert_int_eq(c->url_expires_default, 3600);
	ck_assert_int_eq(c->url_expires_max, 604800);
	ck_assert_int_eq(c->jobs_list_max, 1000);
	ck_assert_int_eq(c->shutdown_grace, 30);
	ck_assert_int_eq(c->queue_body_max, 1048576);
	ck_assert_int_eq(c->queue_lease_default, 300);
	ck_assert_int_eq(c->queue_lease_max, 86400);
	ck_assert_int_eq(c->queue_block_max, 50);
	ck_assert_int_eq(c->queue_wait_max, 50);
	ck_assert_int_eq(c->queue_max_attempts, 5);
	ck_assert_int_eq(c->dispatcher, 1);
}

/* ---- defaults and the config path --------------------------------------- */

START_TEST(test_defaults)
{
	struct config	 c;

	load_ok(&c, "/dev/null");
	check_defaults(&c);
	load_ok(&c, write_conf("# nothing but comments\n\n   \n\t# indented\n"));
	check_defaults(&c);
}
END_TEST

START_TEST(test_default_path)
{
	struct config	 c;

	ck_assert_str_eq(config_default_path(), DOCKET_SYSCONF);
	setenv("DOCKET_CONFIG", "", 1);
	ck_assert_str_eq(config_default_path(), DOCKET_SYSCONF);
	setenv("DOCKET_CONFIG", "/x/y.conf", 1);
	ck_assert_str_eq(config_default_path(), "/x/y.conf");

	/* DOCKET_CONFIG names the file when no path is given... */
	setenv("DOCKET_CONFIG", write_conf("workers = 7\n"), 1);
	load_ok(&c, NULL);
	ck_assert_int_eq(c.workers, 7);
	/* ...but an explicit path wins */
	load_ok(&c, "/dev/null");
	ck_assert_int_eq(c.workers, 2);
	/* and a named file that is missing is an error */
	setenv("DOCKET_CONFIG", "/nonexistent/docket.conf", 1);
	load_bad(NULL, "/nonexistent/docket.conf");

	/* a missing system file is fine (when it is missing here) */
	if (access(DOCKET_SYSCONF, F_OK) != 0) {
		unsetenv("DOCKET_CONFIG");
		load_ok(&c, NULL);
		check_defaults(&c);
		/* an empty DOCKET_CONFIG is the same as none */
		setenv("DOCKET_CONFIG", "", 1);
		load_ok(&c, NULL);
		check_defaults(&c);
	}
}
END_TEST

START_TEST(test_missing_file)
{
	load_bad("/nonexistent/docket.conf", "/nonexistent/docket.conf");
	load_bad("/nonexistent/docket.conf", "No such file");
}
END_TEST

/* ---- the file format ------------------------------------------------------------ */

START_TEST(test_file_values)
{
	struct config	 c;

	load_ok(&c, write_conf(
	    "# docket test config\n"
	    "listen = tcp:127.0.0.1:9000\n"
	    "workers=3\n"
	    "  threads   =   8   \n"
	    "db = \"host=/tmp port=5433 dbname=docket user=docket\"\n"
	    "db_pool = 256\n"
	    "\n"
	    "store_dir = /srv/store\n"
	    "sql_dir = /srv/sql\n"
	    "\tbase_url\t=\thttps://127.0.0.1:8443\t\n"
	    "signing_keys = k1:00ff,k2:11ee\n"
	    "signing_key_id = k2\r\n"
	    "url_expires_default = 60\n"
	    "url_expires_max = 31536000\n"
	    "jobs_list_max = 100000\n"
	    "shutdown_grace = 0\n"
	    "# the last line has no newline\n"
	    "workers = 64"));
	ck_assert_str_eq(c.listen, "tcp:127.0.0.1:9000");
	ck_assert_int_eq(c.workers, 64);		/* the last one wins */
	ck_assert_int_eq(c.threads, 8);
	ck_assert_str_eq(c.db, "host=/tmp port=5433 dbname=docket user=docket");
	ck_assert_int_eq(c.db_pool, 256);
	ck_assert_str_eq(c.store_dir, "/srv/store");
	ck_assert_str_eq(c.sql_dir, "/srv/sql");
	ck_assert_str_eq(c.base_url, "https://127.0.0.1:8443");
	ck_assert_str_eq(c.signing_keys, "k1:00ff,k2:11ee");
	ck_assert_str_eq(c.signing_key_id, "k2");
	ck_assert_int_eq(c.url_expires_default, 60);
	ck_assert_int_eq(c.url_expires_max, 31536000);
	ck_assert_int_eq(c.jobs_list_max, 100000);
	ck_assert_int_eq(c.shutdown_grace, 0);
}
END_TEST

START_TEST(test_quotes)
{
	struct config	 c;

	/* quotes are stripped as a pair only, inner ones kept */
	load_ok(&c, write_conf(
	    "db = \"dbname='a b' options='-c x=1'\"\n"
	    "base_url = \"\"\n"
	    "listen = \"unix:/tmp/a\"b\"\n"
	    "store_dir = \"/x\n"
	    "sql_dir = \"\n"
	    "signing_key_id = \" k \"\n"));
	ck_assert_str_eq(c.db, "dbname='a b' options='-c x=1'");
	ck_assert_str_eq(c.base_url, "");
	ck_assert_str_eq(c.listen, "unix:/tmp/a\"b");
	ck_assert_str_eq(c.store_dir, "\"/x");
	ck_assert_str_eq(c.sql_dir, "\"");
	ck_assert_str_eq(c.signing_key_id, " k ");
	/* a quoted number is still a number */
	load_ok(&c, write_conf("workers = \"5\"\n"));
	ck_assert_int_eq(c.workers, 5);
	/* an empty string value */
	load_ok(&c, write_conf("base_url =\n"));
	ck_assert_str_eq(c.base_url, "");
}
END_TEST

START_TEST(test_errors)
{
	char	 big[3000], line[400];

	load_bad(write_conf("workers = 2\nwrokers = 3\n"), "unknown key");
	load_bad(write_conf("workers = 2\nwrokers = 3\n"), ":2:");
	load_bad(write_conf("WORKERS = 3\n"), "unknown key");
	load_bad(write_conf(" = 3\n"), "unknown key");
	load_bad(write_conf("workers 3\n"), "expected key = value");
	load_bad(write_conf("# ok\nworkers\n"), ":2: expected key = value");
	/* inline comments are not comments */
	load_bad(write_conf("workers = 3 # three\n"), "workers must be an "
	    "integer in 1..64");
	/* bad integers */
	load_bad(write_conf("workers = four\n"), "workers must be an integer");
	load_bad(write_conf("workers =\n"), "workers must be an integer");
	load_bad(write_conf("workers = 2.5\n"), "workers");
	load_bad(write_conf("workers = 0x10\n"), "workers");
	load_bad(write_conf("workers = +2\n"), "workers");
	load_bad(write_conf("threads = 1e3\n"), "threads");
	/* out of range */
	load_bad(write_conf("workers = 0\n"), "workers must be an integer "
	    "in 1..64");
	load_bad(write_conf("workers = 65\n"), "1..64");
	load_bad(write_conf("workers = -1\n"), "1..64");
	load_bad(write_conf("threads = 4097\n"), "threads");
	load_bad(write_conf("queue_block_max = 3601\n"), "queue_block_max");
	load_bad(write_conf("queue_lease_default = 0\n"), "queue_lease_default");
	load_bad(write_conf("queue_lease_default = 100\nqueue_lease_max = 99\n"),
	    "queue_lease_default exceeds queue_lease_max");
	load_bad(write_conf("db_pool = 257\n"), "db_pool");
	load_bad(write_conf("url_expires_max = 0\n"), "url_expires_max");
	load_bad(write_conf("url_expires_default = 604801\n"),
	    "url_expires_default");
	load_bad(write_conf("jobs_list_max = 100001\n"), "jobs_list_max");
	load_bad(write_conf("shutdown_grace = -1\n"), "shutdown_grace");
	load_bad(write_conf("workers = 99999999999999999999\n"), "workers");
	/* default above max */
	load_bad(write_conf("url_expires_max = 60\n"),
	    "url_expires_default exceeds url_expires_max");
	/* a string longer than its field */
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "listen = ", 9);
	load_bad(write_conf(line), "listen is too long");
	/* a line longer than the reader's buffer */
	memset(big, 'x', sizeof(big) - 2);
	memcpy(big, "db = ", 5);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	load_bad(write_conf(big), "line too long");
}
END_TEST

/* ---- environment overrides -------------------------------------------------- */

START_TEST(test_env_override)
{
	struct config	 c;
	const char	*path;

	path = write_conf("workers = 3\nthreads = 4\ndb = dbname=file\n");
	setenv("DOCKET_WORKERS", "5", 1);
	setenv("DOCKET_DB", "host=/tmp port=5433 dbname=env", 1);
	setenv("DOCKET_URL_EXPIRES_DEFAULT", "10", 1);
	setenv("DOCKET_BASE_URL", "", 1);
	setenv("docket_threads", "9", 1);	/* names are upper case */
	load_ok(&c, path);
	ck_assert_int_eq(c.workers, 5);		/* env beats the file */
	ck_assert_int_eq(c.threads, 4);
	ck_assert_str_eq(c.db, "host=/tmp port=5433 dbname=env");
	ck_assert_int_eq(c.url_expires_default, 10);
	ck_assert_str_eq(c.base_url, "");
	/* env values are taken as they are: no trimming, no quotes */
	setenv("DOCKET_LISTEN", "\"unix:/x\"", 1);
	load_ok(&c, path);
	ck_assert_str_eq(c.listen, "\"unix:/x\"");
	/* env beats defaults too */
	load_ok(&c, "/dev/null");
	ck_assert_int_eq(c.workers, 5);
}
END_TEST

START_TEST(test_env_errors)
{
	setenv("DOCKET_THREADS", "x", 1);
	load_bad("/dev/null", "environment DOCKET_THREADS: threads must be "
	    "an integer");
	unsetenv("DOCKET_THREADS");
	setenv("DOCKET_WORKERS", " 4", 1);
	load_bad("/dev/null", "DOCKET_WORKERS");
	setenv("DOCKET_WORKERS", "0", 1);
	load_bad("/dev/null", "DOCKET_WORKERS");
	unsetenv("DOCKET_WORKERS");
	/* the cross-key check sees the overridden values */
	setenv("DOCKET_URL_EXPIRES_MAX", "10", 1);
	load_bad("/dev/null", "url_expires_default exceeds url_expires_max");
	/* a file error is reported before the environment is looked at */
	load_bad(write_conf("bogus = 1\n"), "unknown key");
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_default_path);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_file_values);
	tcase_add_test(tc, test_quotes);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_env_override);
	tcase_add_test(tc, test_env_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
