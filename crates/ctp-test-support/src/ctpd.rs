//! The real `ctpd` binary as the suites of `crates/ctpd/tests` run it: `ctpd serve` on a
//! port of 127.0.0.1, in a folder of its own, its log in a file; killed when dropped (and its
//! log printed if the test is failing).
//!
//! The binary is the test's own `env!("CARGO_BIN_EXE_ctpd")`, which only the tests of the
//! `ctpd` crate have, so they pass it in.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, Client};

/// How long `ctpd` may take to start, and to exit after a signal.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running `ctpd serve`; dropped, it is killed.
pub struct Ctpd {
    /// The process.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    log: PathBuf,
    admin_token: Option<String>,
    _own_dir: Option<tempfile::TempDir>,
}

/// How to start a `ctpd serve`: [`Ctpd::serve`], the settings, then [`CtpdBuilder::start`].
#[must_use]
pub struct CtpdBuilder {
    binary: PathBuf,
    dir: Option<PathBuf>,
    port: Option<u16>,
    args: Vec<OsString>,
    admin_token: Option<String>,
    env: Vec<(String, Option<String>)>,
    log: Option<PathBuf>,
    stdout: bool,
    open_files: Option<(u64, u64)>,
    ready_line: Option<String>,
}

impl Ctpd {
    /// `ctpd serve --listen 127.0.0.1:PORT` of the binary at `binary` (a test's
    /// `env!("CARGO_BIN_EXE_ctpd")`), with `CTPD_ADMIN_TOKEN` removed from its environment.
    pub fn serve(binary: impl Into<PathBuf>) -> CtpdBuilder {
        let binary = binary.into();
        // A path is the caller's, not relative to the folder ctpd runs in; a bare name is
        // looked up in PATH.
        let binary = match binary.components().count() {
            1 => binary,
            _ => std::path::absolute(&binary).expect("the path of ctpd"),
        };
        CtpdBuilder {
            binary,
            dir: None,
            port: None,
            args: Vec::new(),
            admin_token: None,
            env: vec![("CTPD_ADMIN_TOKEN".into(), None)],
            log: None,
            stdout: false,
            open_files: None,
            ready_line: None,
        }
    }

    /// `http://127.0.0.1:PORT/api/1.0/`, the default `{CtpBase}`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}/api/1.0/", self.port)
    }

    /// A client of the API at the default base path with `token`.
    pub fn client(&self, token: &str) -> Client {
        Client::new(&self.base(), Some(token))
    }

    /// A client with the admin token it was given ([`CtpdBuilder::admin_token`]).
    pub fn admin(&self) -> Client {
        self.client(self.admin_token.as_deref().expect("ctpd started with an admin token"))
    }

    /// The folder it runs in (where the default store `ctpd-data/ctpd.db` is).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its standard output, once (see [`CtpdBuilder::stdout_piped`]).
    pub fn take_stdout(&mut self) -> ChildStdout {
        self.child.stdout.take().expect("ctpd's standard output, piped and not yet taken")
    }

    /// Waits until the log holds `needle` `count` times.
    pub fn wait_for_log(&mut self, needle: &str, count: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.log().matches(needle).count() < count {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("ctpd exited ({status}) before logging {needle:?}:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "ctpd did not log {needle:?} {count} times:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends the signal `name` (`TERM`, `HUP`...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the exit after a signal; the exit status and the time it took from `since`.
    pub fn wait_exit(&mut self, since: Instant) -> (ExitStatus, Duration) {
        let deadline = since + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, since.elapsed());
            }
            assert!(Instant::now() < deadline, "ctpd did not exit:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit(Instant::now()).0
    }

    /// Kills it at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits until it accepts connections, or its log holds `ready_line`.
    fn wait_ready(&mut self, ready_line: Option<&str>) {
        if let Some(line) = ready_line {
            return self.wait_for_log(line, 1);
        }
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("ctpd exited ({status}) before serving:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "ctpd did not start:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Ctpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- ctpd's log:\n{}", self.log());
        }
    }
}

impl CtpdBuilder {
    /// Runs in `dir` (default: a temporary folder of its own, removed when it stops).
    pub fn dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    /// Listens on this port (default: a free one); restarted on the same port, its links
    /// stay the same.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// More arguments of `ctpd serve`.
    pub fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `--admin-token TOKEN`, which [`Ctpd::admin`] then uses.
    pub fn admin_token(mut self, token: &str) -> Self {
        self.admin_token = Some(token.to_owned());
        self.args(["--admin-token", token])
    }

    /// Sets an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, name: &str) -> Self {
        self.env.push((name.into(), None));
        self
    }

    /// Appends the log (standard error) to this file (default: `ctpd.log` in its folder).
    pub fn log(mut self, path: &Path) -> Self {
        self.log = Some(path.to_owned());
        self
    }

    /// Pipes its standard output to the test ([`Ctpd::take_stdout`]); by default it is
    /// discarded.
    pub fn stdout_piped(mut self) -> Self {
        self.stdout = true;
        self
    }

    /// Starts it with these soft and hard limits of open files (set by the shell that execs
    /// it).
    pub fn open_files(mut self, soft: u64, hard: u64) -> Self {
        self.open_files = Some((soft, hard));
        self
    }

    /// It is ready once its log holds `line` (default: once its port accepts a connection,
    /// which a test of connection limits may not want).
    pub fn ready_when_logged(mut self, line: &str) -> Self {
        self.ready_line = Some(line.to_owned());
        self
    }

    /// Starts it and waits until it is ready.
    pub fn start(self) -> Ctpd {
        let own_dir = match self.dir {
            Some(_) => None,
            None => Some(tempfile::tempdir().expect("a temporary folder")),
        };
        let dir = self.dir.unwrap_or_else(|| own_dir.as_ref().unwrap().path().to_owned());
        let log = self.log.unwrap_or_else(|| dir.join("ctpd.log"));
        let port = self.port.unwrap_or_else(free_port);
        let mut command = match self.open_files {
            None => Command::new(&self.binary),
            Some((soft, hard)) => {
                let mut shell = Command::new("sh");
                shell
                    .arg("-c")
                    .arg(format!("ulimit -S -n {soft} && ulimit -H -n {hard} && exec \"$0\" \"$@\""))
                    .arg(&self.binary);
                shell
            }
        };
        command.current_dir(&dir).args(["serve", "--listen", &format!("127.0.0.1:{port}")]).args(&self.args);
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let stderr = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("ctpd's log file");
        let child = command
            .stdout(if self.stdout { Stdio::piped() } else { Stdio::null() })
            .stderr(stderr)
            .spawn()
            .expect("ctpd starts");
        let mut ctpd = Ctpd { child, port, dir, log, admin_token: self.admin_token, _own_dir: own_dir };
        ctpd.wait_ready(self.ready_line.as_deref());
        ctpd
    }
}
