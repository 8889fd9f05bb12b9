/*
 * QNX's resource-manager layer (<sys/resmgr.h>): attachments (resmgr_attach), the
 * bindings of OCBs to client connections (resmgr_open_bind), and the routing of _IO_*
 * messages and of the disconnect and unblock pulses to the connect and I/O tables.
 * dispatch_handler() (dispatch.c) hands us what is ours; every QNX routing rule is here.
 *
 * As QNX's library: an attachment has an id (the lowest free, from 0) that clients send
 * as _io_connect.handle; an OCB is bound per (scoid, coid) and shared by the bindings a
 * dup adds, each holding a reference, as do handlers running on it; the last reference
 * runs close_ocb.  A binding made by _IO_DUP from the path bridge is a satellite of the
 * bridge's binding and ends with it (brief-11: that is how a client's close(fd) ends
 * every binding of its descriptor).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/iofunc.h>

/* The path bridge (src/resmgr/bridge.rs). */
int __libneutrino_dispatch_chid(dispatch_t *dpp, int create);
int __libneutrino_resmgr_mount(int chid, int id, const char *path, unsigned flags);
int __libneutrino_resmgr_unmount(int chid, int id);
int __libneutrino_resmgr_dup_allowed(int scoid, int coid, pid_t pid, unsigned key);

typedef int (*other_func_t)(resmgr_context_t *ctp, void *msg);
int neutrino_resmgr_route(resmgr_context_t *ctp, other_func_t other_func) __attribute__((visibility("hidden")));
int neutrino_dispatch_resmgr(dispatch_t *dpp, const resmgr_attr_t *attr, size_t msg_min)
    __attribute__((visibility("hidden")));

typedef int (*connect_func_t)(resmgr_context_t *ctp, void *msg, void *handle, void *extra);

/* The smallest receive buffer: a connect message with a whole path and a combined
 * message after it. */
#define MSG_MIN (offsetof(struct _io_connect, path) + PATH_MAX + 8 + sizeof(resmgr_iomsgs_t))
/* Where what follows a connect message's path starts (QNX aligns it to 8 bytes). */
#define AFTER_PATH(c) ((offsetof(struct _io_connect, path) + (c)->path_len + 7) & ~(size_t)7)

struct link {
    struct link *next; /* by increasing id */
    int id;
    dispatch_t *dpp;
    char *path;        /* as resmgr_pathname() gives it, or NULL */
    int mounted;
    const resmgr_connect_funcs_t *connect;
    const resmgr_io_funcs_t *io;
    void *handle;
};

/* An OCB and the table it was bound with (QNX's binding). */
struct binding {
    void *ocb;
    const resmgr_io_funcs_t *funcs;
    int id;
    int count;         /* slots bound to it and handlers running on it */
    int orphaned;      /* resmgr_detach() without _RESMGR_DETACH_CLOSE: no close_ocb */
};

/* A client connection bound to an OCB. */
struct slot {
    struct slot *next;
    int scoid, coid;
    pid_t pid;
    struct binding *b;
    int origin_scoid, origin_coid; /* a satellite's origin, else -1 */
};

#define NBUCKETS 64
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER; /* links, slots, counts */
static struct link *links;
static struct slot *buckets[NBUCKETS];

static struct slot **bucket(int scoid, int coid)
{
    return &buckets[((unsigned)scoid * 31u + (unsigned)coid) % NBUCKETS];
}

/* ---- the tables ------------------------------------------------------------------------ */

/* The I/O handler for a message type (NULL: none).  The table is indexed from _IO_READ;
 * the reserved types name library callouts, which no client message may reach. */
static _resmgr_func_t io_func(const resmgr_io_funcs_t *funcs, unsigned type)
{
    if (!funcs || type < _IO_READ || type - _IO_READ >= funcs->nfuncs)
        return NULL;
    return ((const _resmgr_func_t *)&funcs->read)[type - _IO_READ];
}

/* The bytes a message of `type` must have for its handler to read its header: QNX's
 * kernel hands a resource manager whatever a client sent, and handlers read the fields
 * without asking how much came.  Types with no header of their own need the combine
 * header only. */
