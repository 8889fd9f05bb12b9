/*
 * test_events.c - QNX sigevents on glibc's struct sigevent: the <sys/siginfo.h> macros, POSIX
 * timers still working beside them, MsgDeliverEvent of every notify type from a server
 * process to a client process (pulse coids resolved in the client's table, signals to the
 * client process or to the thread that sent, SIGEV_THREAD run in the client, SIGEV_UNBLOCK
 * of a blocked client thread), the rcvid's lifetime, the errors, MsgVerifyEvent, and
 * registered events (MsgRegisterEvent / MsgUnregisterEvent, _NTO_COF_REG_EVENTS,
 * _NTO_COF_NOEVENT) (reference §2.5, §3, §6.2, §7.9-§7.11).
 *
 * Most cases are the client: they start "ev_server" processes, send them an event in a
 * message, and tell them over a pipe what to do with it; the case observes the delivery.
 */
#include "harness.h"

/* ------------------------------------------------------------------------------------ */
/* The event server process                                                              */

/* What a client asks in its message; the server always stores the rcvid and the event in
 * `slot` for later pipe commands. */
enum {
    R_KEEP = 1, /* reply 0 */
    R_DELIVER,  /* reply 0, then MsgDeliverEvent; the result (0 / -errno) goes on the pipe */
    R_VERIFY,   /* MsgVerifyEvent, replied as the status (0 / errno) */
    R_HOLD,     /* do not reply; put 0 on the pipe once received */
};
/* Pipe commands (op, slot, arg); each answers one value, 0 or -errno. */
enum {
    P_DELIVER = 1, /* MsgDeliverEvent(slot's rcvid, slot's event) */
    P_DELIVER_VALUE, /* the same with sigev_value.sival_int = arg (the server's value) */
    P_VERIFY,
    P_REPLY, /* MsgReply(slot's rcvid, arg) */
};

struct ev_req {
    int op;
    int slot;
    struct sigevent ev;
};

#define NSLOTS 8
static struct {
    rcvid_t rcvid;
    struct sigevent ev;
} slots[NSLOTS];
static int srv_chid, srv_wr;

static long long result(int r) { return r == 0 ? 0 : -errno; }

static void *srv_receiver(void *arg)
{
    (void)arg;
    for (;;) {
        union {
            struct ev_req q;
            struct _pulse p;
        } m;
        struct _msg_info info;
        rcvid_t r = MsgReceive(srv_chid, &m, sizeof m, &info);
        if (r == -1)
            return NULL;
        if (r == 0) {
            /* The server's own coid has the client's pulse coid's number. */
            FAIL("event server got a pulse (code %d): an event was carried out in the server",
                 m.p.code);
            continue;
        }
        if (info.msglen != sizeof m.q || m.q.slot < 0 || m.q.slot >= NSLOTS) {
            MsgError(r, EINVAL);
            continue;
        }
        slots[m.q.slot].rcvid = r;
        slots[m.q.slot].ev = m.q.ev;
        switch (m.q.op) {
        case R_KEEP:
            MsgReply(r, 0, NULL, 0);
            break;
        case R_DELIVER:
            MsgReply(r, 0, NULL, 0);
            h_put(srv_wr, result(MsgDeliverEvent(r, &m.q.ev)));
            break;
        case R_VERIFY:
            MsgReply(r, MsgVerifyEvent(r, &m.q.ev) == 0 ? 0 : errno, NULL, 0);
            break;
        case R_HOLD:
            h_put(srv_wr, 0);
            break;
        default:
            MsgError(r, EINVAL);
        }
    }
}

