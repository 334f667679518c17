#include "ph_err.h"

#include <stdarg.h>
#include <stdio.h>

int ph_err_set(ph_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

const char *ph_err_name(int code)
{
    switch (code) {
    case PH_OK: return "OK";
    case PH_EINVAL: return "EINVAL";
    case PH_EIO: return "EIO";
    case PH_ENOMEM: return "ENOMEM";
    case PH_EDUP: return "EDUP";
    case PH_ESOLVE: return "ESOLVE";
    case PH_EVERIFY: return "EVERIFY";
    case PH_EPROTO: return "EPROTO";
    case PH_ETIMEOUT: return "ETIMEOUT";
    case PH_EBUSY: return "EBUSY";
    case PH_ECLOSED: return "ECLOSED";
    case PH_EPERM: return "EPERM";
    case PH_ENAME: return "ENAME";
    case PH_EFORMAT: return "EFORMAT";
    case PH_EFOREIGN: return "EFOREIGN";
    case PH_EVERSION: return "EVERSION";
    case PH_ETRUNC: return "ETRUNC";
    case PH_ECHECKSUM: return "ECHECKSUM";
    case PH_EUNSUPPORTED: return "EUNSUPPORTED";
    case PH_ECANCELED: return "ECANCELED";
    default: return "EUNKNOWN";
    }
}
