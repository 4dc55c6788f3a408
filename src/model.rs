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

/// What one event says of the foreground (SPEC 13.1): the id of its `app`
/// cell in the high half, of its `url` cell in the low half, each
/// `NOT_GIVEN` when the cell is empty, null or absent. The same packing
/// holds a session's foreground itself, `NOT_GIVEN` then meaning none.
pub type Focus = u64;

/// A half of a `Focus` with no value.
pub const NOT_GIVEN: u32 = u32::MAX;

/// An event that gives neither (a heartbeat), and a foreground of neither.
pub const NO_FOCUS: Focus = u64::MAX;

/// An event that sets the foreground to neither application nor URL (an
/// ActivityWatch event where no window covers active time, SPEC 14.2); no
/// text of a run gets its application id.
pub const CLEARS: Focus = ((NOT_GIVEN as u64 - 2) << 32) | NOT_GIVEN as u64;

#[inline]
pub fn focus(app: u32, url: u32) -> Focus {
    (u64::from(app) << 32) | u64::from(url)
}

#[inline]
pub fn app_of(f: Focus) -> u32 {
    (f >> 32) as u32
}

#[inline]
pub fn url_of(f: Focus) -> u32 {
    f as u32
}

/// The foreground after an event (SPEC 13.1): an event that gives `app`
/// brings its own `url` or none; one with only `url` changes only the
/// address; one with neither changes nothing.
#[inline]
pub fn follow(foreground: Focus, event: Focus) -> Focus {
    if app_of(event) != NOT_GIVEN {
        if event == CLEARS {
            NO_FOCUS
        } else {
            event
        }
    } else if url_of(event) != NOT_GIVEN {
        (foreground & !u64::from(u32::MAX)) | event & u64::from(u32::MAX)
    } else {
        foreground
    }
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
    fn the_foreground_follows_spec_13_1() {
        let (a, b) = (3, 4);
        let mut fg = NO_FOCUS;
        // a url alone sets only the url
        fg = follow(fg, focus(NOT_GIVEN, b));
        assert_eq!((app_of(fg), url_of(fg)), (NOT_GIVEN, b));
        // an app brings its own url, here none
        fg = follow(fg, focus(a, NOT_GIVEN));
        assert_eq!((app_of(fg), url_of(fg)), (a, NOT_GIVEN));
        // a heartbeat changes nothing
        assert_eq!(follow(fg, NO_FOCUS), fg);
        // an event that clears sets neither
        assert_eq!(follow(fg, CLEARS), NO_FOCUS);
        fg = follow(fg, focus(NOT_GIVEN, 9));
        assert_eq!((app_of(fg), url_of(fg)), (a, 9));
        fg = follow(fg, focus(7, 8));
        assert_eq!((app_of(fg), url_of(fg)), (7, 8));
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
    /// The application in the foreground (SPEC 13.1), optional.
    App,
    /// The address in the foreground browser tab (SPEC 13.1), optional.
    Url,
}

impl Canon {
    pub const ALL: [Canon; 9] = [
        Canon::SessionId,
        Canon::UserId,
        Canon::UserName,
        Canon::ClientGuid,
        Canon::ClientName,
        Canon::Timestamp,
        Canon::Kind,
        Canon::App,
        Canon::Url,
    ];

    /// The two foreground columns (SPEC 13.1).
    pub const FOCUS: [Canon; 2] = [Canon::App, Canon::Url];

    pub fn name(self) -> &'static str {
        match self {
            Canon::SessionId => "session_id",
            Canon::UserId => "user_id",
            Canon::UserName => "user_name",
            Canon::ClientGuid => "client_guid",
            Canon::ClientName => "client_name",
            Canon::Timestamp => "timestamp",
            Canon::Kind => "kind",
            Canon::App => "app",
            Canon::Url => "url",
        }
    }

    /// The column of this name (`user_id`), as `name` spells it.
    pub fn named(name: &str) -> Option<Canon> {
        Canon::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn required(self) -> bool {
        !matches!(self, Canon::Kind | Canon::App | Canon::Url)
    }
}

impl std::fmt::Display for Canon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