/* Puts its chid, then obeys pipe commands until the pipe closes. */
HELPER(ev_server)
{
    (void)arg;
    srv_wr = wr;
    srv_chid = ChannelCreate(0);
    /* A connection of its own, so that the client's first side-channel coid also exists
     * here: a pulse event resolved in the wrong table would come back to this server. */
    if (srv_chid < 0 || ConnectAttach(0, 0, srv_chid, _NTO_SIDE_CHANNEL, 0) < 0) {
        h_put(wr, -errno);
        return 1;
    }
    h_put(wr, srv_chid);
    h_thread(srv_receiver, NULL);
    for (;;) {
        long long op, slot, a;
        if (h_try_get(rd, &op, 30000) || h_try_get(rd, &slot, 2000) || h_try_get(rd, &a, 2000))
            return 0;
        if (slot < 0 || slot >= NSLOTS)
            slot = 0;
        struct sigevent ev = slots[slot].ev;
        rcvid_t r = slots[slot].rcvid;
        switch (op) {
        case P_DELIVER:
            h_put(wr, result(MsgDeliverEvent(r, &ev)));
            break;
        case P_DELIVER_VALUE:
            ev.sigev_value.sival_ptr = (void *)(intptr_t)a;
            h_put(wr, result(MsgDeliverEvent(r, &ev)));
            break;
        case P_VERIFY:
            h_put(wr, result(MsgVerifyEvent(r, &ev)));
            break;
        case P_REPLY:
            h_put(wr, result(MsgReply(r, (long)a, NULL, 0)));
            break;
        default:
            h_put(wr, -EINVAL);
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* The client's side                                                                     */

struct srv {
    struct h_proc p;
    int chid;
    int coid; /* this process's connection to it */
};

static struct srv srv_start(int cof_flags)
{
    struct srv s;
    s.p = h_exec("ev_server", NULL);
    s.chid = (int)h_get(s.p.rd, 5000);
    REQUIRE(s.chid > 0);
    s.coid = (int)REQUIRE_OK(ConnectAttach(0, s.p.pid, s.chid, _NTO_SIDE_CHANNEL, cof_flags));
    return s;
}

/* Ends the server; it must have seen nothing wrong. */
static void srv_stop(struct srv *s)
{
    h_close_proc(&s->p);
    CHECK_CHILD_OK(s->p.pid, 5000);
}

/* The calling thread sends `op` with `ev`; the reply status, or -errno. */
static long srv_send(struct srv *s, int op, int slot, const struct sigevent *ev)
{
    struct ev_req q;
    memset(&q, 0, sizeof q);
    q.op = op;
    q.slot = slot;
    q.ev = *ev;
    long r = MsgSend(s->coid, &q, sizeof q, NULL, 0);
    return r == -1 ? -errno : r;
}

static long long srv_cmd(struct srv *s, int op, int slot, long long arg)
{
    h_put(s->p.wr, op);
    h_put(s->p.wr, slot);
    h_put(s->p.wr, arg);
    return h_get(s->p.rd, 5000);
}

/* The server takes the event from the calling thread's message, replies, delivers it:
 * the delivery's result (0 / -errno). */
static long long srv_deliver(struct srv *s, int slot, const struct sigevent *ev)
{
    long r = srv_send(s, R_DELIVER, slot, ev);
    if (r != 0) {
        FAIL("sending the event to the server: %s", h_errname((int)-r));
        return r;
    }
    return h_get(s->p.rd, 5000);
}

/* MsgVerifyEvent by the server for the calling thread's message: 0 / -errno. */
static long long srv_verify(struct srv *s, const struct sigevent *ev)
{
    long r = srv_send(s, R_VERIFY, 0, ev);
    return r > 0 ? -r : r;
}

static void srv_keep(struct srv *s, int slot, const struct sigevent *ev)
{
    CHECK_EQ(srv_send(s, R_KEEP, slot, ev), 0);
}

#define MARKER_CODE 99

/* Expects the next thing on ch to be a pulse with this code and value. */
static void expect_pulse(struct chan ch, int code, void *value)
{
    struct _pulse p;
    rcvid_t r = -1;
    int err = 0;
    if (!h_receive_within(ch.chid, &p, sizeof p, NULL, 3000, &r, &err)) {
        FAIL("no pulse (code %d) within 3 s", code);
        h_abort();
    }
    CHECK_EQ(r, 0);
    CHECK_EQ(p.type, _PULSE_TYPE);
    CHECK_EQ(p.code, code);
    CHECK_EQ((intptr_t)p.value.sival_ptr, (intptr_t)value);
}

/* Proves nothing is queued on ch: a priority-1 marker pulse is the next thing received. */
static void expect_empty(struct chan ch)
{
    REQUIRE_EQ(MsgSendPulse(ch.coid, 1, MARKER_CODE, 0x4d4b), 0);
    expect_pulse(ch, MARKER_CODE, (void *)0x4d4b);
}

/* What the signal handler saw last. */
static atomic_int g_signals;
static atomic_int g_signo, g_code, g_pid, g_uid, g_tid;
static _Atomic(void *) g_value;
static __thread volatile sig_atomic_t t_signalled;

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    atomic_store(&g_signo, sig);
    atomic_store(&g_code, si->si_code);
    atomic_store(&g_pid, si->si_pid);
    atomic_store(&g_uid, (int)si->si_uid);
    atomic_store(&g_value, si->si_value.sival_ptr);
    atomic_store(&g_tid, (int)h_gettid());
    t_signalled = 1;
    atomic_fetch_add(&g_signals, 1);
}

static void install(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    REQUIRE_EQ(sigaction(sig, &sa, NULL), 0);
}

/* Waits (at most ms) until `count` signals were handled. */
static int signals_within(int count, int ms)
{
    long long deadline = h_now_ms() + ms;
    while (atomic_load(&g_signals) < count && h_now_ms() < deadline)
        h_sleep_ms(1);
    return atomic_load(&g_signals) >= count;
}

#define VAL(x) ((void *)(uintptr_t)(x))

/* ------------------------------------------------------------------------------------ */
/* The header: macros and values                                                         */

TEST(ev_macros_set_the_fields_qnx_says)
{
    struct sigevent e;
    pthread_attr_t attr;
    void (*fn)(union sigval) = (void (*)(union sigval))(uintptr_t)0x1234;
    CHECK_EQ(sizeof(struct sigevent), 64);

    memset(&e, 0xA5, sizeof e);
    SIGEV_NONE_INIT(&e);
    CHECK_EQ(e.sigev_notify, SIGEV_NONE);
    CHECK_EQ(SIGEV_GET_TYPE(&e), SIGEV_NONE);

    memset(&e, 0xA5, sizeof e);
    SIGEV_SIGNAL_INIT(&e, SIGUSR1);
    CHECK_EQ(e.sigev_notify, SIGEV_SIGNAL);
    CHECK_EQ(e.sigev_signo, SIGUSR1);

    SIGEV_SIGNAL_VALUE_INIT(&e, SIGUSR2, 0x123456789aLL);
    CHECK_EQ(e.sigev_notify, SIGEV_SIGNAL);
    CHECK_EQ(e.sigev_signo, SIGUSR2);
    CHECK(e.sigev_value.sival_ptr == VAL(0x123456789aLL));
    SIGEV_SIGNAL_VALUE_PTR_INIT(&e, SIGUSR1, &e);
    CHECK_EQ(e.sigev_notify, SIGEV_SIGNAL);
    CHECK(e.sigev_value.sival_ptr == &e);
    SIGEV_SIGNAL_VALUE_INT_INIT(&e, SIGUSR1, -7);
    CHECK_EQ(e.sigev_notify, SIGEV_SIGNAL | SIGEV_FLAG_SIVAL_INT);
    CHECK_EQ(SIGEV_GET_TYPE(&e), SIGEV_SIGNAL);
    CHECK_EQ(e.sigev_signo, SIGUSR1);
    CHECK_EQ(e.sigev_value.sival_int, -7);

    SIGEV_SIGNAL_CODE_INIT(&e, SIGUSR2, 0xfeedbeefcafeLL, -100);
    CHECK_EQ(e.sigev_notify, SIGEV_SIGNAL_CODE);
    CHECK_EQ(e.sigev_signo, SIGUSR2);
    CHECK(e.sigev_value.sival_ptr == VAL(0xfeedbeefcafeLL));
    CHECK_EQ(e.sigev_code, -100);
    SIGEV_SIGNAL_CODE_PTR_INIT(&e, SIGUSR1, &e, -101);
    CHECK_EQ(e.sigev_notify, SIGEV_SIGNAL_CODE);
    CHECK(e.sigev_value.sival_ptr == &e);
    CHECK_EQ(e.sigev_code, -101);
    SIGEV_SIGNAL_CODE_INT_INIT(&e, SIGUSR1, 42, -102);
    CHECK_EQ(e.sigev_notify, SIGEV_SIGNAL_CODE | SIGEV_FLAG_SIVAL_INT);
    CHECK_EQ(SIGEV_GET_TYPE(&e), SIGEV_SIGNAL_CODE);
    CHECK_EQ(e.sigev_value.sival_int, 42);
    CHECK_EQ(e.sigev_code, -102);

    SIGEV_SIGNAL_THREAD_INIT(&e, SIGUSR2, 77, -103);
    CHECK_EQ(e.sigev_notify, SIGEV_SIGNAL_THREAD);
    CHECK_EQ(e.sigev_signo, SIGUSR2);
    CHECK(e.sigev_value.sival_ptr == VAL(77));
    CHECK_EQ(e.sigev_code, -103);

    memset(&e, 0xA5, sizeof e);
    SIGEV_PULSE_INIT(&e, 0x40000003, 21, 5, 0x1122334455667788ULL);
    CHECK_EQ(e.sigev_notify, SIGEV_PULSE);
    CHECK_EQ(e.sigev_coid, 0x40000003);
    CHECK_EQ(e.sigev_priority, 21);
    CHECK_EQ(e.sigev_code, 5);
    CHECK(e.sigev_value.sival_ptr == VAL(0x1122334455667788ULL));
    SIGEV_PULSE_PTR_INIT(&e, 3, SIGEV_PULSE_PRIO_INHERIT, _PULSE_CODE_MAXAVAIL, &e);
    CHECK_EQ(e.sigev_notify, SIGEV_PULSE);
    CHECK_EQ(e.sigev_coid, 3);
    CHECK_EQ(e.sigev_priority, -1);
    CHECK_EQ(e.sigev_code, 127);
    CHECK(e.sigev_value.sival_ptr == &e);
    SIGEV_PULSE_INT_INIT(&e, 4, 10, 0, -9);
    CHECK_EQ(e.sigev_notify, SIGEV_PULSE | SIGEV_FLAG_SIVAL_INT);
    CHECK_EQ(SIGEV_GET_TYPE(&e), SIGEV_PULSE);
    CHECK_EQ(e.sigev_coid, 4);
    CHECK_EQ(e.sigev_priority, 10);
    CHECK_EQ(e.sigev_code, 0);
    CHECK_EQ(e.sigev_value.sival_int, -9);
    CHECK_EQ(e.sigev_id, 4); /* sigev_id names the same member as sigev_coid */

    SIGEV_UNBLOCK_INIT(&e);
    CHECK_EQ(e.sigev_notify, SIGEV_UNBLOCK);
    SIGEV_INTR_INIT(&e);
    CHECK_EQ(e.sigev_notify, SIGEV_INTR);

    SIGEV_THREAD_INIT(&e, fn, 0xabcdef012345LL, &attr);
    CHECK_EQ(e.sigev_notify, SIGEV_THREAD);
    CHECK(e.sigev_notify_function == fn);
    CHECK(e.sigev_value.sival_ptr == VAL(0xabcdef012345LL));
    CHECK(e.sigev_notify_attributes == &attr);
    /* QNX's members do not overlap glibc's. */
    e.sigev_coid = 1;
    e.sigev_priority = 2;
    e.sigev_code = 3;
    CHECK(e.sigev_notify_function == fn);
    CHECK(e.sigev_notify_attributes == &attr);
    CHECK(e.sigev_value.sival_ptr == VAL(0xabcdef012345LL));
    CHECK_EQ(e.sigev_notify, SIGEV_THREAD);
    e.sigev_signo = SIGUSR1;
    CHECK_EQ(e.sigev_coid, 1);
    CHECK_EQ(e.sigev_priority, 2);
    CHECK_EQ(e.sigev_code, 3);
}

TEST(ev_type_and_flag_macros)
{
    struct sigevent e;
    memset(&e, 0, sizeof e);
    SIGEV_PULSE_INT_INIT(&e, 1, 10, 1, 1);
    SIGEV_MAKE_UPDATEABLE(&e);
    CHECK_EQ(e.sigev_notify, SIGEV_PULSE | SIGEV_FLAG_SIVAL_INT | SIGEV_FLAG_UPDATEABLE);
    SIGEV_SET_TYPE(&e, SIGEV_SIGNAL_CODE); /* the low byte only */
    CHECK_EQ(e.sigev_notify, SIGEV_SIGNAL_CODE | SIGEV_FLAG_SIVAL_INT | SIGEV_FLAG_UPDATEABLE);
    CHECK_EQ(SIGEV_GET_TYPE(&e), SIGEV_SIGNAL_CODE);
    SIGEV_SET_TYPE(&e, SIGEV_NONE);
    CHECK_EQ(SIGEV_GET_TYPE(&e), SIGEV_NONE);
    CHECK_EQ(e.sigev_notify, SIGEV_NONE | SIGEV_FLAG_SIVAL_INT | SIGEV_FLAG_UPDATEABLE);
    SIGEV_CLEAR_UPDATEABLE(&e);
    CHECK_EQ(e.sigev_notify, SIGEV_NONE | SIGEV_FLAG_SIVAL_INT);
    SIGEV_MAKE_CODE_UPDATEABLE(&e);
    SIGEV_MAKE_NOQUEUE(&e);
    SIGEV_MAKE_OVERDRIVE(&e);
    SIGEV_MAKE_CRITICAL(&e);
    CHECK_EQ(e.sigev_notify, SIGEV_NONE | 0x800 | 0x4000 | 0x1000 | 0x200 | 0x100);
    SIGEV_CLEAR_CODE_UPDATEABLE(&e);
    SIGEV_CLEAR_NOQUEUE(&e);
    SIGEV_CLEAR_OVERDRIVE(&e);
    SIGEV_CLEAR_CRITICAL(&e);
    CHECK_EQ(e.sigev_notify, SIGEV_NONE | SIGEV_FLAG_SIVAL_INT);
    CHECK_EQ(SIGEV_GET_SIZE(&e), sizeof(struct sigevent));

    /* QNX's values; every type distinct and inside the type mask. */
    CHECK_EQ(SIGEV_TYPE_MASK, 0xff);
    CHECK_EQ(SIGEV_FLAG_UPDATEABLE, 0x400);
    CHECK_EQ(SIGEV_FLAG_SIVAL_INT, 0x800);
    CHECK_EQ(SIGEV_FLAG_HANDLE, 0x2000);
    CHECK_EQ(SIGEV_FLAG_CODE_UPDATEABLE, 0x4000);
    CHECK_EQ(SIGEV_PULSE_PRIO_INHERIT, -1);
    CHECK_EQ(_NTO_REGEVENT_ALLOW_ANY_SERVER, -1);
    const int types[] = {SIGEV_NONE,  SIGEV_SIGNAL,  SIGEV_SIGNAL_CODE, SIGEV_SIGNAL_THREAD,
                         SIGEV_PULSE, SIGEV_UNBLOCK, SIGEV_INTR,        SIGEV_THREAD};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        CHECK_EQ(types[i] & ~SIGEV_TYPE_MASK, 0);
        for (size_t j = 0; j < i; j++)
            CHECK_NE(types[i], types[j]);
    }
}

static atomic_int g_thread_calls;
static _Atomic(void *) g_thread_value;
static atomic_int g_thread_pid, g_thread_tid;

static void on_thread_event(union sigval v)
{
    atomic_store(&g_thread_value, v.sival_ptr);
    atomic_store(&g_thread_pid, (int)getpid());
    atomic_store(&g_thread_tid, (int)h_gettid());
    atomic_fetch_add(&g_thread_calls, 1);
}

static int thread_calls_within(int count, int ms)
{
    long long deadline = h_now_ms() + ms;
    while (atomic_load(&g_thread_calls) < count && h_now_ms() < deadline)
        h_sleep_ms(1);
    return atomic_load(&g_thread_calls) >= count;
}

/* Neither a signal, nor a SIGEV_THREAD call, nor a pulse on `me` came. */
static void expect_nothing_delivered(struct chan me)
{
    h_sleep_ms(50);
    CHECK_EQ(atomic_load(&g_signals), 0);
    CHECK_EQ(atomic_load(&g_thread_calls), 0);
    expect_empty(me);
}

/* POSIX code beside <sys/neutrino.h>: timer_create with glibc's notify types. */
TEST(ev_posix_timer_create_signal_thread_none_still_work)
{
    int sig = SIGRTMIN + 2;
    install(sig);
    struct sigevent e;
    memset(&e, 0, sizeof e);
    e.sigev_notify = SIGEV_SIGNAL;
    e.sigev_signo = sig;
    e.sigev_value.sival_ptr = VAL(0x5151);
    timer_t t1, t2, t3;
    REQUIRE_EQ(timer_create(CLOCK_MONOTONIC, &e, &t1), 0);
    struct itimerspec its = {{0, 0}, {0, 20 * 1000000L}};
    REQUIRE_EQ(timer_settime(t1, 0, &its, NULL), 0);
    if (!signals_within(1, 3000)) {
        FAIL("SIGEV_SIGNAL timer did not fire within 3 s");
    } else {
        CHECK_EQ(atomic_load(&g_signo), sig);
        CHECK_EQ(atomic_load(&g_code), SI_TIMER);
        CHECK(atomic_load(&g_value) == VAL(0x5151));
    }
    CHECK_EQ(timer_delete(t1), 0);

    /* The QNX initializer for a glibc notify type works with timer_create too. */
    memset(&e, 0, sizeof e);
    SIGEV_THREAD_INIT(&e, on_thread_event, 0x7a7a, NULL);
    REQUIRE_EQ(timer_create(CLOCK_REALTIME, &e, &t2), 0);
    REQUIRE_EQ(timer_settime(t2, 0, &its, NULL), 0);
    if (!thread_calls_within(1, 3000)) {
        FAIL("SIGEV_THREAD timer did not run its function within 3 s");
    } else {
        CHECK(atomic_load(&g_thread_value) == VAL(0x7a7a));
        CHECK_EQ(atomic_load(&g_thread_pid), getpid());
    }
    CHECK_EQ(timer_delete(t2), 0);

    memset(&e, 0, sizeof e);
    SIGEV_NONE_INIT(&e);
    REQUIRE_EQ(timer_create(CLOCK_MONOTONIC, &e, &t3), 0);
    struct itimerspec five = {{0, 0}, {5, 0}}, left;
    REQUIRE_EQ(timer_settime(t3, 0, &five, NULL), 0);
    CHECK_EQ(timer_gettime(t3, &left), 0);
    CHECK(left.it_value.tv_sec <= 5 && (left.it_value.tv_sec > 0 || left.it_value.tv_nsec > 0));
    CHECK_EQ(timer_delete(t3), 0);
    CHECK_EQ(atomic_load(&g_signals), 1);
}

/* ------------------------------------------------------------------------------------ */
/* MsgDeliverEvent across processes                                                      */

TEST(ev_deliver_pulse_coid_resolved_in_client)
{
    struct chan me = open_chan(0);
    struct srv s = srv_start(0);
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 12, 7, 0x1122334455667788ULL);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    expect_pulse(me, 7, VAL(0x1122334455667788ULL));
    /* The _INT_ form: a negative int value. */
    SIGEV_PULSE_INT_INIT(&e, me.coid, 12, _PULSE_CODE_MAXAVAIL, -5);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    struct _pulse p;
    rcvid_t r = -1;
    REQUIRE(h_receive_within(me.chid, &p, sizeof p, NULL, 3000, &r, NULL));
    CHECK_EQ(r, 0);
    CHECK_EQ(p.code, _PULSE_CODE_MAXAVAIL);
    CHECK_EQ(p.value.sival_int, -5);
    /* Its scoid is that of this process's own connection, as for a pulse sent here. */
    int event_scoid = p.scoid;
    CHECK_EQ(MsgSendPulse(me.coid, 10, 1, 1), 0);
    REQUIRE(h_receive_within(me.chid, &p, sizeof p, NULL, 3000, &r, NULL));
    CHECK_EQ(p.scoid, event_scoid);
    expect_empty(me);
    srv_stop(&s);
    close_chan(me);
}

