/* ph_crc.h - CRC-32C (Castagnoli), the checksum of journal records and of
 * binary table files. */
#ifndef PH_CRC_H
#define PH_CRC_H

#include <stddef.h>
#include <stdint.h>

/* CRC32C of data[0..len) continuing from crc (start with 0):
 * ph_crc32c(ph_crc32c(0, a, n), b, m) is the CRC of a followed by b. */
uint32_t ph_crc32c(uint32_t crc, const void *data, size_t len);

#endif
