-- pgTAP: sql/005_job_counts.sql -- the maintained counts of the jobs list:
-- the delta log the triggers append to (job_count_deltas), the fold into
-- per-day buckets and per-hour counts (job_counts_fold, job_buckets,
-- job_hours), the recount
-- (job_buckets_rebuild) and the listing window built on them (job_window).
--
-- The one invariant: buckets plus unfolded deltas = a recount of jobs, at
-- every level (owner or every owner, state or every state, per UTC day and
-- per UTC hour),
-- whatever mix of folded and unfolded changes there is.  It is checked
-- after each kind of change, and job_window is checked against a plain
-- count(*) and a plain OFFSET in three phases: everything still in deltas,
-- everything folded, and changes on top of folded buckets.
--
-- A running dispatcher folds committed deltas every tick.  This file folds
-- inside its own transaction too, so it first folds what others committed
-- (outside the transaction, as the dispatcher would) and keeps its fixture
-- jobs in 2001: the bucket rows it locks are rows no dispatcher touches.
--
-- The fixture's days hold a few jobs each, so job_window's hour step (taken
-- when a page would skip job_window_hour_rows() rows of its day, 500) is
-- forced for the three phases by lowering that to 0, and checked once more
-- at its default; a busy day of 1,200 jobs checks the step at the default.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT job_counts_fold() \g /dev/null

BEGIN;
SELECT plan(78);

-- ---- tables, functions, triggers ---------------------------------------------
SELECT has_table('job_buckets');
SELECT has_table('job_hours');
SELECT has_table('job_count_deltas');
SELECT col_is_pk('job_buckets', ARRAY['user_id', 'state', 'day']);
SELECT col_is_pk('job_hours', ARRAY['user_id', 'state', 'hour']);
SELECT is(job_window_hour_rows(), 500::bigint,
          'job_window seeks the hour when a page would skip 500 rows of its day');
SELECT is((SELECT count(*) FROM pg_indexes WHERE tablename = 'job_count_deltas'),
          0::bigint, 'job_count_deltas has no index (appending is all the hot path does)');
SELECT has_function('job_counts_fold', '{}'::text[]);
SELECT has_function('job_buckets_rebuild', '{}'::text[]);
SELECT has_function('job_window',
    ARRAY['bigint', 'text[]', 'timestamp with time zone',
          'timestamp with time zone', 'boolean', 'bigint']);
SELECT volatility_is('job_window',
    ARRAY['bigint', 'text[]', 'timestamp with time zone',
          'timestamp with time zone', 'boolean', 'bigint'], 'stable');

SELECT has_function('list_window_key');
SELECT has_function('list_window_edges');
SELECT trigger_is('jobs', 'jobs_count_ins', 'job_counts_stmt');
SELECT trigger_is('jobs', 'jobs_count_del', 'job_counts_stmt');
SELECT trigger_is('jobs', 'jobs_count_upd', 'job_counts_row');
SELECT trigger_is('jobs', 'jobs_count_truncate', 'job_counts_truncate');

-- ---- fixtures and the invariant ----------------------------------------------
INSERT INTO users (name) VALUES ('tj-alice'), ('tj-bob'), ('tj-carol');
CREATE FUNCTION pg_temp.uid(p_name text) RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT id FROM users WHERE name = p_name $$;