TEST(ev_deliver_pulse_priority_as_given_and_minus_one)
{
    struct chan me = open_chan(0);
    struct srv s = srv_start(0);
    struct sigevent e;
    /* Queued while nobody receives: the order shows the priorities. -1 is this process's
     * base priority (10): after the earlier 10, before 9. */
    CHECK_EQ(MsgSendPulse(me.coid, 10, 1, 1), 0);
    SIGEV_PULSE_INIT(&e, me.coid, 9, 1, 2);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    SIGEV_PULSE_INIT(&e, me.coid, SIGEV_PULSE_PRIO_INHERIT, 1, 3);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    SIGEV_PULSE_INIT(&e, me.coid, 30, 1, 4);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    SIGEV_PULSE_INIT(&e, me.coid, 10, 1, 5);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    expect_pulse(me, 1, VAL(4));
    expect_pulse(me, 1, VAL(1));
    expect_pulse(me, 1, VAL(3));
    expect_pulse(me, 1, VAL(5));
    expect_pulse(me, 1, VAL(2));
    /* Out of range: EINVAL, nothing queued. */
    SIGEV_PULSE_INIT(&e, me.coid, 256, 1, 6);
    CHECK_EQ(srv_deliver(&s, 0, &e), -EINVAL);
    SIGEV_PULSE_INIT(&e, me.coid, -2, 1, 6);
    CHECK_EQ(srv_deliver(&s, 0, &e), -EINVAL);
    expect_empty(me);
    srv_stop(&s);
    close_chan(me);
}

