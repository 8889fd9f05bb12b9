/*
 * test_connect.c - ConnectAttach / ConnectDetach: coid spaces, index, sharing (one scoid
 * per client process per channel), _NTO_COF_NOSHARE / _NTO_COF_CLOEXEC, and errors
 * (reference §1.1, §6.1-6.3).
 */
#include "harness.h"

#include <process.h>

/*
 * A receiving thread that answers every message with status = info.scoid and records
 * the coid the client used.  Stops on H_QUIT_MAGIC or a failing MsgReceive.
 */
struct scoid_server {
    int chid;
    int last_coid;
    pid_t last_pid;
};

static void *scoid_server(void *arg)
{
    struct scoid_server *s = (struct scoid_server *)arg;
    char buf[64];
    struct _msg_info info;
    for (;;) {
        rcvid_t rcvid = MsgReceive(s->chid, buf, sizeof buf, &info);
        if (rcvid == -1)
            break;
        if (rcvid == 0)
            continue;
        uint32_t m = 0;
        if (info.msglen >= 4)
            memcpy(&m, buf, 4);
        if (m == H_QUIT_MAGIC) {
            MsgReply(rcvid, 0, NULL, 0);
            break;
        }
        s->last_coid = info.coid;
        s->last_pid = info.pid;
        MsgReply(rcvid, info.scoid, NULL, 0);
    }
    return NULL;
}

/* Sends one message on coid and returns the scoid the server saw (via the status). */
static long scoid_of(int coid)
{
    char c = 's';
    errno = 0;
    long r = MsgSend(coid, &c, 1, NULL, 0);
    if (r == -1)
        FAIL("MsgSend(coid %#x) failed: %s", coid, h_errname(errno));
    return r;
}

static int is_fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

