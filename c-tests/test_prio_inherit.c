/*
 * test_prio_inherit.c - client-driven priority (QNX's "priority inheritance and messages").
 * A server thread runs each message at its sender's priority (a real-time sender's
 * priority, with the server thread's own real-time policy or, when it has none, the
 * sender's) and each pulse at the pulse's (above 10: SCHED_FIFO), until its next receive;
 * a message from a SCHED_OTHER thread, a pulse at 10, and finding nothing to receive put
 * it back at its own; MsgCurrent lends a thread that takes a message over its client's
 * priority. A real-time client SEND-blocked behind a busy server thread raises
 * it; the boost ends at that thread's next receive, even when the client was killed.
 * _NTO_CHF_FIXED_PRIORITY channels change nothing. Without CAP_SYS_NICE nor
 * RLIMIT_RTPRIO nothing changes and nothing fails; with RLIMIT_RTPRIO, priorities above
 * it are lent as the limit. Clients are threads of another process.
 */
#include "harness.h"
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#define NOBODY 65534

enum { Q_SCHED = 1, Q_HOLD, Q_CURRENT, Q_QUIT };
enum { K_MSG, K_PULSE, K_HOLD, K_CURRENT };

struct sched_now {
    int policy, prio;
};

static struct sched_now sched_of(pid_t tid)
{
    struct sched_param p = {0};
    int policy = sched_getscheduler(tid);
    sched_getparam(tid, &p);
    return (struct sched_now){policy, p.sched_priority};
}

/* Q_CURRENT: another thread takes the message over with MsgCurrent and replies with the
 * scheduling it then has. */
static void *take_over(void *arg)
{
    rcvid_t rcvid = *(rcvid_t *)arg;
    struct sched_now now = {-1, -1};
    if (MsgCurrent(rcvid) == 0)
        now = sched_of(0);
    MsgReply(rcvid, 0, &now, sizeof now);
    return NULL;
}

/* The server: one thread receiving on chid; each handler reads its own scheduling. */
struct server {
    int chid;
    int own_policy, own_prio; /* SchedSet before the first receive; own_policy 0: none */
    atomic_int tid, ready;
    atomic_int pulses, pulse_policy, pulse_prio;
    atomic_int holding, release, failed;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    if (s->own_policy != SCHED_OTHER) {
        struct sched_param p = {.sched_priority = s->own_prio};
        if (SchedSet(0, 0, s->own_policy, &p) != 0)
            atomic_store(&s->failed, errno);
    }
    atomic_store(&s->tid, h_gettid());
    atomic_store(&s->ready, 1);
    for (;;) {
        union {
            int type;
            struct _pulse p;
        } m;
        rcvid_t r = MsgReceive(s->chid, &m, sizeof m, NULL);
        if (r < 0) {
            atomic_store(&s->failed, errno);
            return NULL;
        }
        struct sched_now now = sched_of(0);
        if (r == 0) {
            atomic_store(&s->pulse_policy, now.policy);
            atomic_store(&s->pulse_prio, now.prio);
            atomic_fetch_add(&s->pulses, 1);
            continue;
        }
        if (m.type == Q_CURRENT) {
            pthread_t t;
            if (pthread_create(&t, NULL, take_over, &r) != 0 || pthread_join(t, NULL) != 0)
                atomic_store(&s->failed, EAGAIN);
            continue;
        }
        if (m.type == Q_HOLD) {
            atomic_store(&s->holding, 1);
            for (int i = 0; i < 5000 && !atomic_load(&s->release); i++)
                h_sleep_ms(1);
            atomic_store(&s->holding, 0);
            atomic_store(&s->release, 0);
            now = sched_of(0);
        }
        MsgReply(r, 0, &now, sizeof now);
        if (m.type == Q_QUIT)
            return NULL;
    }
}

static pthread_t start_server(struct server *s, unsigned flags, int own_policy, int own_prio)
{
    memset(s, 0, sizeof *s);
    s->chid = (int)REQUIRE_OK(ChannelCreate(flags));
    s->own_policy = own_policy;
    s->own_prio = own_prio;
    pthread_t t = h_thread(serve, s);
    for (int i = 0; i < 5000 && !atomic_load(&s->ready); i++)
        h_sleep_ms(1);
    REQUIRE(atomic_load(&s->ready));
    CHECK_EQ(atomic_load(&s->failed), 0);
    return t;
}

