/*
 * stress.c - random SIGKILLs of libneutrino clients and servers in the middle of their
 * calls for a fixed time, then proof that nothing hung, leaked, got lost, was duplicated
 * or reached the wrong peer (reference §4.2, §5.5, §6.3, §7.8, §8.4, §8.6).
 *
 *   stress [--seconds N] [--clients N] [--survivors N] [--servers N] [--seed N]
 *
 * Processes (all forked by the coordinator, which itself never calls libneutrino):
 *   S         the surviving server: a main channel (_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK |
 *             _NTO_CHF_COID_DISCONNECT) served by several threads, a "slow" channel that
 *             takes one item per 10 ms (so its clients sit SEND-blocked), a janitor that
 *             replies to held messages and frees disconnected scoids, and a prober that is
 *             itself a client of the victim servers.  Its fds and memory are measured.
 *   clients   killable ones and a few survivors, each with threads that are idle-connected,
 *             sending (some held REPLY-blocked), sending numbered pulses, SEND-blocked on
 *             the slow channel, calling victim servers, attaching/detaching in a loop, and
 *             REPLY-blocked while a sibling signals them (the unblock protocol).
 *   victims   servers with several receiving threads that are killed at random; they are
 *             also clients of S.
 *
 * Everything the processes learn is kept in one MAP_SHARED region, so a SIGKILL loses
 * nothing the checks need.  See stress/README.md for the checks and the output.
 */
#define _GNU_SOURCE 1
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

/* ------------------------------------------------------------------------------------ */
/* Limits and tunables                                                                   */

#define MAX_THREADS 8       /* per client process */
#define MAX_VSLOTS 8        /* victim servers alive at once */
#define S_RECEIVERS 3       /* threads receiving on S's main channel */
#define V_RECEIVERS 3       /* threads receiving on a victim server's channel */
#define MAXPAY 20000        /* largest message payload (beyond the inline part: MsgRead) */
#define INLINE_PAY 4096     /* payload bytes S receives with the header */
#define WIN 8192            /* pulse reordering window per sender (bits): ~2 s of pulses */
#define SCOID_CAP 0x10000   /* scoid indexes (a scoid's low 16 bits) */
#define HELD_CAP 256        /* messages S holds REPLY-blocked at once */
#define LAT_CAP 200000      /* latency samples kept per kind */
#define ZOMBIE_MS 2500      /* S frees a scoid this long after its DISCONNECT */
#define LATE_MS 2000        /* an item handled this soon after its DISCONNECT is a race */
#define HANG_MS 5000        /* a call to a killed server must return within this */
#define S_CALL_MS 15000     /* a call to S (alive) must return within this */
#define SETTLE_MS 15000     /* bound on every end-of-run wait */
#define RSS_TOL_KB 1024     /* S's VmRSS may end this much above its start */
#define MAPS_TOL 2          /* and this many more mappings (none of them memfds) */

#define MAGIC 0x53545253u   /* "STRS" */
#define PULSE_SEQ 7         /* user pulse code: numbered pulse */
#define SEQ_BITS 40

enum role { R_SERVER = 1, R_KILLABLE, R_SURVIVOR, R_VICTIM };
enum op { OP_HELLO = 1, OP_ECHO, OP_HOLD, OP_VECHO };
enum chan { CH_MAIN, CH_SLOW };
enum thread_index { T_IDLE, T_SEND, T_PULSE, T_SLOW, T_VSEND, T_DETACH, T_UNBLOCK, T_KICK };
enum act {
    A_NONE, A_ATTACH, A_IDLE, A_SEND, A_HOLD, A_SLOW, A_PULSE, A_VSEND, A_DETACH, A_UNBLOCK,
    A_SLEEP, A_COUNT
};
static const char *const act_names[A_COUNT] = {
    "none", "attaching", "idle-connected", "MsgSend to S", "REPLY-held by S",
    "MsgSend on S's slow channel", "MsgSendPulse", "MsgSend to a victim server",
    "ConnectDetach", "held by S and signalled", "between calls",
};

/* ------------------------------------------------------------------------------------ */
/* The shared region                                                                     */

struct tstate {
    _Atomic int act;
    _Atomic int target;       /* A_VSEND: the victim server's record */
    _Atomic long long since;  /* ns */
    _Atomic int hang_reported;
};

/* One per process ever spawned. */
struct rec {
    _Atomic int pid;
    _Atomic int role;
    _Atomic int chid;                /* victims: their channel */
    _Atomic int ready;               /* victims: channel created; clients: registrations done */
    _Atomic long long kill_ns;       /* set by the coordinator just before SIGKILL */
    _Atomic int exited;              /* reaped */
    _Atomic long long exit_ns;       /* when it was reaped */
    _Atomic int inflight;            /* client: attaches not yet registered with S */
    _Atomic long long pulses_acked;  /* client: pulses whose MsgSendPulsePtr returned 0 */
    _Atomic int pulse_pending;       /* client: inside MsgSendPulsePtr */
    _Atomic int conns;               /* S: connections (scoids) registered */
    _Atomic int discs;               /* S: DISCONNECTs for them */
    long long next_seq;              /* S, under seq_lock: next pulse number expected */
    uint64_t window[WIN / 64];       /* S, under seq_lock: numbers seen beyond next_seq */
    struct tstate th[MAX_THREADS];
};

struct shared {
    _Atomic int stop;
    _Atomic int failures;
    _Atomic int s_id;                /* S's record */
    _Atomic int s_chid[2];
    _Atomic int s_ready;
    _Atomic int s_live, s_zombies, s_held, s_probe_busy, s_idle;
    _Atomic int vslot[MAX_VSLOTS];   /* record of the victim in each slot, -1: none */
    _Atomic int nrecs;
    int cap;
    /* counters */
    _Atomic long long msgs, pulses, holds, discs, discs_dup, discs_anon, discs_adopted, late_items;
    _Atomic long long unblocks, unblocks_late, unblocks_stale, replies_to_dead;
    _Atomic long long coiddeaths, probe_sessions;
    _Atomic long long c_unblock_eintr, c_unblock_reply, c_vcalls, c_vcalls_after_kill;
    /* latencies in microseconds */
    _Atomic int n_disc_lat, n_vdeath_lat;
    int disc_lat[LAT_CAP];
    int vdeath_lat[LAT_CAP];
    struct rec recs[];
};

static struct shared *sh;
static int my_id = -1;
static pid_t coord_pid;

struct req {
    uint32_t magic;
    int32_t op;
    int32_t client;
    int32_t thread;
    int64_t seq;
    int32_t coid;
    int32_t noshare;
    uint32_t len;
    uint32_t seed;
    int32_t hold_ms;
    int32_t pad;
};

struct rep {
    uint32_t magic;
    int32_t client;
    int32_t thread;
    int32_t pad;
    int64_t seq;
};

/* ------------------------------------------------------------------------------------ */
/* Small helpers                                                                         */

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static __thread uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 0x1234567ull; }

static uint32_t rnd(uint32_t n) /* 0..n-1 */
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return n ? (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 33) % n : 0;
}

static uint64_t base_seed;

static const char *role_name(int role)
{
    switch (role) {
    case R_SERVER: return "server S";
    case R_KILLABLE: return "client";
    case R_SURVIVOR: return "surviving client";
    case R_VICTIM: return "victim server";
    }
    return "?";
}

/* Any process: counts a failure and prints it (the first 60 only), one write per line. */
__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    static _Atomic int printed; /* per process: the first 20 of each, the coordinator all */
    atomic_fetch_add(&sh->failures, 1);
    if (atomic_fetch_add(&printed, 1) >= 20 && my_id >= 0)
        return;
    char msg[10000], out[10200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int role = my_id >= 0 ? atomic_load(&sh->recs[my_id].role) : 0;
    int n = snprintf(out, sizeof out, "stress: FAIL [%s %d, pid %d]: %s\n",
                     my_id >= 0 ? role_name(role) : "coordinator", my_id, (int)getpid(), msg);
    if (n > (int)sizeof out - 1)
        n = (int)sizeof out - 1;
    if (write(2, out, (size_t)n) < 0) {
    }
}

static void pattern(void *buf, size_t n, uint32_t seed)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131u + seed * 7u + (i >> 11)) & 0xff);
}

static long long pattern_diff(const void *buf, size_t n, uint32_t seed)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)((i * 131u + seed * 7u + (i >> 11)) & 0xff))
            return (long long)i;
    return -1;
}

/* Zeroed memory whose every page is resident already (calloc alone maps them lazily). */
static void *touched(size_t n)
{
    volatile char *p = calloc(1, n);
    if (!p)
        abort();
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 0;
    return (void *)p;
}

