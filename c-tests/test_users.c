/*
 * test_users.c - IPC between processes of different users.  The tests run as root and
 * switch real child processes to unprivileged numeric uids (setgroups / setresgid /
 * setresuid; nothing is created on the system).  Between users the kernel refuses
 * process_vm_readv/writev, so the library copies through the blocked client thread; these
 * cases prove that path: MsgSend of 16 B, 4 KiB and 1 MiB, MsgRead / MsgWrite at offsets,
 * MsgSendv / MsgReceivev / MsgReadv / MsgReplyv, the _msg_info lengths and pid.  Pulses
 * follow QNX's permission rule (sender root, or its uid is the receiver's real or saved
 * uid; else EPERM, also when a pulse timer is created) while the kernel's own pulses
 * (DISCONNECT, UNBLOCK, COIDDEATH) cross users freely.  A killed client or server fails the other side with ESRCH, never a hang
 * (reference §4.2, §7.1-7.4, §7.8, §8.4, §8.6).
 */
#include "harness.h"

#define UID_A 65534
#define UID_B 65533

/* Fills an IOV array over one logical buffer. */
static void split_iov(iov_t *iov, char *base, const size_t *lens, int n)
{
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        SETIOV(&iov[i], base + off, lens[i]);
        off += lens[i];
    }
}

#define CHECK_FILL(buf, n, seed, off)                                           \
    do {                                                                        \
        long long h_bad_ = h_verify((buf), (n), (seed), (off));                 \
        if (h_bad_ >= 0)                                                        \
            FAIL("%s: byte %lld of %zu (logical offset %zu) is wrong", #buf, h_bad_, \
                 (size_t)(n), (size_t)(off) + (size_t)h_bad_);                  \
    } while (0)

#define MIB (1024 * 1024)

/* ------------------------------------------------------------------------------------ */
/* Messages: a server of one uid, a client of another                                    */

struct srv_arg {
    uid_t uid;
    unsigned flags;
};

struct cli_arg {
    uid_t uid;
    pid_t server;
    int chid;
};

/* Receives the next message (up to `cap` bytes) and checks the lengths and the pid. */
static rcvid_t recv_msg(int chid, void *buf, size_t cap, struct _msg_info *info, pid_t client,
                        size_t sent, size_t replycap)
{
    memset(info, 0, sizeof *info);
    rcvid_t r = MsgReceive(chid, buf, cap, info);
    if (r <= 0) {
        FAIL("server: MsgReceive = %lld (%s), want a message", (long long)r, h_errname(errno));
        h_child_exit(1);
    }
    CHECK_EQ(info->pid, client);
    CHECK_EQ(info->chid, chid);
    CHECK_EQ(info->msglen, (long long)(sent < cap ? sent : cap));
    CHECK_EQ(info->srcmsglen, (long long)sent);
    CHECK_EQ(info->dstmsglen, (long long)replycap);
    return r;
}

