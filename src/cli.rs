//! The command line: subcommands and the flags they share. Flags stay raw
//! text here; `config` checks them before any data is read.

use crate::generate::TimeStyle;
use crate::load::inputs::Format;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Per-session duration, idle and productivity time from user-activity logs,
/// exactly as the Sessions (Post) endpoint answers, plus Parquet/CSV rollups.
#[derive(Debug, Parser)]
#[command(name = "sessionstat", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one page of the endpoint's answer (JSON) on stdout; with --get, Sessions (Get).
    Sessions(SessionsArgs),
    /// Print User Productivity (GET /ekranapi/user/getproductivity): productive minutes per user and local hour.
    Productivity(ProductivityArgs),
    /// Print Application Statistics (GET /ekranapi/statistics/getapp): productive time per application, session and hour.
    Apps(StatsArgs),
    /// Print URL Statistics (GET /ekranapi/statistics/geturl): productive time per website, session and hour.
    Urls(StatsArgs),
    /// Answer the five endpoints over HTTP(S) from the inputs loaded once.
    Serve(ServeArgs),
    /// Write every page, the Parquet/CSV rollups and a summary into a folder.
    Report(ReportArgs),
    /// Write one report folder per day, week or month (a hive dataset), reading the inputs once.
    Backfill(BackfillArgs),
    /// Write a deterministic synthetic activity log.
    Generate(GenerateArgs),
}

/// How errors are printed on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ErrorFormat {
    /// One plain line.
    #[default]
    Text,
    /// One JSON object: {"status":400,"error":"..."} (400 for a bad request or usage, 500 otherwise).
    Json,
}

/// Where the events come from and how to read them.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Input file, glob or folder (hive-partitioned folders too); repeat for more.
    #[arg(short, long = "input", value_name = "PATH")]
    pub input: Vec<String>,

    /// Input format; by default from each file's extension (.csv[.gz|.zst], .parquet, .ndjson/.jsonl, .evtx).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Column names in your files: canonical=source pairs, comma-separated or repeated
    /// (e.g. timestamp=event_time,kind=event_type); in NDJSON a dotted source is a path into
    /// nested objects (winlog.event_data.TargetLogonId; \. for a dot in a key).
    #[arg(long, value_name = "CANON=SOURCE,...")]
    pub map: Vec<String>,

    /// Id columns that hold text keys (a GUID, a SID, host:pid), not numbers: session, user
    /// or session,user. Each key gets an int32 id; the tables also carry the key.
    #[arg(long, value_name = "session,user")]
    pub id_keys: Vec<String>,

    /// An id registry (Parquet: kind, key, id) that keeps every key's id across runs; created
    /// if missing, updated only when the run succeeds. Without it, ids follow the keys' sorted
    /// order and report writes ids.csv.
    #[arg(long, value_name = "FILE")]
    pub ids: Option<PathBuf>,

    /// Build sessions for a log without session_id: per user and client, a new session at
    /// every login, after every logout and after a gap longer than GAP (e.g. 30m).
    #[arg(long, value_name = "GAP")]
    pub sessionize: Option<String>,

    /// Zone of timestamps without offset, and of the output dates: IANA name or fixed offset.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,

    /// A span longer than this is idle: e.g. 90s, 5m, 1h30m, or off (no limit). Default: 15m,
    /// and off for ActivityWatch exports (their AFK watcher decided what is idle).
    #[arg(long, value_name = "LENGTH")]
    pub idle_after: Option<String>,

    /// ActivityWatch exports: the user their sessions belong to (default: each host's name;
    /// the host stays the client).
    #[arg(long, value_name = "NAME")]
    pub aw_user: Option<String>,

    /// Skip up to N bad rows (each written to --rejects) instead of stopping at the first.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_bad_rows: u64,

    /// Where skipped bad rows go (NDJSON, one per line, with file:line and reason).
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,

    /// No progress bar and no closing line on stderr.
    #[arg(short, long)]
    pub quiet: bool,

    /// How errors are printed on stderr.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Text)]
    pub error_format: ErrorFormat,
}

/// How a run that answers once does its work: memory, and where (SPEC 11).
/// `serve` keeps every event and runs here, so it takes none of these.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Memory for events when they must be kept, for a log not in time order (about 12
    /// bytes each); beyond it sessions are processed in partitions, one pass over the
    /// input each: a size (512MiB, 2GB), auto (half of RAM) or off.
    #[arg(long, value_name = "SIZE", default_value = "auto")]
    pub memory_limit: String,

    /// Where the per-event work runs: local (this machine), or a Spark Connect server,
    /// sc://HOST:PORT[/;use_ssl=true;token=...] (needs a build with --features spark).
    #[arg(
        long,
        value_name = "local|sc://HOST:PORT",
        env = "SESSIONSTAT_ENGINE",
        default_value = "local",
        hide_env_values = true
    )]
    pub engine: String,

    /// With a Spark engine: the longest wait for connecting and for any call that gets no
    /// answer at all (a query that is running is not cut off).
    #[arg(long, value_name = "LENGTH", default_value = "30s")]
    pub engine_timeout: String,
}

/// The request window, as flags or as the endpoint's JSON request body.
#[derive(Debug, Clone, clap::Args)]
pub struct WindowArgs {
    /// Window start (inclusive): 2021-04-01, 2021-04-01T12:00, 2021-04-01T12:00:00[.ffffff][Z|+hh:mm].
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub start: Option<String>,

    /// Window end (inclusive), in the same forms as --start.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub end: Option<String>,

    /// Sessions per page, 0 to 1000 (default 1000).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub session_count: Option<String>,

