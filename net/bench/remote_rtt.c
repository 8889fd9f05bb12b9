/* Round trips through the gateways: `remote_rtt serve` prints "pid chid" and echoes;
 * `remote_rtt NODE PID CHID` times MsgSend of 16 B and 64 KiB (echoed) and of 1 MiB
 * (16 B reply) on a remote connection, in netprobe's format.
 *
 * And the floor of that shape with no network engine at all: `remote_rtt relay-serve
 * PORT PID CHID` (on the server's node) takes one TCP connection and passes each message
 * on it to the echo server by MsgSend and the reply back; `remote_rtt relay ADDR PORT`
 * (on the client's node) is a local server that passes each message it receives over
 * TCP to it and replies with what comes back, and times the same rows against itself
 * from a child, as "relay". Each message then makes the hops a call through two
 * gateways makes (client, gateway, link, gateway, server and back) with one TCP round
 * trip between the gateways. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/netmgr.h>
#include <sys/neutrino.h>

#define BIG (1 << 20)

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

static void row(const char *label, int coid, int req, int rep, int n)
{
    char *s = calloc(1, BIG), *r = calloc(1, BIG);
    double *t = calloc((size_t)n, sizeof *t), total = 0;
    for (int i = 0; i < n + n / 10; i++) {
        double t0 = now_us();
        if (MsgSend(coid, s, (size_t)req, r, (size_t)rep) == -1) {
            perror("MsgSend");
            exit(1);
        }
        if (i >= n / 10)
            t[i - n / 10] = now_us() - t0;
    }
    for (int i = 0; i < n; i++)
        total += t[i];
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%s req %8d B rep %6d B  n %6d  median %8.1f us  mean %8.1f us  p99 %8.1f us  %8.1f MB/s\n", label,
           req, rep, n, t[n / 2], total / n, t[n * 99 / 100], (double)(req + rep) * n / total);
    fflush(stdout);
    free(s);
    free(r);
    free(t);
}

static void rows(const char *label, int coid)
{
    row(label, coid, 16, 16, 20000);
    row(label, coid, 65536, 65536, 3000);
    row(label, coid, BIG, 16, 300);
}

static void io(int fd, void *buf, size_t n, int out)
{
    for (size_t done = 0; done < n;) {
        ssize_t k = out ? write(fd, (char *)buf + done, n - done) : read(fd, (char *)buf + done, n - done);
        if (k <= 0)
            exit(k == 0 ? 0 : 1); /* the other side is done */
        done += (size_t)k;
    }
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

/* A message on the link: its length and its reply buffer's, then its bytes. */
static int relay_serve(int port, int pid, int chid)
{
    int fd = tcp(NULL, port), coid = ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0);
    char *buf = malloc(BIG), *rep = malloc(BIG);
    if (fd == -1 || coid == -1) {
        perror("relay-serve");
        return 1;
    }
    for (;;) {
        uint32_t len[2];
        io(fd, len, sizeof len, 0);
        if (len[0] > BIG || len[1] > BIG)
            return 1;
        io(fd, buf, len[0], 0);
        if (MsgSend(coid, buf, len[0], rep, len[1]) == -1)
            return 1;
        io(fd, rep, len[1], 1);
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
        rows("relay", coid);
        _exit(0);
    }
    /* The child's connection's end comes as a pulse. */
    int fd = tcp(addr, port), chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    char *buf = malloc(BIG);
    if (fd == -1 || chid == -1 || write(p[1], &chid, sizeof chid) != sizeof chid) {
        perror("relay");
        return 1;
    }
    for (;;) {
        struct _msg_info info;
        rcvid_t id = MsgReceive(chid, buf, BIG, &info);
        if (id == 0) /* the disconnect pulse: the child is done */
            break;
        if (id < 0)
            continue;
        uint32_t len[2] = {(uint32_t)info.msglen, (uint32_t)info.dstmsglen};
        io(fd, len, sizeof len, 1);
        io(fd, buf, len[0], 1);
        io(fd, buf, len[1], 0);
        MsgReply(id, 0, buf, len[1]);
    }
    int st;
    waitpid(child, &st, 0);
    return !WIFEXITED(st) || WEXITSTATUS(st) != 0;
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
    if (argc == 5 && strcmp(argv[1], "relay-serve") == 0)
        return relay_serve(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
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
    rows("remote", coid);
    return 0;
}
