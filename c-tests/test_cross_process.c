/*
 * test_cross_process.c - messaging between real processes (fork and fork+exec):
 * addressing by (pid, chid), _msg_info of a remote client, one scoid per client process,
 * many client processes at once, large messages, MsgRead/MsgWrite across processes,
 * replies in any order, rcvids and chids being per-process, channel destruction seen by
 * a remote client (reference §1.1, §2.3, §5.5, §6.1, §7).
 */
#include "harness.h"

/* Child: create a channel, report its chid, echo until told to quit. */
static int echo_server_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    if (chid < 0)
        return 1;
    struct h_server_stats st = {.chid = chid};
    h_echo_server(&st);
    ChannelDestroy(chid);
    return 0;
}

HELPER(echo_server_helper)
{
    (void)arg;
    return echo_server_child(rd, wr, NULL);
}

static int connect_to(pid_t pid, int chid)
{
    return (int)REQUIRE_OK(ConnectAttach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0));
}

TEST(xp_parent_client_child_server)
{
    struct h_proc p = h_spawn(echo_server_child, NULL);
    int chid = (int)h_get(p.rd, 5000);
    REQUIRE(chid >= 1);
    CHECK_EQ(chid, 1); /* the child's first channel */
    int coid = connect_to(p.pid, chid);
    for (int i = 0; i < 100; i++) {
        char out[32], in[32];
        snprintf(out, sizeof out, "message %d", i);
        memset(in, 0, sizeof in);
        long r = MsgSend(coid, out, strlen(out) + 1, in, sizeof in);
        CHECK_EQ(r, (long)strlen(out) + 1);
        CHECK(strcmp(in, out) == 0);
    }
    h_echo_quit(coid);
    CHECK_CHILD_OK(p.pid, 5000);
    CHECK_EQ(ConnectDetach(coid), 0);
    h_close_proc(&p);
}

TEST(xp_server_in_exec_image)
{
    struct h_proc p = h_exec("echo_server_helper", NULL);
    int chid = (int)h_get(p.rd, 5000);
    CHECK_EQ(chid, 1);
    int coid = connect_to(p.pid, chid);
    char in[6] = {0};
    CHECK_EQ(MsgSend(coid, "exec", 5, in, sizeof in), 5);
    CHECK_MEM(in, "exec", 5);
    h_echo_quit(coid);
    CHECK_CHILD_OK(p.pid, 5000);
    CHECK_EQ(ConnectDetach(coid), 0);
    h_close_proc(&p);
}

struct info_child_arg {
    int chid;
    pid_t server;
    unsigned index;
};

/* Child client: attach, report coid and kernel tid, send 40 bytes with a 24-byte reply. */
static int info_client_child(int rd, int wr, void *arg)
{
    (void)rd;
    struct info_child_arg *a = (struct info_child_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, a->index, 0);
    h_put(wr, coid);
    if (coid < 0)
        return 1;
    if (!(a->index & _NTO_SIDE_CHANNEL) && fcntl(coid, F_GETFD) == -1)
        FAIL("fd-range coid %d is not an open fd in the client", coid);
    char out[40], in[24];
    h_fill(out, sizeof out, 41);
    memset(in, 0, sizeof in);
    long r = MsgSend(coid, out, sizeof out, in, sizeof in);
    if (r != 1234)
        FAIL("MsgSend returned %ld (%s)", r, h_errname(errno));
    if (memcmp(in, "reply-from-parent", 18) != 0)
        FAIL("reply data wrong");
    return 0;
}

