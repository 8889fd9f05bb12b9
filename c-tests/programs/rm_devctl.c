/*
 * rm_devctl.c - a device answering its own devctl() commands, the QNX way: a shared
 * header (rm_devctl.h) of __DIOT/__DIOF commands, iofunc_devctl_default() first, then
 * the data in place after the message header (_DEVCTL_DATA), replied with the
 * io_devctl_t reply.  A read returns the value as a line of text ("value N"), a write
 * of a number sets it, and a message_attach() handler answers the device's own message
 * type (MY_MSG_ADD), which clients send with MsgSend() on the descriptor open() gave.
 * Usage: rm_devctl [path]   (default /dev/sample)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <devctl.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include "rm_devctl.h"

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static iofunc_attr_t attr;
static int global_integer;

int io_devctl(resmgr_context_t *ctp, io_devctl_t *msg, RESMGR_OCB_T *ocb)
{
    int nbytes, status;
    union _data *rx_data;

    if ((status = iofunc_devctl_default(ctp, msg, ocb)) != _RESMGR_DEFAULT)
        return status;
    status = nbytes = 0;
    rx_data = _DEVCTL_DATA(msg->i);

    switch (msg->i.dcmd) {
    case MY_DEVCTL_SETVAL:
        global_integer = rx_data->tx.tx;
        break;
    case MY_DEVCTL_GETVAL:
        rx_data->rx.rx = global_integer;
        nbytes = sizeof(rx_data->rx);
        break;
    case MY_DEVCTL_SETGET: {
        int previous = global_integer;
        global_integer = rx_data->tx.tx;
        rx_data->rx.rx = previous;
        nbytes = sizeof(rx_data->rx);
        break;
    }
    case MY_DEVCTL_RESET:
        global_integer = 0;
        break;
    default:
        return ENOSYS;
    }

    memset(&msg->o, 0, sizeof(msg->o));
    msg->o.ret_val = status;
    msg->o.nbytes = nbytes;
    return _RESMGR_PTR(ctp, &msg->o, sizeof(msg->o) + nbytes);
}

int io_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb)
{
    static char line[32];
    int nb, status;

    if ((status = iofunc_read_verify(ctp, msg, ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    snprintf(line, sizeof line, "value %d\n", global_integer);
    nb = strlen(line) - ocb->offset;
    if (nb <= 0)
        return _RESMGR_NPARTS(0);
    if (nb > msg->i.nbytes)
        nb = msg->i.nbytes;
    SETIOV(ctp->iov, line + ocb->offset, nb);
    _IO_SET_READ_NBYTES(ctp, nb);
    ocb->offset += nb;
    return _RESMGR_NPARTS(1);
}

int io_write(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb)
{
    char buf[32];
    int status;

    if ((status = iofunc_write_verify(ctp, msg, ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    if (msg->i.nbytes >= sizeof buf)
        return E2BIG;
    if (resmgr_msgread(ctp, buf, msg->i.nbytes, sizeof(msg->i)) == -1)
        return errno;
    buf[msg->i.nbytes] = '\0';
    if (sscanf(buf, "%d", &global_integer) != 1)
        return EINVAL;
    _IO_SET_WRITE_NBYTES(ctp, msg->i.nbytes);
    return _RESMGR_NPARTS(0);
}

/* The device's own message: the value plus what the client adds. */
int add_handler(message_context_t *ctp, int type, unsigned flags, void *handle)
{
    my_msg_add_t *msg = (my_msg_add_t *)ctp->msg;
    my_msg_add_reply_t reply;

    if (ctp->info.msglen < sizeof(*msg)) {
        MsgError(ctp->rcvid, EBADMSG);
        return 0;
    }
    reply.value = global_integer + msg->add;
    MsgReply(ctp->rcvid, EOK, &reply, sizeof(reply));
    return 0;
}

int main(int argc, char **argv)
{
    dispatch_t *dpp;
    dispatch_context_t *ctp;
    resmgr_attr_t resmgr_attr;
    const char *path = argc > 1 ? argv[1] : "/dev/sample";
    int id;

    if ((dpp = dispatch_create()) == NULL) {
        fprintf(stderr, "%s: Unable to allocate dispatch context.\n", argv[0]);
        return EXIT_FAILURE;
    }
    memset(&resmgr_attr, 0, sizeof resmgr_attr);
    resmgr_attr.nparts_max = 1;
    resmgr_attr.msg_max_size = 2048;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    io_funcs.devctl = io_devctl;
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    iofunc_attr_init(&attr, S_IFNAM | 0666, 0, 0);

    if ((id = resmgr_attach(dpp, &resmgr_attr, path, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &attr)) == -1) {
        fprintf(stderr, "%s: resmgr_attach: %s\n", argv[0], strerror(errno));
        return EXIT_FAILURE;
    }
    if (message_attach(dpp, NULL, MY_MSG_ADD, MY_MSG_ADD, add_handler, NULL) == -1) {
        fprintf(stderr, "%s: message_attach: %s\n", argv[0], strerror(errno));
        return EXIT_FAILURE;
    }
    printf("rm_devctl: serving %s\n", path);
    fflush(stdout);
    ctp = dispatch_context_alloc(dpp);
    while (1) {
        if ((ctp = dispatch_block(ctp)) == NULL) {
            fprintf(stderr, "block error\n");
            return EXIT_FAILURE;
        }
        dispatch_handler(ctp);
    }
}
