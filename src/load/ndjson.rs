//! NDJSON files as a source: one JSON object per line, streamed in chunks
//! of whole lines (`text`), each parsed in parallel: a line of the plain
//! shape by a quick reader (`quick_line_into`), any other by serde, with
//! the same result. Only the mapped keys are kept: every other value is skipped unparsed. Values are taken as
//! text (numbers by their JSON spelling) and checked like CSV cells; a line
//! that is not a JSON object (or not UTF-8) is a bad row as a whole. Blank
//! lines are skipped. A JSON array or a pretty-printed document is not
//! NDJSON: an error naming the line where that shows.

use super::columns::{Canon, ColumnMap};
use super::convert::BadCell;
use super::inputs::InputFile;
use super::source::{self, abbreviate, escaped, Batch, Locate, Open, Place, Source, TextColumn};
use super::text::{after_last_line, Chunks};
use super::{At, LoadError};
use polars::prelude::*;
use polars_buffer::Buffer;
use rayon::prelude::*;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// An NDJSON file's data lines with their 1-based physical line numbers
/// (counted from `first_line`): blank lines are left out, a trailing `\r`
/// is cut. Reading and locating both count rows by it.
fn data_lines(bytes: &[u8], first_line: u64) -> impl Iterator<Item = (u64, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(move |(i, l)| (first_line + i as u64, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.trim_ascii().is_empty())
}

/// About `k` ranges of `bytes`, each of whole lines.
fn line_pieces(bytes: &[u8], k: usize) -> Vec<std::ops::Range<usize>> {
    let step = bytes.len().div_ceil(k.max(1)).max(1 << 16);
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let want = (start + step).min(bytes.len());
        let end = match memchr::memchr(b'\n', &bytes[want..]) {
            Some(i) if want < bytes.len() => want + i + 1,
            _ => bytes.len(),
        };
        out.push(start..end);
        start = end;
    }
    out
}

/// An NDJSON file being read.
pub struct NdjsonSource {
    file: InputFile,
    chunks: Chunks,
    /// The map as given; `resolved` once the first chunk's keys are known.
    given: ColumnMap,
    resolved: Option<ColumnMap>,
    /// The distinct keys the map reads, in canonical order.
    sources: Vec<String>,
    /// Per source, the top-level key it names, and the nested paths.
    top: Vec<String>,
    nested: Vec<(usize, Vec<String>)>,
    /// Whether the file has each of `sources` (else a hive folder may).
    seen: Vec<bool>,
    next_row: usize,
    /// The file's size once decompressed, about (`text::text_size`).
    text_bytes: u64,
}

impl NdjsonSource {
    pub fn open(o: Open<'_>) -> Result<NdjsonSource, LoadError> {
        let name = o.file.display();
        let chunks =
            Chunks::open(&o.file.path, after_last_line).map_err(|e| LoadError::io(&name, e))?;
        let mut sources: Vec<String> = Vec::new();
        for c in Canon::ALL {
            let s = o.map.source(c).to_string();
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
        let (top, nested) = lookups(&sources);
        Ok(NdjsonSource {
            file: o.file.clone(),
            chunks,
            given: o.map.clone(),
            resolved: None,
            top,
            nested,
            seen: vec![false; sources.len()],
            sources,
            next_row: 0,
            text_bytes: super::text::text_size(&o.file.path),
        })
    }

    /// The first chunk: is it NDJSON at all, and do its keys fit the map?
    fn check_first(&self, lines: &[(u64, &[u8])]) -> Result<(), LoadError> {
        let name = self.file.display();
        if let Some((no, first)) = lines.first() {
            let t = first.trim_ascii();
            let not_ndjson = |what: &str| {
                LoadError::Input(format!(
                    "{name}:{no}: not NDJSON: {what}; NDJSON has one JSON object per line"
                ))
            };
            if t.starts_with(b"[") {
                return Err(not_ndjson("the file is a JSON array"));
            }
            if t.starts_with(b"{")
                && serde_json::from_slice::<serde_json::Value>(t).is_err_and(|e| e.is_eof())
            {
                return Err(not_ndjson(
                    "the JSON object on this line goes on over the next lines (pretty-printed JSON?)",
                ));
            }
        }
        Ok(())
    }
}

/// One line's values of the mapped keys (by index into `sources`).
/// (At most one per canonical column; unused places stay `None`.)
type Values<'a> = [Option<Cow<'a, str>>; Canon::ALL.len()];

