/*
 * test_dispatch.c - QNX's dispatch layer (<sys/dispatch.h>) without a path: a name_attach
 * server in a real process running dispatch_block()/dispatch_handler() with
 * message_attach() and pulse_attach() handlers, its clients (messages in and out of the
 * ranges, ENOSYS for unhandled ones, pulses handled and dropped), the resmgr_msg*()
 * covers, a thread-pool server under concurrent clients with its thread count bounded by
 * the attributes, dispatch_unblock(), dispatch_timeout(), message_connect(), and the
 * attachment rules (allocated pulse codes, detach, context geometry).
 */
#include "harness.h"
#define THREAD_POOL_PARAM_T dispatch_context_t /* the QNX idiom for a dispatch-level pool */
#include <sys/dispatch.h>

#define T_BASE 0x5000 /* the server's message range: T_BASE..T_LAST */
#define T_LAST 0x50ff
enum { OP_ECHO = T_BASE, OP_XFER, OP_XFERV, OP_BIG, OP_STATS, OP_QUIT };
#define BIG 20000 /* more than a context's receive buffer */

struct req {
    uint16_t type;
    uint16_t subtype;
    int32_t value;
};

static char name_buf[128];
static const char *server_name(const char *tag)
{
    snprintf(name_buf, sizeof name_buf, "neutrino-test/%d/dispatch-%s", (int)getpid(), tag);
    return name_buf;
}

/* ---------------------------------------------------------------------------------- */
/* A single-threaded dispatch server                                                   */

struct srv {
    int wr;       /* events to the test */
    int quit;
    int pulse_code;
};

/* Server events: a pulse handler writes EV_PULSE + value; an unhandled pulse, EV_DROPPED
 * + code (dispatch_handler returned -1 for it). */
#define EV_PULSE 1000
#define EV_DROPPED 2000

static int on_msg(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    struct srv *s = handle;
    const struct req *r = (const struct req *)ctp->msg;
    CHECK_EQ(flags, 0);
    CHECK_EQ(code, r->type);
    switch (code) {
    case OP_ECHO: {
        int32_t v = r->value * 2;
        MsgReply(ctp->rcvid, EOK, &v, sizeof v);
        break;
    }
    case OP_XFER: { /* a header and 64 bytes of payload: resmgr_msgget/read/write/reply */
        char got[64], far[16];
        CHECK_EQ(resmgr_msgget(ctp, got, sizeof got, sizeof *r), 64);
        CHECK_EQ(resmgr_msgread(ctp, far, sizeof far, sizeof *r + 48), 16);
        CHECK_MEM(far, got + 48, 16);
        int64_t sum = 0;
        for (int i = 0; i < 64; i++)
            sum += (unsigned char)got[i];
        CHECK_EQ(resmgr_msgwrite(ctp, "tail", 4, 8), 4);
        ctp->status = 7;
        resmgr_msgreply(ctp, &sum, sizeof sum);
        break;
    }
    case OP_XFERV: { /* the same through the iov forms */
        char a[8], b[8];
        iov_t riov[2], wiov[1];
        SETIOV(&riov[0], a, sizeof a);
        SETIOV(&riov[1], b, sizeof b);
        CHECK_EQ(resmgr_msgreadv(ctp, riov, 2, sizeof *r), 16);
        SETIOV(&wiov[0], "TAIL", 4);
        CHECK_EQ(resmgr_msgwritev(ctp, wiov, 1, 8), 4);
        iov_t rep[2];
        SETIOV(&rep[0], b, 4);
        SETIOV(&rep[1], a, 4);
        ctp->status = 9;
        resmgr_msgreplyv(ctp, rep, 2);
        break;
    }
    case OP_BIG: { /* resmgr_msgget across the end of the receive buffer */
        CHECK(ctp->msg_max_size < BIG);
        unsigned char *got = malloc(BIG + 100);
        REQUIRE(got != NULL);
        CHECK_EQ(resmgr_msgget(ctp, got, BIG + 100, sizeof *r), BIG); /* not past the end */
        CHECK_EQ(h_verify(got, BIG, 77, 0), -1);
        CHECK_EQ(resmgr_msgget(ctp, got, 10, sizeof *r + BIG - 4), 4);
        CHECK_EQ(h_verify(got, 4, 77, BIG - 4), -1);
        free(got);
        MsgReply(ctp->rcvid, EOK, NULL, 0);
        break;
    }
    case OP_QUIT:
        s->quit = 1;
        MsgReply(ctp->rcvid, EOK, NULL, 0);
        break;
    default:
        MsgError(ctp->rcvid, EINVAL);
        break;
    }
    return 0;
}

