//! The Spark Connect address of `--engine sc://...` and `--engine-timeout`:
//! parsed and checked here, and never shown with a secret in it.

use crate::error::BadValue;
use crate::time::{Micros, US_PER_SEC};
use std::fmt;

/// A Spark Connect connection string, `sc://host:port/;name=value;...` as
/// the Spark Connect clients define it (port 15002 when left out). It
/// prints with every parameter's value hidden, so neither an error line nor
/// a summary can show a token, and no message repeats the text as given:
/// whatever its shape, a secret in it is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SparkAddress {
    /// The whole string, for the client only.
    url: String,
    pub host: String,
    pub port: u16,
    params: Vec<(String, String)>,
}

/// Parameters whose values are secrets: cut out of what the client says.
const SECRET: [&str; 3] = ["token", "password", "secret"];

impl SparkAddress {
    /// Parses an address; an error never quotes the parameters or a user
    /// part, where secrets are.
    pub fn parse(text: &str) -> Result<SparkAddress, BadValue> {
        let rest = text
            .strip_prefix("sc://")
            .ok_or("a Spark Connect address starts with sc://")?;
        let (authority, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err("a Spark Connect address has no user:password@ part; give a token as sc://HOST:PORT/;token=... (the part is not shown)".into());
        }
        if authority.contains([';', '?', '#', ' ', '\t']) {
            return Err("parameters follow a slash after the port: sc://HOST:PORT/;name=value (they are not shown)".into());
        }
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
        for (n, p) in tail.split(';').filter(|p| !p.trim().is_empty()).enumerate() {
            let (k, v) = p
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| {
                    format!(
                        "parameter {} after the host is not name=value (its text is not shown)",
                        n + 1
                    )
                })?;
            params.push((k.trim().to_string(), v.to_string()));
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
            .filter(|(k, v)| is_secret(k) && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `text` with the address as given shown as it prints, and every
    /// secret of it replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let text = text.replace(&self.url, &self.to_string());
        self.secrets().fold(text, |t, s| t.replace(s, "***"))
    }
}

fn is_secret(name: &str) -> bool {
    SECRET.iter().any(|s| name.trim().eq_ignore_ascii_case(s))
}

impl fmt::Display for SparkAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "sc://[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "sc://{}:{}", self.host, self.port)?;
        }
        for (i, (k, _)) in self.params.iter().enumerate() {
            let sep = if i == 0 { "/;" } else { ";" };
            write!(f, "{sep}{k}=***")?;
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
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, BadValue> {
    match crate::time::parse_idle_after(text)? {
        Some(us) if us > 0 => Ok(std::time::Duration::from_micros(us as u64)),
        _ => Err("must be a positive length such as 30s or 2m".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    #[test]
    fn addresses_parse_and_never_show_a_token() {
        let a = SparkAddress::parse("sc://db.example:443/;use_ssl=true;token=abc123;user_id=x")
            .unwrap();
        assert_eq!((a.host.as_str(), a.port), ("db.example", 443));
        assert_eq!(
            a.to_string(),
            "sc://db.example:443/;use_ssl=***;token=***;user_id=***"
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
    }

    #[test]
    fn no_message_shows_a_secret_whatever_the_shape() {
        // Malformed or odd, each holds SECRET where a careless parser
        // would repeat it: in an error, in Display, in Debug.
        for text in [
            "sc://h:1;token=SECRET",
            "sc://h:1;SECRET",
            "sc://user:SECRET@h:1",
            "sc://SECRET@h:1/;use_ssl=true",
            "sc://h:1/; token=SECRET",
            "sc://h:1/;Token =SECRET",
            "sc://h:1/;SECRET",
            "sc://h:1/;=SECRET",
            "sc://h:1/;user_id=SECRET;token=x",
            "sc://h:1/;password=SECRET",
            "sc://h:1?token=SECRET",
            "sc://h:1 /;token=SECRET",
            "sc://h:1/;x=1;secret=SECRET;",
        ] {
            let shown = match Engine::parse(text) {
                Ok(e) => format!("{e:?} {}", e.shown()),
                Err(e) => e.0,
            };
            assert!(!shown.contains("SECRET"), "{text}: {shown}");
        }
        let a = SparkAddress::parse("sc://h:1/; token=SECRET").unwrap();
        assert_eq!(
            a.scrub("the server said: bad token SECRET"),
            "the server said: bad token ***"
        );
        assert_eq!(
            a.scrub("cannot reach sc://h:1/; token=SECRET"),
            "cannot reach sc://h:1/;token=***"
        );
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
