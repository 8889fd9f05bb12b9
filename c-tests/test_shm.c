/*
 * test_shm.c - QNX's shared-memory additions in <sys/mman.h> (reference §10): anonymous
 * objects (shm_open(SHM_ANON)), shm_ctl, and single-use handles passed in a message between
 * processes that share nothing else: the creator (an exec'd server) makes an object and a
 * handle for the process that asked, replies with the handle's value, and that process
 * redeems it.  Single use, wrong pid, read-only handles, deletion, the creator's death,
 * bad handles and flags, and another user's attempts to redeem, guess or widen a handle.
 * The plain POSIX shm_open path goes on working under the redirect.
 */
#include "harness.h"
#include <sys/mman.h>
#include <sys/stat.h>

#define SIZE 8192
#define OTHER_UID 65534

/* ---------------------------------------------------------------------------------- */
/* The declarations, as QNX documents them                                              */

_Static_assert(sizeof(shm_handle_t) == 8, "shm_handle_t is 64 bits");
_Static_assert((shm_handle_t)-1 > 0, "shm_handle_t is unsigned");
_Static_assert(SHMCTL_ANON == 0x1 && SHMCTL_PHYS == 0x2 && SHMCTL_SEAL == 0x4, "SHMCTL");
_Static_assert(SHMCTL_REVOCABLE == 0x8 && _SHMCTL_GLOBAL == 0x10 && _SHMCTL_PRIV == 0x20, "SHMCTL");
_Static_assert(_SHMCTL_LOWERPROT == 0x40 && _SHMCTL_LAZYWRITE == 0x80, "SHMCTL");
_Static_assert(_SHMCTL_HIGHUSAGE == 0x200 && SHMCTL_LAZY == 0x400, "SHMCTL");
_Static_assert(SHMCTL_REPEAT == 0x800, "SHMCTL");
_Static_assert(_SHMCTL_NODEFRAG == 0x1000 && SHMCTL_TYMEM == 0x2000, "SHMCTL");
_Static_assert(SHMCTL_GET_FLAGS == 0x4000 && SHMCTL_HAS_SPECIAL == 0x8000, "SHMCTL");
_Static_assert(SHMCTL_FLAG_MASK == 0xffff && SHMCTL_GLOBAL == _SHMCTL_GLOBAL, "SHMCTL");
_Static_assert(SHM_CREATE_HANDLE_OPT_NOFD == 0x1U && SHM_CREATE_HANDLE_OPT_SUBRANGE == 0x2U, "OPT");

static int (*const p_create)(int, pid_t, int, shm_handle_t *, unsigned) = shm_create_handle;
static int (*const p_subrange)(int, pid_t, int, shm_handle_t *, unsigned, size_t, off_t) =
    shm_create_subrange_handle;
static int (*const p_open)(shm_handle_t, int) = shm_open_handle;
static int (*const p_open_pid)(shm_handle_t, int, pid_t) = shm_open_handle_pid;
static int (*const p_delete)(shm_handle_t) = shm_delete_handle;
static int (*const p_revoke)(int, pid_t) = shm_revoke;
static void *(*const p_mmap)(void *, size_t, int, int, shm_handle_t, off_t) = mmap_handle;
static void *(*const p_mmap_pid)(void *, size_t, int, int, shm_handle_t, pid_t, off_t) =
    mmap_handle_pid;
static int (*const p_ctl)(int, int, uint64_t, uint64_t) = shm_ctl;
static int (*const p_ctl_special)(int, int, uint64_t, uint64_t, unsigned) = shm_ctl_special;
static int (*const p_shm_open)(const char *, int, mode_t) = shm_open;

TEST(shm_declarations_link)
{
    CHECK(p_create && p_subrange && p_open && p_open_pid && p_delete && p_revoke && p_mmap &&
          p_mmap_pid && p_ctl && p_ctl_special && p_shm_open);
    CHECK(SHM_ANON == (char *)-1);
}

/* ---------------------------------------------------------------------------------- */
/* Helpers                                                                              */

