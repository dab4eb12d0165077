/* ops.h: the health and self-metrics server (port 2020). */
#ifndef VIVO_OPS_H
#define VIVO_OPS_H

#include "httpd.h"

/* Routes whose ctx is the struct agent. */
extern const struct httpd_route ops_routes[];
extern const size_t ops_nroutes;

#endif
