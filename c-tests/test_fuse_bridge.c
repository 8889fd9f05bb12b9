/*
 * test_fuse_bridge.c - the path bridge on its own, without the resmgr layer: a path made
 * a FUSE mount by __libneutrino_resmgr_mount() on a channel this test serves with a raw
 * MsgReceive loop. Linux programs (cat, ls, stat, and C calls in child processes) reach
 * it, and each request arrives as the QNX message QNX's C library sends for it. Also: an
 * interrupted or killed reader reaches the unblock pulse, a SIGKILLed server leaves no
 * mount behind, and an unprivileged server mounts through fusermount3.
 */
#include "harness.h"

#include <sys/mount.h>
#include <dirent.h>
#include "resmgr_client.h"

#define FLAG_DIR 0x0100 /* _RESMGR_FLAG_DIR */
#define QUIT_CODE 5
#define CONTENT "hello world\n"
#define MAXREC 128
#define MAXSC 1024

/* One message as the server saw it. */
struct rec {
    int type, subtype;
    unsigned handle, ioflag, nbytes, xtype, dcmd;
    long long off;
    char path[64];
    pid_t pid;
    uid_t euid;
    int rcvid;
};

static struct srv {
    int chid, dir;
    atomic_int hold_reads;
    atomic_int held;     /* the rcvid of a read held unanswered */
    atomic_int unblocked; /* the rcvid of the last unblock pulse */
    pthread_mutex_t mu;
    struct rec recs[MAXREC];
    int nrec;
    char written[256];
    long long ocb_off[MAXSC];
    char opened[MAXSC][64];
    atomic_int readable;     /* what _IO_NOTIFY answers for input (output always holds) */
    int notify_rcvid;        /* the last arm that found nothing holding, and its event */
    struct sigevent notify_ev;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static char base[64];

static void add(const struct rec *r)
{
    pthread_mutex_lock(&S.mu);
    if (S.nrec < MAXREC)
        S.recs[S.nrec++] = *r;
    pthread_mutex_unlock(&S.mu);
}

/* The first record of `type` (and `subtype` unless -1) after index *from, or NULL. */
static struct rec *find(int type, int subtype, int *from)
{
    struct rec *r = NULL;
    pthread_mutex_lock(&S.mu);
    for (int i = from ? *from : 0; i < S.nrec; i++) {
        if (S.recs[i].type == type && (subtype < 0 || S.recs[i].subtype == subtype)) {
            r = &S.recs[i];
            if (from)
                *from = i + 1;
            break;
        }
    }
    pthread_mutex_unlock(&S.mu);
    return r;
}

static size_t add_dirent(char *buf, size_t at, const char *name, int ino)
{
    struct dirent *d = (struct dirent *)(buf + at);
    size_t len = (offsetof(struct dirent, d_name) + strlen(name) + 1 + 7) & ~(size_t)7;
    memset(d, 0, len);
    d->d_ino = (ino_t)ino;
    d->d_reclen = (unsigned short)len;
    d->d_type = DT_REG;
    strcpy(d->d_name, name);
    return at + len;
}

/* The resource manager, by hand: answers each message as brief-11 says it arrives. */
static void *serve(void *arg)
{
    (void)arg;
    static char buf[200000];
    for (;;) {
        struct _msg_info info;
        int rcvid = MsgReceive(S.chid, buf, sizeof buf, &info);
        if (rcvid == -1) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (rcvid == 0) {
            struct _pulse *p = (struct _pulse *)buf;
            if (p->code == QUIT_CODE)
                return NULL;
            if (p->code == _PULSE_CODE_DISCONNECT)
                ConnectDetach(p->scoid);
            if (p->code == _PULSE_CODE_UNBLOCK) {
                atomic_store(&S.unblocked, p->value.sival_int);
                /* What iofunc_unblock_default does. */
                if (atomic_load(&S.held) == p->value.sival_int) {
                    atomic_store(&S.held, 0);
                    MsgError(p->value.sival_int, EINTR);
                }
            }
            continue;
        }
        struct rec r;
        memset(&r, 0, sizeof r);
        r.type = *(uint16_t *)buf;
        r.pid = info.pid;
        r.rcvid = rcvid;
        int sc = info.scoid & (MAXSC - 1);
        switch (r.type) {
        case _IO_CONNECT: {
            struct _io_connect *c = (struct _io_connect *)buf;
            struct _client_info ci;
            r.subtype = c->subtype;
            r.handle = c->handle;
            r.ioflag = c->ioflag;
            snprintf(r.path, sizeof r.path, "%s", c->path);
            if (ConnectClientInfo(info.scoid, &ci, 0) == 0)
                r.euid = ci.cred.euid;
            add(&r);
            if (strcmp(c->path, "missing") == 0) {
                MsgError(rcvid, ENOENT);
            } else if (c->subtype == _IO_CONNECT_COMBINE_CLOSE) {
                size_t at = (offsetof(struct _io_connect, path) + c->path_len + 7) & ~(size_t)7;
                struct stat st;
                memset(&st, 0, sizeof st);
                int isdir = S.dir && c->path[0] == 0;
                st.st_mode = isdir ? S_IFDIR | 0755 : S_IFCHR | 0666;
                st.st_nlink = 1;
                st.st_size = 5;
                if (*(uint16_t *)(buf + at) == _IO_STAT)
                    MsgReply(rcvid, EOK, &st, sizeof st);
                else
                    MsgError(rcvid, ENOSYS);
            } else {
                snprintf(S.opened[sc], sizeof S.opened[sc], "%s", c->path);
                S.ocb_off[sc] = 0;
                MsgReply(rcvid, EOK, NULL, 0);
            }
            break;
        }
        case _IO_READ: {
            struct _io_read *m = (struct _io_read *)buf;
            r.nbytes = m->nbytes;
            r.xtype = m->xtype;
            long long off = S.ocb_off[sc];
            if ((m->xtype & _IO_XTYPE_MASK) == _IO_XTYPE_OFFSET)
                off = r.off = ((struct _xtype_offset *)(m + 1))->offset;
            add(&r);
            if (S.dir && S.opened[sc][0] == 0) {
                static char d[512];
                size_t n = 0;
                if (S.ocb_off[sc] == 0) {
                    n = add_dirent(d, n, "a", 11);
                    n = add_dirent(d, n, "b", 12);
                    S.ocb_off[sc] = 2;
                }
                MsgReply(rcvid, (long)n, d, n);
            } else if (atomic_load(&S.hold_reads)) {
                atomic_store(&S.held, rcvid);
            } else {
                long long len = (long long)strlen(CONTENT);
                long long n = off >= len ? 0 : len - off;
                if (n > (long long)m->nbytes)
                    n = m->nbytes;
                if ((m->xtype & _IO_XTYPE_MASK) != _IO_XTYPE_OFFSET)
                    S.ocb_off[sc] += n;
                MsgReply(rcvid, (long)n, CONTENT + off, (size_t)(n > 0 ? n : 0));
            }
            break;
        }
        case _IO_WRITE: {
            struct _io_write *m = (struct _io_write *)buf;
            r.nbytes = m->nbytes;
            r.xtype = m->xtype;
            add(&r);
            const char *data = (const char *)(m + 1);
            if ((m->xtype & _IO_XTYPE_MASK) == _IO_XTYPE_OFFSET) {
                r.off = ((struct _xtype_offset *)(m + 1))->offset;
                data += sizeof(struct _xtype_offset);
            }
            size_t n = m->nbytes < sizeof S.written - 1 ? m->nbytes : sizeof S.written - 1;
            memcpy(S.written, data, n);
            S.written[n] = 0;
            MsgReply(rcvid, (long)m->nbytes, NULL, 0);
            break;
        }
        case _IO_DEVCTL: {
            struct _io_devctl *m = (struct _io_devctl *)buf;
            r.dcmd = (unsigned)m->dcmd;
            r.nbytes = m->nbytes;
            if (m->nbytes >= 4)
                memcpy(&r.off, m + 1, 4);
            add(&r);
            struct {
                struct _io_devctl_reply o;
                int32_t v;
            } rep;
            memset(&rep, 0, sizeof rep);
            rep.o.ret_val = 42;
            rep.o.nbytes = 4;
            rep.v = 99;
            MsgReply(rcvid, EOK, &rep, sizeof rep);
            break;
        }
        case _IO_LSEEK: {
            struct _io_lseek *m = (struct _io_lseek *)buf;
            r.off = (long long)m->offset;
            add(&r);
            S.ocb_off[sc] = r.off;
            uint64_t o = m->offset;
            MsgReply(rcvid, EOK, &o, sizeof o);
            break;
        }
        case _IO_NOTIFY: { /* what an io_notify handler on iofunc_notify() answers */
            io_notify_t *m = (io_notify_t *)buf;
            r.nbytes = (unsigned)m->i.flags;
            r.dcmd = (unsigned)m->i.action;
            add(&r);
            unsigned holds = (_NOTIFY_COND_OUTPUT | (atomic_load(&S.readable) ? _NOTIFY_COND_INPUT : 0)) &
                             (unsigned)m->i.flags;
            if (!holds && m->i.action == _NOTIFY_ACTION_POLLARM) {
                pthread_mutex_lock(&S.mu);
                S.notify_rcvid = rcvid;
                S.notify_ev = m->i.event;
                pthread_mutex_unlock(&S.mu);
            }
            struct _io_notify_reply o;
            memset(&o, 0, sizeof o);
            o.flags = holds;
            MsgReply(rcvid, EOK, &o, sizeof o);
            break;
        }
        case _IO_STAT: {
            add(&r);
            struct stat st;
            memset(&st, 0, sizeof st);
            st.st_mode = S_IFCHR | 0666;
            st.st_nlink = 1;
            MsgReply(rcvid, EOK, &st, sizeof st);
            break;
        }
        default:
            add(&r);
            MsgReply(rcvid, EOK, NULL, 0);
        }
    }
}

static pthread_t srv_thread;

/* A channel of the kind dispatch makes, served by `serve`, with `path` mounted on it. */
static int start(const char *path, unsigned flags)
{
    S.dir = (flags & FLAG_DIR) != 0;
    S.chid = ChannelCreate(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT);
    if (S.chid < 0)
        return -1;
    srv_thread = h_thread(serve, NULL);
    return __libneutrino_resmgr_mount(S.chid, 7, path, flags);
}

static void stop(void)
{
    int coid = ConnectAttach(0, 0, S.chid, _NTO_SIDE_CHANNEL, 0);
    MsgSendPulse(coid, 10, QUIT_CODE, 0);
    JOIN(srv_thread, 5000);
    ConnectDetach(coid);
}

/* A fresh directory for this case's paths, that every user may enter. */
static void make_base(void)
{
    snprintf(base, sizeof base, "/tmp/nto-fuse-XXXXXX");
    REQUIRE(mkdtemp(base) != NULL);
    chmod(base, 0755);
}

static void drop_base(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rmdir %s 2>/dev/null", base);
    if (system(cmd) != 0)
        h_note("%s was not empty", base);
}

/* A case's mount: `name` under a fresh base, on a channel `serve` answers. */
static void mount_in_base(char *path, size_t size, const char *name, unsigned flags)
{
    make_base();
    snprintf(path, size, "%s/%s", base, name);
    REQUIRE_OK(start(path, flags));
}

/* Its end: unmounted, `serve` stopped, the base removed. */
static void unmount_in_base(void)
{
    CHECK_OK(__libneutrino_resmgr_unmount(S.chid, 7));
    stop();
    drop_base();
}

/* Runs a shell command in a child; its exit status, or -1. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return h_wait(pid, 10000);
}

static int file_has(const char *file, const char *want)
{
    char got[512] = "";
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    size_t n = fread(got, 1, sizeof got - 1, f);
    got[n] = 0;
    fclose(f);
    return strstr(got, want) != NULL;
}

/* The C calls a Linux client makes, in a child process; exits with the failed step. */
static int client_calls(const char *path)
{
    char b[16] = "";
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return 1;
    if (read(fd, b, 5) != 5 || memcmp(b, "hello", 5) != 0)
        return 2;
    if (pread(fd, b, 5, 6) != 5 || memcmp(b, "world", 5) != 0)
        return 3;
    if (write(fd, "cmd\n", 4) != 4)
        return 4;
    int v = 5;
    if (ioctl(fd, _IOW('x', 7, int), &v) != 42)
        return 5;
    if (ioctl(fd, _IOR('x', 8, int), &v) != 42 || v != 99)
        return 6;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 7;
    if (close(fd) != 0)
        return 8;
    return 0;
}

TEST(file_mount_messages_and_linux_clients)
{
    RM_NEED_ROOT_AND_FUSE();
    char path[128], out[160];
    mount_in_base(path, sizeof path, "dev/x", 0);
    snprintf(out, sizeof out, "%s.out", base);
    struct stat st;
    CHECK_OK(stat(path, &st));
    CHECK(S_ISREG(st.st_mode));

    pid_t c = fork();
    if (c == 0)
        _exit(client_calls(path));
    CHECK_CHILD_OK(c, 10000);

    int i = 0;
    struct rec *o = find(_IO_CONNECT, _IO_CONNECT_OPEN, &i);
    REQUIRE(o != NULL);
    CHECK_EQ(o->handle, 7u);
    CHECK_EQ(o->path[0], 0);
    CHECK_EQ(o->ioflag & 3u, 3u); /* O_RDWR recoded as _IO_FLAG_RD | _IO_FLAG_WR */
    CHECK_EQ(o->pid, c);
    struct rec *r = find(_IO_READ, -1, NULL);
    REQUIRE(r != NULL);
    CHECK_EQ(r->xtype, (unsigned)_IO_XTYPE_NONE);
    CHECK(r->nbytes >= 5);
    CHECK_EQ(r->pid, c);
    i = 0;
    find(_IO_READ, -1, &i);
    r = find(_IO_READ, -1, &i);
    REQUIRE(r != NULL);
    CHECK_EQ(r->xtype, (unsigned)_IO_XTYPE_OFFSET);
    CHECK_EQ(r->off, 6);
    r = find(_IO_WRITE, -1, NULL);
    REQUIRE(r != NULL);
    CHECK_EQ(r->nbytes, 4u);
    CHECK(strcmp(S.written, "cmd\n") == 0);
    i = 0;
    r = find(_IO_DEVCTL, -1, &i);
    REQUIRE(r != NULL);
    /* _IOW (Linux bit 30) is QNX's __DIOT (bit 31); the data went to the device. */
    CHECK_EQ(r->dcmd, 0x80000000u | (4u << 16) | ('x' << 8) | 7u);
    CHECK_EQ(r->off, 5);
    r = find(_IO_DEVCTL, -1, &i);
    REQUIRE(r != NULL);
    CHECK_EQ(r->dcmd, 0x40000000u | (4u << 16) | ('x' << 8) | 8u);
    /* FUSE's release follows close() asynchronously: the _IO_CLOSE comes a little later. */
    long long t0 = h_now_ms();
    while (find(_IO_CLOSE, -1, NULL) == NULL && h_now_ms() - t0 < 2000)
        h_sleep_ms(5);
    CHECK(find(_IO_CLOSE, -1, NULL) != NULL);
    /* stat() by path: an _IO_CONNECT_COMBINE_CLOSE carrying _IO_STAT. */
    r = find(_IO_CONNECT, _IO_CONNECT_COMBINE_CLOSE, NULL);
    REQUIRE(r != NULL);
    CHECK_EQ(r->handle, 7u);

    CHECK_EQ(sh("cat %s > %s", path, out), 0);
    CHECK(file_has(out, CONTENT));
    CHECK_EQ(sh("echo set 100 > %s", path), 0);
    CHECK(strcmp(S.written, "set 100\n") == 0);
    CHECK_EQ(sh("ls -l %s > %s && stat %s >/dev/null", path, out, path), 0);
    CHECK(file_has(out, "-rw-rw-rw-"));
    unlink(out);

    CHECK_OK(__libneutrino_resmgr_unmount(S.chid, 7));
    /* The mountpoint and the directory made for it are gone. */
    char dev[128];
    snprintf(dev, sizeof dev, "%s/dev", base);
    CHECK_ERR(stat(dev, &st), ENOENT);
    stop();
    drop_base();
}

TEST(the_caller_is_who_opened)
{
    RM_NEED_ROOT_AND_FUSE();
    char path[128];
    mount_in_base(path, sizeof path, "x", 0);
    pid_t c = fork();
    if (c == 0) {
        if (h_become(65534) != 0)
            _exit(1);
        char b[8];
        int fd = open(path, O_RDONLY);
        _exit(fd >= 0 && read(fd, b, 5) == 5 && close(fd) == 0 ? 0 : 2);
    }
    CHECK_CHILD_OK(c, 10000);
    struct rec *o = find(_IO_CONNECT, _IO_CONNECT_OPEN, NULL);
    REQUIRE(o != NULL);
    CHECK_EQ(o->pid, c);
    CHECK_EQ(o->euid, 65534u);
    CHECK_EQ(o->ioflag & 3u, 1u); /* O_RDONLY is _IO_FLAG_RD */
    unmount_in_base();
}

TEST(directory_mount_lists_and_resolves_entries)
{
    RM_NEED_ROOT_AND_FUSE();
    char path[128], out[160];
    mount_in_base(path, sizeof path, "d", FLAG_DIR);
    snprintf(out, sizeof out, "%s.out", base);
    CHECK_EQ(sh("ls %s > %s", path, out), 0);
    CHECK(file_has(out, "a\nb\n"));
    CHECK_EQ(sh("cat %s/a > %s", path, out), 0);
    CHECK(file_has(out, CONTENT));
    CHECK_NE(sh("cat %s/missing 2>/dev/null", path), 0);
    int i = 0, seen_a = 0;
    struct rec *r;
    while ((r = find(_IO_CONNECT, -1, &i)) != NULL)
        seen_a |= strcmp(r->path, "a") == 0;
    CHECK(seen_a);
    unlink(out);
    unmount_in_base();
}

/* access(2), test -w, [ -x ]: the resource manager's modes against the caller's ids, by
 * one stat message each. The directory is root's 0755, its entries 0666 devices. */
TEST(access_reports_the_servers_modes)
{
    RM_NEED_ROOT_AND_FUSE();
    char path[128], a[160], missing[160];
    mount_in_base(path, sizeof path, "d", FLAG_DIR);
    snprintf(a, sizeof a, "%s/a", path);
    snprintf(missing, sizeof missing, "%s/missing", path);
    int from = S.nrec;
    CHECK_OK(access(path, R_OK | W_OK | X_OK));
    int stats = 0;
    while (find(_IO_CONNECT, _IO_CONNECT_COMBINE_CLOSE, &from) != NULL)
        stats++;
    CHECK_EQ(stats, 1);
    CHECK_OK(access(a, R_OK | W_OK));
    CHECK_ERR(access(a, X_OK), EACCES); /* root too: no x bit */
    CHECK_ERR(access(missing, F_OK), ENOENT);
    CHECK_EQ(sh("test -w %s && test -x %s && ! test -x %s", path, path, a), 0);
    pid_t c = fork();
    if (c == 0) {
        if (h_become(65534) != 0)
            _exit(1);
        if (access(path, R_OK | X_OK) != 0)
            _exit(2);
        if (access(path, W_OK) == 0 || errno != EACCES)
            _exit(3);
        if (access(a, R_OK | W_OK) != 0 || access(a, F_OK) != 0)
            _exit(4);
        if (access(a, X_OK) == 0 || errno != EACCES)
            _exit(5);
        execl("/bin/sh", "sh", "-c", "test -r \"$0\" && ! test -w \"$0\" && test -w \"$1\"", path, a,
              (char *)NULL);
        _exit(127);
    }
    CHECK_CHILD_OK(c, 10000);
    unmount_in_base();
}

/* A fork child has none of its parent's channels or mounts (QNX): its own channel, whose
 * chid may be the parent's number again, mounts with the same attachment id, and its
 * unmount leaves the parent's mount alone. */
TEST(a_fork_child_mounts_on_its_own_channels)
{
    RM_NEED_ROOT_AND_FUSE();
#ifdef __SANITIZE_ADDRESS__
    /* This compiler's AddressSanitizer does not hold its allocator across fork(): a child
     * of this many-threaded process may hang in its first allocation. */
    h_note("skipped under AddressSanitizer (fork of a threaded process)");
    return;
#endif
    char path[128], other[160], out[160];
    mount_in_base(path, sizeof path, "x", 0);
    snprintf(other, sizeof other, "%s/y", base);
    snprintf(out, sizeof out, "%s.out", base);
    pid_t c = fork();
    if (c == 0) {
        int chid = ChannelCreate(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT);
        if (chid < 0)
            _exit(1);
        if (__libneutrino_resmgr_mount(chid, 7, other, 0) != 0)
            _exit(2);
        if (__libneutrino_resmgr_unmount(chid, 7) != 0)
            _exit(3);
        if (chid != S.chid && __libneutrino_resmgr_unmount(S.chid, 7) == 0)
            _exit(4);
        _exit(0);
    }
    CHECK_CHILD_OK(c, 10000);
    CHECK_ERR(access(other, F_OK), ENOENT);
    CHECK_EQ(sh("cat %s > %s", path, out), 0);
    CHECK(file_has(out, CONTENT));
    unlink(out);
    unmount_in_base();
}

/* Mounts and unmounts paths under base on channel S.chid until told to stop. */
static atomic_int churn_stop;

static void *mount_churn(void *arg)
{
    (void)arg;
    char p[160];
    for (int i = 0; !atomic_load(&churn_stop); i++) {
        snprintf(p, sizeof p, "%s/churn/%d", base, i % 4);
        if (__libneutrino_resmgr_mount(S.chid, 8, p, 0) == 0)
            __libneutrino_resmgr_unmount(S.chid, 8);
    }
    return NULL;
}

/* fork() while another thread mounts (and so tells its watchdog, records the directories
 * it made, starts and stops bridge threads): the child never starts with those tables
 * locked, nor with a lock it waits on held by a thread it does not have, and mounts its
 * own path at once. */
TEST(forks_while_another_thread_mounts_leave_no_child_stuck)
{
    RM_NEED_ROOT_AND_FUSE();
#ifdef __SANITIZE_ADDRESS__
    h_note("skipped under AddressSanitizer (fork of a threaded process)");
    return;
#endif
    char path[128], own[160];
    mount_in_base(path, sizeof path, "x", 0);
    atomic_store(&churn_stop, 0);
    pthread_t t = h_thread(mount_churn, NULL);
    for (int n = 0; n < 40; n++) {
        snprintf(own, sizeof own, "%s/child-%d", base, n);
        pid_t c = fork();
        if (c == 0) {
            int chid = ChannelCreate(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT);
            if (chid < 0 || __libneutrino_resmgr_mount(chid, 9, own, 0) != 0)
                _exit(1);
            _exit(__libneutrino_resmgr_unmount(chid, 9) == 0 ? 0 : 2);
        }
        CHECK_CHILD_OK(c, 10000);
        h_sleep_ms(n % 5);
    }
    atomic_store(&churn_stop, 1);
    JOIN(t, 10000);
    rmdir(own);
    char churn[160];
    snprintf(churn, sizeof churn, "%s/churn", base);
    rmdir(churn);
    unmount_in_base();
}

/* After 100 ms: input holds, and the armed poll hears of it as iofunc_notify_trigger() tells it. */
static void *make_readable(void *arg)
{
    (void)arg;
    h_sleep_ms(100);
    atomic_store(&S.readable, 1);
    pthread_mutex_lock(&S.mu);
    int rcvid = S.notify_rcvid;
    struct sigevent ev = S.notify_ev;
    pthread_mutex_unlock(&S.mu);
    CHECK(rcvid > 0);
    CHECK_OK(MsgDeliverEvent(rcvid, &ev));
    return NULL;
}

/* poll() of a path: the resource manager's _IO_NOTIFY answers what holds now, and an armed
 * poll waits until the resource manager delivers the event it was given. */
TEST(poll_waits_for_the_resource_managers_notification)
{
    RM_NEED_ROOT_AND_FUSE();
    char path[128];
    mount_in_base(path, sizeof path, "x", 0);
    atomic_store(&S.readable, 0);
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    struct pollfd p = {fd, POLLIN, 0};
    CHECK_EQ(poll(&p, 1, 0), 0);
    p.events = POLLOUT;
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLOUT);
    int from = 0;
    CHECK(find(_IO_NOTIFY, -1, &from) != NULL);
    pthread_t t = h_thread(make_readable, NULL);
    p.events = POLLIN;
    long long t0 = h_now_ms();
    CHECK_EQ(poll(&p, 1, 5000), 1);
    CHECK(p.revents & POLLIN);
    long long took = h_now_ms() - t0;
    CHECK(took >= 80 && took < 5000);
    JOIN(t, 5000);
    close(fd);
    unmount_in_base();
}