static void stop_server(struct server *s, pthread_t t)
{
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, s->chid, _NTO_SIDE_CHANNEL, 0));
    int q = Q_QUIT;
    struct sched_now now;
    CHECK_EQ(MsgSend(coid, &q, sizeof q, &now, sizeof now), 0);
    JOIN(t, 5000);
    CHECK_EQ(atomic_load(&s->failed), 0);
    ConnectDetach(coid);
    ChannelDestroy(s->chid);
}

/* Waits up to 2 s for the server thread's scheduling to become (policy, prio). */
static int settles_at(struct server *s, int policy, int prio)
{
    for (int i = 0; i < 2000; i++) {
        struct sched_now n = sched_of(atomic_load(&s->tid));
        if (n.policy == policy && n.prio == prio)
            return 1;
        h_sleep_ms(1);
    }
    struct sched_now n = sched_of(atomic_load(&s->tid));
    h_failf(__FILE__, __LINE__, "server thread at policy %d priority %d, expected %d %d", n.policy,
            n.prio, policy, prio);
    return 0;
}

/* --- the client process: each request runs on a thread of its own ------------------------ */

struct req {
    int id, kind, policy, prio, arg; /* arg: a pulse's priority */
};
struct res {
    int id, err;
    struct sched_now got;  /* what the handler saw (K_MSG, K_HOLD) */
    struct sched_now mine; /* the client thread's own, after SchedSet */
};

struct client {
    int coid, wr;
    pthread_mutex_t lock;
};

struct job {
    struct client *c;
    struct req r;
};

static void *client_job(void *arg)
{
    struct job *j = arg;
    struct res out = {.id = j->r.id};
    if (j->r.policy != SCHED_OTHER || j->r.prio != 10) {
        struct sched_param p = {.sched_priority = j->r.prio};
        if (SchedSet(0, 0, j->r.policy, &p) != 0)
            out.err = errno;
    }
    out.mine = sched_of(0);
    int q = j->r.kind == K_HOLD ? Q_HOLD : j->r.kind == K_CURRENT ? Q_CURRENT : Q_SCHED;
    if (out.err == 0 && j->r.kind != K_PULSE) {
        if (MsgSend(j->c->coid, &q, sizeof q, &out.got, sizeof out.got) != 0)
            out.err = errno;
    } else if (out.err == 0) {
        if (MsgSendPulse(j->c->coid, j->r.arg, 1, 0) != 0)
            out.err = errno;
    }
    pthread_mutex_lock(&j->c->lock);
    if (write(j->c->wr, &out, sizeof out) != (ssize_t)sizeof out)
        out.err = EIO;
    pthread_mutex_unlock(&j->c->lock);
    free(j);
    return NULL;
}

struct client_arg {
    int chid;
    uid_t uid;
    rlim_t rtprio; /* RLIM_INFINITY: unchanged */
};

static int client_main(int rd, int wr, void *arg)
{
    struct client_arg *a = arg;
    if (a->rtprio != RLIM_INFINITY) {
        struct rlimit l = {a->rtprio, a->rtprio};
        if (setrlimit(RLIMIT_RTPRIO, &l) != 0)
            return 2;
    }
    if (geteuid() != a->uid && h_become(a->uid) != 0)
        return 3;
    struct client c = {.coid = -1, .wr = wr, .lock = PTHREAD_MUTEX_INITIALIZER};
    struct req r;
    while (h_read_all(rd, &r, sizeof r, 60000) == 0) {
        /* Attached at the first request: the server may change users before. */
        if (c.coid < 0 && (c.coid = ConnectAttach(0, getppid(), a->chid, _NTO_SIDE_CHANNEL, 0)) < 0)
            return 4;
        struct job *j = malloc(sizeof *j);
        j->c = &c;
        j->r = r;
        pthread_t t;
        if (pthread_create(&t, NULL, client_job, j) != 0)
            return 5;
        pthread_detach(t);
    }
    return 0;
}

static struct h_proc start_clients(struct client_arg *a)
{
    return h_spawn(client_main, a);
}

static void ask(struct h_proc *c, int id, int kind, int policy, int prio, int arg)
{
    struct req r = {id, kind, policy, prio, arg};
    REQUIRE_EQ(write(c->wr, &r, sizeof r), (ssize_t)sizeof r);
}

static struct res answer(struct h_proc *c)
{
    struct res out;
    if (h_read_all(c->rd, &out, sizeof out, 5000) != 0) {
        h_failf(__FILE__, __LINE__, "the client process did not answer");
        h_abort();
    }
    CHECK_EQ(out.err, 0);
    return out;
}

