//! The Spark engine (SPEC 11): Spark reads the inputs and does the per-event
//! work in SQL (sql.rs); only each selected session's answer and its
//! calendar groups come back, as Arrow, and become the same `Outcome` the
//! local kernel gives, so the writers are shared.
//!
//! Every call goes through one worker thread that owns the client; the
//! caller waits for it with a deadline (`--engine-timeout`). Connecting and
//! the first call must be answered within it; after that a call that runs
//! longer (a query, or a statement on a busy server) is not cut off while
//! the server still answers a version request within the deadline, and
//! fails once it does not (stopped, unreachable or frozen).

mod answer;
mod client;
mod read;

use answer::*;
use client::*;
use read::*;
mod calendar;
mod sql;
mod stream;

use crate::engine::SparkAddress;
use crate::ids::IdKeys;
use crate::kernel::SessionStats;
use crate::load::columns::{Canon, ColumnMap};
use crate::load::inputs::{Format, InputFile};
use crate::load::{At, BadRow, LoadError, Loaded};
use crate::model::SessionMeta;
use crate::registry::Good;
use crate::rollup::findings::{OutsidePart, WorkHours};
use crate::rollup::hours::HourPart;
use crate::rollup::{DayPart, Parts, SessionParts};
use crate::time::{Micros, Zone};
use arrow_array::{Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use spark_connect::{DataType, SparkSession};
use sql::{lit, Ty};
use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

/// What a run asks of Spark: the inputs and how to read them, the span
/// rule, the zone and work hours that cut time, the windows (ascending and
/// apart) and which parts to cut.
pub struct Query<'a> {
    pub files: &'a [InputFile],
    pub map: &'a ColumnMap,
    pub max_bad_rows: u64,
    pub zone: Zone,
    pub idle_after: Option<Micros>,
    pub work: WorkHours,
    pub windows: Vec<(Option<Micros>, Option<Micros>)>,
    pub parts: Parts,
    /// Which ids are keys (`--id-keys`, SPEC 9.1).
    pub keys: IdKeys,
    /// `--sessionize GAP`: sessions cut from each user's events on one client.
    pub sessionize: Option<Micros>,
}

/// One selected session of a window: its attributes, its clipped answer
/// (`session` unset) and its parts (empty under `Parts::None`).
pub type Selected = (SessionMeta, SessionStats, SessionParts);

/// What comes back: per window, its selection (with keys, the sessions'
/// keys and ids still 0; otherwise in the endpoint's order); the whole
/// input's counts and skipped bad rows; with keys, every good session.
pub struct Ran {
    pub windows: Vec<Vec<Selected>>,
    pub goods: Vec<Good>,
    /// The texts of the `app` and `url` cells by the ids the parts' foregrounds hold.
    pub focus: [Vec<std::sync::Arc<str>>; 2],
    pub rows_read: u64,
    pub blank_rows: u64,
    pub rejected: Vec<BadRow>,
}

/// What `prepare` finds: the rows read (and of them blank), the bad rows
/// skipped, whether any input has a foreground column (SPEC 13.1), and
/// when already known, the first and last good event inside the windows
/// and their number.
struct Prepared {
    rows_read: u64,
    blank_rows: u64,
    rejected: Vec<BadRow>,
    focus: bool,
    range: Option<Range>,
}

/// The first and last instant of the good events inside the windows, and
/// their number.
type Range = (Option<i64>, Option<i64>, Option<i64>);

