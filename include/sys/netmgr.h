/* <sys/netmgr.h> for libneutrino: node descriptors. Only the local node exists. */
#ifndef _NEUTRINO_SYS_NETMGR_H
#define _NEUTRINO_SYS_NETMGR_H

#define ND_LOCAL_NODE 0
#define ND_NODE_BITS 16
#define ND_NODE_MASK ((1u << ND_NODE_BITS) - 1)
#define ND_NODE_CMP(a, b) ((int)((unsigned)(a) & ND_NODE_MASK) - (int)((unsigned)(b) & ND_NODE_MASK))

#endif /* _NEUTRINO_SYS_NETMGR_H */
