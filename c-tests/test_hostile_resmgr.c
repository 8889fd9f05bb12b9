/*
 * test_hostile_resmgr.c - hostile peers of a resource manager (issue 11): anything a
 * client sends its channel, and what a Linux process or a FUSE file system of another user
 * can make the path bridge and MsgSend(fd) do.
 *
 *  - Malformed messages from an unprivileged client (a connect whose path or extra runs
 *    past the message or has no NUL, I/O messages shorter than their header, combine chains
 *    of any length ending where the buffer does, a write claiming more data than it sent,
 *    forged _IO_DUP, _IO_CLOSE, pulses with the kernel's codes) get EBADMSG/EBADF/ENOSYS,
 *    while an honest client beside them is served.  The server's handlers read the message
 *    in place as QNX code does (the path as a string, the header, msg->o written in place),
 *    so under AddressSanitizer a read or write outside the receive buffer ends the run.
 *  - A forged _PULSE_CODE_UNBLOCK naming another client's rcvid does not unblock it.
 *  - The bridge's one-use allowance (NEUTRINO_IOC_BIND) is the caller's process's alone.
 *  - A FUSE file system of another user answering NEUTRINO_IOC_BIND cannot aim a root
 *    client's MsgSend(fd) at a third party's server.
 *  - Root attaching a path where another user planted a symlink does not mount over its
 *    target.
 */
#include "harness.h"

#include <linux/fuse.h>
#include <sys/mount.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <devctl.h>
#include "resmgr_client.h"

enum { UID_HOSTILE = 65534 };
#define T_STATS 0x5000

/* The resource manager's receive buffer when resmgr_attr_t.msg_max_size is 0 (resmgr.c's
 * MSG_MIN): a connect message with a whole path and a combined message. */
#define RM_BUF (offsetof(struct _io_connect, path) + PATH_MAX + 8 + sizeof(resmgr_iomsgs_t))

struct stats {
    int32_t opens, unblocks, held_rcvid, served;
};

static struct stats st;
static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rm_counters counters = {&st_lock, &st, sizeof st};
static volatile unsigned sink;

static int my_open(resmgr_context_t *ctp, io_open_t *msg, RESMGR_HANDLE_T *handle, void *extra)
{
    (void)extra;
    /* As QNX code does: the path is a string. */
    sink += (unsigned)strlen(msg->connect.path);
    pthread_mutex_lock(&st_lock);
    st.opens++;
    pthread_mutex_unlock(&st_lock);
    return iofunc_open_default(ctp, msg, handle, extra);
}

static int my_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb)
{
    (void)ocb;
    if (msg->i.nbytes == 1) { /* held until the client unblocks */
        pthread_mutex_lock(&st_lock);
        st.held_rcvid = ctp->rcvid;
        pthread_mutex_unlock(&st_lock);
        return _RESMGR_NOREPLY;
    }
    static char abc[] = "abc";
    _IO_SET_READ_NBYTES(ctp, 3);
    return _RESMGR_PTR(ctp, abc, 3);
}

/* The data in place when it all came, else read from the client: never more than nbytes. */
static int my_write(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb)
{
    (void)ocb;
    size_t n = msg->i.nbytes, here = (size_t)ctp->info.msglen - ctp->offset - sizeof msg->i;
    if (msg->i.xtype != _IO_XTYPE_NONE)
        return ENOSYS;
    if (n <= here) {
        const unsigned char *d = (const unsigned char *)(msg + 1);
        for (size_t i = 0; i < n; i++)
            sink += d[i];
    } else {
        char *buf = malloc(n);
        if (!buf)
            return ENOMEM;
        resmgr_msgread(ctp, buf, n, sizeof msg->i);
        free(buf);
    }
    pthread_mutex_lock(&st_lock);
    st.served++;
    pthread_mutex_unlock(&st_lock);
    _IO_SET_WRITE_NBYTES(ctp, (long)n);
    return EOK;
}

