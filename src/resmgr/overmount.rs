//! Root's paths stay root's: nothing another user mounts on top of a root resource
//! manager's mount stays there.
//!
//! fusermount3 lets a user mount on a directory they may write or a file they may open for
//! writing, and a device of mode 0666 is such a file. Their mount (no `allow_other`) would
//! then hide root's from everyone else. So while root has mounts, one thread watches the
//! mount table (/proc/self/mountinfo reports each change as POLLPRI) and detaches whatever
//! is stacked on one of them, top first, until root's is on top again. It finds a mount by
//! its id, never by asking the file system there (our own mount's server may not be
//! serving yet, another user's may never answer), and detaches exactly the mount it found.

use crate::transport::lock::Mutex;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One line of /proc/self/mountinfo, with its escapes (`\040` for a space, ...) decoded.
#[derive(Debug, PartialEq)]
pub struct Line {
    pub id: u64,
    pub parent: u64,
    /// `major:minor` of the mounted file system.
    pub dev: (u32, u32),
    pub point: Vec<u8>,
    pub source: Vec<u8>,
    /// The `user_id=` of a FUSE mount's options: who mounted it.
    pub user_id: Option<u32>,
}

/// mountinfo's escaping undone: `\` and three octal digits is that byte.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = |c: u8| (b'0'..=b'7').contains(&c);
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|&c| oct(c)) {
            out.push(b[i + 1..i + 4].iter().fold(0u32, |v, &c| v * 8 + (c - b'0') as u32) as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// A mountinfo line: id parent major:minor root point options [optional...] - type
/// source super-options.
pub fn parse_line(l: &str) -> Option<Line> {
    let (mount, fs) = l.split_once(" - ")?;
    let mut m = mount.split(' ');
    let id = m.next()?.parse().ok()?;
    let parent = m.next()?.parse().ok()?;
    let (major, minor) = m.next()?.split_once(':')?;
    let dev = (major.parse().ok()?, minor.parse().ok()?);
    let point = unescape(m.nth(1)?);
    let mut f = fs.split(' ');
    let _fstype = f.next()?;
    let source = unescape(f.next()?);
    let user_id = f.next().and_then(|o| o.split(',').find_map(|o| o.strip_prefix("user_id=")?.parse().ok()));
    Some(Line { id, parent, dev, point, source, user_id })
}

pub fn parse(info: &str) -> Vec<Line> {
    info.lines().filter_map(parse_line).collect()
}

/// The mount stacked highest over mount `id` at its own mount point, if any is.
pub fn top_over(lines: &[Line], id: u64) -> Option<u64> {
    let point = &lines.iter().find(|l| l.id == id)?.point;
    let mut top = id;
    // Each step goes one mount up; a table can't have more steps than lines.
    for _ in 0..lines.len() {
        match lines.iter().find(|l| l.parent == top && l.id != top && &l.point == point) {
            Some(l) => top = l.id,
            None => break,
        }
    }
    (top != id).then_some(top)
}

fn read_table() -> Vec<Line> {
    std::fs::read_to_string("/proc/self/mountinfo").map(|t| parse(&t)).unwrap_or_default()
}

/// The mount with `source` that user `uid` made: mount(2) was given a source no one else
/// knew, and only root makes mounts with `user_id=0`.
pub fn find(source: &[u8], uid: u32) -> Option<Line> {
    read_table().into_iter().find(|l| l.source == source && l.user_id == Some(uid))
}

/// The mount id of the file `fd` is on, as /proc says it (without asking its file system).
fn mount_of(fd: RawFd) -> Option<u64> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    info.lines().find_map(|l| l.strip_prefix("mnt_id:")?.trim().parse().ok())
}

/// Detaches mount `id` if it is the one on top at `point`: the mount is opened by path and
/// detached through that descriptor, so one that went meanwhile (and whatever is then on
/// top, root's own mount included) is never touched. Whether it was detached.
pub fn detach_exact(point: &CStr, id: u64) -> bool {
    // SAFETY: a plain open; O_PATH reads nothing of the file system mounted there.
    let fd = unsafe { libc::open(point.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    // SAFETY: just opened.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    if mount_of(fd.as_raw_fd()) != Some(id) {
        return false;
    }
    let at = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL");
    // SAFETY: a valid C string. The /proc link is followed to the mount the descriptor holds.
    unsafe { libc::umount2(at.as_ptr(), libc::MNT_DETACH) == 0 }
}

/// Detaches every mount stacked over mount `id` (at `point`), the top-most first.
pub fn clear_over(id: u64, point: &CStr) {
    // A user mounting again and again makes this loop; it gives up after a while and
    // goes on at the table's next change.
    for _ in 0..64 {
        let Some(top) = top_over(&read_table(), id) else { return };
        detach_exact(point, top);
    }
}

/// A root mount kept on top.
struct Guarded {
    id: u64,
    point: CString,
}

struct State {
    mounts: Vec<Guarded>,
    /// The eventfd that wakes the thread (to look again, or to end), -1 while no thread
    /// runs. The thread closes it as it ends, with STATE held.
    wake: RawFd,
}

static STATE: Mutex<State> = Mutex::new(State { mounts: Vec::new(), wake: -1 });

fn wake(fd: RawFd) {
    // SAFETY: an eventfd write of 8 bytes.
    unsafe { libc::write(fd, &1u64 as *const u64 as *const libc::c_void, 8) };
}

/// Keeps root's mount `id` (at `point`, as mountinfo shows it) on top, starting the thread
/// with the first.
pub fn guard(id: u64, point: CString) {
    let mut st = STATE.lock();
    st.mounts.push(Guarded { id, point });
    if st.wake >= 0 {
        // Something may be on top already.
        return wake(st.wake);
    }
    // SAFETY: plain syscall; the descriptor is the thread's.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return;
    }
    if std::thread::Builder::new().name("neutrino-mounts".into()).spawn(move || run(fd)).is_ok() {
        st.wake = fd;
    } else {
        // SAFETY: ours, unused.
        unsafe { libc::close(fd) };
    }
}

/// Mount `id` is ending: no longer kept on top (the thread ends with the last).
pub fn unguard(id: u64) {
    let mut st = STATE.lock();
    st.mounts.retain(|g| g.id != id);
    if st.wake >= 0 {
        wake(st.wake);
    }
}

/// fork(): STATE is taken before and released after, in both processes (a thread of the
/// parent holding it at the fork would leave it locked for ever in the child).
pub fn fork_prepare() {
    std::mem::forget(STATE.lock());
}

pub fn fork_parent() {
    // SAFETY: fork_prepare locked it in this thread.
    unsafe { STATE.force_unlock() };
}

/// In the child: the parent's mounts are not its own, and no thread watches.
pub fn fork_child() {
    // SAFETY: fork_prepare locked it; the child's only thread is this one.
    unsafe {
        let st = &mut *STATE.data_ptr();
        st.mounts.clear();
        if st.wake >= 0 {
            libc::close(st.wake);
            st.wake = -1;
        }
        STATE.force_unlock();
    }
}

/// The thread: at each change of the mount table, every guarded mount is cleared of what
/// is on top of it.
fn run(wake: RawFd) {
    // Signals are the application's threads' business.
    // SAFETY: set is plain data filled by sigfillset; the mask is this thread's.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    // Opened before the first look: a change after it is reported by poll.
    // SAFETY: a plain open; the descriptor is ours.
    let table = unsafe { libc::open(c"/proc/self/mountinfo".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    // SAFETY: just opened (or -1, which poll ignores and is never closed).
    let table = (table >= 0).then(|| unsafe { OwnedFd::from_raw_fd(table) });
    loop {
        let mounts: Vec<(u64, CString)> = {
            let mut st = STATE.lock();
            if st.mounts.is_empty() {
                // SAFETY: the thread's own eventfd, closed once (guard makes a new one).
                unsafe { libc::close(wake) };
                st.wake = -1;
                return;
            }
            st.mounts.iter().map(|g| (g.id, g.point.clone())).collect()
        };
        for (id, point) in &mounts {
            clear_over(*id, point);
        }
        let mut fds = [
            libc::pollfd {
                fd: table.as_ref().map_or(-1, |t| t.as_raw_fd()),
                events: libc::POLLPRI,
                revents: 0,
            },
            libc::pollfd { fd: wake, events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: fds is valid for the call.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        let mut n = 0u64;
        // SAFETY: an eventfd read of 8 bytes into n (EAGAIN when it was not written).
        unsafe { libc::read(wake, &mut n as *mut u64 as *mut libc::c_void, 8) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
22 1 0:21 / /proc rw,relatime shared:5 - proc proc rw
30 1 0:30 / /tmp/a\\040b rw,nosuid - tmpfs tmpfs rw
91 30 0:52 / /tmp/a\\040b/x rw,nosuid,nodev - fuse.neutrino neutrino-ab12 rw,user_id=0,group_id=0,allow_other
95 91 0:53 / /tmp/a\\040b/x rw,nosuid,nodev - fuse.neutrino neutrino rw,user_id=65534,group_id=65534
97 95 0:54 / /tmp/a\\040b/x rw,nosuid,nodev - fuse.other x rw,user_id=65534,group_id=65534
98 91 0:55 / /tmp/a\\040b/x/sub rw - tmpfs tmpfs rw
99 30 0:56 / /tmp/a\\040b/y rw - tmpfs back\\134slash\\011tab rw
";

    #[test]
    fn mountinfo_lines_are_decoded() {
        let l = parse_line(TABLE.lines().nth(2).unwrap()).unwrap();
        assert_eq!(
            l,
            Line {
                id: 91,
                parent: 30,
                dev: (0, 52),
                point: b"/tmp/a b/x".to_vec(),
                source: b"neutrino-ab12".to_vec(),
                user_id: Some(0),
            }
        );
        let l = parse_line(TABLE.lines().nth(6).unwrap()).unwrap();
        assert_eq!(l.source, b"back\\slash\ttab");
        assert_eq!(l.user_id, None);
        // Optional fields ("shared:5") before the separator.
        assert_eq!(parse_line(TABLE.lines().next().unwrap()).unwrap().point, b"/proc");
        assert_eq!(unescape("a\\0"), b"a\\0", "a cut escape stays as it is");
        assert_eq!(unescape("\\1234"), b"S4");
        assert!(parse_line("garbage").is_none());
        assert_eq!(parse(TABLE).len(), 7);
    }

    #[test]
    fn the_top_of_a_stack_of_mounts_at_one_point_is_found() {
        let t = parse(TABLE);
        // 95 on 91, 97 on 95, all at /tmp/a b/x; 98 is below 91's point, not on top of it.
        assert_eq!(top_over(&t, 91), Some(97));
        assert_eq!(top_over(&t, 95), Some(97));
        assert_eq!(top_over(&t, 97), None);
        assert_eq!(top_over(&t, 98), None);
        assert_eq!(top_over(&t, 30), None, "mounts below a point are not on top of it");
        assert_eq!(top_over(&t, 12345), None);
        let only_ours: Vec<Line> = t.into_iter().filter(|l| l.id != 95 && l.id != 97).collect();
        assert_eq!(top_over(&only_ours, 91), None);
    }
}
