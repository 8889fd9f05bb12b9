/*
 * devctl(), devctlv(), posix_devctl() and _devctl() (<devctl.h>): an _IO_DEVCTL message on a
 * coid, answered by a raw MsgReceive server in another process (what a resource manager's
 * devctl handler sees), and a Linux ioctl() on a descriptor that is not a resource manager's.
 */
#include "harness.h"
#include <devctl.h>
#include <sys/iomsg.h>
#include <sys/ioctl.h>
#include <termios.h>

struct blob {
    char b[24];
};

#define DCMD_T_ECHO __DIOTF(_DCMD_MISC, 1, struct blob) /* upper-cases the data, ret_val = nbytes */
#define DCMD_T_GET __DIOF(_DCMD_MISC, 2, int)          /* the value last set, ret_val 7 */
#define DCMD_T_SET __DIOT(_DCMD_MISC, 3, int)          /* ret_val = value + 1 */
#define DCMD_T_NONE __DION(_DCMD_MISC, 4)              /* ret_val 42 */
#define DCMD_T_FAIL __DION(_DCMD_MISC, 5)              /* EPERM */

/* Answers _IO_DEVCTL as a resource manager's handler would, checking what the client sent:
 * the header, nbytes, and data only in the direction the command has. */
__attribute__((noreturn)) static int devctl_server(int rd, int wr, void *arg)
{
    (void)rd, (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    int value = 0;
    for (;;) {
        struct {
            io_devctl_t m;
            char data[64];
        } in;
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(chid, &in, sizeof in, &info);
        if (rcvid <= 0)
            continue;
        struct _io_devctl *i = &in.m.i;
        int dcmd = i->dcmd;
        size_t sent = info.srcmsglen - sizeof *i;
        int ok = i->type == _IO_DEVCTL && i->combine_len == sizeof *i && i->zero == 0
                 && sent == ((dcmd & DEVDIR_TO) ? i->nbytes : 0);
        if (!ok) {
            MsgError(rcvid, EINVAL);
            continue;
        }
        struct _io_devctl_reply o;
        memset(&o, 0, sizeof o);
        char out[64];
        size_t n = 0;
        switch (dcmd) {
        case DCMD_T_ECHO:
            n = i->nbytes < sizeof out ? i->nbytes : sizeof out;
            for (size_t k = 0; k < n; k++)
                out[k] = (char)(in.data[k] >= 'a' && in.data[k] <= 'z' ? in.data[k] - 32 : in.data[k]);
            o.ret_val = (int)i->nbytes;
            break;
        case DCMD_T_GET:
            memcpy(out, &value, sizeof value);
            n = sizeof value;
            o.ret_val = 7;
            break;
        case DCMD_T_SET:
            memcpy(&value, in.data, sizeof value);
            o.ret_val = value + 1;
            break;
        case DCMD_T_NONE:
            o.ret_val = i->nbytes == 0 ? 42 : -1;
            break;
        case DCMD_T_FAIL:
            MsgError(rcvid, EPERM);
            continue;
        default:
            MsgError(rcvid, ENOSYS);
            continue;
        }
        o.nbytes = (_Uint32t)n;
        iov_t riov[2];
        SETIOV(&riov[0], &o, sizeof o);
        SETIOV(&riov[1], out, n);
        MsgReplyv(rcvid, EOK, riov, 2);
    }
}

/* A server process and a coid to it (`index`: 0 for an fd-range coid, or a side channel). */
static int connect_server(struct h_proc *p, unsigned index)
{
    *p = h_spawn(devctl_server, NULL);
    int chid = (int)h_get(p->rd, 5000);
    int coid = ConnectAttach(0, p->pid, chid, index, 0);
    REQUIRE(coid != -1);
    return coid;
}

static void check_commands(int coid)
{
    struct blob b;
    memset(&b, 0, sizeof b);
    strcpy(b.b, "hello, device");
    int info = -99;
    errno = 12345;
    CHECK_EQ(devctl(coid, DCMD_T_ECHO, &b, sizeof b, &info), EOK);
    CHECK(strcmp(b.b, "HELLO, DEVICE") == 0);
    CHECK_EQ(info, (int)sizeof b);

    int v = 1234;
    CHECK_EQ(devctl(coid, DCMD_T_SET, &v, sizeof v, &info), EOK);
    CHECK_EQ(info, 1235);
    CHECK_EQ(v, 1234);
    v = 0;
    CHECK_EQ(devctl(coid, DCMD_T_GET, &v, sizeof v, &info), EOK);
    CHECK_EQ(v, 1234);
    CHECK_EQ(info, 7);
    CHECK_EQ(devctl(coid, DCMD_T_NONE, NULL, 0, &info), EOK);
    CHECK_EQ(info, 42);
    /* dev_info_ptr may be NULL. */
    CHECK_EQ(devctl(coid, DCMD_T_NONE, NULL, 0, NULL), EOK);

    /* Errors come back as the return value; errno and dev_info are left alone. */
    info = -99;
    CHECK_EQ(devctl(coid, DCMD_T_FAIL, NULL, 0, &info), EPERM);
    CHECK_EQ(devctl(coid, __DION(_DCMD_MISC, 99), NULL, 0, &info), ENOSYS);
    CHECK_EQ(info, -99);
    CHECK_EQ(errno, 12345);
    CHECK_EQ(posix_devctl(coid, DCMD_T_GET, &v, sizeof v, &info), EOK);
    CHECK_EQ(info, 7);

    /* _devctl: the return value, or -1 and errno. */
    CHECK_EQ(_devctl(coid, DCMD_T_SET, &v, sizeof v, 0), 1235);
    CHECK_EQ(_devctl(coid, DCMD_T_SET, &v, sizeof v, _DEVCTL_FLAG_NORETVAL), 0);
    CHECK_ERR(_devctl(coid, __DION(_DCMD_MISC, 99), NULL, 0, 0), ENOSYS);
    CHECK_ERR(_devctl(coid, __DION(_DCMD_MISC, 99), NULL, 0, _DEVCTL_FLAG_NOTTY | _DEVCTL_FLAG_NOCANCEL), ENOTTY);
    CHECK_ERR(_devctl(coid, DCMD_T_FAIL, NULL, 0, _DEVCTL_FLAG_NOTTY), EPERM);

    /* devctlv: the data gathered from sv, the answer scattered into rv. */
    char a[5] = "abcde", bb[19] = "fghijklmnopqrstuvw", ra[10], rb[14];
    iov_t sv[2], rv[2];
    SETIOV(&sv[0], a, 5);
    SETIOV(&sv[1], bb, 19);
    SETIOV(&rv[0], ra, sizeof ra);
    SETIOV(&rv[1], rb, sizeof rb);
    CHECK_EQ(devctlv(coid, DCMD_T_ECHO, 2, 2, sv, rv, &info), EOK);
    CHECK_EQ(info, 24);
    CHECK_MEM(ra, "ABCDEFGHIJ", 10);
    CHECK_MEM(rb, "KLMNOPQRSTUVW", 14);
    CHECK_EQ(devctlv(coid, DCMD_T_NONE, 0, 0, NULL, NULL, &info), EOK);
    CHECK_EQ(info, 42);
    CHECK_EQ(devctlv(coid, DCMD_T_FAIL, 0, 0, NULL, NULL, &info), EPERM);
    CHECK_EQ(devctlv(coid, DCMD_T_NONE, -1, 0, NULL, NULL, &info), EINVAL);
}

TEST(devctl_on_a_side_channel_sends_io_devctl)
{
    struct h_proc p;
    int coid = connect_server(&p, _NTO_SIDE_CHANNEL);
    check_commands(coid);
    h_kill(p.pid);
}

TEST(devctl_on_an_fd_range_coid_sends_io_devctl)
{
    struct h_proc p;
    int coid = connect_server(&p, 0);
    CHECK(coid < _NTO_SIDE_CHANNEL);
    check_commands(coid);
    h_kill(p.pid);
}

TEST(devctl_on_a_dead_coid_fails)
{
    struct h_proc p;
    int coid = connect_server(&p, _NTO_SIDE_CHANNEL);
    int info;
    CHECK_EQ(devctl(coid, DCMD_T_NONE, NULL, 0, &info), EOK);
    h_kill(p.pid);
    /* As MsgSend after the server's death (test_death.c): ESRCH, or EBADF once the death
     * has been seen. */
    int e = devctl(coid, DCMD_T_NONE, NULL, 0, &info);
    if (e != ESRCH && e != EBADF)
        FAIL("devctl after the server's death = %s, want ESRCH or EBADF", h_errname(e));
    ConnectDetach(coid);
    CHECK_EQ(devctl(coid, DCMD_T_NONE, NULL, 0, &info), EBADF);
}

/* On a terminal, QNX's commands are the Linux requests with the direction bits swapped. */
TEST(devctl_on_a_terminal_is_its_ioctl)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(m >= 0);
    /* TIOCGPTN is _IOR('T', 0x30, unsigned int): data from the device, QNX's __DIOF. */
    unsigned n = 12345, want = 0;
    int info = -1;
    CHECK_EQ(devctl(m, __DIOF('T', 0x30, unsigned int), &n, sizeof n, &info), EOK);
    CHECK_EQ(info, 0);
    REQUIRE_EQ(ioctl(m, TIOCGPTN, &want), 0);
    CHECK_EQ(n, want);
    /* The same through devctlv, into one receive part. */
    n = 12345;
    iov_t rv;
    SETIOV(&rv, &n, sizeof n);
    CHECK_EQ(devctlv(m, __DIOF('T', 0x30, unsigned int), 0, 1, NULL, &rv, &info), EOK);
    CHECK_EQ(n, want);
    /* TIOCSWINSZ and TIOCGWINSZ carry no direction: __DION, the data pointer as it is. */
    struct winsize ws = {.ws_row = 33, .ws_col = 97}, got;
    CHECK_EQ(devctl(m, TIOCSWINSZ, &ws, sizeof ws, NULL), EOK);
    memset(&got, 0, sizeof got);
    CHECK_EQ(devctl(m, TIOCGWINSZ, &got, sizeof got, NULL), EOK);
    CHECK_EQ(got.ws_row, 33);
    CHECK_EQ(got.ws_col, 97);
    /* The request as Linux spells it is some other, unknown, command. */
    CHECK_EQ(devctl(m, (int)TIOCGPTN, &n, sizeof n, NULL), ENOTTY);
    close(m);
}

