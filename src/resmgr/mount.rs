//! Mounting a FUSE file system at an attached path, and making sure it goes away: by the
//! resource manager's own unmount, or, when it dies, by a watchdog process.
//!
//! As root the bridge mounts with mount(2) itself (`allow_other`: the path serves every
//! user; no `default_permissions`: access is the resource manager's iofunc checks). Any
//! other user mounts through the setuid `fusermount3`, which hands back the /dev/fuse
//! descriptor over a socket (`_FUSE_COMMFD`); `allow_other` only where /etc/fuse.conf says
//! `user_allow_other`. Missing directories and the mountpoint itself are created and
//! removed again at unmount.

use super::overmount;
use crate::kernel::errno::{Errno, KResult};
use crate::transport::lock::Mutex;
use std::ffi::{CStr, CString};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The longest path the watchdog's records carry.
const PATH_MAX: usize = RECORD - 20 - ABORT_MAX;
/// Room for the path of a connection's `abort` file.
const ABORT_MAX: usize = 64;
/// Where fusectl shows each FUSE connection (its `abort` ends it whoever holds it open).
const FUSECTL: &str = "/sys/fs/fuse/connections";
/// One watchdog message: at most PIPE_BUF, so that each write is atomic.
const RECORD: usize = 4096;
/// Mounts one watchdog keeps track of.
const MOUNTS: usize = 256;

/// A mount made by this process.
pub struct Mounted {
    /// The /dev/fuse descriptor.
    pub fd: OwnedFd,
    path: CString,
    dir: bool,
    root: bool,
    /// Length of the shortest prefix of `path` we created (0: we created nothing).
    created_from: usize,
    id: u32,
    /// The connection's fusectl `abort` file, if fusectl is there.
    abort: Option<CString>,
    /// A root mount's id and mount point, as /proc/self/mountinfo shows them.
    table: Option<(u64, CString)>,
}

fn errno_of(e: &std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(libc::EIO))
}

fn last() -> Errno {
    Errno::last()
}

/// Whether we mount ourselves (mount(2)) rather than through fusermount3.
fn privileged() -> bool {
    // SAFETY: plain syscall.
    unsafe { libc::geteuid() == 0 }
}

/// fusermount3's absolute path, if installed.
fn fusermount() -> Option<CString> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join("fusermount3"))
        .find(|p| p.is_file())
        .and_then(|p| CString::new(p.into_os_string().into_encoded_bytes()).ok())
}

/// Mounts a FUSE file system at `path`: a directory with `dir`, a file otherwise.
pub fn mount(path: &str, dir: bool) -> KResult<Mounted> {
    if !path.starts_with('/') || path.len() >= PATH_MAX {
        return Err(if path.len() >= PATH_MAX { Errno::ENAMETOOLONG } else { Errno::EINVAL });
    }
    let path = path.trim_end_matches('/');
    let cpath = CString::new(path).map_err(|_| Errno::EINVAL)?;
    let root = privileged();
    // SAFETY: plain syscall.
    if !root && unsafe { libc::access(c"/dev/fuse".as_ptr(), libc::F_OK) } != 0 {
        return Err(Errno::ENODEV);
    }
    watchdog_start()?;
    clear_stale(&cpath, root);
    let created_from = make_mountpoint(path, dir)?;
    // Root's mount is named by a source no one else knows, so that it is found in the
    // mount table whatever else is mounted at the path (see `overmount`).
    let source = format!("neutrino-{:016x}", random());
    let fd = if root { mount_root(&cpath, dir, &source) } else { mount_user(&cpath) };
    let fd = match fd {
        Ok(fd) => fd,
        Err(e) => {
            remove_created(&cpath, dir, created_from);
            return Err(e);
        }
    };
    static IDS: AtomicU32 = AtomicU32::new(1);
    let id = IDS.fetch_add(1, Ordering::Relaxed);
    let mut m = Mounted { fd, path: cpath, dir, root, created_from, id, abort: None, table: None };
    // The watchdog hears of it at once, and again with its abort file.
    watchdog_tell(OP_MOUNT, &m);
    let line = if root {
        // SAFETY: plain syscall.
        overmount::find(source.as_bytes(), unsafe { libc::geteuid() })
    } else {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        overmount::parse(&info).into_iter().rev().find(|l| l.point == path.as_bytes())
    };
    if let Some(l) = line {
        m.abort = abort_file(l.dev, root);
        if m.abort.is_some() {
            watchdog_tell(OP_MOUNT, &m);
        }
        if root {
            let point = CString::new(l.point).expect("a line has no NUL");
            overmount::guard(l.id, point.clone());
            m.table = Some((l.id, point));
        }
    }
    Ok(m)
}

