/*
 * test_iofunc.c - the resource-manager library's parts that work without the dispatch
 * loop: the iofunc POSIX helpers and default handlers, driven with a resmgr_context_t,
 * attribute and OCB built by hand (credentials in a struct _client_info, or read from a
 * real message held on a channel; an attachment made with RESMGR_FLAG_ATTACH_LOCAL for
 * those that bind an OCB), and the ENOSYS of what is not supported.  The message loop
 * itself is test_resmgr.c's.
 */
#include "harness.h"

#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <devctl.h>
#include <sys/statvfs.h>

/* A client's credentials as ConnectClientInfo() would give them. */
static struct _client_info creds(uid_t uid, gid_t gid)
{
    struct _client_info info;
    memset(&info, 0, sizeof info);
    info.cred.ruid = info.cred.euid = info.cred.suid = uid;
    info.cred.rgid = info.cred.egid = info.cred.sgid = gid;
    return info;
}

static void open_msg(io_open_t *msg, uint32_t ioflag)
{
    memset(msg, 0, sizeof *msg);
    msg->connect.type = _IO_CONNECT;
    msg->connect.subtype = _IO_CONNECT_OPEN;
    msg->connect.ioflag = ioflag;
}

/* A message from this process held unreplied on a channel, so that ctp->info names a
 * real connection whose credentials iofunc_client_info() reads. */
struct held {
    int chid, coid;
    pthread_t sender;
    resmgr_context_t ctp;
};

static void *send_one(void *arg)
{
    struct held *h = arg;
    char c = 0;
    MsgSend(h->coid, &c, 1, NULL, 0);
    return NULL;
}

static void hold_message(struct held *h)
{
    char c;
    memset(h, 0, sizeof *h);
    h->chid = ChannelCreate(0);
    REQUIRE(h->chid != -1);
    h->coid = ConnectAttach(0, 0, h->chid, _NTO_SIDE_CHANNEL, 0);
    REQUIRE(h->coid != -1);
    REQUIRE_EQ(pthread_create(&h->sender, NULL, send_one, h), 0);
    h->ctp.rcvid = MsgReceive(h->chid, &c, 1, &h->ctp.info);
    REQUIRE(h->ctp.rcvid > 0);
}

static void release(struct held *h)
{
    MsgReply(h->ctp.rcvid, 0, NULL, 0);
    pthread_join(h->sender, NULL);
    ConnectDetach(h->coid);
    ChannelDestroy(h->chid);
}

TEST(attr_init_and_time_update)
{
    iofunc_attr_t dir, attr;
    iofunc_mount_t mount;
    struct _client_info info = creds(1234, 567);
    struct timespec before;
    memset(&mount, 0, sizeof mount);
    iofunc_attr_init(&dir, S_IFDIR | 0755, NULL, NULL);
    dir.mount = &mount;
    iofunc_attr_init(&attr, S_IFREG | 0640, &dir, &info);
    CHECK_EQ(attr.mode, S_IFREG | 0640);
    CHECK_EQ(attr.nlink, 1);
    CHECK_EQ(attr.uid, 1234);
    CHECK_EQ(attr.gid, 567);
    CHECK(attr.mount == &mount);
    CHECK_EQ(attr.count + attr.rcount + attr.wcount + attr.rlocks + attr.wlocks, 0);
    CHECK_EQ(attr.flags, IOFUNC_ATTR_ATIME | IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME);
    /* The attribute's mutex is ready, and recursive: a handler may take it while the
     * library holds it for the handler (lock_ocb). */
    CHECK_EQ(iofunc_attr_lock(&attr), 0);
    CHECK_EQ(iofunc_attr_trylock(&attr), 0);
    CHECK_EQ(iofunc_attr_unlock(&attr), 0);
    CHECK_EQ(iofunc_attr_unlock(&attr), 0);
    CHECK_EQ(iofunc_attr_unlock(&attr), EPERM);

    clock_gettime(CLOCK_REALTIME, &before);
    CHECK_EQ(iofunc_time_update(&attr), EOK);
    CHECK(attr.mtime >= before.tv_sec && attr.mtime <= before.tv_sec + 2);
    CHECK_EQ(attr.atime, attr.mtime);
    CHECK_EQ(attr.ctime, attr.mtime);
    CHECK_EQ(attr.flags, IOFUNC_ATTR_DIRTY_TIME);
    /* Only the marked times move. */
    attr.atime = 1;
    attr.flags = IOFUNC_ATTR_MTIME;
    attr.mtime = 1;
    CHECK_EQ(iofunc_time_update(&attr), EOK);
    CHECK_EQ(attr.atime, 1);
    CHECK(attr.mtime >= before.tv_sec);
}

