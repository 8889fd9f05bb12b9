/*
 * QNX's dispatch layer (<sys/dispatch.h>): message_attach()/pulse_attach() handlers on a
 * dispatch handle's channel, the contexts dispatch_block() receives into and
 * dispatch_handler() routes, dispatch_unblock()/dispatch_timeout(), message_connect(),
 * thread pools, and the resmgr_msg*() covers of MsgRead/MsgWrite/MsgReply.  Like QNX's,
 * it is a library over the kernel calls (MsgReceive, MsgReply, MsgSendPulse, ...).  It is
 * C because everything it touches is a C structure of QNX's headers (contexts, the
 * thread-pool attributes and their callbacks); the handle itself lives in the Rust name
 * service (src/kernel/names.rs), which gives us its channel and tells us when it dies.
 *
 * The resource-manager layer above (resmgr_attach, the _IO_* tables) is resmgr.c: once a
 * handle has an attachment, dispatch_handler() hands it the _IO_* messages and the
 * disconnect and unblock pulses.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>

#include "select.h"

/* src/capi/dispatch.rs: the channel of dpp (made on first use with `create`), or -1 and
 * EINVAL for an unknown handle or, without `create`, one without a channel. */
int __libneutrino_dispatch_chid(dispatch_t *dpp, int create);
/* Called by the name service when dpp is destroyed. */
void neutrino_dispatch_forget(dispatch_t *dpp);
/* resmgr.c: the resource-manager layer's share of dispatch_handler()'s work. */
typedef int (*other_func_t)(resmgr_context_t *ctp, void *msg);
int neutrino_resmgr_route(resmgr_context_t *ctp, other_func_t other_func) __attribute__((visibility("hidden")));
int neutrino_dispatch_resmgr(dispatch_t *dpp, const resmgr_attr_t *attr, size_t msg_min)
    __attribute__((visibility("hidden")));

typedef int (*msg_func_t)(message_context_t *ctp, int code, unsigned flags, void *handle);

#define ENTRY_PULSE 0x1   /* a pulse_attach() (or MSG_FLAG_TYPE_PULSE) code range */
#define ENTRY_DEFAULT 0x2 /* MSG_FLAG_DEFAULT_FUNC: what nothing else matches */

struct entry {
    int lo, hi;
    unsigned kind;
    msg_func_t func;
    void *handle;
};

/* What the dispatch layer keeps per handle (QNX's message_ctrl and timeout). */
struct disp {
    struct disp *next;
    dispatch_t *dpp;
    pthread_mutex_t lock; /* entries, timeout, unblock_coid */
    struct entry *entries;
    size_t nentries, cap;
    int attached;         /* a message_attach() ran: the context geometry is set */
    unsigned nparts_max;  /* iov entries in a context */
    size_t msg_max_size;  /* its receive buffer */
    int has_timeout;
    struct timespec timeout;
    int unblock_coid;     /* dispatch_unblock()'s side channel to the handle, 0 until used */
    int resmgr;           /* a resmgr_attach() ran: the _IO_* messages are the resmgr layer's */
    other_func_t other_func; /* the first resmgr_attr_t.other_func given */
    struct neutrino_select *select; /* select_attach()'s state (select.c), NULL until used */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct disp *registry;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork() child inherits no library state: its handles are not its parent's. */
static void forget_all_in_child(void)
{
    pthread_mutex_init(&registry_lock, NULL);
    registry = NULL;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_all_in_child);
}

/* The state of dpp; with `make`, created (with the handle's channel) when missing.  NULL
 * with errno set for a handle the name service does not know. */
