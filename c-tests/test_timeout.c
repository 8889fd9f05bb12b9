/*
 * test_timeout.c - kernel timeouts (TimerTimeout, timer_timeout): RECEIVE, SEND and REPLY
 * timeouts end the call with ETIMEDOUT; a SEND-blocked message is withdrawn; a REPLY timeout
 * on an _NTO_CHF_UNBLOCK channel asks the server (_PULSE_CODE_UNBLOCK) and the client waits
 * for its answer; a NULL time means "don't block"; TIMER_ABSTIME (Linux's and QNX's bit);
 * the timeout is consumed by the next call; the previous flags and time left are returned;
 * an expiry event other than SIGEV_UNBLOCK is delivered and the call goes on; EINVAL
 * (reference §1.4, §4.2, §8.4, §8.5).
 *
 * Timing assertions are loose (the machine may be loaded): a timeout must not end a call
 * before its time, and must end it within a few seconds.
 */
#include "harness.h"

#define MS(x) ((uint64_t)(x) * 1000000ULL)
#define QNX_TIMER_ABSTIME 0x80000000u
#define LATE_MS 5000 /* "promptly", on a loaded machine */

/* ------------------------------------------------------------------------------------ */
/* A server process                                                                      */

enum {
    C_RECV = 1,  /* arg: RECEIVE timeout in ms (-1: none); answers rcvid/-errno, code, value */
    C_REPLY,     /* MsgReply(last message, arg) */
    C_ERROR,     /* MsgError(last message, arg) */
    C_UNBLOCK_REQ, /* 1 if MsgInfo shows _NTO_MI_UNBLOCK_REQ on the last message */
};

static long long result(int r) { return r == 0 ? 0 : -errno; }

/* arg: the channel flags. Puts its chid, then obeys commands until the pipe closes. */
HELPER(to_server)
{
    int chid = ChannelCreate((unsigned)strtoul(arg, NULL, 0));
    h_put(wr, chid < 0 ? -errno : chid);
    rcvid_t last = 0;
    for (;;) {
        long long op, a;
        if (h_try_get(rd, &op, 30000) || h_try_get(rd, &a, 2000))
            return 0;
        switch (op) {
        case C_RECV: {
            if (a >= 0) {
                uint64_t ns = MS(a);
                TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
            }
            union {
                struct _pulse p;
                char raw[64];
            } m;
            memset(&m, 0, sizeof m);
            rcvid_t r = MsgReceive(chid, &m, sizeof m, NULL);
            if (r > 0)
                last = r;
            h_put(wr, r == -1 ? -errno : r);
            h_put(wr, r == 0 ? m.p.code : 0);
            h_put(wr, r == 0 ? m.p.value.sival_int : 0);
            break;
        }
        case C_REPLY:
            h_put(wr, result(MsgReply(last, (long)a, NULL, 0)));
            break;
        case C_ERROR:
            h_put(wr, result(MsgError(last, (int)a)));
            break;
        case C_UNBLOCK_REQ: {
            struct _msg_info info;
            if (MsgInfo(last, &info) == 0)
                h_put(wr, (info.flags & _NTO_MI_UNBLOCK_REQ) != 0);
            else
                h_put(wr, -errno);
            break;
        }
        default:
            h_put(wr, -EINVAL);
        }
    }
}

struct srv {
    struct h_proc p;
    int coid;
};

static struct srv srv_start(unsigned chflags)
{
    char arg[32];
    snprintf(arg, sizeof arg, "%#x", chflags);
    struct srv s;
    s.p = h_exec("to_server", arg);
    int chid = (int)h_get(s.p.rd, 5000);
    REQUIRE(chid > 0);
    s.coid = (int)REQUIRE_OK(ConnectAttach(0, s.p.pid, chid, _NTO_SIDE_CHANNEL, 0));
    return s;
}

static void srv_stop(struct srv *s)
{
    h_close_proc(&s->p);
    CHECK_CHILD_OK(s->p.pid, 5000);
}

static void srv_put(struct srv *s, int op, long long arg)
{
    h_put(s->p.wr, op);
    h_put(s->p.wr, arg);
}

static long long srv_cmd(struct srv *s, int op, long long arg)
{
    srv_put(s, op, arg);
    return h_get(s->p.rd, 5000);
}

/* The answer to C_RECV: rcvid (or -errno), and a pulse's code and value. */
struct got {
    long long rcvid, code, value;
};

static struct got srv_got(struct srv *s, int timeout_ms)
{
    struct got g;
    g.rcvid = h_get(s->p.rd, timeout_ms);
    g.code = h_get(s->p.rd, 2000);
    g.value = h_get(s->p.rd, 2000);
    return g;
}

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                               */

