#!/usr/bin/perl
# Authentication: the three header forms, missing/unknown/revoked/expired
# tokens, client headers that try to pick the user, and the nginx auth
# cache (never shared between tokens, never used without a token).
use strict;
use warnings;
use Test::More;
use DocketTest;
use Time::HiRes qw(sleep time);

my $TTL = auth_cache_ttl();
my $UNAUTH = { message => 'Unauthorized' };
my $NO_JOB = { message => 'The job does not exist', affected_query_parameter => 'job-id: number' };
my @STYLES = ('raw', 'bearer', 'x-api-token');

my ($alice_tok, $alice) = new_user_token('alice');
my ($bob_tok, $bob)     = new_user_token('bob');
my $alice_job = add_job(user => $alice, files => ['a.txt'])->{id};
my $bob_job   = add_job(user => $bob,   files => ['b.txt'])->{id};

sub list_ids {
    my ($r) = @_;
    return undef unless $r->{json} && ref $r->{json}{jobs} eq 'ARRAY';
    return { map { $_->{job_id} => 1 } @{ $r->{json}{jobs} } };
}

# ---- all three header forms, admin and user token -------------------------
for my $style (@STYLES) {
    my $r = api(GET => '/api/v1/jobs/list', token => admin_token(), auth => $style);
    expect_json($r, 200, undef, "admin token, $style: list");
    my $ids = list_ids($r) || {};
    ok($ids->{$alice_job} && $ids->{$bob_job}, "admin token, $style: sees alice's and bob's jobs");
    expect_json(api(GET => "/api/v1/jobs/get?job-id=$alice_job", token => admin_token(), auth => $style),
        200, undef, "admin token, $style: get alice's job");

    $r = api(GET => '/api/v1/jobs/list', token => $alice_tok, auth => $style);
    expect_json($r, 200, undef, "user token, $style: list");
    $ids = list_ids($r) || {};
    ok($ids->{$alice_job}, "user token, $style: list has the user's job");
    ok(!$ids->{$bob_job}, "user token, $style: list lacks another user's job");
    $r = api(GET => "/api/v1/jobs/get?job-id=$alice_job", token => $alice_tok, auth => $style);
    expect_json($r, 200, undef, "user token, $style: get own job");
    is($r->{json} && $r->{json}{job_info}{user_id}, $alice, "user token, $style: job belongs to the user");
}

# ---- missing and unknown tokens -------------------------------------------
my @routes = ('GET /api/v1/jobs/list', "GET /api/v1/jobs/get?job-id=$alice_job",
              "GET /api/v1/jobs/get-object-url?job-id=$alice_job&object-uuid=x.txt",
              "DELETE /api/v1/jobs/delete?job-id=$alice_job", 'GET /api/v1/nope',
              'POST /api/v1/jobs/get');
for my $rt (@routes) {
    my ($m, $p) = split / /, $rt, 2;
    expect_json(api($m => $p), 401, $UNAUTH, "$rt without a token");
}
my $unknown = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
for my $style (@STYLES) {
    expect_json(api(GET => '/api/v1/jobs/list', token => $unknown, auth => $style),
        401, $UNAUTH, "unknown token, $style");
}
for my $h (['Authorization', ''], ['Authorization', 'Bearer'], ['Authorization', 'Bearer '],
           ['Authorization', "Basic " . 'YWxpY2U6cHc='], ['X-Api-Token', ''],
           ['Authorization', "Bearer $alice_tok$alice_tok"],
           ['Authorization', substr($alice_tok, 0, -1)]) {
    expect_json(api(GET => '/api/v1/jobs/list', headers => { $h->[0] => $h->[1] }),
        401, $UNAUTH, "header '$h->[0]: $h->[1]' is not a valid token");
}
# The job survived the unauthenticated DELETE.
expect_json(api(GET => "/api/v1/jobs/get?job-id=$alice_job", token => $alice_tok), 200, undef,
    'the unauthenticated DELETE deleted nothing');

# ---- client headers cannot choose the user or the role ---------------------
my $alice_id = user_id_of($alice);
my %spoof = ('X-Docket-User' => $alice_id, 'X-Docket-Role' => 'admin',
             'Docket-User' => $alice_id, 'Docket-Role' => 'admin');
expect_json(api(GET => "/api/v1/jobs/get?job-id=$alice_job", token => $bob_tok, headers => \%spoof),
    404, $NO_JOB, "bob with X-Docket-User: $alice_id and X-Docket-Role: admin cannot get alice's job");
my $r = api(GET => '/api/v1/jobs/list', token => $bob_tok, headers => \%spoof);
expect_json($r, 200, undef, 'bob with spoofed headers: list');
my $ids = list_ids($r) || {};
ok($ids->{$bob_job} && !$ids->{$alice_job}, "bob with spoofed headers lists only bob's jobs");
expect_json(api(DELETE => "/api/v1/jobs/delete?job-id=$alice_job", token => $bob_tok, headers => \%spoof),
    404, $NO_JOB, "bob with spoofed headers cannot delete alice's job");
expect_json(api(GET => "/api/v1/jobs/get?job-id=$alice_job", headers => \%spoof),
    401, $UNAUTH, 'spoofed user headers without a token are 401');
expect_json(api(GET => "/api/v1/jobs/get?job-id=$alice_job", token => $alice_tok), 200, undef,
    "alice's job is still there");

