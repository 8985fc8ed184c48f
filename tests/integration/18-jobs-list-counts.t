#!/usr/bin/perl
# The jobs list's count and deep pages through job_window
# (sql/005_job_counts.sql): for every kind of listing, walking every page
# gives exactly the jobs a plain ORDER BY gives and the count a plain
# count(*) gives; the count stays exact through the queue's hot path
# (enqueue, lease, finish, delete) whether or not the dispatcher has folded
# the changes yet; the dispatcher folds them and vacuums the delta table.
use strict;
use warnings;
use Test::More;
use DocketTest;

my ($tok, $user) = new_user_token('jcount');
my $uid = user_id_of($user);
my %word = (ready => 'ready', queued => 'queued', running => 'processing',
            succeeded => 'success', failed => 'failed', canceled => 'canceled');

# Jobs g = $from..$to of user $uid, every state in turn, in one statement
# (the insert trigger writes one delta per (day, state)); $name and
# $created are SQL expressions of g.  Returns how many were inserted.
sub insert_jobs {
    my ($uid, $name, $created, $from, $to) = @_;
    return sql_value(<<"SQL");
WITH ins AS (
INSERT INTO jobs (user_id, name, state, lease_token, created_at)
SELECT $uid, $name, s, CASE WHEN s = 'running' THEN gen_random_uuid() END, $created
  FROM (SELECT g, (enum_range(NULL::job_state))[1 + g % 6] AS s
          FROM generate_series($from, $to) g) x
RETURNING 1)
SELECT count(*) FROM ins
SQL
}

# 700 jobs, one every 83 minutes back from now (40 days), with pairs
# sharing a creation time so the tiebreak (id) is needed.
is(insert_jobs($uid, "'jc-' || lpad(g::text, 3, '0')",
               "now() - (g - (g % 50 = 1)::int) * interval '83 minutes'", 1, 700),
   700, '700 jobs over 40 days');

# The ids a listing must show, in order, by plain SQL.
sub want_ids {
    my ($where, $order) = @_;
    return sql_lines("SELECT id FROM jobs WHERE user_id = $uid AND created_at <= now()"
                     . " AND ($where) ORDER BY $order");
}

# Walk every page of a listing by page number; returns the ids in order,
# the counts each page gave, and the first failed status.
sub walk {
    my ($q, $size) = @_;
    my (@ids, %counts, $bad);
    for (my $page = 1; $page <= 100; $page++) {
        my $r = api(GET => "/api/v1/jobs/list?$q&page_size=$size&page=$page", token => $tok);
        if ($r->{status} != 200) {
            $bad = "page $page: $r->{status} $r->{content}" unless $r->{status} == 404 && $page > 1;
            last;
        }
        $counts{ $r->{json}{count} } = 1;
        push @ids, map { $_->{job_id} } @{ $r->{json}{jobs} };
        last unless defined $r->{json}{next};
    }
    return (\@ids, [sort keys %counts], $bad);
}

