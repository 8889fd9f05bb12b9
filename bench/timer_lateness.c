/*
 * timer_lateness.c - how late the pulses of a 1 ms periodic pulse timer arrive, next to a
 * plain Linux timerfd measured in the same run (the baseline: the kernel's own timer and
 * one thread's wake-up). The receiver here is in the timer's process, so it wakes itself
 * at each expiry and queues the pulse (bench/README.md, "Timer lateness"); what is left on
 * top of the timerfd is that queueing and taking the pulse off the channel.
 *
 *   cc -O2 bench/timer_lateness.c $(pkg-config --cflags --libs neutrino) -lpthread
 *   ./timer_lateness [--quick] [--seconds S] [--json PATH]
 *
 * Each timer is armed on CLOCK_MONOTONIC with an absolute first expiry T0 and a 1 ms
 * interval; expiry i is due at T0 + i ms. The pulse timer queues one pulse per expiry on a
 * side-channel coid to the program's own channel, which the main thread takes with
 * MsgReceivePulse; the timerfd is read by the main thread (a read reporting k expiries
 * accounts for k of them). The two take turns, 4 rounds each. Lateness of expiry i = the CLOCK_MONOTONIC time its pulse (or
 * read) returned - its due time. Table: median, p99 and max lateness in microseconds over
 * S seconds (default 3, --quick 1) and the pulse timer's median / timerfd's median. The
 * same figures go to PATH (default results/timer.json). Other arguments are ignored, so
 * `make bench BENCHFLAGS=...` can pass the main benchmark's. A watchdog ends the program
 * if a run hangs.
 */
#define _GNU_SOURCE
#include <sys/neutrino.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_NS 1000000LL
#define ROUNDS 4

struct result {
    const char *id;
    const char *label;
    long n;
    double median_us, p99_us, max_us;
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec ts_of(long long ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
    return ts;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static struct result summarize(const char *id, const char *label, long long *late, long n)
{
    struct result r = {id, label, n, 0, 0, 0};
    if (n == 0)
        return r;
    qsort(late, (size_t)n, sizeof *late, cmp_ll);
    r.median_us = late[n / 2] / 1000.0;
    r.p99_us = late[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0;
    r.max_us = late[n - 1] / 1000.0;
    return r;
}

/* The absolute 1 ms setting starting 10 ms from now; its first due time in *t0. */
static struct itimerspec periodic(long long *t0)
{
    *t0 = now_ns() + 10 * PERIOD_NS;
    struct itimerspec its = {ts_of(PERIOD_NS), ts_of(*t0)};
    return its;
}

/* Each measures `max` expiries into `late`; returns how many it measured. */
static long run_pulse_timer(long long *late, long max)
{
    int chid = ChannelCreate(0);
    int coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    struct sigevent ev;
    timer_t t;
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, 10, 1, 0);
    if (chid < 0 || coid < 0 || timer_create(CLOCK_MONOTONIC, &ev, &t) != 0) {
        fprintf(stderr, "pulse timer: %s\n", strerror(errno));
        exit(1);
    }
    long long t0;
    struct itimerspec its = periodic(&t0);
    timer_settime(t, TIMER_ABSTIME, &its, NULL);
    long n = 0;
    while (n < max) {
        struct _pulse p;
        if (MsgReceivePulse(chid, &p, sizeof p, NULL) != 0)
            break;
        late[n] = now_ns() - (t0 + n * PERIOD_NS);
        n++;
    }
    timer_delete(t);
    ConnectDetach(coid);
    ChannelDestroy(chid);
    return n;
}

static long run_timerfd(long long *late, long max)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    long long t0;
    struct itimerspec its = periodic(&t0);
    if (fd < 0 || timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) != 0) {
        fprintf(stderr, "timerfd: %s\n", strerror(errno));
        exit(1);
    }
    long n = 0;
    while (n < max) {
        uint64_t k;
        if (read(fd, &k, sizeof k) != (ssize_t)sizeof k)
            break;
        long long at = now_ns();
        for (uint64_t i = 0; i < k && n < max; i++, n++)
            late[n] = at - (t0 + n * PERIOD_NS);
    }
    close(fd);
    return n;
}

static void write_json(const char *path, const struct result *r, int nr, double seconds)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        mkdir(dir, 0755);
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "{\n  \"benchmark\": \"timer_lateness\",\n  \"seconds_per_row\": %.1f,\n", seconds);
    fprintf(f, "  \"cpus\": %ld,\n  \"rows\": [\n", sysconf(_SC_NPROCESSORS_ONLN));
    for (int i = 0; i < nr; i++)
        fprintf(f,
                "    {\"id\": \"%s\", \"expiries\": %ld, \"median_us\": %.1f, \"p99_us\": %.1f, "
                "\"max_us\": %.1f}%s\n",
                r[i].id, r[i].n, r[i].median_us, r[i].p99_us, r[i].max_us, i + 1 < nr ? "," : "");
    double ratio = r[1].median_us > 0 ? r[0].median_us / r[1].median_us : 0;
    fprintf(f, "  ],\n  \"pulse_over_timerfd_median\": %.2f\n}\n", ratio);
    fclose(f);
}

int main(int argc, char **argv)
{
    double seconds = 3;
    const char *json = "results/timer.json";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            seconds = 1;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
    }
    if (seconds <= 0 || seconds > 60)
        seconds = 3;
    alarm((unsigned)(2 * seconds) + 20); /* watchdog: SIGALRM ends a hung run */
    /* The rows take turns, so that a load on the machine weighs on both alike. */
    long per_round = (long)(seconds * 1e9 / PERIOD_NS) / ROUNDS;
    long max = per_round * ROUNDS, np = 0, nf = 0;
    long long *late_p = malloc((size_t)max * sizeof(long long));
    long long *late_f = malloc((size_t)max * sizeof(long long));
    if (!late_p || !late_f)
        return 1;
    for (int i = 0; i < ROUNDS; i++) {
        np += run_pulse_timer(late_p + np, per_round);
        nf += run_timerfd(late_f + nf, per_round);
    }
    struct result r[2];
    r[0] = summarize("timer_pulse_1ms", "pulse timer, 1 ms period", late_p, np);
    r[1] = summarize("timerfd_1ms", "baseline: timerfd, 1 ms period", late_f, nf);
    printf("\nTimer lateness (CLOCK_MONOTONIC, 1 ms period, %.0f s per row; microseconds)\n", seconds);
    printf("%-34s %9s %9s %9s %9s\n", "row", "expiries", "median", "p99", "max");
    for (int i = 0; i < 2; i++)
        printf("%-34s %9ld %9.1f %9.1f %9.1f\n", r[i].label, r[i].n, r[i].median_us, r[i].p99_us,
               r[i].max_us);
    if (r[1].median_us > 0)
        printf("pulse timer median / timerfd median: %.2f\n", r[0].median_us / r[1].median_us);
    write_json(json, r, 2, seconds);
    free(late_p);
    free(late_f);
    return r[0].n == max && r[1].n == max ? 0 : 1;
}
