//! Long posts in parts. Zenoh's low-latency transport (see `tuning`) sends each message
//! whole, in one batch of at most 64 KiB: a longer post goes as parts of at most [`PART`]
//! bytes (op `part`), its last under its own op marked [`LAST`]. A node's posts come in the
//! order it sent them, and it sends no other post to the same node between the parts of
//! one, so the receiving side needs only the parts each node has sent so far ([`Parts`]).
//!
//! What a peer sends in parts is held here before anything else counts it, within bounds:
//! a node's post at most [`MAX_POST`], all nodes' [`MAX_HELD`], from at most
//! [`MAX_UNFINISHED`] nodes at once. A post past the first two is spoiled: only its head is
//! kept, so that its sender can be told (`EAGAIN`). Room is made by dropping posts that got
//! no part for [`PATIENCE`], and a node past the third takes the place of the one that sent
//! nothing for longest: no peer keeps what it left unfinished for good.

use std::collections::HashMap;
use std::ops::Range;
use std::time::{Duration, Instant};

/// The most bytes of a post sent as one Zenoh message: a batch less its headers and key.
pub const PART: usize = 60 << 10;

/// Ends the op of the last piece of a post sent in parts.
pub const LAST: &str = ".last";

/// The longest post a node may send in parts: a message or a reply and a header.
pub const MAX_POST: usize = (64 << 20) + 4096;

/// What all nodes' unfinished posts may hold.
pub const MAX_HELD: usize = 256 << 20;

/// Nodes with an unfinished post at once.
pub const MAX_UNFINISHED: usize = 4096;

/// How long an unfinished post is kept without a part when room is needed: an honest node
/// sends a post's parts one after the other.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// What is kept of a spoiled post: enough for any post's header.
const HEAD: usize = 512;

/// The pieces of a post of `len` bytes as they are to be sent: each with whether it is the
/// last; a post that is its only piece needs no parts.
pub fn split(len: usize) -> impl Iterator<Item = (Range<usize>, bool)> {
    let n = len.div_ceil(PART).max(1);
    (0..n).map(move |i| (i * PART..((i + 1) * PART).min(len), i + 1 == n))
}

/// A post some node has sent parts of (each kept as it came: joining them is Zenoh's).
struct Unfinished {
    parts: Vec<Vec<u8>>,
    len: usize,
    /// Past what it may hold: only its head is kept.
    spoiled: bool,
    touched: Instant,
}

/// The parts received so far, by the node that sent them.
#[derive(Default)]
pub struct Parts {
    by_node: HashMap<String, Unfinished>,
    held: usize,
}

impl Parts {
    /// Node `node` sent part `b` of its next post.
    pub fn add(&mut self, node: &str, b: &[u8]) {
        if !self.by_node.contains_key(node) && self.by_node.len() >= MAX_UNFINISHED {
            let stalest = self.by_node.iter().min_by_key(|(_, u)| u.touched).map(|(n, _)| n.clone());
            if let Some(n) = stalest {
                self.forget(&n);
            }
        }
        if self.held + b.len() > MAX_HELD {
            let now = Instant::now();
            self.by_node.retain(|_, u| {
                let keep = now - u.touched < PATIENCE;
                self.held -= if keep { 0 } else { u.len };
                keep
            });
        }
        let held = self.held;
        let u = self.by_node.entry(node.to_owned()).or_insert_with(|| Unfinished {
            parts: Vec::new(),
            len: 0,
            spoiled: false,
            touched: Instant::now(),
        });
        u.touched = Instant::now();
        if u.spoiled {
            return;
        }
        if u.len + b.len() > MAX_POST || held + b.len() > MAX_HELD {
            let head = u.parts.first().map_or(b, Vec::as_slice);
            let head = head[..head.len().min(HEAD)].to_vec();
            self.held = held - u.len + head.len();
            (u.len, u.parts, u.spoiled) = (head.len(), vec![head], true);
            return;
        }
        u.parts.push(b.to_vec());
        u.len += b.len();
        self.held += b.len();
    }

    /// Node `node` sent the last piece of a post in parts: the parts before it (`None`:
    /// they are lost), or `Err` with the head of a post too long to hold.
    pub fn finish(&mut self, node: &str) -> Option<Result<Vec<Vec<u8>>, Vec<u8>>> {
        let mut u = self.by_node.remove(node)?;
        self.held -= u.len;
        Some(if u.spoiled { Err(u.parts.pop().unwrap_or_default()) } else { Ok(u.parts) })
    }

    /// Drops what node `node` left unfinished (it went).
    pub fn forget(&mut self, node: &str) {
        if let Some(u) = self.by_node.remove(node) {
            self.held -= u.len;
        }
    }
}
