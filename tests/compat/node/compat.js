// node-postgres (npm `pg`) against pgiris; COPY through pg-copy-streams.
//
// node-postgres sends every parameter with type 0 (unspecified), as text
// except a Buffer (bytea), which goes in binary format: pgiris has to infer
// each parameter's type from the statement.
//
// Prints "ok NAME" or "FAIL NAME: reason" per check; exits 1 if any failed.
// Settings come from the environment (see tests/compat/README.md).
'use strict'

process.noDeprecation = true // Client.activeQuery, which the cancel needs

const { Client } = require('pg')
const { from: copyFrom, to: copyTo } = require('pg-copy-streams')
const { Readable } = require('stream')
const { pipeline } = require('stream/promises')

const env = (name, dflt) => process.env[name] === undefined ? dflt : process.env[name]
const HOST = env('COMPAT_HOST', '127.0.0.1')
const PORT = parseInt(env('COMPAT_PORT', '6432'), 10)
const DBNAME = env('COMPAT_DBNAME', 'demo')
const USER = env('COMPAT_USER', 'demo')
const PASSWORD = env('COMPAT_PASSWORD', 'demo')
const SSLMODE = env('COMPAT_SSLMODE', 'disable')
const BACKEND = env('COMPAT_BACKEND', DBNAME)
const MODE = env('COMPAT_MODE', 'full')
const T = `compat_node_${BACKEND}_${process.pid}`

const COLUMNS = [
  ['c_int2', 'smallint'], ['c_int4', 'integer'], ['c_int8', 'bigint'],
  ['c_float4', 'real'], ['c_float8', 'double precision'], ['c_numeric', 'numeric(12,3)'],
  ['c_bool', 'boolean'], ['c_text', 'text'], ['c_varchar', 'varchar(40)'],
  ['c_bytea', 'bytea'], ['c_date', 'date'], ['c_time', 'time'],
  ['c_timestamp', 'timestamp'], ['c_timestamptz', 'timestamptz']
]
const COLS = COLUMNS.map(c => c[0]).join(', ')
const TEXT = 'h\u00e9llo w\u00f6rld \u2713 it\'s "q" \\ end'
const BYTEA = Buffer.from([0, 1, 0x7f, 0x80, 0xff, 0x5c, 0x27])
// Parameters as an application would pass them; int8 and numeric as strings
// (a JavaScript number cannot hold them exactly).
const PARAMS = [32767, -2147483648, '9007199254740993', 1.5, 2.71828182845904, '12345.678',
  true, TEXT, 'varchar value', BYTEA, '2024-02-29', '13:45:30.123456',
  '2024-02-29 13:45:30.123456', '2024-02-29 13:45:30.123456+00']
const COPY_IN = '1\tone\t10\n2\t\\N\t20\n3\tback\\\\slash\t\\N\n4\ttab\\there\t-4\n'
const COPY_ROWS = [[1, 'one', 10], [2, null, 20], [3, 'back\\slash', null], [4, 'tab\there', -4]]

let failed = 0

class CheckFailed extends Error {}

function show (v) {
  if (v === null || v === undefined) return String(v)
  if (Buffer.isBuffer(v)) return 'Buffer<' + v.toString('hex') + '>'
  if (v instanceof Date) return 'Date(' + (isNaN(v) ? 'invalid' : v.toISOString()) + ')'
  return JSON.stringify(v) + ' (' + typeof v + ')'
}

function expect (got, want, what) {
  const same = Buffer.isBuffer(want) ? Buffer.isBuffer(got) && got.equals(want) : got === want
  if (!same) throw new CheckFailed(`${what}: got ${show(got)}, expected ${show(want)}`)
}

function expectTrue (cond, message) {
  if (!cond) throw new CheckFailed(message)
}

function describe (e) {
  if (e instanceof CheckFailed) return e.message
  let s = `${e.name || 'Error'}: ${e.message}`
  if (e.code) s += ` [SQLSTATE ${e.code}]`
  return s.replace(/\n/g, ' ')
}

// Run a check; one that hangs is reported after timeoutMs and left behind.
async function check (name, fn, timeoutMs = 20000) {
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`no answer within ${timeoutMs / 1000} s`)), timeoutMs)
  })
  try {
    await Promise.race([fn(), timeout])
    console.log(`ok ${name}`)
    return true
  } catch (e) {
    failed++
    console.log(`FAIL ${name}: ${describe(e)}`)
    if (process.env.COMPAT_TRACE) console.error(e)
    return false
  } finally {
    clearTimeout(timer)
  }
}

