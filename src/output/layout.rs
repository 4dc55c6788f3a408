//! The folders the runs write, by name: a report folder (SPEC 6.2) and a
//! backfill's dataset of report folders (SPEC 7), and which paths in each a
//! run owns. The guard checks them before any data is read; `report`
//! writes them.

use crate::output::guard::Out;
use crate::output::staging;
use std::path::{Path, PathBuf};

/// The files a report writes in its folder besides the pages; the last,
/// `rejects.ndjson`, only without `--rejects`.
pub const OWN_FILES: [&str; 21] = [
    "report.html",
    "sessions.parquet",
    "sessions.csv",
    "findings.parquet",
    "findings.csv",
    "daily_user.parquet",
    "daily_user.csv",
    "hourly_user.parquet",
    "hourly_user.csv",
    "productivity.json",
    "daily_client.parquet",
    "daily_client.csv",
    "apps.json",
    "urls.json",
    "daily_app.parquet",
    "daily_app.csv",
    "daily_site.parquet",
    "daily_site.csv",
    "ids.csv",
    "summary.json",
    "rejects.ndjson",
];

/// A report folder's own files: with its rejects (`rejects.ndjson`) when
/// they go in the folder, without when they go elsewhere.
pub fn report_files(rejects_in_folder: bool) -> &'static [&'static str] {
    if rejects_in_folder {
        &OWN_FILES
    } else {
        &OWN_FILES[..OWN_FILES.len() - 1]
    }
}

/// The files a report writes in `folder` (relative to its output folder):
/// `own`, and the first page of `json/`, which stands for them all.
pub fn folder_files(own: &[&str], folder: &Path) -> Vec<PathBuf> {
    own.iter()
        .map(|name| folder.join(name))
        .chain([folder.join("json/page-00000.json")])
        .collect()
}

fn owned_with_rejects(rel: &Path) -> bool {
    staging::owns(report_files(true), rel)
}

fn owned_without_rejects(rel: &Path) -> bool {
    staging::owns(report_files(false), rel)
}

/// What a report run writes in `dir`, for the guard.
pub fn report_out(dir: &Path, rejects_in_folder: bool) -> Out<'_> {
    Out {
        dir,
        owns: match rejects_in_folder {
            true => &owned_with_rejects,
            false => &owned_without_rejects,
        },
        files: folder_files(report_files(rejects_in_folder), Path::new("")),
        folders: vec!["json".into()],
    }
}

/// A dataset's manifest.
pub const MANIFEST: &str = "_backfill.json";
/// Where a backfill's skipped rows go, once for all periods.
pub const REJECTS: &str = "_rejects.ndjson";
/// How a period folder being built is named, beside the dataset's periods.
pub const BUILDING_PREFIX: &str = ".period-";

/// What a backfill writes in `dir`, for the guard: its manifest, its
/// rejects (`rejects_in_folder`), and the period folders `folders`
/// (`day=…`), each a report folder without rejects, replaced whole.
pub fn dataset_out(dir: &Path, folders: Vec<PathBuf>, rejects_in_folder: bool) -> Out<'_> {
    let mut files: Vec<PathBuf> = vec![MANIFEST.into()];
    if rejects_in_folder {
        files.push(REJECTS.into());
    }
    if let Some(first) = folders.first() {
        files.extend(folder_files(report_files(false), first));
    }
    Out {
        dir,
        owns: &dataset_owns,
        files,
        folders,
    }
}

/// What a backfill writes or replaces in its folder: its manifest and
/// rejects, and every `key=DATE/` period folder with all that is in it.
fn dataset_owns(rel: &Path) -> bool {
    let mut parts = rel.components();
    let Some(first) = parts.next() else {
        return false;
    };
    let first = first.as_os_str().to_string_lossy();
    let top = parts.as_path().as_os_str().is_empty();
    // A period folder is replaced whole: whatever lies in it goes.
    is_period_folder(&first) || (top && (first == MANIFEST || first == REJECTS))
}

/// `day=2024-03-31`, `week=…`, `month=…`.
fn is_period_folder(name: &str) -> bool {
    ["day=", "week=", "month="]
        .iter()
        .any(|k| name.strip_prefix(k).is_some_and(|d| d.len() == 10))
}
