/*
 * listing.c -- the one listing engine every list of docket goes through:
 * page, page_size, order, started, ended and the repeatable filters
 * (design.md, "Listings").
 *
 * A surface describes a list once, as a struct list_spec of whitelisted
 * SQL fragments.  list_parse checks a query string against it into a
 * struct list_params, list_build turns that into one statement whose every
 * client value is a bound parameter, and list_link writes the next and
 * previous URLs.  Nothing here touches the database or the network, so
 * all of it is unit-tested (tests/unit/check_listing.c).
 *
 * Two flavours of page parameters: a spec with drf_pages keeps Django
 * REST Framework's leniency, which Scale's clients were written against
 * (the last page= wins, page=last, a bad page is a 404 "Invalid page.", a
 * bad page_size quietly means the default, a big one is cut to the
 * maximum); the others refuse anything malformed with a 400 naming it.
 *
 * Messages repeat at most SHOW_MAX bytes of what the client sent, whole
 * UTF-8 characters only and control bytes replaced, so they always fit
 * struct list_error and stay valid text once JSON-escaped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "docket.h"

#define PAGE_MAX	INT64_C(1000000000000)	/* 10^12: past any end */
#define TEXT_MAX	255	/* bytes of an LV_TEXT value */
#define SHOW_MAX	40	/* bytes of a client's value in a message */
#define SHOW_LEN	(SHOW_MAX + sizeof("..."))
#define SQL_MAX		(32u << 10)	/* 192 filter values, twice */

/* What a query parameter is to a list. */
enum kind { K_UNKNOWN, K_EXTRA, K_PAGE, K_PAGE_SIZE, K_ORDER, K_STARTED,
	K_ENDED, K_FILTER };

static size_t
nfilters(const struct list_spec *spec)
{
	return spec->nfilters < LIST_MAX_FILTERS ? spec->nfilters :
	    LIST_MAX_FILTERS;
}

static enum kind
kind_of(const struct list_spec *spec, const char *key)
{
	static const struct {
		const char	*name;
		enum kind	 kind;
	} fixed[] = {
		{ "page", K_PAGE },
		{ "page_size", K_PAGE_SIZE },
		{ "order", K_ORDER },
		{ "started", K_STARTED },
		{ "ended", K_ENDED },
	};
	size_t	 i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(key, fixed[i].name) == 0)
			return fixed[i].kind;
	for (i = 0; i < nfilters(spec); i++)
		if (strcmp(key, spec->filters[i].param) == 0)
			return K_FILTER;
	for (i = 0; spec->extra_params != NULL &&
	    spec->extra_params[i] != NULL; i++)
		if (strcmp(key, spec->extra_params[i]) == 0)
			return K_EXTRA;
	return K_UNKNOWN;
}

/*
 * The length of the valid UTF-8 character at p, 0 if the bytes there are
 * not one (stray continuation bytes, overlong forms, surrogates, above
 * U+10FFFF, or cut short by the NUL).
 */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2)
		return 0;
	if (p[0] < 0xe0)
		n = 2;
	else if (p[0] < 0xf0) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] < 0xf5) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	/* p[i - 1] was a continuation byte, so p[i] is still in the string */
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static int
utf8_valid(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	while (*p != '\0') {
		if ((n = utf8_len(p)) == 0)
			return 0;
		p += n;
	}
	return 1;
}

/*
 * A client's value as a message may repeat it: at most SHOW_MAX bytes of
 * whole characters, then "..." if there was more; control bytes and bytes
 * that are not UTF-8 become '?'.  out has SHOW_LEN bytes.
 */
