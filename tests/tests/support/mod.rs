//! Starts the real `ledgerline` binary on a free port and stops it when dropped.

#![allow(dead_code)] // each test file uses a different part of this module

pub mod client;
pub mod clock;
pub mod receiver;
pub mod stripe;

pub use client::Api;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

/// The workspace root, where `config/plans.toml` lives.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// What cargo sets for a test process besides `CARGO_PKG_*`.
const PACKAGE_VARIABLES: [&str; 5] = [
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
];

/// Builds the binary once per test process (a no-op when it is fresh) and returns its path.
/// `cargo test` does not build another package's binaries, so the tests ask for it.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        // Cargo gives the test process its package's variables. Some build scripts (ring's)
        // watch `CARGO_MANIFEST_DIR`, so passing them on would rebuild half the dependency tree
        // here and again at the next `cargo test`.
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name.starts_with("CARGO_PKG_") || PACKAGE_VARIABLES.contains(&name.as_ref()) {
                build.env_remove(key);
            }
        }
        let status = build
            .args(["build", "--quiet", "-p", "api", "--bin", "ledgerline"])
            .current_dir(workspace_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building ledgerline failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        target.join("debug").join("ledgerline")
    })
}

/// A `ledgerline` command run from the workspace root, with a clean environment for its own
/// variables so the developer's shell cannot change what a test sees.
pub fn ledgerline() -> Command {
    let mut command = Command::new(binary());
    command.current_dir(workspace_root());
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("LEDGERLINE_") || name == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command
}

pub struct Server {
    pub base_url: String,
    child: Child,
    /// Everything the server logged so far, line by line.
    pub log: mpsc::Receiver<String>,
}

impl Server {
    /// Starts `ledgerline serve --bind 127.0.0.1:0 <extra>` with extra environment variables,
    /// and waits until it listens.
    pub fn start_with(env: &[(&str, &str)], extra: &[&str]) -> Server {
        let mut command = ledgerline();
        command
            .envs(env.iter().copied())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra);
        Self::spawn(command)
    }

    /// Starts `command` (a `ledgerline serve …`) and waits until it listens.
    pub fn spawn(mut command: Command) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ledgerline starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Owned by `Server` before waiting, so a failed start still kills the process on drop.
        let mut server = Server {
            base_url: String::new(),
            child,
            log: rx,
        };
        server.base_url = server.wait_for_address();
        server
    }

    fn wait_for_address(&self) -> String {
        loop {
            let line = self
                .log
                .recv_timeout(Duration::from_secs(30))
                .expect("ledgerline logs its address within 30 s");
            if let Some(at) = line.find("listening on http://") {
                return line[at + "listening on ".len()..].trim().to_owned();
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        self.child.wait().expect("ledgerline exits")
    }
}

/// The admin key every black-box server is started with.
pub const ADMIN_KEY: &str = "test-admin-key";

impl Server {
    /// A server on `database_url` with the admin key installed.
    pub fn on(database_url: &str, extra: &[&str]) -> Server {
        Self::start_with(
            &[
                ("DATABASE_URL", database_url),
                ("LEDGERLINE_ADMIN_KEY", ADMIN_KEY),
            ],
            extra,
        )
    }

    /// Kills the process with SIGKILL (no shutdown at all) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
