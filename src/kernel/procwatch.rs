//! `procmgr_event_notify(PROCMGR_EVENT_PROCESS_DEATH)` without a process manager.
//!
//! A process that registers starts a watcher thread, which holds a pidfd for every process
//! it knows of and delivers the registered event when one becomes readable (the process
//! ended). It learns of processes two ways:
//! - every process that starts using libneutrino announces itself: it finds the watchers in
//!   `/proc/net/unix` (each listens on `neutrino.procwatch.<pid>`, or on a fallback of it
//!   when that is squatted: see [`rendezvous`]), connects and closes at once; the watcher
//!   takes the pid from the kernel (`SO_PEERCRED`, kept with the queued connection), so even
//!   a process that dies right after its first call is reported;
//! - every other process is found by scanning `/proc`, at registration and then every
//!   [`RESCAN`]: one that starts and ends between two scans is not seen.
//!
//! An event says nothing of who died, as on QNX. Each process is reported once, whoever
//! connects how often: another user can cost the watcher a little work but no events beyond
//! real deaths, and at most [`MAX_WATCHED`] processes are watched at once.
//!
//! Any user may bind any abstract address, so none is trusted for its name: a starting
//! process announces itself only to a listener the kernel says is the pid its address names
//! (a squatter's fakes are skipped), and a squatted beacon only makes starting processes
//! look, as if a watcher held it.

use super::errno::{check, Errno, KResult};
use super::event::{self, RawEvent};
use super::process;
use crate::transport::fdreg::Tracked;
use crate::transport::link::{peer_cred, spawn_quiet};
use crate::transport::lock::Mutex;
use crate::transport::rendezvous::{self, Attempt};
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

pub const PROCMGR_EVENT_PROCESS_DEATH: u32 = 0x0010_0000;

/// How often `/proc` is scanned for processes that did not announce themselves.
pub const RESCAN: Duration = Duration::from_secs(1);
/// The most processes one watcher holds a pidfd for.
pub const MAX_WATCHED: usize = 1024;
/// The most watchers a starting process announces itself to.
const MAX_ANNOUNCE: usize = 32;
/// The most listeners a starting process tries in all, watchers and fakes (addresses that
/// name a pid other than their listener's, listeners that refuse or never accept): each
/// try is one non-blocking `connect`, so a squatter's fakes cost a start-up at most this
/// many (about 1 ms) and no watcher's place in [`MAX_ANNOUNCE`].
const MAX_KNOCKS: usize = 256;
const PREFIX: &str = "neutrino.procwatch.";
/// A datagram socket bound by one of the watchers (whichever binds it first; the others try
/// again at each scan), so that a starting process finds out with one refused `connect`
/// that there is no watcher, and reads `/proc/net/unix` only when there may be one.
/// Datagram, because a bound datagram socket accepts a `connect` without listening: nobody
/// can hold the address and still have it refuse. A squatter holding it only makes starting
/// processes look for watchers, as if one held it.
const BEACON: &[u8] = b"neutrino.procwatch";

/// A registration: the event, shared with the watcher thread, and the thread's stop bell.
pub struct Registration {
    event: Arc<Mutex<Option<RawEvent>>>,
    stop: Arc<Tracked>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        // The event first: once this returns, nothing more is delivered.
        *self.event.lock() = None;
        let one = 1u64;
        // SAFETY: writes 8 bytes from `one` to our eventfd.
        unsafe { libc::write(self.stop.as_raw_fd(), &one as *const u64 as *const libc::c_void, 8) };
    }
}

/// Registers `event` for `flags` (only [`PROCMGR_EVENT_PROCESS_DEATH`] is known: other
/// bits `ENOSYS`); flags 0 or no event deregisters.
pub fn notify(flags: u32, event: Option<RawEvent>) -> KResult<()> {
    let me = process::current();
    let Some(ev) = event.filter(|_| flags != 0) else {
        me.procwatch.lock().take();
        return Ok(());
    };
    if flags & !PROCMGR_EVENT_PROCESS_DEATH != 0 {
        return Err(Errno::ENOSYS);
    }
    ev.kind()?;
    let mut slot = me.procwatch.lock();
    if let Some(reg) = slot.as_ref() {
        *reg.event.lock() = Some(ev);
        return Ok(());
    }
    *slot = Some(start(ev)?);
    Ok(())
}

