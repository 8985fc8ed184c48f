/*
 * config.c -- the configuration file and its environment overrides.
 *
 * The file is "key = value" lines with '#' comments.  Every key is a row in
 * config_keys[], with its type, bounds and default; DOCKET_<KEY> in the
 * environment overrides the file, so systemd units and the test stack can
 * change one setting without writing a file.  Unknown keys are errors: a
 * typo must not silently fall back to a default.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docket.h"

#ifndef DOCKET_SQL_DIR
#define DOCKET_SQL_DIR "/usr/local/share/docket/sql"
#endif
#ifndef DOCKET_SYSCONF
#define DOCKET_SYSCONF "/etc/docket/docket.conf"
#endif

enum ckey_type { CKEY_STR, CKEY_LONG };

struct ckey {
	const char	*name;
	enum ckey_type	 type;
	size_t		 off;
	size_t		 size;		/* CKEY_STR: field size */
	long		 min, max;	/* CKEY_LONG: bounds */
	const char	*def;
};

#define STR(n, d) { #n, CKEY_STR, offsetof(struct config, n), \
	sizeof(((struct config *)0)->n), 0, 0, d }
#define LNG(n, lo, hi, d) { #n, CKEY_LONG, offsetof(struct config, n), \
	0, lo, hi, d }

static const struct ckey config_keys[] = {
	STR(listen, "unix:/run/docket/docketd.sock"),
	LNG(workers, 1, 64, "2"),
	LNG(threads, 1, 4096, "128"),
	STR(db, "dbname=docket"),
	LNG(db_pool, 1, 256, "8"),
	STR(store_dir, "/var/lib/docket/store"),
	STR(sql_dir, DOCKET_SQL_DIR),
	STR(base_url, ""),
	STR(signing_keys, ""),
	STR(signing_key_id, ""),
	LNG(url_expires_default, 1, 604800, "3600"),
	LNG(url_expires_max, 1, 31536000, "604800"),
	LNG(jobs_list_max, 1, 100000, "1000"),
	LNG(shutdown_grace, 0, 3600, "30"),
	/* the queue surface (seed 002) */
	LNG(queue_body_max, 1024, 16777216, "1048576"),
	LNG(queue_lease_default, 1, 604800, "300"),
	LNG(queue_lease_max, 1, 604800, "86400"),
	LNG(queue_block_max, 0, 3600, "50"),
	LNG(queue_wait_max, 0, 3600, "50"),
	LNG(queue_delay_max, 0, 31536000, "2592000"),
	LNG(queue_ttl_max, 0, 315360000, "31536000"),
	LNG(queue_job_timeout_max, 1, 31536000, "604800"),
	LNG(queue_notify_always, 0, 1, "0"),
	/* the dispatcher */
	LNG(dispatcher, 0, 1, "1"),
	LNG(dispatch_interval_ms, 10, 60000, "250"),
	LNG(queue_max_attempts, 1, 1000, "5"),
	STR(callback_key, ""),
	STR(callback_allow_nets, ""),
	LNG(callback_timeout, 1, 300, "10"),
	LNG(callback_max_attempts, 1, 100, "10"),
	LNG(callback_backoff_base, 1, 3600, "2"),
	LNG(callback_backoff_max, 1, 86400, "3600"),
};

#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static int
config_set(struct config *c, const struct ckey *k, const char *val,
    const char *where, char *err, size_t errlen)
{
	char		*field = (char *)c + k->off;
	int64_t		 v;

	if (k->type == CKEY_STR) {
		if (strlen(val) >= k->size) {
			snprintf(err, errlen, "%s: %s is too long", where,
			    k->name);
			return -1;
		}
		memcpy(field, val, strlen(val) + 1);
		return 0;
	}
	if (parse_int64(val, k->min, k->max, &v) != PARSE_OK) {
		snprintf(err, errlen, "%s: %s must be an integer in %ld..%ld",
		    where, k->name, k->min, k->max);
		return -1;
	}
	*(long *)(void *)field = (long)v;
	return 0;
}

static const struct ckey *
config_find(const char *name, size_t n)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strlen(config_keys[i].name) == n &&
		    strncmp(config_keys[i].name, name, n) == 0)
			return &config_keys[i];
	return NULL;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
config_read_file(struct config *c, const char *path, FILE *f, char *err,
    size_t errlen)
{
	char		 line[2048], where[600], *p, *eq, *key, *val;
	const struct ckey *k;
	int		 lineno = 0;
	size_t		 vlen;

	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		snprintf(where, sizeof(where), "%.500s:%d", path, lineno);
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s: line too long", where);
			return -1;
		}
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			snprintf(err, errlen, "%s: expected key = value", where);
			return -1;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		/* Allow "quoted values" so conninfo strings read naturally. */
		vlen = strlen(val);
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val[vlen - 1] = '\0';
			val++;
		}
		if ((k = config_find(key, strlen(key))) == NULL) {
			snprintf(err, errlen, "%s: unknown key \"%.64s\"",
			    where, key);
			return -1;
		}
		if (config_set(c, k, val, where, err, errlen) != 0)
			return -1;
	}
	return 0;
}

const char *
config_default_path(void)
{
	const char	*p = getenv("DOCKET_CONFIG");

	return (p != NULL && *p != '\0') ? p : DOCKET_SYSCONF;
}

/*
 * Load defaults, then the file at path (NULL: $DOCKET_CONFIG or the system
 * path; a missing default file is fine, a missing named file is not), then
 * DOCKET_<KEY> environment overrides.  On error, err says where and why.
 */
int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	const struct ckey *k;
	char		 env[64], where[80];
	const char	*v = getenv("DOCKET_CONFIG");
	FILE		*f;
	size_t		 i, j;
	/* The same test as config_default_path: an empty variable is unset. */
	int		 explicit_path = path != NULL || (v != NULL && *v != '\0');

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NKEYS; i++)
		if (config_set(c, &config_keys[i], config_keys[i].def,
		    "default", err, errlen) != 0)
			return -1;

	if (path == NULL)
		path = config_default_path();
	if ((f = fopen(path, "r")) != NULL) {
		if (config_read_file(c, path, f, err, errlen) != 0) {
			fclose(f);
			return -1;
		}
		fclose(f);
	} else if (explicit_path || errno != ENOENT) {
		snprintf(err, errlen, "%.500s: %s", path, strerror(errno));
		return -1;
	}

	for (i = 0; i < NKEYS; i++) {
		k = &config_keys[i];
		j = (size_t)snprintf(env, sizeof(env), "DOCKET_%s", k->name);
		for (j = 7; env[j] != '\0'; j++)
			env[j] = (char)toupper((unsigned char)env[j]);
		if ((v = getenv(env)) == NULL)
			continue;
		snprintf(where, sizeof(where), "environment %s", env);
		if (config_set(c, k, v, where, err, errlen) != 0)
			return -1;
	}

	if (c->queue_lease_default > c->queue_lease_max) {
		snprintf(err, errlen, "queue_lease_default exceeds "
		    "queue_lease_max");
		return -1;
	}
	if (c->url_expires_default > c->url_expires_max) {
		snprintf(err, errlen, "url_expires_default exceeds "
		    "url_expires_max");
		return -1;
	}
	return 0;
}