TEST(connect_self_pid0_side_channel)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct h_server_stats st = {.chid = chid};
    pthread_t t = h_thread(h_echo_server, &st);
    int coid = (int)REQUIRE_OK(ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK(coid & _NTO_SIDE_CHANNEL);
    CHECK(coid > 0);
    char out[5] = "qnx!", in[5] = {0};
    CHECK_EQ(MsgSend(coid, out, 5, in, 5), 5);
    CHECK_MEM(in, out, 5);
    h_echo_quit(coid);
    JOIN(t, 5000);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_self_by_own_pid)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct h_server_stats st = {.chid = chid};
    pthread_t t = h_thread(h_echo_server, &st);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, getpid(), chid, _NTO_SIDE_CHANNEL, 0));
    char out[4] = "abc", in[4] = {0};
    CHECK_EQ(MsgSend(coid, out, 4, in, 4), 4);
    CHECK_MEM(in, out, 4);
    h_echo_quit(coid);
    JOIN(t, 5000);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_side_channel_coids_distinct)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int a = (int)CHECK_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int b = (int)CHECK_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    /* Other index bits are ignored when _NTO_SIDE_CHANNEL is set. */
    int c = (int)CHECK_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL | 5, 0));
    CHECK(a & _NTO_SIDE_CHANNEL);
    CHECK(b & _NTO_SIDE_CHANNEL);
    CHECK(c & _NTO_SIDE_CHANNEL);
    CHECK_NE(a, b);
    CHECK_NE(a, c);
    CHECK_NE(b, c);
    CHECK_EQ(ConnectDetach(a), 0);
    CHECK_EQ(ConnectDetach(b), 0);
    CHECK_EQ(ConnectDetach(c), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_fd_range_coid_is_a_real_fd)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, 0));
    CHECK(coid >= 0);
    CHECK_EQ(coid & _NTO_SIDE_CHANNEL, 0);
    /* fcntl sees a live descriptor under that number. */
    CHECK(is_fd_open(coid));
    /* New descriptors never collide with it. */
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    CHECK_NE(fd, coid);
    int p[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_NE(p[0], coid);
    CHECK_NE(p[1], coid);
    int d = dup(0);
    CHECK_NE(d, coid);
    close(fd);
    close(p[0]);
    close(p[1]);
    close(d);
    /* The coid still works after those opens/closes. */
    struct h_server_stats st = {.chid = chid};
    pthread_t t = h_thread(h_echo_server, &st);
    char out[6] = "fdcon", in[6] = {0};
    CHECK_EQ(MsgSend(coid, out, 6, in, 6), 6);
    CHECK_MEM(in, out, 6);
    h_echo_quit(coid);
    JOIN(t, 5000);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_fd_range_coid_closed_by_detach)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, 0));
    CHECK(is_fd_open(coid));
    CHECK_EQ(ConnectDetach(coid), 0);
    errno = 0;
    CHECK_EQ(fcntl(coid, F_GETFD), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_index_is_a_lower_bound)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int a = (int)CHECK_OK(ConnectAttach(0, 0, chid, 64, 0));
    int b = (int)CHECK_OK(ConnectAttach(0, 0, chid, 64, 0));
    int c = (int)CHECK_OK(ConnectAttach(0, 0, chid, 3, 0));
    CHECK(a >= 64);
    CHECK(b >= 64);
    CHECK(c >= 3);
    CHECK_NE(a, b);
    CHECK_NE(c, a);
    CHECK_NE(c, b);
    CHECK(is_fd_open(a) && is_fd_open(b) && is_fd_open(c));
    CHECK_EQ(ConnectDetach(a), 0);
    CHECK_EQ(ConnectDetach(b), 0);
    CHECK_EQ(ConnectDetach(c), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_index_beyond_rlimit_einval)
{
    /* §6.1: fd-range index >= RLIMIT_NOFILE is EINVAL. */
    struct rlimit rl;
    REQUIRE_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    unsigned idx = rl.rlim_cur > 0x3fffffff ? 0x3fffffffu : (unsigned)rl.rlim_cur;
    CHECK_ERR(ConnectAttach(0, 0, chid, idx, 0), EINVAL);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_cloexec_flag)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, _NTO_COF_CLOEXEC));
    int fl = fcntl(coid, F_GETFD);
    CHECK(fl != -1);
    CHECK(fl & FD_CLOEXEC);
    int side = (int)CHECK_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_CLOEXEC));
    CHECK(side & _NTO_SIDE_CHANNEL);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ConnectDetach(side), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_unknown_flag_bits_einval)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_ERR(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0x10000000), EINVAL);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_two_attaches_share_one_scoid)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct scoid_server s = {.chid = chid};
    pthread_t t = h_thread(scoid_server, &s);
    int a = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int b = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int f = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, 0));
    int g = (int)REQUIRE_OK(ConnectAttach(0, getpid(), chid, _NTO_SIDE_CHANNEL, 0));
    long sa = scoid_of(a);
    CHECK_EQ(s.last_coid, a);
    long sb = scoid_of(b);
    CHECK_EQ(s.last_coid, b);
    long sf = scoid_of(f);
    CHECK_EQ(s.last_coid, f);
    long sg = scoid_of(g);
    CHECK_EQ(s.last_coid, g);
    CHECK_EQ(s.last_pid, getpid());
    CHECK(sa > 0);
    CHECK(sa & _NTO_SIDE_CHANNEL);
    CHECK_EQ(sa, sb);
    CHECK_EQ(sa, sf);
    CHECK_EQ(sa, sg);
    h_echo_quit(a);
    JOIN(t, 5000);
    ConnectDetach(a);
    ConnectDetach(b);
    ConnectDetach(f);
    ConnectDetach(g);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_noshare_gives_distinct_scoids)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct scoid_server s = {.chid = chid};
    pthread_t t = h_thread(scoid_server, &s);
    int a = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int n1 = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE));
    int n2 = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE));
    int b = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    long sa = scoid_of(a), s1 = scoid_of(n1), s2 = scoid_of(n2), sb = scoid_of(b);
    CHECK(s1 & _NTO_SIDE_CHANNEL);
    CHECK(s2 & _NTO_SIDE_CHANNEL);
    CHECK_NE(sa, s1);
    CHECK_NE(sa, s2);
    CHECK_NE(s1, s2);
    /* A later shared attach still joins the first shared connection. */
    CHECK_EQ(sa, sb);
    h_echo_quit(a);
    JOIN(t, 5000);
    ConnectDetach(a);
    ConnectDetach(b);
    ConnectDetach(n1);
    ConnectDetach(n2);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_different_channels_different_scoids)
{
    int c1 = (int)REQUIRE_OK(ChannelCreate(0));
    int c2 = (int)REQUIRE_OK(ChannelCreate(0));
    struct scoid_server s1 = {.chid = c1}, s2 = {.chid = c2};
    pthread_t t1 = h_thread(scoid_server, &s1);
    pthread_t t2 = h_thread(scoid_server, &s2);
    int a = (int)REQUIRE_OK(ConnectAttach(0, 0, c1, _NTO_SIDE_CHANNEL, 0));
    int b = (int)REQUIRE_OK(ConnectAttach(0, 0, c2, _NTO_SIDE_CHANNEL, 0));
    CHECK_NE(a, b);
    long sa = scoid_of(a), sb = scoid_of(b);
    CHECK(sa > 0 && sb > 0);
    CHECK_NE(sa, sb);
    h_echo_quit(a);
    h_echo_quit(b);
    JOIN(t1, 5000);
    JOIN(t2, 5000);
    ConnectDetach(a);
    ConnectDetach(b);
    ChannelDestroy(c1);
    ChannelDestroy(c2);
}