-- What the counts must be: a recount of jobs at the four levels, per day
-- and per hour, computed without batch_day or job_hour.
CREATE TEMP VIEW jc_recount AS
    WITH h AS (SELECT user_id, state::text AS state,
                      date_trunc('hour', created_at AT TIME ZONE 'UTC')
                          AT TIME ZONE 'UTC' AS t
                 FROM jobs),
         j AS (SELECT 'hour' AS unit, user_id, state, t FROM h
               UNION ALL
               SELECT 'day', user_id, state,
                      date_trunc('day', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                 FROM h)
    SELECT unit, user_id, state, t, count(*) AS n FROM j GROUP BY 1, 2, 3, 4
    UNION ALL SELECT unit, user_id, '', t, count(*) FROM j GROUP BY 1, 2, 4
    UNION ALL SELECT unit, 0, state, t, count(*) FROM j GROUP BY 1, 3, 4
    UNION ALL SELECT unit, 0, '', t, count(*) FROM j GROUP BY 1, 4;
-- What they are: the buckets and hours plus the unfolded deltas, spread
-- over the same four levels.
CREATE TEMP VIEW jc_kept AS
    WITH moves AS (SELECT user_id, hour, new_state::text AS state, n
                     FROM job_count_deltas WHERE new_state IS NOT NULL
                   UNION ALL
                   SELECT user_id, hour, old_state::text, -n
                     FROM job_count_deltas WHERE old_state IS NOT NULL),
         spread AS (SELECT k.u, k.s, m.hour, m.n FROM moves m
                     CROSS JOIN LATERAL (VALUES (m.user_id, m.state),
                         (m.user_id, ''), (0, m.state), (0, '')) k (u, s)),
         all_rows AS (SELECT 'day' AS unit, user_id, state, day AS t, n FROM job_buckets
                      UNION ALL
                      SELECT 'hour', user_id, state, hour, n FROM job_hours
                      UNION ALL
                      SELECT 'day', u, s, date_trunc('day', hour AT TIME ZONE 'UTC')
                                              AT TIME ZONE 'UTC', n FROM spread
                      UNION ALL
                      SELECT 'hour', u, s, hour, n FROM spread)
    SELECT unit, user_id, state, t, sum(n)::bigint AS n FROM all_rows
     GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
CREATE TEMP VIEW jc_diff AS
    (SELECT 'extra' AS what, * FROM
         (SELECT * FROM jc_kept EXCEPT ALL SELECT * FROM jc_recount) x)
    UNION ALL
    (SELECT 'missing', * FROM
         (SELECT * FROM jc_recount EXCEPT ALL SELECT * FROM jc_kept) y);

SELECT is_empty('SELECT * FROM jc_diff', 'counts: the jobs that exist are counted');

-- 2001-02-01 .. 2001-02-10: 90 jobs every 2 h 41 min 7.000001 s, three
-- owners, every state; and jobs at the edges: day boundaries, noon (where
-- the last edge day switches to counting the rows after ended) and ties.
-- One INSERT: one statement trigger call for all of them.
INSERT INTO jobs (user_id, name, state, lease_token, created_at)
SELECT (ARRAY[pg_temp.uid('tj-alice'), pg_temp.uid('tj-bob'), pg_temp.uid('tj-carol')])[1 + i % 3],
       'w-' || i, s, CASE WHEN s = 'running' THEN gen_random_uuid() END, t
  FROM (SELECT i, (enum_range(NULL::job_state))[1 + (i / 2) % 6] AS s,
               '2001-02-01 00:00:00+00'::timestamptz
                  + i * interval '2 hours 41 minutes 7.000001 seconds' AS t
          FROM generate_series(0, 89) i) g;
SELECT is((SELECT count(*) FROM job_count_deltas
            WHERE hour >= '2001-01-01' AND hour < '2002-01-01'),
          (SELECT count(*) FROM (SELECT DISTINCT user_id, state,
                  date_trunc('hour', created_at, 'UTC') FROM jobs
                  WHERE created_at >= '2001-01-01' AND created_at < '2002-01-01') d),
          'inserts: one delta per (owner, hour, state) of the statement, not one per job');
INSERT INTO jobs (user_id, name, state, created_at)
SELECT pg_temp.uid(u), 'w-edge', s::job_state, t::timestamptz
  FROM (VALUES
    ('tj-alice', 'succeeded', '2001-02-01 00:00:00+00'),
    ('tj-alice', 'succeeded', '2001-02-03 23:59:59.999999+00'),
    ('tj-bob',   'failed',    '2001-02-03 23:59:59.999999+00'),
    ('tj-alice', 'queued',    '2001-02-04 00:00:00+00'),
    ('tj-alice', 'succeeded', '2001-02-04 00:00:00+00'),
    ('tj-carol', 'canceled',  '2001-02-04 00:00:00+00'),
    ('tj-bob',   'ready',     '2001-02-05 11:59:59.999999+00'),
    ('tj-alice', 'failed',    '2001-02-05 12:00:00+00'),
    ('tj-bob',   'succeeded', '2001-02-05 12:00:00+00'),
    ('tj-alice', 'queued',    '2001-02-05 12:00:00+00'),
    ('tj-carol', 'succeeded', '2001-02-06 23:59:59.999999+00'),
    ('tj-alice', 'failed',    '2001-02-07 00:00:00+00'),
    ('tj-alice', 'succeeded', '2001-02-08 18:00:00+00'),
    ('tj-bob',   'succeeded', '2001-02-08 18:00:00+00'),
    ('tj-alice', 'canceled',  '2001-02-08 18:00:00+00'),
    ('tj-carol', 'succeeded', '2001-02-10 23:59:59.999999+00'),
    ('tj-bob',   'succeeded', '2001-02-01 02:41:30+00'),
    ('tj-bob',   'failed',    '2001-02-01 02:41:59.999999+00'),
    ('tj-alice', 'succeeded', '2001-02-01 02:42:00+00')
  ) AS v (u, s, t);

SELECT is_empty('SELECT * FROM jc_diff', 'inserts: counted before any fold (buckets + deltas)');
SELECT is((SELECT count(*) FROM job_buckets WHERE day >= '2001-01-01' AND day < '2002-01-01')
          + (SELECT count(*) FROM job_hours WHERE hour >= '2001-01-01' AND hour < '2002-01-01'),
          0::bigint, 'inserts: no bucket or hour row is written on the insert path');

-- ---- the listing window -------------------------------------------------------
CREATE TEMP TABLE jwrange (range text PRIMARY KEY, started timestamptz,
                           ended timestamptz NOT NULL);
INSERT INTO jwrange VALUES
    ('everything up to now',                 NULL, now()),
    ('no start, ends 11:59:59.999999',       NULL, '2001-02-05 11:59:59.999999+00'),
    ('no start, ends at noon (subtract)',    NULL, '2001-02-05 12:00:00+00'),
    ('mid-day to mid-day (subtract)',        '2001-02-02 06:00:00+00', '2001-02-08 18:00:00+00'),
    ('whole days',                           '2001-02-02 00:00:00+00', '2001-02-08 23:59:59.999999+00'),
    ('one microsecond after/before',         '2001-02-01 00:00:00.000001+00', '2001-02-10 23:59:59.999998+00'),
    ('23:59:59.999999 to 00:00:00',          '2001-02-03 23:59:59.999999+00', '2001-02-04 00:00:00+00'),
    ('same day, second half',                '2001-02-05 12:00:00+00', '2001-02-05 23:00:00+00'),
    ('mid-day start, ends before noon',      '2001-02-03 13:00:00+00', '2001-02-07 11:00:00+00'),
    ('mid-hour to mid-hour',                 '2001-02-02 06:30:00+00', '2001-02-08 18:45:00+00'),
    ('first hour of a day, to 00:59:59',     '2001-02-04 00:00:00+00', '2001-02-04 00:59:59+00'),
    ('one minute inside one hour',           '2001-02-01 02:41:00+00', '2001-02-01 02:42:00+00'),
    ('ended before started',                 '2001-02-06 00:00:00+00', '2001-02-05 00:00:00+00'),
    ('nothing in range',                     '1999-01-01 00:00:00+00', '1999-12-31 00:00:00+00');
CREATE TEMP TABLE jwcase (
    n          serial PRIMARY KEY,
    range      text NOT NULL,
    p_user     bigint,
    p_state    text[],
    p_started  timestamptz,
    p_ended    timestamptz NOT NULL
);
INSERT INTO jwcase (range, p_user, p_state, p_started, p_ended)
SELECT r.range, u.id, s.st, r.started, r.ended
  FROM jwrange r
 CROSS JOIN (VALUES (NULL::bigint), (pg_temp.uid('tj-alice')), (pg_temp.uid('tj-bob'))) u (id)
 CROSS JOIN (VALUES (NULL::text[]), ('{succeeded}'), ('{queued,running}'),
                    ('{ready,failed,canceled}')) s (st);

-- The rows the jobs list shows for a case (listing.c's predicate).  Only
-- this file's users' jobs when no owner is given: the fixture days are
-- 2001's, which nothing else uses.
CREATE FUNCTION pg_temp.jrows(c jwcase) RETURNS TABLE (id bigint, t timestamptz)
    LANGUAGE sql STABLE
AS $$
    SELECT j.id, j.created_at FROM jobs j
     WHERE (c.p_user IS NULL OR j.user_id = c.p_user)
       AND (c.p_state IS NULL OR j.state::text = ANY(c.p_state))
       AND (c.p_started IS NULL OR j.created_at >= c.p_started)
       AND j.created_at <= c.p_ended
$$;
-- Mismatches between job_window and a plain count / OFFSET, one case and
-- order, offsets 0 .. total + 1, pages of 3.
CREATE FUNCTION pg_temp.jwcheck(c jwcase, p_desc boolean)
    RETURNS SETOF text LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_total bigint;
    w record;
    o bigint;
    want bigint[];
    got bigint[];
BEGIN
    SELECT count(*) INTO v_total FROM pg_temp.jrows(c);
    FOR o IN SELECT g FROM generate_series(-1, v_total + 1) g LOOP
        SELECT * INTO w FROM job_window(c.p_user, c.p_state, c.p_started,
            c.p_ended, p_desc, CASE WHEN o >= 0 THEN o END);
        IF w.total IS DISTINCT FROM v_total THEN
            RETURN NEXT format('offset %s: total %s, want %s', o, w.total, v_total);
        END IF;
        IF o < 0 OR o >= v_total THEN
            IF w.lo IS NOT NULL OR w.hi IS NOT NULL OR w.skip IS NOT NULL THEN
                RETURN NEXT format('offset %s: lo %s hi %s skip %s, want NULLs',
                                   o, w.lo, w.hi, w.skip);
            END IF;
            CONTINUE;
        END IF;
        IF p_desc THEN
            want := ARRAY(SELECT r.id FROM pg_temp.jrows(c) r
                           ORDER BY r.t DESC, r.id DESC OFFSET o LIMIT 3);
            got := ARRAY(SELECT r.id FROM pg_temp.jrows(c) r
                          WHERE r.t >= w.lo AND r.t <= w.hi
                          ORDER BY r.t DESC, r.id DESC OFFSET w.skip LIMIT 3);
        ELSE
            want := ARRAY(SELECT r.id FROM pg_temp.jrows(c) r
                           ORDER BY r.t, r.id OFFSET o LIMIT 3);
            got := ARRAY(SELECT r.id FROM pg_temp.jrows(c) r
                          WHERE r.t >= w.lo AND r.t <= w.hi
                          ORDER BY r.t, r.id OFFSET w.skip LIMIT 3);
        END IF;
        IF got IS DISTINCT FROM want OR w.skip < 0 OR w.skip > o THEN
            RETURN NEXT format('offset %s: lo %s hi %s skip %s gives %s, want %s',
                               o, w.lo, w.hi, w.skip, got, want);
        END IF;
    END LOOP;
END
$$;
-- Every case, both orders; owner NULL cases count every job, so the
-- admin's totals are only compared on the fixture's 2001 ranges.
CREATE FUNCTION pg_temp.jwbad() RETURNS TABLE (n integer, range text,
    p_desc boolean, msg text) LANGUAGE sql STABLE
AS $$
    SELECT c.n, c.range, d.p_desc, m.msg
      FROM jwcase c
     CROSS JOIN (VALUES (false), (true)) d (p_desc)
     CROSS JOIN LATERAL pg_temp.jwcheck(c, d.p_desc) m (msg)
     WHERE c.p_user IS NOT NULL OR c.range <> 'everything up to now'
$$;

SELECT is((SELECT count(*) FROM jwcase), 14 * 3 * 4::bigint,
          'job_window cases: 14 ranges x 3 owners x 4 state sets');
SELECT cmp_ok((SELECT count(*) FROM jwcase c WHERE EXISTS (SELECT 1 FROM pg_temp.jrows(c))),
              '>', 80::bigint, 'job_window cases: most have rows');

-- phase 1: every count still in job_count_deltas; every deep page takes
-- the hour step
CREATE OR REPLACE FUNCTION job_window_hour_rows() RETURNS bigint LANGUAGE sql IMMUTABLE
    AS $$ SELECT 0::bigint $$;
CREATE TEMP TABLE jwbad1 AS SELECT * FROM pg_temp.jwbad();
SELECT is_empty($$SELECT * FROM jwbad1 WHERE NOT p_desc AND msg ~ 'total'$$,
                'job_window from unfolded deltas: total = count(*), every case');
SELECT is_empty($$SELECT * FROM jwbad1 WHERE NOT p_desc AND msg !~ 'total'$$,
                'job_window from unfolded deltas: ascending pages = OFFSET, every offset');
SELECT is_empty($$SELECT * FROM jwbad1 WHERE p_desc$$,
                'job_window from unfolded deltas: descending pages = OFFSET, every offset');

-- ---- the fold -----------------------------------------------------------------
CREATE TEMP TABLE before_fold AS SELECT count(*) AS deltas FROM job_count_deltas;
CREATE TEMP TABLE fold1 AS SELECT * FROM job_counts_fold();
SELECT is((SELECT folded FROM fold1), (SELECT deltas FROM before_fold),
          'fold: says how many deltas it moved');
SELECT cmp_ok((SELECT pages FROM fold1), '>=', 1::bigint,
              'fold: says how many pages job_count_deltas has');
SELECT is((SELECT count(*) FROM job_count_deltas), 0::bigint,
          'fold: no delta is left');
SELECT is_empty('SELECT * FROM jc_diff', 'fold: the buckets alone hold the counts');
SELECT results_eq(
    $$SELECT n FROM job_buckets WHERE user_id = 0 AND state = ''
       AND day = '2001-02-04 00:00:00+00'$$,
    $$SELECT count(*) FROM jobs WHERE created_at >= '2001-02-04 00:00:00+00'
       AND created_at < '2001-02-05 00:00:00+00'$$,
    'fold: the roll-up of every owner and state, one day');
SELECT results_eq(
    $$SELECT n FROM job_hours WHERE user_id = pg_temp.uid('tj-alice') AND state = 'succeeded'
       AND hour = '2001-02-04 00:00:00+00'$$,
    $$SELECT count(*) FROM jobs WHERE user_id = pg_temp.uid('tj-alice') AND state = 'succeeded'
       AND created_at >= '2001-02-04 00:00:00+00' AND created_at < '2001-02-04 01:00:00+00'$$,
    'fold: one owner and state, one hour');
SELECT is((SELECT folded FROM job_counts_fold()), 0::bigint,
          'fold: a second fold finds nothing');
SELECT is_empty('SELECT * FROM jc_diff', 'fold: folding nothing changes nothing');

-- phase 2: every count in job_buckets
CREATE TEMP TABLE jwbad2 AS SELECT * FROM pg_temp.jwbad();
SELECT is_empty($$SELECT * FROM jwbad2 WHERE NOT p_desc AND msg ~ 'total'$$,
                'job_window from buckets: total = count(*), every case');
SELECT is_empty($$SELECT * FROM jwbad2 WHERE NOT p_desc AND msg !~ 'total'$$,
                'job_window from buckets: ascending pages = OFFSET, every offset');
SELECT is_empty($$SELECT * FROM jwbad2 WHERE p_desc$$,
                'job_window from buckets: descending pages = OFFSET, every offset');

-- ---- changes on top of folded buckets -------------------------------------------
-- a state change: one delta with both states
UPDATE jobs SET state = 'succeeded'
 WHERE name = 'w-edge' AND state = 'queued' AND created_at = '2001-02-04 00:00:00+00';
SELECT results_eq(
    $$SELECT old_state::text, new_state::text, n FROM job_count_deltas$$,
    $$VALUES ('queued', 'succeeded', 1::bigint)$$,
    'update: a state change is one delta, old and new state');
SELECT is_empty('SELECT * FROM jc_diff', 'update: a state change is counted');

-- a heartbeat, a result, a requeue's run_at: no state change, no delta
UPDATE jobs SET updated_at = updated_at + interval '1 second',
                params = '{"touched": true}', run_at = run_at + interval '1 minute'
 WHERE name LIKE 'w-%' AND user_id = pg_temp.uid('tj-bob');
SELECT is((SELECT count(*) FROM job_count_deltas), 1::bigint,
          'update: changing other columns writes no delta');

-- lease and finish, as the queue does them (running needs a lease token)
UPDATE jobs SET state = 'running', lease_token = gen_random_uuid()
 WHERE name = 'w-3';
UPDATE jobs SET state = 'failed', lease_token = NULL WHERE name = 'w-3';
SELECT is((SELECT count(*) FROM job_count_deltas), 3::bigint,
          'update: lease then finish is two more deltas');
SELECT is_empty('SELECT * FROM jc_diff', 'update: lease and finish are counted');

-- an owner changing, and a created_at moving to another day: the job
-- leaves one bucket and enters another
UPDATE jobs SET user_id = pg_temp.uid('tj-carol') WHERE name = 'w-4';
UPDATE jobs SET created_at = created_at + interval '2 days' WHERE name = 'w-5';
SELECT is_empty('SELECT * FROM jc_diff', 'update: a job moved to another owner or day is counted');
UPDATE jobs SET created_at = created_at + interval '1 second' WHERE name = 'w-6';
SELECT is_empty('SELECT * FROM jc_diff', 'update: created_at moving within its day is counted');

-- deletes, one statement of several jobs and states
CREATE TEMP TABLE before_delete AS
    SELECT (SELECT count(*) FROM job_count_deltas) AS deltas,
           (SELECT count(*) FROM (SELECT DISTINCT user_id, state,
                   date_trunc('hour', created_at, 'UTC') FROM jobs
                   WHERE name IN ('w-10', 'w-11', 'w-12', 'w-13', 'w-14')) d) AS groups;
DELETE FROM jobs WHERE name IN ('w-10', 'w-11', 'w-12', 'w-13', 'w-14');
SELECT is_empty('SELECT * FROM jc_diff', 'delete: counted');
SELECT is((SELECT count(*) FROM job_count_deltas) - deltas, groups,
          'delete: one delta per (owner, hour, state) of the statement')
  FROM before_delete;

-- half of the changes folded, the other half not
SELECT cmp_ok((SELECT folded FROM job_counts_fold()), '>', 0::bigint,
              'fold: the changes so far');
UPDATE jobs SET state = 'canceled' WHERE name IN ('w-24', 'w-25', 'w-26');
INSERT INTO jobs (user_id, name, state, created_at)
SELECT pg_temp.uid('tj-bob'), 'w-late-' || i, 'queued', '2001-02-05 12:00:00+00'
  FROM generate_series(1, 4) i;
DELETE FROM jobs WHERE name = 'w-30';
-- an hour of a folded day that had no job: its deltas have no job_hours
-- row to be added to, so the hour step of a page in that day must not
-- walk job_hours alone
INSERT INTO jobs (user_id, name, state, created_at)
VALUES (pg_temp.uid('tj-alice'), 'w-new-hour', 'succeeded', '2001-02-04 20:15:00+00'),
       (pg_temp.uid('tj-alice'), 'w-new-hour', 'succeeded', '2001-02-04 20:45:00+00');
SELECT is_empty('SELECT * FROM jc_diff', 'buckets + deltas after a partial fold: counted');

-- phase 3: folded buckets with unfolded changes on top
CREATE TEMP TABLE jwbad3 AS SELECT * FROM pg_temp.jwbad();
SELECT is_empty($$SELECT * FROM jwbad3 WHERE NOT p_desc AND msg ~ 'total'$$,
                'job_window from buckets + deltas: total = count(*), every case');
SELECT is_empty($$SELECT * FROM jwbad3 WHERE NOT p_desc AND msg !~ 'total'$$,
                'job_window from buckets + deltas: ascending pages = OFFSET, every offset');
SELECT is_empty($$SELECT * FROM jwbad3 WHERE p_desc$$,
                'job_window from buckets + deltas: descending pages = OFFSET, every offset');

-- the same at the default, where these small days never take the hour step
CREATE OR REPLACE FUNCTION job_window_hour_rows() RETURNS bigint LANGUAGE sql IMMUTABLE
    AS $$ SELECT 500::bigint $$;
SELECT is_empty($$SELECT * FROM pg_temp.jwbad()$$,
                'job_window without the hour step: totals and pages = count(*) and OFFSET');

-- ---- job_window, spelled out -----------------------------------------------------
SELECT results_eq(
    $$SELECT total FROM job_window(pg_temp.uid('tj-alice'), '{succeeded}',
          '2001-02-04 00:00:00+00', '2001-02-04 00:00:00+00', true, NULL)$$,
    $$VALUES (2::bigint)$$,
    'job_window: one instant holding two of alice''s succeeded jobs (one was queued)');
SELECT results_eq(
    $$SELECT total, lo, hi, skip FROM job_window(pg_temp.uid('tj-alice'), NULL,
          '2001-02-04 00:00:00+00', '2001-02-05 12:00:00+00', true, 0)$$,
    $$SELECT (SELECT count(*) FROM jobs WHERE user_id = pg_temp.uid('tj-alice')
               AND created_at BETWEEN '2001-02-04 00:00:00+00' AND '2001-02-05 12:00:00+00'),
             '2001-02-04 00:00:00+00'::timestamptz, '2001-02-05 12:00:00+00'::timestamptz,
             0::bigint$$,
    'job_window desc, offset 0: lo = started, hi = ended, skip 0');
SELECT is((job_window(pg_temp.uid('tj-alice'), '{succeeded,failed,succeeded}',
                      '2001-02-02 06:00:00+00', '2001-02-08 18:00:00+00', true, 2)),
          (job_window(pg_temp.uid('tj-alice'), '{failed,succeeded}',
                      '2001-02-02 06:00:00+00', '2001-02-08 18:00:00+00', true, 2)),
          'job_window: a state given twice counts once');
SELECT is((job_window(pg_temp.uid('tj-alice'), '{succeeded,succeeded}', NULL, now(), true, 0)).total,
          (job_window(pg_temp.uid('tj-alice'), '{succeeded}', NULL, now(), true, 0)).total,
          'job_window: a state given twice counts once (the default range)');
SELECT is((job_window(NULL, '{}', NULL, now(), false, 0)).total, 0::bigint,
          'job_window: an empty state set matches nothing');
SELECT is((job_window(pg_temp.uid('tj-alice'), NULL, '2001-02-06 00:00:00+00',
                      '2001-02-05 00:00:00+00', false, 0)).total, 0::bigint,
          'job_window: ended before started matches nothing');
SELECT is((job_window(pg_temp.uid('tj-alice'), '{bogus}', NULL, now(), false, NULL)).total,
          0::bigint, 'job_window: a state no job has matches nothing');

-- every owner's count, today included: the admin's list over everything
SELECT is((job_window(NULL, NULL, NULL, now(), true, NULL)).total,
          (SELECT count(*) FROM jobs WHERE created_at <= now()),
          'job_window: every owner, everything up to now = count(*) of jobs');

-- ---- a busy day: the hour step at its default -----------------------------------
-- 1,200 of alice's jobs on 2001-04-02, one every 72 s, in one statement.
INSERT INTO jobs (user_id, name, state, created_at)
SELECT pg_temp.uid('tj-alice'), 'w-busy-' || i,
       (ARRAY['queued', 'succeeded', 'failed'])[1 + i % 3]::job_state,
       '2001-04-02 00:00:00+00'::timestamptz + i * interval '72 seconds'
  FROM generate_series(0, 1199) i;
-- The page job_window points at (3 rows) against a plain OFFSET, for
-- offsets deep into the day, both orders, the whole day and a range with
-- mid-hour bounds, every state and two.
CREATE FUNCTION pg_temp.busybad() RETURNS SETOF text LANGUAGE plpgsql STABLE
AS $$
DECLARE
    c jwcase;
    d boolean;
    o bigint;
    w record;
    want bigint[];
    got bigint[];
BEGIN
    FOR c IN SELECT 0, 'busy', pg_temp.uid('tj-alice'), st, lo, hi
               FROM (VALUES ('2001-04-02 00:00:00+00'::timestamptz,
                             '2001-04-02 23:59:59.999999+00'::timestamptz),
                            ('2001-04-02 03:30:00+00', '2001-04-02 20:15:00+00')) r (lo, hi)
              CROSS JOIN (VALUES (NULL::text[]), ('{succeeded,failed}')) s (st) LOOP
        FOR d, o IN SELECT x, y FROM (VALUES (false), (true)) a (x)
                     CROSS JOIN (VALUES (499), (500), (600), (777), (1000)) b (y) LOOP
            SELECT * INTO w FROM job_window(c.p_user, c.p_state, c.p_started,
                                            c.p_ended, d, o);
            IF o >= w.total THEN
                CONTINUE;
            END IF;
            want := ARRAY(SELECT r.id FROM pg_temp.jrows(c) r
                           ORDER BY CASE WHEN d THEN now() - r.t ELSE r.t - now() END,
                                    CASE WHEN d THEN -r.id ELSE r.id END
                          OFFSET o LIMIT 3);
            got := ARRAY(SELECT r.id FROM pg_temp.jrows(c) r
                          WHERE r.t >= w.lo AND r.t <= w.hi
                          ORDER BY CASE WHEN d THEN now() - r.t ELSE r.t - now() END,
                                   CASE WHEN d THEN -r.id ELSE r.id END
                         OFFSET w.skip LIMIT 3);
            IF got IS DISTINCT FROM want THEN
                RETURN NEXT format('%s..%s %s desc %s offset %s: skip %s gives %s, want %s',
                                   c.p_started, c.p_ended, c.p_state, d, o, w.skip, got, want);
            END IF;
            -- an hour holds 50 of the day's jobs
            IF o >= 500 AND w.skip >= 50 THEN
                RETURN NEXT format('%s..%s %s desc %s offset %s: no hour step (skip %s)',
                                   c.p_started, c.p_ended, c.p_state, d, o, w.skip);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
SELECT is_empty($$SELECT * FROM pg_temp.busybad()$$,
                'busy day, unfolded: deep pages seek their hour (skip < 50) and = OFFSET');
SELECT cmp_ok((SELECT folded FROM job_counts_fold()), '>', 0::bigint, 'busy day: folded');
SELECT is_empty($$SELECT * FROM pg_temp.busybad()$$,
                'busy day, folded: deep pages seek their hour (skip < 50) and = OFFSET');
SELECT is((job_window(pg_temp.uid('tj-alice'), NULL, '2001-04-02 00:00:00+00',
                      '2001-04-02 23:59:59.999999+00', true, 499)).skip, 499::bigint,
          'busy day: a page skipping 499 rows of its day reads them (no hour step)');
SELECT is_empty('SELECT * FROM jc_diff', 'busy day: counted per day and per hour');

-- ---- the recount ---------------------------------------------------------------
UPDATE job_buckets SET n = n + 7 WHERE user_id = 0 AND state = '';
SELECT isnt_empty('SELECT * FROM jc_diff', 'rebuild: a damaged bucket is seen by the check');
SELECT cmp_ok(job_buckets_rebuild(), '>', 0::bigint, 'rebuild: says how many bucket rows it wrote');
SELECT is((SELECT count(*) FROM job_count_deltas), 0::bigint,
          'rebuild: no delta is left (the recount holds them)');
SELECT is_empty('SELECT * FROM jc_diff', 'rebuild: the counts are right again');

-- ---- bulk statements -------------------------------------------------------------
INSERT INTO jobs (user_id, name, state, created_at)
SELECT pg_temp.uid('tj-carol'), 'w-bulk-' || i,
       (ARRAY['queued', 'succeeded'])[1 + i % 2]::job_state,
       '2001-03-01 00:00:00+00'::timestamptz + (i % 5) * interval '1 day'
  FROM generate_series(1, 5000) i;
SELECT is((SELECT count(*) FROM job_count_deltas), 10::bigint,
          'bulk insert: 5,000 jobs over 5 days and 2 states are 10 deltas');
UPDATE jobs SET state = 'canceled' WHERE name LIKE 'w-bulk-%' AND state = 'queued';
SELECT is((SELECT count(*) FROM job_count_deltas), 2510::bigint,
          'bulk update: one delta per job whose state changed');
SELECT is_empty('SELECT * FROM jc_diff', 'bulk insert and update: counted');
SELECT is((job_window(pg_temp.uid('tj-carol'), '{canceled}', '2001-03-01 00:00:00+00',
                      '2001-03-05 23:59:59.999999+00', false, NULL)).total,
          2500::bigint, 'bulk: job_window counts them');
SELECT cmp_ok((SELECT pages FROM job_counts_fold()), '>', 1::bigint,
              'fold after a bulk update: the delta table grew (the dispatcher vacuums it)');
SELECT is_empty('SELECT * FROM jc_diff', 'bulk: folded');

-- ---- the checks of the fixture cannot pass by accident ------------------------------
UPDATE job_buckets SET n = n + 1
 WHERE user_id = pg_temp.uid('tj-alice') AND state = 'succeeded'
   AND day = '2001-02-04 00:00:00+00';
SELECT isnt_empty($$SELECT * FROM pg_temp.jwbad() WHERE NOT p_desc AND msg ~ 'total'$$,
                  'job_window check: a bucket off by one is caught');
UPDATE job_buckets SET n = n - 1
 WHERE user_id = pg_temp.uid('tj-alice') AND state = 'succeeded'
   AND day = '2001-02-04 00:00:00+00';

-- ---- TRUNCATE ------------------------------------------------------------------------
-- (last: it locks jobs until the ROLLBACK)
TRUNCATE jobs CASCADE;
SELECT is((SELECT count(*) FROM job_buckets) + (SELECT count(*) FROM job_hours)
          + (SELECT count(*) FROM job_count_deltas),
          0::bigint, 'truncate: the counts go with the jobs');
SELECT is_empty('SELECT * FROM jc_diff', 'truncate: nothing left to count');

SELECT * FROM finish();
ROLLBACK;
