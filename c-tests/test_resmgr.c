/*
 * test_resmgr.c - the resource-manager layer: a resource manager in its own process
 * (resmgr_attach with RESMGR_FLAG_ATTACH_LOCAL, reachable by message only; the path
 * bridge is the FUSE tests'), in QNX's extended-structure idiom (IOFUNC_OCB_T/ATTR_T
 * embedding QNX's, a mount whose ocb_calloc/ocb_free make them), driven by clients that
 * send what QNX's libc sends for open, read, write, stat, devctl, lseek, close, dup and
 * stat()'s combine message.  Covered: every handler return form, a reply from another
 * thread and out of order, the unblock path, a client killed mid-read (its disconnect
 * runs close_ocb), EBADF without an OCB, ENOSYS for unknown types, a thread pool.
 */
struct my_attr;
struct my_ocb;
#define IOFUNC_ATTR_T struct my_attr
#define IOFUNC_OCB_T struct my_ocb
#include "harness.h"
#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <devctl.h>
#include "resmgr_client.h"

struct my_attr {
    iofunc_attr_t attr; /* QNX's part first */
    int serial;
    iofunc_notify_t notify[3]; /* select/ionotify, the QNX way */
    int pending;               /* bytes T_FEED made "available" */
};

struct my_ocb {
    iofunc_ocb_t ocb; /* QNX's part first */
    int magic;
};

#define MAGIC 0x51ab
#define T_STATS 0x5000 /* a message_attach()ed type: the counters below */
#define T_FEED 0x5001  /* makes a byte available to read: notifies the armed clients */

/* The read handler's behaviour, chosen by the client's nbytes. */
enum { R_NPARTS = 1, R_ERRNO, R_LATER, R_DEFAULT, R_HOLD, R_STATUS, R_SLOW, R_MAGIC };

struct stats {
    int32_t ocbs, freed, closes, unblocks, busiest;
};

static struct stats st;
static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rm_counters counters = {&st_lock, &st, sizeof st};
static pthread_cond_t later_cv = PTHREAD_COND_INITIALIZER;
static int later_rcvid; /* R_LATER's held client, for the replier thread */
static int running;     /* R_SLOW handlers at once */
static resmgr_connect_funcs_t cfuncs;
static resmgr_io_funcs_t iofuncs;
static iofunc_mount_t mount;
static iofunc_funcs_t mount_funcs;
static struct my_attr dev;

static void bump(int32_t *v, int by)
{
    pthread_mutex_lock(&st_lock);
    *v += by;
    pthread_mutex_unlock(&st_lock);
}

static struct my_ocb *my_calloc(resmgr_context_t *ctp, struct my_attr *attr)
{
    (void)ctp, (void)attr;
    struct my_ocb *o = calloc(1, sizeof *o);
    if (o)
        o->magic = MAGIC;
    bump(&st.ocbs, 1);
    return o;
}

static void my_free(struct my_ocb *ocb)
{
    bump(&st.freed, 1);
    free(ocb);
}

static int my_read(resmgr_context_t *ctp, io_read_t *msg, struct my_ocb *ocb)
{
    static char abc[] = "abc";
    switch (msg->i.nbytes) {
    case R_NPARTS:
        SETIOV(ctp->iov, abc, 3);
        _IO_SET_READ_NBYTES(ctp, 3);
        return _RESMGR_NPARTS(1);
    case R_ERRNO:
        return _RESMGR_ERRNO(EIO);
    case R_LATER:
        pthread_mutex_lock(&st_lock);
        later_rcvid = ctp->rcvid;
        pthread_cond_signal(&later_cv);
        pthread_mutex_unlock(&st_lock);
        return _RESMGR_NOREPLY;
    case R_DEFAULT:
        return _RESMGR_DEFAULT;
    case R_HOLD:
        return _RESMGR_NOREPLY; /* until the client unblocks or dies */
    case R_STATUS:
        _IO_SET_READ_NBYTES(ctp, 66);
        return EOK;
    case R_SLOW: {
        pthread_mutex_lock(&st_lock);
        if (++running > st.busiest)
            st.busiest = running;
        pthread_mutex_unlock(&st_lock);
        h_sleep_ms(200);
        bump(&running, -1);
        return _RESMGR_PTR(ctp, abc, 1);
    }
    case R_MAGIC:
        return _RESMGR_PTR(ctp, &ocb->magic, sizeof ocb->magic);
    default:
        return iofunc_read_default(ctp, msg, &ocb->ocb);
    }
}

