/*
 * test_hostile_server.c - clients against a hostile server (issue 16: the client side of
 * items 5 and 7, all 32 slots taken, events aimed at threads that are no client).
 *
 *  - A fuzzing server, unprivileged (it cannot reach the root client's memory through the
 *    kernel: long messages go through the client's agent copies), writes random values with
 *    many seeds into the slots its client uses (state, status, reply length and flags, agent
 *    requests, client_waiting, tid, any word) and its bell, and replies, fails, restarts,
 *    asks for copies, or leaves messages unanswered; at the end of each seed it dies. The
 *    honest client threads send from read-only buffers between guard pages and reply into
 *    guarded, patterned ones: no call crashes, writes outside its reply buffers, reads
 *    outside its send buffers, lasts past TimerTimeout/signal/death plus the copy grace, or
 *    ends -1 without a QNX errno.
 *  - All 32 slots of a connection in use: the next MsgSend is SEND-blocked, and TimerTimeout
 *    (ETIMEDOUT), a signal (EINTR) and the server's death (ESRCH) end it.
 *  - A server that names another thread of its client (a forged tid in the slot) can
 *    neither unblock nor signal it: MsgDeliverEvent fails with ESRCH; aimed at its real
 *    client thread, during the call or after the reply, the event arrives.
 */
#include "harness.h"

#include <linux/futex.h>
#include <sys/mman.h>

#include "hostile_layout.h"
enum {
    ST_FREE = 0,
    ST_SENT = 2,
    ST_RECEIVED = 3,
    ST_REPLIED = 4,
    ST_FAILED = 5,
    ST_COPYING = 7,
    ST_AGENT_REQ = 8,
};

enum { UID_HOSTILE = 65534 };

/* The copy grace of client.rs (COPY_GRACE): how long a thread that must leave still waits
 * for a server copying into its buffers. */
enum { COPY_GRACE_MS = 100 };
/* Most honest calls arm this TimerTimeout; every honest thread is signalled this often. */
enum { CALL_TIMEOUT_MS = 100, KICK_MS = 250 };
/* The bound every call must end within: the later of its timeout and the next signal, the
 * copy grace, scheduling slack (ASan, a loaded machine). */
enum { CALL_BOUND_MS = KICK_MS + COPY_GRACE_MS + 700 };
/* A server's death ends every call within this (the service thread's notice plus slack). */
enum { DEATH_BOUND_MS = 1000 };

static const long page = 4096;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The start of the first mapping of this process whose line contains `name`, or NULL. */
static char *map_of(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return NULL;
    char line[512];
    char *at = NULL;
    while (!at && fgets(line, sizeof line, f))
        if (strstr(line, name))
            at = (char *)strtoul(line, NULL, 16);
    fclose(f);
    return at;
}