static void on_usr1(int sig)
{
    (void)sig;
}

/* A reader whose read the server holds: signalled, it gets EINTR; killed, it goes. */
TEST(interrupted_reader_reaches_the_unblock_pulse)
{
    RM_NEED_ROOT_AND_FUSE();
    char path[128];
    mount_in_base(path, sizeof path, "x", 0);
    atomic_store(&S.hold_reads, 1);
    for (int kill_it = 0; kill_it < 2; kill_it++) {
        atomic_store(&S.held, 0);
        pid_t c = fork();
        if (c == 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_usr1; /* no SA_RESTART */
            sigaction(SIGUSR1, &sa, NULL);
            char b[8];
            int fd = open(path, O_RDONLY);
            if (fd < 0)
                _exit(1);
            _exit(read(fd, b, 5) == -1 && errno == EINTR ? 0 : 2);
        }
        long long t0 = h_now_ms();
        while (atomic_load(&S.held) == 0 && h_now_ms() - t0 < 5000)
            h_sleep_ms(2);
        int held = atomic_load(&S.held);
        REQUIRE(held != 0);
        kill(c, kill_it ? SIGKILL : SIGUSR1);
        t0 = h_now_ms();
        int st = h_wait(c, 5000);
        CHECK_EQ(st, kill_it ? 128 + SIGKILL : 0);
        CHECK_EQ(atomic_load(&S.unblocked), held);
        h_note("%s reader freed in %lld ms", kill_it ? "killed" : "signalled", h_now_ms() - t0);
    }
    atomic_store(&S.hold_reads, 0);
    unmount_in_base();
}