static void info_case(unsigned index)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct info_child_arg a = {chid, getpid(), index};
    struct h_proc p = h_spawn(info_client_child, &a);
    int coid = (int)h_get(p.rd, 5000);
    REQUIRE(coid >= 0);
    if (index & _NTO_SIDE_CHANNEL)
        CHECK(coid & _NTO_SIDE_CHANNEL);
    else
        CHECK_EQ(coid & _NTO_SIDE_CHANNEL, 0);
    char buf[16];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.nd, ND_LOCAL_NODE);
    CHECK_EQ(info.pid, p.pid);
    CHECK(info.tid > 0);
    CHECK_EQ(info.chid, chid);
    CHECK_EQ(info.coid, coid);
    CHECK(info.scoid > 0);
    CHECK(info.scoid & _NTO_SIDE_CHANNEL);
    CHECK_EQ(info.priority, 10);
    CHECK_EQ(info.msglen, 16);
    CHECK_EQ(info.srcmsglen, 40);
    CHECK_EQ(info.dstmsglen, 24);
    CHECK_EQ(info.flags & _NTO_MI_UNBLOCK_REQ, 0);
    char exp[16];
    h_fill(exp, sizeof exp, 41);
    CHECK_MEM(buf, exp, 16);
    struct _msg_info again;
    CHECK_EQ(MsgInfo(rcvid, &again), 0);
    CHECK_EQ(again.pid, p.pid);
    CHECK_EQ(again.tid, info.tid);
    CHECK_EQ(again.scoid, info.scoid);
    CHECK_EQ(again.coid, coid);
    CHECK_EQ(again.srcmsglen, 40);
    CHECK_EQ(again.dstmsglen, 24);
    CHECK_EQ(MsgReply(rcvid, 1234, "reply-from-parent", 18), 0);
    CHECK_CHILD_OK(p.pid, 5000);
    CHECK_EQ(ChannelDestroy(chid), 0);
    h_close_proc(&p);
}

TEST(xp_msg_info_of_remote_client_side_coid) { info_case(_NTO_SIDE_CHANNEL); }

TEST(xp_msg_info_of_remote_client_fd_coid) { info_case(0); }

/* Child client that expects a specific error or status (sent as arguments). */
struct expect_arg {
    int chid;
    pid_t server;
    long want_ret;
    int want_err;
};

static int expect_client_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    struct expect_arg *a = (struct expect_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0) {
        FAIL("ConnectAttach: %s", h_errname(errno));
        return 1;
    }
    char in[8];
    memset(in, 0x11, sizeof in);
    errno = 0;
    long r = MsgSend(coid, "x", 1, in, sizeof in);
    if (r != a->want_ret || (r == -1 && errno != a->want_err))
        FAIL("MsgSend = %ld errno %s; want %ld errno %s", r, h_errname(errno), a->want_ret,
             h_errname(a->want_err));
    if (a->want_ret == 0 && (unsigned char)in[0] != 0x11)
        FAIL("MsgError(EOK) copied data into the reply buffer");
    return 0;
}

TEST(xp_msg_error_errno_and_eok)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    static const int errs[] = {EPERM, ENOENT, EOK, ENOREMOTE};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        struct expect_arg a = {chid, getpid(), errs[i] == EOK ? 0 : -1, errs[i]};
        struct h_proc p = h_spawn(expect_client_child, &a);
        char b[4];
        rcvid_t rcvid = MsgReceive(chid, b, sizeof b, NULL);
        REQUIRE(rcvid > 0);
        CHECK_EQ(MsgError(rcvid, errs[i]), 0);
        CHECK_CHILD_OK(p.pid, 5000);
        h_close_proc(&p);
    }
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* ---------------------------------------------------------------------------------- */

#define XP_CLIENTS 12
#define XP_PER 200

struct many_arg {
    int chid;
    pid_t server;
    int idx;
};

static int many_client_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    struct many_arg *a = (struct many_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0) {
        FAIL("ConnectAttach: %s", h_errname(errno));
        return 1;
    }
    int bad = 0;
    for (uint32_t i = 0; i < XP_PER; i++) {
        uint32_t v[3] = {(uint32_t)a->idx, i, (uint32_t)getpid()}, r[3] = {0, 0, 0};
        size_t len = sizeof v - (i % 3) * 4; /* vary the length */
        long s = MsgSend(coid, v, len, r, sizeof r);
        if (s != (long)len || memcmp(r, v, len) != 0)
            bad++;
    }
    if (bad)
        FAIL("client %d: %d of %d round trips wrong", a->idx, bad, XP_PER);
    ConnectDetach(coid);
    return bad ? 1 : 0;
}

