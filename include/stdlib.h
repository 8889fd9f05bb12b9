/*
 * <stdlib.h> overlay for libneutrino: the system's, plus what QNX's <stdlib.h> adds:
 * itoa() and its siblings (reached through asm labels under __libneutrino_ names, so
 * that a program's own itoa never clashes with the library's), and the min()/max()
 * macros (C only, as on QNX).  Not declared in strict ISO C modes, like QNX's.
 */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <stdlib.h>

#if !defined(_NEUTRINO_STDLIB_H) && defined(__USE_MISC)
#define _NEUTRINO_STDLIB_H

__BEGIN_DECLS
/* `value` in `radix` (2 to 36; else NULL and errno EINVAL) into `buf`, which is returned.
 * A minus sign only in radix 10; other radices show a negative value's bits as the
 * unsigned type of the same width.  Base 2 needs 8 * sizeof value + 1 bytes. */
extern char *__REDIRECT_NTH(itoa, (int __value, char *__buf, int __radix), __libneutrino_itoa);
extern char *__REDIRECT_NTH(ltoa, (long __value, char *__buf, int __radix), __libneutrino_ltoa);
extern char *__REDIRECT_NTH(lltoa, (long long __value, char *__buf, int __radix),
                            __libneutrino_lltoa);
extern char *__REDIRECT_NTH(utoa, (unsigned __value, char *__buf, int __radix), __libneutrino_utoa);
extern char *__REDIRECT_NTH(ultoa, (unsigned long __value, char *__buf, int __radix),
                            __libneutrino_ultoa);
extern char *__REDIRECT_NTH(ulltoa, (unsigned long long __value, char *__buf, int __radix),
                            __libneutrino_ulltoa);
__END_DECLS

/* C only: in C++ they would break std::min/std::max (QNX leaves them out there too). */
#ifndef __cplusplus
#ifndef __max
#define __max(a, b) (((a) > (b)) ? (a) : (b))
#endif
#ifndef __min
#define __min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef max
#define max(a, b) (((a) > (b)) ? (a) : (b))
#endif
#ifndef min
#define min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#endif

#endif /* _NEUTRINO_STDLIB_H */
