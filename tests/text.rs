//! Text logs are streamed in chunks of whole records: wherever the chunk
//! edges fall (`SESSIONSTAT_CHUNK_BYTES` puts them among a small file's
//! records), whatever the compression, the answer is the one of the same
//! log as Parquet, and every bad row is named as when the file is read in
//! one chunk.

use crate::util::{sessionstat, sessionstat_env, Dir};
use std::io::Write;

/// Chunk sizes: a few records, about one record, and the default.
const CHUNKS: [Option<&str>; 4] = [Some("1"), Some("97"), Some("4096"), None];

fn run(args: &[&str], chunk: Option<&str>) -> crate::util::Run {
    match chunk {
        Some(c) => sessionstat_env(args, &[("SESSIONSTAT_CHUNK_BYTES", c)]),
        None => sessionstat(args),
    }
}

/// A CSV field quoted as RFC 4180 says.
fn quoted(v: &str) -> String {
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// A generated log whose client names hold commas, quotes and line breaks
/// (so that records span lines), as CSV, and its rows as fields.
fn awkward_log(d: &Dir) -> (String, Vec<Vec<String>>) {
    let (header, records, rows) = awkward_records(d);
    (header + &records.concat(), rows)
}

/// `awkward_log` as its header line and records, each with its line break.
fn awkward_records(d: &Dir) -> (String, Vec<String>, Vec<Vec<String>>) {
    let lines = d.generated_lines("plain.csv");
    let header = lines[0].clone();
    let rows: Vec<Vec<String>> = lines[1..]
        .iter()
        .map(|l| {
            let mut f: Vec<String> = l.split(',').map(String::from).collect();
            f[4] = format!("{}, \"the\nsecond\" floor\r\nroom", f[4]);
            f
        })
        .collect();
    let records = rows
        .iter()
        .map(|f| {
            let cells: Vec<String> = f
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if i == 4 || i == 2 {
                        quoted(v)
                    } else {
                        v.clone()
                    }
                })
                .collect();
            cells.join(",") + "\r\n"
        })
        .collect();
    (format!("{header}\r\n"), records, rows)
}

fn ndjson(header: &[&str], rows: &[Vec<String>]) -> String {
    rows.iter()
        .map(|f| {
            let obj: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(f)
                .map(|(h, v)| (h.to_string(), serde_json::Value::String(v.clone())))
                .collect();
            serde_json::to_string(&obj).unwrap() + "\n"
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn every_text_copy_at_every_chunk_size_gives_the_parquet_answer() {
    let d = Dir::new();
    let (csv, rows) = awkward_log(&d);
    let header = [
        "session_id",
        "user_id",
        "user_name",
        "client_guid",
        "client_name",
        "timestamp",
        "kind",
    ];
    let json = ndjson(&header, &rows);
    let files = [
        d.write("log.csv", &csv),
        d.write("log.csv.gz", gzip(csv.as_bytes())),
        d.write("log.csv.zst", zstd::encode_all(csv.as_bytes(), 1).unwrap()),
        d.write("log.ndjson", &json),
        d.write("log.ndjson.gz", gzip(json.as_bytes())),
    ];
    // The Parquet copy, written by polars from the fields themselves.
    let parquet = d.path("log.parquet");
    {
        use polars::prelude::*;
        let cols: Vec<Column> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let v: Vec<&str> = rows.iter().map(|r| r[i].as_str()).collect();
                Column::new((*h).into(), v)
            })
            .collect();
        let mut df = DataFrame::new(rows.len(), cols).unwrap();
        ParquetWriter::new(std::fs::File::create(&parquet).unwrap())
            .finish(&mut df)
            .unwrap();
    }
    let args = |input: &str| -> Vec<String> {
        [
            "sessions",
            "--input",
            input,
            "--session-count",
            "1000",
            "--idle-after",
            "9m",
        ]
        .map(String::from)
        .to_vec()
    };
    let want = sessionstat(
        &args(parquet.to_str().unwrap())
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .ok();
    let v: serde_json::Value = serde_json::from_str(&want).unwrap();
    assert!(v["totalCount"].as_u64().unwrap() > 20, "{want:.300}");
    assert!(
        want.contains("second\\\" floor\\r\\nroom"),
        "names keep their line breaks"
    );
    for f in &files {
        for chunk in CHUNKS {
            let a = args(f);
            let got = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), chunk).ok();
            assert!(
                got == want,
                "{f} with chunks of {chunk:?} bytes differs from Parquet"
            );
        }
    }
}

