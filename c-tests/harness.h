/*
 * harness.h - a tiny single-header test harness for the libneutrino C tests.
 *
 * Every test case runs in its own process: the runner re-executes its own binary
 * (`prog --case NAME`) in a new process group, so each case starts from a clean image
 * (no library state inherited through fork) and anything the case forks is killed with
 * the group when the case ends or times out.  The runner is a child subreaper, so
 * orphaned grandchildren are reparented to it and reaped; nothing is left behind.
 *
 * Include this header first (it defines _GNU_SOURCE).  A test program looks like:
 *
 *     #include "harness.h"
 *     TEST(my_case) { CHECK_EQ(1 + 1, 2); }
 *     HARNESS_MAIN
 *
 * It prints one line per case and ends with exactly one summary line
 * `<program>: N passed, N failed`; the exit status is non-zero if anything failed.
 *
 * Environment: H_TIMEOUT_S (per-case time limit, default 20), H_BUDGET_S (whole program
 * budget, default 100; cases that cannot start within it count as failed).
 * `prog NAME...` runs only the cases whose name contains one of the given strings;
 * `prog --case NAME` runs one case in the current process (for a debugger).
 */
#ifndef LIBNEUTRINO_CTEST_HARNESS_H
#define LIBNEUTRINO_CTEST_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#define H_FN static __attribute__((unused))

/* Built with AddressSanitizer (gcc defines the first, clang answers the second)? */
#if defined(__SANITIZE_ADDRESS__)
#define H_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H_ASAN 1
#endif
#endif
#define H_MAX_TESTS 256
#define H_MAX_HELPERS 32

typedef void (*h_test_fn)(void);
/* A child body: reads from `rd`, writes to `wr` (pipes to/from the parent). */
typedef int (*h_child_fn)(int rd, int wr, void *arg);
/* An exec helper: like a child body, the argument comes from the command line. */
typedef int (*h_helper_fn)(int rd, int wr, const char *arg);

struct h_test {
    const char *name;
    h_test_fn fn;
    int line;
};
struct h_helper {
    const char *name;
    h_helper_fn fn;
};

static struct h_test h_tests[H_MAX_TESTS];
static int h_ntests;
static struct h_helper h_helpers[H_MAX_HELPERS];
static int h_nhelpers;
static atomic_int h_failures;
static const char *h_case_name = "";
static const char *h_prog_name = "test";

H_FN void h_register(const char *name, h_test_fn fn, int line)
{
    if (h_ntests < H_MAX_TESTS) {
        h_tests[h_ntests].name = name;
        h_tests[h_ntests].fn = fn;
        h_tests[h_ntests].line = line;
        h_ntests++;
    }
}

H_FN void h_register_helper(const char *name, h_helper_fn fn)
{
    if (h_nhelpers < H_MAX_HELPERS) {
        h_helpers[h_nhelpers].name = name;
        h_helpers[h_nhelpers].fn = fn;
        h_nhelpers++;
    }
}

