/*
 * bench.c - libneutrino's benchmark suite: every row of the targets tables of issues 6 and
 * 14 and their baselines, measured in one run on this machine.
 *
 *   make bench                   (BENCHFLAGS=--quick for a run of well under a minute)
 *   bench [--quick | --smoke] [--json PATH] [--reps N] [--time S] [--only IDS]
 *
 * Prints a table of measurements (median of the repetitions, p99 of single round trips,
 * ratios against the same run's baselines), then the targets with PASS or MISS; writes
 * the same figures as JSON (bench/chart draws them). See bench/README.md for what each row
 * measures.
 */
#include "bench.h"

#include <sys/neutrino.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>

int         opt_reps = 7, opt_quick, opt_smoke;
long        opt_ops;
double      opt_time = 0.2;
static const char *opt_json = "results/bench.json";
static const char *opt_only;
static double      load_start = -1, load_end = -1;     /* 1-minute load averages */

static double loadavg(void)
{
    double v = -1;
    FILE  *f = fopen("/proc/loadavg", "r");

    if (f) {
        if (fscanf(f, "%lf", &v) != 1) {
            v = -1;
        }
        fclose(f);
    }
    return v;
}

/* --- the rows, in the order they run and print --------------------------- */

#define RT_ROWS(b, s)                                                                      \
    { .id = "msg_rt_process_" s, .label = "MsgSend round trip, 2 processes", .kind = K_RT, \
      .bytes = b, .base = { "socket_rt_" s, "spin_rt_" s }, .run = run_msg_rt_process },   \
    { .id = "msg_rt_thread_" s, .label = "MsgSend round trip, 2 threads", .kind = K_RT,    \
      .bytes = b, .base = { "socket_rt_" s, "spin_rt_" s }, .run = run_msg_rt_thread },    \
    { .id = "socket_rt_" s, .label = "baseline: SOCK_SEQPACKET ping-pong", .kind = K_RT,   \
      .bytes = b, .short_name = "socket", .run = run_socket_rt },                          \
    { .id = "spin_rt_" s, .label = "floor: shared-memory spin ping-pong", .kind = K_RT,    \
      .bytes = b, .short_name = "floor", .run = run_spin_rt },
/* The floor of a message passed between two private buffers through shared memory, as ours are. */
#define RELAY_ROW(b, s)                                                                    \
    { .id = "spin_relay_rt_" s, .label = "floor: spin ping-pong, copied in and out",       \
      .kind = K_RT, .bytes = b, .short_name = "relay floor", .run = run_spin_relay_rt },

