/*
 * test_timers.c - timers that deliver pulses, as QNX code arms them: timer_create with a
 * SIGEV_PULSE event on a side-channel coid, then MsgReceive returns 0 with the event's code,
 * value and the coid's scoid for every expiry; one-shot and periodic, relative and
 * TIMER_ABSTIME on CLOCK_REALTIME and CLOCK_MONOTONIC; timer_gettime, disarming,
 * timer_delete; priorities; a timer pulsing another process's channel (and the overruns
 * counted when that process does not receive); glibc's own SIGEV_SIGNAL / SIGEV_THREAD /
 * SIGEV_NONE timers beside them; the kernel calls TimerCreate, TimerSettime, TimerInfo,
 * TimerDestroy, TimerAlarm; errors; fork (reference §2.9, §3, §11). A receiver that sleeps
 * on the channel its process's timer pulses wakes itself at the expiry: a pool of receivers
 * still gets each expiry once, a re-arm, a cancellation, a signal (even one whose handler
 * jumps out) change nothing that QNX code sees, and the thread's timer slack stays its own.  Time bounds are loose:
 * the machine may be a loaded 2-core VM.
 */
#include "harness.h"
#include <setjmp.h>
#include <sys/prctl.h>

#define MS 1000000LL

/* One pulse within timeout_ms: 0, or -1 with errno ETIMEDOUT. A signal handler's run
 * (EINTR: QNX's calls are not restarted) is waited through. */
static int take(int chid, struct _pulse *p, int timeout_ms)
{
    long long end = h_now_us() + timeout_ms * 1000LL;
    for (;;) {
        long long left = end - h_now_us();
        uint64_t ns = left > 0 ? (uint64_t)left * 1000 : 0;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        int r = (int)MsgReceivePulse(chid, p, sizeof *p, NULL);
        if (r != -1 || errno != EINTR)
            return r;
    }
}

/* Takes every pulse already queued; how many there were. */
static int drain(int chid)
{
    struct _pulse p;
    int n = 0;
    while (take(chid, &p, 0) == 0)
        n++;
    return n;
}

static struct itimerspec its_ms(long long value_ms, long long interval_ms)
{
    struct itimerspec its;
    its.it_value.tv_sec = (time_t)(value_ms / 1000);
    its.it_value.tv_nsec = (long)(value_ms % 1000) * 1000000L;
    its.it_interval.tv_sec = (time_t)(interval_ms / 1000);
    its.it_interval.tv_nsec = (long)(interval_ms % 1000) * 1000000L;
    return its;
}

static long long ts_ns(const struct timespec *ts) { return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec; }

static long long clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts_ns(&ts);
}

/* A pulse timer on c.coid with the given priority, code and value. */
static timer_t pulse_timer(clockid_t clock, int coid, int prio, int code, uintptr_t value)
{
    struct sigevent ev;
    timer_t t;
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, prio, code, value);
    REQUIRE_OK(timer_create(clock, &ev, &t));
    return t;
}

static void arm(timer_t t, long long value_ms, long long interval_ms)
{
    struct itimerspec its = its_ms(value_ms, interval_ms);
    REQUIRE_OK(timer_settime(t, 0, &its, NULL));
}

/* The scoid pulses sent on coid carry. */
static int scoid_of(struct chan c)
{
    struct _pulse p;
    REQUIRE_OK(MsgSendPulse(c.coid, 10, 99, 0));
    REQUIRE_OK(take(c.chid, &p, 1000));
    return p.scoid;
}

/* ------------------------------------------------------------------------------------ */
/* Pulse timers in one process                                                           */

TEST(one_shot_relative_pulse_carries_code_value_and_scoid)
{
    struct chan c = open_chan(0);
    int scoid = scoid_of(c);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 5, (uintptr_t)0xdeadbeefcafeULL);
    long long t0 = h_now_us();
    arm(t, 50, 0);
    struct _pulse p;
    memset(&p, 0x5a, sizeof p);
    REQUIRE_OK(take(c.chid, &p, 3000));
    long long waited = h_now_us() - t0;
    CHECK(waited >= 49000);
    CHECK(waited < 2000000);
    CHECK_EQ(p.type, 0);
    CHECK_EQ(p.subtype, 0);
    CHECK_EQ(p.code, 5);
    CHECK_EQ((uintptr_t)p.value.sival_ptr, (uintptr_t)0xdeadbeefcafeULL);
    CHECK_EQ(p.scoid, scoid);
    /* One-shot: nothing more. */
    CHECK_ERR(take(c.chid, &p, 150), ETIMEDOUT);
    CHECK_OK(timer_delete(t));
    close_chan(c);
}

