/*
 * inversion.c - the priority-inversion rows (issue 13): on one CPU, a SCHED_FIFO 50 client
 * sends to a server thread (SCHED_OTHER) that a SCHED_OTHER client keeps busy while a
 * SCHED_FIFO 30 thread spins. With priority inheritance the waiting client raises the
 * server thread above the spinner and waits only for the rest of the other message; with
 * _NTO_CHF_FIXED_PRIORITY it waits as long as the spinner runs. Each row is the high client's
 * round trip: median and p99 over single trials, and the same round trip with nothing else
 * running as the baseline.
 *
 * Bounded: the spinner runs at most SPIN_MAX_US per trial and always stops; between trials
 * nothing real-time runs for GAP_US (Linux's real-time throttling stays untouched); the
 * child process that runs it all is under the row's watchdog and is killed if it hangs.
 */
#include "bench.h"

#include <sys/neutrino.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORK_US    5            /* what the low client's message costs the server */
#define SLEEP_US   200          /* the spinner holds the CPU this long before the high send */
#define SPIN_MAX_US 2000        /* the longest one spin lasts */
#define GAP_US     2000         /* nothing real-time between trials */

enum { I_PING = 0x3001, I_WORK = 0x3002, I_QUIT = 0x30FF };

typedef struct {
    uint32_t type, pad[3];      /* 16 bytes */
} imsg_t;

typedef struct {
    int   chid, coid;
    sem_t entered, l_go, l_done, m_go;
    int   m_stop, quit, failed;
} inv_t;

#define LOAD(p)     __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)

static void busy_us(double us)
{
    uint64_t end = now_ns() + (uint64_t)(us * 1000);

    while (now_ns() < end) {
        cpu_relax();
    }
}

static void *server(void *arg)
{
    inv_t  *v = arg;
    imsg_t  m;
    rcvid_t r;

    for (;;) {
        r = MsgReceive(v->chid, &m, sizeof m, NULL);
        if (r <= 0) {
            if (r < 0) {
                STORE(&v->failed, errno);
                return NULL;
            }
            continue;
        }
        if (m.type == I_WORK) {
            sem_post(&v->entered);
            busy_us(WORK_US);
        }
        MsgReply(r, 0, &m, sizeof m);
        if (m.type == I_QUIT) {
            return NULL;
        }
    }
}

static void *low_client(void *arg)
{
    inv_t *v = arg;
    imsg_t m = { .type = I_WORK };

    while (sem_wait(&v->l_go) == 0 && !LOAD(&v->quit)) {
        if (MsgSend(v->coid, &m, sizeof m, &m, sizeof m) != 0) {
            STORE(&v->failed, errno);
        }
        sem_post(&v->l_done);
    }
    return NULL;
}

static void *spinner(void *arg)
{
    inv_t   *v = arg;
    uint64_t end;

    while (sem_wait(&v->m_go) == 0 && !LOAD(&v->quit)) {
        end = now_ns() + SPIN_MAX_US * 1000ull;
        while (!LOAD(&v->m_stop) && now_ns() < end) {
            cpu_relax();
        }
    }
    return NULL;
}

static int timed_wait(sem_t *s)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 2;
    while (sem_timedwait(s, &ts) != 0) {
        if (errno != EINTR) {
            return fail("a thread of the inversion setup did not answer in 2 s");
        }
    }
    return 0;
}

