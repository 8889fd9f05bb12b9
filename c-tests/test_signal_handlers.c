/*
 * test_signal_handlers.c - a blocked call spins a while before it sleeps, with signals let
 * through; a handler that runs during that spin must still make the call fail with EINTR
 * once it would sleep (QNX: a signal interrupts a blocked call). The library learns of it by
 * counting handlers, so it installs them itself (sigaction, signal, sigset, sysv_signal
 * interposed): the application still sees its own handlers, with their usual semantics.
 */
#include "harness.h"

#include <sched.h>

static volatile sig_atomic_t hits;
static volatile sig_atomic_t last_value;

static void on_a(int sig)
{
    (void)sig;
    hits++;
}

static void on_b(int sig)
{
    (void)sig;
    hits += 10;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    if (si->si_code == SI_QUEUE)
        last_value = si->si_value.sival_int;
}

static struct sigaction now_of(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    CHECK_OK(sigaction(sig, NULL, &sa));
    return sa;
}

TEST(sigaction_reports_the_handlers_the_application_installed)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_a;
    sa.sa_flags = SA_RESTART;
    CHECK_OK(sigaction(SIGUSR1, &sa, &old));
    CHECK(old.sa_handler == SIG_DFL);
    struct sigaction cur = now_of(SIGUSR1);
    CHECK(cur.sa_handler == on_a);
    CHECK(cur.sa_flags & SA_RESTART);
    sa.sa_handler = on_b;
    CHECK_OK(sigaction(SIGUSR1, &sa, &old));
    CHECK(old.sa_handler == on_a);
    hits = 0;
    raise(SIGUSR1);
    CHECK_EQ(hits, 10);

    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    CHECK_OK(sigaction(SIGUSR1, &sa, &old));
    CHECK(old.sa_handler == on_b);
    cur = now_of(SIGUSR1);
    CHECK(cur.sa_flags & SA_SIGINFO);
    CHECK(cur.sa_sigaction == on_info);
    last_value = 0;
    CHECK_OK(sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 42}));
    CHECK_EQ(last_value, 42);

    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    CHECK_OK(sigaction(SIGUSR1, &sa, &old));
    CHECK(old.sa_sigaction == on_info);
    CHECK(now_of(SIGUSR1).sa_handler == SIG_DFL);
    /* Bad signals fail as the C library's do. */
    CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(0, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(65, &sa, NULL), EINVAL);
}

TEST(signal_sigset_and_sysv_signal_keep_their_semantics)
{
    CHECK(signal(SIGUSR2, on_a) == SIG_DFL);
    CHECK(signal(SIGUSR2, on_b) == on_a);
    struct sigaction cur = now_of(SIGUSR2);
    CHECK(cur.sa_handler == on_b);
    CHECK(cur.sa_flags & SA_RESTART); /* BSD semantics */
    CHECK(signal(SIGKILL, on_a) == SIG_ERR);

    /* System V: back to the default once delivered. */
    CHECK(sysv_signal(SIGUSR2, on_a) == on_b);
    hits = 0;
    raise(SIGUSR2);
    CHECK_EQ(hits, 1);
    CHECK(now_of(SIGUSR2).sa_handler == SIG_DFL);

    /* sigset (deprecated, still used): SIG_HOLD blocks; installing again unblocks and says
     * it was held. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    CHECK(sigset(SIGUSR2, on_a) == SIG_DFL);
    CHECK(sigset(SIGUSR2, SIG_HOLD) == on_a);
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    CHECK(sigismember(&mask, SIGUSR2));
    hits = 0;
    raise(SIGUSR2);
    CHECK_EQ(hits, 0);
    CHECK(sigset(SIGUSR2, on_a) == SIG_HOLD); /* the held one is delivered now */
    CHECK_EQ(hits, 1);
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    CHECK(!sigismember(&mask, SIGUSR2));
#pragma GCC diagnostic pop
    signal(SIGUSR2, SIG_DFL);
}

/* --- A handler that runs while a blocked call spins ------------------------------------ */

/* How long the helpers spin before sleeping (NEUTRINO_SPIN_US): long enough for the signal,
 * sent 50 ms into the call, to find the thread spinning. */
#define LONG_SPIN_US "400000"

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static int two_cpus(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2;
}

/* The calls run in threads pinned to CPUs 0 and 1, so that the waiting one spins (the
 * library spins only for a peer last seen on another CPU); the main thread is left
 * unpinned, since the library decides whether to spin at all from the process's CPUs. */
struct scene {
    int chid, coid;
    atomic_int received;
    long r;
    int err;
    long long took;
};

static void *kick_later(void *arg)
{
    h_sleep_ms(50);
    pthread_kill(*(pthread_t *)arg, SIGUSR1);
    return NULL;
}

/* Makes the calling thread's next call, `call(sc)`, meet SIGUSR1 50 ms in; records how it
 * ended and how long it took. */
