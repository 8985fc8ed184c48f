-- batches-gen.sql: the data set of tests/bench/batches, made in the server
--   psql -v nbatches=1000000 -v njobs=5000000 -v users=bbench -f batches-gen.sql
-- after `docketctl token create <users>1..4` made the four users.
--
-- Set-based SQL only (INSERT ... SELECT over generate_series), with the
-- triggers off (session_replication_role = replica: the bucket triggers,
-- the failed_count triggers and the foreign keys do not run), so every id
-- is computed here and consistent by construction; batch_buckets_rebuild()
-- and job_buckets_rebuild() then count the buckets once.  The secondary indexes of jobs and batches
-- are dropped for the load and built again afterwards, from their own
-- definitions (pg_get_indexdef), which is several times faster than
-- maintaining them row by row.
--
-- What it makes, for nbatches batches and njobs jobs in all:
--   * 20 recipe types: 7 names x 3 versions, less one (the ones a batch
--     names are skewed: the first few are the popular ones);
--   * batches over the 365 days before the load, ids in creation order;
--     owners 70 / 15 / 10 / 5 % (user 1 is the benchmark's user);
--     8 % SUBMITTED (their creator job FAILED after 3 runs, as the
--     dispatcher leaves them), 92 % CREATED;
--     last_modified: = created for SUBMITTED (batch_submit sets both in one
--     transaction); the creator's run 0.5-30 s later for CREATED; and for
--     4 % of them one of 200 "bulk touch" instants of the year (an
--     operator's update of many batches in one transaction), so ~nbatches/5000
--     batches share each such instant: the ties the listing's id tiebreak
--     and the seek inside a day must get right;
--   * one trigger_events row (USER) per batch, and one creator job per batch
--     (job_type_id 1, surface batches, queue docket.batches, params
--     {"batch_id": id}, COMPLETED or FAILED: never PENDING, so the
--     dispatcher has nothing to run during the benchmark);
--   * the jobs each CREATED batch made (an exponential number, on average
--     what 40 % of the remaining jobs allow), created at the creator's run
--     (= the batch's last_modified, as batch_create does in one
--     transaction), with recipe type, event, batch_id and a unique
--     batch_source_id; 12 % of them failed: failed_count, created_count and
--     total_count are set from them;
--   * the remaining jobs: ordinary jobs over the same year, 60 % with a
--     recipe type, states mixed (no running: that needs a lease; queued
--     ones have run_at in the past).
\set ON_ERROR_STOP on

SET session_replication_role = replica;
SET maintenance_work_mem = '512MB';
SET work_mem = '64MB';
SET synchronous_commit = off;

-- A deterministic uniform number in [0, 1) per (row, purpose).
CREATE FUNCTION pg_temp.h(k bigint, salt bigint) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashint8extended(k, salt) & 4503599627370495)::float8 / 4503599627370496 $$;

BEGIN;

-- ---- the users, recipe types and the fixed values of the run -----------

CREATE TEMP TABLE g_users ON COMMIT DROP AS
    SELECT (row_number() OVER (ORDER BY id))::int AS k, id
      FROM users WHERE name ~ ('^' || :'users' || '[0-9]+$');
SELECT count(*) = 4 AS users_ok FROM g_users \gset
\if :users_ok
\else
    \echo 'batches-gen.sql: expected 4 users named' :'users' '1..4'
    SELECT 1/0;
\endif

INSERT INTO recipe_types (name, version, title, description)
SELECT n.name, v.version, initcap(replace(n.name, '-', ' ')) || ' ' || v.version,
       'Bench recipe type ' || n.name || ' ' || v.version
  FROM unnest(ARRAY['ocr', 'thumbnails', 'transcode', 'face-detect',
                    'speech-to-text', 'classify', 'geotag']) WITH ORDINALITY AS n(name, i)
 CROSS JOIN unnest(ARRAY['1.0', '1.1', '2.0']) WITH ORDINALITY AS v(version, j)
 WHERE (n.i, v.j) <> (7, 3)
ON CONFLICT (name, version) DO NOTHING;

CREATE TEMP TABLE g_rt ON COMMIT DROP AS
    SELECT (row_number() OVER (ORDER BY t.id))::int AS k, t.id, t.name
      FROM recipe_types t
     WHERE t.description LIKE 'Bench recipe type %';

SELECT count(*) AS nrt FROM g_rt \gset
SELECT coalesce(max(id), 0) AS bbase FROM batches \gset
SELECT coalesce(max(id), 0) AS ebase FROM trigger_events \gset
SELECT coalesce(max(id), 0) AS jbase FROM jobs \gset
-- The year ends a minute before the load: every row is in the past.
SELECT now() - interval '1 minute' AS t_end,
       now() - interval '1 minute' - interval '365 days' AS t0,
       extract(epoch FROM interval '365 days') / :nbatches AS bstep,
       extract(epoch FROM interval '365 days') / 200 AS epoch_len,
       -- batch jobs per CREATED batch, on average
       greatest(0, 0.4 * (:njobs - :nbatches)) / (0.92 * :nbatches) AS bavg
\gset

-- Per batch b (1..nbatches), everything the other statements need.
CREATE TEMP TABLE g_b ON COMMIT DROP AS
SELECT b,
       :bbase + b AS id,
       :ebase + b AS event_id,
       :jbase + b AS creator_job_id,
       u.id AS user_id,
       rt.id AS rt_id, rt.name AS rt_name,
       sub AS submitted,
       created,
       run,
       CASE WHEN sub THEN created
            WHEN pg_temp.h(b, 4) < 0.04 THEN
                 least(:'t_end'::timestamptz,
                       :'t0'::timestamptz + ceil(extract(epoch FROM run - :'t0'::timestamptz)
                                                 / :epoch_len) * :epoch_len * interval '1 second')
            ELSE run END AS last_modified,
       CASE WHEN sub THEN 0
            ELSE least(1000, floor(-:bavg * ln(1 - pg_temp.h(b, 7))))::int END AS njobs
  FROM generate_series(1, :nbatches) AS b
 CROSS JOIN LATERAL (SELECT pg_temp.h(b, 3) < 0.08 AS sub,
        :'t0'::timestamptz + (b - 1 + pg_temp.h(b, 1)) * :bstep * interval '1 second' AS created) x
 CROSS JOIN LATERAL (SELECT x.created + (0.5 + 30 * pg_temp.h(b, 2)) * interval '1 second' AS run) y
 JOIN g_users u ON u.k = CASE WHEN pg_temp.h(b, 5) < 0.70 THEN 1
                              WHEN pg_temp.h(b, 5) < 0.85 THEN 2
                              WHEN pg_temp.h(b, 5) < 0.95 THEN 3 ELSE 4 END
 JOIN g_rt rt ON rt.k = 1 + floor(:nrt * pg_temp.h(b, 6) ^ 2)::int;

-- ---- drop the secondary indexes for the load ---------------------------

CREATE TEMP TABLE g_idx ON COMMIT DROP AS
SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid IN ('jobs'::regclass, 'batches'::regclass)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid);
SELECT string_agg(format('DROP INDEX %I', name), '; ') AS drops FROM g_idx \gset
:drops;

