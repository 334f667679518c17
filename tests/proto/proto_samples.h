/* proto_samples.h - valid messages of every type with non-trivial values,
 * shared by the proto tests, the fuzz corpus generator and the fuzzer. */
#ifndef PROTO_SAMPLES_H
#define PROTO_SAMPLES_H

#include "ph_proto.h"

/* Number of samples; every ph_msg_type appears at least once. */
int proto_sample_count(void);

/* Fill m with sample i.  Its views and arrays point into static storage:
 * never ph_msg_free a sample. */
void proto_sample(int i, ph_msg *m);

/* A short file-name-safe label for sample i, e.g. "result-many". */
const char *proto_sample_label(int i);

#endif
