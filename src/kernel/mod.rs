//! The emulated microkernel: channels, connections, the SEND/RECEIVE/REPLY state machine
//! and the name service. Every QNX rule lives here, once; peers are threads or processes
//! only as far as the copy routines care.

pub mod abi;
pub mod channel;
pub mod client;
pub mod clock;
pub mod coid_index;
pub mod errno;
pub mod event;
pub mod fdbind;
pub mod ids;
pub mod inherit;
pub mod message;
pub mod names;
pub mod net;
pub mod notify;
pub mod process;
pub mod procmgr;
pub mod procwatch;
pub mod pulse;
pub mod queue;
pub mod sched;
pub mod server;
pub mod shm;
pub mod shm_handles;
pub mod status;
pub mod thread;
pub mod timer;
