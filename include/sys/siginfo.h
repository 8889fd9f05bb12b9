/* <sys/siginfo.h> for libneutrino: QNX code includes it for union sigval and
 * struct sigevent, which come from the system's <signal.h>. */
#ifndef _NEUTRINO_SYS_SIGINFO_H
#define _NEUTRINO_SYS_SIGINFO_H

#include <signal.h>

#endif /* _NEUTRINO_SYS_SIGINFO_H */