/// Loads, checks and resolves the inputs on Spark: `ss_good` is defined
/// after this; the bad rows (at most `--max-bad-rows` + 1) and the number of
/// rows read come back.
fn prepare(spark: &Spark, job: &Query) -> Result<Prepared, LoadError> {
    let (empty_lines, present) = load(spark, job)?;
    let focus = present
        .iter()
        .any(|p| Canon::FOCUS.iter().any(|&c| p.present[c as usize]));
    resolve_zone(spark, &job.zone)?;
    // One row per session: joined to the events, sent whole to each task
    // when small.
    spark.keep(
        "finding each session's first row",
        "ss_fx",
        sql::firsts(job.keys, &job.windows),
    )?;
    let [n, blank, bad, mixed, lo, hi, inside] = spark.scalars(
        "counting rows",
        sql::TOTALS.to_string(),
        ["n", "blank", "bad", "mixed", "lo", "hi", "inside"],
    )?;
    let rows_read = n.unwrap_or(0) as u64 + empty_lines;
    let blank_rows = blank.unwrap_or(0) as u64 + empty_lines;
    // A clean log (most are) needs no search for bad rows, and no row needs
    // its session's first row beside it (`ss_chk`: read by that search and
    // by the good rows of a log with rows that break 1.4).
    let mixed = mixed.unwrap_or(0) > 0;
    let search = bad.unwrap_or(0) > 0 || mixed;
    if search {
        spark.view("ss_chk", sql::CHECKED)?;
    }
    match job.sessionize {
        // Cut sessions are read by four queries: cut once.
        Some(gap) => {
            spark.view("ss_good0", &sql::good(true, mixed))?;
            spark.keep("cutting the sessions", "ss_good", sql::cut(gap))?;
        }
        None => spark.view("ss_good", &sql::good(focus, mixed))?,
    }
    let bad = match search {
        true => spark.query(
            "finding bad rows",
            sql::bad_rows(
                job.max_bad_rows.saturating_add(1),
                job.keys,
                job.sessionize.is_some(),
            ),
        )?,
        false => Vec::new(),
    };
    let mut rejected = Vec::new();
    for b in &bad {
        let (f, column, value, rule) = (
            i64s(b, "f"),
            texts(b, "bad_col"),
            texts(b, "bad_val"),
            texts(b, "bad_rule"),
        );
        let raw = Canon::ALL.map(|c| texts(b, &sql::raw_column(c)));
        for i in 0..b.num_rows() {
            let f = f.value(i) as usize;
            let seq = (f, rejected.len());
            rejected.push(BadRow {
                seq,
                file: job.files[f].display(),
                at: At::Unplaced,
                // Spark names the canonical column; the error line names
                // it as the file does.
                column: match Canon::named(column.value(i)) {
                    Some(c) => present[f].labels[c as usize].clone(),
                    None => column.value(i).to_string(),
                },
                value: value.value(i).to_string(),
                rule: rule.value(i).to_string().into(),
                // The cells of the columns the file has, a null one as "".
                record: Canon::ALL
                    .iter()
                    .zip(&raw)
                    .filter(|(c, _)| present[f].present[**c as usize])
                    .map(|(c, r)| {
                        let v = if r.is_null(i) { "" } else { r.value(i) };
                        (c.name().to_string(), v.to_string())
                    })
                    .collect(),
            });
        }
    }
    if let Some(e) = Loaded::limit_error(&rejected, job.max_bad_rows) {
        return Err(e);
    }
    Ok(Prepared {
        rows_read,
        blank_rows,
        rejected,
        focus,
        range: (!mixed).then_some((lo, hi, inside)),
    })
}

/// With keys, every good session's keys and the place of its first good
/// row in input order (SPEC 9.1's first appearance): one row per session,
/// which sessionstat gives final ids to as the local engine does. The
/// registry (`--ids`) stays on this machine.
fn goods(spark: &Spark, job: &Query) -> Result<Vec<Good>, LoadError> {
    let keys = job.keys;
    if !keys.any() {
        return Ok(Vec::new());
    }
    let batches = spark.query(
        "listing the sessions' keys",
        sql::goods(job.sessionize.is_some()),
    )?;
    let mut rows = Vec::new();
    for b in &batches {
        let (sid, uid) = (texts(b, "sid"), texts(b, "uid"));
        let (f, bl, m) = (i64s(b, "f"), i64s(b, "b"), i64s(b, "m"));
        for i in 0..b.num_rows() {
            rows.push((
                (f.value(i), bl.value(i), m.value(i)),
                keys.session.then(|| Box::from(sid.value(i))),
                keys.user.then(|| Box::from(uid.value(i))),
            ));
        }
    }
    rows.sort_unstable_by_key(|r| r.0);
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(seq, (_, s, u))| (seq as u64, s, u))
        .collect())
}