static void
show(const char *s, char out[SHOW_LEN])
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 o = 0, n;

	while (*p != '\0') {
		n = utf8_len(p);
		if (o + (n ? n : 1) > SHOW_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (n == 0 || *p < 0x20 || *p == 0x7f) {
			out[o++] = '?';
			p++;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
}

/*
 * "one of a, b, c" at the end of a message, written straight into it and
 * cut with " and more" where the next word would leave no room for the
 * message's tail, so the sentence always ends whole.
 */
struct words {
	char	*s;		/* borrowed: the message */
	size_t	 size, len, reserve;
	int	 n, cut;
};

#define WORDS_MORE	" and more"

/* Start the list after what s already holds; tail will follow it. */
static void
words_start(struct words *w, char *s, size_t size, const char *tail)
{
	w->s = s;
	w->size = size;
	w->len = strlen(s);
	w->reserve = strlen(tail) + sizeof(WORDS_MORE);	/* and the NUL */
	w->n = 0;
	w->cut = 0;
}

static void
words_add(struct words *w, const char *word)
{
	const char	*sep = w->n > 0 ? ", " : "";
	size_t		 need = strlen(sep) + strlen(word);

	if (w->cut)
		return;
	if (w->len + need + w->reserve > w->size) {
		/* room for this was kept by every word before */
		if (w->len + w->reserve <= w->size) {
			memcpy(w->s + w->len, WORDS_MORE, sizeof(WORDS_MORE));
			w->len += sizeof(WORDS_MORE) - 1;
		}
		w->cut = 1;
		return;
	}
	memcpy(w->s + w->len, sep, strlen(sep));
	memcpy(w->s + w->len + strlen(sep), word, strlen(word) + 1);
	w->len += need;
	w->n++;
}

static enum list_rc
words_end(struct words *w, const char *tail)
{
	if (w->len + strlen(tail) < w->size) {
		memcpy(w->s + w->len, tail, strlen(tail) + 1);
		w->len += strlen(tail);
	}
	return LIST_BAD_PARAM;
}

static enum list_rc bad(struct list_error *, const char *, const char *,
	    ...) DOCKET_PRINTF(3, 4);

/* Set err (param is trusted or already shown) and say LIST_BAD_PARAM. */
static enum list_rc
bad(struct list_error *err, const char *param, const char *fmt, ...)
{
	va_list	 ap;

	snprintf(err->param, sizeof(err->param), "%s", param);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return LIST_BAD_PARAM;
}

/* The last value of key (DRF's QueryDict.get) and how often it appears. */
static const char *
last_value(const struct query *q, const char *key, size_t *count)
{
	const char	*v = NULL;
	size_t		 i, c = 0;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->p[i].key, key) == 0) {
			v = q->p[i].val;
			c++;
		}
	*count = c;
	return v;
}

/*
 * Digits only (no sign, no space, not empty) into *out, saturating at
 * cap + 1 so that any length of digits reads as "too big" without
 * overflowing.  0 or -1.
 */
static int
digits_only(const char *s, int64_t cap, int64_t *out)
{
	int64_t	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v <= cap)
			v = v * 10 + (*s - '0');
	}
	*out = v > cap ? cap + 1 : v;
	return 0;
}

/*
 * page.  drf_pages: the last value wins; digits forming 1..10^12, or
 * "last"; anything else is LIST_NO_PAGE, which the caller reports only if
 * no parameter is a 400 (DRF validates filters before it paginates).
 * Strict: once, 1..10^12.
 */
static enum list_rc
parse_page(const struct list_spec *spec, const struct query *q,
    struct list_params *out, struct list_error *err)
{
	const char	*v;
	char		 shown[SHOW_LEN];
	size_t		 count;
	int64_t		 n;

	out->page = 1;
	if ((v = last_value(q, "page", &count)) == NULL)
		return LIST_OK;
	if (spec->drf_pages) {
		if (strcmp(v, "last") == 0) {
			out->page = LIST_PAGE_LAST;
			return LIST_OK;
		}
		if (digits_only(v, PAGE_MAX, &n) != 0 || n < 1 ||
		    n > PAGE_MAX)
			return LIST_NO_PAGE;
		out->page = n;
		return LIST_OK;
	}
	if (count > 1)
		return bad(err, "page", "page may be given only once.");
	if (parse_int64(v, 1, PAGE_MAX, &n) != PARSE_OK) {
		show(v, shown);
		return bad(err, "page", "page '%s' is not a page number: "
		    "write a whole number from 1 to 1000000000000.", shown);
	}
	out->page = n;
	return LIST_OK;
}

