/* config_tables.h: the option tables of [SERVICE], the vivo_exporter output and the keys every input shares, as Fluent Bit 5.1.1 names them. */
#ifndef VIVO_CONFIG_TABLES_H
#define VIVO_CONFIG_TABLES_H

#include "opts.h"

/* [SERVICE] (struct service_conf). */
extern const struct opt_def config_service_opts[];
/* The vivo_exporter output (struct exporter_conf): its own keys, then the keys Fluent
 * Bit's outputs share (flb_output.c). */
extern const struct opt_def config_exporter_opts[];
/* Keys every input takes (flb_input.c), keys of listening inputs (TLS, net.*), keys of
 * the HTTP-family inputs (http, opentelemetry: http_server.*, oauth2.*); all of them
 * OPT_COMPAT over struct input_conf. */
extern const struct opt_def config_input_common_opts[];
extern const struct opt_def config_input_net_opts[];
extern const struct opt_def config_input_http_opts[];

/* Values Vivo takes for a key it accepts but does not act on, when other values would
 * change what the agent does (tls on, oauth2.validate on) or Fluent Bit itself refuses
 * them (storage.type): "a|b|c", or NULL when any value goes. */
const char *config_accepted_values(const char *key);

#endif