static unsigned char *map(int fd, int prot)
{
    void *p = mmap(NULL, SIZE, prot, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : (unsigned char *)p;
}

static int accmode(int fd) { return fcntl(fd, F_GETFL) & O_ACCMODE; }

static int new_anon(void)
{
    int fd = (int)REQUIRE_OK(shm_open(SHM_ANON, O_RDWR | O_CREAT, 0600));
    REQUIRE_OK(shm_ctl(fd, SHMCTL_ANON, 0, SIZE));
    return fd;
}

/* A process that owns an object and makes handles to it on request, like a QNX server. */
enum { MAKE = 1, CHECK_DATA, DELETE, QUIT };

struct sreq {
    int op;
    int flags;           /* MAKE: the handle's access */
    unsigned options;    /* MAKE: shm_create_handle options */
    pid_t target;        /* MAKE: the recipient; 0: the sender */
    unsigned seed;       /* MAKE: the object's contents; CHECK_DATA: what they should be */
    shm_handle_t handle; /* DELETE */
};

struct srep {
    int status;
    int err;
    shm_handle_t handle;
};

HELPER(creator)
{
    (void)rd;
    (void)arg;
    int chid = ChannelCreate(0);
    h_put(wr, chid);
    unsigned char *mem = NULL;
    for (;;) {
        struct sreq q;
        struct _msg_info info;
        rcvid_t r = MsgReceive(chid, &q, sizeof q, &info);
        if (r <= 0)
            return 1;
        struct srep a = {0, 0, 0};
        switch (q.op) {
        case MAKE: {
            /* As QNX's documentation shows: an anonymous object, sized, mapped, and a
             * handle for the client; the descriptor is then closed. */
            int fd = new_anon();
            if (mem)
                munmap(mem, SIZE);
            mem = map(fd, PROT_READ | PROT_WRITE);
            REQUIRE(mem);
            h_fill(mem, SIZE, q.seed);
            errno = 0;
            a.status = shm_create_handle(fd, q.target ? q.target : info.pid, q.flags, &a.handle,
                                         q.options);
            a.err = errno;
            close(fd);
            break;
        }
        case CHECK_DATA:
            a.status = mem && h_verify(mem, SIZE, q.seed, 0) == -1 ? 0 : -1;
            break;
        case DELETE:
            errno = 0;
            a.status = shm_delete_handle(q.handle);
            a.err = errno;
            break;
        case QUIT:
            MsgReply(r, 0, &a, sizeof a);
            return 0;
        }
        MsgReply(r, 0, &a, sizeof a);
    }
}

struct creator {
    struct h_proc p;
    int chid;
    int coid;
};

static struct creator start_creator(void)
{
    struct creator c;
    c.p = h_exec("creator", NULL);
    c.chid = (int)h_get(c.p.rd, 5000);
    REQUIRE(c.chid > 0);
    c.coid = (int)REQUIRE_OK(ConnectAttach(ND_LOCAL_NODE, c.p.pid, c.chid, _NTO_SIDE_CHANNEL, 0));
    return c;
}

static struct srep ask(int coid, struct sreq q)
{
    struct srep a = {-1, 0, 0};
    if (MsgSend(coid, &q, sizeof q, &a, sizeof a) != 0)
        FAIL("MsgSend to the creator: %s", h_errname(errno));
    return a;
}

/* Asks the creator for a new object filled with `seed` and a handle for `target`. */
static shm_handle_t make(int coid, int flags, unsigned options, pid_t target, unsigned seed)
{
    struct sreq q = {MAKE, flags, options, target, seed, 0};
    struct srep a = ask(coid, q);
    if (a.status != 0) {
        FAIL("shm_create_handle in the creator: %d (%s)", a.status, h_errname(a.err));
        h_abort();
    }
    return a.handle;
}

/* 1 if the creator's object holds the pattern `seed`. */
static int creator_sees(int coid, unsigned seed)
{
    struct sreq q = {CHECK_DATA, 0, 0, 0, seed, 0};
    return ask(coid, q).status == 0;
}

static void stop_creator(struct creator *c)
{
    struct sreq q = {QUIT, 0, 0, 0, 0, 0};
    ask(c->coid, q);
    CHECK_CHILD_OK(c->p.pid, 5000);
    ConnectDetach(c->coid);
    h_close_proc(&c->p);
}

/* ---------------------------------------------------------------------------------- */
/* SHM_ANON, shm_ctl and the plain shm_open                                             */

TEST(shm_anon_objects_are_distinct)
{
    int a = new_anon();
    int b = (int)CHECK_OK(shm_open(SHM_ANON, O_RDWR, 0600)); /* O_CREAT is optional */
    CHECK_OK(ftruncate(b, SIZE));
    struct stat sa, sb;
    REQUIRE_OK(fstat(a, &sa));
    REQUIRE_OK(fstat(b, &sb));
    CHECK(sa.st_ino != sb.st_ino);
    CHECK_EQ(sa.st_size, SIZE);
    CHECK_EQ(sa.st_mode & 0777, 0600);
    CHECK(fcntl(a, F_GETFD) & FD_CLOEXEC);
    unsigned char *ma = map(a, PROT_READ | PROT_WRITE), *mb = map(b, PROT_READ | PROT_WRITE);
    REQUIRE(ma && mb);
    h_fill(ma, SIZE, 1);
    CHECK_EQ(mb[100], 0);
    /* A second descriptor of the same object would see the data; these do not share it. */
    unsigned char *ma2 = map(a, PROT_READ);
    REQUIRE(ma2);
    CHECK_EQ(h_verify(ma2, SIZE, 1, 0), -1);
    CHECK_ERR(shm_open(SHM_ANON, O_ACCMODE, 0600), EINVAL);
    CHECK_ERR(shm_open(SHM_ANON, O_RDWR | O_DIRECTORY, 0600), EINVAL);
    close(a);
    close(b);
}

TEST(shm_anon_read_only)
{
    int fd = (int)CHECK_OK(shm_open(SHM_ANON, O_RDONLY | O_CREAT, 0600));
    CHECK_EQ(accmode(fd), O_RDONLY);
    CHECK(map(fd, PROT_READ | PROT_WRITE) == NULL);
    CHECK_EQ(errno, EACCES);
    CHECK_ERR(shm_ctl(fd, SHMCTL_ANON, 0, SIZE), EACCES);
    close(fd);
}

TEST(shm_ctl_flags)
{
    int fd = (int)REQUIRE_OK(shm_open(SHM_ANON, O_RDWR | O_CREAT, 0600));
    struct stat st;
    CHECK_EQ(shm_ctl(fd, SHMCTL_ANON | SHMCTL_LAZY | _SHMCTL_GLOBAL, 0, 3 * SIZE), 0);
    REQUIRE_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 3 * SIZE);
    CHECK_EQ(shm_ctl(fd, SHMCTL_ANON, 0, SIZE), 0);
    REQUIRE_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, SIZE);
    CHECK_ERR(shm_ctl(fd, 0, 0, SIZE), EINVAL);
    CHECK_ERR(shm_ctl(fd, 0x10000 | SHMCTL_ANON, 0, SIZE), EINVAL);
    CHECK_ERR(shm_ctl(fd, SHMCTL_ANON, 0, UINT64_MAX), EINVAL);
    CHECK_ERR(shm_ctl(fd, SHMCTL_PHYS, 0x100000, SIZE), ENOTSUP);
    CHECK_ERR(shm_ctl(fd, SHMCTL_ANON | SHMCTL_REVOCABLE, 0, SIZE), ENOTSUP);
    CHECK_ERR(shm_ctl(fd, SHMCTL_TYMEM, 0, SIZE), ENOTSUP);
    CHECK_ERR(shm_ctl(fd, SHMCTL_GET_FLAGS, 0, 0), ENOTSUP);
    CHECK_ERR(shm_ctl(-1, SHMCTL_ANON, 0, SIZE), EBADF);
    CHECK_ERR(shm_ctl(1000000, SHMCTL_ANON, 0, SIZE), EBADF);
    int pfd[2];
    REQUIRE_OK(pipe(pfd));
    CHECK_ERR(shm_ctl(pfd[0], SHMCTL_ANON, 0, SIZE), EINVAL);
    close(pfd[0]);
    close(pfd[1]);
    CHECK_ERR(shm_ctl_special(fd, SHMCTL_ANON, 0, SIZE, 0), ENOSYS);

    /* SHMCTL_SEAL: the size is fixed from then on; sealing again is harmless. */
    CHECK_EQ(shm_ctl(fd, SHMCTL_ANON | SHMCTL_SEAL, 0, 2 * SIZE), 0);
    CHECK_ERR(ftruncate(fd, SIZE), EPERM);
    CHECK_ERR(ftruncate(fd, 4 * SIZE), EPERM);
    CHECK_EQ(shm_ctl(fd, SHMCTL_SEAL, 0, 0), 0);
    unsigned char *m = map(fd, PROT_READ | PROT_WRITE);
    CHECK(m != NULL);
    close(fd);
}

