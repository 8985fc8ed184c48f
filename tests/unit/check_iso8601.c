/*
 * check_iso8601.c -- unit tests for iso8601.c: date-times with zones (the
 * expected epochs come from `date -u -d ... +%s`), the '+'-decoded-as-space
 * zone, every field's range, durations in every form the grammar allows
 * or refuses, now minus a duration on the calendar (the results are what
 * PostgreSQL's timestamptz - interval gives in UTC) and the one format
 * times are written back in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "docket.h"

static int64_t
dt_ok(const char *s)
{
	int64_t		 us = -42;
	enum iso_rc	 rc = iso_datetime_parse(s, &us);

	ck_assert_msg(rc == ISO_OK, "\"%s\": rc %d", s, rc);
	return us;
}

static void
dt_bad(const char *s, enum iso_rc want)
{
	int64_t		 us = -42;
	enum iso_rc	 rc = iso_datetime_parse(s, &us);

	ck_assert_msg(rc == want, "\"%s\": rc %d, want %d", s, rc, want);
	ck_assert_msg(us == -42, "\"%s\": out written on failure", s);
}

#define S(x)	((int64_t)(x) * 1000000)

START_TEST(test_datetime_known)
{
	ck_assert_int_eq(dt_ok("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(dt_ok("2016-01-01T00:00:00Z"), S(1451606400));
	ck_assert_int_eq(dt_ok("2016-01-01T00:00:00+01:00"), S(1451602800));
	ck_assert_int_eq(dt_ok("2016-01-01T00:00:00-05:00"), S(1451624400));
	ck_assert_int_eq(dt_ok("2000-02-29T23:59:59Z"), S(951868799));
	ck_assert_int_eq(dt_ok("2026-11-24T09:30:15+05:30"), S(1795492815));
	ck_assert_int_eq(dt_ok("0001-01-01T00:00:00Z"), S(-62135596800LL));
	ck_assert_int_eq(dt_ok("9999-12-31T23:59:59Z"), S(253402300799LL));
	ck_assert_int_eq(dt_ok("1969-12-31T23:59:59Z"), S(-1));
	ck_assert_int_eq(dt_ok("2024-02-29T12:00:00-0230"), S(1709217000));
}
END_TEST

START_TEST(test_datetime_forms)
{
	int64_t	 base = S(1451606400);

	/* seconds optional; lower-case t and z; a space separator */
	ck_assert_int_eq(dt_ok("2016-01-01T00:00Z"), base);
	ck_assert_int_eq(dt_ok("2016-01-01t00:00:00z"), base);
	ck_assert_int_eq(dt_ok("2016-01-01 00:00:00Z"), base);
	/* zone forms: +HH, +HHMM, +HH:MM, -00:00 */
	ck_assert_int_eq(dt_ok("2016-01-01T01:00:00+01"), base);
	ck_assert_int_eq(dt_ok("2016-01-01T01:00:00+0100"), base);
	ck_assert_int_eq(dt_ok("2016-01-01T00:00:00-00:00"), base);
	/* '+' decoded as a space by the query string */
	ck_assert_int_eq(dt_ok("2016-01-01T01:00:00 01:00"), base);
	/* fractions: up to microseconds, '.' or ',' */
	ck_assert_int_eq(dt_ok("2016-01-01T00:00:00.5Z"), base + 500000);
	ck_assert_int_eq(dt_ok("2016-01-01T00:00:00,000001Z"), base + 1);
	ck_assert_int_eq(dt_ok("2016-01-01T00:00:00.123456+00:00"),
	    base + 123456);
	/* a day's end and a leap day */
	ck_assert_int_eq(dt_ok("2015-12-31T23:59:59.999999Z"), base - 1);
	dt_ok("2400-02-29T00:00:00Z");
}
END_TEST

