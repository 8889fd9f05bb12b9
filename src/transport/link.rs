//! The per-process control socket and its service thread.
//!
//! Every process that owns a channel listens on the abstract Unix socket
//! `\0neutrino.<pid>`, or on a fallback address of it when another process squats that
//! (see [`super::rendezvous`]); no daemon is involved. A client process opens one link per server
//! process and uses it for set-up (attach, detach) and nothing else: messages travel through
//! shared memory. The link also carries liveness: it lives exactly as long as both processes,
//! so end-of-file on it is death, without PID polling. `SO_PEERCRED` tells each side who the
//! other is.
//!
//! Any local user may connect, so the service thread never waits on a peer: every socket
//! it touches is non-blocking, a client that does not read its answers is dropped (its
//! link shut down, as if it had died), each turn takes a bounded share of the work of one
//! listener or link, untrusted users hold a bounded number of links, and an untrusted
//! user's link that is granted nothing within [`UNPROVEN_LINK_PATIENCE`] is dropped.

use super::copy::Image;
use super::fdreg::Tracked;
use super::rendezvous;
use crate::kernel::errno::{check, Errno, KResult};
use crate::transport::lock::Mutex;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a process waits for another process's service thread to answer a request
/// (attach, detach, event, pulse overflow, shared-memory handle). A live service thread
/// answers in microseconds: it only does work that never waits on anyone. The bound is for
/// a peer that is stopped (`SIGSTOP`, a debugger) or hostile, and is generous so that a
/// loaded machine (sanitizers, two cores shared by several test runs) never hits it.
pub const REQUEST_PATIENCE: Duration = Duration::from_secs(2);

/// Incoming links one client process may hold to us: it needs one (a second only for the
/// moment between an `exec()` and our noticing that the old image's link closed).
pub const LINKS_PER_PROCESS: usize = 4;
/// One user's incoming links may take at most this fraction (1/N) of our descriptor limit
/// (`RLIMIT_NOFILE`), so that others still find descriptors: 256 of 1024, 5000 of 20000.
pub const LINK_SHARE_OF_FDS: usize = 4;
/// How long a link from an untrusted user may stay without having been granted a request
/// (an attach, an event, a shared-memory handle) before it is dropped: a plain connection
/// holds one of our descriptors and nothing else. An honest client sends its attach
/// microseconds after connecting, so a few seconds spare any scheduling delay; links that
/// were granted something stay, limited only by [`LINKS_PER_PROCESS`] and
/// [`LINK_SHARE_OF_FDS`].
pub const UNPROVEN_LINK_PATIENCE: Duration = Duration::from_secs(3);
/// Connections the service thread accepts per turn: a flooder that keeps the backlog full
/// cannot keep it from the links that have requests waiting.
const ACCEPTS_PER_TURN: usize = 64;
/// Notices the service thread reads from one outgoing link per turn, for the same reason.
const NOTES_PER_TURN: usize = 64;
/// When the process is out of descriptors and the reserve is gone too, the service thread
/// pauses this long between turns rather than spin on a listener it cannot accept from.
const STARVED_PAUSE: Duration = Duration::from_millis(10);

/// Who is at the other end of a link, as the kernel reports it.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerCred {
    pub pid: libc::pid_t,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
}

pub type LinkId = u64;

pub const OP_ATTACH: u32 = 1;
pub const OP_DETACH: u32 = 2;
/// A pulse that did not fit the connection's ring, or one to a channel with a pulse pool.
pub const OP_PULSE: u32 = 3;
/// From a server to its client's process: deliver (or verify) an event.
pub const OP_EVENT: u32 = 4;
/// Redeem a shared-memory handle (`value`) with access `flags`; `code` 1: for a mapping.
/// The answer carries the object's descriptor.
pub const OP_SHM_OPEN: u32 = 5;
/// Delete a shared-memory handle (`value`).
pub const OP_SHM_DELETE: u32 = 6;

/// A request from a client process to a server process.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Request {
    pub op: u32,
    pub chid: i32,
    pub flags: u32,
    pub scoid: i32,
    /// Detach: the detaching thread's priority. Pulse: the pulse's priority, code, value and
    /// ticket.
    pub priority: i32,
    pub code: i32,
    pub value: u64,
    pub ticket: u64,
    /// Event: the client thread it is for (0: none known) and the `struct sigevent`.
    /// Attach: the remote client the connection stands for, if any (`kernel::net::Behalf`).
    pub tid: i32,
    /// The request's number on its link, echoed in the answer; 0: no answer is awaited.
    pub seq: u32,
    pub event: [u64; 8],
}

/// The answer; an attach also carries three descriptors: the connection region, the
/// read-only and the shared part of the channel's bell.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Response {
    /// 0 or an errno.
    pub status: i32,
    pub scoid: i32,
    pub bit: u32,
    /// The channel's `_NTO_CHF_*` flags.
    pub chflags: u32,
    /// What the server grants the attaching client: [`GRANT_PULSES`], [`GRANT_REMOTE`].
    pub grants: u32,
    /// Not an answer but a notice from the server ([`NOTE_CHANNEL_GONE`]); 0 for answers.
    pub note: u32,
    /// The answered request's `op` and `seq`.
    pub op: u32,
    pub seq: u32,
}

