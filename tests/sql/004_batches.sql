-- pgTAP: sql/004_batches.sql -- the batches surface of seed 003: recipe
-- types, trigger events, batches, failed_count upkeep, the per-day roll-up
-- counts (batch_buckets) and the listing window built on them
-- (batch_window), batch definitions (batch_matches, batch_preview),
-- submission and the creator jobs (batch_submit, batch_create,
-- batch_run_next_creator).
--
-- now() is constant inside the one transaction this file runs in, so a
-- batch "moved" by batch_create is one whose last_modified was first
-- UPDATEd into the past.  Fixture batches live in 2001 and 2002 so that
-- their days are their own; the comparisons with a recount still run over
-- the whole batches table (a recount that only held for this file's rows
-- would prove little).
--
-- The SKIP LOCKED check needs a second session that sees committed rows: it
-- uses dblink, commits a user named tb-skip-<pid> with three batches and
-- their creator jobs, and deletes them again.  It runs before this session
-- writes any batch: batch_buckets' roll-up rows ("every owner", per day)
-- are shared by all batches, so a bucket row written here would make the
-- other session wait for this transaction.  A running dispatcher (docketd)
-- runs committed creator jobs within its dispatch interval; to keep it off
-- the fixture a third session locks the batch of a decoy creator job (the
-- highest id of the three) that is made ready first, and the test waits
-- until the dispatcher is stuck on it before the two real ones are made
-- ready.  Without a dispatcher the decoy is never made ready.
--
-- batch_window is checked against a plain count(*) and a plain OFFSET over
-- the same filters for 1,596 filter/range combinations and every offset,
-- in both orders, and once more with the session in Europe/Berlin across
-- the summer time switches (its days are UTC days).
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
-- leftovers of an earlier run of this file that died half-way
DELETE FROM users WHERE name LIKE 'tb-skip-%';
DELETE FROM recipe_types WHERE name LIKE 'tb-skip-%';
DELETE FROM trigger_events WHERE type = 'TB_SKIP';

BEGIN;
SELECT plan(367);

-- ---- tables and columns ------------------------------------------------------
SELECT has_table('recipe_types');
SELECT has_table('job_types');
SELECT has_table('trigger_events');
SELECT has_table('batches');
SELECT has_table('batch_buckets');

SELECT col_is_pk('recipe_types', 'id');
SELECT col_type_is('recipe_types', 'id', 'bigint');
SELECT col_type_is('recipe_types', 'name', 'text');
SELECT col_not_null('recipe_types', 'name');
SELECT col_type_is('recipe_types', 'version', 'text');
SELECT col_not_null('recipe_types', 'version');
SELECT col_type_is('recipe_types', 'title', 'text');
SELECT col_is_null('recipe_types', 'title');
SELECT col_type_is('recipe_types', 'description', 'text');
SELECT col_is_null('recipe_types', 'description');
SELECT col_type_is('recipe_types', 'created_at', 'timestamp with time zone');
SELECT col_not_null('recipe_types', 'created_at');
SELECT col_is_unique('recipe_types', ARRAY['name', 'version']);

SELECT col_is_pk('job_types', 'id');
SELECT col_is_unique('job_types', 'name');
SELECT results_eq(
    $$SELECT id, name, version, revision, title, description, category,
             author_name, author_url, is_system, is_long_running, is_active,
             is_operational, is_paused, icon_code
        FROM job_types ORDER BY id$$,
    $$VALUES (1::bigint, 'docket-batch-creator', '1.0', 1,
              'Docket Batch Creator', 'Creates and queues the jobs of a batch',
              'system', NULL::text, NULL::text, true, false, true, true,
              false, 'f0b1')$$,
    'job_types: one row, the batch creator, id 1');

SELECT col_is_pk('trigger_events', 'id');
SELECT col_type_is('trigger_events', 'type', 'text');
SELECT col_not_null('trigger_events', 'type');
SELECT col_type_is('trigger_events', 'rule_id', 'bigint');
SELECT col_is_null('trigger_events', 'rule_id');
SELECT col_type_is('trigger_events', 'occurred', 'timestamp with time zone');
SELECT col_has_default('trigger_events', 'occurred');

SELECT has_type('batch_status');
SELECT enum_has_labels('batch_status', ARRAY['SUBMITTED', 'CREATED']);

SELECT col_is_pk('batches', 'id');
SELECT col_type_is('batches', 'user_id', 'bigint');
SELECT col_not_null('batches', 'user_id');
SELECT col_type_is('batches', 'title', 'text');
SELECT col_is_null('batches', 'title');
SELECT col_type_is('batches', 'description', 'text');
SELECT col_is_null('batches', 'description');
SELECT col_type_is('batches', 'status', 'batch_status');
SELECT col_not_null('batches', 'status');
SELECT col_default_is('batches', 'status', 'SUBMITTED');
SELECT col_type_is('batches', 'recipe_type_id', 'bigint');
SELECT col_not_null('batches', 'recipe_type_id');
SELECT col_type_is('batches', 'event_id', 'bigint');
SELECT col_not_null('batches', 'event_id');
SELECT col_type_is('batches', 'creator_job_id', 'bigint');
SELECT col_is_null('batches', 'creator_job_id');
SELECT col_type_is('batches', 'definition', 'jsonb');
SELECT col_not_null('batches', 'definition');
SELECT col_type_is('batches', 'created_count', 'integer');
SELECT col_default_is('batches', 'created_count', 0);
SELECT col_type_is('batches', 'failed_count', 'integer');
SELECT col_default_is('batches', 'failed_count', 0);
SELECT col_type_is('batches', 'total_count', 'integer');
SELECT col_default_is('batches', 'total_count', 0);
SELECT col_type_is('batches', 'created', 'timestamp with time zone');
SELECT col_not_null('batches', 'created');
SELECT col_type_is('batches', 'last_modified', 'timestamp with time zone');
SELECT col_not_null('batches', 'last_modified');
SELECT fk_ok('batches', 'user_id', 'users', 'id');
SELECT fk_ok('batches', 'recipe_type_id', 'recipe_types', 'id');
SELECT fk_ok('batches', 'event_id', 'trigger_events', 'id');
SELECT fk_ok('batches', 'creator_job_id', 'jobs', 'id');

SELECT col_type_is('jobs', 'recipe_type_id', 'bigint');
SELECT col_type_is('jobs', 'job_type_id', 'bigint');
SELECT col_type_is('jobs', 'event_id', 'bigint');
SELECT col_type_is('jobs', 'batch_id', 'bigint');
SELECT col_type_is('jobs', 'batch_source_id', 'bigint');
SELECT fk_ok('jobs', 'recipe_type_id', 'recipe_types', 'id');
SELECT fk_ok('jobs', 'job_type_id', 'job_types', 'id');
SELECT fk_ok('jobs', 'event_id', 'trigger_events', 'id');
SELECT fk_ok('jobs', 'batch_id', 'batches', 'id');
SELECT results_eq(
    $$SELECT conname::text COLLATE "default", confdeltype::text FROM pg_constraint
       WHERE contype = 'f'
         AND (conrelid = 'batches'::regclass
              OR (conrelid = 'jobs'::regclass AND confrelid = 'batches'::regclass))
       ORDER BY 1$$,
    $$VALUES ('batches_creator_job_id_fkey', 'n'), ('batches_event_id_fkey', 'a'),
             ('batches_recipe_type_id_fkey', 'a'), ('batches_user_id_fkey', 'c'),
             ('jobs_batch_id_fkey', 'n')$$,
    'ON DELETE: a user''s batches cascade, a deleted creator job or batch sets NULL, recipe types and events are kept');

SELECT col_is_pk('batch_buckets', ARRAY['user_id', 'recipe_type_id', 'status', 'day']);
SELECT col_type_is('batch_buckets', 'day', 'timestamp with time zone');
SELECT col_type_is('batch_buckets', 'n', 'bigint');

-- ---- indexes -------------------------------------------------------------------
SELECT has_index('batches', 'batches_modified_idx', ARRAY['last_modified', 'id']);
SELECT has_index('batches', 'batches_user_modified_idx',
                 ARRAY['user_id', 'last_modified', 'id']);
SELECT has_index('batches', 'batches_created_idx', ARRAY['created', 'id']);
SELECT has_index('batches', 'batches_user_created_idx',
                 ARRAY['user_id', 'created', 'id']);
SELECT has_index('batches', 'batches_recipe_type_idx',
                 ARRAY['recipe_type_id', 'last_modified', 'id']);
SELECT has_index('batches', 'batches_creator_idx', ARRAY['creator_job_id']);
SELECT has_index('jobs', 'jobs_batch_source_idx', ARRAY['batch_id', 'batch_source_id']);
SELECT index_is_unique('jobs', 'jobs_batch_source_idx');
SELECT has_index('jobs', 'jobs_user_recipe_type_idx',
                 ARRAY['user_id', 'recipe_type_id', 'created_at']);
SELECT has_index('jobs', 'jobs_creator_ready_idx', ARRAY['id']);
SELECT has_index('jobs', 'jobs_batch_idx', ARRAY['batch_id']);
SELECT results_eq(
    $$SELECT c.relname::text COLLATE "default", pg_get_expr(i.indpred, i.indrelid) COLLATE "default"
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relname IN ('jobs_batch_source_idx', 'jobs_user_recipe_type_idx',
                           'jobs_creator_ready_idx', 'jobs_batch_idx',
                           'batches_modified_idx')
       ORDER BY 1$$,
    $$VALUES ('batches_modified_idx', NULL::text),
             ('jobs_batch_idx', '(batch_id IS NOT NULL)'),
             ('jobs_batch_source_idx', '(batch_id IS NOT NULL)'),
             ('jobs_creator_ready_idx', '((state = ''ready''::job_state) AND (job_type_id IS NOT NULL))'),
             ('jobs_user_recipe_type_idx', '(recipe_type_id IS NOT NULL)')$$,
    'the partial indexes and their predicates (the listing index is not partial)');

-- ---- triggers and functions --------------------------------------------------------
SELECT trigger_is('jobs', 'jobs_batch_failed_ins', 'batch_failed_bump');
SELECT trigger_is('jobs', 'jobs_batch_failed_upd', 'batch_failed_bump');
SELECT trigger_is('jobs', 'jobs_batch_failed_del', 'batch_failed_bump');
SELECT trigger_is('batches', 'batches_count_ins', 'batch_buckets_stmt');
SELECT trigger_is('batches', 'batches_count_del', 'batch_buckets_stmt');
SELECT trigger_is('batches', 'batches_count_upd', 'batch_buckets_row');
SELECT results_eq(
    $$SELECT tgname::text COLLATE "default",
             (tgtype & 1) <> 0,                       -- row level
             (tgtype & 2) <> 0,                       -- before
             CASE WHEN (tgtype & 4) <> 0 THEN 'INSERT'
                  WHEN (tgtype & 8) <> 0 THEN 'DELETE'
                  WHEN (tgtype & 16) <> 0 THEN 'UPDATE' END,
             tgqual IS NOT NULL,
             tgnewtable IS NOT NULL OR tgoldtable IS NOT NULL
        FROM pg_trigger
       WHERE tgrelid IN ('jobs'::regclass, 'batches'::regclass) AND NOT tgisinternal
         AND tgname ~ '^(jobs_batch_failed|batches_count)_'
       ORDER BY 1$$,
    $$VALUES ('batches_count_del', false, false, 'DELETE', false, true),
             ('batches_count_ins', false, false, 'INSERT', false, true),
             ('batches_count_upd', true, false, 'UPDATE', true, false),
             ('jobs_batch_failed_del', true, false, 'DELETE', true, false),
             ('jobs_batch_failed_ins', true, false, 'INSERT', true, false),
             ('jobs_batch_failed_upd', true, false, 'UPDATE', true, false)$$,
    'triggers: AFTER; inserts and deletes of batches per statement with a transition table; the rest per row with a WHEN clause');

SELECT has_function('status_003', ARRAY['job_state']);
SELECT has_function('batch_day', ARRAY['timestamp with time zone']);
SELECT has_function('batch_buckets_add',
    ARRAY['bigint[]', 'bigint[]', 'text[]', 'timestamp with time zone[]', 'integer[]']);
SELECT has_function('batch_buckets_rebuild', ARRAY[]::text[]);
SELECT has_function('batch_count_range',
    ARRAY['bigint', 'text[]', 'bigint[]', 'timestamp with time zone',
          'timestamp with time zone']);
SELECT has_function('batch_window',
    ARRAY['bigint', 'text[]', 'bigint[]', 'text[]', 'timestamp with time zone',
          'timestamp with time zone', 'boolean', 'bigint']);
SELECT has_function('batch_matches', ARRAY['bigint', 'bigint', 'jsonb', 'bigint']);
SELECT has_function('batch_preview', ARRAY['bigint', 'bigint', 'jsonb']);
SELECT has_function('batch_submit', ARRAY['bigint', 'bigint', 'text', 'text', 'jsonb']);
SELECT has_function('batch_create', ARRAY['bigint']);
SELECT has_function('batch_run_next_creator', ARRAY['integer']);
SELECT volatility_is('batch_window',
    ARRAY['bigint', 'text[]', 'bigint[]', 'text[]', 'timestamp with time zone',
          'timestamp with time zone', 'boolean', 'bigint'], 'stable');
SELECT volatility_is('batch_matches', ARRAY['bigint', 'bigint', 'jsonb', 'bigint'], 'stable');
SELECT volatility_is('batch_preview', ARRAY['bigint', 'bigint', 'jsonb'], 'stable');