/* NEUTRINO_IOC_BIND tells the caller how to reach the OCB, and allows it once. */
TEST(bind_ioctl_allows_one_dup)
{
    RM_NEED_ROOT_AND_FUSE();
    char path[128];
    mount_in_base(path, sizeof path, "x", 0);
    int p[2], q[2];
    REQUIRE_OK(pipe(p));
    REQUIRE_OK(pipe(q));
    pid_t c = fork();
    if (c == 0) {
        struct neutrino_bind b;
        memset(&b, 0xff, sizeof b);
        int fd = open(path, O_RDONLY);
        int ok = fd >= 0 && ioctl(fd, NEUTRINO_IOC_BIND, &b) == 0;
        ok = ok && write(p[1], &b, sizeof b) == (ssize_t)sizeof b;
        char x;
        ok = ok && read(q[0], &x, 1) == 1; /* holds the file open until told */
        _exit(ok ? 0 : 1);
    }
    struct neutrino_bind b;
    CHECK_EQ(h_read_all(p[0], &b, sizeof b, 5000), 0);
    CHECK_EQ(b.pid, getpid());
    CHECK_EQ(b.chid, S.chid);
    CHECK(b.key != 0);
    CHECK(b.open != 0);
    struct rec *o = find(_IO_CONNECT, _IO_CONNECT_OPEN, NULL);
    REQUIRE(o != NULL);
    CHECK_EQ(__libneutrino_resmgr_dup_allowed(b.scoid, b.coid, getpid(), b.key), 0);
    CHECK_EQ(__libneutrino_resmgr_dup_allowed(b.scoid, b.coid, c, b.key + 1), 0);
    CHECK_EQ(__libneutrino_resmgr_dup_allowed(b.scoid, b.coid, c, b.key), 1);
    CHECK_EQ(__libneutrino_resmgr_dup_allowed(b.scoid, b.coid, c, b.key), 0);
    CHECK_EQ(write(q[1], "x", 1), 1);
    CHECK_CHILD_OK(c, 5000);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    unmount_in_base();
}

