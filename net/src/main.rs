//! `neutrino-netd`: the node's network gateway, libneutrino's counterpart of QNX's Qnet.
//!
//! Local processes reach it through libneutrino's own IPC, by the local name
//! `neutrino/netmgr` (see `neutrino::kernel::net`): every remote connection of a process is
//! a connection of its own to this gateway, announced once by an attach request. Between
//! nodes the gateway speaks Eclipse Zenoh: each gateway serves queries on
//! `nto/<node>/<op>/<sender>` (what waits for an answer: an attach, a global name's
//! holder, a node's nd), takes puts on `nto/<node>/post/<op>/<sender>` (calls, pulses,
//! detaches, events, unblocks and news, which nobody awaits, and the answers to its calls,
//! op `answer`), and holds the liveliness token `nto/alive/<node>`, by which the others
//! learn that it is there and when it is gone.
//!
//! A global name a local server attaches is announced by the liveliness token
//! `nto/name/<name>/<node>` (the name written as one key chunk, see `wire::name_chunk`) for
//! as long as the server's announcing connection lasts. Announcements only say whom to ask:
//! `name_open` asks that node's gateway (op `name`) for the holder's pid and chid, and
//! connects as `ConnectAttach` does; a name held on this node is always found here first.
//!
//! A message sent on a remote coid is received here, read whole, and put to the remote
//! node's gateway, which `MsgSend`s it to the real server on a connection of its own for
//! that remote connection, and puts the server's reply (or error) back as the call's answer;
//! this gateway then replies to the local client with it.
//! The serving gateway knows each remote connection by a random handle it hands out at
//! attach and never reuses (only the client's node knows it), and each call by an id its
//! client's gateway gives it.
//!
//! Our channel has `_NTO_CHF_UNBLOCK`: a local client hit by a signal or a timeout while
//! its call is forwarded stays blocked, and the serving gateway is asked to unblock the
//! call there (its server gets `_PULSE_CODE_UNBLOCK` if its channel asks for it; otherwise
//! the call ends at once); the answer that comes back answers the client. When the serving
//! gateway's connection to a server dies, it says so (`gone`); the news may overtake the
//! reply to a call on it, so the client's connection is severed once its calls have their
//! answers.
//!
//! The server sees the remote client, as with Qnet: the attach carries the client's pid and
//! credentials as this node's library knows them (from the kernel, when the client attached
//! here) and each message its thread; the remote gateway's connection to the server claims
//! to stand for that client, with the nd by which the server's node names this one (see
//! `neutrino::kernel::net::vouch` for what a server believes, and [`Users`] for whom it
//! is shown).
//!
//!   neutrino-netd [-n NODE] [-l ENDPOINT]... [-c ENDPOINT]... [--no-scout] [--lease MS]
//!                 [-C ZENOH_CONFIG] [--as-root [--mapany UID[:GID]] [--maproot UID[:GID]]]
//!
//! Without options it takes the host's name, listens where Zenoh's peer mode does, and
//! finds the other gateways of the LAN by Zenoh's multicast scouting. `-c` names peers or
//! routers where discovery cannot work; `-C` reads a full Zenoh configuration (TLS, access
//! control).
//!
//! An event a local server delivers to a remote client (`MsgDeliverEvent` on the rcvid of a
//! message we sent it for that client) reaches us as the server's client: the library hands
//! it to [`on_event`], which sends it to the client's node (op `event`, naming the
//! connection); that node's gateway delivers it to the client as the server of the client's
//! connection, on the rcvid of the last message the client sent on it (for the thread the
//! server's rcvid named), so the library's own rules (the client's coids, registrations,
//! `_NTO_COF_*` flags) decide there.
//!
//! Order is kept as QNX's kernel and Qnet keep it: what local clients send goes to each node
//! in the order our channel gave it to our threads (see [`Receivers`]), Zenoh keeps it on
//! the way, and the serving node takes each connection's sends, pulses and detach in that
//! order, and each connection's events (see [`LineKey`]).
//!
//! A node is gone when Zenoh closes the transport to it: at once when its gateway dies (its
//! socket closes), and when its link is cut once nothing came from it for its lease: the
//! lease each gateway announces (`--lease`, Zenoh's `transport/link/tx/lease`, 10 s by
//! default; it sends keep-alives four times a lease) is how long the others wait for it. Calls blocked on a node that went then fail
//! with `ESRCH`, the connections to it die as connections to a destroyed channel do (later
//! sends `EBADF`, `_PULSE_CODE_COIDDEATH` to a client with `_NTO_CHF_COID_DISCONNECT`) and
//! stay dead if it comes back, and the connections it made here end (their servers get
//! `_PULSE_CODE_DISCONNECT`).
//!
//! Another node decides how much it asks of this one: each node gets a share of the
//! threads and memory its calls hold here (see [`budget`]), at most [`MAX_CONNECTIONS_PER_NODE`]
//! connections, and no message or reply larger than [`MAX_MESSAGE`] is taken from a peer.

mod asking;
mod budget;
mod publishers;
mod tuning;
mod wire;

use asking::Asking;
use budget::Budget;
use neutrino::capi::neutrino as nto;
use neutrino::kernel::abi::{
    _client_info, _msg_info, _pulse, _NTO_CHF_COID_DISCONNECT, _NTO_CHF_DISCONNECT, _NTO_CHF_UNBLOCK,
};
use neutrino::kernel::client as kclient;
use neutrino::kernel::errno::{Errno, KResult};
use neutrino::kernel::event::{Kind, RawEvent};
use neutrino::kernel::net::{self as knet, Behalf, NetReq, BEHALF_GROUPS};
use neutrino::kernel::server as kserver;
use neutrino::kernel::thread::Waker;
use neutrino::transport::copy::Seg;
use publishers::Publishers;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use wire::{Reader, Status};
use zenoh::bytes::ZBytes;
use zenoh::handlers::FifoChannelHandler;
use zenoh::query::Reply;
use zenoh::Wait;

/// QNX's pulse code for a client connection that ended.
const PULSE_CODE_DISCONNECT: i8 = -33;
/// QNX's pulse code for a connection of ours whose channel was destroyed.
const PULSE_CODE_COIDDEATH: i8 = -35;
/// QNX's pulse code for a client REPLY-blocked on us that asks to be let go.
const PULSE_CODE_UNBLOCK: i8 = -32;
/// How long another gateway may take over a request (an attach, a name, a node's nd): it
/// answers such requests at once, so one that does not is stuck or hostile, and the request
/// fails as for a node that went (`ESRCH`; a name is then sought on other nodes).
const REQUEST_PATIENCE: Duration = Duration::from_secs(5);
/// The largest reply buffer a remote client may ask this node to allocate for it.
const MAX_REPLY: usize = 64 << 20;
/// The largest request other than a call (a send) or an event another node may make.
const MAX_REQUEST: usize = 4096;
/// The largest message sent to another node (`EOVERFLOW` past it): Zenoh is told to drop
/// anything larger from a peer, so that no peer makes us hold more.
const MAX_MESSAGE: usize = 64 << 20;
/// The most global names this node believes one other node announces, and all others
/// together: what a peer announces beyond them is ignored.
const MAX_NAMES_PER_NODE: usize = 256;
const MAX_NAMES: usize = 16384;
/// Connections one node may hold here, and all nodes.
const MAX_CONNECTIONS_PER_NODE: usize = 4096;
const MAX_CONNECTIONS: usize = 16384;
/// How many "gone"s for connections not held (yet) a gateway remembers.
const MAX_EARLY_GONE: usize = 1024;
/// How long an unblock that came before its call (or after it ended) is kept for it, and
/// how many such are kept at most.
const EARLY_UNBLOCK_KEPT: Duration = Duration::from_secs(60);
const MAX_EARLY_UNBLOCKS: usize = 4096;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// A remote connection as its client's node knows it.
#[derive(Clone, PartialEq)]
struct Remote {
    node: String,
    /// The life of `node` it was made in: it dies with that life.
    life: u64,
    /// What `node` calls it: handed out at attach, never reused in that gateway's life.
    handle: u64,
}

/// A query on its way (see [`Gateway::ask`]), and what tells of its node's departure.
struct Asked {
    replies: FifoChannelHandler<Reply>,
    departures: watch::Receiver<u64>,
}

/// Hands things over in the order of their numbers: the holder of a number goes once every
/// smaller one went. Threads wait for their turn, and so do tasks (which hold no thread).
struct Turnstile {
    next: Mutex<u64>,
    moved: Condvar,
    moved_async: tokio::sync::Notify,
}

/// A number's turn at a [`Turnstile`]: the next one goes when it is dropped.
struct Turn(Arc<Turnstile>);

impl Turnstile {
    fn new(first: u64) -> Arc<Turnstile> {
        let moved_async = tokio::sync::Notify::new();
        Arc::new(Turnstile { next: Mutex::new(first), moved: Condvar::new(), moved_async })
    }

    /// Waits for the turn of number `n`.
    fn wait(self: &Arc<Self>, n: u64) -> Turn {
        let next = self.next.lock().unwrap();
        drop(self.moved.wait_while(next, |next| *next != n).unwrap());
        Turn(self.clone())
    }

    /// Waits for the turn of number `n` without a thread.
    async fn wait_async(self: &Arc<Self>, n: u64) -> Turn {
        loop {
            // Woken by any move made after it is made, even before it is polled.
            let moved = self.moved_async.notified();
            if self.passed(n) {
                return Turn(self.clone());
            }
            moved.await;
        }
    }

    /// Whether every number below `n` went.
    fn passed(&self, n: u64) -> bool {
        *self.next.lock().unwrap() == n
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        *self.0.next.lock().unwrap() += 1;
        self.0.moved.notify_all();
        self.0.moved_async.notify_waiters();
    }
}

