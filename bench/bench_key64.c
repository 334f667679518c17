/* bench_key64: solve time of 64-bit keys against 32-bit keys of the same
 * count, one graph (ph_solve / ph_solve64) and partitioned (ph_part_solve
 * / ph_part_solve64).  Both sets are unique keys in scrambled order (a
 * bijection of the index: 32-bit, and 64-bit over all 64 bits); both use
 * the same options and seeds.  Each case runs ROUNDS times alternating the
 * two sizes (round r with start seed r + 1), and the mean wall and CPU time
 * of each is printed with their ratio (CPU time leaves out waiting for a
 * core on a shared machine), with the attempts summed over the rounds and
 * the ratio of CPU time per attempt (the cost of hashing and peeling one
 * graph, whatever luck the seeds had).
 *
 *   bench_key64 [ROUNDS [N...]]     default: 5 rounds, 100000 1000000 10000000
 *
 * One line per case: mode, keys, rounds, t32_s, t64_s, ratio, cpu32_s,
 * cpu64_s, cpu_ratio, attempts32, attempts64, cpu_per_attempt_ratio.  Every set is solved as one graph (1 thread), and from 2^20
 * keys on also partitioned (2 threads). */
#include <stdio.h>
#include <stdlib.h>

#include "bench_int.h"
#include "ph_part.h"
#include "ph_solver.h"
#include "ph_time.h"

static uint64_t scramble64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct timing {
    double wall, cpu;
    uint64_t attempts;
} timing;

/* One solve of either size in either mode with start seed `seed`; exits on
 * failure. */
static timing solve_once(const void *keys, unsigned ks, uint32_t n, int part, uint64_t seed)
{
    ph_err err = {0};
    int rc;
    uint64_t attempts = 0;
    double c0 = bench_process_cpu_s();
    uint64_t t0 = ph_time_us();
    if (part) {
        ph_part_opts o;
        ph_part_opts_init(&o);
        o.threads = 2;
        o.seed = seed;
        ph_part_table t;
        rc = ks == 8 ? ph_part_solve64(keys, n, &o, &t, &err)
                     : ph_part_solve(keys, n, &o, &t, &err);
        if (!rc) {
            attempts = t.attempts;
            ph_part_free(&t);
        }
    } else {
        ph_solve_opts o;
        ph_solve_opts_init(&o);
        o.seed = seed;
        ph_table t;
        rc = ks == 8 ? ph_solve64(keys, n, &o, &t, &err) : ph_solve(keys, n, &o, &t, &err);
        if (!rc) {
            attempts = t.attempts;
            ph_table_free(&t);
        }
    }
    timing r = {(double)(ph_time_us() - t0) / 1e6, bench_process_cpu_s() - c0, attempts};
    if (rc) {
        fprintf(stderr, "bench_key64: %u keys of %u bytes: %s\n", n, ks, err.msg);
        exit(1);
    }
    return r;
}

/* ROUNDS solves of each size, alternating, round r with start seed r + 1:
 * an acyclic graph takes a random number of attempts (1.5 on average at
 * 2.09 vertices per key), so totals are summed over the rounds and the
 * cost of one attempt (time / attempts) is printed beside them. */
static void run_case(const uint32_t *k32, const uint64_t *k64, uint32_t n, int part, int rounds)
{
    timing s32 = {0, 0, 0}, s64 = {0, 0, 0};
    for (int r = 0; r < rounds; r++) {
        timing a = solve_once(k32, 4, n, part, (uint64_t)r + 1);
        timing b = solve_once(k64, 8, n, part, (uint64_t)r + 1);
        s32.wall += a.wall;
        s32.cpu += a.cpu;
        s32.attempts += a.attempts;
        s64.wall += b.wall;
        s64.cpu += b.cpu;
        s64.attempts += b.attempts;
    }
    double pa32 = s32.cpu / (double)s32.attempts, pa64 = s64.cpu / (double)s64.attempts;
    printf("mode=%s keys=%u rounds=%d t32_s=%.4f t64_s=%.4f ratio=%.3f cpu32_s=%.4f "
           "cpu64_s=%.4f cpu_ratio=%.3f attempts32=%llu attempts64=%llu "
           "cpu_per_attempt_ratio=%.3f\n",
           part ? "partitioned" : "one-graph", n, rounds, s32.wall / rounds, s64.wall / rounds,
           s64.wall / s32.wall, s32.cpu / rounds, s64.cpu / rounds, s64.cpu / s32.cpu,
           (unsigned long long)s32.attempts, (unsigned long long)s64.attempts, pa64 / pa32);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    static const char *const defaults[] = {"100000", "1000000", "10000000"};
    int nsizes = argc > 2 ? argc - 2 : 3;
    for (int s = 0; s < nsizes; s++) {
        uint32_t n = (uint32_t)strtoul(argc > 2 ? argv[2 + s] : defaults[s], NULL, 10);
        uint32_t *k32 = malloc((size_t)n * sizeof *k32);
        uint64_t *k64 = malloc((size_t)n * sizeof *k64);
        if (!n || !k32 || !k64) {
            fprintf(stderr, "bench_key64: no memory for %u keys\n", n);
            return 1;
        }
        for (uint32_t i = 0; i < n; i++) {
            k32[i] = bench_scramble(i, 0);
            k64[i] = scramble64(i);
        }
        run_case(k32, k64, n, 0, rounds < 1 ? 1 : rounds);
        if (n >= PH_PART_AUTO_MIN_KEYS)
            run_case(k32, k64, n, 1, rounds < 1 ? 1 : rounds);
        free(k32);
        free(k64);
    }
    return 0;
}