-- ---- status_003 and batch_day -------------------------------------------------
SELECT volatility_is('status_003', ARRAY['job_state'], 'immutable');
-- Not STRICT, so that it inlines into the listing's SELECT.
SELECT isnt_strict('status_003', ARRAY['job_state']);
SELECT results_eq(
    $$SELECT s::text, status_003(s)
        FROM unnest(enum_range(NULL::job_state)) WITH ORDINALITY AS t (s, i)
       ORDER BY i$$,
    $$VALUES ('ready', 'PENDING'), ('queued', 'QUEUED'), ('running', 'RUNNING'),
             ('succeeded', 'COMPLETED'), ('failed', 'FAILED'),
             ('canceled', 'CANCELED')$$,
    'status_003: Scale''s word for every state');
SELECT is(status_003(NULL), NULL, 'status_003: no state, no word');

SELECT volatility_is('batch_day', ARRAY['timestamp with time zone'], 'immutable');
SELECT results_eq(
    $$SELECT batch_day(t) FROM unnest(ARRAY[
          '2001-02-03 23:59:59.999999+00', '2001-02-04 00:00:00+00',
          '2001-02-04 00:00:00.000001+00', '2001-02-04 01:30:00+02',
          '2001-02-03 20:00:00-05']::timestamptz[]) WITH ORDINALITY AS u (t, i)
       ORDER BY i$$,
    $$VALUES ('2001-02-03 00:00:00+00'::timestamptz), ('2001-02-04 00:00:00+00'),
             ('2001-02-04 00:00:00+00'), ('2001-02-03 00:00:00+00'),
             ('2001-02-04 00:00:00+00')$$,
    'batch_day: the UTC midnight of the instant, whatever zone it was written in');
SET LOCAL TimeZone = 'Pacific/Auckland';
SELECT is(batch_day('2001-02-03 23:59:59.999999+00'), '2001-02-03 00:00:00+00',
          'batch_day: the session''s time zone does not matter');
SET LOCAL TimeZone = 'UTC';

-- ---- constraints -------------------------------------------------------------------
SELECT throws_ok($$INSERT INTO recipe_types (name, version) VALUES ('', '1')$$,
    '23514', 'new row for relation "recipe_types" violates check constraint "recipe_types_name_check"',
    'recipe type: an empty name is refused');
SELECT throws_ok($$INSERT INTO recipe_types (name, version) VALUES ('a b', '1')$$,
    '23514', NULL, 'recipe type: a name with a space is refused');
SELECT throws_ok($$INSERT INTO recipe_types (name, version) VALUES ('-ab', '1')$$,
    '23514', NULL, 'recipe type: a name must start with a letter or digit');
SELECT throws_ok($$INSERT INTO recipe_types (name, version) VALUES ('a' || repeat('b', 64), '1')$$,
    '23514', NULL, 'recipe type: a 65-character name is refused');
SELECT lives_ok($$INSERT INTO recipe_types (name, version) VALUES ('tb-Z.' || repeat('b_-', 19) || 'xx', '1')$$,
    'recipe type: a 64-character name of [A-Za-z0-9._-] is fine');
SELECT throws_ok($$INSERT INTO recipe_types (name, version) VALUES ('tb-v', '+1')$$,
    '23514', 'new row for relation "recipe_types" violates check constraint "recipe_types_version_check"',
    'recipe type: a version must start with a letter or digit');
SELECT throws_ok($$INSERT INTO recipe_types (name, version) VALUES ('tb-v', '1 2')$$,
    '23514', NULL, 'recipe type: a version with a space is refused');
SELECT throws_ok($$INSERT INTO recipe_types (name, version) VALUES ('tb-v', '1' || repeat('0', 50))$$,
    '23514', NULL, 'recipe type: a 51-character version is refused');
SELECT lives_ok($$INSERT INTO recipe_types (name, version) VALUES ('tb-v', '1.0+build_7-rc.' || repeat('9', 35))$$,
    'recipe type: a 50-character version with + . _ - is fine');
SELECT throws_ok($$INSERT INTO recipe_types (name, version, title) VALUES ('tb-v', '2', repeat('t', 256))$$,
    '23514', 'new row for relation "recipe_types" violates check constraint "recipe_types_title_check"',
    'recipe type: a 256-character title is refused');
SELECT throws_ok($$INSERT INTO recipe_types (name, version, description) VALUES ('tb-v', '2', repeat('d', 4001))$$,
    '23514', 'new row for relation "recipe_types" violates check constraint "recipe_types_description_check"',
    'recipe type: a 4001-character description is refused');
SELECT lives_ok($$INSERT INTO recipe_types (name, version, title, description)
                  VALUES ('tb-v', '2', repeat('t', 255), repeat('d', 4000))$$,
    'recipe type: a 255-character title and a 4000-character description are fine');
SELECT throws_ok($$INSERT INTO recipe_types (name, version) VALUES ('tb-v', '2')$$,
    '23505', 'duplicate key value violates unique constraint "recipe_types_name_version_key"',
    'recipe type: (name, version) is unique');
SELECT lives_ok($$INSERT INTO recipe_types (name, version) VALUES ('tb-v', '3')$$,
    'recipe type: the same name with another version is fine');

SELECT throws_ok($$INSERT INTO trigger_events (type) VALUES ('user')$$,
    '23514', 'new row for relation "trigger_events" violates check constraint "trigger_events_type_check"',
    'trigger event: the type is an upper-case word');
SELECT throws_ok($$INSERT INTO trigger_events (type) VALUES ('A' || repeat('B', 32))$$,
    '23514', NULL, 'trigger event: a 33-character type is refused');
SELECT lives_ok($$INSERT INTO trigger_events (type) VALUES ('A' || repeat('_', 31))$$,
    'trigger event: a 32-character type of [A-Z_] is fine');

-- ---- fixtures and shorthands ------------------------------------------------
INSERT INTO users (name) VALUES ('tb-alice'), ('tb-bob'), ('tb-carol'),
                                ('tb-dave'), ('tb-erin'), ('tb-frank');
INSERT INTO recipe_types (name, version, title) VALUES
    ('tb-rt-a', '1.0', 'A one'), ('tb-rt-a', '2.0', 'A two'),
    ('tb-rt-a', '3.0', 'A three'), ('tb-rt-b', '1.0', 'B'),
    ('tb-rt-c', '1.0', 'C, never used by a batch');

CREATE FUNCTION pg_temp.uid(p_name text) RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT id FROM users WHERE name = p_name $$;
-- 'a1' = tb-rt-a 1.0, 'a2', 'a3', 'b1', 'c1'
CREATE FUNCTION pg_temp.rt(p_short text) RETURNS bigint LANGUAGE sql STABLE
AS $$
    SELECT id FROM recipe_types
     WHERE name = 'tb-rt-' || left(p_short, 1)
       AND version = right(p_short, 1) || '.0'
$$;
-- one trigger event for the fixture batches
CREATE TEMP TABLE tb_event AS
    WITH e AS (INSERT INTO trigger_events (type) VALUES ('USER') RETURNING id)
    SELECT id FROM e;
CREATE FUNCTION pg_temp.ev() RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT id FROM tb_event $$;

-- a batch, inserted directly (batch_submit is tested on its own below)
CREATE FUNCTION pg_temp.mkbatch(p_user text, p_rt text, p_status text,
    p_lm timestamptz, p_title text DEFAULT NULL, p_def jsonb DEFAULT '{}')
    RETURNS bigint LANGUAGE sql
AS $$
    INSERT INTO batches (user_id, title, status, recipe_type_id, event_id,
                         definition, created, last_modified)
    VALUES (pg_temp.uid(p_user), p_title, p_status::batch_status,
            pg_temp.rt(p_rt), pg_temp.ev(), p_def, p_lm, p_lm)
    RETURNING id
$$;
CREATE PROCEDURE pg_temp.addbatch(p_user text, p_rt text, p_status text,
    p_lm timestamptz, p_title text DEFAULT NULL, p_def jsonb DEFAULT '{}')
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_temp.mkbatch(p_user, p_rt, p_status, p_lm, p_title, p_def);
END
$$;
CREATE FUNCTION pg_temp.b(p_title text) RETURNS batches LANGUAGE sql STABLE
AS $$ SELECT * FROM batches WHERE title = p_title $$;

-- label -> job id
CREATE TEMP TABLE tbj (label text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION pg_temp.j(p_label text) RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT id FROM tbj WHERE label = p_label $$;
CREATE FUNCTION pg_temp.jl(p_id bigint) RETURNS text LANGUAGE sql STABLE
AS $$ SELECT label FROM tbj WHERE id = p_id $$;
-- a job of a recipe type (p_rt NULL: a plain job), remembered under a label
CREATE PROCEDURE pg_temp.mkjob(p_label text, p_user text, p_rt text,
    p_state text, p_name text DEFAULT NULL,
    p_created timestamptz DEFAULT '2001-04-01 00:00:00+00',
    p_started timestamptz DEFAULT NULL, p_finished timestamptz DEFAULT NULL,
    p_batch bigint DEFAULT NULL, p_prio integer DEFAULT 1,
    p_queue text DEFAULT 'tb-q', p_params jsonb DEFAULT '{}')
    LANGUAGE plpgsql
AS $$
DECLARE
    v bigint;
BEGIN
    INSERT INTO jobs (user_id, name, queue, state, priority, params,
                      recipe_type_id, batch_id, created_at, started_at,
                      finished_at, lease_token)
    VALUES (pg_temp.uid(p_user), coalesce(p_name, p_label), p_queue,
            p_state::job_state, p_prio, p_params, pg_temp.rt(p_rt), p_batch,
            p_created, p_started, p_finished,
            CASE WHEN p_state = 'running' THEN gen_random_uuid() END)
    RETURNING id INTO v;
    INSERT INTO tbj VALUES (p_label, v);
END
$$;

-- Row counts of every table of the public schema, and the rows this
-- transaction has inserted, updated or deleted in them: "no side effects".
CREATE FUNCTION pg_temp.table_counts()
    RETURNS TABLE (tbl text, n bigint, written bigint) LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname::text AS rel FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
              ORDER BY 1 LOOP
        tbl := r.rel;
        EXECUTE format('SELECT count(*) FROM public.%I', r.rel) INTO n;
        SELECT s.n_tup_ins + s.n_tup_upd + s.n_tup_del INTO written
          FROM pg_stat_xact_user_tables s
         WHERE s.schemaname = 'public' AND s.relname = r.rel;
        RETURN NEXT;
    END LOOP;
END
$$;

-- The buckets recounted from the batches table, one GROUP BY per roll-up
-- level, with the day computed without batch_day.  bucket_diff: rows that
-- are in batch_buckets (n <> 0) but not in the recount, or the other way
-- round; level says which of owner, recipe type, status is "every".
CREATE TEMP VIEW bucket_recount AS
    WITH b AS (SELECT user_id, recipe_type_id, status::text AS status,
                      date_trunc('day', last_modified AT TIME ZONE 'UTC')
                          AT TIME ZONE 'UTC' AS day
                 FROM batches)
    SELECT user_id, recipe_type_id, status, day, count(*) AS n FROM b
     GROUP BY user_id, recipe_type_id, status, day
    UNION ALL
    SELECT user_id, recipe_type_id, '', day, count(*) FROM b
     GROUP BY user_id, recipe_type_id, day
    UNION ALL
    SELECT user_id, 0, status, day, count(*) FROM b
     GROUP BY user_id, status, day
    UNION ALL
    SELECT user_id, 0, '', day, count(*) FROM b GROUP BY user_id, day
    UNION ALL
    SELECT 0, recipe_type_id, status, day, count(*) FROM b
     GROUP BY recipe_type_id, status, day
    UNION ALL
    SELECT 0, recipe_type_id, '', day, count(*) FROM b
     GROUP BY recipe_type_id, day
    UNION ALL
    SELECT 0, 0, status, day, count(*) FROM b GROUP BY status, day
    UNION ALL
    SELECT 0, 0, '', day, count(*) FROM b GROUP BY day;
CREATE TEMP VIEW bucket_diff AS
    WITH kept AS (SELECT user_id, recipe_type_id, status, day, n
                    FROM batch_buckets WHERE n <> 0),
         diff AS ((SELECT 'extra' AS what, * FROM
                       (SELECT * FROM kept EXCEPT ALL SELECT * FROM bucket_recount) x)
                  UNION ALL
                  (SELECT 'missing', * FROM
                       (SELECT * FROM bucket_recount EXCEPT ALL SELECT * FROM kept) y))
    SELECT CASE WHEN user_id = 0 THEN '*' ELSE 'u' END
           || CASE WHEN recipe_type_id = 0 THEN '*' ELSE 'r' END
           || CASE WHEN status = '' THEN '*' ELSE 's' END AS level, *
      FROM diff;
-- the physical versions of the bucket rows: an UPDATE makes new ones
CREATE TEMP VIEW bucket_versions AS
    SELECT ctid::text AS v, user_id, recipe_type_id, status, day, n
      FROM batch_buckets;

-- ---- batch_run_next_creator: nothing waiting; SKIP LOCKED ------------------------
-- Committed creator jobs from elsewhere (a database without a dispatcher
-- may have some) are hidden from this transaction; it keeps their locks,
-- so a dispatcher skips them too.
UPDATE jobs SET state = 'queued' WHERE state = 'ready' AND job_type_id IS NOT NULL;
SELECT is_empty($$SELECT * FROM batch_run_next_creator(3)$$,
                'run_next_creator: no row when no creator job waits');

CREATE EXTENSION IF NOT EXISTS dblink;
CREATE TEMP TABLE tbskip (label text PRIMARY KEY, batch bigint, job bigint);
CREATE TEMP TABLE tbskip_note (dispatcher boolean, stuck boolean);
DO $$
DECLARE
    v_name text := 'tb-skip-' || pg_backend_pid();
    v_conn text := format('host=%s port=%s dbname=%s user=%s',
        split_part(current_setting('unix_socket_directories'), ',', 1),
        current_setting('port'), current_database(), current_user);
    v_dpid integer;
    v_disp boolean;
    v_stuck boolean := false;
    i integer;
BEGIN
    PERFORM dblink_connect('tbe', v_conn);
    PERFORM dblink_connect('tbd', v_conn);
    -- Committed: a user, a recipe type, an event and batches x, y, z with
    -- creator jobs in that id order, not ready yet.  x is CREATED already
    -- at this transaction's now(), so that running it here moves no
    -- bucket (see the top of the file).
    PERFORM dblink_exec('tbe', format(
        $f$WITH u AS (INSERT INTO users (name) VALUES (%1$L) RETURNING id),
                r AS (INSERT INTO recipe_types (name, version) VALUES (%1$L, '1')
                      RETURNING id),
                e AS (INSERT INTO trigger_events (type) VALUES ('TB_SKIP')
                      RETURNING id),
                b AS (INSERT INTO batches (user_id, title, status, recipe_type_id,
                                           event_id, definition, last_modified)
                      SELECT u.id, t.title, t.status::batch_status, r.id, e.id,
                             '{}', t.lm
                        FROM u, r, e,
                             (VALUES ('x', 'CREATED', %2$L::timestamptz),
                                     ('y', 'SUBMITTED', now()),
                                     ('z', 'SUBMITTED', now())) t (title, status, lm)
                      RETURNING id, title, user_id, event_id)
           INSERT INTO jobs (user_id, name, surface, queue, state, job_type_id,
                             event_id, params)
           SELECT user_id, 'batch-creator-' || id, 'batches', 'docket.batches',
                  'queued', 1, event_id, jsonb_build_object('batch_id', id)
             FROM b ORDER BY title$f$, v_name, now()));
    INSERT INTO tbskip
    SELECT b.title, b.id, j.id FROM batches b
      JOIN jobs j ON j.params->>'batch_id' = b.id::text AND j.job_type_id = 1
     WHERE b.user_id = (SELECT id FROM users WHERE name = v_name);
    -- the third session holds z's batch
    SELECT pid INTO v_dpid FROM dblink('tbd', 'SELECT pg_backend_pid()') AS t (pid integer);
    PERFORM dblink_exec('tbd', 'BEGIN');
    PERFORM * FROM dblink('tbd', format('SELECT id FROM batches WHERE id = %s FOR UPDATE',
                          (SELECT batch FROM tbskip WHERE label = 'z'))) AS t (id bigint);
    v_disp := EXISTS (SELECT 1 FROM pg_stat_activity
                       WHERE application_name = 'docket-dispatcher'
                         AND datname = current_database());
    IF v_disp THEN
        PERFORM dblink_exec('tbe', format(
            'UPDATE jobs SET state = ''ready'' WHERE id = %s',
            (SELECT job FROM tbskip WHERE label = 'z')));
        FOR i IN 1 .. 200 LOOP
            v_stuck := EXISTS (SELECT 1 FROM pg_locks l
                                WHERE NOT l.granted
                                  AND v_dpid = ANY(pg_blocking_pids(l.pid)));
            EXIT WHEN v_stuck;
            PERFORM pg_sleep(0.05);
        END LOOP;
        IF NOT v_stuck THEN
            -- no active dispatcher after all: the decoy goes back
            PERFORM dblink_exec('tbe', format(
                'SET lock_timeout = ''3s''; UPDATE jobs SET state = ''queued'' WHERE id = %s',
                (SELECT job FROM tbskip WHERE label = 'z')));
        END IF;
    END IF;
    INSERT INTO tbskip_note VALUES (v_disp, v_stuck);
    PERFORM dblink_exec('tbe', format(
        'UPDATE jobs SET state = ''ready'' WHERE id IN (%s, %s); SET lock_timeout = ''3s''',
        (SELECT job FROM tbskip WHERE label = 'x'),
        (SELECT job FROM tbskip WHERE label = 'y')));
END
$$;
-- the other session's batch_run_next_creator, as label:created (an error
-- as its text: a wait on the locked job would end in lock_timeout)
CREATE FUNCTION pg_temp.remote_creator() RETURNS text LANGUAGE plpgsql
AS $$
DECLARE
    v text;
