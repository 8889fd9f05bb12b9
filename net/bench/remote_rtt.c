/* Round trips through the gateways, and what they are measured against, in netprobe's row
 * format ("LABEL req N B rep N B  n N  median US us ...").
 *
 *   remote_rtt serve                  a local echo server: prints "pid chid"
 *   remote_rtt NODE PID CHID          MsgSend of 16 B and 64 KiB (echoed) and of 1 MiB
 *                                     (16 B reply) to it from another node: "remote"
 *   remote_rtt tcp-serve PORT [PID CHID]
 *   remote_rtt tcp ADDR PORT          the same rows as a plain TCP ping-pong, blocking
 *                                     sockets, one write a message each way: "tcp"
 *   remote_rtt relay ADDR PORT        the gateways' shape with no network engine: a local
 *                                     server that passes each message it receives over TCP
 *                                     to a tcp-serve given the echo server's PID CHID, which
 *                                     MsgSends it there, and replies with what comes back;
 *                                     the rows are timed against it from a child: "relay"
 *
 * A relayed call makes the hops a call through two gateways makes (client, gateway, link,
 * gateway, server and back) with one TCP round trip between the gateways: its floor. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/netmgr.h>
#include <sys/neutrino.h>

#define BIG (1 << 20)
/* On TCP a message goes after its length and its reply's: room for them before it. */
#define HEAD (2 * sizeof(uint32_t))

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* All n bytes of buf to or from fd: false when the connection ended or failed first. */
static bool io(int fd, void *buf, size_t n, bool out)
{
    for (size_t done = 0; done < n;) {
        ssize_t k = out ? write(fd, (char *)buf + done, n - done) : read(fd, (char *)buf + done, n - done);
        if (k <= 0)
            return false;
        done += (size_t)k;
    }
    return true;
}

/* A call: `s` has HEAD bytes of room before it. Returns -1 on failure. */
typedef int call_fn(int to, char *s, uint32_t req, char *r, uint32_t rep);

static int msg_call(int coid, char *s, uint32_t req, char *r, uint32_t rep)
{
    return (int)MsgSend(coid, s, req, r, rep);
}

static int tcp_call(int fd, char *s, uint32_t req, char *r, uint32_t rep)
{
    uint32_t len[2] = {req, rep};
    memcpy(s - HEAD, len, HEAD);
    return io(fd, s - HEAD, HEAD + req, true) && io(fd, r, rep, false) ? 0 : -1;
}

static void row(const char *label, call_fn *call, int to, uint32_t req, uint32_t rep, int n)
{
    char *s = calloc(1, HEAD + BIG), *r = calloc(1, BIG);
    double *t = calloc((size_t)n, sizeof *t), total = 0;
    for (int i = 0; i < n + n / 10; i++) {
        memcpy(s + HEAD, &i, sizeof i);
        double t0 = now_us();
        if (call(to, s + HEAD, req, r, rep) == -1) {
            perror(label);
            exit(1);
        }
        if (i >= n / 10)
            t[i - n / 10] = now_us() - t0;
        if (memcmp(r, &i, sizeof i) != 0) { /* each call's own echo (the 1 MiB row's too) */
            fprintf(stderr, "%s: call %d got another's reply\n", label, i);
            exit(1);
        }
    }
    for (int i = 0; i < n; i++)
        total += t[i];
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%-6s req %8u B rep %6u B  n %6d  median %8.1f us  mean %8.1f us  p99 %8.1f us  %8.1f MB/s\n", label,
           req, rep, n, t[n / 2], total / n, t[n * 99 / 100], (double)(req + rep) * n / total);
    fflush(stdout);
    free(s);
    free(r);
    free(t);
}

static void rows(const char *label, call_fn *call, int to)
{
    row(label, call, to, 16, 16, 20000);
    row(label, call, to, 65536, 65536, 3000);
    row(label, call, to, BIG, 16, 300);
}

