package DocketFCGI;
# A minimal FastCGI client (responder role) for tests that talk to a docketd
# directly, without nginx: enough of the protocol to send one request with
# params and an empty body and read the whole response.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Exporter 'import';
our @EXPORT_OK = qw(fcgi_connect fcgi_request);

use constant { BEGIN_REQUEST => 1, END_REQUEST => 3, PARAMS => 4,
               FCGI_STDIN => 5, FCGI_STDOUT => 6, RESPONDER => 1 };

# fcgi_connect(PATH) for a unix socket, fcgi_connect('tcp:HOST:PORT') for TCP.
sub fcgi_connect {
    my ($where) = @_;
    if ($where =~ /\Atcp:(.+):(\d+)\z/) {
        return IO::Socket::INET->new(PeerAddr => $1, PeerPort => $2, Proto => 'tcp');
    }
    return IO::Socket::UNIX->new(Type => IO::Socket::SOCK_STREAM(), Peer => $where);
}

sub _record {
    my ($type, $content) = @_;
    my $len = length $content;
    my $pad = (8 - $len % 8) % 8;
    return pack('CCnnCC', 1, $type, 1, $len, $pad, 0) . $content . ("\0" x $pad);
}

sub _nv_len {
    my ($n) = @_;
    return $n < 128 ? pack('C', $n) : pack('N', $n | 0x80000000);
}

# Send one request on an already connected socket; returns the raw CGI-style
# response (headers, blank line, body) or undef if the connection broke.
sub fcgi_request {
    my ($sock, %params) = @_;
    my $nv = '';
    for my $k (sort keys %params) {
        $nv .= _nv_len(length $k) . _nv_len(length $params{$k}) . $k . $params{$k};
    }
    # flags = FCGI_KEEP_CONN, as nginx sends with fastcgi_keep_conn on.
    my $out = _record(BEGIN_REQUEST, pack('nCx5', RESPONDER, 1))
            . _record(PARAMS, $nv) . _record(PARAMS, '') . _record(FCGI_STDIN, '');
    syswrite($sock, $out) == length $out or return undef;

    my $response = '';
    while (1) {
        my $hdr = _read_exact($sock, 8) // return undef;
        my ($ver, $type, $id, $len, $pad) = unpack('CCnnC', $hdr);
        my $body = _read_exact($sock, $len + $pad) // return undef;
        $body = substr($body, 0, $len);
        $response .= $body if $type == FCGI_STDOUT;
        return $response if $type == END_REQUEST;
    }
}

sub _read_exact {
    my ($sock, $n) = @_;
    my $buf = '';
    while (length $buf < $n) {
        my $got = sysread($sock, $buf, $n - length $buf, length $buf);
        return undef unless $got;
    }
    return $buf;
}

1;
