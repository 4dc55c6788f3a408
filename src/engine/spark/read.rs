//! The inputs as Spark reads them: each file's path as Spark names it, its
//! columns mapped and typed, the zone rules and the calendar sent along.

use super::*;

/// The inputs as `ss_p`, read and parsed once (SPEC 15.1): rows Spark
/// keeps (in memory, spilling to its disks), which every later step reads.
/// Returns the number of empty lines in CSV files, which Spark's CSV reader
/// drops and the local reader counts as blank rows, and per file which
/// canonical columns it has (a bad row's record shows those) and how its
/// error lines name them.
pub(crate) fn load(spark: &Spark, job: &Query) -> Result<(u64, Vec<FileColumns>), LoadError> {
    let mut empty_lines = 0;
    let mut parts = Vec::new();
    let mut present = Vec::new();
    for (f, file) in job.files.iter().enumerate() {
        let view = format!("ss_in_{f}");
        let path = lit(&spark_path(file));
        let using = match file.format {
            Format::Parquet => format!("USING parquet OPTIONS (path {path})"),
            Format::Csv => format!(
                "USING csv OPTIONS (path {path}, header 'true', inferSchema 'false', escape '\"', multiLine 'true', mode 'PERMISSIVE', nullValue '\\u0000')"
            ),
            Format::Ndjson => format!("USING json OPTIONS (path {path}, multiLine 'false')"),
            Format::ActivityWatch => {
                return Err(LoadError::Engine(format!(
                    "{}: ActivityWatch exports are read on this machine only; run without --engine",
                    file.display()
                )))
            }
            Format::Evtx => {
                return Err(LoadError::Engine(format!(
                    "{}: Windows event logs are read on this machine only; run without --engine, or convert them to NDJSON first",
                    file.display()
                )))
            }
        };
        spark.exec(
            &format!("opening {}", file.display()),
            format!("CREATE OR REPLACE TEMPORARY VIEW {view} {using}"),
        )?;
        if file.format == Format::Csv {
            let [n] = spark.scalars(
                &format!("counting the empty lines of {}", file.display()),
                format!(
                    "SELECT CAST(count(*) AS BIGINT) AS n FROM text.`{}` WHERE value = ''",
                    spark_path(file).replace('`', "``")
                ),
                ["n"],
            )?;
            empty_lines += n.unwrap_or(0) as u64;
        }
        let v = view.clone();
        let schema = spark.wait(
            &format!("reading the columns of {}", file.display()),
            move |l| l.session.table(&v)?.schema(),
        )?;
        let (cols, labels) = columns(job.map, file, &schema)?;
        let blank = match (file.format, &schema) {
            (Format::Csv, DataType::Struct { fields }) if !fields.is_empty() => fields
                .iter()
                .map(|c| {
                    let c = sql::ident(std::slice::from_ref(&c.name));
                    format!("({c} IS NULL OR CAST({c} AS STRING) = '')")
                })
                .collect::<Vec<_>>()
                .join(" AND "),
            _ => "FALSE".into(),
        };
        present.push(FileColumns {
            present: cols.each_ref().map(Option::is_some),
            labels,
        });
        parts.push(sql::parsed_file(
            f,
            &view,
            &cols,
            &blank,
            job.keys,
            job.sessionize.is_some(),
        ));
    }
    let body = match parts.is_empty() {
        true => return Err(LoadError::Engine("no input files".into())),
        false => parts.join(" UNION ALL "),
    };
    spark.view("ss_read", &body)?;
    spark.keep("reading the inputs", "ss_p", "SELECT * FROM ss_read".into())?;
    Ok((empty_lines, present))
}

/// What one file has of the canonical columns (`Canon::ALL` order).
pub(crate) struct FileColumns {
    /// Whether the file has the column.
    pub present: [bool; Canon::ALL.len()],
    /// How an error line names the column: `user_id`, or `user.id
    /// (user_id)` when mapped, as the local reader names it.
    pub labels: [String; Canon::ALL.len()],
}

/// Each canonical column's source expression and type in one file.
pub(crate) type Sources = [Option<(String, Ty)>; Canon::ALL.len()];

/// The path Spark reads: a URI as given, a local file by its absolute path.
pub(crate) fn spark_path(file: &InputFile) -> String {
    let shown = file.display();
    if shown.contains("://") {
        return shown;
    }
    std::path::absolute(&file.path)
        .map(|p| p.display().to_string())
        .unwrap_or(shown)
}

