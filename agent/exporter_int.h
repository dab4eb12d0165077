/* exporter_int.h: what agent/exporter.c shares with agent/exporter_body.c. */
#ifndef VIVO_EXPORTER_INT_H
#define VIVO_EXPORTER_INT_H

#include "exporter.h"

enum body_mode { BODY_LEGACY, BODY_V1, BODY_ENVELOPE };

/* Answer 200 with the chunks of `v` (whose references pass to the response, also on
 * failure) in `mode`, gzipped when the client accepts it, with the Vivo-Stream-* headers,
 * Vivo-Boot-ID and the CORS headers of `cors` ("" = none). */
enum MHD_Result exporter_reply_view(struct httpd_req *r, struct stream_view *v, enum body_mode mode,
				    const char *boot_id, const char *cors);

#endif
