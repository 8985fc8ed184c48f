-- pgTAP: what sql/001_schema.sql refuses and what it cascades -- the CHECK
-- constraints (each failure names the constraint that fired), uniqueness,
-- foreign keys, the running/lease_token invariant, column defaults, and the
-- ON DELETE CASCADE chain users -> jobs -> job_objects -> object_results.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;

BEGIN;
SELECT plan(70);

-- ---- fixtures: two users, two jobs with objects and results -------------
INSERT INTO users (name, email) VALUES
    ('tap-alice', 'alice@example.org'),
    ('tap-bob', NULL);
INSERT INTO jobs (uuid, user_id, name) VALUES
    ('11111111-1111-4111-8111-111111111111',
     (SELECT id FROM users WHERE name = 'tap-alice'), 'tap-job-a'),
    ('22222222-2222-4222-8222-222222222222',
     (SELECT id FROM users WHERE name = 'tap-bob'), 'tap-job-b');
INSERT INTO job_objects (job_id, object_uuid, original_name, size)
SELECT j.id, o.object_uuid, o.original_name, o.size
  FROM jobs j
  CROSS JOIN (VALUES
      ('aaaaaaaa-0000-4000-8000-000000000001.png', 'one.png', 10),
      ('aaaaaaaa-0000-4000-8000-000000000002.PDF', 'two.pdf', 20),
      ('aaaaaaaa-0000-4000-8000-000000000003', 'three', 0)
  ) AS o (object_uuid, original_name, size)
 WHERE j.name IN ('tap-job-a', 'tap-job-b');
INSERT INTO object_results (job_id, object_uuid, kind, size)
SELECT jo.job_id, jo.object_uuid, k.kind, 5
  FROM job_objects jo
  JOIN jobs j ON j.id = jo.job_id
  CROSS JOIN (VALUES ('full'), ('min')) AS k (kind)
 WHERE j.name IN ('tap-job-a', 'tap-job-b');

-- A shorthand for the alice job's id in the statements below.
CREATE TEMP VIEW tap_a AS
    SELECT id FROM jobs WHERE uuid = '11111111-1111-4111-8111-111111111111';

-- ---- defaults -------------------------------------------------------------
SELECT results_eq(
    $$SELECT state::text, priority::int, queue, surface, params::text,
             attempts, total_size, credits_spent, lease_token IS NULL
        FROM jobs WHERE name = 'tap-job-a'$$,
    $$VALUES ('ready', 1, 'default', 'jobs', '{}', 0, 0::bigint, 0, true)$$,
    'a new job is ready, priority 1, on the default queue, without a lease');
SELECT isnt((SELECT uuid FROM jobs j
              WHERE j.name = 'tap-job-a'), NULL, 'a job gets a uuid');
SELECT results_eq(
    $$SELECT content_type, media_length, failure IS NULL
        FROM job_objects WHERE object_uuid LIKE '%0001.png' LIMIT 1$$,
    $$VALUES ('application/octet-stream', 1, true)$$,
    'object defaults');
WITH r AS (
    INSERT INTO api_tokens (user_id, token_hash)
    VALUES ((SELECT id FROM users WHERE name = 'tap-alice'),
            sha256('tap-token-1'))
    RETURNING role)
SELECT is((SELECT role::text FROM r), 'user',
          'a token is a user token unless it says otherwise');

-- ---- users ----------------------------------------------------------------
SELECT throws_ok($$INSERT INTO users (name) VALUES ('bad name')$$,
    '23514', 'new row for relation "users" violates check constraint '
             '"users_name_check"', 'a user name with a space is refused');
SELECT throws_ok($$INSERT INTO users (name) VALUES ('')$$,
    '23514', NULL, 'an empty user name is refused');
SELECT throws_ok($$INSERT INTO users (name) VALUES ('-lead')$$,
    '23514', NULL, 'a user name must start with a letter or digit');
SELECT throws_ok($$INSERT INTO users (name) VALUES ('a/b')$$,
    '23514', NULL, 'a user name with a slash is refused');
SELECT throws_ok($$INSERT INTO users (name) VALUES ('a''b')$$,
    '23514', NULL, 'a user name with a quote is refused');
SELECT throws_ok($$INSERT INTO users (name) VALUES (repeat('a', 65))$$,
    '23514', NULL, 'a 65-character user name is refused');
