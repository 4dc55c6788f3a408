//! Which paths a run may write, checked before any data is read: never an
//! input, never a file that another output of the same run writes, never a
//! place inside the input set (the next run would read it as input), and
//! never a place the run replaces whole (a backfill's period folders). The
//! run's own files at fixed names (`OUT/summary.json`, `DIR/_backfill.json`,
//! the default rejects) pass the same checks as the paths given by flags.

use crate::error::usage;
use crate::load::inputs::{self, InputFile};
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
    /// The output folder of `report` or `backfill`.
    pub out: Option<Out<'a>>,
    /// `--ids`, if given: read and rewritten, so never another file of the run.
    pub ids: Option<&'a Path>,
}

/// An output folder and what the run does in it.
pub struct Out<'a> {
    pub dir: &'a Path,
    /// Whether the run writes or replaces this path (relative to `dir`);
    /// a period folder's every entry, since it is replaced whole.
    pub owns: &'a dyn Fn(&Path) -> bool,
    /// The files the run writes at fixed names (relative to `dir`), and
    /// one page of each `json/` folder: replaced, never written through,
    /// so none may be an input, a folder or the registry.
    pub files: Vec<PathBuf>,
    /// The folders the run puts in place (relative to `dir`): where one
    /// exists, it must be a folder, not a file or a link.
    pub folders: Vec<PathBuf>,
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
    if let Some(out) = &plan.out {
        check_out(plan, out, &is_input)?;
    }
    if let Some(ids) = plan.ids {
        let abs = absolute(ids);
        let clash = if let Some(input) = is_input(ids) {
            Some(format!("the input {}", input.display()))
        } else if let Some(spec) = inside_input(plan.specs, ids) {
            Some(format!(
                "inside the input {spec}: the next run would read the registry as events"
            ))
        } else if plan.rejects.is_some_and(|r| absolute(r) == abs) {
            Some("the rejects file".to_string())
        } else {
            plan.out.as_ref().and_then(|o| {
                let owned = abs.strip_prefix(absolute(o.dir)).is_ok_and(o.owns);
                let id = identity(ids);
                let linked = o
                    .files
                    .iter()
                    .map(|r| o.dir.join(r))
                    .find(|p| id.is_some() && identity(p) == id);
                match (owned, linked) {
                    (true, _) => Some(format!(
                        "a file that this run writes or replaces in {}",
                        o.dir.display()
                    )),
                    (false, Some(p)) => Some(format!(
                        "{} under another name, a file that this run replaces",
                        p.display()
                    )),
                    (false, None) => None,
                }
            })
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
    if let Some(spec) =
        inside_input(plan.specs, rejects).or_else(|| inside_input(plan.specs, &path))
    {
        return Err(usage(format!(
            "--rejects {} is inside the input {spec}: the next run would read the rejects as events",
            rejects.display()
        )));
    }
    if let Some(out) = &plan.out {
        if absolute(&path)
            .strip_prefix(absolute(out.dir))
            .is_ok_and(out.owns)
        {
            return Err(usage(format!(
                "--rejects {} is a file that this report writes (or replaces) in {}; choose another path",
                rejects.display(),
                out.dir.display()
            )));
        }
    }
    Ok(())
}

/// The output folder: not inside the input set, no input among what the
/// run replaces in it, and each of its own files free to be replaced.
fn check_out(
    plan: &Plan,
    out: &Out,
    is_input: &dyn Fn(&Path) -> Option<PathBuf>,
) -> anyhow::Result<()> {
    let shown = out.dir.display();
    if fs::metadata(out.dir).is_ok_and(|m| !m.is_dir()) {
        return Err(usage(format!(
            "--out {shown} is a file, not a folder; it was left as it is: choose a folder"
        )));
    }
    // Outputs in the input set would be read as events by the next run.
    for spec in plan.specs.iter().filter(|s| Path::new(s).is_dir()) {
        if absolute(out.dir).starts_with(absolute(Path::new(spec))) {
            return Err(usage(format!(
                "--out {shown} is inside the input folder {spec}: the next run would read the report as events"
            )));
        }
    }
    for rel in &out.files {
        if let Some(spec) = inside_input(plan.specs, &out.dir.join(rel)) {
            return Err(usage(format!(
                "--out {shown} is inside the input {spec}: the next run would read {} as events",
                out.dir.join(rel).display()
            )));
        }
    }
    // The run replaces what it owns in OUT: none of it may be an input.
    for f in plan.inputs {
        let abs = absolute(&f.path);
        if abs.strip_prefix(absolute(out.dir)).is_ok_and(out.owns) {
            return Err(usage(format!(
                "the input {} is a file that this report writes (or replaces) in {shown}; move it or choose another --out",
                f.path.display()
            )));
        }
    }
    for rel in &out.folders {
        let path = out.dir.join(rel);
        if fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
            return Err(usage(format!(
                "{} is not a folder (a file or a link) where this run puts a folder; it was left as it is: move it or choose another --out",
                path.display()
            )));
        }
    }
    for rel in &out.files {
        let path = out.dir.join(rel);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if let Some(input) = is_input(&path) {
            return Err(usage(format!(
                "{} is the input {} under another name; this run replaces {}: move it or choose another --out",
                path.display(),
                input.display(),
                path.display()
            )));
        }
        if meta.is_dir() {
            return Err(usage(format!(
                "{} is a folder where this run writes a file of that name; move it or choose another --out",
                path.display()
            )));
        }
    }
    Ok(())
}

/// The input that `path` lies in: a folder that holds it, or a glob that
/// matches it as the next run would expand the glob.
pub fn inside_input<'s>(specs: &'s [String], path: &Path) -> Option<&'s String> {
    let abs = absolute(path);
    let literal = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    specs.iter().find(|spec| {
        let p = Path::new(spec.as_str());
        if p.is_dir() {
            return abs.starts_with(absolute(p));
        }
        if !inputs::is_glob(spec) {
            return false;
        }
        // The glob and the path, each as given, made absolute, and with
        // links resolved (the glob's folder part, as `absolute` does).
        let (root, rest) = inputs::glob_split(spec);
        let lexical = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        [
            (PathBuf::from(spec.as_str()), path.to_path_buf()),
            (lexical(p), lexical(path)),
            (absolute(&root).join(rest), abs.clone()),
        ]
        .iter()
        .any(|(glob, path)| {
            glob::Pattern::new(&glob.to_string_lossy())
                .is_ok_and(|g| g.matches_path_with(path, literal))
        })
    })
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
