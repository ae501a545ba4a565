/* supervisor/outlog.h - an actor's stdout and stderr, line by line, with
 * its address and pid.
 * SPDX-License-Identifier: MIT
 *
 * The supervisor gives each actor process one pipe as both its stdout and
 * its stderr and reads it in its loop (no thread): every line is written
 * to the supervisor's stderr as "ADDRESS[PID]: line", so lines of several
 * actors mixed in one container log still say whose they are. With a log
 * directory, each line also goes to DIR/ADDRESS.log ('/' in the address
 * written as '_'), "TIME PID line", appended across restarts. A line
 * longer than OUTLOG_LINE_MAX bytes is cut into several.
 *
 * Thread: one thread (the supervisor's loop).
 */
#ifndef SUPERVISOR_OUTLOG_H
#define SUPERVISOR_OUTLOG_H

#include <stdbool.h>
#include <sys/types.h>

#include <actors/error.h>

#define OUTLOG_LINE_MAX 4096 /* bytes of one line before it is cut */

typedef struct outlog outlog_t;

/* outlog_create prepares the capture of address's output; dir is the log
 * directory (NULL or "": none), copied. Returns ACTORS_OK with *out owned
 * by the caller (outlog_destroy), or ACTORS_ENOMEM. */
actors_err outlog_create(outlog_t **out, const char *address, const char *dir);

/* outlog_destroy drains and closes the pipe and the file; NULL is fine. */
void outlog_destroy(outlog_t **self_p);

/* outlog_pipe makes a new pipe for the next process (the previous one is
 * drained and closed first) and stores its write end in *child_fd, for
 * the child to dup2 onto 1 and 2 (close-on-exec set on both ends).
 * Returns ACTORS_OK or ACTORS_EIO (*child_fd -1: the child inherits the
 * supervisor's stdout and stderr). */
actors_err outlog_pipe(outlog_t *self, int *child_fd);

/* outlog_started records the new process's pid and closes the write end
 * in the supervisor (child_fd from outlog_pipe; -1: nothing to close). */
void outlog_started(outlog_t *self, pid_t pid, int child_fd);

/* outlog_fd is the read end to poll for input, or -1. */
int outlog_fd(const outlog_t *self);

/* outlog_read reads what is there without blocking and writes the
 * complete lines; at end of file it writes the last partial line and
 * closes the pipe. */
void outlog_read(outlog_t *self);

/* outlog_drain reads until the pipe is empty (the process has exited),
 * writes the rest, partial line included, and closes the pipe. */
void outlog_drain(outlog_t *self);

#endif
