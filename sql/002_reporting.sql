-- 002: an operator's report of jobs, in the words of the jobs API (seed 001).
--
-- status_001(state) maps the unified state machine of 001_schema.sql to the
-- status words /api/v1/jobs/* answers with (docs/interfaces.md):
--   ready -> ready, queued -> queued, running -> processing,
--   succeeded -> success, failed -> failed, canceled -> canceled.
-- job_report is one row per job with its owner, that word and its object
-- counts, for psql sessions and ad-hoc exports; docketd does not read it.
--
-- Both are CREATE OR REPLACE, so applying this file again is harmless.

CREATE OR REPLACE FUNCTION status_001(state job_state) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE state
        WHEN 'ready'     THEN 'ready'
        WHEN 'queued'    THEN 'queued'
        WHEN 'running'   THEN 'processing'
        WHEN 'succeeded' THEN 'success'
        WHEN 'failed'    THEN 'failed'
        WHEN 'canceled'  THEN 'canceled'
    END
$$;

COMMENT ON FUNCTION status_001(job_state) IS
    'The jobs API (seed 001) status word for a job state';

-- The object counts come from a LATERAL subquery so that a report filtered
-- on one job (WHERE id = ...) reads only that job's objects, and so that
-- object_results rows never multiply a job's row.
CREATE OR REPLACE VIEW job_report AS
SELECT j.id,
       j.uuid,
       u.name                   AS user_name,
       j.name                   AS job_name,
       j.state,
       status_001(j.state)      AS status_001,
       j.total_size,
       j.credits_spent,
       o.object_count,
       o.failed_object_count,
       j.created_at,
       j.finished_at
  FROM jobs j
  JOIN users u ON u.id = j.user_id
  CROSS JOIN LATERAL (
       SELECT count(*)                                        AS object_count,
              count(*) FILTER (WHERE jo.failure IS NOT NULL)  AS failed_object_count
         FROM job_objects jo
        WHERE jo.job_id = j.id
  ) o;

COMMENT ON VIEW job_report IS
    'One row per job: owner, seed 001 status word, sizes and object counts';
