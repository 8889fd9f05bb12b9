/*
 * Counts, per thread, the signal handlers that ran, so that a blocking call may spin with
 * signals let through and still learn, before it sleeps, that a handler ran meanwhile (it
 * must then fail with EINTR, as QNX's blocked calls do: a handler that ran while the thread
 * spun interrupted no system call). Without the count every such call changed the signal
 * mask twice.
 *
 * The process's handlers are installed through the functions below, which interpose the C
 * library's: each installs a trampoline that counts, then calls the application's handler,
 * and reports the application's handler back (oldact, the previous handler). Handlers
 * installed before the library was loaded are taken over at the first blocking call
 * (neutrino_signals_adopt). The signals a fault raises are left alone: they are never held
 * (see spin.rs) and a fault handler must see the faulting frame directly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#define NSIGS 65

/* glibc's own entry point, which nothing interposes. */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

static __thread unsigned long handled __attribute__((tls_model("initial-exec")));

/* The application's handlers: plain ones (sa_handler) and SA_SIGINFO ones (sa_sigaction). */
static void (*_Atomic plain[NSIGS])(int);
static void (*_Atomic with_info[NSIGS])(int, siginfo_t *, void *);

/* Serializes installs, so that the handler reported as previous is the one replaced. */
static atomic_flag installing = ATOMIC_FLAG_INIT;

/* A child forked while another thread installed starts with the installs free. */
static void installs_free(void)
{
    atomic_flag_clear(&installing);
}

static void take_installs(void)
{
    while (atomic_flag_test_and_set_explicit(&installing, memory_order_acquire)) {
    }
}

__attribute__((constructor)) static void fork_safe_installs(void)
{
    pthread_atfork(take_installs, installs_free, installs_free);
}

unsigned long neutrino_signals_handled(void)
{
    return __atomic_load_n(&handled, __ATOMIC_RELAXED);
}

static void count_plain(int sig)
{
    /* Counted first: a handler that longjmps out still interrupted the call. */
    __atomic_store_n(&handled, handled + 1, __ATOMIC_RELAXED);
    void (*h)(int) = atomic_load(&plain[sig]);
    if (h)
        h(sig);
}

static void count_info(int sig, siginfo_t *info, void *uc)
{
    __atomic_store_n(&handled, handled + 1, __ATOMIC_RELAXED);
    void (*h)(int, siginfo_t *, void *) = atomic_load(&with_info[sig]);
    if (h)
        h(sig, info, uc);
}

static int is_fault(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP;
}

/* Whether `sa` runs a handler (sa_handler and sa_sigaction share their storage). */
static int is_handler(const struct sigaction *sa)
{
    return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN && sa->sa_handler != SIG_ERR;
}

static int is_ours(const struct sigaction *sa)
{
    return sa->sa_handler == count_plain || sa->sa_sigaction == count_info;
}

/* What the application sees of a disposition the kernel holds: its own handler. */
static void unwrap(int sig, struct sigaction *sa)
{
    if (sa->sa_flags & SA_SIGINFO) {
        if (sa->sa_sigaction == count_info)
            sa->sa_sigaction = atomic_load(&with_info[sig]);
    } else if (sa->sa_handler == count_plain) {
        sa->sa_handler = atomic_load(&plain[sig]);
    }
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig <= 0 || sig >= NSIGS || is_fault(sig) || !act || !is_handler(act) || is_ours(act)) {
        int r = __sigaction(sig, act, old);
        if (r == 0 && old && sig > 0 && sig < NSIGS)
            unwrap(sig, old);
        return r;
    }
    /* Signals held while installing: a handler that installs one cannot deadlock us. */
    sigset_t all, mask;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &mask);
    take_installs();
    struct sigaction prev, counted = *act;
    int r = __sigaction(sig, NULL, &prev);
    if (r == 0) {
        unwrap(sig, &prev);
        /* The application's handler is recorded before the trampoline that calls it (and
         * put back if the kernel refuses the install). */
        if (act->sa_flags & SA_SIGINFO) {
            void (*was)(int, siginfo_t *, void *) = atomic_exchange(&with_info[sig], act->sa_sigaction);
            counted.sa_sigaction = count_info;
            if ((r = __sigaction(sig, &counted, NULL)) != 0)
                atomic_store(&with_info[sig], was);
        } else {
            void (*was)(int) = atomic_exchange(&plain[sig], act->sa_handler);
            counted.sa_handler = count_plain;
            if ((r = __sigaction(sig, &counted, NULL)) != 0)
                atomic_store(&plain[sig], was);
        }
    }
    int e = errno;
    installs_free();
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    if (r == 0 && old)
        *old = prev;
    errno = e;
    return r;
}

/* signal(): BSD semantics, as glibc's (handler kept, SA_RESTART, the signal held while its
 * handler runs). */
static void (*install(int sig, void (*h)(int), int flags, int hold_self))(int)
{
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = h;
    act.sa_flags = flags;
    sigemptyset(&act.sa_mask);
    if (hold_self && sig > 0 && sig < NSIGS)
        sigaddset(&act.sa_mask, sig);
    if (sigaction(sig, &act, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

void (*signal(int sig, void (*h)(int)))(int)
{
    return install(sig, h, SA_RESTART, 1);
}

void (*bsd_signal(int sig, void (*h)(int)))(int)
{
    return install(sig, h, SA_RESTART, 1);
}

void (*ssignal(int sig, void (*h)(int)))(int)
{
    return install(sig, h, SA_RESTART, 1);
}

/* System V semantics: reset to the default at delivery, not held while it runs. */
void (*sysv_signal(int sig, void (*h)(int)))(int)
{
    return install(sig, h, SA_RESETHAND | SA_NODEFER, 0);
}

void (*__sysv_signal(int sig, void (*h)(int)))(int)
{
    return sysv_signal(sig, h);
}

/* sigset(): SIG_HOLD blocks the signal; anything else installs it and unblocks it. Returns
 * SIG_HOLD when the signal was blocked, else the previous handler. */
void (*sigset(int sig, void (*h)(int)))(int)
{
    sigset_t one, was;
    sigemptyset(&one);
    if (sigaddset(&one, sig) != 0)
        return SIG_ERR;
    if (h == SIG_HOLD) {
        struct sigaction old;
        if (sigprocmask(SIG_BLOCK, &one, &was) != 0 || sigaction(sig, NULL, &old) != 0)
            return SIG_ERR;
        return sigismember(&was, sig) ? SIG_HOLD : old.sa_handler;
    }
    void (*prev)(int) = install(sig, h, 0, 0);
    if (prev == SIG_ERR || sigprocmask(SIG_UNBLOCK, &one, &was) != 0)
        return SIG_ERR;
    return sigismember(&was, sig) ? SIG_HOLD : prev;
}

/* Takes over the handlers installed without the functions above (before the library was
 * loaded). The C library's own signals (32 up to SIGRTMIN) are its business. */
void neutrino_signals_adopt(void)
{
    for (int sig = 1; sig < NSIGS; sig++) {
        if ((sig >= 32 && sig < SIGRTMIN) || sig == SIGKILL || sig == SIGSTOP || is_fault(sig))
            continue;
        struct sigaction cur;
        if (__sigaction(sig, NULL, &cur) != 0)
            continue;
        if (is_handler(&cur) && !is_ours(&cur))
            sigaction(sig, &cur, NULL);
    }
}
