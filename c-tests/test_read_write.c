/*
 * test_read_write.c - MsgRead / MsgReadv / MsgWrite / MsgWritev while the client is
 * REPLY-blocked: offsets, clamping to srcmsglen/dstmsglen, 0 past the end, logical
 * offsets across send IOV parts, MsgWrite combined with MsgReply, error paths
 * (reference §7.4, §7.5, §16).
 */
#include "harness.h"

struct client {
    int coid;
    int vector; /* 1: MsgSendv with the iovs below */
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

static void *client_thread(void *arg)
{
    struct client *c = (struct client *)arg;
    errno = 0;
    if (c->vector)
        c->ret = MsgSendv(c->coid, c->siov, c->sparts, c->riov, c->rparts);
    else
        c->ret = MsgSend(c->coid, c->smsg, c->sbytes, c->rmsg, c->rbytes);
    c->err = errno;
    return NULL;
}

TEST(rw_msgread_at_offsets)
{
    enum { N = 1000 };
    struct chan ch = open_chan(0);
    static char out[N];
    h_fill(out, N, 31);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = N};
    pthread_t t = h_thread(client_thread, &c);
    char hdr[16];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, hdr, sizeof hdr, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.srcmsglen, N);
    static const struct {
        size_t off, bytes;
        ssize_t want;
    } cases[] = {
        {0, 10, 10},     {0, N, N},       {0, 2 * N, N},  {1, 5, 5},   {16, 100, 100},
        {500, 600, 500}, {999, 10, 1},    {999, 1, 1},    {N, 10, 0},  {N + 1, 10, 0},
        {5000, 10, 0},   {123, 0, 0},     {SIZE_MAX / 2, 4, 0},
    };
    static char buf[2 * N];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(buf, 0xEE, sizeof buf);
        errno = 0;
        ssize_t got = MsgRead(rcvid, buf, cases[i].bytes, cases[i].off);
        if (got != cases[i].want) {
            FAIL("MsgRead(bytes=%zu, offset=%zu) = %zd (errno %s), want %zd", cases[i].bytes,
                 cases[i].off, got, h_errname(errno), cases[i].want);
            continue;
        }
        if (got > 0 && h_verify(buf, (size_t)got, 31, cases[i].off) >= 0)
            FAIL("MsgRead(bytes=%zu, offset=%zu): wrong data", cases[i].bytes, cases[i].off);
        if ((size_t)got < sizeof buf && (unsigned char)buf[got] != 0xEE)
            FAIL("MsgRead(bytes=%zu, offset=%zu) wrote past its result", cases[i].bytes,
                 cases[i].off);
    }
    /* Reading again gives the same bytes: the client's data isn't consumed. */
    CHECK_EQ(MsgRead(rcvid, buf, 50, 100), 50);
    CHECK(h_verify(buf, 50, 31, 100) < 0);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 0);
    close_chan(ch);
}

