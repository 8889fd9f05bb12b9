/*
 * test_iov.c - multi-part messages: MsgSendv / MsgSendvs / MsgSendsv / MsgReceivev /
 * MsgReplyv gather and scatter as one logical byte stream, zero-length parts, NULL
 * parts, total-length overflow (EOVERFLOW) and huge part counts (reference §1.3, §7.1-7.3).
 */
#include "harness.h"

enum { K_SENDV, K_SENDVS, K_SENDSV, K_SEND };

struct vclient {
    int coid;
    int kind;
    const iov_t *siov;
    size_t sparts;
    const iov_t *riov;
    size_t rparts;
    const void *smsg;
    size_t sbytes;
    void *rmsg;
    size_t rbytes;
    long ret;
    int err;
};

static void *vclient_thread(void *arg)
{
    struct vclient *c = (struct vclient *)arg;
    errno = 0;
    switch (c->kind) {
    case K_SENDV:
        c->ret = MsgSendv(c->coid, c->siov, c->sparts, c->riov, c->rparts);
        break;
    case K_SENDVS:
        c->ret = MsgSendvs(c->coid, c->siov, c->sparts, c->rmsg, c->rbytes);
        break;
    case K_SENDSV:
        c->ret = MsgSendsv(c->coid, c->smsg, c->sbytes, c->riov, c->rparts);
        break;
    default:
        c->ret = MsgSend(c->coid, c->smsg, c->sbytes, c->rmsg, c->rbytes);
        break;
    }
    c->err = errno;
    return NULL;
}

/* Huge lengths whose sum overflows size_t (each part alone is <= SSIZE_MAX). */
#define OVF_LEN (SIZE_MAX / 3 + 1)

TEST(iov_sendv_gathers_parts)
{
    struct chan ch = open_chan(0);
    struct {
        uint16_t type;
        uint16_t n;
    } hdr = {0x1234, 2};
    char d1[7] = "part-1", d2[300];
    h_fill(d2, sizeof d2, 5);
    iov_t siov[3];
    SETIOV(&siov[0], &hdr, sizeof hdr);
    SETIOV(&siov[1], d1, sizeof d1);
    SETIOV(&siov[2], d2, sizeof d2);
    char rep[16] = {0};
    iov_t riov[1];
    SETIOV(&riov[0], rep, sizeof rep);
    struct vclient c = {.coid = ch.coid, .kind = K_SENDV, .siov = siov, .sparts = 3,
                        .riov = riov, .rparts = 1};
    pthread_t t = h_thread(vclient_thread, &c);
    char buf[512];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    size_t total = sizeof hdr + sizeof d1 + sizeof d2;
    CHECK_EQ(info.msglen, total);
    CHECK_EQ(info.srcmsglen, total);
    CHECK_EQ(info.dstmsglen, sizeof rep);
    CHECK_MEM(buf, &hdr, sizeof hdr);
    CHECK_MEM(buf + sizeof hdr, d1, sizeof d1);
    CHECK_MEM(buf + sizeof hdr + sizeof d1, d2, sizeof d2);
    CHECK_EQ(MsgReply(rcvid, 3, "reply", 6), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 3);
    CHECK_MEM(rep, "reply", 6);
    close_chan(ch);
}