static int my_stat(resmgr_context_t *ctp, io_stat_t *msg, RESMGR_OCB_T *ocb)
{
    memset(&msg->o, 0, sizeof msg->o); /* the reply is built in place */
    return iofunc_stat_default(ctp, msg, ocb);
}

static int my_unblock(resmgr_context_t *ctp, io_pulse_t *msg, RESMGR_OCB_T *ocb)
{
    pthread_mutex_lock(&st_lock);
    st.unblocks++;
    st.held_rcvid = 0;
    pthread_mutex_unlock(&st_lock);
    return iofunc_unblock_default(ctp, msg, ocb);
}

/* The resource manager: by message only (arg ""), or at path `arg` through the bridge.
 * Tells the test its pid, channel and attachment id (or -errno of resmgr_attach). */
HELPER(rm_server)
{
    (void)rd;
    static resmgr_connect_funcs_t cfuncs;
    static resmgr_io_funcs_t iofuncs;
    static iofunc_attr_t attr;
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    name_attach_t *name = name_attach(dpp, "neutrino-test/hostile-resmgr", 0);
    REQUIRE(name != NULL);
    resmgr_attr_t rattr;
    memset(&rattr, 0, sizeof rattr);
    rattr.flags = *arg ? 0 : RESMGR_FLAG_ATTACH_LOCAL;
    rattr.nparts_max = 1;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &cfuncs, _RESMGR_IO_NFUNCS, &iofuncs);
    cfuncs.open = my_open;
    iofuncs.read = my_read;
    iofuncs.write = my_write;
    iofuncs.stat = my_stat;
    iofuncs.unblock = my_unblock;
    iofunc_attr_init(&attr, S_IFCHR | 0666, NULL, NULL);
    int id = resmgr_attach(dpp, &rattr, *arg ? arg : NULL, _FTYPE_ANY, 0, &cfuncs, &iofuncs, &attr);
    h_put(wr, getpid());
    h_put(wr, name->chid);
    h_put(wr, id >= 0 ? id : -errno);
    if (id < 0)
        return 0;
    rm_serve_counters(dpp, T_STATS, &counters);
    rm_dispatch_forever(dpp);
}

/* ---- the client side ----------------------------------------------------------------- */

/* Every call of the hostile side ends within this, whatever the server does. */
static void bounded(void)
{
    uint64_t ns = 200 * 1000000ull;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
}

static struct stats rm_stats(const struct rm *r)
{
    struct stats s;
    memset(&s, 0, sizeof s);
    bounded();
    CHECK_EQ(rm_ask(r, T_STATS, &s, sizeof s), 0);
    return s;
}

/* A connect message of `total` bytes, path_len `plen` (the path 'a's and, if `nul`, a NUL
 * at its end), extra_len `elen`; the extra part (if any) is `extra`.  `buf` has room for
 * at least a struct rm_connect. */
static size_t connect_msg(char *buf, size_t total, unsigned subtype, int id, size_t plen, int nul, size_t elen,
                          const void *extra, size_t extra_size)
{
    struct _io_connect *c = (struct _io_connect *)buf;
    memset(buf, 0, total);
    rm_connect_init((struct rm_connect *)buf, id, subtype, _IO_FLAG_RD | _IO_FLAG_WR);
    c->path_len = (uint16_t)plen;
    c->extra_len = (uint16_t)elen;
    size_t head = offsetof(struct _io_connect, path);
    size_t room = total > head ? total - head : 0;
    memset(c->path, 'a', plen < room ? plen : room);
    if (nul && plen > 0 && plen <= room)
        c->path[plen - 1] = '\0';
    size_t after = (head + plen + 7) & ~(size_t)7;
    if (extra && after + extra_size <= total)
        memcpy(buf + after, extra, extra_size);
    return total;
}

/* open() as an honest client: read and write. */
static int open_rw(const struct rm *r)
{
    bounded();
    return rm_open(r, _IO_FLAG_RD | _IO_FLAG_WR);
}

