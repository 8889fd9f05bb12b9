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

HARNESS_MAIN
