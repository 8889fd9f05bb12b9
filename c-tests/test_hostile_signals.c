/*
 * test_hostile_signals.c - hostile servers forging events, and the API called from
 * signal handlers.
 *
 * Forged events: a server (another user's process) delivers events its client never
 * registered.  QNX lets a server deliver any unregistered event unless the connection
 * asked for registered ones only (_NTO_COF_REG_EVENTS); the library follows it except
 * for SIGEV_THREAD, which would start a thread at an address the server chose: another
 * process's unregistered SIGEV_THREAD fails with EACCES.  A registered one still runs,
 * with the function the client registered whatever the server writes into the handle.
 *
 * Signal handlers: QNX code sends pulses from its handlers.  A handler for SIGALRM and
 * SIGUSR1, raised at a high rate, MsgSendPulse's to a channel of its own process and to
 * another process's while the main thread is inside the library (attaching, detaching,
 * sending pulses and messages): no deadlock, every pulse accepted is received, and each
 * priority's pulses arrive in the order they were sent.
 */
#include "harness.h"

enum { OP_FORGE = 1, OP_DELIVER = 2 };

struct forge_req {
    int op;
    int pad;
    uint64_t fn; /* an address in the client, as a server might learn it */
    struct sigevent ev;
};

/* Results the hostile server reports for OP_FORGE, in this order. */
enum { F_THREAD_AT_FN, F_THREAD_AT_GARBAGE, F_GUESSED_HANDLES, F_SIGNAL, F_PULSE, F_COUNT };

static long long result(int r) { return r == -1 ? -errno : r; }

/* A server run by `arg` ("nobody": uid 65534) that carries out what its client asks,
 * as a hostile server would on its own. */
HELPER(hostile_event_server)
{
    if (strcmp(arg, "nobody") == 0 && h_become(65534) != 0)
        return 1;
    int chid = ChannelCreate(0);
    h_put(wr, chid < 0 ? -errno : chid);
    (void)rd;
    for (;;) {
        struct forge_req q;
        rcvid_t r = MsgReceive(chid, &q, sizeof q, NULL);
        if (r == -1)
            return 1;
        if (r == 0)
            continue;
        MsgReply(r, 0, NULL, 0);
        struct sigevent ev;
        if (q.op == OP_DELIVER) {
            /* The client's registered handle, with a function of the server's written in. */
            ev = q.ev;
            ev.sigev_notify_function = (void (*)(union sigval))(uintptr_t)0xdead0000;
            h_put(wr, result(MsgDeliverEvent(r, &ev)));
            continue;
        }
        SIGEV_THREAD_INIT(&ev, (void (*)(union sigval))(uintptr_t)q.fn, 0x1111, NULL);
        h_put(wr, result(MsgDeliverEvent(r, &ev)));
        SIGEV_THREAD_INIT(&ev, (void (*)(union sigval))(uintptr_t)0xdead0000, 0x2222, NULL);
        h_put(wr, result(MsgDeliverEvent(r, &ev)));
        /* Handles the client never made: none may be delivered. */
        long long any_ok = 0;
        for (unsigned h = 0; h < 64; h++) {
            SIGEV_THREAD_INIT(&ev, (void (*)(union sigval))(uintptr_t)q.fn, 0x3333, NULL);
            ev.sigev_notify |= SIGEV_FLAG_HANDLE;
            ev.__sigev_handle = (int)h;
            if (MsgDeliverEvent(r, &ev) == 0)
                any_ok = 1;
        }
        h_put(wr, any_ok);
        /* What QNX delivers unregistered: a signal, a pulse on one of the client's coids. */
        SIGEV_SIGNAL_VALUE_INIT(&ev, SIGUSR1, (void *)0x4444);
        h_put(wr, result(MsgDeliverEvent(r, &ev)));
        h_put(wr, result(MsgDeliverEvent(r, &q.ev)));
    }
}

static atomic_int g_pwned, g_ran, g_signals;
static _Atomic(void *) g_ran_value;

static void pwned(union sigval v)
{
    (void)v;
    atomic_fetch_add(&g_pwned, 1);
}