static void wake_word(void *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ------------------------------------------------------------------------------------ */
/* The fuzzing server                                                                    */

struct fuzz_arg {
    uint64_t seed;
    double seconds;
    int mark_dead; /* mark the channel destroyed in the bell, three quarters through */
};

/* A word of slot `s`'s header (before its data areas). */
static volatile uint32_t *slot_u32(char *conn, int s, int off)
{
    return (volatile uint32_t *)(conn + CONN_SLOTS + (size_t)s * SLOT_SIZE + off);
}

static volatile uint64_t *slot_u64(char *conn, int s, int off)
{
    return (volatile uint64_t *)(conn + CONN_SLOTS + (size_t)s * SLOT_SIZE + off);
}

/* A value a hostile server might write: small, an edge, or anything. */
static uint64_t nasty(uint64_t *x)
{
    static const uint64_t edges[] = {0, 1, INLINE - 1, INLINE, INLINE + 1, 4095, 4096, 65536,
                                     0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull,
                                     (uint64_t)-4095, 0xffffffffull};
    uint64_t r = splitmix(x);
    switch (r % 3) {
    case 0:
        return splitmix(x) % 16;
    case 1:
        return edges[splitmix(x) % (sizeof edges / sizeof edges[0])];
    default:
        return splitmix(x);
    }
}

/* One scribble over slot `s`: a field the client reads, then (often) a state that makes it
 * look, and a wake. */
static void scribble(char *conn, int s, uint64_t *x)
{
    static const int u32s[] = {SL_CLIENT_WAITING, SL_TID, SL_REPLY_FLAGS, SL_AGENT_DIR,
                               SL_UNBLOCK,        SL_COID};
    static const int u64s[] = {SL_STATUS, SL_REPLY_LEN, SL_AGENT_OFFSET, SL_AGENT_LEN,
                               SL_AGENT_RESULT};
    static const uint32_t states[] = {ST_FREE,     ST_SENT,   ST_RECEIVED, ST_REPLIED, ST_FAILED,
                                      ST_COPYING,  ST_AGENT_REQ, 1, 6, 9, 10, 0xdeadbeef};
    uint64_t r = splitmix(x);
    int fields = 1 + (int)(r % 4);
    for (int i = 0; i < fields; i++) {
        uint64_t k = splitmix(x);
        if (k % 3 == 0)
            *slot_u32(conn, s, u32s[(k / 3) % (sizeof u32s / sizeof u32s[0])]) = (uint32_t)nasty(x);
        else if (k % 3 == 1)
            *slot_u64(conn, s, u64s[(k / 3) % (sizeof u64s / sizeof u64s[0])]) = nasty(x);
        else /* any header word but the state */
            *slot_u32(conn, s, 4 + 4 * (int)((k / 3) % (SL_SEND_DATA / 4 - 1))) = (uint32_t)nasty(x);
    }
    if ((r >> 8) % 4 != 0) {
        uint32_t st = states[(r >> 16) % (sizeof states / sizeof states[0])];
        if (st == ST_AGENT_REQ) {
            *slot_u32(conn, s, SL_AGENT_DIR) = (uint32_t)(splitmix(x) % 3);
            *slot_u64(conn, s, SL_AGENT_OFFSET) = nasty(x);
            *slot_u64(conn, s, SL_AGENT_LEN) = nasty(x);
        }
        __atomic_store_n(slot_u32(conn, s, SL_STATE), st, __ATOMIC_SEQ_CST);
        wake_word((void *)slot_u32(conn, s, SL_STATE));
    }
}

/* Keeps slot `s` asking its client for copies, or failing with ERESTART (send it again),
 * for `ms`: a client that wants to leave must not be held by it past the copy grace. */
static void hammer(char *conn, int s, int restart, long long ms, uint64_t *x)
{
    long long end = h_now_ms() + ms;
    volatile uint32_t *st = slot_u32(conn, s, SL_STATE);
    while (h_now_ms() < end) {
        if (restart) {
            *slot_u64(conn, s, SL_STATUS) = ERESTART;
            __atomic_store_n(st, ST_FAILED, __ATOMIC_SEQ_CST);
        } else {
            *slot_u32(conn, s, SL_AGENT_DIR) = (uint32_t)(splitmix(x) % 2);
            *slot_u64(conn, s, SL_AGENT_OFFSET) = splitmix(x) % 8192;
            *slot_u64(conn, s, SL_AGENT_LEN) = splitmix(x) % 8192;
            __atomic_store_n(st, ST_AGENT_REQ, __ATOMIC_SEQ_CST);
        }
        wake_word((void *)st);
    }
}

/* Child, unprivileged: the fuzzing server. Reports its chid; then, once its client has
 * attached, fuzzes for `seconds` and exits (death at a random moment of a call). */
static int fuzz_server(int rd, int wr, void *argp)
{
    (void)rd;
    struct fuzz_arg *a = (struct fuzz_arg *)argp;
    if (h_become(UID_HOSTILE) != 0)
        return 2;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    long long go;
    if (h_try_get(rd, &go, 5000) != 0)
        return 3;
    char *conn = map_of("neutrino-conn");
    char *bell = map_of("neutrino-bell (");
    if (!conn || !bell)
        return 4;
    uint64_t x = a->seed;
    static char data[3 * 4096];
    rcvid_t held[8] = {0};
    long long end = h_now_ms() + (long long)(a->seconds * 1000);
    long long dead_at = end - (long long)(a->seconds * 250);
    while (h_now_ms() < end) {
        uint64_t r = splitmix(&x);
        if (a->mark_dead && h_now_ms() >= dead_at)
            *(volatile uint32_t *)(bell + BELLS_DEAD) = (uint32_t)(r | 1);
        switch (r % 10) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4: { /* receive, then answer some way */
            uint64_t ns = 5 * 1000000ull;
            TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
            rcvid_t rcvid = MsgReceive(chid, data, sizeof data, NULL);
            if (rcvid <= 0)
                break;
            uint64_t how = splitmix(&x) % 6;
            if (how == 0 || how == 1) {
                for (size_t i = 0; i < sizeof data; i += 8)
                    *(uint64_t *)(data + i) = splitmix(&x);
                MsgReply(rcvid, (long)nasty(&x), data, (size_t)(splitmix(&x) % sizeof data));
            } else if (how == 2) {
                static const int errs[] = {0, EOK, ERESTART, EPERM, EFAULT, -1, 4095, 4096, 1 << 30};
                MsgError(rcvid, errs[splitmix(&x) % (sizeof errs / sizeof errs[0])]);
            } else if (how == 3) {
                scribble(conn, (int)(rcvid & (NSLOTS - 1)), &x);
            } else if (how == 4) {
                MsgWrite(rcvid, data, (size_t)(splitmix(&x) % sizeof data), (size_t)nasty(&x) % 8192);
                MsgRead(rcvid, data, sizeof data, (size_t)nasty(&x) % 8192);
            } else {
                /* Leave it unanswered for now; answer an older one. */
                int k = (int)(splitmix(&x) % 8);
                if (held[k] > 0)
                    MsgReply(held[k], 0, data, 16);
                held[k] = rcvid;
            }
            break;
        }
        case 5:
        case 6: { /* a slot in use, or any */
            int s = (int)(splitmix(&x) % NSLOTS);
            for (int i = 0; i < NSLOTS && (r >> 8) % 4 != 0; i++) {
                uint32_t st = __atomic_load_n(slot_u32(conn, (s + i) % NSLOTS, SL_STATE), __ATOMIC_RELAXED);
                if (st != ST_FREE) {
                    s = (s + i) % NSLOTS;
                    break;
                }
            }
            scribble(conn, s, &x);
            break;
        }
        case 8: { /* keep a slot in use asking for copies, or restarting */
            for (int s = 0; s < NSLOTS; s++) {
                uint32_t st = __atomic_load_n(slot_u32(conn, s, SL_STATE), __ATOMIC_RELAXED);
                if (st == ST_SENT || st == ST_RECEIVED) {
                    hammer(conn, s, (int)((r >> 8) & 1), (long long)((r >> 16) % 300), &x);
                    break;
                }
            }
            break;
        }
        case 7: /* the bell's server part but its death flag */
            if ((r >> 16) % 32 != BELLS_DEAD / 4)
                *(volatile uint32_t *)(bell + 4 * ((r >> 16) % 32)) = (uint32_t)nasty(&x);
            break;
        default:
            usleep(200);
            break;
        }
    }
    _exit(0);
}