static int on_pulse(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    struct srv *s = handle;
    CHECK_EQ(ctp->rcvid, 0);
    CHECK_EQ(code, s->pulse_code);
    CHECK_EQ(flags, 0);
    h_put(s->wr, EV_PULSE + ctp->msg->pulse.value.sival_int);
    return 0;
}

static int on_disconnect(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)code, (void)flags, (void)handle;
    ConnectDetach(ctp->msg->pulse.scoid); /* as QNX servers do: the library does not */
    return 0;
}

static int dispatch_server(int rd, int wr, void *arg)
{
    (void)rd;
    struct srv s = {wr, 0, 0};
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    name_attach_t *att = name_attach(dpp, (const char *)arg, 0);
    REQUIRE(att != NULL);
    REQUIRE_EQ(message_attach(dpp, NULL, T_BASE, T_LAST, on_msg, &s), 0);
    s.pulse_code = pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, on_pulse, &s);
    REQUIRE(s.pulse_code >= _PULSE_CODE_MINAVAIL && s.pulse_code <= _PULSE_CODE_MAXAVAIL);
    REQUIRE_EQ(pulse_attach(dpp, 0, _PULSE_CODE_DISCONNECT, on_disconnect, NULL), _PULSE_CODE_DISCONNECT);
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    REQUIRE(ctp != NULL);
    h_put(wr, s.pulse_code);
    while (!s.quit) {
        dispatch_context_t *got = dispatch_block(ctp);
        REQUIRE(got == ctp);
        int rc = dispatch_handler(ctp);
        if (ctp->message_context.rcvid == 0 && rc == -1)
            h_put(wr, EV_DROPPED + ctp->message_context.msg->pulse.code);
    }
    dispatch_context_free(ctp);
    CHECK_EQ(name_detach(att, 0), 0);
    return 0;
}

static int echo(int coid, uint16_t type, int32_t value, int32_t *out)
{
    struct req r = {type, 0, value};
    return MsgSend(coid, &r, sizeof r, out, sizeof *out);
}

TEST(server_routes_messages_and_pulses)
{
    const char *name = server_name("routes");
    struct h_proc s = h_spawn(dispatch_server, (void *)name);
    int code = (int)h_get(s.rd, 5000);
    int coid = (int)REQUIRE_OK(name_open(name, 0));
    int32_t out = 0;

    /* In the range: the handler answers. */
    CHECK_EQ(echo(coid, OP_ECHO, 21, &out), 0);
    CHECK_EQ(out, 42);
    /* Outside it, below and above, and a type nobody attached: ENOSYS, as QNX's. */
    CHECK_ERR(echo(coid, T_BASE - 1, 1, &out), ENOSYS);
    CHECK_ERR(echo(coid, T_LAST + 1, 1, &out), ENOSYS);
    CHECK_ERR(echo(coid, _IO_CONNECT, 1, &out), ENOSYS);
    /* A message too short to have a type: EINVAL. */
    CHECK_ERR(MsgSend(coid, "x", 1, NULL, 0), EINVAL);

    /* The handler reads the payload from the receive buffer and from the client, writes
     * into the reply buffer and replies with ctp->status. */
    struct {
        struct req r;
        unsigned char data[64];
    } x = {{OP_XFER, 0, 0}, {0}};
    int64_t want = 0;
    for (int i = 0; i < 64; i++)
        want += x.data[i] = (unsigned char)(i * 7 + 1);
    struct {
        int64_t sum;
        char tail[4];
    } rep;
    memset(&rep, 0, sizeof rep);
    CHECK_EQ(MsgSend(coid, &x, sizeof x, &rep, sizeof rep), 7);
    CHECK_EQ(rep.sum, want);
    CHECK_MEM(rep.tail, "tail", 4);
    /* The iov forms. */
    struct {
        struct req r;
        char a[8], b[8];
    } v = {{OP_XFERV, 0, 0}, "abcdefg", "ABCDEFG"};
    char vrep[12] = {0};
    CHECK_EQ(MsgSend(coid, &v, sizeof v, vrep, sizeof vrep), 9);
    CHECK_MEM(vrep, "ABCDabcdTAIL", 12);
    /* More than the receive buffer holds: resmgr_msgget() reads the rest. */
    char *big = malloc(sizeof(struct req) + BIG);
    REQUIRE(big != NULL);
    struct req br = {OP_BIG, 0, 0};
    memcpy(big, &br, sizeof br);
    h_fill(big + sizeof br, BIG, 77);
    CHECK_EQ(MsgSend(coid, big, sizeof br + BIG, NULL, 0), 0);
    free(big);

    /* Pulses: the attached code reaches its handler; another is dropped (-1). */
    CHECK_OK(MsgSendPulse(coid, -1, code, 5));
    CHECK_EQ(h_get(s.rd, 5000), EV_PULSE + 5);
    int other = code == _PULSE_CODE_MAXAVAIL ? code - 1 : code + 1;
    CHECK_OK(MsgSendPulse(coid, -1, other, 6));
    CHECK_EQ(h_get(s.rd, 5000), EV_DROPPED + other);
    /* And the server is still there. */
    CHECK_EQ(echo(coid, OP_ECHO, 4, &out), 0);
    CHECK_EQ(out, 8);

    CHECK_EQ(echo(coid, OP_QUIT, 0, &out), 0);
    name_close(coid);
    CHECK_CHILD_OK(s.pid, 5000);
    h_close_proc(&s);
}

