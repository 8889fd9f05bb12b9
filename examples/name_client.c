/*
 * name_client.c - the client of name_server.c: finds the server by name.
 *
 *     usage: name_client [-g] [name]   (default: neutrino_demo; -g: a global name, held
 *                                       on this node or another)
 *
 * Builds unchanged on QNX (qcc) and on Linux against libneutrino.  It opens the name,
 * sends a few numbers and checks the answers, shows that a name nobody holds does not
 * open (ENOENT), then asks the server to quit.  The exit status is non-zero if anything
 * went wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>

#include "name_msg.h"

int main(int argc, char *argv[])
{
    int         global = argc > 1 && strcmp(argv[1], "-g") == 0;
    const char *name = argc > 1 + global ? argv[1 + global] : ATTACH_POINT;
    unsigned    flags = global ? NAME_FLAG_ATTACH_GLOBAL : 0;
    my_data_t   msg;
    int         coid, answer, failures = 0;
    long        status;

    coid = name_open(name, flags);
    if (coid == -1) {
        fprintf(stderr, "name_client: name_open(\"%s\") failed: %s\n", name, strerror(errno));
        return EXIT_FAILURE;
    }
    printf("name_client: opened %s, coid %#x\n", name, (unsigned)coid);

    memset(&msg, 0, sizeof msg);
    msg.hdr.type = 0x00;
    msg.hdr.subtype = SUBTYPE_DATA;
    for (msg.data = 1; msg.data <= 5; msg.data++) {
        status = MsgSend(coid, &msg, sizeof msg, &answer, sizeof answer);
        if (status == -1) {
            printf("name_client: MsgSend failed: %s\n", strerror(errno));
            failures++;
        } else if (answer != 2 * msg.data) {
            printf("name_client: sent %d, got %d: FAILED\n", msg.data, answer);
            failures++;
        } else {
            printf("name_client: sent %d, got %d\n", msg.data, answer);
        }
    }

    if (name_open("neutrino_demo/nobody/holds/this", flags) == -1 && errno == ENOENT) {
        printf("name_client: a name nobody holds: ENOENT, as expected\n");
    } else {
        printf("name_client: a name nobody holds did not fail with ENOENT: FAILED\n");
        failures++;
    }

    msg.hdr.subtype = SUBTYPE_QUIT;
    if (MsgSend(coid, &msg, sizeof msg, NULL, 0) == -1) {
        printf("name_client: quit: MsgSend failed: %s\n", strerror(errno));
        failures++;
    }
    name_close(coid);
    printf("name_client: done, %d failure(s)\n", failures);
    return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