static row_t rows[] = {
    RT_ROWS(16, "16") RT_ROWS(256, "256") RT_ROWS(1024, "1k")
    RT_ROWS(4096, "4k") RELAY_ROW(4096, "4k") RT_ROWS(16384, "16k") RELAY_ROW(16384, "16k")
    RT_ROWS(65536, "64k") RELAY_ROW(65536, "64k")
    { .id = "msg_bulk_1m", .label = "MsgSend 1 MiB, server receives all", .kind = K_BULK,
      .bytes = BULK, .base = { "memcpy_1m", "socket_stream_1m" }, .run = run_msg_bulk },
    { .id = "memcpy_1m", .label = "baseline: memcpy of 1 MiB", .kind = K_BULK, .bytes = BULK,
      .short_name = "memcpy", .run = run_memcpy },
    { .id = "socket_stream_1m", .label = "baseline: SOCK_STREAM 1 MiB + ack", .kind = K_BULK,
      .bytes = BULK, .short_name = "socket", .run = run_socket_bulk },
    { .id = "pulse_oneway_process", .label = "MsgSendPulse one-way, 2 processes",
      .kind = K_ONEWAY, .bytes = sizeof(struct _pulse), .base = { "socket_oneway_16" },
      .run = run_pulses },
    { .id = "socket_oneway_16", .label = "baseline: SOCK_SEQPACKET one-way", .kind = K_ONEWAY,
      .bytes = 16, .short_name = "socket", .run = run_socket_oneway },
    { .id = "many_clients_8x8", .label = "8 procs x 8 threads -> 2 receivers", .kind = K_ONEWAY,
      .bytes = 16, .run = run_many_clients },
    { .id = "msg_rt_idle_before_16", .label = "round trip, before 1000 idle conns", .kind = K_RT,
      .bytes = 16, .short_name = "no idle" },
    { .id = "msg_rt_idle_1000_16", .label = "round trip, with 1000 idle conns", .kind = K_RT,
      .bytes = 16, .base = { "msg_rt_idle_before_16" }, .run = run_idle_conns },
    { .id = "pipe_pinned_16", .label = "baseline: pipe ping-pong, 1 CPU", .kind = K_RT,
      .bytes = 16, .short_name = "pipe", .run = run_pinned },
    { .id = "msg_rt_pinned_16", .label = "MsgSend round trip, 1 CPU", .kind = K_RT, .bytes = 16,
      .base = { "pipe_pinned_16" } },
    { .id = "inversion_unloaded_16", .label = "1 CPU: FIFO 50 client, server idle",
      .kind = K_RT, .bytes = 16, .short_name = "unloaded", .run = run_inversion },
    { .id = "inversion_inherit_16", .label = "1 CPU: FIFO 50 vs FIFO 30 spin, inherit",
      .kind = K_RT, .bytes = 16, .base = { "inversion_unloaded_16" } },
    { .id = "inversion_fixed_16", .label = "1 CPU: same, _NTO_CHF_FIXED_PRIORITY",
      .kind = K_RT, .bytes = 16, .base = { "inversion_unloaded_16" } },
    { .id = "socket_busy_16", .label = "baseline: SOCK_SEQPACKET, CPUs busy", .kind = K_RT,
      .bytes = 16, .short_name = "socket", .run = run_busy },
    { .id = "msg_rt_busy_16", .label = "MsgSend round trip, other CPUs busy", .kind = K_RT,
      .bytes = 16, .base = { "socket_busy_16" } },
    { .id = "idle_server", .label = "server idle in MsgReceive", .kind = K_FIGURES,
      .run = run_idle_cpu },
    { .id = "pipe_rt_64", .label = "baseline: pipe ping-pong", .kind = K_RT, .bytes = 64,
      .short_name = "pipe", .run = run_pipe_rt },
    { .id = "fuse_read_64", .label = "baseline: read() of a minimal FUSE file", .kind = K_RT,
      .bytes = 64, .short_name = "FUSE", .run = run_fuse_read },
    { .id = "fuse_read_awake_64", .label = "baseline: minimal FUSE, CPUs kept awake",
      .kind = K_RT, .bytes = 64, .short_name = "awake FUSE", .run = run_fuse_read_awake },
    { .id = "resmgr_read_64", .label = "read() through a resource manager", .kind = K_RT,
      .bytes = 64, .base = { "fuse_read_64", "pipe_rt_64" }, .run = run_resmgr_read },
    { .id = "resmgr_read_awake_64", .label = "read() through a resmgr, CPUs kept awake",
      .kind = K_RT, .bytes = 64, .base = { "fuse_read_awake_64" }, .run = run_resmgr_read_awake },
    { .id = "resmgr_msgsend_64", .label = "MsgSend(fd) _IO_READ to a resmgr", .kind = K_RT,
      .bytes = 64, .base = { "fuse_read_awake_64", "pipe_rt_64" }, .run = run_resmgr_msgsend },
};

#define NROWS ((int)(sizeof rows / sizeof rows[0]))

row_t *row_find(const char *id)
{
    int i;

    for (i = 0; id && i < NROWS; i++) {
        if (strcmp(rows[i].id, id) == 0) {
            return &rows[i];
        }
    }
    return NULL;
}

void fig_add(row_t *r, const char *name, double v, const char *unit)
{
    if (r->nfig < MAX_FIGS) {
        r->fig[r->nfig++] = (fig_t){ name, v, unit };
    }
}

double fig_get(const row_t *r, const char *name, double dflt)
{
    int i;

    for (i = 0; r && i < r->nfig; i++) {
        if (strcmp(r->fig[i].name, name) == 0) {
            return r->fig[i].v;
        }
    }
    return dflt;
}

