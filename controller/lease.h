/* lease.h: leader election on a coordination.k8s.io/v1 Lease, in its own thread (client-go's algorithm and timings). */
#ifndef VIVO_LEASE_H
#define VIVO_LEASE_H

#include <stdbool.h>

#include "kube.h"

struct lease_opts {
	const char *ns;
	const char *name;
	const char *identity;
	int lease_s;     /* leaseDurationSeconds: 15 */
	int renew_s;     /* renew deadline: 10 (a leader that cannot renew for this long stops) */
	int retry_s;     /* retry period: 2 */
};

struct lease;

/* Start campaigning. `notify_fd` gets one byte whenever leadership is won or lost. */
int lease_start(struct kube *k, const struct lease_opts *o, int notify_fd, struct lease **out);
/* May this replica write now? True while it holds the Lease and its last successful
 * renewal is younger than the renew deadline. Any thread. */
bool lease_is_leader(struct lease *l);
/* True once a held Lease was lost (could not renew, or taken over). */
bool lease_lost(struct lease *l);
/* Stop campaigning; release the Lease when held and `release`. Frees. NULL-safe. */
void lease_stop(struct lease *l, bool release);

#endif
