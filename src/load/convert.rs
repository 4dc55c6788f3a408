//! Column-wise conversion of one file's columns (as polars read them) into
//! canonical values, recording every cell that breaks a rule with its row.
//! Columns are converted in parallel chunks of rows; the order of rows and of
//! bad cells is kept.

use super::columns::Canon;
use crate::ids::KeyDict;
use crate::model::{pack, Kind};
use crate::time::{parse_time, LocalResolver, ParsedTime, Zone, US_PER_DAY, US_PER_SEC};
use polars::prelude::PlHashMap as HashMap;
use polars::prelude::*;
use rayon::prelude::*;

pub use super::error::{BadCell, CellRule};

const CHUNK: usize = 1 << 16;

type Converted<T> = (Vec<T>, Vec<BadCell>);

/// Runs `f(offset, len)` over chunks of rows in parallel and joins the parts in order.
fn par_rows<T: Send>(n: usize, f: impl Fn(usize, usize) -> Converted<T> + Sync) -> Converted<T> {
    let parts: Vec<Converted<T>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| f(c * CHUNK, CHUNK.min(n - c * CHUNK)))
        .collect();
    let mut values = Vec::with_capacity(n);
    let mut bad = Vec::new();
    for (v, b) in parts {
        values.extend(v);
        bad.extend(b);
    }
    (values, bad)
}

fn cell(row: usize, column: Canon, value: impl Into<String>, rule: impl Into<CellRule>) -> BadCell {
    BadCell {
        row,
        column: Some(column),
        value: value.into(),
        rule: rule.into(),
    }
}

/// Converts every value of `ca` in parallel chunks of rows. `make` builds,
/// once per chunk, the converter that gives a value or the shown value and
/// the rule it breaks; a null is a missing value. Bad cells hold `fill`, so
/// rows stay aligned.
fn each<P, T, M, F>(ca: &ChunkedArray<P>, column: Canon, fill: T, make: M) -> Converted<T>
where
    P: PolarsDataType,
    T: Copy + Send + Sync,
    M: Fn() -> F + Sync,
    F: for<'a> FnMut(P::Physical<'a>) -> Result<T, (String, CellRule)>,
{
    par_rows(ca.len(), |off, len| {
        let mut convert = make();
        let part = ca.slice(off as i64, len);
        let mut out = Vec::with_capacity(len);
        let mut bad = Vec::new();
        for (i, v) in part.iter().enumerate() {
            out.push(match v.map(&mut convert) {
                Some(Ok(t)) => t,
                Some(Err((value, rule))) => {
                    bad.push(cell(off + i, column, value, rule));
                    fill
                }
                None => {
                    bad.push(cell(off + i, column, "", MISSING));
                    fill
                }
            });
        }
        (out, bad)
    })
}

const MISSING: CellRule = CellRule::Missing;
const INT32_RULE: CellRule = CellRule::Int32;

pub fn as_text(s: &Series) -> PolarsResult<Series> {
    if s.dtype() == &DataType::String {
        Ok(s.clone())
    } else {
        s.cast(&DataType::String)
    }
}

/// An id column (`session_id`, `user_id`): integers of any width, integral
/// floats, or decimal text, each within int32.
pub fn int32_column(s: &Series, column: Canon) -> PolarsResult<Converted<i32>> {
    let dt = s.dtype().clone();
    // The common cases: integers without nulls, all within int32.
    let narrowed = match dt {
        DataType::Int32 => narrow(s.i32()?),
        DataType::Int64 => narrow(s.i64()?),
        DataType::UInt32 => narrow(s.u32()?),
        DataType::UInt64 => narrow(s.u64()?),
        _ => None,
    };
    if let Some(out) = narrowed {
        return Ok((out, Vec::new()));
    }
    let out_of_range = |shown: String| (shown, INT32_RULE);
    let int = |v: i64| i32::try_from(v).map_err(|_| out_of_range(v.to_string()));
    Ok(if dt == DataType::UInt64 {
        each(s.u64()?, column, 0, || {
            move |v: u64| {
                i64::try_from(v)
                    .map_err(|_| out_of_range(v.to_string()))
                    .and_then(int)
            }
        })
    } else if dt.is_integer() {
        let s = s.cast(&DataType::Int64)?;
        each(s.i64()?, column, 0, || int)
    } else if dt.is_float() {
        let s = s.cast(&DataType::Float64)?;
        each(s.f64()?, column, 0, || {
            |v: f64| {
                if v.fract() == 0.0 && v >= i32::MIN as f64 && v <= i32::MAX as f64 {
                    Ok(v as i32)
                } else {
                    Err(out_of_range(v.to_string()))
                }
            }
        })
    } else {
        let s = as_text(s)?;
        each(s.str()?, column, 0, || {
            |v: &str| parse_int32(v).map_err(|rule| (v.to_string(), rule))
        })
    })
}

