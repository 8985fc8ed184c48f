/*
 * docketctl.c -- the operator's command line: migrations, tokens, and
 * putting jobs in and finishing them until the other surfaces exist.
 *
 * Every subcommand is a row in commands[].  Each one works in a single
 * transaction and, where it writes files, removes what it wrote when the
 * transaction fails, so a failed command leaves the database and the store
 * as they were.  Files are handed to the owner of store_dir, so running
 * docketctl as root never leaves files docketd cannot delete.
 *
 * Exit status: 0 success, 1 failure (message on stderr), 2 usage.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "docket.h"

#define MAX_ARGS	256
#define FAILURE_DEFAULT	"failed to process"

static struct config	 cfg;
static PGconn		*conn;

static void
die_usage(void)
{
	fprintf(stderr,
	    "usage: docketctl [-c config] migrate\n"
	    "       docketctl [-c config] token create USER [--admin | "
	    "--worker [--queue Q]...]\n"
	    "           [--email ADDR] [--ttl SECONDS]\n"
	    "       docketctl [-c config] token revoke TOKEN\n"
	    "       docketctl [-c config] job add --user USER --name NAME "
	    "[--recipe-type ID] FILE...\n"
	    "       docketctl [-c config] job finish JOB_ID --status "
	    "success|failed\n"
	    "           [--result OBJECT_UUID:full=FILE]... "
	    "[--result OBJECT_UUID:min=FILE]...\n"
	    "           [--failed OBJECT_UUID[=REASON]]...\n"
	    "       docketctl [-c config] recipe-type add NAME VERSION "
	    "[--title T] [--description D]\n");
	exit(2);
}

static int
fail(const char *fmt, ...) DOCKET_PRINTF(1, 2);

static int
fail(const char *fmt, ...)
{
	va_list	 ap;

	fputs("docketctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* NOTICEs ("relation already exists, skipping") are not for operators. */
static void
quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int
db_connect(void)
{
	static const char *const keys[] = { "dbname", "application_name",
	    NULL };
	const char	*vals[] = { cfg.db, "docketctl", NULL };

	conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(conn) != CONNECTION_OK)
		return fail("cannot connect to the database: %s",
		    PQerrorMessage(conn));
	PQsetNoticeProcessor(conn, quiet_notice, NULL);
	return 0;
}

/*
 * Run sql with text parameters.  Returns the result (caller PQclears) or
 * NULL after printing the error.
 */
static PGresult *
q(const char *sql, int n, const char *const *params)
{
	PGresult	*res;
	ExecStatusType	 st;

	res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	fail("%s", PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

/* Simple-protocol execution: migrations hold many statements. */
static int
exec_ok(const char *sql)
{
	PGresult	*res = PQexec(conn, sql);
	ExecStatusType	 st = PQresultStatus(res);
	int		 rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fail("%s", PQresultErrorMessage(res));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* ---- migrate -------------------------------------------------------------- */

static int
migration_name_ok(const char *n)
{
	size_t	 len = strlen(n);

	return len > 8 && isdigit((unsigned char)n[0]) &&
	    isdigit((unsigned char)n[1]) && isdigit((unsigned char)n[2]) &&
	    n[3] == '_' && strcmp(n + len - 4, ".sql") == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*data = NULL;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    n < (64L << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)n + 1)) != NULL) {
		if (fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		} else
			data[n] = '\0';
	}
	fclose(f);
	return data;
}

/*
 * Apply sql_dir/NNN_*.sql in name order, each in its own transaction with
 * its row in schema_migrations; an advisory lock keeps two concurrent
 * runs from applying the same file.
 */
static int
cmd_migrate(int argc, char **argv)
{
	char		*names[512], path[1024], *sql = NULL;
	const char	*params[1];
	struct dirent	*de;
	PGresult	*res;
	DIR		*d;
	size_t		 n = 0, i;
	int		 rc = 1;

	(void)argv;
	if (argc != 0)
		die_usage();
	if ((d = opendir(cfg.sql_dir)) == NULL)
		return fail("%s: %s", cfg.sql_dir, strerror(errno));
	while ((de = readdir(d)) != NULL && n < 512)
		if (migration_name_ok(de->d_name))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);

	if (exec_ok("SELECT pg_advisory_lock(7283001)") != 0 ||
	    exec_ok("CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version text PRIMARY KEY,"
	    " applied_at timestamptz NOT NULL DEFAULT now())") != 0)
		goto out;
	for (i = 0; i < n; i++) {
		params[0] = names[i];
		if ((res = q("SELECT 1 FROM schema_migrations WHERE version = $1",
		    1, params)) == NULL)
			goto out;
		if (PQntuples(res) > 0) {
			PQclear(res);
			continue;
		}
		PQclear(res);
		snprintf(path, sizeof(path), "%s/%s", cfg.sql_dir, names[i]);
		if ((sql = slurp(path)) == NULL) {
			fail("%s: cannot read", path);
			goto out;
		}
		if (exec_ok("BEGIN") != 0)
			goto out;
		if (exec_ok(sql) != 0 ||
		    (res = q("INSERT INTO schema_migrations (version) "
		    "VALUES ($1)", 1, params)) == NULL) {
			fail("%s: not applied", names[i]);
			exec_ok("ROLLBACK");
			goto out;
		}
		PQclear(res);
		if (exec_ok("COMMIT") != 0)
			goto out;
		printf("applied %s\n", names[i]);
		free(sql);
		sql = NULL;
	}
	rc = 0;
