// pgx v4 against pgiris: its statement cache (every query a named prepared
// statement, binary parameters and results), Prepare, transactions,
// PgConn().CopyFrom/CopyTo with text-format COPY (pgx's own CopyFrom is
// binary COPY), PgConn().CancelRequest and TLS.
//
// Prints "ok NAME" or "FAIL NAME: reason" per check; exits 1 if any failed.
// Settings come from the environment (see tests/compat/README.md).
// Built with GO111MODULE=off against Debian's golang-github-jackc-pgx-v4-dev.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgtype"
	"github.com/jackc/pgx/v4"
)

func env(name, dflt string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return dflt
}

var (
	host     = env("COMPAT_HOST", "127.0.0.1")
	port     = env("COMPAT_PORT", "6432")
	dbname   = env("COMPAT_DBNAME", "demo")
	user     = env("COMPAT_USER", "demo")
	password = env("COMPAT_PASSWORD", "demo")
	sslmode  = env("COMPAT_SSLMODE", "disable")
	backend  = env("COMPAT_BACKEND", dbname)
	mode     = env("COMPAT_MODE", "full")
	table    = fmt.Sprintf("compat_go_%s_%d", backend, os.Getpid())
)

var columns = [][2]string{
	{"c_int2", "smallint"}, {"c_int4", "integer"}, {"c_int8", "bigint"},
	{"c_float4", "real"}, {"c_float8", "double precision"}, {"c_numeric", "numeric(12,3)"},
	{"c_bool", "boolean"}, {"c_text", "text"}, {"c_varchar", "varchar(40)"},
	{"c_bytea", "bytea"}, {"c_date", "date"}, {"c_time", "time"},
	{"c_timestamp", "timestamp"}, {"c_timestamptz", "timestamptz"},
}

const text = "h\u00e9llo w\u00f6rld \u2713 it's \"q\" \\ end"
const copyIn = "1\tone\t10\n2\t\\N\t20\n3\tback\\\\slash\t\\N\n4\ttab\\there\t-4\n"

var byteaValue = []byte{0, 1, 0x7f, 0x80, 0xff, '\\', '\''}
var timestamp = time.Date(2024, 2, 29, 13, 45, 30, 123456000, time.UTC)

type row struct {
	id int32
	t  *string
	n  *int32
}

var copyRows = []row{{1, sp("one"), ip(10)}, {2, nil, ip(20)}, {3, sp("back\\slash"), nil}, {4, sp("tab\there"), ip(-4)}}

func rowsText(rows []row) string {
	parts := make([]string, len(rows))
	for i, r := range rows {
		t, n := "NULL", "NULL"
		if r.t != nil {
			t = *r.t
		}
		if r.n != nil {
			n = fmt.Sprint(*r.n)
		}
		parts[i] = fmt.Sprintf("%d|%s|%s", r.id, t, n)
	}
	return strings.Join(parts, ";")
}

func sp(s string) *string { return &s }
func ip(i int32) *int32   { return &i }

type checkFailed struct{ msg string }

func (e checkFailed) Error() string { return e.msg }

func fail(format string, args ...interface{}) error { return checkFailed{fmt.Sprintf(format, args...)} }

var (
	failed int
	outMu  sync.Mutex
)

func report(name string, err error) {
	outMu.Lock()
	defer outMu.Unlock()
	if err == nil {
		fmt.Printf("ok %s\n", name)
		return
	}
	failed++
	msg := err.Error()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg += " [SQLSTATE " + pgErr.Code + "]"
	}
	fmt.Printf("FAIL %s: %s\n", name, strings.ReplaceAll(msg, "\n", " "))
}

// check runs fn in a goroutine; one that hangs is reported and left behind.
func check(name string, timeout time.Duration, fn func() error) bool {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fail("panic: %v", r)
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		report(name, err)
		return err == nil
	case <-time.After(timeout):
		report(name, fail("no answer within %d s", int(timeout.Seconds())))
		return false
	}
}

func expect(got, want interface{}, what string) error {
	if !reflect.DeepEqual(got, want) {
		return fail("%s: got %#v, expected %#v", what, got, want)
	}
	return nil
}

func ctx() context.Context { return context.Background() }

