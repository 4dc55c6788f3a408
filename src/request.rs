//! The endpoint's request (`start`, `end`, `sessionCount`, `pageIndex`), from
//! flags or a JSON body, checked before any data is touched. Every way it can
//! be wrong is a `RequestError`: the endpoint's HTTP 400, exit status 2.

pub use crate::error::RequestError;
use crate::time::{parse_time, Micros, Zone};
use serde_json::Value;

pub const MAX_SESSION_COUNT: i64 = 1000;
pub const DEFAULT_SESSION_COUNT: u32 = 1000;

/// A checked request: the window in UTC microseconds (both bounds inclusive)
/// and the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub start: Option<Micros>,
    pub end: Option<Micros>,
    pub session_count: u32,
    pub page_index: u32,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            start: None,
            end: None,
            session_count: DEFAULT_SESSION_COUNT,
            page_index: 0,
        }
    }
}

fn err(field: Field, value: impl Into<String>, rule: impl Into<String>) -> RequestError {
    RequestError {
        field: field.label().to_string(),
        value: value.into(),
        rule: rule.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Start,
    End,
    SessionCount,
    PageIndex,
}

impl Field {
    const ALL: [Field; 4] = [
        Field::Start,
        Field::End,
        Field::SessionCount,
        Field::PageIndex,
    ];

    fn json_name(self) -> &'static str {
        match self {
            Field::Start => "start",
            Field::End => "end",
            Field::SessionCount => "sessionCount",
            Field::PageIndex => "pageIndex",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Field::Start => "start (--start)",
            Field::End => "end (--end)",
            Field::SessionCount => "sessionCount (--session-count)",
            Field::PageIndex => "pageIndex (--page-index)",
        }
    }
}

/// A field's raw value before checking: text from a flag, or JSON from a body.
#[derive(Debug, Clone)]
enum Raw {
    Text(String),
    Json(Value),
}

impl Raw {
    fn shown(&self) -> String {
        match self {
            Raw::Text(t) => format!("{t:?}"),
            Raw::Json(v) => v.to_string(),
        }
    }
}

/// The request as the user gave it, field by field; `check` turns it into a
/// `Request`.
#[derive(Debug, Clone, Default)]
pub struct RawRequest {
    fields: [Option<Raw>; 4],
}

impl RawRequest {
    /// From the CLI flags (each optional, as text).
    pub fn from_flags(
        start: Option<&str>,
        end: Option<&str>,
        session_count: Option<&str>,
        page_index: Option<&str>,
    ) -> Self {
        let text = |v: Option<&str>| v.map(|s| Raw::Text(s.to_string()));
        RawRequest {
            fields: [
                text(start),
                text(end),
                text(session_count),
                text(page_index),
            ],
        }
    }

    /// From the endpoint's JSON request body: an object with exactly the
    /// endpoint's field names. A `null` field counts as absent.
    pub fn from_json(body: &str) -> Result<Self, RequestError> {
        let value: Value = serde_json::from_str(body).map_err(|e| RequestError {
            field: "request body".into(),
            value: format!("{:?}", abbreviate(body)),
            rule: format!("not valid JSON ({e})"),
        })?;
        let Value::Object(map) = value else {
            return Err(RequestError {
                field: "request body".into(),
                value: abbreviate(&value.to_string()),
                rule: "must be a JSON object with the fields start, end, sessionCount, pageIndex"
                    .into(),
            });
        };
        let mut raw = RawRequest::default();
        for (key, v) in map {
            let Some(i) = Field::ALL.iter().position(|f| f.json_name() == key) else {
                return Err(RequestError {
                    field: key.clone(),
                    value: abbreviate(&v.to_string()),
                    rule:
                        "unknown field; the request fields are start, end, sessionCount, pageIndex"
                            .into(),
                });
            };
            if !v.is_null() {
                raw.fields[i] = Some(Raw::Json(v));
            }
        }
        Ok(raw)
    }

    /// Overlays flags on a body; a field given both ways is a bad request,
    /// since the user cannot have meant both.
    pub fn merge(self, flags: RawRequest) -> Result<Self, RequestError> {
        let mut out = self;
        for (i, f) in flags.fields.into_iter().enumerate() {
            if let Some(v) = f {
                if out.fields[i].is_some() {
                    return Err(err(
                        Field::ALL[i],
                        v.shown(),
                        "given both as a flag and in the --request body",
                    ));
                }
                out.fields[i] = Some(v);
            }
        }
        Ok(out)
    }

