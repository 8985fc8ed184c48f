#!/usr/bin/perl
# POST /batches/ and POST /batches/validation/ (seed 003): a batch is
# submitted (201, Location, SUBMITTED with a PENDING creator job), the
# dispatcher runs its creator job (CREATED, created_count and total_count,
# the creator COMPLETED with num_exes 1) and the new jobs are queued jobs
# linked to the batch and to the job each re-processes.  What a definition
# selects: the owner's finished jobs of the recipe type's name, under
# another version unless all_jobs, narrowed by job_names and date_range
# (created or data); priority.  Validation answers recipe_count and
# warnings and changes nothing.  A creator job run a second time (reset to
# 'ready' with psql) adds no job and leaves the counts alone.  failed_count
# follows the batch's jobs (failed through the queue API and with psql).
# Every bad body is a 400 {"detail": "<field>: ..."} (413 when too large)
# and leaves no batch, no event and no job behind.
#
# Recipe type names are unique to this run: all test files share one
# database.  The stack's dispatcher runs every 100 ms.
use strict;
use warnings;
use Test::More;
use DocketTest;
use File::Temp ();

my $TIME_RE = qr/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\z/;

# ---- helpers -------------------------------------------------------------------


sub post {
    my ($tok, $path, $body) = @_;
    return api(POST => $path, token => $tok, content => ref $body ? encode_json($body) : $body,
               headers => { 'Content-Type' => 'application/json' });
}
sub bget { my ($t, $id) = @_; api(GET => "/batches/$id/", token => $t) }

