//! A disposable PostgreSQL cluster: `initdb` in a temporary directory, `pg_ctl` to start and
//! stop it on a free port of the loopback, removed on drop. For tests that take the database
//! away, so the shared server is never touched.
//!
//! PostgreSQL refuses to run as root; when the tests run as root the cluster runs as the
//! `postgres` user (`runuser`), in a directory handed over to it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::checks::SqlProbe;
use crate::free_port;
use crate::process::running_as_root;

const INSTALL_HINT: &str = "install the PostgreSQL server binaries \
    (`apt-get install -y postgresql`, which puts them in /usr/lib/postgresql/<version>/bin), \
    or put a directory with initdb, pg_ctl and psql on PATH";

/// A running cluster of its own.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
    /// Extra `-o` server options (TLS).
    options: String,
}

/// A server certificate and key, PEM files, for [`PgCluster::start_tls`].
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

impl PgCluster {
    /// Creates and starts a new cluster (trust authentication, user `postgres`, fsync off: it
    /// lives for one test).
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Like [`start`](Self::start), with TLS on using `tls`, and TCP connections without TLS
    /// refused (`hostssl` only, as a managed database with TLS enforced).
    pub fn start_tls(tls: &ServerTls) -> Self {
        Self::start_with(Some(tls))
    }

    fn start_with(tls: Option<&ServerTls>) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let bin = binaries();
        let as_postgres = running_as_root();
        let dir = std::env::temp_dir().join(format!(
            "consultores-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:", &dir.display().to_string()])
                .status()
                .expect("run chown");
            assert!(
                status.success(),
                "cannot hand {} to the postgres user (the tests run as root and PostgreSQL \
                 refuses root): create it with `useradd --system postgres` \
                 (the postgresql package does)",
                dir.display()
            );
        }
        let mut cluster = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
            options: String::new(),
        };
        let data = cluster.data_dir();
        cluster.run_tool(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        if let Some(tls) = tls {
            cluster.enable_tls(tls);
        }
        cluster.start_again();
        cluster
    }

    /// Copies the certificate and key into the data directory (the key readable by the server
    /// only, as PostgreSQL demands) and allows TCP connections over TLS only.
    fn enable_tls(&mut self, tls: &ServerTls) {
        let data = self.dir.join("data");
        std::fs::copy(&tls.certificate, data.join("server.crt")).expect("copy the certificate");
        std::fs::copy(&tls.key, data.join("server.key")).expect("copy the key");
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .expect("write pg_hba.conf");
        let mut chmod = Command::new("chmod");
        chmod.arg("600").arg(data.join("server.key"));
        assert!(chmod.status().expect("run chmod").success());
        if self.as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:", &data.display().to_string()])
                .status()
                .expect("run chown");
            assert!(status.success(), "cannot hand the TLS files to postgres");
        }
        self.options = " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key".into();
    }

    /// The port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl stop -m fast`: open sessions are ended, in-flight transactions rolled back.
    pub fn stop_fast(&self) {
        let data = self.data_dir();
        self.run_tool(
            "pg_ctl",
            &["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"],
        );
    }

    /// Starts it (again) and waits until it accepts connections.
    pub fn start_again(&self) {
        let data = self.data_dir();
        let log = self.dir.join("server.log").display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=60{}",
            self.port,
            self.dir.display(),
            self.options
        );
        self.run_tool(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run_tool(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()));
        assert!(
            output.status.success(),
            "{tool} {args:?} failed:\n{}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        output
    }
}

impl SqlProbe for PgCluster {
    fn strings(&self, sql: &str) -> Vec<String> {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .unwrap_or_else(|error| panic!("cannot run psql: {error}; {INSTALL_HINT}"));
        assert!(
            output.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let program = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory holding `initdb`, `pg_ctl` and `psql`: `PG_BIN_DIR`, else the newest
/// `/usr/lib/postgresql/<version>/bin`, else `PATH`.
fn binaries() -> PathBuf {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "psql"]
            .iter()
            .all(|tool| dir.join(tool).exists())
    };
    if let Some(dir) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from) {
        assert!(
            complete(&dir),
            "PG_BIN_DIR={} lacks initdb, pg_ctl or psql",
            dir.display()
        );
        return dir;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
                    Some((version, entry.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    if let Some((_, dir)) = versions.into_iter().rev().find(|(_, dir)| complete(dir)) {
        return dir;
    }
    if let Some(dir) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| complete(dir))
    {
        return dir;
    }
    panic!("no PostgreSQL server binaries (initdb, pg_ctl, psql) found: {INSTALL_HINT}");
}
