/*
 * metronome.c - the QNX course's metronome, written the way its students write it.  A
 * resource manager attaches /dev/local/metronome and a read-only
 * /dev/local/metronome-help.  A thread drives the beat from a pulse timer.  Reading the
 * device prints the state line; writing it takes commands:
 *   set <bpm> <ts-top> <ts-bottom>   pause <1-9>   start   stop   quit
 * "quit" ends the program through dispatch_unblock().  An optional argument names another
 * directory for the two files (unprivileged runs).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/neutrino.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>

#define METRONOME_PULSE _PULSE_CODE_MINAVAIL
#define PAUSE_PULSE (_PULSE_CODE_MINAVAIL + 1)
#define STOP_PULSE (_PULSE_CODE_MINAVAIL + 2)
#define START_PULSE (_PULSE_CODE_MINAVAIL + 3)
#define QUIT_PULSE (_PULSE_CODE_MINAVAIL + 4)

typedef union {
    struct _pulse pulse;
} my_message_t;

/* The time signatures the course's table allows: intervals per beat and the pattern. */
struct signature {
    int top, bottom, intervals;
    const char *pattern;
} signatures[] = {
    {2, 4, 4, "|1&2&"},         {3, 4, 6, "|1&2&3&"},        {4, 4, 8, "|1&2&3&4&"},
    {5, 4, 10, "|1&2&3&4-5-"},  {3, 8, 6, "|1-2-3-"},        {6, 8, 6, "|1&a2&a"},
    {9, 8, 9, "|1&a2&a3&a"},    {12, 8, 12, "|1&a2&a3&a4&a"},
};
#define NSIGNATURES (sizeof(signatures) / sizeof(signatures[0]))

static struct {
    int bpm;
    struct signature *sig;
    int running, paused;
} state = {120, &signatures[0], 1, 0};
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

static resmgr_connect_funcs_t connect_funcs, help_connect_funcs;
static resmgr_io_funcs_t io_funcs, help_io_funcs;
static iofunc_attr_t metronome_attr, help_attr;
static int metronome_coid; /* to the metronome thread's channel */
static volatile int quitting;
static char data[256];

static const char help_text[] =
    "Metronome Resource Manager (Resmgr)\n"
    "\n"
    "Usage: metronome [directory]   (the files go in /dev/local by default)\n"
    "\n"
    "API:\n"
    " pause [1-9]                      - pause the metronome for 1-9 seconds\n"
    " quit                             - quit the metronome\n"
    " set <bpm> <ts-top> <ts-bottom>   - set the metronome to <bpm> ts-top/ts-bottom\n"
    " start                            - start the metronome from stopped state\n"
    " stop                             - stop the metronome; use 'start' to resume\n";

static double seconds_per_interval(void)
{
    return 60.0 / state.bpm / (state.sig->intervals / state.sig->top);
}

static void arm(timer_t timer_id, double secs)
{
    struct itimerspec itime;
    long ns = (long)(secs * 1e9);
    itime.it_value.tv_sec = ns / 1000000000;
    itime.it_value.tv_nsec = ns % 1000000000;
    itime.it_interval = itime.it_value;
    timer_settime(timer_id, 0, &itime, NULL);
}