/* Input holds while T_FEED's bytes wait; output always. */
static int my_notify(resmgr_context_t *ctp, io_notify_t *msg, struct my_ocb *ocb)
{
    (void)ocb;
    int trig = _NOTIFY_COND_OUTPUT | (dev.pending ? _NOTIFY_COND_INPUT : 0);
    return iofunc_notify(ctp, msg, dev.notify, trig, NULL, NULL);
}

static int on_feed(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)code, (void)flags, (void)handle;
    iofunc_attr_lock(&dev.attr);
    dev.pending++;
    if (IOFUNC_NOTIFY_INPUT_CHECK(dev.notify, dev.pending, 0))
        iofunc_notify_trigger(dev.notify, dev.pending, IOFUNC_NOTIFY_INPUT);
    iofunc_attr_unlock(&dev.attr);
    MsgReply(ctp->rcvid, EOK, NULL, 0);
    return 0;
}

static int my_close_ocb(resmgr_context_t *ctp, void *reserved, struct my_ocb *ocb)
{
    iofunc_notify_remove(ctp, dev.notify);
    bump(&st.closes, 1);
    return iofunc_close_ocb_default(ctp, reserved, &ocb->ocb);
}

static int my_unblock(resmgr_context_t *ctp, io_pulse_t *msg, struct my_ocb *ocb)
{
    bump(&st.unblocks, 1);
    return iofunc_unblock_default(ctp, msg, &ocb->ocb);
}

/* R_LATER's replies come from here, 100 ms after the handler returned. */
static void *replier(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&st_lock);
        while (!later_rcvid)
            pthread_cond_wait(&later_cv, &st_lock);
        int rcvid = later_rcvid;
        later_rcvid = 0;
        pthread_mutex_unlock(&st_lock);
        h_sleep_ms(100);
        MsgReply(rcvid, 4, "late", 4);
    }
    return NULL;
}

/* The resource manager: "pool" runs a thread pool with lock_ocb off (handlers on one
 * attribute run at once), "pool-locked" one with QNX's default (they take turns), anything
 * else one dispatch loop.
 * Tells the test its pid, channel and attachment id. */
HELPER(resmgr_server)
{
    (void)rd;
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    name_attach_t *name = name_attach(dpp, "neutrino-test/resmgr", 0); /* for its chid */
    REQUIRE(name != NULL);
    resmgr_attr_t rattr;
    memset(&rattr, 0, sizeof rattr);
    rattr.flags = RESMGR_FLAG_ATTACH_LOCAL;
    rattr.nparts_max = 2;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &cfuncs, _RESMGR_IO_NFUNCS, &iofuncs);
    iofuncs.read = my_read;
    iofuncs.close_ocb = my_close_ocb;
    iofuncs.unblock = my_unblock;
    iofuncs.notify = my_notify;
    IOFUNC_NOTIFY_INIT(dev.notify);
    mount_funcs.nfuncs = _IOFUNC_NFUNCS;
    mount_funcs.ocb_calloc = my_calloc;
    mount_funcs.ocb_free = my_free;
    mount.funcs = &mount_funcs;
    iofunc_attr_init(&dev.attr, S_IFCHR | 0666, NULL, NULL);
    dev.attr.mount = &mount;
    dev.attr.inode = 77;
    int id = resmgr_attach(dpp, &rattr, NULL, _FTYPE_ANY, 0, &cfuncs, &iofuncs, &dev);
    REQUIRE(id >= 0);
    rm_serve_counters(dpp, T_STATS, &counters);
    REQUIRE(message_attach(dpp, NULL, T_FEED, T_FEED, on_feed, NULL) == 0);
    pthread_t t;
    REQUIRE_EQ(pthread_create(&t, NULL, replier, NULL), 0);
    h_put(wr, getpid());
    h_put(wr, name->chid);
    h_put(wr, id);
    if (strcmp(arg, "pool") == 0)
        iofuncs.lock_ocb = iofuncs.unlock_ocb = NULL;
    if (strncmp(arg, "pool", 4) == 0) {
        thread_pool_attr_t pa;
        memset(&pa, 0, sizeof pa);
        pa.handle = dpp;
        pa.context_alloc = resmgr_context_alloc;
        pa.block_func = resmgr_block;
        pa.handler_func = resmgr_handler;
        pa.context_free = resmgr_context_free;
        pa.lo_water = 2;
        pa.increment = 1;
        pa.hi_water = 4;
        pa.maximum = 6;
        /* Not POOL_FLAG_USE_SELF: a main thread that pthread_exit()s when the pool shrinks
         * confuses AddressSanitizer; this one joins in with a loop of its own. */
        thread_pool_t *pool = thread_pool_create(&pa, 0);
        REQUIRE(pool != NULL);
        REQUIRE_OK(thread_pool_start(pool));
    }
    rm_dispatch_forever(dpp);
}

