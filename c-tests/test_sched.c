/*
 * test_sched.c - QNX priorities: SchedGet/SchedSet/SchedInfo/SchedYield and getprio/setprio.
 * A SCHED_OTHER thread is priority 10; the QNX idiom "read, subtract 2, set SCHED_RR" works
 * as root (a real SCHED_RR thread) and as an unprivileged user (Linux refuses real-time
 * scheduling: the priority is recorded for the thread, read back and carried by its
 * messages and pulses); above 63 an unprivileged caller gets EPERM, as on QNX. Errors:
 * EINVAL for a bad policy or priority, ESRCH for a process or thread that is not there.
 */
#include "harness.h"
#include <sched.h>

#define NOBODY 65534

_Static_assert(sizeof(struct _sched_info) == 64, "_sched_info");

/* A pid that names no process: a reaped child's. */
static pid_t dead_pid(void)
{
    pid_t pid = h_fork();
    if (pid == 0)
        _exit(0);
    CHECK_EQ(h_wait(pid, 5000), 0);
    return pid;
}

/* The QNX idiom on a SCHED_OTHER thread, then setprio(getprio + 1); `real`: Linux made it
 * SCHED_RR. */
static void prio_minus_two(int real)
{
    struct sched_param p = {.sched_priority = -1};
    CHECK_EQ(SchedGet(0, 0, &p), SCHED_OTHER);
    CHECK_EQ(p.sched_priority, 10);
    p.sched_priority -= 2;
    CHECK_EQ(SchedSet(0, 0, SCHED_RR, &p), 0);
    p.sched_priority = -1;
    CHECK_EQ(SchedGet(0, 0, &p), real ? SCHED_RR : SCHED_OTHER);
    CHECK_EQ(p.sched_priority, 8);
    CHECK_EQ(sched_getscheduler(0), real ? SCHED_RR : SCHED_OTHER);
    CHECK_EQ(getprio(0), 8);
    CHECK_EQ(setprio(0, getprio(0) + 1), 8);
    CHECK_EQ(getprio(0), 9);
    CHECK_EQ(SchedGet_r(0, 0, &p), real ? SCHED_RR : SCHED_OTHER);
    CHECK_EQ(p.sched_priority, 9);
}

TEST(sched_prio_minus_two_as_root)
{
    H_NEED_ROOT();
    prio_minus_two(1);
    struct sched_param p = {.sched_priority = 10};
    CHECK_EQ(SchedSet(0, 0, SCHED_OTHER, &p), 0);
    CHECK_EQ(sched_getscheduler(0), SCHED_OTHER);
    CHECK_EQ(getprio(0), 10);
    /* Root may go above 63. */
    p.sched_priority = 70;
    CHECK_EQ(SchedSet(0, 0, SCHED_FIFO, &p), 0);
    CHECK_EQ(getprio(0), 70);
}

TEST(sched_prio_minus_two_unprivileged)
{
    H_NEED_ROOT();
    REQUIRE_OK(h_become(NOBODY));
    prio_minus_two(0);
    struct sched_param p = {.sched_priority = 63};
    CHECK_EQ(SchedSet(0, 0, SCHED_FIFO, &p), 0);
    CHECK_EQ(getprio(0), 63);
    p.sched_priority = 64;
    CHECK_ERR(SchedSet(0, 0, SCHED_RR, &p), EPERM);
    CHECK_ERR(SchedSet(0, 0, SCHED_OTHER, &p), EPERM);
    CHECK_EQ(SchedSet_r(0, 0, SCHED_OTHER, &p), -EPERM);
    CHECK_ERR(setprio(0, 64), EPERM);
    CHECK_EQ(getprio(0), 63);
    p.sched_priority = 10;
    CHECK_EQ(SchedSet(0, 0, SCHED_OTHER, &p), 0);
    CHECK_EQ(getprio(0), 10);
}

/* Each thread has its own priority; tid names a thread of the process (Linux tids). */
static void *read_own(void *arg)
{
    *(int *)arg = getprio(0);
    return NULL;
}

TEST(sched_per_thread)
{
    H_NEED_ROOT();
    REQUIRE_OK(h_become(NOBODY));
    struct sched_param p = {.sched_priority = 20};
    CHECK_EQ(SchedSet(0, h_gettid(), SCHED_RR, &p), 0);
    int other = 0;
    JOIN(h_thread(read_own, &other), 5000);
    CHECK_EQ(other, 10);
    CHECK_EQ(getprio(0), 20);
}

