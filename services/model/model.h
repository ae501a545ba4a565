/* services/model/model.h - the model service table (the Pykka pipeline).
 * SPDX-License-Identifier: MIT */
#ifndef MODEL_H
#define MODEL_H

#include <actors/actors.h>

extern const actors_service_t model_service;

#endif