static struct disp *disp_of(dispatch_t *dpp, int make)
{
    if (make && __libneutrino_dispatch_chid(dpp, 1) == -1)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    struct disp *d = registry;
    while (d && d->dpp != dpp)
        d = d->next;
    if (!d && make) {
        pthread_once(&atfork_once, register_atfork);
        d = calloc(1, sizeof *d);
        if (d) {
            d->dpp = dpp;
            pthread_mutex_init(&d->lock, NULL);
            d->next = registry;
            registry = d;
        } else {
            errno = ENOMEM;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (!d && !make)
        errno = EINVAL;
    return d;
}

void neutrino_dispatch_forget(dispatch_t *dpp)
{
    pthread_mutex_lock(&registry_lock);
    struct disp **p = &registry;
    while (*p && (*p)->dpp != dpp)
        p = &(*p)->next;
    struct disp *d = *p;
    if (d)
        *p = d->next;
    pthread_mutex_unlock(&registry_lock);
    if (!d)
        return;
    if (d->unblock_coid > 0)
        ConnectDetach(d->unblock_coid);
    neutrino_select_destroy(d->select);
    pthread_mutex_destroy(&d->lock);
    free(d->entries);
    free(d);
}

struct neutrino_select **neutrino_dispatch_select(dispatch_t *dpp)
{
    struct disp *d = disp_of(dpp, 1);
    return d ? &d->select : NULL;
}

/* ---- message_attach / pulse_attach ------------------------------------------------ */

/* Is `code` inside a pulse range already attached?  (d->lock held) */
static int pulse_code_taken(const struct disp *d, int code)
{
    for (size_t i = 0; i < d->nentries; i++)
        if ((d->entries[i].kind & ENTRY_PULSE) && code >= d->entries[i].lo && code <= d->entries[i].hi)
            return 1;
    return 0;
}

int message_attach(dispatch_t *dpp, message_attr_t *attr, int low, int high,
                   int (*func)(message_context_t *ctp, int code, unsigned flags, void *handle), void *handle)
{
    unsigned flags = attr ? attr->flags : 0;
    if (!func) {
        errno = EINVAL;
        return -1;
    }
    if ((flags & MSG_FLAG_TYPE_PULSE) && !(flags & MSG_FLAG_ALLOC_PULSE) && (low < SCHAR_MIN || high > SCHAR_MAX)) {
        errno = EINVAL; /* pulse codes are 8-bit */
        return -1;
    }
    struct disp *d = disp_of(dpp, 1);
    if (!d)
        return -1;
    pthread_mutex_lock(&d->lock);
    if (!d->attached) {
        /* As QNX: the first attachment fixes the contexts' geometry. */
        d->attached = 1;
        d->nparts_max = attr && attr->nparts_max > 1 ? attr->nparts_max : 1;
        d->msg_max_size = sizeof(resmgr_iomsgs_t);
        if (attr && attr->msg_max_size > d->msg_max_size)
            d->msg_max_size = attr->msg_max_size;
    }
    int rc = 0;
    if ((flags & MSG_FLAG_TYPE_PULSE) && (flags & MSG_FLAG_ALLOC_PULSE)) {
        low = _PULSE_CODE_MINAVAIL;
        while (low <= _PULSE_CODE_MAXAVAIL && pulse_code_taken(d, low))
            low++;
        if (low > _PULSE_CODE_MAXAVAIL) {
            pthread_mutex_unlock(&d->lock);
            errno = EAGAIN;
            return -1;
        }
        high = low;
    }
    if (d->nentries == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 8;
        struct entry *e = realloc(d->entries, cap * sizeof *e);
        if (!e) {
            pthread_mutex_unlock(&d->lock);
            errno = ENOMEM;
            return -1;
        }
        d->entries = e;
        d->cap = cap;
    }
    struct entry *e = &d->entries[d->nentries++];
    e->lo = low;
    e->hi = high;
    e->kind = (flags & MSG_FLAG_TYPE_PULSE ? ENTRY_PULSE : 0) | (flags & MSG_FLAG_DEFAULT_FUNC ? ENTRY_DEFAULT : 0);
    e->func = func;
    e->handle = handle;
    if (flags & MSG_FLAG_TYPE_PULSE)
        rc = low; /* the pulse code: the one allocated, or the caller's */
    pthread_mutex_unlock(&d->lock);
    return rc;
}

/* resmgr_attach()'s share: as QNX, a resource manager's contexts grow to the largest
 * geometry asked for (they already hold any connect message: msg_min), and the first
 * other_func given answers what no table does. */
int neutrino_dispatch_resmgr(dispatch_t *dpp, const resmgr_attr_t *attr, size_t msg_min)
{
    struct disp *d = disp_of(dpp, 1);
    if (!d)
        return -1;
    unsigned nparts = attr->nparts_max > 1 ? attr->nparts_max : 1;
    size_t size = attr->msg_max_size > msg_min ? attr->msg_max_size : msg_min;
    pthread_mutex_lock(&d->lock);
    if (!d->attached || nparts > d->nparts_max)
        d->nparts_max = nparts;
    if (!d->attached || size > d->msg_max_size)
        d->msg_max_size = size;
    d->attached = 1;
    d->resmgr = 1;
    if (!d->other_func)
        d->other_func = attr->other_func;
    pthread_mutex_unlock(&d->lock);
    return 0;
}

int pulse_attach(dispatch_t *dpp, int flags, int code,
                 int (*func)(message_context_t *ctp, int code, unsigned flags, void *handle), void *handle)
{
    message_attr_t attr = {.flags = MSG_FLAG_TYPE_PULSE | (flags & MSG_FLAG_ALLOC_PULSE)};
    return message_attach(dpp, &attr, code, code, func, handle);
}

int message_detach(dispatch_t *dpp, int low, int high, int flags)
{
    struct disp *d = disp_of(dpp, 0);
    if (!d)
        return -1;
    unsigned want = flags & MSG_FLAG_TYPE_PULSE ? ENTRY_PULSE : 0;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->nentries; i++) {
        const struct entry *e = &d->entries[i];
        int same = e->lo == low && e->hi == high && (e->kind & ENTRY_PULSE) == want;
        if (same || ((flags & MSG_FLAG_DEFAULT_FUNC) && (e->kind & ENTRY_DEFAULT))) {
            memmove(&d->entries[i], &d->entries[i + 1], (d->nentries - i - 1) * sizeof *e);
            d->nentries--;
            pthread_mutex_unlock(&d->lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&d->lock);
    errno = EINVAL;
    return -1;
}

int pulse_detach(dispatch_t *dpp, int code, int flags)
{
    (void)flags;
    return message_detach(dpp, code, code, MSG_FLAG_TYPE_PULSE);
}

int message_connect(dispatch_t *dpp, int flags)
{
    int chid = __libneutrino_dispatch_chid(dpp, 0);
    if (chid == -1)
        return -1;
    return ConnectAttach(0, 0, chid, flags & MSG_FLAG_SIDE_CHANNEL ? _NTO_SIDE_CHANNEL : 0, 0);
}

/* ---- contexts, blocking and routing ------------------------------------------------ */

dispatch_context_t *dispatch_context_alloc(dispatch_t *dpp)
{
    /* As QNX: something must be attached, and name_attach() counts (QNX's attaches its
     * own handlers); the default geometry is then a resmgr_iomsgs_t and one iov. */
    unsigned nparts = 1;
    size_t msg_max = sizeof(resmgr_iomsgs_t);
    int attached = 0;
    struct disp *d = disp_of(dpp, 0);
    if (d) {
        pthread_mutex_lock(&d->lock);
        if ((attached = d->attached)) {
            nparts = d->nparts_max;
            msg_max = d->msg_max_size;
        }
        pthread_mutex_unlock(&d->lock);
    }
    if (!attached && __libneutrino_dispatch_chid(dpp, 0) == -1)
        return NULL;
    /* One block: the context with its nparts iovs, the receive buffer, the extra part.
     * The buffer has a resmgr_iomsgs_t more than is received into it: a message may start
     * anywhere in what came (a combine chain), and its handler reads its header and writes
     * its reply (msg->o) in place, as on QNX, whatever a client made of the chain. */
    size_t head = offsetof(resmgr_context_t, iov) + nparts * sizeof(iov_t);
    if (head < sizeof(dispatch_context_t))
        head = sizeof(dispatch_context_t);
    head = (head + 15) & ~(size_t)15;
    size_t body = (msg_max + sizeof(resmgr_iomsgs_t) + 15) & ~(size_t)15;
    char *block = calloc(1, head + body + sizeof(struct _extended_context));
    if (!block) {
        errno = ENOMEM;
        return NULL;
    }
    dispatch_context_t *ctp = (dispatch_context_t *)block;
    message_context_t *c = &ctp->message_context;
    c->dpp = dpp;
    c->msg = (resmgr_iomsgs_t *)(block + head);
    c->msg_max_size = msg_max;
    c->extra = (struct _extended_context *)(block + head + body);
    c->extra->length = sizeof(struct _extended_context);
    c->id = -1;
    return ctp;
}

void dispatch_context_free(dispatch_context_t *ctp)
{
    free(ctp);
}

dispatch_context_t *dispatch_block(dispatch_context_t *ctp)
{
    if (!ctp) {
        errno = EINVAL;
        return NULL;
    }
    message_context_t *c = &ctp->message_context;
    int chid = __libneutrino_dispatch_chid(c->dpp, 0);
    if (chid == -1)
        return NULL;
    struct disp *d = disp_of(c->dpp, 0);
    if (d && __atomic_load_n(&d->select, __ATOMIC_ACQUIRE) && neutrino_select_rearm(ctp))
        return ctp; /* a select_attach()ed descriptor was ready already */
    if (d) {
        pthread_mutex_lock(&d->lock);
        int has = d->has_timeout;
        struct timespec t = d->timeout;
        pthread_mutex_unlock(&d->lock);
        if (has) {
            uint64_t ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
            if (TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL) == -1)
                return NULL;
        }
    }
    c->id = -1;
    c->info.msglen = 0;
    c->rcvid = MsgReceive(chid, c->msg, c->msg_max_size, &c->info);
    /* A timeout is no failure: the context comes back with rcvid -1, as on QNX. */
    if (c->rcvid == -1 && errno != ETIMEDOUT)
        return NULL;
    return ctp;
}

void dispatch_unblock(dispatch_context_t *ctp)
{
    if (!ctp)
        return;
    struct disp *d = disp_of(ctp->message_context.dpp, 1);
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    if (d->unblock_coid <= 0) {
        int chid = __libneutrino_dispatch_chid(d->dpp, 0);
        d->unblock_coid = chid == -1 ? -1 : ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_CLOEXEC);
    }
    int coid = d->unblock_coid;
    pthread_mutex_unlock(&d->lock);
    /* As QNX: an unblock pulse of value 0 (no client) wakes one blocked thread. */
    if (coid > 0)
        MsgSendPulse(coid, -1, _PULSE_CODE_UNBLOCK, 0);
}

int dispatch_timeout(dispatch_t *dpp, struct timespec *reltime)
{
    struct disp *d = disp_of(dpp, 1);
    if (!d)
        return -1;
    pthread_mutex_lock(&d->lock);
    d->has_timeout = reltime != NULL;
    if (reltime)
        d->timeout = *reltime;
    pthread_mutex_unlock(&d->lock);
    return 0;
}

/* Does the resource-manager layer take this message or pulse rather than the entry that
 * matched (`hit`, a non-default one, or NULL)?  Its _IO_* messages and the kernel's
 * disconnect and unblock pulses, except an _IO_MSG a message_attach() range covers. */
static int for_resmgr(const message_context_t *c, int code, const struct entry *hit)
{
    if (c->rcvid == 0)
        return code == _PULSE_CODE_DISCONNECT || code == _PULSE_CODE_UNBLOCK;
    uint16_t type = (uint16_t)code;
    return type >= _IO_BASE && type <= _IO_MAX && !(type == _IO_MSG && hit);
}

int dispatch_handler(dispatch_context_t *ctp)
{
    if (!ctp)
        return -1;
    message_context_t *c = &ctp->message_context;
    if (c->rcvid == -1)
        return -1; /* dispatch_block() timed out */
    if (c->rcvid != 0 && c->info.msglen < 2) {
        MsgError(c->rcvid, EINVAL); /* no type to route on */
        return -1;
    }
    int code = c->rcvid == 0 ? c->msg->pulse.code : c->msg->type;
    msg_func_t func = NULL;
    void *handle = NULL;
    int resmgr = 0;
    other_func_t other = NULL;
    struct disp *d = disp_of(c->dpp, 0);
    if (d) {
        const struct entry *def = NULL, *hit = NULL;
        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i < d->nentries && !hit; i++) {
            const struct entry *e = &d->entries[i];
            if (e->kind & ENTRY_DEFAULT)
                def = def ? def : e;
            else if (c->rcvid == 0 && (e->kind & ENTRY_PULSE) && code >= e->lo && code <= e->hi)
                hit = e;
            else if (c->rcvid != 0 && !(e->kind & ENTRY_PULSE) && (uint16_t)code >= (uint16_t)e->lo &&
                     (uint16_t)code <= (uint16_t)e->hi)
                hit = e;
        }
        /* A message no entry matches reaches the resource-manager layer (its other_func,
         * or ENOSYS) only when no default entry takes it either. */
        if (d->resmgr && (for_resmgr(c, code, hit) || (!hit && !def))) {
            resmgr = 1;
            other = d->other_func;
        } else if ((hit = hit ? hit : def)) {
            func = hit->func;
            handle = hit->handle;
        }
        pthread_mutex_unlock(&d->lock);
    }
    if (resmgr)
        return neutrino_resmgr_route(c, other);
    if (func)
        return func(c, code, 0, handle);
    /* Nothing attached for it: a message is refused, a pulse dropped, as QNX does. */
    if (c->rcvid != 0)
        MsgError(c->rcvid, ENOSYS);
    return -1;
}

