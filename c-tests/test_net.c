/* Across nodes: <sys/netmgr.h> and remote connections through neutrino-netd, the node's
 * gateway. Two network namespaces joined by a veth link stand for two machines (abstract
 * sockets, and so libneutrino's names, are per namespace: each "node" sees only its own
 * gateway); a gateway runs in each, a QNX-style server in one and the client in the other.
 * Skipped with a reason where namespaces cannot be made or the gateway is not installed. */
#include "harness.h"
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <grp.h>
#include <sys/utsname.h>
#include <sys/dispatch.h>
#include <sys/netmgr.h>
#include <sys/neutrino.h>

#define BIG (1 << 20)
#define ASK_PULSES 0x50554c53 /* "PULS": the server answers with what pulses it got */
#define ASK_HANG 0x474e4148   /* "HANG": the server never answers */
#define ASK_LATE 0x4554414c   /* "LATE": the server replies to the last hung message now: errno */
#define ASK_EINTR 0x52544e45  /* "ENTR": asked to unblock, the server fails the call with EINTR */
#define ASK_CAUSE 0x53554143  /* "CAUS": ... with MsgError(rcvid, -1), the unblock's cause */
#define ASK_REPLY 0x594c5052  /* "RPLY": ... replies 7 */
#define SAW_UNBLOCK 0x4b4c4255 /* "UBLK": what the server tells of each unblock pulse */
#define DISCONNECTED 0x44495343 /* "DISC": what the server tells of each disconnect pulse */
#define ASK_DETACH 0x48435444   /* "DTCH": the global name's server lets it go */
#define ASK_RW 0x57524d52    /* "RMRW": the server reads the message and writes the reply in pieces */
#define ASK_EVENT 0x54564545 /* "EEVT": the server replies, then delivers the event that follows */
#define ASK_IDENT 0x544e4449   /* "IDNT": the server answers with a struct ident */
#define ASK_ORDER 0x4452524f   /* "ORRD": a numbered message the order server logs */
#define ASK_LOG 0x474f4c4f     /* "OLOG": the order server answers with its log, and clears it */
#define ASK_BURST 0x54535242   /* "BRST": the order server replies, then delivers N events */
#define GLOBAL_NAME "lnt/echo"
/* The lease the gateways of the link case announce: a node whose link is cut is seen gone
 * once nothing came from it for a lease (keep-alives go four times a lease); the checks
 * allow two, for a loaded machine. */
#define LEASE_MS 2000

