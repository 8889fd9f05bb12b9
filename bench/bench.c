/*
 * bench.c - latency / throughput of libneutrino's native IPC on this machine,
 * next to two baselines (a Unix SOCK_SEQPACKET ping-pong and a pure
 * shared-memory spin ping-pong, the hardware floor).
 *
 *   cc -O2 -Wall -Wextra -Werror bench/bench.c \
 *      $(pkg-config --cflags --libs neutrino) -lpthread -o bench
 *   ./bench [--quick] [--json PATH] [--reps N] [--time SECONDS]
 *
 * Every row: a warm-up that also calibrates N (operations per repetition) so
 * that one repetition lasts about --time seconds, then --reps repetitions of
 * N operations timed with CLOCK_MONOTONIC.  The table shows the median, min
 * and max time per operation in microseconds and the median's ratio to the
 * socket baseline and to the spin floor.  The same figures go to a JSON file
 * (default results/bench.json).  See bench/README.md.
 *
 * Robustness: every child process gets PR_SET_PDEATHSIG(SIGKILL) and is
 * reaped (or killed and reaped) before the next row starts; every row runs
 * under a SIGALRM watchdog that first kills the row's server process and then,
 * if the benchmark is still stuck, ends the whole program.
 */
#define _GNU_SOURCE
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#ifndef _PULSE_CODE_MINAVAIL
#define _PULSE_CODE_MINAVAIL 0
#endif

/* ------------------------------------------------------------------------ */
/* configuration                                                            */

#define MAX_REPS        101
#define MAX_MSG         (64 * 1024)
#define PULSE_PRIO      10
#define PULSE_CODE      (_PULSE_CODE_MINAVAIL + 1)

static int         opt_reps = 7;
static double      opt_time = 0.2;          /* seconds per repetition       */
static int         opt_quick;
static const char *opt_json = "results/bench.json";
static const char *opt_only;                /* comma-separated row ids      */

/* ------------------------------------------------------------------------ */
/* small helpers                                                            */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts;

    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Error text of the row being measured. */