out:
	free(sql);
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

/* ---- token ------------------------------------------------------------- */

static int
cmd_token_create(int argc, char **argv)
{
	const char	*user = NULL, *email = NULL, *role = "user";
	const char	*params[5];
	char		 token[TOKEN_LEN + 1], hash[2 + 64 + 1], ttl[24] = "";
	char		 user_id[24], queues[16 * 130 + 3];
	size_t		 qlen = 0, nqueues = 0;
	int64_t		 secs;
	PGresult	*res;
	int		 i, n;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--admin") == 0)
			role = "admin";
		else if (strcmp(argv[i], "--worker") == 0)
			role = "worker";
		else if (strcmp(argv[i], "--queue") == 0 && i + 1 < argc) {
			/* Array literal "{a,b}": names need no quoting. */
			i++;
			if (!queue_name_valid(argv[i], strlen(argv[i])))
				return fail("%s: not a queue name (1 to 128 "
				    "letters, digits and ._:-)", argv[i]);
			if (++nqueues > 16)
				return fail("at most 16 queues per token");
			n = snprintf(queues + qlen, sizeof(queues) - qlen,
			    "%s%s", qlen ? "," : "{", argv[i]);
			qlen += (size_t)n;
		} else if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
			email = argv[++i];
		else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
			if (parse_int64(argv[++i], 1, INT32_MAX, &secs) !=
			    PARSE_OK)
				return fail("--ttl takes a number of seconds");
			snprintf(ttl, sizeof(ttl), "%lld", (long long)secs);
		} else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else
			die_usage();
	}
	if (user == NULL)
		die_usage();
	if (nqueues > 0 && strcmp(role, "worker") != 0)
		return fail("--queue is for --worker tokens");
	if (nqueues > 0)
		snprintf(queues + qlen, sizeof(queues) - qlen, "}");
	if (token_generate(token) != 0)
		return fail("no randomness available");
	token_hash_bytea(token, hash);

	if (exec_ok("BEGIN") != 0)
		return 1;
	params[0] = user;
	params[1] = email;
	if ((res = q("INSERT INTO users (name, email) VALUES ($1, $2)"
	    " ON CONFLICT (name) DO UPDATE"
	    " SET email = COALESCE(EXCLUDED.email, users.email)"
	    " RETURNING id", 2, params)) == NULL)
		return 1;
	snprintf(user_id, sizeof(user_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	params[0] = user_id;
	params[1] = hash;
	params[2] = role;
	params[3] = ttl[0] ? ttl : NULL;
	params[4] = nqueues > 0 ? queues : NULL;
	if ((res = q("INSERT INTO api_tokens"
	    " (user_id, token_hash, role, expires_at, queues)"
	    " VALUES ($1, $2::bytea, $3::token_role,"
	    "  now() + make_interval(secs => $4::double precision),"
	    "  $5::text[])", 5, params)) == NULL)
		return 1;
	PQclear(res);
	if (exec_ok("COMMIT") != 0)
		return 1;
	printf("%s\n", token);
	return 0;
}

static int
cmd_token_revoke(int argc, char **argv)
{
	char		 hash[2 + 64 + 1];
	const char	*params[1] = { hash };
	PGresult	*res;
	int		 rc;

	if (argc != 1)
		die_usage();
	token_hash_bytea(argv[0], hash);
	if ((res = q("UPDATE api_tokens SET revoked_at = now()"
	    " WHERE token_hash = $1::bytea AND revoked_at IS NULL", 1,
	    params)) == NULL)
		return 1;
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? 0 :
	    fail("no such active token");
	PQclear(res);
	return rc;
}

/* ---- job ------------------------------------------------------------------- */

struct owner {
	uid_t	 uid;
	gid_t	 gid;
};

/* Files docketctl writes belong to whoever owns the store. */
static int
store_owner(struct owner *o)
{
	struct stat	 st;

	if (mkdir(cfg.store_dir, 0750) != 0 && errno != EEXIST)
		return fail("%s: %s", cfg.store_dir, strerror(errno));
	if (stat(cfg.store_dir, &st) != 0)
		return fail("%s: %s", cfg.store_dir, strerror(errno));
	o->uid = geteuid() == 0 ? st.st_uid : (uid_t)-1;
	o->gid = geteuid() == 0 ? st.st_gid : (gid_t)-1;
	return 0;
}

static int
make_dir(const char *path, const struct owner *o)
{
	if (mkdir(path, 0750) != 0 && errno != EEXIST)
		return -1;
	if (o->uid != (uid_t)-1 && chown(path, o->uid, o->gid) != 0)
		return -1;
	return 0;
}

/* "<uuid>.<ext>" with the original's extension, lower-cased, if it is sane. */
static int
object_name_for(const char *file, char *out, size_t outlen)
{
	char		 uuid[UUID_STR_LEN + 1], ext[17];
	const char	*base = strrchr(file, '/'), *dot;
	size_t		 i, n;

	if (uuid_generate_v4(uuid) != 0)
		return -1;
	base = base ? base + 1 : file;
	dot = strrchr(base, '.');
	n = (dot != NULL && dot != base) ? strlen(dot + 1) : 0;
	if (n == 0 || n > 16) {
		snprintf(out, outlen, "%s", uuid);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)dot[1 + i])) {
			snprintf(out, outlen, "%s", uuid);
			return 0;
		}
		ext[i] = (char)tolower((unsigned char)dot[1 + i]);
	}
	ext[n] = '\0';
	snprintf(out, outlen, "%s.%s", uuid, ext);
	return 0;
}