fn random() -> u64 {
    let mut v = 0u64;
    // SAFETY: v is valid for 8 bytes.
    unsafe { libc::getrandom(&mut v as *mut u64 as *mut libc::c_void, 8, 0) };
    v
}

/// Ends the mount and its connection (files still open fail with ENOTCONN, even when a
/// forked child of ours holds the /dev/fuse descriptor) and removes what `mount` created.
pub fn unmount(m: &Mounted) {
    if let Some(a) = &m.abort {
        abort(a);
    }
    match &m.table {
        // Exactly ours, once whatever another user stacked on it is gone.
        Some((id, point)) => {
            overmount::unguard(*id);
            overmount::clear_over(*id, point);
            overmount::detach_exact(point, *id);
        }
        None => detach(&m.path, m.root),
    }
    remove_created(&m.path, m.dir, m.created_from);
    watchdog_tell(OP_UNMOUNT, m);
}

fn detach(path: &CStr, root: bool) {
    if root {
        // A symlink put in its place is not followed to someone else's mount.
        // SAFETY: path is a valid C string.
        unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) };
    } else if let Some(fm) = fusermount() {
        let _ = Command::new(os(&fm))
            .args(["-u", "-z", "--"])
            .arg(os(path))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The `OsStr` of a C string's bytes.
fn os(c: &CStr) -> &std::ffi::OsStr {
    std::os::unix::ffi::OsStrExt::from_bytes(c.to_bytes())
}

/// Writes to a connection's fusectl `abort` file (async-signal-safe: the watchdog uses it).
fn abort(file: &CStr) {
    // SAFETY: plain syscalls on a descriptor opened here.
    unsafe {
        let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, b"1".as_ptr() as *const libc::c_void, 1);
            libc::close(fd);
        }
    }
}

/// The fusectl `abort` file of the FUSE mount of device `(major, minor)`: the connection is
/// named by the mount's device number, which /proc/self/mountinfo gives without asking the
/// file system. As root, fusectl is mounted first if it is not (systemd does so at boot).
fn abort_file((major, minor): (u32, u32), root: bool) -> Option<CString> {
    // The kernel's dev_t numbering: minor's low 8 bits, major, then minor's high bits.
    let n = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
    let file = format!("{FUSECTL}/{n}/abort");
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    if root && std::fs::metadata(&file).is_err() && !info.lines().any(|l| l.contains(" - fusectl ")) {
        let target = CString::new(FUSECTL).expect("no NUL");
        // SAFETY: valid C strings.
        unsafe {
            libc::mount(c"fusectl".as_ptr(), target.as_ptr(), c"fusectl".as_ptr(), 0, std::ptr::null())
        };
    }
    if file.len() >= ABORT_MAX || std::fs::metadata(&file).is_err() {
        return None;
    }
    CString::new(file).ok()
}

/// A dead earlier server's mount left at `path` (stat fails with ENOTCONN) is detached.
fn clear_stale(path: &CStr, root: bool) {
    // SAFETY: st is plain data filled by the call; path is a valid C string.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::stat(path.as_ptr(), &mut st) } != 0 && last() == Errno::ENOTCONN {
        detach(path, root);
    }
}

