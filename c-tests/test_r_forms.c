/*
 * test_r_forms.c - the _r variant of every call: the same value on success, -errno on
 * failure, and errno left alone either way (reference §7.0).
 */
#include "harness.h"

#define SENTINEL 7777

/* Evaluates an _r call with errno preset to a sentinel; checks value and errno. */
#define CHECK_R(expr, want)                                                     \
    ({                                                                          \
        errno = SENTINEL;                                                       \
        long long h_rv_ = (long long)(expr);                                    \
        int h_re_ = errno;                                                      \
        long long h_w_ = (long long)(want);                                     \
        if (h_rv_ != h_w_)                                                      \
            FAIL("%s = %lld, want %lld%s%s", #expr, h_rv_, h_w_,                \
                 h_rv_ < 0 ? " i.e. -" : "", h_rv_ < 0 ? h_errname((int)-h_rv_) : ""); \
        if (h_re_ != SENTINEL)                                                  \
            FAIL("%s changed errno to %s", #expr, h_errname(h_re_));            \
        h_rv_;                                                                  \
    })

/* Like CHECK_R but only requires a success value >= lo. */
#define CHECK_R_OK(expr, lo)                                                    \
    ({                                                                          \
        errno = SENTINEL;                                                       \
        long long h_rv_ = (long long)(expr);                                    \
        int h_re_ = errno;                                                      \
        if (h_rv_ < (lo))                                                       \
            FAIL("%s = %lld%s%s", #expr, h_rv_, h_rv_ < 0 ? " i.e. -" : "",     \
                 h_rv_ < 0 ? h_errname((int)-h_rv_) : "");                      \
        if (h_re_ != SENTINEL)                                                  \
            FAIL("%s changed errno to %s", #expr, h_errname(h_re_));            \
        h_rv_;                                                                  \
    })

struct client {
    int coid;
    int use_r;
    const void *smsg;
    size_t sbytes;
    void *rmsg;
    size_t rbytes;
    long ret;
    int err_after;
};

static void *client_thread(void *arg)
{
    struct client *c = (struct client *)arg;
    errno = SENTINEL;
    if (c->use_r)
        c->ret = MsgSend_r(c->coid, c->smsg, c->sbytes, c->rmsg, c->rbytes);
    else
        c->ret = MsgSend(c->coid, c->smsg, c->sbytes, c->rmsg, c->rbytes);
    c->err_after = errno;
    return NULL;
}

TEST(r_channel_create_destroy)
{
    int chid = (int)CHECK_R_OK(ChannelCreate_r(0), 1);
    CHECK_EQ(chid, 1);
    CHECK_R(ChannelDestroy_r(chid), EOK);
    CHECK_R(ChannelDestroy_r(chid), -EINVAL);
    CHECK_R(ChannelDestroy_r(-1), -EINVAL);
    int d = (int)CHECK_R_OK(ChannelCreate_r(_NTO_CHF_COID_DISCONNECT), 1);
    CHECK_R(ChannelCreate_r(_NTO_CHF_THREAD_DEATH), -EBUSY);
    CHECK_R(ChannelDestroy_r(d), EOK);
}

TEST(r_connect_attach_detach)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int side = (int)CHECK_R_OK(ConnectAttach_r(0, 0, chid, _NTO_SIDE_CHANNEL, 0), 1);
    CHECK(side & _NTO_SIDE_CHANNEL);
    int fdc = (int)CHECK_R_OK(ConnectAttach_r(0, 0, chid, 0, 0), 0);
    CHECK_EQ(fdc & _NTO_SIDE_CHANNEL, 0);
    CHECK_R(ConnectAttach_r(0, 0, chid + 100, _NTO_SIDE_CHANNEL, 0), -ESRCH);
    CHECK_R(ConnectAttach_r(0, 0x3ffffff0, 1, _NTO_SIDE_CHANNEL, 0), -ESRCH);
    CHECK_R(ConnectAttach_r(5, 0, chid, _NTO_SIDE_CHANNEL, 0), -ENOREMOTE);
    CHECK_R(ConnectDetach_r(side), EOK);
    CHECK_R(ConnectDetach_r(fdc), EOK);
    CHECK_R(ConnectDetach_r(side), -EINVAL);
    CHECK_R(ConnectDetach_r(_NTO_SIDE_CHANNEL | 5555), -EINVAL);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(r_send_family_bad_coid)
{
    int bad = _NTO_SIDE_CHANNEL | 4444;
    char b[4] = "abc";
    iov_t iov;
    SETIOV(&iov, b, sizeof b);
    CHECK_R(MsgSend_r(bad, b, 4, b, 4), -EBADF);
    CHECK_R(MsgSendv_r(bad, &iov, 1, &iov, 1), -EBADF);
    CHECK_R(MsgSendvs_r(bad, &iov, 1, b, 4), -EBADF);
    CHECK_R(MsgSendsv_r(bad, b, 4, &iov, 1), -EBADF);
    CHECK_R(MsgSendnc_r(bad, b, 4, b, 4), -EBADF);
    CHECK_R(MsgSendvnc_r(bad, &iov, 1, &iov, 1), -EBADF);
    CHECK_R(MsgSendvsnc_r(bad, &iov, 1, b, 4), -EBADF);
    CHECK_R(MsgSendsvnc_r(bad, b, 4, &iov, 1), -EBADF);
}

TEST(r_send_family_success)
{
    struct chan ch = open_chan(0);
    struct h_server_stats st = {.chid = ch.chid};
    pthread_t t = h_thread(h_echo_server, &st);
    char out[10] = "r-forms!!", in[10];
    iov_t siov[2], riov[2];
    SETIOV(&siov[0], out, 4);
    SETIOV(&siov[1], out + 4, 6);
    SETIOV(&riov[0], in, 3);
    SETIOV(&riov[1], in + 3, 7);
#define ONE(call)                                                               \
    do {                                                                        \
        memset(in, 0, sizeof in);                                               \
        CHECK_R(call, 10);                                                      \
        CHECK_MEM(in, out, 10);                                                 \
    } while (0)
    ONE(MsgSend_r(ch.coid, out, 10, in, 10));
    ONE(MsgSendv_r(ch.coid, siov, 2, riov, 2));
    ONE(MsgSendvs_r(ch.coid, siov, 2, in, 10));
    ONE(MsgSendsv_r(ch.coid, out, 10, riov, 2));
    ONE(MsgSendnc_r(ch.coid, out, 10, in, 10));
    ONE(MsgSendvnc_r(ch.coid, siov, 2, riov, 2));
    ONE(MsgSendvsnc_r(ch.coid, siov, 2, in, 10));
    ONE(MsgSendsvnc_r(ch.coid, out, 10, riov, 2));
#undef ONE
    h_echo_quit(ch.coid);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(r_send_gets_msg_error_as_negative_errno)
{
    struct chan ch = open_chan(0);
    static const int errs[] = {EPERM, ENOENT, ENOREMOTE, EOK};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        struct client c = {.coid = ch.coid, .use_r = 1, .smsg = "e", .sbytes = 1};
        pthread_t t = h_thread(client_thread, &c);
        char b[2];
        rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, NULL);
        REQUIRE(rcvid > 0);
        CHECK_R(MsgError_r(rcvid, errs[i]), EOK);
        JOIN(t, 5000);
        CHECK_EQ(c.ret, -errs[i]);
        CHECK_EQ(c.err_after, SENTINEL);
        CHECK_R(MsgError_r(rcvid, errs[i]), -ESRCH);
    }
    close_chan(ch);
}

TEST(r_send_null_buffer_and_overflow)
{
    struct chan ch = open_chan(0);
    struct h_server_stats st = {.chid = ch.chid};
    pthread_t t = h_thread(h_echo_server, &st);
    h_settle(0, 2000);
    char in[4];
    CHECK_R(MsgSend_r(ch.coid, NULL, 8, in, 4), -EFAULT);
    static char dummy[4];
    iov_t big[3];
    for (int i = 0; i < 3; i++)
        SETIOV(&big[i], dummy, SIZE_MAX / 3 + 1);
    CHECK_R(MsgSendv_r(ch.coid, big, 3, NULL, 0), -EOVERFLOW);
    CHECK_R(MsgSendvs_r(ch.coid, big, 3, NULL, 0), -EOVERFLOW);
    CHECK_R(MsgSendsv_r(ch.coid, dummy, 1, big, 3), -EOVERFLOW);
    h_echo_quit(ch.coid);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(r_send_blocked_channel_destroyed_esrch)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .use_r = 1, .smsg = "d", .sbytes = 1};
    pthread_t t = h_thread(client_thread, &c);
    h_settle(0, 2000);
    CHECK_EQ(ChannelDestroy(ch.chid), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, -ESRCH);
    CHECK_EQ(c.err_after, SENTINEL);
    CHECK_R(MsgSend_r(ch.coid, "x", 1, NULL, 0), -EBADF);
    CHECK_EQ(ConnectDetach(ch.coid), 0);
}

