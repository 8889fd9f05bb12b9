/*
 * test_hostile_watchers.c - squatters against procmgr_event_notify(PROCMGR_EVENT_PROCESS_DEATH)
 * (issue 16).  A watcher listens on the abstract address neutrino.procwatch.<pid>; a datagram
 * socket at neutrino.procwatch (the beacon) tells a starting process that watchers may
 * exist, and it then knocks on each watcher that /proc/net/unix lists.  Any user may bind
 * any abstract address, so an unprivileged squatter (uid 65534) takes the victim's watcher
 * address before it registers, the beacon, fake watcher addresses naming other pids (more
 * than the 32 watchers a process knocks on, some with full backlogs) and many addresses
 * naming its own pid.  The victim, a root process, must still register, and learn at once
 * of the death of every libneutrino process that starts: a process that lives a few
 * milliseconds is seen only through its knock (the /proc scan runs once a second).  A
 * process's start-up stays short whatever the squatter binds.
 *
 * The event names no process (as on QNX), so another process on the machine dying at the
 * same moment can stand in for one of ours: each child's event must come within a short
 * window, several times in a row, which unrelated deaths do not fake.
 */
#include "harness.h"
#include <stddef.h>
#include <sys/procmgr.h>
#include <sys/socket.h>
#include <sys/un.h>

#define UID_BAD 65534
#define UID_OTHER 65533
/* src/kernel/procwatch.rs MAX_ANNOUNCE: more fakes than that are bound. */
#define FAKES 40
/* How soon a knocked watcher reports a death: it holds the pid before the child ends. */
#define PROMPT_MS 250
/* A start-up with every fake tried (procwatch.rs MAX_KNOCKS = 256 non-blocking connects). */
#define START_BOUND_MS 50

/* Binds a socket of `type` at abstract `name`; listens with `backlog` (>= 0) and, with
 * `fill`, fills its backlog so that a connect finds it busy.  1 on success. */
static int bind_at(const char *name, int type, int backlog, int fill)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(a.sun_path + 1, name, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    if (backlog >= 0 && listen(fd, backlog) != 0)
        return 0;
    if (fill) {
        int c = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, len) != 0)
            return 0;
    }
    return 1; /* held until the process ends */
}

/* The squatter: takes the victim's watcher address (a listener that never accepts), the
 * beacon if it is free, FAKES addresses naming other pids (half with full backlogs) and
 * FAKES fallback-shaped addresses naming its own pid; sends up whether it got the beacon,
 * then holds everything until told to go. */
static int squatter(int rd, int wr, void *arg)
{
    pid_t victim = *(const pid_t *)arg;
    if (h_become(UID_BAD) != 0)
        return 2;
    char name[108];
    snprintf(name, sizeof name, "neutrino.procwatch.%d", (int)victim);
    if (!bind_at(name, SOCK_SEQPACKET, 64, 0))
        return 3;
    int beacon = bind_at("neutrino.procwatch", SOCK_DGRAM, -1, 0);
    /* The beacon's other namespaces too: harmless, but a squatter would try them. */
    bind_at("neutrino.procwatch", SOCK_SEQPACKET, 0, 1);
    bind_at("neutrino.procwatch", SOCK_STREAM, -1, 0);
    for (int i = 0; i < FAKES; i++) {
        /* Low pids: an announcer that took the lowest 32 would take only these. */
        snprintf(name, sizeof name, "neutrino.procwatch.%d", i + 1);
        if (!bind_at(name, SOCK_SEQPACKET, i % 2 ? 0 : 64, i % 2))
            return 4;
        snprintf(name, sizeof name, "neutrino.procwatch.%d.%016x", (int)getpid(), i);
        if (!bind_at(name, SOCK_SEQPACKET, 64, 0))
            return 5;
    }
    h_put(wr, beacon);
    long long v;
    h_try_get(rd, &v, 60000 + (int)(h_hostile_seconds(1.0) * 1000));
    return 0;
}

/* Starts processes that use libneutrino and end at once: for each uid it reads, forks a
 * child that switches to it, makes its first call (ChannelCreate) and ends; sends up the
 * call's time in us (or -1) once the child is reaped.  It never calls libneutrino itself,
 * so it has one thread and its forks are safe (a fork of a process with other threads can
 * inherit a lock one of them held: ASan's allocator's, say). */
