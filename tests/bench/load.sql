-- load.sql: the benchmark data set, loaded by tests/bench/run with
--   psql -v njobs=100000 -f load.sql
-- after `docketctl token create benchuserN` made the users.
--
-- Set-based SQL, not docketctl: 100,000 jobs take a few seconds this way.
-- Each bench user gets one contiguous block of job ids (explicit ids with
-- OVERRIDING SYSTEM VALUE), so that "a random job of user 1" is simply a
-- random id in [lo, hi] -- the same range for wrk's Lua script and for
-- pgbench's \set random().
--
-- Every job has one or two job_objects rows; succeeded jobs have a `full`
-- and a `min` result per object, so `get` exercises the whole join and
-- signs URLs.  No files are written to the store: get and list read only
-- rows (downloads are not part of this benchmark).
\set ON_ERROR_STOP on
\set QUIET on

BEGIN;

CREATE TEMP TABLE bench_users AS
    SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id
    FROM users WHERE name LIKE 'benchuser%';
SELECT count(*) AS nusers FROM bench_users \gset
SELECT coalesce(max(id), 0) AS base FROM jobs \gset

-- Job g (1..njobs) belongs to bench user (g-1)*nusers/njobs: blocks of
-- njobs/nusers ids.  Within a user, creation times are one minute apart,
-- so `list` (newest first) walks the (user_id, created_at DESC, id DESC)
-- index.  No 'running' jobs: that state needs a lease.
INSERT INTO jobs (id, user_id, name, state, total_size, credits_spent,
                  created_at, updated_at, finished_at)
OVERRIDING SYSTEM VALUE
SELECT :base + g, u.id,
       'bench job ' || g || '.mp4',
       (ARRAY['succeeded','succeeded','succeeded','failed','queued',
              'ready','canceled'])[1 + g % 7]::job_state,
       (1 + (g % 2 = 0)::int) * (1000 + g % 5000),
       g % 13,
       ts, ts,
       CASE WHEN g % 7 IN (0, 1, 2, 3, 6) THEN ts + interval '30 seconds' END
FROM generate_series(1, :njobs) AS g
JOIN bench_users u ON u.k = (g - 1) * :nusers / :njobs
CROSS JOIN LATERAL (SELECT timestamptz '2024-01-01 00:00:00+00'
                           + ((g - 1) % (:njobs / :nusers)) * interval '1 minute'
                           + u.k * interval '1 second' AS ts) t;

-- The identity must continue after our explicit ids.
SELECT setval(pg_get_serial_sequence('jobs', 'id'), (SELECT max(id) FROM jobs));

-- One object per job, a second one for every even job.
INSERT INTO job_objects (job_id, object_uuid, original_name, content_type,
                         size, media_length, failure, created_at)
SELECT j.id, gen_random_uuid()::text || '.png',
       'frame-' || j.id || '-' || n || '.png', 'image/png',
       1000 + j.id % 5000, 1 + j.id % 7,
       CASE WHEN j.state = 'failed' THEN 'could not decode the image' END,
       j.created_at + n * interval '1 millisecond'
FROM jobs j CROSS JOIN generate_series(1, 2) AS n
WHERE j.id > :base AND (n = 1 OR j.id % 2 = 0);

-- Results for the objects of succeeded jobs.
INSERT INTO object_results (job_id, object_uuid, kind, size, created_at)
SELECT o.job_id, o.object_uuid, k.kind, 100 + o.size % 900, o.created_at
FROM job_objects o
JOIN jobs j ON j.id = o.job_id
CROSS JOIN (VALUES ('full'), ('min')) AS k(kind)
WHERE j.id > :base AND j.state = 'succeeded';

COMMIT;

-- A freshly loaded table has no statistics, no visibility map and no hint
-- bits: without this the first benchmark would pay for all three.
VACUUM ANALYZE users, api_tokens, jobs, job_objects, object_results;

\set QUIET off
SELECT (SELECT count(*) FROM jobs) AS jobs,
       (SELECT count(*) FROM job_objects) AS objects,
       (SELECT count(*) FROM object_results) AS results;