    /// From a URL's query (`GET /ekranapi/sessions?start=&end=`, SPEC
    /// 12.1): decoded `name=value` pairs; an empty value is absent, a name
    /// given twice or not a request field is a bad request.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, RequestError> {
        let mut raw = RawRequest::default();
        for (key, v) in pairs {
            let Some(i) = Field::ALL.iter().position(|f| f.json_name() == key) else {
                return Err(RequestError {
                    field: key.to_string(),
                    value: format!("{:?}", abbreviate(v)),
                    rule: "unknown query parameter; the parameters are start and end".into(),
                });
            };
            if raw.fields[i].is_some() {
                return Err(err(Field::ALL[i], format!("{v:?}"), "given twice"));
            }
            if !v.is_empty() {
                raw.fields[i] = Some(Raw::Text(v.to_string()));
            }
        }
        Ok(raw)
    }

    /// For the endpoints that answer a window, not a page (Sessions (Get),
    /// User Productivity): `sessionCount` and `pageIndex` are bad requests.
    pub fn window_only(self, endpoint: &str) -> Result<Self, RequestError> {
        for i in [2, 3] {
            if let Some(v) = &self.fields[i] {
                return Err(err(
                    Field::ALL[i],
                    v.shown(),
                    format!("{endpoint} answers a window (start, end), not a page"),
                ));
            }
        }
        Ok(self)
    }

    /// Checks every field; offset-less dates are wall-clock time in `zone`.
    pub fn check(&self, zone: &Zone) -> Result<Request, RequestError> {
        let [start, end, count, page] = &self.fields;
        let start = start
            .as_ref()
            .map(|v| check_date(Field::Start, v, zone))
            .transpose()?;
        let end = end
            .as_ref()
            .map(|v| check_date(Field::End, v, zone))
            .transpose()?;
        let session_count = match count {
            None => DEFAULT_SESSION_COUNT,
            Some(v) => check_int(Field::SessionCount, v, 0, MAX_SESSION_COUNT)? as u32,
        };
        let page_index = match page {
            None => 0,
            Some(v) => check_int(Field::PageIndex, v, 0, i64::from(i32::MAX))? as u32,
        };
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                let shown = |f: &Option<Raw>| f.as_ref().map(Raw::shown).unwrap_or_default();
                return Err(RequestError {
                    field: "start (--start)".into(),
                    value: shown(&self.fields[0]),
                    rule: format!("must not be after end = {}", shown(&self.fields[1])),
                });
            }
        }
        Ok(Request {
            start,
            end,
            session_count,
            page_index,
        })
    }
}