BEGIN
    SELECT coalesce(string_agg(coalesce(s.label, r.batch_id::text) || ':' || r.created, ','), '')
      INTO v
      FROM dblink('tbe', 'SELECT batch_id, created FROM batch_run_next_creator(3)')
           AS r (batch_id bigint, created boolean)
      LEFT JOIN tbskip s ON s.batch = r.batch_id;
    RETURN v;
EXCEPTION WHEN OTHERS THEN
    RETURN 'error: ' || SQLERRM;
END
$$;
-- This session runs (and so locks) the first waiting creator job inside a
-- savepoint; the other session's runs must pass it instead of waiting for
-- it.  The results go to psql variables: ROLLBACK TO SAVEPOINT (which
-- releases the lock) would also undo assertions made inside it.
SAVEPOINT skip;
SELECT (SELECT coalesce(string_agg(coalesce(s.label, r.batch_id::text) || ':' || r.created, ','), '')
          FROM batch_run_next_creator(3) r LEFT JOIN tbskip s ON s.batch = r.batch_id)
       AS skip_here
\gset
SELECT pg_temp.remote_creator() AS skip_there1
\gset
SELECT pg_temp.remote_creator() AS skip_there2
\gset
ROLLBACK TO SAVEPOINT skip;
SELECT string_agg(s.label || ':' || j.state || ':' || j.attempts, ',' ORDER BY s.label)
       AS skip_jobs
  FROM tbskip s JOIN jobs j ON j.id = s.job WHERE s.label IN ('x', 'y')
\gset
SELECT string_agg(s.label || ':' || b.status || ':' || b.last_modified::text, ',' ORDER BY s.label)
       AS skip_batches
  FROM tbskip s JOIN batches b ON b.id = s.batch WHERE s.label IN ('x', 'y')
\gset
DO $$
DECLARE
    i integer;
BEGIN
    -- x must not be run by a dispatcher once z's batch is free
    PERFORM dblink_exec('tbe', format(
        'UPDATE jobs SET state = ''queued'' WHERE id = %s',
        (SELECT job FROM tbskip WHERE label = 'x')));
    PERFORM dblink_exec('tbd', 'ROLLBACK');
    PERFORM dblink_disconnect('tbd');
    -- a dispatcher stuck on z now runs it: let it finish before the delete
    IF (SELECT stuck FROM tbskip_note) THEN
        FOR i IN 1 .. 200 LOOP
            EXIT WHEN (SELECT state FROM jobs
                        WHERE id = (SELECT job FROM tbskip WHERE label = 'z'))
                      IS DISTINCT FROM 'ready';
            PERFORM pg_sleep(0.05);
        END LOOP;
    END IF;
    PERFORM dblink_exec('tbe', format(
        $f$DELETE FROM users WHERE name = %1$L;
           DELETE FROM recipe_types WHERE name = %1$L;
           DELETE FROM trigger_events WHERE type = 'TB_SKIP'$f$,
        'tb-skip-' || pg_backend_pid()));
    PERFORM dblink_disconnect('tbe');
END
$$;
SELECT diag(CASE WHEN stuck THEN 'SKIP LOCKED: a dispatcher ran, held off on the decoy'
                 WHEN dispatcher THEN 'SKIP LOCKED: a dispatcher connection, but none took the decoy'
                 ELSE 'SKIP LOCKED: no dispatcher' END)
  FROM tbskip_note;
SELECT is(:'skip_here'::text, 'x:true',
          'SKIP LOCKED: this session runs the first waiting creator job');
SELECT is(:'skip_there1'::text, 'y:true',
          'SKIP LOCKED: another session meanwhile runs the next one at once (no wait on the locked one)');
SELECT is(:'skip_there2'::text, '',
          'SKIP LOCKED: its next call returns no row rather than the locked job');
SELECT is(:'skip_jobs'::text, 'x:ready:0,y:succeeded:1',
          'SKIP LOCKED: after this session rolled back, x waits again untouched; y ran once');
SELECT is(split_part(:'skip_batches'::text, ',', 2) ~ '^y:CREATED:', true,
          'SKIP LOCKED: the other session created y''s batch');
SELECT is_empty($$SELECT 1 FROM users WHERE name LIKE 'tb-skip-%'$$,
                'SKIP LOCKED: the committed fixture is gone again');

-- ---- batches: constraints ----------------------------------------------------
CREATE FUNCTION pg_temp.ins_batch(p_set text) RETURNS void LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format($f$INSERT INTO batches (user_id, recipe_type_id, event_id,
                                          definition, last_modified)
                      SELECT %s, %s, %s, '{}', '2002-12-31 00:00+00'$f$,
                   pg_temp.uid('tb-alice'), pg_temp.rt('a1'), pg_temp.ev());
    EXECUTE format('UPDATE batches SET %s WHERE last_modified = %L',
                   p_set, '2002-12-31 00:00+00');
END
$$;
SELECT lives_ok($$SELECT pg_temp.ins_batch('title = repeat(''t'', 255), description = repeat(''d'', 4000), created_count = 0, failed_count = 0, total_count = 0')$$,
    'batch: a 255-character title, a 4000-character description and counts of 0 are fine');
SELECT throws_ok($$SELECT pg_temp.ins_batch('title = repeat(''t'', 256)')$$,
    '23514', 'new row for relation "batches" violates check constraint "batches_title_check"',
    'batch: a 256-character title is refused');
SELECT throws_ok($$SELECT pg_temp.ins_batch('description = repeat(''d'', 4001)')$$,
    '23514', 'new row for relation "batches" violates check constraint "batches_description_check"',
    'batch: a 4001-character description is refused');
SELECT throws_ok($$SELECT pg_temp.ins_batch('definition = ''[]''')$$,
    '23514', 'new row for relation "batches" violates check constraint "batches_definition_check"',
    'batch: a definition that is not a JSON object is refused');
SELECT throws_ok($$SELECT pg_temp.ins_batch('created_count = -1')$$,
    '23514', 'new row for relation "batches" violates check constraint "batches_created_count_check"',
    'batch: created_count is never negative');
SELECT throws_ok($$SELECT pg_temp.ins_batch('failed_count = -1')$$,
    '23514', 'new row for relation "batches" violates check constraint "batches_failed_count_check"',
    'batch: failed_count is never negative');
SELECT throws_ok($$SELECT pg_temp.ins_batch('total_count = -1')$$,
    '23514', 'new row for relation "batches" violates check constraint "batches_total_count_check"',
    'batch: total_count is never negative');
SELECT throws_ok($$SELECT pg_temp.ins_batch('status = ''DONE''')$$,
    '22P02', 'invalid input value for enum batch_status: "DONE"',
    'batch: a status outside SUBMITTED, CREATED is refused');
SELECT throws_ok($$INSERT INTO batches (user_id, recipe_type_id, event_id, definition)
                   VALUES (pg_temp.uid('tb-alice'), -1, pg_temp.ev(), '{}')$$,
    '23503', NULL, 'batch: the recipe type must exist');
SELECT results_eq(
    $$SELECT status::text, created_count, failed_count, total_count, created, last_modified,
             title, description, creator_job_id
        FROM batches WHERE last_modified = '2002-12-31 00:00+00'$$,
    $$VALUES ('SUBMITTED', 0, 0, 0, now(), '2002-12-31 00:00+00'::timestamptz,
              repeat('t', 255), repeat('d', 4000), NULL::bigint)$$,
    'batch: defaults SUBMITTED, counts 0, created now');
DELETE FROM batches WHERE last_modified = '2002-12-31 00:00+00';

-- ---- failed_count ------------------------------------------------------------
CALL pg_temp.addbatch('tb-carol', 'a1', 'SUBMITTED', '2002-03-01 10:00+00', 'fc-1');
CALL pg_temp.addbatch('tb-carol', 'a1', 'SUBMITTED', '2002-03-01 10:00+00', 'fc-2');
CREATE TEMP VIEW fc AS
    SELECT (SELECT failed_count FROM batches WHERE title = 'fc-1') AS one,
           (SELECT failed_count FROM batches WHERE title = 'fc-2') AS two;

CALL pg_temp.mkjob('fc-f1', 'tb-carol', 'a1', 'failed', p_batch => (pg_temp.b('fc-1')).id);
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (1, 0)',
                  'failed_count: a failed job inserted into a batch counts');
CALL pg_temp.mkjob('fc-q1', 'tb-carol', 'a1', 'queued', p_batch => (pg_temp.b('fc-1')).id);
CALL pg_temp.mkjob('fc-s1', 'tb-carol', 'a1', 'succeeded', p_batch => (pg_temp.b('fc-1')).id);
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (1, 0)',
                  'failed_count: jobs in other states do not');
UPDATE jobs SET state = 'failed' WHERE id = pg_temp.j('fc-q1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (2, 0)',
                  'failed_count: an update into failed counts');
UPDATE jobs SET error = 'again', updated_at = now() WHERE id = pg_temp.j('fc-q1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (2, 0)',
                  'failed_count: an update of a failed job that stays failed does not count twice');
UPDATE jobs SET state = 'queued' WHERE id = pg_temp.j('fc-q1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (1, 0)',
                  'failed_count: an update out of failed uncounts');
UPDATE jobs SET batch_id = (pg_temp.b('fc-2')).id WHERE id = pg_temp.j('fc-f1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (0, 1)',
                  'failed_count: a failed job moved to another batch moves its count');
