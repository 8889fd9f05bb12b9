/*
 * pulse_only_server.c - usage: pulse_only_server [name]
 *
 * A server that never receives a message: it only ever calls MsgReceivePulse(), and
 * stops on the quit pulse.  Its clients find it with name_open(), which on QNX sends
 * nothing to the server, so nothing waits for a message this server would never take.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/neutrino.h>
#include <sys/dispatch.h>

#include "msg_def.h"

int main(int argc, char *argv[])
{
    name_attach_t *attach;
    struct _pulse pulse;
    int count = 0;

    attach = name_attach(NULL, argc > 1 ? argv[1] : "pulse_only", 0);
    if (attach == NULL) {
        perror("name_attach");
        exit(1);
    }
    printf("Server: waiting for pulses on chid %d\n", attach->chid);

    for (;;) {
        if (MsgReceivePulse(attach->chid, &pulse, sizeof(pulse), NULL) == -1) {
            perror("MsgReceivePulse");
            exit(1);
        }
        switch (pulse.code) {
        case PULSE_CODE_DATA:
            count++;
            printf("Server: data pulse value %d\n", pulse.value.sival_int);
            break;
        case PULSE_CODE_QUIT:
            printf("Server: quit after %d data pulses\n", count);
            name_detach(attach, 0);
            exit(0);
        case _PULSE_CODE_DISCONNECT:
            ConnectDetach(pulse.scoid);
            break;
        default:
            printf("Server: pulse code %d\n", pulse.code);
            break;
        }
    }
}