/// What must keep its order: the posts of this node toward node `node` in its life `id`
/// (see [`Receivers`]); or on this node what one remote connection carries, by the node
/// that made it and its handle: its sends, pulses and detach (the connections remote
/// clients made here), or the events for one of our clients' connections. Zenoh gives us a
/// node's posts in the order they were sent.
#[derive(Clone, PartialEq, Eq, Hash)]
struct LineKey {
    node: String,
    id: u64,
    kind: LineKind,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum LineKind {
    Toward,
    Served,
    Events,
}

/// A turnstile per [`LineKey`] with work on its way, and the numbers it gave out.
#[derive(Default)]
struct Lines {
    lines: Mutex<HashMap<LineKey, (Arc<Turnstile>, u64)>>,
    /// How many lines there were after the last sweep of idle ones.
    swept: AtomicUsize,
}

/// A place on a line: its turn is [`Ticket::wait`]'s, which every ticket must take (the
/// line waits for it).
#[must_use]
struct Ticket(Arc<Turnstile>, u64);

impl Ticket {
    fn wait(self) -> Turn {
        self.0.wait(self.1)
    }

    async fn wait_async(self) -> Turn {
        self.0.wait_async(self.1).await
    }

    /// Its turn, if it is now.
    fn now(self) -> Result<Turn, Ticket> {
        match self.0.passed(self.1) {
            true => Ok(Turn(self.0.clone())),
            false => Err(self),
        }
    }
}

impl Lines {
    /// The next place on line `key`.
    fn ticket(&self, key: LineKey) -> Ticket {
        let mut lines = self.lines.lock().unwrap();
        // Lines with nothing on its way are dropped from time to time: a later post of
        // one starts a new line.
        if lines.len() > 2 * self.swept.load(Ordering::Relaxed).max(64) {
            lines.retain(|_, (t, issued)| !t.passed(*issued));
            self.swept.store(lines.len(), Ordering::Relaxed);
        }
        let (t, issued) = lines.entry(key).or_insert_with(|| (Turnstile::new(0), 0));
        *issued += 1;
        Ticket(t.clone(), *issued - 1)
    }

    /// The next place on the line of posts toward node `node` in its life `life`.
    fn toward(&self, node: &str, life: u64) -> Ticket {
        self.ticket(LineKey { node: node.to_owned(), id: life, kind: LineKind::Toward })
    }
}

/// A local client's remote connection, and its calls still waiting for their answers.
struct Outgoing {
    remote: Remote,
    calls: usize,
    /// Its server went (the serving node said so): severed once `calls` is 0, so that no
    /// reply on its way loses to the news, which travels apart from it.
    gone: bool,
}

/// A local client's call forwarded to a remote node and not yet answered.
struct Call {
    rcvid: i64,
    scoid: i32,
    remote: Remote,
    /// The client asked to be let go, and the serving node was asked to unblock the call.
    unblocked: bool,
}

/// The forwarded calls not yet answered: by their ids (never reused in our life), by which
/// their serving nodes know them, and by rcvid, by which their clients ask to be let go.
#[derive(Default)]
struct Inflight {
    calls: HashMap<u64, Call>,
    ids: HashMap<i64, u64>,
}

impl Inflight {
    fn insert(&mut self, id: u64, call: Call) {
        self.ids.insert(call.rcvid, id);
        self.calls.insert(id, call);
    }

    fn remove(&mut self, id: u64) -> Option<Call> {
        let call = self.calls.remove(&id)?;
        // Unless a later call has the rcvid now (its client went, and another came).
        if self.ids.get(&call.rcvid) == Some(&id) {
            self.ids.remove(&call.rcvid);
        }
        Some(call)
    }

    /// The call of message `rcvid`, and its id.
    fn of_rcvid(&mut self, rcvid: i64) -> Option<(u64, &mut Call)> {
        let id = *self.ids.get(&rcvid)?;
        self.calls.get_mut(&id).map(|c| (id, c))
    }
}

/// How to unblock a call in progress here for a remote client (as `SIGEV_UNBLOCK` would);
/// `early`: when an unblock came before its call, for which it is kept a while.
struct Unblocker {
    waker: Arc<Waker>,
    early: Option<Instant>,
}

/// A connection held here for a remote node's client.
struct Incoming {
    origin: String,
    coid: i32,
    /// Sends and pulses in progress on it: its coid stays ours until they are done.
    calls: usize,
    /// Its server died: it takes nothing more, and is detached once its calls have ended,
    /// so that they fail as their server's death fails them (`ESRCH`), not as a detach of
    /// their coid would (`EBADF`).
    dead: bool,
}

/// The nodes alive as the liveliness subscriber reports them, each with the number of its
/// life: a node that goes and comes back (its gateway restarted, its link restored) has a
/// new one, and the connections of its old life stay dead.
#[derive(Default)]
struct Lives {
    alive: HashMap<String, u64>,
    last: u64,
}

/// A global name a local server announced.
struct Global {
    name: Vec<u8>,
    pid: i32,
    chid: i32,
    /// `nto/name/<name>/<node>`, while the announcing connection lasts.
    token: Option<zenoh::liveliness::LivelinessToken>,
}

/// Whom remote clients are presented to local servers as. A gateway running as root passes
/// their credentials through, as Qnet does, except what `--mapany`/`--maproot` map; any
/// other presents them as its own user, a rule the servers' library enforces itself (see
/// `neutrino::kernel::net::vouch`): no node can act here as a user the gateway is not.
#[derive(Default)]
struct Users {
    /// `--mapany UID[:GID]`: every remote client acts as this user.
    any: Option<(u32, u32)>,
    /// `--maproot UID[:GID]`: a remote client with any uid 0 acts as this user.
    root: Option<(u32, u32)>,
}

impl Users {
    fn present(&self, c: &mut Behalf) {
        let to = self.any.or(if c.uids.contains(&0) { self.root } else { None });
        if let Some((uid, gid)) = to {
            c.uids = [uid; 3];
            c.gids = [gid; 3];
            c.ngroups = 0;
            c.groups = [0; BEHALF_GROUPS];
        }
    }
}

/// `UID[:GID]` of `--mapany`/`--maproot`; without a GID, the user's group in the password
/// database, as Qnet maps to "the group ID of map_uid".
fn user_arg(opt: &str, v: &str) -> (u32, u32) {
    let bad = || -> ! {
        eprintln!("neutrino-netd: {opt} takes UID[:GID] (a UID without a password entry needs its GID)");
        std::process::exit(2)
    };
    let (u, g) = v.split_once(':').map_or((v, None), |(u, g)| (u, Some(g)));
    let uid: u32 = u.parse().unwrap_or_else(|_| bad());
    let gid = match g {
        Some(g) => g.parse().unwrap_or_else(|_| bad()),
        None => {
            // SAFETY: passwd is plain data; getpwuid_r writes it and its strings into buf.
            let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
            let mut buf = vec![0 as libc::c_char; 4096];
            let mut found = std::ptr::null_mut();
            // SAFETY: all pointers are valid for the call; buf's length is given.
            unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut found) };
            if found.is_null() {
                bad()
            }
            pw.pw_gid
        }
    };
    (uid, gid)
}

struct Gateway {
    me: String,
    users: Users,
    session: zenoh::Session,
    posts: Publishers,
    /// Our runtime, whose blocking threads carry what remote nodes ask.
    rt: tokio::runtime::Handle,
    budget: Arc<Budget>,
    /// Node names by nd - 1: an nd stays bound to its name for the gateway's life.
    nodes: Mutex<Vec<String>>,
    /// Local side: the remote connection each scoid of our channel stands for.
    outgoing: Mutex<HashMap<i32, Outgoing>>,
    /// Local side: the local clients' requests to us in progress, by rcvid.
    asking: Mutex<HashMap<i64, Arc<Asking>>>,
    /// Local side: the forwarded calls not yet answered.
    inflight: Mutex<Inflight>,
    next_call: AtomicU64,
    /// Remote side: the connections we hold for remote nodes, by handle (see
    /// [`Gateway::hold`]).
    incoming: Mutex<HashMap<u64, Incoming>>,
    /// Remote side: how to unblock each call in progress for a remote client, by its
    /// connection's handle (which only its node knows) and the call's id.
    calls: Mutex<HashMap<(u64, u64), Unblocker>>,
    /// Local side: the connections whose serving node said they died before their attach's
    /// answer came here, by node and handle (the latest [`MAX_EARLY_GONE`]; under the
    /// outgoing table's lock).
    early_gone: Mutex<VecDeque<(String, u64)>>,
    /// Local side: the last message received on each remote connection (by scoid), whose
    /// rcvid stays good after the reply for the events its server delivers.
    rcvids: Mutex<HashMap<i32, i64>>,
    lives: Mutex<Lives>,
    /// Bumped after each node's departure from `lives`: what waiting calls watch.
    departures: watch::Sender<u64>,
    /// The global names local servers announce, by the scoid of the connection that
    /// announces each (its end, the server's `name_detach` or death, withdraws it).
    globals: Mutex<HashMap<i32, Global>>,
    /// The global names other nodes announce, by node, as their tokens tell.
    announced: Mutex<HashMap<String, HashSet<Vec<u8>>>>,
    /// What remote connections carry, taken in order (see [`LineKey`]).
    lines: Lines,
}

impl Lives {
    /// The life of node `name`, begun now if it was not alive.
    fn live(&mut self, name: &str) -> u64 {
        if let Some(life) = self.alive.get(name) {
            return *life;
        }
        self.last += 1;
        self.alive.insert(name.to_owned(), self.last);
        self.last
    }
}

impl Gateway {
    fn name_of(&self, nd: u32) -> Option<String> {
        match nd & 0xffff {
            0 => Some(self.me.clone()),
            n => self.nodes.lock().unwrap().get(n as usize - 1).cloned(),
        }
    }

    /// The nd of `name`, given it one if the node is alive and new to us.
    async fn nd_of(&self, name: &str) -> Result<u32, i32> {
        if name == self.me {
            return Ok(0);
        }
        if let Some(i) = self.nodes.lock().unwrap().iter().position(|n| n == name) {
            return Ok(i as u32 + 1);
        }
        if !wire::valid_node(name) || !self.alive(name).await {
            return Err(libc::ENOENT);
        }
        let mut nodes = self.nodes.lock().unwrap();
        if let Some(i) = nodes.iter().position(|n| n == name) {
            return Ok(i as u32 + 1);
        }
        if nodes.len() >= 0xfffe {
            return Err(libc::ENOMEM);
        }
        nodes.push(name.to_owned());
        Ok(nodes.len() as u32)
    }

