//! `<unistd.h>`: QNX's `delay()`. An exported function rather than an inline in the
//! overlay, so that the header needs no `<time.h>` and works under any feature macros.

use libc::c_uint;

/// Sleeps `ms` milliseconds. Returns 0, or — as QNX documents — the milliseconds left
/// (rounded up) when a signal handler cut the sleep short. A cancellation point.
#[no_mangle]
pub extern "C" fn delay(ms: c_uint) -> c_uint {
    let want = libc::timespec {
        tv_sec: (ms / 1000) as libc::time_t,
        tv_nsec: (ms % 1000) as libc::c_long * 1_000_000,
    };
    let mut left = want;
    // SAFETY: valid timespecs; nanosleep writes `left` only when interrupted.
    if unsafe { libc::nanosleep(&want, &mut left) } == 0 {
        return 0;
    }
    (left.tv_sec as u64 * 1000 + (left.tv_nsec as u64).div_ceil(1_000_000)) as c_uint
}
