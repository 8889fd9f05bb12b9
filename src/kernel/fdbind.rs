//! `MsgSend*(fd, ...)` on the descriptor `open()` gave for a resource manager's path. On QNX
//! that descriptor is a connection; here it is a FUSE file of the path bridge, so the first
//! message on it binds it to one: the bridge names, in answer to `NEUTRINO_IOC_BIND`, the
//! resource manager's channel and the connection its OCB is bound to, with a one-use key; we
//! attach a side channel there and send `_IO_DUP` with the key, which binds the same OCB to
//! our connection too (a satellite, which the resource manager ends when the descriptor's
//! own binding ends, at `close()`).
//!
//! The table of bindings is the process's (so a `fork()` child, which starts with a fresh
//! process state, has none and binds its inherited descriptors anew with its own pid). It
//! holds no duplicate of the descriptor: that would keep the FUSE file open, and `close()`
//! would never reach the resource manager. Instead each binding records the file's device
//! and inode, compared with `statx()` before every message: a descriptor closed since is
//! `EBADF`, and its number reused for another file is bound anew (`AT_STATX_DONT_SYNC`
//! answers from the inode the kernel has, without a round trip to the bridge). The same file
//! opened again under the same number is told by the satellite's `EBADF` (see `send`).
//!
//! Whoever mounts a FUSE file system answers its ioctls, `NEUTRINO_IOC_BIND` included, and
//! any user may mount one (fusermount3). So a binding is made only where the kernel vouches
//! for the answer: the descriptor is a FUSE file, and the process it names (whose identity
//! the attach takes from the kernel) runs as the user who mounted that file system, the
//! only one who can serve it. A hostile file system can then send our messages only to its
//! own user's processes, which it could serve itself, never to a third party's server in
//! our name.
//!
//! Kept here, beside the coids, because it makes a descriptor a coid, which only the kernel
//! numbers; the resource-manager layer only answers the messages.

use super::abi::{_msg_info, _NTO_SIDE_CHANNEL};
use super::client;
use super::errno::{Errno, KResult};
use super::process::{current, Process};
use crate::transport::copy::Seg;
use std::collections::HashMap;

/// The bridge's answer to `NEUTRINO_IOC_BIND` (`struct neutrino_bind`, 24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct NeutrinoBind {
    pub pid: i32,
    pub chid: i32,
    pub scoid: i32,
    pub coid: i32,
    pub key: u32,
    /// Which open of the bridge's process this is, never 0: the file opened again under the
    /// same descriptor has another, whatever connection numbers it reuses.
    pub open: u32,
}

/// `_IOR(0xE7, 0x51, struct neutrino_bind)`.
pub const NEUTRINO_IOC_BIND: u32 =
    (2 << 30) | ((std::mem::size_of::<NeutrinoBind>() as u32) << 16) | (0xE7 << 8) | 0x51;

const _IO_DUP: u16 = 0x115;

/// `io_dup_t` (<sys/iomsg.h>).
#[repr(C)]
struct IoDup {
    ty: u16,
    combine_len: u16,
    info: _msg_info,
    reserved: u32,
    key: u32,
}

/// The file a descriptor names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: (u32, u32),
    ino: u64,
}

/// Which open file of the bridge our binding shares: (pid, chid, scoid, coid, open).
type Origin = (i32, i32, i32, i32, u32);

pub struct Binding {
    coid: i32,
    file: FileId,
    origin: Origin,
}

/// The process's bindings, by descriptor.
pub type Bindings = HashMap<i32, Binding>;

/// Whether `coid` is a number a descriptor may have.
pub fn is_fd(coid: i32) -> bool {
    coid >= 0 && coid as u32 & _NTO_SIDE_CHANNEL == 0
}

/// The file `fd` names: `EBADF` once it is closed.
fn file_of(fd: i32) -> KResult<FileId> {
    // SAFETY: all-zero is a valid statx.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: an empty path with AT_EMPTY_PATH names `fd` itself; `st` is ours.
    let r = unsafe {
        libc::statx(
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC,
            libc::STATX_INO,
            &mut st,
        )
    };
    if r != 0 {
        return Err(Errno::last());
    }
    Ok(FileId { dev: (st.stx_dev_major, st.stx_dev_minor), ino: st.stx_ino })
}

/// `FUSE_SUPER_MAGIC`: the `f_type` of a FUSE file system.
const FUSE_SUPER_MAGIC: i64 = 0x6573_5546;

