/* test_hash.c - the hash families of ph_hash.h and their names.
 *
 * Generated tables compute exactly these expressions, so the known-answer
 * vectors below pin the formulas: they were checked against an independent
 * Python model of the documented formulas.  A deliberate change to a family
 * must update them (and ph_emit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gen_keys.h"
#include "ph_hash.h"
#include "ph_solver.h"

static const ph_hash_kind families[] = {PH_HASH_MULSHIFT, PH_HASH_MULROT, PH_HASH_MIX};
#define NFAM (sizeof families / sizeof families[0])

static void test_names_round_trip(void **state)
{
    (void)state;
    static const char *const names[] = {"mulshift", "mulrot", "mix", "auto"};
    static const ph_hash_kind kinds[] = {PH_HASH_MULSHIFT, PH_HASH_MULROT, PH_HASH_MIX,
                                         PH_HASH_AUTO};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ph_hash_parse(names[i]), kinds[i]);
        assert_string_equal(ph_hash_name(kinds[i]), names[i]);
        assert_int_equal(ph_hash_parse(ph_hash_name(kinds[i])), kinds[i]);
    }
    static const char *const bad[] = {"", "mul", "mulshiftx", "crc32", " mix", "mix ", "automatic"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ph_hash_parse(bad[i]) != -1)
            fail_msg("ph_hash_parse(\"%s\") = %d, want -1", bad[i], ph_hash_parse(bad[i]));
    assert_int_equal(ph_hash_parse(NULL), -1);
    /* an out-of-range kind still yields a printable name */
    assert_non_null(ph_hash_name((ph_hash_kind)42));
}

static void test_known_answers(void **state)
{
    (void)state;
    static const uint32_t s[4] = {0x9e3779b1u, 0x85ebca77u, 0xc2b2ae3du, 13};
    static const struct {
        int kind;
        uint32_t key, h1, h2;
    } kat[] = {
        {0, 0x00000000u, 0x00000000u, 0x00000000u}, {0, 0x00000001u, 0x9e3779b1u, 0x85ebca77u},
        {0, 0xdeadbeefu, 0x9cb8fa3fu, 0x0bd15719u}, {0, 0xffffffffu, 0x61c8864fu, 0x7a143589u},
        {0, 0x00010000u, 0x79b10000u, 0xca770000u}, {1, 0x00000000u, 0x00000000u, 0x00000000u},
        {1, 0x00000001u, 0xd0eaebedu, 0x90e8b38fu}, {1, 0xdeadbeefu, 0x7a8ad581u, 0x7fce026bu},
        {1, 0xffffffffu, 0xfce1499cu, 0x1e4c9e34u}, {1, 0x00010000u, 0x55c9da38u, 0x8f2a6968u},
        {2, 0x00000000u, 0xda4bf5aeu, 0x158b5a6bu}, {2, 0x00000001u, 0xce8fe91eu, 0x998a22ceu},
        {2, 0xdeadbeefu, 0xb4cf2ad5u, 0x44ae9858u}, {2, 0xffffffffu, 0xadc6f7e2u, 0x081c8263u},
        {2, 0x00010000u, 0x362ad6b9u, 0xe4ff797cu},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t h1 = 1, h2 = 2;
        ph_hash_pair((ph_hash_kind)kat[i].kind, s, kat[i].key, &h1, &h2);
        if (h1 != kat[i].h1 || h2 != kat[i].h2)
            fail_msg("%s(0x%08x) = (0x%08x, 0x%08x), want (0x%08x, 0x%08x)",
                     ph_hash_name((ph_hash_kind)kat[i].kind), kat[i].key, h1, h2, kat[i].h1,
                     kat[i].h2);
    }
}

static void test_rotr(void **state)
{
    (void)state;
    assert_int_equal(ph_rotr32(0x80000001u, 1), 0xc0000000u);
    assert_int_equal(ph_rotr32(0x12345678u, 0), 0x12345678u);
    assert_int_equal(ph_rotr32(0x12345678u, 32), 0x12345678u); /* r & 31 */
    assert_int_equal(ph_rotr32(0x12345678u, 8), 0x78123456u);
    assert_int_equal(ph_rotr32(0x12345678u, 31), 0x2468acf0u);
}

/* Random odd seeds with the family's constraints (rotation 1..31). */
static void draw_seeds(uint64_t *st, uint32_t s[4])
{
    for (int i = 0; i < 4; i++)
        s[i] = (uint32_t)gen_next(st) | 1u;
    s[3] = 1 + (uint32_t)(gen_next(st) % 31);
}

