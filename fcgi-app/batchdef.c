/*
 * batchdef.c -- the body of POST /batches/ and /batches/validation/:
 * {"recipe_type_id", "title", "description", "definition"}, the definition
 * in Scale's batch definition form
 *
 *	{"version": "1.0",
 *	 "date_range": {"type": "created"|"data", "started": T, "ended": T},
 *	 "job_names": [...], "all_jobs": bool, "priority": N}
 *
 * Everything is checked here, before any SQL runs, and the definition is
 * rewritten in a canonical form (times in UTC, only the keys given) that
 * sql/004_batches.sql reads without checking again.  Unknown keys are
 * refused: a misspelt "job_name" must not silently select every job.
 *
 * Pure: json-c and iso8601.c only.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "docket.h"

#define JSON_MAX_DEPTH	8
#define JOB_NAMES_MAX	1000
#define NAME_MAX_LEN	255

static int
fail_at(struct batch_error *err, const char *field, const char *message)
{
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), "%s", message);
	return -1;
}

/* Every key of o must be in allowed (NULL-terminated). */
static int
known_keys(struct json_object *o, const char *prefix,
    const char *const *allowed, struct batch_error *err)
{
	char	 field[64];
	size_t	 i;

	json_object_object_foreach(o, key, val) {
		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			snprintf(field, sizeof(field), "%s%.40s", prefix, key);
			return fail_at(err, field, "is not a known field");
		}
	}
	return 0;
}

/* A string member: absent or null leaves *out NULL; at most max bytes. */
static int
opt_string(struct json_object *o, const char *key, const char *field,
    size_t max, const char **out, struct batch_error *err)
{
	struct json_object *v;
	size_t		 len;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail_at(err, field, "must be a string");
	len = (size_t)json_object_get_string_len(v);
	*out = json_object_get_string(v);
	if (strlen(*out) != len)
		return fail_at(err, field, "must not contain NUL characters");
	if (len > max) {
		char	 msg[64];

		snprintf(msg, sizeof(msg), "must be at most %zu bytes", max);
		return fail_at(err, field, msg);
	}
	return 0;
}

static int
date_range(struct json_object *dr, struct jw *w, struct batch_error *err)
{
	static const char *const allowed[] = { "type", "started", "ended",
	    NULL };
	static const char *const names[] = { "started", "ended" };
	const char	*type, *v;
	char		 field[64], iso[ISO_FMT_LEN];
	int64_t		 us[2];
	int		 given[2], i;

	if (!json_object_is_type(dr, json_type_object))
		return fail_at(err, "definition.date_range",
		    "must be an object");
	if (known_keys(dr, "definition.date_range.", allowed, err) != 0)
		return -1;
	if (opt_string(dr, "type", "definition.date_range.type", 16, &type,
	    err) != 0)
		return -1;
	if (type == NULL)
		type = "created";
	if (strcmp(type, "created") != 0 && strcmp(type, "data") != 0)
		return fail_at(err, "definition.date_range.type",
		    "must be \"created\" or \"data\"");
	JW_KEY(w, "date_range");
	jw_obj_open(w);
	JW_KSTR(w, "type", type);
	for (i = 0; i < 2; i++) {
		snprintf(field, sizeof(field), "definition.date_range.%s",
		    names[i]);
		if (opt_string(dr, names[i], field, 64, &v, err) != 0)
			return -1;
		given[i] = v != NULL;
		if (v == NULL)
			continue;
		switch (iso_datetime_parse(v, &us[i])) {
		case ISO_OK:
			break;
		case ISO_NO_ZONE:
			return fail_at(err, field, "needs a zone: Z or an "
			    "offset such as +01:00");
		default:
			return fail_at(err, field, "must be an ISO-8601 "
			    "date-time such as 2015-01-01T00:00:00Z");
		}
		if (iso_format_us(us[i], iso) != 0)
			return fail_at(err, field, "is out of range");
		jw_key(w, names[i]);
		jw_str(w, iso);
	}
	if (given[0] && given[1] && us[0] > us[1])
		return fail_at(err, "definition.date_range.started",
		    "must not be after ended");
	jw_obj_close(w);
	return 0;
}

static int
job_names(struct json_object *a, struct jw *w, struct batch_error *err)
{
	struct json_object *v;
	size_t		 i, n, len;
	char		 field[64];

	if (!json_object_is_type(a, json_type_array))
		return fail_at(err, "definition.job_names",
		    "must be an array of job names");
	n = json_object_array_length(a);
	if (n == 0)
		return fail_at(err, "definition.job_names",
		    "must name at least one job");
	if (n > JOB_NAMES_MAX)
		return fail_at(err, "definition.job_names",
		    "must name at most 1000 jobs");
	JW_KEY(w, "job_names");
	jw_arr_open(w);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(a, i);
		snprintf(field, sizeof(field), "definition.job_names[%zu]", i);
		if (!json_object_is_type(v, json_type_string))
			return fail_at(err, field, "must be a string");
		len = (size_t)json_object_get_string_len(v);
		if (len == 0 || len > NAME_MAX_LEN ||
		    strlen(json_object_get_string(v)) != len)
			return fail_at(err, field, "must be a job name of 1 "
			    "to 255 bytes");
		jw_strn(w, json_object_get_string(v), len);
	}
	jw_arr_close(w);
	return 0;
}

