//! Single copies between IOV lists that may live in another process.
//!
//! Large messages, `MsgRead` and `MsgWrite` move straight between the client's and the
//! server's buffers with `process_vm_readv`/`process_vm_writev`, as the QNX kernel copies:
//! one copy, no size cap. The calling process's own buffers use the same path with its own
//! pid, which turns a bad pointer into `EFAULT` instead of a crash.

use crate::kernel::errno::{Errno, KResult};

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

/// Reads an IOV array of `parts` entries at `addr` in process `pid`.
pub fn fetch_iovs(pid: libc::pid_t, addr: u64, parts: u64) -> KResult<Vec<Seg>> {
    if parts as usize > MAX_PARTS {
        return Err(Errno::EFAULT);
    }
    let n = parts as usize;
    let mut raw = vec![libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; n];
    let bytes = n * std::mem::size_of::<libc::iovec>();
    let local = [Seg { base: raw.as_mut_ptr() as usize, len: bytes }];
    let remote = [Seg { base: addr as usize, len: bytes }];
    if vm_copy(pid, &local, &remote, 0, Dir::Read)? != bytes {
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
    let mut pieces_l: Vec<libc::iovec> = Vec::with_capacity(BATCH.min(local.len() + remote.len()));
    let mut pieces_r: Vec<libc::iovec> = Vec::with_capacity(pieces_l.capacity());
    let mut moved = 0usize;
    let flush = |l: &mut Vec<libc::iovec>, r: &mut Vec<libc::iovec>, want: usize| -> KResult<()> {
        if l.is_empty() {
            return Ok(());
        }
        // SAFETY: the iovec arrays are valid for the call; the kernel validates the memory
        // they describe in both processes and reports faults as EFAULT.
        let got = unsafe {
            match dir {
                Dir::Read => {
                    libc::process_vm_readv(pid, l.as_ptr(), l.len() as u64, r.as_ptr(), r.len() as u64, 0)
                }
                Dir::Write => {
                    libc::process_vm_writev(pid, l.as_ptr(), l.len() as u64, r.as_ptr(), r.len() as u64, 0)
                }
            }
        };
        l.clear();
        r.clear();
        if got < 0 {
            return Err(Errno::last());
        }
        if got as usize != want {
            return Err(Errno::EFAULT);
        }
        Ok(())
    };

    let mut ri = 0usize;
    let mut roff = offset;
    // Skip the remote segments wholly before `offset`.
    while ri < remote.len() && roff >= remote[ri].len {
        roff -= remote[ri].len;
        ri += 1;
    }
    let mut batch_bytes = 0usize;
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
                batch_bytes += n;
                moved += n;
            }
            loff += n;
            roff += n;
            if roff >= r.len {
                ri += 1;
                roff = 0;
            }
            if pieces_l.len() == BATCH {
                flush(&mut pieces_l, &mut pieces_r, batch_bytes)?;
                batch_bytes = 0;
            }
        }
    }
    flush(&mut pieces_l, &mut pieces_r, batch_bytes)?;
    Ok(moved)
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
