//! Test helpers: a private folder per test and a command builder that shows
//! command, status, stdout and stderr when an expectation fails.

use std::path::PathBuf;
use std::process::Output;

pub struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file (creating folders) and returns its path as text.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p.to_string_lossy().into_owned()
    }

    /// Names starting with '.' in a folder of this dir (leftovers of a run).
    pub fn hidden(&self, folder: &str) -> Vec<String> {
        std::fs::read_dir(self.path(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect()
    }

    /// A generated CSV log (12 users, 2 days) as lines, header first.
    pub fn generated_lines(&self, name: &str) -> Vec<String> {
        let p = self.path(name);
        sessionstat(&[
            "generate",
            "--out",
            p.to_str().unwrap(),
            "--users",
            "12",
            "--days",
            "2",
            "--quiet",
        ])
        .ok();
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

/// The result of one run, with its command line for messages.
pub struct Run {
    pub cmd: String,
    pub out: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn show(&self) -> String {
        format!(
            "command: {}\nstatus: {:?}\nstdout: {}\nstderr: {}",
            self.cmd,
            self.out.status,
            self.stdout(),
            self.stderr()
        )
    }
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> String {
        assert_eq!(self.code(), 0, "expected success\n{}", self.show());
        self.stdout()
    }
    /// Asserts the exit code and an empty stdout; returns stderr.
    pub fn fails(&self, code: i32) -> String {
        assert_eq!(self.code(), code, "expected exit {code}\n{}", self.show());
        assert!(
            self.out.stdout.is_empty(),
            "stdout must be empty on failure\n{}",
            self.show()
        );
        self.stderr()
    }
}

pub fn sessionstat(args: &[&str]) -> Run {
    sessionstat_env(args, &[])
}

/// `sessionstat` with environment variables set.
pub fn sessionstat_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("sessionstat").expect("binary");
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    Run {
        cmd: format!("sessionstat {}", args.join(" ")),
        out,
    }
}
