//! `report.html` (SPEC 10.1, 13.5): the nightly report a person reads. One
//! file with no external resource and no script: inline CSS, charts as
//! inline SVG drawn here. Every number is the tables': lengths read as
//! hours and minutes (`113 h 12 min`), their exact microseconds in
//! `<data value>`; instants in the zone's local time with the zone named,
//! the exact UTC instant in `<time datetime>`. Nothing in it changes
//! between runs of the same job: no run time, path, engine or memory
//! figure (those are in `summary.json`).
//!
//! Text from logs (user, client names) is escaped and isolated with
//! `<bdi>`, so markup shows as text and right-to-left names do not
//! reorder the cells around them.

use crate::rollup::findings::{Finding, KINDS};
use crate::rollup::focus::{TopKey, TopList, Tops};
use crate::rollup::{DayTotal, UserTotal};
use crate::time::{
    date_of_day, format_endpoint_date, format_rfc3339_utc, Micros, Zone, US_PER_MIN, US_PER_SEC,
};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Findings listed in full per kind; the sessions of the rest are named.
const LISTED: usize = 200;

/// What the page shows.
pub struct Page<'a> {
    pub start: Option<Micros>,
    pub end: Option<Micros>,
    pub zone: String,
    /// The zone itself, for local times.
    pub local: Zone,
    /// Settings as (name, value), in the order shown.
    pub settings: Vec<(&'static str, String)>,
    /// Counts as (name, value): events read, rejected, used, sessions.
    pub counts: Vec<(&'static str, u64)>,
    pub days: &'a [DayTotal],
    pub users: &'a [UserTotal<'a>],
    pub findings: &'a [Finding<'a>],
    /// The applications and the sites with the most time (SPEC 13.5).
    pub apps: &'a Tops,
    pub sites: &'a Tops,
}