/* Checks a call that timed out: -1/ETIMEDOUT, not before `ms`, within LATE_MS after. */
#define CHECK_TIMED_OUT(ret, err, t0_us, ms)                                    \
    do {                                                                        \
        long long el_ = (h_now_us() - (t0_us)) / 1000;                          \
        CHECK_EQ((ret), -1);                                                    \
        CHECK_EQ((err), ETIMEDOUT);                                             \
        if (el_ < (ms) || el_ > (ms) + LATE_MS)                                 \
            FAIL("timed out after %lld ms, expected %d ms", el_, (int)(ms));    \
    } while (0)

struct late_pulse {
    int coid;
    int ms;
    int code;
};

static void *late_pulse_thread(void *arg)
{
    struct late_pulse *l = (struct late_pulse *)arg;
    h_sleep_ms(l->ms);
    if (MsgSendPulse(l->coid, 10, l->code, 0) != 0)
        FAIL("late pulse: %s", h_errname(errno));
    return NULL;
}

/* Proves MsgReceive on ch blocks normally: a pulse sent 300 ms later is what ends it. */
static void expect_receive_blocks(struct chan ch)
{
    struct late_pulse l = {ch.coid, 300, 42};
    long long t0 = h_now_ms();
    pthread_t t = h_thread(late_pulse_thread, &l);
    struct _pulse p;
    errno = 0;
    long r = MsgReceive(ch.chid, &p, sizeof p, NULL);
    long long el = h_now_ms() - t0;
    if (r != 0 || p.code != 42)
        FAIL("MsgReceive = %ld (%s), code %d: the late pulse expected", r, h_errname(errno),
             p.code);
    if (el < 290)
        FAIL("MsgReceive returned after %lld ms, before the late pulse", el);
    JOIN(t, 3000);
}

/* MsgReceive on ch must time out, not before `ms` after t0_us. */
static void expect_receive_timeout(struct chan ch, long long t0_us, int ms)
{
    char buf[64];
    errno = 0;
    long r = MsgReceive(ch.chid, buf, sizeof buf, NULL);
    CHECK_TIMED_OUT(r, errno, t0_us, ms);
}

static void receive_times_out(struct chan ch, clockid_t clock, unsigned abs, int ms)
{
    uint64_t ns = MS(ms);
    long long t0 = h_now_us();
    if (abs) {
        struct timespec now;
        clock_gettime(clock, &now);
        ns += (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
    }
    CHECK_EQ(TimerTimeout(clock, (int)(_NTO_TIMEOUT_RECEIVE | abs), NULL, &ns, NULL), 0);
    /* An absolute time was read from `clock` after t0: allow for the clocks' drift. */
    expect_receive_timeout(ch, t0, abs ? ms - 2 : ms);
}

/* ------------------------------------------------------------------------------------ */
/* RECEIVE                                                                               */

TEST(to_receive_timeout_etimedout)
{
    struct chan ch = open_chan(0);
    receive_times_out(ch, CLOCK_MONOTONIC, 0, 100);
    receive_times_out(ch, CLOCK_REALTIME, 0, 150);
    /* MsgReceivePulse and the _r form too. */
    uint64_t ns = MS(100);
    struct _pulse p;
    long long t0 = h_now_us();
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), 0);
    errno = 0;
    long r = MsgReceivePulse(ch.chid, &p, sizeof p, NULL);
    CHECK_TIMED_OUT(r, errno, t0, 100);
    t0 = h_now_us();
    CHECK_EQ(TimerTimeout_r(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), 0);
    CHECK_EQ(MsgReceive_r(ch.chid, &p, sizeof p, NULL), -ETIMEDOUT);
    CHECK(h_now_us() - t0 >= 100000);
    close_chan(ch);
}

TEST(to_timer_timeout_timespec_and_explicit_unblock_event)
{
    struct chan ch = open_chan(0);
    struct timespec ts = {0, 150 * 1000000L};
    struct sigevent unblock;
    SIGEV_UNBLOCK_INIT(&unblock);
    long long t0 = h_now_us();
    CHECK_EQ(timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, &unblock, &ts, NULL), 0);
    expect_receive_timeout(ch, t0, 150);
    uint64_t ns = MS(100);
    t0 = h_now_us();
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, &unblock, &ns, NULL), 0);
    expect_receive_timeout(ch, t0, 100);
    close_chan(ch);
}

/* An expiry event other than SIGEV_UNBLOCK is delivered, and the call goes on: a pulse to
 * the channel being received on is what the receive returns. */
