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

/* CPU time used so far, microseconds: by the calling thread, and by the
 * whole process (all threads).  For figures only: on a shared machine
 * they leave out the time spent waiting for a core. */
static inline uint64_t ph_time_cpu_us(clockid_t which)
{
    struct timespec ts;
    if (clock_gettime(which, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t ph_time_thread_cpu_us(void)
{
    return ph_time_cpu_us(CLOCK_THREAD_CPUTIME_ID);
}

static inline uint64_t ph_time_process_cpu_us(void)
{
    return ph_time_cpu_us(CLOCK_PROCESS_CPUTIME_ID);
}

/* Wall-clock time, microseconds since the epoch. */
static inline uint64_t ph_time_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
