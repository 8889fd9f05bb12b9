/*
 * <sys/resmgr.h> for libneutrino: the part of QNX's resource-manager header that the name
 * service uses.  QNX's <sys/dispatch.h> includes it, and QNX servers include it for
 * io_pulse_t and dispatch_t.
 *
 * Not here yet: the resource-manager framework itself (resmgr_context_t, resmgr_iomsgs_t,
 * the connect and I/O function tables, resmgr_attach(), resmgr_msgread(), ...).  It is
 * not implemented, so nothing of it is declared.
 */
#ifndef _NEUTRINO_SYS_RESMGR_H
#define _NEUTRINO_SYS_RESMGR_H

#include <pthread.h>
#include <sys/iomsg.h>

/* A pulse as the resource-manager callbacks receive it. */
typedef struct _pulse io_pulse_t;

/* A dispatch handle: opaque; name_attach() creates its channel on first use. */
typedef struct _dispatch dispatch_t;

#endif /* _NEUTRINO_SYS_RESMGR_H */
