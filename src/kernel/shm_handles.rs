//! Shared-memory handles: `shm_create_handle` and its redemption by `shm_open_handle`,
//! `mmap_handle` and `shm_delete_handle`, between processes that share nothing but the
//! handle's value (which travels in a message).
//!
//! There is no daemon, so a handle lives in the process that created it: the value carries
//! the creator's pid in its low 22 bits (Linux pids are below 2^22) and 42 random bits
//! above. The creator keeps a table of pending handles, each with its own descriptor of the
//! object opened with exactly the handle's access. The recipient asks the creator over the
//! link to its service thread; the creator checks, from the kernel's view of the socket
//! (`SO_PEERCRED`), that the asker is the very process the handle was made for (its pid,
//! while a pidfd taken when the handle was made shows that process has not exited, so a
//! recycled pid gets nothing), removes the entry (single use) and passes back
//! (`SCM_RIGHTS`) a descriptor opened with the access asked for, never more than the
//! handle's.
//!
//! A handle dies with its creator: after the creator's exit it cannot be redeemed (`EBADF`)
//! or deleted (`ESRCH`); the object itself lives on while anything maps or opens it.

use super::errno::{check, Errno, KResult};
use super::process::current;
use super::shm::{object_access, reopen, rights};
use crate::transport::fdreg::Tracked;
use crate::transport::link::{peer_cred, Request, Response, Wait, OP_SHM_DELETE, OP_SHM_OPEN};
use crate::transport::lock::Mutex;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicPtr, Ordering};

pub const SHM_CREATE_HANDLE_OPT_NOFD: u32 = 0x1;
pub const SHM_CREATE_HANDLE_OPT_SUBRANGE: u32 = 0x2;
const SHM_CREATE_HANDLE_OPT_VALID_MASK: u32 = 0x3;

const PID_BITS: u32 = 22;
const PID_MASK: u64 = (1 << PID_BITS) - 1;

/// The pid of the process that made `handle`.
pub fn creator(handle: u64) -> libc::pid_t {
    (handle & PID_MASK) as libc::pid_t
}

/// A handle waiting for its recipient.
struct Pending {
    target: libc::pid_t,
    /// A pidfd of the target: while it has not exited, no other process has its pid.
    process: Tracked,
    accmode: i32,
    /// `SHM_CREATE_HANDLE_OPT_NOFD`: only `mmap_handle` may redeem it.
    map_only: bool,
    object: Tracked,
}

/// The calling process's pending handles. A `fork()` child starts with none: it abandons
/// the parent's table (its descriptors, all `Tracked`, were closed by the fork handler)
/// without touching its lock, which another thread may have held at the fork.
struct Table {
    owner: libc::pid_t,
    handles: Mutex<Handles>,
}

struct Handles {
    pending: HashMap<u64, Pending>,
    /// The size at which handles whose recipient has exited are dropped next: twice the
    /// size left by the last sweep, so sweeping costs O(1) per handle made.
    sweep_at: usize,
}

static TABLE: AtomicPtr<Table> = AtomicPtr::new(std::ptr::null_mut());

fn table() -> &'static Table {
    // SAFETY: plain syscall.
    let me = unsafe { libc::getpid() };
    loop {
        let t = TABLE.load(Ordering::Acquire);
        // SAFETY: a published table is leaked and never freed.
        if !t.is_null() && unsafe { (*t).owner } == me {
            return unsafe { &*t };
        }
        let fresh = Box::into_raw(Box::new(Table {
            owner: me,
            handles: Mutex::new(Handles { pending: HashMap::new(), sweep_at: 64 }),
        }));
        if TABLE.compare_exchange(t, fresh, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // SAFETY: just published; leaked for the life of the process.
            return unsafe { &*fresh };
        }
        // SAFETY: `fresh` was never published.
        drop(unsafe { Box::from_raw(fresh) });
    }
}

/// A pidfd of process `pid`: `ESRCH` if there is no such process.
fn pidfd(pid: libc::pid_t) -> KResult<OwnedFd> {
    // SAFETY: plain syscall; the descriptor returned is ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    check(fd)?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Whether the process behind `pidfd` has exited (a pidfd becomes readable then).
fn exited(pidfd: &Tracked) -> bool {
    let mut p = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: p is valid for the call; a zero timeout never blocks.
    unsafe { libc::poll(&mut p, 1, 0) != 0 }
}

fn random_bits() -> KResult<u64> {
    let mut v = 0u64;
    // SAFETY: `v` is valid for 8 bytes.
    let n = unsafe { libc::getrandom(&mut v as *mut u64 as *mut libc::c_void, 8, 0) };
    if n != 8 {
        return Err(Errno::EAGAIN);
    }
    Ok(v)
}

/// `shm_create_handle`: a single-use handle through which process `target` may open the
/// object behind `fd` with access `flags` (exactly one access mode, no wider than `fd`'s).
pub fn create(fd: RawFd, target: libc::pid_t, flags: i32, options: u32) -> KResult<u64> {
    if options & !SHM_CREATE_HANDLE_OPT_VALID_MASK != 0 || options & SHM_CREATE_HANDLE_OPT_SUBRANGE != 0 {
        return Err(Errno::EINVAL);
    }
    let accmode = flags & libc::O_ACCMODE;
    let want = rights(accmode).filter(|_| flags & !libc::O_ACCMODE == 0).ok_or(Errno::EINVAL)?;
    if target <= 0 {
        return Err(Errno::EINVAL);
    }
    let have = object_access(fd)?;
    if want & !rights(have).unwrap_or(0) != 0 {
        return Err(Errno(libc::EACCES));
    }
    let process = pidfd(target)?;
    // The object's own permission bits may refuse the creator a second open (an object
    // created 0400 but opened read-write); a duplicate of `fd` then gives the same access.
    let object = match reopen(fd, accmode) {
        Err(e) if e.0 == libc::EACCES && accmode == have => dup(fd)?,
        r => r?,
    };
    let p = current(); // also readies the fork handler that closes `object` in a child
    if target != p.pid {
        p.service().listen()?;
    }
    let pending = Pending {
        target,
        process: Tracked::new(process),
        accmode,
        map_only: options & SHM_CREATE_HANDLE_OPT_NOFD != 0,
        object: Tracked::new(object),
    };
    let mut handles = table().handles.lock();
    if handles.pending.len() >= handles.sweep_at {
        // Nobody can redeem a handle whose recipient has exited.
        handles.pending.retain(|_, h| !exited(&h.process));
        handles.sweep_at = (2 * handles.pending.len()).max(64);
    }
    let table = &mut handles.pending;
    let handle = loop {
        let h = (random_bits()? << PID_BITS) | (p.pid as u64 & PID_MASK);
        if !table.contains_key(&h) {
            break h;
        }
    };
    table.insert(handle, pending);
    Ok(handle)
}

fn dup(fd: RawFd) -> KResult<OwnedFd> {
    // SAFETY: plain syscall; the descriptor returned is ours.
    let new = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) } as libc::c_long)?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(new as RawFd) })
}

