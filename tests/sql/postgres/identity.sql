-- # The postgres dialect passes statements through; only trailing semicolons go.
-- in: SELECT 1;
-- out: SELECT 1
-- in: SELECT a::int, E'x\ny', $$q$$ FROM t WHERE b ILIKE 'x%';;
-- out: SELECT a::int, E'x\ny', $$q$$ FROM t WHERE b ILIKE 'x%'
-- in: SELECT 1 -- trailing comment
-- out: SELECT 1 -- trailing comment
-- in: INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO NOTHING RETURNING id;
-- out: INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO NOTHING RETURNING id
-- in: SELECT * FROM items ORDER BY embedding <=> $1 LIMIT 5;
-- out: SELECT * FROM items ORDER BY embedding <=> $1 LIMIT 5
-- in: BEGIN ISOLATION LEVEL SERIALIZABLE;
-- out: BEGIN ISOLATION LEVEL SERIALIZABLE
-- in: SELECT 'a;b', "we;ird" FROM t /* ; */;
-- out: SELECT 'a;b', "we;ird" FROM t /* ; */
-- in: SELECT '1 day'::interval, x IS DISTINCT FROM y;
-- out: SELECT '1 day'::interval, x IS DISTINCT FROM y
-- in: CREATE TABLE t (id bigserial PRIMARY KEY, v text[]);
-- out: CREATE TABLE t (id bigserial PRIMARY KEY, v text[])
-- # A literal continued on the next line keeps the newline: after a blank,
-- # 'b\'c' would be a standard literal of its own, and end at \'.
-- in:
SELECT 'multi'
    'line', E'esc\n'
    'b\'c'
-- out:
SELECT 'multi'
'line', E'esc\n'
'b\'c'
-- in: SELECT 'a' 'b'
-- out: SELECT 'a' 'b'
