/*
 * chid1_server.c - the first exercise of the QNX course: a server that prints its pid
 * and chid for the client's command line, then adds numbers for whoever asks.
 *
 * Its channel is the first id of the process, so it is chid 1 and chid1_client.c does
 * not even take the chid: it hard-codes 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>
#include <sys/neutrino.h>

#include "msg_def.h"

int main(void)
{
    int chid;
    int rcvid;
    int result;
    recv_buf_t msg;
    struct _msg_info info;

    chid = ChannelCreate(0);
    if (chid == -1) {
        perror("ChannelCreate");
        exit(EXIT_FAILURE);
    }
    printf("Server pid %d chid %d\n", getpid(), chid);

    while (1) {
        rcvid = MsgReceive(chid, &msg, sizeof(msg), &info);
        if (rcvid == -1) {
            perror("MsgReceive");
            continue;
        }
        if (rcvid == 0) {
            printf("Server got a pulse, code %d\n", msg.pulse.code);
            continue;
        }
        switch (msg.type) {
        case MSG_ADD:
            result = msg.add.a + msg.add.b;
            printf("Server: %d + %d for pid %d, replying %d\n", msg.add.a, msg.add.b, info.pid, result);
            MsgReply(rcvid, EOK, &result, sizeof(result));
            break;
        case MSG_QUIT:
            printf("Server quitting\n");
            MsgReply(rcvid, EOK, NULL, 0);
            exit(EXIT_SUCCESS);
        default:
            printf("Server: unknown message type %#x\n", msg.type);
            MsgError(rcvid, ENOSYS);
            break;
        }
    }
    return 0;
}
