//! The QNX ABI: constants and structure layouts of `<sys/neutrino.h>` (QNX 7.1, 64-bit).
//! cbindgen turns this module into the generated part of the header.
#![allow(non_camel_case_types, non_upper_case_globals)]

use libc::{c_int, gid_t, pid_t, sigval, uid_t};

/// Receive ids: positive for a message, 0 for a pulse.
pub type rcvid_t = i64;

// --- identifiers -------------------------------------------------------------------------
pub const _NTO_SIDE_CHANNEL: u32 = 0x4000_0000;
pub const _NTO_GLOBAL_CHANNEL: u32 = 0x4000_0000;
pub const _NTO_CONNECTION_SCOID: u32 = 0x0001_0000;

// --- channel flags -----------------------------------------------------------------------
pub const _NTO_CHF_FIXED_PRIORITY: u32 = 0x0001;
pub const _NTO_CHF_UNBLOCK: u32 = 0x0002;
pub const _NTO_CHF_THREAD_DEATH: u32 = 0x0004;
pub const _NTO_CHF_DISCONNECT: u32 = 0x0008;
pub const _NTO_CHF_NET_MSG: u32 = 0x0010;
pub const _NTO_CHF_SENDER_LEN: u32 = 0x0020;
pub const _NTO_CHF_COID_DISCONNECT: u32 = 0x0040;
pub const _NTO_CHF_REPLY_LEN: u32 = 0x0080;
pub const _NTO_CHF_PULSE_POOL: u32 = 0x0100;
pub const _NTO_CHF_ASYNC_NONBLOCK: u32 = 0x0200;
pub const _NTO_CHF_ASYNC: u32 = 0x0400;
pub const _NTO_CHF_GLOBAL: u32 = 0x0800;
pub const _NTO_CHF_PRIVATE: u32 = 0x1000;
pub const _NTO_CHF_MSG_PAUSING: u32 = 0x2000;
pub const _NTO_CHF_INHERIT_RUNMASK: u32 = 0x4000;
pub const _NTO_CHF_UNBLOCK_TIMER: u32 = 0x8000;

// --- connection flags --------------------------------------------------------------------
pub const _NTO_COF_CLOEXEC: u32 = 0x0001;
pub const _NTO_COF_DEAD: u32 = 0x0002;
pub const _NTO_COF_NOSHARE: u32 = 0x0040;
pub const _NTO_COF_NETCON: u32 = 0x0080;
pub const _NTO_COF_NONBLOCK: u32 = 0x0100;
pub const _NTO_COF_ASYNC: u32 = 0x0200;
pub const _NTO_COF_GLOBAL: u32 = 0x0400;
pub const _NTO_COF_NOEVENT: u32 = 0x0800;
pub const _NTO_COF_INSECURE: u32 = 0x1000;
pub const _NTO_COF_REG_EVENTS: u32 = 0x2000;
pub const _NTO_COF_UNREG_EVENTS: u32 = 0x4000;
pub const _NTO_COF_MASK: u32 = 0xFFFF;

// --- _msg_info flags ---------------------------------------------------------------------
pub const _NTO_MI_ENDIAN_BIG: u32 = 0x0001;
pub const _NTO_MI_ENDIAN_DIFF: u32 = 0x0002;
pub const _NTO_MI_UNBLOCK_REQ: u32 = 0x0100;
pub const _NTO_MI_NET_CRED_DIRTY: u32 = 0x0200;
pub const _NTO_MI_CONSTRAINED: u32 = 0x0400;
pub const _NTO_MI_CHROOT: u32 = 0x0800;
pub const _NTO_MI_BITS_64: u32 = 0x1000;
pub const _NTO_MI_BITS_DIFF: u32 = 0x2000;
pub const _NTO_MI_SANDBOX: u32 = 0x4000;

// --- _client_info flags ------------------------------------------------------------------
pub const _NTO_CI_ENDIAN_BIG: u32 = 0x0001;
pub const _NTO_CI_BKGND_PGRP: u32 = 0x0004;
pub const _NTO_CI_ORPHAN_PGRP: u32 = 0x0008;
pub const _NTO_CI_STOPPED: u32 = 0x0080;
pub const _NTO_CI_UNABLE: u32 = 0x0100;
pub const _NTO_CI_TYPE_ID: u32 = 0x0200;
pub const _NTO_CI_CHROOT: u32 = 0x0800;
pub const _NTO_CI_BITS_64: u32 = 0x1000;
pub const _NTO_CI_SANDBOX: u32 = 0x4000;
pub const _NTO_CI_LOADER: u32 = 0x8000;
pub const _NTO_CI_FULL_GROUPS: u32 = 0x8000_0000;

