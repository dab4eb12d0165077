/* ticker.h: a thread that calls a function at a fixed interval until stopped (internal inputs). */
#ifndef VIVO_TICKER_H
#define VIVO_TICKER_H

#include <stddef.h>

struct ticker;

/* Start a thread calling tick(arg) every `interval` seconds (> 0), first after one
 * interval. 0, -EINVAL (bad interval), -ENOMEM or -EAGAIN (no thread). */
int ticker_start(double interval, void (*tick)(void *arg), void *arg, struct ticker **out);
/* Stop the thread (a tick in progress finishes first) and free. NULL-safe. */
void ticker_stop(struct ticker *t);

#endif
