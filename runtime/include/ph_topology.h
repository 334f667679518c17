/* ph_topology.h - the NUMA layout the runtime and the worker work from.
 *
 * One loader for every place that needs the machine's layout (the runtime
 * placing threads, phworker picking its node or forking one process per
 * node, phclient --local starting one worker per node): this machine, an
 * hwloc XML export (a path to an existing file) or an hwloc synthetic
 * description such as "pack:2 numa:1 core:2 pu:1" (tests, and a node
 * pretending to be a bigger one). */
#ifndef PH_TOPOLOGY_H
#define PH_TOPOLOGY_H

#include <hwloc.h>

#include "ph_err.h"

/* Load desc (NULL or "" = this machine) into *out; the caller destroys it
 * with hwloc_topology_destroy.  PH_EINVAL with err naming desc when it is
 * neither a valid XML file nor a valid synthetic description. */
int ph_topology_load(const char *desc, hwloc_topology_t *out, ph_err *err);

/* OS indexes of the NUMA nodes of desc, in hwloc's order: up to max in
 * os_index, their number (at most max) in *count.  PH_EINVAL if the
 * topology has no NUMA node. */
int ph_topology_nodes(const char *desc, unsigned *os_index, unsigned max, unsigned *count,
                      ph_err *err);

#endif
