/*
 * test_fork.c - fork(): the child starts with no channels, no side-channel connections
 * and no rcvids; its chids start at 1; fd-range coids are inherited like descriptors;
 * the parent's state is untouched, even with threads blocked in the library while it
 * forks (DESIGN "fork()", reference §1.1, §6.1).
 */
#include "harness.h"

struct tclient {
    int coid;
    long ret;
    int err;
};

static void *tclient_thread(void *arg)
{
    struct tclient *c = (struct tclient *)arg;
    char in[8];
    errno = 0;
    c->ret = MsgSend(c->coid, "tc", 3, in, sizeof in);
    c->err = errno;
    return NULL;
}

TEST(fork_child_first_chid_is_one)
{
    int c1 = (int)REQUIRE_OK(ChannelCreate(0));
    int c2 = (int)REQUIRE_OK(ChannelCreate(0));
    int c3 = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_EQ(c1, 1);
    (void)c2;
    (void)c3;
    pid_t pid = h_fork();
    if (pid == 0) {
        int chid = ChannelCreate(0);
        CHECK_EQ(chid, 1);
        pid_t g = h_fork();
        if (g == 0) {
            /* A grandchild too. */
            CHECK_EQ(ChannelCreate(0), 1);
            h_child_exit(0);
        }
        CHECK_CHILD_OK(g, 5000);
        h_child_exit(0);
    }
    CHECK_CHILD_OK(pid, 5000);
    /* The parent's numbering goes on from where it was. */
    int c4 = (int)CHECK_OK(ChannelCreate(0));
    CHECK(c4 != c1 && c4 != c2 && c4 != c3);
}

TEST(fork_child_has_no_channels)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int chid2 = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK));
    pid_t pid = h_fork();
    if (pid == 0) {
        char b[8];
        CHECK_ERR(MsgReceive(chid, b, sizeof b, NULL), ESRCH);
        CHECK_ERR(MsgReceive(chid2, b, sizeof b, NULL), ESRCH);
        CHECK_ERR(ChannelDestroy(chid), EINVAL);
        CHECK_ERR(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0), ESRCH);
        h_child_exit(0);
    }
    CHECK_CHILD_OK(pid, 5000);
    /* The parent still has both. */
    CHECK_EQ(ChannelDestroy(chid), 0);
    CHECK_EQ(ChannelDestroy(chid2), 0);
}

TEST(fork_child_has_no_side_connections)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int side = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    pid_t pid = h_fork();
    if (pid == 0) {
        CHECK_ERR(MsgSend(side, "x", 1, NULL, 0), EBADF);
        CHECK_ERR(ConnectDetach(side), EINVAL);
        /* The child can make its own side connections to its own channel. */
        int c = ChannelCreate(0);
        CHECK_EQ(c, 1);
        int k = (int)CHECK_OK(ConnectAttach(0, 0, c, _NTO_SIDE_CHANNEL, 0));
        CHECK(k & _NTO_SIDE_CHANNEL);
        h_child_exit(0);
    }
    CHECK_CHILD_OK(pid, 5000);
    /* The parent's connection is untouched by the child's exit. */
    struct h_server_stats st = {.chid = chid};
    pthread_t t = h_thread(h_echo_server, &st);
    char in[3];
    CHECK_EQ(MsgSend(side, "ok", 3, in, 3), 3);
    h_echo_quit(side);
    JOIN(t, 5000);
    CHECK_EQ(ConnectDetach(side), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(fork_child_has_no_rcvids)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct tclient c = {.coid = (int)REQUIRE_OK(
                            ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0))};
    pthread_t t = h_thread(tclient_thread, &c);
    char b[8];
    rcvid_t rcvid = MsgReceive(chid, b, sizeof b, NULL);
    REQUIRE(rcvid > 0);
    pid_t pid = h_fork();
    if (pid == 0) {
        char buf[4];
        struct _msg_info info;
        CHECK_ERR(MsgReply(rcvid, 99, NULL, 0), ESRCH);
        CHECK_ERR(MsgError(rcvid, EPERM), ESRCH);
        CHECK_ERR(MsgRead(rcvid, buf, sizeof buf, 0), ESRCH);
        CHECK_ERR(MsgInfo(rcvid, &info), ESRCH);
        h_child_exit(0);
    }
    CHECK_CHILD_OK(pid, 5000);
    /* The client is still REPLY-blocked on the parent and gets the parent's reply. */
    CHECK_EQ(MsgReply(rcvid, 5, NULL, 0), 0);
    JOIN(t, 5000);
    CHECK_EQ(c.ret, 5);
    ConnectDetach(c.coid);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(fork_child_and_parent_talk_both_ways)
{
    int pchid = (int)REQUIRE_OK(ChannelCreate(0));
    pid_t parent = getpid();
    int p2c[2], c2p[2];
    REQUIRE_EQ(pipe(p2c), 0);
    REQUIRE_EQ(pipe(c2p), 0);
    pid_t pid = h_fork();
    if (pid == 0) {
        close(p2c[1]);
        close(c2p[0]);
        int cchid = ChannelCreate(0);
        CHECK_EQ(cchid, 1);
        h_put(c2p[1], cchid);
        /* Serve one message from the parent. */
        char b[8];
        struct _msg_info info;
        rcvid_t r = MsgReceive(cchid, b, sizeof b, &info);
        if (r <= 0) {
            FAIL("child MsgReceive: %s", h_errname(errno));
            h_child_exit(1);
        }
        CHECK_EQ(info.pid, parent);
        MsgReply(r, 21, "c->p", 5);
        /* Then send one to the parent's channel. */
        int k = ConnectAttach(0, parent, pchid, _NTO_SIDE_CHANNEL, 0);
        CHECK(k >= 0);
        char in[8] = {0};
        CHECK_EQ(MsgSend(k, "ask", 4, in, sizeof in), 12);
        CHECK_MEM(in, "p->c", 5);
        h_child_exit(0);
    }
    close(p2c[0]);
    close(c2p[1]);
    int cchid = (int)h_get(c2p[0], 5000);
    int k = (int)REQUIRE_OK(ConnectAttach(0, pid, cchid, _NTO_SIDE_CHANNEL, 0));
    char in[8] = {0};
    CHECK_EQ(MsgSend(k, "hi", 3, in, sizeof in), 21);
    CHECK_MEM(in, "c->p", 5);
    char b[8];
    struct _msg_info info;
    rcvid_t r = MsgReceive(pchid, b, sizeof b, &info);
    REQUIRE(r > 0);
    CHECK_EQ(info.pid, pid);
    CHECK_EQ(MsgReply(r, 12, "p->c", 5), 0);
    CHECK_CHILD_OK(pid, 5000);
    ConnectDetach(k);
    close(p2c[1]);
    close(c2p[0]);
    CHECK_EQ(ChannelDestroy(pchid), 0);
}

