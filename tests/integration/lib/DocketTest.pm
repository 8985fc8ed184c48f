package DocketTest;

# Helpers for the docket HTTP integration tests (Perl TAP, run by prove).
#
# The tests run against a live stack (nginx + docketd + PostgreSQL) whose
# environment the runner exports:
#   DOCKET_DIR, DOCKET_CONFIG, DOCKET_BASE_URL (https://127.0.0.1:PORT),
#   DOCKET_ADMIN_TOKEN, DOCKET_CTL (docketctl binary), DOCKET_CA (the
#   stack's CA / self-signed certificate), PGHOST/PGPORT/PGDATABASE/PGUSER,
#   optionally DOCKET_AUTH_CACHE_TTL (seconds, default 2).
#
# Only core Perl modules plus IO::Socket::SSL.  Every helper fails loudly
# (dies with the details) on a condition that is not what the test is about:
# a missing variable, a connection that cannot be made, a docketctl that
# exits non-zero.  All test files share one database, so every user name is
# unique per process and run (see unique_name).

use strict;
use warnings;

use Exporter 'import';
use Carp qw(croak confess);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Find ();
use File::Spec;
use File::Temp ();
use HTTP::Tiny;
use IO::Socket::SSL ();
use JSON::PP ();
use POSIX ();
use Test::More ();
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

our @EXPORT = qw(
    api request fetch_url ctl ctl_result run_cmd
    new_user_token token_for_user unique_name add_job finish_job job_objects
    wait_until env_required base_url admin_token auth_cache_ttl
    store_dir count_files repo_root stack_cmd user_id_of sql_value sql_lines
    expect_json expect_error is_json_ct header describe
    decode_json encode_json parse_utc_date png_bytes
    fresh_connection docketd_master proc_comm docketd_children start_docketd
);

my $JSON = JSON::PP->new->utf8->canonical;

sub decode_json { $JSON->decode($_[0]) }
sub encode_json { $JSON->encode($_[0]) }

# ---------------------------------------------------------------------------
# Environment

# env_required(NAME): the value of $ENV{NAME}; dies when it is unset or empty.
sub env_required {
    my ($name) = @_;
    my $v = $ENV{$name};
    confess "environment variable $name is not set: run the integration "
        . "tests under the stack's environment (set -a; . DIR/env; set +a)"
        unless defined $v && length $v;
    return $v;
}

# Checked when the module loads, so a file run outside the stack fails at once.
for my $v (qw(DOCKET_DIR DOCKET_CONFIG DOCKET_BASE_URL DOCKET_ADMIN_TOKEN
              DOCKET_CTL DOCKET_CA)) {
    env_required($v);
}
-r $ENV{DOCKET_CA}  or die "DOCKET_CA=$ENV{DOCKET_CA} is not readable\n";
-x $ENV{DOCKET_CTL} or die "DOCKET_CTL=$ENV{DOCKET_CTL} is not executable\n";

sub base_url {
    my $b = env_required('DOCKET_BASE_URL');
    $b =~ s{/+\z}{};
    return $b;
}

sub admin_token { env_required('DOCKET_ADMIN_TOKEN') }

# auth_cache_ttl(): nginx's auth cache TTL in seconds (the runner uses 2 s).
# Accepts "2" or "2s".
sub auth_cache_ttl {
    my $v = $ENV{DOCKET_AUTH_CACHE_TTL};
    return 2 unless defined $v && length $v;
    $v =~ /\A\s*(\d+)\s*s?\s*\z/ or die "DOCKET_AUTH_CACHE_TTL=$v: not a number of seconds\n";
    return $1;
}

# repo_root(): the checkout holding this file (tests/integration/lib/..).
sub repo_root {
    my $here = dirname(abs_path(__FILE__));
    return abs_path("$here/../../..");
}

