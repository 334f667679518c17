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

/* A short file-name-safe label for sample i, e.g. "result-table". */
const char *proto_sample_label(int i);

/* Visit every field of m in wire order: numbers (bools as 0/1, signed
 * values sign-extended, list lengths included) with b == NULL, str/bin
 * fields with b set.  name is the field's name, without indices. */
typedef void (*proto_visit_fn)(void *ctx, const char *name, uint64_t u, const ph_bytes *b);
void proto_msg_walk(const ph_msg *m, proto_visit_fn fn, void *ctx);

/* NULL if a and b hold the same values, else a static text naming the
 * first field that differs ("field 12 (keys)").  Independent of the codec:
 * compares the C structs, not encodings. */
const char *proto_msg_diff(const ph_msg *a, const ph_msg *b);

/* True if every non-empty str/bin view of m lies inside buf[0..len). */
bool proto_msg_views_in(const ph_msg *m, const void *buf, size_t len);

#endif
