/*
 * pulse_only_client.c - usage: pulse_only_client [name]
 *
 * Opens pulse_only_server.c by name and sends it three data pulses and a quit pulse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/neutrino.h>
#include <sys/dispatch.h>

#include "msg_def.h"

int main(int argc, char *argv[])
{
    int coid, i;

    coid = name_open(argc > 1 ? argv[1] : "pulse_only", 0);
    if (coid == -1) {
        perror("name_open");
        exit(1);
    }
    for (i = 1; i <= 3; i++) {
        if (MsgSendPulse(coid, -1, PULSE_CODE_DATA, i * 100) == -1) {
            perror("MsgSendPulse");
            exit(1);
        }
    }
    if (MsgSendPulse(coid, -1, PULSE_CODE_QUIT, 0) == -1) {
        perror("MsgSendPulse quit");
        exit(1);
    }
    printf("Client: sent 3 data pulses and quit\n");
    name_close(coid);
    return 0;
}
