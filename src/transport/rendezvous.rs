//! Meeting points that any local user may squat.
//!
//! Linux's abstract Unix socket namespace has no permissions: any process may bind any free
//! address, ours included, before we do. So an address is never trusted for its name. A
//! listener binds its [`Address`]'s primary or, when someone holds that, `<fallback>.<16
//! random hex digits>` (nobody can guess it in advance). A client connects to the primary
//! and keeps the connection only if the kernel (`SO_PEERCRED`) says the listener is one it
//! accepts; otherwise it looks for the fallback addresses in `/proc/net/unix` and tries each
//! the same way.
//! A squatter then costs a scan, never a misdirected client or a server that cannot listen.
//! An unsquatted connect costs what it always did: one non-blocking `connect`.

use super::link::{peer_cred, PeerCred};
use crate::kernel::errno::{check, Errno, KResult};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long `ConnectAttach` and `name_open` wait for the peer they meet: the search for its
/// address plus its answer. An honest service thread answers in microseconds; 2 s is
/// beyond any scheduling delay of a loaded (not swapping) machine, and short enough that a
/// silent or hostile listener cannot hang its callers. Expiry is `EAGAIN`.
pub const PATIENCE: Duration = Duration::from_secs(2);

/// Pause between rounds while every candidate's backlog is full, doubling up to this.
const BUSY_PAUSE_MAX: Duration = Duration::from_millis(20);

/// The deadline of a call that starts now.
pub fn deadline() -> Instant {
    Instant::now() + PATIENCE
}

fn address(name: &[u8]) -> KResult<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: sockaddr_un is plain data.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if name.len() + 1 > addr.sun_path.len() {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // sun_path[0] stays 0: the abstract namespace, which vanishes with the socket.
    for (i, b) in name.iter().enumerate() {
        addr.sun_path[i + 1] = *b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + name.len();
    Ok((addr, len as libc::socklen_t))
}

fn seqpacket() -> KResult<OwnedFd> {
    // SAFETY: plain syscall.
    let fd = unsafe {
        libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0)
    };
    check(fd as libc::c_long)?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The longest abstract address (`sun_path` less its leading 0).
pub const MAX_ADDRESS: usize = 107;
/// `.` and 16 hex digits.
const FALLBACK_SUFFIX: usize = 17;

/// Where a listener is met: `primary`, or `<fallback>.<16 hex digits>` when the primary is
/// squatted. `fallback` is at most `MAX_ADDRESS - 17` bytes.
#[derive(Clone, Copy)]
pub struct Address<'a> {
    pub primary: &'a [u8],
    pub fallback: &'a [u8],
}

/// A non-blocking listening socket at `name`; `Ok(None)` if someone holds `name`.
fn bind_at(name: &[u8]) -> KResult<Option<OwnedFd>> {
    let (addr, len) = address(name)?;
    let fd = seqpacket()?;
    // SAFETY: addr is a valid sockaddr_un of `len` bytes.
    if unsafe { libc::bind(fd.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len) } != 0 {
        return match Errno::last() {
            e if e.0 == libc::EADDRINUSE => Ok(None),
            e => Err(e),
        };
    }
    // SAFETY: plain syscall on our socket.
    check(unsafe { libc::listen(fd.as_raw_fd(), 128) } as libc::c_long)?;
    Ok(Some(fd))
}

/// Listens at `addr.primary`: `Ok(None)` when someone holds it.
pub fn bind(addr: Address) -> KResult<Option<OwnedFd>> {
    bind_at(addr.primary)
}

