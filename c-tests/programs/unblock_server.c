/*
 * unblock_server.c - a server that takes its time, and lets its clients go cleanly.
 *
 * Its channel has _NTO_CHF_UNBLOCK, so a REPLY-blocked client hit by a signal (Ctrl-C)
 * is not torn out of MsgSend(): it stays blocked and this server gets a
 * _PULSE_CODE_UNBLOCK pulse carrying the client's rcvid.  The server finishes with the
 * request (here: half a second of tidying up) and then lets the client go with EINTR;
 * only then does the signal act on the client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>
#include <sys/neutrino.h>

#include "msg_def.h"

int main(void)
{
    int chid, rcvid, blocked;
    recv_buf_t msg;

    chid = ChannelCreate(_NTO_CHF_UNBLOCK);
    if (chid == -1) {
        perror("ChannelCreate");
        exit(EXIT_FAILURE);
    }
    printf("Server pid %d chid %d\n", getpid(), chid);

    while (1) {
        rcvid = MsgReceive(chid, &msg, sizeof(msg), NULL);
        if (rcvid == -1) {
            perror("MsgReceive");
            continue;
        }
        if (rcvid == 0) {
            switch (msg.pulse.code) {
            case _PULSE_CODE_UNBLOCK:
                blocked = msg.pulse.value.sival_int;
                printf("Server: unblock pulse for rcvid %d\n", blocked);
                delay(500);
                printf("Server: replying EINTR to rcvid %d\n", blocked);
                if (MsgError(blocked, EINTR) == -1)
                    perror("MsgError");
                break;
            default:
                printf("Server: pulse code %d\n", msg.pulse.code);
                break;
            }
            continue;
        }
        switch (msg.type) {
        case MSG_WORK:
            /* no reply: the work "takes forever" and the client stays REPLY-blocked */
            printf("Server: working on rcvid %d\n", rcvid);
            break;
        default:
            MsgError(rcvid, ENOSYS);
            break;
        }
    }
}
