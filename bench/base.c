/*
 * base.c - the baselines every libneutrino row is compared with, measured in the same
 * run: Unix sockets (what a port would reach for), a pipe, memcpy, and the shared-memory
 * spin ping-pong that is the hardware floor of any cross-CPU round trip.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

static int read_full(int fd, void *buf, size_t n)
{
    size_t  got = 0;
    ssize_t r;

    while (got < n) {
        r = read(fd, (char *)buf + got, n - got);
        if (r <= 0) {
            if (r == -1 && errno == EINTR && !watchdog_fired) {
                continue;
            }
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    size_t  done = 0;
    ssize_t r;

    while (done < n) {
        r = write(fd, (const char *)buf + done, n - done);
        if (r <= 0) {
            if (r == -1 && errno == EINTR && !watchdog_fired) {
                continue;
            }
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

/* --- a peer process on a socket pair or pipes ------------------------------ */

enum { ECHO, SINK, BULK_ACK };

typedef struct {
    int            wfd, rfd;            /* ours */
    pid_t          pid;
    size_t         bytes;
    unsigned char *buf;
} peer_t;

/* The peer: ECHO sends each message back (datagrams, or `bytes` of a stream); SINK
 * counts `bytes`-sized datagrams and answers a 1-byte one with the count; BULK_ACK reads
 * BULK bytes of a stream, then answers one byte. Ends at EOF. */
static void peer_main(int rfd, int wfd, int mode, size_t bytes, int stream)
{
    unsigned char *buf = malloc(BULK);
    uint64_t       count = 0;
    ssize_t        r;

    if (buf == NULL) {
        _exit(1);
    }
    for (;;) {
        if (stream) {
            size_t want = mode == BULK_ACK ? BULK : bytes;

            if (read_full(rfd, buf, want) != 0) {
                _exit(0);
            }
            r = mode == BULK_ACK ? 1 : (ssize_t)want;
        } else if ((r = read(rfd, buf, BULK)) <= 0) {
            _exit(r == 0 ? 0 : 1);
        }
        if (mode == SINK) {
            if (r != 1) {
                count++;
                continue;
            }
            if (write_full(wfd, &count, sizeof count) != 0) {
                _exit(1);
            }
        } else if (write_full(wfd, buf, (size_t)r) != 0) {
            _exit(1);
        }
    }
}

/* type: SOCK_SEQPACKET, SOCK_STREAM, or 0 for a pair of pipes. */
static int peer_start(peer_t *p, int type, int mode, size_t bytes)
{
    int a[2], b[2] = { -1, -1 };

    memset(p, 0, sizeof *p);
    p->bytes = bytes;
    if (type ? socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, a) == -1
             : pipe2(a, O_CLOEXEC) == -1 || pipe2(b, O_CLOEXEC) == -1) {
        return fail("socketpair/pipe: %s", strerror(errno));
    }
    p->pid = fork_child();
    if (p->pid == 0) {
        if (type) {
            close(a[0]);
            peer_main(a[1], a[1], mode, bytes, type == SOCK_STREAM);
        }
        close(a[1]);
        close(b[0]);
        peer_main(a[0], b[1], mode, bytes, 1);
    }
    if (type) {
        close(a[1]);
        p->wfd = p->rfd = a[0];
    } else {
        close(a[0]);
        close(b[1]);
        p->wfd = a[1];
        p->rfd = b[0];
    }
    if (p->pid == -1) {
        return fail("fork: %s", strerror(errno));
    }
    p->buf = malloc(BULK);
    if (p->buf == NULL) {
        return fail("out of memory");
    }
    memset(p->buf, 0x5a, BULK);
    return 0;
}

static int peer_stop(peer_t *p)
{
    int ok = 0;

    close(p->wfd);                              /* EOF ends the peer */
    if (p->rfd != p->wfd) {
        close(p->rfd);
    }
    if (p->pid > 0) {
        ok = reap_ok(p->pid, "baseline peer process");
    }
    free(p->buf);
    return ok;
}

