# ruby-pg against pgiris: exec_params with explicit parameter types (bytea
# in binary format), prepare/exec_prepared, copy_data, cancel and TLS.
# Results are compared as PostgreSQL's text output; binary_bytea reads the
# bytea column in binary format.
#
# Prints "ok NAME" or "FAIL NAME: reason" per check; exits 1 if any failed.
# Settings come from the environment (see tests/compat/README.md).

require 'pg'

HOST = ENV.fetch('COMPAT_HOST', '127.0.0.1')
PORT = ENV.fetch('COMPAT_PORT', '6432').to_i
DBNAME = ENV.fetch('COMPAT_DBNAME', 'demo')
USER = ENV.fetch('COMPAT_USER', 'demo')
PASSWORD = ENV.fetch('COMPAT_PASSWORD', 'demo')
SSLMODE = ENV.fetch('COMPAT_SSLMODE', 'disable')
BACKEND = ENV.fetch('COMPAT_BACKEND', DBNAME)
MODE = ENV.fetch('COMPAT_MODE', 'full')
T = "compat_ruby_#{BACKEND}_#{Process.pid}"

COLUMNS = [
  %w[c_int2 smallint], %w[c_int4 integer], %w[c_int8 bigint],
  %w[c_float4 real], ['c_float8', 'double precision'], ['c_numeric', 'numeric(12,3)'],
  %w[c_bool boolean], %w[c_text text], ['c_varchar', 'varchar(40)'],
  %w[c_bytea bytea], %w[c_date date], %w[c_time time],
  %w[c_timestamp timestamp], %w[c_timestamptz timestamptz]
].freeze
COLS = COLUMNS.map(&:first).join(', ')
TEXT = "h\u00e9llo w\u00f6rld \u2713 it's \"q\" \\ end"
BYTEA = [0, 1, 0x7f, 0x80, 0xff, 0x5c, 0x27].pack('C*')

# [parameter type OID, parameter value, expected text output]
VALUES = {
  'int2' => [21, '32767', '32767'],
  'int4' => [23, '-2147483648', '-2147483648'],
  'int8' => [20, '9007199254740993', '9007199254740993'],
  'float4' => [700, '1.5', '1.5'],
  'float8' => [701, '2.71828182845904', '2.71828182845904'],
  'numeric' => [1700, '12345.678', '12345.678'],
  'bool' => [16, 't', 't'],
  'text' => [25, TEXT, TEXT],
  'varchar' => [1043, 'varchar value', 'varchar value'],
  'bytea' => [17, BYTEA, '\\x00017f80ff5c27'],
  'date' => [1082, '2024-02-29', '2024-02-29'],
  'time' => [1083, '13:45:30.123456', '13:45:30.123456'],
  'timestamp' => [1114, '2024-02-29 13:45:30.123456', '2024-02-29 13:45:30.123456'],
  'timestamptz' => [1184, '2024-02-29 13:45:30.123456+00', '2024-02-29 13:45:30.123456+00']
}.freeze
COPY_IN = "1\tone\t10\n2\t\\N\t20\n3\tback\\\\slash\t\\N\n4\ttab\\there\t-4\n"
COPY_ROWS = [['1', 'one', '10'], ['2', nil, '20'], ['3', 'back\\slash', nil], ['4', "tab\there", '-4']].freeze

class CheckFailed < StandardError; end

$failed = 0
$out = Mutex.new

def report(line)
  $out.synchronize do
    $stdout.puts line
    $stdout.flush
  end
end

def describe(e)
  return e.message if e.is_a?(CheckFailed)

  s = "#{e.class}: #{e.message}"
  s += " [SQLSTATE #{e.result.error_field(PG::PG_DIAG_SQLSTATE)}]" if e.respond_to?(:result) && e.result
  s.gsub(/\s*\n\s*/, ' ').strip
end