/* A server process: mounts `path` (with `flags`) and serves until killed; *ready is 0 once it serves, or
 * the errno of its mount. With `forked`, it first forks a child that holds all it holds
 * (*forked is its pid). */
static pid_t server_process(const char *path, unsigned flags, uid_t uid, int *ready, pid_t *forked)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (h_become(uid) != 0)
            _exit(1);
        if (start(path, flags) != 0) {
            int e[2] = {errno, 0};
            (void)!write(p[1], e, sizeof e);
            _exit(2);
        }
        int r[2] = {0, 0};
        if (forked && (r[1] = fork()) == 0) {
            for (;;)
                pause();
        }
        (void)!write(p[1], r, sizeof r);
        for (;;)
            pause();
    }
    close(p[1]);
    int r[2] = {-1, 0};
    if (h_read_all(p[0], r, sizeof r, 10000) != 0)
        r[0] = -1;
    *ready = r[0];
    if (forked)
        *forked = r[1];
    close(p[0]);
    return pid;
}

/* Waits until `path` no longer exists; the ms it took, or -1. */
static long long gone_within(const char *path, int ms)
{
    long long t0 = h_now_ms();
    struct stat st;
    while (h_now_ms() - t0 < ms) {
        if (stat(path, &st) != 0 && errno == ENOENT)
            return h_now_ms() - t0;
        h_sleep_ms(5);
    }
    return -1;
}