/// The user who mounted the FUSE file system `file` lives on (its `user_id` option, which
/// the kernel sets from the mounting process), from the kernel's table of our mounts.
fn mount_owner(mountinfo: &str, file: FileId) -> Option<libc::uid_t> {
    let dev = format!("{}:{}", file.dev.0, file.dev.1);
    mountinfo.lines().find_map(|l| {
        let (mount, fs) = l.split_once(" - ")?;
        if mount.split(' ').nth(2)? != dev {
            return None;
        }
        let mut fs = fs.split(' ');
        let ty = fs.next()?;
        if ty != "fuse" && !ty.starts_with("fuse.") {
            return None;
        }
        fs.nth(1)?.split(',').find_map(|o| o.strip_prefix("user_id=")?.parse().ok())
    })
}

/// Whether `fd` is a FUSE file: the bind request goes to no other driver.
fn is_fuse(fd: i32) -> bool {
    // SAFETY: all-zero is a valid statfs, filled by the call.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: st is ours for the call.
    unsafe { libc::fstatfs(fd, &mut st) == 0 && st.f_type as i64 == FUSE_SUPER_MAGIC }
}

/// The effective uid of the server process behind `coid`, as the kernel saw it.
fn server_uid(coid: i32) -> KResult<libc::uid_t> {
    match &client::lookup(current(), coid)?.link {
        Some(link) => link.peer().map(|c| c.uid),
        // SAFETY: plain syscall.
        None => Ok(unsafe { libc::geteuid() }),
    }
}

/// Asks the bridge behind `fd` for a binding: `ENOTTY` when `fd` is no resource manager's.
fn ask(fd: i32) -> KResult<NeutrinoBind> {
    if !is_fuse(fd) {
        return Err(Errno::ENOTTY);
    }
    let mut b = NeutrinoBind::default();
    // SAFETY: the request writes at most size_of::<NeutrinoBind>() bytes (its size field).
    let r = unsafe { libc::ioctl(fd, NEUTRINO_IOC_BIND as _, &mut b as *mut NeutrinoBind) };
    if r != 0 {
        let e = Errno::last();
        return Err(if e == Errno::EBADF { e } else { Errno::ENOTTY });
    }
    // Another driver that happens to answer the request number fills in something else.
    if b.open == 0 || b.pid <= 0 || b.chid <= 0 {
        return Err(Errno::ENOTTY);
    }
    Ok(b)
}

/// A new binding of `fd` (which names `file`): our side channel, sharing the OCB.
fn bind(fd: i32, file: FileId) -> KResult<Binding> {
    let b = ask(fd)?;
    let owner = std::fs::read_to_string("/proc/self/mountinfo").ok().and_then(|m| mount_owner(&m, file));
    let coid = client::attach(0, b.pid, b.chid, _NTO_SIDE_CHANNEL, 0)?;
    if owner.is_none() || server_uid(coid).ok() != owner {
        // Not a resource manager we may reach by message: devctl() then goes to the file
        // system itself, as an ioctl, which is what the caller chose.
        let _ = client::detach(coid);
        return Err(Errno::ENOTTY);
    }
    let dup = IoDup {
        ty: _IO_DUP,
        combine_len: std::mem::size_of::<IoDup>() as u16,
        info: _msg_info { pid: b.pid, chid: b.chid, scoid: b.scoid, coid: b.coid, ..Default::default() },
        reserved: 0,
        key: b.key,
    };
    let msg = [Seg { base: &dup as *const IoDup as usize, len: std::mem::size_of::<IoDup>() }];
    match client::send(current(), coid, &msg, &[], false) {
        Ok(_) => Ok(Binding { coid, file, origin: (b.pid, b.chid, b.scoid, b.coid, b.open) }),
        Err(e) => {
            let _ = client::detach(coid);
            Err(e)
        }
    }
}

/// The binding of `fd` (naming `file`) to send on: the one recorded, or a new one.
fn binding(p: &Process, fd: i32, file: FileId) -> KResult<(i32, Origin)> {
    let stale = {
        let mut table = p.fdbinds.lock();
        match table.get(&fd) {
            Some(b) if b.file == file => return Ok((b.coid, b.origin)),
            Some(_) => table.remove(&fd).map(|b| b.coid),
            None => None,
        }
    };
    if let Some(coid) = stale {
        let _ = client::detach(coid);
    }
    let fresh = bind(fd, file)?;
    Ok(install(p, fd, fresh))
}

/// Records `fresh` for `fd`, unless a thread that raced us recorded one for the same file.
fn install(p: &Process, fd: i32, fresh: Binding) -> (i32, Origin) {
    let mut table = p.fdbinds.lock();
    let (keep, drop) = match table.get(&fd) {
        Some(b) if b.file == fresh.file => ((b.coid, b.origin), fresh.coid),
        _ => {
            let kept = (fresh.coid, fresh.origin);
            let old = table.insert(fd, fresh).map(|b| b.coid);
            match old {
                Some(old) => (kept, old),
                None => return kept,
            }
        }
    };
    std::mem::drop(table);
    let _ = client::detach(drop);
    keep
}

