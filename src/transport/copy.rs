//! Single copies between IOV lists that may live in another process.
//!
//! Large messages, `MsgRead` and `MsgWrite` move straight between the client's and the
//! server's buffers with `process_vm_readv`/`process_vm_writev`, as the QNX kernel copies:
//! one copy, no size cap. The calling process's own buffers use the same path with its own
//! pid, which turns a bad pointer into `EFAULT` instead of a crash.

use crate::kernel::errno::{Errno, KResult};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
        // Our own memory is named by this thread: once the main thread has ended
        // (pthread_exit(), as thread_pool_start() with POOL_FLAG_EXIT_SELF does), the
        // pid names a zombie without memory and the kernel answers ESRCH. Both ids are the
        // cached ones (no system call each copy).
        let pid = match crate::kernel::process::existing() {
            Some(p) if p.pid == pid => crate::kernel::thread::tid(),
            _ => pid,
        };
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

/// How often a proof is tried again when another thread of ours replaced the nonce in the
/// cell meanwhile (two threads reading for the same message at once).
const PROOF_TRIES: usize = 4;

/// A cell of a connection region that holds our nonces for proofs: our own mapping of it,
/// and its address in the client's (`None`: the client gave a base that overflows).
#[derive(Clone, Copy)]
pub struct Cell<'a> {
    pub ours: &'a AtomicU64,
    pub theirs: Option<usize>,
}

/// A fresh nonce nobody can predict: a keyed hash (random key per process) of a counter.
fn nonce() -> u64 {
    use std::hash::BuildHasher;
    static KEY: std::sync::OnceLock<std::collections::hash_map::RandomState> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    KEY.get_or_init(Default::default).hash_one(COUNTER.fetch_add(1, Ordering::Relaxed)) | 1
}

/// One process image of a client, as the server opened it when the client attached.
///
/// `process_vm_readv`/`process_vm_writev` name a pid, and a pid outlives its image: after
/// an `exec` (of a setuid program, say) they reach a program that never talked to us. So
/// every read by pid also fetches, in the same call, a fresh nonce we have just put in the
/// connection's shared region: only an image that maps that region (the client's, or one
/// it shares its memory with) can hold it, and no other image can have it in advance.
///
/// Writes cannot prove their target in the same call. When the kernel's own checks keep us
/// to what the client's user could write anyway (see `write_by_pid`), they name the pid;
/// else they go through `/proc/<pid>/mem` opened at attach time, which stays bound to the
/// address space it was opened on (after an `exec`, reads and writes through it return end
/// of file), proven once to be the client's by the same nonce.
pub struct Image {
    pid: libc::pid_t,
    /// `None` when the kernel does not let us open it (another user, ptrace restrictions):
    /// copies then go through the client thread (the agent), never into its memory.
    mem: Option<OwnedFd>,
    /// The descriptor was proven to be the client's image.
    proven: AtomicBool,
    gone: AtomicBool,
    write_by_pid: bool,
}

