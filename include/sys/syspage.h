/*
 * <sys/syspage.h> for libneutrino: the part of QNX's system page that programs read on
 * Linux — the qtime entry and num_cpu:
 *
 *     SYSPAGE_ENTRY(qtime)->cycles_per_sec     rate of ClockCycles()
 *     SYSPAGE_ENTRY(qtime)->nsec               CLOCK_MONOTONIC, ns
 *     SYSPAGE_ENTRY(qtime)->nsec_tod_adjust    CLOCK_REALTIME - CLOCK_MONOTONIC, ns
 *     SYSPAGE_ENTRY(qtime)->boot_time          UTC second the machine booted
 *     _syspage_ptr->num_cpu                    CPUs configured
 *
 * _syspage_ptr is a call that refreshes the time fields (read them through a fresh
 * SYSPAGE_ENTRY(qtime), not through a pointer kept from earlier) and returns this process's
 * read-only page; the first call measures cycles_per_sec (about 10 ms).  The other entries
 * of QNX's page (cpuinfo, hwinfo, callouts, ...) do not exist: naming one fails to compile.
 * Layouts are QNX 7.1's 64-bit ones.
 */
#ifndef _NEUTRINO_SYS_SYSPAGE_H
#define _NEUTRINO_SYS_SYSPAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct syspage_entry_info {
    uint16_t entry_off;
    uint16_t entry_size;
};

struct _clockadjust {
    uint32_t tick_count;
    int32_t tick_nsec_inc;
};

#define QTIME_FLAG_TIMER_ON_CPU0 0x00000001u
#define QTIME_FLAG_CHECK_STABLE 0x00000002u
#define QTIME_FLAG_TICKLESS 0x00000004u
#define QTIME_FLAG_GLOBAL_CLOCKCYCLES 0x00000008u /* ClockCycles() agrees on every CPU */

struct qtime_entry {
    uint64_t cycles_per_sec; /* for ClockCycles() */
    volatile uint64_t nsec_tod_adjust;
    volatile uint64_t nsec;
    uint32_t nsec_inc; /* the tick: the realtime clock's resolution */
    uint32_t boot_time; /* UTC seconds when the machine booted */
    struct _clockadjust adjust;
    uint32_t timer_rate;
    int32_t timer_scale;
    uint32_t timer_load;
    int32_t intr;
    uint32_t epoch;
    uint32_t flags;
    uint32_t rr_interval_mul;
    uint32_t spare0;
    volatile uint64_t nsec_stable;
    uint32_t spare[4];
};

/* The head of QNX's struct syspage_entry with only the qtime section. */
struct syspage_entry {
    uint16_t size;
    uint16_t total_size;
    uint16_t type;
    uint16_t num_cpu;
    struct syspage_entry_info qtime;
};

struct syspage_entry *__libneutrino_syspage(void);

#define _syspage_ptr (__libneutrino_syspage())
#define _SYSPAGE_ENTRY(__base, __entry) \
    ((struct __entry##_entry *)(void *)((char *)(__base) + (__base)->__entry.entry_off))
#define SYSPAGE_ENTRY(__entry) _SYSPAGE_ENTRY(_syspage_ptr, __entry)

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SYS_SYSPAGE_H */