    /// The current life of node `name`, if it is alive.
    fn life_now(&self, name: &str) -> Option<u64> {
        self.lives.lock().unwrap().alive.get(name).copied()
    }

    /// The current life of node `name`, asking Zenoh when the subscriber has not told of
    /// it yet (a node `netmgr_strtond` just found may be new to it).
    async fn life_of(&self, name: &str) -> Option<u64> {
        loop {
            if let Some(life) = self.life_now(name) {
                return Some(life);
            }
            let seen = *self.departures.borrow();
            if !self.alive(name).await {
                return None;
            }
            let mut lives = self.lives.lock().unwrap();
            // A departure since the question may have been this node's: ask again.
            if *self.departures.borrow() == seen {
                return Some(lives.live(name));
            }
        }
    }

    /// Holds our connection `coid` for node `origin`: its handle, random and never one in
    /// use, so a request still on its way for a connection that ended never reaches a later
    /// one, and no node guesses another's.
    /// `EAGAIN` when the node holds [`MAX_CONNECTIONS_PER_NODE`], or all hold
    /// [`MAX_CONNECTIONS`] (a process's connections are bounded: the others' and our own
    /// local clients' need room).
    fn hold(&self, origin: &str, coid: i32) -> Result<u64, i32> {
        let mut incoming = self.incoming.lock().unwrap();
        if incoming.len() >= MAX_CONNECTIONS
            || incoming.values().filter(|c| c.origin == origin).count() >= MAX_CONNECTIONS_PER_NODE
        {
            return Err(libc::EAGAIN);
        }
        loop {
            let mut h = [0u8; 8];
            // SAFETY: h is writable for its length.
            if unsafe { libc::getrandom(h.as_mut_ptr().cast(), h.len(), 0) } != h.len() as isize {
                match errno() {
                    libc::EINTR => continue,
                    e => return Err(e),
                }
            }
            let handle = u64::from_ne_bytes(h);
            if handle != 0 && !incoming.contains_key(&handle) {
                incoming.insert(handle, Incoming { origin: origin.to_owned(), coid, calls: 0, dead: false });
                return Ok(handle);
            }
        }
    }

    /// A send or pulse on connection `handle` has ended: a connection whose server died goes
    /// with the last.
    fn end_serving(&self, handle: u64) {
        let mut incoming = self.incoming.lock().unwrap();
        let Some(c) = incoming.get_mut(&handle) else { return };
        c.calls -= 1;
        if c.dead && c.calls == 0 {
            let _ = nto::ConnectDetach(c.coid);
            incoming.remove(&handle);
        }
    }

    /// A message on local connection `scoid` (rcvid `rcvid`) to forward: where to, and the
    /// call's id; `None` for a connection that is not a remote one; `ESRCH` when its server
    /// went and it waits only for its other calls' answers to be severed (the message was
    /// sent before the client could know: it waited, SEND-blocked, for the connection to
    /// carry it, and its server is gone).
    fn begin_call(&self, scoid: i32, rcvid: i64) -> Option<Result<(Remote, u64), i32>> {
        let mut outgoing = self.outgoing.lock().unwrap();
        let o = outgoing.get_mut(&scoid)?;
        if o.gone {
            return Some(Err(libc::ESRCH));
        }
        o.calls += 1;
        let id = self.next_call.fetch_add(1, Ordering::Relaxed);
        let call = Call { rcvid, scoid, remote: o.remote.clone(), unblocked: false };
        self.inflight.lock().unwrap().insert(id, call);
        Some(Ok((o.remote.clone(), id)))
    }

    /// A call on local connection `scoid` (to `r`) has its answer: the connection is
    /// severed now if its server went meanwhile and no other call waits.
    fn end_call(&self, scoid: i32, r: &Remote) {
        let mut outgoing = self.outgoing.lock().unwrap();
        // Severed meanwhile (its node went), perhaps detached and the scoid reused.
        let Some(o) = outgoing.get_mut(&scoid).filter(|o| o.remote == *r) else { return };
        o.calls -= 1;
        if o.gone && o.calls == 0 {
            outgoing.remove(&scoid);
            // Under the lock, as in `sever`.
            self.cut(scoid);
        }
    }

    /// Node `node`'s answer (see [`Answer::Call`]) to call `id` on its connection `handle`:
    /// taken only from where the call went (ids are ours, and guessable; a handle only the
    /// two nodes know), and only then read (a forged one costs no copy of what it carries).
    fn on_answer(&self, node: &str, handle: u64, id: u64, answer: impl FnOnce() -> Status) {
        let mut inflight = self.inflight.lock().unwrap();
        if inflight.calls.get(&id).is_some_and(|c| c.remote.node == node && c.remote.handle == handle) {
            let call = inflight.remove(id).unwrap();
            drop(inflight);
            self.complete(call, answer());
        }
    }

    /// Answers forwarded call `id` with `answer`, unless it has its answer already: the
    /// serving node's answer, a failure to send the call and the node's departure race, and
    /// the first wins.
    fn finish(&self, id: u64, answer: Status) {
        let call = self.inflight.lock().unwrap().remove(id);
        if let Some(call) = call {
            self.complete(call, answer);
        }
    }

    fn complete(&self, call: Call, answer: Status) {
        let rcvid = call.rcvid;
        match answer {
            // The remote call ended for the unblock we asked (the serving node's
            // libneutrino gives its thread ETIMEDOUT): the client gets the cause of its own
            // unblock (EINTR, ETIMEDOUT, EBADF), as QNX's kernel gives it.
            Status::Error(libc::ETIMEDOUT) if call.unblocked => {
                nto::MsgError(rcvid, -1);
            }
            answer => answer.deliver(rcvid),
        }
        self.end_call(call.scoid, &call.remote);
    }

    /// Whether node `node` said its connection `handle` died before we held it (taken
    /// out: it is asked once). Under the outgoing table's lock.
    fn gone_early(&self, node: &str, handle: u64) -> bool {
        let mut early = self.early_gone.lock().unwrap();
        let at = early.iter().position(|(n, h)| n == node && *h == handle);
        at.and_then(|i| early.remove(i)).is_some()
    }

    /// Ends local connection `scoid` as a connection to a destroyed channel ends; the
    /// scoid is free at once (no disconnect pulse follows), and its last rcvid with it.
    fn cut(&self, scoid: i32) {
        self.rcvids.lock().unwrap().remove(&scoid);
        let _ = kserver::sever(scoid);
    }

    /// The liveliness subscriber's news: node `name` is there, or gone.
    fn on_liveliness(&self, name: &str, alive: bool) {
        if alive {
            self.lives.lock().unwrap().live(name);
            return;
        }
        let Some(life) = self.lives.lock().unwrap().alive.remove(name) else {
            return;
        };
        self.departures.send_modify(|n| *n += 1);
        self.announced.lock().unwrap().remove(name);
        self.posts.forget(name);
        // Forwarded calls wait on no thread (see `forward`): those to that life fail here.
        let lost: Vec<u64> = {
            let inflight = self.inflight.lock().unwrap();
            let to = inflight.calls.iter().filter(|(_, c)| c.remote.node == name && c.remote.life == life);
            to.map(|(id, _)| *id).collect()
        };
        for id in lost {
            self.finish(id, Status::Error(libc::ESRCH));
        }
        sever(self, |r| r.node == name && r.life == life, true, |_| ());
        node_gone(self, name);
    }

    /// The name subscriber's news: token `key` (`nto/name/<name>/<node>`) came or went.
    /// Another node's announcements are its word only: they are checked, bounded, and only
    /// ever tell whom to ask (that node itself answers who holds the name), and a name held
    /// here is always found here first.
    fn on_name(&self, key: &str, put: bool) {
        let Some((chunk, node)) = key.strip_prefix("nto/name/").and_then(|k| k.split_once('/')) else {
            return;
        };
        if node == self.me || !wire::valid_node(node) {
            return;
        }
        let Some(name) = wire::name_of_chunk(chunk) else { return };
        let mut announced = self.announced.lock().unwrap();
        if !put {
            if let Some(names) = announced.get_mut(node) {
                names.remove(&name);
                if names.is_empty() {
                    announced.remove(node);
                }
            }
            return;
        }
        let total: usize = announced.values().map(HashSet::len).sum();
        let names = announced.entry(node.to_owned()).or_default();
        if names.len() < MAX_NAMES_PER_NODE && total < MAX_NAMES {
            names.insert(name);
        }
    }

    /// The pid and chid of the local server of global name `name`.
    fn global(&self, name: &[u8]) -> Option<(i32, i32)> {
        let globals = self.globals.lock().unwrap();
        globals.values().find(|g| g.name == name).map(|g| (g.pid, g.chid))
    }

    /// `name_open` of global name `name`: who holds it, this node first; the nd, pid and
    /// chid (native order) of the holder.
    async fn find_name(&self, name: &[u8]) -> Status {
        let holder = |nd: u32, pid: i32, chid: i32| {
            let mut at = pid.to_ne_bytes().to_vec();
            at.extend_from_slice(&chid.to_ne_bytes());
            Status::Reply(nd as i64, at)
        };
        if let Some((pid, chid)) = self.global(name) {
            return holder(0, pid, chid);
        }
        let mut nodes: Vec<String> = {
            let announced = self.announced.lock().unwrap();
            announced.iter().filter(|(_, names)| names.contains(name)).map(|(n, _)| n.clone()).collect()
        };
        nodes.sort();
        for node in nodes {
            let Some(life) = self.life_of(&node).await else { continue };
            let mut p = wire::Writer::request(&self.me, 0);
            p.bytes(name);
            let Ok(b) = self.call(&node, life, "name", p.done()).await else { continue };
            let Status::Reply(pid, at) = Status::parse(&b.to_bytes()) else { continue };
            let (Some(chid), Ok(nd)) = (Reader::new(&at).u32(), self.nd_of(&node).await) else { continue };
            return holder(nd, pid as i32, chid as i32);
        }
        Status::Error(libc::ENOENT)
    }

