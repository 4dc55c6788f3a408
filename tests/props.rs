//! Property tests of the kernel's invariants, and a differential test against
//! a deliberately naive reference implementation of SPEC 2-3 written here.

use proptest::prelude::*;
use sessionstat::kernel::{page, select, Grouped, SessionStats, Settings};
use sessionstat::model::{pack, Kind, SessionMeta};

/// (session id, timestamp, kind) rows in input order.
type Row = (i32, i64, Kind);

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Login),
        Just(Kind::Activity),
        Just(Kind::Activity),
        Just(Kind::Idle),
        Just(Kind::Logout)
    ]
}

/// Few sessions and a small time range, so ties and equal logins are common.
fn rows() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec((0i32..6, -50i64..200, kind()), 0..60)
}

fn window() -> impl Strategy<Value = (Option<i64>, Option<i64>)> {
    (prop::option::of(-60i64..210), prop::option::of(-60i64..210)).prop_map(|(a, b)| match (a, b) {
        (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
        w => w,
    })
}

fn events(rows: &[Row]) -> Grouped {
    let mut sessions = Vec::new();
    let mut ids: Vec<i32> = Vec::new();
    let mut session = Vec::new();
    for &(sid, _, _) in rows {
        let idx = ids.iter().position(|&i| i == sid).unwrap_or_else(|| {
            ids.push(sid);
            sessions.push(SessionMeta {
                session_id: sid,
                user_id: sid,
                user_name: String::new(),
                client_guid: String::new(),
                client_name: String::new(),
                ..SessionMeta::default()
            });
            ids.len() - 1
        });
        session.push(idx as u32);
    }
    let key: Vec<i64> = rows.iter().map(|&(_, ts, k)| pack(ts, k)).collect();
    Grouped::from_rows(&session, &key, sessions)
}

/// (session id, login, logout, productive, events) per selected session.
type Answer = Vec<(i32, i64, i64, i64, u32)>;

fn answer(rows: &[Row], s: &Settings) -> Answer {
    let g = events(rows);
    select(&g, s)
        .iter()
        .map(|st| {
            (
                g.sessions[st.session as usize].session_id,
                st.login,
                st.logout,
                st.productive,
                st.events,
            )
        })
        .collect()
}

/// SPEC 2-3 as literally as possible: filter to the window, sort by
/// (time, kind, input order), add up spans, order by (login, id).
fn reference(rows: &[Row], s: &Settings) -> Answer {
    let mut ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let mut evs: Vec<(i64, Kind, usize)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.0 == id && s.start.is_none_or(|t| r.1 >= t) && s.end.is_none_or(|t| r.1 <= t)
            })
            .map(|(i, r)| (r.1, r.2, i))
            .collect();
        if evs.is_empty() {
            continue;
        }
        evs.sort();
        let mut productive = 0;
        for w in evs.windows(2) {
            let gap = w[1].0 - w[0].0;
            let starts_work = matches!(w[0].1, Kind::Login | Kind::Activity);
            if starts_work && s.idle_after.is_none_or(|limit| gap <= limit) {
                productive += gap;
            }
        }
        out.push((
            id,
            evs[0].0,
            evs[evs.len() - 1].0,
            productive,
            evs.len() as u32,
        ));
    }
    out.sort_by_key(|a| (a.1, a.0));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn kernel_equals_the_reference(rows in rows(), (start, end) in window(), idle in prop::option::of(0i64..40)) {
        let s = Settings { start, end, idle_after: idle };
        prop_assert_eq!(answer(&rows, &s), reference(&rows, &s));
    }

    #[test]
    fn duration_is_idle_plus_productive(rows in rows(), (start, end) in window(), idle in prop::option::of(0i64..40)) {
        let g = events(&rows);
        for st in select(&g, &Settings { start, end, idle_after: idle }) {
            prop_assert_eq!(st.duration(), st.idle() + st.productive);
            prop_assert!(st.idle() >= 0 && st.productive >= 0);
        }
    }

    #[test]
    fn clipping_equals_filtering_the_events(rows in rows(), (start, end) in window(), idle in prop::option::of(0i64..40)) {
        let kept: Vec<Row> = rows.iter().copied()
            .filter(|r| start.is_none_or(|t| r.1 >= t) && end.is_none_or(|t| r.1 <= t))
            .collect();
        let clipped = answer(&rows, &Settings { start, end, idle_after: idle });
        let filtered = answer(&kept, &Settings::whole(idle));
        prop_assert_eq!(clipped, filtered);
    }

    #[test]
    fn pages_concatenated_are_the_selection(rows in rows(), count in 0u32..8) {
        let g = events(&rows);
        let sel: Vec<SessionStats> = select(&g, &Settings::whole(Some(15)));
        let mut joined = Vec::new();
        let pages = if count == 0 { 3 } else { sel.len() as u32 / count + 2 };
        for p in 0..pages {
            joined.extend_from_slice(page(&sel, count, p));
        }
        if count == 0 {
            prop_assert!(joined.is_empty());
        } else {
            prop_assert_eq!(joined.len(), sel.len());
            prop_assert_eq!(joined, sel);
        }
    }
}