/*
 * page_size.  drf_pages: the last value wins; digits forming a positive
 * number are used, cut to LIST_PAGE_SIZE_MAX; anything else quietly means
 * the default, as DRF does.  Strict: once, 1..LIST_PAGE_SIZE_MAX.
 */
static enum list_rc
parse_page_size(const struct list_spec *spec, const struct query *q,
    struct list_params *out, struct list_error *err)
{
	const char	*v;
	char		 shown[SHOW_LEN];
	size_t		 count;
	int64_t		 n;

	out->page_size = LIST_PAGE_SIZE_DEFAULT;
	if ((v = last_value(q, "page_size", &count)) == NULL)
		return LIST_OK;
	if (spec->drf_pages) {
		if (digits_only(v, LIST_PAGE_SIZE_MAX, &n) == 0 && n > 0)
			out->page_size = n > LIST_PAGE_SIZE_MAX ?
			    LIST_PAGE_SIZE_MAX : n;
		return LIST_OK;
	}
	if (count > 1)
		return bad(err, "page_size",
		    "page_size may be given only once.");
	if (parse_int64(v, 1, LIST_PAGE_SIZE_MAX, &n) != PARSE_OK) {
		show(v, shown);
		return bad(err, "page_size", "page_size '%s' is not a whole "
		    "number from 1 to %d.", shown, LIST_PAGE_SIZE_MAX);
	}
	out->page_size = n;
	return LIST_OK;
}

/*
 * One of started/ended: an ISO-8601 date-time with a zone, or a duration
 * meaning now minus it.  The result must lie in years 1..9999 (a zone can
 * push 0001-01-01T00:00 or 9999-12-31T23:59 past them), the range
 * list_build can write back as a timestamptz.
 */
static enum list_rc
parse_time(const char *param, const char *v, int64_t now_us, int64_t *out,
    struct list_error *err)
{
	struct iso_duration	 d;
	enum iso_rc		 rc;
	char			 shown[SHOW_LEN], check[ISO_FMT_LEN];

	show(v, shown);
	if (*v == '\0')
		return bad(err, param, "%s must not be empty: give an ISO-8601 "
		    "date-time such as 2016-01-01T00:00:00Z or a duration "
		    "such as PT3H0M0S.", param);
	rc = iso_datetime_parse(v, out);
	switch (rc) {
	case ISO_OK:
		break;
	case ISO_NO_ZONE:
		return bad(err, param, "%s '%s' needs a zone: Z or an offset "
		    "such as +01:00.", param, shown);
	case ISO_NO_TIME:
		return bad(err, param, "%s '%s' is a date without a time: "
		    "write e.g. %sT00:00:00Z.", param, shown, shown);
	case ISO_RANGE:
		return bad(err, param, "%s '%s' has a field out of range "
		    "(month, day, hour, minute, second or zone).", param,
		    shown);
	default:
		if (iso_duration_parse(v, &d) != ISO_OK)
			return bad(err, param, "%s '%s' is neither an ISO-8601 "
			    "date-time (2016-01-01T00:00:00Z) nor a duration "
			    "(PT3H0M0S).", param, shown);
		if (iso_duration_before(&d, now_us, out) != ISO_OK)
			return bad(err, param, "%s '%s' reaches back before "
			    "the year 1.", param, shown);
		break;
	}
	if (iso_format_us(*out, check) != 0)
		return bad(err, param, "%s '%s' is outside the years 1 to "
		    "9999 in UTC.", param, shown);
	return LIST_OK;
}