    async fn alive(&self, name: &str) -> bool {
        let Ok(replies) =
            self.session.liveliness().get(format!("nto/alive/{name}")).timeout(Duration::from_secs(1)).await
        else {
            return false;
        };
        replies.recv_async().await.is_ok_and(|r| r.result().is_ok())
    }

    /// A request `op` (what another node answers: an attach, a name, a node's nd) to node
    /// `node` in its life `life`: its reply payload, or the errno of why not (`ESRCH`: that
    /// life of the node is over, or it did not answer within [`REQUEST_PATIENCE`]).
    ///
    /// Zenoh ends a query without reply when the transport to its node closes, but not
    /// always: a query routed while that transport is being closed is added to it after
    /// its pending queries were finalized, and waits for the full timeout. So the query is
    /// not trusted to end: the call also fails as soon as the node's departure is seen
    /// (the liveliness token goes when Zenoh closes the transport: at once when the node's
    /// gateway dies, within the lease when its link is cut). Departures are watched before
    /// the node's life is checked, so one before the check fails the check and one after it
    /// wakes the wait.
    async fn call(&self, node: &str, life: u64, op: &str, payload: Vec<u8>) -> Result<ZBytes, i32> {
        let asked = self.ask(node, life, op, payload)?;
        self.answer(node, life, asked).await
    }

    /// The first half of [`Gateway::call`]: the query is on its way when it returns, its
    /// answer is [`Gateway::answer`]'s.
    fn ask(&self, node: &str, life: u64, op: &str, payload: Vec<u8>) -> Result<Asked, i32> {
        let departures = self.departures.subscribe();
        if self.life_now(node) != Some(life) {
            return Err(libc::ESRCH);
        }
        let replies = self
            .session
            .get(format!("nto/{node}/{op}/{}", self.me))
            .payload(payload)
            .consolidation(zenoh::query::ConsolidationMode::None)
            .timeout(REQUEST_PATIENCE)
            .express(true)
            .wait()
            .map_err(|_| libc::EIO)?;
        Ok(Asked { replies, departures })
    }

    /// Posts `op` (what another node does not answer: a call's answer comes back as a post
    /// of its own, see [`forward`]) to node `node` in its life `life`: on its way when it
    /// returns (Zenoh keeps the order of one session's puts to one node, of one priority,
    /// as reliable traffic). A put is one message each way where a query and its reply take
    /// more (about 100 µs less a round trip, measured).
    fn post(&self, node: &str, life: u64, op: &str, payload: Vec<u8>) -> Result<(), i32> {
        if self.life_now(node) != Some(life) {
            return Err(libc::ESRCH);
        }
        self.put_post(node, op, payload)
    }

    /// Puts post `op` to node `node` as `nto/<node>/post/<op>/<us>`: the key names who sends
    /// it, which Zenoh's access control can check.
    fn put_post(&self, node: &str, op: &str, payload: Vec<u8>) -> Result<(), i32> {
        let key = format!("nto/{node}/post/{op}/{}", self.me);
        self.posts.put(key, || self.life_now(node).is_some(), payload).map_err(|_| libc::EIO)
    }

    /// [`Gateway::post`] in its place on the line toward `node`, taken in receiver turn
    /// `turn` (see [`Receivers`]).
    fn post_in_line(&self, turn: Option<Turn>, node: &str, life: u64, op: &str, payload: Vec<u8>) {
        let line = self.lines.toward(node, life);
        drop(turn);
        let _in_line = line.wait();
        let _ = self.post(node, life, op, payload);
    }

    /// The second half of [`Gateway::call`].
    async fn answer(&self, node: &str, life: u64, asked: Asked) -> Result<ZBytes, i32> {
        let Asked { replies, mut departures } = asked;
        loop {
            tokio::select! {
                reply = replies.recv_async() => {
                    // No reply at all: the node is not (or no longer) there.
                    return match reply.as_ref().map(|r| r.result()) {
                        Ok(Ok(sample)) => Ok(sample.payload().clone()),
                        _ => Err(libc::ESRCH),
                    };
                }
                _ = departures.changed() => {
                    if self.life_now(node) != Some(life) {
                        return Err(libc::ESRCH);
                    }
                }
            }
        }
    }

    /// The node of connection `handle` asks to unblock its call `id` on it (its client
    /// wants to be let go): the thread carrying it here is unblocked as `SIGEV_UNBLOCK`
    /// would; one that came before its call is kept for it a while.
    fn unblock_call(&self, handle: u64, id: u64) {
        let mut calls = self.calls.lock().unwrap();
        let key = (handle, id);
        if let Some(u) = calls.get(&key) {
            u.waker.unblock();
            return;
        }
        calls.retain(|_, u| u.early.is_none_or(|t| t.elapsed() < EARLY_UNBLOCK_KEPT));
        if calls.len() < MAX_EARLY_UNBLOCKS {
            let waker = Waker::new();
            waker.unblock();
            calls.insert(key, Unblocker { waker, early: Some(Instant::now()) });
        }
    }
}

/// The local side: the channel local clients reach by name.
fn serve_local(gw: Arc<Gateway>, rt: tokio::runtime::Handle) {
    // The channel wants disconnect pulses: a closed remote connection is given up on its
    // node too; and it is the death channel: a connection held for a remote node whose
    // server died dies on that node too.
    // It holds clients that ask to be let go (_NTO_CHF_UNBLOCK): their remote calls are
    // unblocked on the serving node, whose answer answers them.
    let chid = nto::ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_COID_DISCONNECT | _NTO_CHF_UNBLOCK);
    let dpp = neutrino::capi::dispatch::dispatch_create_channel(chid, 0);
    // SAFETY: a NUL-terminated name and a dispatch handle of ours.
    let attach = unsafe { neutrino::capi::dispatch::name_attach(dpp, c"neutrino/netmgr".as_ptr(), 0) };
    if chid == -1 || attach.is_null() {
        eprintln!("neutrino-netd: cannot hold the name neutrino/netmgr: {}", std::io::Error::last_os_error());
        std::process::exit(1);
    }
    let pool = Arc::new(Receivers {
        gw,
        rt,
        chid,
        idle: AtomicUsize::new(0),
        threads: AtomicUsize::new(1),
        order: Turnstile::new(1),
    });
    receive(pool);
}

/// The threads that receive from local clients. A remote call is sent on at once and
/// answered from Zenoh's thread (see [`forward`]); requests to the gateway itself may wait
/// on other nodes, so one more thread is started whenever none is left waiting, and a
/// request waiting on a slow node never holds up the others.
///
/// What they received goes to each node in the order they took it off the channel (the
/// library numbers it, see `knet::track_dequeues`), as QNX's kernel and Qnet keep a
/// channel's order: a pulse a client sent before its message, or before its
/// `ConnectDetach`, reaches the remote server first. In that order each takes a place on
/// the line toward its node ([`Lines::toward`]), and hands its post to Zenoh in its turn
/// there: a node that is slow to take what is sent to it holds up nothing sent elsewhere.
struct Receivers {
    gw: Arc<Gateway>,
    rt: tokio::runtime::Handle,
    chid: i32,
    idle: AtomicUsize,
    threads: AtomicUsize,
    order: Arc<Turnstile>,
}

/// Past this many receiving threads, new calls wait for one to come free.
const MAX_RECEIVERS: usize = 256;

fn receive(pool: Arc<Receivers>) {
    let gw = &pool.gw;
    let mut buf = vec![0u8; 64 << 10];
    let mut taken = Vec::new();
    loop {
        let mut info = _msg_info::default();
        pool.idle.fetch_add(1, Ordering::SeqCst);
        // SAFETY: buf is writable for its length; info is a writable _msg_info.
        let rcvid = unsafe { nto::MsgReceive(pool.chid, buf.as_mut_ptr().cast(), buf.len(), &mut info) };
        knet::take_dequeued(&mut taken);
        // What the call took and gave up goes at once; what it returned when handed on.
        let mine = if rcvid == -1 { None } else { taken.pop() };
        taken.iter().for_each(|n| drop(pool.order.wait(*n)));
        let turn = mine.map(|n| pool.order.wait(n));
        if pool.idle.fetch_sub(1, Ordering::SeqCst) == 1
            && pool.threads.fetch_add(1, Ordering::SeqCst) < MAX_RECEIVERS
        {
            let more = pool.clone();
            std::thread::spawn(move || receive(more));
        }
        if rcvid == -1 {
            if errno() == libc::EINTR {
                continue;
            }
            eprintln!("neutrino-netd: MsgReceive: {}", std::io::Error::last_os_error());
            std::process::exit(1);
        }
        if rcvid == 0 {
            // SAFETY: a pulse was received into buf, which is larger and aligned enough.
            let pulse = unsafe { std::ptr::read_unaligned(buf.as_ptr() as *const _pulse) };
            on_pulse(gw, pulse, turn);
            continue;
        }
        let got = (info.msglen as usize).min(buf.len());
        let answer = match gw.begin_call(info.scoid, rcvid) {
            Some(Ok((r, id))) => {
                gw.rcvids.lock().unwrap().insert(info.scoid, rcvid);
                // The post's payload is built in place: header, then the message read
                // straight after it.
                let mut p = wire::Writer::request(&gw.me, r.handle);
                p.u64(id);
                p.u32(info.dstmsglen.max(0) as u32);
                p.u32(info.tid as u32);
                p.bytes(&buf[..got]);
                let mut payload = p.done();
                let line = gw.lines.toward(&r.node, r.life);
                drop(turn);
                let in_line = line.wait();
                match read_rest(rcvid, &mut payload, got, info.srcmsglen as usize) {
                    Ok(()) => forward(gw, id, &r, payload),
                    Err(e) => gw.finish(id, Status::Error(e)),
                }
                drop(in_line);
                continue;
            }
            Some(Err(e)) => Status::Error(e),
            // A request to us (attach, netmgr, names): its client waits for our answer
            // before it sends anything else on the connection.
            None => {
                // Known before the turn goes: an unblock pulse that came after it finds it.
                let asking = Arc::new(Asking::new(info.scoid, rcvid));
                gw.asking.lock().unwrap().insert(rcvid, asking.clone());
                drop(turn);
                let mut msg = buf[..got].to_vec();
                if let Err(e) = read_rest(rcvid, &mut msg, got, info.srcmsglen as usize) {
                    gw.asking.lock().unwrap().remove(&rcvid);
                    Status::Error(e).deliver(rcvid);
                    continue;
                }
                let answer = pool.rt.block_on(async {
                    let request = local_request(gw, &info, &msg, &asking);
                    tokio::pin!(request);
                    let done = tokio::select! {
                        s = &mut request => Some(s),
                        _ = asking.stopped() => None,
                    };
                    if !asking.is_let_go() {
                        return done;
                    }
                    // Let go: the client has its own cause (EINTR, ETIMEDOUT) now, and the
                    // request goes on to its end here, leaving nothing behind.
                    nto::MsgError(rcvid, -1);
                    if done.is_none() {
                        request.await;
                    }
                    None
                });
                gw.asking.lock().unwrap().remove(&rcvid);
                match answer {
                    Some(answer) => answer,
                    None => continue,
                }
            }
        };
        answer.deliver(rcvid);
    }
}

