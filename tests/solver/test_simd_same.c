/* test_simd_same.c - what the solver writes does not depend on the CPU's
 * vector units: the split (buckets 8 keys at a time with AVX-512), the
 * partitioned tables, the group check's verdicts and messages (AVX-512,
 * with the scalar loop naming the bad key) and a one-graph MULSHIFT table
 * (edges with AVX2) come out byte for byte the same in this process (vector
 * paths where the CPU has them) and in a copy of it run with PH_NO_SIMD=1
 * (scalar paths only).
 *
 *   test_simd_same              the check (cmocka)
 *   test_simd_same --dump FILE  the bytes compared, written to FILE */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen_keys.h"
#include "ph_part.h"
#include "ph_solver.h"
#include "test_util.h"

extern char **environ;

#define SIMD_KEYS 200000u

static void put(FILE *f, const void *data, size_t len)
{
    assert_int_equal(fwrite(data, 1, len, f), len);
}

/* The split's arrays, one step (few buckets) and two (many), from memory
 * and from a keys file (keys_path holds the same keys). */
static void dump_split(FILE *f, const void *keys, unsigned ks, uint32_t nb,
                       const char *keys_path)
{
    uint64_t tseed = ph_part_table_seed(9), *start = NULL;
    uint32_t *pos = NULL;
    void *gk = NULL;
    ph_err err = {0};
    for (int from_file = 0; from_file < 2; from_file++) {
        if (from_file) {
            FILE *kf = fopen(keys_path, "rb");
            assert_non_null(kf);
            assert_int_equal(ph_part_split_fd(fileno(kf), keys_path, ks, SIMD_KEYS, tseed, nb, 2,
                                              &start, &gk, &pos, &err), 0);
            fclose(kf);
        } else {
            assert_int_equal(ph_part_split_positions_sized(keys, ks, SIMD_KEYS, tseed, nb, 2,
                                                           &start, &gk, &pos, &err), 0);
        }
        put(f, start, ((size_t)nb + 1) * sizeof *start);
        put(f, gk, (size_t)SIMD_KEYS * ks);
        put(f, pos, (size_t)SIMD_KEYS * sizeof *pos);
        free(start);
        free(gk);
        free(pos);
    }
}

static void put_part(FILE *f, const ph_part_table *t)
{
    put(f, &t->nbuckets, sizeof t->nbuckets);
    put(f, &t->nverts, sizeof t->nverts);
    put(f, t->buckets, ((size_t)t->nbuckets + 1) * sizeof *t->buckets);
    put(f, t->assigned, (size_t)t->nverts * sizeof *t->assigned);
}

/* The group check's verdict and message. */
static void put_check(FILE *f, const ph_part_group *g, const uint32_t *seeds,
                      const uint32_t *vals)
{
    ph_err err = {0};
    int rc = ph_part_check_group(g, seeds, vals, &err);
    put(f, &rc, sizeof rc);
    put(f, err.msg, sizeof err.msg);
}

/* The group check of t's first buckets with each key's position wrong in
 * turn, then each value: the verdicts and their messages. */
static void dump_checks(FILE *f, const ph_part_table *t, const uint32_t *keys)
{
    const uint32_t ngroup = 3;
    uint64_t *start = NULL;
    uint32_t *pos = NULL, *gk = NULL, counts[3], seeds[3];
    ph_err err = {0};
    assert_int_equal(ph_part_split_positions(keys, SIMD_KEYS, t->seed, t->nbuckets, 2, &start,
                                             &gk, &pos, &err), 0);
    for (uint32_t b = 0; b < ngroup; b++) {
        counts[b] = (uint32_t)(start[b + 1] - start[b]);
        seeds[b] = ph_part_seed_of(t, b);
    }
    ph_part_group g = {.table_seed = t->seed, .nkeys = SIMD_KEYS, .nbuckets = t->nbuckets,
                       .bucket_lo = 0, .ngroup = ngroup, .counts = counts, .keys = gk,
                       .pos = pos};
    uint32_t *vals = t->assigned;
    uint64_t nv = ph_part_base(t, ngroup);
    for (uint64_t e = 0; e < start[ngroup]; e++) {
        pos[e] ^= 1;
        put_check(f, &g, seeds, vals);
        pos[e] ^= 1;
    }
    for (uint64_t x = 0; x < nv; x++) {
        vals[x] ^= 0x10;
        put_check(f, &g, seeds, vals);
        vals[x] ^= 0x10;
    }
    free(start);
    free(pos);
    free(gk);
}