/// Each canonical column's source expression and type in one file, as the
/// column map resolves them (hive partition values included), and each
/// column's label for error lines.
pub(crate) fn columns(
    map: &ColumnMap,
    file: &InputFile,
    schema: &DataType,
) -> Result<(Sources, [String; Canon::ALL.len()]), LoadError> {
    if !matches!(schema, DataType::Struct { .. }) {
        return Err(LoadError::Engine(format!(
            "{}: not a table",
            file.display()
        )));
    }
    // Nested NDJSON objects are found by dotted paths (SPEC 9.4): each
    // column as (name, expression, type).
    let mut found: Vec<(String, String, Ty)> = Vec::new();
    pub(crate) fn walk(
        prefix: &[String],
        dt: &DataType,
        nested: bool,
        out: &mut Vec<(String, String, Ty)>,
    ) {
        let DataType::Struct { fields } = dt else {
            return;
        };
        for f in fields {
            let mut path = prefix.to_vec();
            path.push(f.name.clone());
            match &f.data_type {
                DataType::Struct { .. } if nested => walk(&path, &f.data_type, nested, out),
                t => {
                    let name = match path.len() {
                        1 => path[0].clone(),
                        _ => path
                            .iter()
                            .map(|s| s.replace('.', "\\."))
                            .collect::<Vec<_>>()
                            .join("."),
                    };
                    out.push((name, sql::ident(&path), ty(t)));
                }
            }
        }
    }
    walk(&[], schema, file.format == Format::Ndjson, &mut found);
    // A hive partition value is a column unless the file has its own.
    for (k, v) in &file.hive {
        if !found.iter().any(|f| f.0 == *k) {
            found.push((k.clone(), lit(v), Ty::Text));
        }
    }
    let names: Vec<String> = found.iter().map(|f| f.0.clone()).collect();
    let map = map.resolve(&file.display(), &names)?;
    let mut out: Sources = Default::default();
    for c in Canon::ALL {
        let src = map.source(c);
        if let Some((_, expr, t)) = found.iter().find(|f| f.0 == src) {
            out[c as usize] = Some((expr.clone(), *t));
        }
    }
    Ok((out, Canon::ALL.map(|c| map.label(c))))
}

pub(crate) fn ty(t: &DataType) -> Ty {
    match t {
        DataType::Byte | DataType::Short | DataType::Integer | DataType::Long => Ty::Int,
        DataType::Float | DataType::Double => Ty::Float,
        DataType::Decimal { .. } => Ty::Decimal,
        DataType::String { .. } | DataType::Char { .. } | DataType::Varchar { .. } => Ty::Text,
        DataType::Timestamp => Ty::Instant,
        DataType::TimestampNtz => Ty::Wall,
        DataType::Date => Ty::Date,
        _ => Ty::Other,
    }
}

/// `ss_ev`: for a zone with changes, through the wall-clock segments of
/// the data's range, which this machine computes from its own zone rules.
pub(crate) fn resolve_zone(spark: &Spark, zone: &Zone) -> Result<(), LoadError> {
    let fixed = match zone {
        Zone::Fixed(o) => Some(i64::from(o.local_minus_utc())),
        Zone::Iana(_) => None,
    };
    if fixed.is_none() {
        let [lo, hi] = spark.scalars(
            "finding the range of local times",
            "SELECT min(wall) AS lo, max(wall) AS hi FROM ss_p WHERE utc IS NULL".into(),
            ["lo", "hi"],
        )?;
        let rows = match (lo, hi) {
            (Some(lo), Some(hi)) => calendar::zone_segments(zone, lo, hi),
            _ => Vec::new(),
        };
        upload(spark, "ss_zone", &["bucket", "lo", "hi", "off", "st"], rows)?;
    }
    spark.view("ss_ev", &sql::resolved(fixed, &zone_name(zone)))
}

pub(crate) fn zone_name(zone: &Zone) -> String {
    match zone {
        Zone::Iana(tz) => tz.name().to_string(),
        Zone::Fixed(o) => o.to_string(),
    }
}

/// Sends a small table of integers to Spark as a temporary view.
pub(crate) fn upload(
    spark: &Spark,
    name: &str,
    cols: &[&str],
    rows: Vec<Vec<i64>>,
) -> Result<(), LoadError> {
    use spark_connect::row::{Row, Value};
    use spark_connect::types::StructField;
    let fields: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    let schema = DataType::Struct {
        fields: cols
            .iter()
            .map(|c| StructField {
                name: c.to_string(),
                data_type: DataType::Long,
                nullable: false,
                metadata: Default::default(),
            })
            .collect(),
    };
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|r| Row::new(fields.clone(), r.into_iter().map(Value::Long).collect()))
        .collect();
    let name = name.to_string();
    spark.wait(&format!("sending {name}"), move |l| {
        l.session
            .create_dataframe(rows, schema)?
            .create_or_replace_temp_view(&name)
    })
}