# Ask for every page of a listing directly (page=N, not by following
# next) and compare each with its slice of $want, the ids a plain
# ORDER BY gives, and its count with @$want; returns how many pages were
# asked for and the first mismatch.
sub pages_match {
    my ($token, $q, $want, $size) = @_;
    my $n = @$want;
    my ($bad, $pages) = (undef, 0);
    for (my $page = 1; ($page - 1) * $size < $n; $page++) {
        my $query = join('&', grep { length } $q, "page_size=$size&page=$page");
        my $r = api(GET => "/api/v1/jobs/list?$query", token => $token);
        my $got = $r->{status} == 200 ? [map { $_->{job_id} } @{ $r->{json}{jobs} }] : [];
        my $end = $page * $size - 1 < $n - 1 ? $page * $size - 1 : $n - 1;
        unless ($r->{status} == 200 && $r->{json}{count} == $n
                && "@$got" eq "@$want[($page - 1) * $size .. $end]") {
            $bad //= "page $page: $r->{status} count "
                     . ($r->{json}{count} // 'none') . ", want $n";
        }
        $pages++;
    }
    return ($pages, $bad);
}

my $mid_lo = sql_value("SELECT to_char((now() - interval '20 days 7 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
my $mid_hi = sql_value("SELECT to_char((now() - interval '9 days 17 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
my @cases = (
    ['default order (-date)',       '',                                 'true',                           'created_at DESC, id DESC'],
    ['order=date',                  'order=date',                       'true',                           'created_at, id'],
    ['status=success',              'status=success',                   "state = 'succeeded'",            'created_at DESC, id DESC'],
    ['status=success given twice',  'status=success&status=success',    "state = 'succeeded'",            'created_at DESC, id DESC'],
    ['status=queued&status=processing, order=date',
                                    'status=queued&status=processing&order=date',
                                                                        "state IN ('queued', 'running')", 'created_at, id'],
    ['started=P10D',                'started=P10D',                     "created_at >= now() - interval '10 days'",
                                                                                                          'created_at DESC, id DESC'],
    ['started and ended mid-day',   "started=$mid_lo&ended=$mid_hi",    "created_at >= '$mid_lo' AND created_at <= '$mid_hi'",
                                                                                                          'created_at DESC, id DESC'],
    ['status=failed, mid-day range, order=date',
                                    "status=failed&started=$mid_lo&ended=$mid_hi&order=date",
                                                                        "state = 'failed' AND created_at >= '$mid_lo' AND created_at <= '$mid_hi'",
                                                                                                          'created_at, id'],
    ['order=job_name (count from the window, pages by OFFSET)',
                                    'order=job_name',                   'true',                           'name, id'],
);
for my $c (@cases) {
    my ($name, $q, $where, $order) = @$c;
    my $want = want_ids($where, $order);
    cmp_ok(scalar @$want, '>', 29, "$name: more than a page of jobs");
    my ($got, $counts, $bad) = walk($q, 29);
    is($bad, undef, "$name: every page answered");
    is_deeply($counts, [scalar @$want], "$name: every page's count = count(*)");
    is_deeply($got, $want, "$name: the pages, in order, = ORDER BY $order");
}

# A deep page asked for directly (not reached by walking) and the page
# after the last.
{
    my $want = want_ids('true', 'created_at DESC, id DESC');
    my $r = api(GET => '/api/v1/jobs/list?page_size=10&page=63', token => $tok);
    expect_json($r, 200, undef, 'page 63 of 10');
    is_deeply([map { $_->{job_id} } @{ $r->{json}{jobs} }], [@$want[620 .. 629]],
              'page 63 of 10: rows 621 to 630 of the ordering');
    $r = api(GET => '/api/v1/jobs/list?page_size=10&page=71', token => $tok);
    expect_json($r, 404, { message => 'The page does not exist',
                           affected_query_parameter => 'page: number' },
                'page 71 of 10 (past the 700th job): 404');
}

# ---- a busy day: deep pages seek their hour ------------------------------------
# 1,500 jobs of a user of its own in one UTC day, one every 57 s, every
# state in turn: a page deep into the day would skip up to 1,400 of its
# rows, so job_window seeks the hour first (job_window_hour_rows(), 500).
# Every page of 100 asked for directly, in both orders, with and without a
# filter and a range with mid-hour bounds, = plain ORDER BY ... OFFSET.
{
    my ($btok, $buser) = new_user_token('jcount-busy');
    my $buid = user_id_of($buser);
    is(insert_jobs($buid, "'busy-' || g",
                   "date_trunc('day', now() - interval '2 days', 'UTC') + g * interval '57 seconds'",
                   0, 1499),
       1500, 'busy day: 1,500 jobs in one day');
    my $day = sql_value("SELECT to_char(date_trunc('day', now() - interval '2 days', 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD')");
    for my $c (['',                              'true'],
               ['status=success&status=failed&status=queued', "state IN ('succeeded', 'failed', 'queued')"],
               ["started=${day}T03:30:00Z&ended=${day}T20:15:00Z",
                "created_at >= '${day}T03:30:00Z' AND created_at <= '${day}T20:15:00Z'"]) {
        my ($q, $where) = @$c;
        for my $o (['', 'created_at DESC, id DESC'], ['order=date', 'created_at, id']) {
            my ($oq, $order) = @$o;
            my $want = sql_lines("SELECT id FROM jobs WHERE user_id = $buid AND created_at <= now()"
                                 . " AND ($where) ORDER BY $order");
            my ($pages, $bad) = pages_match($btok, join('&', grep { length } $q, $oq), $want, 100);
            cmp_ok($pages, '>=', 7, "busy day, '$q' '$oq': at least 7 pages");
            is($bad, undef, "busy day, '$q' '$oq': every page = OFFSET, count = count(*)");
        }
    }
}

# ---- jobs newer than `ended` ------------------------------------------------------
# The default range (no start, ended within the hour) counts from the
# totals less the jobs newer than `ended`; when there are none, a deep page
# walks every day with no edge.  When there are some (here, created in the
# last half hour, and dated two days ahead, as an import could bring), the
# walk must leave them out: every page of 20 of ended=now-30min, both
# orders, with and without a filter, = plain ORDER BY ... OFFSET.
{
    my ($ntok, $nuser) = new_user_token('jcount-newer');
    my $nuid = user_id_of($nuser);
    is(insert_jobs($nuid, "'newer-' || g",
                   "CASE WHEN g < 6 THEN now() + interval '2 days' + g * interval '1 minute'"
                   . " ELSE now() - (g - 6) * interval '5 minutes 17 seconds' END",
                   0, 299),
       300, 'newer jobs: 300 jobs, the last 12 newer than ended');
    my $ended = sql_value("SELECT to_char((now() - interval '30 minutes') AT TIME ZONE 'UTC',"
                          . " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    for my $c (['', 'true'], ['status=failed', "state = 'failed'"]) {
        my ($q, $where) = @$c;
        for my $o (['', 'created_at DESC, id DESC'], ['order=date', 'created_at, id']) {
            my ($oq, $order) = @$o;
            my $want = sql_lines("SELECT id FROM jobs WHERE user_id = $nuid AND created_at <= '$ended'"
                                 . " AND ($where) ORDER BY $order");
            my ($pages, $bad) = pages_match($ntok, join('&', grep { length } $q, $oq, "ended=$ended"),
                                            $want, 20);
            cmp_ok($pages, '>=', 2, "newer jobs, '$q' '$oq': at least 2 pages");
            is($bad, undef, "newer jobs, '$q' '$oq': every page = OFFSET, count = count(*)");
        }
    }
}

# ---- exact through the queue's hot path ---------------------------------------
# A user of its own, so that its counts are small numbers everyone can read.
my ($qtok, $quser) = new_user_token('jcount-q');
my $quid = user_id_of($quser);
my $queue = unique_name('jcq');

sub counts_now {
    my %c;
    for my $s (qw(queued processing success)) {
        my $r = api(GET => "/api/v1/jobs/list?status=$s&page_size=1", token => $qtok);
        $c{$s} = $r->{status} == 200 ? $r->{json}{count} : "HTTP $r->{status}";
    }
    my $r = api(GET => '/api/v1/jobs/list?page_size=1', token => $qtok);
    $c{all} = $r->{status} == 200 ? $r->{json}{count} : "HTTP $r->{status}";
    return \%c;
}

my @qids;
for my $i (1 .. 3) {
    my $r = api(POST => '/api/v1/queue/jobs', token => $qtok,
                content => encode_json({ queue => $queue, params => { i => $i } }));
    is($r->{status}, 202, "enqueue $i");
    push @qids, $r->{json}{id};
}
is_deeply(counts_now(), { queued => 3, processing => 0, success => 0, all => 3 },
          'after 3 enqueues: 3 queued, at once');
my $r = api(POST => "/api/v1/queue/want_job?queue=$queue", token => $qtok);
is($r->{status}, 200, 'want_job leases one');
my ($leased, $lease) = ($r->{json}{id}, $r->{json}{lease_token});
is_deeply(counts_now(), { queued => 2, processing => 1, success => 0, all => 3 },
          'after a lease: 2 queued, 1 processing');
$r = api(PUT => "/api/v1/queue/jobs/$leased", token => $qtok,
         content => encode_json({ status => 'done', lease_token => $lease }));
is($r->{status}, 200, 'finish');
is_deeply(counts_now(), { queued => 2, processing => 0, success => 1, all => 3 },
          'after the finish: 2 queued, 1 success');
$r = api(DELETE => "/api/v1/queue/jobs/$qids[2]", token => $qtok);
ok($r->{status} == 200 || $r->{status} == 204, 'delete a queued job');
is_deeply(counts_now(), { queued => 1, processing => 0, success => 1, all => 2 },
          'after the delete: 1 queued, 1 success');

# ---- the dispatcher folds and vacuums ----------------------------------------------
my $unfolded = "SELECT count(*) FROM job_count_deltas WHERE user_id IN ($uid, $quid)";
ok(wait_until(sub { sql_value($unfolded) == 0 }, 10),
   'the dispatcher folds the deltas into the buckets');
my $bucket_diff = <<"SQL";
WITH kept AS (SELECT user_id, state, day, n FROM job_buckets
               WHERE user_id IN ($uid, $quid) AND n <> 0),
     recount AS (SELECT user_id, state::text AS state, date_trunc('day', created_at, 'UTC') AS day,
                        count(*) AS n FROM jobs WHERE user_id IN ($uid, $quid) GROUP BY 1, 2, 3
                 UNION ALL
                 SELECT user_id, '', date_trunc('day', created_at, 'UTC'), count(*)
                   FROM jobs WHERE user_id IN ($uid, $quid) GROUP BY 1, 3)
SELECT count(*) FROM ((SELECT * FROM kept EXCEPT ALL SELECT * FROM recount)
                      UNION ALL (SELECT * FROM recount EXCEPT ALL SELECT * FROM kept)) d
SQL
is(sql_value($bucket_diff), 0, 'the folded buckets = a recount, per state and in all, every day');
is_deeply(counts_now(), { queued => 1, processing => 0, success => 1, all => 2 },
          'the counts after the fold are the same');

# One statement changing 500 jobs' state, five times: 2,500 deltas, more
# than the dispatcher lets pile up before it vacuums the delta table.
my $vacuums = "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'job_count_deltas'";
my $before = sql_value($vacuums);
for my $round (1 .. 5) {
    sql_value("UPDATE jobs SET state = CASE state WHEN 'canceled' THEN 'failed' ELSE 'canceled' END::job_state,"
              . " lease_token = NULL WHERE user_id = $uid AND id IN (SELECT id FROM jobs WHERE user_id = $uid"
              . " AND state <> 'running' ORDER BY id LIMIT 500)");
}
my $want = want_ids("state = 'canceled'", 'created_at DESC, id DESC');
$r = api(GET => '/api/v1/jobs/list?status=canceled&page_size=5', token => $tok);
is($r->{json}{count}, scalar @$want, 'after 2,500 state changes: count = count(*)');
ok(wait_until(sub { sql_value($vacuums) > $before }, 15),
   'the dispatcher vacuums job_count_deltas once 2,000 deltas were folded');
ok(wait_until(sub { sql_value($unfolded) == 0 }, 10), 'the dispatcher folds them');
is(sql_value($bucket_diff), 0, 'and the buckets = a recount');

# ---- admins count every owner ----------------------------------------------------
# Jobs of two users in 1999, where nothing else lives: the admin's count of
# that year is theirs, one user's is its own.
my ($otok, $ouser) = new_user_token('jcount-o');
my $ouid = user_id_of($ouser);
sql_value("INSERT INTO jobs (user_id, name, state, created_at)"
          . " SELECT CASE WHEN g % 3 = 0 THEN $ouid ELSE $quid END, 'old-' || g, 'succeeded',"
          . " '1999-03-01 00:00:00+00'::timestamptz + g * interval '7 hours' FROM generate_series(1, 90) g");
my $range = 'started=1999-01-01T00:00:00Z&ended=1999-12-31T23:59:59Z';
my $all = sql_value("SELECT count(*) FROM jobs WHERE created_at >= '1999-01-01' AND created_at < '2000-01-01'");
$r = api(GET => "/api/v1/jobs/list?$range&page_size=1", token => admin_token());
is($r->{json}{count}, $all, 'admin, 1999: every owner\'s jobs');
cmp_ok($all, '>=', 90, 'admin, 1999: at least the 90 jobs made here');
$r = api(GET => "/api/v1/jobs/list?$range&page_size=1", token => $otok);
is($r->{json}{count}, 30, 'a user, 1999: its own 30 jobs');

done_testing;