TEST(func_init_fills_the_defaults)
{
    resmgr_connect_funcs_t connect;
    resmgr_io_funcs_t io;
    memset(&io, 0xff, sizeof io);
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect, _RESMGR_IO_NFUNCS, &io);
    CHECK_EQ(connect.nfuncs, _RESMGR_CONNECT_NFUNCS);
    CHECK(connect.open == iofunc_open_default);
    CHECK(connect.unlink == NULL && connect.mount == NULL);
    CHECK_EQ(io.nfuncs, _RESMGR_IO_NFUNCS);
    CHECK(io.read == iofunc_read_default);
    CHECK(io.write == iofunc_write_default);
    CHECK(io.close_ocb == iofunc_close_ocb_default);
    CHECK(io.stat == iofunc_stat_default);
    CHECK(io.devctl == iofunc_devctl_default);
    CHECK(io.lseek == iofunc_lseek_default);
    CHECK(io.chmod == iofunc_chmod_default);
    CHECK(io.chown == iofunc_chown_default);
    CHECK(io.utime == iofunc_utime_default);
    CHECK(io.pathconf == iofunc_pathconf_default);
    CHECK(io.unblock == iofunc_unblock_default);
    CHECK(io.lock_ocb == iofunc_lock_ocb_default && io.unlock_ocb == iofunc_unlock_ocb_default);
    CHECK(io.close_dup == iofunc_close_dup_default && io.sync == iofunc_sync_default);
    CHECK(io.openfd == iofunc_openfd_default && io.fdinfo == iofunc_fdinfo_default);
    CHECK(io.lock == iofunc_lock_default && io.mmap == iofunc_mmap_default);
    CHECK(io.power == iofunc_power_default);
    CHECK(io.notify == NULL && io.msg == NULL && io.space == NULL && io.dup == NULL);
    /* A shorter table (an older program) is told so. */
    iofunc_func_init(1, &connect, 4, &io);
    CHECK_EQ(connect.nfuncs, 1);
    CHECK_EQ(io.nfuncs, 4);
}

TEST(check_access_follows_the_mode)
{
    iofunc_attr_t attr;
    struct _client_info owner = creds(100, 100), member = creds(200, 300), other = creds(400, 400),
                        root = creds(0, 0);
    resmgr_context_t ctp;
    memset(&ctp, 0, sizeof ctp);
    iofunc_attr_init(&attr, S_IFREG | 0640, NULL, NULL);
    attr.uid = 100;
    attr.gid = 300;
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_IREAD | S_IWRITE, &owner), EOK);
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_IEXEC, &owner), EACCES);
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_IREAD, &member), EOK);
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_IWRITE, &member), EACCES);
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_IREAD, &other), EACCES);
    /* Supplementary groups count. */
    other.cred.ngroups = 2;
    other.cred.grouplist[1] = 300;
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_IREAD, &other), EOK);
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_IREAD | S_IWRITE | S_IEXEC, &root), EOK);
    /* Ownership and group membership. */
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_ISUID, &owner), EOK);
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_ISUID, &member), EPERM);
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_ISGID, &member), EOK);
    CHECK_EQ(iofunc_check_access(&ctp, &attr, S_ISUID, NULL), EINVAL);
}

TEST(read_and_write_verify)
{
    iofunc_attr_t attr;
    iofunc_ocb_t ocb;
    io_read_t rd;
    io_write_t wr;
    resmgr_context_t ctp;
    int nonblock = -1;
    memset(&ctp, 0, sizeof ctp);
    memset(&rd, 0, sizeof rd);
    memset(&wr, 0, sizeof wr);
    iofunc_attr_init(&attr, S_IFREG | 0666, NULL, NULL);
    memset(&ocb, 0, sizeof ocb);
    ocb.attr = &attr;
    ocb.ioflag = _IO_FLAG_RD;
    CHECK_EQ(iofunc_read_verify(&ctp, &rd, &ocb, &nonblock), EOK);
    CHECK_EQ(nonblock, 0);
    CHECK_EQ(iofunc_write_verify(&ctp, &wr, &ocb, NULL), EBADF);
    ocb.ioflag = _IO_FLAG_WR | O_NONBLOCK;
    CHECK_EQ(iofunc_read_verify(&ctp, &rd, &ocb, NULL), EBADF);
    CHECK_EQ(iofunc_write_verify(&ctp, &wr, &ocb, &nonblock), EOK);
    CHECK_EQ(nonblock, 1);
    /* The message's own flag wins over the open's. */
    wr.i.xtype = _IO_XTYPE_NONE | _IO_XFLAG_BLOCK;
    CHECK_EQ(iofunc_write_verify(&ctp, &wr, &ocb, &nonblock), EOK);
    CHECK_EQ(nonblock, 0);
    ocb.ioflag = _IO_FLAG_RD;
    rd.i.xtype = _IO_XFLAG_NONBLOCK;
    CHECK_EQ(iofunc_read_verify(&ctp, &rd, &ocb, &nonblock), EOK);
    CHECK_EQ(nonblock, 1);
}

