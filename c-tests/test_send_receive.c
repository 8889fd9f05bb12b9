/*
 * test_send_receive.c - MsgSend / MsgReceive / MsgReply / MsgError / MsgInfo between
 * threads of one process: status, copy sizes, _msg_info, ordering, delayed and
 * out-of-order replies, several receivers, large messages, the nc variants
 * (reference §2.3, §7.1-7.3, §7.5, §8.1, §8.4).
 */
#include "harness.h"

struct client {
    int coid;
    const void *smsg;
    size_t sbytes;
    void *rmsg;
    size_t rbytes;
    long ret;
    int err;
    pid_t ktid;
    atomic_int done;
};

static void *client_thread(void *arg)
{
    struct client *c = (struct client *)arg;
    c->ktid = h_gettid();
    errno = 0;
    c->ret = MsgSend(c->coid, c->smsg, c->sbytes, c->rmsg, c->rbytes);
    c->err = errno;
    atomic_store(&c->done, 1);
    return NULL;
}

/* A channel plus a side connection to it. */
TEST(sr_basic_roundtrip)
{
    struct chan ch = open_chan(0);
    char out[] = "hello, server", in[32];
    memset(in, 0, sizeof in);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = sizeof out, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char buf[64];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, sizeof out);
    CHECK_MEM(buf, out, sizeof out);
    char rep[] = "hello, client";
    CHECK_EQ(MsgReply(rcvid, 42, rep, sizeof rep), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 42);
    CHECK_MEM(in, rep, sizeof rep);
    close_chan(ch);
}

TEST(sr_reply_status_values)
{
    static const long statuses[] = {0, 1, 42, 255, 65536, INT_MAX, (1L << 40) + 5, LONG_MAX};
    struct chan ch = open_chan(0);
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        struct client c = {.coid = ch.coid, .smsg = "s", .sbytes = 1};
        pthread_t t = h_thread(client_thread, &c);
        char buf[8];
        rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
        REQUIRE(rcvid > 0);
        CHECK_EQ(MsgReply(rcvid, statuses[i], NULL, 0), 0);
        JOIN(t, 5000);
        CHECK_EQ(c.ret, statuses[i]);
    }
    close_chan(ch);
}

TEST(sr_reply_zero_bytes_leaves_reply_buffer)
{
    struct chan ch = open_chan(0);
    char in[16];
    memset(in, 0xAA, sizeof in);
    struct client c = {.coid = ch.coid, .smsg = "x", .sbytes = 1, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(MsgReply(rcvid, 5, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 5);
    for (size_t i = 0; i < sizeof in; i++)
        if ((unsigned char)in[i] != 0xAA) {
            FAIL("reply buffer byte %zu modified by a 0-byte reply", i);
            break;
        }
    close_chan(ch);
}

TEST(sr_msg_error_sets_client_errno)
{
    static const int errs[] = {EPERM, ENOENT, EINVAL, ENOSYS, EBUSY, ENOREMOTE, 1234};
    struct chan ch = open_chan(0);
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        char in[8];
        memset(in, 0x55, sizeof in);
        struct client c = {.coid = ch.coid, .smsg = "e", .sbytes = 1, .rmsg = in,
                           .rbytes = sizeof in};
        pthread_t t = h_thread(client_thread, &c);
        char buf[8];
        rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
        REQUIRE(rcvid > 0);
        CHECK_EQ(MsgError(rcvid, errs[i]), 0);
        JOIN(t, 5000);
        CHECK_EQ(c.ret, -1);
        CHECK_EQ(c.err, errs[i]);
        CHECK_EQ((unsigned char)in[0], 0x55);
        /* The rcvid is used up. */
        CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH);
    }
    close_chan(ch);
}