/* ---------------------------------------------------------------------------------- */
/* In one process                                                                       */

static int count_pulse(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)ctp, (void)code, (void)flags;
    ++*(int *)handle;
    return 0;
}

static int reply_type(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)flags, (void)handle;
    MsgReply(ctp->rcvid, code, NULL, 0);
    return 0;
}

static void *block_once(void *arg)
{
    dispatch_context_t *ctp = arg;
    return dispatch_block(ctp);
}

TEST(unblock_ends_a_blocked_dispatch_block)
{
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    int n = 0;
    REQUIRE_EQ(pulse_attach(dpp, 0, 3, count_pulse, &n), 3);
    dispatch_context_t *ctp = dispatch_context_alloc(dpp), *other = dispatch_context_alloc(dpp);
    REQUIRE(ctp && other);
    pthread_t t = h_thread(block_once, ctp);
    h_sleep_ms(100);
    CHECK_EQ(h_join(t, 0, NULL), ETIMEDOUT); /* still blocked */
    dispatch_unblock(other);
    void *ret = NULL;
    REQUIRE_EQ(h_join(t, 3000, &ret), 0);
    CHECK(ret == ctp);
    /* It woke with an unblock pulse of value 0, which nobody attached: dropped. */
    CHECK_EQ(ctp->message_context.rcvid, 0);
    CHECK_EQ(ctp->message_context.msg->pulse.code, _PULSE_CODE_UNBLOCK);
    CHECK_EQ(ctp->message_context.msg->pulse.value.sival_int, 0);
    CHECK_EQ(dispatch_handler(ctp), -1);
    CHECK_EQ(n, 0);
    dispatch_context_free(ctp);
    dispatch_context_free(other);
    CHECK_EQ(dispatch_destroy(dpp), 0);
}

TEST(timeout_returns_the_context_with_rcvid_minus_one)
{
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    int n = 0;
    REQUIRE_EQ(pulse_attach(dpp, 0, 3, count_pulse, &n), 3);
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    REQUIRE(ctp != NULL);
    struct timespec t = {0, 100 * 1000 * 1000};
    CHECK_EQ(dispatch_timeout(dpp, &t), 0);
    for (int i = 0; i < 2; i++) { /* every dispatch_block(), not just the next */
        long long t0 = h_now_ms();
        errno = 0;
        CHECK(dispatch_block(ctp) == ctp);
        CHECK_EQ(errno, ETIMEDOUT);
        long long took = h_now_ms() - t0;
        CHECK(took >= 90 && took < 2000);
        CHECK_EQ(ctp->message_context.rcvid, -1);
        CHECK_EQ(dispatch_handler(ctp), -1);
    }
    /* Cancelled: a pulse sent beforehand is received, and handled. */
    CHECK_EQ(dispatch_timeout(dpp, NULL), 0);
    int coid = (int)REQUIRE_OK(message_connect(dpp, MSG_FLAG_SIDE_CHANNEL));
    CHECK_OK(MsgSendPulse(coid, -1, 3, 0));
    CHECK(dispatch_block(ctp) == ctp);
    CHECK_EQ(dispatch_handler(ctp), 0);
    CHECK_EQ(n, 1);
    ConnectDetach(coid);
    dispatch_context_free(ctp);
    dispatch_destroy(dpp);
}

