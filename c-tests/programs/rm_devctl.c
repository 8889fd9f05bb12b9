/*
 * rm_devctl.c - a device answering its own devctl() commands, the QNX way: a shared
 * header of __DIOT/__DIOF commands, iofunc_devctl_default() first, then the data in
 * place after the message header (_DEVCTL_DATA), replied with the io_devctl_t reply.
 * Run, it attaches its path and serves in its dispatch loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <devctl.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>

#define MY_CMD_CODE 1
#define MY_DEVCTL_GETVAL __DIOF(_DCMD_MISC, MY_CMD_CODE + 0, int)
#define MY_DEVCTL_SETVAL __DIOT(_DCMD_MISC, MY_CMD_CODE + 1, int)
#define MY_DEVCTL_SETGET __DIOTF(_DCMD_MISC, MY_CMD_CODE + 2, union _data)
#define MY_DEVCTL_RESET __DION(_DCMD_MISC, MY_CMD_CODE + 3)

union _data {
    struct {
        int tx;
    } tx;
    struct {
        int rx;
    } rx;
};

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

int main(int argc, char **argv)
{
    dispatch_t *dpp;
    dispatch_context_t *ctp;
    resmgr_attr_t resmgr_attr;
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
    iofunc_attr_init(&attr, S_IFNAM | 0666, 0, 0);

    if ((id = resmgr_attach(dpp, &resmgr_attr, "/dev/sample", _FTYPE_ANY, 0, &connect_funcs, &io_funcs,
                            &attr)) == -1) {
        fprintf(stderr, "%s: resmgr_attach: %s\n", argv[0], strerror(errno));
        return EXIT_FAILURE;
    }
    ctp = dispatch_context_alloc(dpp);
    while (1) {
        if ((ctp = dispatch_block(ctp)) == NULL) {
            fprintf(stderr, "block error\n");
            return EXIT_FAILURE;
        }
        dispatch_handler(ctp);
    }
}
