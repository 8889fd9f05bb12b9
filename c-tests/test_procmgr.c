/*
 * test_procmgr.c - <sys/procmgr.h>. procmgr_daemon() forks: the caller's parent sees it end
 * with `status`, the daemon runs in a new session with cwd /, umask 0, stdio on /dev/null
 * and other descriptors closed, unless the flags keep them; it refuses (EBUSY) once the
 * process holds channels. procmgr_ability() returns EOK. procmgr_event_notify() delivers
 * its event when processes die (libneutrino processes at once, others within the rescan
 * period), and no more once deregistered. Deaths of unrelated processes on the machine may
 * add events, so cases only ask for at least one per death.
 */
#include "harness.h"
#include <sys/procmgr.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

TEST(procmgr_ability_eok)
{
    CHECK_EQ(procmgr_ability(0, PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_SPAWN,
                             PROCMGR_ADN_ROOT | PROCMGR_AOP_DENY | PROCMGR_AID_PRIORITY,
                             PROCMGR_AID_EOL),
             EOK);
    CHECK_EQ(procmgr_ability(getpid(), PROCMGR_AOP_LOCK | PROCMGR_AID_EOL), EOK);
    pid_t child = h_fork();
    if (child == 0)
        _exit(0);
    CHECK_EQ(h_wait(child, 5000), 0);
    CHECK_EQ(procmgr_ability(child, PROCMGR_AID_EOL), ESRCH);
}

static int is_devnull(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/* What the daemon reports about itself. */
struct report {
    int rc, errno_, new_session, cwd_root, umask_, stdio_null, extra_open;
    pid_t ppid_before, pid;
};

static void fill(struct report *r, int rc, int extra_fd)
{
    char cwd[64];
    r->rc = rc;
    r->errno_ = errno;
    r->pid = getpid();
    r->new_session = getsid(0) == getpid() && getpgrp() == getpid();
    r->cwd_root = getcwd(cwd, sizeof cwd) != NULL && strcmp(cwd, "/") == 0;
    r->umask_ = (int)umask(0);
    r->stdio_null = is_devnull(0) && is_devnull(1) && is_devnull(2);
    r->extra_open = fcntl(extra_fd, F_GETFD) != -1;
}

TEST(procmgr_daemon_default_flags)
{
    /* The daemon's descriptors are closed: it reports through a file. */
    char path[] = "/tmp/neutrino-daemon-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    umask(022);
    pid_t child = h_fork();
    if (child == 0) {
        int extra = open("/dev/zero", O_RDONLY);
        int rc = procmgr_daemon(7, 0);
        struct report r;
        fill(&r, rc, extra);
        int out = open(path, O_WRONLY);
        if (out >= 0 && write(out, &r, sizeof r) != (ssize_t)sizeof r)
            _exit(2);
        _exit(0);
    }
    CHECK_EQ(h_wait(child, 5000), 7);
    struct report r;
    memset(&r, 0, sizeof r);
    long long deadline = h_now_ms() + 5000;
    while (pread(fd, &r, sizeof r, 0) != (ssize_t)sizeof r && h_now_ms() < deadline)
        h_sleep_ms(5);
    close(fd);
    unlink(path);
    CHECK(r.rc > 3);
    CHECK(r.pid != child && r.pid != 0);
    CHECK(r.new_session);
    CHECK(r.cwd_root);
    CHECK_EQ(r.umask_, 0);
    CHECK(r.stdio_null);
    CHECK(!r.extra_open);
}

TEST(procmgr_daemon_keep_everything)
{
    int p[2];
    REQUIRE_OK(pipe(p));
    umask(027);
    pid_t child = h_fork();
    if (child == 0) {
        close(p[0]);
        int rc = procmgr_daemon(0, PROCMGR_DAEMON_NOCHDIR | PROCMGR_DAEMON_NOCLOSE |
                                       PROCMGR_DAEMON_NODEVNULL | PROCMGR_DAEMON_KEEPUMASK);
        struct report r;
        fill(&r, rc, p[1]);
        if (write(p[1], &r, sizeof r) != (ssize_t)sizeof r)
            _exit(2);
        _exit(0);
    }
    close(p[1]);
    CHECK_EQ(h_wait(child, 5000), 0);
    struct report r;
    memset(&r, 0, sizeof r);
    CHECK_EQ(h_read_all(p[0], &r, sizeof r, 5000), 0);
    close(p[0]);
    CHECK(r.rc > p[1]);
    CHECK(r.new_session);
    CHECK(!r.cwd_root);
    CHECK_EQ(r.umask_, 027);
    CHECK(r.extra_open);
}

TEST(procmgr_daemon_refused_with_channels)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    CHECK_ERR(procmgr_daemon(0, 0), EBUSY);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* A child that uses libneutrino, then waits for a word and exits.  The children are
 * exec'd, not forked: this process has threads of its own (the watcher), and a fork child
 * of a threaded process that allocates may inherit a lock held (AddressSanitizer's). */
HELPER(neutrino_child)
{
    (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid > 0);
    long long v;
    h_try_get(rd, &v, 10000);
    return 0;
}

/* A child that never calls libneutrino. */
HELPER(plain_child)
{
    (void)arg;
    h_put(wr, 1);
    long long v;
    h_try_get(rd, &v, 10000);
    return 0;
}

/* Waits up to timeout_ms for a pulse with `code` and `value`; 1 if one came. */
static int death_pulse(int chid, int code, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms;
    for (;;) {
        struct _pulse p;
        long long left = deadline - h_now_ms();
        if (left <= 0)
            return 0;
        /* A kernel timeout in this thread: nothing is left behind when none comes. */
        uint64_t ns = (uint64_t)left * 1000000;
        REQUIRE_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), 0);
        rcvid_t rcvid = MsgReceive(chid, &p, sizeof p, NULL);
        if (rcvid == -1 && (errno == ETIMEDOUT || errno == EINTR))
            continue;
        REQUIRE(rcvid != -1);
        if (rcvid == 0 && p.code == code && p.value.sival_int == 77)
            return 1;
    }
}

