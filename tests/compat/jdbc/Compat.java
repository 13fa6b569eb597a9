// PgJDBC against pgiris: PreparedStatement (server-side, prepareThreshold=1),
// batches, ResultSetMetaData, CopyManager, Statement.cancel and TLS.
//
// Prints "ok NAME" or "FAIL NAME: reason" per check; exits 1 if any failed.
// Settings come from the environment (see tests/compat/README.md):
// COMPAT_HOST COMPAT_PORT COMPAT_DBNAME COMPAT_USER COMPAT_PASSWORD
// COMPAT_SSLMODE (disable|require) COMPAT_BACKEND (demo|pg) COMPAT_MODE (full|tls)

import java.io.StringReader;
import java.io.StringWriter;
import java.lang.reflect.Field;
import java.math.BigDecimal;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.net.ssl.SSLSocket;

import org.postgresql.PGConnection;
import org.postgresql.PGStatement;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;

public class Compat {
    static final String HOST = env("COMPAT_HOST", "127.0.0.1");
    static final String PORT = env("COMPAT_PORT", "6432");
    static final String DBNAME = env("COMPAT_DBNAME", "demo");
    static final String USER = env("COMPAT_USER", "demo");
    static final String PASSWORD = env("COMPAT_PASSWORD", "demo");
    static final String SSLMODE = env("COMPAT_SSLMODE", "disable");
    static final String BACKEND = env("COMPAT_BACKEND", DBNAME);
    static final String MODE = env("COMPAT_MODE", "full");
    static final String T = "compat_jdbc_" + BACKEND + "_" + ProcessHandle.current().pid();

    static final String[][] COLUMNS = {
        {"c_int2", "smallint"}, {"c_int4", "integer"}, {"c_int8", "bigint"},
        {"c_float4", "real"}, {"c_float8", "double precision"}, {"c_numeric", "numeric(12,3)"},
        {"c_bool", "boolean"}, {"c_text", "text"}, {"c_varchar", "varchar(40)"},
        {"c_bytea", "bytea"}, {"c_date", "date"}, {"c_time", "time"},
        {"c_timestamp", "timestamp"}, {"c_timestamptz", "timestamptz"},
    };
    static final String TEXT = "h\u00e9llo w\u00f6rld \u2713 it's \"q\" \\ end";
    static final byte[] BYTEA = {0, 1, 0x7f, (byte) 0x80, (byte) 0xff, '\\', '\''};
    static final BigDecimal NUMERIC = new BigDecimal("12345.678");
    static final LocalDate DATE = LocalDate.of(2024, 2, 29);
    static final LocalTime TIME = LocalTime.of(13, 45, 30, 123456000);
    static final LocalDateTime TIMESTAMP = LocalDateTime.of(2024, 2, 29, 13, 45, 30, 123456000);
    static final OffsetDateTime TIMESTAMPTZ =
        OffsetDateTime.of(2024, 2, 29, 13, 45, 30, 123456000, ZoneOffset.UTC);
    static final String COPY_IN = "1\tone\t10\n2\t\\N\t20\n3\tback\\\\slash\t\\N\n4\ttab\\there\t-4\n";
    static final Object[][] COPY_ROWS = {
        {1, "one", 10}, {2, null, 20}, {3, "back\\slash", null}, {4, "tab\there", -4},
    };

