/* bench_find.c - membership through the run-time table (ph_table_index plus
 * one compare against the keys in position order), the path a program takes
 * when the table is not compiled in.  The generated NAME_find, whose
 * parameters are literals, is measured by scripts/find-bench.sh.
 *
 * usage: bench_find [N...]          default: 1000 10000 100000 1000000
 *
 * Per N: N unique keys from a bijection of 0..N-1 (so no duplicates), N
 * non-members from N..2N-1 through the same bijection (so none is a
 * member), one solve with default options, then ns per call over all keys
 * in order, best of BF_ROUNDS rounds: Index of members, find of members,
 * find of non-members.  Every member must be found at its position and
 * every non-member rejected, or the run exits 1. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ph_err.h"
#include "ph_solver.h"
#include "ph_time.h"

#define BF_ROUNDS 7
#define BF_MIN_CALLS 2000000u   /* per round: small sets are looped over */
#define BF_NOT_FOUND UINT32_MAX

/* A bijection of uint32 (odd multiplies and xorshifts are invertible). */
static uint32_t bf_mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static uint32_t bf_find(const ph_table *t, const uint32_t *keys, uint32_t key)
{
    uint32_t i = ph_table_index(t, key);
    return i < t->nkeys && keys[i] == key ? i : BF_NOT_FOUND;
}

typedef enum { BF_INDEX, BF_FIND, BF_MISS } bf_mode;

/* ns per call, best of BF_ROUNDS; the sum goes to a volatile so the loop stays. */
static double bf_time(const ph_table *t, const uint32_t *keys, const uint32_t *probe, uint32_t n,
                      bf_mode mode)
{
    static volatile uint32_t sink;
    uint32_t passes = 1 + BF_MIN_CALLS / n;
    double best = 0;
    for (int r = 0; r < BF_ROUNDS; r++) {
        uint32_t acc = 0;
        uint64_t t0 = ph_time_ns();
        for (uint32_t p = 0; p < passes; p++)
            for (uint32_t i = 0; i < n; i++)
                acc += mode == BF_INDEX ? ph_table_index(t, probe[i]) : bf_find(t, keys, probe[i]);
        double ns = (double)(ph_time_ns() - t0) / ((double)passes * n);
        sink += acc;
        if (r == 0 || ns < best)
            best = ns;
    }
    return best;
}

static int bf_run(uint32_t n)
{
    uint32_t *keys = malloc((size_t)n * sizeof *keys), *miss = malloc((size_t)n * sizeof *miss);
    if (!keys || !miss) {
        fprintf(stderr, "bench_find: out of memory for %" PRIu32 " keys\n", n);
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        keys[i] = bf_mix(i);
        miss[i] = bf_mix(n + i);
    }
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    ph_table t = {0};
    ph_err err = {0};
    int rc = ph_solve(keys, n, &o, &t, &err);
    if (rc) {
        fprintf(stderr, "bench_find: %" PRIu32 " keys: %s\n", n, err.msg);
        goto out;
    }
    uint32_t found = 0, rejected = 0;
    for (uint32_t i = 0; i < n; i++) {
        found += bf_find(&t, keys, keys[i]) == i;
        rejected += bf_find(&t, keys, miss[i]) == BF_NOT_FOUND;
    }
    if (found != n || rejected != n) {
        fprintf(stderr, "bench_find: %" PRIu32 " keys: %" PRIu32 " found, %" PRIu32
                        " non-members rejected\n", n, found, rejected);
        rc = 1;
        goto out;
    }
    printf("keys=%" PRIu32 " hash=%s ns_per_index=%.2f ns_per_find=%.2f ns_per_find_miss=%.2f "
           "rejected=%" PRIu32 "/%" PRIu32 "\n",
           n, ph_hash_name(t.hash), bf_time(&t, keys, keys, n, BF_INDEX),
           bf_time(&t, keys, keys, n, BF_FIND), bf_time(&t, keys, miss, n, BF_MISS), rejected, n);
out:
    ph_table_free(&t);
    free(keys);
    free(miss);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const uint32_t defaults[] = {1000, 10000, 100000, 1000000};
    int rc = 0;
    if (argc < 2) {
        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
            rc |= bf_run(defaults[i]);
        return rc;
    }
    for (int i = 1; i < argc; i++) {
        char *end;
        unsigned long v = strtoul(argv[i], &end, 10);
        if (*end || v == 0 || v > UINT32_MAX / 2) {
            fprintf(stderr, "bench_find: '%s': expected a key count in 1..%u\n", argv[i],
                    UINT32_MAX / 2);
            return 2;
        }
        rc |= bf_run((uint32_t)v);
    }
    return rc;
}
