//! The layouts placed in shared memory: a channel's bell and a connection's slots.
//!
//! Everything here may be written by a hostile peer at any time. Readers validate every
//! value they take out (lengths, counts, states) and never index with it unchecked.

use super::shm::Region;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Slots per connection: how many threads of one client process can be inside `MsgSend*`
/// on one connection at once before the next one waits for a free slot.
pub const SLOTS: usize = 32;
/// Bytes of send and of reply data carried inside a slot; longer messages are copied
/// straight between the two processes' buffers.
pub const INLINE: usize = 3992;
/// IOV entries of each side carried in the slot; a longer IOV array is read from the client.
pub const SLOT_SEGS: usize = 2;
/// Connections per channel that the bell's pending bitmap can name.
pub const MAX_CHANNEL_CONNS: usize = BITMAP_WORDS * 64;
const BITMAP_WORDS: usize = 500;

/// Slot states. The client owns FREE, CLAIMED and the moves to SENT and ABORTED; the server
/// owns RECEIVED, COPYING, REPLIED and FAILED.
pub mod state {
    pub const FREE: u32 = 0;
    pub const CLAIMED: u32 = 1;
    pub const SENT: u32 = 2;
    pub const RECEIVED: u32 = 3;
    pub const REPLIED: u32 = 4;
    pub const FAILED: u32 = 5;
    pub const ABORTED: u32 = 6;
    /// The server is copying into the client's buffers; the client must not leave yet.
    pub const COPYING: u32 = 7;
    /// The server asks the blocked client thread to copy a chunk through the slot (when
    /// the kernel refuses `process_vm_*` between the two processes), and the client's answer.
    pub const AGENT_REQ: u32 = 8;
    pub const AGENT_DONE: u32 = 9;
}

/// Directions of an agent copy, in [`Slot::agent_dir`].
pub const AGENT_READ: u32 = 0;
pub const AGENT_WRITE: u32 = 1;

/// Values of [`Slot::client_waiting`]: a SEND-blocked client with a timeout that starts to
/// count once it is REPLY-blocked wants to be woken when the server takes its message.
pub const WAITING_REPLY: u32 = 1;
pub const WAITING_RECEIVE: u32 = 2;

/// Reply flags in [`Slot::reply_flags`].
pub const REPLY_INLINE: u32 = 1;

/// One client thread's message in flight.
#[repr(C, align(64))]
pub struct Slot {
    /// Futex word: one of [`state`].
    pub state: AtomicU32,
    /// Non-zero while the client sleeps on `state`, so the server wakes it only then:
    /// [`WAITING_REPLY`] for the reply, [`WAITING_RECEIVE`] already for the receipt.
    pub client_waiting: AtomicU32,
    pub tid: AtomicU32,
    pub priority: AtomicU32,
    pub coid: AtomicU32,
    pub reply_flags: AtomicU32,
    /// An agent copy: direction, offset in the client's send or reply stream, length, and
    /// the client's result (bytes, or a negative errno).
    pub agent_dir: AtomicU32,
    /// The errno with which the REPLY-blocked client asks to be unblocked (`EINTR`); 0 if
    /// it has not asked.
    pub unblock: AtomicU32,
    pub agent_offset: AtomicU64,
    pub agent_len: AtomicU64,
    pub agent_result: AtomicU64,
    /// Position in the channel's FIFO among equal priorities.
    pub ticket: AtomicU64,
    /// Total bytes the client sends, and the capacity of its reply buffers.
    pub send_len: AtomicU64,
    pub reply_cap: AtomicU64,
    /// The client's IOV arrays, as addresses in the client's address space.
    pub send_iov: AtomicU64,
    pub send_parts: AtomicU64,
    pub reply_iov: AtomicU64,
    pub reply_parts: AtomicU64,
    /// Reply status (REPLIED) or errno (FAILED).
    pub status: AtomicU64,
    /// Bytes of inline reply data.
    pub reply_len: AtomicU64,
    /// The CPU the client last ran on (see `spin`): a server that shares it does not spin.
    pub cpu: AtomicU32,
    pub _pad: u32,
    /// The first entries of the send and the reply IOV (base, length), saving the server a
    /// read of the client's memory for the usual one- or two-part messages.
    pub send_segs: [[AtomicU64; 2]; SLOT_SEGS],
    pub reply_segs: [[AtomicU64; 2]; SLOT_SEGS],
    pub send_data: [u8; INLINE],
    pub reply_data: [u8; INLINE],
}