/* A positive decimal id, as the database would take it. */
static int
id_valid(const char *s)
{
	int64_t	 v;

	return parse_int64(s, 1, INT64_MAX, &v) == PARSE_OK;
}

/*
 * recipe-type add NAME VERSION [--title T] [--description D]: register a
 * recipe type (a kind of job batches re-process) and print its id.
 */
static int
cmd_recipe_type_add(int argc, char **argv)
{
	const char	*params[4] = { NULL, NULL, NULL, NULL };
	PGresult	*res;
	int		 i, npos = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--title") == 0 && i + 1 < argc)
			params[2] = argv[++i];
		else if (strcmp(argv[i], "--description") == 0 &&
		    i + 1 < argc)
			params[3] = argv[++i];
		else if (argv[i][0] == '-' || npos == 2)
			die_usage();
		else
			params[npos++] = argv[i];
	}
	if (npos != 2)
		die_usage();
	if ((res = q("INSERT INTO recipe_types (name, version, title,"
	    " description) VALUES ($1, $2, $3, $4) RETURNING id", 4,
	    params)) == NULL)
		return 1;
	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int
cmd_job_add(int argc, char **argv)
{
	const char	*user = NULL, *name = NULL, *files[MAX_ARGS];
	const char	*recipe_type = NULL;
	const char	*params[6];
	char		 dir[1024], path[1200], obj[64], orig[256], size[24];
	char		 job_id[24], job_uuid[UUID_STR_LEN + 1];
	struct owner	 own;
	PGresult	*res;
	int64_t		 bytes, total = 0;
	int		 i, nfiles = 0, made_dir = 0, rc = 1;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--recipe-type") == 0 && i + 1 < argc)
			recipe_type = argv[++i];
		else if (argv[i][0] == '-')
			die_usage();
		else if (nfiles < MAX_ARGS)
			files[nfiles++] = argv[i];
	}
	if (user == NULL || name == NULL)
		die_usage();
	if (recipe_type != NULL && !id_valid(recipe_type))
		return fail("--recipe-type: not a recipe type id: %s",
		    recipe_type);
	for (i = 0; i < nfiles; i++)
		if (access(files[i], R_OK) != 0)
			return fail("%s: %s", files[i], strerror(errno));
	if (store_owner(&own) != 0 || exec_ok("BEGIN") != 0)
		return 1;

	params[0] = user;
	params[1] = name;
	params[2] = recipe_type;
	if ((res = q("INSERT INTO jobs (user_id, name, recipe_type_id)"
	    " SELECT id, $2, $3::bigint FROM users WHERE name = $1"
	    " RETURNING id, uuid", 3, params)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		PQclear(res);
		fail("no such user: %s", user);
		goto out;
	}
	snprintf(job_id, sizeof(job_id), "%s", PQgetvalue(res, 0, 0));
	snprintf(job_uuid, sizeof(job_uuid), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);

	if (store_path(dir, sizeof(dir), cfg.store_dir, job_uuid, NULL) != 0 ||
	    make_dir(dir, &own) != 0) {
		fail("%s: %s", dir, strerror(errno));
		goto out;
	}
	made_dir = 1;
	for (i = 0; i < nfiles; i++) {
		if (object_name_for(files[i], obj, sizeof(obj)) != 0)
			goto out;
		snprintf(path, sizeof(path), "%s/%s", dir, obj);
		if (store_copy_in(files[i], path, own.uid, own.gid, &bytes)
		    != 0) {
			fail("%s: %s", files[i], strerror(errno));
			goto out;
		}
		total += bytes;
		store_safe_filename(files[i], orig, sizeof(orig));
		snprintf(size, sizeof(size), "%lld", (long long)bytes);
		params[0] = job_id;
		params[1] = obj;
		params[2] = orig;
		params[3] = store_content_type(orig);
		params[4] = size;
		if ((res = q("INSERT INTO job_objects"
		    " (job_id, object_uuid, original_name, content_type, size)"
		    " VALUES ($1, $2, $3, $4, $5)", 5, params)) == NULL)
			goto out;
		PQclear(res);
	}
	snprintf(size, sizeof(size), "%lld", (long long)total);
	params[0] = job_id;
	params[1] = size;
	if ((res = q("UPDATE jobs SET total_size = $2 WHERE id = $1", 2,
	    params)) == NULL)
		goto out;
	PQclear(res);
	if (exec_ok("COMMIT") != 0)
		goto out;
	printf("%s\n", job_id);
	rc = 0;
out:
	if (rc != 0) {
		exec_ok("ROLLBACK");
		if (made_dir)
			store_remove_tree(dir);
	}
	return rc;
}

