/* lib_exported.c - phc_table_index and phc_table_find as the library
 * exports them (PHC_NO_INLINE: the functions other languages and dlsym
 * callers get), for test_lib to compare with the header's inline calls. */
#define PHC_NO_INLINE 1
#include "phcluster.h"

#include "lib_exported.h"

uint32_t exported_index(const phc_table *t, uint64_t key)
{
    return phc_table_index(t, key);
}

uint32_t exported_find(const phc_table *t, uint64_t key)
{
    return phc_table_find(t, key);
}
