//! Sessions for logs without them (SPEC 9.2): the loader groups events by
//! (user, client); here each group's events, in (time, kind, input order),
//! are cut into sessions. A new session starts at the group's first event,
//! at every `login`, after every `logout`, and after a gap longer than
//! `--sessionize`'s GAP (a gap of exactly GAP stays in the session).
//!
//! Each session is keyed `USER|CLIENT|TIME` (the user key or id, the client
//! guid, `\` and `|` escaped; TIME its first event's instant in UTC with
//! microseconds); sessions of one group that start at the same instant get
//! `#2`, `#3`, ... in the order they are cut.

use super::stored::Stored;
use crate::ids::escape_part;
use crate::model::{ts_of, Focus, Kind, SessionMeta, NO_FOCUS};
use crate::time::{format_rfc3339_utc, Micros};
use rayon::prelude::*;

/// The cut sessions: their events (in (time, kind, input order)), their
/// attributes with `session_key` set, and per session its first row's place
/// in input order.
pub struct Cut {
    pub stored: Stored,
    pub sessions: Vec<SessionMeta>,
    pub firsts: Vec<u64>,
}

/// One cut session: its keys, their foreground cells (empty without the
/// columns), its first row's input place and its key.
type CutSession = (Vec<i64>, Vec<Focus>, u64, String);

/// Where a group's sorted events start new sessions.
pub fn starts(keys: &[i64], gap: Micros) -> Vec<usize> {
    let mut out = Vec::new();
    for i in 0..keys.len() {
        let new = i == 0 || {
            let (prev, here) = (keys[i - 1], keys[i]);
            Kind::from_bits(here) == Kind::Login
                || Kind::from_bits(prev) == Kind::Logout
                || ts_of(here) - ts_of(prev) > gap
        };
        if new {
            out.push(i);
        }
    }
    out
}

/// Cuts every group of `stored` (which must hold each event's input place)
/// into sessions; `groups` are the groups' attributes.
pub fn cut(stored: Stored, groups: &[SessionMeta], gap: Micros) -> Cut {
    let seqs = stored.seqs.expect("events kept with their input places");
    let with_focus = stored.focus.is_some();
    let mut focus = stored.focus.unwrap_or_default();
    focus.resize_with(stored.keys.len(), Vec::new);
    let mut triples: Vec<(Vec<i64>, Vec<u64>, Vec<Focus>)> = stored
        .keys
        .into_iter()
        .zip(seqs)
        .zip(focus)
        .map(|((k, s), f)| (k, s, f))
        .collect();
    triples.resize_with(groups.len(), Default::default);
    // Per group, in parallel: sort, cut, and key the sessions.
    let per_group: Vec<Vec<CutSession>> = triples
        .into_par_iter()
        .zip(groups.par_iter())
        .map(|((keys, seqs, focus), meta)| {
            let mut events: Vec<(i64, u64, Focus)> = match with_focus {
                true => keys
                    .into_iter()
                    .zip(seqs)
                    .zip(focus)
                    .map(|((k, s), f)| (k, s, f))
                    .collect(),
                false => keys
                    .into_iter()
                    .zip(seqs)
                    .map(|(k, s)| (k, s, NO_FOCUS))
                    .collect(),
            };
            events.sort_unstable_by_key(|e| (e.0, e.1));
            let keys: Vec<i64> = events.iter().map(|e| e.0).collect();
            let at = starts(&keys, gap);
            let mut prefix = String::new();
            match &meta.user_key {
                Some(k) => escape_part(k, &mut prefix),
                None => prefix.push_str(&meta.user_id.to_string()),
            }
            prefix.push('|');
            escape_part(&meta.client_guid, &mut prefix);
            prefix.push('|');
            let mut out = Vec::with_capacity(at.len());
            let mut same = 1;
            for (j, &from) in at.iter().enumerate() {
                let to = at.get(j + 1).copied().unwrap_or(events.len());
                let first = ts_of(keys[from]);
                same = match j {
                    0 => 1,
                    _ if ts_of(keys[at[j - 1]]) == first => same + 1,
                    _ => 1,
                };
                let mut key = format!("{prefix}{}", format_rfc3339_utc(first));
                if same > 1 {
                    key.push_str(&format!("#{same}"));
                }
                let seq = events[from..to].iter().map(|e| e.1).min().unwrap_or(0);
                let focus = match with_focus {
                    true => events[from..to].iter().map(|e| e.2).collect(),
                    false => Vec::new(),
                };
                out.push((keys[from..to].to_vec(), focus, seq, key));
            }
            out
        })
        .collect();
    let mut result = Cut {
        stored: Stored {
            focus: with_focus.then(Vec::new),
            ..Stored::default()
        },
        sessions: Vec::new(),
        firsts: Vec::new(),
    };
    for (group, sessions) in groups.iter().zip(per_group) {
        for (keys, focus, seq, key) in sessions {
            if let Some(f) = &mut result.stored.focus {
                f.push(focus);
            }
            let mut meta = group.clone();
            meta.session_id = result.sessions.len() as i32;
            meta.session_key = Some(key.into_boxed_str());
            result.stored.keys.push(keys);
            result.sessions.push(meta);
            result.firsts.push(seq);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pack;
    use crate::time::US_PER_SEC;

    #[test]
    fn sessions_start_at_logins_after_logouts_and_after_long_gaps() {
        let s = US_PER_SEC;
        let keys = [
            pack(0, Kind::Login),
            pack(10 * s, Kind::Activity),
            pack(40 * s, Kind::Activity), // gap 30 s = GAP: same session
            pack(71 * s, Kind::Activity), // gap 31 s > GAP: new
            pack(72 * s, Kind::Logout),
            pack(72 * s, Kind::Logout),   // after a logout: new
            pack(80 * s, Kind::Activity), // after a logout: new
            pack(81 * s, Kind::Login),    // a login: new
        ];
        assert_eq!(starts(&keys, 30 * s), vec![0, 3, 5, 6, 7]);
    }

    #[test]
    fn sessions_of_one_group_at_one_instant_are_numbered() {
        let t = 1_617_264_000 * US_PER_SEC;
        let keys = vec![
            pack(t, Kind::Login),
            pack(t, Kind::Logout),
            pack(t, Kind::Login),
            pack(t + 5, Kind::Activity),
        ];
        let seqs = vec![3, 1, 0, 2];
        let meta = SessionMeta {
            user_key: Some("do|main\\al".into()),
            client_guid: "pc|1".into(),
            ..SessionMeta::example(0)
        };
        let stored = Stored {
            keys: vec![keys],
            seqs: Some(vec![seqs]),
            focus: None,
        };
        let cut = cut(stored, &[meta], 60 * US_PER_SEC);
        let keys: Vec<&str> = cut
            .sessions
            .iter()
            .map(|m| m.session_key.as_deref().unwrap())
            .collect();
        // Sorted: login (row 0), login (row 3), logout (row 1), then the
        // activity (row 2), which follows a logout.
        assert_eq!(
            keys,
            [
                r"do\|main\\al|pc\|1|2021-04-01T08:00:00.000000Z",
                r"do\|main\\al|pc\|1|2021-04-01T08:00:00.000000Z#2",
                r"do\|main\\al|pc\|1|2021-04-01T08:00:00.000005Z",
            ]
        );
        assert_eq!(
            cut.stored.keys.iter().map(Vec::len).collect::<Vec<_>>(),
            [1, 2, 1]
        );
        assert_eq!(cut.firsts, vec![0, 1, 2]);
    }
}