TEST(a_killed_server_leaves_no_mount_and_a_restart_attaches)
{
    RM_NEED_ROOT_AND_FUSE();
    make_base();
    char path[128], out[160];
    snprintf(path, sizeof path, "%s/dev/x", base);
    snprintf(out, sizeof out, "%s.out", base);
    for (int round = 0; round < 2; round++) {
        int ready;
        pid_t child = 0;
        /* The second time the server has forked a child, which must not keep the mount. */
        pid_t s = server_process(path, 0, 0, &ready, round ? &child : NULL);
        REQUIRE(s > 0);
        REQUIRE_EQ(ready, 0);
        CHECK_EQ(sh("cat %s > %s", path, out), 0);
        CHECK(file_has(out, CONTENT));
        h_kill(s);
        long long ms = gone_within(path, 5000);
        CHECK(ms >= 0);
        h_note("round %d: path gone %lld ms after SIGKILL", round, ms);
        if (child > 0)
            h_kill(child);
    }
    unlink(out);
    char dev[128];
    snprintf(dev, sizeof dev, "%s/dev", base);
    CHECK_ERR(rmdir(dev), ENOENT);
    drop_base();
}

/* Whether an unprivileged user can mount here: fusermount3, and /dev/fuse open to all;
 * notes the skip if not. */
