//! The endpoints' response bodies (SPEC 4, 8): exactly their keys, in their
//! order, with .NET timespans, dates in the zone's offset and .NET doubles.

use crate::kernel::SessionStats;
use crate::model::SessionMeta;
use crate::rollup::focus::{HourStat, Keys};
use crate::rollup::hours::HourRow;
use crate::time::{
    format_day_start, format_endpoint_date, format_hour_label, format_timespan, push_digits,
    push_dotnet_double, push_hour_label, push_timespan, Zone,
};
use serde::Serialize;
use std::io::{self, Write};

/// One session as the endpoint writes it; field order is the wire order.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSession<'a> {
    pub duration: String,
    pub idle_time: String,
    pub productivity_time: String,
    pub client_guid: &'a str,
    pub client_name: &'a str,
    pub logout_date: String,
    pub login_date: String,
    pub session_id: i32,
    pub user_name: &'a str,
    pub user_id: i32,
}

/// The response: one page of sessions and the size of the whole selection.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response<'a> {
    pub sessions: Vec<EndpointSession<'a>>,
    pub total_count: usize,
}

impl<'a> EndpointSession<'a> {
    pub fn new(m: &'a SessionMeta, st: &SessionStats, zone: &Zone) -> Self {
        EndpointSession {
            duration: format_timespan(st.duration()),
            idle_time: format_timespan(st.idle()),
            productivity_time: format_timespan(st.productive),
            client_guid: &m.client_guid,
            client_name: &m.client_name,
            logout_date: format_endpoint_date(st.logout, zone),
            login_date: format_endpoint_date(st.login, zone),
            session_id: m.session_id,
            user_name: &m.user_name,
            user_id: m.user_id,
        }
    }
}

impl<'a> Response<'a> {
    /// `metas[st.session]` holds each session's attributes.
    pub fn new(
        metas: &'a [SessionMeta],
        page: &[SessionStats],
        total_count: usize,
        zone: &Zone,
    ) -> Self {
        Response {
            sessions: page
                .iter()
                .map(|st| EndpointSession::new(&metas[st.session as usize], st, zone))
                .collect(),
            total_count,
        }
    }

    /// Compact JSON, or indented with two spaces; no trailing newline (the
    /// caller adds one for a terminal or a file).
    pub fn write<W: Write>(&self, mut w: W, pretty: bool) -> io::Result<()> {
        // serde_json writes a few bytes at a time: into memory first, not
        // through the (often dynamic) writer call by call.
        let text = if pretty {
            serde_json::to_vec_pretty(self)?
        } else {
            serde_json::to_vec(self)?
        };
        w.write_all(&text)
    }
}

/// One session as Sessions (Get) writes it (SPEC 8.1).
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GetSession<'a> {
    pub client_guid: &'a str,
    pub logout_date: String,
    pub login_date: String,
    pub session_id: i32,
    pub user_id: i32,
}

/// Sessions (Get): a bare array of every selected session, in selection
/// order; compact or indented as `Response::write`.
pub fn write_sessions_get<W: Write>(
    mut w: W,
    metas: &[SessionMeta],
    selection: &[SessionStats],
    zone: &Zone,
    pretty: bool,
) -> io::Result<()> {
    let rows: Vec<GetSession<'_>> = selection
        .iter()
        .map(|st| {
            let m = &metas[st.session as usize];
            GetSession {
                client_guid: &m.client_guid,
                logout_date: format_endpoint_date(st.logout, zone),
                login_date: format_endpoint_date(st.login, zone),
                session_id: m.session_id,
                user_id: m.user_id,
            }
        })
        .collect();
    if pretty {
        serde_json::to_writer_pretty(&mut w, &rows)?;
    } else {
        serde_json::to_writer(&mut w, &rows)?;
    }
    Ok(())
}

/// One key's time in an hour of Application or URL Statistics.
#[derive(Debug, Serialize)]
struct StatItem<'a> {
    duration: String,
    key: &'a str,
}

/// One (session, hour) object of Application or URL Statistics (SPEC 13.3).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatObject<'a> {
    data: Vec<StatItem<'a>>,
    session_id: i32,
    time_of_day: String,
}

/// `stats` as the objects serde writes.
fn stat_objects<'a>(
    stats: &[HourStat],
    metas: &[SessionMeta],
    selection: &[SessionStats],
    keys: &'a Keys,
) -> Vec<StatObject<'a>> {
    stats
        .iter()
        .map(|s| StatObject {
            data: s
                .data
                .iter()
                .map(|&(us, key)| StatItem {
                    duration: format_timespan(us),
                    key: keys.text(key),
                })
                .collect(),
            session_id: metas[selection[s.at].session as usize].session_id,
            time_of_day: format_hour_label(s.day, s.hour, s.offset),
        })
        .collect()
}