static const row_t *ok_row(const char *id)
{
    const row_t *r = row_find(id);

    return r && r->status == ROW_OK ? r : NULL;
}

/* row / baseline, medians; 0 when either is missing. */
static double ratio(const row_t *r, const char *base_id)
{
    const row_t *b = ok_row(base_id);

    return r->status == ROW_OK && b && b->median > 0 ? r->median / b->median : 0;
}

/* --- the targets of issues 6 and 14 ------------------------------------------------ */

typedef struct {
    const char *id, *measure, *target;
    char        result[200];
    const char *verdict;        /* PASS, MISS, info, n/a */
} target_t;

#define NTARGETS 17
static target_t targets[NTARGETS];

static const char *verdict(int pass)
{
    if (opt_smoke) {
        return "-";                             /* one short repetition judges nothing */
    }
    return pass ? "PASS" : "MISS";
}

static void rt_result(target_t *t, const char *id, const char *sock, const char *floor)
{
    const row_t *r = ok_row(id);

    if (r && ok_row(sock) && ok_row(floor)) {
        snprintf(t->result, sizeof t->result, "%.2f us: %.1fx faster than socket, %.1fx floor",
                 r->median, 1 / ratio(r, sock), ratio(r, floor));
    }
}

/* Issue 14: a message past the 16 B of the smallest row costs at most twice as much. The
 * floor of a message copied through shared memory into private buffers is shown beside it. */
static void mid_size(target_t *t, const char *id, const char *measure, const char *size)
{
    char         row[32], relay[32];
    const row_t *r, *f;

    snprintf(row, sizeof row, "msg_rt_process_%s", size);
    snprintf(relay, sizeof relay, "spin_relay_rt_%s", size);
    *t = (target_t){ id, measure, "<=2x the 16 B round trip", "", "n/a" };
    if ((r = ok_row(row)) && ok_row("msg_rt_process_16")) {
        snprintf(t->result, sizeof t->result, "%.2f us: %.2fx the 16 B", r->median,
                 ratio(r, "msg_rt_process_16"));
        if ((f = ok_row(relay))) {
            snprintf(t->result + strlen(t->result), sizeof t->result - strlen(t->result),
                     "; relay floor %.2f us, %.2fx the 16 B", f->median, ratio(f, "msg_rt_process_16"));
        }
        t->verdict = verdict(ratio(r, "msg_rt_process_16") <= 2);
    }
}

/* Issue 14: a 64 KiB round trip at most 3x the spin floor's. */
static void at_floor(target_t *t, const char *id, const char *measure, const char *row)
{
    const row_t *r;

    *t = (target_t){ id, measure, "<=3x the 64 KiB floor", "", "n/a" };
    if ((r = ok_row(row)) && ok_row("spin_rt_64k")) {
        snprintf(t->result, sizeof t->result, "%.2f us: %.2fx the floor", r->median,
                 ratio(r, "spin_rt_64k"));
        t->verdict = verdict(ratio(r, "spin_rt_64k") <= 3);
    }
}

/* bench/chart/src/model.rs (GEOMETRY) draws these bounds on the chart: keep the two in step
 * (the chart warns when the verdict its bounds give differs from the one written here). */
