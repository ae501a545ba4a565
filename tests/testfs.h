/* tests/testfs.h - a small, full file system for the tests of a full disk.
 * SPDX-License-Identifier: MIT
 *
 * Linked into every test binary, like testutil.c. testfs_tmpfs mounts a
 * tmpfs of a chosen size; testfs_fill then fills it, so that the code
 * under test meets a real ENOSPC from write(2) (a short write first, then
 * the error), which no mock reproduces as faithfully.
 *
 * Mounting needs CAP_SYS_ADMIN (root in the test container). The mount is
 * made in a mount namespace of the calling process's own (unshared at the
 * first call), so it is invisible outside, needs no cleanup on the host,
 * and vanishes with the test child even when a failed assertion ends it
 * early; processes the test starts afterwards (broker, services) inherit
 * the namespace and see the mount. unshare(2) refuses a process that
 * already runs threads: call testfs_tmpfs before the test starts a client
 * or looks anything up.
 *
 * Thread: the test's one thread.
 */
#ifndef ACTORS_TESTFS_H
#define ACTORS_TESTFS_H

#include <stdbool.h>
#include <stddef.h>

/* testfs_tmpfs mounts a tmpfs of bytes (rounded up to pages) at dir,
 * making dir if it is missing. Returns true once mounted; false, after
 * printing "SKIP: ..." and the reason on stderr, when this process may
 * not mount (not root, no CAP_SYS_ADMIN, threads already running): the
 * caller then returns from the test, which passes. */
bool testfs_tmpfs(const char *dir, size_t bytes);

/* testfs_fill writes zeros to a new file at path until the file system
 * holding it is full (ENOSPC or EDQUOT) and returns the bytes written.
 * Fails the test on any other error. Free the space with unlink(path). */
size_t testfs_fill(const char *path);

/* testfs_unmount unmounts (lazily) the tmpfs testfs_tmpfs mounted, if
 * any, so that a teardown can remove the directory it was mounted on. */
void testfs_unmount(void);

#endif
