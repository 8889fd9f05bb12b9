/*
 * test_clock.c - the clock calls QNX code makes beside IPC: ClockTime reads Linux's clocks
 * (glibc's ids, QNX's CLOCK_SOFTTIME as the realtime clock, CPU-time clocks) and sets only
 * the realtime clock, EPERM for an unprivileged caller (uid 65534); ClockPeriod reports the
 * real resolution and refuses changes as QNX does; ClockCycles is monotonic and runs at
 * SYSPAGE_ENTRY(qtime)->cycles_per_sec; the qtime entry agrees with clock_gettime; delay()
 * sleeps at least what was asked and returns what is left when a signal cuts it short.
 * Timing checks are loose (a loaded 2-core machine). No case changes the system clock.
 */
#include "harness.h"
#include <grp.h>
#include <sys/syspage.h>
#include <sys/time.h>

/* The QNX way to reach the system page must still compile. */
extern struct syspage_entry *_syspage_ptr;

_Static_assert(sizeof(struct _clockperiod) == 8, "_clockperiod");
_Static_assert(sizeof(struct qtime_entry) == 96, "qtime_entry");
_Static_assert(offsetof(struct qtime_entry, nsec_inc) == 24, "qtime_entry.nsec_inc");
_Static_assert(offsetof(struct qtime_entry, adjust) == 32, "qtime_entry.adjust");
_Static_assert(offsetof(struct qtime_entry, nsec_stable) == 72, "qtime_entry.nsec_stable");

#define NOBODY 65534

