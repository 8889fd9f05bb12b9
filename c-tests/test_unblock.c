/*
 * test_unblock.c - leaving a blocked state other than by a reply: signals (EINTR, and
 * the _NTO_CHF_UNBLOCK protocol with _PULSE_CODE_UNBLOCK / _NTO_MI_UNBLOCK_REQ),
 * ConnectDetach by another thread (EBADF), thread cancellation (MsgSend / MsgReceive
 * are cancellation points, the nc variants are not) (reference §4.2, §6.3, §7.0-7.3,
 * §8.4).
 */
#include "harness.h"

/* AddressSanitizer cannot follow a thread that pthread_cancel() unwinds: the shadow of the
 * frames it skips stays poisoned and its thread teardown then reports false errors. The plain
 * run covers these cases. */
#ifdef H_ASAN
#define SKIP_UNDER_ASAN()                                                       \
    do {                                                                        \
        printf("    (skipped under AddressSanitizer)\n");                       \
        return;                                                                 \
    } while (0)
#else
#define SKIP_UNDER_ASAN() ((void)0)
#endif

static void on_usr1(int sig) { (void)sig; }

static void install_usr1(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART */
    REQUIRE_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
}

struct client {
    int coid;
    int nc;
    long ret;
    int err;
    int done; /* __atomic builtins */
    char in[8];
};

static void *client_thread(void *arg)
{
    struct client *c = (struct client *)arg;
    errno = 0;
    if (c->nc)
        c->ret = MsgSendnc(c->coid, "blocked", 8, c->in, sizeof c->in);
    else
        c->ret = MsgSend(c->coid, "blocked", 8, c->in, sizeof c->in);
    c->err = errno;
    /* __atomic builtins, not the <stdatomic.h> macros: a thread that is cancelled must
     * not own address-taken locals (ASan can't unpoison a frame that was unwound). */
    __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Receives the next message and checks it is `want` (proves nothing else was queued). */
static void expect_next_message(int chid, const char *want)
{
    char b[16] = {0};
    rcvid_t r = MsgReceive(chid, b, sizeof b, NULL);
    REQUIRE(r > 0);
    if (strcmp(b, want) != 0)
        FAIL("next message is '%s', want '%s'", b, want);
    MsgReply(r, 0, NULL, 0);
}

struct marker {
    int coid;
    long ret;
};

static void *marker_thread(void *arg)
{
    struct marker *m = (struct marker *)arg;
    m->ret = MsgSend(m->coid, "marker", 7, NULL, 0);
    return NULL;
}

static void send_marker_and_expect_it(struct chan ch)
{
    struct marker m = {.coid = ch.coid};
    pthread_t t = h_thread(marker_thread, &m);
    expect_next_message(ch.chid, "marker");
    JOIN(t, 5000);
    CHECK_EQ(m.ret, 0);
}

/* MsgReceive on a helper thread, so a missing pulse is a failure, not a hang. */
struct timed_rx {
    int chid;
    rcvid_t rcvid;
    int err;
    union {
        struct _pulse pulse;
        char raw[64];
    } u;
};

static void *timed_rx_thread(void *arg)
{
    struct timed_rx *t = (struct timed_rx *)arg;
    errno = 0;
    t->rcvid = MsgReceive(t->chid, &t->u, sizeof t->u, NULL);
    t->err = errno;
    return NULL;
}

/* Starts the receive; returns 1 if it finished within timeout_ms (thread joined). */
static int timed_receive(struct timed_rx *t, pthread_t *th, int timeout_ms)
{
    memset(&t->u, 0x5A, sizeof t->u);
    t->rcvid = -2;
    *th = h_thread(timed_rx_thread, t);
    return h_join(*th, timeout_ms, NULL) == 0;
}

TEST(ub_signal_while_send_blocked_eintr)
{
    install_usr1();
    struct chan ch = open_chan(_NTO_CHF_UNBLOCK); /* SEND-blocked: never held (§4.2) */
    struct client c = {.coid = ch.coid};
    pthread_t t = h_thread(client_thread, &c);
    h_settle(0, 2000);
    CHECK_EQ(__atomic_load_n(&c.done, __ATOMIC_SEQ_CST), 0);
    pthread_kill(t, SIGUSR1);
    /* A signal that lands between the call's unmasking and its sleep runs its handler
     * without ending the call (README, "Known limits"): then one more. */
    for (int ms = 0; ms < 1000 && !__atomic_load_n(&c.done, __ATOMIC_SEQ_CST); ms += 5)
        h_sleep_ms(5);
    if (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST)) {
        h_note("the first SIGUSR1 fell in the unmask-to-sleep window: sent again");
        pthread_kill(t, SIGUSR1);
    }
    JOIN(t, 3000);
    CHECK_EQ(c.ret, -1);
    CHECK_EQ(c.err, EINTR);
    /* The interrupted message was removed from the queue. */
    send_marker_and_expect_it(ch);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

/* settle 0: signal right after the receive (the client has only just become
 * REPLY-blocked); 1: let it settle into its wait first. */
static void reply_blocked_signal_case(int settle)
{
    install_usr1();
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid};
    pthread_t t = h_thread(client_thread, &c);
    char b[16];
    rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, NULL);
    REQUIRE(rcvid > 0);
    if (settle)
        h_settle(0, 2000);
    pthread_kill(t, SIGUSR1);
    if (h_join(t, 3000, NULL) != 0) {
        FAIL("REPLY-blocked client (channel without _NTO_CHF_UNBLOCK) still blocked 3 s "
             "after a signal");
        MsgReply(rcvid, 0, NULL, 0);
        JOIN(t, 3000);
        return;
    }
    CHECK_EQ(c.ret, -1);
    CHECK_EQ(c.err, EINTR);
    /* The server only finds out when its reply fails. */
    CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