/* ---- message transfer for handlers ------------------------------------------------- */

/* Reads are relative to ctp->offset (the message's start in the client's buffer); writes
 * address the reply buffer from its start; replies carry ctp->status, as QNX's. */
ssize_t resmgr_msgread(resmgr_context_t *ctp, void *msg, size_t size, size_t offset)
{
    return MsgRead(ctp->rcvid, msg, size, ctp->offset + offset);
}

ssize_t resmgr_msgreadv(resmgr_context_t *ctp, iov_t *rmsg, int rparts, size_t offset)
{
    return MsgReadv(ctp->rcvid, rmsg, rparts, ctp->offset + offset);
}

/* What the receive buffer holds first, the rest from the client (never past the end of
 * the client's message). */
ssize_t resmgr_msgget(resmgr_context_t *ctp, void *msg, size_t size, size_t offset)
{
    size_t at = ctp->offset + offset, held = ctp->info.msglen > 0 ? (size_t)ctp->info.msglen : 0, local = 0;
    if (held > ctp->msg_max_size)
        held = ctp->msg_max_size;
    if (at < held) {
        local = held - at < size ? held - at : size;
        memcpy(msg, (const char *)ctp->msg + at, local);
    }
    if (local == size)
        return (ssize_t)local;
    ssize_t more = MsgRead(ctp->rcvid, (char *)msg + local, size - local, at + local);
    return more == -1 ? -1 : (ssize_t)local + more;
}

