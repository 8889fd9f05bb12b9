//! The calling process's kernel state: its channels, server connections, client
//! connections and links, created on first use and started afresh in a `fork()` child.

use super::channel::Channel;
use super::client::Coids;
use super::coid_index::CoidIndex;
use super::errno::{Errno, KResult};
use super::ids::{IdSpace, IdTable};
use super::names::Names;
use super::notify::Registration;
use super::server::ServerConn;
use super::thread::Waker;
use super::timer::Timers;
use crate::transport::link::{Link, Service, Tally};
use crate::transport::lock::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Once};

pub struct Process {
    pub pid: libc::pid_t,
    /// The one vector chids, side-channel coids and scoids are numbered in (taken last,
    /// after any of the tables below).
    pub ids: Mutex<IdSpace>,
    pub channels: Mutex<IdTable<Arc<Channel>>>,
    /// Server connections, by the low bits of their scoid.
    pub scoids: RwLock<IdTable<Arc<ServerConn>>>,
    /// How many of them each client process and user of another process holds.
    pub conn_tally: Mutex<Tally>,
    pub coids: Mutex<Coids>,
    /// The coids again, for lookups without a lock (from signal handlers).
    pub coid_index: CoidIndex,
    /// The resource managers' descriptors bound to side channels (`MsgSend*(fd)`).
    pub fdbinds: Mutex<super::fdbind::Bindings>,
    /// Links to server processes, by pid.
    pub links: Mutex<HashMap<libc::pid_t, Arc<Link>>>,
    /// The threads known to the kernel, by tid.
    pub threads: Mutex<HashMap<libc::pid_t, Arc<Waker>>>,
    /// The QNX priorities `SchedSet` recorded for threads Linux left as they were, by tid.
    pub priorities: Mutex<HashMap<libc::pid_t, i32>>,
    /// Events registered by `MsgRegisterEvent`, by handle.
    pub events: Mutex<HashMap<u32, Registration>>,
    /// The names this process holds and its dispatch handles.
    pub names: Mutex<Names>,
    /// Timers that deliver QNX events (pulses); none survives `fork()`, as on QNX.
    pub timers: Timers,
    /// The `procmgr_event_notify` registration.
    pub procwatch: Mutex<Option<super::procwatch::Registration>>,
    pub service: Service,
    /// What `pidin` reads; `None` if the memfd could not be made (nothing else depends on it).
    pub status: Option<super::status::Status>,
}

static CURRENT: AtomicPtr<Process> = AtomicPtr::new(std::ptr::null_mut());

/// The calling process's state.
pub fn current() -> &'static Process {
    let p = CURRENT.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: a published Process is leaked and never freed.
        return unsafe { &*p };
    }
    init()
}

/// The calling process's state if it has been created; never creates it.
pub fn existing() -> Option<&'static Process> {
    // SAFETY: a published Process is leaked and never freed.
    unsafe { CURRENT.load(Ordering::Acquire).as_ref() }
}

/// Whether `p` is the calling process's state (not one a fork child abandoned); never
/// creates one.
pub fn is_current(p: &Process) -> bool {
    std::ptr::eq(CURRENT.load(Ordering::Acquire), p)
}

#[cold]
fn init() -> &'static Process {
    static ATFORK: Once = Once::new();
    ATFORK.call_once(|| {
        // SAFETY: registering plain function pointers.
        unsafe {
            libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child));
            libc::atexit(at_exit);
        }
    });
    let fresh =
        Box::into_raw(Box::new(Process::new().expect("libneutrino: cannot create an epoll descriptor")));
    match CURRENT.compare_exchange(std::ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            super::procwatch::announce();
            // SAFETY: just published; leaked for the life of the process.
            unsafe { &*fresh }
        }
        Err(other) => {
            // SAFETY: `fresh` was never published; `other` is leaked for the process's life.
            unsafe {
                drop(Box::from_raw(fresh));
                &*other
            }
        }
    }
}

