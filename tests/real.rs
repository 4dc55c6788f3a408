//! Real logs as they come (SPEC 9): a real Windows Security log, the same
//! events as a CSV of text ids and as nested NDJSON, the id registry, and
//! sessions built from gaps.

use crate::report::folder_files;
use crate::util::{sessionstat, Dir};
use std::collections::HashMap;

const EVTX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/evtx/security.evtx");
const CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/evtx/security-events.csv"
);
const NDJSON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/evtx/security-events.ndjson"
);
/// How a Winlogbeat-shaped event maps (`host\.name` is a key with a dot).
const NESTED_MAP: &str = "session_id=winlog.event_data.TargetLogonId,user_id=winlog.event_data.TargetUserSid,user_name=user.name,client_guid=host\\.name,client_name=winlog.computer_name,timestamp=@timestamp,kind=event.action";

/// A CSV table as rows of column -> value (the tables here hold no commas
/// or quotes).
fn table(text: &str) -> Vec<HashMap<String, String>> {
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            head.iter()
                .zip(l.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn summary(d: &Dir, out: &str) -> serde_json::Value {
    serde_json::from_str(&d.read(&format!("{out}/summary.json"))).unwrap()
}

#[test]
fn the_windows_log_gives_the_independent_reading() {
    // tests/data/evtx/reference.py (python-evtx and DuckDB SQL, run once and
    // reviewed) printed for this file:
    //   events 127 sessions 84
    //   totals (1460483698697, 6180785479, 42)   -- duration, productive, open
    //   ('WIN-03DLIIOFRRA/0x2610b', 'S-1-5-21-…-1000', 1468001751672433, 1468001751672433, 0, 0, 1, True)
    //   ('WIN-03DLIIOFRRA/0x38112', 'S-1-5-21-…-1000', 1492132790188005, 1492132824553465, 34365460, 29935052, 3, False)
    let d = Dir::new();
    let out = d.path("r");
    sessionstat(&["report", "-i", EVTX, "-o", out.to_str().unwrap(), "-q"]).ok();
    let s = summary(&d, "r");
    assert_eq!(s["counts"]["eventsRead"], 127);
    assert_eq!(s["counts"]["eventsRejected"], 0);
    assert_eq!(s["counts"]["sessions"], 84);
    assert_eq!(s["totals"]["durationUs"], 1_460_483_698_697i64);
    assert_eq!(s["totals"]["productiveUs"], 6_180_785_479i64);
    let sessions = table(&d.read("r/sessions.csv"));
    assert_eq!(sessions.len(), 84);
    assert_eq!(sessions.iter().filter(|r| r["open"] == "true").count(), 42);
    let row = sessions
        .iter()
        .find(|r| r["session_key"] == "WIN-03DLIIOFRRA/0x38112")
        .expect("the session of logon 0x38112");
    assert_eq!(row["login"], "2017-04-14T01:19:50.188005Z");
    assert_eq!(row["logout"], "2017-04-14T01:20:24.553465Z");
    assert_eq!(row["duration_us"], "34365460");
    assert_eq!(row["productive_us"], "29935052");
    assert_eq!(row["events"], "3");
    assert_eq!(row["open"], "false");
    assert_eq!(row["user_name"], "WIN-03DLIIOFRRA\\fsir");
    assert_eq!(
        row["user_key"],
        "S-1-5-21-2603537626-3982775912-406486804-1000"
    );
    // Without a registry, ids follow the sorted keys, and ids.csv says them.
    let ids = table(&d.read("r/ids.csv"));
    let mut keys: Vec<&str> = sessions.iter().map(|r| r["session_key"].as_str()).collect();
    keys.sort_unstable();
    for (i, k) in keys.iter().enumerate() {
        let r = sessions.iter().find(|r| r["session_key"] == *k).unwrap();
        assert_eq!(r["session_id"], (i + 1).to_string(), "{k}");
        assert!(ids
            .iter()
            .any(|x| x["kind"] == "session" && x["key"] == *k && x["id"] == r["session_id"]));
    }
    assert_eq!(ids.iter().filter(|x| x["kind"] == "user").count(), 2);
}

#[test]
fn a_csv_of_text_ids_and_nested_ndjson_give_the_windows_logs_page() {
    let page = |args: &[&str]| {
        let mut all = vec!["sessions", "--session-count", "1000"];
        all.extend_from_slice(args);
        sessionstat(&all).ok()
    };
    let evtx = page(&["-i", EVTX]);
    assert!(evtx.contains("\"totalCount\":84"), "{evtx}");
    assert_eq!(page(&["-i", CSV, "--id-keys", "session,user"]), evtx);
    assert_eq!(
        page(&[
            "-i",
            NDJSON,
            "--id-keys",
            "session,user",
            "--map",
            NESTED_MAP
        ]),
        evtx
    );
    // Without --id-keys, the text ids are refused naming the rule.
    let e = sessionstat(&["sessions", "-i", CSV]).fails(1);
    assert!(e.contains("session_id") && e.contains("int32"), "{e}");
}

#[test]
fn a_registry_keeps_every_old_keys_id_when_new_logs_arrive() {
    let d = Dir::new();
    let lines: Vec<&str> = include_str!("data/evtx/security-events.csv")
        .lines()
        .collect();
    let first = d.write("first.csv", lines[..61].join("\n") + "\n");
    let reg = d.path("ids.parquet");
    let reg_s = reg.to_str().unwrap();
    let run = |input: &str, out: &str| {
        sessionstat(&[
            "report",
            "-i",
            input,
            "--id-keys",
            "session,user",
            "--ids",
            reg_s,
            "-o",
            d.path(out).to_str().unwrap(),
            "-q",
        ])
        .ok();
        let rows = table(&d.read(&format!("{out}/sessions.csv")));
        assert!(
            !d.path(&format!("{out}/ids.csv")).exists(),
            "the registry holds the ids"
        );
        rows.into_iter()
            .map(|r| {
                (
                    r["session_key"].clone(),
                    r["session_id"].parse::<i32>().unwrap(),
                )
            })
            .collect::<HashMap<String, i32>>()
    };
    let old = run(&first, "a");
    let mut old_ids: Vec<i32> = old.values().copied().collect();
    old_ids.sort_unstable();
    assert_eq!(old_ids, (1..=old.len() as i32).collect::<Vec<_>>());
    let new = run(CSV, "b");
    for (k, id) in &old {
        assert_eq!(new[k], *id, "{k} kept its id");
    }
    // New keys take the next ids in order of first appearance in the log.
    let mut fresh: Vec<&str> = Vec::new();
    for l in &lines[1..] {
        let k = l.split(',').next().unwrap();
        if !old.contains_key(k) && !fresh.contains(&k) {
            fresh.push(k);
        }
    }
    assert!(!fresh.is_empty());
    for (i, k) in fresh.iter().enumerate() {
        assert_eq!(new[*k], old.len() as i32 + 1 + i as i32, "{k}");
    }
    // A rerun with nothing new leaves the registry as it is.
    let before = (
        std::fs::read(&reg).unwrap(),
        std::fs::metadata(&reg).unwrap().modified().unwrap(),
    );
    assert_eq!(run(CSV, "c"), new);
    let after = (
        std::fs::read(&reg).unwrap(),
        std::fs::metadata(&reg).unwrap().modified().unwrap(),
    );
    assert!(
        before == after,
        "the registry was rewritten with nothing new"
    );
    assert!(
        d.hidden(".").is_empty(),
        "no lock is left: {:?}",
        d.hidden(".")
    );
}

#[test]
fn a_corrupt_or_busy_registry_fails_and_changes_nothing() {
    let d = Dir::new();
    let reg = d.write("ids.parquet", b"PAR1 not really");
    let out = d.path("r");
    let out_s = out.to_str().unwrap().to_string();
    let args = [
        "report",
        "-i",
        CSV,
        "--id-keys",
        "session,user",
        "--ids",
        &reg,
        "-o",
        &out_s,
        "-q",
    ];
    let run = |a: &[&str]| sessionstat(a);
    // An earlier report in the folder stays as it was.
    sessionstat(&[
        "report",
        "-i",
        CSV,
        "--id-keys",
        "session,user",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ])
    .ok();
    let folder = folder_files(&out);
    let e = run(&args).fails(1);
    assert!(e.contains("ids.parquet") && e.contains("not usable"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(folder_files(&out) == folder);
    assert_eq!(std::fs::read(&reg).unwrap(), b"PAR1 not really");
    assert!(d.hidden(".").is_empty(), "{:?}", d.hidden("."));

    // Nor may the registry be a file the run reads or writes.
    for clash in [CSV.to_string(), format!("{out_s}/sessions.parquet")] {
        let e = sessionstat(&[
            "report",
            "-i",
            CSV,
            "--id-keys",
            "session",
            "--ids",
            &clash,
            "-o",
            &out_s,
        ])
        .fails(2);
        assert!(e.contains("--ids") && e.contains("of its own"), "{e}");
    }
    assert!(folder_files(&out) == folder);

    // A registry in use by another run: refused naming it.
    std::fs::remove_file(&reg).unwrap();
    let lock = d.path(".ids.parquet.lock");
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import fcntl,sys; f=open(sys.argv[1],'w'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
            lock.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "held");
    let e = run(&args).fails(1);
    assert!(e.contains("ids.parquet") && e.contains("in use"), "{e}");
    assert!(!reg.is_empty() && !std::path::Path::new(&reg).exists());
    assert!(folder_files(&out) == folder);
    drop(holder.stdin.take());
    holder.wait().unwrap();
    run(&args).ok();
    assert!(std::path::Path::new(&reg).exists());
}

/// The security log with the stored CRC32s of some chunks made stale, as
/// a log copied while Windows has it open holds them: (header checksum of
/// chunk 3, records checksum of chunk 0).
fn with_stale_checksums() -> Vec<u8> {
    let mut bytes = std::fs::read(EVTX).unwrap();
    for (chunk, field) in [(3, 124), (0, 52)] {
        let at = 4096 + chunk * 65536 + field;
        for b in &mut bytes[at..at + 4] {
            *b ^= 0x5A;
        }
    }
    bytes
}

#[test]
fn a_log_with_stale_chunk_checksums_is_read_whole_and_says_so() {
    let d = Dir::new();
    let stale = d.write("live.evtx", with_stale_checksums());
    let clean = sessionstat(&["sessions", "-i", EVTX, "--session-count", "1000"]).ok();
    // Every record read: the same answer as the clean file, nothing rejected.
    let run = sessionstat(&["sessions", "-i", &stale, "--session-count", "1000"]);
    assert_eq!(run.ok(), clean);
    assert!(
        run.stderr()
            .contains("read 2 EVTX chunks whose stored checksums did not match"),
        "{}",
        run.stderr()
    );
    let rejects = d.path("rejects.ndjson");
    let args = [
        "sessions",
        "-i",
        &stale,
        "--max-bad-rows",
        "5",
        "--rejects",
        rejects.to_str().unwrap(),
    ];
    assert_eq!(sessionstat(&args).ok(), clean);
    assert_eq!(d.read("rejects.ndjson"), "");
    // The report counts the chunks in summary.json and its closing line.
    for (input, chunks) in [(stale.as_str(), 2), (EVTX, 0)] {
        let out = d.path(&format!("r{chunks}"));
        let run = sessionstat(&["report", "-i", input, "-o", out.to_str().unwrap()]);
        run.ok();
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["counts"]["staleChecksumChunks"], chunks);
        assert_eq!(summary["counts"]["eventsRejected"], 0);
        assert_eq!(
            run.stderr().contains("EVTX chunk"),
            chunks > 0,
            "{}",
            run.stderr()
        );
        assert_eq!(run.stderr().lines().count(), 1, "{}", run.stderr());
    }
    assert_eq!(
        std::fs::read(d.path("r2/sessions.csv")).unwrap(),
        std::fs::read(d.path("r0/sessions.csv")).unwrap()
    );
}

#[test]
fn a_damaged_windows_log_is_a_bad_row_naming_its_chunk() {
    let d = Dir::new();
    let mut bytes = std::fs::read(EVTX).unwrap();
    // Chunk 3, which holds logons, no longer starts as a chunk does.
    let at = 4096 + 3 * 65536;
    bytes[at..at + 8].fill(0xA5);
    let bad = d.write("damaged.evtx", &bytes);
    let out = d.path("r");
    let e = sessionstat(&["report", "-i", &bad, "-o", out.to_str().unwrap()]).fails(1);
    assert!(e.contains("damaged.evtx chunk 3"), "{e}");
    assert!(!out.exists(), "nothing written");
    // Skipped, the chunk is one reject; the other chunks still count.
    let rejects = d.path("rejects.ndjson");
    let page = sessionstat(&[
        "sessions",
        "-i",
        &bad,
        "--max-bad-rows",
        "1",
        "--rejects",
        rejects.to_str().unwrap(),
        "-q",
    ])
    .ok();
    let got: serde_json::Value = serde_json::from_str(&page).unwrap();
    let n = got["totalCount"].as_i64().unwrap();
    assert!(n > 0 && n < 84, "{n}");
    let r: serde_json::Value = serde_json::from_str(d.read("rejects.ndjson").trim()).unwrap();
    assert_eq!(r["chunk"], 3);
    // Cut short inside a chunk, and a file that is no EVTX at all.
    let cut = d.write(
        "cut.evtx",
        &std::fs::read(EVTX).unwrap()[..4096 + 3 * 65536 + 999],
    );
    let e = sessionstat(&["sessions", "-i", &cut]).fails(1);
    assert!(
        e.contains("cut.evtx chunk 3") && e.contains("truncated"),
        "{e}"
    );
    let junk = d.write("junk.evtx", b"this is no event log at all, only text");
    let e = sessionstat(&["sessions", "-i", &junk]).fails(1);
    assert!(e.contains("junk.evtx") && e.contains("EVTX"), "{e}");
}

/// A log without sessions, by hand, for --sessionize 30m (a gap of exactly
/// 30m stays in the session):
///   al|pc1: 08:00 login, 08:10, 08:40 (gap 30m: same; idle, over 15m),
///           09:11 (gap 31m: new), 09:20 logout, then at 09:25 a login (new)
///           and an activity, which sorts after it
///   al|pc2: 08:05 (its own group)
///   bo|pc1: 08:00 idle, 08:20 activity (an idle span)
///   al|pc3: at 10:00 login, logout, login: sorted login, login, logout:
///           two sessions at one instant, the second keyed #2
pub(crate) const GAPS: &str = "user_id,user_name,client_guid,client_name,timestamp,kind\n\
     al,Al,pc1,PC 1,2024-05-02T08:10:00Z,activity\n\
     al,Al,pc1,PC 1,2024-05-02T08:00:00Z,login\n\
     bo,Bo,pc1,PC 1,2024-05-02T08:00:00Z,idle\n\
     al,Al,pc2,PC 2,2024-05-02T08:05:00Z,\n\
     al,Al,pc1,PC 1,2024-05-02T08:40:00Z,activity\n\
     al,Al,pc1,PC 1,2024-05-02T09:11:00Z,activity\n\
     al,Al,pc1,PC 1,2024-05-02T09:20:00Z,logout\n\
     al,Al,pc1,PC 1,2024-05-02T09:25:00Z,activity\n\
     al,Al,pc1,PC 1,2024-05-02T09:25:00Z,login\n\
     bo,Bo,pc1,PC 1,2024-05-02T08:20:00Z,activity\n\
     al,Al,pc3,PC 3,2024-05-02T10:00:00Z,login\n\
     al,Al,pc3,PC 3,2024-05-02T10:00:00Z,logout\n\
     al,Al,pc3,PC 3,2024-05-02T10:00:00Z,login\n";

#[test]
fn sessions_are_built_from_gaps_logins_and_logouts() {
    let d = Dir::new();
    let csv = d.write("log.csv", GAPS);
    let out = d.path("r");
    sessionstat(&[
        "report",
        "-i",
        &csv,
        "--id-keys",
        "user",
        "--sessionize",
        "30m",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ])
    .ok();
    let rows = table(&d.read("r/sessions.csv"));
    let got: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["session_key"].clone(),
                r["duration_us"].clone(),
                r["productive_us"].clone(),
                r["events"].clone(),
            )
        })
        .collect();
    let m = 60_000_000i64;
    let want = [
        ("al|pc1|2024-05-02T08:00:00.000000Z", 40 * m, 10 * m, 3),
        ("bo|pc1|2024-05-02T08:00:00.000000Z", 20 * m, 0, 2),
        ("al|pc2|2024-05-02T08:05:00.000000Z", 0, 0, 1),
        ("al|pc1|2024-05-02T09:11:00.000000Z", 9 * m, 9 * m, 2),
        // At 09:25 the login sorts before the activity: the login starts a
        // session of its own and the activity joins it; nothing is left
        // for a second session at that instant.
        ("al|pc1|2024-05-02T09:25:00.000000Z", 0, 0, 2),
        ("al|pc3|2024-05-02T10:00:00.000000Z", 0, 0, 1),
        ("al|pc3|2024-05-02T10:00:00.000000Z#2", 0, 0, 2),
    ];
    let want: Vec<(String, String, String, String)> = want
        .iter()
        .map(|w| {
            (
                w.0.to_string(),
                w.1.to_string(),
                w.2.to_string(),
                w.3.to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // The map may not name session_id then.
    let e = sessionstat(&[
        "sessions",
        "-i",
        &csv,
        "--sessionize",
        "30m",
        "--map",
        "session_id=x",
    ])
    .fails(2);
    assert!(e.contains("--sessionize"), "{e}");
}

/// With --sessionize, a row whose name differs from its user's earlier row
/// on that client is bad, and its rule names that user and client (its
/// session is not cut yet), not a number no output shows.
#[test]
fn a_name_conflict_under_sessionize_names_the_user_and_client() {
    let d = Dir::new();
    let csv = d.write(
        "log.csv",
        "user_id,user_name,client_guid,client_name,timestamp,kind\n\
         7,Al,pc1,PC 1,2024-05-02T08:00:00Z,login\n\
         S-1,Bo,pc2,PC 2,2024-05-02T08:00:00Z,login\n\
         7,Alan,pc1,PC 1,2024-05-02T08:10:00Z,activity\n",
    );
    for (keys, user) in [("session", "7"), ("user", "\"7\"")] {
        let rejects = d.path(&format!("rej-{keys}.ndjson"));
        let mut args = vec![
            "sessions",
            "-i",
            &csv,
            "--sessionize",
            "30m",
            "--max-bad-rows",
            "1",
            "--rejects",
            rejects.to_str().unwrap(),
        ];
        if keys == "user" {
            args.extend(["--id-keys", "user"]);
        } else {
            // A numeric user column: the second row's user is bad instead.
            args[6] = "2";
        }
        sessionstat(&args).ok();
        let text = std::fs::read_to_string(&rejects).unwrap();
        let rules: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["reason"].to_string())
            .collect();
        let want = serde_json::Value::from(format!(
            "user {user} on client \"pc1\" already has user_name \"Al\" from an earlier row; a user's sessions on one client have one user name and one client name"
        ))
        .to_string();
        assert!(rules.contains(&want), "{rules:?}\nwant {want}");
    }
}

#[test]
fn a_backfill_with_a_registry_is_resumable() {
    let d = Dir::new();
    let reg = d.path("ids.parquet");
    let out = d.path("ds");
    let args = [
        "backfill",
        "-i",
        CSV,
        "--id-keys",
        "session,user",
        "--ids",
        reg.to_str().unwrap(),
        "--from",
        "2016-07-08",
        "--to",
        "2016-07-12",
        "--every",
        "day",
        "--out",
        out.to_str().unwrap(),
    ];
    sessionstat(&args).ok();
    assert!(reg.exists());
    let manifest: serde_json::Value = serde_json::from_str(&d.read("ds/_backfill.json")).unwrap();
    let fp = &manifest["periods"]["day=2016-07-08"]["fingerprint"];
    assert_eq!(fp["idRegistry"]["path"], reg.to_str().unwrap());
    assert_eq!(
        fp["idRegistry"]["size"],
        std::fs::metadata(&reg).unwrap().len()
    );
    // The registry the run wrote is the one its periods record: a rerun skips them all.
    let again = sessionstat(&args);
    again.ok();
    assert!(
        again.stderr().contains("5 periods up to date, 0 computed"),
        "{}",
        again.stderr()
    );
}

#[test]
fn text_ids_hold_out_of_order_in_partitions_and_in_parquet() {
    let d = Dir::new();
    // The events backwards: read again keeping events, in many passes.
    let lines: Vec<&str> = include_str!("data/evtx/security-events.csv")
        .lines()
        .collect();
    let mut back = vec![lines[0]];
    back.extend(lines[1..].iter().rev());
    let rev = d.write("rev.csv", back.join("\n") + "\n");
    let page = |args: &[&str]| {
        let mut all = vec!["sessions"];
        all.extend_from_slice(args);
        sessionstat(&all).ok()
    };
    let evtx = page(&["-i", EVTX]);
    let keys = ["--id-keys", "session,user"];
    assert_eq!(
        page(&[&["-i", &rev][..], &keys, &["--memory-limit", "1KB"]].concat()),
        evtx
    );
    let built = page(&["-i", CSV, "--id-keys", "user", "--sessionize", "1h"]);
    assert_eq!(
        page(&[
            "-i",
            &rev,
            "--id-keys",
            "user",
            "--sessionize",
            "1h",
            "--memory-limit",
            "1KB"
        ]),
        built
    );
    // Parquet with the names dictionary-encoded, as DuckDB writes them.
    let Some(python) = crate::report::python_with_duckdb() else {
        return;
    };
    let pq = d.path("rev.parquet");
    let sql = format!(
        "COPY (SELECT * FROM read_csv('{rev}', all_varchar=true)) TO '{}' (FORMAT parquet)",
        pq.display()
    );
    let ok = std::process::Command::new(python)
        .args(["-c", &format!("import duckdb; duckdb.sql({sql:?})")])
        .status()
        .unwrap();
    assert!(ok.success());
    let pq = pq.to_str().unwrap();
    assert_eq!(page(&[&["-i", pq][..], &keys].concat()), evtx);
    assert_eq!(
        page(&["-i", pq, "--id-keys", "user", "--sessionize", "1h"]),
        built
    );
}

#[test]
fn keys_of_bad_rows_get_no_id_and_conflicts_name_keys() {
    let d = Dir::new();
    let csv = d.write(
        "log.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp\n\
         b-only-bad,S-2,bo,g,c,not a time\n\
         z-sess,S-1,al,g,c,2024-05-02T08:00:00Z\n\
         a-sess,S-1,al,g,c,2024-05-02T09:00:00Z\n",
    );
    let out = d.path("r");
    let rejects = d.path("rej.ndjson");
    sessionstat(&[
        "report",
        "-i",
        &csv,
        "--id-keys",
        "session,user",
        "--max-bad-rows",
        "1",
        "--rejects",
        rejects.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
    ])
    .ok();
    assert_eq!(
        d.read("r/ids.csv"),
        "kind,key,id\nsession,a-sess,1\nsession,z-sess,2\nuser,S-1,1\n"
    );
    // A session with two users: the line names the session's and the users' keys.
    let two = d.write(
        "two.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp\n\
         WKS:77,S-1,al,g,c,2024-05-02T08:00:00Z\n\
         WKS:77,S-9,al,g,c,2024-05-02T08:01:00Z\n",
    );
    let e = sessionstat(&["sessions", "-i", &two, "--id-keys", "session,user"]).fails(1);
    assert!(
        e.contains("two.csv:3")
            && e.contains("\"S-9\"")
            && e.contains("session \"WKS:77\" already has user_id \"S-1\""),
        "{e}"
    );
}
