/*
 * rm_devctl_client.c - rm_devctl's client, as QNX programmers write one: open() the
 * device, devctl() each command of rm_devctl.h, write() and read() its text, fopen() and
 * fscanf() it, and MsgSend() the device's own message on the descriptor open() returned.
 * Then the same device from the Linux side: ioctl() with Linux's _IOR/_IOW numbers,
 * which reach the device as the __DIOF/__DIOT commands (the direction bits swapped).
 * Usage: rm_devctl_client [path]   (default /dev/sample); exit status 0 if all is right.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/neutrino.h>
#include "rm_devctl.h"

static int failures;

static void expect(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "WRONG", what);
    if (!ok)
        failures++;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/dev/sample";
    union _data data;
    my_msg_add_t msg;
    my_msg_add_reply_t reply;
    char buf[64];
    FILE *fp;
    int fd, value, rc, n;

    if ((fd = open(path, O_RDWR)) == -1) {
        fprintf(stderr, "%s: open %s: %s\n", argv[0], path, strerror(errno));
        return EXIT_FAILURE;
    }

    /* devctl(): every direction */
    value = 42;
    rc = devctl(fd, MY_DEVCTL_SETVAL, &value, sizeof(value), NULL);
    expect(rc == EOK, "devctl(__DIOT SETVAL 42)");
    value = 0;
    rc = devctl(fd, MY_DEVCTL_GETVAL, &value, sizeof(value), NULL);
    printf("devctl(__DIOF GETVAL) -> %d\n", value);
    expect(rc == EOK && value == 42, "GETVAL gives 42");
    data.tx.tx = 7;
    rc = devctl(fd, MY_DEVCTL_SETGET, &data, sizeof(data), NULL);
    printf("devctl(__DIOTF SETGET 7) -> previous %d\n", data.rx.rx);
    expect(rc == EOK && data.rx.rx == 42, "SETGET gives back the previous value, 42");
    rc = devctl(fd, MY_DEVCTL_RESET, NULL, 0, NULL);
    value = -1;
    devctl(fd, MY_DEVCTL_GETVAL, &value, sizeof(value), NULL);
    expect(rc == EOK && value == 0, "__DION RESET sets 0");
    rc = devctl(fd, __DION(_DCMD_MISC, 99), NULL, 0, NULL);
    printf("devctl(unknown command) -> %s\n", strerror(rc));
    expect(rc == ENOSYS, "an unknown command is ENOSYS");

    /* write() and read() */
    n = write(fd, "123\n", 4);
    expect(n == 4, "write(\"123\") takes 4 bytes");
    n = read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    printf("read() -> %s", buf);
    expect(strcmp(buf, "value 123\n") == 0, "read() gives \"value 123\"");

    /* fopen() and fscanf() */
    value = 0;
    if ((fp = fopen(path, "r")) != NULL) {
        n = fscanf(fp, "value %d", &value);
        fclose(fp);
    }
    printf("fscanf() -> %d\n", value);
    expect(fp != NULL && n == 1 && value == 123, "fscanf() reads 123");

    /* MsgSend() of the device's own message type on the descriptor */
    msg.type = MY_MSG_ADD;
    msg.subtype = 0;
    msg.add = 1000;
    rc = MsgSend(fd, &msg, sizeof(msg), &reply, sizeof(reply));
    printf("MsgSend(fd, MY_MSG_ADD 1000) -> %d, value %d\n", rc, reply.value);
    expect(rc == EOK && reply.value == 1123, "MsgSend() on the fd reaches message_attach()");

    /* Linux's ioctl(): _IOW is __DIOT, _IOR is __DIOF, bits 30 and 31 swapped */
    printf("ioctl _IOW(_DCMD_MISC, 2, int) = 0x%08x, devctl __DIOT = 0x%08x\n",
           (unsigned)_IOW(_DCMD_MISC, MY_CMD_CODE + 1, int), (unsigned)MY_DEVCTL_SETVAL);
    printf("ioctl _IOR(_DCMD_MISC, 1, int) = 0x%08x, devctl __DIOF = 0x%08x\n",
           (unsigned)_IOR(_DCMD_MISC, MY_CMD_CODE + 0, int), (unsigned)MY_DEVCTL_GETVAL);
    value = 55;
    rc = ioctl(fd, _IOW(_DCMD_MISC, MY_CMD_CODE + 1, int), &value);
    expect(rc == 0, "ioctl(_IOW) is SETVAL");
    value = 0;
    rc = ioctl(fd, _IOR(_DCMD_MISC, MY_CMD_CODE + 0, int), &value);
    printf("ioctl(_IOR) -> %d\n", value);
    expect(rc == 0 && value == 55, "ioctl(_IOR) is GETVAL: 55");

    close(fd);

    /* Closed: MsgSend() on it fails as on QNX */
    rc = MsgSend(fd, &msg, sizeof(msg), &reply, sizeof(reply));
    expect(rc == -1 && errno == EBADF, "MsgSend() on the closed descriptor is EBADF");

    printf("%s\n", failures ? "rm_devctl_client: FAILED" : "rm_devctl_client: all right");
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