impl Image {
    /// Opens the image of process `pid`. `write_by_pid`: see [`Image`].
    pub fn open(pid: libc::pid_t, write_by_pid: bool) -> Image {
        let path = format!("/proc/{pid}/mem\0");
        // SAFETY: plain syscall on a NUL-terminated path.
        let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDWR | libc::O_CLOEXEC) };
        // SAFETY: a fresh descriptor we own.
        let mem = (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) });
        Image { pid, mem, proven: AtomicBool::new(false), gone: AtomicBool::new(false), write_by_pid }
    }

    pub fn has_mem(&self) -> bool {
        self.mem.is_some()
    }

    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    fn lost(&self) -> Errno {
        self.gone.store(true, Ordering::Release);
        Errno::ESRCH
    }

    /// Puts a fresh nonce in `cell` and has `fetch` read the client's copy of it: `ESRCH`
    /// (the image is lost) unless it was there. A nonce replaced meanwhile by another of
    /// our threads is tried again.
    fn prove(&self, cell: Cell, mut fetch: impl FnMut(usize, &mut u64) -> KResult<()>) -> KResult<()> {
        let at = cell.theirs.ok_or_else(|| self.lost())?;
        for _ in 0..PROOF_TRIES {
            let n = nonce();
            cell.ours.store(n, Ordering::SeqCst);
            let mut got = 0u64;
            fetch(at, &mut got)?;
            if got == n {
                return Ok(());
            }
            if cell.ours.load(Ordering::SeqCst) == n {
                break; // ours was in place: the image does not map the region there
            }
        }
        Err(self.lost())
    }

    /// `ESRCH` once the pid runs another image than the client's, or none (a read of the
    /// nonce by pid). Without access to its memory, the image cannot be checked and
    /// counts as present.
    pub fn check(&self, cell: Cell) -> KResult<()> {
        if self.mem.is_none() {
            return Ok(());
        }
        if self.is_gone() {
            return Err(Errno::ESRCH);
        }
        self.read_proven(cell, &[], &[])
    }

    /// Proves that our descriptor is the client's image (a `pread` of the nonce through
    /// it): it was opened after the client attached, and the pid may have changed image
    /// in between.
    fn prove_mem(&self, mem: &OwnedFd, cell: Cell) -> KResult<()> {
        if self.proven.load(Ordering::Acquire) {
            return Ok(());
        }
        self.prove(cell, |at, got| {
            // SAFETY: got is valid for 8 bytes.
            let n = unsafe { libc::pread(mem.as_raw_fd(), (got as *mut u64).cast(), 8, at as libc::off_t) };
            if n == 0 {
                return Err(self.lost()); // end of file: the address space has no user
            }
            Ok(())
        })?;
        self.proven.store(true, Ordering::Release);
        Ok(())
    }

    /// Copies between `local` and the image's stream `remote` from `offset`; `cell` holds
    /// the proof. `EPERM` when the server may not touch the image's memory, `ESRCH` when
    /// the image has gone (or is not the client's), `EFAULT` for a bad remote buffer.
    pub fn copy(&self, cell: Cell, local: &[Seg], remote: &[Seg], offset: usize, dir: Dir) -> KResult<usize> {
        let Some(mem) = &self.mem else { return Err(Errno::EPERM) };
        if self.is_gone() {
            return Err(Errno::ESRCH);
        }
        match dir {
            Dir::Read => pair_up(local, remote, offset, BATCH - 1, |l, r| self.read_proven(cell, l, r)),
            Dir::Write if self.write_by_pid => vm_copy(self.pid, local, remote, offset, dir),
            Dir::Write => {
                // The descriptor is the client's image; and the pid still runs it (not
                // only a process sharing its memory): an exec ends the connection here too.
                self.prove_mem(mem, cell)?;
                self.check(cell)?;
                pair_up(local, remote, offset, BATCH, |l, r| {
                    l.iter().zip(r).try_for_each(|(l, r)| self.pwrite_all(mem.as_raw_fd(), l, r))
                })
            }
        }
    }

    fn read_proven(&self, cell: Cell, l: &[libc::iovec], r: &[libc::iovec]) -> KResult<()> {
        let want: usize = l.iter().map(|v| v.iov_len).sum();
        let mut ll = Vec::with_capacity(l.len() + 1);
        let mut rr = Vec::with_capacity(r.len() + 1);
        let mut moved = 0isize;
        let proven = self.prove(cell, |at, got| {
            ll.clear();
            rr.clear();
            ll.push(libc::iovec { iov_base: (got as *mut u64).cast(), iov_len: 8 });
            rr.push(libc::iovec { iov_base: at as *mut libc::c_void, iov_len: 8 });
            ll.extend_from_slice(l);
            rr.extend_from_slice(r);
            moved = process_vm(self.pid, &ll, &rr, Dir::Read);
            match moved {
                // No nonce: the image does not map the region there, or is gone.
                ..=7 if moved >= 0 || matches!(Errno::last(), Errno::EFAULT | Errno::ESRCH) => Ok(()),
                ..=-1 => Err(Errno::last()),
                _ => Ok(()),
            }
        });
        if proven.is_err() {
            for v in l {
                // SAFETY: our own checked buffers: what another image held is not left there.
                unsafe { std::ptr::write_bytes(v.iov_base as *mut u8, 0, v.iov_len) };
            }
            return proven;
        }
        if moved as usize != 8 + want {
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

/// `segs` without their first `n` bytes.
pub fn skip(segs: &[Seg], mut n: usize) -> Vec<Seg> {
    let mut rest = Vec::with_capacity(segs.len());
    for s in segs {
        if n >= s.len {
            n -= s.len;
        } else {
            rest.push(Seg { base: s.base + n, len: s.len - n });
            n = 0;
        }
    }
    rest
}

/// Checks that `segs` are writable memory of process `pid` (this process, usually), by
/// copying them onto themselves.
pub fn writable(pid: libc::pid_t, segs: &[Seg]) -> KResult<()> {
    vm_copy(pid, segs, segs, 0, Dir::Read).map(|_| ())
}

/// The largest piece [`copy_bytes`] hands to `memcpy` at once: below glibc's threshold for
/// `rep movsb`, which on this VM's AMD EPYC takes 30-40 us instead of 2 us for 64 KiB when
/// the destination lies 1-31 bytes past the source modulo the page size (a slot area
/// against a caller's buffer can be at any such distance). The vector loop glibc uses
/// below the threshold is as fast at every distance (1 MiB: ~40 us against 63 us at best
/// in one call, which then streams past the cache).
const PIECE: usize = 2048;

/// `memcpy` of `n` bytes, in pieces of at most [`PIECE`].
///
/// # Safety
/// As for `copy_nonoverlapping`.
unsafe fn copy_bytes(src: *const u8, dst: *mut u8, n: usize) {
    let mut done = 0;
    while done < n {
        let k = (n - done).min(PIECE);
        // SAFETY: the caller guarantees both ranges; [done, done + k) lies within them.
        unsafe { std::ptr::copy_nonoverlapping(src.add(done), dst.add(done), k) };
        done += k;
    }
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
        unsafe { copy_bytes((s.base + offset) as *const u8, dst.add(done), n) };
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
        unsafe { copy_bytes(src.add(done), (d.base + offset) as *mut u8, n) };
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
    fn skip_drops_leading_bytes() {
        let segs = [Seg { base: 100, len: 3 }, Seg { base: 200, len: 0 }, Seg { base: 300, len: 5 }];
        assert_eq!(skip(&segs, 0), vec![segs[0], segs[2]]);
        assert_eq!(skip(&segs, 4), vec![Seg { base: 301, len: 4 }]);
        assert_eq!(skip(&segs, 8), vec![]);
        assert_eq!(skip(&segs, 20), vec![]);
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