# ---- the auth cache -------------------------------------------------------
# Token A succeeds (and is cached); within the cache TTL, no token and an
# unknown token B are 401 and token C of another user sees only C's jobs.
for my $style (@STYLES) {
    expect_json(api(GET => '/api/v1/jobs/list', token => $alice_tok, auth => $style),
        200, undef, "cache, $style: token A succeeds");
    expect_json(api(GET => '/api/v1/jobs/list'), 401, $UNAUTH,
        "cache, $style: right after A, no token is 401");
    my $b = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
    expect_json(api(GET => '/api/v1/jobs/list', token => $b, auth => $style), 401, $UNAUTH,
        "cache, $style: right after A, unknown token B is 401");
    for my $other (grep { $_ ne $style } @STYLES) {
        expect_json(api(GET => '/api/v1/jobs/list', token => $b, auth => $other), 401, $UNAUTH,
            "cache, $style: right after A, unknown token B as $other is 401");
    }
    my $r = api(GET => '/api/v1/jobs/list', token => $bob_tok, auth => $style);
    expect_json($r, 200, undef, "cache, $style: token C succeeds");
    my $ids = list_ids($r) || {};
    ok($ids->{$bob_job}, "cache, $style: token C sees C's job");
    ok(!$ids->{$alice_job}, "cache, $style: token C does not see A's job");
    expect_json(api(GET => "/api/v1/jobs/get?job-id=$alice_job", token => $bob_tok, auth => $style),
        404, $NO_JOB, "cache, $style: token C cannot get A's job");
}
# Both headers at once, one of them unknown.  Whichever header /_auth
# honours, the answer must not be cached under the other header: afterwards
# the unknown token alone is still 401.
for my $pair (['Authorization', 'X-Api-Token'], ['X-Api-Token', 'Authorization']) {
    my ($bad_h, $good_h) = @$pair;
    my $b = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
    my $r = api(GET => '/api/v1/jobs/list', headers => { $bad_h => $b, $good_h => $alice_tok });
    ok($r->{status} == 200 || $r->{status} == 401,
        "cache: unknown $bad_h with valid $good_h is answered as one of the two ($r->{status})")
        or diag describe($r);
    expect_json(api(GET => '/api/v1/jobs/list', headers => { $bad_h => $b }), 401, $UNAUTH,
        "cache: afterwards the unknown token alone in $bad_h is still 401");
    $r = api(GET => "/api/v1/jobs/get?job-id=$alice_job",
        headers => { $bad_h => $bob_tok, $good_h => $alice_tok });
    ok($r->{status} == 200 || $r->{status} == 404,
        "cache: $bad_h C with $good_h A is answered as one of the two ($r->{status})")
        or diag describe($r);
    expect_json(api(GET => "/api/v1/jobs/get?job-id=$alice_job", headers => { $bad_h => $bob_tok }),
        404, $NO_JOB, "cache: afterwards C alone in $bad_h still cannot get A's job");
}

# ---- revocation -----------------------------------------------------------
{
    my $tok = token_for_user($alice);
    expect_json(api(GET => '/api/v1/jobs/list', token => $tok), 200, undef, 'fresh token works');
    ctl('token', 'revoke', $tok);
    my $t0 = time;
    # nginx keeps a cached answer until the end of the second it expires in,
    # so a revoked token may work for up to TTL + 1 s.  Poll finely and allow
    # 0.25 s for the request that observes the change.
    my ($last, $t_last);
    my $gone = wait_until(sub {
        $t_last = time;
        $last = api(GET => '/api/v1/jobs/list', token => $tok);
        return $last->{status} == 401;
    }, $TTL + 1.25, 0.05);
    ok($gone && $t_last - $t0 <= $TTL + 1.25,
        sprintf('revoked token refused within cache TTL + 1 s (%d s)', $TTL + 1))
        or diag describe($last);
    diag(sprintf 'revocation took effect after %.2f s', $t_last - $t0) if $gone;
    for my $style (@STYLES) {
        expect_json(api(GET => '/api/v1/jobs/list', token => $tok, auth => $style), 401, $UNAUTH,
            "revoked token, $style: 401");
    }
    expect_json(api(GET => '/api/v1/jobs/list', token => $alice_tok), 200, undef,
        "revoking one token leaves the user's other token working");
}

# ---- expiry ---------------------------------------------------------------
{
    my $tok1 = token_for_user($alice, ttl => 1);    # never used while valid
    my $tok3 = token_for_user($alice, ttl => 3);
    my $t0 = time;
    my $r = api(GET => '/api/v1/jobs/list', token => $tok3);
    expect_json($r, 200, undef, 'token with --ttl 3 works at once');
    # Past the expiry plus the cache TTL plus a second of slack.
    my $until = $t0 + 3 + $TTL + 1;
    sleep($until - time) if $until > time;
    for my $style (@STYLES) {
        expect_json(api(GET => '/api/v1/jobs/list', token => $tok3, auth => $style), 401, $UNAUTH,
            "expired token (--ttl 3), $style: 401");
        expect_json(api(GET => '/api/v1/jobs/list', token => $tok1, auth => $style), 401, $UNAUTH,
            "expired token (--ttl 1), $style: 401");
    }
}

done_testing;
