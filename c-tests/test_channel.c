/*
 * test_channel.c - ChannelCreate / ChannelDestroy (reference §5, §8.4).
 */
#include "harness.h"

struct send_result {
    int coid;
    long ret;
    int err;
    size_t len;
    char reply[64];
};

/* Client thread body: one MsgSend of "ping", result recorded. */
static void *sender(void *arg)
{
    struct send_result *r = (struct send_result *)arg;
    char msg[] = "ping";
    errno = 0;
    r->ret = MsgSend(r->coid, msg, sizeof msg, r->reply, sizeof r->reply);
    r->err = errno;
    return NULL;
}

struct recv_result {
    int chid;
    rcvid_t ret;
    int err;
};

static void *receiver(void *arg)
{
    struct recv_result *r = (struct recv_result *)arg;
    char buf[64];
    errno = 0;
    r->ret = MsgReceive(r->chid, buf, sizeof buf, NULL);
    r->err = errno;
    return NULL;
}

TEST(channel_create_returns_positive_chid)
{
    int chid = ChannelCreate(0);
    CHECK(chid >= 1);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(channel_first_chid_is_one_in_fresh_process)
{
    /* Each case runs in a freshly exec'd image: no channel exists yet. */
    int chid = ChannelCreate(0);
    CHECK_EQ(chid, 1);
    int chid2 = ChannelCreate(0);
    CHECK(chid2 >= 1);
    CHECK_NE(chid2, chid);
    CHECK_EQ(ChannelDestroy(chid), 0);
    CHECK_EQ(ChannelDestroy(chid2), 0);
}

HELPER(first_chid_helper)
{
    (void)rd;
    (void)arg;
    h_put(wr, ChannelCreate(0));
    h_put(wr, ChannelCreate(0));
    return 0;
}

TEST(channel_first_chid_is_one_after_exec)
{
    /* A channel in this process must not influence the numbering in another one. */
    REQUIRE_OK(ChannelCreate(0));
    REQUIRE_OK(ChannelCreate(0));
    struct h_proc p = h_exec("first_chid_helper", NULL);
    CHECK_EQ(h_get(p.rd, 5000), 1);
    long long second = h_get(p.rd, 5000);
    CHECK(second >= 1 && second != 1);
    CHECK_CHILD_OK(p.pid, 5000);
    h_close_proc(&p);
}

TEST(channel_ids_are_distinct)
{
    int chids[16];
    for (int i = 0; i < 16; i++) {
        chids[i] = (int)CHECK_OK(ChannelCreate(0));
        CHECK(chids[i] >= 1);
        for (int j = 0; j < i; j++)
            CHECK_NE(chids[i], chids[j]);
    }
    for (int i = 0; i < 16; i++)
        CHECK_EQ(ChannelDestroy(chids[i]), 0);
}

TEST(channel_create_with_flags)
{
    static const unsigned flags[] = {
        _NTO_CHF_FIXED_PRIORITY,
        _NTO_CHF_UNBLOCK,
        _NTO_CHF_DISCONNECT,
        _NTO_CHF_SENDER_LEN,
        _NTO_CHF_REPLY_LEN,
        _NTO_CHF_PRIVATE,
        _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT | _NTO_CHF_SENDER_LEN | _NTO_CHF_REPLY_LEN,
        _NTO_CHF_FIXED_PRIORITY | _NTO_CHF_UNBLOCK | _NTO_CHF_PRIVATE,
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        int chid = ChannelCreate(flags[i]);
        if (chid < 1) {
            FAIL("ChannelCreate(%#x) = %d, errno %s", flags[i], chid, h_errname(errno));
            continue;
        }
        /* The channel works: one echo round trip. */
        struct h_server_stats st = {.chid = chid};
        pthread_t t = h_thread(h_echo_server, &st);
        int coid = (int)CHECK_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
        char out[8] = "abcdefg", in[8] = {0};
        CHECK_EQ(MsgSend(coid, out, sizeof out, in, sizeof in), sizeof out);
        CHECK_MEM(in, out, sizeof out);
        h_echo_quit(coid);
        JOIN(t, 5000);
        CHECK_EQ(ConnectDetach(coid), 0);
        CHECK_EQ(ChannelDestroy(chid), 0);
    }
}

TEST(channel_death_channel_is_unique_ebusy)
{
    /* §5.4: only one channel per process may carry THREAD_DEATH or COID_DISCONNECT. */
    int a = (int)CHECK_OK(ChannelCreate(_NTO_CHF_COID_DISCONNECT));
    CHECK_ERR(ChannelCreate(_NTO_CHF_COID_DISCONNECT), EBUSY);
    CHECK_ERR(ChannelCreate(_NTO_CHF_THREAD_DEATH), EBUSY);
    CHECK_ERR(ChannelCreate(_NTO_CHF_THREAD_DEATH | _NTO_CHF_COID_DISCONNECT), EBUSY);
    int plain = (int)CHECK_OK(ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK));
    CHECK_EQ(ChannelDestroy(a), 0);
    /* §5.5.6: after destroying it, the process has no death channel any more. */
    int b = (int)CHECK_OK(ChannelCreate(_NTO_CHF_THREAD_DEATH));
    CHECK_ERR(ChannelCreate(_NTO_CHF_COID_DISCONNECT), EBUSY);
    CHECK_EQ(ChannelDestroy(b), 0);
    CHECK_EQ(ChannelDestroy(plain), 0);
}

