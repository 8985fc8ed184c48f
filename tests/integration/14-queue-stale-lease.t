#!/usr/bin/perl
# A stale lease: worker A leases a job with a 2 s lease and is SIGSTOPped
# past it; the dispatcher puts the job back and worker B leases it; A is
# SIGCONTed and its heartbeat and finish (with its old token) get 409, and
# the job ends with B's result.  Also: the owner's finish without a token
# while a worker holds the lease is accepted (seed compatibility), the
# finish of a finished job is refused, and so is the finish of a job whose
# lease expired and which went back to the queue.
use strict;
use warnings;
use Test::More;
use DocketTest;
use QueueWorker qw(client iso_epoch);
use IO::Handle;
use POSIX ();
use Time::HiRes qw(sleep time);

my $queue = 'stale-' . $$ . '-' . int(time);
my ($utok, $user) = new_user_token('qstale');
my $wtok = ctl('token', 'create', unique_name('qstale-w'), '--worker',
               '--queue', $queue);
my $base = base_url();

sub enqueue {
    my ($params) = @_;
    my $r = api(POST => '/api/v1/queue/jobs', token => $utok,
                headers => { 'Content-Type' => 'application/json' },
                content => encode_json({ queue => $queue, params => $params }));
    expect_json($r, 202, undef, 'enqueue') or BAIL_OUT('cannot enqueue: ' . describe($r));
    return $r->{json}{id};
}
sub want {
    my (%h) = @_;
    return api(POST => "/api/v1/queue/want_job?queue=$queue", token => $wtok,
               headers => { %h });
}
sub put {
    my ($id, $tok, $body, %o) = @_;
    my %h = ('Content-Type' => 'application/json');
    $h{'X-Accepted-Lease-Token'} = $o{header_token} if defined $o{header_token};
    return api(PUT => "/api/v1/queue/jobs/$id", token => $tok, headers => \%h,
               content => encode_json($body));
}
sub get { my ($id) = @_; api(GET => "/api/v1/queue/jobs/$id", token => $utok) }
sub proc_state {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/stat") or return '';
    my $s = <$fh> // '';
    return $s =~ /\)\s+(\S)/ ? $1 : '';
}