static void evaluate(void)
{
    const row_t *r, *b, *m, *s;
    target_t    *t = targets;
    double       x;
    int          i;

    for (i = 0; i < NTARGETS; i++) {
        targets[i].verdict = "n/a";
        snprintf(targets[i].result, sizeof targets[i].result, "not measured");
    }

    *t = (target_t){ "rt_process_16", "16 B round trip, 2 processes",
                     ">=20x faster than socket, <=8x floor", "", "n/a" };
    rt_result(t, "msg_rt_process_16", "socket_rt_16", "spin_rt_16");
    if ((r = ok_row("msg_rt_process_16")) && ok_row("socket_rt_16") && ok_row("spin_rt_16")) {
        t->verdict = verdict(1 / ratio(r, "socket_rt_16") >= 20 && ratio(r, "spin_rt_16") <= 8);
    }
    t++;
    *t = (target_t){ "rt_thread_16", "16 B round trip, 2 threads", "<=10x floor", "", "n/a" };
    rt_result(t, "msg_rt_thread_16", "socket_rt_16", "spin_rt_16");
    if ((r = ok_row("msg_rt_thread_16")) && ok_row("spin_rt_16")) {
        t->verdict = verdict(ratio(r, "spin_rt_16") <= 10);
    }
    t++;
    *t = (target_t){ "rt_process_1k", "1 KiB round trip, 2 processes", "reported", "", "n/a" };
    rt_result(t, "msg_rt_process_1k", "socket_rt_1k", "spin_rt_1k");
    if (ok_row("msg_rt_process_1k")) {
        t->verdict = "info";
    }
    t++;
    *t = (target_t){ "rt_process_64k", "64 KiB round trip, 2 processes",
                     ">=10x faster than socket", "", "n/a" };
    rt_result(t, "msg_rt_process_64k", "socket_rt_64k", "spin_rt_64k");
    if ((r = ok_row("msg_rt_process_64k")) && ok_row("socket_rt_64k")) {
        t->verdict = verdict(1 / ratio(r, "socket_rt_64k") >= 10);
    }
    t++;
    mid_size(t++, "rt_process_4k", "4 KiB round trip, 2 processes", "4k");
    mid_size(t++, "rt_process_16k", "16 KiB round trip, 2 processes", "16k");
    at_floor(t++, "rt_process_64k_floor", "64 KiB round trip, 2 processes", "msg_rt_process_64k");
    at_floor(t++, "rt_thread_64k_floor", "64 KiB round trip, 2 threads", "msg_rt_thread_64k");
    *t = (target_t){ "bulk_1m", "1 MiB MsgSend, server receives all", ">=10 GB/s", "", "n/a" };
    if ((r = ok_row("msg_bulk_1m"))) {
        x = fig_get(r, "throughput", 0);
        snprintf(t->result, sizeof t->result, "%.2f GB/s (memcpy %.2f, socket %.2f GB/s)", x,
                 fig_get(ok_row("memcpy_1m"), "throughput", 0),
                 fig_get(ok_row("socket_stream_1m"), "throughput", 0));
        t->verdict = verdict(x >= 10);
    }
    t++;
    *t = (target_t){ "pulses", "one-way pulses, 2 processes", ">=2 million/s", "", "n/a" };
    if ((r = ok_row("pulse_oneway_process"))) {
        x = fig_get(r, "rate", 0);
        snprintf(t->result, sizeof t->result, "%.2f M/s (socket one-way %.2f M/s)", x,
                 fig_get(ok_row("socket_oneway_16"), "rate", 0));
        t->verdict = verdict(x >= 2);
    }
    t++;
    *t = (target_t){ "many_clients", "8 procs x 8 threads, 2 receiving threads",
                     "no client starves, priority order holds", "", "n/a" };
    if ((r = ok_row("many_clients_8x8"))) {
        double prio = fig_get(r, "priority_order", -1), starved = fig_get(r, "starved_thread_reps", 1);

        snprintf(t->result, sizeof t->result,
                 "%.0f k/s; thread min/max %.2f; %g starved; priority order %s",
                 fig_get(r, "round_trips_per_s", 0) / 1e3, fig_get(r, "thread_min_over_max", 0),
                 starved, prio > 0 ? "held" : prio == 0 ? "BROKEN" : "not checked");
        t->verdict = prio < 0 ? "n/a" : verdict(starved == 0 && prio > 0);
    }
    t++;
    *t = (target_t){ "idle_conns", "1000 idle connections to one channel",
                     "<=64 KiB each, round trip unchanged", "", "n/a" };
    if ((r = ok_row("msg_rt_idle_1000_16")) && (b = ok_row("msg_rt_idle_before_16"))) {
        double kib = fig_get(r, "kib_per_conn_pss_both", 1e9);
        double noise = b->max - b->min > 0.1 * b->median ? b->max - b->min : 0.1 * b->median;

        snprintf(t->result, sizeof t->result, "%.1f KiB each; %.2f us vs %.2f us without", kib,
                 r->median, b->median);
        t->verdict = verdict(kib <= 64 && r->median <= b->median + noise);
    }
    t++;
    *t = (target_t){ "pinned", "everything pinned to one CPU", "<=1.5x a pipe ping-pong", "",
                     "n/a" };
    if ((m = ok_row("msg_rt_pinned_16")) && (s = ok_row("pipe_pinned_16"))) {
        snprintf(t->result, sizeof t->result, "%.2f us vs pipe %.2f us: %.2fx", m->median,
                 s->median, ratio(m, "pipe_pinned_16"));
        t->verdict = verdict(ratio(m, "pipe_pinned_16") <= 1.5);
    }
    t++;
    *t = (target_t){ "inversion", "1 CPU, FIFO 50 client behind a busy server, FIFO 30 spinning",
                     "p99 with inheritance <=2x the unloaded p99", "", "n/a" };
    /* Tail against tail: on a VM the unloaded round trip's own p99 is 2-3x its median. */
    if ((m = ok_row("inversion_inherit_16")) && (b = ok_row("inversion_unloaded_16")) &&
        (s = ok_row("inversion_fixed_16"))) {
        snprintf(t->result, sizeof t->result,
                 "p99 %.1f us (median %.1f) vs unloaded p99 %.1f us (median %.1f); fixed priority: p99 %.0f us (median %.0f)",
                 m->p99, m->median, b->p99, b->median, s->p99, s->median);
        t->verdict = verdict(m->p99 <= 2 * b->p99);
    }
    t++;
    *t = (target_t){ "busy", "(extra) 16 B round trip, other CPUs busy",
                     "<=1.5x socket (not in the issue)", "", "n/a" };
    if ((m = ok_row("msg_rt_busy_16")) && (s = ok_row("socket_busy_16"))) {
        snprintf(t->result, sizeof t->result, "%.2f us vs socket %.2f us: %.2fx", m->median,
                 s->median, ratio(m, "socket_busy_16"));
        t->verdict = verdict(ratio(m, "socket_busy_16") <= 1.5);
    }
    t++;
    *t = (target_t){ "idle_cpu", "server idle in MsgReceive", "<1% of a CPU", "", "n/a" };
    if ((r = ok_row("idle_server"))) {
        x = fig_get(r, "cpu_percent", 100);
        snprintf(t->result, sizeof t->result, "%.2f%% of a CPU over %.0f s, %.1f wake-ups/s", x,
                 fig_get(r, "idle_seconds", 0), fig_get(r, "wakeups_per_s", 0));
        t->verdict = verdict(x < 1);
    }
    t++;
    *t = (target_t){ "resmgr_read", "read() of 64 B through a resource manager",
                     "<=2 us over FUSE's own round trip", "", "n/a" };
    if ((r = ok_row("resmgr_read_awake_64")) && (b = ok_row("fuse_read_awake_64"))) {
        snprintf(t->result, sizeof t->result, "%.2f us vs minimal FUSE %.2f us (CPUs awake): %+.2f us",
                 r->median, b->median, r->median - b->median);
        t->verdict = verdict(r->median - b->median <= 2);
    }
}

