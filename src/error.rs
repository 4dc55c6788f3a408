//! The errors every stage shares, and how a failure is told: exit codes 0
//! ok, 2 bad request or usage (the endpoint's HTTP 400), 1 anything else
//! (bad input, I/O). A leaf: it imports nothing of the crate.

/// A bad request: the field (endpoint name and flag), the value as given, and
/// the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad request: {field} = {value}: {rule}")]
pub struct RequestError {
    pub field: String,
    pub value: String,
    pub rule: String,
}

/// A usage problem found while checking flags: exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// A value (of a flag, a setting, a key file's line) that breaks its rule.
/// The text is the rule; the caller names the flag and, where it may be
/// shown, the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadValue(pub String);

impl From<String> for BadValue {
    fn from(rule: String) -> Self {
        BadValue(rule)
    }
}

impl From<&str> for BadValue {
    fn from(rule: &str) -> Self {
        BadValue(rule.to_string())
    }
}

impl BadValue {
    /// Whether the rule's text contains `part` (for tests and callers that
    /// tell rules apart).
    pub fn contains(&self, part: &str) -> bool {
        self.0.contains(part)
    }
}

/// 2 for a bad request or usage, 1 for everything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<RequestError>().is_some() || e.downcast_ref::<UsageError>().is_some() {
        2
    } else {
        1
    }
}

/// The one line printed on stderr for an error.
pub fn error_line(e: &anyhow::Error, json: bool) -> String {
    let text = one_line(&format!("{e:#}"));
    if json {
        let status = if exit_code(e) == 2 { 400 } else { 500 };
        json_error(status, &text)
    } else {
        format!("sessionstat: {text}")
    }
}

/// True for a write to a closed pipe (`sessionstat ... | head`), which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `{"status":N,"error":"..."}`, keys in that order as the endpoint writes them.
pub fn json_error(status: u16, error: &str) -> String {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        status: u16,
        error: &'a str,
    }
    serde_json::to_string(&Body { status, error }).expect("serializable")
}

/// The text of a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown cause".into())
}

/// Text on one line: a dependency's multi-line message joined with "; ".
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