static int
definition(struct json_object *d, struct buf *out, struct batch_error *err)
{
	static const char *const allowed[] = { "version", "date_range",
	    "job_names", "all_jobs", "priority", NULL };
	struct json_object *v;
	struct jw	 w;
	const char	*version;
	int64_t		 prio;

	if (!json_object_is_type(d, json_type_object))
		return fail_at(err, "definition", "must be an object");
	if (known_keys(d, "definition.", allowed, err) != 0)
		return -1;
	if (opt_string(d, "version", "definition.version", 16, &version,
	    err) != 0)
		return -1;
	if (version == NULL)
		return fail_at(err, "definition.version", "is required");
	if (strcmp(version, "1.0") != 0)
		return fail_at(err, "definition.version",
		    "must be \"1.0\", the only version there is");

	jw_init(&w, out);
	jw_obj_open(&w);
	JW_KSTR(&w, "version", "1.0");
	if (json_object_object_get_ex(d, "date_range", &v) && v != NULL &&
	    date_range(v, &w, err) != 0)
		return -1;
	if (json_object_object_get_ex(d, "job_names", &v) && v != NULL &&
	    job_names(v, &w, err) != 0)
		return -1;
	if (json_object_object_get_ex(d, "all_jobs", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_boolean))
			return fail_at(err, "definition.all_jobs",
			    "must be true or false");
		JW_KEY(&w, "all_jobs");
		jw_bool(&w, json_object_get_boolean(v));
	}
	if (json_object_object_get_ex(d, "priority", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_int) ||
		    (prio = json_object_get_int64(v)) < 0 || prio > 3)
			return fail_at(err, "definition.priority",
			    "must be an integer from 0 (first) to 3");
		JW_KEY(&w, "priority");
		jw_int(&w, prio);
	}
	jw_obj_close(&w);
	return out->failed ? fail_at(err, "definition", "is too large") : 0;
}

/*
 * Parse and check a batch request body.  On success req holds the fields
 * (strings copied) and def the canonical definition; on failure err says
 * which field and why.
 */
int
batch_request_parse(const char *body, size_t len, struct batch_request *req,
    struct buf *def, struct batch_error *err)
{
	static const char *const allowed[] = { "recipe_type_id", "title",
	    "description", "definition", NULL };
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL, *v;
	const char	*s;
	size_t		 end;
	int		 rc = -1;

	memset(req, 0, sizeof(*req));
	if (!json_syntax_ok(body, len, JSON_MAX_DEPTH)) {
		fail_at(err, "body", "is not valid JSON");
		goto out;
	}
	if (len > INT32_MAX || (tok = json_tokener_new_ex(JSON_MAX_DEPTH))
	    == NULL) {
		fail_at(err, "body", "could not be parsed");
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, body, (int)len);
	end = o == NULL ? 0 : json_tokener_get_parse_end(tok);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    (end < len && strspn(body + end, " \t\r\n") != len - end)) {
		fail_at(err, "body", "is not valid JSON");
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		fail_at(err, "body", "must be a JSON object");
		goto out;
	}
	if (known_keys(o, "", allowed, err) != 0)
		goto out;

	if (!json_object_object_get_ex(o, "recipe_type_id", &v) || v == NULL) {
		fail_at(err, "recipe_type_id", "is required");
		goto out;
	}
	if (!json_object_is_type(v, json_type_int) ||
	    (req->recipe_type_id = json_object_get_int64(v)) < 1 ||
	    req->recipe_type_id == INT64_MAX) {
		fail_at(err, "recipe_type_id", "must be a positive integer");
		goto out;
	}
	if (opt_string(o, "title", "title", BATCH_TITLE_MAX, &s, err) != 0)
		goto out;
	if ((req->has_title = s != NULL))
		snprintf(req->title, sizeof(req->title), "%s", s);
	if (opt_string(o, "description", "description", BATCH_DESC_MAX, &s,
	    err) != 0)
		goto out;
	if ((req->has_description = s != NULL))
		snprintf(req->description, sizeof(req->description), "%s", s);
	if (!json_object_object_get_ex(o, "definition", &v) || v == NULL) {
		fail_at(err, "definition", "is required");
		goto out;
	}
	rc = definition(v, def, err);
out:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}
