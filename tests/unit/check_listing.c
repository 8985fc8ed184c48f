/*
 * check_listing.c -- unit tests for listing.c: every rule of list_parse
 * (DRF and strict pages, page_size, started/ended as date-times and
 * durations, order, the three kinds of filter, unknown parameters,
 * any_given) with the malformed forms of each, the exact statements
 * list_build makes in both counting shapes, and the URLs of list_link.
 *
 * Two specs stand in for the surfaces: a batches-like one (DRF pages, a
 * window function, a time column) and a jobs-like one (strict pages,
 * count(*), choices bound as other words).  Every failure is also checked
 * for a message that is a whole sentence, names its parameter, fits
 * struct list_error and is clean UTF-8 without control bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "docket.h"

#define S(x)	((int64_t)(x) * 1000000)
#define NOW	S(1795521600)		/* 2026-11-24T12:00:00Z */
#define NOW_STR	"2026-11-24T12:00:00.000000Z"
#define HOUR	S(3600)
#define DAY	S(86400)

/* ---- the specs ---------------------------------------------------------- */

static const char *const batch_status[] = { "SUBMITTED", "CREATED", NULL };

static const struct list_filter batch_filters[] = {
	{ "status", LV_CHOICE, batch_status, NULL, "b.status = ANY(%s)",
	    "batch_status", NULL },
	{ "recipe_type_id", LV_INT, NULL, NULL, "b.recipe_type_id = ANY(%s)",
	    "bigint", "b.recipe_type_id = %s" },
	{ "recipe_type_name", LV_TEXT, NULL, NULL,
	    "b.recipe_type_id IN (SELECT id FROM recipe_types WHERE "
	    "name = ANY(%s))", "text", NULL },
};

enum { BO_ID, BO_TITLE, BO_STATUS, BO_CREATED, BO_LAST_MODIFIED,
	BO_RECIPE_TYPE };

static const struct list_order batch_orders[] = {
	{ "id", "b.id" },
	{ "title", "b.title" },
	{ "status", "b.status" },
	{ "created", "b.created" },
	{ "last_modified", "b.last_modified" },
	{ "recipe_type", "b.recipe_type_id" },
};

static const struct list_spec batches = {
	"batches b",
	"b.id, b.title, rt.name",
	"JOIN recipe_types rt ON rt.id = b.recipe_type_id",
	"b.user_id",
	"b.last_modified",
	"b.id",
	batch_filters, 3,
	batch_orders, 6,
	"last_modified",
	"batch_window",
	1,
	NULL
};

static const char *const job_words[] = { "queued", "processing", "success",
	"failure", NULL };
static const char *const job_binds[] = { "queued", "running", "done",
	"failed", NULL };

static const struct list_filter job_filters[] = {
	{ "status", LV_CHOICE, job_words, job_binds, "j.state = ANY(%s)",
	    "job_state", NULL },
};

enum { JO_DATE, JO_NAME };

static const struct list_order job_orders[] = {
	{ "date", "j.created" },
	{ "name", "j.name" },
};

static const char *const job_extra[] = { "verbose", "format", NULL };

static const struct list_spec jobs = {
	"jobs j",
	"j.uuid, j.name",
	"",
	"j.user_id",
	"j.created",
	"j.id",
	job_filters, 1,
	job_orders, 2,
	"-date",
	NULL,
	0,
	job_extra
};

/* No time column, no filters, no window: the bare shape. */
static const struct list_order type_orders[] = { { "name", "t.name" } };

static const struct list_spec types = {
	"recipe_types t", "t.id, t.name", NULL, "t.user_id", NULL, "t.id",
	NULL, 0, type_orders, 1, "name", NULL, 0, NULL
};

/* ---- helpers ------------------------------------------------------------ */

static void
qparse(struct query *q, const char *qs)
{
	enum query_rc	 rc = query_parse(q, qs);

	ck_assert_msg(rc == QUERY_OK, "query \"%.60s\": rc %d", qs, rc);
}

static void
ok_at(const struct list_spec *spec, const char *qs, int64_t now,
    struct query *q, struct list_params *lp)
{
	struct list_error err;
	enum list_rc	 rc;

	qparse(q, qs);
	rc = list_parse(spec, q, now, lp, &err);
	ck_assert_msg(rc == LIST_OK, "\"%.60s\": rc %d: %s: %s", qs, rc,
	    err.param, err.message);
}

static void
ok(const struct list_spec *spec, const char *qs, struct query *q,
    struct list_params *lp)
{
	ok_at(spec, qs, NOW, q, lp);
}

/* Valid UTF-8 and no control bytes: what a JSON message may carry. */
static int
clean_text(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	int			 n, i;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return 0;
		for (i = 1; i <= n; i++)
			if (p[i] < 0x80 || p[i] > 0xbf)
				return 0;
		p += n + 1;
	}
	return 1;
}

/*
 * list_parse must fail with rc naming param, with a message that is a
 * sentence (ends in '.'), names the parameter, fits and is clean.
 */
static struct list_error
refused_at(const struct list_spec *spec, const char *qs, int64_t now,
    enum list_rc want, const char *param)
{
	struct query	 q;
	struct list_params lp;
	struct list_error err;
	enum list_rc	 rc;
	size_t		 len;

	qparse(&q, qs);
	memset(&err, 'x', sizeof(err));
	rc = list_parse(spec, &q, now, &lp, &err);
	ck_assert_msg(rc == want, "\"%.60s\": rc %d, want %d (%s)", qs, rc,
	    want, rc != LIST_OK ? err.message : "");
	ck_assert_msg(memchr(err.param, '\0', sizeof(err.param)) != NULL,
	    "\"%.60s\": param not terminated", qs);
	ck_assert_msg(memchr(err.message, '\0', sizeof(err.message)) != NULL,
	    "\"%.60s\": message not terminated", qs);
	ck_assert_msg(strcmp(err.param, param) == 0,
	    "\"%.60s\": param \"%s\", want \"%s\"", qs, err.param, param);
	len = strlen(err.message);
	ck_assert_msg(len > 0 && err.message[len - 1] == '.',
	    "\"%.60s\": message not a sentence: \"%s\"", qs, err.message);
	ck_assert_msg(strstr(err.message, param) != NULL,
	    "\"%.60s\": message does not name %s: \"%s\"", qs, param,
	    err.message);
	ck_assert_msg(clean_text(err.message) && clean_text(err.param),
	    "\"%.60s\": message not clean text: \"%s\"", qs, err.message);
	return err;
}

static struct list_error
refused(const struct list_spec *spec, const char *qs, enum list_rc want,
    const char *param)
{
	return refused_at(spec, qs, NOW, want, param);
}

/* A failure whose message must also say something in particular. */
static void
refused_says(const struct list_spec *spec, const char *qs, const char *param,
    const char *says)
{
	struct list_error err = refused(spec, qs, LIST_BAD_PARAM, param);

	ck_assert_msg(strstr(err.message, says) != NULL,
	    "\"%.60s\": message \"%s\" does not say \"%s\"", qs, err.message,
	    says);
}

