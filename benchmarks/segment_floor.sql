-- The default rules of docs/SEGMENTS.md, written directly in DuckDB SQL: the floor
-- `segment_bench.py` holds `crmseg segment` against. Not part of crmseg.
--
-- Same input (contacts.csv, deals.csv), same as_of, same tags.csv byte for byte,
-- with exact money (integers of the file's own decimal places, split by an exact
-- common denominator) and the file checks a reader must make (typed columns, no
-- empty or repeated id). What it leaves out is what a one-off query can: naming the
-- line of a bad value, property and rule families, companies, currencies.
--
-- Parameters: $contacts, $deals, $as_of, $window_start (as_of - 365 days),
-- $prev_window_start (as_of - 730 days), $out. `segment_floor.py` runs the statements in
-- order; the ones starting with `SELECT` are checks that must return no row.

CREATE TEMP TABLE contacts AS
SELECT trim(id, E' \t\n\r') AS id, email, first_name, last_name, salutation, country
FROM read_csv($contacts, header = true, auto_detect = false, quote = '"', escape = '"',
              columns = {'id': 'VARCHAR', 'email': 'VARCHAR', 'first_name': 'VARCHAR',
                         'last_name': 'VARCHAR', 'salutation': 'VARCHAR', 'country': 'VARCHAR',
                         'company_id': 'VARCHAR', 'channel': 'VARCHAR', 'topics': 'VARCHAR'});

-- Typed read: a bad amount, date or boolean stops the reader.
CREATE TEMP TABLE deals AS
SELECT trim(id, E' \t\n\r') AS id, amount, close_date, won, contact_ids
FROM read_csv($deals, header = true, auto_detect = false, quote = '"', escape = '"',
              columns = {'id': 'VARCHAR', 'amount': 'DECIMAL(38, 12)', 'close_date': 'DATE',
                         'won': 'BOOLEAN', 'contact_ids': 'VARCHAR', 'company_ids': 'VARCHAR',
                         'stage': 'VARCHAR'});

SELECT 'contacts: empty or repeated id' FROM contacts
HAVING count(*) FILTER (WHERE id = '') > 0 OR count(DISTINCT id) < count(*);

SELECT 'deals: empty or repeated id' FROM deals
HAVING count(*) FILTER (WHERE id = '') > 0 OR count(DISTINCT id) < count(*);

-- The amounts' decimal places: the fewest that hold every amount exactly.
CREATE TEMP TABLE scale AS
SELECT CAST(CASE WHEN bool_and(amount = round(amount, 0)) THEN 1
                 WHEN bool_and(amount = round(amount, 2)) THEN 100
                 WHEN bool_and(amount = round(amount, 4)) THEN 10000
                 ELSE 1000000000000 END AS HUGEINT) AS unit
FROM deals WHERE amount IS NOT NULL;

-- Purchases with their known contacts, once each; k of them share the amount.
CREATE TEMP TABLE credits AS
WITH purchases AS (
    SELECT id, close_date,
           CAST(COALESCE(amount, 0) * (SELECT COALESCE(max(unit), 1) FROM scale) AS HUGEINT)
               AS units,
           list_distinct(list_filter(list_transform(string_split(contact_ids, ';'),
                                                    lambda x: trim(x, E' \t\n\r')), lambda x: x <> ''))
               AS ids
    FROM deals
    WHERE won AND close_date IS NOT NULL AND close_date <= $as_of
),
linked AS (
    SELECT p.id, p.close_date, p.units, p.contact_id
    FROM (SELECT id, close_date, units, unnest(ids) AS contact_id FROM purchases) p
    JOIN contacts c ON c.id = p.contact_id
)
SELECT id, contact_id, close_date, units, count(*) OVER (PARTITION BY id) AS k FROM linked;

CREATE TEMP TABLE denominator AS
SELECT COALESCE(list_reduce(list(DISTINCT k), lambda a, b: lcm(a, b)), 1) AS d FROM credits;

CREATE TEMP TABLE metrics AS
WITH shares AS (
    SELECT contact_id, close_date, units * (SELECT d FROM denominator) // k AS share
    FROM credits
),
per_contact AS (
    SELECT contact_id,
           count(*) AS purchases_ever,
           count(*) FILTER (WHERE close_date > $window_start) AS frequency,
           COALESCE(sum(share) FILTER (WHERE close_date > $window_start), 0) AS revenue,
           min(close_date) AS first_purchase,
           max(close_date) AS last_purchase,
           max(close_date, 2) AS latest_two,
           count(*) FILTER (WHERE close_date <= $window_start) AS prev_purchases_ever,
           COALESCE(sum(share) FILTER (
               WHERE close_date > $prev_window_start AND close_date <= $window_start), 0)
               AS prev_revenue
    FROM shares GROUP BY contact_id
)
SELECT *, CAST($as_of AS DATE) - last_purchase AS recency_days FROM per_contact;

-- ABC in both periods: A while the revenue strictly above is < 80 % of the total, B < 95 %.
CREATE TEMP TABLE abc AS
WITH customers AS (
    SELECT 'now' AS period, contact_id, revenue FROM metrics
    UNION ALL
    SELECT 'prev', contact_id, prev_revenue FROM metrics WHERE prev_purchases_ever > 0
),
walked AS (
    SELECT period, contact_id, revenue,
           COALESCE(sum(greatest(revenue, 0)) OVER (
               PARTITION BY period ORDER BY revenue DESC
               RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP), 0) AS before,
           sum(greatest(revenue, 0)) OVER (PARTITION BY period) AS total
    FROM customers
)
SELECT period, contact_id,
       CASE WHEN total = 0 OR revenue <= 0 THEN 'C'
            WHEN before * 5 < 4 * total THEN 'A'
            WHEN before * 20 < 19 * total THEN 'B'
            ELSE 'C' END AS abc
