-- 003: the job queue of seed 002 -- lease, heartbeat, finish, cancel, the
-- dispatcher's sweeps, and the callback outbox.
--
-- Every state change of a queued job goes through one of the functions
-- below, so docketd, the dispatcher, docketctl and pgTAP run the same SQL.
-- Wake-ups ride on NOTIFY:
--   docket_queue  payload "<queue>\t<user_id>"  a job became leasable
--   docket_done   payload "<job uuid>"          a job finished or went away
-- The dispatcher's sweeps notify inside their transactions.  The functions
-- on docketd's hot path (enqueue, update, cancel) do not: a transaction
-- that has notified holds a database-wide lock from its pre-commit until
-- the end of its commit, WAL flush included, so notifying writers commit
-- one at a time and lose group commit (measured here: 2.2k enqueues/s with
-- the NOTIFY inside, 7.7k without, 8 clients).  docketd sends the NOTIFY in
-- a statement of its own after the commit, and only when some thread of
-- this docketd waits (fcgi-app/waiter.c).
--
-- Scope arguments, used by every function that touches one job:
--   p_user   NULL = any owner (admins, worker tokens), else that user only
--   p_queues NULL = any queue, else only jobs on these queues (worker tokens)

-- The lease of the current run: heartbeats extend it by lease_timeout.
ALTER TABLE jobs ADD COLUMN lease_timeout interval;
-- started_at + job_timeout, fixed when the lease is taken.
ALTER TABLE jobs ADD COLUMN deadline_at timestamptz;
-- finished_at + result_ttl: the dispatcher deletes the job after this.
ALTER TABLE jobs ADD COLUMN purge_at timestamptz;