TEST(iov_receivev_scatters_parts)
{
    struct chan ch = open_chan(0);
    char out[30];
    h_fill(out, sizeof out, 6);
    struct vclient c = {.coid = ch.coid, .kind = K_SEND, .smsg = out, .sbytes = sizeof out};
    pthread_t t = h_thread(vclient_thread, &c);
    char a[10], b[7], d[13], e[5];
    memset(e, 0xEE, sizeof e);
    iov_t riov[4];
    SETIOV(&riov[0], a, sizeof a);
    SETIOV(&riov[1], b, sizeof b);
    SETIOV(&riov[2], d, sizeof d);
    SETIOV(&riov[3], e, sizeof e);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceivev(ch.chid, riov, 4, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 30);
    CHECK_EQ(info.srcmsglen, 30);
    CHECK_MEM(a, out, 10);
    CHECK_MEM(b, out + 10, 7);
    CHECK_MEM(d, out + 17, 13);
    for (int i = 0; i < 5; i++)
        CHECK_EQ((unsigned char)e[i], 0xEE); /* nothing left for the last part */
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(iov_receivev_shorter_than_message)
{
    struct chan ch = open_chan(0);
    char out[50];
    h_fill(out, sizeof out, 7);
    struct vclient c = {.coid = ch.coid, .kind = K_SEND, .smsg = out, .sbytes = sizeof out};
    pthread_t t = h_thread(vclient_thread, &c);
    char a[8], b[8];
    iov_t riov[2];
    SETIOV(&riov[0], a, sizeof a);
    SETIOV(&riov[1], b, sizeof b);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceivev(ch.chid, riov, 2, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 16);
    CHECK_EQ(info.srcmsglen, 50);
    CHECK_MEM(a, out, 8);
    CHECK_MEM(b, out + 8, 8);
    /* The rest is still readable. */
    char rest[34];
    CHECK_EQ(MsgRead(rcvid, rest, sizeof rest, 16), 34);
    CHECK_MEM(rest, out + 16, 34);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(iov_reply_scatters_into_riov)
{
    struct chan ch = open_chan(0);
    char r1[4], r2[6], r3[10];
    memset(r3, 0xDD, sizeof r3);
    iov_t riov[3];
    SETIOV(&riov[0], r1, sizeof r1);
    SETIOV(&riov[1], r2, sizeof r2);
    SETIOV(&riov[2], r3, 5); /* only 5 of the 10 bytes are offered */
    struct vclient c = {.coid = ch.coid, .kind = K_SENDSV, .smsg = "q", .sbytes = 1,
                        .riov = riov, .rparts = 3};
    pthread_t t = h_thread(vclient_thread, &c);
    char buf[8];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.dstmsglen, 15);
    char rep[40];
    h_fill(rep, sizeof rep, 8);
    CHECK_EQ(MsgReply(rcvid, 15, rep, sizeof rep), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 15);
    CHECK_MEM(r1, rep, 4);
    CHECK_MEM(r2, rep + 4, 6);
    CHECK_MEM(r3, rep + 10, 5);
    for (int i = 5; i < 10; i++)
        CHECK_EQ((unsigned char)r3[i], 0xDD);
    close_chan(ch);
}

TEST(iov_sendvs_gather_send_flat_reply)
{
    struct chan ch = open_chan(0);
    char p1[3] = "ab", p2[5] = "cdef";
    iov_t siov[2];
    SETIOV(&siov[0], p1, 2);
    SETIOV(&siov[1], p2, 5);
    char rep[8] = {0};
    struct vclient c = {.coid = ch.coid, .kind = K_SENDVS, .siov = siov, .sparts = 2,
                        .rmsg = rep, .rbytes = sizeof rep};
    pthread_t t = h_thread(vclient_thread, &c);
    char buf[16];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 7);
    CHECK_MEM(buf, "abcdef", 7);
    CHECK_EQ(info.dstmsglen, 8);
    CHECK_EQ(MsgReply(rcvid, 2, "vsok", 5), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 2);
    CHECK_MEM(rep, "vsok", 5);
    close_chan(ch);
}

