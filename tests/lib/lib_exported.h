/* lib_exported.h - the library's exported lookups, called as functions. */
#ifndef LIB_EXPORTED_H
#define LIB_EXPORTED_H

#include <stdint.h>

#include "phcluster.h"

uint32_t exported_index(const phc_table *t, uint64_t key);
uint32_t exported_find(const phc_table *t, uint64_t key);

#endif
