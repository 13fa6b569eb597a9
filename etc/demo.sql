-- Demo database for pgiris's embedded SQLite backend (`make demo-db`).
--
-- A small shop: customers place orders made of order_items, each naming a
-- product.  Every value is derived from the row number with integer
-- arithmetic, so the file builds the same database on every machine and the
-- integration tests can compute the expected answer of any query.
--
-- Column types are declared the way another SQL database would declare them
-- (VARCHAR(n), NUMERIC(p,s), DATE, TIMESTAMP, BOOLEAN): the SQLite ODBC driver
-- reports the declared type to pgiris, which maps it to a PostgreSQL type.
--
-- Rows: 300 customers, 120 products, 1200 orders, about 3000 order items.

-- WAL lets readers and one writer work at the same time on the pool's
-- separate connections; the setting is stored in the database file.
PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;

BEGIN;

CREATE TABLE customers (
    id           INTEGER PRIMARY KEY,
    name         VARCHAR(40) NOT NULL,
    email        VARCHAR(80) NOT NULL UNIQUE,
    city         VARCHAR(40) NOT NULL,
    country      CHAR(2) NOT NULL,
    signup_date  DATE NOT NULL,
    is_active    BOOLEAN NOT NULL,
    credit_limit NUMERIC(10,2) NOT NULL,
    notes        TEXT
);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    sku         VARCHAR(20) NOT NULL UNIQUE,
    name        VARCHAR(60) NOT NULL,
    category    VARCHAR(20) NOT NULL,
    price       NUMERIC(10,2) NOT NULL,
    weight_kg   REAL NOT NULL,
    in_stock    BOOLEAN NOT NULL,
    description TEXT
);

CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    ordered_at  TIMESTAMP NOT NULL,
    status      VARCHAR(12) NOT NULL,
    total       NUMERIC(12,2)
);

CREATE TABLE order_items (
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    line_no    INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id),
    quantity   INTEGER NOT NULL,
    unit_price NUMERIC(10,2) NOT NULL,
    discount   REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line_no)
);

-- Names are picked from two short lists by arithmetic on the row number;
-- 16 first names x 15 last names are enough for 300 distinct emails once
-- the id is appended.
INSERT INTO customers (id, name, email, city, country, signup_date,
                       is_active, credit_limit, notes)
WITH RECURSIVE
    n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300),
    first(k, v) AS (VALUES (0, 'Ada'), (1, 'Boris'), (2, 'Chiara'), (3, 'Dmitri'),
                           (4, 'Elena'), (5, 'Farid'), (6, 'Grace'), (7, 'Hiro'),
                           (8, 'Ines'), (9, 'Jonas'), (10, 'Kemal'), (11, 'Lena'),
                           (12, 'Mateo'), (13, 'Nadia'), (14, 'Oskar'), (15, 'Priya')),
    last(k, v) AS (VALUES (0, 'Almeida'), (1, 'Berg'), (2, 'Costa'), (3, 'Dubois'),
                          (4, 'Eriksen'), (5, 'Fischer'), (6, 'Garcia'), (7, 'Horvat'),
                          (8, 'Ivanova'), (9, 'Jensen'), (10, 'Kowalski'), (11, 'Lindqvist'),
                          (12, 'Moreau'), (13, 'Novak'), (14, 'Okafor')),
    city(k, v, c) AS (VALUES (0, 'Lisbon', 'PT'), (1, 'Lyon', 'FR'), (2, 'Gdansk', 'PL'),
                             (3, 'Bergen', 'NO'), (4, 'Graz', 'AT'), (5, 'Porto', 'PT'),
                             (6, 'Boston', 'US'), (7, 'Osaka', 'JP'), (8, 'Leeds', 'GB'),
                             (9, 'Utrecht', 'NL'))
SELECT n.i,
       first.v || ' ' || last.v,
       lower(first.v) || '.' || lower(last.v) || '.' || n.i || '@example.com',
       city.v,
       city.c,
       date('2021-01-01', '+' || ((n.i * 37) % 1000) || ' days'),
       (n.i % 7) <> 0,
       500 + ((n.i * 131) % 40) * 250,
       CASE WHEN n.i % 10 = 0 THEN 'key account' ELSE NULL END
FROM n
JOIN first ON first.k = n.i % 16
JOIN last ON last.k = (n.i / 16) % 15
JOIN city ON city.k = (n.i * 7) % 10;

INSERT INTO products (id, sku, name, category, price, weight_kg, in_stock,
                      description)
WITH RECURSIVE
    n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120),
    cat(k, v) AS (VALUES (0, 'books'), (1, 'garden'), (2, 'kitchen'),
                         (3, 'office'), (4, 'toys'), (5, 'tools')),
    adj(k, v) AS (VALUES (0, 'Compact'), (1, 'Deluxe'), (2, 'Classic'),
                         (3, 'Rugged'), (4, 'Eco'))
SELECT n.i,
       'SKU-' || substr('00000' || n.i, -5, 5),
       adj.v || ' ' || cat.v || ' item ' || n.i,
       cat.v,
       round(((n.i * 7919) % 20000) / 100.0 + 0.99, 2),
       round(((n.i * 53) % 5000) / 1000.0 + 0.05, 3),
       (n.i % 11) <> 0,
       'A ' || lower(adj.v) || ' thing for the ' || cat.v || ' shelf.'
FROM n
JOIN cat ON cat.k = n.i % 6
JOIN adj ON adj.k = (n.i / 6) % 5;

INSERT INTO orders (id, customer_id, ordered_at, status)
WITH RECURSIVE
    n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200),
    st(k, v) AS (VALUES (0, 'new'), (1, 'paid'), (2, 'shipped'), (3, 'shipped'),
                        (4, 'delivered'), (5, 'delivered'), (6, 'cancelled'))
SELECT n.i,
       1 + (n.i * 97) % 300,
       datetime('2023-01-01 08:00:00', '+' || (n.i * 431) || ' minutes'),
       st.v
FROM n
JOIN st ON st.k = (n.i * 5) % 7;

-- One to four lines per order.
INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price,
                         discount)
WITH RECURSIVE
    line(o, l) AS (
        SELECT id, 1 FROM orders
        UNION ALL
        SELECT o, l + 1 FROM line WHERE l < 1 + (o * 13) % 4
    )
SELECT line.o,
       line.l,
       p.id,
       1 + (line.o + line.l * 3) % 5,
       p.price,
       CASE WHEN (line.o + line.l) % 9 = 0 THEN 0.1 ELSE 0 END
FROM line
JOIN products AS p ON p.id = 1 + (line.o * 17 + line.l * 29) % 120;

UPDATE orders
SET total = (SELECT round(sum(quantity * unit_price * (1 - discount)), 2)
             FROM order_items
             WHERE order_items.order_id = orders.id);

CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE INDEX orders_ordered_at ON orders (ordered_at);
CREATE INDEX order_items_product_id ON order_items (product_id);

CREATE VIEW order_totals AS
SELECT c.id AS customer_id, c.name, count(o.id) AS order_count,
       coalesce(sum(o.total), 0) AS spent
FROM customers AS c
LEFT JOIN orders AS o ON o.customer_id = c.id
GROUP BY c.id, c.name;

COMMIT;