/* `bytes` there and back. */
static int echo_run(void *vp, long n, uint32_t *lat)
{
    peer_t  *p = vp;
    uint64_t t0 = 0;
    long     i;

    for (i = 0; i < n; i++) {
        if (lat) {
            t0 = now_ns();
        }
        if (write_full(p->wfd, p->buf, p->bytes) != 0 || read_full(p->rfd, p->buf, p->bytes) != 0) {
            return fail("echo: %s", strerror(errno));
        }
        if (lat) {
            lat[i] = (uint32_t)(now_ns() - t0);
        }
    }
    return 0;
}

/* n datagrams one way, then a 1-byte one that the peer answers once it has read all. */
static int sink_run(void *vp, long n, uint32_t *lat)
{
    peer_t  *p = vp;
    uint64_t count;
    long     i;

    (void)lat;
    for (i = 0; i < n; i++) {
        if (write(p->wfd, p->buf, p->bytes) != (ssize_t)p->bytes) {
            return fail("socket write: %s", strerror(errno));
        }
    }
    if (write(p->wfd, p->buf, 1) != 1 || read_full(p->rfd, &count, sizeof count) != 0) {
        return fail("socket sync: %s", strerror(errno));
    }
    return 0;
}

/* BULK bytes through a stream, acknowledged by one byte. */
static int bulk_run(void *vp, long n, uint32_t *lat)
{
    peer_t *p = vp;
    long    i;

    (void)lat;
    for (i = 0; i < n; i++) {
        if (write_full(p->wfd, p->buf, BULK) != 0 || read_full(p->rfd, p->buf, 1) != 0) {
            return fail("socket bulk: %s", strerror(errno));
        }
    }
    return 0;
}

static void run_peer(row_t *row, int type, int mode, run_fn run)
{
    peer_t p;
    int    ok = peer_start(&p, type, mode, row->bytes);

    if (ok == 0) {
        ok = measure(row, run, &p);
    }
    if (peer_stop(&p) != 0) {
        ok = -1;
    }
    row_done(row, ok);
}

void run_socket_rt(row_t *r)
{
    run_peer(r, SOCK_SEQPACKET, ECHO, echo_run);
}

void run_socket_oneway(row_t *r)
{
    run_peer(r, SOCK_SEQPACKET, SINK, sink_run);
    if (r->status == ROW_OK) {
        fig_add(r, "rate", 1.0 / r->median, "M/s");
    }
}

void run_socket_bulk(row_t *r)
{
    run_peer(r, SOCK_STREAM, BULK_ACK, bulk_run);
    if (r->status == ROW_OK) {
        fig_add(r, "throughput", (double)BULK / r->median / 1e3, "GB/s");
    }
}

void run_pipe_rt(row_t *r)
{
    run_peer(r, 0, ECHO, echo_run);
}

/* --- memcpy of 1 MiB ------------------------------------------------------------ */

typedef struct {
    unsigned char *src, *dst;
} copy_t;

static int memcpy_run(void *vc, long n, uint32_t *lat)
{
    copy_t *c = vc;
    long    i;

    (void)lat;
    for (i = 0; i < n; i++) {
        memcpy(c->dst, c->src, BULK);
        __asm__ __volatile__("" ::"r"(c->dst) : "memory");
    }
    return 0;
}

void run_memcpy(row_t *r)
{
    copy_t c = { malloc(BULK), malloc(BULK) };
    int    ok = c.src && c.dst ? 0 : fail("out of memory");

    if (ok == 0) {
        memset(c.src, 0x5a, BULK);
        memset(c.dst, 0, BULK);
        ok = measure(r, memcpy_run, &c);
    }
    free(c.src);
    free(c.dst);
    row_done(r, ok);
    if (r->status == ROW_OK) {
        fig_add(r, "throughput", (double)BULK / r->median / 1e3, "GB/s");
    }
}

/* --- the floor: two processes bouncing a cache line (and the payload) --------- */

#define SPIN_QUIT UINT64_MAX

/* A counter word on its own cache line, then the request and the reply areas. */
typedef struct {
    _Alignas(64) uint64_t word;
    _Alignas(64) unsigned char req[MAX_MSG];
    _Alignas(64) unsigned char rep[MAX_MSG];
} spin_shm_t;

typedef struct {
    spin_shm_t    *s;
    uint64_t       v;
    size_t         bytes;
    int            relay;       /* each side copies into its own buffer too */
    unsigned char *buf;
    unsigned char *in;          /* where a relaying client copies the reply to */
} spin_ctx_t;

