#!/usr/bin/perl
# docketd's TCP listener (listen = tcp:HOST:PORT): a second docketd with the
# stack's config listens on a free loopback port and answers FastCGI
# requests there, including two on one kept-alive connection.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use lib 'tests/integration/lib';
use DocketFCGI qw(fcgi_connect fcgi_request);

for my $v (qw(DOCKET_DIR DOCKET_CONFIG)) {
    die "$v is not set: run this through tests/run\n" unless $ENV{$v};
}

# A free port: bind to 0, read it back, release it.
my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1) or die "probe: $!";
my $port = $probe->sockport;
close $probe;
my $where = "tcp:127.0.0.1:$port";

my $pid = fork() // die;
if ($pid == 0) {
    $ENV{DOCKET_LISTEN} = $where;
    $ENV{DOCKET_WORKERS} = 1;
    $ENV{DOCKET_THREADS} = 2;
    $ENV{ASAN_OPTIONS} = "log_path=$ENV{DOCKET_DIR}/log/asan";
    $ENV{UBSAN_OPTIONS} = "print_stacktrace=1:log_path=$ENV{DOCKET_DIR}/log/ubsan";
    open(STDERR, '>>', "$ENV{DOCKET_DIR}/log/docketd-tcp.log");
    exec("$ENV{DOCKET_DIR}/bin/docketd", '-c', $ENV{DOCKET_CONFIG}) or die "exec: $!";
}

my ($sock, $t0) = (undef, time);
until ($sock = fcgi_connect($where)) {
    last if time - $t0 > 10;
    sleep 0.05;
}
ok($sock, "docketd accepts FastCGI connections on $where");

my $resp = fcgi_request($sock, REQUEST_METHOD => 'GET', DOCUMENT_URI => '/healthz');
like($resp // '', qr/^Status: 200/m, '/healthz over TCP is 200');
like($resp // '', qr/\{"status":"ok"\}/, 'with the health body');

$resp = fcgi_request($sock, REQUEST_METHOD => 'GET', DOCUMENT_URI => '/nope');
like($resp // '', qr/^Status: 404/m, 'an unknown path over TCP is 404');
like($resp // '', qr/^Content-Type: application\/json/m, 'as JSON');

# Without nginx's identity params an API route is refused.
$resp = fcgi_request(fcgi_connect($where), REQUEST_METHOD => 'GET',
                     DOCUMENT_URI => '/api/v1/jobs/list');
like($resp // '', qr/^Status: 401/m, 'an API route without DOCKET_USER is 401');

kill 'TERM', $pid;
$t0 = time;
my $done = 0;
while (time - $t0 < 15) {
    if (waitpid($pid, WNOHANG) == $pid) { $done = 1; last }
    sleep 0.1;
}
ok($done, 'the TCP docketd stops on SIGTERM');
kill 'KILL', $pid unless $done;

done_testing();
