/*
 * check_iso8601.c -- unit tests for iso8601.c: date-times with zones (the
 * expected epochs come from `date -u -d ... +%s`), the '+'-decoded-as-space
 * zone, every field's range, and durations in every form the grammar allows
 * or refuses.
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