/// Application (or URL) Statistics: a bare array of `stats`' objects, in
/// their order; `stats[i].at` indexes `selection`. Indented as serde_json
/// indents (`Response::write`), or compact, written by hand: an answer can
/// hold millions of objects, each key's JSON text made once.
pub fn write_hour_stats<W: Write>(
    mut w: W,
    stats: &[HourStat],
    metas: &[SessionMeta],
    selection: &[SessionStats],
    keys: &Keys,
    pretty: bool,
) -> io::Result<()> {
    let session_id = |s: &HourStat| metas[selection[s.at].session as usize].session_id;
    if pretty {
        serde_json::to_writer_pretty(&mut w, &stat_objects(stats, metas, selection, keys))?;
        return Ok(());
    }
    let texts: Vec<Vec<u8>> = keys
        .texts
        .iter()
        .map(|t| serde_json::to_vec(&**t).expect("a string"))
        .collect();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    buf.push(b'[');
    for (i, s) in stats.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"data\":[");
        for (j, &(us, key)) in s.data.iter().enumerate() {
            if j > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"duration\":\"");
            push_timespan(&mut buf, us);
            buf.extend_from_slice(b"\",\"key\":");
            buf.extend_from_slice(&texts[key as usize]);
            buf.push(b'}');
        }
        buf.extend_from_slice(b"],\"sessionId\":");
        push_digits(&mut buf, i64::from(session_id(s)), 1);
        buf.extend_from_slice(b",\"timeOfDay\":\"");
        push_hour_label(&mut buf, s.day, s.hour, s.offset);
        buf.extend_from_slice(b"\"}");
        if buf.len() >= 1 << 20 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    buf.push(b']');
    w.write_all(&buf)
}

/// User Productivity (SPEC 8.2): one object per row, keys `date`,
/// `totalMinutes`, `userName`, `timeOfDay`. Written by hand, since
/// `totalMinutes` is a .NET double that serde_json has no way to print;
/// the indented form is serde_json's (two spaces, `": "`).
///
/// `order` gives the rows to write by their indices (`hours::productivity`);
/// without it, every row of `rows`, in order.
pub fn write_productivity<W: Write>(
    mut w: W,
    rows: &[HourRow<'_>],
    order: Option<&[u32]>,
    zone: &Zone,
    pretty: bool,
) -> io::Result<()> {
    use rayon::prelude::*;
    let count = order.map_or(rows.len(), <[u32]>::len);
    if count == 0 {
        return w.write_all(b"[]");
    }
    w.write_all(b"[")?;
    // Rows are formatted in parallel, a few thousand to a buffer, and the
    // buffers written in order: a long window has hundreds of thousands.
    // The same buffers serve every block, so memory is touched once.
    const PIECE: usize = 4096;
    const PIECES: usize = 16;
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); PIECES];
    let layout = Layout::new(pretty);
    let middles = layout.user_middles(rows);
    let row = |i: usize| &rows[order.map_or(i, |o| o[i] as usize)];
    for block in (0..count).step_by(PIECE * PIECES) {
        let pieces = (count - block).min(PIECE * PIECES).div_ceil(PIECE);
        bufs[..pieces]
            .par_iter_mut()
            .enumerate()
            .for_each(|(i, buf)| {
                buf.clear();
                let from = block + i * PIECE;
                let piece = (from..(from + PIECE).min(count)).map(row);
                push_productivity_rows(buf, piece, from == 0, zone, &layout, &middles);
            });
        for buf in &bufs[..pieces] {
            w.write_all(buf)?;
        }
    }
    w.write_all(if pretty { b"\n]" } else { b"]" })
}

/// The punctuation of User Productivity's objects, compact or indented.
struct Layout {
    open: &'static [u8],
    sep: &'static [u8],
    colon: &'static [u8],
    close: &'static [u8],
}

impl Layout {
    fn new(pretty: bool) -> Self {
        if pretty {
            Layout {
                open: b"{\n    ",
                sep: b",\n    ",
                colon: b": ",
                close: b"\n  }",
            }
        } else {
            Layout {
                open: b"{",
                sep: b",",
                colon: b":",
                close: b"}",
            }
        }
    }

    /// `{"date":"…","totalMinutes":`, the same for every row of a day.
    fn day_head(&self, zone: &Zone, day: i64) -> Vec<u8> {
        let mut head = Vec::with_capacity(64);
        head.extend_from_slice(self.open);
        head.extend_from_slice(b"\"date\"");
        head.extend_from_slice(self.colon);
        head.push(b'"');
        head.extend_from_slice(format_day_start(zone, day).as_bytes());
        head.push(b'"');
        head.extend_from_slice(self.sep);
        head.extend_from_slice(b"\"totalMinutes\"");
        head.extend_from_slice(self.colon);
        head
    }

