//! How many malloc arenas the process may use.
//!
//! glibc gives a thread that finds the arenas busy a new one, up to eight per core, and each
//! arena keeps the memory freed into it. The service's threads (HTTP workers, the blocking pool,
//! pool and housekeeping threads) allocate a streamed page of a listing on one thread and free it
//! on another: with glibc's sixteen arenas on two cores, 16 concurrent listings of 10,000
//! consultants peaked at 47–57 MB, over the 50 MB the service is held to, and the ceiling grows
//! with the node's cores. Capped at [`ARENAS`], the same peaked at 45–46 MB (bench/RESULTS.md).
//! An operator's own `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` wins.

/// Caps glibc's arenas at [`ARENAS`] unless the environment says otherwise. Called first thing in
/// `main`, before any other thread is started.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none()
        && std::env::var_os("GLIBC_TUNABLES").is_none()
    {
        // SAFETY: mallopt only sets an allocator parameter, M_ARENA_MAX takes any positive
        // count, and no other thread exists yet.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}

/// Four: two held the same peak at 44 MB but cost the 50-consultant listing about a tenth of its
/// throughput (threads waiting for each other's arena); four cost it about 5 %.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 4;
