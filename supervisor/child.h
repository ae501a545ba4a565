/* supervisor/child.h - starting and stopping one actor process.
 * SPDX-License-Identifier: MIT
 *
 * A child is started (fork, exec) as
 *   SERVICE --broker EP --address ADDRESS [CTOR-ARG-JSON ...]
 * with the supervisor's environment plus the spec's env entries. The
 * binary is looked for beside the supervisor's own binary, then in the
 * configured path, then in $ACTORS_PATH (colon-separated).
 * Thread: the supervisor's loop thread.
 */
#ifndef SUPERVISOR_CHILD_H
#define SUPERVISOR_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#include <actors/error.h>

#include "config.h"

/* child_find_binary looks up service in the search directories (self_dir,
 * then each of path and $ACTORS_PATH split on ':') and writes the first
 * executable match into buf. Returns ACTORS_OK, or ACTORS_EINVAL when not
 * found. */
actors_err child_find_binary(const char *service, const char *self_dir,
    const char *path, char *buf, size_t buflen);

/* child_spawn starts spec from binary and stores the pid.
 * Returns ACTORS_OK, ACTORS_ENOMEM, or ACTORS_EIO (spawn failed; errno
 * logged). */
actors_err child_spawn(const child_spec_t *spec, const char *binary,
    const char *broker, pid_t *pid);

/* child_spawn_out is child_spawn with the child's stdout and stderr on
 * out_fd (-1: inherited). out_fd stays open in the caller. */
actors_err child_spawn_out(const child_spec_t *spec, const char *binary,
    const char *broker, int out_fd, pid_t *pid);

/* child_describe_exit writes "exit code N" or "signal N (SIGNAME)" (with
 * ", core dumped" when so) for a wait status. */
void child_describe_exit(int status, char *buf, size_t buflen);

#endif
