//! Files that appear whole or not at all (SPEC 6.2): write to a hidden
//! temporary name in the target's folder, flush to disk, then rename.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written; `commit` renames it into place, dropping it
/// without `commit` removes the temporary file.
pub struct AtomicFile {
    tmp: PathBuf,
    target: PathBuf,
    writer: Option<BufWriter<fs::File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> io::Result<Self> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::other(format!("{} is not a file path", target.display())))?;
        let tmp = temp_name(dir, &name.to_string_lossy(), std::process::id());
        let file = create_fresh(&tmp)?;
        Ok(AtomicFile {
            tmp,
            target: target.to_path_buf(),
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<fs::File> {
        self.writer.as_mut().expect("not yet committed")
    }

    pub fn commit(mut self) -> io::Result<()> {
        let w = self.writer.take().expect("committed once");
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.target)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The temporary name of `name` in `dir` for process `pid`.
fn temp_name(dir: &Path, name: &str, pid: u32) -> PathBuf {
    dir.join(format!(".{name}.tmp-{pid}"))
}

/// Creates a new file at `path` for this process alone: whatever a killed
/// run of the same process id left there is removed first (a link as a
/// link, never what it names), and the file is created exclusively, so a
/// link or file planted in between fails instead of being written through.
pub fn create_fresh(path: &Path) -> io::Result<fs::File> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Removes the temporary files of `target` (`.NAME.tmp-PID`) that runs
/// killed while writing it left: those of a process that is gone, or of
/// this one. Nothing else is touched. It reads the whole folder, so it is
/// called once per target and run (`write_atomic` does).
pub fn remove_stale_temps(target: &Path) -> io::Result<()> {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return Ok(());
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let regular = entry
            .file_type()
            .is_ok_and(|t| t.is_file() || t.is_symlink());
        if regular && (pid == std::process::id() || !process_alive(pid)) {
            match fs::remove_file(entry.path()) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Whether a process with this id exists (one of another user's counts).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only asks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Writes one of the tool's own files (a backfill's manifest and rejects)
/// whole: whatever is at `target` is replaced, a link included, and never
/// written through. A folder there is an error. Killed runs' temporary
/// files are the caller's to remove (`remove_stale_temps`), once: the
/// manifest is rewritten after every period.
pub fn replace_atomic(
    target: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    if fs::symlink_metadata(target).is_ok_and(|m| m.is_dir()) {
        return Err(io::Error::other(format!(
            "{} is a folder, not a file",
            target.display()
        )));
    }
    let mut file = AtomicFile::create(target)?;
    f(&mut file)?;
    file.commit()
}

/// Writes a whole file atomically from a closure. A target that is not a
/// regular file (a FIFO, a device such as /dev/stdout, `-` for stdout) is
/// written to in place, never replaced (SPEC 6.2); a symbolic link is
/// followed, so the file it points to is replaced and the link stays.
pub fn write_atomic(
    target: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    match kind_of(target)? {
        Target::Stdout => {
            let mut out = io::stdout().lock();
            f(&mut out)?;
            out.flush()
        }
        Target::Special => {
            let mut w = BufWriter::new(fs::OpenOptions::new().write(true).open(target)?);
            f(&mut w)?;
            w.flush()
        }
        Target::Regular(path) => {
            remove_stale_temps(&path)?;
            let mut file = AtomicFile::create(&path)?;
            f(&mut file)?;
            file.commit()
        }
    }
}

/// Where `write_atomic` puts its bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// `-`.
    Stdout,
    /// An existing FIFO, device or socket: written in place.
    Special,
    /// A regular file, existing or not (a link resolved to what it names).
    Regular(PathBuf),
}

/// Tells what a target path is, following symbolic links.
pub fn kind_of(target: &Path) -> io::Result<Target> {
    if target.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    match fs::metadata(target) {
        Ok(m) if !m.is_file() && !m.is_dir() => Ok(Target::Special),
        Ok(m) if m.is_dir() => Err(io::Error::other(format!(
            "{} is a folder, not a file",
            target.display()
        ))),
        Ok(_) => Ok(Target::Regular(fs::canonicalize(target)?)),
        // A link to nothing yet: create what it points to.
        Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::read_link(target) {
            Ok(to) => Ok(Target::Regular(match target.parent() {
                Some(dir) => dir.join(to),
                None => to,
            })),
            Err(_) => Ok(Target::Regular(target.to_path_buf())),
        },
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.json");
        fs::write(&target, "old").unwrap();
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"new").unwrap();
            // dropped without commit: the old file stays, no temporary is left
        }
        assert_eq!(fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&target, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn only_the_temporary_files_of_dead_runs_of_the_target_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ids.parquet");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let removed = [
            format!(".ids.parquet.tmp-{dead}"),
            format!(".ids.parquet.tmp-{}", std::process::id()),
        ];
        let kept = [
            ".ids.parquet.tmp-1".to_string(), // init is alive
            format!(".other.tmp-{dead}"),
            format!("ids.parquet.tmp-{dead}"),
            ".ids.parquet.tmp-x".to_string(),
        ];
        for name in removed.iter().chain(&kept) {
            fs::write(dir.path().join(name), "left").unwrap();
        }
        fs::create_dir(dir.path().join(format!(".ids.parquet.tmp-{}", dead + 1))).unwrap();
        remove_stale_temps(&target).unwrap();
        for name in &removed {
            assert!(!dir.path().join(name).exists(), "{name}");
        }
        for name in &kept {
            assert!(dir.path().join(name).exists(), "{name}");
        }
        assert!(dir
            .path()
            .join(format!(".ids.parquet.tmp-{}", dead + 1))
            .is_dir());
    }

    #[test]
    fn a_link_is_followed_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.ndjson");
        let link = dir.path().join("link.ndjson");
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, |w| w.write_all(b"new")).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn a_fifo_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
        };
        write_atomic(&fifo, |w| w.write_all(b"through the pipe")).unwrap();
        assert_eq!(reader.join().unwrap(), "through the pipe");
        assert!(
            !fs::metadata(&fifo).unwrap().is_file(),
            "the FIFO was replaced"
        );
    }
}