# stack_cmd(SUBCOMMAND): runs `deploy/stack SUBCOMMAND --dir $DOCKET_DIR`;
# dies on failure, returns stdout.
sub stack_cmd {
    my ($sub) = @_;
    my $stack = $ENV{DOCKET_STACK} // repo_root() . '/deploy/stack';
    -x $stack or die "$stack is not executable\n";
    my ($rc, $out, $err) = run_cmd($stack, $sub, '--dir', env_required('DOCKET_DIR'));
    die "deploy/stack $sub failed (exit $rc)\nstdout: $out\nstderr: $err\n" if $rc;
    return $out;
}

# store_dir(): the file store root: store_dir from DOCKET_CONFIG (or its
# DOCKET_STORE_DIR override), else $DOCKET_DIR/store.  Dies if it is not a
# directory.
sub store_dir {
    my $dir = $ENV{DOCKET_STORE_DIR};
    if (!defined $dir && open(my $fh, '<', $ENV{DOCKET_CONFIG})) {
        while (my $line = <$fh>) {
            $line =~ s/#.*//;
            if ($line =~ /^\s*store_dir\s*=\s*(.*?)\s*$/) { $dir = $1 }
        }
        close $fh;
    }
    $dir //= "$ENV{DOCKET_DIR}/store";
    -d $dir or die "store directory $dir does not exist\n";
    return $dir;
}

# count_files(DIR): number of plain files below DIR (0 if DIR is missing).
sub count_files {
    my ($dir) = @_;
    return 0 unless -d $dir;
    my $n = 0;
    File::Find::find({ wanted => sub { $n++ if -f $_ }, no_chdir => 1 }, $dir);
    return $n;
}

# ---------------------------------------------------------------------------
# Commands

# run_cmd(@argv): runs argv (no shell), stdin from /dev/null.
# Returns (exit status, stdout, stderr); exit status is 128+signal if killed.
sub run_cmd {
    my @cmd = @_;
    my $out = File::Temp->new;
    my $err = File::Temp->new;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>&', $out) or POSIX::_exit(126);
        open(STDERR, '>&', $err) or POSIX::_exit(126);
        { exec { $cmd[0] } @cmd; }
        print STDERR "exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    waitpid($pid, 0) == $pid or die "waitpid: $!";
    my $st = $?;
    my $rc = ($st & 127) ? 128 + ($st & 127) : $st >> 8;
    my $slurp = sub {
        my ($fh) = @_;
        open(my $in, '<', $fh->filename) or die "read $fh: $!";
        local $/;
        my $s = <$in> // '';
        close $in;
        return $s;
    };
    return ($rc, $slurp->($out), $slurp->($err));
}

# ctl_result(@args): runs `docketctl -c $DOCKET_CONFIG @args`;
# returns (exit status, stdout, stderr) without judging them.
sub ctl_result {
    my @args = @_;
    return run_cmd(env_required('DOCKET_CTL'), '-c', env_required('DOCKET_CONFIG'), @args);
}

# ctl(@args): as ctl_result, but dies (with stderr) unless docketctl exits 0;
# returns stdout with surrounding white space removed.
sub ctl {
    my @args = @_;
    my ($rc, $out, $err) = ctl_result(@args);
    die "docketctl @args: exit $rc\nstderr: $err\nstdout: $out\n" if $rc;
    $out =~ s/\A\s+//;
    $out =~ s/\s+\z//;
    return $out;
}

my $counter = 0;

# unique_name(BASE): a user/job name unique across test files, processes and
# runs sharing one database, valid for users.name ([A-Za-z0-9._@-], <= 64).
sub unique_name {
    my ($base) = @_;
    $base //= 'u';
    $base =~ s/[^A-Za-z0-9._-]//g;
    $base = substr($base, 0, 20);
    $counter++;
    return sprintf('%s-%d-%d-%d-%04d', $base, $$, int(time), $counter, int(rand 10000));
}