static void set_act(int th, int act, int target)
{
    struct tstate *t = &sh->recs[my_id].th[th];
    atomic_store(&t->target, target);
    atomic_store(&t->since, now_ns());
    atomic_store(&t->act, act);
}

static void push_lat(_Atomic int *n, int *arr, long long ns)
{
    int i = atomic_fetch_add(n, 1);
    if (i < LAT_CAP)
        arr[i] = (int)(ns / 1000);
}

static int stopping(void) { return atomic_load(&sh->stop); }

static struct rec *rec_of(int id)
{
    return id >= 0 && id < atomic_load(&sh->nrecs) ? &sh->recs[id] : NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Calling a victim server (clients and S's prober): until it dies                      */

/* Builds a request with a random payload after the header; returns its total size. */
static size_t make_req(char *buf, int op, int th, int64_t seq, int coid, uint32_t len)
{
    struct req *q = (struct req *)buf;
    memset(q, 0, sizeof *q);
    q->magic = MAGIC;
    q->op = op;
    q->client = my_id;
    q->thread = th;
    q->seq = seq;
    q->coid = coid;
    q->len = len;
    q->seed = rnd(1u << 30);
    pattern(buf + sizeof *q, len, q->seed);
    return sizeof *q + len;
}

/* Checks a reply to make_req()'s request; 0 if it is the right one. */
static int check_rep(const char *what, long status, const char *in, const struct req *q, int want_pay)
{
    const struct rep *r = (const struct rep *)in;
    long want = (long)(q->seq & 0xffff) + 1;
    if (status != want || r->magic != MAGIC || r->client != q->client || r->thread != q->thread ||
        r->seq != q->seq) {
        fail("%s: reply for client %d thread %d seq %lld (status %ld) to request of client %d "
             "thread %d seq %lld (want status %ld): delivered to the wrong client",
             what, r->client, r->thread, (long long)r->seq, status, q->client, q->thread,
             (long long)q->seq, want);
        return -1;
    }
    if (want_pay) {
        long long d = pattern_diff(in + sizeof *r, q->len, q->seed + 1);
        if (d >= 0) {
            fail("%s: reply payload of %u bytes differs at offset %lld", what, q->len, d);
            return -1;
        }
    }
    return 0;
}

/* Whether errno after a call to victim `vid` is what its death must give. */
static int death_errno(int e) { return e == ESRCH || e == EBADF; }

/* Attaches to victim `vid`; -1 if it is already gone (anything else is a failure). */
static int vattach(int th, int vid, int fd_range)
{
    struct rec *v = rec_of(vid);
    int pid = atomic_load(&v->pid), chid = atomic_load(&v->chid);
    set_act(th, A_ATTACH, vid);
    int coid = ConnectAttach(ND_LOCAL_NODE, pid, chid, fd_range ? 0 : _NTO_SIDE_CHANNEL, 0);
    int e = errno;
    set_act(th, A_SLEEP, -1);
    if (coid == -1 && !(e == ESRCH && atomic_load(&v->kill_ns)))
        fail("ConnectAttach to victim %d (pid %d, chid %d): %s", vid, pid, chid, strerror(e));
    return coid;
}

/*
 * Calls victim `vid` on coid until it dies; the call that was in progress at the SIGKILL
 * must fail with ESRCH or EBADF within HANG_MS, and its latency is recorded.
 */
static void vcall_until_death(int th, int vid, int coid, char *out, char *in)
{
    struct rec *v = rec_of(vid);
    for (int64_t seq = 1;; seq++) {
        uint32_t len = rnd(8) == 0 ? rnd(MAXPAY) : rnd(256);
        size_t n = make_req(out, OP_VECHO, th, seq, coid, len);
        const struct req *q = (const struct req *)out;
        set_act(th, A_VSEND, vid);
        long long t0 = atomic_load(&sh->recs[my_id].th[th].since);
        long st = MsgSend(coid, out, n, in, sizeof(struct rep) + len);
        int e = errno;
        long long t1 = now_ns();
        set_act(th, A_SLEEP, -1);
        atomic_fetch_add(&sh->c_vcalls, 1);
        if (st != -1) {
            check_rep("victim call", st, in, q, 1);
            if (rnd(4) == 0)
                sleep_us(rnd(2000));
            continue;
        }
        long long k = atomic_load(&v->kill_ns);
        if (!death_errno(e) || !k) {
            fail("MsgSend to victim %d (pid %d, %s): %s%s", vid, atomic_load(&v->pid),
                 k ? "killed" : "alive", strerror(e),
                 death_errno(e) ? "" : " (want ESRCH or EBADF)");
            return;
        }
        if (t0 < k) {
            push_lat(&sh->n_vdeath_lat, sh->vdeath_lat, t1 - k);
            if (t1 - k > (long long)HANG_MS * 1000000)
                fail("MsgSend to killed victim %d returned %lld ms after the SIGKILL", vid,
                     (t1 - k) / 1000000);
        } else {
            atomic_fetch_add(&sh->c_vcalls_after_kill, 1);
        }
        return;
    }
}

/* A random victim that has announced its channel, or -1. */
static int pick_victim(void)
{
    int start = (int)rnd(MAX_VSLOTS);
    for (int i = 0; i < MAX_VSLOTS; i++) {
        int vid = atomic_load(&sh->vslot[(start + i) % MAX_VSLOTS]);
        if (vid >= 0 && atomic_load(&sh->recs[vid].ready))
            return vid;
    }
    return -1;
}

/* ------------------------------------------------------------------------------------ */
/* Server S                                                                              */

enum { E_FREE, E_LIVE, E_ZOMBIE };

struct entry {
    int state;
    int scoid;
    int client;      /* -1: DISCONNECT came before the connection registered */
    int chan;
    int noshare;
    long long t_disc;
};

static struct entry *tab;
static int tab_hi; /* entries [0, tab_hi) may be in use */
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;

struct held {
    rcvid_t rcvid;
    long long due;
    int scoid;
    struct rep rep;
    long status;
};
static struct held held[HELD_CAP];
static int nheld;
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t seq_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static int probe_coid = -1, probe_vid = -1, probe_deaths;

static const char *chan_name(int chan) { return chan == CH_MAIN ? "main" : "slow"; }

static struct entry *entry_of(int scoid)
{
    int idx = scoid & (SCOID_CAP - 1);
    if (idx >= tab_hi)
        tab_hi = idx + 1;
    return &tab[idx];
}

/* A DISCONNECT for a connection of client `c` handled at t: count it, time it. */
static void s_count_disconnect(int c, int chan, long long t)
{
    struct rec *r = &sh->recs[c];
    atomic_fetch_add(&r->discs, 1);
    long long k = atomic_load(&r->kill_ns);
    if (k && t > k && chan == CH_MAIN)
        push_lat(&sh->n_disc_lat, sh->disc_lat, t - k);
}

/* HELLO: the scoid a client's new coid landed on. */
static void s_register(int scoid, const struct req *q, int chan, long long t)
{
    pthread_mutex_lock(&tab_lock);
    struct entry *e = entry_of(scoid);
    if (e->state == E_LIVE && e->scoid == scoid) {
        if (e->client != q->client)
            fail("scoid %#x belongs to client %d, but client %d's new coid %d landed on it",
                 (unsigned)scoid, e->client, q->client, q->coid);
        else if (q->noshare || e->noshare)
            fail("client %d: a _NTO_COF_NOSHARE coid shares scoid %#x with another coid",
                 q->client, (unsigned)scoid);
        else if (e->chan != chan)
            fail("scoid %#x registered on the %s channel, used on the %s one", (unsigned)scoid,
                 chan_name(e->chan), chan_name(chan));
    } else if (e->state == E_ZOMBIE && e->scoid == scoid && e->client == -1) {
        /* Its DISCONNECT overtook this HELLO (the client died REPLY-blocked on it). */
        e->client = q->client;
        e->noshare = q->noshare;
        atomic_fetch_add(&sh->recs[q->client].conns, 1);
        atomic_fetch_sub(&sh->discs_anon, 1);
        atomic_fetch_add(&sh->discs_adopted, 1);
        s_count_disconnect(q->client, e->chan, e->t_disc);
    } else if (e->state == E_ZOMBIE && e->scoid == scoid) {
        if (e->client == q->client && t - e->t_disc < LATE_MS * 1000000LL &&
            atomic_load(&sh->recs[q->client].kill_ns))
            atomic_fetch_add(&sh->late_items, 1);
        else
            fail("client %d registered coid %d on scoid %#x %lld ms after that scoid's "
                 "DISCONNECT (of client %d)",
                 q->client, q->coid, (unsigned)scoid, (t - e->t_disc) / 1000000, e->client);
    } else {
        *e = (struct entry){E_LIVE, scoid, q->client, chan, q->noshare, 0};
        atomic_fetch_add(&sh->recs[q->client].conns, 1);
    }
    pthread_mutex_unlock(&tab_lock);
}

/* A message or pulse from `client` on scoid: the connection must be that client's. */
static int s_check_conn(int scoid, int client, int chan, long long t, const char *what)
{
    int ok = 1;
    pthread_mutex_lock(&tab_lock);
    struct entry *e = entry_of(scoid);
    if (e->state == E_LIVE && e->scoid == scoid) {
        if (e->client != client) {
            fail("%s of client %d arrived on scoid %#x, which belongs to client %d", what, client,
                 (unsigned)scoid, e->client);
            ok = 0;
        } else if (e->chan != chan) {
            fail("%s of client %d on the %s channel with scoid %#x of the %s channel", what,
                 client, chan_name(chan), (unsigned)scoid, chan_name(e->chan));
            ok = 0;
        }
    } else if (e->state == E_ZOMBIE && e->scoid == scoid && e->client == client &&
               t - e->t_disc < LATE_MS * 1000000LL) {
        atomic_fetch_add(&sh->late_items, 1); /* received before the DISCONNECT was */
    } else {
        fail("%s of client %d on scoid %#x, which is %s", what, client, (unsigned)scoid,
             e->state == E_ZOMBIE && e->scoid == scoid ? "disconnected (DISCONNECT came early)"
                                                       : "not registered");
        ok = 0;
    }
    pthread_mutex_unlock(&tab_lock);
    return ok;
}

static void s_disconnect(int scoid, int chan, long long t)
{
    atomic_fetch_add(&sh->discs, 1);
    pthread_mutex_lock(&tab_lock);
    struct entry *e = entry_of(scoid);
    if (e->state == E_LIVE && e->scoid == scoid) {
        if (e->chan != chan)
            fail("DISCONNECT for scoid %#x of the %s channel arrived on the %s channel",
                 (unsigned)scoid, chan_name(e->chan), chan_name(chan));
        e->state = E_ZOMBIE;
        e->t_disc = t;
        s_count_disconnect(e->client, chan, t);
    } else if (e->state == E_ZOMBIE && e->scoid == scoid) {
        long long k = e->client >= 0 ? atomic_load(&sh->recs[e->client].kill_ns) : 0;
        atomic_fetch_add(&sh->discs_dup, 1);
        fail("second DISCONNECT for scoid %#x (client %d) %lld ms after the first%s",
             (unsigned)scoid, e->client, (t - e->t_disc) / 1000000,
             k && e->t_disc < k ? ": the first came when the client detached its last coid, "
                                  "this one when the client process died before S's "
                                  "ConnectDetach(scoid)"
                                : "");
    } else {
        /* A client killed between ConnectAttach and its HELLO: nobody registered it. */
        *e = (struct entry){E_ZOMBIE, scoid, -1, chan, 0, t};
        atomic_fetch_add(&sh->discs_anon, 1);
    }
    pthread_mutex_unlock(&tab_lock);
}

static void s_reply(rcvid_t rcvid, long status, const struct rep *rp, const char *pay, size_t len,
                    int client)
{
    iov_t iov[2];
    SETIOV(&iov[0], rp, sizeof *rp);
    SETIOV(&iov[1], pay, len);
    if (MsgReplyv(rcvid, status, iov, len ? 2 : 1) == -1) {
        int e = errno;
        if (e == ESRCH && atomic_load(&sh->recs[client].kill_ns))
            atomic_fetch_add(&sh->replies_to_dead, 1);
        else
            fail("MsgReply to client %d: %s", client, strerror(e));
    }
}

static void s_unblock(rcvid_t rcvid, int scoid)
{
    pthread_mutex_lock(&held_lock);
    int i = 0;
    while (i < nheld && held[i].rcvid != rcvid)
        i++;
    if (i == nheld) {
        atomic_fetch_add(&sh->unblocks_late, 1); /* already replied */
    } else {
        struct held *h = &held[i];
        struct _msg_info mi;
        int c = h->rep.client;
        if (h->scoid != scoid)
            fail("UNBLOCK pulse for rcvid %lld carries scoid %#x, the message came on %#x",
                 (long long)rcvid, (unsigned)scoid, (unsigned)h->scoid);
        if (MsgInfo(rcvid, &mi) == -1) {
            if (!(errno == ESRCH && atomic_load(&sh->recs[c].kill_ns)))
                fail("MsgInfo(rcvid of client %d): %s", c, strerror(errno));
            *h = held[--nheld];
        } else if (!(mi.flags & _NTO_MI_UNBLOCK_REQ)) {
            atomic_fetch_add(&sh->unblocks_stale, 1); /* the rcvid is a newer message's */
        } else {
            if (h->rep.thread != T_UNBLOCK)
                fail("UNBLOCK pulse for thread %d of client %d, which no signal targets "
                     "(a dying client must not send one, §8.4)",
                     h->rep.thread, c);
            if (MsgError(rcvid, -1) == -1 && !(errno == ESRCH && atomic_load(&sh->recs[c].kill_ns)))
                fail("MsgError(rcvid of client %d, -1): %s", c, strerror(errno));
            atomic_fetch_add(&sh->unblocks, 1);
            *h = held[--nheld];
        }
    }
    pthread_mutex_unlock(&held_lock);
}

static void s_coiddeath(int coid)
{
    atomic_fetch_add(&sh->coiddeaths, 1);
    pthread_mutex_lock(&probe_lock);
    if (coid != probe_coid || probe_coid == -1)
        fail("COIDDEATH for coid %#x; the prober's coid is %#x", (unsigned)coid, (unsigned)probe_coid);
    else if (!atomic_load(&sh->recs[probe_vid].kill_ns))
        fail("COIDDEATH for coid %#x to victim %d, which is alive", (unsigned)coid, probe_vid);
    else if (++probe_deaths > 1)
        fail("COIDDEATH number %d for coid %#x", probe_deaths, (unsigned)coid);
    pthread_mutex_unlock(&probe_lock);
}

/* Numbered pulse `seq` of client c: exactly once each, in order up to a small window. */
static void s_sequence(int c, long long seq)
{
    struct rec *r = &sh->recs[c];
    pthread_mutex_lock(&seq_lock);
    if (seq < r->next_seq) {
        fail("pulse %lld of client %d received twice", seq, c);
    } else if (seq >= r->next_seq + WIN) {
        fail("pulse %lld of client %d arrived while %lld is still missing", seq, c, r->next_seq);
    } else {
        uint64_t bit = 1ull << (seq % 64), *w = &r->window[(seq % WIN) / 64];
        if (*w & bit)
            fail("pulse %lld of client %d received twice", seq, c);
        *w |= bit;
        for (;;) {
            uint64_t *n = &r->window[(r->next_seq % WIN) / 64], b = 1ull << (r->next_seq % 64);
            if (!(*n & b))
                break;
            *n &= ~b;
            r->next_seq++;
        }
    }
    pthread_mutex_unlock(&seq_lock);
}

static void s_pulse(const struct _pulse *p, int chan, long long t)
{
    atomic_fetch_add(&sh->pulses, 1);
    if (p->type != _PULSE_TYPE || p->subtype != _PULSE_SUBTYPE)
        fail("pulse with type %u subtype %u", p->type, p->subtype);
    switch (p->code) {
    case PULSE_SEQ: {
        uint64_t v = (uint64_t)(uintptr_t)p->value.sival_ptr;
        int c = (int)(v >> SEQ_BITS);
        long long seq = (long long)(v & ((1ull << SEQ_BITS) - 1));
        if (!rec_of(c))
            fail("numbered pulse from unknown client %d", c);
        else if (s_check_conn(p->scoid, c, chan, t, "numbered pulse"))
            s_sequence(c, seq);
        break;
    }
    case _PULSE_CODE_DISCONNECT:
        s_disconnect(p->scoid, chan, t);
        break;
    case _PULSE_CODE_UNBLOCK:
        s_unblock((rcvid_t)p->value.sival_int, p->scoid);
        break;
    case _PULSE_CODE_COIDDEATH:
        if (chan != CH_MAIN)
            fail("COIDDEATH on the slow channel, which is not the death channel");
        s_coiddeath(p->value.sival_int);
        break;
    default:
        fail("unexpected pulse code %d (value %#x, scoid %#x)", p->code, p->value.sival_int,
             (unsigned)p->scoid);
    }
}

static void s_message(rcvid_t rcvid, const struct _msg_info *info, char *buf, char *pay, int chan,
                      long long t)
{
    struct req *q = (struct req *)buf;
    atomic_fetch_add(&sh->msgs, 1);
    if (info->msglen < (long)sizeof *q || q->magic != MAGIC || !rec_of(q->client)) {
        fail("malformed message of %lld bytes from pid %d", (long long)info->msglen, info->pid);
        MsgError(rcvid, EINVAL);
        return;
    }
    struct rec *c = &sh->recs[q->client];
    if (info->pid != atomic_load(&c->pid) || info->coid != q->coid ||
        info->srcmsglen != (long)(sizeof *q + q->len) || q->len > MAXPAY) {
        fail("message of client %d (pid %d, coid %d, %zu bytes) arrived as pid %d, coid %d, "
             "%lld bytes",
             q->client, atomic_load(&c->pid), q->coid, sizeof *q + q->len, info->pid, info->coid,
             (long long)info->srcmsglen);
        MsgError(rcvid, EINVAL);
        return;
    }
    size_t got = (size_t)info->msglen - sizeof *q;
    if (got < q->len) {
        ssize_t more = MsgRead(rcvid, buf + info->msglen, q->len - got, (size_t)info->msglen);
        if (more != (ssize_t)(q->len - got)) {
            if (!(more == -1 && errno == ESRCH && atomic_load(&c->kill_ns)))
                fail("MsgRead of client %d's %zu remaining bytes: %zd (%s)", q->client,
                     q->len - got, more, strerror(errno));
            return;
        }
    }
    long long d = pattern_diff(buf + sizeof *q, q->len, q->seed);
    if (d >= 0)
        fail("payload of client %d seq %lld differs at offset %lld", q->client, (long long)q->seq,
             d);
    struct rep rp = {MAGIC, q->client, q->thread, 0, q->seq};
    long status = (long)(q->seq & 0xffff) + 1;
    switch (q->op) {
    case OP_HELLO:
        s_register(info->scoid, q, chan, t);
        s_reply(rcvid, status, &rp, NULL, 0, q->client);
        break;
    case OP_ECHO:
        s_check_conn(info->scoid, q->client, chan, t, "message");
        pattern(pay, q->len, q->seed + 1);
        s_reply(rcvid, status, &rp, pay, q->len, q->client);
        break;
    case OP_HOLD:
        s_check_conn(info->scoid, q->client, chan, t, "message");
        atomic_fetch_add(&sh->holds, 1);
        pthread_mutex_lock(&held_lock);
        if (nheld < HELD_CAP) {
            held[nheld++] = (struct held){rcvid, t + q->hold_ms * 1000000LL, info->scoid, rp, status};
            rcvid = 0;
        }
        pthread_mutex_unlock(&held_lock);
        if (rcvid)
            s_reply(rcvid, status, &rp, NULL, 0, q->client);
        break;
    default:
        fail("message with op %d from client %d", q->op, q->client);
        MsgError(rcvid, EINVAL);
    }
}

struct s_rx {
    int chan;
    char *buf;
    char *pay;
};

static void s_receive_one(struct s_rx *x)
{
    struct _msg_info info;
    int chid = atomic_load(&sh->s_chid[x->chan]);
    rcvid_t r = MsgReceive(chid, x->buf, sizeof(struct req) + INLINE_PAY, &info);
    long long t = now_ns();
    if (r == -1) {
        if (errno != EINTR)
            fail("MsgReceive on the %s channel: %s", chan_name(x->chan), strerror(errno));
        sleep_us(1000);
    } else if (r == 0) {
        s_pulse((const struct _pulse *)x->buf, x->chan, t);
    } else {
        s_message(r, &info, x->buf, x->pay, x->chan, t);
    }
}

static void *s_receiver(void *arg)
{
    struct s_rx *x = arg;
    for (;;) {
        if (x->chan == CH_SLOW && !stopping())
            sleep_us(10000);
        s_receive_one(x);
    }
    return NULL;
}

/* Replies to held messages when due; frees disconnected scoids; publishes S's state. */
static void *s_janitor(void *arg)
{
    (void)arg;
    long long last_sweep = 0;
    for (;;) {
        long long t = now_ns();
        pthread_mutex_lock(&held_lock);
        for (int i = 0; i < nheld;) {
            if (held[i].due > t) {
                i++;
                continue;
            }
            struct held h = held[i];
            held[i] = held[--nheld];
            s_reply(h.rcvid, h.status, &h.rep, NULL, 0, h.rep.client);
        }
        int n_held = nheld;
        pthread_mutex_unlock(&held_lock);
        if (t - last_sweep > 50 * 1000000LL) {
            last_sweep = t;
            int live = 0, zombies = 0;
            pthread_mutex_lock(&tab_lock);
            for (int i = 0; i < tab_hi; i++) {
                struct entry *e = &tab[i];
                if (e->state == E_ZOMBIE && t - e->t_disc > ZOMBIE_MS * 1000000LL) {
                    if (ConnectDetach(e->scoid) != 0)
                        fail("ConnectDetach(scoid %#x) after its DISCONNECT: %s",
                             (unsigned)e->scoid, strerror(errno));
                    e->state = E_FREE;
                }
                live += e->state == E_LIVE;
                zombies += e->state == E_ZOMBIE;
            }
            pthread_mutex_unlock(&tab_lock);
            atomic_store(&sh->s_live, live);
            atomic_store(&sh->s_zombies, zombies);
            atomic_store(&sh->s_held, n_held);
            int idle = !live && !zombies && !n_held && !atomic_load(&sh->s_probe_busy);
            /* Free heap goes back to the system before anyone measures, so what remains
             * is what is still allocated, not the allocator's high-water mark. */
            if (idle && !atomic_load(&sh->s_idle))
                malloc_trim(0);
            atomic_store(&sh->s_idle, idle);
        }
        sleep_us(2000);
    }
    return NULL;
}

/* S as a client of the victim servers: COIDDEATH for each coid whose server dies. */
static void *s_prober(void *arg)
{
    (void)arg;
    char *out = touched(sizeof(struct req) + MAXPAY), *in = touched(sizeof(struct rep) + MAXPAY);
    while (!stopping()) {
        int vid = pick_victim();
        if (vid < 0) {
            sleep_us(5000);
            continue;
        }
        /* The coid is published under the lock, so a COIDDEATH cannot overtake it. */
        pthread_mutex_lock(&probe_lock);
        probe_vid = vid;
        probe_deaths = 0;
        atomic_store(&sh->s_probe_busy, 1);
        int coid = vattach(0, vid, (int)rnd(2));
        probe_coid = coid;
        pthread_mutex_unlock(&probe_lock);
        if (coid != -1) {
            atomic_fetch_add(&sh->probe_sessions, 1);
            vcall_until_death(0, vid, coid, out, in);
            long long deadline = now_ns() + HANG_MS * 1000000LL;
            int deaths = 0;
            while (now_ns() < deadline) {
                pthread_mutex_lock(&probe_lock);
                deaths = probe_deaths;
                pthread_mutex_unlock(&probe_lock);
                if (deaths)
                    break;
                sleep_us(1000);
            }
            if (!deaths)
                fail("no COIDDEATH for coid %#x within %d ms of victim %d's death",
                     (unsigned)coid, HANG_MS, vid);
            if (ConnectDetach(coid) != 0)
                fail("prober: ConnectDetach(coid %#x) after COIDDEATH: %s", (unsigned)coid,
                     strerror(errno));
        }
        pthread_mutex_lock(&probe_lock);
        probe_coid = -1;
        atomic_store(&sh->s_probe_busy, 0);
        pthread_mutex_unlock(&probe_lock);
    }
    free(out);
    free(in);
    return NULL;
}

static void run_server(void)
{
    /* Everything S will use is touched now, so that its private memory (RssAnon) can
     * only grow through the library; the shared region counts as RssShmem. */
    tab = touched(SCOID_CAP * sizeof *tab);
    int main_chid = ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK | _NTO_CHF_COID_DISCONNECT);
    int slow_chid = ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK);
    if (main_chid == -1 || slow_chid == -1) {
        fail("ChannelCreate: %s", strerror(errno));
        _exit(1);
    }
    atomic_store(&sh->s_chid[CH_MAIN], main_chid);
    atomic_store(&sh->s_chid[CH_SLOW], slow_chid);
    static struct s_rx rx[S_RECEIVERS + 1];
    pthread_t t;
    for (int i = 0; i <= S_RECEIVERS; i++) {
        rx[i].chan = i < S_RECEIVERS ? CH_MAIN : CH_SLOW;
        rx[i].buf = touched(sizeof(struct req) + MAXPAY);
        rx[i].pay = touched(MAXPAY);
        if (pthread_create(&t, NULL, s_receiver, &rx[i]) != 0)
            abort();
    }
    if (pthread_create(&t, NULL, s_janitor, NULL) != 0 || pthread_create(&t, NULL, s_prober, NULL) != 0)
        abort();
    atomic_store(&sh->s_ready, 1);
    for (;;)
        pause();
}

