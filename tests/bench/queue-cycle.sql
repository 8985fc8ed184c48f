-- queue-cycle.sql: one queue cycle for pgbench: docketd's prepared
-- statements q_enqueue, q_lease and q_update (fcgi-app/db.c) with the
-- parameters docketd passes for POST /api/v1/queue/jobs, POST
-- /api/v1/queue/want_job?queue=Q (a worker token without a queue list) and
-- PUT /api/v1/queue/jobs/<id> {"status":"done",...}.  Each statement is its
-- own transaction, as in docketd.  tests/bench/queue checks the statements
-- against db.c and sets the variables:
--
--   pgbench -n -M prepared -f queue-cycle.sql -D uid=USER_ID -D body=ENQUEUE_BODY
--       -D prio=1 -D delay=0 -D queues={Q} -D lease=60 -D worker='worker N from ADDR'
--       -D status=done -D fbody=FINISH_BODY
--
-- The NULLs are the parameters docketd passes as NULL.  The lease carries
-- the job's uuid to the finish in a pgbench variable (docketd takes it from
-- the URL): hence the extra columns j.uuid and got.  \aset assigns nothing
-- when the lease finds no job (SKIP LOCKED passing a row another client
-- holds), and the finish is then skipped; tests/bench/queue counts cycles
-- as finished jobs in the database, not as pgbench transactions.
SELECT queue_job_json(j, false), j.uuid FROM queue_enqueue(:uid, :queue, (:body::jsonb)->'params', :prio, :delay, NULL, NULL, NULL) j;
\set got 0
SELECT queue_job_json(j, true), j.lease_token, j.uuid, 1 AS got FROM queue_lease(:queues::text[], NULL, :lease, :worker) j \aset
\if :got
SELECT u.outcome, queue_job_json(u.job, false) FROM queue_update(:uuid::uuid, NULL, NULL::text[], :lease_token::uuid, :status, (:fbody::jsonb)->'result') u;
\endif