TEST(pulse_int_init_value_arrives)
{
    struct chan c = open_chan(0);
    struct sigevent ev;
    timer_t t;
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INT_INIT(&ev, c.coid, SIGEV_PULSE_PRIO_INHERIT, 17, -12345);
    REQUIRE_OK(timer_create(CLOCK_REALTIME, &ev, &t));
    arm(t, 10, 0);
    struct _pulse p;
    REQUIRE_OK(take(c.chid, &p, 3000));
    CHECK_EQ(p.code, 17);
    CHECK_EQ(p.value.sival_int, -12345);
    CHECK_OK(timer_delete(t));
    close_chan(c);
}

TEST(periodic_timer_delivers_every_expiry)
{
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 3, 0);
    long long end = h_now_ms() + 500;
    arm(t, 20, 20);
    int n = 0;
    struct _pulse p;
    while (h_now_ms() < end) {
        long long left = end - h_now_ms();
        if (take(c.chid, &p, (int)(left > 0 ? left : 0)) == 0) {
            CHECK_EQ(p.code, 3);
            n++;
        }
    }
    h_note("%d pulses from a 20 ms timer in 500 ms", n);
    CHECK(n >= 15);
    CHECK(n <= 30);
    CHECK_OK(timer_delete(t));
    close_chan(c);
}

static void absolute_case(clockid_t clock)
{
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(clock, c.coid, 10, 9, 0);
    long long target = clock_ns(clock) + 80 * MS;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(target / 1000000000LL);
    its.it_value.tv_nsec = (long)(target % 1000000000LL);
    REQUIRE_OK(timer_settime(t, TIMER_ABSTIME, &its, NULL));
    struct _pulse p;
    REQUIRE_OK(take(c.chid, &p, 3000));
    CHECK(clock_ns(clock) >= target);
    CHECK_EQ(p.code, 9);
    /* A time already past fires at once. */
    its.it_value.tv_sec -= 10;
    REQUIRE_OK(timer_settime(t, TIMER_ABSTIME, &its, NULL));
    REQUIRE_OK(take(c.chid, &p, 1000));
    CHECK_ERR(take(c.chid, &p, 100), ETIMEDOUT);
    CHECK_OK(timer_delete(t));
    close_chan(c);
}

TEST(absolute_time_on_realtime) { absolute_case(CLOCK_REALTIME); }

TEST(absolute_time_on_monotonic) { absolute_case(CLOCK_MONOTONIC); }

TEST(gettime_shows_time_left_and_zero_disarms)
{
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 1, 0);
    struct itimerspec cur, old;
    CHECK_OK(timer_gettime(t, &cur));
    CHECK_EQ(ts_ns(&cur.it_value), 0);
    arm(t, 2000, 1000);
    CHECK_OK(timer_gettime(t, &cur));
    CHECK(ts_ns(&cur.it_value) > 1500 * MS);
    CHECK(ts_ns(&cur.it_value) <= 2000 * MS);
    CHECK_EQ(ts_ns(&cur.it_interval), 1000 * MS);
    /* Zero disarms and reports what was left. */
    struct itimerspec zero = its_ms(0, 0);
    CHECK_OK(timer_settime(t, 0, &zero, &old));
    CHECK(ts_ns(&old.it_value) > 1500 * MS);
    CHECK_EQ(ts_ns(&old.it_interval), 1000 * MS);
    CHECK_OK(timer_gettime(t, &cur));
    CHECK_EQ(ts_ns(&cur.it_value), 0);
    /* Armed, then disarmed before it fires: no pulse. */
    arm(t, 100, 0);
    CHECK_OK(timer_settime(t, 0, &zero, NULL));
    struct _pulse p;
    CHECK_ERR(take(c.chid, &p, 300), ETIMEDOUT);
    CHECK_EQ(timer_getoverrun(t), 0);
    CHECK_OK(timer_delete(t));
    close_chan(c);
}

TEST(timer_delete_stops_pulses)
{
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 1, 0);
    arm(t, 5, 5);
    h_sleep_ms(60);
    CHECK_OK(timer_delete(t));
    CHECK(drain(c.chid) >= 3);
    struct _pulse p;
    CHECK_ERR(take(c.chid, &p, 150), ETIMEDOUT);
    /* The id is gone. */
    struct itimerspec cur, its = its_ms(10, 0);
    CHECK_ERR(timer_settime(t, 0, &its, NULL), EINVAL);
    CHECK_ERR(timer_gettime(t, &cur), EINVAL);
    CHECK_ERR(timer_delete(t), EINVAL);
    close_chan(c);
}

