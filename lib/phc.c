/* phc.c - libphcluster: the public API (phcluster.h) over the solver.
 *
 * A table is either built here (arrays owned) or loaded (arrays point into
 * a read-only mapping or the caller's buffer, checked by ph_image_parse).
 * Its values, if any, are always private memory (phc_values.c).
 * Lookups are phc_lookup.c's, chosen by the table's shape when it is built
 * or loaded. */
#define PHC_NO_INLINE 1 /* phc_table_index and _find defined here */
#include "phcluster.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_err.h"
#include "ph_image.h"
#include "ph_keys.h"
#include "ph_part.h"
#include "ph_solver.h"
#include "phc_int.h"

#define SAME_CODE(x) ((int)PHC_##x == (int)PH_##x)
_Static_assert(SAME_CODE(EINVAL) &&
                   SAME_CODE(EIO) &&
                   SAME_CODE(ENOMEM) &&
                   SAME_CODE(EDUP) &&
                   SAME_CODE(ESOLVE) &&
                   SAME_CODE(EVERIFY) &&
                   SAME_CODE(EPERM) &&
                   SAME_CODE(EFORMAT) &&
                   SAME_CODE(EFOREIGN) &&
                   SAME_CODE(EVERSION) &&
                   SAME_CODE(ETRUNC) &&
                   SAME_CODE(ECHECKSUM) &&
                   SAME_CODE(EUNSUPPORTED),
               "public error codes are the project's");
_Static_assert((int)PHC_HASH_AUTO == (int)PH_HASH_AUTO &&
                   (int)PHC_HASH_MULSHIFT == (int)PH_HASH_MULSHIFT &&
                   (int)PHC_HASH_MULROT == (int)PH_HASH_MULROT &&
                   (int)PHC_HASH_MIX == (int)PH_HASH_MIX,
               "public hash names are the solver's");
_Static_assert(PHC_PARTITION_AUTO == PH_PART_AUTO && PHC_PARTITION_OFF == PH_PART_OFF,
               "partition modes");
_Static_assert(offsetof(struct phc_table, lk) == 0 && offsetof(phc_lookup, fns) == 0,
               "a table starts with the phc_table_lookups phcluster.h's inline calls read");
_Static_assert(offsetof(phc_table_lookups, find) == sizeof(void *) &&
                   offsetof(phc_table_lookups, values) == 2 * sizeof(void *) &&
                   offsetof(phc_table_lookups, value_size) == 3 * sizeof(void *),
               "the prefix keeps its layout: index, find, values, value_size");
_Static_assert(sizeof(void *) != 8 || sizeof(phc_options) == 64,
               "phc_options keeps its size (values took reserved words)");

static void pick_lookups(phc_table *t);

static int fail(phc_error *err, const ph_err *e)
{
    if (err) {
        err->code = e->code;
        memcpy(err->msg, e->msg, sizeof err->msg);
    }
    return e->code;
}

static int fail_code(phc_error *err, int code, const char *msg)
{
    ph_err e;
    ph_err_set(&e, code, "%s", msg);
    return fail(err, &e);
}

