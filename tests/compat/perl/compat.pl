#!/usr/bin/perl
# DBD::Pg against pgiris: server-side prepared statements
# (pg_server_prepare=1), bytea bound with pg_type, pg_putcopydata and
# pg_getcopydata, an asynchronous query cancelled with pg_cancel, and TLS.
#
# Prints "ok NAME" or "FAIL NAME: reason" per check; exits 1 if any failed.
# Settings come from the environment (see tests/compat/README.md).
#
# A check that may hang (COPY, cancel) runs in a child process with its own
# connection, so a hung one is reported and killed while the others go on.

use strict;
use warnings;
use DBI;
use DBD::Pg qw(:pg_types :async);
use POSIX qw(_exit WNOHANG);
use Time::HiRes qw(sleep time);

binmode STDOUT, ':encoding(UTF-8)';
$| = 1;

my $HOST     = $ENV{COMPAT_HOST}     // '127.0.0.1';
my $PORT     = $ENV{COMPAT_PORT}     // '6432';
my $DBNAME   = $ENV{COMPAT_DBNAME}   // 'demo';
my $USER     = $ENV{COMPAT_USER}     // 'demo';
my $PASSWORD = $ENV{COMPAT_PASSWORD} // 'demo';
my $SSLMODE  = $ENV{COMPAT_SSLMODE}  // 'disable';
my $BACKEND  = $ENV{COMPAT_BACKEND}  // $DBNAME;
my $MODE     = $ENV{COMPAT_MODE}     // 'full';
my $T        = "compat_perl_${BACKEND}_$$";

my @COLUMNS = (
    [qw(c_int2 smallint)], [qw(c_int4 integer)], [qw(c_int8 bigint)],
    [qw(c_float4 real)], ['c_float8', 'double precision'], ['c_numeric', 'numeric(12,3)'],
    [qw(c_bool boolean)], [qw(c_text text)], ['c_varchar', 'varchar(40)'],
    [qw(c_bytea bytea)], [qw(c_date date)], [qw(c_time time)],
    [qw(c_timestamp timestamp)], [qw(c_timestamptz timestamptz)],
);
my $COLS  = join ', ', map { $_->[0] } @COLUMNS;
my $TEXT  = "h\x{e9}llo w\x{f6}rld \x{2713} it's \"q\" \\ end";
my $BYTEA = "\x00\x01\x7f\x80\xff\\'";
# [name, parameter, expected value as DBD::Pg returns it]
my @VALUES = (
    ['int2', 32767, '32767'],
    ['int4', -2147483648, '-2147483648'],
    ['int8', '9007199254740993', '9007199254740993'],
    ['float4', 1.5, 1.5],
    ['float8', '2.71828182845904', 2.71828182845904],
    ['numeric', '12345.678', '12345.678'],
    ['bool', 1, '1'],
    ['text', $TEXT, $TEXT],
    ['varchar', 'varchar value', 'varchar value'],
    ['bytea', $BYTEA, $BYTEA],
    ['date', '2024-02-29', '2024-02-29'],
    ['time', '13:45:30.123456', '13:45:30.123456'],
    ['timestamp', '2024-02-29 13:45:30.123456', '2024-02-29 13:45:30.123456'],
    ['timestamptz', '2024-02-29 13:45:30.123456+00', '2024-02-29 13:45:30.123456+00'],
);
my $COPY_IN = "1\tone\t10\n2\t\\N\t20\n3\tback\\\\slash\t\\N\n4\ttab\\there\t-4\n";
my @COPY_ROWS = ([1, 'one', 10], [2, undef, 20], [3, 'back\\slash', undef], [4, "tab\there", -4]);

my $failed = 0;

sub show {
    my ($v) = @_;
    return 'undef' unless defined $v;
    my $s = $v;
    if (utf8::is_utf8($s)) {    # characters: escape the control ones
        $s =~ s/([\x00-\x1f\x7f-\x9f])/sprintf('\\x%02x', ord $1)/ge;
    } else {                    # bytes: escape all but printable ASCII
        $s =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    }
    return "'$s'";
}

sub expect {
    my ($got, $want, $what) = @_;
    my $same = (!defined $got && !defined $want)
        || (defined $got && defined $want && $got eq $want);
    die { msg => "$what: got " . show($got) . ', expected ' . show($want) } unless $same;
}

sub expect_true {
    my ($cond, $msg) = @_;
    die { msg => $msg } unless $cond;
}

sub describe {
    my ($e) = @_;
    return $e->{msg} if ref $e eq 'HASH';
    my $s = "$e";
    $s =~ s/\s*\n\s*/ /g;
    $s =~ s/\s+$//;
    return $s;
}

sub report {
    my ($name, $err) = @_;
    if (defined $err) {
        $failed++;
        print "FAIL $name: $err\n";
    } else {
        print "ok $name\n";
    }
}

# Run a check in this process.
sub check {
    my ($name, $code) = @_;
    my $ok = eval { $code->(); 1 };
    report($name, $ok ? undef : describe($@));
    return $ok;
}

