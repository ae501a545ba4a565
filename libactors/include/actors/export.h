/* libactors/include/actors/export.h - symbol visibility and version.
 * SPDX-License-Identifier: MIT */
#ifndef ACTORS_EXPORT_H
#define ACTORS_EXPORT_H

#define ACTORS_VERSION_MAJOR 0
#define ACTORS_VERSION_MINOR 1
#define ACTORS_VERSION_PATCH 0

#if defined(__GNUC__)
#define ACTORS_EXPORT __attribute__((visibility("default")))
#else
#define ACTORS_EXPORT
#endif

#endif