function config () {
  return {
    host: HOST,
    port: PORT,
    database: DBNAME,
    user: USER,
    password: PASSWORD,
    application_name: 'compat-node',
    connectionTimeoutMillis: 10000,
    ssl: SSLMODE === 'disable' ? false : { rejectUnauthorized: false }
  }
}

async function connect () {
  const c = new Client(config())
  c.on('error', () => {}) // a connection left behind by a hung check may break later
  await c.connect()
  return c
}

async function customer3 (c) {
  const r = await c.query('SELECT id, name FROM customers WHERE id = 3')
  expect(r.rows.length, 1, 'rows for customer 3')
  return `${r.rows[0].id}|${r.rows[0].name}`
}

function longQuery () {
  if (BACKEND === 'pg') return 'SELECT pg_sleep(30)'
  return 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 60000000) SELECT count(*) FROM c'
}

async function typeChecks (c) {
  let full, nulls, fields, problem
  try {
    const marks = COLUMNS.map((_, i) => `$${i + 2}`).join(', ')
    const ins = `INSERT INTO ${T} (id, ${COLS}) VALUES ($1, ${marks})`
    await c.query(ins, [1, ...PARAMS])
    await c.query(ins, [2, ...PARAMS.map(() => null)])
    const sel = `SELECT id, ${COLS} FROM ${T} WHERE id = $1`
    const r1 = await c.query({ text: sel, values: [1], rowMode: 'array' })
    const r2 = await c.query({ text: sel, values: [2], rowMode: 'array' })
    expect(r1.rows.length, 1, 'rows with id 1')
    expect(r2.rows.length, 1, 'rows with id 2')
    full = r1.rows[0]
    nulls = r2.rows[0]
    fields = r1.fields
  } catch (e) {
    problem = e
  }
  const want = {
    int2: 32767,
    int4: -2147483648,
    int8: '9007199254740993',
    float4: 1.5,
    float8: 2.71828182845904,
    bool: true,
    text: TEXT,
    varchar: 'varchar value',
    bytea: BYTEA,
    time: '13:45:30.123456'
  }
  // node-postgres parses dates into Date objects (milliseconds, local time: TZ=UTC).
  const dates = {
    date: '2024-02-29T00:00:00.000Z',
    timestamp: '2024-02-29T13:45:30.123Z',
    timestamptz: '2024-02-29T13:45:30.123Z'
  }
  for (let i = 0; i < COLUMNS.length; i++) {
    const name = COLUMNS[i][0].slice(2)
    await check('type_' + name, async () => {
      if (problem) throw problem
      const got = full[i + 1]
      if (name === 'numeric') {
        // The SQLite backend has no exact numeric: accept the same text.
        expectTrue(got !== null && String(got) === '12345.678', `got ${show(got)}, expected "12345.678"`)
      } else if (name in dates) {
        expectTrue(got instanceof Date && !isNaN(got) && got.toISOString() === dates[name],
          `got ${show(got)}, expected Date(${dates[name]})`)
        if (name === 'timestamptz') {
          expect(fields[i + 1].dataTypeID, 1184, 'type OID of the timestamptz column')
        }
      } else {
        expect(got, want[name], COLUMNS[i][0])
      }
    })
  }
  await check('nulls', async () => {
    if (problem) throw problem
    expect(nulls[0], 2, 'id')
    for (let i = 1; i < nulls.length; i++) expect(nulls[i], null, COLUMNS[i - 1][0])
  })
}

async function textOf (c, id) {
  const r = await c.query(`SELECT c_text FROM ${T} WHERE id = $1`, [id])
  return r.rows.length ? r.rows[0].c_text : '<no row>'
}

async function checkRollback () {
  const c = await connect()
  try {
    await c.query('BEGIN')
    await c.query(`INSERT INTO ${T} (id, c_text) VALUES ($1, $2)`, [3, 'rolled back'])
    expect(await textOf(c, 3), 'rolled back', 'row inside the transaction')
    await c.query('ROLLBACK')
    expect(await textOf(c, 3), '<no row>', 'row after ROLLBACK')
  } finally {
    await c.end()
  }
}

async function checkError (c) {
  try {
    await c.query(`INSERT INTO ${T} (id, c_text) VALUES ($1, $2)`, [1, 'duplicate'])
  } catch (e) {
    expect(e.code, '23505', `SQLSTATE of a duplicate key (${e.message})`)
    return
  }
  throw new CheckFailed('a duplicate key was accepted')
}