static uint64_t ns_of(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        FAIL("clock_gettime(%d): %s", (int)id, h_errname(errno));
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs the rest of this case as uid/gid 65534 without capabilities. */
static void become_nobody(void)
{
    REQUIRE(geteuid() == 0);
    REQUIRE_OK(h_become(NOBODY));
}

/* ClockTime(id) lies between two clock_gettime(linux_id) reads. */
static void check_reads(clockid_t id, clockid_t linux_id)
{
    uint64_t t = 0;
    uint64_t before = ns_of(linux_id);
    CHECK_EQ(ClockTime(id, NULL, &t), 0);
    uint64_t after = ns_of(linux_id);
    if (t < before || t > after)
        FAIL("ClockTime(%d) = %llu, not within [%llu, %llu]", (int)id, (unsigned long long)t,
             (unsigned long long)before, (unsigned long long)after);
}

/* ------------------------------------------------------------------------------------ */
/* ClockTime                                                                             */

TEST(clocktime_reads_linux_clocks)
{
    check_reads(CLOCK_REALTIME, CLOCK_REALTIME);
    check_reads(CLOCK_MONOTONIC, CLOCK_MONOTONIC);
    check_reads(CLOCK_SOFTTIME, CLOCK_REALTIME);
    check_reads(CLOCK_BOOTTIME, CLOCK_BOOTTIME);
    check_reads(CLOCK_PROCESS_CPUTIME_ID, CLOCK_PROCESS_CPUTIME_ID);
    check_reads(CLOCK_THREAD_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID);
    clockid_t cpu;
    REQUIRE_EQ(clock_getcpuclockid(getpid(), &cpu), 0);
    check_reads(cpu, cpu);

    uint64_t t = 0;
    CHECK_EQ(ClockTime_r(CLOCK_MONOTONIC, NULL, &t), EOK);
    CHECK(t != 0);
    CHECK_EQ(ClockTime(CLOCK_REALTIME, NULL, NULL), 0);
}

TEST(clocktime_softtime_is_no_linux_clock)
{
    struct timespec ts;
    CHECK_ERR(clock_gettime(CLOCK_SOFTTIME, &ts), EINVAL);
    CHECK_NE(CLOCK_SOFTTIME, CLOCK_REALTIME);
    CHECK_NE(CLOCK_SOFTTIME, CLOCK_MONOTONIC);
}

TEST(clocktime_bad_clock_id)
{
    uint64_t t = 7;
    CHECK_ERR(ClockTime(12345, NULL, &t), EINVAL);
    CHECK_ERR(ClockTime(CLOCK_SOFTTIME + 1, NULL, NULL), EINVAL);
    CHECK_EQ(t, 7);
    errno = 0;
    CHECK_EQ(ClockTime_r(12345, NULL, &t), -EINVAL);
    CHECK_EQ(errno, 0);
}

TEST(clocktime_sets_only_the_realtime_clock)
{
    H_NEED_ROOT();
    uint64_t t = ns_of(CLOCK_MONOTONIC);
    CHECK_ERR(ClockTime(CLOCK_MONOTONIC, &t, NULL), EINVAL);
    CHECK_ERR(ClockTime(CLOCK_PROCESS_CPUTIME_ID, &t, NULL), EINVAL);
    CHECK_EQ(ClockTime_r(CLOCK_BOOTTIME, &t, NULL), -EINVAL);
}

/* As root, a time Linux cannot hold (year 2554) is refused; the clock stays as it was. */
TEST(clocktime_root_unrepresentable_time)
{
    H_NEED_ROOT();
    uint64_t far = UINT64_MAX, old = 0;
    uint64_t before = ns_of(CLOCK_REALTIME);
    int r = ClockTime(CLOCK_REALTIME, &far, &old);
    int e = errno;
    if (r == 0) { /* never expected: put the clock back before reporting */
        struct timespec back = {(time_t)(before / 1000000000u), (long)(before % 1000000000u)};
        clock_settime(CLOCK_REALTIME, &back);
        FAIL("ClockTime accepted year 2554");
    }
    CHECK_EQ(r, -1);
    CHECK_EQ(e, EINVAL);
    CHECK(ns_of(CLOCK_REALTIME) - before < 60ull * 1000000000u);
}

TEST(clocktime_set_unprivileged_eperm)
{
    H_NEED_ROOT();
    become_nobody();
    uint64_t now = ns_of(CLOCK_REALTIME), old = 0;
    CHECK_ERR(ClockTime(CLOCK_REALTIME, &now, &old), EPERM);
    CHECK_ERR(ClockTime(CLOCK_SOFTTIME, &now, NULL), EPERM);
    errno = 0;
    CHECK_EQ(ClockTime_r(CLOCK_REALTIME, &now, NULL), -EPERM);
    CHECK_EQ(errno, 0);
    /* Reading needs no privilege. */
    check_reads(CLOCK_REALTIME, CLOCK_REALTIME);
}

/* ------------------------------------------------------------------------------------ */
/* ClockPeriod                                                                           */

static uint32_t resolution_ns(clockid_t id)
{
    struct timespec res;
    REQUIRE_EQ(clock_getres(id, &res), 0);
    return (uint32_t)(res.tv_sec * 1000000000L + res.tv_nsec);
}

TEST(clockperiod_reports_the_resolution)
{
    struct _clockperiod p = {99, 99};
    CHECK_EQ(ClockPeriod(CLOCK_REALTIME, NULL, &p, 0), 0);
    CHECK_EQ(p.nsec, resolution_ns(CLOCK_REALTIME));
    CHECK_EQ(p.fract, 0);
    CHECK(p.nsec >= 1);

    struct _clockperiod q = {0, 0};
    CHECK_EQ(ClockPeriod_r(CLOCK_SOFTTIME, NULL, &q, 0), EOK);
    CHECK_EQ(q.nsec, p.nsec);
    CHECK_EQ(ClockPeriod(CLOCK_MONOTONIC, NULL, &q, 0), 0);
    CHECK_EQ(q.nsec, resolution_ns(CLOCK_MONOTONIC));
    CHECK_EQ(SYSPAGE_ENTRY(qtime)->nsec_inc, p.nsec);
}

TEST(clockperiod_errors)
{
    struct _clockperiod p = {0, 0};
    CHECK_ERR(ClockPeriod(12345, NULL, &p, 0), EINVAL);
    errno = 0;
    CHECK_EQ(ClockPeriod_r(12345, NULL, NULL, 0), -EINVAL);
    CHECK_EQ(errno, 0);
    H_NEED_ROOT();
    struct _clockperiod ms = {1000000, 0};
    CHECK_ERR(ClockPeriod(CLOCK_MONOTONIC, &ms, NULL, 0), EINVAL);
    struct _clockperiod tiny = {5000, 0}, huge = {0x7fffffffu, 0};
    CHECK_ERR(ClockPeriod(CLOCK_REALTIME, &tiny, NULL, 0), EINVAL);
    CHECK_EQ(ClockPeriod_r(CLOCK_REALTIME, &huge, NULL, 0), -EINVAL);
}

/* Root may ask for a tick; Linux has none, so the call succeeds and nothing changes. */
TEST(clockperiod_root_set_changes_nothing)
{
    H_NEED_ROOT();
    uint32_t res = resolution_ns(CLOCK_REALTIME);
    struct _clockperiod p = {100000, 0};
    CHECK_EQ(ClockPeriod(CLOCK_REALTIME, &p, &p, 0), 0);
    CHECK_EQ(p.nsec, res); /* `old`, although it is also `new` */
    struct _clockperiod after = {0, 0};
    CHECK_EQ(ClockPeriod(CLOCK_REALTIME, NULL, &after, 0), 0);
    CHECK_EQ(after.nsec, res);
}

TEST(clockperiod_set_unprivileged_eperm)
{
    H_NEED_ROOT();
    become_nobody();
    struct _clockperiod p = {1000000, 0}, old = {0, 0};
    CHECK_ERR(ClockPeriod(CLOCK_REALTIME, &p, &old, 0), EPERM);
    errno = 0;
    CHECK_EQ(ClockPeriod_r(CLOCK_REALTIME, &p, NULL, 0), -EPERM);
    CHECK_EQ(errno, 0);
    CHECK_EQ(ClockPeriod(CLOCK_REALTIME, NULL, &old, 0), 0);
    CHECK_EQ(old.nsec, resolution_ns(CLOCK_REALTIME));
}

/* ------------------------------------------------------------------------------------ */
/* ClockCycles and the system page                                                       */

TEST(clockcycles_monotonic)
{
    uint64_t prev = ClockCycles();
    for (int i = 0; i < 200000; i++) {
        uint64_t now = ClockCycles();
        if (now < prev) {
            FAIL("ClockCycles went back from %llu to %llu", (unsigned long long)prev,
                 (unsigned long long)now);
            return;
        }
        prev = now;
    }
}

/* A (ClockCycles, CLOCK_MONOTONIC) pair read close together (the tightest of a few). */
static void tight_pair(uint64_t *cycles, uint64_t *ns)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 100; i++) {
        uint64_t a = ns_of(CLOCK_MONOTONIC);
        uint64_t c = ClockCycles();
        uint64_t b = ns_of(CLOCK_MONOTONIC);
        if (b - a < best) {
            best = b - a;
            *cycles = c;
            *ns = a + (b - a) / 2;
        }
    }
}