TEST(sr_msg_error_eok_returns_zero)
{
    struct chan ch = open_chan(0);
    char in[8];
    memset(in, 0x66, sizeof in);
    struct client c = {.coid = ch.coid, .smsg = "k", .sbytes = 1, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(MsgError(rcvid, EOK), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 0);
    CHECK_EQ((unsigned char)in[0], 0x66); /* nothing copied */
    close_chan(ch);
}

TEST(sr_msg_error_erestart_resends)
{
    /* §7.3: MsgError(rcvid, ERESTART) makes the client re-issue its send. */
    struct chan ch = open_chan(0);
    char in[8] = {0};
    struct client c = {.coid = ch.coid, .smsg = "again", .sbytes = 6, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    rcvid_t r1 = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(r1 > 0);
    CHECK_EQ(MsgError(r1, ERESTART), 0);
    rcvid_t r2 = 0;
    int err = 0;
    memset(buf, 0, sizeof buf);
    if (!h_receive_within(ch.chid, buf, sizeof buf, NULL, 2000, &r2, &err) || r2 <= 0) {
        FAIL("the client did not re-send after MsgError(ERESTART)");
        JOIN(t, 3000);
        FAIL("client got %ld (%s)", c.ret, h_errname(c.err));
        return;
    }
    CHECK_MEM(buf, "again", 6);
    CHECK_EQ(MsgReply(r2, 7, "done", 5), 0);
    JOIN(t, 3000);
    CHECK_EQ(c.ret, 7);
    CHECK_MEM(in, "done", 5);
    close_chan(ch);
}

TEST(sr_copy_min_server_buffer_smaller)
{
    struct chan ch = open_chan(0);
    char out[100];
    h_fill(out, sizeof out, 1);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = sizeof out};
    pthread_t t = h_thread(client_thread, &c);
    char buf[20];
    memset(buf, 0xEE, sizeof buf);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, 10, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 10);
    CHECK_EQ(info.srcmsglen, 100);
    CHECK_MEM(buf, out, 10);
    for (int i = 10; i < 20; i++)
        CHECK_EQ((unsigned char)buf[i], 0xEE);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 0);
    close_chan(ch);
}

TEST(sr_copy_min_server_buffer_larger)
{
    struct chan ch = open_chan(0);
    char out[10];
    h_fill(out, sizeof out, 2);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = sizeof out};
    pthread_t t = h_thread(client_thread, &c);
    char buf[100];
    memset(buf, 0xEE, sizeof buf);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 10);
    CHECK_EQ(info.srcmsglen, 10);
    CHECK_MEM(buf, out, 10);
    for (int i = 10; i < 100; i++)
        if ((unsigned char)buf[i] != 0xEE) {
            FAIL("receive buffer byte %d written beyond msglen", i);
            break;
        }
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(sr_copy_min_reply_larger_than_client_buffer)
{
    struct chan ch = open_chan(0);
    char in[16];
    memset(in, 0xCC, sizeof in);
    struct client c = {.coid = ch.coid, .smsg = "r", .sbytes = 1, .rmsg = in, .rbytes = 10};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.dstmsglen, 10);
    char rep[100];
    h_fill(rep, sizeof rep, 3);
    CHECK_EQ(MsgReply(rcvid, 7, rep, sizeof rep), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 7);
    CHECK_MEM(in, rep, 10);
    for (int i = 10; i < 16; i++)
        CHECK_EQ((unsigned char)in[i], 0xCC);
    close_chan(ch);
}

TEST(sr_copy_min_reply_smaller_than_client_buffer)
{
    struct chan ch = open_chan(0);
    char in[100];
    memset(in, 0xCC, sizeof in);
    struct client c = {.coid = ch.coid, .smsg = "r", .sbytes = 1, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    char rep[5] = "abcd";
    CHECK_EQ(MsgReply(rcvid, 0, rep, 5), 0);
    JOIN(t, 5000);
    CHECK_MEM(in, rep, 5);
    for (int i = 5; i < 100; i++)
        if ((unsigned char)in[i] != 0xCC) {
            FAIL("client reply buffer byte %d written beyond the reply length", i);
            break;
        }
    close_chan(ch);
}

TEST(sr_msg_info_fields)
{
    struct chan ch = open_chan(0);
    char out[40], in[30];
    h_fill(out, sizeof out, 4);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = sizeof out, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char buf[20];
    struct _msg_info info;
    memset(&info, 0x5A, sizeof info);
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.nd, ND_LOCAL_NODE);
    CHECK_EQ(info.srcnd, ND_LOCAL_NODE);
    CHECK_EQ(info.pid, getpid());
    CHECK(info.tid > 0);
    CHECK_EQ(info.chid, ch.chid);
    CHECK_EQ(info.coid, ch.coid);
    CHECK(info.scoid > 0);
    CHECK(info.scoid & _NTO_SIDE_CHANNEL);
    CHECK_EQ(info.msglen, 20);
    CHECK_EQ(info.srcmsglen, 40);
    CHECK_EQ(info.dstmsglen, 30);
    CHECK_EQ(info.flags & _NTO_MI_UNBLOCK_REQ, 0);
    CHECK_EQ(info.flags & (_NTO_MI_ENDIAN_BIG | _NTO_MI_ENDIAN_DIFF), 0);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(sr_msg_info_priority_default_thread_is_10)
{
    /* A default SCHED_OTHER thread reports QNX priority 10. */
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = "p", .sbytes = 1};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.priority, 10);
    struct _msg_info again;
    CHECK_EQ(MsgInfo(rcvid, &again), 0);
    CHECK_EQ(again.priority, 10);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    close_chan(ch);
}

/* A thread that changes its own scheduling between sends: each message carries the
 * priority the thread has at that moment (the library caches it and the <pthread.h> and
 * <sched.h> calls refresh it). */