/* ------------------------------------------------------------------------------------ */
/* Victim servers                                                                        */

static void *v_receiver(void *arg)
{
    int chid = (int)(intptr_t)arg;
    char *buf = malloc(sizeof(struct req) + MAXPAY), *pay = malloc(MAXPAY);
    if (!buf || !pay)
        abort();
    for (;;) {
        struct _msg_info info;
        rcvid_t r = MsgReceive(chid, buf, sizeof(struct req) + MAXPAY, &info);
        if (r == -1) {
            fail("victim: MsgReceive: %s", strerror(errno));
            sleep_us(10000);
            continue;
        }
        if (r == 0) {
            const struct _pulse *p = (const struct _pulse *)buf;
            if (p->code == _PULSE_CODE_DISCONNECT && ConnectDetach(p->scoid) != 0)
                fail("victim: ConnectDetach(scoid %#x) after DISCONNECT: %s", (unsigned)p->scoid,
                     strerror(errno));
            continue;
        }
        const struct req *q = (const struct req *)buf;
        struct rec *c = info.msglen >= (long)sizeof *q && q->magic == MAGIC && q->op == OP_VECHO
                            ? rec_of(q->client)
                            : NULL;
        if (!c || info.pid != atomic_load(&c->pid) || info.msglen != (long)(sizeof *q + q->len)) {
            MsgError(r, ENOSYS);
            continue;
        }
        long long d = pattern_diff(buf + sizeof *q, q->len, q->seed);
        if (d >= 0)
            fail("victim: payload of client %d differs at offset %lld", q->client, d);
        if (rnd(3) == 0)
            sleep_us(1000 + rnd(20000)); /* its client sits REPLY-blocked, others queue */
        struct rep rp = {MAGIC, q->client, q->thread, 0, q->seq};
        pattern(pay, q->len, q->seed + 1);
        iov_t iov[2];
        SETIOV(&iov[0], &rp, sizeof rp);
        SETIOV(&iov[1], pay, q->len);
        MsgReplyv(r, (long)(q->seq & 0xffff) + 1, iov, 2); /* the client may be dead */
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Clients                                                                               */

static pthread_t client_threads[MAX_THREADS];

/* Attaches to S's channel and registers the coid (HELLO); -1 on failure. */
static int s_attach(int th, int chan, int noshare, char *out, char *in)
{
    struct rec *me = &sh->recs[my_id];
    struct rec *s = &sh->recs[atomic_load(&sh->s_id)];
    set_act(th, A_ATTACH, -1);
    atomic_fetch_add(&me->inflight, 1);
    int coid = ConnectAttach(ND_LOCAL_NODE, atomic_load(&s->pid), atomic_load(&sh->s_chid[chan]),
                             _NTO_SIDE_CHANNEL, noshare ? _NTO_COF_NOSHARE : 0);
    if (coid == -1) {
        fail("ConnectAttach to S's %s channel: %s", chan_name(chan), strerror(errno));
        atomic_fetch_sub(&me->inflight, 1);
        return -1;
    }
    size_t n = make_req(out, OP_HELLO, th, 0, coid, 0);
    ((struct req *)out)->noshare = noshare;
    long st;
    do /* the unblocker's sibling may signal it while SEND-blocked */
        st = MsgSend(coid, out, n, in, sizeof(struct rep));
    while (st == -1 && errno == EINTR);
    if (st == -1 || check_rep("HELLO", st, in, (const struct req *)out, 0) != 0) {
        if (st == -1)
            fail("HELLO on S's %s channel: %s", chan_name(chan), strerror(errno));
        ConnectDetach(coid);
        coid = -1;
    }
    atomic_fetch_sub(&me->inflight, 1);
    set_act(th, A_SLEEP, -1);
    return coid;
}

static void s_detach(int th, int coid)
{
    set_act(th, A_DETACH, -1);
    if (coid != -1 && ConnectDetach(coid) != 0)
        fail("ConnectDetach(coid %d) to S: %s", coid, strerror(errno));
    set_act(th, A_NONE, -1);
}

/* One echo (or hold) request to S on coid; returns MsgSend's status (-1: errno). */
static long s_call(int th, int act, int coid, int op, int64_t seq, uint32_t len, int hold_ms,
                   char *out, char *in)
{
    size_t n = make_req(out, op, th, seq, coid, len);
    ((struct req *)out)->hold_ms = hold_ms;
    set_act(th, act, -1);
    long st = MsgSend(coid, out, n, in, sizeof(struct rep) + len);
    int e = errno;
    set_act(th, A_SLEEP, -1);
    errno = e;
    return st;
}

static void *client_thread(void *arg)
{
    int th = (int)(intptr_t)arg;
    rng_seed(base_seed ^ ((uint64_t)my_id << 8) ^ (uint64_t)th);
    char *out = malloc(sizeof(struct req) + MAXPAY), *in = malloc(sizeof(struct rep) + MAXPAY);
    if (!out || !in)
        abort();
    struct rec *me = &sh->recs[my_id];
    int coid = -1, coid2 = -1;
    int64_t seq = 0;
    switch (th) {
    case T_IDLE: /* one shared and one unshared connection, both idle */
        coid = s_attach(th, CH_MAIN, 0, out, in);
        coid2 = s_attach(th, CH_MAIN, 1, out, in);
        atomic_fetch_add(&me->ready, 1);
        set_act(th, A_IDLE, -1);
        while (!stopping())
            sleep_us(5000);
        break;
    case T_SEND: /* echoes of random sizes; one in eight held REPLY-blocked up to 30 ms */
    case T_SLOW: /* on the slow channel: mostly SEND-blocked */
    case T_UNBLOCK: { /* held 5-105 ms while the kicker signals it */
        int chan = th == T_SLOW ? CH_SLOW : CH_MAIN;
        coid = s_attach(th, chan, 0, out, in);
        atomic_fetch_add(&me->ready, 1);
        if (th == T_UNBLOCK) {
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGUSR1);
            pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        }
        while (coid != -1 && !stopping()) {
            int hold = th == T_UNBLOCK                 ? 5 + (int)rnd(100)
                       : th == T_SEND && rnd(8) == 0 ? 1 + (int)rnd(30)
                                                     : 0;
            uint32_t len = hold ? 0 : rnd(8) == 0 ? rnd(MAXPAY) : rnd(512);
            int act = th == T_UNBLOCK ? A_UNBLOCK : th == T_SLOW ? A_SLOW : hold ? A_HOLD : A_SEND;
            long st = s_call(th, act, coid, hold ? OP_HOLD : OP_ECHO, ++seq, len, hold, out, in);
            if (st == -1 && errno == EINTR && th == T_UNBLOCK)
                atomic_fetch_add(&sh->c_unblock_eintr, 1);
            else if (st == -1)
                fail("MsgSend to S (%s): %s", act_names[act], strerror(errno));
            else if (check_rep(act_names[act], st, in, (const struct req *)out, !hold) == 0 &&
                     th == T_UNBLOCK)
                atomic_fetch_add(&sh->c_unblock_reply, 1);
            if (rnd(2))
                sleep_us(rnd(th == T_SEND ? 1000 : 5000));
        }
        break;
    }
    case T_PULSE: /* numbered pulses in bursts */
        coid = s_attach(th, CH_MAIN, 0, out, in);
        atomic_fetch_add(&me->ready, 1);
        while (coid != -1 && !stopping()) {
            int burst = 1 + (int)rnd(16);
            for (int i = 0; i < burst; i++) {
                uint64_t v = ((uint64_t)my_id << SEQ_BITS) | (uint64_t)++seq;
                set_act(th, A_PULSE, -1);
                atomic_store(&me->pulse_pending, 1);
                if (MsgSendPulsePtr(coid, -1, PULSE_SEQ, (void *)(uintptr_t)v) != 0) {
                    fail("MsgSendPulsePtr to S: %s", strerror(errno));
                    seq--;
                } else {
                    atomic_store(&me->pulses_acked, seq);
                }
                atomic_store(&me->pulse_pending, 0);
            }
            set_act(th, A_SLEEP, -1);
            sleep_us(1000 + rnd(2000));
        }
        break;
    case T_VSEND: /* calls victim servers until each dies */
        while (!stopping()) {
            int vid = pick_victim();
            int c = vid < 0 ? -1 : vattach(th, vid, (int)rnd(2));
            if (c == -1) {
                sleep_us(2000);
                continue;
            }
            vcall_until_death(th, vid, c, out, in);
            set_act(th, A_DETACH, vid);
            if (ConnectDetach(c) != 0)
                fail("ConnectDetach of a coid whose server died: %s", strerror(errno));
            set_act(th, A_SLEEP, -1);
        }
        break;
    case T_DETACH: /* attach, one call, detach: a DISCONNECT (or not, if shared) each time */
        atomic_fetch_add(&me->ready, 1);
        while (!stopping()) {
            int c = s_attach(th, CH_MAIN, (int)rnd(2), out, in);
            if (c != -1) {
                long st = s_call(th, A_SEND, c, OP_ECHO, ++seq, rnd(64), 0, out, in);
                if (st == -1)
                    fail("MsgSend to S on a fresh coid: %s", strerror(errno));
                else
                    check_rep("fresh coid", st, in, (const struct req *)out, 1);
            }
            s_detach(th, c);
            set_act(th, A_SLEEP, -1);
            sleep_us(2000 + rnd(15000));
        }
        break;
    case T_KICK:
        while (!stopping()) {
            sleep_us(5000 + rnd(60000));
            pthread_kill(client_threads[T_UNBLOCK], SIGUSR1);
        }
        break;
    }
    s_detach(th, coid);
    s_detach(th, coid2);
    free(out);
    free(in);
    return NULL;
}

static void on_usr1(int sig) { (void)sig; }

/* The client threads named in `mask`; survivors end them after `stop` and exit 0. */
static void run_client(unsigned mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: the signal must interrupt */
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL); /* only the unblocker takes it */
    for (int th = 0; th < MAX_THREADS; th++)
        if ((mask & (1u << th)) &&
            pthread_create(&client_threads[th], NULL, client_thread, (void *)(intptr_t)th) != 0)
            abort();
    while (!stopping())
        sleep_us(5000);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += SETTLE_MS / 1000;
    for (int th = MAX_THREADS - 1; th >= 0; th--) { /* the kicker before its target */
        if ((mask & (1u << th)) && pthread_timedjoin_np(client_threads[th], NULL, &ts) != 0) {
            fail("thread %d did not finish after the stop (%s)", th,
                 act_names[atomic_load(&sh->recs[my_id].th[th].act)]);
            _exit(1);
        }
    }
    if (atomic_load(&sh->recs[my_id].inflight))
        fail("%d attaches still in flight at exit", atomic_load(&sh->recs[my_id].inflight));
    _exit(0);
}