static enum list_rc
parse_times(const struct query *q, int64_t now_us, struct list_params *out,
    struct list_error *err)
{
	const char	*started, *ended;
	size_t		 ns, ne;
	enum list_rc	 rc;
	char		 s[ISO_FMT_LEN], e[ISO_FMT_LEN];

	started = query_get(q, "started", &ns);
	ended = query_get(q, "ended", &ne);
	if (ns > 1)
		return bad(err, "started", "started may be given only once.");
	if (ne > 1)
		return bad(err, "ended", "ended may be given only once.");
	out->ended_us = now_us;
	if (ended != NULL &&
	    (rc = parse_time("ended", ended, now_us, &out->ended_us, err)) !=
	    LIST_OK)
		return rc;
	if (started == NULL)
		return LIST_OK;
	if ((rc = parse_time("started", started, now_us, &out->started_us,
	    err)) != LIST_OK)
		return rc;
	out->has_started = 1;
	if (out->started_us < out->ended_us)
		return LIST_OK;
	/* Both format: parse_time checked them, and now_us is ours. */
	if (iso_format_us(out->started_us, s) != 0 ||
	    iso_format_us(out->ended_us, e) != 0)
		return bad(err, "started", "started must be before ended.");
	return bad(err, "started", "started must be before ended: %s is not "
	    "before %s.", s, e);
}

static enum list_rc
bad_order(const struct list_spec *spec, const char *v,
    struct list_error *err)
{
	static const char tail[] = " (a '-' before one sorts descending).";
	struct words	 w;
	char		 shown[SHOW_LEN];
	size_t		 i;

	show(v, shown);
	bad(err, "order", "order '%s' is not one of ", shown);
	words_start(&w, err->message, sizeof(err->message), tail);
	for (i = 0; i < spec->norders; i++)
		words_add(&w, spec->orders[i].param);
	return words_end(&w, tail);
}

/* One order value, "field" or "-field", appended to out->order. */
static enum list_rc
add_order(const struct list_spec *spec, const char *v,
    struct list_params *out, struct list_error *err)
{
	const char	*name = v;
	char		 shown[SHOW_LEN];
	size_t		 i, j;
	int		 desc = 0;

	if (*name == '-') {
		desc = 1;
		name++;
	}
	for (i = 0; i < spec->norders; i++)
		if (strcmp(name, spec->orders[i].param) == 0)
			break;
	if (i == spec->norders)
		return bad_order(spec, v, err);
	for (j = 0; j < out->norder; j++)
		if (out->order[j].field == i) {
			show(v, shown);
			return bad(err, "order", "order '%s' orders by %s a "
			    "second time; give each field once.", shown,
			    spec->orders[i].param);
		}
	if (out->norder == LIST_MAX_ORDER)
		return bad(err, "order", "order may be given at most %d "
		    "times.", LIST_MAX_ORDER);
	out->order[out->norder].field = i;
	out->order[out->norder].desc = desc;
	out->norder++;
	return LIST_OK;
}

/* order=, repeatable, in the order given; else the spec's default. */
static enum list_rc
parse_order(const struct list_spec *spec, const struct query *q,
    struct list_params *out, struct list_error *err)
{
	enum list_rc	 rc;
	size_t		 i, count;

	query_get(q, "order", &count);
	if (count > LIST_MAX_ORDER)
		return bad(err, "order", "order may be given at most %d "
		    "times.", LIST_MAX_ORDER);
	if (count == 0)
		return spec->default_order == NULL ? LIST_OK :
		    add_order(spec, spec->default_order, out, err);
	for (i = 0; i < q->n; i++)
		if (strcmp(q->p[i].key, "order") == 0 &&
		    (rc = add_order(spec, q->p[i].val, out, err)) != LIST_OK)
			return rc;
	return LIST_OK;
}

