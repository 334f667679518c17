/* bench_keys_int.h - the random keys of the partitioned-table benchmarks
 * (bench_part, bench_part_coord, bench_line): the same N gives the same
 * keys in every one of them, so their figures compare. */
#ifndef BENCH_KEYS_INT_H
#define BENCH_KEYS_INT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_int.h"
#include "ph_keys.h"

/* The keys of ARG: a .keys file, or N unique keys bench_scramble(i, salt).
 * NULL after a one-line error on stderr naming prog. */
static inline uint32_t *bench_make_keys(const char *prog, const char *arg, uint32_t *n,
                                        uint32_t salt)
{
    if (strstr(arg, ".keys")) {
        ph_keys k;
        ph_err err;
        if (ph_keys_load(arg, &k, &err)) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            return NULL;
        }
        *n = k.n;
        return k.v;
    }
    *n = (uint32_t)strtoul(arg, NULL, 10);
    uint32_t *v = *n ? malloc((size_t)*n * sizeof *v) : NULL;
    for (uint32_t i = 0; v && i < *n; i++)
        v[i] = bench_scramble(i, salt);
    if (!v)
        fprintf(stderr, "%s: %s: need a key count >= 1 (memory permitting) or a .keys file\n",
                prog, arg);
    return v;
}

#endif