/* Runs a shell command; its status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* Enters network namespace `ns` (made by `ip netns add`). */
static int enter(const char *ns)
{
    char path[128];
    snprintf(path, sizeof path, "/var/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = setns(fd, CLONE_NEWNET);
    close(fd);
    return r;
}

/* Without a gateway the netmgr calls fail as QNX's do without Qnet (ENOTSUP), except what
 * the library answers itself; a remote ConnectAttach is ENOREMOTE. A namespace of our own
 * (when we may make one) keeps a gateway of the host out of it. */
TEST(without_gateway)
{
    if (geteuid() == 0)
        CHECK_OK(unshare(CLONE_NEWNET));
    char *end = NULL;
    const char *name = "beta/dev/null";
    CHECK_ERR(netmgr_strtond(name, &end), ENOTSUP);
    CHECK(end == name);
    CHECK_ERR(ConnectAttach(7, getpid(), 1, _NTO_SIDE_CHANNEL, 0), ENOREMOTE);
    char buf[300];
    CHECK_EQ(netmgr_ndtostr(ND2S_DIR_SHOW | ND2S_LOCAL_STR, ND_LOCAL_NODE, buf, sizeof buf), 2);
    CHECK(strcmp(buf, "/") == 0);
    struct utsname u;
    REQUIRE_OK(uname(&u));
    int n = netmgr_ndtostr(ND2S_LOCAL_STR, ND_LOCAL_NODE, buf, sizeof buf);
    CHECK_EQ(n, (int)strlen(u.nodename) + 1);
    CHECK(strcmp(buf, u.nodename) == 0);
    /* Truncated, still terminated; the length is the full one. */
    CHECK_EQ(netmgr_ndtostr(ND2S_LOCAL_STR, ND_LOCAL_NODE, buf, 2), n);
    CHECK_EQ(strlen(buf), 1);
    CHECK_EQ(netmgr_remote_nd(ND_LOCAL_NODE, 5), 5);
    CHECK_EQ(netmgr_remote_nd(5, 5), ND_LOCAL_NODE);
    CHECK_ERR(netmgr_remote_nd(3, 5), ENOTSUP);
    /* A global name needs the gateway, as on QNX it needs gns; it is not held locally
     * either. Nothing is found among the global names. */
    errno = 0;
    CHECK(name_attach(NULL, GLOBAL_NAME, NAME_FLAG_ATTACH_GLOBAL) == NULL);
    CHECK_EQ(errno, ENOTSUP);
    CHECK_ERR(name_open(GLOBAL_NAME, 0), ENOENT);
    CHECK_ERR(name_open(GLOBAL_NAME, NAME_FLAG_ATTACH_GLOBAL), ENOENT);
    CHECK_EQ(ND_NODE_CMP(0x10005, 5), 0);
    CHECK(ND_NODE_CMP(4, 5) != 0);
}

/* The server of the remote cases: echoes each message (status = its length), counts pulses
 * and tells them on request, and tells its parent of each disconnect pulse. */
HELPER(echo_server)
{
    (void)rd;
    if (enter(arg) != 0)
        return 10;
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    h_put(wr, getpid());
    h_put(wr, chid);
    char *buf = malloc(BIG + 64);
    int pulses = 0, code = 0, value = 0;
    rcvid_t hung = 0;
    for (;;) {
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(chid, buf, BIG + 64, &info);
        if (rcvid == -1)
            return 11;
        if (rcvid == 0) {
            struct _pulse *p = (struct _pulse *)buf;
            if (p->code == _PULSE_CODE_DISCONNECT) {
                ConnectDetach(p->scoid);
                h_put(wr, DISCONNECTED);
                continue;
            }
            pulses++;
            code = p->code;
            value = p->value.sival_int;
            continue;
        }
        int ask;
        memcpy(&ask, buf, sizeof ask);
        if (info.msglen == sizeof(int) && ask == ASK_HANG) {
            hung = rcvid;
            continue;
        }
        if (info.msglen == sizeof(int) && ask == ASK_LATE) {
            int e = MsgReply(hung, 0, NULL, 0) == -1 ? errno : 0;
            MsgReply(rcvid, 0, &e, sizeof e);
        } else if (info.msglen == sizeof(int) && ask == ASK_PULSES) {
            int r[3] = {pulses, code, value};
            MsgReply(rcvid, 0, r, sizeof r);
        } else {
            MsgReply(rcvid, (long)info.msglen, buf, (size_t)info.msglen);
        }
    }
}

/* A server of the global name GLOBAL_NAME in namespace `arg`: tells its pid once the name
 * is attached (the gateway may still be starting: ENOTSUP is retried for 10 s), answers
 * each message with its data and its pid as the status, and on ASK_DETACH replies, lets the
 * name go at once (its channel with it) and tells DISCONNECTED. */
HELPER(global_server)
{
    (void)rd;
    if (enter(arg) != 0)
        return 10;
    name_attach_t *at = NULL;
    for (long long until = h_now_ms() + 10000; !at && h_now_ms() < until;) {
        at = name_attach(NULL, GLOBAL_NAME, NAME_FLAG_ATTACH_GLOBAL);
        if (!at && errno != ENOTSUP)
            return 11;
        if (!at)
            h_sleep_ms(100);
    }
    if (!at)
        return 12;
    h_put(wr, getpid());
    char buf[256];
    for (;;) {
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(at->chid, buf, sizeof buf, &info);
        if (rcvid == -1)
            return 13;
        if (rcvid == 0) {
            struct _pulse *p = (struct _pulse *)buf;
            if (p->code == _PULSE_CODE_DISCONNECT)
                ConnectDetach(p->scoid);
            continue;
        }
        int ask;
        memcpy(&ask, buf, sizeof ask);
        if (info.msglen == sizeof(int) && ask == ASK_DETACH) {
            MsgReply(rcvid, 0, NULL, 0);
            /* The name goes, and its channel with it. */
            if (name_detach(at, 0) != 0)
                return 14;
            h_put(wr, DISCONNECTED);
            for (;;)
                pause();
        }
        size_t n = (size_t)info.msglen < sizeof buf ? (size_t)info.msglen : sizeof buf;
        MsgReply(rcvid, getpid(), buf, n);
    }
}

/* A process of another user (uid 65534) in namespace `arg` tries to attach GLOBAL_NAME
 * through the root gateway there: tells the errno. */
HELPER(unprivileged_global)
{
    (void)rd;
    if (enter(arg) != 0 || h_become(65534) != 0)
        return 10;
    errno = 0;
    name_attach_t *at = name_attach(NULL, GLOBAL_NAME, NAME_FLAG_ATTACH_GLOBAL);
    h_put(wr, at ? 0 : errno);
    return 0;
}

/* The bytes of the remote MsgRead/MsgWrite case: of the message at offset i, and of the
 * reply at offset i. */
static char msg_byte(size_t i) { return (char)(i * 7 + 3); }
static char reply_byte(size_t i) { return (char)(i * 5 + 1); }

/* What an ASK_RW message starts with. */
struct rw_ask {
    int ask;
    int piece;
    int span; /* how much of the reply buffer the server writes */
};

/* A server that serves each ASK_RW message with MsgRead and MsgWrite alone, `piece` bytes at
 * a time: it reads the message after its header, checks each count (QNX's: what is left of
 * the message, or of the client's reply buffer, from the offset, at most what was asked)
 * and the bytes, reads and writes past the end (0 bytes), writes the first `span` bytes of
 * the reply buffer in pieces, last first, and replies with 0 bytes; the status is 0, or the
 * number of the first check that failed. */
HELPER(rw_server)
{
    (void)rd;
    if (enter(arg) != 0)
        return 10;
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    h_put(wr, getpid());
    h_put(wr, chid);
    for (;;) {
        struct rw_ask a;
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(chid, &a, sizeof a, &info);
        if (rcvid == -1)
            return 11;
        if (rcvid == 0) {
            struct _pulse *p = (struct _pulse *)&a;
            if (p->code == _PULSE_CODE_DISCONNECT)
                ConnectDetach(p->scoid);
            continue;
        }
        size_t total = (size_t)info.srcmsglen, cap = (size_t)info.dstmsglen, piece = (size_t)a.piece;
        if (info.msglen != sizeof a || a.ask != ASK_RW || a.piece <= 0) {
            MsgError(rcvid, EINVAL);
            continue;
        }
        char *in = malloc(total + 16), *out = malloc(cap + 16);
        int bad = 0;
        for (size_t off = sizeof a; off < total && !bad; off += piece) {
            size_t want = total - off < piece ? total - off : piece;
            if (MsgRead(rcvid, in + off, piece, off) != (long)want)
                bad = 1;
        }
        for (size_t i = sizeof a; i < total && !bad; i++)
            if (in[i] != msg_byte(i))
                bad = 2;
        if (!bad && (MsgRead(rcvid, in, 16, total) != 0 || MsgRead(rcvid, in, 16, total + 100) != 0))
            bad = 3;
        if (!bad && MsgRead(rcvid, in, 16, total - 4) != 4)
            bad = 4;
        for (size_t i = 0; i < cap + 16; i++)
            out[i] = reply_byte(i);
        size_t span = (size_t)a.span < cap ? (size_t)a.span : cap;
        for (size_t k = (span + piece - 1) / piece; k-- > 0 && !bad;) {
            size_t off = k * piece, want = span - off < piece ? span - off : piece;
            if (MsgWrite(rcvid, out + off, want, off) != (long)want)
                bad = 5;
        }
        if (!bad && (MsgWrite(rcvid, out, 16, cap) != 0 || MsgWrite(rcvid, out, 16, cap + 100) != 0))
            bad = 6;
        if (!bad && span == cap && cap >= 4 && MsgWrite(rcvid, out + cap - 4, 16, cap - 4) != 4)
            bad = 7;
        MsgReply(rcvid, bad, NULL, 0);
        free(in);
        free(out);
    }
}

/* A server that answers each ASK_EVENT message at once, then tells its parent what
 * MsgVerifyEvent said of the event that follows, and what MsgDeliverEvent said each of two
 * times it delivered it later on the rcvid it replied to (0 or -errno). */
HELPER(event_server)
{
    (void)rd;
    if (enter(arg) != 0)
        return 10;
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    h_put(wr, getpid());
    h_put(wr, chid);
    for (;;) {
        struct {
            int ask;
            struct sigevent ev;
        } m;
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(chid, &m, sizeof m, &info);
        if (rcvid == -1)
            return 11;
        if (rcvid == 0) {
            struct _pulse *p = (struct _pulse *)&m;
            if (p->code == _PULSE_CODE_DISCONNECT)
                ConnectDetach(p->scoid);
            continue;
        }
        if (info.msglen != sizeof m || m.ask != ASK_EVENT) {
            MsgError(rcvid, EINVAL);
            continue;
        }
        h_put(wr, MsgVerifyEvent(rcvid, &m.ev) == -1 ? -errno : 0);
        MsgReply(rcvid, 0, NULL, 0);
        for (int i = 0; i < 2; i++) {
            h_sleep_ms(50);
            h_put(wr, MsgDeliverEvent(rcvid, &m.ev) == -1 ? -errno : 0);
        }
    }
}

/* One thing the order server received, in its order. */
struct seen {
    int kind; /* SEEN_PULSE, SEEN_MSG, SEEN_DISC */
    int scoid;
    int value; /* the pulse's value, the message's number */
};
enum { SEEN_PULSE = 1, SEEN_MSG, SEEN_DISC };
#define LOG_MAX 2048

/* A server in namespace `arg` that logs what it receives, in the order it receives it:
 * pulses, ASK_ORDER messages (then replied to), disconnect pulses. ASK_LOG answers with the
 * log (a count, then the entries) and clears it; ASK_BURST (an event and a count N) is
 * replied to, then the event is delivered N times at once, with values 1 to N. */
HELPER(order_server)
{
    (void)rd;
    if (enter(arg) != 0)
        return 10;
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    h_put(wr, getpid());
    h_put(wr, chid);
    static struct {
        int n;
        struct seen e[LOG_MAX];
    } log;
    for (;;) {
        union {
            struct _pulse p;
            struct {
                int ask, n;
            } m;
            struct {
                int ask, n;
                struct sigevent ev;
            } burst;
        } u;
        struct _msg_info info;
        rcvid_t rcvid = MsgReceive(chid, &u, sizeof u, &info);
        if (rcvid == -1)
            return 11;
        struct seen s = {0, rcvid == 0 ? u.p.scoid : info.scoid, 0};
        if (rcvid == 0) {
            s.kind = u.p.code == _PULSE_CODE_DISCONNECT ? SEEN_DISC : SEEN_PULSE;
            s.value = u.p.value.sival_int;
            if (s.kind == SEEN_DISC)
                ConnectDetach(u.p.scoid);
        } else if (u.m.ask == ASK_LOG) {
            MsgReply(rcvid, 0, &log, sizeof log.n + (size_t)log.n * sizeof log.e[0]);
            log.n = 0;
            continue;
        } else if (u.m.ask == ASK_BURST && info.msglen == sizeof u.burst) {
            MsgReply(rcvid, 0, NULL, 0);
            for (int i = 1; i <= u.burst.n; i++) {
                u.burst.ev.sigev_value.sival_int = i;
                if (MsgDeliverEvent(rcvid, &u.burst.ev) == -1)
                    return 12;
            }
            continue;
        } else {
            s.kind = SEEN_MSG;
            s.value = u.m.n;
            MsgReply(rcvid, 0, NULL, 0);
        }
        if (log.n < LOG_MAX)
            log.e[log.n++] = s;
    }
}

/* What the ident server tells of the client of a message. */
struct ident {
    int32_t nd, srcnd, pid, tid;   /* _msg_info, from MsgReceive */
    int32_t mi_nd, mi_pid, mi_tid; /* MsgInfo */
    int32_t ci_nd, ci_pid;         /* ConnectClientInfo */
    int32_t ruid, euid, suid, rgid, egid, sgid, ngroups;
    int32_t groups[8];
    char node[64]; /* netmgr_ndtostr(0, nd): the client's node, named on the server's */
};
#define IDENT_WORDS 24 /* the int32_t words before node */

/* A server in namespace `arg` ("NS" or "NS UID": running as UID) that answers ASK_IDENT
 * with what it learns of the message's client. */
HELPER(ident_server)
{
    (void)rd;
    char ns[32];
    unsigned uid = 0;
    if (sscanf(arg, "%31s %u", ns, &uid) < 1 || enter(ns) != 0 || h_become(uid) != 0)
        return 10;
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    h_put(wr, getpid());
    h_put(wr, chid);
    for (;;) {
        union {
            int ask;
            struct _pulse pulse;
        } m;
        struct _msg_info info, mi;
        rcvid_t rcvid = MsgReceive(chid, &m, sizeof m, &info);
        if (rcvid == -1)
            return 11;
        if (rcvid == 0) {
            if (m.pulse.code == _PULSE_CODE_DISCONNECT)
                ConnectDetach(m.pulse.scoid);
            continue;
        }
        struct ident id;
        memset(&id, 0, sizeof id);
        struct _client_info ci;
        if (m.ask != ASK_IDENT || MsgInfo(rcvid, &mi) != 0 || ConnectClientInfo(info.scoid, &ci, 8) != 0) {
            MsgError(rcvid, EINVAL);
            continue;
        }
        id.nd = (int32_t)info.nd, id.srcnd = (int32_t)info.srcnd, id.pid = info.pid, id.tid = info.tid;
        id.mi_nd = (int32_t)mi.nd, id.mi_pid = mi.pid, id.mi_tid = mi.tid;
        id.ci_nd = (int32_t)ci.nd, id.ci_pid = ci.pid;
        id.ruid = (int32_t)ci.cred.ruid, id.euid = (int32_t)ci.cred.euid, id.suid = (int32_t)ci.cred.suid;
        id.rgid = (int32_t)ci.cred.rgid, id.egid = (int32_t)ci.cred.egid, id.sgid = (int32_t)ci.cred.sgid;
        id.ngroups = (int32_t)ci.cred.ngroups;
        for (unsigned i = 0; i < ci.cred.ngroups && i < 8; i++)
            id.groups[i] = (int32_t)ci.cred.grouplist[i];
        if (netmgr_ndtostr(0, info.nd, id.node, sizeof id.node) == -1)
            snprintf(id.node, sizeof id.node, "(%s)", h_errname(errno));
        MsgReply(rcvid, 0, &id, sizeof id);
    }
}

/* A client in namespace `arg` ("NS RUID EUID SUID RGID EGID SGID G1 G2": with those ids and
 * groups, G 0 for none) of the ident server (whose pid and chid it is given) on node beta:
 * tells its pid, tid, the nd of beta, and the struct ident (as IDENT_WORDS words, then the
 * node's name as 16). */
HELPER(ident_client)
{
    char ns[32];
    unsigned u[3], g[3], gl[2];
    if (sscanf(arg, "%31s %u %u %u %u %u %u %u %u", ns, &u[0], &u[1], &u[2], &g[0], &g[1], &g[2], &gl[0],
               &gl[1]) != 9 ||
        enter(ns) != 0)
        return 10;
    gid_t groups[2] = {gl[0], gl[1]};
    if (setgroups(gl[0] ? (gl[1] ? 2 : 1) : 0, groups) != 0 || setresgid(g[0], g[1], g[2]) != 0 ||
        setresuid(u[0], u[1], u[2]) != 0)
        return 11;
    pid_t spid = (pid_t)h_get(rd, 5000);
    int schid = (int)h_get(rd, 5000);
    int nd = -1;
    for (long long until = h_now_ms() + 10000; nd == -1 && h_now_ms() < until;) {
        nd = netmgr_strtond("beta", NULL);
        if (nd == -1)
            h_sleep_ms(100);
    }
    int coid = ConnectAttach((uint32_t)nd, spid, schid, _NTO_SIDE_CHANNEL, 0);
    if (coid == -1)
        return 12;
    struct ident id;
    int ask = ASK_IDENT;
    if (MsgSend(coid, &ask, sizeof ask, &id, sizeof id) != 0)
        return 13;
    h_put(wr, getpid());
    h_put(wr, h_gettid());
    h_put(wr, nd);
    int32_t words[IDENT_WORDS + 16];
    memcpy(words, &id, sizeof words);
    for (int i = 0; i < IDENT_WORDS + 16; i++)
        h_put(wr, words[i]);
    return 0;
}

/* Runs ident_client with `ids` (see it) against the ident server `spid`/`schid` in ns_b:
 * the client's pid, tid and nd of beta, and what the server saw. */
static void remote_ident(const char *ns, const char *ids, pid_t spid, int schid, pid_t *pid, pid_t *tid, int *nd,
                         struct ident *id)
{
    char arg[128];
    snprintf(arg, sizeof arg, "%s %s", ns, ids);
    struct h_proc c = h_exec("ident_client", arg);
    h_put(c.wr, spid);
    h_put(c.wr, schid);
    *pid = (pid_t)h_get(c.rd, 15000);
    *tid = (pid_t)h_get(c.rd, 5000);
    *nd = (int)h_get(c.rd, 5000);
    int32_t words[IDENT_WORDS + 16];
    for (int i = 0; i < IDENT_WORDS + 16; i++)
        words[i] = (int32_t)h_get(c.rd, 5000);
    memcpy(id, words, sizeof words);
    id->node[sizeof id->node - 1] = 0;
    CHECK_EQ(h_wait(c.pid, 5000), 0);
    h_close_proc(&c);
}

/* What every server learns of a remote client: its node (named by the server's own nd, which
 * netmgr_ndtostr there names "alpha"), the server's node as the client's names it, the
 * client's pid and thread, by MsgReceive, MsgInfo and ConnectClientInfo alike. */
static void check_remote(const struct ident *id, pid_t pid, pid_t tid, int nd)
{
    CHECK(id->nd != 0);
    CHECK(strcmp(id->node, "alpha") == 0);
    if (strcmp(id->node, "alpha") != 0)
        h_note("the server names the client's node \"%s\"", id->node);
    CHECK_EQ(id->srcnd, nd);
    CHECK_EQ(id->pid, pid);
    CHECK_EQ(id->tid, tid);
    CHECK_EQ(id->mi_nd, id->nd);
    CHECK_EQ(id->mi_pid, pid);
    CHECK_EQ(id->mi_tid, tid);
    CHECK_EQ(id->ci_nd, id->nd);
    CHECK_EQ(id->ci_pid, pid);
}

/* A server that makes a channel, tells its chid, replies to one message and at once
 * destroys the channel, over and over; with arg "exit:NS" it exits instead, once. */
HELPER(reply_destroy)
{
    (void)rd;
    bool exits = strncmp(arg, "exit:", 5) == 0;
    if (enter(exits ? arg + 5 : arg) != 0)
        return 10;
    h_put(wr, getpid());
    for (;;) {
        int chid = ChannelCreate(0);
        h_put(wr, chid);
        char buf[64];
        rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, NULL);
        if (rcvid <= 0)
            return 11;
        MsgReply(rcvid, 42, buf, sizeof buf);
        if (exits)
            _exit(0);
        ChannelDestroy(chid);
    }
}

