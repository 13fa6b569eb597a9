"""The extended query protocol, as psycopg uses it whenever a query has
parameters (Parse/Bind/Describe/Execute/Sync with $n placeholders)."""

import uuid

import psycopg
import pytest



def test_parameters(pgiris, backend):
    with pgiris.connect(backend) as conn:
        row = conn.execute("SELECT id, name FROM customers WHERE id = %s", (3,)).fetchone()
        assert row == (3, "Dmitri Almeida")
        rows = conn.execute("SELECT id FROM customers WHERE id BETWEEN %s AND %s ORDER BY id",
                            (10, 14)).fetchall()
        assert rows == [(10,), (11,), (12,), (13,), (14,)]
        row = conn.execute("SELECT id FROM customers WHERE email = %s",
                           ("dmitri.almeida.3@example.com",)).fetchone()
        assert row == (3,)


def test_prepared_statement_reused(pgiris, backend):
    with pgiris.connect(backend) as conn:
        for i in (1, 2, 3, 4, 5, 6, 7, 3):
            row = conn.execute("SELECT name FROM customers WHERE id = %s", (i,), prepare=True).fetchone()
            assert row == pgiris.direct(backend, "SELECT name FROM customers WHERE id = %d" % i)[0]


def test_executemany_and_null_parameter(pgiris, backend):
    table = "ext_%s" % uuid.uuid4().hex[:10]
    with pgiris.connect(backend) as conn:
        conn.execute("CREATE TABLE %s (id INTEGER PRIMARY KEY, v VARCHAR(20))" % table)
        try:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO %s (id, v) VALUES (%%s, %%s)" % table,
                                [(i, None if i % 2 else "v%d" % i) for i in range(50)])
            rows = conn.execute("SELECT id, v FROM %s ORDER BY id" % table).fetchall()
            assert rows == [(i, None if i % 2 else "v%d" % i) for i in range(50)]
        finally:
            conn.execute("DROP TABLE %s" % table)


def test_error_in_extended_query_keeps_connection(pgiris, backend):
    with pgiris.connect(backend) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT * FROM no_such_table WHERE id = %s", (1,))
        assert info.value.sqlstate == "42P01"
        assert conn.execute("SELECT id FROM customers WHERE id = %s", (2,)).fetchone() == (2,)