static char row_err[256];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;

    if (row_err[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(row_err, sizeof row_err, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* watchdog and child bookkeeping                                           */

static volatile pid_t        child_pid;      /* server process of this row */
static volatile sig_atomic_t watchdog_fired;
static int                   row_limit_s;

static void say(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

static void on_alarm(int sig)
{
    (void)sig;
    if (!watchdog_fired) {
        watchdog_fired = 1;
        say("bench: watchdog: row exceeded its time limit, killing its server\n");
        if (child_pid > 0) {
            kill(child_pid, SIGKILL);
        }
        alarm(5);
    } else {
        say("bench: watchdog: still stuck 5 s later, giving up\n");
        if (child_pid > 0) {
            kill(child_pid, SIGKILL);
        }
        _exit(3);
    }
}

static void watchdog_arm(void)
{
    watchdog_fired = 0;
    alarm((unsigned)row_limit_s);
}

static void watchdog_disarm(void)
{
    alarm(0);
}

/* Wait up to `limit` seconds for `pid` to exit, then SIGKILL it.  Always
 * reaps.  Returns the wait status, or -1 if it had to be killed. */
static int reap(pid_t pid, double limit)
{
    double deadline = now_s() + limit;
    int    st = 0;
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
    if (child_pid == pid) {
        child_pid = 0;
    }
    return st;
}

static void kill_child_at_exit(void)
{
    if (child_pid > 0) {
        kill(child_pid, SIGKILL);
        waitpid(child_pid, NULL, 0);
        child_pid = 0;
    }
}

/* fork() with the child tied to our lifetime.  Returns like fork(). */
static pid_t fork_child(void)
{
    pid_t parent = getpid();
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        struct sigaction sa;

        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigaction(SIGALRM, &sa, NULL);
        alarm(0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(1);
        }
    } else if (pid > 0) {
        child_pid = pid;
    }
    return pid;
}

/* ------------------------------------------------------------------------ */
/* results                                                                  */

enum { ROW_OK, ROW_SKIPPED, ROW_FAILED };

typedef struct {
    const char *id;
    const char *label;
    const char *kind;           /* "round trip" or "one-way" */
    size_t      bytes;
    int         status;
    char        note[256];
    long        n;
    int         reps;
    double      us[MAX_REPS];   /* per-operation time of each repetition */
    double      median, min, max;
} row_t;

typedef int (*run_fn)(void *ctx, long n);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Warm up, calibrate N, then time opt_reps repetitions of N operations. */
static int measure(row_t *row, run_fn run, void *ctx)
{
    double sorted[MAX_REPS];
    double t0, t = 0, warm = 0, per_op;
    double warm_min = opt_quick ? 0.03 : 0.1;
    long   n = 1, big;
    int    i;

    for (;;) {
        t0 = now_s();
        if (run(ctx, n) != 0) {
            return -1;
        }
        t = now_s() - t0;
        warm += t;
        if (t >= 0.02 && warm >= warm_min) {
            break;
        }
        if (t < 0.001) {
            n *= 16;
        } else {
            big = (long)((double)n * 0.03 / t) + 1;
            n = big > n ? big : n + 1;
        }
        if (n > 100000000L) {
            n = 100000000L;
        }
    }
    per_op = t / (double)n;
    n = (long)(opt_time / per_op);
    if (n < 1) {
        n = 1;
    }
    row->n = n;
    row->reps = opt_reps;
    for (i = 0; i < opt_reps; i++) {
        t0 = now_s();
        if (run(ctx, n) != 0) {
            return -1;
        }
        t = now_s() - t0;
        row->us[i] = t / (double)n * 1e6;
    }
    memcpy(sorted, row->us, sizeof(double) * (size_t)opt_reps);
    qsort(sorted, (size_t)opt_reps, sizeof(double), cmp_double);
    row->min = sorted[0];
    row->max = sorted[opt_reps - 1];
    row->median = opt_reps % 2 ? sorted[opt_reps / 2]
                               : (sorted[opt_reps / 2 - 1] + sorted[opt_reps / 2]) / 2;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the IPC server (runs in a child process or in a thread)                  */

enum { T_PING = 0x2001, T_SYNC = 0x2002, T_QUIT = 0x20FF };

typedef struct {
    uint16_t type;
    uint16_t subtype;
    uint32_t len;               /* T_PING: bytes to reply;  T_SYNC: unused */
    uint32_t seq;               /* T_PING: echoed;  T_SYNC: pulses expected */
    uint32_t pad;
} bench_hdr_t;                  /* 16 bytes: the whole 16-byte message */

/* Serve until T_QUIT.  Returns 0 on a clean quit. */
static int serve(int chid)
{
    unsigned char *buf;
    bench_hdr_t   *h;
    rcvid_t        rcvid, sync_rcvid = 0;
    uint64_t       pulses = 0, sync_target = 0;
    int            rc = -1;

    if (posix_memalign((void **)&buf, 64, MAX_MSG) != 0) {
        return -1;
    }
    h = (bench_hdr_t *)buf;
    for (;;) {
        rcvid = MsgReceive(chid, buf, MAX_MSG, NULL);
        if (rcvid == -1) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "bench server: MsgReceive: %s\n", strerror(errno));
            break;
        }
        if (rcvid == 0) {                       /* a pulse */
            pulses++;
            if (sync_rcvid != 0 && pulses >= sync_target) {
                MsgReply(sync_rcvid, EOK, &pulses, sizeof pulses);
                sync_rcvid = 0;
            }
            continue;
        }
        switch (h->type) {
        case T_PING:
            if (MsgReply(rcvid, EOK, buf, h->len <= MAX_MSG ? h->len : MAX_MSG) == -1) {
                fprintf(stderr, "bench server: MsgReply: %s\n", strerror(errno));
                goto out;
            }
            break;
        case T_SYNC:
            sync_target = h->seq;
            if (pulses >= sync_target) {
                MsgReply(rcvid, EOK, &pulses, sizeof pulses);
            } else {
                sync_rcvid = rcvid;             /* reply when all have arrived */
            }
            break;
        case T_QUIT:
            MsgReply(rcvid, EOK, NULL, 0);
            rc = 0;
            goto out;
        default:
            MsgError(rcvid, EINVAL);
            break;
        }
    }
out:
    free(buf);
    return rc;
}

typedef struct {
    pid_t pid;
    int   chid;
    int   err;
} hello_t;

typedef struct {
    int            coid;
    pid_t          pid;                 /* server process, 0 for a thread */
    pthread_t      thread;
    int            chid;                /* thread server only */
    size_t         bytes;
    unsigned char *sbuf, *rbuf;
    uint32_t       seq;
    uint64_t       pulses_sent;
    uint64_t       eagain;
} ipc_ctx_t;

static int ctx_buffers(ipc_ctx_t *c)
{
    if (posix_memalign((void **)&c->sbuf, 64, MAX_MSG) != 0 ||
        posix_memalign((void **)&c->rbuf, 64, MAX_MSG) != 0) {
        return fail("out of memory");
    }
    memset(c->sbuf, 0x5a, MAX_MSG);
    memset(c->rbuf, 0, MAX_MSG);
    return 0;
}

/* Fork a server process; learn its pid/chid through a pipe; attach to it. */
static int start_server_process(ipc_ctx_t *c)
{
    struct pollfd pfd;
    hello_t       hello;
    int           fds[2];
    ssize_t       r;
    pid_t         pid;

    memset(c, 0, sizeof *c);
    c->coid = -1;
    if (pipe2(fds, O_CLOEXEC) == -1) {
        return fail("pipe: %s", strerror(errno));
    }
    pid = fork_child();
    if (pid == -1) {
        close(fds[0]);
        close(fds[1]);
        return fail("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        hello.pid = getpid();
        hello.chid = ChannelCreate(0);
        hello.err = hello.chid == -1 ? errno : 0;
        r = write(fds[1], &hello, sizeof hello);
        close(fds[1]);
        if (hello.chid == -1 || r != (ssize_t)sizeof hello) {
            _exit(1);
        }
        _exit(serve(hello.chid) == 0 ? 0 : 1);
    }
    close(fds[1]);
    c->pid = pid;

    pfd.fd = fds[0];
    pfd.events = POLLIN;
    if (poll(&pfd, 1, 5000) != 1) {
        close(fds[0]);
        return fail("the server process did not report its channel within 5 s");
    }
    r = read(fds[0], &hello, sizeof hello);
    close(fds[0]);
    if (r != (ssize_t)sizeof hello) {
        return fail("the server process exited before reporting its channel");
    }
    if (hello.chid == -1) {
        return fail("ChannelCreate in the child: %s", strerror(hello.err));
    }
    c->coid = ConnectAttach(ND_LOCAL_NODE, hello.pid, hello.chid, _NTO_SIDE_CHANNEL, 0);
    if (c->coid == -1) {
        return fail("ConnectAttach(pid %d, chid %d): %s",
                    (int)hello.pid, hello.chid, strerror(errno));
    }
    return ctx_buffers(c);
}

static void *server_thread(void *arg)
{
    ipc_ctx_t *c = arg;

    return (void *)(intptr_t)serve(c->chid);
}

static int start_server_thread(ipc_ctx_t *c)
{
    sigset_t all, old;
    int      e;

    memset(c, 0, sizeof *c);
    c->coid = -1;
    c->chid = ChannelCreate(0);
    if (c->chid == -1) {
        return fail("ChannelCreate: %s", strerror(errno));
    }
    /* The watchdog's SIGALRM must land in this (the client) thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    e = pthread_create(&c->thread, NULL, server_thread, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        ChannelDestroy(c->chid);
        c->chid = -1;
        return fail("pthread_create: %s", strerror(e));
    }
    c->coid = ConnectAttach(ND_LOCAL_NODE, 0, c->chid, _NTO_SIDE_CHANNEL, 0);
    if (c->coid == -1) {
        return fail("ConnectAttach(self, chid %d): %s", c->chid, strerror(errno));
    }
    return ctx_buffers(c);
}

/* Send T_QUIT (if connected), then reap the process / join the thread. */
static int stop_server(ipc_ctx_t *c, int is_thread)
{
    bench_hdr_t q;
    int         ok = 0, connected = c->coid != -1;

    if (c->coid != -1 && !watchdog_fired) {
        memset(&q, 0, sizeof q);
        q.type = T_QUIT;
        if (MsgSend(c->coid, &q, sizeof q, NULL, 0) == -1) {
            ok = fail("quit message: %s", strerror(errno));
        }
    }
    if (c->coid != -1 && ConnectDetach(c->coid) == -1) {
        ok = fail("ConnectDetach: %s", strerror(errno));
    }
    c->coid = -1;
    if (is_thread) {
        if (c->chid > 0 && !connected) {
            ChannelDestroy(c->chid);            /* wakes the blocked receiver */
        }
        if (c->chid > 0) {
            struct timespec ts;
            void           *res;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 5;
            if (pthread_timedjoin_np(c->thread, &res, &ts) != 0) {
                ok = fail("server thread did not finish within 5 s");
                pthread_detach(c->thread);
            } else if (connected && ChannelDestroy(c->chid) == -1) {
                ok = fail("ChannelDestroy: %s", strerror(errno));
            }
        }
    } else if (c->pid > 0) {
        int st = reap(c->pid, 5.0);

        if (st == -1) {
            ok = fail("server process did not exit within 5 s (killed)");
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            ok = fail("server process ended badly (status %#x)", st);
        }
    }
    free(c->sbuf);
    free(c->rbuf);
    c->sbuf = c->rbuf = NULL;
    return ok;
}

/* MsgSend / MsgReceive / MsgReply round trips of c->bytes each way. */
static int rt_run(void *vc, long n)
{
    ipc_ctx_t   *c = vc;
    bench_hdr_t *sh = (bench_hdr_t *)c->sbuf;
    bench_hdr_t *rh = (bench_hdr_t *)c->rbuf;
    long         i, r;

    sh->type = T_PING;
    sh->len = (uint32_t)c->bytes;
    for (i = 0; i < n; i++) {
        sh->seq = ++c->seq;
        r = MsgSend(c->coid, c->sbuf, c->bytes, c->rbuf, c->bytes);
        if (r != 0) {
            if (r == -1) {
                return fail("MsgSend(%zu bytes): %s", c->bytes, strerror(errno));
            }
            return fail("MsgSend returned %ld, expected EOK", r);
        }
        if (rh->seq != c->seq) {
            return fail("reply carries seq %u, expected %u", rh->seq, c->seq);
        }
    }
    if (c->bytes >= 2 * sizeof *rh && c->rbuf[c->bytes - 1] != 0x5a) {
        return fail("reply payload corrupted");
    }
    return 0;
}

/* n one-way pulses, then one message that the server answers only after all
 * pulses sent so far have been received. */
static int pulse_run(void *vc, long n)
{
    ipc_ctx_t  *c = vc;
    bench_hdr_t s;
    uint64_t    got = 0;
    long        i, r;

    for (i = 0; i < n; i++) {
        while (MsgSendPulse(c->coid, PULSE_PRIO, PULSE_CODE, (int)i) == -1) {
            if (errno == EAGAIN) {              /* queue full: let it drain */
                c->eagain++;
                sched_yield();
                continue;
            }
            return fail("MsgSendPulse: %s", strerror(errno));
        }
        c->pulses_sent++;
    }
    memset(&s, 0, sizeof s);
    s.type = T_SYNC;
    s.seq = (uint32_t)c->pulses_sent;
    r = MsgSend(c->coid, &s, sizeof s, &got, sizeof got);
    if (r != 0) {
        return r == -1 ? fail("sync MsgSend: %s", strerror(errno))
                       : fail("sync MsgSend returned %ld", r);
    }
    if (got < c->pulses_sent) {
        return fail("server counted %llu pulses, %llu were sent",
                    (unsigned long long)got, (unsigned long long)c->pulses_sent);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the rows                                                                 */

static void bench_ipc(row_t *row, int in_thread)
{
    ipc_ctx_t c;
    int       ok;

    watchdog_arm();
    ok = in_thread ? start_server_thread(&c) : start_server_process(&c);
    if (ok == 0) {
        c.bytes = row->bytes;
        ok = measure(row, rt_run, &c);
    }
    if (stop_server(&c, in_thread) != 0 && ok == 0) {
        ok = -1;
    }
    watchdog_disarm();
    row->status = ok == 0 ? ROW_OK : ROW_FAILED;
}

static void bench_pulses(row_t *row)
{
    ipc_ctx_t c;
    int       ok;

    watchdog_arm();
    ok = start_server_process(&c);
    if (ok == 0) {
        /* probe: pulses may not be implemented yet */
        if (MsgSendPulse(c.coid, PULSE_PRIO, PULSE_CODE, -1) == -1) {
            if (errno == ENOSYS) {
                row->status = ROW_SKIPPED;
                snprintf(row->note, sizeof row->note, "not yet supported (ENOSYS)");
                printf("pulses: not yet supported\n");
                stop_server(&c, 0);
                watchdog_disarm();
                return;
            }
            ok = fail("MsgSendPulse: %s", strerror(errno));
        } else {
            c.pulses_sent = 1;
        }
    }
    if (ok == 0) {
        ok = measure(row, pulse_run, &c);
    }
    if (ok == 0 && c.eagain) {
        snprintf(row->note, sizeof row->note,
                 "sender saw EAGAIN %llu times (queue full)", (unsigned long long)c.eagain);
    }
    if (stop_server(&c, 0) != 0 && ok == 0) {
        ok = -1;
    }
    watchdog_disarm();
    row->status = ok == 0 ? ROW_OK : ROW_FAILED;
}

/* --- baseline: SOCK_SEQPACKET ping-pong between two processes ----------- */

typedef struct {
    int fd;
} sock_ctx_t;

static int sock_run(void *vc, long n)
{
    sock_ctx_t *c = vc;
    char        buf[16] = "ping-pong-16byte";
    long        i;

    for (i = 0; i < n; i++) {
        if (write(c->fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
            return fail("socket write: %s", strerror(errno));
        }
        if (read(c->fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
            return fail("socket read: %s", strerror(errno));
        }
    }
    return 0;
}

static void bench_socket(row_t *row)
{
    sock_ctx_t c;
    int        sv[2], ok, st;
    pid_t      pid;

    watchdog_arm();
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
        fail("socketpair: %s", strerror(errno));
        row->status = ROW_FAILED;
        watchdog_disarm();
        return;
    }
    pid = fork_child();
    if (pid == 0) {
        char    buf[16];
        ssize_t r;

        close(sv[0]);
        while ((r = read(sv[1], buf, sizeof buf)) > 0) {
            if (write(sv[1], buf, (size_t)r) != r) {
                _exit(1);
            }
        }
        _exit(r == 0 ? 0 : 1);
    }
    close(sv[1]);
    if (pid == -1) {
        close(sv[0]);
        fail("fork: %s", strerror(errno));
        row->status = ROW_FAILED;
        watchdog_disarm();
        return;
    }
    c.fd = sv[0];
    ok = measure(row, sock_run, &c);
    close(sv[0]);                               /* EOF ends the child */
    st = reap(pid, 5.0);
    if (ok == 0 && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
        ok = fail("socket echo process ended badly");
    }
    watchdog_disarm();
    row->status = ok == 0 ? ROW_OK : ROW_FAILED;
}

/* --- floor: two processes ping-ponging one shared cache line ------------ */

#define SPIN_QUIT UINT64_MAX

typedef struct {
    volatile uint64_t *word;
    uint64_t           v;
} spin_ctx_t;

static uint64_t spin_wait_change(volatile uint64_t *w, uint64_t old)
{
    uint64_t x;
    unsigned spins = 0;

    while ((x = __atomic_load_n(w, __ATOMIC_ACQUIRE)) == old) {
        cpu_relax();
        /* Never livelock when both ends share one CPU: yield now and then. */
        if (++spins == (1u << 16)) {
            spins = 0;
            sched_yield();
            if (watchdog_fired) {
                return old;
            }
        }
    }
    return x;
}

static int spin_run(void *vc, long n)
{
    spin_ctx_t *c = vc;
    long        i;

    for (i = 0; i < n; i++) {
        c->v++;                                 /* odd: our turn is over */
        __atomic_store_n(c->word, c->v, __ATOMIC_RELEASE);
        if (spin_wait_change(c->word, c->v) != c->v + 1) {
            return fail(watchdog_fired ? "spin partner stopped answering"
                                       : "spin protocol broken");
        }
        c->v++;
    }
    return 0;
}

static void bench_spin(row_t *row)
{
    spin_ctx_t c;
    void      *map;
    pid_t      pid;
    int        ok, st;

    watchdog_arm();
    map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        fail("mmap: %s", strerror(errno));
        row->status = ROW_FAILED;
        watchdog_disarm();
        return;
    }
    c.word = map;
    c.v = 0;
    *c.word = 0;
    pid = fork_child();
    if (pid == 0) {
        uint64_t seen = 0, x;

        for (;;) {
            x = spin_wait_change(c.word, seen);
            if (x == SPIN_QUIT) {
                _exit(0);
            }
            if (x & 1) {
                __atomic_store_n(c.word, x + 1, __ATOMIC_RELEASE);
                seen = x + 1;
            } else {
                seen = x;
            }
        }
    }
    if (pid == -1) {
        fail("fork: %s", strerror(errno));
        munmap(map, 4096);
        row->status = ROW_FAILED;
        watchdog_disarm();
        return;
    }
    ok = measure(row, spin_run, &c);
    __atomic_store_n(c.word, SPIN_QUIT, __ATOMIC_RELEASE);
    st = reap(pid, 5.0);
    if (ok == 0 && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
        ok = fail("spin partner ended badly");
    }
    munmap(map, 4096);
    watchdog_disarm();
    row->status = ok == 0 ? ROW_OK : ROW_FAILED;
}

/* ------------------------------------------------------------------------ */
/* output                                                                   */

enum { R_PROC16, R_THREAD16, R_PROC1K, R_PROC64K, R_PULSE, R_SOCKET, R_SPIN, NROWS };

#define ROW(i, l, k, b) { .id = (i), .label = (l), .kind = (k), .bytes = (b) }

static row_t rows[NROWS] = {
    [R_PROC16]   = ROW("msg_rt_process_16", "MsgSend round trip, 2 processes", "round trip", 16),
    [R_THREAD16] = ROW("msg_rt_thread_16", "MsgSend round trip, 2 threads", "round trip", 16),
    [R_PROC1K]   = ROW("msg_rt_process_1k", "MsgSend round trip, 2 processes", "round trip", 1024),
    [R_PROC64K]  = ROW("msg_rt_process_64k", "MsgSend round trip, 2 processes", "round trip", 65536),
    [R_PULSE]    = ROW("pulse_oneway_process", "MsgSendPulse one-way, 2 processes", "one-way",
                       sizeof(struct _pulse)),
    [R_SOCKET]   = ROW("socket_seqpacket_16", "baseline: SOCK_SEQPACKET ping-pong", "round trip", 16),
    [R_SPIN]     = ROW("spin_floor", "floor: shared-memory spin ping-pong", "round trip", 8),
};

static int ratio(const row_t *r, const row_t *base, double *out)
{
    if (r->status != ROW_OK || base->status != ROW_OK || base->median <= 0) {
        return 0;
    }
    *out = r->median / base->median;
    return 1;
}

static void print_table(int ncpu)
{
    double x;
    int    i;

    printf("\nlibneutrino IPC benchmark: %d CPU(s), %d repetitions of ~%.2f s per row%s\n",
           ncpu, opt_reps, opt_time, opt_quick ? " (--quick)" : "");
    printf("times are per operation in microseconds; ratios use the medians\n\n");
    printf("%-36s %6s %10s %10s %10s %10s %9s %9s\n",
           "row", "bytes", "N/rep", "median_us", "min_us", "max_us", "x_socket", "x_spin");
    printf("%-36s %6s %10s %10s %10s %10s %9s %9s\n",
           "------------------------------------", "------", "----------", "----------",
           "----------", "----------", "---------", "---------");
    for (i = 0; i < NROWS; i++) {
        const row_t *r = &rows[i];

        printf("%-36s %6zu ", r->label, r->bytes);
        if (r->status != ROW_OK) {
            printf("%s: %s\n", r->status == ROW_SKIPPED ? "skipped" : "FAILED", r->note);
            continue;
        }
        printf("%10ld %10.3f %10.3f %10.3f ", r->n, r->median, r->min, r->max);
        if (ratio(r, &rows[R_SOCKET], &x)) {
            printf("%9.3f ", x);
        } else {
            printf("%9s ", "-");
        }
        if (ratio(r, &rows[R_SPIN], &x)) {
            printf("%9.1f", x);
        } else {
            printf("%9s", "-");
        }
        if (r->note[0]) {
            printf("  (%s)", r->note);
        }
        printf("\n");
    }
    printf("\nx_socket < 1: faster than a Unix-socket round trip; "
           "x_spin: how far above the shared-memory floor.\n");
    printf("The pulse row is one-way (one pulse), all other rows are full round trips.\n");
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fprintf(f, "\\%c", *s);
        } else if ((unsigned char)*s < 0x20) {
            fprintf(f, "\\u%04x", (unsigned char)*s);
        } else {
            fputc(*s, f);
        }
    }
    fputc('"', f);
}

static int mkdir_parents(const char *path)
{
    char  buf[4096];
    char *p;

    if (strlen(path) >= sizeof buf) {
        return -1;
    }
    strcpy(buf, path);
    p = strrchr(buf, '/');
    if (p == NULL || p == buf) {
        return 0;
    }
    *p = '\0';
    for (p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) == -1 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0777) == -1 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

static int write_json(const char *path, int ncpu, const struct utsname *un)
{
    FILE  *f;
    double x;
    int    i, j;

    if (mkdir_parents(path) == -1) {
        fprintf(stderr, "bench: cannot create the folder of %s: %s\n", path, strerror(errno));
        return -1;
    }
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"benchmark\": \"libneutrino-ipc\",\n  \"unit\": \"us_per_op\",\n");
    fprintf(f, "  \"cpus\": %d,\n  \"kernel\": ", ncpu);
    json_str(f, un->release);
    fprintf(f, ",\n  \"machine\": ");
    json_str(f, un->machine);
    fprintf(f, ",\n  \"quick\": %s,\n  \"reps\": %d,\n  \"seconds_per_rep\": %.3f,\n",
            opt_quick ? "true" : "false", opt_reps, opt_time);
    fprintf(f, "  \"rows\": [\n");
    for (i = 0; i < NROWS; i++) {
        const row_t *r = &rows[i];

        fprintf(f, "    {\"id\": ");
        json_str(f, r->id);
        fprintf(f, ", \"label\": ");
        json_str(f, r->label);
        fprintf(f, ", \"kind\": ");
        json_str(f, r->kind);
        fprintf(f, ", \"bytes\": %zu, \"status\": \"%s\"", r->bytes,
                r->status == ROW_OK ? "ok" : r->status == ROW_SKIPPED ? "skipped" : "failed");
        if (r->note[0]) {
            fprintf(f, ", \"note\": ");
            json_str(f, r->note);
        }
        if (r->status == ROW_OK) {
            fprintf(f, ",\n     \"n_per_rep\": %ld, \"median_us\": %.4f, \"min_us\": %.4f, "
                    "\"max_us\": %.4f", r->n, r->median, r->min, r->max);
            fprintf(f, ", \"ratio_socket\": ");
            if (ratio(r, &rows[R_SOCKET], &x)) {
                fprintf(f, "%.4f", x);
            } else {
                fprintf(f, "null");
            }
            fprintf(f, ", \"ratio_spin\": ");
            if (ratio(r, &rows[R_SPIN], &x)) {
                fprintf(f, "%.4f", x);
            } else {
                fprintf(f, "null");
            }
            fprintf(f, ",\n     \"samples_us\": [");
            for (j = 0; j < r->reps; j++) {
                fprintf(f, "%s%.4f", j ? ", " : "", r->us[j]);
            }
            fprintf(f, "]");
        }
        fprintf(f, "}%s\n", i + 1 < NROWS ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "bench: writing %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--quick] [--json PATH] [--reps N] [--time SECONDS] [--only IDS]\n"
            "  --quick        3 repetitions of ~0.05 s (smoke run)\n"
            "  --json PATH    where to write the JSON results (default results/bench.json)\n"
            "  --reps N       repetitions per row (default 7, max %d)\n"
            "  --time S       target seconds per repetition (default 0.2)\n"
            "  --only IDS     run only these rows (comma-separated ids:\n"
            "                 msg_rt_process_16, msg_rt_thread_16, msg_rt_process_1k,\n"
            "                 msg_rt_process_64k, pulse_oneway_process,\n"
            "                 socket_seqpacket_16, spin_floor)\n",
            argv0, MAX_REPS);
}

static int selected(const char *id)
{
    const char *p = opt_only;
    size_t      n = strlen(id);

    if (p == NULL) {
        return 1;
    }
    while ((p = strstr(p, id)) != NULL) {
        if ((p == opt_only || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) {
            return 1;
        }
        p += n;
    }
    return 0;
}

static void run_row(int idx)
{
    row_t *r = &rows[idx];

    if (!selected(r->id)) {
        r->status = ROW_SKIPPED;
        snprintf(r->note, sizeof r->note, "not selected (--only)");
        return;
    }

    fprintf(stderr, "bench: %s (%zu bytes) ...", r->label, r->bytes);
    row_err[0] = '\0';
    switch (idx) {
    case R_PROC16:
    case R_PROC1K:
    case R_PROC64K:
        bench_ipc(r, 0);
        break;
    case R_THREAD16:
        bench_ipc(r, 1);
        break;
    case R_PULSE:
        bench_pulses(r);
        break;
    case R_SOCKET:
        bench_socket(r);
        break;
    case R_SPIN:
        bench_spin(r);
        break;
    }
    if (r->status == ROW_FAILED) {
        if (watchdog_fired) {
            snprintf(r->note, sizeof r->note, "hung: no result within %d s, server killed; "
                     "then %s", row_limit_s, row_err[0] ? row_err : "unknown error");
        } else {
            snprintf(r->note, sizeof r->note, "%s", row_err[0] ? row_err : "unknown error");
        }
        fprintf(stderr, " FAILED: %s\n", r->note);
    } else if (r->status == ROW_SKIPPED) {
        fprintf(stderr, " skipped: %s\n", r->note);
    } else {
        fprintf(stderr, " %.3f us\n", r->median);
    }
}

int main(int argc, char **argv)
{
    static const int order[] = { R_SOCKET, R_SPIN, R_PROC16, R_THREAD16,
                                 R_PROC1K, R_PROC64K, R_PULSE };
    struct sigaction sa;
    struct utsname   un;
    cpu_set_t        set;
    int              i, ncpu, failed = 0, reps_set = 0, time_set = 0;
    char           **e;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            opt_quick = 1;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            opt_json = argv[++i];
        } else if (strncmp(argv[i], "--json=", 7) == 0) {
            opt_json = argv[i] + 7;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            opt_only = argv[++i];
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            opt_reps = atoi(argv[++i]);
            reps_set = 1;
        } else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
            opt_time = atof(argv[++i]);
            time_set = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(argv[0]);
            return 0;
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (opt_quick) {
        if (!reps_set) {
            opt_reps = 3;
        }
        if (!time_set) {
            opt_time = 0.05;
        }
    }
    if (opt_reps < 1 || opt_reps > MAX_REPS || !(opt_time > 0 && opt_time <= 10)) {
        usage(argv[0]);
        return 2;
    }
    row_limit_s = 10 + (int)(opt_reps * opt_time * 3);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);              /* no SA_RESTART: interrupt */
    signal(SIGPIPE, SIG_IGN);
    atexit(kill_child_at_exit);

    ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        ncpu = CPU_COUNT(&set);
    }
    uname(&un);
    fprintf(stderr, "bench: %s %s, %d usable CPU(s)\n", un.release, un.machine, ncpu);
    for (e = environ; *e; e++) {
        if (strncmp(*e, "NEUTRINO", 8) == 0 || strncmp(*e, "LIBNEUTRINO", 11) == 0) {
            fprintf(stderr, "bench: env %s\n", *e);
        }
    }
    if (ncpu < 2) {
        fprintf(stderr, "bench: warning: only one usable CPU; the spin floor and any "
                        "spinning IPC path will look bad\n");
    }

    for (i = 0; i < (int)(sizeof order / sizeof order[0]); i++) {
        run_row(order[i]);
        if (rows[order[i]].status == ROW_FAILED) {
            failed++;
        }
    }

    print_table(ncpu);
    if (write_json(opt_json, ncpu, &un) == 0) {
        printf("\nJSON written to %s\n", opt_json);
    } else {
        failed++;
    }
    fflush(stdout);
    return failed ? 1 : 0;
}
