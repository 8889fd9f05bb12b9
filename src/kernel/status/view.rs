//! The processes that use libneutrino, their threads' QNX states and their connections,
//! put together from each one's published status and what Linux tells.

use super::procfs::{self as linux, Task};
use super::{Layout, Snapshot};
use crate::kernel::status;
use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;

pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub args: Vec<String>,
    pub status: Snapshot,
    pub threads: Vec<Thread>,
}

pub struct Thread {
    pub tid: i32,
    pub name: String,
    pub prio: String,
    pub state: &'static str,
    pub blocked: String,
    /// SEND or REPLY: the server process and channel.
    pub to: Option<(i32, i32)>,
}

/// What a thread's published record says, checked against its sequence.
#[derive(Clone, Copy)]
pub struct InCall {
    pub state: u32,
    pub a: u32,
    pub b: u32,
    pub c: u32,
}

impl Proc {
    /// The process's name as QNX's `pidin` shows it: the path it was started by.
    pub fn name(&self) -> String {
        self.args.first().cloned().unwrap_or_else(|| format!("({})", self.pid))
    }

    pub fn layout(&self) -> &Layout {
        self.status.layout()
    }

    /// The record of thread `tid`, if it is inside one of our calls.
    pub fn in_call(&self, tid: i32) -> Option<InCall> {
        self.layout().threads.iter().find(|r| r.tid.load(Ordering::Relaxed) == tid as u32).and_then(|r| {
            let seq = r.seq.load(Ordering::Relaxed);
            let c = InCall {
                state: r.state.load(Ordering::Relaxed),
                a: r.a.load(Ordering::Relaxed),
                b: r.b.load(Ordering::Relaxed),
                c: r.c.load(Ordering::Relaxed),
            };
            // Odd: caught half-way through a change (then the thread was just entering a call).
            (seq % 2 == 0 && c.state != status::ST_NONE).then_some(c)
        })
    }

    /// The channel coid `coid` is connected to (-1: not known).
    pub fn chid_of(&self, coid: u32) -> i32 {
        let rec = self.layout().coids.iter().find(|r| r.coid.load(Ordering::Relaxed) == coid.wrapping_add(1));
        rec.map_or(-1, |r| r.chid.load(Ordering::Relaxed) as i32)
    }

    /// Whether slot `slot` of server connection `index` is received and not yet replied to.
    pub fn holds(&self, index: usize, slot: u32) -> bool {
        self.layout().conns.get(index).is_some_and(|r| {
            r.scoid.load(Ordering::Relaxed) != 0
                && slot < 32
                && r.held.load(Ordering::Relaxed) & (1 << slot) != 0
        })
    }
}

/// Reads the status of process `pid`, if it uses libneutrino and we may look at it.
fn snapshot(pid: i32) -> Option<Snapshot> {
    let prefix = format!("/memfd:{}", status::MEMFD_NAME);
    linux::open_fds_named(pid, &prefix)
        .into_iter()
        .find_map(|fd| Snapshot::read(fd.as_raw_fd(), pid).ok().flatten())
}

/// Every process we may inspect that uses libneutrino, with its threads' states.
pub fn gather() -> Vec<Proc> {
    let mut procs: Vec<Proc> = linux::pids()
        .into_iter()
        .filter_map(|pid| {
            let status = snapshot(pid)?;
            let (ppid, uid) = linux::ids(pid);
            Some(Proc { pid, ppid, uid, args: linux::args(pid), status, threads: Vec::new() })
        })
        .collect();
    let by_pid: HashMap<i32, usize> = procs.iter().enumerate().map(|(i, p)| (p.pid, i)).collect();
    // Resource managers' paths, and who serves each.
    let paths: Vec<(String, i32)> = procs
        .iter()
        .flat_map(|p| {
            p.layout()
                .names
                .iter()
                .filter(|r| r.kind.load(Ordering::Relaxed) == status::NAME_PATH)
                .map(|r| (String::from_utf8_lossy(&r.text()).into_owned(), p.pid))
        })
        .collect();
    let served_by = |path: &str| {
        paths.iter().find_map(|(root, pid)| {
            let under = path.strip_prefix(root.as_str())?;
            (under.is_empty() || under.starts_with('/')).then_some(*pid)
        })
    };
    let threads: Vec<Vec<Thread>> = procs
        .iter()
        .map(|p| {
            linux::tids(p.pid)
                .into_iter()
                .filter_map(|tid| linux::task(p.pid, tid))
                // The library's own threads: QNX has none.
                .filter(|t| !t.comm.starts_with("neutrino-"))
                .map(|t| thread(p, &t, &|pid| by_pid.get(&pid).map(|&i| &procs[i]), &served_by))
                .collect()
        })
        .collect();
    for (p, t) in procs.iter_mut().zip(threads) {
        p.threads = t;
    }
    procs
}

