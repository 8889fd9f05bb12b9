/*
 * test_ids.c - one number space per process (reference §1.1): QNX's kernel keeps a
 * process's chids, side-channel coids and the scoids of its channels in one vector, whose
 * slot 0 is SYSMGR_COID; each new one takes the lowest free index from 1, whatever its kind,
 * and a freed index goes to whichever kind comes next.  Programs hard-code what follows
 * (a server whose chid is 1, or 2 after an attach).  fd-range coids are outside it.  Each
 * case runs in a fresh process, so numbering starts from scratch.
 */
#include "harness.h"

#define SIDE(n) ((int)(_NTO_SIDE_CHANNEL | (n)))

/* A server in another process: its chid, then it waits to be told to go. */
HELPER(other_server)
{
    (void)arg;
    h_put(wr, ChannelCreate(0));
    h_get(rd, 10000);
    return 0;
}

static struct h_proc start_other(int *chid)
{
    struct h_proc s = h_exec("other_server", NULL);
    *chid = (int)h_get(s.rd, 5000);
    REQUIRE(*chid > 0);
    return s;
}

static void stop_other(struct h_proc *s)
{
    h_put(s->wr, 1);
    CHECK_CHILD_OK(s->pid, 5000);
    h_close_proc(s);
}

TEST(ids_channels_count_from_one)
{
    CHECK_EQ(ChannelCreate(0), 1);
    CHECK_EQ(ChannelCreate(0), 2);
}

/* A side-channel connection made before the first ChannelCreate takes index 1. */
TEST(ids_attach_before_first_channel_gives_chid_2)
{
    int other;
    struct h_proc s = start_other(&other);
    CHECK_EQ(ConnectAttach(0, s.pid, other, _NTO_SIDE_CHANNEL, 0), SIDE(1));
    CHECK_EQ(ChannelCreate(0), 2);
    stop_other(&s);
}

/* ChannelCreate, then a self-attach: coid 2 (numbered before its scoid), scoid 3, and the
 * next channel 4. */
TEST(ids_self_attach_numbers_coid_then_scoid)
{
    CHECK_EQ(ChannelCreate(0), 1);
    CHECK_EQ(ConnectAttach(0, 0, 1, _NTO_SIDE_CHANNEL, 0), SIDE(2));
    CHECK_EQ(MsgSendPulse(SIDE(2), 10, 5, 0), 0);
    struct _pulse p;
    CHECK_EQ(MsgReceive(1, &p, sizeof p, NULL), 0);
    CHECK_EQ(p.scoid & 0xFFFF, 3);
    CHECK(p.scoid & _NTO_SIDE_CHANNEL);
    CHECK_EQ(ChannelCreate(0), 4);
}

/* A server's scoids take indexes in the server's own space. */
HELPER(scoid_server)
{
    (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    struct _pulse p;
    if (MsgReceive(chid, &p, sizeof p, NULL) != 0)
        return 1;
    h_put(wr, p.scoid & 0xFFFF);
    h_put(wr, ChannelCreate(0)); /* after the client's scoid */
    h_get(rd, 10000);
    return 0;
}

TEST(ids_scoids_share_the_servers_space)
{
    struct h_proc s = h_exec("scoid_server", NULL);
    int chid = (int)h_get(s.rd, 5000);
    CHECK_EQ(chid, 1);
    int coid = (int)CHECK_OK(ConnectAttach(0, s.pid, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(coid, SIDE(1));
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 0), 0);
    CHECK_EQ(h_get(s.rd, 5000), 2);
    CHECK_EQ(h_get(s.rd, 5000), 3);
    stop_other(&s);
}

/* A freed index goes to whichever kind comes next. */
TEST(ids_freed_index_reused_by_any_kind)
{
    int other;
    struct h_proc s = start_other(&other);
    CHECK_EQ(ChannelCreate(0), 1);
    int coid = ConnectAttach(0, s.pid, other, _NTO_SIDE_CHANNEL, 0);
    CHECK_EQ(coid, SIDE(2));
    CHECK_EQ(ChannelCreate(0), 3);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelCreate(0), 2); /* the coid's index */
    CHECK_EQ(ChannelDestroy(1), 0);
    CHECK_EQ(ConnectAttach(0, s.pid, other, _NTO_SIDE_CHANNEL, 0), SIDE(1)); /* the chid's */
    stop_other(&s);
}

/* A server connection freed by ConnectDetach(scoid) after DISCONNECT frees its index. */
TEST(ids_detached_scoid_index_reused)
{
    CHECK_EQ(ChannelCreate(_NTO_CHF_DISCONNECT), 1);
    int coid = ConnectAttach(0, 0, 1, _NTO_SIDE_CHANNEL, 0);
    CHECK_EQ(coid, SIDE(2));
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelCreate(0), 2); /* the coid's index; the scoid (3) waits for its detach */
    struct _pulse p;
    CHECK_EQ(MsgReceive(1, &p, sizeof p, NULL), 0);
    CHECK_EQ(p.code, _PULSE_CODE_DISCONNECT);
    CHECK_EQ(p.scoid & 0xFFFF, 3);
    CHECK_EQ(ChannelCreate(0), 4);
    CHECK_EQ(ConnectDetach(p.scoid), 0);
    CHECK_EQ(ChannelCreate(0), 3);
}

/* fd-range coids are descriptors, outside the vector. */
TEST(ids_fd_coids_take_no_index)
{
    int other;
    struct h_proc s = start_other(&other);
    int fd = (int)CHECK_OK(ConnectAttach(0, s.pid, other, 0, 0));
    CHECK(!(fd & _NTO_SIDE_CHANNEL));
    CHECK_EQ(ChannelCreate(0), 1);
    CHECK_EQ(ConnectDetach(fd), 0);
    stop_other(&s);
}

/* A failed attach gives its index back. */
TEST(ids_failed_attach_takes_no_index)
{
    int other;
    struct h_proc s = start_other(&other);
    CHECK_ERR(ConnectAttach(0, s.pid, other + 7, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_ERR(ConnectAttach(0, 0, 1, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_EQ(ChannelCreate(0), 1);
    stop_other(&s);
}

HARNESS_MAIN