/// Listens at `addr.primary`, or at a fallback address when the primary is held. `EAGAIN`
/// only if several random addresses in a row are taken (they are not, unless the entropy
/// source fails).
pub fn bind_unclaimable(addr: Address) -> KResult<OwnedFd> {
    if let Some(fd) = bind(addr)? {
        return Ok(fd);
    }
    let base = addr.fallback;
    if base.len() + FALLBACK_SUFFIX > MAX_ADDRESS {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    for _ in 0..4 {
        let mut r = 0u64;
        // SAFETY: r is valid for 8 bytes.
        let n = unsafe { libc::getrandom(&mut r as *mut u64 as *mut libc::c_void, 8, 0) };
        if n != 8 {
            return Err(Errno::EAGAIN);
        }
        let mut name = base.to_vec();
        name.extend_from_slice(format!(".{r:016x}").as_bytes());
        if let Some(fd) = bind_at(&name)? {
            return Ok(fd);
        }
    }
    Err(Errno::EAGAIN)
}

/// The fallback addresses of `base` that `/proc/net/unix` lists (abstract names begin with
/// `@` there, one socket per line, the address last). A hostile name may contain text that
/// looks like another entry: whatever is found is only tried, never trusted.
fn fallbacks(base: &[u8]) -> KResult<Vec<Vec<u8>>> {
    let table = std::fs::read("/proc/net/unix").map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
    Ok(find_fallbacks(&table, base))
}

fn find_fallbacks(table: &[u8], base: &[u8]) -> Vec<Vec<u8>> {
    let mut needle = b" @".to_vec();
    needle.extend_from_slice(base);
    needle.push(b'.');
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(i) = table[at..].windows(needle.len()).position(|w| w == needle) {
        let start = at + i + 2;
        let digits = at + i + needle.len();
        let end = digits + FALLBACK_SUFFIX - 1;
        let hex = table.get(digits..end).is_some_and(|d| d.iter().all(u8::is_ascii_hexdigit));
        if hex && table.get(end) == Some(&b'\n') {
            found.push(table[start..end].to_vec());
        }
        at = digits;
    }
    found
}

/// What one `connect` found.
pub enum Attempt {
    Accepted(OwnedFd, PeerCred),
    /// A listener that `accept` refused.
    Refused,
    /// Nobody listens there.
    Absent,
    /// The listener's backlog is full: we cannot tell who it is yet.
    Busy,
}

/// One non-blocking `connect` to `name`, kept only if `accept` accepts the listener: never
/// waits. Errors only for want of resources or a signal.
pub fn attempt(name: &[u8], accept: &dyn Fn(&PeerCred) -> bool) -> KResult<Attempt> {
    let (addr, len) = address(name)?;
    let fd = seqpacket()?;
    // Non-blocking: a full backlog (a squatter that never accepts) must not hold us.
    // SAFETY: addr is a valid sockaddr_un of `len` bytes.
    if unsafe { libc::connect(fd.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len) } != 0 {
        return match Errno::last() {
            Errno::EAGAIN => Ok(Attempt::Busy),
            e if e.0 == libc::EMFILE || e.0 == libc::ENFILE || e == Errno::ENOMEM || e == Errno::EINTR => {
                Err(e)
            }
            _ => Ok(Attempt::Absent),
        };
    }
    let cred = peer_cred(fd.as_raw_fd())?;
    Ok(if accept(&cred) { Attempt::Accepted(fd, cred) } else { Attempt::Refused })
}

/// Waits until `until` or a signal: `EINTR` on a signal.
pub fn pause_until(until: Instant) -> KResult<()> {
    let left = until.saturating_duration_since(Instant::now());
    // SAFETY: no descriptors; poll only sleeps. Unlike nanosleep it is never restarted, so
    // a signal with a handler ends the wait whatever its SA_RESTART.
    let r = unsafe { libc::poll(std::ptr::null_mut(), 0, left.as_millis().min(i32::MAX as u128) as i32) };
    if r < 0 && Errno::last() == Errno::EINTR {
        return Err(Errno::EINTR);
    }
    Ok(())
}

/// Connects to a listener at `addr` that `accept` accepts, trying the primary and then the
/// fallback addresses. When nobody listens at the primary the fallbacks are searched only if
/// `search_if_free()` (a listener that fell back may outlive the squatter that made it).
/// A listener whose backlog is full cannot be told apart yet: with `wait_busy` it is tried
/// again until `deadline`, without it counted as refused.
/// Returns a non-blocking socket and the listener's credentials; `ENOENT` if no listener is
/// accepted, `EAGAIN` at `deadline` (listeners whose backlog stays full), `EINTR` on a
/// signal.
pub fn connect_verified(
    addr: Address,
    deadline: Instant,
    accept: &dyn Fn(&PeerCred) -> bool,
    search_if_free: &dyn Fn() -> bool,
    wait_busy: bool,
) -> KResult<(OwnedFd, PeerCred)> {
    let mut pause = Duration::from_millis(1);
    loop {
        let mut busy = false;
        match attempt(addr.primary, accept)? {
            Attempt::Accepted(fd, cred) => return Ok((fd, cred)),
            Attempt::Busy => busy = true,
            Attempt::Absent if !search_if_free() => return Err(Errno(libc::ENOENT)),
            _ => {}
        }
        for name in fallbacks(addr.fallback)? {
            if Instant::now() >= deadline {
                return Err(Errno::EAGAIN);
            }
            match attempt(&name, accept)? {
                Attempt::Accepted(fd, cred) => return Ok((fd, cred)),
                Attempt::Busy => busy = true,
                _ => {}
            }
        }
        if !busy || !wait_busy {
            return Err(Errno(libc::ENOENT));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Errno::EAGAIN);
        }
        pause_until((now + pause).min(deadline))?;
        pause = (pause * 2).min(BUSY_PAUSE_MAX);
    }
}