/// Where each key goes: the index of the source it names, matched as
/// `ColumnMap::resolve` matches names (surrounding blanks and case aside).
struct Keys<'s> {
    /// Per source, the top-level key it names (a nested path names none).
    sources: &'s [String],
    /// Every key of the line, for the first line (the columns found).
    all: Option<Vec<String>>,
    /// The sources that are paths into nested objects (SPEC 9.4): their
    /// index and the keys along the path.
    nested: &'s [(usize, Vec<String>)],
}

impl Keys<'_> {
    fn index(&self, key: &str) -> Option<usize> {
        if let Some(i) = self.sources.iter().position(|s| s == key) {
            return Some(i);
        }
        self.sources.iter().position(|s| same_name(s, key))
    }

    /// Whether a nested path starts at this top-level key.
    fn starts_path(&self, key: &str) -> bool {
        self.nested.iter().any(|(_, p)| same_name(&p[0], key))
    }

    /// The values of the nested paths that start at `key`, from its value.
    fn fill_nested<'de>(&mut self, key: &str, value: &serde_json::Value, out: &mut Values<'de>) {
        let nested = self.nested;
        for (i, path) in nested.iter().filter(|(_, p)| same_name(&p[0], key)) {
            let mut at = Some(value);
            for step in &path[1..] {
                at = at.and_then(|v| v.as_object()).and_then(|o| {
                    o.get(step.as_str())
                        .or_else(|| o.iter().find(|(k, _)| same_name(k, step)).map(|(_, v)| v))
                });
            }
            let text = match at {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(v) => Some(v.to_string()),
            };
            if text.is_some() {
                if let Some(all) = &mut self.all {
                    all.push(join_path(path));
                }
            }
            out[*i] = text.map(Cow::Owned);
        }
    }
}

/// A `--map` source as the keys along a path: split at each `.` that is
/// not written `\.` (SPEC 9.4).
pub fn split_path(source: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                parts.last_mut().expect("one part").push('.');
            }
            '.' => parts.push(String::new()),
            c => parts.last_mut().expect("one part").push(c),
        }
    }
    parts
}

/// The path as `--map` writes it.
fn join_path(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| p.replace('.', "\\."))
        .collect::<Vec<_>>()
        .join(".")
}

/// The top-level key each source names (a path's is none: `\0`), and the paths.
fn lookups(sources: &[String]) -> (Vec<String>, Vec<(usize, Vec<String>)>) {
    let mut top = Vec::new();
    let mut nested = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        let mut parts = split_path(s);
        if parts.len() == 1 {
            top.push(parts.remove(0));
        } else {
            top.push("\0".to_string());
            nested.push((i, parts));
        }
    }
    (top, nested)
}

/// Whether two column names are the same to `ColumnMap::resolve`.
fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// A key, borrowed from the line where it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A value as text: a string as it is, a number, `true` or `false` by its
/// JSON spelling, an array or object as compact JSON; `null` is missing.
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            fn visit_unit<E>(self) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text<'de>, E> {
                let n = serde_json::Number::from_f64(v).map(|n| n.to_string());
                Ok(Text(Some(Cow::Owned(n.unwrap_or_else(|| v.to_string())))))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Text<'de>, A::Error> {
                let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text<'de>, A::Error> {
                let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
        }
        d.deserialize_any(V)
    }
}

use serde::Deserialize as _;

/// Reads one object, keeping the values of the mapped keys.
struct Line<'k, 's>(&'k mut Keys<'s>);

