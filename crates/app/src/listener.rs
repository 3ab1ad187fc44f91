//! The listening socket, bound before the server starts (so a taken port is a start-up error that
//! names the address) with a backlog that absorbs bursts of new connections.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

use socket2::{Domain, Socket, Type};

/// Connections the kernel completes and queues before the accept loop takes them (actix's own
/// default; the kernel caps it at `net.core.somaxconn`). `std::net::TcpListener::bind` asks for
/// 128: a burst of clients (every client reconnecting after a restart, or a few thousand idle
/// connections opened at once) overflows that, the kernel drops their SYNs and each waits 1 to
/// 3 s for a retransmission.
pub const BACKLOG: i32 = 2048;

/// Binds `address` (`host:port`; a name may resolve to several addresses: the first that binds
/// wins) and listens with [`BACKLOG`].
pub fn bind(address: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for candidate in address.to_socket_addrs()? {
        match bind_one(candidate) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

fn bind_one(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
    // As std does on Unix: a restarted service binds again while old connections linger in
    // TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_a_free_port_and_accepts_connections() {
        let listener = bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(address).unwrap();
        let (_accepted, peer) = listener.accept().unwrap();
        assert!(peer.ip().is_loopback());
    }

    #[test]
    fn a_port_in_use_is_an_error() {
        let taken = bind("127.0.0.1:0").unwrap();
        let address = taken.local_addr().unwrap();
        assert!(bind(&address.to_string()).is_err());
    }
}
