#!/usr/bin/perl
# The queue under concurrency and failures: several worker processes (each
# its own HTTPS keep-alive connection) drain a queue with short leases while
# another process keeps enqueuing, and meanwhile the test kill -9s queue
# workers (and starts replacements) and kill -9s docketd worker processes
# (the docketd master restarts them).  Afterwards, from the processes' logs
# and the database:
#   - every acknowledged (202) job exists, once, and is done: none lost,
#     none failed, none duplicated;
#   - every job has exactly one accepted finish, and the stored result is
#     the one of the lease that finished it;
#   - no two leases of one job overlapped in time;
#   - the job of a lease that was never finished (its worker was killed)
#     was leased again soon after that lease expired.
use strict;
use warnings;
use Test::More;
use DocketTest;
use QueueWorker qw(run_worker run_enqueuer read_log);
use File::Temp ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $JOBS     = $ENV{DOCKET_TEST_QUEUE_JOBS} // 2400;   # jobs enqueued
my $WORKERS  = 4;          # queue worker processes at any time
my $LEASE    = 2;          # X-Accepted-Timeout, seconds
my $PREFILL  = int($JOBS / 6);   # enqueued before the workers start
my $PAUSE    = 0.006;      # between two enqueues of the enqueuer: ~15 s
# How late a lost lease's job may be leased again, after the lease expired:
# the dispatcher sweeps expired leases every dispatch_interval_ms (250 ms by
# default), then the requeue's NOTIFY wakes a worker blocked in want_job, or
# the next poll takes it (a requeued job keeps its run_at, so it is at the
# head of the queue).  On top of the 0.25 s: 1 s for a loaded 2-core machine
# (sanitizer build, the kills, docketd workers being restarted).
my $DISPATCH = 0.25;
my $SLACK    = 1.0;
my $REDELIVER_TOL = $DISPATCH + $SLACK;

my $queue = 'conc-' . $$ . '-' . int(time);
my ($utok, $user) = new_user_token('qconc');
my $wtok = ctl('token', 'create', unique_name('qconc-w'), '--worker',
               '--queue', $queue);
my $base = base_url();
my $logdir = File::Temp->newdir('docket-qconc-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# ---- docketd processes ------------------------------------------------------
# The FastCGI workers among the master's children: not the dispatcher.
sub docketd_workers { grep { proc_comm($_) !~ /disp/ } docketd_children($_[0]) }
my $master = docketd_master();
my @dworkers_before = docketd_workers($master);
cmp_ok(scalar @dworkers_before, '>=', 1, "docketd has worker processes (@dworkers_before)");

# ---- processes ------------------------------------------------------------
my %wlog;        # queue worker pid -> its log
my %alive;       # queue worker pid -> 1
sub spawn_worker {
    my $path;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $path = "$logdir/worker.$$";
        run_worker(base => $base, token => $wtok, queues => [$queue],
                   lease => $LEASE, block_for => 1, log => $path,
                   work => [0.005, 0.025]);
    }
    $wlog{$pid} = "$logdir/worker.$pid";
    $alive{$pid} = 1;
    return $pid;
}
sub spawn_enqueuer {
    my ($from, $to, $pause) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        run_enqueuer(base => $base, token => $utok, queue => $queue,
                     from => $from, to => $to, pause => $pause,
                     log => "$logdir/enqueue.$$");
    }
    return $pid;
}
sub psql_rows {
    my ($sql) = @_;
    my ($rc, $out, $err) = run_cmd('psql', '-XAtq', '-F', "\t", '-v', 'ON_ERROR_STOP=1', '-c', $sql);
    die "psql failed (exit $rc): $err\n" if $rc;
    return [ map { [ split /\t/, $_, -1 ] } grep { length } split /\n/, $out ];
}

