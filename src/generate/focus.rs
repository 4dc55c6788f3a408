//! The `app` and `url` cells of a generated log (`generate --apps`).

use crate::time::Micros;

const APPS: [&str; 8] = [
    "chrome.exe",
    "WINWORD.EXE",
    "EXCEL.EXE",
    "outlook.exe",
    "Teams.exe",
    "explorer.exe",
    "firefox.exe",
    "Code.exe",
];

const URLS: [&str; 8] = [
    "https://www.google.com/search?q=report",
    "https://mail.example.com/inbox",
    "https://docs.example.org:443/a/b",
    "http://intranet.local/wiki?page=1",
    "https://www.GitHub.com/org/repo",
    "https://news.ycombinator.com/item?id=1",
    "about:blank",
    "https://[2001:db8::1]:8443/x",
];

/// An event's `app` and `url` cells: from a hash of the event, so that
/// adding them changes nothing else of the log. Half the events switch
/// the application (a browser with an address or none), a tenth change
/// only the address, the rest are heartbeats.
pub(super) fn focus_cells(session: u32, ts: Micros) -> (&'static str, &'static str) {
    let mut h = (u64::from(session) << 32 ^ ts as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    let pick = |n: u64| (h >> 8) as usize % n as usize;
    match h % 10 {
        0..=3 => ("", ""),
        4 => ("", URLS[pick(8)]),
        _ => {
            let app = APPS[(h >> 20) as usize % APPS.len()];
            let browser = app == "chrome.exe" || app == "firefox.exe";
            (app, if browser { URLS[pick(8)] } else { "" })
        }
    }
}
