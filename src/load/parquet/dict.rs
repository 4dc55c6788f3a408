//! The name columns of a Parquet file as dictionary indices: most writers
//! store a text column's distinct values once per row group (a dictionary
//! page) and each row as an index into them. Reading the indices instead of
//! the strings skips a 16-byte view per row and name, and lets the check of
//! a row compare a few integers (see `assemble`).
//!
//! This is a shortcut, never a requirement: any column chunk that is not
//! dictionary encoded throughout (a writer may fall back to plain pages), is
//! not text, or is nested makes `read` answer `None`, and the batch's names
//! are read as strings the usual way.

use crate::load::columns::{Canon, ColumnMap};
use crate::load::names::NAMES;
use polars::prelude::{ArrowSchema, FileMetadataRef};
use polars_arrow::array::{Array, DictionaryArray};
use polars_arrow::datatypes::{ArrowDataType, Field, IntegerType, Metadata, DTYPE_CATEGORICAL_NEW};
use polars_buffer::Buffer;
use polars_parquet::read::{column_iter_to_arrays, BasicDecompressor, PageReader, PhysicalType};
use std::io::Cursor;
use std::os::unix::fs::FileExt;

/// Reads the name columns of rows `slice` (whole row groups) as dictionary
/// indices, or `None` where that does not apply (see the module's doc).
pub fn read(
    file: &std::fs::File,
    footer: &FileMetadataRef,
    schema: &ArrowSchema,
    map: &ColumnMap,
    slice: (usize, usize),
) -> Option<Vec<[DictionaryArray<u32>; 3]>> {
    if shares_a_source(map, &NAMES) {
        return None;
    }
    let fields: Vec<&Field> = NAMES
        .iter()
        .map(|&c| schema.get(map.source(c)))
        .collect::<Option<_>>()?;
    read_columns(file, footer, &fields, slice)?
        .into_iter()
        .map(|cols| <[DictionaryArray<u32>; 3]>::try_from(cols).ok())
        .collect()
}

/// The `app` and `url` columns (SPEC 13) the file has, per row group, as
/// dictionary indices (`None` for a column the file does not have); `None`
/// when it has neither or the shortcut does not apply.
pub type FocusGroups = Vec<[Option<DictionaryArray<u32>>; 2]>;

pub fn read_focus(
    file: &std::fs::File,
    footer: &FileMetadataRef,
    schema: &ArrowSchema,
    map: &ColumnMap,
    slice: (usize, usize),
) -> Option<FocusGroups> {
    if shares_a_source(map, &Canon::FOCUS) {
        return None;
    }
    let present: Vec<(usize, &Field)> = Canon::FOCUS
        .iter()
        .enumerate()
        .filter_map(|(i, &c)| schema.get(map.source(c)).map(|f| (i, f)))
        .collect();
    if present.is_empty() {
        return None;
    }
    let fields: Vec<&Field> = present.iter().map(|p| p.1).collect();
    let groups = read_columns(file, footer, &fields, slice)?;
    Some(
        groups
            .into_iter()
            .map(|cols| {
                let mut both: [Option<DictionaryArray<u32>>; 2] = [None, None];
                for ((i, _), col) in present.iter().zip(cols) {
                    both[*i] = Some(col);
                }
                both
            })
            .collect(),
    )
}

/// The `kind` column, per row group, as dictionary indices: a handful of
/// spellings, each parsed once (`convert::kind_of_groups`), where reading
/// the strings wrote a 16-byte view per row. `None` when the file has no
/// such column or the shortcut does not apply.
pub fn read_kind(
    file: &std::fs::File,
    footer: &FileMetadataRef,
    schema: &ArrowSchema,
    map: &ColumnMap,
    slice: (usize, usize),
) -> Option<Vec<DictionaryArray<u32>>> {
    if shares_a_source(map, &[Canon::Kind]) {
        return None;
    }
    let field = schema.get(map.source(Canon::Kind))?;
    read_columns(file, footer, &[field], slice)?
        .into_iter()
        .map(|cols| {
            <[DictionaryArray<u32>; 1]>::try_from(cols)
                .ok()
                .map(|[c]| c)
        })
        .collect()
}