-- Queue names travel in NOTIFY payloads and in the X-Docket-Queues header
-- of worker tokens, so they are plain words.
ALTER TABLE jobs ADD CONSTRAINT jobs_queue_name
    CHECK (queue ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$');
ALTER TABLE jobs ADD CONSTRAINT jobs_max_attempts
    CHECK (max_attempts IS NULL OR max_attempts >= 1);

-- Dequeue from any queue (jobs_ready_idx serves a named queue).
CREATE INDEX jobs_ready_any_idx ON jobs (priority, run_at, id)
    WHERE state = 'queued';
-- Delayed jobs coming due (queue_notify_due).
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE state = 'queued';
-- Running jobs are few: the lease and timeout sweeps read them all.
CREATE INDEX jobs_running_idx ON jobs (lease_expires_at)
    WHERE state = 'running';
CREATE INDEX jobs_purge_idx ON jobs (purge_at) WHERE purge_at IS NOT NULL;

-- The outbox: one row per callback to deliver.  The payload is rendered at
-- finish time, so a job purged by its result TTL before delivery still has
-- its callback; hence no foreign key to jobs.
CREATE TABLE callbacks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_uuid      uuid NOT NULL,
    url           text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    payload       text NOT NULL,
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    failed_at     timestamptz,           -- gave up (refused, or out of attempts)
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (delivered_at IS NULL OR failed_at IS NULL)
);
CREATE INDEX callbacks_due_idx ON callbacks (next_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX callbacks_job_idx ON callbacks (job_uuid);

-- Every delivery attempt, for operators ("why did my callback not come?").
CREATE TABLE callback_attempts (
    callback_id   bigint NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
    attempt       integer NOT NULL CHECK (attempt >= 1),
    at            timestamptz NOT NULL DEFAULT now(),
    http_status   integer,                -- NULL: no HTTP answer
    error         text,
    duration_ms   integer,
    PRIMARY KEY (callback_id, attempt)
);

-- The queue surface's status words (seed 002).  A job another surface
-- created but has not queued yet (ready) shows as queued.
-- Not STRICT: PostgreSQL inlines a SQL function only if it can prove the
-- body as strict as the declaration, and a CASE is not; a function that is
-- not inlined is parsed again on every call (21 us here, 3 per queue cycle).
-- A NULL state gives NULL anyway.
CREATE OR REPLACE FUNCTION status_002(state job_state) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE state
        WHEN 'ready'     THEN 'queued'
        WHEN 'queued'    THEN 'queued'
        WHEN 'running'   THEN 'running'
        WHEN 'succeeded' THEN 'done'
        WHEN 'failed'    THEN 'failed'
        WHEN 'canceled'  THEN 'canceled'
    END
$$;

-- A job as the queue surface shows it, as JSON text: the one rendering used
-- by docketd's answers and by callbacks, so the two never disagree.  Keys
-- in the seed's order; result and error only once there is one; the lease
-- token only for the worker that holds the lease.
CREATE OR REPLACE FUNCTION queue_job_json(j jobs, with_lease boolean)
    RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT '{"id":"' || j.uuid::text
        || '","status":"' || status_002(j.state)
        || '","priority":' || j.priority
        || ',"queue":' || to_json(j.queue)::text
        || ',"params":' || j.params::text
        || coalesce(',"result":' || j.result::text, '')
        || coalesce(',"error":' || to_json(j.error)::text, '')
        || CASE WHEN with_lease AND j.lease_token IS NOT NULL THEN
               ',"lease_token":"' || j.lease_token::text
               || '","lease_expires_at":' || to_json(j.lease_expires_at)::text
           ELSE '' END
        || '}'
$$;

-- Put a callback in the outbox if the job asked for one.  PL/pgSQL, not
-- SQL: a SQL function called from PL/pgSQL is parsed again on every call.
CREATE OR REPLACE FUNCTION queue_outbox(j jobs) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    IF j.callback_url IS NOT NULL THEN
        INSERT INTO callbacks (job_uuid, url, payload)
        VALUES (j.uuid, j.callback_url, queue_job_json(j, false));
    END IF;
END
$$;

-- Enqueue.  Delay, TTL and timeout in seconds (0 delay = ready now; NULL
-- TTL = keep forever; NULL timeout = none).
CREATE OR REPLACE FUNCTION queue_enqueue(p_user bigint, p_queue text,
    p_params jsonb, p_priority integer, p_delay integer, p_ttl integer,
    p_timeout integer, p_callback text)
    RETURNS jobs LANGUAGE plpgsql
AS $$
DECLARE
    j jobs;
BEGIN
    INSERT INTO jobs (user_id, name, surface, queue, state, priority, params,
                      run_at, result_ttl, job_timeout, callback_url)
    VALUES (p_user, p_queue, 'queue', p_queue, 'queued', p_priority,
            coalesce(p_params, '{}'),
            now() + make_interval(secs => coalesce(p_delay, 0)),
            make_interval(secs => p_ttl), make_interval(secs => p_timeout),
            p_callback)
    RETURNING * INTO j;
    RETURN j;
END
$$;

-- Lease the next ready job: priority, then the time it became ready.
-- SKIP LOCKED lets concurrent leases pass each other instead of queueing on
-- one row.  Each branch is its own statement so each gets its own plan: one
-- queue walks jobs_ready_idx in order, any queue walks jobs_ready_any_idx.
-- One UPDATE with the pick as its subquery: a statement less to start per
-- lease than SELECT, then UPDATE.
CREATE OR REPLACE FUNCTION queue_lease(p_queues text[], p_user bigint,
    p_lease_secs integer, p_worker text)
    RETURNS SETOF jobs LANGUAGE plpgsql
AS $$
DECLARE
    v_lease interval := make_interval(secs => p_lease_secs);
BEGIN
    IF p_queues IS NULL THEN
        RETURN QUERY
        UPDATE jobs SET state = 'running', lease_token = gen_random_uuid(),
                        lease_timeout = v_lease,
                        lease_expires_at = now() + v_lease,
                        leased_by = p_worker, started_at = now(),
                        deadline_at = now() + job_timeout, updated_at = now()
         WHERE id = (SELECT id FROM jobs
                      WHERE state = 'queued' AND run_at <= now()
                        AND (p_user IS NULL OR user_id = p_user)
                      ORDER BY priority, run_at, id
                      LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *;
    ELSIF cardinality(p_queues) = 1 THEN
        RETURN QUERY
        UPDATE jobs SET state = 'running', lease_token = gen_random_uuid(),
                        lease_timeout = v_lease,
                        lease_expires_at = now() + v_lease,
                        leased_by = p_worker, started_at = now(),
                        deadline_at = now() + job_timeout, updated_at = now()
         WHERE id = (SELECT id FROM jobs
                      WHERE state = 'queued' AND queue = p_queues[1]
                        AND run_at <= now()
                        AND (p_user IS NULL OR user_id = p_user)
                      ORDER BY priority, run_at, id
                      LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *;
    ELSE
        RETURN QUERY
        UPDATE jobs SET state = 'running', lease_token = gen_random_uuid(),
                        lease_timeout = v_lease,
                        lease_expires_at = now() + v_lease,
                        leased_by = p_worker, started_at = now(),
                        deadline_at = now() + job_timeout, updated_at = now()
         WHERE id = (SELECT id FROM jobs
                      WHERE state = 'queued' AND queue = ANY (p_queues)
                        AND run_at <= now()
                        AND (p_user IS NULL OR user_id = p_user)
                      ORDER BY priority, run_at, id
                      LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *;
    END IF;
END
$$;

-- Heartbeat ('running') or finish ('done', 'failed') a leased job.
-- outcome: ok | not_found | not_running (its lease expired and it went back
-- to the queue) | finished | canceled | stale (another lease holds it).
-- A NULL token is accepted from clients of the seed, which never send one.
CREATE OR REPLACE FUNCTION queue_update(p_uuid uuid, p_user bigint,
    p_queues text[], p_token uuid, p_status text, p_result jsonb,
    OUT outcome text, OUT job jobs)
    LANGUAGE plpgsql
AS $$
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('running', 'done', 'failed') THEN
        RAISE EXCEPTION 'unknown status %', p_status
            USING ERRCODE = '22023';
    END IF;
    -- The common case first, in one statement: the caller's running job,
    -- with the caller's lease (or no token).
    IF p_status = 'running' THEN
        UPDATE jobs SET lease_expires_at = now() + lease_timeout,
                        updated_at = now()
         WHERE uuid = p_uuid AND state = 'running'
           AND (p_user IS NULL OR user_id = p_user)
           AND (p_queues IS NULL OR queue = ANY (p_queues))
           AND (p_token IS NULL OR lease_token = p_token)
        RETURNING * INTO job;
    ELSE
        UPDATE jobs SET state = CASE p_status WHEN 'done'
                                THEN 'succeeded' ELSE 'failed' END::job_state,
                        result = p_result,
                        lease_token = NULL, lease_expires_at = NULL,
                        deadline_at = NULL,
                        finished_at = now(),
                        purge_at = now() + result_ttl,
                        updated_at = now()
         WHERE uuid = p_uuid AND state = 'running'
           AND (p_user IS NULL OR user_id = p_user)
           AND (p_queues IS NULL OR queue = ANY (p_queues))
           AND (p_token IS NULL OR lease_token = p_token)
        RETURNING * INTO job;
        IF FOUND THEN
            PERFORM queue_outbox(job);
        END IF;
    END IF;
    IF FOUND THEN
        outcome := 'ok';
        RETURN;
    END IF;
    -- Refused: say why.  The job may have changed since the UPDATE looked;
    -- whatever this reads is a state it was in after the refusal began.
    SELECT * INTO job FROM jobs
     WHERE uuid = p_uuid
       AND (p_user IS NULL OR user_id = p_user)
       AND (p_queues IS NULL OR queue = ANY (p_queues));
    IF NOT FOUND THEN
        outcome := 'not_found';
    ELSIF job.state = 'canceled' THEN
        outcome := 'canceled';
    ELSIF job.state IN ('succeeded', 'failed') THEN
        outcome := 'finished';
    ELSIF job.state <> 'running' THEN
        outcome := 'not_running';
    ELSE
        outcome := 'stale';
    END IF;
END
$$;

-- DELETE on the queue surface.  A running job is canceled and kept, so its
-- worker's next heartbeat or finish learns why (409); any other job is
-- deleted with its rows.  job is the canceled row, or the deleted row as it
-- was.
-- outcome: canceled | deleted | not_found
CREATE OR REPLACE FUNCTION queue_cancel(p_uuid uuid, p_user bigint,
    OUT outcome text, OUT job jobs)
    LANGUAGE plpgsql
AS $$
BEGIN
    SELECT * INTO job FROM jobs
     WHERE uuid = p_uuid AND (p_user IS NULL OR user_id = p_user)
       FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF job.state = 'running' THEN
        UPDATE jobs SET state = 'canceled', lease_token = NULL,
                        lease_expires_at = NULL, deadline_at = NULL,
                        error = 'canceled by its owner',
                        finished_at = now(),
                        purge_at = now() + result_ttl,
                        updated_at = now()
         WHERE id = job.id
        RETURNING * INTO job;
        outcome := 'canceled';
    ELSE
        DELETE FROM jobs WHERE id = job.id;
        outcome := 'deleted';
    END IF;
END
$$;

-- The sweeps below run every dispatch_interval_ms over partial indexes that
-- every job passes through (running, queued).  Until VACUUM, those indexes
-- keep an entry for each job that has left the state; a plain index scan
-- marks such entries dead the first time it meets them and skips them
-- after, a bitmap scan visits their heap rows again on every tick (measured:
-- 75,000-100,000 dead entries and 6 ms per sweep during a 2,000 jobs/s
-- run).  Hence SET enable_bitmapscan = off on each sweep function.

-- Dispatcher: fail a running job on docket's own account (its leases kept
-- expiring, or it ran past its timeout): the lease goes, the reason stays in
-- error, and its Wait-Result waiters and its callback are told.
CREATE OR REPLACE FUNCTION queue_fail(p_id bigint, p_attempts integer,
    p_reason text) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    j jobs;
BEGIN
    UPDATE jobs SET state = 'failed', attempts = attempts + p_attempts,
                    lease_token = NULL, lease_expires_at = NULL,
                    deadline_at = NULL, error = p_reason,
                    finished_at = now(), purge_at = now() + result_ttl,
                    updated_at = now()
     WHERE id = p_id
    RETURNING * INTO j;
    PERFORM pg_notify('docket_done', j.uuid::text);
    PERFORM queue_outbox(j);
END
$$;

-- Dispatcher: leases that ran out.  The job goes back to the queue with
-- attempts + 1, or fails once it has had p_max_attempts leases expire
-- (a job's own max_attempts wins).  Returns how many of each.
CREATE OR REPLACE FUNCTION queue_sweep_leases(p_max_attempts integer,
    OUT requeued integer, OUT failed integer)
    LANGUAGE plpgsql
    SET enable_bitmapscan = off
AS $$
DECLARE
    j jobs;
BEGIN
    requeued := 0;
    failed := 0;
    FOR j IN
        SELECT * FROM jobs
         WHERE state = 'running' AND lease_expires_at < now()
         ORDER BY lease_expires_at
           FOR UPDATE SKIP LOCKED
    LOOP
        IF j.attempts + 1 >= coalesce(j.max_attempts, p_max_attempts) THEN
            PERFORM queue_fail(j.id, 1, format('lease expired %s times',
                                                j.attempts + 1));
            failed := failed + 1;
        ELSE
            UPDATE jobs SET state = 'queued', attempts = attempts + 1,
                            lease_token = NULL, lease_expires_at = NULL,
                            deadline_at = NULL, leased_by = NULL,
                            updated_at = now()
             WHERE id = j.id;
            PERFORM pg_notify('docket_queue', j.queue || E'\t' || j.user_id);
            requeued := requeued + 1;
        END IF;
    END LOOP;
END
$$;

-- Dispatcher: running jobs past their job timeout fail.
CREATE OR REPLACE FUNCTION queue_sweep_timeouts() RETURNS integer
    LANGUAGE plpgsql
    SET enable_bitmapscan = off
AS $$
DECLARE
    j jobs;
    n integer := 0;
BEGIN
    FOR j IN
        SELECT * FROM jobs
         WHERE state = 'running' AND deadline_at < now()
           FOR UPDATE SKIP LOCKED
    LOOP
        PERFORM queue_fail(j.id, 0, format('job timeout: still running '
                                           'after %s', j.job_timeout));
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- Dispatcher: finished jobs past their result TTL are deleted with their
-- rows; the caller removes STORE_DIR/<uuid> for each uuid returned.
CREATE OR REPLACE FUNCTION queue_sweep_expired(p_limit integer)
    RETURNS SETOF uuid LANGUAGE plpgsql
    SET enable_bitmapscan = off
AS $$
DECLARE
    v uuid;
BEGIN
    FOR v IN
        DELETE FROM jobs WHERE id IN (
            SELECT id FROM jobs WHERE purge_at < now()
             ORDER BY purge_at LIMIT p_limit
               FOR UPDATE SKIP LOCKED)
        RETURNING uuid
    LOOP
        PERFORM pg_notify('docket_done', v::text);
        RETURN NEXT v;
    END LOOP;
END
$$;

-- Dispatcher: jobs that became ready in (p_since, now()] and are still
-- queued wake the waiters of their queue: delayed jobs coming due, and the
-- backstop for a wake-up docketd did not send (it died between its commit
-- and its NOTIFY, or the waiter is on another docketd).  Returns now(), the
-- next call's p_since.
CREATE OR REPLACE FUNCTION queue_notify_due(p_since timestamptz)
    RETURNS timestamptz LANGUAGE plpgsql
    SET enable_bitmapscan = off
AS $$
DECLARE
    r record;
    v_now timestamptz := now();
BEGIN
    FOR r IN
        SELECT DISTINCT queue, user_id FROM jobs
         WHERE state = 'queued' AND run_at <= v_now
           -- A second of overlap: an enqueue that started before the last
           -- tick but committed after it is announced now.
           AND run_at > p_since - interval '1 second'
    LOOP
        PERFORM pg_notify('docket_queue', r.queue || E'\t' || r.user_id);
    END LOOP;
    RETURN v_now;
END
$$;

-- Dispatcher: callbacks due now, oldest first.
CREATE OR REPLACE FUNCTION callback_due(p_limit integer)
    RETURNS TABLE (id bigint, url text, payload text, attempt integer,
                   job_uuid uuid)
    LANGUAGE sql STABLE
AS $$
    SELECT c.id, c.url, c.payload, c.attempts + 1, c.job_uuid
      FROM callbacks c
     WHERE c.delivered_at IS NULL AND c.failed_at IS NULL
       AND c.next_at <= now()
     ORDER BY c.next_at, c.id
     LIMIT p_limit
$$;

-- Dispatcher: record one delivery attempt.  A 2xx delivers; p_final gives
-- up at once (a refused URL); otherwise the next try comes after
-- p_base_secs * 2^(attempts-1), at most p_max_secs, until p_max_attempts.
CREATE OR REPLACE FUNCTION callback_record(p_id bigint, p_http_status integer,
    p_error text, p_duration_ms integer, p_final boolean,
    p_base_secs integer, p_max_secs integer, p_max_attempts integer)
    RETURNS text LANGUAGE plpgsql
AS $$
DECLARE
    c callbacks;
    v_ok boolean := p_http_status BETWEEN 200 AND 299;
BEGIN
    UPDATE callbacks SET attempts = attempts + 1,
                         last_error = CASE WHEN v_ok THEN NULL
                                      ELSE coalesce(p_error, 'HTTP ' || p_http_status) END
     WHERE id = p_id AND delivered_at IS NULL AND failed_at IS NULL
    RETURNING * INTO c;
    IF NOT FOUND THEN
        RETURN 'gone';
    END IF;
    INSERT INTO callback_attempts (callback_id, attempt, http_status, error,
                                   duration_ms)
    VALUES (c.id, c.attempts, p_http_status, p_error, p_duration_ms);
    IF v_ok THEN
        UPDATE callbacks SET delivered_at = now() WHERE id = c.id;
        RETURN 'delivered';
    ELSIF p_final OR c.attempts >= p_max_attempts THEN
        UPDATE callbacks SET failed_at = now() WHERE id = c.id;
        RETURN 'failed';
    END IF;
    UPDATE callbacks
       SET next_at = now() + make_interval(secs => least(p_max_secs,
                         p_base_secs * power(2, c.attempts - 1)))
     WHERE id = c.id;
    RETURN 'retry';
END
$$;