/// Waits until `fd` is readable: `EAGAIN` at `deadline`, `EINTR` on a signal.
pub fn wait_readable(fd: &impl AsRawFd, deadline: Instant) -> KResult<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Round up: a wait of 0 ms before the deadline would spin.
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: p is valid for the call.
        match unsafe { libc::poll(&mut p, 1, ms) } {
            n if n > 0 => return Ok(()),
            0 if Instant::now() >= deadline => return Err(Errno::EAGAIN),
            0 => {}
            _ if Errno::last() == Errno::EINTR => return Err(Errno::EINTR),
            _ => return Err(Errno::last()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_only_well_formed_fallbacks() {
        let table = b"Num RefCount Protocol Flags Type St Inode Path\n\
            0: 00000002 00000000 00010000 0005 01 1 @neutrino.12\n\
            0: 00000002 00000000 00010000 0005 01 2 @neutrino.12.00112233445566aa\n\
            0: 00000002 00000000 00010000 0005 01 3 @neutrino.123.00112233445566aa\n\
            0: 00000002 00000000 00010000 0005 01 4 @neutrino.12.0011223344556\n\
            0: 00000002 00000000 00010000 0005 01 5 @x @neutrino.12.ffffffffffffffff\n\
            0: 00000002 00000000 00010000 0005 01 6 @neutrino.12.00112233445566zz\n";
        let found = find_fallbacks(table, b"neutrino.12");
        assert_eq!(
            found,
            vec![b"neutrino.12.00112233445566aa".to_vec(), b"neutrino.12.ffffffffffffffff".to_vec()]
        );
    }

    #[test]
    fn falls_back_when_taken_and_finds_the_fallback() {
        let base = format!("neutrino.rendezvous-test.{}", std::process::id());
        let at = Address { primary: base.as_bytes(), fallback: base.as_bytes() };
        // A squatter that binds and never listens: connecting to it is refused.
        let squat = seqpacket().unwrap();
        let (addr, len) = address(base.as_bytes()).unwrap();
        // SAFETY: addr is a valid sockaddr_un of `len` bytes.
        assert_eq!(
            unsafe { libc::bind(squat.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len) },
            0
        );
        let _ours = bind_unclaimable(at).unwrap();
        let me = std::process::id() as libc::pid_t;
        let found = connect_verified(at, deadline(), &|c| c.pid == me, &|| false, true);
        assert_eq!(found.err(), Some(Errno(libc::ENOENT)), "no search unless asked");
        let (_fd, cred) = connect_verified(at, deadline(), &|c| c.pid == me, &|| true, true).unwrap();
        assert_eq!(cred.pid, me);
        // Refusing everyone ends the search with ENOENT, quickly.
        let t = Instant::now();
        let r = connect_verified(at, deadline(), &|_| false, &|| true, true);
        assert_eq!(r.err(), Some(Errno(libc::ENOENT)));
        assert!(t.elapsed() < PATIENCE);
    }

    proptest! {
        #[test]
        fn any_table_is_handled(table in proptest::collection::vec(any::<u8>(), 0..512), base in "[a-z.0-9]{0,12}") {
            for f in find_fallbacks(&table, base.as_bytes()) {
                prop_assert_eq!(f.len(), base.len() + FALLBACK_SUFFIX);
                prop_assert!(f.starts_with(base.as_bytes()));
            }
        }
    }
}