// --- pulses ------------------------------------------------------------------------------
pub const _PULSE_TYPE: u32 = 0;
pub const _PULSE_SUBTYPE: u32 = 0;
pub const _PULSE_CODE_UNBLOCK: i32 = -32;
pub const _PULSE_CODE_DISCONNECT: i32 = -33;
pub const _PULSE_CODE_THREADDEATH: i32 = -34;
pub const _PULSE_CODE_COIDDEATH: i32 = -35;
pub const _PULSE_CODE_NET_ACK: i32 = -36;
pub const _PULSE_CODE_NET_UNBLOCK: i32 = -37;
pub const _PULSE_CODE_NET_DETACH: i32 = -38;
pub const _PULSE_CODE_RESTART: i32 = -39;
pub const _PULSE_CODE_NORESTART: i32 = -40;
pub const _PULSE_CODE_UNBLOCK_RESTART: i32 = -41;
pub const _PULSE_CODE_UNBLOCK_TIMER: i32 = -42;
pub const _PULSE_CODE_MINAVAIL: i32 = 0;
pub const _PULSE_CODE_MAXAVAIL: i32 = 127;

// --- thread states and kernel timeouts ---------------------------------------------------
pub const STATE_DEAD: u32 = 0;
pub const STATE_RUNNING: u32 = 1;
pub const STATE_READY: u32 = 2;
pub const STATE_STOPPED: u32 = 3;
pub const STATE_SEND: u32 = 4;
pub const STATE_RECEIVE: u32 = 5;
pub const STATE_REPLY: u32 = 6;
pub const STATE_STACK: u32 = 7;
pub const STATE_WAITTHREAD: u32 = 8;
pub const STATE_WAITPAGE: u32 = 9;
pub const STATE_SIGSUSPEND: u32 = 10;
pub const STATE_SIGWAITINFO: u32 = 11;
pub const STATE_NANOSLEEP: u32 = 12;
pub const STATE_MUTEX: u32 = 13;
pub const STATE_CONDVAR: u32 = 14;
pub const STATE_JOIN: u32 = 15;
pub const STATE_INTR: u32 = 16;
pub const STATE_SEM: u32 = 17;
pub const STATE_WAITCTX: u32 = 18;
pub const STATE_NET_SEND: u32 = 19;
pub const STATE_NET_REPLY: u32 = 20;
pub const STATE_MAX: u32 = 24;
pub const _NTO_TIMEOUT_SEND: u32 = 1 << STATE_SEND;
pub const _NTO_TIMEOUT_RECEIVE: u32 = 1 << STATE_RECEIVE;
pub const _NTO_TIMEOUT_REPLY: u32 = 1 << STATE_REPLY;
pub const _NTO_TIMEOUT_SIGSUSPEND: u32 = 1 << STATE_SIGSUSPEND;
pub const _NTO_TIMEOUT_SIGWAITINFO: u32 = 1 << STATE_SIGWAITINFO;
pub const _NTO_TIMEOUT_NANOSLEEP: u32 = 1 << STATE_NANOSLEEP;
pub const _NTO_TIMEOUT_MUTEX: u32 = 1 << STATE_MUTEX;
pub const _NTO_TIMEOUT_CONDVAR: u32 = 1 << STATE_CONDVAR;
pub const _NTO_TIMEOUT_JOIN: u32 = 1 << STATE_JOIN;
pub const _NTO_TIMEOUT_INTR: u32 = 1 << STATE_INTR;
pub const _NTO_TIMEOUT_SEM: u32 = 1 << STATE_SEM;
pub const _NTO_TIMEOUT_MASK: u32 = (1 << STATE_MAX) - 1;
pub const _NTO_TIMEOUT_ACTIVE: u32 = 1 << STATE_MAX;
pub const _NTO_TIMEOUT_IMMEDIATE: u32 = 1 << (STATE_MAX + 1);

// --- process manager ---------------------------------------------------------------------
pub const SYSMGR_PID: u32 = 1;
pub const SYSMGR_CHID: u32 = 1;
pub const SYSMGR_COID: u32 = _NTO_SIDE_CHANNEL;
pub const SYSMGR_HANDLE: u32 = 0;

// --- QNX-only errno values (the <errno.h> overlay) ---------------------------------------
pub const EOK: c_int = 0;
pub const ENOREMOTE: c_int = 300;
pub const EBADFSYS: c_int = 302;
pub const EMORE: c_int = 309;
pub const ESRVRFAULT: c_int = 312;

/// A pulse as a receiver sees it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct _pulse {
    pub r#type: u16,
    pub subtype: u16,
    pub code: i8,
    pub zero: [u8; 3],
    pub value: sigval,
    pub scoid: i32,
}