static int users_can_mount(void)
{
    if (system("command -v fusermount3 >/dev/null") != 0) {
        h_note("skipped: fusermount3 is not installed (make deps installs it)");
        return 0;
    }
    struct stat dev;
    if (stat("/dev/fuse", &dev) != 0 || (dev.st_mode & 0006) != 0006) {
        h_note("skipped: /dev/fuse is not open to every user (mode 0666, as udev makes it; make deps)");
        return 0;
    }
    return 1;
}

TEST(an_unprivileged_server_mounts_through_fusermount3)
{
    RM_NEED_ROOT_AND_FUSE();
    if (!users_can_mount())
        return;
    make_base();
    char own[128], path[160], denied[160], out[192];
    snprintf(own, sizeof own, "%s/u", base);
    REQUIRE_OK(mkdir(own, 0755));
    REQUIRE_OK(chown(own, 65534, 65534));
    snprintf(path, sizeof path, "%s/dev/x", own);
    snprintf(denied, sizeof denied, "%s/root-only/x", base);
    snprintf(out, sizeof out, "%s/out", own);
    int ready;
    pid_t s = server_process(path, 0, 65534, &ready, NULL);
    REQUIRE(s > 0);
    CHECK_EQ(ready, 0);
    if (ready == 0) {
        /* The same user reads it (no allow_other for others without user_allow_other). */
        pid_t c = fork();
        if (c == 0) {
            if (h_become(65534) != 0)
                _exit(1);
            execl("/bin/sh", "sh", "-c", "cat \"$0\" > \"$1\"", path, out, (char *)NULL);
            _exit(127);
        }
        CHECK_CHILD_OK(c, 10000);
        CHECK(file_has(out, CONTENT));
    }
    h_kill(s);
    CHECK(gone_within(path, 5000) >= 0);
    /* Where the user may not create, the attach fails with EACCES or EPERM. */
    snprintf(denied, sizeof denied, "%s/root-only", base);
    REQUIRE_OK(mkdir(denied, 0755));
    snprintf(denied, sizeof denied, "%s/root-only/sub/x", base);
    s = server_process(denied, 0, 65534, &ready, NULL);
    REQUIRE(s > 0);
    CHECK(ready == EACCES || ready == EPERM);
    h_kill(s);
    snprintf(denied, sizeof denied, "%s/root-only", base);
    rmdir(denied);
    unlink(out);
    rmdir(own);
    drop_base();
}

