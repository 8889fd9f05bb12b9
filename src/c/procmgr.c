/*
 * procmgr_ability(), variadic as QNX declares it (Rust cannot define a variadic function).
 * Linux's capabilities decide what a process may do, so the abilities a program asks to
 * keep, drop or lock change nothing; the target process must exist.
 */
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

int procmgr_ability(pid_t pid, unsigned ability, ...)
{
    int saved = errno, found = pid == 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH;
    (void)ability;
    errno = saved;
    return found ? 0 : ESRCH;
}