# new_user_token(NAME, admin => 1, email => ADDR, ttl => SECONDS):
# creates a new user with a unique name derived from NAME and a token for it.
# Scalar context: the token.  List context: (token, user name).
sub new_user_token {
    my ($name, %o) = @_;
    my $user = unique_name($name);
    my @args = ('token', 'create', $user);
    push @args, '--admin' if $o{admin};
    push @args, '--email', $o{email} if defined $o{email};
    push @args, '--ttl', $o{ttl} if defined $o{ttl};
    my $token = ctl(@args);
    die "docketctl token create printed no token or more than one line: '$token'\n"
        if $token eq '' || $token =~ /\s/;
    return wantarray ? ($token, $user) : $token;
}

# token_for_user(USER, %opts): another token for an existing user.
sub token_for_user {
    my ($user, %o) = @_;
    my @args = ('token', 'create', $user);
    push @args, '--ttl', $o{ttl} if defined $o{ttl};
    push @args, '--email', $o{email} if defined $o{email};
    return ctl(@args);
}

# A valid 1x1 PNG (so the bytes look like what their extension says).
sub png_bytes {
    return pack('H*',
        '89504e470d0a1a0a0000000d4948445200000001000000010806000000'
      . '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b3d3'
      . '900000000049454e44ae426082');
}

my @keep_tmp;    # temp dirs live until the process exits

