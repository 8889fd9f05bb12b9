/*
 * test_hostile_rendezvous.c - squatters and silent peers where processes meet (issue 16,
 * items 4 and 7).  Linux's abstract socket addresses have no permissions: any user may bind
 * `neutrino.<pid>` before the process <pid> exists, or a name before its server starts.
 * A taken address must not matter: the process listens on a fallback address, its clients
 * find it (the kernel, SO_PEERCRED, says who listens), and a name reaches only a holder of
 * root's or the client's own uid.  A listener that never answers costs ConnectAttach and
 * name_open at most the bound (2 s, then EAGAIN), and a signal with a handler ends the wait
 * (EINTR), and delays no other thread's ConnectAttach to another process.  Attackers run
 * as unprivileged uids; victims as root.
 */
#include "harness.h"
#include <signal.h>
#include <stddef.h>
#include <sys/dispatch.h>
#include <sys/socket.h>
#include <sys/un.h>

#define UID_A 65534
#define UID_B 65533
/* The library's bound (transport/rendezvous.rs PATIENCE), and what we allow beyond it. */
#define PATIENCE_MS 2000
#define SLACK_MS 1500

/* A listening socket at abstract address `name`; -1 on failure. */
static int squat(const char *name, int backlog)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(a.sun_path + 1, name, n);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0 ||
        listen(fd, backlog) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Fills the backlog of listener `fd` (made with backlog 0): one pending connection. */
