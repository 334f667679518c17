/* bench_part: a partitioned table (ph_part) of N unique random keys, or of
 * a keys file: split+solve time, verify time, and ns per lookup with the
 * keys in random order (the table far larger than the caches), one
 * ph_part_index call per key and through ph_part_index_batch.
 *
 *   bench_part N|FILE.keys [THREADS [KEYS_PER_BUCKET [SEED]]]
 *   bench_part --gen N FILE.keys     (write N unique keys in scrambled order)
 *   bench_part --gather N            (random reads of an array of N uint32)
 *
 * Prints one line: keys, threads, keys_per_bucket, buckets, solve_s (of it
 * split_s and layout_s, wall),
 * verify_s, attempts, max_bucket_attempts, bytes_per_key, then per lookup
 * (best of 5 rounds): lookup_ns and batch_ns (wall), lookup_cpu_ns and
 * batch_cpu_ns (the thread's CPU time: on a shared machine it leaves out
 * time spent waiting for a core).  Every batch result is checked.
 *
 * PH_BENCH_SOLVES=K solves K times and reports the best wall and the best
 * process CPU of the K (solve_s, solve_verify_cpu_s); PH_BENCH_LOOKUPS=0
 * skips the lookups (their figures print as 0).
 *
 * --gather measures the bound under the lookups: 20M independent random
 * reads of an array of N uint32 on transparent huge pages, the next reads
 * prefetched 0, 8, 16, 32 or 64 reads ahead, then 5M dependent reads
 * (each address hashed from the value read before); best of 3 rounds,
 * thread CPU ns per read. */
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "bench_int.h"
#include "bench_keys_int.h"
#include "ph_part.h"
#include "ph_time.h"

typedef struct lookup_times {
    double wall_ns, cpu_ns;             /* per lookup, best round */
    double batch_wall_ns, batch_cpu_ns;
} lookup_times;

static void keep_best(double *best, double v, int first)
{
    if (first || v < *best)
        *best = v;
}

/* Rounds of single lookups and of batches over order[]; 1 if a batch
 * result is not the key's position. */
static int time_lookups(const ph_part_table *t, const uint32_t *order, const uint32_t *want,
                        uint32_t probes, uint32_t *out, lookup_times *lt)
{
    volatile uint32_t sink = 0;
    for (int r = 0; r < 5; r++) {
        uint64_t w0 = ph_time_ns();
        double c0 = bench_thread_cpu_ns();
        uint32_t acc = 0;
        for (uint32_t i = 0; i < probes; i++)
            acc += ph_part_index(t, order[i]);
        keep_best(&lt->cpu_ns, (bench_thread_cpu_ns() - c0) / probes, r == 0);
        keep_best(&lt->wall_ns, (double)(ph_time_ns() - w0) / probes, r == 0);
        sink += acc;
        w0 = ph_time_ns();
        c0 = bench_thread_cpu_ns();
        ph_part_index_batch(t, order, probes, out);
        keep_best(&lt->batch_cpu_ns, (bench_thread_cpu_ns() - c0) / probes, r == 0);
        keep_best(&lt->batch_wall_ns, (double)(ph_time_ns() - w0) / probes, r == 0);
        for (uint32_t i = 0; i < probes; i++)
            if (out[i] != want[i])
                return 1;
    }
    (void)sink;
    return 0;
}

static int gen_file(const char *count, const char *path)
{
    uint32_t n = (uint32_t)strtoul(count, NULL, 10);
    FILE *f = fopen(path, "wb");
    uint32_t buf[4096];
    for (uint32_t i = 0; f && i < n; i += 4096) {
        uint32_t m = n - i < 4096 ? n - i : 4096;
        for (uint32_t j = 0; j < m; j++)
            buf[j] = bench_scramble(i + j, 0x5eed); /* little-endian hosts only */
        if (fwrite(buf, 4, m, f) != m)
            break;
    }
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "bench_part: %s: cannot write\n", path);
        return 1;
    }
    return 0;
}