/* ------------------------------------------------------------------------------------ */
/* Honest clients with guarded buffers                                                   */

/* One page between two inaccessible ones. */
static char *guarded_page(void)
{
    char *m = (char *)mmap(NULL, (size_t)(3 * page), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    mprotect(m, (size_t)page, PROT_NONE);
    mprotect(m + 2 * page, (size_t)page, PROT_NONE);
    return m + page;
}

enum { PARTS = 3, REPLY_PATTERN = 0xc3 };

struct honest {
    int coid;
    pthread_t th;
    atomic_int stop;          /* set when the server has been killed */
    atomic_llong killed_at;   /* when (ms) */
    char *send[PARTS];        /* read-only, patterned */
    char *reply[PARTS];
    uint64_t seed;
    long long calls, ok, worst_ms;
    long long errs[8]; /* ESRCH, ETIMEDOUT, EINTR, EBADF, EIO, other errno, -1 with errno untouched, died */
};

static void on_usr1(int sig) { (void)sig; }

/* A buffer of `len` ≤ page bytes inside guarded page `pg`, against its low or high guard. */
static char *place(char *pg, size_t len, uint64_t r) { return (r & 1) ? pg : pg + page - len; }

static void *honest_client(void *argp)
{
    struct honest *h = (struct honest *)argp;
    uint64_t x = h->seed;
    const int sentinel = 9999; /* errno left untouched: a REPLIED status of -1 */
    for (;;) {
        int stopping = atomic_load(&h->stop);
        iov_t siov[PARTS], riov[PARTS];
        int sparts = 1 + (int)(splitmix(&x) % PARTS), rparts = 1 + (int)(splitmix(&x) % PARTS);
        for (int i = 0; i < sparts; i++) {
            size_t len = (size_t)(splitmix(&x) % (uint64_t)(page + 1));
            SETIOV(&siov[i], place(h->send[i], len, splitmix(&x)), len);
        }
        for (int i = 0; i < rparts; i++) {
            size_t len = (size_t)(splitmix(&x) % (uint64_t)(page + 1));
            memset(h->reply[i], REPLY_PATTERN, (size_t)page);
            SETIOV(&riov[i], place(h->reply[i], len, splitmix(&x)), len);
        }
        if (splitmix(&x) % 4 != 0) {
            uint64_t ns = CALL_TIMEOUT_MS * 1000000ull;
            TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
        }
        long long t0 = h_now_ms();
        errno = sentinel;
        long r = (splitmix(&x) % 2)
                     ? MsgSendv(h->coid, siov, sparts, riov, rparts)
                     : MsgSend(h->coid, GETIOVBASE(&siov[0]), GETIOVLEN(&siov[0]),
                               GETIOVBASE(&riov[0]), GETIOVLEN(&riov[0]));
        int e = errno;
        long long t1 = h_now_ms(), ms = t1 - t0;
        h->calls++;
        h->worst_ms = ms > h->worst_ms ? ms : h->worst_ms;
        if (ms > CALL_BOUND_MS)
            FAIL("seed %#llx: a call lasted %lld ms (bound %d)", (unsigned long long)h->seed, ms,
                 CALL_BOUND_MS);
        long long killed = atomic_load(&h->killed_at);
        if (killed && t1 - (killed > t0 ? killed : t0) > DEATH_BOUND_MS)
            FAIL("a call ended %lld ms after the server's death", t1 - killed);
        if (r != -1) {
            h->ok++;
        } else if (e == 0) {
            FAIL("MsgSend returned -1 with errno 0");
        } else if (e == sentinel) {
            h->errs[6]++;
        } else if (e < 0 || e > 4095) {
            FAIL("MsgSend failed with errno %d, no errno at all", e);
        } else {
            static const int known[] = {ESRCH, ETIMEDOUT, EINTR, EBADF, EIO};
            int k = 5;
            for (int i = 0; i < 5; i++)
                if (e == known[i])
                    k = i;
            h->errs[k]++;
        }
        /* Nothing outside the reply buffers changed. */
        for (int i = 0; i < rparts; i++) {
            char *b = (char *)GETIOVBASE(&riov[i]);
            size_t len = GETIOVLEN(&riov[i]);
            for (char *c = h->reply[i]; c < h->reply[i] + page; c++) {
                if ((c < b || c >= b + len) && (unsigned char)*c != REPLY_PATTERN) {
                    FAIL("byte %ld of reply page %d, outside its buffer [%ld, +%zu), was written",
                         (long)(c - h->reply[i]), i, (long)(b - h->reply[i]), len);
                    break;
                }
            }
        }
        if (r == -1 && e == EBADF)
            h_sleep_ms(1); /* a dead connection fails at once: do not spin */
        /* Stop once the death has been seen (or soon after the kill, whatever came). */
        if (stopping && (r == -1 && (e == ESRCH || e == EBADF)))
            break;
        if (stopping && t1 - killed > DEATH_BOUND_MS) {
            FAIL("calls still end with %ld (%s) %lld ms after the server's death", r,
                 h_errname(e), t1 - killed);
            break;
        }
    }
    return NULL;
}

/* A signaller: every thread of `hs` gets SIGUSR1 every KICK_MS. */
struct kicker {
    struct honest *hs;
    int n;
    atomic_int stop;
};

static void *kick_all(void *argp)
{
    struct kicker *k = (struct kicker *)argp;
    while (!atomic_load(&k->stop)) {
        for (int i = 0; i < k->n; i++) {
            pthread_kill(k->hs[i].th, SIGUSR1);
            h_sleep_ms(KICK_MS / k->n);
        }
    }
    return NULL;
}

enum { HONEST = 3 };

TEST(fuzzing_server_never_breaks_its_clients_bounds)
{
    H_NEED_ROOT();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    static struct honest hs[HONEST];
    for (int i = 0; i < HONEST; i++) {
        for (int j = 0; j < PARTS; j++) {
            hs[i].send[j] = guarded_page();
            hs[i].reply[j] = guarded_page();
            REQUIRE(hs[i].send[j] && hs[i].reply[j]);
            memset(hs[i].send[j], 'A' + j, (size_t)page);
            mprotect(hs[i].send[j], (size_t)page, PROT_READ);
        }
    }
    double total = h_hostile_seconds(1.5);
    int seeds = total < 4 ? 4 : (int)(total / 0.5);
    long long calls = 0, ok = 0, worst = 0, errs[8] = {0};
    for (int k = 0; k < seeds; k++) {
        struct fuzz_arg a = {0x5eed0000ull + (uint64_t)k * 0x9e37ull, total / seeds, k % 4 == 3};
        struct h_proc srv = h_spawn(fuzz_server, &a);
        int chid = (int)h_get(srv.rd, 3000);
        int coid = (int)REQUIRE_OK(ConnectAttach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0));
        h_put(srv.wr, 1);
        struct kicker kk = {hs, HONEST, 0};
        for (int i = 0; i < HONEST; i++) {
            struct honest *h = &hs[i];
            h->coid = coid;
            h->seed = a.seed * 31 + (uint64_t)i;
            atomic_store(&h->stop, 0);
            atomic_store(&h->killed_at, 0);
            h->th = h_thread(honest_client, h);
        }
        pthread_t kt = h_thread(kick_all, &kk);
        /* The server exits at the end of its time, or is killed then. */
        int st = h_wait(srv.pid, (int)(a.seconds * 1000) + 2000);
        long long died = h_now_ms();
        if (st == H_TIMED_OUT) {
            h_kill(srv.pid);
            died = h_now_ms();
        } else if (st != 0) {
            h_note("seed %#llx: the server itself ended with %d", (unsigned long long)a.seed, st);
        }
        for (int i = 0; i < HONEST; i++) {
            atomic_store(&hs[i].killed_at, died);
            atomic_store(&hs[i].stop, 1);
        }
        for (int i = 0; i < HONEST; i++)
            JOIN(hs[i].th, 3 * DEATH_BOUND_MS);
        atomic_store(&kk.stop, 1);
        JOIN(kt, 2000);
        for (int i = 0; i < HONEST; i++) {
            calls += hs[i].calls;
            ok += hs[i].ok;
            worst = hs[i].worst_ms > worst ? hs[i].worst_ms : worst;
            for (int j = 0; j < 8; j++)
                errs[j] += hs[i].errs[j];
            hs[i].calls = hs[i].ok = hs[i].worst_ms = 0;
            memset(hs[i].errs, 0, sizeof hs[i].errs);
        }
        ConnectDetach(coid);
        h_close_proc(&srv);
    }
    h_note("%d seeds, %lld calls: %lld returned, ESRCH %lld, ETIMEDOUT %lld, EINTR %lld, EBADF %lld, "
           "EIO %lld, other errno %lld, status -1 %lld; longest %lld ms (bound %d)",
           seeds, calls, ok, errs[0], errs[1], errs[2], errs[3], errs[4], errs[5], errs[6], worst,
           CALL_BOUND_MS);
    /* The fuzz reached the client: replies, failures and every way out were seen. */
    CHECK(ok > 0);
    CHECK(errs[0] + errs[3] > 0);
    CHECK(errs[1] > 0);
}

