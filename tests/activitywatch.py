"""ActivityWatch exports for tests/activitywatch.rs, and their reading by
ActivityWatch's own code (PyPI's aw-core 0.5.18 and aw-client 0.5.15), the
independent reading sessionstat's numbers must equal (SPEC 14.3).

    python3 tests/activitywatch.py make SEED OUT.json [HOST_PREFIX]  # a random export
    python3 tests/activitywatch.py read ZONE EXPORT.json...  # their numbers, as JSON

`make` writes both servers' shapes (aw-server: `+00:00` times, no ids;
aw-server-rust: `Z` times, ids, metadata), newest first or shuffled, pretty
or not, with heartbeat gaps and overlaps, long pauses, several hosts and a
bucket of a type that is not read.

`read` gives, per host and local day in ZONE: the active time (the flooded
not-afk events), the time per application (the web UI's canonical query
with the AFK filter: merge_events_by_keys(filter_period_intersect(
flood(window), not_afk), ["app"])) and per site (the flooded web events
inside browser windows, grouped by SPEC 13.2's site), in microseconds.
"""

import json
import random
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from aw_core.models import Event
from aw_transform import filter_keyvals, filter_period_intersect, flood, merge_events_by_keys
from aw_client.queries import browser_appnames

APPS = ["code", "Firefox", "chrome.exe", "Slack", "Terminal", "firefox", "Microsoft Edge", "a|b\\c"]
URLS = [
    "https://github.com/ActivityWatch/aw-core/pull/73",
    "https://www.example.org/a?b#c",
    "http://user@Docs.Example.COM:8080/x",
    "about:blank",
    "file:///C:/x.pdf",
    "https://[::1]:8443/y",
]


def stamp(t, rust, rng):
    if rust:
        digits = rng.choice([3, 6, 9])
        frac = f"{t.microsecond:06d}" + "".join(rng.choice("0123456789") for _ in range(3))
        return t.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac[:digits] + "Z"
    return t.isoformat()  # +00:00, no fraction when it is 0


def heartbeats(rng, start, end, datas, short):
    """Events from start to end, of random data, with small gaps and overlaps."""
    out = []
    t = start
    while t < end:
        d = timedelta(microseconds=rng.randrange(1, 240_000_000 if not short else 30_000_000))
        data = rng.choice(datas)
        out.append((t, min(d, end - t), data))
        gap = rng.choice([0, 0, rng.randrange(-300_000, 0), rng.randrange(0, 9_000_000), rng.randrange(0, 1_000_000)])
        t = t + d + timedelta(microseconds=gap)
    return out


def make(seed, path, prefix=""):
    rng = random.Random(seed)
    rust = rng.random() < 0.5
    base = datetime(2024, 3, 30, 21, 0, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(0, 600))
    buckets = {}
    for h in range(rng.choice([1, 2])):
        host = prefix + ["laptop", "desk|top\\1"][h]
        afk, window, web = [], [], []
        t = base + timedelta(minutes=rng.randrange(0, 60))
        for _ in range(rng.randrange(2, 6)):
            active = timedelta(minutes=rng.randrange(5, 120))
            afk += heartbeats(rng, t, t + active, [{"status": "not-afk"}], short=False)
            window += heartbeats(rng, t - timedelta(seconds=30), t + active + timedelta(seconds=30),
                                 [{"app": a, "title": f"t{rng.randrange(3)}"} for a in APPS], short=True)
            web += heartbeats(rng, t, t + active,
                              [{"url": u, "title": "x", "audible": False, "incognito": False, "tabCount": 3} for u in URLS],
                              short=True)
            pause = timedelta(minutes=rng.choice([1, 20, 29, 31, 45, 200]), microseconds=rng.randrange(0, 10**6))
            afk.append((t + active, pause, {"status": "afk"}))
            t = t + active + pause
        chrome = []
        if rng.random() < 0.5:
            # A second browser's extension, its tabs overlapping the first's.
            chrome = heartbeats(rng, base, t, [{"url": u, "title": "c"} for u in URLS[::2]], short=True)
            chrome = [c for c in chrome if rng.random() < 0.3]
        kinds = [("aw-watcher-afk", "afkstatus", afk), ("aw-watcher-window", "currentwindow", window),
                 ("aw-watcher-web-firefox", "web.tab.current", web),
                 ("aw-watcher-web-chrome", "web.tab.current", chrome),
                 ("aw-watcher-input", "os.hid.input", [(base, timedelta(seconds=5), {"presses": 3})])]
        for name, kind, events in kinds:
            bid = f"{name}_{host}"
            evs = []
            for i, (ts, dur, data) in enumerate(events):
                # Seconds as a float; now and then with digits past the
                # microsecond, halves among them (timedelta rounds them).
                seconds = dur.total_seconds()
                if rng.random() < 0.3:
                    seconds = round(seconds + rng.choice([5e-7, 2.5e-7, 7.5e-7, 1e-9]), 9)
                e = {"timestamp": stamp(ts, rust, rng), "duration": seconds, "data": data}
                if rust:
                    e = {"id": i + 1, **e}
                evs.append(e)
            evs.reverse()  # newest first, as both servers export
            if rng.random() < 0.3:
                rng.shuffle(evs)
            bucket = {"id": bid, "created": base.isoformat(), "name": None, "type": kind,
                      "client": name, "hostname": host, "events": evs}
            if rust:
                bucket = {"id": bid, "created": base.isoformat(), "name": None, "type": kind,
                          "client": name, "hostname": host, "data": {}, "metadata": {"start": None, "end": None},
                          "events": evs}
            buckets[bid] = bucket
    with open(path, "w") as f:
        json.dump({"buckets": buckets}, f, indent=2 if rng.random() < 0.5 else None)


