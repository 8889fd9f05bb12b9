//! Calls `<sys/neutrino.h>` declares that libneutrino does not support yet. Each fails with
//! `ENOSYS` (the `_r` form returns `-ENOSYS`) and is listed as "not yet" in the README's
//! compatibility table, so a port learns at once what is missing.
#![allow(non_snake_case, unused_variables)]

use super::{or_errno, or_neg};
use crate::kernel::errno::{Errno, KResult};
use libc::{c_int, clockid_t};

fn not_yet() -> KResult<c_int> {
    Err(Errno::ENOSYS)
}

#[no_mangle]
pub extern "C" fn ClockTime(id: clockid_t, new: *const u64, old: *mut u64) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn ClockTime_r(id: clockid_t, new: *const u64, old: *mut u64) -> c_int {
    or_neg(not_yet)
}
