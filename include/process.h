/*
 * <process.h> for libneutrino: QNX code includes it for getpid() and friends, and for the
 * spawn*() family (QNX's <unistd.h> includes it too, and so does ours): start a program as
 * a child and, by `mode`, wait for it (P_WAIT returns its wait status), return its pid
 * (P_NOWAIT), return its pid and leave no zombie (P_NOWAITO), or become it (P_OVERLAY).
 * A NULL envp is the caller's environment; the p forms search PATH.
 */
#ifndef _NEUTRINO_PROCESS_H
#define _NEUTRINO_PROCESS_H

#include <sys/types.h>
#include <unistd.h>

#define P_WAIT 0
#define P_NOWAIT 1
#define P_OVERLAY 2
#define P_NOWAITO 3

#ifdef __cplusplus
extern "C" {
#endif

int spawnl(int mode, const char *path, const char *arg0, ...);
int spawnle(int mode, const char *path, const char *arg0, ...);
int spawnlp(int mode, const char *file, const char *arg0, ...);
int spawnlpe(int mode, const char *file, const char *arg0, ...);
int spawnv(int mode, const char *path, char *const argv[]);
int spawnve(int mode, const char *path, char *const argv[], char *const envp[]);
int spawnvp(int mode, const char *file, char *const argv[]);
int spawnvpe(int mode, const char *file, char *const argv[], char *const envp[]);

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_PROCESS_H */
