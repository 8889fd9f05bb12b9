//! How bytes and wake-ups cross between threads and processes.

pub mod copy;
pub mod fdreg;
pub mod futex;
pub mod link;
pub mod lock;
pub mod names;
pub mod region;
pub mod rendezvous;
pub mod shm;
pub mod spin;
