/* services/loader/main.c - loader [--broker EP] --address A.
 * SPDX-License-Identifier: MIT */
#include "loader.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&loader_service, argc, argv);
}