sub drf_error {
    my ($res, $status, $re, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = expect_json($res, $status, undef, $name);
    my $j = ref $res->{json} eq 'HASH' ? $res->{json} : {};
    is_deeply([sort keys %$j], ['detail'], "$name: the body is {\"detail\": ...}") or $ok = 0;
    if (defined $re) { like($j->{detail} // '', $re, "$name: detail") or $ok = 0 }
    diag(describe($res)) unless $ok;
}

# A finished (or not) job of a recipe type, as docketctl makes them.
sub src_job {
    my ($user, $name, $rt, $status) = @_;
    my $id = ctl('job', 'add', '--user', $user, '--name', $name,
                 defined $rt ? ('--recipe-type', $rt) : ());
    $id =~ /\A\d+\z/ or die "job add printed '$id'\n";
    ctl('job', 'finish', $id, '--status', $status) if defined $status;
    return $id;
}

# The 201 of a POST.  The dispatcher may run the creator job between the
# insert and the answer; then the batch is CREATED and its creator job
# COMPLETED, never anything in between.
my $submitted_seen = 0;
sub check_submit {
    my ($r, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    expect_json($r, 201, undef, $name);
    my $bt = ref $r->{json} eq 'HASH' ? $r->{json} : {};
    like($bt->{id} // '', qr/\A[1-9]\d*\z/, "$name: an id");
    is(header($r, 'location'), base_url() . '/batches/' . ($bt->{id} // '') . '/', "$name: Location");
    my $cj = ref $bt->{creator_job} eq 'HASH' ? $bt->{creator_job} : {};
    if (($bt->{status} // '') eq 'SUBMITTED') {
        $submitted_seen++;
        is($cj->{status}, 'PENDING', "$name: creator_job PENDING");
        is($cj->{num_exes}, 0, "$name: creator_job num_exes 0");
        is($bt->{created_count} . '/' . $bt->{total_count}, '0/0', "$name: nothing created yet");
    } else {
        is($bt->{status}, 'CREATED', "$name: SUBMITTED (or CREATED already)");
        is($cj->{status}, 'COMPLETED', "$name: a CREATED batch's creator job is COMPLETED");
    }
    is($bt->{event}{type}, 'USER', "$name: a USER event");
    is($bt->{created}, $bt->{event}{occurred}, "$name: created when its event occurred");
    is($cj->{event}{id}, $bt->{event}{id}, "$name: the creator job has the batch's event");
    is($cj->{job_type}{name}, 'docket-batch-creator', "$name: the creator job's type");
    like($bt->{created} // '', $TIME_RE, "$name: created is ISO-8601 UTC");
    return $bt;
}

# Wait for the dispatcher to run a batch's creator job; the detail then.
sub wait_created {
    my ($tok, $id) = @_;
    my $r = wait_until(sub {
        my $g = bget($tok, $id);
        return ($g->{status} == 200 && $g->{json}{status} eq 'CREATED'
                && $g->{json}{creator_job}{status} eq 'COMPLETED') ? $g : 0;
    }, 20, 0.1);
    ok($r, "batch $id: the dispatcher created it") or return {};
    return $r->{json};
}

# The jobs a batch made, as psql sees them.
sub batch_jobs {
    my ($id) = @_;
    return sql_lines("SELECT batch_source_id || ' ' || name || ' ' || state || ' ' || priority || ' '"
                    . " || recipe_type_id || ' ' || user_id || ' ' || event_id || ' ' || queue"
                    . " FROM jobs WHERE batch_id = $id ORDER BY batch_source_id");
}

# ---- the data -----------------------------------------------------------------

my ($tokA, $userA) = new_user_token('bcreate-a');
my ($tokB, $userB) = new_user_token('bcreate-b');
my ($tokF, $userF) = new_user_token('bcreate-f');
my $admin = admin_token();
my ($uA, $uB, $uF) = map { user_id_of($_) } $userA, $userB, $userF;

my $nameX = unique_name('rtX');
my $nameY = unique_name('rtY');
my $nameF = unique_name('rtF');
my $rt1 = ctl('recipe-type', 'add', $nameX, '1.0', '--title', 'X one', '--description', 'Makes X');
my $rt2 = ctl('recipe-type', 'add', $nameX, '2.0');
my $rtY = ctl('recipe-type', 'add', $nameY, '1.0');
my $rtF1 = ctl('recipe-type', 'add', $nameF, '1.0');
my $rtF2 = ctl('recipe-type', 'add', $nameF, '2.0');
my $NO_RT = sql_value('SELECT coalesce(max(id), 0) + 1000000 FROM recipe_types');

my %n = map { $_ => unique_name("job-$_") } qw(a1 a2 a3 a4 a5 a6 b1 ghost);
my $a1 = src_job($userA, $n{a1}, $rt1, 'success');
my $a2 = src_job($userA, $n{a2}, $rt1, 'failed');
my $a3 = src_job($userA, $n{a3}, $rt1, undef);       # not finished
my $a4 = src_job($userA, $n{a4}, $rt2, 'success');   # the batch's own version
my $a5 = src_job($userA, $n{a5}, $rtY, 'success');   # another recipe type
my $a6 = src_job($userA, $n{a6}, undef, 'success');  # no recipe type
my $b1 = src_job($userB, $n{b1}, $rt1, 'success');   # another user's

# Counts that must not move on a rejected or validated body.
sub footprint {
    return sql_value("SELECT (SELECT count(*) FROM batches WHERE user_id = $uA) || ' '"
               . " || (SELECT count(*) FROM jobs WHERE user_id = $uA) || ' '"
               . " || (SELECT count(*) FROM trigger_events) || ' '"
               . " || (SELECT count(*) FROM batches)");
}

# ---- validation ---------------------------------------------------------------------

my $before = footprint();
my $V = '/batches/validation/';
for my $case (
    [$rt2, {}, 2, [], 'another version\'s finished jobs (all_jobs false by default)'],
    [$rt2, { all_jobs => JSON::PP::false }, 2, [], 'all_jobs false'],
    [$rt2, { all_jobs => JSON::PP::true }, 3, [], 'all_jobs true: the same version too'],
    [$rt1, {}, 1, [], 'from version 1.0: the 2.0 job'],
    [$rt1, { all_jobs => JSON::PP::true }, 3, [], 'from version 1.0, all_jobs'],
    [$rtY, {}, 0, ['NO_MATCHING_JOBS'], 'a recipe type with no other version'],
    [$rt2, { job_names => [$n{a1}] }, 1, [], 'job_names: one name'],
    [$rt2, { job_names => [$n{a1}, $n{a2}, $n{a1}] }, 2, [], 'job_names: a name twice'],
    [$rt2, { job_names => [$n{a1}, $n{ghost}] }, 1, ['UNKNOWN_JOB_NAME'], 'job_names: an unknown name'],
    [$rt2, { job_names => [$n{a3}] }, 0, ['NO_MATCHING_JOBS'], 'job_names: a job not finished'],
    [$rt2, { job_names => [$n{a4}] }, 0, ['NO_MATCHING_JOBS'], 'job_names: a job of the same version'],
    [$rt2, { job_names => [$n{a4}], all_jobs => JSON::PP::true }, 1, [], 'job_names with all_jobs'],
    [$rt2, { job_names => [$n{a5}] }, 0, ['NO_MATCHING_JOBS', 'UNKNOWN_JOB_NAME'],
     'job_names: a job of another recipe type'],
    [$rt2, { job_names => [$n{b1}] }, 0, ['NO_MATCHING_JOBS', 'UNKNOWN_JOB_NAME'],
     'job_names: another user\'s job'],
    [$rt2, { date_range => { type => 'created', started => '2099-01-01T00:00:00Z' } }, 0,
     ['NO_MATCHING_JOBS'], 'date_range created, started in the future'],
    [$rt2, { date_range => { ended => '2000-01-01T00:00:00Z' } }, 0, ['NO_MATCHING_JOBS'],
     'date_range, ended long ago'],
    [$rt2, { date_range => { started => '2000-01-01T02:00:00+02:00', ended => '2100-01-01T00:00:00Z' } },
     2, [], 'date_range around now'],
    [$rt2, { date_range => { type => 'data' } }, 0, ['NO_MATCHING_JOBS'], 'date_range data: no job has run'],
    [$rt2, { priority => 0 }, 2, [], 'priority 0'],
    [$rt2, { version => '1.0', date_range => { type => 'created' }, job_names => [$n{a2}],
             all_jobs => JSON::PP::false, priority => 3 }, 1, [], 'every key'],
) {
    my ($rt, $def, $count, $warn, $name) = @$case;
    my $r = post($tokA, $V, { recipe_type_id => 0 + $rt, definition => { version => '1.0', %$def } });
    expect_json($r, 200, undef, "validation: $name");
    my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
    is_deeply([sort keys %$j], [qw(recipe_count warnings)], "validation: $name: recipe_count and warnings");
    is($j->{recipe_count}, $count, "validation: $name: recipe_count $count");
    is_deeply([map { $_->{id} } @{ $j->{warnings} || [] }], $warn, "validation: $name: warnings @$warn");
    my @bad = grep { !defined $_->{details} || $_->{details} !~ /\S/ } @{ $j->{warnings} || [] };
    is(scalar @bad, 0, "validation: $name: every warning has details");
}
my $r = post($tokA, $V, { recipe_type_id => 0 + $rt2, definition => { version => '1.0',
             job_names => [$n{a1}, $n{ghost}] } });
like(($r->{json}{warnings}[0] || {})->{details} // '', qr/\Q$n{ghost}\E/,
     'UNKNOWN_JOB_NAME names the unknown job');
unlike(($r->{json}{warnings}[0] || {})->{details} // '', qr/\Q$n{a1}\E/, 'and not the known one');
like($r->{content}, qr/"recipe_count":\s*1[,}]/, 'recipe_count is a JSON number');
$r = post($tokB, $V, { recipe_type_id => 0 + $rt2, definition => { version => '1.0' } });
is($r->{json} && $r->{json}{recipe_count}, 1, 'validation as B: only B\'s job');
$r = post($admin, $V, { recipe_type_id => 0 + $rt2, definition => { version => '1.0' } });
is($r->{json} && $r->{json}{recipe_count}, 0, 'validation as an admin: the admin\'s own jobs (none)');
drf_error(post($tokA, $V, { recipe_type_id => 0 + $NO_RT, definition => { version => '1.0' } }), 400,
          qr/\Arecipe_type_id: .*\b$NO_RT\b/, 'validation of a recipe type that does not exist');

# date_range "data": the time the job ran.
sql_value("UPDATE jobs SET started_at = '2021-06-01 10:00:00+00', finished_at = '2021-06-01 11:00:00+00'"
    . " WHERE id = $a1");
for my $case (
    [{}, 1, 'no bounds'],
    [{ started => '2021-06-01T10:30:00Z', ended => '2021-06-01T10:45:00Z' }, 1, 'inside the run'],
    [{ started => '2021-06-01T11:00:00Z' }, 1, 'started when it finished'],
    [{ started => '2021-06-01T11:00:00.000001Z' }, 0, 'started after it finished'],
    [{ ended => '2021-06-01T10:00:00Z' }, 1, 'ended when it started'],
    [{ ended => '2021-06-01T09:59:59.999999Z' }, 0, 'ended before it started'],
    [{ started => '2021-06-01T13:30:00+03:00', ended => '2021-06-01T14:00:00+03:00' }, 1, 'offsets'],
) {
    $r = post($tokA, $V, { recipe_type_id => 0 + $rt2,
                           definition => { version => '1.0', date_range => { type => 'data', %{ $case->[0] } } } });
    is($r->{json} && $r->{json}{recipe_count}, $case->[1], "date_range data, $case->[2]: $case->[1]");
}
is(footprint(), $before, 'validation left no batch, no event and no job');

# ---- creation through the dispatcher ----------------------------------------------------

my %batch;    # name => id
my $body = { recipe_type_id => 0 + $rt2, title => 'first', description => 'the first batch',
             definition => { version => '1.0', priority => 3 } };
my $expect = post($tokA, $V, $body)->{json}{recipe_count};
$r = post($tokA, '/batches/', $body);
my $p = check_submit($r, 'POST /batches/');
my $P = $batch{P} = $p->{id};
is($p->{title}, 'first', 'title as posted');
is($p->{description}, 'the first batch', 'description as posted');
is_deeply($p->{recipe_type}, { id => 0 + $rt2, name => $nameX, version => '2.0', title => undef,
                               description => undef }, 'the recipe type');
is_deeply($p->{definition}, { version => '1.0', priority => 3 }, 'the definition as stored');
is($p->{failed_count}, 0, 'failed_count 0');
ok(exists $p->{event}{rule} && !defined $p->{event}{rule}, 'event.rule null');
my $loc = request(GET => header($r, 'location') // base_url() . '/none', token => $tokA);
is($loc->{json} && $loc->{json}{id}, $P, 'the Location answers the batch');

my $d = wait_created($tokA, $P);
is($d->{created_count}, 2, 'created_count 2: the two finished 1.0 jobs');
is($d->{created_count}, $expect, 'as validation said');
is($d->{total_count}, 2, 'total_count 2');
is($d->{failed_count}, 0, 'failed_count 0 although one of the jobs it re-processes had failed');
is($d->{creator_job}{num_exes}, 1, 'creator_job num_exes 1');
ok(exists $d->{creator_job}{error} && !defined $d->{creator_job}{error}, 'creator_job error null');
is($d->{creator_job}{id}, $p->{creator_job}{id}, 'the same creator job');
ok($d->{last_modified} gt $d->{created}, 'last_modified moved when it was created');
is($d->{created}, $p->{created}, 'created did not move');
is_deeply($d->{definition}, $p->{definition}, 'the definition did not change');
my $EV = $p->{event}{id};
is_deeply(batch_jobs($P), ["$a1 $n{a1} queued 3 $rt2 $uA $EV default",
                           "$a2 $n{a2} queued 3 $rt2 $uA $EV default"],
          'psql: one queued job per re-processed job, at priority 3, of the batch\'s recipe type and event');
is(sql_value("SELECT state || ' ' || attempts || ' ' || user_id || ' ' || job_type_id || ' ' || event_id"
       . " FROM jobs WHERE id = $d->{creator_job}{id}"), "succeeded 1 $uA 1 $EV",
   'psql: the creator job succeeded once, as the owner, with the batch\'s event');
is(sql_value("SELECT count(*) FROM jobs WHERE id IN ($a1, $a2, $a3, $a4, $a5, $a6, $b1) AND batch_id IS NOT NULL"),
   0, 'the re-processed jobs themselves are untouched');
my $lr = api(GET => '/batches/?page_size=1000', token => $tokA);
my ($listed) = grep { $_->{id} == $P } @{ $lr->{json}{results} || [] };
my %no_def = %$d;
delete $no_def{definition};
is_deeply($listed, \%no_def, 'the listing shows it as the detail does');
$lr = api(GET => '/api/v1/jobs/list', token => $tokA);
is(scalar(grep { $_->{job_name} eq $n{a1} && $_->{status} eq 'queued' } @{ $lr->{json}{jobs} || [] }), 1,
   'the new job shows in the user\'s job list, queued');

# all_jobs, no title or description, the source's priority.
$body = { recipe_type_id => 0 + $rt2, definition => { version => '1.0', all_jobs => JSON::PP::true } };
$expect = post($tokA, $V, $body)->{json}{recipe_count};
my $q = check_submit(post($tokA, '/batches/', $body), 'POST all_jobs');
my $Q = $batch{Q} = $q->{id};
ok(exists $q->{title} && !defined $q->{title} && exists $q->{description} && !defined $q->{description},
   'no title or description: null');
$d = wait_created($tokA, $Q);
is($d->{created_count}, 3, 'all_jobs: created_count 3');
is($d->{created_count}, $expect, 'as validation said');
is_deeply(batch_jobs($Q), ["$a1 $n{a1} queued 1 $rt2 $uA $q->{event}{id} default",
                           "$a2 $n{a2} queued 1 $rt2 $uA $q->{event}{id} default",
                           "$a4 $n{a4} queued 1 $rt2 $uA $q->{event}{id} default"],
          'psql: a1, a2 and a4, at their own priority, not the first batch\'s queued jobs');
isnt($q->{event}{id}, $EV, 'each batch has its own event');

# job_names, from the other version.
$body = { recipe_type_id => 0 + $rt1, title => 'named',
          definition => { job_names => [$n{a4}, $n{ghost}], version => '1.0' } };
my $rb = check_submit(post($tokA, '/batches/', $body), 'POST job_names');
my $R = $batch{R} = $rb->{id};
is_deeply($rb->{definition}, { version => '1.0', job_names => [$n{a4}, $n{ghost}] },
          'job_names kept in order, unknown names too');
$d = wait_created($tokA, $R);
is($d->{created_count}, 1, 'job_names: created_count 1');
is_deeply([map { (split / /)[0] } @{ batch_jobs($R) }], [$a4], 'psql: the 2.0 job named');
is_deeply($d->{recipe_type}, { id => 0 + $rt1, name => $nameX, version => '1.0', title => 'X one',
                               description => 'Makes X' }, 'the recipe type with a title and description');

# Nothing to do: still CREATED.
my $sb = check_submit(post($tokA, '/batches/', { recipe_type_id => 0 + $rtY, definition => { version => '1.0' } }),
                      'POST selecting nothing');
my $S = $batch{S} = $sb->{id};
$d = wait_created($tokA, $S);
is($d->{created_count} . '/' . $d->{total_count} . '/' . $d->{failed_count}, '0/0/0',
   'a batch that selects nothing: CREATED with no jobs');
is(sql_value("SELECT count(*) FROM jobs WHERE batch_id = $S"), 0, 'psql: no jobs');

# date_range in canonical form, priority 0.
$body = { recipe_type_id => 0 + $rt2, title => 'dated',
          definition => { version => '1.0', priority => 0,
                          date_range => { started => '2000-01-01T02:00:00+02:00', ended => '2100-01-01T00:00:00Z' } } };
my $tb = check_submit(post($tokA, '/batches/', $body), 'POST date_range');
my $T = $batch{T} = $tb->{id};
is_deeply($tb->{definition}, { version => '1.0', priority => 0,
          date_range => { type => 'created', started => '2000-01-01T00:00:00.000000Z',
                          ended => '2100-01-01T00:00:00.000000Z' } },
          'the definition is stored canonical: the default type, times in UTC');
$d = wait_created($tokA, $T);
is($d->{created_count}, 2, 'date_range: created_count 2');
is_deeply([map { (split / /)[3] } @{ batch_jobs($T) }], [0, 0], 'psql: priority 0 for both');

# Another user's batch takes only that user's jobs.
my $bb = check_submit(post($tokB, '/batches/', { recipe_type_id => 0 + $rt2, definition => { version => '1.0' } }),
                      'POST as B');
my $BB = $bb->{id};
$d = wait_created($tokB, $BB);
is($d->{created_count}, 1, 'B\'s batch: created_count 1');
is_deeply(batch_jobs($BB), ["$b1 $n{b1} queued 1 $rt2 $uB $bb->{event}{id} default"], 'psql: B\'s job only');
drf_error(bget($tokB, $P), 404, qr/\ANot found\.\z/, 'B cannot see A\'s batch');
drf_error(bget($tokA, $BB), 404, qr/\ANot found\.\z/, 'A cannot see B\'s batch');
is(bget($admin, $P)->{json}{id}, $P, 'an admin sees A\'s batch');
$lr = api(GET => "/batches/?recipe_type_id=$rt2&page_size=1000", token => $tokB);
is_deeply([map { $_->{id} } @{ $lr->{json}{results} || [] }], [$BB], 'B\'s listing: B\'s batch only');

ok($submitted_seen >= 1, "POST answered SUBMITTED with a PENDING creator job ($submitted_seen of 6)");

# ---- a creator job run again ----------------------------------------------------------------

# Q's jobs finished: were a second run to ignore its own batch, all_jobs
# would select them now.
sql_value("UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE batch_id = $Q");
my %snap;
for my $id ($P, $Q) {
    my $g = bget($tokA, $id)->{json};
    $snap{$id} = { jobs => sql_value("SELECT string_agg(id::text, ',' ORDER BY id) FROM jobs WHERE batch_id = $id"),
                   cc => $g->{created_count}, tc => $g->{total_count}, lm => $g->{last_modified},
                   cj => $g->{creator_job}{id} };
}
sql_value("UPDATE jobs SET state = 'ready', finished_at = NULL WHERE id IN ($snap{$P}{cj}, $snap{$Q}{cj})");
ok(wait_until(sub { sql_value("SELECT count(*) FROM jobs WHERE id IN ($snap{$P}{cj}, $snap{$Q}{cj})"
                        . " AND state = 'succeeded' AND attempts = 2") == 2 }, 20, 0.1),
   'the dispatcher ran both creator jobs a second time');
for my $id ($P, $Q) {
    my $g = bget($tokA, $id)->{json} || {};
    is($g->{creator_job}{num_exes}, 2, "batch $id: num_exes 2");
    is($g->{creator_job}{status}, 'COMPLETED', "batch $id: creator COMPLETED again");
    is($g->{status}, 'CREATED', "batch $id: still CREATED");
    is(sql_value("SELECT string_agg(id::text, ',' ORDER BY id) FROM jobs WHERE batch_id = $id"), $snap{$id}{jobs},
       "batch $id: the same jobs, none added");
    is(sql_value("SELECT count(*) - count(DISTINCT batch_source_id) FROM jobs WHERE batch_id = $id"), 0,
       "batch $id: no job re-processed twice");
    is($g->{created_count}, $snap{$id}{cc}, "batch $id: created_count unchanged ($snap{$id}{cc})");
    is($g->{total_count}, $snap{$id}{tc}, "batch $id: total_count unchanged");
    ok(($g->{last_modified} // '') gt $snap{$id}{lm}, "batch $id: last_modified says it ran again");
}

# ---- failed_count ------------------------------------------------------------------------------

my @f = map { src_job($userF, unique_name("f$_"), $rtF1, $_ == 5 ? 'failed' : 'success') } 1 .. 5;
my $g = check_submit(post($tokF, '/batches/', { recipe_type_id => 0 + $rtF2, definition => { version => '1.0' } }),
                     'POST as F');
my $G = $g->{id};
$d = wait_created($tokF, $G);
is($d->{created_count}, 5, 'F\'s batch: 5 jobs');
is($d->{failed_count}, 0, 'failed_count 0: a failed job re-processed is a new, queued job');

# Lease one through the queue API and fail it.
$r = api(POST => '/api/v1/queue/want_job?queue=default', token => $tokF,
         headers => { 'X-Accepted-Timeout' => 60 });
is($r->{status}, 200, 'want_job leases one of the batch\'s queued jobs') or diag(describe($r));
my $uuid = ($r->{json} || {})->{id} // '';
my $lease = header($r, 'x-accepted-lease-token') // '';
is(sql_value("SELECT coalesce(batch_id, 0) FROM jobs WHERE uuid = '" . ($uuid =~ /\A[0-9a-f-]{36}\z/ ? $uuid
       : '00000000-0000-0000-0000-000000000000') . "'"), $G, 'the leased job is one of the batch\'s');
is(bget($tokF, $G)->{json}{failed_count}, 0, 'a running job is not failed');
$r = api(PUT => "/api/v1/queue/jobs/$uuid", token => $tokF, content => encode_json({ status => 'failed' }),
         headers => { 'X-Accepted-Lease-Token' => $lease });
is($r->{status}, 200, 'the worker fails it') or diag(describe($r));
is(bget($tokF, $G)->{json}{failed_count}, 1, 'failed_count 1 after a job failed through the queue API');
my ($other) = @{ sql_lines("SELECT min(id) FROM jobs WHERE batch_id = $G AND state = 'queued'") };
sql_value("UPDATE jobs SET state = 'failed', finished_at = now() WHERE id = $other");
is(bget($tokF, $G)->{json}{failed_count}, 2, 'failed_count 2 after another failed in psql');
$lr = api(GET => '/batches/?order=-failed_count', token => $tokF);
is($lr->{json}{results}[0]{failed_count}, 2, 'the listing shows failed_count 2');
sql_value("UPDATE jobs SET state = 'succeeded' WHERE id = $other");
is(bget($tokF, $G)->{json}{failed_count}, 1, 'a failed job that succeeds on a retry no longer counts');
sql_value("DELETE FROM jobs WHERE uuid = '$uuid'") if $uuid =~ /\A[0-9a-f-]{36}\z/;
is(bget($tokF, $G)->{json}{failed_count}, 0, 'a failed job deleted no longer counts');
sql_value("UPDATE jobs SET state = 'canceled', finished_at = now() WHERE id = (SELECT min(id) FROM jobs"
    . " WHERE batch_id = $G AND state = 'queued')");
is(bget($tokF, $G)->{json}{failed_count}, 0, 'a canceled job is not failed');
is(bget($tokA, $P)->{json}{failed_count}, 0, 'another batch\'s failed_count is untouched');
is(bget($tokF, $G)->{json}{created_count}, 5, 'created_count stays 5 throughout');

# ---- bad bodies: 400 naming the field, nothing left behind -------------------------------------

my $RT = 0 + $rt2;
sub with_def { my ($def) = @_; return '{"recipe_type_id":' . $RT . ',"definition":' . $def . '}' }
my @bad = (
    ['', 'body', 'an empty body'],
    ['{', 'body', 'cut-off JSON'],
    ['{"recipe_type_id":' . $RT . ',"definition":{"version":"1.0"}} x', 'body', 'trailing garbage'],
    ['{"recipe_type_id":' . $RT . ',"definition":{"version":"1.0"},}', 'body', 'a trailing comma'],
    ['[1]', 'body', 'an array'], ['"batch"', 'body', 'a string'], ['null', 'body', 'null'],
    ['42', 'body', 'a number'],
    ['{"recipe_type_id":' . $RT . ',"title":[[[[[[[[[[1]]]]]]]]]],"definition":{"version":"1.0"}}',
     'body', 'nesting deeper than 8'],
    ['{"recipe_type_id":' . $RT . ',"definition":{"version":"1.0"},"foo":1}', 'foo', 'an unknown key'],
    ['{"recipe_type_id":' . $RT . ',"definition":{"version":"1.0"},"Title":"x"}', 'Title',
     'a key in the wrong case'],
    ['{"definition":{"version":"1.0"}}', 'recipe_type_id', 'no recipe_type_id'],
    (map { ['{"recipe_type_id":' . $_ . ',"definition":{"version":"1.0"}}', 'recipe_type_id',
            "recipe_type_id $_"] }
     'null', "\"$RT\"", '0', '-1', '1.5', 'true', '1e3', "[$RT]", "{\"id\":$RT}",
     '9223372036854775807', '99999999999999999999'),
    ['{"recipe_type_id":' . $NO_RT . ',"definition":{"version":"1.0"}}', 'recipe_type_id',
     'a recipe type that does not exist'],
    (map { ['{"recipe_type_id":' . $RT . ',"title":' . $_ . ',"definition":{"version":"1.0"}}', 'title',
            'title ' . substr($_, 0, 20)] }
     '5', 'true', '[]', '{}', '"' . ('t' x 256) . '"', '"' . ("\xc3\xa9" x 128) . '"', '"a\u0000b"'),
    (map { ['{"recipe_type_id":' . $RT . ',"description":' . $_ . ',"definition":{"version":"1.0"}}',
            'description', 'description ' . substr($_, 0, 20)] }
     '5', '["x"]', '"' . ('d' x 4001) . '"'),
    ['{"recipe_type_id":' . $RT . '}', 'definition', 'no definition'],
    (map { [with_def($_), 'definition', "definition $_"] } 'null', '[]', '"1.0"', '1', 'true'),
    (map { [with_def($_), 'definition.version', "definition $_"] }
     '{}', '{"version":"2.0"}', '{"version":1.0}', '{"version":1}', '{"version":""}',
     '{"version":null}', '{"version":"1.0 "}', '{"all_jobs":true}'),
    [with_def('{"version":"1.0","job_name":["x"]}'), 'definition.job_name', 'a misspelt job_names'],
    [with_def('{"version":"1.0","Version":"1.0"}'), 'definition.Version', 'definition: a key in the wrong case'],
    (map { [with_def('{"version":"1.0","date_range":' . $_ . '}'), 'definition.date_range', "date_range $_"] }
     '"2020"', '[]', '5', 'true'),
    [with_def('{"version":"1.0","date_range":{"start":"2020-01-01T00:00:00Z"}}'),
     'definition.date_range.start', 'date_range: an unknown key'],
    (map { [with_def('{"version":"1.0","date_range":{"type":' . $_ . '}}'), 'definition.date_range.type',
            "date_range type $_"] } '"bogus"', '5', '""', '"Created"', '["data"]'),
    (map { [with_def('{"version":"1.0","date_range":{"started":' . $_ . '}}'), 'definition.date_range.started',
            "date_range started $_"] }
     '"2020-01-01"', '"2020-01-01T00:00:00"', '5', '""', '"2020-02-30T00:00:00Z"', '"PT3H"', '"yesterday"',
     '["2020-01-01T00:00:00Z"]'),
    (map { [with_def('{"version":"1.0","date_range":{"ended":' . $_ . '}}'), 'definition.date_range.ended',
            "date_range ended $_"] } '"nope"', '"2020-13-01T00:00:00Z"', 'false'),
    [with_def('{"version":"1.0","date_range":{"started":"2020-01-02T00:00:00Z","ended":"2020-01-01T00:00:00Z"}}'),
     'definition.date_range.started', 'started after ended'],
    [with_def('{"version":"1.0","date_range":{"started":"2020-01-01T00:00:00.000001Z","ended":"2020-01-01T00:00:00Z"}}'),
     'definition.date_range.started', 'started a microsecond after ended'],
    [with_def('{"version":"1.0","date_range":{"started":"2020-01-01T03:00:00+02:00","ended":"2020-01-01T00:30:00Z"}}'),
     'definition.date_range.started', 'started after ended once the offset counts'],
    (map { [with_def('{"version":"1.0","job_names":' . $_ . '}'), 'definition.job_names', "job_names $_"] }
     '"x"', '[]', '{}', '5'),
    (map { [with_def('{"version":"1.0","job_names":' . $_->[0] . '}'), "definition.job_names[$_->[1]]",
            "job_names $_->[0]"] }
     ['[5]', 0], ['["ok",""]', 1], ['["ok",null]', 1], ['[["x"]]', 0], ['["' . ('n' x 256) . '"]', 0],
     ['["ok","a\u0000b"]', 1]),
    [with_def('{"version":"1.0","job_names":[' . join(',', map { "\"n$_\"" } 1 .. 1001) . ']}'),
     'definition.job_names', '1001 job names'],
    (map { [with_def('{"version":"1.0","all_jobs":' . $_ . '}'), 'definition.all_jobs', "all_jobs $_"] }
     '"yes"', '1', '"true"', '[]'),
    (map { [with_def('{"version":"1.0","priority":' . $_ . '}'), 'definition.priority', "priority $_"] }
     '4', '-1', '1.5', '"1"', 'true', '99999999999999999999', '1e0'),
);
# Bytes that are not UTF-8 make the body invalid JSON; the answer may name
# the body or the field, but it names one.  Then JSON's own grammar: object
# keys are double-quoted.  (Last: a body wrongly taken makes a batch.)
my @late = (
    ['{"recipe_type_id":' . $RT . ',"title":"a' . "\xff" . 'b","definition":{"version":"1.0"}}',
     qr/\A(?:body|title): /, 'title with a byte that is not UTF-8'],
    ['{"recipe_type_id":' . $RT . ',"description":"' . "\xc3\x28" . '","definition":{"version":"1.0"}}',
     qr/\A(?:body|description): /, 'description with a broken UTF-8 sequence'],
    [with_def('{"version":"1.0","job_names":["' . "\xed\xa0\x80" . '"]}'),
     qr/\A(?:body|definition\.job_names\[0\]): /, 'a job name with a UTF-8 surrogate'],
    ["{'recipe_type_id':$RT,'definition':{'version':\"1.0\"}}", 'body', 'keys in single quotes'],
    ["{\"recipe_type_id\":$RT,definition:{\"version\":\"1.0\"}}", 'body', 'a key without quotes'],
    [with_def('{"version":"1.0","priority":NaN}'), 'body', 'NaN'],
    ['{"recipe_type_id":' . $RT . ',"title":-Infinity,"definition":{"version":"1.0"}}', 'body', '-Infinity'],
    ['{"recipe_type_id":' . $RT . '.,"definition":{"version":"1.0"}}', 'body', 'a number ending in a point'],
    ['{"recipe_type_id":' . $RT . ',"title":"a' . "\t" . 'b","definition":{"version":"1.0"}}', 'body',
     'a raw tab in a string'],
    ['{"recipe_type_id":' . $RT . ',"title":"a' . "\n" . 'b","definition":{"version":"1.0"}}', 'body',
     'a raw newline in a string'],
);

# A creator job still to run would move the footprint of the next case.
sub settle {
    wait_until(sub { sql_value("SELECT count(*) FROM jobs WHERE user_id = $uA AND job_type_id IS NOT NULL"
                         . " AND state = 'ready'") == 0 }, 10, 0.1);
}
for my $case (@bad, @late) {
    my ($raw, $field, $name) = @$case;
    my $re = ref $field ? $field : qr/\A\Q$field\E: \S/;
    settle();
    my $fp = footprint();
    for my $path ('/batches/', $V) {
        drf_error(post($tokA, $path, $raw), 400, $re, "POST $path, $name");
    }
    is(footprint(), $fp, "$name: no batch, event or job left behind");
}
settle();
$before = footprint();
drf_error(post($tokA, '/batches/', '{"recipe_type_id":' . $NO_RT . ',"definition":{"version":"1.0"}}'), 400,
          qr/\Arecipe_type_id: there is no recipe type $NO_RT\z/, 'a recipe type that does not exist: the message');
drf_error(post($tokA, '/batches/', with_def('{"version":"1.0","job_name":["x"]}')), 400,
          qr/\Adefinition\.job_name: is not a known field\z/, 'an unknown key: the message');

# Too large, and exactly large enough.
my $small = '{"recipe_type_id":' . $RT . ',"definition":{"version":"1.0"}}';
for my $path ('/batches/', $V) {
    drf_error(post($tokA, $path, $small . (' ' x (65537 - length $small))), 413, qr/65536/,
              "POST $path, 65537 bytes");
    drf_error(post($tokA, $path, '{"recipe_type_id":' . $RT . ',"title":"' . ('x' x 200000)
                   . '","definition":{"version":"1.0"}}'), 413, undef, "POST $path, 200 kB");
    is(footprint(), $before, "POST $path: the too-large bodies left nothing behind");
}
$r = post($tokA, $V, $small . (' ' x (65536 - length $small)));
expect_json($r, 200, undef, 'validation of a body of exactly 65536 bytes');
is($r->{json} && $r->{json}{recipe_count}, 2, 'and it counts as any other');
is(api(GET => "/batches/$P/", token => $tokA)->{status}, 200, 'the connection works after a 413');

# Other refusals leave nothing either.
drf_error(api(POST => '/batches/?dry_run=1', token => $tokA, content => $small), 400, undef,
          'POST with a query parameter');
drf_error(api(POST => '/batches/', content => $small), 401,
          qr/\AAuthentication credentials were not provided\.\z/, 'POST without a token');
drf_error(api(POST => $V, token => 'dkt_' . ('y' x 43), content => $small), 401, qr/\AInvalid token\.\z/,
          'validation with an unknown token');
my $worker = ctl('token', 'create', unique_name('bcreate-wk'), '--worker');
drf_error(api(POST => '/batches/', token => $worker, content => $small), 403, undef, 'POST with a worker token');
drf_error(api(POST => "/batches/$P/", token => $tokA, content => $small), 405, qr/\AMethod "POST" not allowed\.\z/,
          'POST to a batch');
is(footprint(), $before, 'none of them left a batch, an event or a job');

# The batches' jobs wait in the default queue; cancel them so that a test
# leasing from any queue never meets them.
sql_value("UPDATE jobs SET state = 'canceled', finished_at = now() WHERE state = 'queued' AND batch_id IN"
    . " (SELECT id FROM batches WHERE user_id IN ($uA, $uB, $uF))");

# ---- docketctl refuses bad recipe types and jobs, and adds nothing ------------
{
    my $before = sql_value('SELECT (SELECT count(*) FROM recipe_types) || \' \' || (SELECT count(*) FROM jobs)');
    my $file = File::Temp->new(SUFFIX => '.txt');
    print $file "x\n";
    close $file;
    my @bad = (
        [['recipe-type', 'add', $nameX, '1.0'],            qr/already exists/, 'a duplicate (name, version)'],
        [['recipe-type', 'add', 'bad name', '1.0'],        qr/recipe_types_name_check/, 'a name with a space'],
        [['recipe-type', 'add', 'ok-name', ''],            qr/recipe_types_version_check/, 'an empty version'],
        [['recipe-type', 'add', 'only-a-name'],            qr/usage/, 'no version'],
        [['job', 'add', '--user', $userA, '--name', 'j', '--recipe-type', '0', "$file"],
                                                           qr/not a recipe type id/, 'recipe type 0'],
        [['job', 'add', '--user', $userA, '--name', 'j', '--recipe-type', 'x', "$file"],
                                                           qr/not a recipe type id/, 'recipe type x'],
        [['job', 'add', '--user', $userA, '--name', 'j', '--recipe-type', '999999999', "$file"],
                                                           qr/jobs_recipe_type_id_fkey/, 'a recipe type that does not exist'],
    );
    for my $b (@bad) {
        my ($args, $re, $name) = @$b;
        my ($rc, $out, $err) = ctl_result(@$args);
        isnt($rc, 0, "docketctl, $name: fails");
        like($err, $re, "docketctl, $name: says why");
    }
    is(sql_value('SELECT (SELECT count(*) FROM recipe_types) || \' \' || (SELECT count(*) FROM jobs)'),
        $before, 'docketctl refusals add no recipe type and no job');
}

done_testing;
