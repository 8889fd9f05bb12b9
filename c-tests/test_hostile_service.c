/*
 * test_hostile_service.c - hostile peers against a process's service thread (issue 16,
 * items 6, 7 and 11).  A root server process, unprivileged attackers (uid 65534) and honest
 * clients of another user (uid 65533) that verify every reply and measure their delays:
 *
 *  - a flooder writes requests to the server's control socket (\0neutrino.<pid>) and never
 *    reads the answers: the server drops it, its honest clients keep attaching and sending,
 *    fork() in the server returns, the service thread stays idle, and a SIGKILLed server is
 *    still noticed (MsgSend -> ESRCH);
 *  - a flooder opens plain connections until it is out of descriptors, then the server runs
 *    out of its own: attaches fail or succeed promptly, never hang, the service thread does
 *    not spin, and attaches work again once descriptors are free;
 *  - a user attaches connections until refused (EAGAIN): the per-process and per-user
 *    limits hold and another user's client still attaches;
 *  - an untrusted user's plain connection that never attaches is closed after 3 s, root's
 *    is not, and another user's client that attached keeps its link past that;
 *  - MsgDeliverEvent to a SIGSTOPped client returns within the library's bound, the event
 *    arrives when the client runs again, and the late answer is never taken for the next
 *    request's.
 */
#include "harness.h"
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#define UID_BAD 65534
#define UID_HONEST 65533
/* The library's bounds (src/transport/link.rs, src/kernel/server.rs). */
#define REQUEST_PATIENCE_MS 2000
#define LINKS_PER_PROCESS 4
#define CONNS_PER_PROCESS 1024
#define CONNS_PER_USER 4096
#define UNPROVEN_LINK_MS 3000
/* What an honest call may take while an attack runs: well under the request bound. */
#define HONEST_BOUND_MS 1000
/* How long a helper process waits for its next command: longer than any attack. */
#define HOLD_MS ((int)(h_hostile_seconds(0.5) * 1000) + 60000)

/* A control-socket request as the library lays it out (struct Request, 112 bytes). */
struct raw_request {
    uint32_t op;
    int32_t chid;
    uint32_t flags;
    int32_t scoid;
    int32_t priority;
    int32_t code;
    uint64_t value;
    uint64_t ticket;
    int32_t tid;
    uint32_t seq;
    uint64_t event[8];
};

