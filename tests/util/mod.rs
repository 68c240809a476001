//! The end-to-end test harness, after ripgrep's: a [`Dir`] is a fresh
//! temporary directory to put inputs in, and a [`TestCommand`] runs one of
//! the built binaries there and makes assertions on what it did.

#![allow(dead_code)] // each test binary uses a different part

pub mod fleet;
pub mod servers;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir, removed when dropped.
pub struct Dir {
    root: PathBuf,
}

impl Dir {
    /// A new empty directory named after the test.
    pub fn new(name: &str) -> Dir {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let root =
            std::env::temp_dir().join(format!("fleetkit-test-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create test dir");
        Dir { root }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The path of `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Writes a file (creating parent directories).
    pub fn create(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&path, contents).expect("write test file");
        path
    }

    /// A command running the built binary `bin` inside this directory.
    pub fn command(&self, bin: &str) -> TestCommand {
        let mut cmd = Command::new(binary(bin));
        cmd.current_dir(&self.root);
        // Tests judge colour by what they ask for, not by the caller's environment.
        cmd.env_remove("NO_COLOR").env_remove("JPRETTY_COLORS");
        TestCommand { cmd, stdin: None }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// How many lines a file has.
pub fn line_count(path: impl AsRef<Path>) -> usize {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
        .lines()
        .count()
}

/// Reads a child's whole stderr.
pub fn read_stderr(child: &mut std::process::Child) -> String {
    use std::io::Read;
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut err)
        .expect("read stderr");
    err
}

/// The path of a built binary of this package.
pub fn binary(bin: &str) -> PathBuf {
    // Cargo builds the binaries next to the test executable's parent dir.
    let mut path = std::env::current_exe().expect("test exe path");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.join(bin)
}

/// One run of a binary, with builder methods and assertions.
pub struct TestCommand {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl TestCommand {
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut TestCommand {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(&mut self, key: &str, value: impl AsRef<OsStr>) -> &mut TestCommand {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(&mut self, key: &str) -> &mut TestCommand {
        self.cmd.env_remove(key);
        self
    }

    /// Feeds `input` on standard input (otherwise stdin is empty).
    pub fn stdin(&mut self, input: impl AsRef<[u8]>) -> &mut TestCommand {
        self.stdin = Some(input.as_ref().to_vec());
        self
    }

    /// Runs to completion.
    pub fn output(&mut self) -> Output {
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("spawn binary");
        let input = self.stdin.take().unwrap_or_default();
        let mut pipe = child.stdin.take().expect("stdin pipe");
        let writer = std::thread::spawn(move || {
            // The program may stop reading early (an error): that is fine.
            let _ = pipe.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait for binary");
        writer.join().expect("stdin writer");
        out
    }

    /// Runs, asserts exit 0 and an empty stderr, and returns stdout.
    pub fn stdout(&mut self) -> String {
        let out = self.expect_exit(0);
        assert!(
            out.stderr.is_empty(),
            "unexpected stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("stdout is UTF-8")
    }

    /// Runs and asserts the exit code; returns the whole output.
    pub fn expect_exit(&mut self, code: i32) -> Output {
        let out = self.output();
        assert_eq!(
            out.status.code(),
            Some(code),
            "exit status of {:?}\nstdout:\n{}\nstderr:\n{}",
            self.cmd,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs, asserts the exit code, and returns (stdout, stderr) as text.
    pub fn expect_exit_text(&mut self, code: i32) -> (String, String) {
        let out = self.expect_exit(code);
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}
