"""A time-ordered event log written by DuckDB: a second generator, so that
sessionstat is also measured on a file it did not write itself.

DuckDB's own Parquet choices: INT64 ids, TIMESTAMP WITH TIME ZONE (us),
dictionary-encoded strings, Snappy, row groups of 122,880 rows. Each session
has about EVENTS / SESSIONS events, 30 s apart plus jitter, starting at a
random time over three days; the first event is a login, the last a logout
for three sessions in four, and about one in ten is idle.

Usage: python3 duckdb_log.py EVENTS SESSIONS OUT.parquet
"""

import sys

import duckdb


def main():
    n, sessions, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"""
    COPY (
      WITH s AS (
        SELECT i AS session_id, i % 3000 AS user_id, 'user' || (i % 3000) AS user_name,
               uuid()::VARCHAR AS client_guid, 'WS-' || (hash(i) % 5000) AS client_name,
               TIMESTAMPTZ '2024-01-01 00:00:00+00'
                 + to_microseconds((hash(i * 7) % (86400000000 * 3))::BIGINT) AS t0
        FROM range(1000000, 1000000 + {sessions}) r(i)
      ),
      e AS (SELECT (hash(j) % {sessions}) + 1000000 AS sid, j FROM range({n}) r(j)),
      ee AS (
        SELECT s.*, e.j,
               row_number() OVER (PARTITION BY s.session_id ORDER BY e.j) AS k,
               count(*) OVER (PARTITION BY s.session_id) AS cnt
        FROM e JOIN s ON e.sid = s.session_id
      )
      SELECT session_id::BIGINT AS session_id, user_id::BIGINT AS user_id, user_name,
             client_guid, client_name,
             t0 + to_microseconds(((k - 1) * 30000000 + hash(j) % 20000000)::BIGINT) AS timestamp,
             CASE WHEN k = 1 THEN 'login' WHEN k = cnt AND session_id % 4 <> 0 THEN 'logout'
                  WHEN hash(j * 3) % 10 = 0 THEN 'idle' ELSE 'activity' END AS kind
      FROM ee ORDER BY timestamp
    ) TO '{out}' (FORMAT parquet)
    """)


if __name__ == "__main__":
    main()