func connect() (*pgx.Conn, error) {
	dsn := fmt.Sprintf("host=%s port=%s dbname=%s user=%s password=%s sslmode=%s connect_timeout=10 application_name=compat-go",
		host, port, dbname, user, password, sslmode)
	return pgx.Connect(ctx(), dsn)
}

func longQuery() string {
	if backend == "pg" {
		return "SELECT pg_sleep(30)"
	}
	return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 60000000) SELECT count(*) FROM c"
}

func customer3(c *pgx.Conn) error {
	var id int32
	var name string
	if err := c.QueryRow(ctx(), "SELECT id, name FROM customers WHERE id = 3").Scan(&id, &name); err != nil {
		return err
	}
	return expect(fmt.Sprintf("%d|%s", id, name), "3|Dmitri Almeida", "customer 3")
}

func colList() string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c[0]
	}
	return strings.Join(names, ", ")
}

func typeChecks(c *pgx.Conn) {
	var (
		i2      int16
		i4      int32
		i8      int64
		f4      float32
		f8      float64
		num     float64
		b       bool
		txt     string
		vc      string
		by      []byte
		date    time.Time
		tm      pgtype.Time
		ts      time.Time
		tstz    time.Time
		tstzOID uint32
		nulls   []interface{}
	)
	problem := func() error {
		marks := make([]string, len(columns))
		for i := range columns {
			marks[i] = fmt.Sprintf("$%d", i+2)
		}
		ins := fmt.Sprintf("INSERT INTO %s (id, %s) VALUES ($1, %s)", table, colList(), strings.Join(marks, ", "))
		args := []interface{}{int32(1), int16(32767), int32(-2147483648), int64(9007199254740993), float32(1.5),
			float64(2.71828182845904), "12345.678", true, text, "varchar value", byteaValue,
			time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 13, 45, 30, 123456000, time.UTC),
			timestamp, timestamp}
		if _, err := c.Exec(ctx(), ins, args...); err != nil {
			return err
		}
		nullArgs := make([]interface{}, len(args))
		nullArgs[0] = int32(2)
		if _, err := c.Exec(ctx(), ins, nullArgs...); err != nil {
			return err
		}
		sel := fmt.Sprintf("SELECT id, %s FROM %s WHERE id = $1", colList(), table)
		rows, err := c.Query(ctx(), sel, 1)
		if err != nil {
			return err
		}
		var id int32
		if !rows.Next() {
			rows.Close()
			return fail("row 1 not found (%v)", rows.Err())
		}
		tstzOID = rows.FieldDescriptions()[14].DataTypeOID
		if err := rows.Scan(&id, &i2, &i4, &i8, &f4, &f8, &num, &b, &txt, &vc, &by, &date, &tm, &ts, &tstz); err != nil {
			rows.Close()
			return err
		}
		rows.Close()
		rows, err = c.Query(ctx(), sel, 2)
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			return fail("row 2 not found (%v)", rows.Err())
		}
		nulls, err = rows.Values()
		return err
	}()
	got := map[string]func() error{
		"int2":    func() error { return expect(i2, int16(32767), "c_int2") },
		"int4":    func() error { return expect(i4, int32(-2147483648), "c_int4") },
		"int8":    func() error { return expect(i8, int64(9007199254740993), "c_int8") },
		"float4":  func() error { return expect(f4, float32(1.5), "c_float4") },
		"float8":  func() error { return expect(f8, 2.71828182845904, "c_float8") },
		"numeric": func() error { return expect(num, 12345.678, "c_numeric as float64") },
		"bool":    func() error { return expect(b, true, "c_bool") },
		"text":    func() error { return expect(txt, text, "c_text") },
		"varchar": func() error { return expect(vc, "varchar value", "c_varchar") },
		"bytea":   func() error { return expect(by, byteaValue, "c_bytea") },
		"date": func() error {
			return expect(date.Format("2006-01-02 15:04:05.999999 -0700"), "2024-02-29 00:00:00 +0000", "c_date")
		},
		"time": func() error {
			return expect(tm, pgtype.Time{Microseconds: 49530123456, Status: pgtype.Present}, "c_time")
		},
		"timestamp": func() error {
			if !ts.Equal(timestamp) {
				return fail("c_timestamp: got %v, expected %v", ts, timestamp)
			}
			return nil
		},
		"timestamptz": func() error {
			if err := expect(tstzOID, uint32(1184), "type OID of the timestamptz column"); err != nil {
				return err
			}
			if !tstz.Equal(timestamp) {
				return fail("c_timestamptz: got %v, expected %v", tstz, timestamp)
			}
			return nil
		},
	}
	for _, col := range columns {
		name := col[0][2:]
		check("type_"+name, 20*time.Second, func() error {
			if problem != nil {
				return problem
			}
			return got[name]()
		})
	}
	check("nulls", 20*time.Second, func() error {
		if problem != nil {
			return problem
		}
		if err := expect(nulls[0], int32(2), "id"); err != nil {
			return err
		}
		for i, v := range nulls[1:] {
			if v != nil {
				return fail("%s: got %#v, expected NULL", columns[i][0], v)
			}
		}
		return nil
	})
}