static void call_kicked(struct scene *sc, long (*call)(struct scene *))
{
    static pthread_t self;
    self = pthread_self();
    pthread_t t;
    pthread_create(&t, NULL, kick_later, &self);
    long long t0 = h_now_ms();
    sc->r = call(sc);
    sc->err = errno;
    sc->took = h_now_ms() - t0;
    pthread_join(t, NULL);
}

/* It went on spinning after the handler (400 ms in all), then failed with EINTR at once. */
static int interrupted_after_spin(const struct scene *sc, const char *what)
{
    if (sc->r != -1 || sc->err != EINTR || hits != 1 || sc->took < 300 || sc->took > 3000) {
        fprintf(stderr, "%s: %ld errno %d, %d handler runs, after %lld ms\n", what, sc->r, sc->err,
                (int)hits, sc->took);
        return 3;
    }
    return 0;
}

/* CPU 0: receives one message and never replies. */
static void *receive_and_hold(void *arg)
{
    struct scene *sc = arg;
    pin(0);
    char buf[8];
    if (MsgReceive(sc->chid, buf, sizeof buf, NULL) > 0)
        atomic_store(&sc->received, 1);
    pause();
    return NULL;
}

static long send_one(struct scene *sc)
{
    return MsgSend(sc->coid, "x", 2, NULL, 0);
}

/* CPU 1: a MsgSend that the server receives and never replies to. */
static void *send_kicked(void *arg)
{
    pin(1);
    call_kicked(arg, send_one);
    return NULL;
}

/* CPU 0: one message, replied to. */
static void *send_from_cpu0(void *arg)
{
    pin(0);
    send_one(arg);
    return NULL;
}

static long receive_one(struct scene *sc)
{
    char buf[8];
    return MsgReceive(sc->chid, buf, sizeof buf, NULL);
}

/* CPU 1: receives the message from CPU 0, then waits on the empty channel. */
static void *receive_kicked(void *arg)
{
    struct scene *sc = arg;
    pin(1);
    pthread_t client;
    pthread_create(&client, NULL, send_from_cpu0, sc);
    long rcvid = receive_one(sc);
    MsgReply(rcvid, 0, NULL, 0);
    pthread_join(client, NULL);
    call_kicked(sc, receive_one);
    return NULL;
}

/* Opens the scene's channel, installs the handler, starts `background` (if any), then runs
 * `call` in a thread of its own and judges how its call ended. */
static int play(void *(*background)(void *), void *(*call)(void *), const char *what)
{
    static struct scene sc;
    sc.chid = ChannelCreate(0);
    sc.coid = ConnectAttach(0, 0, sc.chid, _NTO_SIDE_CHANNEL, 0);
    if (sc.chid < 0 || sc.coid < 0)
        return 2;
    signal(SIGUSR1, on_a);
    pthread_t bg, t;
    if (background) {
        pthread_create(&bg, NULL, background, &sc);
        h_sleep_ms(20);
    }
    pthread_create(&t, NULL, call, &sc);
    pthread_join(t, NULL);
    if (background && !atomic_load(&sc.received))
        return 2;
    return interrupted_after_spin(&sc, what);
}

/* A MsgSend whose server never replies: the handler runs while the client spins, and
 * MsgSend fails with EINTR when the spin ends. */
HELPER(send_spins_through_a_handler)
{
    (void)rd, (void)wr, (void)arg;
    return play(receive_and_hold, send_kicked, "MsgSend");
}

/* A MsgReceive on an empty channel whose last client ran on the other CPU: the handler
 * runs while it spins, and MsgReceive fails with EINTR when the spin ends. */
HELPER(receive_spins_through_a_handler)
{
    (void)rd, (void)wr, (void)arg;
    return play(NULL, receive_kicked, "MsgReceive");
}

/* glibc's own entry point: installs a handler the library does not see being installed. */
extern int __sigaction(int, const struct sigaction *, struct sigaction *);

/* A handler installed behind the library's back before its first call (as by code that ran
 * before the library was loaded) is taken over: it interrupts a spinning call too. */
HELPER(foreign_handler_spins_through)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_a;
    __sigaction(SIGUSR1, &sa, NULL);
    return send_spins_through_a_handler(rd, wr, arg);
}

static void run_spinning(const char *helper)
{
    if (!two_cpus()) {
        h_note("skipped: one CPU (no call spins)");
        return;
    }
    setenv("NEUTRINO_SPIN_US", LONG_SPIN_US, 1);
    struct h_proc p = h_exec(helper, NULL);
    unsetenv("NEUTRINO_SPIN_US");
    CHECK_CHILD_OK(p.pid, 10000);
    h_close_proc(&p);
}

TEST(a_handler_run_while_a_send_spins_interrupts_it)
{
    run_spinning("send_spins_through_a_handler");
}

TEST(a_handler_run_while_a_receive_spins_interrupts_it)
{
    run_spinning("receive_spins_through_a_handler");
}

TEST(a_handler_installed_before_the_library_interrupts_a_spin)
{
    run_spinning("foreign_handler_spins_through");
}

HARNESS_MAIN
