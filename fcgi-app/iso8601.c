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
 * the caller hands the parts to PostgreSQL's make_interval so that now()
 * minus it follows the calendar.
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