struct resched {
    int coid;
    long rc[4];
};

static void *resched_thread(void *arg)
{
    struct resched *r = (struct resched *)arg;
    struct sched_param sp = {.sched_priority = 20};
    r->rc[0] = MsgSend(r->coid, "a", 1, NULL, 0);
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
        return NULL; /* not allowed: the case notes it */
    r->rc[1] = MsgSend(r->coid, "b", 1, NULL, 0);
    pthread_setschedprio(pthread_self(), 15);
    r->rc[2] = MsgSend(r->coid, "c", 1, NULL, 0);
    sp.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &sp);
    r->rc[3] = MsgSend(r->coid, "d", 1, NULL, 0);
    return NULL;
}

TEST(sr_msg_info_priority_follows_scheduling_changes)
{
    if (geteuid() != 0) {
        h_note("skipped: SCHED_FIFO needs root");
        return;
    }
    struct chan ch = open_chan(0);
    struct resched r = {.coid = ch.coid};
    pthread_t t = h_thread(resched_thread, &r);
    const int want[4] = {10, 20, 15, 10};
    for (int i = 0; i < 4; i++) {
        char buf[8];
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
        REQUIRE(rcvid > 0);
        CHECK_EQ(info.priority, want[i]);
        CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    }
    JOIN(t, 5000);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(r.rc[i], 0);
    close_chan(ch);
}

TEST(sr_msg_info_tid_identifies_thread)
{
    /* Two concurrently blocked client threads are told apart by tid (and rcvid). */
    struct chan ch = open_chan(0);
    struct client c1 = {.coid = ch.coid, .smsg = "1", .sbytes = 1};
    struct client c2 = {.coid = ch.coid, .smsg = "2", .sbytes = 1};
    pthread_t t1 = h_thread(client_thread, &c1);
    pthread_t t2 = h_thread(client_thread, &c2);
    char b1[8], b2[8];
    struct _msg_info i1, i2;
    rcvid_t r1 = MsgReceive(ch.chid, b1, sizeof b1, &i1);
    rcvid_t r2 = MsgReceive(ch.chid, b2, sizeof b2, &i2);
    REQUIRE(r1 > 0 && r2 > 0);
    CHECK_NE(r1, r2);
    CHECK(i1.tid > 0 && i2.tid > 0);
    CHECK_NE(i1.tid, i2.tid);
    CHECK_EQ(i1.pid, i2.pid);
    CHECK_EQ(i1.scoid, i2.scoid); /* same process, same connection */
    CHECK_EQ(MsgReply(r1, 0, NULL, 0), 0);
    CHECK_EQ(MsgReply(r2, 0, NULL, 0), 0);
    JOIN(t1, 5000);
    JOIN(t2, 5000);
    close_chan(ch);
}

struct tid_probe {
    int chid;
    int tids[2];
};

static void *tid_probe_server(void *arg)
{
    struct tid_probe *p = (struct tid_probe *)arg;
    for (int i = 0; i < 2; i++) {
        char buf[8];
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(p->chid, buf, sizeof buf, &info);
        if (rcvid <= 0) {
            FAIL("MsgReceive: %s", h_errname(errno));
            return NULL;
        }
        p->tids[i] = info.tid;
        MsgReply(rcvid, 0, NULL, 0);
    }
    return NULL;
}

