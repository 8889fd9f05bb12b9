/*
 * pulse_server.c - a server fed by pulses.
 *
 * It prints its pid and chid for the client.  A client first asks to be told when the
 * data is in (MSG_NOTIFY, carrying its event), then sends the data as three pulses; the
 * server prints each pulse's code and value, and after the third delivers the client's
 * event with MsgDeliverEvent(), as the course's "thread to thread events" slide shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>
#include <sys/neutrino.h>

#include "msg_def.h"

#define DATA_PULSES 3

int main(void)
{
    int chid, rcvid;
    int notify_rcvid = 0, npulses = 0;
    struct sigevent notify_event;
    recv_buf_t msg;

    chid = ChannelCreate(0);
    if (chid == -1) {
        perror("ChannelCreate");
        exit(EXIT_FAILURE);
    }
    printf("Server pid %d chid %d\n", getpid(), chid);

    while (1) {
        rcvid = MsgReceive(chid, &msg, sizeof(msg), NULL);
        if (rcvid == -1) {
            perror("MsgReceive");
            exit(EXIT_FAILURE);
        }
        if (rcvid == 0) {
            printf("Server: pulse code %d value %d\n", msg.pulse.code, msg.pulse.value.sival_int);
            if (msg.pulse.code == PULSE_CODE_DATA && ++npulses == DATA_PULSES && notify_rcvid) {
                if (MsgDeliverEvent(notify_rcvid, &notify_event) == -1)
                    perror("MsgDeliverEvent");
                else
                    printf("Server: delivered the client's event\n");
                notify_rcvid = 0;
            }
            continue;
        }
        switch (msg.type) {
        case MSG_NOTIFY:
            /* Keep the event and the rcvid: the reply does not end our right to deliver. */
            notify_event = msg.notify.event;
            notify_rcvid = rcvid;
            npulses = 0;
            MsgReply(rcvid, EOK, NULL, 0);
            break;
        default:
            MsgError(rcvid, ENOSYS);
            break;
        }
    }
}