/* Pulses queue by priority: the timer's priority, -1 as the process's base priority 10,
 * 0 as 1. */
static int first_code(struct chan c, int sent_prio, int timer_prio)
{
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, timer_prio, 2, 0);
    REQUIRE_OK(MsgSendPulse(c.coid, sent_prio, 1, 0));
    arm(t, 1, 0);
    /* TimerInfo waits for a delivery under way: once it shows the expiry, the pulse is in. */
    struct _timer_info info;
    long long end = h_now_ms() + 3000;
    while ((TimerInfo(0, t, 0, &info) < 0 || !(info.flags & _NTO_TI_EXPIRED)) && h_now_ms() < end)
        h_sleep_ms(5);
    struct _pulse a, b;
    REQUIRE_OK(take(c.chid, &a, 1000));
    REQUIRE_OK(take(c.chid, &b, 1000));
    CHECK_EQ(a.code + b.code, 3);
    CHECK_OK(timer_delete(t));
    return a.code;
}

TEST(pulses_carry_the_event_priority)
{
    struct chan c = open_chan(0);
    CHECK_EQ(first_code(c, 15, 20), 2);
    CHECK_EQ(first_code(c, 25, 20), 1);
    CHECK_EQ(first_code(c, 9, SIGEV_PULSE_PRIO_INHERIT), 2);
    CHECK_EQ(first_code(c, 11, SIGEV_PULSE_PRIO_INHERIT), 1);
    CHECK_EQ(first_code(c, 2, 0), 1);
    close_chan(c);
}

/* ------------------------------------------------------------------------------------ */
/* Another process's channel                                                             */

/* Receives `arg` pulses (or stops after 1 s of silence) and reports the count, then the
 * last code and value. With a negative count it waits for the parent's word first. */
static int pulse_sink(int rd, int wr, void *arg)
{
    int want = (int)(intptr_t)arg;
    int chid = (int)ChannelCreate(0);
    h_put(wr, chid);
    if (want < 0) {
        h_get(rd, 10000);
        want = -want;
    }
    struct _pulse p;
    memset(&p, 0, sizeof p);
    int n = 0;
    int code = 0;
    long long value = 0;
    while (n < want && take(chid, &p, 1000) == 0) {
        n++;
        code = p.code;
        value = (long long)(intptr_t)p.value.sival_ptr;
    }
    h_put(wr, n);
    h_put(wr, code);
    h_put(wr, value);
    h_get(rd, 10000);
    return 0;
}

TEST(pulse_timer_targets_another_process)
{
    struct h_proc srv = h_spawn(pulse_sink, (void *)(intptr_t)5);
    int chid = (int)h_get(srv.rd, 5000);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0));
    timer_t t = pulse_timer(CLOCK_MONOTONIC, coid, 12, 7, 4242);
    arm(t, 10, 10);
    CHECK_EQ(h_get(srv.rd, 10000), 5);
    CHECK_EQ(h_get(srv.rd, 1000), 7);
    CHECK_EQ(h_get(srv.rd, 1000), 4242);
    CHECK_OK(timer_delete(t));
    h_put(srv.wr, 0);
    CHECK_CHILD_OK(srv.pid, 5000);
    h_close_proc(&srv);
}

/* A receiver 128 pulses behind fills its connection's ring: later expiries are counted as
 * overruns, never waited for. */
TEST(unreceived_pulses_count_overruns)
{
    struct h_proc srv = h_spawn(pulse_sink, (void *)(intptr_t)-1000000);
    int chid = (int)h_get(srv.rd, 5000);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0));
    timer_t t = pulse_timer(CLOCK_MONOTONIC, coid, 10, 1, 0);
    arm(t, 1, 1);
    long long end = h_now_ms() + 5000;
    int over = 0;
    while (over == 0 && h_now_ms() < end) {
        h_sleep_ms(50);
        over = timer_getoverrun(t);
    }
    CHECK(over > 0);
    struct _timer_info info;
    CHECK_EQ(TimerInfo(0, t, 0, &info), (int)(intptr_t)t);
    CHECK_EQ(timer_getoverrun(t) >= 0, 1);
    CHECK_OK(timer_delete(t));
    h_put(srv.wr, 0);
    CHECK(h_get(srv.rd, 10000) >= 100);
    h_get(srv.rd, 1000);
    h_get(srv.rd, 1000);
    h_put(srv.wr, 0);
    CHECK_CHILD_OK(srv.pid, 5000);
    h_close_proc(&srv);
}

/* ------------------------------------------------------------------------------------ */
/* glibc's timers beside them                                                            */