static size_t header_size(unsigned type)
{
    switch (type) {
#define H(t, s) \
    case t:     \
        return sizeof(struct s)
        H(_IO_READ, _io_read);
        H(_IO_WRITE, _io_write);
        H(_IO_STAT, _io_stat);
        H(_IO_NOTIFY, _io_notify);
        H(_IO_DEVCTL, _io_devctl);
        H(_IO_PATHCONF, _io_pathconf);
        H(_IO_LSEEK, _io_lseek);
        H(_IO_CHMOD, _io_chmod);
        H(_IO_CHOWN, _io_chown);
        H(_IO_UTIME, _io_utime);
        H(_IO_OPENFD, _io_openfd);
        H(_IO_FDINFO, _io_fdinfo);
        H(_IO_LOCK, _io_lock);
        H(_IO_SPACE, _io_space);
        H(_IO_SHUTDOWN, _io_shutdown);
        H(_IO_MMAP, _io_mmap);
        H(_IO_MSG, _io_msg);
        H(_IO_DUP, _io_dup);
        H(_IO_SYNC, _io_sync);
        H(_IO_POWER, _io_power);
#undef H
    default:
        return sizeof(struct _io_combine);
    }
}

/* Whether the message at ctp->offset, `len` bytes received in all, is well formed: its
 * header is there (with the offset _IO_XTYPE_OFFSET puts after a read's or write's), and a
 * write claims no more data than the client sent, so a handler that trusts nbytes reads
 * no further than the message. */
static int well_formed(const resmgr_context_t *ctp, const resmgr_iomsgs_t *msg, size_t len)
{
    size_t head = header_size(msg->type);
    if (ctp->offset + head > len)
        return 0;
    if (msg->type != _IO_READ && msg->type != _IO_WRITE)
        return 1;
    if ((msg->read.i.xtype & _IO_XTYPE_MASK) == _IO_XTYPE_OFFSET)
        head += sizeof(struct _xtype_offset);
    size_t sent = ctp->info.srcmsglen > 0 ? (size_t)ctp->info.srcmsglen : 0;
    if (ctp->offset + head > len)
        return 0;
    return msg->type == _IO_READ || (sent >= ctp->offset + head && msg->write.i.nbytes <= sent - ctp->offset - head);
}

static int client_type(unsigned type)
{
    return type != _IO_RSVD_CLOSE_OCB && type != _IO_RSVD_UNBLOCK && type != _IO_RSVD && type != _IO_RSVD_LOCK_OCB &&
           type != _IO_RSVD_UNLOCK_OCB;
}

/* The connect handler for a subtype from _IO_CONNECT_OPEN on (NULL: none). */
static connect_func_t connect_func(const resmgr_connect_funcs_t *funcs, unsigned subtype)
{
    if (!funcs || subtype < _IO_CONNECT_OPEN || subtype - _IO_CONNECT_OPEN >= funcs->nfuncs)
        return NULL;
    return ((const connect_func_t *)&funcs->open)[subtype - _IO_CONNECT_OPEN];
}

/* ---- attachments ----------------------------------------------------------------------- */

static struct link *link_of(int id) /* table_lock held */
{
    struct link *l = links;
    while (l && l->id != id)
        l = l->next;
    return l;
}

/* A copy of what the link of `id` holds (0), or -1 when there is none. */
static int link_get(int id, struct link *out)
{
    pthread_mutex_lock(&table_lock);
    struct link *l = link_of(id);
    if (l)
        *out = *l;
    pthread_mutex_unlock(&table_lock);
    return l ? 0 : -1;
}

static void link_free(struct link *l)
{
    free(l->path);
    free(l);
}

static void link_remove(struct link *l)
{
    pthread_mutex_lock(&table_lock);
    struct link **p = &links;
    while (*p != l)
        p = &(*p)->next;
    *p = l->next;
    pthread_mutex_unlock(&table_lock);
    link_free(l);
}

/* resmgr_pathname()'s form of the path: a directory's ends with '/'. */
static char *path_copy(const char *path, unsigned flags)
{
    size_t n = strlen(path);
    int slash = (flags & _RESMGR_FLAG_DIR) && (n == 0 || path[n - 1] != '/');
    char *p = malloc(n + 2);
    if (p) {
        memcpy(p, path, n);
        strcpy(p + n, slash ? "/" : "");
    }
    return p;
}