/// The header of a connection region.
#[repr(C, align(64))]
pub struct ConnHeader {
    pub magic: AtomicU32,
    /// One bit per slot the client changed (posted or aborted) since the server last looked,
    /// and [`PULSES_POSTED`] for new pulses in the ring.
    pub posted: AtomicU64,
    /// Where the client mapped this region (written by the client): the server proves
    /// that a process image is the client's by finding its own fresh nonces there.
    pub client_base: AtomicU64,
    /// The server's nonce cell for such proofs outside a message (see `copy::Image`).
    pub nonce: AtomicU64,
}

/// The bit of [`ConnHeader::posted`] that announces pulses.
pub const PULSES_POSTED: u64 = 1 << 32;

/// Pulses a connection's ring holds before the client sends over its link instead.
pub const PULSE_RING: usize = 128;

/// One pulse in flight from a client to its server.
#[repr(C)]
pub struct PulseRec {
    pub priority: AtomicU32,
    pub code: AtomicU32,
    pub value: AtomicU64,
    pub ticket: AtomicU64,
    pub _pad: AtomicU64,
}

/// A single-producer (the client process, under its own lock), single-consumer (the
/// server, under the channel lock) ring of pulses.
#[repr(C, align(64))]
pub struct PulseRing {
    /// Pulses consumed; written by the server.
    pub head: AtomicU64,
    pub _pad: [u64; 7],
    /// Pulses produced; written by the client.
    pub tail: AtomicU64,
    pub _pad2: [u64; 7],
    pub recs: [PulseRec; PULSE_RING],
}

/// A connection's region: a header, the pulse ring and [`SLOTS`] slots.
#[repr(C)]
pub struct ConnLayout {
    pub header: ConnHeader,
    pub pulses: PulseRing,
    pub slots: [Slot; SLOTS],
}

pub const CONN_MAGIC: u32 = 0x4e54_4f31; // "NTO1"
pub const CONN_REGION_LEN: usize = std::mem::size_of::<ConnLayout>();

/// The server-written part of a channel's bell; clients map it read-only.
#[repr(C, align(64))]
pub struct BellServer {
    /// How many receiving threads sleep on the bell; senders ring it only then.
    pub sleepers: AtomicU32,
    /// Set when the channel is destroyed.
    pub dead: AtomicU32,
    /// The CPU a receiving thread last ran on: a client that shares it does not spin.
    pub cpu: AtomicU32,
    pub _pad: u32,
    /// The ticket of the message last received: a client far behind it sleeps rather than
    /// spins (it would spin through other clients' turns).
    pub served: AtomicU64,
    /// Entries in the channel's pulse pool; 0 when it has none (pulses are unbounded).
    pub pool_size: AtomicU32,
}

/// The client-written part of a channel's bell.
#[repr(C, align(64))]
pub struct BellClients {
    /// Futex word the receivers sleep on; every post bumps it.
    pub seq: AtomicU32,
    /// Pool entries taken by queued pulses (see [`BellServer::pool_size`]).
    pub pool_used: AtomicU32,
    /// Next FIFO ticket.
    pub tickets: AtomicU64,
    /// Client threads spinning for an answer from this channel (see `spin::until_shared`).
    pub spinners: AtomicU32,
    pub _pad: u32,
    /// One bit per connection of the channel with something new for the server.
    pub pending: [AtomicU64; BITMAP_WORDS],
}

pub const BELL_SERVER_LEN: usize = 4096;
pub const BELL_CLIENTS_LEN: usize = 4096;
const _: () = assert!(std::mem::size_of::<BellServer>() <= BELL_SERVER_LEN);
const _: () = assert!(std::mem::size_of::<BellClients>() <= BELL_CLIENTS_LEN);
const _: () = assert!(std::mem::size_of::<Slot>() == 8192);

/// A channel's bell as mapped by one process.
pub struct Bell {
    server: Region,
    clients: Region,
}

