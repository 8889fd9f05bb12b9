/*
 * test_hostile_identity.c - a connection belongs to the process image that made it
 * (issue 16, items 1 and 8).
 *
 * Exec after dup + fork: an unprivileged client attaches to a root server, dup()s its
 * control sockets (so the server never sees end-of-file), forks a helper that keeps
 * posting messages raw into the connection's slots, and execs a setuid-root program (or,
 * as the same user, an ordinary one).  The server must never see euid 0 for that
 * connection; its MsgRead / MsgWrite / MsgReply of the long message the old image left
 * REPLY-blocked, and ConnectClientInfo, find the image gone (ESRCH / EINVAL), the
 * connection ends as at a death (_PULSE_CODE_DISCONNECT), and an honest client of
 * another user keeps being served throughout.
 *
 * Agent copies (a non-root server, a client of another user: the client thread copies
 * through its slot): a client that never answers holds the server's receiving thread
 * at most AGENT_PATIENCE (100 ms) per message, not 10 s; a client that answers with
 * errnos of its choosing never makes the server's call fail with them (EFAULT only).
 *
 * The raw slot offsets below follow src/transport/region.rs (ConnLayout, Slot).
 */
#include "harness.h"
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define UID_ATTACKER 65534
#define UID_HONEST 65533
#define LONG (INLINE + 4096) /* longer than a slot carries: copied between the processes */

/* ------------------------------------------------------------------------------------ */
/* The connection region as a hostile client sees it (src/transport/region.rs)           */

#include "hostile_layout.h"
enum { S_FREE = 0, S_CLAIMED = 1, S_SENT = 2, S_REPLIED = 4, S_FAILED = 5, S_AGENT_REQ = 8, S_AGENT_DONE = 9 };

#define U32(base, off) ((_Atomic uint32_t *)((char *)(base) + (off)))
#define U64(base, off) ((_Atomic uint64_t *)((char *)(base) + (off)))

/* The first connection region this process maps (a client with one connection). */
static char *find_region(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    char *found = NULL;
    while (f && !found && fgets(line, sizeof line, f)) {
        unsigned long lo;
        if (strstr(line, "neutrino-conn") && sscanf(line, "%lx-", &lo) == 1 &&
            *U32((char *)lo, 0) == CONN_MAGIC)
            found = (char *)lo;
    }
    if (f)
        fclose(f);
    return found;
}

static char *slot_at(char *region, int s) { return region + CONN_SLOTS + (size_t)s * SLOT_SIZE; }

/* Posts a 16-byte message in slot `s` the way the library does, without the library (its
 * state in a fork child is gone), and waits up to 300 ms for the answer.  Returns the
 * reply status, -errno if it failed, or -1000 when no answer came. */
static long raw_send(char *region, int s, const char *msg)
{
    char *sl = slot_at(region, s);
    uint32_t free_state = S_FREE;
    if (!atomic_compare_exchange_strong(U32(sl, SL_STATE), &free_state, S_CLAIMED))
        return -1000;
    atomic_store(U32(sl, SL_TID), (uint32_t)gettid());
    atomic_store(U32(sl, SL_PRIO), 10);
    atomic_store(U64(sl, SL_TICKET), 0);
    atomic_store(U64(sl, SL_SEND_LEN), 16);
    atomic_store(U64(sl, SL_REPLY_CAP), 0);
    atomic_store(U64(sl, SL_SEND_PARTS), 0);
    atomic_store(U64(sl, SL_REPLY_PARTS), 0);
    memcpy(sl + SL_SEND_DATA, msg, 16);
    atomic_store(U32(sl, SL_STATE), S_SENT);
    atomic_fetch_or(U64(region, 8), 1ull << s); /* ConnHeader.posted: the server rescans */
    long long end = h_now_ms() + 300;
    while (h_now_ms() < end) {
        uint32_t st = atomic_load(U32(sl, SL_STATE));
        if (st == S_REPLIED || st == S_FAILED) {
            long v = (long)atomic_load(U64(sl, SL_STATUS));
            atomic_store(U32(sl, SL_STATE), S_FREE);
            return st == S_REPLIED ? v : -v;
        }
        h_sleep_ms(1);
    }
    return -1000;
}

/* ------------------------------------------------------------------------------------ */
/* A setuid-root program built at test time                                              */