UPDATE jobs SET batch_id = (pg_temp.b('fc-2')).id WHERE id = pg_temp.j('fc-s1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (0, 1)',
                  'failed_count: a succeeded job moved between batches moves nothing');
UPDATE jobs SET batch_id = (pg_temp.b('fc-1')).id, state = 'failed'
 WHERE id = pg_temp.j('fc-s1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (1, 1)',
                  'failed_count: moved and failed in one update: counted in the new batch only');
UPDATE jobs SET batch_id = (pg_temp.b('fc-2')).id, state = 'succeeded'
 WHERE id = pg_temp.j('fc-s1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (0, 1)',
                  'failed_count: moved and no longer failed: uncounted in the old batch');
UPDATE jobs SET batch_id = NULL WHERE id = pg_temp.j('fc-f1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (0, 0)',
                  'failed_count: a failed job taken out of its batch uncounts');
UPDATE jobs SET batch_id = (pg_temp.b('fc-1')).id WHERE id = pg_temp.j('fc-f1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (1, 0)',
                  'failed_count: a failed job put into a batch counts');
UPDATE jobs SET state = 'failed'
 WHERE id IN (pg_temp.j('fc-q1'), pg_temp.j('fc-s1'));
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (2, 1)',
                  'failed_count: a multi-row update counts each job in its batch');
DELETE FROM jobs WHERE id = pg_temp.j('fc-f1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (1, 1)',
                  'failed_count: deleting a failed job uncounts');
UPDATE jobs SET state = 'succeeded' WHERE id = pg_temp.j('fc-q1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (0, 1)',
                  'failed_count: failed to succeeded (a retry) uncounts');
DELETE FROM jobs WHERE id = pg_temp.j('fc-q1');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (0, 1)',
                  'failed_count: deleting a job that is not failed changes nothing');
SELECT results_eq(
    $$SELECT last_modified, status::text FROM batches WHERE title IN ('fc-1', 'fc-2')$$,
    $$VALUES ('2002-03-01 10:00+00'::timestamptz, 'SUBMITTED'),
             ('2002-03-01 10:00+00'::timestamptz, 'SUBMITTED')$$,
    'failed_count upkeep leaves last_modified and status alone');

-- jobs without a batch never touch batches
CREATE TEMP TABLE fc_before AS
    SELECT written FROM pg_temp.table_counts() WHERE tbl = 'batches';
CALL pg_temp.mkjob('fc-plain', 'tb-carol', NULL, 'failed');
UPDATE jobs SET state = 'queued' WHERE id = pg_temp.j('fc-plain');
UPDATE jobs SET state = 'failed' WHERE id = pg_temp.j('fc-plain');
DELETE FROM jobs WHERE id = pg_temp.j('fc-plain');
SELECT is((SELECT written FROM pg_temp.table_counts() WHERE tbl = 'batches'),
          (SELECT written FROM fc_before),
          'failed_count: a job without a batch, inserted failed, updated in and out of failed, deleted: no write to batches');
SELECT results_eq('SELECT one, two FROM fc', 'VALUES (0, 1)',
                  'failed_count: ... and the counts are unchanged');

-- a batch deleted under its failed jobs: they stay, batch_id NULL
DELETE FROM batches WHERE title = 'fc-2';
SELECT is((SELECT batch_id FROM jobs WHERE id = pg_temp.j('fc-s1')), NULL,
          'deleting a batch sets its jobs'' batch_id NULL (the job stays)');

-- ---- batch_buckets: the triggers -----------------------------------------------
SELECT is_empty('SELECT * FROM bucket_diff',
                'buckets: equal to a recount of the whole batches table (with the fixtures so far)');

-- Three batches on a day of their own: the eight roll-up rows, spelled out.
CALL pg_temp.addbatch('tb-alice', 'a1', 'SUBMITTED', '2002-01-05 00:00:00+00', 'bk-1');
CALL pg_temp.addbatch('tb-alice', 'a1', 'SUBMITTED', '2002-01-05 23:59:59.999999+00', 'bk-2');
CALL pg_temp.addbatch('tb-bob', 'b1', 'CREATED', '2002-01-05 12:00:00+00', 'bk-3');
CREATE FUNCTION pg_temp.bucket_rows(p_day timestamptz)
    RETURNS TABLE (u text, r text, s text, n bigint) LANGUAGE sql STABLE
AS $$
    SELECT * FROM (
        SELECT coalesce((SELECT name FROM users WHERE id = b.user_id), '*') AS u,
               coalesce((SELECT right(name, 1) || left(version, 1)
                           FROM recipe_types WHERE id = b.recipe_type_id), '*') AS r,
               CASE WHEN b.status = '' THEN '*' ELSE b.status END AS s, b.n
          FROM batch_buckets b WHERE b.day = p_day AND b.n <> 0) x
     ORDER BY u COLLATE "C", r COLLATE "C", s COLLATE "C"
$$;
SELECT results_eq(
    $$SELECT * FROM pg_temp.bucket_rows('2002-01-05 00:00:00+00')$$,
    $$VALUES ('*', '*', '*', 3::bigint), ('*', '*', 'CREATED', 1), ('*', '*', 'SUBMITTED', 2),
             ('*', 'a1', '*', 2), ('*', 'a1', 'SUBMITTED', 2),
             ('*', 'b1', '*', 1), ('*', 'b1', 'CREATED', 1),
             ('tb-alice', '*', '*', 2), ('tb-alice', '*', 'SUBMITTED', 2),
             ('tb-alice', 'a1', '*', 2), ('tb-alice', 'a1', 'SUBMITTED', 2),
             ('tb-bob', '*', '*', 1), ('tb-bob', '*', 'CREATED', 1),
             ('tb-bob', 'b1', '*', 1), ('tb-bob', 'b1', 'CREATED', 1)$$,
    'buckets: single-row inserts, 00:00:00 and 23:59:59.999999 in the same day, all eight levels');
SELECT is_empty($$SELECT * FROM batch_buckets WHERE day IN ('2002-01-04 00:00+00', '2002-01-06 00:00+00')$$,
                'buckets: nothing on the days either side');

-- a multi-row INSERT ... SELECT (one statement, one transition table)
INSERT INTO batches (user_id, title, status, recipe_type_id, event_id,
                     definition, created, last_modified)
SELECT (ARRAY[pg_temp.uid('tb-alice'), pg_temp.uid('tb-bob'), pg_temp.uid('tb-carol')])[1 + i % 3],
       'bk-m' || i,
       (ARRAY['SUBMITTED', 'CREATED'])[1 + (i / 3) % 2]::batch_status,
       (ARRAY[pg_temp.rt('a1'), pg_temp.rt('a2'), pg_temp.rt('a3'), pg_temp.rt('b1')])[1 + (i / 2) % 4],
       pg_temp.ev(), '{}', t, t
  FROM (SELECT i, '2002-01-06 00:00:00+00'::timestamptz + i * interval '97 minutes 1 microsecond' AS t
          FROM generate_series(0, 59) i) g;
SELECT is_empty('SELECT * FROM bucket_diff',
                'buckets: a 60-row INSERT ... SELECT over four days: equal to a recount');
SELECT is((SELECT n FROM batch_buckets WHERE user_id = 0 AND recipe_type_id = 0
                                        AND status = '' AND day = '2002-01-06 00:00+00'),
          (SELECT count(*) FROM batches WHERE title LIKE 'bk-m%'
                                          AND last_modified < '2002-01-07 00:00+00'),
          'buckets: the day total of the multi-row insert');
INSERT INTO batches (user_id, recipe_type_id, event_id, definition)
SELECT user_id, recipe_type_id, event_id, definition FROM batches WHERE false;
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: an INSERT of no rows is harmless');

-- updates of the counted columns
UPDATE batches SET status = 'CREATED' WHERE title IN ('bk-1', 'bk-m0', 'bk-m1', 'bk-m2');
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: status updated (several rows)');
SELECT results_eq(
    $$SELECT * FROM pg_temp.bucket_rows('2002-01-05 00:00:00+00') WHERE s <> '*'$$,
    $$VALUES ('*', '*', 'CREATED', 2::bigint), ('*', '*', 'SUBMITTED', 1),
             ('*', 'a1', 'CREATED', 1), ('*', 'a1', 'SUBMITTED', 1),
             ('*', 'b1', 'CREATED', 1),
             ('tb-alice', '*', 'CREATED', 1), ('tb-alice', '*', 'SUBMITTED', 1),
             ('tb-alice', 'a1', 'CREATED', 1), ('tb-alice', 'a1', 'SUBMITTED', 1),
             ('tb-bob', '*', 'CREATED', 1), ('tb-bob', 'b1', 'CREATED', 1)$$,
    'buckets: a status change moves one batch between the status rows of every level');
UPDATE batches SET last_modified = '2002-01-06 00:00:00+00' WHERE title = 'bk-2';
SELECT is_empty('SELECT * FROM bucket_diff',
                'buckets: last_modified moved from 23:59:59.999999 to the next day''s 00:00:00');
SELECT is((SELECT n FROM batch_buckets WHERE user_id = 0 AND recipe_type_id = 0
                                        AND status = '' AND day = '2002-01-05 00:00+00'),
          2::bigint, 'buckets: the day it left counts one less');
UPDATE batches SET last_modified = last_modified + interval '3 days 5 hours'
 WHERE title LIKE 'bk-m1%';
SELECT is_empty('SELECT * FROM bucket_diff',
                'buckets: last_modified moved several days (several rows)');
UPDATE batches SET last_modified = last_modified - interval '2 days'
 WHERE title IN ('bk-m3', 'bk-m4');
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: last_modified moved back');
UPDATE batches SET recipe_type_id = pg_temp.rt('a3') WHERE title IN ('bk-3', 'bk-m5');
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: recipe_type_id updated');
UPDATE batches SET user_id = pg_temp.uid('tb-dave') WHERE title IN ('bk-1', 'bk-m6', 'bk-m7');
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: user_id updated');
UPDATE batches SET user_id = pg_temp.uid('tb-carol'), recipe_type_id = pg_temp.rt('a2'),
                   status = 'SUBMITTED', last_modified = '2002-01-15 07:00+00'
 WHERE title IN ('bk-m8', 'bk-m9');
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: all four counted columns in one update');
UPDATE batches SET status = 'CREATED' WHERE false;
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: an UPDATE of no rows is harmless');

-- updates that move no batch between buckets write no bucket row
CREATE TEMP TABLE bv_before AS SELECT * FROM bucket_versions;
CREATE TEMP TABLE bw_before AS
    SELECT written FROM pg_temp.table_counts() WHERE tbl = 'batch_buckets';
UPDATE batches SET failed_count = failed_count + 1, title = title || '',
                   description = 'touched', definition = '{"all_jobs": true}',
                   total_count = 7, created_count = 7
 WHERE title LIKE 'bk-%';
UPDATE batches SET last_modified = last_modified + interval '1 microsecond'
 WHERE title = 'bk-1';
UPDATE batches SET status = status, user_id = user_id WHERE title LIKE 'bk-m%';
SELECT is((SELECT written FROM pg_temp.table_counts() WHERE tbl = 'batch_buckets'),
          (SELECT written FROM bw_before),
          'buckets: updates of uncounted columns, a move within the day and a no-op update write no bucket row');
SELECT set_eq('SELECT * FROM bucket_versions', 'SELECT * FROM bv_before',
              'buckets: ... every bucket row is the same row version');

-- deletes
DELETE FROM batches WHERE title = 'bk-3';
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: a single-row delete');
DELETE FROM batches WHERE title LIKE 'bk-m2%' OR title LIKE 'bk-m3%';
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: a multi-row delete');
INSERT INTO users (name) VALUES ('tb-gone');
SELECT pg_temp.uid('tb-gone') AS gone_uid
\gset
CALL pg_temp.addbatch('tb-gone', 'b1', 'CREATED', '2002-01-08 03:00+00', 'bk-gone-1');
CALL pg_temp.addbatch('tb-gone', 'a2', 'SUBMITTED', '2002-01-09 03:00+00', 'bk-gone-2');
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: batches of another user');
DELETE FROM users WHERE name = 'tb-gone';
SELECT is_empty($$SELECT 1 FROM batches WHERE title LIKE 'bk-gone-%'$$,
                'deleting a user deletes its batches');
SELECT is_empty('SELECT * FROM bucket_diff',
                'buckets: the batches a user''s delete cascaded to are uncounted');
SELECT is_empty(format('SELECT * FROM batch_buckets WHERE user_id = %s AND n <> 0', :'gone_uid'),
                'buckets: nothing left for the deleted user');
SELECT ok(EXISTS (SELECT 1 FROM batch_buckets WHERE user_id = :'gone_uid'),
          'buckets: (its rows were there)');
SELECT ok(EXISTS (SELECT 1 FROM batch_buckets WHERE n = 0),
          'buckets: emptied rows stay, with n = 0 (ignored by the readers)');
SELECT is_empty('SELECT * FROM batch_buckets WHERE n < 0', 'buckets: never negative');

-- ---- batch_window: fixtures ---------------------------------------------------------
-- 2001-02-01 .. 2001-02-10: 70 batches every 3 h 17 min 13.000001 s, three
-- owners, four recipe types (three versions of tb-rt-a), both statuses;
-- and batches at the edges: day boundaries, noon (where the last edge day
-- switches to counting the rows after ended), and ties.
INSERT INTO batches (user_id, title, status, recipe_type_id, event_id,
                     definition, created, last_modified)