/* One message from a thread of (policy, prio): the handler ran at (want_policy, want_prio). */
static void message_runs_at(struct h_proc *c, int policy, int prio, int want_policy, int want_prio)
{
    static int id;
    ask(c, ++id, K_MSG, policy, prio, 0);
    struct res r = answer(c);
    CHECK_EQ(r.id, id);
    if (r.got.policy != want_policy || r.got.prio != want_prio)
        h_failf(__FILE__, __LINE__, "message from %d/%d served at %d/%d, expected %d/%d", policy,
                prio, r.got.policy, r.got.prio, want_policy, want_prio);
}

/* One pulse of priority `prio` (from a thread of policy/tprio): the handler's scheduling. */
static void pulse_runs_at(struct h_proc *c, struct server *s, int policy, int tprio, int prio,
                          int want_policy, int want_prio)
{
    static int id = 1000;
    int before = atomic_load(&s->pulses);
    ask(c, ++id, K_PULSE, policy, tprio, prio);
    answer(c);
    for (int i = 0; i < 2000 && atomic_load(&s->pulses) == before; i++)
        h_sleep_ms(1);
    REQUIRE(atomic_load(&s->pulses) > before);
    if (atomic_load(&s->pulse_policy) != want_policy || atomic_load(&s->pulse_prio) != want_prio)
        h_failf(__FILE__, __LINE__, "pulse %d served at %d/%d, expected %d/%d", prio,
                atomic_load(&s->pulse_policy), atomic_load(&s->pulse_prio), want_policy,
                want_prio);
}

static void end_clients(struct h_proc *c)
{
    h_close_proc(c);
    CHECK_CHILD_OK(c->pid, 5000);
}

/* The messages and pulses of several clients at several priorities; `lend`: whether this
 * process may lend priorities (up to `top`). */
static void several_clients(unsigned flags, int lend, int top)
{
    struct server s;
    pthread_t t = start_server(&s, flags, SCHED_OTHER, 10);
    struct client_arg a = {s.chid, geteuid(), RLIM_INFINITY};
    struct h_proc c = start_clients(&a);
    int rt = lend && !(flags & _NTO_CHF_FIXED_PRIORITY);
#define AT(p) (rt ? ((p) < top ? (p) : top) : 0)
    message_runs_at(&c, SCHED_FIFO, 20, rt ? SCHED_FIFO : SCHED_OTHER, AT(20));
    message_runs_at(&c, SCHED_RR, 30, rt ? SCHED_RR : SCHED_OTHER, AT(30));
    message_runs_at(&c, SCHED_OTHER, 10, SCHED_OTHER, 0);
    message_runs_at(&c, SCHED_FIFO, 5, rt ? SCHED_FIFO : SCHED_OTHER, AT(5));
    message_runs_at(&c, SCHED_FIFO, 5, rt ? SCHED_FIFO : SCHED_OTHER, AT(5));
    message_runs_at(&c, SCHED_RR, 63, rt ? SCHED_RR : SCHED_OTHER, AT(63));
    /* Back at its own once it finds nothing to receive. */
    settles_at(&s, SCHED_OTHER, 0);
    /* MsgCurrent: a thread that takes a message over takes on its client's priority. */
    ask(&c, 99, K_CURRENT, SCHED_FIFO, 40, 0);
    struct res cur = answer(&c);
    CHECK_EQ(cur.got.policy, rt ? SCHED_FIFO : SCHED_OTHER);
    CHECK_EQ(cur.got.prio, AT(40));
    pulse_runs_at(&c, &s, SCHED_OTHER, 10, 40, rt ? SCHED_FIFO : SCHED_OTHER, AT(40));
    pulse_runs_at(&c, &s, SCHED_OTHER, 10, 10, SCHED_OTHER, 0);
    pulse_runs_at(&c, &s, SCHED_RR, 25, -1, rt ? SCHED_FIFO : SCHED_OTHER, AT(25));
    settles_at(&s, SCHED_OTHER, 0);
#undef AT
    end_clients(&c);
    stop_server(&s, t);
}

TEST(prio_messages_and_pulses_root)
{
    H_NEED_ROOT();
    several_clients(0, 1, 99);
}

TEST(prio_fixed_priority_channel_root)
{
    H_NEED_ROOT();
    several_clients(_NTO_CHF_FIXED_PRIORITY, 1, 99);
}