TEST(ub_signal_while_reply_blocked_without_unblock_flag_eintr)
{
    reply_blocked_signal_case(0);
}

TEST(ub_signal_while_reply_blocked_settled_without_unblock_flag_eintr)
{
    reply_blocked_signal_case(1);
}

TEST(ub_signal_while_reply_blocked_with_unblock_flag_is_held)
{
    install_usr1();
    struct chan ch = open_chan(_NTO_CHF_UNBLOCK);
    struct client c = {.coid = ch.coid};
    pthread_t t = h_thread(client_thread, &c);
    char b[32];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, &info);
    REQUIRE(rcvid > 0);
    pthread_kill(t, SIGUSR1);
    /* The server gets an unblock pulse: value = rcvid, scoid = the client's scoid. */
    struct timed_rx rx = {.chid = ch.chid};
    pthread_t rxt;
    int got = timed_receive(&rx, &rxt, 2000);
    if (!got) {
        FAIL("no _PULSE_CODE_UNBLOCK pulse within 2 s of signalling the REPLY-blocked client");
    } else {
        CHECK_EQ(rx.rcvid, 0);
        CHECK_EQ(rx.u.pulse.type, _PULSE_TYPE);
        CHECK_EQ(rx.u.pulse.subtype, _PULSE_SUBTYPE);
        CHECK_EQ(rx.u.pulse.code, _PULSE_CODE_UNBLOCK);
        CHECK_EQ(rx.u.pulse.value.sival_int, (int)rcvid);
        CHECK_EQ(rx.u.pulse.scoid, info.scoid);
    }
    /* The client is held REPLY-blocked with _NTO_MI_UNBLOCK_REQ visible. */
    CHECK_EQ(__atomic_load_n(&c.done, __ATOMIC_SEQ_CST), 0);
    struct _msg_info now;
    CHECK_EQ(MsgInfo(rcvid, &now), 0);
    CHECK(now.flags & _NTO_MI_UNBLOCK_REQ);
    CHECK_EQ(MsgReply(rcvid, 5, "held", 5), 0);
    JOIN(t, 3000);
    if (c.ret != 5)
        FAIL("client: MsgSend = %ld (%s), want the reply status 5", c.ret, h_errname(c.err));
    else
        CHECK_MEM(c.in, "held", 5);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
    if (!got)
        JOIN(rxt, 3000);
}