SELECT (ARRAY[pg_temp.uid('tb-alice'), pg_temp.uid('tb-bob'), pg_temp.uid('tb-carol')])[1 + i % 3],
       'w-' || i,
       (ARRAY['SUBMITTED', 'CREATED'])[1 + (i / 2) % 2]::batch_status,
       (ARRAY[pg_temp.rt('a1'), pg_temp.rt('a2'), pg_temp.rt('a3'), pg_temp.rt('b1')])[1 + (i / 3) % 4],
       pg_temp.ev(), '{}', t, t
  FROM (SELECT i, '2001-02-01 00:00:00+00'::timestamptz
                  + i * interval '3 hours 17 minutes 13.000001 seconds' AS t
          FROM generate_series(0, 69) i) g;
INSERT INTO batches (user_id, title, status, recipe_type_id, event_id,
                     definition, created, last_modified)
SELECT pg_temp.uid(u), 'w-edge', s::batch_status, pg_temp.rt(r), pg_temp.ev(),
       '{}', t::timestamptz, t::timestamptz
  FROM (VALUES
    ('tb-alice', 'a1', 'SUBMITTED', '2001-02-01 00:00:00+00'),
    ('tb-alice', 'a1', 'SUBMITTED', '2001-02-03 23:59:59.999999+00'),
    ('tb-bob',   'a2', 'CREATED',   '2001-02-03 23:59:59.999999+00'),
    ('tb-alice', 'a1', 'CREATED',   '2001-02-04 00:00:00+00'),
    ('tb-alice', 'a3', 'SUBMITTED', '2001-02-04 00:00:00+00'),
    ('tb-carol', 'b1', 'CREATED',   '2001-02-04 00:00:00+00'),
    ('tb-bob',   'b1', 'CREATED',   '2001-02-05 11:59:59.999999+00'),
    ('tb-alice', 'a2', 'SUBMITTED', '2001-02-05 12:00:00+00'),
    ('tb-bob',   'a1', 'SUBMITTED', '2001-02-05 12:00:00+00'),
    ('tb-alice', 'a1', 'CREATED',   '2001-02-05 12:00:00+00'),
    ('tb-carol', 'a2', 'CREATED',   '2001-02-06 23:59:59.999999+00'),
    ('tb-alice', 'a2', 'CREATED',   '2001-02-07 00:00:00+00'),
    ('tb-alice', 'b1', 'SUBMITTED', '2001-02-08 18:00:00+00'),
    ('tb-bob',   'b1', 'SUBMITTED', '2001-02-08 18:00:00+00'),
    ('tb-alice', 'a3', 'CREATED',   '2001-02-08 18:00:00+00'),
    ('tb-alice', 'a1', 'SUBMITTED', '2001-02-08 18:00:00+00'),
    ('tb-carol', 'a1', 'CREATED',   '2001-02-10 23:59:59.999999+00'),
    -- around the switches to and from summer time in Europe (for the
    -- time zone checks at the end of this section)
    ('tb-alice', 'a1', 'SUBMITTED', '2001-03-25 22:30:00+00'),
    ('tb-alice', 'a1', 'SUBMITTED', '2001-03-25 23:30:00+00'),
    ('tb-bob',   'a2', 'CREATED',   '2001-03-26 00:30:00+00'),
    ('tb-alice', 'a1', 'SUBMITTED', '2001-10-28 00:30:00+00'),
    ('tb-alice', 'a3', 'CREATED',   '2001-10-28 23:30:00+00'),
    ('tb-bob',   'a1', 'SUBMITTED', '2001-10-29 00:30:00+00'),
    ('tb-alice', 'a1', 'CREATED',   '2001-10-29 00:59:59.999999+00'),
    ('tb-alice', 'b1', 'SUBMITTED', '2001-10-29 01:00:00+00')
  ) AS v (u, r, s, t);
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: the listing fixture is counted');

-- The listing cases: every combination of owner, status set, recipe type
-- filter and time range below.
CREATE TEMP TABLE wcase (
    n          serial PRIMARY KEY,
    range      text NOT NULL,
    p_user     bigint,
    p_status   text[],
    p_rt       bigint[],
    p_names    text[],
    p_started  timestamptz,
    p_ended    timestamptz NOT NULL
);
CREATE TEMP TABLE wrange (range text PRIMARY KEY, started timestamptz,
                          ended timestamptz NOT NULL);
INSERT INTO wrange VALUES
    ('everything up to now',                 NULL, now()),
    ('no start, ends 11:59:59.999999',       NULL, '2001-02-05 11:59:59.999999+00'),
    ('no start, ends at noon (subtract)',    NULL, '2001-02-05 12:00:00+00'),
    ('no start, ends 18:00 (subtract)',      NULL, '2001-02-08 18:00:00+00'),
    ('mid-day to mid-day (subtract)',        '2001-02-02 06:00:00+00', '2001-02-08 18:00:00+00'),
    ('whole days',                           '2001-02-02 00:00:00+00', '2001-02-08 23:59:59.999999+00'),
    ('one microsecond after/before',         '2001-02-01 00:00:00.000001+00', '2001-02-10 23:59:59.999998+00'),
    ('23:59:59.999999 to 00:00:00',          '2001-02-03 23:59:59.999999+00', '2001-02-04 00:00:00+00'),
    ('one instant',                          '2001-02-04 00:00:00+00', '2001-02-04 00:00:00+00'),
    ('same day, first half',                 '2001-02-05 01:00:00+00', '2001-02-05 11:59:59.999999+00'),
    ('same day, second half',                '2001-02-05 12:00:00+00', '2001-02-05 23:00:00+00'),
    ('same day, whole',                      '2001-02-05 00:00:00+00', '2001-02-05 23:59:59.999999+00'),
    ('mid-day to 23:59:59.999999',           '2001-02-04 00:00:00.000001+00', '2001-02-06 23:59:59.999999+00'),
    ('mid-day start, ends before noon',      '2001-02-03 13:00:00+00', '2001-02-07 11:00:00+00'),
    ('from mid-day to now',                  '2001-02-06 13:00:00+00', now()),
    ('from midnight, ends past the data',    '2001-02-07 00:00:00+00', '2001-03-01 00:00:00+00'),
    ('ended before started',                 '2001-02-06 00:00:00+00', '2001-02-05 00:00:00+00'),
    ('nothing in range',                     '1999-01-01 00:00:00+00', '1999-12-31 00:00:00+00'),
    ('in the future',                        now() + interval '1 day', now() + interval '3 days');
INSERT INTO wcase (range, p_user, p_status, p_rt, p_names, p_started, p_ended)
SELECT r.range, u.id, s.st, f.rt, f.names, r.started, r.ended
  FROM wrange r
 CROSS JOIN (VALUES (NULL::bigint), (pg_temp.uid('tb-alice')), (pg_temp.uid('tb-bob'))) u (id)
 CROSS JOIN (VALUES (NULL::text[]), ('{SUBMITTED}'), ('{CREATED}'),
                    ('{SUBMITTED,CREATED}')) s (st)
 CROSS JOIN (VALUES
     (NULL::bigint[], NULL::text[]),
     (ARRAY[pg_temp.rt('a1')], NULL),
     (ARRAY[pg_temp.rt('a2'), pg_temp.rt('b1')], NULL),
     (NULL, '{tb-rt-a}'),                             -- three versions
     (NULL, '{tb-rt-a,tb-rt-b}'),
     (ARRAY[pg_temp.rt('a1'), pg_temp.rt('a3'), pg_temp.rt('b1')], '{tb-rt-a}'),
     (ARRAY[pg_temp.rt('b1')], '{tb-rt-b,tb-rt-c}')
   ) f (rt, names);

-- The rows a listing with a case's filters shows (listing.c's predicate).
CREATE FUNCTION pg_temp.wrows(c wcase) RETURNS TABLE (id bigint, lm timestamptz)
    LANGUAGE sql STABLE
AS $$
    SELECT b.id, b.last_modified FROM batches b
     WHERE (c.p_user IS NULL OR b.user_id = c.p_user)
       AND (c.p_status IS NULL OR b.status::text = ANY(c.p_status))
       AND (c.p_rt IS NULL OR b.recipe_type_id = ANY(c.p_rt))
       AND (c.p_names IS NULL OR b.recipe_type_id IN
                (SELECT id FROM recipe_types WHERE name = ANY(c.p_names)))
       AND (c.p_started IS NULL OR b.last_modified >= c.p_started)
       AND b.last_modified <= c.p_ended
$$;
-- Mismatches between batch_window and a plain count / plain OFFSET, for
-- one case and order: the total (with and without an offset), and for
-- offsets 0 .. total + 1 the page of 3 rows it describes; past the end,
-- lo, hi and skip are NULL.  STABLE: one snapshot for both sides.
CREATE FUNCTION pg_temp.wcheck(c wcase, p_desc boolean, p_k integer DEFAULT 3)
    RETURNS SETOF text LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_total bigint;
    w record;
    o bigint;
    want bigint[];
    got bigint[];
BEGIN
    SELECT count(*) INTO v_total FROM pg_temp.wrows(c);
    SELECT * INTO w FROM batch_window(c.p_user, c.p_status, c.p_rt, c.p_names,
                                      c.p_started, c.p_ended, p_desc, NULL);
    IF w.total IS DISTINCT FROM v_total
       OR w.lo IS NOT NULL OR w.hi IS NOT NULL OR w.skip IS NOT NULL THEN
        RETURN NEXT format('no offset: total %s lo %s hi %s skip %s, want total %s',
                           w.total, w.lo, w.hi, w.skip, v_total);
    END IF;
    FOR o IN SELECT g FROM generate_series(0, v_total + 1) g
              WHERE g <= 130 OR g % 7 = 0 OR g >= v_total - 2 LOOP
        SELECT * INTO w FROM batch_window(c.p_user, c.p_status, c.p_rt,
            c.p_names, c.p_started, c.p_ended, p_desc, o);
        IF w.total IS DISTINCT FROM v_total THEN
            RETURN NEXT format('offset %s: total %s, want %s', o, w.total, v_total);
        END IF;
        IF o >= v_total THEN
            IF w.lo IS NOT NULL OR w.hi IS NOT NULL OR w.skip IS NOT NULL THEN
                RETURN NEXT format('offset %s past the end: lo %s hi %s skip %s',
                                   o, w.lo, w.hi, w.skip);
            END IF;
            CONTINUE;
        END IF;
        IF p_desc THEN
            want := ARRAY(SELECT r.id FROM pg_temp.wrows(c) r
                           ORDER BY r.lm DESC, r.id DESC OFFSET o LIMIT p_k);
            got := ARRAY(SELECT r.id FROM pg_temp.wrows(c) r
                          WHERE r.lm >= w.lo AND r.lm <= w.hi
                          ORDER BY r.lm DESC, r.id DESC OFFSET w.skip LIMIT p_k);
        ELSE
            want := ARRAY(SELECT r.id FROM pg_temp.wrows(c) r
                           ORDER BY r.lm, r.id OFFSET o LIMIT p_k);
            got := ARRAY(SELECT r.id FROM pg_temp.wrows(c) r
                          WHERE r.lm >= w.lo AND r.lm <= w.hi
                          ORDER BY r.lm, r.id OFFSET w.skip LIMIT p_k);
        END IF;
        IF got IS DISTINCT FROM want OR w.skip IS NULL OR w.skip < 0
           OR w.skip > o THEN
            RETURN NEXT format('offset %s: lo %s hi %s skip %s gives %s, want %s',
                               o, w.lo, w.hi, w.skip, got, want);
        END IF;
    END LOOP;
END
$$;
CREATE TEMP TABLE wbad AS
    SELECT c.n, c.range, d.p_desc, m.msg
      FROM wcase c
     CROSS JOIN (VALUES (false), (true)) d (p_desc)
     CROSS JOIN LATERAL pg_temp.wcheck(c, d.p_desc) m (msg);
CREATE TEMP TABLE wtotal AS
    SELECT c.n, c.range, (SELECT count(*) FROM pg_temp.wrows(c)) AS total
      FROM wcase c;

-- the cases are not trivial (and the "every offset" below is 0 .. total + 1,
-- every 7th past 130)
SELECT is((SELECT count(*) FROM wcase), 19 * 3 * 4 * 7::bigint,
          'batch_window cases: 19 ranges x 3 owners x 4 status sets x 7 recipe type filters');
SELECT cmp_ok((SELECT count(*) FROM wtotal WHERE total > 0), '>', 900::bigint,
              'batch_window cases: most have rows');
SELECT cmp_ok((SELECT max(total) FROM wtotal WHERE range = 'mid-day to mid-day (subtract)'),
              '>=', 60::bigint, 'batch_window cases: up to 60+ rows over 7 days');
SELECT is((SELECT total FROM wtotal t JOIN wcase c USING (n)
            WHERE c.range = '23:59:59.999999 to 00:00:00' AND c.p_user IS NULL
              AND c.p_status IS NULL AND c.p_rt IS NULL AND c.p_names IS NULL),
          5::bigint, 'batch_window cases: 23:59:59.999999 to 00:00:00 holds 2 + 3 rows');

-- one assertion per range: totals, ascending pages, descending pages
SELECT is_empty(format($$SELECT n, msg FROM wbad WHERE range = %L AND NOT p_desc AND msg ~ 'total'$$, range),
                'batch_window total, ' || range || ': = count(*) for every owner, status set and recipe type filter')
  FROM wrange ORDER BY range;
SELECT is_empty(format($$SELECT n, msg FROM wbad WHERE range = %L AND NOT p_desc AND msg !~ 'total'$$, range),
                'batch_window pages ascending, ' || range || ': = OFFSET over the whole ordering, every offset')
  FROM wrange ORDER BY range;
SELECT is_empty(format($$SELECT n, msg FROM wbad WHERE range = %L AND p_desc$$, range),
                'batch_window pages descending, ' || range || ': = OFFSET over the whole ordering, every offset')
  FROM wrange ORDER BY range;

