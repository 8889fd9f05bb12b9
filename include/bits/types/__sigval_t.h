/*
 * <bits/types/__sigval_t.h> for libneutrino: glibc's union sigval with QNX 8.0's
 * `long sival_long` member added (the unblock idiom MsgError(pulse.value.sival_long, -1);
 * struct _pulse's value is a union sigval).  glibc's own headers include this internal
 * header for the union, and the overlay directory comes first on the include path, so the
 * union has the member whichever system header a program includes first.  Size (8) and
 * alignment are glibc's: the three members are the same 64-bit word.
 */
#if defined(__GNUC__)
#pragma GCC system_header /* the same guard as glibc's, replacing its header */
#endif
#ifndef ____sigval_t_defined
#define ____sigval_t_defined

#ifdef __USE_POSIX199309
union sigval {
    int sival_int;
    void *sival_ptr;
    long sival_long;
};
typedef union sigval __sigval_t;
#else
union __sigval {
    int __sival_int;
    void *__sival_ptr;
    long __sival_long;
};
typedef union __sigval __sigval_t;
#endif

#endif /* ____sigval_t_defined */