TEST(clockcycles_run_at_cycles_per_sec)
{
    uint64_t rate = SYSPAGE_ENTRY(qtime)->cycles_per_sec;
    CHECK(rate >= 1000000u);
    CHECK_EQ(SYSPAGE_ENTRY(qtime)->cycles_per_sec, rate); /* measured once */
    uint64_t c0 = 0, t0 = 0, c1 = 0, t1 = 0;
    tight_pair(&c0, &t0);
    h_sleep_ms(200);
    tight_pair(&c1, &t1);
    double seconds = (double)(t1 - t0) / 1e9;
    double measured = (double)(c1 - c0) / seconds;
    double ratio = measured / (double)rate;
    if (ratio < 0.98 || ratio > 1.02)
        FAIL("ClockCycles ran at %.0f/s, cycles_per_sec says %llu", measured,
             (unsigned long long)rate);
}

TEST(syspage_qtime_agrees_with_the_clocks)
{
    struct qtime_entry *qt = SYSPAGE_ENTRY(qtime);
    uint64_t real = ns_of(CLOCK_REALTIME);
    uint64_t tod = qt->nsec + qt->nsec_tod_adjust;
    uint64_t gap = real > tod ? real - tod : tod - real;
    if (gap > 1000000000u)
        FAIL("nsec + nsec_tod_adjust is %llu ns away from CLOCK_REALTIME",
             (unsigned long long)gap);
    uint64_t mono = ns_of(CLOCK_MONOTONIC);
    CHECK(qt->nsec <= mono);
    CHECK(qt->nsec_stable == qt->nsec);
    CHECK(qt->flags & QTIME_FLAG_GLOBAL_CLOCKCYCLES);
    CHECK_EQ(qt->epoch, 1970);

    /* /proc/stat's btime is the kernel's own boot second. */
    FILE *f = fopen("/proc/stat", "r");
    REQUIRE(f != NULL);
    char line[256];
    long long btime = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    fclose(f);
    long long diff = (long long)qt->boot_time - btime;
    if (btime < 0 || diff < -2 || diff > 2)
        FAIL("boot_time %u, /proc/stat btime %lld", qt->boot_time, btime);

    CHECK_EQ(_syspage_ptr->num_cpu, sysconf(_SC_NPROCESSORS_CONF));
    CHECK_EQ(_syspage_ptr->qtime.entry_size, sizeof(struct qtime_entry));
}

/* ------------------------------------------------------------------------------------ */
/* delay()                                                                               */

TEST(delay_sleeps_at_least_the_time_asked)
{
    long long t0 = h_now_us();
    CHECK_EQ(delay(0), 0);
    CHECK_EQ(delay(50), 0);
    long long took = h_now_us() - t0;
    if (took < 50000)
        FAIL("delay(50) returned after %lld us", took);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void arm_alarm(long first_ms, long every_ms)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART; delay() is never restarted anyway */
    REQUIRE_OK(sigaction(SIGALRM, &sa, NULL));
    struct itimerval it = {{every_ms / 1000, (every_ms % 1000) * 1000},
                           {first_ms / 1000, (first_ms % 1000) * 1000}};
    REQUIRE_OK(setitimer(ITIMER_REAL, &it, NULL));
}

TEST(delay_interrupted_returns_what_is_left)
{
    arm_alarm(30, 0);
    long long t0 = h_now_us();
    unsigned left = delay(10000);
    long long took = h_now_us() - t0;
    CHECK_EQ(alarms, 1);
    CHECK(left > 0 && left <= 10000);
    /* What was slept plus what is left covers the request. */
    if ((long long)left * 1000 + took < 10000LL * 1000)
        FAIL("delay(10000) took %lld us and says %u ms are left", took, left);
}

/* QNX's idiom for sleeping through signals. */
TEST(delay_loop_completes_through_signals)
{
    arm_alarm(20, 20);
    long long t0 = h_now_us();
    unsigned left = 300;
    while ((left = delay(left)) != 0) {
    }
    long long took = h_now_us() - t0;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    CHECK(alarms >= 2);
    if (took < 300000)
        FAIL("the delay loop ended after %lld us", took);
}

HARNESS_MAIN