/// One session's answer in one window, as it comes back.
struct Answer {
    p: usize,
    meta: SessionMeta,
    stats: SessionStats,
}

/// `ss_evp`, `ss_sp`, then the answers and (with a calendar) the parts, per window.
fn compute(
    spark: &Spark,
    job: &Query,
    focus: bool,
    range: Option<Range>,
    names: &mut FocusTexts,
) -> Result<(Vec<Answer>, BTreeMap<(Sid, usize), SessionParts>), LoadError> {
    let (windows, parts) = (&job.windows[..], job.parts);
    // The foreground is followed only where parts are cut.
    let focus = focus && parts != Parts::None;
    // With a calendar and a clean log, each (session, window)'s answer is
    // the sum of its calendar groups, and its user and client its first
    // row's: no pass over the events for them (`answers`), and the spans
    // are read once.
    let from_parts = parts != Parts::None && range.is_some() && job.sessionize.is_none();
    // Without a foreground, those parts come from one pass over the events
    // (`sql::parts`), which reads no spans.
    let one_pass = from_parts && !focus;
    // With a calendar: the events inside the windows, each of which must
    // find its calendar piece.
    let mut inside = None;
    if parts == Parts::None {
        spark.view("ss_evp", &sql::in_window(windows[0].0, windows[0].1))?;
    } else {
        let (a, b, n) = match range {
            Some(range) => range,
            None => {
                let [a, b, n] = spark.scalars(
                    "finding the range of events",
                    format!(
                        "SELECT min(ts) AS lo, max(ts) AS hi, CAST(count(*) AS BIGINT) AS n FROM ss_good WHERE {}",
                        sql::inside(windows)
                    ),
                    ["lo", "hi", "n"],
                )?;
                (a, b, n)
            }
        };
        let rows = match (a, b) {
            (Some(a), Some(b)) => calendar::pieces(&job.zone, &job.work, windows, a, b),
            _ => Vec::new(),
        };
        upload(
            spark,
            "ss_cal",
            &[
                "bucket", "lo", "hi", "p", "dday", "hday", "hour", "outside", "off",
            ],
            rows,
        )?;
        if focus {
            spark.view("ss_fg", &sql::foreground())?;
        }
        // The events on the calendar are read by the spans, the parts and
        // (unless they come from the parts) the answers: computed once.
        // Without a foreground, the parts of a clean log read them once,
        // in one pass (`sql::parts`): then they are not kept.
        match one_pass {
            true => spark.view("ss_evp", &sql::on_calendar(focus))?,
            false => spark.keep(
                "placing the events on the calendar",
                "ss_evp",
                sql::on_calendar(focus),
            )?,
        }
        inside = n;
    }
    // The spans are read by the answers (unless they come from the parts)
    // and by the parts with a foreground.
    match (one_pass, from_parts || parts == Parts::None) {
        (true, _) => {}
        (false, true) => spark.view("ss_sp", &sql::spans(job.idle_after, focus))?,
        (false, false) => spark.keep(
            "finding the spans",
            "ss_sp",
            sql::spans(job.idle_after, focus),
        )?,
    }
    let mut answers = match from_parts {
        true => Vec::new(),
        false => {
            let batches = spark.query(
                "computing the sessions",
                sql::answers(job.keys, job.sessionize.is_some()),
            )?;
            read_answers(&batches, job)
        }
    };
    let mut by_session = BTreeMap::new();
    if parts != Parts::None {
        // The sessions' rows are few and ready (`ss_fx`): asked for while
        // the parts are computed.
        let firsts = from_parts
            .then(|| spark.beside("reading the sessions", sql::first_rows(job.keys)))
            .transpose()?;
        let batches = spark.query(
            "computing the day and hour parts",
            sql::parts(job.keys, focus, job.idle_after),
        )?;
        let groups = read_groups(&batches, job.keys, focus, names);
        if let Some(firsts) = firsts {
            let batches = spark.answer("reading the sessions", firsts, true)?;
            answers = answers_of_groups(spark, &groups, &batches, job)?;
        }
        for (key, g) in groups {
            by_session.insert(key, session_parts(g, parts));
        }
    }
    // A lost event would be a smaller answer: it fails the run instead.
    if let Some(want) = inside {
        let got: i64 = answers.iter().map(|a| i64::from(a.stats.events)).sum();
        if got != want {
            return Err(fail(
                &spark.addr,
                "checking the calendar",
                &format!("{got} of the {want} events inside the windows found their calendar piece; nothing is written"),
            ));
        }
    }
    Ok((answers, by_session))
}