-- a page of one row and of ten rows, over the mid-day range
SELECT is_empty($$SELECT c.n, m FROM wcase c, pg_temp.wcheck(c, false, 1) m
                   WHERE c.range = 'mid-day to mid-day (subtract)'$$,
                'batch_window: pages of 1 row ascending');
SELECT is_empty($$SELECT c.n, m FROM wcase c, pg_temp.wcheck(c, true, 10) m
                   WHERE c.range = 'mid-day to mid-day (subtract)'$$,
                'batch_window: pages of 10 rows descending');

-- what it returns, spelled out for one case: alice, every status, every
-- recipe type, 2001-02-04 00:00:00 to 2001-02-05 12:00:00, desc
SELECT results_eq(
    $$SELECT total, lo, hi, skip FROM batch_window(pg_temp.uid('tb-alice'), NULL, NULL, NULL,
          '2001-02-04 00:00:00+00', '2001-02-05 12:00:00+00', true, 0)$$,
    $$SELECT count(*), '2001-02-04 00:00:00+00'::timestamptz,
             '2001-02-05 12:00:00+00'::timestamptz, 0::bigint
        FROM batches WHERE user_id = pg_temp.uid('tb-alice')
         AND last_modified BETWEEN '2001-02-04 00:00:00+00' AND '2001-02-05 12:00:00+00'$$,
    'batch_window desc, offset 0: lo = started, hi = ended (the last day ends there), skip 0');
SELECT results_eq(
    $$SELECT lo, hi, skip FROM batch_window(pg_temp.uid('tb-alice'), NULL, NULL, NULL,
          '2001-02-04 00:00:00+00', '2001-02-05 12:00:00+00', false,
          (SELECT count(*) FROM batches WHERE user_id = pg_temp.uid('tb-alice')
              AND last_modified >= '2001-02-04 00:00:00+00'
              AND last_modified < '2001-02-05 00:00:00+00'))$$,
    $$VALUES ('2001-02-05 00:00:00+00'::timestamptz, '2001-02-05 12:00:00+00'::timestamptz, 0::bigint)$$,
    'batch_window asc, the first row of the second day: lo = that day, hi = ended, skip 0');

-- the edge days, spelled out: which part of each is counted, and how
SELECT results_eq(
    $$SELECT day, sign, lo, hi, days_lo, days_hi
        FROM list_window_edges('2001-02-02 06:00:00+00', '2001-02-08 18:00:00+00')$$,
    $$VALUES ('2001-02-02 00:00:00+00'::timestamptz, -1, '2001-02-02 00:00:00+00'::timestamptz,
              '2001-02-02 05:59:59.999999+00'::timestamptz, '2001-02-02 00:00:00+00'::timestamptz,
              '2001-02-08 00:00:00+00'::timestamptz),
             ('2001-02-08 00:00:00+00', -1, '2001-02-08 18:00:00.000001+00',
              '2001-02-08 23:59:59.999999+00', '2001-02-02 00:00:00+00', '2001-02-08 00:00:00+00')$$,
    'list_window_edges: bounds in the early / late half of their day: their days count, the parts outside are taken off');
SELECT results_eq(
    $$SELECT day, sign, lo, hi, days_lo, days_hi
        FROM list_window_edges('2001-02-02 13:00:00+00', '2001-02-04 11:00:00+00')$$,
    $$VALUES ('2001-02-02 00:00:00+00'::timestamptz, 1, '2001-02-02 13:00:00+00'::timestamptz,
              '2001-02-02 23:59:59.999999+00'::timestamptz, '2001-02-03 00:00:00+00'::timestamptz,
              '2001-02-03 00:00:00+00'::timestamptz),
             ('2001-02-04 00:00:00+00', 1, '2001-02-04 00:00:00+00',
              '2001-02-04 11:00:00+00', '2001-02-03 00:00:00+00', '2001-02-03 00:00:00+00')$$,
    'list_window_edges: bounds in the late / early half: only the parts inside count, the day between from the buckets');
SELECT results_eq(
    $$SELECT day, sign, lo, hi, days_lo > days_hi
        FROM list_window_edges('2001-02-05 01:00:00+00', '2001-02-05 23:00:00+00')$$,
    $$VALUES ('2001-02-05 00:00:00+00'::timestamptz, 1, '2001-02-05 01:00:00+00'::timestamptz,
              '2001-02-05 23:00:00+00'::timestamptz, true)$$,
    'list_window_edges: both bounds on one day: that part exactly, no bucket');
SELECT results_eq(
    $$SELECT day, sign, lo > now(), days_lo FROM list_window_edges(NULL, now())$$,
    $$VALUES (date_trunc('day', now(), 'UTC'), CASE WHEN now() >= date_trunc('day', now(), 'UTC')
              + interval '12 hours' THEN -1 ELSE 1 END, now() >= date_trunc('day', now(), 'UTC')
              + interval '12 hours', '-infinity'::timestamptz)$$,
    'list_window_edges: no start, ended now: one edge, today');
SELECT is_empty($$SELECT * FROM list_window_edges('2001-02-06 00:00:00+00', '2001-02-05 00:00:00+00')$$,
                'list_window_edges: ended before started: nothing to count');

-- empty filters and unknown names
SELECT results_eq(
    $$SELECT total, lo, hi, skip FROM batch_window(NULL, '{}', NULL, NULL, NULL, now(), false, 0)$$,
    $$VALUES (0::bigint, NULL::timestamptz, NULL::timestamptz, NULL::bigint)$$,
    'batch_window: an empty status set matches nothing');
SELECT is((batch_window(NULL, NULL, '{}', NULL, NULL, now(), false, 0)).total, 0::bigint,
          'batch_window: an empty recipe type id set matches nothing');
SELECT is((batch_window(NULL, NULL, NULL, '{}', NULL, now(), false, 0)).total, 0::bigint,
          'batch_window: an empty recipe type name set matches nothing');
SELECT is((batch_window(NULL, NULL, NULL, '{tb-rt-nope}', NULL, now(), false, 0)).total, 0::bigint,
          'batch_window: an unknown recipe type name matches nothing');
SELECT is((batch_window(NULL, NULL, ARRAY[pg_temp.rt('a1')], '{tb-rt-b}', NULL, now(), false, 0)).total,
          0::bigint, 'batch_window: ids and names with no recipe type in common match nothing');
SELECT is((batch_window(NULL, '{BOGUS}', NULL, NULL, NULL, now(), false, 0)).total, 0::bigint,
          'batch_window: a status that does not exist matches nothing');
SELECT is((batch_window(pg_temp.uid('tb-erin'), NULL, NULL, NULL, NULL, now(), false, 0)).total,
          0::bigint, 'batch_window: an owner without batches has none');

-- The days are UTC days whatever the session's time zone: an operator's
-- psql in Europe/Berlin gets the counts docketd (TimeZone=UTC) gets, also
-- across the 23- and 25-hour local days of the summer time switches.
INSERT INTO wcase (range, p_user, p_status, p_rt, p_names, p_started, p_ended)
SELECT 'tz ' || t.range, u.id, NULL, NULL, NULL, t.started, t.ended
  FROM (VALUES ('spring', '2001-03-25 06:00:00+00'::timestamptz, '2001-03-26 06:00:00+00'::timestamptz),
               ('spring, to the second half', '2001-03-25 06:00:00+00', '2001-03-26 23:00:00+00'),
               ('spring, from the start', NULL, '2001-03-26 06:00:00+00'),
               ('fall', '2001-10-28 06:00:00+00', '2001-10-29 06:00:00+00'),
               ('fall, to the second half', '2001-10-28 06:00:00+00', '2001-10-29 23:00:00+00'),
               ('fall, whole days', '2001-10-28 00:00:00+00', '2001-10-29 23:59:59.999999+00'),
               ('fall, from the start', NULL, '2001-10-29 00:30:00+00')) t (range, started, ended)
 CROSS JOIN (VALUES (NULL::bigint), (pg_temp.uid('tb-alice'))) u (id);
SET LOCAL TimeZone = 'Europe/Berlin';
CREATE TEMP TABLE wbad_tz AS
    SELECT c.range, d.p_desc, m.msg
      FROM wcase c
     CROSS JOIN (VALUES (false), (true)) d (p_desc)
     CROSS JOIN LATERAL pg_temp.wcheck(c, d.p_desc) m (msg)
     WHERE c.range LIKE 'tz %';
SET LOCAL TimeZone = 'UTC';
SELECT is_empty($$SELECT * FROM wbad_tz WHERE range LIKE 'tz spring%' AND msg ~ 'total'$$,
                'batch_window in Europe/Berlin: totals across the 23-hour day');
SELECT is_empty($$SELECT * FROM wbad_tz WHERE range LIKE 'tz fall%' AND msg ~ 'total'$$,
                'batch_window in Europe/Berlin: totals across the 25-hour day');
SELECT is_empty($$SELECT * FROM wbad_tz WHERE msg !~ 'total'$$,
                'batch_window in Europe/Berlin: the pages, both orders');

-- ---- batch_matches and batch_preview ------------------------------------------------
-- alice's earlier jobs; the batch is of tb-rt-a 3.0.
CALL pg_temp.addbatch('tb-alice', 'a3', 'SUBMITTED', '2001-06-01 00:00+00', 'mb');
CALL pg_temp.mkjob('m1', 'tb-alice', 'a1', 'succeeded', 'img-1', '2001-05-01 00:00+00',
                   '2001-05-02 10:00+00', '2001-05-02 11:00+00');
CALL pg_temp.mkjob('m2', 'tb-alice', 'a2', 'failed', 'img-2', '2001-05-03 00:00+00',
                   '2001-05-04 10:00+00', NULL);
CALL pg_temp.mkjob('m3', 'tb-alice', 'a3', 'succeeded', 'img-3', '2001-05-05 00:00+00',
                   '2001-05-06 10:00+00', '2001-05-06 12:00+00');
CALL pg_temp.mkjob('m4', 'tb-alice', 'a1', 'canceled', 'img-1', '2001-05-07 00:00+00',
                   NULL, '2001-05-07 01:00+00');
CALL pg_temp.mkjob('m5', 'tb-alice', 'a1', 'queued', 'img-5', '2001-05-02 00:00+00');
CALL pg_temp.mkjob('m6', 'tb-alice', 'a2', 'running', 'img-6', '2001-05-02 00:00+00',
                   '2001-05-02 00:00+00');
CALL pg_temp.mkjob('m6r', 'tb-alice', 'a1', 'ready', 'img-6', '2001-05-02 00:00+00');
CALL pg_temp.mkjob('m7', 'tb-alice', 'b1', 'succeeded', 'img-7', '2001-05-02 00:00+00');
CALL pg_temp.mkjob('m8', 'tb-bob', 'a1', 'succeeded', 'img-1', '2001-05-02 00:00+00');
CALL pg_temp.mkjob('m9', 'tb-alice', 'a2', 'succeeded', 'img-9', '2001-05-02 00:00+00',
                   p_batch => (pg_temp.b('mb')).id);
CALL pg_temp.mkjob('m10', 'tb-alice', NULL, 'succeeded', 'img-1', '2001-05-02 00:00+00');
CALL pg_temp.mkjob('m11', 'tb-alice', 'a2', 'succeeded', 'img-11', '2001-05-10 00:00+00',
                   '2001-05-10 10:00+00', '2001-05-11 10:00+00');
CALL pg_temp.mkjob('m12', 'tb-alice', 'a3', 'failed', 'img-12', '2001-05-02 00:00+00');

CREATE FUNCTION pg_temp.matches(p_user text, p_rt text, p_def jsonb,
    p_batch text DEFAULT 'mb') RETURNS SETOF text LANGUAGE sql STABLE
AS $$
    SELECT pg_temp.jl(m.id) FROM batch_matches(pg_temp.uid(p_user), pg_temp.rt(p_rt),
                                               p_def, (pg_temp.b(p_batch)).id) m
$$;
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3', '{}')$$,
              ARRAY['m1', 'm2', 'm4', 'm11'],
              'matches: all_jobs absent: finished jobs of the other versions of the name, the owner''s, not the batch''s own');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3', '{"all_jobs": false}')$$,
              ARRAY['m1', 'm2', 'm4', 'm11'], 'matches: all_jobs false: the same');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3', '{"all_jobs": true}')$$,
              ARRAY['m1', 'm2', 'm3', 'm4', 'm11', 'm12'],
              'matches: all_jobs true: every version, this one included (still not the batch''s own job m9)');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3', '{"all_jobs": true}', NULL)$$,
              ARRAY['m1', 'm2', 'm3', 'm4', 'm9', 'm11', 'm12'],
              'matches: no batch (a preview): a job some batch made counts like any other');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a1', '{}', NULL)$$,
              ARRAY['m2', 'm3', 'm9', 'm11', 'm12'],
              'matches: for version 1.0 the other versions are 2.0 and 3.0');
SELECT is_empty($$SELECT pg_temp.matches('tb-alice', 'b1', '{}')$$,
                'matches: a name with one version and all_jobs absent: nothing');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'b1', '{"all_jobs": true}')$$,
              ARRAY['m7'], 'matches: ... with all_jobs true: its jobs (not the other names'')');
SELECT set_eq($$SELECT pg_temp.matches('tb-bob', 'a3', '{}', NULL)$$, ARRAY['m8'],
              'matches: another owner sees only its own jobs');
SELECT is_empty($$SELECT pg_temp.matches('tb-erin', 'a3', '{"all_jobs": true}', NULL)$$,
                'matches: an owner without jobs: nothing');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3', '{"job_names": ["img-1", "img-11", "img-5"]}')$$,
              ARRAY['m1', 'm4', 'm11'],
              'matches: job_names keeps jobs of those names (a queued img-5 still does not count)');
