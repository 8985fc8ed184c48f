#!/usr/bin/perl
# PostgreSQL restarts under a running docketd: requests after the restart
# succeed without restarting docketd; with the database down the API answers
# 503 JSON; when it comes back, requests succeed again.
# Runs last (90-): it stops the database for a while.
use strict;
use warnings;
use Test::More;
use DocketTest;
use Time::HiRes qw(sleep time);

my $TTL = auth_cache_ttl();
my $UNAVAILABLE = { message => 'Service unavailable' };

my ($tok, $user) = new_user_token('dbrestart');
my $job = add_job(user => $user, files => ['r.txt']);
my $id = $job->{id};

my $master = docketd_master();
my @workers_before = docketd_children(docketd_master());

sub get  { api(GET => "/api/v1/jobs/get?job-id=$id", token => $_[0] // $tok) }
sub list { api(GET => '/api/v1/jobs/list', token => $_[0] // $tok) }

expect_json(get(), 200, undef, 'get before the restart');
expect_json(list(), 200, undef, 'list before the restart');

# Whatever happens below, leave the database running for whoever comes next.
my $db_stopped = 0;
END { if ($db_stopped) { eval { stack_cmd('start-db') }; warn $@ if $@ } }

# ---- restart --------------------------------------------------------------------
stack_cmd('restart-db');
pass('deploy/stack restart-db');

# New tokens too, so /_auth itself has to reach the restarted database
# (a cached auth answer would hide a dead connection there).
my @fresh = map { token_for_user($user) } 1 .. 4;
my @fails;
for my $i (1 .. 20) {
    my $t = $i <= 4 ? $fresh[$i - 1] : $tok;
    my $r = $i % 2 ? get($t) : list($t);
    push @fails, "request $i: " . describe($r) unless $r->{status} == 200 && $r->{json};
}
is(scalar @fails, 0, '20 consecutive get/list requests after restart-db all answer 200')
    or diag join "\n", @fails;
expect_json(api(GET => '/healthz'), 200, { status => 'ok' }, '/healthz after the restart');
is(docketd_master(), $master, 'docketd was not restarted (same master pid)');
is_deeply([docketd_children(docketd_master())], \@workers_before, 'and its workers are the same processes');

# ---- stop ------------------------------------------------------------------------
$db_stopped = 1;
stack_cmd('stop-db');
pass('deploy/stack stop-db');

# At once: the auth answer for $tok may still be cached, so this request
# reaches docketd, whose own database access fails.
my $r = get();
expect_json($r, 503, $UNAVAILABLE, 'get with the database down (auth possibly cached)');
# After the auth cache TTL: /_auth itself cannot reach the database.
sleep($TTL + 0.5);
expect_json(list(), 503, $UNAVAILABLE, 'list with the database down (auth not cached)');
my $new_tok_req = api(GET => '/api/v1/jobs/list', token => 'a' x 64);
expect_json($new_tok_req, 503, $UNAVAILABLE, 'an unknown token with the database down is 503, not 401');
expect_json(api(GET => '/healthz'), 503, undef, '/healthz with the database down is 503');
is(docketd_master(), $master, 'docketd survives the database being down');

# ---- start -----------------------------------------------------------------------
stack_cmd('start-db');
$db_stopped = 0;
pass('deploy/stack start-db');
my $t0 = time;
my $last;
my $back = wait_until(sub { $last = list(); $last->{status} == 200 }, 10, 0.25);
ok($back, 'requests succeed again within 10 s of start-db') or diag describe($last);
diag(sprintf 'first success %.2f s after start-db returned', time - $t0) if $back;
@fails = ();
for my $i (1 .. 20) {
    my $r = $i % 2 ? get() : list();
    push @fails, "request $i: " . describe($r) unless $r->{status} == 200;
}
is(scalar @fails, 0, '20 consecutive requests after start-db all answer 200') or diag join "\n", @fails;
expect_json(api(GET => '/healthz'), 200, { status => 'ok' }, '/healthz after start-db');
is(docketd_master(), $master, 'still the same docketd master');

done_testing;