TEST(sr_msg_info_tid_stable_for_one_thread)
{
    struct chan ch = open_chan(0);
    struct tid_probe p = {.chid = ch.chid};
    pthread_t t = h_thread(tid_probe_server, &p);
    CHECK_EQ(MsgSend(ch.coid, "a", 1, NULL, 0), 0);
    CHECK_EQ(MsgSend(ch.coid, "b", 1, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK(p.tids[0] > 0);
    CHECK_EQ(p.tids[0], p.tids[1]);
    close_chan(ch);
}

TEST(sr_msg_info_null_is_allowed)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = "n", .sbytes = 1};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(buf[0], 'n');
    CHECK_EQ(MsgReply(rcvid, 3, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 3);
    close_chan(ch);
}

TEST(sr_msginfo_matches_receive_info)
{
    struct chan ch = open_chan(0);
    char out[33], in[17];
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = sizeof out, .rmsg = in,
                       .rbytes = sizeof in};
    memset(out, 1, sizeof out);
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    struct _msg_info a, b;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &a);
    REQUIRE(rcvid > 0);
    memset(&b, 0x77, sizeof b);
    CHECK_EQ(MsgInfo(rcvid, &b), 0);
    CHECK_EQ(b.nd, a.nd);
    CHECK_EQ(b.pid, a.pid);
    CHECK_EQ(b.tid, a.tid);
    CHECK_EQ(b.chid, a.chid);
    CHECK_EQ(b.scoid, a.scoid);
    CHECK_EQ(b.coid, a.coid);
    CHECK_EQ(b.priority, a.priority);
    CHECK_EQ(b.srcmsglen, 33);
    CHECK_EQ(b.dstmsglen, 17);
    CHECK_EQ(b.msglen, a.msglen);
    /* MsgInfo can be repeated while the client is REPLY-blocked. */
    CHECK_EQ(MsgInfo(rcvid, &b), 0);
    CHECK_EQ(b.pid, getpid());
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    CHECK_ERR(MsgInfo(rcvid, &b), ESRCH);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(sr_msginfo_null_info_efault)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = "i", .sbytes = 1};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_ERR(MsgInfo(rcvid, NULL), EFAULT);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(sr_send_before_receive)
{
    /* CASE 2 of the course: the client is SEND-blocked before the server receives. */
    struct chan ch = open_chan(0);
    char in[8] = {0};
    struct client c = {.coid = ch.coid, .smsg = "early", .sbytes = 6, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    h_settle(0, 2000);
    CHECK_EQ(atomic_load(&c.done), 0);
    char buf[8];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 6);
    CHECK_MEM(buf, "early", 6);
    h_sleep_ms(20);
    CHECK_EQ(atomic_load(&c.done), 0); /* REPLY-blocked now */
    CHECK_EQ(MsgReply(rcvid, 9, "ok", 3), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 9);
    CHECK_MEM(in, "ok", 3);
    close_chan(ch);
}

struct rcv {
    int chid;
    rcvid_t rcvid;
    int err;
    struct _msg_info info;
    char buf[64];
};

static void *receive_thread(void *arg)
{
    struct rcv *r = (struct rcv *)arg;
    errno = 0;
    r->rcvid = MsgReceive(r->chid, r->buf, sizeof r->buf, &r->info);
    r->err = errno;
    return NULL;
}