static void
bad(const struct list_spec *spec, const char *qs, const char *param)
{
	refused(spec, qs, LIST_BAD_PARAM, param);
}

static void
no_page(const char *qs)
{
	struct list_error err = refused(&batches, qs, LIST_NO_PAGE, "page");

	ck_assert_str_eq(err.message, "Invalid page.");
}

/* ---- list_parse: defaults, unknown parameters, any_given ---------------- */

START_TEST(test_defaults)
{
	struct query	 q;
	struct list_params lp;
	size_t		 i;

	ok(&batches, "", &q, &lp);
	ck_assert_int_eq(lp.page, 1);
	ck_assert_int_eq(lp.page_size, LIST_PAGE_SIZE_DEFAULT);
	ck_assert_int_eq(lp.has_started, 0);
	ck_assert_int_eq(lp.ended_us, NOW);
	ck_assert_uint_eq(lp.norder, 1);
	ck_assert_uint_eq(lp.order[0].field, BO_LAST_MODIFIED);
	ck_assert_int_eq(lp.order[0].desc, 0);
	for (i = 0; i < LIST_MAX_FILTERS; i++)
		ck_assert_uint_eq(lp.nvalues[i], 0);
	ck_assert_int_eq(lp.any_given, 0);

	/* the jobs default is descending */
	ok(&jobs, "", &q, &lp);
	ck_assert_int_eq(lp.page, 1);
	ck_assert_int_eq(lp.page_size, 100);
	ck_assert_uint_eq(lp.norder, 1);
	ck_assert_uint_eq(lp.order[0].field, JO_DATE);
	ck_assert_int_eq(lp.order[0].desc, 1);

	/* empty segments are no parameters */
	ok(&batches, "&&", &q, &lp);
	ck_assert_int_eq(lp.any_given, 0);
}
END_TEST

START_TEST(test_unknown)
{
	struct list_error err;
	char		 qs[1024];

	refused_says(&batches, "foo=1", "foo", "page_size");
	refused_says(&batches, "foo=1", "foo", "recipe_type_name");
	/* before anything else is looked at */
	bad(&batches, "page=0&order=nope&foo=1", "foo");
	bad(&batches, "status=CREATED&Page=2", "Page");
	bad(&batches, "page_size =5", "page_size ");
	bad(&batches, "limit=10", "limit");
	bad(&batches, "offset=10", "offset");
	bad(&batches, "ordering=id", "ordering");
	/* a key alone is a parameter too */
	bad(&batches, "foo", "foo");
	/* another route's extra names are not this one's */
	bad(&batches, "verbose=1", "verbose");
	/* control bytes and non-UTF-8 are not echoed as they are */
	err = refused(&batches, "%01%FFx=1", LIST_BAD_PARAM, "??x");
	ck_assert_ptr_nonnull(strstr(err.message, "'??x'"));
	/* a long key is cut in both param and message */
	memset(qs, 'k', 300);
	strcpy(qs + 300, "=1");
	err = refused(&batches, qs,
	    LIST_BAD_PARAM, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...");
	/* a UTF-8 key keeps whole characters */
	refused(&batches, "%C3%A9t%C3%A9=1", LIST_BAD_PARAM,
	    "\xc3\xa9t\xc3\xa9");
}
END_TEST

START_TEST(test_extra_and_any_given)
{
	struct query	 q;
	struct list_params lp;
	static const char *const given[] = { "page=1", "page_size=100",
	    "order=name", "started=P1D", "ended=P0D", "status=queued",
	    "verbose=1&page=1", "page=", NULL };
	size_t		 i;

	/* extra parameters are allowed and do not count */
	ok(&jobs, "verbose=1", &q, &lp);
	ck_assert_int_eq(lp.any_given, 0);
	ok(&jobs, "verbose=1&format=csv&verbose=", &q, &lp);
	ck_assert_int_eq(lp.any_given, 0);
	for (i = 0; given[i] != NULL; i++) {
		if (strcmp(given[i], "page=") == 0)
			continue;	/* strict: a 400, tested below */
		ok(&jobs, given[i], &q, &lp);
		ck_assert_msg(lp.any_given == 1, "%s: any_given 0", given[i]);
	}
	ok(&batches, "recipe_type_id=3", &q, &lp);
	ck_assert_int_eq(lp.any_given, 1);
	ok(&batches, "recipe_type_name=x", &q, &lp);
	ck_assert_int_eq(lp.any_given, 1);
}
END_TEST

/* ---- page and page_size ------------------------------------------------- */

START_TEST(test_page_drf)
{
	struct query	 q;
	struct list_params lp;

	ok(&batches, "page=2", &q, &lp);
	ck_assert_int_eq(lp.page, 2);
	ok(&batches, "page=007", &q, &lp);
	ck_assert_int_eq(lp.page, 7);
	ok(&batches, "page=1000000000000", &q, &lp);
	ck_assert_int_eq(lp.page, 1000000000000LL);
	ok(&batches, "page=last", &q, &lp);
	ck_assert_int_eq(lp.page, LIST_PAGE_LAST);
	/* the last value wins, as Django's QueryDict.get */
	ok(&batches, "page=1&page=3", &q, &lp);
	ck_assert_int_eq(lp.page, 3);
	ok(&batches, "page=abc&page=2", &q, &lp);
	ck_assert_int_eq(lp.page, 2);
	ok(&batches, "page=2&page=last", &q, &lp);
	ck_assert_int_eq(lp.page, LIST_PAGE_LAST);

	no_page("page=2&page=abc");
	no_page("page=0");
	no_page("page=000");
	no_page("page=-1");
	no_page("page=abc");
	no_page("page=");
	no_page("page");
	no_page("page=1.5");
	no_page("page=1.0");
	no_page("page=%2B2");		/* "+2" */
	no_page("page=+2");		/* " 2" once decoded */
	no_page("page=%202");
	no_page("page=2%20");
	no_page("page=1000000000001");
	no_page("page=99999999999999999999999999999999");
	no_page("page=Last");
	no_page("page=LAST");
	no_page("page=last%20");
	no_page("page=1e3");
	no_page("page=0x10");
	no_page("page=%EF%BC%92");	/* a full-width 2 */
	/* a 400 of any other parameter comes first, as in DRF */
	bad(&batches, "page=0&order=nope", "order");
	bad(&batches, "status=nope&page=abc", "status");
	bad(&batches, "page=abc&started=yesterday", "started");
	/* page_size is lenient, so page is the one wrong */
	no_page("page=0&page_size=abc");
}
END_TEST

START_TEST(test_page_strict)
{
	struct query	 q;
	struct list_params lp;

	ok(&jobs, "page=2", &q, &lp);
	ck_assert_int_eq(lp.page, 2);
	ok(&jobs, "page=1000000000000", &q, &lp);
	ck_assert_int_eq(lp.page, 1000000000000LL);
	ok(&jobs, "page=01", &q, &lp);
	ck_assert_int_eq(lp.page, 1);

	refused_says(&jobs, "page=1&page=1", "page", "once");
	refused_says(&jobs, "page=1&page=2", "page", "once");
	refused_says(&jobs, "page=0", "page", "'0'");
	bad(&jobs, "page=-1", "page");
	bad(&jobs, "page=-0", "page");
	bad(&jobs, "page=abc", "page");
	bad(&jobs, "page=", "page");
	bad(&jobs, "page", "page");
	bad(&jobs, "page=1.5", "page");
	bad(&jobs, "page=last", "page");
	bad(&jobs, "page=%2B2", "page");
	bad(&jobs, "page=+2", "page");
	bad(&jobs, "page=1000000000001", "page");
	bad(&jobs, "page=99999999999999999999999", "page");
	/* strict never says LIST_NO_PAGE */
	refused(&jobs, "page=0", LIST_BAD_PARAM, "page");
}
END_TEST

START_TEST(test_page_size_drf)
{
	struct query	 q;
	struct list_params lp;
	static const struct {
		const char	*qs;
		int64_t		 want;
	} cases[] = {
		{ "page_size=5", 5 },
		{ "page_size=1", 1 },
		{ "page_size=1000", 1000 },
		{ "page_size=0100", 100 },
		/* above the maximum: cut to it */
		{ "page_size=1001", 1000 },
		{ "page_size=99999999999999999999999999", 1000 },
		/* anything else: the default, quietly */
		{ "page_size=0", 100 },
		{ "page_size=000", 100 },
		{ "page_size=abc", 100 },
		{ "page_size=", 100 },
		{ "page_size", 100 },
		{ "page_size=-5", 100 },
		{ "page_size=1.5", 100 },
		{ "page_size=%2B5", 100 },
		{ "page_size=+5", 100 },
		{ "page_size=5%20", 100 },
		{ "page_size=1e2", 100 },
		/* the last value wins, even a bad one */
		{ "page_size=5&page_size=7", 7 },
		{ "page_size=abc&page_size=7", 7 },
		{ "page_size=5&page_size=abc", 100 },
		{ "page_size=5&page_size=5000", 1000 },
	};
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok(&batches, cases[i].qs, &q, &lp);
		ck_assert_msg(lp.page_size == cases[i].want,
		    "%s: page_size %lld, want %lld", cases[i].qs,
		    (long long)lp.page_size, (long long)cases[i].want);
	}
}
END_TEST

