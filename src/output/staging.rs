//! The report transaction: a run's files are built in a hidden staging
//! folder inside the output folder, each flushed to disk, and only then
//! renamed into place, the `json` folder swapped whole. A run owns only what
//! it writes: its lock, its staging folder, its named files and the
//! `json/page-*.json` pages. Anything else in the folder, `json/` included,
//! is left as it was (SPEC 6.2).
//!
//! One run at a time: a lock file holding the writer's PID is created
//! atomically and removed when the run ends, whether it succeeds or fails.
//! A lock whose process is gone is stale and taken over, with the staging
//! folder that run left. A run that fails leaves the folder as it found it.

use crate::output::atomic::{create_fresh, process_alive};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// The lock file's name in the output folder.
pub const LOCK: &str = ".sessionstat.lock";
const STAGING_PREFIX: &str = ".staging-";
const OLD_JSON_PREFIX: &str = ".json-old-";

/// True for a path (relative to the output folder) that `report` writes:
/// one of `files`, or a page in `json/`.
pub fn owns(files: &[&str], rel: &Path) -> bool {
    let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, _) => files.contains(&name.as_ref()),
        (Some(dir), Some(name), None) => dir == "json" && is_page(&name),
        _ => false,
    }
}

/// `page-00000.json` and its like: the pages a report writes.
fn is_page(name: &str) -> bool {
    name.strip_prefix("page-")
        .and_then(|n| n.strip_suffix(".json"))
        .is_some_and(|n| n.len() >= 5 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A run's hold on an output folder, and the folder where its files are built.
pub struct Staging {
    out: PathBuf,
    pub dir: PathBuf,
    lock: PathBuf,
    /// Folders this run created, outermost first: removed again if it fails.
    created: Vec<PathBuf>,
    committed: bool,
    syncer: Syncer,
}

/// Flushes staged files to disk on a thread of its own, so that the
/// threads computing and writing the next files never wait for the disk
/// (a 10M-event report's 73 files waited some 70 ms in all, a core idle
/// each time). `finish` waits for the last one and gives the first error.
struct Syncer {
    files: Option<mpsc::Sender<(PathBuf, fs::File)>>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Syncer {
    fn start() -> Result<Syncer> {
        let (files, rx) = mpsc::channel::<(PathBuf, fs::File)>();
        let thread = std::thread::Builder::new()
            .name("sessionstat-sync".into())
            .spawn(move || {
                // After a failure the rest are not flushed: the run fails.
                for (path, file) in rx {
                    file.sync_all()
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
                Ok(())
            })
            .context("cannot start a thread")?;
        Ok(Syncer {
            files: Some(files),
            thread: Some(thread),
        })
    }

    /// Hands a written file over to be flushed.
    fn sync(&self, path: PathBuf, file: fs::File) -> Result<()> {
        let files = self.files.as_ref().expect("not finished");
        if let Err(mpsc::SendError((path, file))) = files.send((path, file)) {
            // The thread stopped at an error, which `finish` gives; this
            // file is flushed here.
            file.sync_all()
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }

    /// Waits until every file handed over is on disk.
    fn finish(&mut self) -> Result<()> {
        drop(self.files.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => bail!("the thread flushing files to disk stopped"),
            None => Ok(()),
        }
    }
}

impl Staging {
    /// Takes the folder's lock (creating the folder if needed), cleans up
    /// after runs that were killed, and makes this run's staging folder.
    pub fn create(out: &Path) -> Result<Staging> {
        let created = create_dirs(out)
            .with_context(|| format!("cannot create the output folder {}", out.display()))?;
        let mut staging = Staging {
            out: out.to_path_buf(),
            dir: out.join(format!("{STAGING_PREFIX}{}", std::process::id())),
            lock: out.join(LOCK),
            created,
            committed: false,
            syncer: Syncer::start()?,
        };
        if let Err(e) = acquire(&staging.lock, out) {
            staging.lock = PathBuf::new(); // not ours: Drop leaves it
            return Err(e);
        }
        recover(out)
            .with_context(|| format!("cannot clean up after a killed run in {}", out.display()))?;
        fs::create_dir(&staging.dir)
            .with_context(|| format!("cannot write in {}", out.display()))?;
        fs::create_dir(staging.dir.join("json"))?;
        Ok(staging)
    }

    /// Writes one staged file and hands it over to be flushed to disk
    /// (before `commit` renames anything).
    pub fn write(
        &self,
        name: &str,
        f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<()> {
        let path = self.dir.join(name);
        let file =
            fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, EarlyWriteback::new(file));
        f(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
        let file = w.into_inner().map_err(|e| e.into_error())?.file;
        self.syncer.sync(path, file)
    }

    /// Renames every staged file into place and swaps in the new `json`
    /// folder, which first takes links to every file of the old one that
    /// is not a page; returns the number of files written.
    pub fn commit(mut self) -> Result<usize> {
        self.syncer.finish()?;
        let json = self.out.join("json");
        let staged_json = self.dir.join("json");
        match fs::symlink_metadata(&json) {
            Ok(m) if !m.is_dir() => bail!(
                "{} is not a folder; report writes its pages there",
                json.display()
            ),
            Ok(_) => keep_foreign(&json, &staged_json)
                .with_context(|| format!("cannot keep the other files of {}", json.display()))?,
            Err(_) => {}
        }
        let pages = fs::read_dir(&staged_json)
            .with_context(|| format!("cannot read {}", staged_json.display()))?
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| is_page(&e.file_name().to_string_lossy()))
            })
            .count();
        let mut names: Vec<_> = fs::read_dir(&self.dir)
            .and_then(|d| d.collect::<io::Result<Vec<_>>>())
            .with_context(|| format!("cannot read {}", self.dir.display()))?;
        names.sort_by_key(|e| e.file_name());
        // A file renamed over is freed then (some 10 ms for a 50 MB one on
        // ext4), on the thread renaming: both cores share that work.
        let files: Vec<&fs::DirEntry> = names.iter().filter(|e| e.path().is_file()).collect();
        files.par_iter().try_for_each(|e| {
            let to = self.out.join(e.file_name());
            fs::rename(e.path(), &to)
                .with_context(|| format!("cannot move {} into place", to.display()))
        })?;
        let count = pages + files.len();
        // Swap the folders in one step where the file system can, so that a
        // kill at any moment leaves one run's json/ in place; else move the
        // old one aside first (a killed run's is put back by `recover`).
        let swapped = json.exists() && exchange(&staged_json, &json).is_ok();
        if !swapped {
            let old = self
                .out
                .join(format!("{OLD_JSON_PREFIX}{}", std::process::id()));
            if json.exists() {
                fs::rename(&json, &old)
                    .with_context(|| format!("cannot move {} aside", json.display()))?;
            }
            fs::rename(&staged_json, &json)
                .with_context(|| format!("cannot move the new pages into {}", json.display()))?;
            if old.exists() {
                // Its other files live on as links in the new folder.
                remove_all(&old).with_context(|| format!("cannot remove {}", old.display()))?;
            }
        }
        self.committed = true;
        // The staging folder now holds the previous pages.
        remove_all(&self.dir.join("json"))
            .and_then(|()| fs::remove_dir_all(&self.dir))
            .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        sync_dir(&self.out);
        Ok(count)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // No flush outlives the run (its error is moot: nothing is moved).
        let _ = self.syncer.finish();
        // On an error the staged files go; the previous outputs stay.
        if self.dir.exists() {
            let _ = fs::remove_dir_all(&self.dir);
        }
        if !self.lock.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.lock);
        }
        if !self.committed {
            for dir in self.created.iter().rev() {
                let _ = fs::remove_dir(dir); // only if empty
            }
        }
    }
}

/// A file that asks the kernel to start writing each few MiB to disk as
/// soon as they are written: the flush before the commit then waits for
/// the last few only. A report's largest files (50 MB of productivity.json
/// at 10M events) are written last, and their flush was most of the wait.
struct EarlyWriteback {
    file: fs::File,
    /// Bytes written, and up to where writing back was asked for.
    written: u64,
    started: u64,
}

impl EarlyWriteback {
    /// Writing back is asked for every this many bytes.
    const STEP: u64 = 8 << 20;

    fn new(file: fs::File) -> Self {
        EarlyWriteback {
            file,
            written: 0,
            started: 0,
        }
    }
}

impl Write for EarlyWriteback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= Self::STEP {
            #[cfg(target_os = "linux")]
            {
                use std::os::fd::AsRawFd;
                let (from, len) = (self.started as i64, (self.written - self.started) as i64);
                // SAFETY: an open file's descriptor; the call only starts
                // writing those pages back (its failure is the flush's to report).
                unsafe {
                    libc::sync_file_range(
                        self.file.as_raw_fd(),
                        from,
                        len,
                        libc::SYNC_FILE_RANGE_WRITE,
                    )
                };
            }
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// `remove_dir_all`, with the files directly in `dir` removed in parallel
/// first (freeing them is the work).
fn remove_all(dir: &Path) -> io::Result<()> {
    let files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(d) => d
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    files.par_iter().try_for_each(fs::remove_file)?;
    fs::remove_dir_all(dir)
}

/// `create_dir_all`, returning the folders it created, outermost first.
fn create_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    missing.reverse();
    fs::create_dir_all(dir)?;
    Ok(missing)
}

/// Creates the lock file with this process's PID in one step (a link to a
/// file already written), so another run never sees it empty. A lock whose
/// process is gone is removed and taken.
fn acquire(lock: &Path, out: &Path) -> Result<()> {
    let me = std::process::id();
    let tmp = out.join(format!("{LOCK}.{me}"));
    create_fresh(&tmp)
        .and_then(|mut f| f.write_all(format!("{me}\n").as_bytes()))
        .with_context(|| format!("cannot write in {}", out.display()))?;
    let result = (|| {
        for _ in 0..3 {
            match fs::hard_link(&tmp, lock) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    refuse_if_locked(out)?;
                    // Stale: its run was killed. Take it over.
                    match fs::remove_file(lock) {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => {
                            return Err(e).with_context(|| {
                                format!("cannot remove the stale lock {}", lock.display())
                            })
                        }
                        _ => {}
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("cannot lock {}", out.display())),
            }
        }
        bail!("cannot lock {}: other runs keep taking it", out.display())
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// Fails, naming the folder and the PID, while another live run holds the
/// folder's lock: `report` asks before it reads anything, so a second run
/// is told at once, and again when it takes the lock.
pub fn refuse_if_locked(out: &Path) -> Result<()> {
    let lock = out.join(LOCK);
    let holder = fs::read_to_string(&lock)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok());
    match holder {
        Some(pid) if pid != std::process::id() && process_alive(pid) => bail!(
            "another sessionstat run (pid {pid}) is writing the report folder {}; wait until it ends (if none is running, remove {})",
            out.display(),
            lock.display()
        ),
        _ => Ok(()),
    }
}

/// Exchanges two paths atomically (Linux `renameat2` with RENAME_EXCHANGE).
pub(crate) fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two valid NUL-terminated paths, relative to the working folder.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Cleans up after runs that were killed (their PID is gone): puts back a
/// `json` folder moved aside but not replaced, removes their staging
/// folders and lock leftovers. A live run's folders are left alone.
fn recover(out: &Path) -> Result<()> {
    let json = out.join("json");
    let me = std::process::id();
    let dead = |rest: &str| {
        rest.parse::<u32>()
            .is_ok_and(|pid| pid == me || !process_alive(pid))
    };
    for e in fs::read_dir(out)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix(OLD_JSON_PREFIX).filter(|r| dead(r)) {
            let _ = rest;
            if json.exists() {
                fs::remove_dir_all(e.path())?;
            } else {
                fs::rename(e.path(), &json)?;
            }
        } else if name.strip_prefix(STAGING_PREFIX).is_some_and(dead)
            && e.file_type().is_ok_and(|t| t.is_dir())
        {
            fs::remove_dir_all(e.path())?;
        } else if name
            .strip_prefix(LOCK)
            .and_then(|r| r.strip_prefix('.'))
            .is_some_and(dead)
        {
            fs::remove_file(e.path())?;
        }
    }
    Ok(())
}

/// Links every entry of `from` that is not a page into `to` (folders
/// recreated, files hard-linked), so the swap keeps them as they are.
fn keep_foreign(from: &Path, to: &Path) -> io::Result<()> {
    for e in fs::read_dir(from)? {
        let e = e?;
        let name = e.file_name();
        let kind = e.file_type()?;
        if kind.is_file() && is_page(&name.to_string_lossy()) {
            continue;
        }
        let target = to.join(&name);
        if kind.is_dir() {
            fs::create_dir(&target)?;
            keep_foreign_all(&e.path(), &target)?;
        } else {
            fs::hard_link(e.path(), &target)?;
        }
    }
    Ok(())
}

/// Links a whole folder's tree.
fn keep_foreign_all(from: &Path, to: &Path) -> io::Result<()> {
    for e in fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            fs::create_dir(&target)?;
            keep_foreign_all(&e.path(), &target)?;
        } else {
            fs::hard_link(e.path(), &target)?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_flushed_fails_the_commit_and_moves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("sessions.csv"), "previous").unwrap();
        let staging = Staging::create(&out).unwrap();
        staging
            .write("sessions.csv", |w| w.write_all(b"new"))
            .unwrap();
        // A pipe cannot be flushed to disk (fsync gives EINVAL): the
        // flushing thread's error must reach the commit.
        let (reader, _writer) = io::pipe().unwrap();
        let pipe = fs::File::from(std::os::fd::OwnedFd::from(reader));
        staging.syncer.sync(PathBuf::from("a pipe"), pipe).unwrap();
        let e = staging.commit().unwrap_err();
        assert!(format!("{e:#}").contains("cannot write a pipe"), "{e:#}");
        assert_eq!(
            fs::read_to_string(out.join("sessions.csv")).unwrap(),
            "previous"
        );
        let left: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("sessions.csv")]);
    }

    #[test]
    fn a_commit_replaces_every_file_and_page_of_the_previous_run() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        for run in ["one", "two"] {
            let staging = Staging::create(&out).unwrap();
            for name in [
                "a.csv",
                "b.parquet",
                "json/page-00000.json",
                "json/page-00001.json",
            ] {
                staging
                    .write(name, |w| w.write_all(run.as_bytes()))
                    .unwrap();
            }
            assert_eq!(staging.commit().unwrap(), 4);
        }
        for name in [
            "a.csv",
            "b.parquet",
            "json/page-00000.json",
            "json/page-00001.json",
        ] {
            assert_eq!(fs::read_to_string(out.join(name)).unwrap(), "two", "{name}");
        }
        let mut left: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["a.csv", "b.parquet", "json"].map(std::ffi::OsString::from)
        );
    }

    #[test]
    fn folders_are_exchanged_in_one_step() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("x"), "was a").unwrap();
        fs::write(b.join("x"), "was b").unwrap();
        exchange(&a, &b).unwrap();
        assert_eq!(fs::read_to_string(a.join("x")).unwrap(), "was b");
        assert_eq!(fs::read_to_string(b.join("x")).unwrap(), "was a");
    }

    #[test]
    fn pages_and_named_files_are_owned() {
        let files = ["summary.json", "sessions.csv"];
        assert!(owns(&files, Path::new("summary.json")));
        assert!(owns(&files, Path::new("json/page-00012.json")));
        assert!(!owns(&files, Path::new("json/notes.txt")));
        assert!(!owns(&files, Path::new("json/page-1.json")));
        assert!(!owns(&files, Path::new("my.csv")));
        assert!(!owns(&files, Path::new("a/summary.json")));
    }

    #[test]
    fn a_live_lock_is_refused_and_a_dead_one_taken() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        // PID 1 is alive for as long as the machine is.
        fs::write(out.join(LOCK), "1\n").unwrap();
        let e = Staging::create(&out).err().unwrap().to_string();
        assert!(
            e.contains("pid 1") && e.contains(&out.display().to_string()),
            "{e}"
        );
        assert_eq!(fs::read_to_string(out.join(LOCK)).unwrap(), "1\n");
        // A PID beyond pid_max is no process: the lock is stale.
        fs::write(out.join(LOCK), "4294967\n").unwrap();
        fs::create_dir(out.join(".staging-4294967")).unwrap();
        let s = Staging::create(&out).unwrap();
        assert_eq!(
            fs::read_to_string(out.join(LOCK)).unwrap().trim(),
            std::process::id().to_string()
        );
        assert!(!out.join(".staging-4294967").exists());
        drop(s);
        assert!(!out.join(LOCK).exists());
        let left: Vec<_> = fs::read_dir(&out).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_failed_run_removes_the_folders_it_created() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("a/b");
        let s = Staging::create(&out).unwrap();
        s.write("summary.json", |w| w.write_all(b"{}")).unwrap();
        drop(s); // no commit: failed
        assert!(!d.path().join("a").exists());
    }

    #[test]
    fn commit_keeps_other_files_in_json() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fs::create_dir_all(out.join("json/notes")).unwrap();
        fs::write(out.join("json/README.txt"), "mine").unwrap();
        fs::write(out.join("json/notes/a.txt"), "also mine").unwrap();
        fs::write(out.join("json/page-00000.json"), "old 0").unwrap();
        fs::write(out.join("json/page-00001.json"), "old 1").unwrap();
        fs::write(out.join("mine.csv"), "mine too").unwrap();
        let s = Staging::create(&out).unwrap();
        s.write("json/page-00000.json", |w| w.write_all(b"new 0"))
            .unwrap();
        s.write("summary.json", |w| w.write_all(b"{}")).unwrap();
        assert_eq!(s.commit().unwrap(), 2);
        let read = |p: &str| fs::read_to_string(out.join(p)).unwrap();
        assert_eq!(read("json/page-00000.json"), "new 0");
        assert!(
            !out.join("json/page-00001.json").exists(),
            "a stale page stayed"
        );
        assert_eq!(read("json/README.txt"), "mine");
        assert_eq!(read("json/notes/a.txt"), "also mine");
        assert_eq!(read("mine.csv"), "mine too");
        let mut left: Vec<String> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["json", "mine.csv", "summary.json"]);
    }
}