static volatile sig_atomic_t g_sig_code, g_sig_value, g_sig_count;

static void on_rt(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    g_sig_code = si->si_code;
    g_sig_value = si->si_value.sival_int;
    g_sig_count++;
}

static atomic_int g_thread_calls;
static atomic_int g_thread_value;

static void on_thread(union sigval v)
{
    atomic_store(&g_thread_value, v.sival_int);
    atomic_fetch_add(&g_thread_calls, 1);
}

TEST(posix_signal_thread_and_none_timers_still_work)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGRTMIN, &sa, NULL);

    struct chan c = open_chan(0);
    timer_t tp = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 4, 0);

    struct sigevent ev;
    timer_t ts, tt, tn;
    memset(&ev, 0, sizeof ev);
    /* The QNX macro sets SIGEV_FLAG_SIVAL_INT in sigev_notify: glibc must not see it. */
    SIGEV_SIGNAL_VALUE_INT_INIT(&ev, SIGRTMIN, 77);
    REQUIRE_OK(timer_create(CLOCK_MONOTONIC, &ev, &ts));
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_thread;
    ev.sigev_value.sival_int = 88;
    REQUIRE_OK(timer_create(CLOCK_REALTIME, &ev, &tt));
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    REQUIRE_OK(timer_create(CLOCK_MONOTONIC, &ev, &tn));
    CHECK(tp != ts && tp != tt && tp != tn);

    arm(tp, 20, 0);
    arm(ts, 20, 0);
    arm(tt, 20, 0);
    arm(tn, 5000, 0);
    struct _pulse p;
    CHECK_OK(take(c.chid, &p, 3000));
    CHECK_EQ(p.code, 4);
    long long end = h_now_ms() + 3000;
    while ((g_sig_count == 0 || atomic_load(&g_thread_calls) == 0) && h_now_ms() < end)
        h_sleep_ms(5);
    CHECK_EQ(g_sig_count, 1);
    CHECK_EQ(g_sig_code, SI_TIMER);
    CHECK_EQ(g_sig_value, 77);
    CHECK_EQ(atomic_load(&g_thread_calls), 1);
    CHECK_EQ(atomic_load(&g_thread_value), 88);
    struct itimerspec cur;
    CHECK_OK(timer_gettime(tn, &cur));
    CHECK(ts_ns(&cur.it_value) > 4000 * MS);
    CHECK_EQ(timer_getoverrun(ts), 0);

    /* The kernel calls take glibc's ids as well. */
    struct _itimer it = {30 * MS, 0}, old;
    CHECK_OK(TimerSettime(ts, 0, &it, NULL));
    it.nsec = 0;
    CHECK_OK(TimerSettime(ts, 0, &it, &old));
    CHECK(old.nsec > 0 && old.nsec <= 30 * MS);
    CHECK_OK(TimerDestroy(ts));
    CHECK_ERR(timer_delete(ts), EINVAL);
    CHECK_OK(timer_delete(tt));
    CHECK_OK(timer_delete(tn));
    CHECK_OK(timer_delete(tp));
    close_chan(c);
}

/* QNX's other notify types through timer_create: SIGEV_SIGNAL_THREAD reaches the thread that
 * armed the timer, with the event's code. */
TEST(signal_thread_timer_reaches_the_arming_thread)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct sigevent ev;
    timer_t t;
    memset(&ev, 0, sizeof ev);
    SIGEV_SIGNAL_THREAD_INIT(&ev, SIGUSR2, 0, -100);
    ev.sigev_value.sival_int = 31;
    REQUIRE_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
    arm(t, 10, 0);
    siginfo_t si;
    struct timespec limit = {3, 0};
    REQUIRE_EQ(sigtimedwait(&set, &si, &limit), SIGUSR2);
    CHECK_EQ(si.si_code, -100);
    CHECK_EQ(si.si_value.sival_int, 31);
    struct _timer_info info;
    CHECK_OK(TimerInfo(0, t, 0, &info));
    CHECK_EQ(info.tid, h_gettid());
    CHECK_EQ(info.flags & _NTO_TI_TARGET_PROCESS, 0);
    CHECK_OK(timer_delete(t));
}

/* ------------------------------------------------------------------------------------ */
/* The kernel calls                                                                      */