/* How many mounts /proc/mounts lists at `path` (a path without spaces). */
static int mounts_at(const char *path)
{
    char line[1024], point[512];
    int n = 0;
    FILE *f = fopen("/proc/mounts", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%*s %511s", point) == 1 && strcmp(point, path) == 0)
            n++;
    if (f)
        fclose(f);
    return n;
}

/* Whether root's server answers at `path` (of `kind` 1: a file, 0: a directory) through
 * `out`. */
static int roots_answers(const char *path, int file, const char *out)
{
    return sh(file ? "cat %s > %s 2>/dev/null" : "ls %s > %s 2>/dev/null", path, out) == 0 &&
           file_has(out, file ? CONTENT : "a\nb\n");
}

/* Issue 11: root's path, a directory or a device file every user may write, even in a
 * directory of another user's, stays root's. The other user's attach (the bridge as
 * resmgr_attach calls it, through fusermount3) is refused, or mounts for the moment it
 * takes root's resource manager to detach it; either way root's path answers again
 * within 500 ms, their mount is gone, and they cannot unmount root's. */
TEST(another_user_cannot_mount_over_or_unmount_roots_path)
{
    RM_NEED_ROOT_AND_FUSE();
    if (!users_can_mount())
        return;
    make_base();
    char own[128], path[160], out[160];
    snprintf(own, sizeof own, "%s/u", base);
    REQUIRE_OK(mkdir(own, 0755));
    REQUIRE_OK(chown(own, 65534, 65534));
    snprintf(path, sizeof path, "%s/x", own);
    snprintf(out, sizeof out, "%s.out", base);
    for (int file = 0; file < 2; file++) {
        const char *kind = file ? "file" : "directory";
        unsigned flags = file ? 0 : FLAG_DIR;
        int ready;
        pid_t root = server_process(path, flags, 0, &ready, NULL);
        REQUIRE(root > 0);
        REQUIRE_EQ(ready, 0);
        pid_t s = server_process(path, flags, 65534, &ready, NULL);
        REQUIRE(s > 0);
        long long t0 = h_now_ms();
        if (ready == 0) {
            while (!(mounts_at(path) == 1 && roots_answers(path, file, out)) && h_now_ms() - t0 < 500)
                h_sleep_ms(1);
            long long ms = h_now_ms() - t0;
            h_note("%s: the other user's mount was gone, root's path answering, %lld ms after their attach", kind, ms);
            if (ms >= 500)
                FAIL("%s: the other user's mount stayed over root's (%d mounts at the path)", kind, mounts_at(path));
        } else if (ready != EACCES && ready != EPERM) {
            FAIL("%s: the other user's attach failed with %s", kind, h_errname(ready));
        }
        h_kill(s);
        pid_t c = fork();
        if (c == 0) {
            if (h_become(65534) != 0)
                _exit(127);
            execlp("fusermount3", "fusermount3", "-u", "-q", path, (char *)NULL);
            _exit(127);
        }
        int st = h_wait(c, 10000);
        if (st <= 0 || st >= 127)
            FAIL("%s: the other user's fusermount3 -u ended with %d", kind, st);
        CHECK_EQ(mounts_at(path), 1); /* root's alone */
        CHECK(roots_answers(path, file, out));
        h_kill(root);
        CHECK(gone_within(path, 5000) >= 0);
    }
    unlink(out);
    CHECK_OK(rmdir(own));
    drop_base();
}

/* The pid of a child of `parent` (the server's watchdog), or 0. */
static pid_t child_of(pid_t parent)
{
    pid_t found = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && !found && (e = readdir(d)) != NULL) {
        char f[64], line[128];
        int pid = atoi(e->d_name);
        if (pid <= 0)
            continue;
        snprintf(f, sizeof f, "/proc/%d/status", pid);
        FILE *s = fopen(f, "r");
        while (s && fgets(line, sizeof line, s))
            if (strncmp(line, "PPid:", 5) == 0 && atoi(line + 5) == parent)
                found = pid;
        if (s)
            fclose(s);
    }
    if (d)
        closedir(d);
    return found;
}

