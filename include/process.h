/* <process.h> for libneutrino: QNX code includes it for getpid() and friends. */
#ifndef _NEUTRINO_PROCESS_H
#define _NEUTRINO_PROCESS_H

#include <sys/types.h>
#include <unistd.h>

#endif /* _NEUTRINO_PROCESS_H */