TEST(iov_replyv_gathers_parts)
{
    struct chan ch = open_chan(0);
    char rep[32];
    memset(rep, 0, sizeof rep);
    struct vclient c = {.coid = ch.coid, .kind = K_SEND, .smsg = "r", .sbytes = 1,
                        .rmsg = rep, .rbytes = sizeof rep};
    pthread_t t = h_thread(vclient_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    iov_t iov[4];
    SETIOV(&iov[0], "one-", 4);
    SETIOV(&iov[1], NULL, 0);
    SETIOV(&iov[2], "two-", 4);
    SETIOV(&iov[3], "three", 6);
    CHECK_EQ(MsgReplyv(rcvid, 14, iov, 4), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 14);
    CHECK(strcmp(rep, "one-two-three") == 0);
    close_chan(ch);
}

TEST(iov_zero_length_parts_are_skipped)
{
    struct chan ch = open_chan(0);
    char x[4] = "xyz";
    iov_t siov[5];
    SETIOV(&siov[0], NULL, 0);
    SETIOV(&siov[1], x, 1);
    SETIOV(&siov[2], NULL, 0);
    SETIOV(&siov[3], x + 1, 2);
    SETIOV(&siov[4], x, 0);
    struct vclient c = {.coid = ch.coid, .kind = K_SENDV, .siov = siov, .sparts = 5,
                        .riov = NULL, .rparts = 0};
    pthread_t t = h_thread(vclient_thread, &c);
    char a[1], b[2], d[8];
    iov_t riov[4];
    SETIOV(&riov[0], NULL, 0);
    SETIOV(&riov[1], a, 1);
    SETIOV(&riov[2], b, 0);
    SETIOV(&riov[3], d, sizeof d);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceivev(ch.chid, riov, 4, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 3);
    CHECK_EQ(info.srcmsglen, 3);
    CHECK_EQ(a[0], 'x');
    CHECK_MEM(d, "yz", 2);
    CHECK_EQ(info.dstmsglen, 0);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 0);
    close_chan(ch);
}

TEST(iov_zero_parts)
{
    /* sparts == 0 with a NULL array is an empty message. */
    struct chan ch = open_chan(0);
    struct vclient c = {.coid = ch.coid, .kind = K_SENDV, .siov = NULL, .sparts = 0,
                        .riov = NULL, .rparts = 0};
    pthread_t t = h_thread(vclient_thread, &c);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceivev(ch.chid, NULL, 0, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 0);
    CHECK_EQ(info.srcmsglen, 0);
    CHECK_EQ(MsgReplyv(rcvid, 8, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 8);
    close_chan(ch);
}

TEST(iov_many_small_parts)
{
    enum { N = 1024 };
    struct chan ch = open_chan(0);
    static iov_t siov[N], riov[N];
    static unsigned char src[N], dst[N], back[N];
    for (int i = 0; i < N; i++) {
        src[i] = (unsigned char)(i * 7);
        SETIOV(&siov[i], &src[i], 1);
        SETIOV(&riov[i], &back[N - 1 - i], 1); /* reply lands reversed */
    }
    struct vclient c = {.coid = ch.coid, .kind = K_SENDV, .siov = siov, .sparts = N,
                        .riov = riov, .rparts = N};
    pthread_t t = h_thread(vclient_thread, &c);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, dst, sizeof dst, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, N);
    CHECK_MEM(dst, src, N);
    CHECK_EQ(info.dstmsglen, N);
    CHECK_EQ(MsgReply(rcvid, 0, dst, N), 0);
    JOIN(t, 5000);
    for (int i = 0; i < N; i++)
        if (back[N - 1 - i] != src[i]) {
            FAIL("reply part %d wrong", i);
            break;
        }
    close_chan(ch);
}

TEST(iov_large_gather_scatter_4mib)
{
    size_t part = 1u << 20;
    struct chan ch = open_chan(0);
    char *src = (char *)malloc(4 * part), *dst = (char *)malloc(4 * part);
    REQUIRE(src && dst);
    h_fill(src, 4 * part, 21);
    iov_t siov[4], riov[3];
    /* Four 1 MiB parts; the logical stream is src[0..4M). */
    for (int i = 0; i < 4; i++)
        SETIOV(&siov[i], src + (size_t)i * part, part);
    struct vclient c = {.coid = ch.coid, .kind = K_SENDV, .siov = siov, .sparts = 4,
                        .riov = NULL, .rparts = 0};
    pthread_t t = h_thread(vclient_thread, &c);
    /* Receive into 3 uneven parts. */
    SETIOV(&riov[0], dst, 1000);
    SETIOV(&riov[1], dst + 1000, 3 * part);
    SETIOV(&riov[2], dst + 1000 + 3 * part, part - 1000);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceivev(ch.chid, riov, 3, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, 4 * part);
    long long bad = h_verify(dst, 4 * part, 21, 0);
    if (bad >= 0)
        FAIL("data differs at %lld", bad);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 20000);
    free(src);
    free(dst);
    close_chan(ch);
}

