/*
 * rm_pool.c - a resource manager on a dispatch thread pool whose read blocks: a read
 * waits (_RESMGR_NOREPLY) until someone writes, then every waiting reader is answered
 * with what was written (MsgReply) and its next read is end of file.  The OCB extends
 * QNX's (IOFUNC_OCB_T, allocated by the mount's ocb_calloc) with that "answered" mark.
 * A reader that goes away while it waits (a signal, a kill) reaches io_unblock, which
 * drops it and replies EINTR; io_close_ocb counts the closes.  Each event is a line on
 * stdout with the counts, e.g. "rm_pool: close (3 so far, 0 waiting)".
 * Usage: rm_pool [path]   (default /dev/local/pool)
 */
struct my_ocb;
#define IOFUNC_OCB_T struct my_ocb
#define THREAD_POOL_PARAM_T dispatch_context_t

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>

struct my_ocb {
    iofunc_ocb_t ocb; /* QNX's part first */
    int answered;     /* a write has answered this open's read: the next one is EOF */
};

#define MAX_WAITING 64

static struct {
    int rcvid;
    struct my_ocb *ocb;
    int nbytes;
} waiting[MAX_WAITING];
static int nwaiting, unblocks, closes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static iofunc_attr_t attr;

static struct my_ocb *my_ocb_calloc(resmgr_context_t *ctp, iofunc_attr_t *attr)
{
    return calloc(1, sizeof(struct my_ocb));
}

static void my_ocb_free(struct my_ocb *ocb)
{
    free(ocb);
}

static iofunc_funcs_t ocb_funcs = {_IOFUNC_NFUNCS, my_ocb_calloc, my_ocb_free};
static iofunc_mount_t mountpoint = {0, 0, 0, 0, &ocb_funcs};

/* Takes waiting entry i out of the list; the lock is held. */
static void drop_waiting(int i)
{
    waiting[i] = waiting[--nwaiting];
}

int io_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb)
{
    int status;

    if ((status = iofunc_read_verify(ctp, msg, &ocb->ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    if (ocb->answered)
        return _RESMGR_NPARTS(0);

    pthread_mutex_lock(&lock);
    if (nwaiting == MAX_WAITING) {
        pthread_mutex_unlock(&lock);
        return EAGAIN;
    }
    waiting[nwaiting].rcvid = ctp->rcvid;
    waiting[nwaiting].ocb = ocb;
    waiting[nwaiting].nbytes = msg->i.nbytes;
    nwaiting++;
    printf("rm_pool: a reader waits (%d waiting)\n", nwaiting);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
    /* Answered by a write, or by io_unblock. */
    return _RESMGR_NOREPLY;
}

int io_write(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb)
{
    int status, i, n, answered;
    char *buf;

    if ((status = iofunc_write_verify(ctp, msg, &ocb->ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    if ((buf = malloc(msg->i.nbytes + 1)) == NULL)
        return ENOMEM;
    if (resmgr_msgread(ctp, buf, msg->i.nbytes, sizeof(msg->i)) == -1) {
        free(buf);
        return errno;
    }

    pthread_mutex_lock(&lock);
    answered = nwaiting;
    for (i = 0; i < nwaiting; i++) {
        n = waiting[i].nbytes < (int)msg->i.nbytes ? waiting[i].nbytes : (int)msg->i.nbytes;
        waiting[i].ocb->answered = 1;
        MsgReply(waiting[i].rcvid, n, buf, n);
    }
    nwaiting = 0;
    printf("rm_pool: a write answered %d readers\n", answered);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
    free(buf);

    _IO_SET_WRITE_NBYTES(ctp, msg->i.nbytes);
    return _RESMGR_NPARTS(0);
}

/* A waiting reader wants out (its Linux caller got a signal, or was killed). */
int io_unblock(resmgr_context_t *ctp, io_pulse_t *msg, RESMGR_OCB_T *ocb)
{
    int i;

    pthread_mutex_lock(&lock);
    for (i = 0; i < nwaiting; i++) {
        if (waiting[i].rcvid == ctp->rcvid) {
            drop_waiting(i);
            unblocks++;
            printf("rm_pool: unblock rcvid %d (%d so far, %d waiting)\n", ctp->rcvid, unblocks, nwaiting);
            fflush(stdout);
            pthread_mutex_unlock(&lock);
            MsgError(ctp->rcvid, EINTR);
            return _RESMGR_NOREPLY;
        }
    }
    pthread_mutex_unlock(&lock);
    return iofunc_unblock_default(ctp, msg, &ocb->ocb);
}

int io_close_ocb(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb)
{
    int i;

    pthread_mutex_lock(&lock);
    for (i = 0; i < nwaiting; i++)
        if (waiting[i].ocb == ocb)
            drop_waiting(i--);
    closes++;
    printf("rm_pool: close (%d so far, %d waiting)\n", closes, nwaiting);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
    return iofunc_close_ocb_default(ctp, reserved, &ocb->ocb);
}

int main(int argc, char **argv)
{
    thread_pool_attr_t pool_attr;
    resmgr_attr_t rattr;
    thread_pool_t *tpp;
    dispatch_t *dpp;
    const char *path = argc > 1 ? argv[1] : "/dev/local/pool";

    if ((dpp = dispatch_create()) == NULL) {
        fprintf(stderr, "%s: Unable to allocate dispatch handle.\n", argv[0]);
        return EXIT_FAILURE;
    }
    memset(&rattr, 0, sizeof rattr);
    rattr.nparts_max = 1;
    rattr.msg_max_size = 2048;

    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    io_funcs.unblock = io_unblock;
    io_funcs.close_ocb = io_close_ocb;
    iofunc_attr_init(&attr, S_IFNAM | 0666, NULL, NULL);
    attr.mount = &mountpoint;

    if (resmgr_attach(dpp, &rattr, path, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &attr) == -1) {
        fprintf(stderr, "%s: Unable to attach name %s: %s\n", argv[0], path, strerror(errno));
        return EXIT_FAILURE;
    }

    memset(&pool_attr, 0, sizeof pool_attr);
    pool_attr.handle = dpp;
    pool_attr.context_alloc = dispatch_context_alloc;
    pool_attr.block_func = dispatch_block;
    pool_attr.unblock_func = dispatch_unblock;
    pool_attr.handler_func = dispatch_handler;
    pool_attr.context_free = dispatch_context_free;
    pool_attr.lo_water = 2;
    pool_attr.hi_water = 4;
    pool_attr.increment = 1;
    pool_attr.maximum = 8;
    if ((tpp = thread_pool_create(&pool_attr, POOL_FLAG_EXIT_SELF)) == NULL) {
        fprintf(stderr, "%s: Unable to initialize thread pool.\n", argv[0]);
        return EXIT_FAILURE;
    }
    printf("rm_pool: serving %s\n", path);
    fflush(stdout);
    thread_pool_start(tpp);
    return EXIT_SUCCESS; /* not reached: POOL_FLAG_EXIT_SELF */
}