TEST(shm_posix_names_still_work)
{
    char name[64];
    snprintf(name, sizeof name, "/neutrino-test-shm-%d", (int)getpid());
    shm_unlink(name);
    int fd = (int)REQUIRE_OK(shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
    CHECK_ERR(shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
    REQUIRE_OK(ftruncate(fd, SIZE));
    unsigned char *m = map(fd, PROT_READ | PROT_WRITE);
    REQUIRE(m);
    h_fill(m, SIZE, 5);
    /* Another process finds it by name. */
    pid_t pid = h_fork();
    if (pid == 0) {
        int fd2 = shm_open(name, O_RDONLY, 0);
        unsigned char *m2 = fd2 >= 0 ? map(fd2, PROT_READ) : NULL;
        h_child_exit(m2 && h_verify(m2, SIZE, 5, 0) == -1 ? 0 : 1);
    }
    CHECK_CHILD_OK(pid, 5000);
    /* shm_ctl works on named objects too, but they cannot be sealed. */
    CHECK_EQ(shm_ctl(fd, SHMCTL_ANON, 0, 2 * SIZE), 0);
    CHECK_ERR(shm_ctl(fd, SHMCTL_SEAL, 0, 0), ENOTSUP);
    CHECK_EQ(shm_unlink(name), 0);
    CHECK_ERR(shm_open(name, O_RDWR, 0), ENOENT);
    CHECK_ERR(shm_open(NULL, O_RDWR, 0), EFAULT);
    close(fd);
}

/* ---------------------------------------------------------------------------------- */
/* Handles between processes                                                            */

TEST(shm_handle_in_a_message)
{
    struct creator c = start_creator();
    shm_handle_t h = make(c.coid, O_RDWR, 0, 0, 1);
    CHECK_NE(h, 0);
    int fd = (int)CHECK_OK(shm_open_handle(h, O_RDWR));
    REQUIRE(fd >= 0);
    CHECK_EQ(accmode(fd), O_RDWR);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    struct stat st;
    REQUIRE_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, SIZE);
    unsigned char *m = map(fd, PROT_READ | PROT_WRITE);
    REQUIRE(m);
    CHECK_EQ(h_verify(m, SIZE, 1, 0), -1); /* the creator's data */
    h_fill(m, SIZE, 2);
    CHECK(creator_sees(c.coid, 2)); /* and ours in the creator */
    /* Each handle is for one object: a new one maps the new object. */
    shm_handle_t h2 = make(c.coid, O_RDWR, 0, 0, 3);
    CHECK_NE(h2, h);
    unsigned char *m2 = (unsigned char *)mmap_handle(NULL, SIZE, PROT_READ, MAP_SHARED, h2, 0);
    REQUIRE(m2 != MAP_FAILED);
    CHECK_EQ(h_verify(m2, SIZE, 3, 0), -1);
    CHECK_EQ(h_verify(m, SIZE, 2, 0), -1);
    close(fd);
    stop_creator(&c);
}

TEST(shm_handle_single_use)
{
    struct creator c = start_creator();
    shm_handle_t h = make(c.coid, O_RDWR, 0, 0, 1);
    int fd = (int)CHECK_OK(shm_open_handle(h, O_RDONLY));
    CHECK_EQ(accmode(fd), O_RDONLY); /* narrower than the handle: fine */
    CHECK_ERR(shm_open_handle(h, O_RDWR), EBADF);
    CHECK_ERR(shm_open_handle(h, O_RDONLY), EBADF);
    CHECK(mmap_handle(NULL, SIZE, PROT_READ, MAP_SHARED, h, 0) == MAP_FAILED);
    CHECK_EQ(errno, EBADF);
    CHECK_ERR(shm_delete_handle(h), ESRCH);
    /* mmap_handle uses a handle up too. */
    h = make(c.coid, O_RDWR, 0, 0, 1);
    void *m = mmap_handle(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h, 0);
    CHECK(m != MAP_FAILED);
    CHECK_ERR(shm_open_handle(h, O_RDONLY), EBADF);
    close(fd);
    stop_creator(&c);
}

/* A process the handles are made for: reads a handle from the pipe, redeems it read-write,
 * writes `seed` + 1 into the object, reports the first wrong byte (-1: all as the creator
 * wrote them) or -2 if it could not redeem. */
static int recipient(int rd, int wr, void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    shm_handle_t h = (shm_handle_t)h_get(rd, 10000);
    int fd = shm_open_handle(h, O_RDWR);
    unsigned char *m = fd >= 0 ? map(fd, PROT_READ | PROT_WRITE) : NULL;
    if (!m) {
        h_put(wr, -2);
        return 1;
    }
    h_put(wr, h_verify(m, SIZE, seed, 0));
    h_fill(m, SIZE, seed + 1);
    h_put(wr, 0);
    return 0;
}

/* Gives `h` to a `recipient` process and checks it redeems it, both ways. */
static void recipient_redeems(struct h_proc *v, shm_handle_t h, int coid, unsigned seed)
{
    h_put(v->wr, (long long)h);
    CHECK_EQ(h_get(v->rd, 10000), -1);
    CHECK_EQ(h_get(v->rd, 10000), 0);
    CHECK(creator_sees(coid, seed + 1));
    CHECK_CHILD_OK(v->pid, 5000);
    h_close_proc(v);
}

TEST(shm_handle_wrong_pid_refused)
{
    struct creator c = start_creator();
    struct h_proc v = h_spawn(recipient, (void *)(uintptr_t)7);
    shm_handle_t h = make(c.coid, O_RDWR, 0, v.pid, 7);
    /* Not for us: it does not exist as far as we can tell, and we cannot delete it. */
    CHECK_ERR(shm_open_handle(h, O_RDWR), EBADF);
    CHECK_ERR(shm_open_handle_pid(h, O_RDONLY, c.p.pid), EBADF);
    CHECK(mmap_handle(NULL, SIZE, PROT_READ, MAP_SHARED, h, 0) == MAP_FAILED);
    CHECK_EQ(errno, EBADF);
    CHECK_ERR(shm_delete_handle(h), ESRCH);
    /* The process it was made for still gets it. */
    recipient_redeems(&v, h, c.coid, 7);
    stop_creator(&c);
}

TEST(shm_handle_read_only_cannot_write)
{
    struct creator c = start_creator();
    shm_handle_t h = make(c.coid, O_RDONLY, 0, 0, 1);
    CHECK_ERR(shm_open_handle(h, O_RDWR), EACCES);   /* wider than the handle */
    CHECK_ERR(shm_open_handle(h, O_WRONLY), EACCES); /* not within it either */
    CHECK(mmap_handle(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h, 0) == MAP_FAILED);
    CHECK_EQ(errno, EACCES);
    int fd = (int)CHECK_OK(shm_open_handle(h, O_RDONLY)); /* the failures used nothing up */
    REQUIRE(fd >= 0);
    CHECK_EQ(accmode(fd), O_RDONLY);
    CHECK(map(fd, PROT_READ | PROT_WRITE) == NULL);
    CHECK_EQ(errno, EACCES);
    unsigned char *m = map(fd, PROT_READ);
    REQUIRE(m);
    CHECK_EQ(h_verify(m, SIZE, 1, 0), -1);
    CHECK_ERR(mprotect(m, SIZE, PROT_READ | PROT_WRITE), EACCES);
    CHECK_ERR(ftruncate(fd, 0), EINVAL);
    CHECK_ERR(shm_ctl(fd, SHMCTL_ANON, 0, 0), EACCES);
    /* A handle made from our read-only descriptor can't be wider either. */
    shm_handle_t h2;
    CHECK_ERR(shm_create_handle(fd, c.p.pid, O_RDWR, &h2, 0), EACCES);
    CHECK_EQ(shm_create_handle(fd, getpid(), O_RDONLY, &h2, 0), 0);
    CHECK_ERR(shm_open_handle(h2, O_RDWR), EACCES);
    /* A private mapping copies: writing to it leaves the object alone. */
    h = make(c.coid, O_RDONLY, 0, 0, 1);
    unsigned char *p =
        (unsigned char *)mmap_handle(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, h, 0);
    REQUIRE(p != MAP_FAILED);
    h_fill(p, SIZE, 9);
    CHECK(creator_sees(c.coid, 1));
    close(fd);
    stop_creator(&c);
}

TEST(shm_handle_delete)
{
    struct creator c = start_creator();
    /* By the creator. */
    shm_handle_t h = make(c.coid, O_RDWR, 0, 0, 1);
    struct sreq q = {DELETE, 0, 0, 0, 0, h};
    struct srep a = ask(c.coid, q);
    CHECK_EQ(a.status, 0);
    CHECK_ERR(shm_open_handle(h, O_RDWR), EBADF);
    a = ask(c.coid, q);
    CHECK_EQ(a.status, -1);
    CHECK_EQ(a.err, ESRCH);
    /* By the recipient. */
    h = make(c.coid, O_RDWR, 0, 0, 1);
    CHECK_EQ(shm_delete_handle(h), 0);
    CHECK_ERR(shm_open_handle(h, O_RDWR), EBADF);
    CHECK_ERR(shm_delete_handle(h), ESRCH);
    /* Handles nobody made, ours included. */
    CHECK_ERR(shm_delete_handle(0), ESRCH);
    CHECK_ERR(shm_delete_handle(h ^ 0x400000), ESRCH);
    CHECK_ERR(shm_delete_handle(((shm_handle_t)0x1234 << 22) | (shm_handle_t)getpid()), ESRCH);
    stop_creator(&c);
}

TEST(shm_handle_nofd_maps_only)
{
    struct creator c = start_creator();
    shm_handle_t h = make(c.coid, O_RDWR, SHM_CREATE_HANDLE_OPT_NOFD, 0, 4);
    CHECK_ERR(shm_open_handle(h, O_RDWR), EACCES);
    CHECK_ERR(shm_open_handle(h, O_RDONLY), EACCES);
    unsigned char *m = (unsigned char *)mmap_handle_pid(NULL, SIZE, PROT_READ | PROT_WRITE,
                                                        MAP_SHARED, h, c.p.pid, 0);
    REQUIRE(m != MAP_FAILED);
    CHECK_EQ(h_verify(m, SIZE, 4, 0), -1);
    h_fill(m, SIZE, 5);
    CHECK(creator_sees(c.coid, 5));
    stop_creator(&c);
}

TEST(shm_handle_pid_variants)
{
    struct creator c = start_creator();
    shm_handle_t h = make(c.coid, O_RDWR, 0, 0, 1);
    CHECK_ERR(shm_open_handle_pid(h, O_RDWR, getpid()), EBADF); /* not its creator */
    CHECK_ERR(shm_open_handle_pid(h, O_RDWR, 1), EBADF);
    CHECK(mmap_handle_pid(NULL, SIZE, PROT_READ, MAP_SHARED, h, getpid(), 0) == MAP_FAILED);
    CHECK_EQ(errno, EBADF);
    int fd = (int)CHECK_OK(shm_open_handle_pid(h, O_RDWR, c.p.pid));
    close(fd);
    h = make(c.coid, O_RDWR, 0, 0, 1);
    CHECK(mmap_handle_pid(NULL, SIZE, PROT_READ, MAP_SHARED, h, c.p.pid, 0) != MAP_FAILED);
    stop_creator(&c);
}

TEST(shm_handle_for_own_process)
{
    /* A handle may name its creator (S-CORE's QNX tests do that, with flags 0). */
    int fd = new_anon();
    shm_handle_t h;
    CHECK_EQ(shm_create_handle(fd, getpid(), 0, &h, 0), 0);
    int fd2 = (int)CHECK_OK(shm_open_handle(h, 0));
    CHECK_EQ(accmode(fd2), O_RDONLY);
    CHECK_ERR(shm_open_handle(h, 0), EBADF);
    CHECK_EQ(shm_create_handle(fd, getpid(), O_RDWR, &h, 0), 0);
    close(fd); /* the handle holds the object */
    unsigned char *m =
        (unsigned char *)mmap_handle(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h, 0);
    REQUIRE(m != MAP_FAILED);
    h_fill(m, SIZE, 3);
    unsigned char *m2 = map(fd2, PROT_READ);
    REQUIRE(m2);
    CHECK_EQ(h_verify(m2, SIZE, 3, 0), -1);
    close(fd2);
}

/* 1 if a descriptor of this process refers to an anonymous object. */
static int holds_anon_object(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            found |= strstr(target, "memfd:shm_anon") != NULL;
        }
    }
    if (d)
        closedir(d);
    return found;
}

