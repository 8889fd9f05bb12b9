//! Round trip and throughput of Zenoh query/reply and put ping-pong, for net/bench/run.sh
//! to set beside a TCP ping-pong over the same link (`remote_rtt tcp`): the measurements
//! that decide the gateway's engine and configuration.
//!
//!   netprobe zenoh-serve ENDPOINT [lowlat|plain]
//!   netprobe zenoh-serve-cb ENDPOINT [lowlat|plain]
//!   netprobe zenoh ENDPOINT [lowlat|plain]      (client; prints one line per row)
//!   netprobe zenoh-sync ENDPOINT [lowlat|plain]
//!   netprobe zenoh-pp-serve ENDPOINT [lowlat|plain]   (put ping-pong, as gateways' calls go)
//!   netprobe zenoh-pp ENDPOINT [lowlat|plain]
//!
//! The Zenoh rows use the gateway's settings (`tuning.rs`) and express messages, as the
//! gateway does; `plain` takes Zenoh's defaults instead, `lowlat` its low-latency transport
//! (no fragmentation: the rows past 64 KiB fail).
//!
//! And a hostile peer for c-tests/test_net.c: a bare Zenoh peer (no gateway) that holds a
//! liveliness token for each KEY (`#` in a KEY stands for 0..N-1, N tokens), and for each
//! `mute:KEY` a queryable that takes every query and never answers, prints `ready` once
//! they are declared, and waits to be killed:
//!
//!   netprobe announce ENDPOINT [-n N] KEY...
//!
//! And a peer that stops reading its link: it subscribes to KEY, prints `ready`, and never
//! returns from the first sample it gets (which stops Zenoh reading its link):
//!
//!   netprobe stall ENDPOINT KEY
//!
//! And a hostile local process that is not the node's gateway: it attaches to channel CHID
//! of local process PID claiming, as only the gateway may, to stand for a remote client
//! (nd 1, pid 4242, root) whose thread 4343 sends the 4-byte message WORD; it prints
//! `me PID TID` (its own) and `got` with the reply's first N 32-bit words:
//!
//!   netprobe claim PID CHID WORD N
//!
//! And a hostile node: a bare Zenoh peer that calls itself NODE and, as gateways do, asks
//! node TARGET's gateway for 16 connections to channel CHID of its process PID, then sends
//! N calls of the 4-byte message WORD at once on them in turn, each asking for a reply
//! buffer of RLEN bytes. It checks that an attach asked under another node's name is
//! refused, prints `attached`, then `eagain K` with the number of calls
//! refused with EAGAIN until no answer came for two seconds, and waits to be killed:
//!
//!   netprobe flood ENDPOINT NODE TARGET PID CHID WORD N RLEN

use std::time::{Duration, Instant};
use zenoh::Wait;

// What gateways say to each other, as the hostile node says it; it needs only part.
#[allow(dead_code)]
#[path = "../wire.rs"]
mod wire;

// The gateway's Zenoh settings (not its library's, which the rows here do not use).
#[allow(dead_code)]
#[path = "../tuning.rs"]
mod tuning;

/// How the Zenoh rows are set up.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Tuned,
    Plain,
    LowLatency,
}

const ROWS: [(usize, usize, usize); 3] = [(16, 16, 20000), (65536, 65536, 3000), (1 << 20, 16, 300)];

fn report(engine: &str, req: usize, rep: usize, mut t: Vec<Duration>) {
    t.sort();
    let med = t[t.len() / 2];
    let total: Duration = t.iter().sum();
    let mean = total / t.len() as u32;
    let mbps = (req + rep) as f64 * t.len() as f64 / total.as_secs_f64() / 1e6;
    println!(
        "{engine:6} req {req:8} B rep {rep:6} B  n {:6}  median {:8.1} us  mean {:8.1} us  p99 {:8.1} us  {mbps:8.1} MB/s",
        t.len(),
        med.as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6,
        t[t.len() * 99 / 100].as_secs_f64() * 1e6
    );
}

