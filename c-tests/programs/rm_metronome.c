/*
 * rm_metronome.c - a metronome-style resource manager as QNX programmers write it: a
 * pulse timer drives the beat through pulse_attach(), reads return a state line,
 * writes take commands ("set <bpm>").  Built with its warnings, as such code has them.
 * Usage: rm_metronome [path]   (default /dev/local/metronome)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/neutrino.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>

#define METRO_PULSE_CODE _PULSE_CODE_MINAVAIL

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static iofunc_attr_t attr;
static int bpm = 120, beats;
static char line[64];

int io_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb)
{
    int status, nb;
    if ((status = iofunc_read_verify(ctp, msg, ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    snprintf(line, sizeof line, "[metronome: %d beats/min, %d beats]\n", bpm, beats);
    nb = strlen(line) - ocb->offset;
    if (nb <= 0) {
        _IO_SET_READ_NBYTES(ctp, 0);
        return _RESMGR_NPARTS(0);
    }
    if (nb > msg->i.nbytes)
        nb = msg->i.nbytes;
    SETIOV(ctp->iov, line + ocb->offset, nb);
    _IO_SET_READ_NBYTES(ctp, nb);
    ocb->offset += nb;
    ocb->attr->flags |= IOFUNC_ATTR_ATIME;
    return _RESMGR_NPARTS(1);
}

int io_write(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb)
{
    int status;
    char buf[64];
    if ((status = iofunc_write_verify(ctp, msg, ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    if (msg->i.nbytes >= sizeof buf)
        return E2BIG;
    if (resmgr_msgread(ctp, buf, msg->i.nbytes, sizeof(msg->i)) == -1)
        return errno;
    buf[msg->i.nbytes] = '\0';
    if (sscanf(buf, "set %d", &bpm) != 1)
        return EINVAL;
    _IO_SET_WRITE_NBYTES(ctp, msg->i.nbytes);
    ocb->attr->flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    return _RESMGR_NPARTS(0);
}

int metronome_pulse(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    beats++;
    return 0;
}

int main(int argc, char **argv)
{
    dispatch_t *dpp;
    dispatch_context_t *ctp;
    resmgr_attr_t rattr;
    struct sigevent event;
    struct itimerspec itime;
    timer_t timer_id;
    const char *path = argc > 1 ? argv[1] : "/dev/local/metronome";
    int id, code, coid;

    if ((dpp = dispatch_create()) == NULL) {
        perror("dispatch_create");
        return EXIT_FAILURE;
    }
    memset(&rattr, 0, sizeof rattr);
    rattr.nparts_max = 1;
    rattr.msg_max_size = 2048;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    iofunc_attr_init(&attr, S_IFNAM | 0666, 0, 0);

    id = resmgr_attach(dpp, &rattr, path, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &attr);
    if (id == -1) {
        fprintf(stderr, "%s: resmgr_attach: %s\n", argv[0], strerror(errno));
        return EXIT_FAILURE;
    }
    code = pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, metronome_pulse, NULL);
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    SIGEV_PULSE_INIT(&event, coid, SIGEV_PULSE_PRIO_INHERIT, code, 0);
    timer_create(CLOCK_MONOTONIC, &event, &timer_id);
    itime.it_value.tv_sec = 0;
    itime.it_value.tv_nsec = 500000000;
    itime.it_interval = itime.it_value;
    timer_settime(timer_id, 0, &itime, NULL);

    ctp = dispatch_context_alloc(dpp);
    while (1) {
        if ((ctp = dispatch_block(ctp)) == NULL) {
            perror("dispatch_block");
            return EXIT_FAILURE;
        }
        dispatch_handler(ctp);
    }
}