struct result_arg {
	char		 obj[64];
	const char	*kind;
	const char	*file;
};

/* Parse "OBJECT_UUID:full=FILE" or "OBJECT_UUID:min=FILE". */
static int
result_arg_parse(const char *s, struct result_arg *ra)
{
	const char	*colon = strchr(s, ':'), *eq;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(ra->obj) ||
	    !object_name_valid(s, (size_t)(colon - s)))
		return -1;
	memcpy(ra->obj, s, (size_t)(colon - s));
	ra->obj[colon - s] = '\0';
	if (strncmp(colon + 1, "full=", 5) == 0)
		ra->kind = "full";
	else if (strncmp(colon + 1, "min=", 4) == 0)
		ra->kind = "min";
	else
		return -1;
	eq = strchr(colon, '=');
	ra->file = eq + 1;
	return *ra->file ? 0 : -1;
}

static int
cmd_job_finish(int argc, char **argv)
{
	struct result_arg results[MAX_ARGS];
	const char	*failed[MAX_ARGS], *status = NULL, *state;
	const char	*params[4];
	char		 written[MAX_ARGS][1200], dir[1024], size[24];
	char		 obj[64], job_uuid[UUID_STR_LEN + 1];
	const char	*reason, *eq;
	struct owner	 own;
	PGresult	*res;
	int64_t		 id, bytes;
	int		 i, n, nres = 0, nfail = 0, nwritten = 0, rc = 1;

	if (argc < 1 || parse_int64(argv[0], 1, INT64_MAX, &id) != PARSE_OK)
		die_usage();
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--status") == 0 && i + 1 < argc)
			status = argv[++i];
		else if (strcmp(argv[i], "--result") == 0 && i + 1 < argc &&
		    nres < MAX_ARGS) {
			if (result_arg_parse(argv[++i], &results[nres++]) != 0)
				return fail("bad --result %s: expected "
				    "OBJECT_UUID:full=FILE or :min=FILE",
				    argv[i]);
		} else if (strcmp(argv[i], "--failed") == 0 && i + 1 < argc &&
		    nfail < MAX_ARGS)
			failed[nfail++] = argv[++i];
		else
			die_usage();
	}
	if (status == NULL)
		die_usage();
	if (strcmp(status, "success") == 0)
		state = "succeeded";
	else if (strcmp(status, "failed") == 0)
		state = "failed";
	else
		return fail("--status is success or failed");
	for (i = 0; i < nres; i++)
		if (access(results[i].file, R_OK) != 0)
			return fail("%s: %s", results[i].file,
			    strerror(errno));

	if (store_owner(&own) != 0 || exec_ok("BEGIN") != 0)
		return 1;
	params[0] = argv[0];
	if ((res = q("SELECT uuid FROM jobs WHERE id = $1 FOR UPDATE", 1,
	    params)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		PQclear(res);
		fail("no such job: %s", argv[0]);
		goto out;
	}
	snprintf(job_uuid, sizeof(job_uuid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	for (i = 0; i < nfail; i++) {
		eq = strchr(failed[i], '=');
		reason = eq ? eq + 1 : FAILURE_DEFAULT;
		snprintf(obj, sizeof(obj), "%.*s", eq ? (int)(eq - failed[i]) :
		    (int)strlen(failed[i]), failed[i]);
		params[1] = obj;
		params[2] = reason;
		if ((res = q("UPDATE job_objects SET failure = $3"
		    " WHERE job_id = $1 AND object_uuid = $2", 3, params)) ==
		    NULL)
			goto out;
		if (strcmp(PQcmdTuples(res), "1") != 0) {
			PQclear(res);
			fail("job %s has no object %s", argv[0], obj);
			goto out;
		}
		PQclear(res);
	}

	if (store_path(dir, sizeof(dir), cfg.store_dir, job_uuid, "results")
	    != 0 || make_dir(dir, &own) != 0) {
		fail("%s: cannot create", dir);
		goto out;
	}
	for (i = 0; i < nres; i++) {
		n = snprintf(written[nwritten], sizeof(written[0]),
		    "%s/%s.%s.json", dir, results[i].obj, results[i].kind);
		if (n < 0 || (size_t)n >= sizeof(written[0])) {
			fail("%s: path too long", dir);
			goto out;
		}
		/* A result given again replaces the earlier one. */
		unlink(written[nwritten]);
		if (store_copy_in(results[i].file, written[nwritten], own.uid,
		    own.gid, &bytes) != 0) {
			fail("%s: %s", results[i].file, strerror(errno));
			goto out;
		}
		nwritten++;
		snprintf(size, sizeof(size), "%lld", (long long)bytes);
		params[1] = results[i].obj;
		params[2] = results[i].kind;
		params[3] = size;
		if ((res = q("INSERT INTO object_results"
		    " (job_id, object_uuid, kind, size) VALUES ($1, $2, $3, $4)"
		    " ON CONFLICT (job_id, object_uuid, kind)"
		    " DO UPDATE SET size = EXCLUDED.size", 4, params)) == NULL)
			goto out;
		PQclear(res);
	}

	/* Credits: the media length of every object that did process. */
	params[1] = state;
	if ((res = q("UPDATE jobs SET state = $2::job_state,"
	    " finished_at = now(), updated_at = now(),"
	    " lease_token = NULL, lease_expires_at = NULL,"
	    " credits_spent = (SELECT coalesce(sum(media_length), 0)"
	    "  FROM job_objects WHERE job_id = $1 AND failure IS NULL)"
	    " WHERE id = $1", 2, params)) == NULL)
		goto out;
	PQclear(res);
	if (exec_ok("COMMIT") != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		exec_ok("ROLLBACK");
		for (i = 0; i < nwritten; i++)
			unlink(written[i]);
	}
	return rc;
}

static const struct command {
	const char	*group;
	const char	*name;
	int		(*fn)(int, char **);
} commands[] = {
	{ "migrate", NULL, cmd_migrate },
	{ "token", "create", cmd_token_create },
	{ "token", "revoke", cmd_token_revoke },
	{ "job", "add", cmd_job_add },
	{ "job", "finish", cmd_job_finish },
	{ "recipe-type", "add", cmd_recipe_type_add },
};

int
main(int argc, char *argv[])
{
	const struct command *cmd = NULL;
	const char	*path = NULL;
	char		 err[512];
	size_t		 i;
	int		 ch, rc, skip;

	while ((ch = getopt(argc, argv, "+c:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			die_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		die_usage();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].group, argv[0]) != 0)
			continue;
		if (commands[i].name == NULL ||
		    (argc > 1 && strcmp(commands[i].name, argv[1]) == 0)) {
			cmd = &commands[i];
			break;
		}
	}
	if (cmd == NULL)
		die_usage();
	skip = cmd->name == NULL ? 1 : 2;
	if (config_load(&cfg, path, err, sizeof(err)) != 0)
		return fail("config: %s", err);
	if (db_connect() != 0) {
		PQfinish(conn);
		return 1;
	}
	rc = cmd->fn(argc - skip, argv + skip);
	PQfinish(conn);
	return rc;
}
