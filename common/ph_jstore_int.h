/* ph_jstore_int.h - test entry points of ph_jstore: stop a compaction
 * after a given step and drop the store as a crash would, so tests can
 * check that every point of the sequence recovers. */
#ifndef PH_JSTORE_INT_H
#define PH_JSTORE_INT_H

#include "ph_jstore.h"

enum {
    PH_JSTORE_STEP_SNAPSHOT = 1, /* snapshot.tmp written and synced */
    PH_JSTORE_STEP_NEWLOG = 2,   /* empty journal.(G+1) created and synced */
    PH_JSTORE_STEP_RENAME = 3,   /* snapshot renamed, directory synced */
    PH_JSTORE_STEP_ALL = 4       /* switched to the new log, old log removed */
};

/* ph_jstore_snapshot_commit stopping after step last (the snapshot is
 * consumed either way). */
int ph_jstore_commit_until(ph_jstore *s, ph_jsnap *snap, int last, ph_err *err);

/* Free s without syncing, removing or renaming anything. */
void ph_jstore_crash(ph_jstore *s);

#endif
