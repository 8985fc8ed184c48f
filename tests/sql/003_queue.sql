-- pgTAP: sql/003_queue.sql -- the job queue of seed 002: enqueue, lease,
-- heartbeat/finish, cancel, the dispatcher's sweeps, the JSON rendering and
-- the callback outbox.
--
-- now() is constant inside the one transaction this file runs in, so times
-- "in the past" are made by UPDATEing run_at, lease_expires_at, deadline_at
-- or purge_at below now().  NOTIFY is delivered only at commit and this
-- transaction is rolled back: the notifications are not checked here.
--
-- The SKIP LOCKED check needs a second session that sees committed rows: it
-- uses dblink, commits two jobs of a user named tq-skip-<pid>, and deletes
-- them again (after a ROLLBACK TO SAVEPOINT released this session's lock).
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
-- leftovers of an earlier run of this file that died half-way
DELETE FROM users WHERE name LIKE 'tq-skip-%';

BEGIN;
SELECT plan(160);

-- ---- fixtures and shorthands ------------------------------------------------
INSERT INTO users (name) VALUES ('tq-alice'), ('tq-bob');

-- label -> job uuid, so the assertions below can name their jobs
CREATE TEMP TABLE tq (label text PRIMARY KEY, uuid uuid NOT NULL UNIQUE);

CREATE FUNCTION pg_temp.uid(p_name text) RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT id FROM users WHERE name = p_name $$;
CREATE FUNCTION pg_temp.u(p_label text) RETURNS uuid LANGUAGE sql STABLE
AS $$ SELECT uuid FROM tq WHERE label = p_label $$;
CREATE FUNCTION pg_temp.j(p_label text) RETURNS jobs LANGUAGE sql STABLE
AS $$ SELECT * FROM jobs WHERE uuid = (SELECT uuid FROM tq WHERE label = p_label) $$;

-- enqueue a job for a user, remember it under a label
CREATE PROCEDURE pg_temp.enq(p_label text, p_user text, p_queue text,
    p_prio integer DEFAULT 1, p_delay integer DEFAULT 0,
    p_ttl integer DEFAULT NULL, p_timeout integer DEFAULT NULL,
    p_cb text DEFAULT NULL, p_params jsonb DEFAULT '{}')
    LANGUAGE plpgsql
AS $$
DECLARE
    j jobs;
BEGIN
    j := queue_enqueue((SELECT id FROM users WHERE name = p_user), p_queue,
                       p_params, p_prio, p_delay, p_ttl, p_timeout, p_cb);
    INSERT INTO tq VALUES (p_label, j.uuid);
END
$$;

-- lease the next job for a scope; the uuid leased (NULL: none)
CREATE FUNCTION pg_temp.lease(p_queues text[], p_user text,
    p_secs integer DEFAULT 30)
    RETURNS uuid LANGUAGE sql
AS $$
    SELECT uuid FROM queue_lease(p_queues,
        (SELECT id FROM users WHERE name = p_user), p_secs, 'tap-worker')
$$;

-- the label of a uuid (for readable results)
CREATE FUNCTION pg_temp.l(p_uuid uuid) RETURNS text LANGUAGE sql STABLE
AS $$ SELECT label FROM tq WHERE uuid = p_uuid $$;

-- queue_update as a user / in a worker's scope, the outcome only
CREATE FUNCTION pg_temp.upd(p_label text, p_user text, p_queues text[],
    p_token uuid, p_status text, p_result jsonb DEFAULT NULL)
    RETURNS text LANGUAGE sql
AS $$
    SELECT outcome FROM queue_update(pg_temp.u(p_label),
        (SELECT id FROM users WHERE name = p_user), p_queues, p_token,
        p_status, p_result)
$$;

-- ---- the functions exist ---------------------------------------------------
SELECT has_function('queue_enqueue',
    ARRAY['bigint', 'text', 'jsonb', 'integer', 'integer', 'integer',
          'integer', 'text']);
SELECT has_function('queue_lease', ARRAY['text[]', 'bigint', 'integer', 'text']);
SELECT has_function('queue_update',
    ARRAY['uuid', 'bigint', 'text[]', 'uuid', 'text', 'jsonb']);
SELECT has_function('queue_cancel', ARRAY['uuid', 'bigint']);
SELECT has_function('queue_sweep_leases', ARRAY['integer']);
SELECT has_function('queue_sweep_timeouts', ARRAY[]::text[]);
SELECT has_function('queue_sweep_expired', ARRAY['integer']);
SELECT has_function('queue_notify_due', ARRAY['timestamp with time zone']);
SELECT has_function('queue_job_json', ARRAY['jobs', 'boolean']);
SELECT has_function('callback_due', ARRAY['integer']);
SELECT has_function('callback_record',
    ARRAY['bigint', 'integer', 'text', 'integer', 'boolean', 'integer',
          'integer', 'integer']);
SELECT has_table('callbacks');
SELECT has_table('callback_attempts');

-- ---- status_002 --------------------------------------------------------------
SELECT volatility_is('status_002', ARRAY['job_state'], 'immutable');
-- Not STRICT, so that PostgreSQL inlines it into queue_job_json (a STRICT
-- SQL function with a CASE body is not inlined, and is parsed per call).
SELECT isnt_strict('status_002', ARRAY['job_state']);
SELECT results_eq(
    $$SELECT s::text, status_002(s)
        FROM unnest(enum_range(NULL::job_state)) WITH ORDINALITY AS t (s, i)
       ORDER BY i$$,
    $$VALUES ('ready', 'queued'), ('queued', 'queued'),
             ('running', 'running'), ('succeeded', 'done'),
             ('failed', 'failed'), ('canceled', 'canceled')$$,
    'status_002: the queue surface''s word for every state');
SELECT is(status_002(NULL), NULL, 'status_002: no state, no word');

-- ---- queue_enqueue -----------------------------------------------------------
CALL pg_temp.enq('plain', 'tq-alice', 'tq-enq', 2, 0, NULL, NULL, NULL,
                   '{"n": 1, "s": "x"}');
SELECT results_eq(
    $$SELECT name, surface, queue, state::text, priority::int, params::text,
             attempts, max_attempts, run_at = now(), result_ttl, job_timeout,
             callback_url, lease_token, lease_expires_at, result, error,
             started_at, finished_at, purge_at, user_id = pg_temp.uid('tq-alice')
        FROM jobs WHERE uuid = pg_temp.u('plain')$$,
    $$VALUES ('tq-enq', 'queue', 'tq-enq', 'queued', 2, '{"n": 1, "s": "x"}',
              0, NULL::int, true, NULL::interval, NULL::interval, NULL::text,
              NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text,
              NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, true)$$,
    'enqueue: a queued job of the queue surface, named after its queue, ready now, no TTL/timeout/callback/lease');

SELECT is((queue_enqueue(pg_temp.uid('tq-alice'), 'tq-enq', NULL, 1, NULL,
                         NULL, NULL, NULL)).params::text, '{}',
          'enqueue: NULL params become {}');
SELECT is((queue_enqueue(pg_temp.uid('tq-alice'), 'tq-enq', NULL, 1, NULL,
                         NULL, NULL, NULL)).run_at, now(),
          'enqueue: a NULL delay means ready now');

CALL pg_temp.enq('delayed', 'tq-alice', 'tq-enq', 1, 90);
SELECT is((pg_temp.j('delayed')).run_at, now() + interval '90 seconds',
          'enqueue: a delay of 90 s puts run_at 90 s in the future');
SELECT is((pg_temp.j('delayed')).state::text, 'queued',
          'enqueue: a delayed job is queued too');

CALL pg_temp.enq('ttl', 'tq-alice', 'tq-enq', 3, 0, 600, 45,
                   'https://cb.example.org/hook?a=1');
SELECT results_eq(
    $$SELECT result_ttl, job_timeout, callback_url, priority::int
        FROM jobs WHERE uuid = pg_temp.u('ttl')$$,
    $$VALUES (interval '600 seconds', interval '45 seconds',
              'https://cb.example.org/hook?a=1', 3)$$,
    'enqueue: TTL and job timeout become intervals; the callback URL and priority are kept');
SELECT isnt(pg_temp.u('plain'), pg_temp.u('ttl'), 'enqueue: every job gets its own uuid');

SELECT throws_ok(
    $$SELECT queue_enqueue(pg_temp.uid('tq-alice'), 'bad queue', '{}', 1, 0,
                           NULL, NULL, NULL)$$,
    '23514', 'new row for relation "jobs" violates check constraint "jobs_queue_name"',
    'enqueue: a queue name with a space is refused by jobs_queue_name');
SELECT throws_ok(
    $$SELECT queue_enqueue(pg_temp.uid('tq-alice'), '.hidden', '{}', 1, 0,
                           NULL, NULL, NULL)$$,
    '23514', 'new row for relation "jobs" violates check constraint "jobs_queue_name"',
    'enqueue: a queue name must start with a letter or digit');
SELECT throws_ok(
    $$SELECT queue_enqueue(pg_temp.uid('tq-alice'), E'q\tx', '{}', 1, 0,
                           NULL, NULL, NULL)$$,
    '23514', NULL,
    'enqueue: a tab (the NOTIFY separator) is refused in a queue name');
SELECT throws_ok(
    $$SELECT queue_enqueue(pg_temp.uid('tq-alice'), repeat('q', 129), '{}', 1,
                           0, NULL, NULL, NULL)$$,
    '23514', NULL, 'enqueue: a 129-character queue name is refused');
SELECT lives_ok(
    $$SELECT queue_enqueue(pg_temp.uid('tq-alice'), 'Q' || repeat('a.b_c:d-', 15) || 'xxxxxxx',
                           '{}', 1, 0, NULL, NULL, NULL)$$,
    'enqueue: a 128-character queue name of [A-Za-z0-9._:-] is fine');
SELECT throws_ok(
    $$SELECT queue_enqueue(pg_temp.uid('tq-alice'), 'tq-enq', '{}', 4, 0,
                           NULL, NULL, NULL)$$,
    '23514', NULL, 'enqueue: priority 4 is refused');

-- ---- queue_lease: order ----------------------------------------------------
-- tq-order: A prio 2 ready 10 s ago, B prio 1 ready 5 s ago, C and D prio 1
-- ready 20 s ago (C enqueued first), E prio 0 but delayed.
CALL pg_temp.enq('A', 'tq-alice', 'tq-order', 2);
CALL pg_temp.enq('B', 'tq-alice', 'tq-order', 1);
CALL pg_temp.enq('C', 'tq-alice', 'tq-order', 1);
CALL pg_temp.enq('D', 'tq-alice', 'tq-order', 1);
CALL pg_temp.enq('E', 'tq-alice', 'tq-order', 0, 60);
UPDATE jobs SET run_at = now() - interval '10 s' WHERE uuid = pg_temp.u('A');
UPDATE jobs SET run_at = now() - interval '5 s' WHERE uuid = pg_temp.u('B');
UPDATE jobs SET run_at = now() - interval '20 s'
 WHERE uuid IN (pg_temp.u('C'), pg_temp.u('D'));

SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-order'], 'tq-alice')), 'C',
          'lease: the highest priority, longest ready, lowest id first');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-order'], 'tq-alice')), 'D',
          'lease: a second lease in the same transaction takes the next job (same run_at: by id)');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-order'], 'tq-alice')), 'B',
          'lease: then the later job of the same priority');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-order'], 'tq-alice')), 'A',
          'lease: priority 2 after every priority-1 job, though ready earlier');
