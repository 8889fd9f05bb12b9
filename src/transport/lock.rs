//! The library's locks: each is its own futex word and nothing else.
//!
//! Why not parking_lot: it keeps every waiter of the process in one global table guarded by
//! locks of its own. A thread of the parent inside that table at `fork()` (parking, or
//! waking another) leaves the child's copy locked for ever, and the child's first wait on,
//! or wake of, any lock or condition variable that hashes there never ends. Here a `fork()`
//! child finds each lock as the parent left it, and a `pthread_atfork` handler that took
//! one before the fork releases it in both processes with [`Mutex::force_unlock`]. Nothing
//! here allocates, not even the first wait of a thread: a fork handler may take these.

use super::futex;
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

/// Unlocked, locked, locked with a thread (perhaps) asleep on the word.
const FREE: u32 = 0;
const HELD: u32 = 1;
const WAITED: u32 = 2;

/// Turns a waiter checks the word before it sleeps: most locks are held a moment.
const SPINS: u32 = 100;

/// A mutual-exclusion lock.
pub struct Mutex<T: ?Sized> {
    state: AtomicU32,
    data: UnsafeCell<T>,
}

// SAFETY: the lock gives one thread at a time access to the data, which may move between
// threads.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    pub const fn new(v: T) -> Mutex<T> {
        Mutex { state: AtomicU32::new(FREE), data: UnsafeCell::new(v) }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized> Mutex<T> {
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if self.state.compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.wait(None);
        }
        MutexGuard { lock: self }
    }

    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.state
            .compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard { lock: self })
    }

    /// `lock`, or `None` if it is not free by `end`.
    pub fn try_lock_until(&self, end: Instant) -> Option<MutexGuard<'_, T>> {
        self.try_lock().or_else(|| self.wait(Some(end)).then_some(MutexGuard { lock: self }))
    }

    /// Takes the contended lock (by `end` if given): whether it did.
    #[cold]
    fn wait(&self, end: Option<Instant>) -> bool {
        for _ in 0..SPINS {
            match self.state.load(Ordering::Relaxed) {
                FREE => {
                    if self.state.compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                        return true;
                    }
                }
                WAITED => break,
                _ => std::hint::spin_loop(),
            }
        }
        // From here on it is marked waited for, so that its holder wakes a sleeper.
        while self.state.swap(WAITED, Ordering::Acquire) != FREE {
            let left = match end {
                Some(end) => match end.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return false,
                },
                None => None,
            };
            let _ = futex::wait(&self.state, WAITED, left);
        }
        true
    }

    fn unlock(&self) {
        if self.state.swap(FREE, Ordering::Release) == WAITED {
            futex::wake(&self.state, 1);
        }
    }

    /// Releases the lock whose guard was forgotten: in a `pthread_atfork` parent or child
    /// handler, the lock the prepare handler took (in the child a parent thread that waited
    /// for it is gone, and the word is all there is).
    ///
    /// # Safety
    /// The lock is held, its guard forgotten, and nothing uses what it guards on that
    /// guard's behalf any more.
    pub unsafe fn force_unlock(&self) {
        self.unlock();
    }

    /// The data, for one who holds the lock without a guard (a fork handler).
    pub fn data_ptr(&self) -> *mut T {
        self.data.get()
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

/// A condition variable: a count of notifications, which a waiter sleeps on.
#[derive(Default)]
pub struct Condvar {
    seq: AtomicU32,
}

/// Whether [`Condvar::wait_until`] returned at its deadline.
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    pub const fn new() -> Condvar {
        Condvar { seq: AtomicU32::new(0) }
    }

    /// Releases `g`'s lock until notified (or woken spuriously) or `end`, then takes it
    /// again.
    pub fn wait_until<T: ?Sized>(&self, g: &mut MutexGuard<'_, T>, end: Instant) -> WaitTimeoutResult {
        // Read while the lock is held: a notification after the unlock changes it, and the
        // futex then does not sleep.
        let seen = self.seq.load(Ordering::Relaxed);
        let Some(left) = end.checked_duration_since(Instant::now()) else {
            return WaitTimeoutResult(true);
        };
        g.lock.unlock();
        let _ = futex::wait(&self.seq, seen, Some(left));
        // Taken as waited for: other threads may sleep on it (all were woken together).
        while g.lock.state.swap(WAITED, Ordering::Acquire) != FREE {
            let _ = futex::wait(&g.lock.state, WAITED, None);
        }
        WaitTimeoutResult(Instant::now() >= end)
    }

    pub fn notify_all(&self) {
        self.seq.fetch_add(1, Ordering::Relaxed);
        futex::wake(&self.seq, i32::MAX);
    }
}

/// A readers-writer lock: std's, which on Linux is futex words too (and no table of
/// waiters), without poisoning (a panic in the library aborts the caller anyway).
pub struct RwLock<T>(std::sync::RwLock<T>);

impl<T> RwLock<T> {
    pub const fn new(v: T) -> RwLock<T> {
        RwLock(std::sync::RwLock::new(v))
    }

    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;

    /// Fork while other threads wait and wake all the time; each child wakes, and waits on,
    /// locks of its own. With parking_lot about one child in fifty hung (its first wait on a
    /// bucket of the global table a parent thread held at the fork). The child starts no
    /// thread and allocates nothing: after `fork()` in a threaded process (`cargo test`
    /// runs other tests meanwhile) only async-signal-safe work is sure to finish, and a
    /// `pthread_create` there once hung a child on a lock of glibc's.
    #[test]
    fn a_fork_child_waits_on_its_locks_whatever_the_parent_did() {
        let stop = Arc::new(AtomicBool::new(false));
        let mut busy = Vec::new();
        for _ in 0..3 {
            let pair = Arc::new((Mutex::new(false), Condvar::new()));
            for side in [false, true] {
                let (p, stop) = (pair.clone(), stop.clone());
                busy.push(std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let mut g = p.0.lock();
                        if *g == side {
                            *g = !side;
                            p.1.notify_all();
                        } else {
                            p.1.wait_until(&mut g, Instant::now() + Duration::from_millis(5));
                        }
                    }
                }));
            }
        }
        let mut stuck = 0;
        for _ in 0..200 {
            // SAFETY: the child uses only locks on its own stack, then _exits.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0);
            if pid == 0 {
                let cvs: [(Mutex<u32>, Condvar); 64] =
                    std::array::from_fn(|_| (Mutex::new(0), Condvar::new()));
                for (m, c) in cvs.iter() {
                    let mut g = m.lock();
                    *g += 1;
                    c.notify_all();
                    c.wait_until(&mut g, Instant::now() + Duration::from_micros(20));
                }
                // SAFETY: ends the child without running the parent's exit handlers.
                unsafe { libc::_exit(0) };
            }
            let end = Instant::now() + Duration::from_secs(5);
            let mut st = 0;
            // SAFETY: waits for our own child.
            while unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) } == 0 {
                if Instant::now() > end {
                    stuck += 1;
                    // SAFETY: our own child, killed and reaped.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                        libc::waitpid(pid, &mut st, 0);
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        stop.store(true, Ordering::Relaxed);
        for t in busy {
            t.join().unwrap();
        }
        assert_eq!(stuck, 0, "children stuck after fork");
    }
}
