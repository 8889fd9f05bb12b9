/*
 * harness.c - timing, statistics, and the bookkeeping that bounds every row: each child
 * process dies with us (PR_SET_PDEATHSIG) and is reaped or killed before the next row,
 * and a per-row SIGALRM watchdog kills the row's children if it hangs, then gives up on
 * the whole run 5 s later.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sleep_s(double s)
{
    struct timespec ts;

    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !watchdog_fired) {
    }
}

void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* The first error of the row being measured. */
char row_err[256];

int fail(const char *fmt, ...)
{
    va_list ap;

    if (row_err[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(row_err, sizeof row_err, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* --- children and the watchdog ------------------------------------------ */

#define MAX_CHILDREN 16

static volatile pid_t children[MAX_CHILDREN];
volatile int          watchdog_fired;

static void say(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));

    (void)r;
}

void kill_children(void)
{
    int i;

    for (i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
        }
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    kill_children();
    if (!watchdog_fired) {
        watchdog_fired = 1;
        say("bench: watchdog: row exceeded its time limit, killing its processes\n");
        alarm(5);
    } else {
        say("bench: watchdog: still stuck 5 s later, giving up\n");
        _exit(3);
    }
}

static void reap_all_at_exit(void)
{
    int i;

    kill_children();
    for (i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0) {
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

void watchdog_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);              /* no SA_RESTART: interrupt */
    signal(SIGPIPE, SIG_IGN);
    atexit(reap_all_at_exit);
}

void watchdog_arm(int seconds)
{
    watchdog_fired = 0;
    alarm((unsigned)seconds);
}

void watchdog_disarm(void)
{
    alarm(0);
}

/* fork() with the child tied to our lifetime and known to the watchdog. */
pid_t fork_child(void)
{
    pid_t parent = getpid(), pid;
    int   i;

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        alarm(0);
        for (i = 0; i < MAX_CHILDREN; i++) {
            children[i] = 0;                    /* not ours to kill */
        }
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(1);
        }
    } else if (pid > 0) {
        for (i = 0; i < MAX_CHILDREN && children[i] != 0; i++) {
        }
        if (i < MAX_CHILDREN) {
            children[i] = pid;
        }
    }
    return pid;
}

/* Waits up to `limit` seconds for `pid` to exit, then SIGKILLs it. Always reaps.
 * Returns the wait status, or -1 if it had to be killed. */
int reap(pid_t pid, double limit)
{
    double deadline = now_s() + limit;
    int    st = 0, i;
    pid_t  r;

    for (;;) {
        r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            break;
        }
        if (r == -1 && errno != EINTR) {
            st = -1;
            break;
        }
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) == -1 && errno == EINTR) {
            }
            st = -1;
            break;
        }
        sleep_s(0.001);
    }
    for (i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == pid) {
            children[i] = 0;
        }
    }
    return st;
}

/* reap() of a child that should exit 0 by itself within 5 s; records an error if not. */
int reap_ok(pid_t pid, const char *what)
{
    int st = reap(pid, 5.0);

    if (st == -1) {
        return fail("%s did not exit within 5 s (killed)", what);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        return fail("%s ended badly (status %#x)", what, st);
    }
    return 0;
}

int pin_to_first_cpu(void)
{
    cpu_set_t set, one;
    int       c;

    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        return -1;
    }
    for (c = 0; c < CPU_SETSIZE && !CPU_ISSET(c, &set); c++) {
    }
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    return sched_setaffinity(0, sizeof one, &one);
}

/* --- measuring ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Median, minimum and maximum of the row's repetitions. */
void row_stats(row_t *row)
{
    double sorted[MAX_REPS];
    int    n = row->reps;

    memcpy(sorted, row->us, sizeof(double) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(double), cmp_double);
    row->min = sorted[0];
    row->max = sorted[n - 1];
    row->median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    row->p99 = -1;
}

#define TAIL_MAX 200000         /* single operations timed for the p99 */

/* Warm up while calibrating N so that one repetition lasts about opt_time; time
 * opt_reps repetitions of N operations (their medians are the row's figures); then,
 * for round trips, one more pass timing each operation alone, for the p99. */