TEST(sr_receive_before_send)
{
    /* CASE 1: the server is RECEIVE-blocked first. */
    struct chan ch = open_chan(0);
    struct rcv r = {.chid = ch.chid};
    pthread_t t = h_thread(receive_thread, &r);
    h_settle(0, 2000);
    char in[8] = {0};
    struct client c = {.coid = ch.coid, .smsg = "late", .sbytes = 5, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t ct = h_thread(client_thread, &c);
    JOIN(t, 5000);
    REQUIRE(r.rcvid > 0);
    CHECK_EQ(r.info.msglen, 5);
    CHECK_MEM(r.buf, "late", 5);
    /* The reply comes from a different thread than the receiver. */
    CHECK_EQ(MsgReply(r.rcvid, 1, "yes", 4), 0);
    JOIN(ct, 5000);
    CHECK_EQ(c.ret, 1);
    CHECK_MEM(in, "yes", 4);
    close_chan(ch);
}

struct deferred {
    rcvid_t rcvid;
    long status;
};

static void *deferred_replier(void *arg)
{
    struct deferred *d = (struct deferred *)arg;
    h_sleep_ms(30);
    if (MsgReply(d->rcvid, d->status, "later", 6) != 0)
        FAIL("delayed MsgReply from another thread: %s", h_errname(errno));
    return NULL;
}

TEST(sr_delayed_reply_from_another_thread)
{
    struct chan ch = open_chan(0);
    char in[8] = {0};
    struct client c = {.coid = ch.coid, .smsg = "d", .sbytes = 1, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    struct deferred d = {rcvid, 77};
    pthread_t r = h_thread(deferred_replier, &d);
    JOIN(r, 5000);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 77);
    CHECK_MEM(in, "later", 6);
    close_chan(ch);
}

TEST(sr_replies_in_any_order)
{
    enum { N = 4 };
    struct chan ch = open_chan(0);
    struct client c[N];
    pthread_t t[N];
    int sent[N];
    char in[N][8];
    for (int i = 0; i < N; i++) {
        sent[i] = i;
        memset(&c[i], 0, sizeof c[i]);
        c[i].coid = ch.coid;
        c[i].smsg = &sent[i];
        c[i].sbytes = sizeof sent[i];
        c[i].rmsg = in[i];
        c[i].rbytes = sizeof in[i];
        t[i] = h_thread(client_thread, &c[i]);
    }
    rcvid_t ids[N];
    int who[N];
    for (int i = 0; i < N; i++) {
        int v = -1;
        ids[i] = MsgReceive(ch.chid, &v, sizeof v, NULL);
        REQUIRE(ids[i] > 0);
        REQUIRE(v >= 0 && v < N);
        who[i] = v;
        for (int j = 0; j < i; j++)
            CHECK_NE(ids[i], ids[j]);
    }
    /* All N clients are REPLY-blocked; reply in reverse order. */
    for (int i = N - 1; i >= 0; i--) {
        char rep[8];
        snprintf(rep, sizeof rep, "r%d", who[i]);
        CHECK_EQ(MsgReply(ids[i], 100 + who[i], rep, sizeof rep), 0);
    }
    for (int i = 0; i < N; i++) {
        JOIN(t[i], 5000);
        CHECK_EQ(c[i].ret, 100 + i);
        char exp[8];
        snprintf(exp, sizeof exp, "r%d", i);
        CHECK(strcmp(in[i], exp) == 0);
    }
    close_chan(ch);
}

TEST(sr_fifo_order_same_priority)
{
    /* §8.1: FIFO within one priority. */
    enum { N = 4 };
    struct chan ch = open_chan(0);
    struct client c[N];
    pthread_t t[N];
    int sent[N];
    for (int i = 0; i < N; i++) {
        sent[i] = i;
        memset(&c[i], 0, sizeof c[i]);
        c[i].coid = ch.coid;
        c[i].smsg = &sent[i];
        c[i].sbytes = sizeof sent[i];
        t[i] = h_thread(client_thread, &c[i]);
        h_settle(0, 2000); /* let it become SEND-blocked before the next one */
    }
    for (int i = 0; i < N; i++) {
        int v = -1;
        rcvid_t id = MsgReceive(ch.chid, &v, sizeof v, NULL);
        REQUIRE(id > 0);
        CHECK_EQ(v, i);
        CHECK_EQ(MsgReply(id, 0, NULL, 0), 0);
    }
    for (int i = 0; i < N; i++)
        JOIN(t[i], 5000);
    close_chan(ch);
}

#define MR_RECEIVERS 4
#define MR_CLIENTS 8
#define MR_PER 100

struct mr_server {
    int chid;
    atomic_int handled;
    atomic_int by_thread[MR_RECEIVERS];
    int idx;
};

struct mr_arg {
    struct mr_server *s;
    int idx;
};

static void *mr_receiver(void *arg)
{
    struct mr_arg *a = (struct mr_arg *)arg;
    for (;;) {
        uint32_t v[2];
        struct _msg_info info;
        rcvid_t id = MsgReceive(a->s->chid, v, sizeof v, &info);
        if (id == -1)
            break;
        if (id == 0)
            continue;
        if (info.msglen == 4 && v[0] == H_QUIT_MAGIC) {
            MsgReply(id, 0, NULL, 0);
            break;
        }
        atomic_fetch_add(&a->s->handled, 1);
        atomic_fetch_add(&a->s->by_thread[a->idx], 1);
        uint32_t r = v[0] * 3 + v[1];
        if (MsgReply(id, (long)r, &r, sizeof r) != 0)
            FAIL("MsgReply: %s", h_errname(errno));
    }
    return NULL;
}

struct mr_client {
    int coid;
    int idx;
    int bad;
};

static void *mr_client(void *arg)
{
    struct mr_client *c = (struct mr_client *)arg;
    for (uint32_t i = 0; i < MR_PER; i++) {
        uint32_t v[2] = {(uint32_t)c->idx * 1000 + i, i}, r = 0;
        long s = MsgSend(c->coid, v, sizeof v, &r, sizeof r);
        if (s != (long)(v[0] * 3 + v[1]) || r != v[0] * 3 + v[1])
            c->bad++;
    }
    return NULL;
}

TEST(sr_several_threads_receive_on_one_channel)
{
    struct mr_server s = {.chid = (int)REQUIRE_OK(ChannelCreate(0))};
    struct mr_arg args[MR_RECEIVERS];
    pthread_t rt[MR_RECEIVERS], ct[MR_CLIENTS];
    struct mr_client cl[MR_CLIENTS];
    for (int i = 0; i < MR_RECEIVERS; i++) {
        args[i].s = &s;
        args[i].idx = i;
        rt[i] = h_thread(mr_receiver, &args[i]);
    }
    for (int i = 0; i < MR_CLIENTS; i++) {
        cl[i].coid = (int)REQUIRE_OK(ConnectAttach(0, 0, s.chid, _NTO_SIDE_CHANNEL, 0));
        cl[i].idx = i;
        cl[i].bad = 0;
        ct[i] = h_thread(mr_client, &cl[i]);
    }
    for (int i = 0; i < MR_CLIENTS; i++) {
        JOIN(ct[i], 15000);
        CHECK_EQ(cl[i].bad, 0);
    }
    CHECK_EQ(atomic_load(&s.handled), MR_CLIENTS * MR_PER);
    for (int i = 0; i < MR_RECEIVERS; i++)
        h_echo_quit(cl[0].coid);
    for (int i = 0; i < MR_RECEIVERS; i++)
        JOIN(rt[i], 5000);
    for (int i = 0; i < MR_CLIENTS; i++)
        CHECK_EQ(ConnectDetach(cl[i].coid), 0);
    CHECK_EQ(ChannelDestroy(s.chid), 0);
}

TEST(sr_receivers_all_blocked_each_gets_one)
{
    /* N threads RECEIVE-blocked; N messages: each is delivered exactly once. */
    enum { N = 4 };
    struct chan ch = open_chan(0);
    struct rcv r[N];
    pthread_t rt[N];
    for (int i = 0; i < N; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].chid = ch.chid;
        rt[i] = h_thread(receive_thread, &r[i]);
    }
    h_settle(0, 2000);
    struct client c[N];
    pthread_t ct[N];
    int vals[N];
    for (int i = 0; i < N; i++) {
        vals[i] = 500 + i;
        memset(&c[i], 0, sizeof c[i]);
        c[i].coid = ch.coid;
        c[i].smsg = &vals[i];
        c[i].sbytes = sizeof vals[i];
        ct[i] = h_thread(client_thread, &c[i]);
    }
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        JOIN(rt[i], 5000);
        REQUIRE(r[i].rcvid > 0);
        int v;
        memcpy(&v, r[i].buf, sizeof v);
        REQUIRE(v >= 500 && v < 500 + N);
        seen[v - 500]++;
        CHECK_EQ(MsgReply(r[i].rcvid, v, NULL, 0), 0);
    }
    for (int i = 0; i < N; i++) {
        CHECK_EQ(seen[i], 1);
        JOIN(ct[i], 5000);
        CHECK_EQ(c[i].ret, 500 + i);
    }
    close_chan(ch);
}