/* One value of filter fi, checked and kept as it will be bound. */
static enum list_rc
add_value(const struct list_spec *spec, size_t fi, const char *v,
    struct list_params *out, struct list_error *err)
{
	const struct list_filter *f = &spec->filters[fi];
	struct words	 w;
	char		 shown[SHOW_LEN];
	int64_t		 n;
	size_t		 j;

	show(v, shown);
	if (*v == '\0')
		return bad(err, f->param, "%s must not be empty.", f->param);
	switch (f->type) {
	case LV_INT:
		if (parse_int64(v, 1, INT64_MAX, &n) != PARSE_OK)
			return bad(err, f->param, "%s '%s' is not an id: write "
			    "a whole number from 1 up.", f->param, shown);
		break;
	case LV_CHOICE:
		for (j = 0; f->choices[j] != NULL; j++)
			if (strcmp(v, f->choices[j]) == 0)
				break;
		if (f->choices[j] == NULL) {
			bad(err, f->param, "%s '%s' is not one of ", f->param,
			    shown);
			words_start(&w, err->message, sizeof(err->message),
			    ".");
			for (j = 0; f->choices[j] != NULL; j++)
				words_add(&w, f->choices[j]);
			return words_end(&w, ".");
		}
		v = f->binds != NULL ? f->binds[j] : f->choices[j];
		break;
	case LV_TEXT:
		if (strlen(v) > TEXT_MAX)
			return bad(err, f->param, "%s '%s' is longer than %d "
			    "bytes.", f->param, shown, TEXT_MAX);
		/* PostgreSQL would refuse it too, as a less helpful 400 */
		if (!utf8_valid(v))
			return bad(err, f->param, "%s '%s' is not UTF-8 text.",
			    f->param, shown);
		break;
	}
	out->values[fi][out->nvalues[fi]++] = v;
	return LIST_OK;
}

static enum list_rc
parse_filters(const struct list_spec *spec, const struct query *q,
    struct list_params *out, struct list_error *err)
{
	const char	*param;
	enum list_rc	 rc;
	size_t		 fi, i, count;

	for (fi = 0; fi < nfilters(spec); fi++) {
		param = spec->filters[fi].param;
		query_get(q, param, &count);
		if (count > LIST_MAX_VALUES)
			return bad(err, param, "%s may be given at most %d "
			    "times.", param, LIST_MAX_VALUES);
		for (i = 0; i < q->n; i++)
			if (strcmp(q->p[i].key, param) == 0 &&
			    (rc = add_value(spec, fi, q->p[i].val, out, err)) !=
			    LIST_OK)
				return rc;
	}
	return LIST_OK;
}

static enum list_rc
unknown_param(const struct list_spec *spec, const char *key,
    struct list_error *err)
{
	static const char *const fixed[] = { "page", "page_size", "order",
	    "started", "ended", NULL };
	struct words	 w;
	char		 shown[SHOW_LEN];
	size_t		 i;

	show(key, shown);
	bad(err, shown, "'%s' is not a parameter of this list; it takes ",
	    shown);
	words_start(&w, err->message, sizeof(err->message), ".");
	for (i = 0; fixed[i] != NULL; i++)
		words_add(&w, fixed[i]);
	for (i = 0; i < nfilters(spec); i++)
		words_add(&w, spec->filters[i].param);
	for (i = 0; spec->extra_params != NULL &&
	    spec->extra_params[i] != NULL; i++)
		words_add(&w, spec->extra_params[i]);
	return words_end(&w, ".");
}

/*
 * Check every parameter of q against spec into *out.  now_us is what a
 * duration counts back from and ended's default.
 *
 * LIST_BAD_PARAM (a 400): err->param names the parameter, err->message
 * says what was wrong.  LIST_NO_PAGE (a 404, drf_pages only): page is not
 * a page, err says "Invalid page." as DRF does; it is reported only when
 * nothing else is wrong.  *out may be partly written on failure.
 */