int resmgr_attach(dispatch_t *dpp, resmgr_attr_t *attr, const char *path, enum _file_type file_type,
                  unsigned flags, const resmgr_connect_funcs_t *connect_funcs, const resmgr_io_funcs_t *io_funcs,
                  RESMGR_HANDLE_T *handle)
{
    resmgr_attr_t none;
    (void)file_type; /* every attachment answers any type (_FTYPE_ANY): there is no path manager */
    if (!attr) {
        memset(&none, 0, sizeof none);
        attr = &none;
    }
    if (neutrino_dispatch_resmgr(dpp, attr, MSG_MIN) == -1)
        return -1;
    /* As QNX: without a path (nor RESMGR_FLAG_ATTACH_LOCAL) the call only sets the
     * handle up for resource-manager messages. */
    if (!path && !(attr->flags & RESMGR_FLAG_ATTACH_LOCAL) && !(flags & _RESMGR_FLAG_FTYPEONLY))
        return 0;
    struct link *l = calloc(1, sizeof *l);
    if (!l || (path && !(l->path = path_copy(path, flags)))) {
        free(l);
        errno = ENOMEM;
        return -1;
    }
    l->dpp = dpp;
    l->connect = connect_funcs;
    l->io = io_funcs;
    l->handle = handle;
    pthread_mutex_lock(&table_lock);
    int id = 0;
    struct link **p = &links;
    for (; *p && (*p)->id == id; id++)
        p = &(*p)->next;
    l->id = id;
    l->next = *p;
    *p = l;
    pthread_mutex_unlock(&table_lock);
    if (path && !(attr->flags & RESMGR_FLAG_ATTACH_LOCAL)) {
        int chid = __libneutrino_dispatch_chid(dpp, 1);
        if (chid == -1 || __libneutrino_resmgr_mount(chid, id, path, flags) == -1) {
            int err = errno;
            link_remove(l);
            errno = err;
            return -1;
        }
        l->mounted = 1;
    }
    return id;
}

/* QNX 8.0's form with a security policy: the same attachment. */
int secpol_resmgr_attach(dispatch_t *dpp, resmgr_attr_t *attr, const char *path, enum _file_type file_type,
                         unsigned flags, const resmgr_connect_funcs_t *connect_funcs,
                         const resmgr_io_funcs_t *io_funcs, RESMGR_HANDLE_T *handle, void *secpol)
{
    (void)secpol;
    return resmgr_attach(dpp, attr, path, file_type, flags, connect_funcs, io_funcs, handle);
}

int resmgr_pathname(int id, unsigned flags, char *path, int maxbuf)
{
    int len = -1;
    (void)flags; /* one node: the local path is the only one */
    pthread_mutex_lock(&table_lock);
    struct link *l = link_of(id);
    if (l && l->path) {
        len = (int)strlen(l->path) + 1;
        if (path && maxbuf > 0) {
            size_t n = (size_t)(len < maxbuf ? len : maxbuf) - 1;
            memcpy(path, l->path, n);
            path[n] = '\0';
        }
    }
    pthread_mutex_unlock(&table_lock);
    if (len == -1)
        errno = EINVAL;
    return len;
}

/* ---- bindings ---------------------------------------------------------------------------- */

/* The slot of a connection (table_lock held), with the link before it for removal. */
static struct slot **slot_at(int scoid, int coid)
{
    struct slot **p = bucket(scoid, coid);
    while (*p && ((*p)->scoid != scoid || (*p)->coid != coid))
        p = &(*p)->next;
    return p;
}

/* The binding of a connection with a reference taken for the caller, or NULL. */
static struct binding *binding_get(int scoid, int coid)
{
    pthread_mutex_lock(&table_lock);
    struct slot *s = *slot_at(scoid, coid);
    struct binding *b = s ? s->b : NULL;
    if (b)
        b->count++;
    pthread_mutex_unlock(&table_lock);
    return b;
}

/* Binds a connection to b (the slot's reference is the caller's): 0, or -1 with EBUSY
 * when the connection has one already. */
static int slot_add(const struct _msg_info *info, struct binding *b, int origin_scoid, int origin_coid)
{
    struct slot *s = calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    s->scoid = info->scoid;
    s->coid = info->coid;
    s->pid = info->pid;
    s->b = b;
    s->origin_scoid = origin_scoid;
    s->origin_coid = origin_coid;
    pthread_mutex_lock(&table_lock);
    struct slot **p = slot_at(s->scoid, s->coid);
    int busy = *p != NULL;
    if (!busy) {
        s->next = *p;
        *p = s;
    }
    pthread_mutex_unlock(&table_lock);
    if (busy) {
        free(s);
        errno = EBUSY;
        return -1;
    }
    return 0;
}

