/*
 * test_names.c - the name service of <sys/dispatch.h> across real processes (reference
 * §2.7, §2.8, §9): a server written as QNX's documentation shows (name_attach, then a
 * MsgReceive loop switching on pulses, _IO_CONNECT, _IO_BASE.._IO_MAX and its own
 * messages) and clients using name_open / MsgSend / name_close.  Covered: name_open of a
 * local name sends the server nothing, as on QNX (no _IO_CONNECT: servers that ENOSYS
 * unknown types, that are not receiving, or that open each other first all work); the
 * pulses name_attach's channel delivers (DISCONNECT,
 * UNBLOCK, COIDDEATH, and the one-death-channel rule); path rules; names of dead servers
 * vanishing; duplicate attaches (EEXIST); dispatch handles and NAME_FLAG_DETACH_SAVEDPP;
 * and a second user that can open a live name but cannot take it over or shadow it.
 * Also pins the layouts of <sys/iomsg.h> and <sys/dispatch.h>.
 */
#include "harness.h"
#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/ftype.h>
#include <grp.h>

/* ---------------------------------------------------------------------------------- */
/* Layouts (§2.7, §2.8, §15) and values                                                */

#define SA(c) _Static_assert(c, #c)
SA(offsetof(struct _io_connect, type) == 0);
SA(offsetof(struct _io_connect, subtype) == 2);
SA(offsetof(struct _io_connect, file_type) == 4);
SA(offsetof(struct _io_connect, reply_max) == 8);
SA(offsetof(struct _io_connect, entry_max) == 10);
SA(offsetof(struct _io_connect, key) == 12);
SA(offsetof(struct _io_connect, handle) == 16);
SA(offsetof(struct _io_connect, ioflag) == 20);
SA(offsetof(struct _io_connect, mode) == 24);
SA(offsetof(struct _io_connect, sflag) == 28);
SA(offsetof(struct _io_connect, access) == 30);
SA(offsetof(struct _io_connect, dirfd) == 32);
SA(offsetof(struct _io_connect, path_len) == 34);
SA(offsetof(struct _io_connect, eflag) == 36);
SA(offsetof(struct _io_connect, extra_type) == 37);
SA(offsetof(struct _io_connect, extra_len) == 38);
SA(offsetof(struct _io_connect, path) == 40);
SA(sizeof(struct _io_connect) == 40);
SA(sizeof(struct _io_connect_link_reply) == 20);
SA(sizeof(struct _io_connect_entry) == 32);
SA(sizeof(struct _io_connect_ftype_reply) == 8);
SA(sizeof(struct _io_msg) == 8 && __alignof__(struct _io_msg) == 2);
SA(offsetof(struct _io_msg, mgrid) == 4 && offsetof(struct _io_msg, subtype) == 6);
SA(sizeof(struct _io_close) == 4 && sizeof(io_close_t) == 4);
SA(sizeof(struct _io_combine) == 4);
SA(sizeof(struct _io_read) == 16 && sizeof(struct _io_write) == 16);
SA(sizeof(struct _io_devctl) == 16 && sizeof(struct _io_devctl_reply) == 16);
SA(sizeof(struct _io_lseek) == 16 && offsetof(struct _io_lseek, offset) == 8);
SA(sizeof(struct _io_stat) == 8);
SA(sizeof(name_attach_t) == 24 && __alignof__(name_attach_t) == 8);
SA(offsetof(name_attach_t, dpp) == 0 && offsetof(name_attach_t, chid) == 8);
SA(offsetof(name_attach_t, mntid) == 12 && offsetof(name_attach_t, zero) == 16);
SA(_IO_BASE == 0x100 && _IO_MAX == 0x1FF && _IO_CONNECT == 0x100);
SA(_IO_READ == 0x101 && _IO_WRITE == 0x102 && _IO_STAT == 0x104 && _IO_NOTIFY == 0x105);
SA(_IO_DEVCTL == 0x106 && _IO_PATHCONF == 0x108 && _IO_LSEEK == 0x109);
SA(_IO_CHMOD == 0x10A && _IO_CHOWN == 0x10B && _IO_UTIME == 0x10C && _IO_OPENFD == 0x10D);
SA(_IO_FDINFO == 0x10E && _IO_LOCK == 0x10F && _IO_SPACE == 0x110 && _IO_SHUTDOWN == 0x111);
SA(_IO_MMAP == 0x112 && _IO_MSG == 0x113 && _IO_DUP == 0x115 && _IO_CLOSE == 0x116);
SA(_IO_SYNC == 0x119 && _IO_POWER == 0x11A);
SA(_IO_CONNECT_COMBINE == 0 && _IO_CONNECT_COMBINE_CLOSE == 1 && _IO_CONNECT_OPEN == 2);
SA(_IO_CONNECT_UNLINK == 3 && _IO_CONNECT_RENAME == 4 && _IO_CONNECT_MKNOD == 5);
SA(_IO_CONNECT_READLINK == 6 && _IO_CONNECT_LINK == 7 && _IO_CONNECT_MOUNT == 9);
SA(_FTYPE_ANY == 0 && _FTYPE_FILE == 1 && _FTYPE_SHMEM == 5 && _FTYPE_SOCKET == 7);
SA(_FTYPE_MOUNT == 11 && _FTYPE_NAME == 12 && _FTYPE_TYMEM == 13 && _FTYPE_ALL == -1);
SA(_IO_FLAG_RD == 1 && _IO_FLAG_WR == 2);
SA(NAME_FLAG_DETACH_SAVEDPP == 1 && NAME_FLAG_ATTACH_GLOBAL == 2);
SA(_NAME_FLAG_COF_CLOEXEC == 0x10 && _NAME_FLAG_COF_NOEVENT == 0x8000);

