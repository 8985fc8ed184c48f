package CallbackReceiver;

# A small HTTP server for callback tests: a forked child that accepts on
# ADDR:PORT (a free port), answers each request with the next status of a
# script, and records every request it got (method, target, headers, body,
# time) in a file the test reads.  Core Perl only.
#
#   my $rx = CallbackReceiver->start(addr => '127.0.0.2', statuses => [500, 200]);
#   ... enqueue with X-Accepted-Callback-URL: $rx->url('/hook') ...
#   $rx->wait_for(2, 10) or fail(...);
#   my @req = $rx->requests;     # [{ method, target, headers => {lc => v}, body, at }]
#   $rx->stop;
#
# The last status repeats once the script runs out.  Connections are closed
# after each answer (Connection: close), one request per connection.

use strict;
use warnings;

use File::Temp ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->utf8->canonical;

sub start {
    my ($class, %o) = @_;
    my $addr = $o{addr} // '127.0.0.2';
    my @statuses = @{ $o{statuses} || [200] };
    my $listen = IO::Socket::INET->new(
        LocalAddr => $addr, LocalPort => 0, Listen => 16, ReuseAddr => 1,
        Proto => 'tcp',
    ) or die "CallbackReceiver: cannot listen on $addr: $@\n";
    my $log = File::Temp->new(TEMPLATE => 'docket-cbrx-XXXXXX', TMPDIR => 1);
    my $self = bless {
        addr => $addr, port => $listen->sockport, log => $log,
        logname => $log->filename, owner => $$,
    }, $class;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        my $n = 0;
        while (my $c = $listen->accept) {
            my $req = _read_request($c);
            next unless $req;
            my $status = $statuses[$n < @statuses ? $n : $#statuses];
            $n++;
            $req->{at} = time;
            $req->{status} = $status;
            if (open(my $fh, '>>', $self->{logname})) {
                print {$fh} $JSON->encode($req), "\n";
                close $fh;
            }
            print {$c} "HTTP/1.1 $status X\r\nContent-Type: text/plain\r\n"
                . "Content-Length: 2\r\nConnection: close\r\n\r\nok";
            close $c;
        }
        POSIX::_exit(0);
    }
    close $listen;
    $self->{pid} = $pid;
    return $self;
}

# One request: the request line, headers, and a Content-Length body.
sub _read_request {
    my ($c) = @_;
    local $SIG{ALRM} = sub { die "timeout\n" };
    my $req = eval {
        alarm 10;
        my $line = <$c>;
        return undef unless defined $line;
        $line =~ s/\r?\n\z//;
        my ($method, $target) = split / /, $line;
        my %h;
        while (defined(my $hl = <$c>)) {
            $hl =~ s/\r?\n\z//;
            last if $hl eq '';
            my ($k, $v) = $hl =~ /\A([^:]+):\s*(.*)\z/ or next;
            $h{ lc $k } = $v;
        }
        my $body = '';
        my $len = $h{'content-length'} // 0;
        while (length $body < $len) {
            my $got = read($c, my $chunk, $len - length $body);
            last unless $got;
            $body .= $chunk;
        }
        alarm 0;
        return { method => $method, target => $target, headers => \%h, body => $body };
    };
    alarm 0;
    return $req;
}

sub port { $_[0]{port} }
sub addr { $_[0]{addr} }

# url(PATH): http://ADDR:PORT/PATH
sub url {
    my ($self, $path) = @_;
    $path //= '/';
    return "http://$self->{addr}:$self->{port}$path";
}

# requests(): every request received so far, oldest first.
sub requests {
    my ($self) = @_;
    open(my $fh, '<', $self->{logname}) or return ();
    my @r;
    while (my $l = <$fh>) {
        chomp $l;
        push @r, $JSON->decode($l) if length $l;
    }
    return @r;
}

# wait_for(N, TIMEOUT): true once N requests came, false after TIMEOUT s.
sub wait_for {
    my ($self, $n, $timeout) = @_;
    my $end = time + ($timeout // 10);
    while (1) {
        my @r = $self->requests;
        return 1 if @r >= $n;
        return 0 if time >= $end;
        sleep 0.1;
    }
}

sub stop {
    my ($self) = @_;
    # Only the process that started it: a forked test helper exiting
    # must not take the receiver down with it.
    return unless $self->{pid} && $self->{owner} == $$;
    kill 'TERM', $self->{pid};
    waitpid($self->{pid}, 0);
    delete $self->{pid};
}

sub DESTROY { $_[0]->stop }

1;
