/*
 * relay_client.c - usage: relay_client <relay pid>
 *
 * relay_server.c attaches to its upstream before creating its channel, so on QNX its
 * channel is chid 2: hard-coded here, as course code does.  The add goes through the
 * relay to the upstream server; quit stops both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/neutrino.h>

#include "msg_def.h"

#define RELAY_CHID 2

int main(int argc, char *argv[])
{
    int coid, answer;
    add_msg_t msg;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <relay pid>\n", argv[0]);
        return 1;
    }
    coid = ConnectAttach(0, atoi(argv[1]), RELAY_CHID, _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        perror("ConnectAttach to the relay's chid 2");
        return 1;
    }

    msg.type = MSG_ADD;
    msg.subtype = 0;
    msg.a = 5;
    msg.b = 7;
    if (MsgSend(coid, &msg, sizeof(msg), &answer, sizeof(answer)) == -1) {
        perror("MsgSend");
        return 1;
    }
    printf("Client: relayed %d + %d = %d\n", msg.a, msg.b, answer);

    msg.type = MSG_QUIT;
    if (MsgSend(coid, &msg, sizeof(msg), NULL, 0) == -1) {
        perror("MsgSend quit");
        return 1;
    }
    printf("Client done\n");
    return 0;
}