/* ---- the client side ------------------------------------------------------------------ */

static struct rm start(const char *mode)
{
    return rm_start("resmgr_server", mode);
}

static struct stats rm_stats(const struct rm *r)
{
    struct stats s;
    REQUIRE_EQ(rm_ask(r, T_STATS, &s, sizeof s), 0);
    return s;
}

/* Waits until counter `field` of the stats reaches `want` (2 s at most). */
#define AWAIT_STAT(r, field, want)                                              \
    do {                                                                        \
        long long h_dl_ = h_now_ms() + 2000;                                    \
        while (rm_stats(r).field < (want) && h_now_ms() < h_dl_)                \
            h_sleep_ms(5);                                                      \
        CHECK_EQ(rm_stats(r).field, (want));                                    \
    } while (0)

/* ---- the cases ------------------------------------------------------------------------- */

TEST(open_read_write_stat_devctl_lseek_close)
{
    struct rm r = start("");
    char buf[64];
    int coid = rm_open(&r, _IO_FLAG_RD | _IO_FLAG_WR);
    REQUIRE(coid > 0);
    CHECK_EQ(rm_stats(&r).ocbs, 1); /* the mount's ocb_calloc made it */
    int magic = 0;
    CHECK_EQ(rm_read(coid, R_MAGIC, &magic, sizeof magic), 0);
    CHECK_EQ(magic, MAGIC);
    /* write(): header then data; iofunc_write_default takes it all. */
    CHECK_EQ(rm_write(coid, 5, "hello", 5), 5);
    /* stat(): the attribute. */
    struct stat s;
    CHECK_EQ(rm_stat(coid, &s), 0);
    CHECK_EQ(s.st_ino, 77);
    CHECK(S_ISCHR(s.st_mode));
    /* devctl(DCMD_ALL_GETFLAGS): O_RDWR back from the recoded access bits. */
    struct {
        struct _io_devctl i;
        int data;
    } d = {{_IO_DEVCTL, sizeof d.i, DCMD_ALL_GETFLAGS, sizeof(int), 0}, 0};
    struct {
        struct _io_devctl_reply o;
        int flags;
    } dr;
    CHECK_EQ(MsgSend(coid, &d, sizeof d, &dr, sizeof dr), 0);
    CHECK_EQ(dr.flags & O_ACCMODE, O_RDWR);
    /* lseek(fd, 10, SEEK_SET) */
    struct _io_lseek l = {.type = _IO_LSEEK, .combine_len = sizeof l, .whence = SEEK_SET, .offset = 10};
    uint64_t off = 0;
    CHECK_EQ(MsgSend(coid, &l, sizeof l, &off, sizeof off), 0);
    CHECK_EQ(off, 10);
    /* close(): close_dup, then close_ocb with the last binding, and the OCB is freed. */
    CHECK_EQ(rm_simple(coid, _IO_CLOSE), 0);
    CHECK_EQ(rm_stats(&r).closes, 1);
    CHECK_EQ(rm_stats(&r).freed, 1);
    /* The connection has no OCB any more. */
    CHECK_ERR(rm_read(coid, 0, buf, sizeof buf), EBADF);
    CHECK_ERR(rm_simple(coid, _IO_CLOSE), EBADF);
    ConnectDetach(coid);
    h_kill(r.proc.pid);
}

