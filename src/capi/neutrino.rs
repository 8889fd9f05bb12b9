//! `<sys/neutrino.h>`: channels, connections and messages.
#![allow(non_snake_case)]

use super::{buffer, iovs, or_errno, or_neg};
use crate::kernel::abi::{
    _msg_info, nto_channel_config, rcvid_t, _NTO_CHF_PULSE_POOL, _NTO_CHO_CUSTOM_EVENT,
};
use crate::kernel::errno::{Errno, KResult};
use crate::kernel::event::RawEvent;
use crate::kernel::{channel, client, message, pulse};
use libc::{c_int, c_long, c_uint, c_void, iovec, pid_t, size_t, ssize_t};

fn create(flags: c_uint) -> KResult<c_int> {
    channel::create(flags, None)
}

/// Creates a channel; returns its chid (the first is 1).
#[no_mangle]
pub extern "C" fn ChannelCreate(flags: c_uint) -> c_int {
    or_errno(|| create(flags))
}

#[no_mangle]
pub extern "C" fn ChannelCreate_r(flags: c_uint) -> c_int {
    or_neg(|| create(flags))
}

fn create_pool(flags: c_uint, config: *const nto_channel_config) -> KResult<c_int> {
    // SAFETY: a non-NULL config is the caller's readable struct.
    let config = unsafe { config.as_ref() }.ok_or(Errno::EINVAL)?;
    let event = if config.options & _NTO_CHO_CUSTOM_EVENT != 0 {
        let ev = RawEvent::read(&config.event)?;
        ev.kind()?;
        Some(ev)
    } else {
        None
    };
    if config.num_pulses == 0
        || config.rearm_threshold > config.num_pulses
        || config.options & !_NTO_CHO_CUSTOM_EVENT != 0
    {
        return Err(Errno::EINVAL);
    }
    let policy = channel::PoolPolicy::new(config.num_pulses, event, config.rearm_threshold);
    channel::create(flags | _NTO_CHF_PULSE_POOL, Some(policy))
}

/// Creates a channel whose pulses come from a private pool of `config->num_pulses`.
#[no_mangle]
pub extern "C" fn ChannelCreatePulsePool(flags: c_uint, config: *const nto_channel_config) -> c_int {
    or_errno(|| create_pool(flags, config))
}

#[no_mangle]
pub extern "C" fn ChannelCreatePulsePool_r(flags: c_uint, config: *const nto_channel_config) -> c_int {
    or_neg(|| create_pool(flags, config))
}

fn destroy(chid: c_int) -> KResult<c_int> {
    channel::destroy(chid).map(|_| 0)
}

#[no_mangle]
pub extern "C" fn ChannelDestroy(chid: c_int) -> c_int {
    or_errno(|| destroy(chid))
}

#[no_mangle]
pub extern "C" fn ChannelDestroy_r(chid: c_int) -> c_int {
    or_neg(|| destroy(chid))
}

#[no_mangle]
pub extern "C" fn ConnectAttach(nd: u32, pid: pid_t, chid: c_int, index: c_uint, flags: c_int) -> c_int {
    or_errno(|| client::attach(nd, pid, chid, index, flags))
}

#[no_mangle]
pub extern "C" fn ConnectAttach_r(nd: u32, pid: pid_t, chid: c_int, index: c_uint, flags: c_int) -> c_int {
    or_neg(|| client::attach(nd, pid, chid, index, flags))
}

fn detach(coid: c_int) -> KResult<c_int> {
    client::detach(coid).map(|_| 0)
}

#[no_mangle]
pub extern "C" fn ConnectDetach(coid: c_int) -> c_int {
    or_errno(|| detach(coid))
}

#[no_mangle]
pub extern "C" fn ConnectDetach_r(coid: c_int) -> c_int {
    or_neg(|| detach(coid))
}

// --- MsgSend family: every form funnels into one send over segments. ---------------------

/// # Safety
/// As the crate's C API rules: buffers valid for their stated lengths.
unsafe fn send_ss(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
    cancel: bool,
) -> KResult<c_long> {
    let s = buffer(smsg, sbytes)?;
    let r = buffer(rmsg, rbytes)?;
    message::send(coid, &s, &r, cancel)
}