SELECT is(pg_temp.lease(ARRAY['tq-order'], 'tq-alice'), NULL,
          'lease: a delayed job is not leased before its run_at (priority 0 or not)');
SELECT is_empty(
    $$SELECT * FROM queue_lease(ARRAY['tq-order'], pg_temp.uid('tq-alice'), 30, 'w')$$,
    'lease: returns no row when nothing is ready');
UPDATE jobs SET run_at = now() - interval '1 s' WHERE uuid = pg_temp.u('E');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-order'], 'tq-alice')), 'E',
          'lease: the delayed job is leased once run_at has come');
SELECT is((SELECT count(*) FROM jobs WHERE queue = 'tq-order' AND state = 'running'),
          5::bigint, 'lease: each of the five jobs was leased exactly once');

-- ---- queue_lease: what it sets ---------------------------------------------
CALL pg_temp.enq('F', 'tq-alice', 'tq-fields', 1, 0, NULL, 120);
CALL pg_temp.enq('G', 'tq-alice', 'tq-fields', 2);
CREATE TEMP TABLE leased AS
    SELECT * FROM queue_lease(ARRAY['tq-fields'], pg_temp.uid('tq-alice'), 17,
                              'worker-7');
SELECT results_eq(
    $$SELECT l.uuid = pg_temp.u('F'), l.state::text, l.lease_token IS NOT NULL,
             l.lease_expires_at, l.lease_timeout, l.leased_by, l.started_at,
             l.deadline_at, l.updated_at
        FROM leased l$$,
    $$VALUES (true, 'running', true, now() + interval '17 s',
              interval '17 s', 'worker-7', now(), now() + interval '120 s',
              now())$$,
    'lease: running, a token, expires in lease seconds, lease_timeout, leased_by, started_at, deadline = start + job timeout');