#define CLIENT_ALL 0xffu
#define VICTIM_CLIENT ((1u << T_IDLE) | (1u << T_PULSE))

static void run_victim(void)
{
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK | _NTO_CHF_COID_DISCONNECT);
    if (chid == -1) {
        fail("victim: ChannelCreate: %s", strerror(errno));
        _exit(1);
    }
    atomic_store(&sh->recs[my_id].chid, chid);
    pthread_t t;
    for (int i = 0; i < V_RECEIVERS; i++)
        if (pthread_create(&t, NULL, v_receiver, (void *)(intptr_t)chid) != 0)
            abort();
    atomic_store(&sh->recs[my_id].ready, 1);
    run_client(VICTIM_CLIENT);
}

/* ------------------------------------------------------------------------------------ */
/* Coordinator                                                                           */

#define MAX_PROCS 1024

struct proc {
    pid_t pid;
    int id;
    int killed;
    int slow_death_noted;
};
static struct proc procs[MAX_PROCS];
static volatile int nprocs;
static volatile pid_t group; /* process group of every child */
static long long kills_by_act[A_COUNT], client_kills, victim_kills, blocked_on_victim_kills;

static void kill_everything(void)
{
    if (group > 0)
        kill(-group, SIGKILL);
    for (int i = 0; i < nprocs; i++)
        if (procs[i].pid > 0)
            kill(procs[i].pid, SIGKILL);
}