START_TEST(test_page_size_strict)
{
	struct query	 q;
	struct list_params lp;

	ok(&jobs, "page_size=1", &q, &lp);
	ck_assert_int_eq(lp.page_size, 1);
	ok(&jobs, "page_size=1000", &q, &lp);
	ck_assert_int_eq(lp.page_size, 1000);
	refused_says(&jobs, "page_size=1001", "page_size", "1000");
	refused_says(&jobs, "page_size=5&page_size=5", "page_size", "once");
	bad(&jobs, "page_size=0", "page_size");
	bad(&jobs, "page_size=-5", "page_size");
	bad(&jobs, "page_size=abc", "page_size");
	bad(&jobs, "page_size=", "page_size");
	bad(&jobs, "page_size=1.5", "page_size");
	bad(&jobs, "page_size=%2B5", "page_size");
	bad(&jobs, "page_size=99999999999999999999999", "page_size");
}
END_TEST

/* ---- started and ended -------------------------------------------------- */

START_TEST(test_times_ok)
{
	struct query	 q;
	struct list_params lp;
	int64_t		 nov1 = S(1793491200);	/* 2026-11-01 */

	ok(&batches, "started=2026-11-01T00:00:00Z", &q, &lp);
	ck_assert_int_eq(lp.has_started, 1);
	ck_assert_int_eq(lp.started_us, nov1);
	ck_assert_int_eq(lp.ended_us, NOW);
	/* an offset, written %2B or as a raw '+' that decodes to a space */
	ok(&batches, "started=2026-11-01T00:00:00%2B01:00", &q, &lp);
	ck_assert_int_eq(lp.started_us, nov1 - HOUR);
	ok(&batches, "started=2026-11-01T00:00:00+01:00", &q, &lp);
	ck_assert_int_eq(lp.started_us, nov1 - HOUR);
	ok(&batches, "started=2026-11-01T00:00:00-05:00", &q, &lp);
	ck_assert_int_eq(lp.started_us, nov1 + 5 * HOUR);
	ok(&batches, "started=2026-11-01T00:00:00.25Z", &q, &lp);
	ck_assert_int_eq(lp.started_us, nov1 + 250000);

	/* durations: now minus them */
	ok(&batches, "started=P1D", &q, &lp);
	ck_assert_int_eq(lp.started_us, NOW - DAY);
	ok(&batches, "started=PT3H0M0S", &q, &lp);
	ck_assert_int_eq(lp.started_us, NOW - 3 * HOUR);
	ok(&batches, "started=P1W", &q, &lp);
	ck_assert_int_eq(lp.started_us, NOW - 7 * DAY);
	ok(&batches, "started=PT0.5S", &q, &lp);
	ck_assert_int_eq(lp.started_us, NOW - 500000);
	ok(&batches, "started=P1M", &q, &lp);	/* 2026-10-24T12:00:00Z */
	ck_assert_int_eq(lp.started_us, S(1792843200));
	/* the calendar, clamped: 2024-03-31 minus P1M is 2024-02-29 */
	ok_at(&batches, "started=P1M", S(1711879200), &q, &lp);
	ck_assert_int_eq(lp.started_us, S(1709200800));
	ok_at(&batches, "started=P1Y1M", S(1711879200), &q, &lp);
	ck_assert_int_eq(lp.started_us, S(1677578400));	/* 2023-02-28 */
	/* back to the very first day there is */
	ok(&batches, "started=P2025Y10M23DT12H", &q, &lp);
	ck_assert_int_eq(lp.started_us, S(-62135596800LL));

	/* ended: a date-time or a duration too; started must precede it */
	ok(&batches, "ended=PT1H", &q, &lp);
	ck_assert_int_eq(lp.ended_us, NOW - HOUR);
	ck_assert_int_eq(lp.has_started, 0);
	ok(&batches, "started=P30D&ended=2026-11-20T00:00:00Z", &q, &lp);
	ck_assert_int_eq(lp.started_us, NOW - 30 * DAY);
	ck_assert_int_eq(lp.ended_us, S(1795132800));
	ok(&batches, "ended=2016-01-02T00:00:00Z&started=2016-01-01T00:00:00Z",
	    &q, &lp);
	ck_assert_int_eq(lp.ended_us - lp.started_us, DAY);
	/* one microsecond apart is enough */
	ok(&batches, "started=2016-01-01T00:00:00Z&"
	    "ended=2016-01-01T00:00:00.000001Z", &q, &lp);
	/* the jobs spec takes them too */
	ok(&jobs, "started=PT3H0M0S", &q, &lp);
	ck_assert_int_eq(lp.started_us, NOW - 3 * HOUR);
	/* so does a spec without a time column (they are checked, not used) */
	ok(&types, "started=P1D&ended=PT1H", &q, &lp);
}
END_TEST