/// Directories this process made above its mountpoints and has not removed. A later mount
/// below one shares it: whichever of them ends last removes it (two attachments in a new
/// /dev/local leave no /dev/local behind, whatever order they end in).
static MADE_DIRS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Creates the missing directories above `path` and `path` itself; returns the length of
/// the shortest prefix created (or made by an earlier mount of ours and shared), 0 if
/// nothing was.
fn make_mountpoint(path: &str, dir: bool) -> KResult<usize> {
    let mut created_from = 0;
    // What this call made itself, for a mountpoint that was there already.
    let mut own_from = 0;
    let cut: Vec<usize> = path.match_indices('/').map(|(i, _)| i).filter(|&i| i > 0).collect();
    for &i in &cut {
        let p = CString::new(&path[..i]).expect("checked");
        // SAFETY: p is a valid C string.
        if unsafe { libc::mkdir(p.as_ptr(), 0o755) } == 0 {
            MADE_DIRS.lock().push(path[..i].to_owned());
            if created_from == 0 {
                created_from = i;
            }
            if own_from == 0 {
                own_from = i;
            }
        } else if last() == Errno::EEXIST {
            if created_from == 0 && MADE_DIRS.lock().iter().any(|d| d == &path[..i]) {
                created_from = i;
            }
        } else {
            let e = last();
            undo_dirs(path, created_from);
            return Err(e);
        }
    }
    let p = CString::new(path).expect("checked");
    // SAFETY: p is a valid C string; the descriptor is closed at once.
    let made = unsafe {
        if dir {
            libc::mkdir(p.as_ptr(), 0o755) == 0
        } else {
            let fd = libc::open(
                p.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
                0o644,
            );
            fd >= 0 && libc::close(fd) == 0
        }
    };
    if made {
        return Ok(if created_from == 0 { path.len() } else { created_from });
    }
    let e = last();
    if e != Errno::EEXIST {
        undo_dirs(path, created_from);
        return Err(e);
    }
    Ok(own_from)
}

/// Removes the directories above `path` that were created from `created_from` on.
fn undo_dirs(path: &str, created_from: usize) {
    if created_from == 0 {
        return;
    }
    let mut p = path.to_owned();
    while let Some(i) = p.rfind('/') {
        p.truncate(i);
        if p.len() < created_from {
            break;
        }
        let c = CString::new(p.as_str()).expect("checked");
        // SAFETY: c is a valid C string.
        if unsafe { libc::rmdir(c.as_ptr()) } == 0 {
            MADE_DIRS.lock().retain(|d| d != &p);
        }
    }
}

/// Removes the mountpoint and the directories above it that `make_mountpoint` created.
fn remove_created(path: &CStr, dir: bool, created_from: usize) {
    if created_from == 0 {
        return;
    }
    // Whatever was created, the mountpoint was (it did not exist).
    // SAFETY: path is a valid C string.
    unsafe {
        if dir {
            libc::rmdir(path.as_ptr());
        } else {
            libc::unlink(path.as_ptr());
        }
    }
    undo_dirs(path.to_str().expect("made from a str"), created_from);
}

/// mount(2) of a FUSE file system on a new /dev/fuse descriptor. The mountpoint is opened
/// without following a symlink and mounted on through that descriptor: a user who can
/// write where the path lies cannot send root's mount over a file of their choosing (by a
/// symlink there, or one swapped in between our checks and the mount), which would shadow
/// it for everyone.
fn mount_root(path: &CStr, dir: bool, source: &str) -> KResult<OwnedFd> {
    // SAFETY: a plain open; the descriptor is ours.
    let at = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    if at < 0 {
        return Err(last());
    }
    // SAFETY: just opened.
    let at = unsafe { OwnedFd::from_raw_fd(at) };
    // SAFETY: st is plain data filled by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above, on our descriptor.
    if unsafe { libc::fstat(at.as_raw_fd(), &mut st) } != 0 {
        return Err(last());
    }
    if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
        return Err(Errno(libc::ELOOP));
    }
    let target = CString::new(format!("/proc/self/fd/{}", at.as_raw_fd())).expect("no NUL");
    // SAFETY: a plain open; the descriptor is ours.
    let fd = unsafe { libc::open(c"/dev/fuse".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(last());
    }
    // SAFETY: fd was just opened.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let rootmode = if dir { libc::S_IFDIR } else { libc::S_IFREG };
    // The effective ids: the user the kernel names as the server (SO_PEERCRED), which a
    // client binding a descriptor checks against the mount's user_id (fdbind.rs).
    // SAFETY: plain syscalls.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let opts = CString::new(format!(
        "fd={},rootmode={rootmode:o},user_id={uid},group_id={gid},allow_other",
        fd.as_raw_fd()
    ))
    .expect("no NUL");
    let source = CString::new(source).expect("no NUL");
    // SAFETY: every pointer is a valid C string.
    let r = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            c"fuse.neutrino".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            opts.as_ptr() as *const libc::c_void,
        )
    };
    if r != 0 {
        return Err(last());
    }
    Ok(fd)
}

