/*
 * rm_dir.c - a directory resource manager (_RESMGR_FLAG_DIR) holding the files a..z, in
 * QNX's extended-attribute idiom: IOFUNC_ATTR_T defined before the includes, each file's
 * attribute embedding QNX's.  The open handler finds the attribute the path names and
 * hands it to iofunc_open_default(); a read of the directory returns one struct dirent
 * per file from ocb->offset on (an entry index, as iofunc_lseek_default() sets it), in a
 * buffer of the reader's size; a read of a file returns "file <letter>\n".
 * Usage: rm_dir [path]   (default /dev/local/letters)
 */
struct my_attr;
#define IOFUNC_ATTR_T struct my_attr

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>

#define NFILES 26

struct my_attr {
    iofunc_attr_t attr; /* QNX's part first */
    char name[2];
    char contents[16];
};

static struct my_attr dir_attr, files[NFILES];
static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;

static int my_open(resmgr_context_t *ctp, io_open_t *msg, RESMGR_HANDLE_T *handle, void *extra)
{
    const char *name = msg->connect.path;

    if (name[0] == '\0')
        return iofunc_open_default(ctp, msg, &handle->attr, extra);
    if (name[1] != '\0' || name[0] < 'a' || name[0] > 'z')
        return ENOENT;
    return iofunc_open_default(ctp, msg, &files[name[0] - 'a'].attr, extra);
}

/* A dirent's size for a name: the header, the name and its NUL, rounded up to 8. */
static size_t dirent_size(const char *name)
{
    return (offsetof(struct dirent, d_name) + strlen(name) + 1 + 7) & ~(size_t)7;
}

static int dir_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb)
{
    char *reply;
    size_t used = 0, size;
    int i;

    if ((reply = calloc(1, msg->i.nbytes)) == NULL)
        return ENOMEM;
    for (i = ocb->offset; i < NFILES; i++) {
        struct dirent *d = (struct dirent *)(reply + used);
        size = dirent_size(files[i].name);
        if (used + size > msg->i.nbytes)
            break;
        d->d_ino = files[i].attr.inode;
        d->d_off = i + 1;
        d->d_reclen = size;
        d->d_type = DT_REG;
        strcpy(d->d_name, files[i].name);
        used += size;
    }
    ocb->offset = i;
    MsgReply(ctp->rcvid, used, reply, used);
    free(reply);
    return _RESMGR_NOREPLY;
}

static int my_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb)
{
    int status, nbytes;
    struct my_attr *attr = ocb->attr;

    if ((status = iofunc_read_verify(ctp, msg, ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    if (S_ISDIR(attr->attr.mode))
        return dir_read(ctp, msg, ocb);

    nbytes = strlen(attr->contents) - ocb->offset;
    if (nbytes < 0)
        nbytes = 0;
    if (nbytes > msg->i.nbytes)
        nbytes = msg->i.nbytes;
    SETIOV(ctp->iov, attr->contents + ocb->offset, nbytes);
    ocb->offset += nbytes;
    if (nbytes > 0)
        attr->attr.flags |= IOFUNC_ATTR_ATIME;
    _IO_SET_READ_NBYTES(ctp, nbytes);
    return _RESMGR_NPARTS(1);
}

int main(int argc, char **argv)
{
    dispatch_t *dpp;
    resmgr_attr_t rattr;
    dispatch_context_t *ctp;
    const char *path = argc > 1 ? argv[1] : "/dev/local/letters";
    int i;

    if ((dpp = dispatch_create()) == NULL) {
        fprintf(stderr, "%s: Unable to allocate dispatch handle.\n", argv[0]);
        return EXIT_FAILURE;
    }
    memset(&rattr, 0, sizeof rattr);
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    connect_funcs.open = my_open;
    io_funcs.read = my_read;

    iofunc_attr_init(&dir_attr.attr, S_IFDIR | 0555, NULL, NULL);
    dir_attr.attr.inode = 1;
    for (i = 0; i < NFILES; i++) {
        iofunc_attr_init(&files[i].attr, S_IFREG | 0444, &dir_attr.attr, NULL);
        files[i].attr.inode = i + 2;
        files[i].name[0] = 'a' + i;
        snprintf(files[i].contents, sizeof files[i].contents, "file %c\n", 'a' + i);
        files[i].attr.nbytes = strlen(files[i].contents);
    }

    if (resmgr_attach(dpp, &rattr, path, _FTYPE_ANY, _RESMGR_FLAG_DIR, &connect_funcs, &io_funcs, &dir_attr) ==
        -1) {
        fprintf(stderr, "%s: Unable to attach name %s: %s\n", argv[0], path, strerror(errno));
        return EXIT_FAILURE;
    }
    printf("rm_dir: serving %s\n", path);
    fflush(stdout);
    ctp = dispatch_context_alloc(dpp);
    for (;;) {
        if ((ctp = dispatch_block(ctp)) == NULL) {
            fprintf(stderr, "%s: dispatch_block: %s\n", argv[0], strerror(errno));
            return EXIT_FAILURE;
        }
        dispatch_handler(ctp);
    }
}
