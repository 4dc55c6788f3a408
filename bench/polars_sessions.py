"""The session table in Python Polars (lazy), for comparison.

Usage: python3 polars_sessions.py FILE [START_US END_US]   (threads: POLARS_MAX_THREADS)
"""

import sys

import polars as pl

IDLE_AFTER_US = 15 * 60 * 1_000_000


def main():
    path = sys.argv[1]
    lf = pl.scan_parquet(path)
    ev = lf.select(
        pl.col("session_id"),
        pl.col("timestamp").dt.epoch("us").alias("t"),
        pl.col("kind").str.to_lowercase().replace_strict(
            {"login": 0, "activity": 1, "idle": 2, "logout": 3}, default=1, return_dtype=pl.Int8
        ).alias("k"),
    )
    if len(sys.argv) > 3:
        ev = ev.filter(pl.col("t").is_between(int(sys.argv[2]), int(sys.argv[3])))
    totals = (
        ev.sort("session_id", "t", "k")
        .with_columns(gap=pl.col("t").shift(-1).over("session_id") - pl.col("t"))
        .group_by("session_id")
        .agg(
            login=pl.col("t").min(),
            logout=pl.col("t").max(),
            events=pl.len(),
            productive=pl.col("gap").filter((pl.col("k") <= 1) & (pl.col("gap") <= IDLE_AFTER_US)).sum(),
        )
    )
    names = lf.group_by("session_id").agg(
        pl.col("user_id").first(), pl.col("user_name").first(),
        pl.col("client_guid").first(), pl.col("client_name").first(),
    )
    out = (
        totals.join(names, on="session_id")
        .with_columns(duration=pl.col("logout") - pl.col("login"))
        .with_columns(idle=pl.col("duration") - pl.col("productive"))
        .sort("login", "session_id")
        .collect()
    )
    checksum = int((out["session_id"].cast(pl.Int64) * 7 + out["productive"]).sum()) % (1 << 61)
    print(f"{out.height} sessions, checksum {checksum}")


if __name__ == "__main__":
    main()