ssize_t resmgr_msgwrite(resmgr_context_t *ctp, const void *msg, size_t size, size_t offset)
{
    return MsgWrite(ctp->rcvid, msg, size, offset);
}

ssize_t resmgr_msgwritev(resmgr_context_t *ctp, const iov_t *smsg, int sparts, size_t offset)
{
    return MsgWritev(ctp->rcvid, smsg, sparts, offset);
}

int resmgr_msgreply(resmgr_context_t *ctp, void *ptr, size_t len)
{
    return MsgReply(ctp->rcvid, ctp->status, ptr, len);
}

int resmgr_msgreplyv(resmgr_context_t *ctp, iov_t *iov, int parts)
{
    return MsgReplyv(ctp->rcvid, ctp->status, iov, parts);
}

/* ---- thread pools ------------------------------------------------------------------ */

struct _thread_pool {
    thread_pool_attr_t attr;
    unsigned flags;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a thread ended (thread_pool_destroy waits for none) */
    int created;            /* threads of the pool, the ones starting included */
    int waiting;            /* threads in block_func */
    int starting;           /* created, not yet blocking */
};

static void *pool_thread(void *arg);

/* Adjusts the counts; then, as QNX's pool, creates threads while fewer than lo_water wait:
 * up to lo_water at first, then `increment` at a time, never past hi_water waiting nor
 * past `maximum` in all. */