static const char suid_src[] = "#include <stdlib.h>\n#include <unistd.h>\n"
                               "int main(int c, char **v) {\n"
                               "    if (c > 1 && v[1][0] == 'p') return geteuid() == 0 ? 0 : 1;\n"
                               "    sleep(c > 1 ? (unsigned)atoi(v[1]) : 3);\n"
                               "    return 0;\n}\n";

/* Builds the program in a fresh directory under `base`, owned by root, mode 04755 when
 * `setuid`; returns 0 and its path if an unprivileged user can run it (and, with
 * `setuid`, gets euid 0: the filesystem is not mounted nosuid). */
static int build_prog(const char *base, int setuid_bit, char *dir, size_t dn, char *path, size_t pn)
{
    struct statvfs sv;
    if (statvfs(base, &sv) != 0 || (setuid_bit && (sv.f_flag & ST_NOSUID)))
        return -1;
    snprintf(dir, dn, "%s/hostile-id.XXXXXX", base);
    if (!mkdtemp(dir))
        return -1;
    chmod(dir, 0755);
    char src[600], cmd[1400];
    snprintf(src, sizeof src, "%s/p.c", dir);
    snprintf(path, pn, "%s/p", dir);
    FILE *f = fopen(src, "w");
    if (!f)
        return -1;
    fputs(suid_src, f);
    fclose(f);
    const char *cc = getenv("CC");
    snprintf(cmd, sizeof cmd, "%s -o '%s' '%s' 2>/dev/null", cc && *cc ? cc : "cc", path, src);
    if (system(cmd) != 0 || chown(path, 0, 0) != 0 || chmod(path, setuid_bit ? 04755 : 0755) != 0)
        return -1;
    pid_t p = h_fork();
    if (p == 0) {
        if (h_become(UID_ATTACKER) != 0)
            _exit(2);
        execl(path, "p", setuid_bit ? "probe" : "0", (char *)NULL);
        _exit(127);
    }
    return h_wait(p, 3000) == 0 ? 0 : -1;
}

static void remove_prog(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        h_note("could not remove %s", dir);
}

/* A program for the attacker to exec: next to this test, else in the temp directories. */
static int find_prog(int setuid_bit, char *dir, size_t dn, char *path, size_t pn)
{
    char self[400];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = 0;
    }
    const char *bases[] = {n > 0 ? self : ".", "/tmp", "/var/tmp"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (build_prog(bases[i], setuid_bit, dir, dn, path, pn) == 0)
            return 0;
        if (dir[0] && strstr(dir, "hostile-id."))
            remove_prog(dir);
        dir[0] = 0;
    }
    return -1;
}

/* ------------------------------------------------------------------------------------ */
/* The root server                                                                       */

enum { M_HELLO = 1, M_HOLD = 2, M_POST = 3, M_QUIT = 4 };
/* What the server does first once the attacker has exec'd; FIRST_NOTHING: only goes on
 * receiving the helper's inline posts, which alone must end the connection. */
enum { FIRST_READ, FIRST_WRITE, FIRST_REPLY, FIRST_INFO, FIRST_NOTHING };

struct hello {
    int type;
    int uid; /* who the sender says it is (checked against ConnectClientInfo) */
    char pad[LONG - 8];
};

struct srv_arg {
    int first; /* which call meets the gone image first */
    uid_t uid; /* the server's */
};

/* Server: answers HELLOs (checking the sender's euid), holds the attacker's HOLD, and when
 * told the attacker exec'd, uses the held rcvid.  Reports to the parent: the chid, 1 when
 * it holds HOLD (and has had a raw POST), then its counts. */