TEST(sr_zero_length_send)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = NULL, .sbytes = 0, .rmsg = NULL, .rbytes = 0};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 0);
    CHECK_EQ(info.srcmsglen, 0);
    CHECK_EQ(info.dstmsglen, 0);
    /* Replying with data to a zero-size reply buffer copies nothing and succeeds. */
    CHECK_EQ(MsgReply(rcvid, 12, "data", 5), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 12);
    close_chan(ch);
}

TEST(sr_receive_into_zero_length_buffer)
{
    struct chan ch = open_chan(0);
    char out[24];
    h_fill(out, sizeof out, 9);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = sizeof out};
    pthread_t t = h_thread(client_thread, &c);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, NULL, 0, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 0);
    CHECK_EQ(info.srcmsglen, 24);
    char buf[24];
    CHECK_EQ(MsgRead(rcvid, buf, sizeof buf, 0), 24);
    CHECK_MEM(buf, out, 24);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    close_chan(ch);
}

static void large_roundtrip(size_t n)
{
    struct chan ch = open_chan(0);
    char *out = (char *)malloc(n), *in = (char *)malloc(n), *buf = (char *)malloc(n);
    REQUIRE(out && in && buf);
    h_fill(out, n, 11);
    memset(in, 0, n);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = n, .rmsg = in, .rbytes = n};
    pthread_t t = h_thread(client_thread, &c);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, n, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, n);
    CHECK_EQ(info.srcmsglen, n);
    CHECK_EQ(info.dstmsglen, n);
    long long bad = h_verify(buf, n, 11, 0);
    if (bad >= 0)
        FAIL("received data differs at offset %lld of %zu", bad, n);
    h_fill(buf, n, 12);
    CHECK_EQ(MsgReply(rcvid, 1, buf, n), 0);
    JOIN(t, 20000);
    CHECK_EQ(c.ret, 1);
    bad = h_verify(in, n, 12, 0);
    if (bad >= 0)
        FAIL("reply data differs at offset %lld of %zu", bad, n);
    free(out);
    free(in);
    free(buf);
    close_chan(ch);
}

TEST(sr_large_message_1mib) { large_roundtrip(1u << 20); }

TEST(sr_large_message_8mib) { large_roundtrip(8u << 20); }

TEST(sr_large_message_odd_size)
{
    /* Not a multiple of any page or slot size. */
    large_roundtrip((3u << 20) + 12345);
}

struct nc_case {
    int coid;
    int which;
    long ret;
    int err;
    char in[16];
};

static void *nc_client(void *arg)
{
    struct nc_case *c = (struct nc_case *)arg;
    char out[12] = "nc-variant";
    iov_t siov[2], riov[2];
    SETIOV(&siov[0], out, 3);
    SETIOV(&siov[1], out + 3, sizeof out - 3);
    SETIOV(&riov[0], c->in, 5);
    SETIOV(&riov[1], c->in + 5, sizeof c->in - 5);
    errno = 0;
    switch (c->which) {
    case 0:
        c->ret = MsgSendnc(c->coid, out, sizeof out, c->in, sizeof c->in);
        break;
    case 1:
        c->ret = MsgSendvnc(c->coid, siov, 2, riov, 2);
        break;
    case 2:
        c->ret = MsgSendsvnc(c->coid, out, sizeof out, riov, 2);
        break;
    case 3:
        c->ret = MsgSendvsnc(c->coid, siov, 2, c->in, sizeof c->in);
        break;
    }
    c->err = errno;
    return NULL;
}

