/* ph_log.h - structured, journald-friendly log lines on stderr.
 *
 * One line per event: `LEVEL component=NAME key=value ... msg="..."`.
 * Level prefixes follow sd-daemon (<3> error, <4> warn, <6> info, <7> debug)
 * when PH_LOG_SYSLOG_PREFIX=1 so journald keeps the priority. */
#ifndef PH_LOG_H
#define PH_LOG_H

enum ph_log_level { PH_LOG_ERROR = 0, PH_LOG_WARN, PH_LOG_INFO, PH_LOG_DEBUG };

/* Read the environment: PH_LOG_LEVEL (error|warn|info|debug) overrides the
 * current threshold (default warn, or what ph_log_set_level chose), and
 * PH_LOG_SYSLOG_PREFIX=1 switches to journald priority prefixes.  Call it
 * once at start-up, after any program default set with ph_log_set_level. */
void ph_log_init(void);
void ph_log_set_level(enum ph_log_level level);
/* "error"|"warn"|"info"|"debug" -> level; -1 if unknown (PH_LOG_LEVEL and
 * the programs' --log-level use the same names). */
int ph_log_parse_level(const char *name);
int ph_log_enabled(enum ph_log_level level);

/* component: "coord", "worker", "runtime", ...; fmt is free text that may
 * already contain key=value pairs (e.g. "job=%llu task=%u msg=..."). */
void ph_log(enum ph_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ph_log_error(c, ...) ph_log(PH_LOG_ERROR, c, __VA_ARGS__)
#define ph_log_warn(c, ...) ph_log(PH_LOG_WARN, c, __VA_ARGS__)
#define ph_log_info(c, ...) ph_log(PH_LOG_INFO, c, __VA_ARGS__)
#define ph_log_debug(c, ...) ph_log(PH_LOG_DEBUG, c, __VA_ARGS__)

#endif
