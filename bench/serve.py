#!/usr/bin/env python3
"""Benchmark `sessionstat serve` with wrk on loopback, and `productivity` against `sessions`.

In one run on one machine: generates a time-ordered log of 10M events in 1M
sessions with DuckDB (bench/duckdb_log.py; or uses --log), starts `sessionstat serve` on it with a key file,
checks that its answers equal the CLI's bytes, then drives it with wrk
(Debian's `wrk` package), which shares the machine's cores with the server:
POST /ekranapi/sessions pages of 10 sessions at 64 connections and of 1000
sessions at 8 connections, each request for a random page of the whole
selection, carrying the ApiKey header: the most the server answers with
wrk's connections always busy, and the p50 / p99 latency wrk measured then.
With oha (`cargo install oha`) on PATH or at --oha, it also offers the
targets' rates (5,000 requests/s of 10-session pages at 64 connections, 500
of 1000-session pages at 8) at a fixed pace, with latency measured from
when each request was due (oha --latency-correction), and reports p50 / p99
there. Then times `sessionstat productivity` and
`sessionstat sessions` on the same log, alternating, and reports the ratio of
their median wall times.

Usage: python3 bench/serve.py [--events 10M] [--sessions 1M] [--seconds 10]
       [--pairs 3] [--workdir /tmp/sessionstat-serve] [--bin target/release/sessionstat]
Needs: apt-get install wrk; pip install duckdb; cargo build --release;
optionally cargo install oha.
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KEY = "bench-key-7f3a"

LUA = """
math.randomseed(%(seed)d)
wrk.method = "POST"
wrk.headers["ApiKey"] = "%(key)s"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local page = math.random(0, %(pages)d - 1)
  return wrk.format(nil, nil, nil, '{"sessionCount":%(count)d,"pageIndex":' .. page .. '}')
end
"""


def parse_size(text):
    text = text.strip().upper()
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1], 1)
    return int(float(text.rstrip("KMG")) * scale)


def post(url, body):
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={"ApiKey": KEY})
    with urllib.request.urlopen(req) as r:
        return r.read()


def wrk_ms(text):
    """wrk's latency text (`1.23ms`, `850.00us`, `1.02s`) in milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url, count, pages, connections, seconds, workdir):
    script = os.path.join(workdir, f"post-{count}.lua")
    with open(script, "w") as f:
        f.write(LUA % {"seed": 7, "key": KEY, "pages": pages, "count": count})
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
        check=True, capture_output=True, text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "sessions per page": count,
        "connections": connections,
        "requests/s": round(rps),
        "p50 ms": round(wrk_ms(lat["50"]), 2),
        "p99 ms": round(wrk_ms(lat["99"]), 2),
        "non-2xx": int(errors.group(1)) if errors else 0,
        "socket errors": socket_errors.group(1) if socket_errors else "none",
    }


def run_oha(oha, url, count, page, connections, rate, seconds):
    out = subprocess.run(
        [oha, "--no-tui", "--output-format", "json", "-z", f"{seconds}s",
         "-c", str(connections), "-q", str(rate), "--latency-correction",
         "-m", "POST", "-H", f"ApiKey: {KEY}", "-T", "application/json",
         "-d", '{"sessionCount":%d,"pageIndex":%d}' % (count, page), url],
        check=True, capture_output=True, text=True,
    ).stdout
    r = json.loads(out)
    pct = r["latencyPercentiles"]
    codes = r.get("statusCodeDistribution", {})
    return {
        "sessions per page": count,
        "connections": connections,
        "offered requests/s": rate,
        "answered requests/s": round(r["summary"]["requestsPerSec"]),
        "p50 ms": round(pct["p50"] * 1000, 2),
        "p99 ms": round(pct["p99"] * 1000, 2),
        "statuses": codes,
    }


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", default="10M")
    ap.add_argument("--sessions", default="1M")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--log", help="an existing log instead of a generated one")
    ap.add_argument("--workdir", default="/tmp/sessionstat-serve")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/sessionstat"))
    ap.add_argument("--port", type=int, default=18181)
    ap.add_argument("--oha", default=shutil.which("oha"))
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    log = args.log
    if not log:
        n, sessions = parse_size(args.events), parse_size(args.sessions)
        log = os.path.join(args.workdir, f"log-{args.events}-{args.sessions}.parquet")
        if not os.path.exists(log):
            subprocess.run(
                [sys.executable, os.path.join(HERE, "duckdb_log.py"), str(n), str(sessions), log],
                check=True,
            )
    keys = os.path.join(args.workdir, "keys.txt")
    with open(keys, "w") as f:
        f.write(KEY + "\n")
    server = subprocess.Popen(
        [args.bin, "serve", "-q", "-i", log, "--api-key-file", keys,
         "--listen", f"127.0.0.1:{args.port}"],
        stderr=subprocess.PIPE, text=True,
    )
    results = {"log": log}
    try:
        line = server.stderr.readline()
        m = re.search(r"serving (\d+) sessions \((\d+) events\)", line)
        if not m:
            sys.exit(f"the server did not start: {line}{server.stderr.read()}")
        sessions, events = int(m.group(1)), int(m.group(2))
        results.update({"sessions": sessions, "events": events})
        url = f"http://127.0.0.1:{args.port}/ekranapi/sessions"
        # The server's answer is the CLI's, byte for byte.
        body = '{"sessionCount":1000,"pageIndex":%d}' % (sessions // 2000)
        req = os.path.join(args.workdir, "req.json")
        with open(req, "w") as f:
            f.write(body)
        cli = subprocess.run([args.bin, "sessions", "-q", "-i", log, "--request", req],
                             check=True, capture_output=True).stdout
        assert post(url, body) == cli, "serve and the CLI disagree"
        results["page bytes (1000 sessions)"] = len(cli)
        results["runs"] = [
            run_wrk(url, 10, sessions // 10, 64, args.seconds, args.workdir),
            run_wrk(url, 1000, max(1, sessions // 1000), 8, args.seconds, args.workdir),
        ]
        if args.oha:
            results["paced runs"] = [
                run_oha(args.oha, url, 10, sessions // 20, 64, 5000, args.seconds),
                run_oha(args.oha, url, 1000, sessions // 2000, 8, 500, args.seconds),
            ]
    finally:
        server.terminate()
        server.wait()
    # productivity against sessions on the same log, alternating.
    times = {"sessions": [], "productivity": []}
    for _ in range(args.pairs):
        for name in random.sample(list(times), 2):
            times[name].append(timed([args.bin, name, "-q", "-i", log]))
    med = {k: statistics.median(v) for k, v in times.items()}
    results["cli seconds (median)"] = {k: round(v, 2) for k, v in med.items()}
    results["productivity / sessions"] = round(med["productivity"] / med["sessions"], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