static void registered_fn(union sigval v)
{
    atomic_store(&g_ran_value, v.sival_ptr);
    atomic_fetch_add(&g_ran, 1);
}

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&g_signals, 1);
}

static void forged_events_case(const char *who)
{
    signal(SIGUSR1, on_usr1);
    struct chan me = open_chan(0);
    struct h_proc srv = h_exec("hostile_event_server", who);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0));

    struct forge_req q;
    memset(&q, 0, sizeof q);
    q.op = OP_FORGE;
    q.fn = (uint64_t)(uintptr_t)pwned;
    SIGEV_PULSE_INIT(&q.ev, me.coid, 10, 5, 77);
    REQUIRE_EQ(MsgSend(coid, &q, sizeof q, NULL, 0), 0);
    long long got[F_COUNT];
    for (int i = 0; i < F_COUNT; i++)
        got[i] = h_get(srv.rd, 5000);
    CHECK_EQ(got[F_THREAD_AT_FN], -EACCES);
    CHECK_EQ(got[F_THREAD_AT_GARBAGE], -EACCES);
    CHECK_EQ(got[F_GUESSED_HANDLES], 0);
    CHECK_EQ(got[F_SIGNAL], 0);
    CHECK_EQ(got[F_PULSE], 0);
    struct _pulse p;
    rcvid_t r = -1;
    int err = 0;
    REQUIRE(h_receive_within(me.chid, &p, sizeof p, NULL, 3000, &r, &err));
    CHECK_EQ(r, 0);
    CHECK_EQ(p.code, 5);
    CHECK_EQ(p.value.sival_int, 77);
    for (int i = 0; i < 300 && atomic_load(&g_signals) == 0; i++)
        h_sleep_ms(10);
    CHECK_EQ(atomic_load(&g_signals), 1);

    /* A registered SIGEV_THREAD runs the client's function and value. */
    memset(&q, 0, sizeof q);
    q.op = OP_DELIVER;
    SIGEV_THREAD_INIT(&q.ev, registered_fn, 0x5151, NULL);
    REQUIRE_EQ(MsgRegisterEvent(&q.ev, coid), 0);
    REQUIRE_EQ(MsgSend(coid, &q, sizeof q, NULL, 0), 0);
    CHECK_EQ(h_get(srv.rd, 5000), 0);
    for (int i = 0; i < 300 && atomic_load(&g_ran) == 0; i++)
        h_sleep_ms(10);
    CHECK_EQ(atomic_load(&g_ran), 1);
    CHECK(atomic_load(&g_ran_value) == (void *)0x5151);

    h_sleep_ms(50);
    CHECK_EQ(atomic_load(&g_pwned), 0);
    h_kill(srv.pid);
    h_close_proc(&srv);
    CHECK_EQ(ConnectDetach(coid), 0);
    close_chan(me);
}

TEST(forged_events_from_another_user)
{
    H_NEED_ROOT();
    forged_events_case("nobody");
}

TEST(forged_events_from_the_same_user)
{
    forged_events_case("");
}

/* ------------------------------------------------------------------------------------ */
/* Pulses from signal handlers                                                          */

enum { H_PRIOS = 3 };
static const int h_prio[H_PRIOS] = {9, 10, 11};
/* Pulse codes: 1 + priority index for the handler's, 10 for the main thread's. */
#define MAIN_CODE 10
#define QUIT_CODE 11

static int g_local_coid = -1, g_remote_coid = -1;
/* Per priority, the next sequence number the handler sends; counts of accepted pulses. */
static atomic_int g_seq[H_PRIOS];
static atomic_long g_accepted_local, g_accepted_remote, g_refused;

static void pulse_from_handler(int sig)
{
    (void)sig;
    int saved = errno;
    for (int i = 0; i < H_PRIOS; i++) {
        /* One sequence per priority, shared by both targets: each target sees an
         * increasing subsequence. */
        int seq = atomic_fetch_add(&g_seq[i], 1);
        if (MsgSendPulse(g_local_coid, h_prio[i], 1 + i, seq) == 0)
            atomic_fetch_add(&g_accepted_local, 1);
        else
            atomic_fetch_add(&g_refused, 1);
        if (MsgSendPulse_r(g_remote_coid, h_prio[i], 1 + i, seq) == 0)
            atomic_fetch_add(&g_accepted_remote, 1);
        else
            atomic_fetch_add(&g_refused, 1);
    }
    errno = saved;
}

