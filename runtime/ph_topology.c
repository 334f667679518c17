/* ph_topology.c - loading a NUMA layout through hwloc.
 *
 * A leaf: it calls hwloc only, so the runtime and the worker's supervisor
 * (which must stay free of threads before fork) can both use it. */
#include "ph_topology.h"

#include <stdbool.h>
#include <sys/stat.h>

int ph_topology_load(const char *desc, hwloc_topology_t *out, ph_err *err)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) < 0)
        return ph_err_set(err, PH_ENOMEM, "topology: hwloc_topology_init failed");
    bool given = desc && desc[0];
    bool is_file = false;
    if (given) {
        /* An existing file is an XML export (hwloc-ls foo.xml); anything
         * else must be a synthetic description like "pack:2 numa:1 pu:2". */
        struct stat st;
        is_file = stat(desc, &st) == 0;
        int rc = is_file ? hwloc_topology_set_xml(topo, desc)
                         : hwloc_topology_set_synthetic(topo, desc);
        if (rc < 0) {
            hwloc_topology_destroy(topo);
            return ph_err_set(err, PH_EINVAL, "--topology \"%s\": not a valid %s", desc,
                              is_file ? "hwloc XML file" : "hwloc synthetic description");
        }
    }
    if (hwloc_topology_load(topo) < 0) {
        hwloc_topology_destroy(topo);
        return ph_err_set(err, PH_EINVAL, "--topology \"%s\": hwloc could not load it",
                          given ? desc : "(this machine)");
    }
    *out = topo;
    return PH_OK;
}

int ph_topology_nodes(const char *desc, unsigned *os_index, unsigned max, unsigned *count,
                      ph_err *err)
{
    *count = 0;
    hwloc_topology_t topo;
    int rc = ph_topology_load(desc, &topo, err);
    if (rc)
        return rc;
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    for (int i = 0; i < n && *count < max; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
        os_index[(*count)++] = obj->os_index;
    }
    hwloc_topology_destroy(topo);
    if (*count == 0)
        return ph_err_set(err, PH_EINVAL, "--topology \"%s\": no NUMA node",
                          desc && desc[0] ? desc : "(this machine)");
    return PH_OK;
}
