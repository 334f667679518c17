/* bench_downsize: 64-bit keys of which at most 32 bits vary, through the
 * 64-bit path against the same keys downsized to 32 bits (the varying bits
 * gathered into one uint32_t) and the 32-bit path, with libphcluster.
 *
 * A key is base | deposit(x, mask): x a unique 32-bit value (a bijection of
 * the key's number), mask a 64-bit mask of 32 set bits, base the constant
 * bits outside it.  Per mask:
 *   solve  phc_table_build64(keys) against gather(all keys) +
 *          phc_table_build32 (one thread, seeds 1..ROUNDS, alternating);
 *   find   phc_table_find on the 64-bit table against the downsized find:
 *          (key & ~mask) == base, then phc_table_find(t32, gather(key)),
 *          the gather with one shift (a mask of one run: the varying
 *          bits are consecutive), with the portable shift-and-mask per
 *          run of mask bits, and with BMI2 pext where the CPU has it;
 *          members in order, then misses that differ from a member in one
 *          constant bit (all must be rejected: they gather to a member).
 * Median CPU time of the rounds; lines "mask=... solve64_ms= ..." with
 * ratios downsized / 64-bit.
 *
 *   bench_downsize [ROUNDS [N...]]     default: 7 rounds, 100000 1000000 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_int.h"
#include "phcluster.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_PEXT_CODE 1
#endif

/* The mask as runs of consecutive set bits: gather = OR of
 * ((key >> shift) & bits) << at, one term per run. */
typedef struct runs {
    unsigned n;
    uint8_t shift[32], at[32];
    uint64_t bits[32];
} runs;

static void runs_of(uint64_t mask, runs *r)
{
    r->n = 0;
    unsigned at = 0;
    for (unsigned b = 0; b < 64;) {
        if (!(mask >> b & 1)) {
            b++;
            continue;
        }
        unsigned len = 0;
        while (b + len < 64 && (mask >> (b + len) & 1))
            len++;
        r->shift[r->n] = (uint8_t)b;
        r->at[r->n] = (uint8_t)at;
        r->bits[r->n] = len == 64 ? ~0ull : (1ull << len) - 1;
        r->n++;
        at += len;
        b += len;
    }
}

static inline uint32_t gather_runs(const runs *r, uint64_t key)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < r->n; i++)
        x |= ((key >> r->shift[i]) & r->bits[i]) << r->at[i];
    return (uint32_t)x;
}

#ifdef HAVE_PEXT_CODE
__attribute__((target("bmi2"))) static uint32_t gather_pext(uint64_t key, uint64_t mask)
{
    return (uint32_t)_pext_u64(key, mask);
}
#endif

