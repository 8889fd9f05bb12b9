/*
 * unblock_client.c - usage: unblock_client <server pid> <server chid>
 *
 * Sends unblock_server.c a request it never answers on its own.  Ctrl-C (SIGINT, left
 * at its default action) ends this client, but only once the server has let it go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/neutrino.h>

#include "msg_def.h"

int main(int argc, char *argv[])
{
    int coid;
    long status;
    add_msg_t msg;

    if (argc != 3) {
        fprintf(stderr, "usage: %s <server pid> <server chid>\n", argv[0]);
        exit(EXIT_FAILURE);
    }
    coid = ConnectAttach(0, atoi(argv[1]), atoi(argv[2]), _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        perror("ConnectAttach");
        exit(EXIT_FAILURE);
    }

    msg.type = MSG_WORK;
    msg.subtype = 0;
    msg.a = msg.b = 0;
    printf("Client pid %d sending\n", getpid());
    status = MsgSend(coid, &msg, sizeof(msg), NULL, 0);
    /* Not reached on QNX: the pending SIGINT ends us as MsgSend() returns. */
    printf("Client: MsgSend returned %ld (%s)\n", status, status == -1 ? strerror(errno) : "EOK");
    return EXIT_FAILURE;
}
