//! Single copies between IOV lists that may live in another process.
//!
//! Large messages, `MsgRead` and `MsgWrite` move straight between the client's and the
//! server's buffers with `process_vm_readv`/`process_vm_writev`, as the QNX kernel copies:
//! one copy, no size cap. The calling process's own buffers use the same path with its own
//! pid, which turns a bad pointer into `EFAULT` instead of a crash.

use crate::kernel::errno::{Errno, KResult};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// A contiguous piece of memory in some process.
/// Laid out as `struct iovec`, so a C IOV array can be used as segments in place.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seg {
    pub base: usize,
    pub len: usize,
}

const _: () = assert!(std::mem::size_of::<Seg>() == std::mem::size_of::<libc::iovec>());

/// The most IOV entries a peer may name in one message.
pub const MAX_PARTS: usize = 1 << 20;
const BATCH: usize = 1024; // IOV_MAX for one process_vm_* call

/// Total length of `segs`, or `EOVERFLOW` when it does not fit in an `ssize_t`.
pub fn total(segs: &[Seg]) -> KResult<usize> {
    let mut sum: usize = 0;
    for s in segs {
        sum = sum.checked_add(s.len).ok_or(Errno::EOVERFLOW)?;
    }
    if sum > isize::MAX as usize {
        return Err(Errno::EOVERFLOW);
    }
    Ok(sum)
}

/// Reads an IOV array of `parts` entries at `addr` with `read` (local, remote).
pub fn fetch_iovs(
    addr: u64,
    parts: u64,
    read: impl Fn(&[Seg], &[Seg]) -> KResult<usize>,
) -> KResult<Vec<Seg>> {
    if parts as usize > MAX_PARTS {
        return Err(Errno::EFAULT);
    }
    let n = parts as usize;
    let mut raw = vec![libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; n];
    let bytes = n * std::mem::size_of::<libc::iovec>();
    let local = [Seg { base: raw.as_mut_ptr() as usize, len: bytes }];
    let remote = [Seg { base: addr as usize, len: bytes }];
    if read(&local, &remote)? != bytes {
        return Err(Errno::EFAULT);
    }
    Ok(raw.iter().map(|v| Seg { base: v.iov_base as usize, len: v.iov_len }).collect())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// remote → local
    Read,
    /// local → remote
    Write,
}

/// Copies between `local` (this process) and `remote` (process `pid`, starting `offset`
/// bytes into its logical byte stream). Returns the bytes moved: the smaller of the two.
pub fn vm_copy(pid: libc::pid_t, local: &[Seg], remote: &[Seg], offset: usize, dir: Dir) -> KResult<usize> {
    pair_up(local, remote, offset, BATCH, |l, r| {
        let want: usize = l.iter().map(|v| v.iov_len).sum();
        let got = process_vm(pid, l, r, dir);
        if got < 0 {
            return Err(Errno::last());
        }
        if got as usize != want {
            return Err(Errno::EFAULT);
        }
        Ok(())
    })
}

fn process_vm(pid: libc::pid_t, l: &[libc::iovec], r: &[libc::iovec], dir: Dir) -> isize {
    // SAFETY: the iovec arrays are valid for the call; the kernel validates the memory
    // they describe in both processes and reports faults as EFAULT.
    unsafe {
        match dir {
            Dir::Read => {
                libc::process_vm_readv(pid, l.as_ptr(), l.len() as u64, r.as_ptr(), r.len() as u64, 0)
            }
            Dir::Write => {
                libc::process_vm_writev(pid, l.as_ptr(), l.len() as u64, r.as_ptr(), r.len() as u64, 0)
            }
        }
    }
}