/* An attachment to bind OCBs under (ctp->id), reachable by message only. */
static dispatch_t *local_attachment(resmgr_context_t *ctp, resmgr_io_funcs_t *io)
{
    resmgr_attr_t rattr;
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    memset(&rattr, 0, sizeof rattr);
    rattr.flags = RESMGR_FLAG_ATTACH_LOCAL;
    iofunc_func_init(0, NULL, _RESMGR_IO_NFUNCS, io);
    ctp->id = resmgr_attach(dpp, &rattr, NULL, _FTYPE_ANY, 0, NULL, io, NULL);
    REQUIRE(ctp->id >= 0);
    return dpp;
}

TEST(ocb_attach_and_detach_count_opens)
{
    iofunc_attr_t attr;
    iofunc_ocb_t mine;
    resmgr_context_t ctp;
    resmgr_io_funcs_t io;
    io_open_t rw, ro;
    memset(&ctp, 0, sizeof ctp);
    dispatch_t *dpp = local_attachment(&ctp, &io);
    open_msg(&rw, _IO_FLAG_RD | _IO_FLAG_WR);
    open_msg(&ro, _IO_FLAG_RD);
    iofunc_attr_init(&attr, S_IFREG | 0666, NULL, NULL);
    memset(&mine, 0, sizeof mine);
    rw.connect.sflag = 0x40;
    ctp.info.coid = 1;
    CHECK_EQ(iofunc_ocb_attach(&ctp, &rw, &mine, &attr, NULL), EOK);
    CHECK(mine.attr == &attr);
    CHECK_EQ(mine.ioflag, _IO_FLAG_RD | _IO_FLAG_WR);
    CHECK_EQ(mine.sflag, 0x40);
    CHECK_EQ(mine.offset, 0);
    /* One OCB per connection: the same one again is refused, counts untouched. */
    CHECK_EQ(iofunc_ocb_attach(&ctp, &ro, &mine, &attr, &io), EINVAL);
    CHECK_EQ(attr.count, 1);
    ctp.info.coid = 2;
    CHECK_EQ(iofunc_ocb_attach(&ctp, &ro, &mine, &attr, &io), EOK);
    CHECK_EQ(attr.count, 2);
    CHECK_EQ(attr.rcount, 2);
    CHECK_EQ(attr.wcount, 1);
    /* Detaching the read-only open leaves a reader, a writer and an open. */
    CHECK_EQ(iofunc_ocb_detach(&ctp, &mine), 0);
    mine.ioflag = _IO_FLAG_RD | _IO_FLAG_WR;
    CHECK_EQ(iofunc_ocb_detach(&ctp, &mine),
             IOFUNC_OCB_LAST_INUSE | IOFUNC_OCB_LAST_READER | IOFUNC_OCB_LAST_WRITER);
    CHECK_EQ(attr.count + attr.rcount + attr.wcount, 0);
    /* The OCBs are the test's: unbinding leaves them alone. */
    CHECK_OK(resmgr_unbind(&ctp));
    ctp.info.coid = 1;
    CHECK_OK(resmgr_unbind(&ctp));
    CHECK_ERR(resmgr_unbind(&ctp), EINVAL);
    /* Without an attachment there is nothing to bind under. */
    ctp.id = 99;
    CHECK_EQ(iofunc_ocb_attach(&ctp, &ro, &mine, &attr, &io), ENOENT);
    CHECK_EQ(attr.count, 0);
    dispatch_destroy(dpp);
}

