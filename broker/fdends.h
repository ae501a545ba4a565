/* broker/fdends.h - which connection a descriptor holds: its two ends.
 * SPDX-License-Identifier: MIT
 *
 * A descriptor's number is reused as soon as its connection closes. One
 * kept to act on later (to shut its connection down) is first checked
 * against the socket it was (its inode) and the two addresses it had, so
 * that a newer connection that took the number is left alone (on ipc://
 * every connection has the same two addresses: the inode tells them
 * apart).
 *
 * Thread: any; a brk_fdends_t is plain data.
 */
#ifndef BRK_FDENDS_H
#define BRK_FDENDS_H

#include <stdbool.h>
#include <sys/socket.h>

typedef struct {
    int fd;
    unsigned long ino; /* the socket's inode (fstat) */
    struct sockaddr_storage local;
    struct sockaddr_storage peer;
    socklen_t local_len;
    socklen_t peer_len;
} brk_fdends_t;

/* brk_fdends_read reads fd's two ends into *out; false if fd is no
 * connected socket. */
bool brk_fdends_read(int fd, brk_fdends_t *out);

/* brk_fdends_same: e's descriptor still holds the connection e was read
 * from. */
bool brk_fdends_same(const brk_fdends_t *e);

/* brk_fdends_shutdown shuts e's connection down (both ways) if its
 * descriptor still holds it; returns whether it did. */
bool brk_fdends_shutdown(const brk_fdends_t *e);

#endif
