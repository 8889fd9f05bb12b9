//! The path bridge: what makes a path given to `resmgr_attach` reachable by open(). Not
//! built yet: an attachment with a path stays reachable only by message (see README).

use libc::{c_char, c_int, c_uint};

/// Makes `path` the attachment `id` of the dispatch channel `chid` (a directory with
/// `_RESMGR_FLAG_DIR` in `flags`, a file otherwise): 0, or -1 with errno.
#[no_mangle]
pub extern "C" fn __libneutrino_resmgr_mount(
    chid: c_int,
    id: c_int,
    path: *const c_char,
    flags: c_uint,
) -> c_int {
    let _ = (chid, id, path, flags);
    0
}

/// Ends the path of attachment `id` of channel `chid`: 0, or -1 with errno.
#[no_mangle]
pub extern "C" fn __libneutrino_resmgr_unmount(chid: c_int, id: c_int) -> c_int {
    let _ = (chid, id);
    0
}

/// Whether process `pid` may share the OCB bound to the bridge's connection
/// (`scoid`, `coid`), as the bridge allowed it once with `key`: 1 or 0.
#[no_mangle]
pub extern "C" fn __libneutrino_resmgr_dup_allowed(
    scoid: c_int,
    coid: c_int,
    pid: libc::pid_t,
    key: c_uint,
) -> c_int {
    let _ = (scoid, coid, pid, key);
    0
}
