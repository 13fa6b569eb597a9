-- # Booleans, escape strings, dollar quoting, string continuations.
-- in: SELECT * FROM t WHERE active = true AND deleted = false
-- out: SELECT * FROM t WHERE active = 1 AND deleted = 0
-- in: SELECT * FROM t WHERE active IS TRUE OR flag IS NOT FALSE
-- out: SELECT * FROM t WHERE active IS TRUE OR flag IS NOT FALSE
-- in: UPDATE t SET active = TRUE WHERE id = $1
-- out: UPDATE t SET active = 1 WHERE id = $1
-- in: SELECT E'it\'s\ta test\\', E'\x41\101\u00e9'
-- out: SELECT 'it''s	a test\', 'AAé'
-- in: SELECT $$it's$$, $tag$a $$ b$tag$
-- out: SELECT 'it''s', 'a $$ b'
-- in: SELECT 'a'
-- out: SELECT 'a'
-- in:     'b'
-- out: 'b'
-- in: SELECT 'true', "true" FROM t
-- out: SELECT 'true', "true" FROM t
-- in: SELECT E'\u0000'
-- error: 22025 invalid Unicode escape value in E'' string
-- in: SELECT X'DEADBEEF', B'0101'
-- error: 0A000 B'' bit string literals are not supported by this backend
-- in: SELECT U&'d\0061t\+000061'
-- error: 0A000 U&'' Unicode escape string literals are not supported by this backend
-- in:
SELECT 'multi'
    'line', E'esc\n'
    'aped'
-- out:
SELECT 'multiline', 'esc
aped'
-- # Continuations join across -- comments, and only across a newline.
-- in:
SELECT E'a' -- first part
    'b\'c'
-- out: SELECT 'ab''c'
-- in: SELECT 'a' 'b'
-- out: SELECT 'a' 'b'
-- in:
SELECT X'1F'
    '20'
-- out: SELECT X'1F20'
-- # Braces are no PostgreSQL syntax; an ODBC driver would run them as escape clauses.
-- in: SELECT {fn ucase('abc')}
-- error: 42601 syntax error at or near "{"
-- in: SELECT 1 }
-- error: 42601 syntax error at or near "}"
-- in: SELECT '{fn x}', "{d}", '{1,2}' /* {call f} */ FROM t
-- out: SELECT '{fn x}', "{d}", '{1,2}' /* {call f} */ FROM t