TEST(xp_many_client_processes_at_once)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct h_proc p[XP_CLIENTS];
    struct many_arg a[XP_CLIENTS];
    /* Fork every client before starting server threads. */
    for (int i = 0; i < XP_CLIENTS; i++) {
        a[i].chid = chid;
        a[i].server = getpid();
        a[i].idx = i;
        p[i] = h_spawn(many_client_child, &a[i]);
    }
    struct h_server_stats st = {.chid = chid};
    pthread_t t1 = h_thread(h_echo_server, &st);
    pthread_t t2 = h_thread(h_echo_server, &st);
    for (int i = 0; i < XP_CLIENTS; i++) {
        CHECK_CHILD_OK(p[i].pid, 15000);
        h_close_proc(&p[i]);
    }
    CHECK_EQ(atomic_load(&st.handled), XP_CLIENTS * XP_PER);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    h_echo_quit(coid);
    h_echo_quit(coid);
    JOIN(t1, 5000);
    JOIN(t2, 5000);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* ---------------------------------------------------------------------------------- */

struct scoid_arg {
    int chid;
    pid_t server;
    int attaches; /* shared attaches; then one NOSHARE attach */
};

static int scoid_client_child(int rd, int wr, void *arg)
{
    struct scoid_arg *a = (struct scoid_arg *)arg;
    for (int i = 0; i <= a->attaches; i++) {
        int flags = i == a->attaches ? _NTO_COF_NOSHARE : 0;
        int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, flags);
        if (coid < 0) {
            FAIL("ConnectAttach: %s", h_errname(errno));
            return 1;
        }
        long s = MsgSend(coid, "s", 1, NULL, 0);
        h_put(wr, s); /* the server answers with info.scoid */
    }
    /* Stay alive (connections up) until the parent has compared: scoids of a process
     * that has gone may be reused. */
    long long v;
    h_try_get(rd, &v, 10000);
    return 0;
}

TEST(xp_one_scoid_per_client_process)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct scoid_arg a = {chid, getpid(), 2};
    struct h_proc pa = h_spawn(scoid_client_child, &a);
    struct h_proc pb = h_spawn(scoid_client_child, &a);
    /* Serve 6 messages (3 from each child) replying with the scoid. */
    for (int i = 0; i < 6; i++) {
        char b[2];
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(chid, b, sizeof b, &info);
        REQUIRE(rcvid > 0);
        CHECK(info.pid == pa.pid || info.pid == pb.pid);
        CHECK(info.scoid & _NTO_SIDE_CHANNEL);
        CHECK_EQ(MsgReply(rcvid, info.scoid, NULL, 0), 0);
    }
    long long sa[3], sb[3];
    for (int i = 0; i < 3; i++) {
        sa[i] = h_get(pa.rd, 5000);
        sb[i] = h_get(pb.rd, 5000);
    }
    /* Two shared attaches in one process: one scoid. */
    CHECK_EQ(sa[0], sa[1]);
    CHECK_EQ(sb[0], sb[1]);
    /* NOSHARE: its own scoid. */
    CHECK_NE(sa[2], sa[0]);
    CHECK_NE(sb[2], sb[0]);
    /* Different processes: different scoids. */
    CHECK_NE(sa[0], sb[0]);
    CHECK_NE(sa[2], sb[2]);
    CHECK_NE(sa[0], sb[2]);
    CHECK_NE(sb[0], sa[2]);
    h_put(pa.wr, 1);
    h_put(pb.wr, 1);
    CHECK_CHILD_OK(pa.pid, 5000);
    CHECK_CHILD_OK(pb.pid, 5000);
    h_close_proc(&pa);
    h_close_proc(&pb);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* ---------------------------------------------------------------------------------- */

struct large_arg {
    int chid;
    pid_t server;
    size_t n;
};

static int large_client_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    struct large_arg *a = (struct large_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0)
        return 1;
    char *out = (char *)malloc(a->n), *in = (char *)calloc(1, a->n);
    if (!out || !in)
        return 1;
    h_fill(out, a->n, 51);
    long r = MsgSend(coid, out, a->n, in, a->n);
    if (r != 77)
        FAIL("MsgSend = %ld (%s)", r, h_errname(errno));
    long long bad = h_verify(in, a->n, 52, 0);
    if (bad >= 0)
        FAIL("reply of %zu bytes differs at %lld", a->n, bad);
    return 0;
}

