/* bench_part_coord: the coordinator's own work on a partitioned table, per
 * key, without sockets: the split of the keys by bucket
 * (ph_part_split_positions) and the check of every returned group
 * (ph_part_check_group), the groups solved here first (not timed).
 *
 *   bench_part_coord N [THREADS [ROUNDS]]
 *
 * N unique keys in scrambled order, default bucket size, groups of 2^18
 * keys (the coordinator's default --part-task-bytes).  THREADS is the
 * split's (the coordinator uses 2).  Prints per round the CPU
 * nanoseconds per key (the process's user + system time: on a shared
 * machine it leaves out time spent waiting for a core) of the split and
 * of the checks, then the best of the rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_keys_int.h"
#include "ph_part.h"
#include "ph_time.h"

#define GROUP_KEYS (1u << 18)

/* The process's CPU time (all threads), ns at microsecond resolution. */
static double cpu_ns(void)
{
    return (double)ph_time_process_cpu_us() * 1e3;
}

typedef struct bgroup {
    ph_part_group g;
    uint32_t *counts, *seeds, *values;
} bgroup;

/* Groups of consecutive buckets of about GROUP_KEYS keys, each solved. */
static bgroup *make_groups(const uint64_t *start, const uint32_t *gk, const uint32_t *pos,
                           uint64_t tseed, uint32_t n, uint32_t nb, uint32_t *ngroups)
{
    bgroup *v = calloc(nb, sizeof *v);
    uint32_t ng = 0;
    for (uint32_t b = 0; v && b < nb;) {
        uint32_t e = b;
        while (e < nb && (e == b || start[e + 1] - start[b] <= GROUP_KEYS))
            e++;
        bgroup *x = &v[ng++];
        x->counts = malloc((size_t)(e - b) * 4);
        x->seeds = malloc((size_t)(e - b) * 4);
        for (uint32_t i = b; x->counts && i < e; i++)
            x->counts[i - b] = (uint32_t)(start[i + 1] - start[i]);
        x->g = (ph_part_group){.table_seed = tseed, .nkeys = n, .nbuckets = nb, .bucket_lo = b,
                               .ngroup = e - b, .counts = x->counts, .keys = gk + start[b],
                               .pos = pos + start[b]};
        x->values = malloc(ph_part_group_nverts(&x->g) * 4 + 4);
        uint64_t at = 0;
        uint32_t mx = 0;
        ph_err err;
        if (!x->seeds || !x->values ||
            ph_part_solve_group(&x->g, x->seeds, x->values, &at, &mx, &err)) {
            fprintf(stderr, "bench_part_coord: cannot solve a group\n");
            exit(1);
        }
        b = e;
    }
    *ngroups = ng;
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_part_coord N [THREADS [ROUNDS]]\n");
        return 1;
    }
    uint32_t n = (uint32_t)strtoul(argv[1], NULL, 10);
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    uint32_t *keys = malloc((size_t)n * 4 + 4);
    for (uint32_t i = 0; keys && i < n; i++)
        keys[i] = bench_scramble(i, 0x5eed);
    uint64_t tseed = ph_part_table_seed(1);
    uint32_t nb = ph_part_nbuckets(n, 0);
    double best_split = 0, best_check = 0;
    for (int r = 0; keys && r < rounds; r++) {
        uint64_t *start;
        uint32_t *gk, *pos;
        ph_err err;
        double c0 = cpu_ns();
        if (ph_part_split_positions(keys, n, tseed, nb, threads, &start, &gk, &pos, &err)) {
            fprintf(stderr, "bench_part_coord: %s\n", err.msg);
            return 1;
        }
        double split = (cpu_ns() - c0) / n;
        uint32_t ng;
        bgroup *gs = make_groups(start, gk, pos, tseed, n, nb, &ng);
        c0 = cpu_ns();
        for (uint32_t g = 0; g < ng; g++)
            if (ph_part_check_group(&gs[g].g, gs[g].seeds, gs[g].values, &err)) {
                fprintf(stderr, "bench_part_coord: group %u: %s\n", g, err.msg);
                return 1;
            }
        double check = (cpu_ns() - c0) / n;
        printf("round=%d keys=%u buckets=%u groups=%u split_cpu_ns=%.2f check_cpu_ns=%.2f\n", r,
               n, nb, ng, split, check);
        if (r == 0 || split < best_split)
            best_split = split;
        if (r == 0 || check < best_check)
            best_check = check;
        for (uint32_t g = 0; g < ng; g++) {
            free(gs[g].counts);
            free(gs[g].seeds);
            free(gs[g].values);
        }
        free(gs);
        free(start);
        free(gk);
        free(pos);
    }
    printf("best keys=%u threads=%u split_cpu_ns=%.2f check_cpu_ns=%.2f\n", n, threads,
           best_split, best_check);
    free(keys);
    return 0;
}