static int fill_backlog(const char *name)
{
    int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(a.sun_path + 1, name, n);
    return connect(c, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
}

/* ------------------------------------------------------------------------------------ */
/* A server that tells who it is                                                         */

enum { OP_WHO = 1, OP_QUIT = 2 };

struct who_arg {
    uid_t uid;
    const char *name; /* NULL: a plain channel, its chid sent up */
};

/* Serves OP_WHO (replies with its pid) until OP_QUIT; first sends up its chid, or -errno. */
static int who_server(int rd, int wr, void *arg)
{
    (void)rd;
    const struct who_arg *a = (const struct who_arg *)arg;
    if (h_become(a->uid) != 0)
        return 2;
    name_attach_t *att = NULL;
    int chid;
    if (a->name) {
        att = name_attach(NULL, a->name, 0);
        chid = att ? att->chid : -errno;
    } else {
        chid = ChannelCreate(0);
        if (chid == -1)
            chid = -errno;
    }
    h_put(wr, chid);
    if (chid < 0)
        return 0;
    for (;;) {
        union {
            int op;
            struct _pulse pulse;
        } m;
        struct _msg_info info;
        rcvid_t r = MsgReceive(chid, &m, sizeof m, &info);
        if (r == -1)
            return 3;
        if (r == 0)
            continue; /* pulses (disconnects) */
        int op = m.op;
        int me = (int)getpid();
        MsgReply(r, 0, &me, sizeof me);
        if (op == OP_QUIT)
            break;
    }
    if (att)
        name_detach(att, 0);
    return 0;
}

/* The pid that answers OP_WHO on coid, or -errno. */
static int who(int coid, int op)
{
    int pid = 0;
    if (MsgSend(coid, &op, sizeof op, &pid, sizeof pid) == -1)
        return -errno;
    return pid;
}

static void quit_server(struct h_proc *s, int coid)
{
    CHECK_EQ(who(coid, OP_QUIT), s->pid);
    CHECK_CHILD_OK(s->pid, 5000);
    h_close_proc(s);
}

/* ------------------------------------------------------------------------------------ */
/* The per-process address                                                               */

/* Squats `neutrino.<victim>` as UID_A; mode 1: also keeps its backlog full. */
struct pid_squat {
    pid_t first, count;
    int full;
};

static int pid_squatter(int rd, int wr, void *arg)
{
    const struct pid_squat *s = (const struct pid_squat *)arg;
    if (h_become(UID_A) != 0)
        return 2;
    int held = 0;
    for (pid_t p = s->first; p < s->first + s->count; p++) {
        char name[64];
        snprintf(name, sizeof name, "neutrino.%d", (int)p);
        if (squat(name, s->full ? 0 : 8) >= 0) {
            held++;
            if (s->full && fill_backlog(name) != 0)
                return 3;
        }
    }
    h_put(wr, held);
    h_get(rd, 20000);
    return 0;
}

/* who_server once the parent says so: the address is squatted by then. */
static int delayed_who_server(int rd, int wr, void *arg)
{
    h_get(rd, 10000);
    return who_server(rd, wr, arg);
}

/* A root process whose address another user holds still creates channels and serves. */
static void squatted_victim_case(int full)
{
    H_NEED_ROOT();
    struct who_arg wa = {0, NULL};
    struct h_proc victim = h_spawn(delayed_who_server, &wa);
    struct pid_squat ps = {victim.pid, 1, full};
    struct h_proc sq = h_spawn(pid_squatter, &ps);
    CHECK_EQ(h_get(sq.rd, 5000), 1);
    h_put(victim.wr, 1);
    long long chid = h_get(victim.rd, 5000);
    if (chid < 0) {
        FAIL("the squatted root process's ChannelCreate failed: %s", h_errname((int)-chid));
        h_kill(victim.pid);
    } else {
        char fb[64];
        snprintf(fb, sizeof fb, "neutrino.%d.", (int)victim.pid);
        CHECK(h_abstract_listed(fb)); /* it listens on a fallback address */
        long long t0 = h_now_ms();
        int coid = ConnectAttach(0, victim.pid, (int)chid, _NTO_SIDE_CHANNEL, 0);
        long long ms = h_now_ms() - t0;
        if (coid == -1) {
            FAIL("ConnectAttach to the squatted process: %s", h_errname(errno));
            h_kill(victim.pid);
        } else {
            if (ms > 500)
                FAIL("ConnectAttach took %lld ms past a squatter", ms);
            CHECK_EQ(who(coid, OP_WHO), victim.pid);
            quit_server(&victim, coid);
            ConnectDetach(coid);
        }
    }
    h_put(sq.wr, 1);
    CHECK_CHILD_OK(sq.pid, 5000);
    h_close_proc(&sq);
    if (victim.pid > 0 && victim.rd >= 0) {
        h_wait(victim.pid, 2000);
        h_close_proc(&victim);
    }
}

TEST(rendezvous_squatted_pid_listening) { squatted_victim_case(0); }

TEST(rendezvous_squatted_pid_backlog_full) { squatted_victim_case(1); }

/* A squatter takes the next few hundred pids' addresses ahead of time; root children that
 * land on one of them still serve. */
TEST(rendezvous_squatted_future_pids)
{
    H_NEED_ROOT();
    FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "r");
    int last = 0;
    if (!f || fscanf(f, "%d", &last) != 1)
        last = (int)getpid();
    if (f)
        fclose(f);
    struct pid_squat ps = {(pid_t)last + 2, 300, 0};
    struct h_proc sq = h_spawn(pid_squatter, &ps);
    CHECK(h_get(sq.rd, 10000) > 250);
    /* Children that miss the range exit at once; the first that lands serves. */
    int served = 0;
    for (int i = 0; i < 40 && !served; i++) {
        struct who_arg wa = {0, NULL};
        struct h_proc v = h_spawn(who_server, &wa);
        int in_range = v.pid >= ps.first && v.pid < ps.first + ps.count;
        long long chid = h_get(v.rd, 5000);
        if (chid < 0) {
            FAIL("root child %d: ChannelCreate: %s", (int)v.pid, h_errname((int)-chid));
            h_kill(v.pid);
            h_close_proc(&v);
            break;
        }
        int coid = ConnectAttach(0, v.pid, (int)chid, _NTO_SIDE_CHANNEL, 0);
        if (coid == -1) {
            FAIL("ConnectAttach to root child %d: %s", (int)v.pid, h_errname(errno));
            h_kill(v.pid);
            h_close_proc(&v);
            break;
        }
        CHECK_EQ(who(coid, OP_WHO), v.pid);
        quit_server(&v, coid);
        ConnectDetach(coid);
        served = in_range;
    }
    if (!served)
        h_note("no child landed on a squatted pid (pids not sequential here?)");
    else
        h_note("a root child on a squatted pid served");
    h_put(sq.wr, 1);
    CHECK_CHILD_OK(sq.pid, 5000);
    h_close_proc(&sq);
}

