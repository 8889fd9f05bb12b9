/*
 * test_pulse.c - pulses as QNX code uses them: MsgSendPulse / MsgSendPulsePtr deliver a
 * struct _pulse carrying the sender's scoid, in-process and from other processes; sending
 * never blocks (1000 pulses to a busy server: none lost, none duplicated, FIFO); one queue
 * ordered by priority then FIFO, pulses and SEND-blocked messages mixed; MsgReceivePulse
 * skips messages; a receive buffer smaller than struct _pulse is EFAULT and loses the
 * pulse; priority -1 / 0 / out of range; EBADF and the _r forms; the kernel's
 * _PULSE_CODE_COIDDEATH and the one-death-channel rule; pulses queued by a client that is
 * then killed (reference §2.1, §4, §5.4, §5.5, §7.0, §7.2, §7.8, §8.1, §8.4).
 */
#include "harness.h"
#include <sched.h>

union rmsg {
    struct _pulse pulse;
    char raw[256];
};

/* ------------------------------------------------------------------------------------ */
/* Receiving and checking                                                                */

/* One thing taken off a channel. */
struct item {
    rcvid_t rcvid;
    int err;
    struct _pulse p;
    char text[32]; /* messages: the first bytes */
    int prio;      /* messages: info.priority */
    int scoid;     /* messages: info.scoid */
};

struct collector {
    int chid;
    int want;
    struct item *items;
    atomic_int got;
};

static void *collector_thread(void *arg)
{
    struct collector *c = (struct collector *)arg;
    for (int i = 0; i < c->want; i++) {
        union rmsg m;
        struct _msg_info info;
        memset(&m, 0x5A, sizeof m);
        memset(&info, 0, sizeof info);
        errno = 0;
        rcvid_t r = MsgReceive(c->chid, &m, sizeof m, &info);
        struct item *it = &c->items[i];
        it->rcvid = r;
        it->err = errno;
        it->p = m.pulse;
        if (r > 0) {
            memcpy(it->text, m.raw, sizeof it->text - 1);
            it->prio = info.priority;
            it->scoid = info.scoid;
            MsgReply(r, 0, NULL, 0);
        }
        atomic_store(&c->got, i + 1);
        if (r < 0)
            break;
    }
    return NULL;
}

/* Set once a timed receive gave up: its abandoned thread may take later items. */
static int g_abandoned;

static int recv_within(int chid, void *buf, size_t bytes, struct _msg_info *info, int timeout_ms,
                       rcvid_t *rcvid, int *err)
{
    int ok = h_receive_within(chid, buf, bytes, info, timeout_ms, rcvid, err);
    if (!ok)
        g_abandoned = 1;
    return ok;
}

static const char *describe(const struct item *it)
{
    static __thread char buf[128];
    if (it->rcvid == 0)
        snprintf(buf, sizeof buf, "pulse code %d value %d scoid %#x", it->p.code,
                 it->p.value.sival_int, (unsigned)it->p.scoid);
    else if (it->rcvid > 0)
        snprintf(buf, sizeof buf, "message '%s' priority %d", it->text, it->prio);
    else
        snprintf(buf, sizeof buf, "error %s", h_errname(it->err));
    return buf;
}

/*
 * Takes n things off chid (replying to messages at once) within timeout_ms, on a helper
 * thread so that a lost item is a failure, not a hang.  Ends the case if they don't all
 * come.  The caller frees the result.
 */
static struct item *collect(int chid, int n, int timeout_ms)
{
    struct collector *c = (struct collector *)calloc(1, sizeof *c);
    REQUIRE(c != NULL);
    c->items = (struct item *)calloc((size_t)n, sizeof(struct item));
    REQUIRE(c->items != NULL);
    c->chid = chid;
    c->want = n;
    pthread_t t = h_thread(collector_thread, c);
    if (h_join(t, timeout_ms, NULL) != 0) {
        int got = atomic_load(&c->got);
        FAIL("only %d of %d items received within %d ms", got, n, timeout_ms);
        for (int i = 0; i < got; i++)
            if (i < 3 || i >= got - 3)
                h_note("item %d: %s", i, describe(&c->items[i]));
        h_abort();
    }
    int got = atomic_load(&c->got);
    if (got < n || c->items[n - 1].rcvid < 0) {
        FAIL("receive %d of %d failed: %s", got, n, h_errname(c->items[got - 1].err));
        h_abort();
    }
    struct item *items = c->items;
    free(c);
    return items;
}

/* A pulse exactly as QNX delivers it: type/subtype 0, zero[] zeroed, code, value, scoid. */
static int check_pulse_at(int line, const struct _pulse *p, rcvid_t r, int code, int value,
                          int scoid)
{
    if (r != 0) {
        h_failf(__FILE__, line, "expected a pulse (rcvid 0), MsgReceive returned %lld",
                (long long)r);
        return 0;
    }
    if (p->type != _PULSE_TYPE || p->subtype != _PULSE_SUBTYPE || p->code != code ||
        p->value.sival_int != value || p->scoid != scoid || p->zero[0] || p->zero[1] ||
        p->zero[2]) {
        h_failf(__FILE__, line,
                "pulse {type %u subtype %u code %d zero %u,%u,%u value %d scoid %#x}, want "
                "{0 0 %d 0,0,0 %d %#x}",
                p->type, p->subtype, p->code, p->zero[0], p->zero[1], p->zero[2],
                p->value.sival_int, (unsigned)p->scoid, code, value, (unsigned)scoid);
        return 0;
    }
    return 1;
}
#define CHECK_PULSE(p, r, code, value, scoid)                                   \
    check_pulse_at(__LINE__, (p), (r), (code), (value), (scoid))

/* Receives the next thing (within 2 s) and checks it is the given pulse. */
static int expect_pulse_at(int line, int chid, int code, int value, int scoid)
{
    union rmsg m;
    memset(&m, 0x5A, sizeof m);
    rcvid_t r = -1;
    int err = 0;
    if (!recv_within(chid, &m, sizeof m, NULL, 1000, &r, &err)) {
        h_failf(__FILE__, line, "no pulse (code %d value %d) within 1 s", code, value);
        return 0;
    }
    if (r < 0) {
        h_failf(__FILE__, line, "MsgReceive failed: %s (expected pulse code %d value %d)",
                h_errname(err), code, value);
        return 0;
    }
    if (r > 0) {
        h_failf(__FILE__, line, "got message '%.16s', expected pulse code %d value %d", m.raw,
                code, value);
        MsgReply(r, 0, NULL, 0);
        return 0;
    }
    return check_pulse_at(line, &m.pulse, r, code, value, scoid);
}
#define EXPECT_PULSE(chid, code, value, scoid)                                  \
    expect_pulse_at(__LINE__, (chid), (code), (value), (scoid))

#define MARK_CODE 99
#define MARK_VALUE 0x600D

/*
 * Proves nothing else is queued on chid: a lowest-priority marker pulse sent now through
 * `coid` (a connection of this process to chid) must be the next thing received.
 */
static void expect_empty_at(int line, int chid, int coid)
{
    if (g_abandoned) {
        h_note("line %d: queue-empty check skipped (an abandoned receiver is still waiting)",
               line);
        return;
    }
    if (MsgSendPulse(coid, 1, MARK_CODE, MARK_VALUE) != 0) {
        h_failf(__FILE__, line, "marker MsgSendPulse: %s", h_errname(errno));
        return;
    }
    for (int i = 0; i < 8; i++) {
        union rmsg m;
        rcvid_t r = -1;
        int err = 0;
        if (!recv_within(chid, &m, sizeof m, NULL, 2000, &r, &err)) {
            h_failf(__FILE__, line, "marker pulse not received within 2 s");
            return;
        }
        if (r == 0 && m.pulse.code == MARK_CODE && m.pulse.value.sival_int == MARK_VALUE)
            return;
        struct item it = {.rcvid = r, .err = err, .p = m.pulse};
        if (r > 0) {
            memcpy(it.text, m.raw, sizeof it.text - 1);
            MsgReply(r, 0, NULL, 0);
        }
        h_failf(__FILE__, line, "left over in the queue: %s", describe(&it));
        if (r < 0)
            return;
    }
}
#define EXPECT_EMPTY(chid, coid) expect_empty_at(__LINE__, (chid), (coid))

