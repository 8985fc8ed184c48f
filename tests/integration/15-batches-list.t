#!/usr/bin/perl
# GET /batches/ and GET /batches/{id}/ (seed 003): the DRF envelope
# {count, next, previous, results}; page (DRF's leniency: page=last, a bad
# or empty page is a 404 "Invalid page."), page_size (default 100, cut to
# 1000, junk means the default); started/ended as date-times with a zone or
# durations counted back from now, inclusive, on last_modified; order over
# the whitelist with '-' and ties broken by id; the repeatable filters
# status, recipe_type_id and recipe_type_name; every 400 as {"detail": ...}
# naming its parameter; next/previous links followed to the end and back,
# every id exactly once although dozens of batches share one last_modified;
# counts and pages compared with psql for many filter and time combinations,
# deep pages placed by the maintained per-day counts (order by last_modified
# either way) compared with psql's OFFSET; tenancy; the detail route; and
# the answers nginx and the router give on this surface (401, 403, 404, 405).
#
# Data: user A's 60 batches are made through POST /batches/ and run by the
# dispatcher, then reshaped with psql (last_modified, status and the counts;
# the bucket triggers follow updates): 25 share one last_modified, others
# sit on day boundaries and around 20:00 on one day.  User C's 1005
# batches are inserted with one SQL statement, spread over half a year.
# Recipe type names are unique to this run: all test files share one
# database.
use strict;
use warnings;
use Test::More;
use DocketTest;

my $TIME_RE = qr/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\z/;
my @FIELDS = qw(id title description status recipe_type event creator_job
                created_count failed_count total_count created last_modified);
my @ORDER_FIELDS = qw(id title description status recipe_type_id created_count
                      failed_count total_count created last_modified);

# ---- helpers -------------------------------------------------------------------


