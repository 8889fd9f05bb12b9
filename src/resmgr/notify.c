/*
 * Notification, QNX's way (lib/c/iofunc/iofunc_notify.c and ionotify()): a client sends
 * _IO_NOTIFY with the conditions it wants and an event; the resource manager's io_notify
 * handler passes the conditions that hold to iofunc_notify(), which answers them and, when
 * none holds and the client asked to be armed, keeps the event for the client's rcvid;
 * iofunc_notify_trigger() later delivers it (MsgDeliverEvent, once) when the condition
 * starts to hold, and iofunc_notify_remove() forgets a closing client's events.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/iofunc.h>
#include <sys/neutrino.h>
#include <unistd.h>

/* The entry of `rcvid`'s connection on one condition, made if missing. */
static iofunc_notify_event_t *entry_of(iofunc_notify_t *nop, const resmgr_context_t *ctp)
{
    for (iofunc_notify_event_t *e = nop->list; e; e = e->next)
        if (e->scoid == ctp->info.scoid && e->coid == ctp->info.coid)
            return e;
    iofunc_notify_event_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->next = nop->list;
    nop->list = e;
    return e;
}

int iofunc_notify(resmgr_context_t *ctp, io_notify_t *msg, iofunc_notify_t *nop, int trig, const int *notifycnts,
                  int *armed)
{
    static const int ones[3] = {1, 1, 1};
    static const unsigned conds[3] = {_NOTIFY_COND_INPUT, _NOTIFY_COND_OUTPUT, _NOTIFY_COND_OBAND};
    int dummy, action = msg->i.action & _NOTIFY_ACTION_MASK;
    unsigned want = (unsigned)msg->i.flags & (_NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT | _NOTIFY_COND_OBAND);
    unsigned holds = (unsigned)trig & want;
    if (!notifycnts)
        notifycnts = ones;
    if (!armed)
        armed = &dummy;
    *armed = 0;
    if (action == _NOTIFY_ACTION_TRANARM) {
        /* As POSIX message queues: one transition arm at a time, across clients. */
        for (iofunc_notify_event_t *e = nop[IOFUNC_NOTIFY_INPUT].list; e; e = e->next)
            if (SIGEV_GET_TYPE(&e->event) != SIGEV_NONE &&
                (e->scoid != ctp->info.scoid || e->coid != ctp->info.coid))
                return EBUSY;
        holds = 0;
    }
    for (int i = 0; i < 3; i++) {
        if (!(want & conds[i]))
            continue;
        iofunc_notify_event_t *e = entry_of(&nop[i], ctp);
        if (!e)
            return ENOMEM;
        e->rcvid = ctp->rcvid;
        e->scoid = ctp->info.scoid;
        e->coid = ctp->info.coid;
        e->flags = 0;
        if (holds == 0 && action != _NOTIFY_ACTION_POLL) {
            e->event = msg->i.event;
            e->cnt = action == _NOTIFY_ACTION_TRANARM ? 0 : notifycnts[i];
            *armed = action != _NOTIFY_ACTION_TRANARM;
            if (e->cnt < nop[i].cnt)
                nop[i].cnt = e->cnt;
        } else {
            SIGEV_NONE_INIT(&e->event);
            e->cnt = INT_MAX;
        }
    }
    memset(&msg->o, 0, sizeof msg->o);
    msg->o.flags = holds;
    /* CONDARM: the conditions that hold, or armed and EAGAIN. */
    if (action == _NOTIFY_ACTION_CONDARM && !holds)
        return EAGAIN;
    return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
}

void iofunc_notify_trigger(iofunc_notify_t *nop, int cnt, int index)
{
    if (index < 0 || index > IOFUNC_NOTIFY_OBAND)
        return;
    iofunc_notify_t *n = &nop[index];
    int lowest = INT_MAX;
    for (iofunc_notify_event_t *e = n->list; e; e = e->next) {
        if (SIGEV_GET_TYPE(&e->event) == SIGEV_NONE)
            continue;
        if (e->cnt <= cnt) {
            /* Once: a client arms again to hear of the next time. */
            MsgDeliverEvent(e->rcvid, &e->event);
            SIGEV_NONE_INIT(&e->event);
            e->cnt = INT_MAX;
        } else if (e->cnt < lowest) {
            lowest = e->cnt;
        }
    }
    n->cnt = lowest;
}

void iofunc_notify_remove(resmgr_context_t *ctp, iofunc_notify_t *nop)
{
    for (int i = 0; i < 3; i++) {
        iofunc_notify_event_t **p = &nop[i].list;
        while (*p) {
            iofunc_notify_event_t *e = *p;
            if (e->scoid == ctp->info.scoid && e->coid == ctp->info.coid) {
                *p = e->next;
                free(e);
            } else {
                p = &e->next;
            }
        }
    }
}

/* For the path bridge's FUSE_POLL (src/resmgr/bridge.rs): builds in `buf` (NOTIFY_MSG_MAX
 * bytes) the _IO_NOTIFY that asks `conds` with `action`, whose event is a pulse of `code`
 * and `value` on `coid`; returns its size. */
#define NOTIFY_MSG_MAX 256
_Static_assert(sizeof(io_notify_t) <= NOTIFY_MSG_MAX, "the bridge's buffer holds the message");
size_t __libneutrino_notify_msg(void *buf, int action, int conds, int coid, int code, uint64_t value)
    __attribute__((visibility("hidden")));
size_t __libneutrino_notify_msg(void *buf, int action, int conds, int coid, int code, uint64_t value)
{
    io_notify_t *msg = buf;
    memset(msg, 0, sizeof *msg);
    msg->i.type = _IO_NOTIFY;
    msg->i.combine_len = sizeof msg->i;
    msg->i.action = action;
    msg->i.flags = conds;
    SIGEV_PULSE_INIT(&msg->i.event, coid, SIGEV_PULSE_PRIO_INHERIT, code, (void *)(uintptr_t)value);
    return sizeof msg->i;
}

/* The conditions the reply in `buf` (from __libneutrino_notify_msg) says hold. */
unsigned __libneutrino_notify_reply_flags(const void *buf) __attribute__((visibility("hidden")));
unsigned __libneutrino_notify_reply_flags(const void *buf)
{
    return ((const io_notify_t *)buf)->o.flags;
}

int ionotify(int fd, int action, int flags, const struct sigevent *event)
{
    io_notify_t msg;
    memset(&msg, 0, sizeof msg);
    msg.i.type = _IO_NOTIFY;
    msg.i.combine_len = sizeof msg.i;
    msg.i.action = action;
    msg.i.flags = flags;
    if (event)
        msg.i.event = *event;
    else
        SIGEV_NONE_INIT(&msg.i.event);
    if (MsgSend(fd, &msg.i, sizeof msg.i, &msg.o, sizeof msg.o) == -1)
        return -1;
    return (int)msg.o.flags;
}
