/*
 * resmgr_client.h - the client side of a resource manager, for the tests that drive one:
 * the messages QNX's libc sends for open(), read(), write(), stat() and close() (built by
 * hand, as lib/c/support/_connect.c and lib/c/1/ build them), the path bridge's
 * NEUTRINO_IOC_BIND answer, and the bridge's internal entry points.  Also the server's
 * half of reading its counters by message, and its dispatch loop.  Include it after
 * harness.h.
 */
#ifndef LIBNEUTRINO_CTEST_RESMGR_CLIENT_H
#define LIBNEUTRINO_CTEST_RESMGR_CLIENT_H

#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

/* Cases that mount a path need FUSE, and root to switch users; they skip without. */
#define RM_NEED_ROOT_AND_FUSE()                                                 \
    do {                                                                        \
        H_NEED_ROOT();                                                          \
        if (!h_has_fuse())                                                      \
            return;                                                             \
    } while (0)

/* The bridge's internal entry points (src/resmgr/bridge.rs), as the resmgr layer calls them. */
int __libneutrino_resmgr_mount(int chid, int id, const char *path, unsigned flags);
int __libneutrino_resmgr_unmount(int chid, int id);
int __libneutrino_resmgr_dup_allowed(int scoid, int coid, pid_t pid, unsigned key);

/* The bridge's own answer to this ioctl on a path's descriptor (src/kernel/fdbind.rs). */
struct neutrino_bind {
    int32_t pid, chid, scoid, coid;
    uint32_t key, open; /* open: which open of the bridge, never 0 */
};
#define NEUTRINO_IOC_BIND _IOR(0xE7, 0x51, struct neutrino_bind)

/* A resource manager process run by HELPER `helper`, which writes its pid, channel and
 * attachment id (or -errno of its attach) first. */
struct rm {
    struct h_proc proc;
    int pid, chid, id;
};

H_FN struct rm rm_start(const char *helper, const char *arg)
{
    struct rm r;
    r.proc = h_exec(helper, arg);
    r.pid = (int)h_get(r.proc.rd, 10000);
    r.chid = (int)h_get(r.proc.rd, 10000);
    r.id = (int)h_get(r.proc.rd, 10000);
    return r;
}

/* A new connection to its channel, or -1. */
H_FN int rm_attach(const struct rm *r)
{
    return ConnectAttach(0, r->pid, r->chid, _NTO_SIDE_CHANNEL, 0);
}

/* A one-off message that is only its type, on a new connection; MsgSend's result. */
H_FN long rm_ask(const struct rm *r, uint16_t type, void *reply, size_t size)
{
    int coid = rm_attach(r);
    REQUIRE(coid != -1);
    long n = MsgSend(coid, &type, sizeof type, reply, size);
    ConnectDetach(coid);
    return n;
}

/* The server's half of rm_ask(): its counters, copied under their lock. */
struct rm_counters {
    pthread_mutex_t *lock;
    const void *data;
    size_t size; /* at most 256 */
};

H_FN int rm_reply_counters(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)code, (void)flags;
    const struct rm_counters *c = handle;
    char copy[256];
    pthread_mutex_lock(c->lock);
    memcpy(copy, c->data, c->size);
    pthread_mutex_unlock(c->lock);
    MsgReply(ctp->rcvid, EOK, copy, c->size);
    return 0;
}

/* Answers message `type` with the counters `c` (message_attach, before clients ask). */
H_FN void rm_serve_counters(dispatch_t *dpp, uint16_t type, struct rm_counters *c)
{
    message_attr_t mattr;
    memset(&mattr, 0, sizeof mattr);
    REQUIRE(message_attach(dpp, &mattr, type, type, rm_reply_counters, c) == 0);
}

/* A resource manager process's dispatch loop, until it is killed. */
__attribute__((noreturn)) H_FN void rm_dispatch_forever(dispatch_t *dpp)
{
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    REQUIRE(ctp != NULL);
    for (;;)
        if ((ctp = dispatch_block(ctp)) != NULL)
            dispatch_handler(ctp);
}

/* A connect message naming the attached path itself (""), with room for an extra. */
struct rm_connect {
    struct _io_connect c;
    char path[8]; /* "" and padding to 8 bytes */
    union {
        struct _io_stat stat;
    } extra;
};

H_FN void rm_connect_init(struct rm_connect *m, int id, unsigned subtype, uint32_t ioflag)
{
    memset(m, 0, sizeof *m);
    m->c.type = _IO_CONNECT;
    m->c.subtype = (uint16_t)subtype;
    m->c.file_type = _FTYPE_ANY;
    m->c.handle = (uint32_t)id;
    m->c.ioflag = ioflag;
    m->c.path_len = 1;
}

/* open(): a new connection and _IO_CONNECT_OPEN on it; the coid, or -1 with errno. */
H_FN int rm_open(const struct rm *r, uint32_t ioflag)
{
    struct rm_connect m;
    int coid = rm_attach(r);
    if (coid == -1)
        return -1;
    rm_connect_init(&m, r->id, _IO_CONNECT_OPEN, ioflag);
    if (MsgSend(coid, &m, offsetof(struct rm_connect, extra), NULL, 0) == -1) {
        int e = errno;
        ConnectDetach(coid);
        errno = e;
        return -1;
    }
    return coid;
}

H_FN long rm_read(int coid, uint32_t nbytes, void *buf, size_t size)
{
    struct _io_read m = {.type = _IO_READ, .combine_len = sizeof m, .nbytes = nbytes};
    return MsgSend(coid, &m, sizeof m, buf, size);
}

/* write(): the header, then `len` bytes of data (at most 64) claiming to be `nbytes`. */
H_FN long rm_write(int coid, uint32_t nbytes, const void *data, size_t len)
{
    struct {
        struct _io_write i;
        char data[64];
    } m = {.i = {.type = _IO_WRITE, .combine_len = sizeof m.i, .nbytes = nbytes}};
    memcpy(m.data, data, len);
    return MsgSend(coid, &m, sizeof m.i + len, NULL, 0);
}

/* fstat(): the attribute, as Linux's struct stat. */
H_FN long rm_stat(int coid, struct stat *sb)
{
    struct _io_stat m = {.type = _IO_STAT, .combine_len = sizeof m};
    return MsgSend(coid, &m, sizeof m, sb, sizeof *sb);
}

/* A message that is only its header: _IO_CLOSE, or any type. */
H_FN long rm_simple(int coid, uint16_t type)
{
    struct _io_combine m = {type, sizeof m};
    return MsgSend(coid, &m, sizeof m, NULL, 0);
}

#endif