fn owned(fd: libc::c_int) -> KResult<OwnedFd> {
    check(fd as libc::c_long)?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A datagram socket bound to the beacon (`bind`), or a probe connected to it.
fn beacon(bind: bool) -> KResult<OwnedFd> {
    // SAFETY: plain syscall.
    let fd = owned(unsafe {
        libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0)
    })?;
    // SAFETY: sockaddr_un is plain data.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // sun_path[0] stays 0: the abstract namespace, freed with the socket.
    for (i, b) in BEACON.iter().enumerate() {
        addr.sun_path[i + 1] = *b as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + 1 + BEACON.len()) as libc::socklen_t;
    let at = &addr as *const _ as *const libc::sockaddr;
    // SAFETY: addr is a valid sockaddr_un of `len` bytes.
    let r = unsafe {
        if bind {
            libc::bind(fd.as_raw_fd(), at, len)
        } else {
            libc::connect(fd.as_raw_fd(), at, len)
        }
    };
    check(r as libc::c_long)?;
    Ok(fd)
}

fn start(ev: RawEvent) -> KResult<Registration> {
    // SAFETY: plain syscall.
    let me = unsafe { libc::getpid() };
    let name = format!("{PREFIX}{me}");
    // A squatter at our address costs the starting processes a fallback to look for.
    let listener = rendezvous::bind_unclaimable(rendezvous::Address {
        primary: name.as_bytes(),
        fallback: name.as_bytes(),
    })?;
    // SAFETY: plain syscall.
    let stop = Arc::new(Tracked::new(owned(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) })?));
    let stop_raw = stop.as_raw_fd();
    let event = Arc::new(Mutex::new(Some(ev)));
    // SAFETY: plain syscall.
    let epoll = owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    // SAFETY: plain syscall.
    let timer = owned(unsafe {
        libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC | libc::TFD_NONBLOCK)
    })?;
    let mut w = Watcher {
        epoll: Tracked::new(epoll),
        listener: Tracked::new(listener),
        beacon: None,
        timer: Tracked::new(timer),
        _stop: stop.clone(),
        watched: HashMap::new(),
        gone: HashSet::new(),
        me,
        event: event.clone(),
    };
    let period = libc::timespec { tv_sec: RESCAN.as_secs() as libc::time_t, tv_nsec: 0 };
    let spec = libc::itimerspec { it_interval: period, it_value: period };
    // SAFETY: spec is valid for the call.
    check(
        unsafe { libc::timerfd_settime(w.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } as libc::c_long
    )?;
    for (fd, key) in
        [(w.listener.as_raw_fd(), KEY_LISTENER), (w.timer.as_raw_fd(), KEY_TIMER), (stop_raw, KEY_STOP)]
    {
        w.watch(fd, key)?;
    }
    w.scan(true);
    spawn_quiet("neutrino-procwatch", move || w.run())?;
    Ok(Registration { event, stop })
}

const KEY_LISTENER: u64 = 1 << 32;
const KEY_TIMER: u64 = 2 << 32;
const KEY_STOP: u64 = 3 << 32;
/// A pidfd's key: the pid.
const KEY_PID: u64 = 4 << 32;

struct Watcher {
    epoll: Tracked,
    listener: Tracked,
    /// The beacon, while this watcher holds it.
    beacon: Option<Tracked>,
    timer: Tracked,
    /// The registration's eventfd, written to stop the thread; held here too, so that it
    /// stays in the epoll set until the thread has seen it.
    _stop: Arc<Tracked>,
    watched: HashMap<libc::pid_t, Tracked>,
    /// Processes found already ended when first seen, not to be reported.
    gone: HashSet<libc::pid_t>,
    me: libc::pid_t,
    event: Arc<Mutex<Option<RawEvent>>>,
}