/* The beat: one pulse per interval prints the next character of the pattern. */
void *metronome_thread(void *arg)
{
    int chid = (int)(long)arg;
    struct sigevent event;
    timer_t timer_id;
    my_message_t msg;
    const char *p = NULL;
    int rcvid, coid;

    coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    SIGEV_PULSE_INIT(&event, coid, SIGEV_PULSE_PRIO_INHERIT, METRONOME_PULSE, 0);
    timer_create(CLOCK_REALTIME, &event, &timer_id);
    pthread_mutex_lock(&state_lock);
    arm(timer_id, seconds_per_interval());
    pthread_mutex_unlock(&state_lock);

    for (;;) {
        rcvid = MsgReceive(chid, &msg, sizeof(msg), NULL);
        if (rcvid != 0)
            continue;
        pthread_mutex_lock(&state_lock);
        switch (msg.pulse.code) {
        case METRONOME_PULSE:
            if (state.paused) {
                /* The pause is over: back to the beat. */
                state.paused = 0;
                arm(timer_id, seconds_per_interval());
                p = NULL;
                break;
            }
            if (!state.running)
                break;
            /* A measure ends with a newline; the next starts the pattern over. */
            if (p == NULL || *p == '\0')
                p = state.sig->pattern;
            printf("%c", *p++);
            if (*p == '\0')
                printf("\n");
            fflush(stdout);
            break;
        case PAUSE_PULSE:
            /* Silent for the given seconds: the next timer pulse ends the pause. */
            state.paused = 1;
            arm(timer_id, msg.pulse.value.sival_int);
            break;
        case STOP_PULSE:
            state.running = 0;
            break;
        case START_PULSE:
            state.running = 1;
            arm(timer_id, seconds_per_interval());
            p = NULL;
            break;
        case QUIT_PULSE:
            pthread_mutex_unlock(&state_lock);
            timer_delete(timer_id);
            ConnectDetach(coid);
            return NULL;
        }
        pthread_mutex_unlock(&state_lock);
    }
}