impl<'de> DeserializeSeed<'de> for Line<'_, '_> {
    type Value = Values<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Values<'de>, D::Error> {
        struct V<'k, 's>(&'k mut Keys<'s>);
        impl<'de> Visitor<'de> for V<'_, '_> {
            type Value = Values<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Values<'de>, A::Error> {
                let mut out: Values<'de> = Default::default();
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    if let Some(all) = &mut self.0.all {
                        all.push(k.to_string());
                    }
                    match self.0.index(&k) {
                        Some(i) => out[i] = map.next_value::<Text<'de>>()?.0,
                        None if self.0.starts_path(&k) => {
                            let v = map.next_value::<serde_json::Value>()?;
                            self.0.fill_nested(&k, &v, &mut out);
                        }
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(self.0))
    }
}

/// `quick_line_into`, returning the values (for tests).
#[cfg(test)]
fn quick_line<'a>(line: &'a str, keys: &Keys<'_>, last: &mut KeyOrder) -> Option<Values<'a>> {
    let mut out: Values<'a> = Default::default();
    quick_line_into(line, keys, last, &mut out).map(|()| out)
}

/// Reads a line the quick way when it is the plain shape writers emit: an
/// object without blanks whose keys and strings have no escapes or control
/// characters and whose other values are `true`, `false`, `null` or
/// integers of up to 18 digits: `Some`, and `out` (all `None` on entry)
/// holds its values, which are what `parse_line` gives. `None` for anything
/// else, which then goes to `parse_line`. (Filling the caller's array saves
/// copying it per line.)
fn quick_line_into<'a>(
    line: &'a str,
    keys: &Keys<'_>,
    last: &mut KeyOrder,
    out: &mut Values<'a>,
) -> Option<()> {
    // No control character anywhere (in a string serde refuses it; outside,
    // it is a blank): checked once for the line, without a branch per byte.
    if line.bytes().fold(false, |any, c| any | (c < 0x20)) {
        return None;
    }
    quick_fields_into(line, keys, last, out)
}

/// Whether `line` is ASCII with no byte below 0x20: then it is UTF-8 and
/// has no control character that JSON forbids, as `quick_fields_into`
/// needs. One pass without a branch per byte.
fn plain_ascii(line: &[u8]) -> bool {
    let (lo, hi) = line
        .iter()
        .fold((u8::MAX, 0u8), |(lo, hi), &c| (lo.min(c), hi.max(c)));
    lo >= 0x20 && hi < 0x80
}