/* A process that listens on its own address and never answers. */
static int silent_process(int rd, int wr, void *arg)
{
    (void)arg;
    if (h_become(UID_A) != 0)
        return 2;
    char name[64];
    snprintf(name, sizeof name, "neutrino.%d", (int)getpid());
    h_put(wr, squat(name, 64) >= 0);
    h_get(rd, 20000);
    return 0;
}

static void on_usr1(int sig) { (void)sig; }

struct kicker {
    pthread_t target;
    int ms;
};

static void *kick(void *arg)
{
    struct kicker *k = (struct kicker *)arg;
    h_sleep_ms(k->ms);
    pthread_kill(k->target, SIGUSR1);
    return NULL;
}

/* Runs `call` twice: left alone it fails with EAGAIN within the bound; a signal with a
 * handler (SA_RESTART, which a QNX kernel call ignores too) ends it with EINTR at once. */
static void bounded_and_interruptible(int (*call)(const void *), const void *arg)
{
    long long t0 = h_now_ms();
    errno = 0;
    int r = call(arg);
    int e = errno;
    long long ms = h_now_ms() - t0;
    if (r != -1 || e != EAGAIN)
        FAIL("silent peer: got %d (%s), want -1 EAGAIN", r, h_errname(e));
    if (ms < PATIENCE_MS - 100 || ms > PATIENCE_MS + SLACK_MS)
        FAIL("silent peer: gave up after %lld ms, want about %d", ms, PATIENCE_MS);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, &old);
    struct kicker k = {pthread_self(), 200};
    pthread_t t = h_thread(kick, &k);
    t0 = h_now_ms();
    errno = 0;
    r = call(arg);
    e = errno;
    ms = h_now_ms() - t0;
    h_join(t, 5000, NULL);
    sigaction(SIGUSR1, &old, NULL);
    if (r != -1 || e != EINTR)
        FAIL("signalled: got %d (%s), want -1 EINTR", r, h_errname(e));
    if (ms > 1000)
        FAIL("signalled: returned after %lld ms", ms);
}

static int attach_call(const void *arg)
{
    return ConnectAttach(0, *(const pid_t *)arg, 1, _NTO_SIDE_CHANNEL, 0);
}

TEST(rendezvous_silent_process_connectattach_bounded)
{
    H_NEED_ROOT();
    struct h_proc s = h_spawn(silent_process, NULL);
    CHECK_EQ(h_get(s.rd, 5000), 1);
    /* The signalled call goes over the link whose first request was abandoned. */
    bounded_and_interruptible(attach_call, &s.pid);
    h_put(s.wr, 1);
    CHECK_CHILD_OK(s.pid, 5000);
    h_close_proc(&s);
}

/* A process whose address's backlog stays full: a connect to it can only be retried. */
static int stuck_process(int rd, int wr, void *arg)
{
    (void)arg;
    if (h_become(UID_A) != 0)
        return 2;
    char name[64];
    snprintf(name, sizeof name, "neutrino.%d", (int)getpid());
    h_put(wr, squat(name, 0) >= 0 && fill_backlog(name) == 0);
    h_get(rd, 20000);
    return 0;
}

struct slow_attach {
    pid_t pid;
    int r, e;
};

static void *attach_thread(void *arg)
{
    struct slow_attach *a = (struct slow_attach *)arg;
    a->r = ConnectAttach(0, a->pid, 1, _NTO_SIDE_CHANNEL, 0);
    a->e = errno;
    return NULL;
}

/* One thread waits on a process that never lets it in; another thread's ConnectAttach and
 * MsgSend to an honest server (another user's) go on at once. */