SELECT results_eq(
    $$SELECT j.lease_token, j.lease_expires_at, j.state::text
        FROM jobs j WHERE j.uuid = pg_temp.u('F')$$,
    $$SELECT lease_token, lease_expires_at, state::text FROM leased$$,
    'lease: the returned row is the stored row');
SELECT is((SELECT deadline_at FROM queue_lease(ARRAY['tq-fields'],
                                     pg_temp.uid('tq-alice'), 30, 'w')),
          NULL, 'lease: no job timeout, no deadline');
SELECT isnt((pg_temp.j('F')).lease_token, (pg_temp.j('G')).lease_token,
            'lease: every lease has its own token');

-- ---- queue_lease: queue and user filters -------------------------------------
CALL pg_temp.enq('q1', 'tq-alice', 'tq-q1', 1);
CALL pg_temp.enq('q2', 'tq-alice', 'tq-q2', 1);
CALL pg_temp.enq('q3', 'tq-alice', 'tq-q3', 0);
CALL pg_temp.enq('q1b', 'tq-bob', 'tq-q1', 0);
UPDATE jobs SET run_at = now() - interval '1 min'
 WHERE uuid IN (pg_temp.u('q1'), pg_temp.u('q2'), pg_temp.u('q3'), pg_temp.u('q1b'));

SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-q2'], 'tq-alice')), 'q2',
          'lease: one queue named: only that queue (though q3 has priority 0)');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-q1', 'tq-nothing'], 'tq-alice')), 'q1',
          'lease: several queues: a job of one of them, and only alice''s (bob''s priority-0 job is skipped)');
SELECT is(pg_temp.lease(ARRAY['tq-q1', 'tq-q2'], 'tq-alice'), NULL,
          'lease: several queues with nothing left of the user''s: nothing');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-q1', 'tq-q2'], NULL)), 'q1b',
          'lease: no user filter (a worker token): any owner''s job');
CALL pg_temp.enq('any', 'tq-bob', 'tq-q4', 0);
CALL pg_temp.enq('any2', 'tq-bob', 'tq-q5', 0);
UPDATE jobs SET run_at = '2000-01-01 00:00:00+00' WHERE uuid = pg_temp.u('any');
UPDATE jobs SET run_at = '2000-01-01 00:00:01+00' WHERE uuid = pg_temp.u('any2');
SELECT is(pg_temp.l(pg_temp.lease(NULL, 'tq-alice')), 'q3',
          'lease: NULL queues: any queue of the user');
SELECT is(pg_temp.l(pg_temp.lease(NULL, NULL)), 'any',
          'lease: NULL queues and NULL user: the first ready job of all');
SELECT is(pg_temp.l(pg_temp.lease(NULL, 'tq-bob')), 'any2',
          'lease: NULL queues, bob: bob''s next job');

-- ---- queue_lease: SKIP LOCKED, seen from a second session ------------------
CREATE EXTENSION IF NOT EXISTS dblink;
DO $$
BEGIN
    PERFORM dblink_connect('tqskip',
        format('host=%s port=%s dbname=%s user=%s',
               split_part(current_setting('unix_socket_directories'), ',', 1),
               current_setting('port'), current_database(), current_user));
    -- committed by the other session: a user and two jobs on its own queue
    PERFORM dblink_exec('tqskip', format(
        $f$INSERT INTO users (name) VALUES ('tq-skip-%1$s');
           SELECT queue_enqueue((SELECT id FROM users WHERE name = 'tq-skip-%1$s'),
                                'tq-skip-%1$s', '{"n": 1}', 1, 0, NULL, NULL, NULL);
           SELECT queue_enqueue((SELECT id FROM users WHERE name = 'tq-skip-%1$s'),
                                'tq-skip-%1$s', '{"n": 2}', 1, 0, NULL, NULL, NULL);
           -- ready before this transaction's now(), or this session could
           -- not lease them
           UPDATE jobs SET run_at = '2000-01-01 00:00:00+00'
            WHERE queue = 'tq-skip-%1$s';
           SET lock_timeout = '3s'$f$, pg_backend_pid()));
END
$$;
-- This session leases (and so locks) the first one inside a savepoint; the
-- other session's leases must pass it instead of waiting for it (its
-- lock_timeout turns a wait into an error).  The results are kept in psql
-- variables: ROLLBACK TO SAVEPOINT (which releases the lock) would also undo
-- assertions made inside it.
SAVEPOINT skip;
SELECT (SELECT params->>'n' FROM queue_lease(
            ARRAY['tq-skip-' || pg_backend_pid()], NULL, 30, 'here')) AS skip_here
\gset
SELECT (SELECT string_agg(n, ',') FROM dblink('tqskip', format(
            $f$SELECT params->>'n' FROM queue_lease(ARRAY['tq-skip-%s'], NULL, 30, 'there')$f$,
            pg_backend_pid())) AS t (n text)) AS skip_there1
\gset
SELECT (SELECT count(*) FROM dblink('tqskip', format(
            $f$SELECT params->>'n' FROM queue_lease(ARRAY['tq-skip-%s'], NULL, 30, 'there')$f$,
            pg_backend_pid())) AS t (n text)) AS skip_there2
\gset
ROLLBACK TO SAVEPOINT skip;
DO $$
BEGIN
    PERFORM dblink_exec('tqskip', format(
        $f$DELETE FROM users WHERE name = 'tq-skip-%s'$f$, pg_backend_pid()));
    PERFORM dblink_disconnect('tqskip');
END
$$;
SELECT is(:'skip_here'::text, '1', 'SKIP LOCKED: this session leases the first job');
SELECT is(:'skip_there1'::text, '2',
          'SKIP LOCKED: another session meanwhile gets the second job at once (no wait on the locked one)');
SELECT is(:'skip_there2'::text, '0',
          'SKIP LOCKED: its next lease returns nothing rather than the locked job');