    /// `,"userName":"…","timeOfDay":`, the same for every row of a user:
    /// by the users' rank in name order, for each rank in `rows`.
    fn user_middles(&self, rows: &[HourRow<'_>]) -> Vec<Vec<u8>> {
        let ranks = rows
            .iter()
            .map(|r| r.by_name as usize + 1)
            .max()
            .unwrap_or(0);
        let mut middles: Vec<Vec<u8>> = vec![Vec::new(); ranks];
        for r in rows {
            let middle = &mut middles[r.by_name as usize];
            if middle.is_empty() {
                middle.extend_from_slice(self.sep);
                middle.extend_from_slice(b"\"userName\"");
                middle.extend_from_slice(self.colon);
                serde_json::to_writer(&mut *middle, r.user.1).expect("writing to memory");
                middle.extend_from_slice(self.sep);
                middle.extend_from_slice(b"\"timeOfDay\"");
                middle.extend_from_slice(self.colon);
            }
        }
        middles
    }
}

/// User Productivity's objects for `rows`, each after a comma but for the
/// answer's `first`; `middles` from `Layout::user_middles`.
fn push_productivity_rows<'r, 'a: 'r>(
    buf: &mut Vec<u8>,
    rows: impl Iterator<Item = &'r HourRow<'a>>,
    first: bool,
    zone: &Zone,
    layout: &Layout,
    middles: &[Vec<u8>],
) {
    let pretty = layout.colon.len() > 1;
    // Rows come by day: the day of the one before is nearly always this one's.
    let mut head: Option<(i64, Vec<u8>)> = None;
    for (i, r) in rows.enumerate() {
        if i > 0 || !first {
            buf.push(b',');
        }
        if pretty {
            buf.extend_from_slice(b"\n  ");
        }
        if head.as_ref().is_none_or(|d| d.0 != r.day) {
            head = Some((r.day, layout.day_head(zone, r.day)));
        }
        buf.extend_from_slice(&head.as_ref().expect("set").1);
        push_dotnet_double(buf, r.productive as f64 / 60_000_000.0);
        buf.extend_from_slice(&middles[r.by_name as usize]);
        push_digits(buf, i64::from(r.hour), 1);
        buf.extend_from_slice(layout.close);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{select, Grouped, Settings};
    use crate::model::{pack, Kind, SessionMeta};
    use crate::time::US_PER_SEC;

    /// The hand-written compact form is serde_json's, byte for byte, keys
    /// that need escaping included.
    #[test]
    fn hour_stats_by_hand_equal_serde() {
        use crate::rollup::focus::Which;
        let texts: Vec<std::sync::Arc<str>> = ["a\"b", "é\u{1}\\", "plain.exe", "</script>"]
            .map(std::sync::Arc::from)
            .to_vec();
        let keys = Keys::new(Which::App, &texts);
        let metas: Vec<SessionMeta> = (0..2).map(|i| SessionMeta::example(-7 + i)).collect();
        let sel: Vec<SessionStats> = (0..2)
            .map(|s| SessionStats {
                session: 1 - s,
                login: 0,
                logout: 0,
                productive: 0,
                events: 1,
                open: true,
                clipped_start: false,
                clipped_end: false,
                lo: 0,
                hi: 1,
            })
            .collect();
        let stats = vec![
            HourStat {
                at: 0,
                day: 18_900,
                hour: 3,
                offset: 19_800,
                data: vec![(3_723_000_001, 1), (5, 0)],
            },
            HourStat {
                at: 1,
                day: -3,
                hour: 23,
                offset: -2_670,
                data: vec![(86_400_000_000 * 2, 3), (0, 2)],
            },
        ];
        let mut ours = Vec::new();
        write_hour_stats(&mut ours, &stats, &metas, &sel, &keys, false).unwrap();
        let objects = stat_objects(&stats, &metas, &sel, &keys);
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(&objects).unwrap()
        );
        let mut empty = Vec::new();
        write_hour_stats(&mut empty, &[], &metas, &sel, &keys, false).unwrap();
        assert_eq!(empty, b"[]");
    }

    #[test]
    fn key_order_and_formats_match_the_endpoint() {
        let g = Grouped::from_rows(
            &[0, 0],
            &[
                pack(948_603_367 * US_PER_SEC, Kind::Login),
                pack(948_603_367 * US_PER_SEC + 654_000, Kind::Logout),
            ],
            vec![SessionMeta {
                session_id: 613,
                user_id: 19,
                user_name: "username1".into(),
                client_guid: "5d4fe546".into(),
                client_name: "clientname1".into(),
                ..SessionMeta::default()
            }],
        );
        let sel = select(&g, &Settings::whole(Some(US_PER_SEC)));
        let mut out = Vec::new();
        Response::new(&g.sessions, &sel, 4, &Zone::default())
            .write(&mut out, false)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"sessions":[{"duration":"00:00:00.6540000","idleTime":"00:00:00","productivityTime":"00:00:00.6540000","clientGuid":"5d4fe546","clientName":"clientname1","logoutDate":"2000-01-23T04:56:07.654+00:00","loginDate":"2000-01-23T04:56:07.000+00:00","sessionId":613,"userName":"username1","userId":19}],"totalCount":4}"#
        );
    }
}