/* Unbinds a connection (from `only` if not NULL); its binding, whose reference passes to
 * the caller, or NULL when it had none. */
static struct binding *slot_take(int scoid, int coid, const struct binding *only)
{
    pthread_mutex_lock(&table_lock);
    struct slot **p = slot_at(scoid, coid), *s = *p;
    if (s && only && s->b != only)
        s = NULL;
    if (s)
        *p = s->next;
    pthread_mutex_unlock(&table_lock);
    struct binding *b = s ? s->b : NULL;
    free(s);
    return b;
}

/* The first slot matching, unbound: a satellite of (scoid, coid) or, with scoid -1, one of
 * link `id`.  Its connection goes into *info. */
static struct binding *slot_take_first(int origin_scoid, int origin_coid, int id, struct _msg_info *info)
{
    struct slot *s = NULL, **p = NULL;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < NBUCKETS && !s; i++)
        for (p = &buckets[i]; (s = *p); p = &s->next)
            if (origin_scoid != -1 ? s->origin_scoid == origin_scoid && s->origin_coid == origin_coid
                                   : s->b->id == id)
                break;
    if (s)
        *p = s->next;
    pthread_mutex_unlock(&table_lock);
    if (!s)
        return NULL;
    struct binding *b = s->b;
    info->scoid = s->scoid;
    info->coid = s->coid;
    info->pid = s->pid;
    free(s);
    return b;
}

/* Drops a reference: the last one runs close_ocb (as QNX, with no client to reply to). */
static void binding_put(resmgr_context_t *ctp, struct binding *b)
{
    pthread_mutex_lock(&table_lock);
    int last = --b->count == 0;
    pthread_mutex_unlock(&table_lock);
    if (!last)
        return;
    _resmgr_func_t close_ocb = b->orphaned ? NULL : io_func(b->funcs, _IO_RSVD_CLOSE_OCB);
    if (close_ocb) {
        int rcvid = ctp->rcvid;
        ctp->rcvid = 0;
        close_ocb(ctp, NULL, b->ocb);
        ctp->rcvid = rcvid;
    }
    free(b);
}

int resmgr_open_bind(resmgr_context_t *ctp, RESMGR_OCB_T *ocb, const resmgr_io_funcs_t *iofuncs)
{
    struct link l;
    if (link_get(ctp->id, &l) == -1) {
        errno = ENOENT;
        return -1;
    }
    struct binding *b = calloc(1, sizeof *b);
    if (!b) {
        errno = ENOMEM;
        return -1;
    }
    b->ocb = ocb;
    b->funcs = iofuncs ? iofuncs : l.io;
    b->id = l.id;
    b->count = 1;
    if (slot_add(&ctp->info, b, -1, -1) == -1) {
        free(b);
        errno = EINVAL; /* as QNX's, whatever the cause */
        return -1;
    }
    return 0;
}

/* Undoes a resmgr_open_bind(): the OCB stays the caller's (no close_ocb). */
int resmgr_unbind(resmgr_context_t *ctp)
{
    struct binding *b = slot_take(ctp->info.scoid, ctp->info.coid, NULL);
    if (!b) {
        errno = EINVAL;
        return -1;
    }
    b->orphaned = 1;
    binding_put(ctp, b);
    return 0;
}

/* ---- ending bindings ---------------------------------------------------------------------- */

static void end_satellites(resmgr_context_t *ctp, int scoid, int coid);

/* Ends the binding of the connection in ctp->info, whose slot the caller took with b:
 * close_dup (with `msg`, or a made-up _IO_CLOSE), then the slot's reference, then the
 * satellites of that connection.  close_dup's status. */
static int end_binding(resmgr_context_t *ctp, struct binding *b, io_close_t *msg)
{
    io_close_t own = {.i = {.type = _IO_CLOSE, .combine_len = sizeof own.i}};
    _resmgr_func_t close_dup = io_func(b->funcs, _IO_CLOSE);
    int scoid = ctp->info.scoid, coid = ctp->info.coid;
    ctp->id = b->id;
    int n = close_dup ? close_dup(ctp, (resmgr_iomsgs_t *)(msg ? msg : &own), b->ocb) : EOK;
    binding_put(ctp, b);
    end_satellites(ctp, scoid, coid);
    return n;
}

/* Ends every binding of the connections in `info` that match (see slot_take_first), with
 * no client to reply to; ctp is as it was afterwards. */
