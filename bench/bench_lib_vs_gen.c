/* bench_lib_vs_gen.c - the library's lookups against generated code, in
 * one process, rounds alternating, so load on a shared machine hits both
 * alike.  Built by scripts/lib-find-bench.sh together with a generated
 * table's NAME.c (compiled -O2 as its own CMakeLists does) and linked
 * with libphcluster.so:
 *
 *   cc -O2 -DGEN_SYM=lib_1000 -DGEN_HEADER='"lib-1000.h"' -I OUT/lib-1000 \
 *      bench_lib_vs_gen.c OUT/lib-1000/lib-1000.c -lphcluster
 *   bench_lib_vs_gen FILE.keys TABLE.phc [ROUNDS]
 *
 * Per round and per path: every key in file order (passes enough for 2M
 * calls) through index, find of members, find of member + 1 where that is
 * no member, and the same two sets through phc_table_find_batch; the best
 * round of each is printed, with lib/gen ratios.  The
 * two paths must agree on every key and every miss, or it exits 1.
 * Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID): on a shared,
 * loaded machine the time the thread waits for a CPU is left out. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include GEN_HEADER
#include "phcluster.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define GEN_INDEX CAT(GEN_SYM, _index)
#define GEN_FIND CAT(GEN_SYM, _find)
#define GEN_NOT_FOUND CAT(GEN_SYM, _NOT_FOUND)

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint32_t *read_keys(const char *path, uint32_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0)
        return NULL;
    long len = ftell(f);
    rewind(f);
    uint32_t *v = len > 0 ? malloc((size_t)len) : NULL;
    if (!v || fread(v, 1, (size_t)len, f) != (size_t)len) {
        free(v);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *n = (uint32_t)(len / 4);
    return v;
}

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
        double t0 = now_ns();                                                                \
        for (uint32_t p = 0; p < passes; p++)                                                \
            for (uint32_t i = 0; i < n; i++)                                                 \
                acc += (EXPR);                                                               \
        ns = (now_ns() - t0) / ((double)passes * n);                                         \
        sink += acc;                                                                         \
    } while (0)

static double run(int which, const uint32_t *v, uint32_t n)
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
        double t0 = now_ns();
        for (uint32_t p = 0; p < passes; p++) {
            phc_table_find_batch(g_t, v, n, g_out);
            acc += g_out[p % n];
        }
        ns = (now_ns() - t0) / ((double)passes * n);
        sink += acc;
    }
    }
    return ns;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_lib_vs_gen FILE.keys TABLE.phc [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 31;
    uint32_t n = 0, nmiss = 0;
    uint32_t *keys = read_keys(argv[1], &n);
    phc_table *t;
    phc_error e;
    if (!keys || phc_table_load(argv[2], 0, &t, &e) != PHC_OK) {
        fprintf(stderr, "bench_lib_vs_gen: %s\n", keys ? e.msg : "cannot read the keys");
        return 1;
    }
    g_t = t;
    uint32_t *miss = malloc((size_t)n * sizeof *miss);
    g_out = malloc((size_t)n * sizeof *g_out);
    if (!g_out)
        return 1;
    for (uint32_t i = 0; miss && i < n; i++) {
        uint32_t k = keys[i] + 1u, gi = GEN_FIND(k), li = phc_table_find(t, k);
        if (GEN_FIND(keys[i]) != i || phc_table_find(t, keys[i]) != i ||
            GEN_INDEX(keys[i]) != phc_table_index(t, keys[i]) || gi != li ||
            (gi == GEN_NOT_FOUND) != (li == PHC_NOT_FOUND)) {
            fprintf(stderr, "bench_lib_vs_gen: the paths disagree at key %u\n", i);
            return 1;
        }
        if (li == PHC_NOT_FOUND)
            miss[nmiss++] = k;
    }
    double best[NTIMES] = {0};
    for (int r = 0; r < (rounds > 0 ? rounds : 1); r++)
        for (int w = 0; w < NTIMES; w++) {
            /* Alternate gen/lib per measure: index, index, hit, hit, ...,
             * then the batch. */
            int which = w < 6 ? (w % 2) * 3 + w / 2 : w;
            int miss_run = which == GEN_MISS || which == LIB_MISS || which == BATCH_MISS;
            if (miss_run && !nmiss)
                continue;
            double ns = run(which, miss_run ? miss : keys, miss_run ? nmiss : n);
            if (r == 0 || ns < best[which])
                best[which] = ns;
        }
    printf("keys=%u misses=%u", n, nmiss);
    for (int w = 0; w < NTIMES; w++)
        printf(" %s=%.2f", names[w], best[w]);
    printf(" ratio_index=%.2f ratio_find=%.2f ratio_find_miss=%.2f ratio_batch=%.2f "
           "ratio_batch_miss=%.2f\n", best[LIB_IX] / best[GEN_IX], best[LIB_HIT] / best[GEN_HIT],
           nmiss ? best[LIB_MISS] / best[GEN_MISS] : 0.0, best[BATCH_HIT] / best[GEN_HIT],
           nmiss ? best[BATCH_MISS] / best[GEN_MISS] : 0.0);
    free(g_out);
    free(miss);
    free(keys);
    phc_table_free(t);
    return 0;
}