-- ---- queue_update ------------------------------------------------------------
CALL pg_temp.enq('hb', 'tq-alice', 'tq-upd', 1, 0, 3600);
CALL pg_temp.enq('done', 'tq-alice', 'tq-upd', 1, 0, 3600, NULL,
                   'https://cb.example.org/done');
CALL pg_temp.enq('fail', 'tq-alice', 'tq-upd', 1, 0, NULL);
CALL pg_temp.enq('queued', 'tq-alice', 'tq-upd2', 1);
CALL pg_temp.enq('notoken', 'tq-alice', 'tq-upd', 1);
UPDATE jobs SET run_at = now() - interval '1 min' WHERE queue = 'tq-upd';
UPDATE jobs SET run_at = now() - interval '3 min' WHERE uuid = pg_temp.u('hb');
UPDATE jobs SET run_at = now() - interval '2 min' WHERE uuid = pg_temp.u('done');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-upd'], 'tq-alice', 20)), 'hb', 'update fixture: hb leased');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-upd'], 'tq-alice', 20)), 'done', 'update fixture: done leased');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-upd'], 'tq-alice', 20)), 'fail', 'update fixture: fail leased');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-upd'], 'tq-alice', 20)), 'notoken', 'update fixture: notoken leased');
SELECT is((SELECT count(*) FROM jobs WHERE queue = 'tq-upd' AND state = 'running'),
          4::bigint, 'update fixture: four running jobs');

-- heartbeat
UPDATE jobs SET lease_expires_at = now() + interval '2 s' WHERE uuid = pg_temp.u('hb');
CREATE TEMP TABLE hb_before AS SELECT * FROM jobs WHERE uuid = pg_temp.u('hb');
SELECT results_eq(
    $$SELECT outcome, (job).state::text, (job).lease_expires_at,
             (job).lease_token = (SELECT lease_token FROM hb_before)
        FROM queue_update(pg_temp.u('hb'), pg_temp.uid('tq-alice'), NULL,
                          (SELECT lease_token FROM hb_before), 'running', NULL)$$,
    $$VALUES ('ok', 'running', now() + interval '20 s', true)$$,
    'update running (heartbeat): ok, still running, lease extended to now + lease_timeout, same token');
SELECT is((pg_temp.j('hb')).lease_expires_at, now() + interval '20 s',
          'heartbeat: the stored lease is extended');
SELECT is((pg_temp.j('hb')).result, NULL, 'heartbeat: no result is set');
SELECT is((SELECT count(*) FROM callbacks WHERE job_uuid = pg_temp.u('hb')),
          0::bigint, 'heartbeat: nothing in the outbox');

-- stale token, then the right one
SELECT is(pg_temp.upd('hb', 'tq-alice', NULL, gen_random_uuid(), 'done', '{"x": 1}'),
          'stale', 'update with a wrong token: stale');
SELECT is((pg_temp.j('hb')).state::text, 'running', 'stale: the job is untouched');
SELECT is(pg_temp.upd('hb', 'tq-alice', NULL, gen_random_uuid(), 'running'),
          'stale', 'heartbeat with a wrong token: stale');
SELECT is((pg_temp.j('hb')).lease_token, (SELECT lease_token FROM hb_before),
          'stale: the lease token is unchanged');

-- done, with a callback
CREATE TEMP TABLE done_before AS SELECT * FROM jobs WHERE uuid = pg_temp.u('done');
SELECT is(pg_temp.upd('done', 'tq-alice', NULL,
                      (SELECT lease_token FROM done_before), 'done',
                      '{"answer": 42}'),
          'ok', 'update done with the lease token: ok');
SELECT results_eq(
    $$SELECT state::text, result::text, finished_at, purge_at, lease_token,
             lease_expires_at, deadline_at, updated_at
        FROM jobs WHERE uuid = pg_temp.u('done')$$,
    $$VALUES ('succeeded', '{"answer": 42}', now(), now() + interval '3600 s',
              NULL::uuid, NULL::timestamptz, NULL::timestamptz, now())$$,
    'done: succeeded with its result, finished now, purge at now + TTL, lease cleared');
SELECT results_eq(
    $$SELECT url, payload, attempts, next_at, delivered_at, failed_at
        FROM callbacks WHERE job_uuid = pg_temp.u('done')$$,
    $$SELECT 'https://cb.example.org/done', queue_job_json(j, false), 0,
             now(), NULL::timestamptz, NULL::timestamptz
        FROM jobs j WHERE j.uuid = pg_temp.u('done')$$,
    'done: one callback in the outbox, payload = queue_job_json(job, false), due now');
SELECT is((SELECT payload FROM callbacks WHERE job_uuid = pg_temp.u('done')),
          '{"id":"' || pg_temp.u('done') || '","status":"done","priority":1,'
          || '"queue":"tq-upd","params":{},"result":{"answer": 42}}',
          'done: the callback payload, spelled out');
SELECT is(pg_temp.upd('done', 'tq-alice', NULL,
                      (SELECT lease_token FROM done_before), 'done', '{"again": 1}'),
          'finished', 'update of a finished job: finished');
SELECT is(pg_temp.upd('done', 'tq-alice', NULL, NULL, 'running'),
          'finished', 'heartbeat of a finished job: finished');
SELECT is((pg_temp.j('done')).result::text, '{"answer": 42}',
          'finished: the first result stays');
SELECT is((SELECT count(*) FROM callbacks WHERE job_uuid = pg_temp.u('done')),
          1::bigint, 'finished: no second callback');

-- failed, without a callback or a TTL
SELECT results_eq(
    $$SELECT outcome, (job).state::text, (job).result::text, (job).purge_at,
             (job).finished_at
        FROM queue_update(pg_temp.u('fail'), pg_temp.uid('tq-alice'), NULL,
                          (pg_temp.j('fail')).lease_token, 'failed',
                          '{"why": "disk"}')$$,
    $$VALUES ('ok', 'failed', '{"why": "disk"}', NULL::timestamptz, now())$$,
    'update failed: ok, failed with its result; no TTL, no purge_at');
SELECT is((SELECT count(*) FROM callbacks WHERE job_uuid = pg_temp.u('fail')),
          0::bigint, 'failed without callback_url: nothing in the outbox');

-- NULL token (clients of the seed)
SELECT is(pg_temp.upd('notoken', 'tq-alice', NULL, NULL, 'running'), 'ok',
          'heartbeat without a token: ok');
