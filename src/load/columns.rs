//! The canonical columns (SPEC 1) and `--map canonical=source`, which says
//! what the user's files call them.

use super::error::ColumnsError;
use crate::error::BadValue;
pub use crate::model::Canon;

/// Source column name per canonical column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    source: [String; Canon::ALL.len()],
    /// `--sessionize`: sessions are built, `session_id` is not read.
    pub sessionize: bool,
    /// The run answers nothing about what was in front (`sessions`,
    /// `productivity`): `app` and `url` are not read at all.
    pub skip_focus: bool,
}

impl Default for ColumnMap {
    fn default() -> Self {
        ColumnMap {
            source: Canon::ALL.map(|c| c.name().to_string()),
            sessionize: false,
            skip_focus: false,
        }
    }
}

/// The source name no file has: what `session_id` reads when sessions are built.
const NOT_READ: &str = "\0(not read)";

impl ColumnMap {
    /// Whether `--map` renamed any column (building sessions is no renaming).
    pub fn renames(&self) -> bool {
        Canon::ALL
            .iter()
            .zip(&self.source)
            .any(|(c, s)| s != c.name() && s != NOT_READ)
    }

    /// Parses `--map` values: each `canonical=source[,canonical=source...]`.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Self, BadValue> {
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
                    )
                    .into());
                };
                let (canon, source) = (canon.trim(), source.trim());
                let Some(c) = Canon::named(canon) else {
                    let names: Vec<_> = Canon::ALL.iter().map(|c| c.name()).collect();
                    return Err(format!(
                        "--map {pair:?}: unknown column {canon:?}; the columns are {}",
                        names.join(", ")
                    )
                    .into());
                };
                if source.is_empty() {
                    return Err(format!("--map {pair:?}: the source column name is empty").into());
                }
                map.source[c as usize] = source.to_string();
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

    /// The map for one file: each canonical column's source name as this
    /// file spells it. Names match ignoring case and surrounding blanks
    /// (`Kind`, `KIND`, `kind ` all name `kind`); two columns that then
    /// name one source are an error, and so is a missing required column or
    /// a mapped one that is not there. `found`: the file's columns.
    pub fn resolve(&self, file: &str, found: &[String]) -> Result<ColumnMap, ColumnsError> {
        let norm = |s: &str| s.trim().to_lowercase();
        let mut out = self.clone();
        for c in Canon::ALL {
            let src = self.source(c);
            if self.sessionize && c == Canon::SessionId {
                if src != c.name() && src != NOT_READ {
                    return Err(ColumnsError::SessionizeMapped {
                        mapped: src.to_string(),
                    });
                }
                out.source[c as usize] = NOT_READ.to_string();
                continue;
            }
            if self.skip_focus && Canon::FOCUS.contains(&c) {
                out.source[c as usize] = NOT_READ.to_string();
                continue;
            }
            // `\.` in a source is a dot of the name (SPEC 9.4; in NDJSON,
            // where dots are paths, the source reads it so too).
            let plain = src.replace("\\.", ".");
            let mut matches: Vec<&String> = found.iter().filter(|f| norm(f) == norm(src)).collect();
            if matches.is_empty() && plain != src {
                matches = found.iter().filter(|f| norm(f) == norm(&plain)).collect();
            }
            let mapped = src != c.name();
            match matches.as_slice() {
                [one] => out.source[c as usize] = one.to_string(),
                [] if c.required() || mapped => {
                    return Err(ColumnsError::MissingColumn {
                        file: file.to_string(),
                        name: src.to_string(),
                        required: c.required(),
                        mapped_from: mapped.then_some(c),
                        found: found.to_vec(),
                    });
                }
                [] => {}
                many => {
                    return Err(ColumnsError::SameName {
                        file: file.to_string(),
                        canon: c,
                        names: many.iter().map(|n| n.to_string()).collect(),
                    });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    const BASE: [&str; 6] = [
        "session_id",
        "user_id",
        "user_name",
        "client_guid",
        "client_name",
        "timestamp",
    ];

    #[test]
    fn canonical_names_match_ignoring_case_and_blanks() {
        for kind in ["Kind", "KIND", "kind ", " kInD"] {
            let mut found = cols(&BASE);
            found.push(kind.into());
            let m = ColumnMap::default().resolve("a.csv", &found).unwrap();
            assert_eq!(m.source(Canon::Kind), kind);
        }
        let found = cols(&[
            "SESSION_ID",
            " User_Id",
            "user_name",
            "client_guid",
            "client_name",
            "TimeStamp",
        ]);
        let m = ColumnMap::default().resolve("a.csv", &found).unwrap();
        assert_eq!(m.source(Canon::SessionId), "SESSION_ID");
        assert_eq!(m.source(Canon::Timestamp), "TimeStamp");
        // no kind column at all: every event is activity, as SPEC 1 says
        assert_eq!(m.source(Canon::Kind), "kind");
    }

    #[test]
    fn colliding_names_are_an_error() {
        let mut found = cols(&BASE);
        found.extend(cols(&["kind", "Kind"]));
        let e = ColumnMap::default()
            .resolve("a.csv", &found)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"kind\" and \"Kind\" all name kind"), "{e}");
    }

    #[test]
    fn a_mapped_optional_column_must_exist() {
        let m = ColumnMap::parse(&["kind=event_type"]).unwrap();
        let e = m.resolve("a.csv", &cols(&BASE)).unwrap_err().to_string();
        assert!(
            e.contains("\"event_type\" (mapped from kind by --map) not found")
                && e.contains("columns found: session_id, user_id"),
            "{e}"
        );
        let mut found = cols(&BASE);
        found.push("Event_Type".into());
        assert_eq!(
            m.resolve("a.csv", &found).unwrap().source(Canon::Kind),
            "Event_Type"
        );
    }

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
            .to_string()
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
        let e = m.resolve("a.csv", &found).unwrap_err().to_string();
        assert!(
            e.contains("\"event_time\"") && e.contains("columns found: session_id, uid"),
            "{e}"
        );
    }
}