/// A session as a row of `sql::answers` or `sql::first_rows` gives it: its
/// ids, user and client, and its first and last event in the whole input
/// and whether it has a logout (for the clipped and open flags).
struct SessionRow {
    meta: SessionMeta,
    first_ts: Micros,
    last_ts: Micros,
    has_logout: bool,
}

fn session_rows(b: &RecordBatch, keys: IdKeys) -> Vec<SessionRow> {
    let (sid, uid) = (
        Ids::of(b, "sid", keys.session),
        Ids::of(b, "uid", keys.user),
    );
    let (uname, cguid, cname) = (texts(b, "uname"), texts(b, "cguid"), texts(b, "cname"));
    let (first_ts, last_ts, has_logout) = (
        i64s(b, "first_ts"),
        i64s(b, "last_ts"),
        i64s(b, "has_logout"),
    );
    (0..b.num_rows())
        .map(|i| {
            let ((session_id, session_key), (user_id, user_key)) = (sid.get(i), uid.get(i));
            SessionRow {
                meta: SessionMeta {
                    session_id,
                    user_id,
                    session_key,
                    user_key,
                    user_name: uname.value(i).into(),
                    client_guid: cguid.value(i).into(),
                    client_name: cname.value(i).into(),
                    ..SessionMeta::default()
                },
                first_ts: first_ts.value(i),
                last_ts: last_ts.value(i),
                has_logout: has_logout.value(i) == 1,
            }
        })
        .collect()
}

/// Session `row`'s answer in window `p`: its bounds there, its events and
/// productive time.
fn answer(
    job: &Query,
    p: usize,
    row: &SessionRow,
    bounds: (Micros, Micros),
    events: i64,
    productive: Micros,
) -> Answer {
    let (start, end) = job.windows[p];
    Answer {
        p,
        meta: row.meta.clone(),
        stats: SessionStats {
            session: 0,
            login: bounds.0,
            logout: bounds.1,
            productive,
            events: events as u32,
            open: !row.has_logout,
            clipped_start: start.is_some_and(|s| row.first_ts < s),
            clipped_end: end.is_some_and(|e| row.last_ts > e),
            lo: 0,
            hi: 0,
        },
    }
}

/// The answers as `sql::answers` gives them.
fn read_answers(batches: &[RecordBatch], job: &Query) -> Vec<Answer> {
    let mut answers = Vec::new();
    for b in batches {
        let (p, login, logout, events, productive) = (
            i64s(b, "p"),
            i64s(b, "login"),
            i64s(b, "logout"),
            i64s(b, "events"),
            i64s(b, "productive"),
        );
        for (i, row) in session_rows(b, job.keys).iter().enumerate() {
            let bounds = (login.value(i), logout.value(i));
            let p = p.value(i) as usize;
            answers.push(answer(
                job,
                p,
                row,
                bounds,
                events.value(i),
                productive.value(i),
            ));
        }
    }
    answers
}