/* The prototypes, as QNX declares them. */
static name_attach_t *(*const p_attach)(dispatch_t *, const char *, unsigned) = name_attach;
static int (*const p_detach)(name_attach_t *, unsigned) = name_detach;
static int (*const p_open)(const char *, int) = name_open;
static int (*const p_close)(int) = name_close;
static dispatch_t *(*const p_create)(void) = dispatch_create;
static dispatch_t *(*const p_create_channel)(int, unsigned) = dispatch_create_channel;
static int (*const p_destroy)(dispatch_t *) = dispatch_destroy;

TEST(prototypes_and_values)
{
    CHECK(p_attach && p_detach && p_open && p_close && p_create && p_create_channel && p_destroy);
    /* Message types are 16 bits wide; a server compares them with its message's type. */
    uint16_t t = _IO_MSG;
    CHECK(t > _IO_BASE && t <= _IO_MAX);
}

/* ---------------------------------------------------------------------------------- */
/* The QNX-style server                                                                */

/* An application message: its type is above _IO_MAX, as QNX's documentation advises. */
#define APP_TYPE (_IO_MAX + 1)
enum { OP_ECHO = 1, OP_HOLD, OP_QUIT };
struct app_msg {
    uint16_t type;
    uint16_t subtype;
    int32_t op;
    int32_t value;
};
struct app_reply {
    int32_t value;
    int32_t pid;
};

typedef union {
    uint16_t type;
    struct _pulse pulse;
    struct _io_connect connect;
    struct _io_msg iomsg;
    struct app_msg app;
    char raw[256];
} msg_t;

/* What the server reports to the test, in order. */
enum { EV_DISCONNECT = 1, EV_UNBLOCK, EV_COIDDEATH, EV_PULSE, EV_IOMSG,
       EV_HELD, EV_DEATH_CHANNEL };

/* Serves `att` until OP_QUIT. */
static void serve(name_attach_t *att, int wr)
{
    rcvid_t held = 0;
    for (;;) {
        msg_t msg;
        struct _msg_info info;
        memset(&msg, 0, sizeof msg);
        rcvid_t rcvid = MsgReceive(att->chid, &msg, sizeof msg, &info);
        if (rcvid == -1) {
            FAIL("server: MsgReceive: %s", h_errname(errno));
            return;
        }
        if (rcvid == 0) {
            switch (msg.pulse.code) {
            case _PULSE_CODE_DISCONNECT:
                CHECK_EQ(ConnectDetach(msg.pulse.scoid), 0);
                h_put(wr, EV_DISCONNECT);
                break;
            case _PULSE_CODE_UNBLOCK:
                CHECK_EQ(msg.pulse.value.sival_int, held);
                CHECK_EQ(MsgError(held, EINTR), 0);
                held = 0;
                h_put(wr, EV_UNBLOCK);
                break;
            case _PULSE_CODE_COIDDEATH:
                ConnectDetach(msg.pulse.value.sival_int);
                h_put(wr, EV_COIDDEATH);
                break;
            default:
                h_put(wr, EV_PULSE);
                break;
            }
            continue;
        }
        if (msg.type >= _IO_BASE && msg.type <= _IO_MAX) {
            /* name_open sends nothing: an _IO_CONNECT here would be the library's. */
            CHECK(msg.type != _IO_CONNECT);
            h_put(wr, EV_IOMSG);
            MsgError(rcvid, ENOSYS);
            continue;
        }
        if (msg.type != APP_TYPE) {
            MsgError(rcvid, EINVAL);
            continue;
        }
        struct app_reply rep = {msg.app.value + 1, (int32_t)getpid()};
        switch (msg.app.op) {
        case OP_ECHO:
            MsgReply(rcvid, EOK, &rep, sizeof rep);
            break;
        case OP_HOLD:
            held = rcvid;
            h_put(wr, EV_HELD);
            break;
        default:
            MsgReply(rcvid, EOK, NULL, 0);
            return;
        }
    }
}

