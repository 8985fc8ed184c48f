-- 001: users, API tokens, the unified job table, job objects and results.
--
-- One state machine for every surface (see docs/design notes):
--   ready -> queued -> running -> succeeded | failed ; canceled from any
--   non-terminal state.  Each API surface maps these to its own words.

CREATE TYPE job_state AS ENUM
    ('ready', 'queued', 'running', 'succeeded', 'failed', 'canceled');

CREATE TYPE token_role AS ENUM ('user', 'admin', 'worker');

CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    email       text CHECK (email IS NULL OR length(email) <= 254),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Tokens are stored as the SHA-256 of the token text, never in clear.
-- The token itself carries 256 bits of randomness, so an unsalted fast hash
-- is enough: there is nothing to brute-force.
CREATE TABLE api_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    role        token_role NOT NULL DEFAULT 'user',
    queues      text[],                    -- worker tokens: queues they serve
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);

-- Deleting a user (ON DELETE CASCADE) must not scan every token.
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE jobs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid              uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    user_id           bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    surface           text NOT NULL DEFAULT 'jobs',   -- which API made it
    queue             text NOT NULL DEFAULT 'default'
                      CHECK (length(queue) BETWEEN 1 AND 128),
    state             job_state NOT NULL DEFAULT 'ready',
    priority          smallint NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 3),
    params            jsonb NOT NULL DEFAULT '{}',
    result            jsonb,
    error             text,
    total_size        bigint NOT NULL DEFAULT 0 CHECK (total_size >= 0),
    credits_spent     integer NOT NULL DEFAULT 0 CHECK (credits_spent >= 0),
    -- queue and lease fields (used by the queue surface and the dispatcher)
    attempts          integer NOT NULL DEFAULT 0,
    max_attempts      integer,
    run_at            timestamptz NOT NULL DEFAULT now(),
    lease_token       uuid,
    lease_expires_at  timestamptz,
    leased_by         text,
    job_timeout       interval,
    result_ttl        interval,
    callback_url      text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    CHECK ((state = 'running') = (lease_token IS NOT NULL))
);

-- Listing a user's jobs newest first, and the admin view of all jobs.
CREATE INDEX jobs_user_created_idx ON jobs (user_id, created_at DESC, id DESC);
CREATE INDEX jobs_created_idx ON jobs (created_at DESC, id DESC);
-- Dequeue order: priority, then the time the job became ready.
CREATE INDEX jobs_ready_idx ON jobs (queue, priority, run_at, id)
    WHERE state = 'queued';

-- A job's files.  object_uuid is the public name ("<uuid>.png"); the file
-- lives at STORE_DIR/<jobs.uuid>/<object_uuid>.
CREATE TABLE job_objects (
    job_id         bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    object_uuid    text NOT NULL CHECK (object_uuid ~
                   '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.[A-Za-z0-9]{1,16})?$'),
    original_name  text NOT NULL CHECK (length(original_name) BETWEEN 1 AND 255),
    content_type   text NOT NULL DEFAULT 'application/octet-stream',
    size           bigint NOT NULL CHECK (size >= 0),
    media_length   integer NOT NULL DEFAULT 1 CHECK (media_length >= 0),
    failure        text,          -- non-NULL: the object failed to process
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, object_uuid)
);

-- Per-object results ("full" and "min" renditions); the file lives at
-- STORE_DIR/<jobs.uuid>/results/<object_uuid>.<kind>.json
CREATE TABLE object_results (
    job_id       bigint NOT NULL,
    object_uuid  text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('full', 'min')),
    size         bigint NOT NULL CHECK (size >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, object_uuid, kind),
    FOREIGN KEY (job_id, object_uuid)
        REFERENCES job_objects (job_id, object_uuid) ON DELETE CASCADE
);
