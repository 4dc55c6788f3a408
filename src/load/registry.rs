//! The id registry (`--ids FILE`, SPEC 9.1): a Parquet table `kind`, `key`,
//! `id` that keeps every key's id across runs. Read before any event, and
//! locked for the whole run: a second run that uses the same registry fails
//! at once, naming it and the run that holds it. A registry that is not
//! such a table (unreadable, other columns, a null, a kind other than
//! `session`/`user`, an id outside 1..=2147483647, a key or id twice) is an
//! error that changes nothing. A registry that does not exist yet is empty.

use crate::ids::{IdKind, Table};
use polars::prelude::*;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// A registry read and locked; the lock goes when this is dropped.
#[derive(Debug)]
pub struct Registry {
    pub path: PathBuf,
    /// Per `IdKind`, its keys and ids.
    pub tables: [Table; 2],
    /// Size and modification time (ns since the epoch) as read; `None`
    /// when the file did not exist.
    pub stamp: Option<(u64, i128)>,
    _lock: RegistryLock,
}

impl Registry {
    pub fn table(&self, kind: IdKind) -> &Table {
        &self.tables[kind as usize]
    }
}

/// Size and modification time of a file, as a fingerprint records them.
pub fn stamp(path: &Path) -> io::Result<(u64, i128)> {
    let m = fs::metadata(path)?;
    Ok((
        m.len(),
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    ))
}

/// Locks and reads the registry at `path`.
pub fn open(path: &Path) -> Result<Registry, String> {
    let shown = path.display();
    let lock = RegistryLock::take(path)?;
    let (tables, stamp) = match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => (Default::default(), None),
        Err(e) => return Err(format!("cannot read the id registry {shown}: {e}")),
        Ok(m) if !m.is_file() => {
            return Err(format!("the id registry {shown} is not a regular file"))
        }
        Ok(_) => {
            let stamp =
                stamp(path).map_err(|e| format!("cannot read the id registry {shown}: {e}"))?;
            (read(path).map_err(|e| format!("the id registry {shown} is not usable: {e}; it was left as it is (delete it to start a new one)"))?, Some(stamp))
        }
    };
    Ok(Registry {
        path: path.to_path_buf(),
        tables,
        stamp,
        _lock: lock,
    })
}

fn read(path: &Path) -> Result<[Table; 2], String> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let df = std::panic::catch_unwind(|| ParquetReader::new(file).finish())
        .map_err(|_| "not a Parquet file".to_string())?
        .map_err(|e| {
            format!(
                "not a Parquet table ({})",
                crate::error::one_line(&e.to_string())
            )
        })?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    if names != ["kind", "key", "id"] {
        return Err(format!(
            "its columns are {}, not kind, key, id",
            names.join(", ")
        ));
    }
    let text = |c: &str| -> Result<StringChunked, String> {
        let s = df.column(c).map_err(|e| e.to_string())?;
        if s.dtype() != &DataType::String {
            return Err(format!("column {c} is {}, not text", s.dtype()));
        }
        Ok(s.str().map_err(|e| e.to_string())?.clone())
    };
    let (kinds, keys) = (text("kind")?, text("key")?);
    let id_col = df.column("id").map_err(|e| e.to_string())?;
    if !id_col.dtype().is_integer() {
        return Err(format!("column id is {}, not an integer", id_col.dtype()));
    }
    let ids = id_col.cast(&DataType::Int64).map_err(|e| e.to_string())?;
    let ids = ids.i64().map_err(|e| e.to_string())?;
    let mut tables: [Table; 2] = Default::default();
    let mut seen: [polars::prelude::PlHashMap<i32, ()>; 2] = Default::default();
    for (row, ((kind, key), id)) in kinds.iter().zip(keys.iter()).zip(ids.iter()).enumerate() {
        let (Some(kind), Some(key), Some(id)) = (kind, key, id) else {
            return Err(format!("row {row} has a null"));
        };
        let kind = IdKind::parse(kind)
            .ok_or_else(|| format!("row {row}: kind {kind:?} is neither session nor user"))?;
        if key.is_empty() {
            return Err(format!("row {row}: the key is empty"));
        }
        let id = i32::try_from(id)
            .ok()
            .filter(|&i| i >= 1)
            .ok_or_else(|| format!("row {row}: id {id} is not from 1 to 2147483647"))?;
        if tables[kind as usize].ids.insert(key.into(), id).is_some() {
            return Err(format!("row {row}: the {kind} key {key:?} is there twice"));
        }
        if seen[kind as usize].insert(id, ()).is_some() {
            return Err(format!("row {row}: the {kind} id {id} is there twice"));
        }
    }
    Ok(tables)
}

/// An exclusive `flock` on a hidden file beside the registry, holding the
/// PID of its run. The lock dies with its process, so a killed run's lock
/// is taken over; the file is removed when the run ends.
#[derive(Debug)]
struct RegistryLock {
    path: PathBuf,
    /// Held, never read: its descriptor holds the `flock`.
    _file: fs::File,
}