FROM walked;

CREATE TEMP TABLE rfm AS
WITH worse AS (
    SELECT contact_id, frequency > 0 AS active,
           rank() OVER (ORDER BY recency_days DESC) - 1 AS r_worse,
           rank() OVER (PARTITION BY frequency > 0 ORDER BY frequency) - 1 AS f_worse,
           rank() OVER (PARTITION BY frequency > 0 ORDER BY revenue) - 1 AS m_worse,
           count(*) OVER () AS n,
           count(*) OVER (PARTITION BY frequency > 0) AS n_group
    FROM metrics
),
scores AS (
    SELECT contact_id,
           CAST(least(5, 1 + (5 * r_worse) // n) AS INTEGER) AS r,
           CAST(CASE WHEN active THEN least(5, 1 + (5 * f_worse) // n_group) ELSE 1 END
                AS INTEGER) AS f,
           CAST(CASE WHEN active THEN least(5, 1 + (5 * m_worse) // n_group) ELSE 1 END
                AS INTEGER) AS m
    FROM worse
)
SELECT contact_id, r, f, m,
       CASE WHEN r = 5 THEN ['new_customer', 'potential_loyalist', 'potential_loyalist',
                             'champion', 'champion'][f]
            WHEN r = 4 THEN ['promising', 'potential_loyalist', 'potential_loyalist',
                             'loyal', 'loyal'][f]
            WHEN r = 3 THEN ['about_to_sleep', 'about_to_sleep', 'need_attention',
                             'loyal', 'loyal'][f]
            ELSE ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'cannot_lose'][f]
       END AS segment
FROM scores;

CREATE TEMP TABLE quality AS
WITH trimmed AS (
    SELECT id,
           trim(COALESCE(email, ''), E' \t\n\r\v\f') AS email,
           trim(COALESCE(first_name, ''), E' \t\n\r\v\f') AS first_name,
           trim(COALESCE(last_name, ''), E' \t\n\r\v\f') AS last_name,
           trim(COALESCE(country, ''), E' \t\n\r\v\f') AS country,
           trim(COALESCE(salutation, ''), E' \t\n\r\v\f') AS salutation
    FROM contacts
),
shared AS (
    SELECT lower(email) AS email_key FROM trimmed WHERE email <> ''
    GROUP BY 1 HAVING count(*) > 1
)
SELECT t.id,
       nullif(concat_ws(';',
           CASE WHEN s.email_key IS NOT NULL THEN 'duplicate_email' END,
           CASE WHEN t.email <> '' AND NOT (
                    length(t.email) - length(replace(t.email, '@', '')) = 1
                    AND split_part(t.email, '@', 1) <> ''
                    AND split_part(t.email, '@', 2) <> ''
                    AND contains(split_part(t.email, '@', 2), '.'))
                THEN 'invalid_email' END,
           CASE WHEN t.country = '' THEN 'missing_country' END,
           CASE WHEN t.email = '' THEN 'missing_email' END,
           CASE WHEN t.first_name = '' AND t.last_name = '' THEN 'missing_name' END,
           CASE WHEN t.salutation = '' THEN 'missing_salutation' END), '') AS data_quality
FROM trimmed t LEFT JOIN shared s ON s.email_key = lower(t.email);

COPY (
    SELECT c.id AS contact_id, a.abc,
           CASE WHEN a.abc IS NULL THEN NULL WHEN p.abc IS NULL THEN 'new'
                WHEN a.abc < p.abc THEN 'up' WHEN a.abc > p.abc THEN 'down'
                ELSE 'same' END AS abc_trend,
           r.r AS rfm_r, r.f AS rfm_f, r.m AS rfm_m,
           CAST(r.r AS VARCHAR) || CAST(r.f AS VARCHAR) || CAST(r.m AS VARCHAR) AS rfm_score,
           r.segment AS rfm_segment,
           CASE WHEN m.contact_id IS NULL THEN 'prospect'
                WHEN m.recency_days > 365 THEN 'inactive'
                WHEN m.recency_days > 180 THEN 'at_risk'
                WHEN m.purchases_ever >= 2 AND m.latest_two[1] - m.latest_two[2] > 365
                    THEN 'reactivated'
                WHEN CAST($as_of AS DATE) - m.first_purchase <= 90 THEN 'new'
                WHEN m.frequency >= 3 THEN 'loyal'
                WHEN m.purchases_ever >= 2 THEN 'repeat'
                ELSE 'active' END AS lifecycle,
           CAST(NULL AS VARCHAR) AS interests,
           q.data_quality
    FROM contacts c
    LEFT JOIN metrics m ON m.contact_id = c.id
    LEFT JOIN abc a ON a.period = 'now' AND a.contact_id = c.id
    LEFT JOIN abc p ON p.period = 'prev' AND p.contact_id = c.id
    LEFT JOIN rfm r ON r.contact_id = c.id
    JOIN quality q ON q.id = c.id
    ORDER BY c.id
) TO $out (HEADER, DELIMITER ',');
