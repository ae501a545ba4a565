/* broker/topic.h - topic names and subscription patterns.
 * SPDX-License-Identifier: MIT
 *
 * A topic is 1..255 bytes of dot-separated segments ("orders.created.eu"):
 * no segment is empty, and no byte is a space, a control byte or DEL. A
 * pattern is a topic in which a segment may be "*" (exactly one segment)
 * and the last segment may be ">" (one or more segments), as NATS
 * subjects are. A topic that is published may hold no wildcard segment.
 * A "*" or ">" inside a longer segment ("a*") is an ordinary byte.
 *
 * Thread: any (pure functions).
 */
#ifndef BRK_TOPIC_H
#define BRK_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#define BRK_TOPIC_MAX 255 /* bytes in a topic or a pattern */

/* brk_topic_seg returns the length of the segment starting at s (up to
 * the next dot or left bytes). */
size_t brk_topic_seg(const char *s, size_t left);

/* brk_topic_valid tells whether s (len bytes) is a valid topic
 * (pattern false: no wildcard segment) or pattern (pattern true). */
bool brk_topic_valid(const char *s, size_t len, bool pattern);

/* brk_topic_match tells whether valid pattern p (plen bytes) matches
 * valid topic t (tlen bytes). */
bool brk_topic_match(const char *p, size_t plen, const char *t, size_t tlen);

#endif
