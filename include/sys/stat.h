/*
 * <sys/stat.h> overlay for libneutrino: the system's, plus QNX's file type of named
 * special files (what a name_attach()'d name or a resource manager's path is on QNX).
 * Linux has no such file type and its stat() never reports one; 050000 is a file-type
 * value Linux leaves unused.
 */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <sys/stat.h>

#ifndef _NEUTRINO_SYS_STAT_H
#define _NEUTRINO_SYS_STAT_H

#define S_IFNAM 0050000
#define S_ISNAM(m) (((m) & S_IFMT) == S_IFNAM)

#endif /* _NEUTRINO_SYS_STAT_H */