/// A key column (SPEC 9.1): each value as text, with its provisional id
/// from `dict` (keys new to it get the next ids in row order). A null,
/// empty or blank value is missing.
pub fn key_column(s: &Series, column: Canon, dict: &KeyDict) -> PolarsResult<Converted<i32>> {
    let s = as_text(s)?;
    let ca = s.str()?;
    let n = ca.len();
    // Per chunk, in parallel: its distinct keys in order of first
    // appearance, and per row the place of its key among them.
    type Part = (Vec<String>, Vec<u32>, Vec<BadCell>);
    let parts: Vec<Part> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let off = c * CHUNK;
            let part = ca.slice(off as i64, CHUNK.min(n - off));
            let mut seen: HashMap<&str, u32> = HashMap::default();
            let mut distinct = Vec::new();
            let mut local = Vec::with_capacity(part.len());
            let mut bad = Vec::new();
            for (i, v) in part.iter().enumerate() {
                match v {
                    Some(k) if !k.trim().is_empty() => {
                        let next = seen.len() as u32;
                        let at = *seen.entry(k).or_insert_with(|| {
                            distinct.push(k.to_string());
                            next
                        });
                        local.push(at);
                    }
                    v => {
                        bad.push(cell(off + i, column, v.unwrap_or(""), MISSING));
                        local.push(u32::MAX);
                    }
                }
            }
            (distinct, local, bad)
        })
        .collect();
    let mut values = Vec::with_capacity(n);
    let mut bad = Vec::new();
    for (distinct, local, b) in parts {
        let ids = dict.intern_all(&distinct);
        values.extend(
            local
                .iter()
                .map(|&l| ids.get(l as usize).copied().unwrap_or(0)),
        );
        bad.extend(b);
    }
    Ok((values, bad))
}

/// For a log without sessions (SPEC 9.2): per row a provisional id of its
/// (user, client guid) pair, the group that sessions are then cut from.
/// Rows whose user or guid is bad or missing get some id: they are not
/// events, and assembling finds the missing guid.
pub fn pair_column(uid: &[i32], guid: &Series, dict: &KeyDict) -> PolarsResult<Vec<i32>> {
    let s = as_text(guid)?;
    let ca = s.str()?;
    let n = ca.len();
    let parts: Vec<(Vec<Vec<u8>>, Vec<u32>)> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let off = c * CHUNK;
            let part = ca.slice(off as i64, CHUNK.min(n - off));
            let mut seen: HashMap<(i32, Option<&str>), u32> = HashMap::default();
            let mut distinct = Vec::new();
            let mut local = Vec::with_capacity(part.len());
            for (i, g) in part.iter().enumerate() {
                let u = uid[off + i];
                let next = seen.len() as u32;
                local.push(*seen.entry((u, g)).or_insert_with(|| {
                    let mut k = u.to_le_bytes().to_vec();
                    match g {
                        Some(g) => k.extend_from_slice(g.as_bytes()),
                        None => k.push(0xFF), // no UTF-8 text has this byte
                    }
                    distinct.push(k);
                    next
                }));
            }
            (distinct, local)
        })
        .collect();
    let mut values = Vec::with_capacity(n);
    for (distinct, local) in parts {
        let ids = dict.intern_all(&distinct);
        values.extend(local.iter().map(|&l| ids[l as usize]));
    }
    Ok(values)
}

/// The values as int32 when there is no null and every value fits, in one
/// branch-free pass; `None` sends the column to the checking path.
fn narrow<T>(ca: &ChunkedArray<T>) -> Option<Vec<i32>>
where
    T: PolarsNumericType,
    T::Native: Into<i128>,
{
    if ca.null_count() != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(ca.len());
    let mut fits = true;
    for arr in ca.downcast_iter() {
        out.extend(arr.values().iter().map(|&v| {
            let wide: i128 = v.into();
            fits &= i32::try_from(wide).is_ok();
            wide as i32
        }));
    }
    fits.then_some(out)
}