/// # Safety
/// As the crate's C API rules.
unsafe fn send_vv(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    riov: *const iovec,
    rparts: size_t,
    cancel: bool,
) -> KResult<c_long> {
    // SAFETY: the caller's IOV arrays.
    let (s, r) = unsafe { (iovs(siov, sparts)?, iovs(riov, rparts)?) };
    message::send(coid, s, r, cancel)
}

/// # Safety
/// As the crate's C API rules.
unsafe fn send_sv(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    riov: *const iovec,
    rparts: size_t,
    cancel: bool,
) -> KResult<c_long> {
    let s = buffer(smsg, sbytes)?;
    // SAFETY: the caller's IOV array.
    let r = unsafe { iovs(riov, rparts)? };
    message::send(coid, &s, r, cancel)
}

/// # Safety
/// As the crate's C API rules.
unsafe fn send_vs(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
    cancel: bool,
) -> KResult<c_long> {
    // SAFETY: the caller's IOV array.
    let s = unsafe { iovs(siov, sparts)? };
    let r = buffer(rmsg, rbytes)?;
    message::send(coid, s, &r, cancel)
}

/// # Safety
/// `smsg`/`rmsg` valid for `sbytes`/`rbytes` bytes (or NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn MsgSend(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { send_ss(coid, smsg, sbytes, rmsg, rbytes, true) })
}

/// # Safety
/// As `MsgSend`.
#[no_mangle]
pub unsafe extern "C" fn MsgSend_r(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { send_ss(coid, smsg, sbytes, rmsg, rbytes, true) })
}

/// # Safety
/// As `MsgSend`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendnc(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { send_ss(coid, smsg, sbytes, rmsg, rbytes, false) })
}

/// # Safety
/// As `MsgSend`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendnc_r(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { send_ss(coid, smsg, sbytes, rmsg, rbytes, false) })
}

/// # Safety
/// `siov`/`riov` point at `sparts`/`rparts` IOVs (or NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn MsgSendv(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { send_vv(coid, siov, sparts, riov, rparts, true) })
}

/// # Safety
/// As `MsgSendv`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendv_r(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { send_vv(coid, siov, sparts, riov, rparts, true) })
}

/// # Safety
/// As `MsgSendv`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendvnc(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { send_vv(coid, siov, sparts, riov, rparts, false) })
}

/// # Safety
/// As `MsgSendv`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendvnc_r(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { send_vv(coid, siov, sparts, riov, rparts, false) })
}

/// # Safety
/// `smsg` valid for `sbytes`; `riov` points at `rparts` IOVs.
#[no_mangle]
pub unsafe extern "C" fn MsgSendsv(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { send_sv(coid, smsg, sbytes, riov, rparts, true) })
}

/// # Safety
/// As `MsgSendsv`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendsv_r(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { send_sv(coid, smsg, sbytes, riov, rparts, true) })
}

/// # Safety
/// As `MsgSendsv`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendsvnc(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { send_sv(coid, smsg, sbytes, riov, rparts, false) })
}

/// # Safety
/// As `MsgSendsv`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendsvnc_r(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { send_sv(coid, smsg, sbytes, riov, rparts, false) })
}

/// # Safety
/// `siov` points at `sparts` IOVs; `rmsg` valid for `rbytes`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendvs(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { send_vs(coid, siov, sparts, rmsg, rbytes, true) })
}

/// # Safety
/// As `MsgSendvs`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendvs_r(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { send_vs(coid, siov, sparts, rmsg, rbytes, true) })
}

/// # Safety
/// As `MsgSendvs`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendvsnc(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { send_vs(coid, siov, sparts, rmsg, rbytes, false) })
}

/// # Safety
/// As `MsgSendvs`.
#[no_mangle]
pub unsafe extern "C" fn MsgSendvsnc_r(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> c_long {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { send_vs(coid, siov, sparts, rmsg, rbytes, false) })
}

// --- receive -----------------------------------------------------------------------------

/// # Safety
/// `info` is NULL or points at a writable `_msg_info`.
unsafe fn info_mut<'a>(info: *mut _msg_info) -> Option<&'a mut _msg_info> {
    // SAFETY: the caller's contract.
    unsafe { info.as_mut() }
}