static void pool_update(thread_pool_t *pool, int waiting, int starting)
{
    const thread_pool_attr_t *a = &pool->attr;
    pthread_mutex_lock(&pool->lock);
    pool->waiting += waiting;
    pool->starting += starting;
    int idle = pool->waiting + pool->starting, add = 0;
    if (idle < a->lo_water && pool->created < a->maximum) {
        if (pool->created < a->lo_water)
            add = a->lo_water - pool->created;
        else if (idle + a->increment > a->hi_water)
            add = a->hi_water - idle;
        else
            add = a->increment;
        if (pool->created + add > a->maximum)
            add = a->maximum - pool->created;
    }
    if (add <= 0) {
        pthread_mutex_unlock(&pool->lock);
        return;
    }
    pool->created += add;
    pool->starting += add;
    pthread_mutex_unlock(&pool->lock);
    while (add--) {
        pthread_t t;
        if (pthread_create(&t, a->attr, pool_thread, pool) != 0) {
            pthread_mutex_lock(&pool->lock);
            pool->created--;
            pool->starting--;
            pthread_cond_broadcast(&pool->changed);
            pthread_mutex_unlock(&pool->lock);
        }
    }
}

/* A pool thread's life: block, handle, and leave when enough others wait (more than
 * hi_water), or when the pool is being destroyed. */