TEST(shm_handle_not_inherited_by_fork)
{
    int fd = new_anon();
    shm_handle_t h;
    REQUIRE_OK(shm_create_handle(fd, getpid(), O_RDWR, &h, 0));
    close(fd);
    CHECK(holds_anon_object()); /* the pending handle's own descriptor */
    pid_t pid = h_fork();
    if (pid == 0) {
        /* QNX: the handle names the parent; the child has none, nor the object. */
        CHECK(!holds_anon_object());
        CHECK_ERR(shm_open_handle(h, O_RDWR), EBADF);
        CHECK_ERR(shm_delete_handle(h), ESRCH);
        h_child_exit(0);
    }
    CHECK_CHILD_OK(pid, 5000);
    CHECK_EQ(shm_delete_handle(h), 0);
    CHECK(!holds_anon_object());
}

static int wait_for_pipe(int rd, int wr, void *arg)
{
    (void)wr;
    (void)arg;
    long long v;
    h_try_get(rd, &v, 20000);
    return 0;
}

TEST(shm_handle_forgotten_when_recipient_dies)
{
    /* A recipient that dies without redeeming leaves nothing behind in the creator for
     * long: the table drops such handles as it grows. */
    struct h_proc v = h_spawn(wait_for_pipe, NULL);
    int fd = new_anon();
    shm_handle_t h, mine[64];
    REQUIRE_OK(shm_create_handle(fd, v.pid, O_RDWR, &h, 0));
    close(fd);
    h_kill(v.pid);
    h_close_proc(&v);
    char name[64];
    snprintf(name, sizeof name, "/neutrino-test-shm-%d", (int)getpid());
    int named = (int)REQUIRE_OK(shm_open(name, O_RDWR | O_CREAT, 0600));
    shm_unlink(name);
    CHECK(holds_anon_object());
    for (int i = 0; i < 64; i++)
        CHECK_EQ(shm_create_handle(named, getpid(), O_RDONLY, &mine[i], 0), 0);
    CHECK(!holds_anon_object());
    for (int i = 0; i < 64; i++)
        CHECK_EQ(shm_delete_handle(mine[i]), 0);
    close(named);
}

