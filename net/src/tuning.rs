//! The Zenoh settings a gateway runs with (its `-C` file may override them), shared with
//! netprobe's bare Zenoh rows so that net/bench compares like with like.

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
