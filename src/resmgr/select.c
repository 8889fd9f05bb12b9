/*
 * select_attach()/select_detach(): descriptors watched from a dispatch loop, as QNX's
 * dispatch library does it (lib/c/dispatch/dispatch_select.c): each dispatch_block()
 * first arms every attached descriptor that is not armed or being handled; one that is
 * ready already comes back at once as a pulse of the handle's select code, the others are
 * armed, and when one becomes ready a pulse of that code reaches the handle's channel.
 * dispatch_handler() gives the pulse to the descriptor's function, with the conditions
 * that hold; the descriptor is armed again at the next dispatch_block(), unless it was
 * attached with SELECT_FLAG_NOREARM (armed once only).
 *
 * QNX arms with _IO_NOTIFY to the descriptor's resource manager; here a thread of the
 * library (one per handle with attachments, named neutrino-select) waits in epoll for the
 * armed descriptors (EPOLLONESHOT: one pulse per arming) and sends the pulse.  A pulse's
 * value names the attachment by index and serial number, so a pulse for a descriptor
 * detached (or attached again) meanwhile is recognised and dropped.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/neutrino.h>
#include <unistd.h>

#include "select.h"

#define CONDS (SELECT_FLAG_READ | SELECT_FLAG_WRITE | SELECT_FLAG_EXCEPT)
/* A pulse value: the conditions in the top bits, the serial number, the index. */
#define INDEX_BITS 12
#define SN_BITS 12
#define MAX_ATTACH (1u << INDEX_BITS)
#define SN_MASK ((1u << SN_BITS) - 1)
#define VALUE(i, sn, conds) ((unsigned)(i) | ((unsigned)(sn) & SN_MASK) << INDEX_BITS | ((conds) & CONDS))
#define VALUE_INDEX(v) ((v) & (MAX_ATTACH - 1))
#define VALUE_SN(v) (((v) >> INDEX_BITS) & SN_MASK)

typedef int (*select_func_t)(select_context_t *ctp, int fd, unsigned flags, void *handle);

struct attachment {
    int valid;
    int fd;
    unsigned conds;  /* SELECT_FLAG_READ/WRITE/EXCEPT */
    unsigned sn;
    int norearm;
    int armed_once;
    int armed;       /* in epoll, waiting */
    int handling;    /* its pulse is out or its function runs: not armed again meanwhile */
    select_func_t func;
    void *handle;
};

struct neutrino_select {
    pthread_mutex_t lock;
    struct attachment *v;
    unsigned n, cap;
    unsigned sernum;
    int code;  /* the pulse code pulse_attach() gave us */
    int coid;  /* a side channel to the handle's channel */
    int epfd;
    int stopfd;
    pthread_t thread;
};

static unsigned epoll_events(unsigned conds)
{
    return (conds & SELECT_FLAG_READ ? EPOLLIN | EPOLLRDHUP : 0u) | (conds & SELECT_FLAG_WRITE ? EPOLLOUT : 0u) |
           (conds & SELECT_FLAG_EXCEPT ? EPOLLPRI : 0u);
}

/* The conditions `revents` (poll's or epoll's) satisfy among `conds`; an error or hang-up
 * satisfies them all, as select() reports it (the function's read or write then says what). */
static unsigned conds_of(unsigned revents, unsigned conds)
{
    if (revents & (POLLERR | POLLHUP | POLLNVAL))
        return conds;
    unsigned got = (revents & (POLLIN | POLLRDHUP) ? SELECT_FLAG_READ : 0u) |
                   (revents & POLLOUT ? SELECT_FLAG_WRITE : 0u) | (revents & POLLPRI ? SELECT_FLAG_EXCEPT : 0u);
    return got & conds;
}

static void *watch(void *arg)
{
    struct neutrino_select *s = arg;
    struct epoll_event ev[16];
    for (;;) {
        int n = epoll_wait(s->epfd, ev, 16, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return NULL;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == UINT64_MAX)
                return NULL; /* neutrino_select_destroy() */
            unsigned v = (unsigned)ev[i].data.u64;
            unsigned got = conds_of(ev[i].events, v & CONDS);
            /* Never blocks; a full queue (2048 pulses) drops it: the descriptor stays
             * unarmed until select_detach(), and the loop is not wedged. */
            MsgSendPulse(s->coid, -1, s->code, (int)((v & ~CONDS) | got));
        }
    }
}

