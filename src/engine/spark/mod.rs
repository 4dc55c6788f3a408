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

mod calendar;
mod sql;
mod stream;

use crate::engine::SparkAddress;
use crate::kernel::SessionStats;
use crate::load::columns::{Canon, ColumnMap};
use crate::load::inputs::{Format, InputFile};
use crate::load::{At, BadRow, LoadError, Loaded};
use crate::model::SessionMeta;
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

/// The client's two connections to one session: the crate's session for
/// statements, schemas and sent tables, and `Results` for rows.
struct Link {
    session: SparkSession,
    results: stream::Results,
}

type Call = Box<dyn FnOnce(&Link) + Send>;

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
}

/// One selected session of a window: its attributes, its clipped answer
/// (`session` unset) and its parts (empty under `Parts::None`).
pub type Selected = (SessionMeta, SessionStats, SessionParts);

/// What comes back: per window, its selection in the endpoint's order;
/// and the whole input's counts and skipped bad rows.
pub struct Ran {
    pub windows: Vec<Vec<Selected>>,
    pub rows_read: u64,
    pub blank_rows: u64,
    pub rejected: Vec<BadRow>,
}

/// A connected Spark Connect session, owned by its worker thread; `probe`
/// asks the server whether it is alive while the worker waits.
pub struct Spark {
    addr: SparkAddress,
    timeout: Duration,
    jobs: mpsc::Sender<Call>,
    probe: stream::Results,
}

impl Spark {
    /// Checks the address and connects, each step within `timeout`.
    pub fn connect(addr: &SparkAddress, timeout: Duration) -> Result<Spark, LoadError> {
        reachable(addr, timeout)?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (jobs, rx) = mpsc::channel::<Call>();
        let url = addr.url().to_string();
        std::thread::Builder::new()
            .name("spark-connect".into())
            .spawn(move || {
                let link = SparkSession::builder()
                    .remote(&url)
                    .get_or_create()
                    .and_then(|session| {
                        let results = stream::Results::connect(&url, session.session_id())?;
                        Ok(Link { session, results })
                    });
                let link = match link {
                    Ok(l) => {
                        let _ = ready_tx.send(Ok(l.session.session_id().to_string()));
                        l
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                for job in rx {
                    job(&link);
                }
            })
            .map_err(|e| LoadError::Input(format!("cannot start the Spark client: {e}")))?;
        let session_id = match ready_rx.recv_timeout(timeout) {
            Ok(Ok(id)) => id,
            Ok(Err(e)) => return Err(fail(addr, "cannot connect", &e)),
            Err(_) => return Err(no_answer(addr, "connecting", timeout)),
        };
        let probe = stream::Results::connect(addr.url(), &session_id)
            .map_err(|e| fail(addr, "cannot connect", &e.to_string()))?;
        let spark = Spark {
            addr: addr.clone(),
            timeout,
            jobs,
            probe,
        };
        // A server that takes the connection but never answers is found here.
        spark.call("asking its version", |l| l.session.version().map(|_| ()))?;
        for set in [
            "SET spark.sql.session.timeZone=UTC",
            "SET spark.sql.ansi.enabled=false",
            "SET spark.sql.parquet.inferTimestampNTZ.enabled=true",
        ] {
            spark.exec("setting up the session", set.to_string())?;
        }
        Ok(spark)
    }

    /// Runs `f` on the worker; no answer within the timeout is an error.
    /// Used until the server has answered once.
    fn call<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&Link) -> spark_connect::Result<T> + Send + 'static,
    ) -> Result<T, LoadError> {
        self.answer(what, self.submit(f)?, false)
    }