SELECT is_empty($$SELECT pg_temp.matches('tb-alice', 'a3', '{"job_names": []}')$$,
                'matches: an empty job_names keeps nothing');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3',
                  '{"date_range": {"type": "created", "started": "2001-05-03T00:00:00Z", "ended": "2001-05-07T00:00:00Z"}}')$$,
              ARRAY['m2', 'm4'], 'matches: date_range created, both ends inclusive');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3',
                  '{"date_range": {"started": "2001-05-03T00:00:00.000001Z", "ended": "2001-05-06T23:59:59Z"}}')$$,
              ARRAY[]::text[], 'matches: date_range without type is created');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3', '{"date_range": {"type": "created", "started": "2001-05-05T00:00:00Z"}}')$$,
              ARRAY['m4', 'm11'], 'matches: date_range created with only started');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3', '{"all_jobs": true, "date_range": {"type": "created", "ended": "2001-05-01T00:00:00Z"}}')$$,
              ARRAY['m1'], 'matches: date_range created with only ended');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3',
                  '{"date_range": {"type": "data", "started": "2001-05-02T10:30:00Z", "ended": "2001-05-04T10:00:00Z"}}')$$,
              ARRAY['m1', 'm2'],
              'matches: date_range data: the run overlaps the range (a job without finished_at counts from its start; never started does not)');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3',
                  '{"date_range": {"type": "data", "started": "2001-05-02T11:00:00.000001Z"}}')$$,
              ARRAY['m2', 'm11'], 'matches: date_range data with only started: finished before it is out');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3',
                  '{"date_range": {"type": "data", "ended": "2001-05-02T10:00:00Z"}}')$$,
              ARRAY['m1'], 'matches: date_range data with only ended: started at it is in');
SELECT set_eq($$SELECT pg_temp.matches('tb-alice', 'a3',
                  '{"all_jobs": true, "job_names": ["img-3", "img-11", "img-1"], "date_range": {"type": "data", "started": "2001-05-06T12:00:00Z"}}')$$,
              ARRAY['m3', 'm11'], 'matches: all_jobs, job_names and date_range together');

-- batch_preview
SELECT results_eq(
    $$SELECT recipe_count, warnings FROM batch_preview(pg_temp.uid('tb-alice'), pg_temp.rt('a3'), '{}')$$,
    $$VALUES (5::bigint, '[]'::jsonb)$$,
    'preview: the number of jobs the batch would create (m1, m2, m4, m11 and, no batch yet, m9), no warnings');
SELECT results_eq(
    $$SELECT recipe_count FROM batch_preview(pg_temp.uid('tb-alice'), pg_temp.rt('a3'), '{"all_jobs": true}')$$,
    $$VALUES (7::bigint)$$,
    'preview: all_jobs true counts every version, and (no batch yet) jobs batches made');
SELECT results_eq(
    $$SELECT recipe_count, warnings FROM batch_preview(pg_temp.uid('tb-alice'), pg_temp.rt('b1'), '{}')$$,
    $$VALUES (0::bigint, '[{"id": "NO_MATCHING_JOBS", "details": "No earlier job of this recipe type matches the definition; the batch would create no jobs"}]'::jsonb)$$,
    'preview: NO_MATCHING_JOBS when nothing matches');
SELECT results_eq(
    $$SELECT recipe_count, warnings FROM batch_preview(pg_temp.uid('tb-alice'), pg_temp.rt('a3'),
          '{"job_names": ["zzz", "img-1", "img-7", "img-6", "nope", "img-5"]}')$$,
    $$VALUES (2::bigint, '[{"id": "UNKNOWN_JOB_NAME", "details": "No job of this recipe type is named img-7, nope, zzz"}]'::jsonb)$$,
    'preview: UNKNOWN_JOB_NAME lists, sorted, the names no job of the recipe type''s name has (unfinished jobs know their names; another name''s job does not)');
SELECT results_eq(
    $$SELECT recipe_count, warnings FROM batch_preview(pg_temp.uid('tb-alice'), pg_temp.rt('a3'),
          '{"job_names": ["nope"]}')$$,
    $$VALUES (0::bigint, '[{"id": "NO_MATCHING_JOBS", "details": "No earlier job of this recipe type matches the definition; the batch would create no jobs"},
                           {"id": "UNKNOWN_JOB_NAME", "details": "No job of this recipe type is named nope"}]'::jsonb)$$,
    'preview: both warnings, in that order');
SELECT results_eq(
    $$SELECT warnings FROM batch_preview(pg_temp.uid('tb-bob'), pg_temp.rt('a3'),
          '{"job_names": ["img-1", "img-3"]}')$$,
    $$VALUES ('[{"id": "UNKNOWN_JOB_NAME", "details": "No job of this recipe type is named img-3"}]'::jsonb)$$,
    'preview: UNKNOWN_JOB_NAME looks at the owner''s jobs only');
SELECT results_eq(
    $$SELECT recipe_count, warnings FROM batch_preview(pg_temp.uid('tb-alice'), -1, '{}')$$,
    $$VALUES (NULL::bigint, NULL::jsonb)$$,
    'preview: NULLs for a recipe type that does not exist');
CREATE TEMP TABLE tc_before AS SELECT * FROM pg_temp.table_counts();
SELECT count(*) AS previews FROM (
    SELECT * FROM batch_preview(pg_temp.uid('tb-alice'), pg_temp.rt('a3'), '{"all_jobs": true}')
    UNION ALL SELECT * FROM batch_preview(pg_temp.uid('tb-alice'), pg_temp.rt('a3'), '{"job_names": ["nope"]}')
    UNION ALL SELECT * FROM batch_preview(pg_temp.uid('tb-bob'), pg_temp.rt('a1'), '{"date_range": {"type": "data"}}')
    UNION ALL SELECT * FROM batch_preview(pg_temp.uid('tb-alice'), -1, '{}')) p
\gset
SELECT results_eq('SELECT * FROM pg_temp.table_counts()', 'SELECT * FROM tc_before',
                  'preview: no side effects (row counts and rows written of every table unchanged)');

-- ---- batch_submit ------------------------------------------------------------------
SELECT is(batch_submit(pg_temp.uid('tb-dave'), -1, 't', 'd', '{}'), NULL,
          'submit: NULL for a recipe type that does not exist');
SELECT results_eq('SELECT * FROM pg_temp.table_counts()', 'SELECT * FROM tc_before',
                  'submit: ... and nothing is written');
SELECT batch_submit(pg_temp.uid('tb-dave'), pg_temp.rt('a3'), 'Dave''s batch',
                    'all of them', '{"all_jobs": true}') AS sub_id
\gset
SELECT results_eq(
    $$SELECT user_id = pg_temp.uid('tb-dave'), title, description, status::text,
             recipe_type_id = pg_temp.rt('a3'), definition, created_count,
             failed_count, total_count, created, last_modified,
             creator_job_id IS NOT NULL
        FROM batches WHERE id = $$ || :'sub_id',
    $$VALUES (true, 'Dave''s batch', 'all of them', 'SUBMITTED', true,
              '{"all_jobs": true}'::jsonb, 0, 0, 0, now(), now(), true)$$,
    'submit: the batch, SUBMITTED, counts 0, created and modified now, linked to its creator job');
SELECT results_eq(
    $$SELECT e.type, e.rule_id, e.occurred FROM batches b
        JOIN trigger_events e ON e.id = b.event_id WHERE b.id = $$ || :'sub_id',
    $$VALUES ('USER', NULL::bigint, now())$$,
    'submit: a USER event');
SELECT results_eq(
    $$SELECT j.user_id = b.user_id, j.name, j.surface, j.queue, j.state::text,
             j.job_type_id, j.event_id = b.event_id, j.params, j.attempts,
             j.recipe_type_id, j.batch_id, j.batch_source_id
        FROM batches b JOIN jobs j ON j.id = b.creator_job_id WHERE b.id = $$ || :'sub_id',
    format($$VALUES (true, 'batch-creator-%s', 'batches', 'docket.batches', 'ready',
                     1::bigint, true, '{"batch_id": %s}'::jsonb, 0, NULL::bigint,
                     NULL::bigint, NULL::bigint)$$, :'sub_id', :'sub_id'),
    'submit: the creator job: PENDING (ready), of job type 1, the batch''s event, params {batch_id}');
SELECT results_eq(
    $$SELECT a.tbl, a.n - b.n FROM pg_temp.table_counts() a JOIN tc_before b USING (tbl)
       WHERE a.n <> b.n AND a.tbl <> 'batch_buckets' ORDER BY 1$$,
    $$VALUES ('batches', 1::bigint), ('job_count_deltas', 1::bigint),
             ('jobs', 1::bigint), ('trigger_events', 1::bigint)$$,
    'submit: one event, one batch, one job (and the job''s count delta)');
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: after batch_submit');

-- ---- batch_create ----------------------------------------------------------------
-- dave's earlier jobs (d6 is alice's: another owner's job is no source)
CALL pg_temp.mkjob('d1', 'tb-dave', 'a1', 'succeeded', 'dimg-1', p_prio => 2,
                   p_queue => 'tb-qa', p_params => '{"a": 1}');
CALL pg_temp.mkjob('d2', 'tb-dave', 'a2', 'failed', 'dimg-2', p_prio => 0,
                   p_queue => 'tb-qb', p_params => '{"b": [1, 2]}');
CALL pg_temp.mkjob('d3', 'tb-dave', 'a3', 'canceled', 'dimg-3', p_prio => 3,
                   p_queue => 'tb-qa');
CALL pg_temp.mkjob('d4', 'tb-dave', 'a1', 'queued', 'dimg-4');
CALL pg_temp.mkjob('d5', 'tb-dave', 'b1', 'succeeded', 'dimg-5');
CALL pg_temp.mkjob('d6', 'tb-alice', 'a1', 'succeeded', 'dimg-6');

-- the submitted batch, moved into the past first so that the move shows
UPDATE batches SET last_modified = '2002-02-02 02:02+00' WHERE id = :'sub_id';
SELECT is(batch_create(:'sub_id'), 3::bigint,
          'create: one job per match (all_jobs: d1, d2, d3); returns how many it added');
CREATE TEMP VIEW created_jobs AS
    SELECT pg_temp.jl(j.batch_source_id) AS src, j.* FROM jobs j WHERE j.batch_id IS NOT NULL;
SELECT results_eq(
    format($$SELECT src, user_id = pg_temp.uid('tb-dave'), name, surface, queue,
                    state::text, priority::int, params, recipe_type_id = pg_temp.rt('a3'),
                    event_id = (SELECT event_id FROM batches WHERE id = %s),
                    job_type_id, run_at, attempts, result, error, started_at, finished_at
               FROM created_jobs WHERE batch_id = %s ORDER BY src$$, :'sub_id', :'sub_id'),
    $$VALUES ('d1', true, 'dimg-1', 'batches', 'tb-qa', 'queued', 2, '{"a": 1}'::jsonb, true, true,
              NULL::bigint, now(), 0, NULL::jsonb, NULL::text, NULL::timestamptz, NULL::timestamptz),
             ('d2', true, 'dimg-2', 'batches', 'tb-qb', 'queued', 0, '{"b": [1, 2]}', true, true,
              NULL, now(), 0, NULL, NULL, NULL, NULL),
             ('d3', true, 'dimg-3', 'batches', 'tb-qa', 'queued', 3, '{}', true, true,
              NULL, now(), 0, NULL, NULL, NULL, NULL)$$,
    'create: queued jobs of the batch''s recipe type and event, with the source''s name, queue, params and priority');
SELECT results_eq(
    format('SELECT status::text, created_count, total_count, failed_count, last_modified FROM batches WHERE id = %s', :'sub_id'),
    $$VALUES ('CREATED', 3, 3, 0, now())$$,
    'create: CREATED, created_count and total_count 3, last_modified moved to now');
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: after batch_create (status and day moved)');
SELECT is(batch_create(:'sub_id'), 0::bigint, 'create again: adds nothing');
SELECT is((SELECT count(*) FROM jobs WHERE batch_id = :'sub_id'), 3::bigint,
          'create again: no duplicate');
SELECT results_eq(
    format('SELECT status::text, created_count, total_count FROM batches WHERE id = %s', :'sub_id'),
    $$VALUES ('CREATED', 3, 3)$$, 'create again: the counts stay');
CALL pg_temp.mkjob('d7', 'tb-dave', 'a2', 'succeeded', 'dimg-7');
SELECT is(batch_create(:'sub_id'), 1::bigint, 'create after a new match: adds just that one');
SELECT results_eq(
    format('SELECT created_count, total_count FROM batches WHERE id = %s', :'sub_id'),
    $$VALUES (4, 4)$$, 'create after a new match: the counts are of all the batch''s jobs');
SELECT throws_ok(
    format($$INSERT INTO jobs (user_id, name, batch_id, batch_source_id)
             VALUES (pg_temp.uid('tb-dave'), 'dup', %s, pg_temp.j('d1'))$$, :'sub_id'),
    '23505', 'duplicate key value violates unique constraint "jobs_batch_source_idx"',
    'jobs_batch_source_idx: one job per (batch, source)');
SELECT lives_ok(
    $$INSERT INTO jobs (user_id, name, batch_source_id)
      VALUES (pg_temp.uid('tb-dave'), 'no-batch', pg_temp.j('d1')),
             (pg_temp.uid('tb-dave'), 'no-batch', pg_temp.j('d1'))$$,
    'jobs_batch_source_idx: jobs without a batch are not constrained');
SELECT is(batch_create(-1), 0::bigint, 'create of a batch that does not exist: 0');