/// Before `fork()`: the service thread is let finish what it is doing and kept idle.
extern "C" fn fork_prepare() {
    let p = CURRENT.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: a published Process is leaked and never freed.
        unsafe { (*p).service.pause() };
    }
    PAUSED.store(p, Ordering::Release);
}

extern "C" fn fork_parent() {
    let p = PAUSED.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if !p.is_null() {
        // SAFETY: as above; `fork_prepare` paused this very service.
        unsafe { (*p).service.resume() };
    }
}

/// At `exit()`: the service thread finishes the request in hand before the process goes.
extern "C" fn at_exit() {
    let p = CURRENT.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: a published Process is leaked and never freed.
        unsafe { (*p).service.quiesce() };
    }
}

/// The process state whose service `fork_prepare` paused.
static PAUSED: AtomicPtr<Process> = AtomicPtr::new(std::ptr::null_mut());

/// QNX: a fork child has no channels and no connections. The parent's state is abandoned
/// (other threads may have held its locks at the fork) and every descriptor the library
/// held is closed, so the child can't keep the parent's links alive.
extern "C" fn fork_child() {
    PAUSED.store(std::ptr::null_mut(), Ordering::Release);
    CURRENT.store(std::ptr::null_mut(), Ordering::Release);
    crate::transport::fdreg::close_all();
    super::thread::forget_tid();
}

impl Process {
    fn new() -> KResult<Process> {
        Ok(Process {
            // SAFETY: plain syscall.
            pid: unsafe { libc::getpid() },
            ids: Mutex::new(IdSpace::new()),
            channels: Mutex::new(IdTable::new()),
            scoids: RwLock::new(IdTable::new()),
            conn_tally: Mutex::new(Tally::default()),
            coids: Mutex::new(Coids::new()),
            coid_index: CoidIndex::new(),
            fdbinds: Mutex::new(HashMap::new()),
            links: Mutex::new(HashMap::new()),
            threads: Mutex::new(HashMap::new()),
            priorities: Mutex::new(HashMap::new()),
            events: Mutex::new(HashMap::new()),
            names: Mutex::new(Names::new()),
            timers: Timers::default(),
            procwatch: Mutex::new(None),
            service: Service::new(&super::server::HANDLER)?,
            status: super::status::Status::new().ok(),
        })
    }

    /// The calling process's `&'static` service (processes are never freed).
    pub fn service(&'static self) -> &'static Service {
        &self.service
    }

    pub fn channel(&self, chid: i32) -> KResult<Arc<Channel>> {
        if chid <= 0 {
            return Err(Errno::ESRCH);
        }
        self.channels.lock().get(chid as usize).cloned().ok_or(Errno::ESRCH)
    }

    /// Whether the process holds anything of the library that a `fork()` child would lose:
    /// channels, links to servers, a `procmgr_event_notify` registration.
    pub fn holds_state(&self) -> bool {
        self.channels.lock().iter().next().is_some()
            || !self.links.lock().is_empty()
            || self.procwatch.lock().is_some()
    }

    /// The link to server process `pid`, opened on first use (within the rendezvous's
    /// patience).
    pub fn link(&'static self, pid: libc::pid_t) -> KResult<Arc<Link>> {
        self.link_by(pid, crate::transport::rendezvous::deadline())
    }

    /// `link`, opened by `deadline`: `EAGAIN` then, `EINTR` on a signal.
    ///
    /// The connect is made without holding the table: a slow or hostile server delays only
    /// the threads that want it. Threads that race to open the same link keep the first
    /// one stored and close their own.
    pub fn link_by(&'static self, pid: libc::pid_t, deadline: std::time::Instant) -> KResult<Arc<Link>> {
        let live =
            |links: &HashMap<libc::pid_t, Arc<Link>>| links.get(&pid).filter(|l| !l.is_dead()).cloned();
        if let Some(l) = live(&self.links.lock()) {
            return Ok(l);
        }
        let fresh = self.service().connect(pid, deadline)?;
        let mut links = self.links.lock();
        if let Some(l) = live(&links) {
            drop(links);
            self.service().close_link(&fresh);
            return Ok(l);
        }
        links.insert(pid, fresh.clone());
        Ok(fresh)
    }
}
