/* phc_lookup_int.h - the lookup part of a phc_table: the code of its
 * shape and the parameters that code reads, precomputed once.
 *
 * A phc_lookup is the first member of struct phc_table, and its first
 * member is the phc_table_lookups that phcluster.h's inline
 * phc_table_index / phc_table_find call through: a lookup is one indirect
 * call to a function written for the table's hash family, vertex layout,
 * value width and key size, with no branch on the table's kind.  The
 * parameters are stored in the form that code uses (64-bit seeds whole,
 * shifts and masks derived), so it does the arithmetic generated code does
 * with literals. */
#ifndef PHC_LOOKUP_INT_H
#define PHC_LOOKUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "phcluster.h"
#include "ph_part.h"
#include "ph_solver.h"

typedef struct phc_lookup {
    phc_table_lookups fns;      /* first: phcluster.h's inline calls */
    void (*batch)(const struct phc_lookup *lk, const void *keys, size_t n, uint32_t *out);
    const void *assigned;       /* vertex values (width 2 or 4; 4 when partitioned) */
    const void *keys;           /* in position order; NULL: index only */
    uint64_t seed64;            /* mix: the xor key (32-bit keys: folded, see phc_lookup.c);
                                   partitioned: the bucket-selection seed */
    uint64_t mult64;            /* mix: the odd multiplier */
    uint32_t seed32[3];         /* mulshift: [0], [1]; mulrot: [0..2] */
    uint32_t rot;               /* mulrot: the rotation */
    uint32_t shift;             /* power of two: vertex = h >> shift */
    uint32_t shift_hi;          /* shift + 32: the same from the high half of a 64-bit hash */
    uint32_t half;              /* nverts / 2: first vertex of the v side */
    uint32_t vrange;            /* compact: nverts - half */
    uint32_t modulus;           /* power of two: nedges - 1 (a mask); compact: nedges;
                                   partitioned: nkeys */
    uint32_t nkeys;             /* an index at or above is no member */
    uint32_t nbuckets;          /* partitioned */
    const uint64_t *buckets;    /* partitioned: nbuckets + 1 entries */
} phc_lookup;

/* What a lookup needs to know of a table; its arrays must outlive lk. */
typedef struct phc_lookup_src {
    int partitioned;
    const ph_table *chm;        /* one graph (checked: ph_solve or ph_image_parse) */
    const ph_part_table *part;  /* partitioned */
    unsigned key_size;          /* 4 or 8 */
    const void *keys;           /* NULL: index only */
    uint32_t nkeys;
} phc_lookup_src;

/* Fill lk for src: the functions of its shape and their parameters
 * (fns.values and fns.value_size, phc_values_init's, are left as they
 * are). */
void phc_lookup_init(phc_lookup *lk, const phc_lookup_src *src);

#endif
