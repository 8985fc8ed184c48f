/*
 * router.c -- which handler answers a method and path.
 *
 * One table, routes[], names every route docketd serves.  Paths match
 * exactly unless the row is a prefix row; a path that some exact row names
 * belongs to the exact rows alone (GET /batches/validation/ is a 405, not
 * a batch called "validation").  A path that exists with another
 * method is a 405 and the caller gets the Allow list built from the table,
 * so Allow can never disagree with what is routed.
 */
#include <string.h>

#include "docket.h"

#define PUB	ACCESS_PUBLIC
#define USR	ACCESS_USER
#define LSE	ACCESS_LEASE

static const struct route routes[] = {
	{ "GET",    "/healthz",                    0, PUB, h_healthz },
	{ "GET",    "/_auth",                      0, PUB, h_auth },
	{ "POST",   "/_auth",                      0, PUB, h_auth },
	{ "PUT",    "/_auth",                      0, PUB, h_auth },
	{ "DELETE", "/_auth",                      0, PUB, h_auth },
	{ "HEAD",   "/_auth",                      0, PUB, h_auth },
	{ "GET",    "/objects/",                   1, PUB, h_object_get },
	{ "HEAD",   "/objects/",                   1, PUB, h_object_get },
	{ "GET",    "/api/v1/jobs/get",            0, USR, h_jobs_get },
	{ "GET",    "/api/v1/jobs/list",           0, USR, h_jobs_list },
	{ "GET",    "/api/v1/jobs/get-object-url", 0, USR, h_jobs_object_url },
	{ "DELETE", "/api/v1/jobs/delete",         0, USR, h_jobs_delete },
	{ "POST",   "/api/v1/queue/jobs",          0, USR, h_queue_enqueue },
	{ "GET",    "/api/v1/queue/jobs/",         1, USR, h_queue_get },
	{ "PUT",    "/api/v1/queue/jobs/",         1, LSE, h_queue_update },
	{ "DELETE", "/api/v1/queue/jobs/",         1, USR, h_queue_delete },
	{ "POST",   "/api/v1/queue/want_job",      0, LSE, h_queue_want },
	{ "POST",   "/api/v1/queue/want_job/",     0, LSE, h_queue_want },
	{ "GET",    "/batches/",                   0, USR, h_batches_list },
	{ "HEAD",   "/batches/",                   0, USR, h_batches_list },
	{ "POST",   "/batches/",                   0, USR, h_batches_create },
	{ "POST",   "/batches/validation/",        0, USR, h_batches_validate },
	{ "GET",    "/batches/",                   1, USR, h_batches_get },
	{ "HEAD",   "/batches/",                   1, USR, h_batches_get },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static int
path_matches(const struct route *rt, const char *path)
{
	if (rt->prefix)
		return strncmp(path, rt->path, strlen(rt->path)) == 0;
	return strcmp(path, rt->path) == 0;
}

/*
 * Find the route for method and path.  ROUTE_BAD_METHOD fills allow with
 * the methods the path does accept ("GET, HEAD").
 */
enum route_rc
route_match(const char *method, const char *path, const struct route **out,
    char *allow, size_t allowlen)
{
	size_t		 i, used = 0, n;
	int		 path_known = 0, prefix;

	allow[0] = '\0';
	for (prefix = 0; prefix <= 1 && !path_known; prefix++) {
		for (i = 0; i < NROUTES; i++) {
			if (routes[i].prefix != prefix ||
			    !path_matches(&routes[i], path))
				continue;
			if (strcmp(routes[i].method, method) == 0) {
				*out = &routes[i];
				return ROUTE_FOUND;
			}
			path_known = 1;
			n = strlen(routes[i].method);
			if (used + n + 3 < allowlen) {
				if (used > 0) {
					memcpy(allow + used, ", ", 2);
					used += 2;
				}
				memcpy(allow + used, routes[i].method, n);
				used += n;
				allow[used] = '\0';
			}
		}
	}
	return path_known ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}