TEST(timer_create_settime_info_destroy)
{
    struct chan c = open_chan(0);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, c.coid, 10, 6, 600);
    int id = (int)REQUIRE_OK(TimerCreate(CLOCK_MONOTONIC, &ev));
    timer_t t = (timer_t)(intptr_t)id;

    struct _timer_info info;
    memset(&info, 0x5a, sizeof info);
    CHECK_EQ(TimerInfo(0, t, 0, &info), id);
    CHECK_EQ(info.flags & (_NTO_TI_ACTIVE | _NTO_TI_EXPIRED), 0);
    CHECK_EQ(info.flags & _NTO_TI_TARGET_PROCESS, _NTO_TI_TARGET_PROCESS);
    CHECK_EQ(info.tid, 0);
    CHECK_EQ(info.clockid, CLOCK_MONOTONIC);
    CHECK_EQ(SIGEV_GET_TYPE(&info.event), SIGEV_PULSE);
    CHECK_EQ(info.notify & SIGEV_TYPE_MASK, SIGEV_PULSE);
    CHECK_EQ(info.event.sigev_coid, c.coid);
    CHECK_EQ(info.event.sigev_code, 6);
    CHECK_EQ(info.overruns, 0);

    /* Relative, periodic. */
    struct _itimer it = {1000 * MS, 500 * MS}, old;
    CHECK_OK(TimerSettime(t, 0, &it, NULL));
    CHECK_EQ(TimerInfo(getpid(), t, 0, &info), id);
    CHECK_EQ(info.flags & (_NTO_TI_ACTIVE | _NTO_TI_ABSOLUTE), _NTO_TI_ACTIVE);
    CHECK(info.otime.nsec > 500 * MS && info.otime.nsec <= 1000 * MS);
    CHECK_EQ(info.otime.interval_nsec, 500 * MS);
    CHECK(info.itime.nsec > (uint64_t)clock_ns(CLOCK_MONOTONIC));
    CHECK_EQ(info.itime.interval_nsec, 500 * MS);
    /* timer_gettime knows the id. */
    struct itimerspec cur;
    CHECK_OK(timer_gettime(t, &cur));
    CHECK(ts_ns(&cur.it_value) > 500 * MS);

    /* Absolute, with QNX's TIMER_ABSTIME bit and with Linux's. */
    unsigned flags[2] = {0x80000000u, TIMER_ABSTIME};
    for (int i = 0; i < 2; i++) {
        it.nsec = (uint64_t)(clock_ns(CLOCK_MONOTONIC) + 30 * MS);
        it.interval_nsec = 0;
        CHECK_OK(TimerSettime(t, (int)flags[i], &it, &old));
        if (i == 0)
            CHECK(old.nsec > 0);
        CHECK_EQ(TimerInfo(0, t, 0, &info), id);
        CHECK_EQ(info.flags & _NTO_TI_ABSOLUTE, _NTO_TI_ABSOLUTE);
        CHECK_EQ(info.itime.nsec, it.nsec);
        struct _pulse p;
        REQUIRE_OK(take(c.chid, &p, 3000));
        CHECK(clock_ns(CLOCK_MONOTONIC) >= (long long)it.nsec);
        CHECK_EQ(p.code, 6);
        CHECK_EQ(p.value.sival_int, 600);
        CHECK_EQ(TimerInfo(0, t, 0, &info), id);
        CHECK_EQ(info.flags & (_NTO_TI_ACTIVE | _NTO_TI_EXPIRED), _NTO_TI_EXPIRED);
    }

    /* _NTO_TIMER_SEARCH finds the next timer from an id; _NTO_TIMER_RESET_OVERRUNS alone
     * takes no buffer. */
    int id2 = (int)REQUIRE_OK(TimerCreate(CLOCK_REALTIME, &ev));
    int lo = id < id2 ? id : id2, hi = id < id2 ? id2 : id;
    CHECK_EQ(TimerInfo(0, (timer_t)(intptr_t)(lo + 1), _NTO_TIMER_SEARCH, &info), hi);
    CHECK_EQ(info.clockid, hi == id ? CLOCK_MONOTONIC : CLOCK_REALTIME);
    CHECK_EQ(TimerInfo(0, (timer_t)(intptr_t)hi, _NTO_TIMER_RESET_OVERRUNS, NULL), hi);
    CHECK_ERR(TimerInfo(0, (timer_t)(intptr_t)(hi + 1), 0, &info), EINVAL);

    CHECK_OK(TimerDestroy((timer_t)(intptr_t)id2));
    CHECK_OK(TimerDestroy(t));
    CHECK_ERR(TimerDestroy(t), EINVAL);
    CHECK_EQ(TimerDestroy_r(t), -EINVAL);
    CHECK_ERR(TimerInfo(0, t, 0, &info), EINVAL);
    CHECK_EQ(TimerInfo_r(0, t, 0, &info), -EINVAL);
    it.nsec = 10 * MS;
    CHECK_ERR(TimerSettime(t, 0, &it, NULL), EINVAL);
    CHECK_EQ(TimerSettime_r(t, 0, &it, NULL), -EINVAL);
    close_chan(c);
}

