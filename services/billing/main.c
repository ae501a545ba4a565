/* services/billing/main.c - billing [--broker EP] --address A [--group].
 * SPDX-License-Identifier: MIT */
#include "billing.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&billing_service, argc, argv);
}
