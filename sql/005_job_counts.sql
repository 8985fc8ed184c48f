-- 005: maintained counts for the jobs list (GET /api/v1/jobs/list with
-- listing parameters), so that its count and its deep pages cost what a
-- page costs on millions of jobs, as /batches/ does (004).
--
-- Jobs change state on the queue's hot path (enqueue, lease, finish,
-- requeue).  A counter row updated in place there would make every worker
-- wait for the commit of the one before it on that row: the row of (all
-- owners, all states, today) is touched by every enqueue.  So the hot path
-- only appends: a trigger writes one row per change to job_count_deltas,
-- a heap without indexes that nothing updates.  The dispatcher folds the
-- deltas into job_buckets every tick (job_counts_fold(), one transaction:
-- what it deletes it adds), and a count reads both: the buckets plus the
-- few deltas not folded yet, in one snapshot, so it is exact.
--
-- job_buckets has the shape of batch_buckets: per UTC day of created_at,
-- how many jobs per (owner, state), plus the roll-ups where the owner (0)
-- or the state ('') is "every".  created_at never changes, so a job stays
-- in its day; only its state moves it between buckets.  job_hours holds
-- the same counts per UTC hour, for the last step of a deep page's seek
-- (a day of a busy owner holds thousands of jobs; an hour a few hundred),
-- and job_totals the same counts over all days, for the list's default
-- range.

CREATE TABLE job_buckets (
    user_id  bigint NOT NULL,          -- 0: every owner
    state    text NOT NULL,            -- '': every state
    day      timestamptz NOT NULL,     -- UTC midnight of created_at
    n        bigint NOT NULL,
    PRIMARY KEY (user_id, state, day)
);

-- The same counts per UTC hour of created_at.
CREATE TABLE job_hours (
    user_id  bigint NOT NULL,          -- 0: every owner
    state    text NOT NULL,            -- '': every state
    hour     timestamptz NOT NULL,     -- UTC start of created_at's hour
    n        bigint NOT NULL,
    PRIMARY KEY (user_id, state, hour)
);