static int launcher(int rd, int wr, void *arg)
{
    (void)arg;
    long long uid;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return 2;
    while (h_try_get(rd, &uid, 60000 + (int)(h_hostile_seconds(1.0) * 1000)) == 0 && uid >= 0) {
        pid_t pid = h_fork();
        if (pid == 0) {
            if (h_become((uid_t)uid) != 0)
                _exit(2);
            long long t0 = h_now_us();
            int chid = ChannelCreate(0);
            h_put(p[1], h_now_us() - t0);
            _exit(chid > 0 ? 0 : 3);
        }
        long long us = -1;
        if (h_wait(pid, 5000) != 0 || h_try_get(p[0], &us, 1000) != 0)
            us = -1;
        h_put(wr, us);
    }
    return 0;
}

/* One short-lived libneutrino process as `uid`: its first call's time (us). */
static long long short_lived(struct h_proc *l, uid_t uid)
{
    h_put(l->wr, uid);
    long long us = h_get(l->rd, 10000);
    CHECK(us >= 0);
    return us;
}

static void stop(struct h_proc *p)
{
    h_put(p->wr, -1);
    CHECK_CHILD_OK(p->pid, 5000);
    h_close_proc(p);
}

/* Waits up to timeout_ms for a death pulse (code 3); 1 if one came. */
static int death_pulse(int chid, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - h_now_ms();
        if (left <= 0)
            return 0;
        uint64_t ns = (uint64_t)left * 1000000;
        REQUIRE_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), 0);
        struct _pulse p;
        rcvid_t rcvid = MsgReceive(chid, &p, sizeof p, NULL);
        if (rcvid == -1 && (errno == ETIMEDOUT || errno == EINTR))
            continue;
        REQUIRE(rcvid != -1);
        if (rcvid == 0 && p.code == 3)
            return 1;
    }
}

TEST(watchers_squatted_still_told)
{
    H_NEED_ROOT();
    pid_t me = getpid();
    struct h_proc sq = h_spawn(squatter, &me), l = h_spawn(launcher, NULL);
    long long beacon = h_get(sq.rd, 10000);
    if (!beacon)
        h_note("the beacon was held already (a watcher elsewhere on the machine)");

    /* Our address is squatted: we listen on a fallback of it. */
    struct chan ch = open_chan(0);
    struct sigevent ev;
    SIGEV_PULSE_INIT(&ev, ch.coid, SIGEV_PULSE_PRIO_INHERIT, 3, 77);
    CHECK_EQ(procmgr_event_notify(PROCMGR_EVENT_PROCESS_DEATH, &ev), 0);
    char fallback[64];
    snprintf(fallback, sizeof fallback, "neutrino.procwatch.%d.", (int)me);
    CHECK(h_abstract_listed(fallback));

    /* Past the first scan; then what is queued (other processes' deaths) is let go. */
    h_sleep_ms(100);
    while (death_pulse(ch.chid, 50)) {
    }
    long long end = h_now_ms() + (long long)(h_hostile_seconds(1.0) * 1000);
    int n = 0, slowest = 0;
    do {
        long long t0 = h_now_ms();
        short_lived(&l, n % 2 ? UID_OTHER : 0);
        if (!death_pulse(ch.chid, PROMPT_MS)) {
            FAIL("child %d: no death event within %d ms", n, PROMPT_MS);
            break;
        }
        int ms = (int)(h_now_ms() - t0);
        slowest = ms > slowest ? ms : slowest;
        /* Other deaths of the moment: the next child's event must be its own. */
        while (death_pulse(ch.chid, 20)) {
        }
        n++;
    } while (n < 6 || h_now_ms() < end);
    h_note("%d short-lived processes reported, slowest %d ms after its start", n, slowest);
    CHECK_EQ(procmgr_event_notify(0, NULL), 0);
    close_chan(ch);
    stop(&l);
    stop(&sq);
}

TEST(watchers_start_up_bounded)
{
    H_NEED_ROOT();
    pid_t me = getpid();
    struct h_proc sq = h_spawn(squatter, &me), l = h_spawn(launcher, NULL);
    h_get(sq.rd, 10000);
    struct chan ch = open_chan(0);
    struct sigevent ev;
    SIGEV_PULSE_INIT(&ev, ch.coid, SIGEV_PULSE_PRIO_INHERIT, 3, 77);
    CHECK_EQ(procmgr_event_notify(PROCMGR_EVENT_PROCESS_DEATH, &ev), 0);
    /* Every start-up reads the table and knocks on every fake (up to the bound): no
     * connect waits, whoever's backlog is full. */
    long long worst = 0;
    for (int i = 0; i < 10; i++) {
        long long us = short_lived(&l, UID_OTHER);
        worst = us > worst ? us : worst;
    }
    h_note("first call with the squatter's addresses: at most %lld us", worst);
    CHECK(worst < START_BOUND_MS * 1000);
    CHECK_EQ(procmgr_event_notify(0, NULL), 0);
    close_chan(ch);
    stop(&l);
    stop(&sq);
}

HARNESS_MAIN
