package QueueWorker;

# Queue worker and enqueuer loops for the queue integration tests
# (13-queue-concurrency.t), meant to run in forked processes, and the
# reader of the logs they write.
#
# Every process has its own HTTPS keep-alive connection (its own HTTP::Tiny,
# never the parent's: a forked child must not share the parent's TLS
# socket) and appends what it did to its own log, one line per event,
# written with one syswrite on an O_APPEND descriptor, so a kill -9 never
# leaves half a line.  Times are Time::HiRes::time() (CLOCK_REALTIME, the
# clock PostgreSQL's now() reads too, on this machine).
#
# Log lines (space separated):
#   L t_send t_recv job token expires_epoch   a lease granted (200)
#   f t_send job token                        about to send a finish
#   F t_send t_recv job token status          the finish's answer
#   E t what status                           a retried failure (502/503/599)
#   X t what status                           an unexpected answer
#   Q t_send t_recv seq status job|-          an enqueue and its answer
#   Z t                                       the loop ended (SIGTERM)

use strict;
use warnings;

use Exporter 'import';
use Fcntl qw(O_WRONLY O_APPEND O_CREAT);
use DocketTest ();   # DocketTest::Tiny: HTTP::Tiny with TCP_NODELAY
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);
use Time::Local qw(timegm);

our @EXPORT_OK = qw(client iso_epoch run_worker run_enqueuer read_log);

my $JSON = JSON::PP->new->utf8->canonical;

# client(): a fresh HTTPS client checking the stack's CA, with TCP_NODELAY
# (DocketTest::Tiny: without it each POST and PUT waits ~40 ms for a
# delayed ACK, which would make the workers 10 times slower than docketd).
sub client {
    return DocketTest::Tiny->new(
        verify_SSL   => 1,
        SSL_options  => { SSL_ca_file => $ENV{DOCKET_CA} },
        keep_alive   => 1,
        timeout      => 30,
        max_redirect => 0,
        agent        => 'docket-queue-worker/1',
    );
}

# iso_epoch("2026-11-24T09:16:15.263346+00:00"): epoch seconds (fractional),
# or undef.
sub iso_epoch {
    my ($s) = @_;
    return undef unless defined $s && $s =~
        /\A(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|([+-])(\d\d):?(\d\d))\z/;
    my $t = timegm($6, $5, $4, $3, $2 - 1, $1) + ($7 ? "0$7" : 0);
    if ($8 ne 'Z') {
        my $off = ($10 * 60 + $11) * 60;
        $t -= $9 eq '+' ? $off : -$off;
    }
    return $t;
}

sub _open_log {
    my ($path) = @_;
    sysopen(my $fh, $path, O_WRONLY | O_APPEND | O_CREAT, 0644)
        or die "open $path: $!";
    return $fh;
}

sub _log {
    my ($fh, @f) = @_;
    my $line = join(' ', map { defined $_ ? $_ : '-' } @f) . "\n";
    my $n = syswrite($fh, $line);
    die "log write: $!" unless defined $n && $n == length $line;
}

sub _ts { sprintf '%.6f', $_[0] }

sub _retryable { my ($s) = @_; return $s == 502 || $s == 503 || $s == 599 }

# run_worker(base => URL, token => T, queues => [Q...], lease => SECONDS,
#            block_for => SECONDS, log => PATH, work => [MIN_S, MAX_S]):
# leases, "works" (sleeps), and finishes done with the lease token until
# SIGTERM; the result names the worker and its lease token.  Retries
# 502/503/599 (a docketd worker killed under the request).  Never returns.
sub run_worker {
    my (%o) = @_;
    my $stop = 0;
    local $SIG{TERM} = sub { $stop = 1 };
    my $http = client();
    my $log = _open_log($o{log});
    my $q = join '&', map { "queue=$_" } @{ $o{queues} };
    my ($wmin, $wmax) = @{ $o{work} || [0.002, 0.010] };
    my %h = (Authorization => $o{token});
    while (!$stop) {
        my $t0 = time;
        my $r = $http->request('POST', "$o{base}/api/v1/queue/want_job?$q", {
            headers => { %h, 'X-Accepted-Timeout' => $o{lease},
                         'X-Accepted-Block-For' => $o{block_for} // 1 },
            content => '' });
        my $t1 = time;
        if ($r->{status} == 204) {
            next;
        } elsif (_retryable($r->{status})) {
            _log($log, 'E', _ts($t1), 'want', $r->{status});
            sleep 0.02;
            next;
        } elsif ($r->{status} != 200) {
            _log($log, 'X', _ts($t1), 'want', $r->{status});
            sleep 0.1;
            next;
        }
        my $j = eval { $JSON->decode($r->{content}) };
        my $tok = $r->{headers}{'x-accepted-lease-token'};
        if (!$j || !defined $tok || ($j->{lease_token} // '') ne $tok) {
            _log($log, 'X', _ts($t1), 'want-body', 200);
            next;
        }
        my $exp = iso_epoch($j->{lease_expires_at});
        _log($log, 'L', _ts($t0), _ts($t1), $j->{id}, $tok,
             defined $exp ? sprintf('%.6f', $exp) : '-');
        sleep $wmin + rand($wmax - $wmin);
        my $body = $JSON->encode({ status => 'done',
                                   result => { worker => $$, token => $tok } });
        for my $try (1 .. 50) {
            my $t2 = time;
            _log($log, 'f', _ts($t2), $j->{id}, $tok);
            my $u = $http->request('PUT', "$o{base}/api/v1/queue/jobs/$j->{id}", {
                headers => { %h, 'X-Accepted-Lease-Token' => $tok,
                             'Content-Type' => 'application/json' },
                content => $body });
            my $t3 = time;
            _log($log, 'F', _ts($t2), _ts($t3), $j->{id}, $tok, $u->{status});
            last unless _retryable($u->{status});
            sleep 0.02;
        }
    }
    _log($log, 'Z', _ts(time));
    POSIX::_exit(0);
}

# run_enqueuer(base => URL, token => T, queue => Q, from => N, to => M,
#              log => PATH, pause => SECONDS):
# enqueues jobs with params {"seq": N..M}, once each (an enqueue that got no
# 202 is not retried: it was not acknowledged).  Never returns.
sub run_enqueuer {
    my (%o) = @_;
    my $http = client();
    my $log = _open_log($o{log});
    for my $seq ($o{from} .. $o{to}) {
        my $t0 = time;
        my $r = $http->request('POST', "$o{base}/api/v1/queue/jobs", {
            headers => { Authorization => $o{token},
                         'Content-Type' => 'application/json' },
            content => $JSON->encode({ queue => $o{queue},
                                       params => { seq => $seq } }) });
        my $t1 = time;
        my $id = '-';
        if ($r->{status} == 202) {
            my $j = eval { $JSON->decode($r->{content}) };
            $id = $j->{id} if $j && defined $j->{id};
        }
        _log($log, 'Q', _ts($t0), _ts($t1), $seq, $r->{status}, $id);
        sleep $o{pause} if $o{pause};
    }
    _log($log, 'Z', _ts(time));
    POSIX::_exit(0);
}


# read_log(PATH): [ [fields...], ... ] of a log (missing file: empty list).
sub read_log {
    my ($path) = @_;
    open(my $fh, '<', $path) or return [];
    my @l;
    while (my $line = <$fh>) {
        chomp $line;
        push @l, [ split / /, $line ];
    }
    return \@l;
}

1;