struct srv_arg {
    char name[128];
    uid_t uid;
    int peer_chid;   /* > 0: first connect to this channel of the parent */
    int death_first; /* create a death channel of our own before name_attach */
};

/* Runs this process (a fresh fork) as `uid` (0: stays root). */
static int as_user(uid_t uid)
{
    if (uid != 0 && (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 ||
                     setresuid(uid, uid, uid) != 0)) {
        FAIL("cannot become uid %u: %s", (unsigned)uid, h_errname(errno));
        return -1;
    }
    return 0;
}

static void *death_watch(void *arg)
{
    int *a = (int *)arg; /* {chid, wr} */
    struct _pulse p;
    if (MsgReceive(a[0], &p, sizeof p, NULL) == 0 && p.code == _PULSE_CODE_COIDDEATH)
        h_put(a[1], EV_DEATH_CHANNEL);
    return NULL;
}

/* A server process: writes its chid (or -errno), then serves. */
static int server_main(int rd, int wr, void *arg)
{
    (void)rd;
    struct srv_arg *a = (struct srv_arg *)arg;
    if (as_user(a->uid) != 0)
        return 1;
    if (a->peer_chid > 0)
        REQUIRE_OK(ConnectAttach(0, getppid(), a->peer_chid, _NTO_SIDE_CHANNEL, 0));
    static int watch[2];
    if (a->death_first) {
        watch[0] = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_COID_DISCONNECT));
        watch[1] = wr;
        h_thread(death_watch, watch);
    }
    name_attach_t *att = name_attach(NULL, a->name, 0);
    h_put(wr, att ? att->chid : -errno);
    if (!att)
        return 0;
    serve(att, wr);
    CHECK_EQ(name_detach(att, 0), 0);
    return 0;
}

static struct srv_arg named(const char *tag)
{
    struct srv_arg a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "neutrino-test/%d/%s", (int)getpid(), tag);
    return a;
}

static struct h_proc start_server(struct srv_arg *a)
{
    struct h_proc s = h_spawn(server_main, a);
    long long chid = h_get(s.rd, 5000);
    if (chid <= 0) {
        FAIL("server: name_attach(\"%s\") failed: %s", a->name, h_errname((int)-chid));
        h_abort();
    }
    return s;
}

#define EXPECT_EVENT(s, ev) CHECK_EQ(h_get((s).rd, 5000), ev)

/* Expects no event within ms. */
#define EXPECT_QUIET(s, ms)                                                     \
    do {                                                                        \
        long long h_ev_;                                                        \
        if (h_try_get((s).rd, &h_ev_, (ms)) == 0)                               \
            FAIL("unexpected server event %lld", h_ev_);                       \
    } while (0)

static long echo(int coid, int value, struct app_reply *rep)
{
    struct app_msg m = {APP_TYPE, 0, OP_ECHO, value};
    return MsgSend(coid, &m, sizeof m, rep, sizeof *rep);
}

/* Asks the server to quit and waits for it. */
static void stop_server(struct h_proc *s, const char *name)
{
    int coid = name_open(name, 0);
    CHECK(coid != -1);
    if (coid != -1) {
        struct app_msg m = {APP_TYPE, 0, OP_QUIT, 0};
        CHECK_EQ(MsgSend(coid, &m, sizeof m, NULL, 0), 0);
        name_close(coid);
    }
    CHECK_CHILD_OK(s->pid, 5000);
    h_close_proc(s);
}

