//! FUSE requests as the QNX messages QNX's C library would send for the same call, and QNX
//! replies as FUSE answers. Pure functions over bytes: the Rust unit tests need no FUSE.
//! Layouts are those of include/sys/iomsg.h (QNX 7.1, 64-bit).

use super::fuse::{Attr, Dirent, Pod};
use crate::kernel::errno::{Errno, KResult};

pub const IO_CONNECT: u16 = 0x100;
pub const IO_READ: u16 = 0x101;
pub const IO_WRITE: u16 = 0x102;
pub const IO_STAT: u16 = 0x104;
pub const IO_DEVCTL: u16 = 0x106;
pub const IO_LSEEK: u16 = 0x109;
pub const IO_CHMOD: u16 = 0x10A;
pub const IO_CHOWN: u16 = 0x10B;
pub const IO_UTIME: u16 = 0x10C;
pub const IO_CLOSE: u16 = 0x116;
pub const IO_SYNC: u16 = 0x119;

pub const IO_CONNECT_COMBINE_CLOSE: u16 = 1;
pub const IO_CONNECT_OPEN: u16 = 2;
pub const IO_XTYPE_NONE: u32 = 0;
pub const IO_XTYPE_OFFSET: u32 = 5;
const FTYPE_ANY: u32 = 0;
/// QNX's `SH_DENYNO`, what open() asks for.
const SH_DENYNO: u16 = 0x40;
/// `offsetof(struct _io_connect, path)`.
pub const CONNECT_HEADER: usize = 40;
/// `_QNX_MSG_ALIGN`: a combined message follows the path at this alignment.
const MSG_ALIGN: usize = 8;
/// `sizeof(struct _io_devctl_reply)`, before its data.
pub const DEVCTL_REPLY: usize = 16;
/// The reply to `_IO_STAT`: the Linux `struct stat` the resource manager fills.
pub const STAT_REPLY: usize = std::mem::size_of::<libc::stat>();

/// open()'s flags as `_IO_CONNECT`'s `ioflag`: the access mode plus one (`O_RDONLY` is
/// `_IO_FLAG_RD`, `O_WRONLY` `_IO_FLAG_WR`, `O_RDWR` both), the rest as they are.
pub fn ioflag(flags: u32) -> u32 {
    let acc = flags & libc::O_ACCMODE as u32;
    (flags & !(libc::O_ACCMODE as u32)) | (acc + 1)
}

fn put16(m: &mut Vec<u8>, v: u16) {
    m.extend_from_slice(&v.to_ne_bytes());
}
fn put32(m: &mut Vec<u8>, v: u32) {
    m.extend_from_slice(&v.to_ne_bytes());
}
fn put64(m: &mut Vec<u8>, v: u64) {
    m.extend_from_slice(&v.to_ne_bytes());
}

/// What an `_IO_CONNECT` carries besides its subtype.
pub struct Connect<'a> {
    /// The attachment id (`handle`).
    pub handle: u32,
    /// Relative to the attached path: "" for the path itself.
    pub path: &'a str,
    pub ioflag: u32,
    pub mode: u32,
    /// The room the client has for the reply.
    pub reply_max: u16,
}

/// An `_IO_CONNECT` of `subtype`, followed (after the path and its padding) by `extra`: the
/// I/O message of a combine.
pub fn connect(subtype: u16, c: &Connect, extra: &[u8]) -> Vec<u8> {
    let path_len = c.path.len() + 1;
    let mut m = Vec::with_capacity(CONNECT_HEADER + path_len + MSG_ALIGN + extra.len());
    put16(&mut m, IO_CONNECT);
    put16(&mut m, subtype);
    put32(&mut m, FTYPE_ANY);
    put16(&mut m, c.reply_max);
    put16(&mut m, 0); // entry_max
    put32(&mut m, 0); // key
    put32(&mut m, c.handle);
    put32(&mut m, c.ioflag);
    put32(&mut m, c.mode);
    put16(&mut m, SH_DENYNO);
    put16(&mut m, 0); // access
    put16(&mut m, 0); // dirfd
    put16(&mut m, path_len as u16);
    m.push(0); // eflag
    m.push(0); // extra_type: _IO_CONNECT_EXTRA_NONE
    put16(&mut m, extra.len() as u16);
    debug_assert_eq!(m.len(), CONNECT_HEADER);
    m.extend_from_slice(c.path.as_bytes());
    m.push(0);
    if !extra.is_empty() {
        m.resize(m.len().next_multiple_of(MSG_ALIGN), 0);
        m.extend_from_slice(extra);
    }
    m
}