TEST(r_receive_family)
{
    struct chan ch = open_chan(0);
    char b[16];
    iov_t iov;
    SETIOV(&iov, b, sizeof b);
    struct _msg_info info;
    CHECK_R(MsgReceive_r(ch.chid + 50, b, sizeof b, &info), -ESRCH);
    CHECK_R(MsgReceivev_r(ch.chid + 50, &iov, 1, &info), -ESRCH);
    static char dummy[4];
    iov_t big[3];
    for (int i = 0; i < 3; i++)
        SETIOV(&big[i], dummy, SIZE_MAX / 3 + 1);
    CHECK_R(MsgReceivev_r(ch.chid, big, 3, NULL), -EOVERFLOW);
    /* Success through both. */
    for (int v = 0; v < 2; v++) {
        struct client c = {.coid = ch.coid, .smsg = "recv", .sbytes = 5};
        pthread_t t = h_thread(client_thread, &c);
        rcvid_t r;
        if (v)
            r = (rcvid_t)CHECK_R_OK(MsgReceivev_r(ch.chid, &iov, 1, &info), 1);
        else
            r = (rcvid_t)CHECK_R_OK(MsgReceive_r(ch.chid, b, sizeof b, &info), 1);
        CHECK_EQ(info.msglen, 5);
        CHECK_MEM(b, "recv", 5);
        if (r > 0)
            CHECK_R(MsgReply_r(r, 9, NULL, 0), EOK);
        JOIN(t, 5000);
        CHECK_EQ(c.ret, 9);
    }
    /* A queued message and a NULL buffer: -EFAULT. */
    struct client c = {.coid = ch.coid, .smsg = "0123456789", .sbytes = 10};
    pthread_t t = h_thread(client_thread, &c);
    h_settle(0, 2000);
    CHECK_R(MsgReceive_r(ch.chid, NULL, 10, NULL), -EFAULT);
    CHECK_EQ(ChannelDestroy(ch.chid), 0);
    JOIN(t, 5000);
    CHECK_EQ(ConnectDetach(ch.coid), 0);
}

