-- pgTAP: sql/002_reporting.sql -- status_001(job_state) and the operators'
-- view job_report.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;

BEGIN;
SELECT plan(42);

-- ---- status_001 -------------------------------------------------------------
SELECT has_function('status_001', ARRAY['job_state']);
SELECT function_returns('status_001', ARRAY['job_state'], 'text');
SELECT volatility_is('status_001', ARRAY['job_state'], 'immutable');
SELECT is_strict('status_001', ARRAY['job_state']);
SELECT is(status_001('ready'), 'ready', 'ready is "ready"');
SELECT is(status_001('queued'), 'queued', 'queued is "queued"');
SELECT is(status_001('running'), 'processing', 'running is "processing"');
SELECT is(status_001('succeeded'), 'success', 'succeeded is "success"');
SELECT is(status_001('failed'), 'failed', 'failed is "failed"');
SELECT is(status_001('canceled'), 'canceled', 'canceled is "canceled"');
SELECT is(status_001(NULL), NULL, 'no state, no word');
SELECT is_empty(
    $$SELECT s FROM unnest(enum_range(NULL::job_state)) AS s
       WHERE status_001(s) IS NULL$$,
    'every job_state label has a word');
SELECT set_eq(
    $$SELECT status_001(s) FROM unnest(enum_range(NULL::job_state)) AS s$$,
    ARRAY['ready', 'queued', 'processing', 'success', 'failed', 'canceled'],
    'the words are exactly those of the jobs API');

-- ---- job_report: shape ------------------------------------------------------
SELECT has_view('job_report');
SELECT has_column('job_report', 'id');
SELECT col_type_is('job_report', 'id', 'bigint');
SELECT has_column('job_report', 'uuid');
SELECT col_type_is('job_report', 'uuid', 'uuid');
SELECT has_column('job_report', 'user_name');
SELECT col_type_is('job_report', 'user_name', 'text');
SELECT has_column('job_report', 'job_name');
SELECT col_type_is('job_report', 'job_name', 'text');
SELECT has_column('job_report', 'state');
SELECT col_type_is('job_report', 'state', 'job_state');
SELECT has_column('job_report', 'status_001');
SELECT col_type_is('job_report', 'status_001', 'text');
SELECT col_type_is('job_report', 'total_size', 'bigint');
SELECT col_type_is('job_report', 'credits_spent', 'integer');
SELECT has_column('job_report', 'object_count');
SELECT col_type_is('job_report', 'object_count', 'bigint');
SELECT has_column('job_report', 'failed_object_count');
SELECT col_type_is('job_report', 'failed_object_count', 'bigint');
SELECT col_type_is('job_report', 'created_at', 'timestamp with time zone');
SELECT col_type_is('job_report', 'finished_at', 'timestamp with time zone');

-- ---- job_report: contents ---------------------------------------------------
INSERT INTO users (name) VALUES ('rep-alice'), ('rep-bob');
INSERT INTO jobs (uuid, user_id, name, state, total_size, credits_spent,
                  lease_token, finished_at, created_at)
VALUES
    ('33333333-3333-4333-8333-333333333331',
     (SELECT id FROM users WHERE name = 'rep-alice'), 'rep-done',
     'succeeded', 60, 7, NULL, '2024-05-01 12:00:00+00',
     '2024-05-01 11:00:00+00'),
    ('33333333-3333-4333-8333-333333333332',
     (SELECT id FROM users WHERE name = 'rep-bob'), 'rep-empty',
     'ready', 0, 0, NULL, NULL, '2024-05-02 00:00:00+00'),
    ('33333333-3333-4333-8333-333333333333',
     (SELECT id FROM users WHERE name = 'rep-alice'), 'rep-busy',
     'running', 5, 1, gen_random_uuid(), NULL, '2024-05-03 00:00:00+00'),
    ('33333333-3333-4333-8333-333333333334',
     (SELECT id FROM users WHERE name = 'rep-bob'), 'rep-bad',
     'failed', 9, 0, NULL, '2024-05-04 00:00:01+00',
     '2024-05-04 00:00:00+00');