/// `_IO_STAT`.
pub fn stat() -> Vec<u8> {
    let mut m = Vec::with_capacity(8);
    put16(&mut m, IO_STAT);
    put16(&mut m, 8);
    put32(&mut m, 0);
    m
}

/// `_IO_READ` of `nbytes`, at `offset` (`_IO_XTYPE_OFFSET`, the offset following the
/// header as QNX's pread() sends it) or at the OCB's own.
pub fn read(nbytes: u32, offset: Option<u64>) -> Vec<u8> {
    io_rw(IO_READ, nbytes, offset)
}

/// The header of `_IO_WRITE` of `nbytes`, the data following it.
pub fn write(nbytes: u32, offset: Option<u64>) -> Vec<u8> {
    io_rw(IO_WRITE, nbytes, offset)
}

fn io_rw(ty: u16, nbytes: u32, offset: Option<u64>) -> Vec<u8> {
    let mut m = Vec::with_capacity(24);
    put16(&mut m, ty);
    put16(&mut m, if offset.is_some() { 24 } else { 16 });
    put32(&mut m, nbytes);
    put32(&mut m, if offset.is_some() { IO_XTYPE_OFFSET } else { IO_XTYPE_NONE });
    put32(&mut m, 0);
    if let Some(o) = offset {
        put64(&mut m, o);
    }
    m
}

/// The header of `_IO_DEVCTL`, `nbytes` of data following it.
pub fn devctl(dcmd: u32, nbytes: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(16);
    put16(&mut m, IO_DEVCTL);
    put16(&mut m, 16);
    put32(&mut m, dcmd);
    put32(&mut m, nbytes);
    put32(&mut m, 0);
    m
}