my $t_start = time;
# A first batch, so the workers have a backlog from the start.
my $pre = spawn_enqueuer(1, $PREFILL, 0);
waitpid($pre, 0);
is($?, 0, "the prefill enqueuer exited normally ($PREFILL jobs)");
my $enq = spawn_enqueuer($PREFILL + 1, $JOBS, $PAUSE);
spawn_worker() for 1 .. $WORKERS;

# ---- chaos while the enqueuer runs ------------------------------------------
my (@qkills, @dkills);   # [time, pid]
my $enq_done = 0;
my $chaos_end = time + 30;
while (!$enq_done && time < $chaos_end) {
    sleep 0.3 + rand 0.5;
    if (waitpid($enq, WNOHANG) == $enq) {
        $enq_done = 1;
        is($?, 0, 'the enqueuer exited normally');
        last;
    }
    if (rand() < 0.7) {
        my @p = sort { $a <=> $b } keys %alive;
        my $victim = $p[int rand @p];
        kill('KILL', $victim) or die "kill $victim: $!";
        push @qkills, [time, $victim];
        waitpid($victim, 0);
        delete $alive{$victim};
        spawn_worker();
    } else {
        my @d = docketd_workers($master);
        next unless @d >= 2;    # keep one serving while the other restarts
        my $victim = $d[int rand @d];
        kill('KILL', $victim) and push @dkills, [time, $victim];
    }
}
ok($enq_done, 'the enqueuer finished within 30 s') or do {
    kill('KILL', $enq);
    waitpid($enq, 0);
};
diag(sprintf 'enqueue phase: %.1f s, %d queue workers and %d docketd workers killed',
             time - $t_start, scalar @qkills, scalar @dkills);
cmp_ok(scalar @qkills, '>=', 3, 'queue workers were killed (at least 3 times)');
cmp_ok(scalar @dkills, '>=', 1, 'docketd workers were killed (at least once)');

# ---- drain -------------------------------------------------------------------
my $left;
my $drained = wait_until(sub {
    $left = psql_rows("SELECT count(*) FROM jobs WHERE queue = '$queue'"
                      . " AND state IN ('queued', 'running')")->[0][0];
    return $left == 0;
}, 40, 0.25);
ok($drained, "the queue drained within 40 s of the last enqueue (left: $left)");
diag(sprintf 'total: %.1f s', time - $t_start);
kill('TERM', $_) for keys %alive;
for my $p (keys %alive) {
    my $gone = wait_until(sub { waitpid($p, WNOHANG) == $p }, 5, 0.05);
    if (!$gone) { kill('KILL', $p); waitpid($p, 0); }
}

my $back = wait_until(sub { my @d = docketd_workers($master); @d == @dworkers_before }, 10, 0.2);
ok($back, 'the docketd master replaced its killed workers');
is(docketd_master(), $master, 'the docketd master is the same process');

# ---- what happened -------------------------------------------------------------
my (%acked, @unacked, %bad_enq);
for my $f (glob "$logdir/enqueue.*") {
    for my $l (@{ read_log($f) }) {
        next unless $l->[0] eq 'Q';
        my (undef, $t0, $t1, $seq, $st, $id) = @$l;
        if ($st == 202 && $id ne '-') { $acked{$seq} = $id }
        else {
            push @unacked, $seq;
            $bad_enq{$st}++ unless $st == 502 || $st == 503 || $st == 599;
        }
    }
}
is(scalar(keys %acked) + scalar(@unacked), $JOBS, "every enqueue was logged ($JOBS)");
is_deeply(\%bad_enq, {}, 'enqueues that got no 202 failed only with 502/503/no answer (a killed docketd worker)');
diag(sprintf '%d enqueues acknowledged, %d not', scalar keys %acked, scalar @unacked);

my $rows = psql_rows("SELECT uuid, params->>'seq', state, coalesce(result->>'token', ''),"
                     . " attempts FROM jobs WHERE queue = '$queue'");