TEST(devctl_on_other_descriptors_reports_their_errors)
{
    int fds[2];
    REQUIRE_EQ(pipe(fds), 0);
    int v = 0, info = -7;
    errno = 12345;
    CHECK_EQ(devctl(fds[0], DCMD_ALL_GETFLAGS, &v, sizeof v, &info), ENOTTY);
    CHECK_EQ(info, -7);
    CHECK_EQ(errno, 12345);
    CHECK_ERR(_devctl(fds[0], DCMD_ALL_GETFLAGS, &v, sizeof v, 0), ENOTTY);
    close(fds[0]);
    close(fds[1]);
    CHECK_EQ(devctl(fds[0], DCMD_ALL_GETFLAGS, &v, sizeof v, &info), EBADF);
    CHECK_EQ(devctlv(fds[0], DCMD_ALL_GETFLAGS, 0, 0, NULL, NULL, &info), EBADF);
    CHECK_EQ(devctl(-1, DCMD_ALL_GETFLAGS, &v, sizeof v, &info), EBADF);
    CHECK_EQ(devctl(0x40000777, DCMD_ALL_GETFLAGS, &v, sizeof v, &info), EBADF);
    CHECK_EQ(devctl(fds[0], DCMD_ALL_GETFLAGS, &v, (size_t)SSIZE_MAX, &info), EOVERFLOW);
}

HARNESS_MAIN
