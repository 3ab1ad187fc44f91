//! Certificates for TLS tests, made with the `openssl` command: a certificate authority of the
//! test's own and server certificates it signs, in a directory removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::pg_cluster::ServerTls;

/// A throwaway certificate authority.
#[derive(Debug)]
pub struct TestCa {
    dir: PathBuf,
    /// The CA certificate (PEM): what a client passes as `sslrootcert`.
    pub certificate: PathBuf,
}

impl TestCa {
    /// A new CA (P-256 key, valid for two days) in a fresh temporary directory.
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "consultores-ca-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the CA directory");
        let ca = Self {
            certificate: dir.join("ca.crt"),
            dir,
        };
        openssl(
            &ca.dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ],
        );
        ca
    }

    /// A server certificate for `dns_names` signed by this CA, with its key.
    pub fn issue_server(&self, dns_names: &[&str]) -> ServerTls {
        let names: Vec<String> = dns_names.iter().map(|name| format!("DNS:{name}")).collect();
        std::fs::write(
            self.dir.join("server.ext"),
            format!(
                "subjectAltName={}\nextendedKeyUsage=serverAuth\n",
                names.join(",")
            ),
        )
        .expect("write the extensions file");
        openssl(
            &self.dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                &format!("/CN={}", dns_names[0]),
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        );
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.crt",
            ],
        );
        ServerTls {
            certificate: self.dir.join("server.crt"),
            key: self.dir.join("server.key"),
        }
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run openssl ({error}): install it (`apt-get install -y openssl`)")
        });
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