static void end_matching(resmgr_context_t *ctp, int origin_scoid, int origin_coid, int id)
{
    struct _msg_info saved = ctp->info;
    int rcvid = ctp->rcvid, ctp_id = ctp->id;
    struct binding *b;
    ctp->rcvid = 0;
    while ((b = slot_take_first(origin_scoid, origin_coid, id, &ctp->info)))
        end_binding(ctp, b, NULL);
    ctp->info = saved;
    ctp->rcvid = rcvid;
    ctp->id = ctp_id;
}

static void end_satellites(resmgr_context_t *ctp, int scoid, int coid)
{
    end_matching(ctp, scoid, coid, -1);
}

int resmgr_detach(dispatch_t *dpp, int id, unsigned flags)
{
    pthread_mutex_lock(&table_lock);
    struct link *l = link_of(id);
    if (l && l->dpp != dpp)
        l = NULL;
    int mounted = l && l->mounted;
    if (l)
        l->mounted = 0;
    pthread_mutex_unlock(&table_lock);
    if (!l) {
        errno = ENOENT;
        return -1;
    }
    if (mounted)
        __libneutrino_resmgr_unmount(__libneutrino_dispatch_chid(dpp, 0), id);
    if (flags & _RESMGR_DETACH_PATHNAME)
        return 0; /* the open OCBs keep working */
    /* Every binding of the attachment goes: its clients get EBADF from now on; with
     * _RESMGR_DETACH_CLOSE the close handlers run, else the OCBs stay the program's. */
    resmgr_context_t ctp;
    struct binding *b;
    memset(&ctp, 0, sizeof ctp);
    ctp.dpp = dpp;
    ctp.rcvid = -1;
    while ((b = slot_take_first(-1, -1, id, &ctp.info))) {
        if (flags & _RESMGR_DETACH_CLOSE) {
            end_binding(&ctp, b, NULL);
        } else {
            b->orphaned = 1;
            binding_put(&ctp, b);
        }
    }
    link_remove(l);
    return 0;
}

/* ---- I/O messages ------------------------------------------------------------------------ */

/* Runs the I/O message at msg (in ctp->msg's buffer) and the ones combined after it on
 * b's OCB, consuming the caller's reference to b.  As QNX: the OCB is locked with
 * lock_ocb around the handlers; a message that is not the last of a combination gets
 * rcvid 0 (its handler must not reply); _IO_CLOSE ends the binding; a handler's status
 * other than EOK ends the chain and is the answer. */
static int io_run(resmgr_context_t *ctp, resmgr_iomsgs_t *msg, struct binding *b)
{
    int n = EBADMSG, locked = 0;
    size_t len = ctp->info.msglen > 0 ? (size_t)ctp->info.msglen : 0;
    ctp->id = b->id;
    while ((ctp->offset = (size_t)((char *)msg - (char *)ctp->msg)) + sizeof msg->combine <= len) {
        int rcvid = ctp->rcvid;
        size_t combine = 0;
        ctp->size = len - ctp->offset;
        if (msg->combine.combine_len & _IO_COMBINE_FLAG) {
            ctp->size = combine = msg->combine.combine_len & ~_IO_COMBINE_FLAG;
            ctp->rcvid = 0;
        }
        _resmgr_func_t func = client_type(msg->type) ? io_func(b->funcs, msg->type) : NULL;
        if (msg->type == _IO_CLOSE) {
            combine = 0;
            struct binding *own = slot_take(ctp->info.scoid, ctp->info.coid, b);
            if (own) {
                if (locked)
                    io_func(b->funcs, _IO_RSVD_UNLOCK_OCB)(ctp, NULL, b->ocb);
                locked = 0;
                n = end_binding(ctp, own, &msg->close);
            }
        } else if (!func) {
            n = ENOSYS;
        } else if (!well_formed(ctp, msg, len)) {
            n = EBADMSG;
        } else {
            _resmgr_func_t lock = io_func(b->funcs, _IO_RSVD_LOCK_OCB);
            if (!locked && lock && io_func(b->funcs, _IO_RSVD_UNLOCK_OCB)) {
                ctp->rcvid = rcvid;
                if ((n = lock(ctp, NULL, b->ocb)) != EOK)
                    break;
                locked = 1;
                ctp->rcvid = combine ? 0 : rcvid;
            }
            n = func(ctp, msg, b->ocb);
        }
        ctp->rcvid = rcvid;
        if (combine == 0 || combine < sizeof msg->combine || n != EOK)
            break;
        ctp->status = 0;
        msg = (resmgr_iomsgs_t *)((char *)msg + combine);
        n = EBADMSG;
    }
    if (locked)
        io_func(b->funcs, _IO_RSVD_UNLOCK_OCB)(ctp, NULL, b->ocb);
    binding_put(ctp, b);
    return n;
}

