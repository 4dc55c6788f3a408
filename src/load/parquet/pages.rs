//! The page headers of the column chunks a batch reads, checked before any
//! decoder sees them. A corrupt header can declare a negative or an
//! impossible count of values; polars' decoder then asks for that much
//! memory (a negative `num_values` becomes 2^61 bytes), and a failed
//! allocation aborts the process: it is not a panic, so no `catch_unwind`
//! can turn it into the batch's error. Only the headers are read, a few
//! dozen bytes per page.

use polars_parquet::read::RowGroupMetadata;
use polars_parquet_format::thrift::protocol::TCompactInputProtocol;
use polars_parquet_format::{PageHeader, PageType};
use std::fs::File;
use std::os::unix::fs::FileExt;

/// Bytes read for a header at first; more (up to `MAX_HEADER`) when a
/// header carries statistics that do not fit.
const FIRST_READ: usize = 256;
const MAX_HEADER: usize = 16 << 20;

/// Checks every page header of the chunks of `columns` (root names) in
/// `groups` (index, metadata): sizes that are not negative and stay inside
/// the chunk, value counts that are not negative and add up to what the
/// footer says the chunk holds. The error says which row group, column and
/// byte, and what is wrong.
pub fn check<'a>(
    file: &File,
    groups: impl Iterator<Item = (usize, &'a RowGroupMetadata)>,
    columns: &[String],
) -> Result<(), String> {
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    for (g, rg) in groups {
        let rows = rg.num_rows() as i64;
        for name in columns {
            let Some(chunks) = rg.columns_under_root_iter(name) else {
                continue;
            };
            for meta in chunks {
                let (total, range) = (meta.num_values(), meta.byte_range());
                let flat = meta.descriptor().descriptor.max_rep_level == 0;
                match flat && total != rows {
                    true => Err(format!(
                        "the footer says the chunk holds {total} values for {rows} rows"
                    )),
                    false => chunk(file, range.start, range.end.min(file_len), total),
                }
                .map_err(|why| format!("row group {g}, column {name:?}: {why}"))?;
            }
        }
    }
    Ok(())
}

/// The headers of one column chunk, `[pos, end)` of the file, which holds
/// `total` values.
fn chunk(file: &File, mut pos: u64, end: u64, total: i64) -> Result<(), String> {
    let mut seen = 0i64;
    while seen < total {
        if pos >= end {
            return Err(format!(
                "its pages end at byte {pos} after {seen} of its {total} values"
            ));
        }
        let (header, len) = header(file, pos, end)?;
        let bad = |what: String| Err(format!("the page header at byte {pos} {what}"));
        let (size, unpacked) = (header.compressed_page_size, header.uncompressed_page_size);
        if size < 0 || unpacked < 0 {
            return bad(format!("declares a negative size ({size}, {unpacked})"));
        }
        let body = pos + len as u64;
        if body + size as u64 > end {
            return bad(format!("declares {size} bytes past the end of its chunk"));
        }
        let values = match header.type_ {
            PageType::DATA_PAGE => match &header.data_page_header {
                Some(h) => h.num_values,
                None => return bad("is a data page without its header".into()),
            },
            PageType::DATA_PAGE_V2 => match &header.data_page_header_v2 {
                Some(h) => {
                    let levels = h.definition_levels_byte_length as i64
                        + h.repetition_levels_byte_length as i64;
                    if h.num_nulls < 0
                        || h.num_rows < 0
                        || h.num_nulls > h.num_values
                        || h.definition_levels_byte_length < 0
                        || h.repetition_levels_byte_length < 0
                        || levels > size as i64
                    {
                        return bad("declares impossible counts or level lengths".into());
                    }
                    h.num_values
                }
                None => return bad("is a data page without its header".into()),
            },
            PageType::DICTIONARY_PAGE => match &header.dictionary_page_header {
                // Every entry takes a byte at least.
                Some(h) if h.num_values < 0 || h.num_values > unpacked => {
                    return bad(format!(
                        "declares {} dictionary entries in {unpacked} bytes",
                        h.num_values
                    ));
                }
                Some(_) => 0,
                None => return bad("is a dictionary page without its header".into()),
            },
            _ => 0,
        };
        if values < 0 || seen + values as i64 > total {
            return bad(format!(
                "declares {values} values after {seen} of the chunk's {total}"
            ));
        }
        seen += values as i64;
        pos = body + size as u64;
    }
    Ok(())
}