/// The lock file of a registry: `.NAME.lock` in its folder.
pub fn lock_path(registry: &Path) -> PathBuf {
    let name = registry
        .file_name()
        .map_or_else(|| "ids".into(), |n| n.to_string_lossy().into_owned());
    registry.with_file_name(format!(".{name}.lock"))
}

impl RegistryLock {
    fn take(registry: &Path) -> Result<RegistryLock, String> {
        let path = lock_path(registry);
        let shown = registry.display();
        let folder = registry
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(format!(
                "the folder of the id registry {shown} does not exist: create {} first",
                folder.display()
            ));
        }
        for _ in 0..8 {
            // Created new, or the one a run left: never through a link,
            // never a file of someone else's that was made to look like it.
            let (file, new) = match open_lock(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                opened => opened,
            }
            .map_err(|e| {
                format!(
                    "cannot lock the id registry {shown} with {}: {e}",
                    path.display()
                )
            })?;
            // SAFETY: flock on a file descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                let err = io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                    let pid = fs::read_to_string(&path).unwrap_or_default();
                    return Err(format!(
                        "the id registry {shown} is in use by another sessionstat run (pid {}); wait until it ends",
                        pid.trim()
                    ));
                }
                return Err(format!("cannot lock the id registry {shown}: {err}"));
            }
            // The file may have been removed by the run that held it just
            // before we locked it: then lock the one now at the path.
            let same = match (file.metadata(), fs::symlink_metadata(&path)) {
                (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                _ => false,
            };
            if !same {
                continue;
            }
            if !new {
                // A killed run's lock, now ours: its name is removed (a
                // file linked there keeps its data) and a new one made.
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(format!(
                        "cannot lock the id registry {shown}: cannot remove the stale lock {}: {e}",
                        path.display()
                    ))
                    }
                    _ => continue,
                }
            }
            let _ =
                io::Write::write_all(&mut &file, format!("{}\n", std::process::id()).as_bytes());
            return Ok(RegistryLock { path, _file: file });
        }
        Err(format!(
            "cannot lock the id registry {shown}: other runs keep taking it"
        ))
    }
}

/// Opens the lock file: created exclusively (`true`), or the regular file
/// a killed run left (`false`). Links are never followed, and anything
/// but a regular file there is refused, left as it is.
fn open_lock(path: &Path) -> io::Result<(fs::File, bool)> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = |create: bool| {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(create)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
    };
    match open(true) {
        Ok(f) => return Ok((f, true)),
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        Err(_) => {}
    }
    let not_ours = || {
        io::Error::other(
            "it is not a regular file (a link, a folder or a device), so not a lock that sessionstat made; it was left as it is: remove it",
        )
    };
    // Gone in between (its run ended): NotFound, and the caller tries again.
    if !fs::symlink_metadata(path)?.is_file() {
        return Err(not_ours());
    }
    let file = match open(false) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(not_ours()),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(not_ours());
    }
    Ok((file, false))
}

impl Drop for RegistryLock {
    fn drop(&mut self) {
        // Removed while still locked, so that no run locks a file that is gone.
        // (`_file`, and with it the lock, goes after this body.)
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_registry_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let reg = dir.path().join("ids.parquet");
        let first = open(&reg).unwrap();
        assert!(first.stamp.is_none());
        let e = open(&reg).unwrap_err();
        assert!(e.contains("ids.parquet") && e.contains("in use"), "{e}");
        drop(first);
        assert!(!lock_path(&reg).exists());
        open(&reg).unwrap();
    }

    #[test]
    fn a_registry_that_is_not_a_table_of_ids_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let reg = dir.path().join("ids.parquet");
        fs::write(&reg, b"not parquet").unwrap();
        let e = open(&reg).unwrap_err();
        assert!(e.contains("not usable"), "{e}");
        let write = |mut df: DataFrame| {
            ParquetWriter::new(fs::File::create(&reg).unwrap())
                .finish(&mut df)
                .unwrap();
        };
        write(
            df!("kind" => ["session", "session"], "key" => ["a", "b"], "id" => [1i32, 1]).unwrap(),
        );
        let e = open(&reg).unwrap_err();
        assert!(e.contains("id 1 is there twice"), "{e}");
        write(df!("kind" => ["user"], "key" => ["a"], "id" => [0i64]).unwrap());
        assert!(open(&reg).unwrap_err().contains("not from 1"));
        write(df!("kind" => ["user"], "key" => ["a"], "ids" => [1i64]).unwrap());
        assert!(open(&reg).unwrap_err().contains("not kind, key, id"));
        write(df!("kind" => ["user", "session"], "key" => ["a", "a"], "id" => [5i32, 5]).unwrap());
        let r = open(&reg).unwrap();
        assert_eq!(r.table(IdKind::User).ids["a"], 5);
        assert_eq!(r.table(IdKind::Session).ids["a"], 5);
    }
}
