#!/usr/bin/perl
# GET /api/v1/jobs/list with the listing engine's parameters: page and
# page_size (strict on this surface), status, order, started/ended, the
# count and absolute next/previous links, the seed's error form, tenancy,
# and the seed's plain answer when no parameter is given.
use strict;
use warnings;
use Test::More;
use DocketTest;

my ($tok, $user)   = new_user_token('paged');
my ($tok2, $user2) = new_user_token('paged2');
my $uid = user_id_of($user);

sub list {
    my ($t, $q) = @_;
    return api(GET => '/api/v1/jobs/list' . (defined $q ? "?$q" : ''), token => $t);
}

# Twelve jobs, one a day back from now, in every state; two share a
# creation time so the tiebreak (id) is exercised.
my @states = qw(ready queued succeeded failed canceled succeeded
                succeeded failed ready queued succeeded succeeded);
my $ids = sql_value(<<"SQL");
INSERT INTO jobs (user_id, name, state, total_size, created_at)
SELECT $uid, 'pj-' || lpad(g::text, 2, '0'),
       (ARRAY['@{[join "','", @states]}'])[g]::job_state, g * 10,
       CASE WHEN g IN (6, 7) THEN now() - interval '6 days'
            ELSE now() - g * interval '1 day' END
  FROM generate_series(1, 12) g
RETURNING id
SQL
my @ids = split /\n/, $ids;
is(scalar @ids, 12, 'twelve jobs inserted');
my %state_of;
@state_of{@ids} = @states;

# ---- no parameters: the seed's answer --------------------------------------
my $r = list($tok);
expect_json($r, 200, undef, 'no parameters');
is_deeply([sort keys %{ $r->{json} || {} }], ['jobs'], 'no parameters: only "jobs", as the seed');
is(scalar @{ $r->{json}{jobs} || [] }, 12, 'no parameters: all twelve');

# ---- paging and links -----------------------------------------------------
$r = list($tok, 'page_size=5');
expect_json($r, 200, undef, 'page_size=5');
is($r->{json}{count}, 12, 'count is every matching job');
is(scalar @{ $r->{json}{jobs} }, 5, 'a page of five');
is($r->{json}{previous}, undef, 'page 1 has no previous');
is($r->{json}{next}, base_url() . '/api/v1/jobs/list?page_size=5&page=2',
    'next is absolute and keeps page_size');

# Follow next to the end: every job once, newest first (ties by id desc).
my @seen;
my $url = '/api/v1/jobs/list?page_size=5';
my $pages = 0;
while (defined $url && $pages < 10) {
    $r = api(GET => $url, token => $tok);
    last unless $r->{status} == 200;
    push @seen, map { $_->{job_id} } @{ $r->{json}{jobs} };
    $url = $r->{json}{next};
    $url =~ s/\A\Q@{[base_url()]}\E// if defined $url;
    $pages++;
}
is($pages, 3, 'three pages of five');
my $expected = sql_value("SELECT string_agg(id::text, ',' ORDER BY created_at DESC, id DESC)"
    . " FROM jobs WHERE user_id = $uid");
is(join(',', @seen), $expected, 'following next gives every job once, newest first, ties by id');

$r = list($tok, 'page_size=5&page=3');
is($r->{json}{previous}, base_url() . '/api/v1/jobs/list?page_size=5&page=2',
    'previous of page 3 names page 2');
is($r->{json}{next}, undef, 'the last page has no next');
$r = list($tok, 'page=2&page_size=5');
is($r->{json}{previous}, base_url() . '/api/v1/jobs/list?page_size=5',
    'previous of page 2 drops page and keeps the rest');

expect_error(list($tok, 'page=4&page_size=5'), 404, 'The page does not exist', 'page: number',
    'a page past the end');
$r = list($tok2, 'page=1');
expect_json($r, 200, { count => 0, next => undef, previous => undef, jobs => [] },
    'page 1 of an empty list');

# ---- filters ----------------------------------------------------------------
$r = list($tok, 'status=success&status=failed');
my @want = grep { $state_of{$_} =~ /\A(succeeded|failed)\z/ } @ids;
is($r->{json}{count}, scalar @want, 'status=success&status=failed: count');
is_deeply([sort { $a <=> $b } map { $_->{job_id} } @{ $r->{json}{jobs} }],
    [sort { $a <=> $b } @want], 'status filter: exactly those jobs');