/* _IO_CLOSE: the binding ends (close_dup, then close_ocb with its last reference). */
static int close_handler(resmgr_context_t *ctp, resmgr_iomsgs_t *msg)
{
    struct binding *b = slot_take(ctp->info.scoid, ctp->info.coid, NULL);
    if (!b)
        return EBADF;
    ctp->offset = 0;
    ctp->size = (size_t)ctp->info.msglen;
    return end_binding(ctp, b, &msg->close);
}

/* The binding another connection (`info`) lets this client share, checked with the path
 * bridge's one-use allowance `key` (brief-11); a reference is the caller's. */
static struct binding *shared_binding(resmgr_context_t *ctp, const struct _msg_info *info, unsigned key)
{
    struct binding *b = binding_get(info->scoid, info->coid);
    if (b && !__libneutrino_resmgr_dup_allowed(info->scoid, info->coid, ctp->info.pid, key)) {
        binding_put(ctp, b);
        b = NULL;
    }
    return b;
}

/* _IO_DUP: the connection shares the OCB of the one the message names, as a satellite of
 * it.  As QNX: io_funcs->dup may refuse; binding an already bound connection is EBUSY. */
static int dup_handler(resmgr_context_t *ctp, resmgr_iomsgs_t *msg)
{
    const struct _msg_info *from = &msg->dup.i.info;
    if ((size_t)ctp->info.msglen < sizeof msg->dup.i)
        return EBADMSG;
    struct binding *b = shared_binding(ctp, from, msg->dup.i.key);
    if (!b)
        return EBADF;
    ctp->id = b->id;
    _resmgr_func_t func = io_func(b->funcs, _IO_DUP);
    int n = func ? func(ctp, msg, b->ocb) : EOK;
    if (n != EOK && n != _RESMGR_DEFAULT) {
        binding_put(ctp, b);
        return n;
    }
    if (slot_add(&ctp->info, b, from->scoid, from->coid) == -1) {
        n = errno;
        binding_put(ctp, b);
        return n;
    }
    return EOK; /* the slot keeps the reference */
}

/* _IO_OPENFD: a new open of the file behind the connection the message names (its
 * handler, iofunc_openfd_default, binds a new OCB to this connection). */
static int openfd_handler(resmgr_context_t *ctp, resmgr_iomsgs_t *msg)
{
    if ((size_t)ctp->info.msglen < sizeof msg->openfd.i)
        return EBADMSG;
    struct binding *b = shared_binding(ctp, &msg->openfd.i.info, msg->openfd.i.key);
    if (!b)
        return EBADF;
    ctp->id = b->id;
    ctp->offset = 0;
    ctp->size = (size_t)ctp->info.msglen;
    _resmgr_func_t func = io_func(b->funcs, _IO_OPENFD);
    int n = func ? func(ctp, msg, b->ocb) : ENOSYS;
    binding_put(ctp, b);
    return n;
}

/* ---- connect messages -------------------------------------------------------------------- */

/* COMBINE and COMBINE_CLOSE: open, run the combined message on the new OCB, then (for
 * _CLOSE) close it, whose status is not the answer; QNX's stat() is one. */
static int combine_handler(resmgr_context_t *ctp, resmgr_iomsgs_t *msg, const struct link *l)
{
    struct _io_connect *c = &msg->connect;
    connect_func_t open = connect_func(l->connect, _IO_CONNECT_OPEN);
    if (!open)
        return ENOSYS;
    ctp->size = offsetof(struct _io_connect, path) + c->path_len;
    int n = open(ctp, msg, l->handle, NULL);
    if (n != EOK || (ctp->status & _IO_CONNECT_RET_FLAG))
        return n;
    int closing = c->subtype == _IO_CONNECT_COMBINE_CLOSE;
    struct binding *b = binding_get(ctp->info.scoid, ctp->info.coid);
    if (!b)
        return EBADF; /* the open handler bound nothing */
    if (c->extra_len >= sizeof(struct _io_combine)) {
        ctp->status = 0;
        b->count++; /* io_run's own */
        n = io_run(ctp, (resmgr_iomsgs_t *)((char *)msg + AFTER_PATH(c)), b);
    }
    if (closing) {
        struct binding *own = slot_take(ctp->info.scoid, ctp->info.coid, b);
        if (own) {
            long status = ctp->status;
            int rcvid = ctp->rcvid;
            ctp->rcvid = 0;
            end_binding(ctp, own, NULL);
            ctp->rcvid = rcvid;
            ctp->status = status;
        }
    }
    binding_put(ctp, b);
    return n;
}