static int id_server(int rd, int wr, void *arg)
{
    struct srv_arg *a = (struct srv_arg *)arg;
    if (h_become(a->uid) != 0) {
        h_put(wr, -1);
        return 1;
    }
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    h_put(wr, chid);
    if (chid < 0)
        return 1;
    static struct hello m, out;
    rcvid_t held = 0;
    int held_scoid = 0, posts_before = 0, posts_after = 0, euid0 = 0, disconnected = 0;
    int execd = 0, told = 0;
    long long end = h_now_ms() + 8000;
    while (h_now_ms() < end) {
        struct pollfd pf = {rd, POLLIN, 0};
        if (held && !execd && poll(&pf, 1, 0) == 1) {
            REQUIRE_EQ(h_get(rd, 1000), 2); /* the attacker has exec'd */
            execd = 1;
            if (a->first == FIRST_NOTHING)
                continue;
            struct _client_info ci;
            char buf[LONG];
            memset(buf, 0x11, sizeof buf);
            /* The first call to meet the gone image ends the connection; the rest find it
             * ended.  None may reach the new program. */
            switch (a->first) {
            case FIRST_READ:
                CHECK_ERR(MsgRead(held, buf, sizeof buf, 0), ESRCH);
                break;
            case FIRST_WRITE:
                CHECK_ERR(MsgWrite(held, buf, sizeof buf, 0), ESRCH);
                break;
            case FIRST_REPLY:
                CHECK_ERR(MsgReply(held, 0, buf, sizeof buf), ESRCH);
                break;
            case FIRST_INFO:
                CHECK_ERR(ConnectClientInfo(held_scoid, &ci, 0), EINVAL);
                break;
            }
            CHECK_ERR(MsgRead(held, buf, sizeof buf, 0), ESRCH);
            CHECK_ERR(MsgWrite(held, buf, sizeof buf, 0), ESRCH);
            CHECK_ERR(MsgReply(held, 0, buf, sizeof buf), ESRCH);
            if (ConnectClientInfo(held_scoid, &ci, 0) == 0 && ci.cred.euid == 0)
                euid0++;
            continue;
        }
        uint64_t ns = 20 * 1000000ull;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        struct _msg_info info;
        rcvid_t r = MsgReceive(chid, &m, sizeof m, &info);
        if (r < 0)
            continue;
        if (r == 0) {
            struct _pulse *p = (struct _pulse *)&m;
            if (p->code == _PULSE_CODE_DISCONNECT) {
                if (p->scoid == held_scoid && execd)
                    disconnected = 1;
                ConnectDetach(p->scoid);
            }
            continue;
        }
        struct _client_info ci;
        /* FIRST_NOTHING asks nothing about the helper's posts once the attacker has exec'd
         * (that would look at the image). */
        int quiet = execd && a->first == FIRST_NOTHING && m.type == M_POST;
        int ok = !quiet && ConnectClientInfo(info.scoid, &ci, 0) == 0;
        if (ok && ci.cred.euid == 0)
            euid0++;
        switch (m.type) {
        case M_HELLO:
            CHECK(ok);
            if (ok)
                CHECK_EQ(ci.cred.euid, (uid_t)m.uid);
            CHECK_EQ(info.msglen, (long)sizeof m);
            h_fill(&out, sizeof out, (unsigned)m.uid);
            MsgReply(r, 0, &out, sizeof out);
            break;
        case M_HOLD:
            held = r;
            held_scoid = info.scoid;
            break;
        case M_POST:
            if (execd)
                posts_after++;
            else
                posts_before++;
            MsgReply(r, 0, NULL, 0);
            break;
        case M_QUIT:
            MsgReply(r, 0, NULL, 0);
            end = 0;
            break;
        default:
            MsgError(r, EINVAL);
        }
        if (held && posts_before > 0 && !told) {
            h_put(wr, 1);
            told = 1;
        }
    }
    /* Counts for the parent: the disconnect must come within the case, never euid 0. */
    h_put(wr, disconnected);
    h_put(wr, euid0);
    h_put(wr, posts_before);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Clients                                                                               */

struct cli_arg {
    pid_t server;
    int chid;
    const char *prog; /* what the attacker execs */
    int sibling;      /* keep the old address space alive in a CLONE_VM sibling */
};

/* Lives until the attacker (its parent) is killed, 3 s at most; raw system calls only: it
 * shares the attacker's memory, libc state and all. */
static int sibling_body(void *arg)
{
    long parent = (long)(intptr_t)arg;
    struct timespec ts = {0, 10 * 1000000};
    for (int i = 0; i < 300 && syscall(SYS_getppid) == parent; i++)
        syscall(SYS_nanosleep, &ts, NULL);
    syscall(SYS_exit, 0);
    return 0;
}

static int hello(int coid, uid_t uid)
{
    static struct hello m, in;
    m.type = M_HELLO;
    m.uid = (int)uid;
    memset(&in, 0, sizeof in);
    if (MsgSend(coid, &m, sizeof m, &in, sizeof in) != 0)
        return -1;
    return h_verify(&in, sizeof in, uid, 0) < 0 ? 0 : -1;
}

static void *hold_thread(void *arg)
{
    static struct hello m, in;
    m.type = M_HOLD;
    MsgSend(*(int *)arg, &m, sizeof m, &in, sizeof in); /* never returns: the image goes */
    return NULL;
}

/* Dups every socket descriptor of this process (the library's control socket among
 * them) without close-on-exec: the server never sees the link close. */
static int dup_sockets(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int fds[64], n = 0, duped = 0;
    while (d && (e = readdir(d)) != NULL && n < 64) {
        char p[300], l[64];
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(p, l, sizeof l - 1);
        if (k > 0 && (l[k] = 0, strncmp(l, "socket:", 7) == 0))
            fds[n++] = atoi(e->d_name);
    }
    if (d)
        closedir(d);
    for (int i = 0; i < n; i++)
        duped += dup(fds[i]) >= 0;
    return duped;
}

/* The attacker: attaches, dups its sockets, forks a raw poster, leaves a long message
 * REPLY-blocked, and on the parent's word execs `prog`. */
static int attacker(int rd, int wr, void *arg)
{
    struct cli_arg *a = (struct cli_arg *)arg;
    if (h_become(UID_ATTACKER) != 0)
        return 1;
    prctl(PR_SET_DUMPABLE, 1); /* as a program started by that user is (setuid made it not) */
    static int coid;
    coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid >= 0);
    CHECK_EQ(hello(coid, UID_ATTACKER), 0);
    char *region = find_region();
    REQUIRE(region != NULL);
    REQUIRE(dup_sockets() > 0);
    pid_t helper = fork();
    REQUIRE(helper >= 0);
    if (helper == 0) {
        /* Keeps posting into the slot as long as the case lasts. */
        char msg[16] = {M_POST};
        long long end = h_now_ms() + 4000;
        while (h_now_ms() < end) {
            /* Any slot the library is not using (its held message takes one). */
            for (int s = NSLOTS - 1; s >= 0 && raw_send(region, s, msg) == -1000; s--) {
            }
            h_sleep_ms(50);
        }
        _exit(0);
    }
    h_put(wr, helper);
    pthread_t t = h_thread(hold_thread, &coid);
    pthread_detach(t);
    REQUIRE_EQ(h_get(rd, 5000), 1); /* the server holds our message: go */
    if (a->sibling) {
        static char stack[64 * 1024] __attribute__((aligned(16)));
        pid_t sib = clone(sibling_body, stack + sizeof stack, CLONE_VM | SIGCHLD,
                          (void *)(intptr_t)getpid());
        REQUIRE(sib > 0);
    }
    execl(a->prog, "p", "3", (char *)NULL);
    FAIL("exec %s: %s", a->prog, h_errname(errno));
    return 1;
}

