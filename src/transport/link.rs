//! The per-process control socket and its service thread.
//!
//! Every process that owns a channel listens on the abstract Unix socket
//! `\0neutrino.<pid>`; no daemon is involved. A client process opens one link per server
//! process and uses it for set-up (attach, detach) and nothing else: messages travel through
//! shared memory. The link also carries liveness: it lives exactly as long as both processes,
//! so end-of-file on it is death, without PID polling. `SO_PEERCRED` tells each side who the
//! other is.

use super::copy::Image;
use super::fdreg::Tracked;
use crate::kernel::errno::{check, Errno, KResult};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

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
/// A pulse that did not fit the connection's ring.
pub const OP_PULSE: u32 = 3;
/// `OP_PULSE` flag: no pulse, but the channel's pulse pool was found exhausted.
pub const POOL_EXHAUSTED: u32 = 1;
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
    pub tid: i32,
    pub reserved: u32,
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
    /// 1 if the client may send pulses to the channel.
    pub may_pulse: u32,
    /// Not an answer but a notice from the server ([`NOTE_CHANNEL_GONE`]); 0 for answers.
    pub note: u32,
}

/// Notice: the channel behind connection `scoid` was destroyed.
pub const NOTE_CHANNEL_GONE: u32 = 1;

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

fn socket_name(pid: libc::pid_t) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: sockaddr_un is plain data.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let name = format!("neutrino.{pid}");
    // sun_path[0] stays 0: the abstract namespace, which vanishes with the process.
    for (i, b) in name.bytes().enumerate() {
        addr.sun_path[i + 1] = b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + name.len();
    (addr, len as libc::socklen_t)
}