/// Attach: the client may send pulses to the channel.
pub const GRANT_PULSES: u32 = 1;
/// Attach: the server believes that the connection stands for the remote client the
/// request names (see `kernel::net::vouch`): the gateway shows it its client's threads.
pub const GRANT_REMOTE: u32 = 2;

/// Notice: the channel behind connection `scoid` was destroyed.
pub const NOTE_CHANNEL_GONE: u32 = 1;
/// Notice: the server refuses the link (`status`: why) and closes it.
pub const NOTE_REFUSED: u32 = 2;

/// How a caller of [`Link::request`] waits for the answer: at most [`REQUEST_PATIENCE`];
/// with `Interruptible` no longer once a signal handler has run (`EINTR`); with `Event`
/// not at all while the peer still owes the answer to a request whose caller gave up (it
/// is stopped, or does not answer): the request is sent and `ETIMEDOUT` returned at once.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
    Bounded,
    Interruptible,
    Event,
}

/// Whether a peer of this user could harm us without the library (root, or our own real
/// or saved user): QNX's rule for pulses across processes, and the peers no limit applies to.
pub fn trusted_uid(uid: libc::uid_t) -> bool {
    let (mut r, mut e, mut saved) = (0, 0, 0);
    // SAFETY: plain syscall into three locals.
    unsafe { libc::getresuid(&mut r, &mut e, &mut saved) };
    uid == 0 || uid == r || uid == saved
}

/// What the kernel does with the events of the service thread.
pub trait Handler: Send + Sync {
    fn attach(&self, link: &IncomingLink, req: &Request) -> KResult<(Response, Vec<OwnedFd>)>;
    fn detach(&self, link: LinkId, req: &Request) -> KResult<Response>;
    fn pulse(&self, link: LinkId, req: &Request) -> KResult<Response>;
    fn event(&self, link: &IncomingLink, req: &Request) -> KResult<Response>;
    /// [`OP_SHM_OPEN`] and [`OP_SHM_DELETE`] from process `peer`.
    fn shm_handle(&self, peer: libc::pid_t, req: &Request) -> KResult<(Response, Vec<OwnedFd>)>;
    /// The client process at the other end of incoming link `link` has gone.
    fn client_gone(&self, link: LinkId);
    /// The server process `pid` that outgoing `link` connected to has gone.
    fn server_gone(&self, link: &Arc<Link>);
    /// A notice from the server at the other end of `link`.
    fn note(&self, link: &Link, note: &Response);
    /// Processes are looking up the name held by listening socket `listener`.
    fn name_lookup(&self, listener: RawFd);
}

/// Holds off deferred cancellation: socket calls are glibc cancellation points, and a thread
/// must not unwind through Rust frames (nor leave a request half-made).
pub struct NoCancel(libc::c_int);

extern "C" {
    fn pthread_setcancelstate(state: libc::c_int, old: *mut libc::c_int) -> libc::c_int;
}
const PTHREAD_CANCEL_DISABLE: libc::c_int = 1;

impl NoCancel {
    pub fn new() -> NoCancel {
        let mut old = 0;
        // SAFETY: changes the calling thread's cancel state; `old` is valid for the call.
        unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old) };
        NoCancel(old)
    }
}

impl Default for NoCancel {
    fn default() -> Self {
        NoCancel::new()
    }
}

impl Drop for NoCancel {
    fn drop(&mut self) {
        // SAFETY: restores the state saved by `new`.
        unsafe { pthread_setcancelstate(self.0, std::ptr::null_mut()) };
    }
}

fn address_of(pid: libc::pid_t) -> Vec<u8> {
    format!("neutrino.{pid}").into_bytes()
}

fn rendezvous_of(name: &[u8]) -> rendezvous::Address<'_> {
    rendezvous::Address { primary: name, fallback: name }
}

/// Whether process `pid` exists (perhaps as another user's).
fn exists(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks.
    unsafe { libc::kill(pid, 0) == 0 || Errno::last() == Errno::EPERM }
}

/// The kernel's view of the process at the other end of a connected socket.
pub fn peer_cred(fd: RawFd) -> KResult<PeerCred> {
    // SAFETY: ucred is plain data filled by the kernel.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid for the call.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut _ as *mut libc::c_void,
            &mut len,
        )
    };
    check(r as libc::c_long)?;
    Ok(PeerCred { pid: cred.pid, uid: cred.uid, gid: cred.gid })
}

fn send_msg<T: Copy>(fd: RawFd, msg: &T, fds: &[RawFd], flags: i32) -> KResult<()> {
    let mut iov =
        libc::iovec { iov_base: msg as *const T as *mut libc::c_void, iov_len: std::mem::size_of::<T>() };
    let mut cbuf = [0u64; 8]; // room for a few descriptors, u64-aligned as cmsghdr wants
                              // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call.
    let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
    mh.msg_iov = &mut iov;
    mh.msg_iovlen = 1;
    if !fds.is_empty() {
        let payload = std::mem::size_of_val(fds) as u32;
        // SAFETY: CMSG_* compute sizes and pointers inside cbuf, which is large enough for
        // three descriptors (checked by the assert).
        unsafe {
            let space = libc::CMSG_SPACE(payload) as usize;
            assert!(space <= std::mem::size_of_val(&cbuf));
            mh.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
            mh.msg_controllen = space;
            let c = libc::CMSG_FIRSTHDR(&mh);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(payload) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(c) as *mut RawFd, fds.len());
        }
    }
    // SAFETY: mh is fully initialised.
    let r = unsafe { libc::sendmsg(fd, &mh, libc::MSG_NOSIGNAL | flags) };
    check(r as libc::c_long)?;
    Ok(())
}

