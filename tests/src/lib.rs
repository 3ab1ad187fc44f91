//! Helpers for the end-to-end tests: the built `consultores` binary started as a real process on
//! a free port, against a fresh SQLite file or a fresh PostgreSQL database, driven over HTTP.
//!
//! The binary is `$CONSULTORES_BIN` when set; otherwise the first test of each test process runs
//! `cargo build --bin consultores` (for the profile and target folder the tests themselves were
//! built for) and uses what it produced, so `cargo test` alone never runs a stale binary.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test support: failing loudly is the point

pub mod checks;
pub mod http;
pub mod pg_cluster;
pub mod pgbouncer;
pub mod process;
pub mod proxy;
pub mod raw;
pub mod receiver;
pub mod team;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use consultores_persistence::testing::TestDatabase;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

/// The API key every test service is configured with.
pub const API_KEY: &str = "e2e-chave-de-teste";

/// Path of the binary under test: `$CONSULTORES_BIN`, or the current `consultores` built once
/// per test process (see [`build_current_binary`]).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CONSULTORES_BIN") {
        return PathBuf::from(path);
    }
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_current_binary).clone()
}

/// Runs `cargo build --bin consultores` for the profile and target folder this test executable
/// was built for (it lives in `<target>/<profile>/deps/`), and returns the binary's path. Cargo
/// does nothing when the binary is current, and its own lock serialises test processes that
/// build at the same time. `cargo test` holds no lock while the tests run, so this cannot
/// deadlock. (Cargo sets `CARGO_BIN_EXE_<name>` only for the integration tests of the package
/// that owns the binary, which this crate is not.)
fn build_current_binary() -> PathBuf {
    let executable = std::env::current_exe().expect("the test executable's path");
    let profile_dir = executable
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in <target>/<profile>/deps/");
    let target_dir = profile_dir.parent().expect("a target folder");
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace");
    let status = Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "--package", "consultores", "--bin", "consultores"])
        .args(["--profile", &profile])
        .arg("--target-dir")
        .arg(target_dir)
        .stdout(Stdio::null())
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "`cargo build --bin consultores` failed (or point CONSULTORES_BIN at a built binary)"
    );
    let path = profile_dir.join(format!("consultores{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} not found after the build",
        path.display()
    );
    path
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `consultores` process. Killed (SIGKILL) on drop if still running.
#[derive(Debug)]
pub struct Service {
    child: Child,
    pub base_url: String,
    pub port: u16,
    stdout: Arc<Mutex<Vec<String>>>,
    stdout_reader: Option<std::thread::JoinHandle<()>>,
    stderr: Arc<Mutex<Vec<String>>>,
    client: Client,
}

/// How to start a service.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    pub database_url: Option<String>,
    pub api_key: Option<String>,
    pub work_dir: Option<PathBuf>,
    pub extra_env: Vec<(String, String)>,
    pub port: Option<u16>,
}

/// What a finished command of the binary left behind.
#[derive(Debug)]
pub struct CommandOutcome {
    /// `None`: it was still running after `limit` and was killed.
    pub status: Option<ExitStatus>,
    pub stderr: String,
}

/// Runs `consultores <args>` with only `env` (and `PATH`) set; kills it if it runs past
/// `limit`.
pub fn run_command(args: &[&str], env: &[(&str, &str)], limit: Duration) -> CommandOutcome {
    let mut command = Command::new(binary());
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start the consultores binary");
    let (stderr, reader) = collect_lines(child.stderr.take().expect("stderr piped"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the command") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = reader.join();
    let stderr = stderr
        .lock()
        .map(|lines| lines.join("\n"))
        .unwrap_or_default();
    CommandOutcome { status, stderr }
}

impl ServiceConfig {
    pub fn with_database(url: &str) -> Self {
        Self {
            database_url: Some(url.to_owned()),
            api_key: Some(API_KEY.to_owned()),
            work_dir: None,
            extra_env: Vec::new(),
            port: None,
        }
    }
}

impl Service {
    /// Starts the binary and waits until `/health` answers (panics after 30 s, showing stderr).
    pub fn start(config: &ServiceConfig) -> Self {
        let port = config.port.unwrap_or_else(free_port);
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = &config.database_url {
            command.env("DATABASE_URL", url);
        }
        if let Some(key) = &config.api_key {
            command.env("AUTHENTICATION_API_KEY", key);
        }
        if let Some(dir) = &config.work_dir {
            command.current_dir(dir);
        }
        for (name, value) in &config.extra_env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start the consultores binary");
        let (stdout, stdout_reader) = collect_lines(child.stdout.take().expect("stdout piped"));
        let (stderr, _) = collect_lines(child.stderr.take().expect("stderr piped"));
        let service = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            port,
            stdout,
            stdout_reader: Some(stdout_reader),
            stderr,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
        };
        service.wait_healthy();
        service
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = self.client.get(self.url("/health")).send() {
                if response.status().is_success() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "service did not become healthy; stderr:\n{}",
            self.stderr_lines().join("\n")
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// A request with the test API key.
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("api-key", API_KEY)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .expect("GET")
    }

    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .expect("POST")
    }

    pub fn put(&self, path: &str, body: &Value) -> Response {
        self.request(reqwest::Method::PUT, path)
            .json(body)
            .send()
            .expect("PUT")
    }

    pub fn delete(&self, path: &str) -> Response {
        self.request(reqwest::Method::DELETE, path)
            .send()
            .expect("DELETE")
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().expect("stdout lines").clone()
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lines").clone()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(30))
            .expect("service ignored SIGTERM for 30 s")
    }

    /// The process id of the service.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`TERM`, `KILL`, …) without waiting.
    pub fn signal(&self, name: &str) {
        process::signal(self.pid(), name);
    }

    /// `kill -9`, then reaps the process.
    pub fn kill_hard(&mut self) -> ExitStatus {
        self.signal("KILL");
        self.wait_exit(Duration::from_secs(10))
            .expect("a SIGKILLed process exits")
    }

    /// Waits up to `timeout` for the process to exit; `None` if it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the service") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Resident memory of the process in KiB (`VmRSS`), `None` once it is gone.
    pub fn rss_kib(&self) -> Option<u64> {
        process::rss_kib(self.pid())
    }

    /// Number of open file descriptors of the process (sockets included).
    pub fn open_fds(&self) -> usize {
        process::open_fds(self.pid())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The process is gone, so its stdout reaches EOF and the reader ends.
        if let Some(reader) = self.stdout_reader.take() {
            let _ = reader.join();
        }
        keep_log(self.child.id(), self.port, &self.stdout_lines());
    }
}

/// Where the log lines (stdout) of every service the tests started are kept, so that
/// `scripts/check-secrets.sh` can search all of them for key material after the suite.
pub fn log_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf();
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("e2e-logs")
}

fn keep_log(pid: u32, port: u16, lines: &[String]) {
    let dir = log_dir();
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(
            dir.join(format!("service-{pid}-{port}.jsonl")),
            lines.join("\n") + "\n",
        );
    }
}

fn collect_lines(
    stream: impl std::io::Read + Send + 'static,
) -> (Arc<Mutex<Vec<String>>>, std::thread::JoinHandle<()>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Ok(mut lines) = sink.lock() {
                lines.push(line);
            }
        }
    });
    (lines, reader)
}

/// Reads a response as JSON, with the status for assertions.
pub fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json::<Value>().unwrap_or(Value::Null);
    (status, body)
}
