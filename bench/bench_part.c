/* bench_part: a partitioned table (ph_part) of N unique random keys, or of
 * a keys file: split+solve time, verify time, and ns per lookup with the
 * keys in random order (the table far larger than the caches).
 *
 *   bench_part N|FILE.keys [THREADS [KEYS_PER_BUCKET [SEED]]]
 *   bench_part --gen N FILE.keys     (write N unique keys in scrambled order)
 *
 * Prints one line: keys, threads, keys_per_bucket, buckets, solve_s,
 * verify_s, attempts, max_bucket_attempts, bytes_per_key, lookup_ns. */
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "ph_keys.h"
#include "ph_part.h"
#include "ph_time.h"

/* A bijection of 32-bit values: unique keys in scrambled order. */
static uint32_t scramble(uint32_t x, uint32_t salt)
{
    x ^= salt;
    x *= 0x9e3779b1u;
    x ^= x >> 15;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    return x;
}

static uint32_t *make_keys(const char *arg, uint32_t *n, uint32_t salt)
{
    if (strstr(arg, ".keys")) {
        ph_keys k;
        ph_err err;
        if (ph_keys_load(arg, &k, &err)) {
            fprintf(stderr, "bench_part: %s\n", err.msg);
            return NULL;
        }
        *n = k.n;
        return k.v;
    }
    *n = (uint32_t)strtoul(arg, NULL, 10);
    uint32_t *v = *n ? malloc((size_t)*n * sizeof *v) : NULL;
    for (uint32_t i = 0; v && i < *n; i++)
        v[i] = scramble(i, salt);
    return v;
}

/* Process CPU seconds (user + system): meaningful on a shared machine. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int gen_file(const char *count, const char *path)
{
    uint32_t n = (uint32_t)strtoul(count, NULL, 10);
    FILE *f = fopen(path, "wb");
    uint32_t buf[4096];
    for (uint32_t i = 0; f && i < n; i += 4096) {
        uint32_t m = n - i < 4096 ? n - i : 4096;
        for (uint32_t j = 0; j < m; j++)
            buf[j] = scramble(i + j, 0x5eed); /* little-endian hosts only */
        if (fwrite(buf, 4, m, f) != m)
            break;
    }
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "bench_part: %s: cannot write\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--gen"))
        return gen_file(argv[2], argv[3]);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_part N|FILE.keys [THREADS [KEYS_PER_BUCKET [SEED]]]\n");
        return 1;
    }
    uint32_t n = 0;
    uint32_t *keys = make_keys(argv[1], &n, 0x5eed);
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
    double c0 = cpu_s();
    int solved = ph_part_solve(keys, n, &o, &t, &err);
    double cpu = cpu_s() - c0;
    if (solved) {
        fprintf(stderr, "bench_part: %s\n", err.msg);
        return 1;
    }
    /* Random order: a permutation of positions from a second scramble. */
    uint32_t probes = n < 20000000u ? n : 20000000u;
    uint32_t *order = malloc((size_t)probes * sizeof *order);
    for (uint32_t i = 0; order && i < probes; i++)
        order[i] = keys[scramble(i, 0xabcd) % n];
    double best = 0;
    volatile uint32_t sink = 0;
    for (int r = 0; order && r < 3; r++) {
        uint64_t t0 = ph_time_us();
        uint32_t acc = 0;
        for (uint32_t i = 0; i < probes; i++)
            acc += ph_part_index(&t, order[i]);
        double ns = (double)(ph_time_us() - t0) * 1000.0 / probes;
        sink += acc;
        if (r == 0 || ns < best)
            best = ns;
    }
    printf("keys=%u threads=%u keys_per_bucket=%u buckets=%u solve_s=%.3f verify_s=%.3f "
           "solve_verify_cpu_s=%.3f attempts=%llu max_bucket_attempts=%u bytes_per_key=%.2f "
           "lookup_ns=%.2f\n",
           n, o.threads, o.keys_per_bucket, t.nbuckets, t.solve_us / 1e6, t.verify_us / 1e6, cpu,
           (unsigned long long)t.attempts, t.max_bucket_attempts,
           (double)ph_part_bytes(&t) / n, best);
    free(order);
    ph_part_free(&t);
    free(keys);
    return sink == 0xffffffffu ? 2 : 0;
}
