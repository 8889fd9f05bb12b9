/*
 * resmgr.c - resource-manager rows: read() of 64 bytes through a resource manager's path
 * (a FUSE mount served by the application's own dispatch loop) and MsgSend() on the
 * descriptor open() returned, against two baselines in the same run: the same read() of
 * a minimal FUSE file system written here against <linux/fuse.h> (one thread answering
 * /dev/fuse directly: FUSE's own round trip) and a pipe ping-pong.
 */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fuse.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>

#define READ_BYTES 64

typedef struct {
    char  path[96];
    pid_t pid;
    int   fd;
    char  buf[READ_BYTES];
} mounted_t;

/* Waits (up to 5 s) until `path` opens as a file of `server`'s mount, i.e. a read of it
 * answers; the descriptor stays open in m->fd. */
static int open_when_mounted(mounted_t *m)
{
    double end = now_s() + 5;

    while (now_s() < end) {
        int fd = open(m->path, O_RDONLY | O_CLOEXEC);

        if (fd != -1) {
            if (read(fd, m->buf, READ_BYTES) == READ_BYTES) {
                m->fd = fd;
                return 0;
            }
            close(fd);
        }
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
            m->pid = 0;
            return fail("the server of %s exited", m->path);
        }
        sleep_s(0.01);
    }
    return fail("%s never answered a read", m->path);
}

static int read_run(void *vm, long n, uint32_t *lat)
{
    mounted_t *m = vm;
    uint64_t   t0 = 0;
    long       i;

    for (i = 0; i < n; i++) {
        if (lat) {
            t0 = now_ns();
        }
        if (read(m->fd, m->buf, READ_BYTES) != READ_BYTES) {
            return fail("read %s: %s", m->path, strerror(errno));
        }
        if (lat) {
            lat[i] = (uint32_t)(now_ns() - t0);
        }
    }
    return 0;
}

static int msgsend_run(void *vm, long n, uint32_t *lat)
{
    mounted_t *m = vm;
    io_read_t  msg;
    uint64_t   t0 = 0;
    long       i;

    memset(&msg, 0, sizeof msg);
    msg.i.type = _IO_READ;
    msg.i.combine_len = sizeof msg.i;
    msg.i.nbytes = READ_BYTES;
    msg.i.xtype = _IO_XTYPE_NONE;
    for (i = 0; i < n; i++) {
        if (lat) {
            t0 = now_ns();
        }
        if (MsgSend(m->fd, &msg.i, sizeof msg.i, m->buf, READ_BYTES) != READ_BYTES) {
            return fail("MsgSend(fd) _IO_READ: %s", strerror(errno));
        }
        if (lat) {
            lat[i] = (uint32_t)(now_ns() - t0);
        }
    }
    return 0;
}

static void unmounted(mounted_t *m)
{
    if (m->fd > 0) {
        close(m->fd);
    }
    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        reap(m->pid, 5);
    }
    umount2(m->path, MNT_DETACH); /* the minimal server's mount; the bridge removes its own */
    unlink(m->path);
}

/* --- the minimal FUSE server ------------------------------------------------------ */

static void fuse_answer(int dev, uint64_t unique, int error, const void *arg, size_t len)
{
    struct fuse_out_header h = { .len = (uint32_t)(sizeof h + len), .error = error, .unique = unique };
    struct iovec           iov[2] = { { &h, sizeof h }, { (void *)arg, len } };

    if (writev(dev, iov, len ? 2 : 1) == -1 && errno != ENOENT) {
        _exit(1);
    }
}

/* Answers the requests a read() loop makes of one regular file, each at once. */
static void fuse_serve(int dev)
{
    static char buf[FUSE_MIN_READ_BUFFER + 128 * 1024];
    char        data[READ_BYTES];

    memset(data, 'f', sizeof data);
    for (;;) {
        ssize_t                 n = read(dev, buf, sizeof buf);
        struct fuse_in_header *in = (struct fuse_in_header *)buf;

        if (n < (ssize_t)sizeof *in) {
            if (n == -1 && (errno == EINTR || errno == ENOENT)) {
                continue;
            }
            _exit(0); /* unmounted */
        }
        switch (in->opcode) {
        case FUSE_INIT: {
            struct fuse_init_out out = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
                                         .max_write = 128 * 1024 };
            fuse_answer(dev, in->unique, 0, &out, sizeof out);
            break;
        }
        case FUSE_GETATTR: {
            struct fuse_attr_out out = { .attr = { .ino = 1, .mode = S_IFREG | 0444, .nlink = 1 } };
            fuse_answer(dev, in->unique, 0, &out, sizeof out);
            break;
        }
        case FUSE_OPEN: {
            struct fuse_open_out out = { .fh = 1, .open_flags = FOPEN_DIRECT_IO };
            fuse_answer(dev, in->unique, 0, &out, sizeof out);
            break;
        }
        case FUSE_READ: {
            const struct fuse_read_in *r = (const void *)(in + 1);
            fuse_answer(dev, in->unique, 0, data, r->size < READ_BYTES ? r->size : READ_BYTES);
            break;
        }
        case FUSE_FLUSH:
        case FUSE_RELEASE:
            fuse_answer(dev, in->unique, 0, NULL, 0);
            break;
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_INTERRUPT:
            break;
        case FUSE_DESTROY:
            _exit(0);
        default:
            fuse_answer(dev, in->unique, -ENOSYS, NULL, 0);
        }
    }
}

/* The minimal FUSE server's round trip pays two sleeps and wake-ups; on a virtual machine
 * whose idle vCPUs halt, each wake-up costs tens of microseconds more than on a busy one.
 * A child process of SCHED_IDLE spinners, one per CPU, keeps them from halting while
 * giving way to any other thread at once: the "awake" row measures FUSE itself. */