/* One honest round: open, write, read, stat, close, each checked. 0 if all went right. */
static int honest_round(const struct rm *r)
{
    char buf[8];
    int coid = open_rw(r);
    if (coid == -1) {
        FAIL("honest open: %s", h_errname(errno));
        return -1;
    }
    int bad = 0;
    bounded();
    long n = rm_write(coid, 5, "hello", 5);
    if (n != 5)
        bad = 1, FAIL("honest write: %ld (%s)", n, h_errname(errno));
    bounded();
    if ((n = rm_read(coid, 64, buf, sizeof buf)) != 3 || memcmp(buf, "abc", 3) != 0)
        bad = 1, FAIL("honest read: %ld (%s)", n, h_errname(errno));
    struct stat sb;
    bounded();
    if (rm_stat(coid, &sb) != 0 || !S_ISCHR(sb.st_mode))
        bad = 1, FAIL("honest stat: %s", h_errname(errno));
    bounded();
    if (rm_simple(coid, _IO_CLOSE) != 0)
        bad = 1, FAIL("honest close: %s", h_errname(errno));
    ConnectDetach(coid);
    return bad ? -1 : 0;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A length near an edge: tiny, around the receive buffer, or anything up to past it. */
static size_t nasty_len(uint64_t *x, size_t max)
{
    static const size_t edges[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 24, 39, 40, 41, 47, 48};
    uint64_t r = splitmix(x);
    switch (r % 3) {
    case 0:
        return edges[(r >> 8) % (sizeof edges / sizeof edges[0])];
    case 1:
        return RM_BUF - 64 + (size_t)((r >> 8) % 128);
    default:
        return (size_t)((r >> 8) % max);
    }
}

/* The flood: every kind of malformed message, as another user, until `seconds` pass. */
static int flood(int rd, int wr, void *arg)
{
    (void)rd, (void)wr;
    const struct rm *r = arg;
    if (h_become(UID_HOSTILE) != 0)
        return 1;
    static char buf[RM_BUF + 256];
    uint64_t x = (uint64_t)getpid();
    long long end = h_now_ms() + (long long)(h_hostile_seconds(1.5) * 1000);
    int open = -1, plain = rm_attach(r);
    if (plain == -1)
        return 1;
    while (h_now_ms() < end) {
        if (open == -1)
            open = open_rw(r);
        uint64_t k = splitmix(&x);
        size_t total = nasty_len(&x, sizeof buf) + 2;
        if (total > sizeof buf)
            total = sizeof buf;
        int coid = (k >> 4) % 2 ? plain : (open == -1 ? plain : open);
        switch (k % 6) {
        case 0: { /* a connect message of any shape, a combine chain after it */
            struct _io_combine chain[4];
            for (int i = 0; i < 4; i++) {
                chain[i].type = (uint16_t)(_IO_BASE + splitmix(&x) % 0x22);
                chain[i].combine_len = (uint16_t)(splitmix(&x) % 3 ? _IO_COMBINE_FLAG | (splitmix(&x) % 24) : 8);
            }
            size_t plen = nasty_len(&x, 0x10000);
            size_t elen = splitmix(&x) % 2 ? sizeof chain : nasty_len(&x, 0x10000);
            connect_msg(buf, total, (unsigned)(splitmix(&x) % 10), r->id, plen, (int)(splitmix(&x) % 2), elen,
                        chain, sizeof chain);
            break;
        }
        case 1: /* any I/O message: random bytes after the type */
        case 2: {
            for (size_t i = 0; i < total; i++)
                buf[i] = (char)splitmix(&x);
            struct _io_combine *m = (struct _io_combine *)buf;
            m->type = (uint16_t)(_IO_BASE + 1 + splitmix(&x) % 0x21);
            if (k % 3 == 0)
                m->combine_len = (uint16_t)(splitmix(&x) % 64);
            if (m->type == _IO_READ && total >= sizeof(struct _io_read))
                ((struct _io_read *)buf)->nbytes = 64; /* not the held read */
            break;
        }
        case 3: { /* a chain of combined messages filling the buffer to its end */
            size_t at = 0;
            while (at + 24 <= total) {
                struct _io_devctl *d = (struct _io_devctl *)(buf + at);
                memset(d, 0, sizeof *d + 4);
                d->type = _IO_DEVCTL;
                d->combine_len = (uint16_t)(_IO_COMBINE_FLAG | (sizeof *d + 4));
                d->dcmd = DCMD_ALL_SETFLAGS;
                d->nbytes = 4;
                at += sizeof *d + 4;
            }
            struct _io_stat *s = (struct _io_stat *)(buf + (at < total ? at : total - 2));
            s->type = _IO_STAT;
            if ((char *)s + 4 <= buf + total)
                s->combine_len = sizeof *s;
            break;
        }
        case 4: { /* _IO_DUP naming anything, _IO_CLOSE */
            io_dup_t *d = (io_dup_t *)buf;
            memset(d, 0, sizeof *d);
            d->i.type = splitmix(&x) % 2 ? _IO_DUP : _IO_CLOSE;
            d->i.combine_len = sizeof d->i;
            d->i.info.pid = (pid_t)(splitmix(&x) % 2 ? r->pid : getpid());
            d->i.info.chid = r->chid;
            d->i.info.scoid = (int)(splitmix(&x) % 16);
            d->i.info.coid = (int)(splitmix(&x) % 8);
            d->i.key = (uint32_t)splitmix(&x);
            total = total < sizeof d->i ? total : sizeof d->i;
            break;
        }
        default: /* the kernel's pulse codes, with any value */
            MsgSendPulse(coid, -1, (int)(int8_t)(splitmix(&x) | 0x80), (int)splitmix(&x));
            continue;
        }
        char reply[256];
        bounded();
        long n = MsgSend(coid, buf, total, reply, sizeof reply);
        if (n == -1 && errno != EBADMSG && errno != EBADF && errno != ENOSYS && errno != ENOENT &&
            errno != EINVAL && errno != EBUSY && errno != EPERM && errno != EACCES && errno != ETIMEDOUT &&
            errno != EINTR && errno != ENOMEM && errno != EFAULT)
            FAIL("hostile message %u: %s", (unsigned)(k % 6), h_errname(errno));
        if (n == -1 && coid == open && errno == EBADF) {
            ConnectDetach(open); /* a close in the chain ended its OCB */
            open = -1;
        }
    }
    return 0;
}

/* ---- the cases ------------------------------------------------------------------------- */

TEST(malformed_messages_are_refused_and_honest_clients_served)
{
    H_NEED_ROOT();
    struct rm r = rm_start("rm_server", "");
    REQUIRE(r.id >= 0);
    static char buf[RM_BUF + 64];
    int coid = rm_attach(&r), open = open_rw(&r);
    REQUIRE(coid != -1 && open != -1);
    size_t head = offsetof(struct _io_connect, path);
    /* A path without its NUL, past the message, or extra past it. */
    size_t n = connect_msg(buf, head + 8, _IO_CONNECT_OPEN, r.id, 8, 0, 0, NULL, 0);
    CHECK_ERR(MsgSend(coid, buf, n, NULL, 0), EBADMSG);
    n = connect_msg(buf, head + 8, _IO_CONNECT_OPEN, r.id, 9, 1, 0, NULL, 0);
    CHECK_ERR(MsgSend(coid, buf, n, NULL, 0), EBADMSG);
    n = connect_msg(buf, head + 8, _IO_CONNECT_OPEN, r.id, 0, 0, 0, NULL, 0);
    CHECK_ERR(MsgSend(coid, buf, n, NULL, 0), EBADMSG);
    n = connect_msg(buf, head + 16, _IO_CONNECT_COMBINE_CLOSE, r.id, 2, 1, 64, NULL, 0);
    CHECK_ERR(MsgSend(coid, buf, n, NULL, 0), EBADMSG);
    /* A path as long as the whole buffer, no NUL in it. */
    n = connect_msg(buf, RM_BUF, _IO_CONNECT_OPEN, r.id, RM_BUF - head, 0, 0, NULL, 0);
    CHECK_ERR(MsgSend(coid, buf, n, NULL, 0), EBADMSG);
    /* stat()'s combine with its _IO_STAT in the last 8 bytes of the buffer: the reply is
     * built in place, past what came (under ASan, outside the buffer would end the server). */
    struct _io_stat s = {.type = _IO_STAT, .combine_len = sizeof s};
    size_t plen = RM_BUF - sizeof s - head;
    n = connect_msg(buf, RM_BUF, _IO_CONNECT_COMBINE_CLOSE, r.id, plen, 1, sizeof s, &s, sizeof s);
    struct stat sb;
    CHECK_EQ(MsgSend(coid, buf, n, &sb, sizeof sb), 0);
    CHECK(S_ISCHR(sb.st_mode));
    /* I/O messages shorter than their header; a write claiming more than it sent. */
    struct _io_combine lseek4 = {_IO_LSEEK, 4};
    CHECK_ERR(MsgSend(open, &lseek4, sizeof lseek4, NULL, 0), EBADMSG);
    struct _io_read read12 = {.type = _IO_READ, .combine_len = 12, .nbytes = 64, .xtype = _IO_XTYPE_OFFSET};
    CHECK_ERR(MsgSend(open, &read12, sizeof read12, buf, 8), EBADMSG);
    bounded();
    CHECK_ERR(rm_write(open, 1u << 30, "12345678", 8), EBADMSG);
    bounded();
    CHECK_ERR(rm_write(open, 9, "12345678", 8), EBADMSG);
    bounded();
    CHECK_EQ(rm_write(open, 8, "12345678", 8), 8);
    /* _IO_DUP and _IO_OPENFD cut short. */
    struct _io_combine dup4 = {_IO_DUP, 4};
    CHECK_ERR(MsgSend(coid, &dup4, sizeof dup4, NULL, 0), EBADMSG);
    ConnectDetach(open);
    ConnectDetach(coid);

    /* Then the flood, an honest client beside it. */
    struct h_proc hostile = h_spawn(flood, &r);
    long long end = h_now_ms() + (long long)(h_hostile_seconds(1.5) * 1000);
    int rounds = 0;
    while (h_now_ms() < end && honest_round(&r) == 0)
        rounds++;
    CHECK_CHILD_OK(hostile.pid, (int)(h_hostile_seconds(1.5) * 1000) + 10000);
    h_close_proc(&hostile);
    CHECK(rounds > 0);
    CHECK_EQ(honest_round(&r), 0);
    CHECK_EQ(kill(r.proc.pid, 0), 0);
    h_kill(r.proc.pid);
}

static int forge_unblock(int rd, int wr, void *arg)
{
    (void)rd, (void)wr;
    const struct rm *r = arg;
    int coid = rm_attach(r);
    if (coid == -1)
        return 1;
    struct stats s = rm_stats(r);
    for (int i = 0; i < 50; i++)
        MsgSendPulse(coid, -1, _PULSE_CODE_UNBLOCK, s.held_rcvid);
    MsgSendPulse(coid, -1, _PULSE_CODE_DISCONNECT, 0);
    return 0;
}

static int held_coid;
static atomic_int held_result = -2;

static void *held_reader(void *arg)
{
    (void)arg;
    char buf[8];
    uint64_t ns = 1500 * 1000000ull;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    long n = rm_read(held_coid, 1, buf, sizeof buf);
    atomic_store(&held_result, n == -1 ? errno : 0);
    return NULL;
}

TEST(a_forged_unblock_pulse_leaves_another_client_blocked)
{
    struct rm r = rm_start("rm_server", "");
    REQUIRE(r.id >= 0);
    held_coid = open_rw(&r);
    REQUIRE(held_coid != -1);
    pthread_t t = h_thread(held_reader, NULL);
    long long dl = h_now_ms() + 2000;
    while (rm_stats(&r).held_rcvid == 0 && h_now_ms() < dl)
        h_sleep_ms(5);
    REQUIRE(rm_stats(&r).held_rcvid != 0);
    long long t0 = h_now_ms();
    struct h_proc forger = h_spawn(forge_unblock, &r);
    CHECK_CHILD_OK(forger.pid, 5000);
    h_close_proc(&forger);
    h_sleep_ms(200);
    CHECK_EQ(rm_stats(&r).unblocks, 0);
    CHECK_EQ(atomic_load(&held_result), -2); /* still blocked */
    /* Its own timeout unblocks it, through the unblock handler. */
    pthread_join(t, NULL);
    CHECK(h_now_ms() - t0 < 3000);
    CHECK(atomic_load(&held_result) == ETIMEDOUT || atomic_load(&held_result) == EINTR);
    CHECK_EQ(rm_stats(&r).unblocks, 1);
    CHECK_EQ(honest_round(&r), 0);
    h_kill(r.proc.pid);
}

/* ---- through the path bridge ------------------------------------------------------------- */

static int send_dup(const struct neutrino_bind *b, uint32_t key)
{
    int coid = ConnectAttach(0, b->pid, b->chid, _NTO_SIDE_CHANNEL, 0);
    if (coid == -1)
        return -errno;
    io_dup_t d;
    memset(&d, 0, sizeof d);
    d.i.type = _IO_DUP;
    d.i.combine_len = sizeof d.i;
    d.i.info.pid = b->pid;
    d.i.info.chid = b->chid;
    d.i.info.scoid = b->scoid;
    d.i.info.coid = b->coid;
    d.i.key = key;
    bounded();
    int rc = MsgSend(coid, &d.i, sizeof d.i, NULL, 0) == -1 ? -errno : 0;
    ConnectDetach(coid);
    return rc;
}

/* Another process redeems the allowance (its uid in arg): refused, key right or wrong. */
static int redeem(int rd, int wr, void *arg)
{
    struct neutrino_bind b;
    uid_t uid = (uid_t)(uintptr_t)arg;
    if (h_become(uid) != 0)
        return 1;
    for (int i = 0; i < 6; i++)
        ((int32_t *)&b)[i] = (int32_t)h_get(rd, 5000);
    CHECK_EQ(send_dup(&b, b.key), -EBADF);
    for (uint32_t k = 1; k < 200; k++)
        CHECK_EQ(send_dup(&b, b.key + k), -EBADF);
    h_put(wr, 1);
    return 0;
}

static char *temp_dir(char *dir)
{
    char *d = mkdtemp(dir);
    if (d)
        chmod(d, 0755);
    return d;
}

TEST(the_bind_allowance_is_the_callers_process_alone)
{
    RM_NEED_ROOT_AND_FUSE();
    char dir[] = "/tmp/ln_hostile_rm_XXXXXX", path[64];
    REQUIRE(temp_dir(dir) != NULL);
    snprintf(path, sizeof path, "%s/dev", dir);
    struct rm r = rm_start("rm_server", path);
    REQUIRE_EQ(r.id, 0);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    for (int u = 0; u < 2; u++) {
        struct neutrino_bind b;
        REQUIRE_EQ(ioctl(fd, NEUTRINO_IOC_BIND, &b), 0);
        struct h_proc p = h_spawn(redeem, (void *)(uintptr_t)(u ? UID_HOSTILE : 0));
        for (int i = 0; i < 6; i++)
            h_put(p.wr, ((int32_t *)&b)[i]);
        CHECK_EQ(h_get(p.rd, 20000), 1);
        CHECK_CHILD_OK(p.pid, 5000);
        h_close_proc(&p);
        /* Still ours, once. */
        CHECK_EQ(send_dup(&b, b.key), 0);
        CHECK_EQ(send_dup(&b, b.key), -EBADF);
    }
    /* Asked in a loop, the allowances stay few and the last ones work. */
    struct neutrino_bind b;
    for (int i = 0; i < 2000; i++)
        REQUIRE_EQ(ioctl(fd, NEUTRINO_IOC_BIND, &b), 0);
    CHECK_EQ(send_dup(&b, b.key), 0);
    /* MsgSend(fd) still works through the bridge. */
    char got[8];
    struct _io_read m = {.type = _IO_READ, .combine_len = sizeof m, .nbytes = 64};
    CHECK_EQ(MsgSend(fd, &m, sizeof m, got, sizeof got), 3);
    CHECK(memcmp(got, "abc", 3) == 0);
    close(fd);
    h_kill(r.proc.pid);
    h_sleep_ms(100);
    rmdir(path);
    unlink(path);
    rmdir(dir);
}

/* A third party: a plain server that says yes to everything, counting what it gets. */
static int yes_server(int rd, int wr, void *arg)
{
    (void)rd, (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    char buf[512];
    for (;;) {
        int rcvid = MsgReceive(chid, buf, sizeof buf, NULL);
        if (rcvid == -1 && errno != EINTR)
            return 1;
        if (rcvid > 0) {
            h_put(wr, *(uint16_t *)buf);
            MsgReply(rcvid, EOK, NULL, 0);
        }
    }
}

/* A FUSE file system of another user: one file, whose NEUTRINO_IOC_BIND names the third
 * party (arg: its pid and chid). */
static void fuse_answer(int dev, uint64_t unique, int error, const void *arg, size_t len)
{
    struct fuse_out_header h = {.len = (uint32_t)(sizeof h + len), .error = error, .unique = unique};
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)arg, len}};
    if (writev(dev, iov, len ? 2 : 1) == -1 && errno != ENOENT)
        _exit(1);
}

