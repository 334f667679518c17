/* hx_file.h - files and text for process tests: keys files, whole-file
 * reads, counting in JSON and CSV outputs, diagnostics. */
#ifndef HX_FILE_H
#define HX_FILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Whole file, NUL-terminated (malloc'd, caller frees); NULL if it cannot be
 * opened.  A read error fails the test (tu_slurp). */
char *hx_slurp(const char *path);
bool hx_exists(const char *path);
void hx_mkdir(const char *path);
/* n unique keys (a bijection of i), the last repeating the first if dup. */
void hx_write_keys(const char *path, uint32_t n, uint32_t salt, bool dup);
/* len bytes of data to path, created or truncated with mode 0644 (tu_write). */
void hx_write_bytes(const char *path, const void *data, size_t len);
int hx_count(const char *s, const char *sub);
/* Unsigned value of "key":N in a JSON text (UINT64_MAX if absent). */
uint64_t hx_field(const char *json, const char *key);
/* Files under dir (recursively) whose name contains sub. */
int hx_count_names(const char *dir, const char *sub);
/* Lines of a results.csv that start with "name,"; -1 if no such file. */
int hx_csv_rows_for(const char *csv_text, const char *name);
/* Print the file's tail to stderr (diagnostics for a failing test). */
void hx_dump(const char *label, const char *path);
/* Peak RSS (VmHWM) of a live process in KiB, 0 if unknown. */
long hx_hwm_kb(pid_t pid);
/* A loopback TCP port that was free a moment ago, from below the kernel's
 * ephemeral range (no connection or bind to port 0 is ever given it), and
 * reserved for the rest of this process against every other test process
 * that asks here: one a coordinator can be killed and restarted on.  A
 * process outside this suite may still bind it by number; see
 * hx_coord_up_port. */
int hx_free_port(void);

#endif
