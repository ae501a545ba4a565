/* tools/actorctl/text.h - what a peer named, safe to print on a terminal.
 * SPDX-License-Identifier: MIT
 *
 * Addresses, services, nodes and causes in a LIST reply were chosen by
 * whoever registered or spawned the actor. Printed as they are, an escape
 * sequence in one would drive the operator's terminal (retitle it, hide
 * rows, rewrite what `ls` shows) and a newline would add a row of its own.
 * Tables print them through text_printable.
 */
#ifndef ACTORCTL_TEXT_H
#define ACTORCTL_TEXT_H

#include <stddef.h>

/* text_printable writes src[0..n) into dst (cap > 0 bytes, always
 * NUL-terminated, cut at a whole escape) with each control byte
 * (00..1F, 7F) as \xNN; returns the length written. 4 * n + 1 bytes are
 * always enough. Thread: any. */
size_t text_printable(char *dst, size_t cap, const char *src, size_t n);

#endif
