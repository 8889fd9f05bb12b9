/*
 * peer.c - usage: peer <my name> <other's name>
 *
 * Two of these talk to each other: each attaches its own name and name_open()s the
 * other's BEFORE anyone calls MsgReceive(), then a receiver thread answers the other's
 * hello while the main thread sends ours.  On QNX this cannot deadlock: name_open() of
 * a local name only attaches a connection, it does not wait for the other server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/dispatch.h>

#include "msg_def.h"

name_attach_t *attach;
char *my_name;

void *receiver(void *arg)
{
    recv_buf_t msg;
    hello_msg_t reply;
    int rcvid;

    while (1) {
        rcvid = MsgReceive(attach->chid, &msg, sizeof(msg), NULL);
        if (rcvid == -1) {
            perror("MsgReceive");
            return NULL;
        }
        if (rcvid == 0)
            continue;   /* pulses: nothing to do */
        if (msg.type != MSG_HELLO) {
            MsgError(rcvid, ENOSYS);
            continue;
        }
        printf("%s: got \"%s\"\n", my_name, msg.hello.text);
        reply.type = MSG_HELLO;
        reply.subtype = 0;
        snprintf(reply.text, sizeof(reply.text), "%s says hi back", my_name);
        MsgReply(rcvid, EOK, &reply, sizeof(reply));
        return NULL;
    }
}

int main(int argc, char *argv[])
{
    pthread_t tid;
    hello_msg_t hello, reply;
    int coid, tries;

    if (argc != 3) {
        fprintf(stderr, "usage: %s <my name> <other's name>\n", argv[0]);
        exit(EXIT_FAILURE);
    }
    my_name = argv[1];

    attach = name_attach(NULL, my_name, 0);
    if (attach == NULL) {
        perror("name_attach");
        exit(EXIT_FAILURE);
    }

    /* The other one may not be up yet: try for 5 seconds. */
    for (tries = 0; (coid = name_open(argv[2], 0)) == -1; tries++) {
        if (errno != ENOENT || tries == 250) {
            printf("%s: name_open(\"%s\"): %s\n", my_name, argv[2], strerror(errno));
            exit(EXIT_FAILURE);
        }
        usleep(20000);
    }
    printf("%s: connected to %s\n", my_name, argv[2]);

    pthread_create(&tid, NULL, receiver, NULL);

    hello.type = MSG_HELLO;
    hello.subtype = 0;
    snprintf(hello.text, sizeof(hello.text), "hello from %s", my_name);
    if (MsgSend(coid, &hello, sizeof(hello), &reply, sizeof(reply)) == -1) {
        printf("%s: MsgSend: %s\n", my_name, strerror(errno));
        exit(EXIT_FAILURE);
    }
    printf("%s: answer \"%s\"\n", my_name, reply.text);

    pthread_join(tid, NULL);
    name_close(coid);
    name_detach(attach, 0);
    printf("%s: done\n", my_name);
    return 0;
}