int measure(row_t *row, run_fn run, void *ctx)
{
    double    t0, t = 0, warm = 0;
    double    warm_min = opt_smoke ? 0.005 : opt_quick ? 0.03 : 0.1;
    long      n = 1, big;
    int       i;

    if (opt_ops > 0) {                          /* fixed work, for profilers */
        row->n = opt_ops;
        row->reps = 1;
        t0 = now_s();
        if (run(ctx, opt_ops, NULL) != 0) {
            return -1;
        }
        row->us[0] = (now_s() - t0) / (double)opt_ops * 1e6;
        row_stats(row);
        return 0;
    }
    for (;;) {
        t0 = now_s();
        if (run(ctx, n, NULL) != 0) {
            return -1;
        }
        t = now_s() - t0;
        warm += t;
        if (t >= warm_min / 5 && warm >= warm_min) {
            break;
        }
        if (t < 0.001) {
            n *= 16;
        } else {
            big = (long)((double)n * warm_min / 3 / t) + 1;
            n = big > n ? big : n + 1;
        }
        if (n > 100000000L) {
            n = 100000000L;
        }
    }
    n = (long)(opt_time / (t / (double)n));
    row->n = n < 1 ? 1 : n;
    row->reps = opt_reps;
    for (i = 0; i < opt_reps; i++) {
        t0 = now_s();
        if (run(ctx, row->n, NULL) != 0) {
            return -1;
        }
        row->us[i] = (now_s() - t0) / (double)row->n * 1e6;
    }
    row_stats(row);
    if (row->kind == K_RT) {
        long      m = row->n < TAIL_MAX ? row->n : TAIL_MAX;
        uint32_t *lat = malloc(sizeof(uint32_t) * (size_t)m);

        if (lat == NULL) {
            return fail("out of memory");
        }
        if (run(ctx, m, lat) != 0) {
            free(lat);
            return -1;
        }
        qsort(lat, (size_t)m, sizeof *lat, cmp_u32);
        row->p99 = lat[(size_t)((double)(m - 1) * 0.99)] / 1e3;
        free(lat);
    }
    return 0;
}

/* Records how a row ended (ok == 0: measured). */
void row_done(row_t *row, int ok)
{
    if (ok == 0) {
        row->status = ROW_OK;
        return;
    }
    row->status = ROW_FAILED;
    if (watchdog_fired) {
        snprintf(row->note, sizeof row->note, "hung: its processes were killed; then %s",
                 row_err[0] ? row_err : "no result");
    } else {
        snprintf(row->note, sizeof row->note, "%s", row_err[0] ? row_err : "unknown error");
    }
}

void child_row_of(child_row_t *d, const row_t *r)
{
    memset(d, 0, sizeof *d);
    d->status = r->status;
    snprintf(d->note, sizeof d->note, "%s", r->note);
    d->n = r->n;
    d->reps = r->reps;
    memcpy(d->us, r->us, sizeof d->us);
    d->median = r->median, d->min = r->min, d->max = r->max, d->p99 = r->p99;
}

void rows_from_pinned_child(const char *mode, const char *const *args, const char *const *ids, int n)
{
    char        fdarg[16];
    const char *argv[16];
    child_row_t d;
    int         fds[2] = { -1, -1 }, ok = 0, i, a = 0;
    pid_t       pid;

    if (pipe2(fds, O_CLOEXEC) == -1) {
        ok = fail("pipe: %s", strerror(errno));
    }
    pid = ok == 0 ? fork_child() : -1;
    if (pid == 0) {
        close(fds[0]);
        if (pin_to_first_cpu() != 0 || fcntl(fds[1], F_SETFD, 0) == -1) {
            _exit(126);
        }
        snprintf(fdarg, sizeof fdarg, "%d", fds[1]);
        argv[a++] = "bench";
        argv[a++] = mode;
        argv[a++] = fdarg;
        while (*args && a < 14) {
            argv[a++] = *args++;
        }
        argv[a++] = opt_smoke ? "--smoke" : opt_quick ? "--quick" : NULL;
        argv[a] = NULL;
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    if (ok == 0) {
        close(fds[1]);
        if (pid == -1) {
            ok = fail("fork: %s", strerror(errno));
        }
    }
    for (i = 0; i < n && ok == 0; i++) {
        row_t        *r = row_find(ids[i]);
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };

        if (poll(&pfd, 1, 60000) != 1 || read(fds[0], &d, sizeof d) != (ssize_t)sizeof d) {
            ok = fail("the child (%s) did not report its rows", mode);
            break;
        }
        r->status = d.status;
        d.note[sizeof d.note - 1] = '\0';
        snprintf(r->note, sizeof r->note, "%s", d.note);
        r->n = d.n;
        r->reps = d.reps < MAX_REPS ? d.reps : MAX_REPS;
        memcpy(r->us, d.us, sizeof r->us);
        r->median = d.median, r->min = d.min, r->max = d.max, r->p99 = d.p99;
    }
    if (fds[0] != -1) {
        close(fds[0]);
    }
    if (pid > 0 && reap_ok(pid, mode) != 0) {
        ok = -1;
    }
    for (i = 0; i < n && ok != 0; i++) {
        row_done(row_find(ids[i]), ok);
    }
}
