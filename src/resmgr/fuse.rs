//! The part of the FUSE protocol (`<linux/fuse.h>`) the bridge speaks: its messages as
//! `#[repr(C)]` mirrors of the kernel's. Each size, and the offset of each field that
//! moves when a header changes, is asserted here and, with the same numbers, against the
//! system's `<linux/fuse.h>` by `fuse_abi.c`, which build.rs compiles.

/// The protocol version we speak; the kernel talks down to it (7.31 brought what we use).
pub const KERNEL_VERSION: u32 = 7;
pub const KERNEL_MINOR_VERSION: u32 = 31;
/// The root's node id.
pub const ROOT_ID: u64 = 1;

pub const LOOKUP: u32 = 1;
pub const FORGET: u32 = 2;
pub const GETATTR: u32 = 3;
pub const SETATTR: u32 = 4;
pub const OPEN: u32 = 14;
pub const READ: u32 = 15;
pub const WRITE: u32 = 16;
pub const STATFS: u32 = 17;
pub const RELEASE: u32 = 18;
pub const FSYNC: u32 = 20;
pub const FLUSH: u32 = 25;
pub const INIT: u32 = 26;
pub const OPENDIR: u32 = 27;
pub const READDIR: u32 = 28;
pub const RELEASEDIR: u32 = 29;
pub const FSYNCDIR: u32 = 30;
pub const ACCESS: u32 = 34;
pub const INTERRUPT: u32 = 36;
pub const DESTROY: u32 = 38;
pub const IOCTL: u32 = 39;
pub const POLL: u32 = 40;
pub const BATCH_FORGET: u32 = 42;

/// INIT flags we ask for: big writes, and O_TRUNC given to open (as QNX's `_IO_CONNECT`
/// carries it) rather than a separate truncate.
pub const ASYNC_READ: u32 = 1 << 0;
pub const ATOMIC_O_TRUNC: u32 = 1 << 3;
pub const BIG_WRITES: u32 = 1 << 5;
pub const MAX_PAGES: u32 = 1 << 22;

pub const FOPEN_DIRECT_IO: u32 = 1 << 0;
pub const GETATTR_FH: u32 = 1 << 0;
pub const FSYNC_FDATASYNC: u32 = 1 << 0;

pub const FATTR_MODE: u32 = 1 << 0;
pub const FATTR_UID: u32 = 1 << 1;
pub const FATTR_GID: u32 = 1 << 2;
pub const FATTR_SIZE: u32 = 1 << 3;
pub const FATTR_ATIME: u32 = 1 << 4;
pub const FATTR_MTIME: u32 = 1 << 5;
pub const FATTR_FH: u32 = 1 << 6;
pub const FATTR_ATIME_NOW: u32 = 1 << 7;
pub const FATTR_MTIME_NOW: u32 = 1 << 8;