static void dump_one_graph(FILE *f, const uint32_t *keys)
{
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    o.hash = PH_HASH_MULSHIFT; /* its edges go 8 at a time with AVX2 */
    o.seed = 11;
    ph_table t;
    ph_err err = {0};
    assert_int_equal(ph_solve(keys, SIMD_KEYS, &o, &t, &err), 0);
    put(f, t.seeds, sizeof t.seeds);
    put(f, &t.nverts, sizeof t.nverts);
    put(f, t.assigned, (size_t)t.nverts * t.width);
    ph_table_free(&t);
}

/* Everything compared, into path (keys files beside it). */
static void dump(const char *path)
{
    uint32_t *keys = gen_keys(GEN_SHUFFLED, SIMD_KEYS, 91);
    assert_non_null(keys);
    uint64_t *keys64 = gen_keys_wide(keys, SIMD_KEYS);
    assert_non_null(keys64);
    char k32[4200], k64[4200];
    snprintf(k32, sizeof k32, "%s.k32", path);
    snprintf(k64, sizeof k64, "%s.k64", path);
    tu_write(k32, keys, (size_t)SIMD_KEYS * 4, 0644);
    tu_write(k64, keys64, (size_t)SIMD_KEYS * 8, 0644);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    const uint32_t nbs[] = {1000, 20000};
    for (unsigned c = 0; c < 2; c++) {
        dump_split(f, keys, 4, nbs[c], k32);
        dump_split(f, keys64, 8, nbs[c], k64);
    }
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = 500;
    o.threads = 2;
    o.seed = 42;
    ph_part_table t;
    ph_err err = {0};
    assert_int_equal(ph_part_solve(keys, SIMD_KEYS, &o, &t, &err), 0);
    put_part(f, &t);
    dump_checks(f, &t, keys);
    ph_part_free(&t);
    assert_int_equal(ph_part_solve64(keys64, SIMD_KEYS, &o, &t, &err), 0);
    put_part(f, &t);
    ph_part_free(&t);
    dump_one_graph(f, keys);
    assert_int_equal(fclose(f), 0);
    unlink(k32);
    unlink(k64);
    free(keys64);
    free(keys);
}

/* This program with --dump out, PH_NO_SIMD=1 added to its environment. */
static void dump_scalar(const char *out)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    assert_non_null(env);
    memcpy(env, environ, n * sizeof *env);
    env[n] = "PH_NO_SIMD=1";
    char self[] = "/proc/self/exe", opt[] = "--dump";
    char *argv[] = {self, opt, (char *)out, NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, self, NULL, NULL, argv, env), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(env);
}

static void test_same_bytes(void **state)
{
    (void)state;
    char vec[4200], sca[4200];
    tu_path(vec, sizeof vec, "vector.bin");
    tu_path(sca, sizeof sca, "scalar.bin");
    dump(vec);
    dump_scalar(sca);
    size_t nv = 0, ns = 0;
    char *a = tu_slurp(vec, &nv), *b = tu_slurp(sca, &ns);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(nv > (size_t)SIMD_KEYS * 12); /* the split's arrays at least */
    assert_int_equal(nv, ns);
    for (size_t i = 0; i < nv; i++)
        if (a[i] != b[i])
            fail_msg("byte %zu of %zu differs with PH_NO_SIMD=1", i, nv);
    free(a);
    free(b);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0) {
        dump(argv[2]);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes),
    };
    return cmocka_run_group_tests_name("solver_simd_same", tests, tu_setup, tu_teardown);
}