static void large_from_child(size_t n)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct large_arg a = {chid, getpid(), n};
    struct h_proc p = h_spawn(large_client_child, &a);
    char *buf = (char *)malloc(n);
    REQUIRE(buf);
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(chid, buf, n, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.msglen, n);
    CHECK_EQ(info.srcmsglen, n);
    CHECK_EQ(info.dstmsglen, n);
    long long bad = h_verify(buf, n, 51, 0);
    if (bad >= 0)
        FAIL("received %zu bytes differ at %lld", n, bad);
    h_fill(buf, n, 52);
    CHECK_EQ(MsgReply(rcvid, 77, buf, n), 0);
    CHECK_CHILD_OK(p.pid, 20000);
    h_close_proc(&p);
    free(buf);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(xp_large_message_1mib) { large_from_child(1u << 20); }

TEST(xp_large_message_8mib) { large_from_child(8u << 20); }

TEST(xp_large_message_to_child_server)
{
    /* The other direction: parent client, server in the child, 8 MiB partly truncated
     * by the echo server's 64 KiB buffer (status = srcmsglen). */
    size_t n = 8u << 20;
    struct h_proc p = h_spawn(echo_server_child, NULL);
    int chid = (int)h_get(p.rd, 5000);
    int coid = connect_to(p.pid, chid);
    char *out = (char *)malloc(n), *in = (char *)malloc(n);
    REQUIRE(out && in);
    h_fill(out, n, 53);
    memset(in, 0xEE, n);
    CHECK_EQ(MsgSend(coid, out, n, in, n), n);
    CHECK_MEM(in, out, 65536);
    CHECK_EQ((unsigned char)in[65536], 0xEE);
    h_echo_quit(coid);
    CHECK_CHILD_OK(p.pid, 5000);
    ConnectDetach(coid);
    h_close_proc(&p);
    free(out);
    free(in);
}

/* ---------------------------------------------------------------------------------- */

#define RW_N 100000
#define RW_R 50000

static int rw_client_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    struct large_arg *a = (struct large_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0)
        return 1;
    static char all[RW_N], rep[RW_R];
    h_fill(all, RW_N, 61);
    memset(rep, 0xAA, sizeof rep);
    iov_t siov[3], riov[2];
    SETIOV(&siov[0], all, 16);
    SETIOV(&siov[1], all + 16, 40000);
    SETIOV(&siov[2], all + 40016, RW_N - 40016);
    SETIOV(&riov[0], rep, 1000);
    SETIOV(&riov[1], rep + 1000, RW_R - 1000);
    long r = MsgSendv(coid, siov, 3, riov, 2);
    if (r != 5)
        FAIL("MsgSendv = %ld (%s)", r, h_errname(errno));
    /* Expected: "HDR" at 0, pattern 62 at [100, 100+30000), pattern 63 at the tail. */
    if (memcmp(rep, "HDR", 4) != 0)
        FAIL("reply header wrong");
    if (h_verify(rep + 100, 30000, 62, 0) >= 0)
        FAIL("MsgWrite data wrong");
    if (h_verify(rep + RW_R - 10, 10, 63, 0) >= 0)
        FAIL("MsgWritev tail wrong");
    for (int i = 4; i < 100; i++)
        if ((unsigned char)rep[i] != 0xAA) {
            FAIL("reply byte %d modified", i);
            break;
        }
    return 0;
}

TEST(xp_msgread_msgwrite_across_processes)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct large_arg a = {chid, getpid(), 0};
    struct h_proc p = h_spawn(rw_client_child, &a);
    char hdr[16];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(chid, hdr, sizeof hdr, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.srcmsglen, RW_N);
    CHECK_EQ(info.dstmsglen, RW_R);
    static char buf[RW_N];
    CHECK_EQ(MsgRead(rcvid, buf, RW_N, 0), RW_N);
    CHECK(h_verify(buf, RW_N, 61, 0) < 0);
    CHECK_EQ(MsgRead(rcvid, buf, 100, 39990), 100); /* spans parts 1 and 2 */
    CHECK(h_verify(buf, 100, 61, 39990) < 0);
    CHECK_EQ(MsgRead(rcvid, buf, 1000, RW_N - 10), 10);
    CHECK_EQ(MsgRead(rcvid, buf, 1000, RW_N), 0);
    iov_t iov[2];
    SETIOV(&iov[0], buf, 7);
    SETIOV(&iov[1], buf + 7, 50);
    CHECK_EQ(MsgReadv(rcvid, iov, 2, 12), 57);
    CHECK(h_verify(buf, 57, 61, 12) < 0);
    static char w[30000];
    h_fill(w, sizeof w, 62);
    CHECK_EQ(MsgWrite(rcvid, w, sizeof w, 100), 30000);
    char tail[20];
    h_fill(tail, sizeof tail, 63);
    SETIOV(&iov[0], tail, 4);
    SETIOV(&iov[1], tail + 4, 16);
    CHECK_EQ(MsgWritev(rcvid, iov, 2, RW_R - 10), 10);
    CHECK_EQ(MsgReply(rcvid, 5, "HDR", 4), 0);
    CHECK_CHILD_OK(p.pid, 5000);
    h_close_proc(&p);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* ---------------------------------------------------------------------------------- */

