/* test_part_chunks.c - the chunks ph_part.c's split reads a thread's slice
 * of keys in (ph_part_chunk_len, solver-internal): every key of the slice
 * once, in order, in chunks of at most the maximum, and an end also for a
 * slice that ends near 2^32 - 1 keys, where the chunk after the last one
 * starts past 2^32.  A file of that many keys takes 16 GB and more of
 * memory to split, so the walk is checked here on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ph_solve_int.h"

#define CHUNK 32768u

/* The split's walk over [lo, hi): contiguous chunks of 1..CHUNK keys that
 * cover it exactly, and no more chunks than that takes. */
static void walk(uint32_t lo, uint32_t hi)
{
    uint64_t covered = 0, chunks = 0, want_chunks = ((uint64_t)hi - lo + CHUNK - 1) / CHUNK;
    uint32_t cnt;
    for (uint64_t i = lo; (cnt = ph_part_chunk_len(i, hi, CHUNK)) != 0; i += cnt) {
        assert_int_equal(i, (uint64_t)lo + covered);
        assert_true(cnt <= CHUNK);
        covered += cnt;
        chunks++;
        assert_true(chunks <= want_chunks); /* a wrapped walk would go on */
    }
    assert_int_equal(covered, (uint64_t)hi - lo);
    assert_int_equal(chunks, want_chunks);
}

static void test_slices(void **state)
{
    (void)state;
    walk(0, 0);
    walk(0, 1);
    walk(0, 200000);
    walk(100, 100 + CHUNK);
    walk(UINT32_MAX - 40000, UINT32_MAX); /* the last chunk ends at 2^32 - 1 */
    walk(UINT32_MAX - CHUNK - 1, UINT32_MAX);
    walk(UINT32_MAX - 3 * CHUNK + 7, UINT32_MAX);
    walk(UINT32_MAX / 2, UINT32_MAX);
}

/* Past the slice's end, also past 2^32: nothing left. */
static void test_past_end(void **state)
{
    (void)state;
    assert_int_equal(ph_part_chunk_len(UINT32_MAX, UINT32_MAX, CHUNK), 0);
    assert_int_equal(ph_part_chunk_len((uint64_t)UINT32_MAX + 1, UINT32_MAX, CHUNK), 0);
    assert_int_equal(ph_part_chunk_len((uint64_t)UINT32_MAX + CHUNK - 5, UINT32_MAX, CHUNK), 0);
    assert_int_equal(ph_part_chunk_len(UINT32_MAX - 5, UINT32_MAX, CHUNK), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_past_end),
    };
    return cmocka_run_group_tests_name("solver_part_chunks", tests, NULL, NULL);
}