TEST(rw_msgread_across_send_iov_parts)
{
    /* The offset is into the logical concatenation of the client's send IOVs. */
    struct chan ch = open_chan(0);
    static char all[64];
    h_fill(all, sizeof all, 32);
    iov_t siov[4];
    SETIOV(&siov[0], all, 5);
    SETIOV(&siov[1], all + 5, 0);
    SETIOV(&siov[2], all + 5, 20);
    SETIOV(&siov[3], all + 25, 39);
    struct client c = {.coid = ch.coid, .vector = 1, .siov = siov, .sparts = 4};
    pthread_t t = h_thread(client_thread, &c);
    char hdr[2];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, hdr, sizeof hdr, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.srcmsglen, 64);
    char buf[64];
    for (size_t off = 0; off <= 64; off += 3) {
        for (size_t len = 1; len <= 30; len += 7) {
            size_t want = off >= 64 ? 0 : (64 - off < len ? 64 - off : len);
            ssize_t got = MsgRead(rcvid, buf, len, off);
            if (got != (ssize_t)want) {
                FAIL("MsgRead(len %zu, off %zu) = %zd, want %zu", len, off, got, want);
                continue;
            }
            if (got > 0)
                CHECK_MEM(buf, all + off, (size_t)got);
        }
    }
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(rw_msgreadv_scatter_at_offset)
{
    struct chan ch = open_chan(0);
    char out[100];
    h_fill(out, sizeof out, 33);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = sizeof out};
    pthread_t t = h_thread(client_thread, &c);
    char hdr[12];
    rcvid_t rcvid = MsgReceive(ch.chid, hdr, sizeof hdr, NULL);
    REQUIRE(rcvid > 0);
    char a[30], b[30], d[60];
    iov_t iov[3];
    SETIOV(&iov[0], a, sizeof a);
    SETIOV(&iov[1], b, sizeof b);
    SETIOV(&iov[2], d, sizeof d);
    /* Skip the 12-byte header, as the course's MsgReadv example does. */
    CHECK_EQ(MsgReadv(rcvid, iov, 3, 12), 88);
    CHECK_MEM(a, out + 12, 30);
    CHECK_MEM(b, out + 42, 30);
    CHECK_MEM(d, out + 72, 28);
    CHECK_EQ(MsgReadv(rcvid, iov, 3, 100), 0);
    CHECK_EQ(MsgReadv(rcvid, iov, 0, 0), 0);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(rw_msgwrite_then_reply)
{
    enum { N = 1000 };
    struct chan ch = open_chan(0);
    static char in[N];
    memset(in, 0xAA, N);
    struct client c = {.coid = ch.coid, .smsg = "w", .sbytes = 1, .rmsg = in, .rbytes = N};
    pthread_t t = h_thread(client_thread, &c);
    char buf[4];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.dstmsglen, N);
    char data[100];
    h_fill(data, sizeof data, 34);
    CHECK_EQ(MsgWrite(rcvid, data, 100, 200), 100);
    CHECK_EQ(MsgWrite(rcvid, data, 100, 950), 50); /* clamped to dstmsglen */
    CHECK_EQ(MsgWrite(rcvid, data, 100, N), 0);
    CHECK_EQ(MsgWrite(rcvid, data, 100, 5000), 0);
    CHECK_EQ(MsgWrite(rcvid, data, 0, 10), 0);
    /* The client is still blocked; the reply header lands at offset 0. */
    CHECK_EQ(MsgReply(rcvid, 8, "HEADER!", 8), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 8);
    CHECK_MEM(in, "HEADER!", 8);
    CHECK_MEM(in + 200, data, 100);
    CHECK_MEM(in + 950, data, 50);
    for (int i = 8; i < N; i++) {
        if ((i >= 200 && i < 300) || i >= 950)
            continue;
        if ((unsigned char)in[i] != 0xAA) {
            FAIL("reply buffer byte %d modified", i);
            break;
        }
    }
    close_chan(ch);
}

