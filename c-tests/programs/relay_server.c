/*
 * relay_server.c - usage: relay_server <upstream pid>
 *
 * A server that is itself the client of another server (chid1_server.c, chid 1): it
 * attaches to its upstream BEFORE it creates its own channel.  On QNX a process's
 * chids and side-channel coids come from one number space starting at 1, so the
 * upstream connection takes 1 (coid 0x40000001) and the channel becomes chid 2; the
 * self-connection made for the pulse below is then coid 0x40000003.
 * relay_client.c counts on that and hard-codes chid 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>
#include <sys/neutrino.h>

#include "msg_def.h"

int main(int argc, char *argv[])
{
    int upstream, chid, self_coid;
    int rcvid, result;
    recv_buf_t msg;

    if (argc < 2) {
        fprintf(stderr, "usage: %s <upstream pid>\n", argv[0]);
        exit(EXIT_FAILURE);
    }
    upstream = ConnectAttach(0, atoi(argv[1]), 1, _NTO_SIDE_CHANNEL, 0);
    if (upstream == -1) {
        perror("ConnectAttach upstream");
        exit(EXIT_FAILURE);
    }
    chid = ChannelCreate(0);
    if (chid == -1) {
        perror("ChannelCreate");
        exit(EXIT_FAILURE);
    }
    self_coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    printf("Server pid %d chid %d\n", getpid(), chid);
    printf("Relay: upstream coid %#x, self coid %#x\n", upstream, self_coid);

    /* Tell ourselves we are up, as servers that start helper threads do. */
    MsgSendPulse(self_coid, -1, PULSE_CODE_DATA, 0);

    while (1) {
        rcvid = MsgReceive(chid, &msg, sizeof(msg), NULL);
        if (rcvid == -1) {
            perror("MsgReceive");
            continue;
        }
        if (rcvid == 0) {
            printf("Relay got pulse code %d\n", msg.pulse.code);
            continue;
        }
        switch (msg.type) {
        case MSG_ADD:
            if (MsgSend(upstream, &msg.add, sizeof(msg.add), &result, sizeof(result)) == -1) {
                MsgError(rcvid, errno);
                break;
            }
            printf("Relay: upstream says %d + %d = %d\n", msg.add.a, msg.add.b, result);
            MsgReply(rcvid, EOK, &result, sizeof(result));
            break;
        case MSG_QUIT:
            MsgSend(upstream, &msg.add, sizeof(msg.add), NULL, 0);
            printf("Relay quitting\n");
            MsgReply(rcvid, EOK, NULL, 0);
            exit(EXIT_SUCCESS);
        default:
            MsgError(rcvid, ENOSYS);
            break;
        }
    }
}