/// Decimal text: optional sign, digits, surrounding blanks ignored.
pub fn parse_int32(text: &str) -> Result<i32, CellRule> {
    let t = crate::time::trim_blanks(text).as_bytes();
    let Some(&first) = t.first() else {
        return Err(MISSING);
    };
    let (negative, digits) = match first {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return Err(NOT_INTEGER);
    }
    // One pass: every byte a digit, the value held below 2^40 (past any
    // int32) so that it cannot overflow, however many digits.
    let mut value: i64 = 0;
    for &d in digits {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return Err(NOT_INTEGER);
        }
        value = (value * 10 + i64::from(digit)).min(1 << 40);
    }
    i32::try_from(if negative { -value } else { value }).map_err(|_| INT32_RULE)
}

const NOT_INTEGER: CellRule = CellRule::NotInteger;

/// The timestamp column: text (SPEC 1.2), or native timestamps and dates. A
/// timestamp without zone is wall-clock time in `zone`. Native nanoseconds
/// are truncated to microseconds (towards the past).
pub fn timestamp_column(s: &Series, zone: Zone) -> PolarsResult<Converted<i64>> {
    let converted = timestamps(s, zone)?;
    range_checked(s, zone, converted)
}

/// Turns every instant outside years 0001-9999 (in UTC or in `zone`) into a
/// bad cell. Native values that overflowed on the way to microseconds were
/// saturated, so they land here too, never wrapped into range.
fn range_checked(
    s: &Series,
    zone: Zone,
    (mut ts, mut bad): Converted<i64>,
) -> PolarsResult<Converted<i64>> {
    use crate::time::{out_of_range, MAX_INSTANT, MIN_INSTANT};
    let (lo, hi) = (MIN_INSTANT + US_PER_DAY, MAX_INSTANT - US_PER_DAY);
    let min = ts.iter().copied().min().unwrap_or(0);
    let max = ts.iter().copied().max().unwrap_or(0);
    if min >= lo && max <= hi {
        return Ok((ts, bad));
    }
    let mut outside = Vec::new();
    for (row, t) in ts.iter_mut().enumerate() {
        if let Some(rule) = out_of_range(*t, &zone) {
            outside.push(cell(row, Canon::Timestamp, shown(s, row)?, rule));
            *t = 0;
        }
    }
    if !outside.is_empty() {
        bad.extend(outside);
        bad.sort_by_key(|b| b.row);
    }
    Ok((ts, bad))
}

/// A timestamp cell as text for an error line: text as written, a native
/// value as its stored number and unit.
fn shown(s: &Series, row: usize) -> PolarsResult<String> {
    Ok(match s.dtype() {
        DataType::Datetime(unit, tz) => {
            let raw = s.datetime()?.physical().get(row).unwrap_or(0);
            let zone = tz.as_ref().map_or(String::new(), |t| format!(", zone {t}"));
            format!("{raw} ({unit} since 1970-01-01{zone})")
        }
        DataType::Date => format!(
            "{} (days since 1970-01-01)",
            s.date()?.physical().get(row).unwrap_or(0)
        ),
        _ => match s.get(row)? {
            AnyValue::String(t) => t.to_string(),
            AnyValue::StringOwned(t) => t.to_string(),
            other => other.to_string(),
        },
    })
}

