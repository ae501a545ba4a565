/* supervisor/child.h - starting and stopping one actor process.
 * SPDX-License-Identifier: MIT
 *
 * A child is started (fork, exec) as
 *   SERVICE --broker EP --address ADDRESS [CTOR-ARG-JSON ...]
 * with the supervisor's environment plus the spec's env entries and
 * ACTORS_CLAIM (the secret it shows the broker in REGISTER). The
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

#define CHILD_CLAIM_MAX 64 /* bytes of a claim */

/* child_claim_new writes a fresh claim (32 hex digits from getrandom, NUL
 * terminated) into buf (at least CHILD_CLAIM_MAX + 1 bytes). Returns
 * ACTORS_OK or ACTORS_EIO (no randomness; buf ""). */
actors_err child_claim_new(char *buf);

/* child_spawn starts spec from binary and stores the pid. claim (NULL or
 * "": none) goes to the process as $ACTORS_CLAIM, in its environment,
 * not on its command line (which ps shows to everyone).
 * Returns ACTORS_OK, ACTORS_ENOMEM, or ACTORS_EIO (spawn failed; errno
 * logged). */
actors_err child_spawn(const child_spec_t *spec, const char *binary,
    const char *broker, const char *claim, pid_t *pid);

/* child_spawn_out is child_spawn with the child's stdout and stderr on
 * out_fd (-1: inherited). out_fd stays open in the caller. */
actors_err child_spawn_out(const child_spec_t *spec, const char *binary,
    const char *broker, const char *claim, int out_fd, pid_t *pid);

/* child_describe_exit writes "exit code N" or "signal N (SIGNAME)" (with
 * ", core dumped" when so) for a wait status. */
void child_describe_exit(int status, char *buf, size_t buflen);

#endif