sub _tmpdir {
    my $d = File::Temp->newdir('docket-itest-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, "$d";    # readable by docketctl if it changes user
    push @keep_tmp, $d;
    return "$d";
}

sub _write_file {
    my ($path, $bytes) = @_;
    open(my $fh, '>:raw', $path) or die "write $path: $!";
    print {$fh} $bytes;
    close $fh or die "close $path: $!";
    chmod 0644, $path;
}

# add_job(user => USER, name => NAME, files => [...]):
# runs `docketctl job add`.  Each element of files is either a file name
# (content generated: "content of NAME ..." ), [NAME, BYTES], or a path to an
# existing file.  Returns { id, user, name, files => [{name, path, content,
# size}], total_size }.  NAME defaults to a unique name.
sub add_job {
    my (%o) = @_;
    my $user = $o{user} // croak 'add_job: user => is required';
    my $name = $o{name} // unique_name('job');
    my $files = $o{files} // ['file.txt'];
    my $dir = _tmpdir();
    my (@paths, @info);
    my $i = 0;
    for my $f (@$files) {
        my ($fname, $bytes, $path);
        if (ref $f eq 'ARRAY') {
            ($fname, $bytes) = @$f;
        } elsif ($f =~ m{/} && -f $f) {
            $path = $f;
            ($fname) = $f =~ m{([^/]+)\z};
            open(my $fh, '<:raw', $f) or die "read $f: $!";
            local $/;
            $bytes = <$fh>;
        } else {
            $fname = $f;
            $bytes = "content of $fname in $name #" . $i . " " . ('x' x (17 * ($i + 1))) . "\n";
        }
        $i++;
        unless (defined $path) {
            my $sub = "$dir/$i";    # one directory per file: names may repeat
            mkdir $sub or die "mkdir $sub: $!";
            chmod 0755, $sub;
            $path = "$sub/$fname";
            _write_file($path, $bytes);
        }
        push @paths, $path;
        push @info, { name => $fname, path => $path, content => $bytes, size => length $bytes };
    }
    my $id = ctl('job', 'add', '--user', $user, '--name', $name, @paths);
    $id =~ /\A[1-9][0-9]*\z/ or die "docketctl job add printed '$id', not a job id\n";
    my $total = 0;
    $total += $_->{size} for @info;
    return { id => $id, user => $user, name => $name, files => \@info, total_size => $total };
}

# finish_job(ID, status => success|failed,
#            results => { OBJECT_UUID => { full => BYTES, min => BYTES } },
#            failed => [OBJECT_UUID...]):
# runs `docketctl job finish`.  Returns the docketctl stdout.
sub finish_job {
    my ($id, %o) = @_;
    my @args = ('job', 'finish', $id, '--status', $o{status} // 'success');
    my $dir = _tmpdir();
    my $n = 0;
    for my $obj (sort keys %{ $o{results} || {} }) {
        for my $kind (sort keys %{ $o{results}{$obj} }) {
            my $path = "$dir/result-" . ++$n . ".$kind.json";
            _write_file($path, $o{results}{$obj}{$kind});
            push @args, '--result', "$obj:$kind=$path";
        }
    }
    push @args, map { ('--failed', $_) } @{ $o{failed} || [] };
    return ctl(@args);
}

# job_objects(TOKEN, JOB_ID): { original file name => object uuid } from
# /api/v1/jobs/get; dies unless the get answers 200 with object_uuid_names.
sub job_objects {
    my ($token, $id) = @_;
    my $r = api(GET => "/api/v1/jobs/get?job-id=$id", token => $token);
    die "get job $id: " . describe($r) unless $r->{status} == 200 && $r->{json}
        && ref $r->{json}{job_info}{object_uuid_names} eq 'HASH';
    my %names = %{ $r->{json}{job_info}{object_uuid_names} };
    my %by_name = reverse %names;
    die "job $id: duplicate original names\n" if keys %by_name != keys %names;
    return \%by_name;
}

# user_id_of(USER): the numeric users.id, read with psql from the PG* env.
# sql_value(SQL): psql's unaligned output of SQL (one value, or lines of
# '|'-separated columns), trailing white space removed; dies with the
# statement and psql's error when it fails.
sub sql_value {
    my ($sql) = @_;
    my ($rc, $out, $err) = run_cmd('psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', $sql);
    die "psql (exit $rc): $sql: $err" if $rc;
    $out =~ s/\s+\z//;
    return $out;
}

# sql_lines(SQL): the output's lines as an array ref ([] for none).
sub sql_lines {
    my $out = sql_value($_[0]);
    return length $out ? [split /\n/, $out] : [];
}

sub user_id_of {
    my ($user) = @_;
    $user =~ /\A[A-Za-z0-9][A-Za-z0-9._@-]*\z/ or die "bad user name $user\n";
    my $out = sql_value("SELECT id FROM users WHERE name = '$user'");
    $out =~ s/\s+//g;
    $out =~ /\A\d+\z/ or die "no users row for $user (psql printed '$out')\n";
    return $out;
}

# ---------------------------------------------------------------------------
# HTTP

my $http;

# HTTP::Tiny writes a request's headers and its body separately; without
# TCP_NODELAY, Nagle's algorithm holds the body until the server's delayed
# ACK, ~40 ms on every POST and PUT.
{
    package DocketTest::Tiny;
    use parent -norequire, 'HTTP::Tiny';
    use Socket qw(IPPROTO_TCP TCP_NODELAY);
    sub _open_handle {
        my $self = shift;
        my $h = $self->SUPER::_open_handle(@_);
        setsockopt($h->{fh}, IPPROTO_TCP, TCP_NODELAY, 1)
            or die "setsockopt TCP_NODELAY: $!";
        return $h;
    }
}

sub _http {
    $http //= DocketTest::Tiny->new(
        verify_SSL   => 1,
        SSL_options  => { SSL_ca_file => env_required('DOCKET_CA') },
        max_redirect => 0,
        timeout      => 30,
        agent        => 'docket-itest/1',
        keep_alive   => 1,
    );
    return $http;
}

# request(METHOD, URL, token => T, auth => raw|bearer|x-api-token|none,
#         headers => {...}, content => BYTES):
# one HTTPS request, certificate checked against DOCKET_CA.  Returns
# { status, headers (lower-case names), content, json (decoded when the
# Content-Type says JSON and the body parses, else undef), json_error,
# method, url }.  Dies if no HTTP answer arrived at all (HTTP::Tiny's 599).
sub request {
    my ($method, $url, %o) = @_;
    my %h = %{ $o{headers} || {} };
    if (defined $o{token}) {
        my $style = $o{auth} // 'raw';
        if    ($style eq 'raw')         { $h{Authorization} = $o{token} }
        elsif ($style eq 'bearer')      { $h{Authorization} = "Bearer $o{token}" }
        elsif ($style eq 'x-api-token') { $h{'X-Api-Token'} = $o{token} }
        elsif ($style eq 'none')        { }
        else                            { croak "unknown auth style '$style'" }
    }
    my %args = (headers => \%h);
    if (defined $o{content}) {
        $args{content} = $o{content};
    } elsif ($method =~ /\A(?:POST|PUT|PATCH)\z/) {
        $args{content} = '';
        $h{'Content-Length'} = 0;
    }
    my $r = _http()->request($method, $url, \%args);
    if ($r->{status} == 599) {
        die "no HTTP answer for $method $url: $r->{content}\n";
    }
    my $res = {
        status  => $r->{status},
        headers => $r->{headers} || {},
        content => $r->{content} // '',
        method  => $method,
        url     => $url,
    };
    if (is_json_ct($res)) {
        my $j = eval { $JSON->decode($res->{content}) };
        if ($@) { $res->{json_error} = $@ } else { $res->{json} = $j }
    }
    return $res;
}

# api(METHOD, PATH_AND_QUERY, %opts): request() against DOCKET_BASE_URL.
sub api {
    my ($method, $pq, %o) = @_;
    croak "api: path must start with /" unless $pq =~ m{\A/};
    return request($method, base_url() . $pq, %o);
}

# fetch_url(ABSOLUTE_URL, HEADER => VALUE...): GET without a token.
sub fetch_url {
    my ($url, %headers) = @_;
    return request('GET', $url, headers => \%headers);
}

# header(RES, NAME): a response header (case-insensitive; multiple values
# joined with ", "), or undef.
sub header {
    my ($res, $name) = @_;
    my $v = $res->{headers}{ lc $name };
    return ref $v eq 'ARRAY' ? join(', ', @$v) : $v;
}

# is_json_ct(RES): true when the Content-Type is application/json.
sub is_json_ct {
    my ($res) = @_;
    my $ct = header($res, 'content-type') // '';
    return $ct =~ m{\Aapplication/json\s*(?:;.*)?\z}i ? 1 : 0;
}

# describe(RES): a one-screen description of a response, for diagnostics.
sub describe {
    my ($res) = @_;
    my $body = $res->{content} // '';
    $body = substr($body, 0, 600) . '...' if length $body > 600;
    $body =~ s/([^\x20-\x7e\n])/sprintf('\\x%02x', ord $1)/ge;
    my $hdrs = join '', map { "  $_: " . header($res, $_) . "\n" } sort keys %{ $res->{headers} };
    return "$res->{method} $res->{url} -> $res->{status}\n$hdrs  body: $body\n";
}

# expect_json(RES, STATUS, BODY, NAME): asserts the status, a JSON
# Content-Type, a body that parses, and (if BODY is defined) that the decoded
# body is exactly BODY.  Prints the response when any of these fail.
# Returns true if all passed.
sub expect_json {
    my ($res, $status, $body, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = 1;
    Test::More::is($res->{status}, $status, "$name: status $status") or $ok = 0;
    Test::More::ok(is_json_ct($res), "$name: Content-Type application/json") or $ok = 0;
    Test::More::ok(defined $res->{json}, "$name: body is JSON") or $ok = 0;
    if (defined $body) {
        Test::More::is_deeply($res->{json}, $body, "$name: body") or $ok = 0;
    }
    Test::More::diag(describe($res)) unless $ok;
    return $ok;
}

# expect_error(RES, STATUS, MESSAGE, AFFECTED, NAME): the seed's error body,
# {"message": MESSAGE} plus "affected_query_parameter" when AFFECTED is
# defined.
sub expect_error {
    my ($res, $status, $msg, $affected, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my %b = (message => $msg);
    $b{affected_query_parameter} = $affected if defined $affected;
    return expect_json($res, $status, \%b, $name);
}

# ---------------------------------------------------------------------------
# Misc

# wait_until(CODE, TIMEOUT_S [, INTERVAL_S]): calls CODE until it returns a
# true value (returned) or TIMEOUT_S passes (returns the last false value).
sub wait_until {
    my ($code, $timeout, $interval) = @_;
    $timeout  //= 10;
    $interval //= 0.2;
    my $end = time + $timeout;
    while (1) {
        my $v = $code->();
        return $v if $v;
        return $v if time >= $end;
        sleep $interval;
    }
}

# parse_utc_date("YYYY-MM-DD HH:MM:SS.NNNNNNNNN UTC"): epoch seconds or undef.
sub parse_utc_date {
    my ($s) = @_;
    return undef unless defined $s
        && $s =~ /\A(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.\d{9} UTC\z/;
    return eval { timegm($6, $5, $4, $3, $2 - 1, $1) };
}


# fresh_connection(): the next request opens a new HTTPS connection.  Call
# it first thing in a forked child: the kept-alive connection inherited from
# the parent is the parent's.  The old one is kept (never destroyed here), so
# no TLS close is sent on the parent's socket from the child.
my @inherited;
sub fresh_connection {
    push @inherited, $http if $http;
    undef $http;
}


# ---------------------------------------------------------------------------
# docketd processes

# docketd_master(): the stack's docketd master pid (DOCKET_DIR/run/docketd.pid);
# dies unless that process runs.
sub docketd_master {
    my $pidfile = env_required('DOCKET_DIR') . '/run/docketd.pid';
    open(my $fh, '<', $pidfile) or die "cannot read $pidfile: $!";
    my $p = <$fh> // '';
    $p =~ s/\s+//g;
    $p =~ /\A\d+\z/ or die "$pidfile holds '$p'";
    kill(0, $p) or die "docketd master $p from $pidfile is not running: $!";
    return $p;
}

# proc_comm(PID): the process's name (/proc/PID/comm), '' when it is gone.
# docketd's workers are "docketd", its dispatcher "docketd-disp".
sub proc_comm {
    my ($p) = @_;
    open(my $fh, '<', "/proc/$p/comm") or return '';
    my $c = <$fh> // '';
    chomp $c;
    return $c;
}

# docketd_children(MASTER): the master's children (workers and the
# dispatcher), sorted by pid.
sub docketd_children {
    my ($m) = @_;
    my ($rc, $out, $err) = run_cmd('pgrep', '-P', $m);
    die "pgrep -P $m: $err" if $rc > 1;
    return sort { $a <=> $b } grep { /\A\d+\z/ } split /\s+/, $out;
}

# start_docketd(SOCKET, LOG): forks a second docketd of the stack's config,
# 1 worker x 2 threads, listening on the unix socket SOCKET, its stderr
# appended to LOG and its sanitizer reports beside the stack's.  Returns
# its pid; the caller stops it.
sub start_docketd {
    my ($sock, $log) = @_;
    my $pid = fork() // die "fork: $!";
    return $pid if $pid;
    my $dir = env_required('DOCKET_DIR');
    $ENV{DOCKET_LISTEN} = "unix:$sock";
    $ENV{DOCKET_WORKERS} = 1;
    $ENV{DOCKET_THREADS} = 2;
    $ENV{ASAN_OPTIONS} = "log_path=$dir/log/asan";
    $ENV{UBSAN_OPTIONS} = "print_stacktrace=1:log_path=$dir/log/ubsan";
    open(STDERR, '>>', $log) or die "append $log: $!";
    exec("$dir/bin/docketd", '-c', env_required('DOCKET_CONFIG')) or die "exec: $!";
}

1;