static int select_pulse(message_context_t *ctp, int code, unsigned flags, void *handle);

/* Taken while a handle's state is made (a fork child starts with it free). */
static pthread_mutex_t make_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void make_lock_prepare(void)
{
    pthread_mutex_lock(&make_lock);
}

static void make_lock_release(void)
{
    pthread_mutex_unlock(&make_lock);
}

static void register_atfork(void)
{
    pthread_atfork(make_lock_prepare, make_lock_release, make_lock_release);
}

static struct neutrino_select *make_state(dispatch_t *dpp);

/* The handle's select state, made with its thread on first use. */
static struct neutrino_select *state_of(dispatch_t *dpp)
{
    struct neutrino_select **slot = neutrino_dispatch_select(dpp);
    if (!slot)
        return NULL;
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&make_lock);
    struct neutrino_select *s = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!s && (s = make_state(dpp)))
        __atomic_store_n(slot, s, __ATOMIC_RELEASE); /* dispatch_block() looks without the lock */
    pthread_mutex_unlock(&make_lock);
    return s;
}

static struct neutrino_select *make_state(dispatch_t *dpp)
{
    struct neutrino_select *s = calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->stopfd = eventfd(0, EFD_CLOEXEC);
    s->coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    s->code = pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, select_pulse, s);
    struct epoll_event stop = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    int ok = s->epfd >= 0 && s->stopfd >= 0 && s->coid != -1 && s->code != -1 &&
             epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &stop) == 0;
    if (ok) {
        /* A thread of the library: signals sent to the process are the application's. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int e = pthread_create(&s->thread, NULL, watch, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e == 0)
            pthread_setname_np(s->thread, "neutrino-select");
        else
            ok = 0, errno = e;
    }
    if (!ok) {
        int e = errno;
        if (s->code != -1)
            pulse_detach(dpp, s->code, 0);
        if (s->coid != -1)
            ConnectDetach(s->coid);
        if (s->epfd >= 0)
            close(s->epfd);
        if (s->stopfd >= 0)
            close(s->stopfd);
        pthread_mutex_destroy(&s->lock);
        free(s);
        errno = e;
        return NULL;
    }
    return s;
}

int select_attach(void *dpp, select_attr_t *attr, int fd, unsigned flags, select_func_t func, void *handle)
{
    (void)attr; /* QNX defines no attribute flags */
    if (!func || fd < 0 || !(flags & CONDS)) {
        errno = EINVAL;
        return -1;
    }
    if (flags & SELECT_FLAG_SRVEXCEPT) {
        errno = ENOSYS; /* server death through select: not supported (README) */
        return -1;
    }
    struct neutrino_select *s = state_of(dpp);
    if (!s)
        return -1;
    pthread_mutex_lock(&s->lock);
    for (unsigned j = 0; j < s->n; j++) {
        if (s->v[j].valid && s->v[j].fd == fd) {
            pthread_mutex_unlock(&s->lock);
            errno = EBUSY; /* one attachment per descriptor (select_detach() names it by fd) */
            return -1;
        }
    }
    unsigned i = 0;
    while (i < s->n && s->v[i].valid)
        i++;
    if (i == s->n && s->n == s->cap) {
        unsigned cap = s->cap ? 2 * s->cap : 8;
        struct attachment *v = cap <= MAX_ATTACH ? realloc(s->v, cap * sizeof *v) : NULL;
        if (!v) {
            pthread_mutex_unlock(&s->lock);
            errno = cap <= MAX_ATTACH ? ENOMEM : EAGAIN;
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    if (i == s->n)
        s->n++;
    s->v[i] = (struct attachment){.valid = 1, .fd = fd, .conds = flags & CONDS, .sn = ++s->sernum & SN_MASK,
                                  .norearm = !!(flags & SELECT_FLAG_NOREARM), .func = func, .handle = handle};
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int select_detach(void *dpp, int fd)
{
    struct neutrino_select **slot = neutrino_dispatch_select(dpp);
    struct neutrino_select *s = slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : NULL;
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->n; i++) {
        if (s->v[i].valid && s->v[i].fd == fd) {
            if (s->v[i].armed)
                epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
            s->v[i].valid = 0;
            pthread_mutex_unlock(&s->lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&s->lock);
    errno = EINVAL;
    return -1;
}

/* Arms attachment i (s->lock held); 1 with *value set when its descriptor is ready now. */
static int arm(struct neutrino_select *s, unsigned i, unsigned *value)
{
    struct attachment *a = &s->v[i];
    struct pollfd p = {.fd = a->fd, .events = (short)epoll_events(a->conds)};
    a->armed_once = 1;
    unsigned got = poll(&p, 1, 0) == 1 ? conds_of((unsigned)p.revents, a->conds) : 0;
    if (got) {
        a->handling = 1;
        *value = VALUE(i, a->sn, got);
        return 1;
    }
    struct epoll_event ev = {.events = epoll_events(a->conds) | EPOLLONESHOT,
                             .data.u64 = VALUE(i, a->sn, a->conds)};
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, a->fd, &ev) != 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, a->fd, &ev) != 0) {
        a->valid = 0; /* a descriptor epoll cannot watch (closed, a regular file): QNX drops it too */
        return 0;
    }
    a->armed = 1;
    return 0;
}

int neutrino_select_rearm(dispatch_context_t *ctp)
{
    message_context_t *c = &ctp->message_context;
    struct neutrino_select **slot = neutrino_dispatch_select(c->dpp);
    struct neutrino_select *s = slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : NULL;
    if (!s)
        return 0;
    unsigned value = 0;
    int ready = 0;
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->n && !ready; i++) {
        struct attachment *a = &s->v[i];
        if (a->valid && !a->armed && !a->handling && !(a->norearm && a->armed_once))
            ready = arm(s, i, &value);
    }
    pthread_mutex_unlock(&s->lock);
    if (!ready)
        return 0;
    /* As QNX: the context comes back holding the pulse the arming would have sent. */
    c->rcvid = 0;
    memset(&c->info, 0, sizeof c->info);
    memset(&c->msg->pulse, 0, sizeof c->msg->pulse);
    c->msg->pulse.code = (int8_t)s->code;
    c->msg->pulse.value.sival_int = (int)value;
    return 1;
}