impl Bell {
    pub fn new(server: Region, clients: Region) -> Arc<Bell> {
        assert!(server.len() >= BELL_SERVER_LEN && clients.len() >= BELL_CLIENTS_LEN);
        Arc::new(Bell { server, clients })
    }

    pub fn server(&self) -> &BellServer {
        // SAFETY: the region is at least BELL_SERVER_LEN bytes, page aligned, and only holds
        // atomics, for which every bit pattern is valid.
        unsafe { &*(self.server.as_ptr() as *const BellServer) }
    }

    pub fn clients(&self) -> &BellClients {
        // SAFETY: as above, for BELL_CLIENTS_LEN.
        unsafe { &*(self.clients.as_ptr() as *const BellClients) }
    }

    /// Tells the receivers that connection `bit` has something new.
    pub fn ring(&self, bit: u32) {
        let c = self.clients();
        let word = (bit as usize / 64) % BITMAP_WORDS;
        c.pending[word].fetch_or(1 << (bit % 64), Ordering::SeqCst);
        c.seq.fetch_add(1, Ordering::SeqCst);
        if self.server().sleepers.load(Ordering::SeqCst) != 0 {
            super::futex::wake(&c.seq, 1);
        }
    }

    /// Takes an entry of the channel's pulse pool for a pulse about to be queued; false when
    /// the pool is exhausted. A channel without a pool always has room.
    pub fn take_pool_entry(&self) -> bool {
        let size = self.server().pool_size.load(Ordering::Relaxed);
        size == 0
            || self
                .clients()
                .pool_used
                .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |used| (used < size).then_some(used + 1))
                .is_ok()
    }

    /// Gives back the entry of a pulse taken off the queue; returns the free entries.
    pub fn give_pool_entry(&self) -> u32 {
        let size = self.server().pool_size.load(Ordering::Relaxed);
        let used = &self.clients().pool_used;
        let before =
            used.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |u| u.checked_sub(1)).unwrap_or(0);
        size.saturating_sub(before.saturating_sub(1))
    }

    /// Takes the pending bits of the first `conns` connections, calling `f` with each
    /// connection index.
    pub fn drain(&self, conns: usize, mut f: impl FnMut(u32)) {
        let words = conns.div_ceil(64).min(BITMAP_WORDS);
        for (w, word) in self.clients().pending[..words].iter().enumerate() {
            if word.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let mut bits = word.swap(0, Ordering::SeqCst);
            while bits != 0 {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                f((w * 64) as u32 + b);
            }
        }
    }
}

/// A connection region as mapped by one process.
pub struct ConnRegion {
    region: Region,
}

impl ConnRegion {
    pub fn new(region: Region) -> Arc<ConnRegion> {
        assert!(region.len() >= CONN_REGION_LEN);
        Arc::new(ConnRegion { region })
    }

    pub fn layout(&self) -> &ConnLayout {
        // SAFETY: the region is CONN_REGION_LEN bytes, page aligned; ConnLayout is atomics
        // and byte arrays, valid for any bit pattern. Byte arrays are only accessed through
        // raw-pointer copies (see `send_data`), never through references that assume no
        // concurrent writer.
        unsafe { &*(self.region.as_ptr() as *const ConnLayout) }
    }

    /// The client's address of `cell` (a field of this region), by the base the client
    /// wrote: as untrusted as any client-written value.
    pub fn client_addr(&self, cell: &AtomicU64) -> Option<usize> {
        let offset = cell as *const AtomicU64 as usize - self.region.as_ptr() as usize;
        (self.layout().header.client_base.load(Ordering::Relaxed) as usize).checked_add(offset)
    }

    pub fn slot(&self, i: usize) -> &Slot {
        &self.layout().slots[i]
    }

    /// The inline send buffer of slot `i`, as a raw pointer: a peer may write it concurrently.
    pub fn send_data(&self, i: usize) -> *mut u8 {
        self.slot(i).send_data.as_ptr() as *mut u8
    }

    pub fn reply_data(&self, i: usize) -> *mut u8 {
        self.slot(i).reply_data.as_ptr() as *mut u8
    }
}