/* Server side of the message sequence (the client's side is msg_client). */
static int msg_server(int rd, int wr, void *arg)
{
    struct srv_arg *a = (struct srv_arg *)arg;
    if (h_become(a->uid) != 0) {
        h_put(wr, -1);
        return 1;
    }
    int chid = ChannelCreate(a->flags);
    h_put(wr, chid);
    if (chid < 0)
        return 1;
    pid_t client = (pid_t)h_get(rd, 5000);
    uid_t client_uid = (uid_t)h_get(rd, 5000);
    char head[64];
    char *big = (char *)malloc(MIB);
    char *tmp = (char *)malloc(MIB);
    REQUIRE(big && tmp);
    struct _msg_info info;

    /* 1. 16 bytes both ways. */
    rcvid_t r = recv_msg(chid, head, sizeof head, &info, client, 16, 16);
    CHECK_FILL(head, 16, 1, 0);
    struct _client_info ci;
    if (ConnectClientInfo(info.scoid, &ci, 0) == 0) {
        CHECK_EQ(ci.pid, client);
        CHECK_EQ(ci.cred.ruid, client_uid);
        CHECK_EQ(ci.cred.euid, client_uid);
    } else {
        FAIL("server: ConnectClientInfo: %s", h_errname(errno));
    }
    CHECK_EQ(MsgRead(r, tmp, 16, 4), 12);
    CHECK_FILL(tmp, 12, 1, 4);
    CHECK_EQ(MsgRead(r, tmp, 16, 16), 0);
    CHECK_EQ(MsgRead(r, tmp, 16, 1000), 0);
    h_fill(big, 16, 11);
    CHECK_EQ(MsgReply(r, 16, big, 16), 0);

    /* 2. 4 KiB: the rest with MsgRead, part of the reply with MsgWrite at an offset. */
    r = recv_msg(chid, head, sizeof head, &info, client, 4096, 4096);
    CHECK_FILL(head, sizeof head, 2, 0);
    memset(tmp, 0, 4096);
    CHECK_EQ(MsgRead(r, tmp, 4096, 0), 4096);
    CHECK_FILL(tmp, 4096, 2, 0);
    CHECK_EQ(MsgRead(r, tmp, 500, 1000), 500);
    CHECK_FILL(tmp, 500, 2, 1000);
    CHECK_EQ(MsgRead(r, tmp, 500, 4000), 96);
    CHECK_FILL(tmp, 96, 2, 4000);
    CHECK_EQ(MsgRead(r, tmp, 100, 4096), 0);
    CHECK_EQ(MsgRead(r, tmp, 100, MIB), 0);
    h_fill(big, 4096, 3);
    CHECK_EQ(MsgWrite(r, big + 100, 3000, 100), 3000);
    CHECK_EQ(MsgWrite(r, big + 4000, 200, 4000), 96);
    CHECK_EQ(MsgWrite(r, big, 10, 4096), 0);
    CHECK_EQ(MsgReply(r, 4096, big, 100), 0);

    /* 3. 1 MiB. */
    r = recv_msg(chid, head, sizeof head, &info, client, MIB, MIB);
    CHECK_FILL(head, sizeof head, 4, 0);
    memset(tmp, 0, MIB);
    CHECK_EQ(MsgRead(r, tmp, MIB, 0), MIB);
    CHECK_FILL(tmp, MIB, 4, 0);
    CHECK_EQ(MsgRead(r, tmp, 100000, 524295), 100000);
    CHECK_FILL(tmp, 100000, 4, 524295);
    CHECK_EQ(MsgRead(r, tmp, 100, MIB - 10), 10);
    CHECK_FILL(tmp, 10, 4, MIB - 10);
    CHECK_EQ(MsgRead(r, tmp, 100, MIB), 0);
    h_fill(big, MIB, 5);
    CHECK_EQ(MsgWrite(r, big + 700000, MIB - 700000, 700000), MIB - 700000);
    CHECK_EQ(MsgReply(r, 7, big, 700000), 0);

    /* 4. IOVs on both sides. */
    iov_t iov[4];
    static const size_t rparts[] = {13, 20};
    split_iov(iov, head, rparts, 2);
    memset(&info, 0, sizeof info);
    r = MsgReceivev(chid, iov, 2, &info);
    if (r <= 0) {
        FAIL("server: MsgReceivev = %lld (%s)", (long long)r, h_errname(errno));
        return 1;
    }
    CHECK_EQ(info.pid, client);
    CHECK_EQ(info.msglen, 33);
    CHECK_EQ(info.srcmsglen, 75010);
    CHECK_EQ(info.dstmsglen, 103007);
    CHECK_FILL(head, 33, 6, 0);
    static const size_t readparts[] = {5, 50000};
    split_iov(iov, tmp, readparts, 2);
    CHECK_EQ(MsgReadv(r, iov, 2, 9), 50005);
    CHECK_FILL(tmp, 50005, 6, 9);
    CHECK_EQ(MsgReadv(r, iov, 2, 75000), 10);
    CHECK_FILL(tmp, 10, 6, 75000);
    h_fill(big, 103007, 7);
    static const size_t replyparts[] = {1, 6, 50000, 53000};
    split_iov(iov, big, replyparts, 4);
    CHECK_EQ(MsgReplyv(r, 3, iov, 4), 0);

    /* 5. Quit. */
    memset(&info, 0, sizeof info);
    r = MsgReceive(chid, head, sizeof head, &info);
    CHECK(r > 0);
    CHECK_EQ(info.msglen, 4);
    if (r > 0)
        CHECK_EQ(MsgReply(r, 0, NULL, 0), 0);
    free(big);
    free(tmp);
    return 0;
}

