//! A TCP proxy on the loopback that can go silent: while stalled it forwards nothing in either
//! direction and connects nowhere, yet closes nothing, as a database host whose packets are
//! dropped (the kernel still acknowledges what reaches the proxy, so only the service's own
//! deadlines can notice). Resuming forwards what was held back.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The running proxy; stops accepting and ends its connections on drop.
#[derive(Debug)]
pub struct StallingProxy {
    port: u16,
    stalled: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

const POLL: Duration = Duration::from_millis(20);

impl StallingProxy {
    /// Forwards a free loopback port to `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("proxy address").port();
        let stalled = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (stalled, stop) = (stalled.clone(), stop.clone());
            std::thread::spawn(move || accept(&listener, upstream, &stalled, &stop))
        };
        Self {
            port,
            stalled,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// The port to connect to instead of the upstream's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops forwarding, closing nothing.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// Forwards again, including what was held back.
    pub fn resume(&self) {
        self.stalled.store(false, Ordering::SeqCst);
    }
}

impl Drop for StallingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept(
    listener: &TcpListener,
    upstream: SocketAddr,
    stalled: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let (stalled, stop) = (stalled.clone(), stop.clone());
                std::thread::spawn(move || connect(client, upstream, &stalled, &stop));
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Connects to the upstream once not stalled (a dropped SYN), then pumps both ways.
fn connect(
    client: TcpStream,
    upstream: SocketAddr,
    stalled: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
) {
    while stalled.load(Ordering::SeqCst) {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(POLL);
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = client.set_nonblocking(false);
    let (Ok(client_reader), Ok(server_reader)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let upward = {
        let (stalled, stop) = (stalled.clone(), stop.clone());
        std::thread::spawn(move || pump(client_reader, server, &stalled, &stop))
    };
    pump(server_reader, client, stalled, stop);
    let _ = upward.join();
}

/// Copies `from` to `to`, holding data back while stalled; ends both when either side closes
/// or the proxy stops.
fn pump(mut from: TcpStream, mut to: TcpStream, stalled: &AtomicBool, stop: &AtomicBool) {
    let _ = from.set_read_timeout(Some(POLL));
    let mut buffer = [0u8; 16 * 1024];
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if stalled.load(Ordering::SeqCst) {
            std::thread::sleep(POLL);
            continue;
        }
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => {
                // Read before the stall began: hold it back until the proxy resumes.
                while stalled.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(POLL);
                }
                if to.write_all(&buffer[..read]).is_err() {
                    break;
                }
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