TEST(rendezvous_stuck_attach_delays_no_other)
{
    H_NEED_ROOT();
    struct h_proc s = h_spawn(stuck_process, NULL);
    CHECK_EQ(h_get(s.rd, 5000), 1);
    struct who_arg wa = {UID_B, NULL};
    struct h_proc w = h_spawn(who_server, &wa);
    long long chid = h_get(w.rd, 5000);
    REQUIRE(chid > 0);
    struct slow_attach a = {s.pid, 0, 0};
    long long t0 = h_now_ms();
    pthread_t t = h_thread(attach_thread, &a);
    h_sleep_ms(100); /* the thread is retrying by now */
    long long t1 = h_now_ms();
    int coid = ConnectAttach(0, w.pid, (int)chid, _NTO_SIDE_CHANNEL, 0);
    int got = coid == -1 ? -errno : who(coid, OP_WHO);
    long long ms = h_now_ms() - t1;
    h_join(t, PATIENCE_MS + SLACK_MS + 1000, NULL);
    long long slow_ms = h_now_ms() - t0;
    if (coid == -1)
        FAIL("ConnectAttach to the honest server: %s", h_errname(-got));
    else
        CHECK_EQ(got, w.pid);
    if (ms > 500)
        FAIL("the honest attach and send took %lld ms beside a stuck attach", ms);
    h_note("honest attach and send: %lld ms; stuck attach gave up after %lld ms", ms, slow_ms);
    if (a.r != -1 || a.e != EAGAIN)
        FAIL("stuck attach: got %d (%s), want -1 EAGAIN", a.r, h_errname(a.e));
    if (coid != -1) {
        quit_server(&w, coid);
        ConnectDetach(coid);
    } else {
        h_kill(w.pid);
        h_close_proc(&w);
    }
    h_put(s.wr, 1);
    CHECK_CHILD_OK(s.pid, 5000);
    h_close_proc(&s);
}

/* ------------------------------------------------------------------------------------ */
/* Names                                                                                 */

static void case_name(char *buf, size_t n, const char *what)
{
    snprintf(buf, n, "hostile-rdv-%d-%s", (int)getpid(), what);
}

/* Holds `neutrino.name/<name>` as a raw socket that never accepts. */
static int silent_name_holder(int rd, int wr, void *arg)
{
    if (h_become(UID_A) != 0)
        return 2;
    char addr[200];
    snprintf(addr, sizeof addr, "neutrino.name/%s", (const char *)arg);
    h_put(wr, squat(addr, 64) >= 0);
    h_get(rd, 20000);
    return 0;
}

static int open_call(const void *arg) { return name_open((const char *)arg, 0); }

static int same_user_client_of_silent_holder(int rd, int wr, void *arg)
{
    (void)rd;
    (void)wr;
    if (h_become(UID_A) != 0)
        return 2;
    bounded_and_interruptible(open_call, arg);
    return 0;
}

TEST(rendezvous_silent_name_holder_bounded)
{
    H_NEED_ROOT();
    char name[100];
    case_name(name, sizeof name, "silent");
    struct h_proc s = h_spawn(silent_name_holder, name);
    CHECK_EQ(h_get(s.rd, 5000), 1);
    /* Its own user accepts it as the holder, and is held up at most the bound. */
    struct h_proc c = h_spawn(same_user_client_of_silent_holder, name);
    CHECK_CHILD_OK(c.pid, 10000);
    h_close_proc(&c);
    /* Root does not accept it: nobody holds the name, at once. */
    long long t0 = h_now_ms();
    CHECK_ERR(name_open(name, 0), ENOENT);
    CHECK(h_now_ms() - t0 < 500);
    h_put(s.wr, 1);
    CHECK_CHILD_OK(s.pid, 5000);
    h_close_proc(&s);
}

/* name_open as `uid` in a child: the pid answering OP_WHO, or -errno. */
struct open_arg {
    uid_t uid;
    const char *name;
};

static int opener(int rd, int wr, void *arg)
{
    (void)rd;
    const struct open_arg *a = (const struct open_arg *)arg;
    if (h_become(a->uid) != 0)
        return 2;
    int coid = name_open(a->name, 0);
    if (coid == -1) {
        h_put(wr, -errno);
        return 0;
    }
    h_put(wr, who(coid, OP_WHO));
    name_close(coid);
    return 0;
}

