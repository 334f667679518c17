/* header_check.c - compiled, never run (ctest lib_header_cxx and
 * lib_header_c99): a caller of phcluster.h's inline calls, as C++11 and as
 * C99 code, which take the __atomic path of the value calls. */
#include "phcluster.h"

uint64_t header_check(phc_table *t, uint64_t key);

uint64_t header_check(phc_table *t, uint64_t key)
{
    return phc_table_index(t, key) + phc_table_find(t, key) + phc_table_lookup(t, key) +
           phc_table_increment(t, key);
}