# ---- worker A: a process of its own -----------------------------------------
# A leases, reports, and then does what the parent's lines say, with its own
# connection: "hb" (heartbeat with its token in the header), "fin" (finish
# with its token in the body), "exit".
pipe(my $a_out_r, my $a_out_w) or die "pipe: $!";
pipe(my $a_in_r, my $a_in_w) or die "pipe: $!";
my $job = enqueue({ n => 1 });
my $apid = fork // die "fork: $!";
if (!$apid) {
    close $a_out_r;
    close $a_in_w;
    $a_out_w->autoflush(1);
    my $http = client();
    my $r = $http->request('POST', "$base/api/v1/queue/want_job?queue=$queue", {
        headers => { Authorization => $wtok, 'X-Accepted-Timeout' => 2 },
        content => '' });
    print {$a_out_w} encode_json({ status => $r->{status}, body => $r->{content},
                                   token => $r->{headers}{'x-accepted-lease-token'},
                                   t => time }), "\n";
    my $j = eval { decode_json($r->{content}) } || {};
    my $tok = $r->{headers}{'x-accepted-lease-token'} // '';
    while (my $cmd = <$a_in_r>) {
        chomp $cmd;
        last if $cmd eq 'exit';
        my $body = $cmd eq 'hb' ? { status => 'running' }
                 : { status => 'done', result => { by => 'A' }, lease_token => $tok };
        my %h = (Authorization => $wtok, 'Content-Type' => 'application/json');
        $h{'X-Accepted-Lease-Token'} = $tok if $cmd eq 'hb';
        my $u = $http->request('PUT', "$base/api/v1/queue/jobs/$j->{id}", {
            headers => \%h, content => encode_json($body) });
        print {$a_out_w} encode_json({ status => $u->{status}, body => $u->{content} }), "\n";
    }
    POSIX::_exit(0);
}
close $a_out_w;
close $a_in_r;
$a_in_w->autoflush(1);
sub from_a {
    my $line = <$a_out_r>;
    die "worker A said nothing\n" unless defined $line;
    my $m = decode_json($line);
    $m->{json} = eval { decode_json($m->{body}) } if length($m->{body} // '');
    return $m;
}
sub tell_a { print {$a_in_w} "$_[0]\n" }

my $a = from_a();
is($a->{status}, 200, 'worker A leases the job') or diag explain $a;
is($a->{json}{id}, $job, 'worker A got the job');
my $tok_a = $a->{token};
like($tok_a // '', qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/,
     'worker A has a lease token');
my $exp_a = iso_epoch($a->{json}{lease_expires_at});
ok(defined $exp_a && abs($exp_a - 2 - $a->{t}) < 1,
   'worker A\'s lease expires 2 s after it was granted')
    or diag "lease_expires_at $a->{json}{lease_expires_at}, answer at $a->{t}";

ok(kill('STOP', $apid), 'SIGSTOP worker A');
ok(wait_until(sub { proc_state($apid) eq 'T' }, 5, 0.02), 'worker A is stopped');

# ---- worker B, while A's lease holds and after ---------------------------------
my $r = want('X-Accepted-Timeout' => 30);
is($r->{status}, 204, 'worker B: nothing to lease while A\'s lease holds')
    or diag describe($r);
$r = want('X-Accepted-Timeout' => 30, 'X-Accepted-Block-For' => 10);
my $t_b = time;
expect_json($r, 200, undef, 'worker B leases the job again after A\'s lease expired');
is($r->{json}{id}, $job, 'worker B got the same job');
my $tok_b = header($r, 'X-Accepted-Lease-Token') // '';
isnt($tok_b, $tok_a, 'worker B has another lease token');
is($r->{json}{lease_token}, $tok_b, 'the body has B\'s token too');
my $grant_b = iso_epoch($r->{json}{lease_expires_at}) - 30;
cmp_ok($grant_b, '>', $exp_a, 'B\'s lease began after A\'s lease expired');
# the dispatcher sweeps every 250 ms; 1 s of slack for a loaded machine
cmp_ok($grant_b - $exp_a, '<', 1.25, 'B\'s lease came within 1.25 s of A\'s expiry');
cmp_ok(proc_state($apid), 'eq', 'T', 'worker A was stopped all along');
$r = get($job);
is($r->{json}{status}, 'running', 'the job is running (B\'s lease)');

# ---- A wakes up ------------------------------------------------------------------
ok(kill('CONT', $apid), 'SIGCONT worker A');
tell_a('hb');
$a = from_a();
is($a->{status}, 409, 'A\'s heartbeat with its stale token: 409') or diag explain $a;
like($a->{json}{message} // '', qr/stale/i, 'the 409 says the lease token is stale');
tell_a('fin');
$a = from_a();
is($a->{status}, 409, 'A\'s finish with its stale token (in the body): 409') or diag explain $a;
like($a->{json}{message} // '', qr/stale/i, 'the 409 says the lease token is stale');
$r = get($job);
is($r->{json}{status}, 'running', 'after A\'s attempts the job still runs');
ok(!exists $r->{json}{result}, 'A\'s result was not stored') or diag describe($r);

# ---- B heartbeats and finishes ---------------------------------------------------
$r = put($job, $wtok, { status => 'running' }, header_token => $tok_b);
expect_json($r, 200, undef, 'B\'s heartbeat');
is($r->{json}{status}, 'running', 'B\'s heartbeat: running');
$r = put($job, $wtok, { status => 'done', result => { by => 'B' } }, header_token => $tok_b);
expect_json($r, 200, undef, 'B\'s finish');
is($r->{json}{status}, 'done', 'B\'s finish: done');
is_deeply($r->{json}{result}, { by => 'B' }, 'B\'s finish: B\'s result');
$r = get($job);
is($r->{json}{status}, 'done', 'the job is done');
is_deeply($r->{json}{result}, { by => 'B' }, 'the job has B\'s result');

tell_a('fin');
$a = from_a();
is($a->{status}, 409, 'A\'s finish after B\'s: 409') or diag explain $a;
like($a->{json}{message} // '', qr/already finished/i, 'the 409 says the job is already finished');
is_deeply(get($job)->{json}{result}, { by => 'B' }, 'the job keeps B\'s result');
tell_a('exit');
waitpid($apid, 0);
is($?, 0, 'worker A exited normally');

# ---- the owner finishes without a token while B holds the lease ------------------
my $job2 = enqueue({ n => 2 });
$r = want('X-Accepted-Timeout' => 30);
expect_json($r, 200, undef, 'B leases job 2');
is($r->{json}{id}, $job2, 'B got job 2');
my $tok_b2 = header($r, 'X-Accepted-Lease-Token');
# Seed compatibility: clients of the seed send no token; such a finish is
# accepted whoever holds the lease (documented behaviour).
$r = put($job2, $utok, { status => 'done', result => { by => 'owner' } });
expect_json($r, 200, undef, 'the owner\'s finish without a token while B holds the lease');
is($r->{json}{status}, 'done', 'the owner\'s finish: done');
$r = put($job2, $wtok, { status => 'done', result => { by => 'B' } }, header_token => $tok_b2);
expect_json($r, 409, undef, 'B\'s finish of the job the owner finished');
like($r->{json}{message} // '', qr/already finished/i, 'the 409 says the job is already finished');
$r = put($job2, $utok, { status => 'failed', result => { by => 'owner again' } });
expect_json($r, 409, undef, 'a finish (without a token) of a finished job');
$r = get($job2);
is($r->{json}{status}, 'done', 'job 2 stays done');
is_deeply($r->{json}{result}, { by => 'owner' }, 'job 2 keeps the owner\'s result');

# ---- a lease that expired and went back to the queue ------------------------------
my $job3 = enqueue({ n => 3 });
$r = want('X-Accepted-Timeout' => 1);
expect_json($r, 200, undef, 'B leases job 3 for 1 s');
my $tok_b3 = header($r, 'X-Accepted-Lease-Token');
ok(wait_until(sub { (get($job3)->{json}{status} // '') eq 'queued' }, 5, 0.1),
   'job 3 goes back to the queue after its lease expired');
$r = put($job3, $wtok, { status => 'running' }, header_token => $tok_b3);
expect_json($r, 409, undef, 'a heartbeat of a job back in the queue');
like($r->{json}{message} // '', qr/not running/i, 'the 409 says the job is not running');
$r = put($job3, $wtok, { status => 'done', result => { late => 1 } }, header_token => $tok_b3);
expect_json($r, 409, undef, 'a finish of a job back in the queue');
$r = get($job3);
is($r->{json}{status}, 'queued', 'job 3 is still queued');
ok(!exists $r->{json}{result}, 'job 3 has no result');

done_testing;
