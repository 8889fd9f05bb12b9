/*
 * headers_only.c - a program that includes QNX's headers and the standard C ones it
 * would include on QNX, nothing Linux-specific, and leans on what QNX's headers bring
 * along: INT_MAX, struct sched_param, STDOUT_FILENO and write(), struct _msg_info64,
 * and the C library's strlcpy() and itoa().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/iomsg.h>

int main(void)
{
    struct _msg_info64 info;
    struct sched_param param;
    struct _pulse pulse;
    char number[16], line[64];
    int chid, coid, rcvid;

    chid = ChannelCreate(0);
    coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    if (chid == -1 || coid == -1) {
        perror("ChannelCreate/ConnectAttach");
        return EXIT_FAILURE;
    }

    param.sched_priority = 10;
    MsgSendPulse(coid, param.sched_priority, 5, INT_MAX);
    rcvid = MsgReceive(chid, &pulse, sizeof(pulse), &info);
    if (rcvid != 0) {
        perror("MsgReceive");
        return EXIT_FAILURE;
    }

    itoa(pulse.value.sival_int, number, 10);
    strlcpy(line, "pulse value ", sizeof(line));
    strlcpy(line + strlen(line), number, sizeof(line) - strlen(line));
    strcat(line, "\n");
    write(STDOUT_FILENO, line, strlen(line));
    return strcmp(number, "2147483647") == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