static void test_deterministic_and_seeded(void **state)
{
    (void)state;
    uint32_t n = 4096;
    uint32_t *keys = gen_keys(GEN_CLUSTERED16, n, 3);
    assert_non_null(keys);
    uint64_t st = 77;
    for (size_t f = 0; f < NFAM; f++) {
        uint32_t sa[4], sb[4];
        draw_seeds(&st, sa);
        draw_seeds(&st, sb);
        uint32_t diff1 = 0, diff2 = 0, same12 = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t a1, a2, b1, b2, c1, c2;
            ph_hash_pair(families[f], sa, keys[i], &a1, &a2);
            ph_hash_pair(families[f], sa, keys[i], &b1, &b2);
            assert_int_equal(a1, b1);
            assert_int_equal(a2, b2);
            ph_hash_pair(families[f], sb, keys[i], &c1, &c2);
            diff1 += a1 != c1;
            diff2 += a2 != c2;
            same12 += a1 == a2;
        }
        /* keys[0] may be 0, which some families map to (0, 0) for any
         * seed; everything else must move with the seed */
        if (diff1 < n - 1 || diff2 < n - 1)
            fail_msg("%s: only %u/%u h1 and %u/%u h2 changed with the seed",
                     ph_hash_name(families[f]), diff1, n, diff2, n);
        /* h1 and h2 are not the same function */
        if (same12 > 2)
            fail_msg("%s: h1 == h2 for %u keys", ph_hash_name(families[f]), same12);
    }
    free(keys);
}

/* u lands in [0, half), v in [half, nverts); both ends are reachable. */
static void check_vertices_range(uint64_t *st, int compact, uint32_t nverts, uint32_t shift)
{
    static const uint32_t edge_h[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu};
    uint32_t half = nverts / 2;
    for (size_t i = 0; i < sizeof edge_h / sizeof edge_h[0]; i++) {
        assert_true(ph_vertex_u(edge_h[i], compact, shift, nverts) < half);
        uint32_t v = ph_vertex_v(edge_h[i], compact, shift, nverts);
        assert_true(v >= half && v < nverts);
    }
    assert_int_equal(ph_vertex_u(0, compact, shift, nverts), 0);
    assert_int_equal(ph_vertex_u(0xffffffffu, compact, shift, nverts), half - 1);
    assert_int_equal(ph_vertex_v(0, compact, shift, nverts), half);
    assert_int_equal(ph_vertex_v(0xffffffffu, compact, shift, nverts), nverts - 1);
    for (int i = 0; i < 20000; i++) {
        assert_true(ph_vertex_u((uint32_t)gen_next(st), compact, shift, nverts) < half);
        uint32_t v = ph_vertex_v((uint32_t)gen_next(st), compact, shift, nverts);
        assert_true(v >= half && v < nverts);
    }
}

static void test_vertices_in_range(void **state)
{
    (void)state;
    uint64_t st = 2024;
    /* pow2: nverts = 2^lg, half = 2^(lg-1), shift = 32 - log2(half) */
    for (uint32_t lg = 2; lg <= 31; lg++)
        check_vertices_range(&st, 0, 1u << lg, 32 - (lg - 1));
    /* compact: odd sizes, sizes just above powers of two, the extremes */
    static const uint32_t sizes[] = {2, 3, 7, 17, 1000, 65537, 131073, 2100003, 0x80000001u,
                                     0xfffffffeu, 0xffffffffu};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
        check_vertices_range(&st, 1, sizes[z], 0);
    /* compact range reduction is roughly uniform over each half */
    uint32_t nv = 2001, cu[1000] = {0}, cv[1001] = {0};
    for (uint32_t i = 0; i < 1000000; i++) {
        cu[ph_vertex_u((uint32_t)gen_next(&st), 1, 0, nv)]++;
        cv[ph_vertex_v((uint32_t)gen_next(&st), 1, 0, nv) - 1000]++;
    }
    for (uint32_t b = 0; b < 1000; b++)
        assert_true(cu[b] > 800 && cu[b] < 1200);
    for (uint32_t b = 0; b < 1001; b++)
        assert_true(cv[b] > 800 && cv[b] < 1200);
}

/* Strided keys (multiples of 65536): the mixed family must still spread
 * them over the vertices like a random function would.  Deterministic: the
 * seeds are fixed. */
static void test_mix_spreads_structured_keys(void **state)
{
    (void)state;
    uint32_t n = 4096, nverts = 16384, shift = 32 - 13; /* half = 8192 */
    uint32_t *keys = gen_keys_sequential(n, 0, 65536);
    assert_non_null(keys);
    uint8_t *seen = calloc(nverts, 1);
    assert_non_null(seen);
    uint64_t st = 5;
    uint32_t s[4];
    draw_seeds(&st, s);
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t h1, h2;
        ph_hash_pair(PH_HASH_MIX, s, keys[i], &h1, &h2);
        uint32_t u = ph_vertex_u(h1, 0, shift, nverts);
        distinct += !seen[u];
        seen[u] = 1;
    }
    /* a random function gives ~ 8192 * (1 - e^-0.5) = 3223 */
    if (distinct < 2900 || distinct > 3500)
        fail_msg("mix: %u distinct vertices for %u strided keys", distinct, n);
    free(seen);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_rotr),
        cmocka_unit_test(test_deterministic_and_seeded),
        cmocka_unit_test(test_vertices_in_range),
        cmocka_unit_test(test_mix_spreads_structured_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