TEST(channel_destroy_unknown_chid_einval)
{
    CHECK_ERR(ChannelDestroy(0), EINVAL);
    CHECK_ERR(ChannelDestroy(-1), EINVAL);
    CHECK_ERR(ChannelDestroy(12345), EINVAL);
    CHECK_ERR(ChannelDestroy(INT_MAX), EINVAL);
    int chid = (int)CHECK_OK(ChannelCreate(0));
    CHECK_ERR(ChannelDestroy(chid + 1), EINVAL);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(channel_destroy_twice_einval)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_EQ(ChannelDestroy(chid), 0);
    CHECK_ERR(ChannelDestroy(chid), EINVAL);
}

TEST(channel_destroy_of_a_coid_einval)
{
    /* A side-channel coid is not a channel id. */
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_ERR(ChannelDestroy(coid), EINVAL);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(channel_receive_unknown_chid_esrch)
{
    char buf[16];
    struct _msg_info info;
    iov_t iov;
    SETIOV(&iov, buf, sizeof buf);
    CHECK_ERR(MsgReceive(12345, buf, sizeof buf, &info), ESRCH);
    CHECK_ERR(MsgReceive(0, buf, sizeof buf, NULL), ESRCH);
    CHECK_ERR(MsgReceive(-1, buf, sizeof buf, NULL), ESRCH);
    CHECK_ERR(MsgReceivev(12345, &iov, 1, &info), ESRCH);
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_ERR(MsgReceive(chid + 7, buf, sizeof buf, NULL), ESRCH);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(channel_receive_after_destroy_esrch)
{
    char buf[16];
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_EQ(ChannelDestroy(chid), 0);
    CHECK_ERR(MsgReceive(chid, buf, sizeof buf, NULL), ESRCH);
}

TEST(channel_destroy_wakes_receive_blocked_thread)
{
    /* §5.5.3: RECEIVE-blocked threads are unblocked with ESRCH. */
    struct recv_result r[2];
    pthread_t t[2];
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    for (int i = 0; i < 2; i++) {
        r[i].chid = chid;
        t[i] = h_thread(receiver, &r[i]);
    }
    h_settle(0, 2000);
    CHECK_EQ(ChannelDestroy(chid), 0);
    for (int i = 0; i < 2; i++) {
        JOIN(t[i], 3000);
        CHECK_EQ(r[i].ret, -1);
        CHECK_EQ(r[i].err, ESRCH);
    }
}

TEST(channel_destroy_fails_send_blocked_clients_esrch)
{
    /* §5.5.2: SEND-blocked senders fail with ESRCH. */
    struct send_result r[4];
    pthread_t t[4];
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    for (int i = 0; i < 4; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
        t[i] = h_thread(sender, &r[i]);
    }
    h_settle(0, 2000);
    CHECK_EQ(ChannelDestroy(chid), 0);
    for (int i = 0; i < 4; i++) {
        JOIN(t[i], 3000);
        CHECK_EQ(r[i].ret, -1);
        CHECK_EQ(r[i].err, ESRCH);
    }
}

TEST(channel_destroy_fails_reply_blocked_client_esrch)
{
    /* §5.5.4: REPLY-blocked clients fail with ESRCH; the rcvid is then stale. */
    struct send_result r = {0};
    char buf[16];
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    r.coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    pthread_t t = h_thread(sender, &r);
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
    JOIN(t, 3000);
    CHECK_EQ(r.ret, -1);
    CHECK_EQ(r.err, ESRCH);
    CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH);
}

TEST(channel_destroy_with_unblock_flag_fails_reply_blocked_esrch)
{
    /* Even with _NTO_CHF_UNBLOCK the REPLY-blocked client is released (§5.5.4). */
    struct send_result r = {0};
    char buf[16];
    int chid = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT));
    r.coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    pthread_t t = h_thread(sender, &r);
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
    JOIN(t, 3000);
    CHECK_EQ(r.ret, -1);
    CHECK_EQ(r.err, ESRCH);
}

