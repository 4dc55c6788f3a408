//! The quick reader of a line of the plain shape writers emit (a flat
//! object of plain ASCII strings and numbers): the same values as serde,
//! found without it; anything else is left to serde.

use super::*;

/// `quick_line_into`, returning the values (for tests).
#[cfg(test)]
pub(crate) fn quick_line<'a>(
    line: &'a str,
    keys: &Keys<'_>,
    last: &mut KeyOrder,
) -> Option<Values<'a>> {
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
pub(crate) fn quick_line_into<'a>(
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
pub(crate) fn plain_ascii(line: &[u8]) -> bool {
    let (lo, hi) = line
        .iter()
        .fold((u8::MAX, 0u8), |(lo, hi), &c| (lo.min(c), hi.max(c)));
    lo >= 0x20 && hi < 0x80
}

/// `quick_line_into` for a line known to have no control character.
pub(crate) fn quick_fields_into<'a>(
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
pub(crate) struct KeyOrder(pub(crate) Vec<(Box<[u8]>, Option<usize>)>);

impl KeyOrder {
    /// When `rest` (just after a key's opening quote) starts with the key
    /// kept at place `k` and its closing quote: that key's length and
    /// where it goes.
    #[inline]
    pub(crate) fn expected(&self, k: usize, rest: &[u8]) -> Option<(usize, Option<usize>)> {
        let (key, at) = self.0.get(k)?;
        let n = key.len();
        (rest.get(n) == Some(&b'"') && same_bytes(key, &rest[..n])).then_some((n, *at))
    }

    /// Keeps `key` at place `k` (dropping the places after it): where it goes.
    pub(crate) fn learn(&mut self, k: usize, key: &str, keys: &Keys<'_>) -> Option<usize> {
        let i = keys.index(key);
        self.0.truncate(k);
        self.0.push((key.as_bytes().into(), i));
        i
    }
}

/// `a == b` for slices of one length, inline for short ones (keys are):
/// two overlapping loads instead of a call.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
