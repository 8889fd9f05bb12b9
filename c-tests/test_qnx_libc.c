/*
 * test_qnx_libc.c - the QNX-only C-library calls of the header overlays: the itoa family
 * (<stdlib.h>), min/max, the stricmp family, strlwr/strupr/strrev/strset/strnset and
 * strlcpy/strlcat (<string.h>), S_IFNAM/S_ISNAM (<sys/stat.h>), eaccess (<unistd.h>),
 * QNX 8.0's clock_gettime_ns family and timer_settime's TIMER_TOLERANCE/TIMER_PRECISE
 * (<time.h>), and TimerSettime's and TimerTimeout's TIMER_TOLERANCE.
 */
#include "harness.h"
#include <sys/stat.h>

#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

TEST(itoa_radixes_and_signs)
{
    char buf[8 * sizeof(long long) + 2];
    CHECK(itoa(12765, buf, 2) == buf);
    CHECK_STR(buf, "11000111011101");
    CHECK_STR(itoa(12765, buf, 16), "31dd");
    CHECK_STR(itoa(12765, buf, 14), "491b");
    CHECK_STR(itoa(35, buf, 36), "z");
    CHECK_STR(itoa(0, buf, 10), "0");
    CHECK_STR(itoa(-42, buf, 10), "-42");
    CHECK_STR(itoa(INT_MIN, buf, 10), "-2147483648");
    CHECK_STR(itoa(INT_MAX, buf, 36), "zik0zj");
    /* Outside radix 10 a negative int shows its 32 bits (base 2 fills 8*sizeof(int)). */
    CHECK_STR(itoa(-1, buf, 16), "ffffffff");
    CHECK_STR(itoa(-1, buf, 2), "11111111111111111111111111111111");
    CHECK_STR(ltoa(-1L, buf, 16), "ffffffffffffffff");
    CHECK_STR(ltoa(LONG_MIN, buf, 10), "-9223372036854775808");
    CHECK_STR(lltoa(LLONG_MIN, buf, 10), "-9223372036854775808");
    CHECK_STR(lltoa(-255LL, buf, 16), "ffffffffffffff01");
    CHECK_STR(utoa(UINT_MAX, buf, 10), "4294967295");
    CHECK_STR(ultoa(ULONG_MAX, buf, 36), "3w5e11264sgsf");
    CHECK_STR(ulltoa(ULLONG_MAX, buf, 2),
              "1111111111111111111111111111111111111111111111111111111111111111");
}