/* ---------------------------------------------------------------------------------- */
/* Error paths                                                                         */

TEST(iov_null_part_with_length_efault)
{
    struct chan ch = open_chan(0);
    char ok[4] = "abc";
    iov_t siov[2];
    SETIOV(&siov[0], ok, 3);
    SETIOV(&siov[1], NULL, 10);
    /* A receiver is waiting, so the fault can't hide behind a blocked send. */
    struct h_server_stats st = {.chid = ch.chid};
    pthread_t t = h_thread(h_echo_server, &st);
    CHECK_ERR(MsgSendv(ch.coid, siov, 2, NULL, 0), EFAULT);
    CHECK_ERR(MsgSendvs(ch.coid, siov, 2, NULL, 0), EFAULT);
    CHECK_ERR(MsgSendvnc(ch.coid, siov, 2, NULL, 0), EFAULT);
    /* NULL part in the reply IOV. */
    char rep[4];
    iov_t riov[2];
    SETIOV(&riov[0], rep, sizeof rep);
    SETIOV(&riov[1], NULL, 10);
    char big[20];
    memset(big, 'b', sizeof big);
    CHECK_ERR(MsgSendsv(ch.coid, big, sizeof big, riov, 2), EFAULT);
    /* The server is still healthy and saw nothing but good messages. */
    char in[4] = {0};
    CHECK_EQ(MsgSend(ch.coid, ok, 3, in, 3), 3);
    CHECK_MEM(in, ok, 3);
    h_echo_quit(ch.coid);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(iov_null_iov_array_efault)
{
    struct chan ch = open_chan(0);
    struct h_server_stats st = {.chid = ch.chid};
    pthread_t t = h_thread(h_echo_server, &st);
    CHECK_ERR(MsgSendv(ch.coid, NULL, 2, NULL, 0), EFAULT);
    CHECK_ERR(MsgSendvs(ch.coid, NULL, 1, NULL, 0), EFAULT);
    h_echo_quit(ch.coid);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(iov_send_length_overflow_eoverflow)
{
    struct chan ch = open_chan(0);
    static char dummy[16];
    iov_t big[3];
    for (int i = 0; i < 3; i++)
        SETIOV(&big[i], dummy, OVF_LEN);
    iov_t one;
    SETIOV(&one, dummy, 1);
    /* No receiver: the check must happen up front, not hang. */
    CHECK_ERR(MsgSendv(ch.coid, big, 3, &one, 1), EOVERFLOW);
    CHECK_ERR(MsgSendv(ch.coid, &one, 1, big, 3), EOVERFLOW);
    CHECK_ERR(MsgSendvs(ch.coid, big, 3, dummy, 1), EOVERFLOW);
    CHECK_ERR(MsgSendsv(ch.coid, dummy, 1, big, 3), EOVERFLOW);
    CHECK_ERR(MsgSendvnc(ch.coid, big, 3, NULL, 0), EOVERFLOW);
    CHECK_ERR(MsgSendvsnc(ch.coid, big, 3, NULL, 0), EOVERFLOW);
    CHECK_ERR(MsgSendsvnc(ch.coid, dummy, 1, big, 3), EOVERFLOW);
    close_chan(ch);
}

TEST(iov_receive_length_overflow_eoverflow)
{
    struct chan ch = open_chan(0);
    static char dummy[16];
    iov_t big[3];
    for (int i = 0; i < 3; i++)
        SETIOV(&big[i], dummy, OVF_LEN);
    /* Nothing is queued: must fail immediately instead of blocking. */
    CHECK_ERR(MsgReceivev(ch.chid, big, 3, NULL), EOVERFLOW);
    close_chan(ch);
}

TEST(iov_server_side_overflow_eoverflow)
{
    struct chan ch = open_chan(0);
    static char dummy[16];
    iov_t big[3];
    for (int i = 0; i < 3; i++)
        SETIOV(&big[i], dummy, OVF_LEN);
    char in[4] = {0};
    struct vclient c = {.coid = ch.coid, .kind = K_SEND, .smsg = "ovf", .sbytes = 4,
                        .rmsg = in, .rbytes = sizeof in};
    pthread_t t = h_thread(vclient_thread, &c);
    char buf[8];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_ERR(MsgReadv(rcvid, big, 3, 0), EOVERFLOW);
    CHECK_ERR(MsgWritev(rcvid, big, 3, 0), EOVERFLOW);
    errno = 0;
    int r = MsgReplyv(rcvid, 1, big, 3);
    int e = errno;
    CHECK_EQ(r, -1);
    CHECK_EQ(e, EOVERFLOW);
    /* Release the client whichever way the failed reply left it. */
    errno = 0;
    int r2 = MsgReply(rcvid, 2, "ok", 3);
    JOIN(t, 5000);
    if (r2 == 0) {
        CHECK_EQ(c.ret, 2);
        CHECK_MEM(in, "ok", 3);
    } else {
        CHECK_EQ(errno, ESRCH);
        CHECK_EQ(c.ret, -1);
    }
    close_chan(ch);
}

TEST(iov_huge_part_count_rejected)
{
    struct chan ch = open_chan(0);
    static iov_t iov[2];
    static char dummy[4];
    SETIOV(&iov[0], dummy, 1);
    SETIOV(&iov[1], dummy, 1);
    static const size_t counts[] = {SIZE_MAX, SIZE_MAX / sizeof(iov_t) + 1, (size_t)1 << 40,
                                    (size_t)INT_MAX + 1};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        size_t n = counts[i];
        errno = 0;
        long r = MsgSendv(ch.coid, iov, n, iov, 1);
        int e = errno;
        if (r != -1 || (e != EINVAL && e != EOVERFLOW))
            FAIL("MsgSendv(sparts=%zu) = %ld errno %s, want -1 EINVAL/EOVERFLOW", n, r,
                 h_errname(e));
        errno = 0;
        r = MsgSendv(ch.coid, iov, 1, iov, n);
        e = errno;
        if (r != -1 || (e != EINVAL && e != EOVERFLOW))
            FAIL("MsgSendv(rparts=%zu) = %ld errno %s, want -1 EINVAL/EOVERFLOW", n, r,
                 h_errname(e));
        errno = 0;
        r = (long)MsgReceivev(ch.chid, iov, n, NULL);
        e = errno;
        if (r != -1 || (e != EINVAL && e != EOVERFLOW))
            FAIL("MsgReceivev(parts=%zu) = %ld errno %s, want -1 EINVAL/EOVERFLOW", n, r,
                 h_errname(e));
    }
    close_chan(ch);
}

TEST(iov_huge_part_count_server_side)
{
    struct chan ch = open_chan(0);
    static iov_t iov[2];
    static char dummy[4];
    SETIOV(&iov[0], dummy, 1);
    SETIOV(&iov[1], dummy, 1);
    struct vclient c = {.coid = ch.coid, .kind = K_SEND, .smsg = "h", .sbytes = 1};
    pthread_t t = h_thread(vclient_thread, &c);
    char buf[4];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    size_t n = SIZE_MAX / 2;
    errno = 0;
    long r = (long)MsgReadv(rcvid, iov, n, 0);
    int e = errno;
    if (r != -1 || (e != EINVAL && e != EOVERFLOW))
        FAIL("MsgReadv(parts=%zu) = %ld errno %s", n, r, h_errname(e));
    errno = 0;
    r = (long)MsgWritev(rcvid, iov, n, 0);
    e = errno;
    if (r != -1 || (e != EINVAL && e != EOVERFLOW))
        FAIL("MsgWritev(parts=%zu) = %ld errno %s", n, r, h_errname(e));
    errno = 0;
    r = MsgReplyv(rcvid, 0, iov, n);
    e = errno;
    if (r != -1 || (e != EINVAL && e != EOVERFLOW))
        FAIL("MsgReplyv(parts=%zu) = %ld errno %s", n, r, h_errname(e));
    MsgReply(rcvid, 0, NULL, 0); /* release the client if still blocked */
    JOIN(t, 5000);
    close_chan(ch);
}

HARNESS_MAIN
