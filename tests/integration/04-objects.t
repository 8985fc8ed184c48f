#!/usr/bin/perl
# GET /api/v1/jobs/get-object-url and the presigned /objects/ downloads:
# good, ranged, HEAD, expired, tampered, another job's path, traversal,
# and every parameter error row.
use strict;
use warnings;
use Test::More;
use DocketTest;
use Time::HiRes qw(sleep time);

my $base = base_url();
my $BAD_SIG = { message => 'Forbidden: invalid signature' };
my $EXPIRED = { message => 'Forbidden: the URL has expired' };
my $NO_JOB  = { message => 'The job does not exist', affected_query_parameter => 'job-id: number' };
my $NO_OBJ  = { message => 'The object does not exist', affected_query_parameter => 'object-uuid: string' };
my $UUID = qr/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

my ($tok, $user)   = new_user_token('objects');
my ($tok2, $user2) = new_user_token('objects2');

my $png = png_bytes() . ("\0\x01\x02\xff" x 64);    # binary bytes after the PNG
my $txt = "hello, object\n" x 20;
my $jobA = add_job(user => $user, files => [['picture.png', $png], ['data.txt', $txt]]);
my $jobB = add_job(user => $user, files => [['other.png', png_bytes() . 'B' x 50]]);
my $jobC = add_job(user => $user2, files => [['secret.txt', "user2 secret\n"]]);
my $objA = job_objects($tok, $jobA->{id});
my $objB = job_objects($tok, $jobB->{id});
my $objC = job_objects($tok2, $jobC->{id});
my ($A, $Atxt, $B, $C) = ($objA->{'picture.png'}, $objA->{'data.txt'}, $objB->{'other.png'},
                          $objC->{'secret.txt'});

