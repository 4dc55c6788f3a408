//! The `sessionstat` binary: parse the command line, run, report errors as
//! one line on stderr, exit 0 (ok), 2 (bad request or usage) or 1 (other).

use clap::Parser;
use sessionstat::cli::Cli;
use sessionstat::error::{error_line, exit_code, is_broken_pipe, json_error, panic_message};
use std::process::ExitCode;

/// Keeps the kernel from backing this process with transparent huge pages
/// (mimalloc, the allocator before, asked for them; this keeps any library
/// from doing so again). When free memory is fragmented (for example right
/// after another large process ran), each huge-page fault compacts memory
/// first, and a 10M-event run spent up to 0.6 s in the kernel doing so.
/// Plain pages fault in at a steady cost.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Where the last panic happened: a panic is caught (at a file's boundary
/// as that file's error, or here as an internal error) and told as one
/// line, never as Rust's multi-line report and exit status 101.
static PANIC_AT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn main() -> ExitCode {
    no_huge_pages();
    sessionstat::alloc::keep_freed_pages();
    // A Parquet timestamp is an instant whatever zone name it carries;
    // polars refuses fixed offsets that are not whole hours (`+05:30`) unless
    // told not to check. Set before any thread starts.
    std::env::set_var("POLARS_IGNORE_TIMEZONE_PARSE_ERROR", "1");
    // SESSIONSTAT_PANIC_TRACE=1 keeps Rust's own report, for a bug hunt.
    let default_hook = std::panic::take_hook();
    let trace = std::env::var_os("SESSIONSTAT_PANIC_TRACE").is_some();
    std::panic::set_hook(Box::new(move |info| {
        if trace {
            default_hook(info);
        }
        if let (Some(at), Ok(mut last)) = (info.location(), PANIC_AT.lock()) {
            *last = at.to_string();
        }
    }));
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Known before parsing, so that even a usage error can be printed as JSON.
    let json_errors = args
        .windows(2)
        .any(|w| w[0] == "--error-format" && w[1] == "json")
        || args.iter().any(|a| a == "--error-format=json");
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if json_errors => {
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            eprintln!("{}", json_error(400, first));
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let result = std::panic::catch_unwind(|| sessionstat::run(cli));
    let result = match result {
        Ok(r) => r,
        Err(payload) => {
            let at = PANIC_AT.lock().map(|s| s.clone()).unwrap_or_default();
            let text = format!(
                "internal error ({} at {at}); please report it with the command line",
                panic_message(payload.as_ref())
            );
            eprintln!("{}", error_line(&anyhow::anyhow!(text), json_errors));
            return ExitCode::from(1);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_line(&e, json_errors));
            ExitCode::from(exit_code(&e))
        }
    }
}