/* An honest client of another user, sending long HELLOs until told to stop; reports how
 * many it made and the longest one (ms). */
static int honest(int rd, int wr, void *arg)
{
    struct cli_arg *a = (struct cli_arg *)arg;
    if (h_become(UID_HONEST) != 0)
        return 1;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid >= 0);
    long long n = 0, worst = 0;
    struct pollfd pf = {rd, POLLIN, 0};
    while (poll(&pf, 1, 0) == 0) {
        long long t0 = h_now_ms();
        if (hello(coid, UID_HONEST) != 0) {
            FAIL("honest client: round trip %lld failed: %s", n, h_errname(errno));
            break;
        }
        worst = h_now_ms() - t0 > worst ? h_now_ms() - t0 : worst;
        n++;
        h_sleep_ms(2);
    }
    int q = M_QUIT;
    MsgSend(coid, &q, sizeof q, NULL, 0);
    h_put(wr, n);
    h_put(wr, worst);
    return 0;
}

/* Waits until process `pid` runs `prog` (its exec is done). */
static int runs(pid_t pid, const char *prog, int timeout_ms)
{
    char p[64], l[600];
    snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
    long long end = h_now_ms() + timeout_ms;
    while (h_now_ms() < end) {
        ssize_t k = readlink(p, l, sizeof l - 1);
        if (k > 0 && (l[k] = 0, strcmp(l, prog) == 0))
            return 1;
        h_sleep_ms(1);
    }
    return 0;
}