/// `fuse_ioctl_in.flags`: the caller asked through the unrestricted interface (CUSE only).
pub const IOCTL_UNRESTRICTED: u32 = 1 << 1;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct InHeader {
    pub len: u32,
    pub opcode: u32,
    pub unique: u64,
    pub nodeid: u64,
    pub uid: u32,
    pub gid: u32,
    pub pid: u32,
    pub total_extlen: u16,
    pub padding: u16,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct OutHeader {
    pub len: u32,
    pub error: i32,
    pub unique: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct InitIn {
    pub major: u32,
    pub minor: u32,
    pub max_readahead: u32,
    pub flags: u32,
}

/// `fuse_init_out` as protocol 7.23..7.35 has it (what we announce we speak).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct InitOut {
    pub major: u32,
    pub minor: u32,
    pub max_readahead: u32,
    pub flags: u32,
    pub max_background: u16,
    pub congestion_threshold: u16,
    pub max_write: u32,
    pub time_gran: u32,
    pub max_pages: u16,
    pub map_alignment: u16,
    pub flags2: u32,
    pub unused: [u32; 7],
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct Attr {
    pub ino: u64,
    pub size: u64,
    pub blocks: u64,
    pub atime: u64,
    pub mtime: u64,
    pub ctime: u64,
    pub atimensec: u32,
    pub mtimensec: u32,
    pub ctimensec: u32,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u32,
    pub blksize: u32,
    pub flags: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct EntryOut {
    pub nodeid: u64,
    pub generation: u64,
    pub entry_valid: u64,
    pub attr_valid: u64,
    pub entry_valid_nsec: u32,
    pub attr_valid_nsec: u32,
    pub attr: Attr,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct AttrOut {
    pub attr_valid: u64,
    pub attr_valid_nsec: u32,
    pub dummy: u32,
    pub attr: Attr,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct GetattrIn {
    pub getattr_flags: u32,
    pub dummy: u32,
    pub fh: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SetattrIn {
    pub valid: u32,
    pub padding: u32,
    pub fh: u64,
    pub size: u64,
    pub lock_owner: u64,
    pub atime: u64,
    pub mtime: u64,
    pub ctime: u64,
    pub atimensec: u32,
    pub mtimensec: u32,
    pub ctimensec: u32,
    pub mode: u32,
    pub unused4: u32,
    pub uid: u32,
    pub gid: u32,
    pub unused5: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct OpenIn {
    pub flags: u32,
    pub open_flags: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct OpenOut {
    pub fh: u64,
    pub open_flags: u32,
    pub padding: u32,
}

/// `fuse_read_in`; `fuse_write_in` has the same layout (`write_flags` for `read_flags`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct ReadIn {
    pub fh: u64,
    pub offset: u64,
    pub size: u32,
    pub read_flags: u32,
    pub lock_owner: u64,
    pub flags: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct WriteOut {
    pub size: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct ReleaseIn {
    pub fh: u64,
    pub flags: u32,
    pub release_flags: u32,
    pub lock_owner: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct FsyncIn {
    pub fh: u64,
    pub fsync_flags: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct AccessIn {
    pub mask: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct InterruptIn {
    pub unique: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct IoctlIn {
    pub fh: u64,
    pub flags: u32,
    pub cmd: u32,
    pub arg: u64,
    pub in_size: u32,
    pub out_size: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct IoctlOut {
    pub result: i32,
    pub flags: u32,
    pub in_iovs: u32,
    pub out_iovs: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Kstatfs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub bsize: u32,
    pub namelen: u32,
    pub frsize: u32,
    pub padding: u32,
    pub spare: [u32; 6],
}

/// `fuse_dirent` without its name, which follows, padded to 8 bytes.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Dirent {
    pub ino: u64,
    pub off: u64,
    pub namelen: u32,
    pub typ: u32,
}

/// `fuse_poll_in`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct PollIn {
    pub fh: u64,
    pub kh: u64,
    pub flags: u32,
    pub events: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct PollOut {
    pub revents: u32,
    pub padding: u32,
}

/// `fuse_notify_poll_wakeup_out`, after an out header whose `error` is [`NOTIFY_POLL`].
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct PollWakeup {
    pub kh: u64,
}

/// The kernel waits for a [`PollWakeup`] once it is answered with no event.
pub const POLL_SCHEDULE_NOTIFY: u32 = 1 << 0;
pub const NOTIFY_POLL: i32 = 1;

/// Plain-data FUSE messages: any bytes are a valid value, and their bytes may be sent.
///
/// # Safety
/// Only for `#[repr(C)]` structs of integer fields with no padding.
pub unsafe trait Pod: Copy + Default {
    /// The value at the start of `bytes`, zero-extended when `bytes` is shorter (an older
    /// kernel's shorter message).
    fn read(bytes: &[u8]) -> Self {
        let mut v = Self::default();
        let n = bytes.len().min(std::mem::size_of::<Self>());
        // SAFETY: Self is plain data (the trait's contract); n bytes fit in both.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), &mut v as *mut Self as *mut u8, n) };
        v
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: plain data without padding: every byte is initialised.
        unsafe { std::slice::from_raw_parts(self as *const Self as *const u8, std::mem::size_of::<Self>()) }
    }
}

// SAFETY: each is #[repr(C)] of integers without padding (the sizes asserted below are
// the sums of their fields).
unsafe impl Pod for InHeader {}
// SAFETY: as above.
unsafe impl Pod for OutHeader {}
// SAFETY: as above.
unsafe impl Pod for InitIn {}
// SAFETY: as above.
unsafe impl Pod for InitOut {}
// SAFETY: as above.
unsafe impl Pod for Attr {}
// SAFETY: as above.
unsafe impl Pod for EntryOut {}
// SAFETY: as above.
unsafe impl Pod for AttrOut {}
// SAFETY: as above.
unsafe impl Pod for GetattrIn {}
// SAFETY: as above.
unsafe impl Pod for SetattrIn {}
// SAFETY: as above.
unsafe impl Pod for OpenIn {}
// SAFETY: as above.
unsafe impl Pod for OpenOut {}
// SAFETY: as above.
unsafe impl Pod for ReadIn {}
// SAFETY: as above.
unsafe impl Pod for WriteOut {}
// SAFETY: as above.
unsafe impl Pod for ReleaseIn {}
// SAFETY: as above.
unsafe impl Pod for PollIn {}
// SAFETY: as above.
unsafe impl Pod for PollOut {}
// SAFETY: as above.
unsafe impl Pod for PollWakeup {}
// SAFETY: as above.
unsafe impl Pod for FsyncIn {}
// SAFETY: as above.
unsafe impl Pod for AccessIn {}
// SAFETY: as above.
unsafe impl Pod for InterruptIn {}
// SAFETY: as above.
unsafe impl Pod for IoctlIn {}
// SAFETY: as above.
unsafe impl Pod for IoctlOut {}
// SAFETY: as above.
unsafe impl Pod for Kstatfs {}
// SAFETY: as above.
unsafe impl Pod for Dirent {}
// SAFETY: plain integers (read from the front of a request body).
unsafe impl Pod for u64 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}

/// The layout checks; fuse_abi.c asserts the same numbers against `<linux/fuse.h>`.
macro_rules! layout {
    ($t:ty, $size:expr $(, $field:ident @ $off:expr)*) => {
        const _: () = assert!(std::mem::size_of::<$t>() == $size);
        $(const _: () = assert!(std::mem::offset_of!($t, $field) == $off);)*
    };
}
layout!(InHeader, 40, opcode @ 4, unique @ 8, nodeid @ 16, uid @ 24, pid @ 32);
layout!(OutHeader, 16, error @ 4, unique @ 8);
layout!(InitIn, 16, flags @ 12);
layout!(InitOut, 64, max_write @ 20, max_pages @ 28, flags2 @ 32);
layout!(Attr, 88, atimensec @ 48, mode @ 60, nlink @ 64, rdev @ 76, blksize @ 80);
layout!(EntryOut, 128, entry_valid @ 16, attr_valid @ 24, attr @ 40);
layout!(AttrOut, 104, attr @ 16);
layout!(GetattrIn, 16, fh @ 8);
layout!(SetattrIn, 88, fh @ 8, size @ 16, atime @ 32, mtime @ 40, atimensec @ 56, mode @ 68, uid @ 76, gid @ 80);
layout!(OpenIn, 8, open_flags @ 4);
layout!(OpenOut, 16, open_flags @ 8);
layout!(ReadIn, 40, offset @ 8, size @ 16, flags @ 32);
layout!(WriteOut, 8);
layout!(ReleaseIn, 24, flags @ 8, lock_owner @ 16);
layout!(FsyncIn, 16, fsync_flags @ 8);
layout!(AccessIn, 8);
layout!(InterruptIn, 8);
layout!(IoctlIn, 32, cmd @ 12, arg @ 16, in_size @ 24, out_size @ 28);
layout!(IoctlOut, 16, flags @ 4);
layout!(Kstatfs, 80, bsize @ 40, namelen @ 44);
layout!(PollIn, 24, kh @ 8, flags @ 16, events @ 20);
layout!(PollOut, 8);
layout!(PollWakeup, 8);
layout!(Dirent, 24, namelen @ 16, typ @ 20);
