/*
 * pulse_client.c - usage: pulse_client <server pid> <server chid>
 *
 * Registers a pulse event with pulse_server.c (SIGEV_PULSE_INIT on a connection to its
 * own channel, MsgRegisterEvent), sends three data pulses with MsgSendPulse(), and waits
 * for the server's event to come back as a pulse on its own channel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/neutrino.h>

#include "msg_def.h"

#define EVENT_VALUE 77

int main(int argc, char *argv[])
{
    int chid, self_coid, coid, rcvid, i;
    notify_msg_t msg;
    struct _pulse pulse;

    if (argc != 3) {
        fprintf(stderr, "usage: %s <server pid> <server chid>\n", argv[0]);
        exit(EXIT_FAILURE);
    }
    coid = ConnectAttach(0, atoi(argv[1]), atoi(argv[2]), _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        perror("ConnectAttach");
        exit(EXIT_FAILURE);
    }

    chid = ChannelCreate(0);
    self_coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    if (chid == -1 || self_coid == -1) {
        perror("ChannelCreate/ConnectAttach");
        exit(EXIT_FAILURE);
    }

    msg.type = MSG_NOTIFY;
    msg.subtype = 0;
    SIGEV_PULSE_INIT(&msg.event, self_coid, SIGEV_PULSE_PRIO_INHERIT, PULSE_CODE_DONE, EVENT_VALUE);
    if (MsgRegisterEvent(&msg.event, coid) == -1) {
        perror("MsgRegisterEvent");
        exit(EXIT_FAILURE);
    }
    if (MsgSend(coid, &msg, sizeof(msg), NULL, 0) == -1) {
        perror("MsgSend notify");
        exit(EXIT_FAILURE);
    }

    for (i = 1; i <= 3; i++) {
        if (MsgSendPulse(coid, -1, PULSE_CODE_DATA, i) == -1) {
            perror("MsgSendPulse");
            exit(EXIT_FAILURE);
        }
    }
    printf("Client: sent 3 pulses, waiting for the server's event\n");

    rcvid = MsgReceive(chid, &pulse, sizeof(pulse), NULL);
    if (rcvid != 0) {
        printf("Client: expected a pulse, MsgReceive gave %d\n", rcvid);
        exit(EXIT_FAILURE);
    }
    printf("Client: event pulse code %d value %d\n", pulse.code, pulse.value.sival_int);
    return pulse.code == PULSE_CODE_DONE && pulse.value.sival_int == EVENT_VALUE ? 0 : 1;
}