# Run a check in a thread; one that hangs is reported and left behind.
def check(name, timeout = 20)
  outcome = nil
  thread = Thread.new do
    yield
    outcome = :ok
  rescue Exception => e # rubocop:disable Lint/RescueException
    outcome = e
  end
  thread.report_on_exception = false
  if thread.join(timeout).nil?
    $failed += 1
    report "FAIL #{name}: no answer within #{timeout} s"
    return false
  end
  if outcome == :ok
    report "ok #{name}"
    return true
  end
  $failed += 1
  report "FAIL #{name}: #{describe(outcome)}"
  $stderr.puts outcome.backtrace.join("\n") if ENV['COMPAT_TRACE']
  false
end

def expect(got, want, what)
  raise CheckFailed, "#{what}: got #{got.inspect}, expected #{want.inspect}" unless got == want
end

def expect_true(cond, message)
  raise CheckFailed, message unless cond
end

def connect
  PG.connect(host: HOST, port: PORT, dbname: DBNAME, user: USER, password: PASSWORD,
             sslmode: SSLMODE, connect_timeout: 10, application_name: 'compat-ruby')
end

def customer3(conn)
  r = conn.exec_params('SELECT id, name FROM customers WHERE id = 3', [])
  expect(r.ntuples, 1, 'rows for customer 3')
  "#{r.getvalue(0, 0)}|#{r.getvalue(0, 1)}"
end

def long_query
  return 'SELECT pg_sleep(30)' if BACKEND == 'pg'

  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 60000000) SELECT count(*) FROM c'
end

def text_of(conn, id)
  r = conn.exec_params("SELECT c_text FROM #{T} WHERE id = $1", [id])
  r.ntuples.zero? ? '<no row>' : r.getvalue(0, 0)
end

def type_checks(conn)
  full = nulls = problem = nil
  begin
    marks = (2..COLUMNS.size + 1).map { |i| "$#{i}" }.join(', ')
    ins = "INSERT INTO #{T} (id, #{COLS}) VALUES ($1, #{marks})"
    params = [{ value: '1', type: 23 }] + VALUES.map do |name, (oid, value, _)|
      { value: value, type: oid, format: name == 'bytea' ? 1 : 0 }
    end
    conn.exec_params(ins, params)
    conn.exec_params(ins, [{ value: '2', type: 23 }] + VALUES.map { |_, (oid, _, _)| { value: nil, type: oid } })
    sel = "SELECT id, #{COLS} FROM #{T} WHERE id = $1"
    full = conn.exec_params(sel, [1]).values
    nulls = conn.exec_params(sel, [2]).values
  rescue StandardError => e
    problem = e
  end
  VALUES.each_with_index do |(name, (_, _, text)), i|
    check("type_#{name}") do
      raise problem if problem

      expect(full.size, 1, 'rows with id 1')
      expect(full[0][i + 1], text, COLUMNS[i][0])
      expect(conn.unescape_bytea(full[0][i + 1]).b, BYTEA.b, 'unescaped bytea') if name == 'bytea'
    end
  end
  check('nulls') do
    raise problem if problem

    expect(nulls, [['2'] + [nil] * COLUMNS.size], 'NULL row')
  end
  check('binary_bytea') do
    raise problem if problem

    r = conn.exec_params("SELECT c_bytea FROM #{T} WHERE id = $1", [1], 1)
    expect(r.ftype(0), 17, 'type OID of the bytea column')
    expect(r.getvalue(0, 0).b, BYTEA.b, 'bytea in binary format')
  end
end

def check_rollback
  conn = connect
  conn.exec('BEGIN')
  conn.exec_params("INSERT INTO #{T} (id, c_text) VALUES ($1, $2)", [3, 'rolled back'])
  expect(text_of(conn, 3), 'rolled back', 'row inside the transaction')
  conn.exec('ROLLBACK')
  expect(text_of(conn, 3), '<no row>', 'row after ROLLBACK')
  conn.close
end

def check_error(conn)
  begin
    conn.exec_params("INSERT INTO #{T} (id, c_text) VALUES ($1, $2)", [1, 'duplicate'])
  rescue PG::Error => e
    expect(e.result&.error_field(PG::PG_DIAG_SQLSTATE), '23505', "SQLSTATE of a duplicate key (#{e.message.strip})")
    expect_true(e.is_a?(PG::UniqueViolation), "raised #{e.class}, expected PG::UniqueViolation")
    return
  end
  raise CheckFailed, 'a duplicate key was accepted'