TEST(shm_handle_bad_arguments)
{
    int fd = new_anon();
    shm_handle_t h;
    pid_t me = getpid();
    /* shm_create_handle */
    CHECK_ERR(shm_create_handle(-1, me, O_RDWR, &h, 0), EBADF);
    CHECK_ERR(shm_create_handle(1000000, me, O_RDWR, &h, 0), EBADF);
    CHECK_ERR(shm_create_handle(fd, me, O_RDWR | O_CREAT, &h, 0), EINVAL);
    CHECK_ERR(shm_create_handle(fd, me, O_RDWR | O_CLOEXEC, &h, 0), EINVAL);
    CHECK_ERR(shm_create_handle(fd, me, O_ACCMODE, &h, 0), EINVAL);
    CHECK_ERR(shm_create_handle(fd, me, O_RDWR, &h, 0x4), EINVAL);
    CHECK_ERR(shm_create_handle(fd, me, O_RDWR, &h, SHM_CREATE_HANDLE_OPT_SUBRANGE), EINVAL);
    CHECK_ERR(shm_create_handle(fd, me, O_RDWR, NULL, 0), EFAULT);
    CHECK_ERR(shm_create_handle(fd, 0, O_RDWR, &h, 0), EINVAL);
    CHECK_ERR(shm_create_handle(fd, -5, O_RDWR, &h, 0), EINVAL);
    pid_t gone = h_fork();
    if (gone == 0)
        _exit(0);
    CHECK_EQ(h_wait(gone, 5000), 0);
    CHECK_ERR(shm_create_handle(fd, gone, O_RDWR, &h, 0), ESRCH);
    int pfd[2];
    REQUIRE_OK(pipe(pfd));
    CHECK_ERR(shm_create_handle(pfd[0], me, O_RDONLY, &h, 0), EINVAL);
    int path = open("/", O_PATH);
    CHECK_ERR(shm_create_handle(path, me, O_RDONLY, &h, 0), EBADF);
    close(path);
    close(pfd[0]);
    close(pfd[1]);
    CHECK_ERR(shm_create_subrange_handle(fd, me, O_RDWR, &h, SHM_CREATE_HANDLE_OPT_SUBRANGE,
                                         SIZE, 0),
              ENOSYS);
    CHECK_ERR(shm_revoke(fd, me), ENOSYS);
    /* shm_open_handle / mmap_handle */
    CHECK_EQ(shm_create_handle(fd, me, O_RDWR, &h, 0), 0);
    CHECK_ERR(shm_open_handle(h, O_RDWR | O_CREAT), EINVAL);
    CHECK_ERR(shm_open_handle(h, O_ACCMODE), EINVAL);
    CHECK(mmap_handle(NULL, 0, PROT_READ, MAP_SHARED, h, 0) == MAP_FAILED);
    CHECK_EQ(errno, EINVAL);
    int fd2 = (int)CHECK_OK(shm_open_handle(h, O_RDWR | O_CLOEXEC)); /* none of that used it */
    close(fd2);
    CHECK_ERR(shm_open_handle(0, O_RDWR), EBADF);
    CHECK_ERR(shm_open_handle(~(shm_handle_t)0, O_RDWR), EBADF);
    CHECK_ERR(shm_open_handle(h ^ ((shm_handle_t)1 << 40), O_RDWR), EBADF);
    /* Made by init, which does not answer. */
    CHECK_ERR(shm_open_handle(((shm_handle_t)0x5555 << 22) | 1, O_RDWR), EBADF);
    CHECK(mmap_handle(NULL, SIZE, PROT_READ, MAP_SHARED, 12345, 0) == MAP_FAILED);
    CHECK_EQ(errno, EBADF);
    close(fd);
}

