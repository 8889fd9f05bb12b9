/*
 * tp_client.c - usage: tp_client [name]
 *
 * The client of tp_server: adds two numbers, sends a type the server does not attach
 * (ENOSYS from the dispatch layer) and one it attaches but does not handle (ENOSYS from
 * its handler), then has 8 threads send MSG_WORK at once and times them, and asks the
 * server to quit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <pthread.h>
#include <sys/dispatch.h>

#include "msg_def.h"

#define NTHREADS 8

static const char *name = "tp_server";

static void *worker(void *arg)
{
    int coid = name_open(name, 0);
    uint16_t type = MSG_WORK;

    if (coid == -1 || MsgSend(coid, &type, sizeof(type), NULL, 0) == -1) {
        perror("worker");
        exit(EXIT_FAILURE);
    }
    name_close(coid);
    return NULL;
}

int main(int argc, char *argv[])
{
    add_msg_t add;
    uint16_t type;
    pthread_t tids[NTHREADS];
    struct timespec t0, t1;
    int coid, result, i;
    long ms;

    if (argc > 1)
        name = argv[1];
    if ((coid = name_open(name, 0)) == -1) {
        perror("name_open");
        return EXIT_FAILURE;
    }

    add.type = MSG_ADD;
    add.subtype = 0;
    add.a = 2;
    add.b = 3;
    if (MsgSend(coid, &add, sizeof(add), &result, sizeof(result)) == -1) {
        perror("MsgSend");
        return EXIT_FAILURE;
    }
    printf("Client: 2 + 3 = %d\n", result);

    type = MSG_BOGUS;
    if (MsgSend(coid, &type, sizeof(type), NULL, 0) == -1 && errno == ENOSYS)
        printf("Client: unattached type -> ENOSYS\n");
    type = MSG_NOTIFY;
    if (MsgSend(coid, &type, sizeof(type), NULL, 0) == -1 && errno == ENOSYS)
        printf("Client: unhandled type -> ENOSYS\n");

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < NTHREADS; i++)
        pthread_create(&tids[i], NULL, worker, NULL);
    for (i = 0; i < NTHREADS; i++)
        pthread_join(tids[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("Client: %d requests of 200 ms in %ld ms\n", NTHREADS, ms);

    type = MSG_QUIT;
    if (MsgSend(coid, &type, sizeof(type), &result, sizeof(result)) == -1) {
        perror("MsgSend quit");
        return EXIT_FAILURE;
    }
    printf("Client: the server ran at most %d at once\n", result);
    name_close(coid);
    return EXIT_SUCCESS;
}