struct order_arg {
    int chid;
    pid_t server;
    int idx;
};

static int order_client_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    struct order_arg *a = (struct order_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0)
        return 1;
    int in = -1;
    long r = MsgSend(coid, &a->idx, sizeof a->idx, &in, sizeof in);
    if (r != 1000 + a->idx || in != a->idx * 7)
        FAIL("client %d got status %ld, data %d", a->idx, r, in);
    return 0;
}

TEST(xp_replies_in_any_order_across_processes)
{
    enum { N = 4 };
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct order_arg a[N];
    struct h_proc p[N];
    for (int i = 0; i < N; i++) {
        a[i].chid = chid;
        a[i].server = getpid();
        a[i].idx = i;
        p[i] = h_spawn(order_client_child, &a[i]);
    }
    rcvid_t ids[N];
    int who[N];
    for (int i = 0; i < N; i++) {
        struct _msg_info info;
        ids[i] = MsgReceive(chid, &who[i], sizeof who[i], &info);
        REQUIRE(ids[i] > 0);
        REQUIRE(who[i] >= 0 && who[i] < N);
        CHECK_EQ(info.pid, p[who[i]].pid);
    }
    for (int i = N - 1; i >= 0; i--) {
        int d = who[i] * 7;
        CHECK_EQ(MsgReply(ids[i], 1000 + who[i], &d, sizeof d), 0);
    }
    for (int i = 0; i < N; i++) {
        CHECK_CHILD_OK(p[i].pid, 5000);
        h_close_proc(&p[i]);
    }
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* ---------------------------------------------------------------------------------- */

/* Child server: receives one message, reports its rcvid, waits, then replies. */
static int hold_server_child(int rd, int wr, void *arg)
{
    (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    char b[8];
    rcvid_t rcvid = MsgReceive(chid, b, sizeof b, NULL);
    h_put(wr, rcvid);
    long long v;
    if (h_try_get(rd, &v, 10000) != 0)
        return 1;
    if (MsgReply(rcvid, 31, "held", 5) != 0)
        FAIL("MsgReply: %s", h_errname(errno));
    return 0;
}

struct tclient {
    int coid;
    long ret;
    int err;
    char in[8];
};

static void *tclient_thread(void *arg)
{
    struct tclient *c = (struct tclient *)arg;
    errno = 0;
    c->ret = MsgSend(c->coid, "hold", 5, c->in, sizeof c->in);
    c->err = errno;
    return NULL;
}

TEST(xp_rcvid_is_per_process)
{
    /* A rcvid of another process means nothing here (this process has no channel). */
    struct h_proc p = h_spawn(hold_server_child, NULL);
    int chid = (int)h_get(p.rd, 5000);
    struct tclient c = {.coid = connect_to(p.pid, chid)};
    pthread_t t = h_thread(tclient_thread, &c);
    rcvid_t rcvid = (rcvid_t)h_get(p.rd, 5000);
    REQUIRE(rcvid > 0);
    char b[4];
    struct _msg_info info;
    CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH);
    CHECK_ERR(MsgError(rcvid, EPERM), ESRCH);
    CHECK_ERR(MsgRead(rcvid, b, sizeof b, 0), ESRCH);
    CHECK_ERR(MsgWrite(rcvid, b, sizeof b, 0), ESRCH);
    CHECK_ERR(MsgInfo(rcvid, &info), ESRCH);
    /* Still blocked, and the real server can answer. */
    h_put(p.wr, 1);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 31);
    CHECK_MEM(c.in, "held", 5);
    CHECK_CHILD_OK(p.pid, 5000);
    h_close_proc(&p);
}

