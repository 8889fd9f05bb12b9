/* <sys/netmgr.h> for libneutrino: node descriptors and their names. Remote nodes are
 * reached through the node's gateway, neutrino-netd; without it, the netmgr_* calls
 * fail with ENOTSUP (except netmgr_ndtostr of ND_LOCAL_NODE), as QNX's do without Qnet. */
#ifndef _NEUTRINO_SYS_NETMGR_H
#define _NEUTRINO_SYS_NETMGR_H

#pragma GCC system_header

#include <stddef.h>

#define ND_LOCAL_NODE 0
#define ND_NODE_BITS 16
#define ND_NODE_MASK ((1u << ND_NODE_BITS) - 1)
#define ND_NODE_CMP(a, b) ((int)((unsigned)(a) & ND_NODE_MASK) - (int)((unsigned)(b) & ND_NODE_MASK))

#define ND2S_DIR_SHOW    0x0001 /* a usable path: /net/<node>/ */
#define ND2S_DIR_HIDE    0x0002
#define ND2S_QOS_SHOW    0x0004
#define ND2S_QOS_HIDE    0x0008
#define ND2S_NAME_SHOW   0x0010
#define ND2S_NAME_HIDE   0x0020
#define ND2S_DOMAIN_SHOW 0x0040
#define ND2S_DOMAIN_HIDE 0x0080
#define ND2S_LOCAL_STR   0x1000
#define ND2S_SEP_FORCE   0x2000

#ifdef __cplusplus
extern "C" {
#endif

extern int netmgr_remote_nd(int __remote_nd, int __local_nd);
extern int netmgr_ndtostr(unsigned __flags, int __nd, char *__buf, size_t __maxbuf);
extern int netmgr_strtond(const char *__nodename, char **__endstr);

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SYS_NETMGR_H */
