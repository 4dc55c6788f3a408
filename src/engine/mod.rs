//! Where the per-event work runs (SPEC 11): on this machine (`local`, the
//! loader and kernel) or on a Spark cluster reached through Spark Connect
//! (`sc://HOST:PORT`). Both give the pipeline the same `Outcome`, so every
//! writer after it is shared.
//!
//! This part is always built: it parses and checks the address and never
//! lets a token be shown. The Spark client itself needs `protoc` to build,
//! so it is behind the `spark` feature (spark/).

#[cfg(feature = "spark")]
pub mod spark;

use crate::time::{Micros, US_PER_SEC};
use std::fmt;

/// The engine named by `--engine` (or `SESSIONSTAT_ENGINE`).
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Engine {
    #[default]
    Local,
    Spark(SparkAddress),
}

impl Engine {
    /// `local`, or a Spark Connect connection string.
    pub fn parse(text: &str) -> Result<Engine, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("local") {
            return Ok(Engine::Local);
        }
        if t.starts_with("sc://") {
            return SparkAddress::parse(t).map(Engine::Spark);
        }
        Err("must be local or a Spark Connect address sc://HOST:PORT[/;param=value...]".into())
    }

    /// What `summary.json` says of the engine: `local`, or the address without secrets.
    pub fn shown(&self) -> String {
        match self {
            Engine::Local => "local".into(),
            Engine::Spark(a) => a.to_string(),
        }
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// A Spark Connect connection string, `sc://host:port/;name=value;...` as
/// the Spark Connect clients define it (port 15002 when left out). It
/// prints with the value of every secret parameter (`token`, `password`)
/// hidden, so neither an error line nor a summary can show one.
#[derive(Clone, PartialEq, Eq)]
pub struct SparkAddress {
    /// The whole string, for the client only.
    url: String,
    pub host: String,
    pub port: u16,
    params: Vec<(String, String)>,
}

/// Parameters whose values are never printed.
const SECRET: [&str; 3] = ["token", "password", "secret"];

impl SparkAddress {
    pub fn parse(text: &str) -> Result<SparkAddress, String> {
        let rest = text
            .strip_prefix("sc://")
            .ok_or("a Spark Connect address starts with sc://")?;
        let (authority, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| format!("port {p:?} is not a number from 1 to 65535"))?;
                (h, port)
            }
            _ => (authority, 15002),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("the address names no host: sc://HOST:PORT".into());
        }
        let mut params = Vec::new();
        for p in tail.split(';').filter(|p| !p.is_empty()) {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("parameter {:?} is not name=value", shown_param(p)))?;
            params.push((k.to_string(), v.to_string()));
        }
        Ok(SparkAddress {
            url: text.to_string(),
            host: host.to_string(),
            port,
            params,
        })
    }

    /// The connection string as the client needs it, secrets included:
    /// give it to the client only.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The values of secret parameters, to be cut out of any message.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .filter(|(k, v)| is_secret(k) && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `text` with every secret of this address replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        self.secrets()
            .fold(text.to_string(), |t, s| t.replace(s, "***"))
    }
}

fn is_secret(name: &str) -> bool {
    SECRET.iter().any(|s| name.eq_ignore_ascii_case(s))
}

fn shown_param(p: &str) -> String {
    match p.split_once('=') {
        Some((k, _)) if is_secret(k) => format!("{k}=***"),
        _ if SECRET.iter().any(|s| p.to_ascii_lowercase().starts_with(s)) => "***".into(),
        _ => p.to_string(),
    }
}

impl fmt::Display for SparkAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "sc://[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "sc://{}:{}", self.host, self.port)?;
        }
        for (i, (k, v)) in self.params.iter().enumerate() {
            let sep = if i == 0 { "/;" } else { ";" };
            let v = if is_secret(k) { "***" } else { v.as_str() };
            write!(f, "{sep}{k}={v}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SparkAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Default `--engine-timeout`.
pub const DEFAULT_TIMEOUT: Micros = 30 * US_PER_SEC;

/// Parses `--engine-timeout` (`30s`, `2m`): a positive length.
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match crate::time::parse_idle_after(text)? {
        Some(us) if us > 0 => Ok(std::time::Duration::from_micros(us as u64)),
        _ => Err("must be a positive length such as 30s or 2m".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_never_show_a_token() {
        let a = SparkAddress::parse("sc://db.example:443/;use_ssl=true;token=abc123;user_id=x")
            .unwrap();
        assert_eq!((a.host.as_str(), a.port), ("db.example", 443));
        assert_eq!(
            a.to_string(),
            "sc://db.example:443/;use_ssl=true;token=***;user_id=x"
        );
        assert_eq!(format!("{:?}", Engine::Spark(a.clone())), a.to_string());
        assert!(!a.to_string().contains("abc123"));
        assert_eq!(a.scrub("bad token abc123 given"), "bad token *** given");
        assert_eq!(
            a.url(),
            "sc://db.example:443/;use_ssl=true;token=abc123;user_id=x"
        );
        let d = SparkAddress::parse("sc://localhost").unwrap();
        assert_eq!((d.host.as_str(), d.port), ("localhost", 15002));
        let v6 = SparkAddress::parse("sc://[::1]:15003").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.port, v6.to_string().as_str()),
            ("::1", 15003, "sc://[::1]:15003")
        );
        for bad in [
            "sc://",
            "sc://:15002",
            "sc://h:0",
            "sc://h:99999",
            "sc://h:1/;x",
        ] {
            assert!(SparkAddress::parse(bad).is_err(), "{bad}");
        }
        let e = SparkAddress::parse("sc://h:1/;token").unwrap_err();
        assert!(!e.contains("token"), "{e}");
        assert_eq!(Engine::parse(" LOCAL ").unwrap(), Engine::Local);
        assert!(Engine::parse("spark://h:7077").is_err());
    }

    #[test]
    fn timeouts_are_positive_lengths() {
        assert_eq!(parse_timeout("30s").unwrap().as_secs(), 30);
        assert_eq!(parse_timeout("1m30s").unwrap().as_secs(), 90);
        for bad in ["0s", "off", "-1s", "x"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
