/* tools/actorctl/keygen.h - `actorctl keygen`: a CURVE certificate pair.
 * SPDX-License-Identifier: MIT
 */
#ifndef ACTORCTL_KEYGEN_H
#define ACTORCTL_KEYGEN_H

/* keygen_run writes DIR/NAME (the public certificate, for a broker's
 * --keys directory) and DIR/NAME_secret (mode 0600, for --key) in czmq's
 * format (zcert_save), with metadata name = NAME and role = ROLE
 * (client, actor, node or admin; the broker reads the role from the
 * public file), and addresses = ADDRESSES when not NULL (the addresses
 * the key may REGISTER: fnmatch patterns separated by spaces or commas).
 * DIR is made (0700) if missing; existing files are never overwritten.
 * Prints what it wrote; errors go to stderr.
 * Returns the exit status (COMMANDS_EXIT_*). */
int keygen_run(
    const char *name, const char *role, const char *dir, const char *addresses);

#endif