TEST(channel_destroy_then_send_ebadf)
{
    /* §5.5.5: the connection now points at nothing; sending gives EBADF. */
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int side = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int fdc = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, 0));
    CHECK_EQ(ChannelDestroy(chid), 0);
    char c = 'x';
    CHECK_ERR(MsgSend(side, &c, 1, NULL, 0), EBADF);
    CHECK_ERR(MsgSend(fdc, &c, 1, NULL, 0), EBADF);
    /* The coids stay allocated until the client detaches them. */
    CHECK_EQ(ConnectDetach(side), 0);
    CHECK_EQ(ConnectDetach(fdc), 0);
}

TEST(channel_destroy_then_connect_esrch)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_EQ(ChannelDestroy(chid), 0);
    CHECK_ERR(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_ERR(ConnectAttach(0, getpid(), chid, 0, 0), ESRCH);
}

TEST(channel_new_channel_after_destroy_works)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_EQ(ChannelDestroy(chid), 0);
    int chid2 = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK(chid2 >= 1);
    struct h_server_stats st = {.chid = chid2};
    pthread_t t = h_thread(h_echo_server, &st);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid2, _NTO_SIDE_CHANNEL, 0));
    char out[3] = "hi", in[3] = {0};
    CHECK_EQ(MsgSend(coid, out, 3, in, 3), 3);
    CHECK_MEM(in, out, 3);
    h_echo_quit(coid);
    JOIN(t, 5000);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelDestroy(chid2), 0);
}

TEST(channel_messages_stay_on_their_channel)
{
    int a = (int)REQUIRE_OK(ChannelCreate(0));
    int b = (int)REQUIRE_OK(ChannelCreate(0));
    struct send_result ra = {0}, rb = {0};
    ra.coid = (int)REQUIRE_OK(ConnectAttach(0, 0, a, _NTO_SIDE_CHANNEL, 0));
    rb.coid = (int)REQUIRE_OK(ConnectAttach(0, 0, b, _NTO_SIDE_CHANNEL, 0));
    pthread_t ta = h_thread(sender, &ra);
    h_settle(0, 2000);
    pthread_t tb = h_thread(sender, &rb);
    char buf[16];
    struct _msg_info info;
    rcvid_t rb_id = MsgReceive(b, buf, sizeof buf, &info);
    REQUIRE(rb_id > 0);
    CHECK_EQ(info.chid, b);
    CHECK_EQ(info.coid, rb.coid);
    CHECK_EQ(MsgReply(rb_id, 22, NULL, 0), 0);
    rcvid_t ra_id = MsgReceive(a, buf, sizeof buf, &info);
    REQUIRE(ra_id > 0);
    CHECK_EQ(info.chid, a);
    CHECK_EQ(info.coid, ra.coid);
    CHECK_EQ(MsgReply(ra_id, 11, NULL, 0), 0);
    JOIN(ta, 3000);
    JOIN(tb, 3000);
    CHECK_EQ(ra.ret, 11);
    CHECK_EQ(rb.ret, 22);
    CHECK_EQ(ChannelDestroy(a), 0);
    CHECK_EQ(ChannelDestroy(b), 0);
}

TEST(channel_many_channels)
{
    enum { N = 256 };
    static int chids[N];
    for (int i = 0; i < N; i++) {
        chids[i] = (int)CHECK_OK(ChannelCreate(0));
        if (chids[i] < 1)
            h_abort();
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (chids[i] == chids[j])
                FAIL("duplicate chid %d at %d and %d", chids[i], i, j);
    for (int i = 0; i < N; i++)
        CHECK_EQ(ChannelDestroy(chids[i]), 0);
}

#define CC_THREADS 8
#define CC_PER 32
static int cc_chids[CC_THREADS][CC_PER];

static void *create_many(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (int i = 0; i < CC_PER; i++)
        cc_chids[k][i] = ChannelCreate(0);
    return NULL;
}

TEST(channel_create_from_concurrent_threads)
{
    pthread_t t[CC_THREADS];
    for (int k = 0; k < CC_THREADS; k++)
        t[k] = h_thread(create_many, (void *)(intptr_t)k);
    for (int k = 0; k < CC_THREADS; k++)
        JOIN(t[k], 5000);
    int *all = &cc_chids[0][0];
    int n = CC_THREADS * CC_PER;
    for (int i = 0; i < n; i++) {
        CHECK(all[i] >= 1);
        for (int j = i + 1; j < n; j++)
            if (all[i] == all[j])
                FAIL("duplicate chid %d", all[i]);
    }
    for (int i = 0; i < n; i++)
        if (all[i] >= 1)
            CHECK_EQ(ChannelDestroy(all[i]), 0);
}

HARNESS_MAIN