sub url_for {
    my ($t, $job, $obj, $extra) = @_;
    my $r = api(GET => "/api/v1/jobs/get-object-url?job-id=$job&object-uuid=$obj" . ($extra // ''),
                token => $t);
    return $r;
}
sub url_ok {
    my ($t, $job, $obj, $extra, $name) = @_;
    my $r = url_for($t, $job, $obj, $extra);
    expect_json($r, 200, undef, $name);
    my $u = ($r->{json} && $r->{json}{url}) // '';
    die "no url: " . describe($r) unless $u =~ m{\Ahttps://};
    return $u;
}
sub path_of  { my ($u) = @_; $u =~ m{\Ahttps://[^/]+(/[^?#]*)} ? $1 : die "bad url $u" }
sub query_of { my ($u) = @_; $u =~ /\?(.*)\z/ ? $1 : '' }
sub qparam   { my ($u, $k) = @_; query_of($u) =~ /(?:\A|&)\Q$k\E=([^&]*)/ ? $1 : undef }
sub expect_403 {
    my ($r, $body, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    expect_json($r, 403, $body, $name);
}

# ---- the URL ----------------------------------------------------------------
my $r = url_for($tok, $jobA->{id}, $A);
expect_json($r, 200, undef, 'get-object-url');
is_deeply([sort keys %{ $r->{json} || {} }], ['url'], 'the answer is {"url": ...}');
my $url = ($r->{json} || {})->{url} // '';
like($url, qr{\A\Q$base\E/objects/$UUID/\Q$A\E\?}, 'an absolute URL under DOCKET_BASE_URL/objects/<job uuid>/<object>');
for my $k (qw(expires kid signature)) {
    ok(defined qparam($url, $k) && length qparam($url, $k), "the URL carries $k");
}
my $exp = qparam($url, 'expires') // 0;
ok($exp =~ /\A\d+\z/ && $exp > time && $exp <= time + 604800 + 60, 'expires is a future unix time');
my ($jobA_uuid) = path_of($url) =~ m{\A/objects/($UUID)/};
die "cannot continue without a presigned URL: $url" unless $jobA_uuid;

# ---- downloads ----------------------------------------------------------------
my $d = fetch_url($url);
is($d->{status}, 200, 'download without any token') or diag describe($d);
ok($d->{content} eq $png, 'download gives the exact bytes');
like(header($d, 'Content-Type') // '', qr{\Aimage/png\b}, 'Content-Type image/png');
like(header($d, 'Content-Disposition') // '', qr/picture\.png/, 'Content-Disposition names picture.png');

my $turl = url_ok($tok, $jobA->{id}, $Atxt, '', 'get-object-url for the .txt');
$d = fetch_url($turl);
is($d->{status}, 200, 'download the .txt') or diag describe($d);
ok($d->{content} eq $txt, '.txt: exact bytes');
like(header($d, 'Content-Type') // '', qr{\Atext/plain\b}, '.txt: Content-Type text/plain');
like(header($d, 'Content-Disposition') // '', qr/data\.txt/, '.txt: Content-Disposition names data.txt');

$d = fetch_url($url, Range => 'bytes=0-3');
is($d->{status}, 206, 'Range: bytes=0-3 gives 206') or diag describe($d);
is(length $d->{content}, 4, 'Range: 4 bytes');
ok($d->{content} eq substr($png, 0, 4), 'Range: the first 4 bytes');
like(header($d, 'Content-Range') // '', qr{\Abytes 0-3/\Q${\ length $png}\E\z}, 'Content-Range');
$d = fetch_url($url, Range => 'bytes=10-');
is($d->{status}, 206, 'Range: bytes=10- gives 206');
ok($d->{content} eq substr($png, 10), 'Range: bytes=10- gives the tail');

$d = request(HEAD => $url);
is($d->{status}, 200, 'HEAD on a presigned URL') or diag describe($d);
is($d->{content}, '', 'HEAD has no body');
is(header($d, 'Content-Length'), length $png, 'HEAD: Content-Length is the file size');
like(header($d, 'Content-Type') // '', qr{\Aimage/png\b}, 'HEAD: Content-Type image/png');

# A token on the download is not needed and does no harm.
$d = request(GET => $url, token => $tok2);
is($d->{status}, 200, "download with some other user's token header is still 200");

# ---- file names that need care in Content-Disposition ----------------------
{
    my $jn = add_job(user => $user, files => [["r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac.txt", "utf8 name\n"],
                                              ["evil\r\nX-Injected: yes.txt", "crlf name\n"],
                                              ["my \"quoted\" \\file.txt", "quoted name\n"]]);
    my $on = job_objects($tok, $jn->{id});
    is(scalar keys %$on, 3, 'a job with odd file names has its three objects');
    ok(exists $on->{"my \"quoted\" \\file.txt"},
        'quotes and backslashes in a file name are kept in object_uuid_names');
    for my $orig (sort keys %$on) {
        my $u = url_ok($tok, $jn->{id}, $on->{$orig}, '', "get-object-url for an odd file name");
        my $dd = fetch_url($u);
        is($dd->{status}, 200, 'download of an odd file name') or diag describe($dd);
        ok(!defined header($dd, 'X-Injected'), 'a CR LF in the file name injects no header');
        my $cd = header($dd, 'Content-Disposition') // '';
        unlike($cd, qr/[\r\n]/, 'Content-Disposition has no CR or LF');
        if ($orig =~ /sum/) {
            like($cd, qr/filename\*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC\.txt/i,
                'Content-Disposition names the UTF-8 file (RFC 6266 filename*)');
        }
        if ($orig =~ /quoted/) {
            like($cd, qr/filename="my _quoted_ _file\.txt"/,
                'the quoted filename= parameter has its quotes and backslash replaced');
            like($cd, qr/filename\*=UTF-8''my%20%22quoted%22%20%5Cfile\.txt/i,
                'filename* carries the exact name');
        }
    }
}

# ---- expiry -----------------------------------------------------------------------
my $t0 = time;
my $short = url_ok($tok, $jobA->{id}, $A, '&expires-in=1', 'get-object-url expires-in=1');
my $sexp = qparam($short, 'expires') // 0;
ok($sexp >= int($t0) && $sexp <= $t0 + 3, 'expires-in=1: expires is now + 1');
$d = fetch_url($short);
is($d->{status}, 200, 'expires-in=1 URL works at once') or diag describe($d);
ok($d->{content} eq $png, 'expires-in=1 URL gives the bytes at once');
sleep(3 - (time - $t0)) if time - $t0 < 3;
expect_403(fetch_url($short), $EXPIRED, 'expires-in=1 URL after 3 s');
$d = request(HEAD => $short);
is($d->{status}, 403, 'HEAD on the expired URL is 403') or diag describe($d);
ok(is_json_ct($d), 'HEAD on the expired URL: JSON Content-Type');

my $week = url_ok($tok, $jobA->{id}, $A, '&expires-in=604800', 'expires-in=604800 is accepted');
my $wexp = qparam($week, 'expires') // 0;
ok(abs($wexp - (time + 604800)) < 60, 'expires-in=604800: expires is a week from now');
is(fetch_url($week)->{status}, 200, 'the week-long URL works');

# ---- tampering --------------------------------------------------------------------------
my $sig = qparam($url, 'signature') // '';
# Flip the most significant bit of one character, so the decoded bytes change
# whatever the encoding (hex, or base64url where the last character's low
# bits may be padding).
sub flip_char {
    my ($s, $pos) = @_;
    my $c = substr($s, $pos, 1);
    my $alpha = $s =~ /\A[0-9a-f]+\z/ ? '0123456789abcdef'
              : 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    my $i = index($alpha, $c);
    die "signature character '$c' not in its alphabet" if $i < 0;
    substr($s, $pos, 1) = substr($alpha, $i ^ (length($alpha) / 2), 1);
    return $s;
}
my $u1;
($u1 = $url) =~ s{signature=[^&]*}{'signature=' . flip_char($sig, 0)}e;
expect_403(fetch_url($u1), $BAD_SIG, 'a changed first signature character');
($u1 = $url) =~ s{signature=[^&]*}{'signature=' . flip_char($sig, length($sig) - 1)}e;
expect_403(fetch_url($u1), $BAD_SIG, 'a changed last signature character');
($u1 = $url) =~ s{signature=[^&]*}{'signature=' . flip_char($sig, int(length($sig) / 2))}e;
expect_403(fetch_url($u1), $BAD_SIG, 'a changed middle signature character');
($u1 = $url) =~ s/signature=[^&]*/signature=/;
expect_403(fetch_url($u1), $BAD_SIG, 'an empty signature');
($u1 = $url) =~ s/signature=[^&]*/signature=${sig}AA/;
expect_403(fetch_url($u1), $BAD_SIG, 'a longer signature');
($u1 = $url) =~ s/signature=[^&]*/signature=@{[ substr($sig, 0, 10) ]}/;
expect_403(fetch_url($u1), $BAD_SIG, 'a truncated signature');
($u1 = $url) =~ s/&?signature=[^&]*//;
expect_403(fetch_url($u1), $BAD_SIG, 'no signature');
my $later = $exp + 1000;
($u1 = $url) =~ s/expires=\d+/expires=$later/;
expect_403(fetch_url($u1), $BAD_SIG, 'a later expires');
my $sooner = $exp - 1;
($u1 = $url) =~ s/expires=\d+/expires=$sooner/;
expect_403(fetch_url($u1), $BAD_SIG, 'an earlier (still future) expires');
($u1 = $url) =~ s/&?expires=\d+//;
expect_403(fetch_url($u1), undef, 'no expires');
($u1 = $url) =~ s/kid=[^&]*/kid=nosuchkey/;
expect_403(fetch_url($u1), undef, 'an unknown kid');
expect_403(fetch_url($base . path_of($url)), undef, 'no query at all');

# The signature of job A's object on other paths.
my $q = query_of($url);
my $urlB = url_ok($tok, $jobB->{id}, $B, '', 'get-object-url for job B');
my ($jobB_uuid) = path_of($urlB) =~ m{\A/objects/($UUID)/};
expect_403(fetch_url("$base/objects/$jobB_uuid/$B?$q"), $BAD_SIG, "A's signature on job B's object path");
expect_403(fetch_url("$base/objects/$jobA_uuid/$Atxt?$q"), $BAD_SIG, "A's signature on another object of job A");
expect_403(fetch_url("$base/objects/$jobB_uuid/$A?$q"), $BAD_SIG, "A's signature with job B's uuid");
expect_403(fetch_url("$base/objects/$jobA_uuid/$A/full?$q"), $BAD_SIG, "A's signature on A's result path");
expect_403(fetch_url("$base/objects/$jobA_uuid/$A/../../$jobB_uuid/$B?$q"), $BAD_SIG,
    "A's signature on a ../ path to job B's object");
my $urlC = url_ok($tok2, $jobC->{id}, $C, '', 'get-object-url for user 2');
my ($jobC_uuid) = path_of($urlC) =~ m{\A/objects/($UUID)/};
expect_403(fetch_url("$base/objects/$jobC_uuid/$C?$q"), $BAD_SIG, "A's signature on user 2's object");
# B's URL still works (signatures are per path, not per key state).
$d = fetch_url($urlB);
is($d->{status}, 200, "job B's own URL works");
ok($d->{content} eq $jobB->{files}[0]{content}, "job B's URL gives B's bytes");

# ---- traversal and paths that must never reach the file system -------------------
my $store = store_dir();
my @evil = (
    "/objects/$jobA_uuid/../../../../etc/passwd?$q",
    "/objects/$jobA_uuid/%2e%2e/%2e%2e/%2e%2e/etc/passwd?$q",
    "/objects/$jobA_uuid/..%2f..%2f..%2fetc%2fpasswd?$q",
    "/objects/%2e%2e/%2e%2e/%2e%2e/etc/passwd?$q",
    "/objects/..%2f..%2f..%2f..%2fetc%2fpasswd?$q",
    "/objects//etc/passwd?$q",
    "/objects/%2fetc%2fpasswd?$q",
    "/objects/$jobA_uuid/%2fetc%2fpasswd?$q",
    "/objects/$jobA_uuid/$A%00?$q",
    "/objects/$jobA_uuid/$A%00.txt?$q",
    "/objects/$jobA_uuid%00/$A?$q",
    "/objects/$jobA_uuid/$A%2f..%2f$Atxt?$q",
    "/objects/$jobA_uuid?$q",
    "/objects/$jobA_uuid/?$q",
    "/objects/$jobA_uuid/results/?$q",
    "/objects/?$q",
    "/objects/$store/$jobA_uuid/$A?$q",
    "/_store/$jobA_uuid/$A",
    "/_store/$jobA_uuid/$A?$q",
    "/_store/../../../../etc/passwd",
    "/_store/%2e%2e/%2e%2e/etc/passwd",
);
my $passwd = do { local $/; my $fh; open($fh, '<', '/etc/passwd') ? <$fh> : 'root:x:0:0' };
for my $p (@evil) {
    my $e = api(GET => $p);
    ok($e->{status} == 400 || $e->{status} == 403 || $e->{status} == 404,
        "GET $p is refused (400/403/404, got $e->{status})") or diag describe($e);
    ok(is_json_ct($e), "GET $p: JSON answer") or diag describe($e);
    ok(index($e->{content}, $png) < 0 && index($e->{content}, $txt) < 0
       && $e->{content} !~ /root:[^:]*:0:0/ && index($e->{content}, substr($passwd, 0, 40)) < 0,
       "GET $p: never file bytes");
}

# ---- parameter errors ------------------------------------------------------------
my $id = $jobA->{id};
my $path = '/api/v1/jobs/get-object-url';
sub goe { api(GET => "$path$_[0]", token => $_[1] // $tok) }
expect_error(goe("?job-id=$id"), 400, 'The object-uuid query parameter is missing',
    'object-uuid: string', 'object-uuid missing');
expect_error(goe("?job-id=$id&object-uuid="), 400, 'The object-uuid query parameter is empty',
    'object-uuid: string', 'object-uuid empty');
expect_error(goe("?job-id=$id&object-uuid=$A&object-uuid=$A"), 400,
    'The object-uuid query parameter is given more than once', 'object-uuid: string',
    'object-uuid given twice');
expect_json(goe("?job-id=$id&object-uuid=00000000-0000-0000-0000-000000000000.png"), 404, $NO_OBJ,
    'unknown object');
expect_json(goe("?job-id=$id&object-uuid=$B"), 404, $NO_OBJ, "job B's object under job A");
expect_json(goe("?job-id=$id&object-uuid=..%2f..%2fetc%2fpasswd"), 404, $NO_OBJ,
    'an object-uuid with ../ is just an unknown object');
expect_json(goe("?job-id=$jobC->{id}&object-uuid=$C"), 404, $NO_JOB, "another user's job");
expect_json(goe("?job-id=9223372036854775807&object-uuid=$A"), 404, $NO_JOB, 'a missing job');
expect_error(goe("?object-uuid=$A"), 400, 'The job-id query parameter is missing', 'job-id: number',
    'job-id missing');
expect_error(goe("?job-id=abc&object-uuid=$A"), 400, 'The job-id query parameter must be a number',
    'job-id: number', 'job-id not a number');
expect_error(goe("?job-id=0&object-uuid=$A"), 400, 'The job-id query parameter must be a positive number',
    'job-id: number', 'job-id zero');
expect_error(goe("?job-id=$id&object-uuid=$A&foo=1"), 400, 'The foo query parameter is not supported',
    'foo', 'unknown parameter');
for my $bad ('0', '-1', 'abc', '1.5', '', '604801', '99999999999999999999999') {
    my $e = goe("?job-id=$id&object-uuid=$A&expires-in=$bad");
    expect_json($e, 400, undef, "expires-in=$bad");
    is(($e->{json} || {})->{affected_query_parameter}, 'expires-in: number', "expires-in=$bad: affected parameter");
    like(($e->{json} || {})->{message} // '', qr/\AThe expires-in query parameter /,
        "expires-in=$bad: message names expires-in");
}
expect_json(api(GET => "$path?job-id=$id&object-uuid=$A", token => admin_token()), 200, undef,
    'admin gets an object URL for a user\'s job');

done_testing;
