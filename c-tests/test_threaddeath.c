/*
 * test_threaddeath.c - _NTO_CHF_THREAD_DEATH: a thread of the channel's process that ends
 * (by returning, pthread_exit or cancellation) is reported by a _PULSE_CODE_THREADDEATH pulse
 * whose value is its tid and scoid -1; threads of other processes are not; one death
 * channel per process (reference §4.1, §4.2).  Threads are made by pthread_create through
 * the library's <pthread.h> overlay, as QNX code compiled against it does.
 */
#include "harness.h"

#define MARKER_CODE 99

/* AddressSanitizer cannot follow a thread that pthread_cancel() unwinds (its thread teardown
 * then reports false errors; see test_unblock.c): the plain run covers cancellation. */
#ifdef H_ASAN
#define ASAN_BUILD 1
#else
#define ASAN_BUILD 0
#endif

struct victim {
    atomic_int tid;
    atomic_int go; /* set: end now */
    int how;       /* 0 return, 1 pthread_exit, 2 wait to be cancelled */
};

static void *victim_thread(void *arg)
{
    struct victim *v = (struct victim *)arg;
    atomic_store(&v->tid, (int)h_gettid());
    if (v->how == 2) {
        for (;;)
            pause(); /* a cancellation point */
    }
    while (!atomic_load(&v->go))
        h_sleep_ms(1);
    if (v->how == 1)
        pthread_exit(NULL);
    return NULL;
}

static void wait_tid(struct victim *v)
{
    long long deadline = h_now_ms() + 3000;
    while (!atomic_load(&v->tid) && h_now_ms() < deadline)
        h_sleep_ms(1);
    REQUIRE(atomic_load(&v->tid) > 0);
}

/* Takes the next pulse off ch (within 3 s).  In this thread, bounded by a kernel timeout:
 * a receiving thread of its own would be reported when it ends. */
static struct _pulse next_pulse(struct chan ch)
{
    struct _pulse p;
    uint64_t ns = 3000000000ULL;
    REQUIRE_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), 0);
    rcvid_t r = MsgReceive(ch.chid, &p, sizeof p, NULL);
    if (r != 0) {
        FAIL("no pulse within 3 s (MsgReceive = %lld, %s)", (long long)r, h_errname(errno));
        h_abort();
    }
    return p;
}

static void expect_death(struct chan ch, int tid)
{
    struct _pulse p = next_pulse(ch);
    CHECK_EQ(p.type, _PULSE_TYPE);
    CHECK_EQ(p.subtype, _PULSE_SUBTYPE);
    CHECK_EQ(p.code, _PULSE_CODE_THREADDEATH);
    CHECK_EQ(p.value.sival_int, tid);
    CHECK_EQ(p.scoid, -1);
}

/* Nothing queued: a priority-1 marker is the next thing received. */
static void expect_empty(struct chan ch)
{
    REQUIRE_EQ(MsgSendPulse(ch.coid, 1, MARKER_CODE, 0), 0);
    struct _pulse p = next_pulse(ch);
    if (p.code != MARKER_CODE)
        FAIL("unexpected pulse: code %d value %d", p.code, p.value.sival_int);
}

static void death_case(int how)
{
    struct chan ch = open_chan(_NTO_CHF_THREAD_DEATH);
    struct victim v = {.how = how};
    pthread_t t = h_thread(victim_thread, &v);
    wait_tid(&v);
    if (how == 2)
        CHECK_EQ(pthread_cancel(t), 0);
    else
        atomic_store(&v.go, 1);
    void *ret = NULL;
    CHECK_EQ(h_join(t, 3000, &ret), 0);
    if (how == 2)
        CHECK(ret == PTHREAD_CANCELED);
    expect_death(ch, atomic_load(&v.tid));
    expect_empty(ch);
    close_chan(ch);
}

TEST(td_thread_returns) { death_case(0); }

TEST(td_thread_calls_pthread_exit) { death_case(1); }

TEST(td_thread_cancelled)
{
    if (ASAN_BUILD) {
        printf("    (skipped under AddressSanitizer)\n");
        return;
    }
    death_case(2);
}

/* QNX accepts a NULL thread-id pointer (the thread is then detached by the caller's choice
 * of attributes, or simply never joined): the thread runs and its death is reported. */
TEST(td_pthread_create_null_id)
{
    struct chan ch = open_chan(_NTO_CHF_THREAD_DEATH);
    struct victim v = {.how = 0};
    pthread_attr_t attr;
    REQUIRE_EQ(pthread_attr_init(&attr), 0);
    REQUIRE_EQ(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED), 0);
    CHECK_EQ(pthread_create(NULL, &attr, victim_thread, &v), 0);
    pthread_attr_destroy(&attr);
    wait_tid(&v);
    atomic_store(&v.go, 1);
    expect_death(ch, atomic_load(&v.tid));
    close_chan(ch);
}