SELECT lives_ok($$INSERT INTO users (name) VALUES (repeat('b', 64))$$,
    'a 64-character user name is fine');
SELECT lives_ok($$INSERT INTO users (name)
                  VALUES ('Tap.User_1@example-host')$$,
    'letters, digits and ._@- are fine in a user name');
SELECT throws_ok($$INSERT INTO users (name) VALUES ('tap-alice')$$,
    '23505', NULL, 'user names are unique');
SELECT throws_ok($$INSERT INTO users (name, email)
                   VALUES ('tap-long-mail', repeat('m', 255))$$,
    '23514', 'new row for relation "users" violates check constraint '
             '"users_email_check"', 'an email over 254 characters is refused');
SELECT throws_ok($$INSERT INTO users (name) VALUES (NULL)$$,
    '23502', NULL, 'a user needs a name');

-- ---- api_tokens -----------------------------------------------------------
SELECT throws_ok($$INSERT INTO api_tokens (user_id, token_hash)
                   VALUES ((SELECT id FROM users WHERE name = 'tap-bob'),
                           sha256('tap-token-1'))$$,
    '23505', 'duplicate key value violates unique constraint '
             '"api_tokens_token_hash_key"', 'token hashes are unique');
SELECT throws_ok($$INSERT INTO api_tokens (user_id, token_hash)
                   VALUES ((SELECT id FROM users WHERE name = 'tap-bob'),
                           '\x00112233'::bytea)$$,
    '23514', 'new row for relation "api_tokens" violates check constraint '
             '"api_tokens_token_hash_check"',
    'a token hash is 32 bytes (SHA-256)');
SELECT throws_ok($$INSERT INTO api_tokens (user_id, token_hash, role)
                   VALUES ((SELECT id FROM users WHERE name = 'tap-bob'),
                           sha256('tap-token-2'), 'root')$$,
    '22P02', NULL, 'a token role is user, admin or worker');
SELECT throws_ok($$INSERT INTO api_tokens (user_id, token_hash)
                   VALUES (-1, sha256('tap-token-3'))$$,
    '23503', NULL, 'a token belongs to an existing user');
SELECT lives_ok($$INSERT INTO api_tokens (user_id, token_hash, role)
                  VALUES ((SELECT id FROM users WHERE name = 'tap-bob'),
                          sha256('tap-token-4'), 'admin')$$,
    'an admin token');

-- ---- jobs -----------------------------------------------------------------
SELECT throws_ok($$UPDATE jobs SET priority = 4
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', 'new row for relation "jobs" violates check constraint '
             '"jobs_priority_check"', 'priority 4 is refused');