fn seqpacket() -> KResult<OwnedFd> {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    check(fd as libc::c_long)?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
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

fn send_msg<T: Copy>(fd: RawFd, msg: &T, fds: &[RawFd]) -> KResult<()> {
    send_msg_flags(fd, msg, fds, 0)
}

fn send_msg_flags<T: Copy>(fd: RawFd, msg: &T, fds: &[RawFd], flags: i32) -> KResult<()> {
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

/// A client process's link to one server process.
pub struct Link {
    pub id: LinkId,
    fd: Tracked,
    lock: Mutex<()>,
    dead: AtomicBool,
    handler: &'static dyn Handler,
}

impl Link {
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Sends `req` and waits for the server's answer.
    pub fn request(&self, req: &Request) -> KResult<(Response, Vec<OwnedFd>)> {
        let _hold = NoCancel::new();
        let _g = self.lock.lock();
        if self.is_dead() {
            return Err(Errno::ESRCH);
        }
        send_msg(self.fd.as_raw_fd(), req, &[]).map_err(|_| Errno::ESRCH)?;
        loop {
            match recv_msg::<Response>(self.fd.as_raw_fd(), 0) {
                Ok(Some((r, _))) if r.note != 0 => self.handler.note(self, &r),
                Ok(Some(r)) => return Ok(r),
                Ok(None) => return Err(Errno::ESRCH),
                Err(e) if e == Errno::EINTR => continue,
                Err(_) => return Err(Errno::ESRCH),
            }
        }
    }

    /// Handles the notices that have arrived; false at end of file.
    fn read_notes(&self) -> bool {
        let _g = self.lock.lock();
        loop {
            match recv_msg::<Response>(self.fd.as_raw_fd(), libc::MSG_DONTWAIT) {
                Ok(Some((r, _))) => self.handler.note(self, &r),
                Err(e) if e == Errno::EAGAIN => return true,
                Err(e) if e == Errno::EINTR => continue,
                _ => return false,
            }
        }
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

const KIND_LISTENER: u64 = 1;
const KIND_INCOMING: u64 = 2;
const KIND_OUTGOING: u64 = 3;
const KIND_NAME: u64 = 4;

/// A client process's link to us.
#[derive(Clone)]
pub struct IncomingLink {
    pub id: LinkId,
    pub peer: PeerCred,
    fd: Arc<Tracked>,
    /// The client's process image, opened at its first attach.
    pub image: Arc<Mutex<Option<Arc<Image>>>>,
}

impl IncomingLink {
    /// Sends the client a notice; never blocks (a client that does not read loses it).
    pub fn notify(&self, note: &Response) {
        let _ = send_msg_flags(self.fd.as_raw_fd(), note, &[], libc::MSG_DONTWAIT);
    }

    /// Whether the client process is still alive: its end of the link is open. Death is
    /// also reported by the service thread, a moment later; this answers at once.
    pub fn alive(&self) -> bool {
        let mut p = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLRDHUP, revents: 0 };
        // SAFETY: p is valid for the call; a zero timeout never blocks.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        n == 0 || p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) == 0
    }
}

/// One process's service thread, its listener and its links.
pub struct Service {
    epfd: Tracked,
    listener: Mutex<Option<Tracked>>,
    incoming: Mutex<HashMap<RawFd, IncomingLink>>,
    outgoing: Mutex<HashMap<RawFd, Arc<Link>>>,
    next_id: AtomicU64,
    started: AtomicBool,
    handler: &'static dyn Handler,
    /// Held while the service thread handles events: `fork()` waits for it, so a child is
    /// never made while this thread is half-way through something (an allocation, say).
    busy: Gate,
}

/// A plain futex lock. Unlike the others it never allocates, not even the first time a
/// thread waits on it: `fork()` takes it (in a `pthread_atfork` handler), and a thread caught
/// inside the allocator at that moment would leave the child's allocator locked.
struct Gate(std::sync::atomic::AtomicU32);

impl Gate {
    fn lock(&self) {
        while self.0.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            let _ = super::futex::wait(&self.0, 1, None);
        }
    }

    fn unlock(&self) {
        self.0.store(0, Ordering::Release);
        super::futex::wake(&self.0, 1);
    }

    /// `lock`, giving up after `patience`.
    fn lock_within(&self, patience: std::time::Duration) {
        let end = std::time::Instant::now() + patience;
        while self.0.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            let _ = super::futex::wait(&self.0, 1, Some(left));
        }
    }
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
            incoming: Mutex::new(HashMap::new()),
            outgoing: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            started: AtomicBool::new(false),
            handler,
            busy: Gate(std::sync::atomic::AtomicU32::new(0)),
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
        let (up, started) = std::sync::mpsc::channel::<()>();
        spawn_quiet("neutrino-svc", move || {
            self.busy.lock();
            let _ = up.send(());
            self.busy.unlock();
            self.run()
        })?;
        let _ = started.recv();
        Ok(())
    }

    /// Before `fork()`: waits until the service thread is idle and keeps it so.
    pub fn pause(&self) {
        // Released by `resume` (the parent) or abandoned with the whole state (the child).
        self.busy.lock();
    }

    /// At exit: lets the service thread finish what it is doing, and keeps it idle. A peer
    /// waiting for its answer gets it: an event it had us deliver, whose pulse made us
    /// exit, is not reported lost (`ESRCH`) for want of the reply. Bounded: we are ending.
    pub fn quiesce(&self) {
        self.busy.lock_within(std::time::Duration::from_millis(200));
    }

    /// After `fork()`, in the parent.
    pub fn resume(&self) {
        self.busy.unlock();
    }

    /// Makes this process reachable by `ConnectAttach` from other processes.
    pub fn listen(&'static self) -> KResult<()> {
        let mut l = self.listener.lock();
        if l.is_some() {
            return Ok(());
        }
        let fd = seqpacket()?;
        // SAFETY: plain syscall.
        let (addr, len) = socket_name(unsafe { libc::getpid() });
        // SAFETY: addr is a valid sockaddr_un of `len` bytes.
        let bound = unsafe { libc::bind(fd.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len) };
        // Taken: another process squats our name (see `connect`), and we cannot serve.
        check(bound as libc::c_long).map_err(|_| Errno::EAGAIN)?;
        // SAFETY: plain syscalls on our socket.
        check(unsafe { libc::listen(fd.as_raw_fd(), 128) } as libc::c_long)?;
        // SAFETY: as above.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
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

    /// Opens a link to server process `pid`.
    pub fn connect(&'static self, pid: libc::pid_t) -> KResult<Arc<Link>> {
        let _hold = NoCancel::new();
        let fd = seqpacket()?;
        let (addr, len) = socket_name(pid);
        loop {
            // SAFETY: addr is a valid sockaddr_un of `len` bytes.
            let r = unsafe { libc::connect(fd.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len) };
            if r == 0 {
                break;
            }
            match Errno::last() {
                Errno::EINTR => continue,
                // Nobody listens: no such process, or one without channels.
                _ => return Err(Errno::ESRCH),
            }
        }
        // Any process may bind a free abstract name: only `pid` itself is `pid`'s listener.
        if peer_cred(fd.as_raw_fd())?.pid != pid {
            return Err(Errno::ESRCH);
        }
        let link = Arc::new(Link {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            fd: Tracked::new(fd),
            lock: Mutex::new(()),
            dead: AtomicBool::new(false),
            handler: self.handler,
        });
        let raw = link.raw_fd();
        self.outgoing.lock().insert(raw, link.clone());
        self.watch(raw, KIND_OUTGOING, (libc::EPOLLIN | libc::EPOLLRDHUP) as u32)?;
        self.start()?;
        Ok(link)
    }

    fn run(&self) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 32];
        loop {
            // SAFETY: events is a valid buffer of 32 entries.
            let n = unsafe { libc::epoll_wait(self.epfd.as_raw_fd(), events.as_mut_ptr(), 32, -1) };
            if n < 0 {
                continue; // EINTR
            }
            self.busy.lock();
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
            self.busy.unlock();
        }
    }

    fn accept_all(&self, lfd: RawFd) {
        loop {
            // SAFETY: plain syscall; we do not want the peer address.
            let fd =
                unsafe { libc::accept4(lfd, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
            if fd < 0 {
                return;
            }
            // SAFETY: fresh descriptor we own.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let Ok(peer) = peer_cred(fd.as_raw_fd()) else {
                continue;
            };
            let raw = fd.as_raw_fd();
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            self.incoming.lock().insert(
                raw,
                IncomingLink { id, fd: Arc::new(Tracked::new(fd)), peer, image: Default::default() },
            );
            if self.watch(raw, KIND_INCOMING, (libc::EPOLLIN | libc::EPOLLRDHUP) as u32).is_err() {
                self.incoming.lock().remove(&raw);
            }
        }
    }

    fn serve(&self, fd: RawFd) {
        let Some(link) = self.incoming.lock().get(&fd).cloned() else {
            return;
        };
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
                let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
                let _ = send_msg(fd, &resp, &raw);
            }
            Err(e) if e == Errno::EAGAIN || e == Errno::EINTR => {}
            // End of file or a broken peer: the client process is gone.
            _ => {
                self.unwatch(fd);
                if let Some(inc) = self.incoming.lock().remove(&fd) {
                    self.handler.client_gone(inc.id);
                }
            }
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
