//! QNX's resource-manager library: the dispatch layer, the `_IO_*` routing to a resource
//! manager's connect and I/O tables, the iofunc helpers (all C: `dispatch.c`, `resmgr.c`,
//! `iofunc.c`, since everything they touch is a C structure of QNX's headers), and the
//! bridge that brings Linux programs to an attached path. Like QNX's, it is a layer over
//! the kernel calls: it uses only what any program may (MsgReceive, MsgReply, ...), except
//! that the bridge's connections carry the identity of the Linux process they serve.

pub mod bridge;
pub mod devctl;
pub mod fuse;
pub mod mapping;
pub mod mount;
pub mod overmount;
