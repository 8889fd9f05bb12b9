//! A local client's request to the gateway itself (an attach, a netmgr question, a global
//! name) while it is carried out. Our channel has `_NTO_CHF_UNBLOCK`, so a client hit by a
//! signal or a timeout asks to be let go, and is: the request goes on to its end, but what
//! it would leave behind (a connection, an announced name) is not left, and neither is it
//! for a client that died meanwhile, whose connection's scoid may be another's next.

use neutrino::capi::neutrino as nto;
use neutrino::kernel::abi::_msg_info;
use std::sync::Mutex;
use tokio::sync::Notify;

#[derive(PartialEq)]
enum Phase {
    Running,
    /// What it leaves behind is there: its answer stands.
    Committed,
    LetGo,
}

pub struct Asking {
    pub scoid: i32,
    rcvid: i64,
    phase: Mutex<Phase>,
    stop: Notify,
}

impl Asking {
    pub fn new(scoid: i32, rcvid: i64) -> Asking {
        Asking { scoid, rcvid, phase: Mutex::new(Phase::Running), stop: Notify::new() }
    }

    /// Runs `effect`, what the request leaves behind, unless its client was let go or no
    /// longer waits for the answer (its message's rcvid names no waiting message); whether
    /// it ran. The caller holds the lock under which the client's end undoes such effects,
    /// so that one comes either before (and the client is seen gone) or after.
    pub fn commit(&self, effect: impl FnOnce()) -> bool {
        let mut phase = self.phase.lock().unwrap();
        let mut info = _msg_info::default();
        // SAFETY: info is a writable _msg_info.
        if *phase == Phase::LetGo || unsafe { nto::MsgInfo(self.rcvid, &mut info) } == -1 {
            return false;
        }
        *phase = Phase::Committed;
        effect();
        true
    }

    /// The client asks to be let go: it is, unless the request's effect is there already
    /// (then its answer follows at once).
    pub fn let_go(&self) {
        let mut phase = self.phase.lock().unwrap();
        if *phase == Phase::Running {
            *phase = Phase::LetGo;
            self.stop.notify_one();
        }
    }

    pub fn is_let_go(&self) -> bool {
        *self.phase.lock().unwrap() == Phase::LetGo
    }

    /// Returns once the client is let go.
    pub async fn stopped(&self) {
        self.stop.notified().await
    }
}