START_TEST(test_times_bad)
{
	struct list_error err;

	refused_says(&batches, "started=P1D&started=P2D", "started", "once");
	refused_says(&batches, "ended=P1D&ended=P1D", "ended", "once");
	refused_says(&batches, "started=", "started", "empty");
	refused_says(&batches, "started", "started", "empty");
	refused_says(&batches, "ended=", "ended", "empty");
	refused_says(&batches, "started=2016-01-01T00:00:00", "started",
	    "needs a zone: Z or an offset such as +01:00");
	refused_says(&batches, "ended=2016-01-01T00:00", "ended",
	    "needs a zone");
	refused_says(&batches, "started=2016-01-01", "started",
	    "date without a time");
	refused_says(&batches, "started=2016-01-01", "started",
	    "2016-01-01T00:00:00Z");
	refused_says(&batches, "started=2016-13-01T00:00:00Z", "started",
	    "out of range");
	refused_says(&batches, "started=2015-02-29T00:00:00Z", "started",
	    "out of range");
	refused_says(&batches, "ended=2016-01-01T24:00:00Z", "ended",
	    "out of range");
	refused_says(&batches, "started=2016-01-01T00:00:00%2B24:00", "started",
	    "out of range");
	refused_says(&batches, "started=yesterday", "started",
	    "neither an ISO-8601 date-time");
	refused_says(&batches, "started=yesterday", "started", "'yesterday'");
	bad(&batches, "started=P", "started");
	bad(&batches, "started=PT", "started");
	bad(&batches, "started=-P1D", "started");
	bad(&batches, "started=P-1D", "started");
	bad(&batches, "started=pt3h", "started");
	bad(&batches, "started=P1.5D", "started");
	bad(&batches, "started=1795521600", "started");
	bad(&batches, "started=2016-01-01T00:00:00ZZ", "started");
	bad(&batches, "started=2016-01-01T00:00:00UTC", "started");
	bad(&batches, "started=%202016-01-01T00:00:00Z", "started");
	bad(&batches, "started=now", "started");
	bad(&batches, "ended=P1D1D", "ended");
	/* durations reaching before year 1 */
	refused_says(&batches, "started=P999999999Y", "started", "year 1");
	refused_says(&batches, "started=P999999999M", "started", "year 1");
	refused_says(&batches, "started=P999999999W", "started", "year 1");
	refused_says(&batches, "started=PT999999999H", "started", "year 1");
	bad(&batches, "started=P2026Y", "started");
	bad(&batches, "started=P2025Y10M23DT12H0.000001S", "started");
	bad(&batches, "ended=P999999999Y999999999M999999999W999999999D"
	    "T999999999H999999999M999999999.999999S", "ended");
	/* a zone that pushes the time out of years 1..9999 */
	refused_says(&batches, "started=0001-01-01T00:00:00%2B01:00", "started",
	    "years 1 to 9999");
	refused_says(&batches, "ended=9999-12-31T23:59:59-01:00", "ended",
	    "years 1 to 9999");
	/* started must be strictly before ended (or now) */
	refused_says(&batches, "started=2026-11-25T00:00:00Z", "started",
	    "before ended");
	bad(&batches, "started=P0D", "started");
	bad(&batches, "started=PT0S&ended=PT0S", "started");
	bad(&batches, "started=P1D&ended=P2D", "started");
	bad(&batches, "started=2016-01-01T00:00:00Z&"
	    "ended=2016-01-01T00:00:00Z", "started");
	err = refused(&batches, "started=2016-01-02T00:00:00Z&"
	    "ended=2016-01-01T01:00:00%2B01:00", LIST_BAD_PARAM, "started");
	ck_assert_ptr_nonnull(strstr(err.message,
	    "2016-01-02T00:00:00.000000Z is not before "
	    "2016-01-01T00:00:00.000000Z"));
	/* a bad ended is named as ended even with a good started */
	bad(&batches, "started=P1D&ended=tomorrow", "ended");
	bad(&jobs, "started=2016-01-01", "started");
}
END_TEST

/* ---- order -------------------------------------------------------------- */

START_TEST(test_order_ok)
{
	struct query	 q;
	struct list_params lp;

	ok(&batches, "order=title", &q, &lp);
	ck_assert_uint_eq(lp.norder, 1);
	ck_assert_uint_eq(lp.order[0].field, BO_TITLE);
	ck_assert_int_eq(lp.order[0].desc, 0);
	ok(&batches, "order=-title", &q, &lp);
	ck_assert_uint_eq(lp.norder, 1);
	ck_assert_int_eq(lp.order[0].desc, 1);
	/* repeatable, in the order given, interleaved with other params */
	ok(&batches, "order=-created&status=CREATED&order=title&order=-id",
	    &q, &lp);
	ck_assert_uint_eq(lp.norder, 3);
	ck_assert_uint_eq(lp.order[0].field, BO_CREATED);
	ck_assert_int_eq(lp.order[0].desc, 1);
	ck_assert_uint_eq(lp.order[1].field, BO_TITLE);
	ck_assert_int_eq(lp.order[1].desc, 0);
	ck_assert_uint_eq(lp.order[2].field, BO_ID);
	ck_assert_int_eq(lp.order[2].desc, 1);
	/* every field once */
	ok(&batches, "order=id&order=-title&order=status&order=created&"
	    "order=-last_modified&order=recipe_type", &q, &lp);
	ck_assert_uint_eq(lp.norder, 6);
	ck_assert_uint_eq(lp.order[5].field, BO_RECIPE_TYPE);
	/* given, the default is not added */
	ok(&jobs, "order=name", &q, &lp);
	ck_assert_uint_eq(lp.norder, 1);
	ck_assert_uint_eq(lp.order[0].field, JO_NAME);
	ck_assert_int_eq(lp.order[0].desc, 0);
	ok(&jobs, "order=date", &q, &lp);
	ck_assert_int_eq(lp.order[0].desc, 0);
}
END_TEST