SELECT throws_ok($$UPDATE jobs SET priority = -1
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', NULL, 'priority -1 is refused');
SELECT lives_ok($$UPDATE jobs SET priority = 0
                   WHERE id = (SELECT id FROM tap_a)$$, 'priority 0 is fine');
SELECT lives_ok($$UPDATE jobs SET priority = 3
                   WHERE id = (SELECT id FROM tap_a)$$, 'priority 3 is fine');
SELECT throws_ok($$UPDATE jobs SET total_size = -1
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', 'new row for relation "jobs" violates check constraint '
             '"jobs_total_size_check"', 'a negative total_size is refused');
SELECT throws_ok($$UPDATE jobs SET credits_spent = -1
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', 'new row for relation "jobs" violates check constraint '
             '"jobs_credits_spent_check"', 'negative credits are refused');
SELECT throws_ok($$UPDATE jobs SET name = ''
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', 'new row for relation "jobs" violates check constraint '
             '"jobs_name_check"', 'an empty job name is refused');
SELECT throws_ok($$UPDATE jobs SET name = repeat('n', 256)
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', NULL, 'a 256-character job name is refused');
SELECT throws_ok($$UPDATE jobs SET queue = ''
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', 'new row for relation "jobs" violates check constraint '
             '"jobs_queue_check"', 'an empty queue name is refused');
SELECT throws_ok($$UPDATE jobs SET state = 'done'
                    WHERE id = (SELECT id FROM tap_a)$$,
    '22P02', NULL, 'a state outside job_state is refused');
SELECT throws_ok($$INSERT INTO jobs (user_id, name) VALUES (-1, 'x')$$,
    '23503', NULL, 'a job belongs to an existing user');
SELECT throws_ok($$INSERT INTO jobs (uuid, user_id, name)
                   VALUES ('11111111-1111-4111-8111-111111111111',
                           (SELECT id FROM users WHERE name = 'tap-bob'),
                           'dup')$$,
    '23505', NULL, 'job uuids are unique');
SELECT throws_ok($$INSERT INTO jobs (id, user_id, name)
                   VALUES (999999, (SELECT id FROM users
                                     WHERE name = 'tap-bob'), 'x')$$,
    '428C9', NULL, 'job ids are generated, never given');

-- the running <=> lease_token invariant
SELECT throws_ok($$UPDATE jobs SET state = 'running'
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', 'new row for relation "jobs" violates check constraint '
             '"jobs_check"', 'a running job must hold a lease');
SELECT throws_ok($$UPDATE jobs SET state = 'queued',
                                   lease_token = gen_random_uuid()
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', 'new row for relation "jobs" violates check constraint '
             '"jobs_check"', 'only a running job may hold a lease');
SELECT throws_ok($$INSERT INTO jobs (user_id, name, state)
                   VALUES ((SELECT id FROM users WHERE name = 'tap-bob'),
                           'tap-running', 'running')$$,
    '23514', NULL, 'a job cannot be inserted running without a lease');
SELECT lives_ok($$UPDATE jobs SET state = 'running',
                                  lease_token = gen_random_uuid(),
                                  lease_expires_at = now() + interval '1 min'
                   WHERE id = (SELECT id FROM tap_a)$$,
    'running with a lease is fine');
SELECT throws_ok($$UPDATE jobs SET state = 'succeeded'
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', NULL, 'finishing a job must drop its lease');
SELECT throws_ok($$UPDATE jobs SET lease_token = NULL
                    WHERE id = (SELECT id FROM tap_a)$$,
    '23514', NULL, 'a running job cannot drop its lease');
SELECT lives_ok($$UPDATE jobs SET state = 'succeeded', lease_token = NULL,
                                  lease_expires_at = NULL,
                                  finished_at = now()
                   WHERE id = (SELECT id FROM tap_a)$$,
    'finishing and dropping the lease together is fine');

-- ---- job_objects ----------------------------------------------------------
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000009/x', 'x', 1)$$,
    '23514', 'new row for relation "job_objects" violates check constraint '
             '"job_objects_object_uuid_check"',
    'an object_uuid with a slash is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a), '..', 'x', 1)$$,
    '23514', NULL, 'the object_uuid ".." is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000009..', 'x', 1)$$,
    '23514', NULL, 'an object_uuid ending in ".." is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a),
                           '../../../../../../etc/passwd', 'x', 1)$$,
    '23514', NULL, 'a path as object_uuid is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a), repeat('-', 36), 'x', 1)$$,
    '23514', NULL, 'an object_uuid that only looks like a uuid is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000009.tar.gz',
                           'x', 1)$$,
    '23514', NULL, 'an object_uuid with two extensions is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a),
                           'AAAAAAAA-0000-4000-8000-000000000009', 'x', 1)$$,
    '23514', NULL, 'an upper-case uuid is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000009.'
                           || repeat('x', 17), 'x', 1)$$,
    '23514', NULL, 'an extension over 16 characters is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000009', 'x', -1)$$,
    '23514', 'new row for relation "job_objects" violates check constraint '
             '"job_objects_size_check"', 'a negative object size is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size,
                                            media_length)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000009', 'x', 1, -1)$$,
    '23514', NULL, 'a negative media_length is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000009', '', 1)$$,
    '23514', NULL, 'an empty original name is refused');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000001.png', 'x', 1)$$,
    '23505', NULL, 'an object name is unique within its job');
SELECT throws_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                            original_name, size)
                   VALUES (-1, 'aaaaaaaa-0000-4000-8000-000000000009', 'x', 1)$$,
    '23503', NULL, 'an object belongs to an existing job');
SELECT lives_ok($$INSERT INTO job_objects (job_id, object_uuid,
                                           original_name, size)
                  VALUES ((SELECT id FROM tap_a),
                          'aaaaaaaa-0000-4000-8000-000000000009.'
                          || repeat('x', 16), 'x', 0)$$,
    'a 16-character extension and size 0 are fine');