/* 1 if some process holds the name (the kernel lists its abstract socket). */
static int name_listed(const char *name)
{
    char want[200], line[512];
    snprintf(want, sizeof want, "@neutrino.name/%s\n", name);
    FILE *f = fopen("/proc/net/unix", "r");
    int found = 0;
    if (!f)
        return 0;
    while (!found && fgets(line, sizeof line, f)) {
        size_t n = strlen(line), w = strlen(want);
        found = n >= w && strcmp(line + n - w, want) == 0;
    }
    fclose(f);
    return found;
}

#define CHECK_NULL_ERR(expr, err)                                               \
    do {                                                                        \
        errno = 0;                                                              \
        void *h_p_ = (void *)(expr);                                            \
        int h_e_ = errno;                                                       \
        if (h_p_ != NULL || h_e_ != (err))                                      \
            FAIL("%s: expected NULL/%s, got %p (errno %s)", #expr, h_errname(err), h_p_, \
                 h_errname(h_e_));                                              \
    } while (0)

/* Expects `name` to be held: attaching it under any spelling fails with EEXIST. */
static void expect_held(const char *name)
{
    static const char *spellings[] = {"%s", "%s/", "./%s", "%s//."};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char n[200];
        snprintf(n, sizeof n, spellings[i], name);
        CHECK_NULL_ERR(name_attach(NULL, n, 0), EEXIST);
    }
}

/* Expects `name` to be free: it can be attached (and is detached again). */
static void expect_free(const char *name)
{
    name_attach_t *att = name_attach(NULL, name, 0);
    if (!att)
        FAIL("name_attach(\"%s\"): %s", name, h_errname(errno));
    else
        CHECK_EQ(name_detach(att, 0), 0);
}

/* ---------------------------------------------------------------------------------- */
/* Opening, sending, closing                                                           */

TEST(open_send_close)
{
    struct srv_arg a = named("basic");
    struct h_proc s = start_server(&a);

    int coid = (int)CHECK_OK(name_open(a.name, 0));
    CHECK(coid & _NTO_SIDE_CHANNEL);

    struct app_reply rep = {0, 0};
    CHECK_EQ(echo(coid, 41, &rep), 0);
    CHECK_EQ(rep.value, 42);
    CHECK_EQ(rep.pid, s.pid);

    /* A system I/O message the server does not handle. */
    struct _io_msg io = {_IO_MSG, sizeof io, 0, 0};
    CHECK_ERR(MsgSend(coid, &io, sizeof io, NULL, 0), ENOSYS);
    EXPECT_EVENT(s, EV_IOMSG);

    /* A side-channel connection, close-on-exec, to the server's name channel. */
    struct _server_info si;
    CHECK_EQ(ConnectServerInfo(0, coid, &si), coid);
    CHECK_EQ(si.pid, s.pid);
    CHECK(si.flags & _NTO_COF_CLOEXEC);

    CHECK_EQ(name_close(coid), 0);
    EXPECT_EVENT(s, EV_DISCONNECT);
    CHECK_ERR(name_close(coid), EINVAL);
    CHECK_ERR(MsgSend(coid, &io, sizeof io, NULL, 0), EBADF);
    stop_server(&s, a.name);
}

/* Two opens from one process share one server connection: DISCONNECT after both close. */
TEST(two_opens_one_disconnect)
{
    struct srv_arg a = named("twice");
    struct h_proc s = start_server(&a);
    int c1 = (int)CHECK_OK(name_open(a.name, 0));
    int c2 = (int)CHECK_OK(name_open(a.name, 0));
    CHECK_NE(c1, c2);
    CHECK_EQ(name_close(c1), 0);
    EXPECT_QUIET(s, 200);
    struct app_reply rep;
    CHECK_EQ(echo(c2, 1, &rep), 0);
    CHECK_EQ(name_close(c2), 0);
    EXPECT_EVENT(s, EV_DISCONNECT);
    stop_server(&s, a.name);
}

/* A killed client: its connection ends with DISCONNECT. */
static int open_and_wait(int rd, int wr, void *arg)
{
    int coid = name_open((const char *)arg, 0);
    h_put(wr, coid);
    h_get(rd, 10000); /* killed before this returns */
    return 0;
}

TEST(killed_client_disconnects)
{
    struct srv_arg a = named("killed");
    struct h_proc s = start_server(&a);
    struct h_proc c = h_spawn(open_and_wait, a.name);
    CHECK(h_get(c.rd, 5000) != -1);
    h_kill(c.pid);
    EXPECT_EVENT(s, EV_DISCONNECT);
    h_close_proc(&c);
    stop_server(&s, a.name);
}

