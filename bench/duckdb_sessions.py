"""The session table in DuckDB SQL, as a good analyst would write it.

On Parquet the numeric work (window filter, spans, sums) runs on three
columns, and the names are joined afterwards, once per session (a second
scan of only the name columns is cheap in Parquet). On text (CSV, CSV.gz,
NDJSON: read_csv / read_json, auto-detected as a user would) a scan costs
the whole parse, so the file is read once and the names go along with the
spans. Prints the row count and a checksum so that results can be compared
with sessionstat's.

Usage: python3 duckdb_sessions.py FILE THREADS [START_US END_US]
"""

import sys

import duckdb

IDLE_AFTER_US = 15 * 60 * 1_000_000


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    window = ""
    if len(sys.argv) > 4:
        window = f"WHERE epoch_us(timestamp::TIMESTAMPTZ) BETWEEN {int(sys.argv[3])} AND {int(sys.argv[4])}"
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET TimeZone = 'UTC'")
    if path.endswith(".parquet"):
        rows = con.execute(parquet_query(path, window)).fetchall()
    else:
        src = f"read_json('{path}', format = 'newline_delimited')" if ".ndjson" in path else f"read_csv('{path}')"
        rows = con.execute(text_query(src, window)).fetchall()
    checksum = sum(r[0] * 7 + r[9] for r in rows) % (1 << 61)
    print(f"{len(rows)} sessions, checksum {checksum}")


def text_query(src, window):
    return f"""
        WITH ev AS (
            SELECT session_id, user_id, user_name, client_guid, client_name,
                   epoch_us(timestamp::TIMESTAMPTZ) AS t,
                   CASE lower(kind) WHEN 'login' THEN 0 WHEN 'idle' THEN 2 WHEN 'logout' THEN 3 ELSE 1 END AS k
            FROM {src} {window}
        ),
        spans AS (
            SELECT *, lead(t) OVER (PARTITION BY session_id ORDER BY t, k) - t AS gap
            FROM ev
        ),
        totals AS (
            SELECT session_id, any_value(user_id) AS user_id, any_value(user_name) AS user_name,
                   any_value(client_guid) AS client_guid, any_value(client_name) AS client_name,
                   min(t) AS login, max(t) AS logout, count(*) AS events,
                   coalesce(sum(gap) FILTER (WHERE k <= 1 AND gap <= {IDLE_AFTER_US}), 0) AS productive
            FROM spans GROUP BY session_id
        )
        SELECT session_id, user_id, user_name, client_guid, client_name,
               login, logout, logout - login AS duration, logout - login - productive AS idle,
               productive, events
        FROM totals ORDER BY login, session_id
    """


def parquet_query(path, window):
    return f"""
        WITH ev AS (
            SELECT session_id, epoch_us(timestamp::TIMESTAMPTZ) AS t,
                   CASE lower(kind) WHEN 'login' THEN 0 WHEN 'idle' THEN 2 WHEN 'logout' THEN 3 ELSE 1 END AS k
            FROM read_parquet('{path}') {window}
        ),
        spans AS (
            SELECT session_id, t, k,
                   lead(t) OVER (PARTITION BY session_id ORDER BY t, k) - t AS gap
            FROM ev
        ),
        totals AS (
            SELECT session_id, min(t) AS login, max(t) AS logout, count(*) AS events,
                   coalesce(sum(gap) FILTER (WHERE k <= 1 AND gap <= {IDLE_AFTER_US}), 0) AS productive
            FROM spans GROUP BY session_id
        ),
        names AS (
            SELECT session_id, any_value(user_id) AS user_id, any_value(user_name) AS user_name,
                   any_value(client_guid) AS client_guid, any_value(client_name) AS client_name
            FROM read_parquet('{path}') WHERE session_id IN (SELECT session_id FROM totals)
            GROUP BY session_id
        )
        SELECT t.session_id, n.user_id, n.user_name, n.client_guid, n.client_name,
               t.login, t.logout, t.logout - t.login AS duration, t.logout - t.login - t.productive AS idle,
               t.productive, t.events
        FROM totals t JOIN names n USING (session_id)
        ORDER BY t.login, t.session_id
    """


if __name__ == "__main__":
    main()