fn abbreviate(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

fn check_date(field: Field, v: &Raw, zone: &Zone) -> Result<Micros, RequestError> {
    let text = match v {
        Raw::Text(t) => t.as_str(),
        Raw::Json(Value::String(t)) => t.as_str(),
        Raw::Json(other) => {
            return Err(err(
                field,
                abbreviate(&other.to_string()),
                "must be a string like \"2021-04-01T12:00:00\"",
            ))
        }
    };
    let parsed = parse_time(text).map_err(|e| err(field, v.shown(), e.0))?;
    let us = zone
        .resolve(parsed)
        .map_err(|e| err(field, v.shown(), e.0))?;
    match crate::time::out_of_range(us, zone) {
        Some(rule) => Err(err(field, v.shown(), rule.to_string())),
        None => Ok(us),
    }
}

fn check_int(field: Field, v: &Raw, min: i64, max: i64) -> Result<i64, RequestError> {
    let range = format!("must be an integer from {min} to {max}");
    let n = match v {
        Raw::Text(t) => {
            let t = t.trim();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(field, v.shown(), range));
            }
            t.parse::<i64>()
                .map_err(|_| err(field, v.shown(), range.clone()))?
        }
        Raw::Json(Value::Number(num)) => match num.as_i64() {
            Some(n) => n,
            None => return Err(err(field, v.shown(), range)),
        },
        Raw::Json(other) => {
            return Err(err(
                field,
                abbreviate(&other.to_string()),
                format!("{range} (a JSON number, not {})", json_type(other)),
            ))
        }
    };
    if n < min || n > max {
        return Err(err(field, v.shown(), range));
    }
    Ok(n)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::US_PER_HOUR;

    fn flags(
        s: Option<&str>,
        e: Option<&str>,
        c: Option<&str>,
        p: Option<&str>,
    ) -> Result<Request, RequestError> {
        RawRequest::from_flags(s, e, c, p).check(&Zone::default())
    }

    fn body(json: &str) -> Result<Request, RequestError> {
        RawRequest::from_json(json)?.check(&Zone::default())
    }

    #[test]
    fn defaults() {
        assert_eq!(flags(None, None, None, None).unwrap(), Request::default());
        assert_eq!(body("{}").unwrap(), Request::default());
    }

    #[test]
    fn the_three_date_forms_and_offsets() {
        let day = flags(Some("2021-04-01"), None, None, None)
            .unwrap()
            .start
            .unwrap();
        assert_eq!(
            flags(Some("2021-04-01T12:00"), None, None, None)
                .unwrap()
                .start,
            Some(day + 12 * US_PER_HOUR)
        );
        assert_eq!(
            flags(Some("2021-04-01T12:00:00"), None, None, None)
                .unwrap()
                .start,
            Some(day + 12 * US_PER_HOUR)
        );
        assert_eq!(
            flags(Some("2021-04-01T12:00:00.25+02:00"), None, None, None)
                .unwrap()
                .start,
            Some(day + 10 * US_PER_HOUR + 250_000)
        );
        let berlin: Zone = "Europe/Berlin".parse().unwrap();
        let r = RawRequest::from_flags(Some("2021-04-01T12:00"), None, None, None)
            .check(&berlin)
            .unwrap();
        assert_eq!(r.start, Some(day + 10 * US_PER_HOUR));
    }

    #[test]
    fn body_fields() {
        let r = body(
            r#"{"start":"2021-04-01","end":"2021-04-02T00:00:00","sessionCount":10,"pageIndex":3}"#,
        )
        .unwrap();
        assert_eq!((r.session_count, r.page_index), (10, 3));
        assert!(r.start.unwrap() < r.end.unwrap());
        assert_eq!(
            body(r#"{"start":null,"sessionCount":0}"#)
                .unwrap()
                .session_count,
            0
        );
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases: &[(Result<Request, RequestError>, &str)] = &[
            (flags(None, None, Some("1001"), None), "sessionCount"),
            (flags(None, None, Some("-1"), None), "sessionCount"),
            (flags(None, None, Some("ten"), None), "sessionCount"),
            (flags(None, None, Some("1.5"), None), "sessionCount"),
            (flags(None, None, None, Some("-1")), "pageIndex"),
            (flags(None, None, None, Some("2147483648")), "pageIndex"),
            (flags(Some("2021-02-30"), None, None, None), "start"),
            (flags(None, Some("tomorrow"), None, None), "end"),
            (
                flags(Some("2021-04-02"), Some("2021-04-01"), None, None),
                "start",
            ),
            (body(r#"{"sessionCount":"10"}"#), "sessionCount"),
            (body(r#"{"sessionCount":10.0}"#), "sessionCount"),
            (body(r#"{"sessionCount":1e3}"#), "sessionCount"),
            (body(r#"{"pageIndex":true}"#), "pageIndex"),
            (body(r#"{"start":20210401}"#), "start"),
            (body(r#"{"Start":"2021-04-01"}"#), "Start"),
            (body(r#"{"sessioncount":5}"#), "sessioncount"),
            (body(r#"[1,2]"#), "request body"),
            (body(r#"{"start":"2021-04-01""#), "request body"),
        ];
        for (i, (result, field)) in cases.iter().enumerate() {
            let e = result.as_ref().expect_err(&format!("case {i} should fail"));
            assert!(e.field.starts_with(field), "case {i}: {e}");
            assert!(e.to_string().starts_with("bad request: "), "case {i}: {e}");
        }
    }

    #[test]
    fn start_equal_to_end_is_allowed() {
        let r = flags(
            Some("2021-04-01T12:00"),
            Some("2021-04-01T12:00:00"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(r.start, r.end);
    }

    #[test]
    fn flag_and_body_together_conflict() {
        let b = RawRequest::from_json(r#"{"start":"2021-04-01"}"#).unwrap();
        let f = RawRequest::from_flags(Some("2021-04-02"), None, None, None);
        assert!(b.merge(f).unwrap_err().rule.contains("both"));
        let b = RawRequest::from_json(r#"{"start":"2021-04-01"}"#).unwrap();
        let f = RawRequest::from_flags(None, None, Some("5"), None);
        assert_eq!(
            b.merge(f)
                .unwrap()
                .check(&Zone::default())
                .unwrap()
                .session_count,
            5
        );
    }
}
