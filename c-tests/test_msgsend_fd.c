/*
 * MsgSend*(fd, ...) on the descriptor open() gave for a resource manager's path, as QNX
 * client code does it: the library binds the descriptor to a connection on first use
 * (NEUTRINO_IOC_BIND to the path bridge, a side channel, _IO_DUP with the bridge's key).
 * The resource manager here is a raw MsgReceive server that answers what the bridge and
 * the binding send (_IO_CONNECT, _IO_DUP, _IO_CLOSE, ...), no resmgr layer.  And the
 * refusals: a descriptor that is no resource manager's, or a closed one, is EBADF.
 */
#include "harness.h"
#include <devctl.h>
#include <sys/vfs.h>
#include "resmgr_client.h"

#define FUSE_SUPER_MAGIC 0x65735546
#define MSG_PING 0x8001 /* the application's own message type */
#define MSG_QUIT 0x8002
#define DCMD_T_GET __DIOF(_DCMD_MISC, 2, int)

struct ping {
    uint16_t type;
    char text[30];
};

/* A satellite: the connection (scoid, coid) sharing the OCB of the bridge's (oscoid, ocoid). */
struct sat {
    int scoid, coid, oscoid, ocoid;
};

static void reply_stat(rcvid_t rcvid)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = S_IFREG | 0666;
    st.st_nlink = 1;
    st.st_uid = getuid();
    st.st_gid = getgid();
    MsgReply(rcvid, EOK, &st, sizeof st);
}

/* Answers as a resource manager with one file would; writes 1 to `wr` once the path is
 * a FUSE mount, 0 if it is not, -1 if the mount failed. */
static int rm_server(int rd, int wr, void *arg)
{
    (void)rd;
    const char *path = arg;
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK);
    if (__libneutrino_resmgr_mount(chid, 0, path, 0) == -1) {
        h_put(wr, -1);
        return 1;
    }
    struct statfs sf;
    h_put(wr, statfs(path, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC);
    h_put(wr, chid);
    struct sat sats[16];
    int nsat = 0;
    for (;;) {
        union {
            uint16_t type;
            struct _io_connect connect;
            io_dup_t dup;
            io_devctl_t devctl;
            struct ping ping;
            char raw[512];
        } m;
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(chid, &m, sizeof m, &info);
        if (rcvid <= 0)
            continue;
        int bound = 0;
        for (int i = 0; i < nsat; i++)
            bound |= sats[i].scoid == info.scoid && sats[i].coid == info.coid;
        switch (m.type) {
        case _IO_CONNECT:
            if (m.connect.subtype == _IO_CONNECT_COMBINE_CLOSE)
                reply_stat(rcvid);
            else
                MsgReply(rcvid, EOK, NULL, 0);
            break;
        case _IO_STAT:
            reply_stat(rcvid);
            break;
        case _IO_DUP:
            if (nsat < 16
                && __libneutrino_resmgr_dup_allowed(m.dup.i.info.scoid, m.dup.i.info.coid, info.pid,
                                                    m.dup.i.key)) {
                sats[nsat++] = (struct sat){info.scoid, info.coid, m.dup.i.info.scoid, m.dup.i.info.coid};
                MsgReply(rcvid, EOK, NULL, 0);
            } else {
                MsgError(rcvid, EBADF);
            }
            break;
        case _IO_CLOSE:
            /* The descriptor's own binding ends, and its satellites with it. */
            for (int i = 0; i < nsat; i++)
                if (sats[i].oscoid == info.scoid && sats[i].ocoid == info.coid)
                    sats[i--] = sats[--nsat];
            MsgReply(rcvid, EOK, NULL, 0);
            break;
        case _IO_DEVCTL: {
            /* From the bridge (a Linux ioctl) or a satellite (devctl on the descriptor). */
            struct {
                struct _io_devctl_reply o;
                int v;
            } r;
            memset(&r, 0, sizeof r);
            r.o.ret_val = bound ? 2 : 1;
            r.o.nbytes = sizeof r.v;
            r.v = 77;
            if (m.devctl.i.dcmd == DCMD_T_GET)
                MsgReply(rcvid, EOK, &r, sizeof r);
            else
                MsgError(rcvid, ENOTTY);
            break;
        }
        case MSG_PING:
            if (!bound) {
                MsgError(rcvid, EBADF);
                break;
            }
            for (char *c = m.ping.text; *c; c++)
                *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
            MsgReply(rcvid, (long)info.pid, m.ping.text, sizeof m.ping.text);
            break;
        case MSG_QUIT:
            MsgReply(rcvid, EOK, NULL, 0);
            __libneutrino_resmgr_unmount(chid, 0);
            return 0;
        default:
            MsgError(rcvid, ENOSYS);
        }
    }
}

