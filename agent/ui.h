/* ui.h: the web UI page routes (the assets are embedded at build time). */
#ifndef VIVO_UI_H
#define VIVO_UI_H

#include "httpd.h"

/* Page routes: /, /index.html, /vivo, /vivo/, /vivo/logs|metrics|traces. */
extern const struct httpd_route ui_routes[];
extern const size_t ui_nroutes;

#endif
