//! The Zenoh settings a gateway runs with (its `-C` file and `ZENOH_RUNTIME` may override
//! them), shared with netprobe's bare Zenoh rows so that net/bench compares like with like.

/// Zenoh keeps 2 batches (of up to 64 KiB) per priority queue and one 64 KiB receive buffer
/// per link: a message longer than a batch then waits for the sending task to drain each
/// fragment, and the receiver allocates (and faults in) a fresh buffer for every batch. A
/// 64 KiB message is 1.3x faster with these, and 1 MiB moves at 1.5x the rate; they cost
/// 1 MiB of queue and 4 MiB of receive buffers per link.
pub const SETTINGS: [(&str, &str); 2] =
    [("transport/link/tx/queue/size/data", "16"), ("transport/link/rx/buffer_size", "4194304")];

/// Applies [`SETTINGS`] to `c` where it keeps Zenoh's defaults (what a `-C` file sets wins).
pub fn apply(c: &mut zenoh::Config) -> Result<(), String> {
    let defaults = zenoh::Config::default();
    for (key, value) in SETTINGS {
        if c.get_json(key).ok() == defaults.get_json(key).ok() {
            c.insert_json5(key, value).map_err(|e| format!("{key}: {e}"))?;
        }
    }
    Ok(())
}

/// Zenoh runs its own tokio runtimes: a link's socket is read by one (`net` or `acc`, where
/// it was opened), which wakes the receiving task in another (`rx`), whose callbacks hand
/// work to a third (`app`): each hand-off is a thread wake-up, the dearest thing on a small
/// machine. Running `rx`, `acc` and `net` in `app`'s two threads saves them (a third fewer
/// context switches and CPU time in each gateway per remote call, measured); `tx` keeps its
/// own thread, so sending a long message does not hold up receiving (with all in one
/// thread, 16 B calls gain a little more and 1 MiB moves a third slower).
const RUNTIME: &str =
    "(rx: (handover: app), acc: (handover: app), net: (handover: app), app: (worker_threads: 2))";

/// Sets `ZENOH_RUNTIME` to [`RUNTIME`] unless the user set it; before Zenoh starts.
pub fn runtimes() {
    if std::env::var_os("ZENOH_RUNTIME").is_none() {
        std::env::set_var("ZENOH_RUNTIME", RUNTIME);
    }
}

/// Sets `NEUTRINO_SPIN_US` to 0 unless the user set it; before the library's first wait.
/// A gateway's threads wait on local clients and servers while Zenoh's threads, the
/// other gateway's and the applications need the CPUs: spinning there takes a CPU from
/// the peer it waits for, and a long message goes through the slot in chunks instead of
/// one copy. Measured over the bench's veth link (interleaved runs, medians of 8): 1 MiB
/// calls 896 µs against 1108 with spinning, 64 KiB 406 against 452, 16 B the same.
pub fn no_spinning() {
    if std::env::var_os("NEUTRINO_SPIN_US").is_none() {
        std::env::set_var("NEUTRINO_SPIN_US", "0");
    }
}
