#!/usr/bin/perl
# docketd on SIGTERM: stops accepting, lets the request in flight finish,
# and exits 0.  A second docketd is started on its own socket with the
# stack's config (the shared stack is left alone) and spoken to directly
# over FastCGI.  The request in flight is a delete held up by a row lock
# that the test takes in psql and releases after the SIGTERM.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Handle;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use lib 'tests/integration/lib';
use DocketFCGI qw(fcgi_connect fcgi_request);
use DocketTest qw(start_docketd);

for my $v (qw(DOCKET_DIR DOCKET_CONFIG DOCKET_CTL)) {
    die "$v is not set: run this through tests/run\n" unless $ENV{$v};
}
my $ctl = "$ENV{DOCKET_CTL} -c $ENV{DOCKET_CONFIG}";
my $user = "graceful$$";
chomp(my $token = `$ctl token create $user --admin`);
ok($token, 'token created');
my $tmp = tempdir(CLEANUP => 1);
open(my $f, '>', "$tmp/a.txt") or die; print $f "x"; close $f;
chomp(my $job = `$ctl job add --user $user --name graceful $tmp/a.txt`);
like($job, qr/^\d+$/, 'job added');
chomp(my $uid = `psql -X -A -t -c "SELECT id FROM users WHERE name = '$user'"`);
like($uid, qr/^\d+$/, 'user id known');

# The second docketd.
my $sock = "$tmp/docketd.sock";
my $pid = start_docketd($sock, "$ENV{DOCKET_DIR}/log/docketd-graceful.log");
my $t0 = time;
sleep 0.05 until -S $sock || time - $t0 > 10;
ok(-S $sock, 'second docketd listens');

my %params = (REQUEST_METHOD => 'DELETE', DOCUMENT_URI => '/api/v1/jobs/delete',
              QUERY_STRING => "job-id=$job", DOCKET_USER => $uid, DOCKET_ROLE => 'user');

# Hold the job's row lock so the delete waits inside docketd.
open(my $psql, '|-', 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1') or die "psql: $!";
$psql->autoflush(1);
print $psql "BEGIN; SELECT 1 FROM jobs WHERE id = $job FOR UPDATE \\g /dev/null\n";
sleep 0.5;

pipe(my $rd, my $wr) or die;
my $client = fork() // die;
if ($client == 0) {
    close $rd;
    my $s = fcgi_connect($sock) or do { print $wr "connect failed\n"; exit 1 };
    my $resp = fcgi_request($s, %params) // "no response\n";
    print $wr $resp;
    exit 0;
}
close $wr;
sleep 1;    # the delete is now blocked on the lock

kill 'TERM', $pid;
sleep 0.5;
ok(!defined(fcgi_connect($sock)) || !-S $sock, 'no new connection is accepted once stopping');
is(waitpid($pid, WNOHANG), 0, 'docketd waits for the request in flight');

print $psql "COMMIT;\n";
close $psql;

my $resp = do { local $/; <$rd> };
waitpid($client, 0);
like($resp, qr/^Status: 200/m, 'the request in flight finished with 200');
like($resp, qr/\{"message":"Ok"\}/, 'and its body is the delete answer');

$t0 = time;
my $done = 0;
while (time - $t0 < 15) {
    if (waitpid($pid, WNOHANG) == $pid) { $done = 1; last }
    sleep 0.1;
}
ok($done, 'docketd exited after draining');
is($? >> 8, 0, 'with status 0') if $done;
kill 'KILL', $pid unless $done;

chomp(my $left = `psql -X -A -t -c "SELECT count(*) FROM jobs WHERE id = $job"`);
is($left, '0', 'the delete was committed');

done_testing();
