/*
 * rm_dir.c - a directory resource manager (_RESMGR_FLAG_DIR) with files a..z, in QNX's
 * extended-structure idiom: IOFUNC_ATTR_T and IOFUNC_OCB_T defined before the includes,
 * the program's attribute and OCB embedding QNX's, its own open handler building each
 * OCB with iofunc_ocb_attach(), directory reads returning struct dirent entries.
 * Run, it attaches its path and serves in its dispatch loop.
 */
struct my_attr;
struct my_ocb;
#define IOFUNC_ATTR_T struct my_attr
#define IOFUNC_OCB_T struct my_ocb

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>

struct my_attr {
    iofunc_attr_t attr; /* QNX's part first */
    char name[2];
    char contents[32];
};

struct my_ocb {
    iofunc_ocb_t ocb; /* QNX's part first */
    int dir_index;    /* the next entry a directory read returns */
};

static struct my_attr dir_attr, files[26];
static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;

static int my_open(resmgr_context_t *ctp, io_open_t *msg, RESMGR_HANDLE_T *handle, void *extra)
{
    struct my_attr *target = handle;
    struct my_ocb *ocb;
    int status;

    if (msg->connect.path[0] != '\0') {
        if (msg->connect.path[1] != '\0' || msg->connect.path[0] < 'a' || msg->connect.path[0] > 'z')
            return ENOENT;
        target = &files[msg->connect.path[0] - 'a'];
    }
    if ((status = iofunc_open(ctp, msg, &target->attr, &dir_attr.attr, NULL)) != EOK)
        return status;
    if ((ocb = calloc(1, sizeof *ocb)) == NULL)
        return ENOMEM;
    if ((status = iofunc_ocb_attach(ctp, msg, &ocb->ocb, &target->attr, &io_funcs)) != EOK)
        free(ocb);
    return status;
}

static int my_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb)
{
    int status, nbytes;
    struct my_attr *attr = ocb->ocb.attr;

    if ((status = iofunc_read_verify(ctp, msg, &ocb->ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    if (S_ISDIR(attr->attr.mode)) {
        /* One struct dirent per file, as many as fit. */
        char *buf = (char *)(msg + 1);
        size_t room = msg->i.nbytes, used = 0;
        while (ocb->dir_index < 26 && room - used >= sizeof(struct dirent)) {
            struct dirent *d = (struct dirent *)(buf + used);
            memset(d, 0, sizeof *d);
            d->d_ino = files[ocb->dir_index].attr.inode;
            d->d_reclen = sizeof *d;
            strcpy(d->d_name, files[ocb->dir_index].name);
            used += d->d_reclen;
            ocb->dir_index++;
        }
        _IO_SET_READ_NBYTES(ctp, used);
        return _RESMGR_PTR(ctp, buf, used);
    }
    nbytes = strlen(attr->contents) - ocb->ocb.offset;
    if (nbytes < 0)
        nbytes = 0;
    if (nbytes > msg->i.nbytes)
        nbytes = msg->i.nbytes;
    SETIOV(ctp->iov, attr->contents + ocb->ocb.offset, nbytes);
    ocb->ocb.offset += nbytes;
    _IO_SET_READ_NBYTES(ctp, nbytes);
    return _RESMGR_NPARTS(1);
}

static int my_close(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb)
{
    iofunc_ocb_detach(ctp, &ocb->ocb);
    free(ocb);
    return EOK;
}

int main(int argc, char **argv)
{
    dispatch_t *dpp;
    resmgr_attr_t rattr;
    dispatch_context_t *ctp;
    int i;

    dpp = dispatch_create();
    memset(&rattr, 0, sizeof rattr);
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    connect_funcs.open = my_open;
    io_funcs.read = my_read;
    io_funcs.close_ocb = my_close;

    iofunc_attr_init(&dir_attr.attr, S_IFDIR | 0555, NULL, NULL);
    dir_attr.attr.inode = 1;
    for (i = 0; i < 26; i++) {
        iofunc_attr_init(&files[i].attr, S_IFREG | 0444, &dir_attr.attr, NULL);
        files[i].attr.inode = i + 2;
        files[i].name[0] = 'a' + i;
        snprintf(files[i].contents, sizeof files[i].contents, "file %c\n", 'a' + i);
        files[i].attr.nbytes = strlen(files[i].contents);
    }

    if (resmgr_attach(dpp, &rattr, "/dev/local/letters", _FTYPE_ANY, _RESMGR_FLAG_DIR, &connect_funcs,
                      &io_funcs, &dir_attr) == -1) {
        fprintf(stderr, "%s: resmgr_attach: %s\n", argv[0], strerror(errno));
        return EXIT_FAILURE;
    }
    ctp = dispatch_context_alloc(dpp);
    for (;;) {
        if ((ctp = dispatch_block(ctp)) == NULL)
            return EXIT_FAILURE;
        dispatch_handler(ctp);
    }
}
