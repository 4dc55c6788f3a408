//! The rollup tables (SPEC 5.1-5.3) as polars frames with the types analysts'
//! tools read without hints, and their two encodings: Parquet, and CSV with
//! RFC 3339 UTC timestamps, ISO dates and spreadsheet formulas neutralised.

use crate::ids::IdKeys;
use crate::kernel::SessionStats;
use crate::model::SessionMeta;
use crate::rollup::findings::Finding;
use crate::rollup::focus::FocusRow;
use crate::rollup::hours::HourRow;
use crate::rollup::{ClientKey, DailyRow, UserKey};
use crate::time::{push_digits, push_wall_time, US_PER_DAY};
use polars::prelude::*;
use std::io::{self, Write};
use std::ops::Range;

fn timestamps(name: &str, v: Vec<Option<i64>>) -> PolarsResult<Column> {
    Column::new(name.into(), v).cast(&DataType::Datetime(
        TimeUnit::Microseconds,
        Some(TimeZone::UTC),
    ))
}

/// `sessions`: one row per selected session, in the endpoint's order; with
/// keys, `session_key` and `user_key` after the other columns (SPEC 9.1).
pub fn sessions_frame(
    metas: &[SessionMeta],
    sel: &[SessionStats],
    keys: IdKeys,
) -> PolarsResult<DataFrame> {
    let meta = |st: &SessionStats| &metas[st.session as usize];
    let ints = |f: &dyn Fn(&SessionStats) -> i64| sel.iter().map(f).collect::<Vec<i64>>();
    let strs = |f: fn(&crate::model::SessionMeta) -> &str| {
        sel.iter().map(|s| f(meta(s))).collect::<Vec<&str>>()
    };
    let bools = |f: &dyn Fn(&SessionStats) -> bool| sel.iter().map(f).collect::<Vec<bool>>();
    DataFrame::new(
        sel.len(),
        vec![
            Column::new(
                "session_id".into(),
                ints(&|s| i64::from(meta(s).session_id)),
            ),
            Column::new("user_id".into(), ints(&|s| i64::from(meta(s).user_id))),
            Column::new("user_name".into(), strs(|m| &m.user_name)),
            Column::new("client_guid".into(), strs(|m| &m.client_guid)),
            Column::new("client_name".into(), strs(|m| &m.client_name)),
            timestamps("login", sel.iter().map(|s| Some(s.login)).collect())?,
            timestamps("logout", sel.iter().map(|s| Some(s.logout)).collect())?,
            Column::new("duration_us".into(), ints(&|s| s.duration())),
            Column::new("idle_us".into(), ints(&|s| s.idle())),
            Column::new("productive_us".into(), ints(&|s| s.productive)),
            Column::new("events".into(), ints(&|s| i64::from(s.events))),
            Column::new("open".into(), bools(&|s| s.open)),
            Column::new("clipped_start".into(), bools(&|s| s.clipped_start)),
            Column::new("clipped_end".into(), bools(&|s| s.clipped_end)),
        ]
        .into_iter()
        .chain(keys.session.then(|| {
            Column::new(
                "session_key".into(),
                strs_of(sel, metas, |m| m.session_key.as_deref()),
            )
        }))
        .chain(keys.user.then(|| {
            Column::new(
                "user_key".into(),
                strs_of(sel, metas, |m| m.user_key.as_deref()),
            )
        }))
        .collect(),
    )
}

fn strs_of<'a>(
    sel: &[SessionStats],
    metas: &'a [SessionMeta],
    f: fn(&'a SessionMeta) -> Option<&'a str>,
) -> Vec<&'a str> {
    sel.iter()
        .map(|s| f(&metas[s.session as usize]).unwrap_or(""))
        .collect()
}