TEST(sched_errors)
{
    struct sched_param p = {.sched_priority = 10};
    CHECK_ERR(SchedSet(0, 0, 99, &p), EINVAL);
    CHECK_EQ(SchedSet_r(0, 0, -1, &p), -EINVAL);
    p.sched_priority = 0;
    CHECK_ERR(SchedSet(0, 0, SCHED_RR, &p), EINVAL);
    p.sched_priority = sched_get_priority_max(SCHED_FIFO) + 1;
    CHECK_ERR(SchedSet(0, 0, SCHED_FIFO, &p), EINVAL);
    CHECK_ERR(SchedSet(0, 0, SCHED_OTHER, &p), EINVAL);
    CHECK_ERR(setprio(0, 0), EINVAL);
    pid_t gone = dead_pid();
    p.sched_priority = 10;
    CHECK_ERR(SchedGet(gone, 0, &p), ESRCH);
    CHECK_EQ(SchedGet_r(gone, 0, &p), -ESRCH);
    CHECK_ERR(SchedSet(gone, 0, SCHED_OTHER, &p), ESRCH);
    CHECK_ERR(getprio(gone), ESRCH);
    CHECK_ERR(setprio(gone, 10), ESRCH);
    /* A thread id that is not a thread of this process. */
    CHECK_ERR(SchedGet(0, gone, &p), ESRCH);
    CHECK_ERR(SchedGet(0, 0, NULL), EFAULT);
    CHECK_ERR(SchedSet(0, 0, SCHED_OTHER, NULL), EFAULT);
    struct _sched_info info;
    CHECK_ERR(SchedInfo(0, 99, &info), EINVAL);
    CHECK_ERR(SchedInfo(gone, SCHED_RR, &info), ESRCH);
    CHECK_EQ(SchedInfo_r(gone, SCHED_RR, &info), -ESRCH);
}

TEST(sched_info_and_yield)
{
    struct _sched_info info;
    memset(&info, 0xff, sizeof info);
    CHECK_EQ(SchedInfo(0, SCHED_RR, &info), 0);
    CHECK_EQ(info.priority_min, sched_get_priority_min(SCHED_RR));
    CHECK_EQ(info.priority_max, sched_get_priority_max(SCHED_RR));
    CHECK_EQ(info.priority_priv, 63);
    CHECK(info.interval > 0);
    CHECK_EQ(SchedInfo_r(0, SCHED_OTHER, &info), 0);
    CHECK_EQ(SchedYield(), 0);
    CHECK_EQ(SchedYield_r(), 0);
}

/* Another process: its main thread for tid 0; a SCHED_OTHER thread there reads 10. */
static int sleeper(int rd, int wr, void *arg)
{
    (void)arg;
    h_put(wr, 1);
    long long v;
    h_try_get(rd, &v, 10000);
    return 0;
}

TEST(sched_other_process)
{
    struct h_proc c = h_spawn(sleeper, NULL);
    CHECK_EQ(h_get(c.rd, 5000), 1);
    struct sched_param p = {.sched_priority = 0};
    CHECK_EQ(SchedGet(c.pid, 0, &p), SCHED_OTHER);
    CHECK_EQ(p.sched_priority, 10);
    CHECK_EQ(getprio(c.pid), 10);
    h_put(c.wr, 0);
    CHECK_EQ(h_wait(c.pid, 5000), 0);
    h_close_proc(&c);
}

/* Receives one message and replies with the priority it carried. */
static void *priority_server(void *arg)
{
    int chid = *(int *)arg;
    char buf[8];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, &info);
    if (rcvid > 0)
        MsgReply(rcvid, info.priority, NULL, 0);
    return NULL;
}

/* Messages and -1-priority pulses carry the priority SchedSet gave, recorded or real. */
static void carries_priority(void)
{
    struct chan ch = open_chan(0);
    struct sched_param p;
    CHECK_EQ(SchedGet(0, 0, &p), SCHED_OTHER);
    p.sched_priority -= 2;
    CHECK_EQ(SchedSet(0, 0, SCHED_RR, &p), 0);
    /* Pulses queue by priority: a -1 pulse (8) passes one at 7 and stays behind one at 9. */
    const int prios[2][2] = {{7, -1}, {9, -1}}, first[2] = {2, 1};
    for (int round = 0; round < 2; round++) {
        struct _pulse a, b;
        CHECK_EQ(MsgSendPulse(ch.coid, prios[round][0], 1, 0), 0);
        CHECK_EQ(MsgSendPulse(ch.coid, prios[round][1], 2, 0), 0);
        CHECK_EQ(MsgReceive(ch.chid, &a, sizeof a, NULL), 0);
        CHECK_EQ(MsgReceive(ch.chid, &b, sizeof b, NULL), 0);
        CHECK_EQ(a.code, first[round]);
        CHECK_EQ(b.code, 3 - first[round]);
    }
    pthread_t t = h_thread(priority_server, &ch.chid);
    CHECK_EQ(MsgSend(ch.coid, "m", 1, NULL, 0), 8);
    JOIN(t, 5000);
    close_chan(ch);
}

TEST(sched_pulse_priority_root)
{
    H_NEED_ROOT();
    carries_priority();
}

TEST(sched_pulse_priority_unprivileged)
{
    H_NEED_ROOT();
    REQUIRE_OK(h_become(NOBODY));
    carries_priority();
}

HARNESS_MAIN
