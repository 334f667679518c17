/* phclient - submit perfect-hash jobs to a phcluster coordinator (or run
 * one in-process with --local) and watch them. */
#include <signal.h>

#include "cl_int.h"
#include "ph_log.h"

int main(int argc, char **argv)
{
    ph_log_init();
    signal(SIGPIPE, SIG_IGN);
    cl_args a;
    int code = CL_EXIT_OTHER;
    if (cl_parse(argc, argv, &a, &code) != 0)
        return code;
    return cl_run(&a);
}
