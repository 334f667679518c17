/* coord_part_int.h - a partitioned table's state, shared by the files
 * that work on it and by no other.
 *
 *   coord_part.c         opening (read, split, lay out), sending groups,
 *                        checking and placing their answers, closing
 *   coord_part_finish.c  once every group is in: the table's files written
 *                        and renamed into place
 *   coord_part_values.c  the groups' values written into the values file
 *
 * The rest of the coordinator sees coord_part only as the opaque type of
 * coord_int.h and calls only the coord_part_* functions declared there. */
#ifndef COORD_PART_INT_H
#define COORD_PART_INT_H

#include "coord_int.h"
#include "ph_keys_map.h"

typedef struct coord_pvals coord_pvals;

struct coord_part {
    coord_part *next;
    bool opening;               /* being built, or finished, on a writer thread:
                                   the loop touches nothing below but this flag */
    bool closed;                /* closed while groups were being checked on
                                   writer threads: freed by the last of them */
    uint32_t checking;          /* groups on writer threads */
    uint64_t task;              /* the file's task in its job */
    /* inputs of the build, copied from the job (the thread sees no job) */
    char out_dir[4096];
    uint32_t kpb, table_flags;
    uint64_t seed, per_group;
    char name[256];             /* table name */
    char path[4096];            /* the keys file */
    char vstart[4096];          /* the job's values file, "" = values from 0 */
    ph_keys_map km;
    uint64_t table_seed;
    uint32_t nbuckets;
    uint64_t *start;            /* nbuckets + 1 */
    unsigned key_size;          /* 4 or 8 */
    void *keys;                 /* the keys grouped by bucket (key_size bytes) */
    uint32_t *pos;              /* their positions */
    uint64_t *buckets;          /* nbuckets + 1 entries (ph_part.h): bases, then
                                   seeds as groups arrive */
    uint64_t nverts;
    int outfd;                  /* OUT */
    int dirfd;                  /* OUT/NAME */
    int vfd;                    /* the values file, under vtmp in dirfd */
    coord_pvals *pv;            /* its direct writes, or NULL (through vfd) */
    char vtmp[512];
    coord_pgroup *groups;
    uint32_t ngroups, ndone, cursor;
    uint64_t attempts;
    uint32_t max_bucket_attempts;
    uint64_t start_us;
    char token[17];             /* the job's: the progress record's owner */
    bool resumable;             /* --state-dir: values under a fixed name */
    bool keep;                  /* teardown: values and record stay for a restart */
    coord_psave *save;          /* the progress record (resumable), or NULL */
    coord_psave_resumed resumed; /* what the build took up from it */
    uint32_t hold;              /* PH_TEST_PART_HOLD: groups sent at most */
    bool held;                  /* the hold's log line is out */
    uint64_t open_us, send_us, check_us, finish_us; /* the loop's time on it (log) */
    uint64_t open_cpu_us;       /* the process's CPU during the build (log) */
    uint64_t check_cpu_us;      /* the checking threads' CPU, summed (log) */
};

/* Bytes per value of a table with values (--values 4|8), else 0. */
static inline unsigned coord_part_value_size(const coord_part *p)
{
    return (p->table_flags & PH_TABLE_VALUES64)   ? 8
           : (p->table_flags & PH_TABLE_VALUES32) ? 4
                                                  : 0;
}

/* coord_part.c */
/* Free p: unless it is kept for a restart or was renamed into place, its
 * values, progress record and (when that leaves it empty) OUT/NAME go. */
void coord_part_free(coord_part *p);
/* The file's final result: the part is closed (temporary removed unless
 * it was renamed) and its task settled. */
void coord_part_close(coord *c, coord_job *j, coord_part *p, int status, const char *error);
/* A writer-pool job of p (task t of job job_id) that runs run; NULL when
 * out of memory. */
coord_wjob *coord_part_wjob(uint64_t job_id, uint64_t t, coord_part *p,
                            int (*run)(coord_wjob *));

/* coord_part_finish.c */
/* Every group of p is in and nothing of p is on a writer thread: the
 * files are written on a writer thread (or the loop without a pool), and
 * coord_part_finished closes the part. */
void coord_part_finish_start(coord *c, coord_job *j, coord_part *p);
/* The writer pool's job of a finish (coord_part_done tells it by this). */
int coord_part_finish_run(coord_wjob *wj);
/* The finish came back (on the loop): the file's result. */
void coord_part_finished(coord *c, coord_wjob *wj);

/* coord_part_values.c */
/* On the build's thread, once the values file vname below dirfd is open
 * as vfd and sized to nverts values: its writer with direct I/O (the
 * shared blocks laid out from the groups' bases in buckets), or NULL when
 * the file system has none (or out of memory): the groups then go through
 * vfd and the page cache. */
coord_pvals *coord_pvals_open(int dirfd, const char *vname, int vfd, const coord_pgroup *groups,
                              uint32_t ngroups, const uint64_t *buckets, uint64_t nverts);
/* One group's values, len bytes at off (its whole range), from any writer
 * thread; through vfd when pv is NULL.  -1 with errno on failure. */
int coord_pvals_write(coord_pvals *pv, int vfd, const void *data, size_t len, uint64_t off);
void coord_pvals_free(coord_pvals *pv);

#endif