-- ---- jobs made by the batches ------------------------------------------
-- (identity ids: nothing refers to them; the creator jobs' explicit ids
-- come first, so move the identity past them.)
SELECT setval(pg_get_serial_sequence('jobs', 'id'), :jbase + :nbatches) \g /dev/null

INSERT INTO jobs (user_id, name, surface, queue, state, priority, params,
                  error, total_size, credits_spent, attempts, run_at,
                  created_at, updated_at, started_at, finished_at,
                  recipe_type_id, event_id, batch_id, batch_source_id)
SELECT b.user_id,
       'reprocess-' || b.id || '-' || k || '.png',
       'batches', 'default', st, 1,
       jsonb_build_object('src', 'scan-' || k || '.png'),
       CASE WHEN st = 'failed' THEN 'could not decode the image' END,
       1000 + (b.id * 31 + k) % 50000, ((b.id + k) % 13)::int,
       CASE WHEN st IN ('succeeded', 'failed') THEN 1 ELSE 0 END,
       b.run, b.run,
       CASE WHEN st = 'queued' THEN b.run ELSE b.run + interval '2 minutes' END,
       CASE WHEN st IN ('succeeded', 'failed') THEN b.run + interval '1 minute' END,
       CASE WHEN st IN ('succeeded', 'failed', 'canceled') THEN b.run + interval '2 minutes' END,
       b.rt_id, b.event_id, b.id,
       :jbase + :nbatches + 1 + ((b.id::bigint * 7919 + k) % greatest(1, :njobs - :nbatches))
  FROM g_b b
 CROSS JOIN LATERAL generate_series(1, b.njobs) AS k
 CROSS JOIN LATERAL (SELECT (CASE WHEN pg_temp.h(b.id::bigint * 1000 + k, 8) < 0.12 THEN 'failed'
                                  WHEN pg_temp.h(b.id::bigint * 1000 + k, 8) < 0.15 THEN 'canceled'
                                  WHEN pg_temp.h(b.id::bigint * 1000 + k, 8) < 0.25 THEN 'queued'
                                  ELSE 'succeeded' END)::job_state AS st) s
 WHERE b.njobs > 0
 ORDER BY b.b, k;

