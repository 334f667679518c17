/* coord_sync.c - leaf: syncfs of an output filesystem, and the durability
 * trace that tests read to check the order of writes, syncs and records.
 *
 * PH_TEST_DURABILITY_TRACE=FILE (tests) appends one line per event to FILE:
 * "written JOB TASK", "sync", "record JOB TASK", "done JOB".  Both the batch
 * (coord_durable.c) and a job's last steps (coord_outcome.c) use these, so
 * they sit below both. */
#include "coord_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ph_fs.h"
#include "ph_log.h"

void coord_sync_trace_open(coord *c)
{
    c->trace_fd = -1;
    const char *path = getenv("PH_TEST_DURABILITY_TRACE");
    if (path && *path)
        c->trace_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

void coord_sync_trace_close(coord *c)
{
    if (c->trace_fd >= 0)
        close(c->trace_fd);
    c->trace_fd = -1;
}

void coord_sync_trace(coord *c, const char *fmt, uint64_t a, uint64_t b)
{
    if (c->trace_fd < 0)
        return;
    char line[96];
    int n = snprintf(line, sizeof line, fmt, a, b);
    if (n > 0 && (size_t)n < sizeof line && ph_fs_write_full(c->trace_fd, line, (size_t)n) != 0)
        ph_log_warn("coord", "msg=\"durability trace write failed\"");
}

/* syncfs(2) on the filesystem holding dir. */
int coord_sync_dir(coord *c, const char *dir, ph_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot open to sync: %s", dir, strerror(errno));
    int rc = syncfs(fd);
    int saved = errno;
    close(fd);
    if (rc)
        return ph_err_set(err, PH_EIO, "%s: syncfs failed: %s", dir, strerror(saved));
    coord_sync_trace(c, "sync\n", 0, 0);
    return PH_OK;
}
