//! `procmgr_daemon()`. QNX's process manager moves the calling process into its own
//! session, lets its parent see it end with `status`, and keeps its pid. Linux cannot detach
//! a process from its parent, so the call forks: the parent ends with `status` (what its own
//! parent sees), the child goes on in a new session without a controlling terminal, with a
//! new pid. The child keeps only the calling thread and none of the library's state, so a
//! process that already holds channels, links or a death registration is refused (`EBUSY`)
//! rather than left without them.

use super::errno::{check, Errno, KResult};
use super::{process, procwatch};

pub const PROCMGR_DAEMON_NOCHDIR: u32 = 0x1;
pub const PROCMGR_DAEMON_NOCLOSE: u32 = 0x2;
pub const PROCMGR_DAEMON_NODEVNULL: u32 = 0x4;
pub const PROCMGR_DAEMON_KEEPUMASK: u32 = 0x8;

/// One more than the highest open descriptor, as QNX's process manager reports it.
fn fd_count() -> i32 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()).max().map_or(0, |m| m + 1)
        })
        .unwrap_or(0)
}

/// Returns, in the daemon, the descriptor count from before the descriptors were closed.
pub fn daemon(status: i32, flags: u32) -> KResult<i32> {
    if process::existing().is_some_and(|p| p.holds_state()) {
        return Err(Errno::EBUSY);
    }
    // SAFETY: fork; the child only makes async-signal-safe calls until it returns to the
    // application (the library's own atfork handlers run as for any fork).
    match check(unsafe { libc::fork() } as libc::c_long)? {
        0 => {}
        // The parent leaves without flushing stdio: the child has the buffers.
        // SAFETY: ends the process.
        _ => unsafe { libc::_exit(status) },
    }
    // SAFETY: plain syscalls in the child, which is never a group leader.
    unsafe {
        libc::setsid();
        if flags & PROCMGR_DAEMON_NOCHDIR == 0 {
            libc::chdir(c"/".as_ptr());
        }
        if flags & PROCMGR_DAEMON_KEEPUMASK == 0 {
            libc::umask(0);
        }
    }
    let nfds = fd_count();
    if flags & PROCMGR_DAEMON_NOCLOSE == 0 {
        for fd in 3..nfds {
            // SAFETY: the library's own descriptors were closed by the fork; the rest are
            // the application's, which asked for this.
            unsafe { libc::close(fd) };
        }
    }
    if flags & PROCMGR_DAEMON_NODEVNULL == 0 {
        // SAFETY: plain syscalls on descriptors of our own.
        unsafe {
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
            if fd >= 0 {
                for std in 0..3 {
                    libc::dup2(fd, std);
                }
                if fd > 2 {
                    libc::close(fd);
                }
            }
        }
    }
    // A new process: watchers learn of it now, not at its next call of ours.
    procwatch::announce();
    Ok(nfds)
}
