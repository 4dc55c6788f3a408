#!/usr/bin/env python3
"""Benchmark sessionstat against DuckDB SQL and Python Polars on the same files.

In one run on one machine: generates time-ordered Parquet logs with
`sessionstat generate` (and, with --generator duckdb, with DuckDB, so that a
file sessionstat did not write is measured too), then times, alternating and repeated, DuckDB SQL for
the session table (bench/duckdb_sessions.py), the same in Python Polars
(bench/polars_sessions.py), `sessionstat sessions` (one page) and
`sessionstat report`, each as its own process with the same thread count.
Reports the median wall time, CPU time (user + system) and peak RSS, and the
ratios against DuckDB. It also checks that the tools agree: the session count
and a checksum of (session id, productive time) from DuckDB, Polars and
sessionstat's sessions table.

Usage: python3 bench/run.py [--sizes 10M,100M] [--pairs 3] [--threads 2]
       [--generator sessionstat,duckdb] [--workdir /tmp/sessionstat-bench]
       [--bin target/release/sessionstat]
Needs: pip install duckdb polars; cargo build --release.
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10M,100M")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--users", type=int, default=0, help="users in generated logs (default: events / 5000)")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "sessionstat-bench"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "sessionstat"))
    ap.add_argument("--skip-polars", action="store_true")
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
        log = os.path.join(args.workdir, f"events-{generator}-{n}.parquet")
        if not os.path.exists(log):
            print(f"generating {log} ({n} events, {generator})", file=sys.stderr)
            if generator == "duckdb":
                cmd = [sys.executable, os.path.join(HERE, "duckdb_log.py"), str(n), str(max(1, n // 500)), log]
            else:
                users = args.users or max(50, n // 5000)
                cmd = [args.bin, "generate", "--out", log, "--events", str(n), "--users", str(users), "--seed", "11"]
            subprocess.run(cmd, check=True)
        size_text = f"{size_text} ({generator})"
        out = os.path.join(args.workdir, "out")
        tools = {
            "duckdb": [sys.executable, os.path.join(HERE, "duckdb_sessions.py"), log, str(args.threads)],
            "polars": [sys.executable, os.path.join(HERE, "polars_sessions.py"), log],
            "sessionstat sessions": [args.bin, "sessions", "--input", log, "--quiet"],
            "sessionstat report": [args.bin, "report", "--input", log, "--out", os.path.join(args.workdir, "report"), "--quiet"],
        }
        if args.skip_polars:
            del tools["polars"]
        samples = {name: [] for name in tools}
        answers = {}
        for pair in range(args.pairs):
            for name, cmd in tools.items():
                stdout = out + "-" + name.replace(" ", "-")
                samples[name].append(run(cmd, env, stdout))
                with open(stdout) as f:
                    answers[name] = f.read(200).strip()
                print(f"  {size_text} pair {pair + 1} {name}: {samples[name][-1][0]:.2f} s", file=sys.stderr)
        # the tools must agree before their times mean anything
        ours = checksum_of_report(os.path.join(args.workdir, "report"))
        page = json.loads(open(out + "-sessionstat-sessions").read())
        agreed = {answers["duckdb"], ours} | ({answers["polars"]} if "polars" in answers else set())
        if len(agreed) != 1 or page["totalCount"] != int(ours.split()[0]):
            sys.exit(f"results differ: duckdb {answers['duckdb']!r}, polars {answers.get('polars')!r}, sessionstat {ours!r}, page totalCount {page['totalCount']}")
        base_wall = statistics.median(s[0] for s in samples["duckdb"])
        base_rss = statistics.median(s[2] for s in samples["duckdb"])
        for name, s in samples.items():
            wall = statistics.median(x[0] for x in s)
            cpu = statistics.median(x[1] for x in s)
            rss = max(x[2] for x in s)
            results.append((size_text, name, wall, cpu, rss, wall / base_wall, rss / base_rss))

    print(f"\nmachine: {machine()}; threads: {args.threads}; median of {args.pairs} alternating runs; answers agree\n")
    print("| events | tool | wall s | CPU s | peak RSS MiB | wall / DuckDB | RSS / DuckDB |")
    print("|---|---|---|---|---|---|---|")
    for size, name, wall, cpu, rss, rw, rr in results:
        print(f"| {size} | {name} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {rw:.2f} | {rr:.2f} |")


if __name__ == "__main__":
    main()