-- ---- object_results -------------------------------------------------------
SELECT throws_ok($$INSERT INTO object_results (job_id, object_uuid, kind, size)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000003', 'max', 1)$$,
    '23514', 'new row for relation "object_results" violates check '
             'constraint "object_results_kind_check"',
    'a result kind is full or min');
SELECT throws_ok($$UPDATE object_results SET size = -1
                    WHERE job_id = (SELECT id FROM tap_a)$$,
    '23514', NULL, 'a negative result size is refused');
SELECT throws_ok($$INSERT INTO object_results (job_id, object_uuid, kind, size)
                   VALUES ((SELECT id FROM tap_a),
                           'bbbbbbbb-0000-4000-8000-000000000001', 'full', 1)$$,
    '23503', NULL, 'a result belongs to an existing object of the job');
SELECT throws_ok($$INSERT INTO object_results (job_id, object_uuid, kind, size)
                   VALUES ((SELECT id FROM tap_a),
                           'aaaaaaaa-0000-4000-8000-000000000003', 'full', 1)$$,
    '23505', NULL, 'one result of each kind per object');

-- ---- ON DELETE CASCADE ----------------------------------------------------
-- deleting one object removes its results only
DELETE FROM job_objects
 WHERE job_id = (SELECT id FROM tap_a)
   AND object_uuid = 'aaaaaaaa-0000-4000-8000-000000000003';
SELECT is((SELECT count(*)::int FROM object_results
            WHERE job_id = (SELECT id FROM tap_a)), 4,
          'deleting an object deletes its own results only');

-- deleting a job removes its objects and their results, and nothing else
CREATE TEMP TABLE tap_deleted AS SELECT id FROM tap_a;
SELECT is((SELECT count(*)::int FROM job_objects
            WHERE job_id = (SELECT id FROM tap_deleted)), 3,
          'the job has objects before the delete');
SELECT lives_ok($$DELETE FROM jobs WHERE id = (SELECT id FROM tap_deleted)$$,
    'a job with objects and results can be deleted');
SELECT is((SELECT count(*)::int FROM job_objects
            WHERE job_id = (SELECT id FROM tap_deleted)), 0,
          'deleting a job deletes its job_objects');
SELECT is((SELECT count(*)::int FROM object_results
            WHERE job_id = (SELECT id FROM tap_deleted)), 0,
          'deleting a job deletes its object_results');
SELECT results_eq(
    $$SELECT (SELECT count(*)::int FROM job_objects jo JOIN jobs j
                 ON j.id = jo.job_id WHERE j.name = 'tap-job-b'),
             (SELECT count(*)::int FROM object_results r JOIN jobs j
                 ON j.id = r.job_id WHERE j.name = 'tap-job-b')$$,
    $$VALUES (3, 6)$$,
    'another job keeps its objects and results');
SELECT ok(EXISTS (SELECT 1 FROM users WHERE name = 'tap-alice'),
          'deleting a job leaves its user');

-- deleting a user removes their tokens, jobs, objects and results
CREATE TEMP TABLE tap_bob_jobs AS
    SELECT j.id FROM jobs j JOIN users u ON u.id = j.user_id
     WHERE u.name = 'tap-bob';
DELETE FROM users WHERE name = 'tap-bob';
SELECT is((SELECT count(*)::int FROM jobs
            WHERE id IN (SELECT id FROM tap_bob_jobs)), 0,
          'deleting a user deletes their jobs');
SELECT is((SELECT count(*)::int FROM job_objects
            WHERE job_id IN (SELECT id FROM tap_bob_jobs)), 0,
          '... and the jobs'' objects');
SELECT is((SELECT count(*)::int FROM object_results
            WHERE job_id IN (SELECT id FROM tap_bob_jobs)), 0,
          '... and the objects'' results');
SELECT is((SELECT count(*)::int FROM api_tokens
            WHERE token_hash = sha256('tap-token-4')), 0,
          '... and their tokens');
SELECT is((SELECT count(*)::int FROM api_tokens
            WHERE token_hash = sha256('tap-token-1')), 1,
          'other users keep their tokens');

SELECT * FROM finish();
ROLLBACK;