/* _IO_CONNECT: the attachment its handle names; as QNX, a NULL handler is the library's
 * default (ENOSYS) for every subtype, open included. */
static int connect_handler(resmgr_context_t *ctp, resmgr_iomsgs_t *msg)
{
    struct _io_connect *c = &msg->connect;
    struct link l;
    size_t len = ctp->info.msglen > 0 ? (size_t)ctp->info.msglen : 0;
    /* The path is a string within the message, and what follows it is there too: handlers
     * read both as QNX's kernel would have checked them. */
    if (len < sizeof *c || c->path_len == 0 || offsetof(struct _io_connect, path) + c->path_len > len ||
        !memchr(c->path, '\0', c->path_len) || (c->extra_len && AFTER_PATH(c) + c->extra_len > len))
        return EBADMSG;
    if (link_get((int)c->handle, &l) == -1)
        return ENOENT;
    ctp->id = l.id;
    ctp->offset = 0;
    if (!l.connect)
        return _RESMGR_DEFAULT;
    if (c->subtype == _IO_CONNECT_COMBINE || c->subtype == _IO_CONNECT_COMBINE_CLOSE)
        return combine_handler(ctp, msg, &l);
    connect_func_t func = c->subtype != _IO_CONNECT_RSVD_UNBLOCK ? connect_func(l.connect, c->subtype) : NULL;
    if (!func)
        return _RESMGR_DEFAULT;
    ctp->size = len;
    return func(ctp, msg, l.handle, (char *)msg + AFTER_PATH(c));
}

/* ---- pulses ------------------------------------------------------------------------------- */

/* _PULSE_CODE_DISCONNECT: every binding of the client's connections ends, then the
 * server connection goes. */
static int disconnect_handler(resmgr_context_t *ctp, int scoid)
{
    struct binding *b;
    ctp->info.scoid = scoid;
    for (;;) {
        pthread_mutex_lock(&table_lock);
        struct slot *s = NULL;
        for (int i = 0; i < NBUCKETS && !s; i++)
            for (s = buckets[i]; s && s->scoid != scoid; s = s->next)
                ;
        if (s) {
            ctp->info.coid = s->coid;
            ctp->info.pid = s->pid;
        }
        pthread_mutex_unlock(&table_lock);
        if (!s || !(b = slot_take(scoid, ctp->info.coid, NULL)))
            break;
        end_binding(ctp, b, NULL);
    }
    ConnectDetach(scoid);
    return _RESMGR_NOREPLY;
}

/* _PULSE_CODE_UNBLOCK for a client REPLY-blocked on us (its rcvid in the value): the
 * unblock handler of its OCB, or for a connect message its attachment's connect unblock
 * handler; ctp->rcvid is that client's, so a status replies to it. */
static int unblock_handler(resmgr_context_t *ctp, const io_pulse_t *pulse)
{
    io_pulse_t copy = *pulse;
    int rcvid = pulse->value.sival_int;
    /* The kernel's pulse names the blocked client's own connection; a client's forged one
     * (MsgSendPulse with this code and someone else's rcvid) names the forger's. */
    if (rcvid <= 0 || MsgInfo(rcvid, &ctp->info) == -1 || ctp->info.scoid != pulse->scoid)
        return _RESMGR_DEFAULT; /* dispatch_unblock()'s, a forgery, or the client is gone */
    ctp->rcvid = rcvid;
    struct binding *b = binding_get(ctp->info.scoid, ctp->info.coid);
    if (b) {
        ctp->id = b->id;
        _resmgr_func_t func = io_func(b->funcs, _IO_RSVD_UNBLOCK);
        int n = func ? func(ctp, (resmgr_iomsgs_t *)&copy, b->ocb) : _RESMGR_DEFAULT;
        binding_put(ctp, b);
        return n;
    }
    struct _io_connect c;
    struct link l;
    if (MsgRead(rcvid, &c, sizeof c, 0) != (ssize_t)sizeof c || c.type != _IO_CONNECT ||
        link_get((int)c.handle, &l) == -1)
        return _RESMGR_DEFAULT;
    ctp->id = l.id;
    connect_func_t func = connect_func(l.connect, _IO_CONNECT_RSVD_UNBLOCK);
    return func ? func(ctp, &copy, l.handle, NULL) : _RESMGR_DEFAULT;
}

