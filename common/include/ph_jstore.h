/* ph_jstore.h - a journal that can be compacted: a snapshot plus a log.
 *
 * A state directory holds
 *     snapshot      records that rebuild the live state as of generation G
 *                   (absent until the first compaction: G = 0)
 *     journal       the log of generation 0 (the layout before any snapshot)
 *     journal.G     the log of generation G > 0: records since the snapshot
 * Both files use ph_journal's record framing.  Opening replays the snapshot,
 * then the log of its generation, and opens that log for appending.
 *
 * Compaction writes the caller's live state as a new snapshot of generation
 * G + 1 and starts an empty log:
 *     1 write snapshot.tmp (header record naming G + 1, the records, an end
 *       record counting them), fsync it
 *     2 create journal.(G+1) empty, fsync it
 *     3 rename snapshot.tmp over snapshot, fsync the directory  <- commit
 *     4 append to journal.(G+1) from now on, remove the old log
 * A crash before 3 leaves the old snapshot and its whole log (the new files
 * are removed at the next open); a crash after 3 leaves the new snapshot,
 * whose generation says which log belongs to it: the old log is never
 * replayed again, so no record is lost or applied twice.
 *
 * A snapshot must be whole: one that is torn, corrupt or lacks its header or
 * end record makes open fail with an error naming it, and nothing is
 * removed.  Record types 0 and 255 are the store's own. */
#ifndef PH_JSTORE_H
#define PH_JSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "ph_err.h"
#include "ph_journal.h"

typedef struct ph_jstore ph_jstore;
typedef struct ph_jsnap ph_jsnap;

typedef struct ph_jstore_info {
    uint64_t generation;
    uint64_t snapshot_records, log_records;
    uint64_t snapshot_bytes;
    unsigned long stale_removed; /* leftovers of an interrupted compaction */
} ph_jstore_info;

/* Create dir if needed, replay its snapshot and log through fn (types 1..254
 * only) and open the log for appending.  info is optional. */
int ph_jstore_open(const char *dir, ph_journal_fn fn, void *ctx, ph_jstore **out,
                   ph_jstore_info *info, ph_err *err);

int ph_jstore_append(ph_jstore *s, uint8_t type, const void *data, uint32_t len, bool sync,
                     ph_err *err);
int ph_jstore_sync(ph_jstore *s, ph_err *err);

/* Bytes in the current log, and in the snapshot it follows. */
uint64_t ph_jstore_log_bytes(const ph_jstore *s);
uint64_t ph_jstore_snapshot_bytes(const ph_jstore *s);
uint64_t ph_jstore_generation(const ph_jstore *s);

/* Compaction: begin, put every record of the live state, commit.  Between
 * begin and commit nothing may be appended to s.  On any error the snapshot
 * is abandoned (its temp file removed) and the store goes on with its old
 * log, unharmed. */
int ph_jstore_snapshot_begin(ph_jstore *s, ph_jsnap **out, ph_err *err);
int ph_jsnap_put(ph_jsnap *snap, uint8_t type, const void *data, uint32_t len, ph_err *err);
int ph_jstore_snapshot_commit(ph_jstore *s, ph_jsnap *snap, ph_err *err);
void ph_jstore_snapshot_abort(ph_jstore *s, ph_jsnap *snap);

void ph_jstore_close(ph_jstore *s);

#endif