/// Each (session, window)'s answer from its calendar groups (`groups`),
/// with its user and client and its bounds in the whole input from
/// `sql::first_rows` (`batches`).
fn answers_of_groups(
    spark: &Spark,
    groups: &BTreeMap<(Sid, usize), Vec<Group>>,
    batches: &[RecordBatch],
    job: &Query,
) -> Result<Vec<Answer>, LoadError> {
    let firsts: BTreeMap<Sid, SessionRow> = batches
        .iter()
        .flat_map(|b| session_rows(b, job.keys))
        .map(|r| (Sid::of(&r.meta), r))
        .collect();
    let mut answers = Vec::with_capacity(groups.len());
    for ((sid, p), groups) in groups {
        let login = groups.iter().filter_map(|g| g.first_event).min();
        let logout = groups.iter().filter_map(|g| g.last_event).max();
        let (Some(row), Some(login), Some(logout)) = (firsts.get(sid), login, logout) else {
            return Err(fail(
                &spark.addr,
                "computing the sessions",
                "a session's calendar groups came back without its events or its first row; nothing is written",
            ));
        };
        let events = groups.iter().map(|g| g.events).sum();
        let productive = groups.iter().map(|g| g.productive).sum();
        answers.push(answer(job, *p, row, (login, logout), events, productive));
    }
    Ok(answers)
}

/// Each (session, window)'s calendar groups as `sql::parts` gives them.
fn read_groups(
    batches: &[RecordBatch],
    keys: IdKeys,
    focus: bool,
    names: &mut FocusTexts,
) -> BTreeMap<(Sid, usize), Vec<Group>> {
    let mut groups: BTreeMap<(Sid, usize), Vec<Group>> = BTreeMap::new();
    for b in batches {
        let sid = Ids::of(b, "sid", keys.session);
        let fg = focus.then(|| {
            (
                texts_or_null(b, "fa"),
                texts_or_null(b, "fu"),
                i64s(b, "off"),
            )
        });
        let c: Vec<&Int64Array> = [
            "p",
            "dday",
            "hday",
            "hour",
            "outside",
            "productive",
            "idle",
            "plo",
            "phi",
            "at",
            "first_event",
            "last_event",
            "events",
        ]
        .iter()
        .map(|n| i64s(b, n))
        .collect();
        for i in 0..b.num_rows() {
            groups
                .entry((sid.sid(i), c[0].value(i) as usize))
                .or_default()
                .push(Group {
                    dday: c[1].value(i),
                    hday: c[2].value(i),
                    hour: c[3].value(i) as u8,
                    outside: c[4].value(i) == 1,
                    productive: c[5].value(i),
                    idle: c[6].value(i),
                    plo: opt(c[7], i),
                    phi: opt(c[8], i),
                    at: c[9].value(i),
                    first_event: opt(c[10], i),
                    last_event: opt(c[11], i),
                    events: c[12].value(i),
                    foreground: fg.as_ref().and_then(|(a, u, off)| {
                        let (a, u) = (a.get(i), u.get(i));
                        (a.is_some() || u.is_some())
                            .then(|| (names.focus(a, u), off.value(i) as i32))
                    }),
                });
        }
    }
    groups
}

/// Runs `job` on the server at `addr`: the inputs read once for every window.
pub fn run(job: &Query, addr: &SparkAddress, timeout: Duration) -> Result<Ran, LoadError> {
    let spark = Spark::connect(addr, timeout)?;
    let mut texts = FocusTexts::default();
    let computed = prepare(&spark, job).and_then(|p| {
        let goods = goods(&spark, job)?;
        let computed = compute(&spark, job, p.focus, p.range, &mut texts)?;
        Ok((p, goods, computed))
    });
    spark.free();
    let (prepared, goods, (answers, mut by_session)) = computed?;
    let Prepared {
        rows_read,
        blank_rows,
        rejected,
        ..
    } = prepared;
    let mut windows: Vec<Vec<Selected>> = job.windows.iter().map(|_| Vec::new()).collect();
    for a in answers {
        let parts = by_session
            .remove(&(Sid::of(&a.meta), a.p))
            .unwrap_or_default();
        windows[a.p].push((a.meta, a.stats, parts));
    }
    // Sessions with keys are put in order once they have their ids.
    if !job.keys.any() {
        for w in &mut windows {
            w.sort_by_key(|(m, s, _)| crate::kernel::endpoint_order(s, m));
        }
    }
    Ok(Ran {
        windows,
        goods,
        focus: texts.into_texts(),
        rows_read,
        blank_rows,
        rejected,
    })
}