static void pool_run(thread_pool_t *pool, THREAD_POOL_PARAM_T *ctp)
{
    for (;;) {
        THREAD_POOL_PARAM_T *old = ctp;
        ctp = pool->attr.block_func(ctp);
        pool_update(pool, -1, 0);
        if (pool->attr.handler_func(ctp) == -1 || !ctp)
            ctp = old; /* as QNX: block again with the context we had */
        pthread_mutex_lock(&pool->lock);
        if ((pool->waiting >= pool->attr.hi_water && pool->waiting >= pool->attr.lo_water) ||
            (pool->flags & POOL_FLAG_EXITING))
            break;
        pool->waiting++;
        pthread_mutex_unlock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    /* Freed before the thread stops counting: thread_pool_destroy returns only once every
     * thread's context is gone. */
    pool->attr.context_free(ctp);
    pthread_mutex_lock(&pool->lock);
    pool->created--;
    pthread_cond_broadcast(&pool->changed);
    pthread_mutex_unlock(&pool->lock);
}

static void *pool_thread(void *arg)
{
    thread_pool_t *pool = arg;
    pthread_detach(pthread_self());
    THREAD_POOL_PARAM_T *ctp = pool->attr.context_alloc(pool->attr.handle);
    if (!ctp) {
        pthread_mutex_lock(&pool->lock);
        pool->created--;
        pool->starting--;
        pthread_cond_broadcast(&pool->changed);
        pthread_mutex_unlock(&pool->lock);
        return NULL;
    }
    pool_update(pool, 1, -1);
    pool_run(pool, ctp);
    return NULL;
}

thread_pool_t *thread_pool_create(thread_pool_attr_t *pool_attr, unsigned flags)
{
    if (!pool_attr || !pool_attr->context_alloc || !pool_attr->context_free || !pool_attr->block_func ||
        !pool_attr->handler_func) {
        errno = EINVAL;
        return NULL;
    }
    thread_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool) {
        errno = ENOMEM;
        return NULL;
    }
    pool->attr = *pool_attr;
    pool->flags = flags & ~(unsigned)(POOL_FLAG_EXITING | POOL_FLAG_CHANGING);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->changed, NULL);
    return pool;
}

int thread_pool_start(void *arg)
{
    thread_pool_t *pool = arg;
    if (!pool) {
        errno = EINVAL;
        return -1;
    }
    thread_pool_attr_t *a = &pool->attr;
    /* QNX's normalisation: hi_water no more than maximum, lo_water no more than hi_water. */
    pthread_mutex_lock(&pool->lock);
    if (a->hi_water > a->maximum)
        a->hi_water = a->maximum;
    if (a->lo_water > a->hi_water)
        a->lo_water = a->hi_water;
    pool->created++;
    pool->starting++;
    pthread_mutex_unlock(&pool->lock);
    if (pool->flags & POOL_FLAG_USE_SELF) {
        /* The caller becomes the pool's first thread and never comes back. */
        pool_thread(pool);
        pthread_exit(NULL);
    }
    pthread_t t;
    int err = pthread_create(&t, a->attr, pool_thread, pool);
    if (err) {
        pthread_mutex_lock(&pool->lock);
        pool->created--;
        pool->starting--;
        pthread_mutex_unlock(&pool->lock);
        errno = err;
        return -1;
    }
    if (pool->flags & POOL_FLAG_EXIT_SELF) {
        pthread_detach(pthread_self());
        pthread_exit(NULL);
    }
    return 0;
}

int thread_pool_destroy(thread_pool_t *pool)
{
    if (!pool) {
        errno = EINVAL;
        return -1;
    }
    /* No thread may start any more, and every one leaves after its next wake-up. */
    pthread_mutex_lock(&pool->lock);
    pool->flags |= POOL_FLAG_EXITING;
    pool->attr.maximum = pool->attr.hi_water = pool->attr.lo_water = 0;
    int n = pool->created;
    pthread_mutex_unlock(&pool->lock);
    if (pool->attr.unblock_func) {
        THREAD_POOL_PARAM_T *ctp = pool->attr.context_alloc(pool->attr.handle);
        if (ctp) {
            while (n-- > 0)
                pool->attr.unblock_func(ctp);
            pool->attr.context_free(ctp);
        }
    }
    pthread_mutex_lock(&pool->lock);
    while (pool->created > 0)
        pthread_cond_wait(&pool->changed, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    pthread_cond_destroy(&pool->changed);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
    return 0;
}