/* ------------------------------------------------------------------------------------ */
/* Senders                                                                               */

/* A thread doing one MsgSend of "m<id>" at a priority (10: default SCHED_OTHER thread,
 * anything else: SCHED_FIFO at that priority). */
struct sender {
    int coid;
    int prio;
    int id;
    pthread_t t;
    long ret;
    int err;
    atomic_int done;
    atomic_int tid;
};

static void *sender_thread(void *arg)
{
    struct sender *s = (struct sender *)arg;
    atomic_store(&s->tid, (int)h_gettid());
    char msg[32];
    snprintf(msg, sizeof msg, "m%d", s->id);
    errno = 0;
    s->ret = MsgSend(s->coid, msg, strlen(msg) + 1, NULL, 0);
    s->err = errno;
    atomic_store(&s->done, 1);
    return NULL;
}

/* Starts a thread running fn at priority prio (10: SCHED_OTHER); 0 or an error number. */
static int start_at(pthread_t *t, int prio, void *(*fn)(void *), void *arg)
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    if (prio != 10) {
        struct sched_param sp = {.sched_priority = prio};
        pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
        pthread_attr_setschedpolicy(&a, SCHED_FIFO);
        pthread_attr_setschedparam(&a, &sp);
    }
    int e = pthread_create(t, &a, fn, arg);
    pthread_attr_destroy(&a);
    return e;
}

static int start_sender(struct sender *s) { return start_at(&s->t, s->prio, sender_thread, s); }

static void *fifo_probe_thread(void *arg)
{
    (void)arg;
    struct sched_param sp = {.sched_priority = 20};
    intptr_t r = sched_setscheduler(0, SCHED_FIFO, &sp) == 0 ? 0 : errno;
    return (void *)r;
}

/* 1 if this process may run SCHED_FIFO threads (root in the tests), else a note and 0. */
static int fifo_allowed(void)
{
    pthread_t t = h_thread(fifo_probe_thread, NULL);
    void *r = NULL;
    pthread_join(t, &r);
    if ((intptr_t)r != 0) {
        h_note("sched_setscheduler(SCHED_FIFO, 20) failed (%s): real-time priorities skipped",
               h_errname((int)(intptr_t)r));
        return 0;
    }
    return 1;
}

/* Sends `msg` on coid from a thread, receives it here, replies; returns info.scoid. */
static int scoid_of(int chid, int coid)
{
    struct sender s = {.coid = coid, .prio = 10, .id = 0};
    REQUIRE_EQ(start_sender(&s), 0);
    union rmsg m;
    struct _msg_info info;
    rcvid_t r = -1;
    int err = 0;
    if (!recv_within(chid, &m, sizeof m, &info, 3000, &r, &err) || r <= 0) {
        FAIL("message not received (rcvid %lld, %s)", (long long)r, h_errname(err));
        h_abort();
    }
    CHECK_EQ(MsgReply(r, 0, NULL, 0), 0);
    JOIN(s.t, 3000);
    CHECK_EQ(s.ret, 0);
    return info.scoid;
}

/* ------------------------------------------------------------------------------------ */
/* A helper process that attaches to a server and sends on command                       */

enum { A_PULSE = 1, A_MSG, A_BURST, A_HELLO, A_QUIT, A_PULSE_PTR };

#define A_MAX_SENDERS 16

static void agent_cmd(struct h_proc *p, int op, int prio, int id, int count)
{
    h_put(p->wr, op);
    h_put(p->wr, prio);
    h_put(p->wr, id);
    h_put(p->wr, count);
}

/*
 * Helper process (a fresh image: exec'd, not just forked, so that it inherits nothing
 * from this multi-threaded process) attached to ("<server pid> <chid>"); reports its
 * coid, then obeys commands:
 *   A_HELLO           MsgSend "hello" (the server learns our scoid), ack 0
 *   A_PULSE prio id   MsgSendPulse(coid, prio, 10 + id % 100, id), ack its result/-errno
 *   A_PULSE_PTR       MsgSendPulsePtr with value (void *)(0x5eed0000 + id), ack
 *   A_BURST prio id n n pulses at prio, values id..id+n-1, code 7; ack -(failures)
 *   A_MSG prio id     start a thread MsgSend-ing "m<id>" at prio, ack 0 (it stays blocked)
 *   A_QUIT            join the senders (all must have been replied to with 0), exit
 */
HELPER(agent)
{
    int server = 0, chid = 0;
    if (sscanf(arg, "%d %d", &server, &chid) != 2) {
        FAIL("agent: bad argument '%s'", arg);
        h_put(wr, -1);
        return 1;
    }
    int coid = ConnectAttach(0, server, chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0) {
        FAIL("agent ConnectAttach: %s", h_errname(errno));
        h_put(wr, -1);
        return 1;
    }
    h_put(wr, coid);
    struct sender senders[A_MAX_SENDERS];
    int nsenders = 0;
    for (;;) {
        int op = (int)h_get(rd, 15000);
        int prio = (int)h_get(rd, 2000);
        int id = (int)h_get(rd, 2000);
        int count = (int)h_get(rd, 2000);
        switch (op) {
        case A_HELLO: {
            long r = MsgSend(coid, "hello", 6, NULL, 0);
            h_put(wr, r == 0 ? 0 : -errno);
            break;
        }
        case A_PULSE: {
            int r = MsgSendPulse(coid, prio, 10 + id % 100, id);
            h_put(wr, r == 0 ? 0 : -errno);
            break;
        }
        case A_PULSE_PTR: {
            void *v = (void *)(uintptr_t)(0x5eed0000 + id);
            int r = MsgSendPulsePtr(coid, prio, 10 + id % 100, v);
            h_put(wr, r == 0 ? 0 : -errno);
            break;
        }
        case A_BURST: {
            int bad = 0;
            for (int i = 0; i < count; i++) {
                if (MsgSendPulse(coid, prio, 7, id + i) != 0) {
                    if (bad++ == 0)
                        FAIL("agent: pulse %d of the burst: %s", i, h_errname(errno));
                }
            }
            h_put(wr, -bad);
            break;
        }
        case A_MSG: {
            if (nsenders == A_MAX_SENDERS) {
                h_put(wr, -E2BIG);
                break;
            }
            struct sender *s = &senders[nsenders];
            memset(s, 0, sizeof *s);
            s->coid = coid;
            s->prio = prio;
            s->id = id;
            int e = start_sender(s);
            if (e == 0)
                nsenders++;
            h_put(wr, -e);
            break;
        }
        case A_QUIT:
        default:
            for (int i = 0; i < nsenders; i++) {
                if (h_join(senders[i].t, 3000, NULL) != 0) {
                    FAIL("agent: sender of m%d still blocked", senders[i].id);
                    return 1;
                }
                if (senders[i].ret != 0)
                    FAIL("agent: MsgSend of m%d = %ld (%s)", senders[i].id, senders[i].ret,
                         h_errname(senders[i].err));
            }
            return 0;
        }
    }
}

static struct h_proc start_agent(int chid, int *coid)
{
    char arg[64];
    snprintf(arg, sizeof arg, "%d %d", (int)getpid(), chid);
    struct h_proc p = h_exec("agent", arg);
    int c = (int)h_get(p.rd, 5000);
    REQUIRE(c >= 0);
    if (coid)
        *coid = c;
    return p;
}

static void stop_agent(struct h_proc *p)
{
    agent_cmd(p, A_QUIT, 0, 0, 0);
    CHECK_CHILD_OK(p->pid, 5000);
    h_close_proc(p);
}

