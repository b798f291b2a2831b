//! Starts the real `ledgerline` binary on a benchmark database and reads its memory from
//! `/proc/PID/status`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::client::Api;
use crate::database::{Backend, Postgres};
use crate::figures::Figures;
use crate::Result;

/// The admin key every benchmarked server is started with.
const ADMIN_KEY: &str = "bench-admin-key";

pub struct Binary {
    path: PathBuf,
}

impl Binary {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// `ledgerline serve` on `database_url`, on a free port, once it listens.
    pub fn serve(&self, database_url: &str) -> Result<Server> {
        let mut child = self
            .command(database_url)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("LEDGERLINE_ADMIN_KEY", ADMIN_KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", self.path.display()))?;
        let stdout = child.stdout.take().ok_or("stdout is piped")?;
        let (lines, log) = mpsc::channel();
        // Drains the log for the server's whole life, so a chatty server never blocks on a pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::result::Result::ok)
            {
                let _ = lines.send(line);
            }
        });
        let mut server = Server {
            child,
            api: Api::new(String::new(), ADMIN_KEY),
        };
        loop {
            let line = log
                .recv_timeout(Duration::from_secs(60))
                .map_err(|_| "ledgerline did not log its address within 60 s")?;
            if let Some(at) = line.find("listening on http://") {
                let base_url = line[at + "listening on ".len()..].trim().to_owned();
                server.api = Api::new(base_url, ADMIN_KEY);
                return Ok(server);
            }
        }
    }

    /// `ledgerline migrate` on `database_url`: the schema without a server.
    pub fn migrate(&self, database_url: &str) -> Result<()> {
        let status = self
            .command(database_url)
            .arg("migrate")
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(format!("ledgerline migrate failed: {status}").into());
        }
        Ok(())
    }

    /// `ledgerline replay` of every read model on `database_url`, run to its end; returns the
    /// peak resident memory it reached.
    pub async fn replay(&self, database_url: &str) -> Result<f64> {
        let mut child = self
            .command(database_url)
            .arg("replay")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", self.path.display()))?;
        // VmHWM only grows and vanishes with the process: the last value read before the exit
        // is its peak, give or take what the final milliseconds (freeing, exiting) add.
        let mut peak_mb = 0.0;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if let Ok(memory) = Memory::of(child.id()) {
                peak_mb = memory.peak_mb;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if !status.success() {
            return Err(format!("ledgerline replay failed: {status}").into());
        }
        Ok(peak_mb)
    }

    fn command(&self, database_url: &str) -> Command {
        let mut command = Command::new(&self.path);
        command
            .current_dir(workspace_root())
            .env("DATABASE_URL", database_url)
            .env("LEDGERLINE_LOG_FORMAT", "text");
        command
    }
}

/// The workspace root, where `config/plans.toml` lives.
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
}

pub struct Server {
    child: Child,
    pub api: Api,
}

/// Resident memory of a process, in MiB.
pub struct Memory {
    /// `VmHWM`: the peak resident set since the process started.
    pub peak_mb: f64,
    /// `VmRSS`: the resident set now.
    pub current_mb: f64,
}

impl Memory {
    /// The memory of process `pid`, from `/proc/PID/status`.
    fn of(pid: u32) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| -> Result<f64> {
            let kb: f64 = status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .ok_or_else(|| format!("no {name} in /proc status"))?
                .parse()?;
            Ok(kb / 1024.0)
        };
        Ok(Memory {
            peak_mb: field("VmHWM:")?,
            current_mb: field("VmRSS:")?,
        })
    }
}

impl Server {
    pub fn memory(&self) -> Result<Memory> {
        Memory::of(self.child.id())
    }

    /// SIGTERM, then waits for the graceful shutdown (projections stop after their batch).
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak RSS of a server that started on an empty Postgres database and answered one request.
pub async fn idle_memory(
    binary: &Binary,
    postgres: &Postgres,
    figures: &mut Figures,
) -> Result<()> {
    println!("memory: idle server");
    let database = postgres.create(Backend::Postgres).await?;
    let server = binary.serve(&database.url)?;
    server.api.get_ok("/v1/plans").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let memory = server.memory()?;
    server.stop();
    database.drop_now().await;
    figures.record_with("rss_idle_mb", memory.peak_mb, "VmHWM, empty database");
    Ok(())
}
