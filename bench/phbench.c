/* phbench.c - our CHM solver against libcmph (CHM and BDZ), same process,
 * same keys.
 *
 * usage: phbench FILES_OR_DIRS... [--threads N] [--hash NAME] [--compact]
 *                [--seed S] [--max-attempts N] [--repeat R] [--no-cmph] [--csv]
 *                [--verbose]
 *
 * Per keys file: solve time (median of R runs, wall ms, ours includes the
 * full verification ph_solve always does), attempts, bits per key and
 * lookup ns.  Our lookup runs an inline Index of the same form the emitter
 * writes (ph_hash.h + reduction + one add), specialised per hash family,
 * sizing mode and element width, so the compiler sees what it sees in a
 * generated table.  Lookup figures are throughput over all keys of the file
 * in file order, best of PB_ROUNDS rounds.
 *
 * Directories are expanded to their *.keys files, sorted by name.  With more
 * than PB_MANY_FILES files, per-file lines are printed only with --verbose.
 * Exit status: 0 if every file loaded and our solver solved it, 1 otherwise,
 * 2 on bad usage. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ph_keys.h"
#include "ph_err.h"
#include "ph_hash.h"
#include "ph_solver.h"
#include "ph_time.h"

#ifdef PH_BENCH_HAVE_CMPH
#include <cmph.h>
#endif

#define PB_MANY_FILES 100
#define PB_ROUNDS 5              /* lookup rounds; the best one counts */
#define PB_MIN_LOOKUPS 4096      /* per round: small files are looped over */
#define PB_MAX_REPEAT 1000
#define PB_CHM_C 2.09
#define PB_MAX_SHOWN 10          /* cmph failure lines printed at most */
#define PB_TOP 5                 /* files listed in the "most attempts" lines */

typedef struct pb_opts {
    ph_solve_opts solve;
    unsigned repeat;
    bool cmph;
    bool csv;
    bool verbose;
} pb_opts;

/* One measured solver on one file.  ok == false: it failed (or was off). */
typedef struct pb_meas {
    bool ok;
    double ms;        /* median solve wall time */
    double cpu_ms;    /* median process CPU time of the same solves */
    double bits;      /* bits per key */
    double ns;        /* best-round ns per lookup */
} pb_meas;

typedef struct pb_result {
    const char *path;
    uint32_t n;
    bool loaded;
    uint64_t attempts;
    ph_hash_kind hash;
    double load_ms;
    pb_meas ours, chm, bdz;
} pb_result;

typedef struct pb_list {
    char **items;     /* owned, each owned */
    size_t count, cap;
} pb_list;

/* ------------------------------------------------------------------------ */
/* File list                                                                */

static int pb_list_add(pb_list *l, char *s)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            free(s);
            return PH_ENOMEM;
        }
        l->items = p;
        l->cap = cap;
    }
    l->items[l->count++] = s;
    return 0;
}