static void hostile_fuse(int dev, int pid, int chid)
{
    static char buf[FUSE_MIN_READ_BUFFER + 128 * 1024];
    for (;;) {
        ssize_t n = read(dev, buf, sizeof buf);
        struct fuse_in_header *in = (struct fuse_in_header *)buf;
        if (n < (ssize_t)sizeof *in) {
            if (n == -1 && (errno == EINTR || errno == ENOENT))
                continue;
            _exit(0);
        }
        switch (in->opcode) {
        case FUSE_INIT: {
            struct fuse_init_out out = {.major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
                                        .max_write = 4096};
            fuse_answer(dev, in->unique, 0, &out, sizeof out);
            break;
        }
        case FUSE_GETATTR: {
            struct fuse_attr_out out = {.attr = {.ino = 1, .mode = S_IFREG | 0666, .nlink = 1}};
            fuse_answer(dev, in->unique, 0, &out, sizeof out);
            break;
        }
        case FUSE_OPEN: {
            struct fuse_open_out out = {.fh = 1, .open_flags = FOPEN_DIRECT_IO};
            fuse_answer(dev, in->unique, 0, &out, sizeof out);
            break;
        }
        case FUSE_IOCTL: {
            struct {
                struct fuse_ioctl_out o;
                struct neutrino_bind b;
            } out;
            memset(&out, 0, sizeof out);
            out.b = (struct neutrino_bind){.pid = pid, .chid = chid, .scoid = 1, .coid = 1, .key = 7, .open = 1};
            fuse_answer(dev, in->unique, 0, &out, sizeof out);
            break;
        }
        case FUSE_FLUSH:
        case FUSE_RELEASE:
            fuse_answer(dev, in->unique, 0, NULL, 0);
            break;
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_INTERRUPT:
            break;
        case FUSE_DESTROY:
            _exit(0);
        default:
            fuse_answer(dev, in->unique, -ENOSYS, NULL, 0);
        }
    }
}

