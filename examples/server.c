/*
 * server.c - a plain QNX Neutrino message-passing server.
 *
 * Nothing here is Linux specific: the same file builds on QNX with
 *     qcc -o server server.c
 * and on Linux against libneutrino with
 *     cc -o server server.c $(pkg-config --cflags --libs neutrino)
 *
 * It creates a channel, prints "server pid <pid> chid <chid>" so that a
 * client can ConnectAttach() to it, and serves requests until it gets
 * MSG_TYPE_QUIT.  See msgdefs.h for the protocol and client.c for the
 * other side.
 */
#include <sys/neutrino.h>
#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgdefs.h"

/* Everything MsgReceive() may hand us: a pulse or one of our requests. */
typedef union {
    uint16_t       type;
    struct _pulse  pulse;
    msg_header_t   hdr;
    request_t      req;
} recv_buf_t;

static void upcase(char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n && s[i] != '\0'; i++) {
        s[i] = (char)toupper((unsigned char)s[i]);
    }
}

/* MSG_TYPE_UPPER_V: a header followed by hdr.a bytes of text, sent as
 * several parts.  Whatever did not fit into our receive buffer is fetched
 * with MsgRead(); the answer goes back as two parts with MsgReplyv(). */
static void handle_upper_v(rcvid_t rcvid, const recv_buf_t *msg,
                           const struct _msg_info *info)
{
    static char    text[BIG_TEXT_MAX + 1];
    reply_header_t rhdr;
    iov_t          riov[2];
    size_t         want, have;
    long           got;

    if (msg->hdr.a < 0 || msg->hdr.a > BIG_TEXT_MAX) {
        printf("server:   bad text length %d\n", (int)msg->hdr.a);
        MsgError(rcvid, EINVAL);
        return;
    }
    want = (size_t)msg->hdr.a;

    /* Part of the text may already be in the receive buffer (it fits:
     * info->msglen <= sizeof *msg). */
    have = 0;
    if ((size_t)info->msglen > sizeof(msg_header_t)) {
        have = (size_t)info->msglen - sizeof(msg_header_t);
        if (have > sizeof *msg - sizeof(msg_header_t)) {
            have = sizeof *msg - sizeof(msg_header_t);
        }
        if (have > want) {
            have = want;
        }
        memcpy(text, (const char *)msg + sizeof(msg_header_t), have);
    }
    if (have < want) {
        got = MsgRead(rcvid, text + have, want - have,
                      sizeof(msg_header_t) + have);
        if (got == -1) {
            printf("server:   MsgRead failed: %s\n", strerror(errno));
            MsgError(rcvid, errno);
            return;
        }
        printf("server:   MsgRead fetched %ld more bytes at offset %zu\n",
               got, sizeof(msg_header_t) + have);
        have += (size_t)got;
    }
    text[have] = '\0';
    upcase(text, have);

    rhdr.result = (int32_t)have;
    rhdr.reserved = 0;
    SETIOV(&riov[0], &rhdr, sizeof rhdr);
    SETIOV(&riov[1], text, have);
    if (MsgReplyv(rcvid, EOK, riov, 2) == -1) {
        printf("server:   MsgReplyv failed: %s\n", strerror(errno));
    }
}

int main(void)
{
    recv_buf_t        msg;
    reply_t           reply;
    struct _msg_info  info;
    rcvid_t           rcvid;
    int               chid;

    chid = ChannelCreate(0);
    if (chid == -1) {
        fprintf(stderr, "server: ChannelCreate failed: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }
    /* The client needs these two numbers to find us. */
    printf("server pid %d chid %d\n", (int)getpid(), chid);
    fflush(stdout);

    for (;;) {
        memset(&msg, 0, sizeof msg);
        rcvid = MsgReceive(chid, &msg, sizeof msg, &info);
        if (rcvid == -1) {
            fprintf(stderr, "server: MsgReceive failed: %s\n", strerror(errno));
            return EXIT_FAILURE;
        }

        if (rcvid == 0) {
            /* A pulse: no one is waiting for a reply. */
            switch (msg.pulse.code) {
            case _PULSE_CODE_DISCONNECT:
                printf("server: pulse DISCONNECT scoid %#x\n",
                       (unsigned)msg.pulse.scoid);
                ConnectDetach(msg.pulse.scoid);
                break;
            case MY_PULSE_CODE:
                printf("server: pulse code %d value %d from scoid %#x\n",
                       msg.pulse.code, msg.pulse.value.sival_int,
                       (unsigned)msg.pulse.scoid);
                break;
            default:
                printf("server: unexpected pulse code %d\n", msg.pulse.code);
                break;
            }
            fflush(stdout);
            continue;
        }

        printf("server: rcvid %ld type %#x from pid %d tid %d scoid %#x "
               "(%ld of %ld bytes)\n",
               (long)rcvid, (unsigned)msg.type, (int)info.pid, (int)info.tid,
               (unsigned)info.scoid, (long)info.msglen, (long)info.srcmsglen);

        memset(&reply, 0, sizeof reply);
        switch (msg.type) {
        case MSG_TYPE_ADD:
            reply.result = msg.req.a + msg.req.b;
            printf("server:   add %d + %d = %d\n",
                   (int)msg.req.a, (int)msg.req.b, (int)reply.result);
            MsgReply(rcvid, EOK, &reply, sizeof reply);
            break;

        case MSG_TYPE_UPPER:
            msg.req.text[TEXT_MAX - 1] = '\0';
            strcpy(reply.text, msg.req.text);
            upcase(reply.text, sizeof reply.text);
            reply.result = (int32_t)strlen(reply.text);
            printf("server:   upper \"%s\" -> \"%s\"\n", msg.req.text, reply.text);
            MsgReply(rcvid, EOK, &reply, sizeof reply);
            break;

        case MSG_TYPE_UPPER_V:
            printf("server:   multi-part upper, %d text bytes\n", (int)msg.hdr.a);
            handle_upper_v(rcvid, &msg, &info);
            break;

        case MSG_TYPE_QUIT:
            printf("server:   quit requested, exiting\n");
            MsgReply(rcvid, EOK, NULL, 0);
            fflush(stdout);
            ChannelDestroy(chid);
            return EXIT_SUCCESS;

        default:
            printf("server:   unknown message type %#x -> ENOSYS\n",
                   (unsigned)msg.type);
            MsgError(rcvid, ENOSYS);
            break;
        }
        fflush(stdout);
    }
}