static void *send_type(void *arg)
{
    int coid = (int)(intptr_t)arg;
    uint16_t type = 0x7001;
    return (void *)(intptr_t)MsgSend(coid, &type, sizeof type, NULL, 0);
}

TEST(message_connect_reaches_the_handle)
{
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    CHECK_ERR(message_connect(dpp, 0), EINVAL); /* no channel yet */
    int n = 0;
    REQUIRE_EQ(message_attach(dpp, NULL, 0x7000, 0x70ff, reply_type, NULL), 0);
    int code = pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, count_pulse, &n);
    REQUIRE(code >= 0);
    int side = (int)REQUIRE_OK(message_connect(dpp, MSG_FLAG_SIDE_CHANNEL));
    int plain = (int)REQUIRE_OK(message_connect(dpp, 0));
    CHECK(side & _NTO_SIDE_CHANNEL);
    CHECK(!(plain & _NTO_SIDE_CHANNEL));
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    REQUIRE(ctp != NULL);
    CHECK_OK(MsgSendPulse(plain, -1, code, 1));
    CHECK(dispatch_block(ctp) == ctp);
    CHECK_EQ(dispatch_handler(ctp), 0);
    CHECK_EQ(n, 1);
    pthread_t t = h_thread(send_type, (void *)(intptr_t)side);
    CHECK(dispatch_block(ctp) == ctp);
    CHECK_EQ(ctp->message_context.msg->type, 0x7001);
    CHECK_EQ(dispatch_handler(ctp), 0);
    void *ret;
    REQUIRE_EQ(h_join(t, 3000, &ret), 0);
    CHECK_EQ((int)(intptr_t)ret, 0x7001); /* the handler replied with the type as status */
    ConnectDetach(side);
    ConnectDetach(plain);
    dispatch_context_free(ctp);
    dispatch_destroy(dpp);
}