/* A mount left by a server whose watchdog died with it (ENOTCONN) is cleared by the next. */
TEST(a_stale_mount_is_cleared_before_mounting)
{
    RM_NEED_ROOT_AND_FUSE();
    make_base();
    char path[128], out[160];
    snprintf(path, sizeof path, "%s/x", base);
    snprintf(out, sizeof out, "%s.out", base);
    int ready;
    pid_t s = server_process(path, 0, 0, &ready, NULL);
    REQUIRE(s > 0);
    REQUIRE_EQ(ready, 0);
    pid_t dog = child_of(s);
    REQUIRE(dog > 0);
    kill(dog, SIGKILL);
    h_kill(s);
    struct stat st;
    CHECK_ERR(stat(path, &st), ENOTCONN);
    s = server_process(path, 0, 0, &ready, NULL);
    REQUIRE(s > 0);
    CHECK_EQ(ready, 0);
    CHECK_EQ(sh("cat %s > %s", path, out), 0);
    CHECK(file_has(out, CONTENT));
    h_kill(s);
    /* The file the first server made stays (the second found it there). */
    long long t0 = h_now_ms();
    while (sh("grep -q ' %s ' /proc/mounts", path) == 0 && h_now_ms() - t0 < 5000)
        h_sleep_ms(10);
    CHECK_NE(sh("grep -q ' %s ' /proc/mounts", path), 0);
    CHECK_OK(stat(path, &st));
    unlink(path);
    unlink(out);
    drop_base();
}

/* What one 64-byte read costs through the bridge (a note, not a target). */
TEST(read_round_trip)
{
    RM_NEED_ROOT_AND_FUSE();
    char path[128];
    mount_in_base(path, sizeof path, "x", 0);
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    char b[64];
    enum { N = 20000 };
    for (int i = 0; i < 1000; i++)
        CHECK(pread(fd, b, sizeof b, 0) > 0);
    long long t0 = h_now_us();
    for (int i = 0; i < N; i++)
        if (pread(fd, b, sizeof b, 0) <= 0)
            break;
    h_note("pread of 64 bytes through the bridge: %.2f us", (double)(h_now_us() - t0) / N);
    close(fd);
    unmount_in_base();
}

HARNESS_MAIN
