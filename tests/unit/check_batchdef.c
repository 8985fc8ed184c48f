/*
 * check_batchdef.c -- unit tests for batchdef.c: the body of POST /batches/
 * and its Scale batch definition, every field's checks, and the canonical
 * definition that sql/004_batches.sql reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "docket.h"

static struct batch_request	 req;
static struct batch_error	 err;
static struct buf		 def;

static void
setup(void)
{
	buf_init(&def, 64 * 1024);
	memset(&err, 0, sizeof(err));
}

static void
teardown(void)
{
	buf_free(&def);
}

/* Parse body; on success return the canonical definition. */
static const char *
ok(const char *body)
{
	buf_reset(&def);
	ck_assert_msg(batch_request_parse(body, strlen(body), &req, &def,
	    &err) == 0, "%s: refused: %s %s", body, err.field, err.message);
	return buf_cstr(&def);
}

/* Parse body; it must be refused, naming field. */
static void
bad(const char *body, const char *field)
{
	buf_reset(&def);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(batch_request_parse(body, strlen(body), &req, &def,
	    &err) == -1, "%s: accepted", body);
	ck_assert_msg(strcmp(err.field, field) == 0, "%s: field \"%s\", want "
	    "\"%s\" (%s)", body, err.field, field, err.message);
	ck_assert_msg(err.message[0] != '\0', "%s: no message", body);
}

#define DEF(d)	"{\"recipe_type_id\": 7, \"definition\": " d "}"

START_TEST(test_minimal)
{
	ck_assert_str_eq(ok(DEF("{\"version\": \"1.0\"}")),
	    "{\"version\":\"1.0\"}");
	ck_assert_int_eq(req.recipe_type_id, 7);
	ck_assert_int_eq(req.has_title, 0);
	ck_assert_int_eq(req.has_description, 0);
}
END_TEST

START_TEST(test_full)
{
	const char *d = ok("{\"recipe_type_id\": 12, \"title\": \"My Batch\","
	    " \"description\": \"My batch of recipes\", \"definition\": {"
	    "\"version\": \"1.0\", \"date_range\": {\"type\": \"data\","
	    " \"started\": \"2016-01-01T01:00:00+01:00\", \"ended\":"
	    " \"2016-01-02T00:00:00Z\"}, \"job_names\": [\"a\", \"b c\"],"
	    " \"all_jobs\": true, \"priority\": 0}}");

	ck_assert_str_eq(d, "{\"version\":\"1.0\",\"date_range\":{\"type\":"
	    "\"data\",\"started\":\"2016-01-01T00:00:00.000000Z\",\"ended\":"
	    "\"2016-01-02T00:00:00.000000Z\"},\"job_names\":[\"a\",\"b c\"],"
	    "\"all_jobs\":true,\"priority\":0}");
	ck_assert_int_eq(req.recipe_type_id, 12);
	ck_assert_str_eq(req.title, "My Batch");
	ck_assert_str_eq(req.description, "My batch of recipes");
}
END_TEST

START_TEST(test_defaults_and_nulls)
{
	/* date_range type defaults to created; null title is no title;
	 * null optional members are as if absent. */
	ck_assert_str_eq(ok("{\"recipe_type_id\": 1, \"title\": null,"
	    " \"description\": null, \"definition\": {\"version\": \"1.0\","
	    " \"date_range\": {\"ended\": \"2020-01-01T00:00:00Z\"},"
	    " \"all_jobs\": null, \"priority\": null}}"),
	    "{\"version\":\"1.0\",\"date_range\":{\"type\":\"created\","
	    "\"ended\":\"2020-01-01T00:00:00.000000Z\"}}");
	ck_assert_int_eq(req.has_title, 0);
	/* equal started and ended is a range of one instant */
	ok(DEF("{\"version\": \"1.0\", \"date_range\": {\"started\":"
	    " \"2020-01-01T00:00:00Z\", \"ended\": \"2020-01-01T00:00:00Z\"}}"));
	ok(DEF("{\"version\": \"1.0\", \"priority\": 3}"));
}
END_TEST

START_TEST(test_body_bad)
{
	bad("", "body");
	bad("   ", "body");
	bad("{", "body");
	bad("[]", "body");
	bad("\"x\"", "body");
	bad("{\"recipe_type_id\": 1} x", "body");
	bad("{\"recipe_type_id\": 1,}", "body");
	/* json-c's strict mode takes these; json_syntax_ok does not */
	bad("{'recipe_type_id': 1}", "body");
	bad("{\"recipe_type_id\": NaN, \"definition\": {}}", "body");
	bad("{\"recipe_type_id\": 1., \"definition\": {}}", "body");
	bad("{\"recipe_type_id\": 1, \"title\": \"a\tb\", \"definition\":"
	    " {\"version\": \"1.0\"}}", "body");
	bad("{\"definition\": {\"version\": \"1.0\"}}", "recipe_type_id");
	bad(DEF("{\"version\": \"1.0\"}") "\n{}", "body");
	bad("{\"recipe_type_id\": null, \"definition\": {}}", "recipe_type_id");
	bad("{\"recipe_type_id\": \"7\", \"definition\": {}}", "recipe_type_id");
	bad("{\"recipe_type_id\": 7.5, \"definition\": {}}", "recipe_type_id");
	bad("{\"recipe_type_id\": 0, \"definition\": {}}", "recipe_type_id");
	bad("{\"recipe_type_id\": -3, \"definition\": {}}", "recipe_type_id");
	bad("{\"recipe_type_id\": true, \"definition\": {}}", "recipe_type_id");
	bad("{\"recipe_type_id\": 99999999999999999999, \"definition\": {}}",
	    "recipe_type_id");
	bad("{\"recipe_type_id\": 1}", "definition");
	bad("{\"recipe_type_id\": 1, \"definition\": null}", "definition");
	bad("{\"recipe_type_id\": 1, \"definition\": []}", "definition");
	bad("{\"recipe_type_id\": 1, \"definition\": \"1.0\"}", "definition");
	bad("{\"recipe_type_id\": 1, \"recipe_type\": 1, \"definition\": {}}",
	    "recipe_type");
	bad("{\"recipe_type_id\": 1, \"title\": 5, \"definition\": {}}",
	    "title");
	bad("{\"recipe_type_id\": 1, \"title\": \"a\\u0000b\", \"definition\":"
	    " {\"version\": \"1.0\"}}", "title");
	bad("{\"recipe_type_id\": 1, \"description\": [], \"definition\": {}}",
	    "description");
}
END_TEST

