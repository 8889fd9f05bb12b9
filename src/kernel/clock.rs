//! Clock ids as QNX programs pass them: Linux's, plus QNX's `CLOCK_SOFTTIME`.

use super::abi::CLOCK_SOFTTIME;
use super::errno::{Errno, KResult};
use libc::clockid_t;

const NSEC_PER_SEC: u64 = 1_000_000_000;

/// The Linux clock behind a clock id a QNX program passes.
pub fn linux_clock(id: clockid_t) -> clockid_t {
    if id == CLOCK_SOFTTIME {
        libc::CLOCK_REALTIME
    } else {
        id
    }
}

/// A clock's current value in nanoseconds (`EINVAL` for an unknown clock).
pub fn now_ns(id: clockid_t) -> KResult<u64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write.
    if unsafe { libc::clock_gettime(linux_clock(id), &mut ts) } != 0 {
        return Err(Errno::last());
    }
    // QNX keeps times as unsigned 64-bit nanoseconds; a realtime clock set before 1970 wraps.
    Ok((ts.tv_sec as u64).wrapping_mul(NSEC_PER_SEC).wrapping_add(ts.tv_nsec as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softtime_reads_the_realtime_clock() {
        let soft = now_ns(CLOCK_SOFTTIME).unwrap();
        let real = now_ns(libc::CLOCK_REALTIME).unwrap();
        assert!(real >= soft && real - soft < 5 * NSEC_PER_SEC);
    }
}
