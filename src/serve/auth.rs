//! Who may ask (SPEC 12.2): the `ApiKey` header against the key file's
//! keys, compared in constant time. A key is never logged or shown.

use crate::error::{usage, BadValue};
use anyhow::Result;
use axum::http::HeaderMap;
use std::path::Path;
use subtle::ConstantTimeEq;

/// The accepted keys, compared in constant time; `None` answers without keys.
#[derive(Default)]
pub struct Keys(pub Option<Vec<Vec<u8>>>);

impl Keys {
    /// The keys of a key file: one a line, blanks around a key and empty
    /// lines ignored, and a UTF-8 byte order mark before the first (as
    /// Windows editors save a file) too; a file without a key is an error.
    pub fn parse(text: &str) -> Result<Keys, BadValue> {
        let keys: Vec<Vec<u8>> = text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| l.as_bytes().to_vec())
            .collect();
        if keys.is_empty() {
            return Err("holds no key (one key a line)".into());
        }
        Ok(Keys(Some(keys)))
    }

    /// Whether the request's `ApiKey` header is one of the keys. Every key
    /// is compared, each in time independent of where it differs.
    pub fn allow(&self, headers: &HeaderMap) -> bool {
        let Some(keys) = &self.0 else {
            return true;
        };
        let Some(given) = headers.get("apikey") else {
            return false;
        };
        let given = given.as_bytes();
        let mut ok = subtle::Choice::from(0);
        for k in keys {
            ok |= k.as_slice().ct_eq(given);
        }
        ok.into()
    }
}

/// The keys of `--api-key-file`.
pub fn read_keys(path: &Path) -> Result<Keys> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        usage(format!(
            "--api-key-file {}: cannot read it: {e}",
            path.display()
        ))
    })?;
    Keys::parse(&text).map_err(|e| usage(format!("--api-key-file {}: {e}", path.display())))
}
