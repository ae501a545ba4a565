/* services/model/main.c - model [--broker EP] --address A.
 * SPDX-License-Identifier: MIT */
#include "model.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&model_service, argc, argv);
}
