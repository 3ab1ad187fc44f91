//! PgBouncer (Debian's `pgbouncer` package) in transaction mode in front of a PostgreSQL
//! server, on a free port of the loopback, with a generated configuration and a small server
//! pool; stopped and removed on drop. PgBouncer refuses to run as root: when the tests run as
//! root it runs as the `postgres` user.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::free_port;
use crate::process::running_as_root;

const INSTALL_HINT: &str = "install PgBouncer (`apt-get install -y pgbouncer`; \
    scripts/system-deps.sh does it) or set PGBOUNCER_BIN";

/// A running PgBouncer.
#[derive(Debug)]
pub struct PgBouncer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl PgBouncer {
    /// Starts PgBouncer with `pool_mode = transaction` and `server_connections` server
    /// connections per database, in front of the server `upstream` (a PostgreSQL URL; its
    /// host, port and user are used, trust authentication), and waits until it accepts
    /// connections.
    pub fn start(upstream: &str, server_connections: u32) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let upstream = url::Url::parse(upstream).expect("a PostgreSQL URL");
        let host = upstream.host_str().unwrap_or("127.0.0.1").to_owned();
        let upstream_port = upstream.port().unwrap_or(5432);
        let user = match upstream.username() {
            "" => "postgres".to_owned(),
            user => user.to_owned(),
        };
        let dir = std::env::temp_dir().join(format!(
            "consultores-pgbouncer-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the PgBouncer directory");
        let port = free_port();
        std::fs::write(dir.join("userlist.txt"), format!("\"{user}\" \"\"\n"))
            .expect("write userlist.txt");
        let config = format!(
            "[databases]\n\
             * = host={host} port={upstream_port}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {dir}/userlist.txt\n\
             pool_mode = transaction\n\
             default_pool_size = {server_connections}\n\
             min_pool_size = 0\n\
             reserve_pool_size = 0\n\
             max_client_conn = 500\n\
             max_db_connections = {server_connections}\n\
             logfile = {dir}/pgbouncer.log\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("pgbouncer.ini"), config).expect("write pgbouncer.ini");
        let as_postgres = running_as_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:", &dir.display().to_string()])
                .status()
                .expect("run chown");
            assert!(
                status.success(),
                "cannot hand {} to postgres",
                dir.display()
            );
        }
        let program = binary();
        let mut command = if as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let child = command
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {}: {error}; {INSTALL_HINT}",
                    program.display()
                )
            });
        let mut bouncer = Self { child, dir, port };
        bouncer.wait_listening();
        bouncer
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `upstream_url` (a database on the server behind it) with host and port replaced by
    /// PgBouncer's.
    pub fn url_for(&self, upstream_url: &str) -> String {
        let mut url = url::Url::parse(upstream_url).expect("a PostgreSQL URL");
        url.set_host(Some("127.0.0.1")).expect("set the host");
        url.set_port(Some(self.port)).expect("set the port");
        url.to_string()
    }

    /// PgBouncer's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("pgbouncer exited with {status}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("pgbouncer did not listen within 30 s:\n{}", self.log());
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // runuser passes SIGTERM on to pgbouncer; killing runuser alone would orphan it.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `PGBOUNCER_BIN`, else `/usr/sbin/pgbouncer` (Debian), else `pgbouncer` on `PATH`.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PGBOUNCER_BIN") {
        return PathBuf::from(path);
    }
    let debian = PathBuf::from("/usr/sbin/pgbouncer");
    if debian.exists() {
        return debian;
    }
    PathBuf::from("pgbouncer")
}