/* A TCP connection to addr, or the first one to come when addr is NULL. */
static int tcp(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    if (addr == NULL) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 1))
            return -1;
        int c = accept(fd, NULL, NULL);
        close(fd);
        fd = c;
    } else {
        inet_pton(AF_INET, addr, &sa.sin_addr);
        for (int i = 0; i < 100 && connect(fd, (struct sockaddr *)&sa, sizeof sa); i++)
            usleep(100000);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Serves one TCP connection: each message is echoed, or MsgSent on coid (not -1) and its
 * reply sent back; ends with the connection. */
static int tcp_serve(int port, int coid)
{
    int fd = tcp(NULL, port);
    char *buf = malloc(BIG), *rep = malloc(BIG);
    if (fd == -1) {
        perror("tcp-serve");
        return 1;
    }
    for (;;) {
        uint32_t len[2];
        if (!io(fd, len, sizeof len, false)) /* the client is done */
            return 0;
        if (len[0] > BIG || len[1] > BIG || !io(fd, buf, len[0], false))
            return 1;
        if (coid != -1 && MsgSend(coid, buf, len[0], rep, len[1]) == -1)
            return 1;
        if (!io(fd, coid == -1 ? buf : rep, len[1], true))
            return 1;
    }
}

static int relay(const char *addr, int port)
{
    int p[2];
    if (pipe(p))
        return 1;
    pid_t child = fork();
    if (child == 0) { /* the client, once the parent has its channel */
        int chid;
        close(p[1]);
        if (read(p[0], &chid, sizeof chid) != sizeof chid)
            _exit(1);
        int coid = ConnectAttach(0, getppid(), chid, _NTO_SIDE_CHANNEL, 0);
        if (coid == -1)
            _exit(1);
        rows("relay", msg_call, coid);
        _exit(0);
    }
    /* As the gateways, which stand for this and tcp-serve, do not spin (net/src/tuning.rs). */
    setenv("NEUTRINO_SPIN_US", "0", 0);
    /* The child's connection's end comes as a pulse. */
    int fd = tcp(addr, port), chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    char *buf = malloc(HEAD + BIG);
    if (fd == -1 || chid == -1 || write(p[1], &chid, sizeof chid) != sizeof chid) {
        perror("relay");
        return 1;
    }
    for (;;) {
        struct _msg_info info;
        rcvid_t id = MsgReceive(chid, buf + HEAD, BIG, &info);
        if (id == 0) /* the disconnect pulse: the child is done */
            break;
        if (id < 0 && errno == EINTR)
            continue;
        uint32_t req = 0, rep = 0;
        if (id > 0) {
            req = (uint32_t)(info.msglen < BIG ? info.msglen : BIG);
            rep = (uint32_t)info.dstmsglen;
        }
        if (id < 0 || rep > BIG || tcp_call(fd, buf + HEAD, req, buf + HEAD, rep) == -1) {
            perror("relay");
            kill(child, SIGKILL);
            break;
        }
        MsgReply(id, 0, buf + HEAD, rep);
    }
    int st = 0;
    return waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "serve") == 0) {
        int chid = ChannelCreate(0);
        char *buf = malloc(BIG);
        printf("%d %d\n", getpid(), chid);
        fflush(stdout);
        for (;;) {
            struct _msg_info info;
            rcvid_t id = MsgReceive(chid, buf, BIG, &info);
            if (id > 0)
                MsgReply(id, 0, buf, (size_t)(info.dstmsglen < info.msglen ? info.dstmsglen : info.msglen));
        }
    }
    if (argc == 3 && strcmp(argv[1], "tcp-serve") == 0)
        return tcp_serve(atoi(argv[2]), -1);
    if (argc == 5 && strcmp(argv[1], "tcp-serve") == 0) {
        int coid = ConnectAttach(0, atoi(argv[3]), atoi(argv[4]), _NTO_SIDE_CHANNEL, 0);
        return coid == -1 ? 1 : tcp_serve(atoi(argv[2]), coid);
    }
    if (argc == 4 && strcmp(argv[1], "tcp") == 0) {
        int fd = tcp(argv[2], atoi(argv[3]));
        if (fd == -1)
            return 1;
        rows("tcp", tcp_call, fd);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "relay") == 0)
        return relay(argv[2], atoi(argv[3]));
    if (argc != 4)
        return 2;
    int nd = -1;
    for (int i = 0; i < 100 && (nd = netmgr_strtond(argv[1], NULL)) == -1; i++)
        usleep(100000);
    int coid = ConnectAttach((uint32_t)nd, atoi(argv[2]), atoi(argv[3]), _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        perror("ConnectAttach");
        return 1;
    }
    rows("remote", msg_call, coid);
    return 0;
}