TEST(close_ocb_default_frees_an_allocated_ocb)
{
    iofunc_attr_t attr;
    resmgr_context_t ctp;
    resmgr_io_funcs_t io;
    io_open_t wo;
    iofunc_ocb_t *ocb;
    memset(&ctp, 0, sizeof ctp);
    dispatch_t *dpp = local_attachment(&ctp, &io);
    open_msg(&wo, _IO_FLAG_WR);
    iofunc_attr_init(&attr, S_IFREG | 0666, NULL, NULL);
    ocb = iofunc_ocb_calloc(&ctp, &attr);
    REQUIRE(ocb != NULL);
    CHECK_EQ(iofunc_ocb_attach(&ctp, &wo, ocb, &attr, NULL), EOK);
    CHECK_EQ(attr.wcount, 1);
    CHECK_OK(resmgr_unbind(&ctp));
    CHECK_EQ(iofunc_close_ocb_default(&ctp, NULL, ocb), EOK); /* ASan sees a leak otherwise */
    CHECK_EQ(attr.count + attr.wcount, 0);
    dispatch_destroy(dpp);
}

TEST(open_rules)
{
    iofunc_attr_t dir, file;
    iofunc_mount_t ro_mount;
    resmgr_context_t ctp;
    struct _client_info owner = creds(100, 100), other = creds(400, 400);
    io_open_t rd, wr, creat, excl;
    memset(&ctp, 0, sizeof ctp);
    open_msg(&rd, _IO_FLAG_RD);
    open_msg(&wr, _IO_FLAG_WR);
    open_msg(&creat, _IO_FLAG_WR | O_CREAT);
    open_msg(&excl, _IO_FLAG_WR | O_CREAT | O_EXCL);
    iofunc_attr_init(&dir, S_IFDIR | 0755, NULL, &owner);
    iofunc_attr_init(&file, S_IFREG | 0644, &dir, &owner);
    CHECK_EQ(iofunc_open(&ctp, &rd, &file, &dir, &other), EOK);
    CHECK_EQ(iofunc_open(&ctp, &wr, &file, &dir, &other), EACCES);
    CHECK_EQ(iofunc_open(&ctp, &wr, &file, &dir, &owner), EOK);
    CHECK_EQ(iofunc_open(&ctp, &excl, &file, &dir, &owner), EEXIST);
    CHECK_EQ(iofunc_open(&ctp, &wr, &dir, NULL, &owner), EISDIR);
    /* A name that does not exist: created only with O_CREAT and rights in the directory. */
    CHECK_EQ(iofunc_open(&ctp, &rd, NULL, &dir, &owner), ENOENT);
    CHECK_EQ(iofunc_open(&ctp, &creat, NULL, &dir, &owner), EOK);
    CHECK_EQ(iofunc_open(&ctp, &creat, NULL, &dir, &other), EACCES);
    /* A read-only mount refuses writers. */
    memset(&ro_mount, 0, sizeof ro_mount);
    ro_mount.flags = ST_RDONLY;
    file.mount = &ro_mount;
    CHECK_EQ(iofunc_open(&ctp, &wr, &file, &dir, &owner), EROFS);
    CHECK_EQ(iofunc_open(&ctp, &rd, &file, &dir, &owner), EOK);
    file.flags |= IOFUNC_ATTR_SYNTHETIC;
    CHECK_EQ(iofunc_open(&ctp, &wr, &file, &dir, &owner), EOK);
}

TEST(open_default_checks_then_binds)
{
    struct held h;
    iofunc_attr_t attr;
    resmgr_io_funcs_t io;
    io_open_t wr;
    hold_message(&h);
    dispatch_t *dpp = local_attachment(&h.ctp, &io);
    open_msg(&wr, _IO_FLAG_WR);
    iofunc_attr_init(&attr, S_IFREG | 0444, NULL, NULL);
    attr.uid = getuid() + 1;
    if (geteuid() != 0) /* as root the mode does not stop a writer */
        CHECK_EQ(iofunc_open_default(&h.ctp, &wr, &attr, NULL), EACCES);
    attr.mode = S_IFREG | 0666;
    CHECK_EQ(attr.count, 0);
    CHECK_EQ(iofunc_open_default(&h.ctp, &wr, &attr, NULL), EOK);
    CHECK_EQ(attr.count, 1);
    CHECK_EQ(attr.wcount, 1);
    /* The connection's binding ends with the attachment, through close_ocb. */
    CHECK_OK(resmgr_detach(dpp, h.ctp.id, _RESMGR_DETACH_CLOSE));
    CHECK_EQ(attr.count, 0);
    CHECK_ERR(resmgr_detach(dpp, h.ctp.id, 0), ENOENT);
    dispatch_destroy(dpp);
    release(&h);
}

