/* ph_journal.h - an append-only, checksummed record log.
 *
 * The coordinator writes what it must not forget (a job was accepted, a task
 * finished) as records, and rebuilds its state after a restart by replaying
 * them.  Each record is framed as
 *     magic 0xA7 | type u8 | len u32 LE | crc32c u32 LE (type, len, data) | data
 * A crash can leave a torn last record: replay stops at the first record
 * that is short or fails its checksum and cuts the file back to the last good
 * one, so later appends follow whole records. */
#ifndef PH_JOURNAL_H
#define PH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

#define PH_JOURNAL_MAX_RECORD (16u * 1024u * 1024u)

typedef struct ph_journal ph_journal;

/* Called once per good record, in order; non-zero stops the replay and is
 * returned by ph_journal_replay. */
typedef int (*ph_journal_fn)(void *ctx, uint8_t type, const void *data, uint32_t len);

/* Replay path (a missing file is an empty journal), truncating a torn tail.
 * *records (optional) gets the number of good records. */
int ph_journal_replay(const char *path, ph_journal_fn fn, void *ctx, uint64_t *records,
                      ph_err *err);

/* Replay a file that must be whole (a snapshot): a short, torn or corrupt
 * record is an error naming the file and the byte, and nothing is cut. */
int ph_journal_replay_strict(const char *path, ph_journal_fn fn, void *ctx, uint64_t *records,
                             ph_err *err);

/* Open for appending, creating the file (0600) if needed. */
int ph_journal_open(const char *path, ph_journal **out, ph_err *err);

/* Append one record; sync = fdatasync before returning (a durable point). */
int ph_journal_append(ph_journal *j, uint8_t type, const void *data, uint32_t len, bool sync,
                      ph_err *err);

int ph_journal_sync(ph_journal *j, ph_err *err);

/* Bytes in the file: what was there at open plus what was appended. */
uint64_t ph_journal_size(const ph_journal *j);

void ph_journal_close(ph_journal *j);

/* Records are checked with ph_crc32c (ph_crc.h). */

#endif