TEST(sr_nc_variants_behave_like_plain_ones)
{
    static const char *names[] = {"MsgSendnc", "MsgSendvnc", "MsgSendsvnc", "MsgSendvsnc"};
    struct chan ch = open_chan(0);
    for (int w = 0; w < 4; w++) {
        struct nc_case c;
        memset(&c, 0, sizeof c);
        c.coid = ch.coid;
        c.which = w;
        pthread_t t = h_thread(nc_client, &c);
        char buf[32];
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
        REQUIRE(rcvid > 0);
        if (info.msglen != 12 || memcmp(buf, "nc-variant", 11) != 0)
            FAIL("%s: server got %lld bytes '%.*s'", names[w], (long long)info.msglen,
                 (int)info.msglen, buf);
        CHECK_EQ(info.dstmsglen, 16);
        CHECK_EQ(MsgReply(rcvid, 30 + w, "0123456789abcdef", 16), 0);
        JOIN(t, 5000);
        if (c.ret != 30 + w || memcmp(c.in, "0123456789abcdef", 16) != 0)
            FAIL("%s: returned %ld (errno %s), reply '%.16s'", names[w], c.ret,
                 h_errname(c.err), c.in);
    }
    /* Error paths are the same too. */
    char x = 0;
    iov_t iov;
    SETIOV(&iov, &x, 1);
    CHECK_ERR(MsgSendnc(_NTO_SIDE_CHANNEL | 999, &x, 1, NULL, 0), EBADF);
    CHECK_ERR(MsgSendvnc(_NTO_SIDE_CHANNEL | 999, &iov, 1, NULL, 0), EBADF);
    CHECK_ERR(MsgSendsvnc(_NTO_SIDE_CHANNEL | 999, &x, 1, NULL, 0), EBADF);
    CHECK_ERR(MsgSendvsnc(_NTO_SIDE_CHANNEL | 999, &iov, 1, NULL, 0), EBADF);
    close_chan(ch);
}

TEST(sr_double_reply_esrch)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = "2", .sbytes = 1};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(MsgReply(rcvid, 4, NULL, 0), 0);
    CHECK_ERR(MsgReply(rcvid, 5, NULL, 0), ESRCH);
    CHECK_ERR(MsgError(rcvid, EPERM), ESRCH);
    CHECK_ERR(MsgRead(rcvid, buf, 1, 0), ESRCH);
    CHECK_ERR(MsgWrite(rcvid, buf, 1, 0), ESRCH);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 4);
    close_chan(ch);
}

TEST(sr_error_after_reply_esrch)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = "3", .sbytes = 1};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(MsgError(rcvid, EACCES), 0);
    CHECK_ERR(MsgError(rcvid, EACCES), ESRCH);
    CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, -1);
    CHECK_EQ(c.err, EACCES);
    close_chan(ch);
}

TEST(sr_unknown_rcvid_esrch)
{
    char buf[8];
    struct _msg_info info;
    iov_t iov;
    SETIOV(&iov, buf, sizeof buf);
    static const rcvid_t bogus[] = {1, 2, 0x12345, 0x7ffffff0, ((rcvid_t)1 << 40) + 3};
    /* A channel exists but nobody has sent anything. */
    struct chan ch = open_chan(0);
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        rcvid_t r = bogus[i];
        CHECK_ERR(MsgReply(r, 0, NULL, 0), ESRCH);
        CHECK_ERR(MsgReplyv(r, 0, &iov, 1), ESRCH);
        CHECK_ERR(MsgError(r, EINVAL), ESRCH);
        CHECK_ERR(MsgRead(r, buf, sizeof buf, 0), ESRCH);
        CHECK_ERR(MsgReadv(r, &iov, 1, 0), ESRCH);
        CHECK_ERR(MsgWrite(r, buf, sizeof buf, 0), ESRCH);
        CHECK_ERR(MsgWritev(r, &iov, 1, 0), ESRCH);
        CHECK_ERR(MsgInfo(r, &info), ESRCH);
    }
    close_chan(ch);
}