/* Receives pulses on chid until QUIT_CODE: counts handler pulses, checks each priority's
 * sequence increases.  Returns the count, or -1 on an order violation. */
static long drain_checking(int chid)
{
    long got = 0;
    int last[H_PRIOS] = {-1, -1, -1};
    for (;;) {
        struct _pulse p;
        rcvid_t r = MsgReceive(chid, &p, sizeof p, NULL);
        if (r == -1 && errno == EINTR)
            continue;
        if (r != 0)
            return -2;
        if (p.code == QUIT_CODE)
            return got;
        if (p.code >= 1 && p.code <= H_PRIOS) {
            int i = p.code - 1;
            if (p.value.sival_int <= last[i])
                return -1;
            last[i] = p.value.sival_int;
            got++;
        }
    }
}

/* Another process's channel: counts what arrives, reports it on `wr` at QUIT_CODE. */
HELPER(pulse_sink)
{
    (void)arg;
    (void)rd;
    int chid = ChannelCreate(0);
    h_put(wr, chid < 0 ? -errno : chid);
    h_put(wr, drain_checking(chid));
    return 0;
}

struct local_sink {
    int chid;
    long got;
};

static void *local_sink_thread(void *arg)
{
    struct local_sink *ls = arg;
    ls->got = drain_checking(ls->chid);
    return NULL;
}

static void *echo_thread(void *arg)
{
    int chid = *(int *)arg;
    for (;;) {
        char buf[64];
        rcvid_t r = MsgReceive(chid, buf, sizeof buf, NULL);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        MsgReply(r, 0, buf, sizeof buf);
        if (buf[0] == 'q')
            return NULL;
    }
}

struct raiser {
    pid_t pid;
    atomic_int stop;
    long sent;
};