fn timestamps(s: &Series, zone: Zone) -> PolarsResult<Converted<i64>> {
    // Dictionary-encoded (categorical) text, as pandas and pyarrow write it.
    if s.dtype().is_categorical() || s.dtype().is_enum() {
        return timestamps(&s.cast(&DataType::String)?, zone);
    }
    let n = s.len();
    let column = Canon::Timestamp;
    match s.dtype().clone() {
        // The common cases, one pass without checks: instants, or wall-clock
        // times in a fixed offset, without nulls.
        DataType::Datetime(unit, tz)
            if s.null_count() == 0 && (tz.is_some() || matches!(zone, Zone::Fixed(_))) =>
        {
            let shift = match (tz, zone) {
                (None, Zone::Fixed(o)) => i64::from(o.local_minus_utc()) * US_PER_SEC,
                _ => 0,
            };
            let mut out = Vec::with_capacity(n);
            for arr in s.datetime()?.physical().downcast_iter() {
                let values = arr.values().iter();
                if unit == TimeUnit::Microseconds && shift == 0 {
                    out.extend_from_slice(arr.values());
                } else {
                    out.extend(values.map(|&v| to_micros(unit, v).saturating_sub(shift)));
                }
            }
            Ok((out, Vec::new()))
        }
        DataType::Datetime(unit, tz) => {
            let utc = tz.is_some();
            Ok(each(s.datetime()?.physical(), column, 0, || {
                let mut resolver = LocalResolver::new(zone);
                move |v: i64| match to_micros(unit, v) {
                    us if utc => Ok(us),
                    wall => resolver
                        .resolve(ParsedTime {
                            wall_us: wall,
                            offset_secs: None,
                        })
                        .map_err(|e| {
                            (
                                crate::time::format_rfc3339_utc(wall)
                                    .trim_end_matches('Z')
                                    .to_string(),
                                e.0.into(),
                            )
                        }),
                }
            }))
        }
        DataType::Date => Ok(each(s.date()?.physical(), column, 0, || {
            let mut resolver = LocalResolver::new(zone);
            move |d: i32| {
                let wall = i64::from(d) * US_PER_DAY;
                resolver
                    .resolve(ParsedTime {
                        wall_us: wall,
                        offset_secs: None,
                    })
                    .map_err(|e| (crate::time::format_rfc3339_utc(wall), e.0.into()))
            }
        })),
        DataType::String => Ok(each(s.str()?, column, 0, || {
            let mut resolver = LocalResolver::new(zone);
            move |text: &str| {
                parse_time(text)
                    .and_then(|p| resolver.resolve(p))
                    .map_err(|e| {
                        let rule = if text.trim().is_empty() {
                            MISSING
                        } else {
                            e.0.into()
                        };
                        (text.to_string(), rule)
                    })
            }
        })),
        other => {
            let text = s.cast(&DataType::String)?;
            let ca = text.str()?;
            let rule = format!("a timestamp must be text or a native timestamp, not {other}");
            Ok(par_rows(n, |off, len| {
                let bad = ca
                    .slice(off as i64, len)
                    .iter()
                    .enumerate()
                    .map(|(i, v)| cell(off + i, column, v.unwrap_or(""), rule.clone()))
                    .collect();
                (vec![0; len], bad)
            }))
        }
    }
}

/// A native timestamp value in microseconds; nanoseconds are truncated
/// towards the past. Milliseconds beyond the range saturate, so that the
/// range check refuses them instead of seeing a wrapped value.
#[inline]
pub fn to_micros(unit: TimeUnit, v: i64) -> i64 {
    match unit {
        TimeUnit::Nanoseconds => v.div_euclid(1000),
        TimeUnit::Microseconds => v,
        TimeUnit::Milliseconds => v.saturating_mul(1000),
    }
}

/// The optional kind column; `None` (no such column) means every event is activity.
pub fn kind_column(s: Option<&Series>, n: usize) -> PolarsResult<Converted<Kind>> {
    let Some(s) = s else {
        return Ok((vec![Kind::Activity; n], Vec::new()));
    };
    let s = as_text(s)?;
    let ca = s.str()?;
    Ok(par_rows(n, |off, len| {
        let mut out = Vec::with_capacity(len);
        let mut bad = Vec::new();
        let part = ca.slice(off as i64, len);
        if part.null_count() == 0 {
            if let Some(kinds) = kinds_by_view(&part) {
                return (kinds, bad);
            }
        }
        for (i, v) in part.iter().enumerate() {
            out.push(match v.map(Kind::parse) {
                None => Kind::Activity,
                Some(Some(k)) => k,
                Some(None) => {
                    bad.push(cell(
                        off + i,
                        Canon::Kind,
                        v.unwrap(),
                        CellRule::UnknownKind,
                    ));
                    Kind::Activity
                }
            });
        }
        (out, bad)
    }))
}

/// The kind column read as dictionary indices (Parquet), per row group in
/// row order: each entry parsed once; a null is activity, as in
/// `kind_column`, and a row whose entry is no kind is a bad cell.
pub fn kind_of_groups(groups: &[polars_arrow::array::DictionaryArray<u32>]) -> Converted<Kind> {
    let n = groups.iter().map(|g| g.len()).sum();
    let mut out = Vec::with_capacity(n);
    let mut bad = Vec::new();
    for group in groups {
        let values = crate::load::names::dict_values(group);
        let kinds: Vec<Option<Kind>> = values.values_iter().map(Kind::parse).collect();
        let base = out.len();
        for (r, key) in group.keys().iter().enumerate() {
            out.push(match key {
                None => Kind::Activity,
                Some(&k) => kinds[k as usize].unwrap_or_else(|| {
                    bad.push(cell(
                        base + r,
                        Canon::Kind,
                        values.value(k as usize),
                        CellRule::UnknownKind,
                    ));
                    Kind::Activity
                }),
            });
        }
    }
    (out, bad)
}