/// What a server learns about a received message (`_msg_info64`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct _msg_info {
    pub nd: u32,
    pub srcnd: u32,
    pub pid: pid_t,
    pub tid: i32,
    pub chid: i32,
    pub scoid: i32,
    pub coid: i32,
    pub priority: i16,
    pub flags: i16,
    pub msglen: i64,
    pub srcmsglen: i64,
    pub dstmsglen: i64,
    pub type_id: u32,
    pub reserved: u32,
}

/// A client's credentials.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct _cred_info {
    pub ruid: uid_t,
    pub euid: uid_t,
    pub suid: uid_t,
    pub rgid: gid_t,
    pub egid: gid_t,
    pub sgid: gid_t,
    pub ngroups: u32,
    pub grouplist: [gid_t; 8],
}

/// What `ConnectClientInfo` reports.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct _client_info {
    pub nd: u32,
    pub pid: pid_t,
    pub sid: pid_t,
    pub flags: u32,
    pub cred: _cred_info,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<_pulse>() == 24);
    assert!(offset_of!(_pulse, code) == 4);
    assert!(offset_of!(_pulse, value) == 8);
    assert!(offset_of!(_pulse, scoid) == 16);
    assert!(size_of::<_msg_info>() == 64);
    assert!(offset_of!(_msg_info, priority) == 28);
    assert!(offset_of!(_msg_info, flags) == 30);
    assert!(offset_of!(_msg_info, msglen) == 32);
    assert!(offset_of!(_msg_info, srcmsglen) == 40);
    assert!(offset_of!(_msg_info, dstmsglen) == 48);
    assert!(offset_of!(_msg_info, type_id) == 56);
    assert!(size_of::<_cred_info>() == 60);
    assert!(size_of::<_client_info>() == 76);
    assert!(size_of::<_timer_info>() == 120);
    assert!(offset_of!(_timer_info, overruns) == 48);
    assert!(offset_of!(_timer_info, event) == 56);
};

/// `ChannelCreatePulsePool`'s configuration.
#[repr(C)]
pub struct nto_channel_config {
    pub event: libc::sigevent,
    pub num_pulses: u32,
    pub rearm_threshold: u32,
    pub options: u32,
    pub reserved: [u32; 3],
}

pub const _NTO_CHO_CUSTOM_EVENT: u32 = 0x0000_0001;

/// A timer setting in nanoseconds (`TimerSettime`, `TimerAlarm`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct _itimer {
    pub nsec: u64,
    pub interval_nsec: u64,
}

/// What `TimerInfo` reports of a timer. `event` is glibc's `struct sigevent`, so the structure
/// is larger than QNX's (120 bytes, not 88); the members are QNX's, in QNX's order.
#[repr(C)]
pub struct _timer_info {
    /// The absolute expiry time last set, and the interval.
    pub itime: _itimer,
    /// The time left, and the interval.
    pub otime: _itimer,
    pub flags: u32,
    pub tid: i32,
    pub notify: i32,
    pub clockid: libc::clockid_t,
    pub overruns: u32,
    pub event: libc::sigevent,
}

// `TimerInfo` flags, and `_timer_info.flags` bits.
pub const _NTO_TIMER_SEARCH: u32 = 0x0000_0001;
pub const _NTO_TIMER_RESET_OVERRUNS: u32 = 0x0000_0002;
pub const _NTO_TI_ACTIVE: u32 = 0x0000_0001;
pub const _NTO_TI_ABSOLUTE: u32 = 0x0000_0002;
pub const _NTO_TI_EXPIRED: u32 = 0x0000_0004;
pub const _NTO_TI_TOD_BASED: u32 = 0x0000_0008;
pub const _NTO_TI_TARGET_PROCESS: u32 = 0x0000_0010;
pub const _NTO_TI_REPORT_TOLERANCE: u32 = 0x0000_0020;
pub const _NTO_TI_PRECISE: u32 = 0x0000_0040;

pub const _NTO_REGEVENT_ALLOW_ANY_SERVER: i32 = -1;

/// QNX's `CLOCK_SOFTTIME`: positive (Linux's dynamic CPU-time and fd clocks are negative)
/// and far above Linux's static ids (0 to `MAX_CLOCKS` = 16), so plain `clock_gettime`
/// refuses it with `EINVAL` instead of reading some other clock.
pub const CLOCK_SOFTTIME: c_int = 0x100;

/// What `SchedInfo` reports of a scheduling policy.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct _sched_info {
    pub priority_min: c_int,
    pub priority_max: c_int,
    /// The round-robin time slice, in nanoseconds.
    pub interval: u64,
    /// The highest priority an unprivileged thread may ask for.
    pub priority_priv: c_int,
    pub reserved: [c_int; 11],
}

const _: () = assert!(std::mem::size_of::<_sched_info>() == 64);