TEST(rw_msgwrite_then_zero_byte_reply)
{
    struct chan ch = open_chan(0);
    char in[64];
    memset(in, 0, sizeof in);
    struct client c = {.coid = ch.coid, .smsg = "z", .sbytes = 1, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char buf[4];
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(MsgWrite(rcvid, "0123456789", 10, 0), 10);
    CHECK_EQ(MsgWrite(rcvid, "abcdef", 6, 10), 6);
    CHECK_EQ(MsgReply(rcvid, 16, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 16);
    CHECK_MEM(in, "0123456789abcdef", 16);
    close_chan(ch);
}

TEST(rw_msgwritev_into_reply_iov)
{
    struct chan ch = open_chan(0);
    char r1[8], r2[8], r3[8];
    memset(r1, '.', 8);
    memset(r2, '.', 8);
    memset(r3, '.', 8);
    iov_t riov[3];
    SETIOV(&riov[0], r1, 8);
    SETIOV(&riov[1], r2, 8);
    SETIOV(&riov[2], r3, 8);
    iov_t siov[1];
    SETIOV(&siov[0], "v", 1);
    struct client c = {.coid = ch.coid, .vector = 1, .siov = siov, .sparts = 1,
                       .riov = riov, .rparts = 3};
    pthread_t t = h_thread(client_thread, &c);
    char buf[4];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.dstmsglen, 24);
    iov_t w[2];
    SETIOV(&w[0], "ABCDE", 5);
    SETIOV(&w[1], "FGHIJKL", 7);
    /* 12 bytes at logical offset 6 span r1[6..8), r2[0..8), r3[0..2). */
    CHECK_EQ(MsgWritev(rcvid, w, 2, 6), 12);
    /* Clamped at the end of the reply space. */
    CHECK_EQ(MsgWritev(rcvid, w, 2, 20), 4);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_MEM(r1, "......AB", 8);
    CHECK_MEM(r2, "CDEFGHIJ", 8);
    CHECK_MEM(r3, "KL..ABCD", 8);
    close_chan(ch);
}

TEST(rw_large_msgread_in_chunks_8mib)
{
    size_t n = 8u << 20;
    struct chan ch = open_chan(0);
    char *out = (char *)malloc(n), *got = (char *)malloc(n);
    REQUIRE(out && got);
    h_fill(out, n, 35);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = n};
    pthread_t t = h_thread(client_thread, &c);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(ch.chid, NULL, 0, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.srcmsglen, n);
    size_t off = 0, chunk = 65536 + 17;
    while (off < n) {
        ssize_t r = MsgRead(rcvid, got + off, chunk, off);
        if (r <= 0) {
            FAIL("MsgRead at offset %zu returned %zd (%s)", off, r, h_errname(errno));
            break;
        }
        off += (size_t)r;
    }
    CHECK_EQ(off, n);
    long long bad = h_verify(got, n, 35, 0);
    if (bad >= 0)
        FAIL("MsgRead data differs at %lld", bad);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 20000);
    free(out);
    free(got);
    close_chan(ch);
}

