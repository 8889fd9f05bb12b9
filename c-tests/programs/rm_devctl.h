/*
 * rm_devctl.h - what rm_devctl (the device) and rm_devctl_client share, as a QNX
 * driver's public header does: its devctl() commands and its own message type.
 */
#ifndef RM_DEVCTL_H
#define RM_DEVCTL_H

#include <stdint.h>
#include <devctl.h>
#include <sys/iomsg.h>

#define MY_CMD_CODE 1
#define MY_DEVCTL_GETVAL __DIOF(_DCMD_MISC, MY_CMD_CODE + 0, int)
#define MY_DEVCTL_SETVAL __DIOT(_DCMD_MISC, MY_CMD_CODE + 1, int)
#define MY_DEVCTL_SETGET __DIOTF(_DCMD_MISC, MY_CMD_CODE + 2, union _data)
#define MY_DEVCTL_RESET __DION(_DCMD_MISC, MY_CMD_CODE + 3)

union _data {
    struct {
        int tx;
    } tx;
    struct {
        int rx;
    } rx;
};

/* A message of the device's own, sent with MsgSend() on an open()ed descriptor: the
 * value plus `add` comes back. */
#define MY_MSG_ADD (_IO_MAX + 1)

typedef struct {
    uint16_t type; /* MY_MSG_ADD */
    uint16_t subtype;
    int32_t add;
} my_msg_add_t;

typedef struct {
    int32_t value;
} my_msg_add_reply_t;

#endif
