/* fake_worker.h - a scripted worker: speaks the worker protocol from the
 * test itself, so a test decides what a worker sends and when.
 *
 * Once READY is sent, a scripted worker heartbeats by itself from every
 * wait of the harness (hx_sleep_ms, hx_wait, hx_client, its own receives):
 * a test that polls `status` or waits for a client never lets it fall
 * silent, however slow the machine.  fake_silence() makes it go quiet on
 * purpose. */
#ifndef FAKE_WORKER_H
#define FAKE_WORKER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "ph_proto.h"

typedef struct fake_worker {
    void *ctx, *sock;
    bool silent;
    uint64_t last_beat_ms;
    /* Keys of the last TASK taken (fake_result solves them). */
    uint32_t *keys;
    uint32_t nkeys;
} fake_worker;

/* Ways a scripted worker's table can be wrong. */
enum fake_lie { LIE_NONE, LIE_VALUES, LIE_SHAPE, LIE_HEADER };

/* Connect as `id` (no transport heartbeat: it must be able to go silent). */
void fake_open(fake_worker *f, const char *endpoint, const char *id);
void fake_close(fake_worker *f);
void fake_send(fake_worker *f, const ph_msg *m);
/* READY (pid 1, NUMA node 7); from then on it heartbeats while waiting. */
void fake_ready_credits(fake_worker *f, uint32_t threads, uint32_t credits);
void fake_ready(fake_worker *f);
/* Open, READY, and wait until `phclient status` lists it. */
void fake_join(fake_worker *f, const char *id, uint32_t threads, uint32_t credits);
/* True while `phclient status` lists a worker with this id. */
bool fake_listed(const char *id);
/* Stop (true) or resume heartbeats. */
void fake_silence(fake_worker *f, bool silent);
void fake_heartbeat(fake_worker *f);
/* Wait for a message of `type`, skipping anything else; decoded into *m,
 * whose views point into *fr: free both when done. */
void fake_recv(fake_worker *f, ph_msg_type type, ph_msg *m, zmq_msg_t *fr);
/* Wait for a TASK; copies its ids, table name and keys. */
void fake_take_task(fake_worker *f, uint64_t *job, uint64_t *task, char *name, size_t len);
/* A successful RESULT for the last TASK taken: its keys solved from start
 * seed `seed`, then falsified as `lie` says.  Returns the table's first
 * seed (it appears in the generated .c file). */
uint32_t fake_result(fake_worker *f, uint64_t job, uint64_t task, uint64_t seed,
                     enum fake_lie lie);
/* PING and wait for the PONG. */
void fake_ping(fake_worker *f);
/* TASKs that reach f: at least `want` (waiting for them as long as a hang
 * allows), then any more until none has come for quiet_ms.  Their keys
 * bytes are added up in *bytes; f answers none.  A slow machine can only
 * hide a task that should not have been sent, never fail a right count. */
int fake_count_tasks(fake_worker *f, int want, int quiet_ms, uint64_t *bytes);

#endif