static volatile sig_atomic_t g_alrm_count, g_alrm_value, g_alrm_code;

static void on_alrm(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    g_alrm_value = si->si_value.sival_int;
    g_alrm_code = si->si_code;
    g_alrm_count++;
}

static void catch_alarm(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alrm;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
}

static void wait_alarm(void)
{
    long long end = h_now_ms() + 3000;
    while (g_alrm_count == 0 && h_now_ms() < end)
        h_sleep_ms(2);
}

/* A NULL event is SIGALRM with the timer's id as value (and SI_TIMER). */
TEST(timer_create_null_event_is_sigalrm_with_the_id)
{
    catch_alarm();
    int id = (int)REQUIRE_OK(TimerCreate(CLOCK_REALTIME, NULL));
    struct _itimer it = {20 * MS, 0};
    CHECK_OK(TimerSettime((timer_t)(intptr_t)id, 0, &it, NULL));
    wait_alarm();
    CHECK_EQ(g_alrm_count, 1);
    CHECK_EQ(g_alrm_value, id);
    CHECK_EQ(g_alrm_code, SI_TIMER);
    struct _timer_info info;
    CHECK_EQ(TimerInfo(0, (timer_t)(intptr_t)id, 0, &info), id);
    CHECK_EQ(SIGEV_GET_TYPE(&info.event), SIGEV_SIGNAL_CODE);
    CHECK_EQ(info.event.sigev_signo, SIGALRM);
    CHECK_OK(TimerDestroy((timer_t)(intptr_t)id));
}

TEST(timer_alarm_raises_sigalrm)
{
    catch_alarm();
    struct _itimer it = {30 * MS, 0}, left;
    CHECK_OK(TimerAlarm(CLOCK_REALTIME, &it, NULL));
    CHECK_OK(TimerAlarm(CLOCK_REALTIME, NULL, &left));
    CHECK(left.nsec > 0 && left.nsec <= 30 * MS);
    wait_alarm();
    CHECK_EQ(g_alrm_count, 1);
    /* Cancelled before it fires: nothing. */
    it.nsec = 100 * MS;
    CHECK_OK(TimerAlarm(CLOCK_MONOTONIC, &it, NULL));
    it.nsec = 0;
    CHECK_OK(TimerAlarm(CLOCK_MONOTONIC, &it, &left));
    CHECK(left.nsec > 0);
    h_sleep_ms(200);
    CHECK_EQ(g_alrm_count, 1);
    CHECK_ERR(TimerAlarm(CLOCK_PROCESS_CPUTIME_ID, &it, NULL), EINVAL);
    CHECK_EQ(TimerAlarm_r(12345, &it, NULL), -EINVAL);
}

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                                */

TEST(bad_arguments_get_qnx_errnos)
{
    struct chan c = open_chan(0);
    struct sigevent ev;
    timer_t t;
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, c.coid, 10, 1, 0);
    /* Clocks pulse timers cannot use. */
    CHECK_ERR(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &t), EINVAL);
    CHECK_ERR(timer_create(12345, &ev, &t), EINVAL);
    CHECK_ERR(TimerCreate(CLOCK_THREAD_CPUTIME_ID, &ev), EINVAL);
    CHECK_EQ(TimerCreate_r(12345, &ev), -EINVAL);
    /* NULL timer id. */
    CHECK_ERR(timer_create(CLOCK_MONOTONIC, &ev, NULL), EFAULT);
    /* Unknown coids, and a coid whose channel is gone. */
    SIGEV_PULSE_INIT(&ev, 12345, 10, 1, 0);
    CHECK_ERR(timer_create(CLOCK_MONOTONIC, &ev, &t), EBADF);
    SIGEV_PULSE_INIT(&ev, _NTO_SIDE_CHANNEL | 999, 10, 1, 0);
    CHECK_ERR(TimerCreate(CLOCK_MONOTONIC, &ev), EBADF);
    struct chan gone = open_chan(0);
    CHECK_OK(ChannelDestroy(gone.chid));
    SIGEV_PULSE_INIT(&ev, gone.coid, 10, 1, 0);
    CHECK_ERR(timer_create(CLOCK_MONOTONIC, &ev, &t), EBADF);
    ConnectDetach(gone.coid);
    /* Priority out of range; unknown notify types. */
    SIGEV_PULSE_INIT(&ev, c.coid, 300, 1, 0);
    CHECK_ERR(timer_create(CLOCK_MONOTONIC, &ev, &t), EINVAL);
    ev.sigev_notify = 0x7f;
    CHECK_ERR(TimerCreate(CLOCK_MONOTONIC, &ev), EINVAL);
    /* Bad settings on a good timer. */
    t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 1, 0);
    struct itimerspec its = its_ms(10, 0);
    its.it_value.tv_nsec = 1000000000L;
    CHECK_ERR(timer_settime(t, 0, &its, NULL), EINVAL);
    its = its_ms(10, 0);
    its.it_value.tv_sec = -1;
    CHECK_ERR(timer_settime(t, 0, &its, NULL), EINVAL);
    CHECK_ERR(timer_settime(t, 0, NULL, NULL), EFAULT);
    CHECK_ERR(timer_gettime(t, NULL), EFAULT);
    CHECK_ERR(TimerSettime(t, 0, NULL, NULL), EFAULT);
    /* Other processes' timers are not visible. */
    struct _timer_info info;
    CHECK_ERR(TimerInfo(1, t, 0, &info), ESRCH);
    CHECK_OK(timer_delete(t));
    close_chan(c);
}

