#!/usr/bin/perl
# Long-polls on the queue surface: X-Accepted-Block-For woken by an enqueue
# within milliseconds (not at the next poll), Block-For that times out,
# X-Accepted-Wait-Result answered as soon as the job finishes or at its
# deadline, a delayed job waking a waiter when it comes due, and waiters
# that hold no database connection: more waiters than docketd has pooled
# connections do not block an ordinary request.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use POSIX ();
use DocketTest;

my $RUN = 'lp' . $$ . 'x' . int(rand(1e6));
sub qn { "$RUN-$_[0]" }
my ($tok) = new_user_token('longpoll');

sub enqueue {
    my ($body, %h) = @_;
    my $r = api(POST => '/api/v1/queue/jobs', token => $tok, headers => \%h,
                content => encode_json($body));
    die 'enqueue: ' . describe($r) unless $r->{status} == 202;
    return $r->{json}{id};
}

# In a child process (its own HTTPS connection), run CODE and hand back
# [finish time, status, body] through a pipe.  Returns a reader.
sub in_child {
    my ($code) = @_;
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $rd;
        fresh_connection();
        my $res = eval { $code->() };
        my $out = $res ? encode_json([time, $res->{status}, $res->{content}])
                       : encode_json([time, 0, "$@"]);
        print $wr $out;
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    return sub {
        local $/;
        my $s = <$rd>;
        waitpid($pid, 0);
        return decode_json($s || '[0, 0, "child died"]');
    };
}

sub want_blocking {
    my ($queue, $secs) = @_;
    return api(POST => "/api/v1/queue/want_job?queue=$queue", token => $tok,
               headers => { 'X-Accepted-Block-For' => $secs });
}

# ---- Block-For woken by an enqueue -------------------------------------------
{
    my $q = qn('wake');
    my $wait = in_child(sub { want_blocking($q, 10) });
    sleep 0.5;                               # the child is now waiting
    my $t0 = time;
    my $id = enqueue({ queue => $q, params => { n => 1 } });
    my ($t1, $status, $body) = @{ $wait->() };
    is($status, 200, 'the blocked want_job gets the job');
    is(eval { decode_json($body)->{id} }, $id, 'the very job enqueued');
    cmp_ok($t1 - $t0, '<', 0.5, sprintf('it arrives %.1f ms after the enqueue was sent', 1000 * ($t1 - $t0)));
}

# Several waiters on one queue, three jobs: each job goes to one waiter.
{
    my $q = qn('fan');
    my @waits = map { in_child(sub { want_blocking($q, 4) }) } 1 .. 5;
    sleep 0.5;
    my %ids = map { enqueue({ queue => $q }) => 1 } 1 .. 3;
    my @res = map { $_->() } @waits;
    my @got = map { eval { decode_json($_->[2])->{id} } } grep { $_->[1] == 200 } @res;
    is(scalar @got, 3, 'three of five waiters get a job');
    is_deeply([sort @got], [sort keys %ids], 'each job exactly once');
    is(scalar(grep { $_->[1] == 204 } @res), 2, 'the other two time out with 204')
        or diag(explain([grep { $_->[1] != 200 } @res]));
}

# A waiter whose client went away leases nothing: the job goes to the next.
{
    my $q = qn('gone');
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        fresh_connection();
        eval { want_blocking($q, 20) };
        POSIX::_exit(0);
    }
    sleep 0.7;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    sleep 0.3;                              # nginx closes its upstream connection
    my $id = enqueue({ queue => $q });
    sleep 0.3;
    my $r = api(POST => "/api/v1/queue/want_job?queue=$q", token => $tok);
    is($r->{status}, 200, 'after a waiting client was killed, the job is still there');
    is($r->{json}{id}, $id, 'and leased by the next want_job');
}

# ---- Block-For that times out -------------------------------------------------
{
    my $t0 = time;
    my $r = want_blocking(qn('idle'), 1);
    my $dt = time - $t0;
    is($r->{status}, 204, 'Block-For: 1 on an empty queue: 204');
    ok($dt >= 0.9 && $dt < 3, sprintf('after about a second (%.2f s)', $dt));
}

# ---- a delayed job wakes a waiter when it comes due (the dispatcher) ----------
{
    my $q = qn('delay');
    my $t0 = time;
    my $id = enqueue({ queue => $q }, 'X-Accepted-Delay' => 1);
    my $r = want_blocking($q, 8);
    my $dt = time - $t0;
    is($r->{status}, 200, 'a blocked want_job gets a delayed job');
    is($r->{json}{id}, $id, 'the delayed job');
    ok($dt >= 0.9 && $dt < 3, sprintf('once its delay is over (%.2f s)', $dt));
}