/* Child, unprivileged: receives one message and hammers its slot for 2 s. */
static int hammering_server(int rd, int wr, void *argp)
{
    (void)rd;
    int restart = *(int *)argp;
    if (h_become(UID_HOSTILE) != 0)
        return 2;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    char buf[64];
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, NULL);
    char *conn = map_of("neutrino-conn");
    if (rcvid <= 0 || !conn)
        return 3;
    uint64_t x = 1;
    hammer(conn, (int)(rcvid & (NSLOTS - 1)), restart, 2000, &x);
    return 0;
}

/* A server that keeps a message asking for copies, or failing it with ERESTART over and
 * over, holds its client no longer than the copy grace past the client's timeout or
 * signal. */
TEST(server_asking_for_ever_is_left_at_timeout_and_signal)
{
    H_NEED_ROOT();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    static struct honest h;
    for (int j = 0; j < PARTS; j++) {
        h.send[j] = guarded_page();
        h.reply[j] = guarded_page();
        REQUIRE(h.send[j] && h.reply[j]);
    }
    for (int restart = 0; restart <= 1; restart++) {
        for (int signal = 0; signal <= 1; signal++) {
            struct h_proc srv = h_spawn(hammering_server, &restart);
            int chid = (int)h_get(srv.rd, 3000);
            int coid = (int)REQUIRE_OK(ConnectAttach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0));
            struct kicker kk = {&h, 1, 0};
            pthread_t kt = 0;
            h.th = pthread_self();
            if (signal)
                kt = h_thread(kick_all, &kk);
            else {
                uint64_t ns = CALL_TIMEOUT_MS * 1000000ull;
                TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
            }
            memset(h.reply[0], REPLY_PATTERN, (size_t)page);
            long long t0 = h_now_ms();
            long r = MsgSend(coid, h.send[0], 64, h.reply[0] + 64, 64);
            int e = errno;
            long long ms = h_now_ms() - t0;
            int want = signal ? EINTR : ETIMEDOUT;
            if (r != -1 || e != want)
                FAIL("%s, %s: MsgSend returned %ld (%s), want -1 %s",
                     restart ? "ERESTART" : "agent requests", signal ? "signal" : "timeout", r,
                     h_errname(e), h_errname(want));
            if (ms > (signal ? KICK_MS : CALL_TIMEOUT_MS) + COPY_GRACE_MS + 300)
                FAIL("%s: MsgSend lasted %lld ms", restart ? "ERESTART" : "agent requests", ms);
            for (int i = 0; i < page; i++)
                if ((i < 64 || i >= 128) && (unsigned char)h.reply[0][i] != REPLY_PATTERN) {
                    FAIL("byte %d of the reply page, outside the buffer, was written", i);
                    break;
                }
            if (kt) {
                atomic_store(&kk.stop, 1);
                JOIN(kt, 2000);
            }
            h_kill(srv.pid);
            ConnectDetach(coid);
            h_close_proc(&srv);
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* All 32 slots in use                                                                   */

/* Child: a channel nobody receives on, until the parent says. */
static int silent_server(int rd, int wr, void *argp)
{
    (void)argp;
    h_put(wr, ChannelCreate(0));
    long long quit;
    h_try_get(rd, &quit, 20000);
    return 0;
}

struct blocker {
    int coid;
    pthread_t th;
    long r;
    int e;
    long long ended;
};

static void *block_in_send(void *argp)
{
    struct blocker *b = (struct blocker *)argp;
    char m[8] = "block", rp[8];
    b->r = MsgSend(b->coid, m, sizeof m, rp, sizeof rp);
    b->e = errno;
    b->ended = h_now_ms();
    return NULL;
}

static pthread_t to_kick;
static atomic_int kicked_out; /* the kicked call has returned */
/* SIGUSR1 to `to_kick` after `arg` ms, and once more 400 ms later if its call is still
 * blocked: a signal that lands in the few instructions between a blocked call's unmasking
 * and its sleep runs its handler without ending the call (README, "Known limits"). */
static void *kick_once(void *arg)
{
    h_sleep_ms((long)(intptr_t)arg);
    for (int i = 0; i < 2 && !atomic_load(&kicked_out); i++) {
        if (i > 0)
            h_note("the first SIGUSR1 fell in the unmask-to-sleep window: sent again");
        pthread_kill(to_kick, SIGUSR1);
        h_sleep_ms(400);
    }
    return NULL;
}

/* With every slot of the connection taken by a message the server does not receive, the
 * next MsgSend waits SEND-blocked for a slot, and TimerTimeout, SIGEV_UNBLOCK's kernel
 * timeout, a signal and the server's death end that wait as they end any SEND-blocked call. */
TEST(all_slots_taken_next_send_honours_timeout_signal_and_death)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct h_proc srv = h_spawn(silent_server, NULL);
    int chid = (int)h_get(srv.rd, 3000);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0));
    static struct blocker bs[NSLOTS];
    for (int i = 0; i < NSLOTS; i++) {
        bs[i].coid = coid;
        bs[i].th = h_thread(block_in_send, &bs[i]);
    }
    h_settle(0, 3000);
    char m[8] = "next", rp[8];

    uint64_t ns = 200 * 1000000ull;
    CHECK_OK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, NULL, &ns, NULL));
    long long t0 = h_now_ms();
    CHECK_ERR(MsgSend(coid, m, sizeof m, rp, sizeof rp), ETIMEDOUT);
    long long ms = h_now_ms() - t0;
    if (ms < 150 || ms > 1000)
        FAIL("the 33rd MsgSend timed out after %lld ms, want about 200", ms);

    /* A reply timeout does not end a SEND-blocked wait: the signal does. */
    ns = 100 * 1000000ull;
    CHECK_OK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_REPLY, NULL, &ns, NULL));
    to_kick = pthread_self();
    atomic_store(&kicked_out, 0);
    pthread_t k = h_thread(kick_once, (void *)(intptr_t)300);
    t0 = h_now_ms();
    CHECK_ERR(MsgSend(coid, m, sizeof m, rp, sizeof rp), EINTR);
    atomic_store(&kicked_out, 1);
    ms = h_now_ms() - t0;
    if (ms < 250 || ms > 1000)
        FAIL("the 33rd MsgSend was interrupted after %lld ms, want about 300", ms);
    JOIN(k, 2000);

    /* Death: the waiting sender and every blocked one end with ESRCH. */
    struct blocker extra = {coid, 0, 0, 0, 0};
    extra.th = h_thread(block_in_send, &extra);
    h_settle(0, 3000);
    long long killed = h_now_ms();
    h_kill(srv.pid);
    JOIN(extra.th, 3000);
    for (int i = 0; i < NSLOTS; i++)
        JOIN(bs[i].th, 3000);
    if (extra.r != -1 || extra.e != ESRCH)
        FAIL("the waiting sender ended with %ld (%s), want ESRCH", extra.r, h_errname(extra.e));
    if (extra.ended - killed > DEATH_BOUND_MS)
        FAIL("the waiting sender saw the death after %lld ms", extra.ended - killed);
    for (int i = 0; i < NSLOTS; i++)
        if (bs[i].r != -1 || bs[i].e != ESRCH) {
            FAIL("blocked sender %d ended with %ld (%s), want ESRCH", i, bs[i].r, h_errname(bs[i].e));
            break;
        }
    ConnectDetach(coid);
    h_close_proc(&srv);
}