CREATE TEMP TABLE g_counts ON COMMIT DROP AS
SELECT batch_id, count(*)::int AS n, (count(*) FILTER (WHERE state = 'failed'))::int AS failed
  FROM jobs WHERE batch_id > :bbase GROUP BY batch_id;
SELECT coalesce(sum(n), 0) AS nbatchjobs FROM g_counts \gset

-- ---- events, batches, creator jobs --------------------------------------

INSERT INTO trigger_events (id, type, rule_id, occurred)
OVERRIDING SYSTEM VALUE
SELECT event_id, 'USER', NULL, created FROM g_b ORDER BY b;

INSERT INTO batches (id, user_id, title, description, status, recipe_type_id,
                     event_id, creator_job_id, definition, created_count,
                     failed_count, total_count, created, last_modified)
OVERRIDING SYSTEM VALUE
SELECT b.id, b.user_id,
       'Reprocess ' || b.rt_name || ' #' || b.b,
       CASE WHEN pg_temp.h(b.b, 9) < 0.5 THEN NULL
            ELSE 'Re-run ' || b.rt_name || ' over the jobs of ' || to_char(b.created, 'YYYY-MM') END,
       (CASE WHEN b.submitted THEN 'SUBMITTED' ELSE 'CREATED' END)::batch_status,
       b.rt_id, b.event_id, b.creator_job_id,
       jsonb_build_object('date_range',
           jsonb_build_object('type', 'created',
                              'started', to_char(b.created - interval '30 days', 'YYYY-MM-DD"T00:00:00Z"'),
                              'ended', to_char(b.created, 'YYYY-MM-DD"T00:00:00Z"')),
           'priority', 1 + b.b % 3),
       coalesce(c.n, 0), coalesce(c.failed, 0), coalesce(c.n, 0),
       b.created, b.last_modified
  FROM g_b b LEFT JOIN g_counts c ON c.batch_id = b.id
 ORDER BY b.b;

INSERT INTO jobs (id, user_id, name, surface, queue, state, params, error,
                  attempts, run_at, created_at, updated_at, started_at,
                  finished_at, job_type_id, event_id)
OVERRIDING SYSTEM VALUE
SELECT creator_job_id, user_id, 'batch-creator-' || id, 'batches', 'docket.batches',
       (CASE WHEN submitted THEN 'failed' ELSE 'succeeded' END)::job_state,
       jsonb_build_object('batch_id', id),
       CASE WHEN submitted THEN 'recipe type has no earlier jobs to reprocess' END,
       CASE WHEN submitted THEN 3 ELSE 1 END,
       created, created, run, run, run, 1, event_id
  FROM g_b ORDER BY b;