TEST(every_handler_return_form)
{
    struct rm r = start("");
    char buf[16] = {0};
    int coid = rm_open(&r, _IO_FLAG_RD);
    REQUIRE(coid > 0);
    CHECK_EQ(rm_read(coid, R_NPARTS, buf, sizeof buf), 3); /* _RESMGR_NPARTS: iov, status */
    CHECK_MEM(buf, "abc", 3);
    CHECK_ERR(rm_read(coid, R_ERRNO, buf, sizeof buf), EIO);        /* _RESMGR_ERRNO */
    CHECK_ERR(rm_read(coid, R_DEFAULT, buf, sizeof buf), ENOSYS);   /* _RESMGR_DEFAULT */
    CHECK_EQ(rm_read(coid, R_STATUS, buf, sizeof buf), 66);         /* EOK with ctp->status */
    CHECK_EQ(rm_read(coid, R_LATER, buf, sizeof buf), 4);           /* _RESMGR_NOREPLY, replied later */
    CHECK_MEM(buf, "late", 4);
    CHECK_EQ(rm_read(coid, 100, buf, sizeof buf), 0);               /* iofunc_read_default: EOF */
    /* A write on a read-only open: iofunc_write_default's EBADF. */
    CHECK_ERR(rm_write(coid, 0, "", 0), EBADF);
    h_kill(r.proc.pid);
}

static int late_coid;
static atomic_llong late_done_us;

static void *late_reader(void *arg)
{
    char buf[8];
    (void)arg;
    CHECK_EQ(rm_read(late_coid, R_LATER, buf, sizeof buf), 4);
    atomic_store(&late_done_us, h_now_us());
    return NULL;
}

TEST(replies_come_out_of_order)
{
    struct rm r = start("");
    char buf[8];
    late_coid = rm_open(&r, _IO_FLAG_RD);
    REQUIRE(late_coid > 0);
    int coid = rm_open(&r, _IO_FLAG_RD);
    REQUIRE(coid > 0);
    pthread_t t;
    REQUIRE_EQ(pthread_create(&t, NULL, late_reader, NULL), 0);
    h_sleep_ms(30); /* the held read is in */
    CHECK_EQ(rm_read(coid, R_NPARTS, buf, sizeof buf), 3);
    long long now = h_now_us();
    pthread_join(t, NULL);
    CHECK(atomic_load(&late_done_us) > now); /* the first request was answered last */
    h_kill(r.proc.pid);
}

TEST(timeout_while_reply_blocked_reaches_the_unblock_handler)
{
    struct rm r = start("");
    char buf[8];
    int coid = rm_open(&r, _IO_FLAG_RD);
    REQUIRE(coid > 0);
    struct sigevent ev;
    SIGEV_UNBLOCK_INIT(&ev);
    uint64_t ns = 100 * 1000000ull;
    REQUIRE_OK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, &ev, &ns, NULL));
    long long t0 = h_now_ms();
    CHECK_ERR(rm_read(coid, R_HOLD, buf, sizeof buf), EINTR); /* iofunc_unblock_default */
    CHECK(h_now_ms() - t0 < 1500);
    CHECK_EQ(rm_stats(&r).unblocks, 1);
    /* The OCB still works. */
    CHECK_EQ(rm_read(coid, R_NPARTS, buf, sizeof buf), 3);
    h_kill(r.proc.pid);
}

