/* harness.h - everything a process test uses: owned processes (hx_proc.h),
 * files and text (hx_file.h), a cluster of real daemons (hx_cluster.h).
 * Scripted workers speaking the protocol are in fake_worker.h. */
#ifndef HX_HARNESS_H
#define HX_HARNESS_H
#include "hx_cluster.h"
#include "hx_file.h"
#include "hx_proc.h"
#endif