/// Receives one message; returns `Ok(None)` at end of file.
fn recv_msg<T: Copy + Default>(fd: RawFd, flags: i32) -> KResult<Option<(T, Vec<OwnedFd>)>> {
    let mut msg = T::default();
    let mut iov =
        libc::iovec { iov_base: &mut msg as *mut T as *mut libc::c_void, iov_len: std::mem::size_of::<T>() };
    let mut cbuf = [0u64; 8];
    // SAFETY: as in send_msg.
    let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
    mh.msg_iov = &mut iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
    mh.msg_controllen = std::mem::size_of_val(&cbuf);
    // SAFETY: mh points at buffers that live across the call.
    let r = unsafe { libc::recvmsg(fd, &mut mh, flags | libc::MSG_CMSG_CLOEXEC) };
    if r < 0 {
        return Err(Errno::last());
    }
    let mut fds = Vec::new();
    // SAFETY: walking the control messages the kernel wrote into cbuf.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&mh);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let n = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<RawFd>();
                let data = libc::CMSG_DATA(c) as *const RawFd;
                for i in 0..n {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                }
            }
            c = libc::CMSG_NXTHDR(&mh, c);
        }
    }
    if r == 0 {
        return Ok(None);
    }
    if r as usize != std::mem::size_of::<T>() {
        return Err(Errno::EIO);
    }
    Ok(Some((msg, fds)))
}

/// The priority of a detach nobody asked for (QNX's default priority).
const DEFAULT_PRIORITY: i32 = 10;

/// A client process's link to one server process.
pub struct Link {
    pub id: LinkId,
    fd: Tracked,
    /// Held by the thread reading the socket: a requester until its answer comes, or the
    /// service thread reading notices. The number of the last request.
    lock: Mutex<u32>,
    /// The service thread found the socket readable while a requester held the lock: the
    /// requester has it look again when it lets go.
    missed: AtomicBool,
    dead: AtomicBool,
    /// The server refused the link ([`NOTE_REFUSED`]) with this errno.
    refused: std::sync::atomic::AtomicI32,
    /// The number of the last request whose caller gave up before its answer came, until
    /// that answer comes; 0: none.
    owed: std::sync::atomic::AtomicU32,
    /// The service's epoll descriptor, to have the service thread look again.
    epfd: RawFd,
    handler: &'static dyn Handler,
}

impl Link {
    /// The kernel's view of the process at the other end.
    pub fn peer(&self) -> KResult<PeerCred> {
        peer_cred(self.fd.as_raw_fd())
    }

    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Sends `req` and waits for the server's answer, at most [`REQUEST_PATIENCE`]:
    /// `ETIMEDOUT` after that (`EAGAIN` when even the link was busy that long), `EINTR`
    /// for an interruptible wait that a signal ended, `ESRCH` when the server is gone (or
    /// `EAGAIN` when it refused the link). An answer that comes after its caller gave up is
    /// recognised by its number and dropped, never taken for a later request's answer.
    pub fn request(&self, req: &Request, wait: Wait) -> KResult<(Response, Vec<OwnedFd>)> {
        let _hold = NoCancel::new();
        self.request_until(req, wait, Instant::now() + REQUEST_PATIENCE)
    }

    /// `request`, waiting until `end` instead (an attach shares one bound with the search
    /// for the server's address).
    pub fn request_until(
        &self,
        req: &Request,
        wait: Wait,
        end: Instant,
    ) -> KResult<(Response, Vec<OwnedFd>)> {
        let _hold = NoCancel::new();
        let last = self.lock.try_lock_until(end).ok_or(Errno::EAGAIN)?;
        self.exchange_held(last, req, end, wait)
    }

    /// `request`, or `EAGAIN` at once when another thread (or the one a signal handler
    /// interrupted) is using the link.
    pub fn try_request(&self, req: &Request) -> KResult<(Response, Vec<OwnedFd>)> {
        let _hold = NoCancel::new();
        let last = super::spin::try_lock_briefly(&self.lock).ok_or(Errno::EAGAIN)?;
        self.exchange_held(last, req, Instant::now() + REQUEST_PATIENCE, Wait::Bounded)
    }

    /// One request and its answer, the link held; then the service thread is asked to look
    /// at what it missed meanwhile.
    fn exchange_held(
        &self,
        mut last: super::lock::MutexGuard<'_, u32>,
        req: &Request,
        end: Instant,
        wait: Wait,
    ) -> KResult<(Response, Vec<OwnedFd>)> {
        let res = self.exchange(&mut last, req, end, wait);
        drop(last);
        fence(Ordering::SeqCst);
        if self.missed.swap(false, Ordering::SeqCst) {
            self.rearm();
        }
        res
    }