START_TEST(test_order_bad)
{
	char		 qs[1024];
	size_t		 i;

	/* the message names the value and lists the fields */
	refused_says(&batches, "order=nope", "order", "'nope'");
	refused_says(&batches, "order=nope", "order",
	    "id, title, status, created, last_modified, recipe_type");
	refused_says(&jobs, "order=nope", "order", "date, name");
	refused_says(&batches, "order=", "order", "''");
	refused_says(&batches, "order", "order", "''");
	refused_says(&batches, "order=-", "order", "'-'");
	refused_says(&batches, "order=--title", "order", "'--title'");
	bad(&batches, "order=title-", "order");
	bad(&batches, "order=%2Btitle", "order");
	bad(&batches, "order=+title", "order");		/* " title" */
	bad(&batches, "order=title%20", "order");
	bad(&batches, "order=Title", "order");
	bad(&batches, "order=b.title", "order");
	bad(&batches, "order=title,id", "order");
	bad(&batches, "order=title;DROP%20TABLE%20batches", "order");
	bad(&batches, "order=1", "order");
	/* a good one before does not help */
	bad(&batches, "order=title&order=nope", "order");
	/* each field once, whatever the direction */
	refused_says(&batches, "order=title&order=-title", "order",
	    "second time");
	bad(&batches, "order=id&order=id", "order");
	bad(&batches, "order=-id&order=title&order=-id", "order");
	bad(&jobs, "order=-date&order=date", "order");
	/* at most LIST_MAX_ORDER values */
	qs[0] = '\0';
	for (i = 0; i < LIST_MAX_ORDER + 1; i++)
		strcat(qs, i == 0 ? "order=id" : "&order=id");
	refused_says(&batches, qs, "order", "at most 8");
	/* a long, odd value stays inside the message, cut and clean */
	strcpy(qs, "order=-");
	for (i = 0; i < 100; i++)
		strcat(qs, "%C3%A9");
	refused_says(&batches, qs, "order", "...'");
	refused_says(&batches, "order=%0Aid%09", "order", "'?id?'");
}
END_TEST

/* ---- filters ------------------------------------------------------------ */

START_TEST(test_filters_ok)
{
	struct query	 q;
	struct list_params lp;
	char		 qs[1024];
	int		 i;

	ok(&batches, "status=CREATED", &q, &lp);
	ck_assert_uint_eq(lp.nvalues[0], 1);
	/* a choice binds as the spec's own string */
	ck_assert_ptr_eq(lp.values[0][0], batch_status[1]);
	ck_assert_uint_eq(lp.nvalues[1], 0);
	ck_assert_uint_eq(lp.nvalues[2], 0);

	/* kept in the order given, interleaved with the others */
	ok(&batches, "status=CREATED&recipe_type_id=12&status=SUBMITTED&"
	    "recipe_type_name=my%20recipe&recipe_type_id=7", &q, &lp);
	ck_assert_uint_eq(lp.nvalues[0], 2);
	ck_assert_str_eq(lp.values[0][0], "CREATED");
	ck_assert_str_eq(lp.values[0][1], "SUBMITTED");
	ck_assert_uint_eq(lp.nvalues[1], 2);
	ck_assert_str_eq(lp.values[1][0], "12");
	ck_assert_str_eq(lp.values[1][1], "7");
	/* ints and texts are the query's own values, borrowed */
	ck_assert_ptr_eq(lp.values[1][0], q.p[1].val);
	ck_assert_uint_eq(lp.nvalues[2], 1);
	ck_assert_str_eq(lp.values[2][0], "my recipe");
	ck_assert_ptr_eq(lp.values[2][0], q.p[3].val);

	/* binds: the word a client writes, the word the database stores */
	ok(&jobs, "status=processing&status=queued&status=failure", &q, &lp);
	ck_assert_uint_eq(lp.nvalues[0], 3);
	ck_assert_str_eq(lp.values[0][0], "running");
	ck_assert_ptr_eq(lp.values[0][0], job_binds[1]);
	ck_assert_str_eq(lp.values[0][1], "queued");
	ck_assert_str_eq(lp.values[0][2], "failed");

	/* the same value twice is allowed (it matches the same rows) */
	ok(&batches, "status=CREATED&status=CREATED", &q, &lp);
	ck_assert_uint_eq(lp.nvalues[0], 2);

	/* ints: 1..INT64_MAX */
	ok(&batches, "recipe_type_id=1", &q, &lp);
	ok(&batches, "recipe_type_id=9223372036854775807", &q, &lp);

	/* texts: up to 255 bytes of UTF-8, any characters */
	memset(qs, 0, sizeof(qs));
	strcpy(qs, "recipe_type_name=");
	memset(qs + strlen(qs), 'n', 255);
	ok(&batches, qs, &q, &lp);
	ck_assert_uint_eq(strlen(lp.values[2][0]), 255);
	ok(&batches, "recipe_type_name=%C3%A9t%C3%A9%20%F0%9F%93%A6%27%22",
	    &q, &lp);
	ck_assert_str_eq(lp.values[2][0],
	    "\xc3\xa9t\xc3\xa9 \xf0\x9f\x93\xa6'\"");

	/* LIST_MAX_VALUES of one filter */
	qs[0] = '\0';
	for (i = 0; i < LIST_MAX_VALUES; i++)
		strcat(qs, i == 0 ? "status=CREATED" : "&status=SUBMITTED");
	ok(&batches, qs, &q, &lp);
	ck_assert_uint_eq(lp.nvalues[0], LIST_MAX_VALUES);
}
END_TEST

START_TEST(test_filters_bad)
{
	char		 qs[1024];
	int		 i;

	/* a choice not in the list: the message lists them */
	refused_says(&batches, "status=RUNNING", "status",
	    "is not one of SUBMITTED, CREATED.");
	refused_says(&jobs, "status=running", "status",
	    "queued, processing, success, failure");
	bad(&batches, "status=created", "status");	/* case counts */
	bad(&batches, "status=CREATED%20", "status");
	bad(&batches, "status=CREATED,SUBMITTED", "status");
	bad(&batches, "status=CREATED&status=nope", "status");
	refused_says(&batches, "status=", "status", "empty");
	refused_says(&batches, "status", "status", "empty");
	/* a bind word is not a word clients write */
	bad(&jobs, "status=failed", "status");
	/* ids */
	refused_says(&batches, "recipe_type_id=abc", "recipe_type_id", "'abc'");
	bad(&batches, "recipe_type_id=0", "recipe_type_id");
	bad(&batches, "recipe_type_id=-1", "recipe_type_id");
	bad(&batches, "recipe_type_id=1.5", "recipe_type_id");
	bad(&batches, "recipe_type_id=%2B1", "recipe_type_id");
	bad(&batches, "recipe_type_id=%201", "recipe_type_id");
	bad(&batches, "recipe_type_id=1,2", "recipe_type_id");
	bad(&batches, "recipe_type_id=9223372036854775808", "recipe_type_id");
	bad(&batches, "recipe_type_id=", "recipe_type_id");
	bad(&batches, "recipe_type_id=1&recipe_type_id=x", "recipe_type_id");
	/* texts */
	bad(&batches, "recipe_type_name=", "recipe_type_name");
	memset(qs, 0, sizeof(qs));
	strcpy(qs, "recipe_type_name=");
	memset(qs + strlen(qs), 'n', 256);
	refused_says(&batches, qs, "recipe_type_name", "255 bytes");
	refused_says(&batches, "recipe_type_name=%FF%FE", "recipe_type_name",
	    "UTF-8");
	bad(&batches, "recipe_type_name=%C3", "recipe_type_name");
	bad(&batches, "recipe_type_name=%C0%AF", "recipe_type_name");
	bad(&batches, "recipe_type_name=%ED%A0%80", "recipe_type_name");
	bad(&batches, "recipe_type_name=%F4%90%80%80", "recipe_type_name");
	/* more than LIST_MAX_VALUES */
	qs[0] = '\0';
	for (i = 0; i < LIST_MAX_VALUES + 1; i++)
		strcat(qs, i == 0 ? "status=CREATED" : "&status=CREATED");
	refused_says(&batches, qs, "status", "at most 32");
	/* a long bad choice is cut inside the message */
	strcpy(qs, "status=");
	memset(qs + 7, 'Z', 500);
	qs[507] = '\0';
	refused_says(&batches, qs, "status", "ZZZ...'");
}
END_TEST

