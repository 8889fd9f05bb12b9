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
/// straight between the two processes' buffers. 64 KiB, what resource managers move per
/// `read`/`write`: two `memcpy`s of 64 KiB (~1.5 µs here) cost less than one
/// `process_vm_readv` of 16 bytes (~2.4 µs: it pins the pages and checks access each call).
/// Each slot's areas take memory only once a message that long has used them.
pub const INLINE: usize = 64 * 1024;
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
    /// the kernel refuses `process_vm_*` between the two processes, or the client spins),
    /// and the client's answer.
    pub const AGENT_REQ: u32 = 8;
    pub const AGENT_DONE: u32 = 9;
    /// The client took the request and is copying: from AGENT_REQ the server may still
    /// withdraw it (back to COPYING), from here it waits for AGENT_DONE.
    pub const AGENT_TAKEN: u32 = 10;
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
/// Set by the client when it posts: the server records [`Slot::reply_extent`].
pub const REPLY_TRACK: u32 = 2;

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
    /// Non-zero while the server sleeps on `state` for an agent copy's answer: the client
    /// wakes it only then (a spinning server sees the answer by itself).
    pub server_waiting: AtomicU32,
    /// The first entries of the send and the reply IOV (base, length), saving the server a
    /// read of the client's memory for the usual one- or two-part messages.
    pub send_segs: [[AtomicU64; 2]; SLOT_SEGS],
    pub reply_segs: [[AtomicU64; 2]; SLOT_SEGS],
    /// The message, then its inline reply (written over it once the message is done with).
    pub send_data: [u8; INLINE],
    /// The bounce area of agent copies into the client's reply buffers.
    pub reply_data: [u8; INLINE],
    /// With [`REPLY_TRACK`]: how far into the client's reply buffers the server wrote
    /// (`MsgWrite`, `MsgReply`), as the server says. Last, in the slot's padding: the
    /// layout before it is unchanged.
    pub reply_extent: AtomicU64,
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
    /// The record's place in the stream plus one, written last: the record at place `n`
    /// is ready once `seq` is `n + 1`.
    pub seq: AtomicU64,
}

/// A multi-producer (the client process's threads and signal handlers, with no lock: each
/// reserves a place in its private counter, fills the record and publishes it through
/// `seq`), single-consumer (the server, under the channel lock) ring of pulses. The
/// server takes records in order while their `seq` says they are ready.
#[repr(C, align(64))]
pub struct PulseRing {
    /// Pulses consumed; written by the server.
    pub head: AtomicU64,
    pub _pad: [u64; 7],
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
    /// Entries in the channel's pulse pool; 0 when it has none. Clients only read it to send
    /// their pulses over the link, where the server counts the pool in its own memory.
    pub pool_size: AtomicU32,
    /// The thread that last received from the channel, the one serving it (0: none yet),
    /// and its scheduling then as a message carries it (see `kernel::inherit`): a
    /// SEND-blocked client of higher priority raises it.
    pub serving_tid: AtomicU32,
    pub serving: AtomicU32,
}

/// The client-written part of a channel's bell.
#[repr(C, align(64))]
pub struct BellClients {
    /// Futex word the receivers sleep on; every post bumps it.
    pub seq: AtomicU32,
    /// Next FIFO ticket: only orders what the server finds in one drain pass (see `queue`).
    pub tickets: AtomicU64,
    /// Client threads spinning for an answer from this channel (see `spin::until_shared`).
    pub spinners: AtomicU32,
    /// Bumped by every client that changed the scheduling of a server thread (see
    /// `kernel::inherit`): receivers then set theirs again.
    pub boosts: AtomicU32,
    /// One bit per connection of the channel with something new for the server.
    pub pending: [AtomicU64; BITMAP_WORDS],
}

pub const BELL_SERVER_LEN: usize = 4096;
pub const BELL_CLIENTS_LEN: usize = 4096;
const _: () = assert!(std::mem::size_of::<BellServer>() <= BELL_SERVER_LEN);
const _: () = assert!(std::mem::size_of::<BellClients>() <= BELL_CLIENTS_LEN);
const _: () = assert!(std::mem::size_of::<Slot>() == 131328);

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    /// c-tests/hostile_layout.h, the offsets the adversarial tests write at, as an attacker
    /// reading this file would: every value it defines is the layout's.
    #[test]
    fn hostile_layout_h_matches_the_layout() {
        let expected: &[(&str, usize)] = &[
            ("CONN_MAGIC", CONN_MAGIC as usize),
            ("NSLOTS", SLOTS),
            ("PULSE_RING", PULSE_RING),
            ("CONN_PULSES", offset_of!(ConnLayout, pulses)),
            ("CONN_SLOTS", offset_of!(ConnLayout, slots)),
            ("RING_RECS", offset_of!(PulseRing, recs)),
            ("REC_SIZE", std::mem::size_of::<PulseRec>()),
            ("REC_SEQ", offset_of!(PulseRec, seq)),
            ("SLOT_SIZE", std::mem::size_of::<Slot>()),
            ("SL_STATE", offset_of!(Slot, state)),
            ("SL_CLIENT_WAITING", offset_of!(Slot, client_waiting)),
            ("SL_TID", offset_of!(Slot, tid)),
            ("SL_PRIO", offset_of!(Slot, priority)),
            ("SL_COID", offset_of!(Slot, coid)),
            ("SL_REPLY_FLAGS", offset_of!(Slot, reply_flags)),
            ("SL_AGENT_DIR", offset_of!(Slot, agent_dir)),
            ("SL_UNBLOCK", offset_of!(Slot, unblock)),
            ("SL_AGENT_OFFSET", offset_of!(Slot, agent_offset)),
            ("SL_AGENT_LEN", offset_of!(Slot, agent_len)),
            ("SL_AGENT_RESULT", offset_of!(Slot, agent_result)),
            ("SL_TICKET", offset_of!(Slot, ticket)),
            ("SL_SEND_LEN", offset_of!(Slot, send_len)),
            ("SL_REPLY_CAP", offset_of!(Slot, reply_cap)),
            ("SL_SEND_PARTS", offset_of!(Slot, send_parts)),
            ("SL_REPLY_PARTS", offset_of!(Slot, reply_parts)),
            ("SL_STATUS", offset_of!(Slot, status)),
            ("SL_REPLY_LEN", offset_of!(Slot, reply_len)),
            ("SL_SEND_DATA", offset_of!(Slot, send_data)),
            ("SL_REPLY_DATA", offset_of!(Slot, reply_data)),
            ("INLINE", INLINE),
            ("BELLS_DEAD", offset_of!(BellServer, dead)),
            ("BELLS_SERVED", offset_of!(BellServer, served)),
            ("BELL_TICKETS", offset_of!(BellClients, tickets)),
        ];
        let header = include_str!("../../c-tests/hostile_layout.h");
        let defined: Vec<(&str, usize)> = header
            .lines()
            .filter_map(|l| {
                let mut w = l.strip_prefix("#define ")?.split_whitespace();
                let (name, value) = (w.next()?, w.next()?);
                let value = value.trim_end_matches('u');
                let n = match value.strip_prefix("0x") {
                    Some(hex) => usize::from_str_radix(hex, 16),
                    None => value.parse(),
                };
                Some((name, n.ok()?))
            })
            .collect();
        assert_eq!(defined.len(), expected.len(), "every define is checked");
        for (name, value) in expected {
            assert_eq!(defined.iter().find(|(n, _)| n == name).map(|d| d.1), Some(*value), "{name}");
        }
    }
}