/* ------------------------------------------------------------------------------------ */
/* A receiver sleeping on the channel a timer pulses wakes itself at the expiry            */

struct counter {
    int chid;
    long long until_ms;
    atomic_int pulses;
};

static void *count_pulses(void *arg)
{
    struct counter *k = arg;
    struct _pulse p;
    for (;;) {
        long long left = k->until_ms - h_now_ms();
        if (left <= 0)
            return NULL;
        if (take(k->chid, &p, (int)left) == 0)
            atomic_fetch_add(&k->pulses, 1);
    }
}

TEST(a_pool_of_receivers_gets_each_expiry_once)
{
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 4, 0);
    struct counter k = {c.chid, 0, 0};
    long long start = h_now_ms();
    k.until_ms = start + 400;
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        REQUIRE(pthread_create(&th[i], NULL, count_pulses, &k) == 0);
    arm(t, 5, 5);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    CHECK_OK(timer_delete(t));
    int n = atomic_load(&k.pulses) + drain(c.chid);
    int most = (int)((h_now_ms() - start) / 5) + 1;
    h_note("%d pulses, at most %d expiries", n, most);
    CHECK(n <= most);
    CHECK(n >= 40);
    close_chan(c);
}

struct rearm {
    timer_t t;
    long long armed_us;
};

static void *rearm_soon(void *arg)
{
    struct rearm *r = arg;
    h_sleep_ms(30);
    r->armed_us = h_now_us();
    arm(r->t, 20, 0);
    return NULL;
}

TEST(rearming_a_timer_its_receiver_waits_for_takes_effect_at_once)
{
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 6, 0);
    arm(t, 10000, 0);
    struct rearm r = {t, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, rearm_soon, &r) == 0);
    struct _pulse p;
    REQUIRE_OK(take(c.chid, &p, 5000));
    long long after = h_now_us() - r.armed_us;
    pthread_join(th, NULL);
    h_note("pulse %lld us after the re-arm for 20 ms", after);
    CHECK_EQ(p.code, 6);
    CHECK(after >= 19000);
    CHECK(after < 1000000);
    CHECK_OK(timer_delete(t));
    close_chan(c);
}

static void on_usr1(int sig) { (void)sig; }

TEST(receiving_timer_pulses_leaves_the_thread_timer_slack_alone)
{
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 2, 0);
    REQUIRE_OK(prctl(PR_SET_TIMERSLACK, 123456UL));
    arm(t, 10, 10);
    struct _pulse p;
    for (int i = 0; i < 5; i++)
        REQUIRE_OK(take(c.chid, &p, 3000));
    CHECK_EQ(prctl(PR_GET_TIMERSLACK), 123456);
    /* Nor a receive that a signal interrupts. */
    arm(t, 200, 0);
    drain(c.chid);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct itimerspec its = its_ms(20, 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    timer_t alarm_t;
    REQUIRE_OK(timer_create(CLOCK_MONOTONIC, &sev, &alarm_t));
    REQUIRE_OK(timer_settime(alarm_t, 0, &its, NULL));
    CHECK_ERR(MsgReceivePulse(c.chid, &p, sizeof p, NULL), EINTR);
    CHECK_EQ(prctl(PR_GET_TIMERSLACK), 123456);
    /* The timer still delivers after the interrupted wait. */
    REQUIRE_OK(take(c.chid, &p, 3000));
    CHECK_EQ(p.code, 2);
    timer_delete(alarm_t);
    CHECK_OK(timer_delete(t));
    close_chan(c);
}