TEST(stat_reports_the_attribute)
{
    iofunc_attr_t attr;
    iofunc_mount_t mount;
    iofunc_ocb_t ocb;
    resmgr_context_t ctp;
    io_stat_t msg;
    struct stat st;
    memset(&ctp, 0, sizeof ctp);
    memset(&mount, 0, sizeof mount);
    mount.dev = 77;
    mount.blocksize = 4096;
    iofunc_attr_init(&attr, S_IFCHR | 0620, NULL, NULL);
    attr.mount = &mount;
    attr.uid = 5;
    attr.gid = 6;
    attr.nbytes = 1000;
    attr.inode = 42;
    attr.rdev = 9;
    CHECK_EQ(iofunc_stat(&ctp, &attr, &st), EOK);
    CHECK_EQ(st.st_mode, S_IFCHR | 0620);
    CHECK_EQ(st.st_uid, 5);
    CHECK_EQ(st.st_gid, 6);
    CHECK_EQ(st.st_size, 1000);
    CHECK_EQ(st.st_ino, 42);
    CHECK_EQ(st.st_rdev, 9);
    CHECK_EQ(st.st_dev, 77);
    CHECK_EQ(st.st_nlink, 1);
    CHECK_EQ(st.st_blksize, 4096);
    CHECK_EQ(st.st_blocks, 2);
    CHECK(st.st_mtime != 0 && st.st_mtime == attr.mtime);
    CHECK_EQ(attr.flags & (IOFUNC_ATTR_ATIME | IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME), 0);

    /* The default handler replies with the stat structure in place of the message. */
    memset(&ocb, 0, sizeof ocb);
    ocb.attr = &attr;
    memset(&msg, 0, sizeof msg);
    msg.i.type = _IO_STAT;
    CHECK_EQ(iofunc_stat_default(&ctp, &msg, &ocb), _RESMGR_NPARTS(1));
    CHECK(GETIOVBASE(&ctp.iov[0]) == (void *)&msg.o);
    CHECK_EQ(GETIOVLEN(&ctp.iov[0]), sizeof(struct stat));
    CHECK_EQ(msg.o.st_ino, 42);
}

TEST(read_write_lseek_defaults)
{
    iofunc_attr_t attr;
    iofunc_ocb_t ocb;
    resmgr_context_t ctp;
    io_read_t rd;
    io_write_t wr;
    io_lseek_t ls;
    memset(&ctp, 0, sizeof ctp);
    iofunc_attr_init(&attr, S_IFREG | 0666, NULL, NULL);
    iofunc_time_update(&attr);
    memset(&ocb, 0, sizeof ocb);
    ocb.attr = &attr;
    ocb.ioflag = _IO_FLAG_RD | _IO_FLAG_WR;
    memset(&rd, 0, sizeof rd);
    rd.i.nbytes = 10;
    ctp.status = 99;
    CHECK_EQ(iofunc_read_default(&ctp, &rd, &ocb), _RESMGR_NPARTS(0));
    CHECK_EQ(ctp.status, 0);
    rd.i.xtype = _IO_XTYPE_OFFSET;
    CHECK_EQ(iofunc_read_default(&ctp, &rd, &ocb), ENOSYS);
    memset(&wr, 0, sizeof wr);
    wr.i.nbytes = 7;
    CHECK_EQ(iofunc_write_default(&ctp, &wr, &ocb), EOK);
    CHECK_EQ(ctp.status, 7);
    CHECK_EQ(attr.flags & (IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME), IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME);
    ocb.ioflag = _IO_FLAG_RD;
    CHECK_EQ(iofunc_write_default(&ctp, &wr, &ocb), EBADF);

    attr.nbytes = 100;
    memset(&ls, 0, sizeof ls);
    ls.i.whence = SEEK_END;
    ls.i.offset = (_Uint64t)-10;
    CHECK_EQ(iofunc_lseek_default(&ctp, &ls, &ocb), _RESMGR_NPARTS(1));
    CHECK_EQ(ocb.offset, 90);
    CHECK_EQ(ls.o, 90);
    ls.i.whence = SEEK_CUR;
    ls.i.offset = 5;
    CHECK_EQ(iofunc_lseek(&ctp, &ls, &ocb, &attr), EOK);
    CHECK_EQ(ocb.offset, 95);
    ls.i.whence = SEEK_SET;
    ls.i.offset = (_Uint64t)-1;
    CHECK_EQ(iofunc_lseek(&ctp, &ls, &ocb, &attr), EINVAL);
    ls.i.whence = 7;
    CHECK_EQ(iofunc_lseek(&ctp, &ls, &ocb, &attr), EINVAL);
    CHECK_EQ(ocb.offset, 95);
}