    static int failed = 0;
    static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r);
        t.setDaemon(true);
        return t;
    });

    static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null ? dflt : v;
    }

    static class CheckFailed extends Exception {
        CheckFailed(String message) { super(message); }
    }

    interface Body { void run() throws Exception; }

    static synchronized void ok(String name) {
        System.out.println("ok " + name);
        System.out.flush();
    }

    static synchronized void fail(String name, String reason) {
        failed++;
        System.out.println("FAIL " + name + ": " + reason.replace('\n', ' '));
        System.out.flush();
    }

    static String describe(Throwable e) {
        if (e instanceof CheckFailed) return e.getMessage();
        String s = e.getClass().getSimpleName() + ": " + e.getMessage();
        if (e instanceof SQLException && ((SQLException) e).getSQLState() != null)
            s += " [SQLSTATE " + ((SQLException) e).getSQLState() + "]";
        return s;
    }

    /** Run a check in a thread; one that hangs is reported and left behind. */
    static boolean check(String name, int timeoutSeconds, Body body) {
        Future<?> f = POOL.submit(() -> { body.run(); return null; });
        try {
            f.get(timeoutSeconds, TimeUnit.SECONDS);
            ok(name);
            return true;
        } catch (TimeoutException e) {
            fail(name, "no answer within " + timeoutSeconds + " s");
        } catch (java.util.concurrent.ExecutionException e) {
            fail(name, describe(e.getCause()));
        } catch (InterruptedException e) {
            fail(name, "interrupted");
        }
        return false;
    }

    static boolean check(String name, Body body) { return check(name, 20, body); }

    static void expect(Object got, Object want, String what) throws CheckFailed {
        boolean same = (got instanceof byte[] && want instanceof byte[])
            ? Arrays.equals((byte[]) got, (byte[]) want) : Objects.equals(got, want);
        if (!same)
            throw new CheckFailed(what + ": got " + show(got) + ", expected " + show(want));
    }

    static void expectTrue(boolean cond, String message) throws CheckFailed {
        if (!cond) throw new CheckFailed(message);
    }

    static String show(Object v) {
        if (v == null) return "null";
        if (v instanceof byte[]) {
            StringBuilder sb = new StringBuilder("bytes[");
            for (byte b : (byte[]) v) sb.append(String.format("%02x", b));
            return sb.append("]").toString();
        }
        return v + " (" + v.getClass().getSimpleName() + ")";
    }

    static Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", USER);
        p.setProperty("password", PASSWORD);
        p.setProperty("ApplicationName", "compat-jdbc");
        p.setProperty("connectTimeout", "10");
        p.setProperty("prepareThreshold", "1");
        if (SSLMODE.equals("disable")) {
            p.setProperty("sslmode", "disable");
        } else {
            p.setProperty("ssl", "true");
            p.setProperty("sslmode", SSLMODE);
            p.setProperty("sslfactory", "org.postgresql.ssl.NonValidatingFactory");
        }
        String url = "jdbc:postgresql://" + HOST + ":" + PORT + "/" + DBNAME;
        return DriverManager.getConnection(url, p);
    }

    static String longQuery() {
        if (BACKEND.equals("pg")) return "SELECT pg_sleep(30)";
        return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 60000000) "
            + "SELECT count(*) FROM c";
    }

    static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    static String customer3(Connection c) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, name FROM customers WHERE id = 3")) {
            try (ResultSet rs = ps.executeQuery()) {
                expectTrue(rs.next(), "customer 3 not found");
                return rs.getInt(1) + "|" + rs.getString(2);
            }
        }
    }

    static boolean sslInUse(Connection c) throws Exception {
        Object executor = c.unwrap(BaseConnection.class).getQueryExecutor();
        Class<?> k = executor.getClass();
        while (k != null) {
            try {
                Field f = k.getDeclaredField("pgStream");
                f.setAccessible(true);
                Object stream = f.get(executor);
                Socket s = (Socket) stream.getClass().getMethod("getSocket").invoke(stream);
                return s instanceof SSLSocket;
            } catch (NoSuchFieldException e) {
                k = k.getSuperclass();
            }
        }
        throw new CheckFailed("cannot find the connection's socket");
    }

    // -- the checks ---------------------------------------------------------

    static Object[] fullRow;
    static Object[] nullRow;
    static Exception typeProblem;

    static String cols() {
        StringBuilder sb = new StringBuilder();
        for (String[] c : COLUMNS) sb.append(sb.length() > 0 ? ", " : "").append(c[0]);
        return sb.toString();
    }

    static void insertTyped(Connection c) throws Exception {
        String marks = String.join(", ", Collections.nCopies(COLUMNS.length + 1, "?"));
        String sql = "INSERT INTO " + T + " (id, " + cols() + ") VALUES (" + marks + ")";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setInt(1, 1);
            ps.setShort(2, (short) 32767);
            ps.setInt(3, -2147483648);
            ps.setLong(4, 9007199254740993L);
            ps.setFloat(5, 1.5f);
            ps.setDouble(6, 2.71828182845904);
            ps.setBigDecimal(7, NUMERIC);
            ps.setBoolean(8, true);
            ps.setString(9, TEXT);
            ps.setString(10, "varchar value");
            ps.setBytes(11, BYTEA);
            ps.setObject(12, DATE);
            ps.setObject(13, TIME);
            ps.setObject(14, TIMESTAMP);
            ps.setObject(15, TIMESTAMPTZ);
            expect(ps.executeUpdate(), 1, "rows inserted");
            ps.setInt(1, 2);
            int[] nullTypes = {Types.SMALLINT, Types.INTEGER, Types.BIGINT, Types.REAL, Types.DOUBLE,
                Types.NUMERIC, Types.BOOLEAN, Types.VARCHAR, Types.VARCHAR, Types.BINARY, Types.DATE,
                Types.TIME, Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE};
            for (int i = 0; i < nullTypes.length; i++) ps.setNull(i + 2, nullTypes[i]);
            expect(ps.executeUpdate(), 1, "rows inserted");
        }
        String select = "SELECT id, " + cols() + " FROM " + T + " WHERE id = ?";
        try (PreparedStatement ps = c.prepareStatement(select)) {
            ps.setInt(1, 1);
            try (ResultSet rs = ps.executeQuery()) {
                expectTrue(rs.next(), "row 1 not found");
                fullRow = new Object[] {
                    rs.getInt(1), rs.getShort(2), rs.getInt(3), rs.getLong(4), rs.getFloat(5),
                    rs.getDouble(6), rs.getBigDecimal(7), rs.getBoolean(8), rs.getString(9),
                    rs.getString(10), rs.getBytes(11), rs.getObject(12, LocalDate.class),
                    rs.getObject(13, LocalTime.class), rs.getObject(14, LocalDateTime.class),
                    offsetOrProblem(rs, 15),
                };
            }
            ps.setInt(1, 2);
            try (ResultSet rs = ps.executeQuery()) {
                expectTrue(rs.next(), "row 2 not found");
                nullRow = new Object[COLUMNS.length + 1];
                for (int i = 0; i <= COLUMNS.length; i++) nullRow[i] = rs.getObject(i + 1);
            }
        }
    }

    static Object offsetOrProblem(ResultSet rs, int col) {
        try {
            String type = rs.getMetaData().getColumnTypeName(col);
            if (!type.equals("timestamptz"))
                return "column reported as " + type + ", value " + rs.getString(col);
            return rs.getObject(col, OffsetDateTime.class);
        } catch (SQLException e) {
            return "error: " + describe(e);
        }
    }

    static void typeChecks(Connection c) {
        try {
            insertTyped(c);
        } catch (Exception e) {
            typeProblem = e;
        }
        Object[] want = {1, (short) 32767, -2147483648, 9007199254740993L, 1.5f, 2.71828182845904,
            NUMERIC, true, TEXT, "varchar value", BYTEA, DATE, TIME, TIMESTAMP, TIMESTAMPTZ};
        for (int i = 0; i < COLUMNS.length; i++) {
            final int k = i + 1;
            check("type_" + COLUMNS[i][0].substring(2), () -> {
                if (typeProblem != null) throw typeProblem;
                if (k == 6) {  // numeric: equal value (the SQLite backend may add a scale)
                    BigDecimal got = (BigDecimal) fullRow[k];
                    expectTrue(got != null && got.compareTo(NUMERIC) == 0,
                        "got " + show(got) + ", expected " + NUMERIC);
                } else if (k == 14) {
                    Object got = fullRow[k];
                    expectTrue(got instanceof OffsetDateTime
                        && ((OffsetDateTime) got).isEqual(TIMESTAMPTZ),
                        "got " + show(got) + ", expected " + TIMESTAMPTZ);
                } else {
                    expect(fullRow[k], want[k], COLUMNS[k - 1][0]);
                }
            });
        }
        check("nulls", () -> {
            if (typeProblem != null) throw typeProblem;
            expect(nullRow[0], 2, "id");
            for (int i = 1; i < nullRow.length; i++)
                expect(nullRow[i], null, COLUMNS[i - 1][0]);
        });
    }

    static String textOf(Connection c, int id) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT c_text FROM " + T + " WHERE id = ?")) {
            ps.setInt(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : "<no row>";
            }
        }
    }

    static void checkRollback() throws Exception {
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + T + " (id, c_text) VALUES (?, ?)")) {
                ps.setInt(1, 3);
                ps.setString(2, "rolled back");
                ps.executeUpdate();
            }
            expect(textOf(c, 3), "rolled back", "row inside the transaction");
            c.rollback();
            expect(textOf(c, 3), "<no row>", "row after rollback");
            c.rollback();
        }
    }

    static void checkError(Connection c) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + T + " (id, c_text) VALUES (?, ?)")) {
            ps.setInt(1, 1);
            ps.setString(2, "duplicate");
            ps.executeUpdate();
        } catch (SQLException e) {
            expect(e.getSQLState(), "23505", "SQLSTATE of a duplicate key (" + e.getMessage() + ")");
            return;
        }
        throw new CheckFailed("a duplicate key was accepted");
    }

    static void checkPrepared() throws Exception {
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("SELECT id, c_varchar FROM " + T + " WHERE id = ?")) {
                int[] ids = {1, 1, 2};
                String[] want = {"varchar value", "varchar value", null};
                for (int i = 0; i < ids.length; i++) {
                    ps.setInt(1, ids[i]);
                    try (ResultSet rs = ps.executeQuery()) {
                        expectTrue(rs.next(), "row " + ids[i] + " not found");
                        expect(rs.getInt(1), ids[i], "id");
                        expect(rs.getString(2), want[i], "c_varchar");
                    }
                    c.commit();
                }
                expectTrue(ps.unwrap(PGStatement.class).isUseServerPrepare(),
                    "the driver did not use a server-side prepared statement");
            }
        }
    }

    static void checkBatch(Connection c) throws Exception {
        exec(c, "DELETE FROM " + T + "_c");
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + T + "_c (id, t, n) VALUES (?, ?, ?)")) {
            for (int i = 1; i <= 3; i++) {
                ps.setInt(1, 100 + i);
                ps.setString(2, "batch " + i);
                if (i == 2) ps.setNull(3, Types.INTEGER); else ps.setInt(3, i * 10);
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            expect(Arrays.toString(counts), "[1, 1, 1]", "executeBatch update counts");
        }
        List<String> rows = new ArrayList<>();
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, t, n FROM " + T + "_c ORDER BY id")) {
            while (rs.next()) rows.add(rs.getInt(1) + "|" + rs.getString(2) + "|" + rs.getObject(3));
        }
        expect(rows.toString(), "[101|batch 1|10, 102|batch 2|null, 103|batch 3|30]", "rows");
        exec(c, "DELETE FROM " + T + "_c");
    }

    static void checkMetadata(Connection c) throws Exception {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, " + cols() + " FROM " + T + " WHERE id = 1")) {
            ResultSetMetaData md = rs.getMetaData();
            expect(md.getColumnCount(), COLUMNS.length + 1, "getColumnCount");
            String[] typeNames = {"int4", "int2", "int4", "int8", "float4", "float8", "numeric",
                "bool", "text", "varchar", "bytea", "date", "time", "timestamp", "timestamptz"};
            int[] types = {Types.INTEGER, Types.SMALLINT, Types.INTEGER, Types.BIGINT, Types.REAL,
                Types.DOUBLE, Types.NUMERIC, Types.BIT, Types.VARCHAR, Types.VARCHAR, Types.BINARY,
                Types.DATE, Types.TIME, Types.TIMESTAMP, Types.TIMESTAMP};
            List<String> bad = new ArrayList<>();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                String label = i == 1 ? "id" : COLUMNS[i - 2][0];
                if (!md.getColumnLabel(i).equals(label))
                    bad.add("label " + i + " " + md.getColumnLabel(i) + " != " + label);
                if (!md.getColumnTypeName(i).equals(typeNames[i - 1]) || md.getColumnType(i) != types[i - 1])
                    bad.add(label + " is " + md.getColumnTypeName(i) + "/" + md.getColumnType(i)
                        + ", expected " + typeNames[i - 1] + "/" + types[i - 1]);
            }
            expectTrue(bad.isEmpty(), String.join("; ", bad));
        }
    }

    static void checkCopyIn() throws Exception {
        try (Connection c = connect()) {
            exec(c, "DELETE FROM " + T + "_c");
            CopyManager cm = c.unwrap(PGConnection.class).getCopyAPI();
            long n = cm.copyIn("COPY " + T + "_c (id, t, n) FROM STDIN", new StringReader(COPY_IN));
            expect(n, (long) COPY_ROWS.length, "rows reported by copyIn");
            List<String> rows = new ArrayList<>();
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id, t, n FROM " + T + "_c ORDER BY id")) {
                while (rs.next()) rows.add(rs.getInt(1) + "|" + rs.getString(2) + "|" + rs.getObject(3));
            }
            List<String> want = new ArrayList<>();
            for (Object[] r : COPY_ROWS) want.add(r[0] + "|" + r[1] + "|" + r[2]);
            expect(rows, want, "rows copied in");
        }
    }

    static void checkCopyOut() throws Exception {
        try (Connection c = connect()) {
            exec(c, "DELETE FROM " + T + "_c");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + T + "_c (id, t, n) VALUES (?, ?, ?)")) {
                for (Object[] r : COPY_ROWS) {
                    ps.setInt(1, (Integer) r[0]);
                    ps.setString(2, (String) r[1]);
                    if (r[2] == null) ps.setNull(3, Types.INTEGER); else ps.setInt(3, (Integer) r[2]);
                    ps.executeUpdate();
                }
            }
            CopyManager cm = c.unwrap(PGConnection.class).getCopyAPI();
            StringWriter out = new StringWriter();
            long n = cm.copyOut("COPY " + T + "_c (id, t, n) TO STDOUT", out);
            expect(n, (long) COPY_ROWS.length, "rows reported by copyOut");
            List<String> got = new ArrayList<>(Arrays.asList(out.toString().split("\n")));
            List<String> want = new ArrayList<>(Arrays.asList(COPY_IN.split("\n")));
            Collections.sort(got);
            Collections.sort(want);
            expect(got, want, "COPY TO STDOUT lines");
        }
    }

    static void checkCancel() throws Exception {
        Connection c = connect();
        Statement s = c.createStatement();
        Thread canceller = new Thread(() -> {
            try {
                Thread.sleep(500);
                s.cancel();
            } catch (Exception e) {
                System.err.println("cancel: " + e);
            }
        });
        canceller.setDaemon(true);
        long start = System.nanoTime();
        canceller.start();
        try {
            s.executeQuery(longQuery()).close();
            throw new CheckFailed("the long query finished without being cancelled");
        } catch (SQLException e) {
            expect(e.getSQLState(), "57014", "SQLSTATE of the cancelled query (" + e.getMessage() + ")");
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        expectTrue(elapsed < 8, String.format("cancelled only after %.1f s", elapsed));
        expect(customer3(c), "3|Dmitri Almeida", "query after the cancel");
        c.close();
    }

    // With a fetch size in a transaction the driver reads a result through a
    // portal, a few rows per Execute; other statements run between them.
    static List<Integer> idsInBatches(ResultSet rs, PreparedStatement inner) throws Exception {
        List<Integer> ids = new ArrayList<>();
        while (rs.next()) {
            int id = rs.getInt(1);
            inner.setInt(1, id);
            try (ResultSet r2 = inner.executeQuery()) {
                expectTrue(r2.next(), "customer " + id + " not found inside the loop");
            }
            ids.add(id);
        }
        return ids;
    }

    static void checkFetchSizeNested() throws Exception {
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            List<Integer> all = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM customers ORDER BY id")) {
                while (rs.next()) all.add(rs.getInt(1));
            }
            expectTrue(all.size() > 10, "too few customers to read in batches: " + all.size());
            String sql = "SELECT id FROM customers WHERE id <= ? ORDER BY id";
            try (PreparedStatement outer = c.prepareStatement(sql);
                 PreparedStatement second = c.prepareStatement(sql);
                 PreparedStatement inner = c.prepareStatement("SELECT name FROM customers WHERE id = ?")) {
                outer.setFetchSize(3);
                outer.setInt(1, 1000000);
                try (ResultSet rs = outer.executeQuery()) {
                    expect(idsInBatches(rs, inner), all, "ids read 3 at a time with a query run for each");
                }
                // Two portals of one statement text, read in turns.
                second.setFetchSize(2);
                outer.setInt(1, 1000000);
                second.setInt(1, 7);
                List<Integer> a = new ArrayList<>(), b = new ArrayList<>();
                try (ResultSet ra = outer.executeQuery(); ResultSet rb = second.executeQuery()) {
                    boolean moreA = true, moreB = true;
                    while (moreA || moreB) {
                        if (moreA && (moreA = ra.next())) a.add(ra.getInt(1));
                        if (moreB && (moreB = rb.next())) b.add(rb.getInt(1));
                    }
                }
                expect(a, all, "the first of two portals of one statement");
                expect(b, all.subList(0, 7), "the second of two portals of one statement");
            }
            // An inner statement with a row limit runs in the unnamed portal, bound again each time.
            try (PreparedStatement outer = c.prepareStatement("SELECT id FROM customers ORDER BY id");
                 PreparedStatement inner = c.prepareStatement("SELECT id FROM customers WHERE id >= ? ORDER BY id")) {
                outer.setFetchSize(3);
                inner.setMaxRows(1);
                List<Integer> ids = new ArrayList<>();
                try (ResultSet rs = outer.executeQuery()) {
                    while (rs.next()) {
                        inner.setInt(1, rs.getInt(1));
                        try (ResultSet r2 = inner.executeQuery()) {
                            expectTrue(r2.next() && r2.getInt(1) == rs.getInt(1), "inner row for " + rs.getInt(1));
                        }
                        ids.add(rs.getInt(1));
                    }
                }
                expect(ids, all, "ids read 3 at a time with a row-limited query run for each");
            }
            c.commit();
            // An error with a result still open: closing it and rolling back work.
            try (PreparedStatement outer = c.prepareStatement("SELECT id FROM customers ORDER BY id")) {
                outer.setFetchSize(3);
                ResultSet rs = outer.executeQuery();
                for (int i = 0; i < 4; i++) expectTrue(rs.next(), "row " + i);
                try (Statement s = c.createStatement()) {
                    s.executeQuery("SELECT * FROM no_such_table_in_fetch_check");
                    throw new CheckFailed("a query of a missing table succeeded");
                } catch (SQLException e) {
                    expect(e.getSQLState(), "42P01", "SQLSTATE of the missing table");
                }
                rs.close();
            }
            c.rollback();
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT 42")) {
                expectTrue(r.next(), "no row after the rollback");
                expect(r.getInt(1), 42, "a query after the rollback");
            }
            c.commit();
        }
    }

    public static void main(String[] args) throws Exception {
        if (MODE.equals("tls")) {
            check("tls", () -> {
                try (Connection c = connect()) {
                    expectTrue(sslInUse(c), "the connection is not encrypted");
                    expect(customer3(c), "3|Dmitri Almeida", "customer 3 over TLS");
                }
            });
            System.exit(failed > 0 ? 1 : 0);
        }
        if (!check("connect", () -> {
            try (Connection c = connect()) {
                expect(customer3(c), "3|Dmitri Almeida", "customer 3");
            }
        })) {
            System.exit(1);
        }
        Connection conn = connect();
        check("setup", () -> {
            exec(conn, "DROP TABLE IF EXISTS " + T);
            exec(conn, "DROP TABLE IF EXISTS " + T + "_c");
            StringBuilder ddl = new StringBuilder("CREATE TABLE " + T + " (id integer PRIMARY KEY");
            for (String[] c : COLUMNS) ddl.append(", ").append(c[0]).append(" ").append(c[1]);
            exec(conn, ddl.append(")").toString());
            exec(conn, "CREATE TABLE " + T + "_c (id integer PRIMARY KEY, t text, n integer)");
        });
        typeChecks(conn);
        check("rollback", Compat::checkRollback);
        check("error_sqlstate", () -> checkError(conn));
        check("error_recovery", () -> expect(textOf(conn, 1), TEXT, "query after the error"));
        check("prepared_reuse", Compat::checkPrepared);
        check("batch", () -> checkBatch(conn));
        check("metadata", () -> checkMetadata(conn));
        check("fetch_size_nested", Compat::checkFetchSizeNested);
        check("copy_in", 10, Compat::checkCopyIn);
        check("copy_out", 10, Compat::checkCopyOut);
        check("cancel", 10, Compat::checkCancel);
        check("cleanup", () -> {
            try (Connection c = connect()) {
                exec(c, "DROP TABLE " + T);
                exec(c, "DROP TABLE " + T + "_c");
            }
        });
        System.exit(failed > 0 ? 1 : 0);
    }
}