-- ---- the other jobs -----------------------------------------------------

SELECT greatest(0, :njobs - :nbatches - :nbatchjobs) AS nplain \gset
INSERT INTO jobs (user_id, name, surface, queue, state, priority, params,
                  error, total_size, credits_spent, attempts, run_at,
                  created_at, updated_at, started_at, finished_at,
                  recipe_type_id)
SELECT u.id, 'scan-' || g || '.png', 'jobs', 'default', st,
       (g % 4)::smallint, '{}',
       CASE WHEN st = 'failed' THEN 'could not decode the image' END,
       (1 + (g % 2 = 0)::int) * (1000 + g % 50000), (g % 13)::int,
       CASE WHEN st IN ('succeeded', 'failed') THEN 1 ELSE 0 END,
       ts, ts,
       CASE WHEN st IN ('ready', 'queued') THEN ts ELSE ts + interval '90 seconds' END,
       CASE WHEN st IN ('succeeded', 'failed') THEN ts + interval '30 seconds' END,
       CASE WHEN st IN ('succeeded', 'failed', 'canceled') THEN ts + interval '90 seconds' END,
       CASE WHEN pg_temp.h(g, 13) < 0.6 THEN rt.id END
  FROM generate_series(1, :nplain) AS g
 CROSS JOIN LATERAL (SELECT :'t0'::timestamptz + (g - 1 + pg_temp.h(g, 10))
                            * (extract(epoch FROM interval '365 days') / greatest(1, :nplain))
                            * interval '1 second' AS ts,
                            (CASE WHEN pg_temp.h(g, 12) < 0.62 THEN 'succeeded'
                                  WHEN pg_temp.h(g, 12) < 0.72 THEN 'failed'
                                  WHEN pg_temp.h(g, 12) < 0.77 THEN 'canceled'
                                  WHEN pg_temp.h(g, 12) < 0.85 THEN 'queued'
                                  ELSE 'ready' END)::job_state AS st) x
 JOIN g_users u ON u.k = CASE WHEN pg_temp.h(g, 11) < 0.70 THEN 1
                              WHEN pg_temp.h(g, 11) < 0.85 THEN 2
                              WHEN pg_temp.h(g, 11) < 0.95 THEN 3 ELSE 4 END
 JOIN g_rt rt ON rt.k = 1 + floor(:nrt * pg_temp.h(g, 14) ^ 2)::int
 ORDER BY g;

-- ---- identities, indexes, counts -----------------------------------------

SELECT setval(pg_get_serial_sequence('jobs', 'id'), (SELECT max(id) FROM jobs)),
       setval(pg_get_serial_sequence('batches', 'id'), (SELECT max(id) FROM batches)),
       setval(pg_get_serial_sequence('trigger_events', 'id'), (SELECT max(id) FROM trigger_events))
\g /dev/null

SELECT string_agg(def, '; ') AS creates FROM g_idx \gset
:creates;

SELECT batch_buckets_rebuild() AS bucket_rows \gset
SELECT job_buckets_rebuild() AS job_bucket_rows \gset

COMMIT;
RESET session_replication_role;

-- A freshly loaded table has no statistics, no visibility map and no hint
-- bits: without this the first runs would pay for all three.
VACUUM ANALYZE recipe_types, trigger_events, batches, jobs, batch_buckets,
    job_buckets, job_hours, job_totals, job_count_deltas, job_types, users;

SELECT (SELECT count(*) FROM batches) AS batches,
       (SELECT count(*) FROM jobs) AS jobs,
       :nbatchjobs AS batch_jobs,
       :bucket_rows AS bucket_rows,
       (SELECT count(*) FROM recipe_types) AS recipe_types;
