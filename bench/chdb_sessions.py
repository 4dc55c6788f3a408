"""The session table in ClickHouse SQL through chDB (embedded ClickHouse), as
a ClickHouse user would write it: each session's (time, kind) pairs gathered
and sorted as an array, spans added up with array functions, the names taken
once per session. Prints the row count and a checksum like
duckdb_sessions.py, so that results can be compared.

Usage: python3 chdb_sessions.py FILE.parquet THREADS
Needs: pip install chdb
"""

import sys

import chdb

IDLE_AFTER_US = 15 * 60 * 1_000_000


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    # Timestamps as Parquet timestamps or as text, whichever the file has.
    t = "assumeNotNull(toUnixTimestamp64Micro(toDateTime64(timestamp, 6, 'UTC')))"
    kinds = "toInt8(multiIf(lower(kind) = 'login', 0, lower(kind) = 'idle', 2, lower(kind) = 'logout', 3, 1))"
    sql = f"""
        WITH per AS (
            SELECT session_id, any(user_id) AS user_id, any(user_name) AS user_name,
                   any(client_guid) AS client_guid, any(client_name) AS client_name,
                   arraySort(groupArray(({t}, {kinds}))) AS ev
            FROM file('{path}', Parquet) GROUP BY session_id
        )
        SELECT session_id, user_id, user_name, client_guid, client_name,
               ev[1].1 AS login, ev[-1].1 AS logout, length(ev) AS events,
               arraySum((a, b) -> if(a.2 <= 1 AND b.1 - a.1 <= {IDLE_AFTER_US}, b.1 - a.1, toInt64(0)),
                        arrayPopBack(ev), arrayPopFront(ev)) AS productive
        FROM per ORDER BY login, session_id
        SETTINGS max_threads = {threads}
    """
    out = chdb.query(sql, "TabSeparated").bytes().decode()
    rows = [line.split("\t") for line in out.splitlines() if line]
    checksum = sum(int(r[0]) * 7 + int(r[8]) for r in rows) % (1 << 61)
    print(f"{len(rows)} sessions, checksum {checksum}")


if __name__ == "__main__":
    main()