TEST(r_reply_read_write_info)
{
    struct chan ch = open_chan(0);
    char out[20], in[20];
    h_fill(out, sizeof out, 71);
    memset(in, 0, sizeof in);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = sizeof out, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char b[4];
    rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, NULL);
    REQUIRE(rcvid > 0);
    char buf[32];
    iov_t iov[2];
    SETIOV(&iov[0], buf, 5);
    SETIOV(&iov[1], buf + 5, 27);
    CHECK_R(MsgRead_r(rcvid, buf, sizeof buf, 0), 20);
    CHECK_MEM(buf, out, 20);
    CHECK_R(MsgRead_r(rcvid, buf, sizeof buf, 15), 5);
    CHECK_R(MsgRead_r(rcvid, buf, sizeof buf, 20), 0);
    CHECK_R(MsgReadv_r(rcvid, iov, 2, 2), 18);
    CHECK_R(MsgRead_r(rcvid, NULL, 0, 0), 0);
    CHECK_R(MsgWrite_r(rcvid, "wxyz", 4, 10), 4);
    CHECK_R(MsgWrite_r(rcvid, "wxyz", 4, 18), 2);
    SETIOV(&iov[0], "AB", 2);
    SETIOV(&iov[1], "CD", 2);
    CHECK_R(MsgWritev_r(rcvid, iov, 2, 4), 4);
    struct _msg_info info;
    CHECK_R(MsgInfo_r(rcvid, &info), EOK);
    CHECK_EQ(info.srcmsglen, 20);
    CHECK_EQ(info.dstmsglen, 20);
    CHECK_R(MsgInfo_r(rcvid, NULL), -EFAULT);
    iov_t riov[1];
    SETIOV(&riov[0], "hd", 2);
    CHECK_R(MsgReplyv_r(rcvid, 3, riov, 1), EOK);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 3);
    CHECK_MEM(in, "hd", 2);
    CHECK_MEM(in + 4, "ABCD", 4);
    CHECK_MEM(in + 10, "wxyz", 4);
    CHECK_MEM(in + 18, "wx", 2);
    /* Now everything on that rcvid is -ESRCH. */
    CHECK_R(MsgReply_r(rcvid, 0, NULL, 0), -ESRCH);
    CHECK_R(MsgReplyv_r(rcvid, 0, riov, 1), -ESRCH);
    CHECK_R(MsgError_r(rcvid, EPERM), -ESRCH);
    CHECK_R(MsgRead_r(rcvid, buf, 4, 0), -ESRCH);
    CHECK_R(MsgReadv_r(rcvid, iov, 2, 0), -ESRCH);
    CHECK_R(MsgWrite_r(rcvid, buf, 4, 0), -ESRCH);
    CHECK_R(MsgWritev_r(rcvid, iov, 2, 0), -ESRCH);
    CHECK_R(MsgInfo_r(rcvid, &info), -ESRCH);
    close_chan(ch);
}

TEST(r_server_side_overflow)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = "o", .sbytes = 1};
    pthread_t t = h_thread(client_thread, &c);
    char b[4];
    rcvid_t rcvid = MsgReceive(ch.chid, b, sizeof b, NULL);
    REQUIRE(rcvid > 0);
    static char dummy[4];
    iov_t big[3];
    for (int i = 0; i < 3; i++)
        SETIOV(&big[i], dummy, SIZE_MAX / 3 + 1);
    CHECK_R(MsgReadv_r(rcvid, big, 3, 0), -EOVERFLOW);
    CHECK_R(MsgWritev_r(rcvid, big, 3, 0), -EOVERFLOW);
    CHECK_R(MsgReply_r(rcvid, 0, NULL, 0), EOK);
    JOIN(t, 5000);
    close_chan(ch);
}

HARNESS_MAIN
