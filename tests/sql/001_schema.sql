-- pgTAP: the structure of sql/001_schema.sql -- tables, columns and their
-- types, keys, foreign keys, indexes, enums, and the migration record.
-- Run by: pg_prove -d docket tests/sql/*.sql (on a migrated database).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;

BEGIN;
SELECT plan(115);

-- ---- tables ---------------------------------------------------------------
SELECT has_table('users');
SELECT has_table('api_tokens');
SELECT has_table('jobs');
SELECT has_table('job_objects');
SELECT has_table('object_results');
SELECT has_table('schema_migrations');

-- ---- users ----------------------------------------------------------------
SELECT has_column('users', 'id');
SELECT col_type_is('users', 'id', 'bigint');
SELECT has_column('users', 'name');
SELECT col_type_is('users', 'name', 'text');
SELECT col_not_null('users', 'name');
SELECT has_column('users', 'email');
SELECT col_type_is('users', 'email', 'text');
SELECT col_is_null('users', 'email');
SELECT col_type_is('users', 'created_at', 'timestamp with time zone');

-- ---- api_tokens -----------------------------------------------------------
SELECT has_column('api_tokens', 'user_id');
SELECT col_type_is('api_tokens', 'user_id', 'bigint');
SELECT col_not_null('api_tokens', 'user_id');
SELECT has_column('api_tokens', 'token_hash');
SELECT col_type_is('api_tokens', 'token_hash', 'bytea');
SELECT col_not_null('api_tokens', 'token_hash');
SELECT hasnt_column('api_tokens', 'token');         -- never stored in clear
SELECT has_column('api_tokens', 'role');
SELECT col_type_is('api_tokens', 'role', 'token_role');
SELECT col_default_is('api_tokens', 'role', 'user');
SELECT col_type_is('api_tokens', 'queues', 'text[]');
SELECT col_type_is('api_tokens', 'expires_at', 'timestamp with time zone');
SELECT col_type_is('api_tokens', 'revoked_at', 'timestamp with time zone');

-- ---- jobs -----------------------------------------------------------------
SELECT has_column('jobs', 'id');
SELECT col_type_is('jobs', 'id', 'bigint');
SELECT has_column('jobs', 'uuid');
SELECT col_type_is('jobs', 'uuid', 'uuid');
SELECT col_not_null('jobs', 'uuid');
SELECT col_has_default('jobs', 'uuid');
SELECT has_column('jobs', 'user_id');
SELECT col_type_is('jobs', 'user_id', 'bigint');
SELECT col_not_null('jobs', 'user_id');
SELECT has_column('jobs', 'name');
SELECT col_type_is('jobs', 'name', 'text');
SELECT col_type_is('jobs', 'surface', 'text');
SELECT has_column('jobs', 'queue');
SELECT col_type_is('jobs', 'queue', 'text');
SELECT col_default_is('jobs', 'queue', 'default');
SELECT has_column('jobs', 'state');
SELECT col_type_is('jobs', 'state', 'job_state');
SELECT col_not_null('jobs', 'state');
SELECT col_default_is('jobs', 'state', 'ready');
SELECT has_column('jobs', 'priority');
SELECT col_type_is('jobs', 'priority', 'smallint');
SELECT col_default_is('jobs', 'priority', 1);
SELECT col_type_is('jobs', 'params', 'jsonb');
SELECT col_not_null('jobs', 'params');
SELECT col_type_is('jobs', 'result', 'jsonb');
SELECT has_column('jobs', 'total_size');
SELECT col_type_is('jobs', 'total_size', 'bigint');
SELECT has_column('jobs', 'credits_spent');
SELECT col_type_is('jobs', 'credits_spent', 'integer');
SELECT col_type_is('jobs', 'attempts', 'integer');
SELECT col_type_is('jobs', 'run_at', 'timestamp with time zone');
SELECT has_column('jobs', 'lease_token');
SELECT col_type_is('jobs', 'lease_token', 'uuid');
SELECT col_is_null('jobs', 'lease_token');
SELECT col_type_is('jobs', 'lease_expires_at', 'timestamp with time zone');
SELECT col_type_is('jobs', 'created_at', 'timestamp with time zone');
SELECT col_not_null('jobs', 'created_at');
SELECT col_type_is('jobs', 'updated_at', 'timestamp with time zone');
SELECT col_type_is('jobs', 'started_at', 'timestamp with time zone');
SELECT col_type_is('jobs', 'finished_at', 'timestamp with time zone');

-- ---- job_objects ----------------------------------------------------------
SELECT has_column('job_objects', 'job_id');
SELECT col_type_is('job_objects', 'job_id', 'bigint');
SELECT has_column('job_objects', 'object_uuid');
SELECT col_type_is('job_objects', 'object_uuid', 'text');
SELECT col_type_is('job_objects', 'original_name', 'text');
SELECT col_type_is('job_objects', 'content_type', 'text');
SELECT col_type_is('job_objects', 'size', 'bigint');
SELECT col_not_null('job_objects', 'size');
SELECT col_type_is('job_objects', 'media_length', 'integer');
SELECT col_type_is('job_objects', 'failure', 'text');
SELECT col_is_null('job_objects', 'failure');

-- ---- object_results -------------------------------------------------------
SELECT col_type_is('object_results', 'job_id', 'bigint');
SELECT col_type_is('object_results', 'object_uuid', 'text');
SELECT has_column('object_results', 'kind');
SELECT col_type_is('object_results', 'kind', 'text');
SELECT col_type_is('object_results', 'size', 'bigint');

-- ---- schema_migrations ----------------------------------------------------
SELECT col_type_is('schema_migrations', 'version', 'text');
SELECT col_type_is('schema_migrations', 'applied_at',
    'timestamp with time zone');

-- ---- primary keys, unique columns, foreign keys ---------------------------
SELECT col_is_pk('users', 'id');
SELECT col_is_pk('api_tokens', 'id');
SELECT col_is_pk('jobs', 'id');
SELECT col_is_pk('job_objects', ARRAY['job_id', 'object_uuid']);
SELECT col_is_pk('object_results', ARRAY['job_id', 'object_uuid', 'kind']);
SELECT col_is_pk('schema_migrations', 'version');
SELECT col_is_unique('api_tokens', 'token_hash');
SELECT col_is_unique('users', 'name');
SELECT col_is_unique('jobs', 'uuid');
SELECT fk_ok('api_tokens', 'user_id', 'users', 'id');
SELECT fk_ok('jobs', 'user_id', 'users', 'id');
SELECT fk_ok('job_objects', 'job_id', 'jobs', 'id');
SELECT fk_ok('object_results', ARRAY['job_id', 'object_uuid'],
             'job_objects', ARRAY['job_id', 'object_uuid']);

-- ---- indexes --------------------------------------------------------------
SELECT has_index('jobs', 'jobs_user_created_idx');
SELECT has_index('jobs', 'jobs_user_created_idx',
                 ARRAY['user_id', 'created_at', 'id']);
SELECT has_index('jobs', 'jobs_created_idx');
SELECT has_index('jobs', 'jobs_created_idx', ARRAY['created_at', 'id']);
SELECT has_index('jobs', 'jobs_ready_idx');
SELECT has_index('jobs', 'jobs_ready_idx',
                 ARRAY['queue', 'priority', 'run_at', 'id']);
SELECT is(
    (SELECT pg_get_expr(i.indpred, i.indrelid)
       FROM pg_index i
      WHERE i.indexrelid = 'jobs_ready_idx'::regclass),
    '(state = ''queued''::job_state)',
    'jobs_ready_idx covers queued jobs only');
-- /_auth looks tokens up by hash; cascades find a job's objects by job_id
SELECT is_indexed('api_tokens', ARRAY['token_hash']);
SELECT is_indexed('job_objects', ARRAY['job_id', 'object_uuid']);

-- ---- enums ----------------------------------------------------------------
SELECT has_enum('job_state');
SELECT enum_has_labels('job_state',
    ARRAY['ready', 'queued', 'running', 'succeeded', 'failed', 'canceled']);
SELECT has_enum('token_role');
SELECT enum_has_labels('token_role', ARRAY['user', 'admin', 'worker']);

-- ---- the migration record -------------------------------------------------
SELECT ok(EXISTS (SELECT 1 FROM schema_migrations
                   WHERE version = '001_schema.sql'),
          'schema_migrations records 001_schema.sql');
SELECT is((SELECT count(*)::int FROM schema_migrations
            WHERE version = '001_schema.sql'), 1,
          '001_schema.sql is recorded once');

SELECT has_index('api_tokens', 'api_tokens_user_idx', 'deleting a user does not scan api_tokens');

SELECT * FROM finish();
ROLLBACK;
