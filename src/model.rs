//! What every stage shares: an event's kind, its packed key (timestamp and
//! kind in one `i64`), and a session's fixed attributes. Strings live once
//! per session, never per event. A leaf: it imports nothing of the crate but
//! `time`.

use crate::time::Micros;

/// What an event says about the user. The numeric order is the tie order of
/// SPEC 2.2: at one instant, `login` < `activity` < `idle` < `logout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Kind {
    Login = 0,
    Activity = 1,
    Idle = 2,
    Logout = 3,
}

impl Kind {
    pub const NAMES: [&'static str; 4] = ["login", "activity", "idle", "logout"];

    /// Case-insensitive, surrounding blanks ignored; an empty cell is `activity`.
    pub fn parse(text: &str) -> Option<Kind> {
        // The usual spellings first: one comparison, no trimming or case folding.
        match text.as_bytes() {
            b"activity" => return Some(Kind::Activity),
            b"idle" => return Some(Kind::Idle),
            b"login" => return Some(Kind::Login),
            b"logout" => return Some(Kind::Logout),
            _ => {}
        }
        let t = text.trim();
        if t.is_empty() {
            return Some(Kind::Activity);
        }
        [Kind::Login, Kind::Activity, Kind::Idle, Kind::Logout]
            .into_iter()
            .find(|k| Kind::NAMES[*k as usize].eq_ignore_ascii_case(t))
    }

    pub fn from_bits(bits: i64) -> Kind {
        match bits & 3 {
            0 => Kind::Login,
            1 => Kind::Activity,
            2 => Kind::Idle,
            _ => Kind::Logout,
        }
    }

    /// Spans starting at a `login` or `activity` event can be productive.
    pub fn starts_work(self) -> bool {
        self <= Kind::Activity
    }
}

/// Packs a timestamp and a kind so that integer order is (timestamp, kind)
/// order. Exact for any |ts| below 2^61 microseconds (73,000 years).
#[inline]
pub fn pack(ts: Micros, kind: Kind) -> i64 {
    (ts << 2) | kind as i64
}

#[inline]
pub fn ts_of(key: i64) -> Micros {
    key >> 2
}

/// A session's fixed attributes (SPEC 1.4), from its first good row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionMeta {
    pub session_id: i32,
    pub user_id: i32,
    pub user_name: String,
    pub client_guid: String,
    pub client_name: String,
    /// The text keys behind the ids when the log uses keys (SPEC 9.1);
    /// set on the sessions a run returns, once ids are final.
    pub session_key: Option<Box<str>>,
    pub user_key: Option<Box<str>>,
}

impl SessionMeta {
    /// User name, client guid and client name: the names a session's rows
    /// must repeat (SPEC 1.4).
    pub fn names(&self) -> [&str; 3] {
        [&self.user_name, &self.client_guid, &self.client_name]
    }
}

#[cfg(test)]
impl SessionMeta {
    /// A session with placeholder user and client, for unit tests.
    pub fn example(session_id: i32) -> SessionMeta {
        SessionMeta {
            session_id,
            user_id: 1,
            user_name: "u".into(),
            client_guid: "g".into(),
            client_name: "c".into(),
            ..SessionMeta::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_case_insensitively() {
        assert_eq!(Kind::parse("LogOut"), Some(Kind::Logout));
        assert_eq!(Kind::parse(" idle "), Some(Kind::Idle));
        assert_eq!(Kind::parse(""), Some(Kind::Activity));
        assert_eq!(Kind::parse("IDEL"), None);
    }

    #[test]
    fn packing_orders_by_time_then_kind() {
        let a = pack(-5, Kind::Logout);
        let b = pack(-4, Kind::Login);
        let c = pack(-4, Kind::Idle);
        assert!(a < b && b < c);
        assert_eq!(ts_of(c), -4);
        assert_eq!(Kind::from_bits(c), Kind::Idle);
    }
}

/// A canonical input column (SPEC 1): what every reader gives, what
/// `--map` names, what `generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Canon {
    SessionId,
    UserId,
    UserName,
    ClientGuid,
    ClientName,
    Timestamp,
    Kind,
}

impl Canon {
    pub const ALL: [Canon; 7] = [
        Canon::SessionId,
        Canon::UserId,
        Canon::UserName,
        Canon::ClientGuid,
        Canon::ClientName,
        Canon::Timestamp,
        Canon::Kind,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Canon::SessionId => "session_id",
            Canon::UserId => "user_id",
            Canon::UserName => "user_name",
            Canon::ClientGuid => "client_guid",
            Canon::ClientName => "client_name",
            Canon::Timestamp => "timestamp",
            Canon::Kind => "kind",
        }
    }

    pub fn required(self) -> bool {
        self != Canon::Kind
    }
}

impl std::fmt::Display for Canon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
