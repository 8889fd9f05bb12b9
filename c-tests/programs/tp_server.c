/*
 * tp_server.c - usage: tp_server [name]
 *
 * A thread-pool name server in the style of QNX's documentation: name_attach() on a
 * dispatch handle, message_attach() for its message types, pulse_attach() for the
 * disconnect pulse, and a thread pool of dispatch contexts (lo_water 2, hi_water 4,
 * maximum 6) started with POOL_FLAG_EXIT_SELF.  MSG_WORK takes 200 ms, so concurrent
 * clients are served by several threads; MSG_QUIT replies how many ran at once, then
 * the server exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <pthread.h>

#define THREAD_POOL_PARAM_T dispatch_context_t
#include <sys/dispatch.h>

#include "msg_def.h"

#define ATTACH_POINT "tp_server"

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static int busy, most_busy;

static int message_handler(message_context_t *ctp, int type, unsigned flags, void *handle)
{
    recv_buf_t *msg = (recv_buf_t *)ctp->msg;
    int result;

    switch (type) {
    case MSG_ADD:
        result = msg->add.a + msg->add.b;
        MsgReply(ctp->rcvid, EOK, &result, sizeof(result));
        break;
    case MSG_WORK:
        pthread_mutex_lock(&mutex);
        if (++busy > most_busy)
            most_busy = busy;
        pthread_mutex_unlock(&mutex);
        delay(200);
        pthread_mutex_lock(&mutex);
        busy--;
        pthread_mutex_unlock(&mutex);
        MsgReply(ctp->rcvid, EOK, NULL, 0);
        break;
    case MSG_QUIT:
        pthread_mutex_lock(&mutex);
        result = most_busy;
        pthread_mutex_unlock(&mutex);
        printf("Server: at most %d requests at once\n", result);
        MsgReply(ctp->rcvid, EOK, &result, sizeof(result));
        printf("Server quitting\n");
        exit(EXIT_SUCCESS);
    default:
        MsgError(ctp->rcvid, ENOSYS);
        break;
    }
    return 0;
}

static int disconnect_handler(message_context_t *ctp, int code, unsigned flags, void *handle)
{
    ConnectDetach(ctp->msg->pulse.scoid);
    return 0;
}

int main(int argc, char *argv[])
{
    const char *name = argc > 1 ? argv[1] : ATTACH_POINT;
    dispatch_t *dpp;
    name_attach_t *attach;
    thread_pool_attr_t pool_attr;
    thread_pool_t *tpp;

    if ((dpp = dispatch_create()) == NULL) {
        perror("dispatch_create");
        return EXIT_FAILURE;
    }
    if ((attach = name_attach(dpp, name, 0)) == NULL) {
        perror("name_attach");
        return EXIT_FAILURE;
    }
    if (message_attach(dpp, NULL, MSG_ADD, MSG_WORK, message_handler, NULL) == -1) {
        perror("message_attach");
        return EXIT_FAILURE;
    }
    if (pulse_attach(dpp, 0, _PULSE_CODE_DISCONNECT, disconnect_handler, NULL) == -1) {
        perror("pulse_attach");
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
    pool_attr.maximum = 6;

    if ((tpp = thread_pool_create(&pool_attr, POOL_FLAG_EXIT_SELF)) == NULL) {
        perror("thread_pool_create");
        return EXIT_FAILURE;
    }
    printf("Server: %s ready, pool lo_water 2 hi_water 4 maximum 6\n", name);
    thread_pool_start(tpp); /* with POOL_FLAG_EXIT_SELF: does not return */
    return EXIT_FAILURE;
}
