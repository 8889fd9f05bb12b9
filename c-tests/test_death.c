/*
 * test_death.c - process death: a server killed with SIGKILL (or exiting) fails its
 * REPLY- and SEND-blocked clients with ESRCH promptly, never a hang; later sends give
 * EBADF; a killed client's rcvid fails with ESRCH and its queued send disappears
 * (reference §5.5, §8.4, §8.6).
 */
#include "harness.h"

/* "Promptly (well under a second)." */
#define PROMPT_MS 500

/* Server child: channel, report chid; receive `nrecv` messages reporting each rcvid;
 * then wait (to be killed) or, if arg says so, exit without cleaning up. */
struct server_arg {
    int nrecv;
    int exit_instead; /* 1: exit(0) after the receives instead of waiting */
};

static int server_child(int rd, int wr, void *arg)
{
    struct server_arg *a = (struct server_arg *)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    for (int i = 0; i < a->nrecv; i++) {
        char b[16];
        rcvid_t r = MsgReceive(chid, b, sizeof b, NULL);
        h_put(wr, r);
    }
    long long v;
    if (a->exit_instead) {
        h_try_get(rd, &v, 10000); /* the parent says when */
        h_child_exit(0);
    }
    h_try_get(rd, &v, 20000); /* until killed */
    return 0;
}

struct tclient {
    int coid;
    long ret;
    int err;
    long long end_us;
};

static void *tclient_thread(void *arg)
{
    struct tclient *c = (struct tclient *)arg;
    char in[8];
    errno = 0;
    c->ret = MsgSend(c->coid, "hello", 6, in, sizeof in);
    c->err = errno;
    c->end_us = h_now_us();
    return NULL;
}

static void check_prompt_esrch(const char *what, struct tclient *c, long long t0_us)
{
    if (c->ret != -1 || c->err != ESRCH)
        FAIL("%s client: MsgSend = %ld errno %s, want -1 ESRCH", what, c->ret,
             h_errname(c->err));
    long long ms = (c->end_us - t0_us) / 1000;
    if (ms > PROMPT_MS)
        FAIL("%s client took %lld ms to fail after the server died (want < %d)", what, ms,
             PROMPT_MS);
}

static void killed_server_case(unsigned index)
{
    struct server_arg sa = {1, 0};
    struct h_proc p = h_spawn(server_child, &sa);
    int chid = (int)h_get(p.rd, 5000);
    REQUIRE(chid >= 1);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, p.pid, chid, index, 0));
    struct tclient rb = {.coid = coid}, sb[3];
    pthread_t trb = h_thread(tclient_thread, &rb);
    REQUIRE(h_get(p.rd, 5000) > 0); /* rb is REPLY-blocked */
    pthread_t tsb[3];
    for (int i = 0; i < 3; i++) {
        memset(&sb[i], 0, sizeof sb[i]);
        sb[i].coid = coid;
        tsb[i] = h_thread(tclient_thread, &sb[i]);
    }
    h_settle(0, 2000); /* the three become SEND-blocked */
    long long t0 = h_now_us();
    kill(p.pid, SIGKILL);
    if (h_join(trb, 3000, NULL) != 0) {
        FAIL("REPLY-blocked client still blocked 3 s after its server was killed");
        h_abort();
    }
    for (int i = 0; i < 3; i++)
        if (h_join(tsb[i], 3000, NULL) != 0) {
            FAIL("SEND-blocked client %d still blocked 3 s after its server was killed", i);
            h_abort();
        }
    check_prompt_esrch("REPLY-blocked", &rb, t0);
    for (int i = 0; i < 3; i++)
        check_prompt_esrch("SEND-blocked", &sb[i], t0);
    /* The connection is dead now: later sends fail with EBADF without blocking. */
    CHECK_ERR(MsgSend(coid, "x", 1, NULL, 0), EBADF);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(h_wait(p.pid, 5000), 128 + SIGKILL);
    CHECK_ERR(ConnectAttach(0, p.pid, chid, _NTO_SIDE_CHANNEL, 0), ESRCH);
    h_close_proc(&p);
}

TEST(death_server_killed_fails_blocked_clients_side_coid)
{
    killed_server_case(_NTO_SIDE_CHANNEL);
}

TEST(death_server_killed_fails_blocked_clients_fd_coid) { killed_server_case(0); }

