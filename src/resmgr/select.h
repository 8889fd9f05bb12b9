/* Between the dispatch layer (dispatch.c) and select_attach() (select.c). */
#ifndef NEUTRINO_RESMGR_SELECT_H
#define NEUTRINO_RESMGR_SELECT_H

#include <sys/dispatch.h>

struct neutrino_select;

/* dispatch.c: where dpp keeps its select state (made with the handle's state), or NULL
 * with errno set for an unknown handle. */
struct neutrino_select **neutrino_dispatch_select(dispatch_t *dpp) __attribute__((visibility("hidden")));
/* select.c, from dispatch_block(): arms what needs arming; 1 when a descriptor was ready
 * already and ctp now holds its pulse. */
int neutrino_select_rearm(dispatch_context_t *ctp) __attribute__((visibility("hidden")));
/* select.c, when the handle is destroyed: its thread stopped, its state freed. */
void neutrino_select_destroy(struct neutrino_select *s) __attribute__((visibility("hidden")));

#endif
