#include "ph_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int log_level = PH_LOG_WARN;
static atomic_int log_syslog_prefix = 0;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int ph_log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, level_names[i]))
            return i;
    return -1;
}

void ph_log_init(void)
{
    int lv = ph_log_parse_level(getenv("PH_LOG_LEVEL"));
    if (lv >= 0)
        log_level = lv;
    const char *sp = getenv("PH_LOG_SYSLOG_PREFIX");
    log_syslog_prefix = sp && sp[0] == '1';
}

void ph_log_set_level(enum ph_log_level level) { log_level = level; }

int ph_log_enabled(enum ph_log_level level) { return (int)level <= log_level; }

void ph_log(enum ph_log_level level, const char *component, const char *fmt, ...)
{
    static const int prio[] = {3, 4, 6, 7};
    if (!ph_log_enabled(level))
        return;
    /* Build the whole line first: one write keeps lines from interleaving
     * across threads. */
    char line[1024];
    int n = 0;
    if (log_syslog_prefix)
        n = snprintf(line, sizeof line, "<%d>", prio[level]);
    else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ ", ts.tv_nsec / 1000000);
    }
    n += snprintf(line + n, sizeof line - (size_t)n, "level=%s component=%s ",
                  level_names[level], component);
    va_list ap;
    va_start(ap, fmt);
    if (n < (int)sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