/// Cuts the copy between `local` and the stream `remote` (from `offset`) into pairs of
/// equal pieces, and hands them to `flush` in batches of at most `batch`. Returns the
/// bytes paired: the smaller of the two.
fn pair_up(
    local: &[Seg],
    remote: &[Seg],
    offset: usize,
    batch: usize,
    mut flush: impl FnMut(&[libc::iovec], &[libc::iovec]) -> KResult<()>,
) -> KResult<usize> {
    let mut pieces_l: Vec<libc::iovec> = Vec::with_capacity(batch.min(local.len() + remote.len()));
    let mut pieces_r: Vec<libc::iovec> = Vec::with_capacity(pieces_l.capacity());
    let mut moved = 0usize;
    let mut ri = 0usize;
    let mut roff = offset;
    // Skip the remote segments wholly before `offset`.
    while ri < remote.len() && roff >= remote[ri].len {
        roff -= remote[ri].len;
        ri += 1;
    }
    'outer: for l in local {
        let mut loff = 0usize;
        while loff < l.len {
            if ri >= remote.len() {
                break 'outer;
            }
            let r = remote[ri];
            let n = (l.len - loff).min(r.len - roff);
            if n > 0 {
                pieces_l.push(libc::iovec { iov_base: (l.base + loff) as *mut libc::c_void, iov_len: n });
                pieces_r.push(libc::iovec { iov_base: (r.base + roff) as *mut libc::c_void, iov_len: n });
                moved += n;
            }
            loff += n;
            roff += n;
            if roff >= r.len {
                ri += 1;
                roff = 0;
            }
            if pieces_l.len() == batch {
                flush(&pieces_l, &pieces_r)?;
                pieces_l.clear();
                pieces_r.clear();
            }
        }
    }
    if !pieces_l.is_empty() {
        flush(&pieces_l, &pieces_r)?;
    }
    Ok(moved)
}

/// Bytes of the secret a client process keeps in its memory to prove its image.
pub const SECRET_LEN: usize = 16;

/// One process image of a client: its address space as the server opened it at attach
/// time, proven to be the image that asked (it holds the secret the request named).
///
/// `/proc/<pid>/mem` stays bound to the address space it was opened on: once that image
/// is replaced (`exec`) or gone, reads and writes through it return end of file, so a copy
/// through it can never reach another program that took over the pid.
pub struct Image {
    pid: libc::pid_t,
    /// `None` when the kernel does not let us open it (another user, ptrace restrictions):
    /// copies then go through the client thread (the agent), never into its memory.
    mem: Option<OwnedFd>,
    secret_at: usize,
    secret: [u8; SECRET_LEN],
    gone: AtomicBool,
    /// Writes may name the process rather than the image (see [`Image::copy`]).
    write_by_pid: bool,
}