    fn exchange(
        &self,
        last: &mut u32,
        req: &Request,
        end: Instant,
        wait: Wait,
    ) -> KResult<(Response, Vec<OwnedFd>)> {
        if self.is_dead() {
            return Err(self.gone());
        }
        *last = last.wrapping_add(1).max(1);
        let req = Request { seq: *last, ..*req };
        let fd = self.fd.as_raw_fd();
        loop {
            match send_msg(fd, &req, &[], libc::MSG_DONTWAIT) {
                Ok(()) => break,
                Err(Errno::EAGAIN) => wait_for(fd, libc::POLLOUT, end, wait)?,
                Err(Errno::EINTR) => {}
                Err(_) => return Err(self.closed()),
            }
        }
        if wait == Wait::Event && self.owed.load(Ordering::SeqCst) != 0 {
            self.owed.store(req.seq, Ordering::SeqCst);
            return Err(Errno::ETIMEDOUT);
        }
        loop {
            match recv_msg::<Response>(fd, libc::MSG_DONTWAIT) {
                Ok(Some((r, fds))) if r.note == 0 && r.seq == req.seq => return Ok((r, fds)),
                Ok(Some((r, fds))) => self.take(&r, fds),
                Ok(None) => return Err(self.gone()),
                Err(Errno::EAGAIN) => {
                    if let Err(e) = wait_for(fd, libc::POLLIN, end, wait) {
                        self.owed.store(req.seq, Ordering::SeqCst);
                        return Err(e);
                    }
                }
                Err(Errno::EINTR) => {}
                Err(_) => return Err(self.closed()),
            }
        }
    }

    /// The server closed the link: a refusal it sent first may still wait to be read
    /// (`ECONNRESET`, reported before it, when it closed without reading our request).
    fn closed(&self) -> Errno {
        for _ in 0..NOTES_PER_TURN {
            match recv_msg::<Response>(self.fd.as_raw_fd(), libc::MSG_DONTWAIT) {
                Ok(Some((r, fds))) => self.take(&r, fds),
                Err(e) if e.0 == libc::ECONNRESET || e == Errno::EINTR => {}
                _ => break,
            }
        }
        self.gone()
    }

    /// Why the link cannot carry a request.
    fn gone(&self) -> Errno {
        match self.refused.load(Ordering::Relaxed) {
            0 => Errno::ESRCH,
            e => Errno(e),
        }
    }

    /// A message that is not the answer awaited: a notice, or an answer whose caller gave
    /// up. A connection made for an attach nobody waits for any more is detached again.
    fn take(&self, r: &Response, fds: Vec<OwnedFd>) {
        if r.note == 0 {
            let _ = self.owed.compare_exchange(r.seq, 0, Ordering::SeqCst, Ordering::Relaxed);
        }
        match r.note {
            0 if r.op == OP_ATTACH && r.status == 0 => {
                let detach = Request {
                    op: OP_DETACH,
                    scoid: r.scoid,
                    priority: DEFAULT_PRIORITY,
                    ..Default::default()
                };
                let _ = send_msg(self.fd.as_raw_fd(), &detach, &[], libc::MSG_DONTWAIT);
            }
            0 => {}
            NOTE_REFUSED => self.refused.store(r.status.max(1), Ordering::Relaxed),
            _ => self.handler.note(self, r),
        }
        drop(fds);
    }

    /// The service thread: handles the notices that have arrived; false at end of file.
    /// When a requester holds the socket, it is left to look again when done.
    fn read_notes(&self) -> bool {
        self.missed.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let Some(_g) = self.lock.try_lock() else {
            return true;
        };
        self.missed.store(false, Ordering::SeqCst);
        for _ in 0..NOTES_PER_TURN {
            match recv_msg::<Response>(self.fd.as_raw_fd(), libc::MSG_DONTWAIT) {
                Ok(Some((r, fds))) => self.take(&r, fds),
                Err(Errno::EAGAIN) => return true,
                // ECONNRESET: the server closed without reading all we sent; what it sent
                // before (a refusal) is still to be read.
                Err(e) if e == Errno::EINTR || e.0 == libc::ECONNRESET => {}
                _ => return false,
            }
        }
        // More to read: the next turn, after the other links.
        self.rearm();
        true
    }

    /// Has the service thread look at the socket again (it watches it edge-triggered).
    fn rearm(&self) {
        let fd = self.fd.as_raw_fd();
        let mut ev =
            libc::epoll_event { events: OUTGOING_EVENTS, u64: (KIND_OUTGOING << 32) | fd as u32 as u64 };
        // SAFETY: ev is valid for the call; failure only means the link is no longer watched.
        unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_MOD, fd, &mut ev) };
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Waits until `fd` is ready for `events`, at most until `end`.
fn wait_for(fd: RawFd, events: libc::c_short, end: Instant, wait: Wait) -> KResult<()> {
    let left = end.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Errno::ETIMEDOUT);
    }
    let mut p = libc::pollfd { fd, events, revents: 0 };
    let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
    // SAFETY: p is valid for the call.
    if unsafe { libc::poll(&mut p, 1, ms) } < 0
        && Errno::last() == Errno::EINTR
        && wait == Wait::Interruptible
    {
        return Err(Errno::EINTR);
    }
    Ok(())
}

