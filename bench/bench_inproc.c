/* bench_inproc.c - solve every *.keys file of a directory in-process on the
 * NUMA runtime, the way a worker node does without the network.
 *
 * usage: bench_inproc [DIR] [--threads N] [--solve-threads N] [--topology T]
 *                     [--out OUT]
 * DIR defaults to /work/shared/keys/sys32, threads (per node) to 2.  Files
 * are read through a completion port (io_uring where allowed) and each one
 * becomes a work item: validate keys, solve, verify.  Nothing is written
 * unless --out is given: then each table's C files are rendered and written
 * under OUT, as the cluster does (the like-for-like baseline for it).
 * --solve-threads: parallel attempts per table; 0 (default) = the node's
 * thread count, as a worker asks for (the solver uses 1 for small sets).
 * Prints one summary line. */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_keys.h"
#include "ph_emit.h"
#include "ph_log.h"
#include "ph_port.h"
#include "ph_runtime.h"
#include "ph_solver.h"
#include "ph_time.h"

#define READ_WINDOW 64   /* file reads in flight at most */
#define MAX_ERRORS_SHOWN 5

typedef struct bench {
    ph_runtime *rt;
    ph_solve_opts sopts;
    const char *out;          /* write artifacts here when set */
    atomic_ulong ok, failed, keys, attempts, shown, via_uring;
} bench;

typedef struct job {
    bench *b;
    ph_port_file *file;
} job;

static void report_error(bench *b, const ph_err *err)
{
    atomic_fetch_add(&b->failed, 1);
    if (atomic_fetch_add(&b->shown, 1) < MAX_ERRORS_SHOWN)
        fprintf(stderr, "bench_inproc: %s\n", err->msg);
}

static int write_tables(const char *out, const char *path, const ph_table *t, const ph_keys *k,
                        ph_err *err)
{
    char name[256];
    ph_artifacts arts = {0};
    int rc = ph_keys_table_name(path, name, sizeof name, err);
    if (!rc)
        rc = ph_emit_render(t, k->v, name, &arts, err);
    if (!rc)
        rc = ph_artifacts_write(&arts, out, err);
    ph_artifacts_free(&arts);
    return rc;
}

static void solve_job(void *arg, unsigned node, unsigned thread)
{
    (void)thread;
    job *j = arg;
    bench *b = j->b;
    ph_port_file *f = j->file;
    ph_err err = {0};
    ph_keys k = {0};
    ph_table t = {0};
    atomic_fetch_add(&b->via_uring, f->via_uring);
    int rc = f->status;
    if (rc)
        err = f->err;
    if (!rc)
        rc = ph_keys_from_bytes(f->bytes, f->len, f->path, &k, &err);
    if (!rc) {
        ph_solve_opts o = b->sopts;
        /* A big table fans out over its node's threads; the solver's
         * threads inherit this thread's binding. */
        if (o.threads == 0)
            o.threads = ph_runtime_node_threads(b->rt, node);
        rc = ph_solve(k.v, k.n, &o, &t, &err);
    }
    /* ph_solve verifies already; verify again here so the figure includes
     * a full lookup pass, as the cluster's worker does before replying. */
    if (!rc)
        rc = ph_table_verify(&t, k.v, k.n, &err);
    if (!rc && b->out)
        rc = write_tables(b->out, f->path, &t, &k, &err);
    if (rc)
        report_error(b, &err);
    else {
        atomic_fetch_add(&b->ok, 1);
        atomic_fetch_add(&b->keys, k.n);
        atomic_fetch_add(&b->attempts, t.attempts);
    }
    ph_table_free(&t);
    ph_keys_free(&k);
    ph_port_file_free(f);
    free(j);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted "dir/name.keys" paths (malloc'd array of malloc'd strings). */
static int list_keys(const char *dir, char ***out, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= 5 || strcmp(e->d_name + l - 5, ".keys") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        size_t pl = strlen(dir) + l + 2;
        v[n] = malloc(pl);
        if (!v[n])
            break;
        snprintf(v[n], pl, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    *count = n;
    return 0;
}

/* Take one file completion and hand it to the runtime. */
static int dispatch_one(bench *b, ph_port *io)
{
    ph_packet p;
    int rc = ph_port_get(io, &p, -1);
    if (rc)
        return rc;
    job *j = malloc(sizeof *j);
    if (!j) {
        ph_port_file_free(p.data);
        return PH_ENOMEM;
    }
    *j = (job){.b = b, .file = p.data};
    return ph_runtime_submit_any(b->rt, solve_job, j, -1);
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_inproc [DIR] [--threads N] [--solve-threads N] "
                    "[--topology T] [--out OUT]\n");
    return 2;
}

int main(int argc, char **argv)
{
    ph_log_init();
    const char *dir = "/work/shared/keys/sys32";
    bench b = {0};
    ph_solve_opts_init(&b.sopts);
    b.sopts.threads = 0; /* = the node's threads, set per job */
    ph_runtime_opts ro;
    ph_runtime_opts_init(&ro);
    ro.threads_per_node = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--threads") && v) ro.threads_per_node = (unsigned)atoi(v), i++;
        else if (!strcmp(a, "--solve-threads") && v) b.sopts.threads = (unsigned)atoi(v), i++;
        else if (!strcmp(a, "--topology") && v) ro.topology = v, i++;
        else if (!strcmp(a, "--out") && v) b.out = v, i++;
        else if (a[0] == '-') return usage();
        else dir = a;
    }
    char **paths;
    size_t n;
    if (list_keys(dir, &paths, &n))
        return 1;
    ph_err err = {0};
    ph_port *io = NULL;
    if (ph_port_create(256, &io, &err) || ph_runtime_create(&ro, &b.rt, &err)) {
        fprintf(stderr, "bench_inproc: %s\n", err.msg);
        return 1;
    }
    uint64_t t0 = ph_time_ns();
    size_t issued = 0, taken = 0;
    for (size_t i = 0; i < n; i++) {
        if (issued - taken >= READ_WINDOW && dispatch_one(&b, io) == 0)
            taken++;
        if (ph_port_read_file(io, paths[i], i, 0, &err) == 0)
            issued++;
        else
            report_error(&b, &err);
    }
    while (taken < issued && dispatch_one(&b, io) == 0)
        taken++;
    ph_runtime_destroy(b.rt, true, NULL);
    double s = (double)(ph_time_ns() - t0) / 1e9;
    printf("bench_inproc dir=%s nodes_threads=%u files=%zu ok=%lu failed=%lu keys=%lu "
           "attempts=%lu seconds=%.3f files_per_s=%.1f read_via_uring=%lu\n",
           dir, ro.threads_per_node, n, atomic_load(&b.ok), atomic_load(&b.failed),
           atomic_load(&b.keys), atomic_load(&b.attempts), s, (double)n / s,
           atomic_load(&b.via_uring));
    ph_port_destroy(io);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return atomic_load(&b.failed) ? 1 : 0;
}