/* A server whose channel has _NTO_CHF_UNBLOCK: holds each message until its client asks to
 * be let go, then tells SAW_UNBLOCK and answers as the message asked (ASK_EINTR,
 * ASK_CAUSE, ASK_REPLY). */
HELPER(unblock_server)
{
    (void)rd;
    if (enter(arg) != 0)
        return 10;
    int chid = ChannelCreate(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT);
    h_put(wr, getpid());
    h_put(wr, chid);
    rcvid_t held = 0;
    int ask = 0;
    for (;;) {
        union {
            struct _pulse pulse;
            int ask;
        } m;
        rcvid_t rcvid = MsgReceive(chid, &m, sizeof m, NULL);
        if (rcvid == -1)
            return 11;
        if (rcvid > 0) {
            held = rcvid;
            ask = m.ask;
            continue;
        }
        if (m.pulse.code == _PULSE_CODE_DISCONNECT) {
            ConnectDetach(m.pulse.scoid);
            continue;
        }
        if (m.pulse.code != _PULSE_CODE_UNBLOCK || held == 0 || m.pulse.value.sival_int != (int)held)
            return 12;
        struct _msg_info info;
        if (MsgInfo(held, &info) != 0 || !(info.flags & _NTO_MI_UNBLOCK_REQ))
            return 13;
        h_put(wr, SAW_UNBLOCK);
        if (ask == ASK_EINTR)
            MsgError(held, EINTR);
        else if (ask == ASK_CAUSE)
            MsgError(held, -1);
        else
            MsgReply(held, 7, NULL, 0);
        held = 0;
    }
}

static char ns_a[32], ns_b[32];
/* The veth link's ends are lnv<link_id>a (in ns_a) and lnv<link_id>b (in ns_b). */
static int link_id;
static pid_t gw_a, gw_b;

static void remove_namespaces(void)
{
    sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", ns_a, ns_b);
}

/* Namespaces of an earlier run that was killed before it could remove them. */
static void remove_stale(void)
{
    FILE *f = popen("ip netns list 2>/dev/null", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        int pid;
        char side;
        if (sscanf(line, "lnt%d%c", &pid, &side) == 2 && kill(pid, 0) != 0 && errno == ESRCH)
            sh("ip netns del lnt%d%c 2>/dev/null", pid, side);
    }
    if (f)
        pclose(f);
}

/* Kills process `(pid_t)(intptr_t)arg` 300 ms from now. */
static void *kill_later(void *arg)
{
    h_sleep_ms(300);
    kill((pid_t)(intptr_t)arg, SIGKILL);
    return NULL;
}

/* A REPLY-blocked remote call whose server (or that server's node) dies fails with ESRCH
 * at once. */
static void check_dies(int coid, pid_t victim)
{
    pthread_t t = h_thread(kill_later, (void *)(intptr_t)victim);
    int hang = ASK_HANG;
    long long t0 = h_now_ms();
    CHECK_ERR(MsgSend(coid, &hang, sizeof hang, NULL, 0), ESRCH);
    CHECK(h_now_ms() - t0 < 3000);
    CHECK_EQ(h_join(t, 5000, NULL), 0);
}

/* The coid of the next _PULSE_CODE_COIDDEATH on death channel `chid`; -1 if none comes
 * within `ms`. */
static int coid_death(int chid, int ms)
{
    for (;;) {
        struct _pulse p;
        uint64_t ns = (uint64_t)ms * 1000000;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        if (MsgReceivePulse(chid, &p, sizeof p, NULL) == -1)
            return -1;
        if (p.code == _PULSE_CODE_COIDDEATH)
            return p.value.sival_int;
    }
}

/* Cuts the link 300 ms from now (its end in ns_a goes down). */
static void *cut_later(void *arg)
{
    (void)arg;
    h_sleep_ms(300);
    sh("ip -n %s link set lnv%da down", ns_a, link_id);
    return NULL;
}

/* The user the gateways run as: 0 is root (with --as-root). */
static uid_t gw_uid;