SELECT is(pg_temp.upd('notoken', 'tq-alice', NULL, NULL, 'done', '[1, 2]'), 'ok',
          'finish without a token: ok');
SELECT is((pg_temp.j('notoken')).state::text, 'succeeded',
          'finish without a token: the job succeeded');

-- scopes
CALL pg_temp.enq('scoped', 'tq-alice', 'tq-upd3', 1);
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-upd3'], NULL)), 'scoped', 'scope fixture leased');
SELECT is(pg_temp.upd('scoped', 'tq-bob', NULL, NULL, 'done'), 'not_found',
          'update of another user''s job: not_found');
SELECT is(pg_temp.upd('scoped', NULL, ARRAY['tq-other', 'tq-upd'],
                      (pg_temp.j('scoped')).lease_token, 'done'),
          'not_found', 'a worker scope on other queues: not_found');
SELECT is((pg_temp.j('scoped')).state::text, 'running', 'not_found: the job is untouched');
SELECT is(pg_temp.upd('scoped', NULL, ARRAY['tq-upd3'],
                      (pg_temp.j('scoped')).lease_token, 'running'),
          'ok', 'a worker scope on the job''s queue, any owner: ok');
SELECT is((SELECT outcome FROM queue_update(gen_random_uuid(), NULL, NULL, NULL,
                                            'done', NULL)),
          'not_found', 'update of an unknown uuid: not_found');
SELECT is((SELECT job FROM queue_update(gen_random_uuid(), NULL, NULL, NULL,
                                        'done', NULL)) IS NULL,
          true, 'not_found: no job row');
SELECT is(pg_temp.upd('queued', 'tq-alice', NULL, NULL, 'done'), 'not_running',
          'update of a queued job (lease expired, back in the queue): not_running');
SELECT is((pg_temp.j('queued')).state::text, 'queued', 'not_running: the job stays queued');
SELECT throws_ok(
    $$SELECT queue_update(pg_temp.u('scoped'), NULL, NULL, NULL, 'bogus', NULL)$$,
    '22023', 'unknown status bogus', 'update with an unknown status raises 22023');
SELECT throws_ok(
    $$SELECT queue_update(pg_temp.u('scoped'), NULL, NULL, NULL, 'succeeded', NULL)$$,
    '22023', NULL, 'the state name "succeeded" is not a status of the queue surface');
SELECT throws_ok(
    $$SELECT queue_update(pg_temp.u('scoped'), NULL, NULL, NULL, NULL, NULL)$$,
    '22023', NULL, 'update with a NULL status raises 22023 (rather than failing the job)');
SELECT is((pg_temp.j('scoped')).state::text, 'running',
          'the refused statuses left the job running');

-- ---- queue_cancel ------------------------------------------------------------
CALL pg_temp.enq('c-run', 'tq-alice', 'tq-cancel', 1, 0, 100, 500);
CALL pg_temp.enq('c-queued', 'tq-alice', 'tq-cancel', 3);
CALL pg_temp.enq('c-done', 'tq-alice', 'tq-cancel2', 3);
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-cancel'], 'tq-alice')), 'c-run', 'cancel fixture leased');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-cancel2'], 'tq-alice')), 'c-done', 'cancel fixture 2 leased');
SELECT is(pg_temp.upd('c-done', 'tq-alice', NULL, NULL, 'done'), 'ok', 'cancel fixture 2 done');
CREATE TEMP TABLE crun_before AS SELECT * FROM jobs WHERE uuid = pg_temp.u('c-run');

SELECT is((SELECT outcome FROM queue_cancel(pg_temp.u('c-run'), pg_temp.uid('tq-bob'))),
          'not_found', 'cancel of another user''s job: not_found');
SELECT is((pg_temp.j('c-run')).state::text, 'running', 'not_found: the job still runs');
SELECT is((SELECT outcome FROM queue_cancel(pg_temp.u('c-run'), pg_temp.uid('tq-alice'))),
          'canceled', 'cancel of a running job: canceled');
SELECT results_eq(
    $$SELECT state::text, error, lease_token, lease_expires_at, deadline_at,
             finished_at, purge_at
        FROM jobs WHERE uuid = pg_temp.u('c-run')$$,
    $$VALUES ('canceled', 'canceled by its owner', NULL::uuid,
              NULL::timestamptz, NULL::timestamptz, now(),
              now() + interval '100 s')$$,
    'canceled: kept, with an error, the lease cleared, finished now, purge after its TTL');
SELECT is(pg_temp.upd('c-run', 'tq-alice', NULL,
                      (SELECT lease_token FROM crun_before), 'done'),
          'canceled', 'the worker''s finish of a canceled job: canceled');
SELECT is(pg_temp.upd('c-run', NULL, NULL, NULL, 'running'),
          'canceled', 'a heartbeat of a canceled job: canceled');
SELECT is((SELECT outcome FROM queue_cancel(pg_temp.u('c-queued'), pg_temp.uid('tq-alice'))),
          'deleted', 'cancel of a queued job: deleted');
SELECT is_empty($$SELECT 1 FROM jobs WHERE uuid = pg_temp.u('c-queued')$$,
                'deleted: the row is gone');
SELECT is((SELECT outcome FROM queue_cancel(pg_temp.u('c-done'), NULL)),
          'deleted', 'cancel (admin) of a finished job: deleted');
SELECT is((SELECT outcome FROM queue_cancel(pg_temp.u('c-done'), NULL)),
          'not_found', 'cancel of a deleted job: not_found');

-- ---- queue_sweep_leases ------------------------------------------------------
CALL pg_temp.enq('s-requeue', 'tq-alice', 'tq-sweep', 1, 0, 50);
CALL pg_temp.enq('s-last', 'tq-alice', 'tq-sweep', 1, 0, 50, NULL,
                   'https://cb.example.org/s-last');
CALL pg_temp.enq('s-own1', 'tq-alice', 'tq-sweep', 1);
CALL pg_temp.enq('s-own10', 'tq-alice', 'tq-sweep', 1);
CALL pg_temp.enq('s-fresh', 'tq-alice', 'tq-sweep', 1);
UPDATE jobs SET max_attempts = 1 WHERE uuid = pg_temp.u('s-own1');
UPDATE jobs SET max_attempts = 10, attempts = 6 WHERE uuid = pg_temp.u('s-own10');
UPDATE jobs SET attempts = 4 WHERE uuid = pg_temp.u('s-last');
SELECT is((SELECT count(*) FROM (SELECT pg_temp.lease(ARRAY['tq-sweep'], 'tq-alice')
                                   FROM generate_series(1, 5)) s),
          5::bigint, 'sweep fixture: five leases');