-- The same counts over all days together, per (owner, state), with the
-- same roll-ups: a count with no start (the list's default) reads one row
-- per state asked for instead of one per day.
CREATE TABLE job_totals (
    user_id  bigint NOT NULL,          -- 0: every owner
    state    text NOT NULL,            -- '': every state
    n        bigint NOT NULL,
    PRIMARY KEY (user_id, state)
);

-- One row per counted change: a new job (old_state NULL), a job that went
-- (new_state NULL), or a state change; n jobs alike (a bulk insert is one
-- row per owner, hour and state).  The hour is created_at's, in UTC; its
-- day is the day bucket's.  Rows live for one dispatcher tick, then
-- VACUUM (the dispatcher's, or autovacuum at these settings) reclaims them
-- so that the scans a count makes of it stay a few pages long.
CREATE TABLE job_count_deltas (
    user_id    bigint NOT NULL,
    hour       timestamptz NOT NULL,
    old_state  job_state,
    new_state  job_state,
    n          bigint NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0,
        autovacuum_vacuum_threshold = 5000,
        autovacuum_vacuum_insert_scale_factor = 0,
        autovacuum_vacuum_insert_threshold = 5000);

-- The UTC hour of a time (date_trunc in the session's zone would differ
-- in zones half an hour off UTC).  Inlined.
CREATE OR REPLACE FUNCTION job_hour(ts timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT date_trunc('hour', ts, 'UTC')
$$;

CREATE OR REPLACE FUNCTION job_counts_stmt() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_count_deltas (user_id, hour, old_state, new_state, n)
        SELECT user_id, job_hour(created_at), NULL, state, count(*)
          FROM new_rows GROUP BY 1, 2, 4;
    ELSE
        INSERT INTO job_count_deltas (user_id, hour, old_state, new_state, n)
        SELECT user_id, job_hour(created_at), state, NULL, count(*)
          FROM old_rows GROUP BY 1, 2, 3;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION job_counts_row() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF OLD.user_id = NEW.user_id
       AND job_hour(OLD.created_at) = job_hour(NEW.created_at) THEN
        INSERT INTO job_count_deltas (user_id, hour, old_state, new_state, n)
        VALUES (NEW.user_id, job_hour(NEW.created_at), OLD.state, NEW.state, 1);
    ELSE
        INSERT INTO job_count_deltas (user_id, hour, old_state, new_state, n)
        VALUES (OLD.user_id, job_hour(OLD.created_at), OLD.state, NULL, 1),
               (NEW.user_id, job_hour(NEW.created_at), NULL, NEW.state, 1);
    END IF;
    RETURN NULL;
END
$$;

-- Inserts and deletes per statement (a COPY of millions of jobs is one
-- aggregate); updates per row, and only when a counted column changed:
-- heartbeats, progress and results cost nothing here.
CREATE TRIGGER jobs_count_ins AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_counts_stmt();
CREATE TRIGGER jobs_count_del AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_counts_stmt();
CREATE TRIGGER jobs_count_upd AFTER UPDATE ON jobs
    FOR EACH ROW WHEN ((OLD.state, OLD.user_id, OLD.created_at)
                       IS DISTINCT FROM
                       (NEW.state, NEW.user_id, NEW.created_at))
    EXECUTE FUNCTION job_counts_row();

-- TRUNCATE fires no row or statement triggers of the kinds above.
CREATE OR REPLACE FUNCTION job_counts_truncate() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM job_count_deltas;
    DELETE FROM job_buckets;
    DELETE FROM job_hours;
    DELETE FROM job_totals;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_count_truncate AFTER TRUNCATE ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION job_counts_truncate();

-- Move every committed delta into the buckets, hours and totals, in one
-- transaction: a count sees either the delta or the bucket it went to, never both.  The
-- dispatcher calls it every tick; bucket rows are locked in key order so
-- that a concurrent fold (an operator's) cannot deadlock with it.
-- folded: the deltas moved (now dead rows, for VACUUM); pages: the size of
-- job_count_deltas, which every count reads whole.
CREATE OR REPLACE FUNCTION job_counts_fold(OUT folded bigint,
    OUT pages bigint)
    LANGUAGE plpgsql
AS $$
BEGIN
    WITH gone AS (
        DELETE FROM job_count_deltas
        RETURNING user_id, hour, old_state, new_state, n
    ), moves AS (
        SELECT user_id, hour, new_state::text AS state, n FROM gone
         WHERE new_state IS NOT NULL
        UNION ALL
        SELECT user_id, hour, old_state::text, -n FROM gone
         WHERE old_state IS NOT NULL
    ), hour_sums AS (
        SELECT k.u, k.s, m.hour, sum(m.n) AS n
          FROM moves m
         CROSS JOIN LATERAL (VALUES (m.user_id, m.state), (m.user_id, ''),
                                    (0, m.state), (0, '')) AS k(u, s)
         GROUP BY k.u, k.s, m.hour
        HAVING sum(m.n) <> 0
    ), sums AS (
        SELECT u, s, batch_day(hour) AS day, sum(n) AS n
          FROM hour_sums GROUP BY 1, 2, 3
        HAVING sum(n) <> 0
    ), added AS (
        INSERT INTO job_buckets AS b (user_id, state, day, n)
        SELECT u, s, day, n FROM sums ORDER BY u, s, day
        ON CONFLICT (user_id, state, day) DO UPDATE SET n = b.n + EXCLUDED.n
        RETURNING 1
    ), hours_added AS (
        INSERT INTO job_hours AS h (user_id, state, hour, n)
        SELECT u, s, hour, n FROM hour_sums ORDER BY u, s, hour
        ON CONFLICT (user_id, state, hour) DO UPDATE SET n = h.n + EXCLUDED.n
        RETURNING 1
    ), totalled AS (
        INSERT INTO job_totals AS t (user_id, state, n)
        SELECT u, s, sum(n) FROM sums GROUP BY u, s HAVING sum(n) <> 0
         ORDER BY u, s
        ON CONFLICT (user_id, state) DO UPDATE SET n = t.n + EXCLUDED.n
        RETURNING 1
    )
    SELECT count(*) INTO folded FROM gone;
    pages := pg_relation_size('job_count_deltas')
             / current_setting('block_size')::bigint;
END
$$;

-- Recount every bucket from the jobs table: after a bulk load with
-- triggers off (session_replication_role = replica), or if an operator
-- ever doubts the counts.  Takes a SHARE lock so nothing moves meanwhile.
CREATE OR REPLACE FUNCTION job_buckets_rebuild() RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    v bigint;
BEGIN
    LOCK TABLE jobs IN SHARE MODE;
    DELETE FROM job_count_deltas;
    DELETE FROM job_buckets;
    DELETE FROM job_hours;
    DELETE FROM job_totals;
    -- one pass over jobs for the hours; the days and totals from them
    INSERT INTO job_hours (user_id, state, hour, n)
    SELECT coalesce(user_id, 0), coalesce(state::text, ''), hour, count(*)
      FROM (SELECT user_id, state, job_hour(created_at) AS hour FROM jobs) j
     GROUP BY GROUPING SETS ((user_id, state, hour), (user_id, hour),
                             (state, hour), (hour));
    INSERT INTO job_buckets (user_id, state, day, n)
    SELECT user_id, state, batch_day(hour), sum(n) FROM job_hours
     GROUP BY 1, 2, 3;
    GET DIAGNOSTICS v = ROW_COUNT;
    INSERT INTO job_totals (user_id, state, n)
    SELECT user_id, state, sum(n) FROM job_buckets GROUP BY user_id, state;
    RETURN v;
END
$$;

-- Exact count of the jobs created in [p_lo, p_hi] in one of p_state (NULL:
-- any): the edge days of job_window, read through the listing's own
-- indexes.  Two statements so each gets the plan of its index.
CREATE OR REPLACE FUNCTION job_count_range(p_user bigint, p_state text[],
    p_lo timestamptz, p_hi timestamptz)
    RETURNS bigint LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v bigint;
BEGIN
    IF p_lo > p_hi THEN
        RETURN 0;
    END IF;
    IF p_user IS NULL THEN
        SELECT count(*) INTO v FROM jobs
         WHERE created_at >= p_lo AND created_at <= p_hi
           AND (p_state IS NULL OR state::text = ANY(p_state));
    ELSE
        SELECT count(*) INTO v FROM jobs
         WHERE user_id = p_user
           AND created_at >= p_lo AND created_at <= p_hi
           AND (p_state IS NULL OR state::text = ANY(p_state));
    END IF;
    RETURN v;
END
$$;

-- The deltas not folded yet of hours p_lo..p_hi, as (hour, n), as they
-- count for one bucket level: p_level '' is every state (a delta counts +n
-- when the job appeared, -n when it went), a state counts +n where a job
-- entered it and -n where one left.  SQL functions, which the planner
-- inlines where they are used.
CREATE OR REPLACE FUNCTION job_delta_rows(p_user bigint, p_level text,
    p_lo timestamptz, p_hi timestamptz)
    RETURNS TABLE (hour timestamptz, n bigint) LANGUAGE sql STABLE
AS $$
    SELECT x.hour,
           x.n * ((x.new_state IS NOT NULL
                   AND (p_level = '' OR x.new_state::text = p_level))::int
                - (x.old_state IS NOT NULL
                   AND (p_level = '' OR x.old_state::text = p_level))::int)
      FROM job_count_deltas x
     WHERE (p_user IS NULL OR x.user_id = p_user)
       AND x.hour >= p_lo AND x.hour <= p_hi
$$;

-- The (day, n) rows of one bucket level of job_window: the buckets of days
-- p_lo..p_hi and their deltas.
CREATE OR REPLACE FUNCTION job_window_rows(p_user bigint, p_level text,
    p_lo timestamptz, p_hi timestamptz)
    RETURNS TABLE (day timestamptz, n bigint) LANGUAGE sql STABLE
AS $$
    SELECT b.day, b.n FROM job_buckets b
     WHERE b.user_id = coalesce(p_user, 0) AND b.state = p_level
       AND b.day >= p_lo AND b.day <= p_hi
    UNION ALL
    SELECT batch_day(d.hour), d.n
      FROM job_delta_rows(p_user, p_level, p_lo, p_hi + interval '23 hours') d
$$;

-- The (hour, n) rows of one level: the hours p_lo..p_hi and their deltas.
CREATE OR REPLACE FUNCTION job_hour_rows(p_user bigint, p_level text,
    p_lo timestamptz, p_hi timestamptz)
    RETURNS TABLE (hour timestamptz, n bigint) LANGUAGE sql STABLE
AS $$
    SELECT h.hour, h.n FROM job_hours h
     WHERE h.user_id = coalesce(p_user, 0) AND h.state = p_level
       AND h.hour >= p_lo AND h.hour <= p_hi
    UNION ALL
    SELECT d.hour, d.n FROM job_delta_rows(p_user, p_level, p_lo, p_hi) d
$$;

-- How many rows of its day a deep page may skip by reading them; from
-- this many on, job_window seeks the hour first.  Reading a row costs
-- ~0.2 us, the hour's seek ~50 us.  (A function so the tests can lower it.)
CREATE OR REPLACE FUNCTION job_window_hour_rows() RETURNS bigint
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT 500::bigint
$$;

-- The listing window of the jobs list (listing.c's window_fn contract, as
-- batch_window): how many jobs match, and, when p_offset is given (the
-- list is ordered by date), where the page starting at row p_offset
-- begins: rows created in [lo, hi], in listing order, after skip of them.
-- lo and hi stay NULL when p_offset is past the end (the page is empty).
--   p_user     NULL = every owner (admins)
--   p_state    NULL = every state (job_state names)
--   p_started  NULL = from the beginning; p_ended inclusive
-- The count is the buckets of the days inside the range plus the edge
-- days' exact parts (list_window_edges), or, for the default range, the
-- totals; page 1 needs nothing more, a deeper page walks the days in
-- listing order to the one holding its first row, then, when that would
-- leave more than job_window_hour_rows() rows of the day to skip, the
-- hours of that day the same way.
CREATE OR REPLACE FUNCTION job_window(p_user bigint, p_state text[],
    p_started timestamptz, p_ended timestamptz, p_desc boolean,
    p_offset bigint, OUT total bigint, OUT lo timestamptz,
    OUT hi timestamptz, OUT skip bigint)
    LANGUAGE plpgsql STABLE
    -- Each statement here reads a few rows through one index whatever its
    -- parameters, but PL/pgSQL's plan cache, left to itself, plans them
    -- again on every call (its custom plans look cheaper than the generic
    -- one): that planning was most of the cost, 50k calls/s against 28k
    -- for page 1 and 7.4k against 3.3k for page 5,000 at 8 clients on 5M
    -- jobs (docs/listing.md).
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    -- the bucket levels to sum: each state asked for once ('': every state)
    v_levels text[] := ARRAY(SELECT DISTINCT unnest(coalesce(p_state, '{""}')));
    v_days_lo timestamptz;
    v_days_hi timestamptz;
    v_edge_days timestamptz[];
    v_edge_ns bigint[];
    v_day timestamptz;
    v_before bigint;
    v_after bigint;                     -- jobs created after p_ended
    v_edge_lo timestamptz;              -- the first and last edge day
    v_edge_hi timestamptz;
    v_day_n bigint;                     -- v_day's rows in the range
    v_adj_days timestamptz[];           -- per day, what the walk adds to
    v_adj_ns bigint[];                  -- the level's bucket
    v_ordered boolean := false;         -- walk the buckets in index order
    v_adj_hours timestamptz[];          -- per hour, the unfolded deltas
    v_adj_hour_ns bigint[];
    v_orphan_hours timestamptz[];       -- hours of those with no job_hours row
    v_lo_part bigint;                   -- the partial hours' counts
    v_hi_part bigint;
    v_first_part bigint;                -- the same, in walk order
    v_last_part bigint;
    v_hours_ordered boolean := false;
    v_us constant interval := interval '1 microsecond';
    v_a timestamptz;                    -- the range's part of v_day
    v_b timestamptz;
    v_ha timestamptz;                   -- their hours
    v_hb timestamptz;
    v_full_lo timestamptz;              -- the whole hours between them
    v_full_hi timestamptz;
    v_part_hours timestamptz[] := '{}'; -- partial hours and their counts
    v_part_ns bigint[] := '{}';
    v_hour timestamptz;
    v_hour_before bigint;
BEGIN
    total := 0;
    IF cardinality(v_levels) = 0 OR p_ended < p_started THEN
        RETURN;
    END IF;
    -- The list's default range (no start, ended now): the totals and the
    -- deltas, less the jobs created after p_ended (an index probe that
    -- finds none, or an hour's worth at most).
    IF p_started IS NULL AND p_ended >= now() - interval '1 hour' THEN
        v_after := job_count_range(p_user, p_state, p_ended + v_us, 'infinity');
        SELECT (SELECT coalesce(sum(t.n), 0) FROM job_totals t
                 WHERE t.user_id = coalesce(p_user, 0) AND t.state = ANY(v_levels))
             + (SELECT coalesce(sum(d.n), 0) FROM unnest(v_levels) AS l (level)
                 CROSS JOIN LATERAL job_delta_rows(p_user, l.level,
                                                   '-infinity', 'infinity') d)
             - v_after
          INTO total;
    ELSE
        total := NULL;
    END IF;

    -- The days counted from the buckets and the edge days' exact parts:
    -- in the default range with no job newer than p_ended (the usual
    -- case), every day and no edge; otherwise, when counting or walking
    -- the days, list_window_edges.
    IF v_after = 0 THEN
        v_days_lo := '-infinity';
        v_days_hi := 'infinity';
    ELSIF total IS NULL OR p_offset > 0 THEN
        SELECT min(x.days_lo), min(x.days_hi), array_agg(x.day),
               array_agg(x.sign * job_count_range(p_user, p_state, x.lo, x.hi)),
               min(x.day), max(x.day)
          INTO v_days_lo, v_days_hi, v_edge_days, v_edge_ns, v_edge_lo, v_edge_hi
          FROM list_window_edges(p_started, p_ended) x;
    END IF;
    IF total IS NULL THEN
        SELECT coalesce(sum(r.n), 0) INTO total
          FROM unnest(v_levels) AS l (level)
         CROSS JOIN LATERAL job_window_rows(p_user, l.level, v_days_lo, v_days_hi) r;
        SELECT total + coalesce(sum(x), 0) INTO total FROM unnest(v_edge_ns) x;
    END IF;
    IF p_offset IS NULL OR p_offset >= total THEN
        RETURN;
    END IF;
    -- Past row 0, the day holding row p_offset, then, when the page would
    -- skip many of that day's rows, the hour holding it.
    --
    -- With one level (no filter, or one state) each walk reads that
    -- level's rows in index order and stops at the one it looks for: ~50
    -- days for page 5,000 of a year, where merging the deltas and edges in
    -- as rows (the sorting walk, below) reads and sorts every day of the
    -- range.  They are added instead to their days' (hours') rows, found
    -- by array_position, which needs each of those days (hours) to have a
    -- row; when one has none (its jobs are all in deltas yet, or the
    -- range's edge holds the level's only jobs of the day), or with
    -- several levels, the sorting walk.  The day walk bounds its scan on
    -- the side it starts from only: days beyond the range count 0, and it
    -- stops before them, p_offset being below the total.  The two
    -- directions are two statements: each plan walks the index one way.
    IF p_offset > 0 AND cardinality(v_levels) = 1 THEN
        -- The level's deltas, read once: per day for the day walk (an edge
        -- day counts its exact part instead, which holds its deltas), and
        -- per hour, edge days included, for the hour walk.
        WITH d AS (SELECT x.hour, x.n
                     FROM job_delta_rows(p_user, v_levels[1],
                                         least(v_days_lo, v_edge_lo),
                                         greatest(v_days_hi, v_edge_hi)
                                         + interval '23 hours') x),
        days AS (SELECT u.day, sum(u.n)::bigint AS n
                   FROM (SELECT batch_day(d.hour) AS day, d.n FROM d
                          WHERE d.hour >= v_days_lo
                            AND d.hour < v_days_hi + interval '24 hours'
                         UNION ALL
                         SELECT e.day, e.n
                           FROM unnest(v_edge_days, v_edge_ns) AS e (day, n)) u
                  GROUP BY u.day),
        hours AS (SELECT d.hour, sum(d.n)::bigint AS n FROM d GROUP BY d.hour)
        SELECT a.days, a.ns, a.ok, h.hours, h.ns, h.orphans
          INTO v_adj_days, v_adj_ns, v_ordered,
               v_adj_hours, v_adj_hour_ns, v_orphan_hours
          FROM (SELECT array_agg(days.day) AS days, array_agg(days.n) AS ns,
                       coalesce(bool_and(days.n = 0 OR EXISTS (
                           SELECT 1 FROM job_buckets b
                            WHERE b.user_id = coalesce(p_user, 0)
                              AND b.state = v_levels[1] AND b.day = days.day)),
                           true) AS ok
                  FROM days) a
         CROSS JOIN
               (SELECT array_agg(hours.hour) AS hours, array_agg(hours.n) AS ns,
                       array_agg(hours.hour) FILTER (WHERE hours.n <> 0 AND NOT EXISTS (
                           SELECT 1 FROM job_hours jh
                            WHERE jh.user_id = coalesce(p_user, 0)
                              AND jh.state = v_levels[1] AND jh.hour = hours.hour))
                           AS orphans
                  FROM hours) h;
    END IF;
    IF v_ordered AND p_desc THEN
        SELECT w.day, w.upto - w.n, w.n INTO v_day, v_before, v_day_n
          FROM (SELECT u.day, u.n,
                       sum(u.n) OVER (ORDER BY u.day DESC ROWS UNBOUNDED PRECEDING) AS upto
                  FROM (SELECT b.day,
                               (CASE WHEN b.day >= v_days_lo AND b.day <= v_days_hi
                                     THEN b.n ELSE 0 END
                                + coalesce(v_adj_ns[array_position(v_adj_days, b.day)], 0)
                               )::integer AS n
                          FROM job_buckets b
                         WHERE b.user_id = coalesce(p_user, 0) AND b.state = v_levels[1]
                           AND b.day <= greatest(v_days_hi, v_edge_hi)) u) w
         WHERE w.n > 0 AND w.upto > p_offset
         LIMIT 1;
    ELSIF v_ordered THEN
        SELECT w.day, w.upto - w.n, w.n INTO v_day, v_before, v_day_n
          FROM (SELECT u.day, u.n,
                       sum(u.n) OVER (ORDER BY u.day ROWS UNBOUNDED PRECEDING) AS upto
                  FROM (SELECT b.day,
                               (CASE WHEN b.day >= v_days_lo AND b.day <= v_days_hi
                                     THEN b.n ELSE 0 END
                                + coalesce(v_adj_ns[array_position(v_adj_days, b.day)], 0)
                               )::integer AS n
                          FROM job_buckets b
                         WHERE b.user_id = coalesce(p_user, 0) AND b.state = v_levels[1]
                           AND b.day >= least(v_days_lo, v_edge_lo)) u) w
         WHERE w.n > 0 AND w.upto > p_offset
         LIMIT 1;
    ELSIF p_offset > 0 THEN
        -- the sorting walk, as in batch_window
        SELECT w.day, w.upto - w.n, w.n INTO v_day, v_before, v_day_n
          FROM (SELECT c.day,
                       sum(c.n) OVER (ORDER BY c.key GROUPS UNBOUNDED PRECEDING) AS upto,
                       sum(c.n) OVER (ORDER BY c.key GROUPS CURRENT ROW) AS n
                  FROM (SELECT u.day, u.n::integer AS n,
                               list_window_key(u.day, p_desc) AS key
                          FROM (SELECT r.day, r.n FROM unnest(v_levels) AS l (level)
                                 CROSS JOIN LATERAL job_window_rows(p_user, l.level,
                                                        v_days_lo, v_days_hi) r
                                UNION ALL
                                SELECT d.day, d.n
                                  FROM unnest(v_edge_days, v_edge_ns) AS d (day, n)) u) c) w
         WHERE w.n > 0 AND w.upto > p_offset
         LIMIT 1;
    END IF;
    -- The page: rows with time in [lo, hi], in listing order, after skip.
    lo := coalesce(p_started, '-infinity');
    hi := p_ended;
    skip := p_offset - coalesce(v_before, 0);
    IF v_day IS NULL THEN
        RETURN;
    END IF;
    -- Within the day [v_a, v_b], when the page would skip many of its rows:
    -- the same walk over its hours, from job_hours, with the partial hours
    -- at the range's bounds counted exactly.
    IF skip >= job_window_hour_rows() THEN
        v_a := greatest(v_day, lo);
        v_b := least(v_day + interval '24 hours' - v_us, hi);
        v_ha := job_hour(v_a);
        v_hb := job_hour(v_b);
        -- the hours wholly inside [v_a, v_b]; the ones holding a bound
        -- inside them are partial
        v_full_lo := CASE WHEN v_a > v_ha THEN v_ha + interval '1 hour' ELSE v_ha END;
        v_full_hi := CASE WHEN v_b < v_hb + interval '1 hour' - v_us
                          THEN v_hb - interval '1 hour' ELSE v_hb END;
        IF v_full_lo > v_ha THEN
            v_lo_part := job_count_range(p_user, p_state, v_a,
                                         least(v_b, v_full_lo - v_us));
            v_part_hours := v_part_hours || v_ha;
            v_part_ns := v_part_ns || v_lo_part;
        END IF;
        -- (when both bounds fall in one hour, the first part is all of it)
        IF v_full_hi < v_hb AND NOT (v_hb = v_ha AND v_full_lo > v_ha) THEN
            v_hi_part := job_count_range(p_user, p_state, v_hb, v_b);
            v_part_hours := v_part_hours || v_hb;
            v_part_ns := v_part_ns || v_hi_part;
        END IF;
        -- the hours are walked in order too, unless one of the day's
        -- whole hours has deltas but no job_hours row
        v_hours_ordered := v_ordered;
        IF v_orphan_hours IS NOT NULL THEN
            v_hours_ordered := v_ordered AND NOT EXISTS (
                SELECT 1 FROM unnest(v_orphan_hours) o
                 WHERE o >= v_full_lo AND o <= v_full_hi);
        END IF;
    END IF;
    IF v_hours_ordered THEN
        -- The ordered hour walk: the partial hour it starts from, then the
        -- whole hours (at most the day's 24 rows of the index, read from
        -- the start side: bounding both sides would cost the generic plan
        -- a sort), then the partial hour it ends on, which holds the row
        -- when the others don't.
        v_first_part := coalesce(CASE WHEN p_desc THEN v_hi_part ELSE v_lo_part END, 0);
        v_last_part := CASE WHEN p_desc THEN v_lo_part ELSE v_hi_part END;
        IF skip < v_first_part THEN
            v_hour := CASE WHEN p_desc THEN v_hb ELSE v_ha END;
            v_hour_before := 0;
        ELSIF v_full_lo <= v_full_hi AND p_desc THEN
            SELECT w.hour, v_first_part + w.upto - w.n INTO v_hour, v_hour_before
              FROM (SELECT u.hour, u.n,
                           sum(u.n) OVER (ORDER BY u.hour DESC ROWS UNBOUNDED PRECEDING) AS upto
                      FROM (SELECT h.hour,
                                   (h.n + coalesce(v_adj_hour_ns[array_position(v_adj_hours, h.hour)], 0)
                                   )::integer AS n
                              FROM (SELECT jh.hour, jh.n FROM job_hours jh
                                     WHERE jh.user_id = coalesce(p_user, 0)
                                       AND jh.state = v_levels[1] AND jh.hour <= v_full_hi
                                     ORDER BY jh.hour DESC LIMIT 24) h
                             WHERE h.hour >= v_full_lo) u) w
             WHERE w.n > 0 AND w.upto > skip - v_first_part
             LIMIT 1;
        ELSIF v_full_lo <= v_full_hi THEN
            SELECT w.hour, v_first_part + w.upto - w.n INTO v_hour, v_hour_before
              FROM (SELECT u.hour, u.n,
                           sum(u.n) OVER (ORDER BY u.hour ROWS UNBOUNDED PRECEDING) AS upto
                      FROM (SELECT h.hour,
                                   (h.n + coalesce(v_adj_hour_ns[array_position(v_adj_hours, h.hour)], 0)
                                   )::integer AS n
                              FROM (SELECT jh.hour, jh.n FROM job_hours jh
                                     WHERE jh.user_id = coalesce(p_user, 0)
                                       AND jh.state = v_levels[1] AND jh.hour >= v_full_lo
                                     ORDER BY jh.hour LIMIT 24) h
                             WHERE h.hour <= v_full_hi) u) w
             WHERE w.n > 0 AND w.upto > skip - v_first_part
             LIMIT 1;
        END IF;
        IF v_hour IS NULL AND v_last_part IS NOT NULL THEN
            v_hour := CASE WHEN p_desc THEN v_ha ELSE v_hb END;
            v_hour_before := v_day_n - v_last_part;
        END IF;
    ELSIF skip >= job_window_hour_rows() THEN
        SELECT w.hour, w.upto - w.n INTO v_hour, v_hour_before
          FROM (SELECT c.hour,
                       sum(c.n) OVER (ORDER BY c.key GROUPS UNBOUNDED PRECEDING) AS upto,
                       sum(c.n) OVER (ORDER BY c.key GROUPS CURRENT ROW) AS n
                  FROM (SELECT u.hour, u.n::integer AS n,
                               list_window_key(u.hour, p_desc) AS key
                          FROM (SELECT r.hour, r.n FROM unnest(v_levels) AS l (level)
                                 CROSS JOIN LATERAL job_hour_rows(p_user, l.level,
                                                        v_full_lo, v_full_hi) r
                                UNION ALL
                                SELECT d.hour, d.n
                                  FROM unnest(v_part_hours, v_part_ns) AS d (hour, n)) u) c) w
         WHERE w.n > 0 AND w.upto > skip
         LIMIT 1;
    END IF;
    IF v_hour IS NOT NULL THEN
        skip := skip - v_hour_before;
        IF p_desc THEN
            hi := least(v_hour + interval '1 hour' - v_us, hi);
        ELSE
            lo := greatest(v_hour, lo);
        END IF;
    ELSIF p_desc THEN
        hi := least(v_day + interval '24 hours' - v_us, hi);
    ELSE
        lo := greatest(v_day, lo);
    END IF;
END
$$;

-- Count the jobs that exist now.
SELECT job_buckets_rebuild();
