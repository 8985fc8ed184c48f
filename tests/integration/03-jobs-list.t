#!/usr/bin/perl
# GET /api/v1/jobs/list: the user's jobs only, newest first, with the seed's
# fields; an empty list for a new user; admins see every user's jobs.
use strict;
use warnings;
use Test::More;
use DocketTest;

my $DATE_RE = qr/\A\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} UTC\z/;

my ($tok, $user)     = new_user_token('lister');
my ($tok2, $user2)   = new_user_token('lister2');
my ($empty_tok)      = new_user_token('empty');

sub list { my ($t, $q) = @_; api(GET => '/api/v1/jobs/list' . ($q // ''), token => $t) }

# ---- a new user -----------------------------------------------------------
my $r = list($empty_tok);
expect_json($r, 200, { jobs => [] }, 'a new user has an empty list');
like($r->{content}, qr/"jobs"\s*:\s*\[\s*\]/, 'the empty list is a JSON array');

# ---- three jobs, added one after the other --------------------------------
my @jobs;
for my $n (1 .. 3) {
    push @jobs, add_job(user => $user, name => "list job $n",
                        files => [["f$n.txt", 'x' x (100 * $n)], ["g$n.txt", 'y' x $n]]);
    select(undef, undef, undef, 0.05);
}
my $job2 = add_job(user => $user2, name => 'not yours', files => ['h.txt']);

$r = list($tok);
expect_json($r, 200, undef, 'list with three jobs');
my $items = ($r->{json} && ref $r->{json}{jobs} eq 'ARRAY') ? $r->{json}{jobs} : [];
is(scalar @$items, 3, 'exactly the user\'s three jobs');
is_deeply([map { $_->{job_id} } @$items], [map { $_->{id} } reverse @jobs], 'newest first');
my %by_id = map { $_->{job_id} => $_ } @$items;
ok(!$by_id{ $job2->{id} }, 'another user\'s job is not listed');
for my $job (@jobs) {
    my $it = $by_id{ $job->{id} } or next;
    my $n = $job->{id};
    for my $f (qw(job_id job_name date total_size credits_spent status status_meaning)) {
        ok(exists $it->{$f}, "job $n has $f");
    }
    is($it->{job_name}, $job->{name}, "job $n: job_name");
    like($it->{date} // '', $DATE_RE, "job $n: date in the seed format");
    ok(defined parse_utc_date($it->{date}) && abs(parse_utc_date($it->{date}) - time) < 300,
        "job $n: date is about now in UTC");
    is($it->{total_size}, $job->{total_size}, "job $n: total_size");
    like($it->{credits_spent} // '', qr/\A\d+\z/, "job $n: credits_spent is a non-negative integer");
    is($it->{status}, 'ready', "job $n: status ready");
    ok(defined $it->{status_meaning} && !ref $it->{status_meaning} && $it->{status_meaning} =~ /\S/,
        "job $n: status_meaning is a non-empty string");
}
like($r->{content}, qr/"job_id"\s*:\s*\d+/, 'job_id is a JSON number');
my @dates = map { $_->{date} // '' } @$items;
is_deeply(\@dates, [reverse sort @dates], 'dates are non-increasing');

# The list agrees with get.
{
    my $g = api(GET => "/api/v1/jobs/get?job-id=$jobs[0]{id}", token => $tok);
    my $it = $by_id{ $jobs[0]{id} } || {};
    is($it->{date}, $g->{json} && $g->{json}{job_info}{date}, 'list date equals get date');
    is($it->{credits_spent}, $g->{json} && $g->{json}{job_info}{credits_spent},
        'list credits_spent equals get credits_spent');
}

# ---- status changes show ----------------------------------------------------
my $ready_meaning = ($by_id{ $jobs[0]{id} } || {})->{status_meaning};
finish_job($jobs[0]{id}, status => 'success');
finish_job($jobs[1]{id}, status => 'failed');
$r = list($tok);
expect_json($r, 200, undef, 'list after finishing two jobs');
%by_id = map { $_->{job_id} => $_ } @{ ($r->{json} || {})->{jobs} || [] };
is($by_id{ $jobs[0]{id} }{status}, 'success', 'finished job: status success');
is($by_id{ $jobs[1]{id} }{status}, 'failed', 'failed job: status failed');
is($by_id{ $jobs[2]{id} }{status}, 'ready', 'untouched job: status ready');
my %meanings = map { ($by_id{ $_->{id} }{status_meaning} // '') => 1 } @jobs;
is(scalar keys %meanings, 3, 'ready, success and failed have different status_meaning texts');
ok(!exists $meanings{''}, 'every status_meaning is non-empty');
isnt($by_id{ $jobs[0]{id} }{status_meaning}, $ready_meaning, 'status_meaning follows the status');

# ---- admin ------------------------------------------------------------------
$r = list(admin_token());
expect_json($r, 200, undef, 'admin list');
my %all = map { $_->{job_id} => 1 } @{ ($r->{json} || {})->{jobs} || [] };
ok($all{ $jobs[2]{id} } && $all{ $jobs[0]{id} }, 'admin sees the first user\'s jobs');
ok($all{ $job2->{id} }, 'admin sees the second user\'s job');

# The second user sees only their own job.
$r = list($tok2);
expect_json($r, 200, undef, 'second user list');
is_deeply([map { $_->{job_id} } @{ ($r->{json} || {})->{jobs} || [] }], [$job2->{id}],
    'second user sees only their job');

# ---- parameters ---------------------------------------------------------------
# The list takes the listing parameters (17-jobs-list-params.t); any other
# is a 400 that names it and says what the list does take.
my $takes = 'it takes page, page_size, order, started, ended, status.';
expect_error(list($tok, '?foo=1'), 400, "'foo' is not a parameter of this list; $takes",
    'foo: string', 'list with an unknown parameter');
expect_error(list($tok, '?job-id=1'), 400, "'job-id' is not a parameter of this list; $takes",
    'job-id: string', 'list does not take job-id');

done_testing;