fn thread<'a>(
    p: &Proc,
    t: &Task,
    find: &dyn Fn(i32) -> Option<&'a Proc>,
    served_by: &dyn Fn(&str) -> Option<i32>,
) -> Thread {
    let call = p.in_call(t.tid);
    let to = call.filter(|c| c.state == status::ST_MESSAGE).map(|c| (c.a as i32, p.chid_of(c.b)));
    let (state, blocked) = match (t.state, call) {
        ('T' | 't', _) => ("STOPPED", String::new()),
        ('Z' | 'X', _) => ("DEAD", String::new()),
        (_, Some(c)) => ours(c, find),
        ('R', None) => ("RUNNING", String::new()),
        (_, None) => linux_state(t, &|fd| linux::fd_target(p.pid, fd).and_then(|path| served_by(&path))),
    };
    Thread { tid: t.tid, name: linux::printable(&t.comm), prio: prio(t), state, blocked, to }
}

/// A thread inside one of our calls.
fn ours<'a>(c: InCall, find: &dyn Fn(i32) -> Option<&'a Proc>) -> (&'static str, String) {
    match c.state {
        status::ST_RECEIVE => ("RECEIVE", (c.a as i32).to_string()),
        status::ST_MESSAGE => {
            let (server, index, slot) = (c.a as i32, (c.c >> 8) as usize, c.c & 0xFF);
            let state = if slot == status::NO_SLOT {
                "SEND"
            } else {
                match find(server) {
                    Some(s) if s.holds(index, slot) => "REPLY",
                    Some(_) => "SEND",
                    // A server we may not read (another user's): its message was posted.
                    None => "REPLY",
                }
            };
            (state, server.to_string())
        }
        _ => ("READY", String::new()),
    }
}

/// The futex operation without `FUTEX_PRIVATE_FLAG` and `FUTEX_CLOCK_REALTIME`.
const FUTEX_CMD_MASK: u64 = 0x7F;

/// A thread outside our calls, from the system call it is blocked in; `server` tells which
/// resource manager serves a descriptor, if one does.
fn linux_state(t: &Task, server: &dyn Fn(i32) -> Option<i32>) -> (&'static str, String) {
    let Some((nr, args)) = t.syscall else { return from_wchan(&t.wchan) };
    let on_fd = [libc::SYS_read, libc::SYS_write, libc::SYS_readv, libc::SYS_writev, libc::SYS_ioctl];
    if on_fd.contains(&nr) || nr == libc::SYS_pread64 || nr == libc::SYS_pwrite64 {
        // On QNX the thread is REPLY-blocked on the resource manager.
        if let Some(pid) = server(args[0] as i32) {
            return ("REPLY", pid.to_string());
        }
    }
    match nr {
        libc::SYS_futex => match args[1] & FUTEX_CMD_MASK {
            0 | 6 | 13 => ("MUTEX", format!("(0x{:x})", args[0])),
            _ => ("CONDVAR", format!("(0x{:x})", args[0])),
        },
        libc::SYS_clock_nanosleep => ("NANOSLEEP", String::new()),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_nanosleep => ("NANOSLEEP", String::new()),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_pause => ("SIGSUSPEND", String::new()),
        libc::SYS_rt_sigsuspend => ("SIGSUSPEND", String::new()),
        libc::SYS_rt_sigtimedwait => ("SIGWAITINFO", String::new()),
        // On QNX every other blocking call is a message to a server: REPLY.
        _ => ("REPLY", format!("({})", syscall_name(nr))),
    }
}