/* ------------------------------------------------------------------------------------ */
/* Events aimed at threads                                                               */

static atomic_int usr2_by[2]; /* SIGUSR2 taken by the client thread [0], the bystander [1] */
static __thread int who = -1;
static void on_usr2(int sig)
{
    (void)sig;
    if (who >= 0)
        atomic_fetch_add(&usr2_by[who], 1);
}

/* Child: its first message's slot gets the bystander's tid written over the client's before
 * it receives it; then it aims SIGEV_UNBLOCK and SIGEV_SIGNAL_THREAD at that rcvid (each
 * refused), replies, and aims at its real client: SIGEV_UNBLOCK during its second call,
 * SIGEV_SIGNAL_THREAD after replying to its third. Reports each MsgDeliverEvent's errno. */
static int tid_forger(int rd, int wr, void *argp)
{
    (void)argp;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    long long bystander = h_get(rd, 5000);
    char *conn = NULL;
    for (int i = 0; i < 500 && !conn; i++, h_sleep_ms(5))
        conn = map_of("neutrino-conn");
    if (!conn)
        return 3;
    int s = -1;
    for (int i = 0; i < 2000 && s < 0; i++, usleep(1000))
        for (int k = 0; k < NSLOTS; k++)
            if (__atomic_load_n(slot_u32(conn, k, SL_STATE), __ATOMIC_ACQUIRE) == ST_SENT)
                s = k;
    if (s < 0)
        return 4;
    *slot_u32(conn, s, SL_TID) = (uint32_t)bystander;
    char buf[16];
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, NULL);
    if (rcvid <= 0)
        return 5;
    struct sigevent unblock, sig;
    SIGEV_UNBLOCK_INIT(&unblock);
    SIGEV_SIGNAL_THREAD_INIT(&sig, SIGUSR2, 0, 0);
    h_put(wr, MsgDeliverEvent(rcvid, &unblock) == -1 ? errno : 0);
    h_put(wr, MsgDeliverEvent(rcvid, &sig) == -1 ? errno : 0);
    MsgReply(rcvid, 1, NULL, 0);
    rcvid = MsgReceive(chid, buf, sizeof buf, NULL);
    if (rcvid <= 0)
        return 6;
    h_put(wr, MsgDeliverEvent(rcvid, &unblock) == -1 ? errno : 0);
    rcvid = MsgReceive(chid, buf, sizeof buf, NULL);
    if (rcvid <= 0)
        return 7;
    MsgReply(rcvid, 3, NULL, 0);
    h_put(wr, MsgDeliverEvent(rcvid, &sig) == -1 ? errno : 0);
    h_get(rd, 5000);
    return 0;
}

