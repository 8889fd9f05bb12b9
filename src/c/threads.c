/*
 * Threads the library starts or watches, in C because they cross pthread's own unwinding
 * (pthread_exit, cancellation), which must never run through Rust frames.
 */
#include <errno.h>
#include <pthread.h>
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
 * library first, so that its death is reported (_NTO_CHF_THREAD_DEATH). */
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
    int err;
    if (s == NULL)
        return EAGAIN;
    s->routine = routine;
    s->arg = arg;
    err = pthread_create(thread, attr, registered_start, s);
    if (err != 0)
        free(s);
    return err;
}