/* Lists too long for a message are cut, and the sentence still ends. */
static const char *const wide_words[] = { "PENDING", "BLOCKED", "QUEUED",
	"RUNNING", "FAILED", "COMPLETED", "CANCELED", "SUBMITTED", "CREATED",
	"SUPERSEDED", "A_RATHER_LONG_STATUS_WORD", "ANOTHER_LONG_STATUS_WORD",
	NULL };

static const struct list_filter wide_filters[] = {
	{ "a_rather_long_filter_name", LV_CHOICE, wide_words, NULL,
	    "w.s = ANY(%s)", "text", NULL },
	{ "another_rather_long_filter_name", LV_INT, NULL, NULL,
	    "w.i = ANY(%s)", "bigint", NULL },
	{ "yet_another_rather_long_filter_name", LV_TEXT, NULL, NULL,
	    "w.t = ANY(%s)", "text", NULL },
};

static const struct list_order wide_orders[] = {
	{ "id", "w.id" }, { "title", "w.title" },
	{ "description", "w.description" }, { "recipe_type", "w.rt" },
	{ "event", "w.event" }, { "definition", "w.definition" },
	{ "created", "w.created" }, { "last_modified", "w.last_modified" },
	{ "superseded", "w.superseded" }, { "is_superseded", "w.is_s" },
	{ "root_batch", "w.root" }, { "creator_job", "w.creator" },
};

static const struct list_spec wide = {
	"wide w", "w.*", "", "w.user_id", "w.last_modified", "w.id",
	wide_filters, 3, wide_orders, 12, "id", NULL, 1, NULL
};

START_TEST(test_message_cut)
{
	struct list_error err;
	char		 qs[512];

	err = refused(&wide, "nope=1", LIST_BAD_PARAM, "nope");
	ck_assert_ptr_nonnull(strstr(err.message, "and more."));
	err = refused(&wide,
	    "order=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9", LIST_BAD_PARAM, "order");
	ck_assert_ptr_nonnull(strstr(err.message,
	    "and more (a '-' before one sorts descending)."));
	strcpy(qs, "a_rather_long_filter_name=");
	memset(qs + strlen(qs), 'Q', 100);
	qs[126] = '\0';
	err = refused(&wide, qs, LIST_BAD_PARAM, "a_rather_long_filter_name");
	ck_assert_ptr_nonnull(strstr(err.message, "...' is not one of "
	    "PENDING, BLOCKED"));
	ck_assert_ptr_nonnull(strstr(err.message, " and more."));
}
END_TEST

/* ---- list_build --------------------------------------------------------- */

static void
params_are(const struct list_sql *sql, const char *const *want, int n)
{
	int	 i;

	ck_assert_int_eq(sql->nparams, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(strcmp(sql->params[i], want[i]) == 0,
		    "$%d: \"%s\", want \"%s\"", i + 1, sql->params[i],
		    want[i]);
}

/* Admin (owner 0), defaults: window, seeking on last_modified. */
START_TEST(test_build_window_admin)
{
	static const char *const want[] = { NOW_STR, "0", "100" };
	struct query	 q;
	struct list_params lp;
	struct list_sql	 sql;

	ok(&batches, "", &q, &lp);
	ck_assert_int_eq(list_build(&batches, &lp, 0, 0, &sql), 0);
	ck_assert_str_eq(buf_cstr(&sql.text),
	    "SELECT w.total, p.* FROM batch_window(NULL::bigint, "
	    "NULL::batch_status[], NULL::bigint[], NULL::text[], "
	    "NULL::timestamptz, $1::timestamptz, false, $2::bigint) w "
	    "LEFT JOIN LATERAL (SELECT b.id, b.title, rt.name FROM "
	    "(SELECT b.* FROM batches b WHERE "
	    "b.last_modified <= $1::timestamptz "
	    "AND b.last_modified >= w.lo AND b.last_modified <= w.hi "
	    "ORDER BY b.last_modified, b.id LIMIT $3 OFFSET w.skip) b "
	    "JOIN recipe_types rt ON rt.id = b.recipe_type_id "
	    "ORDER BY b.last_modified, b.id) p ON true");
	params_are(&sql, want, 3);
	ck_assert_int_eq(sql.seeks, 1);
	list_sql_free(&sql);
}
END_TEST

/* A user, two filters, started, descending on the time: still seeks. */
START_TEST(test_build_window_user)
{
	static const char *const want[] = { "42", "CREATED", "SUBMITTED", "7",
	    "2026-11-01T00:00:00.000000Z", NOW_STR, "40", "20" };
	struct query	 q;
	struct list_params lp;
	struct list_sql	 sql;

	ok(&batches, "status=CREATED&order=-last_modified&recipe_type_id=7&"
	    "page=3&status=SUBMITTED&started=2026-11-01T00:00:00Z&"
	    "page_size=20", &q, &lp);
	ck_assert_int_eq(list_build(&batches, &lp, 42,
	    (lp.page - 1) * lp.page_size, &sql), 0);
	ck_assert_str_eq(buf_cstr(&sql.text),
	    "SELECT w.total, p.* FROM batch_window($1::bigint, "
	    "ARRAY[$2::batch_status,$3::batch_status], ARRAY[$4::bigint], "
	    "NULL::text[], $5::timestamptz, $6::timestamptz, true, "
	    "$7::bigint) w "
	    "LEFT JOIN LATERAL (SELECT b.id, b.title, rt.name FROM "
	    "(SELECT b.* FROM batches b WHERE b.user_id = $1 "
	    "AND b.status = ANY(ARRAY[$2::batch_status,$3::batch_status]) "
	    /* one value: "= $n", which PostgreSQL can walk an index
	     * for; the window function still takes an array */
	    "AND b.recipe_type_id = $4::bigint "
	    "AND b.last_modified >= $5::timestamptz "
	    "AND b.last_modified <= $6::timestamptz "
	    "AND b.last_modified >= w.lo AND b.last_modified <= w.hi "
	    "ORDER BY b.last_modified DESC, b.id DESC LIMIT $8 OFFSET w.skip) "
	    "b JOIN recipe_types rt ON rt.id = b.recipe_type_id "
	    "ORDER BY b.last_modified DESC, b.id DESC) p ON true");
	params_are(&sql, want, 8);
	ck_assert_int_eq(sql.seeks, 1);
	list_sql_free(&sql);
}
END_TEST

/* The first key is not the time column: the window only counts. */
START_TEST(test_build_window_no_seek)
{
	static const char *const want[] = { "5", "my recipe", NOW_STR, "25",
	    "50" };
	struct query	 q;
	struct list_params lp;
	struct list_sql	 sql;

	ok(&batches, "order=-title&order=created&page=3&page_size=25&"
	    "recipe_type_name=my+recipe", &q, &lp);
	ck_assert_int_eq(list_build(&batches, &lp, 5, 50, &sql), 0);
	ck_assert_str_eq(buf_cstr(&sql.text),
	    "SELECT w.total, p.* FROM batch_window($1::bigint, "
	    "NULL::batch_status[], NULL::bigint[], ARRAY[$2::text], "
	    "NULL::timestamptz, $3::timestamptz, true, NULL::bigint) w "
	    "LEFT JOIN LATERAL (SELECT b.id, b.title, rt.name FROM "
	    "(SELECT b.* FROM batches b WHERE b.user_id = $1 "
	    "AND b.recipe_type_id IN (SELECT id FROM recipe_types WHERE "
	    "name = ANY(ARRAY[$2::text])) "
	    "AND b.last_modified <= $3::timestamptz "
	    "ORDER BY b.title DESC, b.created, b.id LIMIT $4 OFFSET $5) b "
	    "JOIN recipe_types rt ON rt.id = b.recipe_type_id "
	    "ORDER BY b.title DESC, b.created, b.id) p ON true");
	params_are(&sql, want, 5);
	ck_assert_int_eq(sql.seeks, 0);
	list_sql_free(&sql);

	/* the time column second: no seek either */
	ok(&batches, "order=id&order=last_modified", &q, &lp);
	ck_assert_int_eq(list_build(&batches, &lp, 0, 0, &sql), 0);
	ck_assert_int_eq(sql.seeks, 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&sql.text),
	    "false, NULL::bigint) w"));
	ck_assert_ptr_null(strstr(buf_cstr(&sql.text), "w.lo"));
	list_sql_free(&sql);
}
END_TEST

