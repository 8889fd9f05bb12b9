/*
 * <sys/iofunc.h> for libneutrino.  QNX's name_attach() examples include it without using
 * it, so it exists and brings what QNX's brings: <inttypes.h>, <sys/types.h> and
 * <sys/resmgr.h>.
 *
 * Not here yet: the POSIX-layer helpers of the resource-manager framework
 * (iofunc_attr_t, iofunc_ocb_t, iofunc_mount_t, iofunc_func_init(), iofunc_*_default(),
 * ...).  They are not implemented, so nothing of them is declared.
 */
#ifndef _NEUTRINO_SYS_IOFUNC_H
#define _NEUTRINO_SYS_IOFUNC_H

#include <inttypes.h>
#include <sys/types.h>
#include <sys/resmgr.h>

#endif /* _NEUTRINO_SYS_IOFUNC_H */