INSERT INTO job_objects (job_id, object_uuid, original_name, size, failure)
SELECT j.id, o.object_uuid, 'f', 20, o.failure
  FROM jobs j
  JOIN (VALUES
      ('rep-done', 'cccccccc-0000-4000-8000-000000000001.png', NULL),
      ('rep-done', 'cccccccc-0000-4000-8000-000000000002.png', NULL),
      ('rep-done', 'cccccccc-0000-4000-8000-000000000003.png', 'unreadable'),
      ('rep-busy', 'cccccccc-0000-4000-8000-000000000004', NULL),
      ('rep-bad',  'cccccccc-0000-4000-8000-000000000005', 'broken'),
      ('rep-bad',  'cccccccc-0000-4000-8000-000000000006', 'broken too')
  ) AS o (job_name, object_uuid, failure) ON o.job_name = j.name;
-- results must not multiply a job's row or its object count
INSERT INTO object_results (job_id, object_uuid, kind, size)
SELECT jo.job_id, jo.object_uuid, k.kind, 1
  FROM job_objects jo
  JOIN jobs j ON j.id = jo.job_id
  CROSS JOIN (VALUES ('full'), ('min')) AS k (kind)
 WHERE j.name = 'rep-done' AND jo.failure IS NULL;

SELECT results_eq(
    $$SELECT uuid::text, user_name, job_name, state::text, status_001,
             total_size, credits_spent, object_count, failed_object_count,
             created_at, finished_at
        FROM job_report WHERE job_name LIKE 'rep-%' ORDER BY id$$,
    $$VALUES
        ('33333333-3333-4333-8333-333333333331', 'rep-alice', 'rep-done',
         'succeeded', 'success', 60::bigint, 7, 3::bigint, 1::bigint,
         '2024-05-01 11:00:00+00'::timestamptz,
         '2024-05-01 12:00:00+00'::timestamptz),
        ('33333333-3333-4333-8333-333333333332', 'rep-bob', 'rep-empty',
         'ready', 'ready', 0::bigint, 0, 0::bigint, 0::bigint,
         '2024-05-02 00:00:00+00'::timestamptz, NULL::timestamptz),
        ('33333333-3333-4333-8333-333333333333', 'rep-alice', 'rep-busy',
         'running', 'processing', 5::bigint, 1, 1::bigint, 0::bigint,
         '2024-05-03 00:00:00+00'::timestamptz, NULL::timestamptz),
        ('33333333-3333-4333-8333-333333333334', 'rep-bob', 'rep-bad',
         'failed', 'failed', 9::bigint, 0, 2::bigint, 2::bigint,
         '2024-05-04 00:00:00+00'::timestamptz,
         '2024-05-04 00:00:01+00'::timestamptz)$$,
    'job_report: owner, status word, sizes and object counts per job');
SELECT is((SELECT count(*) FROM job_report), (SELECT count(*) FROM jobs),
          'job_report has one row per job');
SELECT is((SELECT id FROM job_report WHERE job_name = 'rep-done'),
          (SELECT id FROM jobs WHERE name = 'rep-done'),
          'job_report.id is the job id');
SELECT results_eq(
    $$SELECT object_count, failed_object_count FROM job_report
       WHERE uuid = '33333333-3333-4333-8333-333333333332'$$,
    $$VALUES (0::bigint, 0::bigint)$$,
    'a job without objects is reported with zero counts');

-- the view follows the tables
UPDATE jobs SET state = 'canceled' WHERE name = 'rep-empty';
SELECT is((SELECT status_001 FROM job_report WHERE job_name = 'rep-empty'),
          'canceled', 'a canceled job reads "canceled"');
UPDATE job_objects SET failure = 'late'
 WHERE object_uuid = 'cccccccc-0000-4000-8000-000000000004';
SELECT is((SELECT failed_object_count FROM job_report
            WHERE job_name = 'rep-busy'), 1::bigint,
          'a failed object is counted as it fails');
DELETE FROM jobs WHERE name = 'rep-bad';
SELECT is_empty($$SELECT 1 FROM job_report WHERE job_name = 'rep-bad'$$,
                'a deleted job leaves the report');

-- ---- the migration record -------------------------------------------------
SELECT ok(EXISTS (SELECT 1 FROM schema_migrations
                   WHERE version = '002_reporting.sql'),
          'schema_migrations records 002_reporting.sql');

SELECT * FROM finish();
ROLLBACK;