CREATE TEMP TABLE sweep_before AS SELECT * FROM jobs WHERE queue = 'tq-sweep';
UPDATE jobs SET lease_expires_at = now() - interval '1 ms'
 WHERE queue = 'tq-sweep' AND uuid <> pg_temp.u('s-fresh');
UPDATE jobs SET lease_expires_at = now() + interval '1 s'
 WHERE uuid = pg_temp.u('s-fresh');
SELECT results_eq($$SELECT requeued, failed FROM queue_sweep_leases(5)$$,
                  $$VALUES (2, 2)$$,
                  'sweep leases: two requeued, two failed');
SELECT results_eq(
    $$SELECT state::text, attempts, lease_token, lease_expires_at, leased_by,
             deadline_at, error
        FROM jobs WHERE uuid = pg_temp.u('s-requeue')$$,
    $$VALUES ('queued', 1, NULL::uuid, NULL::timestamptz, NULL::text,
              NULL::timestamptz, NULL::text)$$,
    'sweep leases: an expired lease goes back to the queue with attempts + 1, lease cleared');
SELECT results_eq(
    $$SELECT state::text, attempts, lease_token, error, finished_at, purge_at
        FROM jobs WHERE uuid = pg_temp.u('s-last')$$,
    $$VALUES ('failed', 5, NULL::uuid, 'lease expired 5 times', now(),
              now() + interval '50 s')$$,
    'sweep leases: the 5th expiry (max 5) fails the job with an error, purge after its TTL');
SELECT is((SELECT payload FROM callbacks WHERE job_uuid = pg_temp.u('s-last')),
          '{"id":"' || pg_temp.u('s-last') || '","status":"failed","priority":1,'
          || '"queue":"tq-sweep","params":{},"error":"lease expired 5 times"}',
          'sweep leases: a failed job''s callback goes to the outbox');
SELECT results_eq(
    $$SELECT state::text, attempts, error FROM jobs WHERE uuid = pg_temp.u('s-own1')$$,
    $$VALUES ('failed', 1, 'lease expired 1 times')$$,
    'sweep leases: a job''s own max_attempts 1 wins over 5');
SELECT results_eq(
    $$SELECT state::text, attempts FROM jobs WHERE uuid = pg_temp.u('s-own10')$$,
    $$VALUES ('queued', 7)$$,
    'sweep leases: a job''s own max_attempts 10 wins over 5 (7th expiry requeues)');
SELECT results_eq(
    $$SELECT state::text, attempts, lease_token, lease_expires_at FROM jobs
       WHERE uuid = pg_temp.u('s-fresh')$$,
    $$SELECT state::text, attempts, lease_token, now() + interval '1 s'
        FROM sweep_before WHERE uuid = pg_temp.u('s-fresh')$$,
    'sweep leases: an unexpired lease is untouched');
SELECT results_eq($$SELECT requeued, failed FROM queue_sweep_leases(5)$$,
                  $$VALUES (0, 0)$$, 'sweep leases: a second sweep finds nothing');
SELECT is(pg_temp.l(pg_temp.lease(ARRAY['tq-sweep'], 'tq-alice')), 's-requeue',
          'a requeued job can be leased again');
SELECT isnt((pg_temp.j('s-requeue')).lease_token,
            (SELECT lease_token FROM sweep_before WHERE uuid = pg_temp.u('s-requeue')),
            'the new lease has a new token');
SELECT is(pg_temp.upd('s-requeue', 'tq-alice', NULL,
                      (SELECT lease_token FROM sweep_before WHERE uuid = pg_temp.u('s-requeue')),
                      'done'),
          'stale', 'the old token of a re-leased job: stale');

-- ---- queue_sweep_timeouts ----------------------------------------------------
CALL pg_temp.enq('t-late', 'tq-alice', 'tq-timeout', 1, 0, NULL, 10,
                   'https://cb.example.org/t');
CALL pg_temp.enq('t-ok', 'tq-alice', 'tq-timeout', 1, 0, NULL, 10);
CALL pg_temp.enq('t-none', 'tq-alice', 'tq-timeout', 1);
SELECT is((SELECT count(*) FROM (SELECT pg_temp.lease(ARRAY['tq-timeout'], 'tq-alice')
                                   FROM generate_series(1, 3)) s),
          3::bigint, 'timeout fixture: three leases');
UPDATE jobs SET deadline_at = now() - interval '1 ms' WHERE uuid = pg_temp.u('t-late');
SELECT is(queue_sweep_timeouts(), 1, 'sweep timeouts: one job past its deadline');
SELECT results_eq(
    $$SELECT state::text, error, lease_token, lease_expires_at, deadline_at,
             finished_at
        FROM jobs WHERE uuid = pg_temp.u('t-late')$$,
    $$VALUES ('failed', 'job timeout: still running after 00:00:10', NULL::uuid,
              NULL::timestamptz, NULL::timestamptz, now())$$,
    'sweep timeouts: failed with an error, lease and deadline cleared');
SELECT is((SELECT count(*) FROM callbacks WHERE job_uuid = pg_temp.u('t-late')),
          1::bigint, 'sweep timeouts: the callback goes to the outbox');
SELECT results_eq(
    $$SELECT state::text FROM jobs
       WHERE uuid IN (pg_temp.u('t-ok'), pg_temp.u('t-none'))$$,
    $$VALUES ('running'), ('running')$$,
    'sweep timeouts: a job before its deadline and one without a deadline keep running');
SELECT is(queue_sweep_timeouts(), 0, 'sweep timeouts: a second sweep finds nothing');

