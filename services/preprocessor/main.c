/* services/preprocessor/main.c - preprocessor [--broker EP] --address A.
 * SPDX-License-Identifier: MIT */
#include "preprocessor.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&preprocessor_service, argc, argv);
}
