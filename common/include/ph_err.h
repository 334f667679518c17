/* ph_err.h - one error value that carries a one-line message.
 *
 * Every fallible function in phcluster returns int (0 = ok, negative = a
 * PH_E* code) and, when given a non-NULL ph_err, fills in a single line that
 * names the file or field at fault.  Callers print err.msg as is. */
#ifndef PH_ERR_H
#define PH_ERR_H

#include <stddef.h>

enum {
    PH_OK = 0,
    PH_EINVAL = -1,   /* bad input: keys file, option, message field */
    PH_EIO = -2,      /* read/write/rename failed */
    PH_ENOMEM = -3,
    PH_EDUP = -4,     /* duplicate ph_keys */
    PH_ESOLVE = -5,   /* no acyclic graph within the attempt budget */
    PH_EVERIFY = -6,  /* table failed verification */
    PH_EPROTO = -7,   /* malformed or unsupported message */
    PH_ETIMEOUT = -8,
    PH_EBUSY = -9,    /* queue past its high-water mark */
    PH_ECLOSED = -10, /* port/socket closed */
    PH_EPERM = -11,   /* path outside the allowed roots, auth refused */
    PH_ENAME = -12,   /* table name clashes with another table's C symbols */
    /* A saved table file (ph_image.h) refused: */
    PH_EFORMAT = -13,      /* fields inconsistent or out of range */
    PH_EFOREIGN = -14,     /* not a table file (magic) or other byte order */
    PH_EVERSION = -15,     /* a newer format version */
    PH_ETRUNC = -16,       /* shorter than its header says */
    PH_ECHECKSUM = -17,    /* bytes changed since it was written */
    PH_EUNSUPPORTED = -18, /* valid, but not handled by this build */
    PH_ECANCELED = -19,    /* the task's job was cancelled */
};

typedef struct ph_err {
    int code;
    char msg[512];
} ph_err;

/* Record code and a printf-style message in err (may be NULL); returns code
 * so callers can write `return ph_err_set(err, PH_EIO, "...")`. */
int ph_err_set(ph_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short name of a code ("EINVAL", ...), for logs and the protocol. */
const char *ph_err_name(int code);

#endif