/// Whether /etc/fuse.conf lets users ask for `allow_other`.
fn users_may_allow_other() -> bool {
    std::fs::read_to_string("/etc/fuse.conf")
        .map(|t| t.lines().any(|l| l.split('#').next().unwrap_or("").trim() == "user_allow_other"))
        .unwrap_or(false)
}

/// A mount through fusermount3, which gives us the descriptor over a socket.
fn mount_user(path: &CStr) -> KResult<OwnedFd> {
    let fm = fusermount().ok_or(Errno::EPERM)?;
    let mut sv = [0 as RawFd; 2];
    // SAFETY: sv is valid for the call.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) }
        != 0
    {
        return Err(last());
    }
    // SAFETY: both were just made.
    let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) };
    let mut opts = String::from("nosuid,nodev,fsname=neutrino,subtype=neutrino");
    if users_may_allow_other() {
        opts.push_str(",allow_other");
    }
    let theirs_fd = theirs.as_raw_fd();
    let mut cmd = Command::new(os(&fm));
    cmd.args(["-o", &opts, "--"])
        .arg(os(path))
        .env("_FUSE_COMMFD", theirs_fd.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: fcntl is async-signal-safe; it only lets the child keep its end.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(theirs_fd, libc::F_SETFD, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
    let mut child = cmd.spawn().map_err(|e| errno_of(&e))?;
    drop(theirs);
    let got = receive_fd(ours.as_raw_fd());
    let mut err = String::new();
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    let status = child.wait().map_err(|e| errno_of(&e))?;
    match got {
        Some(fd) if status.success() => Ok(fd),
        _ => Err(if err.contains("ermission denied") || err.contains("access") {
            Errno::EACCES
        } else {
            Errno::EPERM
        }),
    }
}

/// The descriptor fusermount3 passes with SCM_RIGHTS.
fn receive_fd(sock: RawFd) -> Option<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr() as *mut libc::c_void, iov_len: 1 };
    let mut ctl = [0u64; 8];
    // SAFETY: msghdr is plain data; every buffer it names lives through the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&ctl);
    loop {
        // SAFETY: as above.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 && last() == Errno::EINTR {
            continue;
        }
        if n <= 0 {
            return None;
        }
        break;
    }
    // SAFETY: the control buffer was filled by the kernel; CMSG_* walk it.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() || (*c).cmsg_level != libc::SOL_SOCKET || (*c).cmsg_type != libc::SCM_RIGHTS {
            return None;
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd);
        Some(OwnedFd::from_raw_fd(fd))
    }
}

// --- the watchdog ---------------------------------------------------------------------

const OP_MOUNT: u32 = 1;
const OP_UNMOUNT: u32 = 2;

/// A watchdog message, and its table's entries: op, id, root, dir, created_from, the
/// connection's abort file ("" if none) and the path.
#[repr(C)]
#[derive(Clone, Copy)]
struct Record {
    op: u32,
    id: u32,
    root: u32,
    dir: u32,
    created_from: u32,
    abort: [u8; ABORT_MAX],
    path: [u8; PATH_MAX],
}
const _: () = assert!(std::mem::size_of::<Record>() == RECORD);

/// The watchdog of this process: its pid and the pipe to it.
struct Watchdog {
    owner: libc::pid_t,
    pipe: OwnedFd,
}

static WATCHDOG: Mutex<Option<Watchdog>> = Mutex::new(None);

