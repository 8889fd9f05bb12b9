/*
 * ipc.c - the rows that measure libneutrino: round trips between processes and between
 * threads, 1 MiB sends, one-way pulses, 64 clients on one server, 1000 idle connections,
 * an idle server, and round trips with everything pinned to one CPU.
 */
#include "bench.h"

#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#ifndef _PULSE_CODE_MINAVAIL
#define _PULSE_CODE_MINAVAIL 0
#endif
#define PULSE_PRIO 10
#define PULSE_CODE (_PULSE_CODE_MINAVAIL + 1)

enum { T_PING = 0x2001, T_SYNC = 0x2002, T_BULK = 0x2003, T_QUIT = 0x20FF };

typedef struct {
    uint16_t type;
    uint16_t subtype;
    uint32_t len;               /* T_PING: bytes to reply */
    uint32_t seq;               /* T_PING: echoed; T_SYNC: pulses expected */
    uint32_t pad;
} bench_hdr_t;                  /* 16 bytes: the whole 16-byte message */

/* --- the many-clients row's shared state -------------------------------- */

#define MC_PROCS   8
#define MC_THREADS 8
#define MC_SEEN    8
#define STARVED    0.1          /* a thread below this share of the mean starves */
enum { GATE_OPEN, GATE_CLOSED, GATE_ONE };      /* GATE_ONE: only receiver 0 runs */

typedef struct {
    _Alignas(64) uint64_t n;
} counter_t;

typedef struct {
    int       stop, gate, parked, ready, failed, nseen;
    int       seen[MC_SEEN];    /* priorities of the first messages under GATE_ONE */
    counter_t count[MC_PROCS * MC_THREADS];
} mc_t;

#define LOAD(p)     __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define ADD(p, v)   __atomic_add_fetch(p, v, __ATOMIC_ACQ_REL)

/* --- the server ----------------------------------------------------------- */

/* Serves until T_QUIT. With `m` (the many-clients row) it is one of two receiving
 * threads, `me`, that stop at m->gate before each MsgReceive. */
