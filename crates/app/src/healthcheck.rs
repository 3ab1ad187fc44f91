//! `consultores healthcheck`: asks the local service for `/health`, for container health checks
//! in images that have no shell or curl.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::config::Config;
use crate::startup::StartupError;

const TIMEOUT: Duration = Duration::from_secs(3);

pub fn run(config: &Config) -> Result<(), StartupError> {
    // A service bound to every interface is reached through the loopback one.
    let host = match config.host.as_str() {
        "0.0.0.0" => "127.0.0.1",
        "::" | "[::]" => "::1",
        other => other,
    };
    let address = (host, config.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| StartupError::Unhealthy(format!("cannot resolve {host}")))?;
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    if head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200") {
        Ok(())
    } else {
        Err(StartupError::Unhealthy(format!(
            "/health answered {}",
            String::from_utf8_lossy(&head)
        )))
    }
}