int io_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb)
{
    int nb, status;

    if ((status = iofunc_read_verify(ctp, msg, ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;

    if (ocb->attr == &help_attr) {
        nb = strlen(help_text);
    } else {
        pthread_mutex_lock(&state_lock);
        double spi = seconds_per_interval();
        snprintf(data, sizeof data,
                 "[metronome: %d beats/min, time signature %d/%d, secs-per-interval: %.2f, nanoSecs: %ld]\n",
                 state.bpm, state.sig->top, state.sig->bottom, spi, (long)(spi * 1e9));
        pthread_mutex_unlock(&state_lock);
        nb = strlen(data);
    }
    const char *text = ocb->attr == &help_attr ? help_text : data;

    /* Everything was read: end of file. */
    if (ocb->offset >= nb)
        return _RESMGR_NPARTS(0);
    nb = min(nb - ocb->offset, msg->i.nbytes);
    _IO_SET_READ_NBYTES(ctp, nb);
    SETIOV(ctp->iov, text + ocb->offset, nb);
    ocb->offset += nb;
    if (nb > 0)
        ocb->attr->flags |= IOFUNC_ATTR_ATIME;
    return _RESMGR_NPARTS(1);
}

int io_write(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb)
{
    int status, bpm, top, bottom, secs;
    char *buf;
    size_t i;

    if ((status = iofunc_write_verify(ctp, msg, ocb, NULL)) != EOK)
        return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;

    _IO_SET_WRITE_NBYTES(ctp, msg->i.nbytes);
    buf = (char *)malloc(msg->i.nbytes + 1);
    if (buf == NULL)
        return ENOMEM;
    if (resmgr_msgread(ctp, buf, msg->i.nbytes, sizeof(msg->i)) == -1) {
        free(buf);
        return errno;
    }
    buf[msg->i.nbytes] = '\0';

    status = EOK;
    if (sscanf(buf, "set %d %d %d", &bpm, &top, &bottom) == 3) {
        struct signature *sig = NULL;
        for (i = 0; i < NSIGNATURES; i++)
            if (signatures[i].top == top && signatures[i].bottom == bottom)
                sig = &signatures[i];
        if (sig == NULL || bpm <= 0) {
            fprintf(stderr, "Error - invalid settings: %d %d/%d\n", bpm, top, bottom);
            status = EINVAL;
        } else {
            pthread_mutex_lock(&state_lock);
            state.bpm = bpm;
            state.sig = sig;
            pthread_mutex_unlock(&state_lock);
            MsgSendPulse(metronome_coid, SchedGet(0, 0, NULL), START_PULSE, 0);
        }
    } else if (sscanf(buf, "pause %d", &secs) == 1) {
        if (secs >= 1 && secs <= 9) {
            MsgSendPulse(metronome_coid, SchedGet(0, 0, NULL), PAUSE_PULSE, secs);
        } else {
            fprintf(stderr, "Error - pause must be between 1 and 9 seconds\n");
            status = EINVAL;
        }
    } else if (strncmp(buf, "stop", 4) == 0) {
        MsgSendPulse(metronome_coid, SchedGet(0, 0, NULL), STOP_PULSE, 0);
    } else if (strncmp(buf, "start", 5) == 0) {
        MsgSendPulse(metronome_coid, SchedGet(0, 0, NULL), START_PULSE, 0);
    } else if (strncmp(buf, "quit", 4) == 0) {
        MsgSendPulse(metronome_coid, SchedGet(0, 0, NULL), QUIT_PULSE, 0);
        quitting = 1;
        /* Reply first, then wake the receive loop so that it sees quitting. */
        MsgReply(ctp->rcvid, msg->i.nbytes, NULL, 0);
        dispatch_unblock((dispatch_context_t *)ctp);
        free(buf);
        return _RESMGR_NOREPLY;
    } else {
        buf[strcspn(buf, "\n")] = '\0';
        fprintf(stderr, "Error - '%s' is not a valid command\n", buf);
        status = EINVAL;
    }
    free(buf);

    if (status == EOK && msg->i.nbytes > 0)
        ocb->attr->flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    return status == EOK ? _RESMGR_NPARTS(0) : status;
}

/* The help file takes no writes. */
int io_write_help(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb)
{
    (void)ctp, (void)msg, (void)ocb;
    return EROFS;
}

int main(int argc, char *argv[])
{
    dispatch_t *dpp;
    dispatch_context_t *ctp;
    resmgr_attr_t rattr;
    pthread_attr_t tattr;
    char path[PATH_MAX], help_path[PATH_MAX];
    const char *dir = argc > 1 ? argv[1] : "/dev/local";
    int id, help_id, chid;

    snprintf(path, sizeof path, "%s/metronome", dir);
    snprintf(help_path, sizeof help_path, "%s/metronome-help", dir);

    if ((dpp = dispatch_create()) == NULL) {
        fprintf(stderr, "%s: Unable to allocate dispatch handle.\n", argv[0]);
        return EXIT_FAILURE;
    }

    memset(&rattr, 0, sizeof rattr);
    rattr.nparts_max = 1;
    rattr.msg_max_size = 2048;

    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    iofunc_attr_init(&metronome_attr, S_IFNAM | 0666, 0, 0);

    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &help_connect_funcs, _RESMGR_IO_NFUNCS, &help_io_funcs);
    help_io_funcs.read = io_read;
    help_io_funcs.write = io_write_help;
    iofunc_attr_init(&help_attr, S_IFNAM | 0444, 0, 0);

    if ((id = resmgr_attach(dpp, &rattr, path, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &metronome_attr)) == -1) {
        fprintf(stderr, "%s: Unable to attach name %s: %s\n", argv[0], path, strerror(errno));
        return EXIT_FAILURE;
    }
    if ((help_id = resmgr_attach(dpp, &rattr, help_path, _FTYPE_ANY, 0, &help_connect_funcs, &help_io_funcs,
                                 &help_attr)) == -1) {
        fprintf(stderr, "%s: Unable to attach name %s: %s\n", argv[0], help_path, strerror(errno));
        return EXIT_FAILURE;
    }

    chid = ChannelCreate(0);
    metronome_coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    pthread_attr_init(&tattr);
    pthread_create(NULL, &tattr, metronome_thread, (void *)(long)chid);

    ctp = dispatch_context_alloc(dpp);
    while (!quitting) {
        if ((ctp = dispatch_block(ctp)) == NULL) {
            fprintf(stderr, "%s: dispatch_block: %s\n", argv[0], strerror(errno));
            return EXIT_FAILURE;
        }
        dispatch_handler(ctp);
    }

    resmgr_detach(dpp, id, _RESMGR_DETACH_ALL);
    resmgr_detach(dpp, help_id, _RESMGR_DETACH_ALL);
    dispatch_context_free(ctp);
    dispatch_destroy(dpp);
    printf("\nmetronome: quit\n");
    return EXIT_SUCCESS;
}