TEST(prio_unprivileged_nothing_changes)
{
    H_NEED_ROOT();
    REQUIRE_OK(h_become(NOBODY));
    several_clients(0, 0, 0);
}

/* A pulse timer's pulse runs its handler at the event's priority, as any pulse. */
static void timer_pulse(int lend)
{
    struct server s;
    pthread_t t = start_server(&s, 0, SCHED_OTHER, 10);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, s.chid, _NTO_SIDE_CHANNEL, 0));
    const int prios[2] = {33, 10};
    for (int i = 0; i < 2; i++) {
        struct sigevent ev;
        SIGEV_PULSE_INIT(&ev, coid, prios[i], 5, 0);
        timer_t tm;
        REQUIRE_OK(timer_create(CLOCK_MONOTONIC, &ev, &tm));
        struct itimerspec its = {.it_value = {0, 1000000}};
        int before = atomic_load(&s.pulses);
        REQUIRE_OK(timer_settime(tm, 0, &its, NULL));
        for (int j = 0; j < 2000 && atomic_load(&s.pulses) == before; j++)
            h_sleep_ms(1);
        REQUIRE(atomic_load(&s.pulses) > before);
        int rt = lend && prios[i] > 10;
        CHECK_EQ(atomic_load(&s.pulse_policy), rt ? SCHED_FIFO : SCHED_OTHER);
        CHECK_EQ(atomic_load(&s.pulse_prio), rt ? prios[i] : 0);
        timer_delete(tm);
    }
    settles_at(&s, SCHED_OTHER, 0);
    ConnectDetach(coid);
    stop_server(&s, t);
}

TEST(prio_timer_pulse_root)
{
    H_NEED_ROOT();
    timer_pulse(1);
}

TEST(prio_timer_pulse_unprivileged)
{
    H_NEED_ROOT();
    REQUIRE_OK(h_become(NOBODY));
    timer_pulse(0);
}

/* An unprivileged server with RLIMIT_RTPRIO 20 and root clients: priorities up to 20 are
 * lent as they are, higher ones as 20. */
TEST(prio_within_rlimit_rtprio)
{
    H_NEED_ROOT();
    struct server s;
    struct rlimit l = {20, 20};
    if (setrlimit(RLIMIT_RTPRIO, &l) != 0) {
        h_note("skipped: RLIMIT_RTPRIO cannot be raised to 20 here (%s)", h_errname(errno));
        return;
    }
    pthread_t t = start_server(&s, 0, SCHED_OTHER, 10);
    struct client_arg a = {s.chid, 0, RLIM_INFINITY};
    struct h_proc c = start_clients(&a);
    REQUIRE_OK(h_become(NOBODY));
    message_runs_at(&c, SCHED_FIFO, 15, SCHED_FIFO, 15);
    message_runs_at(&c, SCHED_FIFO, 30, SCHED_FIFO, 20);
    message_runs_at(&c, SCHED_RR, 50, SCHED_RR, 20);
    message_runs_at(&c, SCHED_OTHER, 10, SCHED_OTHER, 0);
    pulse_runs_at(&c, &s, SCHED_OTHER, 10, 50, SCHED_FIFO, 20);
    settles_at(&s, SCHED_OTHER, 0);
    end_clients(&c);
    stop_server(&s, t);
}

/* A server thread whose own policy is SCHED_RR keeps it: only the priority is lent. */
TEST(prio_server_keeps_its_policy_root)
{
    H_NEED_ROOT();
    struct server s;
    pthread_t t = start_server(&s, 0, SCHED_RR, 15);
    struct client_arg a = {s.chid, 0, RLIM_INFINITY};
    struct h_proc c = start_clients(&a);
    message_runs_at(&c, SCHED_FIFO, 30, SCHED_RR, 30);
    message_runs_at(&c, SCHED_FIFO, 7, SCHED_RR, 7);
    message_runs_at(&c, SCHED_OTHER, 10, SCHED_RR, 15);
    message_runs_at(&c, SCHED_FIFO, 15, SCHED_RR, 15);
    settles_at(&s, SCHED_RR, 15);
    end_clients(&c);
    stop_server(&s, t);
}

/* Client message 1 (SCHED_OTHER 10) keeps the server's thread busy until s->release. */
static void hold_server(struct server *s, struct h_proc *c)
{
    ask(c, 1, K_HOLD, SCHED_OTHER, 10, 0);
    for (int i = 0; i < 5000 && !atomic_load(&s->holding); i++)
        h_sleep_ms(1);
    REQUIRE(atomic_load(&s->holding));
}