struct bystander {
    atomic_int tid;
    long r;
    int e;
    long long ms;
};

/* Blocked in MsgReceive on a channel of its own, for 1.5 s. */
static void *bystand(void *argp)
{
    struct bystander *b = (struct bystander *)argp;
    who = 1;
    int chid = ChannelCreate(0);
    atomic_store(&b->tid, h_gettid());
    uint64_t ns = 1500 * 1000000ull;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    long long t0 = h_now_ms();
    char buf[16];
    b->r = MsgReceive(chid, buf, sizeof buf, NULL);
    b->e = errno;
    b->ms = h_now_ms() - t0;
    ChannelDestroy(chid);
    return NULL;
}

TEST(server_cannot_unblock_or_signal_a_thread_that_is_not_its_client)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    who = 0;
    struct bystander b = {0};
    pthread_t bt = h_thread(bystand, &b);
    while (!atomic_load(&b.tid))
        h_sleep_ms(1);
    struct h_proc srv = h_spawn(tid_forger, NULL);
    int chid = (int)h_get(srv.rd, 3000);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0));
    h_put(srv.wr, atomic_load(&b.tid));
    CHECK_EQ(MsgSend(coid, "forged", 7, NULL, 0), 1);
    CHECK_EQ(h_get(srv.rd, 3000), ESRCH); /* SIGEV_UNBLOCK at the bystander */
    CHECK_EQ(h_get(srv.rd, 3000), ESRCH); /* SIGEV_SIGNAL_THREAD at the bystander */
    /* Its real client thread: unblocked during the call, signalled after the reply. */
    CHECK_ERR(MsgSend(coid, "honest", 7, NULL, 0), ETIMEDOUT);
    CHECK_EQ(h_get(srv.rd, 3000), 0);
    CHECK_EQ(MsgSend(coid, "honest", 7, NULL, 0), 3);
    CHECK_EQ(h_get(srv.rd, 3000), 0);
    for (int i = 0; i < 200 && atomic_load(&usr2_by[0]) < 1; i++)
        h_sleep_ms(5);
    CHECK_EQ(atomic_load(&usr2_by[0]), 1);
    h_put(srv.wr, 1);
    JOIN(bt, 3000);
    /* The bystander slept its whole timeout, unsignalled. */
    CHECK_EQ(b.r, -1);
    CHECK_EQ(b.e, ETIMEDOUT);
    if (b.ms < 1400)
        FAIL("the bystander's MsgReceive ended after %lld ms, want its 1500 ms timeout", b.ms);
    CHECK_EQ(atomic_load(&usr2_by[1]), 0);
    CHECK_EQ(h_wait(srv.pid, 3000), 0);
    ConnectDetach(coid);
    h_close_proc(&srv);
}

HARNESS_MAIN