/* Several threads, detached ones included: one pulse each. */
TEST(td_several_threads_one_pulse_each)
{
    struct chan ch = open_chan(_NTO_CHF_THREAD_DEATH);
    enum { N = 6 };
    struct victim v[N];
    pthread_t t[N];
    memset(v, 0, sizeof v);
    for (int i = 0; i < N; i++) {
        v[i].how = i % 2;
        t[i] = h_thread(victim_thread, &v[i]);
        wait_tid(&v[i]);
        if (i >= N / 2)
            CHECK_EQ(pthread_detach(t[i]), 0);
    }
    for (int i = 0; i < N; i++)
        atomic_store(&v[i].go, 1);
    for (int i = 0; i < N / 2; i++)
        CHECK_EQ(h_join(t[i], 3000, NULL), 0);
    int seen[N] = {0};
    for (int k = 0; k < N; k++) {
        struct _pulse p = next_pulse(ch);
        CHECK_EQ(p.code, _PULSE_CODE_THREADDEATH);
        CHECK_EQ(p.scoid, -1);
        int found = 0;
        for (int i = 0; i < N; i++) {
            if (p.value.sival_int == atomic_load(&v[i].tid)) {
                found = 1;
                seen[i]++;
            }
        }
        if (!found)
            FAIL("death pulse for tid %d, which is none of ours", p.value.sival_int);
    }
    for (int i = 0; i < N; i++)
        CHECK_EQ(seen[i], 1);
    expect_empty(ch);
    close_chan(ch);
}

/* A thread started before the death channel existed is reported too. */
TEST(td_thread_started_before_the_channel)
{
    struct victim v = {.how = 0};
    pthread_t t = h_thread(victim_thread, &v);
    wait_tid(&v);
    struct chan ch = open_chan(_NTO_CHF_THREAD_DEATH);
    atomic_store(&v.go, 1);
    CHECK_EQ(h_join(t, 3000, NULL), 0);
    expect_death(ch, atomic_load(&v.tid));
    expect_empty(ch);
    close_chan(ch);
}

/* Without a death channel nothing is reported, and a channel without the flag gets nothing. */
TEST(td_no_pulse_without_the_flag)
{
    struct chan ch = open_chan(0);
    struct victim v = {.how = 1, .go = 1};
    pthread_t t = h_thread(victim_thread, &v);
    CHECK_EQ(h_join(t, 3000, NULL), 0);
    expect_empty(ch);
    close_chan(ch);
}

/* arg "1": makes a death channel of its own. Starts and ends 3 threads, then reports the
 * death pulses it got (-1 per missing one). */
HELPER(thread_ender)
{
    (void)rd;
    int own = strcmp(arg, "1") == 0;
    struct chan ch = {-1, -1};
    if (own)
        ch = open_chan(_NTO_CHF_THREAD_DEATH);
    int ok = 0;
    for (int i = 0; i < 3; i++) {
        struct victim v = {.how = 0, .go = 1};
        pthread_t t = h_thread(victim_thread, &v);
        if (h_join(t, 3000, NULL) != 0)
            return 1;
        if (own) {
            struct _pulse p = next_pulse(ch);
            ok += p.code == _PULSE_CODE_THREADDEATH && p.value.sival_int == atomic_load(&v.tid);
        }
    }
    h_put(wr, own ? ok : 3);
    return 0;
}

TEST(td_threads_of_other_processes_not_reported)
{
    struct chan ch = open_chan(_NTO_CHF_THREAD_DEATH);
    struct h_proc a = h_exec("thread_ender", "0");
    CHECK_EQ(h_get(a.rd, 5000), 3);
    CHECK_CHILD_OK(a.pid, 5000);
    h_close_proc(&a);
    /* Another process's death channel gets its own threads' deaths. */
    struct h_proc b = h_exec("thread_ender", "1");
    CHECK_EQ(h_get(b.rd, 10000), 3);
    CHECK_CHILD_OK(b.pid, 5000);
    h_close_proc(&b);
    expect_empty(ch);
    close_chan(ch);
}

TEST(td_second_death_channel_ebusy)
{
    int d = (int)REQUIRE_OK(ChannelCreate(_NTO_CHF_THREAD_DEATH));
    CHECK_ERR(ChannelCreate(_NTO_CHF_THREAD_DEATH), EBUSY);
    CHECK_ERR(ChannelCreate(_NTO_CHF_COID_DISCONNECT), EBUSY);
    CHECK_EQ(ChannelCreate_r(_NTO_CHF_THREAD_DEATH | _NTO_CHF_UNBLOCK), -EBUSY);
    CHECK_EQ(ChannelDestroy(d), 0);
    d = (int)CHECK_OK(ChannelCreate(_NTO_CHF_THREAD_DEATH));
    if (d >= 0)
        ChannelDestroy(d);
}

HARNESS_MAIN