/* ---------------------------------------------------------------------------------- */
/* The channel name_attach makes: UNBLOCK, DISCONNECT, COIDDEATH                        */

static void on_usr1(int sig) { (void)sig; }

struct held_send {
    int coid;
    long r;
    int err;
};

static void *send_hold(void *arg)
{
    struct held_send *h = (struct held_send *)arg;
    struct app_msg m = {APP_TYPE, 0, OP_HOLD, 0};
    h->r = MsgSend(h->coid, &m, sizeof m, NULL, 0);
    h->err = errno;
    return NULL;
}

TEST(unblock_pulse)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct srv_arg a = named("unblock");
    struct h_proc s = start_server(&a);
    struct held_send h = {(int)CHECK_OK(name_open(a.name, 0)), 0, 0};
    pthread_t t = h_thread(send_hold, &h);
    EXPECT_EVENT(s, EV_HELD);
    pthread_kill(t, SIGUSR1);
    /* The client is held REPLY-blocked until the server answers the unblock pulse. */
    EXPECT_EVENT(s, EV_UNBLOCK);
    JOIN(t, 5000);
    CHECK_EQ(h.r, -1);
    CHECK_EQ(h.err, EINTR);
    name_close(h.coid);
    EXPECT_EVENT(s, EV_DISCONNECT);
    stop_server(&s, a.name);
}

TEST(coid_death_pulse)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct srv_arg a = named("coiddeath");
    a.peer_chid = chid;
    struct h_proc s = start_server(&a);
    CHECK_EQ(ChannelDestroy(chid), 0);
    EXPECT_EVENT(s, EV_COIDDEATH);
    stop_server(&s, a.name);
}

/* A process that already has its death channel: name_attach still works, and the
 * COIDDEATH pulses stay with the first channel (one death channel per process). */
TEST(one_death_channel_per_process)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    struct srv_arg a = named("deathfirst");
    a.peer_chid = chid;
    a.death_first = 1;
    struct h_proc s = start_server(&a);
    CHECK_EQ(ChannelDestroy(chid), 0);
    EXPECT_EVENT(s, EV_DEATH_CHANNEL);
    EXPECT_QUIET(s, 200);
    stop_server(&s, a.name);
}

/* Two names with their own dispatch handles in one process: both attach. */
TEST(second_dispatch_in_process)
{
    char n1[128], n2[128];
    snprintf(n1, sizeof n1, "neutrino-test/%d/one", (int)getpid());
    snprintf(n2, sizeof n2, "neutrino-test/%d/two", (int)getpid());
    name_attach_t *a1 = name_attach(NULL, n1, 0);
    name_attach_t *a2 = name_attach(NULL, n2, 0);
    REQUIRE(a1 && a2);
    CHECK_NE(a1->chid, a2->chid);
    CHECK(a1->dpp != a2->dpp);
    CHECK_EQ(name_detach(a1, 0), 0);
    CHECK_EQ(name_detach(a2, 0), 0);
}

/* ---------------------------------------------------------------------------------- */
/* Lookups and path rules                                                              */

TEST(unknown_name)
{
    char n[128];
    snprintf(n, sizeof n, "neutrino-test/%d/nobody", (int)getpid());
    CHECK_ERR(name_open(n, 0), ENOENT);
    CHECK_ERR(name_open("neutrino-test-no-such-name", 0), ENOENT);
    /* No global name is found without a gateway (neutrino-netd), as on QNX without gns. */
    CHECK_ERR(name_open(n, NAME_FLAG_ATTACH_GLOBAL), ENOENT);
}