TEST(a_hostile_file_system_cannot_aim_msgsend_at_a_third_party)
{
    RM_NEED_ROOT_AND_FUSE();
    struct h_proc third = h_spawn(yes_server, NULL);
    int chid = (int)h_get(third.rd, 5000);
    char dir[] = "/tmp/ln_hostile_fs_XXXXXX", path[64], opts[128];
    REQUIRE(temp_dir(dir) != NULL);
    snprintf(path, sizeof path, "%s/file", dir);
    close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666));
    int dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    REQUIRE(dev >= 0);
    /* What fusermount3 makes for a user: the mount is theirs (user_id). */
    snprintf(opts, sizeof opts, "fd=%d,rootmode=100000,user_id=%d,group_id=%d,allow_other", dev, UID_HOSTILE,
             UID_HOSTILE);
    REQUIRE_OK(mount("hostile", path, "fuse.hostile", MS_NOSUID | MS_NODEV, opts));
    pid_t fs = h_fork();
    if (fs == 0) {
        if (h_become(UID_HOSTILE) != 0)
            _exit(1);
        hostile_fuse(dev, third.pid, chid);
    }
    close(dev);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    if (fd >= 0) {
        struct neutrino_bind b;
        CHECK_EQ(ioctl(fd, NEUTRINO_IOC_BIND, &b), 0);
        CHECK_EQ(b.pid, third.pid); /* the file system says what it likes */
        char answer[8];
        uint16_t msg[4] = {0x7777};
        CHECK_ERR(MsgSend(fd, msg, sizeof msg, answer, sizeof answer), EBADF);
        close(fd);
    }
    /* The third party heard nothing. */
    long long v;
    CHECK(h_try_get(third.rd, &v, 200) != 0);
    umount2(path, MNT_DETACH);
    h_wait(fs, 2000);
    h_kill(third.pid);
    unlink(path);
    rmdir(dir);
}

