#!/usr/bin/perl
# The queue surface of seed 002 (/api/v1/queue/): enqueue with every
# X-Accepted-* header, get, want_job (priority order, queue filters, lease
# tokens, tenancy, worker tokens), heartbeat and finish (409s), delete and
# cancel, and every 400/403/404/413 answer with the field it names.
# Every test uses queue names unique to this run, since all test files share
# one database and an admin or worker lease takes from any user.
use strict;
use warnings;
use Test::More;
use DocketTest;

my $RUN = 'q' . $$ . 'x' . int(rand(1e6));
sub qn { "$RUN-$_[0]" }

my ($tok, $user)   = new_user_token('queue-a');
my ($tok2, $user2) = new_user_token('queue-b');
my $admin = admin_token();
my $UUID_RE = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/;

sub enqueue {
    my ($t, $body, %h) = @_;
    return api(POST => '/api/v1/queue/jobs', token => $t, headers => \%h,
               content => ref $body ? encode_json($body) : $body);
}
sub want {
    my ($t, $query, %h) = @_;
    my $content = delete $h{content};
    return api(POST => '/api/v1/queue/want_job' . ($query // ''), token => $t,
               headers => \%h, defined $content ? (content => $content) : ());
}
sub put_job {
    my ($t, $id, $body, %h) = @_;
    return api(PUT => "/api/v1/queue/jobs/$id", token => $t, headers => \%h,
               content => ref $body ? encode_json($body) : $body);
}
sub get_job { my ($t, $id, %h) = @_; api(GET => "/api/v1/queue/jobs/$id", token => $t, headers => \%h) }
sub q_error {
    my ($res, $status, $field, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    expect_json($res, $status, undef, $name);
    my $j = $res->{json} || {};
    ok(defined $j->{message} && $j->{message} =~ /\S/, "$name: has a message");
    is($j->{field}, $field, "$name: names $field") if defined $field;
}

# ---- enqueue ----------------------------------------------------------------
my $r = enqueue($tok, '{"queue":"' . qn('a') . '","params":{"param1":"foo","big":12345678901234567890,"f":1.50}}');
expect_json($r, 202, undef, 'enqueue');
my $job = $r->{json} || {};
like($job->{id} // '', $UUID_RE, 'enqueue: id is a uuid');
is_deeply([sort keys %$job], [qw(id params priority queue status)], 'enqueue: the seed\'s fields');
is($job->{status}, 'queued', 'enqueue: status queued');
is($job->{priority}, 1, 'enqueue: default priority 1');
is($job->{queue}, qn('a'), 'enqueue: queue');
is($job->{params}{param1}, 'foo', 'enqueue: params kept');
like($r->{content}, qr/"big":\s*12345678901234567890\b/, 'enqueue: a 20-digit number is kept exactly');
is(header($r, 'location'), base_url() . "/api/v1/queue/jobs/$job->{id}",
   'enqueue: Location is the absolute URL of the job');

$r = get_job($tok, $job->{id});
expect_json($r, 200, $job, 'get: the job as enqueued');

# The same row shows in the jobs surface (seed 001).
$r = api(GET => '/api/v1/jobs/list', token => $tok);
my ($listed) = grep { $_->{job_name} eq qn('a') } @{ $r->{json}{jobs} || [] };
ok($listed, 'the enqueued job is in /api/v1/jobs/list');
is($listed && $listed->{status}, 'queued', 'jobs list says queued');

# Every header.
$r = enqueue($tok, { queue => qn('h'), params => {} },
             'X-Accepted-Priority' => 3, 'X-Accepted-Result-TTL' => 600,
             'X-Accepted-Job-Timeout' => 30, 'X-Accepted-Delay' => 100,
             'X-Accepted-Callback-URL' => 'https://example.org/hook?x=1');
expect_json($r, 202, undef, 'enqueue with every header');
my $hid = $r->{json}{id};
is($r->{json}{priority}, 3, 'X-Accepted-Priority is the priority');
is(sql_value("SELECT extract(epoch FROM result_ttl)::int || ' ' || extract(epoch FROM job_timeout)::int"
        . " || ' ' || callback_url || ' ' || (run_at - now() BETWEEN interval '95 s' AND interval '101 s')"
        . " FROM jobs WHERE uuid = '$hid'"),
   '600 30 https://example.org/hook?x=1 true',
   'Result-TTL, Job-Timeout, Callback-URL and Delay are stored');
is(want($tok, '?queue=' . qn('h'))->{status}, 204, 'a delayed job is not leased before its time');

# Header errors: each names its header.
for my $case (
    ['X-Accepted-Priority', '4'], ['X-Accepted-Priority', '-1'], ['X-Accepted-Priority', 'high'],
    ['X-Accepted-Priority', '1.5'], ['X-Accepted-Priority', ''], ['X-Accepted-Priority', '0x1'],
    ['X-Accepted-Result-TTL', '-5'], ['X-Accepted-Result-TTL', 'forever'],
    ['X-Accepted-Job-Timeout', '0'], ['X-Accepted-Job-Timeout', '99999999999'],
    ['X-Accepted-Delay', '-1'], ['X-Accepted-Delay', '1e3'],
    ['X-Accepted-Callback-URL', 'ftp://example.org/x'], ['X-Accepted-Callback-URL', 'not a url'],
    ['X-Accepted-Callback-URL', 'http://user:pw@example.org/'],
    ['X-Accepted-Callback-URL', 'http://127.0.0.1:9/hook'], ['X-Accepted-Callback-URL', 'http://10.1.2.3/'],
    ['X-Accepted-Callback-URL', 'http://localhost/'], ['X-Accepted-Callback-URL', 'http://[::1]/'],
) {
    my ($h, $v) = @$case;
    q_error(enqueue($tok, { queue => qn('bad') }, $h => $v), 400, $h, "enqueue $h: '$v'");
}
is(sql_value("SELECT count(*) FROM jobs WHERE queue = '" . qn('bad') . "'"), 0,
   'no rejected enqueue left a job');

# Body errors.
for my $case (
    ['{"queue":', 'body', 'malformed JSON'],
    ['["q"]', 'body', 'an array'],
    ['', 'body', 'an empty body'],
    ['{"queue":"' . qn('a') . '"} x', 'body', 'trailing garbage'],
    ['{"params":{}}', 'queue', 'no queue'],
    ['{"queue":7}', 'queue', 'a number for queue'],
    ['{"queue":""}', 'queue', 'an empty queue name'],
    ['{"queue":"a b"}', 'queue', 'a queue name with a space'],
    ['{"queue":"' . ('q' x 129) . '"}', 'queue', 'a 129-byte queue name'],
    ['{"queue":"' . qn('a') . '","params":[1]}', 'params', 'params not an object'],
    ['{"queue":"' . qn('a') . '","params":"x"}', 'params', 'params a string'],
    ['{"queue":"' . qn('a') . '","prio":1}', 'body', 'an unknown field'],
) {
    q_error(enqueue($tok, $case->[0]), 400, $case->[1], "enqueue with $case->[2]");
}
$r = enqueue($tok, '{"queue":"' . qn('big') . '","params":{"x":"' . ('a' x (1100 * 1024)) . '"}}');
q_error($r, 413, undef, 'a body over queue_body_max');
is(sql_value("SELECT count(*) FROM jobs WHERE queue = '" . qn('big') . "'"), 0, 'the oversized job was not stored');
# The connection still works after a rejected large body.
is(get_job($tok, $job->{id})->{status}, 200, 'the next request after a 413 is answered');

# ---- get: tenancy and bad ids ----------------------------------------------
q_error(get_job($tok2, $job->{id}), 404, undef, 'another user\'s job is 404');
q_error(get_job($tok, '00000000-0000-4000-8000-000000000000'), 404, undef, 'a missing job is 404');
q_error(get_job($tok, 'not-a-uuid'), 404, undef, 'a malformed id is 404');
q_error(get_job($tok, uc $job->{id}), 404, undef, 'an upper-case uuid is 404');
is(get_job($admin, $job->{id})->{status}, 200, 'an admin sees any job');
q_error(get_job($tok, $job->{id}, 'X-Accepted-Wait-Result' => 'soon'), 400,
        'X-Accepted-Wait-Result', 'Wait-Result not a number');
q_error(get_job($tok, $job->{id}, 'X-Accepted-Wait-Result' => 100000), 400,
        'X-Accepted-Wait-Result', 'Wait-Result above queue_wait_max');

# ---- want_job ----------------------------------------------------------------
$r = want($tok, '?queue=' . qn('empty'));
is($r->{status}, 204, 'want_job on an empty queue: 204');
is($r->{content}, '', '204 has no body');

# Priority order, then the time the job became ready.
my @order;
for my $p (3, 1, 0, 1, 2) {
    my $e = enqueue($tok, { queue => qn('prio'), params => { p => $p } }, 'X-Accepted-Priority' => $p);
    push @order, [$p, $e->{json}{id}];
    select(undef, undef, undef, 0.01);
}
my @expect = map { $_->[1] } sort { $a->[0] <=> $b->[0] } @order;   # stable sort keeps time order
my @got;
for (1 .. 5) {
    my $w = want($tok, '?queue=' . qn('prio'), 'X-Accepted-Timeout' => 60);
    is($w->{status}, 200, "want_job $_ of 5: 200");
    push @got, $w->{json}{id};
    is($w->{json}{status}, 'running', "want_job $_: status running");
    like($w->{json}{lease_token} // '', $UUID_RE, "want_job $_: a lease token");
    is(header($w, 'x-accepted-lease-token'), $w->{json}{lease_token}, "want_job $_: the token header agrees");
}
is_deeply(\@got, \@expect, 'dequeued by priority, then by enqueue time');
is(want($tok, '?queue=' . qn('prio'))->{status}, 204, 'drained');

# X-Accepted-Timeout is the lease.
enqueue($tok, { queue => qn('lease') });
$r = want($tok, '?queue=' . qn('lease'), 'X-Accepted-Timeout' => 42);
is(sql_value("SELECT extract(epoch FROM lease_expires_at - started_at)::int FROM jobs WHERE uuid = '$r->{json}{id}'"),
   42, 'X-Accepted-Timeout: 42 leases for 42 s');
enqueue($tok, { queue => qn('lease') });
$r = want($tok, '?queue=' . qn('lease'));
is(sql_value("SELECT extract(epoch FROM lease_expires_at - started_at)::int FROM jobs WHERE uuid = '$r->{json}{id}'"),
   300, 'no X-Accepted-Timeout: the default lease (queue_lease_default, 300 s)');

# Queue selection: several ?queue=, the body's string or list, none = any.
my %ids;
$ids{$_} = enqueue($tok, { queue => qn($_) })->{json}{id} for qw(s1 s2 s3);
$r = want($tok, '?queue=' . qn('zz') . '&queue=' . qn('s2'));
is($r->{json}{id}, $ids{s2}, 'several ?queue= parameters');
$r = want($tok, '', content => encode_json({ queue => qn('s3') }));
is($r->{json}{id}, $ids{s3}, 'the body\'s "queue" string');
$r = want($tok, '', content => encode_json({ queue => [qn('zz'), qn('s1')] }));
is($r->{json}{id}, $ids{s1}, 'the body\'s "queue" list');
my $theirs = enqueue($tok2, { queue => qn('any') })->{json}{id};
is(want($tok, '?queue=' . qn('any'))->{status}, 204, 'a user token never leases another user\'s job');
enqueue($tok, { queue => qn('any2') });
$r = want($tok);
is($r->{status}, 200, 'no queue named: a job from any queue');
is(sql_value("SELECT u.name FROM jobs j JOIN users u ON u.id = j.user_id WHERE j.uuid = '$r->{json}{id}'"),
   $user, 'and one of the caller\'s own');
is(sql_value("SELECT state FROM jobs WHERE uuid = '$theirs'"), 'queued', 'the other user\'s job is still queued');

# want_job errors.
q_error(want($tok, '?queue=a%20b'), 400, 'queue', 'want_job with a bad queue name');
q_error(want($tok, '?queu=x'), 400, 'query', 'want_job with an unknown parameter');
q_error(want($tok, '', content => '{"queue":5}'), 400, 'queue', 'want_job with a number for queue');
q_error(want($tok, '', content => '{"queue":'), 400, 'body', 'want_job with malformed JSON');
q_error(want($tok, '', content => '{"queues":["x"]}'), 400, 'body', 'want_job with an unknown field');
q_error(want($tok, '?queue=x', 'X-Accepted-Timeout' => 0), 400, 'X-Accepted-Timeout', 'a zero lease');
q_error(want($tok, '?queue=x', 'X-Accepted-Timeout' => 'long'), 400, 'X-Accepted-Timeout', 'a word for the lease');
q_error(want($tok, '?queue=x', 'X-Accepted-Block-For' => -1), 400, 'X-Accepted-Block-For', 'a negative block');
q_error(want($tok, '?queue=x', 'X-Accepted-Block-For' => 3601), 400, 'X-Accepted-Block-For', 'a block above the maximum');
q_error(want($tok, join('&', '?queue=x', map { "queue=x$_" } 1 .. 16)), 400, 'queue', 'more than 16 queues');
is(api(GET => '/api/v1/queue/want_job', token => $tok)->{status}, 405, 'GET want_job: 405');
# A refused want_job leases nothing.
my $wb = enqueue($tok, { queue => qn('wbad') })->{json}{id};
for my $h (['X-Accepted-Timeout', 0], ['X-Accepted-Timeout', 'x'], ['X-Accepted-Block-For', -1]) {
    is(want($tok, '?queue=' . qn('wbad'), $h->[0] => $h->[1])->{status}, 400, "want_job with $h->[0]: $h->[1]");
}
is(want($tok, '?queue=' . qn('wbad') . '&bogus=1')->{status}, 400, 'want_job with an unknown parameter');
is(sql_value("SELECT state || ' ' || attempts || ' ' || (lease_token IS NULL) FROM jobs WHERE uuid = '$wb'"),
   'queued 0 true', 'the refused want_jobs leased nothing');

# ---- heartbeat and finish ----------------------------------------------------
my $fid = enqueue($tok, { queue => qn('fin'), params => { n => 1 } })->{json}{id};
$r = want($tok, '?queue=' . qn('fin'), 'X-Accepted-Timeout' => 5);
my $lease = $r->{json}{lease_token};
sql_value("UPDATE jobs SET lease_expires_at = now() + interval '1 s' WHERE uuid = '$fid'");
$r = put_job($tok, $fid, { status => 'running' }, 'X-Accepted-Lease-Token' => $lease);
expect_json($r, 200, undef, 'heartbeat');
is($r->{json}{status}, 'running', 'heartbeat: still running');
ok(!exists $r->{json}{lease_token}, 'heartbeat: the answer does not repeat the token');
is(sql_value("SELECT lease_expires_at > now() + interval '4 s' FROM jobs WHERE uuid = '$fid'"), 't',
   'heartbeat extends the lease by its length');
q_error(put_job($tok, $fid, { status => 'done' }, 'X-Accepted-Lease-Token' => '00000000-0000-4000-8000-000000000000'),
        409, undef, 'a finish with another lease\'s token');
q_error(put_job($tok, $fid, { status => 'done', lease_token => $lease },
        'X-Accepted-Lease-Token' => '00000000-0000-4000-8000-000000000000'), 400, 'lease_token',
        'header and field tokens that disagree');
q_error(put_job($tok, $fid, { status => 'done' }, 'X-Accepted-Lease-Token' => 'xyz'), 400,
        'X-Accepted-Lease-Token', 'a malformed token header');
q_error(put_job($tok, $fid, { status => 'done', lease_token => 5 }), 400, 'lease_token', 'a number for lease_token');
q_error(put_job($tok, $fid, { status => 'finished' }), 400, 'status', 'an unknown status');
q_error(put_job($tok, $fid, { result => 1 }), 400, 'status', 'no status');
q_error(put_job($tok, $fid, '{"status":'), 400, 'body', 'malformed JSON');
q_error(put_job($tok, $fid, { status => 'done', extra => 1 }), 400, 'body', 'an unknown field');
q_error(put_job($tok2, $fid, { status => 'done' }), 404, undef, 'another user cannot finish the job');
is(sql_value("SELECT state FROM jobs WHERE uuid = '$fid'"), 'running', 'none of those changed the job');
$r = put_job($tok, $fid, { status => 'done', result => { answer => [1, 2.50, 'x'] }, lease_token => $lease });
expect_json($r, 200, undef, 'finish');
is($r->{json}{status}, 'done', 'finish: status done');
is_deeply($r->{json}{result}, { answer => [1, 2.5, 'x'] }, 'finish: the result');
is_deeply(get_job($tok, $fid)->{json}, $r->{json}, 'get agrees with the finish answer');
q_error(put_job($tok, $fid, { status => 'done' }), 409, undef, 'finishing a finished job');
q_error(put_job($tok, $fid, { status => 'running' }), 409, undef, 'a heartbeat on a finished job');
my $qid = enqueue($tok, { queue => qn('fin2') })->{json}{id};
q_error(put_job($tok, $qid, { status => 'done' }), 409, undef, 'finishing a job nobody leased');

# failed, without a token (seed clients send none).
$fid = enqueue($tok, { queue => qn('fail') })->{json}{id};
want($tok, '?queue=' . qn('fail'));
$r = put_job($tok, $fid, { status => 'failed', result => 'it broke' });
expect_json($r, 200, undef, 'fail without a token');
is($r->{json}{status}, 'failed', 'status failed');
is($r->{json}{result}, 'it broke', 'the failure\'s result');

# ---- worker tokens -------------------------------------------------------------
my $wq = qn('w');
my $worker = ctl('token', 'create', unique_name('wk'), '--worker', '--queue', $wq, '--queue', qn('w2'));
my $any_worker = ctl('token', 'create', unique_name('wkany'), '--worker');
my $wid = enqueue($tok2, { queue => $wq, params => { for => 'worker' } })->{json}{id};
q_error(want($worker, '?queue=' . qn('other')), 403, 'queue', 'a worker token asking for another queue');
$r = want($worker);
is($r->{status}, 200, 'a worker token leases from its queues when it names none');
is($r->{json}{id}, $wid, 'it leases another user\'s job on its queue');
$r = put_job($worker, $wid, { status => 'done', result => 'w' }, 'X-Accepted-Lease-Token' => $r->{json}{lease_token});
is($r->{status}, 200, 'the worker token finishes it');
q_error(get_job($worker, $wid), 403, undef, 'a worker token cannot read a job');
q_error(api(GET => '/api/v1/jobs/list', token => $worker), 403, undef, 'a worker token cannot list jobs');
q_error(enqueue($worker, { queue => $wq }), 403, undef, 'a worker token cannot enqueue');
q_error(api(DELETE => "/api/v1/queue/jobs/$wid", token => $worker), 403, undef, 'a worker token cannot delete');
my $oid = enqueue($tok, { queue => qn('w3') })->{json}{id};
want($tok, '?queue=' . qn('w3'));
q_error(put_job($worker, $oid, { status => 'done' }), 404, undef, 'a worker token cannot finish a job off its queues');
my $aid = enqueue($tok, { queue => qn('w4') })->{json}{id};
$r = want($any_worker, '?queue=' . qn('w4'));
is($r->{json}{id}, $aid, 'a worker token without --queue serves any queue');
my ($rc, undef, $err) = ctl_result('token', 'create', unique_name('wkbad'), '--worker', '--queue', 'a b');
isnt($rc, 0, 'docketctl refuses a bad queue name');
($rc) = ctl_result('token', 'create', unique_name('wkbad'), '--queue', 'x');
isnt($rc, 0, 'docketctl refuses --queue without --worker');

# ---- delete and cancel ---------------------------------------------------------------
my $did = enqueue($tok, { queue => qn('del'), params => { d => 1 } })->{json}{id};
q_error(api(DELETE => "/api/v1/queue/jobs/$did", token => $tok2), 404, undef, 'another user cannot delete');
$r = api(DELETE => "/api/v1/queue/jobs/$did", token => $tok);
expect_json($r, 200, undef, 'delete a queued job');
is($r->{json}{id}, $did, 'delete returns the job');
is($r->{json}{status}, 'queued', 'as it was');
q_error(get_job($tok, $did), 404, undef, 'a deleted job is gone');
is(sql_value("SELECT count(*) FROM jobs WHERE uuid = '$did'"), 0, 'its row is gone');
q_error(api(DELETE => "/api/v1/queue/jobs/$did", token => $tok), 404, undef, 'deleting it again');

my $cid = enqueue($tok, { queue => qn('cancel') })->{json}{id};
$r = want($tok, '?queue=' . qn('cancel'));
my $ctok = $r->{json}{lease_token};
$r = api(DELETE => "/api/v1/queue/jobs/$cid", token => $tok);
expect_json($r, 200, undef, 'delete a running job');
is($r->{json}{status}, 'canceled', 'a running job is canceled');
$r = put_job($tok, $cid, { status => 'running' }, 'X-Accepted-Lease-Token' => $ctok);
q_error($r, 409, undef, 'the canceled job\'s heartbeat');
like($r->{json}{message} // '', qr/cancel/i, 'the 409 says it was canceled');
q_error(put_job($tok, $cid, { status => 'done' }, 'X-Accepted-Lease-Token' => $ctok), 409, undef,
        'the canceled job\'s finish');
is(get_job($tok, $cid)->{json}{status}, 'canceled', 'get says canceled');
$r = api(DELETE => "/api/v1/queue/jobs/$cid", token => $tok);
is($r->{status}, 200, 'a canceled job can then be deleted');
q_error(get_job($tok, $cid), 404, undef, 'and is gone');

# A job with files (made by the jobs surface) loses them on delete.
my $fjob = add_job(user => $user, name => 'with files', files => ['a.txt']);
my $fuuid = sql_value("SELECT uuid FROM jobs WHERE id = $fjob->{id}");
ok(-d store_dir() . "/$fuuid", 'the job has a store directory');
my $files_before = count_files(store_dir() . "/$fuuid");
q_error(api(DELETE => "/api/v1/queue/jobs/$fuuid", token => $tok2), 404, undef,
        'another user deleting a job with files');
is(count_files(store_dir() . "/$fuuid"), $files_before, 'its files are all still there');
is(sql_value("SELECT count(*) FROM jobs WHERE uuid = '$fuuid'"), 1, 'and its row');
is(api(GET => "/api/v1/jobs/get?job-id=$fjob->{id}", token => $tok)->{status}, 200,
   'the owner still sees it on the jobs surface');
is(api(DELETE => "/api/v1/queue/jobs/$fuuid", token => $tok)->{status}, 200, 'delete it on the queue surface');
ok(!-e store_dir() . "/$fuuid", 'its files are gone');

# ---- routes ---------------------------------------------------------------------------
is(api(PATCH => "/api/v1/queue/jobs/$job->{id}", token => $tok)->{status}, 405, 'PATCH a job: 405');
is(api(GET => '/api/v1/queue/jobs', token => $tok)->{status}, 405, 'GET the collection: 405');
is(api(POST => '/api/v1/queue/jobs', auth => 'none')->{status}, 401, 'no token: 401');

done_testing();