TEST(devctl_pathconf_sync_defaults)
{
    iofunc_attr_t attr;
    iofunc_ocb_t ocb;
    resmgr_context_t ctp;
    struct {
        io_devctl_t msg;
        int data;
    } dc;
    io_pathconf_t pc;
    io_sync_t sy;
    memset(&ctp, 0, sizeof ctp);
    iofunc_attr_init(&attr, S_IFREG | 0666, NULL, NULL);
    memset(&ocb, 0, sizeof ocb);
    ocb.attr = &attr;
    ocb.ioflag = _IO_FLAG_RD | _IO_FLAG_WR | O_APPEND;
    memset(&dc, 0, sizeof dc);
    dc.msg.i.dcmd = DCMD_ALL_GETFLAGS;
    CHECK_EQ(iofunc_devctl_default(&ctp, &dc.msg, &ocb), _RESMGR_NPARTS(1));
    CHECK_EQ(dc.data, O_RDWR | O_APPEND);
    CHECK_EQ(dc.msg.o.nbytes, sizeof(int));
    dc.msg.i.dcmd = DCMD_ALL_SETFLAGS;
    dc.data = O_NONBLOCK;
    CHECK_EQ(iofunc_devctl_default(&ctp, &dc.msg, &ocb), EOK);
    CHECK_EQ(ocb.ioflag, _IO_FLAG_RD | _IO_FLAG_WR | O_NONBLOCK);
    /* A command of the program's own is left to it. */
    dc.msg.i.dcmd = __DIOT(_DCMD_MISC, 1, int);
    CHECK_EQ(iofunc_devctl_default(&ctp, &dc.msg, &ocb), _RESMGR_DEFAULT);

    memset(&pc, 0, sizeof pc);
    pc.i.name = _PC_NAME_MAX;
    CHECK_EQ(iofunc_pathconf_default(&ctp, &pc, &ocb), EOK);
    CHECK_EQ(ctp.status, NAME_MAX);
    pc.i.name = _PC_CHOWN_RESTRICTED;
    CHECK_EQ(iofunc_pathconf_default(&ctp, &pc, &ocb), EOK);
    CHECK_EQ(ctp.status, 1);
    pc.i.name = -1;
    CHECK_EQ(iofunc_pathconf_default(&ctp, &pc, &ocb), EINVAL);

    memset(&sy, 0, sizeof sy);
    CHECK_EQ(iofunc_sync_default(&ctp, &sy, &ocb), EOK);
    ocb.ioflag = _IO_FLAG_RD;
    CHECK_EQ(iofunc_sync_default(&ctp, &sy, &ocb), EBADF);
    CHECK_EQ(iofunc_lock_ocb_default(&ctp, NULL, &ocb), 0);
    CHECK_EQ(iofunc_unlock_ocb_default(&ctp, NULL, &ocb), 0);
}

/* chmod/chown/utime with the caller's real credentials: root may do anything; then, as an
 * unprivileged user (this case runs in its own process), only the owner. */
