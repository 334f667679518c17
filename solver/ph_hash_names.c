#include <string.h>

#include "ph_solver.h"

static const char *const hash_names[] = {"mulshift", "mulrot", "mix", "auto"};

int ph_hash_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof hash_names / sizeof hash_names[0]); i++)
        if (name && !strcmp(name, hash_names[i]))
            return i;
    return -1;
}

const char *ph_hash_name(ph_hash_kind kind)
{
    if ((unsigned)kind < sizeof hash_names / sizeof hash_names[0])
        return hash_names[kind];
    return "unknown";
}