TEST(attach_rules)
{
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    int n = 0;
    /* Nothing attached and no channel: no context (as QNX). */
    errno = 0;
    CHECK(dispatch_context_alloc(dpp) == NULL && errno == EINVAL);
    CHECK_ERR(message_attach(dpp, NULL, 1, 2, NULL, NULL), EINVAL);
    /* The first attach sets the context geometry. */
    message_attr_t attr;
    memset(&attr, 0, sizeof attr);
    attr.nparts_max = 4;
    attr.msg_max_size = 8192;
    CHECK_EQ(message_attach(dpp, &attr, 0x6000, 0x6010, reply_type, NULL), 0);
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    REQUIRE(ctp != NULL);
    CHECK(ctp->message_context.dpp == dpp);
    CHECK_EQ(ctp->message_context.msg_max_size, 8192);
    CHECK(ctp->message_context.extra != NULL && ctp->message_context.extra->length > 0);
    memset(ctp->message_context.msg, 0xa5, 8192); /* all of it is ours (ASan checks) */
    dispatch_context_free(ctp);
    dispatch_context_free(NULL);

    /* Allocated pulse codes: the lowest free one, skipping attached ones; EAGAIN when
     * all are taken; a detached one is free again. */
    CHECK_EQ(pulse_attach(dpp, 0, _PULSE_CODE_MINAVAIL + 1, count_pulse, &n), _PULSE_CODE_MINAVAIL + 1);
    CHECK_EQ(pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, count_pulse, &n), _PULSE_CODE_MINAVAIL);
    CHECK_EQ(pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, count_pulse, &n), _PULSE_CODE_MINAVAIL + 2);
    for (int c = _PULSE_CODE_MINAVAIL + 3; c <= _PULSE_CODE_MAXAVAIL; c++)
        CHECK_EQ(pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, count_pulse, &n), c);
    CHECK_ERR(pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, count_pulse, &n), EAGAIN);
    CHECK_EQ(pulse_detach(dpp, 40, 0), 0);
    CHECK_EQ(pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, count_pulse, &n), 40);
    /* Kernel pulse codes attach as themselves; codes outside 8 bits do not. */
    CHECK_EQ(pulse_attach(dpp, 0, _PULSE_CODE_UNBLOCK, count_pulse, &n), _PULSE_CODE_UNBLOCK);
    CHECK_ERR(pulse_attach(dpp, 0, 300, count_pulse, &n), EINVAL);
    /* Detach matches exactly, pulses apart from messages. */
    CHECK_ERR(message_detach(dpp, 0x6000, 0x6011, 0), EINVAL);
    CHECK_ERR(message_detach(dpp, 0x6000, 0x6010, MSG_FLAG_TYPE_PULSE), EINVAL);
    CHECK_EQ(message_detach(dpp, 0x6000, 0x6010, 0), 0);
    CHECK_ERR(message_detach(dpp, 0x6000, 0x6010, 0), EINVAL);
    CHECK_ERR(pulse_detach(dpp, 300, 0), EINVAL);

    /* Handles the name service does not know. */
    dispatch_t *bogus = (dispatch_t *)&n;
    CHECK_ERR(message_attach(bogus, NULL, 1, 2, reply_type, NULL), EINVAL);
    CHECK_ERR(pulse_attach(bogus, MSG_FLAG_ALLOC_PULSE, 0, count_pulse, &n), EINVAL);
    CHECK_ERR(message_detach(bogus, 1, 2, 0), EINVAL);
    CHECK_ERR(message_connect(bogus, 0), EINVAL);
    CHECK_ERR(dispatch_timeout(bogus, NULL), EINVAL);
    errno = 0;
    CHECK(dispatch_context_alloc(bogus) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(dispatch_block(NULL) == NULL && errno == EINVAL);
    CHECK_EQ(dispatch_handler(NULL), -1);
    errno = 0;
    CHECK(thread_pool_create(NULL, 0) == NULL && errno == EINVAL);
    CHECK_ERR(thread_pool_start(NULL), EINVAL);
    CHECK_ERR(thread_pool_destroy(NULL), EINVAL);
    CHECK_EQ(dispatch_destroy(dpp), 0);
}

TEST(destroy_forgets_the_handlers)
{
    for (int i = 0; i < 4; i++) { /* a new handle (maybe at the old address) starts bare */
        dispatch_t *dpp = dispatch_create();
        REQUIRE(dpp != NULL);
        errno = 0;
        CHECK(dispatch_context_alloc(dpp) == NULL && errno == EINVAL);
        CHECK_EQ(message_attach(dpp, NULL, 1, 2, reply_type, NULL), 0);
        CHECK_ERR(message_detach(dpp, 3, 4, 0), EINVAL);
        CHECK_EQ(dispatch_destroy(dpp), 0);
    }
    /* name_detach destroys the handle too. */
    name_attach_t *att = name_attach(NULL, server_name("forget"), 0);
    REQUIRE(att != NULL);
    dispatch_t *dpp = att->dpp;
    CHECK_EQ(message_attach(dpp, NULL, 1, 2, reply_type, NULL), 0);
    CHECK_EQ(name_detach(att, 0), 0);
    CHECK_ERR(message_detach(dpp, 1, 2, 0), EINVAL);
}

/* ---------------------------------------------------------------------------------- */
/* Thread pools                                                                        */

#define LO 2
#define HI 3
#define MAX 5
#define INC 1

static atomic_int live_contexts, busy, most_busy;

static dispatch_context_t *counted_alloc(dispatch_t *dpp)
{
    dispatch_context_t *c = dispatch_context_alloc(dpp);
    if (c)
        atomic_fetch_add(&live_contexts, 1);
    return c;
}

static void counted_free(dispatch_context_t *c)
{
    atomic_fetch_sub(&live_contexts, 1);
    dispatch_context_free(c);
}

static int slow_handler(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)flags, (void)handle;
    if (code == OP_STATS) {
        int32_t st[2] = {atomic_load(&most_busy), atomic_load(&live_contexts)};
        MsgReply(ctp->rcvid, EOK, st, sizeof st);
        return 0;
    }
    int now = atomic_fetch_add(&busy, 1) + 1, was = atomic_load(&most_busy);
    while (now > was && !atomic_compare_exchange_weak(&most_busy, &was, now))
        ;
    h_sleep_ms(150);
    atomic_fetch_sub(&busy, 1);
    MsgReply(ctp->rcvid, EOK, NULL, 0);
    return 0;
}