START_TEST(test_lengths)
{
	char	*body, *p;
	size_t	 n = BATCH_DESC_MAX + 1;

	body = malloc(n + 200);
	ck_assert_ptr_nonnull(body);
	/* a title of 255 bytes is fine, 256 is not */
	p = body + sprintf(body, "{\"recipe_type_id\": 1, \"title\": \"");
	memset(p, 'x', BATCH_TITLE_MAX);
	strcpy(p + BATCH_TITLE_MAX, "\", \"definition\": {\"version\": "
	    "\"1.0\"}}");
	ok(body);
	ck_assert_uint_eq(strlen(req.title), BATCH_TITLE_MAX);
	memset(p, 'x', BATCH_TITLE_MAX + 1);
	strcpy(p + BATCH_TITLE_MAX + 1, "\", \"definition\": {\"version\": "
	    "\"1.0\"}}");
	bad(body, "title");
	p = body + sprintf(body, "{\"recipe_type_id\": 1, \"description\": "
	    "\"");
	memset(p, 'y', n);
	strcpy(p + n, "\", \"definition\": {\"version\": \"1.0\"}}");
	bad(body, "description");
	free(body);
}
END_TEST

START_TEST(test_definition_bad)
{
	bad(DEF("{}"), "definition.version");
	bad(DEF("{\"version\": \"2.0\"}"), "definition.version");
	bad(DEF("{\"version\": 1.0}"), "definition.version");
	bad(DEF("{\"version\": \"1.0\", \"all_jobs\": \"yes\"}"),
	    "definition.all_jobs");
	bad(DEF("{\"version\": \"1.0\", \"all_jobs\": 1}"),
	    "definition.all_jobs");
	bad(DEF("{\"version\": \"1.0\", \"priority\": 4}"),
	    "definition.priority");
	bad(DEF("{\"version\": \"1.0\", \"priority\": -1}"),
	    "definition.priority");
	bad(DEF("{\"version\": \"1.0\", \"priority\": 1.5}"),
	    "definition.priority");
	bad(DEF("{\"version\": \"1.0\", \"priority\": \"1\"}"),
	    "definition.priority");
	bad(DEF("{\"version\": \"1.0\", \"job_name\": [\"a\"]}"),
	    "definition.job_name");
	bad(DEF("{\"version\": \"1.0\", \"job_names\": []}"),
	    "definition.job_names");
	bad(DEF("{\"version\": \"1.0\", \"job_names\": \"a\"}"),
	    "definition.job_names");
	bad(DEF("{\"version\": \"1.0\", \"job_names\": [\"a\", 3]}"),
	    "definition.job_names[1]");
	bad(DEF("{\"version\": \"1.0\", \"job_names\": [\"\"]}"),
	    "definition.job_names[0]");
	bad(DEF("{\"version\": \"1.0\", \"job_names\": [null]}"),
	    "definition.job_names[0]");
}
END_TEST

START_TEST(test_date_range_bad)
{
	bad(DEF("{\"version\": \"1.0\", \"date_range\": []}"),
	    "definition.date_range");
	bad(DEF("{\"version\": \"1.0\", \"date_range\": {\"type\": \"made\"}}"),
	    "definition.date_range.type");
	bad(DEF("{\"version\": \"1.0\", \"date_range\": {\"type\": 1}}"),
	    "definition.date_range.type");
	bad(DEF("{\"version\": \"1.0\", \"date_range\": {\"start\": "
	    "\"2020-01-01T00:00:00Z\"}}"), "definition.date_range.start");
	bad(DEF("{\"version\": \"1.0\", \"date_range\": {\"started\": "
	    "\"2020-01-01T00:00:00\"}}"), "definition.date_range.started");
	bad(DEF("{\"version\": \"1.0\", \"date_range\": {\"started\": "
	    "\"2020-01-01\"}}"), "definition.date_range.started");
	bad(DEF("{\"version\": \"1.0\", \"date_range\": {\"ended\": "
	    "\"PT3H\"}}"), "definition.date_range.ended");
	bad(DEF("{\"version\": \"1.0\", \"date_range\": {\"ended\": "
	    "\"2020-02-30T00:00:00Z\"}}"), "definition.date_range.ended");
	bad(DEF("{\"version\": \"1.0\", \"date_range\": {\"ended\": "
	    "20200101}}"), "definition.date_range.ended");
	bad(DEF("{\"version\": \"1.0\", \"date_range\": {\"started\": "
	    "\"2020-01-02T00:00:00Z\", \"ended\": \"2020-01-01T00:00:00Z\"}}"),
	    "definition.date_range.started");
}
END_TEST

static Suite *
batchdef_suite(void)
{
	Suite	*s = suite_create("batchdef");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_defaults_and_nulls);
	tcase_add_test(tc, test_body_bad);
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_definition_bad);
	tcase_add_test(tc, test_date_range_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(batchdef_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
