#!/usr/bin/env python3
"""Benchmark sessionstat against DuckDB SQL, chDB and Python Polars on the same files.

In one run on one machine: generates time-ordered Parquet logs with
`sessionstat generate` (and, with --generator duckdb, with DuckDB, so that a
file sessionstat did not write is measured too), and copies of each as CSV,
CSV.gz (gzip -c of that CSV) and NDJSON written by DuckDB (names, quoting and
timestamp text as DuckDB writes them). Then, per file, it times, alternating
and repeated, DuckDB SQL for the session table (bench/duckdb_sessions.py:
read_parquet, read_csv or read_json), on Parquet also ClickHouse SQL through
chDB (bench/chdb_sessions.py) and Python Polars (bench/polars_sessions.py),
on CSV.gz also `gzip -dc > /dev/null` (decompression alone: the floor), and
`sessionstat sessions` (one page) and `sessionstat report`, each as its own
process with the same thread count. Reports the median wall time, CPU time
(user + system) and peak RSS, and the ratios against DuckDB on the same file.
It checks that the tools agree (the session count and a checksum of
(session id, productive time)) and that sessionstat's page is the same from
every copy of a log.

With --spark sc://HOST:PORT (and --bin built with `--features spark`), it
times instead, on each Parquet log and on that Spark Connect server,
`sessionstat report --engine` against a hand-written PySpark session query
(bench/pyspark_sessions.py: the job a data engineer would write instead),
alternating, with the local `report` beside them, and gives the ratios
against the PySpark query (issue 33's goal: at most 2x).

With --apps, the logs sessionstat generates have the `app` and `url` columns
(SPEC 13; `generate --apps`): the peers read the same columns as before, and
sessionstat's report writes the applications and sites files from them.

Usage: python3 bench/run.py [--sizes 10M,100M] [--pairs 3] [--threads 2]
       [--formats parquet,csv,csv.gz,ndjson] [--generator sessionstat,duckdb] [--apps]
       [--workdir /tmp/sessionstat-bench] [--bin target/release/sessionstat]
       [--spark sc://127.0.0.1:15002]
Needs: pip install duckdb polars chdb; cargo build --release. With --spark:
pip install 'pyspark[connect]==4.3.0', a Spark Connect server (pyspark's
sbin/start-connect-server.sh) and a build with --features spark.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse_size(text):
    text = text.strip().upper()
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1], 1)
    return int(float(text.rstrip("KMG")) * scale)


def copy_log(log, fmt, path):
    """Writes the Parquet log `log` as `fmt` to `path`, as DuckDB writes it."""
    import duckdb

    if fmt == "csv.gz":
        csv = path[: -len(".gz")]
        if not os.path.exists(csv):
            copy_log(log, "csv", csv)
        with open(path + ".part", "wb") as out:
            subprocess.run(["gzip", "-c", csv], stdout=out, check=True)
    else:
        options = "HEADER" if fmt == "csv" else "FORMAT json"
        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"COPY (SELECT * FROM read_parquet('{log}')) TO '{path}.part' ({options})")
    os.rename(path + ".part", path)


def run(cmd, env, out_path):
    """Runs one command; returns (wall s, cpu s, peak RSS MiB)."""
    with open(out_path, "w") as out:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def checksum_of_report(folder):
    import duckdb

    row = duckdb.connect().execute(
        f"SELECT count(*), sum(session_id * 7 + productive_us) % (1::HUGEINT << 61) "
        f"FROM read_parquet('{folder}/sessions.parquet')"
    ).fetchall()[0]
    return f"{row[0]} sessions, checksum {int(row[1] or 0)}"


def machine():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def measure(args, env, path, fmt, label, pages):
    """Times every tool on one file; returns the result rows."""
    out = os.path.join(args.workdir, "out")
    report = os.path.join(args.workdir, "report")
    tools = {"duckdb": [sys.executable, os.path.join(HERE, "duckdb_sessions.py"), path, str(args.threads)]}
    if fmt == "parquet":
        try:
            import chdb  # noqa: F401

            tools["chdb"] = [sys.executable, os.path.join(HERE, "chdb_sessions.py"), path, str(args.threads)]
        except ImportError:
            print("chdb not installed: pip install chdb", file=sys.stderr)
        if not args.skip_polars:
            tools["polars"] = [sys.executable, os.path.join(HERE, "polars_sessions.py"), path]
    if fmt == "csv.gz":
        tools["gzip -dc"] = ["gzip", "-dc", path]
    tools["sessionstat sessions"] = [args.bin, "sessions", "--input", path, "--quiet"]
    tools["sessionstat report"] = [args.bin, "report", "--input", path, "--out", report, "--quiet"]
    samples = {name: [] for name in tools}
    answers = {}
    for pair in range(args.pairs):
        for name, cmd in tools.items():
            stdout = "/dev/null" if name == "gzip -dc" else out + "-" + name.replace(" ", "-")
            samples[name].append(run(cmd, env, stdout))
            if stdout != "/dev/null":
                with open(stdout) as f:
                    answers[name] = f.read(200).strip()
            print(f"  {label} pair {pair + 1} {name}: {samples[name][-1][0]:.2f} s", file=sys.stderr)
    # the tools must agree before their times mean anything
    ours = checksum_of_report(report)
    page = json.loads(open(out + "-sessionstat-sessions").read())
    peers = {answers[n] for n in ("duckdb", "chdb", "polars") if n in answers}
    if peers != {ours} or page["totalCount"] != int(ours.split()[0]):
        sys.exit(f"results differ on {path}: peers {peers!r}, sessionstat {ours!r}, page totalCount {page['totalCount']}")
    return summary(label, samples, "duckdb")


def summary(label, samples, peer):
    """Per tool: the median wall and CPU time, the peak RSS, and the wall
    and RSS as ratios against `peer` (RSS: when the peer's is its own; a
    client of a server measures only the client)."""
    base_wall = statistics.median(s[0] for s in samples[peer])
    base_rss = statistics.median(s[2] for s in samples[peer]) if peer == "duckdb" else float("nan")
    rows = []
    for name, s in samples.items():
        wall = statistics.median(x[0] for x in s)
        cpu = statistics.median(x[1] for x in s)
        rss = max(x[2] for x in s)
        rows.append((label, name, wall, cpu, rss, wall / base_wall, rss / base_rss))
    return rows


def measure_spark(args, env, path, label):
    """Times report on Spark, the hand-written PySpark query and the local
    report on one Parquet log; returns the result rows, ratios against the
    PySpark query."""
    out = os.path.join(args.workdir, "out")
    report = os.path.join(args.workdir, "report")
    local = os.path.join(args.workdir, "report-local")
    tools = {
        "pyspark session query": [
            sys.executable,
            os.path.join(HERE, "pyspark_sessions.py"),
            path,
            args.spark,
            os.path.join(args.workdir, "pyspark-sessions"),
        ],
        "sessionstat report --engine sc://": [
            args.bin, "report", "--input", path, "--out", report, "--engine", args.spark, "--quiet",
        ],
        "sessionstat report (local)": [args.bin, "report", "--input", path, "--out", local, "--quiet"],
    }
    samples = {name: [] for name in tools}
    answer = None
    for pair in range(args.pairs):
        for name, cmd in tools.items():
            samples[name].append(run(cmd, env, out + "-spark"))
            if name.startswith("pyspark"):
                with open(out + "-spark") as f:
                    answer = f.read(200).strip()
            print(f"  {label} pair {pair + 1} {name}: {samples[name][-1][0]:.2f} s", file=sys.stderr)
    ours, theirs = checksum_of_report(report), checksum_of_report(local)
    if {ours, theirs, answer} != {ours}:
        sys.exit(f"results differ on {path}: pyspark {answer!r}, spark {ours!r}, local {theirs!r}")
    return summary(label, samples, "pyspark session query")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10M,100M")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--users", type=int, default=0, help="users in generated logs (default: events / 5000)")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "sessionstat-bench"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "sessionstat"))
    ap.add_argument("--skip-polars", action="store_true")
    ap.add_argument("--apps", action="store_true", help="generated logs have app and url columns")
    ap.add_argument("--formats", default="parquet,csv,csv.gz,ndjson")
    ap.add_argument("--spark", help="sc://HOST:PORT: time report on Spark against bench/pyspark_sessions.py")
    ap.add_argument(
        "--generator",
        default="sessionstat",
        help="comma-separated: sessionstat (sessionstat generate) and/or duckdb "
        "(bench/duckdb_log.py, a log sessionstat did not write: INT64 ids, Snappy, "
        "events / 500 sessions)",
    )
    args = ap.parse_args()

    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first")
    os.makedirs(args.workdir, exist_ok=True)
    env = dict(os.environ)
    env.update(POLARS_MAX_THREADS=str(args.threads), RAYON_NUM_THREADS=str(args.threads))
    results = []
    cases = [(g, s) for g in args.generator.split(",") for s in args.sizes.split(",")]
    for generator, size_text in cases:
        n = parse_size(size_text)
        apps = args.apps and generator == "sessionstat"
        log = os.path.join(args.workdir, f"events-{generator}-{n}{'-apps' if apps else ''}.parquet")
        if not os.path.exists(log):
            print(f"generating {log} ({n} events, {generator})", file=sys.stderr)
            if generator == "duckdb":
                cmd = [sys.executable, os.path.join(HERE, "duckdb_log.py"), str(n), str(max(1, n // 500)), log]
            else:
                users = args.users or max(50, n // 5000)
                cmd = [args.bin, "generate", "--out", log, "--events", str(n), "--users", str(users), "--seed", "11"]
                if apps:
                    cmd.append("--apps")
            subprocess.run(cmd, check=True)
        if args.spark:
            results.extend(measure_spark(args, env, log, f"{size_text} ({generator}) parquet"))
            continue
        pages = {}
        for fmt in args.formats.split(","):
            path = log if fmt == "parquet" else log[: -len(".parquet")] + "." + fmt
            if not os.path.exists(path):
                print(f"writing {path}", file=sys.stderr)
                copy_log(log, fmt, path)
            label = f"{size_text} ({generator}{', apps' if apps else ''}) {fmt}"
            results.extend(measure(args, env, path, fmt, label, pages))
            pages[fmt] = open(os.path.join(args.workdir, "out-sessionstat-sessions")).read()
        if len(set(pages.values())) != 1:
            sys.exit(f"sessionstat's page differs between copies: {sorted(pages)}")

    print(f"\nmachine: {machine()}; threads: {args.threads}; median of {args.pairs} alternating runs; answers agree\n")
    peer = "the PySpark query" if args.spark else "DuckDB"
    print(f"| events | tool | wall s | CPU s | peak RSS MiB | wall / {peer} | RSS / {peer} |")
    print("|---|---|---|---|---|---|---|")
    for size, name, wall, cpu, rss, rw, rr in results:
        print(f"| {size} | {name} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {rw:.2f} | {rr:.2f} |")


if __name__ == "__main__":
    main()
