/* tools/actorctl/argsrc.h - where an argument's JSON text comes from: the
 * command line, standard input ("-") or a file ("@PATH").
 * SPDX-License-Identifier: MIT
 *
 * Large values need not pass through argv (whose size the kernel limits):
 *   producer | actorctl call store/1 put key -
 *   actorctl call store/1 load @rows.json
 * A literal string that starts with '@' is given as JSON: '"@home"'.
 */
#ifndef ACTORCTL_ARGSRC_H
#define ACTORCTL_ARGSRC_H

#include <stddef.h>
#include <stdio.h>

#include <actors/error.h>

/* argsrc_text gives the JSON text of the command-line word: the word
 * itself, the whole of in for "-", or the whole file PATH for "@PATH".
 * *owned is set to the buffer to free() (NULL when *text is the word).
 * Returns ACTORS_OK, ACTORS_EIO (stdin or the file could not be read; a
 * reason in why), ACTORS_ENOMEM. Thread: any (one caller reads in). */
actors_err argsrc_text(const char *word, FILE *in, const char **text,
    char **owned, char *why, size_t whylen);

#endif