static void on_fatal(int sig)
{
    kill_everything();
    const char *m = sig == SIGALRM ? "stress: FAIL: whole-run time limit reached; everything killed\n"
                                   : "stress: interrupted; everything killed\n";
    if (write(2, m, strlen(m)) < 0) {
    }
    _exit(2);
}

static int spawn(int role)
{
    int id = atomic_load(&sh->nrecs);
    if (id >= sh->cap || nprocs >= MAX_PROCS)
        return -1;
    struct rec *r = &sh->recs[id];
    atomic_store(&r->role, role);
    r->next_seq = 1;
    atomic_store(&sh->nrecs, id + 1);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fail("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != coord_pid)
            _exit(1);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
        setpgid(0, group ? group : 0);
        my_id = id;
        atomic_store(&r->pid, getpid());
        rng_seed(base_seed ^ ((uint64_t)id << 20));
        if (role == R_SERVER)
            run_server();
        else if (role == R_VICTIM)
            run_victim();
        else
            run_client(CLIENT_ALL);
        _exit(0);
    }
    setpgid(pid, group ? group : pid);
    if (!group)
        group = pid;
    atomic_store(&r->pid, pid);
    procs[nprocs++] = (struct proc){pid, id, 0, 0};
    return id;
}

static void kill_proc(struct proc *p)
{
    struct rec *r = &sh->recs[p->id];
    int role = atomic_load(&r->role);
    if (role == R_KILLABLE) {
        client_kills++;
        for (int th = 0; th < MAX_THREADS; th++)
            kills_by_act[atomic_load(&r->th[th].act)]++;
    } else if (role == R_VICTIM) {
        victim_kills++;
        for (int i = 0; i < atomic_load(&sh->nrecs); i++)
            for (int th = 0; th < MAX_THREADS; th++)
                if (!atomic_load(&sh->recs[i].exited) &&
                    atomic_load(&sh->recs[i].th[th].act) == A_VSEND &&
                    atomic_load(&sh->recs[i].th[th].target) == p->id)
                    blocked_on_victim_kills++;
    }
    atomic_store(&r->kill_ns, now_ns());
    kill(p->pid, SIGKILL);
    p->killed = 1;
}

