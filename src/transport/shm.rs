//! Sealed memfd regions: the shared memory that connections and channels are made of.
//!
//! Regions are sealed against shrinking and growing before they are shared, so a peer can
//! never turn an access into a SIGBUS; a read-only region is also sealed against future
//! writable mappings, so the peers that receive it can only read it.

use crate::kernel::errno::{check, Errno, KResult};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A mapping of a memfd. Unmapped on drop.
pub struct Region {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; all access to its contents goes through
// atomics or copies whose races the protocol tolerates (the data is untrusted anyway).
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

impl Region {
    /// Creates a new memfd of `len` bytes, sealed at that size, and maps it read-write.
    pub fn create(name: &str, len: usize) -> KResult<(Region, OwnedFd)> {
        let cname = std::ffi::CString::new(name).map_err(|_| Errno::EINVAL)?;
        // SAFETY: cname is a valid C string.
        let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
        check(fd as libc::c_long)?;
        // SAFETY: memfd_create returned a fresh descriptor that we now own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: plain syscalls on our own descriptor.
        check(unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) } as libc::c_long)?;
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;
        // SAFETY: as above.
        check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } as libc::c_long)?;
        let region = Region::map_fd(fd.as_raw_fd(), len, true)?;
        Ok((region, fd))
    }

    /// Forbids any further writable mapping of `fd`; the mappings made so far keep working.
    pub fn seal_read_only(fd: &OwnedFd) -> KResult<()> {
        let seals = libc::F_SEAL_FUTURE_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: plain syscall on our own descriptor.
        check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } as libc::c_long)?;
        Ok(())
    }

    /// Maps a region received from a peer after checking that it is sealed at `len` bytes,
    /// so the peer cannot shrink it under us.
    pub fn map_received(fd: RawFd, len: usize, writable: bool) -> KResult<Region> {
        // SAFETY: plain syscalls on a descriptor we hold.
        let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
        if seals == -1 || seals & libc::F_SEAL_SHRINK == 0 {
            return Err(Errno::EIO);
        }
        // SAFETY: `st` is plain data filled by the kernel.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        check(unsafe { libc::fstat(fd, &mut st) } as libc::c_long)?;
        if (st.st_size as u64) < len as u64 {
            return Err(Errno::EIO);
        }
        Region::map_fd(fd, len, writable)
    }

    fn map_fd(fd: RawFd, len: usize, writable: bool) -> KResult<Region> {
        let prot = if writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        // SAFETY: a fresh shared mapping chosen by the kernel; no existing memory is touched.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, 0) };
        if ptr == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(Region { ptr: ptr as *mut u8, len })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: ptr/len describe a mapping we created and nobody uses after drop.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}