TEST(to_expiry_pulse_event_delivered_call_goes_on)
{
    struct chan ch = open_chan(0);
    struct sigevent ev;
    SIGEV_PULSE_INIT(&ev, ch.coid, 10, 9, 0x99);
    uint64_t ns = MS(100);
    long long t0 = h_now_us();
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, &ev, &ns, NULL), 0);
    struct _pulse p;
    memset(&p, 0, sizeof p);
    CHECK_EQ(MsgReceive(ch.chid, &p, sizeof p, NULL), 0);
    CHECK_EQ(p.code, 9);
    CHECK_EQ(p.value.sival_int, 0x99);
    long long el = (h_now_us() - t0) / 1000;
    if (el < 100 || el > 100 + LATE_MS)
        FAIL("the expiry pulse came after %lld ms, expected 100 ms", el);
    /* Delivered once. */
    CHECK_EQ(MsgSendPulse(ch.coid, 1, 1, 1), 0);
    CHECK_EQ(MsgReceive(ch.chid, &p, sizeof p, NULL), 0);
    CHECK_EQ(p.code, 1);
    close_chan(ch);
}

/* ------------------------------------------------------------------------------------ */
/* SEND and REPLY, across processes                                                      */

TEST(to_send_timeout_server_not_receiving)
{
    struct srv s = srv_start(0);
    uint64_t ns = MS(200);
    long long t0 = h_now_us();
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns,
                          NULL),
             0);
    errno = 0;
    long r = MsgSend(s.coid, "late", 5, NULL, 0);
    CHECK_TIMED_OUT(r, errno, t0, 200);
    /* The message was withdrawn: the server never sees it. */
    struct got g;
    srv_put(&s, C_RECV, 300);
    g = srv_got(&s, 5000);
    CHECK_EQ(g.rcvid, -ETIMEDOUT);
    srv_stop(&s);
}

/* A thread that arms a timeout (if `armed`) and sends. */
struct sender {
    int coid;
    int flags;
    int armed;
    uint64_t ns;
    long ret;
    int err;
    long long us; /* how long the send took */
    atomic_int done;
};

static void *sender_thread(void *arg)
{
    struct sender *x = (struct sender *)arg;
    long long t0 = h_now_us();
    if (x->armed && TimerTimeout(CLOCK_MONOTONIC, x->flags, NULL, &x->ns, NULL) == -1)
        FAIL("TimerTimeout: %s", h_errname(errno));
    errno = 0;
    x->ret = MsgSend(x->coid, "msg", 4, NULL, 0);
    x->err = errno;
    x->us = h_now_us() - t0;
    atomic_store(&x->done, 1);
    return NULL;
}

/* A SEND timeout does not limit the REPLY-blocked time. */
TEST(to_send_timeout_does_not_apply_once_received)
{
    struct srv s = srv_start(0);
    struct sender x = {.coid = s.coid, .flags = _NTO_TIMEOUT_SEND, .armed = 1, .ns = MS(100)};
    pthread_t t = h_thread(sender_thread, &x);
    srv_put(&s, C_RECV, -1);
    CHECK(srv_got(&s, 5000).rcvid > 0);
    h_sleep_ms(400);
    CHECK_EQ(atomic_load(&x.done), 0);
    CHECK_EQ(srv_cmd(&s, C_REPLY, 7), 0);
    JOIN(t, 5000);
    CHECK_EQ(x.ret, 7);
    srv_stop(&s);
}

/* Without _NTO_CHF_UNBLOCK the client leaves when the time is up; the reply finds nobody. */
TEST(to_reply_timeout_without_unblock_flag)
{
    struct srv s = srv_start(0);
    srv_put(&s, C_RECV, -1);
    uint64_t ns = MS(200);
    long long t0 = h_now_us();
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_REPLY, NULL, &ns, NULL), 0);
    errno = 0;
    long r = MsgSend(s.coid, "msg", 4, NULL, 0);
    CHECK_TIMED_OUT(r, errno, t0, 200);
    CHECK(srv_got(&s, 5000).rcvid > 0);
    CHECK_EQ(srv_cmd(&s, C_REPLY, 0), -ESRCH);
    srv_stop(&s);
}

/* With _NTO_CHF_UNBLOCK the server gets _PULSE_CODE_UNBLOCK (value: the rcvid) and the
 * client stays REPLY-blocked until the server answers; how: 0 MsgError(ETIMEDOUT),
 * 1 MsgReply(7), 2 MsgError(-1) (the error that caused the unblock). */
