/*
 * test_errors.c - error paths that cut across calls: unknown coids (EBADF), NULL
 * buffers with a length (EFAULT / ESRVRFAULT), and the QNX-only errno values
 * (reference §1.2, §7.1-7.4, §13).
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
};

static void *client_thread(void *arg)
{
    struct client *c = (struct client *)arg;
    errno = 0;
    c->ret = MsgSend(c->coid, c->smsg, c->sbytes, c->rmsg, c->rbytes);
    c->err = errno;
    return NULL;
}

static void all_sends_ebadf(int coid)
{
    char b[4] = "bad";
    iov_t iov;
    SETIOV(&iov, b, sizeof b);
    CHECK_ERR(MsgSend(coid, b, sizeof b, b, sizeof b), EBADF);
    CHECK_ERR(MsgSendv(coid, &iov, 1, &iov, 1), EBADF);
    CHECK_ERR(MsgSendvs(coid, &iov, 1, b, sizeof b), EBADF);
    CHECK_ERR(MsgSendsv(coid, b, sizeof b, &iov, 1), EBADF);
    CHECK_ERR(MsgSendnc(coid, b, sizeof b, b, sizeof b), EBADF);
    CHECK_ERR(MsgSendvnc(coid, &iov, 1, &iov, 1), EBADF);
    CHECK_ERR(MsgSendvsnc(coid, &iov, 1, b, sizeof b), EBADF);
    CHECK_ERR(MsgSendsvnc(coid, b, sizeof b, &iov, 1), EBADF);
}

TEST(err_send_unknown_coid_ebadf)
{
    all_sends_ebadf(_NTO_SIDE_CHANNEL | 777);
    all_sends_ebadf(-1);
    all_sends_ebadf(INT_MAX);
    all_sends_ebadf(987654);
}

TEST(err_send_on_plain_fd_ebadf)
{
    /* A real descriptor that is not a connection (a pipe) is not a coid. */
    int p[2];
    REQUIRE_EQ(pipe(p), 0);
    all_sends_ebadf(p[0]);
    all_sends_ebadf(p[1]);
    close(p[0]);
    close(p[1]);
}

TEST(err_send_detached_coid_ebadf)
{
    struct chan ch = open_chan(0);
    int fdc = (int)REQUIRE_OK(ConnectAttach(0, 0, ch.chid, 0, 0));
    int side = (int)REQUIRE_OK(ConnectAttach(0, 0, ch.chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(ConnectDetach(fdc), 0);
    CHECK_EQ(ConnectDetach(side), 0);
    all_sends_ebadf(fdc);
    all_sends_ebadf(side);
    close_chan(ch);
}

TEST(err_send_null_message_efault)
{
    /* A receiver is already waiting, so the transfer happens at once. */
    struct chan ch = open_chan(0);
    struct h_server_stats st = {.chid = ch.chid};
    pthread_t t = h_thread(h_echo_server, &st);
    h_settle(0, 2000);
    char in[8];
    CHECK_ERR(MsgSend(ch.coid, NULL, 10, in, sizeof in), EFAULT);
    CHECK_ERR(MsgSendnc(ch.coid, NULL, 10, in, sizeof in), EFAULT);
    CHECK_ERR(MsgSendsv(ch.coid, NULL, 10, NULL, 0), EFAULT);
    /* The server never saw a message from the faulting sends. */
    CHECK_EQ(atomic_load(&st.handled), 0);
    char out[6] = "after";
    CHECK_EQ(MsgSend(ch.coid, out, 6, in, 6), 6);
    CHECK_MEM(in, "after", 6);
    CHECK_EQ(atomic_load(&st.handled), 1);
    h_echo_quit(ch.coid);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(err_send_null_reply_buffer_efault)
{
    /* The server replies with data into a NULL reply buffer of non-zero size. */
    struct chan ch = open_chan(0);
    struct h_server_stats st = {.chid = ch.chid};
    pthread_t t = h_thread(h_echo_server, &st);
    char out[8] = "payload";
    CHECK_ERR(MsgSend(ch.coid, out, sizeof out, NULL, 8), EFAULT);
    iov_t siov;
    SETIOV(&siov, out, sizeof out);
    CHECK_ERR(MsgSendvs(ch.coid, &siov, 1, NULL, 8), EFAULT);
    char in[8];
    CHECK_EQ(MsgSend(ch.coid, out, sizeof out, in, sizeof in), 8);
    CHECK_MEM(in, out, 8);
    h_echo_quit(ch.coid);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(err_receive_null_buffer_efault)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = "0123456789", .sbytes = 10};
    pthread_t t = h_thread(client_thread, &c);
    h_settle(0, 2000); /* the message is queued */
    CHECK_ERR(MsgReceive(ch.chid, NULL, 10, NULL), EFAULT);
    /* Release the client, whatever state it was left in. */
    CHECK_EQ(ChannelDestroy(ch.chid), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, -1);
    CHECK_EQ(ConnectDetach(ch.coid), 0);
}

TEST(err_receivev_null_iov_array_efault)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = "abc", .sbytes = 3};
    pthread_t t = h_thread(client_thread, &c);
    h_settle(0, 2000);
    CHECK_ERR(MsgReceivev(ch.chid, NULL, 2, NULL), EFAULT);
    CHECK_EQ(ChannelDestroy(ch.chid), 0);
    JOIN(t, 5000);
    CHECK_EQ(ConnectDetach(ch.coid), 0);
}