/// Sends call `id` to node `r.node`, and returns: the serving node posts its answer back
/// (op `answer`), and Zenoh's own thread replies to the client as it arrives (a
/// hand-off to a waiting thread would cost a wake-up; see [`Gateway::on_answer`]). A call
/// that could not be sent fails here, and its node's departure answers it (see
/// [`Gateway::on_liveliness`]): the call was in `inflight` before its node's life is checked
/// here, so a departure either fails the check or finds it.
fn forward(gw: &Gateway, id: u64, r: &Remote, payload: Vec<u8>) {
    if let Err(e) = gw.post(&r.node, r.life, "send", payload) {
        gw.finish(id, Status::Error(e));
    }
}

/// Appends the part of message `rcvid` past offset `got` (of `total` bytes) to `out`;
/// `EOVERFLOW` for one larger than [`MAX_MESSAGE`].
fn read_rest(rcvid: i64, out: &mut Vec<u8>, got: usize, total: usize) -> Result<(), i32> {
    if total > MAX_MESSAGE {
        return Err(libc::EOVERFLOW);
    }
    if total <= got {
        return Ok(());
    }
    let (at, want) = (out.len(), total - got);
    // Read into spare capacity: a long message is not zeroed first.
    out.reserve(want);
    // SAFETY: out has `want` bytes of capacity past `at`.
    let n = unsafe { nto::MsgRead(rcvid, out.as_mut_ptr().add(at).cast(), want, got) };
    if n < 0 {
        return Err(errno());
    }
    // SAFETY: MsgRead wrote n bytes (at most `want`) from `at`.
    unsafe { out.set_len(at + (n as usize).min(want)) };
    Ok(())
}

/// The local client of the message `info` tells of, as the server that attaches for it on
/// node `nd` is to be shown it: its pid and credentials as our library knows them (from the
/// kernel, when it attached to us), and `nd`, by which this node names that one.
fn local_client(info: &_msg_info, nd: u32) -> Option<Behalf> {
    let mut ci = _client_info::default();
    let mut groups = [0; BEHALF_GROUPS];
    kserver::client_info(info.scoid, &mut ci, &mut groups).ok()?;
    let c = ci.cred;
    Some(Behalf {
        nd: 0,
        srcnd: nd,
        pid: info.pid,
        uids: [c.ruid, c.euid, c.suid],
        gids: [c.rgid, c.egid, c.sgid],
        ngroups: c.ngroups.min(BEHALF_GROUPS as u32),
        groups,
    })
}

/// A request on a connection that is not (yet) a remote one: attach, netmgr or a global
/// name.
async fn local_request(gw: &Gateway, info: &_msg_info, msg: &[u8], asking: &Asking) -> Status {
    let scoid = info.scoid;
    let Some(req) = NetReq::parse(msg) else {
        return Status::Error(libc::ENOSYS);
    };
    let extra = &msg[std::mem::size_of::<NetReq>()..];
    match req.op {
        knet::NET_ATTACH => {
            // A gateway not run as root presents its remote clients as its own user: it
            // speaks for that user (and root) only.
            // SAFETY: plain syscall.
            if unsafe { libc::geteuid() } != 0 && !acts_as_me(scoid) {
                return Status::Error(libc::EPERM);
            }
            let Some(node) = gw.name_of(req.nd) else {
                return Status::Error(libc::ESRCH);
            };
            if node == gw.me {
                return Status::Error(libc::EINVAL);
            }
            let Some(life) = gw.life_of(&node).await else {
                return Status::Error(libc::ESRCH);
            };
            let Some(client) = local_client(info, req.nd) else {
                return Status::Error(libc::ESRCH);
            };
            let mut p = wire::Writer::request(&gw.me, 0);
            p.u32(req.pid as u32);
            p.u32(req.chid as u32);
            wire::put_behalf(&mut p, &client);
            match gw.call(&node, life, "attach", p.done()).await.map(|b| Status::parse(&b.to_bytes())) {
                Ok(Status::Reply(handle, _)) => {
                    let remote = Remote { node: node.clone(), life, handle: handle as u64 };
                    let held = {
                        let mut outgoing = gw.outgoing.lock().unwrap();
                        // The node, or the server, went before the connection was there to
                        // be severed: the attach fails, as one that came after the channel's
                        // end.
                        if gw.life_now(&node) != Some(life) || gw.gone_early(&node, handle as u64) {
                            return Status::Error(libc::ESRCH);
                        }
                        // One connection stands for one remote connection: a second attach
                        // on it (sent at once with the first) is refused.
                        !outgoing.contains_key(&scoid)
                            && asking.commit(|| {
                                drop(outgoing.insert(scoid, Outgoing { remote, calls: 0, gone: false }))
                            })
                    };
                    if !held {
                        // Its client was let go or is gone: so is the connection made there.
                        let detach = wire::Writer::request(&gw.me, handle as u64).done();
                        let _ = gw.post(&node, life, "detach", detach);
                        return Status::Error(libc::ESRCH);
                    }
                    Status::Reply(0, Vec::new())
                }
                Ok(s) => s,
                Err(e) => Status::Error(e),
            }
        }
        knet::NET_STRTOND => {
            let end = extra.iter().position(|b| *b == b'/').unwrap_or(extra.len());
            let Ok(name) = std::str::from_utf8(&extra[..end]) else {
                return Status::Error(libc::EINVAL);
            };
            match gw.nd_of(name).await {
                Ok(nd) => Status::Reply(nd as i64, (end as u32).to_ne_bytes().to_vec()),
                Err(e) => Status::Error(e),
            }
        }
        knet::NET_NDTOSTR => match gw.name_of(req.nd) {
            Some(name) => {
                let s = wire::ndtostr(req.flags, &name);
                Status::Reply(s.len() as i64 + 1, s)
            }
            None => Status::Error(libc::EINVAL),
        },
        knet::NET_REMOTE_ND => {
            // How node `nd` names the node we call `pid` (local_nd).
            let (Some(at), Some(of)) = (gw.name_of(req.nd), gw.name_of(req.pid as u32)) else {
                return Status::Error(libc::EINVAL);
            };
            let Some(life) = gw.life_of(&at).await else {
                return Status::Error(libc::ESRCH);
            };
            let mut p = wire::Writer::request(&gw.me, 0);
            p.bytes(of.as_bytes());
            match gw.call(&at, life, "strtond", p.done()).await {
                Ok(b) => Status::parse(&b.to_bytes()),
                Err(e) => Status::Error(e),
            }
        }
        knet::NET_NAME_ATTACH => {
            if !wire::valid_name(extra) {
                return Status::Error(libc::EINVAL);
            }
            // Every node is told of it, so not every local user may: root and the
            // gateway's own user only.
            if !acts_as_me(scoid) {
                return Status::Error(libc::EPERM);
            }
            {
                // Claimed before the token is declared: one holder of a name per node.
                let mut globals = gw.globals.lock().unwrap();
                if globals.contains_key(&scoid) || globals.values().any(|g| g.name == extra) {
                    return Status::Error(libc::EEXIST);
                }
                let g = Global { name: extra.to_vec(), pid: info.pid, chid: req.chid, token: None };
                globals.insert(scoid, g);
            }
            let key = format!("nto/name/{}/{}", wire::name_chunk(extra), gw.me);
            let Ok(token) = gw.session.liveliness().declare_token(key).await else {
                gw.globals.lock().unwrap().remove(&scoid);
                return Status::Error(libc::EIO);
            };
            let mut globals = gw.globals.lock().unwrap();
            let mut token = Some(token);
            let committed = asking.commit(|| {
                if let Some(g) = globals.get_mut(&scoid) {
                    g.token = token.take();
                }
            });
            if !committed {
                // Its client was let go or is gone: so is its claim, if still there.
                let ours = |g: &Global| g.token.is_none() && g.name == extra && g.pid == info.pid;
                if globals.get(&scoid).is_some_and(ours) {
                    globals.remove(&scoid);
                }
            }
            // Not committed, or the server went meanwhile: the token goes (dropped here).
            match token {
                None => Status::Reply(0, Vec::new()),
                Some(_) => Status::Error(libc::ESRCH),
            }
        }
        knet::NET_NAME_OPEN => gw.find_name(extra).await,
        _ => Status::Error(libc::ENOSYS),
    }
}

/// Whether the local client behind `scoid` runs as root or as this gateway's user (its
/// credentials as the kernel gave them when it connected).
fn acts_as_me(scoid: i32) -> bool {
    let mut info = _client_info::default();
    // SAFETY: plain syscall.
    let me = unsafe { libc::geteuid() };
    kserver::client_info(scoid, &mut info, &mut []).is_ok_and(|_| info.cred.euid == 0 || info.cred.euid == me)
}