TEST(path_rules)
{
    static const char *bad[] = {"", "/abs", "..", "../x", "x/..", "x/../y", ".", "./", "//"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_NULL_ERR(name_attach(NULL, bad[i], 0), EINVAL);
        CHECK_ERR(name_open(bad[i], 0), EINVAL);
    }
    CHECK_NULL_ERR(name_attach(NULL, NULL, 0), EINVAL);
    CHECK_ERR(name_open(NULL, 0), EINVAL);

    char n[200];
    memset(n, 'n', sizeof n);
    n[sizeof n - 1] = 0;
    CHECK_NULL_ERR(name_attach(NULL, n, 0), ENAMETOOLONG);
    CHECK_ERR(name_open(n, 0), ENAMETOOLONG);

    snprintf(n, sizeof n, "neutrino-test/%d/global", (int)getpid());
    CHECK_NULL_ERR(name_attach(NULL, n, NAME_FLAG_ATTACH_GLOBAL), ENOTSUP);

    /* Dots inside a component are fine. */
    static const char *good[] = {"a..b", "..a", "a./b.."};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(n, sizeof n, "neutrino-test/%d/%s", (int)getpid(), good[i]);
        expect_free(n);
    }

    /* Handles the library did not hand out. */
    int junk[8] = {0};
    CHECK_EQ(name_detach(NULL, 0), 0);
    CHECK_ERR(name_detach((name_attach_t *)junk, 0), EINVAL);
    CHECK_ERR(dispatch_destroy(NULL), EINVAL);
    CHECK_ERR(dispatch_destroy((dispatch_t *)junk), EINVAL);
    CHECK_NULL_ERR(name_attach((dispatch_t *)junk, "neutrino-test-junk", 0), EINVAL);
    CHECK_ERR(name_close(12345), EINVAL);
}

/* A server thread in this process, for names opened by the process itself. */
struct local_srv {
    name_attach_t *att;
    int wr;
};

static void *local_server(void *arg)
{
    struct local_srv *l = (struct local_srv *)arg;
    serve(l->att, l->wr);
    return NULL;
}

/* One spelling per name: empty and "." components do not make another name. */
TEST(canonical_names)
{
    char spelled[160], plain[160];
    snprintf(spelled, sizeof spelled, "neutrino-test//%d/./x/y/", (int)getpid());
    snprintf(plain, sizeof plain, "neutrino-test/%d/x/y", (int)getpid());
    name_attach_t *att = name_attach(NULL, spelled, 0);
    REQUIRE(att != NULL);
    expect_held(plain);

    int p[2];
    REQUIRE_OK(pipe(p));
    struct local_srv l = {att, p[1]};
    pthread_t t = h_thread(local_server, &l);
    struct h_proc s = {getpid(), p[0], -1};
    int coid = (int)CHECK_OK(name_open(plain, 0));
    struct app_reply rep;
    CHECK_EQ(echo(coid, 9, &rep), 0);
    CHECK_EQ(rep.value, 10);
    CHECK_EQ(name_close(coid), 0);
    EXPECT_EVENT(s, EV_DISCONNECT);
    coid = (int)CHECK_OK(name_open(plain, 0));
    struct app_msg quit = {APP_TYPE, 0, OP_QUIT, 0};
    CHECK_EQ(MsgSend(coid, &quit, sizeof quit, NULL, 0), 0);
    JOIN(t, 5000);
    name_close(coid);
    CHECK_EQ(name_detach(att, 0), 0);
    CHECK_ERR(name_open(plain, 0), ENOENT);
}

/* ---------------------------------------------------------------------------------- */
/* Lifetime: dead servers, duplicates, dispatch handles, fork                          */

TEST(dead_server_name_gone)
{
    struct srv_arg a = named("dead");
    struct h_proc s = start_server(&a);
    CHECK(name_listed(a.name));
    h_kill(s.pid);
    h_close_proc(&s);
    CHECK_ERR(name_open(a.name, 0), ENOENT);
    CHECK(!name_listed(a.name));
    expect_free(a.name);
}

static int try_attach(int rd, int wr, void *arg)
{
    (void)rd;
    expect_held(((struct srv_arg *)arg)->name);
    h_put(wr, 1);
    return 0;
}

/* A name is held by one server at a time: EEXIST, in the same and in another process. */
TEST(duplicate_attach)
{
    struct srv_arg a = named("dup");
    name_attach_t *att = name_attach(NULL, a.name, 0);
    REQUIRE(att != NULL);
    expect_held(a.name);
    struct h_proc c = h_spawn(try_attach, &a);
    CHECK_EQ(h_get(c.rd, 5000), 1);
    CHECK_CHILD_OK(c.pid, 5000);
    h_close_proc(&c);
    int chid = att->chid;
    CHECK_EQ(name_detach(att, 0), 0);
    /* The name is free, and the dispatch handle's channel went with it. */
    CHECK_ERR(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0), ESRCH);
    expect_free(a.name);
}

