//! Which paths a run may write, checked before any data is read: never an
//! input, never a file that another output of the same run writes, never a
//! place inside the input set (the next run would read it as input).

use crate::error::usage;
use crate::load::inputs::InputFile;
use crate::output::atomic::{kind_of, Target};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What one run reads and writes.
pub struct Plan<'a> {
    /// The `--input` values as given.
    pub specs: &'a [String],
    /// The files they name.
    pub inputs: &'a [InputFile],
    /// `--rejects`, if given.
    pub rejects: Option<&'a Path>,
    /// `report`'s output folder, and which of its entries the run writes.
    pub out: Option<(&'a Path, &'a dyn Fn(&Path) -> bool)>,
    /// `--ids`, if given: read and rewritten, so never another file of the run.
    pub ids: Option<&'a Path>,
}

/// Checks the plan: every conflict is a usage error naming both paths.
pub fn check(plan: &Plan) -> anyhow::Result<()> {
    let inputs: Vec<(PathBuf, Option<(u64, u64)>)> = plan
        .inputs
        .iter()
        .map(|f| (absolute(&f.path), identity(&f.path)))
        .collect();
    let is_input = |p: &Path| {
        let (abs, id) = (absolute(p), identity(p));
        inputs
            .iter()
            .find(|(a, i)| *a == abs || (id.is_some() && *i == id))
            .map(|(a, _)| a.clone())
    };
    if let Some((out, owns)) = plan.out {
        // Outputs in an input folder would be read as events by the next run.
        for spec in plan.specs.iter().filter(|s| Path::new(s).is_dir()) {
            if absolute(out).starts_with(absolute(Path::new(spec))) {
                return Err(usage(format!(
                    "--out {} is inside the input folder {spec}: the next run would read the report as events",
                    out.display()
                )));
            }
        }
        // The run replaces what it owns in OUT: none of it may be an input.
        for f in plan.inputs {
            let abs = absolute(&f.path);
            if let Ok(rel) = abs.strip_prefix(absolute(out)) {
                if owns(rel) {
                    return Err(usage(format!(
                        "the input {} is a file that this report writes in {}; move it or choose another --out",
                        f.path.display(),
                        out.display()
                    )));
                }
            }
        }
    }
    if let Some(ids) = plan.ids {
        let abs = absolute(ids);
        let clash = if let Some(input) = is_input(ids) {
            Some(format!("the input {}", input.display()))
        } else if plan.rejects.is_some_and(|r| absolute(r) == abs) {
            Some("the rejects file".to_string())
        } else {
            plan.out
                .filter(|(out, owns)| abs.strip_prefix(absolute(out)).is_ok_and(owns))
                .map(|(out, _)| format!("a file that this run writes in {}", out.display()))
        };
        if let Some(clash) = clash {
            return Err(usage(format!(
                "--ids {} is {clash}; the id registry needs a file of its own",
                ids.display()
            )));
        }
    }
    let Some(rejects) = plan.rejects else {
        return Ok(());
    };
    let path = match kind_of(rejects) {
        Ok(Target::Regular(path)) => path,
        Ok(Target::Stdout | Target::Special) => return Ok(()),
        Err(e) => return Err(usage(format!("--rejects {}: {e}", rejects.display()))),
    };
    if let Some(input) = is_input(&path) {
        return Err(usage(format!(
            "--rejects {} is the input {}: the rejects would replace the data they come from",
            rejects.display(),
            input.display()
        )));
    }
    let abs = absolute(&path);
    for spec in plan.specs {
        let inside = if Path::new(spec).is_dir() {
            abs.starts_with(absolute(Path::new(spec)))
        } else {
            let spec_abs = std::path::absolute(spec).unwrap_or_else(|_| PathBuf::from(spec));
            [spec_abs.to_string_lossy().as_ref(), spec.as_str()]
                .iter()
                .filter_map(|s| glob::Pattern::new(s).ok())
                .any(|g| g.matches_path(rejects) || g.matches_path(&path) || g.matches_path(&abs))
        };
        if inside {
            return Err(usage(format!(
                "--rejects {} is inside the input {spec}: the next run would read the rejects as events",
                rejects.display()
            )));
        }
    }
    if let Some((out, owns)) = plan.out {
        if abs.strip_prefix(absolute(out)).is_ok_and(owns) {
            return Err(usage(format!(
                "--rejects {} is a file that this report writes in {}; choose another path",
                rejects.display(),
                out.display()
            )));
        }
    }
    Ok(())
}

/// A path made absolute and, as far as it exists, free of links and `..`.
pub fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = fs::canonicalize(p) {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    // The folder may exist where the file does not yet.
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => absolute(dir).join(name),
        _ => abs,
    }
}

/// Device and inode of an existing file: the same file under any name.
fn identity(p: &Path) -> Option<(u64, u64)> {
    fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::inputs::Format;

    fn input(p: &Path) -> InputFile {
        InputFile {
            path: p.to_path_buf(),
            format: Format::Csv,
            hive: Vec::new(),
        }
    }

    #[test]
    fn the_same_file_under_other_names_is_found() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("log.csv");
        fs::write(&log, "x").unwrap();
        fs::create_dir(d.path().join("sub")).unwrap();
        let hard = d.path().join("hard.csv");
        fs::hard_link(&log, &hard).unwrap();
        let specs = [log.display().to_string()];
        let inputs = [input(&log)];
        for rejects in [
            log.clone(),
            d.path().join("sub/../log.csv"),
            d.path().join("./log.csv"),
            hard,
        ] {
            let plan = Plan {
                specs: &specs,
                inputs: &inputs,
                rejects: Some(&rejects),
                out: None,
                ids: None,
            };
            let e = check(&plan).unwrap_err().to_string();
            assert!(e.contains("is the input"), "{}: {e}", rejects.display());
        }
        let other = d.path().join("rejects.ndjson");
        let plan = Plan {
            specs: &specs,
            inputs: &inputs,
            rejects: Some(&other),
            out: None,
            ids: None,
        };
        assert!(check(&plan).is_ok());
    }
}
