//! What Linux tells about a process and its threads, from `/proc`. Every read may fail (the
//! process ended, or is not ours to inspect): callers get `None` and show less.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

/// A thread as `/proc/<pid>/task/<tid>` shows it.
pub struct Task {
    pub tid: i32,
    /// The thread's name (`comm`).
    pub comm: String,
    /// `R`, `S`, `D`, `T`, `t`, `Z`, ...
    pub state: char,
    pub policy: u32,
    pub rt_priority: u32,
    /// The system call it is blocked in and its arguments, when Linux lets us read it.
    pub syscall: Option<(i64, [u64; 6])>,
    /// The kernel function it sleeps in.
    pub wchan: String,
}

/// Fields after the `(comm)` of a `stat` line, from field 3 (state) on.
fn stat_fields(text: &str) -> Option<Vec<&str>> {
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().collect())
}

fn read(path: &str) -> Option<String> {
    fs::read_to_string(path).ok()
}

pub fn task(pid: i32, tid: i32) -> Option<Task> {
    let dir = format!("/proc/{pid}/task/{tid}");
    let stat = read(&format!("{dir}/stat"))?;
    let f = stat_fields(&stat)?;
    // Field n of proc_pid_stat(5) is f[n - 3].
    let num = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    let syscall = read(&format!("{dir}/syscall")).and_then(|s| {
        let mut it = s.split_whitespace();
        let nr = it.next()?.parse::<i64>().ok()?;
        let mut args = [0u64; 6];
        for a in args.iter_mut() {
            *a = u64::from_str_radix(it.next()?.trim_start_matches("0x"), 16).ok()?;
        }
        Some((nr, args))
    });
    Some(Task {
        tid,
        comm: read(&format!("{dir}/comm")).unwrap_or_default().trim_end().to_string(),
        state: f.first()?.chars().next()?,
        rt_priority: num(40),
        policy: num(41),
        syscall,
        wchan: read(&format!("{dir}/wchan")).unwrap_or_default(),
    })
}

/// The process's threads, by tid.
pub fn tids(pid: i32) -> Vec<i32> {
    let mut v: Vec<i32> = fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// Every pid in `/proc`, in order.
pub fn pids() -> Vec<i32> {
    let mut v: Vec<i32> = fs::read_dir("/proc")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// The process's arguments (empty for a kernel thread or one we may not read).
pub fn args(pid: i32) -> Vec<String> {
    read(&format!("/proc/{pid}/cmdline"))
        .map(|s| s.split('\0').filter(|a| !a.is_empty()).map(printable).collect())
        .unwrap_or_default()
}

/// The parent pid and the real uid, from `status`.
pub fn ids(pid: i32) -> (i32, u32) {
    let text = read(&format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    (field("PPid:") as i32, field("Uid:") as u32)
}

/// What descriptor `fd` of `pid` is (`readlink` of `/proc/<pid>/fd/<fd>`).
pub fn fd_target(pid: i32, fd: i32) -> Option<String> {
    fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok().map(|p| p.to_string_lossy().into_owned())
}

/// The descriptors of `pid` whose target starts with `prefix`, opened for reading: a
/// regular file only (never a FIFO or device another process put there to make us wait).
pub fn open_fds_named(pid: i32, prefix: &str) -> Vec<OwnedFd> {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    dir.flatten()
        .filter(|e| fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with(prefix)))
        .filter_map(|e| {
            let f = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
                .open(e.path())
                .ok()?;
            let regular = f.metadata().is_ok_and(|m| m.file_type().is_file());
            regular.then(|| OwnedFd::from(f))
        })
        .filter(|fd| fd.as_raw_fd() >= 0)
        .collect()
}

/// `s` with anything unprintable shown as `?`: names and arguments come from other
/// processes and must not drive our terminal.
pub fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_split_after_a_name_with_parentheses_and_spaces() {
        let f = stat_fields("42 (a (b) c) S 1 42").unwrap();
        assert_eq!(f, ["S", "1", "42"]);
    }

    #[test]
    fn our_own_thread_reads_back() {
        // SAFETY: plain syscalls.
        let (pid, tid) = unsafe { (libc::getpid(), libc::gettid()) };
        let t = task(pid, tid).unwrap();
        assert_eq!(t.tid, tid);
        assert!(t.state == 'R', "the thread reading is running: {}", t.state);
        assert!(tids(pid).contains(&tid));
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(printable("a\x1b[2Jb\n"), "a?[2Jb?");
    }
}
