/* services/account/main.c - account [--broker EP] --address A BALANCE MINIMAL
 * [ACCOUNT_KEY].
 * SPDX-License-Identifier: MIT */
#include "account.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&account_service, argc, argv);
}
