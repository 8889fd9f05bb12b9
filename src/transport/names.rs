//! Names as abstract Unix sockets: a server holds the name `<path>` by listening on
//! `\0neutrino.name/<path>` or, when another process squats that address, on a fallback
//! address `\0neutrino.name#<hash of path>.<random>` (see [`super::rendezvous`]). The kernel
//! frees an address when the last descriptor on it closes (the server detaches, exits or is
//! killed), so a name is visible to every process of the machine without a daemon and never
//! outlives its server. Whom a lookup accepts as the holder, and whom `listen` counts as
//! holding the name already, is the caller's rule, applied to what the kernel says of the
//! holder (`SO_PEERCRED`), never to what the holder says. A lookup then reads the holder's
//! [`Answer`].

use super::link::{PeerCred, Service};
use super::rendezvous::{self, Address};
use crate::kernel::errno::{Errno, KResult};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

const PREFIX: &[u8] = b"neutrino.name/";
const FALLBACK_PREFIX: &str = "neutrino.name#";

/// The longest name an abstract socket address can hold after the prefix.
pub const MAX_NAME: usize = rendezvous::MAX_ADDRESS - PREFIX.len();

/// What a server tells a process that looks one of its names up.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Answer {
    pub chid: i32,
}

/// The primary and fallback addresses of `path`. The fallback names the path by a hash,
/// so every name that fits the primary has one; two names whose hashes collide only make
/// a lookup try (and check) one more holder.
fn addresses(path: &[u8]) -> KResult<(Vec<u8>, Vec<u8>)> {
    if path.len() > MAX_NAME {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    // FNV-1a, 64 bits.
    let hash =
        path.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100_0000_01b3));
    Ok(([PREFIX, path].concat(), format!("{FALLBACK_PREFIX}{hash:016x}").into_bytes()))
}

/// Takes the name `path`: `EEXIST` while a process that `holder_counts` accepts (this one
/// included) holds it. Another holder does not keep us from it: we listen on a fallback
/// address beside it.
pub fn listen(path: &[u8], holder_counts: &dyn Fn(&PeerCred) -> bool) -> KResult<OwnedFd> {
    let (primary, fallback) = addresses(path)?;
    let at = Address { primary: &primary, fallback: &fallback };
    if let Some(fd) = rendezvous::bind(at)? {
        return Ok(fd);
    }
    // A holder whose backlog is full is not waited for: a squatter could keep it so.
    match rendezvous::connect_verified(at, rendezvous::deadline(), holder_counts, &|| true, false) {
        Ok(_) => Err(Errno(libc::EEXIST)),
        Err(e) if e.0 == libc::ENOENT => rendezvous::bind_unclaimable(at),
        Err(e) => Err(e),
    }
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

/// Whether a process that `accept` accepts holds `path`, in the kernel's words: a connect
/// to each listener (the usual address, then the fallbacks), never waiting on any of them.
/// A holder whose backlog is full counts as not holding it.
pub fn held_by(path: &[u8], accept: &dyn Fn(&PeerCred) -> bool) -> bool {
    let Ok((primary, fallback)) = addresses(path) else { return false };
    let at = Address { primary: &primary, fallback: &fallback };
    rendezvous::connect_verified(at, rendezvous::deadline(), accept, &|| true, false).is_ok()
}

/// Looks `path` up among the holders `accept` accepts: the holder's pid, in the kernel's
/// words, and its answer. `ENOENT` when no such process holds the name; `EAGAIN` when the
/// holder has not answered by `deadline`; `EINTR` when a signal interrupts the wait.
pub fn lookup(
    path: &[u8],
    accept: &dyn Fn(&PeerCred) -> bool,
    deadline: Instant,
) -> KResult<(libc::pid_t, Answer)> {
    let (primary, fallback) = addresses(path)?;
    let at = Address { primary: &primary, fallback: &fallback };
    let (fd, holder) = rendezvous::connect_verified(at, deadline, accept, &|| true, true)?;
    rendezvous::wait_readable(&fd, deadline)?;
    let mut answer = Answer::default();
    // SAFETY: answer is plain data of the stated size.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            &mut answer as *mut Answer as *mut libc::c_void,
            std::mem::size_of::<Answer>(),
            libc::MSG_DONTWAIT,
        )
    };
    if n == std::mem::size_of::<Answer>() as isize {
        Ok((holder.pid, answer))
    } else {
        // The server let go of the name (or died) before it answered.
        Err(Errno(libc::ENOENT))
    }
}