static void *spin_forever(void *arg)
{
    (void)arg;
    for (;;) {
        cpu_relax();
    }
    return NULL;
}

static pid_t keep_cpus_awake(void)
{
    pid_t pid = fork_child();

    if (pid == 0) {
        struct sched_param sp = { 0 };
        long               i, n = sysconf(_SC_NPROCESSORS_ONLN);
        pthread_t          t;

        if (sched_setscheduler(0, SCHED_IDLE, &sp) != 0) {
            _exit(1);
        }
        for (i = 1; i < n; i++) {
            pthread_create(&t, NULL, spin_forever, NULL);
        }
        spin_forever(NULL);
    }
    return pid;
}

/* measure(), with the CPUs kept awake when `awake`. */
static int measure_awake(row_t *r, run_fn run, void *ctx, int awake)
{
    pid_t spinners = awake ? keep_cpus_awake() : 0;
    int   ok = spinners == -1 ? fail("fork: %s", strerror(errno)) : measure(r, run, ctx);

    if (spinners > 0) {
        kill(spinners, SIGKILL);
        reap(spinners, 5);
    }
    return ok;
}

static void fuse_read(row_t *r, int awake)
{
    mounted_t m = { .fd = -1 };
    char      opts[128];
    int       ok = 0, dev;

    snprintf(m.path, sizeof m.path, "/tmp/neutrino-bench-fuse.%d", (int)getpid());
    if (geteuid() != 0) {
        snprintf(r->note, sizeof r->note, "needs root to mount(2) the minimal FUSE server");
        r->status = ROW_SKIPPED;
        return;
    }
    if ((dev = open("/dev/fuse", O_RDWR | O_CLOEXEC)) == -1) {
        snprintf(r->note, sizeof r->note, "no /dev/fuse: %s", strerror(errno));
        r->status = ROW_SKIPPED;
        return;
    }
    close(open(m.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0444));
    snprintf(opts, sizeof opts, "fd=%d,rootmode=100000,user_id=0,group_id=0", dev);
    if (mount("neutrino-bench", m.path, "fuse", MS_NOSUID | MS_NODEV, opts) == -1) {
        ok = fail("mount fuse on %s: %s", m.path, strerror(errno));
    } else if ((m.pid = fork_child()) == 0) {
        fuse_serve(dev);
    }
    close(dev);
    if (ok == 0 && m.pid == -1) {
        ok = fail("fork: %s", strerror(errno));
    }
    if (ok == 0) {
        ok = open_when_mounted(&m);
    }
    if (ok == 0) {
        ok = measure_awake(r, read_run, &m, awake);
    }
    unmounted(&m);
    row_done(r, ok);
}

void run_fuse_read(row_t *r)
{
    fuse_read(r, 0);
}

void run_fuse_read_awake(row_t *r)
{
    fuse_read(r, 1);
}

/* --- the resource manager ----------------------------------------------------------- */

static int rm_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb)
{
    static char data[READ_BYTES];
    int         status = iofunc_read_verify(ctp, msg, ocb, NULL);

    if (status != EOK) {
        return status;
    }
    memset(data, 'r', sizeof data);
    _IO_SET_READ_NBYTES(ctp, msg->i.nbytes < READ_BYTES ? msg->i.nbytes : READ_BYTES);
    return _RESMGR_PTR(ctp, data, msg->i.nbytes < READ_BYTES ? msg->i.nbytes : READ_BYTES);
}

/* The resource manager's process: one dispatch loop, as the simplest QNX ones have. */
static void rm_serve(const char *path)
{
    static resmgr_connect_funcs_t cf;
    static resmgr_io_funcs_t      iof;
    static iofunc_attr_t          attr;
    dispatch_t                   *dpp = dispatch_create();
    dispatch_context_t           *ctp;

    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &cf, _RESMGR_IO_NFUNCS, &iof);
    iof.read = rm_read;
    iofunc_attr_init(&attr, S_IFNAM | 0444, NULL, NULL);
    if (dpp == NULL || resmgr_attach(dpp, NULL, path, _FTYPE_ANY, 0, &cf, &iof, &attr) == -1 ||
        (ctp = dispatch_context_alloc(dpp)) == NULL) {
        _exit(1);
    }
    for (;;) {
        if (dispatch_block(ctp) != NULL) {
            dispatch_handler(ctp);
        }
    }
}

static void run_resmgr(row_t *r, run_fn run, int awake)
{
    mounted_t m = { .fd = -1 };
    int       ok = 0;

    snprintf(m.path, sizeof m.path, "/tmp/neutrino-bench-rm.%d", (int)getpid());
    if (access("/dev/fuse", R_OK | W_OK) != 0) {
        snprintf(r->note, sizeof r->note, "no usable /dev/fuse: %s", strerror(errno));
        r->status = ROW_SKIPPED;
        return;
    }
    if ((m.pid = fork_child()) == 0) {
        rm_serve(m.path);
    }
    if (m.pid == -1) {
        ok = fail("fork: %s", strerror(errno));
    }
    if (ok == 0) {
        ok = open_when_mounted(&m);
    }
    if (ok == 0) {
        ok = measure_awake(r, run, &m, awake);
    }
    unmounted(&m);
    row_done(r, ok);
}

void run_resmgr_read(row_t *r)
{
    run_resmgr(r, read_run, 0);
}

void run_resmgr_read_awake(row_t *r)
{
    run_resmgr(r, read_run, 1);
}

void run_resmgr_msgsend(row_t *r)
{
    run_resmgr(r, msgsend_run, 0);
}