/* Reaps what has ended; anything that ended without being killed must have exited 0. */
static void reap(void)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < nprocs; i++) {
            if (procs[i].pid != pid)
                continue;
            struct rec *r = &sh->recs[procs[i].id];
            atomic_store(&r->exited, 1);
            atomic_store(&r->exit_ns, now_ns());
            int ok = procs[i].killed ? WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL
                                     : WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
                                           atomic_load(&r->role) == R_SURVIVOR && stopping();
            if (!ok)
                fail("%s %d (pid %d) ended on its own: %s %d", role_name(atomic_load(&r->role)),
                     procs[i].id, (int)pid, WIFSIGNALED(st) ? "signal" : "exit status",
                     WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            procs[i] = procs[--nprocs];
            break;
        }
    }
}

/* Threads of live processes stuck in a call: to a killed victim past HANG_MS, to S past S_CALL_MS. */
static void hang_check(void)
{
    long long t = now_ns();
    for (int i = 0; i < nprocs; i++) {
        if (procs[i].killed)
            continue;
        struct rec *r = &sh->recs[procs[i].id];
        for (int th = 0; th < MAX_THREADS; th++) {
            struct tstate *s = &r->th[th];
            int act = atomic_load(&s->act);
            if (act == A_NONE || act == A_IDLE || act == A_SLEEP || atomic_load(&s->hang_reported))
                continue;
            long long since = atomic_load(&s->since), k = 0;
            int target = atomic_load(&s->target);
            if ((act == A_VSEND || act == A_ATTACH) && rec_of(target))
                k = atomic_load(&sh->recs[target].kill_ns);
            long long from = k > since ? k : since;
            long long limit = (k ? HANG_MS : S_CALL_MS) * 1000000LL;
            if (t - from > limit) {
                atomic_store(&s->hang_reported, 1);
                fail("HANG: %s %d (pid %d) thread %d has been in \"%s\" for %lld ms%s",
                     role_name(atomic_load(&r->role)), procs[i].id, (int)procs[i].pid, th,
                     act_names[act], (t - since) / 1000000,
                     k ? " and its server was killed that long ago" : "");
            }
        }
    }
}