/* A client that opens and then blocks in a read the server never answers. */
HELPER(stuck_reader)
{
    (void)rd;
    struct rm r;
    sscanf(arg, "%d %d %d", &r.pid, &r.chid, &r.id);
    char buf[8];
    int coid = rm_open(&r, _IO_FLAG_RD);
    h_put(wr, coid);
    rm_read(coid, R_HOLD, buf, sizeof buf);
    return 1;
}

TEST(a_client_killed_mid_read_is_closed)
{
    struct rm r = start("");
    char arg[64];
    snprintf(arg, sizeof arg, "%d %d %d", r.pid, r.chid, r.id);
    struct h_proc c = h_exec("stuck_reader", arg);
    CHECK(h_get(c.rd, 5000) > 0);
    h_sleep_ms(50);
    CHECK_EQ(rm_stats(&r).closes, 0);
    h_kill(c.pid);
    AWAIT_STAT(&r, closes, 1); /* the disconnect pulse ended its binding */
    AWAIT_STAT(&r, freed, 1);
    h_kill(r.proc.pid);
}

TEST(combine_close_stat_opens_stats_and_closes)
{
    struct rm r = start("");
    struct rm_connect m;
    int coid = rm_attach(&r);
    REQUIRE(coid != -1);
    rm_connect_init(&m, r.id, _IO_CONNECT_COMBINE_CLOSE, 0);
    m.c.extra_type = _IO_CONNECT_EXTRA_NONE;
    m.c.extra_len = sizeof m.extra.stat;
    m.extra.stat.type = _IO_STAT;
    m.extra.stat.combine_len = sizeof m.extra.stat;
    struct stat s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(MsgSend(coid, &m, sizeof m, &s, sizeof s), 0);
    CHECK_EQ(s.st_ino, 77);
    struct stats now = rm_stats(&r);
    CHECK_EQ(now.ocbs, 1);
    CHECK_EQ(now.closes, 1);
    CHECK_EQ(now.freed, 1);
    /* Nothing stays bound to the connection. */
    char buf[4];
    CHECK_ERR(rm_read(coid, 0, buf, sizeof buf), EBADF);
    ConnectDetach(coid);
    h_kill(r.proc.pid);
}

TEST(refusals_ebadf_enosys_enoent)
{
    struct rm r = start("");
    char buf[4];
    struct rm_connect m;
    int coid = rm_attach(&r);
    REQUIRE(coid != -1);
    CHECK_ERR(rm_read(coid, 0, buf, sizeof buf), EBADF); /* no open on this connection */
    CHECK_ERR(rm_simple(coid, 0x1F0), EBADF);              /* any _IO_* type needs an OCB first */
    CHECK_ERR(rm_simple(coid, 0x7000), ENOSYS);            /* not an _IO_* type, not attached */
    rm_connect_init(&m, r.id, _IO_CONNECT_UNLINK, 0);
    CHECK_ERR(MsgSend(coid, &m, offsetof(struct rm_connect, extra), NULL, 0), ENOSYS);
    rm_connect_init(&m, r.id, _IO_CONNECT_OPEN, _IO_FLAG_RD);
    m.c.handle = (uint32_t)r.id + 5;
    CHECK_ERR(MsgSend(coid, &m, offsetof(struct rm_connect, extra), NULL, 0), ENOENT);
    int open = rm_open(&r, _IO_FLAG_RD);
    REQUIRE(open > 0);
    CHECK_ERR(rm_simple(open, _IO_RSVD_CLOSE_OCB), ENOSYS); /* library callouts are not messages */
    CHECK_ERR(rm_simple(open, _IO_SPACE), ENOSYS);           /* a NULL slot */
    CHECK_ERR(rm_simple(open, 0x1F0), ENOSYS);               /* an _IO_* type nobody knows */
    /* _IO_DUP without the path bridge's allowance: refused. */
    io_dup_t d;
    memset(&d, 0, sizeof d);
    d.i.type = _IO_DUP;
    d.i.combine_len = sizeof d.i;
    d.i.info.pid = getpid();
    d.i.info.chid = r.chid;
    d.i.info.coid = open;
    CHECK_ERR(MsgSend(coid, &d.i, sizeof d.i, NULL, 0), EBADF);
    CHECK_ERR(rm_read(coid, 0, buf, sizeof buf), EBADF);
    h_kill(r.proc.pid);
}