TEST(connect_detach_one_shared_coid_keeps_other)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct h_server_stats st = {.chid = chid};
    pthread_t t = h_thread(h_echo_server, &st);
    int a = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int b = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(ConnectDetach(a), 0);
    char out[2] = "x", in[2] = {0};
    CHECK_ERR(MsgSend(a, out, 2, in, 2), EBADF);
    CHECK_EQ(MsgSend(b, out, 2, in, 2), 2);
    CHECK_MEM(in, out, 2);
    h_echo_quit(b);
    JOIN(t, 5000);
    CHECK_EQ(ConnectDetach(b), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_detach_then_send_ebadf)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int side = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int fdc = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, 0));
    CHECK_EQ(ConnectDetach(side), 0);
    CHECK_EQ(ConnectDetach(fdc), 0);
    char c = 0;
    CHECK_ERR(MsgSend(side, &c, 1, NULL, 0), EBADF);
    CHECK_ERR(MsgSend(fdc, &c, 1, NULL, 0), EBADF);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_detach_unknown_einval)
{
    /* §6.3: ConnectDetach of a coid that doesn't exist is EINVAL. */
    CHECK_ERR(ConnectDetach(_NTO_SIDE_CHANNEL | 4321), EINVAL);
    CHECK_ERR(ConnectDetach(-1), EINVAL);
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_ERR(ConnectDetach(coid), EINVAL);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_unknown_chid_esrch)
{
    CHECK_ERR(ConnectAttach(0, 0, 4242, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_ERR(ConnectAttach(0, 0, 4242, 0, 0), ESRCH);
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_ERR(ConnectAttach(0, getpid(), chid + 1, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_remote_node_enoremote)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_ERR(ConnectAttach(1, 0, chid, _NTO_SIDE_CHANNEL, 0), ENOREMOTE);
    CHECK_ERR(ConnectAttach(77, getpid(), chid, 0, 0), ENOREMOTE);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_dead_pid_esrch)
{
    pid_t pid = h_fork();
    if (pid == 0)
        _exit(0);
    CHECK_EQ(h_wait(pid, 5000), 0);
    CHECK_ERR(ConnectAttach(0, pid, 1, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_ERR(ConnectAttach(0, pid, 1, 0, 0), ESRCH);
}

TEST(connect_nonexistent_pid_esrch)
{
    /* Far above any pid_max. */
    CHECK_ERR(ConnectAttach(0, 0x3ffffff0, 1, _NTO_SIDE_CHANNEL, 0), ESRCH);
}

static int idle_child(int rd, int wr, void *arg)
{
    (void)arg;
    h_put(wr, 1);
    long long v;
    h_try_get(rd, &v, 10000); /* wait for the parent to finish */
    return 0;
}

static int channel_then_exit_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)arg;
    h_put(wr, ChannelCreate(0));
    return 0; /* exits, and stays a zombie until the parent reaps it */
}

TEST(connect_to_zombie_process_fails)
{
    /* §6.1: a terminating/zombie target gives ENXIO; a dead one ESRCH.  Never a hang. */
    struct h_proc p = h_spawn(channel_then_exit_child, NULL);
    int chid = (int)h_get(p.rd, 5000);
    REQUIRE(chid >= 1);
    /* Wait until it is a zombie, without reaping it. */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    REQUIRE_EQ(waitid(P_PID, (id_t)p.pid, &si, WEXITED | WNOWAIT), 0);
    errno = 0;
    int r = ConnectAttach(0, p.pid, chid, _NTO_SIDE_CHANNEL, 0);
    int e = errno;
    if (r != -1 || (e != ESRCH && e != ENXIO))
        FAIL("ConnectAttach to a zombie = %d errno %s, want -1 ESRCH/ENXIO", r, h_errname(e));
    if (r >= 0)
        ConnectDetach(r);
    CHECK_EQ(h_wait(p.pid, 5000), 0);
    h_close_proc(&p);
}

TEST(connect_live_pid_without_channel_esrch)
{
    /* A live process that never created a channel. */
    struct h_proc p = h_spawn(idle_child, NULL);
    h_get(p.rd, 5000);
    CHECK_ERR(ConnectAttach(0, p.pid, 1, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_ERR(ConnectAttach(0, p.pid, 2, 0, 0), ESRCH);
    h_put(p.wr, 0);
    CHECK_CHILD_OK(p.pid, 5000);
    h_close_proc(&p);
}

TEST(connect_many_connections)
{
    enum { N = 200 };
    static int side[N], fdr[N];
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    for (int i = 0; i < N; i++) {
        side[i] = (int)CHECK_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
        fdr[i] = (int)CHECK_OK(ConnectAttach(0, 0, chid, 0, 0));
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            if (side[i] == side[j])
                FAIL("duplicate side coid %#x", side[i]);
            if (fdr[i] == fdr[j])
                FAIL("duplicate fd coid %d", fdr[i]);
        }
    struct h_server_stats st = {.chid = chid};
    pthread_t t = h_thread(h_echo_server, &st);
    char c = 'm', r = 0;
    CHECK_EQ(MsgSend(side[N - 1], &c, 1, &r, 1), 1);
    CHECK_EQ(MsgSend(fdr[N - 1], &c, 1, &r, 1), 1);
    h_echo_quit(side[0]);
    JOIN(t, 5000);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(ConnectDetach(side[i]), 0);
        CHECK_EQ(ConnectDetach(fdr[i]), 0);
    }
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_side_coid_is_never_sysmgr_coid)
{
    /* §1.1: side-channel slot 0 (0x40000000) is SYSMGR_COID, the process manager. */
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int first = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK(first & _NTO_SIDE_CHANNEL);
    CHECK_NE(first, _NTO_SIDE_CHANNEL);
    CHECK_EQ(ConnectDetach(first), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(connect_fd_range_emfile_at_rlimit)
{
    /* §6.1: EMFILE when the resulting fd would be >= RLIMIT_NOFILE. */
    struct rlimit rl;
    REQUIRE_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    /* Warm up any descriptors the library keeps for itself. */
    int warm = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, 0));
    struct rlimit low = rl;
    low.rlim_cur = (rlim_t)warm + 40;
    REQUIRE_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    int got_emfile = 0, n = 0;
    int coids[100];
    for (int i = 0; i < 100; i++) {
        errno = 0;
        int c = ConnectAttach(0, 0, chid, 0, 0);
        if (c == -1) {
            if (errno == EMFILE)
                got_emfile = 1;
            else
                FAIL("ConnectAttach at the limit failed with %s, want EMFILE", h_errname(errno));
            break;
        }
        CHECK((rlim_t)c < low.rlim_cur);
        coids[n++] = c;
    }
    CHECK(got_emfile);
    /* Freeing one makes room again. */
    if (n > 0) {
        CHECK_EQ(ConnectDetach(coids[--n]), 0);
        int c = (int)CHECK_OK(ConnectAttach(0, 0, chid, 0, 0));
        if (c >= 0)
            coids[n++] = c;
    }
    for (int i = 0; i < n; i++)
        ConnectDetach(coids[i]);
    ConnectDetach(warm);
    setrlimit(RLIMIT_NOFILE, &rl);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

HARNESS_MAIN
