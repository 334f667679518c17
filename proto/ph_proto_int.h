/* ph_proto_int.h - pieces of the codec shared between its files. */
#ifndef PH_PROTO_INT_H
#define PH_PROTO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

/* Deepest container nesting accepted.  The deepest real message is
 * STATUS_REPLY -> jobs -> job -> nodes -> node = 5 levels. */
#define PH_PROTO_MAX_DEPTH 8
/* Most msgpack objects (of any kind) in one frame.  msgpack-c reserves a
 * msgpack_object (24 bytes) per element before it reads it, so this bounds
 * the unpacker's zone to about 100 MB whatever the frame holds. */
#define PH_PROTO_MAX_OBJECTS 4000000u

/* Walk the raw msgpack bytes of exactly one object, with bounds checks,
 * before msgpack-c sees them: every container count must fit in the bytes
 * left (each element takes at least one byte), nesting stays within
 * PH_PROTO_MAX_DEPTH, ext types and the reserved byte 0xc1 are refused, and
 * the object must end exactly at len.  Returns 0 or PH_EPROTO. */
int ph_proto_scan(const unsigned char *p, size_t len, ph_err *err);

/* A JOB's fields: the body of a JOB message and each STATUS_REPLY job;
 * two more (parts_total, parts_done) when the job has partitioned tables. */
#define PH_PROTO_JOB_FIELDS 13
#define PH_PROTO_JOB_FIELDS_PARTS 15

/* A STATUS_REPLY worker: [id, host, pid, numa_node, threads, running, done,
 * failed, last_heartbeat_ms, stuck]. */
#define PH_PROTO_WORKER_FIELDS 10

/* PROGRESS entries: a task [job_id, task_id, steps], a group [job_id,
 * task_id, group, steps]. */
#define PH_PROTO_PROGRESS_FIELDS 3
#define PH_PROTO_GROUP_PROGRESS_FIELDS 4

/* A RESULT's table: [hash, compact, seeds, nkeys, nedges, nverts, shift,
 * width, assigned]. */
#define PH_PROTO_TABLE_FIELDS 9

/* What the codec refuses in a table (both directions): NULL if fine, else
 * "field: reason". */
struct ph_table_view;
const char *ph_proto_table_problem(const struct ph_table_view *t);

/* Fields after [version, type] for a message type; -1 if unknown.  For a
 * JOB the count without part counts (the decoder also takes
 * PH_PROTO_JOB_FIELDS_PARTS). */
int ph_proto_nfields(uint64_t type);

/* Problems of a PART_TASK / PART_RESULT (both directions): NULL if fine,
 * else "field: reason". */
struct ph_msg_part_task;
struct ph_msg_part_result;
const char *ph_proto_part_task_problem(const struct ph_msg_part_task *t);
const char *ph_proto_part_result_problem(const struct ph_msg_part_result *r);

#endif
