/*
 * name_msg.h - the protocol of examples/name_server.c and examples/name_client.c, in
 * the style of QNX's name_attach() documentation: a request starts with a header shaped
 * like a pulse, of type 0 (below _IO_BASE, so it is never taken for a system I/O
 * message), and its subtype says what to do.
 */
#ifndef EXAMPLE_NAME_MSG_H
#define EXAMPLE_NAME_MSG_H

#include <sys/dispatch.h>

#define ATTACH_POINT "neutrino_demo" /* the name used when none is given */

#define SUBTYPE_DATA 0x01 /* reply: twice the data */
#define SUBTYPE_QUIT 0x02 /* reply, then the server detaches and exits */

typedef struct _pulse msg_header_t;

typedef struct {
    msg_header_t hdr;
    int          data;
} my_data_t;

#endif