static int msg_client(int rd, int wr, void *arg)
{
    (void)rd;
    struct cli_arg *a = (struct cli_arg *)arg;
    if (h_become(a->uid) != 0)
        return 1;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0) {
        FAIL("client: ConnectAttach: %s", h_errname(errno));
        return 1;
    }
    char *s = (char *)malloc(MIB);
    char *r = (char *)malloc(MIB);
    REQUIRE(s && r);

    /* 1. */
    h_fill(s, 16, 1);
    memset(r, 0xEE, 16);
    CHECK_EQ(MsgSend(coid, s, 16, r, 16), 16);
    CHECK_FILL(r, 16, 11, 0);

    /* 2. */
    h_fill(s, 4096, 2);
    memset(r, 0xEE, 4096);
    CHECK_EQ(MsgSend(coid, s, 4096, r, 4096), 4096);
    CHECK_FILL(r, 3100, 3, 0);        /* MsgReply's 100 bytes + MsgWrite's 3000 at 100 */
    for (int i = 3100; i < 4000; i++) /* never written */
        if ((unsigned char)r[i] != 0xEE) {
            FAIL("client: reply byte %d was overwritten (%#x)", i, (unsigned char)r[i]);
            break;
        }
    CHECK_FILL(r + 4000, 96, 3, 4000); /* MsgWrite at 4000, cut at the buffer's end */

    /* 3. */
    h_fill(s, MIB, 4);
    memset(r, 0xEE, MIB);
    CHECK_EQ(MsgSend(coid, s, MIB, r, MIB), 7);
    CHECK_FILL(r, MIB, 5, 0);

    /* 4. */
    iov_t siov[3], riov[3];
    static const size_t sparts[] = {10, 5000, 70000};
    static const size_t rparts[] = {7, 3000, 100000};
    h_fill(s, 75010, 6);
    split_iov(siov, s, sparts, 3);
    memset(r, 0xEE, 103007 + 16);
    split_iov(riov, r, rparts, 3);
    CHECK_EQ(MsgSendv(coid, siov, 3, riov, 3), 3);
    CHECK_FILL(r, 103007, 7, 0);
    CHECK_EQ((unsigned char)r[103007], 0xEE);

    /* 5. */
    h_echo_quit(coid);
    ConnectDetach(coid);
    free(s);
    free(r);
    h_put(wr, 0);
    return 0;
}

static void messages_case(uid_t server_uid, uid_t client_uid)
{
    H_NEED_ROOT();
    struct srv_arg sa = {server_uid, 0};
    struct h_proc srv = h_spawn(msg_server, &sa);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    struct cli_arg ca = {client_uid, srv.pid, chid};
    struct h_proc cli = h_spawn(msg_client, &ca);
    h_put(srv.wr, cli.pid);
    h_put(srv.wr, client_uid);
    CHECK_CHILD_OK(cli.pid, 8000);
    CHECK_CHILD_OK(srv.pid, 3000);
    h_close_proc(&cli);
    h_close_proc(&srv);
}

TEST(users_messages_between_two_unprivileged_users) { messages_case(UID_A, UID_B); }

TEST(users_messages_within_one_unprivileged_user) { messages_case(UID_A, UID_A); }

TEST(users_messages_root_server_unprivileged_client) { messages_case(0, UID_B); }

TEST(users_messages_unprivileged_server_root_client) { messages_case(UID_A, 0); }

/* ------------------------------------------------------------------------------------ */
/* Pulses: QNX's permission rule                                                         */

struct pulse_srv_arg {
    uid_t uid;
    int expect_pulses; /* 1: two pulses then the marker message; 0: the marker first */
};