TEST(xp_chid_is_per_process)
{
    /* The child's chid 1 is not a channel of this process. */
    struct h_proc p = h_spawn(echo_server_child, NULL);
    int chid = (int)h_get(p.rd, 5000);
    char b[4];
    CHECK_ERR(MsgReceive(chid, b, sizeof b, NULL), ESRCH);
    CHECK_ERR(ChannelDestroy(chid), EINVAL);
    /* ConnectAttach with pid 0 means "this process", which has no such channel. */
    CHECK_ERR(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0), ESRCH);
    int coid = connect_to(p.pid, chid);
    h_echo_quit(coid);
    CHECK_CHILD_OK(p.pid, 5000);
    ConnectDetach(coid);
    h_close_proc(&p);
}

TEST(xp_two_servers_with_the_same_chid)
{
    struct h_proc p1 = h_spawn(echo_server_child, NULL);
    struct h_proc p2 = h_spawn(echo_server_child, NULL);
    int c1 = (int)h_get(p1.rd, 5000), c2 = (int)h_get(p2.rd, 5000);
    CHECK_EQ(c1, 1);
    CHECK_EQ(c2, 1);
    int k1 = connect_to(p1.pid, c1), k2 = connect_to(p2.pid, c2);
    CHECK_NE(k1, k2);
    char in[4];
    CHECK_EQ(MsgSend(k1, "one", 4, in, 4), 4);
    CHECK_EQ(MsgSend(k2, "two", 4, in, 4), 4);
    CHECK_MEM(in, "two", 4);
    /* Stop only the first: the second must still answer. */
    h_echo_quit(k1);
    CHECK_CHILD_OK(p1.pid, 5000);
    CHECK_EQ(MsgSend(k2, "2nd", 4, in, 4), 4);
    CHECK_MEM(in, "2nd", 4);
    h_echo_quit(k2);
    CHECK_CHILD_OK(p2.pid, 5000);
    ConnectDetach(k1);
    ConnectDetach(k2);
    h_close_proc(&p1);
    h_close_proc(&p2);
}

