/*
 * QNX's MsgSend and MsgReceive are cancellation points. Linux's futex wait is not, and a
 * deferred pthread_cancel() sends no signal, so the library sleeps through this wrapper:
 * cancellation is made asynchronous for the length of the system call only (as glibc's own
 * cancellation points once did), and `cleanup(arg)` puts the caller's state right before the
 * thread unwinds.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int neutrino_cancellable_futex_wait(const unsigned *word, unsigned expected,
                                    const struct timespec *timeout,
                                    void (*cleanup)(void *), void *arg)
{
    int old = PTHREAD_CANCEL_DEFERRED;
    int err = 0;
    pthread_cleanup_push(cleanup, arg);
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
    if (syscall(SYS_futex, word, FUTEX_WAIT, expected, timeout, NULL, 0) == -1)
        err = errno;
    pthread_setcanceltype(old, NULL);
    pthread_cleanup_pop(0);
    return err;
}