/// An outgoing link is watched edge-triggered: while a requester reads the socket, the
/// service thread must not be woken again and again by the same readable state.
const OUTGOING_EVENTS: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

const KIND_LISTENER: u64 = 1;
const KIND_INCOMING: u64 = 2;
const KIND_OUTGOING: u64 = 3;
const KIND_NAME: u64 = 4;

/// A client process's link to us.
#[derive(Clone)]
pub struct IncomingLink {
    pub id: LinkId,
    pub peer: PeerCred,
    end: Arc<Endpoint>,
    /// The client's process image, opened at its first attach.
    pub image: Arc<Mutex<Option<Arc<Image>>>>,
}

struct Endpoint {
    fd: Tracked,
    /// We dropped the client ([`IncomingLink::drop_peer`]).
    dropped: AtomicBool,
    /// A request of the client's was granted: the link is kept past
    /// [`UNPROVEN_LINK_PATIENCE`].
    proven: AtomicBool,
}

impl IncomingLink {
    /// Sends the client a notice; never blocks.
    pub fn notify(&self, note: &Response) {
        self.send(note, &[]);
    }

    /// Sends without waiting: a client whose socket is full does not read, and is dropped.
    fn send(&self, msg: &Response, fds: &[RawFd]) {
        if send_msg(self.end.fd.as_raw_fd(), msg, fds, libc::MSG_DONTWAIT) == Err(Errno::EAGAIN) {
            self.drop_peer();
        }
    }

    /// Ends the link of a client that does not read what we send, as if the client process
    /// had ended (QNX would see it go): both ends learn it from the closed socket, the
    /// client's connections fail with `ESRCH`, and the service thread ends ours.
    fn drop_peer(&self) {
        self.end.dropped.store(true, Ordering::SeqCst);
        // SAFETY: plain syscall on our socket.
        unsafe { libc::shutdown(self.end.fd.as_raw_fd(), libc::SHUT_RDWR) };
    }

    /// Whether the client process is still alive: its end of the link is open. Death is
    /// also reported by the service thread, a moment later; this answers at once.
    pub fn alive(&self) -> bool {
        let mut p = libc::pollfd { fd: self.end.fd.as_raw_fd(), events: libc::POLLRDHUP, revents: 0 };
        // SAFETY: p is valid for the call; a zero timeout never blocks.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        n == 0 || p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) == 0
    }
}

/// How many of something each client process and each user holds, for the limits on
/// untrusted peers.
#[derive(Default)]
pub struct Tally {
    by_pid: HashMap<libc::pid_t, usize>,
    by_uid: HashMap<libc::uid_t, usize>,
}

impl Tally {
    /// Counts one more for `peer`: `EAGAIN` (and not counted) when the peer is untrusted
    /// and its process already holds `per_process` or its user `per_user`.
    pub fn admit(&mut self, peer: &PeerCred, per_process: usize, per_user: usize) -> KResult<()> {
        let count = |n: Option<&usize>| n.copied().unwrap_or(0);
        if !trusted_uid(peer.uid)
            && (count(self.by_pid.get(&peer.pid)) >= per_process
                || count(self.by_uid.get(&peer.uid)) >= per_user)
        {
            return Err(Errno::EAGAIN);
        }
        *self.by_pid.entry(peer.pid).or_default() += 1;
        *self.by_uid.entry(peer.uid).or_default() += 1;
        Ok(())
    }

    /// Counts one fewer for `peer`.
    pub fn release(&mut self, peer: &PeerCred) {
        fn less<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K) {
            if let std::collections::hash_map::Entry::Occupied(mut n) = map.entry(key) {
                *n.get_mut() -= 1;
                if *n.get() == 0 {
                    n.remove();
                }
            }
        }
        less(&mut self.by_pid, peer.pid);
        less(&mut self.by_uid, peer.uid);
    }
}

/// The incoming links, and how many each client process and user holds.
#[derive(Default)]
struct Incoming {
    links: HashMap<RawFd, IncomingLink>,
    tally: Tally,
    /// Untrusted users' links by the time they must have been granted a request, oldest
    /// first (all wait the same [`UNPROVEN_LINK_PATIENCE`]).
    unproven: std::collections::VecDeque<(Instant, RawFd, LinkId)>,
}

impl Incoming {
    fn remove(&mut self, fd: RawFd) -> Option<IncomingLink> {
        let link = self.links.remove(&fd)?;
        self.tally.release(&link.peer);
        Some(link)
    }
}

/// The process's descriptor limit.
fn fd_limit() -> usize {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: r is valid for the call.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) };
    r.rlim_cur.min(usize::MAX as libc::rlim_t) as usize
}

/// Tells a connecting process why it is refused, then closes its socket.
fn refuse(fd: OwnedFd, e: Errno) {
    let note = Response { note: NOTE_REFUSED, status: e.0, ..Default::default() };
    let _ = send_msg(fd.as_raw_fd(), &note, &[], libc::MSG_DONTWAIT);
}