/// Whether a column of `these` is also another canonical column's source
/// (then it is read as polars reads it, for both).
fn shares_a_source(map: &ColumnMap, these: &[Canon]) -> bool {
    Canon::ALL
        .iter()
        .filter(|c| !these.contains(c))
        .any(|&c| these.iter().any(|&n| map.source(n) == map.source(c)))
}

/// `fields` of rows `slice` (whole row groups), per row group, as
/// dictionary indices; `None` where that does not apply.
fn read_columns(
    file: &std::fs::File,
    footer: &FileMetadataRef,
    fields: &[&Field],
    slice: (usize, usize),
) -> Option<Vec<Vec<DictionaryArray<u32>>>> {
    if !fields
        .iter()
        .all(|f| matches!(f.dtype(), ArrowDataType::Utf8View))
    {
        return None;
    }
    let mut out = Vec::new();
    let (mut start, end) = (0usize, slice.0 + slice.1);
    for rg in &footer.row_groups {
        let rows = rg.num_rows();
        let rg_end = start + rows;
        if rg_end <= slice.0 {
            start = rg_end;
            continue;
        }
        if start >= end {
            break;
        }
        // Batches are whole row groups; anything else is not for this path.
        if start < slice.0 || rg_end > end {
            return None;
        }
        let mut cols = Vec::with_capacity(fields.len());
        for field in fields {
            let chunks: Vec<_> = rg.columns_under_root_iter(field.name.as_str())?.collect();
            let [meta] = chunks.as_slice() else {
                return None;
            };
            let leaf = &meta.descriptor().descriptor.primitive_type;
            // Without a dictionary page there is nothing to index (and the
            // decoder asks for one).
            if leaf.physical_type != PhysicalType::ByteArray
                || meta.dictionary_page_offset().is_none()
                || rows == 0
            {
                return None;
            }
            let range = meta.byte_range();
            // A corrupt footer may claim any size: never past the file's end.
            if range.start > range.end || range.end > file.metadata().ok()?.len() {
                return None;
            }
            let mut bytes = vec![0u8; (range.end - range.start) as usize];
            file.read_exact_at(&mut bytes, range.start).ok()?;
            let pages = PageReader::new(
                Cursor::new(Buffer::from_vec(bytes)),
                meta,
                Vec::new(),
                usize::MAX,
            );
            let mut md = Metadata::new();
            md.insert(DTYPE_CATEGORICAL_NEW.into(), "".into());
            let target = Field::new(
                field.name.clone(),
                ArrowDataType::Dictionary(
                    IntegerType::UInt32,
                    Box::new(ArrowDataType::Utf8View),
                    false,
                ),
                field.is_nullable,
            )
            .with_metadata(md);
            let (arrays, _) = column_iter_to_arrays(
                vec![BasicDecompressor::new(pages, Vec::new())],
                vec![leaf],
                target,
                None,
            )
            .ok()?;
            let [array] = <[Box<dyn Array>; 1]>::try_from(arrays).ok()?;
            let array = array.as_any().downcast_ref::<DictionaryArray<u32>>()?;
            if array.len() != rows {
                return None;
            }
            cols.push(array.clone());
        }
        out.push(cols);
        start = rg_end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::names::dict_values;
    use polars::prelude::*;

    /// Writes `df` with row groups of `rows` rows; returns its footer and schema.
    fn write(
        df: &mut DataFrame,
        rows: usize,
    ) -> (
        tempfile::TempDir,
        std::fs::File,
        FileMetadataRef,
        ArrowSchema,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.parquet");
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .with_row_group_size(Some(rows))
            .finish(df)
            .unwrap();
        let mut reader = ParquetReader::new(std::fs::File::open(&path).unwrap());
        let footer = reader.get_metadata().unwrap().clone();
        let schema = reader.schema().unwrap().as_ref().clone();
        (dir, std::fs::File::open(&path).unwrap(), footer, schema)
    }

    fn names(n: usize, guid: impl Fn(usize) -> String) -> DataFrame {
        let user: Vec<Option<String>> = (0..n)
            .map(|i| (i % 97 != 5).then(|| format!("user-{}", i % 3)))
            .collect();
        let guid: Vec<String> = (0..n).map(guid).collect();
        let client: Vec<String> = (0..n).map(|i| ["", " ", "ws-1"][i % 3].into()).collect();
        df!(
            "user_name" => user,
            "client_guid" => guid,
            "client_name" => client,
            "kind" => vec!["activity"; n],
        )
        .unwrap()
    }

    #[test]
    fn dictionary_pages_read_as_indices_of_each_row_group() {
        let mut df = names(1200, |i| format!("machine-guid-{:04}-abcdef", i % 10));
        let (_dir, file, footer, schema) = write(&mut df, 400);
        let map = ColumnMap::default();
        let groups = read(&file, &footer, &schema, &map, (0, 1200)).expect("dictionary encoded");
        assert_eq!(
            groups.iter().map(|g| g[0].len()).collect::<Vec<_>>(),
            [400; 3]
        );
        let mut row = 0;
        for g in &groups {
            for r in 0..g[0].len() {
                for (c, col) in NAMES.iter().zip(g) {
                    let want = df.column(c.name()).unwrap().str().unwrap().get(row + r);
                    let got = (!col.is_null(r))
                        .then(|| dict_values(col).value(col.keys().value(r) as usize));
                    assert_eq!(got, want, "row {} {c}", row + r);
                }
            }
            row += g[0].len();
        }
        // A batch of the middle row group alone; slices that cut a row
        // group are not for this path.
        let middle = read(&file, &footer, &schema, &map, (400, 400)).unwrap();
        assert_eq!(middle.len(), 1);
        assert!(read(&file, &footer, &schema, &map, (0, 500)).is_none());
        // A name column that is also the kind column is left to polars.
        let shared = ColumnMap::parse(&["client_name=kind"]).unwrap();
        assert!(read(&file, &footer, &schema, &shared, (0, 1200)).is_none());
    }

    /// Kinds read as dictionary indices are the kinds read as strings,
    /// nulls and a spelling that is no kind (a bad cell at its row) included.
    #[test]
    fn kinds_as_indices_equal_kinds_as_text() {
        use crate::load::convert::{kind_column, kind_of_groups};
        let spellings = [
            Some("activity"),
            Some("Idle"),
            None,
            Some("bogus"),
            Some("logout"),
        ];
        let kinds: Vec<Option<&str>> = (0..1000).map(|i| spellings[(i * 7 + i / 13) % 5]).collect();
        let mut df = names(1000, |i| format!("g{}", i % 4));
        df.with_column(Column::new("kind".into(), kinds.clone()))
            .unwrap();
        let (_dir, file, footer, schema) = write(&mut df, 300);
        let map = ColumnMap::default();
        let groups =
            read_kind(&file, &footer, &schema, &map, (0, 1000)).expect("dictionary encoded");
        assert!(groups.len() > 1, "several row groups");
        let series = Series::new("kind".into(), kinds);
        let want = kind_column(Some(&series), 1000).unwrap();
        let got = kind_of_groups(&groups);
        assert_eq!(got, want);
        let bogus: Vec<usize> = (0..1000).filter(|&i| (i * 7 + i / 13) % 5 == 3).collect();
        assert_eq!(got.1.iter().map(|b| b.row).collect::<Vec<_>>(), bogus);
        // A kind column that is also another column's source is left to polars.
        let shared = ColumnMap::parse(&["user_name=kind"]).unwrap();
        assert!(read_kind(&file, &footer, &schema, &shared, (0, 1000)).is_none());
    }

    #[test]
    fn a_row_group_of_plain_pages_declines_the_batch() {
        // Unique guids after row 400: the writer stores them plain.
        let mut df = names(1200, |i| {
            format!("machine-guid-{:04}", if i < 400 { i % 7 } else { i })
        });
        let (_dir, file, footer, schema) = write(&mut df, 400);
        let map = ColumnMap::default();
        assert!(read(&file, &footer, &schema, &map, (0, 400)).is_some());
        assert!(read(&file, &footer, &schema, &map, (0, 800)).is_none());
        assert!(read(&file, &footer, &schema, &map, (400, 400)).is_none());
    }
}