/* What each thread of a killed process that is still not gone is doing (the kernel's view). */
static void note_slow_death(struct proc *p, long long ms)
{
    char path[320], line[512], out[4096];
    int n = snprintf(out, sizeof out, "stress: note: %s %d (pid %d) is still not gone %lld ms "
                                      "after SIGKILL; threads (state wchan syscall):",
                     role_name(atomic_load(&sh->recs[p->id].role)), p->id, (int)p->pid, ms);
    snprintf(path, sizeof path, "/proc/%d/task", (int)p->pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && n < (int)sizeof out - 200) {
        if (e->d_name[0] == '.')
            continue;
        char st = '?', wchan[64] = "?", sc[64] = "?";
        snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)p->pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(line, sizeof line, f) && strrchr(line, ')'))
            st = strrchr(line, ')')[2];
        if (f)
            fclose(f);
        snprintf(path, sizeof path, "/proc/%d/task/%s/wchan", (int)p->pid, e->d_name);
        if ((f = fopen(path, "r")) != NULL) {
            if (!fgets(wchan, sizeof wchan, f))
                strcpy(wchan, "?");
            fclose(f);
        }
        snprintf(path, sizeof path, "/proc/%d/task/%s/syscall", (int)p->pid, e->d_name);
        if ((f = fopen(path, "r")) != NULL) {
            if (fgets(sc, sizeof sc, f))
                sc[strcspn(sc, " \n")] = 0;
            fclose(f);
        }
        n += snprintf(out + n, sizeof out - (size_t)n, " [%c %s %s]", st, wchan, sc);
    }
    if (d)
        closedir(d);
    printf("%s\n", out);
}

static void tick(long ms)
{
    long long end = now_ns() + ms * 1000000LL;
    while (now_ns() < end) {
        reap();
        sleep_us(2000);
    }
    hang_check();
    for (int i = 0; i < nprocs; i++) {
        long long k = atomic_load(&sh->recs[procs[i].id].kill_ns);
        if (procs[i].killed && !procs[i].slow_death_noted && now_ns() - k > HANG_MS * 1000000LL) {
            procs[i].slow_death_noted = 1;
            note_slow_death(&procs[i], (now_ns() - k) / 1000000);
        }
    }
    if (kill(atomic_load(&sh->recs[atomic_load(&sh->s_id)].pid), 0) != 0 ||
        atomic_load(&sh->recs[atomic_load(&sh->s_id)].exited)) {
        fail("server S died");
        kill_everything();
        exit(1);
    }
}

static int wait_until(_Atomic int *flag, int want, int ms)
{
    long long end = now_ns() + ms * 1000000LL;
    while (atomic_load(flag) != want && now_ns() < end)
        tick(5);
    return atomic_load(flag) == want;
}

struct usage {
    int fds, maps, memfd_maps;
    long rss_kb, anon_kb;
    char fd_list[4096]; /* "fd:target ..." to name what leaked */
};

static struct usage measure(pid_t pid)
{
    static struct usage u;
    memset(&u, 0, sizeof u);
    u.rss_kb = -1;
    char path[300], line[512];
    size_t used = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        u.fds++;
        char target[128] = "?";
        snprintf(path, sizeof path, "/proc/%d/fd/%s", (int)pid, e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 1] = 0;
        if (used < sizeof u.fd_list)
            used += (size_t)snprintf(u.fd_list + used, sizeof u.fd_list - used, " %s:%s",
                                     e->d_name, target);
    }
    if (d)
        closedir(d);
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        u.maps++;
        u.memfd_maps += strstr(line, "/memfd:") != NULL;
    }
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            u.rss_kb = atol(line + 6);
        else if (strncmp(line, "RssAnon:", 8) == 0)
            u.anon_kb = atol(line + 8);
    if (f)
        fclose(f);
    return u;
}

