-- auth.sql: pgbench script, the exact SQL of docketd's prepared statement
-- auth (fcgi-app/db.c), which /_auth runs on every auth cache miss, with
-- $1 written as :hash (-D hash='\x<sha256 of the token in hex>', the text
-- docketd sends).  tests/bench/run checks that it still matches db.c.
SELECT user_id, role FROM api_tokens
 WHERE token_hash = :hash::bytea AND revoked_at IS NULL
 AND (expires_at IS NULL OR expires_at > now());
