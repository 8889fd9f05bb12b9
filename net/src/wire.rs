//! What gateways say to each other: little-endian fields, each request opening with the
//! asking node's name and the handle of the connection it concerns (the one the serving
//! node handed out at attach, never reused in its life); each reply a [`Status`]. Every
//! field a peer sends is checked: a short or malformed request is `EINVAL`, never a crash.

use neutrino::kernel::net::{self as knet, Behalf, BEHALF_GROUPS};

/// A request's payload under construction.
pub struct Writer(Vec<u8>);

impl Writer {
    /// A request from node `origin` about connection `handle` (0 for none).
    pub fn request(origin: &str, handle: u64) -> Writer {
        let mut w = Writer(Vec::new());
        w.bytes_with_len(origin.as_bytes());
        w.u64(handle);
        w
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    /// An event as the library keeps it (`RawEvent::to_words`).
    pub fn event(&mut self, words: [u64; 8]) {
        words.iter().for_each(|w| self.0.extend_from_slice(&w.to_le_bytes()));
    }
    fn bytes_with_len(&mut self, b: &[u8]) {
        self.0.push(b.len() as u8);
        self.0.extend_from_slice(b);
    }
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

/// A received payload, read front to back.
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader(b)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    }
    pub fn str(&mut self) -> Option<&'a str> {
        let n = *self.take(1)?.first()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
    /// An event as [`Writer::event`] wrote it: exactly its 64 bytes.
    pub fn event(&mut self) -> Option<[u64; 8]> {
        let b = self.take(64)?;
        self.0.is_empty().then_some(())?;
        let mut words = [0u64; 8];
        for (w, c) in words.iter_mut().zip(b.chunks_exact(8)) {
            *w = u64::from_le_bytes(c.try_into().unwrap());
        }
        Some(words)
    }
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// Writes remote client `c` into an attach request (all but `nd`, which the server's node
/// gives: its own name for the asking node).
pub fn put_behalf(w: &mut Writer, c: &Behalf) {
    w.u32(c.srcnd);
    w.u32(c.pid as u32);
    for v in c.uids.iter().chain(&c.gids) {
        w.u32(*v);
    }
    let n = (c.ngroups as usize).min(BEHALF_GROUPS);
    w.u32(n as u32);
    for g in &c.groups[..n] {
        w.u32(*g);
    }
}

impl Reader<'_> {
    /// The remote client an attach request names (see [`put_behalf`]); `nd` 0.
    pub fn behalf(&mut self) -> Option<Behalf> {
        let mut c = Behalf { srcnd: self.u32()?, pid: self.u32()? as i32, ..Default::default() };
        for v in c.uids.iter_mut().chain(c.gids.iter_mut()) {
            *v = self.u32()?;
        }
        c.ngroups = self.u32()?;
        if c.ngroups as usize > BEHALF_GROUPS {
            return None;
        }
        for g in &mut c.groups[..c.ngroups as usize] {
            *g = self.u32()?;
        }
        Some(c)
    }
}

/// The answer to a call: the server's reply (status and data) or an errno.
pub enum Status {
    Reply(i64, Vec<u8>),
    Error(i32),
}

impl Status {
    pub fn encode(self) -> Vec<u8> {
        self.encode_after(Vec::new())
    }

    /// `head`, then the status.
    pub fn encode_after(self, mut b: Vec<u8>) -> Vec<u8> {
        let (kind, v, data) = match self {
            Status::Reply(v, data) => (0, v, data),
            Status::Error(e) => (1, e as i64, Vec::new()),
        };
        b.reserve(9 + data.len());
        b.push(kind);
        b.extend_from_slice(&v.to_le_bytes());
        b.extend_from_slice(&data);
        b
    }

    /// A peer's answer; one that makes no sense is `EIO`.
    pub fn parse(b: &[u8]) -> Status {
        let value = b.get(1..9).map(|v| i64::from_le_bytes(v.try_into().unwrap()));
        match (b.first(), value) {
            (Some(0), Some(v)) => Status::Reply(v, b[9..].to_vec()),
            (Some(1), Some(e)) if e > 0 && e < 4096 => Status::Error(e as i32),
            _ => Status::Error(libc::EIO),
        }
    }

    /// Answers the local client `rcvid` with it.
    pub fn deliver(self, rcvid: i64) {
        use neutrino::capi::neutrino as nto;
        match self {
            // SAFETY: data is valid for its length.
            Status::Reply(v, data) => unsafe {
                nto::MsgReply(rcvid, v, data.as_ptr().cast(), data.len());
            },
            Status::Error(e) => {
                nto::MsgError(rcvid, e);
            }
        };
    }
}

/// A node name usable as one chunk of a Zenoh key: no separators or wildcards.
pub fn valid_node(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// `netmgr_ndtostr` of node `name` (a node of this network has no domain of its own:
/// its name is its fully qualified name): the string, without its NUL.
pub fn ndtostr(flags: u32, name: &str) -> Vec<u8> {
    let mut s = Vec::new();
    let dir = flags & knet::ND2S_DIR_SHOW != 0;
    let show_name = flags & knet::ND2S_NAME_HIDE == 0;
    if dir {
        s.extend_from_slice(b"/net/");
    }
    if show_name {
        s.extend_from_slice(name.as_bytes());
    }
    if flags & knet::ND2S_QOS_SHOW != 0 {
        s.extend_from_slice(b"~loadbalance");
    }
    if dir && (show_name || flags & knet::ND2S_QOS_SHOW != 0) {
        s.push(b'/');
    }
    s
}

/// The longest global name a node may announce (bytes).
pub const MAX_NAME: usize = 255;

/// A global name as one chunk of a Zenoh key: bytes outside `[A-Za-z0-9_.-]` (the `/`
/// separators, Zenoh's wildcards and `~` itself) are written `~xx` (lower-case hex), so
/// every name has one spelling and no name reaches beyond its chunk.
pub fn name_chunk(name: &[u8]) -> String {
    let mut s = String::with_capacity(name.len());
    for &b in name {
        if kept(b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("~{b:02x}"));
        }
    }
    s
}

fn kept(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'
}

/// The global name a key chunk spells, if a peer spelled it as [`name_chunk`] does and it
/// is a name `name_attach` would give: anything else a peer announces is ignored.
pub fn name_of_chunk(chunk: &str) -> Option<Vec<u8>> {
    let mut name = Vec::new();
    let mut b = chunk.bytes();
    while let Some(c) = b.next() {
        if kept(c) {
            name.push(c);
            continue;
        }
        let hex = |c: Option<u8>| match c {
            Some(c @ b'0'..=b'9') => Some(c - b'0'),
            Some(c @ b'a'..=b'f') => Some(c - b'a' + 10),
            _ => None,
        };
        let (c, hi, lo) = (c, hex(b.next()), hex(b.next()));
        let v = hi? << 4 | lo?;
        if c != b'~' || kept(v) {
            return None;
        }
        name.push(v);
    }
    valid_name(&name).then_some(name)
}

/// A global name as `name_attach` spells it: not too long, no NUL, relative, and no empty,
/// `.` or `..` component.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.contains(&0)
        && name.split(|b| *b == b'/').all(|c| !c.is_empty() && c != b"." && c != b"..")
}