impl Image {
    /// Opens the image of process `pid`, which claims to hold `secret` at `secret_at`.
    /// `ESRCH` when the process (or the image that asked) is gone. `write_by_pid`: see
    /// [`Image::copy`].
    pub fn open(
        pid: libc::pid_t,
        secret_at: usize,
        secret: [u8; SECRET_LEN],
        write_by_pid: bool,
    ) -> KResult<Image> {
        let path = std::ffi::CString::new(format!("/proc/{pid}/mem")).map_err(|_| Errno::EINVAL)?;
        // SAFETY: plain syscall on a NUL-terminated path.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        let mem = match fd {
            // SAFETY: a fresh descriptor we own.
            0.. => Some(unsafe { OwnedFd::from_raw_fd(fd) }),
            _ if matches!(Errno::last(), Errno::EACCES | Errno::EPERM) => None,
            _ => return Err(Errno::ESRCH),
        };
        let image = Image { pid, mem, secret_at, secret, gone: AtomicBool::new(false), write_by_pid };
        image.check()?;
        Ok(image)
    }

    /// Whether a request naming `secret` at `secret_at` speaks for this image.
    pub fn claims(&self, secret_at: usize, secret: &[u8; SECRET_LEN]) -> bool {
        self.secret_at == secret_at && self.secret == *secret
    }

    pub fn has_mem(&self) -> bool {
        self.mem.is_some()
    }

    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// `ESRCH` once the image has been replaced or has gone (one `pread` of the secret).
    /// Without access to its memory, the image cannot be checked and counts as present.
    pub fn check(&self) -> KResult<()> {
        let Some(mem) = &self.mem else { return Ok(()) };
        if self.is_gone() {
            return Err(Errno::ESRCH);
        }
        let mut got = [0u8; SECRET_LEN];
        // SAFETY: got is valid for SECRET_LEN bytes.
        let n = unsafe {
            libc::pread(mem.as_raw_fd(), got.as_mut_ptr().cast(), SECRET_LEN, self.secret_at as libc::off_t)
        };
        if n != SECRET_LEN as isize || got != self.secret {
            return Err(self.lost());
        }
        Ok(())
    }

    fn lost(&self) -> Errno {
        self.gone.store(true, Ordering::Release);
        Errno::ESRCH
    }

    /// Copies between `local` and the image's stream `remote` from `offset`. `EPERM` when
    /// the server may not touch the image's memory, `ESRCH` when the image has gone,
    /// `EFAULT` for a bad remote buffer.
    ///
    /// Reads use `process_vm_readv`, which names the process, not the image: each call
    /// also fetches the secret, so the data and the proof come from one address space.
    /// Writes cannot prove their target that way: they go through the image's own
    /// descriptor (one copy too, but 1.5 to 6 times slower than `process_vm_writev`),
    /// unless `write_by_pid` says that the kernel's own checks of `process_vm_writev`
    /// keep us to what the client's user could write anyway; then the image is checked
    /// (one read of the secret) just before.
    pub fn copy(&self, local: &[Seg], remote: &[Seg], offset: usize, dir: Dir) -> KResult<usize> {
        let Some(mem) = &self.mem else { return Err(Errno::EPERM) };
        if self.is_gone() {
            return Err(Errno::ESRCH);
        }
        match dir {
            Dir::Read => pair_up(local, remote, offset, BATCH - 1, |l, r| self.read_proven(l, r)),
            Dir::Write if self.write_by_pid => {
                // Not a proof (the program may change between the two calls), but an image
                // gone before the write is caught, and the connection ends.
                self.check()?;
                vm_copy(self.pid, local, remote, offset, dir)
            }
            Dir::Write => pair_up(local, remote, offset, BATCH, |l, r| {
                for (l, r) in l.iter().zip(r) {
                    self.pwrite_all(mem.as_raw_fd(), l, r)?;
                }
                Ok(())
            }),
        }
    }

    fn read_proven(&self, l: &[libc::iovec], r: &[libc::iovec]) -> KResult<()> {
        let mut got = [0u8; SECRET_LEN];
        let mut ll = Vec::with_capacity(l.len() + 1);
        let mut rr = Vec::with_capacity(r.len() + 1);
        ll.push(libc::iovec { iov_base: got.as_mut_ptr().cast(), iov_len: SECRET_LEN });
        rr.push(libc::iovec { iov_base: self.secret_at as *mut libc::c_void, iov_len: SECRET_LEN });
        ll.extend_from_slice(l);
        rr.extend_from_slice(r);
        let want = SECRET_LEN + l.iter().map(|v| v.iov_len).sum::<usize>();
        let n = process_vm(self.pid, &ll, &rr, Dir::Read);
        if n < 0 && matches!(Errno::last(), Errno::EPERM | Errno::ESRCH) {
            return Err(Errno::last());
        }
        if n < SECRET_LEN as isize || got != self.secret {
            // Whatever was read came from another address space: report the image gone
            // (or, if it is still there, a fault at the secret: the client unmapped it).
            self.check()?;
            return Err(Errno::EFAULT);
        }
        if n as usize != want {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }

    fn pwrite_all(&self, fd: RawFd, l: &libc::iovec, r: &libc::iovec) -> KResult<()> {
        let mut done = 0;
        while done < l.iov_len {
            // SAFETY: l describes a checked buffer of this process.
            let n = unsafe {
                libc::pwrite(
                    fd,
                    (l.iov_base as *const u8).add(done).cast(),
                    l.iov_len - done,
                    (r.iov_base as usize + done) as libc::off_t,
                )
            };
            match n {
                // End of file: the address space has no user any more.
                0 => return Err(self.lost()),
                1.. => done += n as usize,
                _ if Errno::last() == Errno::EINTR => {}
                _ => return Err(Errno::EFAULT),
            }
        }
        Ok(())
    }
}

/// Checks that `segs` are writable memory of process `pid` (this process, usually), by
/// copying them onto themselves.
pub fn writable(pid: libc::pid_t, segs: &[Seg]) -> KResult<()> {
    vm_copy(pid, segs, segs, 0, Dir::Read).map(|_| ())
}

/// Copies up to `dst.len()` bytes of the logical stream `src` (from `offset`) into `dst`,
/// both in this process, with plain memory copies. Returns the bytes copied.
///
/// # Safety
/// Every segment must describe readable (src) / writable (dst) memory of this process.
pub unsafe fn gather(src: &[Seg], mut offset: usize, dst: *mut u8, len: usize) -> usize {
    let mut done = 0;
    for s in src {
        if done == len {
            break;
        }
        if offset >= s.len {
            offset -= s.len;
            continue;
        }
        let n = (s.len - offset).min(len - done);
        // SAFETY: the caller guarantees both ranges; n is within both.
        unsafe { std::ptr::copy_nonoverlapping((s.base + offset) as *const u8, dst.add(done), n) };
        done += n;
        offset = 0;
    }
    done
}