static int pulse_server(int rd, int wr, void *arg)
{
    (void)rd;
    struct pulse_srv_arg *a = (struct pulse_srv_arg *)arg;
    if (h_become(a->uid) != 0) {
        h_put(wr, -1);
        return 1;
    }
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    if (chid < 0)
        return 1;
    union {
        struct _pulse pulse;
        char raw[64];
    } m;
    struct _msg_info info;
    int scoid = 0;
    if (a->expect_pulses) {
        for (int i = 0; i < 2; i++) {
            memset(&m, 0x5A, sizeof m);
            rcvid_t r = MsgReceive(chid, &m, sizeof m, NULL);
            if (r != 0) {
                FAIL("server: expected pulse %d, MsgReceive = %lld (%s)", i + 1, (long long)r,
                     h_errname(errno));
                if (r > 0)
                    MsgReply(r, 0, NULL, 0);
                return 1;
            }
            CHECK_EQ(m.pulse.type, _PULSE_TYPE);
            CHECK_EQ(m.pulse.subtype, _PULSE_SUBTYPE);
            CHECK_EQ(m.pulse.code, 5 + i);
            if (i == 0)
                CHECK_EQ(m.pulse.value.sival_int, 55);
            else
                CHECK(m.pulse.value.sival_ptr == (void *)(uintptr_t)0x66);
            if (i == 0)
                scoid = m.pulse.scoid;
            else
                CHECK_EQ(m.pulse.scoid, scoid);
        }
    }
    /* The marker message: nothing (no refused pulse) came before it. */
    memset(&m, 0, sizeof m);
    rcvid_t r = MsgReceive(chid, &m, sizeof m, &info);
    if (r <= 0) {
        FAIL("server: expected the marker message, MsgReceive = %lld (%s)%s", (long long)r,
             h_errname(errno), r == 0 ? " - a refused pulse was delivered" : "");
        return 1;
    }
    CHECK(strcmp(m.raw, "marker") == 0);
    if (a->expect_pulses)
        CHECK_EQ(info.scoid, scoid);
    CHECK_EQ(MsgReply(r, 0, NULL, 0), 0);
    return 0;
}

struct pulse_cli_arg {
    uid_t uid;
    pid_t server;
    int chid;
    int want_err; /* 0 or EPERM */
};

static int pulse_client(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    struct pulse_cli_arg *a = (struct pulse_cli_arg *)arg;
    if (h_become(a->uid) != 0)
        return 1;
    /* Connecting is allowed whatever the users. */
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0) {
        FAIL("client: ConnectAttach: %s", h_errname(errno));
        return 1;
    }
    if (a->want_err) {
        CHECK_ERR(MsgSendPulse(coid, 10, 5, 55), a->want_err);
        CHECK_ERR(MsgSendPulsePtr(coid, 10, 6, (void *)(uintptr_t)0x66), a->want_err);
        errno = 4242;
        CHECK_EQ(MsgSendPulse_r(coid, 10, 5, 55), -a->want_err);
        CHECK_EQ(MsgSendPulsePtr_r(coid, -1, 6, NULL), -a->want_err);
        CHECK_EQ(errno, 4242);
    } else {
        CHECK_EQ(MsgSendPulse(coid, 10, 5, 55), 0);
        CHECK_EQ(MsgSendPulsePtr(coid, 10, 6, (void *)(uintptr_t)0x66), 0);
    }
    /* A pulse timer on the coid follows the same rule when it is created. */
    struct sigevent ev;
    timer_t t;
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, 10, 7, 0);
    if (a->want_err) {
        CHECK_ERR(timer_create(CLOCK_MONOTONIC, &ev, &t), a->want_err);
        CHECK_ERR(TimerCreate(CLOCK_MONOTONIC, &ev), a->want_err);
    } else {
        CHECK_EQ(timer_create(CLOCK_MONOTONIC, &ev, &t), 0);
        CHECK_EQ(timer_delete(t), 0);
    }
    /* Messages are not restricted. */
    CHECK_EQ(MsgSend(coid, "marker", 7, NULL, 0), 0);
    ConnectDetach(coid);
    return 0;
}

static void pulse_case(uid_t server_uid, uid_t client_uid, int want_err)
{
    H_NEED_ROOT();
    struct pulse_srv_arg sa = {server_uid, want_err == 0};
    struct h_proc srv = h_spawn(pulse_server, &sa);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    struct pulse_cli_arg ca = {client_uid, srv.pid, chid, want_err};
    struct h_proc cli = h_spawn(pulse_client, &ca);
    CHECK_CHILD_OK(cli.pid, 5000);
    CHECK_CHILD_OK(srv.pid, 3000);
    h_close_proc(&cli);
    h_close_proc(&srv);
}

TEST(users_pulse_to_other_user_eperm) { pulse_case(UID_A, UID_B, EPERM); }