/* The jobs spec: count(*), choices bound through binds. */
START_TEST(test_build_count)
{
	static const char *const want[] = { "9", "running", "queued",
	    "2026-11-24T09:00:00.000000Z", NOW_STR, "20", "60" };
	static const char *const want_admin[] = { NOW_STR, "100", "0" };
	static const char *const want_types[] = { "10", "0" };
	struct query	 q;
	struct list_params lp;
	struct list_sql	 sql;

	ok(&jobs, "status=processing&page=4&started=PT3H0M0S&page_size=20&"
	    "status=queued", &q, &lp);
	ck_assert_int_eq(list_build(&jobs, &lp, 9, 60, &sql), 0);
	ck_assert_str_eq(buf_cstr(&sql.text),
	    "SELECT c.total, p.* FROM (SELECT count(*) AS total FROM jobs j "
	    "WHERE j.user_id = $1 "
	    "AND j.state = ANY(ARRAY[$2::job_state,$3::job_state]) "
	    "AND j.created >= $4::timestamptz "
	    "AND j.created <= $5::timestamptz) c "
	    "LEFT JOIN LATERAL (SELECT j.uuid, j.name FROM "
	    "(SELECT j.* FROM jobs j WHERE j.user_id = $1 "
	    "AND j.state = ANY(ARRAY[$2::job_state,$3::job_state]) "
	    "AND j.created >= $4::timestamptz "
	    "AND j.created <= $5::timestamptz "
	    "ORDER BY j.created DESC, j.id DESC LIMIT $6 OFFSET $7) j "
	    "ORDER BY j.created DESC, j.id DESC) p ON true");
	params_are(&sql, want, 7);
	ck_assert_int_eq(sql.seeks, 0);
	list_sql_free(&sql);

	/* an admin without filters */
	ok(&jobs, "", &q, &lp);
	ck_assert_int_eq(list_build(&jobs, &lp, 0, 0, &sql), 0);
	ck_assert_str_eq(buf_cstr(&sql.text),
	    "SELECT c.total, p.* FROM (SELECT count(*) AS total FROM jobs j "
	    "WHERE j.created <= $1::timestamptz) c "
	    "LEFT JOIN LATERAL (SELECT j.uuid, j.name FROM "
	    "(SELECT j.* FROM jobs j WHERE j.created <= $1::timestamptz "
	    "ORDER BY j.created DESC, j.id DESC LIMIT $2 OFFSET $3) j "
	    "ORDER BY j.created DESC, j.id DESC) p ON true");
	params_are(&sql, want_admin, 3);
	list_sql_free(&sql);

	/* nothing to ask at all: "true"; started is checked but unused */
	ok(&types, "page_size=10&started=P1D", &q, &lp);
	ck_assert_int_eq(list_build(&types, &lp, 0, 0, &sql), 0);
	ck_assert_str_eq(buf_cstr(&sql.text),
	    "SELECT c.total, p.* FROM (SELECT count(*) AS total FROM "
	    "recipe_types t WHERE true) c "
	    "LEFT JOIN LATERAL (SELECT t.id, t.name FROM "
	    "(SELECT t.* FROM recipe_types t WHERE true "
	    "ORDER BY t.name, t.id LIMIT $1 OFFSET $2) t "
	    "ORDER BY t.name, t.id) p ON true");
	params_are(&sql, want_types, 2);
	list_sql_free(&sql);
}
END_TEST