TEST(death_server_killed_send_blocked_only)
{
    /* The server never receives: only SEND-blocked clients. */
    struct server_arg sa = {0, 0};
    struct h_proc p = h_spawn(server_child, &sa);
    int chid = (int)h_get(p.rd, 5000);
    struct tclient c = {.coid = (int)REQUIRE_OK(
                            ConnectAttach(0, p.pid, chid, _NTO_SIDE_CHANNEL, 0))};
    pthread_t t = h_thread(tclient_thread, &c);
    h_settle(0, 2000);
    long long t0 = h_now_us();
    kill(p.pid, SIGKILL);
    if (h_join(t, 3000, NULL) != 0) {
        FAIL("SEND-blocked client still blocked 3 s after its server was killed");
        h_abort();
    }
    check_prompt_esrch("SEND-blocked", &c, t0);
    h_wait(p.pid, 5000);
    ConnectDetach(c.coid);
    h_close_proc(&p);
}

TEST(death_server_exit_fails_reply_blocked_client)
{
    /* A server that simply exits (no ChannelDestroy) is the same as destroying. */
    struct server_arg sa = {1, 1};
    struct h_proc p = h_spawn(server_child, &sa);
    int chid = (int)h_get(p.rd, 5000);
    struct tclient c = {.coid = (int)REQUIRE_OK(
                            ConnectAttach(0, p.pid, chid, _NTO_SIDE_CHANNEL, 0))};
    pthread_t t = h_thread(tclient_thread, &c);
    REQUIRE(h_get(p.rd, 5000) > 0);
    long long t0 = h_now_us();
    h_put(p.wr, 1);
    if (h_join(t, 3000, NULL) != 0) {
        FAIL("client still blocked 3 s after its server exited");
        h_abort();
    }
    check_prompt_esrch("REPLY-blocked", &c, t0);
    CHECK_EQ(h_wait(p.pid, 5000), 0);
    ConnectDetach(c.coid);
    h_close_proc(&p);
}

/* Client process: attach to (server, chid), report, send, report the result. */
struct cp_arg {
    pid_t server;
    int chid;
};