/// # Safety
/// As the crate's C API rules.
unsafe fn receive_s(
    chid: c_int,
    msg: *mut c_void,
    bytes: size_t,
    info: *mut _msg_info,
    pulses_only: bool,
) -> KResult<rcvid_t> {
    let b = buffer(msg, bytes)?;
    // SAFETY: forwarded caller contract.
    message::receive(chid, &b, unsafe { info_mut(info) }, pulses_only)
}

/// # Safety
/// As the crate's C API rules.
unsafe fn receive_v(
    chid: c_int,
    iov: *const iovec,
    parts: size_t,
    info: *mut _msg_info,
    pulses_only: bool,
) -> KResult<rcvid_t> {
    // SAFETY: forwarded caller contract.
    let segs = unsafe { iovs(iov, parts)? };
    // SAFETY: forwarded caller contract.
    message::receive(chid, segs, unsafe { info_mut(info) }, pulses_only)
}

/// Waits for a message on `chid`; returns its rcvid (or 0 for a pulse).
///
/// # Safety
/// `msg` valid for `bytes`; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn MsgReceive(
    chid: c_int,
    msg: *mut c_void,
    bytes: size_t,
    info: *mut _msg_info,
) -> rcvid_t {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { receive_s(chid, msg, bytes, info, false) })
}

/// # Safety
/// As `MsgReceive`.
#[no_mangle]
pub unsafe extern "C" fn MsgReceive_r(
    chid: c_int,
    msg: *mut c_void,
    bytes: size_t,
    info: *mut _msg_info,
) -> rcvid_t {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { receive_s(chid, msg, bytes, info, false) })
}

/// # Safety
/// `iov` points at `parts` IOVs; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn MsgReceivev(
    chid: c_int,
    iov: *const iovec,
    parts: size_t,
    info: *mut _msg_info,
) -> rcvid_t {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { receive_v(chid, iov, parts, info, false) })
}

/// # Safety
/// As `MsgReceivev`.
#[no_mangle]
pub unsafe extern "C" fn MsgReceivev_r(
    chid: c_int,
    iov: *const iovec,
    parts: size_t,
    info: *mut _msg_info,
) -> rcvid_t {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { receive_v(chid, iov, parts, info, false) })
}

/// Waits for a pulse on `chid`, leaving messages queued; returns 0.
///
/// # Safety
/// `pulse` valid for `bytes`; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn MsgReceivePulse(
    chid: c_int,
    pulse: *mut c_void,
    bytes: size_t,
    info: *mut _msg_info,
) -> c_int {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { receive_s(chid, pulse, bytes, info, true) }.map(|_| 0))
}

/// # Safety
/// As `MsgReceivePulse`.
#[no_mangle]
pub unsafe extern "C" fn MsgReceivePulse_r(
    chid: c_int,
    pulse: *mut c_void,
    bytes: size_t,
    info: *mut _msg_info,
) -> c_int {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { receive_s(chid, pulse, bytes, info, true) }.map(|_| 0))
}

/// # Safety
/// `iov` points at `parts` IOVs; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn MsgReceivePulsev(
    chid: c_int,
    iov: *const iovec,
    parts: size_t,
    info: *mut _msg_info,
) -> c_int {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { receive_v(chid, iov, parts, info, true) }.map(|_| 0))
}

/// # Safety
/// As `MsgReceivePulsev`.
#[no_mangle]
pub unsafe extern "C" fn MsgReceivePulsev_r(
    chid: c_int,
    iov: *const iovec,
    parts: size_t,
    info: *mut _msg_info,
) -> c_int {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { receive_v(chid, iov, parts, info, true) }.map(|_| 0))
}

// --- pulses ------------------------------------------------------------------------------

fn send_pulse(coid: c_int, priority: c_int, code: c_int, value: u64) -> KResult<c_int> {
    pulse::send(coid, priority, code, value).map(|_| 0)
}

/// Sends a pulse (never blocks). `priority` -1 means the caller's.
#[no_mangle]
pub extern "C" fn MsgSendPulse(coid: c_int, priority: c_int, code: c_int, value: c_int) -> c_int {
    or_errno(|| send_pulse(coid, priority, code, value as i64 as u64))
}

#[no_mangle]
pub extern "C" fn MsgSendPulse_r(coid: c_int, priority: c_int, code: c_int, value: c_int) -> c_int {
    or_neg(|| send_pulse(coid, priority, code, value as i64 as u64))
}