-- ---- queue_sweep_expired -----------------------------------------------------
CALL pg_temp.enq('x1', 'tq-alice', 'tq-expire', 1);
CALL pg_temp.enq('x2', 'tq-alice', 'tq-expire', 1);
CALL pg_temp.enq('x3', 'tq-alice', 'tq-expire', 1);
CALL pg_temp.enq('x-future', 'tq-alice', 'tq-expire', 1);
CALL pg_temp.enq('x-null', 'tq-alice', 'tq-expire', 1);
UPDATE jobs SET purge_at = '2000-01-03 00:00:00+00' WHERE uuid = pg_temp.u('x1');
UPDATE jobs SET purge_at = '2000-01-01 00:00:00+00' WHERE uuid = pg_temp.u('x2');
UPDATE jobs SET purge_at = '2000-01-02 00:00:00+00' WHERE uuid = pg_temp.u('x3');
UPDATE jobs SET purge_at = now() + interval '1 ms' WHERE uuid = pg_temp.u('x-future');
INSERT INTO job_objects (job_id, object_uuid, original_name, size)
VALUES ((pg_temp.j('x2')).id, 'dddddddd-0000-4000-8000-000000000001', 'o', 1);
SELECT set_eq($$SELECT pg_temp.l(u) FROM queue_sweep_expired(2) AS u$$,
              ARRAY['x2', 'x3'],
              'sweep expired: the limit, oldest purge_at first, returns the uuids');
SELECT is((SELECT count(*) FROM jobs WHERE queue = 'tq-expire'), 3::bigint,
          'sweep expired: the two are deleted');
SELECT is_empty($$SELECT 1 FROM job_objects WHERE object_uuid = 'dddddddd-0000-4000-8000-000000000001'$$,
                'sweep expired: with their objects');
SELECT set_eq($$SELECT pg_temp.l(u) FROM queue_sweep_expired(100) AS u$$,
              ARRAY['x1'], 'sweep expired: the next call takes the rest');
SELECT set_eq($$SELECT pg_temp.l(uuid) FROM jobs WHERE queue = 'tq-expire'$$,
              ARRAY['x-future', 'x-null'],
              'sweep expired: a future purge_at and no purge_at are kept');
SELECT is_empty($$SELECT * FROM queue_sweep_expired(100)$$,
                'sweep expired: nothing left to purge');

-- ---- queue_notify_due ----------------------------------------------------------
SELECT is(queue_notify_due(now() - interval '1 min'), now(),
          'notify_due: returns now(), the next call''s p_since');
SELECT is(queue_notify_due('infinity'), now(),
          'notify_due: returns now() when nothing came due');

-- ---- queue_job_json ----------------------------------------------------------
INSERT INTO jobs (uuid, user_id, name, surface, queue, state, priority, params)
VALUES ('44444444-4444-4444-8444-444444444441', pg_temp.uid('tq-alice'),
        'tq-json', 'queue', 'tq-json', 'queued', 2,
        '{"b": [1, "two"], "a": {"q": "say \"hi\""}}');
SELECT is(queue_job_json(j, true),
          '{"id":"44444444-4444-4444-8444-444444444441","status":"queued",'
          '"priority":2,"queue":"tq-json","params":{"a": {"q": "say \"hi\""}, "b": [1, "two"]}}',
          'job_json: a queued job: id, status, priority, queue, params; no result, error or lease')
  FROM jobs j WHERE uuid = '44444444-4444-4444-8444-444444444441';
SELECT ok(queue_job_json(j, false)::json IS NOT NULL, 'job_json: the text is valid JSON')
  FROM jobs j WHERE uuid = '44444444-4444-4444-8444-444444444441';
UPDATE jobs SET state = 'running',
                lease_token = '55555555-5555-4555-8555-555555555555',
                lease_expires_at = '2024-05-01 12:00:30.5+00'
 WHERE uuid = '44444444-4444-4444-8444-444444444441';
SELECT is(queue_job_json(j, true),
          '{"id":"44444444-4444-4444-8444-444444444441","status":"running",'
          '"priority":2,"queue":"tq-json","params":{"a": {"q": "say \"hi\""}, "b": [1, "two"]},'
          '"lease_token":"55555555-5555-4555-8555-555555555555",'
          '"lease_expires_at":"2024-05-01T12:00:30.5+00:00"}',
          'job_json with_lease: the lease token and its expiry')
  FROM jobs j WHERE uuid = '44444444-4444-4444-8444-444444444441';
SELECT is(queue_job_json(j, false),
          '{"id":"44444444-4444-4444-8444-444444444441","status":"running",'
          '"priority":2,"queue":"tq-json","params":{"a": {"q": "say \"hi\""}, "b": [1, "two"]}}',
          'job_json without lease: no lease fields')
  FROM jobs j WHERE uuid = '44444444-4444-4444-8444-444444444441';
UPDATE jobs SET state = 'failed', lease_token = NULL, lease_expires_at = NULL,
                result = '"partial"', error = E'line 1\nsaid "no"'
 WHERE uuid = '44444444-4444-4444-8444-444444444441';
SELECT is(queue_job_json(j, true),
          '{"id":"44444444-4444-4444-8444-444444444441","status":"failed",'
          '"priority":2,"queue":"tq-json","params":{"a": {"q": "say \"hi\""}, "b": [1, "two"]},'
          '"result":"partial","error":"line 1\nsaid \"no\""}',
          'job_json: result and error once present, the error JSON-escaped')
  FROM jobs j WHERE uuid = '44444444-4444-4444-8444-444444444441';
UPDATE jobs SET state = 'ready', result = 'null'
 WHERE uuid = '44444444-4444-4444-8444-444444444441';
SELECT is(queue_job_json(j, false),
          '{"id":"44444444-4444-4444-8444-444444444441","status":"queued",'
          '"priority":2,"queue":"tq-json","params":{"a": {"q": "say \"hi\""}, "b": [1, "two"]},'
          '"result":null,"error":"line 1\nsaid \"no\""}',
          'job_json: a ready job reads "queued"; a JSON null result is still shown')
  FROM jobs j WHERE uuid = '44444444-4444-4444-8444-444444444441';

-- ---- callback_due and callback_record ----------------------------------------
INSERT INTO callbacks (job_uuid, url, payload, next_at) VALUES
    ('66666666-6666-4666-8666-000000000001', 'https://cb.example.org/1', 'p1', '2000-01-01 00:00:02+00'),
    ('66666666-6666-4666-8666-000000000002', 'https://cb.example.org/2', 'p2', '2000-01-01 00:00:01+00'),
    ('66666666-6666-4666-8666-000000000003', 'https://cb.example.org/3', 'p3', now() + interval '1 s'),
    ('66666666-6666-4666-8666-000000000004', 'https://cb.example.org/4', 'p4', '2000-01-01 00:00:03+00'),
    ('66666666-6666-4666-8666-000000000005', 'https://cb.example.org/5', 'p5', '2000-01-01 00:00:04+00'),
    ('66666666-6666-4666-8666-000000000006', 'https://cb.example.org/6', 'p6', '2000-01-01 00:00:05+00'),
    ('66666666-6666-4666-8666-000000000007', 'https://cb.example.org/7', 'p7', '2000-01-01 00:00:06+00');