/// `quick_line_into` for a line known to have no control character.
fn quick_fields_into<'a>(
    line: &'a str,
    keys: &Keys<'_>,
    last: &mut KeyOrder,
    out: &mut Values<'a>,
) -> Option<()> {
    let b = line.as_bytes();
    if b.len() < 2 || b[0] != b'{' || b[b.len() - 1] != b'}' {
        return None;
    }
    if b.len() == 2 {
        return Some(());
    }
    // A string's end: its closing quote, when it has no escape.
    let string_end = |open: usize| -> Option<usize> {
        let close = open + 1 + memchr::memchr2(b'"', b'\\', &b[open + 1..])?;
        (b[close] == b'"').then_some(close)
    };
    let mut pos = 1;
    for k in 0.. {
        if b[pos] != b'"' {
            return None;
        }
        // Mostly the key the line before had here: its bytes and a quote
        // (it has no quote or escape itself) end the key without a search.
        let (close, at) = match last.expected(k, &b[pos + 1..]) {
            Some((len, at)) => (pos + 1 + len, at),
            None => {
                let close = string_end(pos)?;
                (close, last.learn(k, &line[pos + 1..close], keys))
            }
        };
        if b.get(close + 1) != Some(&b':') {
            return None;
        }
        let v = close + 2;
        let (value, next) = match *b.get(v)? {
            b'"' => {
                let e = string_end(v)?;
                (Some(Cow::Borrowed(&line[v + 1..e])), e + 1)
            }
            b't' if b[v..].starts_with(b"true") => (Some(Cow::Borrowed("true")), v + 4),
            b'f' if b[v..].starts_with(b"false") => (Some(Cow::Borrowed("false")), v + 5),
            b'n' if b[v..].starts_with(b"null") => (None, v + 4),
            b'-' | b'0'..=b'9' => {
                let digits = v + usize::from(b[v] == b'-');
                let end = digits
                    + b[digits..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                let n = end - digits;
                // One spelling per integer: no leading zero, no `-0`.
                let canonical = (n == 1 && (b[digits] != b'0' || digits == v))
                    || (n > 1 && n <= 18 && b[digits] != b'0');
                if !canonical {
                    return None;
                }
                (Some(Cow::Borrowed(&line[v..end])), end)
            }
            _ => return None,
        };
        if let Some(i) = at {
            out[i] = value;
        }
        match b.get(next) {
            Some(b',') => pos = next + 1,
            Some(b'}') if next + 1 == b.len() => return Some(()),
            _ => return None,
        }
        if pos >= b.len() {
            return None;
        }
    }
    None
}

/// The keys of the line before, by place, with where each goes: lines of
/// a file mostly have the same keys in the same order. A key kept here has
/// no quote or backslash (it was read by the quick reader).
#[derive(Default)]
struct KeyOrder(Vec<(Box<[u8]>, Option<usize>)>);

impl KeyOrder {
    /// When `rest` (just after a key's opening quote) starts with the key
    /// kept at place `k` and its closing quote: that key's length and
    /// where it goes.
    #[inline]
    fn expected(&self, k: usize, rest: &[u8]) -> Option<(usize, Option<usize>)> {
        let (key, at) = self.0.get(k)?;
        let n = key.len();
        (rest.get(n) == Some(&b'"') && same_bytes(key, &rest[..n])).then_some((n, *at))
    }

    /// Keeps `key` at place `k` (dropping the places after it): where it goes.
    fn learn(&mut self, k: usize, key: &str, keys: &Keys<'_>) -> Option<usize> {
        let i = keys.index(key);
        self.0.truncate(k);
        self.0.push((key.as_bytes().into(), i));
        i
    }
}

/// `a == b` for slices of one length, inline for short ones (keys are):
/// two overlapping loads instead of a call.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len();
    let u32_at = |s: &[u8], i: usize| u32::from_ne_bytes(s[i..i + 4].try_into().unwrap());
    let u64_at = |s: &[u8], i: usize| u64::from_ne_bytes(s[i..i + 8].try_into().unwrap());
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=8 => u32_at(a, 0) == u32_at(b, 0) && u32_at(a, n - 4) == u32_at(b, n - 4),
        9..=16 => u64_at(a, 0) == u64_at(b, 0) && u64_at(a, n - 8) == u64_at(b, n - 8),
        _ => a == b,
    }
}

/// Parses one line: its values, or the rule it breaks.
fn parse_line<'a>(line: &'a [u8], keys: &mut Keys<'_>) -> Result<Values<'a>, String> {
    let text = std::str::from_utf8(line).map_err(|e| {
        format!(
            "invalid UTF-8: byte 0x{:02X} at byte {} of the line",
            line[e.valid_up_to()],
            e.valid_up_to() + 1
        )
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let values = Line(keys)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|_| v))
        .map_err(|e| format!("not a JSON object: {e}"))?;
    Ok(values)
}

