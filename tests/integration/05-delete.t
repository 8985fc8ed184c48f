#!/usr/bin/perl
# DELETE /api/v1/jobs/delete: removes the job, its rows and its files; a
# missing or another user's job is 404 and bad job-ids are 400, deleting
# nothing.
use strict;
use warnings;
use Test::More;
use DocketTest;

my $NO_JOB = { message => 'The job does not exist', affected_query_parameter => 'job-id: number' };
my $UUID = qr/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
my $store = store_dir();

my ($tok, $user)   = new_user_token('deleter');
my ($tok2, $user2) = new_user_token('bystander');

my $job = add_job(user => $user, files => [['one.png', png_bytes()], ['two.txt', "two\n"]]);
my $id = $job->{id};
my $objs = job_objects($tok, $id);
finish_job($id, status => 'success',
           results => { $objs->{'one.png'} => { full => '{"full":1}', min => '{"min":1}' } });
my $keep = add_job(user => $user, files => ['keep.txt']);    # must survive
my $other = add_job(user => $user2, files => ['theirs.txt']);

sub url_of {
    my ($t, $jid, $obj) = @_;
    my $r = api(GET => "/api/v1/jobs/get-object-url?job-id=$jid&object-uuid=$obj", token => $t);
    my $u = ($r->{json} || {})->{url} or die 'no object URL: ' . describe($r);
    return $u;
}
sub job_dir_of { my ($u) = @_; $u =~ m{/objects/($UUID)/} or die "no job uuid in $u"; "$store/$1" }

my $url = url_of($tok, $id, $objs->{'one.png'});
my $job_dir = job_dir_of($url);
my $g = api(GET => "/api/v1/jobs/get?job-id=$id", token => $tok);
my $result_url = ((($g->{json} || {})->{results} || {})->{ $objs->{'one.png'} } || {})->{full};
ok(defined $result_url, 'the finished job has a result URL') or diag describe($g);
ok(-d $job_dir, "the job's store directory $job_dir exists");
my $job_files = count_files($job_dir);
cmp_ok($job_files, '>=', 4, 'it holds the two files and the two results');
is(fetch_url($url)->{status}, 200, 'the object URL works before the delete');

my $other_url = url_of($tok2, $other->{id}, job_objects($tok2, $other->{id})->{'theirs.txt'});
my $other_dir = job_dir_of($other_url);
my $other_files = count_files($other_dir);
cmp_ok($other_files, '>=', 1, "the other user's job has files");

# ---- refused deletes delete nothing -----------------------------------------
my $before = count_files($store);
my @rows = (
    [''                            => 'The job-id query parameter is missing'],
    ['?job-id='                    => 'The job-id query parameter is empty'],
    ['?job-id=abc'                 => 'The job-id query parameter must be a number'],
    ["?job-id=$id.0"               => 'The job-id query parameter must be a number'],
    ['?job-id=1e3'                 => 'The job-id query parameter must be a number'],
    ["?job-id=%20$id"              => 'The job-id query parameter must be a number'],
    ['?job-id=0'                   => 'The job-id query parameter must be a positive number'],
    ["?job-id=-$id"                => 'The job-id query parameter must be a positive number'],
    ['?job-id=9223372036854775808' => 'The job-id query parameter is out of range'],
    ["?job-id=$id&job-id=$id"      => 'The job-id query parameter is given more than once'],
    ["?job-id=$id&job-id=$keep->{id}" => 'The job-id query parameter is given more than once'],
);
for my $row (@rows) {
    my ($q, $msg) = @$row;
    expect_error(api(DELETE => "/api/v1/jobs/delete$q", token => $tok), 400, $msg, 'job-id: number',
        "delete$q");
}
expect_error(api(DELETE => "/api/v1/jobs/delete?job-id=$id&force=1", token => $tok), 400,
    'The force query parameter is not supported', 'force', 'delete with an unknown parameter');
is(count_files($store), $before, 'no file in the store was removed by the refused deletes');
expect_json(api(GET => "/api/v1/jobs/get?job-id=$id", token => $tok), 200, undef,
    'the job still exists after the refused deletes');

# ---- another user's job ---------------------------------------------------------
my $r = api(DELETE => "/api/v1/jobs/delete?job-id=$other->{id}", token => $tok);
expect_json($r, 404, $NO_JOB, "deleting another user's job is 404");
my $missing = api(DELETE => '/api/v1/jobs/delete?job-id=9223372036854775807', token => $tok);
expect_json($missing, 404, $NO_JOB, 'deleting a job that never existed is 404');
is($r->{content}, $missing->{content}, "another user's job answers exactly like a missing one");
expect_json(api(GET => "/api/v1/jobs/get?job-id=$other->{id}", token => $tok2), 200, undef,
    "the other user's job still exists");
is(count_files($other_dir), $other_files, "the other user's files are all still there");
is(fetch_url($other_url)->{status}, 200, "the other user's object still downloads");
is(count_files($store), $before, 'nothing was removed from the store');

# ---- the delete ---------------------------------------------------------------------
$r = api(DELETE => "/api/v1/jobs/delete?job-id=$id", token => $tok);
expect_json($r, 200, { message => 'Ok' }, 'delete the job');
expect_json(api(GET => "/api/v1/jobs/get?job-id=$id", token => $tok), 404, $NO_JOB,
    'get after delete is 404');
expect_json(api(GET => "/api/v1/jobs/get?job-id=$id", token => admin_token()), 404, $NO_JOB,
    'admin get after delete is 404');
my $l = api(GET => '/api/v1/jobs/list', token => $tok);
my %listed = map { $_->{job_id} => 1 } @{ ($l->{json} || {})->{jobs} || [] };
ok(!$listed{$id}, 'the job is gone from the list');
ok($listed{ $keep->{id} }, "the user's other job is still listed");
ok(!-e $job_dir, "the job's store directory $job_dir is gone");
is(count_files($store), $before - $job_files, 'exactly the job\'s files left the store');
my $d = fetch_url($url);
expect_json($d, 404, undef, "the deleted object's (still validly signed) URL is 404");
ok(index($d->{content}, png_bytes()) < 0, 'and gives no file bytes');
$d = fetch_url($result_url);
expect_json($d, 404, undef, "the deleted result's URL is 404");
expect_json(api(GET => "/api/v1/jobs/get-object-url?job-id=$id&object-uuid=$objs->{'one.png'}", token => $tok),
    404, $NO_JOB, 'get-object-url after delete is 404');

$r = api(DELETE => "/api/v1/jobs/delete?job-id=$id", token => $tok);
expect_json($r, 404, $NO_JOB, 'deleting it again is 404');

# The rest is untouched.
expect_json(api(GET => "/api/v1/jobs/get?job-id=$keep->{id}", token => $tok), 200, undef,
    "the user's other job is untouched");
is(fetch_url($other_url)->{status}, 200, "the other user's object still downloads after the delete");

# ---- admin may delete any user's job ---------------------------------------------------
$r = api(DELETE => "/api/v1/jobs/delete?job-id=$keep->{id}", token => admin_token());
expect_json($r, 200, { message => 'Ok' }, "admin deletes a user's job");
expect_json(api(GET => "/api/v1/jobs/get?job-id=$keep->{id}", token => $tok), 404, $NO_JOB,
    'the admin-deleted job is gone');

done_testing;
