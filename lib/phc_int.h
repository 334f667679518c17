/* phc_int.h - the table behind phcluster.h (library-internal).
 *
 * phc.c builds, loads and saves, phc_lookup.c looks up (phc_lookup_int.h);
 * phc_values.c keeps the values
 * (one per key, in key order) and their atomic operations. */
#ifndef PHC_INT_H
#define PHC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"
#include "ph_part.h"
#include "ph_solver.h"
#include "phc_lookup_int.h"
#include "phcluster.h"

struct phc_table {
    phc_lookup lk;            /* first, as phcluster.h's inline lookups need */
    uint8_t has_keys;         /* find possible */
    int kind;                 /* PH_IMAGE_CHM or PH_IMAGE_PART */
    ph_table chm;
    ph_part_table part;
    uint32_t nkeys;
    unsigned key_size;        /* 4 or 8 */
    const uint32_t *keys;     /* key size 4; NULL: index only */
    const uint64_t *keys64;   /* key size 8; NULL: index only */
    void *keys_owned;         /* built tables */
    void *map;                /* loaded from a file */
    size_t map_len;
    int built;                /* arrays owned by chm / part */
};

/* The values (lk.fns.values and .value_size, in the prefix phcluster.h's
 * inline calls read; owned, also when loaded) for t->nkeys keys of size
 * bytes (4 or 8): a copy of initial (nkeys values, host order), or all 0
 * when initial is NULL.  size 0 leaves the table without values. */
int phc_values_init(phc_table *t, unsigned size, const void *initial, ph_err *e);

#endif