fn zconfig(endpoint: &str, listen: bool, mode: Mode) -> zenoh::Config {
    let mut c = zenoh::Config::default();
    c.insert_json5("mode", r#""peer""#).unwrap();
    c.insert_json5("scouting/multicast/enabled", "false").unwrap();
    let key = if listen { "listen/endpoints" } else { "connect/endpoints" };
    c.insert_json5(key, &format!(r#"["{endpoint}"]"#)).unwrap();
    if mode == Mode::Tuned {
        tuning::apply(&mut c).unwrap();
    }
    if mode == Mode::LowLatency {
        c.insert_json5("transport/unicast/lowlatency", "true").unwrap();
        c.insert_json5("transport/unicast/qos/enabled", "false").unwrap();
    }
    c
}

/// Answers from Zenoh's receiving thread itself: no hop to an application task.
async fn zenoh_serve_cb(endpoint: &str, mode: Mode) {
    use zenoh::Wait;
    let s = zenoh::open(zconfig(endpoint, true, mode)).await.unwrap();
    let _q = s
        .declare_queryable("probe/echo")
        .callback(move |query| {
            let want = query
                .attachment()
                .map(|a| u32::from_le_bytes(a.to_bytes()[..4].try_into().unwrap()) as usize)
                .unwrap_or(0);
            query.reply("probe/echo", vec![7u8; want]).express(mode != Mode::Plain).wait().unwrap();
        })
        .await
        .unwrap();
    std::future::pending::<()>().await;
}

/// The caller's own thread waits: zenoh's synchronous API, as a gateway thread would use it.
fn zenoh_client_sync(endpoint: &str, mode: Mode) {
    use zenoh::Wait;
    let s = zenoh::open(zconfig(endpoint, false, mode)).wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let querier = s
        .declare_querier("probe/echo")
        .consolidation(zenoh::query::ConsolidationMode::None)
        .express(mode != Mode::Plain)
        .wait()
        .unwrap();
    for (req, rep, n) in ROWS {
        let msg = vec![7u8; req];
        let mut t = Vec::with_capacity(n);
        for i in 0..n + n / 10 {
            let t0 = Instant::now();
            let replies = querier
                .get()
                .payload(msg.clone())
                .attachment((rep as u32).to_le_bytes().to_vec())
                .wait()
                .unwrap();
            let r = replies.recv().unwrap();
            assert_eq!(r.result().unwrap().payload().len(), rep);
            if i >= n / 10 {
                t.push(t0.elapsed());
            }
        }
        report("zsync", req, rep, t);
    }
}

/// Pub/sub ping-pong: echoes each sample on probe/ping to probe/pong from Zenoh's thread.
async fn zenoh_pp_serve(endpoint: &str, mode: Mode) {
    let s = zenoh::open(zconfig(endpoint, true, mode)).await.unwrap();
    let publ = s
        .declare_publisher("probe/pong")
        .express(mode != Mode::Plain)
        .congestion_control(zenoh::qos::CongestionControl::Block)
        .await
        .unwrap();
    let _sub = s
        .declare_subscriber("probe/ping")
        .callback(move |sample| {
            let want = sample
                .attachment()
                .map(|a| u32::from_le_bytes(a.to_bytes()[..4].try_into().unwrap()) as usize)
                .unwrap_or(0);
            publ.put(vec![7u8; want]).wait().unwrap();
        })
        .await
        .unwrap();
    std::future::pending::<()>().await;
}

fn zenoh_pp_client(endpoint: &str, mode: Mode) {
    let s = zenoh::open(zconfig(endpoint, false, mode)).wait().unwrap();
    let sub = s.declare_subscriber("probe/pong").wait().unwrap();
    let publ = s
        .declare_publisher("probe/ping")
        .express(mode != Mode::Plain)
        .congestion_control(zenoh::qos::CongestionControl::Block)
        .wait()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    for (req, rep, n) in ROWS {
        let msg = vec![7u8; req];
        let mut t = Vec::with_capacity(n);
        for i in 0..n + n / 10 {
            let t0 = Instant::now();
            publ.put(msg.clone()).attachment((rep as u32).to_le_bytes().to_vec()).wait().unwrap();
            let r = sub.recv().unwrap();
            assert_eq!(r.payload().len(), rep);
            if i >= n / 10 {
                t.push(t0.elapsed());
            }
        }
        report("zpp", req, rep, t);
    }
}

async fn zenoh_serve(endpoint: &str, mode: Mode) {
    let s = zenoh::open(zconfig(endpoint, true, mode)).await.unwrap();
    let q = s.declare_queryable("probe/echo").await.unwrap();
    while let Ok(query) = q.recv_async().await {
        let req = query.payload().map(|p| p.len()).unwrap_or(0);
        let want = query
            .attachment()
            .map(|a| u32::from_le_bytes(a.to_bytes()[..4].try_into().unwrap()) as usize)
            .unwrap_or(req);
        query.reply("probe/echo", vec![7u8; want]).await.unwrap();
    }
}

async fn zenoh_client(endpoint: &str, mode: Mode) {
    let s = zenoh::open(zconfig(endpoint, false, mode)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let querier =
        s.declare_querier("probe/echo").consolidation(zenoh::query::ConsolidationMode::None).await.unwrap();
    for (req, rep, n) in ROWS {
        let msg = vec![7u8; req];
        let mut t = Vec::with_capacity(n);
        for i in 0..n + n / 10 {
            let t0 = Instant::now();
            let replies = querier
                .get()
                .payload(msg.clone())
                .attachment((rep as u32).to_le_bytes().to_vec())
                .await
                .unwrap();
            let r = replies.recv_async().await.unwrap();
            let got = r.result().unwrap().payload().len();
            assert_eq!(got, rep);
            if i >= n / 10 {
                t.push(t0.elapsed());
            }
        }
        report("zenoh", req, rep, t);
    }
}

async fn announce(endpoint: &str, mut keys: &[String]) {
    let mut n = 1;
    if keys.first().is_some_and(|k| k == "-n") {
        n = keys[1].parse().unwrap();
        keys = &keys[2..];
    }
    let s = zenoh::open(zconfig(endpoint, false, Mode::Plain)).await.unwrap();
    let mut tokens = Vec::new();
    let mut mute = Vec::new();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for key in keys {
        if let Some(k) = key.strip_prefix("mute:") {
            let held = held.clone();
            let q = s.declare_queryable(k).callback(move |q| held.lock().unwrap().push(q)).await.unwrap();
            mute.push(q);
            continue;
        }
        let count = if key.contains('#') { n } else { 1 };
        for i in 0..count {
            let k = key.replace('#', &i.to_string());
            match s.liveliness().declare_token(k.clone()).await {
                Ok(t) => tokens.push(t),
                Err(e) => eprintln!("netprobe: {k}: {e}"),
            }
        }
    }
    println!("ready");
    std::future::pending::<()>().await;
}

/// A peer that stops reading: its subscription to KEY takes the first sample and never
/// returns, which stops Zenoh reading its link.
async fn stall(endpoint: &str, key: &str) {
    let s = zenoh::open(zconfig(endpoint, false, Mode::Plain)).await.unwrap();
    let _sub = s
        .declare_subscriber(key)
        .callback(|_| loop {
            std::thread::park();
        })
        .await
        .unwrap();
    println!("ready");
    std::future::pending::<()>().await;
}

/// The connections a flood's calls go round (one carries at most 32 calls at once).
const FLOOD_CONNECTIONS: usize = 16;

fn flood(a: &[String]) {
    let arg = |i: usize| a[i].parse::<u64>().unwrap();
    let (node, target) = (&a[1], &a[2]);
    let s = zenoh::open(zconfig(&a[0], false, Mode::Plain)).wait().unwrap();
    let _alive = s.liveliness().declare_token(format!("nto/alive/{node}")).wait().unwrap();
    let ask = |op: &str, p: Vec<u8>| s.get(format!("nto/{target}/{op}/{node}")).payload(p).wait().unwrap();
    let mut p = wire::Writer::request(node, 0);
    p.u32(arg(3) as u32);
    p.u32(arg(4) as u32);
    wire::put_behalf(&mut p, &neutrino::kernel::net::Behalf { pid: 1, ..Default::default() });
    let p = p.done();
    // Until the target's gateway is reached.
    let deadline = Instant::now() + Duration::from_secs(10);
    let reply = loop {
        let reply = ask("attach", p.clone()).recv();
        match reply.as_ref().map(|r| r.result().map(|s| s.payload().to_bytes().into_owned())) {
            Ok(Ok(reply)) => break reply,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            _ => panic!("node {target} does not answer"),
        }
    };
    let attach = |reply: &[u8]| match wire::Status::parse(reply) {
        wire::Status::Reply(h, _) => h as u64,
        wire::Status::Error(e) => panic!("attach: {}", std::io::Error::from_raw_os_error(e)),
    };
    let mut handles = vec![attach(&reply)];
    while handles.len() < FLOOD_CONNECTIONS {
        let reply = ask("attach", p.clone()).recv().unwrap();
        handles.push(attach(&reply.result().unwrap().payload().to_bytes()));
    }
    // An attach whose key names another sender than its payload is refused.
    let forged =
        s.get(format!("nto/{target}/attach/alpha")).payload(p.clone()).wait().unwrap().recv().unwrap();
    let forged = wire::Status::parse(&forged.result().unwrap().payload().to_bytes());
    assert!(matches!(forged, wire::Status::Error(libc::EINVAL)), "a forged attach was not refused");
    println!("attached");
    // Calls are posted; their answers come back as posts of their own.
    let answers = s.declare_subscriber(format!("nto/{node}/post/answer/{target}")).wait().unwrap();
    let (word, n, rlen) = (arg(5) as u32, arg(6), arg(7) as u32);
    for id in 0..n {
        let mut p = wire::Writer::request(node, handles[id as usize % FLOOD_CONNECTIONS]);
        p.u64(id + 1);
        p.u32(rlen);
        p.u32(1);
        p.bytes(&word.to_ne_bytes());
        let put = s.put(format!("nto/{target}/post/send/{node}"), p.done());
        put.congestion_control(zenoh::qos::CongestionControl::Block).wait().unwrap();
    }
    let mut refused = 0;
    while let Ok(a) = answers.recv_timeout(Duration::from_secs(2)) {
        let Some(a) = a else { break };
        let bytes = a.payload().to_bytes();
        let mut r = wire::Reader::new(&bytes);
        let _ = (r.str(), r.u64(), r.u64());
        if matches!(wire::Status::parse(r.rest()), wire::Status::Error(libc::EAGAIN)) {
            refused += 1;
        }
    }
    println!("eagain {refused}");
    loop {
        std::thread::park();
    }
}

fn claim(pid: i32, chid: i32, word: u32, n: usize) {
    use neutrino::kernel::{client, net::Behalf};
    let forged = Behalf { nd: 1, srcnd: 1, pid: 4242, ngroups: 1, ..Default::default() };
    let coid = client::attach_for(pid, chid, 0, &forged).expect("attach");
    let mut reply = vec![0u8; n * 4];
    let msg = word.to_ne_bytes();
    // SAFETY: msg and reply are valid for their lengths.
    let r = client::as_thread(4343, || unsafe {
        neutrino::capi::neutrino::MsgSend(
            coid,
            msg.as_ptr().cast(),
            4,
            reply.as_mut_ptr().cast(),
            reply.len(),
        )
    });
    assert!(r != -1, "MsgSend: {}", std::io::Error::last_os_error());
    // SAFETY: plain syscall.
    println!("me {} {}", std::process::id(), unsafe { libc::gettid() });
    let words: Vec<String> =
        reply.chunks(4).map(|w| i32::from_ne_bytes(w.try_into().unwrap()).to_string()).collect();
    println!("got {}", words.join(" "));
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let mode = match a.get(3).map(String::as_str) {
        Some("lowlat") => Mode::LowLatency,
        Some("plain") => Mode::Plain,
        _ => Mode::Tuned,
    };
    if mode == Mode::Tuned {
        tuning::runtimes();
    }
    match a[1].as_str() {
        "zenoh-serve" => zenoh_serve(&a[2], mode).await,
        "zenoh" => zenoh_client(&a[2], mode).await,
        "zenoh-serve-cb" => zenoh_serve_cb(&a[2], mode).await,
        "announce" => announce(&a[2], &a[3..]).await,
        "stall" => stall(&a[2], &a[3]).await,
        "claim" => {
            claim(a[2].parse().unwrap(), a[3].parse().unwrap(), a[4].parse().unwrap(), a[5].parse().unwrap())
        }
        "flood" => tokio::task::spawn_blocking(move || flood(&a[2..])).await.unwrap(),
        "zenoh-pp-serve" => zenoh_pp_serve(&a[2], mode).await,
        "zenoh-pp" => {
            let e = a[2].clone();
            tokio::task::spawn_blocking(move || zenoh_pp_client(&e, mode)).await.unwrap()
        }
        "zenoh-sync" => {
            let e = a[2].clone();
            tokio::task::spawn_blocking(move || zenoh_client_sync(&e, mode)).await.unwrap()
        }
        _ => eprintln!("usage: see the file's comment"),
    }
}