/* One attack: attacker, helper, honest client, root server. */
static void exec_once(const char *prog, int first, uid_t server_uid, int sibling)
{
    struct srv_arg sa = {first, server_uid};
    struct h_proc srv = h_spawn(id_server, &sa);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    struct cli_arg ca = {srv.pid, chid, prog, sibling};
    struct h_proc hon = h_spawn(honest, &ca);
    struct h_proc att = h_spawn(attacker, &ca);
    pid_t helper = (pid_t)h_get(att.rd, 5000);
    CHECK_EQ(h_get(srv.rd, 5000), 1); /* the server holds HOLD, and a raw post came */
    h_put(att.wr, 1);
    CHECK(runs(att.pid, prog, 3000));
    h_put(srv.wr, 2);
    h_sleep_ms(400); /* the helper keeps posting; the server keeps serving */
    h_put(hon.wr, 1);
    long long n = h_get(hon.rd, 3000), worst = h_get(hon.rd, 1000);
    CHECK(n > 10);
    CHECK(worst < 500);
    CHECK_EQ(h_get(srv.rd, 3000), 1); /* _PULSE_CODE_DISCONNECT for the attacker */
    CHECK_EQ(h_get(srv.rd, 1000), 0); /* never euid 0 */
    CHECK(h_get(srv.rd, 1000) > 0);  /* the helper's posts reached the server before */
    CHECK_CHILD_OK(srv.pid, 3000);
    CHECK_CHILD_OK(hon.pid, 3000);
    h_kill(att.pid);
    h_kill(helper);
    h_close_proc(&srv);
    h_close_proc(&hon);
    h_close_proc(&att);
}

static void exec_case(int setuid_bit, int first, uid_t server_uid, int sibling)
{
    H_NEED_ROOT();
    char dir[512] = "", prog[600];
    if (find_prog(setuid_bit, dir, sizeof dir, prog, sizeof prog) != 0) {
        h_note("skipped: cannot build a%s program an unprivileged user can run",
               setuid_bit ? " setuid-root" : "n");
        return;
    }
    long long until = h_now_ms() + (long long)(h_hostile_seconds(0) * 1000);
    do
        exec_once(prog, first, server_uid, sibling);
    while (h_now_ms() < until && !atomic_load(&h_failures));
    remove_prog(dir);
}

TEST(exec_setuid_root_msgread_finds_the_image_gone) { exec_case(1, FIRST_READ, 0, 0); }
TEST(exec_setuid_root_msgwrite_finds_the_image_gone) { exec_case(1, FIRST_WRITE, 0, 0); }
TEST(exec_setuid_root_long_reply_finds_the_image_gone) { exec_case(1, FIRST_REPLY, 0, 0); }
TEST(exec_setuid_root_client_info_never_reports_root) { exec_case(1, FIRST_INFO, 0, 0); }
TEST(exec_same_user_program_ends_the_connection) { exec_case(0, FIRST_WRITE, 0, 0); }
TEST(exec_setuid_root_inline_posts_of_a_helper_end_the_connection)
{
    exec_case(1, FIRST_NOTHING, 0, 0);
}

/* The old address space lives on in a sibling that shares it (clone(CLONE_VM)): the
 * descriptor the server opened still reads and writes it, but a read by pid finds the
 * new program, which lacks the server's nonce. */
TEST(exec_setuid_root_with_a_clone_vm_sibling_msgread_finds_the_image_gone)
{
    exec_case(1, FIRST_READ, 0, 1);
}
TEST(exec_setuid_root_with_a_clone_vm_sibling_client_info_never_reports_root)
{
    exec_case(1, FIRST_INFO, 0, 1);
}

/* A server of the attacker's own user reads by pid (the kernel lets it reach no more than
 * the attacker could): the read still proves the image and finds it gone. */
TEST(exec_same_user_program_unprivileged_server_msgread_finds_the_image_gone)
{
    exec_case(0, FIRST_READ, UID_ATTACKER, 0);
}

/* ------------------------------------------------------------------------------------ */
/* Agent copies: a non-root server, clients of another user                              */

struct agent_arg {
    pid_t server;
    int chid;
};