TEST(users_pulse_within_one_unprivileged_user) { pulse_case(UID_A, UID_A, 0); }

TEST(users_pulse_from_root_to_unprivileged_server) { pulse_case(UID_A, 0, 0); }

TEST(users_pulse_from_unprivileged_to_root_server_eperm) { pulse_case(0, UID_B, EPERM); }

/* ------------------------------------------------------------------------------------ */
/* The kernel's pulses cross users                                                       */

/* Server of uid A with DISCONNECT|UNBLOCK: reports chid, then receives one message,
 * reports "received", waits for an UNBLOCK pulse (value = rcvid), replies, then waits
 * for DISCONNECT for the same scoid. */
static int kpulse_server(int rd, int wr, void *arg)
{
    (void)rd;
    struct srv_arg *a = (struct srv_arg *)arg;
    if (h_become(a->uid) != 0) {
        h_put(wr, -1);
        return 1;
    }
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK);
    h_put(wr, chid);
    if (chid < 0)
        return 1;
    union {
        struct _pulse pulse;
        char raw[64];
    } m;
    struct _msg_info info;
    rcvid_t r = MsgReceive(chid, &m, sizeof m, &info);
    if (r <= 0) {
        FAIL("server: MsgReceive = %lld (%s)", (long long)r, h_errname(errno));
        return 1;
    }
    h_put(wr, 1);
    rcvid_t p = MsgReceive(chid, &m, sizeof m, NULL);
    if (p != 0 || m.pulse.code != _PULSE_CODE_UNBLOCK) {
        FAIL("server: expected _PULSE_CODE_UNBLOCK, got rcvid %lld code %d", (long long)p,
             p == 0 ? m.pulse.code : 0);
        return 1;
    }
    CHECK_EQ(m.pulse.value.sival_int, (int)r);
    CHECK_EQ(m.pulse.scoid, info.scoid);
    CHECK_EQ(MsgReply(r, 9, NULL, 0), 0);
    p = MsgReceive(chid, &m, sizeof m, NULL);
    if (p != 0 || m.pulse.code != _PULSE_CODE_DISCONNECT) {
        FAIL("server: expected _PULSE_CODE_DISCONNECT, got rcvid %lld code %d", (long long)p,
             p == 0 ? m.pulse.code : 0);
        return 1;
    }
    CHECK_EQ(m.pulse.scoid, info.scoid);
    CHECK_EQ(ConnectDetach(info.scoid), 0);
    return 0;
}

static void on_usr1(int sig) { (void)sig; }

static int kpulse_client(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    struct cli_arg *a = (struct cli_arg *)arg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    if (h_become(a->uid) != 0)
        return 1;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0) {
        FAIL("client: ConnectAttach: %s", h_errname(errno));
        return 1;
    }
    /* Held REPLY-blocked through the signal (the channel has _NTO_CHF_UNBLOCK). */
    CHECK_EQ(MsgSend(coid, "hold me", 8, NULL, 0), 9);
    return 0; /* exit: the last link goes, DISCONNECT */
}

TEST(users_kernel_pulses_unblock_and_disconnect_cross_users)
{
    H_NEED_ROOT();
    struct srv_arg sa = {UID_A, 0};
    struct h_proc srv = h_spawn(kpulse_server, &sa);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    struct cli_arg ca = {UID_B, srv.pid, chid};
    struct h_proc cli = h_spawn(kpulse_client, &ca);
    CHECK_EQ(h_get(srv.rd, 5000), 1); /* the server has the message */
    h_settle(cli.pid, 2000);
    kill(cli.pid, SIGUSR1); /* root may signal it */
    CHECK_CHILD_OK(cli.pid, 3000);
    CHECK_CHILD_OK(srv.pid, 3000);
    h_close_proc(&cli);
    h_close_proc(&srv);
}

/* Client of uid B with a COID_DISCONNECT channel, connected to an echo server of uid A:
 * when the parent kills the server, a COIDDEATH pulse for the coid arrives. */
static int echo_server_as(int rd, int wr, void *arg)
{
    (void)rd;
    struct srv_arg *a = (struct srv_arg *)arg;
    if (h_become(a->uid) != 0) {
        h_put(wr, -1);
        return 1;
    }
    struct h_server_stats st = {.chid = ChannelCreate(a->flags)};
    h_put(wr, st.chid);
    h_echo_server(&st);
    return 0;
}