/* --- output -------------------------------------------------------------------- */

static void rate_text(const row_t *r, char *buf, size_t n)
{
    buf[0] = '\0';
    if (r->status != ROW_OK) {
        return;
    }
    if (r->kind == K_BULK) {
        snprintf(buf, n, "%.2f GB/s", fig_get(r, "throughput", 0));
    } else if (r->kind == K_ONEWAY) {
        snprintf(buf, n, "%.3f M/s", 1 / r->median);
    }
}

static void print_tables(int ncpu)
{
    char buf[64];
    int  i, j;

    printf("\nlibneutrino IPC benchmark: %d CPU(s), %d repetition%s of ~%.2f s per row%s\n", ncpu,
           opt_reps, opt_reps == 1 ? "" : "s", opt_time, opt_smoke ? " (--smoke)" : opt_quick ? " (--quick)" : "");
    printf("load average (1 min) at start %.2f, at end %.2f%s\n", load_start, load_end,
           load_start > 1 || load_end > 1 ? ": the machine was busy, figures are unreliable" : "");
    printf("median/min/max: time per operation of the repetitions (us); p99: of single round "
           "trips;\nratios: this row's median / the baseline's median (same run)\n\n");
    printf("%-36s %7s %10s %10s %10s %10s %11s  %s\n", "row", "bytes", "median_us", "p99_us",
           "min_us", "max_us", "rate", "vs baselines");
    for (i = 0; i < NROWS; i++) {
        const row_t *r = &rows[i];

        if (r->kind == K_FIGURES || r->status == ROW_SKIPPED) {
            continue;
        }
        printf("%-36s %7zu ", r->label, r->bytes);
        if (r->status != ROW_OK) {
            printf("FAILED: %s\n", r->note);
            continue;
        }
        rate_text(r, buf, sizeof buf);
        printf("%10.3f ", r->median);
        if (r->p99 >= 0) {
            printf("%10.3f ", r->p99);
        } else {
            printf("%10s ", "-");
        }
        printf("%10.3f %10.3f %11s ", r->min, r->max, buf);
        for (j = 0; j < 2; j++) {
            const row_t *b = ok_row(r->base[j]);

            if (b) {
                printf(" %.3gx %s", ratio(r, b->id), b->short_name);
            }
        }
        printf("\n");
    }
    printf("\n");
    for (i = 0; i < NROWS; i++) {
        const row_t *r = &rows[i];

        if (r->status == ROW_FAILED && r->kind == K_FIGURES) {
            printf("%s: FAILED: %s\n", r->label, r->note);
        }
        if (r->status != ROW_OK || r->nfig == 0) {
            continue;
        }
        printf("%s:", r->label);
        for (j = 0; j < r->nfig; j++) {
            printf("%s %s=%.4g%s", j ? "," : "", r->fig[j].name, r->fig[j].v,
                   strcmp(r->fig[j].unit, "1 = held") == 0 ? "" : r->fig[j].unit);
        }
        printf("%s%s\n", r->note[0] ? "; " : "", r->note);
    }
    printf("\n%-42s %-64s %-40s %s\n", "target (issues 6, 14)", "result", "wanted", "verdict");
    for (i = 0; i < NTARGETS; i++) {
        printf("%-42s %-64s %-40s %s\n", targets[i].measure, targets[i].result, targets[i].target,
               targets[i].verdict);
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fprintf(f, "\\%c", *s);
        } else if ((unsigned char)*s < 0x20) {
            fprintf(f, "\\u%04x", (unsigned char)*s);
        } else {
            fputc(*s, f);
        }
    }
    fputc('"', f);
}
static int mkdir_parents(const char *path)
{
    char  buf[4096];
    char *p;

    if (strlen(path) >= sizeof buf) {
        return -1;
    }
    strcpy(buf, path);
    p = strrchr(buf, '/');
    if (p == NULL || p == buf) {
        return 0;
    }
    *p = '\0';
    for (p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) == -1 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0777) == -1 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

