"""The ODBC module's PostgreSQL unit tests (tests/unit/test_odbc.c, group
odbc_postgres), run against the server this suite starts: `make unit` alone
has no PostgreSQL, so without this they would only ever be skipped."""

import os
import subprocess

from conftest import PGIRIS_BIN


def test_odbc_unit_tests_against_postgres(postgres):
    binary = PGIRIS_BIN.parent / "tests" / "test_odbc"
    assert binary.exists(), "build the unit tests first (make unit): %s" % binary
    env = dict(os.environ, PGIRIS_TEST_PG_CONNSTR=postgres.odbc())
    run = subprocess.run([str(binary)], env=env, capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "SKIPPED" not in output, "PostgreSQL tests were skipped:\n" + output[-2000:]
    # Both groups ran: the SQLite one and the PostgreSQL one.
    assert output.count("PASSED") >= 2, output[-2000:]
