/* tests/testfs.c - a small tmpfs in a private mount namespace, and a file
 * that fills it (testfs.h).
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include "testfs.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static bool s_unshared;      /* this process has its own mount namespace */
static char s_mounted[4096]; /* the tmpfs mounted, or "" */

static bool
s_skip(const char *what, int err)
{
    fprintf(stderr,
        "SKIP: cannot mount a tmpfs to fill (%s: %s); run the test as root "
        "(CAP_SYS_ADMIN) for the full-disk case\n",
        what, strerror(err));
    return false;
}

bool
testfs_tmpfs(const char *dir, size_t bytes)
{
    ck_assert_ptr_nonnull(dir);
    ck_assert_msg(
        s_mounted[0] == '\0', "testfs: %s is already mounted", s_mounted);
    if (!s_unshared) {
        if (unshare(CLONE_NEWNS) != 0) {
            return s_skip("unshare", errno);
        }
        /* Make every mount private, so that ours never propagates back to
         * the host's namespace (a shared "/" would carry it there). */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
            return s_skip("mount --make-rprivate /", errno);
        }
        s_unshared = true;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        ck_abort_msg("testfs: mkdir %s: %s", dir, strerror(errno));
    }
    char opts[64];
    snprintf(opts, sizeof opts, "size=%zu,mode=0755", bytes);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
        return s_skip("mount -t tmpfs", errno);
    }
    snprintf(s_mounted, sizeof s_mounted, "%s", dir);
    return true;
}

size_t
testfs_fill(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_msg(fd >= 0, "testfs: open %s: %s", path, strerror(errno));
    static const char zeros[4096];
    size_t total = 0;
    for (;;) {
        ssize_t r = write(fd, zeros, sizeof zeros);
        if (r > 0) {
            total += (size_t)r;
            continue;
        }
        int err = errno;
        if (r < 0 && err == EINTR) {
            continue;
        }
        ck_assert_msg(r < 0 && (err == ENOSPC || err == EDQUOT),
            "testfs: filling %s stopped without ENOSPC: %s", path,
            r == 0 ? "wrote 0 bytes" : strerror(err));
        break;
    }
    ck_assert_int_eq(close(fd), 0);
    return total;
}

void
testfs_unmount(void)
{
    if (s_mounted[0] != '\0') {
        (void)umount2(s_mounted, MNT_DETACH);
        s_mounted[0] = '\0';
    }
}
