/*
 * test_info.c - ConnectClientInfo, ConnectServerInfo, ConnectFlags and MsgCurrent.
 */
#include "harness.h"

#include <grp.h>
#include <time.h>

struct info_child {
    int chid;
};

/* A client in another process: attaches to the parent's channel, sends one message, and
 * waits for the parent's word before it leaves. */
static int info_client(int rd, int wr, void *arg)
{
    struct info_child *ic = (struct info_child *)arg;
    int coid = ConnectAttach(0, getppid(), ic->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid == -1)
        return 1;
    char reply[8];
    if (MsgSend(coid, "who", 4, reply, sizeof reply) != 0)
        return 2;
    h_put(wr, 1);
    long long go;
    h_try_get(rd, &go, 5000);
    return 0;
}

TEST(client_info_of_another_process)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct info_child ic = {chid};
    gid_t extra[] = {4242, 4343};
    REQUIRE_OK(setgroups(2, extra));
    struct h_proc p = h_spawn(info_client, &ic);
    char buf[16];
    struct _msg_info mi;
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, &mi);
    REQUIRE(rcvid > 0);

    struct {
        struct _client_info ci;
        gid_t more[8];
    } big;
    memset(&big, 0xff, sizeof big);
    CHECK_OK(ConnectClientInfo(mi.scoid, &big.ci, 16));
    CHECK_EQ(big.ci.nd, 0);
    CHECK_EQ(big.ci.pid, p.pid);
    CHECK_EQ(big.ci.sid, getsid(p.pid));
    CHECK_EQ(big.ci.cred.ruid, getuid());
    CHECK_EQ(big.ci.cred.euid, geteuid());
    CHECK_EQ(big.ci.cred.rgid, getgid());
    CHECK_EQ(big.ci.cred.egid, getegid());
    CHECK_EQ(big.ci.cred.ngroups, 2);
    CHECK_EQ(big.ci.cred.grouplist[0], 4242);
    CHECK_EQ(big.ci.cred.grouplist[1], 4343);

    /* ngroups 0: the real count, nothing copied; 1: one copied, count 1. */
    struct _client_info small;
    memset(&small, 0, sizeof small);
    CHECK_OK(ConnectClientInfo(mi.scoid, &small, 0));
    CHECK_EQ(small.cred.ngroups, 2);
    CHECK_EQ(small.cred.grouplist[0], 0);
    CHECK_OK(ConnectClientInfo(mi.scoid, &small, 1));
    CHECK_EQ(small.cred.ngroups, 1);
    CHECK_EQ(small.cred.grouplist[0], 4242);

    /* -1 is the caller itself. */
    CHECK_OK(ConnectClientInfo(-1, &small, 0));
    CHECK_EQ(small.pid, getpid());

    CHECK_ERR(ConnectClientInfo(mi.scoid, NULL, 0), EFAULT);
    CHECK_ERR(ConnectClientInfo(0x40017777, &small, 0), EINVAL);
    CHECK_EQ(ConnectClientInfo_r(0x40017777, &small, 0), -EINVAL);

    CHECK_OK(MsgReply(rcvid, 0, NULL, 0));
    h_put(p.wr, 1);
    CHECK_CHILD_OK(p.pid, 5000);
    h_close_proc(&p);
    ChannelDestroy(chid);
}

TEST(server_info_iterates_own_connections)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int fdc = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, _NTO_COF_CLOEXEC));
    int side = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    struct _server_info si;
    /* fd-range first, then side channels. */
    CHECK_EQ(ConnectServerInfo(0, 0, &si), fdc);
    CHECK_EQ(si.pid, getpid());
    CHECK_EQ(si.chid, chid);
    CHECK_EQ(si.coid, fdc);
    CHECK(si.scoid & _NTO_SIDE_CHANNEL);
    CHECK(si.flags & _NTO_COF_CLOEXEC);
    CHECK_EQ(ConnectServerInfo(0, fdc + 1, &si), side);
    CHECK_EQ(si.flags & _NTO_COF_CLOEXEC, 0);
    CHECK_EQ(ConnectServerInfo(getpid(), side, NULL), side);
    CHECK_ERR(ConnectServerInfo(0, side + 1, &si), EINVAL);
    CHECK_ERR(ConnectServerInfo(getppid(), 0, &si), ESRCH);
    CHECK_EQ(ConnectServerInfo_r(0, side + 1, &si), -EINVAL);

    /* A dead connection is skipped without info, reported with _NTO_COF_DEAD with it. */
    CHECK_OK(ChannelDestroy(chid));
    CHECK_ERR(ConnectServerInfo(0, 0, NULL), EINVAL);
    CHECK_EQ(ConnectServerInfo(0, 0, &si), fdc);
    CHECK(si.flags & _NTO_COF_DEAD);
    ConnectDetach(fdc);
    ConnectDetach(side);
}

TEST(connect_flags_cloexec)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(ConnectFlags(0, coid, _NTO_COF_CLOEXEC, _NTO_COF_CLOEXEC), 0);
    CHECK_EQ(ConnectFlags(0, coid, 0, 0), _NTO_COF_CLOEXEC);
    CHECK_EQ(ConnectFlags(0, coid, FD_CLOEXEC, 0), _NTO_COF_CLOEXEC);
    CHECK_EQ(ConnectFlags(0, coid, 0, 0), 0);
    CHECK_ERR(ConnectFlags(0, _NTO_SIDE_CHANNEL | 999, 0, 0), EBADF);
    CHECK_ERR(ConnectFlags(getppid(), coid, 0, 0), ESRCH);
    CHECK_EQ(ConnectFlags_r(0, _NTO_SIDE_CHANNEL | 999, 0, 0), -EBADF);
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

struct cur_client {
    int coid;
};

static void *cur_send(void *arg)
{
    struct cur_client *c = (struct cur_client *)arg;
    MsgSend(c->coid, "x", 2, NULL, 0);
    return NULL;
}

TEST(msg_current_checks_rcvid)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct cur_client c = {(int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0))};
    pthread_t t = h_thread(cur_send, &c);
    char buf[4];
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, NULL);
    REQUIRE(rcvid > 0);
    CHECK_OK(MsgCurrent(rcvid));
    CHECK_OK(MsgCurrent(0));
    CHECK_OK(MsgReply(rcvid, 0, NULL, 0));
    JOIN(t, 3000);
    CHECK_ERR(MsgCurrent(rcvid), ESRCH);
    CHECK_EQ(MsgCurrent_r(rcvid), -ESRCH);
    ConnectDetach(c.coid);
    ChannelDestroy(chid);
}

HARNESS_MAIN
