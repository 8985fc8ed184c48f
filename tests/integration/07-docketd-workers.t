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

my $pidfile = "$ENV{DOCKET_DIR}/run/docketd.pid";
sub master_pid {
    open(my $fh, '<', $pidfile) or die "cannot read $pidfile: $!";
    my $p = <$fh> // '';
    $p =~ s/\s+//g;
    $p =~ /\A\d+\z/ or die "$pidfile holds '$p'";
    kill(0, $p) or die "docketd master $p from $pidfile is not running: $!";
    return $p;
}
sub comm { my ($p) = @_; open(my $fh, '<', "/proc/$p/comm") or return ''; my $c = <$fh> // ''; chomp $c; $c }
sub workers {
    my ($m) = @_;
    my ($rc, $out, $err) = run_cmd('pgrep', '-P', $m);
    die "pgrep -P $m: $err" if $rc > 1;
    return sort { $a <=> $b } grep { /\A\d+\z/ } split /\s+/, $out;
}
sub get { api(GET => "/api/v1/jobs/get?job-id=$id", token => $tok) }

my $master = master_pid();
like(comm($master), qr/docketd/, "the pid file names a docketd process ($master)");
my @before = workers($master);
cmp_ok(scalar @before, '>=', 1, "docketd has worker processes (@before)");
for my $w (@before) {
    like(comm($w), qr/docketd/, "child $w is a docketd worker");
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
    @after = workers($master);
    my %old = map { $_ => 1 } @before;
    return @after == @before && !grep({ $_ == $victim } @after) && grep({ !$old{$_} } @after);
}, 10, 0.2);
ok($replaced, sprintf('a new worker replaces the killed one within 10 s (before: %s; after: %s)',
                      "@before", "@after"));
diag(sprintf 'replaced after %.2f s', time - $t0) if $replaced;
is(master_pid(), $master, 'the master is still the same process');

# The new worker serves requests: enough requests that every worker takes some.
@fails = ();
for my $i (1 .. 40) {
    my $r = get();
    push @fails, "request $i: " . describe($r) unless $r->{status} == 200;
}
is(scalar @fails, 0, '40 requests after the replacement all answer 200') or diag join "\n", @fails;

done_testing;