static pid_t gateway(const char *ns, const char *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        char cmd[400], as[100] = "neutrino-netd --as-root";
        if (gw_uid != 0)
            snprintf(as, sizeof as, "setpriv --reuid=%u --regid=%u --clear-groups neutrino-netd", (unsigned)gw_uid,
                     (unsigned)gw_uid);
        snprintf(cmd, sizeof cmd, "exec ip netns exec %s %s %s >netd-%s.log 2>&1", ns, as, args, ns);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Two namespaces, ns_a and ns_b, joined by a veth link, with gateway alpha (gw_a) in ns_a and
 * beta (gw_b) in ns_b, each also given `extra` arguments; false (the case skipped with a
 * reason) where this cannot be done. */
static bool two_nodes_up(const char *extra)
{
    if (geteuid() != 0) {
        h_note("skipped: making network namespaces needs root");
        return false;
    }
    if (sh("command -v neutrino-netd >/dev/null && command -v ip >/dev/null") != 0) {
        h_note("skipped: neutrino-netd (make stage installs it) or ip (iproute2) is not on PATH");
        return false;
    }
    remove_stale();
    snprintf(ns_a, sizeof ns_a, "lnt%da", (int)getpid());
    snprintf(ns_b, sizeof ns_b, "lnt%db", (int)getpid());
    if (sh("ip netns add %s && ip netns add %s", ns_a, ns_b) != 0) {
        remove_namespaces();
        h_note("skipped: ip netns add failed (no network namespaces here)");
        return false;
    }
    atexit(remove_namespaces);
    int id = link_id = (int)getpid() % 100000;
    REQUIRE_EQ(sh("ip link add lnv%da type veth peer name lnv%db && "
                  "ip link set lnv%da netns %s && ip link set lnv%db netns %s && "
                  "ip -n %s addr add 10.77.0.1/24 dev lnv%da && ip -n %s addr add 10.77.0.2/24 dev lnv%db && "
                  "ip -n %s link set lnv%da up && ip -n %s link set lnv%db up && "
                  "ip -n %s link set lo up && ip -n %s link set lo up",
                  id, id, id, ns_a, id, ns_b, ns_a, id, ns_b, id, ns_a, id, ns_b, id, ns_a, ns_b),
               0);
    char args[200];
    snprintf(args, sizeof args, "-n alpha --no-scout -l tcp/10.77.0.1:7447 %s", extra);
    gw_a = gateway(ns_a, args);
    snprintf(args, sizeof args, "-n beta --no-scout -l tcp/10.77.0.2:7447 -c tcp/10.77.0.1:7447 %s", extra);
    gw_b = gateway(ns_b, args);
    return true;
}

/* The nd of node beta, once the gateways have found each other. */
static int find_beta(void)
{
    int nd = -1;
    for (long long until = h_now_ms() + 10000; nd == -1 && h_now_ms() < until;) {
        nd = netmgr_strtond("beta", NULL);
        if (nd == -1)
            h_sleep_ms(100);
    }
    REQUIRE(nd > 0);
    return nd;
}

/* Ends the two nodes two_nodes_up made: their gateways and namespaces. */
static void nodes_down(void)
{
    h_kill(gw_a);
    h_kill(gw_b);
    remove_namespaces();
}

/* HELPER `name` started with `arg`, which tells its pid and chid: the process. */
static struct h_proc start_server(const char *name, const char *arg, pid_t *pid, int *chid)
{
    struct h_proc server = h_exec(name, arg);
    *pid = (pid_t)h_get(server.rd, 5000);
    *chid = (int)h_get(server.rd, 5000);
    REQUIRE(*chid > 0);
    return server;
}

/* Whether NETPROBE names netprobe (the hostile peer and forger); says why not. */
static bool have_netprobe(void)
{
    const char *probe = getenv("NETPROBE");
    if (probe && access(probe, X_OK) == 0)
        return true;
    h_note("skipped: NETPROBE does not name netprobe (make net builds it; make c-tests sets it)");
    return false;
}

/* A case's stage: a server (a HELPER that tells its pid and chid) on node beta, and this
 * thread in alpha's namespace, with beta's nd. */
struct stage {
    struct h_proc server;
    pid_t spid;
    int schid;
    int nd;
};

/* Brings up stage `s`: two_nodes_up(`opts`), HELPER `program` started with ns_b, this thread
 * into ns_a; false (the case skipped, with the reason) where the nodes cannot be made. */
static bool stage_up(struct stage *s, const char *opts, const char *program)
{
    if (!two_nodes_up(opts))
        return false;
    s->server = start_server(program, ns_b, &s->spid, &s->schid);
    REQUIRE_OK(enter(ns_a));
    s->nd = find_beta();
    return true;
}

/* Ends stage `s`: its server, then the nodes. */
static void stage_down(struct stage *s)
{
    h_kill(s->server.pid);
    h_close_proc(&s->server);
    nodes_down();
}

TEST(two_nodes)
{
    struct stage s;
    if (!stage_up(&s, "", "echo_server"))
        return;
    int death = ChannelCreate(_NTO_CHF_COID_DISCONNECT);
    REQUIRE(death > 0);
    CHECK(ND_NODE_CMP(s.nd, ND_LOCAL_NODE) != 0);
    CHECK_EQ(netmgr_strtond("beta", NULL), s.nd);
    CHECK_EQ(netmgr_strtond("alpha", NULL), ND_LOCAL_NODE);
    char *end = NULL;
    const char *path = "beta/dev/ser1";
    CHECK_EQ(netmgr_strtond(path, &end), s.nd);
    CHECK(end == path + 4);
    char buf[64];
    CHECK_EQ(netmgr_ndtostr(0, s.nd, buf, sizeof buf), 5);
    CHECK(strcmp(buf, "beta") == 0);
    CHECK_EQ(netmgr_ndtostr(ND2S_DIR_SHOW, s.nd, buf, sizeof buf), 11);
    CHECK(strcmp(buf, "/net/beta/") == 0);
    CHECK_EQ(netmgr_ndtostr(0, ND_LOCAL_NODE, buf, sizeof buf), 6);
    CHECK(strcmp(buf, "alpha") == 0);
    /* The nd by which beta names this node (beta's own numbering, asked of beta); as QNX's
     * library answers without asking: ND_LOCAL_NODE for beta itself, identity here. */
    int back = netmgr_remote_nd(s.nd, ND_LOCAL_NODE);
    CHECK(back > 0);
    CHECK_EQ(netmgr_remote_nd(s.nd, s.nd), ND_LOCAL_NODE);
    CHECK_EQ(netmgr_remote_nd(ND_LOCAL_NODE, s.nd), s.nd);
    CHECK_ERR(netmgr_strtond("gamma", NULL), ENOENT);

    /* Unknown node and unknown channel. */
    CHECK_ERR(ConnectAttach(0x777, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0), ESRCH);
    CHECK_ERR(ConnectAttach((uint32_t)s.nd, s.spid, s.schid + 5, _NTO_SIDE_CHANNEL, 0), ESRCH);

    int coid = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    char small[16], small_back[16];
    memcpy(small, "sixteen bytes ok", 16);
    CHECK_EQ(MsgSend(coid, small, sizeof small, small_back, sizeof small_back), 16);
    CHECK_MEM(small, small_back, 16);

    char *big = malloc(BIG), *big_back = malloc(BIG);
    for (int i = 0; i < BIG; i++)
        big[i] = (char)(i * 7 + 3);
    CHECK_EQ(MsgSend(coid, big, BIG, big_back, BIG), BIG);
    CHECK_MEM(big, big_back, BIG);

    /* A pulse; the server's answer to a later message shows it arrived. */
    CHECK_OK(MsgSendPulse(coid, -1, 5, 4242));
    int r[3] = {0, 0, 0};
    for (long long until = h_now_ms() + 5000; r[0] == 0 && h_now_ms() < until;) {
        int ask = ASK_PULSES;
        CHECK_EQ(MsgSend(coid, &ask, sizeof ask, r, sizeof r), 0);
        if (r[0] == 0)
            h_sleep_ms(20);
    }
    CHECK_EQ(r[0], 1);
    CHECK_EQ(r[1], 5);
    CHECK_EQ(r[2], 4242);
    CHECK_OK(ConnectDetach(coid));
    CHECK_ERR(MsgSend(coid, small, sizeof small, small_back, sizeof small_back), EBADF);
    /* The detach reached the server's node. */
    CHECK_EQ(h_get(s.server.rd, 5000), DISCONNECTED);
    free(big);
    free(big_back);

    /* The server dies while the client waits for its reply. */
    coid = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    check_dies(coid, s.server.pid);
    /* Its connection dies with it, as a local one with its server. */
    CHECK_EQ(coid_death(death, 5000), coid);
    CHECK_ERR(MsgSend(coid, small, sizeof small, small_back, sizeof small_back), EBADF);
    CHECK_OK(ConnectDetach(coid));
    h_kill(s.server.pid);
    h_close_proc(&s.server);

    /* The server's node goes: its gateway is killed while the client waits. */
    s.server = h_exec("echo_server", ns_b);
    s.spid = (pid_t)h_get(s.server.rd, 5000);
    s.schid = (int)h_get(s.server.rd, 5000);
    coid = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    check_dies(coid, gw_b);
    /* A send right after fails too, ESRCH or (once the gateway has seen the node go) EBADF:
     * sent while Zenoh closes the transport, it is never answered by Zenoh, and must not
     * wait for it. */
    errno = 0;
    CHECK_EQ(MsgSend(coid, small, sizeof small, small_back, sizeof small_back), -1);
    CHECK(errno == ESRCH || errno == EBADF);
    /* Its connections die as those to a destroyed channel do. */
    CHECK_EQ(coid_death(death, 5000), coid);
    CHECK_ERR(MsgSend(coid, small, sizeof small, small_back, sizeof small_back), EBADF);
    CHECK_OK(ConnectDetach(coid));

    stage_down(&s);
}

/* name_open(GLOBAL_NAME, NAME_FLAG_ATTACH_GLOBAL) within `ms`: the pid of the server that
 * answers a 16-byte round trip on it (its data checked), or -errno of the last attempt. */
static int global_holder(int ms)
{
    long long until = h_now_ms() + ms;
    for (;;) {
        int coid = name_open(GLOBAL_NAME, NAME_FLAG_ATTACH_GLOBAL);
        if (coid != -1) {
            char small[16], back[16];
            memcpy(small, "sixteen bytes ok", 16);
            long pid = MsgSend(coid, small, sizeof small, back, sizeof back);
            int e = errno;
            if (pid != -1)
                CHECK_MEM(small, back, 16);
            name_close(coid);
            return pid == -1 ? -e : (int)pid;
        }
        if (errno != ENOENT || h_now_ms() >= until)
            return -errno;
        h_sleep_ms(50);
    }
}

/* global_holder until it answers `want`, within `ms`: its last answer. */
static int wait_holder(int want, int ms)
{
    long long until = h_now_ms() + ms;
    int got;
    while ((got = global_holder(0)) != want && h_now_ms() < until)
        h_sleep_ms(50);
    return got;
}

/* A global name attached on one node is opened from the other; one held on the client's
 * node is found first; it goes with its server's name_detach and with its server. */
TEST(global_names)
{
    if (!two_nodes_up(""))
        return;
    struct h_proc far = h_exec("global_server", ns_b);
    int far_pid = (int)h_get(far.rd, 15000);
    REQUIRE(far_pid > 0);
    REQUIRE_OK(enter(ns_a));
    find_beta();
    CHECK_EQ(global_holder(10000), far_pid);
    /* A global name of another node is not a local one; an unknown one is not found. */
    CHECK_ERR(name_open(GLOBAL_NAME, 0), ENOENT);
    CHECK_ERR(name_open("lnt/nobody", NAME_FLAG_ATTACH_GLOBAL), ENOENT);
    /* Only root (and the gateway's own user) may tell every node of a name. */
    struct h_proc other = h_exec("unprivileged_global", ns_a);
    CHECK_EQ(h_get(other.rd, 5000), EPERM);
    CHECK_CHILD_OK(other.pid, 5000);
    h_close_proc(&other);
    CHECK_EQ(global_holder(0), far_pid);

    /* The same name held on this node wins, at once; it goes when its server dies. */
    struct h_proc near = h_exec("global_server", ns_a);
    int near_pid = (int)h_get(near.rd, 15000);
    REQUIRE(near_pid > 0);
    CHECK_EQ(global_holder(0), near_pid);
    h_kill(near.pid);
    h_close_proc(&near);
    CHECK_EQ(wait_holder(far_pid, 5000), far_pid);

    /* name_detach withdraws it. */
    int coid = name_open(GLOBAL_NAME, NAME_FLAG_ATTACH_GLOBAL);
    REQUIRE(coid != -1);
    int detach = ASK_DETACH;
    CHECK_OK(MsgSend(coid, &detach, sizeof detach, NULL, 0));
    CHECK_EQ(h_get(far.rd, 5000), DISCONNECTED);
    name_close(coid);
    CHECK_EQ(wait_holder(-ENOENT, 5000), -ENOENT);
    h_kill(far.pid);
    h_close_proc(&far);

    /* A server killed: its name goes with it. */
    far = h_exec("global_server", ns_b);
    far_pid = (int)h_get(far.rd, 15000);
    REQUIRE(far_pid > 0);
    CHECK_EQ(global_holder(10000), far_pid);
    h_kill(far.pid);
    h_close_proc(&far);
    CHECK_EQ(wait_holder(-ENOENT, 5000), -ENOENT);

    nodes_down();
}

/* Runs netprobe (NETPROBE in the environment) with `args` in namespace `ns` (see
 * net/src/bin/netprobe.rs): its pid once its output holds `word`, with the output from there
 * in `out` (of `size` bytes); -1 if it does not within `ms`. */
static pid_t probe(const char *ns, const char *args, const char *word, char *out, size_t size, int ms)
{
    int p[2];
    REQUIRE_OK(pipe(p));
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "exec ip netns exec %s \"$NETPROBE\" %s", ns, args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char got[256] = "";
    size_t n = 0;
    char *at = NULL;
    for (long long until = h_now_ms() + ms; !at && n < sizeof got - 1;) {
        struct pollfd pf = {p[0], POLLIN, 0};
        ssize_t r;
        if (poll(&pf, 1, (int)(until - h_now_ms() > 0 ? until - h_now_ms() : 0)) != 1 ||
            (r = read(p[0], got + n, sizeof got - 1 - n)) <= 0)
            break;
        n += (size_t)r;
        got[n] = 0;
        at = strstr(got, word);
    }
    close(p[0]);
    if (!at) {
        h_kill(pid);
        return -1;
    }
    snprintf(out, size, "%s", at);
    return pid;
}

/* A bare Zenoh peer of gateway alpha in namespace `ns` holding the liveliness tokens `keys`:
 * its pid once it says they are declared, -1 if it does not within 10 s. */
static pid_t hostile_peer(const char *ns, const char *keys)
{
    char args[1024], out[16];
    snprintf(args, sizeof args, "announce tcp/10.77.0.1:7447 %s", keys);
    return probe(ns, args, "ready", out, sizeof out, 10000);
}

/* What another node announces is its word only: a peer's forged or malformed announcements
 * (a name it does not hold, under a node that is not there, under this node's own name,
 * misspelt, a flood) neither make a name appear, nor turn a name away from its real holder,
 * nor stop the gateway. */
TEST(hostile_names)
{
    if (!have_netprobe())
        return;
    if (!two_nodes_up(""))
        return;
    struct h_proc far = h_exec("global_server", ns_b);
    int far_pid = (int)h_get(far.rd, 15000);
    REQUIRE(far_pid > 0);
    REQUIRE_OK(enter(ns_a));
    find_beta();
    CHECK_EQ(global_holder(10000), far_pid);
    /* "aaa" sorts before beta and claims to be alive; it answers no query. */
    pid_t peer = hostile_peer(ns_b, "-n 1000 nto/alive/aaa nto/name/lnt~2fecho/aaa nto/name/lnt~2fforged/aaa "
                                    "nto/name/lnt~2fforged/beta nto/name/lnt~2fforged/gamma "
                                    "nto/name/lnt~2fforged/alpha nto/name/lnt~2Fecho/aaa "
                                    "nto/name/..~2fforged/aaa nto/name/flood#/aaa");
    REQUIRE(peer > 0);
    h_sleep_ms(300);
    CHECK_ERR(name_open("lnt/forged", NAME_FLAG_ATTACH_GLOBAL), ENOENT);
    CHECK_ERR(name_open("../forged", NAME_FLAG_ATTACH_GLOBAL), EINVAL);
    CHECK_ERR(name_open("flood7", NAME_FLAG_ATTACH_GLOBAL), ENOENT);
    CHECK_EQ(global_holder(0), far_pid);
    h_kill(peer);
    CHECK_EQ(global_holder(0), far_pid);

    h_kill(far.pid);
    h_close_proc(&far);
    nodes_down();
}

/* The link is cut while a call is REPLY-blocked, then restored: the call fails with ESRCH
 * once the gateways' lease runs out, the client gets _PULSE_CODE_COIDDEATH for its coid
 * (later sends EBADF) and the server _PULSE_CODE_DISCONNECT for the connection its gateway
 * held for the client's node; the old coid stays dead after the link comes back, and a new
 * connection works. */
TEST(link_cut)
{
    char lease[32];
    snprintf(lease, sizeof lease, "--lease %d", LEASE_MS);
    struct stage s;
    if (!stage_up(&s, lease, "echo_server"))
        return;
    int death = ChannelCreate(_NTO_CHF_COID_DISCONNECT);
    REQUIRE(death > 0);
    int coid = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    char small[16], small_back[16];
    memcpy(small, "sixteen bytes ok", 16);
    CHECK_EQ(MsgSend(coid, small, sizeof small, small_back, sizeof small_back), 16);

    pthread_t t = h_thread(cut_later, NULL);
    int hang = ASK_HANG;
    long long t0 = h_now_ms();
    CHECK_ERR(MsgSend(coid, &hang, sizeof hang, NULL, 0), ESRCH);
    long long took = h_now_ms() - t0;
    CHECK(took < 300 + 2 * LEASE_MS + 1500);
    h_note("blocked call failed %lld ms after the cut", took - 300);
    CHECK_EQ(h_join(t, 5000, NULL), 0);
    CHECK_EQ(coid_death(death, 2000), coid);
    CHECK_ERR(MsgSend(coid, small, sizeof small, small_back, sizeof small_back), EBADF);
    CHECK_EQ(h_get(s.server.rd, 2 * LEASE_MS + 2000), DISCONNECTED);
    CHECK_ERR(ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0), ESRCH);

    /* The link comes back: the old connection does not. */
    REQUIRE_EQ(sh("ip -n %s link set lnv%da up", ns_a, link_id), 0);
    int fresh = -1;
    for (long long until = h_now_ms() + 10000; fresh == -1 && h_now_ms() < until;) {
        fresh = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
        if (fresh == -1)
            h_sleep_ms(100);
    }
    REQUIRE(fresh != -1);
    CHECK_EQ(MsgSend(fresh, small, sizeof small, small_back, sizeof small_back), 16);
    CHECK_MEM(small, small_back, 16);
    CHECK_ERR(MsgSend(coid, small, sizeof small, small_back, sizeof small_back), EBADF);
    CHECK_OK(ConnectDetach(coid));
    CHECK_OK(ConnectDetach(fresh));

    stage_down(&s);
}

