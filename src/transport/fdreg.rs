//! A lock-free record of the descriptors the library holds, so that a `fork()` child can
//! close them all: a child that kept a link or the listener open would hide its parent's
//! death from the peers, or answer for a pid that is not its own.

use std::sync::atomic::{AtomicI32, Ordering};

const CAP: usize = 4096;
static FDS: [AtomicI32; CAP] = [const { AtomicI32::new(-1) }; CAP];

/// Records `fd` as the library's.
pub fn add(fd: i32) {
    for slot in &FDS {
        if slot.compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            return;
        }
    }
}

/// Forgets `fd` (call before closing it).
pub fn remove(fd: i32) {
    for slot in &FDS {
        if slot.compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            return;
        }
    }
}

/// In a fork child: closes every recorded descriptor. Async-signal-safe.
pub fn close_all() {
    for slot in &FDS {
        let fd = slot.swap(-1, Ordering::AcqRel);
        if fd >= 0 {
            // SAFETY: closing a descriptor the library opened and no longer uses.
            unsafe { libc::close(fd) };
        }
    }
}

/// A descriptor recorded for the lifetime of the value.
pub struct Tracked(std::os::fd::OwnedFd);

impl Tracked {
    pub fn new(fd: std::os::fd::OwnedFd) -> Tracked {
        use std::os::fd::AsRawFd;
        add(fd.as_raw_fd());
        Tracked(fd)
    }
}

impl std::os::fd::AsRawFd for Tracked {
    fn as_raw_fd(&self) -> i32 {
        self.0.as_raw_fd()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        remove(self.0.as_raw_fd());
    }
}