/// One process's service thread, its listener and its links.
pub struct Service {
    epfd: Tracked,
    listener: Mutex<Option<Tracked>>,
    incoming: Mutex<Incoming>,
    outgoing: Mutex<HashMap<RawFd, Arc<Link>>>,
    next_id: AtomicU64,
    started: AtomicBool,
    handler: &'static dyn Handler,
    /// Held while the service thread handles events: `fork()` waits for it, so a child is
    /// never made while this thread is half-way through something (an allocation, say).
    busy: Mutex<()>,
    /// A descriptor kept in reserve: when the process has no other, it is closed to accept
    /// one waiting connection, answer it and close it, so a listener never stays readable
    /// with nobody able to take from it (the service thread would spin).
    spare: Mutex<Option<Tracked>>,
    /// Out of descriptors with the reserve gone: pause between turns.
    starved: AtomicBool,
}

/// Starts a thread of the library's own with every signal blocked (it inherits the mask it
/// is created with): signals sent to the process must reach the application's threads, as
/// on QNX where the library has no threads of its own.
pub fn spawn_quiet(name: &str, body: impl FnOnce() + Send + 'static) -> KResult<()> {
    // SAFETY: sigset_t is plain data initialised by sigfillset; pthread_sigmask only
    // changes the calling thread's mask, which is restored right after the spawn.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    let spawned = std::thread::Builder::new().name(name.into()).spawn(body);
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    spawned.map(drop).map_err(|_| Errno::EAGAIN)
}

impl Service {
    pub fn new(handler: &'static dyn Handler) -> KResult<Service> {
        // SAFETY: plain syscall.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        check(ep as libc::c_long)?;
        Ok(Service {
            // SAFETY: fresh descriptor we own.
            epfd: Tracked::new(unsafe { OwnedFd::from_raw_fd(ep) }),
            listener: Mutex::new(None),
            incoming: Mutex::new(Incoming::default()),
            outgoing: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            started: AtomicBool::new(false),
            handler,
            busy: Mutex::new(()),
            spare: Mutex::new(None),
            starved: AtomicBool::new(false),
        })
    }