/* A server on beta reads a client's message and writes its reply at any offset, in pieces,
 * as QNX's MsgRead and MsgWrite do: 1 MiB, a small message into a smaller reply buffer, a
 * message of its header alone with no reply buffer, and a reply buffer the server fills only
 * in part (the rest keeps what the client had there, as on QNX). */
TEST(remote_read_write)
{
    struct stage s;
    if (!stage_up(&s, "", "rw_server"))
        return;
    int coid = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    static const struct {
        size_t len, cap;
        int piece, span;
    } cases[] = {{BIG + sizeof(struct rw_ask), BIG, 4099, BIG},
                 {100, 50, 7, 50},
                 {sizeof(struct rw_ask), 0, 3, 0},
                 {100, 64, 5, 23}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *msg = malloc(cases[c].len), *back = malloc(cases[c].cap + 1);
        for (size_t i = 0; i < cases[c].len; i++)
            msg[i] = msg_byte(i);
        struct rw_ask a = {ASK_RW, cases[c].piece, cases[c].span};
        memcpy(msg, &a, sizeof a);
        memset(back, 0x5a, cases[c].cap + 1);
        CHECK_EQ(MsgSend(coid, msg, cases[c].len, back, cases[c].cap), 0);
        size_t wrong = 0, touched = 0;
        for (size_t i = 0; i < (size_t)cases[c].span; i++)
            wrong += back[i] != reply_byte(i);
        CHECK_EQ(wrong, 0);
        /* Nothing the server did not write, nor past the reply buffer. */
        for (size_t i = (size_t)cases[c].span; i <= cases[c].cap; i++)
            touched += back[i] != 0x5a;
        CHECK_EQ(touched, 0);
        free(msg);
        free(back);
    }
    CHECK_OK(ConnectDetach(coid));
    stage_down(&s);
}

/* The next pulse on `chid` within `ms` into `p`; false if none comes. */
static bool pulse_within(int chid, int ms, struct _pulse *p)
{
    uint64_t ns = (uint64_t)ms * 1000000;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    return MsgReceivePulse(chid, p, sizeof *p, NULL) == 0;
}

static atomic_int usr1_count;
static atomic_long usr1_value;

static void on_usr1(int signo, siginfo_t *si, void *uc)
{
    (void)signo;
    (void)uc;
    atomic_store(&usr1_value, (long)si->si_value.sival_int);
    atomic_fetch_add(&usr1_count, 1);
}

/* Sends event `ev` to the event server on `coid`; what the server's MsgVerifyEvent and its
 * two MsgDeliverEvents said are checked against `want`. */