/// `_IO_DEVCTL`'s reply header: `ret_val` and `nbytes` (0 where the reply is short: the
/// resource manager's handlers are application code).
pub fn devctl_reply(reply: &[u8]) -> (i32, u32) {
    let word = |at: usize| reply.get(at..at + 4).map_or(0, |w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    (word(4) as i32, word(8))
}

/// `_IO_LSEEK` to `offset` from the start.
pub fn lseek_set(offset: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(16);
    put16(&mut m, IO_LSEEK);
    put16(&mut m, 16);
    put16(&mut m, libc::SEEK_SET as u16);
    put16(&mut m, 0);
    put64(&mut m, offset);
    m
}

pub fn chmod(mode: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(8);
    put16(&mut m, IO_CHMOD);
    put16(&mut m, 8);
    put32(&mut m, mode);
    m
}

/// `_IO_CHOWN`; -1 leaves an id as it is.
pub fn chown(uid: i32, gid: i32) -> Vec<u8> {
    let mut m = Vec::with_capacity(12);
    put16(&mut m, IO_CHOWN);
    put16(&mut m, 12);
    put32(&mut m, gid as u32);
    put32(&mut m, uid as u32);
    m
}

/// `_IO_UTIME`: both times now (`cur_flag`), or these two (seconds).
pub fn utime(times: Option<(i64, i64)>) -> Vec<u8> {
    let mut m = Vec::with_capacity(24);
    put16(&mut m, IO_UTIME);
    put16(&mut m, 24);
    put32(&mut m, times.is_none() as u32);
    let (a, b) = times.unwrap_or((0, 0));
    put64(&mut m, a as u64);
    put64(&mut m, b as u64);
    m
}

pub fn close() -> Vec<u8> {
    let mut m = Vec::with_capacity(4);
    put16(&mut m, IO_CLOSE);
    put16(&mut m, 4);
    m
}

/// `_IO_SYNC` with fsync()'s (`O_SYNC`) or fdatasync()'s (`O_DSYNC`) flag.
pub fn sync(data_only: bool) -> Vec<u8> {
    let mut m = Vec::with_capacity(8);
    put16(&mut m, IO_SYNC);
    put16(&mut m, 8);
    put32(&mut m, if data_only { libc::O_DSYNC } else { libc::O_SYNC } as u32);
    m
}

/// The FUSE attributes of a node whose `struct stat` the resource manager replied. Linux
/// sees a directory as a directory and anything else as a regular file (a FUSE file
/// mount's root must stay one, and a device number would name one of Linux's drivers).
pub fn attr(st: &[u8], ino: u64) -> Attr {
    // SAFETY: libc::stat is plain data; any bytes are a value of it.
    let mut s: libc::stat = unsafe { std::mem::zeroed() };
    let n = st.len().min(STAT_REPLY);
    // SAFETY: n bytes fit in both.
    unsafe { std::ptr::copy_nonoverlapping(st.as_ptr(), &mut s as *mut libc::stat as *mut u8, n) };
    let kind = if s.st_mode & libc::S_IFMT == libc::S_IFDIR { libc::S_IFDIR } else { libc::S_IFREG };
    Attr {
        ino,
        size: s.st_size.max(0) as u64,
        blocks: s.st_blocks.max(0) as u64,
        atime: s.st_atime as u64,
        mtime: s.st_mtime as u64,
        ctime: s.st_ctime as u64,
        atimensec: s.st_atime_nsec as u32,
        mtimensec: s.st_mtime_nsec as u32,
        ctimensec: s.st_ctime_nsec as u32,
        mode: kind | (s.st_mode & 0o7777),
        nlink: (s.st_nlink as u32).max(1),
        uid: s.st_uid,
        gid: s.st_gid,
        rdev: 0,
        blksize: if s.st_blksize > 0 { s.st_blksize as u32 } else { 512 },
        flags: 0,
    }
}

/// Whether a caller with fs ids `uid`/`gid` and supplementary `groups` may have the
/// `mask` (`R_OK`/`W_OK`/`X_OK` bits; `F_OK` is 0) of a file with attributes `a`: POSIX's
/// owner, group, other classes. Root reads and writes anything, and executes where any x
/// bit is set or searches any directory, as Linux's `CAP_DAC_OVERRIDE` does.
pub fn permits(a: &Attr, uid: u32, gid: u32, groups: &[u32], mask: u32) -> bool {
    let mask = mask & 0o7;
    if uid == 0 {
        let x = a.mode & 0o111 != 0 || a.mode & libc::S_IFMT == libc::S_IFDIR;
        return mask & libc::X_OK as u32 == 0 || x;
    }
    let bits = if uid == a.uid {
        a.mode >> 6
    } else if gid == a.gid || groups.contains(&a.gid) {
        a.mode >> 3
    } else {
        a.mode
    };
    bits & mask == mask
}

/// One entry of a directory read: a glibc `struct dirent` record of the reply.
#[derive(Debug, PartialEq)]
pub struct Entry<'a> {
    pub ino: u64,
    pub typ: u8,
    pub name: &'a [u8],
}

/// The `struct dirent` records (glibc's layout: d_ino, d_off, d_reclen, d_type, d_name) of
/// `_IO_READ`'s reply on a directory, walked by `d_reclen`; a malformed record ends them.
pub fn dirents(buf: &[u8]) -> Vec<Entry<'_>> {
    const NAME: usize = 19;
    let mut out = Vec::new();
    let mut at = 0;
    while at + NAME < buf.len() {
        let rec = &buf[at..];
        let reclen = u16::from_ne_bytes([rec[16], rec[17]]) as usize;
        if reclen <= NAME || reclen > rec.len() {
            break;
        }
        let name = &rec[NAME..reclen];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        if !name.is_empty() && !name.contains(&b'/') {
            let ino = u64::from_ne_bytes(rec[..8].try_into().expect("8 bytes"));
            out.push(Entry { ino, typ: rec[18], name });
        }
        at += reclen;
    }
    out
}

/// Appends a `fuse_dirent` (offset `off` names the entry after it) if it fits in `room`.
pub fn push_dirent(out: &mut Vec<u8>, room: usize, e: &Entry, off: u64) -> bool {
    let len = (std::mem::size_of::<Dirent>() + e.name.len()).next_multiple_of(8);
    if out.len() + len > room {
        return false;
    }
    let d = Dirent { ino: e.ino.max(1), off, namelen: e.name.len() as u32, typ: e.typ as u32 };
    out.extend_from_slice(d.bytes());
    out.extend_from_slice(e.name);
    out.resize(out.len().next_multiple_of(8), 0);
    true
}