static void pb_list_free(pb_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int pb_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool pb_has_keys_suffix(const char *name)
{
    size_t len = strlen(name);
    return len > 5 && !strcmp(name + len - 5, ".keys");
}

static char *pb_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    bool slash = dl && dir[dl - 1] == '/';
    char *p = malloc(dl + nl + 2);
    if (p)
        snprintf(p, dl + nl + 2, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

/* Append dir's *.keys files, sorted, to l. */
static int pb_expand_dir(const char *dir, pb_list *l, ph_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return ph_err_set(err, PH_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    size_t first = l->count;
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (!pb_has_keys_suffix(e->d_name))
            continue;
        char *p = pb_join(dir, e->d_name);
        rc = p ? pb_list_add(l, p) : PH_ENOMEM;
    }
    closedir(d);
    if (rc)
        return ph_err_set(err, rc, "%s: out of memory listing directory", dir);
    if (l->count == first)
        fprintf(stderr, "phbench: %s: no *.keys files\n", dir);
    qsort(l->items + first, l->count - first, sizeof *l->items, pb_cmp_str);
    return 0;
}

static int pb_expand(const char *arg, pb_list *l, bool *dir_mode, ph_err *err)
{
    struct stat st;
    if (stat(arg, &st))
        return ph_err_set(err, PH_EIO, "%s: %s", arg, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        *dir_mode = true;
        return pb_expand_dir(arg, l, err);
    }
    char *p = strdup(arg);
    if (!p || pb_list_add(l, p))
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", arg);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Timing helpers                                                           */

/* Process CPU time: on a shared machine it excludes time spent waiting for a
 * core, so it is the steadier companion of the wall time (for --threads > 1
 * it sums all threads). */
static uint64_t pb_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int pb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pb_median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, pb_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* One pass over all keys, returning the sum of the indices. */
typedef uint64_t (*pb_pass_fn)(const void *ctx, const uint32_t *kv, uint32_t n);

/* Defeats dead-code elimination of the lookup loops: every pass's sum is
 * stored here and checked against n(n-1)/2, which holds for any minimal
 * perfect hash (the indices are a permutation of 0..n-1). */
static volatile uint64_t pb_sink;

/* Best-of-rounds ns per lookup; *sum_ok false if any pass's sum is wrong. */
static double pb_lookup_ns(pb_pass_fn fn, const void *ctx, const uint32_t *kv, uint32_t n,
                           bool *sum_ok)
{
    uint32_t passes = (PB_MIN_LOOKUPS + n - 1) / n;
    uint64_t want = (uint64_t)n * (n - 1) / 2;
    double best = 0;
    *sum_ok = true;
    for (int r = 0; r < PB_ROUNDS; r++) {
        uint64_t t0 = ph_time_ns(), total = 0;
        for (uint32_t p = 0; p < passes; p++) {
            uint64_t s = fn(ctx, kv, n);
            total += s;
            *sum_ok &= s == want;
        }
        uint64_t dt = ph_time_ns() - t0;
        pb_sink = total;
        double ns = (double)dt / ((double)passes * n);
        if (r == 0 || ns < best)
            best = ns;
    }
    return best;
}

/* ------------------------------------------------------------------------ */
/* Our Index, in generated form                                             */

/* The table's constants copied into a local, as literals would be. */
typedef struct pb_ours {
    uint32_t s[4];
    uint32_t shift, nverts, nedges, mask;
    const void *a;
} pb_ours;

/* NAME_index: Index(key) exactly as the emitter writes it; NAME_pass: the
 * timed loop; NAME_check: first i with Index(keys[i]) != i (n if none).
 * COMPACT: nedges == nkeys, assigned values < nedges, so one conditional
 * subtract replaces the modulo; pow2: a mask. */
#define PB_DEFINE_INDEX(NAME, HASH, ELEM, COMPACT)                                       \
    static inline uint32_t NAME##_index(const pb_ours *o, uint32_t k)                    \
    {                                                                                    \
        const ELEM *a = o->a;                                                            \
        uint32_t h1, h2;                                                                 \
        HASH(o->s, k, &h1, &h2);                                                         \
        uint32_t x = (uint32_t)a[ph_vertex_u(h1, COMPACT, o->shift, o->nverts)] +        \
                     (uint32_t)a[ph_vertex_v(h2, COMPACT, o->shift, o->nverts)];         \
        return COMPACT ? (x >= o->nedges ? x - o->nedges : x) : (x & o->mask);           \
    }                                                                                    \
    static uint64_t NAME##_pass(const void *ctx, const uint32_t *kv, uint32_t n)       \
    {                                                                                    \
        const pb_ours o = *(const pb_ours *)ctx;                                         \
        uint64_t sum = 0;                                                                \
        for (uint32_t i = 0; i < n; i++)                                                 \
            sum += NAME##_index(&o, kv[i]);                                            \
        return sum;                                                                      \
    }                                                                                    \
    static uint32_t NAME##_check(const pb_ours *o, const uint32_t *kv, uint32_t n)     \
    {                                                                                    \
        for (uint32_t i = 0; i < n; i++)                                                 \
            if (NAME##_index(o, kv[i]) != i)                                           \
                return i;                                                                \
        return n;                                                                        \
    }

PB_DEFINE_INDEX(pb_ms_p16, ph_hash_mulshift, uint16_t, 0)
PB_DEFINE_INDEX(pb_ms_p32, ph_hash_mulshift, uint32_t, 0)
PB_DEFINE_INDEX(pb_ms_c16, ph_hash_mulshift, uint16_t, 1)
PB_DEFINE_INDEX(pb_ms_c32, ph_hash_mulshift, uint32_t, 1)
PB_DEFINE_INDEX(pb_mr_p16, ph_hash_mulrot, uint16_t, 0)
PB_DEFINE_INDEX(pb_mr_p32, ph_hash_mulrot, uint32_t, 0)
PB_DEFINE_INDEX(pb_mr_c16, ph_hash_mulrot, uint16_t, 1)
PB_DEFINE_INDEX(pb_mr_c32, ph_hash_mulrot, uint32_t, 1)
PB_DEFINE_INDEX(pb_mx_p16, ph_hash_mix, uint16_t, 0)
PB_DEFINE_INDEX(pb_mx_p32, ph_hash_mix, uint32_t, 0)
PB_DEFINE_INDEX(pb_mx_c16, ph_hash_mix, uint16_t, 1)
PB_DEFINE_INDEX(pb_mx_c32, ph_hash_mix, uint32_t, 1)

typedef struct pb_variant {
    pb_pass_fn pass;
    uint32_t (*check)(const pb_ours *, const uint32_t *, uint32_t);
} pb_variant;

/* [hash][compact][width == 4] */
static const pb_variant pb_variants[3][2][2] = {
    {{{pb_ms_p16_pass, pb_ms_p16_check}, {pb_ms_p32_pass, pb_ms_p32_check}},
     {{pb_ms_c16_pass, pb_ms_c16_check}, {pb_ms_c32_pass, pb_ms_c32_check}}},
    {{{pb_mr_p16_pass, pb_mr_p16_check}, {pb_mr_p32_pass, pb_mr_p32_check}},
     {{pb_mr_c16_pass, pb_mr_c16_check}, {pb_mr_c32_pass, pb_mr_c32_check}}},
    {{{pb_mx_p16_pass, pb_mx_p16_check}, {pb_mx_p32_pass, pb_mx_p32_check}},
     {{pb_mx_c16_pass, pb_mx_c16_check}, {pb_mx_c32_pass, pb_mx_c32_check}}},
};

static int pb_ours_lookup(const ph_table *t, const uint32_t *kv, uint32_t n, const char *path,
                          double *ns, ph_err *err)
{
    if ((unsigned)t->hash > PH_HASH_MIX || (t->width != 2 && t->width != 4))
        return ph_err_set(err, PH_EINVAL, "%s: table has hash %d width %u, unknown to phbench",
                          path, (int)t->hash, t->width);
    const pb_variant *v = &pb_variants[t->hash][t->compact ? 1 : 0][t->width == 4];
    pb_ours o = {.shift = t->shift, .nverts = t->nverts, .nedges = t->nedges,
                 .mask = t->nedges - 1, .a = t->assigned};
    memcpy(o.s, t->seeds, sizeof o.s);
    uint32_t bad = v->check(&o, kv, n);
    if (bad != n)
        return ph_err_set(err, PH_EVERIFY,
                          "%s: phbench's inline Index is wrong for key %" PRIu32 " at %" PRIu32
                          " (library says %" PRIu32 "): out of sync with ph_hash.h",
                          path, kv[bad], bad, ph_table_index(t, kv[bad]));
    bool sum_ok;
    *ns = pb_lookup_ns(v->pass, &o, kv, n, &sum_ok);
    if (!sum_ok)
        return ph_err_set(err, PH_EVERIFY, "%s: index sum wrong in timed loop", path);
    return 0;
}

static int pb_run_ours(const pb_opts *po, const ph_keys *k, const char *path, pb_result *r,
                       ph_err *err)
{
    double ms[PB_MAX_REPEAT], cpu[PB_MAX_REPEAT];
    ph_table t = {0};
    for (unsigned i = 0; i < po->repeat; i++) {
        ph_table_free(&t);
        memset(&t, 0, sizeof t);
        uint64_t c0 = pb_cpu_ns(), t0 = ph_time_ns();
        int rc = ph_solve(k->v, k->n, &po->solve, &t, err);
        ms[i] = (double)(ph_time_ns() - t0) / 1e6;
        cpu[i] = (double)(pb_cpu_ns() - c0) / 1e6;
        if (rc)
            return rc;
    }
    r->attempts = t.attempts;
    r->hash = t.hash;
    r->ours.ms = pb_median(ms, po->repeat);
    r->ours.cpu_ms = pb_median(cpu, po->repeat);
    r->ours.bits = (double)ph_table_bytes(&t) * 8.0 / k->n;
    int rc = pb_ours_lookup(&t, k->v, k->n, path, &r->ours.ns, err);
    ph_table_free(&t);
    r->ours.ok = rc == 0;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* libcmph                                                                  */

#ifdef PH_BENCH_HAVE_CMPH
/* A key source over the uint32 array as 4-byte binary keys.  It hands out
 * pointers into the array and frees nothing, so cmph is not charged for a
 * malloc + copy per key the way cmph_io_struct_vector_adapter would. */
typedef struct pb_src {
    uint32_t *keys;
    uint32_t n, pos;
} pb_src;

static int pb_src_read(void *data, char **key, cmph_uint32 *len)
{
    pb_src *s = data;
    *key = (char *)&s->keys[s->pos++];
    *len = sizeof(uint32_t);
    return (int)sizeof(uint32_t);
}

static void pb_src_dispose(void *data, char *key, cmph_uint32 len)
{
    (void)data, (void)key, (void)len;
}

static void pb_src_rewind(void *data)
{
    ((pb_src *)data)->pos = 0;
}

static cmph_t *pb_cmph_build(const ph_keys *k, CMPH_ALGO algo)
{
    pb_src src = {.keys = k->v, .n = k->n};
    cmph_io_adapter_t io = {.data = &src, .nkeys = k->n, .read = pb_src_read,
                            .dispose = pb_src_dispose, .rewind = pb_src_rewind};
    cmph_config_t *cfg = cmph_config_new(&io);
    if (!cfg)
        return NULL;
    cmph_config_set_algo(cfg, algo);
    if (algo == CMPH_CHM)
        cmph_config_set_graphsize(cfg, PB_CHM_C);
    cmph_t *h = cmph_new(cfg);
    cmph_config_destroy(cfg);
    return h;
}

static uint64_t pb_cmph_pass(const void *ctx, const uint32_t *kv, uint32_t n)
{
    cmph_t *h = (cmph_t *)ctx;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += cmph_search(h, (const char *)&kv[i], sizeof kv[i]);
    return sum;
}

/* CHM must give keys[i] -> i; BDZ only a permutation of 0..n-1. */
static bool pb_cmph_check(cmph_t *h, const ph_keys *k, bool order)
{
    uint8_t *seen = order ? NULL : calloc(k->n, 1);
    if (!order && !seen)
        return false;
    bool ok = true;
    for (uint32_t i = 0; ok && i < k->n; i++) {
        uint32_t x = cmph_search(h, (const char *)&k->v[i], sizeof k->v[i]);
        ok = order ? x == i : (x < k->n && !seen[x]);
        if (ok && seen)
            seen[x] = 1;
    }
    free(seen);
    return ok;
}

/* cmph BDZ gives up on some tiny sets; say so, but not 40 times over. */
static void pb_cmph_failure(const char *path, const char *name)
{
    static unsigned shown;
    if (shown++ < PB_MAX_SHOWN)
        fprintf(stderr, "phbench: %s: cmph %s failed to build%s\n", path, name,
                shown == PB_MAX_SHOWN ? " (further cmph failures not shown)" : "");
}

static void pb_run_cmph(const pb_opts *po, const ph_keys *k, const char *path, CMPH_ALGO algo,
                        pb_meas *m)
{
    double ms[PB_MAX_REPEAT], cpu[PB_MAX_REPEAT];
    cmph_t *h = NULL;
    const char *name = algo == CMPH_CHM ? "CHM" : "BDZ";
    for (unsigned i = 0; i < po->repeat; i++) {
        if (h)
            cmph_destroy(h);
        uint64_t c0 = pb_cpu_ns(), t0 = ph_time_ns();
        h = pb_cmph_build(k, algo);
        ms[i] = (double)(ph_time_ns() - t0) / 1e6;
        cpu[i] = (double)(pb_cpu_ns() - c0) / 1e6;
        if (!h) {
            pb_cmph_failure(path, name);
            return;
        }
    }
    bool sum_ok = pb_cmph_check(h, k, algo == CMPH_CHM);
    if (!sum_ok)
        pb_cmph_failure(path, algo == CMPH_CHM ? "CHM (wrong indices)" : "BDZ (wrong indices)");
    else {
        m->ms = pb_median(ms, po->repeat);
        m->cpu_ms = pb_median(cpu, po->repeat);
        m->bits = (double)cmph_packed_size(h) * 8.0 / k->n;
        m->ns = pb_lookup_ns(pb_cmph_pass, h, k->v, k->n, &sum_ok);
        m->ok = sum_ok;
    }
    cmph_destroy(h);
}
#endif

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

static const char *pb_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void pb_print_header(const pb_opts *po)
{
    printf("# phbench: ours = CHM order-preserving minimal (hash=%s%s, threads=%u, seed=%" PRIu64
           "), time includes full verification\n",
           ph_hash_name(po->solve.hash), po->solve.compact ? ", compact" : ", pow2",
           po->solve.threads ? po->solve.threads : 1, po->solve.seed);
    if (po->cmph)
        printf("# cmph CHM (c=%.2f): order-preserving minimal, comparable; cmph BDZ (default c): "
               "minimal only, NOT order-preserving (index != position)\n",
               PB_CHM_C);
    printf("# ms = median of %u solves (wall; *_cpu_ms: process CPU time); ns = ns/lookup over all keys, best of %d rounds; "
           "bpk = table bits/key\n",
           po->repeat, PB_ROUNDS);
    const char *cols[] = {"file", "keys", "ours_ms", "attempts", "hash", "chm_ms", "bdz_ms",
                          "ours_bpk", "chm_bpk", "bdz_bpk", "ours_ns", "chm_ns", "bdz_ns",
                          "ours_cpu_ms", "chm_cpu_ms"};
    if (po->csv) {
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            printf("%s%s", i ? "," : "", cols[i]);
        printf("\n");
    } else {
        printf("%-44s %8s %9s %8s %-8s %9s %9s %8s %8s %8s %7s %7s %7s %11s %10s\n", cols[0],
               cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9],
               cols[10], cols[11], cols[12], cols[13], cols[14]);
    }
}

/* which: 0 ms, 1 bits/key, 2 ns, 3 CPU ms.  "-" for a measurement that
 * failed or was not taken. */
static void pb_fmt(char *buf, size_t len, const pb_meas *m, int which)
{
    if (!m->ok) {
        snprintf(buf, len, "-");
        return;
    }
    double v = which == 0 ? m->ms : which == 1 ? m->bits : which == 2 ? m->ns : m->cpu_ms;
    snprintf(buf, len, which == 0 || which == 3 ? "%.3f" : "%.2f", v);
}

static void pb_print_row(const pb_opts *po, const pb_result *r)
{
    char f[11][32];
    const pb_meas *ms[3] = {&r->ours, &r->chm, &r->bdz};
    for (int w = 0; w < 3; w++)
        for (int s = 0; s < 3; s++)
            pb_fmt(f[w * 3 + s], sizeof f[0], ms[s], w);
    pb_fmt(f[9], sizeof f[0], ms[0], 3);
    pb_fmt(f[10], sizeof f[0], ms[1], 3);
    const char *hash = r->ours.ok ? ph_hash_name(r->hash) : "-";
    char att[24] = "-";
    if (r->ours.ok)
        snprintf(att, sizeof att, "%" PRIu64, r->attempts);
    if (po->csv)
        printf("%s,%" PRIu32 ",%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", pb_base(r->path),
               r->n, f[0], att, hash, f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9],
               f[10]);
    else
        printf("%-44s %8" PRIu32 " %9s %8s %-8s %9s %9s %8s %8s %8s %7s %7s %7s %11s %10s\n",
               pb_base(r->path), r->n, f[0], att, hash, f[1], f[2], f[3], f[4], f[5],
               f[6], f[7], f[8], f[9], f[10]);
    fflush(stdout);
}

typedef struct pb_sum {
    size_t files, loaded, ok[3];
    uint64_t keys, attempts;
    double load_ms, ms[3], cpu_ms[3];
    double lookup_ns_keys[3], lookup_keys[3]; /* key-weighted lookup mean */
    double bits_keys[3];                       /* table bits, summed */
    double log_chm, log_bdz;                   /* sums of log(cmph_ms / our_ms) */
    double log_chm_cpu;                        /* the same for CPU time */
    double pair_chm[2], pair_bdz[2];           /* {ours, cmph} ms where both solved */
    size_t n_chm, n_bdz;
} pb_sum;

static void pb_sum_add(pb_sum *s, const pb_result *r)
{
    s->files++;
    if (!r->loaded)
        return;
    s->loaded++;
    s->keys += r->n;
    s->load_ms += r->load_ms;
    const pb_meas *m[3] = {&r->ours, &r->chm, &r->bdz};
    for (int i = 0; i < 3; i++) {
        if (!m[i]->ok)
            continue;
        s->ok[i]++;
        s->ms[i] += m[i]->ms;
        s->cpu_ms[i] += m[i]->cpu_ms;
        s->lookup_ns_keys[i] += m[i]->ns * r->n;
        s->lookup_keys[i] += r->n;
        s->bits_keys[i] += m[i]->bits * r->n;
    }
    if (!r->ours.ok)
        return;
    s->attempts += r->attempts;
    /* Guard against a 0 ms reading on a coarse clock. */
    double ours = r->ours.ms > 1e-6 ? r->ours.ms : 1e-6;
    if (r->chm.ok) {
        s->log_chm += log((r->chm.ms > 1e-6 ? r->chm.ms : 1e-6) / ours);
        s->log_chm_cpu += log((r->chm.cpu_ms > 1e-6 ? r->chm.cpu_ms : 1e-6) /
                              (r->ours.cpu_ms > 1e-6 ? r->ours.cpu_ms : 1e-6));
        s->pair_chm[0] += r->ours.ms;
        s->pair_chm[1] += r->chm.ms;
        s->n_chm++;
    }
    if (r->bdz.ok) {
        s->log_bdz += log((r->bdz.ms > 1e-6 ? r->bdz.ms : 1e-6) / ours);
        s->pair_bdz[0] += r->ours.ms;
        s->pair_bdz[1] += r->bdz.ms;
        s->n_bdz++;
    }
}

static int pb_cmp_attempts(const void *a, const void *b)
{
    const pb_result *x = *(pb_result *const *)a, *y = *(pb_result *const *)b;
    return (y->attempts > x->attempts) - (y->attempts < x->attempts);
}

static int pb_cmp_ours_ms(const void *a, const void *b)
{
    const pb_result *x = *(pb_result *const *)a, *y = *(pb_result *const *)b;
    return (y->ours.ms > x->ours.ms) - (y->ours.ms < x->ours.ms);
}

/* "name(value) ..." for the PB_TOP worst files by cmp. */
static void pb_print_top(const char *label, pb_result *rs, size_t n,
                         int (*cmp)(const void *, const void *), bool by_ms)
{
    pb_result **p = malloc(n * sizeof *p);
    if (!p)
        return;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (rs[i].ours.ok)
            p[m++] = &rs[i];
    qsort(p, m, sizeof *p, cmp);
    printf("%s:", label);
    for (size_t i = 0; i < m && i < PB_TOP; i++) {
        if (by_ms)
            printf(" %s(%.3fms)", pb_base(p[i]->path), p[i]->ours.ms);
        else
            printf(" %s(%" PRIu64 ")", pb_base(p[i]->path), p[i]->attempts);
    }
    printf("\n");
    free(p);
}

static void pb_print_speedup(const char *name, double logsum, size_t n)
{
    if (n)
        printf("%s=%.2f\n", name, exp(logsum / (double)n));
    else
        printf("%s=n/a\n", name);
}

static void pb_print_summary(const pb_opts *po, const pb_sum *s, pb_result *rs, bool many)
{
    double mean_ns[3], mean_bits[3];
    for (int i = 0; i < 3; i++) {
        mean_ns[i] = s->lookup_keys[i] > 0 ? s->lookup_ns_keys[i] / s->lookup_keys[i] : 0;
        mean_bits[i] = s->lookup_keys[i] > 0 ? s->bits_keys[i] / s->lookup_keys[i] : 0;
    }
    printf("total: files=%zu loaded=%zu keys=%" PRIu64 " solved_ours=%zu solved_chm=%zu "
           "solved_bdz=%zu attempts=%" PRIu64 "\n",
           s->files, s->loaded, s->keys, s->ok[0], s->ok[1], s->ok[2], s->attempts);
    printf("total_ms: ours=%.3f cmph_chm=%.3f cmph_bdz=%.3f load=%.3f\n", s->ms[0], s->ms[1],
           s->ms[2], s->load_ms);
    printf("total_cpu_ms: ours=%.3f cmph_chm=%.3f cmph_bdz=%.3f\n", s->cpu_ms[0], s->cpu_ms[1],
           s->cpu_ms[2]);
    if (po->cmph && s->pair_chm[0] > 0 && s->pair_bdz[0] > 0)
        printf("total_ratio: cmph_chm/ours=%.2f cmph_bdz/ours=%.2f (summed ms over files "
               "both solved)\n",
               s->pair_chm[1] / s->pair_chm[0], s->pair_bdz[1] / s->pair_bdz[0]);
    printf("lookup_ns (key-weighted mean): ours=%.2f cmph_chm=%.2f cmph_bdz=%.2f\n",
           mean_ns[0], mean_ns[1], mean_ns[2]);
    printf("bits_per_key (all tables / all keys): ours=%.2f cmph_chm=%.2f cmph_bdz=%.2f\n",
           mean_bits[0], mean_bits[1], mean_bits[2]);
    if (many) {
        double ours_s = s->ms[0] / 1e3;
        printf("many_files: ours_solve_total_s=%.3f cmph_chm_total_s=%.3f "
               "cmph_bdz_total_s=%.3f files_per_s=%.0f ours_cpu_total_s=%.3f (sum of per-file "
               "medians, no files written, load excluded)\n",
               ours_s, s->ms[1] / 1e3, s->ms[2] / 1e3,
               ours_s > 0 ? (double)s->ok[0] / ours_s : 0.0, s->cpu_ms[0] / 1e3);
    }
    pb_print_top("most_attempts", rs, s->files, pb_cmp_attempts, false);
    pb_print_top("slowest_ours", rs, s->files, pb_cmp_ours_ms, true);
    if (!po->cmph) {
        printf("speedup_vs_cmph_chm_cpu=n/a\nspeedup_vs_cmph_bdz=n/a\nspeedup_vs_cmph_chm=n/a\n");
        return;
    }
    pb_print_speedup("speedup_vs_cmph_chm_cpu", s->log_chm_cpu, s->n_chm);
    /* BDZ first: speedup_vs_cmph_chm is the summary's last line (docs/BENCHMARKS.md). */
    pb_print_speedup("speedup_vs_cmph_bdz", s->log_bdz, s->n_bdz);
    pb_print_speedup("speedup_vs_cmph_chm", s->log_chm, s->n_chm);
}

/* ------------------------------------------------------------------------ */
/* Driver                                                                   */

static void pb_bench_file(const pb_opts *po, const char *path, pb_result *r)
{
    ph_err err = {0};
    ph_keys k = {0};
    memset(r, 0, sizeof *r);
    r->path = path;
    uint64_t t0 = ph_time_ns();
    if (ph_keys_load(path, &k, &err)) {
        fprintf(stderr, "phbench: %s\n", err.msg);
        return;
    }
    r->load_ms = (double)(ph_time_ns() - t0) / 1e6;
    r->loaded = true;
    r->n = k.n;
    /* ph_solve does not know the file name; lookup errors already carry it. */
    if (pb_run_ours(po, &k, path, r, &err))
        fprintf(stderr, "phbench: %s%s%s\n", strstr(err.msg, path) ? "" : path,
                strstr(err.msg, path) ? "" : ": ", err.msg);
#ifdef PH_BENCH_HAVE_CMPH
    if (po->cmph) {
        pb_run_cmph(po, &k, path, CMPH_CHM, &r->chm);
        pb_run_cmph(po, &k, path, CMPH_BDZ, &r->bdz);
    }
#endif
    ph_keys_free(&k);
}

static void pb_usage(FILE *f)
{
    fprintf(f,
            "usage: phbench FILES_OR_DIRS... [--threads N] [--hash NAME] [--compact]\n"
            "               [--seed S] [--max-attempts N] [--repeat R] [--no-cmph]\n"
            "               [--csv] [--verbose]\n"
            "Solve each keys file (directories: their *.keys, sorted) with our CHM solver\n"
            "and with libcmph CHM and BDZ; print solve ms (median of R, default 3),\n"
            "attempts, bits/key and lookup ns per file, then totals and\n"
            "speedup_vs_cmph_chm (geometric mean of cmph_chm_ms / our_ms).\n"
            "  --threads N   parallel attempts in our solver (default 1, like cmph)\n"
            "  --hash NAME   mulshift | mulrot | mix | auto (default auto)\n"
            "  --compact     non-power-of-two vertices\n"
            "  --seed S      start seed (default: ph_solve_opts_init's)\n"
            "  --max-attempts N  give up after N graphs (default: ph_solve's)\n"
            "  --repeat R    solves per file and solver, the median reported (default 3,\n"
            "                at most %d)\n"
            "  --no-cmph     only our solver\n"
            "  --csv         comma-separated rows\n"
            "  --verbose     per-file lines even for directories of > %d files\n",
            PB_MAX_REPEAT, PB_MANY_FILES);
}

static int pb_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s ? s : "", &end, 0);
    if (!s || !*s || *end || errno || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/* Returns 0, or 2 after printing a usage error. */
static int pb_parse(int argc, char **argv, pb_opts *po, pb_list *paths)
{
    ph_solve_opts_init(&po->solve);
    po->solve.threads = 1;
    po->repeat = 3;
    po->cmph = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long v;
        if (!strcmp(a, "--threads") || !strcmp(a, "--repeat") || !strcmp(a, "--seed") ||
            !strcmp(a, "--max-attempts")) {
            bool wide = !strcmp(a, "--seed") || !strcmp(a, "--max-attempts");
            unsigned long long max = wide ? UINT64_MAX
                                     : !strcmp(a, "--repeat") ? PB_MAX_REPEAT : 1024;
            if (pb_parse_uint(val, max, &v) || (v == 0 && strcmp(a, "--seed"))) {
                fprintf(stderr, "phbench: %s needs a number in 1..%llu\n", a, max);
                return 2;
            }
            if (!strcmp(a, "--threads"))
                po->solve.threads = (unsigned)v;
            else if (!strcmp(a, "--repeat"))
                po->repeat = (unsigned)v;
            else if (!strcmp(a, "--max-attempts"))
                po->solve.max_attempts = v;
            else
                po->solve.seed = v;
            i++;
        } else if (!strcmp(a, "--hash")) {
            int h = ph_hash_parse(val);
            if (h < 0) {
                fprintf(stderr, "phbench: --hash needs mulshift, mulrot, mix or auto\n");
                return 2;
            }
            po->solve.hash = (ph_hash_kind)h;
            i++;
        } else if (!strcmp(a, "--compact")) {
            po->solve.compact = true;
        } else if (!strcmp(a, "--no-cmph")) {
            po->cmph = false;
        } else if (!strcmp(a, "--csv")) {
            po->csv = true;
        } else if (!strcmp(a, "--verbose")) {
            po->verbose = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            pb_usage(stdout);
            exit(0);
        } else if (a[0] == '-') {
            fprintf(stderr, "phbench: unknown option %s (see --help)\n", a);
            return 2;
        } else {
            char *p = strdup(a);
            if (!p || pb_list_add(paths, p))
                return 2;
        }
    }
    if (!paths->count) {
        pb_usage(stderr);
        return 2;
    }
#ifndef PH_BENCH_HAVE_CMPH
    if (po->cmph)
        fprintf(stderr, "phbench: built without libcmph; cmph columns stay empty\n");
    po->cmph = false;
#endif
    return 0;
}

int main(int argc, char **argv)
{
    pb_opts po = {0};
    pb_list args = {0}, files = {0};
    int rc = pb_parse(argc, argv, &po, &args);
    bool dir_mode = false;
    ph_err err = {0};
    for (size_t i = 0; !rc && i < args.count; i++)
        if (pb_expand(args.items[i], &files, &dir_mode, &err)) {
            fprintf(stderr, "phbench: %s\n", err.msg);
            rc = 1;
        }
    pb_result *rs = rc || !files.count ? NULL : calloc(files.count, sizeof *rs);
    if (!rc && !rs) {
        fprintf(stderr, "phbench: no keys files to measure\n");
        rc = 1;
    }
    if (!rc) {
        bool many = dir_mode && files.count > PB_MANY_FILES;
        bool rows = !many || po.verbose;
        pb_sum s = {0};
        pb_print_header(&po);
        for (size_t i = 0; i < files.count; i++) {
            pb_bench_file(&po, files.items[i], &rs[i]);
            if (rows)
                pb_print_row(&po, &rs[i]);
            pb_sum_add(&s, &rs[i]);
        }
        pb_print_summary(&po, &s, rs, many);
        rc = s.ok[0] == s.files ? 0 : 1;
    }
    free(rs);
    pb_list_free(&files);
    pb_list_free(&args);
    return rc;
}