/* Sends SIGALRM and SIGUSR1 to the process as fast as it may, with a tiny pause. */
static void *raise_thread(void *arg)
{
    struct raiser *rz = arg;
    while (!atomic_load(&rz->stop)) {
        kill(rz->pid, (rz->sent & 1) ? SIGUSR1 : SIGALRM);
        rz->sent++;
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

TEST(pulses_from_signal_handlers)
{
    /* The handler runs on the main thread only: the other threads block both signals. */
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGALRM);
    sigaddset(&both, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &both, NULL);

    struct h_proc sink = h_exec("pulse_sink", "");
    int rchid = (int)h_get(sink.rd, 5000);
    REQUIRE(rchid > 0);
    g_remote_coid = (int)REQUIRE_OK(ConnectAttach(0, sink.pid, rchid, _NTO_SIDE_CHANNEL, 0));
    struct local_sink ls = {(int)REQUIRE_OK(ChannelCreate(0)), 0};
    g_local_coid = (int)REQUIRE_OK(ConnectAttach(0, 0, ls.chid, _NTO_SIDE_CHANNEL, 0));
    int echo_chid = (int)REQUIRE_OK(ChannelCreate(0));
    pthread_t sink_t = h_thread(local_sink_thread, &ls);
    pthread_t echo_t = h_thread(echo_thread, &echo_chid);
    struct raiser rz = {getpid(), 0, 0};
    pthread_t raise_t = h_thread(raise_thread, &rz);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = pulse_from_handler;
    sa.sa_flags = SA_RESTART;
    /* Not nested: each priority's sequence numbers are then sent in order. */
    sa.sa_mask = both;
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    pthread_sigmask(SIG_UNBLOCK, &both, NULL);

    /* The main thread stays inside the library: the locks a handler must not need. */
    long long end = h_now_us() + (long long)(h_hostile_seconds(1.5) * 1e6);
    long rounds = 0, main_pulses = 0;
    while (h_now_us() < end) {
        int c1 = ConnectAttach(0, sink.pid, rchid, _NTO_SIDE_CHANNEL, 0);
        int c2 = ConnectAttach(0, 0, echo_chid, 0, 0);
        char buf[64] = "x";
        /* A signal interrupts a blocking kernel call (EINTR) whatever SA_RESTART says. */
        if (c2 >= 0 && MsgSend(c2, buf, sizeof buf, buf, sizeof buf) < 0)
            CHECK_EQ(errno, EINTR);
        if (c1 >= 0 && MsgSendPulse(c1, 10, MAIN_CODE, 0) == 0)
            main_pulses++;
        if (MsgSendPulse(g_local_coid, 10, MAIN_CODE, 0) == 0)
            main_pulses++;
        if (c1 >= 0)
            ConnectDetach(c1);
        if (c2 >= 0)
            ConnectDetach(c2);
        rounds++;
    }
    atomic_store(&rz.stop, 1);
    JOIN(raise_t, 5000);
    pthread_sigmask(SIG_BLOCK, &both, NULL);

    char q[64] = "q";
    int ec = (int)REQUIRE_OK(ConnectAttach(0, 0, echo_chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(MsgSend(ec, q, sizeof q, q, sizeof q), 0);
    JOIN(echo_t, 5000);
    /* Quit pulses at the lowest priority come after everything queued. */
    CHECK_EQ(MsgSendPulse(g_local_coid, 1, QUIT_CODE, 0), 0);
    CHECK_EQ(MsgSendPulse(g_remote_coid, 1, QUIT_CODE, 0), 0);
    JOIN(sink_t, 10000);
    long remote_got = (long)h_get(sink.rd, 10000);
    h_note("%ld signals raised, %ld main-thread rounds (%ld pulses); handler pulses accepted "
           "local %ld remote %ld, refused %ld",
           rz.sent, rounds, main_pulses, atomic_load(&g_accepted_local),
           atomic_load(&g_accepted_remote), atomic_load(&g_refused));
    CHECK(atomic_load(&g_accepted_local) > 0);
    CHECK(atomic_load(&g_accepted_remote) > 0);
    CHECK_EQ(ls.got, atomic_load(&g_accepted_local));
    CHECK_EQ(remote_got, atomic_load(&g_accepted_remote));
    CHECK_CHILD_OK(sink.pid, 5000);
    h_close_proc(&sink);
}

/* What one MsgSendPulse costs (to this process and to another), for the report. */
TEST(pulse_cost)
{
    struct h_proc sink = h_exec("pulse_sink", "");
    int rchid = (int)h_get(sink.rd, 5000);
    REQUIRE(rchid > 0);
    int rc = (int)REQUIRE_OK(ConnectAttach(0, sink.pid, rchid, _NTO_SIDE_CHANNEL, 0));
    struct local_sink ls = {(int)REQUIRE_OK(ChannelCreate(0)), 0};
    int lc = (int)REQUIRE_OK(ConnectAttach(0, 0, ls.chid, _NTO_SIDE_CHANNEL, 0));
    pthread_t sink_t = h_thread(local_sink_thread, &ls);
    enum { N = 20000 };
    const int coids[2] = {lc, rc};
    const char *names[2] = {"local", "remote"};
    for (int k = 0; k < 2; k++) {
        long long t0 = h_now_us();
        long ok = 0, eagain = 0;
        for (int i = 0; i < N; i++) {
            if (MsgSendPulse(coids[k], 10, 1, i) == 0)
                ok++;
            else if (errno == EAGAIN)
                eagain++;
        }
        long long t1 = h_now_us();
        h_note("MsgSendPulse %s: %.0f ns per pulse (%ld of %d accepted, %ld EAGAIN)", names[k],
               (double)(t1 - t0) * 1000.0 / N, ok, N, eagain);
        CHECK(ok > 0);
    }
    CHECK_EQ(MsgSendPulse(lc, 1, QUIT_CODE, 0), 0);
    CHECK_EQ(MsgSendPulse(rc, 1, QUIT_CODE, 0), 0);
    JOIN(sink_t, 10000);
    CHECK(ls.got >= 0);
    CHECK((long)h_get(sink.rd, 10000) >= 0);
    CHECK_CHILD_OK(sink.pid, 5000);
    h_close_proc(&sink);
}

HARNESS_MAIN