/// The path of `name` in directory `parent`, both relative to the attached path;
/// `ENAMETOOLONG` beyond `PATH_MAX` with its NUL (directories nested without end would
/// otherwise make a path no `_io_connect` can carry, nor a receive buffer hold).
pub fn child(parent: &str, name: &str) -> KResult<String> {
    if parent.len() + 1 + name.len() + 1 > libc::PATH_MAX as usize {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(if parent.is_empty() { name.to_owned() } else { format!("{parent}/{name}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(m: &[u8], at: usize) -> u16 {
        u16::from_ne_bytes(m[at..at + 2].try_into().unwrap())
    }
    fn u32_at(m: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes(m[at..at + 4].try_into().unwrap())
    }
    fn u64_at(m: &[u8], at: usize) -> u64 {
        u64::from_ne_bytes(m[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn access_modes_are_recoded_as_qnx_does() {
        assert_eq!(ioflag(libc::O_RDONLY as u32), 1);
        assert_eq!(ioflag(libc::O_WRONLY as u32), 2);
        assert_eq!(ioflag(libc::O_RDWR as u32), 3);
        let f = (libc::O_WRONLY | libc::O_TRUNC | libc::O_APPEND) as u32;
        assert_eq!(ioflag(f), 2 | (libc::O_TRUNC | libc::O_APPEND) as u32);
    }

    #[test]
    fn an_open_is_an_io_connect_with_the_path_and_flags() {
        let c = Connect { handle: 7, path: "a", ioflag: 3, mode: 0o644, reply_max: 100 };
        let m = connect(IO_CONNECT_OPEN, &c, &[]);
        assert_eq!(u16_at(&m, 0), IO_CONNECT);
        assert_eq!(u16_at(&m, 2), IO_CONNECT_OPEN);
        assert_eq!(u32_at(&m, 4), 0); // _FTYPE_ANY
        assert_eq!(u16_at(&m, 8), 100);
        assert_eq!(u32_at(&m, 16), 7);
        assert_eq!(u32_at(&m, 20), 3);
        assert_eq!(u32_at(&m, 24), 0o644);
        assert_eq!(u16_at(&m, 34), 2); // path_len with the NUL
        assert_eq!(m[37], 0); // _IO_CONNECT_EXTRA_NONE
        assert_eq!(u16_at(&m, 38), 0);
        assert_eq!(&m[40..], b"a\0");
    }

    #[test]
    fn a_stat_by_path_combines_io_stat_after_the_aligned_path() {
        let c = Connect { handle: 1, path: "abc", ioflag: 0, mode: 0, reply_max: STAT_REPLY as u16 };
        let m = connect(IO_CONNECT_COMBINE_CLOSE, &c, &stat());
        assert_eq!(u16_at(&m, 2), IO_CONNECT_COMBINE_CLOSE);
        assert_eq!(u16_at(&m, 38), 8);
        // 40 + 4 bytes of path, aligned to 8: the combined message at 48.
        assert_eq!(m.len(), 56);
        assert_eq!(u16_at(&m, 48), IO_STAT);
        assert_eq!(u16_at(&m, 50), 8);
        // The path itself is "" for the attached path.
        let c = Connect { path: "", ..c };
        let m = connect(IO_CONNECT_COMBINE_CLOSE, &c, &stat());
        assert_eq!(u16_at(&m, 34), 1);
        assert_eq!(u16_at(&m, 48), IO_STAT);
    }

    #[test]
    fn reads_and_writes_carry_nbytes_and_the_offset_when_given() {
        let m = read(64, None);
        assert_eq!((m.len(), u16_at(&m, 0), u16_at(&m, 2)), (16, IO_READ, 16));
        assert_eq!((u32_at(&m, 4), u32_at(&m, 8)), (64, IO_XTYPE_NONE));
        let m = read(10, Some(4096));
        assert_eq!((m.len(), u32_at(&m, 8), u64_at(&m, 16)), (24, IO_XTYPE_OFFSET, 4096));
        let m = write(5, None);
        assert_eq!((u16_at(&m, 0), u32_at(&m, 4), m.len()), (IO_WRITE, 5, 16));
    }

    #[test]
    fn devctl_and_the_attribute_messages() {
        let m = devctl(0x8004_0301, 4);
        assert_eq!((u16_at(&m, 0), u32_at(&m, 4), u32_at(&m, 8)), (IO_DEVCTL, 0x8004_0301, 4));
        let mut r = vec![0u8; 16];
        r[4..8].copy_from_slice(&(-3i32).to_ne_bytes());
        r[8..12].copy_from_slice(&9u32.to_ne_bytes());
        assert_eq!(devctl_reply(&r), (-3, 9));
        assert_eq!(u32_at(&chmod(0o600), 4), 0o600);
        let m = chown(5, -1);
        assert_eq!((u32_at(&m, 4) as i32, u32_at(&m, 8)), (-1, 5));
        let m = utime(None);
        assert_eq!((u16_at(&m, 0), u32_at(&m, 4)), (IO_UTIME, 1));
        let m = utime(Some((10, 20)));
        assert_eq!((u32_at(&m, 4), u64_at(&m, 8), u64_at(&m, 16)), (0, 10, 20));
        let m = lseek_set(3);
        assert_eq!((u16_at(&m, 0), u16_at(&m, 4), u64_at(&m, 8)), (IO_LSEEK, 0, 3));
        assert_eq!(u16_at(&close(), 0), IO_CLOSE);
        assert_eq!(u32_at(&sync(true), 4), libc::O_DSYNC as u32);
    }

    fn stat_bytes(mode: u32, size: i64) -> Vec<u8> {
        // SAFETY: plain data.
        let mut s: libc::stat = unsafe { std::mem::zeroed() };
        s.st_mode = mode;
        s.st_size = size;
        s.st_uid = 12;
        s.st_nlink = 1;
        s.st_mtime = 99;
        // SAFETY: plain data viewed as bytes.
        unsafe { std::slice::from_raw_parts(&s as *const _ as *const u8, STAT_REPLY) }.to_vec()
    }

    #[test]
    fn device_files_show_as_regular_files_and_directories_as_directories() {
        let a = attr(&stat_bytes(libc::S_IFCHR | 0o666, 0), 5);
        assert_eq!(a.mode, libc::S_IFREG | 0o666);
        assert_eq!((a.ino, a.uid, a.mtime, a.rdev), (5, 12, 99, 0));
        let a = attr(&stat_bytes(0o050000 | 0o444, 3), 1); // QNX's S_IFNAM
        assert_eq!((a.mode, a.size), (libc::S_IFREG | 0o444, 3));
        assert_eq!(attr(&stat_bytes(libc::S_IFDIR | 0o755, 0), 1).mode, libc::S_IFDIR | 0o755);
        // A short reply is zero-extended.
        assert_eq!(attr(&[], 1).mode, libc::S_IFREG);
    }

    fn glibc_dirent(out: &mut Vec<u8>, ino: u64, typ: u8, name: &str) {
        let reclen = (19 + name.len() + 1).next_multiple_of(8);
        let start = out.len();
        out.extend_from_slice(&ino.to_ne_bytes());
        out.extend_from_slice(&0i64.to_ne_bytes());
        out.extend_from_slice(&(reclen as u16).to_ne_bytes());
        out.push(typ);
        out.extend_from_slice(name.as_bytes());
        out.resize(start + reclen, 0);
    }

    #[test]
    fn directory_replies_are_walked_by_reclen_and_become_fuse_dirents() {
        let mut buf = Vec::new();
        glibc_dirent(&mut buf, 3, libc::DT_REG, "a");
        glibc_dirent(&mut buf, 4, libc::DT_DIR, "longer-name");
        buf.extend_from_slice(&[0u8; 5]); // trailing bytes no record
        let e = dirents(&buf);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0], Entry { ino: 3, typ: libc::DT_REG, name: b"a" });
        assert_eq!(e[1].name, b"longer-name");
        let mut out = Vec::new();
        assert!(push_dirent(&mut out, 4096, &e[0], 1));
        assert_eq!(out.len(), 32);
        assert_eq!(Dirent::read(&out).namelen, 1);
        assert_eq!(Dirent::read(&out).off, 1);
        assert_eq!(&out[24..25], b"a");
        // No room: nothing written.
        assert!(!push_dirent(&mut out, 40, &e[1], 2));
        assert_eq!(out.len(), 32);
        // A record that claims more than there is ends the walk.
        let mut bad = Vec::new();
        glibc_dirent(&mut bad, 1, 0, "x");
        bad[16] = 200;
        assert!(dirents(&bad).is_empty());
    }

    #[test]
    fn paths_are_relative_to_the_attached_path() {
        assert_eq!(child("", "a").unwrap(), "a");
        assert_eq!(child("d", "a").unwrap(), "d/a");
        let deep = "d".repeat(libc::PATH_MAX as usize - 3);
        assert_eq!(child(&deep, "a").unwrap().len(), libc::PATH_MAX as usize - 1);
        assert_eq!(child(&deep, "ab"), Err(Errno::ENAMETOOLONG));
    }

    use proptest::prelude::*;

    proptest! {
        // The resource manager's replies are application code's bytes: any of them parse
        // without a panic or a read outside the reply.
        #[test]
        fn any_directory_reply_is_walked_safely(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let range = buf.as_ptr_range();
            for e in dirents(&buf) {
                prop_assert!(!e.name.is_empty() && !e.name.contains(&b'/') && !e.name.contains(&0));
                let n = e.name.as_ptr_range();
                prop_assert!(range.start <= n.start && n.end <= range.end);
                let mut out = Vec::new();
                prop_assert!(push_dirent(&mut out, 4096, &e, 1));
                prop_assert_eq!(out.len() % 8, 0);
            }
        }

        #[test]
        fn records_of_any_reclen_end_or_advance(reclens in proptest::collection::vec(any::<u16>(), 1..8)) {
            let mut buf = Vec::new();
            for r in &reclens {
                glibc_dirent(&mut buf, 7, 0, "x");
                let at = buf.len() - 24;
                buf[at + 16..at + 18].copy_from_slice(&r.to_ne_bytes());
            }
            prop_assert!(dirents(&buf).len() <= reclens.len());
        }

        #[test]
        fn short_or_odd_stat_and_devctl_replies_never_panic(b in proptest::collection::vec(any::<u8>(), 0..STAT_REPLY + 40)) {
            let a = attr(&b, 3);
            prop_assert!(a.mode & libc::S_IFMT == libc::S_IFDIR || a.mode & libc::S_IFMT == libc::S_IFREG);
            prop_assert!(a.nlink >= 1 && a.blksize > 0);
            let (_, n) = devctl_reply(&b);
            if b.len() < 12 {
                prop_assert_eq!(n, 0);
            }
        }
    }

    #[test]
    fn access_follows_posix_classes_and_roots_overrides() {
        let (r, w, x) = (libc::R_OK as u32, libc::W_OK as u32, libc::X_OK as u32);
        let f = Attr { mode: libc::S_IFREG | 0o640, uid: 10, gid: 20, ..Default::default() };
        assert!(permits(&f, 10, 99, &[], r | w));
        assert!(!permits(&f, 10, 99, &[], x));
        assert!(permits(&f, 11, 20, &[], r));
        assert!(!permits(&f, 11, 20, &[], w));
        assert!(permits(&f, 11, 99, &[5, 20], r));
        assert!(!permits(&f, 11, 99, &[5], r));
        assert!(permits(&f, 11, 99, &[], 0), "F_OK needs no bit");
        // The owner's class decides even when another class would allow more.
        let g = Attr { mode: libc::S_IFREG | 0o066, uid: 10, gid: 20, ..Default::default() };
        assert!(!permits(&g, 10, 20, &[], r));
        // Root: read and write always; execute with any x bit; search any directory.
        let none = Attr { mode: libc::S_IFREG, uid: 10, gid: 20, ..Default::default() };
        assert!(permits(&none, 0, 0, &[], r | w));
        assert!(!permits(&none, 0, 0, &[], x));
        assert!(permits(&Attr { mode: libc::S_IFREG | 0o001, ..none }, 0, 0, &[], x));
        assert!(permits(&Attr { mode: libc::S_IFDIR, ..none }, 0, 0, &[], r | w | x));
    }
}