end

def check_prepared
  conn = connect
  conn.prepare('compat_sel', "SELECT id, c_varchar FROM #{T} WHERE id = $1")
  [[1, 'varchar value'], [1, 'varchar value'], [2, nil]].each do |id, want|
    rows = conn.transaction { |c| c.exec_prepared('compat_sel', [id]).values }
    expect(rows, [[id.to_s, want]], "exec_prepared(#{id})")
  end
  conn.close
end

def check_copy_in
  conn = connect
  conn.exec("DELETE FROM #{T}_c")
  res = conn.copy_data("COPY #{T}_c (id, t, n) FROM STDIN") do
    COPY_IN.each_line { |line| conn.put_copy_data(line) }
  end
  expect(res.cmd_tuples, COPY_ROWS.size, 'rows reported by COPY')
  expect(conn.exec("SELECT id, t, n FROM #{T}_c ORDER BY id").values, COPY_ROWS, 'rows copied in')
  conn.close
end

def check_copy_out
  conn = connect
  conn.exec("DELETE FROM #{T}_c")
  COPY_ROWS.each { |row| conn.exec_params("INSERT INTO #{T}_c (id, t, n) VALUES ($1, $2, $3)", row) }
  data = +''
  conn.copy_data("COPY #{T}_c (id, t, n) TO STDOUT") do
    while (row = conn.get_copy_data)
      data << row
    end
  end
  expect(data.force_encoding('UTF-8').lines.map(&:chomp).sort, COPY_IN.lines.map(&:chomp).sort, 'COPY TO STDOUT lines')
  conn.close
end

def check_cancel
  conn = connect
  started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  canceller = Thread.new do
    sleep 0.5
    err = conn.cancel
    $stderr.puts "cancel: #{err}" if err
  end
  begin
    conn.exec(long_query)
    raise CheckFailed, 'the long query finished without being cancelled'
  rescue PG::Error => e
    expect(e.result&.error_field(PG::PG_DIAG_SQLSTATE), '57014', "SQLSTATE of the cancelled query (#{e.message.strip})")
  end
  canceller.join
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
  expect_true(elapsed < 8, format('cancelled only after %.1f s', elapsed))
  expect(customer3(conn), '3|Dmitri Almeida', 'query after the cancel')
  conn.close
end

def main
  if MODE == 'tls'
    check('tls') do
      conn = connect
      expect_true(conn.ssl_in_use?, 'the connection is not encrypted')
      expect(customer3(conn), '3|Dmitri Almeida', 'customer 3 over TLS')
      conn.close
    end
    return
  end
  connected = check('connect') do
    conn = connect
    expect(customer3(conn), '3|Dmitri Almeida', 'customer 3')
    conn.close
  end
  return unless connected

  conn = connect
  check('setup') do
    conn.exec("DROP TABLE IF EXISTS #{T}")
    conn.exec("DROP TABLE IF EXISTS #{T}_c")
    conn.exec("CREATE TABLE #{T} (id integer PRIMARY KEY, #{COLUMNS.map { |c| c.join(' ') }.join(', ')})")
    conn.exec("CREATE TABLE #{T}_c (id integer PRIMARY KEY, t text, n integer)")
  end
  type_checks(conn)
  check('rollback') { check_rollback }
  check('error_sqlstate') { check_error(conn) }
  check('error_recovery') { expect(text_of(conn, 1), TEXT, 'query after the error') }
  check('prepared_reuse') { check_prepared }
  conn.close
  check('copy_in', 10) { check_copy_in }
  check('copy_out', 10) { check_copy_out }
  check('cancel', 10) { check_cancel }
  check('cleanup') do
    c = connect
    c.exec("DROP TABLE #{T}")
    c.exec("DROP TABLE #{T}_c")
    c.close
  end
end

main
$stdout.flush
exit!($failed.positive? ? 1 : 0)
