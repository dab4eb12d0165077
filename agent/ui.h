/* ui.h: the web UI page routes (the assets are embedded at build time). */
#ifndef VIVO_UI_H
#define VIVO_UI_H

#include "httpd.h"

#include <stdbool.h>

/* Page routes: /, /index.html, /vivo, /vivo/; /vivo/logs|metrics|traces answer the page
 * to a request that accepts text/html and the exporter's stream to any other (their
 * server's ctx must be the exporter). */
extern const struct httpd_route ui_routes[];
extern const size_t ui_nroutes;
/* True when an Accept header value lists text/html (or text/ *) with q > 0. */
bool ui_accepts_html(const char *accept);

#endif
