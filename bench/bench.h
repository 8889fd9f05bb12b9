/*
 * bench.h - what the benchmark's files share: the rows, the measuring harness, and the
 * helpers that keep every child process and thread bounded in time.
 */
#ifndef BENCH_H
#define BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MAX_REPS 101
#define MAX_FIGS 12
#define MAX_MSG  (64 * 1024)
#define BULK     (1024 * 1024)

enum { ROW_PENDING, ROW_OK, ROW_SKIPPED, ROW_FAILED };

/* What one operation of a row is; decides the rate column and the chart. */
enum {
    K_RT,       /* a round trip of `bytes` each way */
    K_ONEWAY,   /* one message of `bytes`, streamed (rate: messages per second) */
    K_BULK,     /* one transfer of `bytes` (rate: GB/s) */
    K_FIGURES,  /* figures only (memory, CPU use, fairness) */
};

typedef struct {
    const char *name;
    double      v;
    const char *unit;
} fig_t;

typedef struct row row_t;
struct row {
    const char *id;
    const char *label;
    int         kind;
    size_t      bytes;
    const char *base[2];        /* ids of the baseline rows the ratios use */
    const char *short_name;     /* how ratios against this row name it */
    void      (*run)(row_t *);
    int         status;
    char        note[320];
    long        n;              /* operations per repetition */
    int         reps;
    double      us[MAX_REPS];   /* time per operation of each repetition */
    double      median, min, max;
    double      p99;            /* of single operations, < 0 when not measured */
    int         nfig;
    fig_t       fig[MAX_FIGS];
};

/* Monotonic time in nanoseconds, for single-operation latencies. */
static inline uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* options */
extern int    opt_reps, opt_quick, opt_smoke;
extern long   opt_ops;
extern double opt_time;

/* the row table (bench.c) */
row_t *row_find(const char *id);
void   fig_add(row_t *r, const char *name, double v, const char *unit);
double fig_get(const row_t *r, const char *name, double dflt);

/* harness (harness.c) */
double now_s(void);
void   sleep_s(double s);
void   cpu_relax(void);
int    fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern char row_err[256];
extern volatile int watchdog_fired;
void   watchdog_init(void);
void   watchdog_arm(int seconds);
void   watchdog_disarm(void);
pid_t  fork_child(void);
int    reap(pid_t pid, double limit);
int    reap_ok(pid_t pid, const char *what);
void   kill_children(void);
/* Runs `n` operations; with `lat`, also stores each one's time in nanoseconds. */
typedef int (*run_fn)(void *ctx, long n, uint32_t *lat);
int    measure(row_t *row, run_fn run, void *ctx);
void   row_done(row_t *row, int ok);
void   row_stats(row_t *row);
int    pin_to_first_cpu(void);

/* A row as a child process measured it, sent back through a pipe. */
typedef struct {
    int    status;
    char   note[320];
    long   n;
    int    reps;
    double us[MAX_REPS], median, min, max, p99;
} child_row_t;
void child_row_of(child_row_t *d, const row_t *r);
/* Runs this program again, pinned to the first usable CPU (its own children inherit it),
 * with `mode` ("--pinned-child", say), the descriptor of a pipe, `args` (NULL-terminated)
 * and the run's --quick/--smoke; fills the `n` rows `ids` from the child_row_t it writes
 * for each. */
void rows_from_pinned_child(const char *mode, const char *const *args, const char *const *ids, int n);

/* the rows' runners */
void run_msg_rt_process(row_t *r);
void run_msg_rt_thread(row_t *r);
void run_msg_bulk(row_t *r);
void run_pulses(row_t *r);
void run_many_clients(row_t *r);
void run_idle_conns(row_t *r);
void run_idle_cpu(row_t *r);
void run_pinned(row_t *r);
void run_busy(row_t *r);
int  pinned_child_main(int fd);
void run_inversion(row_t *r);
int  inversion_child_main(int fd);
void run_socket_rt(row_t *r);
void run_socket_oneway(row_t *r);
void run_socket_bulk(row_t *r);
void run_spin_rt(row_t *r);
void run_memcpy(row_t *r);
void run_pipe_rt(row_t *r);
void run_fuse_read(row_t *r);
void run_fuse_read_awake(row_t *r);
void run_resmgr_read(row_t *r);
void run_resmgr_read_awake(row_t *r);
void run_resmgr_msgsend(row_t *r);

#endif
