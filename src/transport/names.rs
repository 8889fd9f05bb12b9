//! Names as abstract Unix sockets: a server holds the name `<path>` by listening on
//! `\0neutrino.name/<path>`. Binding is atomic and exclusive, and the kernel frees the
//! address when the last descriptor on it closes (the server detaches, exits or is killed),
//! so a name is visible to every process of the machine without a daemon, never outlives
//! its server, and cannot be taken over while it lives. A lookup connects, learns the
//! server's pid from the kernel (`SO_PEERCRED`) and reads the server's [`Answer`].

use super::link::{peer_cred, Service};
use crate::kernel::errno::{check, Errno, KResult};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const PREFIX: &[u8] = b"neutrino.name/";

/// The longest name an abstract socket address can hold after the prefix.
pub const MAX_NAME: usize = 107 - PREFIX.len();

/// What a server tells a process that looks one of its names up.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Answer {
    pub chid: i32,
}

fn address(path: &[u8]) -> KResult<(libc::sockaddr_un, libc::socklen_t)> {
    if path.len() > MAX_NAME {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    // SAFETY: sockaddr_un is plain data.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // sun_path[0] stays 0: the abstract namespace.
    for (i, b) in PREFIX.iter().chain(path).enumerate() {
        addr.sun_path[i + 1] = *b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + PREFIX.len() + path.len();
    Ok((addr, len as libc::socklen_t))
}

fn socket(flags: i32) -> KResult<OwnedFd> {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | flags, 0) };
    check(fd as libc::c_long)?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Takes the name `path`: `EEXIST` while another process (or this one) holds it.
pub fn listen(path: &[u8]) -> KResult<OwnedFd> {
    let (addr, len) = address(path)?;
    let fd = socket(libc::SOCK_NONBLOCK)?;
    // SAFETY: addr is a valid sockaddr_un of `len` bytes.
    let r = unsafe { libc::bind(fd.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len) };
    check(r as libc::c_long).map_err(|e| if e.0 == libc::EADDRINUSE { Errno(libc::EEXIST) } else { e })?;
    // SAFETY: plain syscall on our socket.
    check(unsafe { libc::listen(fd.as_raw_fd(), 128) } as libc::c_long)?;
    Ok(fd)
}

/// Answers the processes waiting on `listener` (those a turn of the service thread takes);
/// never blocks.
pub fn answer_all(service: &Service, listener: RawFd, answer: &Answer) {
    service.accept_each(listener, |fd, _| {
        // SAFETY: answer is plain data of the stated size.
        unsafe {
            libc::send(
                fd.as_raw_fd(),
                answer as *const Answer as *const libc::c_void,
                std::mem::size_of::<Answer>(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
    });
}

/// Looks `path` up: the pid of the process holding it, in the kernel's words, and its
/// answer. `ENOENT` when nobody holds the name; `EINTR` when a signal interrupts the wait.
pub fn lookup(path: &[u8]) -> KResult<(libc::pid_t, Answer)> {
    let (addr, len) = address(path)?;
    let fd = socket(0)?;
    // SAFETY: addr is a valid sockaddr_un of `len` bytes.
    let r = unsafe { libc::connect(fd.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len) };
    if r != 0 {
        return Err(match Errno::last() {
            Errno::EINTR => Errno::EINTR,
            e if e.0 == libc::EMFILE || e.0 == libc::ENFILE || e == Errno::ENOMEM => e,
            _ => Errno(libc::ENOENT),
        });
    }
    let pid = peer_cred(fd.as_raw_fd())?.pid;
    let mut answer = Answer::default();
    // SAFETY: answer is plain data of the stated size.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            &mut answer as *mut Answer as *mut libc::c_void,
            std::mem::size_of::<Answer>(),
            0,
        )
    };
    match n {
        n if n == std::mem::size_of::<Answer>() as isize => Ok((pid, answer)),
        -1 if Errno::last() == Errno::EINTR => Err(Errno::EINTR),
        // The server let go of the name (or died) before it answered.
        _ => Err(Errno(libc::ENOENT)),
    }
}
