/*
 * test_disconnect.c - the server side of a connection's life: with _NTO_CHF_DISCONNECT
 * the server gets _PULSE_CODE_DISCONNECT (scoid = the client's connection) once the last
 * link of a client process is gone (detach, exit or SIGKILL), must ConnectDetach the scoid
 * afterwards (EINVAL before); without the flag nothing is delivered
 * (reference §4.2, §5.2, §6.1, §6.3, §8.6; DESIGN "What users do with it" 3).
 */
#include "harness.h"

union msg {
    struct _pulse pulse;
    char raw[64];
};

struct tclient {
    int coid;
    const char *msg;
    long ret;
    int err;
};

static void *tclient_thread(void *arg)
{
    struct tclient *c = (struct tclient *)arg;
    errno = 0;
    c->ret = MsgSend(c->coid, c->msg, strlen(c->msg) + 1, NULL, 0);
    c->err = errno;
    return NULL;
}

/* Sends `msg` on coid from a thread; receives it here; returns the scoid the server saw. */
static int send_and_get_scoid(int chid, int coid, const char *msg)
{
    struct tclient c = {.coid = coid, .msg = msg};
    pthread_t t = h_thread(tclient_thread, &c);
    union msg m;
    struct _msg_info info;
    rcvid_t r = 0;
    int err = 0;
    if (!h_receive_within(chid, &m, sizeof m, &info, 3000, &r, &err) || r <= 0) {
        FAIL("message '%s' not received (rcvid %lld, %s)", msg, (long long)r, h_errname(err));
        h_abort();
    }
    if (strcmp(m.raw, msg) != 0)
        FAIL("received '%s', want '%s'", m.raw, msg);
    CHECK_EQ(MsgReply(r, 0, NULL, 0), 0);
    JOIN(t, 3000);
    CHECK_EQ(c.ret, 0);
    return info.scoid;
}

/* Expects a DISCONNECT pulse for `scoid` as the next thing on chid within timeout_ms. */
static void expect_disconnect(int chid, int scoid, int timeout_ms)
{
    union msg m;
    rcvid_t r = -1;
    int err = 0;
    long long t0 = h_now_ms();
    if (!h_receive_within(chid, &m, sizeof m, NULL, timeout_ms, &r, &err)) {
        FAIL("no _PULSE_CODE_DISCONNECT within %d ms", timeout_ms);
        return;
    }
    if (r != 0) {
        FAIL("expected a pulse, MsgReceive returned %lld (%s)", (long long)r, h_errname(err));
        if (r > 0)
            MsgReply(r, 0, NULL, 0);
        return;
    }
    CHECK_EQ(m.pulse.type, _PULSE_TYPE);
    CHECK_EQ(m.pulse.subtype, _PULSE_SUBTYPE);
    CHECK_EQ(m.pulse.code, _PULSE_CODE_DISCONNECT);
    CHECK_EQ(m.pulse.scoid, scoid);
    long long ms = h_now_ms() - t0;
    if (ms > 1000)
        FAIL("DISCONNECT took %lld ms", ms);
}

/* Expects a message (not a pulse) with text `want` as the next thing on chid. */
static void expect_message_next(int chid, int coid, const char *want)
{
    struct tclient c = {.coid = coid, .msg = want};
    pthread_t t = h_thread(tclient_thread, &c);
    union msg m;
    rcvid_t r = -1;
    int err = 0;
    if (!h_receive_within(chid, &m, sizeof m, NULL, 3000, &r, &err)) {
        FAIL("nothing received");
        h_abort();
    }
    if (r == 0)
        FAIL("unexpected pulse (code %d, scoid %#x) before message '%s'", m.pulse.code,
             m.pulse.scoid, want);
    else if (r > 0)
        CHECK(strcmp(m.raw, want) == 0);
    if (r > 0) {
        MsgReply(r, 0, NULL, 0);
    } else if (r == 0) {
        /* the message is still queued: take it */
        rcvid_t r2 = MsgReceive(chid, &m, sizeof m, NULL);
        if (r2 > 0)
            MsgReply(r2, 0, NULL, 0);
    }
    JOIN(t, 3000);
}

TEST(disc_pulse_after_last_shared_detach)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_DISCONNECT));
    int a = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int b = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int marker = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE));
    int scoid = send_and_get_scoid(chid, a, "via-a");
    CHECK(scoid & _NTO_SIDE_CHANNEL);
    CHECK_EQ(send_and_get_scoid(chid, b, "via-b"), scoid);
    /* §6.3: detaching a scoid that still has client links is EINVAL. */
    CHECK_ERR(ConnectDetach(scoid), EINVAL);
    /* One of two links gone: no pulse yet. */
    CHECK_EQ(ConnectDetach(a), 0);
    expect_message_next(chid, marker, "marker-1");
    /* Last link gone: DISCONNECT for that scoid. */
    CHECK_EQ(ConnectDetach(b), 0);
    expect_disconnect(chid, scoid, 2000);
    /* The server frees the zombie scoid. */
    CHECK_EQ(ConnectDetach(scoid), 0);
    CHECK_ERR(ConnectDetach(scoid), EINVAL);
    ConnectDetach(marker);
    ChannelDestroy(chid);
}

