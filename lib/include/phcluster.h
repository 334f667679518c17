/* phcluster.h - order-preserving minimal perfect hash tables at run time.
 *
 * Build a table from an array of keys, look keys up, save it to a file and
 * load it again by mapping the file (no copy).  The table is the one
 * `phclient create` builds: phc_table_index(t, keys[i]) == i.
 *
 *     phc_options o;
 *     phc_options_init(&o);
 *     phc_table *t;
 *     phc_error e;
 *     if (phc_table_build32(keys, n, &o, &t, &e) != PHC_OK) { puts(e.msg); ... }
 *     uint32_t i = phc_table_find(t, key);        // PHC_NOT_FOUND if not a member
 *     phc_table_save(t, "set.phc", &e);
 *     phc_table_free(t);
 *     phc_table_load("set.phc", 0, &t, &e);       // refuses damaged or foreign files
 *
 * Every function that can fail returns PHC_OK (0) or a negative PHC_E*
 * code and, given a phc_error, a one-line message naming the file or field.
 * A table's keys and graph are immutable: lookups from any number of
 * threads are safe.  A table built with values (options.value_size 4 or 8)
 * also keeps one value per key, changed with atomic operations (no lock
 * needed, below). */
#ifndef PHCLUSTER_H
#define PHCLUSTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PHC_BUILDING) && defined(__GNUC__)
#define PHC_API __attribute__((visibility("default")))
#else
#define PHC_API
#endif

#define PHC_VERSION_MAJOR 0
#define PHC_VERSION_MINOR 1

/* What phc_table_find returns for a key not in the set. */
#define PHC_NOT_FOUND UINT32_MAX
/* What phc_table_insert, _delete and _increment return for a key not in
 * the set.  No 4-byte value reads as it; an 8-byte one can (all ones), so
 * there phc_table_find is the certain membership test. */
#define PHC_NOT_MEMBER UINT64_MAX

enum {
    PHC_OK = 0,
    PHC_EINVAL = -1,        /* bad argument or option */
    PHC_EIO = -2,           /* cannot open, read, map or write a file */
    PHC_ENOMEM = -3,
    PHC_EDUP = -4,          /* a key occurs twice */
    PHC_ESOLVE = -5,        /* no table within the attempt budget */
    PHC_EVERIFY = -6,       /* a table fails its keys (phc_table_load verify) */
    PHC_EPERM = -11,        /* the save target is a symbolic link */
    PHC_EFORMAT = -13,      /* table file: fields inconsistent or out of range */
    PHC_EFOREIGN = -14,     /* not a table file, or written with the other byte order */
    PHC_EVERSION = -15,     /* table file of a newer format version */
    PHC_ETRUNC = -16,       /* table file shorter than its header says */
    PHC_ECHECKSUM = -17,    /* table file damaged since it was written */
    PHC_EUNSUPPORTED = -18, /* valid, but not handled by this build */
};

typedef struct phc_error {
    int code;
    char msg[512];
} phc_error;

/* Partitioning, as phclient's --partition: AUTO partitions from 2^20 keys
 * on (buckets of about 4096 keys), OFF builds one graph, any other value
 * is the number of keys per bucket. */
#define PHC_PARTITION_AUTO UINT32_MAX
#define PHC_PARTITION_OFF 0u

typedef enum phc_hash {
    PHC_HASH_AUTO = 3, /* escalate mulshift -> mulrot -> mix (the default) */
    PHC_HASH_MULSHIFT = 0,
    PHC_HASH_MULROT = 1,
    PHC_HASH_MIX = 2,
} phc_hash;

typedef struct phc_options {
    uint64_t seed;         /* same keys + seed => same table (default 0) */
    uint32_t partition;    /* PHC_PARTITION_AUTO (default), _OFF or keys per bucket */
    unsigned threads;      /* solver threads; 0 (default) = every online CPU */
    int index_only;        /* 1: leave the keys out; phc_table_find is then unavailable */
    phc_hash hash;         /* one graph only; default PHC_HASH_AUTO */
    int compact;           /* one graph only: non-power-of-two vertex count */
    unsigned value_size;   /* 0 (default): no values; 4 or 8: one uint32_t or
                              uint64_t value per key (needs the keys: not
                              with index_only) */
    const void *values;    /* the starting values: n of value_size bytes in
                              key order (copied); NULL (default): all 0 */
    uint64_t reserved[3];  /* zero */
} phc_options;

