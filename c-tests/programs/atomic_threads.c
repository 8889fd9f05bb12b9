/*
 * atomic_threads.c - worker threads that count with <atomic.h> and report to the main
 * thread's channel with pulses.
 *
 * The workers are started with pthread_create(NULL, ...): nobody joins them, so like
 * much QNX code we do not keep their ids (QNX accepts a NULL thread-id pointer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <atomic.h>
#include <sys/neutrino.h>

#include "msg_def.h"

#define NUM_WORKERS 4
#define LOOPS       100000

#define FLAG_STARTED 0x80000000u
#define FLAG_ODD     0x100u

volatile unsigned counter;
volatile unsigned tickets;
volatile unsigned flags;
int coid;

void *worker(void *arg)
{
    int id = (int)arg;
    unsigned ticket;
    int i;

    for (i = 0; i < LOOPS; i++) {
        atomic_add(&counter, 3);
        atomic_sub(&counter, 2);
    }
    ticket = atomic_add_value(&tickets, 1);
    atomic_set(&flags, 1u << id);
    atomic_toggle(&flags, FLAG_ODD);
    MsgSendPulse(coid, -1, PULSE_CODE_DONE, (ticket << 8) | id);
    return NULL;
}

int main(void)
{
    struct _pulse pulse;
    int chid, i, done = 0;
    unsigned seen = 0;

    chid = ChannelCreate(0);
    coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    if (chid == -1 || coid == -1) {
        perror("ChannelCreate/ConnectAttach");
        return 1;
    }
    atomic_set(&flags, FLAG_STARTED);

    for (i = 0; i < NUM_WORKERS; i++) {
        if (pthread_create(NULL, NULL, worker, (void *)i) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    }

    while (done < NUM_WORKERS) {
        if (MsgReceive(chid, &pulse, sizeof(pulse), NULL) != 0)
            continue;
        if (pulse.code == PULSE_CODE_DONE) {
            printf("worker %d done, ticket %d\n", pulse.value.sival_int & 0xff, pulse.value.sival_int >> 8);
            seen |= 1u << (pulse.value.sival_int >> 8);
            done++;
        }
    }

    atomic_clr(&flags, FLAG_STARTED);
    printf("counter %u (expected %u), flags %#x (expected 0xf), tickets %#x\n",
           counter, NUM_WORKERS * LOOPS, flags, seen);
    if (counter != NUM_WORKERS * LOOPS || flags != 0xf || seen != 0xf) {
        printf("FAILED\n");
        return 1;
    }
    printf("all workers agree\n");
    return 0;
}
