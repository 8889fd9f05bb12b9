/* The shared regions as a hostile process that read src/transport/region.rs sees them: the
 * offsets the adversarial tests (test_hostile_*.c) write at.  Every value here is checked
 * against the Rust layout by region.rs's unit test `hostile_layout_h_matches_the_layout`,
 * so a layout change fails `make test` until this file follows it. */
#ifndef LIBNEUTRINO_CTEST_HOSTILE_LAYOUT_H
#define LIBNEUTRINO_CTEST_HOSTILE_LAYOUT_H

#define CONN_MAGIC 0x4e544f31u
#define NSLOTS 32
#define PULSE_RING 128

/* ConnLayout */
#define CONN_PULSES 64
#define CONN_SLOTS 4224
/* PulseRing and PulseRec */
#define RING_RECS 64
#define REC_SIZE 32
#define REC_SEQ 24
/* Slot */
#define SLOT_SIZE 131328
#define SL_STATE 0
#define SL_CLIENT_WAITING 4
#define SL_TID 8
#define SL_PRIO 12
#define SL_COID 16
#define SL_REPLY_FLAGS 20
#define SL_AGENT_DIR 24
#define SL_UNBLOCK 28
#define SL_AGENT_OFFSET 32
#define SL_AGENT_LEN 40
#define SL_AGENT_RESULT 48
#define SL_TICKET 56
#define SL_SEND_LEN 64
#define SL_REPLY_CAP 72
#define SL_SEND_PARTS 88
#define SL_REPLY_PARTS 104
#define SL_STATUS 112
#define SL_REPLY_LEN 120
#define SL_SEND_DATA 200
#define SL_REPLY_DATA 65736
#define INLINE 65536
/* BellServer */
#define BELLS_DEAD 4
#define BELLS_SERVED 16
/* BellClients */
#define BELL_TICKETS 8

#endif
