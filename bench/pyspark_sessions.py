"""The session table in Spark SQL, as a data engineer would write it by hand.

The peer of `sessionstat report --engine sc://...` (issue 33): the same
session query as bench/duckdb_sessions.py, run on a Spark Connect server
(pyspark's client): read the Parquet log, lead() over each session's events
in (time, kind) order, one group-by, the names once per session, and the
table written to Parquet on the server's disk, as a job would keep it.
Prints the row count and the same checksum as the DuckDB query, read back
from what was written.

Usage: python3 pyspark_sessions.py FILE sc://HOST:PORT OUT_DIR
"""

import sys

from pyspark.sql import SparkSession

IDLE_AFTER_US = 15 * 60 * 1_000_000


def main():
    path, remote, out = sys.argv[1], sys.argv[2], sys.argv[3]
    spark = SparkSession.builder.remote(remote).getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.read.parquet(path).createOrReplaceTempView("events")
    table = spark.sql(
        f"""
        WITH ev AS (
            SELECT session_id, unix_micros(CAST(timestamp AS TIMESTAMP)) AS t,
                   CASE lower(kind) WHEN 'login' THEN 0 WHEN 'idle' THEN 2 WHEN 'logout' THEN 3 ELSE 1 END AS k
            FROM events
        ),
        spans AS (
            SELECT session_id, t, k,
                   lead(t) OVER (PARTITION BY session_id ORDER BY t, k) - t AS gap
            FROM ev
        ),
        totals AS (
            SELECT session_id, min(t) AS login, max(t) AS logout, count(*) AS events,
                   coalesce(sum(IF(k <= 1 AND gap <= {IDLE_AFTER_US}, gap, 0)), 0) AS productive
            FROM spans GROUP BY session_id
        ),
        names AS (
            SELECT session_id, any_value(user_id) AS user_id, any_value(user_name) AS user_name,
                   any_value(client_guid) AS client_guid, any_value(client_name) AS client_name
            FROM events GROUP BY session_id
        )
        SELECT t.session_id, n.user_id, n.user_name, n.client_guid, n.client_name,
               t.login, t.logout, t.logout - t.login AS duration, t.logout - t.login - t.productive AS idle,
               t.productive, t.events
        FROM totals t JOIN names n USING (session_id)
        """
    )
    table.write.mode("overwrite").parquet(out)
    row = spark.sql(
        f"SELECT count(*) AS n, CAST(sum(CAST(session_id AS DECIMAL(38, 0)) * 7 + productive) "
        f"% {1 << 61} AS BIGINT) AS c FROM parquet.`{out}`"
    ).collect()[0]
    print(f"{row['n']} sessions, checksum {int(row['c'] or 0)}")
    spark.stop()


if __name__ == "__main__":
    main()
