#!/usr/bin/perl
# GET /api/v1/jobs/get: every field of seed 001's job_info, results with
# presigned URLs after `job finish`, every error row, tenancy and admin.
use strict;
use warnings;
use Test::More;
use DocketTest;

my $NO_JOB = { message => 'The job does not exist', affected_query_parameter => 'job-id: number' };
my $DATE_RE = qr/\A\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} UTC\z/;
my $OBJ_RE  = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(\w+)\z/;
my $base = base_url();

my $email = 'owner-' . $$ . '@example.com';
my ($tok, $user) = new_user_token('getter', email => $email);
my ($other_tok, $other) = new_user_token('other');

my $png = png_bytes();
my $txt = "plain text file\nsecond line\n";
my $job = add_job(user => $user, name => "Job of $user",
                  files => [['photo.png', $png], ['notes.txt', $txt]]);
my $id = $job->{id};
my $t_add = time;

sub get_job { my ($id, $t) = @_; api(GET => "/api/v1/jobs/get?job-id=$id", token => $t // $tok) }

# ---- the fresh job --------------------------------------------------------
my $r = get_job($id);
expect_json($r, 200, undef, 'get a fresh job');
my $j = $r->{json} || {};
my $info = $j->{job_info};
is(ref $info, 'HASH', 'job_info is an object') or die('no job_info: ' . describe($r));
for my $f (qw(user_id job_id job_name date total_size credits_spent email object_uuid_names
              media_length failed_to_process status)) {
    ok(exists $info->{$f}, "job_info has $f");
}
is($info->{user_id}, $user, 'user_id is the user name');
is($info->{job_id}, $id, 'job_id');
like($r->{content}, qr/"job_id"\s*:\s*$id\b/, 'job_id is a JSON number');
is($info->{job_name}, "Job of $user", 'job_name');
like($info->{date} // '', $DATE_RE, 'date in the seed format');
my $epoch = parse_utc_date($info->{date});
ok(defined $epoch && abs($epoch - $t_add) < 300, "date is now, in UTC ($info->{date})");
is($info->{total_size}, length($png) + length($txt), 'total_size is the sum of the file sizes');
like($r->{content}, qr/"total_size"\s*:\s*\d+\b/, 'total_size is a JSON number');
like($info->{credits_spent} // '', qr/\A\d+\z/, 'credits_spent is a non-negative integer');
like($r->{content}, qr/"credits_spent"\s*:\s*\d+\b/, 'credits_spent is a JSON number');
is($info->{email}, $email, 'email from token create --email');
is($info->{status}, 'ready', 'status of a new job is ready');

my $names = $info->{object_uuid_names};
is(ref $names, 'HASH', 'object_uuid_names is an object');
$names = {} unless ref $names eq 'HASH';
is_deeply([sort values %$names], ['notes.txt', 'photo.png'], 'object_uuid_names values are the original names');
my %obj;    # original name -> object uuid
for my $k (keys %$names) {
    like($k, $OBJ_RE, "object uuid $k is <uuid>.<ext>");
    my ($ext) = $k =~ $OBJ_RE;
    my ($oext) = $names->{$k} =~ /\.(\w+)\z/;
    is($ext, $oext, "object $k keeps the extension of $names->{$k}");
    $obj{ $names->{$k} } = $k;
}
my $ml = $info->{media_length};
is(ref $ml, 'HASH', 'media_length is an object');
is_deeply([sort keys %{ $ml || {} }], [sort keys %$names], 'media_length has one entry per object');
for my $k (keys %{ ref $ml eq 'HASH' ? $ml : {} }) {
    like($ml->{$k}, qr/\A\d+\z/, "media_length of $k is a non-negative integer");
}
is_deeply($info->{failed_to_process}, {}, 'failed_to_process is {} before processing');
is_deeply($j->{results}, {}, 'results is {} before the job is finished');

# ---- admin and tenancy ----------------------------------------------------
my $ra = get_job($id, admin_token());
expect_json($ra, 200, undef, 'admin gets the user\'s job');
is_deeply($ra->{json}, $j, 'admin sees the same document as the owner');

my $missing = get_job('9223372036854775807');
expect_json($missing, 404, $NO_JOB, 'a job id that does not exist');
my $foreign = get_job($id, $other_tok);
expect_json($foreign, 404, $NO_JOB, "another user's job");
is($foreign->{content}, $missing->{content}, "another user's job is byte-identical to a missing job");

# ---- finish: success with results -----------------------------------------
my $png_obj = $obj{'photo.png'};
my $txt_obj = $obj{'notes.txt'};
my $full = qq({"labels":["cat","dog"],"object":"$png_obj","pad":") . ('f' x 300) . qq("}\n);
my $min  = qq({"labels":["cat"]}\n);
finish_job($id, status => 'success', results => { $png_obj => { full => $full, min => $min } });

$r = get_job($id);
expect_json($r, 200, undef, 'get a finished job');
$j = $r->{json} || {};
is($j->{job_info}{status}, 'success', 'status after job finish --status success');
is_deeply($j->{job_info}{failed_to_process}, {}, 'failed_to_process still {}');
is_deeply([sort keys %{ $j->{results} || {} }], [$png_obj], 'results has the object with results');
my $res = $j->{results}{$png_obj} || {};
is_deeply([sort keys %$res], ['full', 'min'], 'results entry has full and min');
for my $kind ('full', 'min') {
    my $u = $res->{$kind} // '';
    like($u, qr{\A\Q$base\E/objects/}, "results $kind is an absolute URL under $base/objects/");
    like($u, qr{\Ahttps://}, "results $kind is https");
    next unless $u =~ m{\Ahttps://};
    my $d = fetch_url($u);
    is($d->{status}, 200, "download results $kind without a token") or diag describe($d);
    ok($d->{content} eq ($kind eq 'full' ? $full : $min), "results $kind downloads the exact bytes");
}
is_deeply([sort keys %{ $j->{job_info}{object_uuid_names} || {} }], [sort keys %$names],
    'object_uuid_names unchanged by finish');

# ---- finish: failed with a failed object -----------------------------------
my $job2 = add_job(user => $user, files => [['bad.png', $png], ['good.txt', 'ok']]);
my $o2 = job_objects($tok, $job2->{id});
finish_job($job2->{id}, status => 'failed', failed => [$o2->{'bad.png'}]);
$r = get_job($job2->{id});
expect_json($r, 200, undef, 'get a failed job');
$j = $r->{json} || {};
is($j->{job_info}{status}, 'failed', 'status after job finish --status failed');
my $ftp = $j->{job_info}{failed_to_process};
is_deeply([sort keys %{ ref $ftp eq 'HASH' ? $ftp : {} }], [$o2->{'bad.png'}],
    'failed_to_process names exactly the failed object');
ok(defined $ftp->{ $o2->{'bad.png'} } && !ref $ftp->{ $o2->{'bad.png'} }
   && length $ftp->{ $o2->{'bad.png'} }, 'failed_to_process gives a reason string')
    if ref $ftp eq 'HASH';
is_deeply($j->{results}, {}, 'a failed job without results has results {}');

# ---- JSON escaping of user text ------------------------------------------
{
    my $odd = "Job \"quoted\" \\ back/slash \x{e9}t\x{e9} \x{20ac} \t tab <b>&amp;</b>";
    my $bytes = $odd;
    utf8::encode($bytes);
    my $jo = add_job(user => $user, name => $bytes, files => ['esc.txt']);
    my $r = get_job($jo->{id});
    expect_json($r, 200, undef, 'get a job whose name needs JSON escaping');
    is(($r->{json} || {})->{job_info}{job_name}, $odd, 'job_name with quotes, backslash, tab and UTF-8 round-trips');
}

# ---- error rows -----------------------------------------------------------
my $P = 'job-id: number';
my @rows = (
    [''                              => 'The job-id query parameter is missing'],
    ['?'                             => 'The job-id query parameter is missing'],
    ['?job-id='                      => 'The job-id query parameter is empty'],
    ['?job-id'                       => 'The job-id query parameter is empty'],
    ['?job-id=abc'                   => 'The job-id query parameter must be a number'],
    ['?job-id=1.5'                   => 'The job-id query parameter must be a number'],
    ['?job-id=1e3'                   => 'The job-id query parameter must be a number'],
    ['?job-id=%201'                  => 'The job-id query parameter must be a number'],
    ['?job-id=1%20'                  => 'The job-id query parameter must be a number'],
    ['?job-id=0x10'                  => 'The job-id query parameter must be a number'],
    ["?job-id=${id}abc"              => 'The job-id query parameter must be a number'],
    ['?job-id=0'                     => 'The job-id query parameter must be a positive number'],
    ['?job-id=-1'                    => 'The job-id query parameter must be a positive number'],
    ["?job-id=-$id"                  => 'The job-id query parameter must be a positive number'],
    ['?job-id=9223372036854775808'   => 'The job-id query parameter is out of range'],
    ['?job-id=99999999999999999999999999' => 'The job-id query parameter is out of range'],
    ["?job-id=$id&job-id=$id"        => 'The job-id query parameter is given more than once'],
);
for my $row (@rows) {
    my ($q, $msg) = @$row;
    expect_error(api(GET => "/api/v1/jobs/get$q", token => $tok), 400, $msg, $P, "get$q");
}
expect_error(api(GET => "/api/v1/jobs/get?job-id=$id&foo=1", token => $tok), 400,
    'The foo query parameter is not supported', 'foo', 'get with an unknown parameter foo');
expect_error(api(GET => "/api/v1/jobs/get?bar=&job-id=$id", token => $tok), 400,
    'The bar query parameter is not supported', 'bar', 'get with an unknown empty parameter bar');
expect_json(api(GET => "/api/v1/jobs/get?job-id=9223372036854775807", token => admin_token()),
    404, $NO_JOB, 'admin: the largest id that does not exist is 404');

done_testing;