fn daily_frame<K>(rows: &[DailyRow<K>], keys: Vec<Column>) -> PolarsResult<DataFrame> {
    let days: Vec<i32> = rows.iter().map(|r| r.part.day as i32).collect();
    let ints = |f: &dyn Fn(&DailyRow<K>) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    let mut cols = vec![Column::new("day".into(), days).cast(&DataType::Date)?];
    cols.extend(keys);
    cols.extend([
        Column::new("sessions".into(), ints(&|r| r.sessions)),
        timestamps(
            "first_event",
            rows.iter().map(|r| r.part.first_event).collect(),
        )?,
        timestamps(
            "last_event",
            rows.iter().map(|r| r.part.last_event).collect(),
        )?,
        Column::new("duration_us".into(), ints(&|r| r.part.duration)),
        Column::new("idle_us".into(), ints(&|r| r.part.idle)),
        Column::new("productive_us".into(), ints(&|r| r.part.productive)),
        Column::new(
            "productivity_ratio".into(),
            rows.iter()
                .map(|r| {
                    (r.part.duration > 0).then(|| r.part.productive as f64 / r.part.duration as f64)
                })
                .collect::<Vec<Option<f64>>>(),
        ),
    ]);
    DataFrame::new(rows.len(), cols)
}

/// `daily_user`; with user keys, `user_key` after the other columns.
pub fn user_frame(rows: &[DailyRow<UserKey>], keys: IdKeys) -> PolarsResult<DataFrame> {
    let ids: Vec<i64> = rows.iter().map(|r| i64::from(r.key.0)).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.key.1).collect();
    let mut df = daily_frame(
        rows,
        vec![
            Column::new("user_id".into(), ids),
            Column::new("user_name".into(), names),
        ],
    )?;
    if keys.user {
        let k: Vec<&str> = rows.iter().map(|r| r.key.2.unwrap_or("")).collect();
        df.with_column(Column::new("user_key".into(), k))?;
    }
    Ok(df)
}

/// `daily_app` or `daily_site` (SPEC 13.5), the key's column named
/// `column`; with user keys, `user_key` after the other columns.
pub fn focus_frame(rows: &[FocusRow], column: &str, keys: IdKeys) -> PolarsResult<DataFrame> {
    let days: Vec<i32> = rows.iter().map(|r| r.day as i32).collect();
    let ints = |f: &dyn Fn(&FocusRow) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    let mut cols = vec![
        Column::new("day".into(), days).cast(&DataType::Date)?,
        Column::new("user_id".into(), ints(&|r| i64::from(r.user.0))),
        Column::new(
            "user_name".into(),
            rows.iter().map(|r| r.user.1).collect::<Vec<&str>>(),
        ),
        Column::new(
            column.into(),
            rows.iter().map(|r| r.key).collect::<Vec<Option<&str>>>(),
        ),
        Column::new("sessions".into(), ints(&|r| r.sessions)),
        Column::new("productive_us".into(), ints(&|r| r.productive)),
    ];
    if keys.user {
        let k: Vec<&str> = rows.iter().map(|r| r.user.2.unwrap_or("")).collect();
        cols.push(Column::new("user_key".into(), k));
    }
    DataFrame::new(rows.len(), cols)
}

/// `hourly_user` (SPEC 8.3); with user keys, `user_key` after the other columns.
pub fn hourly_frame(rows: &[HourRow], keys: IdKeys) -> PolarsResult<DataFrame> {
    let ints = |f: &dyn Fn(&HourRow) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    let mut cols = vec![
        Column::new(
            "day".into(),
            rows.iter().map(|r| r.day as i32).collect::<Vec<i32>>(),
        )
        .cast(&DataType::Date)?,
        Column::new(
            "hour".into(),
            rows.iter().map(|r| i32::from(r.hour)).collect::<Vec<i32>>(),
        ),
        Column::new("user_id".into(), ints(&|r| i64::from(r.user.0))),
        Column::new(
            "user_name".into(),
            rows.iter().map(|r| r.user.1).collect::<Vec<&str>>(),
        ),
        Column::new("productive_us".into(), ints(&|r| r.productive)),
        Column::new("idle_us".into(), ints(&|r| r.idle)),
    ];
    if keys.user {
        cols.push(Column::new(
            "user_key".into(),
            rows.iter()
                .map(|r| r.user.2.unwrap_or(""))
                .collect::<Vec<&str>>(),
        ));
    }
    DataFrame::new(rows.len(), cols)
}

