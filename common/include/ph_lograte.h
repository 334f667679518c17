/* ph_lograte.h - a bounded rate limit on log lines about peer events.
 *
 * A peer can make a daemon log a line per frame it sends (READY, a bad
 * frame, a refused request); a flood of frames must not become a flood of
 * log.  The limiter counts each (event, peer) pair over a window: the first
 * `burst` events of a window are logged, the next one logs a single notice
 * that more are being counted, and the rest are only counted; when the
 * window ends one line says how many were suppressed:
 *
 *   level=info component=coord peer=w1 event=ready suppressed=99994
 *     window_ms=60000 msg="repeated peer events suppressed"
 *
 * Memory is fixed when the limiter is made: a table of PH_LOGRATE_SLOTS
 * pairs.  A pair that finds no slot (many peers at once, e.g. a peer that
 * changes identity for every frame) is counted in a per-event slot shared
 * by all such peers (peer=*), so more identities cannot grow the table nor
 * the log: at most (PH_LOGRATE_SLOTS + PH_LOGRATE_SHARED) * (burst + 2)
 * lines per window, whatever is sent.
 *
 * One owner: the limiter is not locked (the coordinator's loop thread). */
#ifndef PH_LOGRATE_H
#define PH_LOGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"
#include "ph_log.h"

#define PH_LOGRATE_SLOTS 1024       /* (event, peer) pairs tracked at once */
#define PH_LOGRATE_SHARED 32        /* per-event slots of the untracked peers */
#define PH_LOGRATE_BURST 5          /* default: events logged per window */
#define PH_LOGRATE_WINDOW_MS 60000  /* default window */
#define PH_LOGRATE_PEER_MAX 40      /* characters of the peer kept for the summary */

typedef struct ph_lograte ph_lograte;

/* component: as for ph_log (kept, not copied); burst 0 = PH_LOGRATE_BURST,
 * window_ms 0 = PH_LOGRATE_WINDOW_MS. */
int ph_lograte_new(const char *component, unsigned burst, uint64_t window_ms,
                   ph_lograte **out, ph_err *err);

/* Should the caller log this event?  event: a static name ("ready"), kept
 * by pointer; peer: the peer's identity bytes (hashed; the printable text
 * of its first bytes names it in the summary); level: the level the event
 * is logged at (an event whose level is off is not counted).  False means
 * the limiter has counted it (or logged the notice) and the caller must
 * not log it. */
bool ph_lograte_allow(ph_lograte *r, const char *event, const void *peer, size_t peer_len,
                      enum ph_log_level level, uint64_t now_ms);

/* Log the summary of every window that has ended (and free its slot).
 * Cheap to call on every loop turn: it sweeps at most once a second. */
void ph_lograte_tick(ph_lograte *r, uint64_t now_ms);

/* Events suppressed so far (all slots, summarised or not). */
uint64_t ph_lograte_suppressed(const ph_lograte *r);

/* Log the summaries still pending (windows not ended yet) and free.  NULL
 * is a no-op. */
void ph_lograte_free(ph_lograte *r);

#endif