/// A CSV with a bad row of every kind at spread lines, records over
/// several lines among them.
fn faulty_csv(d: &Dir) -> Vec<u8> {
    let (header, records, _) = awkward_records(d);
    let faults: [&[u8]; 9] = [
        b"9,9,ann,g,c,not a time,login\r\n",
        b"10,x7,ann,g,c,2021-03-26T10:00:00Z,login\r\n",
        b"11,7,ann,g,c,2021-03-26T10:00:00Z,sleep\r\n",
        b"12,7,al\"ice,g,c,2021-03-26T10:00:00Z,login\r\n",
        b"13,7,ann,g,c,2021-03-26T10:00:00Z,login,extra\r\n",
        b"14,7,\"open,g,c,2021-03-26T10:00:00Z,login\r\n",
        b"15,7,\xFF,g,c,2021-03-26T10:00:00Z,login\r\n",
        b"\r\n",
        b",,,,,,\r\n",
    ];
    let mut out = header.into_bytes();
    for (i, r) in records.iter().enumerate() {
        out.extend_from_slice(r.as_bytes());
        if i % 37 == 5 {
            out.extend_from_slice(faults[(i / 37) % faults.len()]);
        }
    }
    out
}

#[test]
fn bad_rows_are_named_alike_wherever_chunks_end() {
    let d = Dir::new();
    let csv = faulty_csv(&d);
    let plain = d.write("bad.csv", &csv);
    let packed = d.write("bad.csv.gz", gzip(&csv));
    let mut want: Option<(String, String)> = None;
    for f in [&plain, &packed] {
        for chunk in CHUNKS {
            let rejects = d.path("r.ndjson");
            let r = rejects.to_str().unwrap();
            let page = run(
                &[
                    "sessions",
                    "--input",
                    f,
                    "--max-bad-rows",
                    "1000",
                    "--rejects",
                    r,
                ],
                chunk,
            )
            .ok();
            // The rejects name the file: compare them with the name taken out.
            let rejected = std::fs::read_to_string(&rejects)
                .unwrap()
                .replace(f.as_str(), "F");
            let stopped = run(&["sessions", "--input", f], chunk)
                .fails(1)
                .replace(f.as_str(), "F");
            let got = (page + &rejected, stopped);
            match &want {
                None => {
                    assert!(rejected.lines().count() >= 8, "{rejected}");
                    assert!(got.1.contains("F:"), "{}", got.1);
                    want = Some(got);
                }
                Some(w) => assert!(
                    &got == w,
                    "{f} with chunks of {chunk:?}:\n{}\n{}",
                    got.1,
                    w.1
                ),
            }
        }
    }
}

#[test]
fn an_unclosed_quote_ends_at_its_line_however_far_the_file_goes() {
    // A quote that never closes: its record is its first line, and every
    // later record is read (no chunk swallows the rest of the file).
    let d = Dir::new();
    let lines = d.generated_lines("g.csv");
    let mut csv = lines[0].clone() + "\n";
    csv.push_str("1,7,\"ann,g,c,2021-03-26T10:00:00Z,login\n");
    for l in &lines[1..] {
        csv.push_str(l);
        csv.push('\n');
    }
    let f = d.write("q.csv", &csv);
    let whole = d.write("good.csv", lines.join("\n") + "\n");
    for chunk in CHUNKS {
        let err = run(&["sessions", "--input", &f], chunk).fails(1);
        assert!(
            err.contains("q.csv:2") && err.contains("unterminated quote"),
            "{err}"
        );
        let got = run(
            &[
                "sessions",
                "--input",
                &f,
                "--max-bad-rows",
                "1",
                "--rejects",
                "/dev/null",
            ],
            chunk,
        )
        .ok();
        assert_eq!(got, sessionstat(&["sessions", "--input", &whole]).ok());
    }
}