/// In the creator: process `peer` redeems `handle` with access `accmode` (`map` when it is
/// for `mmap_handle`).
fn redeem(peer: libc::pid_t, handle: u64, accmode: i32, map: bool) -> KResult<OwnedFd> {
    let want = rights(accmode).ok_or(Errno::EINVAL)?;
    let mut handles = table().handles.lock();
    let table = &mut handles.pending;
    // A handle made for another process does not exist as far as `peer` can tell.
    let h = table.get(&handle).filter(|h| h.target == peer).ok_or(Errno::EBADF)?;
    if exited(&h.process) {
        // The recipient died and its pid went to another process.
        table.remove(&handle);
        return Err(Errno::EBADF);
    }
    if (h.map_only && !map) || want & !rights(h.accmode).unwrap_or(0) != 0 {
        return Err(Errno(libc::EACCES));
    }
    let fd = if accmode == h.accmode {
        dup(h.object.as_raw_fd())?
    } else {
        reopen(h.object.as_raw_fd(), accmode)?
    };
    table.remove(&handle);
    Ok(fd)
}

/// In the creator: process `peer` deletes `handle`; only its creator and its recipient may.
fn delete_for(peer: libc::pid_t, handle: u64) -> KResult<()> {
    let mut handles = table().handles.lock();
    let table = &mut handles.pending;
    match table.get(&handle) {
        Some(h) if h.target == peer || peer == current().pid => {
            table.remove(&handle);
            Ok(())
        }
        _ => Err(Errno::ESRCH),
    }
}

/// The creator's service thread: a request from process `peer` about one of our handles.
pub fn serve(peer: libc::pid_t, req: &Request) -> KResult<(Response, Vec<OwnedFd>)> {
    match req.op {
        OP_SHM_OPEN => {
            Ok((Response::default(), vec![redeem(peer, req.value, req.flags as i32, req.code != 0)?]))
        }
        OP_SHM_DELETE => delete_for(peer, req.value).map(|_| (Response::default(), Vec::new())),
        _ => Err(Errno::EINVAL),
    }
}

/// Asks the creator of `handle` over the link to it: `ESRCH` if it is gone (or another
/// process answers for its pid).
fn ask(req: Request) -> KResult<(Response, Vec<OwnedFd>)> {
    let pid = creator(req.value);
    let link = current().link(pid)?;
    if peer_cred(link.raw_fd()).map(|c| c.pid) != Ok(pid) {
        return Err(Errno::ESRCH);
    }
    let (resp, fds) =
        link.request(&req, Wait::Bounded)
            .map_err(|e| if e == Errno::ETIMEDOUT { Errno::EAGAIN } else { e })?;
    if resp.status != 0 {
        return Err(Errno(resp.status));
    }
    Ok((resp, fds))
}

/// `shm_open_handle` (`map`: for `mmap_handle`): a descriptor of the object behind
/// `handle`, opened with `flags`' access mode (`O_CLOEXEC` is always set).
pub fn open(handle: u64, flags: i32, map: bool) -> KResult<OwnedFd> {
    let accmode = flags & libc::O_ACCMODE;
    if flags & !(libc::O_ACCMODE | libc::O_CLOEXEC) != 0 || rights(accmode).is_none() {
        return Err(Errno::EINVAL);
    }
    let me = current().pid;
    if creator(handle) == me {
        return redeem(me, handle, accmode, map);
    }
    let req = Request {
        op: OP_SHM_OPEN,
        flags: accmode as u32,
        code: map as i32,
        value: handle,
        ..Default::default()
    };
    let (_, fds) = ask(req).map_err(|e| if e == Errno::ESRCH { Errno::EBADF } else { e })?;
    let fd = <[OwnedFd; 1]>::try_from(fds).map_err(|_| Errno::EIO)?.into_iter().next().ok_or(Errno::EIO)?;
    // The creator is trusted with the memory, not with what it sends: check it is what was
    // asked for.
    if object_access(fd.as_raw_fd()) != Ok(accmode) {
        return Err(Errno::EIO);
    }
    Ok(fd)
}

/// `shm_delete_handle`: by its creator or its recipient.
pub fn delete(handle: u64) -> KResult<()> {
    if creator(handle) == current().pid {
        return delete_for(current().pid, handle);
    }
    ask(Request { op: OP_SHM_DELETE, value: handle, ..Default::default() }).map(|_| ())
}