    fn watch(&self, fd: RawFd, kind: u64, events: u32) -> KResult<()> {
        let mut ev = libc::epoll_event { events, u64: (kind << 32) | fd as u32 as u64 };
        // SAFETY: ev is valid for the call.
        check(unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) }
            as libc::c_long)?;
        Ok(())
    }

    fn unwatch(&self, fd: RawFd) {
        // SAFETY: plain syscall; failure only means it was not registered.
        unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
    }

    fn start(&'static self) -> KResult<()> {
        if self.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        // The caller waits until the thread has started, so that a fork() right after (which
        // waits for the thread to be idle) never copies it half-way through its start-up.
        self.refill();
        let (up, started) = std::sync::mpsc::channel::<()>();
        spawn_quiet("neutrino-svc", move || {
            let busy = self.busy.lock();
            let _ = up.send(());
            drop(busy);
            self.run()
        })?;
        let _ = started.recv();
        Ok(())
    }

    /// Before `fork()`: waits until the service thread is idle and keeps it so.
    pub fn pause(&self) {
        // Released by `resume` (the parent) or abandoned with the whole state (the child).
        std::mem::forget(self.busy.lock());
    }

    /// At exit: lets the service thread finish what it is doing, and keeps it idle. A peer
    /// waiting for its answer gets it: an event it had us deliver, whose pulse made us
    /// exit, is not reported lost (`ESRCH`) for want of the reply. Bounded: we are ending.
    pub fn quiesce(&self) {
        // Never released: the process is ending.
        std::mem::forget(self.busy.try_lock_until(Instant::now() + std::time::Duration::from_millis(200)));
    }

    /// After `fork()`, in the parent.
    pub fn resume(&self) {
        // SAFETY: `pause` took it in this thread (the one forking) and forgot the guard.
        unsafe { self.busy.force_unlock() };
    }

    /// Makes this process reachable by `ConnectAttach` from other processes.
    pub fn listen(&'static self) -> KResult<()> {
        let mut l = self.listener.lock();
        if l.is_some() {
            return Ok(());
        }
        // SAFETY: plain syscall.
        let fd = rendezvous::bind_unclaimable(rendezvous_of(&address_of(unsafe { libc::getpid() })))?;
        self.watch(fd.as_raw_fd(), KIND_LISTENER, libc::EPOLLIN as u32)?;
        *l = Some(Tracked::new(fd));
        drop(l);
        self.start()
    }

    /// Makes the service thread answer the lookups of the name listening on `fd`; the
    /// name is given up by closing `fd`.
    pub fn watch_name(&'static self, fd: RawFd) -> KResult<()> {
        self.watch(fd, KIND_NAME, libc::EPOLLIN as u32)?;
        self.start()
    }

    /// Opens a link to server process `pid`, by `deadline`: `ESRCH` if `pid` does not
    /// listen, `EAGAIN` at the deadline, `EINTR` on a signal.
    pub fn connect(&'static self, pid: libc::pid_t, deadline: Instant) -> KResult<Arc<Link>> {
        let _hold = NoCancel::new();
        // Any process may bind a free abstract name: only `pid` itself is `pid`'s listener.
        // Nobody at `neutrino.<pid>`: no such process, or one without channels, unless it
        // fell back while a squatter held the address (and the squatter has left since).
        let (fd, _) = rendezvous::connect_verified(
            rendezvous_of(&address_of(pid)),
            deadline,
            &|c| c.pid == pid,
            &|| exists(pid),
            true,
        )
        .map_err(|e| if e.0 == libc::ENOENT { Errno::ESRCH } else { e })?;
        // Requests wait for their answers blocking (or in `poll`).
        // SAFETY: plain syscall on our socket.
        check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, 0) } as libc::c_long)?;
        let link = Arc::new(Link {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            fd: Tracked::new(fd),
            lock: Mutex::new(0),
            missed: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            refused: std::sync::atomic::AtomicI32::new(0),
            owed: std::sync::atomic::AtomicU32::new(0),
            epfd: self.epfd.as_raw_fd(),
            handler: self.handler,
        });
        let raw = link.raw_fd();
        self.outgoing.lock().insert(raw, link.clone());
        self.watch(raw, KIND_OUTGOING, OUTGOING_EVENTS)?;
        self.start()?;
        Ok(link)
    }

    fn run(&self) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 32];
        loop {
            let timeout = self.next_expiry();
            // SAFETY: events is a valid buffer of 32 entries.
            let n = unsafe { libc::epoll_wait(self.epfd.as_raw_fd(), events.as_mut_ptr(), 32, timeout) };
            if n < 0 {
                continue; // EINTR
            }
            let busy = self.busy.lock();
            self.expire_unproven();
            for ev in &events[..n as usize] {
                let kind = ev.u64 >> 32;
                let fd = ev.u64 as u32 as RawFd;
                match kind {
                    KIND_LISTENER => self.accept_all(fd),
                    KIND_INCOMING => self.serve(fd),
                    KIND_OUTGOING => self.outgoing(fd, ev.events),
                    KIND_NAME => self.handler.name_lookup(fd),
                    _ => {}
                }
            }
            let starved = self.starved.swap(false, Ordering::Relaxed);
            if starved {
                self.refill();
            }
            drop(busy);
            if starved {
                std::thread::sleep(STARVED_PAUSE);
            }
        }
    }

    /// Milliseconds until the oldest unproven link expires (rounded up), or -1 (none).
    fn next_expiry(&self) -> i32 {
        let incoming = self.incoming.lock();
        let Some(&(at, ..)) = incoming.unproven.front() else { return -1 };
        let left = at.saturating_duration_since(Instant::now());
        left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
    }

    /// Drops the untrusted links that have not been granted a request within
    /// [`UNPROVEN_LINK_PATIENCE`]. A request already waiting is served first: a client is
    /// never dropped for our own delay in reading it.
    fn expire_unproven(&self) {
        let now = Instant::now();
        loop {
            let (fd, id) = {
                let mut incoming = self.incoming.lock();
                match incoming.unproven.front() {
                    Some(&(at, fd, id)) if at <= now => {
                        incoming.unproven.pop_front();
                        (fd, id)
                    }
                    _ => return,
                }
            };
            let current = |fd| self.incoming.lock().links.get(&fd).filter(|l| l.id == id).cloned();
            if current(fd).is_some_and(|l| !l.end.proven.load(Ordering::Relaxed)) {
                self.serve(fd);
            }
            if let Some(link) = current(fd).filter(|l| !l.end.proven.load(Ordering::Relaxed)) {
                link.drop_peer();
                self.incoming_closed(fd);
            }
        }
    }

    /// Puts a descriptor back in reserve, if there is one to take.
    fn refill(&self) {
        let mut spare = self.spare.lock();
        if spare.is_none() {
            // SAFETY: plain syscall; the descriptor returned is ours.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            if fd >= 0 {
                // SAFETY: as above.
                *spare = Some(Tracked::new(unsafe { OwnedFd::from_raw_fd(fd) }));
            }
        }
    }

    /// Accepts the connections waiting on listener `lfd` (a few per turn) and hands each
    /// to `each`, with `true` when it was taken on the reserve descriptor: the process has
    /// no other, so `each` answers at once and closes it. Never blocks, never spins.
    pub fn accept_each(&self, lfd: RawFd, mut each: impl FnMut(OwnedFd, bool)) {
        let accept = || {
            // SAFETY: plain syscall; we do not want the peer address.
            let fd = unsafe {
                libc::accept4(
                    lfd,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                )
            };
            // SAFETY: a fresh descriptor we own.
            check(fd as libc::c_long).map(|_| unsafe { OwnedFd::from_raw_fd(fd) })
        };
        for _ in 0..ACCEPTS_PER_TURN {
            match accept() {
                Ok(fd) => each(fd, false),
                Err(e) if e == Errno::EINTR || e.0 == libc::ECONNABORTED => {}
                Err(e) if e.0 == libc::EMFILE || e.0 == libc::ENFILE => {
                    let Some(spare) = self.spare.lock().take() else {
                        self.starved.store(true, Ordering::Relaxed);
                        return;
                    };
                    drop(spare);
                    let got = accept();
                    let taken = got.is_ok();
                    if let Ok(fd) = got {
                        each(fd, true);
                    }
                    self.refill();
                    if !taken {
                        return;
                    }
                }
                // EAGAIN: nobody is waiting.
                Err(_) => return,
            }
        }
    }

    fn accept_all(&self, lfd: RawFd) {
        self.accept_each(lfd, |fd, reserve| {
            if reserve {
                return refuse(fd, Errno::EAGAIN);
            }
            let Ok(peer) = peer_cred(fd.as_raw_fd()) else {
                return;
            };
            let mut incoming = self.incoming.lock();
            if let Err(e) = incoming.tally.admit(&peer, LINKS_PER_PROCESS, fd_limit() / LINK_SHARE_OF_FDS) {
                return refuse(fd, e);
            }
            let raw = fd.as_raw_fd();
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let end = Arc::new(Endpoint {
                fd: Tracked::new(fd),
                dropped: AtomicBool::new(false),
                proven: AtomicBool::new(false),
            });
            incoming.links.insert(raw, IncomingLink { id, peer, end, image: Default::default() });
            if !trusted_uid(peer.uid) {
                incoming.unproven.push_back((Instant::now() + UNPROVEN_LINK_PATIENCE, raw, id));
            }
            drop(incoming);
            if self.watch(raw, KIND_INCOMING, (libc::EPOLLIN | libc::EPOLLRDHUP) as u32).is_err() {
                self.incoming.lock().remove(raw);
            }
        });
    }

    fn serve(&self, fd: RawFd) {
        let Some(link) = self.incoming.lock().links.get(&fd).cloned() else {
            return;
        };
        if link.end.dropped.load(Ordering::SeqCst) {
            return self.incoming_closed(fd);
        }
        let id = link.id;
        match recv_msg::<Request>(fd, libc::MSG_DONTWAIT) {
            Ok(Some((req, _))) => {
                let (resp, fds) = match req.op {
                    OP_ATTACH => {
                        self.handler.attach(&link, &req).unwrap_or_else(|e| (err_response(e), Vec::new()))
                    }
                    OP_DETACH => (self.handler.detach(id, &req).unwrap_or_else(err_response), Vec::new()),
                    OP_PULSE => (self.handler.pulse(id, &req).unwrap_or_else(err_response), Vec::new()),
                    OP_EVENT => (self.handler.event(&link, &req).unwrap_or_else(err_response), Vec::new()),
                    OP_SHM_OPEN | OP_SHM_DELETE => self
                        .handler
                        .shm_handle(link.peer.pid, &req)
                        .unwrap_or_else(|e| (err_response(e), Vec::new())),
                    _ => (err_response(Errno::EINVAL), Vec::new()),
                };
                if resp.status == 0 {
                    link.end.proven.store(true, Ordering::Relaxed);
                }
                let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
                link.send(&Response { op: req.op, seq: req.seq, ..resp }, &raw);
            }
            Err(e) if e == Errno::EAGAIN || e == Errno::EINTR => {}
            // End of file or a broken peer: the client process is gone.
            _ => self.incoming_closed(fd),
        }
    }

    /// The client process at the other end of `fd` is gone, or was dropped.
    fn incoming_closed(&self, fd: RawFd) {
        self.unwatch(fd);
        let gone = self.incoming.lock().remove(fd);
        if let Some(link) = gone {
            self.handler.client_gone(link.id);
        }
    }

    fn outgoing(&self, fd: RawFd, events: u32) {
        let link = self.outgoing.lock().get(&fd).cloned();
        let open = link.is_some_and(|l| l.read_notes());
        let hangup = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
        if !open || events & hangup != 0 {
            self.outgoing_closed(fd);
        }
    }

    fn outgoing_closed(&self, fd: RawFd) {
        self.unwatch(fd);
        if let Some(link) = self.outgoing.lock().remove(&fd) {
            link.dead.store(true, Ordering::SeqCst);
            self.handler.server_gone(&link);
        }
    }

    /// Forgets an outgoing link whose last connection went away.
    pub fn close_link(&self, link: &Arc<Link>) {
        let fd = link.raw_fd();
        let mut out = self.outgoing.lock();
        if out.get(&fd).is_some_and(|l| Arc::ptr_eq(l, link)) {
            self.unwatch(fd);
            out.remove(&fd);
        }
    }
}