    /// Runs `f` on a server that has answered before: a busy server may take
    /// long, so it is waited for as long as it answers a version request
    /// within the timeout, asked once per timeout; a server gone or frozen
    /// is an error within twice the timeout.
    fn wait<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&Link) -> spark_connect::Result<T> + Send + 'static,
    ) -> Result<T, LoadError> {
        self.answer(what, self.submit(f)?, true)
    }

    fn answer<T>(
        &self,
        what: &str,
        rx: mpsc::Receiver<spark_connect::Result<T>>,
        patient: bool,
    ) -> Result<T, LoadError> {
        loop {
            match rx.recv_timeout(self.timeout) {
                Ok(r) => return r.map_err(|e| fail(&self.addr, what, &e.to_string())),
                Err(mpsc::RecvTimeoutError::Timeout) if patient => {
                    if !self.probe.alive(self.timeout) {
                        return Err(no_answer(&self.addr, what, self.timeout));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(no_answer(&self.addr, what, self.timeout))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(fail(&self.addr, what, "the client stopped"))
                }
            }
        }
    }

    /// Runs a query and returns its rows.
    fn query(&self, what: &str, text: String) -> Result<Vec<RecordBatch>, LoadError> {
        crate::trace::stage(&format!("spark: {what}"));
        self.wait(what, move |l| l.results.run(&text))
    }

    /// Runs an aggregate query that gives one row, and returns its integer
    /// columns `names` (null where the aggregate is).
    fn scalars<const N: usize>(
        &self,
        what: &str,
        text: String,
        names: [&str; N],
    ) -> Result<[Option<i64>; N], LoadError> {
        let batches = self.query(what, text)?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let Some(b) = batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .filter(|_| rows == 1)
        else {
            return Err(fail(
                &self.addr,
                what,
                &format!("{rows} rows came back where one was expected"),
            ));
        };
        Ok(names.map(|n| opt(i64s(b, n), 0)))
    }

    /// Runs a statement (a view's definition) for its effect.
    fn exec(&self, what: &str, text: String) -> Result<(), LoadError> {
        self.wait(what, move |l| l.results.run(&text).map(|_| ()))
    }

    fn view(&self, name: &str, body: &str) -> Result<(), LoadError> {
        self.exec(
            &format!("defining {name}"),
            format!("CREATE OR REPLACE TEMPORARY VIEW {name} AS {body}"),
        )
    }

    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Link) -> spark_connect::Result<T> + Send + 'static,
    ) -> Result<mpsc::Receiver<spark_connect::Result<T>>, LoadError> {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .send(Box::new(move |s| {
                let _ = tx.send(f(s));
            }))
            .map_err(|_| fail(&self.addr, "sending a request", "the client stopped"))?;
        Ok(rx)
    }
}