TEST(sr_many_sequential_messages)
{
    struct chan ch = open_chan(0);
    struct h_server_stats st = {.chid = ch.chid};
    pthread_t t = h_thread(h_echo_server, &st);
    int bad = 0;
    for (int i = 0; i < 5000; i++) {
        int v = i, r = -1;
        long s = MsgSend(ch.coid, &v, sizeof v, &r, sizeof r);
        if (s != (long)sizeof v || r != i)
            bad++;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(atomic_load(&st.handled), 5000);
    h_echo_quit(ch.coid);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(sr_fd_range_coid_messaging)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, 0));
    struct client c = {.coid = coid, .smsg = "fd", .sbytes = 3};
    pthread_t t = h_thread(client_thread, &c);
    char buf[8];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.coid, coid);
    CHECK_MEM(buf, "fd", 3);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}


/* Sizes around the thresholds an implementation is likely to have (inline slots, pages,
 * 64 KiB, ...). */

static void *sweep_client(void *arg)
{
    int coid = (int)(intptr_t)arg;
    return (void *)(intptr_t)sweep_send(coid);
}

TEST(sr_size_sweep)
{
    struct chan ch = open_chan(0);
    pthread_t t = h_thread(sweep_client, (void *)(intptr_t)ch.coid);
    sweep_serve(ch.chid, getpid());
    JOIN(t, 10000);
    close_chan(ch);
}

/* A reply while another server thread is still reading the same long message: the reply
 * waits for the read (QNX's kernel serializes them) and the client always gets it; the read
 * gets its bytes or ESRCH, never the reply's (nor the client's next message's). */
#define RR_BIG (1 << 20)
#define RR_MSGS 30
#define RR_REPLY 64

struct rr {
    int rcvid;
    char *buf;
    long got;
    int err;
    atomic_int reading;
};

static void *read_it(void *arg)
{
    struct rr *r = arg;
    atomic_store(&r->reading, 1);
    r->got = MsgRead(r->rcvid, r->buf, RR_BIG, 0);
    r->err = errno;
    return NULL;
}

/* Whether all n bytes of p are c. */
static int all_are(const char *p, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

/* The client, in a process of its own: the server's reads are then copies between
 * processes. Message i is all 'a' + i % 26 and its reply must be status i with RR_REPLY
 * bytes 'R'; what went wrong is told on stderr. */
static int send_big(int rd, int wr, void *arg)
{
    (void)rd, (void)wr;
    const int *where = arg; /* pid, chid */
    int coid = ConnectAttach(0, where[0], where[1], _NTO_SIDE_CHANNEL, 0);
    char *m = malloc(RR_BIG);
    if (coid == -1 || !m)
        return 1;
    for (int i = 0; i < RR_MSGS; i++) {
        char back[RR_REPLY];
        memset(m, 'a' + i % 26, RR_BIG);
        memset(back, 0, sizeof back);
        errno = 0;
        long got = MsgSend(coid, m, RR_BIG, back, sizeof back);
        if (got != i || !all_are(back, sizeof back, 'R')) {
            fprintf(stderr, "client: MsgSend #%d returned %ld (%#lx), errno %s, reply %.8s\n", i,
                    got, (unsigned long)got, h_errname(errno), back);
            return 2;
        }
    }
    free(m);
    return 0;
}

TEST(a_reply_while_another_thread_reads_the_message_reaches_the_client)
{
    int chid = ChannelCreate(0);
    REQUIRE(chid > 0);
    int where[2] = {getpid(), chid};
    struct h_proc client = h_spawn(send_big, where);
    struct rr r = {0, malloc(RR_BIG), 0, 0, 0};
    char reply[RR_REPLY];
    memset(reply, 'R', sizeof reply);
    for (int i = 0; i < RR_MSGS; i++) {
        char head[16];
        /* A client that went wrong sends no more: the case fails instead of waiting. */
        uint64_t ns = 5000000000ull;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        r.rcvid = MsgReceive(chid, head, sizeof head, NULL);
        if (r.rcvid <= 0)
            h_failf(__FILE__, __LINE__, "message #%d not received: %s", i, h_errname(errno));
        if (r.rcvid <= 0)
            break;
        atomic_store(&r.reading, 0);
        pthread_t reader = h_thread(read_it, &r);
        while (!atomic_load(&r.reading)) {
        }
        /* Into the read's copy (a megabyte takes tens of microseconds), or just before it. */
        long long until = h_now_us() + (i % 6) * 8;
        while (h_now_us() < until) {
        }
        CHECK_OK(MsgReply(r.rcvid, i, reply, sizeof reply));
        JOIN(reader, 5000);
        CHECK(r.got == RR_BIG || (r.got == -1 && r.err == ESRCH));
        if (r.got == RR_BIG && !all_are(r.buf, RR_BIG, (char)('a' + i % 26)))
            h_failf(__FILE__, __LINE__, "read #%d got other bytes than the message's", i);
    }
    CHECK_CHILD_OK(client.pid, 10000);
    h_close_proc(&client);
    free(r.buf);
    ChannelDestroy(chid);
}

HARNESS_MAIN