TEST(rw_large_msgwrite_8mib)
{
    size_t n = 8u << 20;
    struct chan ch = open_chan(0);
    char *in = (char *)malloc(n), *data = (char *)malloc(n);
    REQUIRE(in && data);
    memset(in, 0, n);
    h_fill(data, n, 36);
    struct client c = {.coid = ch.coid, .smsg = "L", .sbytes = 1, .rmsg = in, .rbytes = n};
    pthread_t t = h_thread(client_thread, &c);
    char b[1];
    rcvid_t rcvid = MsgReceive(ch.chid, b, 1, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(MsgWrite(rcvid, data + 4096, n - 4096, 4096), n - 4096);
    CHECK_EQ(MsgReply(rcvid, 0, data, 4096), 0);
    JOIN(t, 20000);
    long long bad = h_verify(in, n, 36, 0);
    if (bad >= 0)
        FAIL("client reply buffer differs at %lld", bad);
    free(in);
    free(data);
    close_chan(ch);
}

TEST(rw_null_buffers)
{
    struct chan ch = open_chan(0);
    char in[16];
    struct client c = {.coid = ch.coid, .smsg = "0123456789", .sbytes = 10, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char b[1];
    rcvid_t rcvid = MsgReceive(ch.chid, b, 1, NULL);
    REQUIRE(rcvid > 0);
    /* Zero bytes with NULL is fine. */
    CHECK_EQ(MsgRead(rcvid, NULL, 0, 0), 0);
    CHECK_EQ(MsgWrite(rcvid, NULL, 0, 0), 0);
    /* A NULL buffer with a length is a fault in the server's own buffer (§7.4). */
    errno = 0;
    ssize_t r = MsgRead(rcvid, NULL, 5, 0);
    int e = errno;
    if (r != -1 || (e != EFAULT && e != ESRVRFAULT))
        FAIL("MsgRead(NULL, 5) = %zd errno %s, want -1 EFAULT/ESRVRFAULT", r, h_errname(e));
    iov_t bad;
    SETIOV(&bad, NULL, 5);
    errno = 0;
    r = MsgReadv(rcvid, &bad, 1, 0);
    e = errno;
    if (r != -1 || (e != EFAULT && e != ESRVRFAULT))
        FAIL("MsgReadv(NULL part) = %zd errno %s", r, h_errname(e));
    errno = 0;
    r = MsgWrite(rcvid, NULL, 5, 0);
    e = errno;
    if (r != -1 || (e != EFAULT && e != ESRVRFAULT))
        FAIL("MsgWrite(NULL, 5) = %zd errno %s, want -1 EFAULT/ESRVRFAULT", r, h_errname(e));
    errno = 0;
    r = MsgWritev(rcvid, &bad, 1, 0);
    e = errno;
    if (r != -1 || (e != EFAULT && e != ESRVRFAULT))
        FAIL("MsgWritev(NULL part) = %zd errno %s", r, h_errname(e));
    errno = 0;
    r = MsgReadv(rcvid, NULL, 1, 0);
    e = errno;
    if (r != -1 || (e != EFAULT && e != ESRVRFAULT))
        FAIL("MsgReadv(NULL iov array) = %zd errno %s", r, h_errname(e));
    /* These are local faults: the client is still REPLY-blocked and can be answered
     * (a library that released it on the fault gives ESRCH here, with the client
     * having failed). */
    errno = 0;
    int rr = MsgReply(rcvid, 4, "done", 4);
    int re = errno;
    JOIN(t, 5000);
    if (rr == 0) {
        CHECK_EQ(c.ret, 4);
        CHECK_MEM(in, "done", 4);
    } else {
        FAIL("client was released by a server-side buffer fault: MsgReply errno %s, "
             "client got %ld/%s",
             h_errname(re), c.ret, h_errname(c.err));
    }
    close_chan(ch);
}

TEST(rw_after_reply_esrch)
{
    struct chan ch = open_chan(0);
    struct client c = {.coid = ch.coid, .smsg = "abc", .sbytes = 3};
    pthread_t t = h_thread(client_thread, &c);
    char b[1];
    rcvid_t rcvid = MsgReceive(ch.chid, b, 1, NULL);
    REQUIRE(rcvid > 0);
    CHECK_EQ(MsgReply(rcvid, 0, NULL, 0), 0);
    JOIN(t, 5000);
    char buf[4];
    iov_t iov;
    SETIOV(&iov, buf, sizeof buf);
    struct _msg_info info;
    CHECK_ERR(MsgRead(rcvid, buf, sizeof buf, 0), ESRCH);
    CHECK_ERR(MsgReadv(rcvid, &iov, 1, 0), ESRCH);
    CHECK_ERR(MsgWrite(rcvid, buf, sizeof buf, 0), ESRCH);
    CHECK_ERR(MsgWritev(rcvid, &iov, 1, 0), ESRCH);
    CHECK_ERR(MsgInfo(rcvid, &info), ESRCH);
    close_chan(ch);
}

struct worker {
    rcvid_t rcvid;
    char data[40];
};

static void *rw_worker(void *arg)
{
    struct worker *w = (struct worker *)arg;
    if (MsgRead(w->rcvid, w->data, sizeof w->data, 0) != (ssize_t)sizeof w->data)
        FAIL("worker MsgRead: %s", h_errname(errno));
    for (size_t i = 0; i < sizeof w->data; i++)
        w->data[i] = (char)~w->data[i];
    if (MsgWrite(w->rcvid, w->data, sizeof w->data, 0) != (ssize_t)sizeof w->data)
        FAIL("worker MsgWrite: %s", h_errname(errno));
    if (MsgReply(w->rcvid, 40, NULL, 0) != 0)
        FAIL("worker MsgReply: %s", h_errname(errno));
    return NULL;
}

TEST(rw_from_another_server_thread)
{
    /* Any thread of the server process may MsgRead/MsgWrite/MsgReply. */
    struct chan ch = open_chan(0);
    char out[40], in[40];
    h_fill(out, sizeof out, 37);
    memset(in, 0, sizeof in);
    struct client c = {.coid = ch.coid, .smsg = out, .sbytes = sizeof out, .rmsg = in,
                       .rbytes = sizeof in};
    pthread_t t = h_thread(client_thread, &c);
    char b[1];
    rcvid_t rcvid = MsgReceive(ch.chid, b, 1, NULL);
    REQUIRE(rcvid > 0);
    struct worker w = {.rcvid = rcvid};
    pthread_t wt = h_thread(rw_worker, &w);
    JOIN(wt, 5000);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 40);
    for (int i = 0; i < 40; i++)
        if (in[i] != (char)~out[i]) {
            FAIL("reply byte %d wrong", i);
            break;
        }
    close_chan(ch);
}

HARNESS_MAIN