#define TEST(name)                                                              \
    static void name(void);                                                     \
    __attribute__((constructor)) static void h_reg_##name(void)                 \
    {                                                                           \
        h_register(#name, name, __LINE__);                                      \
    }                                                                           \
    static void name(void)

/* A function runnable in a fresh image through h_exec(NAME, arg). */
#define HELPER(name)                                                            \
    static int name(int rd, int wr, const char *arg);                           \
    __attribute__((constructor)) static void h_regh_##name(void)                \
    {                                                                           \
        h_register_helper(#name, name);                                         \
    }                                                                           \
    static int name(int rd, int wr, const char *arg)

/* ------------------------------------------------------------------------------------ */
/* Failure reporting                                                                     */

H_FN const char *h_errname(int e)
{
    static const struct {
        int v;
        const char *n;
    } tab[] = {
        {0, "EOK"},
        {EPERM, "EPERM"},
        {ENOENT, "ENOENT"},
        {ESRCH, "ESRCH"},
        {EINTR, "EINTR"},
        {EIO, "EIO"},
        {ENXIO, "ENXIO"},
        {E2BIG, "E2BIG"},
        {EBADF, "EBADF"},
        {ECHILD, "ECHILD"},
        {EAGAIN, "EAGAIN"},
        {ENOMEM, "ENOMEM"},
        {EACCES, "EACCES"},
        {EFAULT, "EFAULT"},
        {EBUSY, "EBUSY"},
        {EEXIST, "EEXIST"},
        {EINVAL, "EINVAL"},
        {ENFILE, "ENFILE"},
        {EMFILE, "EMFILE"},
        {EPIPE, "EPIPE"},
        {ERANGE, "ERANGE"},
        {ENOSYS, "ENOSYS"},
        {EOVERFLOW, "EOVERFLOW"},
        {ETIMEDOUT, "ETIMEDOUT"},
        {ECONNREFUSED, "ECONNREFUSED"},
        {ECONNRESET, "ECONNRESET"},
        {ENOTSUP, "ENOTSUP"},
#ifdef ERESTART
        {ERESTART, "ERESTART"},
#endif
#ifdef ENOREMOTE
        {ENOREMOTE, "ENOREMOTE"},
#endif
#ifdef ESRVRFAULT
        {ESRVRFAULT, "ESRVRFAULT"},
#endif
#ifdef EBADFSYS
        {EBADFSYS, "EBADFSYS"},
#endif
#ifdef EMORE
        {EMORE, "EMORE"},
#endif
    };
    static __thread char buf[32];
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (tab[i].v == e)
            return tab[i].n;
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
}

__attribute__((format(printf, 3, 4))) H_FN void h_failf(const char *file, int line,
                                                        const char *fmt, ...)
{
    char msg[1024];
    char out[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int n = snprintf(out, sizeof out, "    %s:%d: [%s, pid %d] %s\n", file, line, h_case_name,
                     (int)getpid(), msg);
    if (n > (int)sizeof out - 1)
        n = (int)sizeof out - 1;
    /* One write() per message so that lines from several processes don't interleave. */
    if (write(2, out, (size_t)n) < 0) {
        /* nothing sensible to do */
    }
    atomic_fetch_add(&h_failures, 1);
}

__attribute__((format(printf, 1, 2))) H_FN void h_note(const char *fmt, ...)
{
    char msg[1024];
    char out[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int n = snprintf(out, sizeof out, "    note [%s]: %s\n", h_case_name, msg);
    if (n > (int)sizeof out - 1)
        n = (int)sizeof out - 1;
    if (write(2, out, (size_t)n) < 0) {
    }
}

/* Whether the machine has FUSE (the path bridge of resource managers); notes the skip if not. */
H_FN int h_has_fuse(void)
{
    if (access("/dev/fuse", F_OK) != 0) {
        h_note("skipped: /dev/fuse is missing (no FUSE on this machine)");
        return 0;
    }
    return 1;
}

/* Ends the current process (case or helper child) immediately as failed. */
__attribute__((noreturn)) H_FN void h_abort(void)
{
    fflush(NULL);
    _exit(1);
}

#define FAIL(...) h_failf(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond))                                                            \
            h_failf(__FILE__, __LINE__, "CHECK(%s) failed (errno now %s)", #cond, \
                    h_errname(errno));                                          \
    } while (0)

#define REQUIRE(cond)                                                           \
    do {                                                                        \
        if (!(cond)) {                                                          \
            h_failf(__FILE__, __LINE__, "REQUIRE(%s) failed (errno now %s)",     \
                    #cond, h_errname(errno));                                   \
            h_abort();                                                          \
        }                                                                       \
    } while (0)

#define CHECK_EQ(a, b)                                                          \
    do {                                                                        \
        long long h_a_ = (long long)(a), h_b_ = (long long)(b);                 \
        if (h_a_ != h_b_)                                                       \
            h_failf(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld (%#llx) != %lld (%#llx)", \
                    #a, #b, h_a_, (unsigned long long)h_a_, h_b_,               \
                    (unsigned long long)h_b_);                                  \
    } while (0)

#define CHECK_NE(a, b)                                                          \
    do {                                                                        \
        long long h_a_ = (long long)(a), h_b_ = (long long)(b);                 \
        if (h_a_ == h_b_)                                                       \
            h_failf(__FILE__, __LINE__, "CHECK_NE(%s, %s): both are %lld", #a, #b, h_a_); \
    } while (0)

#define REQUIRE_EQ(a, b)                                                        \
    do {                                                                        \
        long long h_a_ = (long long)(a), h_b_ = (long long)(b);                 \
        if (h_a_ != h_b_) {                                                     \
            h_failf(__FILE__, __LINE__, "REQUIRE_EQ(%s, %s): %lld != %lld (errno now %s)", \
                    #a, #b, h_a_, h_b_, h_errname(errno));                      \
            h_abort();                                                          \
        }                                                                       \
    } while (0)

/* Memory equality with the first differing offset in the message. */
#define CHECK_MEM(a, b, n)                                                      \
    do {                                                                        \
        const unsigned char *h_pa_ = (const unsigned char *)(a);                \
        const unsigned char *h_pb_ = (const unsigned char *)(b);                \
        size_t h_n_ = (size_t)(n);                                              \
        for (size_t h_i_ = 0; h_i_ < h_n_; h_i_++) {                            \
            if (h_pa_[h_i_] != h_pb_[h_i_]) {                                   \
                h_failf(__FILE__, __LINE__,                                     \
                        "CHECK_MEM(%s, %s, %s): differ at offset %zu (%#x != %#x)", #a, #b, \
                        #n, h_i_, h_pa_[h_i_], h_pb_[h_i_]);                    \
                break;                                                          \
            }                                                                   \
        }                                                                       \
    } while (0)

/*
 * Expects the call to fail with -1 and errno == err.  Evaluates `expr` once and
 * yields its value (a statement expression).
 */
#define CHECK_ERR(expr, err)                                                    \
    ({                                                                          \
        errno = 0;                                                              \
        long long h_v_ = (long long)(expr);                                     \
        int h_e_ = errno;                                                       \
        if (h_v_ != -1 || h_e_ != (err))                                        \
            h_failf(__FILE__, __LINE__, "%s: expected -1/%s, got %lld (errno %s)", #expr, \
                    h_errname(err), h_v_, h_e_ ? h_errname(h_e_) : "unchanged 0"); \
        h_v_;                                                                   \
    })

/* Expects success (a non-negative result); yields the value. */
#define CHECK_OK(expr)                                                          \
    ({                                                                          \
        errno = 0;                                                              \
        long long h_v_ = (long long)(expr);                                     \
        if (h_v_ < 0)                                                           \
            h_failf(__FILE__, __LINE__, "%s failed: returned %lld, errno %s", #expr, h_v_, \
                    h_errname(errno));                                          \
        h_v_;                                                                   \
    })

/* Like CHECK_OK but ends the case on failure. */
#define REQUIRE_OK(expr)                                                        \
    ({                                                                          \
        errno = 0;                                                              \
        long long h_v_ = (long long)(expr);                                     \
        if (h_v_ < 0) {                                                         \
            h_failf(__FILE__, __LINE__, "%s failed: returned %lld, errno %s", #expr, h_v_, \
                    h_errname(errno));                                          \
            h_abort();                                                          \
        }                                                                       \
        h_v_;                                                                   \
    })

/* ------------------------------------------------------------------------------------ */
/* Time                                                                                  */

H_FN long long h_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

H_FN long long h_now_ms(void) { return h_now_us() / 1000; }

H_FN void h_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

H_FN pid_t h_gettid(void) { return (pid_t)syscall(SYS_gettid); }

/* 1 if every thread of `pid` except `except_tid` is asleep (S/D/t/T/Z in its stat). */
H_FN int h_threads_asleep(pid_t pid, pid_t except_tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 1; /* process gone: nothing left running */
    int all = 1;
    struct dirent *e;
    while (all && (e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == except_tid)
            continue;
        char sp[96], st[512];
        snprintf(sp, sizeof sp, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
        int fd = open(sp, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* the thread just ended */
        ssize_t n = read(fd, st, sizeof st - 1);
        close(fd);
        if (n <= 0)
            continue;
        st[n] = 0;
        const char *p = strrchr(st, ')');
        if (!p || !p[1] || !p[2])
            continue;
        char state = p[2];
        if (!strchr("SDtTZX", state))
            all = 0;
    }
    closedir(d);
    return all;
}

/*
 * Waits (at most timeout_ms) until all other threads of `pid` (0: this process) are
 * blocked, then 10 ms more: the way to let a client become SEND-/REPLY-blocked, or a
 * server RECEIVE-blocked, before acting on it.  Never waits on a spinning test thread.
 */
H_FN void h_settle(pid_t pid, int timeout_ms)
{
    pid_t self = getpid();
    pid_t except = (pid == 0 || pid == self) ? h_gettid() : 0;
    if (pid == 0)
        pid = self;
    long long deadline = h_now_ms() + timeout_ms;
    int streak = 0;
    while (h_now_ms() < deadline && streak < 3) {
        streak = h_threads_asleep(pid, except) ? streak + 1 : 0;
        h_sleep_ms(1);
    }
    h_sleep_ms(10);
}

/* ------------------------------------------------------------------------------------ */
/* Pipes                                                                                 */

H_FN int h_write_all(int fd, const void *buf, size_t n)
{
    const char *p = (const char *)buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes within timeout_ms; 0 on success, -1 on timeout/EOF/error. */
H_FN int h_read_all(int fd, void *buf, size_t n, int timeout_ms)
{
    char *p = (char *)buf;
    long long deadline = h_now_ms() + timeout_ms;
    while (n > 0) {
        long long left = deadline - h_now_ms();
        if (left < 0)
            return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

H_FN void h_put(int fd, long long v)
{
    if (h_write_all(fd, &v, sizeof v) != 0)
        h_failf(__FILE__, __LINE__, "h_put: write to pipe failed: %s", h_errname(errno));
}

/* Reads one value; 0 on success, -1 on timeout or EOF (peer died). */
H_FN int h_try_get(int fd, long long *v, int timeout_ms)
{
    return h_read_all(fd, v, sizeof *v, timeout_ms);
}

/* Reads one value or ends the case (the peer died or did not answer in time). */
#define h_get(fd, timeout_ms)                                                   \
    ({                                                                          \
        long long h_gv_ = 0;                                                    \
        if (h_try_get((fd), &h_gv_, (timeout_ms)) != 0) {                       \
            h_failf(__FILE__, __LINE__, "no value from peer on fd %d within %d ms (peer died?)", \
                    (fd), (int)(timeout_ms));                                   \
            h_abort();                                                          \
        }                                                                       \
        h_gv_;                                                                  \
    })

/* ------------------------------------------------------------------------------------ */
/* Processes                                                                             */

struct h_proc {
    pid_t pid;
    int rd; /* parent reads what the child writes */
    int wr; /* parent writes what the child reads */
};

/* fork() with stdio flushed first, so buffered output is not duplicated. */
H_FN pid_t h_fork(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        h_failf(__FILE__, __LINE__, "fork failed: %s", h_errname(errno));
        h_abort();
    }
    return pid;
}

/*
 * Ends a forked child: exit status 1 if any check failed in it, else `rc`.  Under ASan
 * the child leaves with _exit(): LeakSanitizer's at-exit check in a fork of a
 * multi-threaded process sees the parent's thread bookkeeping as leaked (and can hang
 * stopping threads that don't exist); exec'd case processes keep the full check.
 */
__attribute__((noreturn)) H_FN void h_child_exit(int rc)
{
    if (atomic_load(&h_failures) && rc == 0)
        rc = 1;
    fflush(NULL);
#ifdef H_ASAN
    _exit(rc);
#else
    exit(rc);
#endif
}

/* Forks a child running fn(rd, wr, arg) with a pipe in each direction. */
H_FN struct h_proc h_spawn(h_child_fn fn, void *arg)
{
    int p2c[2], c2p[2];
    struct h_proc pr = {-1, -1, -1};
    if (pipe2(p2c, O_CLOEXEC) != 0 || pipe2(c2p, O_CLOEXEC) != 0) {
        h_failf(__FILE__, __LINE__, "pipe2: %s", h_errname(errno));
        h_abort();
    }
    pid_t pid = h_fork();
    if (pid == 0) {
        close(p2c[1]);
        close(c2p[0]);
        int rc = fn(p2c[0], c2p[1], arg);
        h_child_exit(rc);
    }
    close(p2c[0]);
    close(c2p[1]);
    pr.pid = pid;
    pr.rd = c2p[0];
    pr.wr = p2c[1];
    return pr;
}

/* Fork + exec of this same binary running HELPER `name` in a clean image. */
H_FN struct h_proc h_exec(const char *name, const char *arg)
{
    int p2c[2], c2p[2];
    struct h_proc pr = {-1, -1, -1};
    if (pipe(p2c) != 0 || pipe(c2p) != 0) {
        h_failf(__FILE__, __LINE__, "pipe: %s", h_errname(errno));
        h_abort();
    }
    pid_t pid = h_fork();
    if (pid == 0) {
        char rd[16], wr[16];
        close(p2c[1]);
        close(c2p[0]);
        snprintf(rd, sizeof rd, "%d", p2c[0]);
        snprintf(wr, sizeof wr, "%d", c2p[1]);
        char *argv[] = {(char *)h_prog_name, (char *)"--helper", (char *)name, rd, wr,
                        (char *)(arg ? arg : ""), NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(p2c[0]);
    close(c2p[1]);
    fcntl(c2p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p2c[1], F_SETFD, FD_CLOEXEC);
    pr.pid = pid;
    pr.rd = c2p[0];
    pr.wr = p2c[1];
    return pr;
}

#define H_TIMED_OUT (-2)

/*
 * Waits for a child for at most timeout_ms.  Returns its exit code, 128+signal if it was
 * killed, or H_TIMED_OUT (the child is then killed and reaped).
 */
H_FN int h_wait(pid_t pid, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (h_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return H_TIMED_OUT;
        }
        h_sleep_ms(1);
    }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* Checks that a child ends with status 0 within timeout_ms. */
#define CHECK_CHILD_OK(pid, timeout_ms)                                         \
    do {                                                                        \
        int h_st_ = h_wait((pid), (timeout_ms));                                \
        if (h_st_ == H_TIMED_OUT)                                               \
            h_failf(__FILE__, __LINE__, "child %d did not finish within %d ms (killed)", \
                    (int)(pid), (int)(timeout_ms));                             \
        else if (h_st_ != 0)                                                    \
            h_failf(__FILE__, __LINE__, "child %d ended with status %d%s", (int)(pid), h_st_, \
                    h_st_ > 128 ? " (128+signal)" : "");                        \
    } while (0)

/* Kills a child with SIGKILL and reaps it. */
H_FN void h_kill(pid_t pid)
{
    int st;
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}

H_FN void h_close_proc(struct h_proc *p)
{
    if (p->rd >= 0)
        close(p->rd);
    if (p->wr >= 0)
        close(p->wr);
    p->rd = p->wr = -1;
}

/* Makes this process (a fresh fork) run as `uid` (gid = uid, no supplementary groups);
 * uid 0 stays root.  0 on success.  The tests run as root and switch real child processes
 * to unprivileged numeric uids (65533, 65534); nothing is created on the system. */
H_FN int h_become(uid_t uid)
{
    if (uid == 0)
        return 0;
    gid_t gid = (gid_t)uid;
    if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
        h_failf(__FILE__, __LINE__, "cannot switch to uid %u: %s", (unsigned)uid, h_errname(errno));
        return -1;
    }
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid) {
        h_failf(__FILE__, __LINE__, "uids are %u/%u/%u after setresuid(%u)", (unsigned)r,
                (unsigned)e, (unsigned)s, (unsigned)uid);
        return -1;
    }
    return 0;
}

/* How long one case of the adversarial suite (test_hostile_*.c) keeps attacking: the
 * HOSTILE_SECONDS that `make adversarial` sets, else `short_run` (what `make test` runs). */
H_FN double h_hostile_seconds(double short_run)
{
    const char *s = getenv("HOSTILE_SECONDS");
    double v = s ? atof(s) : 0;
    return v > 0 ? v : short_run;
}

/* 1 if /proc/net/unix lists an abstract socket address starting with `prefix`. */
H_FN int h_abstract_listed(const char *prefix)
{
    char want[200], line[512];
    snprintf(want, sizeof want, " @%s", prefix);
    FILE *f = fopen("/proc/net/unix", "r");
    int found = 0;
    if (!f)
        return 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, want) != NULL;
    fclose(f);
    return found;
}

/* Cases that switch users need root. */
#define H_NEED_ROOT()                                                           \
    do {                                                                        \
        if (geteuid() != 0) {                                                   \
            h_note("skipped: not running as root (cannot switch to other uids)"); \
            return;                                                             \
        }                                                                       \
    } while (0)

/* ------------------------------------------------------------------------------------ */
/* Threads                                                                               */

H_FN pthread_t h_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int e = pthread_create(&t, NULL, fn, arg);
    if (e != 0) {
        h_failf(__FILE__, __LINE__, "pthread_create: %s", h_errname(e));
        h_abort();
    }
    return t;
}

/* Joins within timeout_ms; 0 on success, ETIMEDOUT if the thread is still running. */
H_FN int h_join(pthread_t t, int timeout_ms, void **ret)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np(t, ret, &ts);
}

/* Joins or ends the case with a message naming the stuck thread. */
#define JOIN(t, timeout_ms)                                                     \
    do {                                                                        \
        if (h_join((t), (timeout_ms), NULL) != 0) {                             \
            h_failf(__FILE__, __LINE__, "thread %s still blocked after %d ms", #t, \
                    (int)(timeout_ms));                                         \
            h_abort();                                                          \
        }                                                                       \
    } while (0)

/* ------------------------------------------------------------------------------------ */
/* Small IPC helpers shared by the test programs                                         */

/* Fills buf with a pattern that depends on the offset and a seed. */
H_FN void h_fill(void *buf, size_t n, unsigned seed)
{
    unsigned char *p = (unsigned char *)buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131u + seed * 7u + (i >> 11)) & 0xff);
}

/* Index of the first byte that doesn't match h_fill(seed) at logical offset `off`, or -1. */
H_FN long long h_verify(const void *buf, size_t n, unsigned seed, size_t off)
{
    const unsigned char *p = (const unsigned char *)buf;
    for (size_t i = 0; i < n; i++) {
        size_t j = i + off;
        if (p[i] != (unsigned char)((j * 131u + seed * 7u + (j >> 11)) & 0xff))
            return (long long)i;
    }
    return -1;
}

#define H_QUIT_MAGIC 0x51554954u /* "QUIT" */

struct h_server_stats {
    int chid;
    atomic_int handled;
};

/*
 * An echo server thread body: receives on chid (arg = struct h_server_stats*), replies
 * with the received bytes and status = srcmsglen.  A 4-byte message H_QUIT_MAGIC makes
 * it reply 0 and return; so does a failing MsgReceive (e.g. the channel was destroyed).
 * Pulses are ignored.
 */
H_FN void *h_echo_server(void *arg)
{
    struct h_server_stats *st = (struct h_server_stats *)arg;
    size_t cap = 1 << 16;
    char *buf = (char *)malloc(cap);
    struct _msg_info info;
    for (;;) {
        rcvid_t rcvid = MsgReceive(st->chid, buf, cap, &info);
        if (rcvid == -1)
            break;
        if (rcvid == 0)
            continue;
        if (info.msglen == 4) {
            uint32_t m;
            memcpy(&m, buf, 4);
            if (m == H_QUIT_MAGIC) {
                MsgReply(rcvid, 0, NULL, 0);
                break;
            }
        }
        atomic_fetch_add(&st->handled, 1);
        /* EFAULT: the client offered a bad reply buffer (tests do that on purpose). */
        if (MsgReply(rcvid, (long)info.srcmsglen, buf, (size_t)info.msglen) == -1 &&
            errno != EFAULT)
            h_failf(__FILE__, __LINE__, "echo server: MsgReply: %s", h_errname(errno));
    }
    free(buf);
    return NULL;
}

/* Asks one echo server thread to return (sends H_QUIT_MAGIC). */
H_FN void h_echo_quit(int coid)
{
    uint32_t m = H_QUIT_MAGIC;
    if (MsgSend(coid, &m, sizeof m, NULL, 0) != 0)
        h_failf(__FILE__, __LINE__, "echo quit: MsgSend: %s", h_errname(errno));
}

struct h_rx {
    int chid;
    size_t bytes;
    rcvid_t rcvid;
    int err;
    struct _msg_info info;
    atomic_int done;
    char buf[];
};

H_FN void *h_rx_thread(void *arg)
{
    struct h_rx *r = (struct h_rx *)arg;
    errno = 0;
    r->rcvid = MsgReceive(r->chid, r->buf, r->bytes, &r->info);
    r->err = errno;
    atomic_store(&r->done, 1);
    return NULL;
}

/*
 * MsgReceive with a time limit, for things that may legitimately never arrive (a pulse
 * the library forgot to send must be a failure, not a hang).  Returns 1 and fills the
 * outputs if the receive returned within timeout_ms, else 0; the receiving thread is
 * then abandoned (it has its own buffer and ends when the channel is destroyed).
 */
H_FN int h_receive_within(int chid, void *buf, size_t bytes, struct _msg_info *info,
                          int timeout_ms, rcvid_t *rcvid, int *err)
{
    struct h_rx *r = (struct h_rx *)calloc(1, sizeof *r + bytes);
    if (!r) {
        h_failf(__FILE__, __LINE__, "out of memory");
        h_abort();
    }
    r->chid = chid;
    r->bytes = bytes;
    pthread_t t = h_thread(h_rx_thread, r);
    if (h_join(t, timeout_ms, NULL) != 0) {
        pthread_detach(t);
        return 0;
    }
    memcpy(buf, r->buf, bytes);
    if (info)
        *info = r->info;
    *rcvid = r->rcvid;
    if (err)
        *err = r->err;
    free(r);
    return 1;
}

/* ------------------------------------------------------------------------------------ */
/* The runner                                                                            */

static volatile sig_atomic_t h_current_pgid;

H_FN void h_on_term(int sig)
{
    if (h_current_pgid > 0)
        kill(-(pid_t)h_current_pgid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

H_FN int h_env_int(const char *name, int dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    return atoi(s);
}

H_FN int h_cmp_tests(const void *a, const void *b)
{
    return ((const struct h_test *)a)->line - ((const struct h_test *)b)->line;
}

/* Runs one case in a fresh process group; returns 1 if it passed. */
H_FN int h_run_one(const struct h_test *t, int timeout_ms)
{
    long long start = h_now_ms();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL %s (fork: %s)\n", t->name, strerror(errno));
        return 0;
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char *argv[] = {(char *)h_prog_name, (char *)"--case", (char *)t->name, NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    setpgid(pid, pid);
    h_current_pgid = pid;
    int st = 0, timed_out = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            st = -1;
            break;
        }
        if (h_now_ms() - start > timeout_ms) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        h_sleep_ms(1);
    }
    /* Whatever the case forked dies with its group; reap the orphans we inherited. */
    kill(-pid, SIGKILL);
    int dummy;
    while (waitpid(-pid, &dummy, 0) > 0 || errno == EINTR) {
    }
    h_current_pgid = 0;
    long long ms = h_now_ms() - start;
    int ok = 0;
    if (timed_out) {
        printf("FAIL %s (timed out after %d ms; process group killed)\n", t->name, timeout_ms);
    } else if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        ok = 1;
        printf("ok   %s (%lld ms)\n", t->name, ms);
    } else if (st != -1 && WIFSIGNALED(st)) {
        printf("FAIL %s (killed by signal %d: %s, %lld ms)\n", t->name, WTERMSIG(st),
               strsignal(WTERMSIG(st)), ms);
    } else {
        printf("FAIL %s (exit status %d, %lld ms)\n", t->name,
               st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, ms);
    }
    fflush(stdout);
    return ok;
}

H_FN int h_main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    h_prog_name = slash ? slash + 1 : argv[0];
    qsort(h_tests, (size_t)h_ntests, sizeof h_tests[0], h_cmp_tests);

    if (argc >= 3 && strcmp(argv[1], "--case") == 0) {
        h_case_name = argv[2];
        signal(SIGPIPE, SIG_IGN);
        for (int i = 0; i < h_ntests; i++) {
            if (strcmp(h_tests[i].name, argv[2]) == 0) {
                h_tests[i].fn();
                fflush(NULL);
                exit(atomic_load(&h_failures) ? 1 : 0);
            }
        }
        fprintf(stderr, "no such case: %s\n", argv[2]);
        return 2;
    }
    if (argc >= 6 && strcmp(argv[1], "--helper") == 0) {
        h_case_name = argv[2];
        signal(SIGPIPE, SIG_IGN);
        for (int i = 0; i < h_nhelpers; i++) {
            if (strcmp(h_helpers[i].name, argv[2]) == 0) {
                int rc = h_helpers[i].fn(atoi(argv[3]), atoi(argv[4]), argv[5]);
                h_child_exit(rc);
            }
        }
        fprintf(stderr, "no such helper: %s\n", argv[2]);
        return 2;
    }

    int timeout_ms = h_env_int("H_TIMEOUT_S", 20) * 1000;
    long long budget_ms = (long long)h_env_int("H_BUDGET_S", 100) * 1000;
    long long t0 = h_now_ms();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGTERM, h_on_term);
    signal(SIGINT, h_on_term);
    signal(SIGHUP, h_on_term);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int passed = 0, failed = 0;
    for (int i = 0; i < h_ntests; i++) {
        int selected = argc < 2;
        for (int a = 1; a < argc && !selected; a++)
            selected = strstr(h_tests[i].name, argv[a]) != NULL;
        if (!selected)
            continue;
        long long left = budget_ms - (h_now_ms() - t0);
        if (left < 1000) {
            printf("FAIL %s (not run: program time budget exhausted)\n", h_tests[i].name);
            failed++;
            continue;
        }
        int to = timeout_ms < left ? timeout_ms : (int)left;
        if (h_run_one(&h_tests[i], to))
            passed++;
        else
            failed++;
    }
    printf("%s: %d passed, %d failed\n", h_prog_name, passed, failed);
    fflush(stdout);
    return failed ? 1 : 0;
}

#define HARNESS_MAIN                                                            \
    int main(int argc, char **argv) { return h_main(argc, argv); }

/* A channel of this process and a side-channel connection to it. */
struct chan {
    int chid;
    int coid;
};

H_FN struct chan open_chan(unsigned flags)
{
    struct chan c;
    c.chid = (int)REQUIRE_OK(ChannelCreate(flags));
    c.coid = (int)REQUIRE_OK(ConnectAttach(0, 0, c.chid, _NTO_SIDE_CHANNEL, 0));
    return c;
}

H_FN void close_chan(struct chan c)
{
    CHECK_EQ(ConnectDetach(c.coid), 0);
    CHECK_EQ(ChannelDestroy(c.chid), 0);
}

/* A sweep of message sizes around every boundary, served and sent the same way by the
 * thread and the process tests. */
static const size_t sweep_sizes[] __attribute__((unused)) = {
    0,     1,     2,     7,     8,     15,    16,    17,    23,     24,     25,     31,
    32,    33,    63,    64,    65,    127,   128,   129,   255,    256,    257,    511,
    512,   513,   1023,  1024,  1025,  2047,  2048,  2049,  4095,   4096,   4097,   8191,
    8192,  8193,  16383, 16384, 16385, 32767, 32768, 32769, 65535,  65536,  65537,  131071,
    131072, 131073, 262147, 1048577,
};
#define SWEEP_N (sizeof sweep_sizes / sizeof sweep_sizes[0])
#define SWEEP_MAX 1048577

/*
 * Serves SWEEP_N messages on chid.  Even steps: receive all, reply all.  Odd steps:
 * receive 16 bytes, MsgRead the rest, MsgWrite the reply tail at 16, MsgReply the head.
 */
H_FN void sweep_serve(int chid, pid_t want_pid)
{
    char *buf = (char *)malloc(SWEEP_MAX), *rep = (char *)malloc(SWEEP_MAX);
    REQUIRE(buf && rep);
    for (size_t i = 0; i < SWEEP_N; i++) {
        size_t n = sweep_sizes[i];
        struct _msg_info info;
        size_t first = (i & 1) ? 16 : SWEEP_MAX;
        rcvid_t r = MsgReceive(chid, buf, first, &info);
        if (r <= 0) {
            FAIL("size %zu: MsgReceive = %lld (%s)", n, (long long)r, h_errname(errno));
            h_abort();
        }
        CHECK_EQ(info.pid, want_pid);
        if ((size_t)info.srcmsglen != n || (size_t)info.dstmsglen != n)
            FAIL("size %zu: srcmsglen %lld dstmsglen %lld", n, (long long)info.srcmsglen,
                 (long long)info.dstmsglen);
        size_t got = (size_t)info.msglen;
        if (got != (n < first ? n : first))
            FAIL("size %zu: msglen %zu", n, got);
        if (got < n) {
            ssize_t more = MsgRead(r, buf + got, n - got, got);
            if (more != (ssize_t)(n - got))
                FAIL("size %zu: MsgRead of the rest = %zd (%s)", n, more, h_errname(errno));
        }
        long long bad = h_verify(buf, n, (unsigned)n, 0);
        if (bad >= 0)
            FAIL("size %zu: request differs at offset %lld", n, bad);
        h_fill(rep, n, (unsigned)n + 1);
        if ((i & 1) && n > 16) {
            ssize_t w = MsgWrite(r, rep + 16, n - 16, 16);
            if (w != (ssize_t)(n - 16))
                FAIL("size %zu: MsgWrite = %zd (%s)", n, w, h_errname(errno));
            CHECK_EQ(MsgReply(r, (long)n, rep, 16), 0);
        } else {
            CHECK_EQ(MsgReply(r, (long)n, rep, n), 0);
        }
    }
    free(buf);
    free(rep);
}

/* Sends every size on coid and checks status and reply. */
H_FN int sweep_send(int coid)
{
    char *out = (char *)malloc(SWEEP_MAX), *in = (char *)malloc(SWEEP_MAX + 1);
    int bad = 0;
    if (!out || !in)
        return 1;
    for (size_t i = 0; i < SWEEP_N; i++) {
        size_t n = sweep_sizes[i];
        h_fill(out, n, (unsigned)n);
        memset(in, 0xEE, n + 1);
        long r = MsgSend(coid, out, n, in, n);
        if (r != (long)n) {
            FAIL("size %zu: MsgSend = %ld (%s)", n, r, h_errname(errno));
            bad++;
            continue;
        }
        long long d = h_verify(in, n, (unsigned)n + 1, 0);
        if (d >= 0) {
            FAIL("size %zu: reply differs at offset %lld", n, d);
            bad++;
        }
        if ((unsigned char)in[n] != 0xEE) {
            FAIL("size %zu: reply overran the buffer", n);
            bad++;
        }
    }
    free(out);
    free(in);
    return bad ? 1 : 0;
}

#endif /* LIBNEUTRINO_CTEST_HARNESS_H */