START_TEST(test_datetime_bad)
{
	dt_bad(NULL, ISO_EMPTY);
	dt_bad("", ISO_EMPTY);
	dt_bad("2016-01-01T00:00:00", ISO_NO_ZONE);
	dt_bad("2016-01-01", ISO_NO_TIME);
	dt_bad("2016-01-01T", ISO_SYNTAX);
	dt_bad("2016-01-01T00", ISO_SYNTAX);
	dt_bad("2016-01-01T00:00:00ZZ", ISO_SYNTAX);
	dt_bad("2016-01-01T00:00:00 Z", ISO_SYNTAX);
	dt_bad("2016-01-01T00:00:00+1", ISO_SYNTAX);
	dt_bad("2016-01-01T00:00:00+01:0", ISO_SYNTAX);
	dt_bad("2016-01-01T00:00:00+01:00:00", ISO_SYNTAX);
	dt_bad("2016-01-01T00:00:00UTC", ISO_SYNTAX);
	dt_bad("2016-01-01T00:00:00.Z", ISO_SYNTAX);
	dt_bad("2016-01-01T00:00:00.1234567Z", ISO_SYNTAX);
	dt_bad("16-01-01T00:00:00Z", ISO_SYNTAX);
	dt_bad("20160101T000000Z", ISO_SYNTAX);
	dt_bad("2016/01/01T00:00:00Z", ISO_SYNTAX);
	dt_bad("2016-1-01T00:00:00Z", ISO_SYNTAX);
	dt_bad("+2016-01-01T00:00:00Z", ISO_SYNTAX);
	dt_bad(" 2016-01-01T00:00:00Z", ISO_SYNTAX);
	dt_bad("2016-01-01T00:00:00Z ", ISO_SYNTAX);
	dt_bad("2016-01-01X00:00:00Z", ISO_SYNTAX);
	dt_bad("PT3H", ISO_SYNTAX);
	dt_bad("yesterday", ISO_SYNTAX);
	/* ranges */
	dt_bad("0000-01-01T00:00:00Z", ISO_RANGE);
	dt_bad("2016-00-01T00:00:00Z", ISO_RANGE);
	dt_bad("2016-13-01T00:00:00Z", ISO_RANGE);
	dt_bad("2016-01-00T00:00:00Z", ISO_RANGE);
	dt_bad("2016-01-32T00:00:00Z", ISO_RANGE);
	dt_bad("2015-02-29T00:00:00Z", ISO_RANGE);
	dt_bad("1900-02-29T00:00:00Z", ISO_RANGE);
	dt_bad("2016-04-31T00:00:00Z", ISO_RANGE);
	dt_bad("2016-01-01T24:00:00Z", ISO_RANGE);
	dt_bad("2016-01-01T00:60:00Z", ISO_RANGE);
	dt_bad("2016-01-01T00:00:60Z", ISO_RANGE);
	dt_bad("2016-01-01T00:00:00+24:00", ISO_RANGE);
	dt_bad("2016-01-01T00:00:00+01:60", ISO_RANGE);
}
END_TEST

static struct iso_duration
dur_ok(const char *s)
{
	struct iso_duration d;
	enum iso_rc	 rc;

	memset(&d, 0x55, sizeof(d));
	rc = iso_duration_parse(s, &d);
	ck_assert_msg(rc == ISO_OK, "\"%s\": rc %d", s, rc);
	return d;
}

static void
dur_bad(const char *s, enum iso_rc want)
{
	struct iso_duration d;
	enum iso_rc	 rc;

	memset(&d, 0x55, sizeof(d));
	rc = iso_duration_parse(s, &d);
	ck_assert_msg(rc == want, "\"%s\": rc %d, want %d", s, rc, want);
	ck_assert_msg(d.years == 0x5555555555555555LL,
	    "\"%s\": out written on failure", s);
}

