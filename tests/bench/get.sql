-- get.sql: pgbench script, the exact SQL of docketd's prepared statement
-- job_get (fcgi-app/db.c), with $1 $2 $3 written as :id :uid :admin.
-- tests/bench/run passes -D uid=<bench user> -D admin=f -D lo=.. -D hi=..
-- and checks that this text still matches db.c.
--
-- One deliberate spelling change: pgbench replaces every ":name" in a
-- command with a parameter, even inside a string literal, so the to_char
-- format's colons are written as \x3A in an E'' literal.  PostgreSQL's
-- parser turns it into the very same constant, so the plan and the work
-- are the same as docketd's.
\set id random(:lo, :hi)
SELECT j.id, u.name, j.name,
 to_char(j.created_at AT TIME ZONE 'UTC',
 E'YYYY-MM-DD HH24\x3AMI\x3ASS.US"000 UTC"'),
 j.total_size, j.credits_spent, u.email, j.state, j.uuid,
 o.object_uuid, o.original_name, o.media_length, o.failure, r.kind
 FROM jobs j JOIN users u ON u.id = j.user_id
 LEFT JOIN job_objects o ON o.job_id = j.id
 LEFT JOIN object_results r
  ON r.job_id = o.job_id AND r.object_uuid = o.object_uuid
 WHERE j.id = :id AND (j.user_id = :uid OR :admin::boolean)
 ORDER BY o.created_at, o.object_uuid, r.kind;
