/*
 * <sys/procmgr.h> for libneutrino: procmgr_daemon(), procmgr_ability() and
 * procmgr_event_notify() (PROCMGR_EVENT_PROCESS_DEATH), with QNX 7.1's constants. The other
 * calls of QNX's header (procmgr_session, procmgr_event_trigger, procmgr_event_notify_add,
 * procmgr_value_*, procmgr_ability_create, ...) are not declared.
 */
#ifndef _NEUTRINO_SYS_PROCMGR_H
#define _NEUTRINO_SYS_PROCMGR_H

#include <stdint.h>
#include <sys/types.h>

#define PROCMGR_DAEMON_NOCHDIR   0x00000001
#define PROCMGR_DAEMON_NOCLOSE   0x00000002
#define PROCMGR_DAEMON_NODEVNULL 0x00000004
#define PROCMGR_DAEMON_KEEPUMASK 0x00000008

/* Only PROCMGR_EVENT_PROCESS_DEATH is delivered; registering for any other bit fails with
 * ENOSYS. */
#define PROCMGR_EVENT_SYNC              0x00000001
#define PROCMGR_EVENT_PATHSPACE         0x00000002
#define PROCMGR_EVENT_TOD               0x00000004
#define PROCMGR_EVENT_SYSCONF           0x00010000
#define PROCMGR_EVENT_CONFSTR           0x00020000
#define PROCMGR_EVENT_DAEMON_DEATH      0x00040000
#define PROCMGR_EVENT_CONTIG_ALLOC_FAIL 0x00080000
#define PROCMGR_EVENT_PROCESS_DEATH     0x00100000
#define PROCMGR_EVENT_APS_BANKRUPTCY    0x00200000
#define PROCMGR_EVENT_PROCESS_CREATE    0x00400000
#define PROCMGR_EVENT_PRIVILEGED        0xffff0000

/* Ability descriptors: PROCMGR_ADN_* | PROCMGR_AOP_* | PROCMGR_AID_*. Linux's capabilities
 * decide what a process may do; procmgr_ability() accepts them and changes nothing. */
typedef uint32_t ability_desc_t;

#define PROCMGR_AID_SPAWN_SETUID            0u
#define PROCMGR_AID_SPAWN_SETGID            1u
#define PROCMGR_AID_SETUID                  2u
#define PROCMGR_AID_SETGID                  3u
#define PROCMGR_AID_GETID                   4u
#define PROCMGR_AID_PATHSPACE               5u
#define PROCMGR_AID_REBOOT                  6u
#define PROCMGR_AID_CPUMODE                 7u
#define PROCMGR_AID_RUNSTATE                8u
#define PROCMGR_AID_CONFSET                 9u
#define PROCMGR_AID_RSRCDBMGR               10u
#define PROCMGR_AID_SESSION                 11u
#define PROCMGR_AID_UMASK                   12u
#define PROCMGR_AID_EVENT                   13u
#define PROCMGR_AID_RLIMIT                  14u
#define PROCMGR_AID_MEM_ADD                 15u
#define PROCMGR_AID_MEM_PHYS                16u
#define PROCMGR_AID_MEM_SPECIAL             17u
#define PROCMGR_AID_MEM_GLOBAL              18u
#define PROCMGR_AID_MEM_PEER                19u
#define PROCMGR_AID_MEM_LOCK                20u
#define PROCMGR_AID_SPAWN                   21u
#define PROCMGR_AID_FORK                    22u
#define PROCMGR_AID_PROT_EXEC               23u
#define PROCMGR_AID_WAIT                    24u
#define PROCMGR_AID_MSG_QUEUE               26u
#define PROCMGR_AID_CLOCKSET                27u
#define PROCMGR_AID_DUMPER                  28u
#define PROCMGR_AID_INTERRUPT               29u
#define PROCMGR_AID_INTERRUPTEVENT          PROCMGR_AID_INTERRUPT
#define PROCMGR_AID_IO                      31u
#define PROCMGR_AID_TRACE                   32u
#define PROCMGR_AID_PRIORITY                33u
#define PROCMGR_AID_CONNECTION              34u
#define PROCMGR_AID_SCHEDULE                35u
#define PROCMGR_AID_SIGNAL                  36u
#define PROCMGR_AID_TIMER                   37u
#define PROCMGR_AID_PGRP                    38u
#define PROCMGR_AID_MAP_FIXED               39u
#define PROCMGR_AID_PATH_TRUST              40u
#define PROCMGR_AID_SWAP                    41u
#define PROCMGR_AID_RCONSTRAINT             42u
#define PROCMGR_AID_CHILD_NEWAPP            43u
#define PROCMGR_AID_PUBLIC_CHANNEL          44u
#define PROCMGR_AID_APS_ROOT                45u
#define PROCMGR_AID_ABLE_CREATE             46u
#define PROCMGR_AID_RUNSTATE_BURST          47u
#define PROCMGR_AID_DEFAULT_TIMER_TOLERANCE 48u
#define PROCMGR_AID_XPROCESS_QUERY          50u
#define PROCMGR_AID_CHROOT                  51u
#define PROCMGR_AID_POWER                   52u
#define PROCMGR_AID_PROT_WRITE_AND_EXEC     53u
#define PROCMGR_AID_SRANDOM                 54u
#define PROCMGR_AID_HYP                     56u
#define PROCMGR_AID_RLIMIT_PEER             57u
#define PROCMGR_AID_CHANNEL_CONNECT         58u
#define PROCMGR_AID_MAC_POLICY              59u
#define PROCMGR_AID_SETTYPEID               60u
#define PROCMGR_AID_ABLE_PRIV               61u
#define PROCMGR_AID_XPROCESS_ABLE           62u
#define PROCMGR_AID_XPROCESS_DEBUG          64u
#define PROCMGR_AID_XPROCESS_MEM_READ       65u
#define PROCMGR_AID_HIGH_RESOLUTION_TIMER   66u
#define PROCMGR_AID_UNTRUSTED_EXEC          67u
#define PROCMGR_AID_SERVER_MONITOR          68u
#define PROCMGR_AID_SIGEV_THREAD            69u
#define PROCMGR_AID_PRIVREG                 70u
#define PROCMGR_AID_MAX                     PROCMGR_AID_PRIVREG
#define PROCMGR_AID_MASK                    0xffffu
#define PROCMGR_AID_EOL                     PROCMGR_AID_MASK

#define PROCMGR_AOP_DENY        0x00010000u
#define PROCMGR_AOP_ALLOW       0x00020000u
#define PROCMGR_AOP_SUBRANGE    0x00040000u
#define PROCMGR_AOP_LOCK        0x00080000u
#define PROCMGR_AOP_INHERIT_YES 0x00400000u
#define PROCMGR_AOP_INHERIT_NO  0x00800000u

#define PROCMGR_ADN_ROOT    0x10000000u
#define PROCMGR_ADN_NONROOT 0x20000000u

#ifdef __cplusplus
extern "C" {
#endif
struct sigevent;

/* Runs the process in the background in a session of its own: it forks (the caller's pid
 * changes), the parent ends with `status`; EBUSY once the process holds channels or
 * connections. Returns the number of descriptors the process had open. */
extern int procmgr_daemon(int __status, unsigned __flags);
/* EOK, or ESRCH for a process that does not exist (the error number is returned). */
extern int procmgr_ability(pid_t __pid, unsigned __ability, ...);
extern int procmgr_event_notify(unsigned __flags, const struct sigevent *__event);
#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SYS_PROCMGR_H */