TEST(ev_deliver_signal_to_client_process)
{
    install(SIGUSR1);
    struct srv s = srv_start(0);
    struct sigevent e;
    SIGEV_SIGNAL_VALUE_INIT(&e, SIGUSR1, 0xabcdef0123LL);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    REQUIRE(signals_within(1, 3000));
    CHECK_EQ(atomic_load(&g_signo), SIGUSR1);
    /* QNX's SI_USER arrives as SI_QUEUE (see src/kernel/event.rs), with the server's pid. */
    CHECK_EQ(atomic_load(&g_code), SI_QUEUE);
    CHECK_EQ(atomic_load(&g_pid), s.p.pid);
    CHECK_EQ(atomic_load(&g_uid), (int)getuid());
    CHECK(atomic_load(&g_value) == VAL(0xabcdef0123LL));
    /* The _INT_ form. */
    SIGEV_SIGNAL_VALUE_INT_INIT(&e, SIGUSR1, -3);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    REQUIRE(signals_within(2, 3000));
    CHECK_EQ((int)(intptr_t)atomic_load(&g_value), -3);
    h_sleep_ms(50);
    CHECK_EQ(atomic_load(&g_signals), 2);
    srv_stop(&s);
}

TEST(ev_deliver_signal_code_code_and_value_in_siginfo)
{
    int sig = SIGRTMIN + 1;
    install(sig);
    struct srv s = srv_start(0);
    struct sigevent e;
    SIGEV_SIGNAL_CODE_INIT(&e, sig, 0x5eed, -100);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    REQUIRE(signals_within(1, 3000));
    CHECK_EQ(atomic_load(&g_signo), sig);
    CHECK_EQ(atomic_load(&g_code), -100);
    CHECK(atomic_load(&g_value) == VAL(0x5eed));
    CHECK_EQ(atomic_load(&g_pid), s.p.pid);
    SIGEV_SIGNAL_CODE_INT_INIT(&e, sig, 31, -64);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    REQUIRE(signals_within(2, 3000));
    CHECK_EQ(atomic_load(&g_code), -64);
    CHECK_EQ((int)(intptr_t)atomic_load(&g_value), 31);
    srv_stop(&s);
}

/*
 * Every code <= 0 is valid for SIGEV_SIGNAL_CODE and SIGEV_SIGNAL_THREAD (§3), but -6 is
 * Linux's SI_TKILL, which the kernel lets no thread but the main one queue, and the client's
 * service thread queues the signal: it arrives, with its value, as SI_QUEUE (README).
 */
TEST(ev_deliver_signal_code_minus_six)
{
    int sig = SIGRTMIN + 1;
    install(sig);
    struct srv s = srv_start(0);
    struct sigevent e;
    SIGEV_SIGNAL_CODE_INIT(&e, sig, 0x66, -6);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    if (signals_within(1, 3000)) {
        CHECK_EQ(atomic_load(&g_code), SI_QUEUE);
        CHECK(atomic_load(&g_value) == VAL(0x66));
    } else {
        FAIL("no signal");
    }
    srv_stop(&s);
}

struct sender {
    struct srv *s;
    struct sigevent ev;
    int op;
    long ret;
    int tid;
    int signalled;
};