static void give_event(int coid, struct h_proc *server, const struct sigevent *ev, int want)
{
    struct {
        int ask;
        struct sigevent ev;
    } m = {ASK_EVENT, *ev};
    CHECK_EQ(MsgSend(coid, &m, sizeof m, NULL, 0), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(h_get(server->rd, 5000), want);
}

/* A client on alpha gives a server on beta events; the server replies, then delivers each
 * twice on the rcvid it replied to: they act in the client as on one node (a pulse on the
 * client's own coid with its code and value, a registered event, a signal with its value);
 * one the client's node refuses (registered for another server) does nothing, and a
 * malformed one is refused on the server's node. */
TEST(remote_events)
{
    struct stage s;
    if (!stage_up(&s, "", "event_server"))
        return;
    int coid = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    int chid = ChannelCreate(0);
    REQUIRE(chid > 0);
    int self = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(self != -1);

    struct sigevent ev;
    struct _pulse p;
    SIGEV_PULSE_INIT(&ev, self, SIGEV_PULSE_PRIO_INHERIT, 7, 0x1234);
    give_event(coid, &s.server, &ev, 0);
    for (int i = 0; i < 2; i++) {
        REQUIRE(pulse_within(chid, 5000, &p));
        CHECK_EQ(p.code, 7);
        CHECK_EQ(p.value.sival_int, 0x1234);
    }

    /* Registered for the server of the remote coid. */
    SIGEV_PULSE_INIT(&ev, self, SIGEV_PULSE_PRIO_INHERIT, 8, 0x5678);
    CHECK_OK(MsgRegisterEvent(&ev, coid));
    give_event(coid, &s.server, &ev, 0);
    for (int i = 0; i < 2; i++) {
        REQUIRE(pulse_within(chid, 5000, &p));
        CHECK_EQ(p.code, 8);
        CHECK_EQ(p.value.sival_int, 0x5678);
    }
    CHECK_OK(MsgUnregisterEvent(&ev));

    /* Registered for another server (the client's own channel's): the client's node refuses
     * it; the server is not told (see README), and nothing arrives. */
    SIGEV_PULSE_INIT(&ev, self, SIGEV_PULSE_PRIO_INHERIT, 9, 0x9abc);
    CHECK_OK(MsgRegisterEvent(&ev, self));
    give_event(coid, &s.server, &ev, 0);
    CHECK(!pulse_within(chid, 500, &p));
    CHECK_OK(MsgUnregisterEvent(&ev));

    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    REQUIRE_OK(sigaction(SIGUSR1, &sa, NULL));
    SIGEV_SIGNAL_VALUE_INT_INIT(&ev, SIGUSR1, 0x4321);
    give_event(coid, &s.server, &ev, 0);
    for (long long until = h_now_ms() + 5000; atomic_load(&usr1_count) < 2 && h_now_ms() < until;)
        h_sleep_ms(10);
    CHECK_EQ(atomic_load(&usr1_count), 2);
    CHECK_EQ(atomic_load(&usr1_value), 0x4321);

    /* Malformed: no signal number. */
    SIGEV_SIGNAL_INIT(&ev, 0);
    give_event(coid, &s.server, &ev, -EINVAL);

    CHECK_OK(ConnectDetach(coid));
    stage_down(&s);
}

static atomic_int usr2_count, usr2_tid;

static void on_usr2(int signo, siginfo_t *si, void *uc)
{
    (void)signo;
    (void)si;
    (void)uc;
    atomic_store(&usr2_tid, (int)h_gettid());
    atomic_fetch_add(&usr2_count, 1);
}

/* Sends a message the event server refuses on coid `*(int *)arg`. */
static void *send_refused(void *arg)
{
    int junk[2] = {0, 0};
    CHECK_ERR(MsgSend(*(int *)arg, junk, sizeof junk, NULL, 0), EINVAL);
    return NULL;
}

/* A thread-directed event a remote server delivers on an rcvid reaches the thread that sent
 * that message, not the one that sent last on the connection. */
TEST(remote_thread_events)
{
    struct stage s;
    if (!stage_up(&s, "", "event_server"))
        return;
    int coid = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr2;
    sa.sa_flags = SA_SIGINFO;
    REQUIRE_OK(sigaction(SIGUSR2, &sa, NULL));
    struct {
        int ask;
        struct sigevent ev;
    } m;
    memset(&m, 0, sizeof m);
    m.ask = ASK_EVENT;
    SIGEV_SIGNAL_THREAD_INIT(&m.ev, SIGUSR2, 0x55, SI_USER);
    CHECK_EQ(MsgSend(coid, &m, sizeof m, NULL, 0), 0);
    /* The server delivers 50 ms after its reply; another thread sends meanwhile. */
    pthread_t other = h_thread(send_refused, &coid);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(h_get(s.server.rd, 5000), 0);
    for (long long until = h_now_ms() + 5000; atomic_load(&usr2_count) < 2 && h_now_ms() < until;)
        h_sleep_ms(10);
    CHECK_EQ(atomic_load(&usr2_count), 2);
    CHECK_EQ(atomic_load(&usr2_tid), (int)h_gettid());
    CHECK_EQ(h_join(other, 5000, NULL), 0);
    CHECK_OK(ConnectDetach(coid));
    stage_down(&s);
}

/* A remote client as the server sees it (QNX's Qnet): its node, pid and thread, and its
 * credentials, which a gateway running as root passes through (its ids, real, effective
 * and saved, and its groups), but for what --maproot maps (here on the server's node). */
TEST(remote_identity)
{
    if (!two_nodes_up("--maproot 4500:4600"))
        return;
    pid_t spid;
    int schid;
    struct h_proc server = start_server("ident_server", ns_b, &spid, &schid);
    pid_t pid, tid;
    int nd;
    struct ident id;
    remote_ident(ns_a, "4000 4001 4002 4100 4101 4102 4321 4322", spid, schid, &pid, &tid, &nd, &id);
    check_remote(&id, pid, tid, nd);
    CHECK_EQ(id.ruid, 4000);
    CHECK_EQ(id.euid, 4001);
    CHECK_EQ(id.suid, 4002);
    CHECK_EQ(id.rgid, 4100);
    CHECK_EQ(id.egid, 4101);
    CHECK_EQ(id.sgid, 4102);
    CHECK_EQ(id.ngroups, 2);
    CHECK_EQ(id.groups[0], 4321);
    CHECK_EQ(id.groups[1], 4322);
    /* A remote root is mapped as beta's --maproot says. */
    remote_ident(ns_a, "0 0 0 0 0 0 0 0", spid, schid, &pid, &tid, &nd, &id);
    check_remote(&id, pid, tid, nd);
    CHECK_EQ(id.ruid, 4500);
    CHECK_EQ(id.euid, 4500);
    CHECK_EQ(id.suid, 4500);
    CHECK_EQ(id.egid, 4600);
    CHECK_EQ(id.ngroups, 0);

    h_kill(server.pid);
    h_close_proc(&server);
    nodes_down();
}

/* `cmd` as a shell command's exit status, within 10 s. */
static int exit_status(const char *cmd)
{
    int st = sh("timeout 10 %s >/dev/null 2>&1", cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Gateways that are not root: neutrino-netd refuses root without --as-root, and maps users
 * only as root; an unprivileged gateway presents its remote clients as its own user, whatever
 * they are (here a client with real uid 0), with their own node, pid and thread. */
TEST(remote_identity_unprivileged)
{
    H_NEED_ROOT();
    if (sh("command -v neutrino-netd >/dev/null && command -v setpriv >/dev/null") != 0) {
        h_note("skipped: neutrino-netd (make stage installs it) or setpriv is not on PATH");
        return;
    }
    CHECK_EQ(exit_status("neutrino-netd -n refused --no-scout"), 2);
    CHECK_EQ(exit_status("setpriv --reuid=65534 --regid=65534 --clear-groups neutrino-netd --mapany 1:1"), 2);
    gw_uid = 65534;
    bool up = two_nodes_up("");
    gw_uid = 0;
    if (!up)
        return;
    char arg[64];
    snprintf(arg, sizeof arg, "%s 65534", ns_b);
    pid_t spid;
    int schid;
    struct h_proc server = start_server("ident_server", arg, &spid, &schid);
    pid_t pid, tid;
    int nd;
    struct ident id;
    remote_ident(ns_a, "0 65534 0 0 65534 0 4321 0", spid, schid, &pid, &tid, &nd, &id);
    check_remote(&id, pid, tid, nd);
    CHECK_EQ(id.ruid, 65534);
    CHECK_EQ(id.euid, 65534);
    CHECK_EQ(id.suid, 65534);
    CHECK_EQ(id.rgid, 65534);
    CHECK_EQ(id.egid, 65534);
    CHECK_EQ(id.sgid, 65534);
    CHECK_EQ(id.ngroups, 0);

    h_kill(server.pid);
    h_close_proc(&server);
    nodes_down();
}

/* netprobe (NETPROBE) in namespace `ns` as `uid`: a local process that is not the gateway
 * claims to stand for a remote root client (see net/src/bin/netprobe.rs) in a message to
 * the ident server `spid`/`schid`. Its pid and tid, and what the server saw; false if it
 * did not run. */
static bool forged_ident(const char *ns, uid_t uid, pid_t spid, int schid, pid_t *pid, pid_t *tid,
                         int32_t words[IDENT_WORDS])
{
    int p[2];
    REQUIRE_OK(pipe(p));
    pid_t child = fork();
    if (child == 0) {
        dup2(p[1], 1);
        if (enter(ns) != 0 || h_become(uid) != 0)
            _exit(126);
        char a1[16], a2[16], a3[16], a4[16];
        snprintf(a1, sizeof a1, "%d", (int)spid);
        snprintf(a2, sizeof a2, "%d", schid);
        snprintf(a3, sizeof a3, "%d", ASK_IDENT);
        snprintf(a4, sizeof a4, "%d", IDENT_WORDS);
        const char *probe = getenv("NETPROBE");
        execl(probe, probe, "claim", a1, a2, a3, a4, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char out[1024] = "";
    size_t n = 0;
    struct pollfd pf = {p[0], POLLIN, 0};
    ssize_t r = 1;
    while (r > 0 && n < sizeof out - 1 && poll(&pf, 1, 10000) == 1) {
        r = read(p[0], out + n, sizeof out - 1 - n);
        if (r > 0)
            n += (size_t)r;
    }
    close(p[0]);
    int st = h_wait(child, 5000);
    CHECK_EQ(st, 0);
    char *got = strstr(out, "got ");
    if (st != 0 || sscanf(out, "me %d %d", pid, tid) != 2 || !got)
        return false;
    char *at = got + 4;
    for (int i = 0; i < IDENT_WORDS; i++)
        words[i] = (int32_t)strtol(at, &at, 10);
    return true;
}

/* Only the node's gateway speaks for remote clients: a local process that is not it, root or
 * not, claiming to stand for a remote root client is seen as itself (its pid and thread, node
 * 0, its own credentials). */
TEST(hostile_identity)
{
    if (!have_netprobe())
        return;
    if (!two_nodes_up(""))
        return;
    pid_t spid;
    int schid;
    struct h_proc server = start_server("ident_server", ns_b, &spid, &schid);
    /* The server's node has its gateway, which the forger could claim to be. */
    REQUIRE_OK(enter(ns_b));
    for (long long until = h_now_ms() + 10000; netmgr_strtond("beta", NULL) != 0 && h_now_ms() < until;)
        h_sleep_ms(100);
    REQUIRE_EQ(netmgr_strtond("beta", NULL), 0);
    uid_t uids[] = {0, 65534};
    for (int i = 0; i < 2; i++) {
        pid_t pid = 0, tid = 0;
        int32_t w[IDENT_WORDS];
        struct ident id;
        if (!forged_ident(ns_b, uids[i], spid, schid, &pid, &tid, w)) {
            CHECK(!"netprobe claim ran");
            continue;
        }
        memcpy(&id, w, sizeof w);
        CHECK_EQ(id.nd, 0);
        CHECK_EQ(id.srcnd, 0);
        CHECK_EQ(id.pid, pid);
        CHECK_EQ(id.tid, tid);
        CHECK_EQ(id.mi_pid, pid);
        CHECK_EQ(id.ci_nd, 0);
        CHECK_EQ(id.ci_pid, pid);
        CHECK_EQ(id.ruid, (int32_t)uids[i]);
        CHECK_EQ(id.euid, (int32_t)uids[i]);
    }

    h_kill(server.pid);
    h_close_proc(&server);
    nodes_down();
}

/* Echo servers s1 and s2 of node beta, and this process in node alpha: their pids, chids and
 * beta's nd. */
struct two_servers {
    struct h_proc s1, s2;
    pid_t p1, p2;
    int c1, c2, nd;
};

static void two_servers_up(struct two_servers *t)
{
    t->s1 = start_server("echo_server", ns_b, &t->p1, &t->c1);
    t->s2 = start_server("echo_server", ns_b, &t->p2, &t->c2);
    REQUIRE_OK(enter(ns_a));
    t->nd = find_beta();
}

/* The pulses server `pid`/`chid` of node `nd` has counted. */
static int pulses_of(int nd, pid_t pid, int chid)
{
    int coid = ConnectAttach((uint32_t)nd, pid, chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    int ask = ASK_PULSES, r[3] = {-1, 0, 0};
    CHECK_EQ(MsgSend(coid, &ask, sizeof ask, r, sizeof r), 0);
    CHECK_OK(ConnectDetach(coid));
    return r[0];
}

/* A remote connection is known on the serving node by a handle never reused in its
 * gateway's life: what is still on its way for a connection that ended (a pulse sent just
 * before its ConnectDetach) never reaches a later connection, though the serving node's
 * gateway reuses the ended connection's coid for it. (The window is narrow: a gateway that
 * went by coids passed this too in the runs tried; it guards the rule.) */
TEST(handles_not_reused)
{
    if (!two_nodes_up(""))
        return;
    struct two_servers t;
    two_servers_up(&t);
    char small[16], back[16];
    memcpy(small, "sixteen bytes ok", 16);
    for (int i = 0; i < 100; i++) {
        int a = ConnectAttach((uint32_t)t.nd, t.p1, t.c1, _NTO_SIDE_CHANNEL, 0);
        REQUIRE(a != -1);
        CHECK_OK(MsgSendPulse(a, -1, 5, i));
        CHECK_OK(ConnectDetach(a));
        int b = ConnectAttach((uint32_t)t.nd, t.p2, t.c2, _NTO_SIDE_CHANNEL, 0);
        REQUIRE(b != -1);
        CHECK_EQ(MsgSend(b, small, sizeof small, back, sizeof back), 16);
        CHECK_OK(ConnectDetach(b));
    }
    h_sleep_ms(200);
    CHECK_EQ(pulses_of(t.nd, t.p2, t.c2), 0);
    h_kill(t.s1.pid);
    h_kill(t.s2.pid);
    h_close_proc(&t.s1);
    h_close_proc(&t.s2);
    nodes_down();
}

/* A server that replies and at once destroys its channel, or exits: its remote client
 * always gets the reply (the news of the channel's end, which travels apart from it, never
 * overtakes it), and then the connection dies (_PULSE_CODE_COIDDEATH, later sends EBADF). */
TEST(reply_then_destroy)
{
    if (!two_nodes_up(""))
        return;
    struct h_proc server = h_exec("reply_destroy", ns_b);
    pid_t spid = (pid_t)h_get(server.rd, 5000);
    REQUIRE(spid > 0);
    REQUIRE_OK(enter(ns_a));
    int death = ChannelCreate(_NTO_CHF_COID_DISCONNECT);
    REQUIRE(death > 0);
    int nd = find_beta();
    char msg[64] = "a reply before the channel goes", back[64];
    char exit_arg[40];
    snprintf(exit_arg, sizeof exit_arg, "exit:%s", ns_b);
    for (int i = 0; i < 60; i++) {
        /* The last ten servers exit instead. */
        bool exits = i >= 50;
        struct h_proc once;
        if (exits) {
            once = h_exec("reply_destroy", exit_arg);
            spid = (pid_t)h_get(once.rd, 5000);
        }
        int chid = (int)h_get(exits ? once.rd : server.rd, 5000);
        REQUIRE(chid > 0);
        int coid = ConnectAttach((uint32_t)nd, spid, chid, _NTO_SIDE_CHANNEL, 0);
        REQUIRE(coid != -1);
        memset(back, 0, sizeof back);
        CHECK_EQ(MsgSend(coid, msg, sizeof msg, back, sizeof back), 42);
        CHECK_MEM(msg, back, sizeof msg);
        CHECK_EQ(coid_death(death, 5000), coid);
        CHECK_ERR(MsgSend(coid, msg, sizeof msg, back, sizeof back), EBADF);
        CHECK_OK(ConnectDetach(coid));
        if (exits) {
            h_kill(once.pid);
            h_close_proc(&once);
        }
    }
    h_kill(server.pid);
    h_close_proc(&server);
    nodes_down();
}

/* The order server's log, through `coid`: how many entries, in `e`. */
static int order_log(int coid, struct seen *e)
{
    static struct {
        int n;
        struct seen e[LOG_MAX];
    } log;
    int ask[2] = {ASK_LOG, 0};
    log.n = -1;
    REQUIRE_EQ(MsgSend(coid, ask, sizeof ask, &log, sizeof log), 0);
    REQUIRE(log.n >= 0 && log.n <= LOG_MAX);
    memcpy(e, log.e, (size_t)log.n * sizeof *e);
    return log.n;
}

/* A remote connection keeps QNX's order, as Qnet does: what a client sends on one coid
 * (pulses, messages) its server receives in that order, a pulse sent just before
 * ConnectDetach arrives before the disconnect, and events a server delivers in quick
 * succession arrive in order. */
TEST(remote_order)
{
    struct stage s;
    if (!stage_up(&s, "", "order_server"))
        return;
    int coid = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    static struct seen e[LOG_MAX];
    /* Pulse k, then message k; then bursts of ten pulses, each followed by one message. */
    for (int k = 0; k < 300; k++) {
        int m[2] = {ASK_ORDER, k};
        CHECK_OK(MsgSendPulse(coid, -1, 5, k));
        CHECK_EQ(MsgSend(coid, m, sizeof m, NULL, 0), 0);
    }
    for (int b = 0; b < 40; b++) {
        for (int i = 0; i < 10; i++)
            CHECK_OK(MsgSendPulse(coid, -1, 5, 1000 + b * 10 + i));
        int m[2] = {ASK_ORDER, 1000 + b};
        CHECK_EQ(MsgSend(coid, m, sizeof m, NULL, 0), 0);
    }
    int n = order_log(coid, e), wrong = 0;
    CHECK_EQ(n, 300 * 2 + 40 * 11);
    for (int i = 0; i < n; i++) {
        int kind, value;
        if (i < 600) {
            kind = i % 2 ? SEEN_MSG : SEEN_PULSE;
            value = i / 2;
        } else {
            int b = (i - 600) / 11, j = (i - 600) % 11;
            kind = j == 10 ? SEEN_MSG : SEEN_PULSE;
            value = j == 10 ? 1000 + b : 1000 + b * 10 + j;
        }
        if ((e[i].kind != kind || e[i].value != value) && wrong++ < 3)
            h_note("entry %d: kind %d value %d, want kind %d value %d", i, e[i].kind, e[i].value, kind, value);
    }
    CHECK_EQ(wrong, 0);

    /* A pulse just before ConnectDetach: the server gets it, then the disconnect. */
    for (int k = 0; k < 100; k++) {
        int c = ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0);
        REQUIRE(c != -1);
        CHECK_OK(MsgSendPulse(c, -1, 5, 2000 + k));
        CHECK_OK(ConnectDetach(c));
    }
    /* The disconnects of other connections may come after this connection's log. */
    int pulses = 0, discs = 0, early = 0;
    /* The scoids with a pulse not yet followed by their disconnect. */
    int pulsed[100], npulsed = 0;
    for (long long until = h_now_ms() + 5000; discs < 100 && h_now_ms() < until;) {
        n = order_log(coid, e);
        for (int i = 0; i < n; i++) {
            int at = 0;
            while (at < npulsed && pulsed[at] != e[i].scoid)
                at++;
            if (e[i].kind == SEEN_PULSE) {
                pulses++;
                if (at == npulsed && npulsed < 100)
                    pulsed[npulsed++] = e[i].scoid;
            } else if (e[i].kind == SEEN_DISC) {
                discs++;
                /* The scoid is free for a later connection once it is detached. */
                if (at < npulsed)
                    pulsed[at] = pulsed[--npulsed];
                else if (early++ < 3)
                    h_note("disconnect of scoid %d before its pulse", e[i].scoid);
            }
        }
        if (discs < 100)
            h_sleep_ms(20);
    }
    CHECK_EQ(pulses, 100);
    CHECK_EQ(discs, 100);
    CHECK_EQ(early, 0);

    /* Events in quick succession: pulses of values 1 to N, in that order. */
    int chid = ChannelCreate(0);
    REQUIRE(chid > 0);
    int self = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(self != -1);
    struct {
        int ask, n;
        struct sigevent ev;
    } burst;
    memset(&burst, 0, sizeof burst);
    burst.ask = ASK_BURST;
    burst.n = 500;
    SIGEV_PULSE_INIT(&burst.ev, self, SIGEV_PULSE_PRIO_INHERIT, 6, 0);
    for (int round = 0; round < 2; round++) {
        CHECK_EQ(MsgSend(coid, &burst, sizeof burst, NULL, 0), 0);
        int got = 0;
        wrong = 0;
        struct _pulse p;
        while (got < burst.n && pulse_within(chid, 5000, &p)) {
            got++;
            if (p.value.sival_int != got && wrong++ < 3)
                h_note("event %d has value %d", got, p.value.sival_int);
        }
        CHECK_EQ(got, burst.n);
        CHECK_EQ(wrong, 0);
    }
    CHECK_OK(ConnectDetach(self));
    CHECK_OK(ChannelDestroy(chid));
    CHECK_OK(ConnectDetach(coid));
    stage_down(&s);
}

static void interrupt_only(int sig)
{
    (void)sig;
}

/* Sends SIGUSR1 to thread `*(pthread_t *)arg` 300 ms from now. */
static void *signal_later(void *arg)
{
    h_sleep_ms(300);
    pthread_kill(*(pthread_t *)arg, SIGUSR1);
    return NULL;
}

/* A remote ConnectAttach whose client is let go (a signal) while the serving node attaches
 * (here to a server that is stopped) leaves nothing behind: once the server runs again, the
 * connection made there for the client is detached (the server gets
 * _PULSE_CODE_DISCONNECT). */
TEST(attach_let_go)
{
    struct stage s;
    if (!stage_up(&s, "", "echo_server"))
        return;
    REQUIRE_OK(kill(s.spid, SIGSTOP));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = interrupt_only;
    REQUIRE_OK(sigaction(SIGUSR1, &sa, NULL));
    pthread_t me = pthread_self();
    pthread_t t = h_thread(signal_later, &me);
    CHECK_ERR(ConnectAttach((uint32_t)s.nd, s.spid, s.schid, _NTO_SIDE_CHANNEL, 0), EINTR);
    CHECK_EQ(h_join(t, 5000, NULL), 0);
    REQUIRE_OK(kill(s.spid, SIGCONT));
    CHECK_EQ(h_get(s.server.rd, 5000), DISCONNECTED);
    stage_down(&s);
}

/* MsgSend of `ask` on `coid`, cut short 300 ms later by a TimerTimeout (`timeout`) or a
 * SIGUSR1 with a handler: its result (errno in *e) and how long it took, in *ms. */
static long send_cut_short(int coid, int ask, bool timeout, int *e, long long *ms)
{
    pthread_t me = pthread_self(), t = 0;
    uint64_t ns = 300000000;
    if (timeout)
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    else
        t = h_thread(signal_later, &me);
    long long t0 = h_now_ms();
    errno = 0;
    long r = MsgSend(coid, &ask, sizeof ask, NULL, 0);
    *e = errno;
    *ms = h_now_ms() - t0;
    if (!timeout)
        CHECK_EQ(h_join(t, 5000, NULL), 0);
    return r;
}

/* The unblock protocol across nodes. A remote client REPLY-blocked on a server whose
 * channel has _NTO_CHF_UNBLOCK stays blocked when its TimerTimeout expires or a signal hits
 * it; the server gets _PULSE_CODE_UNBLOCK (the rcvid; MsgInfo shows _NTO_MI_UNBLOCK_REQ)
 * and decides: MsgError(EINTR), MsgError(-1) (the client's own cause) or a reply. Without
 * the flag the call ends at once (ETIMEDOUT, EINTR), and the thread that carried it on the
 * server's node is let go with it: the server's late MsgReply finds no one (ESRCH). */
TEST(unblock_remote)
{
    if (!two_nodes_up(""))
        return;
    pid_t hpid, ppid;
    int hchid, pchid;
    struct h_proc held = start_server("unblock_server", ns_b, &hpid, &hchid);
    struct h_proc plain = start_server("echo_server", ns_b, &ppid, &pchid);
    REQUIRE_OK(enter(ns_a));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = interrupt_only;
    REQUIRE_OK(sigaction(SIGUSR1, &sa, NULL));
    int nd = find_beta();
    int coid = ConnectAttach((uint32_t)nd, hpid, hchid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    int e;
    long long ms;
    const struct {
        int ask;
        bool timeout;
        long result;
        int err;
    } held_cases[] = {
        {ASK_EINTR, true, -1, EINTR},  {ASK_CAUSE, true, -1, ETIMEDOUT}, {ASK_REPLY, true, 7, 0},
        {ASK_CAUSE, false, -1, EINTR}, {ASK_REPLY, false, 7, 0},
    };
    for (size_t i = 0; i < sizeof held_cases / sizeof held_cases[0]; i++) {
        long r = send_cut_short(coid, held_cases[i].ask, held_cases[i].timeout, &e, &ms);
        CHECK_EQ(r, held_cases[i].result);
        if (r == -1)
            CHECK_EQ(e, held_cases[i].err);
        CHECK(ms >= 290 && ms < 3000);
        CHECK_EQ(h_get(held.rd, 5000), SAW_UNBLOCK);
    }
    CHECK_OK(ConnectDetach(coid));

    coid = ConnectAttach((uint32_t)nd, ppid, pchid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    for (int timeout = 1; timeout >= 0; timeout--) {
        CHECK_EQ(send_cut_short(coid, ASK_HANG, timeout, &e, &ms), -1);
        CHECK_EQ(e, timeout ? ETIMEDOUT : EINTR);
        CHECK(ms >= 290 && ms < 300 + 1500);
        int late = ASK_LATE, err = -1;
        CHECK_EQ(MsgSend(coid, &late, sizeof late, &err, sizeof err), 0);
        CHECK_EQ(err, ESRCH);
    }
    CHECK_OK(ConnectDetach(coid));
    h_kill(held.pid);
    h_kill(plain.pid);
    h_close_proc(&held);
    h_close_proc(&plain);
    nodes_down();
}

/* A remote client thread's call that its server never answers, on coid `*(int *)arg`: the
 * call's errno when it ends (its server is killed). */
static void *hang_on(void *arg)
{
    int hang = ASK_HANG;
    long r = MsgSend(*(int *)arg, &hang, sizeof hang, NULL, 0);
    return (void *)(intptr_t)(r == -1 ? errno : 0);
}

/* A new remote connection to echo server `pid`/`chid` on node `nd` is answered within 5 s,
 * whatever else waits on that node: the coid. */
static int still_served(int nd, pid_t pid, int chid)
{
    int coid = ConnectAttach((uint32_t)nd, pid, chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(coid != -1);
    char msg[] = "still served", reply[sizeof msg] = "";
    uint64_t ns = 5000000000ull;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    CHECK_EQ(MsgSend(coid, msg, sizeof msg, reply, sizeof reply), (long)sizeof msg);
    CHECK(strcmp(reply, msg) == 0);
    return coid;
}

/* Calls on connections of their own, and on one shared connection: more than it carries at
 * once (32), so that some wait SEND-blocked for their turn. */
#define OWN_HUNG 160
#define SHARED_HUNG 40

/* Many calls blocked on one node's server hold up nothing else there: another call from
 * the same node still gets through, and an unblock of a blocked one. When their server
 * dies, every one of them fails with ESRCH, as on QNX, REPLY- or SEND-blocked. */
TEST(many_blocked_calls)
{
    if (!two_nodes_up(""))
        return;
    pid_t spid, epid;
    int schid, echid;
    struct h_proc server = start_server("echo_server", ns_b, &spid, &schid);
    struct h_proc echo = start_server("echo_server", ns_b, &epid, &echid);
    REQUIRE_OK(enter(ns_a));
    int nd = find_beta();
    static int coids[OWN_HUNG + 1];
    pthread_t t[OWN_HUNG + SHARED_HUNG];
    for (int i = 0; i <= OWN_HUNG; i++) {
        coids[i] = ConnectAttach((uint32_t)nd, spid, schid, _NTO_SIDE_CHANNEL, 0);
        REQUIRE(coids[i] != -1);
    }
    for (int i = 0; i < OWN_HUNG + SHARED_HUNG; i++)
        t[i] = h_thread(hang_on, &coids[i < OWN_HUNG ? i : OWN_HUNG]);
    h_sleep_ms(1500);
    int ecoid = still_served(nd, epid, echid);
    /* One more hung call on the busy server still unblocks at once. */
    uint64_t ns = 300000000;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    long long t0 = h_now_ms();
    int hang = ASK_HANG;
    CHECK_ERR(MsgSend(ecoid, &hang, sizeof hang, NULL, 0), ETIMEDOUT);
    CHECK(h_now_ms() - t0 < 3000);
    h_kill(server.pid);
    int esrch = 0;
    for (int i = 0; i < OWN_HUNG + SHARED_HUNG; i++) {
        void *e = NULL;
        CHECK_EQ(h_join(t[i], 10000, &e), 0);
        esrch += (int)(intptr_t)e == ESRCH;
    }
    CHECK_EQ(esrch, OWN_HUNG + SHARED_HUNG);
    h_kill(echo.pid);
    h_close_proc(&server);
    h_close_proc(&echo);
    nodes_down();
}

/* A node's calls that wait for their servers hold threads and memory on the serving node:
 * each node gets a share (256 calls in progress), past which its calls wait (1024), past
 * which they are refused with EAGAIN as they come. A hostile node that floods a server with
 * calls it never needs answered gets no more: at least the calls past both are refused,
 * and at most all but the waiting ones (how many are in progress when the last arrive
 * depends on how fast the serving node places them); the other nodes' calls, to the same
 * server, go on. (The flooding peer first checks that an attach it asks under another
 * node's name is refused.) */
#define SHARE_CALLS 256
#define SHARE_WAITING 1024
#define REFUSED 40
TEST(hostile_flood)
{
    struct stage s;
    if (!have_netprobe() || !stage_up(&s, "", "echo_server"))
        return;
    char args[256], out[64] = "";
    snprintf(args, sizeof args, "flood tcp/10.77.0.2:7447 evil beta %d %d %d %d 64", (int)s.spid, s.schid, ASK_HANG,
             SHARE_CALLS + SHARE_WAITING + REFUSED);
    pid_t evil = probe(ns_a, args, "eagain", out, sizeof out, 30000);
    REQUIRE(evil > 0);
    int refused = atoi(out + strlen("eagain "));
    CHECK(refused >= REFUSED && refused <= REFUSED + SHARE_CALLS);
    still_served(s.nd, s.spid, s.schid);
    h_kill(evil);
    stage_down(&s);
}

/* A node that answers nothing (alive, announcing a name, taking every query) stops
 * nobody: a lookup of its name gives up on it after the gateways' patience with each other
 * (5 s), and a client hit by a signal while its gateway asks it is let go at once (the
 * gateway's channel has _NTO_CHF_UNBLOCK), whether it looks a name up or attaches. */
TEST(hostile_mute)
{
    struct stage s;
    if (!have_netprobe() || !stage_up(&s, "", "echo_server"))
        return;
    pid_t peer = hostile_peer(ns_b, "nto/alive/mute nto/name/lnt~2fmuted/mute mute:nto/mute/**");
    REQUIRE(peer > 0);
    int mute = -1;
    for (long long until = h_now_ms() + 10000; mute == -1 && h_now_ms() < until; h_sleep_ms(100))
        mute = netmgr_strtond("mute", NULL);
    REQUIRE(mute > 0);
    long long t0 = h_now_ms();
    CHECK_ERR(name_open("lnt/muted", NAME_FLAG_ATTACH_GLOBAL), ENOENT);
    long long ms = h_now_ms() - t0;
    CHECK(ms >= 4000 && ms < 9000);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = interrupt_only;
    REQUIRE_OK(sigaction(SIGUSR1, &sa, NULL));
    pthread_t me = pthread_self();
    for (int attach = 0; attach <= 1; attach++) {
        pthread_t t = h_thread(signal_later, &me);
        t0 = h_now_ms();
        if (attach)
            CHECK_ERR(ConnectAttach((uint32_t)mute, 1, 1, _NTO_SIDE_CHANNEL, 0), EINTR);
        else
            CHECK_ERR(name_open("lnt/muted", NAME_FLAG_ATTACH_GLOBAL), EINTR);
        ms = h_now_ms() - t0;
        CHECK(ms >= 290 && ms < 2000);
        CHECK_EQ(h_join(t, 5000, NULL), 0);
    }
    /* The gateways serve on. */
    still_served(s.nd, s.spid, s.schid);
    h_kill(peer);
    stage_down(&s);
}

/* A peer that stops reading its link (here one that takes everything sent under nto/, and
 * never returns from the first) holds up what is sent its way: Zenoh waits 5 s for room on
 * its link (Block congestion control's wait_before_close), then closes it; the peer, which
 * connects again, can do so again, and meanwhile the gateway's Zenoh threads wait too. So
 * calls are held up, by seconds, but not for good, and are served at once when it is gone. */
#define STALL_CALLS 6
#define STALL_MSG (4 << 20)
TEST(hostile_stall)
{
    struct stage s;
    if (!have_netprobe() || !stage_up(&s, "", "echo_server"))
        return;
    int coid = still_served(s.nd, s.spid, s.schid);
    char out[16] = "";
    pid_t peer = probe(ns_a, "stall tcp/10.77.0.1:7447 nto/**", "ready", out, sizeof out, 10000);
    REQUIRE(peer > 0);
    char *msg = malloc(STALL_MSG), *back = malloc(STALL_MSG);
    REQUIRE(msg && back);
    memset(msg, 5, STALL_MSG);
    long long t0 = h_now_ms(), longest = 0;
    for (int i = 0; i < STALL_CALLS; i++) {
        long long c0 = h_now_ms();
        /* The echo server takes the first BIG + 64 bytes, and echoes them. */
        CHECK_EQ(MsgSend(coid, msg, STALL_MSG, back, STALL_MSG), BIG + 64);
        longest = h_now_ms() - c0 > longest ? h_now_ms() - c0 : longest;
    }
    h_note("%d calls of 4 MiB past a stalled peer: %lld ms, the longest %lld ms", STALL_CALLS, h_now_ms() - t0,
           longest);
    /* It stalled, and no call waited for good. */
    CHECK(longest >= 4000 && longest < 20000);
    CHECK_MEM(msg, back, BIG + 64);
    h_kill(peer);
    still_served(s.nd, s.spid, s.schid);
    free(msg);
    free(back);
    stage_down(&s);
}

HARNESS_MAIN