/// Scatters up to `len` bytes from `src` into the logical stream `dst` from `offset`.
/// Returns the bytes copied.
///
/// # Safety
/// As for [`gather`], with `dst` writable.
pub unsafe fn scatter(src: *const u8, len: usize, dst: &[Seg], mut offset: usize) -> usize {
    let mut done = 0;
    for d in dst {
        if done == len {
            break;
        }
        if offset >= d.len {
            offset -= d.len;
            continue;
        }
        let n = (d.len - offset).min(len - done);
        // SAFETY: the caller guarantees both ranges.
        unsafe { std::ptr::copy_nonoverlapping(src.add(done), (d.base + offset) as *mut u8, n) };
        done += n;
        offset = 0;
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(b: &[u8]) -> Seg {
        Seg { base: b.as_ptr() as usize, len: b.len() }
    }

    #[test]
    fn vm_copy_handles_offsets_and_uneven_segments() {
        let a = *b"hello ";
        let b = *b"world!";
        let remote = [seg(&a), seg(&b)];
        let mut x = [0u8; 4];
        let mut y = [0u8; 3];
        let local =
            [Seg { base: x.as_mut_ptr() as usize, len: 4 }, Seg { base: y.as_mut_ptr() as usize, len: 3 }];
        let n = vm_copy(std::process::id() as i32, &local, &remote, 4, Dir::Read).unwrap();
        assert_eq!(n, 7);
        assert_eq!(&x, b"o wo");
        assert_eq!(&y, b"rld");
        let n = vm_copy(std::process::id() as i32, &local, &remote, 10, Dir::Read).unwrap();
        assert_eq!(n, 2);
        let n = vm_copy(std::process::id() as i32, &local, &remote, 12, Dir::Read).unwrap();
        assert_eq!(n, 0);
    }

    proptest::proptest! {
        /// Any two segment lists and offset pair up into equal pieces covering the shorter
        /// stream, in order, whatever the batch size.
        #[test]
        fn pair_up_pairs_equal_pieces(
            l in proptest::collection::vec(0usize..50, 0..8),
            r in proptest::collection::vec(0usize..50, 0..8),
            offset in 0usize..200,
            batch in 1usize..5,
        ) {
            let segs = |lens: &[usize], base: usize| {
                let mut at = base;
                lens.iter().map(|&n| { let s = Seg { base: at, len: n }; at += n; s }).collect::<Vec<_>>()
            };
            let (local, remote) = (segs(&l, 0x1000), segs(&r, 0x9000));
            let (mut next_l, mut next_r) = (0x1000usize, 0x9000 + offset);
            let mut seen = 0;
            let moved = pair_up(&local, &remote, offset, batch, |pl, pr| {
                assert!(pl.len() == pr.len() && !pl.is_empty() && pl.len() <= batch);
                for (a, b) in pl.iter().zip(pr) {
                    assert!(a.iov_len == b.iov_len && a.iov_len > 0);
                    assert_eq!((a.iov_base as usize, b.iov_base as usize), (next_l, next_r));
                    next_l += a.iov_len;
                    next_r += b.iov_len;
                    seen += a.iov_len;
                }
                Ok(())
            })
            .unwrap();
            let want = l.iter().sum::<usize>().min(r.iter().sum::<usize>().saturating_sub(offset));
            proptest::prop_assert_eq!(moved, want);
            proptest::prop_assert_eq!(seen, want);
        }
    }

    #[test]
    fn total_detects_overflow() {
        let s = [Seg { base: 0, len: usize::MAX }, Seg { base: 0, len: 2 }];
        assert_eq!(total(&s), Err(Errno::EOVERFLOW));
    }

    #[test]
    fn bad_pointer_is_efault() {
        let mut x = [0u8; 4];
        let local = [Seg { base: x.as_mut_ptr() as usize, len: 4 }];
        let remote = [Seg { base: 8, len: 4 }];
        assert_eq!(vm_copy(std::process::id() as i32, &local, &remote, 0, Dir::Read), Err(Errno::EFAULT));
    }
}