/* Random reads of an array of n uint32 on huge pages (see the top). */
static int gather(const char *count)
{
    size_t n = (size_t)strtoull(count, NULL, 10), m = 20000000, huge = (size_t)2 << 20;
    size_t bytes = (n * 4 + huge - 1) & ~(huge - 1);
    uint32_t *a = n ? aligned_alloc(huge, bytes) : NULL;
    uint32_t *idx = malloc(m * sizeof *idx);
    if (!a || !idx) {
        fprintf(stderr, "bench_part: out of memory for --gather %s\n", count);
        return 1;
    }
#ifdef MADV_HUGEPAGE
    (void)madvise(a, bytes, MADV_HUGEPAGE);
#endif
    for (size_t i = 0; i < n; i++)
        a[i] = (uint32_t)i;
    for (size_t i = 0; i < m; i++)
        idx[i] = (uint32_t)(((uint64_t)bench_scramble((uint32_t)i, 0x9a7) * n) >> 32);
    static const unsigned dist[] = {0, 8, 16, 32, 64};
    volatile uint64_t sink = 0;
    for (unsigned d = 0; d < 5; d++) {
        double best = 0;
        for (int r = 0; r < 3; r++) {
            uint64_t acc = 0;
            double c0 = bench_thread_cpu_ns();
            for (size_t i = 0; i < m; i++) {
                if (dist[d] && i + dist[d] < m)
                    __builtin_prefetch(&a[idx[i + dist[d]]]);
                acc += a[idx[i]];
            }
            keep_best(&best, (bench_thread_cpu_ns() - c0) / m, r == 0);
            sink += acc;
        }
        printf("gather values=%zu bytes=%zu prefetch=%u cpu_ns_per_read=%.2f\n", n, n * 4,
               dist[d], best);
    }
    /* Dependent reads: each address is hashed from the value read before,
     * so one read waits for the last (a lookup's latency, not its
     * throughput). */
    double best = 0;
    for (int r = 0; r < 3; r++) {
        uint64_t h = (uint64_t)r;
        double c0 = bench_thread_cpu_ns();
        for (size_t i = 0; i < m / 4; i++)
            h = ph_part_mix(h + a[((h >> 32) * n) >> 32] + 0x9e3779b97f4a7c15ull);
        keep_best(&best, (bench_thread_cpu_ns() - c0) / (m / 4), r == 0);
        sink += h;
    }
    printf("gather values=%zu bytes=%zu dependent cpu_ns_per_read=%.2f\n", n, n * 4, best);
    (void)sink;
    free(idx);
    free(a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--gen"))
        return gen_file(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "--gather"))
        return gather(argv[2]);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_part N|FILE.keys [THREADS [KEYS_PER_BUCKET [SEED]]]\n");
        return 1;
    }
    uint32_t n = 0;
    uint32_t *keys = bench_make_keys("bench_part", argv[1], &n, 0x5eed);
    if (!keys)
        return 1;
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
    if (argc > 3)
        o.keys_per_bucket = (uint32_t)atoi(argv[3]);
    o.seed = argc > 4 ? strtoull(argv[4], NULL, 0) : 1;
    ph_part_table t;
    ph_err err;
    const char *ev = getenv("PH_BENCH_SOLVES");
    int solves = ev && atoi(ev) > 0 ? atoi(ev) : 1;
    double cpu = 0, wall = 0, split = 0, layout = 0;
    for (int r = 0; r < solves; r++) {
        if (r > 0)
            ph_part_free(&t);
        double c0 = bench_process_cpu_s();
        if (ph_part_solve(keys, n, &o, &t, &err)) {
            fprintf(stderr, "bench_part: %s\n", err.msg);
            return 1;
        }
        keep_best(&cpu, bench_process_cpu_s() - c0, r == 0);
        if (r == 0 || t.solve_us / 1e6 < wall) {
            split = t.split_us / 1e6;
            layout = t.layout_us / 1e6;
        }
        keep_best(&wall, t.solve_us / 1e6, r == 0);
    }
    ev = getenv("PH_BENCH_LOOKUPS");
    int lookups = !(ev && !strcmp(ev, "0"));
    /* Random order: positions drawn by a second scramble. */
    uint32_t probes = n < 20000000u ? n : 20000000u;
    uint32_t *order = malloc((size_t)probes * sizeof *order);
    uint32_t *want = malloc((size_t)probes * sizeof *want);
    uint32_t *out = malloc((size_t)probes * sizeof *out);
    for (uint32_t i = 0; order && want && i < probes; i++) {
        want[i] = bench_scramble(i, 0xabcd) % n;
        order[i] = keys[want[i]];
    }
    lookup_times lt = {0};
    if (!order || !want || !out ||
        (lookups && time_lookups(&t, order, want, probes, out, &lt))) {
        fprintf(stderr, "bench_part: %s\n", out ? "a batch lookup is wrong" : "out of memory");
        return 1;
    }
    printf("keys=%u threads=%u keys_per_bucket=%u buckets=%u solve_s=%.3f split_s=%.3f "
           "layout_s=%.3f verify_s=%.3f "
           "solve_verify_cpu_s=%.3f attempts=%llu max_bucket_attempts=%u bytes_per_key=%.2f "
           "lookup_ns=%.2f batch_ns=%.2f lookup_cpu_ns=%.2f batch_cpu_ns=%.2f\n",
           n, o.threads, o.keys_per_bucket, t.nbuckets, wall, split, layout, t.verify_us / 1e6, cpu,
           (unsigned long long)t.attempts, t.max_bucket_attempts,
           (double)ph_part_bytes(&t) / n, lt.wall_ns, lt.batch_wall_ns, lt.cpu_ns,
           lt.batch_cpu_ns);
    free(want);
    free(out);
    free(order);
    ph_part_free(&t);
    free(keys);
    return 0;
}