typedef struct phc_table phc_table;

/* Flags of phc_table_load / phc_table_load_mem. */
#define PHC_LOAD_VERIFY 1u /* also check index(keys[i]) == i for every key */

PHC_API void phc_options_init(phc_options *o);

/* A table for keys[0..n) (1 <= n < 2^32, no duplicates).  The keys are
 * copied (unless index_only); *out is freed with phc_table_free. */
PHC_API int phc_table_build32(const uint32_t *keys, size_t n, const phc_options *o,
                              phc_table **out, phc_error *err);
/* The same for 64-bit keys: all 64 bits are hashed (keys that differ only
 * in their high half are told apart); one graph uses PHC_HASH_MIX, so
 * options.hash must be AUTO or MIX. */
PHC_API int phc_table_build64(const uint64_t *keys, size_t n, const phc_options *o,
                              phc_table **out, phc_error *err);

/* Every table begins with this prefix, which the inline calls below read:
 * the two lookup pointers, set when the table is built or loaded to the
 * lookup code of its shape (hash family, vertex layout, key size,
 * partitioned or not), so that phc_table_index and phc_table_find are one
 * indirect call, no call into the library first, no dispatch on the
 * table's kind; then the table's values (value_size bytes per key at the
 * key's position, private memory the table owns; NULL and 0 without
 * values), which phc_table_lookup and phc_table_increment read and change
 * in place.  Part of the ABI; use it through those functions only. */
typedef struct phc_table_lookups {
    uint32_t (*index)(const phc_table *t, uint64_t key);
    uint32_t (*find)(const phc_table *t, uint64_t key);
    void *values;
    uint32_t value_size; /* 0, 4 or 8 */
} phc_table_lookups;

#ifdef PHC_NO_INLINE
/* The library also exports both as functions of the same names, for
 * callers that do not compile this header (other languages, dlsym) or
 * that define PHC_NO_INLINE before including it. */
PHC_API uint32_t phc_table_index(const phc_table *t, uint64_t key);
PHC_API uint32_t phc_table_find(const phc_table *t, uint64_t key);
#else
/* Position of key in the array the table was built from; any value for a
 * key that is not a member (use phc_table_find to tell).  A table of
 * 32-bit keys looks at the key's low 32 bits; its find answers
 * PHC_NOT_FOUND for any key above UINT32_MAX. */
static inline uint32_t phc_table_index(const phc_table *t, uint64_t key)
{
    return ((const phc_table_lookups *)(const void *)t)->index(t, key);
}

/* Position of key, or PHC_NOT_FOUND for every key not in the set (and
 * always for an index-only table). */
static inline uint32_t phc_table_find(const phc_table *t, uint64_t key)
{
    return ((const phc_table_lookups *)(const void *)t)->find(t, key);
}
#endif

/* out[i] = phc_table_find(t, keys[i]) for i < n, keys being n keys of the
 * table's key size (uint32_t or uint64_t, phc_table_key_size): one call
 * for many keys, the lookup inlined in the loop. */
PHC_API void phc_table_find_batch(const phc_table *t, const void *keys, size_t n, uint32_t *out);

PHC_API uint64_t phc_table_count(const phc_table *t);  /* keys in the set */
PHC_API unsigned phc_table_key_size(const phc_table *t); /* 4 or 8 bytes */
PHC_API int phc_table_has_keys(const phc_table *t);      /* 0 for index-only tables */

/* ---- values (tables built with options.value_size 4 or 8) ---------------
 * One value per key, at the key's position; the generated code's
 * NAME_lookup, NAME_insert, NAME_delete and NAME_increment.  Each call
 * finds the key (phc_table_find) and works on its value with one C11
 * atomic operation, so callers on any number of threads need no lock and
 * concurrent increments all count.  A key not in the set changes nothing:
 * lookup returns 0, the others PHC_NOT_MEMBER; so does every key on a
 * table without values.  A 4-byte value takes the low 32 bits of what is
 * inserted and wraps at 2^32 when incremented (an 8-byte one at 2^64). */
PHC_API unsigned phc_table_value_size(const phc_table *t); /* 0, 4 or 8 */
/* Sets the key's value; returns the value it had. */
PHC_API uint64_t phc_table_insert(phc_table *t, uint64_t key, uint64_t value);
/* Sets the key's value to 0; returns the value it had. */
PHC_API uint64_t phc_table_delete(phc_table *t, uint64_t key);