void phc_options_init(phc_options *o)
{
    memset(o, 0, sizeof *o);
    o->partition = PHC_PARTITION_AUTO;
    o->hash = PHC_HASH_AUTO;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static int options_check(const phc_options *o, ph_err *e)
{
    if ((unsigned)o->hash > PHC_HASH_AUTO)
        return ph_err_set(e, PH_EINVAL, "options.hash: %d is not a hash family", (int)o->hash);
    if (o->threads > 1024)
        return ph_err_set(e, PH_EINVAL, "options.threads: %u (0..1024)", o->threads);
    for (int i = 0; i < 3; i++)
        if (o->reserved[i])
            return ph_err_set(e, PH_EINVAL, "options.reserved[%d]: not zero", i);
    if (o->value_size != 0 && o->value_size != 4 && o->value_size != 8)
        return ph_err_set(e, PH_EINVAL, "options.value_size: %u (0, 4 or 8 bytes)",
                          o->value_size);
    if (o->values && !o->value_size)
        return ph_err_set(e, PH_EINVAL, "options.values: given without options.value_size");
    if (o->value_size && o->index_only)
        return ph_err_set(e, PH_EINVAL, "options.value_size: values need the key set "
                          "(not with index_only)");
    return PH_OK;
}

static int build_chm(phc_table *t, const void *keys, uint32_t n, const phc_options *o,
                     unsigned threads, ph_err *e)
{
    int rc = t->key_size == 8 ? ph_keys_check_unique64(keys, n, "keys", e)
                              : ph_keys_check_unique(keys, n, "keys", e);
    if (rc)
        return rc;
    ph_solve_opts so;
    ph_solve_opts_init(&so);
    so.hash = (ph_hash_kind)o->hash;
    so.compact = o->compact != 0;
    so.threads = threads;
    so.seed = o->seed;
    t->kind = PH_IMAGE_CHM;
    return t->key_size == 8 ? ph_solve64(keys, n, &so, &t->chm, e)
                            : ph_solve(keys, n, &so, &t->chm, e);
}

static int build_part(phc_table *t, const void *keys, uint32_t n, uint32_t kpb,
                      const phc_options *o, unsigned threads, ph_err *e)
{
    ph_part_opts po;
    ph_part_opts_init(&po);
    po.keys_per_bucket = kpb;
    po.threads = threads;
    po.seed = o->seed;
    t->kind = PH_IMAGE_PART;
    return t->key_size == 8 ? ph_part_solve64(keys, n, &po, &t->part, e)
                            : ph_part_solve(keys, n, &po, &t->part, e);
}

static void keys_set(phc_table *t, const void *keys)
{
    t->keys = t->key_size == 4 ? keys : NULL;
    t->keys64 = t->key_size == 8 ? keys : NULL;
}

static int build(const void *keys, unsigned key_size, size_t n, const phc_options *o,
                 phc_table **out, phc_error *err)
{
    phc_options defaults;
    ph_err e;
    *out = NULL;
    if (!o) {
        phc_options_init(&defaults);
        o = &defaults;
    }
    if (!keys || n == 0 || n > UINT32_MAX)
        return fail_code(err, PHC_EINVAL, "keys: 1 to 2^32 - 1 keys needed");
    if (options_check(o, &e))
        return fail(err, &e);
    phc_table *t = calloc(1, sizeof *t);
    if (!t)
        return fail_code(err, PHC_ENOMEM, "out of memory for a table");
    t->built = 1;
    t->nkeys = (uint32_t)n;
    t->key_size = key_size;
    unsigned threads = o->threads ? o->threads : online_cpus();
    uint32_t kpb = ph_part_choose(o->partition, n);
    int rc = kpb == PH_PART_OFF ? build_chm(t, keys, t->nkeys, o, threads, &e)
                                : build_part(t, keys, t->nkeys, kpb, o, threads, &e);
    if (!rc && !o->index_only) {
        t->keys_owned = malloc(n * key_size);
        if (!t->keys_owned)
            rc = ph_err_set(&e, PH_ENOMEM, "out of memory for a copy of %zu keys", n);
        else
            memcpy(t->keys_owned, keys, n * key_size);
        keys_set(t, t->keys_owned);
    }
    if (!rc)
        rc = phc_values_init(t, o->value_size, o->values, &e);
    if (!rc)
        pick_lookups(t);
    if (rc) {
        phc_table_free(t);
        return fail(err, &e);
    }
    *out = t;
    return PHC_OK;
}

int phc_table_build32(const uint32_t *keys, size_t n, const phc_options *o, phc_table **out,
                      phc_error *err)
{
    return build(keys, 4, n, o, out, err);
}

int phc_table_build64(const uint64_t *keys, size_t n, const phc_options *o, phc_table **out,
                      phc_error *err)
{
    return build(keys, 8, n, o, out, err);
}

/* ---- lookups ------------------------------------------------------------ */

/* The table's shape was checked (ph_solve built it, or ph_image_parse
 * passed it). */
static void pick_lookups(phc_table *t)
{
    const void *keys = t->key_size == 8 ? (const void *)t->keys64 : (const void *)t->keys;
    phc_lookup_src src = {.partitioned = t->kind == PH_IMAGE_PART, .chm = &t->chm,
                          .part = &t->part, .key_size = t->key_size, .keys = keys,
                          .nkeys = t->nkeys};
    phc_lookup_init(&t->lk, &src);
    t->has_keys = keys != NULL;
}

uint32_t phc_table_index(const phc_table *t, uint64_t key)
{
    return t->lk.fns.index(t, key);
}

uint32_t phc_table_find(const phc_table *t, uint64_t key)
{
    return t->lk.fns.find(t, key);
}

void phc_table_find_batch(const phc_table *t, const void *keys, size_t n, uint32_t *out)
{
    t->lk.batch(&t->lk, keys, n, out);
}

uint64_t phc_table_count(const phc_table *t) { return t->nkeys; }
unsigned phc_table_key_size(const phc_table *t) { return t->key_size; }
int phc_table_has_keys(const phc_table *t) { return t->has_keys; }

/* ---- files -------------------------------------------------------------- */

int phc_table_save(const phc_table *t, const char *path, phc_error *err)
{
    ph_err e;
    if (!t || !path || !path[0])
        return fail_code(err, PHC_EINVAL, "save: no table or no path");
    const void *keys = t->key_size == 8 ? (const void *)t->keys64 : (const void *)t->keys;
    ph_image_src src = {.kind = t->kind, .chm = &t->chm, .part = &t->part, .keys = keys,
                        .key_size = (uint8_t)t->key_size, .values = t->lk.fns.values,
                        .value_size = (uint8_t)t->lk.fns.value_size};
    return ph_image_save(&src, path, &e) ? fail(err, &e) : PHC_OK;
}

static int verify_keys(const phc_table *t, const char *name, ph_err *e)
{
    for (uint32_t i = 0; i < t->nkeys; i++) {
        uint64_t k = t->key_size == 8 ? t->keys64[i] : t->keys[i];
        if (phc_table_index(t, k) != i)
            return ph_err_set(e, PH_EVERIFY, "%s: key 0x%llx at position %u maps to index %u",
                              name, (unsigned long long)k, i, phc_table_index(t, k));
    }
    return PH_OK;
}

static int load_view(const void *buf, size_t len, const char *name, unsigned flags,
                     phc_table *t, ph_err *e)
{
    ph_image_view v;
    if (flags & ~PHC_LOAD_VERIFY)
        return ph_err_set(e, PH_EINVAL, "load flags 0x%x: unknown", flags);
    int rc = ph_image_parse(buf, len, name, &v, e);
    if (rc)
        return rc;
    t->kind = v.kind;
    t->chm = v.chm;
    t->part = v.part;
    t->nkeys = (uint32_t)v.nkeys;
    t->key_size = v.key_size;
    keys_set(t, v.keys);
    pick_lookups(t);
    rc = phc_values_init(t, v.value_size, v.values, e);
    if (rc)
        return rc;
    if ((flags & PHC_LOAD_VERIFY) && !v.keys)
        return ph_err_set(e, PH_EINVAL, "%s: an index-only table cannot be verified", name);
    return flags & PHC_LOAD_VERIFY ? verify_keys(t, name, e) : PH_OK;
}

int phc_table_load_mem(const void *buf, size_t len, unsigned flags, phc_table **out,
                       phc_error *err)
{
    ph_err e;
    *out = NULL;
    phc_table *t = calloc(1, sizeof *t);
    if (!t)
        return fail_code(err, PHC_ENOMEM, "out of memory for a table");
    if (load_view(buf, len, "table", flags, t, &e)) {
        phc_table_free(t);
        return fail(err, &e);
    }
    *out = t;
    return PHC_OK;
}

static int map_file(const char *path, void **map, size_t *len, ph_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return ph_err_set(e, PH_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = PH_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = ph_err_set(e, PH_EIO, "%s: not a regular file", path);
    else if (st.st_size == 0)
        rc = ph_err_set(e, PH_ETRUNC, "%s: empty file", path);
    else if ((uint64_t)st.st_size > SIZE_MAX)
        rc = ph_err_set(e, PH_EIO, "%s: too big to map", path);
    if (!rc) {
        *len = (size_t)st.st_size;
        *map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (*map == MAP_FAILED) {
            *map = NULL;
            rc = ph_err_set(e, PH_EIO, "%s: cannot map: %s", path, strerror(errno));
        }
#ifdef MADV_HUGEPAGE
        /* Lookups read at random: where the file is read from disk now, ask
         * for its pages in 2 MiB folios, mapped whole (advice only). */
        else
            (void)madvise(*map, *len, MADV_HUGEPAGE);
#endif
    }
    close(fd);
    return rc;
}

int phc_table_load(const char *path, unsigned flags, phc_table **out, phc_error *err)
{
    ph_err e;
    *out = NULL;
    if (!path || !path[0])
        return fail_code(err, PHC_EINVAL, "load: no path");
    phc_table *t = calloc(1, sizeof *t);
    if (!t)
        return fail_code(err, PHC_ENOMEM, "out of memory for a table");
    int rc = map_file(path, &t->map, &t->map_len, &e);
    if (!rc)
        rc = load_view(t->map, t->map_len, path, flags, t, &e);
    if (rc) {
        phc_table_free(t);
        return fail(err, &e);
    }
    *out = t;
    return PHC_OK;
}

void phc_table_free(phc_table *t)
{
    if (!t)
        return;
    if (t->built) {
        ph_table_free(&t->chm);
        ph_part_free(&t->part);
    }
    free(t->keys_owned);
    free(t->lk.fns.values);
    if (t->map)
        munmap(t->map, t->map_len);
    free(t);
}

const char *phc_strerror(int code)
{
    return ph_err_name(code);
}