/* A SCHED_OTHER client holds the only server thread; a SCHED_FIFO 50 client that becomes
 * SEND-blocked raises it to FIFO 50, at which it also serves the message; afterwards it is
 * back at its own. With _NTO_CHF_FIXED_PRIORITY it stays at its own throughout. */
static void boost(unsigned flags)
{
    int fixed = (flags & _NTO_CHF_FIXED_PRIORITY) != 0;
    struct server s;
    pthread_t t = start_server(&s, flags, SCHED_OTHER, 10);
    struct client_arg a = {s.chid, 0, RLIM_INFINITY};
    struct h_proc c = start_clients(&a);
    hold_server(&s, &c);
    ask(&c, 2, K_MSG, SCHED_FIFO, 50, 0);
    if (fixed) {
        h_sleep_ms(200);
        struct sched_now n = sched_of(atomic_load(&s.tid));
        CHECK_EQ(n.policy, SCHED_OTHER);
    } else {
        settles_at(&s, SCHED_FIFO, 50);
    }
    atomic_store(&s.release, 1);
    struct res r1 = answer(&c), r2 = answer(&c);
    struct res held = r1.id == 1 ? r1 : r2, high = r1.id == 1 ? r2 : r1;
    CHECK_EQ(high.got.policy, fixed ? SCHED_OTHER : SCHED_FIFO);
    CHECK_EQ(high.got.prio, fixed ? 0 : 50);
    /* The held message's handler read its scheduling after the boost. */
    CHECK_EQ(held.got.policy, fixed ? SCHED_OTHER : SCHED_FIFO);
    settles_at(&s, SCHED_OTHER, 0);
    message_runs_at(&c, SCHED_OTHER, 10, SCHED_OTHER, 0);
    end_clients(&c);
    stop_server(&s, t);
}

TEST(prio_send_blocked_client_boosts_root)
{
    H_NEED_ROOT();
    boost(0);
}

TEST(prio_send_blocked_no_boost_fixed_root)
{
    H_NEED_ROOT();
    boost(_NTO_CHF_FIXED_PRIORITY);
}

/* The boosting client is killed while SEND-blocked: the server thread is back at its own
 * priority at its next receive. */
TEST(prio_boost_ends_when_client_killed_root)
{
    H_NEED_ROOT();
    struct server s;
    pthread_t t = start_server(&s, 0, SCHED_OTHER, 10);
    struct client_arg a = {s.chid, 0, RLIM_INFINITY};
    struct h_proc low = start_clients(&a), high = start_clients(&a);
    hold_server(&s, &low);
    ask(&high, 2, K_MSG, SCHED_FIFO, 50, 0);
    settles_at(&s, SCHED_FIFO, 50);
    h_kill(high.pid);
    h_close_proc(&high);
    atomic_store(&s.release, 1);
    answer(&low);
    settles_at(&s, SCHED_OTHER, 0);
    message_runs_at(&low, SCHED_OTHER, 10, SCHED_OTHER, 0);
    end_clients(&low);
    stop_server(&s, t);
}

/* Unprivileged server and client (one user, no RLIMIT_RTPRIO): a client that claims
 * SCHED_FIFO 50 (recorded, not real) behind a busy server thread changes nothing, and
 * nothing fails. */
TEST(prio_unprivileged_boost_nothing_changes)
{
    H_NEED_ROOT();
    struct server s;
    REQUIRE_OK(h_become(NOBODY));
    pthread_t t = start_server(&s, 0, SCHED_OTHER, 10);
    struct client_arg a = {s.chid, NOBODY, RLIM_INFINITY};
    struct h_proc c = start_clients(&a);
    hold_server(&s, &c);
    ask(&c, 2, K_MSG, SCHED_FIFO, 50, 0);
    h_sleep_ms(100);
    CHECK_EQ(sched_of(atomic_load(&s.tid)).policy, SCHED_OTHER);
    atomic_store(&s.release, 1);
    struct res r1 = answer(&c), r2 = answer(&c);
    CHECK_EQ(r1.got.policy, SCHED_OTHER);
    CHECK_EQ(r2.got.policy, SCHED_OTHER);
    end_clients(&c);
    stop_server(&s, t);
}

HARNESS_MAIN