TEST(disc_no_pulse_without_flag)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int a = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int marker = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE));
    send_and_get_scoid(chid, a, "hello");
    CHECK_EQ(ConnectDetach(a), 0);
    expect_message_next(chid, marker, "marker");
    ConnectDetach(marker);
    ChannelDestroy(chid);
}

/* Child: attach to (server, chid), optionally send one message, report, then act. */
struct dc_arg {
    pid_t server;
    int chid;
    int send;
    int how; /* 0: exit(0)  1: wait to be killed  2: ConnectDetach then wait */
};

static int dc_child(int rd, int wr, void *arg)
{
    struct dc_arg *a = (struct dc_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0) {
        h_put(wr, -1);
        return 1;
    }
    if (a->send && MsgSend(coid, "child", 6, NULL, 0) != 0)
        FAIL("MsgSend: %s", h_errname(errno));
    if (a->how == 2)
        ConnectDetach(coid);
    h_put(wr, coid);
    long long v;
    if (a->how != 0)
        h_try_get(rd, &v, 10000);
    return 0;
}

static void child_case(int send, int how)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_DISCONNECT));
    struct dc_arg a = {getpid(), chid, send, how};
    struct h_proc p = h_spawn(dc_child, &a);
    int scoid = -1;
    if (send) {
        union msg m;
        struct _msg_info info;
        rcvid_t r = MsgReceive(chid, &m, sizeof m, &info);
        REQUIRE(r > 0);
        CHECK_EQ(info.pid, p.pid);
        scoid = info.scoid;
        CHECK_EQ(MsgReply(r, 0, NULL, 0), 0);
    }
    REQUIRE(h_get(p.rd, 5000) >= 0);
    if (how == 1)
        kill(p.pid, SIGKILL);
    union msg m;
    rcvid_t r = -1;
    int err = 0;
    if (!h_receive_within(chid, &m, sizeof m, NULL, 2000, &r, &err)) {
        FAIL("no _PULSE_CODE_DISCONNECT within 2 s of the client %s",
             how == 0 ? "exiting" : how == 1 ? "being killed" : "detaching");
    } else if (r != 0) {
        FAIL("expected a pulse, got rcvid %lld (%s)", (long long)r, h_errname(err));
    } else {
        CHECK_EQ(m.pulse.code, _PULSE_CODE_DISCONNECT);
        CHECK(m.pulse.scoid & _NTO_SIDE_CHANNEL);
        if (send)
            CHECK_EQ(m.pulse.scoid, scoid);
        CHECK_EQ(ConnectDetach(m.pulse.scoid), 0);
    }
    if (how == 2)
        h_put(p.wr, 1); /* let the detached child go */
    h_wait(p.pid, 5000);
    h_close_proc(&p);
    ChannelDestroy(chid);
}

TEST(disc_pulse_when_client_process_exits) { child_case(1, 0); }

TEST(disc_pulse_when_client_process_is_killed) { child_case(1, 1); }

TEST(disc_pulse_when_client_process_detaches) { child_case(1, 2); }

TEST(disc_pulse_for_client_that_never_sent) { child_case(0, 0); }

static int blocked_child(int rd, int wr, void *arg)
{
    (void)rd;
    struct dc_arg *a = (struct dc_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    h_put(wr, coid);
    MsgSend(coid, "stuck", 6, NULL, 0); /* REPLY-blocked until killed */
    return 0;
}

TEST(disc_killed_reply_blocked_client_gives_disconnect_not_unblock)
{
    /* §8.6: a dying client's REPLY-blocked threads go without an unblock pulse. */
    int chid = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK));
    struct dc_arg a = {getpid(), chid, 1, 1};
    struct h_proc p = h_spawn(blocked_child, &a);
    REQUIRE(h_get(p.rd, 5000) >= 0);
    union msg m;
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(chid, &m, sizeof m, &info);
    REQUIRE(rcvid > 0);
    h_kill(p.pid);
    rcvid_t r = -1;
    int err = 0;
    if (!h_receive_within(chid, &m, sizeof m, NULL, 2000, &r, &err)) {
        FAIL("no pulse within 2 s of killing the REPLY-blocked client");
    } else if (r != 0) {
        FAIL("expected a pulse, got rcvid %lld (%s)", (long long)r, h_errname(err));
    } else {
        CHECK_EQ(m.pulse.code, _PULSE_CODE_DISCONNECT);
        CHECK_EQ(m.pulse.scoid, info.scoid);
    }
    CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH);
    if (r == 0 && m.pulse.code == _PULSE_CODE_DISCONNECT)
        CHECK_EQ(ConnectDetach(info.scoid), 0);
    h_close_proc(&p);
    ChannelDestroy(chid);
}

HARNESS_MAIN