static int client_proc(int rd, int wr, void *arg)
{
    (void)rd;
    struct cp_arg *a = (struct cp_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    h_put(wr, coid);
    if (coid < 0)
        return 1;
    char in[8];
    errno = 0;
    long r = MsgSend(coid, "proc", 5, in, sizeof in);
    int e = errno;
    h_put(wr, r);
    h_put(wr, e);
    h_put(wr, h_now_us());
    return 0;
}

TEST(death_server_killed_fails_clients_in_other_processes)
{
    enum { N = 3 };
    struct server_arg sa = {1, 0};
    struct h_proc s = h_spawn(server_child, &sa);
    int chid = (int)h_get(s.rd, 5000);
    struct cp_arg a = {s.pid, chid};
    struct h_proc c[N];
    c[0] = h_spawn(client_proc, &a);
    REQUIRE(h_get(c[0].rd, 5000) >= 0);
    REQUIRE(h_get(s.rd, 5000) > 0); /* client 0 is REPLY-blocked */
    for (int i = 1; i < N; i++) {
        c[i] = h_spawn(client_proc, &a);
        REQUIRE(h_get(c[i].rd, 5000) >= 0);
    }
    for (int i = 1; i < N; i++)
        h_settle(c[i].pid, 2000); /* the others are SEND-blocked */
    long long t0 = h_now_us();
    kill(s.pid, SIGKILL);
    for (int i = 0; i < N; i++) {
        long long r, e, end;
        if (h_try_get(c[i].rd, &r, 3000) != 0) {
            FAIL("client process %d still blocked 3 s after the server was killed", i);
            continue;
        }
        e = h_get(c[i].rd, 1000);
        end = h_get(c[i].rd, 1000);
        if (r != -1 || e != ESRCH)
            FAIL("client process %d: MsgSend = %lld errno %s, want -1 ESRCH", i, r,
                 h_errname((int)e));
        if ((end - t0) / 1000 > PROMPT_MS)
            FAIL("client process %d took %lld ms to fail", i, (end - t0) / 1000);
        CHECK_CHILD_OK(c[i].pid, 5000);
        h_close_proc(&c[i]);
    }
    h_wait(s.pid, 5000);
    h_close_proc(&s);
}

/* ---------------------------------------------------------------------------------- */
/* Killed clients                                                                      */

struct kc {
    int chid;
    struct h_proc p;
    rcvid_t rcvid;
};

/* Spawns a client process, receives its message, kills and reaps it. */
static struct kc killed_client_received(void)
{
    struct kc k;
    k.chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct cp_arg a = {getpid(), k.chid};
    k.p = h_spawn(client_proc, &a);
    REQUIRE(h_get(k.p.rd, 5000) >= 0);
    char b[8];
    k.rcvid = MsgReceive(k.chid, b, sizeof b, NULL);
    REQUIRE(k.rcvid > 0);
    CHECK_MEM(b, "proc", 5);
    h_kill(k.p.pid);
    return k;
}

TEST(death_killed_client_reply_esrch)
{
    struct kc k = killed_client_received();
    CHECK_ERR(MsgReply(k.rcvid, 0, "late", 5), ESRCH);
    CHECK_ERR(MsgReply(k.rcvid, 0, NULL, 0), ESRCH);
    h_close_proc(&k.p);
    CHECK_EQ(ChannelDestroy(k.chid), 0);
}

TEST(death_killed_client_error_esrch)
{
    struct kc k = killed_client_received();
    CHECK_ERR(MsgError(k.rcvid, EPERM), ESRCH);
    h_close_proc(&k.p);
    CHECK_EQ(ChannelDestroy(k.chid), 0);
}

TEST(death_killed_client_read_write_info_esrch)
{
    struct kc k = killed_client_received();
    char buf[8];
    struct _msg_info info;
    CHECK_ERR(MsgRead(k.rcvid, buf, sizeof buf, 0), ESRCH);
    CHECK_ERR(MsgWrite(k.rcvid, buf, sizeof buf, 0), ESRCH);
    CHECK_ERR(MsgInfo(k.rcvid, &info), ESRCH);
    CHECK_ERR(MsgReply(k.rcvid, 0, NULL, 0), ESRCH);
    h_close_proc(&k.p);
    CHECK_EQ(ChannelDestroy(k.chid), 0);
}

struct lclient {
    int coid;
    long ret;
};

static void *live_client(void *arg)
{
    struct lclient *c = (struct lclient *)arg;
    c->ret = MsgSend(c->coid, "live", 5, NULL, 0);
    return NULL;
}

TEST(death_killed_send_blocked_client_is_dequeued)
{
    /* The dead client's queued message must not be delivered (§8.6). */
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct cp_arg a = {getpid(), chid};
    struct h_proc p = h_spawn(client_proc, &a);
    REQUIRE(h_get(p.rd, 5000) >= 0);
    h_settle(p.pid, 2000); /* SEND-blocked on our channel */
    h_kill(p.pid);
    struct lclient lc = {.coid = (int)REQUIRE_OK(
                             ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0))};
    pthread_t t = h_thread(live_client, &lc);
    h_settle(0, 2000);
    for (int tries = 0; tries < 2; tries++) {
        char b[8] = {0};
        struct _msg_info info;
        rcvid_t r = MsgReceive(chid, b, sizeof b, &info);
        REQUIRE(r > 0);
        if (memcmp(b, "live", 5) == 0) {
            CHECK_EQ(info.pid, getpid());
            CHECK_EQ(MsgReply(r, 3, NULL, 0), 0);
            break;
        }
        FAIL("received the killed client's message (pid %d) after it was reaped",
             (int)info.pid);
        MsgReply(r, 0, NULL, 0);
    }
    JOIN(t, 5000);
    CHECK_EQ(lc.ret, 3);
    ConnectDetach(lc.coid);
    h_close_proc(&p);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(death_server_survives_many_killed_clients)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    for (int round = 0; round < 5; round++) {
        struct cp_arg a = {getpid(), chid};
        struct h_proc p = h_spawn(client_proc, &a);
        REQUIRE(h_get(p.rd, 5000) >= 0);
        char b[8];
        rcvid_t r = MsgReceive(chid, b, sizeof b, NULL);
        REQUIRE(r > 0);
        h_kill(p.pid);
        CHECK_ERR(MsgReply(r, 0, NULL, 0), ESRCH);
        h_close_proc(&p);
    }
    /* A fresh, well-behaved client is served normally. */
    struct h_server_stats st = {.chid = chid};
    pthread_t t = h_thread(h_echo_server, &st);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    char in[3];
    CHECK_EQ(MsgSend(coid, "ok", 3, in, 3), 3);
    h_echo_quit(coid);
    JOIN(t, 5000);
    ConnectDetach(coid);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* ---------------------------------------------------------------------------------- */
/* Death in the middle of a large transfer: no hang, no crash, a sane error.           */

#define BIG (8u << 20)

static int big_client(int rd, int wr, void *arg)
{
    (void)rd;
    struct cp_arg *a = (struct cp_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    h_put(wr, coid);
    char *out = (char *)malloc(BIG), *in = (char *)malloc(BIG);
    if (coid < 0 || !out || !in)
        return 1;
    memset(out, 1, BIG);
    MsgSend(coid, out, BIG, in, BIG); /* killed while the server replies */
    return 0;
}

struct big_reply {
    rcvid_t rcvid;
    char *buf;
    int ret;
    int err;
};

static void *big_replier(void *arg)
{
    struct big_reply *b = (struct big_reply *)arg;
    errno = 0;
    b->ret = MsgReply(b->rcvid, 0, b->buf, BIG);
    b->err = errno;
    return NULL;
}

TEST(death_client_killed_during_large_reply)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    char *buf = (char *)malloc(BIG);
    REQUIRE(buf);
    memset(buf, 2, BIG);
    for (int round = 0; round < 5; round++) {
        struct cp_arg a = {getpid(), chid};
        struct h_proc p = h_spawn(big_client, &a);
        REQUIRE(h_get(p.rd, 5000) >= 0);
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(chid, buf, 16, &info);
        REQUIRE(rcvid > 0);
        struct big_reply b = {rcvid, buf, 0, 0};
        pthread_t t = h_thread(big_replier, &b);
        if (round)
            h_sleep_ms(round - 1); /* vary the moment of death */
        h_kill(p.pid);
        JOIN(t, 5000);
        if (b.ret != 0 && !(b.ret == -1 && (b.err == ESRCH || b.err == EFAULT)))
            FAIL("round %d: MsgReply to a client killed meanwhile = %d errno %s", round, b.ret,
                 h_errname(b.err));
        h_close_proc(&p);
    }
    /* The server still works. */
    struct h_server_stats st = {.chid = chid};
    pthread_t t = h_thread(h_echo_server, &st);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    char in[3];
    CHECK_EQ(MsgSend(coid, "ok", 3, in, 3), 3);
    h_echo_quit(coid);
    JOIN(t, 5000);
    ConnectDetach(coid);
    free(buf);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

static int big_server(int rd, int wr, void *arg)
{
    (void)rd;
    (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    char *buf = (char *)malloc(BIG);
    /* Receive the header, then read the body slowly until killed. */
    rcvid_t r = MsgReceive(chid, buf, 16, NULL);
    h_put(wr, r);
    for (;;) {
        for (size_t off = 0; off < BIG; off += 65536)
            MsgRead(r, buf + off, 65536, off);
    }
    return 0;
}

struct big_send {
    int coid;
    char *out;
    long ret;
    int err;
};

static void *big_sender(void *arg)
{
    struct big_send *b = (struct big_send *)arg;
    errno = 0;
    b->ret = MsgSend(b->coid, b->out, BIG, b->out, BIG);
    b->err = errno;
    return NULL;
}

TEST(death_server_killed_during_large_read)
{
    char *out = (char *)malloc(BIG);
    REQUIRE(out);
    memset(out, 3, BIG);
    for (int round = 0; round < 3; round++) {
        struct h_proc s = h_spawn(big_server, NULL);
        int chid = (int)h_get(s.rd, 5000);
        struct big_send b = {.coid = (int)REQUIRE_OK(
                                 ConnectAttach(0, s.pid, chid, _NTO_SIDE_CHANNEL, 0)),
                             .out = out};
        pthread_t t = h_thread(big_sender, &b);
        REQUIRE(h_get(s.rd, 5000) > 0);
        h_sleep_ms(round * 3);
        long long t0 = h_now_us();
        kill(s.pid, SIGKILL);
        if (h_join(t, 3000, NULL) != 0) {
            FAIL("round %d: client still blocked 3 s after its server died mid-transfer", round);
            h_abort();
        }
        if (b.ret != -1 || b.err != ESRCH)
            FAIL("round %d: MsgSend = %ld errno %s, want -1 ESRCH", round, b.ret,
                 h_errname(b.err));
        long long ms = (h_now_us() - t0) / 1000;
        if (ms > PROMPT_MS)
            FAIL("round %d: took %lld ms", round, ms);
        h_wait(s.pid, 5000);
        ConnectDetach(b.coid);
        h_close_proc(&s);
    }
    free(out);
}

HARNESS_MAIN