/* The end of a case whose receive was abandoned (cancelled, or jumped out of): that call
 * never released its reference to the channel (README, "Known limits"), so under
 * AddressSanitizer the channel is kept, reachable, rather than reported leaked. */
static void close_abandoned(struct chan c)
{
#ifdef __SANITIZE_ADDRESS__
    ConnectDetach(c.coid);
#else
    close_chan(c);
#endif
}

static void *receive_forever(void *arg)
{
    struct chan *c = arg;
    struct _pulse p;
    for (;;)
        MsgReceivePulse(c->chid, &p, sizeof p, NULL);
    return NULL;
}

TEST(a_receiver_cancelled_in_its_wait_leaves_the_expiries_to_the_others)
{
#ifdef __SANITIZE_ADDRESS__
    /* The cancelled call's references stay allocated (README, "Known limits"), some made
     * before the thread could tell LeakSanitizer to look away. */
    h_note("skipped under AddressSanitizer (a cancelled call leaks what it held)");
    return;
#endif
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 7, 0);
    arm(t, 200, 20);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, receive_forever, &c) == 0);
    h_sleep_ms(100); /* it sleeps, watching the first expiry */
    REQUIRE(pthread_cancel(th) == 0);
    pthread_join(th, NULL);
    drain(c.chid);
    /* No one receives for a while: the timer thread queues the expiries meanwhile. */
    h_sleep_ms(300);
    int queued = drain(c.chid);
    h_note("%d pulses queued in 300 ms without a receiver", queued);
    CHECK(queued >= 9); /* expiries at 200, 220, ... 400 ms */
    CHECK_OK(timer_delete(t));
    close_abandoned(c);
}

static sigjmp_buf g_jump;

static void jump_out(int sig)
{
    (void)sig;
    siglongjmp(g_jump, 1);
}

TEST(a_receiver_a_signal_handler_jumps_out_of_does_not_stop_the_timer)
{
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 9, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = jump_out;
    sigaction(SIGUSR2, &sa, NULL);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR2;
    timer_t jump_t;
    REQUIRE_OK(timer_create(CLOCK_MONOTONIC, &sev, &jump_t));
    struct itimerspec its = its_ms(20, 0);
    arm(t, 100, 20);
    if (sigsetjmp(g_jump, 1) == 0) {
        struct _pulse p;
        REQUIRE_OK(timer_settime(jump_t, 0, &its, NULL));
        MsgReceivePulse(c.chid, &p, sizeof p, NULL);
        CHECK(0); /* the handler jumps out first */
    }
    /* The next receives go on getting every expiry. */
    struct counter k = {c.chid, h_now_ms() + 400, 0};
    count_pulses(&k);
    h_note("%d pulses in 400 ms", atomic_load(&k.pulses));
    CHECK(atomic_load(&k.pulses) >= 14); /* expiries at 100, 120, ... 420 ms */
    timer_delete(jump_t);
    CHECK_OK(timer_delete(t));
    close_abandoned(c);
}

/* ------------------------------------------------------------------------------------ */
/* fork                                                                                  */

static timer_t g_parent_timer;

static int forked_child(int rd, int wr, void *arg)
{
    (void)rd;
    (void)arg;
    /* QNX: timers are not inherited. */
    struct _timer_info info;
    struct itimerspec cur;
    int ok = TimerInfo(0, g_parent_timer, 0, &info) == -1 && errno == EINVAL;
    ok = ok && timer_gettime(g_parent_timer, &cur) == -1 && errno == EINVAL;
    /* The child's own pulse timers work. */
    struct chan c = open_chan(0);
    timer_t t = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 8, 0);
    arm(t, 10, 0);
    struct _pulse p;
    ok = ok && take(c.chid, &p, 3000) == 0 && p.code == 8;
    h_put(wr, ok);
    return 0;
}

TEST(fork_child_has_no_timers_and_parent_keeps_its_own)
{
    struct chan c = open_chan(0);
    g_parent_timer = pulse_timer(CLOCK_MONOTONIC, c.coid, 10, 3, 0);
    arm(g_parent_timer, 20, 20);
    struct _pulse p;
    REQUIRE_OK(take(c.chid, &p, 3000));
    struct h_proc child = h_spawn(forked_child, NULL);
    CHECK_EQ(h_get(child.rd, 10000), 1);
    CHECK_CHILD_OK(child.pid, 5000);
    h_close_proc(&child);
    drain(c.chid);
    REQUIRE_OK(take(c.chid, &p, 3000));
    CHECK_EQ(p.code, 3);
    CHECK_OK(timer_delete(g_parent_timer));
    close_chan(c);
}

HARNESS_MAIN