TEST(ub_msg_error_minus_one_gives_unblock_cause)
{
    install_usr1();
    struct chan ch = open_chan(_NTO_CHF_UNBLOCK);
    struct client c = {.coid = ch.coid};
    pthread_t t = h_thread(client_thread, &c);
    char b[32];
    rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, NULL);
    REQUIRE(rcvid > 0);
    pthread_kill(t, SIGUSR1);
    struct timed_rx rx = {.chid = ch.chid};
    pthread_t rxt;
    if (!timed_receive(&rx, &rxt, 2000)) {
        FAIL("no _PULSE_CODE_UNBLOCK pulse within 2 s");
        MsgError(rcvid, EINTR);
        JOIN(t, 3000);
        ConnectDetach(ch.coid);
        ChannelDestroy(ch.chid);
        JOIN(rxt, 3000);
        return;
    }
    CHECK_EQ(rx.rcvid, 0);
    CHECK_EQ(rx.u.pulse.code, _PULSE_CODE_UNBLOCK);
    /* 7.0.1+: MsgError(rcvid, -1) fails the client with the unblock's cause. */
    CHECK_EQ(MsgError(rx.u.pulse.value.sival_int, -1), 0);
    JOIN(t, 3000);
    CHECK_EQ(c.ret, -1);
    CHECK_EQ(c.err, EINTR);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

TEST(ub_reply_removes_pending_unblock_pulse)
{
    /* §4.2: on reply, a still-queued unblock pulse for that rcvid is removed. */
    install_usr1();
    struct chan ch = open_chan(_NTO_CHF_UNBLOCK);
    struct client c = {.coid = ch.coid};
    pthread_t t = h_thread(client_thread, &c);
    char b[32];
    rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, NULL);
    REQUIRE(rcvid > 0);
    pthread_kill(t, SIGUSR1);
    h_sleep_ms(50); /* the pulse is queued */
    CHECK_EQ(MsgReply(rcvid, 1, NULL, 0), 0);
    JOIN(t, 3000);
    CHECK_EQ(c.ret, 1);
    /* The next thing on the channel is the marker, not a stale pulse. */
    send_marker_and_expect_it(ch);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

struct rblocked {
    int chid;
    rcvid_t r;
    int err;
};

static void *rblocked_thread(void *arg)
{
    struct rblocked *b = (struct rblocked *)arg;
    char buf[16];
    errno = 0;
    b->r = MsgReceive(b->chid, buf, sizeof buf, NULL);
    b->err = errno;
    return NULL;
}