/* The agent sends "hello"; we receive it and return the scoid (and check the pid). */
static int agent_scoid(struct h_proc *p, int chid)
{
    agent_cmd(p, A_HELLO, 0, 0, 0);
    union rmsg m;
    struct _msg_info info;
    rcvid_t r = -1;
    int err = 0;
    if (!recv_within(chid, &m, sizeof m, &info, 3000, &r, &err) || r <= 0) {
        FAIL("agent's hello not received (rcvid %lld, %s)", (long long)r, h_errname(err));
        h_abort();
    }
    CHECK(strcmp(m.raw, "hello") == 0);
    CHECK_EQ(info.pid, p->pid);
    CHECK_EQ(MsgReply(r, 0, NULL, 0), 0);
    CHECK_EQ(h_get(p->rd, 3000), 0);
    return info.scoid;
}

/* Asks the agent for one pulse and checks the send succeeded. */
static void agent_pulse(struct h_proc *p, int op, int prio, int id)
{
    agent_cmd(p, op, prio, id, 0);
    long long r = h_get(p->rd, 3000);
    if (r != 0)
        FAIL("agent's MsgSendPulse%s(prio %d, id %d): %s", op == A_PULSE_PTR ? "Ptr" : "", prio,
             id, h_errname((int)-r));
}

/* ------------------------------------------------------------------------------------ */
/* Delivery: the struct _pulse and its scoid                                             */

TEST(pulse_in_process_fields_and_scoid)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int scoid = scoid_of(chid, coid);
    CHECK(scoid & _NTO_SIDE_CHANNEL);

    CHECK_EQ(MsgSendPulse(coid, 10, 5, 0x12345678), 0);
    CHECK_EQ(MsgSendPulse(coid, 10, _PULSE_CODE_MAXAVAIL, -7), 0);
    CHECK_EQ(MsgSendPulse(coid, 10, _PULSE_CODE_MINAVAIL, 0), 0);
    static int target;
    CHECK_EQ(MsgSendPulsePtr(coid, 10, 6, &target), 0);

    union rmsg m;
    memset(&m, 0x5A, sizeof m);
    rcvid_t r = MsgReceive(chid, &m, sizeof m, NULL);
    CHECK_PULSE(&m.pulse, r, 5, 0x12345678, scoid);
    memset(&m, 0x5A, sizeof m);
    r = MsgReceive(chid, &m, sizeof m, NULL);
    CHECK_PULSE(&m.pulse, r, 127, -7, scoid);
    memset(&m, 0x5A, sizeof m);
    r = MsgReceive(chid, &m, sizeof m, NULL);
    CHECK_PULSE(&m.pulse, r, 0, 0, scoid);
    memset(&m, 0x5A, sizeof m);
    r = MsgReceive(chid, &m, sizeof m, NULL);
    CHECK_PULSE(&m.pulse, r, 6, (int)(intptr_t)&target, scoid);
    CHECK(m.pulse.value.sival_ptr == &target);

    /* An fd-range coid to the same channel shares the connection: same scoid (§6.1). */
    int fdc = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, 0));
    CHECK(fdc >= 0 && !(fdc & _NTO_SIDE_CHANNEL));
    CHECK_EQ(scoid_of(chid, fdc), scoid);
    CHECK_EQ(MsgSendPulsePtr(fdc, 10, 9, (void *)(uintptr_t)0x0123456789abcdefull), 0);
    memset(&m, 0x5A, sizeof m);
    r = MsgReceive(chid, &m, sizeof m, NULL);
    CHECK_PULSE(&m.pulse, r, 9, (int)0x89abcdef, scoid);
    CHECK(m.pulse.value.sival_ptr == (void *)(uintptr_t)0x0123456789abcdefull);

    /* A _NTO_COF_NOSHARE coid has its own scoid; its pulses carry that one. */
    int own = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE));
    int own_scoid = scoid_of(chid, own);
    CHECK_NE(own_scoid, scoid);
    CHECK_EQ(MsgSendPulse(own, 10, 11, 1100), 0);
    EXPECT_PULSE(chid, 11, 1100, own_scoid);

    EXPECT_EMPTY(chid, coid);
    ConnectDetach(own);
    ConnectDetach(fdc);
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

TEST(pulse_in_process_to_waiting_receiver)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int scoid = scoid_of(chid, coid);
    for (int ptr = 0; ptr < 2; ptr++) {
        struct h_rx *rx = (struct h_rx *)calloc(1, sizeof *rx + sizeof(union rmsg));
        REQUIRE(rx != NULL);
        rx->chid = chid;
        rx->bytes = sizeof(union rmsg);
        memset(rx->buf, 0x5A, rx->bytes);
        pthread_t t = h_thread(h_rx_thread, rx);
        h_settle(0, 2000);
        CHECK_EQ(atomic_load(&rx->done), 0);
        static int target;
        if (ptr)
            CHECK_EQ(MsgSendPulsePtr(coid, 12, 21, &target), 0);
        else
            CHECK_EQ(MsgSendPulse(coid, 12, 20, -123456), 0);
        if (h_join(t, 2000, NULL) != 0) {
            FAIL("the RECEIVE-blocked thread did not get the pulse within 2 s");
            h_abort();
        }
        struct _pulse p;
        memcpy(&p, rx->buf, sizeof p);
        if (ptr) {
            CHECK_PULSE(&p, rx->rcvid, 21, (int)(intptr_t)&target, scoid);
            CHECK(p.value.sival_ptr == &target);
        } else {
            CHECK_PULSE(&p, rx->rcvid, 20, -123456, scoid);
        }
        free(rx);
    }
    EXPECT_EMPTY(chid, coid);
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

TEST(pulse_from_other_process_fields_and_scoid)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int self = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    struct h_proc p = start_agent(chid, NULL);
    int scoid = agent_scoid(&p, chid);
    CHECK(scoid & _NTO_SIDE_CHANNEL);

    /* Queued (we are not receiving). */
    agent_pulse(&p, A_PULSE, 12, 33);
    agent_pulse(&p, A_PULSE_PTR, 12, 34);
    agent_pulse(&p, A_PULSE, 12, -5);
    EXPECT_PULSE(chid, 10 + 33, 33, scoid);
    union rmsg m;
    memset(&m, 0x5A, sizeof m);
    rcvid_t r = -1;
    int err = 0;
    if (recv_within(chid, &m, sizeof m, NULL, 2000, &r, &err)) {
        CHECK_PULSE(&m.pulse, r, 10 + 34, 0x5eed0000 + 34, scoid);
        CHECK(m.pulse.value.sival_ptr == (void *)(uintptr_t)(0x5eed0000 + 34));
    } else {
        FAIL("MsgSendPulsePtr's pulse not received");
    }
    EXPECT_PULSE(chid, 10 + (-5 % 100), -5, scoid);

    /* Straight to a RECEIVE-blocked thread. */
    struct h_rx *rx = (struct h_rx *)calloc(1, sizeof *rx + sizeof(union rmsg));
    REQUIRE(rx != NULL);
    rx->chid = chid;
    rx->bytes = sizeof(union rmsg);
    memset(rx->buf, 0x5A, rx->bytes);
    pthread_t t = h_thread(h_rx_thread, rx);
    h_settle(0, 2000);
    agent_pulse(&p, A_PULSE, 15, 77);
    if (h_join(t, 2000, NULL) != 0) {
        FAIL("the RECEIVE-blocked thread did not get the other process's pulse within 2 s");
        h_abort();
    }
    struct _pulse pl;
    memcpy(&pl, rx->buf, sizeof pl);
    CHECK_PULSE(&pl, rx->rcvid, 10 + 77, 77, scoid);
    free(rx);

    EXPECT_EMPTY(chid, self);
    stop_agent(&p);
    ConnectDetach(self);
    ChannelDestroy(chid);
}

/* ------------------------------------------------------------------------------------ */
/* Never blocking: many pulses to a server that is not receiving                         */