/// A pulse for us, received in turn `turn` (see [`Receivers`]); no answer is awaited.
fn on_pulse(gw: &Gateway, pulse: _pulse, turn: Option<Turn>) {
    // The kernel's (scoid -1), not a client's.
    if pulse.code == PULSE_CODE_COIDDEATH && pulse.scoid == -1 {
        coid_died(gw, pulse.value.sival_ptr as usize as u32 as i32, turn);
        return;
    }
    if pulse.code == PULSE_CODE_UNBLOCK {
        // It names a call already on its way: it keeps no order.
        drop(turn);
        unblock(gw, pulse.scoid, pulse.value.sival_ptr as usize as i64);
        return;
    }
    // A global name's server let it go (or died): it is withdrawn, once the turn is over
    // (withdrawing its token may wait on the network).
    let mut withdrawn = None;
    let remote = if pulse.code == PULSE_CODE_DISCONNECT {
        withdrawn = gw.globals.lock().unwrap().remove(&pulse.scoid);
        gw.rcvids.lock().unwrap().remove(&pulse.scoid);
        let gone = gw.outgoing.lock().unwrap().remove(&pulse.scoid);
        // The scoid is free for a new connection.
        let _ = nto::ConnectDetach(pulse.scoid);
        gone.map(|o| o.remote)
    } else {
        gw.outgoing.lock().unwrap().get(&pulse.scoid).map(|o| o.remote.clone())
    };
    let Some(r) = remote else {
        drop(turn);
        drop(withdrawn);
        return;
    };
    // The pulse's value as the int MsgSendPulse gave.
    let value = pulse.value.sival_ptr as usize as u32;
    let mut p = wire::Writer::request(&gw.me, r.handle);
    let op = if pulse.code == PULSE_CODE_DISCONNECT {
        "detach"
    } else {
        p.u32(pulse.code as u8 as u32);
        p.u32(value);
        "pulse"
    };
    gw.post_in_line(turn, &r.node, r.life, op, p.done());
    drop(withdrawn);
}

/// A local client asks to be let go from its call `rcvid` on connection `scoid` (a signal,
/// a timeout, a detach of its coid): if the call was forwarded and is not answered yet,
/// its serving node is asked (once) to unblock it there, and its answer, whatever it is,
/// answers the client; a request to us lets it go (see [`Asking`]).
fn unblock(gw: &Gateway, scoid: i32, rcvid: i64) {
    let (r, id) = {
        let mut inflight = gw.inflight.lock().unwrap();
        // A client's own pulse with that code names only its own calls.
        let Some((id, c)) = inflight.of_rcvid(rcvid).filter(|(_, c)| c.scoid == scoid && !c.unblocked) else {
            drop(inflight);
            // A request to us is let go at once.
            if let Some(a) = gw.asking.lock().unwrap().get(&rcvid).filter(|a| a.scoid == scoid) {
                a.let_go();
            }
            return;
        };
        c.unblocked = true;
        (c.remote.clone(), id)
    };
    let mut p = wire::Writer::request(&gw.me, r.handle);
    p.u64(id);
    let _ = gw.post(&r.node, r.life, "unblock", p.done());
}

/// Our connection `coid` to a local server died with the server: if we held it for a remote
/// node, that node's connection dies too.
fn coid_died(gw: &Gateway, coid: i32, turn: Option<Turn>) {
    // The news may be older than the coid: detached since, and now another connection's.
    if !kclient::is_dead(coid) {
        return;
    }
    let held = {
        let mut incoming = gw.incoming.lock().unwrap();
        let held = incoming.iter_mut().find(|(_, c)| c.coid == coid && !c.dead);
        let Some((&handle, c)) = held else { return };
        c.dead = true;
        let origin = c.origin.clone();
        if c.calls == 0 {
            incoming.remove(&handle);
            let _ = nto::ConnectDetach(coid);
        }
        (handle, origin)
    };
    let (handle, origin) = held;
    let Some(life) = gw.life_now(&origin) else { return };
    let p = wire::Writer::request(&gw.me, handle);
    gw.post_in_line(turn, &origin, life, "gone", p.done());
}

/// Ends our clients' connections that `dead` picks, as connections to a destroyed channel
/// end: at once, or (`at_once` false: their server went, the news may overtake the answers
/// to their calls) once the calls on them have their answers.
/// Returns how many it picked; `then` runs with the outgoing table still locked.
fn sever(gw: &Gateway, dead: impl Fn(&Remote) -> bool, at_once: bool, then: impl FnOnce(usize)) {
    let mut severed = Vec::new();
    let mut picked = 0;
    let mut outgoing = gw.outgoing.lock().unwrap();
    outgoing.retain(|scoid, o| {
        if !dead(&o.remote) {
            return true;
        }
        picked += 1;
        if at_once || o.calls == 0 {
            severed.push(*scoid);
            return false;
        }
        o.gone = true;
        true
    });
    // Under the lock: a message that finds its connection no longer a remote one finds it
    // dead too (our answer reaches no one), never taken for a request to us (ENOSYS).
    for scoid in severed {
        gw.cut(scoid);
    }
    then(picked);
}

/// The remote side: a query from another node's gateway, which waits for its answer (an
/// attach, a global name's holder, a node's nd). Each gets a thread of its own (an attach
/// may wait for its server's process), at most so many at once.
fn on_query(gw: &Arc<Gateway>, query: zenoh::query::Query) {
    // `nto/<us>/<op>/<sender>`: the key names who asks, which Zenoh's access control can
    // check, and the payload must agree.
    let mut chunks = query.key_expr().as_str().rsplit('/').map(str::to_owned);
    let (origin, op) = (chunks.next().unwrap_or_default(), chunks.next().unwrap_or_default());
    let payload = query.payload().cloned().unwrap_or_default();
    let answer = Answer::Query(query);
    if !matches!(op.as_str(), "attach" | "name" | "strtond") {
        return answer.give(gw, Status::Error(libc::ENOSYS));
    }
    // None of these is long: one that is holds nothing here.
    if !wire::valid_node(&origin)
        || payload.len() > MAX_REQUEST
        || Reader::new(&payload.to_bytes()).str() != Some(origin.as_str())
    {
        return answer.give(gw, Status::Error(libc::EINVAL));
    }
    if let Some(place) = gw.budget.request_now() {
        return spawn_request(gw, op, payload, answer, None, Some(place));
    }
    let gw = gw.clone();
    gw.rt.clone().spawn(async move {
        match gw.budget.request().await {
            Ok(place) => spawn_request(&gw, op, payload, answer, None, Some(place)),
            Err(e) => answer.give(&gw, Status::Error(e)),
        }
    });
}

/// The remote side: what another node's gateway posts (see [`Gateway::post`]), which
/// awaits no answer but a call's. Each gets a thread of its own (calls into local servers
/// block). What keeps its order (see [`LineKey`]) also waits for its node's share (see
/// [`budget`]): the node decides how much of it comes.
fn on_post(gw: &Arc<Gateway>, op: &str, origin: &str, payload: ZBytes) {
    if !wire::valid_node(origin) {
        return;
    }
    let head = head_of(&payload);
    let mut r = Reader::new(&head);
    // The key names who sent it: the payload must agree.
    let (Some(node), handle) = (r.str().filter(|n| *n == origin).map(str::to_owned), r.u64()) else {
        return;
    };
    if op == "answer" {
        if let (Some(handle), Some(id)) = (handle, r.u64()) {
            let at = head.len() - r.rest().len();
            gw.on_answer(&node, handle, id, || Status::parse(&payload.to_bytes()[at..]));
        }
        return;
    }
    let kind = match op {
        "send" | "pulse" | "detach" => LineKind::Served,
        "event" => LineKind::Events,
        // None of these is long: one that is holds nothing here.
        _ if payload.len() > MAX_REQUEST => return,
        "unblock" | "gone" => {
            return spawn_request::<()>(gw, op.to_owned(), payload, Answer::None, None, None)
        }
        _ => return,
    };
    let (answer, reply) = match (op, handle, r.u64(), r.u32()) {
        ("send", Some(handle), Some(id), Some(reply)) => {
            (Answer::call(&node, handle, id), (reply as usize).min(MAX_REPLY))
        }
        _ => (Answer::None, 0),
    };
    // A detach is never refused: the connection would stay (bounded by the connections a
    // node may hold).
    let queued = match gw.budget.queue(&node, payload.len(), op != "detach") {
        Ok(queued) => queued,
        // Refused as it came: it takes no place on its line.
        Err(e) => return answer.give(gw, Status::Error(e)),
    };
    // Zenoh gives us a node's posts in the order it sent them: a connection's line number
    // is taken here, in that order.
    let line = handle.map(|id| gw.lines.ticket(LineKey { node, id, kind }));
    let op = op.to_owned();
    // In its turn, and only then, a request takes its place in its node's share: requests
    // waiting for their turn hold no place another needs.
    let (line, queued) = match line.map(Ticket::now).transpose() {
        Ok(turn) => match queued.admit_now(reply) {
            Ok(place) => return spawn_request(gw, op, payload, answer, turn, Some(place)),
            Err(queued) => (Ok(turn), queued),
        },
        Err(later) => (Err(later), queued),
    };
    let gw = gw.clone();
    gw.rt.clone().spawn(async move {
        let turn = match line {
            Ok(turn) => turn,
            Err(later) => Some(later.wait_async().await),
        };
        let place = queued.admit(reply).await;
        spawn_request(&gw, op, payload, answer, turn, Some(place));
    });
}

/// The header of a post (a node name, a handle, and a call's id, reply size and thread):
/// a long message is not copied.
fn head_of(payload: &ZBytes) -> Vec<u8> {
    let mut head = Vec::with_capacity(1 + 255 + 8 + 8 + 4 + 4);
    let _ = payload.reader().take(head.capacity() as u64).read_to_end(&mut head);
    head
}

/// Where the outcome of another node's request goes.
enum Answer {
    /// The reply to its query.
    Query(zenoh::query::Query),
    /// A call's answer, posted to the node that made it (op `answer`), naming the
    /// connection's handle and the call's id as that node gave them.
    Call { node: String, handle: u64, id: u64 },
    /// Nobody: the node awaits no answer (or named itself so that none can reach it).
    None,
}