/// Sends a pulse whose value is a pointer.
#[no_mangle]
pub extern "C" fn MsgSendPulsePtr(coid: c_int, priority: c_int, code: c_int, value: *mut c_void) -> c_int {
    or_errno(|| send_pulse(coid, priority, code, value as usize as u64))
}

#[no_mangle]
pub extern "C" fn MsgSendPulsePtr_r(coid: c_int, priority: c_int, code: c_int, value: *mut c_void) -> c_int {
    or_neg(|| send_pulse(coid, priority, code, value as usize as u64))
}

// --- reply and error ---------------------------------------------------------------------

fn reply_s(rcvid: rcvid_t, status: c_long, msg: *const c_void, bytes: size_t) -> KResult<c_int> {
    let b = buffer(msg, bytes)?;
    message::reply(rcvid, status, &b).map(|_| 0)
}

/// # Safety
/// As the crate's C API rules.
unsafe fn reply_v(rcvid: rcvid_t, status: c_long, iov: *const iovec, parts: size_t) -> KResult<c_int> {
    // SAFETY: forwarded caller contract.
    let segs = unsafe { iovs(iov, parts)? };
    message::reply(rcvid, status, segs).map(|_| 0)
}

/// Releases the client with `status` and up to `bytes` of reply data.
///
/// # Safety
/// `msg` valid for `bytes`.
#[no_mangle]
pub unsafe extern "C" fn MsgReply(
    rcvid: rcvid_t,
    status: c_long,
    msg: *const c_void,
    bytes: size_t,
) -> c_int {
    or_errno(|| reply_s(rcvid, status, msg, bytes))
}

/// # Safety
/// As `MsgReply`.
#[no_mangle]
pub unsafe extern "C" fn MsgReply_r(
    rcvid: rcvid_t,
    status: c_long,
    msg: *const c_void,
    bytes: size_t,
) -> c_int {
    or_neg(|| reply_s(rcvid, status, msg, bytes))
}

/// # Safety
/// `iov` points at `parts` IOVs.
#[no_mangle]
pub unsafe extern "C" fn MsgReplyv(
    rcvid: rcvid_t,
    status: c_long,
    iov: *const iovec,
    parts: size_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { reply_v(rcvid, status, iov, parts) })
}

/// # Safety
/// As `MsgReplyv`.
#[no_mangle]
pub unsafe extern "C" fn MsgReplyv_r(
    rcvid: rcvid_t,
    status: c_long,
    iov: *const iovec,
    parts: size_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { reply_v(rcvid, status, iov, parts) })
}

fn error(rcvid: rcvid_t, err: c_int) -> KResult<c_int> {
    message::error(rcvid, err).map(|_| 0)
}

/// Releases the client with `MsgSend` failing with `err` (`EOK`: returning 0).
#[no_mangle]
pub extern "C" fn MsgError(rcvid: rcvid_t, err: c_int) -> c_int {
    or_errno(|| error(rcvid, err))
}

#[no_mangle]
pub extern "C" fn MsgError_r(rcvid: rcvid_t, err: c_int) -> c_int {
    or_neg(|| error(rcvid, err))
}

// --- read, write, info -------------------------------------------------------------------

fn read_s(rcvid: rcvid_t, msg: *mut c_void, bytes: size_t, offset: size_t) -> KResult<ssize_t> {
    let b = buffer(msg, bytes)?;
    message::read(rcvid, &b, offset).map(|n| n as ssize_t)
}

/// # Safety
/// As the crate's C API rules.
unsafe fn read_v(rcvid: rcvid_t, iov: *const iovec, parts: size_t, offset: size_t) -> KResult<ssize_t> {
    // SAFETY: forwarded caller contract.
    let segs = unsafe { iovs(iov, parts)? };
    message::read(rcvid, segs, offset).map(|n| n as ssize_t)
}

fn write_s(rcvid: rcvid_t, msg: *const c_void, bytes: size_t, offset: size_t) -> KResult<ssize_t> {
    let b = buffer(msg, bytes)?;
    message::write(rcvid, &b, offset).map(|n| n as ssize_t)
}

/// # Safety
/// As the crate's C API rules.
unsafe fn write_v(rcvid: rcvid_t, iov: *const iovec, parts: size_t, offset: size_t) -> KResult<ssize_t> {
    // SAFETY: forwarded caller contract.
    let segs = unsafe { iovs(iov, parts)? };
    message::write(rcvid, segs, offset).map(|n| n as ssize_t)
}

