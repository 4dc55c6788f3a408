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

/// The chunks of a table of `rows` rows (one, empty, for none).
fn chunks(rows: usize) -> impl Iterator<Item = Range<usize>> {
    (0..rows.div_ceil(CHUNK_ROWS).max(1))
        .map(move |i| i * CHUNK_ROWS..((i + 1) * CHUNK_ROWS).min(rows))
}

/// Parquet with zstd, a row group per chunk of rows.
pub fn write_parquet(rows: usize, frames: &Frames, w: impl Write) -> PolarsResult<()> {
    let writer = ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(None))
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

/// One column, typed, for writing CSV cells without a string per cell.
enum Cells<'a> {
    Int(&'a Int64Chunked),
    Int32(&'a Int32Chunked),
    Bool(&'a BooleanChunked),
    Float(&'a Float64Chunked),
    Text(&'a StringChunked),
    Timestamp(&'a Int64Chunked),
    Date(&'a Int32Chunked),
}

impl<'a> Cells<'a> {
    fn of(c: &'a Column) -> PolarsResult<Cells<'a>> {
        let s = c.as_materialized_series();
        Ok(match s.dtype() {
            DataType::Int64 => Cells::Int(s.i64()?),
            DataType::Int32 => Cells::Int32(s.i32()?),
            DataType::Boolean => Cells::Bool(s.bool()?),
            DataType::Float64 => Cells::Float(s.f64()?),
            DataType::String => Cells::Text(s.str()?),
            DataType::Datetime(TimeUnit::Microseconds, _) => {
                Cells::Timestamp(s.datetime()?.physical())
            }
            DataType::Date => Cells::Date(s.date()?.physical()),
            other => polars_bail!(ComputeError: "no CSV encoding for {}", other),
        })
    }

    /// Appends row `i`'s cell to `buf`; a null is an empty cell.
    fn push(&self, i: usize, buf: &mut Vec<u8>) {
        match self {
            Cells::Int(c) => {
                if let Some(v) = c.get(i) {
                    push_digits(buf, v, 1);
                }
            }
            Cells::Int32(c) => {
                if let Some(v) = c.get(i) {
                    push_digits(buf, i64::from(v), 1);
                }
            }
            Cells::Bool(c) => {
                if let Some(v) = c.get(i) {
                    buf.extend_from_slice(if v { b"true" } else { b"false" });
                }
            }
            Cells::Float(c) => {
                if let Some(v) = c.get(i) {
                    let _ = write!(buf, "{v}");
                }
            }
            Cells::Text(c) => {
                if let Some(v) = c.get(i) {
                    buf.extend_from_slice(neutralise(v).as_bytes());
                }
            }
            Cells::Timestamp(c) => {
                if let Some(v) = c.get(i) {
                    push_wall_time(buf, v, b'T');
                    buf.push(b'Z');
                }
            }
            Cells::Date(c) => {
                if let Some(d) = c.get(i) {
                    push_wall_time(buf, i64::from(d) * US_PER_DAY, b' ');
                    buf.truncate(buf.len() - 16); // keep YYYY-MM-DD
                }
            }
        }
    }
}

/// CSV with a header row; same columns and rows as the Parquet file.
pub fn write_csv(rows: usize, frames: &Frames, w: impl Write) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let mut cell = Vec::with_capacity(64);
    for (i, range) in chunks(rows).enumerate() {
        let mut df = frames(range).map_err(io::Error::other)?;
        df.rechunk_mut_par();
        if i == 0 {
            out.write_record(df.get_column_names().iter().map(|n| n.as_str()))?;
        }
        let columns: Vec<Cells> = df
            .columns()
            .iter()
            .map(Cells::of)
            .collect::<PolarsResult<_>>()
            .map_err(io::Error::other)?;
        for row in 0..df.height() {
            for c in &columns {
                cell.clear();
                c.push(row, &mut cell);
                out.write_field(&cell)?;
            }
            out.write_record(std::iter::empty::<&[u8]>())?;
        }
    }
    out.flush()
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