static int serve(int chid, mc_t *m, int me)
{
    struct _msg_info info;
    unsigned char   *buf;
    bench_hdr_t     *h;
    rcvid_t          rcvid, sync_rcvid = 0;
    uint64_t         pulses = 0, sync_target = 0;
    uint32_t         tail;
    int              rc = -1, g, parked = 0, k;

    if (posix_memalign((void **)&buf, 64, BULK) != 0) {
        return -1;
    }
    h = (bench_hdr_t *)buf;
    for (;;) {
        while (m && ((g = LOAD(&m->gate)) == GATE_CLOSED || (g == GATE_ONE && me != 0))) {
            if (!parked) {
                parked = 1;
                ADD(&m->parked, 1);
            }
            sleep_s(0.0002);
        }
        if (m && parked) {
            parked = 0;
            ADD(&m->parked, -1);
        }
        rcvid = MsgReceive(chid, buf, BULK, m ? &info : NULL);
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
            if (m && LOAD(&m->gate) == GATE_ONE && (k = m->nseen) < MC_SEEN) {
                m->seen[k] = info.priority;
                STORE(&m->nseen, k + 1);
            }
            if (MsgReply(rcvid, EOK, buf, h->len <= MAX_MSG ? h->len : MAX_MSG) == -1) {
                fprintf(stderr, "bench server: MsgReply: %s\n", strerror(errno));
                goto out;
            }
            break;
        case T_BULK:                            /* the status proves the tail arrived */
            memcpy(&tail, buf + BULK - sizeof tail, sizeof tail);
            MsgReply(rcvid, (long)tail, NULL, 0);
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
            if (m) {
                _exit(0);                       /* the other receiver may be blocked */
            }
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
    int            chid;
    pthread_t      thread;
    size_t         bytes;
    unsigned char *sbuf, *rbuf;
    uint32_t       seq;
    uint64_t       pulses_sent, eagain;
} ipc_ctx_t;

typedef struct {
    int   chid;
    mc_t *m;
} receiver_t;

static void *second_receiver(void *arg)
{
    receiver_t *r = arg;

    serve(r->chid, r->m, 1);
    return NULL;
}

static int ctx_buffers(ipc_ctx_t *c)
{
    if (posix_memalign((void **)&c->sbuf, 64, BULK) != 0 ||
        posix_memalign((void **)&c->rbuf, 64, MAX_MSG) != 0) {
        return fail("out of memory");
    }
    memset(c->sbuf, 0x5a, BULK);
    memset(c->rbuf, 0, MAX_MSG);
    return 0;
}

/* Forks a server process (with `m`: two receiving threads), learns its pid and chid
 * through a pipe, and attaches to it. */
static int start_server_process(ipc_ctx_t *c, mc_t *m)
{
    struct pollfd pfd;
    hello_t       hello;
    pthread_t     t;
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
        if (m) {
            static receiver_t second;

            second.chid = hello.chid;
            second.m = m;
            if (pthread_create(&t, NULL, second_receiver, &second) != 0) {
                _exit(1);
            }
        }
        _exit(serve(hello.chid, m, 0) == 0 ? 0 : 1);
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
    c->chid = hello.chid;
    c->coid = ConnectAttach(ND_LOCAL_NODE, hello.pid, hello.chid, _NTO_SIDE_CHANNEL, 0);
    if (c->coid == -1) {
        return fail("ConnectAttach(pid %d, chid %d): %s", (int)hello.pid, hello.chid,
                    strerror(errno));
    }
    return ctx_buffers(c);
}

static void *server_thread(void *arg)
{
    ipc_ctx_t *c = arg;

    return (void *)(intptr_t)serve(c->chid, NULL, 0);
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

/* Sends T_QUIT (if connected), then reaps the process or joins the thread. */
static int stop_server(ipc_ctx_t *c)
{
    bench_hdr_t q;
    int         ok = 0, connected = c->coid != -1;

    if (connected && !watchdog_fired) {
        memset(&q, 0, sizeof q);
        q.type = T_QUIT;
        if (MsgSend(c->coid, &q, sizeof q, NULL, 0) == -1) {
            ok = fail("quit message: %s", strerror(errno));
        }
    }
    if (connected && ConnectDetach(c->coid) == -1) {
        ok = fail("ConnectDetach: %s", strerror(errno));
    }
    c->coid = -1;
    if (c->pid > 0) {
        if (reap_ok(c->pid, "server process") != 0) {
            ok = -1;
        }
    } else if (c->chid > 0) {
        struct timespec ts;
        void           *res;

        if (!connected) {
            ChannelDestroy(c->chid);            /* wakes the blocked receiver */
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 5;
        if (pthread_timedjoin_np(c->thread, &res, &ts) != 0) {
            ok = fail("server thread did not finish within 5 s");
            pthread_detach(c->thread);
        } else if (connected && ChannelDestroy(c->chid) == -1) {
            ok = fail("ChannelDestroy: %s", strerror(errno));
        }
    }
    free(c->sbuf);
    free(c->rbuf);
    c->sbuf = c->rbuf = NULL;
    return ok;
}

/* MsgSend / MsgReceive / MsgReply round trips of c->bytes each way. */
static int rt_run(void *vc, long n, uint32_t *lat)
{
    ipc_ctx_t   *c = vc;
    bench_hdr_t *sh = (bench_hdr_t *)c->sbuf;
    bench_hdr_t *rh = (bench_hdr_t *)c->rbuf;
    uint64_t     t0 = 0;
    long         i, r;

    sh->type = T_PING;
    sh->len = (uint32_t)c->bytes;
    for (i = 0; i < n; i++) {
        sh->seq = ++c->seq;
        if (lat) {
            t0 = now_ns();
        }
        r = MsgSend(c->coid, c->sbuf, c->bytes, c->rbuf, c->bytes);
        if (lat) {
            lat[i] = (uint32_t)(now_ns() - t0);
        }
        if (r != 0) {
            return r == -1 ? fail("MsgSend(%zu bytes): %s", c->bytes, strerror(errno))
                           : fail("MsgSend returned %ld, expected EOK", r);
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

/* One MsgSend of 1 MiB that the server receives whole, with an empty reply. */
static int bulk_run(void *vc, long n, uint32_t *lat)
{
    ipc_ctx_t   *c = vc;
    bench_hdr_t *sh = (bench_hdr_t *)c->sbuf;
    long         i, r;

    (void)lat;
    sh->type = T_BULK;
    for (i = 0; i < n; i++) {
        uint32_t seq = ++c->seq & 0x7fffffff;

        memcpy(c->sbuf + BULK - sizeof seq, &seq, sizeof seq);
        r = MsgSend(c->coid, c->sbuf, BULK, NULL, 0);
        if (r != (long)seq) {
            return r == -1 ? fail("MsgSend(1 MiB): %s", strerror(errno))
                           : fail("the server saw tail %ld, expected %u", r, seq);
        }
    }
    return 0;
}

/* n one-way pulses, then one message that the server answers only once all pulses
 * sent so far have been received: queued-but-unreceived pulses do not count as done. */
static int pulse_run(void *vc, long n, uint32_t *lat)
{
    ipc_ctx_t  *c = vc;
    bench_hdr_t s;
    uint64_t    got = 0;
    long        i, r;

    (void)lat;
    for (i = 0; i < n; i++) {
        while (MsgSendPulse(c->coid, PULSE_PRIO, PULSE_CODE, (int)i) == -1) {
            if (errno != EAGAIN) {
                return fail("MsgSendPulse: %s", strerror(errno));
            }
            c->eagain++;                        /* queue full: let it drain */
            sched_yield();
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
        return fail("server counted %llu pulses, %llu were sent", (unsigned long long)got,
                    (unsigned long long)c->pulses_sent);
    }
    return 0;
}

/* --- the simple rows ------------------------------------------------------- */

static void run_with(row_t *row, int in_thread, run_fn run)
{
    ipc_ctx_t c;
    int       ok;

    ok = in_thread ? start_server_thread(&c) : start_server_process(&c, NULL);
    if (ok == 0) {
        c.bytes = row->bytes;
        ok = measure(row, run, &c);
    }
    if (stop_server(&c) != 0) {
        ok = -1;
    }
    row_done(row, ok);
}

void run_msg_rt_process(row_t *r)
{
    run_with(r, 0, rt_run);
}

void run_msg_rt_thread(row_t *r)
{
    run_with(r, 1, rt_run);
}

void run_msg_bulk(row_t *r)
{
    run_with(r, 0, bulk_run);
    if (r->status == ROW_OK) {
        fig_add(r, "throughput", (double)BULK / r->median / 1e3, "GB/s");
    }
}

void run_pulses(row_t *row)
{
    ipc_ctx_t c;
    int       ok;

    ok = start_server_process(&c, NULL);
    if (ok == 0) {
        ok = measure(row, pulse_run, &c);
    }
    if (ok == 0 && c.eagain) {
        snprintf(row->note, sizeof row->note, "sender saw EAGAIN %llu times (queue full)",
                 (unsigned long long)c.eagain);
    }
    if (stop_server(&c) != 0) {
        ok = -1;
    }
    row_done(row, ok);
    if (row->status == ROW_OK) {
        fig_add(row, "rate", 1.0 / row->median, "M/s");
    }
}

/* --- 8 client processes x 8 threads, one server with 2 receiving threads ---- */

typedef struct {
    mc_t *m;
    int   coid, index;
} mc_thread_t;

static void *mc_client_thread(void *arg)
{
    mc_thread_t *t = arg;
    bench_hdr_t  s = { .type = T_PING, .len = 16 }, r;
    uint64_t     n = 0;

    while (!LOAD(&t->m->stop)) {
        if (MsgSend(t->coid, &s, sizeof s, &r, sizeof r) != 0) {
            ADD(&t->m->failed, 1);
            break;
        }
        if (n++ == 0) {
            ADD(&t->m->ready, 1);
        }
        __atomic_store_n(&t->m->count[t->index].n, n, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void mc_client(mc_t *m, int proc, pid_t server, int chid)
{
    mc_thread_t t[MC_THREADS];
    pthread_t   th[MC_THREADS];
    int         i, coid = ConnectAttach(ND_LOCAL_NODE, server, chid, _NTO_SIDE_CHANNEL, 0);

    if (coid == -1) {
        ADD(&m->failed, 1);
        _exit(1);
    }
    for (i = 0; i < MC_THREADS; i++) {
        t[i] = (mc_thread_t){ .m = m, .coid = coid, .index = proc * MC_THREADS + i };
        if (pthread_create(&th[i], NULL, mc_client_thread, &t[i]) != 0) {
            ADD(&m->failed, 1);
            _exit(1);
        }
    }
    for (i = 0; i < MC_THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    _exit(LOAD(&m->failed) ? 1 : 0);
}

static int wait_for(int *word, int want, double limit)
{
    double deadline = now_s() + limit;

    while (LOAD(word) < want) {
        if (now_s() > deadline || watchdog_fired) {
            return -1;
        }
        sleep_s(0.001);
    }
    return 0;
}

typedef struct {
    int coid, prio, err;
} probe_t;

static void *probe_thread(void *arg)
{
    probe_t    *p = arg;
    bench_hdr_t s = { .type = T_PING, .len = 16 }, r;

    if (MsgSend(p->coid, &s, sizeof s, &r, sizeof r) != 0) {
        p->err = errno;
    }
    return NULL;
}

/* With both receivers parked and the 64 clients queued at the default priority, sends
 * one message each from real-time threads of priority 12, 15 and 20 (in that order),
 * then lets one receiver go: it must take them 20, 15, 12, and only then the others.
 * Returns 1 (held), 0 (broken), -1 (could not check: no real-time priorities). */
static int mc_priority_check(mc_t *m, int coid, char *why, size_t whylen)
{
    static const int prios[3] = { 12, 15, 20 };
    probe_t          p[3];
    pthread_t        th[3];
    pthread_attr_t   a;
    sigset_t         all, old;
    int              i, e = 0, started = 0, held = 1;

    STORE(&m->gate, GATE_CLOSED);
    if (wait_for(&m->parked, 2, 2.0) != 0) {
        snprintf(why, whylen, "receivers did not park");
        STORE(&m->gate, GATE_OPEN);
        return 0;
    }
    sleep_s(0.02);                              /* every client thread is queued now */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (i = 0; i < 3; i++) {
        struct sched_param sp = { .sched_priority = prios[i] };

        p[i] = (probe_t){ .coid = coid, .prio = prios[i] };
        pthread_attr_init(&a);
        pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
        pthread_attr_setschedpolicy(&a, SCHED_FIFO);
        pthread_attr_setschedparam(&a, &sp);
        e = pthread_create(&th[i], &a, probe_thread, &p[i]);
        pthread_attr_destroy(&a);
        if (e != 0) {
            break;
        }
        started++;
        sleep_s(0.005);                         /* posted before the next one */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    STORE(&m->gate, GATE_ONE);
    if (started == 3 && wait_for(&m->nseen, MC_SEEN, 2.0) != 0) {
        snprintf(why, whylen, "the receiver took fewer than %d messages in 2 s", MC_SEEN);
        held = 0;
    }
    STORE(&m->gate, GATE_OPEN);
    for (i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (p[i].err) {
            snprintf(why, whylen, "probe MsgSend: %s", strerror(p[i].err));
            held = 0;
        }
    }
    if (started < 3) {
        snprintf(why, whylen, "no real-time priorities here (%s): order not checked",
                 strerror(e));
        return -1;
    }
    for (i = 0; held && i < MC_SEEN; i++) {
        int want = i < 3 ? prios[2 - i] : 10;

        if (m->seen[i] != want) {
            snprintf(why, whylen, "message %d received had priority %d, expected %d", i + 1,
                     m->seen[i], want);
            held = 0;
        }
    }
    if (held) {
        snprintf(why, whylen, "received 20, 15, 12, then the queued priority-10 clients");
    }
    return held;
}

void run_many_clients(row_t *row)
{
    ipc_ctx_t c;
    pid_t     cl[MC_PROCS];
    uint64_t  before[MC_PROCS * MC_THREADS], d;
    double    after[MC_PROCS * MC_THREADS];
    double    t0, dt, rep_s, worst_ratio = 1, tmin = 1e30, tmax = 0, pmin_ratio = 1, total;
    char      why[200] = "";
    int       i, j, k, ok, nclients = 0, starved = 0, prio = 0;
    mc_t     *m = mmap(NULL, sizeof(mc_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);

    if (m == MAP_FAILED) {
        row_done(row, fail("mmap: %s", strerror(errno)));
        return;
    }
    memset(m, 0, sizeof *m);
    ok = start_server_process(&c, m);
    for (i = 0; ok == 0 && i < MC_PROCS; i++) {
        cl[i] = fork_child();
        if (cl[i] == 0) {
            mc_client(m, i, c.pid, c.chid);
        }
        if (cl[i] == -1) {
            ok = fail("fork: %s", strerror(errno));
        } else {
            nclients++;
        }
    }
    if (ok == 0 && wait_for(&m->ready, MC_PROCS * MC_THREADS, 10.0) != 0) {
        ok = fail("only %d of %d client threads got going (%d failed)", LOAD(&m->ready),
                  MC_PROCS * MC_THREADS, LOAD(&m->failed));
    }
    rep_s = opt_smoke ? 0.05 : opt_quick ? 0.1 : (opt_time > 0.5 ? opt_time : 0.5);
    if (ok == 0) {
        sleep_s(rep_s / 2);                     /* warm-up */
        row->reps = opt_reps;
        for (i = 0; i < opt_reps && ok == 0; i++) {
            double pmin = 1e30, pmax = 0, mn = 1e30, mx = 0;

            for (j = 0; j < MC_PROCS * MC_THREADS; j++) {
                before[j] = __atomic_load_n(&m->count[j].n, __ATOMIC_RELAXED);
            }
            t0 = now_s();
            sleep_s(rep_s);
            dt = now_s() - t0;
            total = 0;
            for (j = 0; j < MC_PROCS; j++) {
                double p = 0;

                for (k = 0; k < MC_THREADS; k++) {
                    d = __atomic_load_n(&m->count[j * MC_THREADS + k].n, __ATOMIC_RELAXED) -
                        before[j * MC_THREADS + k];
                    after[j * MC_THREADS + k] = (double)d;
                    mn = mn < (double)d ? mn : (double)d;
                    mx = mx > (double)d ? mx : (double)d;
                    p += (double)d;
                }
                pmin = pmin < p ? pmin : p;
                pmax = pmax > p ? pmax : p;
                total += p;
            }
            if (total == 0 || LOAD(&m->failed)) {
                ok = fail("no progress (%d client threads failed)", LOAD(&m->failed));
                break;
            }
            for (j = 0; j < MC_PROCS * MC_THREADS; j++) {
                starved += after[j] < STARVED * total / (MC_PROCS * MC_THREADS);
            }
            row->us[i] = dt * 1e6 / total;
            tmin = tmin < mn / dt ? tmin : mn / dt;
            tmax = tmax > mx / dt ? tmax : mx / dt;
            worst_ratio = worst_ratio < mn / mx ? worst_ratio : mn / mx;
            pmin_ratio = pmin_ratio < pmin / pmax ? pmin_ratio : pmin / pmax;
        }
        row->n = 0;
    }
    if (ok == 0) {
        prio = mc_priority_check(m, c.coid, why, sizeof why);
    }
    STORE(&m->stop, 1);
    for (i = 0; i < nclients; i++) {
        if (reap_ok(cl[i], "client process") != 0) {
            ok = -1;
        }
    }
    if (stop_server(&c) != 0) {
        ok = -1;
    }
    if (ok == 0) {
        row_stats(row);
        fig_add(row, "round_trips_per_s", 1e6 / row->median, "/s");
        fig_add(row, "thread_min_per_s", tmin, "/s");
        fig_add(row, "thread_max_per_s", tmax, "/s");
        fig_add(row, "thread_min_over_max", worst_ratio, "");
        fig_add(row, "process_min_over_max", pmin_ratio, "");
        fig_add(row, "starved_thread_reps", starved, "");
        fig_add(row, "priority_order", prio, prio < 0 ? "not checked" : "1 = held");
        snprintf(row->note, sizeof row->note, "priority order: %s", why);
    }
    row_done(row, ok);
    munmap(m, sizeof *m);
}

/* --- 1000 idle connections ------------------------------------------------ */

#define IDLE_CONNS 1000

typedef struct {
    double rss_kib, pss_kib;
    int    fds;
} mem_t;

static mem_t mem_of(pid_t pid)
{
    char           path[64], line[256];
    mem_t          m = { -1, -1, 0 };
    FILE          *f;
    DIR           *d;
    struct dirent *e;
    double         v;

    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "Rss: %lf kB", &v) == 1) {
            m.rss_kib = v;
        } else if (sscanf(line, "Pss: %lf kB", &v) == 1) {
            m.pss_kib = v;
        }
    }
    if (f) {
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    d = opendir(path);
    while (d && (e = readdir(d)) != NULL) {
        m.fds += e->d_name[0] != '.';
    }
    if (d) {
        closedir(d);
    }
    return m;
}

/* The idle client: one connection (which sets up its side of the library), a report,
 * then IDLE_CONNS more connections of its own (_NTO_COF_NOSHARE), a report, and it
 * stays until its pipe closes. */
static void idle_client(int in, int out, pid_t server, int chid)
{
    char c = 'a';
    int  i;

    for (i = 0; i <= IDLE_CONNS; i++) {
        if (ConnectAttach(ND_LOCAL_NODE, server, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE) == -1) {
            c = 'E';
            break;
        }
        if (i == 0 && (write(out, &c, 1) != 1 || read(in, &c, 1) != 1)) {
            _exit(1);
        }
    }
    c = c == 'E' ? 'E' : 'b';
    if (write(out, &c, 1) != 1) {
        _exit(1);
    }
    while (read(in, &c, 1) > 0) {
    }
    _exit(0);
}

static int idle_report(int fd, char want)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    char          c = 0;

    if (poll(&pfd, 1, 20000) != 1 || read(fd, &c, 1) != 1 || c != want) {
        return fail(c == 'E' ? "the idle client's ConnectAttach failed"
                             : "the idle client did not report");
    }
    return 0;
}

/* Fills this row (the active connection's round trip with the idle ones present) and
 * `msg_rt_idle_before_16` (the same before they were made), and the memory they take. */
void run_idle_conns(row_t *row)
{
    row_t    *before = row_find("msg_rt_idle_before_16");
    ipc_ctx_t c;
    mem_t     s0 = { 0 }, s1 = { 0 }, c0 = { 0 }, c1 = { 0 };
    int       to[2] = { -1, -1 }, from[2] = { -1, -1 }, ok;
    pid_t     pid = -1;
    char      go = 'g';

    ok = start_server_process(&c, NULL);
    c.bytes = row->bytes;
    if (ok == 0) {
        ok = measure(before, rt_run, &c);
        row_done(before, ok);
    }
    if (ok == 0 && (pipe2(to, O_CLOEXEC) == -1 || pipe2(from, O_CLOEXEC) == -1)) {
        ok = fail("pipe: %s", strerror(errno));
    }
    if (ok == 0 && (pid = fork_child()) == 0) {
        close(to[1]);
        close(from[0]);
        idle_client(to[0], from[1], c.pid, c.chid);
    }
    if (ok == 0 && pid == -1) {
        ok = fail("fork: %s", strerror(errno));
    }
    if (ok == 0) {
        ok = idle_report(from[0], 'a');
    }
    if (ok == 0) {
        s0 = mem_of(c.pid);
        c0 = mem_of(pid);
        if (write(to[1], &go, 1) != 1) {
            ok = fail("pipe write: %s", strerror(errno));
        }
    }
    if (ok == 0) {
        ok = idle_report(from[0], 'b');
    }
    if (ok == 0) {
        s1 = mem_of(c.pid);
        c1 = mem_of(pid);
        ok = measure(row, rt_run, &c);
    }
    if (to[1] != -1) {
        close(to[1]);                           /* ends the idle client */
    }
    if (pid > 0 && reap_ok(pid, "idle client") != 0) {
        ok = -1;
    }
    if (stop_server(&c) != 0) {
        ok = -1;
    }
    if (ok == 0 && (s0.pss_kib < 0 || c0.pss_kib < 0)) {
        ok = fail("cannot read /proc/PID/smaps_rollup");
    }
    if (ok == 0) {
        fig_add(row, "idle_connections", IDLE_CONNS, "");
        fig_add(row, "kib_per_conn_pss_both", (s1.pss_kib - s0.pss_kib + c1.pss_kib - c0.pss_kib) /
                IDLE_CONNS, "KiB");
        fig_add(row, "kib_per_conn_rss_server", (s1.rss_kib - s0.rss_kib) / IDLE_CONNS, "KiB");
        fig_add(row, "kib_per_conn_rss_client", (c1.rss_kib - c0.rss_kib) / IDLE_CONNS, "KiB");
        fig_add(row, "fds_per_conn_both", (double)(s1.fds - s0.fds + c1.fds - c0.fds) / IDLE_CONNS,
                "");
        fig_add(row, "rt_before_us", before->median, "us");
    }
    close(to[0]);
    close(from[0]);
    close(from[1]);
    row_done(row, ok);
}

/* --- a server idle in MsgReceive --------------------------------------------- */

/* CPU time (utime + stime, all threads) of `pid` in seconds, and its threads' context
 * switches (how often it woke up). */
static int cpu_of(pid_t pid, double *cpu, double *switches)
{
    char           path[64], buf[1024], *p;
    unsigned long  ut, st, v;
    FILE          *f;
    DIR           *d;
    struct dirent *e;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof buf, f) == NULL) {
        if (f) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    p = strrchr(buf, ')');                      /* the name may hold spaces */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &ut, &st) != 2) {
        return -1;
    }
    *cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    *switches = 0;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    d = opendir(path);
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(buf, sizeof buf, "/proc/%d/task/%s/status", (int)pid, e->d_name);
        f = fopen(buf, "r");
        while (f && fgets(buf, sizeof buf, f)) {
            if (sscanf(buf, "voluntary_ctxt_switches: %lu", &v) == 1 ||
                sscanf(buf, "nonvoluntary_ctxt_switches: %lu", &v) == 1) {
                *switches += (double)v;
            }
        }
        if (f) {
            fclose(f);
        }
    }
    if (d) {
        closedir(d);
    }
    return 0;
}

void run_idle_cpu(row_t *row)
{
    ipc_ctx_t c;
    double    idle_s = opt_smoke ? 0.3 : opt_quick ? 2 : 10, cpu0, cpu1, sw0, sw1, t0, dt;
    int       ok;

    ok = start_server_process(&c, NULL);
    c.bytes = 16;
    if (ok == 0) {
        ok = rt_run(&c, 10, NULL);              /* connected and back in MsgReceive */
    }
    if (ok == 0) {
        sleep_s(0.05);
        t0 = now_s();
        if (cpu_of(c.pid, &cpu0, &sw0) != 0) {
            ok = fail("cannot read /proc/%d/stat", (int)c.pid);
        }
    }
    if (ok == 0) {
        sleep_s(idle_s);
        dt = now_s() - t0;
        if (cpu_of(c.pid, &cpu1, &sw1) != 0) {
            ok = fail("cannot read /proc/%d/stat", (int)c.pid);
        }
    }
    if (ok == 0) {
        ok = rt_run(&c, 1, NULL);               /* and still answers */
    }
    if (stop_server(&c) != 0) {
        ok = -1;
    }
    if (ok == 0) {
        fig_add(row, "idle_seconds", dt, "s");
        fig_add(row, "cpu_percent", (cpu1 - cpu0) / dt * 100, "%");
        fig_add(row, "wakeups_per_s", (sw1 - sw0) / dt, "/s");
    }
    row_done(row, ok);
}

/* --- everything pinned to one CPU ------------------------------------------- */

static const char *const pinned_ids[2] = { "pipe_pinned_16", "msg_rt_pinned_16" };

/* In the exec'd, pinned child: measures both rows and writes them to `fd`. The library
 * decides once per process whether it may spin, so a fresh process is pinned before its
 * first call, as `taskset -c 0 ./program` would do. */
int pinned_child_main(int fd)
{
    child_row_t d;
    int         i;

    for (i = 0; i < 2; i++) {
        row_t *r = row_find(pinned_ids[i]);

        row_err[0] = '\0';
        watchdog_arm(30);
        if (i == 0) {
            run_pipe_rt(r);
        } else {
            run_msg_rt_process(r);
        }
        watchdog_disarm();
        child_row_of(&d, r);
        if (write(fd, &d, sizeof d) != (ssize_t)sizeof d) {
            return 1;
        }
    }
    return 0;
}

/* Fills both pinned rows from a fresh copy of this program pinned to the first usable
 * CPU (its server and echo processes inherit the pinning). */
void run_pinned(row_t *row)
{
    char reps[16], secs[32];
    const char *args[] = { "--reps", reps, "--time", secs, NULL };

    (void)row;
    snprintf(reps, sizeof reps, "%d", opt_reps);
    snprintf(secs, sizeof secs, "%g", opt_time);
    rows_from_pinned_child("--pinned-child", args, pinned_ids, 2);
}

/* --- the other CPUs busy ----------------------------------------------------- */

/* Fills `msg_rt_busy_16` and its baseline `socket_busy_16` while a CPU-bound process
 * runs on every usable CPU but the first: the two ends of each ping-pong then usually
 * share one CPU, where time spent spinning only delays the peer. */
void run_busy(row_t *row)
{
    pid_t     hog[16];
    cpu_set_t set, one;
    int       c, n = 0, first = 1, i, ok = 0;

    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        row_done(row, fail("sched_getaffinity: %s", strerror(errno)));
        return;
    }
    for (c = 0; c < CPU_SETSIZE && n < 16; c++) {
        if (!CPU_ISSET(c, &set)) {
            continue;
        }
        if (first) {
            first = 0;
            continue;
        }
        hog[n] = fork_child();
        if (hog[n] == 0) {
            CPU_ZERO(&one);
            CPU_SET(c, &one);
            sched_setaffinity(0, sizeof one, &one);
            for (;;) {
                __asm__ __volatile__("" ::: "memory");
            }
        }
        if (hog[n] == -1) {
            ok = fail("fork: %s", strerror(errno));
            break;
        }
        n++;
    }
    if (ok == 0 && n == 0) {
        ok = fail("only one usable CPU");
    }
    if (ok == 0) {
        run_socket_rt(row_find("socket_busy_16"));
        run_msg_rt_process(row_find("msg_rt_busy_16"));
    }
    for (i = 0; i < n; i++) {
        kill(hog[i], SIGKILL);
        reap(hog[i], 5.0);
    }
    if (ok != 0) {
        row_done(row_find("socket_busy_16"), ok);
        row_done(row_find("msg_rt_busy_16"), ok);
    }
}