TEST(shm_handle_creator_died)
{
    struct creator c = start_creator();
    shm_handle_t h = make(c.coid, O_RDWR, 0, 0, 1);
    shm_handle_t h2 = make(c.coid, O_RDWR, 0, 0, 1);
    int fd = (int)CHECK_OK(shm_open_handle(h2, O_RDWR));
    h_kill(c.p.pid);
    /* The handle died with its creator; the object opened before lives on. */
    CHECK_ERR(shm_open_handle(h, O_RDWR), EBADF);
    CHECK_ERR(shm_delete_handle(h), ESRCH);
    unsigned char *m = map(fd, PROT_READ | PROT_WRITE);
    REQUIRE(m);
    CHECK_EQ(h_verify(m, SIZE, 1, 0), -1);
    close(fd);
    ConnectDetach(c.coid);
    h_close_proc(&c.p);
}

/* ---------------------------------------------------------------------------------- */
/* Another user                                                                         */

/* A process of another user that has learnt a handle (read from the pipe) not made for it:
 * it tries to redeem it, map it, delete it and to guess others of the same creator.
 * Reports the number of attempts that did not fail as they should. */
static int intruder(int rd, int wr, void *arg)
{
    (void)arg;
    if (h_become(OTHER_UID) != 0) {
        h_put(wr, -1);
        return 1;
    }
    shm_handle_t h = (shm_handle_t)h_get(rd, 10000);
    pid_t creator = (pid_t)h_get(rd, 10000);
    int bad = 0;
    errno = 0;
    bad += !(shm_open_handle(h, O_RDONLY) == -1 && errno == EBADF);
    bad += !(shm_open_handle_pid(h, O_RDWR, creator) == -1 && errno == EBADF);
    bad += !(mmap_handle(NULL, SIZE, PROT_READ, MAP_SHARED, h, 0) == MAP_FAILED && errno == EBADF);
    bad += !(shm_delete_handle(h) == -1 && errno == ESRCH);
    /* Guessing: the creator's pid with other random bits, and neighbours of the handle. */
    for (int i = 0; i < 200; i++) {
        shm_handle_t g = ((shm_handle_t)rand() << 22) ^ ((shm_handle_t)rand() << 40);
        g = (g & ~(shm_handle_t)0x3fffff) | (shm_handle_t)creator;
        if (i < 42) /* each random bit of the real one flipped */
            g = h ^ ((shm_handle_t)1 << (i + 22));
        bad += !(shm_open_handle(g, O_RDONLY) == -1 && errno == EBADF);
    }
    h_put(wr, bad);
    return 0;
}

