/*
 * ns_server.c - usage: ns_server [-c] [name]
 *
 * A name_attach() server in the style of QNX's documentation: it answers pulses,
 * adds numbers, says hello, and refuses every message type it does not know with
 * ENOSYS.  It takes _IO_CONNECT only with -c: many servers never handle it, and on QNX
 * they need not, since name_open() of a local name sends the server nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/dispatch.h>

#include "msg_def.h"

#define ATTACH_POINT "ns_server"

int main(int argc, char *argv[])
{
    name_attach_t *attach;
    recv_buf_t msg;
    hello_msg_t hello;
    const char *name = ATTACH_POINT;
    int rcvid, result, accept_connect = 0;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0)
            accept_connect = 1;
        else
            name = argv[i];
    }

    if ((attach = name_attach(NULL, name, 0)) == NULL) {
        perror("name_attach");
        return EXIT_FAILURE;
    }
    printf("Server: attached %s, chid %d\n", name, attach->chid);

    while (1) {
        rcvid = MsgReceive(attach->chid, &msg, sizeof(msg), NULL);
        if (rcvid == -1) {
            perror("MsgReceive");
            break;
        }

        if (rcvid == 0) {
            switch (msg.pulse.code) {
            case _PULSE_CODE_DISCONNECT:
                printf("Server: client gone, scoid %#x\n", msg.pulse.scoid);
                ConnectDetach(msg.pulse.scoid);
                break;
            case _PULSE_CODE_UNBLOCK:
                break;
            default:
                printf("Server: pulse code %d value %d\n", msg.pulse.code, msg.pulse.value.sival_int);
                break;
            }
            continue;
        }

        if (msg.type == _IO_CONNECT && accept_connect) {
            printf("Server: _IO_CONNECT accepted\n");
            MsgReply(rcvid, EOK, NULL, 0);
            continue;
        }

        switch (msg.type) {
        case MSG_ADD:
            result = msg.add.a + msg.add.b;
            printf("Server: add %d %d -> %d\n", msg.add.a, msg.add.b, result);
            MsgReply(rcvid, EOK, &result, sizeof(result));
            break;
        case MSG_HELLO:
            printf("Server: client says \"%s\"\n", msg.hello.text);
            hello.type = MSG_HELLO;
            hello.subtype = 0;
            snprintf(hello.text, sizeof(hello.text), "hello from %s", name);
            MsgReply(rcvid, EOK, &hello, sizeof(hello));
            break;
        default:
            printf("Server: type %#x not supported\n", msg.type);
            MsgError(rcvid, ENOSYS);
            break;
        }
    }

    name_detach(attach, 0);
    return EXIT_FAILURE;
}