enum list_rc
list_parse(const struct list_spec *spec, const struct query *q,
    int64_t now_us, struct list_params *out, struct list_error *err)
{
	enum list_rc	 rc, page_rc;
	enum kind	 k;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	for (i = 0; i < q->n; i++) {
		if ((k = kind_of(spec, q->p[i].key)) == K_UNKNOWN)
			return unknown_param(spec, q->p[i].key, err);
		if (k != K_EXTRA)
			out->any_given = 1;
	}
	page_rc = parse_page(spec, q, out, err);
	if (page_rc == LIST_BAD_PARAM)
		return page_rc;
	if ((rc = parse_page_size(spec, q, out, err)) != LIST_OK ||
	    (rc = parse_times(q, now_us, out, err)) != LIST_OK ||
	    (rc = parse_order(spec, q, out, err)) != LIST_OK ||
	    (rc = parse_filters(spec, q, out, err)) != LIST_OK)
		return rc;
	if (page_rc == LIST_NO_PAGE) {
		snprintf(err->param, sizeof(err->param), "page");
		snprintf(err->message, sizeof(err->message), "Invalid page.");
	}
	return page_rc;
}

/* ---- list_build --------------------------------------------------------- */

/* Bind a parameter; its number ($n), or 0 when there is no room. */
static int
bind(struct list_sql *sql, const char *value)
{
	if (value == NULL || sql->nparams == LIST_MAX_PARAMS)
		return 0;
	sql->params[sql->nparams++] = value;
	return sql->nparams;
}

static int
bind_int(struct list_sql *sql, int64_t v)
{
	char	*s;

	if (sql->nstore == sizeof(sql->store) / sizeof(sql->store[0]))
		return 0;
	s = sql->store[sql->nstore++];
	snprintf(s, ISO_FMT_LEN, "%lld", (long long)v);
	return bind(sql, s);
}

static int
bind_time(struct list_sql *sql, int64_t us)
{
	char	*s;

	if (sql->nstore == sizeof(sql->store) / sizeof(sql->store[0]))
		return 0;
	s = sql->store[sql->nstore++];
	if (iso_format_us(us, s) != 0)
		return 0;
	return bind(sql, s);
}

/* ARRAY[$a::t,$b::t,...] over filter fi's values, bound from $first on. */
static void
put_array(struct buf *b, const struct list_filter *f, int first, size_t n)
{
	size_t	 i;

	buf_puts(b, "ARRAY[");
	for (i = 0; i < n; i++)
		buf_printf(b, "%s$%d::%s", i > 0 ? "," : "", first + (int)i,
		    f->elem_type);
	buf_putc(b, ']');
}

/* ORDER BY's list: the keys given, then the tiebreak in the last key's
 * direction, so every page has one order and rows never repeat. */
static void
put_order(struct buf *b, const struct list_spec *spec,
    const struct list_params *lp)
{
	size_t	 i;
	int	 desc = 0;

	for (i = 0; i < lp->norder; i++) {
		desc = lp->order[i].desc;
		buf_printf(b, "%s%s", spec->orders[lp->order[i].field].sql,
		    desc ? " DESC, " : ", ");
	}
	buf_printf(b, "%s%s", spec->tiebreak, desc ? " DESC" : "");
}

/*
 * Build the page statement described in docket.h into sql (see list_spec
 * for the two shapes).  Parameters are numbered in the order they first
 * appear in the text; the predicate appears twice (the count and the page,
 * or the window's arguments and the page) with the same numbers.  The
 * values are bound first in that shared order: owner, each filter's
 * values, started, ended; then limit and offset in text order.
 *
 * 0, or -1 when the text outgrew SQL_MAX, a parameter did not fit, a time
 * did not format or a filter's sql has no %s: all bugs, a 500.  sql->text
 * is freed on failure, and list_sql_free is harmless after it.
 */