# Run a check in a child process, killed after $timeout seconds.
sub check_forked {
    my ($name, $timeout, $code) = @_;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $ok = eval { $code->(); 1 };
        my $err = $ok ? undef : describe($@);
        print $ok ? "ok $name\n" : "FAIL $name: $err\n";
        _exit($ok ? 0 : 1);
    }
    my $deadline = time + $timeout;
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $failed++ if $? != 0;
            return $? == 0;
        }
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    report($name, "no answer within $timeout s");
    return 0;
}

sub connect_db {
    my $dsn = "dbi:Pg:dbname=$DBNAME;host=$HOST;port=$PORT;sslmode=$SSLMODE;"
        . "connect_timeout=10;application_name=compat-perl";
    my $dbh = DBI->connect($dsn, $USER, $PASSWORD, {
        RaiseError => 1, PrintError => 0, AutoCommit => 1, pg_server_prepare => 1,
        AutoInactiveDestroy => 1,
    });
    $dbh->{PrintWarn} = 0;
    return $dbh;
}

sub customer3 {
    my ($dbh) = @_;
    my $rows = $dbh->selectall_arrayref('SELECT id, name FROM customers WHERE id = 3');
    expect(scalar @$rows, 1, 'rows for customer 3');
    return "$rows->[0][0]|$rows->[0][1]";
}

sub long_query {
    return 'SELECT pg_sleep(30)' if $BACKEND eq 'pg';
    return 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 60000000) '
        . 'SELECT count(*) FROM c';
}

sub text_of {
    my ($dbh, $id) = @_;
    my $row = $dbh->selectrow_arrayref("SELECT c_text FROM $T WHERE id = \$1", undef, $id);
    return $row ? $row->[0] : '<no row>';
}