static void reply_timeout_with_unblock_flag(int how)
{
    struct srv s = srv_start(_NTO_CHF_UNBLOCK);
    struct sender x = {.coid = s.coid, .flags = _NTO_TIMEOUT_REPLY, .armed = 1, .ns = MS(100)};
    long long t0 = h_now_us();
    pthread_t t = h_thread(sender_thread, &x);
    srv_put(&s, C_RECV, -1);
    long long rcvid = srv_got(&s, 5000).rcvid;
    REQUIRE(rcvid > 0);
    srv_put(&s, C_RECV, LATE_MS);
    struct got g = srv_got(&s, LATE_MS + 2000);
    long long el = (h_now_us() - t0) / 1000;
    CHECK_EQ(g.rcvid, 0);
    CHECK_EQ(g.code, _PULSE_CODE_UNBLOCK);
    CHECK_EQ(g.value, rcvid);
    if (el < 100)
        FAIL("unblock pulse after %lld ms, before the 100 ms timeout", el);
    CHECK_EQ(srv_cmd(&s, C_UNBLOCK_REQ, 0), 1);
    h_sleep_ms(300);
    CHECK_EQ(atomic_load(&x.done), 0);
    switch (how) {
    case 0:
        CHECK_EQ(srv_cmd(&s, C_ERROR, ETIMEDOUT), 0);
        break;
    case 1:
        CHECK_EQ(srv_cmd(&s, C_REPLY, 7), 0);
        break;
    default:
        CHECK_EQ(srv_cmd(&s, C_ERROR, -1), 0);
    }
    JOIN(t, 5000);
    if (how == 1) {
        CHECK_EQ(x.ret, 7);
    } else {
        CHECK_EQ(x.ret, -1);
        CHECK_EQ(x.err, ETIMEDOUT);
    }
    /* Only one unblock pulse. */
    srv_put(&s, C_RECV, 200);
    CHECK_EQ(srv_got(&s, 5000).rcvid, -ETIMEDOUT);
    srv_stop(&s);
}

TEST(to_reply_timeout_with_unblock_flag_held_until_error) { reply_timeout_with_unblock_flag(0); }

TEST(to_reply_timeout_with_unblock_flag_held_until_reply) { reply_timeout_with_unblock_flag(1); }

TEST(to_reply_timeout_with_unblock_flag_error_minus_one_is_etimedout)
{
    reply_timeout_with_unblock_flag(2);
}

/* ------------------------------------------------------------------------------------ */
/* NULL time, absolute times                                                             */

TEST(to_null_time_means_do_not_block)
{
    struct chan ch = open_chan(0);
    long long t0 = h_now_us();
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL), 0);
    expect_receive_timeout(ch, t0, 0);
    CHECK((h_now_us() - t0) / 1000 < 1000);
    t0 = h_now_us();
    CHECK_EQ(timer_timeout(CLOCK_REALTIME, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL), 0);
    expect_receive_timeout(ch, t0, 0);
    /* Something queued: the call does not block, so it does not time out. */
    CHECK_EQ(MsgSendPulse(ch.coid, 10, 5, 5), 0);
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL), 0);
    struct _pulse p;
    CHECK_EQ(MsgReceive(ch.chid, &p, sizeof p, NULL), 0);
    CHECK_EQ(p.code, 5);
    close_chan(ch);

    /* A send to a server that is not receiving fails at once, and is withdrawn. */
    struct srv s = srv_start(0);
    t0 = h_now_us();
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, NULL, NULL, NULL), 0);
    errno = 0;
    long r = MsgSend(s.coid, "msg", 4, NULL, 0);
    CHECK_TIMED_OUT(r, errno, t0, 0);
    CHECK((h_now_us() - t0) / 1000 < 1000);
    srv_put(&s, C_RECV, 200);
    CHECK_EQ(srv_got(&s, 5000).rcvid, -ETIMEDOUT);
    srv_stop(&s);
}

TEST(to_abstime_linux_and_qnx_flags)
{
    struct chan ch = open_chan(0);
    receive_times_out(ch, CLOCK_MONOTONIC, TIMER_ABSTIME, 150);
    receive_times_out(ch, CLOCK_MONOTONIC, QNX_TIMER_ABSTIME, 150);
    receive_times_out(ch, CLOCK_REALTIME, TIMER_ABSTIME, 150);
    receive_times_out(ch, CLOCK_REALTIME, QNX_TIMER_ABSTIME, 150);
    /* timer_timeout with an absolute timespec. */
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    long long t0 = h_now_us();
    at.tv_nsec += 150 * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    CHECK_EQ(timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, NULL, &at,
                           NULL),
             0);
    expect_receive_timeout(ch, t0, 148);
    /* A time already past: at once. */
    uint64_t past = MS(1000);
    t0 = h_now_us();
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, (int)(_NTO_TIMEOUT_RECEIVE | QNX_TIMER_ABSTIME), NULL,
                          &past, NULL),
             0);
    expect_receive_timeout(ch, t0, 0);
    CHECK((h_now_us() - t0) / 1000 < 1000);
    close_chan(ch);
}