TEST(shm_handle_other_user_cannot_redeem)
{
    H_NEED_ROOT();
    struct creator c = start_creator();
    struct h_proc v = h_spawn(recipient, (void *)(uintptr_t)11);
    struct h_proc x = h_spawn(intruder, NULL);
    shm_handle_t h = make(c.coid, O_RDWR, 0, v.pid, 11);
    h_put(x.wr, (long long)h);
    h_put(x.wr, c.p.pid);
    CHECK_EQ(h_get(x.rd, 20000), 0);
    CHECK_CHILD_OK(x.pid, 5000);
    h_close_proc(&x);
    /* Nothing the intruder did used the handle up or deleted it. */
    recipient_redeems(&v, h, c.coid, 11);
    stop_creator(&c);
}

/* A process of another user that asks the creator (root) for a read-only handle and tries
 * every way to write through it; then for a read-write one, which it uses. */
static int other_user_recipient(int rd, int wr, void *arg)
{
    (void)arg;
    if (h_become(OTHER_UID) != 0)
        return 1;
    pid_t cpid = (pid_t)h_get(rd, 10000);
    int chid = (int)h_get(rd, 10000);
    int coid = (int)REQUIRE_OK(ConnectAttach(ND_LOCAL_NODE, cpid, chid, _NTO_SIDE_CHANNEL, 0));
    shm_handle_t h = make(coid, O_RDONLY, 0, 0, 1);
    CHECK_ERR(shm_open_handle(h, O_RDWR), EACCES);
    int fd = (int)REQUIRE_OK(shm_open_handle_pid(h, O_RDONLY, cpid));
    unsigned char *m = map(fd, PROT_READ);
    REQUIRE(m);
    CHECK_EQ(h_verify(m, SIZE, 1, 0), -1);
    CHECK(map(fd, PROT_READ | PROT_WRITE) == NULL);
    CHECK_ERR(mprotect(m, SIZE, PROT_READ | PROT_WRITE), EACCES);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    CHECK_ERR(open(path, O_RDWR), EACCES); /* reopening the object writable */
    CHECK_ERR(fchmod(fd, 0666), EPERM);
    CHECK_ERR(ftruncate(fd, 0), EINVAL);
    CHECK(creator_sees(coid, 1));
    /* Read-write handles cross users too. */
    h = make(coid, O_RDWR, 0, 0, 1);
    unsigned char *w =
        (unsigned char *)mmap_handle(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h, 0);
    REQUIRE(w != MAP_FAILED);
    h_fill(w, SIZE, 6);
    CHECK(creator_sees(coid, 6));
    h_put(wr, 0);
    return 0;
}

TEST(shm_handle_other_user_cannot_widen)
{
    H_NEED_ROOT();
    struct creator c = start_creator();
    struct h_proc r = h_spawn(other_user_recipient, NULL);
    h_put(r.wr, c.p.pid);
    h_put(r.wr, c.chid);
    CHECK_EQ(h_get(r.rd, 20000), 0);
    CHECK_CHILD_OK(r.pid, 5000);
    h_close_proc(&r);
    stop_creator(&c);
}

HARNESS_MAIN