static void ends(struct h_proc *c)
{
    h_put(c->wr, 0);
    CHECK_EQ(h_wait(c->pid, 5000), 0);
    h_close_proc(c);
}

TEST(procmgr_event_process_death)
{
    struct chan ch = open_chan(0);
    struct sigevent ev;
    SIGEV_PULSE_INIT(&ev, ch.coid, SIGEV_PULSE_PRIO_INHERIT, 3, 77);
    CHECK_EQ(procmgr_event_notify(PROCMGR_EVENT_PROCESS_DEATH, &ev), 0);
    /* A libneutrino process started after the registration: reported at once. */
    for (int i = 0; i < 3; i++) {
        struct h_proc c = h_exec("neutrino_child", "");
        CHECK_EQ(h_get(c.rd, 5000), 1);
        ends(&c);
        CHECK(death_pulse(ch.chid, 3, 900));
    }
    /* Any other process, once a /proc scan has seen it. */
    struct h_proc c = h_exec("plain_child", "");
    CHECK_EQ(h_get(c.rd, 5000), 1);
    h_sleep_ms(1500);
    ends(&c);
    CHECK(death_pulse(ch.chid, 3, 1000));
    /* Deregistered: nothing more, whoever dies (what other deaths queued before goes). */
    CHECK_EQ(procmgr_event_notify(0, NULL), 0);
    while (death_pulse(ch.chid, 3, 100)) {
    }
    c = h_exec("neutrino_child", "");
    CHECK_EQ(h_get(c.rd, 5000), 1);
    ends(&c);
    CHECK(!death_pulse(ch.chid, 3, 1500));
    close_chan(ch);
}

TEST(procmgr_event_signal_and_errors)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct sigevent ev;
    SIGEV_SIGNAL_VALUE_INIT(&ev, SIGUSR1, 77);
    CHECK_EQ(procmgr_event_notify(PROCMGR_EVENT_PROCESS_DEATH, &ev), 0);
    struct h_proc c = h_exec("neutrino_child", "");
    CHECK_EQ(h_get(c.rd, 5000), 1);
    ends(&c);
    siginfo_t si;
    struct timespec ts = {2, 0};
    CHECK_EQ(sigtimedwait(&set, &si, &ts), SIGUSR1);
    CHECK_EQ(si.si_value.sival_int, 77);
    /* Events QNX's process manager has and we do not: ENOSYS. A bad event: EINVAL. */
    CHECK_ERR(procmgr_event_notify(PROCMGR_EVENT_SYNC, &ev), ENOSYS);
    CHECK_ERR(procmgr_event_notify(PROCMGR_EVENT_PROCESS_DEATH | PROCMGR_EVENT_DAEMON_DEATH, &ev),
              ENOSYS);
    ev.sigev_notify = 0x7f;
    CHECK_ERR(procmgr_event_notify(PROCMGR_EVENT_PROCESS_DEATH, &ev), EINVAL);
    CHECK_EQ(procmgr_event_notify(PROCMGR_EVENT_PROCESS_DEATH, NULL), 0);
}

HARNESS_MAIN
