/* lib_exported.c - the calls phcluster.h inlines (phc_table_index, _find,
 * _lookup, _increment) as the library exports them (PHC_NO_INLINE: the
 * functions other languages and dlsym callers get), for test_lib and
 * test_lib_values to compare with the header's inline calls. */
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

uint64_t exported_lookup(const phc_table *t, uint64_t key)
{
    return phc_table_lookup(t, key);
}

uint64_t exported_increment(phc_table *t, uint64_t key)
{
    return phc_table_increment(t, key);
}