impl Answer {
    fn call(node: &str, handle: u64, id: u64) -> Answer {
        match wire::valid_node(node) {
            true => Answer::Call { node: node.to_owned(), handle, id },
            false => Answer::None,
        }
    }

    fn give(self, gw: &Gateway, status: Status) {
        match self {
            Answer::Query(q) => drop(q.reply(q.key_expr().clone(), status.encode()).express(true).wait()),
            Answer::Call { node, handle, id } => {
                let mut p = wire::Writer::request(&gw.me, handle);
                p.u64(id);
                let _ = gw.put_post(&node, "answer", status.encode_after(p.done()));
            }
            Answer::None => {}
        }
    }
}

/// Carries out request `op` on a thread of its own (calls into local servers block), in
/// its `turn` on its line if it has one, holding its `place` in the budget, and gives its
/// outcome to `answer`.
fn spawn_request<P: Send + 'static>(
    gw: &Arc<Gateway>,
    op: String,
    payload: ZBytes,
    answer: Answer,
    turn: Option<Turn>,
    place: Option<P>,
) {
    let gw = gw.clone();
    gw.rt.clone().spawn_blocking(move || {
        let status = remote_request(&gw, &op, &payload, turn);
        answer.give(&gw, status);
        drop(place);
    });
}

/// A request of node `origin` about its connection `handle`; `turn` (sends, pulses,
/// detaches and events, see [`LineKey`]) is held until what it asks is in line at
/// the local server or client: a send's message queued at its server, a pulse sent, an
/// event delivered.
fn remote_request(gw: &Arc<Gateway>, op: &str, payload: &ZBytes, turn: Option<Turn>) -> Status {
    // A call's message is sent from where Zenoh holds it (see `forward_send`); anything
    // else is short, and read whole.
    let bytes = match op {
        "send" => Cow::Owned(head_of(payload)),
        _ => payload.to_bytes(),
    };
    let mut r = Reader::new(&bytes);
    let (Some(origin), Some(handle)) = (r.str(), r.u64()) else {
        return Status::Error(libc::EINVAL);
    };
    if op == "attach" {
        let (Some(pid), Some(chid), Some(mut client)) = (r.u32(), r.u32(), r.behalf()) else {
            return Status::Error(libc::EINVAL);
        };
        // The server is shown the remote client: by the nd this node names its node by,
        // with the credentials this gateway may present (see `Users::present`).
        client.nd = match tokio::runtime::Handle::current().block_on(gw.nd_of(origin)) {
            Ok(nd) => nd,
            Err(e) => return Status::Error(e),
        };
        gw.users.present(&mut client);
        let c = match kclient::attach_for(pid as i32, chid as i32, 0, &client) {
            Ok(c) => c,
            Err(e) => return Status::Error(e.0),
        };
        return match gw.hold(origin, c) {
            Ok(handle) => Status::Reply(handle as i64, Vec::new()),
            Err(e) => {
                let _ = nto::ConnectDetach(c);
                Status::Error(e)
            }
        };
    }
    if op == "gone" {
        // Node `origin`'s connection `handle` died with its server: so do ours to it, once
        // the calls on them have their answers. None yet: its attach's answer is still on
        // its way here, and the attach will fail (see `Gateway::gone_early`).
        let life = gw.life_now(origin);
        let dead = |r: &Remote| r.node == origin && Some(r.life) == life && r.handle == handle;
        sever(gw, dead, false, |picked| {
            if picked == 0 {
                let mut early = gw.early_gone.lock().unwrap();
                if early.len() >= MAX_EARLY_GONE {
                    early.pop_front();
                }
                early.push_back((origin.to_owned(), handle));
            }
        });
        return Status::Reply(0, Vec::new());
    }
    if op == "name" {
        // Who holds global name `name` here: the pid, and the chid (u32) as the reply.
        return match gw.global(r.rest()) {
            Some((pid, chid)) => Status::Reply(pid as i64, (chid as u32).to_le_bytes().to_vec()),
            None => Status::Error(libc::ENOENT),
        };
    }
    if op == "event" {
        // An event for the client of our connection to node `origin` it knows as `handle`.
        let (Some(tid), Some(words)) = (r.u32(), r.event()) else { return Status::Error(libc::EINVAL) };
        return match deliver_event(gw, origin, handle, tid as i32, &RawEvent::from_words(words)) {
            Ok(()) => Status::Reply(0, Vec::new()),
            Err(e) => Status::Error(e.0),
        };
    }
    if op == "strtond" {
        let name = std::str::from_utf8(r.rest()).unwrap_or("");
        let rt = tokio::runtime::Handle::current();
        return match rt.block_on(gw.nd_of(name)) {
            Ok(nd) => Status::Reply(nd as i64, Vec::new()),
            Err(e) => Status::Error(e),
        };
    }
    // Only the node that made a connection may use it. One that ended here ended with its
    // server (its node did not know yet: a message that waited for its turn on the client's
    // node, as a SEND-blocked one does) or for its node, which no longer waits for answers.
    let coid = match gw.incoming.lock().unwrap().get_mut(&handle) {
        Some(c) if c.origin == origin && !c.dead => {
            // Until it is done with the coid, which stays ours (see `end_serving`).
            c.calls += usize::from(op == "send" || op == "pulse");
            c.coid
        }
        Some(c) if c.origin != origin => return Status::Error(libc::EBADF),
        _ => return Status::Error(libc::ESRCH),
    };
    match op {
        "send" => {
            let status = forward_send(gw, handle, coid, &mut r, payload, bytes.len(), turn);
            gw.end_serving(handle);
            status
        }
        "unblock" => {
            let Some(id) = r.u64() else { return Status::Error(libc::EINVAL) };
            gw.unblock_call(handle, id);
            Status::Reply(0, Vec::new())
        }
        "pulse" => {
            let status = match (r.u32(), r.u32()) {
                (Some(code), Some(value)) => {
                    match nto::MsgSendPulse(coid, -1, code as u8 as i8 as i32, value as i32) {
                        -1 => Status::Error(errno()),
                        _ => Status::Reply(0, Vec::new()),
                    }
                }
                _ => Status::Error(libc::EINVAL),
            };
            gw.end_serving(handle);
            status
        }
        "detach" => {
            gw.incoming.lock().unwrap().remove(&handle);
            let _ = nto::ConnectDetach(coid);
            Status::Reply(0, Vec::new())
        }
        _ => Status::Error(libc::ENOSYS),
    }
}

/// Call `handle`'s next `send` on our connection `coid` for it, in `turn` on the
/// connection's line, which goes once the message is queued at the server: `r` reads the
/// first `head` bytes of `payload`, the message is what follows its fields.
fn forward_send(
    gw: &Gateway,
    handle: u64,
    coid: i32,
    r: &mut Reader,
    payload: &ZBytes,
    head: usize,
    turn: Option<Turn>,
) -> Status {
    let (Some(id), Some(rlen), Some(tid)) = (r.u64(), r.u32(), r.u32()) else {
        return Status::Error(libc::EINVAL);
    };
    // Straight from Zenoh's buffers (a long message comes in fragments): no copy here.
    let mut skip = head - r.rest().len();
    let smsg: Vec<Seg> = payload
        .slices()
        .filter_map(|s| {
            let part = s.get(skip..).unwrap_or_default();
            skip = skip.saturating_sub(s.len());
            (!part.is_empty()).then_some(Seg { base: part.as_ptr() as usize, len: part.len() })
        })
        .collect();
    let mut reply = vec![0u8; (rlen as usize).min(MAX_REPLY)];
    let key = (handle, id);
    let waker = gw
        .calls
        .lock()
        .unwrap()
        .entry(key)
        .or_insert_with(|| Unblocker { waker: Waker::new(), early: None })
        .waker
        .clone();
    let rmsg = [Seg { base: reply.as_mut_ptr() as usize, len: reply.len() }];
    // The waker unblocks the call as SIGEV_UNBLOCK would (ETIMEDOUT, or an
    // _NTO_CHF_UNBLOCK server's _PULSE_CODE_UNBLOCK), even before it began; the
    // server sees the remote client's thread as the sender. What came after the
    // message goes once it is queued at the server.
    let send = || kclient::as_thread(tid as i32, || kclient::send_with(coid, &smsg, &rmsg, waker));
    let status = kclient::when_posted(move || drop(turn), send);
    gw.calls.lock().unwrap().remove(&key);
    match status {
        Ok(status) => {
            // Only what the server wrote: the client keeps the rest of its buffer.
            reply.truncate((knet::reply_extent() as usize).min(reply.len()));
            Status::Reply(status, reply)
        }
        // The coid is held while calls are on it: it is dead, its server gone before the
        // news reached us (a message that waited for its turn on the client's node).
        Err(Errno::EBADF) => Status::Error(libc::ESRCH),
        Err(e) => Status::Error(e.0),
    }
}

/// The gateway [`on_event`] works with (the library's hook is a plain fn).
static HOOKED: OnceLock<Arc<Gateway>> = OnceLock::new();

/// The library's event hook (see `knet::set_event_hook`): an event a local server delivers
/// on a connection we hold for a remote node goes to that node. It runs on the library's
/// service thread, so it only checks what can be checked here and sends the event on: as
/// QNX's kernel hands a remote client's event to Qnet, the server is not told what the
/// client's node made of it.
fn on_event(coid: i32, ev: &RawEvent, tid: Option<i32>, verify: bool) -> Option<KResult<()>> {
    let gw = HOOKED.get()?;
    let (handle, origin) = {
        let incoming = gw.incoming.lock().unwrap();
        let mut held = incoming.iter();
        // The gateway holds server connections only for remote clients: one no longer held
        // (ending as the event came) is never taken for its own, whose events it would
        // carry out on itself (a signal's default action ends it).
        let held = held.find(|(_, c)| c.coid == coid && !c.dead).map(|(h, c)| (*h, c.origin.clone()));
        match held {
            Some(held) => held,
            None => return Some(Err(Errno::ESRCH)),
        }
    };
    match ev.kind() {
        Err(e) => return Some(Err(e)),
        Ok(Kind::Intr) => return Some(Err(Errno::ENOSYS)),
        Ok(_) => {}
    }
    let Some(life) = gw.life_now(&origin) else { return Some(Err(Errno::ESRCH)) };
    if verify {
        return Some(Ok(()));
    }
    // On its way before the server's next event, which goes after it (see `LineKey`).
    // The client's thread the rcvid names (as the client's node gave it with the message;
    // 0: none, the slot was used again): thread-directed events are for it.
    let mut p = wire::Writer::request(&gw.me, handle);
    p.u32(tid.unwrap_or(0) as u32);
    p.event(ev.to_words());
    let _ = gw.post(&origin, life, "event", p.done());
    Some(Ok(()))
}