static void pool_attr_init(thread_pool_attr_t *a, dispatch_t *dpp)
{
    memset(a, 0, sizeof *a);
    a->handle = dpp;
    a->context_alloc = counted_alloc;
    a->block_func = dispatch_block;
    a->unblock_func = dispatch_unblock;
    a->handler_func = dispatch_handler;
    a->context_free = counted_free;
    a->lo_water = LO;
    a->hi_water = HI;
    a->increment = INC;
    a->maximum = MAX;
}

/* A thread-pool server: waits for a word on rd, destroys the pool, reports the live
 * contexts left (0 expected). */
static int pool_server(int rd, int wr, void *arg)
{
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    name_attach_t *att = name_attach(dpp, (const char *)arg, 0);
    REQUIRE(att != NULL);
    REQUIRE_EQ(message_attach(dpp, NULL, T_BASE, T_LAST, slow_handler, NULL), 0);
    thread_pool_attr_t a;
    pool_attr_init(&a, dpp);
    thread_pool_t *tp = thread_pool_create(&a, 0);
    REQUIRE(tp != NULL);
    REQUIRE_EQ(thread_pool_start(tp), 0); /* no flags: it returns */
    h_put(wr, 1);
    (void)h_get(rd, 30000);
    CHECK_EQ(thread_pool_destroy(tp), 0);
    h_put(wr, atomic_load(&live_contexts));
    CHECK_EQ(name_detach(att, 0), 0);
    return 0;
}

struct client {
    const char *name;
    int rc;
};

static void *pool_client(void *arg)
{
    struct client *c = arg;
    int coid = name_open(c->name, 0);
    struct req r = {OP_ECHO, 0, 0};
    c->rc = coid == -1 ? -1 : 0;
    for (int i = 0; i < 3 && c->rc == 0; i++)
        c->rc = MsgSend(coid, &r, sizeof r, NULL, 0);
    if (coid != -1)
        name_close(coid);
    return NULL;
}

static void pool_stats(const char *name, int32_t st[2])
{
    int coid = (int)REQUIRE_OK(name_open(name, 0));
    struct req r = {OP_STATS, 0, 0};
    CHECK_EQ(MsgSend(coid, &r, sizeof r, st, 2 * sizeof st[0]), 0);
    name_close(coid);
}

TEST(thread_pool_grows_to_maximum_and_shrinks_to_hi_water)
{
    const char *name = server_name("pool");
    struct h_proc s = h_spawn(pool_server, (void *)name);
    CHECK_EQ(h_get(s.rd, 5000), 1);
    int32_t st[2];
    h_sleep_ms(100);
    pool_stats(name, st);
    /* Started: lo_water threads wait (one more while the stats handler runs). */
    CHECK(st[1] >= LO && st[1] <= LO + INC);

    enum { N = 8 };
    struct client c[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        c[i] = (struct client){name, -2};
        t[i] = h_thread(pool_client, &c[i]);
    }
    for (int i = 0; i < N; i++) {
        JOIN(t[i], 20000);
        CHECK_EQ(c[i].rc, 0);
    }
    pool_stats(name, st);
    /* Eight clients at once: the pool grew to its maximum and no further. */
    CHECK_EQ(st[0], MAX);
    /* Idle again: the threads beyond hi_water have gone. */
    CHECK(st[1] >= LO && st[1] <= HI + 1);

    h_put(s.wr, 1);
    CHECK_EQ(h_get(s.rd, 10000), 0); /* every context freed by thread_pool_destroy */
    CHECK_CHILD_OK(s.pid, 5000);
    h_close_proc(&s);
}

/* POOL_FLAG_USE_SELF: the caller joins the pool and thread_pool_start() never returns. */
static int quit_handler(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)flags;
    MsgReply(ctp->rcvid, EOK, NULL, 0);
    if (code == OP_QUIT) {
        name_detach(handle, 0);
        h_child_exit(0);
    }
    return 0;
}