static long ping(int fd, const char *text, char *answer)
{
    struct ping p = {.type = MSG_PING};
    snprintf(p.text, sizeof p.text, "%s", text);
    return MsgSend(fd, &p, sizeof p, answer, sizeof p.text);
}

TEST(msgsend_on_a_resource_managers_descriptor)
{
    if (!h_has_fuse())
        return;
    char dir[] = "/tmp/ln_msgsend_fd_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/dev", dir);
    struct h_proc srv = h_spawn(rm_server, path);
    long long mounted = h_get(srv.rd, 10000);
    REQUIRE(mounted != -1);
    int chid = (int)h_get(srv.rd, 10000);
    int quit = ConnectAttach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(quit != -1);
    CHECK_EQ(mounted, 1);
    if (mounted == 1) {
        char answer[30];
        int fd = open(path, O_RDWR);
        REQUIRE(fd >= 0);
        /* The first message binds the descriptor; the server sees our pid. */
        CHECK_EQ(ping(fd, "hello", answer), (long)getpid());
        CHECK(strcmp(answer, "HELLO") == 0);
        struct ping p = {.type = MSG_PING, .text = "again"};
        iov_t siov[2], riov;
        SETIOV(&siov[0], &p, 10);
        SETIOV(&siov[1], (char *)&p + 10, sizeof p - 10);
        SETIOV(&riov, answer, sizeof answer);
        CHECK_EQ(MsgSendv(fd, siov, 2, &riov, 1), (long)getpid());
        CHECK(strcmp(answer, "AGAIN") == 0);
        CHECK_EQ(MsgSendnc(fd, &p, sizeof p, answer, sizeof answer), (long)getpid());
        /* devctl() through the binding; a Linux ioctl() through the bridge. */
        int v = 0, info = 0;
        CHECK_EQ(devctl(fd, DCMD_T_GET, &v, sizeof v, &info), EOK);
        CHECK_EQ(v, 77);
        CHECK_EQ(info, 2);
        v = 0;
        CHECK_EQ(ioctl(fd, _IOR(_DCMD_MISC, 2, int), &v), 1);
        CHECK_EQ(v, 77);
        /* A fork child has the descriptor, not our connection: it binds its own. */
        pid_t child = h_fork();
        if (child == 0) {
            char a[30];
            CHECK_EQ(ping(fd, "child", a), (long)getpid());
            h_child_exit(0);
        }
        CHECK_CHILD_OK(child, 10000);
        CHECK_EQ(ping(fd, "parent", answer), (long)getpid());
        /* Closed: EBADF; the same number opened again reaches the new OCB. */
        close(fd);
        CHECK_ERR(ping(fd, "closed", answer), EBADF);
        int again = open(path, O_RDWR);
        REQUIRE(again >= 0);
        CHECK_EQ(ping(again, "reopened", answer), (long)getpid());
        CHECK(strcmp(answer, "REOPENED") == 0);
        /* The number reused by another file: EBADF, never the old OCB. */
        int fds[2];
        REQUIRE_EQ(pipe(fds), 0);
        REQUIRE_EQ(dup2(fds[0], again), again);
        CHECK_ERR(ping(again, "pipe", answer), EBADF);
        close(again);
        close(fds[0]);
        close(fds[1]);
    }
    CHECK_OK(MsgSend(quit, &(uint16_t){MSG_QUIT}, sizeof(uint16_t), NULL, 0));
    CHECK_EQ(h_wait(srv.pid, 10000), 0);
    unlink(path);
    rmdir(dir);
}

TEST(msgsend_on_other_descriptors_is_ebadf)
{
    int fds[2];
    REQUIRE_EQ(pipe(fds), 0);
    char answer[30];
    CHECK_ERR(ping(fds[0], "pipe", answer), EBADF);
    iov_t iov;
    SETIOV(&iov, answer, sizeof answer);
    CHECK_ERR(MsgSendv(fds[1], &iov, 1, &iov, 1), EBADF);
    CHECK_EQ(MsgSend_r(fds[0], answer, 4, answer, 4), -EBADF);
    int null = open("/dev/null", O_RDWR);
    REQUIRE(null >= 0);
    CHECK_ERR(ping(null, "null", answer), EBADF);
    close(null);
    close(fds[0]);
    close(fds[1]);
    CHECK_ERR(ping(fds[0], "closed", answer), EBADF);
    CHECK_ERR(MsgSendsv(fds[1], answer, 4, &iov, 1), EBADF);
    CHECK_ERR(ping(-1, "negative", answer), EBADF);
}

HARNESS_MAIN