/// The server's port accepts a TCP connection within `timeout`.
fn reachable(addr: &SparkAddress, timeout: Duration) -> Result<(), LoadError> {
    let targets = (addr.host.as_str(), addr.port)
        .to_socket_addrs()
        .map_err(|e| fail(addr, "cannot resolve the host", &e.to_string()))?;
    let mut last = String::from("the host has no address");
    for t in targets {
        match TcpStream::connect_timeout(&t, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(fail(addr, "cannot reach the server", &last))
}

fn fail(addr: &SparkAddress, what: &str, reason: &str) -> LoadError {
    let reason = reason.lines().next().unwrap_or("").trim();
    LoadError::Input(addr.scrub(&format!("Spark Connect server {addr}: {what}: {reason}")))
}

fn no_answer(addr: &SparkAddress, what: &str, timeout: Duration) -> LoadError {
    LoadError::Input(format!(
        "Spark Connect server {addr}: no answer within --engine-timeout {}s while {what}",
        timeout.as_secs_f64()
    ))
}

/// The inputs as `ss_p`; returns the number of empty lines in CSV files,
/// which Spark's CSV reader drops and the local reader counts as blank rows.
fn load(spark: &Spark, job: &Query) -> Result<u64, LoadError> {
    let mut empty_lines = 0;
    let mut parts = Vec::new();
    for (f, file) in job.files.iter().enumerate() {
        let view = format!("ss_in_{f}");
        let path = lit(&spark_path(file));
        let using = match file.format {
            Format::Parquet => format!("USING parquet OPTIONS (path {path})"),
            Format::Csv => format!(
                "USING csv OPTIONS (path {path}, header 'true', inferSchema 'false', escape '\"', multiLine 'true', mode 'PERMISSIVE', nullValue '\\u0000')"
            ),
            Format::Ndjson => format!("USING json OPTIONS (path {path}, multiLine 'false')"),
            Format::Evtx => {
                return Err(LoadError::Input(format!(
                    "{}: Windows event logs are read on this machine only; run without --engine, or convert them to NDJSON first",
                    file.display()
                )))
            }
        };
        spark.exec(
            &format!("opening {}", file.display()),
            format!("CREATE OR REPLACE TEMPORARY VIEW {view} {using}"),
        )?;
        if file.format == Format::Csv {
            let [n] = spark.scalars(
                &format!("counting the empty lines of {}", file.display()),
                format!(
                    "SELECT CAST(count(*) AS BIGINT) AS n FROM text.`{}` WHERE value = ''",
                    spark_path(file).replace('`', "``")
                ),
                ["n"],
            )?;
            empty_lines += n.unwrap_or(0) as u64;
        }
        let v = view.clone();
        let schema = spark.wait(
            &format!("reading the columns of {}", file.display()),
            move |l| l.session.table(&v)?.schema(),
        )?;
        let cols = columns(job.map, file, &schema)?;
        let blank = match (file.format, &schema) {
            (Format::Csv, DataType::Struct { fields }) if !fields.is_empty() => fields
                .iter()
                .map(|c| {
                    let c = sql::ident(std::slice::from_ref(&c.name));
                    format!("({c} IS NULL OR CAST({c} AS STRING) = '')")
                })
                .collect::<Vec<_>>()
                .join(" AND "),
            _ => "FALSE".into(),
        };
        parts.push(sql::parsed_file(f, &view, &cols, &file.display(), &blank));
    }
    let body = match parts.is_empty() {
        true => return Err(LoadError::Input("no input files".into())),
        false => parts.join(" UNION ALL "),
    };
    spark.view("ss_p", &body)?;
    Ok(empty_lines)
}

/// The path Spark reads: a URI as given, a local file by its absolute path.
fn spark_path(file: &InputFile) -> String {
    let shown = file.display();
    if shown.contains("://") {
        return shown;
    }
    std::path::absolute(&file.path)
        .map(|p| p.display().to_string())
        .unwrap_or(shown)
}

/// Each canonical column's source expression and type in one file, as the
/// column map resolves them (hive partition values included).
fn columns(
    map: &ColumnMap,
    file: &InputFile,
    schema: &DataType,
) -> Result<[Option<(String, Ty)>; 7], LoadError> {
    if !matches!(schema, DataType::Struct { .. }) {
        return Err(LoadError::Input(format!("{}: not a table", file.display())));
    }
    // Nested NDJSON objects are found by dotted paths (SPEC 9.4): each
    // column as (name, expression, type).
    let mut found: Vec<(String, String, Ty)> = Vec::new();
    fn walk(prefix: &[String], dt: &DataType, nested: bool, out: &mut Vec<(String, String, Ty)>) {
        let DataType::Struct { fields } = dt else {
            return;
        };
        for f in fields {
            let mut path = prefix.to_vec();
            path.push(f.name.clone());
            match &f.data_type {
                DataType::Struct { .. } if nested => walk(&path, &f.data_type, nested, out),
                t => {
                    let name = match path.len() {
                        1 => path[0].clone(),
                        _ => path
                            .iter()
                            .map(|s| s.replace('.', "\\."))
                            .collect::<Vec<_>>()
                            .join("."),
                    };
                    out.push((name, sql::ident(&path), ty(t)));
                }
            }
        }
    }
    walk(&[], schema, file.format == Format::Ndjson, &mut found);
    // A hive partition value is a column unless the file has its own.
    for (k, v) in &file.hive {
        if !found.iter().any(|f| f.0 == *k) {
            found.push((k.clone(), lit(v), Ty::Text));
        }
    }
    let names: Vec<String> = found.iter().map(|f| f.0.clone()).collect();
    let map = map
        .resolve(&file.display(), &names)
        .map_err(|e| LoadError::Columns(e.0))?;
    let mut out: [Option<(String, Ty)>; 7] = Default::default();
    for c in Canon::ALL {
        let src = map.source(c);
        if let Some((_, expr, t)) = found.iter().find(|f| f.0 == src) {
            out[c as usize] = Some((expr.clone(), *t));
        }
    }
    Ok(out)
}

fn ty(t: &DataType) -> Ty {
    match t {
        DataType::Byte | DataType::Short | DataType::Integer | DataType::Long => Ty::Int,
        DataType::Float | DataType::Double => Ty::Float,
        DataType::Decimal { .. } => Ty::Decimal,
        DataType::String { .. } | DataType::Char { .. } | DataType::Varchar { .. } => Ty::Text,
        DataType::Timestamp => Ty::Instant,
        DataType::TimestampNtz => Ty::Wall,
        DataType::Date => Ty::Date,
        _ => Ty::Other,
    }
}

/// `ss_ev`: for a zone with changes, through the wall-clock segments of
/// the data's range, which this machine computes from its own zone rules.
fn resolve_zone(spark: &Spark, zone: &Zone) -> Result<(), LoadError> {
    let fixed = match zone {
        Zone::Fixed(o) => Some(i64::from(o.local_minus_utc())),
        Zone::Iana(_) => None,
    };
    if fixed.is_none() {
        let [lo, hi] = spark.scalars(
            "finding the range of local times",
            "SELECT min(wall) AS lo, max(wall) AS hi FROM ss_p WHERE utc IS NULL".into(),
            ["lo", "hi"],
        )?;
        let rows = match (lo, hi) {
            (Some(lo), Some(hi)) => calendar::zone_segments(zone, lo, hi),
            _ => Vec::new(),
        };
        upload(spark, "ss_zone", &["bucket", "lo", "hi", "off", "st"], rows)?;
    }
    spark.view("ss_ev", &sql::resolved(fixed, &zone_name(zone)))
}

fn zone_name(zone: &Zone) -> String {
    match zone {
        Zone::Iana(tz) => tz.name().to_string(),
        Zone::Fixed(o) => o.to_string(),
    }
}

/// Sends a small table of integers to Spark as a temporary view.
fn upload(spark: &Spark, name: &str, cols: &[&str], rows: Vec<Vec<i64>>) -> Result<(), LoadError> {
    use spark_connect::row::{Row, Value};
    use spark_connect::types::StructField;
    let fields: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    let schema = DataType::Struct {
        fields: cols
            .iter()
            .map(|c| StructField {
                name: c.to_string(),
                data_type: DataType::Long,
                nullable: false,
                metadata: Default::default(),
            })
            .collect(),
    };
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|r| Row::new(fields.clone(), r.into_iter().map(Value::Long).collect()))
        .collect();
    let name = name.to_string();
    spark.wait(&format!("sending {name}"), move |l| {
        l.session
            .create_dataframe(rows, schema)?
            .create_or_replace_temp_view(&name)
    })
}

fn col<'a>(b: &'a RecordBatch, name: &str) -> &'a dyn Array {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("the engine's query returns {name}"))
        .as_ref()
}