/// Forgets the binding of `fd` if it is still `coid`.
fn forget(p: &Process, fd: i32, coid: i32) {
    let gone = {
        let mut table = p.fdbinds.lock();
        table.get(&fd).is_some_and(|b| b.coid == coid) && table.remove(&fd).is_some()
    };
    if gone {
        let _ = client::detach(coid);
    }
}

/// `MsgSend*` on descriptor `fd`, which is no coid: through its binding, made on first use.
/// Anything that is not a resource manager's descriptor is `EBADF`, as on QNX.
///
/// A satellite whose descriptor was closed answers `EBADF`, and so may the resource manager
/// itself (a read on a descriptor open for writing only): then the binding is made again,
/// and the message sent again only if the descriptor's OCB is another one now (the same file
/// opened again under the same number), never twice to the same OCB.
#[cold]
pub fn send(p: &Process, fd: i32, smsg: &[Seg], rmsg: &[Seg], cancel: bool) -> KResult<i64> {
    let file = file_of(fd).map_err(|_| Errno::EBADF)?;
    let (coid, origin) = binding(p, fd, file).map_err(|_| Errno::EBADF)?;
    match client::send(p, coid, smsg, rmsg, cancel) {
        Err(Errno::EBADF) => {
            forget(p, fd, coid);
            let file = file_of(fd).map_err(|_| Errno::EBADF)?;
            let (coid, now) = binding(p, fd, file).map_err(|_| Errno::EBADF)?;
            if now == origin {
                return Err(Errno::EBADF);
            }
            client::send(p, coid, smsg, rmsg, cancel)
        }
        r => r,
    }
}

/// Whether messages reach descriptor `fd`: a coid, or a resource manager's descriptor (bound
/// now if it was not); `false`: some other file, for plain system calls; `EBADF`: closed.
pub fn reaches(fd: i32) -> KResult<bool> {
    let p = current();
    if client::lookup(p, fd).is_ok() {
        return Ok(true);
    }
    if !is_fd(fd) {
        return Err(Errno::EBADF);
    }
    let file = file_of(fd)?;
    match binding(p, fd, file) {
        Ok(_) => Ok(true),
        Err(Errno::ENOTTY) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bind_request_is_linux_ior() {
        assert_eq!(std::mem::size_of::<NeutrinoBind>(), 24);
        assert_eq!(NEUTRINO_IOC_BIND, 0x8018_E751);
        // io_dup_t as <sys/iomsg.h> lays it out: the _msg_info aligned at 8.
        assert_eq!(std::mem::offset_of!(IoDup, info), 8);
        assert_eq!(std::mem::offset_of!(IoDup, key), 76);
        assert_eq!(std::mem::size_of::<IoDup>(), 80);
    }

    #[test]
    fn the_mount_owner_is_the_fuse_user_id_of_the_files_device() {
        let info = "36 25 0:5 / /dev rw - devtmpfs udev rw,size=1k\n\
                    91 29 0:52 / /tmp/x rw,nosuid,nodev - fuse.neutrino neutrino rw,user_id=1000,group_id=1000\n\
                    92 29 0:53 / /tmp/y rw - fuse a rw,user_id=0,group_id=0,allow_other\n\
                    93 29 0:54 / /tmp/z rw - tmpfs t rw,user_id=7\n\
                    94 29 0:55 /a\\040b /tmp/w rw - fuse.x x rw,group_id=0\n";
        let at = |minor| FileId { dev: (0, minor), ino: 1 };
        assert_eq!(mount_owner(info, at(52)), Some(1000));
        assert_eq!(mount_owner(info, at(53)), Some(0));
        assert_eq!(mount_owner(info, at(54)), None); // not FUSE
        assert_eq!(mount_owner(info, at(55)), None); // no user_id
        assert_eq!(mount_owner(info, at(5)), None);
        assert_eq!(mount_owner(info, at(99)), None);
    }

    #[test]
    fn descriptors_are_told_from_side_channels() {
        assert!(is_fd(0) && is_fd(1023));
        assert!(!is_fd(-1));
        assert!(!is_fd((_NTO_SIDE_CHANNEL | 3) as i32));
    }

    #[test]
    fn a_closed_descriptor_names_no_file() {
        let mut fds = [0; 2];
        // SAFETY: plain syscalls on descriptors of our own.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            let id = file_of(fds[0]).expect("an open pipe has an inode");
            assert_ne!(file_of(fds[1]).map(|f| f.ino), Err(Errno::EBADF));
            assert_eq!(ask(fds[0]), Err(Errno::ENOTTY));
            libc::close(fds[0]);
            libc::close(fds[1]);
            assert_eq!(file_of(fds[0]), Err(Errno::EBADF));
            assert_ne!(id.ino, 0);
        }
    }
}