/* Page-aligned, as the shared areas are: glibc's memcpy can be many times slower between
 * buffers at some distances modulo the page (bench/README.md), which is no floor. */
static unsigned char *spin_buffer(void)
{
    return aligned_alloc(4096, MAX_MSG);
}

static uint64_t spin_wait_change(uint64_t *w, uint64_t old)
{
    uint64_t x;
    unsigned spins = 0;

    while ((x = __atomic_load_n(w, __ATOMIC_ACQUIRE)) == old) {
        cpu_relax();
        /* Never livelock when both ends share one CPU: yield every ~0.1 ms. */
        if (++spins == (1u << 12)) {
            spins = 0;
            sched_yield();
            if (watchdog_fired) {
                return old;
            }
        }
    }
    return x;
}

/* One round trip: the payload is copied into the request area (the single copy to the
 * server), the server copies it into the reply area (the single copy back), and we read
 * the reply's last byte. Relaying, each side also copies what it takes out of the shared
 * areas into its own buffer, as a message passed through shared memory must be: four
 * copies, the fewest for a message between two private buffers without a system call. */
static int spin_run(void *vc, long n, uint32_t *lat)
{
    spin_ctx_t *c = vc;
    uint64_t    t0 = 0;
    long        i;

    for (i = 0; i < n; i++) {
        if (lat) {
            t0 = now_ns();
        }
        if (c->relay) {
            memcpy(c->s->req, c->buf, c->bytes);
        } else if (c->bytes > 8) {
            memcpy(c->s->req, c->buf, c->bytes);
        }
        c->v++;                                 /* odd: our turn is over */
        __atomic_store_n(&c->s->word, c->v, __ATOMIC_RELEASE);
        if (spin_wait_change(&c->s->word, c->v) != c->v + 1) {
            return fail(watchdog_fired ? "spin partner stopped answering" : "spin protocol broken");
        }
        c->v++;
        if (c->relay) {
            memcpy(c->in, c->s->rep, c->bytes);
        }
        if (c->bytes > 8 && (c->relay ? c->in : c->s->rep)[c->bytes - 1] != 0x5a) {
            return fail("spin payload corrupted");
        }
        if (lat) {
            lat[i] = (uint32_t)(now_ns() - t0);
        }
    }
    return 0;
}

static void spin_rt(row_t *row, int relay)
{
    spin_ctx_t c = { .relay = relay };
    pid_t      pid;
    int        ok;

    c.s = mmap(NULL, sizeof *c.s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c.s == MAP_FAILED) {
        row_done(row, fail("mmap: %s", strerror(errno)));
        return;
    }
    c.bytes = row->bytes;
    pid = fork_child();
    if (pid == 0) {
        uint64_t       seen = 0, x;
        unsigned char *mine = relay ? spin_buffer() : NULL;

        if (relay && !mine) {
            _exit(1);
        }
        for (;;) {
            x = spin_wait_change(&c.s->word, seen);
            if (x == SPIN_QUIT) {
                _exit(0);
            }
            if (x & 1) {
                if (relay) {
                    memcpy(mine, c.s->req, c.bytes);
                    memcpy(c.s->rep, mine, c.bytes);
                } else if (c.bytes > 8) {
                    memcpy(c.s->rep, c.s->req, c.bytes);
                }
                __atomic_store_n(&c.s->word, x + 1, __ATOMIC_RELEASE);
                seen = x + 1;
            } else {
                seen = x;
            }
        }
    }
    c.buf = spin_buffer();
    c.in = spin_buffer();
    ok = pid == -1 ? fail("fork: %s", strerror(errno)) : c.buf && c.in ? 0 : fail("out of memory");
    if (ok == 0) {
        memset(c.buf, 0x5a, MAX_MSG);
        ok = measure(row, spin_run, &c);
    }
    __atomic_store_n(&c.s->word, SPIN_QUIT, __ATOMIC_RELEASE);
    if (pid > 0 && reap_ok(pid, "spin partner") != 0) {
        ok = -1;
    }
    free(c.buf);
    free(c.in);
    munmap(c.s, sizeof *c.s);
    row_done(row, ok);
}

void run_spin_rt(row_t *row)
{
    spin_rt(row, 0);
}

void run_spin_relay_rt(row_t *row)
{
    spin_rt(row, 1);
}