/* phc_table_lookup and phc_table_increment are inline where the header
 * has the atomics the library uses: C11 <stdatomic.h> in C, the GCC/Clang
 * __atomic built-ins (what <stdatomic.h> expands to there) in C++ or in
 * C before C11.  They find the key through the table's prefix and load or
 * add to its value with the same atomic operation and memory order as the
 * exported functions of the same names, which PHC_NO_INLINE (or a
 * compiler with neither) gives. */
#if !defined(PHC_NO_INLINE) && !defined(__cplusplus) && defined(__STDC_VERSION__) && \
    __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#define PHC_VALUE_LOAD_(p, bits) \
    atomic_load_explicit((_Atomic uint##bits##_t *)(p), memory_order_acquire)
#define PHC_VALUE_ADD1_(p, bits) \
    atomic_fetch_add_explicit((_Atomic uint##bits##_t *)(p), 1, memory_order_acq_rel)
#elif !defined(PHC_NO_INLINE) && defined(__GNUC__)
#define PHC_VALUE_LOAD_(p, bits) __atomic_load_n((uint##bits##_t *)(p), __ATOMIC_ACQUIRE)
#define PHC_VALUE_ADD1_(p, bits) \
    __atomic_fetch_add((uint##bits##_t *)(p), 1, __ATOMIC_ACQ_REL)
#endif

#ifndef PHC_VALUE_LOAD_
/* The key's value; 0 for a key not in the set. */
PHC_API uint64_t phc_table_lookup(const phc_table *t, uint64_t key);
/* Adds 1 to the key's value; returns the new value. */
PHC_API uint64_t phc_table_increment(phc_table *t, uint64_t key);
#else
/* The key's value; 0 for a key not in the set. */
static inline uint64_t phc_table_lookup(const phc_table *t, uint64_t key)
{
    const phc_table_lookups *p = (const phc_table_lookups *)(const void *)t;
    uint32_t i = p->find(t, key);
    if (i == PHC_NOT_FOUND)
        return 0;
    if (p->value_size == 8)
        return PHC_VALUE_LOAD_((uint64_t *)p->values + i, 64);
    if (p->value_size == 4)
        return PHC_VALUE_LOAD_((uint32_t *)p->values + i, 32);
    return 0;
}

/* Adds 1 to the key's value; returns the new value. */
static inline uint64_t phc_table_increment(phc_table *t, uint64_t key)
{
    const phc_table_lookups *p = (const phc_table_lookups *)(const void *)t;
    uint32_t i = p->find(t, key);
    if (i == PHC_NOT_FOUND)
        return PHC_NOT_MEMBER;
    if (p->value_size == 8)
        return PHC_VALUE_ADD1_((uint64_t *)p->values + i, 64) + 1;
    if (p->value_size == 4)
        return (uint32_t)(PHC_VALUE_ADD1_((uint32_t *)p->values + i, 32) + 1u);
    return PHC_NOT_MEMBER;
}
#endif

/* Write the table to path (a temporary beside it, then renamed: never half
 * a file).  The format is versioned, little-endian and checksummed.  The
 * values are written as they are: for a consistent set, save when no
 * other thread changes them. */
PHC_API int phc_table_save(const phc_table *t, const char *path, phc_error *err);

/* Map a saved table read-only and check it whole before use (magic, byte
 * order, version, sizes, section bounds, checksum, records).  A damaged,
 * truncated, foreign or newer file is refused with its PHC_E* code.  The
 * keys and graph are used in place; a values section (count x value size
 * bytes, only beside the keys) is copied to private memory, so the loaded
 * table takes insert, delete and increment while the file stays as it was
 * (phc_table_save writes the new values). */
PHC_API int phc_table_load(const char *path, unsigned flags, phc_table **out, phc_error *err);
/* The same over bytes in memory (8-byte aligned), used in place (the
 * values copied): buf must stay valid and unchanged until phc_table_free. */
PHC_API int phc_table_load_mem(const void *buf, size_t len, unsigned flags, phc_table **out,
                               phc_error *err);

PHC_API void phc_table_free(phc_table *t);

/* "EFORMAT", "ECHECKSUM", ... for a PHC_E* code. */
PHC_API const char *phc_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
