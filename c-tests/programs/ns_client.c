/*
 * ns_client.c - usage: ns_client [name]
 *
 * Finds ns_server.c by name, sends it an add, a hello and a message type it does not
 * know, and checks each answer: the unknown type must fail with ENOSYS while the
 * connection itself (name_open) succeeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/dispatch.h>

#include "msg_def.h"

#define ATTACH_POINT "ns_server"

int main(int argc, char **argv)
{
    int coid, sum;
    long status;
    add_msg_t add;
    hello_msg_t hello, answer;
    char *name = argc > 1 ? argv[1] : ATTACH_POINT;

    coid = name_open(name, 0);
    if (coid == -1) {
        printf("Client: name_open(\"%s\") failed: %s\n", name, strerror(errno));
        return EXIT_FAILURE;
    }
    printf("Client: name_open(\"%s\") gave coid %#x\n", name, coid);

    add.type = MSG_ADD;
    add.subtype = 0;
    add.a = 3;
    add.b = 4;
    status = MsgSend(coid, &add, sizeof(add), &sum, sizeof(sum));
    if (status == -1 || sum != 7) {
        printf("Client: add failed: status %ld, sum %d, %s\n", status, sum, strerror(errno));
        return EXIT_FAILURE;
    }
    printf("Client: 3 + 4 = %d\n", sum);

    hello.type = MSG_HELLO;
    hello.subtype = 0;
    strcpy(hello.text, "hi there");
    if (MsgSend(coid, &hello, sizeof(hello), &answer, sizeof(answer)) == -1) {
        printf("Client: hello failed: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }
    printf("Client: server says \"%s\"\n", answer.text);

    add.type = MSG_BOGUS;
    status = MsgSend(coid, &add, sizeof(add), &sum, sizeof(sum));
    if (status != -1 || errno != ENOSYS) {
        printf("Client: bogus type gave status %ld errno %d, expected ENOSYS\n", status, errno);
        return EXIT_FAILURE;
    }
    printf("Client: bogus type -> ENOSYS, as expected\n");

    name_close(coid);
    return EXIT_SUCCESS;
}
