//! Processes seen from outside: signals, resident memory, open files, and the limit on open
//! files (read from `/proc`, changed with `prlimit`: no unsafe code, no extra crate).

use std::process::Command;

/// Sends signal `name` (`TERM`, `KILL`, …) to `pid` with `kill`.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Resident memory of `pid` in KiB (`VmRSS` of `/proc/<pid>/status`), `None` once it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// Number of open file descriptors of `pid` (0 once it is gone).
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |entries| entries.count())
}

/// The soft and hard limits on open files of `pid` (`Max open files` of `/proc/<pid>/limits`).
pub fn open_file_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_else(|error| panic!("cannot read /proc/{pid}/limits: {error}"));
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("/proc/<pid>/limits has a `Max open files` line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|word| {
            if word == "unlimited" {
                Some(u64::MAX)
            } else {
                word.parse().ok()
            }
        })
        .collect();
    assert!(numbers.len() >= 2, "unexpected limits line: {line}");
    (numbers[0], numbers[1])
}

/// Makes sure this process (and so every service it starts afterwards) may open `needed` files:
/// raises the soft limit up to the hard one with `prlimit` when it is lower. Fails, saying what
/// to do, when the hard limit itself is too low.
pub fn ensure_open_file_limit(needed: u64) -> u64 {
    let me = std::process::id();
    let (soft, hard) = open_file_limits(me);
    if soft >= needed {
        return soft;
    }
    assert!(
        hard >= needed,
        "this test needs {needed} open files but the hard limit is {hard}: raise it \
         (e.g. `ulimit -Hn {needed}` as root, or LimitNOFILE= in the service manager) and run again"
    );
    let output = Command::new("prlimit")
        .args([
            "--pid".to_owned(),
            me.to_string(),
            format!("--nofile={hard}:{hard}"),
        ])
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run prlimit to raise the open-file limit from {soft} to {hard} ({error}); \
                 install util-linux (`apt-get install -y util-linux`) or run `ulimit -n {needed}` \
                 before the tests"
            )
        });
    assert!(
        output.status.success(),
        "prlimit failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (soft, _) = open_file_limits(me);
    assert!(
        soft >= needed,
        "the soft limit is still {soft} after prlimit"
    );
    soft
}

/// Whether this process runs as root (`Uid:` of `/proc/self/status`).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}