static void check_burst(const struct item *items, int n, int code, int first, int scoid)
{
    int bad = 0;
    for (int i = 0; i < n && bad < 5; i++) {
        const struct item *it = &items[i];
        if (it->rcvid != 0 || it->p.code != code || it->p.value.sival_int != first + i ||
            it->p.scoid != scoid || it->p.type != 0 || it->p.subtype != 0) {
            FAIL("item %d: %s, want pulse code %d value %d scoid %#x", i, describe(it), code,
                 first + i, (unsigned)scoid);
            bad++;
        }
    }
}

TEST(pulse_1000_from_other_process_nonblocking_none_lost_fifo)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int self = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    struct h_proc p = start_agent(chid, NULL);
    int scoid = agent_scoid(&p, chid);
    long long t0 = h_now_ms();
    agent_cmd(&p, A_BURST, 10, 1000, 1000);
    /* All 1000 are sent while nobody receives: the sender never blocks. */
    long long r = h_get(p.rd, 5000);
    CHECK_EQ(r, 0);
    long long ms = h_now_ms() - t0;
    if (ms > 2000)
        FAIL("sending 1000 pulses to a busy server took %lld ms", ms);
    h_sleep_ms(20);
    struct item *items = collect(chid, 1000, 5000);
    check_burst(items, 1000, 7, 1000, scoid);
    free(items);
    EXPECT_EMPTY(chid, self);
    stop_agent(&p);
    ConnectDetach(self);
    ChannelDestroy(chid);
}

TEST(pulse_1000_in_process_nonblocking_none_lost_fifo)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int scoid = scoid_of(chid, coid);
    for (int i = 0; i < 1000; i++) {
        if (MsgSendPulse(coid, 10, 7, 5000 + i) != 0) {
            FAIL("pulse %d: %s", i, h_errname(errno));
            h_abort();
        }
    }
    struct item *items = collect(chid, 1000, 5000);
    check_burst(items, 1000, 7, 5000, scoid);
    free(items);
    EXPECT_EMPTY(chid, coid);
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

/* Bursts from two processes one after the other, several larger than the library's
 * 128-pulse ring, at a few priorities: priority first, then the order they were sent. */
TEST(pulse_bursts_from_two_processes_priority_then_fifo)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int self = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    struct h_proc ag[2];
    int scoids[2];
    for (int i = 0; i < 2; i++) {
        ag[i] = start_agent(chid, NULL);
        scoids[i] = agent_scoid(&ag[i], chid);
    }
    CHECK_NE(scoids[0], scoids[1]);
    static const struct {
        int who, prio, count;
    } plan[] = {{0, 10, 200}, {1, 10, 200}, {0, 10, 200}, {1, 12, 130},
                {0, 9, 130},  {1, 10, 10},  {0, 12, 140}};
    enum { NPLAN = sizeof plan / sizeof plan[0] };
    int total = 0;
    int first[NPLAN];
    for (int b = 0; b < NPLAN; b++) {
        first[b] = total;
        agent_cmd(&ag[plan[b].who], A_BURST, plan[b].prio, total, plan[b].count);
        CHECK_EQ(h_get(ag[plan[b].who].rd, 5000), 0);
        total += plan[b].count;
    }
    struct item *items = collect(chid, total, 8000);
    /* Expected: batches by priority (highest first), each priority in sending order. */
    int k = 0, bad = 0;
    for (int prio = 255; prio >= 1; prio--) {
        for (int b = 0; b < NPLAN; b++) {
            if (plan[b].prio != prio)
                continue;
            for (int i = 0; i < plan[b].count; i++, k++) {
                const struct item *it = &items[k];
                int v = first[b] + i;
                if (bad < 5 && (it->rcvid != 0 || it->p.value.sival_int != v ||
                                it->p.scoid != scoids[plan[b].who])) {
                    FAIL("item %d: %s, want pulse value %d (batch %d, priority %d) scoid %#x", k,
                         describe(it), v, b, prio, (unsigned)scoids[plan[b].who]);
                    bad++;
                }
            }
        }
    }
    CHECK_EQ(k, total);
    free(items);
    EXPECT_EMPTY(chid, self);
    for (int i = 0; i < 2; i++)
        stop_agent(&ag[i]);
    ConnectDetach(self);
    ChannelDestroy(chid);
}

/* ------------------------------------------------------------------------------------ */
/* One queue: priority, then FIFO; pulses and messages mixed                             */

enum { SRC_A, SRC_B, SRC_P };
enum { K_PULSE, K_MSG };

TEST(pulse_and_message_order_priority_then_fifo_mixed)
{
    int fifo = fifo_allowed();
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int self = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    struct h_proc ag[2];
    for (int i = 0; i < 2; i++)
        ag[i] = start_agent(chid, NULL);

    /* prio -1 on a pulse: the sending thread's priority (a default thread: 10). */
    static const struct {
        int src, kind, prio;
    } plan[] = {
        {SRC_A, K_MSG, 10},   {SRC_B, K_PULSE, 10}, {SRC_A, K_PULSE, 20}, {SRC_B, K_MSG, 20},
        {SRC_P, K_PULSE, 10}, {SRC_P, K_MSG, 10},   {SRC_A, K_MSG, 30},   {SRC_B, K_PULSE, 30},
        {SRC_A, K_PULSE, 5},  {SRC_P, K_MSG, 20},   {SRC_B, K_PULSE, -1}, {SRC_B, K_MSG, 10},
        {SRC_P, K_PULSE, 20}, {SRC_A, K_PULSE, 30}, {SRC_P, K_MSG, 10},   {SRC_A, K_MSG, 10},
    };
    enum { NPLAN = sizeof plan / sizeof plan[0] };
    int used[NPLAN];
    int nused = 0;
    struct sender psend[NPLAN];
    int npsend = 0;
    for (int i = 0; i < NPLAN; i++) {
        int id = i + 1;
        int eff = plan[i].prio == -1 ? 10 : plan[i].prio;
        if (plan[i].kind == K_MSG && eff != 10 && !fifo)
            continue;
        used[nused++] = i;
        if (plan[i].src == SRC_P) {
            if (plan[i].kind == K_PULSE) {
                CHECK_EQ(MsgSendPulse(self, plan[i].prio, 10 + id, id), 0);
            } else {
                struct sender *s = &psend[npsend++];
                memset(s, 0, sizeof *s);
                s->coid = self;
                s->prio = eff;
                s->id = id;
                int e = start_sender(s);
                if (e != 0) {
                    FAIL("pthread_create at priority %d: %s", eff, h_errname(e));
                    h_abort();
                }
                h_settle(0, 2000);
                CHECK_EQ(atomic_load(&s->done), 0);
            }
        } else {
            struct h_proc *a = &ag[plan[i].src];
            if (plan[i].kind == K_PULSE) {
                agent_pulse(a, A_PULSE, plan[i].prio, id);
            } else {
                agent_cmd(a, A_MSG, eff, id, 0);
                long long e = h_get(a->rd, 3000);
                if (e != 0) {
                    FAIL("agent could not start a sender at priority %d: %s", eff,
                         h_errname((int)-e));
                    h_abort();
                }
                h_settle(a->pid, 2000);
            }
        }
    }
    /* The server has been busy all along; now take everything. */
    struct item *items = collect(chid, nused, 5000);
    int k = 0;
    int src_scoid[3] = {0, 0, 0};
    for (int prio = 255; prio >= 1; prio--) {
        for (int u = 0; u < nused; u++) {
            int i = used[u];
            int eff = plan[i].prio == -1 ? 10 : plan[i].prio;
            if (eff != prio)
                continue;
            int id = i + 1;
            const struct item *it = &items[k++];
            int scoid;
            if (plan[i].kind == K_PULSE) {
                if (it->rcvid != 0 || it->p.value.sival_int != id || it->p.code != 10 + id) {
                    FAIL("position %d: %s, want pulse id %d (priority %d)", k - 1, describe(it),
                         id, prio);
                    continue;
                }
                scoid = it->p.scoid;
            } else {
                char want[16];
                snprintf(want, sizeof want, "m%d", id);
                if (it->rcvid <= 0 || strcmp(it->text, want) != 0) {
                    FAIL("position %d: %s, want message %s (priority %d)", k - 1, describe(it),
                         want, prio);
                    continue;
                }
                CHECK_EQ(it->prio, prio);
                scoid = it->scoid;
            }
            /* Every item of one source carries that source's scoid. */
            int src = plan[i].src;
            if (!src_scoid[src])
                src_scoid[src] = scoid;
            else if (src_scoid[src] != scoid)
                FAIL("item id %d from source %d has scoid %#x, earlier ones %#x", id, src,
                     (unsigned)scoid, (unsigned)src_scoid[src]);
        }
    }
    CHECK_EQ(k, nused);
    free(items);
    for (int i = 0; i < npsend; i++) {
        JOIN(psend[i].t, 3000);
        CHECK_EQ(psend[i].ret, 0);
    }
    EXPECT_EMPTY(chid, self);
    for (int i = 0; i < 2; i++)
        stop_agent(&ag[i]);
    ConnectDetach(self);
    ChannelDestroy(chid);
}