/// Kinds without nulls, parsing each distinct spelling once: a string of at
/// most 12 bytes is held whole in its 16-byte view, so equal views are equal
/// strings. `None` if a value is longer or not a kind (the caller then
/// reports it).
fn kinds_by_view(ca: &StringChunked) -> Option<Vec<Kind>> {
    let mut out = Vec::with_capacity(ca.len());
    let mut seen: Vec<(u128, Kind)> = Vec::new();
    for arr in ca.downcast_iter() {
        for (i, view) in arr.views().iter().enumerate() {
            let key = view.as_u128();
            let kind = match seen.iter().find(|s| s.0 == key) {
                Some(s) => s.1,
                None if view.is_inline() => {
                    let kind = Kind::parse(arr.value(i))?;
                    if seen.len() < 16 {
                        seen.push((key, kind));
                    }
                    kind
                }
                None => return None,
            };
            out.push(kind);
        }
    }
    Some(out)
}

/// Packs timestamps and kinds into event keys.
pub fn keys(ts: &[i64], kinds: &[Kind]) -> Vec<i64> {
    ts.par_iter()
        .zip(kinds.par_iter())
        .map(|(&t, &k)| pack(t, k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// The one-pass reader against the rule read the plain way.
        #[test]
        fn int32_text_reads_as_its_rule_says(s in "[ +\\-0-9a\u{a0}\u{3000}\t]{0,24}") {
            let t = s.trim();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            let want = if t.is_empty() {
                Err(MISSING)
            } else if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                Err(NOT_INTEGER)
            } else {
                t.parse::<i32>().map_err(|_| INT32_RULE)
            };
            proptest::prop_assert_eq!(parse_int32(&s), want);
        }
    }

    #[test]
    fn int_text_rules() {
        assert_eq!(parse_int32(" 42 "), Ok(42));
        assert_eq!(parse_int32("-2147483648"), Ok(i32::MIN));
        assert_eq!(parse_int32("2147483648"), Err(INT32_RULE));
        assert!(parse_int32("4.0").is_err());
        assert!(parse_int32("abc").is_err());
        assert!(parse_int32("-").is_err());
        assert_eq!(parse_int32("-00000000000000000000012"), Ok(-12));
        assert_eq!(parse_int32("99999999999999999999999"), Err(INT32_RULE));
        assert_eq!(parse_int32("99999999999999999999x"), Err(NOT_INTEGER));
        assert_eq!(parse_int32("+7\u{a0}"), Ok(7));
        assert_eq!(parse_int32("\u{3000}"), Err(MISSING));
    }

    #[test]
    fn int_columns_of_every_type() {
        let s = Series::new("x".into(), &[Some(1i64), None, Some(3_000_000_000)]);
        let (v, bad) = int32_column(&s, Canon::UserId).unwrap();
        assert_eq!(v[0], 1);
        assert_eq!(bad.iter().map(|b| b.row).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(bad[1].value, "3000000000");
        let s = Series::new("x".into(), &[2.0f64, 2.5]);
        let (v, bad) = int32_column(&s, Canon::UserId).unwrap();
        assert_eq!((v[0], bad.len(), bad[0].row), (2, 1, 1));
        let s = Series::new("x".into(), &["7", "x7"]);
        let (v, bad) = int32_column(&s, Canon::SessionId).unwrap();
        assert_eq!((v[0], bad[0].value.as_str()), (7, "x7"));
    }

    #[test]
    fn wide_integer_columns_without_nulls() {
        let s = Series::new("x".into(), &[5i64, -7, i32::MAX as i64]);
        assert_eq!(
            int32_column(&s, Canon::SessionId).unwrap(),
            (vec![5, -7, i32::MAX], vec![])
        );
        // one value out of range: it is named, the others are kept
        let s = Series::new("x".into(), &[5i64, i32::MIN as i64 - 1, 9]);
        let (v, bad) = int32_column(&s, Canon::SessionId).unwrap();
        assert_eq!((v[0], v[2], bad.len(), bad[0].row), (5, 9, 1, 1));
        assert_eq!(bad[0].value, "-2147483649");
        let s = Series::new("x".into(), &[3u64, u64::MAX]);
        let (_, bad) = int32_column(&s, Canon::UserId).unwrap();
        assert_eq!(bad[0].value, u64::MAX.to_string());
        let s = Series::new("x".into(), &[3u32, 1 << 31]);
        let (_, bad) = int32_column(&s, Canon::UserId).unwrap();
        assert_eq!((bad.len(), bad[0].row), (1, 1));
    }

    #[test]
    fn kinds_in_every_spelling() {
        let texts = [
            "login",
            "LOGIN",
            "idle",
            " Idle ",
            "activity",
            "logout",
            "",
            "   ",
            "  activity    ", // longer than a view holds inline
        ];
        let s = Series::new("k".into(), &texts);
        let (kinds, bad) = kind_column(Some(&s), texts.len()).unwrap();
        use Kind::*;
        let want = [
            Login, Login, Idle, Idle, Activity, Logout, Activity, Activity, Activity,
        ];
        assert_eq!((kinds, bad), (want.to_vec(), vec![]));
        let s = Series::new("k".into(), &["idle", "sleep", "idle"]);
        let (kinds, bad) = kind_column(Some(&s), 3).unwrap();
        assert_eq!(kinds, vec![Idle, Activity, Idle]);
        assert_eq!(
            (bad.len(), bad[0].row, bad[0].value.as_str()),
            (1, 1, "sleep")
        );
    }

    #[test]
    fn many_chunks_keep_row_numbers() {
        let n = CHUNK * 2 + 17;
        let texts: Vec<String> = (0..n)
            .map(|i| {
                if i % 50_000 == 3 {
                    "bad".into()
                } else {
                    i.to_string()
                }
            })
            .collect();
        let s = Series::new("x".into(), texts);
        let (v, bad) = int32_column(&s, Canon::SessionId).unwrap();
        assert_eq!(v.len(), n);
        assert_eq!(v[n - 1], (n - 1) as i32);
        assert_eq!(
            bad.iter().map(|b| b.row).collect::<Vec<_>>(),
            vec![3, 50_003, 100_003]
        );
    }

    #[test]
    fn native_timestamps() {
        let s = Series::new("t".into(), &[1_000_000_123i64])
            .cast(&DataType::Datetime(
                TimeUnit::Nanoseconds,
                Some(TimeZone::UTC),
            ))
            .unwrap();
        let (v, bad) = timestamp_column(&s, Zone::default()).unwrap();
        assert_eq!((v[0], bad.len()), (1_000_000, 0));
        // naive native timestamps are wall-clock time in the zone
        let s = Series::new("t".into(), &[0i64])
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .unwrap();
        let (v, _) = timestamp_column(&s, "+01:00".parse().unwrap()).unwrap();
        assert_eq!(v[0], -3_600_000_000);
        // nanoseconds before 1970 truncate towards the past; milliseconds scale
        let cast = |v: Vec<Option<i64>>, unit, tz: Option<TimeZone>| {
            Series::new("t".into(), v)
                .cast(&DataType::Datetime(unit, tz))
                .unwrap()
        };
        for nulls in [false, true] {
            let tail = if nulls { vec![None] } else { vec![] };
            let mut ns = vec![Some(-1i64), Some(1999)];
            ns.extend(tail.clone());
            let (v, bad) = timestamp_column(
                &cast(ns, TimeUnit::Nanoseconds, Some(TimeZone::UTC)),
                Zone::default(),
            )
            .unwrap();
            assert_eq!((v[0], v[1], bad.len()), (-1, 1, usize::from(nulls)));
            let mut ms = vec![Some(5i64)];
            ms.extend(tail);
            let (v, _) = timestamp_column(
                &cast(ms, TimeUnit::Milliseconds, None),
                "-02:00".parse().unwrap(),
            )
            .unwrap();
            assert_eq!(v[0], 5_000 + 7_200_000_000);
        }
        // naive times in an IANA zone: resolved per value, DST gaps are errors
        let berlin: Zone = "Europe/Berlin".parse().unwrap();
        let wall = |h: i64| 1_616_889_600_000_000 + h * 3_600_000_000; // 2021-03-28 00:00 local
        let s = cast(
            vec![Some(wall(1)), Some(wall(2))],
            TimeUnit::Microseconds,
            None,
        );
        let (v, bad) = timestamp_column(&s, berlin).unwrap();
        assert_eq!(v[0], wall(0)); // 01:00 CET is 00:00 UTC
        assert_eq!((bad.len(), bad[0].row), (1, 1)); // 02:00 does not exist
    }
}
