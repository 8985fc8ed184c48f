-- list.sql: pgbench script, the exact SQL of docketd's prepared statement
-- job_list_user (fcgi-app/db.c), with $1 $2 written as :uid :lim.
-- tests/bench/run passes -D uid=<bench user> -D lim=<jobs_list_max>
-- and checks that this text still matches db.c.
--
-- One deliberate spelling change: pgbench replaces every ":name" in a
-- command with a parameter, even inside a string literal, so the to_char
-- format's colons are written as \x3A in an E'' literal.  PostgreSQL's
-- parser turns it into the very same constant, so the plan and the work
-- are the same as docketd's.
SELECT id, name, to_char(created_at AT TIME ZONE 'UTC',
 E'YYYY-MM-DD HH24\x3AMI\x3ASS.US"000 UTC"'),
 total_size, credits_spent, state FROM jobs WHERE user_id = :uid
 ORDER BY created_at DESC, id DESC LIMIT :lim;