/// The page header at `pos` and its length in bytes.
fn header(file: &File, pos: u64, end: u64) -> Result<(PageHeader, usize), String> {
    let avail = usize::try_from(end - pos).unwrap_or(usize::MAX);
    let mut want = FIRST_READ.min(avail);
    loop {
        let mut buf = vec![0u8; want];
        file.read_exact_at(&mut buf, pos)
            .map_err(|e| format!("reading the page header at byte {pos}: {e}"))?;
        let mut rest = buf.as_slice();
        let parsed = {
            let mut prot = TCompactInputProtocol::new(&mut rest, MAX_HEADER);
            PageHeader::read_from_in_protocol(&mut prot)
        };
        match parsed {
            Ok(h) => return Ok((h, want - rest.len())),
            // Perhaps cut short: read more, as far as the chunk goes.
            Err(_) if want < avail && want < MAX_HEADER => want = (want * 8).min(avail),
            Err(e) => return Err(format!("the page header at byte {pos} is unreadable: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;
    use polars_parquet_format::thrift::protocol::TCompactOutputProtocol;

    /// Three row groups of 1000 rows: a dictionary-encoded text column and
    /// a number column.
    fn written(dir: &tempfile::TempDir) -> (std::path::PathBuf, FileMetadataRef) {
        let path = dir.path().join("e.parquet");
        let mut df = df!(
            "user_name" => (0..3000).map(|i| format!("user-{}", i % 7)).collect::<Vec<_>>(),
            "timestamp" => (0..3000i64).map(|i| i * 1_000_003).collect::<Vec<_>>(),
        )
        .unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .with_row_group_size(Some(1000))
            .finish(&mut df)
            .unwrap();
        let footer = ParquetReader::new(File::open(&path).unwrap())
            .get_metadata()
            .unwrap()
            .clone();
        (path, footer)
    }

    /// Rewrites the first data page header of `column` in row group `g`
    /// with `edit`, keeping its length (so that the file stays in place).
    fn edit_first_data_page(
        path: &std::path::Path,
        footer: &FileMetadataRef,
        g: usize,
        column: &str,
        edit: impl Fn(&mut PageHeader),
    ) {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let meta = footer.row_groups[g]
            .columns_under_root_iter(column)
            .unwrap()
            .next()
            .unwrap();
        let (mut pos, end) = (meta.byte_range().start, meta.byte_range().end);
        loop {
            let (mut h, len) = header(&file, pos, end).unwrap();
            if h.type_ != PageType::DATA_PAGE {
                pos += len as u64 + h.compressed_page_size as u64;
                continue;
            }
            edit(&mut h);
            let mut bytes = Vec::new();
            h.write_to_out_protocol(&mut TCompactOutputProtocol::new(&mut bytes))
                .unwrap();
            assert_eq!(bytes.len(), len, "an edit that keeps the header's length");
            file.write_all_at(&bytes, pos).unwrap();
            return;
        }
    }

    /// `check` of both columns in the row groups of rows `slice`.
    fn check_rows(
        file: &File,
        footer: &FileMetadataRef,
        slice: (usize, usize),
    ) -> Result<(), String> {
        let columns = ["user_name".into(), "timestamp".into()];
        check(file, super::super::groups_of(footer, slice), &columns)
    }

    #[test]
    fn a_whole_file_passes() {
        let dir = tempfile::tempdir().unwrap();
        let (path, footer) = written(&dir);
        check_rows(&File::open(&path).unwrap(), &footer, (0, 3000)).unwrap();
    }

    #[test]
    fn a_negative_count_of_values_is_named_with_its_row_group_and_column() {
        for column in ["user_name", "timestamp"] {
            let dir = tempfile::tempdir().unwrap();
            let (path, footer) = written(&dir);
            edit_first_data_page(&path, &footer, 1, column, |h| {
                let v = h.data_page_header.as_mut().unwrap();
                v.num_values = -v.num_values;
            });
            let file = File::open(&path).unwrap();
            let err = check_rows(&file, &footer, (0, 3000)).unwrap_err();
            assert!(
                err.starts_with(&format!(
                    "row group 1, column {column:?}: the page header at byte"
                )) && err.contains("declares -1000 values after 0 of the chunk's 1000"),
                "{err}"
            );
            // Only the row groups of the batch are checked.
            check_rows(&file, &footer, (0, 1000)).unwrap();
            check_rows(&file, &footer, (2000, 1000)).unwrap();
        }
    }

    #[test]
    fn sizes_past_the_chunk_and_counts_over_the_footer_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (path, footer) = written(&dir);
        edit_first_data_page(&path, &footer, 0, "timestamp", |h| {
            h.compressed_page_size += 1; // its only data page
        });
        let err = check_rows(&File::open(&path).unwrap(), &footer, (0, 1000)).unwrap_err();
        assert!(err.contains("bytes past the end of its chunk"), "{err}");

        let (path, footer) = written(&dir);
        edit_first_data_page(&path, &footer, 2, "user_name", |h| {
            h.data_page_header.as_mut().unwrap().num_values += 1;
        });
        let err = check_rows(&File::open(&path).unwrap(), &footer, (0, 3000)).unwrap_err();
        assert!(
            err.starts_with("row group 2, column \"user_name\"")
                && err.contains("declares 1001 values after 0 of the chunk's 1000"),
            "{err}"
        );
    }
}