/// `text` escaped for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A length as `H:MM:SS`, with the microseconds after a point when there
/// are any (trailing zeros dropped): exact, for settings.
pub fn hms(us: Micros) -> String {
    let (sign, us) = if us < 0 { ("-", -us) } else { ("", us) };
    let secs = us / US_PER_SEC;
    let mut s = format!(
        "{sign}{}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    let frac = us % US_PER_SEC;
    if frac != 0 {
        let digits = format!("{frac:06}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s
}

/// A length as a person reads it: whole hours and minutes (`113 h 12 min`,
/// `7 min`), the seconds dropped; `< 1 min` for a length under a minute
/// that is not zero.
pub fn human(us: Micros) -> String {
    let (sign, us) = if us < 0 { ("-", -us) } else { ("", us) };
    let minutes = us / US_PER_MIN;
    match (minutes / 60, minutes % 60) {
        (0, 0) if us > 0 => format!("{sign}< 1 min"),
        (0, m) => format!("{sign}{m} min"),
        (h, m) => format!("{sign}{h} h {m} min"),
    }
}

/// A length in a `<data>` element: its microseconds, then `human`.
fn length(us: Micros) -> String {
    format!("<data value=\"{us}\">{}</data>", human(us))
}

/// productive / duration as a percentage with one decimal (rounded half
/// up, in integers), the exact ratio as its value; a dash for no duration.
fn ratio(productive: Micros, duration: Micros) -> String {
    if duration <= 0 {
        return "<data value=\"\">–</data>".into();
    }
    let permille =
        (i128::from(productive) * 1000 * 2 + i128::from(duration)) / (2 * i128::from(duration));
    format!(
        "<data value=\"{}\">{}.{}%</data>",
        productive as f64 / duration as f64,
        permille / 10,
        permille % 10
    )
}

fn date(day: i64) -> String {
    date_of_day(day).map_or_else(|| day.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

/// An instant in the zone's local time with its offset (to the second),
/// the UTC instant exact in `datetime`.
fn time(us: Micros, zone: &Zone) -> String {
    let t = format_rfc3339_utc(us);
    let local = format_endpoint_date(us, zone);
    // yyyy-MM-ddTHH:mm:ss.fff+hh:mm -> yyyy-MM-dd HH:mm:ss +hh:mm
    let shown = format!("{} {} {}", &local[..10], &local[11..19], &local[23..]);
    format!("<time datetime=\"{t}\">{shown}</time>")
}

const STYLE: &str = "\
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a202c;margin:2em auto;max-width:72em;padding:0 1em}\
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:2em 0 .5em;border-bottom:1px solid #cbd5e0}\
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.2em .7em;text-align:left;vertical-align:top;border-bottom:1px solid #edf2f7}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
td.t{max-width:22em;overflow-wrap:anywhere}\
.muted{color:#4a5568}.key{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin:0 .3em 0 1em}\
dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1.5em}dt{color:#4a5568}dd{margin:0}\
details{margin:.6em 0}summary{cursor:pointer;font-weight:600}";

const PRODUCTIVE: &str = "#2b6cb0";
const IDLE: &str = "#a0aec0";

/// Writes the page.
pub fn write_html<W: Write>(mut w: W, page: &Page<'_>) -> io::Result<()> {
    let mut h = String::with_capacity(64 * 1024);
    let window = format!(
        "from {} to {}",
        page.start
            .map_or("the first event".into(), |t| time(t, &page.local)),
        page.end
            .map_or("the last event".into(), |t| time(t, &page.local))
    );
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Sessions report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Sessions report</h1>\n<p class=\"muted\">Window: {window}. Days and times are local to {zone}.</p>\n",
        zone = escape(&page.zone)
    );
    totals(&mut h, page);
    days(&mut h, page.days);
    users(&mut h, page.users);
    tops(
        &mut h,
        "Applications",
        "apps",
        "application",
        page.apps,
        page.users,
    );
    tops(
        &mut h, "Websites", "sites", "website", page.sites, page.users,
    );
    findings(&mut h, page.findings, &page.local);
    h.push_str("<h2>Settings</h2>\n<table>\n");
    for (name, value) in &page.settings {
        let _ = writeln!(h, "<tr><th>{name}</th><td>{}</td></tr>", escape(value));
    }
    h.push_str("</table>\n<p class=\"muted\">Written by sessionstat. The numbers are those of sessions, daily_user, daily_app, daily_site and findings in this folder.</p>\n</body>\n</html>\n");
    w.write_all(h.as_bytes())
}

fn totals(h: &mut String, page: &Page<'_>) {
    let sum = |f: fn(&UserTotal) -> Micros| page.users.iter().map(f).sum::<Micros>();
    let (duration, productive, idle) =
        (sum(|u| u.duration), sum(|u| u.productive), sum(|u| u.idle));
    h.push_str("<h2>Totals</h2>\n<dl id=\"totals\">\n");
    for (name, value) in &page.counts {
        let _ = writeln!(
            h,
            "<dt>{name}</dt><dd><data value=\"{value}\">{value}</data></dd>"
        );
    }
    let _ = writeln!(
        h,
        "<dt>Duration</dt><dd>{}</dd>\n<dt>Productive</dt><dd>{}</dd>\n<dt>Idle</dt><dd>{}</dd>\n<dt>Productivity</dt><dd>{}</dd>",
        length(duration),
        length(productive),
        length(idle),
        ratio(productive, duration)
    );
    h.push_str("</dl>\n");
}

/// The per-day chart (productive below, idle on top, hours on the axis)
/// and the same numbers as a table.
fn days(h: &mut String, days: &[DayTotal]) {
    h.push_str("<h2>Per day</h2>\n");
    if days.is_empty() {
        h.push_str("<p>No sessions in the window.</p>\n");
        return;
    }
    const HOUR: Micros = 3600 * US_PER_SEC;
    let (width, height, left, bottom, top) = (960.0, 260.0, 48.0, 36.0, 12.0);
    let most = days
        .iter()
        .map(|d| d.productive + d.idle)
        .max()
        .unwrap_or(0);
    // The axis: whole hours, a step of 1, 2, 5 times a power of ten, 4-8 ticks.
    let hours = (most + HOUR - 1) / HOUR;
    let mut step = 1;
    'find: for scale in [1, 10, 100, 1000, 10_000, 100_000] {
        for s in [1, 2, 5] {
            if hours <= 6 * s * scale {
                step = s * scale;
                break 'find;
            }
        }
    }
    let ticks = ((hours + step - 1) / step).max(1);
    let top_us = (ticks * step * HOUR) as f64;
    let plot = height - bottom - top;
    let y = |us: Micros| top + plot - plot * us as f64 / top_us;
    let slot = (width - left) / days.len() as f64;
    let _ = write!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"Productive and idle time per day\" style=\"max-width:{width}px\">\n"
    );
    for t in 0..=ticks {
        let yy = y(t * step * HOUR);
        let _ = writeln!(
            h,
            "<line x1=\"{left}\" x2=\"{width}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e2e8f0\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#4a5568\">{}h</text>",
            left - 6.0,
            yy + 4.0,
            t * step
        );
    }
    let label_every = days.len().div_ceil(16);
    for (i, d) in days.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.1;
        let bar = slot * 0.8;
        let (yp, yi) = (y(d.productive), y(d.productive + d.idle));
        let _ = writeln!(
            h,
            "<g><title>{}: productive {}, idle {}</title><rect x=\"{x:.1}\" y=\"{yp:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{PRODUCTIVE}\"/><rect x=\"{x:.1}\" y=\"{yi:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{IDLE}\"/></g>",
            date(d.day),
            human(d.productive),
            human(d.idle),
            y(0) - yp,
            yp - yi
        );
        if i % label_every == 0 {
            let _ = writeln!(
                h,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#4a5568\">{}</text>",
                x + bar / 2.0,
                height - bottom + 16.0,
                date(d.day).get(5..).unwrap_or_default()
            );
        }
    }
    h.push_str("</svg>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\"><span class=\"key\" style=\"background:{PRODUCTIVE}\"></span>productive<span class=\"key\" style=\"background:{IDLE}\"></span>idle</p>"
    );
    h.push_str("<details><summary>The days as a table</summary>\n<table id=\"days\">\n<tr><th>Day</th><th class=\"n\">Duration</th><th class=\"n\">Productive</th><th class=\"n\">Idle</th><th class=\"n\">Productivity</th></tr>\n");
    for d in days {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            date(d.day),
            length(d.duration),
            length(d.productive),
            length(d.idle),
            ratio(d.productive, d.duration)
        );
    }
    h.push_str("</table>\n</details>\n");
}

/// Users by productive time, each with a bar of it against the most.
fn users(h: &mut String, users: &[UserTotal<'_>]) {
    h.push_str("<h2>Users</h2>\n");
    if users.is_empty() {
        h.push_str("<p>No sessions in the window.</p>\n");
        return;
    }
    let most = users.iter().map(|u| u.productive).max().unwrap_or(0).max(1);
    h.push_str("<table id=\"users\">\n<tr><th>User</th><th class=\"n\">Id</th><th class=\"n\">Sessions</th><th class=\"n\">Productive</th><th></th><th class=\"n\">Idle</th><th class=\"n\">Productivity</th></tr>\n");
    for u in users {
        let bar = i128::from(u.productive) * 100 / i128::from(most);
        let _ = writeln!(
            h,
            "<tr><td class=\"t\"><bdi>{}</bdi></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><svg width=\"100\" height=\"10\" aria-hidden=\"true\"><rect width=\"100\" height=\"10\" fill=\"#edf2f7\"/><rect width=\"{bar}\" height=\"10\" fill=\"{PRODUCTIVE}\"/></svg></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(u.user.1),
            u.user.0,
            u.sessions,
            length(u.productive),
            length(u.idle),
            ratio(u.productive, u.duration)
        );
    }
    h.push_str("</table>\n");
}

/// What each kind means, for the reader.
fn meaning(kind: &str) -> &'static str {
    match kind {
        "open" => "sessions with no logout in the log (value: their length in the window)",
        "long" => "sessions longer than --long-session",
        "after_hours" => "productive time outside work hours, per session and local date",
        "concurrent" => "one user signed in on two clients at once (value: the overlap)",
        "idle_share" => "sessions over 1 hour that were mostly idle (value: the idle time)",
        _ => "",
    }
}

/// One top list as a table.
fn top_table(h: &mut String, id: &str, what: &str, list: &TopList) {
    let _ = writeln!(
        h,
        "<table class=\"top\" id=\"{id}\">\n<tr><th>{}</th><th class=\"n\">Productive</th></tr>",
        capitalised(what)
    );
    for (key, us) in list {
        let name = match key {
            TopKey::Key(k) => format!("<bdi>{}</bdi>", escape(k)),
            TopKey::Other(n) => format!("<i>other ({n} more)</i>"),
            TopKey::None => format!("<i>no {what}</i>"),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"t\">{name}</td><td class=\"n\">{}</td></tr>",
            length(*us)
        );
    }
    h.push_str("</table>\n");
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// The keys with the most productive time over the window, then per user
/// (in the users table's order).
fn tops(h: &mut String, title: &str, id: &str, what: &str, tops: &Tops, users: &[UserTotal<'_>]) {
    let _ = writeln!(h, "<h2>{title}</h2>");
    if tops.window.is_empty() {
        h.push_str("<p>No productive time in the window.</p>\n");
        return;
    }
    top_table(h, id, what, &tops.window);
    if tops.window.iter().all(|(k, _)| *k == TopKey::None) {
        // Nothing to tell per user: the log names no application (site).
        let column = if what == "website" { "url" } else { "app" };
        let _ = writeln!(
            h,
            "<p class=\"muted\">The log names no {what} (no <code>{column}</code> column, or none given in the window).</p>"
        );
        return;
    }
    for (i, u) in users.iter().enumerate() {
        let Some(list) = tops.of_user(&u.user) else {
            continue;
        };
        let _ = writeln!(
            h,
            "<details><summary><bdi>{}</bdi> ({})</summary>",
            escape(u.user.1),
            u.user.0
        );
        top_table(h, &format!("{id}-{i}"), what, list);
        h.push_str("</details>\n");
    }
}

fn findings(h: &mut String, findings: &[Finding<'_>], zone: &Zone) {
    h.push_str("<h2>Findings</h2>\n<table id=\"finding-counts\">\n");
    for kind in KINDS {
        let n = findings.iter().filter(|f| f.kind == kind).count();
        let _ = writeln!(
            h,
            "<tr><th>{kind}</th><td class=\"n\"><data value=\"{n}\">{n}</data></td><td class=\"muted\">{}</td></tr>",
            meaning(kind)
        );
    }
    h.push_str("</table>\n");
    for kind in KINDS {
        let rows: Vec<&Finding<'_>> = findings.iter().filter(|f| f.kind == kind).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = write!(
            h,
            "<details open><summary>{kind}: {}</summary>\n<table class=\"findings\" data-kind=\"{kind}\">\n<tr><th class=\"n\">Session</th>{}<th>User</th><th>Client</th><th>Start</th><th>End</th><th class=\"n\">Value</th></tr>\n",
            rows.len(),
            if kind == "concurrent" { "<th class=\"n\">With</th>" } else { "" }
        );
        for f in rows.iter().take(LISTED) {
            let other = match f.other {
                Some(o) => format!("<td class=\"n\">{o}</td>"),
                None => String::new(),
            };
            let _ = writeln!(
                h,
                "<tr><td class=\"n\">{}</td>{other}<td class=\"t\"><bdi>{}</bdi></td><td class=\"t\"><bdi>{}</bdi></td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                f.meta.session_id,
                escape(&f.meta.user_name),
                escape(&f.meta.client_name),
                time(f.start, zone),
                time(f.end, zone),
                length(f.value)
            );
        }
        h.push_str("</table>\n");
        if rows.len() > LISTED {
            let mut ids: Vec<i32> = rows[LISTED..].iter().map(|f| f.meta.session_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let list: Vec<String> = ids.iter().map(i32::to_string).collect();
            let _ = writeln!(
                h,
                "<p class=\"muted\">{} more in findings.csv, of sessions {}.</p>",
                rows.len() - LISTED,
                list.join(", ")
            );
        }
        h.push_str("</details>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_exact_and_names_are_text() {
        assert_eq!(hms(1_500_000), "0:00:01.5");
        assert_eq!(hms(3_600_000_000 * 26 + 61_000_000), "26:01:01");
        assert_eq!(human(0), "0 min");
        assert_eq!(human(1), "< 1 min");
        assert_eq!(
            human(3_600_000_000 * 113 + 12 * 60_000_000 + 59_999_999),
            "113 h 12 min"
        );
        assert_eq!(human(59 * 60_000_000), "59 min");
        assert_eq!(human(3_600_000_000), "1 h 0 min");
        assert_eq!(length(90_000_000), "<data value=\"90000000\">1 min</data>");
        let berlin: Zone = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            time(1_625_140_800_000_000, &berlin),
            "<time datetime=\"2021-07-01T12:00:00.000000Z\">2021-07-01 14:00:00 +02:00</time>"
        );
        assert_eq!(escape("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
        assert_eq!(
            ratio(1, 3),
            "<data value=\"0.3333333333333333\">33.3%</data>"
        );
        assert_eq!(
            ratio(2, 3),
            "<data value=\"0.6666666666666666\">66.7%</data>"
        );
        assert_eq!(ratio(1, 0), "<data value=\"\">–</data>");
    }
}