/// Reads the client's message from `offset`; returns the bytes copied.
///
/// # Safety
/// `msg` valid for `bytes`.
#[no_mangle]
pub unsafe extern "C" fn MsgRead(rcvid: rcvid_t, msg: *mut c_void, bytes: size_t, offset: size_t) -> ssize_t {
    or_errno(|| read_s(rcvid, msg, bytes, offset))
}

/// # Safety
/// As `MsgRead`.
#[no_mangle]
pub unsafe extern "C" fn MsgRead_r(
    rcvid: rcvid_t,
    msg: *mut c_void,
    bytes: size_t,
    offset: size_t,
) -> ssize_t {
    or_neg(|| read_s(rcvid, msg, bytes, offset))
}

/// # Safety
/// `iov` points at `parts` IOVs.
#[no_mangle]
pub unsafe extern "C" fn MsgReadv(
    rcvid: rcvid_t,
    iov: *const iovec,
    parts: size_t,
    offset: size_t,
) -> ssize_t {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { read_v(rcvid, iov, parts, offset) })
}

/// # Safety
/// As `MsgReadv`.
#[no_mangle]
pub unsafe extern "C" fn MsgReadv_r(
    rcvid: rcvid_t,
    iov: *const iovec,
    parts: size_t,
    offset: size_t,
) -> ssize_t {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { read_v(rcvid, iov, parts, offset) })
}

/// Writes into the client's reply buffer at `offset`; the client stays REPLY-blocked.
///
/// # Safety
/// `msg` valid for `bytes`.
#[no_mangle]
pub unsafe extern "C" fn MsgWrite(
    rcvid: rcvid_t,
    msg: *const c_void,
    bytes: size_t,
    offset: size_t,
) -> ssize_t {
    or_errno(|| write_s(rcvid, msg, bytes, offset))
}

/// # Safety
/// As `MsgWrite`.
#[no_mangle]
pub unsafe extern "C" fn MsgWrite_r(
    rcvid: rcvid_t,
    msg: *const c_void,
    bytes: size_t,
    offset: size_t,
) -> ssize_t {
    or_neg(|| write_s(rcvid, msg, bytes, offset))
}

/// # Safety
/// `iov` points at `parts` IOVs.
#[no_mangle]
pub unsafe extern "C" fn MsgWritev(
    rcvid: rcvid_t,
    iov: *const iovec,
    parts: size_t,
    offset: size_t,
) -> ssize_t {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { write_v(rcvid, iov, parts, offset) })
}

/// # Safety
/// As `MsgWritev`.
#[no_mangle]
pub unsafe extern "C" fn MsgWritev_r(
    rcvid: rcvid_t,
    iov: *const iovec,
    parts: size_t,
    offset: size_t,
) -> ssize_t {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { write_v(rcvid, iov, parts, offset) })
}

/// # Safety
/// As the crate's C API rules.
unsafe fn msg_info(rcvid: rcvid_t, info: *mut _msg_info) -> KResult<c_int> {
    // SAFETY: the caller's contract.
    let info = unsafe { info.as_mut() }.ok_or(Errno::EFAULT)?;
    message::info(rcvid, info).map(|_| 0)
}

/// Refetches the `_msg_info` of a REPLY-blocked client.
///
/// # Safety
/// `info` points at a writable `_msg_info`.
#[no_mangle]
pub unsafe extern "C" fn MsgInfo(rcvid: rcvid_t, info: *mut _msg_info) -> c_int {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { msg_info(rcvid, info) })
}

/// # Safety
/// As `MsgInfo`.
#[no_mangle]
pub unsafe extern "C" fn MsgInfo_r(rcvid: rcvid_t, info: *mut _msg_info) -> c_int {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { msg_info(rcvid, info) })
}

fn current(rcvid: rcvid_t) -> KResult<c_int> {
    message::make_current(rcvid).map(|_| 0)
}

/// Makes the calling thread the one working for `rcvid`'s client (0: for nobody).
#[no_mangle]
pub extern "C" fn MsgCurrent(rcvid: rcvid_t) -> c_int {
    or_errno(|| current(rcvid))
}

#[no_mangle]
pub extern "C" fn MsgCurrent_r(rcvid: rcvid_t) -> c_int {
    or_neg(|| current(rcvid))
}