/* Sends the event, then waits (at most 3 s) for a signal to this very thread. */
static void *signal_thread_sender(void *arg)
{
    struct sender *x = (struct sender *)arg;
    x->tid = (int)h_gettid();
    x->ret = srv_send(x->s, x->op, 0, &x->ev);
    long long deadline = h_now_ms() + 3000;
    while (!t_signalled && h_now_ms() < deadline)
        h_sleep_ms(1);
    x->signalled = t_signalled;
    return NULL;
}

TEST(ev_deliver_signal_thread_reaches_the_sending_thread)
{
    install(SIGUSR2);
    struct srv s = srv_start(0);
    struct sender x = {.s = &s, .op = R_DELIVER};
    SIGEV_SIGNAL_THREAD_INIT(&x.ev, SIGUSR2, 0x7777, -70);
    pthread_t t = h_thread(signal_thread_sender, &x);
    CHECK_EQ(h_get(s.p.rd, 5000), 0);
    JOIN(t, 5000);
    CHECK_EQ(x.ret, 0);
    CHECK_EQ(x.signalled, 1);
    CHECK_EQ(atomic_load(&g_tid), x.tid);
    CHECK_EQ(t_signalled, 0); /* not this (main) thread */
    CHECK_EQ(atomic_load(&g_signals), 1);
    CHECK_EQ(atomic_load(&g_code), -70);
    CHECK(atomic_load(&g_value) == VAL(0x7777));
    srv_stop(&s);
}

static void *keep_sender(void *arg)
{
    struct sender *x = (struct sender *)arg;
    x->tid = (int)h_gettid();
    x->ret = srv_send(x->s, R_KEEP, 0, &x->ev);
    return NULL;
}

/* §7.9: once the sending thread is gone, thread-directed events fail and process-directed
 * ones reach another thread of the client. */
TEST(ev_deliver_after_sending_thread_exited)
{
    install(SIGUSR1);
    struct srv s = srv_start(0);
    struct sender x = {.s = &s};
    SIGEV_SIGNAL_THREAD_INIT(&x.ev, SIGUSR1, 1, -70);
    pthread_t t = h_thread(keep_sender, &x);
    JOIN(t, 5000);
    CHECK_EQ(x.ret, 0);
    CHECK_EQ(srv_cmd(&s, P_DELIVER, 0, 0), -ESRCH);
    SIGEV_SIGNAL_VALUE_INIT(&x.ev, SIGUSR1, 2);
    t = h_thread(keep_sender, &x);
    JOIN(t, 5000);
    CHECK_EQ(srv_cmd(&s, P_DELIVER, 0, 0), 0);
    REQUIRE(signals_within(1, 3000));
    CHECK(atomic_load(&g_value) == VAL(2));
    CHECK_EQ(atomic_load(&g_signals), 1);
    srv_stop(&s);
}

TEST(ev_deliver_sigev_thread_runs_in_client)
{
    struct srv s = srv_start(0);
    struct sigevent e;
    /* Registered: another process's unregistered SIGEV_THREAD is refused (EACCES). */
    SIGEV_THREAD_INIT(&e, on_thread_event, 0x600dcafe1234LL, NULL);
    CHECK_EQ(MsgRegisterEvent(&e, s.coid), 0);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    REQUIRE(thread_calls_within(1, 3000));
    CHECK(atomic_load(&g_thread_value) == VAL(0x600dcafe1234LL));
    CHECK_EQ(atomic_load(&g_thread_pid), getpid());
    CHECK_NE(atomic_load(&g_thread_tid), h_gettid());
    /* With attributes of the client's. */
    pthread_attr_t attr;
    REQUIRE_EQ(pthread_attr_init(&attr), 0);
    REQUIRE_EQ(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED), 0);
    REQUIRE_EQ(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    SIGEV_THREAD_INIT(&e, on_thread_event, 0x99, &attr);
    CHECK_EQ(MsgRegisterEvent(&e, s.coid), 0);
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    REQUIRE(thread_calls_within(2, 3000));
    CHECK(atomic_load(&g_thread_value) == VAL(0x99));
    h_sleep_ms(50);
    CHECK_EQ(atomic_load(&g_thread_calls), 2);
    srv_stop(&s);
    pthread_attr_destroy(&attr);
}

TEST(ev_deliver_none_does_nothing)
{
    install(SIGUSR1);
    struct chan me = open_chan(0);
    struct srv s = srv_start(0);
    struct sigevent e;
    memset(&e, 0, sizeof e);
    SIGEV_NONE_INIT(&e);
    e.sigev_signo = SIGUSR1;
    e.sigev_coid = me.coid;
    CHECK_EQ(srv_deliver(&s, 0, &e), 0);
    expect_nothing_delivered(me);
    srv_stop(&s);
    close_chan(me);
}

/* Unblock events: keeps `ev` with the server, then blocks: in MsgReceive on `chid`, or in a
 * MsgSend to `other` that is held there. */
struct blocker {
    struct srv *s;
    struct srv *other;
    int chid;
    struct sigevent ev;
    long ret;
    int err;
    atomic_int done;
};

static void *unblock_target(void *arg)
{
    struct blocker *b = (struct blocker *)arg;
    if (srv_send(b->s, R_KEEP, 0, &b->ev) != 0)
        FAIL("keeping the unblock event failed");
    errno = 0;
    if (b->other) {
        b->ret = srv_send(b->other, R_HOLD, 0, &b->ev);
        b->err = b->ret < 0 ? (int)-b->ret : 0;
    } else {
        char buf[64];
        b->ret = MsgReceive(b->chid, buf, sizeof buf, NULL);
        b->err = errno;
    }
    atomic_store(&b->done, 1);
    return NULL;
}

TEST(ev_deliver_unblock_thread_blocked_in_receive)
{
    struct chan me = open_chan(0);
    struct srv s = srv_start(0);
    struct blocker b = {.s = &s, .chid = me.chid};
    SIGEV_UNBLOCK_INIT(&b.ev);
    pthread_t t = h_thread(unblock_target, &b);
    h_settle(0, 2000);
    CHECK_EQ(atomic_load(&b.done), 0);
    CHECK_EQ(srv_cmd(&s, P_DELIVER, 0, 0), 0);
    if (h_join(t, 3000, NULL) != 0) {
        FAIL("thread blocked in MsgReceive still blocked 3 s after SIGEV_UNBLOCK");
        h_abort();
    }
    CHECK_EQ(b.ret, -1);
    CHECK_EQ(b.err, ETIMEDOUT);
    expect_empty(me);
    srv_stop(&s);
    close_chan(me);
}

TEST(ev_deliver_unblock_thread_reply_blocked_on_another_server)
{
    struct srv s = srv_start(0), other = srv_start(0);
    struct blocker b = {.s = &s, .other = &other};
    SIGEV_UNBLOCK_INIT(&b.ev);
    pthread_t t = h_thread(unblock_target, &b);
    CHECK_EQ(h_get(other.p.rd, 5000), 0); /* the other server holds the message */
    h_settle(0, 2000);
    CHECK_EQ(atomic_load(&b.done), 0);
    CHECK_EQ(srv_cmd(&s, P_DELIVER, 0, 0), 0);
    if (h_join(t, 3000, NULL) != 0) {
        FAIL("REPLY-blocked thread still blocked 3 s after SIGEV_UNBLOCK");
        srv_cmd(&other, P_REPLY, 0, 0);
        h_abort();
    }
    CHECK_EQ(b.ret, -ETIMEDOUT);
    /* The other server's channel has no _NTO_CHF_UNBLOCK: its reply now finds nobody. */
    CHECK_EQ(srv_cmd(&other, P_REPLY, 0, 0), -ESRCH);
    srv_stop(&s);
    srv_stop(&other);
}

