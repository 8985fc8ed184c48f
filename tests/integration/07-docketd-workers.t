#!/usr/bin/perl
# docketd restarts a worker that dies: kill -9 one worker, requests keep
# succeeding, and a new worker takes its place.
use strict;
use warnings;
use Test::More;
use DocketTest;
use Time::HiRes qw(sleep time);

my ($tok, $user) = new_user_token('workers');
my $job = add_job(user => $user, files => ['w.txt']);
my $id = $job->{id};

sub get { api(GET => "/api/v1/jobs/get?job-id=$id", token => $tok) }

my $master = docketd_master();
like(proc_comm($master), qr/docketd/, "the pid file names a docketd process ($master)");
my @before = docketd_children($master);
cmp_ok(scalar @before, '>=', 1, "docketd has worker processes (@before)");
for my $w (@before) {
    like(proc_comm($w), qr/docketd/, "child $w is a docketd worker");
}
expect_json(get(), 200, undef, 'get before the kill');

my $victim = $before[0];
ok(kill('KILL', $victim), "kill -9 worker $victim") or die "cannot kill $victim: $!";
my $t0 = time;

# Requests keep succeeding while the worker is replaced.
my @fails;
for my $i (1 .. 20) {
    my $r = $i % 2 ? get() : api(GET => '/api/v1/jobs/list', token => $tok);
    push @fails, "request $i: " . describe($r) unless $r->{status} == 200;
}
is(scalar @fails, 0, '20 requests right after the kill all answer 200') or diag join "\n", @fails;

my @after;
my $replaced = wait_until(sub {
    @after = docketd_children($master);
    my %old = map { $_ => 1 } @before;
    return @after == @before && !grep({ $_ == $victim } @after) && grep({ !$old{$_} } @after);
}, 10, 0.2);
ok($replaced, sprintf('a new worker replaces the killed one within 10 s (before: %s; after: %s)',
                      "@before", "@after"));
diag(sprintf 'replaced after %.2f s', time - $t0) if $replaced;
is(docketd_master(), $master, 'the master is still the same process');

# The new worker serves requests: enough requests that every worker takes some.
@fails = ();
for my $i (1 .. 40) {
    my $r = get();
    push @fails, "request $i: " . describe($r) unless $r->{status} == 200;
}
is(scalar @fails, 0, '40 requests after the replacement all answer 200') or diag join "\n", @fails;

done_testing;