START_TEST(test_duration_ok)
{
	struct iso_duration d;

	d = dur_ok("PT3H0M0S");
	ck_assert_int_eq(d.hours, 3);
	ck_assert_int_eq(d.minutes, 0);
	ck_assert_int_eq(d.seconds, 0);
	ck_assert_int_eq(d.years + d.months + d.weeks + d.days + d.micros, 0);

	d = dur_ok("P1D");
	ck_assert_int_eq(d.days, 1);
	ck_assert_int_eq(d.hours + d.minutes + d.seconds, 0);

	d = dur_ok("P1Y2M3W4DT5H6M7.25S");
	ck_assert_int_eq(d.years, 1);
	ck_assert_int_eq(d.months, 2);
	ck_assert_int_eq(d.weeks, 3);
	ck_assert_int_eq(d.days, 4);
	ck_assert_int_eq(d.hours, 5);
	ck_assert_int_eq(d.minutes, 6);
	ck_assert_int_eq(d.seconds, 7);
	ck_assert_int_eq(d.micros, 250000);

	d = dur_ok("P2M");		/* months before T */
	ck_assert_int_eq(d.months, 2);
	ck_assert_int_eq(d.minutes, 0);
	d = dur_ok("PT2M");		/* minutes after T */
	ck_assert_int_eq(d.minutes, 2);
	ck_assert_int_eq(d.months, 0);
	d = dur_ok("PT0,000001S");
	ck_assert_int_eq(d.micros, 1);
	d = dur_ok("PT36H");		/* no carrying: the caller's job */
	ck_assert_int_eq(d.hours, 36);
	d = dur_ok("P0D");
	ck_assert_int_eq(d.days, 0);
	d = dur_ok("PT999999999S");
	ck_assert_int_eq(d.seconds, 999999999);
}
END_TEST

START_TEST(test_duration_bad)
{
	dur_bad(NULL, ISO_EMPTY);
	dur_bad("", ISO_EMPTY);
	dur_bad("P", ISO_SYNTAX);
	dur_bad("PT", ISO_SYNTAX);
	dur_bad("P1DT", ISO_SYNTAX);
	dur_bad("T3H", ISO_SYNTAX);
	dur_bad("3H", ISO_SYNTAX);
	dur_bad("pt3h", ISO_SYNTAX);
	dur_bad("-P1D", ISO_SYNTAX);
	dur_bad("P-1D", ISO_SYNTAX);
	dur_bad("P+1D", ISO_SYNTAX);
	dur_bad("P1", ISO_SYNTAX);
	dur_bad("PD", ISO_SYNTAX);
	dur_bad("P1H", ISO_SYNTAX);		/* hours before T */
	dur_bad("PT1D", ISO_SYNTAX);		/* days after T */
	dur_bad("PT1Y", ISO_SYNTAX);
	dur_bad("P1D1Y", ISO_SYNTAX);		/* out of order */
	dur_bad("P1D1D", ISO_SYNTAX);		/* twice */
	dur_bad("PT1S1M", ISO_SYNTAX);
	dur_bad("PT1H1H", ISO_SYNTAX);
	dur_bad("P1DT2HT3M", ISO_SYNTAX);
	dur_bad("P1.5D", ISO_SYNTAX);		/* fractions on seconds only */
	dur_bad("PT1.5H", ISO_SYNTAX);
	dur_bad("PT1.S", ISO_SYNTAX);
	dur_bad("PT1.1234567S", ISO_SYNTAX);
	dur_bad("PT1000000000S", ISO_SYNTAX);	/* more than 9 digits */
	dur_bad("P 1D", ISO_SYNTAX);
	dur_bad("P1D ", ISO_SYNTAX);
	dur_bad("P1W2", ISO_SYNTAX);
	dur_bad("2016-01-01T00:00:00Z", ISO_SYNTAX);
}
END_TEST

/* ---- iso_duration_before ------------------------------------------------ */

/* 0001-01-01T00:00:00Z, 9999-12-31T23:59:59.999999Z, 2026-11-24T12:00Z */
#define MIN_US	S(-62135596800LL)
#define MAX_US	(S(253402300799LL) + 999999)
#define NOW	S(1795521600)
#define DAY	S(86400)

static void
before_is(const char *dur, int64_t now, int64_t want)
{
	struct iso_duration d = dur_ok(dur);
	int64_t		 out = -42;
	enum iso_rc	 rc = iso_duration_before(&d, now, &out);

	ck_assert_msg(rc == ISO_OK, "%s from %lld: rc %d", dur,
	    (long long)now, rc);
	ck_assert_msg(out == want, "%s from %lld: %lld, want %lld", dur,
	    (long long)now, (long long)out, (long long)want);
}

static void
before_range(const struct iso_duration *d, int64_t now, const char *what)
{
	int64_t		 out = -42;
	enum iso_rc	 rc = iso_duration_before(d, now, &out);

	ck_assert_msg(rc == ISO_RANGE, "%s: rc %d, want ISO_RANGE", what, rc);
	ck_assert_msg(out == -42, "%s: out written on failure", what);
}

