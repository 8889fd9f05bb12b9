/*
 * test_select.c - select_attach()/select_detach() in a dispatch loop, written the way QNX
 * servers use them: a pipe's read end attached with SELECT_FLAG_READ | SELECT_FLAG_REARM
 * calls its function each time data comes while messages to the handle keep flowing; a
 * descriptor ready before dispatch_block() returns at once; SELECT_FLAG_NOREARM fires once;
 * a rearmed descriptor with data left fires again; write readiness; select_detach(); the
 * errors; and dispatch_destroy() ending the library's select thread.
 */
#include "harness.h"
#include <dirent.h>
#include <sys/dispatch.h>

#define T_PING 0x6100

struct seen {
    int fd;
    int calls;
    unsigned flags;
    int drain; /* read everything (1) or one byte (0) */
    void *dpp;
};

static int on_ready(select_context_t *ctp, int fd, unsigned flags, void *handle)
{
    struct seen *s = handle;
    CHECK_EQ(fd, s->fd);
    CHECK(ctp != NULL && ctp->dpp == s->dpp);
    s->calls++;
    s->flags = flags;
    if (flags & SELECT_FLAG_READ) {
        char b[64];
        ssize_t n = read(fd, b, s->drain ? sizeof b : 1);
        CHECK(n >= 1);
    }
    return 0;
}

static int on_ping(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)code, (void)flags;
    (*(int *)handle)++;
    MsgReply(ctp->rcvid, EOK, NULL, 0);
    return 0;
}

/* One dispatch_block()/dispatch_handler() turn: 1 if something was handled, 0 on the
 * handle's timeout. */
static int turn(dispatch_context_t **ctp)
{
    dispatch_context_t *got = dispatch_block(*ctp);
    REQUIRE(got != NULL);
    *ctp = got;
    if (got->message_context.rcvid == -1)
        return 0;
    dispatch_handler(got);
    return 1;
}

static void set_timeout(dispatch_t *dpp, long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    REQUIRE_OK(dispatch_timeout(dpp, &t));
}

struct feeder {
    int wr, coid;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    for (int i = 0; i < 3; i++) {
        h_sleep_ms(30);
        CHECK_EQ(write(f->wr, "x", 1), 1);
        uint16_t ping = T_PING;
        CHECK_OK(MsgSend(f->coid, &ping, sizeof ping, NULL, 0));
    }
    return NULL;
}

TEST(a_readable_pipe_calls_its_function_each_time_while_messages_flow)
{
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    int pings = 0, p[2];
    REQUIRE_OK(pipe(p));
    struct seen s = {.fd = p[0], .drain = 1, .dpp = dpp};
    REQUIRE(message_attach(dpp, NULL, T_PING, T_PING, on_ping, &pings) != -1);
    REQUIRE_OK(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ | SELECT_FLAG_REARM, on_ready, &s));
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    REQUIRE(ctp != NULL);
    struct feeder f = {p[1], message_connect(dpp, MSG_FLAG_SIDE_CHANNEL)};
    REQUIRE(f.coid != -1);
    pthread_t t = h_thread(feed, &f);
    set_timeout(dpp, 3000);
    while ((s.calls < 3 || pings < 3) && turn(&ctp)) {
    }
    CHECK_EQ(s.calls, 3);
    CHECK_EQ(pings, 3);
    CHECK_EQ(s.flags, SELECT_FLAG_READ);
    JOIN(t, 5000);
    dispatch_context_free(ctp);
    CHECK_OK(dispatch_destroy(dpp));
    close(p[0]);
    close(p[1]);
}

TEST(a_descriptor_ready_already_returns_from_the_block_at_once)
{
    dispatch_t *dpp = dispatch_create();
    int p[2];
    REQUIRE_OK(pipe(p));
    struct seen s = {.fd = p[0], .drain = 1, .dpp = dpp};
    REQUIRE_OK(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ | SELECT_FLAG_REARM, on_ready, &s));
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    REQUIRE(ctp != NULL);
    CHECK_EQ(write(p[1], "ab", 2), 2);
    set_timeout(dpp, 5000);
    long long t0 = h_now_ms();
    CHECK_EQ(turn(&ctp), 1);
    CHECK(h_now_ms() - t0 < 2000);
    CHECK_EQ(ctp->message_context.rcvid, 0); /* the pulse the arming found */
    CHECK_EQ(s.calls, 1);
    /* Drained: the next turn waits for the timeout. */
    set_timeout(dpp, 100);
    CHECK_EQ(turn(&ctp), 0);
    CHECK_EQ(s.calls, 1);
    dispatch_context_free(ctp);
    dispatch_destroy(dpp);
    close(p[0]);
    close(p[1]);
}