fn i64s<'a>(b: &'a RecordBatch, name: &str) -> &'a Int64Array {
    col(b, name)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap_or_else(|| panic!("{name} is BIGINT"))
}

/// A text column, as whichever Arrow string type the server sends.
struct Texts<'a>(&'a dyn Array);

impl<'a> Texts<'a> {
    fn value(&self, i: usize) -> &'a str {
        let a = self.0.as_any();
        if let Some(a) = a.downcast_ref::<StringArray>() {
            a.value(i)
        } else if let Some(a) = a.downcast_ref::<LargeStringArray>() {
            a.value(i)
        } else if let Some(a) = a.downcast_ref::<StringViewArray>() {
            a.value(i)
        } else {
            panic!("a text column is {:?}", self.0.data_type())
        }
    }
}

fn texts<'a>(b: &'a RecordBatch, name: &str) -> Texts<'a> {
    Texts(col(b, name))
}

fn opt(a: &Int64Array, i: usize) -> Option<i64> {
    a.is_valid(i).then(|| a.value(i))
}

/// Loads, checks and resolves the inputs on Spark: `ss_good` is defined
/// after this; the bad rows (at most `--max-bad-rows` + 1) and the number of
/// rows read come back.
fn prepare(spark: &Spark, job: &Query) -> Result<(u64, u64, Vec<BadRow>), LoadError> {
    let empty_lines = load(spark, job)?;
    resolve_zone(spark, &job.zone)?;
    spark.view("ss_chk", sql::CHECKED)?;
    spark.view("ss_good", &sql::good())?;
    let [n, blank] = spark.scalars(
        "counting rows",
        "SELECT CAST(count(*) AS BIGINT) AS n, CAST(coalesce(sum(IF(blank, 1, 0)), 0) AS BIGINT) AS blank FROM ss_p".into(),
        ["n", "blank"],
    )?;
    let rows_read = n.unwrap_or(0) as u64 + empty_lines;
    let blank_rows = blank.unwrap_or(0) as u64 + empty_lines;
    let bad = spark.query(
        "finding bad rows",
        sql::bad_rows(job.max_bad_rows.saturating_add(1)),
    )?;
    let mut rejected = Vec::new();
    for b in &bad {
        let (f, file, column, value, rule, record) = (
            i64s(b, "f"),
            texts(b, "file"),
            texts(b, "bad_col"),
            texts(b, "bad_val"),
            texts(b, "bad_rule"),
            texts(b, "record"),
        );
        for i in 0..b.num_rows() {
            let fields: BTreeMap<String, Option<String>> =
                serde_json::from_str(record.value(i)).unwrap_or_default();
            let seq = (f.value(i) as usize, rejected.len());
            rejected.push(BadRow {
                seq,
                file: file.value(i).to_string(),
                at: At::Unplaced,
                column: column.value(i).to_string(),
                value: value.value(i).to_string(),
                rule: rule.value(i).to_string(),
                record: Canon::ALL
                    .iter()
                    .filter_map(|c| {
                        fields
                            .get(c.name())
                            .map(|v| (c.name().to_string(), v.clone().unwrap_or_default()))
                    })
                    .collect(),
            });
        }
    }
    if let Some(e) = Loaded::limit_error(&rejected, job.max_bad_rows) {
        return Err(e);
    }
    Ok((rows_read, blank_rows, rejected))
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
) -> Result<(Vec<Answer>, BTreeMap<(i64, usize), SessionParts>), LoadError> {
    let (windows, parts) = (&job.windows[..], job.parts);
    // With a calendar: the events inside the windows, each of which must
    // find its calendar piece.
    let mut inside = None;
    if parts == Parts::None {
        spark.view("ss_evp", &sql::in_window(windows[0].0, windows[0].1))?;
    } else {
        let [a, b, n] = spark.scalars(
            "finding the range of events",
            format!(
                "SELECT min(ts) AS lo, max(ts) AS hi, CAST(count(*) AS BIGINT) AS n FROM ss_good WHERE {}",
                sql::inside(windows)
            ),
            ["lo", "hi", "n"],
        )?;
        let rows = match (a, b) {
            (Some(a), Some(b)) => calendar::pieces(&job.zone, &job.work, windows, a, b),
            _ => Vec::new(),
        };
        upload(
            spark,
            "ss_cal",
            &["bucket", "lo", "hi", "p", "dday", "hday", "hour", "outside"],
            rows,
        )?;
        spark.view("ss_evp", &sql::on_calendar())?;
        inside = n;
    }
    spark.view("ss_sp", &sql::spans(job.idle_after))?;
    let batches = spark.query("computing the sessions", sql::ANSWERS.into())?;
    let mut answers = Vec::new();
    for b in &batches {
        let (sid, p, login, logout, events, productive, uid) = (
            i64s(b, "sid"),
            i64s(b, "p"),
            i64s(b, "login"),
            i64s(b, "logout"),
            i64s(b, "events"),
            i64s(b, "productive"),
            i64s(b, "uid"),
        );
        let (uname, cguid, cname) = (texts(b, "uname"), texts(b, "cguid"), texts(b, "cname"));
        let (first_ts, last_ts, has_logout) = (
            i64s(b, "first_ts"),
            i64s(b, "last_ts"),
            i64s(b, "has_logout"),
        );
        for i in 0..b.num_rows() {
            let p = p.value(i) as usize;
            let (start, end) = windows[p];
            answers.push(Answer {
                p,
                meta: SessionMeta {
                    session_id: sid.value(i) as i32,
                    user_id: uid.value(i) as i32,
                    user_name: uname.value(i).into(),
                    client_guid: cguid.value(i).into(),
                    client_name: cname.value(i).into(),
                    ..SessionMeta::default()
                },
                stats: SessionStats {
                    session: 0,
                    login: login.value(i),
                    logout: logout.value(i),
                    productive: productive.value(i),
                    events: events.value(i) as u32,
                    open: has_logout.value(i) == 0,
                    clipped_start: start.is_some_and(|s| first_ts.value(i) < s),
                    clipped_end: end.is_some_and(|e| last_ts.value(i) > e),
                    lo: 0,
                    hi: 0,
                },
            });
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
    let mut by_session = BTreeMap::new();
    if parts != Parts::None {
        let batches = spark.query("computing the day and hour parts", sql::parts())?;
        let mut groups: BTreeMap<(i64, usize), Vec<Group>> = BTreeMap::new();
        for b in &batches {
            let c: Vec<&Int64Array> = [
                "sid",
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
            ]
            .iter()
            .map(|n| i64s(b, n))
            .collect();
            for i in 0..b.num_rows() {
                groups
                    .entry((c[0].value(i), c[1].value(i) as usize))
                    .or_default()
                    .push(Group {
                        dday: c[2].value(i),
                        hday: c[3].value(i),
                        hour: c[4].value(i) as u8,
                        outside: c[5].value(i) == 1,
                        productive: c[6].value(i),
                        idle: c[7].value(i),
                        plo: opt(c[8], i),
                        phi: opt(c[9], i),
                        at: c[10].value(i),
                        first_event: opt(c[11], i),
                        last_event: opt(c[12], i),
                    });
            }
        }
        for (key, g) in groups {
            by_session.insert(key, session_parts(g, parts));
        }
    }
    Ok((answers, by_session))
}

/// One calendar group of one session in one window.
#[derive(Debug, Clone, Copy)]
struct Group {
    dday: i64,
    hday: i64,
    hour: u8,
    outside: bool,
    productive: Micros,
    idle: Micros,
    plo: Option<Micros>,
    phi: Option<Micros>,
    at: Micros,
    first_event: Option<Micros>,
    last_event: Option<Micros>,
}

/// A session's parts from its calendar groups, as `RunningDays` keeps them:
/// a day part for every day from its first to its last (a day the zone
/// skips has one of length 0), hour parts of positive length in time
/// order, and its productive time outside work hours per local date.
fn session_parts(groups: Vec<Group>, parts: Parts) -> SessionParts {
    let mut out = SessionParts::default();
    if parts == Parts::All {
        let mut days: BTreeMap<i64, DayPart> = BTreeMap::new();
        for g in &groups {
            let d = days.entry(g.dday).or_insert(DayPart {
                day: g.dday,
                ..DayPart::default()
            });
            d.first_event = match (d.first_event, g.first_event) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            d.last_event = d.last_event.max(g.last_event);
            d.duration += g.productive + g.idle;
            d.productive += g.productive;
            d.idle += g.idle;
        }
        if let (Some(&first), Some(&last)) = (days.keys().next(), days.keys().next_back()) {
            for day in first..=last {
                days.entry(day).or_insert(DayPart {
                    day,
                    ..DayPart::default()
                });
            }
        }
        out.days = days.into_values().collect();
        let mut outside: BTreeMap<i64, OutsidePart> = BTreeMap::new();
        for g in groups.iter().filter(|g| g.outside && g.productive > 0) {
            let (lo, hi) = (g.plo.expect("productive"), g.phi.expect("productive"));
            let o = outside.entry(g.hday).or_insert(OutsidePart {
                day: g.hday,
                start: lo,
                end: hi,
                total: 0,
            });
            o.start = o.start.min(lo);
            o.end = o.end.max(hi);
            o.total += g.productive;
        }
        out.outside = outside.into_values().collect();
        out.outside.sort_by_key(|o| o.start);
    }
    let mut hours: BTreeMap<(i64, u8), (Micros, HourPart)> = BTreeMap::new();
    for g in groups.iter().filter(|g| g.productive + g.idle > 0) {
        let h = hours.entry((g.hday, g.hour)).or_insert((
            g.at,
            HourPart {
                day: g.hday,
                hour: g.hour,
                ..HourPart::default()
            },
        ));
        h.0 = h.0.min(g.at);
        h.1.productive += g.productive;
        h.1.idle += g.idle;
    }
    let mut hours: Vec<(Micros, HourPart)> = hours.into_values().collect();
    hours.sort_by_key(|h| h.0);
    out.hours = hours.into_iter().map(|h| h.1).collect();
    out
}

/// Runs `job` on the server at `addr`: the inputs read once for every window.
pub fn run(job: &Query, addr: &SparkAddress, timeout: Duration) -> Result<Ran, LoadError> {
    let spark = Spark::connect(addr, timeout)?;
    let (rows_read, blank_rows, rejected) = prepare(&spark, job)?;
    let (answers, mut by_session) = compute(&spark, job)?;
    let mut windows: Vec<Vec<Selected>> = job.windows.iter().map(|_| Vec::new()).collect();
    for a in answers {
        let parts = by_session
            .remove(&(i64::from(a.meta.session_id), a.p))
            .unwrap_or_default();
        windows[a.p].push((a.meta, a.stats, parts));
    }
    for w in &mut windows {
        w.sort_by_key(|(m, s, _)| crate::kernel::endpoint_order(s, m));
    }
    Ok(Ran {
        windows,
        rows_read,
        blank_rows,
        rejected,
    })
}
