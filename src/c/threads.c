/*
 * Threads the library starts or watches, in C because they cross pthread's own unwinding
 * (pthread_exit, cancellation), which must never run through Rust frames.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>

/* SIGEV_THREAD: `function(value)` in a new detached thread made with `attributes`. */
struct sigev_start {
    void (*function)(union sigval);
    union sigval value;
};

static void *sigev_thread(void *arg)
{
    struct sigev_start s = *(struct sigev_start *)arg;
    free(arg);
    s.function(s.value);
    return NULL;
}

int neutrino_sigev_thread(void (*function)(union sigval), pthread_attr_t *attributes, void *value)
{
    struct sigev_start *s = malloc(sizeof *s);
    pthread_t t;
    int err;
    if (s == NULL)
        return EAGAIN;
    s->function = function;
    s->value.sival_ptr = value;
    err = pthread_create(&t, attributes, sigev_thread, s);
    if (err != 0) {
        free(s);
        return err;
    }
    /* Fails harmlessly when the attributes already made it detached. */
    pthread_detach(t);
    return 0;
}

/* pthread_create as the <pthread.h> overlay names it: the new thread registers with the
 * library first, so that its death is reported (_NTO_CHF_THREAD_DEATH). As on QNX, `thread`
 * may be NULL when the caller does not want the id. */
struct start {
    void *(*routine)(void *);
    void *arg;
};

void __libneutrino_thread_register(void);

static void *registered_start(void *arg)
{
    struct start s = *(struct start *)arg;
    free(arg);
    __libneutrino_thread_register();
    return s.routine(s.arg);
}

int __libneutrino_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                                 void *(*routine)(void *), void *arg)
{
    struct start *s = malloc(sizeof *s);
    pthread_t unwanted;
    int err;
    if (s == NULL)
        return EAGAIN;
    s->routine = routine;
    s->arg = arg;
    err = pthread_create(thread != NULL ? thread : &unwanted, attr, registered_start, s);
    if (err != 0)
        free(s);
    return err;
}

/* Scheduling changes, as the <pthread.h> and <sched.h> overlays name them: the library's
 * cached thread priorities are read again afterwards. */
void __libneutrino_sched_changed(void);

int __libneutrino_pthread_setschedparam(pthread_t thread, int policy, const struct sched_param *param)
{
    int err = pthread_setschedparam(thread, policy, param);
    __libneutrino_sched_changed();
    return err;
}

int __libneutrino_pthread_setschedprio(pthread_t thread, int prio)
{
    int err = pthread_setschedprio(thread, prio);
    __libneutrino_sched_changed();
    return err;
}

int __libneutrino_sched_setparam(pid_t pid, const struct sched_param *param)
{
    int r = sched_setparam(pid, param);
    __libneutrino_sched_changed();
    return r;
}

int __libneutrino_sched_setscheduler(pid_t pid, int policy, const struct sched_param *param)
{
    int r = sched_setscheduler(pid, policy, param);
    __libneutrino_sched_changed();
    return r;
}
