/*
 * <atomic.h> for libneutrino: QNX's atomic operations on an unsigned, on the compiler's
 * atomic builtins (sequentially consistent, as QNX's are full barriers).  The _value
 * forms return the value *loc had before the operation.
 */
#ifndef _NEUTRINO_ATOMIC_H
#define _NEUTRINO_ATOMIC_H

#define __NEUTRINO_ATOMIC(__name, __builtin, __fix)                                      \
    static __inline__ void atomic_##__name(volatile unsigned *__loc, unsigned __v)       \
    {                                                                                    \
        (void)__builtin(__loc, __fix(__v), __ATOMIC_SEQ_CST);                            \
    }                                                                                    \
    static __inline__ unsigned atomic_##__name##_value(volatile unsigned *__loc,         \
                                                       unsigned __v)                     \
    {                                                                                    \
        return __builtin(__loc, __fix(__v), __ATOMIC_SEQ_CST);                           \
    }
#define __NEUTRINO_ATOMIC_AS_IS(__v) (__v)
#define __NEUTRINO_ATOMIC_NOT(__v) (~(__v))

__NEUTRINO_ATOMIC(add, __atomic_fetch_add, __NEUTRINO_ATOMIC_AS_IS)
__NEUTRINO_ATOMIC(sub, __atomic_fetch_sub, __NEUTRINO_ATOMIC_AS_IS)
__NEUTRINO_ATOMIC(set, __atomic_fetch_or, __NEUTRINO_ATOMIC_AS_IS)
__NEUTRINO_ATOMIC(clr, __atomic_fetch_and, __NEUTRINO_ATOMIC_NOT) /* clears the bits given */
__NEUTRINO_ATOMIC(toggle, __atomic_fetch_xor, __NEUTRINO_ATOMIC_AS_IS)

#undef __NEUTRINO_ATOMIC
#undef __NEUTRINO_ATOMIC_AS_IS
#undef __NEUTRINO_ATOMIC_NOT

#endif /* _NEUTRINO_ATOMIC_H */