impl Watcher {
    fn watch(&self, fd: RawFd, key: u64) -> KResult<()> {
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: key };
        // SAFETY: ev is valid for the call.
        check(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) }
            as libc::c_long)?;
        Ok(())
    }

    fn run(mut self) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 32];
        loop {
            // SAFETY: events is a valid buffer of 32 entries.
            let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), events.as_mut_ptr(), 32, -1) };
            for ev in &events[..n.max(0) as usize] {
                match ev.u64 & !0xffff_ffff {
                    KEY_LISTENER => self.accept_all(),
                    KEY_TIMER => {
                        let mut ticks = 0u64;
                        // SAFETY: reads 8 bytes into `ticks` from our timerfd.
                        unsafe {
                            libc::read(self.timer.as_raw_fd(), &mut ticks as *mut u64 as *mut libc::c_void, 8)
                        };
                        self.scan(false);
                    }
                    KEY_STOP => return,
                    _ => self.ended(ev.u64 as u32 as libc::pid_t),
                }
            }
        }
    }

    /// Starts watching `pid`, just learnt of; `fresh`: a process that is known to have been
    /// alive after the registration, so an already ended one is reported.
    fn learn(&mut self, pid: libc::pid_t, fresh: bool) {
        if pid == self.me || self.watched.contains_key(&pid) || self.gone.contains(&pid) {
            return;
        }
        if self.watched.len() >= MAX_WATCHED {
            return;
        }
        // SAFETY: plain syscall.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let Ok(fd) = owned(fd as libc::c_int) else {
            if fresh && Errno::last() == Errno::ESRCH {
                self.deliver();
            }
            return;
        };
        let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: p is valid for the call; a zero timeout never blocks.
        let ended = unsafe { libc::poll(&mut p, 1, 0) } == 1;
        if ended && !fresh {
            self.gone.insert(pid);
            return;
        }
        let fd = Tracked::new(fd);
        if self.watch(fd.as_raw_fd(), KEY_PID | pid as u32 as u64).is_ok() {
            self.watched.insert(pid, fd);
        }
    }

    fn ended(&mut self, pid: libc::pid_t) {
        if let Some(fd) = self.watched.remove(&pid) {
            // SAFETY: plain syscall; closing the pidfd right after also unregisters it.
            unsafe {
                libc::epoll_ctl(
                    self.epoll.as_raw_fd(),
                    libc::EPOLL_CTL_DEL,
                    fd.as_raw_fd(),
                    std::ptr::null_mut(),
                )
            };
            self.gone.insert(pid);
            self.deliver();
        }
    }

    fn deliver(&self) {
        let ev = self.event.lock();
        if let Some(ev) = ev.as_ref() {
            // From the process manager, as on QNX.
            let _ = event::deliver_here(ev, None, event::Sender { pid: 1, uid: 0 });
        }
    }

    fn accept_all(&mut self) {
        loop {
            // SAFETY: plain syscall; we do not want the peer address.
            let fd = unsafe {
                libc::accept4(
                    self.listener.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC,
                )
            };
            let Ok(fd) = owned(fd) else { return };
            if let Ok(peer) = peer_cred(fd.as_raw_fd()) {
                self.learn(peer.pid, true);
            }
        }
    }

    /// Learns the processes in `/proc`; forgets ended ones no longer listed.
    fn scan(&mut self, first: bool) {
        if self.beacon.is_none() {
            self.beacon = beacon(true).ok().map(|b| {
                // Connects still succeed; datagrams sent to it are refused (EPIPE), not
                // queued where nobody reads them.
                // SAFETY: plain syscall on our socket.
                unsafe { libc::shutdown(b.as_raw_fd(), libc::SHUT_RD) };
                Tracked::new(b)
            });
        }
        let Ok(dir) = std::fs::read_dir("/proc") else { return };
        let listed: HashSet<libc::pid_t> =
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
        self.gone.retain(|p| listed.contains(p));
        for pid in listed {
            self.learn(pid, !first);
        }
    }
}

/// Whether someone holds the beacon: one `connect`, refused only when nobody does.
fn beacon_held() -> bool {
    match beacon(false) {
        Ok(_) => true,
        // Nobody: no watcher on the machine. Out of descriptors: no knock could be made.
        Err(e) => e.0 != libc::ECONNREFUSED && e.0 != libc::EMFILE && e.0 != libc::ENFILE,
    }
}

