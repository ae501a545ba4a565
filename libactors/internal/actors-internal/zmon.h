/* libactors/internal/actors-internal/zmon.h - reading a ZeroMQ socket
 * monitor.
 * SPDX-License-Identifier: MIT
 *
 * Private to libactors and the broker (which includes it); never installed.
 */
#ifndef ACTORS_ZMON_H
#define ACTORS_ZMON_H

#include <stdbool.h>
#include <stdint.h>

/* actors__monitor_next reads the next event waiting on mon (the PAIR
 * connected to a zmq_socket_monitor endpoint), without waiting: its
 * number into *event and its value (a descriptor, an errno, a ZAP
 * status) into *value; the endpoint frame is read and dropped. Returns
 * false when none is waiting. Thread: mon's owner. */
bool actors__monitor_next(void *mon, uint16_t *event, uint32_t *value);

#endif