/// `findings` (SPEC 10.2); with keys, `session_key` and `user_key` after
/// the other columns, as in `sessions`.
pub fn findings_frame<'a>(rows: &'a [Finding<'a>], keys: IdKeys) -> PolarsResult<DataFrame> {
    let ints = |f: &dyn Fn(&Finding) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    let strs = |f: &dyn Fn(&'a Finding<'a>) -> Option<&'a str>| {
        rows.iter()
            .map(|r| f(r).unwrap_or(""))
            .collect::<Vec<&str>>()
    };
    let mut cols = vec![
        Column::new("kind".into(), strs(&|r| Some(r.kind))),
        Column::new("session_id".into(), ints(&|r| i64::from(r.meta.session_id))),
        Column::new("user_id".into(), ints(&|r| i64::from(r.meta.user_id))),
        Column::new("user_name".into(), strs(&|r| Some(&r.meta.user_name))),
        Column::new("client_guid".into(), strs(&|r| Some(&r.meta.client_guid))),
        Column::new("client_name".into(), strs(&|r| Some(&r.meta.client_name))),
        timestamps("start", rows.iter().map(|r| Some(r.start)).collect())?,
        timestamps("end", rows.iter().map(|r| Some(r.end)).collect())?,
        Column::new("value_us".into(), ints(&|r| r.value)),
        Column::new(
            "other_session_id".into(),
            rows.iter()
                .map(|r| r.other.map(i64::from))
                .collect::<Vec<Option<i64>>>(),
        ),
    ];
    if keys.session {
        cols.push(Column::new(
            "session_key".into(),
            strs(&|r| r.meta.session_key.as_deref()),
        ));
    }
    if keys.user {
        cols.push(Column::new(
            "user_key".into(),
            strs(&|r| r.meta.user_key.as_deref()),
        ));
    }
    DataFrame::new(rows.len(), cols)
}

/// `daily_client`.
pub fn client_frame(rows: &[DailyRow<ClientKey>]) -> PolarsResult<DataFrame> {
    let guids: Vec<&str> = rows.iter().map(|r| r.key.0).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.key.1).collect();
    daily_frame(
        rows,
        vec![
            Column::new("client_guid".into(), guids),
            Column::new("client_name".into(), names),
        ],
    )
}

/// Rows of a table per frame made for writing it, and per Parquet row group.
const CHUNK_ROWS: usize = 256 * 1024;

/// The frame of rows `range` of a table: a table is written a chunk of rows
/// at a time, so that memory never holds the whole of it as a frame.
pub type Frames<'a> = dyn Fn(Range<usize>) -> PolarsResult<DataFrame> + Sync + 'a;

/// Every chunk's frame of a table, built once (in parallel, rechunked) for
/// the files that write it; `shared` hands them out as `Frames`.
pub fn built(rows: usize, frames: &Frames) -> PolarsResult<Vec<DataFrame>> {
    use rayon::prelude::*;
    let ranges: Vec<Range<usize>> = chunks(rows).collect();
    ranges
        .into_par_iter()
        .map(|r| {
            let mut df = frames(r)?;
            df.rechunk_mut_par();
            Ok(df)
        })
        .collect()
}

/// The frames `built` made, as `Frames` for the same table.
pub fn shared(built: &[DataFrame]) -> impl Fn(Range<usize>) -> PolarsResult<DataFrame> + Sync + '_ {
    move |r: Range<usize>| {
        let df = &built[r.start / CHUNK_ROWS];
        debug_assert_eq!(df.height(), r.len());
        Ok(df.clone())
    }
}

/// The chunks of a table of `rows` rows (one, empty, for none).
fn chunks(rows: usize) -> impl Iterator<Item = Range<usize>> {
    (0..rows.div_ceil(CHUNK_ROWS).max(1))
        .map(move |i| i * CHUNK_ROWS..((i + 1) * CHUNK_ROWS).min(rows))
}

/// Parquet with zstd at level 1 (half the compressing time of the default
/// level for files a few percent larger), a row group per chunk of rows.
pub fn write_parquet(rows: usize, frames: &Frames, w: impl Write) -> PolarsResult<()> {
    let level = polars_parquet::write::ZstdLevel::try_new(1).ok();
    let writer = ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(level))
        .with_row_group_size(Some(CHUNK_ROWS));
    let mut first = frames(0..rows.min(CHUNK_ROWS))?;
    if rows <= CHUNK_ROWS {
        writer.finish(&mut first)?;
        return Ok(());
    }
    first.rechunk_mut_par();
    let mut out = writer.batched(first.schema())?;
    out.write_batch(&first)?;
    drop(first);
    for range in chunks(rows).skip(1) {
        let mut df = frames(range)?;
        df.rechunk_mut_par();
        out.write_batch(&df)?;
    }
    out.finish()?;
    Ok(())
}

