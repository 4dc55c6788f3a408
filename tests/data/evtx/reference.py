"""An independent reading of SPEC 9.3 and 2 over a Windows Security log:
python-evtx (not the evtx crate the tool uses) parses the records, Python
applies the event mapping and linking, and DuckDB SQL computes the sessions.
Run once, reviewed; its numbers are kept in tests/evtx.rs.

    pip install python-evtx duckdb
    python3 tests/data/evtx/reference.py tests/data/evtx/security.evtx [--csv OUT]

With --csv it also writes the events as a CSV of text ids (the tool's input
for the CSV test)."""

import sys
import xml.etree.ElementTree as ET

import duckdb
import Evtx.Evtx as evtx
from Evtx.Nodes import FiletimeTypeNode

NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
EPOCH_AS_FILETIME = 116444736000000000  # 1970-01-01 in 100 ns since 1601


def exact_time(record):
    """System/TimeCreated as integer microseconds (python-evtx's own text
    rounds; the FILETIME is read raw and truncated, as SPEC's rule keeps
    whole microseconds)."""
    for sub in record.root().substitutions():
        if isinstance(sub, FiletimeTypeNode):
            return (sub.unpack_qword(0) - EPOCH_AS_FILETIME) // 10
    raise ValueError("no FILETIME")


def events(path):
    linked = {}  # (computer, logon id) -> key logon id
    names = {}  # session -> user name of its first record
    out = []
    with evtx.Evtx(path) as log:
        for order, rec in enumerate(log.records()):
            root = ET.fromstring(rec.xml())
            system = root.find(NS + "System")
            eid = int(system.find(NS + "EventID").text)
            computer = system.find(NS + "Computer").text
            data = {
                d.get("Name"): (d.text or "")
                for d in root.iter(NS + "Data")
            }
            hexid = lambda k: hex(int(data[k], 16)) if k in data else None
            lt = data.get("LogonType")
            if eid == 4624:
                t, l = hexid("TargetLogonId"), hexid("TargetLinkedLogonId")
                if l and int(l, 16) != 0:
                    key = t if int(t, 16) < int(l, 16) else l
                    linked[(computer, t)] = key
                    linked[(computer, l)] = key
                else:
                    linked.pop((computer, t), None)
                if lt not in ("2", "10", "11"):
                    continue
                kind = "login"
            elif (eid == 4634 and lt in ("2", "10", "11")) or eid == 4647:
                kind = "logout"
            elif eid in (4800, 4802):
                kind = "idle"
            elif eid in (4801, 4803):
                kind = "activity"
            else:
                continue
            lid = hexid("TargetLogonId")
            session = f"{computer}/{linked.get((computer, lid), lid)}"
            name = f'{data["TargetDomainName"]}\\{data["TargetUserName"]}'
            name = names.setdefault(session, name)
            out.append(
                (order, session, data["TargetUserSid"], name, computer, exact_time(rec), kind)
            )
    return out


SQL = """
with e as (
  select *, case kind when 'login' then 0 when 'activity' then 1 when 'idle' then 2 else 3 end as k
  from ev
), s as (
  select *, lead(ts) over w as next_ts
  from e window w as (partition by session order by ts, k, ord)
), per as (
  select session, any_value(sid) as sid, min(ts) as login, max(ts) as logout,
    max(ts) - min(ts) as duration_us,
    coalesce(sum(case when k <= 1 and next_ts - ts <= 900000000 then next_ts - ts end), 0) as productive_us,
    count(*) as events, bool_and(kind <> 'logout') as open
  from s group by session
)
select * from per order by login, session
"""

if __name__ == "__main__":
    rows = events(sys.argv[1])
    con = duckdb.connect()
    con.execute(
        "create table ev(ord bigint, session text, sid text, name text, computer text, ts bigint, kind text)"
    )
    con.executemany("insert into ev values (?,?,?,?,?,?,?)", rows)
    per = con.execute(SQL).fetchall()
    print("events", len(rows), "sessions", len(per))
    print("totals", con.execute(f"select sum(duration_us), sum(productive_us), count(*) filter (where open) from ({SQL})").fetchone())
    for r in per[:3] + per[-3:]:
        print(r)
    if "--csv" in sys.argv:
        import csv, datetime
        with open(sys.argv[sys.argv.index("--csv") + 1], "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["session_id", "user_id", "user_name", "client_guid", "client_name", "timestamp", "kind"])
            for (_, session, sid, name, computer, ts, kind) in rows:
                t = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=ts)
                w.writerow([session, sid, name, computer, computer, t.isoformat(timespec="microseconds") + "Z", kind])
