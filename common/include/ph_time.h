/* ph_time.h - monotonic clock helpers. */
#ifndef PH_TIME_H
#define PH_TIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t ph_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ph_time_us(void) { return ph_time_ns() / 1000u; }
static inline uint64_t ph_time_ms(void) { return ph_time_ns() / 1000000u; }

#endif
