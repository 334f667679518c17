/* bench_int.h - what the benchmark programs share: unique keys in
 * scrambled order, keys files read whole, and CPU time.  Header only
 * (static inline, the C library alone), so that the programs compiled by
 * scripts outside CMake (bench_lib_vs_gen.c by find-bench.sh,
 * bench_values.c by values-bench.sh) take it as well; bench_keys_int.h
 * builds the keys of the solver's benchmarks on it. */
#ifndef BENCH_INT_H
#define BENCH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* A bijection of 32-bit values: x = 0, 1, 2, ... gives unique keys in
 * scrambled order, a different order for each salt. */
static inline uint32_t bench_scramble(uint32_t x, uint32_t salt)
{
    x ^= salt;
    x *= 0x9e3779b1u;
    x ^= x >> 15;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    return x;
}

/* The calling thread's CPU time, ns: on a shared, loaded machine the time
 * it waits for a core is left out. */
static inline double bench_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The process's CPU seconds (user + system, all threads). */
static inline double bench_process_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* The whole file as *n values of size bytes each (malloc'd, the caller
 * frees); NULL if it cannot be read, is empty or is not a whole number of
 * values. */
static inline void *bench_read_values(const char *path, size_t size, uint32_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    rewind(f);
    void *v = len > 0 && (size_t)len % size == 0 ? malloc((size_t)len) : NULL;
    if (!v || fread(v, 1, (size_t)len, f) != (size_t)len) {
        free(v);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *n = (uint32_t)((size_t)len / size);
    return v;
}

#endif
