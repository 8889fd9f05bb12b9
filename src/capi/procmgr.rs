//! `<sys/procmgr.h>`: `procmgr_daemon` and `procmgr_event_notify` (`procmgr_ability`, which
//! is variadic, is in `src/c/procmgr.c`).

use super::or_errno;
use crate::kernel::event::RawEvent;
use crate::kernel::{procmgr, procwatch};
use libc::{c_int, c_uint, sigevent};

/// Runs the process in the background, in a session of its own (see `kernel::procmgr`).
#[no_mangle]
pub extern "C" fn procmgr_daemon(status: c_int, flags: c_uint) -> c_int {
    or_errno(|| procmgr::daemon(status, flags))
}

/// Asks for `event` when something in `flags` happens (`PROCMGR_EVENT_PROCESS_DEATH`);
/// flags 0 or a NULL event deregisters.
#[no_mangle]
pub extern "C" fn procmgr_event_notify(flags: c_uint, event: *const sigevent) -> c_int {
    or_errno(|| {
        let ev = if event.is_null() { None } else { Some(RawEvent::read(event)?) };
        procwatch::notify(flags, ev).map(|_| 0)
    })
}

extern "C" {
    fn procmgr_ability(pid: libc::pid_t, ability: c_uint, ...) -> c_int;
}

/// Keeps `procmgr_ability`'s object in the link: nothing in Rust calls it.
#[used]
static KEEP_ABILITY: unsafe extern "C" fn(libc::pid_t, c_uint, ...) -> c_int = procmgr_ability;