fn err_response(e: Errno) -> Response {
    Response { status: e.0, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the order of admissions and releases, an untrusted user never holds
        /// more than its limits, and releasing what was admitted leaves nothing counted.
        #[test]
        fn tally_holds_its_limits(ops in proptest::collection::vec((0u8..4, 0u8..3, any::<bool>()), 0..400)) {
            let mut tally = Tally::default();
            let mut held: Vec<PeerCred> = Vec::new();
            for (pid, user, admit) in ops {
                let peer = PeerCred { pid: 1000 + pid as i32, uid: 60000 + user as u32, gid: 0 };
                if admit {
                    if tally.admit(&peer, 3, 5).is_ok() {
                        held.push(peer);
                    }
                } else if let Some(i) = held.iter().position(|p| p.pid == peer.pid && p.uid == peer.uid) {
                    tally.release(&held.remove(i));
                }
                let by_pid = held.iter().filter(|p| p.pid == peer.pid && !trusted_uid(p.uid)).count();
                let by_uid = held.iter().filter(|p| p.uid == peer.uid && !trusted_uid(p.uid)).count();
                prop_assert!(by_pid <= 3 && by_uid <= 5);
            }
            for p in held.drain(..) {
                tally.release(&p);
            }
            prop_assert!(tally.by_pid.is_empty() && tally.by_uid.is_empty());
        }
    }
}