/* Server (uid UID_HONEST): on the parent's word, receives and answers long messages
 * until told to stop; every failure must be EFAULT (a client's buffers) or ESRCH (a client
 * gone), never an errno a client wrote.  Reports the ms from the word to its first
 * message, then the counts of successes and failures. */
static int agent_server(int rd, int wr, void *arg)
{
    (void)arg;
    if (h_become(UID_HONEST) != 0)
        return 1;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    if (chid < 0)
        return 1;
    static char buf[LONG], tmp[LONG];
    h_get(rd, 5000);
    long long t0 = h_now_ms(), first = -1, ok = 0, failed = 0;
    struct pollfd pf = {rd, POLLIN, 0};
    while (poll(&pf, 1, 0) == 0) {
        uint64_t ns = 20 * 1000000ull;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        errno = 0;
        rcvid_t r = MsgReceive(chid, buf, sizeof buf, NULL);
        if (r < 0) {
            if (errno != ETIMEDOUT)
                FAIL("MsgReceive: %s", h_errname(errno));
            continue;
        }
        if (r == 0)
            continue;
        if (first < 0)
            first = h_now_ms() - t0;
        long n = MsgRead(r, tmp, sizeof tmp, 0);
        int e = errno;
        if (n < 0 && e != EFAULT && e != ESRCH)
            FAIL("MsgRead failed with %s: a client chose it", h_errname(e));
        h_fill(tmp, sizeof tmp, 9);
        if (MsgReply(r, 0, tmp, sizeof tmp) == 0 && n == (long)sizeof tmp) {
            ok++;
        } else {
            failed++;
            if (errno != EFAULT && errno != ESRCH)
                FAIL("MsgReply failed with %s: a client chose it", h_errname(errno));
        }
    }
    h_put(wr, first);
    h_put(wr, ok);
    h_put(wr, failed);
    return 0;
}

/* One long round trip; 0, or the errno. */
static int long_send(int coid)
{
    static char out[LONG], in[LONG];
    h_fill(out, sizeof out, 3);
    return MsgSend(coid, out, sizeof out, in, sizeof in) == 0 ? 0 : errno;
}

/* A client (uid UID_ATTACKER) that sends one long message and reports how it ended. */
static int agent_sender(int rd, int wr, void *arg)
{
    (void)rd;
    struct agent_arg *a = (struct agent_arg *)arg;
    if (h_become(UID_ATTACKER) != 0)
        return 1;
    int coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid >= 0);
    h_put(wr, 1);
    h_put(wr, long_send(coid));
    return 0;
}

/* Whether process `pid` is stopped. */
static int stopped(pid_t pid)
{
    char p[64], line[128];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "r");
    int st = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "State:", 6) == 0)
            st = strchr(line, 'T') != NULL;
    if (f)
        fclose(f);
    return st;
}

TEST(agent_copy_of_a_stopped_client_holds_the_receiver_at_most_100ms)
{
    H_NEED_ROOT();
    struct h_proc srv = h_spawn(agent_server, NULL);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    struct agent_arg aa = {srv.pid, chid};
    struct h_proc silent = h_spawn(agent_sender, &aa);
    REQUIRE_EQ(h_get(silent.rd, 5000), 1);
    h_sleep_ms(50); /* its message is posted */
    kill(silent.pid, SIGSTOP);
    long long end = h_now_ms() + 2000;
    while (!stopped(silent.pid) && h_now_ms() < end)
        h_sleep_ms(1);
    REQUIRE(stopped(silent.pid));
    struct h_proc hon = h_spawn(agent_sender, &aa);
    REQUIRE_EQ(h_get(hon.rd, 5000), 1);
    h_sleep_ms(50); /* queued behind the stopped client's message */
    h_put(srv.wr, 1);
    CHECK_EQ(h_get(hon.rd, 3000), 0); /* served, after the stopped one's copy gave up */
    h_put(srv.wr, 1);
    long long first = h_get(srv.rd, 3000), ok = h_get(srv.rd, 1000), failed = h_get(srv.rd, 1000);
    h_note("stopped client: the server's first message came after %lld ms", first);
    CHECK(first >= 50);  /* it did wait for the stopped client */
    CHECK(first < 1000); /* and not for long (AGENT_PATIENCE, 100 ms) */
    CHECK_EQ(ok, 1);
    CHECK_EQ(failed, 0);
    kill(silent.pid, SIGCONT);
    CHECK_EQ(h_get(silent.rd, 3000), EFAULT); /* its copy failed: the message did */
    CHECK_CHILD_OK(silent.pid, 3000);
    CHECK_CHILD_OK(hon.pid, 3000);
    CHECK_CHILD_OK(srv.pid, 3000);
    h_close_proc(&srv);
    h_close_proc(&silent);
    h_close_proc(&hon);
}