def site(url):
    """SPEC 13.2, written out from its text."""
    rest = url.split("://", 1)[1] if "://" in url else url
    for i, c in enumerate(rest):
        if c in "/?#":
            rest = rest[:i]
            break
    rest = rest.rsplit("@", 1)[-1]
    if rest.startswith("["):
        close = rest.find("]")
        if close >= 0 and (rest[close + 1:] == "" or (rest[close + 1] == ":" and rest[close + 2:].isdigit() or rest[close + 1:] == ":")):
            rest = rest[:close + 1]
    elif ":" in rest:
        head, tail = rest.rsplit(":", 1)
        if tail == "" or (tail.isascii() and tail.isdigit()):
            rest = head
    rest = "".join(c.lower() if c.isascii() else c for c in rest)
    if rest.startswith("www."):
        rest = rest[4:]
    return rest or url


def us(td):
    return td // timedelta(microseconds=1)


def read(zone, paths):
    zone = ZoneInfo(zone)
    buckets = []
    for path in paths:
        with open(path) as f:
            buckets += json.load(f)["buckets"].values()
    hosts = {}
    for b in buckets:
        evs = [Event(timestamp=e["timestamp"], duration=e["duration"], data=e["data"]) for e in b["events"]]
        hosts.setdefault(b["hostname"], {}).setdefault(b["type"], []).append(evs)
    browsers = [n for names in browser_appnames.values() for n in names]
    out = {"days": [], "apps": [], "sites": [], "sessions": []}
    for host, bk in sorted(hosts.items()):
        [afk] = bk.get("afkstatus", [[]])
        [window] = bk.get("currentwindow", [[]])
        not_afk = filter_keyvals(flood(afk), "status", ["not-afk"])
        win = filter_period_intersect(flood(window), not_afk)
        browser_win = filter_keyvals(win, "app", browsers)
        webs = bk.get("web.tab.current", [])
        if len(webs) <= 1:
            web = [(e.timestamp, e.timestamp + e.duration, e.data) for e in
                   filter_period_intersect(flood(webs[0] if webs else []), browser_win)]
        else:
            web = intersect(cover([flood(w) for w in webs]), browser_win)
        stamps = [e.timestamp for e in not_afk]
        if not stamps:
            continue
        # Sessions (SPEC 14.2): active periods joined across at most 30 min away.
        periods = sorted((e.timestamp, e.timestamp + e.duration) for e in not_afk)
        for s, e in periods:
            last = out["sessions"][-1] if out["sessions"] and out["sessions"][-1][0] == host else None
            if last and s - last[2] <= timedelta(minutes=30):
                last[2] = max(last[2], e)
            else:
                out["sessions"].append([host, s, e])
        day = min(stamps).astimezone(zone).date()
        last = max(e.timestamp + e.duration for e in not_afk).astimezone(zone).date()
        while day <= last:
            start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc)
            nxt = day + timedelta(days=1)
            end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).astimezone(timezone.utc)
            period = [Event(timestamp=start, duration=end - start, data={})]
            active = sum(us(e.duration) for e in filter_period_intersect(not_afk, period))
            if active:
                out["days"].append([host, day.isoformat(), active])
            for e in merge_events_by_keys(filter_period_intersect(win, period), ["app"]):
                out["apps"].append([host, day.isoformat(), e.data["app"], us(e.duration)])
            sites = {}
            for s, e, data in web:
                s, e = max(s, start), min(e, end)
                if s < e:
                    sites[site(data["url"])] = sites.get(site(data["url"]), 0) + us(e - s)
            out["sites"] += [[host, day.isoformat(), s, t] for s, t in sites.items()]
            day = nxt
    out["sessions"] = [[h, stamp_z(s), stamp_z(e)] for h, s, e in out["sessions"]]
    for k in ["days", "apps", "sites"]:
        out[k] = sorted(x for x in out[k] if x[-1] > 0)
    out["sessions"].sort()
    json.dump(out, sys.stdout)


def stamp_z(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cover(lists):
    """SPEC 14.2's rule for several buckets of one type (two browsers): where
    flooded events overlap, the one that starts later covers the overlap
    (of two that start together, the later in (start, length, bucket)
    order). Exact periods: (start, end, data)."""
    evs = sorted([e for events in lists for e in events], key=lambda e: (e.timestamp, e.duration))
    bounds = sorted({t for e in evs for t in (e.timestamp, e.timestamp + e.duration)})
    out = []
    for a, b in zip(bounds, bounds[1:]):
        top = None
        for i, e in enumerate(evs):
            if e.timestamp <= a and b <= e.timestamp + e.duration:
                top = i
        if top is None:
            continue
        if out and out[-1][3] == top and out[-1][1] == a:
            out[-1][1] = b
        else:
            out.append([a, b, evs[top].data, top])
    return [(a, b, d) for a, b, d, _ in out]


def intersect(periods, events):
    """The parts of `periods` inside `events`' periods (both without overlaps)."""
    out = []
    for s, e, data in periods:
        for f in events:
            a, b = max(s, f.timestamp), min(e, f.timestamp + f.duration)
            if a < b:
                out.append((a, b, data))
    return out


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(int(sys.argv[2]), sys.argv[3], *sys.argv[4:])
    else:
        read(sys.argv[2], sys.argv[3:])
