"""Reads a `sessionstat report` folder as an analyst would and checks it.

DuckDB reads the Parquet files; Python's csv and json modules read the CSV
files and the JSON pages independently of DuckDB. Checks: the Parquet column
types, that every Parquet row equals its CSV row, that the pages concatenated
are the sessions table in order with the true totalCount on each page, and
the invariants (duration = idle + productive; daily rows add up to the
sessions' totals per user and per client).

Usage: python3 tests/interop.py REPORT_DIR PAGE_SIZE
"""

import csv
import datetime as dt
import json
import os
import sys

import duckdb

TS = "TIMESTAMP WITH TIME ZONE"
TYPES = {
    "sessions": [
        ("session_id", "BIGINT"), ("user_id", "BIGINT"), ("user_name", "VARCHAR"),
        ("client_guid", "VARCHAR"), ("client_name", "VARCHAR"), ("login", TS), ("logout", TS),
        ("duration_us", "BIGINT"), ("idle_us", "BIGINT"), ("productive_us", "BIGINT"),
        ("events", "BIGINT"), ("open", "BOOLEAN"), ("clipped_start", "BOOLEAN"), ("clipped_end", "BOOLEAN"),
    ],
    "daily_user": [
        ("day", "DATE"), ("user_id", "BIGINT"), ("user_name", "VARCHAR"), ("sessions", "BIGINT"),
        ("first_event", TS), ("last_event", TS), ("duration_us", "BIGINT"), ("idle_us", "BIGINT"),
        ("productive_us", "BIGINT"), ("productivity_ratio", "DOUBLE"),
    ],
    "daily_client": [
        ("day", "DATE"), ("client_guid", "VARCHAR"), ("client_name", "VARCHAR"), ("sessions", "BIGINT"),
        ("first_event", TS), ("last_event", TS), ("duration_us", "BIGINT"), ("idle_us", "BIGINT"),
        ("productive_us", "BIGINT"), ("productivity_ratio", "DOUBLE"),
    ],
}

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def us_of_rfc3339(text):
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def us_of_timespan(text):
    """.NET "c" format: [d.]hh:mm:ss[.fffffff] -> microseconds (exact: ticks / 10)."""
    days = 0
    if "." in text.split(":")[0]:
        d, text = text.split(".", 1)
        days = int(d)
    hms, _, frac = text.partition(".")
    h, m, s = (int(x) for x in hms.split(":"))
    ticks = int(frac) if frac else 0
    assert len(frac) in (0, 7), text
    assert ticks % 10 == 0, text
    return ((days * 24 + h) * 60 + m) * 60 * 10**6 + s * 10**6 + ticks // 10


def unneutralise(text):
    return text[1:] if text[:2] in ("'=", "'+", "'-", "'@", "'\t", "'\r") else text


def csv_value(kind, text):
    if text == "":
        return None
    if kind == "BIGINT":
        return int(text)
    if kind == "DOUBLE":
        return float(text)
    if kind == "BOOLEAN":
        assert text in ("true", "false"), text
        return text == "true"
    if kind == TS:
        return us_of_rfc3339(text)
    if kind == "DATE":
        return dt.date.fromisoformat(text)
    return unneutralise(text)


def main(folder, page_size):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    tables = {}
    for name, types in TYPES.items():
        path = os.path.join(folder, name + ".parquet")
        got = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]
        assert got == types, f"{name}: column types {got} != {types}"
        cols = ", ".join(f"epoch_us({c})" if t == TS else c for c, t in types)
        rows = con.execute(f"SELECT {cols} FROM read_parquet('{path}')").fetchall()
        with open(os.path.join(folder, name + ".csv"), newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            assert header == [c for c, _ in types], f"{name}.csv header {header}"
            csv_rows = [tuple(csv_value(t, v) for (_, t), v in zip(types, r)) for r in reader]
        assert len(rows) == len(csv_rows), f"{name}: {len(rows)} parquet rows, {len(csv_rows)} csv rows"
        for i, (a, b) in enumerate(zip(rows, csv_rows)):
            assert tuple(a) == b, f"{name} row {i}: parquet {a} != csv {b}"
        tables[name] = [dict(zip([c for c, _ in types], r)) for r in rows]

    sessions = tables["sessions"]
    for s in sessions:
        assert s["duration_us"] == s["idle_us"] + s["productive_us"], s
        assert s["logout"] - s["login"] == s["duration_us"], s

    pages = sorted(os.listdir(os.path.join(folder, "json")))
    assert pages == [f"page-{i:05d}.json" for i in range(len(pages))], pages
    expected_pages = max(1, -(-len(sessions) // page_size)) if page_size else 1
    assert len(pages) == expected_pages, (len(pages), expected_pages)
    joined = []
    for p in pages:
        with open(os.path.join(folder, "json", p)) as f:
            body = json.load(f)
        assert list(body) == ["sessions", "totalCount"], list(body)
        assert body["totalCount"] == len(sessions), (p, body["totalCount"])
        joined.extend(body["sessions"])
    if page_size == 0:
        assert joined == [], "sessionCount 0 gives empty pages"
    else:
        assert len(joined) == len(sessions), (len(joined), len(sessions))
    for j, s in zip(joined, sessions if page_size else []):
        assert j["sessionId"] == s["session_id"] and j["userId"] == s["user_id"], (j, s)
        assert (j["userName"], j["clientGuid"], j["clientName"]) == (s["user_name"], s["client_guid"], s["client_name"])
        assert us_of_timespan(j["duration"]) == s["duration_us"], (j, s)
        assert us_of_timespan(j["idleTime"]) == s["idle_us"], (j, s)
        assert us_of_timespan(j["productivityTime"]) == s["productive_us"], (j, s)
        assert us_of_rfc3339(j["loginDate"]) == s["login"] // 1000 * 1000, (j, s)
        assert us_of_rfc3339(j["logoutDate"]) == s["logout"] // 1000 * 1000, (j, s)

    for table, key in (("daily_user", ("user_id", "user_name")), ("daily_client", ("client_guid", "client_name"))):
        totals = {}
        for s in sessions:
            k = tuple(s[c] for c in key)
            t = totals.setdefault(k, [0, 0, 0])
            t[0] += s["duration_us"]; t[1] += s["idle_us"]; t[2] += s["productive_us"]
        daily = {}
        for r in tables[table]:
            assert r["duration_us"] == r["idle_us"] + r["productive_us"], r
            ratio = r["productivity_ratio"]
            assert (ratio is None) == (r["duration_us"] == 0), r
            k = tuple(r[c] for c in key)
            t = daily.setdefault(k, [0, 0, 0])
            t[0] += r["duration_us"]; t[1] += r["idle_us"]; t[2] += r["productive_us"]
        assert daily == totals, f"{table}: daily sums differ from the sessions' totals"
        order = [(r["day"],) + tuple(r[c] for c in key) for r in tables[table]]
        assert order == sorted(order), f"{table}: rows not ordered by day, then id"
    print(f"interop: {len(sessions)} sessions, {len(pages)} pages checked")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