impl Source for NdjsonSource {
    fn next_batch(&mut self) -> Result<Option<Batch>, LoadError> {
        let name = self.file.display();
        let Some(chunk) = self
            .chunks
            .next_chunk()
            .map_err(|e| LoadError::io(&name, e))?
        else {
            return Ok(None);
        };
        let buf = chunk.bytes;
        let bytes: &[u8] = &buf;
        let first = self.resolved.is_none();
        if first {
            let first_line: Vec<(u64, &[u8])> =
                data_lines(bytes, chunk.first_line).take(1).collect();
            self.check_first(&first_line)?;
        }
        // Pieces of whole lines, parsed in parallel.
        let pieces = line_pieces(bytes, 4 * rayon::current_num_threads());
        let sources = &self.sources;
        let (top, nested) = (&self.top[..], &self.nested[..]);
        type Piece = (
            Vec<StringChunked>,
            Vec<BadCell>,
            Vec<bool>,
            Option<Vec<String>>,
            usize,
        );
        let parts: Vec<Piece> = pieces
            .par_iter()
            .enumerate()
            .map(|(p, range)| {
                let piece = &bytes[range.clone()];
                let guess = piece.len() / 100 + 1;
                let mut builders: Vec<TextColumn> = sources
                    .iter()
                    .map(|_| TextColumn::with_capacity(guess))
                    .collect();
                let mut seen = vec![false; sources.len()];
                let mut bad = Vec::new();
                let mut found: Option<Vec<String>> = None;
                let mut row = 0usize;
                let mut order = KeyOrder::default();
                let mut rest = piece;
                while !rest.is_empty() {
                    let (line, next) = match memchr::memchr(b'\n', rest) {
                        Some(i) => (&rest[..i], &rest[i + 1..]),
                        None => (rest, &rest[rest.len()..]),
                    };
                    rest = next;
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.trim_ascii().is_empty() {
                        continue;
                    }
                    // The keys of the file's first good line, all of them, for the column check.
                    let want_all = first && p == 0 && found.is_none();
                    let mut keys = Keys {
                        sources: top,
                        all: want_all.then(Vec::new),
                        nested,
                    };
                    let mut quick: Values = Default::default();
                    let read_quick = !want_all
                        && if plain_ascii(line) {
                            // SAFETY: ASCII is UTF-8.
                            let text = unsafe { std::str::from_utf8_unchecked(line) };
                            quick_fields_into(text, &keys, &mut order, &mut quick).is_some()
                        } else {
                            std::str::from_utf8(line).is_ok_and(|text| {
                                quick_line_into(text, &keys, &mut order, &mut quick).is_some()
                            })
                        };
                    let parsed = if read_quick {
                        Ok(())
                    } else {
                        parse_line(line, &mut keys).map(|v| quick = v)
                    };
                    match parsed {
                        Ok(()) => {
                            if want_all {
                                found = keys.all;
                            }
                            for (j, v) in quick.iter().take(sources.len()).enumerate() {
                                seen[j] |= v.is_some();
                                builders[j].push_str(bytes, v.as_deref());
                            }
                        }
                        Err(rule) => {
                            bad.push(BadCell {
                                row,
                                column: None,
                                value: abbreviate(&escaped(line)),
                                rule,
                            });
                            for b in &mut builders {
                                b.push_null();
                            }
                        }
                    }
                    row += 1;
                }
                let cols = builders
                    .into_iter()
                    .zip(sources)
                    .map(|(b, name)| b.finish(name, &buf))
                    .collect();
                (cols, bad, seen, found, row)
            })
            .collect();
        let n: usize = parts.iter().map(|p| p.4).sum();
        if n == 0 {
            return self.next_batch();
        }
        let mut cols: Option<Vec<StringChunked>> = None;
        let mut bad = Vec::new();
        let mut found: Option<Vec<String>> = None;
        let mut base = 0;
        for (c, b, seen, f, rows) in parts {
            for (j, s) in seen.into_iter().enumerate() {
                self.seen[j] |= s;
            }
            if found.is_none() {
                found = f;
            }
            bad.extend(b.into_iter().map(|mut b| {
                b.row += base;
                b
            }));
            base += rows;
            cols = Some(match cols {
                None => c,
                Some(mut acc) => {
                    for (a, x) in acc.iter_mut().zip(&c) {
                        a.append(x)
                            .map_err(|e| LoadError::Input(format!("{name}: {e}")))?;
                    }
                    acc
                }
            });
        }
        if first {
            // A file whose every line so far is bad has no columns to check:
            // its lines are the errors.
            let keys: Vec<String> = {
                let mut k = found.unwrap_or_default();
                for (s, &seen) in self.sources.iter().zip(&self.seen) {
                    if seen && !k.iter().any(|x| same_name(x, s)) {
                        k.push(s.clone());
                    }
                }
                k
            };
            self.resolved = Some(if keys.is_empty() && !bad.is_empty() {
                self.given.clone()
            } else {
                source::resolve(&self.file, &self.given, &keys)?
            });
        }
        // The columns of the file: those whose key it has; the map names
        // them as the sources do (matched above by the same rule).
        let present: Vec<String> = self
            .sources
            .iter()
            .zip(&self.seen)
            .filter(|(_, &s)| s)
            .map(|(s, _)| s.clone())
            .collect();
        let frame_cols: Vec<Column> = cols
            .unwrap_or_default()
            .into_iter()
            .zip(&self.seen)
            .filter(|(_, &s)| s)
            .map(|(c, _)| c.into_series().into())
            .collect();
        let frame =
            DataFrame::new(n, frame_cols).map_err(|e| LoadError::Input(format!("{name}: {e}")))?;
        let df = source::canonical(&self.file, &self.given, &present, &frame, n, false)?;
        let batch = Batch {
            df,
            bad,
            blank: Vec::new(),
            dict: None,
            first_row: self.next_row,
            place: Box::new(NdjsonPlace {
                bytes: buf,
                first_line: chunk.first_line,
            }),
        };
        self.next_row += n;
        Ok(Some(batch))
    }

