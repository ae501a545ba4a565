/* libactors/src/zmon.c - reading a ZeroMQ socket monitor (zmon.h).
 * SPDX-License-Identifier: MIT
 */
#include <actors-internal/zmon.h>

#include <string.h>

#include <zmq.h>

bool
actors__monitor_next(void *mon, uint16_t *event, uint32_t *value)
{
    /* An event is two frames: 2 bytes event, 4 bytes value; then the
     * endpoint. */
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&ev);
        return false;
    }
    *event = 0;
    *value = 0;
    if (zmq_msg_size(&ev) >= 6) {
        memcpy(event, zmq_msg_data(&ev), 2);
        memcpy(value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
    }
    while (zmq_msg_more(&ev)) {
        zmq_msg_close(&ev);
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0) {
            break;
        }
    }
    zmq_msg_close(&ev);
    return true;
}