TEST(data_left_fires_again_unless_norearm)
{
    for (int norearm = 0; norearm < 2; norearm++) {
        dispatch_t *dpp = dispatch_create();
        int p[2];
        REQUIRE_OK(pipe(p));
        struct seen s = {.fd = p[0], .drain = 0, .dpp = dpp};
        unsigned flags = SELECT_FLAG_READ | (norearm ? SELECT_FLAG_NOREARM : SELECT_FLAG_REARM);
        REQUIRE_OK(select_attach(dpp, NULL, p[0], flags, on_ready, &s));
        dispatch_context_t *ctp = dispatch_context_alloc(dpp);
        REQUIRE(ctp != NULL);
        CHECK_EQ(write(p[1], "abc", 3), 3); /* one byte read per call */
        set_timeout(dpp, 200);
        while (turn(&ctp) && s.calls < 5) {
        }
        CHECK_EQ(s.calls, norearm ? 1 : 3);
        dispatch_context_free(ctp);
        dispatch_destroy(dpp);
        close(p[0]);
        close(p[1]);
    }
}

/* Whether a thread of this process has `name`. */
static int has_thread(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) && !found) {
        char path[300], comm[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                found = strncmp(comm, name, strlen(name)) == 0;
            fclose(f);
        }
    }
    if (d)
        closedir(d);
    return found;
}

TEST(write_readiness_detach_and_destroy)
{
    dispatch_t *dpp = dispatch_create();
    int p[2];
    REQUIRE_OK(pipe(p));
    struct seen w = {.fd = p[1], .dpp = dpp}, r = {.fd = p[0], .drain = 1, .dpp = dpp};
    REQUIRE_OK(select_attach(dpp, NULL, p[1], SELECT_FLAG_WRITE | SELECT_FLAG_NOREARM, on_ready, &w));
    REQUIRE_OK(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ | SELECT_FLAG_REARM, on_ready, &r));
    CHECK(has_thread("neutrino-select"));
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    REQUIRE(ctp != NULL);
    set_timeout(dpp, 2000);
    CHECK_EQ(turn(&ctp), 1);
    CHECK_EQ(w.calls, 1);
    CHECK_EQ(w.flags, SELECT_FLAG_WRITE);
    /* Detached: data no longer calls anything. */
    CHECK_OK(select_detach(dpp, p[0]));
    CHECK_EQ(write(p[1], "z", 1), 1);
    set_timeout(dpp, 150);
    CHECK_EQ(turn(&ctp), 0);
    CHECK_EQ(r.calls, 0);
    dispatch_context_free(ctp);
    CHECK_OK(dispatch_destroy(dpp));
    long long end = h_now_ms() + 2000;
    while (has_thread("neutrino-select") && h_now_ms() < end)
        h_sleep_ms(5);
    CHECK(!has_thread("neutrino-select"));
    close(p[0]);
    close(p[1]);
}

TEST(select_errors)
{
    dispatch_t *dpp = dispatch_create();
    int p[2];
    REQUIRE_OK(pipe(p));
    struct seen s = {.fd = p[0], .dpp = dpp};
    CHECK_ERR(select_detach(dpp, p[0]), EINVAL); /* nothing attached yet */
    CHECK_ERR(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ, NULL, &s), EINVAL);
    CHECK_ERR(select_attach(dpp, NULL, -1, SELECT_FLAG_READ, on_ready, &s), EINVAL);
    CHECK_ERR(select_attach(dpp, NULL, p[0], SELECT_FLAG_REARM, on_ready, &s), EINVAL); /* no condition */
    CHECK_ERR(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ | SELECT_FLAG_SRVEXCEPT, on_ready, &s), ENOSYS);
    CHECK_OK(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ, on_ready, &s));
    CHECK_ERR(select_attach(dpp, NULL, p[0], SELECT_FLAG_WRITE, on_ready, &s), EBUSY);
    CHECK_ERR(select_detach(dpp, p[1]), EINVAL);
    CHECK_OK(select_detach(dpp, p[0]));
    CHECK_ERR(select_detach(dpp, p[0]), EINVAL);
    int not_a_handle;
    CHECK_ERR(select_attach(&not_a_handle, NULL, p[0], SELECT_FLAG_READ, on_ready, &s), EINVAL);
    dispatch_destroy(dpp);
    close(p[0]);
    close(p[1]);
}

HARNESS_MAIN