static atomic_int scribbling = 1;

/* Answers every agent request in the region itself, with an errno of its choosing,
 * racing the library's own answer. */
static void *scribbler(void *arg)
{
    char *region = (char *)arg;
    static const int64_t lies[] = {-EPERM, -ENOSYS, -1, -(1ll << 40), -EINTR};
    unsigned k = 0;
    while (atomic_load(&scribbling)) {
        for (int s = 0; s < 32; s++) {
            char *sl = slot_at(region, s);
            if (atomic_load(U32(sl, SL_STATE)) == S_AGENT_REQ) {
                atomic_store(U64(sl, SL_AGENT_RESULT), (uint64_t)lies[k++ % 5]);
                atomic_store(U32(sl, SL_STATE), S_AGENT_DONE);
            }
        }
    }
    return NULL;
}

static atomic_llong lies_sent;

/* Sends long messages while the scribbler lies.  Its own MsgSend may hang: the scribbler
 * races the library's answer and can leave the slot in a state only the server moves
 * (the client's own doing; the server must not care). */
static void *lying_sender(void *arg)
{
    int coid = *(int *)arg;
    while (atomic_load(&scribbling)) {
        int e = long_send(coid);
        if (e != 0 && e != EFAULT)
            FAIL("MsgSend: %s", h_errname(e));
        atomic_fetch_add(&lies_sent, 1);
    }
    return NULL;
}

/* A client (uid UID_ATTACKER) sending long messages while its scribbler lies. */
static int lying_client(int rd, int wr, void *arg)
{
    (void)rd;
    struct agent_arg *a = (struct agent_arg *)arg;
    if (h_become(UID_ATTACKER) != 0)
        return 1;
    static int coid;
    coid = ConnectAttach(0, a->server, a->chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid >= 0);
    char *region = find_region();
    REQUIRE(region != NULL);
    pthread_t t = h_thread(scribbler, region);
    pthread_t u = h_thread(lying_sender, &coid);
    pthread_detach(u);
    h_put(wr, 1);
    h_sleep_ms((long)(h_hostile_seconds(0.5) * 1000));
    atomic_store(&scribbling, 0);
    JOIN(t, 1000);
    h_put(wr, atomic_load(&lies_sent));
    h_child_exit(0); /* the sender may be stuck in its own mess */
}

TEST(agent_copy_errno_is_never_the_clients_choice)
{
    H_NEED_ROOT();
    struct h_proc srv = h_spawn(agent_server, NULL);
    int chid = (int)h_get(srv.rd, 5000);
    REQUIRE(chid > 0);
    h_put(srv.wr, 1);
    struct agent_arg aa = {srv.pid, chid};
    struct h_proc liar = h_spawn(lying_client, &aa);
    REQUIRE_EQ(h_get(liar.rd, 5000), 1);
    /* An honest client of the same user beside it, through the same server thread. */
    struct h_proc hon = h_spawn(agent_sender, &aa);
    REQUIRE_EQ(h_get(hon.rd, 5000), 1);
    CHECK_EQ(h_get(hon.rd, 3000), 0);
    long long sent = h_get(liar.rd, (int)(h_hostile_seconds(0.5) * 1000) + 3000);
    h_put(srv.wr, 1);
    h_get(srv.rd, 3000);
    long long ok = h_get(srv.rd, 1000), failed = h_get(srv.rd, 1000);
    h_note("lying client: %lld messages; the server: %lld served, %lld failed (EFAULT)", sent, ok,
           failed);
    CHECK(ok >= 1);
    CHECK_CHILD_OK(liar.pid, 3000);
    CHECK_CHILD_OK(hon.pid, 3000);
    CHECK_CHILD_OK(srv.pid, 3000);
    h_close_proc(&srv);
    h_close_proc(&liar);
    h_close_proc(&hon);
}

HARNESS_MAIN
