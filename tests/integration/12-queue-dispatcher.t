#!/usr/bin/perl
# The dispatcher (fcgi-app/dispatcher.c), through the queue API and psql:
# one active dispatcher per database (advisory lock), lease expiry that
# puts a job back and fails it after queue_max_attempts, job timeouts,
# result TTLs that delete the job and its store directory, callbacks that
# are signed, retried after a 500 and refused for private addresses, a
# second dispatcher standing by, a killed dispatcher restarted by the
# master, and a PostgreSQL restart survived in place.
#
# The stack's docket.conf (deploy/stack) sets dispatch_interval_ms = 100
# and callback_allow_nets = 127.0.0.2/32: receivers listen on 127.0.0.2,
# while 127.0.0.1, 10.x and every other private address stay refused.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use POSIX qw(WNOHANG);
use Socket qw(getaddrinfo getnameinfo NI_NUMERICHOST NIx_NOSERV SOCK_STREAM);
use Time::HiRes qw(time sleep);
use DocketTest;
use CallbackReceiver;

my $RUN = 'dsp' . $$ . 'x' . int(rand(1e6));
sub qn { "$RUN-$_[0]" }
my ($tok) = new_user_token('dispatcher');

# ---- helpers -------------------------------------------------------------------

sub conf {
    my ($key) = @_;
    my $v;
    open(my $fh, '<', $ENV{DOCKET_CONFIG}) or die "read $ENV{DOCKET_CONFIG}: $!";
    while (my $l = <$fh>) {
        $v = $1 if $l =~ /^\s*\Q$key\E\s*=\s*"?(.*?)"?\s*$/;
    }
    return $v;
}
my $INTERVAL = (conf('dispatch_interval_ms') // 250) / 1000;
my $MAX_ATTEMPTS = conf('queue_max_attempts') // 5;
my $BACKOFF = conf('callback_backoff_base') // 2;
my $CB_KEY = conf('callback_key') // '';
diag("dispatch interval ${INTERVAL}s, queue_max_attempts $MAX_ATTEMPTS, "
     . "callback backoff ${BACKOFF}s");

sub uuid_ok {
    my ($u) = @_;
    die "not a uuid: " . ($u // 'undef') . "\n"
        unless defined $u && $u =~ /\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/;
    return $u;
}

sub enqueue {
    my ($body, %h) = @_;
    my $r = api(POST => '/api/v1/queue/jobs', token => $tok, headers => \%h,
                content => encode_json($body));
    die 'enqueue: ' . describe($r) unless $r->{status} == 202;
    return uuid_ok($r->{json}{id});
}

sub want {
    my ($q, $lease) = @_;
    return api(POST => "/api/v1/queue/want_job?queue=$q", token => $tok,
               headers => { 'X-Accepted-Timeout' => $lease });
}

sub lease_now {
    my ($q, $lease) = @_;
    my $r = wait_until(sub { my $x = want($q, $lease); $x->{status} == 200 ? $x : 0 }, 5, 0.1);
    die "no job to lease on $q\n" unless $r;
    return $r;
}

sub put_job {
    my ($id, $lease_token, $body) = @_;
    return api(PUT => "/api/v1/queue/jobs/$id", token => $tok,
               headers => { 'X-Accepted-Lease-Token' => $lease_token },
               content => encode_json($body));
}

sub get_job { api(GET => "/api/v1/queue/jobs/$_[0]", token => $tok) }

# The advisory lock of dispatcher.c (key 110429572130164 = 0x646f636b6574:
# classid 0x646f, objid 0x636b6574, objsubid 1 for a bigint key).
sub lock_holders {
    my $out = sql_value("SELECT coalesce(a.application_name, '?') FROM pg_locks l "
        . "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        . "WHERE l.locktype = 'advisory' AND l.granted "
        . "AND l.classid = 25711 AND l.objid = 1667982708 AND l.objsubid = 1");
    return grep { length } split /\n/, $out;
}

sub dispatchers { grep { proc_comm($_) eq 'docketd-disp' } docketd_children($_[0]) }

# ---- one dispatcher, holding the lock, not holding the listener ---------------

my $master = docketd_master();
my @disp = dispatchers($master);
is(scalar @disp, 1, "docketd's master ($master) has one dispatcher child (docketd-disp)")
    or BAIL_OUT('no dispatcher: is dispatcher = 1?');
my $disp = $disp[0];
my @h = lock_holders();
is_deeply(\@h, ['docket-dispatcher'], 'exactly one session holds the dispatcher lock: docket-dispatcher');
ok(wait_until(sub { sql_value("SELECT count(*) FROM pg_stat_activity "
                        . "WHERE application_name = 'docket-callbacks'") >= 1 }, 5),
   'the callback thread has its own connection (docket-callbacks)');
{
    # The FastCGI socket's inode, from /proc/net/unix, is not among the
    # dispatcher's descriptors.
    my $sock = "$ENV{DOCKET_DIR}/run/docketd.sock";
    my ($inode) = map { (split ' ')[6] } grep { /\s\Q$sock\E$/ } do {
        open(my $fh, '<', '/proc/net/unix') or die; <$fh> };
    my @fds = map { readlink($_) // '' } glob("/proc/$disp/fd/*");
    ok(defined $inode && !grep({ $_ eq "socket:[$inode]" } @fds),
       'the dispatcher does not hold the listening socket')
        or diag("inode " . ($inode // 'none') . "; fds: @fds");
}

# ---- lease expiry -----------------------------------------------------------------

{
    my $q = qn('lease');
    my $id = enqueue({ queue => $q, params => { what => 'lease expiry' } });
    my ($t_prev, $token);
    for my $n (1 .. $MAX_ATTEMPTS) {
        my $r = lease_now($q, 1);
        my $t = time;
        is($r->{json}{id}, $id, "lease $n of $MAX_ATTEMPTS: the job is leased");
        is(sql_value("SELECT attempts FROM jobs WHERE uuid = '$id'"), $n - 1,
           "lease $n: attempts = " . ($n - 1));
        if (defined $t_prev) {
            my $gap = $t - $t_prev;
            ok($gap >= 0.9 && $gap <= 1 + $INTERVAL + 1.2,
               sprintf('lease %d: leasable again %.2f s after the 1 s lease was taken', $n, $gap));
        }
        if (defined $token) {
            my $stale = put_job($id, $token, { status => 'done', result => {} });
            is($stale->{status}, 409, "lease $n: the expired lease's token is refused (409)");
        }
        $token = $r->{json}{lease_token};
        $t_prev = $t;
    }
    my $g = wait_until(sub { my $x = get_job($id); $x->{json} && $x->{json}{status} eq 'failed' ? $x : 0 },
                       1 + $INTERVAL + 3, 0.1);
    ok($g, "after $MAX_ATTEMPTS expired leases the job fails");
    is($g && $g->{json}{error}, "lease expired $MAX_ATTEMPTS times", 'and its error says why');
    is(sql_value("SELECT attempts FROM jobs WHERE uuid = '$id'"), $MAX_ATTEMPTS, "attempts = $MAX_ATTEMPTS");
    is(want($q, 1)->{status}, 204, 'a failed job is not leased again');
}

# ---- job timeout ------------------------------------------------------------------

{
    my $q = qn('timeout');
    my $id = enqueue({ queue => $q, params => {} }, 'X-Accepted-Job-Timeout' => 1);
    my $r = lease_now($q, 60);
    my $t0 = time;
    sleep 0.4;
    is(put_job($id, $r->{json}{lease_token}, { status => 'running' })->{status}, 200,
       'job timeout: a heartbeat is accepted');
    my $g = wait_until(sub { my $x = get_job($id); $x->{json} && $x->{json}{status} eq 'failed' ? $x : 0 },
                       1 + $INTERVAL + 3, 0.1);
    ok($g, sprintf('a running job past its 1 s timeout fails (after %.2f s), heartbeats or not', time - $t0));
    like($g && $g->{json}{error}, qr/\Ajob timeout: still running after /, 'its error says job timeout');
    is(put_job($id, $r->{json}{lease_token}, { status => 'done', result => {} })->{status}, 409,
       'its worker can no longer finish it (409)');
}

# ---- result TTL ---------------------------------------------------------------------

{
    my $q = qn('ttl');
    my $id = enqueue({ queue => $q, params => {} }, 'X-Accepted-Result-TTL' => 1);
    my $r = lease_now($q, 60);
    # A store directory for the job, owned like docketd's files, so the
    # dispatcher (running as the stack's user) can remove it.
    my $dir = store_dir() . "/$id";
    make_path("$dir/results");
    open(my $fh, '>', "$dir/results/out.full.json") or die "write: $!";
    print {$fh} "{}\n";
    close $fh;
    my ($uid, $gid) = (getpwnam($ENV{DOCKET_RUN_AS} // '') )[2, 3];
    chown($uid, $gid, $dir, "$dir/results", "$dir/results/out.full.json") if defined $uid && $> == 0;
    my $fin = put_job($id, $r->{json}{lease_token}, { status => 'done', result => { v => 1 } });
    is($fin->{status}, 200, 'result TTL: the job is finished');
    my $t0 = time;
    my $gone = wait_until(sub { get_job($id)->{status} == 404 }, 1 + $INTERVAL + 3, 0.1);
    ok($gone, sprintf('a job past its 1 s result TTL is gone: GET answers 404 (after %.2f s)', time - $t0));
    is(sql_value("SELECT count(*) FROM jobs WHERE uuid = '$id'"), 0, 'its row is deleted');
    ok(wait_until(sub { !-e $dir }, 2), "its store directory $dir is removed");
}

# ---- callbacks: delivered and signed --------------------------------------------

like($CB_KEY, qr/\A[0-9a-f]{64,128}\z/, 'the stack has a callback_key');

sub check_signature {
    my ($req, $name) = @_;
    my $sig = $req->{headers}{'x-docket-signature'} // '';
    my ($t, $v1) = $sig =~ /\At=(\d+),v1=([0-9a-f]{64})\z/;
    ok(defined $t, "$name: X-Docket-Signature is t=<unix time>,v1=<hex>") or diag("got '$sig'");
    is($v1, hmac_sha256_hex("$t.$req->{body}", pack('H*', $CB_KEY)),
       "$name: v1 is HMAC-SHA256(callback_key, \"<t>.<body>\")");
    ok(defined $t && abs($t - $req->{at}) < 30, "$name: t is the time of sending");
}

{
    my $rx = CallbackReceiver->start(addr => '127.0.0.2', statuses => [200]);
    my $q = qn('cb');
    my $url = $rx->url('/hook/ok?src=docket');
    my $id = enqueue({ queue => $q, params => { p => 1 } }, 'X-Accepted-Callback-URL' => $url);
    my $r = lease_now($q, 60);
    my $fin = put_job($id, $r->{json}{lease_token}, { status => 'done', result => { answer => 42 } });
    is($fin->{status}, 200, 'callback: the job is finished');
    my $t0 = time;
    ok($rx->wait_for(1, 5), sprintf('the callback arrives (after %.2f s)', time - $t0));
    my @req = $rx->requests;
    is(scalar @req, 1, 'exactly one request');
    my $req = $req[0] // { headers => {} };
    my $cbid = sql_value("SELECT id FROM callbacks WHERE job_uuid = '$id'");
    is($req->{method}, 'POST', 'method POST');
    is($req->{target}, '/hook/ok?src=docket', 'to the path and query given');
    is($req->{headers}{'content-type'}, 'application/json', 'Content-Type: application/json');
    is($req->{headers}{'user-agent'}, 'docket-dispatcher', 'User-Agent: docket-dispatcher');
    is($req->{headers}{'x-docket-job'}, $id, 'X-Docket-Job: the job uuid');
    is($req->{headers}{'x-docket-attempt'}, 1, 'X-Docket-Attempt: 1');
    is($req->{headers}{'x-docket-delivery'}, $cbid, "X-Docket-Delivery: the callback id ($cbid)");
    ok(!exists $req->{headers}{expect}, 'no Expect: 100-continue');
    my $body = eval { decode_json($req->{body}) };
    is_deeply($body, $fin->{json}, 'the body is the finished job, as PUT answered it');
    is_deeply($body, get_job($id)->{json}, 'and as GET answers it');
    check_signature($req, 'callback');
    ok(wait_until(sub { sql_value("SELECT delivered_at IS NOT NULL AND failed_at IS NULL AND attempts = 1 "
                            . "FROM callbacks WHERE id = $cbid") eq 't' }, 3),
       'the outbox row is delivered after 1 attempt');
    is(sql_value("SELECT attempt || ':' || coalesce(http_status::text, '-') || ':' || coalesce(error, '-') "
           . "FROM callback_attempts WHERE callback_id = $cbid ORDER BY attempt"),
       '1:200:-', 'callback_attempts records it: attempt 1, HTTP 200');
    $rx->stop;
}

# ---- callbacks: retried after a 500 ------------------------------------------

{
    my $rx = CallbackReceiver->start(addr => '127.0.0.2', statuses => [500, 200]);
    my $q = qn('cbretry');
    my $id = enqueue({ queue => $q, params => { p => 2 } }, 'X-Accepted-Callback-URL' => $rx->url('/retry'));
    my $r = lease_now($q, 60);
    my $fin = put_job($id, $r->{json}{lease_token}, { status => 'failed', result => { why => 'test' } });
    is($fin->{status}, 200, 'retry: the job is finished (failed)');
    ok($rx->wait_for(2, $BACKOFF + $INTERVAL + 6), 'the callback is sent twice: after a 500, again');
    my @req = $rx->requests;
    is(scalar @req, 2, 'exactly two requests');
    my $cbid = sql_value("SELECT id FROM callbacks WHERE job_uuid = '$id'");
    is_deeply([map { $_->{headers}{'x-docket-attempt'} } @req], [1, 2], 'X-Docket-Attempt 1, then 2');
    is_deeply([map { $_->{headers}{'x-docket-delivery'} } @req], [$cbid, $cbid], 'one delivery id for both');
    is($req[1]{body}, $req[0]{body}, 'the same body both times');
    is_deeply(eval { decode_json($req[1]{body}) }, $fin->{json}, 'the body is the finished job');
    ok(@req == 2 && $req[1]{at} - $req[0]{at} >= $BACKOFF - 0.5,
       sprintf('the retry waits the backoff (%s s): %.2f s', $BACKOFF,
               @req == 2 ? $req[1]{at} - $req[0]{at} : -1));
    check_signature($req[1], 'retry') if @req == 2;
    ok(wait_until(sub { sql_value("SELECT delivered_at IS NOT NULL AND attempts = 2 AND last_error IS NULL "
                            . "FROM callbacks WHERE id = $cbid") eq 't' }, 3),
       'the outbox row is delivered after 2 attempts');
    is(sql_value("SELECT string_agg(attempt || ':' || coalesce(http_status::text, '-') || ':' "
           . "|| coalesce(error, '-'), ' ' ORDER BY attempt) FROM callback_attempts WHERE callback_id = $cbid"),
       '1:500:- 2:200:-', 'callback_attempts: 1 -> HTTP 500, 2 -> HTTP 200');
    $rx->stop;
}

# ---- callbacks: private addresses ------------------------------------------------

{
    # At enqueue: a literal private address or localhost is a 400.
    my $rx = CallbackReceiver->start(addr => '127.0.0.1', statuses => [200]);
    my $port = $rx->port;
    for my $url ("http://127.0.0.1:$port/", 'http://10.1.2.3/', 'http://[::1]:8080/',
                 "http://localhost:$port/", 'http://169.254.169.254/latest/meta-data/',
                 'http://[::ffff:127.0.0.1]/') {
        my $r = api(POST => '/api/v1/queue/jobs', token => $tok,
                    headers => { 'X-Accepted-Callback-URL' => $url },
                    content => encode_json({ queue => qn('priv'), params => {} }));
        is($r->{status}, 400, "enqueue with callback $url: 400");
        like($r->{json} && $r->{json}{message}, qr/private address/, '  saying it is a private address');
    }

    # At delivery: outbox rows the enqueue check never saw (a rule that
    # changed, a row written by other means) are refused without connecting.
    my %want = (
        "http://127.0.0.1:$port/direct"         => 'refused: 127.0.0.1 is a private address',
        "http://[::ffff:127.0.0.1]:$port/mapped" => 'refused: ::ffff:127.0.0.1 is a private address',
        "http://10.255.255.1:$port/ten"         => 'refused: 10.255.255.1 is a private address',
    );
    # A host name that resolves to loopback passes the enqueue check and is
    # refused at delivery: this host's own name, when it resolves so.
    my $host = `hostname`;
    chomp $host;
    my ($err, @ai) = getaddrinfo($host, undef, { socktype => SOCK_STREAM });
    my @addrs = map { (getnameinfo($_->{addr}, NI_NUMERICHOST, NIx_NOSERV))[1] } @ai;
    my $name_id;
    if (!$err && @addrs && $host =~ /\A[A-Za-z0-9.-]+\z/ && !grep { !/\A(?:127\.|::1\z)/ } @addrs) {
        my $id = enqueue({ queue => qn('cbname'), params => {} },
                         'X-Accepted-Callback-URL' => "http://$host:$port/name");
        pass("a callback to host name $host (resolving to @addrs) is accepted at enqueue");
        my $r = lease_now(qn('cbname'), 60);
        is(put_job($id, $r->{json}{lease_token}, { status => 'done', result => {} })->{status}, 200,
           'and its job finished');
        $name_id = sql_value("SELECT id FROM callbacks WHERE job_uuid = '$id'");
    }
    my %ids;
    for my $url (sort keys %want) {
        (my $q = $url) =~ s/'/''/g;
        $ids{$url} = sql_value("INSERT INTO callbacks (job_uuid, url, payload) "
                         . "VALUES (gen_random_uuid(), '$q', '{}') RETURNING id");
    }
    $ids{"http://$host:$port/name"} = $name_id if defined $name_id;
    for my $url (sort keys %ids) {
        my $id = $ids{$url};
        ok(wait_until(sub { sql_value("SELECT failed_at IS NOT NULL AND delivered_at IS NULL "
                                . "FROM callbacks WHERE id = $id") eq 't' }, 5),
           "$url: the callback fails at once (failed_at set)");
        my $row = sql_value("SELECT attempt || '|' || coalesce(http_status::text, '-') || '|' || coalesce(error, '-') "
                      . "FROM callback_attempts WHERE callback_id = $id");
        if (exists $want{$url}) {
            is($row, "1|-|$want{$url}", "$url: one attempt recorded, no HTTP status, the refusal");
        } else {
            like($row, qr/\A1\|-\|refused: (?:127\.[0-9.]+|::1) is a private address\z/,
                 "$url: one attempt recorded, refused as private");
        }
    }
    sleep $INTERVAL * 3;
    is(scalar(my @got = $rx->requests), 0, 'no request reached the receiver on 127.0.0.1');
    $rx->stop;
}

# ---- a second dispatcher stands by; a killed one is restarted --------------------

{
    my $tmp = tempdir(CLEANUP => 1);
    chmod 0755, $tmp;
    my $sock = "$tmp/docketd.sock";
    my $log = "$ENV{DOCKET_DIR}/log/docketd-standby.log";
    # A fresh log: lines of an earlier run must not count.
    open(my $trunc, '>', $log) or die "write $log: $!";
    close $trunc;
    my $pid = start_docketd($sock, $log);
    my $standby_logged = sub {
        open(my $fh, '<', $log) or return 0;
        return scalar grep { /dispatcher standing by/ } <$fh>;
    };
    ok(wait_until($standby_logged, 10), 'a second docketd starts; its dispatcher stands by (log)');
    my @second = dispatchers($pid);
    is(scalar @second, 1, 'the second docketd has its dispatcher too');
    is_deeply([lock_holders()], ['docket-dispatcher'], 'still exactly one lock holder');
    sleep 1.5;
    is($standby_logged->(), 1, 'standing by is logged once, not every retry');

    ok(kill('KILL', $disp), "kill -9 the active dispatcher ($disp)");
    my @new;
    ok(wait_until(sub { @new = grep { $_ != $disp } dispatchers($master); scalar @new }, 5),
       'the master starts a new dispatcher') or diag('children: ' . join ' ', dispatchers($master));
    ok(wait_until(sub { my @x = lock_holders(); @x == 1 && $x[0] eq 'docket-dispatcher' }, 5),
       'one dispatcher holds the lock again (the new one or the second)');

    my $t0 = time;
    kill 'TERM', $pid;
    my $gone = wait_until(sub { waitpid($pid, WNOHANG) == $pid }, 10, 0.05);
    my $took = time - $t0;
    ok($gone && $took < 3, sprintf('the second docketd stops on SIGTERM, dispatcher included, in %.2f s', $took));
    is($? >> 8, 0, 'and exits 0') if $gone;
    ok(!kill(0, $second[0]), "its dispatcher ($second[0]) is gone") if @second;
    ok(wait_until(sub { my @x = lock_holders(); @x == 1 && $x[0] eq 'docket-dispatcher' }, 5),
       'the stack\'s dispatcher holds the lock');
    $disp = (dispatchers($master))[0];

    # And it works: a lease still expires.
    my $q = qn('after');
    my $id = enqueue({ queue => $q, params => {} });
    lease_now($q, 1);
    ok(lease_now($q, 1)->{json}{id} eq $id, 'the restarted dispatcher puts an expired lease back');
}

# ---- a PostgreSQL restart -------------------------------------------------------

{
    stack_cmd('restart-db');
    ok(wait_until(sub { my @x = eval { lock_holders() }; @x == 1 && $x[0] eq 'docket-dispatcher' }, 15),
       'after a PostgreSQL restart the dispatcher reconnects and takes the lock');
    is_deeply([dispatchers($master)], [$disp], 'the same dispatcher process, not a restarted one');
    my $q = qn('afterdb');
    my $id = wait_until(sub { eval { enqueue({ queue => $q, params => {} }, 'X-Accepted-Result-TTL' => 1) } }, 10);
    my $r = lease_now($q, 60);
    put_job($id, $r->{json}{lease_token}, { status => 'done', result => {} });
    ok(wait_until(sub { get_job($id)->{status} == 404 }, 1 + $INTERVAL + 4), 'and sweeps again (result TTL)');
}

done_testing;
