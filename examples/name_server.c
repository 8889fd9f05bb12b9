/*
 * name_server.c - a QNX Neutrino server that clients find by name.
 *
 *     usage: name_server [-g] [name]   (default: neutrino_demo; -g: a global name, found
 *                                       from every node of the network)
 *
 * Written the way QNX's name_attach() documentation shows, and nothing here is Linux
 * specific: it builds on QNX with `qcc name_server.c` and on Linux against libneutrino
 * with `cc name_server.c $(pkg-config --cflags --libs neutrino)`.
 *
 * It attaches the name, prints "name_server: attached <name>", and serves until a client
 * asks it to quit.  The loop tells apart what MsgReceive() can hand a name_attach()
 * server: pulses (a client disconnecting, or asking to be unblocked), system I/O messages
 * (an _IO_CONNECT, which only a name_open() of a global name through QNX's gns sends: a
 * local name_open() sends the server nothing; the others refused with ENOSYS), and this
 * program's own messages (see name_msg.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/dispatch.h>
#include <sys/netmgr.h>

#include "name_msg.h"

int main(int argc, char *argv[])
{
    int            global = argc > 1 && strcmp(argv[1], "-g") == 0;
    const char    *name = argc > 1 + global ? argv[1 + global] : ATTACH_POINT;
    name_attach_t *attach;
    my_data_t      msg;
    struct _msg_info info;
    char           node[64];
    rcvid_t        rcvid;
    int            answer, quit = 0;

    attach = name_attach(NULL, name, global ? NAME_FLAG_ATTACH_GLOBAL : 0);
    if (attach == NULL) {
        fprintf(stderr, "name_server: name_attach(\"%s\") failed: %s\n", name, strerror(errno));
        return EXIT_FAILURE;
    }
    printf("name_server: attached %s (pid %d, chid %d)\n", name, (int)getpid(), attach->chid);
    fflush(stdout);

    while (!quit) {
        rcvid = MsgReceive(attach->chid, &msg, sizeof msg, &info);
        if (rcvid == -1) {
            fprintf(stderr, "name_server: MsgReceive failed: %s\n", strerror(errno));
            break;
        }

        if (rcvid == 0) { /* a pulse */
            switch (msg.hdr.code) {
            case _PULSE_CODE_DISCONNECT:
                /* A client closed its last connection: free our side of it. */
                printf("name_server: client disconnected (scoid %#x)\n", (unsigned)msg.hdr.scoid);
                ConnectDetach(msg.hdr.scoid);
                break;
            case _PULSE_CODE_UNBLOCK:
                /* A REPLY-blocked client wants to leave; we always reply at once, so
                 * there is nothing to undo. */
                break;
            default:
                break;
            }
            fflush(stdout);
            continue;
        }

        /* Sent by QNX's gns for a global name (never for a local one): accept it. */
        if (msg.hdr.type == _IO_CONNECT) {
            printf("name_server: a client connected through gns\n");
            fflush(stdout);
            MsgReply(rcvid, EOK, NULL, 0);
            continue;
        }

        /* Some other system I/O message: not supported here. */
        if (msg.hdr.type > _IO_BASE && msg.hdr.type <= _IO_MAX) {
            MsgError(rcvid, ENOSYS);
            continue;
        }

        if (msg.hdr.type != 0x00) {
            MsgError(rcvid, ENOSYS);
            continue;
        }
        switch (msg.hdr.subtype) {
        case SUBTYPE_DATA:
            answer = msg.data * 2;
            /* Where the client runs: this node, or another one through the network. */
            if (netmgr_ndtostr(ND2S_LOCAL_STR, info.nd, node, sizeof node) == -1)
                strcpy(node, "?");
            printf("name_server: received %d from pid %d on node %s, answering %d\n", msg.data,
                   (int)info.pid, node, answer);
            MsgReply(rcvid, EOK, &answer, sizeof answer);
            break;
        case SUBTYPE_QUIT:
            printf("name_server: quit requested\n");
            MsgReply(rcvid, EOK, NULL, 0);
            quit = 1;
            break;
        default:
            MsgError(rcvid, ENOSYS);
            break;
        }
        fflush(stdout);
    }

    name_detach(attach, 0);
    printf("name_server: detached %s\n", name);
    return quit ? EXIT_SUCCESS : EXIT_FAILURE;
}