static int use_self_server(int rd, int wr, void *arg)
{
    (void)rd;
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    name_attach_t *att = name_attach(dpp, (const char *)arg, 0);
    REQUIRE(att != NULL);
    REQUIRE_EQ(message_attach(dpp, NULL, T_BASE, T_LAST, quit_handler, att), 0);
    thread_pool_attr_t a;
    pool_attr_init(&a, dpp);
    thread_pool_t *tp = thread_pool_create(&a, POOL_FLAG_USE_SELF);
    REQUIRE(tp != NULL);
    h_put(wr, 1);
    thread_pool_start(tp);
    FAIL("thread_pool_start() returned with POOL_FLAG_USE_SELF");
    return 1;
}

TEST(thread_pool_use_self)
{
    const char *name = server_name("self");
    struct h_proc s = h_spawn(use_self_server, (void *)name);
    CHECK_EQ(h_get(s.rd, 5000), 1);
    int coid = (int)REQUIRE_OK(name_open(name, 0));
    struct req r = {OP_ECHO, 0, 0};
    CHECK_EQ(MsgSend(coid, &r, sizeof r, NULL, 0), 0);
    r.type = OP_QUIT;
    CHECK_EQ(MsgSend(coid, &r, sizeof r, NULL, 0), 0);
    name_close(coid);
    CHECK_CHILD_OK(s.pid, 5000);
    h_close_proc(&s);
}

/* POOL_FLAG_EXIT_SELF: the caller's thread ends (pthread_exit()), and with it the pid's
 * own memory for process_vm_readv(): a handler's MsgRead() of a message from its own
 * process (a self-connection, or the path bridge's) must still work. */
static int reread_handler(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    (void)code, (void)flags, (void)handle;
    int32_t v = 0;
    if (MsgRead(ctp->rcvid, &v, sizeof v, offsetof(struct req, value)) != (ssize_t)sizeof v)
        MsgError(ctp->rcvid, errno);
    else
        MsgReply(ctp->rcvid, EOK, &v, sizeof v);
    return 0;
}

struct exit_self {
    dispatch_t *dpp;
    int wr;
};

static void *exit_self_client(void *arg)
{
    struct exit_self *e = arg;
    char path[64], stat[256] = "";
    /* Until the main thread is a zombie ("Z"), or 2 s. */
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
        if (f)
            fclose(f);
        stat[n] = '\0';
        const char *end = strrchr(stat, ')');
        if (!f || (end && end[1] == ' ' && end[2] == 'Z'))
            break;
        h_sleep_ms(10);
    }
    int coid = message_connect(e->dpp, MSG_FLAG_SIDE_CHANNEL);
    struct req r = {OP_ECHO, 0, 77};
    int32_t v = 0;
    h_put(e->wr, MsgSend(coid, &r, sizeof r, &v, sizeof v) == 0 ? v : -errno);
    h_child_exit(0);
}

#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer's own teardown of a main thread that pthread_exit()s (as
 * POOL_FLAG_EXIT_SELF makes it) reports its sigaltstack call as a stack-buffer-underflow:
 * give it no alternate stack to take down. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "use_sigaltstack=0";
}
#endif

static int exit_self_server(int rd, int wr, void *arg)
{
    (void)rd, (void)arg;
    static struct exit_self e;
    dispatch_t *dpp = dispatch_create();
    REQUIRE(dpp != NULL);
    REQUIRE_EQ(message_attach(dpp, NULL, OP_ECHO, OP_ECHO, reread_handler, NULL), 0);
    thread_pool_attr_t a;
    pool_attr_init(&a, dpp);
    thread_pool_t *tp = thread_pool_create(&a, POOL_FLAG_EXIT_SELF);
    REQUIRE(tp != NULL);
    e = (struct exit_self){dpp, wr};
    h_thread(exit_self_client, &e);
    thread_pool_start(tp);
    FAIL("thread_pool_start() returned with POOL_FLAG_EXIT_SELF");
    return 1;
}

TEST(thread_pool_exit_self_reads_own_messages)
{
    struct h_proc s = h_spawn(exit_self_server, NULL);
    CHECK_EQ(h_get(s.rd, 5000), 77); /* -ESRCH when the process's memory was not found */
    CHECK_CHILD_OK(s.pid, 5000);
    h_close_proc(&s);
}

HARNESS_MAIN
