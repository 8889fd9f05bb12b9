/* Round trips through the gateways: `remote_rtt serve` prints "pid chid" and echoes;
 * `remote_rtt NODE PID CHID` times MsgSend of 16 B and 64 KiB (echoed) and of 1 MiB
 * (16 B reply) on a remote connection, in netprobe's format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void row(int coid, int req, int rep, int n)
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
    printf("remote req %8d B rep %6d B  n %6d  median %8.1f us  mean %8.1f us  p99 %8.1f us  %8.1f MB/s\n",
           req, rep, n, t[n / 2], total / n, t[n * 99 / 100], (double)(req + rep) * n / total);
    free(s);
    free(r);
    free(t);
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
    row(coid, 16, 16, 20000);
    row(coid, 65536, 65536, 3000);
    row(coid, BIG, 16, 300);
    return 0;
}