int
list_build(const struct list_spec *spec, const struct list_params *lp,
    int64_t owner, int64_t offset, struct list_sql *sql)
{
	struct buf	 pred, order;
	const struct list_filter *f;
	const char	*alias, *hole, *joins, *tmpl;
	size_t		 fi, i;
	int		 one;
	int		 owner_n = 0, first[LIST_MAX_FILTERS], start_n = 0;
	int		 end_n = 0, limit_n, offset_n, seeks, desc, ok = 1;
	int		 times;

	memset(sql, 0, sizeof(*sql));
	buf_init(&sql->text, SQL_MAX);
	buf_init(&pred, SQL_MAX);
	buf_init(&order, SQL_MAX);

	/* With a window the call takes started and ended even when there is
	 * no time column to compare them with. */
	times = spec->time != NULL || spec->window_fn != NULL;
	seeks = spec->time != NULL && spec->window_fn != NULL &&
	    lp->norder > 0 &&
	    strcmp(spec->orders[lp->order[0].field].sql, spec->time) == 0;
	desc = lp->norder > 0 && lp->order[0].desc;

	if (owner != 0)
		ok &= (owner_n = bind_int(sql, owner)) != 0;
	for (fi = 0; fi < nfilters(spec); fi++) {
		first[fi] = sql->nparams + 1;
		for (i = 0; i < lp->nvalues[fi]; i++)
			ok &= bind(sql, lp->values[fi][i]) != 0;
	}
	if (times && lp->has_started)
		ok &= (start_n = bind_time(sql, lp->started_us)) != 0;
	if (times)
		ok &= (end_n = bind_time(sql, lp->ended_us)) != 0;
	if (seeks) {
		ok &= (offset_n = bind_int(sql, offset)) != 0;
		ok &= (limit_n = bind_int(sql, lp->page_size)) != 0;
	} else {
		ok &= (limit_n = bind_int(sql, lp->page_size)) != 0;
		ok &= (offset_n = bind_int(sql, offset)) != 0;
	}
	if (!ok)
		goto fail;

	/* P: what a row must satisfy, "true" when nothing is asked. */
	if (owner != 0)
		buf_printf(&pred, "%s = $%d", spec->owner, owner_n);
	for (fi = 0; fi < nfilters(spec); fi++) {
		f = &spec->filters[fi];
		if (lp->nvalues[fi] == 0)
			continue;
		one = lp->nvalues[fi] == 1 && f->sql_one != NULL;
		tmpl = one ? f->sql_one : f->sql;
		if ((hole = strstr(tmpl, "%s")) == NULL)
			goto fail;
		if (pred.len > 0)
			buf_puts(&pred, " AND ");
		buf_append(&pred, tmpl, (size_t)(hole - tmpl));
		if (one)
			buf_printf(&pred, "$%d::%s", first[fi], f->elem_type);
		else
			put_array(&pred, f, first[fi], lp->nvalues[fi]);
		buf_puts(&pred, hole + 2);
	}
	if (spec->time != NULL && lp->has_started)
		buf_printf(&pred, "%s%s >= $%d::timestamptz",
		    pred.len > 0 ? " AND " : "", spec->time, start_n);
	if (spec->time != NULL)
		buf_printf(&pred, "%s%s <= $%d::timestamptz",
		    pred.len > 0 ? " AND " : "", spec->time, end_n);
	if (pred.len == 0)
		buf_puts(&pred, "true");

	put_order(&order, spec, lp);
	alias = strrchr(spec->inner, ' ');
	alias = alias != NULL ? alias + 1 : spec->inner;
	joins = spec->joins != NULL ? spec->joins : "";

	if (spec->window_fn == NULL) {
		buf_printf(&sql->text, "SELECT c.total, p.* FROM (SELECT "
		    "count(*) AS total FROM %s WHERE %s) c", spec->inner,
		    buf_cstr(&pred));
	} else {
		buf_printf(&sql->text, "SELECT w.total, p.* FROM %s(",
		    spec->window_fn);
		if (owner != 0)
			buf_printf(&sql->text, "$%d::bigint", owner_n);
		else
			buf_puts(&sql->text, "NULL::bigint");
		for (fi = 0; fi < nfilters(spec); fi++) {
			f = &spec->filters[fi];
			buf_puts(&sql->text, ", ");
			if (lp->nvalues[fi] > 0)
				put_array(&sql->text, f, first[fi],
				    lp->nvalues[fi]);
			else
				buf_printf(&sql->text, "NULL::%s[]",
				    f->elem_type);
		}
		if (lp->has_started)
			buf_printf(&sql->text, ", $%d::timestamptz", start_n);
		else
			buf_puts(&sql->text, ", NULL::timestamptz");
		buf_printf(&sql->text, ", $%d::timestamptz, %s, ", end_n,
		    desc ? "true" : "false");
		if (seeks)
			buf_printf(&sql->text, "$%d::bigint) w", offset_n);
		else
			buf_puts(&sql->text, "NULL::bigint) w");
	}
	buf_printf(&sql->text, " LEFT JOIN LATERAL (SELECT %s FROM (SELECT "
	    "%s.* FROM %s WHERE %s", spec->select, alias, spec->inner,
	    buf_cstr(&pred));
	if (seeks)
		buf_printf(&sql->text, " AND %s >= w.lo AND %s <= w.hi",
		    spec->time, spec->time);
	buf_printf(&sql->text, " ORDER BY %s LIMIT $%d OFFSET ",
	    buf_cstr(&order), limit_n);
	if (seeks)
		buf_puts(&sql->text, "w.skip");
	else
		buf_printf(&sql->text, "$%d", offset_n);
	buf_printf(&sql->text, ") %s%s%s ORDER BY %s) p ON true", alias,
	    *joins != '\0' ? " " : "", joins, buf_cstr(&order));
	if (pred.failed || order.failed || sql->text.failed)
		goto fail;
	sql->seeks = seeks;
	buf_free(&pred);
	buf_free(&order);
	return 0;
fail:
	buf_free(&pred);
	buf_free(&order);
	buf_free(&sql->text);
	return -1;
}

