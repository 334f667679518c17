/* phc_values.c - one value per key (phcluster.h: phc_table_lookup,
 * _insert, _delete, _increment), the generated NAME_lookup ... in a
 * library.
 *
 * The values live in private memory owned by the table (built: a copy of
 * the caller's starting values or zeros; loaded: a copy of the file's
 * values section, so a table mapped read-only still takes writes).  A
 * key's value is at the key's position, found with the table's find; every
 * access is a C11 atomic on that one value, so threads need no lock.  The
 * array and its size are in the table's prefix (phc_table_lookups), where
 * phcluster.h's inline phc_table_lookup and _increment read them with the
 * same atomic operations as the functions here. */
#define PHC_NO_INLINE 1 /* the exported calls defined here */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "phc_int.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "values are lock-free atomics");
_Static_assert(sizeof(atomic_uint_least32_t) == 4 && sizeof(atomic_uint_least64_t) == 8,
               "an atomic value has the size of its value");

int phc_values_init(phc_table *t, unsigned size, const void *initial, ph_err *e)
{
    t->lk.fns.values = NULL;
    t->lk.fns.value_size = 0;
    if (size == 0)
        return PH_OK;
    size_t bytes = (size_t)t->nkeys * size;
    t->lk.fns.values = initial ? malloc(bytes) : calloc(t->nkeys, size);
    if (!t->lk.fns.values)
        return ph_err_set(e, PH_ENOMEM, "out of memory for %u values of %u bytes", t->nkeys,
                          size);
    if (initial)
        memcpy(t->lk.fns.values, initial, bytes);
    t->lk.fns.value_size = size;
    return PH_OK;
}

static atomic_uint_least32_t *slot32(const phc_table *t, uint32_t i)
{
    return (atomic_uint_least32_t *)t->lk.fns.values + i;
}

static atomic_uint_least64_t *slot64(const phc_table *t, uint32_t i)
{
    return (atomic_uint_least64_t *)t->lk.fns.values + i;
}

/* The key's position when the table has values and the key is a member. */
static uint32_t value_at(const phc_table *t, uint64_t key)
{
    return t->lk.fns.value_size ? t->lk.fns.find(t, key) : PHC_NOT_FOUND;
}

unsigned phc_table_value_size(const phc_table *t)
{
    return t->lk.fns.value_size;
}

uint64_t phc_table_lookup(const phc_table *t, uint64_t key)
{
    uint32_t i = value_at(t, key);
    if (i == PHC_NOT_FOUND)
        return 0;
    if (t->lk.fns.value_size == 8)
        return atomic_load_explicit(slot64(t, i), memory_order_acquire);
    return atomic_load_explicit(slot32(t, i), memory_order_acquire);
}

static uint64_t exchange(phc_table *t, uint64_t key, uint64_t value)
{
    uint32_t i = value_at(t, key);
    if (i == PHC_NOT_FOUND)
        return PHC_NOT_MEMBER;
    if (t->lk.fns.value_size == 8)
        return atomic_exchange_explicit(slot64(t, i), value, memory_order_acq_rel);
    return atomic_exchange_explicit(slot32(t, i), (uint32_t)value, memory_order_acq_rel);
}

uint64_t phc_table_insert(phc_table *t, uint64_t key, uint64_t value)
{
    return exchange(t, key, value);
}

uint64_t phc_table_delete(phc_table *t, uint64_t key)
{
    return exchange(t, key, 0);
}

uint64_t phc_table_increment(phc_table *t, uint64_t key)
{
    uint32_t i = value_at(t, key);
    if (i == PHC_NOT_FOUND)
        return PHC_NOT_MEMBER;
    if (t->lk.fns.value_size == 8)
        return atomic_fetch_add_explicit(slot64(t, i), 1, memory_order_acq_rel) + 1;
    return (uint32_t)(atomic_fetch_add_explicit(slot32(t, i), 1, memory_order_acq_rel) + 1u);
}
