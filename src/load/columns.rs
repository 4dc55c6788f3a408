//! The canonical columns (SPEC 1) and `--map canonical=source`, which says
//! what the user's files call them.

use std::fmt;

/// A canonical input column.
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

impl fmt::Display for Canon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Source column name per canonical column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    source: [String; 7],
}

impl Default for ColumnMap {
    fn default() -> Self {
        ColumnMap {
            source: Canon::ALL.map(|c| c.name().to_string()),
        }
    }
}

impl ColumnMap {
    /// Parses `--map` values: each `canonical=source[,canonical=source...]`.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Self, String> {
        let mut map = ColumnMap::default();
        for spec in specs {
            for pair in spec
                .as_ref()
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let Some((canon, source)) = pair.split_once('=') else {
                    return Err(format!(
                        "--map {pair:?}: expected canonical=source, like timestamp=event_time"
                    ));
                };
                let (canon, source) = (canon.trim(), source.trim());
                let Some(c) = Canon::ALL.iter().find(|c| c.name() == canon) else {
                    let names: Vec<_> = Canon::ALL.iter().map(|c| c.name()).collect();
                    return Err(format!(
                        "--map {pair:?}: unknown column {canon:?}; the columns are {}",
                        names.join(", ")
                    ));
                };
                if source.is_empty() {
                    return Err(format!("--map {pair:?}: the source column name is empty"));
                }
                map.source[*c as usize] = source.to_string();
            }
        }
        Ok(map)
    }

    pub fn source(&self, c: Canon) -> &str {
        &self.source[c as usize]
    }

    /// `timestamp`, or `event_time (timestamp)` when mapped: how error lines
    /// name a column so the user finds it in their file.
    pub fn label(&self, c: Canon) -> String {
        let src = self.source(c);
        if src == c.name() {
            src.to_string()
        } else {
            format!("{src} ({c})")
        }
    }

    /// The mapping as `canonical=source` pairs that differ from the default.
    pub fn describe(&self) -> Vec<(String, String)> {
        Canon::ALL
            .iter()
            .filter(|c| self.source(**c) != c.name())
            .map(|c| (c.name().to_string(), self.source(*c).to_string()))
            .collect()
    }

    /// Checks that a file has every required column; the error names the
    /// missing column and the columns found.
    pub fn check(&self, file: &str, found: &[String]) -> Result<(), String> {
        for c in Canon::ALL.into_iter().filter(|c| c.required()) {
            let src = self.source(c);
            if !found.iter().any(|f| f == src) {
                let hint = if src == c.name() {
                    String::new()
                } else {
                    format!(" (mapped from {c})")
                };
                return Err(format!(
                    "{file}: required column {src:?}{hint} not found; columns found: {}{}",
                    found.join(", "),
                    if src == c.name() {
                        "; map other names with --map canonical=source"
                    } else {
                        ""
                    }
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_parse_and_check() {
        let m =
            ColumnMap::parse(&["timestamp=event_time, kind=event_type", "user_id=uid"]).unwrap();
        assert_eq!(m.source(Canon::Timestamp), "event_time");
        assert_eq!(m.source(Canon::UserId), "uid");
        assert_eq!(m.source(Canon::SessionId), "session_id");
        assert_eq!(m.label(Canon::Kind), "event_type (kind)");
        assert!(ColumnMap::parse(&["time=x"])
            .unwrap_err()
            .contains("unknown column \"time\""));
        assert!(ColumnMap::parse(&["timestamp"]).is_err());
        assert!(ColumnMap::parse(&["timestamp="]).is_err());
        let found: Vec<String> = [
            "session_id",
            "uid",
            "user_name",
            "client_guid",
            "client_name",
        ]
        .map(String::from)
        .into();
        let e = m.check("a.csv", &found).unwrap_err();
        assert!(
            e.contains("\"event_time\"") && e.contains("columns found: session_id, uid"),
            "{e}"
        );
    }
}
