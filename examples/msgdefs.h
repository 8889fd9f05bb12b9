/*
 * msgdefs.h - the message protocol shared by examples/server.c and
 * examples/client.c.  Plain QNX style: every message starts with a 16-bit
 * type (kept above _IO_MAX, i.e. > 512, so it can never be mistaken for a
 * system I/O message) and a 16-bit subtype.
 */
#ifndef EXAMPLE_MSGDEFS_H
#define EXAMPLE_MSGDEFS_H

#include <stdint.h>

#define MSG_TYPE_ADD      0x1001  /* reply.result = a + b                         */
#define MSG_TYPE_UPPER    0x1002  /* reply.text = toupper(req.text)              */
#define MSG_TYPE_UPPER_V  0x1003  /* header + a bytes of text (multi-part send)  */
#define MSG_TYPE_QUIT     0x10FF  /* server replies, then exits                   */
#define MSG_TYPE_BOGUS    0x1234  /* not handled: server answers ENOSYS          */

#define TEXT_MAX          64      /* text carried inline in a request            */
#define BIG_TEXT_MAX      4096    /* longest text of a multi-part request        */

#define MY_PULSE_CODE     (_PULSE_CODE_MINAVAIL + 5)

/* Header common to all requests. */
typedef struct {
    uint16_t type;
    uint16_t subtype;
    int32_t  a;
    int32_t  b;
} msg_header_t;

/* A complete single-buffer request. */
typedef struct {
    uint16_t type;
    uint16_t subtype;
    int32_t  a;
    int32_t  b;
    char     text[TEXT_MAX];
} request_t;

typedef struct {
    int32_t  result;            /* ADD: a + b; UPPER*: number of text bytes */
    int32_t  reserved;
    char     text[TEXT_MAX];
} reply_t;

/* Reply header of the multi-part request; the text follows it. */
typedef struct {
    int32_t  result;
    int32_t  reserved;
} reply_header_t;

#endif