/* Child server: one message REPLY-blocked, then waits for the parent's go, destroys. */
static int destroy_server_child(int rd, int wr, void *arg)
{
    (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    char b[8];
    rcvid_t rcvid = MsgReceive(chid, b, sizeof b, NULL);
    h_put(wr, rcvid);
    long long v;
    if (h_try_get(rd, &v, 10000) != 0)
        return 1;
    if (ChannelDestroy(chid) != 0)
        FAIL("ChannelDestroy: %s", h_errname(errno));
    h_put(wr, 1);
    /* Stay alive until the parent has looked: the clients must fail because of the
     * destroyed channel, not because the process went away. */
    h_try_get(rd, &v, 10000);
    return 0;
}

TEST(xp_remote_channel_destroy_fails_clients)
{
    struct h_proc p = h_spawn(destroy_server_child, NULL);
    int chid = (int)h_get(p.rd, 5000);
    int coid = connect_to(p.pid, chid);
    struct tclient reply_blocked = {.coid = coid}, send_blocked = {.coid = coid};
    pthread_t t1 = h_thread(tclient_thread, &reply_blocked);
    REQUIRE(h_get(p.rd, 5000) > 0); /* t1 is REPLY-blocked */
    pthread_t t2 = h_thread(tclient_thread, &send_blocked);
    h_settle(0, 2000); /* t2 becomes SEND-blocked */
    h_put(p.wr, 1);
    h_get(p.rd, 5000);
    JOIN(t1, 3000);
    JOIN(t2, 3000);
    CHECK_EQ(reply_blocked.ret, -1);
    CHECK_EQ(reply_blocked.err, ESRCH);
    CHECK_EQ(send_blocked.ret, -1);
    CHECK_EQ(send_blocked.err, ESRCH);
    /* The connection now points at nothing. */
    CHECK_ERR(MsgSend(coid, "x", 1, NULL, 0), EBADF);
    CHECK_ERR(ConnectAttach(0, p.pid, chid, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_EQ(ConnectDetach(coid), 0);
    h_put(p.wr, 1);
    CHECK_CHILD_OK(p.pid, 5000);
    h_close_proc(&p);
}


/* Sizes around the thresholds an implementation is likely to have (inline slots, pages,
 * 64 KiB, ...). */

static int sweep_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    struct large_arg *a = (struct large_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0)
        return 1;
    return sweep_send(coid);
}

TEST(xp_size_sweep)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct large_arg a = {chid, getpid(), 0};
    struct h_proc p = h_spawn(sweep_child, &a);
    sweep_serve(chid, p.pid);
    CHECK_CHILD_OK(p.pid, 10000);
    h_close_proc(&p);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* Several client processes, each with several threads, against several server threads;
 * every reply is checked. */
#define ST_PROCS 4
#define ST_THREADS 4
#define ST_PER 300

struct st_thread {
    int coid;
    int idx;
    int bad;
};

static void *st_client_thread(void *arg)
{
    struct st_thread *t = (struct st_thread *)arg;
    char out[300], in[300];
    for (int i = 0; i < ST_PER; i++) {
        size_t n = (size_t)(1 + (i * 37 + t->idx * 11) % 300);
        unsigned seed = (unsigned)(t->idx * 100000 + i);
        h_fill(out, n, seed);
        memset(in, 0, sizeof in);
        long r = MsgSend(t->coid, out, n, in, sizeof in);
        if (r != (long)n || memcmp(in, out, n) != 0)
            t->bad++;
    }
    return NULL;
}

static int st_client_proc(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    struct many_arg *a = (struct many_arg *)arg;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0)
        return 1;
    struct st_thread th[ST_THREADS];
    pthread_t t[ST_THREADS];
    for (int i = 0; i < ST_THREADS; i++) {
        th[i].coid = coid;
        th[i].idx = a->idx * ST_THREADS + i;
        th[i].bad = 0;
        t[i] = h_thread(st_client_thread, &th[i]);
    }
    int bad = 0;
    for (int i = 0; i < ST_THREADS; i++) {
        JOIN(t[i], 15000);
        bad += th[i].bad;
    }
    if (bad)
        FAIL("process %d: %d bad round trips", a->idx, bad);
    return bad ? 1 : 0;
}

TEST(xp_stress_threads_in_many_processes)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct many_arg a[ST_PROCS];
    struct h_proc p[ST_PROCS];
    for (int i = 0; i < ST_PROCS; i++) {
        a[i].chid = chid;
        a[i].server = getpid();
        a[i].idx = i;
        p[i] = h_spawn(st_client_proc, &a[i]);
    }
    struct h_server_stats st = {.chid = chid};
    pthread_t s[3];
    for (int i = 0; i < 3; i++)
        s[i] = h_thread(h_echo_server, &st);
    for (int i = 0; i < ST_PROCS; i++) {
        CHECK_CHILD_OK(p[i].pid, 20000);
        h_close_proc(&p[i]);
    }
    CHECK_EQ(atomic_load(&st.handled), ST_PROCS * ST_THREADS * ST_PER);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    for (int i = 0; i < 3; i++)
        h_echo_quit(coid);
    for (int i = 0; i < 3; i++)
        JOIN(s[i], 5000);
    ConnectDetach(coid);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(xp_two_channels_in_one_server)
{
    int c1 = (int)REQUIRE_OK(ChannelCreate(0));
    int c2 = (int)REQUIRE_OK(ChannelCreate(0));
    struct order_arg a1 = {c1, getpid(), 1}, a2 = {c2, getpid(), 2};
    struct h_proc p1 = h_spawn(order_client_child, &a1);
    struct h_proc p2 = h_spawn(order_client_child, &a2);
    /* Each channel only ever sees its own client. */
    for (int k = 0; k < 2; k++) {
        int chid = k ? c2 : c1;
        int v = -1;
        struct _msg_info info;
        rcvid_t r = MsgReceive(chid, &v, sizeof v, &info);
        REQUIRE(r > 0);
        CHECK_EQ(v, k + 1);
        CHECK_EQ(info.chid, chid);
        CHECK_EQ(info.pid, k ? p2.pid : p1.pid);
        int d = v * 7;
        CHECK_EQ(MsgReply(r, 1000 + v, &d, sizeof d), 0);
    }
    CHECK_CHILD_OK(p1.pid, 5000);
    CHECK_CHILD_OK(p2.pid, 5000);
    h_close_proc(&p1);
    h_close_proc(&p2);
    CHECK_EQ(ChannelDestroy(c1), 0);
    CHECK_EQ(ChannelDestroy(c2), 0);
}

HARNESS_MAIN