static void *hold_sender(void *arg)
{
    struct blocker *b = (struct blocker *)arg;
    b->ret = srv_send(b->s, R_HOLD, 0, &b->ev);
    atomic_store(&b->done, 1);
    return NULL;
}

/* The server unblocks the very client it has not replied to. */
TEST(ev_deliver_unblock_reply_blocked_client_of_the_same_server)
{
    struct srv s = srv_start(0);
    struct blocker b = {.s = &s};
    SIGEV_UNBLOCK_INIT(&b.ev);
    pthread_t t = h_thread(hold_sender, &b);
    CHECK_EQ(h_get(s.p.rd, 5000), 0);
    h_settle(0, 2000);
    CHECK_EQ(srv_cmd(&s, P_DELIVER, 0, 0), 0);
    if (h_join(t, 3000, NULL) != 0) {
        FAIL("REPLY-blocked client still blocked 3 s after SIGEV_UNBLOCK");
        srv_cmd(&s, P_REPLY, 0, 0);
        h_abort();
    }
    CHECK_EQ(b.ret, -ETIMEDOUT);
    CHECK_EQ(srv_cmd(&s, P_REPLY, 0, 0), -ESRCH);
    srv_stop(&s);
}

struct late_pulse {
    int coid;
    int ms;
};

static void *late_pulse_thread(void *arg)
{
    struct late_pulse *l = (struct late_pulse *)arg;
    h_sleep_ms(l->ms);
    if (MsgSendPulse(l->coid, 10, 3, 3) != 0)
        FAIL("late pulse: %s", h_errname(errno));
    return NULL;
}

/* An unblock for a thread that is not blocked is lost: its next call blocks normally. */
TEST(ev_deliver_unblock_thread_not_blocked_is_forgotten)
{
    struct chan me = open_chan(0);
    struct srv s = srv_start(0);
    struct sigevent e;
    SIGEV_UNBLOCK_INIT(&e);
    srv_keep(&s, 0, &e);
    CHECK_EQ(srv_cmd(&s, P_DELIVER, 0, 0), 0);
    struct late_pulse l = {me.coid, 300};
    long long t0 = h_now_ms();
    pthread_t t = h_thread(late_pulse_thread, &l);
    struct _pulse p;
    CHECK_EQ(MsgReceive(me.chid, &p, sizeof p, NULL), 0);
    CHECK_EQ(p.code, 3);
    CHECK(h_now_ms() - t0 >= 290);
    JOIN(t, 3000);
    srv_stop(&s);
    close_chan(me);
}

TEST(ev_deliver_intr_is_enosys)
{
    struct srv s = srv_start(0);
    struct sigevent e;
    SIGEV_INTR_INIT(&e);
    CHECK_EQ(srv_deliver(&s, 0, &e), -ENOSYS);
    srv_stop(&s);
}

/* ------------------------------------------------------------------------------------ */
/* The rcvid's lifetime and the errors                                                   */

TEST(ev_rcvid_usable_after_reply_until_client_disconnects)
{
    struct chan me = open_chan(0);
    struct srv s = srv_start(0);
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 4, 44);
    srv_keep(&s, 0, &e);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(srv_cmd(&s, P_DELIVER, 0, 0), 0);
    for (int i = 0; i < 3; i++)
        expect_pulse(me, 4, VAL(44));
    /* Other messages on the connection meanwhile do not retire it. */
    SIGEV_NONE_INIT(&e);
    srv_keep(&s, 1, &e);
    CHECK_EQ(srv_cmd(&s, P_DELIVER, 0, 0), 0);
    expect_pulse(me, 4, VAL(44));
    /* The client detaches its only connection: ESRCH. */
    CHECK_EQ(ConnectDetach(s.coid), 0);
    long long deadline = h_now_ms() + 2000, r;
    int late = 0;
    while ((r = srv_cmd(&s, P_DELIVER, 0, 0)) == 0 && h_now_ms() < deadline) {
        late++;
        h_sleep_ms(5);
    }
    CHECK_EQ(r, -ESRCH);
    CHECK_EQ(late, 0);
    for (int i = 0; i < late; i++)
        expect_pulse(me, 4, VAL(44));
    CHECK_EQ(srv_cmd(&s, P_VERIFY, 0, 0), -ESRCH);
    expect_empty(me);
    srv_stop(&s);
    close_chan(me);
}

/* The client's process dies: its rcvids fail with ESRCH. */
HELPER(ev_client)
{
    int pid = 0, chid = 0;
    if (sscanf(arg, "%d %d", &pid, &chid) != 2)
        return 1;
    struct chan me = open_chan(0);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0));
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 6, 66);
    REQUIRE_EQ(MsgSend(coid, &e, sizeof e, NULL, 0), 0);
    struct _pulse p;
    REQUIRE_EQ(MsgReceive(me.chid, &p, sizeof p, NULL), 0);
    h_put(wr, p.code);
    h_put(wr, p.value.sival_int);
    long long v;
    h_try_get(rd, &v, 20000);
    return 0;
}

TEST(ev_rcvid_of_dead_client_esrch)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    char arg[64];
    snprintf(arg, sizeof arg, "%d %d", (int)getpid(), chid);
    struct h_proc c = h_exec("ev_client", arg);
    struct sigevent e;
    struct _msg_info info;
    rcvid_t r = -1;
    REQUIRE(h_receive_within(chid, &e, sizeof e, &info, 5000, &r, NULL));
    REQUIRE(r > 0);
    CHECK_EQ(info.pid, c.pid);
    CHECK_EQ(MsgReply(r, 0, NULL, 0), 0);
    CHECK_EQ(MsgDeliverEvent(r, &e), 0);
    CHECK_EQ(h_get(c.rd, 3000), 6);
    CHECK_EQ(h_get(c.rd, 3000), 66);
    h_kill(c.pid);
    long long deadline = h_now_ms() + 2000;
    int ret;
    while ((ret = MsgDeliverEvent(r, &e)) == 0 && h_now_ms() < deadline)
        h_sleep_ms(5);
    CHECK_EQ(ret, -1);
    CHECK_EQ(errno, ESRCH);
    CHECK_ERR(MsgVerifyEvent(r, &e), ESRCH);
    h_close_proc(&c);
    ChannelDestroy(chid);
}

TEST(ev_bad_rcvid_esrch)
{
    struct chan me = open_chan(0);
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 1, 1);
    CHECK_ERR(MsgDeliverEvent(-1, &e), ESRCH);
    CHECK_ERR(MsgDeliverEvent(0x12345678, &e), ESRCH);
    CHECK_ERR(MsgDeliverEvent(INT_MAX, &e), ESRCH);
    CHECK_ERR(MsgVerifyEvent(0x12345678, &e), ESRCH);
    CHECK_EQ(MsgDeliverEvent_r(0x12345678, &e), -ESRCH);
    CHECK_EQ(MsgVerifyEvent_r(0x12345678, &e), -ESRCH);
    CHECK_ERR(MsgDeliverEvent(0, NULL), EFAULT);
    expect_empty(me);
    close_chan(me);
}