sub type_checks {
    my ($dbh) = @_;
    my ($full, $nulls);
    my $ok = eval {
        my $marks = join ', ', map { '$' . ($_ + 2) } 0 .. $#COLUMNS;
        my $sth = $dbh->prepare("INSERT INTO $T (id, $COLS) VALUES (\$1, $marks)");
        $sth->bind_param(1, 1);
        for my $i (0 .. $#VALUES) {
            my ($name, $value) = @{ $VALUES[$i] };
            $sth->bind_param($i + 2, $value, $name eq 'bytea' ? { pg_type => PG_BYTEA } : undef);
        }
        $sth->execute();
        $sth->bind_param(1, 2);
        $sth->bind_param($_ + 2, undef) for 0 .. $#VALUES;
        $sth->execute();
        my $sel = "SELECT id, $COLS FROM $T WHERE id = \$1";
        $full  = $dbh->selectall_arrayref($sel, undef, 1);
        $nulls = $dbh->selectall_arrayref($sel, undef, 2);
        1;
    };
    my $problem = $ok ? undef : $@;
    for my $i (0 .. $#VALUES) {
        my ($name, undef, $want) = @{ $VALUES[$i] };
        check("type_$name", sub {
            die $problem if $problem;
            expect(scalar @$full, 1, 'rows with id 1');
            my $got = $full->[0][$i + 1];
            if ($name =~ /^float/) {
                # DBD::Pg returns floats as Perl numbers, whose text has 15
                # digits: compare the numbers.
                expect_true(defined $got && $got =~ /^-?[0-9.e+-]+$/i && $got == $want,
                            "$COLUMNS[$i][0]: got " . show($got) . sprintf(' (%.17g), expected %.17g', $got // 0, $want));
            } else {
                expect($got, $want, $COLUMNS[$i][0]);
            }
        });
    }
    check('nulls', sub {
        die $problem if $problem;
        expect(scalar @$nulls, 1, 'rows with id 2');
        expect($nulls->[0][0], 2, 'id');
        expect($nulls->[0][$_ + 1], undef, $COLUMNS[$_][0]) for 0 .. $#COLUMNS;
    });
}

sub check_rollback {
    my $dbh = connect_db();
    $dbh->begin_work;
    $dbh->do("INSERT INTO $T (id, c_text) VALUES (\$1, \$2)", undef, 3, 'rolled back');
    expect(text_of($dbh, 3), 'rolled back', 'row inside the transaction');
    $dbh->rollback;
    expect(text_of($dbh, 3), '<no row>', 'row after rollback');
    $dbh->disconnect;
}

sub check_error {
    my ($dbh) = @_;
    my $ok = eval {
        $dbh->do("INSERT INTO $T (id, c_text) VALUES (\$1, \$2)", undef, 1, 'duplicate');
        1;
    };
    expect_true(!$ok, 'a duplicate key was accepted');
    expect($dbh->state, '23505', 'SQLSTATE of a duplicate key (' . describe($@) . ')');
}

sub check_prepared {
    my $dbh = connect_db();
    my $sth = $dbh->prepare("SELECT id, c_varchar FROM $T WHERE id = \$1",
                            { pg_server_prepare => 1, pg_prepare_now => 1 });
    my $name = $sth->{pg_prepare_name};
    expect_true(defined $name && length $name, 'the statement was not prepared on the server');
    for my $case ([1, 'varchar value'], [1, 'varchar value'], [2, undef]) {
        my ($id, $want) = @$case;
        $dbh->begin_work;
        $sth->execute($id);
        my $rows = $sth->fetchall_arrayref;
        $dbh->commit;
        expect(scalar @$rows, 1, "rows with id $id");
        expect($rows->[0][0], $id, 'id');
        expect($rows->[0][1], $want, 'c_varchar');
    }
    expect($sth->{pg_prepare_name}, $name, 'statement name after reuse');
    $dbh->disconnect;
}

sub copy_rows_text {
    my ($dbh) = @_;
    my $rows = $dbh->selectall_arrayref("SELECT id, t, n FROM ${T}_c ORDER BY id");
    return join ';', map { join '|', map { defined $_ ? $_ : 'NULL' } @$_ } @$rows;
}

sub check_copy_in {
    my $dbh = connect_db();
    $dbh->do("DELETE FROM ${T}_c");
    $dbh->do("COPY ${T}_c (id, t, n) FROM STDIN");
    $dbh->pg_putcopydata($_) for split /(?<=\n)/, $COPY_IN;
    $dbh->pg_putcopyend();
    my $want = join ';', map { join '|', map { defined $_ ? $_ : 'NULL' } @$_ } @COPY_ROWS;
    expect(copy_rows_text($dbh), $want, 'rows copied in');
    $dbh->disconnect;
}

sub check_copy_out {
    my $dbh = connect_db();
    $dbh->do("DELETE FROM ${T}_c");
    my $ins = $dbh->prepare("INSERT INTO ${T}_c (id, t, n) VALUES (\$1, \$2, \$3)");
    $ins->execute(@$_) for @COPY_ROWS;
    $dbh->do("COPY ${T}_c (id, t, n) TO STDOUT");
    my ($data, $line) = ('', '');
    $data .= $line while $dbh->pg_getcopydata($line) >= 0;
    my $got = join '/', sort split /\n/, $data;
    my $want = join '/', sort split /\n/, $COPY_IN;
    expect($got, $want, 'COPY TO STDOUT lines');
    $dbh->disconnect;
}

sub check_cancel {
    my $dbh = connect_db();
    my $start = time;
    $dbh->do(long_query(), { pg_async => PG_ASYNC });
    sleep 0.5;
    my $cancelled = eval { $dbh->pg_cancel() };
    my $err = $@;
    expect_true($cancelled || $err, 'pg_cancel returned false (the query was not cancelled)');
    expect($dbh->state, '57014', 'SQLSTATE of the cancelled query (' . describe($err || $dbh->errstr // '') . ')');
    my $elapsed = time - $start;
    expect_true($elapsed < 8, sprintf('cancelled only after %.1f s', $elapsed));
    expect(customer3($dbh), '3|Dmitri Almeida', 'query after the cancel');
    $dbh->disconnect;
}

sub main {
    if ($MODE eq 'tls') {
        check('tls', sub {
            my $dbh = connect_db();
            # DBD::Pg cannot tell whether the connection is encrypted, but with
            # sslmode=require libpq refuses one the server does not encrypt.
            expect(customer3($dbh), '3|Dmitri Almeida', 'customer 3 over TLS');
            $dbh->disconnect;
        });
        return;
    }
    check('connect', sub {
        my $dbh = connect_db();
        expect(customer3($dbh), '3|Dmitri Almeida', 'customer 3');
        $dbh->disconnect;
    }) or return;
    my $dbh = connect_db();
    check('setup', sub {
        local $dbh->{PrintWarn} = 0;
        $dbh->do("DROP TABLE IF EXISTS $T");
        $dbh->do("DROP TABLE IF EXISTS ${T}_c");
        $dbh->do("CREATE TABLE $T (id integer PRIMARY KEY, "
                 . join(', ', map { "$_->[0] $_->[1]" } @COLUMNS) . ')');
        $dbh->do("CREATE TABLE ${T}_c (id integer PRIMARY KEY, t text, n integer)");
    });
    type_checks($dbh);
    check('rollback', \&check_rollback);
    check('error_sqlstate', sub { check_error($dbh) });
    check('error_recovery', sub { expect(text_of($dbh, 1), $TEXT, 'query after the error') });
    check('prepared_reuse', \&check_prepared);
    $dbh->disconnect;
    check_forked('copy_in', 10, \&check_copy_in);
    check_forked('copy_out', 10, \&check_copy_out);
    check_forked('cancel', 10, \&check_cancel);
    check('cleanup', sub {
        my $c = connect_db();
        $c->do("DROP TABLE $T");
        $c->do("DROP TABLE ${T}_c");
        $c->disconnect;
    });
}

main();
exit($failed ? 1 : 0);