/* Every parameter at its maximum still fits; a spec bug is a -1. */
START_TEST(test_build_limits)
{
	static const struct list_filter broken_filters[] = {
		{ "status", LV_CHOICE, batch_status, NULL, "b.status = ANY()",
		    "batch_status", NULL },
	};
	static const char *const value[] = { "CREATED", "123456789", "x" };
	struct list_spec broken = batches;
	struct query	 q;
	struct list_params lp;
	struct list_sql	 sql;
	size_t		 fi, i;

	/* More values than a query holds (QUERY_MAX_PARAMS), so by hand. */
	memset(&lp, 0, sizeof(lp));
	lp.page = 1;
	lp.page_size = LIST_PAGE_SIZE_MAX;
	lp.has_started = 1;
	lp.started_us = S(-62135596800LL);
	lp.ended_us = S(253402300799LL) + 999999;
	lp.norder = 1;
	lp.order[0].field = BO_LAST_MODIFIED;
	lp.order[0].desc = 1;
	for (fi = 0; fi < 3; fi++) {
		lp.nvalues[fi] = LIST_MAX_VALUES;
		for (i = 0; i < LIST_MAX_VALUES; i++)
			lp.values[fi][i] = value[fi];
	}
	ck_assert_int_eq(list_build(&batches, &lp, INT64_MAX, INT64_MAX,
	    &sql), 0);
	/* owner, 96 values, started, ended, offset, limit */
	ck_assert_int_eq(sql.nparams, 1 + 3 * LIST_MAX_VALUES + 4);
	ck_assert_str_eq(sql.params[0], "9223372036854775807");
	ck_assert_str_eq(sql.params[1], "CREATED");
	ck_assert_str_eq(sql.params[96], "x");
	ck_assert_str_eq(sql.params[97], "0001-01-01T00:00:00.000000Z");
	ck_assert_str_eq(sql.params[98], "9999-12-31T23:59:59.999999Z");
	ck_assert_str_eq(sql.params[99], "9223372036854775807");
	ck_assert_str_eq(sql.params[100], "1000");
	ck_assert_ptr_nonnull(strstr(buf_cstr(&sql.text),
	    "$96::text,$97::text], $98::timestamptz, $99::timestamptz, true, "
	    "$100::bigint) w"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&sql.text),
	    "$97::text])) AND b.last_modified >= $98::timestamptz"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&sql.text),
	    "LIMIT $101 OFFSET w.skip"));
	list_sql_free(&sql);

	/* a filter whose sql has no %s: refused, nothing left to free */
	broken.filters = broken_filters;
	broken.nfilters = 1;
	ok(&broken, "status=CREATED", &q, &lp);
	ck_assert_int_eq(list_build(&broken, &lp, 0, 0, &sql), -1);
	ck_assert_ptr_null(sql.text.data);
	list_sql_free(&sql);
	/* without a value the filter's sql is not used */
	ok(&broken, "", &q, &lp);
	ck_assert_int_eq(list_build(&broken, &lp, 0, 0, &sql), 0);
	list_sql_free(&sql);
}
END_TEST

/* ---- list_link ---------------------------------------------------------- */

static void
link_is(const char *qs, int64_t page, const char *want)
{
	struct query	 q;
	struct buf	 b;

	qparse(&q, qs);
	buf_init(&b, 8192);
	ck_assert_int_eq(list_link("https://h:8443", "/batches/", &q, page,
	    &b), 0);
	ck_assert_msg(strcmp(buf_cstr(&b), want) == 0,
	    "\"%s\" page %lld:\n  got  %s\n  want %s", qs, (long long)page,
	    buf_cstr(&b), want);
	buf_free(&b);
}

#define L	"https://h:8443/batches/"

START_TEST(test_link)
{
	struct query	 q;
	struct buf	 b;

	/* page replaced where it was, everything else kept in order */
	link_is("status=CREATED&page=2&order=-title&page_size=10", 3,
	    L "?status=CREATED&page=3&order=-title&page_size=10");
	/* page 1: removed, as DRF's previous link does */
	link_is("status=CREATED&page=2&order=-title&page_size=10", 1,
	    L "?status=CREATED&order=-title&page_size=10");
	link_is("page=2", 1, L);
	link_is("", 1, L);
	/* no page before: added at the end */
	link_is("order=title&order=-id", 2, L "?order=title&order=-id&page=2");
	link_is("", 2, L "?page=2");
	/* every page dropped, the new one at the first's place */
	link_is("page=1&a=b&page=5&page=last", 2, L "?page=2&a=b");
	link_is("a=b&page=x&c=d&page=5", 1, L "?a=b&c=d");
	link_is("page=x", 7, L "?page=7");
	link_is("page=1", LIST_PAGE_LAST, L "?page=last");
	/* encoding: only unreserved characters stay */
	link_is("q=a+b", 2, L "?q=a%20b&page=2");
	link_is("q=a%20b", 2, L "?q=a%20b&page=2");
	link_is("x=%2B1", 2, L "?x=%2B1&page=2");
	link_is("y=a%26b%3Dc", 2, L "?y=a%26b%3Dc&page=2");
	link_is("z=%C3%A9t%C3%A9", 2, L "?z=%C3%A9t%C3%A9&page=2");
	link_is("z=%c3%a9", 2, L "?z=%C3%A9&page=2");
	link_is("u=-._~AZaz09", 2, L "?u=-._~AZaz09&page=2");
	link_is("s=%2F%3F%23%25%2A%27%22%3C%3E%5B%5D%7B%7D%7C%5C%5E%60%21%24"
	    "%28%29%2C%3B%3A%40", 2,
	    L "?s=%2F%3F%23%25%2A%27%22%3C%3E%5B%5D%7B%7D%7C%5C%5E%60%21%24"
	    "%28%29%2C%3B%3A%40&page=2");
	link_is("c=%01%7F%FF", 2, L "?c=%01%7F%FF&page=2");
	/* keys too */
	link_is("a%20b=1&k%3D=v", 2, L "?a%20b=1&k%3D=v&page=2");
	/* empty values, and a key without '=' */
	link_is("e=&k&page=3", 4, L "?e=&k=&page=4");
	/* large page numbers */
	link_is("page=2", 1000000000000LL, L "?page=1000000000000");

	/* no base or path given */
	qparse(&q, "a=1");
	buf_init(&b, 64);
	ck_assert_int_eq(list_link(NULL, NULL, &q, 2, &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "?a=1&page=2");
	buf_free(&b);
	/* appends to what is there */
	buf_init(&b, 64);
	buf_puts(&b, "next: ");
	ck_assert_int_eq(list_link("", "/x", &q, 1, &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "next: /x?a=1");
	buf_free(&b);
	/* out failed: -1 */
	buf_init(&b, 20);
	ck_assert_int_eq(list_link("https://h:8443", "/batches/", &q, 2, &b),
	    -1);
	buf_free(&b);
}
END_TEST

static Suite *
listing_suite(void)
{
	Suite	*s = suite_create("listing");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_extra_and_any_given);
	tcase_add_test(tc, test_page_drf);
	tcase_add_test(tc, test_page_strict);
	tcase_add_test(tc, test_page_size_drf);
	tcase_add_test(tc, test_page_size_strict);
	tcase_add_test(tc, test_times_ok);
	tcase_add_test(tc, test_times_bad);
	tcase_add_test(tc, test_order_ok);
	tcase_add_test(tc, test_order_bad);
	tcase_add_test(tc, test_filters_ok);
	tcase_add_test(tc, test_filters_bad);
	tcase_add_test(tc, test_message_cut);
	suite_add_tcase(s, tc);
	tc = tcase_create("build");
	tcase_add_test(tc, test_build_window_admin);
	tcase_add_test(tc, test_build_window_user);
	tcase_add_test(tc, test_build_window_no_seek);
	tcase_add_test(tc, test_build_count);
	tcase_add_test(tc, test_build_limits);
	suite_add_tcase(s, tc);
	tc = tcase_create("link");
	tcase_add_test(tc, test_link);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(listing_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
