/* bench_lib_vs_gen.c - the library's lookups against generated code, in
 * one process, rounds alternating, so load on a shared machine hits both
 * alike.  Built by `scripts/find-bench.sh --lib` together with a
 * generated table's sources (compiled -O2 as its own CMakeLists does) and
 * linked with libphcluster.so or libphcluster.a:
 *
 *   cc -O2 -DGEN_SYM=lib_1000 -DGEN_HEADER='"lib-1000.h"' [-DGEN_HAS_FIND] \
 *      -I OUT/lib-1000 bench_lib_vs_gen.c OUT/lib-1000/lib-1000.c -lphcluster
 *   bench_lib_vs_gen FILE.keys TABLE.phc [ROUNDS]
 *
 * The key width is the generated header's NAME_KEY_BITS (32 or 64).  A
 * table whose generated code has no NAME_find (partitioned tables: Index
 * only) is compared with NAME_index plus the compare against the keys in
 * position order that NAME_find would do.
 *
 * Per round and per path: every key in file order (passes enough for 2M
 * calls) through index, find of members, find of member + 1 where that is
 * no member, and the same two sets through phc_table_find_batch; the
 * median round of each is printed, with lib/gen ratios of the medians.
 * The two paths must agree on every key and every miss, or it exits 1.
 * Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID): on a shared,
 * loaded machine the time the thread waits for a CPU is left out. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include GEN_HEADER
#include "bench_int.h"
#include "phcluster.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define GEN_INDEX CAT(GEN_SYM, _index)

#if CAT(GEN_SYM, _KEY_BITS) == 64
typedef uint64_t key_t_;
#else
typedef uint32_t key_t_;
#endif

static const key_t_ *g_keys; /* position order: the generated find's compare */
static uint32_t g_nkeys;

#ifdef GEN_HAS_FIND
#define GEN_FIND CAT(GEN_SYM, _find)
#else
static uint32_t gen_find_of(key_t_ key)
{
    uint32_t i = GEN_INDEX(key);
    return i < g_nkeys && g_keys[i] == key ? i : PHC_NOT_FOUND;
}
#define GEN_FIND gen_find_of
#endif

enum { GEN_IX, GEN_HIT, GEN_MISS, LIB_IX, LIB_HIT, LIB_MISS, BATCH_HIT, BATCH_MISS, NTIMES };
static const char *const names[NTIMES] = {"gen_index", "gen_find", "gen_find_miss",
                                          "lib_index", "lib_find", "lib_find_miss",
                                          "lib_batch", "lib_batch_miss"};
static uint32_t *g_out;
static const phc_table *g_t;
static volatile uint32_t sink;

#define TIME_LOOP(EXPR)                                                                      \
    do {                                                                                     \
        uint32_t acc = 0;                                                                    \
        double t0 = bench_thread_cpu_ns();                                                                \
        for (uint32_t p = 0; p < passes; p++)                                                \
            for (uint32_t i = 0; i < n; i++)                                                 \
                acc += (EXPR);                                                               \
        ns = (bench_thread_cpu_ns() - t0) / ((double)passes * n);                                         \
        sink += acc;                                                                         \
    } while (0)

static double run(int which, const key_t_ *v, uint32_t n)
{
    uint32_t passes = 1 + 2000000u / n;
    double ns = 0;
    switch (which) {
    case GEN_IX: TIME_LOOP(GEN_INDEX(v[i])); break;
    case GEN_HIT: case GEN_MISS: TIME_LOOP(GEN_FIND(v[i])); break;
    case LIB_IX: TIME_LOOP(phc_table_index(g_t, v[i])); break;
    case LIB_HIT: case LIB_MISS: TIME_LOOP(phc_table_find(g_t, v[i])); break;
    default: {
        uint32_t acc = 0;
        double t0 = bench_thread_cpu_ns();
        for (uint32_t p = 0; p < passes; p++) {
            phc_table_find_batch(g_t, v, n, g_out);
            acc += g_out[p % n];
        }
        ns = (bench_thread_cpu_ns() - t0) / ((double)passes * n);
        sink += acc;
    }
    }
    return ns;
}

/* Members at their positions on both paths, each member + 1 answered
 * alike; the misses kept in miss[]. */
static int agree(const phc_table *t, const key_t_ *keys, uint32_t n, key_t_ *miss,
                 uint32_t *nmiss)
{
    for (uint32_t i = 0; i < n; i++) {
        key_t_ k = keys[i] + 1u;
        uint32_t gi = GEN_FIND(k), li = phc_table_find(t, k);
        if (GEN_FIND(keys[i]) != i || phc_table_find(t, keys[i]) != i ||
            GEN_INDEX(keys[i]) != phc_table_index(t, keys[i]) || gi != li) {
            fprintf(stderr, "bench_lib_vs_gen: the paths disagree at key %u\n", i);
            return 0;
        }
        if (li == PHC_NOT_FOUND)
            miss[(*nmiss)++] = k;
    }
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_lib_vs_gen FILE.keys TABLE.phc [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 31;
    if (rounds < 1)
        rounds = 1;
    uint32_t n = 0, nmiss = 0;
    key_t_ *keys = bench_read_values(argv[1], sizeof *keys, &n);
    phc_table *t;
    phc_error e;
    if (!keys || phc_table_load(argv[2], 0, &t, &e) != PHC_OK) {
        fprintf(stderr, "bench_lib_vs_gen: %s\n", keys ? e.msg : "cannot read the keys");
        return 1;
    }
    g_t = t;
    g_keys = keys;
    g_nkeys = n;
    key_t_ *miss = malloc((size_t)n * sizeof *miss);
    g_out = malloc((size_t)n * sizeof *g_out);
    double *times = malloc((size_t)NTIMES * rounds * sizeof *times);
    if (!miss || !g_out || !times || !agree(t, keys, n, miss, &nmiss))
        return 1;
    for (int r = 0; r < rounds; r++)
        for (int w = 0; w < NTIMES; w++) {
            /* Alternate gen/lib per measure: index, index, hit, hit, ...,
             * then the batch. */
            int which = w < 6 ? (w % 2) * 3 + w / 2 : w;
            int miss_run = which == GEN_MISS || which == LIB_MISS || which == BATCH_MISS;
            times[which * rounds + r] =
                miss_run && !nmiss ? 0 : run(which, miss_run ? miss : keys, miss_run ? nmiss : n);
        }
    double med[NTIMES];
    for (int w = 0; w < NTIMES; w++) {
        qsort(times + w * rounds, (size_t)rounds, sizeof *times, cmp_double);
        med[w] = times[w * rounds + rounds / 2];
    }
    printf("keys=%u key_bits=%u misses=%u", n, (unsigned)(8 * sizeof(key_t_)), nmiss);
    for (int w = 0; w < NTIMES; w++)
        printf(" %s=%.2f", names[w], med[w]);
    printf(" ratio_index=%.2f ratio_find=%.2f ratio_find_miss=%.2f ratio_batch=%.2f "
           "ratio_batch_miss=%.2f\n", med[LIB_IX] / med[GEN_IX], med[LIB_HIT] / med[GEN_HIT],
           nmiss ? med[LIB_MISS] / med[GEN_MISS] : 0.0, med[BATCH_HIT] / med[GEN_HIT],
           nmiss ? med[BATCH_MISS] / med[GEN_MISS] : 0.0);
    free(times);
    free(g_out);
    free(miss);
    free(keys);
    phc_table_free(t);
    return 0;
}
