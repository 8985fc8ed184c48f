/*
 * iso8601.c -- the ISO-8601 date-times and durations that listings accept
 * in `started` and `ended` (design.md: "ISO-8601 date-time, or an ISO-8601
 * duration such as PT3H0M0S meaning now minus that").
 *
 * Date-times are the extended format with a zone:
 *
 *	YYYY-MM-DD(T| )HH:MM[:SS[.f{1,6}]](Z|z|+HH[:MM]|-HH[:MM]|+HHMM|-HHMM)
 *
 * A time without a zone is refused: the server's zone must never decide
 * what a client meant.  A query string decodes '+' to a space, so a client
 * that forgot to write %2B sends "...:00 01:00"; a space where the zone's
 * sign belongs can only have been a '+', and is read as one.
 *
 * Durations are P[nY][nM][nW][nD][T[nH][nM][n[.f]S]] with at least one part.
 * They are returned as parts, not seconds: "P1M" is a calendar month, and
 * iso_duration_before subtracts it from now on the calendar, the way
 * PostgreSQL's timestamptz - interval does in UTC.  iso_format_us writes a
 * time back in the one form docket binds as a timestamptz parameter.
 *
 * Pure: no locale, no time zone database, no allocation.
 */
#include <string.h>

#include "docket.h"

#define DIGIT(c)	((c) >= '0' && (c) <= '9')

/* n digits exactly at *p into *out; advances *p.  0 or -1. */
static int
digits(const char **p, int n, int *out)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if (!DIGIT((*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The date of a day counted from 1970-01-01 (the inverse of
 * days_from_civil, H. Hinnant's civil_from_days). */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

#define US_PER_DAY	INT64_C(86400000000)
/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z */
#define US_YEAR_1	(INT64_C(-719162) * US_PER_DAY)
#define US_YEAR_9999_END (INT64_C(2932897) * US_PER_DAY - 1)

/* Split microseconds since the epoch into whole days and the microseconds
 * of that day, rounding towards minus infinity so 1969 reads right. */
static void
split_day(int64_t us, int64_t *days, int64_t *of_day)
{
	*days = us / US_PER_DAY;
	*of_day = us % US_PER_DAY;
	if (*of_day < 0) {
		*of_day += US_PER_DAY;
		(*days)--;
	}
}

/* The zone suffix at p: Z, +HH, +HH:MM, +HHMM (or ' ' for '+').  Sets the
 * offset east of UTC in seconds. */
static enum iso_rc
zone(const char *p, int64_t *offset)
{
	int	 sign, hh, mm = 0;

	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
		*offset = 0;
		return ISO_OK;
	}
	if (p[0] == '\0')
		return ISO_NO_ZONE;
	if (p[0] == '+' || p[0] == ' ')
		sign = 1;
	else if (p[0] == '-')
		sign = -1;
	else
		return ISO_SYNTAX;
	p++;
	if (digits(&p, 2, &hh) != 0)
		return ISO_SYNTAX;
	if (*p == ':')
		p++;
	if (*p != '\0' && digits(&p, 2, &mm) != 0)
		return ISO_SYNTAX;
	if (*p != '\0')
		return ISO_SYNTAX;
	if (hh > 23 || mm > 59)
		return ISO_RANGE;
	*offset = sign * (hh * 3600 + mm * 60);
	return ISO_OK;
}

/*
 * Parse a date-time with its zone into microseconds since 1970-01-01 UTC.
 * *out is set only on ISO_OK.
 */
enum iso_rc
iso_datetime_parse(const char *s, int64_t *out)
{
	const char	*p = s;
	int		 y, mo, d, h, mi, sec = 0, us = 0, n;
	int64_t		 offset, t;
	enum iso_rc	 rc;

	if (s == NULL || *s == '\0')
		return ISO_EMPTY;
	if (digits(&p, 4, &y) != 0 || *p++ != '-' ||
	    digits(&p, 2, &mo) != 0 || *p++ != '-' ||
	    digits(&p, 2, &d) != 0)
		return ISO_SYNTAX;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return *p == '\0' ? ISO_NO_TIME : ISO_SYNTAX;
	p++;
	if (digits(&p, 2, &h) != 0 || *p++ != ':' || digits(&p, 2, &mi) != 0)
		return ISO_SYNTAX;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec) != 0)
			return ISO_SYNTAX;
		if (*p == '.' || *p == ',') {
			p++;
			for (n = 0; DIGIT(*p); n++, p++) {
				if (n >= 6)
					return ISO_SYNTAX;
				us = us * 10 + (*p - '0');
			}
			if (n == 0)
				return ISO_SYNTAX;
			for (; n < 6; n++)
				us *= 10;
		}
	}
	if ((rc = zone(p, &offset)) != ISO_OK)
		return rc;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 59)
		return ISO_RANGE;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    offset;
	*out = t * 1000000 + us;
	return ISO_OK;
}