TEST(chmod_chown_utime_follow_ownership)
{
    struct held h;
    iofunc_attr_t attr;
    iofunc_ocb_t ocb;
    io_chmod_t cm;
    io_chown_t co;
    io_utime_t ut;
    uid_t me;
    if (geteuid() == 0) {
        hold_message(&h);
        iofunc_attr_init(&attr, S_IFREG | 0600, NULL, NULL);
        attr.uid = 4321;
        memset(&ocb, 0, sizeof ocb);
        ocb.attr = &attr;
        memset(&cm, 0, sizeof cm);
        cm.i.mode = 0644;
        CHECK_EQ(iofunc_chmod_default(&h.ctp, &cm, &ocb), EOK);
        CHECK_EQ(attr.mode, S_IFREG | 0644);
        memset(&co, 0, sizeof co);
        co.i.uid = 77;
        co.i.gid = 88;
        CHECK_EQ(iofunc_chown_default(&h.ctp, &co, &ocb), EOK);
        CHECK_EQ(attr.uid, 77);
        CHECK_EQ(attr.gid, 88);
        release(&h);
        REQUIRE_EQ(setgroups(0, NULL), 0);
        REQUIRE_EQ(setresgid(65534, 65534, 65534), 0);
        REQUIRE_EQ(setresuid(65534, 65534, 65534), 0);
    }
    me = geteuid();
    hold_message(&h);
    iofunc_attr_init(&attr, S_IFREG | 0600, NULL, NULL);
    attr.uid = me + 1;
    attr.gid = getegid();
    memset(&ocb, 0, sizeof ocb);
    ocb.attr = &attr;
    ocb.ioflag = _IO_FLAG_RD;
    memset(&cm, 0, sizeof cm);
    cm.i.mode = 0666;
    CHECK_EQ(iofunc_chmod(&h.ctp, &cm, &ocb, &attr), EPERM);
    attr.uid = me;
    attr.flags = 0;
    cm.i.mode = S_ISGID | 0664;
    CHECK_EQ(iofunc_chmod(&h.ctp, &cm, &ocb, &attr), EOK);
    CHECK_EQ(attr.mode, S_IFREG | S_ISGID | 0664);
    CHECK_EQ(attr.flags, IOFUNC_ATTR_CTIME | IOFUNC_ATTR_DIRTY_MODE);
    /* chown is restricted: the owner may not give the file away, only change its group
     * to one of its own (which drops the set-id bits). */
    memset(&co, 0, sizeof co);
    co.i.uid = (int32_t)me + 5;
    co.i.gid = -1;
    CHECK_EQ(iofunc_chown(&h.ctp, &co, &ocb, &attr), EPERM);
    co.i.uid = -1;
    co.i.gid = (int32_t)getegid();
    CHECK_EQ(iofunc_chown(&h.ctp, &co, &ocb, &attr), EOK);
    CHECK_EQ(attr.mode & (S_ISUID | S_ISGID), 0);
    co.i.gid = (int32_t)getegid() + 1;
    CHECK_EQ(iofunc_chown(&h.ctp, &co, &ocb, &attr), EPERM);
    /* utime: explicit times only for the owner; "now" also for anyone who may write. */
    memset(&ut, 0, sizeof ut);
    ut.i.times.actime = 1000;
    ut.i.times.modtime = 2000;
    CHECK_EQ(iofunc_utime_default(&h.ctp, &ut, &ocb), EOK);
    CHECK_EQ(attr.atime, 1000);
    CHECK_EQ(attr.mtime, 2000);
    attr.uid = me + 1;
    CHECK_EQ(iofunc_utime(&h.ctp, &ut, &ocb, &attr), EPERM);
    ut.i.cur_flag = 1;
    attr.mode = S_IFREG | 0666;
    CHECK_EQ(iofunc_utime(&h.ctp, &ut, &ocb, &attr), EOK);
    CHECK(attr.flags & IOFUNC_ATTR_MTIME);
    attr.mode = S_IFREG | 0644;
    CHECK_EQ(iofunc_utime(&h.ctp, &ut, &ocb, &attr), EACCES);
    release(&h);
}

TEST(client_info_names_the_caller)
{
    struct held h;
    struct _client_info info;
    resmgr_context_t bogus;
    hold_message(&h);
    CHECK_EQ(iofunc_client_info(&h.ctp, 0, &info), EOK);
    CHECK_EQ(info.cred.euid, geteuid());
    CHECK_EQ(info.pid, getpid());
    release(&h);
    memset(&bogus, 0, sizeof bogus);
    bogus.info.scoid = 0x7fff0000;
    CHECK_NE(iofunc_client_info(&bogus, 0, &info), EOK);
}

TEST(close_dup_unblock_openfd_defaults)
{
    struct held h;
    iofunc_attr_t attr;
    iofunc_ocb_t ocb;
    resmgr_io_funcs_t io;
    io_openfd_t of;
    hold_message(&h);
    dispatch_t *dpp = local_attachment(&h.ctp, &io);
    iofunc_attr_init(&attr, S_IFREG | 0666, NULL, NULL);
    memset(&ocb, 0, sizeof ocb);
    ocb.attr = &attr;
    ocb.ioflag = _IO_FLAG_RD;
    /* No byte-range locks to release. */
    CHECK_EQ(iofunc_close_dup_default(&h.ctp, NULL, &ocb), EOK);
    /* A client that has not asked to be unblocked is left alone. */
    CHECK_EQ(iofunc_unblock_default(&h.ctp, NULL, &ocb), _RESMGR_DEFAULT);
    /* openfd: no more access than the original open, then a new OCB on this connection. */
    memset(&of, 0, sizeof of);
    of.i.ioflag = _IO_FLAG_RD | _IO_FLAG_WR;
    CHECK_EQ(iofunc_openfd_default(&h.ctp, &of, &ocb), EACCES);
    of.i.ioflag = _IO_FLAG_RD;
    CHECK_EQ(iofunc_openfd_default(&h.ctp, &of, &ocb), EOK);
    CHECK_EQ(attr.rcount, 1);
    CHECK_OK(resmgr_detach(dpp, h.ctp.id, _RESMGR_DETACH_CLOSE)); /* close_ocb frees it */
    CHECK_EQ(attr.count, 0);
    dispatch_destroy(dpp);
    release(&h);
}