/* ------------------------------------------------------------------------------------ */
/* MsgReceivePulse                                                                       */

struct prx {
    int chid;
    int ret;
    int err;
    atomic_int done;
    atomic_int tid;
    union rmsg m;
};

static void *prx_thread(void *arg)
{
    struct prx *x = (struct prx *)arg;
    atomic_store(&x->tid, (int)h_gettid());
    memset(&x->m, 0x5A, sizeof x->m);
    errno = 0;
    x->ret = MsgReceivePulse(x->chid, &x->m, sizeof x->m, NULL);
    x->err = errno;
    atomic_store(&x->done, 1);
    return NULL;
}

/* CPU time (ms) used so far by thread `tid` of this process, or -1. */
static long long thread_cpu_ms(int tid)
{
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, st, sizeof st - 1);
    close(fd);
    if (n <= 0)
        return -1;
    st[n] = 0;
    const char *p = strrchr(st, ')');
    unsigned long long ut = 0, stime = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &stime) != 2)
        return -1;
    return (long long)(ut + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

/* Waits (at most ms) until thread `tid` of this process sleeps (3 samples in a row). */
static void wait_thread_asleep(int tid, int ms)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    long long deadline = h_now_ms() + ms;
    int streak = 0;
    while (h_now_ms() < deadline && streak < 3) {
        char st[512];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, st, sizeof st - 1) : -1;
        if (fd >= 0)
            close(fd);
        int asleep = 1;
        if (n > 0) {
            st[n] = 0;
            const char *p = strrchr(st, ')');
            asleep = p && p[1] && p[2] && strchr("SDtTZX", p[2]);
        }
        streak = asleep ? streak + 1 : 0;
        h_sleep_ms(1);
    }
    h_sleep_ms(10);
}

static void wait_tid_known(atomic_int *tid)
{
    for (int i = 0; i < 2000 && atomic_load(tid) == 0; i++)
        h_sleep_ms(1);
    REQUIRE(atomic_load(tid) != 0);
}

static void expect_message_next(int chid, const char *want)
{
    union rmsg m;
    rcvid_t r = -1;
    int err = 0;
    if (!recv_within(chid, &m, sizeof m, NULL, 2000, &r, &err)) {
        FAIL("message '%s' not received within 2 s", want);
        return;
    }
    if (r <= 0) {
        struct item it = {.rcvid = r, .err = err, .p = m.pulse};
        FAIL("got %s, want message '%s'", describe(&it), want);
        return;
    }
    if (strcmp(m.raw, want) != 0)
        FAIL("got message '%.16s', want '%s'", m.raw, want);
    MsgReply(r, 0, NULL, 0);
}

TEST(pulse_receive_pulse_skips_and_keeps_messages)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int scoid = scoid_of(chid, coid);
    /* An older message at a higher priority, then a pulse. */
    int fifo = fifo_allowed();
    struct sender s1 = {.coid = coid, .prio = fifo ? 20 : 10, .id = 1};
    REQUIRE_EQ(start_sender(&s1), 0);
    h_settle(0, 2000);
    CHECK_EQ(MsgSendPulse(coid, 10, 3, 33), 0);
    union rmsg m;
    memset(&m, 0x5A, sizeof m);
    int r = MsgReceivePulse(chid, &m, sizeof m, NULL);
    CHECK_PULSE(&m.pulse, r, 3, 33, scoid);
    CHECK_EQ(atomic_load(&s1.done), 0);

    /* A pulse-only receiver is never handed a message: it stays RECEIVE-blocked (asleep,
     * not polling the queue). */
    struct prx x = {.chid = chid};
    pthread_t xt = h_thread(prx_thread, &x);
    wait_tid_known(&x.tid);
    h_sleep_ms(50);
    long long cpu0 = thread_cpu_ms(x.tid);
    h_sleep_ms(300);
    long long cpu = thread_cpu_ms(x.tid) - cpu0;
    if (cpu0 >= 0 && cpu > 100)
        FAIL("MsgReceivePulse with only a message queued used %lld ms of CPU in 300 ms "
             "(busy-waiting instead of blocking)",
             cpu);
    struct sender s2 = {.coid = coid, .prio = 10, .id = 2};
    REQUIRE_EQ(start_sender(&s2), 0);
    wait_tid_known(&s2.tid);
    wait_thread_asleep(s2.tid, 2000);
    CHECK_EQ(atomic_load(&x.done), 0);
    CHECK_EQ(atomic_load(&s2.done), 0);
    CHECK_EQ(MsgSendPulse(coid, 10, 4, 44), 0);
    if (h_join(xt, 2000, NULL) != 0) {
        FAIL("MsgReceivePulse did not return within 2 s of a pulse");
        h_abort();
    }
    CHECK_PULSE(&x.m.pulse, x.ret, 4, 44, scoid);

    /* MsgReceivePulsev: the same with an IOV. */
    CHECK_EQ(MsgSendPulse(coid, 10, 5, 55), 0);
    struct _pulse pv;
    memset(&pv, 0x5A, sizeof pv);
    iov_t iov;
    SETIOV(&iov, &pv, sizeof pv);
    r = MsgReceivePulsev(chid, &iov, 1, NULL);
    CHECK_PULSE(&pv, r, 5, 55, scoid);

    /* Both messages are still queued, in order. */
    CHECK_EQ(atomic_load(&s1.done), 0);
    CHECK_EQ(atomic_load(&s2.done), 0);
    expect_message_next(chid, "m1");
    expect_message_next(chid, "m2");
    JOIN(s1.t, 3000);
    JOIN(s2.t, 3000);
    CHECK_EQ(s1.ret, 0);
    CHECK_EQ(s2.ret, 0);
    EXPECT_EMPTY(chid, coid);
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

TEST(pulse_receive_pulse_leaves_other_process_message_queued)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int self = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    struct h_proc p = start_agent(chid, NULL);
    int scoid = agent_scoid(&p, chid);
    agent_cmd(&p, A_MSG, 10, 8, 0);
    CHECK_EQ(h_get(p.rd, 3000), 0);
    h_settle(p.pid, 2000);
    agent_pulse(&p, A_PULSE, 10, 9);
    union rmsg m;
    memset(&m, 0x5A, sizeof m);
    int r = MsgReceivePulse(chid, &m, sizeof m, NULL);
    CHECK_PULSE(&m.pulse, r, 10 + 9, 9, scoid);
    expect_message_next(chid, "m8");
    EXPECT_EMPTY(chid, self);
    stop_agent(&p);
    ConnectDetach(self);
    ChannelDestroy(chid);
}

/* ------------------------------------------------------------------------------------ */
/* A receive buffer smaller than struct _pulse                                           */

