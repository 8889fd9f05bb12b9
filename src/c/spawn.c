/*
 * QNX's spawn*() family of <process.h>: start a program as a child process, and either wait
 * for it (P_WAIT: the raw wait status, as QNX's spawnve returns it), return its pid
 * (P_NOWAIT), return its pid and never leave a zombie (P_NOWAITO: a detached thread reaps
 * it), or replace the caller (P_OVERLAY: exec). A NULL environment is the caller's own.
 * The child keeps the caller's pid as its parent, so `getppid()` finds the spawner, as QNX
 * course code expects.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define P_WAIT 0
#define P_NOWAIT 1
#define P_OVERLAY 2
#define P_NOWAITO 3

extern char **environ;

static void *reap(void *arg)
{
    pid_t pid = (pid_t)(intptr_t)arg;
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
    return NULL;
}

/* Every signal blocked in the reaper, so that it never takes the application's. */
static int reap_later(pid_t pid)
{
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t t;
    int err;
    if ((err = pthread_attr_init(&attr)) != 0)
        return err;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&t, &attr, reap, (void *)(intptr_t)pid);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return err;
}

static int spawn_mode(int mode, const char *path, char *const argv[], char *const envp[], int search)
{
    pid_t pid;
    int err, status;
    if (path == NULL || argv == NULL) {
        errno = EFAULT;
        return -1;
    }
    if (envp == NULL)
        envp = environ;
    switch (mode) {
    case P_OVERLAY:
        return search ? execvpe(path, argv, envp) : execve(path, argv, envp);
    case P_WAIT:
    case P_NOWAIT:
    case P_NOWAITO:
        break;
    default:
        errno = EINVAL;
        return -1;
    }
    err = search ? posix_spawnp(&pid, path, NULL, NULL, argv, envp)
                 : posix_spawn(&pid, path, NULL, NULL, argv, envp);
    if (err != 0) {
        errno = err;
        return -1;
    }
    if (mode == P_WAIT) {
        while (waitpid(pid, &status, 0) == -1) {
            if (errno != EINTR)
                return -1;
        }
        return status;
    }
    if (mode == P_NOWAITO && (err = reap_later(pid)) != 0) {
        /* No thread to reap it: wait for it here rather than leave a zombie. */
        waitpid(pid, NULL, 0);
        errno = err;
        return -1;
    }
    return pid;
}

/* The arguments after arg0, up to the NULL that ends them, as an argv on the heap. */
static char **collect(const char *arg0, va_list ap, char ***envp_out)
{
    va_list count;
    size_t n = 1;
    char **argv;
    va_copy(count, ap);
    if (arg0 != NULL)
        while (va_arg(count, char *) != NULL)
            n++;
    va_end(count);
    argv = malloc((n + 1) * sizeof *argv);
    if (argv == NULL)
        return NULL;
    argv[0] = (char *)arg0;
    for (size_t i = 1; i < n; i++)
        argv[i] = va_arg(ap, char *);
    argv[n] = NULL;
    if (arg0 != NULL)
        (void)va_arg(ap, char *); /* the NULL that ends the list; the environment follows */
    if (envp_out != NULL)
        *envp_out = va_arg(ap, char **);
    return argv;
}

static int spawn_list(int mode, const char *path, const char *arg0, va_list ap, int with_env, int search)
{
    char **envp = NULL;
    char **argv = collect(arg0, ap, with_env ? &envp : NULL);
    int r, saved;
    if (argv == NULL) {
        errno = ENOMEM;
        return -1;
    }
    r = spawn_mode(mode, path, argv, envp, search);
    saved = errno;
    free(argv);
    errno = saved;
    return r;
}

int spawnv(int mode, const char *path, char *const argv[])
{
    return spawn_mode(mode, path, argv, NULL, 0);
}

int spawnve(int mode, const char *path, char *const argv[], char *const envp[])
{
    return spawn_mode(mode, path, argv, envp, 0);
}

int spawnvp(int mode, const char *file, char *const argv[])
{
    return spawn_mode(mode, file, argv, NULL, 1);
}

int spawnvpe(int mode, const char *file, char *const argv[], char *const envp[])
{
    return spawn_mode(mode, file, argv, envp, 1);
}

#define SPAWN_LIST(name, with_env, search)                                              \
    int name(int mode, const char *path, const char *arg0, ...)                        \
    {                                                                                   \
        va_list ap;                                                                     \
        int r;                                                                          \
        va_start(ap, arg0);                                                             \
        r = spawn_list(mode, path, arg0, ap, with_env, search);                        \
        va_end(ap);                                                                     \
        return r;                                                                       \
    }

SPAWN_LIST(spawnl, 0, 0)
SPAWN_LIST(spawnle, 1, 0)
SPAWN_LIST(spawnlp, 0, 1)
SPAWN_LIST(spawnlpe, 1, 1)