/* ---- the router ---------------------------------------------------------------------------- */

/* A handler's answer, as QNX: _RESMGR_NOREPLY none, _RESMGR_NPARTS(n) ctp->iov[0..n] with
 * ctp->status, an errno (EOK is an empty reply with ctp->status).  _RESMGR_DEFAULT has
 * been through other_func already and is ENOSYS. */
static void answer(resmgr_context_t *ctp, int n)
{
    if (n == _RESMGR_NOREPLY || ctp->rcvid <= 0)
        return;
    if (n == _RESMGR_DEFAULT)
        n = ENOSYS;
    if (n <= 0)
        MsgReplyv(ctp->rcvid, ctp->status, ctp->iov, -n);
    else
        MsgError(ctp->rcvid, n);
}

/* The rest of a message longer than what MsgReceive() took, while the buffer has room. */
static int complete(resmgr_context_t *ctp)
{
    size_t have = (size_t)ctp->info.msglen;
    if ((size_t)ctp->info.srcmsglen <= have || have >= ctp->msg_max_size)
        return 0;
    ssize_t more = MsgRead(ctp->rcvid, (char *)ctp->msg + have, ctp->msg_max_size - have, have);
    if (more == -1)
        return -1;
    ctp->info.msglen += (int)more;
    return 0;
}

static int message(resmgr_context_t *ctp, resmgr_iomsgs_t *msg)
{
    struct binding *b;
    if (complete(ctp) == -1)
        return errno;
    switch (msg->type) {
    case _IO_CONNECT:
        return connect_handler(ctp, msg);
    case _IO_DUP:
        return dup_handler(ctp, msg);
    case _IO_OPENFD:
        return openfd_handler(ctp, msg);
    case _IO_CLOSE:
        return close_handler(ctp, msg);
    default:
        if (msg->type < _IO_BASE || msg->type > _IO_MAX)
            return _RESMGR_DEFAULT; /* not an I/O message: other_func's */
        if (!(b = binding_get(ctp->info.scoid, ctp->info.coid)))
            return EBADF;
        return io_run(ctp, msg, b);
    }
}

int neutrino_resmgr_route(resmgr_context_t *ctp, other_func_t other_func)
{
    resmgr_iomsgs_t *msg = ctp->msg;
    int n;
    ctp->status = 0;
    if (ctp->rcvid == 0) {
        io_pulse_t pulse = msg->pulse;
        if (pulse.code == _PULSE_CODE_DISCONNECT)
            n = disconnect_handler(ctp, pulse.scoid);
        else if (pulse.code == _PULSE_CODE_UNBLOCK)
            n = unblock_handler(ctp, &pulse);
        else
            n = _RESMGR_DEFAULT;
        if (n == _RESMGR_DEFAULT) {
            /* Nobody's: other_func may want it, no one is answered. */
            ctp->rcvid = 0;
            msg->pulse = pulse;
            if (other_func)
                other_func(ctp, msg);
            return 0;
        }
    } else {
        n = message(ctp, msg);
        if (n == _RESMGR_DEFAULT && other_func)
            n = other_func(ctp, msg);
    }
    answer(ctp, n);
    return 0;
}

/* ---- contexts ------------------------------------------------------------------------------ */

/* A resource manager's context is a dispatch context: the first member of the union. */
resmgr_context_t *resmgr_context_alloc(dispatch_t *dpp)
{
    return (resmgr_context_t *)dispatch_context_alloc(dpp);
}

void resmgr_context_free(resmgr_context_t *ctp)
{
    dispatch_context_free((dispatch_context_t *)ctp);
}

resmgr_context_t *resmgr_block(resmgr_context_t *ctp)
{
    return (resmgr_context_t *)dispatch_block((dispatch_context_t *)ctp);
}

void resmgr_unblock(resmgr_context_t *ctp)
{
    dispatch_unblock((dispatch_context_t *)ctp);
}

/* As QNX's: everything is answered here, so it returns 0 whatever happened. */
int resmgr_handler(resmgr_context_t *ctp)
{
    dispatch_handler((dispatch_context_t *)ctp);
    return 0;
}

