/* ph_time.h - clock helpers: monotonic for intervals, wall clock only for
 * what must outlive the process (a job's start across a restart). */
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

/* Wall-clock time, microseconds since the epoch. */
static inline uint64_t ph_time_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
