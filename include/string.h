/*
 * <string.h> overlay for libneutrino: the system's, plus the QNX-only calls QNX's
 * <string.h> declares (its Watcom-derived extensions), and strlcpy/strlcat where the C
 * library lacks them (glibc before 2.38; a newer glibc's own are used).  They are
 * reached through asm labels under __libneutrino_ names that no C library defines.
 * Like QNX's (and glibc's own extensions), they are not declared in strict ISO C modes.
 */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <string.h>

#if !defined(_NEUTRINO_STRING_H) && defined(__USE_MISC)
#define _NEUTRINO_STRING_H

__BEGIN_DECLS
#if !__GLIBC_PREREQ(2, 38)
extern size_t __REDIRECT_NTH(strlcpy, (char *__dst, const char *__src, size_t __n),
                             __libneutrino_strlcpy);
extern size_t __REDIRECT_NTH(strlcat, (char *__dst, const char *__src, size_t __n),
                             __libneutrino_strlcat);
#endif
/* Case-insensitive comparisons (ASCII, as strcasecmp in the C locale). */
extern int __REDIRECT_NTH(stricmp, (const char *__s1, const char *__s2), __libneutrino_stricmp);
extern int __REDIRECT_NTH(_stricmp, (const char *__s1, const char *__s2), __libneutrino_stricmp);
extern int __REDIRECT_NTH(strcmpi, (const char *__s1, const char *__s2), __libneutrino_stricmp);
extern int __REDIRECT_NTH(strnicmp, (const char *__s1, const char *__s2, size_t __n),
                          __libneutrino_strnicmp);
extern int __REDIRECT_NTH(_strnicmp, (const char *__s1, const char *__s2, size_t __n),
                          __libneutrino_strnicmp);
extern int __REDIRECT_NTH(memicmp, (const void *__s1, const void *__s2, size_t __n),
                          __libneutrino_memicmp);
extern int __REDIRECT_NTH(_memicmp, (const void *__s1, const void *__s2, size_t __n),
                          __libneutrino_memicmp);
/* In-place edits; each returns its argument. */
extern char *__REDIRECT_NTH(strlwr, (char *__s), __libneutrino_strlwr);
extern char *__REDIRECT_NTH(_strlwr, (char *__s), __libneutrino_strlwr);
extern char *__REDIRECT_NTH(strupr, (char *__s), __libneutrino_strupr);
extern char *__REDIRECT_NTH(_strupr, (char *__s), __libneutrino_strupr);
extern char *__REDIRECT_NTH(strrev, (char *__s), __libneutrino_strrev);
extern char *__REDIRECT_NTH(strset, (char *__s, int __c), __libneutrino_strset);
extern char *__REDIRECT_NTH(strnset, (char *__s, int __c, size_t __n), __libneutrino_strnset);
__END_DECLS

#endif /* _NEUTRINO_STRING_H */