TEST(ub_signal_while_receive_blocked_eintr)
{
    /* §7.2: EINTR when a signal arrives while RECEIVE-blocked. */
    install_usr1();
    struct chan ch = open_chan(0);
    struct rblocked b = {.chid = ch.chid};
    pthread_t t = h_thread(rblocked_thread, &b);
    h_settle(0, 2000);
    pthread_kill(t, SIGUSR1);
    if (h_join(t, 3000, NULL) != 0) {
        FAIL("RECEIVE-blocked thread not interrupted by a signal within 3 s");
        ChannelDestroy(ch.chid);
        JOIN(t, 3000);
        return;
    }
    CHECK_EQ(b.r, -1);
    CHECK_EQ(b.err, EINTR);
    send_marker_and_expect_it(ch);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

TEST(ub_detach_by_other_thread_send_blocked_ebadf)
{
    struct chan ch = open_chan(0);
    int coid2 = (int)REQUIRE_OK(ConnectAttach(0, 0, ch.chid, _NTO_SIDE_CHANNEL, 0));
    struct client c = {.coid = coid2};
    pthread_t t = h_thread(client_thread, &c);
    h_settle(0, 2000);
    CHECK_EQ(ConnectDetach(coid2), 0);
    JOIN(t, 3000);
    CHECK_EQ(c.ret, -1);
    CHECK_EQ(c.err, EBADF);
    send_marker_and_expect_it(ch);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

TEST(ub_detach_by_other_thread_reply_blocked_ebadf)
{
    struct chan ch = open_chan(0);
    int coid2 = (int)REQUIRE_OK(ConnectAttach(0, 0, ch.chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE));
    struct client c = {.coid = coid2};
    pthread_t t = h_thread(client_thread, &c);
    char b[16];
    rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(ConnectDetach(coid2), 0);
    JOIN(t, 3000);
    CHECK_EQ(c.ret, -1);
    CHECK_EQ(c.err, EBADF);
    CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

TEST(ub_detach_by_other_thread_reply_blocked_with_unblock_flag_is_held)
{
    /* §6.3: with _NTO_CHF_UNBLOCK a REPLY-blocked sender goes through the unblock
     * protocol when another thread detaches its coid: held, pulse, then released. */
    struct chan ch = open_chan(_NTO_CHF_UNBLOCK);
    int coid2 = (int)REQUIRE_OK(ConnectAttach(0, 0, ch.chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE));
    struct client c = {.coid = coid2};
    pthread_t t = h_thread(client_thread, &c);
    char b[16];
    rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(ConnectDetach(coid2), 0);
    struct timed_rx rx = {.chid = ch.chid};
    pthread_t rxt;
    int got = timed_receive(&rx, &rxt, 2000);
    if (!got) {
        FAIL("no _PULSE_CODE_UNBLOCK within 2 s of detaching a REPLY-blocked client's coid");
    } else {
        CHECK_EQ(rx.rcvid, 0);
        CHECK_EQ(rx.u.pulse.code, _PULSE_CODE_UNBLOCK);
        CHECK_EQ(rx.u.pulse.value.sival_int, (int)rcvid);
    }
    CHECK_EQ(__atomic_load_n(&c.done, __ATOMIC_SEQ_CST), 0); /* held until the server answers */
    CHECK_EQ(MsgError(rcvid, -1), 0);
    JOIN(t, 3000);
    CHECK_EQ(c.ret, -1);
    CHECK_EQ(c.err, EBADF);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
    if (!got)
        JOIN(rxt, 3000);
}

/* ---------------------------------------------------------------------------------- */
/* Cancellation                                                                        */

TEST(ub_cancel_thread_send_blocked)
{
    SKIP_UNDER_ASAN();
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid};
    pthread_t t = h_thread(client_thread, &c);
    h_settle(0, 2000);
    CHECK_EQ(pthread_cancel(t), 0);
    void *res = NULL;
    if (h_join(t, 3000, &res) != 0) {
        FAIL("thread SEND-blocked in MsgSend was not cancelled within 3 s");
        h_abort();
    }
    CHECK(res == PTHREAD_CANCELED);
    CHECK_EQ(__atomic_load_n(&c.done, __ATOMIC_SEQ_CST), 0);
    /* Its message is gone from the queue. */
    send_marker_and_expect_it(ch);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

struct rthread {
    int chid;
    rcvid_t r;
    char b[16];
};

static void *receiver_thread(void *arg)
{
    struct rthread *r = (struct rthread *)arg;
    r->r = MsgReceive(r->chid, r->b, sizeof r->b, NULL);
    return NULL;
}

TEST(ub_cancel_thread_receive_blocked)
{
    SKIP_UNDER_ASAN();
    struct chan ch = open_chan(0);
    struct rthread r = {.chid = ch.chid, .r = 12345};
    pthread_t t = h_thread(receiver_thread, &r);
    h_settle(0, 2000);
    CHECK_EQ(pthread_cancel(t), 0);
    void *res = NULL;
    if (h_join(t, 3000, &res) != 0) {
        FAIL("thread RECEIVE-blocked in MsgReceive was not cancelled within 3 s");
        h_abort();
    }
    CHECK(res == PTHREAD_CANCELED);
    CHECK_EQ(r.r, 12345);
    /* The channel still delivers to the next receiver. */
    send_marker_and_expect_it(ch);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

TEST(ub_cancel_thread_reply_blocked)
{
    SKIP_UNDER_ASAN();
    /* Without _NTO_CHF_UNBLOCK a cancelled REPLY-blocked thread goes at once; the
     * server's later reply fails with ESRCH. */
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid};
    pthread_t t = h_thread(client_thread, &c);
    char b[16];
    rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, NULL);
    REQUIRE(rcvid > 0);
    h_settle(0, 2000);
    CHECK_EQ(pthread_cancel(t), 0);
    void *res = NULL;
    if (h_join(t, 3000, &res) != 0) {
        FAIL("REPLY-blocked thread was not cancelled within 3 s");
        MsgReply(rcvid, 0, NULL, 0);
        JOIN(t, 3000);
    } else {
        CHECK(res == PTHREAD_CANCELED);
        CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH);
    }
    send_marker_and_expect_it(ch);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

struct pend {
    int coid;
    int nc;
    int go;       /* __atomic builtins */
    int returned; /* __atomic builtins */
    long ret;
};

static void *pending_cancel_sender(void *arg)
{
    struct pend *p = (struct pend *)arg;
    /* Spin (no cancellation point) until the main thread has called pthread_cancel. */
    while (!__atomic_load_n(&p->go, __ATOMIC_SEQ_CST)) {
    }
    if (p->nc)
        p->ret = MsgSendnc(p->coid, "nc", 3, NULL, 0);
    else
        p->ret = MsgSend(p->coid, "c", 2, NULL, 0);
    __atomic_store_n(&p->returned, 1, __ATOMIC_SEQ_CST);
    pthread_testcancel();
    return NULL;
}

TEST(ub_pending_cancel_acts_at_msgsend)
{
    SKIP_UNDER_ASAN();
    /* §7.1 step 2: a pending cancellation is acted on before sending. */
    struct chan ch = open_chan(0);
    struct pend p = {.coid = ch.coid};
    pthread_t t = h_thread(pending_cancel_sender, &p);
    CHECK_EQ(pthread_cancel(t), 0);
    __atomic_store_n(&p.go, 1, __ATOMIC_SEQ_CST);
    void *res = NULL;
    if (h_join(t, 3000, &res) != 0) {
        FAIL("MsgSend with a pending cancel blocked instead of cancelling");
        h_abort();
    }
    CHECK(res == PTHREAD_CANCELED);
    CHECK_EQ(__atomic_load_n(&p.returned, __ATOMIC_SEQ_CST), 0);
    send_marker_and_expect_it(ch);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

static void *nc_server(void *arg)
{
    int chid = (int)(intptr_t)arg;
    char b[8];
    rcvid_t r = MsgReceive(chid, b, sizeof b, NULL);
    if (r > 0)
        MsgReply(r, 66, NULL, 0);
    return NULL;
}

TEST(ub_pending_cancel_ignored_by_msgsendnc)
{
    SKIP_UNDER_ASAN();
    /* The nc variants are not cancellation points: the send completes. */
    struct chan ch = open_chan(0);
    pthread_t s = h_thread(nc_server, (void *)(intptr_t)ch.chid);
    struct pend p = {.coid = ch.coid, .nc = 1};
    pthread_t t = h_thread(pending_cancel_sender, &p);
    CHECK_EQ(pthread_cancel(t), 0);
    __atomic_store_n(&p.go, 1, __ATOMIC_SEQ_CST);
    void *res = NULL;
    if (h_join(t, 3000, &res) != 0) {
        FAIL("MsgSendnc thread did not finish");
        h_abort();
    }
    CHECK_EQ(__atomic_load_n(&p.returned, __ATOMIC_SEQ_CST), 1);
    CHECK_EQ(p.ret, 66);
    CHECK(res == PTHREAD_CANCELED); /* cancelled later, at pthread_testcancel */
    JOIN(s, 3000);
    ConnectDetach(ch.coid);
    ChannelDestroy(ch.chid);
}

HARNESS_MAIN