/* ------------------------------------------------------------------------------------ */
/* Consumption, return values, errors                                                    */

TEST(to_consumed_by_the_next_call)
{
    struct chan ch = open_chan(0);
    /* Used by the call that timed out: the next receive blocks normally. */
    receive_times_out(ch, CLOCK_MONOTONIC, 0, 100);
    expect_receive_blocks(ch);
    /* Used by a call that did not block. */
    CHECK_EQ(MsgSendPulse(ch.coid, 10, 5, 5), 0);
    uint64_t ns = MS(100);
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), 0);
    struct _pulse p;
    CHECK_EQ(MsgReceive(ch.chid, &p, sizeof p, NULL), 0);
    CHECK_EQ(p.code, 5);
    expect_receive_blocks(ch);
    /* A timeout for other states does not end a receive. */
    ns = MS(50);
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns,
                          NULL),
             0);
    expect_receive_blocks(ch);
    /* Each thread has its own: one armed here does not reach another thread's call. */
    ns = 0;
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), 0);
    struct late_pulse l = {ch.coid, 300, 43};
    long long t0 = h_now_ms();
    pthread_t t = h_thread(late_pulse_thread, &l);
    rcvid_t r = -1;
    REQUIRE(h_receive_within(ch.chid, &p, sizeof p, NULL, 5000, &r, NULL));
    CHECK_EQ(r, 0);
    CHECK_EQ(p.code, 43);
    CHECK(h_now_ms() - t0 >= 290);
    JOIN(t, 3000);
    close_chan(ch);
}

TEST(to_returns_previous_flags_and_time_left)
{
    struct chan ch = open_chan(0);
    uint64_t ns = MS(1000), left = 12345;
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns,
                          &left),
             0);
    ns = MS(2000);
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, &left),
             _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    CHECK(left > 0 && left <= MS(1000));
    /* Flags 0 disarm; what was armed is returned. */
    struct timespec ots = {99, 99};
    CHECK_EQ(timer_timeout(CLOCK_MONOTONIC, 0, NULL, NULL, &ots), _NTO_TIMEOUT_RECEIVE);
    CHECK(ots.tv_sec <= 2 && ots.tv_sec >= 0 && ots.tv_nsec >= 0 && ots.tv_nsec < 1000000000L);
    CHECK(ots.tv_sec > 0 || ots.tv_nsec > 0);
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, 0, NULL, NULL, NULL), 0);
    /* Disarmed: an immediate timeout armed and then disarmed does not end the receive. */
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL), 0);
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, 0, NULL, NULL, NULL), _NTO_TIMEOUT_RECEIVE);
    expect_receive_blocks(ch);
    /* Consumed: nothing armed any more. */
    ns = 0;
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), 0);
    char buf[64];
    CHECK_ERR(MsgReceive(ch.chid, buf, sizeof buf, NULL), ETIMEDOUT);
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, 0, NULL, NULL, NULL), 0);
    close_chan(ch);
}

TEST(to_bad_clock_time_or_event_einval)
{
    struct chan ch = open_chan(0);
    uint64_t ns = MS(10);
    CHECK_ERR(TimerTimeout(12345, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), EINVAL);
    CHECK_ERR(TimerTimeout(99, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), EINVAL);
    CHECK_EQ(TimerTimeout_r(12345, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), -EINVAL);
    struct timespec ts = {0, 10};
    CHECK_ERR(timer_timeout(12345, _NTO_TIMEOUT_RECEIVE, NULL, &ts, NULL), EINVAL);
    struct timespec bad = {0, 1000000000L};
    CHECK_ERR(timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &bad, NULL), EINVAL);
    bad.tv_nsec = -1;
    CHECK_ERR(timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &bad, NULL), EINVAL);
    struct sigevent ev;
    SIGEV_SIGNAL_INIT(&ev, 0);
    CHECK_ERR(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, &ev, &ns, NULL), EINVAL);
    /* Nothing was armed by the failed calls. */
    CHECK_EQ(TimerTimeout(CLOCK_MONOTONIC, 0, NULL, NULL, NULL), 0);
    expect_receive_blocks(ch);
    close_chan(ch);
}

HARNESS_MAIN