/* Names share their dispatch handle's channel; NAME_FLAG_DETACH_SAVEDPP keeps it. */
TEST(dispatch_handles)
{
    char n1[128], n2[128];
    snprintf(n1, sizeof n1, "neutrino-test/%d/d1", (int)getpid());
    snprintf(n2, sizeof n2, "neutrino-test/%d/d2", (int)getpid());
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    name_attach_t *a1 = name_attach(dpp, n1, 0);
    name_attach_t *a2 = name_attach(dpp, n2, 0);
    REQUIRE(a1 && a2);
    CHECK(a1->dpp == dpp && a2->dpp == dpp);
    CHECK_EQ(a1->chid, a2->chid);
    CHECK(a1->chid > 0);
    CHECK_NE(a1->mntid, a2->mntid);
    int chid = a1->chid;

    CHECK_EQ(name_detach(a1, NAME_FLAG_DETACH_SAVEDPP), 0);
    CHECK(!name_listed(n1));
    CHECK(name_listed(n2));
    int coid = (int)CHECK_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    ConnectDetach(coid);

    /* Destroying the handle destroys its channel and gives up its names. */
    CHECK_EQ(dispatch_destroy(dpp), 0);
    CHECK(!name_listed(n2));
    CHECK_ERR(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_ERR(dispatch_destroy(dpp), EINVAL);
    CHECK_EQ(name_detach(a2, 0), 0);
    CHECK_ERR(name_detach(a2, 0), EINVAL);

    /* A handle for the application's own channel. */
    int mine = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_DISCONNECT));
    dpp = dispatch_create_channel(mine, 0);
    REQUIRE(dpp != NULL);
    a1 = name_attach(dpp, n1, 0);
    REQUIRE(a1 != NULL);
    CHECK_EQ(a1->chid, mine);
    CHECK_EQ(name_detach(a1, 0), 0);
    CHECK_ERR(ChannelDestroy(mine), EINVAL);
}

static int hold_forked(int rd, int wr, void *arg)
{
    (void)arg;
    h_put(wr, 1);
    h_get(rd, 10000);
    return 0;
}

/* A fork child does not keep its parent's names alive. */
TEST(fork_child_does_not_hold_names)
{
    struct srv_arg a = named("forked");
    name_attach_t *att = name_attach(NULL, a.name, 0);
    REQUIRE(att != NULL);
    struct h_proc c = h_spawn(hold_forked, NULL);
    CHECK_EQ(h_get(c.rd, 5000), 1);
    CHECK_EQ(name_detach(att, 0), 0);
    CHECK(!name_listed(a.name));
    CHECK_ERR(name_open(a.name, 0), ENOENT);
    h_put(c.wr, 1);
    CHECK_CHILD_OK(c.pid, 5000);
    h_close_proc(&c);
}

/* ---------------------------------------------------------------------------------- */
/* Another user: may open a live name, may not take it over or shadow it                */

#define OTHER_UID 65534

static int other_user(int rd, int wr, void *arg)
{
    (void)rd;
    struct srv_arg *a = (struct srv_arg *)arg;
    if (as_user(OTHER_UID) != 0)
        return 1;
    expect_held(a->name);
    /* A name below it is another name: it does not capture the server's clients. */
    char below[200];
    snprintf(below, sizeof below, "%s/sub", a->name);
    name_attach_t *mine = name_attach(NULL, below, 0);
    CHECK(mine != NULL);
    int coid = name_open(a->name, 0);
    h_put(wr, coid);
    struct app_reply rep = {0, 0};
    if (coid != -1) {
        CHECK_EQ(echo(coid, 7, &rep), 0);
        CHECK_EQ(rep.value, 8);
        name_close(coid);
    }
    h_put(wr, rep.pid);
    h_get(rd, 10000);
    return 0;
}

TEST(other_user_cannot_take_over)
{
    if (geteuid() != 0) {
        h_note("skipped: not root, cannot switch users");
        return;
    }
    struct srv_arg a = named("owned");
    struct h_proc s = start_server(&a);
    struct h_proc o = h_spawn(other_user, &a);
    CHECK(h_get(o.rd, 5000) != -1);
    CHECK_EQ(h_get(o.rd, 5000), s.pid);
    EXPECT_EVENT(s, EV_DISCONNECT);
    /* Root's own clients still reach root's server. */
    int coid = (int)CHECK_OK(name_open(a.name, 0));
    struct app_reply rep;
    CHECK_EQ(echo(coid, 1, &rep), 0);
    CHECK_EQ(rep.pid, s.pid);
    name_close(coid);
    EXPECT_EVENT(s, EV_DISCONNECT);
    h_put(o.wr, 1);
    CHECK_CHILD_OK(o.pid, 5000);
    h_close_proc(&o);
    stop_server(&s, a.name);
}

