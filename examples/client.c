/*
 * client.c - a plain QNX Neutrino message-passing client for server.c.
 *
 *     usage: client <server-pid> <server-chid>
 *
 * Builds unchanged on QNX (qcc) and on Linux against libneutrino
 * (cc client.c $(pkg-config --cflags --libs neutrino)).
 *
 * It attaches to the server's channel, sends an "add", an "upper-case",
 * a message type the server does not know (to show MsgError), a
 * multi-part MsgSendv() request, a pulse, and finally "quit".  Every answer
 * is checked; the exit status is non-zero if anything went wrong.
 */
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgdefs.h"

static int failures;

static void check(int ok, const char *what)
{
    printf("client:   %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok) {
        failures++;
    }
}

int main(int argc, char *argv[])
{
    request_t      req;
    reply_t        reply;
    msg_header_t   hdr;
    reply_header_t rhdr;
    iov_t          siov[3], riov[2];
    char           big[200], answer[200];
    const char    *part1, *part2;
    long           status;
    pid_t          pid;
    int            chid, coid, i;

    if (argc != 3) {
        fprintf(stderr, "usage: %s <server-pid> <server-chid>\n", argv[0]);
        return EXIT_FAILURE;
    }
    pid = (pid_t)atoi(argv[1]);
    chid = atoi(argv[2]);

    coid = ConnectAttach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        fprintf(stderr, "client: ConnectAttach(pid %d, chid %d) failed: %s\n",
                (int)pid, chid, strerror(errno));
        return EXIT_FAILURE;
    }
    printf("client: pid %d attached to pid %d chid %d, coid %#x\n",
           (int)getpid(), (int)pid, chid, (unsigned)coid);

    /* 1. add */
    memset(&req, 0, sizeof req);
    req.type = MSG_TYPE_ADD;
    req.a = 40;
    req.b = 2;
    status = MsgSend(coid, &req, sizeof req, &reply, sizeof reply);
    if (status == -1) {
        printf("client: add: MsgSend failed: %s\n", strerror(errno));
        failures++;
    } else {
        printf("client: add %d + %d -> status %ld, result %d\n",
               (int)req.a, (int)req.b, status, (int)reply.result);
        check(status == EOK && reply.result == 42, "add");
    }

    /* 2. upper-case a short string */
    memset(&req, 0, sizeof req);
    req.type = MSG_TYPE_UPPER;
    strcpy(req.text, "hello, neutrino");
    memset(&reply, 0, sizeof reply);
    status = MsgSend(coid, &req, sizeof req, &reply, sizeof reply);
    if (status == -1) {
        printf("client: upper: MsgSend failed: %s\n", strerror(errno));
        failures++;
    } else {
        printf("client: upper \"%s\" -> status %ld, \"%s\"\n",
               req.text, status, reply.text);
        check(status == EOK && strcmp(reply.text, "HELLO, NEUTRINO") == 0,
              "upper");
    }

    /* 3. a type the server does not handle: MsgError(rcvid, ENOSYS) */
    memset(&req, 0, sizeof req);
    req.type = MSG_TYPE_BOGUS;
    status = MsgSend(coid, &req, sizeof req, &reply, sizeof reply);
    if (status == -1) {
        printf("client: unknown type %#x -> MsgSend -1, errno %d (%s)\n",
               (unsigned)req.type, errno, strerror(errno));
        check(errno == ENOSYS, "error path (ENOSYS expected)");
    } else {
        printf("client: unknown type %#x -> status %ld (expected an error)\n",
               (unsigned)req.type, status);
        check(0, "error path");
    }

    /* 4. multi-part: header + text in two pieces, reply in two pieces.
     *    The text is longer than the server's receive buffer, so the server
     *    has to MsgRead() the rest. */
    for (i = 0; i < (int)sizeof big - 1; i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[sizeof big - 1] = '\0';
    part1 = big;
    part2 = big + 50;
    memset(&hdr, 0, sizeof hdr);
    hdr.type = MSG_TYPE_UPPER_V;
    hdr.a = (int32_t)strlen(big);
    SETIOV(&siov[0], &hdr, sizeof hdr);
    SETIOV(&siov[1], part1, 50);
    SETIOV(&siov[2], part2, strlen(big) - 50);
    memset(&rhdr, 0, sizeof rhdr);
    memset(answer, 0, sizeof answer);
    SETIOV(&riov[0], &rhdr, sizeof rhdr);
    SETIOV(&riov[1], answer, sizeof answer - 1);
    status = MsgSendv(coid, siov, 3, riov, 2);
    if (status == -1) {
        printf("client: multi-part: MsgSendv failed: %s\n", strerror(errno));
        failures++;
    } else {
        int ok = status == EOK && rhdr.result == hdr.a;
        for (i = 0; ok && i < hdr.a; i++) {
            ok = answer[i] == (char)('A' + i % 26);
        }
        printf("client: multi-part upper of %d bytes -> status %ld, %d bytes: "
               "\"%.26s...\"\n", (int)hdr.a, status, (int)rhdr.result, answer);
        check(ok, "multi-part MsgSendv");
    }

    /* 5. a pulse (fire and forget) */
    if (MsgSendPulse(coid, 10, MY_PULSE_CODE, 1234) == -1) {
        if (errno == ENOSYS) {
            printf("client: pulse: not supported by this build (ENOSYS), skipped\n");
        } else {
            printf("client: pulse: MsgSendPulse failed: %s\n", strerror(errno));
            failures++;
        }
    } else {
        printf("client: pulse code %d value 1234 sent\n", MY_PULSE_CODE);
    }

    /* 6. tell the server to quit */
    memset(&req, 0, sizeof req);
    req.type = MSG_TYPE_QUIT;
    status = MsgSend(coid, &req, sizeof req, NULL, 0);
    if (status == -1) {
        printf("client: quit: MsgSend failed: %s\n", strerror(errno));
        failures++;
    } else {
        check(status == EOK, "quit");
    }

    if (ConnectDetach(coid) == -1) {
        printf("client: ConnectDetach failed: %s\n", strerror(errno));
        failures++;
    }
    printf("client: done, %d failure(s)\n", failures);
    return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