extern "C" {
    /// glibc's `fork` without the `pthread_atfork` handlers (glibc 2.34). The watchdog is
    /// forked holding `WATCHDOG`, and forks `fusermount3` with its copy of it held: the
    /// handlers below would wait for it forever.
    fn _Fork() -> libc::pid_t;
}

/// Before `fork()`: waits until no thread is changing the mount tables, so that a child
/// never starts with them locked by a thread it does not have.
extern "C" fn tables_prepare() {
    std::mem::forget(MADE_DIRS.lock());
    std::mem::forget(WATCHDOG.lock());
}

extern "C" fn tables_parent() {
    // SAFETY: `tables_prepare` locked both in this thread and forgot the guards.
    unsafe {
        WATCHDOG.force_unlock();
        MADE_DIRS.force_unlock();
    }
}

extern "C" fn tables_child() {
    // SAFETY: as above, in the child of the fork.
    unsafe {
        WATCHDOG.force_unlock();
        MADE_DIRS.force_unlock();
    }
}

fn watchdog_tell(op: u32, m: &Mounted) {
    let mut r = Record {
        op,
        id: m.id,
        root: m.root as u32,
        dir: m.dir as u32,
        created_from: m.created_from as u32,
        abort: [0; ABORT_MAX],
        path: [0; PATH_MAX],
    };
    let b = m.path.as_bytes();
    r.path[..b.len()].copy_from_slice(b);
    if let Some(a) = &m.abort {
        r.abort[..a.as_bytes().len()].copy_from_slice(a.as_bytes());
    }
    let w = WATCHDOG.lock();
    if let Some(w) = w.as_ref() {
        // SAFETY: r is RECORD bytes of plain data.
        unsafe { libc::write(w.pipe.as_raw_fd(), &r as *const Record as *const libc::c_void, RECORD) };
    }
}

/// Forks the watchdog, once per process (a fork child that mounts gets its own): it
/// outlives us, and when we die it unmounts what we left mounted and removes the
/// mountpoints we created. It does only async-signal-safe work: we are multithreaded.
fn watchdog_start() -> KResult<()> {
    static ATFORK: std::sync::Once = std::sync::Once::new();
    // SAFETY: registering plain functions.
    ATFORK.call_once(|| unsafe {
        libc::pthread_atfork(Some(tables_prepare), Some(tables_parent), Some(tables_child));
    });
    let mut w = WATCHDOG.lock();
    // SAFETY: plain syscall.
    let me = unsafe { libc::getpid() };
    if w.as_ref().is_some_and(|w| w.owner == me) {
        return Ok(());
    }
    // SAFETY: plain syscall; the descriptor is ours.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, me, 0) } as RawFd;
    if pidfd < 0 {
        return Err(last());
    }
    // SAFETY: just made.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let mut p = [0 as RawFd; 2];
    // SAFETY: p is valid for the call.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(last());
    }
    // SAFETY: just made.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    // Everything the child needs is made before the fork: it must not allocate.
    let table = vec![
        Record {
            op: 0,
            id: 0,
            root: 0,
            dir: 0,
            created_from: 0,
            abort: [0; ABORT_MAX],
            path: [0; PATH_MAX]
        };
        MOUNTS
    ];
    let fm = fusermount();
    // SAFETY: the child runs `watch`, which only makes async-signal-safe calls and never
    // returns.
    let pid = unsafe { _Fork() };
    if pid < 0 {
        return Err(last());
    }
    if pid == 0 {
        // SAFETY: in the child of fork, as required.
        unsafe { watch(rd.as_raw_fd(), pidfd.as_raw_fd(), table, fm.as_deref()) };
    }
    drop(rd);
    *w = Some(Watchdog { owner: me, pipe: wr });
    Ok(())
}