static int coiddeath_client(int rd, int wr, void *arg)
{
    (void)rd;
    struct cli_arg *a = (struct cli_arg *)arg;
    if (h_become(a->uid) != 0) {
        h_put(wr, -1);
        return 1;
    }
    int dchid = ChannelCreate(_NTO_CHF_COID_DISCONNECT);
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (dchid < 0 || coid < 0) {
        FAIL("client: ChannelCreate / ConnectAttach: %s", h_errname(errno));
        h_put(wr, -1);
        return 1;
    }
    CHECK_EQ(MsgSend(coid, "ping", 5, NULL, 0), 5);
    h_put(wr, coid);
    union {
        struct _pulse pulse;
        char raw[64];
    } m;
    rcvid_t r = -1;
    int err = 0;
    if (!h_receive_within(dchid, &m, sizeof m, NULL, 2000, &r, &err)) {
        FAIL("client: no COIDDEATH within 2 s of the server's death");
        return 1;
    }
    CHECK_EQ(r, 0);
    CHECK_EQ(m.pulse.code, _PULSE_CODE_COIDDEATH);
    CHECK_EQ(m.pulse.value.sival_int, coid);
    CHECK_EQ(m.pulse.scoid, -1);
    CHECK_ERR(MsgSend(coid, "ping", 5, NULL, 0), EBADF);
    CHECK_EQ(ConnectDetach(coid), 0);
    return 0;
}

TEST(users_coid_death_pulse_cross_users)
{
    H_NEED_ROOT();
    struct srv_arg sa = {UID_A, 0};
    struct h_proc srv = h_spawn(echo_server_as, &sa);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    struct cli_arg ca = {UID_B, srv.pid, chid};
    struct h_proc cli = h_spawn(coiddeath_client, &ca);
    REQUIRE(h_get(cli.rd, 5000) >= 0);
    h_kill(srv.pid);
    CHECK_CHILD_OK(cli.pid, 4000);
    h_close_proc(&cli);
    h_close_proc(&srv);
}

/* ------------------------------------------------------------------------------------ */
/* Death mid-call                                                                        */

struct die_arg {
    uid_t uid;
    pid_t server;
    int chid;
    size_t len;
};

/* Client: sends `len` bytes (REPLY-blocked until the server replies or dies); reports the
 * result as status then errno. */
static int blocked_client(int rd, int wr, void *arg)
{
    (void)rd;
    struct die_arg *a = (struct die_arg *)arg;
    if (h_become(a->uid) != 0)
        return 1;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0) {
        FAIL("client: ConnectAttach: %s", h_errname(errno));
        return 1;
    }
    char *s = (char *)malloc(a->len);
    char *r = (char *)malloc(a->len);
    REQUIRE(s && r);
    h_fill(s, a->len, 8);
    errno = 0;
    long st = MsgSend(coid, s, a->len, r, a->len);
    int e = errno;
    h_put(wr, st);
    h_put(wr, e);
    free(s);
    free(r);
    return 0;
}

/* Server of uid A for the killed-client case: receives, reads some of the message (the
 * copy goes through the client thread), reports, waits for the parent to kill the client,
 * then every call on the rcvid must fail with ESRCH, promptly. */
static int reply_to_dead_server(int rd, int wr, void *arg)
{
    struct die_arg *a = (struct die_arg *)arg;
    if (h_become(a->uid) != 0) {
        h_put(wr, -1);
        return 1;
    }
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    if (chid < 0)
        return 1;
    size_t len = (size_t)h_get(rd, 5000);
    char head[64];
    struct _msg_info info;
    rcvid_t r = MsgReceive(chid, head, sizeof head, &info);
    if (r <= 0) {
        FAIL("server: MsgReceive = %lld (%s)", (long long)r, h_errname(errno));
        return 1;
    }
    CHECK_EQ(info.srcmsglen, (long long)len);
    char *buf = (char *)malloc(len);
    REQUIRE(buf != NULL);
    CHECK_EQ(MsgRead(r, buf, len, 0), (long long)len);
    CHECK_FILL(buf, len, 8, 0);
    h_put(wr, 1);
    h_get(rd, 5000); /* the client is dead and reaped */
    long long t0 = h_now_ms();
    CHECK_ERR(MsgRead(r, buf, len, 0), ESRCH);
    CHECK_ERR(MsgWrite(r, buf, len, 0), ESRCH);
    CHECK_ERR(MsgReply(r, 0, buf, len), ESRCH);
    CHECK_ERR(MsgReply(r, 0, NULL, 0), ESRCH);
    long long ms = h_now_ms() - t0;
    if (ms > 1000)
        FAIL("server: the calls on a dead client's rcvid took %lld ms", ms);
    free(buf);
    return 0;
}