my (%db, %seqs);
for my $r (@$rows) {
    my ($uuid, $seq, $state, $rtok, $attempts) = @$r;
    $db{$uuid} = { seq => $seq, state => $state, rtok => $rtok, attempts => $attempts };
    push @{ $seqs{$seq} }, $uuid;
}
my @lost = grep { !$db{ $acked{$_} } || $db{ $acked{$_} }{seq} ne $_ } sort { $a <=> $b } keys %acked;
is(scalar @lost, 0, 'every acknowledged job exists with its params')
    or diag "lost: @lost[0 .. ($#lost < 9 ? $#lost : 9)]";
my @dups = grep { @{ $seqs{$_} } > 1 } keys %seqs;
is(scalar @dups, 0, 'no enqueue was duplicated') or diag "duplicated seqs: @dups";
my %unacked_in_db = map { $_ => 1 } grep { $seqs{$_} } @unacked;
diag(sprintf '%d of the %d unacknowledged enqueues exist anyway',
             scalar keys %unacked_in_db, scalar @unacked);
my @notdone = grep { $db{$_}{state} ne 'succeeded' } keys %db;
is(scalar @notdone, 0, 'every job is done (none failed, none left)')
    or diag join "\n", map { "$_: $db{$_}{state}, attempts $db{$_}{attempts}" } @notdone[0 .. ($#notdone < 9 ? $#notdone : 9)];

# Leases and finishes, per job.
my %killed_at = map { $_->[1] => $_->[0] } @qkills;
my (%leases, %fin200, %fin_any);   # job -> [...]
my ($retried, $unexpected) = (0, 0);
my @bad_grant;
for my $pid (sort keys %wlog) {
    for my $l (@{ read_log($wlog{$pid}) }) {
        my $k = $l->[0];
        if ($k eq 'L') {
            my (undef, $t0, $t1, $job, $tok, $exp) = @$l;
            my $grant = $exp - $LEASE;   # the database's lease start
            # the clocks agree: the grant happened during the request
            push @bad_grant, "@$l" if $grant < $t0 - 0.005 || $grant > $t1 + 0.005;
            push @{ $leases{$job} }, { pid => $pid, tok => $tok, grant => $grant,
                                       exp => $exp + 0, t1 => $t1 };
        } elsif ($k eq 'F') {
            my (undef, $t2, $t3, $job, $tok, $st) = @$l;
            push @{ $fin_any{$job}{$tok} }, $st;
            push @{ $fin200{$job} }, { tok => $tok, t => $t3, pid => $pid } if $st == 200;
        } elsif ($k eq 'f') {
            my (undef, $t2, $job, $tok) = @$l;
            $fin_any{$job}{$tok} //= [];
        } elsif ($k eq 'E') {
            $retried++;
        } elsif ($k eq 'X') {
            $unexpected++;
            diag "unexpected answer in worker $pid: @$l";
        }
    }
}
is(scalar @bad_grant, 0, "every lease's start (lease_expires_at - $LEASE s) lies within its want_job request")
    or diag join "\n", @bad_grant[0 .. ($#bad_grant < 9 ? $#bad_grant : 9)];
is($unexpected, 0, 'the workers saw no unexpected answer');
diag("$retried requests were retried after a 502/503/no answer");

my (@twice, @nofinish, @wrong_result, @overlap, @late, @after_finish);
my ($lost_answer, $hidden_jobs, $redelivered, $redeliver_max) = (0, 0, 0, 0);
for my $job (sort keys %db) {
    my $d = $db{$job};
    my @f = @{ $fin200{$job} || [] };
    if (@f > 1) {
        push @twice, "$job: " . join(', ', map { "$_->{pid}/$_->{tok}" } @f);
    } elsif (@f == 1) {
        push @wrong_result, "$job: finished by $f[0]{tok}, result of '$d->{rtok}'"
            if $f[0]{tok} ne $d->{rtok};
    } elsif ($d->{state} eq 'succeeded') {
        # No 200 seen: the finish committed but its answer was lost (the
        # worker or the docketd worker was killed under it; the retry then
        # got 409).  The stored result must be from a finish that was sent.
        if (exists $fin_any{$job}{ $d->{rtok} }) { $lost_answer++ }
        else { push @nofinish, "$job: result token '$d->{rtok}' was never sent" }
    }
    my @ls = sort { $a->{grant} <=> $b->{grant} } @{ $leases{$job} || [] };
    # attempts counts the expired leases; more than the logged leases
    # account for means leases whose answer never reached a worker's log
    # (a docketd worker killed after the lease committed, or a queue worker
    # killed before it wrote the line).
    my $hidden = $d->{attempts} - (@ls ? @ls - 1 : 0);
    $hidden_jobs++ if $hidden > 0;
    for my $i (1 .. $#ls) {
        my ($p, $n) = @ls[$i - 1, $i];
        push @overlap, sprintf('%s: lease %s (%.3f-%.3f) then %s at %.3f',
                               $job, $p->{tok}, $p->{grant}, $p->{exp}, $n->{tok}, $n->{grant})
            unless $n->{grant} > $p->{exp};
        my $delay = $n->{grant} - $p->{exp};
        my $allowed = $REDELIVER_TOL + ($hidden > 0 ? $hidden * ($LEASE + $REDELIVER_TOL) : 0);
        push @late, sprintf('%s: leased again %.3f s after the lease of %s expired (allowed %.2f s; worker %s %s)',
                            $job, $delay, $p->{tok}, $allowed, $p->{pid},
                            exists $killed_at{ $p->{pid} } ? 'killed' : 'not killed')
            if $delay > $allowed;
        if ($hidden <= 0) {
            $redelivered++;
            $redeliver_max = $delay if $delay > $redeliver_max;
        }
    }
    if (@f == 1 && @ls && $ls[-1]{tok} ne $f[0]{tok}) {
        push @after_finish, "$job: finished with $f[0]{tok}, later leased with $ls[-1]{tok}";
    }
}
is(scalar @twice, 0, 'no job was finished (200) twice') or diag join "\n", @twice;
is(scalar @wrong_result, 0, 'the stored result is the one of the accepted finish')
    or diag join "\n", @wrong_result;
is(scalar @nofinish, 0, 'a job done without a 200 was finished by a finish whose answer was lost')
    or diag join "\n", @nofinish;
is(scalar @overlap, 0, 'no two leases of a job overlapped: each lease began after the previous one expired')
    or diag join "\n", @overlap[0 .. ($#overlap < 19 ? $#overlap : 19)];
is(scalar @after_finish, 0, 'the lease that finished a job was its last lease')
    or diag join "\n", @after_finish;
is(scalar @late, 0, sprintf('a lost lease\'s job was leased again within %.2f s of the expiry', $REDELIVER_TOL))
    or diag join "\n", @late[0 .. ($#late < 19 ? $#late : 19)];

# Leases held by a killed worker: each was taken over by another worker.
my ($held_by_killed, $taken_over) = (0, 0);
for my $job (keys %leases) {
    my @ls = sort { $a->{grant} <=> $b->{grant} } @{ $leases{$job} };
    for my $i (0 .. $#ls) {
        my $l = $ls[$i];
        next unless exists $killed_at{ $l->{pid} } && $l->{t1} < $killed_at{ $l->{pid} };
        my $finished = grep { $_->{tok} eq $l->{tok} } @{ $fin200{$job} || [] };
        next if $finished || $db{$job}{rtok} eq $l->{tok};
        $held_by_killed++;
        $taken_over++ if $i < $#ls;
    }
}
cmp_ok($held_by_killed, '>=', 1, 'some killed queue workers held a lease when killed');
is($taken_over, $held_by_killed, 'every lease held by a killed queue worker was leased again by another');
diag(sprintf '%d leases lost with a killed worker; %d re-deliveries timed, the latest %.3f s after '
             . 'the expiry; %d finishes whose answer was lost; %d jobs with unlogged leases',
             $held_by_killed, $redelivered, $redeliver_max, $lost_answer, $hidden_jobs);

done_testing;