static void
before_range_s(const char *dur, int64_t now)
{
	struct iso_duration d = dur_ok(dur);

	before_range(&d, now, dur);
}

START_TEST(test_before_fixed)
{
	before_is("P1D", NOW, NOW - DAY);
	before_is("PT3H0M0S", NOW, NOW - S(3 * 3600));
	before_is("PT36H", NOW, NOW - S(36 * 3600));
	before_is("P1W", NOW, NOW - 7 * DAY);
	before_is("P2W3DT4H5M6.000007S", NOW,
	    NOW - 17 * DAY - S(4 * 3600 + 5 * 60 + 6) - 7);
	before_is("PT0.000001S", NOW, NOW - 1);
	before_is("P0D", NOW, NOW);
	before_is("PT999999999S", NOW, NOW - S(999999999));
	/* across the epoch */
	before_is("PT1S", S(0), S(-1));
	before_is("P1D", S(12 * 3600), S(-12 * 3600));
}
END_TEST

START_TEST(test_before_calendar)
{
	/* 2026-11-24 minus P1M: 2026-10-24, same time */
	before_is("P1M", NOW, S(1792843200));
	/* a month end clamps to the shorter month: 2024-03-31 -> 02-29,
	 * 2023-03-31 -> 02-28, 2024-02-29 -> 2023-02-28 or 2020-02-29,
	 * 2024-01-31 -> 2023-12-31 */
	before_is("P1M", S(1711879200), S(1709200800));
	before_is("P1M", S(1680256800), S(1677578400));
	before_is("P1Y", S(1709200800), S(1677578400));
	before_is("P4Y", S(1709200800), S(1582970400));
	before_is("P1M", S(1706659200), S(1703980800));
	/* twelve months are a year: 2024-02-29 and 2024-03-31 -> 2023-02-28 */
	before_is("P12M", S(1709200800), S(1677578400));
	before_is("P13M", S(1711879200), S(1677578400));
	before_is("P1Y1M", S(1711879200), S(1677578400));
	/* months first, then days: 2024-03-31 - P1M1D = 2024-02-28 */
	before_is("P1M1D", S(1711879200), S(1709114400));
	/* before the epoch: floor, not truncation.  1969-03-31T06:00 ->
	 * 1969-02-28T06:00; 1969-12-31T23:59:59.999999 -> 1969-11-30, same */
	before_is("P1M", S(-23824800), S(-26503200));
	before_is("P1M", -1, S(-2678401) + 999999);
	/* down to the first instant there is, and not one past it */
	before_is("P2025Y10M23DT12H", NOW, MIN_US);
	before_is("P0D", MIN_US, MIN_US);
	before_range_s("P2025Y10M23DT12H0.000001S", NOW);
	before_range_s("P2026Y", NOW);
	before_range_s("P24311M", NOW);
	before_range_s("PT1S", MIN_US);
}
END_TEST

START_TEST(test_before_range)
{
	struct iso_duration d;
	int64_t		 out;

	before_range_s("P999999999Y", NOW);
	before_range_s("P999999999M", NOW);
	before_range_s("P999999999W", NOW);
	before_range_s("P999999999D", NOW);
	before_range_s("PT999999999H", NOW);
	before_range_s("P999999999Y999999999M999999999W999999999D"
	    "T999999999H999999999M999999999.999999S", NOW);
	/* parts no parser makes, each at its extreme */
	memset(&d, 0, sizeof(d));
	d.years = INT64_MAX;
	before_range(&d, NOW, "years INT64_MAX");
	d.years = 0;
	d.months = INT64_MAX;
	before_range(&d, NOW, "months INT64_MAX");
	d.months = 0;
	d.weeks = INT64_MAX;
	before_range(&d, NOW, "weeks INT64_MAX");
	d.weeks = 0;
	d.hours = INT64_MAX;
	before_range(&d, INT64_MAX, "hours INT64_MAX");
	d.hours = 0;
	d.micros = INT64_MAX;
	before_range(&d, NOW, "micros INT64_MAX");
	d.micros = 0;
	d.days = -1;
	before_range(&d, NOW, "days -1");
	d.days = 0;
	d.years = -1;
	before_range(&d, NOW, "years -1");
	d.years = 0;
	/* now itself before year 1: nothing can be subtracted */
	before_range(&d, MIN_US - 1, "now before year 1");
	before_range(&d, INT64_MIN, "now INT64_MIN");

	/* from the far end of int64_t: no overflow on the way */
	ck_assert_int_eq(iso_duration_before(&d, INT64_MAX, &out), ISO_OK);
	ck_assert_int_eq(out, INT64_MAX);
	d.micros = 1;
	ck_assert_int_eq(iso_duration_before(&d, INT64_MAX, &out), ISO_OK);
	ck_assert_int_eq(out, INT64_MAX - 1);
	d.micros = INT64_MAX;
	ck_assert_int_eq(iso_duration_before(&d, INT64_MAX, &out), ISO_OK);
	ck_assert_int_eq(out, 0);
	d.micros = 0;
	d.years = 1;
	ck_assert_int_eq(iso_duration_before(&d, INT64_MAX, &out), ISO_OK);
	ck_assert(out <= INT64_MAX - 365 * DAY && out >= INT64_MAX - 366 * DAY);
}
END_TEST