func textOf(q interface {
	QueryRow(context.Context, string, ...interface{}) pgx.Row
}, id int) (string, error) {
	var s *string
	err := q.QueryRow(ctx(), fmt.Sprintf("SELECT c_text FROM %s WHERE id = $1", table), id).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "<no row>", nil
	}
	if err != nil {
		return "", err
	}
	if s == nil {
		return "<null>", nil
	}
	return *s, nil
}

func checkRollback() error {
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close(ctx())
	tx, err := c.Begin(ctx())
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx(), fmt.Sprintf("INSERT INTO %s (id, c_text) VALUES ($1, $2)", table), 3, "rolled back"); err != nil {
		return err
	}
	s, err := textOf(tx, 3)
	if err != nil {
		return err
	}
	if err := expect(s, "rolled back", "row inside the transaction"); err != nil {
		return err
	}
	if err := tx.Rollback(ctx()); err != nil {
		return err
	}
	s, err = textOf(c, 3)
	if err != nil {
		return err
	}
	return expect(s, "<no row>", "row after rollback")
}

func checkError(c *pgx.Conn) error {
	_, err := c.Exec(ctx(), fmt.Sprintf("INSERT INTO %s (id, c_text) VALUES ($1, $2)", table), 1, "duplicate")
	if err == nil {
		return fail("a duplicate key was accepted")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fail("not a server error: %v", err)
	}
	return expect(pgErr.Code, "23505", "SQLSTATE of a duplicate key ("+pgErr.Message+")")
}

func checkPrepared() error {
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close(ctx())
	sd, err := c.Prepare(ctx(), "compat_sel", fmt.Sprintf("SELECT id, c_varchar FROM %s WHERE id = $1", table))
	if err != nil {
		return err
	}
	if err := expect(len(sd.ParamOIDs), 1, "parameters described"); err != nil {
		return err
	}
	cases := []struct {
		id   int32
		want *string
	}{{1, sp("varchar value")}, {1, sp("varchar value")}, {2, nil}}
	for _, k := range cases {
		tx, err := c.Begin(ctx())
		if err != nil {
			return err
		}
		var id int32
		var v *string
		if err := tx.QueryRow(ctx(), "compat_sel", k.id).Scan(&id, &v); err != nil {
			tx.Rollback(ctx())
			return err
		}
		if err := tx.Commit(ctx()); err != nil {
			return err
		}
		if err := expect(id, k.id, "id"); err != nil {
			return err
		}
		if (v == nil) != (k.want == nil) || (v != nil && *v != *k.want) {
			return fail("c_varchar of row %d: got %v, expected %v", k.id, v, k.want)
		}
	}
	return nil
}

func copyRowsOf(c *pgx.Conn) ([]row, error) {
	rows, err := c.Query(ctx(), fmt.Sprintf("SELECT id, t, n FROM %s_c ORDER BY id", table))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.t, &r.n); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func checkCopyIn() error {
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close(ctx())
	if _, err := c.Exec(ctx(), fmt.Sprintf("DELETE FROM %s_c", table)); err != nil {
		return err
	}
	tag, err := c.PgConn().CopyFrom(ctx(), strings.NewReader(copyIn), fmt.Sprintf("COPY %s_c (id, t, n) FROM STDIN", table))
	if err != nil {
		return err
	}
	if err := expect(tag.RowsAffected(), int64(len(copyRows)), "rows reported by COPY ("+tag.String()+")"); err != nil {
		return err
	}
	got, err := copyRowsOf(c)
	if err != nil {
		return err
	}
	return expect(rowsText(got), rowsText(copyRows), "rows copied in")
}