    /// A file holding the endpoint's JSON request body ({"start","end","sessionCount","pageIndex"}).
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub window: WindowArgs,

    /// Page to print, from 0.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub page_index: Option<String>,

    /// Print Sessions (Get), GET /ekranapi/sessions: a bare array of every selected session
    /// (clientGuid, logoutDate, loginDate, sessionId, userId), no pages.
    #[arg(long)]
    pub get: bool,

    /// Indent the JSON.
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ProductivityArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub window: WindowArgs,

    /// Indent the JSON.
    #[arg(long)]
    pub pretty: bool,
}

/// `apps` and `urls` (SPEC 13.3, 13.4): one window, no pages.
#[derive(Debug, Clone, clap::Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub window: WindowArgs,

    /// Not taken: the endpoint has no pages (a bad request when given).
    #[arg(long, value_name = "N", allow_hyphen_values = true, hide = true)]
    pub page_index: Option<String>,

    /// Indent the JSON.
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Address and port to listen on; a non-loopback address needs --api-key-file.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// The accepted API keys, one a line: every request must carry one in its ApiKey header.
    /// Without it the server answers without keys, and only on loopback.
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The certificate's private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Reload when an input file (or the key file) changes, checked every 2 seconds
    /// (SIGHUP reloads too).
    #[arg(long)]
    pub watch: bool,

    /// Threads that answer requests (default: one per core). Fewer leave cores to other
    /// programs on the machine, such as a proxy or a load generator.
    #[arg(long, value_name = "N")]
    pub workers: Option<std::num::NonZeroUsize>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub findings: FindingArgs,

    #[command(flatten)]
    pub window: WindowArgs,

    /// The window of one local day in --tz, instead of --start/--end (the nightly
    /// job): YYYY-MM-DD, today or yesterday.
    #[arg(long, value_name = "DATE", conflicts_with_all = ["start", "end"])]
    pub day: Option<String>,

    /// Output folder (created if missing).
    #[arg(short, long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,

    /// Indent the JSON pages.
    #[arg(long)]
    pub pretty: bool,
}

/// What counts as a finding (SPEC 10.2), for `report` and `backfill`.
#[derive(Debug, Clone, clap::Args)]
pub struct FindingArgs {
    /// A session is `long` when its clipped duration is strictly over this.
    #[arg(long, value_name = "LENGTH", default_value = "12h")]
    pub long_session: String,

    /// Local work hours, HH:MM-HH:MM (24:00 is the day's end): productive time
    /// outside them, or on other days, is an `after_hours` finding.
    #[arg(long, value_name = "HH:MM-HH:MM", default_value = "08:00-18:00")]
    pub work_hours: String,

    /// Work days: a comma list of mon..sun or ranges of them.
    #[arg(long, value_name = "DAYS", default_value = "mon-fri")]
    pub work_days: String,

    /// A session over 1 hour is an `idle_share` finding when its idle time is
    /// strictly over this share of it.
    #[arg(long, value_name = "PERCENT", default_value = "50%")]
    pub idle_share: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub findings: FindingArgs,

    /// A date in the first period: YYYY-MM-DD, today or yesterday (in --tz).
    #[arg(long, value_name = "DATE")]
    pub from: String,

    /// A date in the last period, in the same forms.
    #[arg(long, value_name = "DATE")]
    pub to: String,

    /// Period length: local days, ISO weeks (from Monday) or months.
    #[arg(long, value_enum)]
    pub every: crate::time::periods::Every,

    /// Sessions per page, 0 to 1000 (default 1000).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub session_count: Option<String>,

    /// The dataset folder: one DIR/day=YYYY-MM-DD/ (week=, month=) folder per period.
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,

    /// Recompute every period, even those the manifest records as up to date.
    #[arg(long)]
    pub force: bool,

    /// The most periods one run writes: a longer span is refused before
    /// anything is written (a typo in --from would otherwise start writing
    /// a folder per day for a century).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_periods: u64,

    /// Indent the JSON pages.
    #[arg(long)]
    pub pretty: bool,
}

/// The formats `generate` writes, as `--format` takes and lists them.
fn generated_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["csv", "parquet", "ndjson"])
        .map(|s| s.parse::<Format>().expect("a format generate writes"))
}

#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Output file; the format follows its extension unless --format is given (.csv.gz/.csv.zst compress).
    #[arg(short, long, value_name = "PATH")]
    pub out: PathBuf,

    /// Output format (the formats generate writes; EVTX is read only).
    #[arg(long, value_parser = generated_format())]
    pub format: Option<Format>,

    /// Random seed: the same seed and flags give the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Number of users (about one in 25 is a service account with multi-day sessions).
    #[arg(long, default_value_t = 50)]
    pub users: u32,

    /// Number of days, from --start-date.
    #[arg(long, default_value_t = 5, conflicts_with = "events")]
    pub days: u32,

    /// Write exactly this many events (as many days as it takes) instead of --days.
    #[arg(long, value_name = "N")]
    pub events: Option<u64>,

    /// First day (local) of the log.
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2021-03-25")]
    pub start_date: String,

    /// Zone of the office hours (and of offsets / wall times in the text).
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,

    /// How timestamps are written: offset (local with offset), utc (Z), naive (local wall time).
    #[arg(long, value_enum, default_value_t = TimeStyle::Offset)]
    pub time_style: TimeStyle,

    /// Add the app and url columns (SPEC 13): the application in front and the browser's
    /// address, some events giving only one, some neither.
    #[arg(long)]
    pub apps: bool,

    /// No closing line on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}