# ---- a job committed without a NOTIFY (docketd died in between, or another
# docketd took it): the dispatcher's tick announces it -------------------------
{
    my $q = qn('backstop');
    my $wait = in_child(sub { want_blocking($q, 10) });
    sleep 0.5;
    my $t0 = time;
    my ($rc, $out, $err) = run_cmd('psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c',
        "INSERT INTO jobs (user_id, name, surface, queue, state)"
        . " SELECT user_id, '$q', 'queue', '$q', 'queued' FROM api_tokens"
        . " WHERE token_hash = sha256(convert_to('$tok', 'UTF8'))"
        . " RETURNING uuid");
    die "psql: $err" if $rc;
    chomp $out;
    my ($t1, $status, $body) = @{ $wait->() };
    is($status, 200, 'a job inserted without NOTIFY reaches a blocked want_job');
    is(eval { decode_json($body)->{id} }, $out, 'the very job');
    cmp_ok($t1 - $t0, '<', 1.5, sprintf('within a dispatcher tick or so (%.0f ms)', 1000 * ($t1 - $t0)));
}

# ---- Wait-Result --------------------------------------------------------------
{
    my $q = qn('result');
    my $id = enqueue({ queue => $q });
    my $lease = api(POST => "/api/v1/queue/want_job?queue=$q", token => $tok)->{json}{lease_token};
    my $wait = in_child(sub {
        api(GET => "/api/v1/queue/jobs/$id", token => $tok, headers => { 'X-Accepted-Wait-Result' => 10 })
    });
    sleep 0.5;
    my $t0 = time;
    my $r = api(PUT => "/api/v1/queue/jobs/$id", token => $tok,
                headers => { 'X-Accepted-Lease-Token' => $lease },
                content => encode_json({ status => 'done', result => 'bar' }));
    is($r->{status}, 200, 'finish');
    my ($t1, $status, $body) = @{ $wait->() };
    is($status, 200, 'Wait-Result answers');
    my $j = eval { decode_json($body) } || {};
    is($j->{status}, 'done', 'with the finished job');
    is($j->{result}, 'bar', 'and its result');
    cmp_ok($t1 - $t0, '<', 0.5, sprintf('%.1f ms after the finish', 1000 * ($t1 - $t0)));

    $t0 = time;
    $r = api(GET => "/api/v1/queue/jobs/$id", token => $tok, headers => { 'X-Accepted-Wait-Result' => 10 });
    is($r->{json}{status}, 'done', 'Wait-Result on a finished job');
    cmp_ok(time - $t0, '<', 0.5, 'answers at once');

    my $id2 = enqueue({ queue => $q });
    $t0 = time;
    $r = api(GET => "/api/v1/queue/jobs/$id2", token => $tok, headers => { 'X-Accepted-Wait-Result' => 1 });
    my $dt = time - $t0;
    is($r->{status}, 200, 'Wait-Result that runs out: 200');
    is($r->{json}{status}, 'queued', 'with the job as it is');
    ok($dt >= 0.9 && $dt < 3, sprintf('after its second (%.2f s)', $dt));

    # A job deleted while waited on: the waiter learns at once.
    my $wait2 = in_child(sub {
        api(GET => "/api/v1/queue/jobs/$id2", token => $tok, headers => { 'X-Accepted-Wait-Result' => 10 })
    });
    sleep 0.5;
    $t0 = time;
    api(DELETE => "/api/v1/queue/jobs/$id2", token => $tok);
    ($t1, $status) = @{ $wait2->() };
    is($status, 404, 'Wait-Result on a job deleted meanwhile: 404');
    cmp_ok($t1 - $t0, '<', 0.5, 'at once');
}

# ---- waiters hold no database connection ----------------------------------------
{
    my $conns = sub {
        my ($rc, $out) = run_cmd('psql', '-XAtq', '-c',
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'docketd'");
        $out =~ s/\s+//g;
        return $out;
    };
    my $q = qn('many');
    my @waits = map { in_child(sub { want_blocking($q, 4) }) } 1 .. 24;
    sleep 1;
    my $t0 = time;
    my $id = enqueue({ queue => qn('other') });
    my $r = api(GET => "/api/v1/queue/jobs/$id", token => $tok);
    my $dt = time - $t0;
    is($r->{status}, 200, 'an ordinary request while 24 want_jobs wait');
    cmp_ok($dt, '<', 1, sprintf('is answered at once (%.0f ms): the waiters hold no pooled connection', 1000 * $dt));
    my $during = $conns->();
    my ($workers, $pool) = ($ENV{DOCKET_WORKERS} || 2, $ENV{DOCKET_DB_POOL} || 8);
    cmp_ok($during, '<=', $workers * $pool,
           "docketd has at most workers x db_pool ($workers x $pool) connections with 24 waiters ($during)");
    my @res = map { $_->() } @waits;
    is(scalar(grep { $_->[1] == 204 } @res), 24, 'all 24 time out with 204')
        or diag(explain([grep { $_->[1] != 204 } @res]));
}

done_testing();