static void json_num(FILE *f, double v)
{
    if (v != v || v > 1e300 || v < -1e300) {
        fprintf(f, "null");
    } else {
        fprintf(f, "%.6g", v);
    }
}

static int write_json(const char *path, int ncpu, const struct utsname *un)
{
    FILE *f;
    int   i, j;

    if (mkdir_parents(path) == -1 || (f = fopen(path, "w")) == NULL) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"benchmark\": \"libneutrino-ipc\",\n  \"unit\": \"us_per_op\",\n");
    fprintf(f, "  \"cpus\": %d,\n  \"kernel\": ", ncpu);
    json_str(f, un->release);
    fprintf(f, ",\n  \"machine\": ");
    json_str(f, un->machine);
    fprintf(f, ",\n  \"loadavg_start\": %.2f,\n  \"loadavg_end\": %.2f", load_start, load_end);
    fprintf(f, ",\n  \"mode\": \"%s\",\n  \"reps\": %d,\n  \"seconds_per_rep\": %.3f,\n",
            opt_smoke ? "smoke" : opt_quick ? "quick" : "full", opt_reps, opt_time);
    fprintf(f, "  \"rows\": [\n");
    for (i = 0; i < NROWS; i++) {
        const row_t *r = &rows[i];
        static const char *const kinds[] = { "round trip", "one-way", "bulk", "figures" };

        fprintf(f, "    {\"id\": ");
        json_str(f, r->id);
        fprintf(f, ", \"label\": ");
        json_str(f, r->label);
        fprintf(f, ", \"kind\": \"%s\", \"bytes\": %zu, \"status\": \"%s\"", kinds[r->kind],
                r->bytes, r->status == ROW_OK ? "ok" : r->status == ROW_FAILED ? "failed"
                                                                               : "skipped");
        if (r->note[0]) {
            fprintf(f, ", \"note\": ");
            json_str(f, r->note);
        }
        if (r->status == ROW_OK && r->kind != K_FIGURES) {
            fprintf(f, ",\n     \"n_per_rep\": %ld, \"median_us\": ", r->n);
            json_num(f, r->median);
            fprintf(f, ", \"p99_us\": ");
            if (r->p99 >= 0) {
                json_num(f, r->p99);
            } else {
                fprintf(f, "null");
            }
            fprintf(f, ", \"min_us\": ");
            json_num(f, r->min);
            fprintf(f, ", \"max_us\": ");
            json_num(f, r->max);
            for (j = 0; j < 2; j++) {
                if (ok_row(r->base[j])) {
                    fprintf(f, ", \"ratio_%s\": ", r->base[j]);
                    json_num(f, ratio(r, r->base[j]));
                }
            }
            fprintf(f, ",\n     \"samples_us\": [");
            for (j = 0; j < r->reps; j++) {
                fprintf(f, "%s", j ? ", " : "");
                json_num(f, r->us[j]);
            }
            fprintf(f, "]");
        }
        if (r->status == ROW_OK && r->nfig) {
            fprintf(f, ",\n     \"figures\": {");
            for (j = 0; j < r->nfig; j++) {
                fprintf(f, "%s\"%s\": ", j ? ", " : "", r->fig[j].name);
                json_num(f, r->fig[j].v);
            }
            fprintf(f, "}");
        }
        fprintf(f, "}%s\n", i + 1 < NROWS ? "," : "");
    }
    fprintf(f, "  ],\n  \"targets\": [\n");
    for (i = 0; i < NTARGETS; i++) {
        fprintf(f, "    {\"id\": \"%s\", \"measure\": ", targets[i].id);
        json_str(f, targets[i].measure);
        fprintf(f, ", \"wanted\": ");
        json_str(f, targets[i].target);
        fprintf(f, ", \"result\": ");
        json_str(f, targets[i].result);
        fprintf(f, ", \"verdict\": \"%s\"}%s\n", targets[i].verdict, i + 1 < NTARGETS ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "bench: writing %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* --- main ------------------------------------------------------------------------- */

static void usage(const char *argv0)
{
    int i;

    fprintf(stderr,
            "usage: %s [--quick | --smoke] [--json PATH] [--reps N] [--time S]\n"
            "          [--only IDS]\n"
            "  --quick      5 repetitions of ~0.05 s, a 2 s idle server (under a minute)\n"
            "  --smoke      1 short repetition of each row: proves it builds and runs\n"
            "  --json PATH  the JSON results (default results/bench.json)\n"
            "  --reps N     repetitions per row (default 7, at most %d)\n"
            "  --time S     seconds per repetition (default 0.2)\n"
            "  --only IDS   only these rows (comma-separated); msg_rt_idle_1000_16 also\n"
            "               measures msg_rt_idle_before_16, pipe_pinned_16 msg_rt_pinned_16,\n"
            "               socket_busy_16 msg_rt_busy_16; inversion_unloaded_16 the other\n"
            "               inversion_* rows\n"
            "  --ops N      exactly N operations, once, no warm-up (for profilers)\n"
            "rows:",
            argv0, MAX_REPS);
    for (i = 0; i < NROWS; i++) {
        fprintf(stderr, "%s %s", i % 4 ? "" : "\n ", rows[i].id);
    }
    fprintf(stderr, "\n");
}

static int selected(const char *id)
{
    const char *p = opt_only;
    size_t      n = strlen(id);

    while (p && (p = strstr(p, id)) != NULL) {
        if ((p == opt_only || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) {
            return 1;
        }
        p += n;
    }
    return opt_only == NULL;
}

static void run_row(row_t *r, int limit)
{
    if (r->status != ROW_PENDING) {
        return;                                 /* measured by a sibling's runner */
    }
    if (r->run == NULL) {
        return;                                 /* a sibling's runner measures it, later */
    }
    if (!selected(r->id)) {
        r->status = ROW_SKIPPED;
        snprintf(r->note, sizeof r->note, "not selected (--only)");
        return;
    }
    fprintf(stderr, "bench: %-36s %7zu B ...", r->label, r->bytes);
    row_err[0] = '\0';
    watchdog_arm(limit);
    r->run(r);
    watchdog_disarm();
    if (r->status == ROW_FAILED) {
        fprintf(stderr, " FAILED: %s\n", r->note);
    } else if (r->kind == K_FIGURES) {
        fprintf(stderr, " done\n");
    } else {
        fprintf(stderr, " %.3f us\n", r->median);
    }
}

int main(int argc, char **argv)
{
    struct utsname un;
    cpu_set_t      set;
    int            i, ncpu, failed = 0, reps_set = 0, time_set = 0, pinned_fd = -1, limit;
    int            inversion_fd = -1;
    char         **e;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            opt_quick = 1;
        } else if (strcmp(argv[i], "--smoke") == 0) {
            opt_smoke = 1;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            opt_json = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            opt_only = argv[++i];
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            opt_reps = atoi(argv[++i]);
            reps_set = 1;
        } else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
            opt_time = atof(argv[++i]);
            time_set = 1;
        } else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
            opt_ops = atol(argv[++i]);
        } else if (strcmp(argv[i], "--pinned-child") == 0 && i + 1 < argc) {
            pinned_fd = atoi(argv[++i]);        /* internal: see run_pinned() */
        } else if (strcmp(argv[i], "--inversion-child") == 0 && i + 1 < argc) {
            inversion_fd = atoi(argv[++i]);     /* internal: see run_inversion() */
        } else {
            usage(argv[0]);
            return strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ? 0 : 2;
        }
    }
    if (opt_quick || opt_smoke) {
        if (!reps_set) {
            opt_reps = opt_smoke ? 1 : 5;
        }
        if (!time_set) {
            opt_time = opt_smoke ? 0.01 : 0.05;
        }
    }
    if (opt_reps < 1 || opt_reps > MAX_REPS || !(opt_time > 0 && opt_time <= 10)) {
        usage(argv[0]);
        return 2;
    }
    watchdog_init();
    if (pinned_fd >= 0) {
        return pinned_child_main(pinned_fd);
    }
    if (inversion_fd >= 0) {
        return inversion_child_main(inversion_fd);
    }
    limit = 40 + (int)(opt_reps * (opt_time > 0.5 ? opt_time : 0.5) * 6);

    ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        ncpu = CPU_COUNT(&set);
    }
    uname(&un);
    fprintf(stderr, "bench: %s %s, %d usable CPU(s)\n", un.release, un.machine, ncpu);
    for (e = environ; *e; e++) {
        if (strncmp(*e, "NEUTRINO", 8) == 0) {
            fprintf(stderr, "bench: env %s\n", *e);
        }
    }
    if (ncpu < 2) {
        fprintf(stderr, "bench: warning: only one usable CPU; the spin floor will look bad\n");
    }
    load_start = loadavg();
    for (i = 0; i < NROWS; i++) {
        run_row(&rows[i], limit);
    }
    for (i = 0; i < NROWS; i++) {
        if (rows[i].status == ROW_PENDING) {    /* its sibling's runner was not selected */
            rows[i].status = ROW_SKIPPED;
            snprintf(rows[i].note, sizeof rows[i].note, "not selected (--only)");
        }
    }
    load_end = loadavg();
    for (i = 0; i < NROWS; i++) {
        failed += rows[i].status == ROW_FAILED;
    }
    evaluate();
    print_tables(ncpu);
    if (write_json(opt_json, ncpu, &un) != 0) {
        failed++;
    } else {
        printf("\nwritten: %s\n", opt_json);
    }
    fflush(stdout);
    return failed ? 1 : 0;
}