/* What is not supported says so, as its prototype reports errors. */
TEST(unsupported_calls_fail_with_enosys)
{
    resmgr_context_t ctp;
    memset(&ctp, 0, sizeof ctp);
    CHECK_EQ(iofunc_fdinfo_default(&ctp, NULL, NULL), ENOSYS);
    CHECK_EQ(iofunc_lock_default(&ctp, NULL, NULL), ENOSYS);
    CHECK_EQ(iofunc_mmap_default(&ctp, NULL, NULL), ENOSYS);
    CHECK_EQ(iofunc_power_default(&ctp, NULL, NULL), ENOSYS);
}

/* The attachment calls that need no message: ids, paths, detach. */
TEST(attach_ids_pathnames_and_detach)
{
    resmgr_attr_t rattr;
    resmgr_connect_funcs_t connect;
    resmgr_io_funcs_t io;
    iofunc_attr_t attr;
    iofunc_ocb_t ocb;
    resmgr_context_t ctp;
    char buf[64];
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    memset(&rattr, 0, sizeof rattr);
    memset(&ctp, 0, sizeof ctp);
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect, _RESMGR_IO_NFUNCS, &io);
    iofunc_attr_init(&attr, S_IFNAM | 0666, NULL, NULL);
    /* As QNX: no path and no RESMGR_FLAG_ATTACH_LOCAL only sets the handle up. */
    CHECK_EQ(resmgr_attach(dpp, &rattr, NULL, _FTYPE_ANY, 0, &connect, &io, &attr), 0);
    rattr.flags = RESMGR_FLAG_ATTACH_LOCAL;
    CHECK_EQ(resmgr_attach(dpp, &rattr, "/dev/test_iofunc", _FTYPE_ANY, 0, &connect, &io, &attr), 0);
    CHECK_EQ(secpol_resmgr_attach(dpp, &rattr, "/dev/test_dir", _FTYPE_ANY, _RESMGR_FLAG_DIR, &connect, &io,
                                  &attr, NULL),
             1);
    CHECK_EQ(resmgr_pathname(0, 0, buf, sizeof buf), (int)sizeof "/dev/test_iofunc");
    CHECK(strcmp(buf, "/dev/test_iofunc") == 0);
    CHECK_EQ(resmgr_pathname(1, 0, buf, 6), (int)sizeof "/dev/test_dir/"); /* truncated */
    CHECK(strcmp(buf, "/dev/") == 0);
    CHECK_ERR(resmgr_pathname(7, 0, buf, sizeof buf), EINVAL);
    /* A binding under id 0, then the pathname only goes: the binding stays. */
    ctp.id = 0;
    ocb.attr = &attr;
    CHECK_OK(resmgr_open_bind(&ctp, &ocb, NULL));
    CHECK_ERR(resmgr_open_bind(&ctp, &ocb, NULL), EINVAL);
    CHECK_OK(resmgr_detach(dpp, 0, _RESMGR_DETACH_PATHNAME));
    CHECK_ERR(resmgr_open_bind(&ctp, &ocb, NULL), EINVAL);
    /* A full detach without _RESMGR_DETACH_CLOSE leaves the OCB to its owner. */
    CHECK_OK(resmgr_detach(dpp, 0, 0));
    CHECK_ERR(resmgr_unbind(&ctp), EINVAL);
    CHECK_ERR(resmgr_open_bind(&ctp, &ocb, NULL), ENOENT);
    /* The lowest free id is reused. */
    CHECK_EQ(resmgr_attach(dpp, &rattr, NULL, _FTYPE_ANY, 0, &connect, &io, &attr), 0);
    CHECK_ERR(resmgr_detach(dpp, 5, 0), ENOENT);
    CHECK_OK(resmgr_detach(dpp, 0, 0));
    CHECK_OK(resmgr_detach(dpp, 1, 0));
    /* Contexts are dispatch contexts with the resource manager's geometry. */
    resmgr_context_t *c = resmgr_context_alloc(dpp);
    REQUIRE(c != NULL);
    CHECK(c->msg_max_size >= sizeof(struct _io_connect) + PATH_MAX);
    CHECK(c->dpp == dpp);
    resmgr_context_free(c);
    dispatch_destroy(dpp);
}

HARNESS_MAIN
