/*
 * test_pidin.c - `pidin` (installed next to the library, found on PATH) shows what QNX's
 * shows of processes that use libneutrino: a server with one client REPLY-blocked (its
 * message received and held), another SEND-blocked (nobody receives on that channel) and a
 * thread RECEIVE-blocked on another channel; `pidin fds` with the coids and the channels'
 * queues; `pidin names`; threads in nanosleep, a condvar and a mutex; a stopped process
 * answered at once; another user seeing only their own processes; and a process that
 * writes garbage where pidin reads.
 */
#include "harness.h"
#include <sys/neutrino.h>
#include <sys/dispatch.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define OUT_MAX (256 * 1024)

/* Runs pidin with `args` (NULL-terminated) as `uid` into `out`; its exit status, or -1 if it
 * did not finish within 10 s (then it is killed). */
static int run_pidin(char *out, uid_t uid, const char *const *args)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = h_fork();
    if (pid == 0) {
        dup2(p[1], 1);
        if (h_become(uid) != 0)
            _exit(126);
        const char *argv[16] = {"pidin"};
        for (int i = 0; args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        execvp("pidin", (char **)argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    long long deadline = h_now_ms() + 10000;
    for (;;) {
        long long left = deadline - h_now_ms();
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t got = read(p[0], out + n, OUT_MAX - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    out[n] = 0;
    close(p[0]);
    int st = h_wait(pid, 2000);
    return st == H_TIMED_OUT ? -1 : st;
}

/* The STATE and Blocked columns of thread `tid` of `pid` in default-format output; 0 if
 * the thread is listed. */
static int thread_line(const char *out, int pid, int tid, char *state, char *blocked)
{
    const char *line = out;
    while (line && *line) {
        int p, t;
        char name[256], prio[32];
        state[0] = blocked[0] = 0;
        if (sscanf(line, "%d %d %255s %31s %63s %63s", &p, &t, name, prio, state, blocked) >= 5 && p == pid &&
            t == tid)
            return 0;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return -1;
}

/* Waits (up to 5 s) until pidin shows thread `tid` of `pid` in `want`; 0 then. */
static int await_state(char *out, int pid, int tid, const char *want, char *blocked)
{
    char state[64];
    char arg[32];
    snprintf(arg, sizeof arg, "%d", pid);
    const char *args[] = {"-p", arg, NULL};
    for (int i = 0; i < 100; i++) {
        if (run_pidin(out, 0, args) == 0 && thread_line(out, pid, tid, state, blocked) == 0 &&
            strcmp(state, want) == 0)
            return 0;
        h_sleep_ms(50);
    }
    FAIL("pid %d tid %d never showed %s; last output:\n%s", pid, tid, want, out);
    return -1;
}

/* ---------------------------------------------------------------------------------- */
/* The server: a thread RECEIVE-blocked on channel 1, one message held on channel 2.    */

static void *receive_forever(void *arg)
{
    int chid = *(int *)arg;
    char buf[64];
    MsgReceive(chid, buf, sizeof buf, NULL);
    return NULL;
}

static volatile int receiver_tid;

static void *receive_and_report(void *arg)
{
    receiver_tid = gettid();
    return receive_forever(arg);
}

/* Writes chidA, chidB, the receiver's tid, then (once it received one message on B) its
 * client's pid; waits for the parent to close the pipe. */
static int server(int rd, int wr, void *arg)
{
    (void)arg;
    static int chid_a, chid_b;
    chid_a = ChannelCreate(0);
    chid_b = ChannelCreate(0);
    name_attach_t *att = name_attach(NULL, "pidin-test-server", 0);
    if (chid_a == -1 || chid_b == -1 || !att)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, receive_and_report, &chid_a);
    while (!receiver_tid)
        h_sleep_ms(1);
    h_put(wr, chid_a);
    h_put(wr, chid_b);
    h_put(wr, receiver_tid);
    char buf[64];
    struct _msg_info info;
    int rcvid = MsgReceive(chid_b, buf, sizeof buf, &info);
    h_put(wr, rcvid > 0 ? info.pid : -1);
    long long v;
    h_try_get(rd, &v, 60000); /* holds the message until the parent is done */
    return 0;
}

struct target {
    int pid, chid;
};

static int client(int rd, int wr, void *arg)
{
    (void)rd;
    struct target *t = arg;
    int coid = ConnectAttach(0, t->pid, t->chid, _NTO_SIDE_CHANNEL, 0);
    h_put(wr, coid);
    char m[8] = "hello", r[8];
    MsgSend(coid, m, sizeof m, r, sizeof r);
    return 0;
}

TEST(send_reply_and_receive_blocked_threads_as_qnx_shows_them)
{
    static char out[OUT_MAX];
    char blocked[64];
    struct h_proc srv = h_spawn(server, NULL);
    int chid_a = (int)h_get(srv.rd, 5000), chid_b = (int)h_get(srv.rd, 5000);
    int receiver = (int)h_get(srv.rd, 5000);
    struct target to_b = {srv.pid, chid_b};
    struct h_proc c1 = h_spawn(client, &to_b);
    int coid1 = (int)h_get(c1.rd, 5000);
    CHECK(coid1 != -1);
    CHECK_EQ((int)h_get(srv.rd, 5000), c1.pid); /* received: c1 is REPLY-blocked */
    struct h_proc c2 = h_spawn(client, &to_b);
    CHECK((int)h_get(c2.rd, 5000) != -1);

    char want[32];
    snprintf(want, sizeof want, "%d", srv.pid);
    if (await_state(out, c1.pid, c1.pid, "REPLY", blocked) == 0)
        CHECK_EQ(strcmp(blocked, want), 0);
    if (await_state(out, c2.pid, c2.pid, "SEND", blocked) == 0)
        CHECK_EQ(strcmp(blocked, want), 0);
    snprintf(want, sizeof want, "%d", chid_a);
    if (await_state(out, srv.pid, receiver, "RECEIVE", blocked) == 0)
        CHECK_EQ(strcmp(blocked, want), 0);

    /* The whole machine's list has all three. */
    const char *none[] = {NULL};
    char state[64];
    REQUIRE_EQ(run_pidin(out, 0, none), 0);
    CHECK(strncmp(out, "     pid      tid name", 22) == 0);
    CHECK_EQ(thread_line(out, c1.pid, c1.pid, state, blocked), 0);
    CHECK_EQ(strcmp(state, "REPLY"), 0);
    CHECK_EQ(thread_line(out, c2.pid, c2.pid, state, blocked), 0);
    CHECK_EQ(strcmp(state, "SEND"), 0);

    /* fds: the client's coid; the server's channels with their queues and clients. */
    char arg[32], line[256];
    snprintf(arg, sizeof arg, "%d", c1.pid);
    const char *c1_fds[] = {"-p", arg, "fd", NULL};
    REQUIRE_EQ(run_pidin(out, 0, c1_fds), 0);
    snprintf(line, sizeof line, "%4ds %6d chid %d", coid1 & ~_NTO_SIDE_CHANNEL, srv.pid, chid_b);
    if (!strstr(out, line))
        FAIL("no coid line \"%s\" in:\n%s", line, out);
    snprintf(arg, sizeof arg, "%d", srv.pid);
    const char *srv_fds[] = {"-p", arg, "fds", NULL};
    REQUIRE_EQ(run_pidin(out, 0, srv_fds), 0);
    snprintf(line, sizeof line, "%08x: flags 00000000 PulseQ 0 SendQ 1 ReceiveQ 0 ReplyQ 1 clients %d,%d", chid_b,
             c1.pid < c2.pid ? c1.pid : c2.pid, c1.pid < c2.pid ? c2.pid : c1.pid);
    if (!strstr(out, line))
        FAIL("no channel line \"%s\" in:\n%s", line, out);
    snprintf(line, sizeof line, "%08x: flags 00000000 PulseQ 0 SendQ 0 ReceiveQ 1 ReplyQ 0 clients -", chid_a);
    if (!strstr(out, line))
        FAIL("no channel line \"%s\" in:\n%s", line, out);

    /* names: name_attach's name, with its channel. */
    const char *names[] = {"-p", arg, "names", NULL};
    REQUIRE_EQ(run_pidin(out, 0, names), 0);
    if (!strstr(out, "pidin-test-server"))
        FAIL("no name in:\n%s", out);

    /* A stopped server is read at once (run_pidin fails after 10 s), and shown STOPPED. */
    kill(srv.pid, SIGSTOP);
    await_state(out, srv.pid, receiver, "STOPPED", blocked);
    kill(srv.pid, SIGCONT);

    h_kill(c1.pid);
    h_kill(c2.pid);
    h_kill(srv.pid);
    h_close_proc(&c1);
    h_close_proc(&c2);
    h_close_proc(&srv);
}

/* ---------------------------------------------------------------------------------- */
/* Threads outside our calls: what Linux says, in QNX's words.                          */

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *sleeper(void *arg)
{
    *(int *)arg = gettid();
    sleep(60);
    return NULL;
}

static void *waiter(void *arg)
{
    pthread_mutex_lock(&cv_lock);
    *(int *)arg = gettid();
    pthread_cond_wait(&cv, &cv_lock);
    pthread_mutex_unlock(&cv_lock);
    return NULL;
}

static void *locker(void *arg)
{
    *(int *)arg = gettid();
    pthread_mutex_lock(&held);
    return NULL;
}

static int blocked_threads(int rd, int wr, void *arg)
{
    (void)arg;
    static int tids[3];
    if (ChannelCreate(0) == -1)
        return 1;
    pthread_mutex_lock(&held);
    pthread_t t;
    pthread_create(&t, NULL, sleeper, &tids[0]);
    pthread_create(&t, NULL, waiter, &tids[1]);
    pthread_create(&t, NULL, locker, &tids[2]);
    while (!tids[0] || !tids[1] || !tids[2])
        h_sleep_ms(1);
    for (int i = 0; i < 3; i++)
        h_put(wr, tids[i]);
    long long v;
    h_try_get(rd, &v, 60000);
    return 0;
}

TEST(nanosleep_condvar_and_mutex_from_what_linux_tells)
{
    static char out[OUT_MAX];
    char blocked[64];
    struct h_proc p = h_spawn(blocked_threads, NULL);
    int sleeping = (int)h_get(p.rd, 5000), waiting = (int)h_get(p.rd, 5000), locking = (int)h_get(p.rd, 5000);
    await_state(out, p.pid, sleeping, "NANOSLEEP", blocked);
    await_state(out, p.pid, waiting, "CONDVAR", blocked);
    await_state(out, p.pid, locking, "MUTEX", blocked);
    h_kill(p.pid);
    h_close_proc(&p);
}

/* ---------------------------------------------------------------------------------- */
/* Who sees what                                                                         */

static int channel_holder(int rd, int wr, void *arg)
{
    uid_t uid = (uid_t)(uintptr_t)arg;
    if (h_become(uid) != 0 || ChannelCreate(0) == -1)
        return 1;
    /* Changing uids made us undumpable (so /proc hides us from our own user); a program the
     * user starts is dumpable. */
    prctl(PR_SET_DUMPABLE, 1);
    h_put(wr, 1);
    long long v;
    h_try_get(rd, &v, 60000);
    return 0;
}

TEST(a_user_sees_their_own_processes_and_root_sees_all)
{
    H_NEED_ROOT();
    static char out[OUT_MAX];
    struct h_proc mine = h_spawn(channel_holder, (void *)(uintptr_t)0);
    struct h_proc theirs = h_spawn(channel_holder, (void *)(uintptr_t)65534);
    h_get(mine.rd, 5000);
    h_get(theirs.rd, 5000);
    char state[64], blocked[64];
    const char *none[] = {NULL};

    REQUIRE_EQ(run_pidin(out, 65534, none), 0);
    CHECK_EQ(thread_line(out, theirs.pid, theirs.pid, state, blocked), 0);
    if (thread_line(out, mine.pid, mine.pid, state, blocked) == 0)
        FAIL("uid 65534 sees root's process %d:\n%s", mine.pid, out);

    REQUIRE_EQ(run_pidin(out, 0, none), 0);
    CHECK_EQ(thread_line(out, theirs.pid, theirs.pid, state, blocked), 0);
    CHECK_EQ(thread_line(out, mine.pid, mine.pid, state, blocked), 0);

    h_kill(mine.pid);
    h_kill(theirs.pid);
    h_close_proc(&mine);
    h_close_proc(&theirs);
}

/* ---------------------------------------------------------------------------------- */
/* A hostile process writes anything where pidin reads.                                  */

/* The descriptor of this process's status memfd, or -1. */
static int status_fd(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int found = -1;
    while (d && (e = readdir(d)) && found == -1) {
        char path[300], target[300];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            if (strncmp(target, "/memfd:neutrino-status", 22) == 0)
                found = atoi(e->d_name);
        }
    }
    if (d)
        closedir(d);
    return found;
}

static int scribbler(int rd, int wr, void *arg)
{
    int keep_header = (int)(intptr_t)arg;
    if (ChannelCreate(0) == -1)
        return 1;
    int fd = status_fd();
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return 1;
    unsigned char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return 1;
    /* The header (magic, pid, table sizes) kept or not, everything else random, with
     * terminal escapes in every name. */
    size_t from = keep_header ? 32 : 0;
    srand((unsigned)getpid());
    for (size_t i = from; i < (size_t)st.st_size; i++)
        m[i] = (unsigned char)rand();
    for (size_t i = from; i + 2 < (size_t)st.st_size; i += 97)
        m[i] = 0x1b, m[i + 1] = '[', m[i + 2] = '2';
    h_put(wr, 1);
    long long v;
    h_try_get(rd, &v, 60000);
    return 0;
}

TEST(garbage_in_a_status_never_crashes_or_hangs_pidin)
{
    static char out[OUT_MAX];
    struct h_proc bad = h_spawn(scribbler, (void *)(intptr_t)1);
    struct h_proc worse = h_spawn(scribbler, (void *)(intptr_t)0);
    CHECK_EQ((int)h_get(bad.rd, 5000), 1);
    CHECK_EQ((int)h_get(worse.rd, 5000), 1);
    const char *runs[][4] = {{NULL}, {"fds", NULL}, {"names", NULL}, {"threads", NULL}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        CHECK_EQ(run_pidin(out, 0, runs[i]), 0);
        CHECK(strchr(out, 0x1b) == NULL);
    }
    h_kill(bad.pid);
    h_kill(worse.pid);
    h_close_proc(&bad);
    h_close_proc(&worse);
}

TEST(bad_options_are_refused_with_usage)
{
    static char out[OUT_MAX];
    const char *bad_code[] = {"-F", "%a %Q", NULL};
    CHECK_EQ(run_pidin(out, 0, bad_code), 1);
    const char *bad_short[] = {"nonsense", NULL};
    CHECK_EQ(run_pidin(out, 0, bad_short), 1);
    const char *custom[] = {"-F", "%a %T %N", NULL};
    CHECK_EQ(run_pidin(out, 0, custom), 0);
    CHECK(strncmp(out, "     pid nT name", 16) == 0);
}

HARNESS_MAIN