/* Malformed events: EINVAL from delivery and verification, nothing delivered. */
#define NBAD 9
static void malformed(struct sigevent bad[NBAD])
{
    SIGEV_SIGNAL_INIT(&bad[0], 0);
    SIGEV_SIGNAL_INIT(&bad[1], SIGRTMAX + 1);
    SIGEV_SIGNAL_INIT(&bad[2], -1);
    SIGEV_SIGNAL_CODE_INIT(&bad[3], SIGUSR1, 0, 1);
    SIGEV_SIGNAL_THREAD_INIT(&bad[4], SIGUSR1, 0, 5);
    SIGEV_SIGNAL_THREAD_INIT(&bad[5], 0, 0, -1);
    SIGEV_THREAD_INIT(&bad[6], NULL, 0, NULL);
    SIGEV_NONE_INIT(&bad[7]);
    SIGEV_SET_TYPE(&bad[7], 0x7f); /* unknown types */
    SIGEV_NONE_INIT(&bad[8]);
    SIGEV_SET_TYPE(&bad[8], 0x88);
}

TEST(ev_malformed_events_einval)
{
    install(SIGUSR1);
    struct chan me = open_chan(0);
    struct srv s = srv_start(0);
    struct sigevent bad[NBAD];
    memset(bad, 0, sizeof bad);
    malformed(bad);
    for (int i = 0; i < NBAD; i++) {
        bad[i].sigev_coid = me.coid;
        if (srv_deliver(&s, 0, &bad[i]) != -EINVAL)
            FAIL("malformed event %d (notify %#x): MsgDeliverEvent did not fail with EINVAL", i,
                 bad[i].sigev_notify);
        if (srv_verify(&s, &bad[i]) != -EINVAL)
            FAIL("malformed event %d: MsgVerifyEvent did not fail with EINVAL", i);
        errno = 0;
        if (MsgVerifyEvent(0, &bad[i]) != -1 || errno != EINVAL)
            FAIL("malformed event %d: MsgVerifyEvent(0) did not fail with EINVAL", i);
    }
    expect_nothing_delivered(me);
    srv_stop(&s);
    close_chan(me);
}

TEST(ev_pulse_coid_missing_esrch_channel_gone_ebadf)
{
    struct chan me = open_chan(0);
    struct srv s = srv_start(0);
    struct sigevent e;
    /* Numbers that are no connection of this process (what the server's own table holds
     * must not matter). */
    const int missing[] = {0x40000000 + 77, 999, 0};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        SIGEV_PULSE_INIT(&e, missing[i], 10, 1, 1);
        CHECK_EQ(srv_deliver(&s, 0, &e), -ESRCH);
        CHECK_EQ(srv_verify(&s, &e), -ESRCH);
        CHECK_ERR(MsgVerifyEvent(0, &e), ESRCH);
    }
    /* A coid whose channel was destroyed: EBADF. */
    struct chan gone = open_chan(0);
    CHECK_EQ(ChannelDestroy(gone.chid), 0);
    SIGEV_PULSE_INIT(&e, gone.coid, 10, 1, 1);
    CHECK_EQ(srv_deliver(&s, 0, &e), -EBADF);
    CHECK_EQ(srv_verify(&s, &e), -EBADF);
    CHECK_ERR(MsgVerifyEvent(0, &e), EBADF);
    CHECK_ERR(MsgDeliverEvent(0, &e), EBADF);
    /* A coid to another process's channel that was destroyed (the other server dies). */
    struct srv other = srv_start(0);
    SIGEV_PULSE_INIT(&e, other.coid, 10, 1, 1);
    CHECK_EQ(srv_verify(&s, &e), 0);
    h_kill(other.p.pid);
    long long deadline = h_now_ms() + 2000, r;
    while ((r = srv_verify(&s, &e)) == 0 && h_now_ms() < deadline)
        h_sleep_ms(5);
    CHECK_EQ(r, -EBADF);
    CHECK_EQ(srv_deliver(&s, 0, &e), -EBADF);
    h_close_proc(&other.p);
    expect_empty(me);
    ConnectDetach(gone.coid);
    srv_stop(&s);
    close_chan(me);
}

/* rcvid 0: the calling thread, in the calling process. */
TEST(ev_rcvid_zero_is_the_calling_thread)
{
    install(SIGUSR1);
    struct chan me = open_chan(0);
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 8, 0x88);
    CHECK_EQ(MsgDeliverEvent(0, &e), 0);
    expect_pulse(me, 8, VAL(0x88));
    SIGEV_SIGNAL_THREAD_INIT(&e, SIGUSR1, 0x99, -5);
    CHECK_EQ(MsgDeliverEvent(0, &e), 0);
    REQUIRE(signals_within(1, 3000));
    CHECK_EQ(atomic_load(&g_tid), h_gettid());
    CHECK_EQ(t_signalled, 1);
    CHECK_EQ(atomic_load(&g_code), -5);
    CHECK_EQ(atomic_load(&g_pid), getpid());
    SIGEV_THREAD_INIT(&e, on_thread_event, 0x1, NULL);
    CHECK_EQ(MsgDeliverEvent(0, &e), 0);
    REQUIRE(thread_calls_within(1, 3000));
    CHECK_EQ(MsgDeliverEvent_r(0, &e), 0);
    REQUIRE(thread_calls_within(2, 3000));
    close_chan(me);
}

/* ------------------------------------------------------------------------------------ */
/* MsgVerifyEvent                                                                        */

TEST(ev_verify_checks_without_delivering)
{
    install(SIGUSR1);
    struct chan me = open_chan(0);
    struct srv s = srv_start(0);
    struct sigevent ok[5];
    SIGEV_PULSE_INIT(&ok[0], me.coid, 10, 2, 2);
    SIGEV_SIGNAL_INIT(&ok[1], SIGUSR1);
    SIGEV_SIGNAL_CODE_INIT(&ok[2], SIGUSR1, 0, -9);
    SIGEV_SIGNAL_THREAD_INIT(&ok[3], SIGUSR1, 0, -9);
    SIGEV_THREAD_INIT(&ok[4], on_thread_event, 0, NULL);
    /* Another process's SIGEV_THREAD must be registered (see test_hostile_signals.c). */
    struct sigevent thread_reg = ok[4];
    CHECK_EQ(MsgRegisterEvent(&thread_reg, s.coid), 0);
    for (int i = 0; i < 5; i++) {
        const struct sigevent *remote = i == 4 ? &thread_reg : &ok[i];
        CHECK_EQ(srv_verify(&s, remote), 0);
        CHECK_EQ(MsgVerifyEvent(0, &ok[i]), 0);
        /* ...and later, after the reply, with the kept rcvid. */
        srv_keep(&s, 0, remote);
        CHECK_EQ(srv_cmd(&s, P_VERIFY, 0, 0), 0);
    }
    expect_nothing_delivered(me);
    srv_stop(&s);
    close_chan(me);
}

/* ------------------------------------------------------------------------------------ */
/* Registered events                                                                     */

