//! libneutrino: QNX Neutrino native IPC on Linux.
//!
//! Layers, one direction of dependency:
//! * [`capi`]: the `extern "C"` exports of the QNX headers: pointer checks and errno
//!   conversion only.
//! * [`kernel`]: the emulated microkernel: channels, connections, the
//!   SEND/RECEIVE/REPLY state machine. Every QNX rule lives here, once.
//! * [`resmgr`]: QNX's resource-manager library (dispatch, resmgr, iofunc) and the path
//!   bridge, a layer over the kernel calls.
//! * [`transport`]: how bytes and wake-ups cross between threads and processes: shared
//!   memory, futexes, single copies and the per-process control socket.
//!
//! Panics never cross the C boundary: every profile is built with `panic = "abort"`.
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(all(not(panic = "abort"), not(test)))]
compile_error!("libneutrino must be built with panic = \"abort\": a panic may not unwind into C");

pub mod capi;
pub mod kernel;
pub mod resmgr;
pub mod transport;