/* ---- iso_format_us ------------------------------------------------------ */

static void
format_is(int64_t us, const char *want)
{
	char	 out[ISO_FMT_LEN];

	ck_assert_msg(iso_format_us(us, out) == 0, "%lld: -1", (long long)us);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(strlen(out), ISO_FMT_LEN - 1);
}

static void
format_bad(int64_t us)
{
	char	 out[ISO_FMT_LEN];

	memset(out, 'x', sizeof(out));
	ck_assert_msg(iso_format_us(us, out) == -1, "%lld: not -1",
	    (long long)us);
	ck_assert_msg(out[0] == 'x', "%lld: out written", (long long)us);
}

START_TEST(test_format)
{
	format_is(0, "1970-01-01T00:00:00.000000Z");
	format_is(-1, "1969-12-31T23:59:59.999999Z");
	format_is(S(-86400), "1969-12-31T00:00:00.000000Z");
	format_is(S(1451606400) + 123456, "2016-01-01T00:00:00.123456Z");
	format_is(S(951868799), "2000-02-29T23:59:59.000000Z");
	format_is(NOW, "2026-11-24T12:00:00.000000Z");
	format_is(S(1795492815) + 7, "2026-11-24T04:00:15.000007Z");
	format_is(S(-2203891200LL), "1900-03-01T00:00:00.000000Z");
	format_is(S(-11670955200LL), "1600-02-29T12:00:00.000000Z");
	format_is(MIN_US, "0001-01-01T00:00:00.000000Z");
	format_is(MAX_US, "9999-12-31T23:59:59.999999Z");
	format_bad(MIN_US - 1);
	format_bad(MAX_US + 1);
	format_bad(INT64_MIN);
	format_bad(INT64_MAX);
}
END_TEST

/* What iso_format_us writes, iso_datetime_parse reads back exactly. */
START_TEST(test_format_round_trip)
{
	char	 out[ISO_FMT_LEN];
	int64_t	 t, back, step = INT64_C(9999999999989); /* ~116 d */
	int	 n = 0;

	for (t = MIN_US; t <= MAX_US - step; t += step, n++) {
		ck_assert_int_eq(iso_format_us(t, out), 0);
		back = dt_ok(out);
		ck_assert_msg(back == t, "%lld -> %s -> %lld", (long long)t,
		    out, (long long)back);
	}
	ck_assert_int_gt(n, 30000);
}
END_TEST

static Suite *
iso_suite(void)
{
	Suite	*s = suite_create("iso8601");
	TCase	*tc;

	tc = tcase_create("datetime");
	tcase_add_test(tc, test_datetime_known);
	tcase_add_test(tc, test_datetime_forms);
	tcase_add_test(tc, test_datetime_bad);
	suite_add_tcase(s, tc);
	tc = tcase_create("duration");
	tcase_add_test(tc, test_duration_ok);
	tcase_add_test(tc, test_duration_bad);
	suite_add_tcase(s, tc);
	tc = tcase_create("before");
	tcase_add_test(tc, test_before_fixed);
	tcase_add_test(tc, test_before_calendar);
	tcase_add_test(tc, test_before_range);
	suite_add_tcase(s, tc);
	tc = tcase_create("format");
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(iso_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
