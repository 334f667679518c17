/* cl_big.c - create --local of a big keys file.
 *
 * A set of millions of keys is read once, split into buckets and solved on
 * every CPU of this process, its data written as binary files: the
 * embedded cluster would copy the keys into one message and the table back
 * into another, both past the protocol's frame cap for such sets. */
#include "cl_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ph_keys.h"
#include "ph_keys_map.h"
#include "ph_part_emit.h"
#include "ph_results_csv.h"
#include "ph_time.h"

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

int cl_big_create(const cl_args *a, int *exit_code)
{
    uint64_t n = 0;
    ph_err err = {0};
    if (a->cmd != CL_CREATE || !a->local)
        return 0;
    unsigned ks = ph_keys_size_resolve(a->key_size, a->arg);
    if (ph_keys_map_count_sized(a->arg, ks, &n, &err))
        return 0; /* the ordinary path reports a bad file */
    uint32_t kpb = ph_part_choose(a->partition, n);
    if (kpb == PH_PART_OFF)
        return 0;
    /* A bad values file is the same usage error as for one graph. */
    if (a->values_file && ph_part_values_check(a->values_file, a->values, n, a->arg, &err)) {
        fprintf(stderr, "phclient: %s\n", err.msg);
        *exit_code = CL_EXIT_OTHER;
        return 1;
    }
    char keys[PATH_MAX];
    if (!realpath(a->arg, keys)) {
        fprintf(stderr, "phclient: %s: cannot resolve the path\n", a->arg);
        *exit_code = CL_EXIT_OTHER;
        return 1;
    }
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = kpb;
    o.threads = a->threads ? a->threads : online_cpus();
    o.seed = a->seed;
    ph_result_row row;
    uint64_t t0 = ph_time_us();
    unsigned emit = (a->emit_c ? PH_PART_EMIT_C : 0) | (a->emit_bin ? PH_PART_EMIT_BIN : 0)
                    | (a->index_only ? 0 : PH_PART_EMIT_KEYS);
    int rc = ph_part_create_file_values(keys, ks, a->out_dir, &o, emit, a->values,
                                        a->values_file, &row, &err);
    if (!rc)
        rc = ph_results_csv_write(a->out_dir, &row, 1, &err);
    if (rc) {
        fprintf(stderr, "phclient: %s\n", err.msg);
        *exit_code = CL_EXIT_SOME_FAILED;
        return 1;
    }
    double secs = (double)(ph_time_us() - t0) / 1e6;
    if (a->json)
        printf("{\"state\":\"all_succeeded\",\"keys\":%u,\"buckets\":%u,\"elapsed_s\":%.3f,"
               "\"out_dir\":\"%s\"}\n", row.keys, row.seeds[2], secs, a->out_dir);
    else
        printf("created 1 table (%u keys, %u buckets) in %.3f s -> %s\n", row.keys,
               row.seeds[2], secs, a->out_dir);
    *exit_code = CL_EXIT_OK;
    return 1;
}
