//! A line read by serde: the mapped keys (dotted paths into nested
//! objects) looked up as the object streams by, every other value skipped
//! unparsed, values kept as text as JSON spells them.

use super::*;

/// Where each key goes: the index of the source it names, matched as
/// `ColumnMap::resolve` matches names (surrounding blanks and case aside).
pub(crate) struct Keys<'s> {
    /// Per source, the top-level key it names (a nested path names none).
    pub(crate) sources: &'s [String],
    /// Every key of the line, for the first line (the columns found).
    pub(crate) all: Option<Vec<String>>,
    /// The sources that are paths into nested objects (SPEC 9.4): their
    /// index and the keys along the path.
    pub(crate) nested: &'s [(usize, Vec<String>)],
}

impl Keys<'_> {
    pub(crate) fn index(&self, key: &str) -> Option<usize> {
        if let Some(i) = self.sources.iter().position(|s| s == key) {
            return Some(i);
        }
        self.sources.iter().position(|s| same_name(s, key))
    }

    /// Whether a nested path starts at this top-level key.
    pub(crate) fn starts_path(&self, key: &str) -> bool {
        self.nested.iter().any(|(_, p)| same_name(&p[0], key))
    }

    /// The values of the nested paths that start at `key`, from its value.
    pub(crate) fn fill_nested<'de>(
        &mut self,
        key: &str,
        value: &serde_json::Value,
        out: &mut Values<'de>,
    ) {
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
pub(crate) fn join_path(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| p.replace('.', "\\."))
        .collect::<Vec<_>>()
        .join(".")
}

/// The top-level key each source names (a path's is none: `\0`), and the paths.
pub(crate) fn lookups(sources: &[String]) -> (Vec<String>, Vec<(usize, Vec<String>)>) {
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
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// A key, borrowed from the line where it has no escapes.
pub(crate) struct Key<'a>(Cow<'a, str>);

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
pub(crate) struct Text<'a>(Option<Cow<'a, str>>);

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
pub(crate) struct Line<'k, 's>(pub(crate) &'k mut Keys<'s>);

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