static void killed_client_case(size_t len)
{
    H_NEED_ROOT();
    struct die_arg sa = {UID_A, 0, 0, len};
    struct h_proc srv = h_spawn(reply_to_dead_server, &sa);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    h_put(srv.wr, (long long)len);
    struct die_arg ca = {UID_B, srv.pid, chid, len};
    struct h_proc cli = h_spawn(blocked_client, &ca);
    CHECK_EQ(h_get(srv.rd, 5000), 1);
    h_kill(cli.pid); /* SIGKILL while REPLY-blocked */
    h_put(srv.wr, 1);
    CHECK_CHILD_OK(srv.pid, 4000);
    h_close_proc(&cli);
    h_close_proc(&srv);
}

TEST(users_client_killed_reply_blocked_16b_server_gets_esrch) { killed_client_case(16); }

TEST(users_client_killed_reply_blocked_1mib_server_gets_esrch) { killed_client_case(MIB); }

/* Server of uid A for the killed-server case: receives (unless `len` is 0: it never
 * receives, the client stays SEND-blocked), reports, then waits to be killed. */
static int doomed_server(int rd, int wr, void *arg)
{
    struct die_arg *a = (struct die_arg *)arg;
    if (h_become(a->uid) != 0) {
        h_put(wr, -1);
        return 1;
    }
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    if (chid < 0)
        return 1;
    if (a->len) {
        char head[64];
        rcvid_t r = MsgReceive(chid, head, sizeof head, NULL);
        if (r <= 0)
            FAIL("server: MsgReceive = %lld (%s)", (long long)r, h_errname(errno));
        if (a->len > sizeof head) {
            char *buf = (char *)malloc(a->len);
            REQUIRE(buf != NULL);
            CHECK_EQ(MsgRead(r, buf, a->len, 0), (long long)a->len);
            free(buf);
        }
    }
    h_put(wr, 1);
    h_get(rd, 10000); /* killed before this returns */
    return 0;
}

static void killed_server_case(size_t len)
{
    H_NEED_ROOT();
    struct die_arg sa = {UID_A, 0, 0, len};
    struct h_proc srv = h_spawn(doomed_server, &sa);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    struct die_arg ca = {UID_B, srv.pid, chid, len ? len : 16};
    struct h_proc cli = h_spawn(blocked_client, &ca);
    CHECK_EQ(h_get(srv.rd, 5000), 1);
    h_settle(cli.pid, 2000); /* REPLY-blocked (or SEND-blocked when len is 0) */
    long long t0 = h_now_ms();
    h_kill(srv.pid);
    long long st = 0, e = 0;
    if (h_try_get(cli.rd, &st, 1000) != 0 || h_try_get(cli.rd, &e, 100) != 0) {
        FAIL("the uid-%d client was still blocked 1 s after its uid-%d server was killed",
             UID_B, UID_A);
    } else {
        long long ms = h_now_ms() - t0;
        if (st != -1 || e != ESRCH)
            FAIL("client: MsgSend = %lld (%s), want -1 ESRCH", st, h_errname((int)e));
        if (ms > 1000)
            FAIL("client unblocked %lld ms after the server's death", ms);
    }
    CHECK_CHILD_OK(cli.pid, 2000);
    h_close_proc(&cli);
    h_close_proc(&srv);
}

TEST(users_server_killed_client_reply_blocked_16b_esrch) { killed_server_case(16); }

TEST(users_server_killed_client_reply_blocked_1mib_esrch) { killed_server_case(MIB); }

TEST(users_server_killed_client_send_blocked_esrch) { killed_server_case(0); }

HARNESS_MAIN