TEST(pulse_small_buffer_efault_and_pulse_lost)
{
    REQUIRE_EQ(sizeof(struct _pulse), 24);
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int scoid = scoid_of(chid, coid);
    for (int v = 1; v <= 7; v++)
        CHECK_EQ(MsgSendPulse(coid, 10, 1, v), 0);
    char small[23];
    CHECK_ERR(MsgReceive(chid, small, sizeof small, NULL), EFAULT); /* 1 lost */
    EXPECT_PULSE(chid, 1, 2, scoid);
    /* MsgReceivev: the first IOV counts, not the total. */
    char a[16], b[64];
    iov_t iov[2];
    SETIOV(&iov[0], a, sizeof a);
    SETIOV(&iov[1], b, sizeof b);
    CHECK_ERR(MsgReceivev(chid, iov, 2, NULL), EFAULT); /* 3 lost */
    /* MsgReceivePulse follows the same rule. */
    CHECK_ERR(MsgReceivePulse(chid, a, sizeof a, NULL), EFAULT); /* 4 lost */
    /* _r: -EFAULT, errno untouched. */
    errno = 4242;
    CHECK_EQ(MsgReceive_r(chid, small, 8, NULL), -EFAULT); /* 5 lost */
    CHECK_EQ(errno, 4242);
    /* A first IOV of exactly 24 bytes is enough. */
    struct _pulse exact;
    SETIOV(&iov[0], &exact, sizeof exact);
    memset(&exact, 0x5A, sizeof exact);
    rcvid_t r = MsgReceivev(chid, iov, 2, NULL);
    CHECK_PULSE(&exact, r, 1, 6, scoid);
    EXPECT_PULSE(chid, 1, 7, scoid);

    /* A message into the same small buffer is fine (truncated). */
    struct sender s = {.coid = coid, .prio = 10, .id = 123456789};
    REQUIRE_EQ(start_sender(&s), 0);
    struct _msg_info info;
    r = MsgReceive(chid, small, 8, &info);
    CHECK(r > 0);
    if (r > 0) {
        CHECK_EQ(info.msglen, 8);
        CHECK_EQ(info.srcmsglen, 11);
        CHECK_MEM(small, "m1234567", 8);
        CHECK_EQ(MsgReply(r, 0, NULL, 0), 0);
    }
    JOIN(s.t, 3000);

    /* A RECEIVE-blocked thread with a small buffer: EFAULT, that pulse is gone. */
    struct h_rx *rx = (struct h_rx *)calloc(1, sizeof *rx + 16);
    REQUIRE(rx != NULL);
    rx->chid = chid;
    rx->bytes = 16;
    pthread_t t = h_thread(h_rx_thread, rx);
    h_settle(0, 2000);
    MsgSendPulse(coid, 10, 1, 8); /* (the sender's result is not specified here) */
    if (h_join(t, 2000, NULL) != 0) {
        FAIL("a receiver with a 16-byte buffer stayed blocked after a pulse");
        h_abort();
    }
    CHECK_EQ(rx->rcvid, -1);
    CHECK_EQ(rx->err, EFAULT);
    free(rx);
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 9), 0);
    EXPECT_PULSE(chid, 1, 9, scoid);
    EXPECT_EMPTY(chid, coid);
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

TEST(pulse_small_buffer_from_other_process_efault_and_lost)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int self = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    struct h_proc p = start_agent(chid, NULL);
    int scoid = agent_scoid(&p, chid);
    agent_pulse(&p, A_PULSE, 10, 1);
    agent_pulse(&p, A_PULSE, 10, 2);
    char small[20];
    CHECK_ERR(MsgReceive(chid, small, sizeof small, NULL), EFAULT);
    EXPECT_PULSE(chid, 10 + 2, 2, scoid);
    EXPECT_EMPTY(chid, self);
    stop_agent(&p);
    ConnectDetach(self);
    ChannelDestroy(chid);
}

/* ------------------------------------------------------------------------------------ */
/* Priorities                                                                            */

/* Receives n queued pulses and checks their values come in the order `want`. */
static void expect_values_at(int line, int chid, const int *want, int n)
{
    struct item *items = collect(chid, n, 3000);
    char got[256] = "", exp[256] = "";
    int ok = 1;
    for (int i = 0; i < n; i++) {
        size_t gl = strlen(got), el = strlen(exp);
        snprintf(got + gl, sizeof got - gl, "%s%d", i ? "," : "",
                 items[i].rcvid == 0 ? items[i].p.value.sival_int : -9999);
        snprintf(exp + el, sizeof exp - el, "%s%d", i ? "," : "", want[i]);
        if (items[i].rcvid != 0 || items[i].p.value.sival_int != want[i])
            ok = 0;
    }
    if (!ok)
        h_failf(__FILE__, line, "pulse values received in order [%s], want [%s]", got, exp);
    free(items);
}
#define EXPECT_VALUES(chid, ...)                                                \
    do {                                                                        \
        static const int w_[] = {__VA_ARGS__};                                  \
        expect_values_at(__LINE__, (chid), w_, (int)(sizeof w_ / sizeof w_[0])); \
    } while (0)

struct fifo_pulses {
    int coid;
    int rc[5];
};

static void *fifo_pulses_thread(void *arg)
{
    struct fifo_pulses *f = (struct fifo_pulses *)arg;
    f->rc[0] = MsgSendPulse(f->coid, 20, 1, 1);
    f->rc[1] = MsgSendPulse(f->coid, -1, 1, 2);
    f->rc[2] = MsgSendPulse(f->coid, 21, 1, 3);
    f->rc[3] = MsgSendPulse(f->coid, 19, 1, 4);
    f->rc[4] = MsgSendPulse(f->coid, 20, 1, 5);
    return NULL;
}

TEST(pulse_priority_minus_one_is_callers_priority)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    /* Default thread: priority 10.  A -1 pulse goes after 11, with the 10s, before 9. */
    CHECK_EQ(MsgSendPulse(coid, 9, 1, 1), 0);
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 2), 0);
    CHECK_EQ(MsgSendPulse(coid, -1, 1, 3), 0);
    CHECK_EQ(MsgSendPulse(coid, 11, 1, 4), 0);
    CHECK_EQ(MsgSendPulsePtr(coid, -1, 1, (void *)5), 0);
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 6), 0);
    EXPECT_VALUES(chid, 4, 2, 3, 5, 6, 1);
    /* A SCHED_FIFO thread at 20: -1 is 20. */
    if (fifo_allowed()) {
        struct fifo_pulses f = {.coid = coid};
        pthread_t t;
        REQUIRE_EQ(start_at(&t, 20, fifo_pulses_thread, &f), 0);
        JOIN(t, 3000);
        for (int i = 0; i < 5; i++)
            CHECK_EQ(f.rc[i], 0);
        EXPECT_VALUES(chid, 3, 1, 2, 5, 4);
    }
    EXPECT_EMPTY(chid, coid);
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

TEST(pulse_priority_zero_becomes_one_and_range_checked)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    /* 0 is accepted as 1: FIFO with a later priority-1 pulse, after a priority-2 one. */
    CHECK_EQ(MsgSendPulse(coid, 0, 1, 1), 0);
    CHECK_EQ(MsgSendPulse(coid, 1, 1, 2), 0);
    CHECK_EQ(MsgSendPulse(coid, 2, 1, 3), 0);
    CHECK_EQ(MsgSendPulsePtr(coid, 0, 1, (void *)4), 0);
    EXPECT_VALUES(chid, 3, 1, 2, 4);
    /* 255 is the highest valid priority. */
    CHECK_EQ(MsgSendPulse(coid, 254, 1, 5), 0);
    CHECK_EQ(MsgSendPulse(coid, 255, 1, 6), 0);
    EXPECT_VALUES(chid, 6, 5);
    /* Out of range: EINVAL, nothing queued. */
    CHECK_ERR(MsgSendPulse(coid, 256, 1, 7), EINVAL);
    CHECK_ERR(MsgSendPulse(coid, -2, 1, 7), EINVAL);
    CHECK_ERR(MsgSendPulse(coid, 1000, 1, 7), EINVAL);
    CHECK_ERR(MsgSendPulse(coid, INT_MIN, 1, 7), EINVAL);
    CHECK_ERR(MsgSendPulsePtr(coid, 256, 1, (void *)7), EINVAL);
    CHECK_ERR(MsgSendPulsePtr(coid, -2, 1, (void *)7), EINVAL);
    EXPECT_EMPTY(chid, coid);
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

