/* gz.h: bounded gzip inflate (concatenated members), so no gzip bomb outgrows its limit. */
#ifndef VIVO_GZ_H
#define VIVO_GZ_H

#include <stddef.h>

#include "buf.h"

/* Inflate gzip data (one or more members) appending to `out`, whose own limit bounds the
 * result. 0; -ENOSPC when the data inflates past the limit; -EINVAL for data that is not
 * gzip or is truncated; -ENOMEM. */
int gz_inflate(const void *data, size_t n, struct buf *out);

#endif