CREATE TEMP TABLE cb AS
    SELECT right(job_uuid::text, 1) AS n, id FROM callbacks
     WHERE job_uuid::text LIKE '66666666-%';
CREATE FUNCTION pg_temp.cb(p text) RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT id FROM cb WHERE n = p $$;
-- hide the outbox rows made above by the update and sweep sections
UPDATE callbacks SET next_at = now() + interval '1 day'
 WHERE job_uuid::text NOT LIKE '66666666-%';

SELECT results_eq(
    $$SELECT url, payload, attempt, right(job_uuid::text, 1) FROM callback_due(3)$$,
    $$VALUES ('https://cb.example.org/2', 'p2', 1, '2'),
             ('https://cb.example.org/1', 'p1', 1, '1'),
             ('https://cb.example.org/4', 'p4', 1, '4')$$,
    'callback_due: due callbacks oldest next_at first, attempt 1, up to the limit');

SELECT is(callback_record(pg_temp.cb('1'), 200, NULL, 12, false, 2, 3600, 10),
          'delivered', 'record 200: delivered');
SELECT results_eq(
    $$SELECT attempts, delivered_at, failed_at, last_error FROM callbacks
       WHERE id = pg_temp.cb('1')$$,
    $$VALUES (1, now(), NULL::timestamptz, NULL::text)$$,
    'delivered: one attempt, delivered now, no error');
SELECT results_eq(
    $$SELECT attempt, at, http_status, error, duration_ms FROM callback_attempts
       WHERE callback_id = pg_temp.cb('1')$$,
    $$VALUES (1, now(), 200, NULL::text, 12)$$,
    'delivered: the attempt is recorded');
SELECT is(callback_record(pg_temp.cb('1'), 200, NULL, 5, false, 2, 3600, 10),
          'gone', 'record on a delivered callback: gone');
SELECT is((SELECT count(*) FROM callback_attempts WHERE callback_id = pg_temp.cb('1')),
          1::bigint, 'gone: no attempt row added');
SELECT is(callback_record(pg_temp.cb('2'), 299, NULL, 5, false, 2, 3600, 10),
          'delivered', 'record 299: delivered (any 2xx)');

-- retries: 2 s, 4 s, 8 s, capped at 6 s
SELECT is(callback_record(pg_temp.cb('4'), 500, NULL, 30, false, 2, 6, 10),
          'retry', 'record 500: retry');
SELECT results_eq(
    $$SELECT attempts, next_at, last_error, delivered_at, failed_at
        FROM callbacks WHERE id = pg_temp.cb('4')$$,
    $$VALUES (1, now() + interval '2 s', 'HTTP 500', NULL::timestamptz,
              NULL::timestamptz)$$,
    'retry 1: next try after base = 2 s, last_error "HTTP 500"');
SELECT is_empty($$SELECT 1 FROM callback_due(100) WHERE id = pg_temp.cb('4')$$,
                'a callback waiting for its retry is not due');
SELECT is(callback_record(pg_temp.cb('4'), NULL, 'connection refused', 1, false, 2, 6, 10),
          'retry', 'record without HTTP status: retry');
SELECT results_eq(
    $$SELECT attempts, next_at, last_error FROM callbacks WHERE id = pg_temp.cb('4')$$,
    $$VALUES (2, now() + interval '4 s', 'connection refused')$$,
    'retry 2: after 4 s; the error text is the last error');
SELECT is(callback_record(pg_temp.cb('4'), 301, NULL, 1, false, 2, 6, 10),
          'retry', 'record 301: a redirect is not a delivery');
SELECT is((SELECT next_at FROM callbacks WHERE id = pg_temp.cb('4')),
          now() + interval '6 s', 'retry 3: 8 s capped at the 6 s maximum');
SELECT results_eq(
    $$SELECT attempt, http_status, error, duration_ms FROM callback_attempts
       WHERE callback_id = pg_temp.cb('4') ORDER BY attempt$$,
    $$VALUES (1, 500, NULL::text, 30), (2, NULL::int, 'connection refused', 1),
             (3, 301, NULL::text, 1)$$,
    'every attempt has its row');
UPDATE callbacks SET next_at = now() WHERE id = pg_temp.cb('4');
SELECT is((SELECT attempt FROM callback_due(100) WHERE id = pg_temp.cb('4')), 4,
          'callback_due: the next attempt''s number');

-- giving up
SELECT is(callback_record(pg_temp.cb('5'), 400, 'refused: private address', 0, true, 2, 3600, 10),
          'failed', 'record with p_final: failed at once');
SELECT results_eq(
    $$SELECT attempts, failed_at, delivered_at, last_error FROM callbacks
       WHERE id = pg_temp.cb('5')$$,
    $$VALUES (1, now(), NULL::timestamptz, 'refused: private address')$$,
    'final: failed now after one attempt');
SELECT is(callback_record(pg_temp.cb('5'), 200, NULL, 1, false, 2, 3600, 10),
          'gone', 'record on a failed callback: gone');
SELECT is(callback_record(pg_temp.cb('6'), 502, NULL, 1, false, 2, 3600, 2),
          'retry', 'max attempts 2: the first failure retries');
SELECT is(callback_record(pg_temp.cb('6'), 502, NULL, 1, false, 2, 3600, 2),
          'failed', 'max attempts 2: the second failure gives up');
SELECT results_eq(
    $$SELECT attempts, failed_at IS NOT NULL,
             (SELECT count(*) FROM callback_attempts WHERE callback_id = c.id)
        FROM callbacks c WHERE id = pg_temp.cb('6')$$,
    $$VALUES (2, true, 2::bigint)$$,
    'max attempts: two attempts, two rows, failed');
SELECT is(callback_record(-1, 200, NULL, 1, false, 2, 3600, 10), 'gone',
          'record on an unknown callback: gone');
SELECT set_eq($$SELECT right(job_uuid::text, 1) FROM callback_due(100)
                 WHERE job_uuid::text LIKE '66666666-%'$$,
              ARRAY['4', '7'],
              'callback_due: neither delivered, failed nor future callbacks');

SELECT * FROM finish();
ROLLBACK;