-- a definition with a priority, made after the first batch's jobs finished
UPDATE jobs SET state = 'succeeded' WHERE batch_id = :'sub_id';
SELECT pg_temp.mkbatch('tb-dave', 'a3', 'SUBMITTED', '2002-02-03 00:00+00', 'prio',
                       '{"priority": 3}') AS prio_id
\gset
SELECT is(batch_create(:'prio_id'), 3::bigint,
          'create with all_jobs absent: the other versions only (d1, d2, d7; not d3, not the first batch''s jobs)');
SELECT results_eq(
    format('SELECT src, priority::int FROM created_jobs WHERE batch_id = %s ORDER BY src', :'prio_id'),
    $$VALUES ('d1', 3), ('d2', 3), ('d7', 3)$$,
    'create: the definition''s priority wins over the source''s');
UPDATE batches SET definition = '{"all_jobs": true, "priority": 0}' WHERE id = :'prio_id';
SELECT is(batch_create(:'prio_id'), 5::bigint,
          'create with all_jobs: adds d3 and the 4 finished jobs the first batch made (only a batch''s own jobs are no source)');
SELECT bag_eq(
    format($$SELECT coalesce(c.src, 'of ' || s.batch_id), c.priority::int
               FROM created_jobs c JOIN jobs s ON s.id = c.batch_source_id
              WHERE c.batch_id = %s$$, :'prio_id'),
    format($$VALUES ('d1', 3), ('d2', 3), ('d7', 3), ('d3', 0), ('of %1$s', 0), ('of %1$s', 0),
                    ('of %1$s', 0), ('of %1$s', 0)$$, :'sub_id'),
    'create: one job per source, the priority of the definition at the time');
SELECT is(batch_create(:'prio_id'), 0::bigint,
          'create: its own jobs (finished or not) are never a source');

-- ---- batch_run_next_creator ------------------------------------------------------------
-- The creator job of the submitted batch above still waits (batch_create
-- was called directly): it comes first.
SELECT results_eq(
    $$SELECT batch_id, created FROM batch_run_next_creator(3)$$,
    format('VALUES (%s::bigint, true)', :'sub_id'),
    'run_next_creator: the first waiting creator job, its batch created (again: nothing added)');
SELECT results_eq(
    format($$SELECT state::text, attempts, started_at, finished_at, updated_at, error
               FROM jobs WHERE id = (SELECT creator_job_id FROM batches WHERE id = %s)$$, :'sub_id'),
    $$VALUES ('succeeded', 1, now(), now(), now(), NULL::text)$$,
    'run_next_creator: the creator job succeeded after 1 attempt');
SELECT is((SELECT count(*) FROM jobs WHERE batch_id = :'sub_id'), 4::bigint,
          'run_next_creator: no duplicate of the jobs made before');
SELECT is_empty($$SELECT * FROM batch_run_next_creator(3)$$,
                'run_next_creator: nothing waits any more');

CALL pg_temp.mkjob('f1', 'tb-frank', 'a1', 'succeeded', 'fimg-1');
CALL pg_temp.mkjob('f3', 'tb-frank', 'a3', 'canceled', 'fimg-3');
CALL pg_temp.mkjob('f4', 'tb-frank', 'a3', 'succeeded', 'fimg-4');
SELECT batch_submit(pg_temp.uid('tb-frank'), pg_temp.rt('a2'), 'run', NULL,
                    '{"job_names": ["fimg-1", "fimg-3"], "all_jobs": true}') AS run_id
\gset
UPDATE batches SET last_modified = '2002-02-04 00:00+00' WHERE id = :'run_id';
SELECT results_eq(
    $$SELECT batch_id, created FROM batch_run_next_creator(3)$$,
    format('VALUES (%s::bigint, true)', :'run_id'),
    'run_next_creator: a submitted batch is created');
SELECT results_eq(
    format($$SELECT b.status::text, b.created_count, b.total_count, b.last_modified,
                    j.state::text, j.attempts
               FROM batches b JOIN jobs j ON j.id = b.creator_job_id WHERE b.id = %s$$, :'run_id'),
    $$VALUES ('CREATED', 2, 2, now(), 'succeeded', 1)$$,
    'run_next_creator: the batch CREATED with its 2 jobs; its creator job succeeded, 1 attempt');
SELECT set_eq(format('SELECT src FROM created_jobs WHERE batch_id = %s', :'run_id'),
              ARRAY['f1', 'f3'], 'run_next_creator: the jobs of the definition');

-- a creation that raises: a date that does not cast, put straight into the
-- definition (docketd would have refused it)
CALL pg_temp.mkjob('e1', 'tb-erin', 'a1', 'succeeded', 'eimg-1');
SELECT batch_submit(pg_temp.uid('tb-erin'), pg_temp.rt('a2'), 'bad', NULL, '{}') AS bad_id
\gset
SELECT batch_submit(pg_temp.uid('tb-erin'), pg_temp.rt('a2'), 'bad2', NULL, '{}') AS bad2_id
\gset
UPDATE batches SET definition = '{"date_range": {"type": "created", "started": "not a date"}}',
                   last_modified = '2002-02-05 00:00+00'
 WHERE id IN (:'bad_id', :'bad2_id');
CREATE TEMP TABLE bad_before AS SELECT * FROM batches WHERE id IN (:'bad_id', :'bad2_id');
CREATE TEMP VIEW bad_creator AS
    SELECT b.id AS batch, j.state::text, j.attempts, j.error, j.finished_at, j.updated_at
      FROM batches b JOIN jobs j ON j.id = b.creator_job_id;
SELECT results_eq($$SELECT batch_id, created FROM batch_run_next_creator(3)$$,
                  format('VALUES (%s::bigint, false)', :'bad_id'),
                  'run_next_creator: a creation that raises returns created false');
SELECT results_eq(
    format('SELECT state, attempts, error, finished_at, updated_at FROM bad_creator WHERE batch = %s', :'bad_id'),
    $$VALUES ('ready', 1, 'invalid input syntax for type timestamp with time zone: "not a date"',
              NULL::timestamptz, now())$$,
    'run_next_creator: the error is kept on the creator job, attempts 1, still PENDING');
SELECT results_eq($$SELECT batch_id, created FROM batch_run_next_creator(3)$$,
                  format('VALUES (%s::bigint, false)', :'bad_id'),
                  'run_next_creator: the failing job is taken again next time');
SELECT results_eq(
    format('SELECT state, attempts FROM bad_creator WHERE batch = %s', :'bad_id'),
    $$VALUES ('ready', 2)$$, 'run_next_creator: attempts 2, still PENDING');
SELECT results_eq($$SELECT batch_id, created FROM batch_run_next_creator(3)$$,
                  format('VALUES (%s::bigint, false)', :'bad_id'),
                  'run_next_creator: the third failure');
SELECT results_eq(
    format('SELECT state, attempts, error IS NOT NULL, finished_at FROM bad_creator WHERE batch = %s', :'bad_id'),
    $$VALUES ('failed', 3, true, now())$$,
    'run_next_creator: after p_max_attempts (3) failures the creator job is FAILED, finished now');
SELECT results_eq(
    format('SELECT * FROM batches WHERE id = %s', :'bad_id'),
    format('SELECT * FROM bad_before WHERE id = %s', :'bad_id'),
    'run_next_creator: the batch of a failed creation is unchanged');
SELECT is_empty(format('SELECT 1 FROM jobs WHERE batch_id = %s', :'bad_id'),
                'run_next_creator: a failed creation leaves no job behind');
-- the next waiting one: fails once, is mended, then succeeds
SELECT results_eq($$SELECT batch_id, created FROM batch_run_next_creator(3)$$,
                  format('VALUES (%s::bigint, false)', :'bad2_id'),
                  'run_next_creator: a FAILED creator job is not taken again; the next one is');
UPDATE batches SET definition = '{}' WHERE id = :'bad2_id';
SELECT results_eq($$SELECT batch_id, created FROM batch_run_next_creator(3)$$,
                  format('VALUES (%s::bigint, true)', :'bad2_id'),
                  'run_next_creator: once the definition is mended the creation succeeds');
SELECT results_eq(
    format('SELECT state, attempts, error, finished_at FROM bad_creator WHERE batch = %s', :'bad2_id'),
    $$VALUES ('succeeded', 2, NULL::text, now())$$,
    'run_next_creator: succeeded on the 2nd attempt, the earlier error cleared');
SELECT results_eq(
    format('SELECT status::text, created_count, total_count FROM batches WHERE id = %s', :'bad2_id'),
    $$VALUES ('CREATED', 1, 1)$$, 'run_next_creator: the mended batch has its job (e1)');
SELECT is_empty($$SELECT * FROM batch_run_next_creator(3)$$,
                'run_next_creator: nothing left waiting');

SELECT batch_submit(pg_temp.uid('tb-erin'), pg_temp.rt('a2'), 'bad3', NULL, '{}') AS bad3_id
\gset
UPDATE batches SET definition = '{"all_jobs": "perhaps"}' WHERE id = :'bad3_id';
SELECT results_eq($$SELECT batch_id, created FROM batch_run_next_creator(1)$$,
                  format('VALUES (%s::bigint, false)', :'bad3_id'),
                  'run_next_creator with p_max_attempts 1: fails');
SELECT results_eq(
    format('SELECT state, attempts, error FROM bad_creator WHERE batch = %s', :'bad3_id'),
    $$VALUES ('failed', 1, 'invalid input syntax for type boolean: "perhaps"')$$,
    'run_next_creator with p_max_attempts 1: FAILED at the first failure');

-- a creator job whose batch is gone
SELECT batch_submit(pg_temp.uid('tb-erin'), pg_temp.rt('a2'), 'gone', NULL, '{}') AS gone_id
\gset
SELECT (SELECT creator_job_id FROM batches WHERE id = :'gone_id') AS gone_job
\gset
DELETE FROM batches WHERE id = :'gone_id';
SELECT results_eq($$SELECT batch_id, created FROM batch_run_next_creator(3)$$,
                  format('VALUES (%s::bigint, true)', :'gone_id'),
                  'run_next_creator: a creator job whose batch was deleted has nothing to do');
SELECT is((SELECT state::text FROM jobs WHERE id = :'gone_job'), 'succeeded',
          'run_next_creator: ... and succeeds');

-- a deleted creator job: the batch forgets it
SELECT batch_submit(pg_temp.uid('tb-erin'), pg_temp.rt('a2'), 'orphan', NULL, '{}') AS orphan_id
\gset
DELETE FROM jobs WHERE id = (SELECT creator_job_id FROM batches WHERE id = :'orphan_id');
SELECT is((SELECT creator_job_id FROM batches WHERE id = :'orphan_id'), NULL,
          'deleting a creator job sets the batch''s creator_job_id NULL');

-- ---- batch_buckets_rebuild ------------------------------------------------------------
SELECT is_empty('SELECT * FROM bucket_diff', 'buckets: after all of the above');
SELECT is_empty(format('SELECT * FROM bucket_diff WHERE level = %L', l),
                'buckets: roll-up level ' || l || ' (u owner, r recipe type, s status, * every) = its GROUP BY')
  FROM unnest(ARRAY['urs', 'ur*', 'u*s', 'u**', '*rs', '*r*', '**s', '***']) l;
SELECT ok((SELECT count(*) FROM batch_buckets WHERE n <> 0 AND user_id <> 0 AND recipe_type_id <> 0 AND status <> '') > 0
          AND (SELECT count(*) FROM batch_buckets WHERE n <> 0 AND user_id <> 0 AND recipe_type_id <> 0 AND status = '') > 0
          AND (SELECT count(*) FROM batch_buckets WHERE n <> 0 AND user_id <> 0 AND recipe_type_id = 0 AND status <> '') > 0
          AND (SELECT count(*) FROM batch_buckets WHERE n <> 0 AND user_id <> 0 AND recipe_type_id = 0 AND status = '') > 0
          AND (SELECT count(*) FROM batch_buckets WHERE n <> 0 AND user_id = 0 AND recipe_type_id <> 0 AND status <> '') > 0
          AND (SELECT count(*) FROM batch_buckets WHERE n <> 0 AND user_id = 0 AND recipe_type_id <> 0 AND status = '') > 0
          AND (SELECT count(*) FROM batch_buckets WHERE n <> 0 AND user_id = 0 AND recipe_type_id = 0 AND status <> '') > 0
          AND (SELECT count(*) FROM batch_buckets WHERE n <> 0 AND user_id = 0 AND recipe_type_id = 0 AND status = '') > 0,
          'buckets: every one of the eight levels has rows');
SELECT is((SELECT count(DISTINCT level) FROM (
               SELECT CASE WHEN user_id = 0 THEN '*' ELSE 'u' END
                      || CASE WHEN recipe_type_id = 0 THEN '*' ELSE 'r' END
                      || CASE WHEN status = '' THEN '*' ELSE 's' END AS level
                 FROM bucket_recount) l),
          8::bigint, 'the recount has the eight levels too');
CREATE TEMP TABLE buckets_by_triggers AS
    SELECT user_id, recipe_type_id, status, day, n FROM batch_buckets WHERE n <> 0;
SELECT is(batch_buckets_rebuild(), (SELECT count(*) FROM buckets_by_triggers),
          'rebuild: returns the number of bucket rows it wrote');
SELECT set_eq('SELECT user_id, recipe_type_id, status, day, n FROM batch_buckets',
              'SELECT * FROM buckets_by_triggers',
              'rebuild: the same rows as the triggers kept (without their emptied rows)');
SELECT is_empty('SELECT * FROM batch_buckets WHERE n = 0', 'rebuild: no emptied rows');
SELECT is_empty('SELECT * FROM bucket_diff', 'rebuild: equal to the recount');

SELECT * FROM finish();
ROLLBACK;