TEST(ev_register_sets_handle_and_only_the_allowed_server_delivers)
{
    struct chan me = open_chan(0);
    struct srv a = srv_start(0), b = srv_start(0);
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 3, 111);
    struct sigevent plain = e;
    CHECK_EQ(MsgRegisterEvent(&e, a.coid), 0);
    CHECK(e.sigev_notify & SIGEV_FLAG_HANDLE);
    CHECK_EQ(plain.sigev_notify & SIGEV_FLAG_HANDLE, 0);
    /* The allowed server delivers; the registered value wins over the server's. */
    CHECK_EQ(srv_deliver(&a, 0, &e), 0);
    expect_pulse(me, 3, VAL(111));
    CHECK_EQ(srv_cmd(&a, P_DELIVER_VALUE, 0, 999), 0);
    expect_pulse(me, 3, VAL(111));
    CHECK_EQ(srv_verify(&a, &e), 0);
    /* Another server may not: EACCES, nothing delivered. */
    CHECK_EQ(srv_deliver(&b, 0, &e), -EACCES);
    CHECK_EQ(srv_verify(&b, &e), -EACCES);
    expect_empty(me);
    /* Registering a handle again, or a malformed event: EINVAL. */
    CHECK_ERR(MsgRegisterEvent(&e, a.coid), EINVAL);
    struct sigevent bad;
    SIGEV_SIGNAL_INIT(&bad, 0);
    CHECK_ERR(MsgRegisterEvent(&bad, a.coid), EINVAL);
    CHECK_EQ(MsgRegisterEvent_r(&bad, a.coid), -EINVAL);
    CHECK_EQ(MsgUnregisterEvent(&e), 0);
    srv_stop(&a);
    srv_stop(&b);
    close_chan(me);
}

TEST(ev_register_signal_event_allowed_server_only)
{
    install(SIGUSR1);
    struct srv a = srv_start(0), b = srv_start(0);
    struct sigevent e;
    SIGEV_SIGNAL_VALUE_INIT(&e, SIGUSR1, 0x1234);
    CHECK_EQ(MsgRegisterEvent(&e, b.coid), 0);
    CHECK_EQ(srv_deliver(&a, 0, &e), -EACCES);
    h_sleep_ms(50);
    CHECK_EQ(atomic_load(&g_signals), 0);
    CHECK_EQ(srv_deliver(&b, 0, &e), 0);
    REQUIRE(signals_within(1, 3000));
    CHECK(atomic_load(&g_value) == VAL(0x1234));
    CHECK_EQ(atomic_load(&g_pid), b.p.pid);
    CHECK_EQ(MsgUnregisterEvent(&e), 0);
    srv_stop(&a);
    srv_stop(&b);
}

TEST(ev_register_allow_any_server)
{
    struct chan me = open_chan(0);
    struct srv a = srv_start(0), b = srv_start(0);
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 4, 222);
    CHECK_EQ(MsgRegisterEvent(&e, _NTO_REGEVENT_ALLOW_ANY_SERVER), 0);
    CHECK(e.sigev_notify & SIGEV_FLAG_HANDLE);
    CHECK_EQ(srv_deliver(&a, 0, &e), 0);
    CHECK_EQ(srv_deliver(&b, 0, &e), 0);
    expect_pulse(me, 4, VAL(222));
    expect_pulse(me, 4, VAL(222));
    CHECK_EQ(MsgUnregisterEvent_r(&e), 0);
    srv_stop(&a);
    srv_stop(&b);
    close_chan(me);
}

TEST(ev_register_updateable_takes_the_servers_value)
{
    struct chan me = open_chan(0);
    struct srv a = srv_start(0);
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 5, 333);
    SIGEV_MAKE_UPDATEABLE(&e);
    CHECK_EQ(MsgRegisterEvent(&e, a.coid), 0);
    srv_keep(&a, 0, &e);
    CHECK_EQ(srv_cmd(&a, P_DELIVER_VALUE, 0, 4444), 0);
    expect_pulse(me, 5, VAL(4444));
    CHECK_EQ(srv_cmd(&a, P_DELIVER_VALUE, 0, 5555), 0);
    expect_pulse(me, 5, VAL(5555));
    CHECK_EQ(MsgUnregisterEvent(&e), 0);
    srv_stop(&a);
    close_chan(me);
}

TEST(ev_unregister_then_delivery_fails)
{
    struct chan me = open_chan(0);
    struct srv a = srv_start(0);
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 6, 666);
    CHECK_EQ(MsgRegisterEvent(&e, a.coid), 0);
    srv_keep(&a, 0, &e);
    CHECK_EQ(srv_cmd(&a, P_DELIVER, 0, 0), 0);
    expect_pulse(me, 6, VAL(666));
    CHECK_EQ(MsgUnregisterEvent(&e), 0);
    long long r = srv_cmd(&a, P_DELIVER, 0, 0);
    if (r == 0)
        FAIL("delivery of an unregistered handle succeeded");
    else
        h_note("delivery of an unregistered handle: %s", h_errname((int)-r));
    CHECK(srv_cmd(&a, P_VERIFY, 0, 0) < 0);
    expect_empty(me);
    /* Unregistering it again, or an event that is no handle, fails. */
    CHECK_EQ(MsgUnregisterEvent(&e), -1);
    struct sigevent plain;
    SIGEV_PULSE_INIT(&plain, me.coid, 10, 6, 666);
    CHECK_EQ(MsgUnregisterEvent(&plain), -1);
    srv_stop(&a);
    close_chan(me);
}

TEST(ev_cof_reg_events_refuses_unregistered_events)
{
    install(SIGUSR1);
    struct chan me = open_chan(0);
    struct srv a = srv_start(_NTO_COF_REG_EVENTS);
    struct sigevent e;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 7, 777);
    CHECK_EQ(srv_deliver(&a, 0, &e), -EACCES);
    CHECK_EQ(srv_verify(&a, &e), -EACCES);
    struct sigevent sig;
    SIGEV_SIGNAL_INIT(&sig, SIGUSR1);
    CHECK_EQ(srv_deliver(&a, 0, &sig), -EACCES);
    expect_nothing_delivered(me);
    CHECK_EQ(MsgRegisterEvent(&e, a.coid), 0);
    CHECK_EQ(srv_deliver(&a, 0, &e), 0);
    expect_pulse(me, 7, VAL(777));
    CHECK_EQ(MsgUnregisterEvent(&e), 0);
    srv_stop(&a);
    close_chan(me);
}

TEST(ev_cof_noevent_refuses_all_events)
{
    install(SIGUSR1);
    struct chan me = open_chan(0);
    struct srv a = srv_start(_NTO_COF_NOEVENT);
    struct sigevent e, sig, reg;
    SIGEV_PULSE_INIT(&e, me.coid, 10, 8, 888);
    SIGEV_SIGNAL_INIT(&sig, SIGUSR1);
    reg = e;
    CHECK_EQ(MsgRegisterEvent(&reg, a.coid), 0);
    CHECK_EQ(srv_deliver(&a, 0, &e), -EACCES);
    CHECK_EQ(srv_deliver(&a, 0, &sig), -EACCES);
    CHECK_EQ(srv_deliver(&a, 0, &reg), -EACCES);
    CHECK_EQ(srv_verify(&a, &e), -EACCES);
    expect_nothing_delivered(me);
    CHECK_EQ(MsgUnregisterEvent(&reg), 0);
    srv_stop(&a);
    close_chan(me);
}

HARNESS_MAIN