# RFC 3986: everything but the unreserved characters percent-encoded.
sub enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}
# A query string from a flat list of (name, value) pairs, order kept.
sub qs {
    my @p = @_;
    return '' unless @p;
    return '?' . join('&', map { enc($p[2 * $_]) . '=' . enc($p[2 * $_ + 1]) } 0 .. $#p / 2);
}
# The pairs of a URL's query string, decoded.
sub pairs_of {
    my ($url) = @_;
    my ($q) = $url =~ /\?(.*)\z/ or return ();
    return map { my ($k, $v) = split /=/, $_, 2; $v //= '';
                 for ($k, $v) { tr/+/ /; s/%([0-9A-Fa-f]{2})/chr hex $1/ge } ($k, $v) }
           split /&/, $q;
}

sub blist { my ($t, @p) = @_; api(GET => '/batches/' . qs(@p), token => $t) }
sub bget  { my ($t, $id) = @_; api(GET => "/batches/$id/", token => $t) }
sub ids_of { [map { $_->{id} } @{ (ref $_[0]{json} eq 'HASH' && $_[0]{json}{results}) || [] }] }

# A DRF error: the status, JSON, exactly {"detail": ...}, detail matching re.
sub drf_error {
    my ($res, $status, $re, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = expect_json($res, $status, undef, $name);
    my $j = ref $res->{json} eq 'HASH' ? $res->{json} : {};
    is_deeply([sort keys %$j], ['detail'], "$name: the body is {\"detail\": ...}") or $ok = 0;
    if (defined $re) { like($j->{detail} // '', $re, "$name: detail") or $ok = 0 }
    diag(describe($res)) unless $ok;
}
# A detail that names param as a word of its own.
sub names { my ($p) = @_; qr/(?:\A|[^A-Za-z0-9_])\Q$p\E(?:[^A-Za-z0-9_]|\z)/ }

# One listing compared with psql: the count and every id in order.
sub check_listing {
    my ($tok, $scope, $pairs, $pred, $order, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $where = "($scope) AND ($pred)";
    my $n = sql_value("SELECT count(*) FROM batches b WHERE $where");
    my $want = sql_lines("SELECT b.id FROM batches b WHERE $where ORDER BY $order LIMIT 1000");
    my $r = blist($tok, @$pairs, page_size => 1000);
    is($r->{status}, 200, "$name: 200") or diag(describe($r));
    is($r->{json} && $r->{json}{count}, $n, "$name: count $n as psql counts");
    is_deeply(ids_of($r), $want, "$name: the ids psql lists, in order");
}

# Follow next links from the first page to the end, then previous links back.
# Every page but the last is full; every page says the same count; the
# previous link of page k is the URL that answered page k-1; next carries
# every other parameter as given.  Returns the ids in order.
sub walk {
    my ($tok, $pairs, $size, $want, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my @given = (@$pairs, page_size => $size);
    my $url = base_url() . '/batches/' . qs(@given);
    my (@urls, @pages, @problems);
    while (defined $url) {
        if (@urls > @$want / $size + 2) {
            push @problems, 'more pages than expected';
            last;
        }
        my $r = request(GET => $url, token => $tok);
        if ($r->{status} != 200 || !$r->{json}) {
            push @problems, "page " . (@urls + 1) . ": " . describe($r);
            last;
        }
        my $j = $r->{json};
        my $k = @urls + 1;
        push @problems, "page $k: count $j->{count}, want " . scalar(@$want)
            if $j->{count} != @$want;
        my $rows = scalar @{ $j->{results} };
        push @problems, "page $k: $rows rows but a next link" if defined $j->{next} && $rows != $size;
        push @problems, "page $k: $rows rows, more than $size" if $rows > $size;
        my $prev_want = @urls ? $urls[-1] : undef;
        push @problems, "page $k: previous is " . ($j->{previous} // 'null') . ", want "
            . ($prev_want // 'null') if ($j->{previous} // '') ne ($prev_want // '');
        if (defined $j->{next}) {
            my @p = pairs_of($j->{next});
            my (@rest, @page);
            while (my ($pk, $pv) = splice(@p, 0, 2)) {
                if ($pk eq 'page') { push @page, $pv } else { push @rest, $pk, $pv }
            }
            push @problems, "page $k: next $j->{next} is not under " . base_url() . '/batches/?'
                if index($j->{next}, base_url() . '/batches/?') != 0;
            push @problems, "page $k: next has page=@page, want " . ($k + 1)
                unless @page == 1 && $page[0] eq $k + 1;
            push @problems, "page $k: next does not keep the other parameters: $j->{next}"
                unless join("\0", @rest) eq join("\0", @given);
        }
        push @urls, $url;
        push @pages, [map { $_->{id} } @{ $j->{results} }];
        $url = $j->{next};
    }
    my @ids = map { @$_ } @pages;
    my %seen;
    my @dups = grep { $seen{$_}++ } @ids;
    ok(!@problems, "$name: every page consistent") or diag(join("\n", @problems));
    is(scalar @urls, @$want ? int((@$want + $size - 1) / $size) : 1, "$name: the number of pages");
    is_deeply(\@dups, [], "$name: no id twice");
    is_deeply(\@ids, $want, "$name: every id once, in psql's order");
    # And back.
    my @back;
    $url = $urls[-1];
    my $guard = 0;
    while (defined $url && $guard++ <= @urls) {
        my $r = request(GET => $url, token => $tok);
        last unless $r->{status} == 200 && $r->{json};
        unshift @back, map { $_->{id} } @{ $r->{json}{results} };
        $url = $r->{json}{previous};
    }
    is_deeply(\@back, $want, "$name: previous links lead back over the same ids");
    return \@ids;
}

sub post_batch {
    my ($tok, $body) = @_;
    return api(POST => '/batches/', token => $tok, content => encode_json($body),
               headers => { 'Content-Type' => 'application/json' });
}

# ---- the data -----------------------------------------------------------------

my ($tokA, $userA) = new_user_token('blist-a');
my ($tokB, $userB) = new_user_token('blist-b');
my ($tokC, $userC) = new_user_token('blist-c');
my ($tokE)         = new_user_token('blist-empty');
my $admin = admin_token();
my ($uA, $uB, $uC) = map { user_id_of($_) } $userA, $userB, $userC;

my $nameA = unique_name('rtA');
my $nameB = unique_name('rtB');
my $nameC = unique_name('rtC');
my $rtA1 = ctl('recipe-type', 'add', $nameA, '1.0', '--title', 'Alpha one', '--description', 'The first alpha');
my $rtA2 = ctl('recipe-type', 'add', $nameA, '2.0');
my $rtB1 = ctl('recipe-type', 'add', $nameB, '1.0', '--title', 'Beta');
my $rtC1 = ctl('recipe-type', 'add', $nameC, '1.0');
like("$rtA1 $rtA2 $rtB1 $rtC1", qr/\A\d+ \d+ \d+ \d+\z/, 'recipe-type add prints ids');

# A: 60 batches through the API.
my (@A, $created_ok);
for my $i (0 .. 59) {
    my %b = (recipe_type_id => 0 + ($rtA1, $rtA2, $rtB1, $rtA1)[$i % 4],
             definition => { version => '1.0' });
    $b{title} = 'batch ' . chr(65 + ($i * 3) % 7) unless $i % 5 == 0;
    $b{description} = 'about ' . ($i % 4) unless $i % 6 == 0;
    my $r = post_batch($tokA, \%b);
    if ($r->{status} == 201 && $r->{json} && $r->{json}{id}) {
        push @A, $r->{json}{id};
        $created_ok++;
    } else {
        diag(describe($r));
    }
}
is($created_ok, 60, 'user A: 60 batches created (201)');
my @B;
for my $i (1 .. 5) {
    my $r = post_batch($tokB, { recipe_type_id => 0 + $rtA1, title => "b-batch $i",
                                definition => { version => '1.0' } });
    push @B, $r->{json}{id} if $r->{status} == 201 && $r->{json};
}
is(scalar @B, 5, 'user B: 5 batches created');
ok(wait_until(sub { sql_value("SELECT count(*) FROM batches WHERE user_id IN ($uA, $uB)"
                        . " AND status = 'SUBMITTED'") == 0 }, 30, 0.1),
   'the dispatcher ran the 65 creator jobs');

# Reshape A's batches.
my $TIE = '2020-03-04 05:06:07.123456+00';
my %lm_of = (25 => '2020-03-02 00:00:00+00', 26 => '2020-03-01 23:59:59.999999+00',
             27 => '2020-03-05 20:00:00+00', 28 => '2020-03-05 20:00:00.000001+00',
             29 => '2020-03-05 19:59:59.999999+00', 50 => '2020-03-05 20:00:00+00',
             51 => '2020-03-05 20:00:00+00');
my @values;
for my $i (0 .. 59) {
    my $lm = $i <= 24 ? "'$TIE'"
           : exists $lm_of{$i} ? "'$lm_of{$i}'"
           : $i >= 30 && $i <= 49 ? "(timestamptz '2020-02-20 03:00:00+00' + "
                                  . ($i - 30) . " * interval '17 hours 3 minutes 5.5 seconds')"
           : 'NULL';            # 52..59 keep the time the dispatcher gave them
    my $cc = ($i * 7) % 11;
    push @values, sprintf("(%d::bigint, %s::timestamptz, '%s'::batch_status, %d, %d, %d,"
                          . " timestamptz '2019-06-01 00:00:00+00' + %d * interval '1 hour')",
                          $A[$i], $lm, $i % 3 == 0 ? 'SUBMITTED' : 'CREATED',
                          $cc, $i % 4, $cc + $i % 5, ($i * 17) % 60);
}
sql_value("UPDATE batches b SET last_modified = coalesce(v.lm, b.last_modified), status = v.st,"
    . " created_count = v.cc, failed_count = v.fc, total_count = v.tc, created = v.cr"
    . " FROM (VALUES " . join(',', @values) . ") v(id, lm, st, cc, fc, tc, cr) WHERE b.id = v.id");
is(sql_value("SELECT count(*) FROM batches WHERE user_id = $uA AND last_modified = '$TIE'"), 25,
   '25 of A\'s batches share one last_modified');

# C: 1005 batches in one INSERT, three to a last_modified, over half a year.
my $ev = sql_value("INSERT INTO trigger_events (type) VALUES ('USER') RETURNING id");
sql_value("INSERT INTO batches (user_id, title, description, status, recipe_type_id, event_id,"
    . " definition, created, last_modified)"
    . " SELECT $uC, 'c ' || (i % 13), NULL, CASE WHEN i % 4 = 0 THEN 'SUBMITTED'"
    . " ELSE 'CREATED' END::batch_status, $rtC1, $ev, '{\"version\": \"1.0\"}',"
    . " timestamptz '2018-12-01 00:00:00+00' + i * interval '1 minute',"
    . " timestamptz '2019-01-01 00:00:00+00' + (i / 3) * interval '13 hours 7 minutes 11.000123 seconds'"
    . " FROM generate_series(1, 1005) i");
is(sql_value("SELECT count(*) FROM batches WHERE user_id = $uC"), 1005, 'user C: 1005 batches');

my $SA = "b.user_id = $uA";
my $SC = "b.user_id = $uC";
my $NOW = 'b.last_modified <= now()';
my $DEF = 'b.last_modified, b.id';

# ---- the envelope and the rows ---------------------------------------------------

my $r = blist($tokE);
expect_json($r, 200, { count => 0, next => undef, previous => undef, results => [] },
            'a user without batches: an empty page');
like($r->{content}, qr/"results"\s*:\s*\[\s*\]/, 'results is an empty JSON array');
expect_json(blist($tokE, page => 'last'), 200, { count => 0, next => undef, previous => undef,
            results => [] }, 'page=last of an empty list is the empty first page');
drf_error(blist($tokE, page => 2), 404, qr/\AInvalid page\.\z/, 'page 2 of an empty list');

$r = blist($tokA);
expect_json($r, 200, undef, 'user A: the listing');
my $j = $r->{json} || {};
is_deeply([sort keys %$j], [qw(count next previous results)], 'the envelope has the seed\'s four keys');
is($j->{count}, 60, 'count: A\'s 60 batches');
ok(!defined $j->{next} && !defined $j->{previous}, 'one page: next and previous are null');
is_deeply(ids_of($r), sql_lines("SELECT b.id FROM batches b WHERE $SA AND $NOW ORDER BY $DEF"),
          'default order: last_modified ascending, ties by id');
like($r->{content}, qr/"count":\s*60\b/, 'count is a JSON number');

# Every row as psql sees it.
my %api_rows = map { $_->{id} => $_ } @{ $j->{results} || [] };
my %want_rows = %{ decode_json(sql_value(
    "SELECT json_object_agg(b.id, json_build_object('title', b.title, 'description', b.description,"
    . " 'status', b.status, 'rt', json_build_object('id', rt.id, 'name', rt.name, 'version', rt.version,"
    . " 'title', rt.title, 'description', rt.description), 'event', b.event_id,"
    . " 'creator', b.creator_job_id, 'cc', b.created_count, 'fc', b.failed_count, 'tc', b.total_count,"
    . " 'created', to_char(b.created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    . " 'lm', to_char(b.last_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))"
    . " FROM batches b JOIN recipe_types rt ON rt.id = b.recipe_type_id WHERE $SA")) };
my %got_rows = map {
    my $x = $api_rows{$_};
    ($_ => { title => $x->{title}, description => $x->{description}, status => $x->{status},
             rt => $x->{recipe_type}, event => $x->{event} && $x->{event}{id},
             creator => $x->{creator_job} && $x->{creator_job}{id},
             cc => $x->{created_count}, fc => $x->{failed_count}, tc => $x->{total_count},
             created => $x->{created}, lm => $x->{last_modified} })
} keys %api_rows;
is_deeply(\%got_rows, \%want_rows, 'every row: the fields, recipe type, event, creator job, counts'
          . ' and times psql has');
my @shape = grep { join(',', sort keys %$_) ne join(',', sort @FIELDS) } values %api_rows;
is(scalar @shape, 0, 'every row has exactly the seed\'s fields (no definition in the listing)');
my @badtime = grep { ($_->{created} // '') !~ $TIME_RE || ($_->{last_modified} // '') !~ $TIME_RE
                     || ($_->{event}{occurred} // '') !~ $TIME_RE } values %api_rows;
is(scalar @badtime, 0, 'created, last_modified and event.occurred are ISO-8601 UTC with microseconds');
my $row = $api_rows{ $A[1] } || {};
is($row->{title}, 'batch D', 'a title as posted');
is($row->{description}, 'about 1', 'a description as posted');
ok(exists $api_rows{ $A[0] } && !defined $api_rows{ $A[0] }{title}
   && !defined $api_rows{ $A[0] }{description}, 'no title or description: JSON null');
is_deeply($row->{recipe_type}, { id => 0 + $rtA2, name => $nameA, version => '2.0', title => undef,
                                 description => undef }, 'recipe_type: id, name, version, title, description');
is_deeply($api_rows{ $A[0] }{recipe_type}, { id => 0 + $rtA1, name => $nameA, version => '1.0',
          title => 'Alpha one', description => 'The first alpha' }, 'recipe_type with a title and description');
is($row->{event}{type}, 'USER', 'event.type USER');
ok(exists $row->{event}{rule} && !defined $row->{event}{rule}, 'event.rule null');
my $cj = $row->{creator_job} || {};
is($cj->{status}, 'COMPLETED', 'creator_job.status COMPLETED after the dispatcher ran it');
is($cj->{num_exes}, 1, 'creator_job.num_exes 1');
is($cj->{job_type}{name}, 'docket-batch-creator', 'creator_job.job_type.name');
is($cj->{event}{id}, $row->{event}{id}, 'the creator job has the batch\'s event');
ok(exists $cj->{error} && !defined $cj->{error}, 'creator_job.error null');
like($r->{content}, qr/"id":\s*$A[1],/, 'id is a JSON number');

$r = blist($tokC, page_size => 1);
is_deeply($r->{json} && $r->{json}{results}[0]{creator_job}, undef,
          'a batch without a creator job: creator_job null');
ok($r->{json} && exists $r->{json}{results}[0]{creator_job}, 'creator_job is present even when null');

# ---- tenancy ------------------------------------------------------------------------

$r = blist($tokB);
is_deeply(ids_of($r), \@B, 'user B sees exactly its 5 batches');
is($r->{json} && $r->{json}{count}, 5, 'user B: count 5');
check_listing($tokB, "b.user_id = $uB", [recipe_type_id => $rtA1], "b.recipe_type_id = $rtA1 AND $NOW",
              $DEF, 'B, recipe_type_id of a type A uses too: only B\'s');
$r = blist($tokB, recipe_type_id => $rtA2);
is($r->{json} && $r->{json}{count}, 0, 'B filtering on a type only A used: count 0');
$r = blist($tokA, recipe_type_id => $rtC1);
is($r->{json} && $r->{json}{count}, 0, 'A filtering on C\'s recipe type: count 0');
is(blist($tokC)->{json}{count}, 1005, 'user C: count 1005');
$r = blist($admin, recipe_type_id => $rtA1, recipe_type_id => $rtA2, recipe_type_id => $rtB1,
           recipe_type_id => $rtC1, order => '-last_modified', page_size => 1000);
is($r->{json} && $r->{json}{count}, 60 + 5 + 1005, 'admin: A\'s, B\'s and C\'s batches all count');
my %adm = map { $_ => 1 } @{ ids_of($r) };
ok((grep { $adm{$_} } @A, @B) == 65, 'admin sees A\'s and B\'s batches (newest first, on page 1)');
check_listing($admin, 'true', [], $NOW, $DEF, 'admin: every batch there is');

# ---- filters x time windows, against psql -------------------------------------------

my @filters = (
    [[], 'true', 'no filter'],
    [[status => 'SUBMITTED'], "b.status = 'SUBMITTED'", 'status=SUBMITTED'],
    [[status => 'CREATED'], "b.status = 'CREATED'", 'status=CREATED'],
    [[status => 'CREATED', status => 'SUBMITTED'], 'true', 'both statuses'],
    [[recipe_type_id => $rtA2], "b.recipe_type_id = $rtA2", 'one recipe_type_id'],
    [[recipe_type_id => $rtA1, recipe_type_id => $rtB1, status => 'CREATED'],
     "b.recipe_type_id IN ($rtA1, $rtB1) AND b.status = 'CREATED'", 'two recipe_type_ids and a status'],
    [[recipe_type_name => $nameA], "b.recipe_type_id IN ($rtA1, $rtA2)", 'recipe_type_name (both versions)'],
    [[recipe_type_name => $nameA, recipe_type_name => $nameB, status => 'SUBMITTED'],
     "b.recipe_type_id IN ($rtA1, $rtA2, $rtB1) AND b.status = 'SUBMITTED'", 'two names and a status'],
    [[recipe_type_name => $nameB, recipe_type_id => $rtA1], 'false', 'a name and an id of another name'],
    [[recipe_type_name => $nameA, recipe_type_id => $rtA2], "b.recipe_type_id = $rtA2", 'a name and one of its ids'],
    [[recipe_type_id => '999999999999'], 'false', 'a recipe type that does not exist'],
    [[status => 'CREATED', status => 'CREATED', recipe_type_id => $rtA2, recipe_type_id => $rtA2,
      recipe_type_name => $nameA, recipe_type_name => $nameA],
     "b.status = 'CREATED' AND b.recipe_type_id = $rtA2", 'every value given twice'],
    [[(map { (recipe_type_id => 999999000000 + $_) } 1 .. 28), recipe_type_id => $rtA1,
      recipe_type_id => $rtA2, recipe_type_id => $rtB1, recipe_type_id => $rtC1],
     "b.recipe_type_id IN ($rtA1, $rtA2, $rtB1, $rtC1)", '32 recipe_type_ids'],
    [[recipe_type_name => unique_name('nosuch')], 'false', 'a name that does not exist'],
);
my @windows = (
    [[], $NOW, 'no window'],
    [[started => '2020-03-04T05:06:07.123456Z'], "b.last_modified >= '$TIE' AND $NOW", 'started at the tie, inclusive'],
    [[started => '2020-03-04T05:06:07.123457Z'], "b.last_modified > '$TIE' AND $NOW", 'started just after the tie'],
    [[ended => '2020-03-04T05:06:07.123456Z'], "b.last_modified <= '$TIE'", 'ended at the tie, inclusive'],
    [[ended => '2020-03-04T05:06:07.123455Z'], "b.last_modified < '$TIE'", 'ended just before the tie'],
    [[started => '2020-03-04T05:06:07.123455Z', ended => '2020-03-04T05:06:07.123457Z'],
     "b.last_modified = '$TIE'", 'a two-microsecond window around the tie'],
    [[started => '2020-03-01T00:00:00Z', ended => '2020-03-02T00:00:00Z'],
     "b.last_modified BETWEEN '2020-03-01 00:00:00+00' AND '2020-03-02 00:00:00+00'", 'midnight to midnight'],
    [[started => '2020-03-02T00:00:00Z', ended => '2020-03-05T20:00:00Z'],
     "b.last_modified BETWEEN '2020-03-02 00:00:00+00' AND '2020-03-05 20:00:00+00'",
     'ended late in a day, three batches exactly at it'],
    [[ended => '2020-03-05T19:59:59.999999Z'], "b.last_modified <= '2020-03-05 19:59:59.999999+00'",
     'ended a microsecond before three batches'],
    [[ended => '2020-03-05T20:00:00.000001Z'], "b.last_modified <= '2020-03-05 20:00:00.000001+00'",
     'ended a microsecond after them'],
    [[started => '2020-03-05T22:00:00+02:00'], "b.last_modified >= '2020-03-05 20:00:00+00' AND $NOW",
     'started with an offset (+02:00)'],
    [[started => '2020-02-25T10:00:00-05:00', ended => '2020-03-03T04:00:00+0100'],
     "b.last_modified BETWEEN '2020-02-25 15:00:00+00' AND '2020-03-03 03:00:00+00'",
     'offsets -05:00 and +0100 mid-day'],
    [[started => '2020-03-04T05:06:07.5Z', ended => '2020-03-05T20:00:00.000001Z'],
     "b.last_modified BETWEEN '2020-03-04 05:06:07.5+00' AND '2020-03-05 20:00:00.000001+00'",
     'fractions of a second'],
    [[started => 'PT1H'], "b.last_modified >= now() - interval '1 hour' AND $NOW", 'started=PT1H'],
    [[ended => 'PT3H0M0S'], "b.last_modified <= now() - interval '3 hours'", 'ended=PT3H0M0S'],
    [[started => 'P3650D', ended => 'P1D'],
     "b.last_modified BETWEEN now() - interval '3650 days' AND now() - interval '1 day'", 'P3650D to P1D'],
    [[started => 'P20Y1M2DT3H4M5S'], "b.last_modified >= now() - interval '20 years 1 month 2 days 3 hours"
     . " 4 minutes 5 seconds' AND $NOW", 'a duration with every part'],
    [[started => '0001-01-01T00:00:00Z', ended => '9999-12-31T23:59:59Z'], 'true', 'the widest window'],
    [[started => '2019-01-01T00:00:00Z', ended => '2019-01-01T00:00:00.000001Z'],
     "b.last_modified BETWEEN '2019-01-01 00:00:00+00' AND '2019-01-01 00:00:00.000001+00'", 'an empty window'],
);
for my $w (@windows) {
    for my $f (@filters) {
        check_listing($tokA, $SA, [@{ $f->[0] }, @{ $w->[0] }], "$f->[1] AND $w->[1]", $DEF,
                      "A: $f->[2], $w->[2]");
    }
}
# The admin's counts come from the every-owner roll-ups (user_id 0).
for my $w (@windows[0, 2, 5, 7, 9, 11, 13]) {
    for my $f (@filters) {
        check_listing($admin, 'true', [@{ $f->[0] }, @{ $w->[0] }], "$f->[1] AND $w->[1]", $DEF,
                      "admin: $f->[2], $w->[2]");
    }
}
check_listing($tokC, $SC, [started => '2019-02-10T13:00:00Z', ended => '2019-05-20T07:30:00Z',
              status => 'SUBMITTED'], "b.status = 'SUBMITTED' AND b.last_modified BETWEEN"
              . " '2019-02-10 13:00:00+00' AND '2019-05-20 07:30:00+00'", $DEF,
              'C: a mid-day window over months and a status');

# A '+' left unencoded reads as a space, which is taken for the '+' it was.
for my $q ('?started=2020-03-05T22:00:00+02:00', '?started=2020-03-05T22:00:00%2B02:00') {
    $r = api(GET => "/batches/$q", token => $tokA);
    is($r->{json} && $r->{json}{count},
       sql_value("SELECT count(*) FROM batches b WHERE $SA AND b.last_modified >= '2020-03-05 20:00:00+00' AND $NOW"),
       "started $q: the offset is +02:00");
}

# ---- order ----------------------------------------------------------------------------

for my $f (@ORDER_FIELDS) {
    check_listing($tokA, $SA, [order => $f], $NOW, "b.$f, b.id", "order=$f");
    check_listing($tokA, $SA, [order => "-$f"], $NOW, "b.$f DESC, b.id DESC", "order=-$f");
}
for my $case (
    [[order => 'status', order => '-title'], 'b.status, b.title DESC, b.id DESC'],
    [[order => '-recipe_type_id', order => 'created_count'], 'b.recipe_type_id DESC, b.created_count, b.id'],
    [[order => 'last_modified', order => '-id'], 'b.last_modified, b.id DESC'],
    [[order => '-last_modified', order => 'id'], 'b.last_modified DESC, b.id'],
    [[order => 'title', order => 'description', order => '-failed_count'],
     'b.title, b.description, b.failed_count DESC, b.id DESC'],
    [[order => 'total_count', order => '-created'], 'b.total_count, b.created DESC, b.id DESC'],
) {
    check_listing($tokA, $SA, $case->[0], $NOW, $case->[1], 'order ' . qs(@{ $case->[0] }));
}
check_listing($tokA, $SA, [order => '-total_count', status => 'CREATED', started => '2020-03-01T00:00:00Z'],
              "b.status = 'CREATED' AND b.last_modified >= '2020-03-01 00:00:00+00' AND $NOW",
              'b.total_count DESC, b.id DESC', 'order with a filter and a window');

# ---- next and previous, to the end and back -------------------------------------------

walk($tokA, [], 4, sql_lines("SELECT b.id FROM batches b WHERE $SA AND $NOW ORDER BY $DEF"),
     'A, default order, 4 a page (25 ties over 7 pages)');
walk($tokA, [order => '-last_modified'], 7,
     sql_lines("SELECT b.id FROM batches b WHERE $SA AND $NOW ORDER BY b.last_modified DESC, b.id DESC"),
     'A, order=-last_modified, 7 a page');
walk($tokA, [order => 'title'], 6,
     sql_lines("SELECT b.id FROM batches b WHERE $SA AND $NOW ORDER BY b.title, b.id"),
     'A, order=title (ties and nulls), 6 a page');
walk($tokA, [status => 'CREATED', started => '2020-03-01T00:00:00+00:00', order => 'status',
             order => '-last_modified'], 5,
     sql_lines("SELECT b.id FROM batches b WHERE $SA AND b.status = 'CREATED' AND b.last_modified"
             . " >= '2020-03-01 00:00:00+00' AND $NOW ORDER BY b.status, b.last_modified DESC, b.id DESC"),
     'A, a filter, a window with an offset and two orders, 5 a page');
walk($tokC, [], 97, sql_lines("SELECT b.id FROM batches b WHERE $SC AND $NOW ORDER BY $DEF"),
     'C, 1005 batches, 97 a page');
walk($admin, [recipe_type_name => $nameA, recipe_type_name => $nameB, order => '-last_modified'], 9,
     sql_lines("SELECT b.id FROM batches b WHERE b.recipe_type_id IN ($rtA1, $rtA2, $rtB1) AND $NOW"
             . " ORDER BY b.last_modified DESC, b.id DESC"),
     'admin, A\'s and B\'s types, 9 a page');

# Links exactly.
my $BU = base_url() . '/batches/';
$r = blist($tokA, page_size => 7);
is($r->{json}{next}, "${BU}?page_size=7&page=2", 'next of page 1: page=2 appended');
ok(!defined $r->{json}{previous}, 'previous of page 1: null');
$r = blist($tokA, page => 2, page_size => 7);
is($r->{json}{next}, "${BU}?page=3&page_size=7", 'next of page 2: page=3 where page was');
is($r->{json}{previous}, "${BU}?page_size=7", 'previous of page 2: no page parameter at all');
$r = blist($tokA, page_size => 7, status => 'CREATED', page => 3, status => 'SUBMITTED',
           started => '2020-01-01T00:00:00+01:00');
is($r->{json}{next}, "${BU}?page_size=7&status=CREATED&page=4&status=SUBMITTED&started=2020-01-01T00%3A00%3A00%2B01%3A00",
   'next keeps every other parameter, in order, encoded again');
is($r->{json}{previous}, "${BU}?page_size=7&status=CREATED&page=2&status=SUBMITTED&started=2020-01-01T00%3A00%3A00%2B01%3A00",
   'previous of page 3 likewise');
$r = blist($tokA, page => 9, page_size => 7);
ok(!defined $r->{json}{next}, 'the last page: next is null');
is($r->{json}{previous}, "${BU}?page=8&page_size=7", 'the last page: previous');
is(scalar @{ $r->{json}{results} }, 4, 'the last page holds the rest (60 = 8 x 7 + 4)');

# ---- page -------------------------------------------------------------------------------

my $all_A = sql_lines("SELECT b.id FROM batches b WHERE $SA AND $NOW ORDER BY $DEF");
is_deeply(ids_of(blist($tokA, page_size => 25)), [@$all_A[0 .. 24]], 'page 1 of 25');
is_deeply(ids_of(blist($tokA, page => 3, page_size => 25)), [@$all_A[50 .. 59]], 'page 3: the last 10');
$r = blist($tokA, page => 'last', page_size => 25);
expect_json($r, 200, undef, 'page=last');
is_deeply(ids_of($r), [@$all_A[50 .. 59]], 'page=last is page 3');
ok(!defined $r->{json}{next}, 'page=last: next null');
is($r->{json}{previous}, "${BU}?page=2&page_size=25", 'page=last: previous names page 2');
is_deeply(ids_of(blist($tokA, page => 2, page => 3, page_size => 25)), [@$all_A[50 .. 59]],
          'page twice: the last one wins');
is_deeply(ids_of(blist($tokA, page => '0003', page_size => 25)), [@$all_A[50 .. 59]], 'page=0003 is page 3');
for my $p ('4', '0', '-1', 'abc', '1.5', '', '1e1', 'LAST', '99999999999999999999') {
    drf_error(blist($tokA, page => $p, page_size => 25), 404, qr/\AInvalid page\.\z/, "page='$p'");
}
drf_error(blist($tokA, page => 2, page => 'x'), 404, qr/\AInvalid page\.\z/, 'page=2&page=x: the last wins');
drf_error(blist($tokA, page => 'abc', status => 'BOGUS'), 400, names('status'),
          'a bad page and a bad filter: the filter\'s 400 first');
drf_error(blist($tokA, page => 'abc', foo => 1), 400, names('foo'),
          'a bad page and an unknown parameter: the 400 first');

# ---- page_size --------------------------------------------------------------------------

my $all_C = sql_lines("SELECT b.id FROM batches b WHERE $SC AND $NOW ORDER BY $DEF");
$r = blist($tokC);
is(scalar @{ ids_of($r) }, 100, 'no page_size: 100 a page');
is($r->{json}{next}, "${BU}?page=2", 'next of the default page');
for my $case (['1000', 1000], ['5000', 1000], ['1001', 1000], ['2', 2], ['abc', 100], ['0', 100],
              ['-3', 100], ['', 100], ['1.5', 100], ['0x10', 100]) {
    my ($ps, $n) = @$case;
    $r = blist($tokC, page_size => $ps);
    is_deeply(ids_of($r), [@$all_C[0 .. $n - 1]], "page_size='$ps': $n rows");
}
$r = blist($tokC, page_size => 5000);
is($r->{json}{next}, "${BU}?page_size=5000&page=2", 'page_size=5000: next keeps it as given');
$r = request(GET => $r->{json}{next}, token => $tokC);
is_deeply(ids_of($r), [@$all_C[1000 .. 1004]], 'page 2 at page_size 5000 (cut to 1000): the last 5');
is($r->{json}{previous}, "${BU}?page_size=5000", 'and its previous');
is_deeply(ids_of(blist($tokC, page_size => 7, page_size => 9)), [@$all_C[0 .. 8]],
          'page_size twice: the last one wins');
drf_error(blist($tokC, page_size => 1000, page => 3), 404, qr/\AInvalid page\.\z/,
          'page 3 at page_size 1000 is past the end');

# ---- deep pages: the per-day counts place the page --------------------------------------

for my $case (
    [[], $DEF],
    [[order => '-last_modified'], 'b.last_modified DESC, b.id DESC'],
    [[order => 'last_modified', order => '-id'], 'b.last_modified, b.id DESC'],
    [[order => '-last_modified', order => 'title'], 'b.last_modified DESC, b.title, b.id'],
    [[order => 'id'], 'b.id'],
    [[order => '-created'], 'b.created DESC, b.id DESC'],
) {
    my ($pairs, $order) = @$case;
    for my $page (1, 2, 37, 73, 100, 101) {
        my $want = sql_lines("SELECT b.id FROM batches b WHERE $SC AND $NOW ORDER BY $order"
                           . " LIMIT 10 OFFSET " . (($page - 1) * 10));
        $r = blist($tokC, @$pairs, page => $page, page_size => 10);
        is_deeply(ids_of($r), $want, 'C ' . qs(@$pairs) . " page $page of 10: psql's OFFSET rows");
    }
    drf_error(blist($tokC, @$pairs, page => 102, page_size => 10), 404, qr/\AInvalid page\.\z/,
              'C ' . qs(@$pairs) . ' page 102: past the end');
}
$r = blist($tokC, page => 'last', page_size => 10);
is_deeply(ids_of($r), [@$all_C[1000 .. 1004]], 'C page=last at 10: page 101, 5 rows');
is($r->{json}{previous}, "${BU}?page=100&page_size=10", 'and its previous is page 100');
for my $case (
    [[status => 'SUBMITTED'], "b.status = 'SUBMITTED'", $DEF, 7, [1, 20, 36]],
    [[status => 'SUBMITTED', order => '-last_modified'], "b.status = 'SUBMITTED'",
     'b.last_modified DESC, b.id DESC', 7, [1, 20, 36]],
    [[started => '2019-02-10T13:00:00Z', ended => '2019-05-20T07:30:00Z'],
     "b.last_modified BETWEEN '2019-02-10 13:00:00+00' AND '2019-05-20 07:30:00+00'", $DEF, 9, [1, 5, 33]],
    [[started => '2019-02-10T13:00:00Z', ended => '2019-05-20T07:30:00Z', order => '-last_modified'],
     "b.last_modified BETWEEN '2019-02-10 13:00:00+00' AND '2019-05-20 07:30:00+00'",
     'b.last_modified DESC, b.id DESC', 9, [1, 5, 33]],
    [[started => '2019-03-03T03:03:03.5+03:00', status => 'CREATED', order => '-last_modified'],
     "b.status = 'CREATED' AND b.last_modified >= '2019-03-03 00:03:03.5+00' AND $NOW",
     'b.last_modified DESC, b.id DESC', 11, [1, 10, 40]],
) {
    my ($pairs, $pred, $order, $size, $pages) = @$case;
    my $n = sql_value("SELECT count(*) FROM batches b WHERE $SC AND $pred");
    for my $page (@$pages, int(($n + $size - 1) / $size)) {
        my $want = sql_lines("SELECT b.id FROM batches b WHERE $SC AND $pred ORDER BY $order"
                           . " LIMIT $size OFFSET " . (($page - 1) * $size));
        $r = blist($tokC, @$pairs, page => $page, page_size => $size);
        is_deeply(ids_of($r), $want, 'C ' . qs(@$pairs) . " page $page of $size: psql's OFFSET rows");
        is($r->{json} && $r->{json}{count}, $n, 'C ' . qs(@$pairs) . " page $page: count $n");
    }
    my $past = int(($n + $size - 1) / $size) + 1;
    drf_error(blist($tokC, @$pairs, page => $past, page_size => $size), 404, qr/\AInvalid page\.\z/,
              'C ' . qs(@$pairs) . " page $past: past the end");
}
# Admins seek over the every-owner counts.
my $n_all = sql_value("SELECT count(*) FROM batches b WHERE $NOW");
for my $case ([[], $DEF], [[order => '-last_modified'], 'b.last_modified DESC, b.id DESC']) {
    for my $page (1, 50, 80, int(($n_all + 9) / 10)) {
        my $want = sql_lines("SELECT b.id FROM batches b WHERE $NOW ORDER BY $case->[1]"
                           . " LIMIT 10 OFFSET " . (($page - 1) * 10));
        is_deeply(ids_of(blist($admin, @{ $case->[0] }, page => $page, page_size => 10)), $want,
                  'admin ' . qs(@{ $case->[0] }) . " page $page of 10");
    }
}
# A's ties: every page of 3 in both directions.
for my $case ([[], $DEF], [[order => '-last_modified'], 'b.last_modified DESC, b.id DESC']) {
    my $want = sql_lines("SELECT b.id FROM batches b WHERE $SA AND $NOW ORDER BY $case->[1]");
    my @got = map { @{ ids_of(blist($tokA, @{ $case->[0] }, page => $_, page_size => 3)) } } 1 .. 20;
    is_deeply(\@got, $want, 'A ' . qs(@{ $case->[0] }) . ': pages 1-20 of 3 put together');
}

# ---- 400s: each names its parameter ---------------------------------------------------------

for my $case (
    [[foo => 1], 'foo'], [[Page => 1], 'Page'], [[order_by => 'id'], 'order_by'],
    [[user => $userB], 'user'], [['page-size' => 5], 'page-size'], [[id => 1], 'id'],
    [[status => 'BOGUS'], 'status'], [[status => 'submitted'], 'status'], [[status => ''], 'status'],
    [[status => 'CREATED', status => 'PENDING'], 'status'],
    [[map { (status => 'CREATED') } 1 .. 33], 'status'],
    [[recipe_type_id => 'abc'], 'recipe_type_id'], [[recipe_type_id => '0'], 'recipe_type_id'],
    [[recipe_type_id => '-1'], 'recipe_type_id'], [[recipe_type_id => '1.5'], 'recipe_type_id'],
    [[recipe_type_id => ''], 'recipe_type_id'], [[recipe_type_id => '99999999999999999999'], 'recipe_type_id'],
    [[recipe_type_id => $rtA1, recipe_type_id => 'x'], 'recipe_type_id'],
    [[recipe_type_name => ''], 'recipe_type_name'], [[recipe_type_name => 'n' x 256], 'recipe_type_name'],
    [[recipe_type_name => "\xff"], 'recipe_type_name'],
    [[started => 'yesterday'], 'started'], [[started => '2020-01-01'], 'started'],
    [[started => '2020-01-01T00:00:00'], 'started'], [[started => '2020-02-30T00:00:00Z'], 'started'],
    [[started => '2020-01-01T25:00:00Z'], 'started'], [[started => '2020-01-01T00:00:00+25:00'], 'started'],
    [[started => 'P'], 'started'], [[started => 'PT'], 'started'], [[started => 'P1X'], 'started'],
    [[started => ''], 'started'], [[started => 'P3000Y'], 'started'], [[started => '-P1D'], 'started'],
    [[started => '2020-01-01T00:00:00Z', started => '2020-01-02T00:00:00Z'], 'started'],
    [[started => '2999-01-01T00:00:00Z'], 'started'], [[started => 'PT0S'], 'started'],
    [[started => '2020-03-05T00:00:00Z', ended => '2020-03-04T00:00:00Z'], 'started'],
    [[started => '2020-03-05T00:00:00Z', ended => '2020-03-05T00:00:00Z'], 'started'],
    [[started => '2020-03-05T02:00:00+02:00', ended => '2020-03-05T00:00:00Z'], 'started'],
    [[ended => 'nope'], 'ended'], [[ended => '2020-01-01'], 'ended'], [[ended => ''], 'ended'],
    [[ended => '2020-13-01T00:00:00Z'], 'ended'], [[ended => '2020-01-01T00:00:00'], 'ended'],
    [[ended => 'PT1H', ended => 'PT2H'], 'ended'],
    [[order => 'bogus'], 'order'], [[order => '-bogus'], 'order'], [[order => ''], 'order'],
    [[order => '--id'], 'order'], [[order => 'user_id'], 'order'], [[order => 'definition'], 'order'],
    [[order => 'id', order => '-id'], 'order'], [[order => 'Title'], 'order'],
    [[map { (order => $_) } @ORDER_FIELDS[0 .. 8]], 'order'],
) {
    my ($pairs, $param) = @$case;
    drf_error(blist($tokA, @$pairs), 400, names($param), '400 for ' . qs(@$pairs));
}
$r = blist($tokA, foo => 1);
my @missing = grep { ($r->{json}{detail} // '') !~ names($_) }
              qw(page page_size order started ended status recipe_type_id recipe_type_name);
is_deeply(\@missing, [], 'an unknown parameter: the detail lists every parameter the list takes');
drf_error(blist($tokA, started => '2020-03-05T00:00:00Z', ended => '2020-03-04T00:00:00Z'), 400,
          qr/\Astarted must be before ended/, 'started after ended: the message says so');

# Errors of the query string itself are this surface's errors too.
drf_error(api(GET => '/batches/?' . join('&', ('status=CREATED') x 65), token => $tokA), 400, undef,
          '65 query parameters');
drf_error(api(GET => '/batches/?status=%ZZ', token => $tokA), 400, undef, 'bad percent-encoding');
drf_error(api(GET => '/batches/?title=' . ('a' x 5000), token => $tokA), 414, undef,
          'a query string over 4096 bytes');

# ---- the detail route --------------------------------------------------------------------------

my $id1 = $A[1];
$r = bget($tokA, $id1);
expect_json($r, 200, undef, 'GET /batches/{id}/');
my $d = $r->{json} || {};
is_deeply([sort keys %$d], [sort @FIELDS, 'definition'], 'the detail: the listing\'s fields and definition');
is_deeply($d->{definition}, { version => '1.0' }, 'definition as stored');
my %no_def = %$d;
delete $no_def{definition};
is_deeply(\%no_def, $api_rows{$id1}, 'the detail agrees with the listing row');
is(header($r, 'content-type'), 'application/json', 'Content-Type application/json');
my $r2 = api(GET => "/batches/$id1", token => $tokA);
is_deeply($r2->{json}, $d, 'without the trailing slash: the same batch');
is_deeply(bget($admin, $id1)->{json}, $d, 'an admin sees another user\'s batch');
is_deeply(bget($tokC, $all_C->[0])->{json}{creator_job}, undef, 'C\'s detail: creator_job null');

my $missing = sql_value('SELECT coalesce(max(id), 0) + 1000000 FROM batches');
my $nf = bget($tokA, $missing);
drf_error($nf, 404, qr/\ANot found\.\z/, 'a batch that does not exist');
my $theirs = bget($tokB, $id1);
drf_error($theirs, 404, qr/\ANot found\.\z/, 'another user\'s batch');
is($theirs->{content}, $nf->{content}, 'another user\'s batch: byte for byte the missing batch\'s 404');
is(header($theirs, 'content-length'), header($nf, 'content-length'), 'and the same length');
for my $bad ('abc', '0', '-1', '1x', '1.0', '99999999999999999999', "$id1/extra", "$id1/x/", '%20' . $id1) {
    drf_error(api(GET => "/batches/$bad/", token => $tokA), 404, qr/\ANot found\.\z/, "GET /batches/$bad/");
}
drf_error(api(GET => "/batches/$id1/?x=1", token => $tokA), 400, undef, 'the detail takes no query parameters');

# ---- nginx and the router on this surface ---------------------------------------------------------

for my $path ('/batches/', "/batches/$id1/") {
    $r = api(GET => $path);
    drf_error($r, 401, qr/\AAuthentication credentials were not provided\.\z/, "GET $path without a token");
    like(header($r, 'www-authenticate') // '', qr/\ABearer\b/, "GET $path without a token: WWW-Authenticate");
    drf_error(api(GET => $path, token => 'dkt_' . ('x' x 43)), 401, qr/\AInvalid token\.\z/,
              "GET $path with an unknown token");
    drf_error(api(GET => $path, token => 'Bearer'), 401, undef, "GET $path with an empty Bearer");
}
for my $style (qw(raw bearer x-api-token)) {
    is(api(GET => '/batches/?page_size=1', token => $tokA, auth => $style)->{status}, 200,
       "the token as $style");
}
my $worker = ctl('token', 'create', unique_name('blist-wk'), '--worker');
drf_error(api(GET => '/batches/', token => $worker), 403, undef, 'a worker token cannot list batches');
drf_error(api(GET => "/batches/$id1/", token => $worker), 403, undef, 'nor read one');
drf_error(api(GET => '/batches', token => $tokA), 404, qr/\ANot found\.\z/, '/batches without the slash');
drf_error(api(GET => '/batches/nothing/here/', token => $tokA), 404, qr/\ANot found\.\z/, 'a path below /batches/');
for my $m (qw(PUT DELETE PATCH)) {
    $r = api($m => '/batches/', token => $tokA, content => '{}');
    drf_error($r, 405, qr/\AMethod "$m" not allowed\.\z/, "$m /batches/");
    is(header($r, 'allow'), 'GET, HEAD, POST', "$m /batches/: Allow: GET, HEAD, POST");
}
$r = api(GET => '/batches/validation/', token => $tokA);
drf_error($r, 405, qr/\AMethod "GET" not allowed\.\z/, 'GET /batches/validation/');
is(header($r, 'allow'), 'POST', 'GET /batches/validation/: Allow: POST');
for my $m (qw(PUT DELETE POST)) {
    $r = api($m => "/batches/$id1/", token => $tokA, content => '{}');
    drf_error($r, 405, qr/\AMethod "$m" not allowed\.\z/, "$m /batches/{id}/");
    is(header($r, 'allow'), 'GET, HEAD', "$m /batches/{id}/: Allow: GET, HEAD");
}
is(sql_value("SELECT count(*) FROM batches WHERE id = $id1"), 1, 'DELETE did not delete the batch');

# ---- HEAD answers as GET, without the body (DRF) -----------------------------
{
    my $g = blist($tokA, page_size => 5);
    my $h = api(HEAD => '/batches/?page_size=5', token => $tokA);
    is($h->{status}, 200, 'HEAD /batches/: 200');
    is($h->{content} // '', '', 'HEAD /batches/: no body');
    is(header($h, 'content-length'), header($g, 'content-length'),
        'HEAD /batches/: the Content-Length of the GET');
    my $id = $g->{json}{results}[0]{id};
    $h = api(HEAD => "/batches/$id/", token => $tokA);
    is($h->{status}, 200, 'HEAD /batches/{id}/: 200');
    $h = api(HEAD => "/batches/$id/", token => $tokB);
    is($h->{status}, 404, "HEAD of another user's batch: 404");
}

done_testing;