TEST(itoa_bad_radix_is_einval)
{
    char buf[40] = "untouched";
    errno = 0;
    CHECK(itoa(5, buf, 1) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(ulltoa(5, buf, 37) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(ltoa(-5, buf, 0) == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK_STR(buf, "untouched");
}

TEST(min_max_macros)
{
    CHECK_EQ(min(3, -2), -2);
    CHECK_EQ(max(3, -2), 3);
    CHECK_EQ(max(3u, 5u), 5);
    CHECK(min(1.5, 2.5) == 1.5);
    CHECK_EQ(__min(7, 8), 7);
    CHECK_EQ(__max(7, 8), 8);
    CHECK_EQ(min(4, 4), 4);
}

TEST(stricmp_family)
{
    CHECK_EQ(stricmp("Hello", "hELLO"), 0);
    CHECK(stricmp("apple", "Banana") < 0);
    CHECK(stricmp("Zed", "alpha") > 0);
    CHECK(stricmp("abc", "ABCD") < 0);
    CHECK_EQ(_stricmp("QNX", "qnx"), 0);
    CHECK_EQ(strcmpi("QNX", "qnx"), 0);
    CHECK_EQ(strnicmp("HelloWorld", "hellothere", 5), 0);
    CHECK(strnicmp("HelloWorld", "hellothere", 6) > 0);
    CHECK_EQ(_strnicmp("x", "y", 0), 0);
    CHECK_EQ(memicmp("AbC\0x", "aBc\0y", 4), 0);
    CHECK(memicmp("AbC\0x", "aBc\0y", 5) < 0); /* memicmp goes past NULs */
    CHECK(_memicmp("b", "A", 1) > 0);
    CHECK_EQ(memicmp("", "", 0), 0);
}

TEST(strlwr_strupr_strrev_strset_strnset)
{
    char s[16];
    strcpy(s, "MiXeD 42!");
    CHECK(strlwr(s) == s);
    CHECK_STR(s, "mixed 42!");
    CHECK_STR(strupr(s), "MIXED 42!");
    CHECK_STR(_strlwr(s), "mixed 42!");
    CHECK_STR(_strupr(s), "MIXED 42!");
    strcpy(s, "abcde");
    CHECK(strrev(s) == s);
    CHECK_STR(s, "edcba");
    strcpy(s, "ab");
    CHECK_STR(strrev(s), "ba");
    s[0] = '\0';
    CHECK_STR(strrev(s), "");
    strcpy(s, "hello");
    CHECK_STR(strnset(s, '*', 3), "***lo");
    CHECK_STR(strnset(s, '-', 99), "-----"); /* stops at the terminator */
    CHECK_STR(strset(s, 'x'), "xxxxx");
    CHECK_EQ(strlen(s), 5);
}

TEST(strlcpy_truncates_and_returns_source_length)
{
    char d[8];
    memset(d, 'Z', sizeof d);
    CHECK_EQ(strlcpy(d, "short", sizeof d), 5);
    CHECK_STR(d, "short");
    CHECK_EQ(strlcpy(d, "much too long", sizeof d), 13); /* >= size: truncated */
    CHECK_STR(d, "much to");
    memset(d, 'Z', sizeof d);
    CHECK_EQ(strlcpy(d, "abc", 0), 3); /* size 0 writes nothing */
    CHECK_EQ(d[0], 'Z');
    CHECK_EQ(strlcpy(d, "abc", 1), 3);
    CHECK_STR(d, "");
}

TEST(strlcat_appends_what_fits)
{
    char d[8] = "ab";
    CHECK_EQ(strlcat(d, "cd", sizeof d), 4);
    CHECK_STR(d, "abcd");
    CHECK_EQ(strlcat(d, "efghij", sizeof d), 10);
    CHECK_STR(d, "abcdefg");
    CHECK_EQ(strlcat(d, "x", sizeof d), 8); /* full: nothing appended */
    CHECK_STR(d, "abcdefg");
    /* No terminator within the size: the length reported counts the size. */
    char u[4] = {'a', 'b', 'c', 'd'};
    CHECK_EQ(strlcat(u, "xy", sizeof u), 6);
    CHECK_MEM(u, "abcd", 4);
}

TEST(s_isnam)
{
    struct stat st;
    CHECK(S_ISNAM(S_IFNAM | 0644));
    CHECK(!S_ISNAM(S_IFREG | 0644));
    CHECK(!S_ISNAM(S_IFDIR));
    CHECK(!S_ISNAM(S_IFSOCK));
    REQUIRE_OK(stat("/", &st));
    CHECK(!S_ISNAM(st.st_mode));
}

TEST(eaccess_checks_effective_ids)
{
    CHECK_EQ(eaccess("/", F_OK), 0);
    CHECK_EQ(eaccess("/", R_OK | X_OK), 0);
    CHECK_ERR(eaccess("/no/such/path/here", F_OK), ENOENT);
}

static unsigned long long ts_ns(const struct timespec *t)
{
    return (unsigned long long)t->tv_sec * 1000000000ull + (unsigned long long)t->tv_nsec;
}

TEST(clock_gettime_ns_family)
{
    struct timespec a, b;
    uint64_t ns = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t mon = clock_gettime_mon_ns();
    CHECK_OK(clock_gettime_ns(CLOCK_MONOTONIC, &ns));
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK(ts_ns(&a) <= mon && mon <= ns && ns <= ts_ns(&b));
    clock_gettime(CLOCK_REALTIME, &a);
    uint64_t rt = clock_gettime_rt_ns();
    CHECK_OK(clock_gettime_ns(CLOCK_SOFTTIME, &ns)); /* QNX's clock: the realtime clock */
    clock_gettime(CLOCK_REALTIME, &b);
    CHECK(ts_ns(&a) <= rt && rt <= ns && ns <= ts_ns(&b));
    CHECK_OK(clock_gettime_ns(CLOCK_THREAD_CPUTIME_ID, &ns));
    CHECK(ns > 0);
    CHECK_ERR(clock_gettime_ns(CLOCK_MONOTONIC, NULL), EFAULT);
    CHECK_ERR(clock_gettime_ns(12345, &ns), EINVAL);
}

static struct itimerspec its_ms(long long value_ms, long long interval_ms)
{
    struct itimerspec its;
    its.it_value.tv_sec = value_ms / 1000;
    its.it_value.tv_nsec = (value_ms % 1000) * 1000000;
    its.it_interval.tv_sec = interval_ms / 1000;
    its.it_interval.tv_nsec = (interval_ms % 1000) * 1000000;
    return its;
}

/* TIMER_TOLERANCE sets a tolerance and leaves the timer's setting alone; the tolerance
 * reported is 0 (timers fire as early as Linux can). */
static void check_tolerance(timer_t t)
{
    struct itimerspec arm = its_ms(5000, 0), tol = its_ms(0, 0), old, cur;
    tol.it_value.tv_nsec = 250000;
    REQUIRE_OK(timer_settime(t, 0, &arm, NULL));
    memset(&old, 0x5a, sizeof old);
    CHECK_OK(timer_settime(t, TIMER_TOLERANCE, &tol, &old));
    CHECK_EQ(ts_ns(&old.it_value), 0);
    CHECK_EQ(ts_ns(&old.it_interval), 0);
    CHECK_OK(timer_settime(t, TIMER_TOLERANCE, NULL, NULL)); /* no value needed */
    CHECK_OK(timer_gettime(t, &cur));
    CHECK(ts_ns(&cur.it_value) > 4000000000ull); /* still armed, not re-armed with 250 us */
    CHECK_ERR(timer_settime(t, TIMER_TOLERANCE | TIMER_ABSTIME, &tol, NULL), EINVAL);
    /* TIMER_PRECISE arms as usual. */
    arm = its_ms(3000, 0);
    CHECK_OK(timer_settime(t, TIMER_PRECISE, &arm, NULL));
    CHECK_OK(timer_gettime(t, &cur));
    CHECK(ts_ns(&cur.it_value) <= 3000000000ull && ts_ns(&cur.it_value) > 2000000000ull);
}

TEST(timer_tolerance_on_a_pulse_timer)
{
    struct chan c = open_chan(0);
    struct sigevent ev;
    timer_t t;
    SIGEV_PULSE_INIT(&ev, c.coid, SIGEV_PULSE_PRIO_INHERIT, 1, 0);
    REQUIRE_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
    check_tolerance(t);
    CHECK_ERR(timer_settime(t, 0, NULL, NULL), EFAULT); /* only a tolerance needs no value */
    CHECK_OK(timer_delete(t));
    close_chan(c);
}

TEST(timer_tolerance_on_a_glibc_timer)
{
    struct sigevent ev;
    timer_t t;
    memset(&ev, 0, sizeof ev);
    SIGEV_NONE_INIT(&ev);
    REQUIRE_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
    check_tolerance(t);
    CHECK_OK(timer_delete(t));
    CHECK_ERR(timer_settime(t, TIMER_TOLERANCE, NULL, NULL), EINVAL); /* deleted */
}

TEST(timersettime_tolerance)
{
    struct chan c = open_chan(0);
    struct sigevent ev;
    struct _itimer arm = {5000000000ull, 0}, tol = {1000000, 0}, old;
    SIGEV_PULSE_INIT(&ev, c.coid, SIGEV_PULSE_PRIO_INHERIT, 1, 0);
    timer_t id = (timer_t)(intptr_t)REQUIRE_OK(TimerCreate(CLOCK_MONOTONIC, &ev));
    REQUIRE_OK(TimerSettime(id, 0, &arm, NULL));
    memset(&old, 0x5a, sizeof old);
    CHECK_OK(TimerSettime(id, TIMER_TOLERANCE, &tol, &old));
    CHECK_EQ(old.nsec, 0);
    CHECK_EQ(old.interval_nsec, 0);
    CHECK_OK(TimerSettime(id, TIMER_TOLERANCE, NULL, NULL));
    CHECK_EQ(TimerSettime_r(id, TIMER_TOLERANCE | TIMER_ABSTIME, &tol, NULL), -EINVAL);
    CHECK_EQ(TimerSettime_r(id, 0, NULL, NULL), -EFAULT);
    struct itimerspec cur;
    CHECK_OK(timer_gettime(id, &cur));
    CHECK(ts_ns(&cur.it_value) > 4000000000ull);
    CHECK_OK(TimerDestroy(id));
    close_chan(c);
}

/* TIMER_TOLERANCE sets the next timeout's tolerance and arms nothing: a receive that a
 * 1 us timeout would have ended gets the pulse sent 30 ms later. */
TEST(timertimeout_tolerance_arms_nothing)
{
    struct chan c = open_chan(0);
    struct sigevent ev;
    struct _pulse p;
    uint64_t tol = 1000, later = 30000000;
    timer_t t;
    struct _itimer arm = {later, 0};
    SIGEV_PULSE_INIT(&ev, c.coid, SIGEV_PULSE_PRIO_INHERIT, 5, 0);
    t = (timer_t)(intptr_t)REQUIRE_OK(TimerCreate(CLOCK_MONOTONIC, &ev));
    REQUIRE_OK(TimerSettime(t, 0, &arm, NULL));
    CHECK_OK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE | TIMER_TOLERANCE, NULL, &tol, NULL));
    CHECK_EQ(MsgReceive(c.chid, &p, sizeof p, NULL), 0);
    CHECK_EQ(p.code, 5);
    CHECK_ERR(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE | TIMER_TOLERANCE | TIMER_ABSTIME,
                           NULL, &tol, NULL),
              EINVAL);
    /* Without the flag, the same call arms the timeout. */
    CHECK_OK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &tol, NULL));
    CHECK_ERR(MsgReceive(c.chid, &p, sizeof p, NULL), ETIMEDOUT);
    CHECK_OK(TimerDestroy(t));
    close_chan(c);
}

HARNESS_MAIN