/// A text cell a spreadsheet would run as a formula gets a leading `'` (SPEC 6.3).
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// One column, typed, for writing CSV cells without a string per cell: its
/// one array's values and validity (frames are rechunked first).
enum Cells<'a> {
    Int(&'a [i64], Option<&'a Bitmap>),
    Int32(&'a [i32], Option<&'a Bitmap>),
    Bool(&'a BooleanArray),
    Float(&'a [f64], Option<&'a Bitmap>),
    Text(&'a Utf8ViewArray),
    Timestamp(&'a [i64], Option<&'a Bitmap>),
    /// A date, with the last one written and its text (dates repeat).
    Date(
        &'a [i32],
        Option<&'a Bitmap>,
        std::cell::Cell<(i32, [u8; 10])>,
    ),
}

type Bitmap = polars_arrow::bitmap::Bitmap;
type BooleanArray = polars_arrow::array::BooleanArray;
type Utf8ViewArray = polars_arrow::array::Utf8ViewArray;

/// The one array of a rechunked column (none for a column of no rows).
fn array<T: PolarsDataType>(c: &ChunkedArray<T>) -> Option<&T::Array> {
    debug_assert!(c.chunks().len() <= 1, "rechunked");
    c.downcast_iter().next()
}

impl<'a> Cells<'a> {
    /// `None` for a column of no rows.
    fn of(c: &'a Column) -> PolarsResult<Option<Cells<'a>>> {
        let s = c.as_materialized_series();
        fn prim<T: PolarsNumericType>(
            c: &ChunkedArray<T>,
        ) -> Option<(&[T::Native], Option<&Bitmap>)> {
            array(c).map(|a| (a.values().as_slice(), a.validity()))
        }
        Ok(match s.dtype() {
            DataType::Int64 => prim(s.i64()?).map(|(v, n)| Cells::Int(v, n)),
            DataType::Int32 => prim(s.i32()?).map(|(v, n)| Cells::Int32(v, n)),
            DataType::Boolean => array(s.bool()?).map(Cells::Bool),
            DataType::Float64 => prim(s.f64()?).map(|(v, n)| Cells::Float(v, n)),
            DataType::String => array(s.str()?).map(Cells::Text),
            DataType::Datetime(TimeUnit::Microseconds, _) => {
                prim(s.datetime()?.physical()).map(|(v, n)| Cells::Timestamp(v, n))
            }
            DataType::Date => prim(s.date()?.physical())
                .map(|(v, n)| Cells::Date(v, n, std::cell::Cell::new((i32::MIN, [0; 10])))),
            other => polars_bail!(ComputeError: "no CSV encoding for {}", other),
        })
    }

    /// Appends row `i`'s cell to `buf`, quoted as CSV needs; a null is an
    /// empty cell.
    fn push(&self, i: usize, buf: &mut Vec<u8>) {
        let valid = |n: Option<&Bitmap>| n.is_none_or(|n| n.get_bit(i));
        match self {
            Cells::Int(v, n) => {
                if valid(*n) {
                    push_digits(buf, v[i], 1);
                }
            }
            Cells::Int32(v, n) => {
                if valid(*n) {
                    push_digits(buf, i64::from(v[i]), 1);
                }
            }
            Cells::Bool(a) => {
                if let Some(v) = a.get(i) {
                    buf.extend_from_slice(if v { b"true" } else { b"false" });
                }
            }
            Cells::Float(v, n) => {
                if valid(*n) {
                    let _ = write!(buf, "{}", v[i]);
                }
            }
            Cells::Text(a) => {
                if let Some(v) = a.get(i) {
                    push_field(buf, neutralise(v).as_bytes());
                }
            }
            Cells::Timestamp(v, n) => {
                if valid(*n) {
                    push_wall_time(buf, v[i], b'T');
                    buf.push(b'Z');
                }
            }
            Cells::Date(v, n, last) => {
                if valid(*n) {
                    let (day, text) = last.get();
                    if day == v[i] {
                        buf.extend_from_slice(&text);
                    } else {
                        let at = buf.len();
                        push_wall_time(buf, i64::from(v[i]) * US_PER_DAY, b' ');
                        buf.truncate(at + 10); // keep YYYY-MM-DD
                        let text: [u8; 10] = buf[at..].try_into().unwrap_or([b'?'; 10]);
                        last.set((v[i], text));
                    }
                }
            }
        }
    }
}

/// A CSV field as the `csv` crate writes one by default: quoted when it
/// holds a comma, a quote or a line break, its quotes doubled.
fn push_field(buf: &mut Vec<u8>, v: &[u8]) {
    if v.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.push(b'"');
        for &b in v {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(v);
    }
}

/// CSV with a header row; same columns and rows as the Parquet file.
/// Written row by row into a buffer, each cell straight from its array.
pub fn write_csv(rows: usize, frames: &Frames, mut w: impl Write) -> io::Result<()> {
    const FLUSH: usize = 1 << 20;
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH + 4096);
    for (i, range) in chunks(rows).enumerate() {
        let mut df = frames(range).map_err(io::Error::other)?;
        df.rechunk_mut_par();
        if i == 0 {
            for (k, name) in df.get_column_names().iter().enumerate() {
                if k > 0 {
                    buf.push(b',');
                }
                push_field(&mut buf, name.as_bytes());
            }
            buf.push(b'\n');
        }
        let columns: Vec<Option<Cells>> = df
            .columns()
            .iter()
            .map(Cells::of)
            .collect::<PolarsResult<_>>()
            .map_err(io::Error::other)?;
        let columns: Vec<Cells> = columns.into_iter().flatten().collect();
        if df.height() == 0 {
            continue;
        }
        for row in 0..df.height() {
            for (k, c) in columns.iter().enumerate() {
                if k > 0 {
                    buf.push(b',');
                }
                c.push(row, &mut buf);
            }
            buf.push(b'\n');
            if buf.len() >= FLUSH {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    w.write_all(&buf)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for bad in ["=1+1", "+41", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        assert_eq!(neutralise("alice"), "alice");
        assert_eq!(neutralise("a=b"), "a=b");
    }

    #[test]
    fn csv_cells_by_type() {
        let df = DataFrame::new(
            2,
            vec![
                Column::new("d".into(), vec![18_718i32, 0])
                    .cast(&DataType::Date)
                    .unwrap(),
                timestamps("t", vec![Some(1_617_264_000_000_001), None]).unwrap(),
                Column::new("r".into(), vec![Some(0.5f64), None]),
                Column::new("n".into(), vec!["=cmd", "x,y"]),
                Column::new("b".into(), vec![true, false]),
                Column::new("i".into(), vec![Some(-42i64), Some(0)]),
                Column::new("m".into(), vec![Some(i64::MIN), None]),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        write_csv(
            df.height(),
            &|r| Ok(df.slice(r.start as i64, r.len())),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "d,t,r,n,b,i,m\n2021-04-01,2021-04-01T08:00:00.000001Z,0.5,'=cmd,true,-42,-9223372036854775808\n1970-01-01,,,\"x,y\",false,0,\n"
        );
    }

    #[test]
    fn tables_over_one_chunk_are_written_whole() {
        // 2.3 chunks of rows: each file holds every row once, in order.
        let rows = 2 * CHUNK_ROWS + CHUNK_ROWS / 3;
        let frames = |r: Range<usize>| {
            df!(
                "i" => r.clone().map(|i| i as i64).collect::<Vec<_>>(),
                "s" => r.map(|i| format!("x{i}")).collect::<Vec<_>>(),
            )
        };
        let mut csv = Vec::new();
        write_csv(rows, &frames, &mut csv).unwrap();
        let mut want = String::from("i,s\n");
        for i in 0..rows {
            want.push_str(&format!("{i},x{i}\n"));
        }
        assert!(String::from_utf8(csv).unwrap() == want, "CSV rows differ");
        let mut parquet = Vec::new();
        write_parquet(rows, &frames, &mut parquet).unwrap();
        let back = ParquetReader::new(std::io::Cursor::new(parquet))
            .finish()
            .unwrap();
        assert!(back.equals(&frames(0..rows).unwrap()));
    }
}