func checkCopyOut() error {
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close(ctx())
	if _, err := c.Exec(ctx(), fmt.Sprintf("DELETE FROM %s_c", table)); err != nil {
		return err
	}
	for _, r := range copyRows {
		if _, err := c.Exec(ctx(), fmt.Sprintf("INSERT INTO %s_c (id, t, n) VALUES ($1, $2, $3)", table), r.id, r.t, r.n); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if _, err := c.PgConn().CopyTo(ctx(), &buf, fmt.Sprintf("COPY %s_c (id, t, n) TO STDOUT", table)); err != nil {
		return err
	}
	got := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	want := strings.Split(strings.TrimRight(copyIn, "\n"), "\n")
	sort.Strings(got)
	sort.Strings(want)
	return expect(got, want, "COPY TO STDOUT lines")
}

func checkCancel() error {
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close(ctx())
	start := time.Now()
	timer := time.AfterFunc(500*time.Millisecond, func() {
		if err := c.PgConn().CancelRequest(ctx()); err != nil {
			fmt.Fprintln(os.Stderr, "CancelRequest:", err)
		}
	})
	defer timer.Stop()
	_, err = c.Exec(ctx(), longQuery())
	if err == nil {
		return fail("the long query finished without being cancelled")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fail("not a server error: %v", err)
	}
	if err := expect(pgErr.Code, "57014", "SQLSTATE of the cancelled query ("+pgErr.Message+")"); err != nil {
		return err
	}
	if elapsed := time.Since(start); elapsed > 8*time.Second {
		return fail("cancelled only after %.1f s", elapsed.Seconds())
	}
	return customer3(c)
}

func run() {
	if mode == "tls" {
		check("tls", 20*time.Second, func() error {
			c, err := connect()
			if err != nil {
				return err
			}
			defer c.Close(ctx())
			if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
				return fail("the connection is not encrypted (%T)", c.PgConn().Conn())
			}
			return customer3(c)
		})
		return
	}
	if !check("connect", 20*time.Second, func() error {
		c, err := connect()
		if err != nil {
			return err
		}
		defer c.Close(ctx())
		return customer3(c)
	}) {
		return
	}
	conn, err := connect()
	if err != nil {
		report("setup", err)
		return
	}
	check("setup", 20*time.Second, func() error {
		defs := make([]string, len(columns))
		for i, col := range columns {
			defs[i] = col[0] + " " + col[1]
		}
		for _, sql := range []string{
			"DROP TABLE IF EXISTS " + table,
			"DROP TABLE IF EXISTS " + table + "_c",
			fmt.Sprintf("CREATE TABLE %s (id integer PRIMARY KEY, %s)", table, strings.Join(defs, ", ")),
			fmt.Sprintf("CREATE TABLE %s_c (id integer PRIMARY KEY, t text, n integer)", table),
		} {
			if _, err := conn.Exec(ctx(), sql); err != nil {
				return err
			}
		}
		return nil
	})
	typeChecks(conn)
	check("rollback", 20*time.Second, checkRollback)
	check("error_sqlstate", 20*time.Second, func() error { return checkError(conn) })
	check("error_recovery", 20*time.Second, func() error {
		s, err := textOf(conn, 1)
		if err != nil {
			return err
		}
		return expect(s, text, "query after the error")
	})
	check("prepared_reuse", 20*time.Second, checkPrepared)
	conn.Close(ctx())
	check("copy_in", 10*time.Second, checkCopyIn)
	check("copy_out", 10*time.Second, checkCopyOut)
	check("cancel", 10*time.Second, checkCancel)
	check("cleanup", 20*time.Second, func() error {
		c, err := connect()
		if err != nil {
			return err
		}
		defer c.Close(ctx())
		if _, err := c.Exec(ctx(), "DROP TABLE "+table); err != nil {
			return err
		}
		_, err = c.Exec(ctx(), "DROP TABLE "+table+"_c")
		return err
	})
}

func main() {
	run()
	outMu.Lock()
	defer outMu.Unlock()
	if failed > 0 {
		os.Exit(1)
	}
	os.Exit(0)
}