/* A number of at most 9 digits at *p; advances *p.  0 or -1. */
static int
number(const char **p, int64_t *out)
{
	int64_t	 v = 0;
	int	 n;

	for (n = 0; DIGIT(**p); n++, (*p)++) {
		if (n == 9)
			return -1;
		v = v * 10 + (**p - '0');
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

/*
 * Parse a duration into its parts.  Designators must come in order, each
 * at most once; only seconds may have a fraction (microseconds).
 */
enum iso_rc
iso_duration_parse(const char *s, struct iso_duration *out)
{
	static const char date_units[] = "YMWD", time_units[] = "HMS";
	struct iso_duration d;
	const char	*p = s, *units, *u;
	int64_t		 v, *date_slot[4], *time_slot[3], frac;
	int		 in_time = 0, parts = 0, n;

	if (s == NULL || *s == '\0')
		return ISO_EMPTY;
	memset(&d, 0, sizeof(d));
	date_slot[0] = &d.years;
	date_slot[1] = &d.months;
	date_slot[2] = &d.weeks;
	date_slot[3] = &d.days;
	time_slot[0] = &d.hours;
	time_slot[1] = &d.minutes;
	time_slot[2] = &d.seconds;
	if (*p++ != 'P')
		return ISO_SYNTAX;
	units = date_units;
	while (*p != '\0') {
		if (*p == 'T') {
			if (in_time || p[1] == '\0')
				return ISO_SYNTAX;
			in_time = 1;
			units = time_units;
			p++;
			continue;
		}
		if (number(&p, &v) != 0)
			return ISO_SYNTAX;
		frac = -1;
		if (*p == '.' || *p == ',') {
			p++;
			frac = 0;
			for (n = 0; DIGIT(*p); n++, p++) {
				if (n >= 6)
					return ISO_SYNTAX;
				frac = frac * 10 + (*p - '0');
			}
			if (n == 0)
				return ISO_SYNTAX;
			for (; n < 6; n++)
				frac *= 10;
		}
		/* The designator must come after the last one used. */
		if (*p == '\0' || (u = strchr(units, *p)) == NULL)
			return ISO_SYNTAX;
		if (frac >= 0 && !(in_time && *p == 'S'))
			return ISO_SYNTAX;
		units = u + 1;
		if (in_time)
			*time_slot[u - time_units] = v;
		else
			*date_slot[u - date_units] = v;
		if (frac >= 0)
			d.micros = frac;
		parts++;
		p++;
	}
	if (parts == 0)
		return ISO_SYNTAX;
	*out = d;
	return ISO_OK;
}

/*
 * now_us minus a duration into *out_us.  Years and months go first, on the
 * calendar of now's UTC date, the day clamped to the target month's length
 * (2024-03-31 minus P1M is 2024-02-29); weeks, days and the time parts are
 * then fixed lengths (in UTC a day is always 24 hours).  This is the order
 * PostgreSQL applies an interval's months, days and microseconds in, so
 * docket and a report written in SQL agree on what "P1M" meant.
 *
 * ISO_RANGE if a part is negative or the result falls before
 * 0001-01-01T00:00:00Z; every bound is checked before it is multiplied, so
 * no duration the parser accepts (9 digits a part) can overflow.
 */
enum iso_rc
iso_duration_before(const struct iso_duration *d, int64_t now_us,
    int64_t *out_us)
{
	static const int64_t unit[] = { 7 * US_PER_DAY, US_PER_DAY,
	    INT64_C(3600000000), INT64_C(60000000), INT64_C(1000000), 1 };
	int64_t		 part[6], days, of_day, y, ym, t, cal;
	uint64_t	 room;
	int		 m, day, i;

	if (d->years < 0 || d->months < 0 || d->weeks < 0 || d->days < 0 ||
	    d->hours < 0 || d->minutes < 0 || d->seconds < 0 || d->micros < 0)
		return ISO_RANGE;
	/* A duration only goes back: before year 1 now, before year 1 after. */
	if (now_us < US_YEAR_1)
		return ISO_RANGE;
	split_day(now_us, &days, &of_day);
	civil_from_days(days, &y, &m, &day);

	/* Months since year 0; the target must be at least 12 (year 1).  The
	 * first two tests keep years * 12 and the subtraction in range. */
	ym = y * 12 + (m - 1);
	if (d->years > ym / 12 || d->months > ym)
		return ISO_RANGE;
	t = ym - d->years * 12 - d->months;
	if (t < 12)
		return ISO_RANGE;
	y = t / 12;
	m = (int)(t % 12) + 1;
	if (day > days_in_month((int)y, m))
		day = days_in_month((int)y, m);

	/*
	 * What lies between the calendar result (never after now) and year 1
	 * bounds what the fixed parts may take away.  It is unsigned because
	 * from a now near INT64_MAX it is more than int64_t holds.
	 */
	cal = days_from_civil((int)y, m, day) * US_PER_DAY + of_day;
	room = (uint64_t)cal - (uint64_t)US_YEAR_1;
	part[0] = d->weeks;
	part[1] = d->days;
	part[2] = d->hours;
	part[3] = d->minutes;
	part[4] = d->seconds;
	part[5] = d->micros;
	for (i = 0; i < 6; i++) {
		if ((uint64_t)part[i] > room / (uint64_t)unit[i])
			return ISO_RANGE;
		room -= (uint64_t)part[i] * (uint64_t)unit[i];
	}
	if (room <= (uint64_t)INT64_MAX)
		*out_us = US_YEAR_1 + (int64_t)room;
	else
		*out_us = (int64_t)(room - (uint64_t)-US_YEAR_1);
	return ISO_OK;
}

/* v (>= 0, at most n digits) as n digits with leading zeros at p. */
static void
put_digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * Write a time as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (ISO_FMT_LEN bytes with the
 * NUL): UTC and every digit, so PostgreSQL reads it the same whatever the
 * session's TimeZone or DateStyle.  -1 (out untouched) outside years
 * 1..9999, which the four-digit year cannot say.
 */
int
iso_format_us(int64_t us, char out[ISO_FMT_LEN])
{
	int64_t	 days, of_day, y;
	int	 m, d, sec;

	if (us < US_YEAR_1 || us > US_YEAR_9999_END)
		return -1;
	split_day(us, &days, &of_day);
	civil_from_days(days, &y, &m, &d);
	sec = (int)(of_day / 1000000);
	memcpy(out, "YYYY-MM-DDTHH:MM:SS.ffffffZ", ISO_FMT_LEN);
	put_digits(out, (int)y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, sec / 3600, 2);
	put_digits(out + 14, sec / 60 % 60, 2);
	put_digits(out + 17, sec % 60, 2);
	put_digits(out + 20, (int)(of_day % 1000000), 6);
	return 0;
}