/// The listening watcher addresses `/proc/net/unix` lists, with the pid each names:
/// `neutrino.procwatch.<pid>` and its fallbacks `neutrino.procwatch.<pid>.<16 hex digits>`,
/// on listening (flags `00010000`) sequenced-packet (type `0005`) sockets, abstract names
/// starting with `@`, the address last on its line. A hostile name may hold text that looks
/// like another line: whatever is found is only tried, never trusted.
fn listed_watchers(table: &[u8]) -> Vec<(libc::pid_t, &[u8])> {
    let mut found = Vec::new();
    for line in table.split(|&b| b == b'\n') {
        let mut fields = line.split(|&b| b == b' ');
        let (Some(flags), Some(ty)) = (fields.nth(3), fields.next()) else { continue };
        let Some(name) = fields.nth(2).and_then(|n| n.strip_prefix(b"@")) else { continue };
        if flags != b"00010000" || ty != b"0005" || fields.next().is_some() {
            continue;
        }
        let Some(rest) = name.strip_prefix(PREFIX.as_bytes()) else { continue };
        let (digits, suffix) = rest.split_at(rest.iter().position(|&b| b == b'.').unwrap_or(rest.len()));
        let fallback = suffix.len() == 17 && suffix[1..].iter().all(u8::is_ascii_hexdigit);
        if !(suffix.is_empty() || fallback) || digits.is_empty() || digits.len() > 10 {
            continue;
        }
        let Some(pid) = std::str::from_utf8(digits).ok().and_then(|d| d.parse::<libc::pid_t>().ok()) else {
            continue;
        };
        if pid > 0 {
            found.push((pid, name));
        }
    }
    found
}

/// Called once by every process that starts using libneutrino: announces it to the
/// watchers (see the module's description). Without a watcher on the machine (and nobody
/// squatting the beacon) this is one refused `connect`; otherwise also a read of
/// `/proc/net/unix` and a non-blocking `connect` per listener tried (at most
/// [`MAX_KNOCKS`]), kept only when the kernel says the listener is the pid its address
/// names: the watcher takes our pid from the queued connection.
pub fn announce() {
    if !beacon_held() {
        return;
    }
    let Ok(table) = std::fs::read("/proc/net/unix") else { return };
    let mut told = HashSet::new();
    let mut knocks = 0;
    for (pid, name) in listed_watchers(&table) {
        if told.len() >= MAX_ANNOUNCE || knocks >= MAX_KNOCKS {
            return;
        }
        // One knock per watcher, however many addresses name it.
        if told.contains(&pid) {
            continue;
        }
        knocks += 1;
        match rendezvous::attempt(name, &|c| c.pid == pid) {
            Ok(Attempt::Accepted(..)) => {
                told.insert(pid);
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_only_listening_watcher_addresses() {
        let table = b"Num       RefCount Protocol Flags    Type St Inode Path\n\
            0000000000000000: 00000002 00000000 00010000 0005 01 1 @neutrino.procwatch.12\n\
            0000000000000000: 00000002 00000000 00010000 0005 01 2 @neutrino.procwatch.13.00112233445566aa\n\
            0000000000000000: 00000003 00000000 00000000 0005 03 3 @neutrino.procwatch.14\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 4 @neutrino.procwatch.15\n\
            0000000000000000: 00000002 00000000 00010000 0005 01 5 @neutrino.procwatch.16.0011\n\
            0000000000000000: 00000002 00000000 00010000 0005 01 6 @neutrino.procwatch.x17\n\
            0000000000000000: 00000002 00000000 00010000 0005 01 7 @neutrino.procwatch.18 @x\n\
            0000000000000000: 00000002 00000000 00010000 0005 01 8 @neutrino.procwatch.99999999999\n\
            0000000000000000: 00000002 00000000 00010000 0005 01 9 @neutrino.procwatch\n";
        let found = listed_watchers(table);
        assert_eq!(
            found,
            vec![(12, &b"neutrino.procwatch.12"[..]), (13, &b"neutrino.procwatch.13.00112233445566aa"[..])]
        );
    }

    proptest! {
        #[test]
        fn any_table_is_handled(table in proptest::collection::vec(any::<u8>(), 0..512)) {
            for (pid, name) in listed_watchers(&table) {
                prop_assert!(pid > 0);
                prop_assert!(name.starts_with(PREFIX.as_bytes()) && name.len() <= rendezvous::MAX_ADDRESS);
            }
        }
    }
}