TEST(root_does_not_mount_through_a_planted_symlink)
{
    RM_NEED_ROOT_AND_FUSE();
    char dir[] = "/tmp/ln_hostile_mnt_XXXXXX", theirs[80], victim[80], path[96];
    REQUIRE(temp_dir(dir) != NULL);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(theirs, sizeof theirs, "%s/theirs", dir);
    int v = open(victim, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    REQUIRE(v >= 0);
    REQUIRE_EQ(write(v, "victim\n", 7), 7);
    close(v);
    /* A directory of another user's, where root attaches a path; they plant a symlink. */
    REQUIRE_OK(mkdir(theirs, 0755));
    REQUIRE_OK(chown(theirs, UID_HOSTILE, UID_HOSTILE));
    snprintf(path, sizeof path, "%s/dev", theirs);
    pid_t p = h_fork();
    if (p == 0) {
        if (h_become(UID_HOSTILE) != 0 || symlink(victim, path) != 0)
            h_child_exit(1);
        h_child_exit(0);
    }
    CHECK_CHILD_OK(p, 5000);
    struct rm r = rm_start("rm_server", path);
    CHECK_EQ(r.id, -ELOOP);
    char got[16] = {0};
    int fd = open(victim, O_RDONLY);
    REQUIRE(fd >= 0);
    CHECK_EQ(read(fd, got, sizeof got), 7);
    CHECK(memcmp(got, "victim\n", 7) == 0);
    close(fd);
    CHECK_EQ(h_wait(r.proc.pid, 5000), 0);
    struct stat sb;
    CHECK_OK(lstat(path, &sb));
    CHECK(S_ISLNK(sb.st_mode)); /* theirs, left alone */
    unlink(path);
    rmdir(theirs);
    unlink(victim);
    rmdir(dir);
}

HARNESS_MAIN