static int select_pulse(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)code, (void)flags;
    struct neutrino_select *s = handle;
    unsigned v = (unsigned)ctp->msg->pulse.value.sival_int, i = VALUE_INDEX(v);
    pthread_mutex_lock(&s->lock);
    struct attachment *a = i < s->n ? &s->v[i] : NULL;
    if (!a || !a->valid || a->sn != VALUE_SN(v)) {
        pthread_mutex_unlock(&s->lock);
        return 0; /* detached (or attached anew) since */
    }
    a->armed = 0;
    a->handling = 1;
    int fd = a->fd;
    unsigned conds = v & a->conds;
    select_func_t func = a->func;
    void *h = a->handle;
    unsigned sn = a->sn;
    pthread_mutex_unlock(&s->lock);
    /* The function gets a select context of its own: select_context_t's layout is not the
     * message context's here (its info union holds Linux's larger siginfo_t). */
    select_context_t sc;
    memset(&sc, 0, sizeof sc);
    sc.msg = ctp->msg;
    sc.dpp = ctp->dpp;
    sc.fd = fd;
    sc.tid = (unsigned)gettid();
    int r = func(&sc, fd, conds, h);
    pthread_mutex_lock(&s->lock);
    if (i < s->n && s->v[i].valid && s->v[i].sn == sn)
        s->v[i].handling = 0;
    pthread_mutex_unlock(&s->lock);
    return r;
}

void neutrino_select_destroy(struct neutrino_select *s)
{
    if (!s)
        return;
    uint64_t one = 1;
    if (write(s->stopfd, &one, sizeof one) == sizeof one)
        pthread_join(s->thread, NULL);
    ConnectDetach(s->coid);
    close(s->epfd);
    close(s->stopfd);
    pthread_mutex_destroy(&s->lock);
    free(s->v);
    free(s);
}
