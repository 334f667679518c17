/* lib_test_util.h - what test_lib and test_lib_values share: the group's
 * scratch directory (test_util.h, included here), tables built from
 * generated keys (asserted built), saved images read back, header fields
 * read and written in place, and damaged images loaded from a file and
 * checked refused.
 * Failures are cmocka assertions. */
#ifndef LIB_TEST_UTIL_H
#define LIB_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "phcluster.h"
#include "test_util.h"

/* n 64-bit keys in pairs that share their low half (a shuffled 32-bit key
 * set of the seed) and differ in the high half: high and high + 1. */
uint64_t *lt_keys64(uint32_t n, uint64_t seed, uint32_t high);

/* The table of the keys with the options, asserted built (the library's
 * message printed if not). */
phc_table *lt_build32(const uint32_t *keys, uint32_t n, const phc_options *o);
phc_table *lt_build64(const uint64_t *keys, uint32_t n, const phc_options *o);

/* The whole file (asserted read; caller frees), and a table saved as NAME
 * in the directory and read back as its image. */
void *lt_read_file(const char *path, size_t *len);
uint8_t *lt_save_image(const phc_table *t, const char *name, size_t *len);

uint64_t lt_get64(const uint8_t *p, size_t off);
void lt_put64(uint8_t *p, size_t off, uint64_t v);
void lt_put32(uint8_t *p, size_t off, uint32_t v);

/* Edits an image of len bytes in place. */
typedef void (*lt_edit)(uint8_t *p, size_t len);

/* The first len bytes of a copy of img (img_len bytes) after edit (none if
 * NULL) and, if fix, the checksum made right, loaded from a file: refused
 * with code, no table, the code in the error and a one-line message that
 * names the file. */
void lt_expect_refused(const uint8_t *img, size_t img_len, size_t len, lt_edit edit, int fix,
                       int code);

#endif