static struct rm pool_rm;

static void *slow_reader(void *arg)
{
    char buf[4];
    int coid = rm_open(&pool_rm, _IO_FLAG_RD);
    (void)arg;
    CHECK(coid > 0);
    CHECK_EQ(rm_read(coid, R_SLOW, buf, sizeof buf), 0);
    return NULL;
}

/* Four clients reading at once from a pool server; how many ran at the same time. */
static int pool_busiest(const char *mode, long long *ms)
{
    pool_rm = start(mode);
    pthread_t t[4];
    long long t0 = h_now_ms();
    for (int i = 0; i < 4; i++)
        REQUIRE_EQ(pthread_create(&t[i], NULL, slow_reader, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    *ms = h_now_ms() - t0;
    struct stats s = rm_stats(&pool_rm);
    CHECK_EQ(s.ocbs, 4);
    h_kill(pool_rm.proc.pid);
    return s.busiest;
}

TEST(a_thread_pool_serves_clients_in_parallel)
{
    long long ms;
    CHECK(pool_busiest("pool", &ms) >= 2);
    CHECK(ms < 700); /* 4 x 200 ms, not one after the other */
}

TEST(lock_ocb_serializes_handlers_on_one_attribute)
{
    long long ms;
    CHECK_EQ(pool_busiest("pool-locked", &ms), 1);
    CHECK(ms >= 780);
}

/* ionotify() against an io_notify handler built on iofunc_notify(): a poll reports the
 * conditions that hold; an arm with none holding delivers the client's pulse once, when
 * the server triggers; CONDARM says EAGAIN when it arms; a closed client is forgotten. */
TEST(ionotify_polls_arms_and_is_notified_once)
{
    struct rm r = start("");
    int coid = rm_open(&r, _IO_FLAG_RD);
    REQUIRE(coid != -1);
    int chid = ChannelCreate(0), self = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(self != -1);
    struct sigevent ev;
    SIGEV_PULSE_INIT(&ev, self, SIGEV_PULSE_PRIO_INHERIT, 33, 77);
    CHECK_EQ(ionotify(coid, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT, NULL),
             _NOTIFY_COND_OUTPUT);
    CHECK_EQ(ionotify(coid, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT, &ev), 0); /* armed */
    REQUIRE_EQ(rm_ask(&r, T_FEED, NULL, 0), 0);
    struct _pulse p;
    uint64_t ns = 2000000000ull;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    REQUIRE_OK(MsgReceivePulse(chid, &p, sizeof p, NULL));
    CHECK_EQ(p.code, 33);
    CHECK_EQ(p.value.sival_int, 77);
    /* Once: another byte notifies nobody until the client arms again. */
    REQUIRE_EQ(rm_ask(&r, T_FEED, NULL, 0), 0);
    ns = 200000000ull;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    CHECK_ERR(MsgReceivePulse(chid, &p, sizeof p, NULL), ETIMEDOUT);
    /* Input holds now: an arm answers at once and arms nothing. */
    CHECK_EQ(ionotify(coid, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT, &ev), _NOTIFY_COND_INPUT);
    CHECK_EQ(ionotify(coid, _NOTIFY_ACTION_CONDARM, _NOTIFY_COND_INPUT, &ev), _NOTIFY_COND_INPUT);
    CHECK_ERR(ionotify(coid, _NOTIFY_ACTION_CONDARM, _NOTIFY_COND_OBAND, &ev), EAGAIN);
    CHECK_ERR(ionotify(12345, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT, NULL), EBADF);
    CHECK_OK(rm_simple(coid, _IO_CLOSE));
    ConnectDetach(coid);
    ConnectDetach(self);
    ChannelDestroy(chid);
    h_kill(r.proc.pid);
    h_close_proc(&r.proc);
}

HARNESS_MAIN
