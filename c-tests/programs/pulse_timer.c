/*
 * pulse_timer.c - a periodic pulse timer, the way QNX course code arms one.
 *
 * The pulse goes to a connection to our own channel (ChannelCreate then ConnectAttach
 * to it: chid 1, coid 0x40000002 on QNX, where chids and side-channel coids share one
 * number space and 0x40000000 is the process manager's), at the priority SchedGet()
 * reports for this thread (10 for SCHED_OTHER), with a 64-bit sival_long value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sched.h>
#include <sys/neutrino.h>
#include <sys/siginfo.h>

#include "msg_def.h"

#define NUM_TICKS   5
#define TICK_VALUE  5000000000L     /* does not fit in an int */

int main(void)
{
    struct sigevent event;
    struct itimerspec itime;
    struct sched_param param;
    struct _pulse pulse;
    timer_t timer_id;
    int chid, coid, rcvid, policy, ticks = 0;

    chid = ChannelCreate(0);
    coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    if (chid == -1 || coid == -1) {
        perror("ChannelCreate/ConnectAttach");
        exit(EXIT_FAILURE);
    }
    printf("chid %d self coid %#x\n", chid, coid);

    policy = SchedGet(0, 0, &param);
    printf("SchedGet: policy %s, priority %d\n",
           policy == SCHED_OTHER ? "SCHED_OTHER" : policy == SCHED_FIFO ? "SCHED_FIFO" : "SCHED_RR",
           param.sched_priority);

    SIGEV_PULSE_INIT(&event, coid, param.sched_priority, PULSE_CODE_TIMER, 0);
    event.sigev_value.sival_long = TICK_VALUE;

    if (timer_create(CLOCK_MONOTONIC, &event, &timer_id) == -1) {
        perror("timer_create");
        exit(EXIT_FAILURE);
    }
    itime.it_value.tv_sec = 0;
    itime.it_value.tv_nsec = 20000000;      /* 20 ms, then every 20 ms */
    itime.it_interval.tv_sec = 0;
    itime.it_interval.tv_nsec = 20000000;
    timer_settime(timer_id, 0, &itime, NULL);

    while (ticks < NUM_TICKS) {
        rcvid = MsgReceive(chid, &pulse, sizeof(pulse), NULL);
        if (rcvid == -1) {
            perror("MsgReceive");
            exit(EXIT_FAILURE);
        }
        if (rcvid == 0 && pulse.code == PULSE_CODE_TIMER) {
            ticks++;
            printf("timer pulse %d: code %d value %ld\n", ticks, pulse.code, pulse.value.sival_long);
        }
    }
    timer_delete(timer_id);
    return 0;
}
