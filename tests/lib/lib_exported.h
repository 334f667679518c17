/* lib_exported.h - the library's exported lookups and value calls, called
 * as functions. */
#ifndef LIB_EXPORTED_H
#define LIB_EXPORTED_H

#include <stdint.h>

#include "phcluster.h"

uint32_t exported_index(const phc_table *t, uint64_t key);
uint32_t exported_find(const phc_table *t, uint64_t key);
uint64_t exported_lookup(const phc_table *t, uint64_t key);
uint64_t exported_increment(phc_table *t, uint64_t key);

#endif