/* Waits until S holds nothing (no scoid, held message or prober coid) and measures it. */
static int settle_server(struct usage *u, const char *when)
{
    if (!wait_until(&sh->s_idle, 1, SETTLE_MS)) {
        fail("%s: S still holds %d live and %d disconnected scoids, %d held messages%s after "
             "%d ms",
             when, atomic_load(&sh->s_live), atomic_load(&sh->s_zombies), atomic_load(&sh->s_held),
             atomic_load(&sh->s_probe_busy) ? " and a coid to a victim" : "", SETTLE_MS);
        return -1;
    }
    tick(200);
    *u = measure(atomic_load(&sh->recs[atomic_load(&sh->s_id)].pid));
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static void print_lat(const char *what, int n, const int *arr)
{
    if (n > LAT_CAP)
        n = LAT_CAP;
    if (n == 0) {
        printf("stress: %s: no samples\n", what);
        return;
    }
    int *c = malloc((size_t)n * sizeof *c);
    if (!c)
        abort();
    memcpy(c, arr, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_int);
    printf("stress: %s: n=%d median %.2f ms, p99 %.2f ms, max %.2f ms\n", what, n,
           c[n / 2] / 1000.0, c[(int)((n - 1) * 0.99)] / 1000.0, c[n - 1] / 1000.0);
    free(c);
}

/* After the run: per process, DISCONNECTs and numbered pulses against what it did. */
static void check_records(void)
{
    long long inflight_at_kill = 0, disc_expected = 0;
    for (int id = 0; id < atomic_load(&sh->nrecs); id++) {
        struct rec *r = &sh->recs[id];
        int role = atomic_load(&r->role);
        if (role == R_SERVER)
            continue;
        int conns = atomic_load(&r->conns), discs = atomic_load(&r->discs);
        disc_expected += conns;
        if (conns != discs)
            fail("%s %d (pid %d, %s): %d connections registered, %d DISCONNECTs", role_name(role),
                 id, atomic_load(&r->pid), atomic_load(&r->kill_ns) ? "killed" : "exited", conns,
                 discs);
        if (atomic_load(&r->kill_ns))
            inflight_at_kill += atomic_load(&r->inflight);
        long long got = r->next_seq - 1, acked = atomic_load(&r->pulses_acked);
        int pending = atomic_load(&r->pulse_pending), gap = 0;
        for (int w = 0; w < WIN / 64; w++)
            gap |= r->window[w] != 0;
        if (gap)
            fail("%s %d: pulse %lld never arrived, later ones did", role_name(role), id, got + 1);
        else if (atomic_load(&r->kill_ns) ? got < acked || got > acked + pending
                                          : got != acked || pending)
            fail("%s %d (%s): %lld numbered pulses sent (MsgSendPulsePtr returned 0), %lld "
                 "received%s",
                 role_name(role), id, atomic_load(&r->kill_ns) ? "killed" : "exited", acked, got,
                 pending ? " (one more was being sent)" : "");
    }
    long long anon = atomic_load(&sh->discs_anon);
    if (anon > inflight_at_kill)
        fail("%lld DISCONNECTs for scoids nobody registered, but killed clients had only %lld "
             "attaches in flight (duplicate DISCONNECTs?)",
             anon, inflight_at_kill);
    if (atomic_load(&sh->discs) != disc_expected + anon)
        fail("%lld DISCONNECT pulses received for %lld connections registered + %lld unregistered "
             "(%lld duplicates)",
             (long long)atomic_load(&sh->discs), disc_expected, anon,
             (long long)atomic_load(&sh->discs_dup));
    if (atomic_load(&sh->coiddeaths) != atomic_load(&sh->probe_sessions))
        fail("%lld COIDDEATH pulses for %lld coids to servers that died",
             (long long)atomic_load(&sh->coiddeaths), (long long)atomic_load(&sh->probe_sessions));
}

static long env_or(const char *name, long dflt)
{
    const char *s = getenv(name);
    return s && *s ? atol(s) : dflt;
}

int main(int argc, char **argv)
{
    long seconds = env_or("STRESS_SECONDS", 60), nclients = 6, nsurvivors = 2, nvictims = 2;
    base_seed = (uint64_t)time(NULL);
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = atol(argv[i + 1]);
        if (!strcmp(argv[i], "--seconds"))
            seconds = v;
        else if (!strcmp(argv[i], "--clients"))
            nclients = v;
        else if (!strcmp(argv[i], "--survivors"))
            nsurvivors = v;
        else if (!strcmp(argv[i], "--servers"))
            nvictims = v;
        else if (!strcmp(argv[i], "--seed"))
            base_seed = (uint64_t)v;
        else {
            fprintf(stderr, "usage: %s [--seconds N] [--clients N] [--survivors N] [--servers N] "
                            "[--seed N]\n", argv[0]);
            return 2;
        }
    }
    if (seconds < 1 || nclients < 1 || nsurvivors < 1 || nvictims < 1 || nvictims > MAX_VSLOTS) {
        fprintf(stderr, "stress: bad arguments\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    coord_pid = getpid();
    rng_seed(base_seed);

    /* Room for every process the run can spawn: ~20 kills a second at most. */
    int cap = (int)(64 + seconds * 40 + nclients + nsurvivors + nvictims);
    size_t size = sizeof(struct shared) + (size_t)cap * sizeof(struct rec);
    sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("stress: mmap");
        return 2;
    }
    memset(sh, 0, size); /* touched here, so using it later grows nobody's RSS */
    sh->cap = cap;
    for (int i = 0; i < MAX_VSLOTS; i++)
        atomic_store(&sh->vslot[i], -1);

    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGTERM, on_fatal);
    signal(SIGINT, on_fatal);
    signal(SIGHUP, on_fatal);
    signal(SIGALRM, on_fatal);
    alarm((unsigned)(seconds + 120));
    printf("stress: %ld s, %ld killable clients, %ld surviving clients, %ld victim servers, "
           "seed %llu\n",
           seconds, nclients, nsurvivors, nvictims, (unsigned long long)base_seed);

    /* S, then a warm-up (one client and one victim, both killed) so lazily created state
     * exists before the baseline is taken. */
    atomic_store(&sh->s_id, spawn(R_SERVER));
    if (!wait_until(&sh->s_ready, 1, SETTLE_MS)) {
        fail("S did not start");
        kill_everything();
        return 1;
    }
    atomic_store(&sh->vslot[0], spawn(R_VICTIM));
    int warm = spawn(R_KILLABLE);
    if (!wait_until(&sh->recs[warm].ready, 6, SETTLE_MS) || !wait_until(&sh->s_probe_busy, 1, SETTLE_MS))
        fail("warm-up: the first client or the prober did not get going");
    tick(300);
    for (int i = 0; i < nprocs; i++)
        if (procs[i].id != atomic_load(&sh->s_id))
            kill_proc(&procs[i]);
    atomic_store(&sh->vslot[0], -1);
    struct usage start, end;
    if (settle_server(&start, "after the warm-up") != 0) {
        kill_everything();
        return 1;
    }
    printf("stress: S at start: %d fds, %d mappings (%d memfd), VmRSS %ld kB, RssAnon %ld kB\n",
           start.fds, start.maps, start.memfd_maps, start.rss_kb, start.anon_kb);

    /* The run. */
    for (int i = 0; i < nvictims; i++)
        atomic_store(&sh->vslot[i], spawn(R_VICTIM));
    for (int i = 0; i < nsurvivors; i++)
        spawn(R_SURVIVOR);
    for (int i = 0; i < nclients; i++)
        spawn(R_KILLABLE);
    long long t_end = now_ns() + seconds * 1000000000LL;
    long long next_client = now_ns(), next_victim = now_ns() + 200000000LL;
    int out_of_records = 0;
    while (now_ns() < t_end) {
        tick(5);
        long long t = now_ns();
        if (t >= next_client) {
            next_client = t + (20 + rnd(100)) * 1000000LL;
            int pick = (int)rnd((uint32_t)nprocs), tries = 0;
            while (tries++ < nprocs &&
                   (procs[pick].killed || atomic_load(&sh->recs[procs[pick].id].role) != R_KILLABLE))
                pick = (pick + 1) % nprocs;
            if (tries <= nprocs) {
                kill_proc(&procs[pick]);
                if (spawn(R_KILLABLE) < 0)
                    out_of_records = 1;
            }
        }
        if (t >= next_victim) {
            next_victim = t + (150 + rnd(500)) * 1000000LL;
            int slot = (int)rnd((uint32_t)nvictims), vid = atomic_load(&sh->vslot[slot]);
            for (int i = 0; i < nprocs; i++)
                if (procs[i].id == vid && !procs[i].killed)
                    kill_proc(&procs[i]);
            int nv = spawn(R_VICTIM);
            atomic_store(&sh->vslot[slot], nv);
            if (nv < 0)
                out_of_records = 1;
        }
    }
    if (out_of_records)
        printf("stress: note: the record table filled up; later kills were not replaced\n");

    /* The end: kill every killable process, let the survivors finish, let S settle. */
    atomic_store(&sh->stop, 1);
    for (int i = 0; i < MAX_VSLOTS; i++)
        atomic_store(&sh->vslot[i], -1);
    for (int i = 0; i < nprocs; i++) {
        int role = atomic_load(&sh->recs[procs[i].id].role);
        if (!procs[i].killed && (role == R_KILLABLE || role == R_VICTIM))
            kill_proc(&procs[i]);
    }
    long long deadline = now_ns() + SETTLE_MS * 1000000LL;
    while (nprocs > 1 && now_ns() < deadline)
        tick(5);
    if (nprocs > 1) {
        for (int i = 0; i < nprocs; i++)
            if (procs[i].id != atomic_load(&sh->s_id))
                fail("HANG: %s %d (pid %d) has not ended %d ms after the stop",
                     role_name(atomic_load(&sh->recs[procs[i].id].role)), procs[i].id,
                     (int)procs[i].pid, SETTLE_MS);
    }
    int settled = settle_server(&end, "at the end") == 0;

    /* Report. */
    printf("stress: killed %lld clients with threads in:", client_kills);
    for (int a = A_ATTACH; a < A_COUNT; a++)
        printf(" %s %lld%s", act_names[a], kills_by_act[a], a + 1 < A_COUNT ? "," : "\n");
    printf("stress: killed %lld victim servers, %lld client calls in progress on them\n",
           victim_kills, blocked_on_victim_kills);
    printf("stress: S received %lld messages (%lld held), %lld pulses; %lld DISCONNECTs "
           "(%lld before the connection registered), %lld COIDDEATHs, %lld unblocks "
           "(%lld after the reply), %lld items raced their DISCONNECT, %lld replies to dead "
           "clients\n",
           (long long)sh->msgs, (long long)sh->holds, (long long)sh->pulses, (long long)sh->discs,
           (long long)sh->discs_anon + sh->discs_adopted, (long long)sh->coiddeaths,
           (long long)sh->unblocks, (long long)sh->unblocks_late, (long long)sh->late_items,
           (long long)sh->replies_to_dead);
    printf("stress: clients: %lld calls to victim servers (%lld started after the kill), "
           "signalled held sends: %lld EINTR, %lld replied\n",
           (long long)sh->c_vcalls, (long long)sh->c_vcalls_after_kill,
           (long long)sh->c_unblock_eintr, (long long)sh->c_unblock_reply);
    print_lat("SIGKILL of a client -> its DISCONNECT at S", atomic_load(&sh->n_disc_lat),
              sh->disc_lat);
    print_lat("SIGKILL of a server -> its blocked clients' MsgSend returns",
              atomic_load(&sh->n_vdeath_lat), sh->vdeath_lat);
    static int teardown[LAT_CAP];
    int nt = 0;
    for (int id = 0; id < atomic_load(&sh->nrecs) && nt < LAT_CAP; id++) {
        long long k = atomic_load(&sh->recs[id].kill_ns), x = atomic_load(&sh->recs[id].exit_ns);
        if (k && x)
            teardown[nt++] = (int)((x - k) / 1000);
    }
    print_lat("SIGKILL -> the process reaped (the kernel's part of both)", nt, teardown);
    if (settled) {
        printf("stress: S at end:   %d fds, %d mappings (%d memfd), VmRSS %ld kB, RssAnon %ld kB\n",
               end.fds, end.maps, end.memfd_maps, end.rss_kb, end.anon_kb);
        if (end.fds != start.fds)
            fail("S has %d file descriptors, %d at the start; meanwhile it connected to %lld "
                 "victim servers that died\n  start:%s\n  end:  %s",
                 end.fds, start.fds, (long long)atomic_load(&sh->probe_sessions), start.fd_list,
                 end.fd_list);
        if (end.memfd_maps != start.memfd_maps)
            fail("S has %d memfd mappings, %d at the start", end.memfd_maps, start.memfd_maps);
#ifndef ASAN /* ASan's quarantine and shadow memory make these meaningless */
        if (end.maps > start.maps + MAPS_TOL)
            fail("S has %d mappings, %d at the start (tolerance %d)", end.maps, start.maps, MAPS_TOL);
        if (end.anon_kb > start.anon_kb + RSS_TOL_KB)
            fail("S's RssAnon is %ld kB, %ld kB at the start (tolerance %d kB)", end.anon_kb,
                 start.anon_kb, RSS_TOL_KB);
#endif
    }
    check_records();
    kill_everything();
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    int f = atomic_load(&sh->failures);
    printf("stress: %s (%d failure%s)\n", f ? "FAIL" : "PASS", f, f == 1 ? "" : "s");
    return f ? 1 : 0;
}