/* ---------------------------------------------------------------------------------- */
/* name_open sends the server nothing (§9.4)                                           */

/* A server that is not receiving yet, and answers every message it does not know with
 * ENOSYS (as QNX's course servers do): name_open succeeds at once, and the first message
 * the server receives is the client's own. */
static int late_receiver(int rd, int wr, void *arg)
{
    name_attach_t *att = name_attach(NULL, (const char *)arg, 0);
    h_put(wr, att ? att->chid : -errno);
    if (!att)
        return 1;
    h_get(rd, 10000); /* the client has opened the name */
    struct app_msg m;
    rcvid_t rcvid;
    while ((rcvid = MsgReceive(att->chid, &m, sizeof m, NULL)) == 0)
        ; /* pulses */
    REQUIRE(rcvid > 0);
    if (m.type == APP_TYPE) {
        MsgReply(rcvid, EOK, NULL, 0);
        h_put(wr, m.value);
    } else {
        MsgError(rcvid, ENOSYS);
        h_put(wr, -(long long)m.type);
    }
    return 0;
}

TEST(open_sends_nothing)
{
    struct srv_arg a = named("late");
    struct h_proc s = h_spawn(late_receiver, a.name);
    REQUIRE(h_get(s.rd, 5000) > 0);
    int coid = (int)CHECK_OK(name_open(a.name, 0));
    h_put(s.wr, 1);
    struct app_msg m = {APP_TYPE, 0, OP_ECHO, 77};
    CHECK_EQ(MsgSend(coid, &m, sizeof m, NULL, 0), 0);
    CHECK_EQ(h_get(s.rd, 5000), 77);
    CHECK_CHILD_OK(s.pid, 5000);
    h_close_proc(&s);
    name_close(coid);
}

/* Two servers that each open the other before either receives: no deadlock. */
struct mutual_send {
    int coid;
    long status;
};

static void *mutual_sender(void *arg)
{
    struct mutual_send *ms = (struct mutual_send *)arg;
    struct app_msg m = {APP_TYPE, 0, OP_ECHO, (int32_t)getpid()};
    ms->status = MsgSend(ms->coid, &m, sizeof m, NULL, 0);
    return NULL;
}

static int mutual(int rd, int wr, void *arg)
{
    const char *const *names = (const char *const *)arg; /* {mine, theirs} */
    name_attach_t *att = name_attach(NULL, names[0], 0);
    h_put(wr, att ? att->chid : -errno);
    if (!att)
        return 1;
    h_get(rd, 10000); /* both names are held */
    struct mutual_send ms = {name_open(names[1], 0), -1};
    h_put(wr, ms.coid == -1 ? -errno : ms.coid);
    if (ms.coid == -1)
        return 1;
    pthread_t t = h_thread(mutual_sender, &ms);
    struct app_msg in;
    rcvid_t rcvid;
    while ((rcvid = MsgReceive(att->chid, &in, sizeof in, NULL)) == 0)
        ;
    REQUIRE(rcvid > 0);
    MsgReply(rcvid, EOK, NULL, 0);
    JOIN(t, 5000);
    CHECK_EQ(ms.status, 0);
    h_put(wr, in.value);
    return 0;
}

TEST(servers_open_each_other_before_receiving)
{
    struct srv_arg x = named("mutual-x"), y = named("mutual-y");
    const char *xy[2] = {x.name, y.name}, *yx[2] = {y.name, x.name};
    struct h_proc px = h_spawn(mutual, (void *)xy), py = h_spawn(mutual, (void *)yx);
    REQUIRE(h_get(px.rd, 5000) > 0);
    REQUIRE(h_get(py.rd, 5000) > 0);
    h_put(px.wr, 1);
    h_put(py.wr, 1);
    CHECK(h_get(px.rd, 5000) > 0);
    CHECK(h_get(py.rd, 5000) > 0);
    /* Each received the other's message. */
    CHECK_EQ(h_get(px.rd, 5000), py.pid);
    CHECK_EQ(h_get(py.rd, 5000), px.pid);
    CHECK_CHILD_OK(px.pid, 5000);
    CHECK_CHILD_OK(py.pid, 5000);
    h_close_proc(&px);
    h_close_proc(&py);
}

HARNESS_MAIN
