/*
 * msg_def.h - the messages and pulse codes the programs in this directory exchange.
 *
 * As QNX course code does: every message starts with a 16-bit type, and our types sit
 * above _IO_MAX so that they are never taken for a system I/O message.
 */
#ifndef MSG_DEF_H
#define MSG_DEF_H

#include <stdint.h>
#include <sys/neutrino.h>
#include <sys/iomsg.h>

#define MSG_ADD     (_IO_MAX + 1)   /* reply: a + b */
#define MSG_QUIT    (_IO_MAX + 2)   /* reply, then the server exits */
#define MSG_NOTIFY  (_IO_MAX + 3)   /* "deliver my event when the data is in" */
#define MSG_WORK    (_IO_MAX + 4)   /* a request the server takes its time over */
#define MSG_HELLO   (_IO_MAX + 5)   /* reply: the server's own hello */
#define MSG_BOGUS   (_IO_MAX + 99)  /* no server knows this one */

#define PULSE_CODE_DATA   (_PULSE_CODE_MINAVAIL + 1)
#define PULSE_CODE_DONE   (_PULSE_CODE_MINAVAIL + 2)
#define PULSE_CODE_QUIT   (_PULSE_CODE_MINAVAIL + 3)
#define PULSE_CODE_TIMER  (_PULSE_CODE_MINAVAIL + 4)

typedef struct {
    uint16_t type;
    uint16_t subtype;
    int      a;
    int      b;
} add_msg_t;

typedef struct {
    uint16_t        type;
    uint16_t        subtype;
    struct sigevent event;
} notify_msg_t;

typedef struct {
    uint16_t type;
    uint16_t subtype;
    char     text[64];
} hello_msg_t;

/* What a server's MsgReceive() may hand it. */
typedef union {
    uint16_t      type;
    struct _pulse pulse;
    add_msg_t     add;
    notify_msg_t  notify;
    hello_msg_t   hello;
} recv_buf_t;

#endif
