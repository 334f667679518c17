/* bench_values.c - the library's values (phc_table_increment, _lookup)
 * against a generated table's NAME_increment and NAME_lookup, in one
 * process, rounds alternating, so load on a shared machine hits both
 * alike.  Built by scripts/values-bench.sh with a generated table's NAME.c
 * (and, partitioned, NAME_data.S) made with --values 8, linked with
 * libphcluster:
 *
 *   cc -O2 -DGEN_SYM=val_1000 -DGEN_HEADER='"val-1000.h"' -I OUT/val-1000 \
 *      bench_values.c OUT/val-1000/val-1000.c -lphcluster
 *   bench_values FILE.keys TABLE.phc [ROUNDS]
 *
 * Per round and per path: every key in file order (passes enough for 2M
 * calls) through increment, then through lookup, then through find (what
 * a lookup costs beyond its find); the best round of each is printed,
 * with lib/gen ratios and the library's lookup/find.  Both paths increment every key the
 * same number of times, so at the end each key's value must agree, or it
 * exits 1.  Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID). */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include GEN_HEADER
#include "bench_int.h"
#include "phcluster.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define GEN_INCREMENT CAT(GEN_SYM, _increment)
#define GEN_LOOKUP CAT(GEN_SYM, _lookup)
#define GEN_FIND CAT(GEN_SYM, _find)

enum { GEN_INC, LIB_INC, GEN_LOOK, LIB_LOOK, GEN_FIND_, LIB_FIND, NTIMES };
static const char *const names[NTIMES] = {"gen_increment", "lib_increment", "gen_lookup",
                                          "lib_lookup",    "gen_find",      "lib_find"};

/* ns per call of one path over `passes` passes of the keys. */
static double run(int which, phc_table *t, const uint32_t *keys, uint32_t n, unsigned passes,
                  uint64_t *sink)
{
    uint64_t acc = 0;
    double t0 = bench_thread_cpu_ns();
    for (unsigned p = 0; p < passes; p++)
        for (uint32_t i = 0; i < n; i++) {
            switch (which) {
            case GEN_INC: acc += GEN_INCREMENT(keys[i]); break;
            case LIB_INC: acc += phc_table_increment(t, keys[i]); break;
            case GEN_LOOK: acc += GEN_LOOKUP(keys[i]); break;
            case LIB_LOOK: acc += phc_table_lookup(t, keys[i]); break;
            case GEN_FIND_: acc += GEN_FIND(keys[i]); break;
            default: acc += phc_table_find(t, keys[i]); break;
            }
        }
    double dt = bench_thread_cpu_ns() - t0;
    *sink += acc;
    return dt / ((double)passes * n);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_values FILE.keys TABLE.phc [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 15;
    uint32_t n = 0;
    uint32_t *keys = bench_read_values(argv[1], sizeof *keys, &n);
    phc_table *t;
    phc_error e;
    if (!keys || n == 0) {
        fprintf(stderr, "bench_values: cannot read %s\n", argv[1]);
        return 2;
    }
    if (phc_table_load(argv[2], 0, &t, &e) != PHC_OK) {
        fprintf(stderr, "bench_values: %s\n", e.msg);
        return 2;
    }
    if (phc_table_value_size(t) != 8) {
        fprintf(stderr, "bench_values: %s: expected 8-byte values\n", argv[2]);
        return 2;
    }
    unsigned passes = n >= 2000000 ? 1 : (unsigned)(2000000 / n);
    double best[NTIMES];
    uint64_t sink = 0;
    for (int r = 0; r < rounds; r++)
        for (int w = 0; w < NTIMES; w++) {
            double ns = run(w, t, keys, n, passes, &sink);
            if (r == 0 || ns < best[w])
                best[w] = ns;
        }
    for (uint32_t i = 0; i < n; i++)
        if (GEN_LOOKUP(keys[i]) != phc_table_lookup(t, keys[i])) {
            fprintf(stderr, "bench_values: key %u: generated %llu, library %llu\n", i,
                    (unsigned long long)GEN_LOOKUP(keys[i]),
                    (unsigned long long)phc_table_lookup(t, keys[i]));
            return 1;
        }
    printf("keys=%u", n);
    for (int w = 0; w < NTIMES; w++)
        printf(" %s=%.2f", names[w], best[w]);
    printf(" ratio_increment=%.2f ratio_lookup=%.2f ratio_find=%.2f lib_lookup_over_find=%.2f\n",
           best[LIB_INC] / best[GEN_INC], best[LIB_LOOK] / best[GEN_LOOK],
           best[LIB_FIND] / best[GEN_FIND_], best[LIB_LOOK] / best[LIB_FIND]);
    phc_table_free(t);
    free(keys);
    return sink == 42 ? 3 : 0;
}