TEST(pulse_priority_from_other_process)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int self = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    struct h_proc p = start_agent(chid, NULL);
    agent_pulse(&p, A_PULSE, 9, 1);
    agent_pulse(&p, A_PULSE, -1, 2);
    agent_pulse(&p, A_PULSE, 11, 3);
    agent_pulse(&p, A_PULSE, 0, 4);
    agent_pulse(&p, A_PULSE, 10, 5);
    agent_pulse(&p, A_PULSE, 1, 6);
    agent_cmd(&p, A_PULSE, 256, 7, 0);
    CHECK_EQ(h_get(p.rd, 3000), -EINVAL);
    agent_cmd(&p, A_PULSE, -2, 7, 0);
    CHECK_EQ(h_get(p.rd, 3000), -EINVAL);
    EXPECT_VALUES(chid, 3, 2, 5, 1, 4, 6);
    EXPECT_EMPTY(chid, self);
    stop_agent(&p);
    ConnectDetach(self);
    ChannelDestroy(chid);
}

/* ------------------------------------------------------------------------------------ */
/* Errors and the _r forms                                                               */

TEST(pulse_bad_coid_ebadf)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_ERR(MsgSendPulse(-1, 10, 1, 1), EBADF);
    CHECK_ERR(MsgSendPulse(12345, 10, 1, 1), EBADF);
    CHECK_ERR(MsgSendPulse(_NTO_SIDE_CHANNEL | 999, 10, 1, 1), EBADF);
    CHECK_ERR(MsgSendPulsePtr(_NTO_SIDE_CHANNEL | 999, 10, 1, NULL), EBADF);
    /* A descriptor that is not a connection. */
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK_ERR(MsgSendPulse(fd, 10, 1, 1), EBADF);
    close(fd);
    /* A detached coid. */
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int fdc = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, 0, 0));
    CHECK_EQ(ConnectDetach(fdc), 0);
    CHECK_ERR(MsgSendPulse(fdc, 10, 1, 1), EBADF);
    /* A coid whose channel was destroyed (the coid itself stays allocated). */
    CHECK_EQ(ChannelDestroy(chid), 0);
    CHECK_ERR(MsgSendPulse(coid, 10, 1, 1), EBADF);
    CHECK_ERR(MsgSendPulsePtr(coid, 10, 1, NULL), EBADF);
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_ERR(MsgSendPulse(coid, 10, 1, 1), EBADF);
}

TEST(pulse_r_forms_return_minus_errno_and_keep_errno)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int scoid = scoid_of(chid, coid);
    errno = 4242;
    CHECK_EQ(MsgSendPulse_r(_NTO_SIDE_CHANNEL | 999, 10, 1, 1), -EBADF);
    CHECK_EQ(MsgSendPulsePtr_r(-1, 10, 1, NULL), -EBADF);
    CHECK_EQ(MsgSendPulse_r(coid, 256, 1, 1), -EINVAL);
    CHECK_EQ(MsgSendPulsePtr_r(coid, -2, 1, NULL), -EINVAL);
    CHECK_EQ(MsgSendPulse_r(coid, 10, 2, 22), EOK);
    CHECK_EQ(MsgSendPulsePtr_r(coid, -1, 3, (void *)33), EOK);
    union rmsg m;
    CHECK_EQ(MsgReceivePulse_r(chid + 1000, &m, sizeof m, NULL), -ESRCH);
    memset(&m, 0x5A, sizeof m);
    int r = MsgReceivePulse_r(chid, &m, sizeof m, NULL);
    CHECK_PULSE(&m.pulse, r, 2, 22, scoid);
    memset(&m, 0x5A, sizeof m);
    rcvid_t rr = MsgReceive_r(chid, &m, sizeof m, NULL);
    CHECK_PULSE(&m.pulse, rr, 3, 33, scoid);
    CHECK_EQ(errno, 4242);
    CHECK_EQ(ChannelDestroy(chid), 0);
    CHECK_EQ(MsgSendPulse_r(coid, 10, 1, 1), -EBADF);
    CHECK_EQ(errno, 4242);
    ConnectDetach(coid);
}

/* Child: a channel, reported; then on command 1 ChannelDestroy (ack), on anything else exit. */
HELPER(channel_owner)
{
    (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    for (;;) {
        long long v;
        if (h_try_get(rd, &v, 15000) != 0 || v != 1)
            return 0;
        h_put(wr, ChannelDestroy(chid) == 0 ? 0 : -errno);
    }
}

/* Polls (up to 1 s) until MsgSendPulse on coid fails; returns its errno (0: never failed). */
static int pulse_error_within(int coid, int ms)
{
    long long deadline = h_now_ms() + ms;
    for (;;) {
        errno = 0;
        if (MsgSendPulse(coid, 10, 1, 1) == -1)
            return errno;
        if (h_now_ms() > deadline)
            return 0;
        h_sleep_ms(5);
    }
}

TEST(pulse_ebadf_after_server_destroys_channel_or_dies)
{
    struct h_proc s = h_exec("channel_owner", NULL);
    int chid = (int)h_get(s.rd, 3000);
    REQUIRE(chid > 0);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, s.pid, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 1), 0);
    h_put(s.wr, 1);
    CHECK_EQ(h_get(s.rd, 3000), 0);
    int e = pulse_error_within(coid, 1000);
    if (e != EBADF)
        FAIL("MsgSendPulse after the server's ChannelDestroy: %s, want EBADF",
             e ? h_errname(e) : "still succeeds after 1 s");
    CHECK_EQ(ConnectDetach(coid), 0);
    h_put(s.wr, 2);
    CHECK_CHILD_OK(s.pid, 3000);
    h_close_proc(&s);

    s = h_exec("channel_owner", NULL);
    chid = (int)h_get(s.rd, 3000);
    REQUIRE(chid > 0);
    coid = (int)REQUIRE_OK(ConnectAttach(0, s.pid, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 1), 0);
    h_kill(s.pid);
    e = pulse_error_within(coid, 1000);
    if (e != EBADF)
        FAIL("MsgSendPulse after the server was killed: %s, want EBADF",
             e ? h_errname(e) : "still succeeds after 1 s");
    CHECK_EQ(ConnectDetach(coid), 0);
    h_close_proc(&s);
}

/* ------------------------------------------------------------------------------------ */
/* Kernel pulses: _PULSE_CODE_COIDDEATH, one death channel per process                   */

/* Child: an echo server; reports its chid. */
HELPER(echo_owner)
{
    (void)rd;
    (void)arg;
    struct h_server_stats st = {.chid = ChannelCreate(0)};
    h_put(wr, st.chid);
    h_echo_server(&st);
    return 0;
}