async function checkPrepared () {
  const c = await connect()
  try {
    const text = `SELECT id, c_varchar FROM ${T} WHERE id = $1`
    for (const [id, want] of [[1, 'varchar value'], [1, 'varchar value'], [2, null]]) {
      await c.query('BEGIN')
      const r = await c.query({ name: 'compat_sel', text, values: [id] })
      await c.query('COMMIT')
      expect(r.rows.length, 1, `rows with id ${id}`)
      expect(r.rows[0].id, id, 'id')
      expect(r.rows[0].c_varchar, want, 'c_varchar')
    }
    expect(c.connection.parsedStatements.compat_sel, text, 'statement parsed once and kept')
  } finally {
    await c.end()
  }
}

async function checkCopyIn () {
  const c = await connect()
  try {
    await c.query(`DELETE FROM ${T}_c`)
    const stream = c.query(copyFrom(`COPY ${T}_c (id, t, n) FROM STDIN`))
    await pipeline(Readable.from([Buffer.from(COPY_IN)]), stream)
    expect(stream.rowCount, COPY_ROWS.length, 'rows reported by COPY')
    const r = await c.query({ text: `SELECT id, t, n FROM ${T}_c ORDER BY id`, rowMode: 'array' })
    expect(JSON.stringify(r.rows), JSON.stringify(COPY_ROWS), 'rows copied in')
  } finally {
    await c.end()
  }
}

async function checkCopyOut () {
  const c = await connect()
  try {
    await c.query(`DELETE FROM ${T}_c`)
    for (const row of COPY_ROWS) {
      await c.query(`INSERT INTO ${T}_c (id, t, n) VALUES ($1, $2, $3)`, row)
    }
    const stream = c.query(copyTo(`COPY ${T}_c (id, t, n) TO STDOUT`))
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    const got = Buffer.concat(chunks).toString().split('\n').filter(Boolean).sort()
    const want = COPY_IN.split('\n').filter(Boolean).sort()
    expect(JSON.stringify(got), JSON.stringify(want), 'COPY TO STDOUT lines')
  } finally {
    await c.end()
  }
}

async function checkCancel () {
  const c = await connect()
  const started = Date.now()
  const running = c.query(longQuery())
  const active = c.activeQuery
  setTimeout(() => new Client(config()).cancel(c, active), 500)
  try {
    await running
    throw new CheckFailed('the long query finished without being cancelled')
  } catch (e) {
    if (e instanceof CheckFailed) throw e
    expect(e.code, '57014', `SQLSTATE of the cancelled query (${e.message})`)
  }
  const elapsed = (Date.now() - started) / 1000
  expectTrue(elapsed < 8, `cancelled only after ${elapsed.toFixed(1)} s`)
  expect(await customer3(c), '3|Dmitri Almeida', 'query after the cancel')
  await c.end()
}

async function main () {
  if (MODE === 'tls') {
    await check('tls', async () => {
      const c = await connect()
      try {
        expectTrue(c.connection.stream.encrypted === true, 'the connection is not encrypted')
        expect(await customer3(c), '3|Dmitri Almeida', 'customer 3 over TLS')
      } finally {
        await c.end()
      }
    })
    return
  }
  const connected = await check('connect', async () => {
    const c = await connect()
    try {
      expect(await customer3(c), '3|Dmitri Almeida', 'customer 3')
    } finally {
      await c.end()
    }
  })
  if (!connected) return
  const conn = await connect()
  await check('setup', async () => {
    await conn.query(`DROP TABLE IF EXISTS ${T}`)
    await conn.query(`DROP TABLE IF EXISTS ${T}_c`)
    await conn.query(`CREATE TABLE ${T} (id integer PRIMARY KEY, ${COLUMNS.map(c => c.join(' ')).join(', ')})`)
    await conn.query(`CREATE TABLE ${T}_c (id integer PRIMARY KEY, t text, n integer)`)
  })
  await typeChecks(conn)
  await check('rollback', checkRollback)
  await check('error_sqlstate', () => checkError(conn))
  await check('error_recovery', async () => expect(await textOf(conn, 1), TEXT, 'query after the error'))
  await check('prepared_reuse', checkPrepared)
  await conn.end()
  await check('copy_in', checkCopyIn, 10000)
  await check('copy_out', checkCopyOut, 10000)
  await check('cancel', checkCancel, 10000)
  await check('cleanup', async () => {
    const c = await connect()
    try {
      await c.query(`DROP TABLE ${T}`)
      await c.query(`DROP TABLE ${T}_c`)
    } finally {
      await c.end()
    }
  })
}

main().then(
  () => process.exit(failed ? 1 : 0),
  (e) => {
    console.log(`FAIL main: ${describe(e)}`)
    process.exit(1)
  })