ok(!(grep { $_->{status} !~ /\A(success|failed)\z/ } @{ $r->{json}{jobs} }),
    'status filter: only those words');
$r = list($tok, 'status=processing');
is($r->{json}{count}, 0, 'status=processing: none running');

# ---- order ------------------------------------------------------------------
$r = list($tok, 'order=job_name');
is(join(',', map { $_->{job_name} } @{ $r->{json}{jobs} }),
    join(',', map { sprintf 'pj-%02d', $_ } 1 .. 12), 'order=job_name');
$r = list($tok, 'order=-total_size');
is(join(',', map { $_->{total_size} } @{ $r->{json}{jobs} }),
    join(',', map { $_ * 10 } reverse 1 .. 12), 'order=-total_size');
$r = list($tok, 'order=status&order=-job_name&page_size=100');
$expected = sql_value("SELECT string_agg(id::text, ',' ORDER BY state, name DESC, id DESC)"
    . " FROM jobs WHERE user_id = $uid");
is(join(',', map { $_->{job_id} } @{ $r->{json}{jobs} }), $expected,
    'two order keys, the second descending');
$r = list($tok, 'order=date');
is($r->{json}{jobs}[0]{job_name}, 'pj-12', 'order=date: oldest first');

# ---- started / ended ------------------------------------------------------------
$r = list($tok, 'started=P3DT12H');
is($r->{json}{count}, 3, 'started=P3DT12H: the jobs of the last three days and a half');
$r = list($tok, 'started=P30D&ended=P5DT12H');
is($r->{json}{count}, 7, 'started and ended as durations');
my $mid = sql_value("SELECT to_char((now() - interval '4 days 12 hours') AT TIME ZONE 'UTC',"
    . " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
$r = list($tok, "ended=$mid");
is($r->{json}{count}, 8, 'ended as a date-time with Z');
(my $plus = $mid) =~ s/Z\z/%2B00:00/;
$r = list($tok, "ended=$plus");
is($r->{json}{count}, 8, 'ended with +00:00');
$r = list($tok, "ended=$plus&page_size=3");
is($r->{json}{next}, base_url() . "/api/v1/jobs/list?ended=${\ ($mid =~ s/Z\z/%2B00%3A00/r =~ s/:/%3A/gr)}&page_size=3&page=2",
    'next keeps ended, percent-encoded again');
$r = list($tok, 'started=P1D&page_size=2');
is($r->{json}{count}, 0, 'no job in the last day');

# ---- errors, in the seed's form -------------------------------------------------
my @bad = (
    ['page=0',                'page'],
    ['page=abc',              'page'],
    ['page=last',             'page'],
    ['page=1&page=2',         'page'],
    ['page_size=0',           'page_size'],
    ['page_size=1001',        'page_size'],
    ['page_size=x',           'page_size'],
    ['status=done',           'status'],
    ['status=',               'status'],
    ['order=bogus',           'order'],
    ['order=-',               'order'],
    ['order=date&order=-date','order'],
    ['started=2020-01-01T00:00:00',   'started'],
    ['started=2020-01-01',            'started'],
    ['started=yesterday',             'started'],
    ['ended=2020-13-01T00:00:00Z',    'ended'],
    ['started=PT1H&ended=PT2H',       'started'],
    ['started=P1D&started=P2D',       'started'],
    ['job-id=1',                      'job-id'],
);
for my $b (@bad) {
    my ($q, $param) = @$b;
    $r = list($tok, $q);
    my $type = $param =~ /\Apage/ ? 'number' : 'string';
    is($r->{status}, 400, "$q: 400");
    is(($r->{json} || {})->{affected_query_parameter}, "$param: $type", "$q: names $param");
    like(($r->{json} || {})->{message} // '', qr/\Q$param\E/, "$q: the message names $param");
}

# ---- tenancy ----------------------------------------------------------------
$r = list($tok2, 'page_size=100');
is($r->{json}{count}, 0, 'another user counts none of them');
$r = list(admin_token(), 'page_size=1000&order=-job_id');
my %all = map { $_->{job_id} => 1 } @{ $r->{json}{jobs} || [] };
ok(!(grep { !$all{$_} } @ids), 'an admin lists them');
ok($r->{json}{count} >= 12, 'an admin counts them');

done_testing;
