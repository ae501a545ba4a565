/* services/preprocessor/preprocessor.h - the preprocessor service table (the
 * Pykka pipeline). SPDX-License-Identifier: MIT */
#ifndef PREPROCESSOR_H
#define PREPROCESSOR_H

#include <actors/actors.h>

extern const actors_service_t preprocessor_service;

#endif