/// When the system call is not ours to read: what the kernel function says.
fn from_wchan(wchan: &str) -> (&'static str, String) {
    if wchan.contains("nanosleep") {
        ("NANOSLEEP", String::new())
    } else if wchan.contains("futex") {
        ("CONDVAR", String::new())
    } else if wchan.contains("sigsuspend") {
        ("SIGSUSPEND", String::new())
    } else if wchan.contains("sigtimedwait") {
        ("SIGWAITINFO", String::new())
    } else if wchan.is_empty() || wchan == "0" {
        ("READY", String::new())
    } else {
        ("REPLY", format!("({wchan})"))
    }
}

fn syscall_name(nr: i64) -> String {
    let known: &[(i64, &str)] = &[
        (libc::SYS_read, "read"),
        (libc::SYS_write, "write"),
        (libc::SYS_readv, "readv"),
        (libc::SYS_writev, "writev"),
        (libc::SYS_pread64, "pread"),
        (libc::SYS_pwrite64, "pwrite"),
        (libc::SYS_openat, "open"),
        (libc::SYS_ioctl, "ioctl"),
        (libc::SYS_ppoll, "poll"),
        (libc::SYS_pselect6, "select"),
        (libc::SYS_epoll_pwait, "epoll_wait"),
        (libc::SYS_accept4, "accept"),
        (libc::SYS_recvfrom, "recv"),
        (libc::SYS_recvmsg, "recvmsg"),
        (libc::SYS_sendmsg, "sendmsg"),
        (libc::SYS_connect, "connect"),
        (libc::SYS_waitid, "waitid"),
        (libc::SYS_wait4, "waitpid"),
        #[cfg(target_arch = "x86_64")]
        (libc::SYS_poll, "poll"),
        #[cfg(target_arch = "x86_64")]
        (libc::SYS_select, "select"),
        #[cfg(target_arch = "x86_64")]
        (libc::SYS_epoll_wait, "epoll_wait"),
        #[cfg(target_arch = "x86_64")]
        (libc::SYS_accept, "accept"),
        #[cfg(target_arch = "x86_64")]
        (libc::SYS_open, "open"),
    ];
    known.iter().find(|(n, _)| *n == nr).map_or_else(|| format!("syscall {nr}"), |(_, s)| s.to_string())
}

/// QNX's priority column: the priority and the policy's letter.
fn prio(t: &Task) -> String {
    match t.policy as i32 {
        libc::SCHED_FIFO => format!("{}f", t.rt_priority),
        libc::SCHED_RR => format!("{}r", t.rt_priority),
        _ => format!("{}o", crate::kernel::thread::DEFAULT_PRIORITY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(nr: i64, arg1: u64) -> Task {
        Task {
            tid: 1,
            comm: String::new(),
            state: 'S',
            policy: 0,
            rt_priority: 0,
            syscall: Some((nr, [0x10, arg1, 0, 0, 0, 0])),
            wchan: String::new(),
        }
    }

    #[test]
    fn futex_waits_read_as_mutex_or_condvar() {
        // FUTEX_WAIT | FUTEX_PRIVATE_FLAG: glibc's mutex; FUTEX_WAIT_BITSET: its condvar.
        let none = |_| None;
        assert_eq!(linux_state(&task(libc::SYS_futex, 128), &none).0, "MUTEX");
        assert_eq!(linux_state(&task(libc::SYS_futex, 137), &none).0, "CONDVAR");
        assert_eq!(linux_state(&task(libc::SYS_futex, 393), &none).0, "CONDVAR");
        assert_eq!(linux_state(&task(libc::SYS_clock_nanosleep, 0), &none).0, "NANOSLEEP");
        assert_eq!(linux_state(&task(libc::SYS_read, 0), &none), ("REPLY", "(read)".to_string()));
        // A read of a resource manager's file: REPLY-blocked on its process.
        let served = |fd| (fd == 0x10).then_some(4321);
        assert_eq!(linux_state(&task(libc::SYS_read, 0), &served), ("REPLY", "4321".to_string()));
    }

    #[test]
    fn a_real_time_thread_shows_its_priority_and_policy() {
        let t = Task { policy: libc::SCHED_RR as u32, rt_priority: 21, ..task(0, 0) };
        assert_eq!(prio(&t), "21r");
        assert_eq!(prio(&task(0, 0)), "10o");
    }
}
