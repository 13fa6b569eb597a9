-- # Booleans become BIT values; string literals become standard '...' literals.
-- in: SELECT * FROM t WHERE active = true AND deleted = false
-- out: SELECT * FROM t WHERE active = 1 AND deleted = 0
-- in: UPDATE t SET active = TRUE, archived = FALSE WHERE id = $1
-- out: UPDATE t SET active = 1, archived = 0 WHERE id = $1
-- in: SELECT * FROM t WHERE active IS TRUE
-- error: 0A000 IS [NOT] TRUE/FALSE is not supported by this backend; compare with = instead
-- in: SELECT * FROM t WHERE flag IS NOT FALSE
-- error: 0A000 IS [NOT] TRUE/FALSE is not supported by this backend; compare with = instead
-- in: SELECT E'it\'s\ta test\\', E'\x41\101\u00e9', E'\U0001F600'
-- out: SELECT 'it''s	a test\', 'AAé', '😀'
-- in: SELECT $$it's$$, $tag$a $$ b$tag$
-- out: SELECT 'it''s', 'a $$ b'
-- in: SELECT 'true', "true", N'national' FROM t
-- out: SELECT 'true', "true", 'national' FROM t
-- in: SELECT X'DEADBEEF'
-- error: 0A000 X'' bit string literals are not supported by this backend
-- in: SELECT 1 /* a comment */ + 2 -- the end
-- out: SELECT 1 /* a comment */ + 2 -- the end
-- in:
SELECT * FROM t -- a line comment
WHERE a = true
-- out:
SELECT * FROM t -- a line comment
WHERE a = 1
-- in: SELECT $$$$, E''
-- out: SELECT '', ''
-- in: SELECT 1 FROM (SELECT 2
-- error: 42601 unbalanced parentheses
-- # Continuations join across -- comments, and only across a newline.
-- in:
SELECT E'a' -- first part
    'b\'c'
-- out: SELECT 'ab''c'
-- in: SELECT 'a' 'b'
-- out: SELECT 'a' 'b'
-- # Braces are no PostgreSQL syntax; an ODBC driver would run them as escape clauses.
-- in: SELECT {fn ucase('abc')}
-- error: 42601 syntax error at or near "{"
-- in: SELECT 1 }
-- error: 42601 syntax error at or near "}"
-- in: SELECT '{fn x}', "{d}", '{1,2}' /* {call f} */ FROM t
-- out: SELECT '{fn x}', "{d}", '{1,2}' /* {call f} */ FROM t