static void sleep_us(long us)
{
    struct timespec ts = { 0, us * 1000 };

    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void summarize(child_row_t *o, uint64_t *lat, long n)
{
    qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
    o->status = ROW_OK;
    o->n = n;
    o->reps = 1;
    o->min = lat[0] / 1e3;
    o->max = lat[n - 1] / 1e3;
    o->median = lat[n / 2] / 1e3;
    o->p99 = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e3;
    o->us[0] = o->median;
}

static int set_fifo(pthread_t t, int prio)
{
    struct sched_param sp = { .sched_priority = prio };
    int                e = pthread_setschedparam(t, SCHED_FIFO, &sp);

    return e == 0 ? 0 : fail("SCHED_FIFO %d: %s", prio, strerror(e));
}

/* One channel (flags 0 or _NTO_CHF_FIXED_PRIORITY): the unloaded round trip (only with
 * `unloaded`) and the round trip behind the busy server and the spinner. */
static int run_channel(unsigned flags, long trials, child_row_t *unloaded, child_row_t *loaded)
{
    inv_t     v;
    pthread_t ts, tl, tm;
    imsg_t    m = { .type = I_PING };
    uint64_t *lat = calloc((size_t)trials, sizeof *lat), t0;
    int       ok = 0, started = 0;
    long      i;

    memset(&v, 0, sizeof v);
    sem_init(&v.entered, 0, 0), sem_init(&v.l_go, 0, 0), sem_init(&v.l_done, 0, 0);
    sem_init(&v.m_go, 0, 0);
    if (lat == NULL) {
        return fail("out of memory");
    }
    if ((v.chid = ChannelCreate(flags)) == -1 ||
        (v.coid = ConnectAttach(0, 0, v.chid, _NTO_SIDE_CHANNEL, 0)) == -1) {
        free(lat);
        return fail("channel: %s", strerror(errno));
    }
    if (pthread_create(&ts, NULL, server, &v) != 0 || (started++, 0) ||
        pthread_create(&tl, NULL, low_client, &v) != 0 || (started++, 0) ||
        pthread_create(&tm, NULL, spinner, &v) != 0 || (started++, 0)) {
        ok = fail("pthread_create failed");
    }
    if (ok == 0) {
        ok = set_fifo(tm, 30);
    }
    if (ok == 0) {
        ok = set_fifo(pthread_self(), 50);
    }
    for (i = 0; unloaded && ok == 0 && i < trials; i++) {
        sleep_us(GAP_US / 10);
        t0 = now_ns();
        if (MsgSend(v.coid, &m, sizeof m, &m, sizeof m) != 0) {
            ok = fail("MsgSend: %s", strerror(errno));
        }
        lat[i] = now_ns() - t0;
    }
    if (unloaded && ok == 0) {
        summarize(unloaded, lat, trials);
    }
    for (i = 0; ok == 0 && i < trials; i++) {
        STORE(&v.m_stop, 0);
        sem_post(&v.l_go);
        if ((ok = timed_wait(&v.entered)) != 0) {
            break;
        }
        sem_post(&v.m_go);
        sleep_us(SLEEP_US);                     /* the spinner has the CPU, the server waits */
        t0 = now_ns();
        if (MsgSend(v.coid, &m, sizeof m, &m, sizeof m) != 0) {
            ok = fail("MsgSend: %s", strerror(errno));
        }
        lat[i] = now_ns() - t0;
        STORE(&v.m_stop, 1);
        if (ok == 0) {
            ok = timed_wait(&v.l_done);
        }
        sleep_us(GAP_US);
    }
    if (ok == 0 && LOAD(&v.failed)) {
        ok = fail("server or low client: %s", strerror(LOAD(&v.failed)));
    }
    if (ok == 0) {
        summarize(loaded, lat, trials);
    }
    /* Stopping: back to SCHED_OTHER first, then every thread told and woken. */
    {
        struct sched_param sp = { .sched_priority = 0 };

        pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
    }
    STORE(&v.m_stop, 1);
    STORE(&v.quit, 1);
    if (started > 2) {
        sem_post(&v.m_go);
        pthread_join(tm, NULL);
    }
    if (started > 1) {
        sem_post(&v.l_go);
        pthread_join(tl, NULL);
    }
    if (started > 0) {
        m.type = I_QUIT;
        MsgSend(v.coid, &m, sizeof m, &m, sizeof m);
        pthread_join(ts, NULL);
    }
    ConnectDetach(v.coid);
    ChannelDestroy(v.chid);
    free(lat);
    return ok;
}

static const char *const inv_ids[3] = { "inversion_unloaded_16", "inversion_inherit_16",
                                        "inversion_fixed_16" };

/* In the exec'd child pinned to one CPU: the three rows, written to `fd`. */
int inversion_child_main(int fd)
{
    child_row_t o[3];
    long      trials = opt_smoke ? 20 : opt_quick ? 100 : 400;
    int       ok, i;

    memset(o, 0, sizeof o);
    ok = run_channel(0, trials, &o[0], &o[1]);
    if (ok == 0) {
        ok = run_channel(_NTO_CHF_FIXED_PRIORITY, trials, NULL, &o[2]);
    }
    for (i = 0; i < 3; i++) {
        if (ok != 0) {
            o[i].status = ROW_FAILED;
            snprintf(o[i].note, sizeof o[i].note, "%.150s", row_err);
        }
        if (write(fd, &o[i], sizeof o[i]) != (ssize_t)sizeof o[i]) {
            return 1;
        }
    }
    return 0;
}

/* Fills the three rows from a fresh copy of this program pinned to one CPU. Real-time
 * priorities are needed (root, CAP_SYS_NICE or RLIMIT_RTPRIO >= 50): without them the rows
 * are skipped. */
void run_inversion(row_t *row)
{
    static const char *const no_args[] = { NULL };
    struct sched_param       sp = { .sched_priority = 50 };
    int                      i;

    (void)row;
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
        for (i = 0; i < 3; i++) {
            row_t *r = row_find(inv_ids[i]);

            r->status = ROW_SKIPPED;
            snprintf(r->note, sizeof r->note, "no real-time priorities here: %s", strerror(errno));
        }
        return;
    }
    sp.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &sp);
    rows_from_pinned_child("--inversion-child", no_args, inv_ids, 3);
    for (i = 0; i < 3; i++) {
        row_t *r = row_find(inv_ids[i]);

        if (r->status == ROW_OK) {
            fig_add(r, "trials", (double)r->n, "");
        }
    }
}