TEST(pulse_coid_death_when_server_killed)
{
    int dchid = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_COID_DISCONNECT));
    int dself = (int)REQUIRE_OK(ConnectAttach(0, 0, dchid, _NTO_SIDE_CHANNEL, 0));
    struct h_proc s = h_exec("echo_owner", NULL);
    int chid = (int)h_get(s.rd, 3000);
    REQUIRE(chid > 0);
    struct h_proc other = h_exec("echo_owner", NULL);
    int ochid = (int)h_get(other.rd, 3000);
    REQUIRE(ochid > 0);
    int side = (int)REQUIRE_OK(ConnectAttach(0, s.pid, chid, _NTO_SIDE_CHANNEL, 0));
    int fdc = (int)REQUIRE_OK(ConnectAttach(0, s.pid, chid, 0, 0));
    int ocoid = (int)REQUIRE_OK(ConnectAttach(0, other.pid, ochid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(MsgSend(side, "x", 2, NULL, 0), 2);
    CHECK_EQ(MsgSend(fdc, "xy", 3, NULL, 0), 3);
    CHECK_EQ(MsgSend(ocoid, "z", 2, NULL, 0), 2);

    h_kill(s.pid);
    /* One COIDDEATH per coid of ours to the dead server: value = coid, scoid = -1. */
    int seen_side = 0, seen_fd = 0;
    for (int i = 0; i < 2; i++) {
        union rmsg m;
        memset(&m, 0x5A, sizeof m);
        rcvid_t r = -1;
        int err = 0;
        if (!recv_within(dchid, &m, sizeof m, NULL, 2000, &r, &err)) {
            FAIL("COIDDEATH pulse %d of 2 not received within 2 s of the server's death", i + 1);
            break;
        }
        int v = m.pulse.value.sival_int;
        if (!CHECK_PULSE(&m.pulse, r, _PULSE_CODE_COIDDEATH, v == fdc ? fdc : side, -1))
            continue;
        if (v == side)
            seen_side++;
        else
            seen_fd++;
    }
    CHECK_EQ(seen_side, 1);
    CHECK_EQ(seen_fd, 1);
    CHECK(side & _NTO_SIDE_CHANNEL);
    /* The coids stay allocated but dead. */
    CHECK_ERR(MsgSend(side, "x", 2, NULL, 0), EBADF);
    CHECK_ERR(MsgSend(fdc, "x", 2, NULL, 0), EBADF);
    CHECK_ERR(MsgSendPulse(side, 10, 1, 1), EBADF);
    CHECK_EQ(ConnectDetach(side), 0);
    CHECK_EQ(ConnectDetach(fdc), 0);
    /* The other server's connection is untouched (and no pulse for it). */
    CHECK_EQ(MsgSend(ocoid, "zz", 3, NULL, 0), 3);
    EXPECT_EMPTY(dchid, dself);
    h_kill(other.pid);
    h_close_proc(&s);
    h_close_proc(&other);
}

TEST(pulse_coid_death_when_server_destroys_channel)
{
    int dchid = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_COID_DISCONNECT));
    int dself = (int)REQUIRE_OK(ConnectAttach(0, 0, dchid, _NTO_SIDE_CHANNEL, 0));
    struct h_proc s = h_exec("channel_owner", NULL);
    int chid = (int)h_get(s.rd, 3000);
    REQUIRE(chid > 0);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, s.pid, chid, _NTO_SIDE_CHANNEL, 0));
    h_put(s.wr, 1);
    CHECK_EQ(h_get(s.rd, 3000), 0);
    /* §5.5 step 5: the server process lives on; its channel is gone. */
    if (EXPECT_PULSE(dchid, _PULSE_CODE_COIDDEATH, coid, -1)) {
        CHECK_ERR(MsgSend(coid, "x", 2, NULL, 0), EBADF);
    }
    CHECK_EQ(ConnectDetach(coid), 0);
    EXPECT_EMPTY(dchid, dself);
    h_put(s.wr, 2);
    CHECK_CHILD_OK(s.pid, 3000);
    h_close_proc(&s);
}

TEST(pulse_coid_death_in_process_channel_destroy)
{
    int dchid = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_COID_DISCONNECT));
    int dself = (int)REQUIRE_OK(ConnectAttach(0, 0, dchid, _NTO_SIDE_CHANNEL, 0));
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(ChannelDestroy(chid), 0);
    EXPECT_PULSE(dchid, _PULSE_CODE_COIDDEATH, coid, -1);
    CHECK_ERR(MsgSend(coid, "x", 2, NULL, 0), EBADF);
    CHECK_EQ(ConnectDetach(coid), 0);
    EXPECT_EMPTY(dchid, dself);
}

HELPER(death_channel_owner)
{
    (void)rd;
    (void)arg;
    int c = ChannelCreate(_NTO_CHF_COID_DISCONNECT);
    h_put(wr, c >= 0 ? 0 : -errno);
    return 0;
}

TEST(pulse_second_death_channel_ebusy)
{
    int d = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_COID_DISCONNECT));
    CHECK_ERR(ChannelCreate(_NTO_CHF_COID_DISCONNECT), EBUSY);
    CHECK_ERR(ChannelCreate(_NTO_CHF_THREAD_DEATH), EBUSY);
    CHECK_ERR(ChannelCreate(_NTO_CHF_THREAD_DEATH | _NTO_CHF_DISCONNECT), EBUSY);
    errno = 4242;
    CHECK_EQ(ChannelCreate_r(_NTO_CHF_COID_DISCONNECT), -EBUSY);
    CHECK_EQ(errno, 4242);
    /* Other flags are not limited. */
    int plain = (int)CHECK_OK(ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK));
    /* Another process has its own allowance. */
    struct h_proc c = h_exec("death_channel_owner", NULL);
    CHECK_EQ(h_get(c.rd, 3000), 0);
    CHECK_CHILD_OK(c.pid, 3000);
    h_close_proc(&c);
    /* Destroying the death channel frees the allowance (§5.5 step 6). */
    CHECK_EQ(ChannelDestroy(d), 0);
    int t = (int)CHECK_OK(ChannelCreate(_NTO_CHF_THREAD_DEATH));
    CHECK_ERR(ChannelCreate(_NTO_CHF_COID_DISCONNECT), EBUSY);
    if (t >= 0)
        ChannelDestroy(t);
    if (plain >= 0)
        ChannelDestroy(plain);
}

/* ------------------------------------------------------------------------------------ */
/* Pulses queued by a client that is then killed                                         */

static void killed_client_case(int n)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_DISCONNECT));
    int self = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int self_scoid = scoid_of(chid, self);
    struct h_proc p = start_agent(chid, NULL);
    int scoid = agent_scoid(&p, chid);
    CHECK_NE(scoid, self_scoid);
    agent_cmd(&p, A_BURST, 10, 100, n);
    CHECK_EQ(h_get(p.rd, 5000), 0);
    h_kill(p.pid);
    h_close_proc(&p);
    /* All its pulses, in order, then DISCONNECT for its scoid (same priority: FIFO). */
    int got = 0, bad = 0, disc_at = -1;
    for (int k = 0; k < n + 1; k++) {
        union rmsg m;
        rcvid_t r = -1;
        int err = 0;
        if (!recv_within(chid, &m, sizeof m, NULL, 1000, &r, &err))
            break;
        struct item it = {.rcvid = r, .err = err, .p = m.pulse};
        if (r != 0) {
            FAIL("item %d: %s, want a pulse", k, describe(&it));
            if (r > 0)
                MsgReply(r, 0, NULL, 0);
            break;
        }
        if (m.pulse.code == _PULSE_CODE_DISCONNECT && disc_at < 0) {
            disc_at = k;
            CHECK_EQ(m.pulse.scoid, scoid);
            continue;
        }
        if (m.pulse.code != 7 || m.pulse.value.sival_int != 100 + got || m.pulse.scoid != scoid) {
            if (bad++ < 5)
                FAIL("item %d: %s, want pulse code 7 value %d scoid %#x", k, describe(&it),
                     100 + got, (unsigned)scoid);
        }
        got++;
    }
    if (got != n)
        FAIL("%d of the killed client's %d queued pulses were delivered", got, n);
    if (disc_at < 0)
        FAIL("no _PULSE_CODE_DISCONNECT after the client was killed");
    else if (got == n && disc_at != n)
        FAIL("_PULSE_CODE_DISCONNECT came before %d of the client's %d earlier pulses",
             n - disc_at, n);
    if (disc_at >= 0)
        CHECK_EQ(ConnectDetach(scoid), 0);
    EXPECT_EMPTY(chid, self);
    ConnectDetach(self);
    ChannelDestroy(chid);
}

TEST(pulse_killed_client_queued_pulses_delivered_then_disconnect) { killed_client_case(5); }

TEST(pulse_killed_client_300_queued_pulses_delivered_then_disconnect)
{
    killed_client_case(300);
}

HARNESS_MAIN