void
list_sql_free(struct list_sql *sql)
{
	buf_free(&sql->text);
}

/* ---- list_link ---------------------------------------------------------- */

/* RFC 3986 percent-encoding: only the unreserved characters stay. */
static void
put_encoded(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	  c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			buf_putc(b, (char)c);
		else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 0xf]);
		}
	}
}

static void
put_page(struct buf *b, int64_t page, int first)
{
	buf_putc(b, first ? '?' : '&');
	if (page == LIST_PAGE_LAST)
		buf_puts(b, "page=last");
	else
		buf_printf(b, "page=%lld", (long long)page);
}

/*
 * Append base, path and q to out with every "page" dropped and, unless
 * page is 1, one page=<page> where the first page was (or at the end).
 * The other parameters keep their order and are encoded again from their
 * decoded form, so '+' (a space once decoded) comes back as %20.
 * 0, or -1 if out failed.
 */
int
list_link(const char *base, const char *path, const struct query *q,
    int64_t page, struct buf *out)
{
	size_t	 i;
	int	 placed = page == 1, first = 1;

	buf_puts(out, base != NULL ? base : "");
	buf_puts(out, path != NULL ? path : "");
	for (i = 0; i < q->n; i++) {
		if (strcmp(q->p[i].key, "page") == 0) {
			if (!placed) {
				put_page(out, page, first);
				placed = 1;
				first = 0;
			}
			continue;
		}
		buf_putc(out, first ? '?' : '&');
		first = 0;
		put_encoded(out, q->p[i].key);
		buf_putc(out, '=');
		put_encoded(out, q->p[i].val);
	}
	if (!placed)
		put_page(out, page, first);
	return out->failed ? -1 : 0;
}
