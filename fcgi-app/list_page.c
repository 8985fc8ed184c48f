/*
 * list_page.c -- run a listing for a request: the one statement list_build
 * makes (the count and the page in one round trip), page=last, the empty
 * page past the end, and the absolute next/previous links.
 *
 * listing.c decides what a query string means and what SQL it becomes;
 * this file only runs it, so every list in docket pages, counts and links
 * the same way.  The surface writes the rows in its own JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docket.h"

#define LINK_MAX	(QUERY_MAX_LEN * 3 + 1024)

static enum db_rc
run(struct req *r, const struct list_spec *spec, const struct list_params *lp,
    int64_t owner, int64_t page, PGresult **out)
{
	struct list_sql	 sql;
	enum db_rc	 rc;

	if (list_build(spec, lp, owner, (page - 1) * lp->page_size, &sql) != 0) {
		list_sql_free(&sql);
		return DB_ERROR;
	}
	rc = db_exec_sql(r, spec->inner, 1, buf_cstr(&sql.text), sql.nparams,
	    sql.params, out);
	list_sql_free(&sql);
	return rc;
}

/*
 * Run the listing lp asks for, as owner (0: every user).  LIST_OK fills pg
 * (the caller owns it: list_page_free); LIST_NO_PAGE when a page after the
 * first is empty; -1 with *dbrc set when the database failed.
 */
int
list_page_run(struct req *r, const struct list_spec *spec,
    const struct list_params *lp, int64_t owner, struct list_page *pg,
    enum db_rc *dbrc)
{
	struct buf	 base;
	int64_t		 last;
	enum db_rc	 rc;

	memset(pg, 0, sizeof(*pg));
	buf_init(&pg->next, LINK_MAX);
	buf_init(&pg->previous, LINK_MAX);
	pg->page = lp->page;

	/* page=last: the count first, then the page it names. */
	if (pg->page == LIST_PAGE_LAST) {
		if ((rc = run(r, spec, lp, owner, 1, &pg->res)) != DB_OK)
			goto fail;
		pg->total = strtoll(PQgetvalue(pg->res, 0, 0), NULL, 10);
		last = (pg->total + lp->page_size - 1) / lp->page_size;
		pg->page = last > 1 ? last : 1;
		PQclear(pg->res);
		pg->res = NULL;
	}
	if ((rc = run(r, spec, lp, owner, pg->page, &pg->res)) != DB_OK)
		goto fail;
	/* One row of NULLs after the count when the page is empty. */
	pg->total = strtoll(PQgetvalue(pg->res, 0, 0), NULL, 10);
	pg->nrows = PQgetisnull(pg->res, 0, 1) ? 0 : PQntuples(pg->res);
	if (pg->nrows == 0 && pg->page > 1)
		return LIST_NO_PAGE;

	/* Most lists fit on one page: no links, no base URL to build. */
	if (pg->page > 1 || pg->page * lp->page_size < pg->total) {
		buf_init(&base, 512);
		req_base_url(r, &base);
		if (pg->page * lp->page_size < pg->total)
			list_link(buf_cstr(&base), r->path, &r->query,
			    pg->page + 1, &pg->next);
		if (pg->page > 1)
			list_link(buf_cstr(&base), r->path, &r->query,
			    pg->page - 1, &pg->previous);
		buf_free(&base);
	}
	if (pg->next.failed || pg->previous.failed) {
		rc = DB_ERROR;
		goto fail;
	}
	return LIST_OK;
fail:
	*dbrc = rc;
	return -1;
}

void
list_page_free(struct list_page *pg)
{
	PQclear(pg->res);
	pg->res = NULL;
	buf_free(&pg->next);
	buf_free(&pg->previous);
}

/*
 * Open the envelope every list answers with: {"count": N, "next": URL or
 * null, "previous": URL or null, "<items>": [ -- the surface writes the
 * rows, then list_page_end closes it.
 */
void
list_page_begin(struct jw *w, const struct list_page *pg, const char *items)
{
	jw_obj_open(w);
	JW_KEY(w, "count");
	jw_int(w, pg->total);
	JW_KEY(w, "next");
	jw_str(w, pg->next.len > 0 ? buf_cstr(&pg->next) : NULL);
	JW_KEY(w, "previous");
	jw_str(w, pg->previous.len > 0 ? buf_cstr(&pg->previous) : NULL);
	jw_key(w, items);
	jw_arr_open(w);
}

void
list_page_end(struct jw *w)
{
	jw_arr_close(w);
	jw_obj_close(w);
}