static long long open_as(uid_t uid, const char *name)
{
    struct open_arg a = {uid, name};
    struct h_proc c = h_spawn(opener, &a);
    long long r = h_get(c.rd, 10000);
    CHECK_CHILD_OK(c.pid, 5000);
    h_close_proc(&c);
    return r;
}

/* A user takes a name before root's server starts: root's clients never reach it. */
TEST(rendezvous_name_squatted_before_root_server)
{
    H_NEED_ROOT();
    char name[100];
    case_name(name, sizeof name, "root-svc");
    struct who_arg qa = {UID_A, name};
    struct h_proc squatter = h_spawn(who_server, &qa);
    long long qchid = h_get(squatter.rd, 5000); /* a working name_attach server of UID_A */
    CHECK(qchid > 0);
    CHECK_ERR(name_open(name, 0), ENOENT);   /* before root's server: nobody, for root */
    CHECK_EQ(open_as(UID_B, name), -ENOENT); /* nor for another user */

    struct who_arg ra = {0, name};
    struct h_proc root = h_spawn(who_server, &ra);
    long long chid = h_get(root.rd, 5000);
    if (chid < 0)
        FAIL("root's name_attach beside a squatter: %s", h_errname((int)-chid));
    else {
        int coid = name_open(name, 0);
        CHECK(coid != -1);
        if (coid != -1) {
            CHECK_EQ(who(coid, OP_WHO), root.pid); /* root's server, never the squatter */
            CHECK_EQ(open_as(UID_B, name), root.pid);
            CHECK_EQ(open_as(UID_A, name), squatter.pid); /* its own user's holder */
            quit_server(&root, coid);
            name_close(coid);
        }
    }
    int coid = ConnectAttach(0, squatter.pid, (int)qchid, _NTO_SIDE_CHANNEL, 0);
    if (coid != -1) {
        quit_server(&squatter, coid);
        ConnectDetach(coid);
    } else {
        FAIL("ConnectAttach to the squatter: %s", h_errname(errno));
        h_kill(squatter.pid);
        h_close_proc(&squatter);
    }
    if (root.rd >= 0) {
        h_kill(root.pid);
        h_close_proc(&root);
    }
}

/* One unprivileged user's server and client find each other; another user does not. */
TEST(rendezvous_same_user_finds_own_server)
{
    H_NEED_ROOT();
    char name[100];
    case_name(name, sizeof name, "user-svc");
    struct who_arg sa = {UID_A, name};
    struct h_proc s = h_spawn(who_server, &sa);
    CHECK(h_get(s.rd, 5000) > 0);
    CHECK_EQ(open_as(UID_A, name), s.pid);
    CHECK_EQ(open_as(UID_B, name), -ENOENT);
    /* A second server of the same user: EEXIST, as on QNX. */
    struct h_proc dup = h_spawn(who_server, &sa);
    CHECK_EQ(h_get(dup.rd, 5000), -EEXIST);
    CHECK_CHILD_OK(dup.pid, 5000);
    h_close_proc(&dup);
    int coid = ConnectAttach(0, s.pid, 1, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid != -1);
    if (coid != -1) {
        quit_server(&s, coid);
        ConnectDetach(coid);
    } else {
        h_kill(s.pid);
        h_close_proc(&s);
    }
}

/* Every user reaches root's named server, and cannot attach its name beside it. */
TEST(rendezvous_user_reaches_root_server)
{
    H_NEED_ROOT();
    char name[100];
    case_name(name, sizeof name, "shared");
    struct who_arg ra = {0, name};
    struct h_proc root = h_spawn(who_server, &ra);
    CHECK(h_get(root.rd, 5000) > 0);
    CHECK_EQ(open_as(UID_A, name), root.pid);
    struct who_arg ua = {UID_A, name};
    struct h_proc dup = h_spawn(who_server, &ua);
    CHECK_EQ(h_get(dup.rd, 5000), -EEXIST);
    CHECK_CHILD_OK(dup.pid, 5000);
    h_close_proc(&dup);
    int coid = name_open(name, 0);
    CHECK(coid != -1);
    if (coid != -1) {
        quit_server(&root, coid);
        name_close(coid);
    } else {
        h_kill(root.pid);
        h_close_proc(&root);
    }
}

HARNESS_MAIN
