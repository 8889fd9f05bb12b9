/*
 * chid1_client.c - usage: chid1_client <server pid>
 *
 * The server is chid1_server.c, whose only channel is chid 1, so like much course code
 * this client hard-codes the chid.  It sends an add, a message type the server does not
 * know (which must fail with ENOSYS), and quit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/neutrino.h>

#include "msg_def.h"

int main(int argc, char *argv[])
{
    int coid, pid;
    int answer;
    long status;
    add_msg_t msg;

    if (argc < 2) {
        fprintf(stderr, "usage: %s <server pid>\n", argv[0]);
        exit(EXIT_FAILURE);
    }
    pid = atoi(argv[1]);

    coid = ConnectAttach(0, pid, 1, _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        fprintf(stderr, "Client: ConnectAttach to pid %d chid 1: %s\n", pid, strerror(errno));
        exit(EXIT_FAILURE);
    }
    printf("Client: attached to pid %d chid 1, coid %#x\n", pid, coid);

    msg.type = MSG_ADD;
    msg.subtype = 0;
    msg.a = 40;
    msg.b = 2;
    status = MsgSend(coid, &msg, sizeof(msg), &answer, sizeof(answer));
    if (status == -1) {
        perror("MsgSend");
        exit(EXIT_FAILURE);
    }
    printf("Client: %d + %d = %d\n", msg.a, msg.b, answer);

    msg.type = MSG_BOGUS;
    status = MsgSend(coid, &msg, sizeof(msg), &answer, sizeof(answer));
    if (status != -1 || errno != ENOSYS) {
        printf("Client: unknown type gave %ld (%s), not ENOSYS\n", status, strerror(errno));
        exit(EXIT_FAILURE);
    }
    printf("Client: unknown type refused with ENOSYS\n");

    msg.type = MSG_QUIT;
    if (MsgSend(coid, &msg, sizeof(msg), NULL, 0) == -1) {
        perror("MsgSend quit");
        exit(EXIT_FAILURE);
    }
    ConnectDetach(coid);
    printf("Client done\n");
    return 0;
}
