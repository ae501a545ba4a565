/* broker/fdends.c - which connection a descriptor holds (fdends.h).
 * SPDX-License-Identifier: MIT
 */
#include "fdends.h"

#include <string.h>
#include <sys/stat.h>

bool
brk_fdends_read(int fd, brk_fdends_t *out)
{
    out->fd = fd;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return false;
    }
    out->ino = (unsigned long)st.st_ino;
    out->local_len = sizeof out->local;
    out->peer_len = sizeof out->peer;
    return getsockname(fd, (struct sockaddr *)&out->local, &out->local_len) ==
               0 &&
           getpeername(fd, (struct sockaddr *)&out->peer, &out->peer_len) == 0;
}

bool
brk_fdends_same(const brk_fdends_t *e)
{
    brk_fdends_t now;
    return brk_fdends_read(e->fd, &now) && now.ino == e->ino &&
           now.local_len == e->local_len && now.peer_len == e->peer_len &&
           memcmp(&now.local, &e->local, e->local_len) == 0 &&
           memcmp(&now.peer, &e->peer, e->peer_len) == 0;
}

bool
brk_fdends_shutdown(const brk_fdends_t *e)
{
    return brk_fdends_same(e) && shutdown(e->fd, SHUT_RDWR) == 0;
}