/* A socket connected to process `pid`'s control socket, or -1. */
static int control_socket(pid_t pid)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "neutrino.%d", (int)pid);
    if (connect(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* CPU time (ms) the server's `neutrino-svc` thread has used; -1 if not found. */
static long long svc_cpu_ms(pid_t pid)
{
    char path[320];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long long ms = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && ms < 0) {
        if (e->d_name[0] == '.')
            continue;
        char buf[512];
        snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *open = strchr(buf, '('), *close_ = strrchr(buf, ')');
        if (!open || !close_ || strncmp(open + 1, "neutrino-svc", 12) != 0)
            continue;
        unsigned long long ut = 0, st = 0;
        /* After the name: state, then fields 4..13, then utime and stime. */
        if (sscanf(close_ + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
            ms = (long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
    }
    closedir(d);
    return ms;
}

/* ------------------------------------------------------------------------------------ */
/* The server: root, a receiving channel and one nobody receives on                     */

enum { CMD_QUIT = 1, CMD_FORK, CMD_EAT_FDS, CMD_FREE_FDS, CMD_LIMIT_FDS };

static int server_body(int rd, int wr, void *arg)
{
    (void)arg;
    static struct h_server_stats st;
    st.chid = (int)REQUIRE_OK(ChannelCreate(0));
    int silent = (int)REQUIRE_OK(ChannelCreate(0));
    for (int i = 0; i < 2; i++)
        pthread_detach(h_thread(h_echo_server, &st));
    h_put(wr, st.chid);
    h_put(wr, silent);
    int eaten[4096], neaten = 0;
    for (;;) {
        long long cmd;
        if (h_try_get(rd, &cmd, HOLD_MS) != 0 || cmd == CMD_QUIT)
            break;
        if (cmd == CMD_FORK) {
            long long t0 = h_now_us();
            pid_t c = fork();
            if (c == 0)
                _exit(0);
            long long took = h_now_us() - t0;
            h_wait(c, 5000);
            h_put(wr, c > 0 ? took : -1);
        } else if (cmd == CMD_LIMIT_FDS) {
            struct rlimit r = {256, 256};
            h_put(wr, setrlimit(RLIMIT_NOFILE, &r));
        } else if (cmd == CMD_EAT_FDS) {
            int fd;
            while (neaten < 4096 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
                eaten[neaten++] = fd;
            h_put(wr, neaten);
        } else if (cmd == CMD_FREE_FDS) {
            while (neaten > 0)
                close(eaten[--neaten]);
            h_put(wr, 0);
        }
    }
    return 0;
}

struct server {
    struct h_proc p;
    int chid, silent;
};

static struct server start_server(void)
{
    struct server s;
    s.p = h_spawn(server_body, NULL);
    s.chid = (int)h_get(s.p.rd, 5000);
    s.silent = (int)h_get(s.p.rd, 5000);
    return s;
}

static long long server_cmd(struct server *s, long long cmd)
{
    h_put(s->p.wr, cmd);
    return h_get(s->p.rd, 10000);
}

/* fork() in the server returns at once, whatever its service thread faces. */
static void check_server_forks(struct server *s)
{
    long long us = server_cmd(s, CMD_FORK);
    h_note("fork() in the server took %lld us", us);
    CHECK(us >= 0 && us < HONEST_BOUND_MS * 1000LL);
}

/* The service thread does not spin: its CPU time over one second is below `max_ms`. */
static void check_svc_cpu(struct server *s, const char *what, long long max_ms)
{
    long long before = svc_cpu_ms(s->p.pid);
    h_sleep_ms(1000);
    long long used = svc_cpu_ms(s->p.pid) - before;
    h_note("%s: service thread used %lld ms of CPU in 1 s", what, used);
    CHECK(before >= 0);
    CHECK(used < max_ms);
}

/* ------------------------------------------------------------------------------------ */
/* Honest clients (uid 65533)                                                            */

struct honest_arg {
    pid_t server;
    int chid;
    double seconds;
};

/* Attaches, sends a verified message, detaches, again and again: reports the number of
 * rounds, the failures and the slowest round (us). */
static int honest_body(int rd, int wr, void *argp)
{
    (void)rd;
    struct honest_arg *a = (struct honest_arg *)argp;
    if (h_become(UID_HONEST) != 0)
        return 1;
    long long end = h_now_ms() + (long long)(a->seconds * 1000), worst = 0, rounds = 0, bad = 0;
    unsigned seed = 1;
    do {
        long long t0 = h_now_us();
        int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE);
        if (coid == -1) {
            bad++;
            h_failf(__FILE__, __LINE__, "honest ConnectAttach: %s", h_errname(errno));
        } else {
            char msg[64], back[64];
            h_fill(msg, sizeof msg, seed);
            long r = MsgSend(coid, msg, sizeof msg, back, sizeof back);
            if (r != (long)sizeof msg || h_verify(back, sizeof back, seed, 0) >= 0) {
                bad++;
                h_failf(__FILE__, __LINE__, "honest MsgSend: %ld (%s)", r, h_errname(errno));
            }
            ConnectDetach(coid);
        }
        long long took = h_now_us() - t0;
        worst = took > worst ? took : worst;
        rounds++;
        seed++;
        h_sleep_ms(5);
    } while (h_now_ms() < end);
    h_put(wr, rounds);
    h_put(wr, bad);
    h_put(wr, worst);
    return 0;
}

static void run_honest(struct server *s, double seconds, const char *what)
{
    struct honest_arg a = {s->p.pid, s->chid, seconds};
    struct h_proc h = h_spawn(honest_body, &a);
    long long rounds = h_get(h.rd, (int)(seconds * 1000) + 20000);
    long long bad = h_get(h.rd, 1000), worst = h_get(h.rd, 1000);
    h_note("%s: %lld honest rounds (attach, send, detach), %lld failed, slowest %lld us", what, rounds,
           bad, worst);
    CHECK(rounds > 0);
    CHECK_EQ(bad, 0);
    CHECK(worst < HONEST_BOUND_MS * 1000LL);
    CHECK_CHILD_OK(h.pid, 5000);
    h_close_proc(&h);
}

/* A client SEND-blocked on the server's silent channel; reports when it got ESRCH. */
static int blocked_body(int rd, int wr, void *argp)
{
    (void)rd;
    struct server *s = (struct server *)argp;
    if (h_become(UID_HONEST) != 0)
        return 1;
    int coid = (int)REQUIRE_OK(ConnectAttach(0, s->p.pid, s->silent, _NTO_SIDE_CHANNEL, 0));
    h_put(wr, 1);
    errno = 0;
    long r = MsgSend(coid, "x", 1, NULL, 0);
    int e = errno;
    h_put(wr, h_now_ms());
    CHECK_EQ(r, -1);
    CHECK_EQ(e, ESRCH);
    return 0;
}

/* Kills the server while a client is SEND-blocked on it: the client learns it at once. */
static void kill_server_noticed(struct server *s)
{
    struct h_proc b = h_spawn(blocked_body, s);
    h_get(b.rd, 5000);
    h_sleep_ms(50);
    long long killed = h_now_ms();
    h_kill(s->p.pid);
    long long noticed = h_get(b.rd, REQUEST_PATIENCE_MS + 5000);
    h_note("a SIGKILLed server was noticed by its blocked client in %lld ms", noticed - killed);
    CHECK(noticed - killed < HONEST_BOUND_MS);
    CHECK_CHILD_OK(b.pid, 5000);
    h_close_proc(&b);
    h_close_proc(&s->p);
}

/* ------------------------------------------------------------------------------------ */
/* Flooders (uid 65534)                                                                  */

/* Writes requests to the server's control socket and never reads an answer: each socket
 * until the kernel will take no more, then the next, reopening the ones the server
 * closed.  Commands: 'h' holds the sockets without writing, 'f' floods again, 'q' ends.
 * Reports how many requests it wrote. */
static int write_flooder(int rd, int wr, void *argp)
{
    pid_t server = *(pid_t *)argp;
    if (h_become(UID_BAD) != 0)
        return 1;
    enum { SOCKS = 8 };
    int fds[SOCKS];
    for (int i = 0; i < SOCKS; i++)
        fds[i] = -1;
    struct raw_request req;
    memset(&req, 0, sizeof req);
    req.op = 99; /* unknown: answered EINVAL */
    long long written = 0;
    int announced = 0;
    char mode = 'f';
    fcntl(rd, F_SETFL, O_NONBLOCK);
    while (mode != 'q') {
        for (int i = 0; i < SOCKS && mode == 'f'; i++) {
            if (fds[i] < 0)
                fds[i] = control_socket(server);
            if (fds[i] < 0)
                continue;
            for (;;) {
                req.seq++;
                if (send(fds[i], &req, sizeof req, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof req) {
                    written++;
                    continue;
                }
                if (errno != EAGAIN) { /* dropped or refused: open another */
                    close(fds[i]);
                    fds[i] = -1;
                }
                break;
            }
        }
        if (written > 0 && !announced) {
            h_put(wr, written);
            announced = 1;
        }
        char c;
        if (read(rd, &c, 1) == 1)
            mode = c;
        h_sleep_ms(20);
    }
    h_put(wr, written);
    return 0;
}

static void tell(struct h_proc *p, char c)
{
    CHECK_EQ(write(p->wr, &c, 1), 1);
}

TEST(write_flood_never_blocks_the_service_thread)
{
    H_NEED_ROOT();
    struct server s = start_server();
    struct h_proc f = h_spawn(write_flooder, &s.p.pid);
    h_get(f.rd, 5000); /* the flood has started */
    run_honest(&s, h_hostile_seconds(0.5), "during a write flood");
    check_server_forks(&s);
    /* Flooded, the service thread works (about as hard as the flooder); it must not spin. */
    check_svc_cpu(&s, "during a write flood", 600);
    tell(&f, 'h');
    h_sleep_ms(100);
    check_svc_cpu(&s, "the flooder holding its sockets, answers unread", 100);
    tell(&f, 'f');
    kill_server_noticed(&s);
    tell(&f, 'q');
    long long written = h_get(f.rd, 5000);
    h_note("the flooder wrote %lld requests it never read answers to", written);
    CHECK(written > 1000);
    CHECK_CHILD_OK(f.pid, 5000);
    h_close_proc(&f);
}

/* Opens plain connections to the server (sending nothing) until refused or out of
 * descriptors; then keeps opening and closing one, until told to stop. */
static int connection_flooder(int rd, int wr, void *argp)
{
    pid_t server = *(pid_t *)argp;
    struct rlimit r = {512, 512};
    setrlimit(RLIMIT_NOFILE, &r);
    if (h_become(UID_BAD) != 0)
        return 1;
    int held = 0, fd, last = -1, refused = 0;
    while ((fd = control_socket(server)) >= 0) {
        held++;
        last = fd;
    }
    h_sleep_ms(300);
    for (fd = 0; fd <= last; fd++) {
        struct pollfd p = {fd, POLLRDHUP, 0};
        struct stat sb;
        if (fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode) && poll(&p, 1, 0) == 1)
            refused++; /* the server refused it: a notice, then end of file */
    }
    h_put(wr, held);
    h_put(wr, refused);
    close(last); /* one descriptor to churn with */
    fcntl(rd, F_SETFL, O_NONBLOCK);
    char c;
    while (read(rd, &c, 1) < 0 && errno == EAGAIN) {
        if ((fd = control_socket(server)) >= 0)
            close(fd);
        h_sleep_ms(1);
    }
    return 0;
}

/* An honest attach while the server is out of descriptors: never hangs. */
static int starved_attach_body(int rd, int wr, void *argp)
{
    (void)rd;
    struct server *s = (struct server *)argp;
    if (h_become(UID_HONEST) != 0)
        return 1;
    long long t0 = h_now_ms();
    int coid = ConnectAttach(0, s->p.pid, s->chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE);
    int e = errno;
    h_put(wr, h_now_ms() - t0);
    h_put(wr, coid == -1 ? e : 0);
    return 0;
}

TEST(connection_flood_and_emfile)
{
    H_NEED_ROOT();
    struct server s = start_server();
    CHECK_EQ(server_cmd(&s, CMD_LIMIT_FDS), 0); /* 256: a user may hold 64 links */
    struct h_proc f = h_spawn(connection_flooder, &s.p.pid);
    long long held = h_get(f.rd, 20000), refused = h_get(f.rd, 1000);
    h_note("the flooder opened %lld connections; the server refused %lld of them", held, refused);
    CHECK(held > 64);
    CHECK_EQ(held - refused, LINKS_PER_PROCESS);
    run_honest(&s, h_hostile_seconds(0.5), "beside a connection flood");
    check_svc_cpu(&s, "connection churn beside a full link share", 100);

    long long eaten = server_cmd(&s, CMD_EAT_FDS);
    h_note("the server itself then ran out of descriptors (%lld more taken)", eaten);
    struct h_proc a = h_spawn(starved_attach_body, &s);
    long long took = h_get(a.rd, REQUEST_PATIENCE_MS + 5000), err = h_get(a.rd, 1000);
    h_note("an honest attach to a server out of descriptors: %s after %lld ms", h_errname((int)err), took);
    CHECK(took <= REQUEST_PATIENCE_MS + 500);
    CHECK(err == 0 || err == EAGAIN || err == EMFILE);
    CHECK_CHILD_OK(a.pid, 5000);
    h_close_proc(&a);
    check_svc_cpu(&s, "out of descriptors, connections churning", 100);
    check_server_forks(&s);
    CHECK_EQ(server_cmd(&s, CMD_FREE_FDS), 0);
    run_honest(&s, 0.3, "descriptors free again");

    h_put(f.wr, 0);
    CHECK_CHILD_OK(f.pid, 5000);
    h_close_proc(&f);
    kill_server_noticed(&s);
}

/* Attaches to the server until refused; reports how many and the refusal's errno. */
static int attach_flooder(int rd, int wr, void *argp)
{
    struct server *s = (struct server *)argp;
    if (h_become(UID_BAD) != 0)
        return 1;
    long long n = 0;
    int e = 0;
    while (n < 2 * CONNS_PER_PROCESS) {
        if (ConnectAttach(0, s->p.pid, s->chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE) == -1) {
            e = errno;
            break;
        }
        n++;
    }
    h_put(wr, n);
    h_put(wr, e);
    h_get(rd, HOLD_MS); /* hold them until told */
    return 0;
}

TEST(attach_until_refused)
{
    H_NEED_ROOT();
    struct server s = start_server();
    enum { FLOODERS = CONNS_PER_USER / CONNS_PER_PROCESS + 1 };
    struct h_proc f[FLOODERS];
    long long total = 0;
    for (int i = 0; i < FLOODERS; i++) {
        f[i] = h_spawn(attach_flooder, &s);
        long long n = h_get(f[i].rd, 60000), e = h_get(f[i].rd, 1000);
        total += n;
        /* Each process up to its own limit; the last one meets its user's. */
        CHECK_EQ(e, EAGAIN);
        CHECK_EQ(n, i < FLOODERS - 1 ? CONNS_PER_PROCESS : 0);
    }
    h_note("one user attached %lld connections before ConnectAttach said EAGAIN", total);
    CHECK_EQ(total, CONNS_PER_USER);
    run_honest(&s, h_hostile_seconds(0.5), "another user at its connection limit");
    for (int i = 0; i < FLOODERS; i++) {
        h_put(f[i].wr, 0);
        CHECK_CHILD_OK(f[i].pid, 10000);
        h_close_proc(&f[i]);
    }
    /* The limit is on what is held: once the flooders are gone, their user attaches again. */
    h_sleep_ms(100);
    struct h_proc again = h_spawn(attach_flooder, &s);
    CHECK_EQ(h_get(again.rd, 60000), CONNS_PER_PROCESS);
    CHECK_EQ(h_get(again.rd, 1000), EAGAIN);
    h_put(again.wr, 0);
    CHECK_CHILD_OK(again.pid, 10000);
    h_close_proc(&again);
    h_put(s.p.wr, CMD_QUIT);
    CHECK_CHILD_OK(s.p.pid, 5000);
    h_close_proc(&s.p);
}

/* ------------------------------------------------------------------------------------ */
/* Links that never attach                                                               */

struct idle_arg {
    pid_t server;
    uid_t uid;
    int wait_ms;
};

/* Opens a plain connection to the server as `uid` and sends nothing: reports after how many
 * ms the server ended it, or -1 if it stayed open `wait_ms`. */
static int idle_linker(int rd, int wr, void *argp)
{
    (void)rd;
    struct idle_arg *a = (struct idle_arg *)argp;
    if (h_become(a->uid) != 0)
        return 1;
    int fd = control_socket(a->server);
    if (fd < 0)
        return 2;
    long long t0 = h_now_ms();
    struct pollfd p = {fd, POLLRDHUP, 0};
    int n = poll(&p, 1, a->wait_ms);
    h_put(wr, n == 1 ? h_now_ms() - t0 : -1);
    return 0;
}

/* Sends a verified message on `coid`; 1 if it failed. */
static int verified_send(int coid, unsigned seed)
{
    char msg[64], back[64];
    h_fill(msg, sizeof msg, seed);
    long r = MsgSend(coid, msg, sizeof msg, back, sizeof back);
    if (r == (long)sizeof msg && h_verify(back, sizeof back, seed, 0) < 0)
        return 0;
    h_failf(__FILE__, __LINE__, "MsgSend %u: %ld (%s)", seed, r, h_errname(errno));
    return 1;
}

/* Another user's client: attaches and sends, holds the connection past the bound and sends
 * again, then detaches and attaches anew over the same link. Reports failures. */
static int patient_client(int rd, int wr, void *argp)
{
    (void)rd;
    struct server *s = (struct server *)argp;
    if (h_become(UID_HONEST) != 0)
        return 1;
    int coid = (int)REQUIRE_OK(ConnectAttach(0, s->p.pid, s->chid, _NTO_SIDE_CHANNEL, 0));
    int bad = verified_send(coid, 1);
    h_sleep_ms(UNPROVEN_LINK_MS + 500);
    bad += verified_send(coid, 2);
    CHECK_EQ(ConnectDetach(coid), 0);
    coid = (int)REQUIRE_OK(ConnectAttach(0, s->p.pid, s->chid, _NTO_SIDE_CHANNEL, 0));
    bad += verified_send(coid, 3);
    h_put(wr, bad);
    return 0;
}

/* An untrusted user's plain connection is closed after the bound; root's stays; a client of
 * another user that attached keeps its link, and attaches again after a pause. */
TEST(idle_links_dropped)
{
    H_NEED_ROOT();
    struct server s = start_server();
    struct idle_arg bad = {s.p.pid, UID_BAD, UNPROVEN_LINK_MS + 3000};
    struct idle_arg root = {s.p.pid, 0, UNPROVEN_LINK_MS + 700};
    struct h_proc b = h_spawn(idle_linker, &bad), r = h_spawn(idle_linker, &root);
    struct h_proc c = h_spawn(patient_client, &s);
    long long ms = h_get(b.rd, UNPROVEN_LINK_MS + 5000);
    h_note("an untrusted idle link was closed after %lld ms", ms);
    CHECK(ms >= UNPROVEN_LINK_MS - 100 && ms <= UNPROVEN_LINK_MS + 1000);
    CHECK_EQ(h_get(r.rd, UNPROVEN_LINK_MS + 5000), -1);
    CHECK_EQ(h_get(c.rd, UNPROVEN_LINK_MS + 5000), 0);
    struct h_proc *all[] = {&b, &r, &c};
    for (int i = 0; i < 3; i++) {
        CHECK_CHILD_OK(all[i]->pid, 5000);
        h_close_proc(all[i]);
    }
    kill_server_noticed(&s);
}

/* ------------------------------------------------------------------------------------ */
/* MsgDeliverEvent to a stopped client                                                   */

#define EVENT_CODE (_PULSE_CODE_MINAVAIL + 3)

/* Sends one message, so the server has an rcvid, then waits for the event's pulse. */
static int event_client(int rd, int wr, void *argp)
{
    (void)rd;
    struct server *s = (struct server *)argp; /* only p.pid and chid are set */
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    int self = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, s->p.pid, s->chid, _NTO_SIDE_CHANNEL, 0));
    REQUIRE_OK(MsgSend(coid, &self, sizeof self, NULL, 0));
    h_put(wr, 1);
    struct _pulse p;
    for (int i = 0; i < 3; i++) {
        rcvid_t r = -1;
        REQUIRE(h_receive_within(chid, &p, sizeof p, NULL, 10000, &r, NULL));
        CHECK_EQ(r, 0);
        CHECK_EQ(p.code, EVENT_CODE);
        h_put(wr, p.value.sival_int);
    }
    return 0;
}

TEST(deliver_event_to_stopped_client)
{
    struct server me = {{getpid(), -1, -1}, (int)REQUIRE_OK(ChannelCreate(0)), -1};
    struct h_proc c = h_spawn(event_client, &me);
    char buf[16];
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(me.chid, buf, sizeof buf, &info);
    REQUIRE(rcvid > 0);
    int client_coid;
    memcpy(&client_coid, buf, sizeof client_coid);
    REQUIRE_OK(MsgReply(rcvid, 0, NULL, 0));
    h_get(c.rd, 5000);

    struct sigevent ev;
    SIGEV_PULSE_INIT(&ev, client_coid, 10, EVENT_CODE, 1);
    kill(c.pid, SIGSTOP);
    h_sleep_ms(50);
    long long t0 = h_now_ms();
    CHECK_OK(MsgDeliverEvent(rcvid, &ev));
    long long took = h_now_ms() - t0;
    h_note("MsgDeliverEvent to a stopped client returned after %lld ms", took);
    CHECK(took >= REQUEST_PATIENCE_MS - 100 && took < REQUEST_PATIENCE_MS + 1000);
    /* The client still owes that answer: the next event is sent without waiting again. */
    SIGEV_PULSE_INIT(&ev, client_coid, 10, EVENT_CODE, 2);
    t0 = h_now_ms();
    CHECK_OK(MsgDeliverEvent(rcvid, &ev));
    took = h_now_ms() - t0;
    h_note("the next MsgDeliverEvent to the stopped client returned after %lld ms", took);
    CHECK(took < 100);
    kill(c.pid, SIGCONT);
    /* Sent, as QNX's kernel would have queued them: they arrive once the client runs. */
    CHECK_EQ(h_get(c.rd, 5000), 1);
    CHECK_EQ(h_get(c.rd, 5000), 2);
    h_sleep_ms(100); /* its late answers come back meanwhile */

    /* The late answer to the first request is dropped, not taken for this one's: an event
     * naming a coid the client does not have is refused by the client. */
    struct sigevent bad;
    SIGEV_PULSE_INIT(&bad, client_coid + 1000, 10, EVENT_CODE, 9);
    t0 = h_now_ms();
    CHECK_ERR(MsgVerifyEvent(rcvid, &bad), ESRCH);
    SIGEV_PULSE_INIT(&ev, client_coid, 10, EVENT_CODE, 3);
    CHECK_OK(MsgDeliverEvent(rcvid, &ev));
    CHECK(h_now_ms() - t0 < HONEST_BOUND_MS);
    CHECK_EQ(h_get(c.rd, 5000), 3);
    CHECK_CHILD_OK(c.pid, 5000);
    h_close_proc(&c);
}

HARNESS_MAIN