static void reply_fault_case(int vector)
{
    struct chan ch = open_chan(0);
    char in[16];
    memset(in, 0, sizeof in);
    struct client c = {.coid = ch.coid, .smsg = "r", .sbytes = 1, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char b[1];
    rcvid_t rcvid = MsgReceive(ch.chid, b, 1, NULL);
    REQUIRE(rcvid > 0);
    errno = 0;
    int r;
    if (vector) {
        iov_t iov[2];
        SETIOV(&iov[0], "ok", 2);
        SETIOV(&iov[1], NULL, 8);
        r = MsgReplyv(rcvid, 1, iov, 2);
    } else {
        r = MsgReply(rcvid, 1, NULL, 8);
    }
    int e = errno;
    if (r != -1 || (e != EFAULT && e != ESRVRFAULT))
        FAIL("%s with a NULL buffer = %d errno %s, want -1 EFAULT/ESRVRFAULT",
             vector ? "MsgReplyv" : "MsgReply", r, h_errname(e));
    /* Either the client is still blocked (we can reply now), or it was released with
     * ESRVRFAULT (§7.3: "on a fault the client is still released"). */
    errno = 0;
    int r2 = MsgReply(rcvid, 2, "fine", 5);
    int e2 = errno;
    JOIN(t, 5000);
    if (r2 == 0) {
        CHECK_EQ(c.ret, 2);
        CHECK_MEM(in, "fine", 5);
    } else {
        CHECK_EQ(e2, ESRCH);
        CHECK_EQ(c.ret, -1);
        CHECK_EQ(c.err, ESRVRFAULT);
    }
    close_chan(ch);
}

TEST(err_reply_null_buffer) { reply_fault_case(0); }

TEST(err_replyv_null_part) { reply_fault_case(1); }

TEST(err_qnx_errno_values)
{
    CHECK_EQ(EOK, 0);
    const int q[] = {ENOREMOTE, ESRVRFAULT, EBADFSYS, EMORE};
    const char *qn[] = {"ENOREMOTE", "ESRVRFAULT", "EBADFSYS", "EMORE"};
    const int std[] = {EPERM,  ENOENT, ESRCH,     EINTR,     EIO,   ENXIO,  EBADF,
                       EAGAIN, ENOMEM, EFAULT,    EBUSY,     EINVAL, EMFILE, ENOSYS,
                       EOVERFLOW, ETIMEDOUT, EACCES, EEXIST, ENFILE, EPIPE, ERANGE};
    for (int i = 0; i < 4; i++) {
        if (q[i] <= 0)
            FAIL("%s = %d is not a positive errno", qn[i], q[i]);
        for (int j = 0; j < i; j++)
            if (q[i] == q[j])
                FAIL("%s == %s (%d)", qn[i], qn[j], q[i]);
        for (size_t j = 0; j < sizeof std / sizeof std[0]; j++)
            if (q[i] == std[j])
                FAIL("%s (%d) collides with a standard errno (%s)", qn[i], q[i],
                     h_errname(std[j]));
    }
    /* MsgError carries them like any other errno. */
    struct chan ch = open_chan(0);
    for (int i = 0; i < 4; i++) {
        struct client c = {.coid = ch.coid, .smsg = "q", .sbytes = 1};
        pthread_t t = h_thread(client_thread, &c);
        char b[1];
        rcvid_t rcvid = MsgReceive(ch.chid, b, 1, NULL);
        REQUIRE(rcvid > 0);
        CHECK_EQ(MsgError(rcvid, q[i]), 0);
        JOIN(t, 5000);
        CHECK_EQ(c.ret, -1);
        CHECK_EQ(c.err, q[i]);
    }
    close_chan(ch);
}

HARNESS_MAIN