/// Node `origin` delivers `ev` on its connection `handle` that our scoid stands for: to our
/// local client, as that connection's server, by the rcvid of the client's last message;
/// for its thread `tid`, which the server's rcvid named (0: the last message's). Only the
/// node a connection was made to reaches it, and the library checks the event as for any
/// server (a thread that never sent on the connection is `ESRCH`).
fn deliver_event(gw: &Gateway, origin: &str, handle: u64, tid: i32, ev: &RawEvent) -> Result<(), Errno> {
    let life = gw.life_now(origin);
    let scoid = {
        let outgoing = gw.outgoing.lock().unwrap();
        let mut ours = outgoing.iter();
        let mine = |r: &Remote| r.node == origin && Some(r.life) == life && r.handle == handle;
        ours.find(|(_, o)| mine(&o.remote)).map(|(s, _)| *s)
    };
    let rcvid = scoid.and_then(|s| gw.rcvids.lock().unwrap().get(&s).copied()).ok_or(Errno::ESRCH)?;
    match tid {
        0 => neutrino::kernel::notify::deliver(rcvid, ev, false),
        tid => neutrino::kernel::notify::deliver_to(rcvid, tid, ev),
    }
}

/// A node that left: the connections it made here end (their servers get
/// `_PULSE_CODE_DISCONNECT`); ours to it ended with its life (see [`Remote::life`]).
fn node_gone(gw: &Gateway, node: &str) {
    let mut incoming = gw.incoming.lock().unwrap();
    incoming.retain(|_, c| {
        if c.origin == node {
            let _ = nto::ConnectDetach(c.coid);
            false
        } else {
            true
        }
    });
}

struct Options {
    name: String,
    listen: Vec<String>,
    connect: Vec<String>,
    scout: bool,
    config: Option<String>,
    as_root: bool,
    lease_ms: Option<u64>,
    users: Users,
}

fn options() -> Options {
    let mut o = Options {
        name: String::new(),
        listen: Vec::new(),
        connect: Vec::new(),
        scout: true,
        config: None,
        as_root: false,
        lease_ms: None,
        users: Users::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next().unwrap_or_else(|| {
                eprintln!("neutrino-netd: {a} needs a value");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "-n" => o.name = value(),
            "-l" => o.listen.push(value()),
            "-c" => o.connect.push(value()),
            "-C" => o.config = Some(value()),
            "--no-scout" => o.scout = false,
            "--as-root" => o.as_root = true,
            "--mapany" => o.users.any = Some(user_arg(&a, &value())),
            "--maproot" => o.users.root = Some(user_arg(&a, &value())),
            "--lease" => match value().parse() {
                Ok(ms) if ms > 0 => o.lease_ms = Some(ms),
                _ => {
                    eprintln!("neutrino-netd: --lease takes a number of milliseconds");
                    std::process::exit(2)
                }
            },
            _ => {
                eprintln!(
                    "usage: neutrino-netd [-n NODE] [-l ENDPOINT]... [-c ENDPOINT]... [--no-scout] [--lease MS] [-C ZENOH_CONFIG] [--as-root [--mapany UID[:GID]] [--maproot UID[:GID]]]"
                );
                std::process::exit(2)
            }
        }
    }
    // As root, the gateway passes remote users through (remote root acts as root here, as
    // with Qnet): only when asked to. Any other gateway presents them as its own user.
    // SAFETY: plain syscall.
    let root = unsafe { libc::geteuid() } == 0;
    if root && !o.as_root {
        eprintln!("neutrino-netd: refusing to run as root (remote clients would act here as the users they are, root included); run it as an unprivileged user (remote clients then act as that user), or pass --as-root (with --maproot or --mapany to map remote users)");
        std::process::exit(2)
    }
    if !root && (o.users.any.is_some() || o.users.root.is_some()) {
        eprintln!("neutrino-netd: --mapany and --maproot need a gateway running as root (any other presents remote clients as its own user)");
        std::process::exit(2)
    }
    if o.name.is_empty() {
        o.name = String::from_utf8_lossy(&knet::local_ndtostr(knet::ND2S_NAME_SHOW | knet::ND2S_DOMAIN_HIDE))
            .into_owned();
    }
    if !wire::valid_node(&o.name) {
        eprintln!("neutrino-netd: {:?} is not a usable node name", o.name);
        std::process::exit(2)
    }
    o
}

fn config(o: &Options) -> zenoh::Config {
    let mut c = match &o.config {
        Some(f) => zenoh::Config::from_file(f).unwrap_or_else(|e| {
            eprintln!("neutrino-netd: {f}: {e}");
            std::process::exit(2)
        }),
        None => zenoh::Config::default(),
    };
    let set = |c: &mut zenoh::Config, k: &str, v: String| {
        if let Err(e) = c.insert_json5(k, &v) {
            eprintln!("neutrino-netd: {k}: {e}");
            std::process::exit(2)
        }
    };
    set(&mut c, "mode", r#""peer""#.into());
    let list =
        |v: &[String]| format!("[{}]", v.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>().join(","));
    if !o.listen.is_empty() {
        set(&mut c, "listen/endpoints", list(&o.listen));
    }
    if !o.connect.is_empty() {
        set(&mut c, "connect/endpoints", list(&o.connect));
    }
    if !o.scout {
        set(&mut c, "scouting/multicast/enabled", "false".into());
    }
    // A request or reply is at most a message and a header.
    set(&mut c, "transport/link/rx/max_message_size", (MAX_MESSAGE.max(MAX_REPLY) + (64 << 10)).to_string());
    if let Some(ms) = o.lease_ms {
        set(&mut c, "transport/link/tx/lease", ms.to_string());
    }
    if let Err(e) = tuning::apply(&mut c) {
        eprintln!("neutrino-netd: {e}");
        std::process::exit(2)
    }
    c
}

fn main() {
    // Before any thread starts.
    tuning::runtimes();
    tuning::no_spinning();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(budget::CALLS + budget::SPARE_THREADS)
        .build()
        .unwrap_or_else(|e| {
            eprintln!("neutrino-netd: cannot start: {e}");
            std::process::exit(1)
        });
    rt.block_on(run());
}

async fn run() {
    // Zenoh's own diagnostics, as RUST_LOG asks.
    zenoh::init_log_from_env_or("error");
    let mut o = options();
    let session = zenoh::open(config(&o)).await.unwrap_or_else(|e| {
        eprintln!("neutrino-netd: cannot start Zenoh: {e}");
        std::process::exit(1)
    });
    let users = std::mem::take(&mut o.users);
    let gw = Arc::new(Gateway {
        me: o.name.clone(),
        users,
        posts: Publishers::new(session.clone()),
        session,
        rt: tokio::runtime::Handle::current(),
        budget: Budget::new(),
        nodes: Mutex::new(Vec::new()),
        outgoing: Mutex::new(HashMap::new()),
        asking: Mutex::new(HashMap::new()),
        inflight: Mutex::new(Inflight::default()),
        next_call: AtomicU64::new(1),
        incoming: Mutex::new(HashMap::new()),
        rcvids: Mutex::new(HashMap::new()),
        early_gone: Mutex::new(VecDeque::new()),
        calls: Mutex::new(HashMap::new()),
        lives: Mutex::new(Lives::default()),
        departures: watch::Sender::new(0),
        globals: Mutex::new(HashMap::new()),
        announced: Mutex::new(HashMap::new()),
        lines: Lines::default(),
    });
    let q = gw.clone();
    let _queryable = gw
        .session
        .declare_queryable(format!("nto/{}/*/*", gw.me))
        .callback(move |query| on_query(&q, query))
        .await
        .unwrap();
    let p = gw.clone();
    let posts = format!("nto/{}/post/", gw.me);
    let _posts = gw
        .session
        .declare_subscriber(format!("{posts}*/*"))
        .callback(move |s| {
            let key = s.key_expr().as_str().strip_prefix(&posts).and_then(|k| k.split_once('/'));
            if let Some((op, origin)) = key {
                on_post(&p, op, origin, s.payload().clone());
            }
        })
        .await
        .unwrap();
    // Alive once it serves: a node that sees the token can reach it.
    let _token = gw.session.liveliness().declare_token(format!("nto/alive/{}", gw.me)).await.unwrap();
    let w = gw.clone();
    let _watch = gw
        .session
        .liveliness()
        .declare_subscriber("nto/alive/*")
        .history(true)
        .callback(move |s| {
            if let Some(node) = s.key_expr().as_str().strip_prefix("nto/alive/") {
                w.on_liveliness(node, s.kind() == zenoh::sample::SampleKind::Put);
            }
        })
        .await
        .unwrap();
    let n = gw.clone();
    let _names = gw
        .session
        .liveliness()
        .declare_subscriber("nto/name/*/*")
        .history(true)
        .callback(move |s| n.on_name(s.key_expr().as_str(), s.kind() == zenoh::sample::SampleKind::Put))
        .await
        .unwrap();
    let rt = tokio::runtime::Handle::current();
    let _ = HOOKED.set(gw.clone());
    knet::set_event_hook(on_event);
    knet::track_replies();
    knet::track_dequeues();
    let local = gw.clone();
    let _ = tokio::task::spawn_blocking(move || serve_local(local, rt)).await;
}
