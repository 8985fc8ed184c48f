#!/usr/bin/perl
# Routing: unknown paths are 404 JSON, known paths with a wrong method are
# 405 JSON with Allow, every answer is application/json, /healthz needs no
# token.
use strict;
use warnings;
use Test::More;
use DocketTest;

my ($token, $user) = new_user_token('routing');
my $job = add_job(user => $user, files => ['a.txt']);
my $id = $job->{id};

my $not_found = { message => 'Not found' };
my $not_allowed = { message => 'Method not allowed' };

# /healthz, no token at all.
expect_json(api(GET => '/healthz'), 200, { status => 'ok' }, 'GET /healthz without a token');

# Unknown paths under /api/, authenticated.
for my $p ('/api/', '/api/v1/', '/api/v1/jobs/', '/api/v1/nope', '/api/v1/jobs/nope',
           '/api/v1/jobs/get/extra?job-id=1', '/api/v2/jobs/get?job-id=1',
           '/api/v1/jobs/GET?job-id=1', '/api/v1/jobs/getx?job-id=1',
           '/api/v1/jobs/lis') {
    expect_json(api(GET => $p, token => $token), 404, $not_found, "GET $p (authenticated)");
}
expect_json(api(POST => '/api/v1/nope', token => $token), 404, $not_found,
    'POST /api/v1/nope (authenticated)');

# Unknown paths outside /api/.
for my $p ('/', '/nope', '/v1/jobs/get?job-id=1', '/index.html', '/healthz/x',
           '/_auth_nope', '/objects', '/api', '/api/v1/jobs/get/../../../../nope') {
    expect_json(api(GET => $p), 404, $not_found, "GET $p (outside /api/, no token)");
}

# Wrong methods: 405, JSON body, Allow naming the right method and not the
# one that was refused.
sub check_405 {
    my ($method, $path, $allowed) = @_;
    my $r = api($method => $path, token => $token);
    expect_json($r, 405, $not_allowed, "$method $path");
    my $allow = header($r, 'Allow');
    ok(defined $allow, "$method $path: has an Allow header") or return;
    my %set = map { uc($_) => 1 } grep { length } split /\s*,\s*/, $allow;
    ok($set{$allowed}, "$method $path: Allow '$allow' contains $allowed");
    ok(!$set{$method}, "$method $path: Allow '$allow' does not contain $method");
}

for my $route ('get', 'list', 'get-object-url') {
    my $path = "/api/v1/jobs/$route?job-id=$id";
    for my $m (qw(POST PUT DELETE PATCH)) {
        check_405($m, $path, 'GET');
    }
}
for my $m (qw(GET POST PUT PATCH)) {
    check_405($m, "/api/v1/jobs/delete?job-id=$id", 'DELETE');
}

# None of the 405s above deleted the job.
expect_json(api(GET => "/api/v1/jobs/get?job-id=$id", token => $token), 200, undef,
    'the job survives every refused method');

# Requests nginx itself refuses answer JSON too.
{
    my $r = api(GET => '/api/v1/jobs/list?x=' . ('a' x 20000), token => $token);
    is($r->{status}, 414, 'a 20 kB query string is 414') or diag describe($r);
    ok(is_json_ct($r), 'a 20 kB query string: JSON answer') or diag describe($r);
    $r = api(GET => '/api/v1/jobs/list', headers => { Authorization => 'x' x 20000 });
    ok($r->{status} == 400 || $r->{status} == 431, "a 20 kB header is 400 or 431 (got $r->{status})")
        or diag describe($r);
    ok(is_json_ct($r), 'a 20 kB header: JSON answer') or diag describe($r);
}

# A right method still answers JSON.
my $r = api(GET => '/api/v1/jobs/list', token => $token);
expect_json($r, 200, undef, 'GET /api/v1/jobs/list');

done_testing;