    fn estimated_rows(&self) -> u64 {
        // About 60 bytes a row as written.
        self.text_bytes / 60
    }
}

/// A chunk's bytes, kept for naming its bad rows.
struct NdjsonPlace {
    bytes: Buffer<u8>,
    first_line: u64,
}

impl Locate for NdjsonPlace {
    fn locate(&self, rows: &[usize]) -> Result<Vec<Place>, LoadError> {
        let mut out = Vec::with_capacity(rows.len());
        let mut want = rows.iter().peekable();
        for (data_row, (no, line)) in data_lines(&self.bytes, self.first_line).enumerate() {
            while want.peek() == Some(&&data_row) {
                out.push((At::Line(no), vec![("line".to_string(), escaped(line))]));
                want.next();
            }
            if want.peek().is_none() {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str, sources: &[&str]) -> Result<Vec<Option<String>>, String> {
        let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
        let mut keys = Keys {
            sources: &sources,
            all: None,
            nested: &[],
        };
        parse_line(line.as_bytes(), &mut keys).map(|v| {
            v.into_iter()
                .take(sources.len())
                .map(|x| x.map(Cow::into_owned))
                .collect()
        })
    }

    #[test]
    fn dotted_sources_are_paths_into_nested_objects() {
        assert_eq!(split_path("a.b\\.c.d"), ["a", "b.c", "d"]);
        assert_eq!(split_path("plain"), ["plain"]);
        let sources: Vec<String> = ["w.e.Id", "host\\.name", "w.e.N", "w.x.y"]
            .map(String::from)
            .to_vec();
        let (top, nested) = lookups(&sources);
        let mut keys = Keys {
            sources: &top,
            all: Some(Vec::new()),
            nested: &nested,
        };
        let line =
            br#"{"host.name":"pc","w":{"E":{"Id":"0x1f","N":7},"x":3},"host":{"name":"no"}}"#;
        let v = parse_line(line, &mut keys).unwrap();
        let got: Vec<Option<&str>> = v.iter().take(4).map(|x| x.as_deref()).collect();
        // `x` is no object: the path through it is missing.
        assert_eq!(got, [Some("0x1f"), Some("pc"), Some("7"), None]);
        assert!(keys.all.unwrap().contains(&"w.e.Id".to_string()));
    }

    #[test]
    fn values_are_text_as_json_spells_them() {
        let got = parse(
            r#"{"a": 7, "B ": "x\"y", "c": null, "d": 1.5e3, "e": true, "f": [1, {"g": 2}], "skip": {"deep": [1,2]}}"#,
            &["a", "b", "c", "d", "e", "f"],
        )
        .unwrap();
        let want = [
            Some("7"),
            Some("x\"y"),
            None,
            Some("1500.0"),
            Some("true"),
            Some(r#"[1,{"g":2}]"#),
        ];
        assert_eq!(got, want.map(|w| w.map(String::from)));
    }

    #[test]
    fn lines_that_are_not_objects_are_faults() {
        for line in ["[1,2]", "7", "{\"a\":1} x", "{\"a\":", "\"s\""] {
            let e = parse(line, &["a"]).unwrap_err();
            assert!(e.starts_with("not a JSON object"), "{line}: {e}");
        }
        let e = parse_line(
            b"{\"a\":\"\xff\"}",
            &mut Keys {
                sources: &["a".into()],
                all: None,
                nested: &[],
            },
        )
        .unwrap_err();
        assert!(e.contains("invalid UTF-8: byte 0xFF at byte 7"), "{e}");
    }
    #[test]
    fn same_bytes_is_slice_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i % 26).collect();
            assert!(same_bytes(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!same_bytes(&a, &b), "length {n}, byte {i}");
            }
        }
    }