struct rthread {
    int chid;
    rcvid_t rcvid;
    char buf[8];
};

static void *receive_one(void *arg)
{
    struct rthread *r = (struct rthread *)arg;
    r->rcvid = MsgReceive(r->chid, r->buf, sizeof r->buf, NULL);
    if (r->rcvid > 0)
        MsgReply(r->rcvid, 44, NULL, 0);
    return NULL;
}

TEST(fork_while_a_thread_is_blocked_in_receive)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct rthread rt = {.chid = chid};
    pthread_t t = h_thread(receive_one, &rt);
    h_settle(0, 2000); /* RECEIVE-blocked */
    pid_t pid = h_fork();
    if (pid == 0) {
        /* The child has only this thread and a clean library state. */
        int c = ChannelCreate(0);
        CHECK_EQ(c, 1);
        struct h_server_stats st = {.chid = c};
        pthread_t et = h_thread(h_echo_server, &st);
        int k = (int)CHECK_OK(ConnectAttach(0, 0, c, _NTO_SIDE_CHANNEL, 0));
        char in[6] = {0};
        CHECK_EQ(MsgSend(k, "child", 6, in, 6), 6);
        CHECK_MEM(in, "child", 6);
        h_echo_quit(k);
        JOIN(et, 5000);
        h_child_exit(0);
    }
    CHECK_CHILD_OK(pid, 10000);
    /* The parent's receiver is still there and still works. */
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(MsgSend(coid, "p", 2, NULL, 0), 44);
    JOIN(t, 5000);
    CHECK_MEM(rt.buf, "p", 2);
    ConnectDetach(coid);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

static int fork_echo_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    struct h_server_stats st = {.chid = chid};
    h_echo_server(&st);
    return 0;
}

TEST(fork_child_attaches_to_parents_server_anew)
{
    /* Parent and child each hold their own connection to a third process. */
    struct h_proc s = h_spawn(fork_echo_child, NULL);
    int chid = (int)h_get(s.rd, 5000);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, s.pid, chid, _NTO_SIDE_CHANNEL, 0));
    /* Occupy the server: this parent thread is served normally. */
    char in[4];
    CHECK_EQ(MsgSend(coid, "a", 2, in, 2), 2);
    pid_t pid = h_fork();
    if (pid == 0) {
        /* The parent's side coid doesn't exist here; the child may attach anew. */
        CHECK_ERR(MsgSend(coid, "x", 2, NULL, 0), EBADF);
        int k = (int)CHECK_OK(ConnectAttach(0, s.pid, chid, _NTO_SIDE_CHANNEL, 0));
        char r[3] = {0};
        CHECK_EQ(MsgSend(k, "kid", 3, r, 3), 3);
        CHECK_MEM(r, "kid", 3);
        h_child_exit(0);
    }
    CHECK_CHILD_OK(pid, 5000);
    CHECK_EQ(MsgSend(coid, "b", 2, in, 2), 2);
    h_echo_quit(coid);
    CHECK_CHILD_OK(s.pid, 5000);
    ConnectDetach(coid);
    h_close_proc(&s);
}

HARNESS_MAIN