/// The watchdog's life.
///
/// # Safety
/// Only in a fork child: it closes every other descriptor and ends with `_exit`.
unsafe fn watch(rd: RawFd, pidfd: RawFd, mut table: Vec<Record>, fm: Option<&CStr>) -> ! {
    // SAFETY: async-signal-safe syscalls on the child's own descriptors and memory (the
    // table was allocated before the fork and is written in place, never grown).
    unsafe {
        // Its own session: a kill of our process group must not take it with us. Its own
        // name too: `killall -9 metronome` or `pkill -x` must not kill it with its server.
        libc::setsid();
        libc::prctl(libc::PR_SET_NAME, c"neutrino-watch".as_ptr() as libc::c_ulong, 0, 0, 0);
        let (lo, hi) = (rd.min(pidfd), rd.max(pidfd));
        // Nothing of ours (a /dev/fuse descriptor least of all) is kept open by it.
        libc::syscall(libc::SYS_close_range, 3, lo - 1, 0);
        libc::syscall(libc::SYS_close_range, lo + 1, hi - 1, 0);
        libc::syscall(libc::SYS_close_range, hi + 1, u32::MAX, 0);
        // Reads never wait: a forked child of ours may hold the pipe open after our death.
        libc::fcntl(rd, libc::F_SETFL, libc::O_NONBLOCK);
        let mut msg = std::mem::MaybeUninit::<Record>::uninit();
        'life: loop {
            let mut fds = [
                libc::pollfd { fd: rd, events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 },
            ];
            if libc::poll(fds.as_mut_ptr(), 2, -1) < 0 {
                continue;
            }
            // Every record written before our death is read first: the last mount's may
            // still be in the pipe when we die.
            loop {
                let n = libc::read(rd, msg.as_mut_ptr() as *mut libc::c_void, RECORD);
                if n == 0 {
                    // Every writer is gone: we exec'd (our descriptors closed) or died.
                    break 'life;
                }
                if n < 0 {
                    break;
                }
                if n != RECORD as isize {
                    continue;
                }
                let m = msg.assume_init_ref();
                let known = table.iter().position(|s| s.op == OP_MOUNT && s.id == m.id);
                if m.op == OP_MOUNT {
                    // A mount is told of twice: at once, then with its abort file.
                    if let Some(i) = known.or_else(|| table.iter().position(|s| s.op == 0)) {
                        table[i] = *m;
                    }
                } else if let Some(i) = known {
                    table[i].op = 0;
                }
            }
            if fds[1].revents != 0 {
                break;
            }
        }
        for m in table.iter_mut().filter(|m| m.op == OP_MOUNT) {
            let path = m.path.as_ptr() as *const libc::c_char;
            // A forked child of the server may hold the connection open: callers blocked
            // on it would wait for ever.
            if let Ok(file) = CStr::from_bytes_until_nul(&m.abort) {
                if !file.is_empty() {
                    abort(file);
                }
            }
            if m.root != 0 {
                libc::umount2(path, libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW);
            } else if let Some(fm) = fm {
                let argv = [
                    c"fusermount3".as_ptr(),
                    c"-u".as_ptr(),
                    c"-z".as_ptr(),
                    c"--".as_ptr(),
                    path,
                    std::ptr::null(),
                ];
                let envp = [std::ptr::null::<libc::c_char>()];
                let child = _Fork();
                if child == 0 {
                    // Quiet: a mount already gone (another's detach) is no news.
                    let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                    if null >= 0 {
                        libc::dup2(null, 1);
                        libc::dup2(null, 2);
                    }
                    libc::execve(fm.as_ptr(), argv.as_ptr(), envp.as_ptr());
                    libc::_exit(127);
                }
                if child > 0 {
                    libc::waitpid(child, std::ptr::null_mut(), 0);
                }
            }
            let from = m.created_from as usize;
            if from == 0 {
                continue;
            }
            if m.dir != 0 {
                libc::rmdir(path);
            } else {
                libc::unlink(path);
            }
            // The created directories above it, deepest first.
            let mut len = m.path.iter().position(|&b| b == 0).unwrap_or(PATH_MAX);
            while len > 0 {
                while len > 0 && m.path[len - 1] != b'/' {
                    len -= 1;
                }
                if len <= 1 {
                    break;
                }
                len -= 1;
                m.path[len] = 0;
                if len < from {
                    break;
                }
                libc::rmdir(path);
            }
        }
        libc::_exit(0)
    }
}