    #[test]
    fn plain_ascii_has_no_byte_below_space_or_above_0x7f() {
        for c in 0..=255u8 {
            let line = [b'{', c, b'}'];
            assert_eq!(plain_ascii(&line), (0x20..0x80).contains(&c), "{c:#x}");
        }
    }

    #[test]
    fn quick_lines_read_as_serde_reads_them() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(9);
        let tokens = [
            "\"a\"",
            "\"b\"",
            "\"B \"",
            "\"c\"",
            "\"é\"",
            "\"x\\\"y\"",
            "\"t\tab\"",
            "\"\"",
            "1",
            "0",
            "-0",
            "-7",
            "07",
            "123456789012345678",
            "1234567890123456789",
            "1.5",
            "1e3",
            "-",
            "true",
            "false",
            "null",
            "nul",
            "[1]",
            "{}",
            " ",
        ];
        let sources: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let (mut quick, mut cases) = (0, 0);
        let mut order = KeyOrder::default();
        while quick < 5_000 {
            cases += 1;
            let mut line = String::from("{");
            for i in 0..rng.random_range(0..4) {
                if i > 0 {
                    line.push_str([",", ",", ",", ", ", ";"][rng.random_range(0..5)]);
                }
                line.push_str(tokens[rng.random_range(0..8)]);
                line.push_str([":", ":", ":", " :"][rng.random_range(0..4)]);
                line.push_str(tokens[rng.random_range(0..tokens.len())]);
            }
            line.push_str(["}", "}", "}", "} ", ",}", ""][rng.random_range(0..6)]);
            let keys = Keys {
                sources: &sources,
                all: None,
                nested: &[],
            };
            let Some(got) = quick_line(&line, &keys, &mut order) else {
                continue;
            };
            quick += 1;
            if plain_ascii(line.as_bytes()) {
                let mut again = Default::default();
                let mut order = KeyOrder::default();
                assert!(quick_fields_into(&line, &keys, &mut order, &mut again).is_some());
                assert_eq!(got, again, "{line}");
            }
            let mut keys = Keys {
                sources: &sources,
                all: None,
                nested: &[],
            };
            let want = parse_line(line.as_bytes(), &mut keys)
                .unwrap_or_else(|e| panic!("{line}: serde refuses a quick line: {e}"));
            assert_eq!(got, want, "{line}");
        }
        assert!(
            cases < 20 * quick,
            "too few quick lines: {quick} of {cases}"
        );
    }
}