static uint64_t deposit(uint32_t x, uint64_t mask)
{
    uint64_t out = 0;
    for (unsigned b = 0; b < 64 && x; b++)
        if (mask >> b & 1) {
            out |= (uint64_t)(x & 1) << b;
            x >>= 1;
        }
    return out;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

typedef struct set {
    uint64_t mask, base;
    runs r;
    const uint64_t *keys;
    uint32_t n;
    phc_table *t64, *t32;
} set;

enum { F64, FSHIFT, FRUNS, FPEXT, NFIND };

static volatile uint32_t sink;

static inline __attribute__((always_inline)) uint32_t find_down(const set *s, uint64_t key, int how)
{
    if ((key & ~s->mask) != s->base)
        return PHC_NOT_FOUND;
    if (how == FSHIFT) /* one run: the gather is one shift and one mask */
        return phc_table_find(s->t32, (uint32_t)(key >> s->r.shift[0]));
#ifdef HAVE_PEXT_CODE
    if (how == FPEXT)
        return phc_table_find(s->t32, gather_pext(key, s->mask));
#endif
    (void)how;
    return phc_table_find(s->t32, gather_runs(&s->r, key));
}

/* ns per find over keys[0..n), the 64-bit table or a downsized path. */
static double time_find(const set *s, const uint64_t *keys, uint32_t n, int how)
{
    uint32_t passes = 1 + 2000000u / n, acc = 0;
    double t0 = bench_thread_cpu_ns();
    for (uint32_t p = 0; p < passes; p++) {
        if (how == F64)
            for (uint32_t i = 0; i < n; i++)
                acc += phc_table_find(s->t64, keys[i]);
        else
            for (uint32_t i = 0; i < n; i++)
                acc += find_down(s, keys[i], how);
    }
    sink += acc;
    return (bench_thread_cpu_ns() - t0) / ((double)passes * n);
}

static int build(const set *s, int down, uint64_t seed, phc_table **out, double *ms)
{
    phc_options o;
    phc_options_init(&o);
    o.threads = 1;
    o.seed = seed;
    phc_error e;
    double t0 = bench_thread_cpu_ns();
    int rc;
    if (down) {
        uint32_t *k32 = malloc((size_t)s->n * sizeof *k32);
        if (!k32)
            return -1;
        for (uint32_t i = 0; i < s->n; i++)
            k32[i] = gather_runs(&s->r, s->keys[i]);
        rc = phc_table_build32(k32, s->n, &o, out, &e);
        free(k32);
    } else {
        rc = phc_table_build64(s->keys, s->n, &o, out, &e);
    }
    *ms = (bench_thread_cpu_ns() - t0) / 1e6;
    if (rc)
        fprintf(stderr, "bench_downsize: %s\n", e.msg);
    return rc;
}

static int run_mask(uint64_t mask, uint32_t n, int rounds, int have_pext)
{
    set s = {.mask = mask, .base = 0x5a5a5a5a5a5a5a5aull & ~mask, .n = n};
    runs_of(mask, &s.r);
    uint64_t *keys = malloc((size_t)n * sizeof *keys), *miss = malloc((size_t)n * sizeof *miss);
    double *t = malloc((size_t)rounds * 2 * sizeof *t);
    double *f = malloc((size_t)rounds * NFIND * sizeof *f);
    if (!keys || !miss || !t || !f)
        return 1;
    for (uint32_t i = 0; i < n; i++) {
        keys[i] = s.base | deposit(bench_scramble(i, 0), mask);
        miss[i] = keys[i] ^ (~mask & (1ull << __builtin_ctzll(~mask)));
    }
    s.keys = keys;
    for (int r = 0; r < rounds; r++) {
        phc_table *a, *b;
        if (build(&s, 0, (uint64_t)r + 1, &a, &t[r]) || build(&s, 1, (uint64_t)r + 1, &b, &t[rounds + r]))
            return 1;
        if (r == 0) {
            s.t64 = a;
            s.t32 = b;
        } else {
            phc_table_free(a);
            phc_table_free(b);
        }
    }
    for (uint32_t i = 0; i < n; i++)
        if (phc_table_find(s.t64, keys[i]) != i || find_down(&s, keys[i], FRUNS) != i ||
            find_down(&s, miss[i], FRUNS) != PHC_NOT_FOUND ||
            phc_table_find(s.t64, miss[i]) != PHC_NOT_FOUND ||
            (have_pext && find_down(&s, keys[i], FPEXT) != i) ||
            (s.r.n == 1 && find_down(&s, keys[i], FSHIFT) != i)) {
            fprintf(stderr, "bench_downsize: paths disagree at key %u\n", i);
            return 1;
        }
    double fm[NFIND], mm[NFIND];
    for (int pass = 0; pass < 2; pass++) {
        const uint64_t *v = pass ? miss : keys;
        for (int r = 0; r < rounds; r++)
            for (int w = 0; w < NFIND; w++)
                f[w * rounds + r] = (w == FPEXT && !have_pext) || (w == FSHIFT && s.r.n != 1)
                                        ? 0 : time_find(&s, v, n, w);
        for (int w = 0; w < NFIND; w++)
            (pass ? mm : fm)[w] = median(f + w * rounds, rounds);
    }
    double s64 = median(t, rounds), s32 = median(t + rounds, rounds);
    printf("keys=%u mask=0x%016llx runs=%u solve64_ms=%.3f solve_down_ms=%.3f solve_ratio=%.2f "
           "find64=%.2f find_down_shift=%.2f find_down_runs=%.2f find_down_pext=%.2f miss64=%.2f "
           "miss_down_runs=%.2f ratio_shift=%.2f ratio_runs=%.2f ratio_pext=%.2f\n",
           n, (unsigned long long)mask, s.r.n, s64, s32, s32 / s64, fm[F64], fm[FSHIFT],
           fm[FRUNS], fm[FPEXT], mm[F64], mm[FRUNS], fm[FSHIFT] / fm[F64], fm[FRUNS] / fm[F64],
           have_pext ? fm[FPEXT] / fm[F64] : 0.0);
    phc_table_free(s.t64);
    phc_table_free(s.t32);
    free(keys);
    free(miss);
    free(t);
    free(f);
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    if (rounds < 1)
        rounds = 1;
    int have_pext = 0;
#ifdef HAVE_PEXT_CODE
    have_pext = __builtin_cpu_supports("bmi2");
#endif
    static const uint64_t masks[] = {
        0x0000ffffffff0000ull, /* one run: keys = base | x << 16 */
        0x00ff00ff00ff00ffull, /* four runs of 8 */
        0x5555555555555555ull, /* 32 single bits */
    };
    uint32_t def[] = {100000, 1000000};
    int nsizes = argc > 2 ? argc - 2 : 2;
    for (int z = 0; z < nsizes; z++) {
        uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2 + z], NULL, 10) : def[z];
        for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++)
            if (run_mask(masks[m], n, rounds, have_pext))
                return 1;
    }
    return 0;
}
