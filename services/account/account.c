/* services/account/account.c - Ray's Account; given a key, persistent and
 * exactly-once (actors/durable.h): account [--broker EP] --address A
 * BALANCE MINIMAL [KEY]. Events: ["deposit"|"withdraw", amount].
 * SPDX-License-Identifier: MIT */
#include <actors/actors.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double balance;
    double minimal;
    actors_durable_t *store; /* its persistence */
} account_t;

static actors_err
s_load(void *state, const msgpack_object *snapshot)
{
    account_t *a = state;
    actors_err rc = actors_map_double(snapshot, "balance", &a->balance);
    return rc ? rc : actors_map_double(snapshot, "minimal", &a->minimal);
}

static actors_err
s_save(const void *state, actors_msg_t **out)
{
    const account_t *a = state;
    return actors_msg_build(
        out, "{sdsd}", "balance", a->balance, "minimal", a->minimal);
}

static actors_err
s_apply(void *state, const msgpack_object *event)
{
    account_t *a = state;
    const char *op = NULL;
    size_t len = 0;
    double amount = 0;
    actors_err rc = actors_args_str(event, 0, &op, &len);
    rc = rc ? rc : actors_args_double(event, 1, &amount);
    a->balance += len == 7 && memcmp(op, "deposit", 7) == 0 ? amount : -amount;
    return rc;
}

static const actors_persistence_t s_persistence = {s_load, s_save, s_apply};

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    account_t *a = *state = calloc(1, sizeof(account_t));
    size_t n = actors_args_count(args);
    char *key = NULL;
    bool restored = false;
    if (a == NULL) {
        return ACTORS_ENOMEM;
    }
    if ((n != 2 && n != 3) || actors_args_double(args, 0, &a->balance) ||
        actors_args_double(args, 1, &a->minimal) || !isfinite(a->balance) ||
        !isfinite(a->minimal) ||
        (n == 3 && actors_args_strdup(args, 2, &key))) {
        return actors_actor_error(actor, "WrongArguments",
            "account takes balance minimal_balance [account_key]");
    }
    actors_err rc = actors_durable_open(
        &a->store, actor, &s_persistence, key, a, &restored);
    free(key);
    if (rc != ACTORS_OK || restored) {
        return rc; /* restored: the stored state replaced the arguments */
    }
    if (a->balance < a->minimal) {
        return actors_actor_error(actor, "ValueError",
            "Starting balance is less then minimal balance");
    }
    return actors_durable_store(a->store);
}

static void
s_fini(void *state)
{
    actors_durable_destroy(&((account_t *)state)->store);
    free(state);
}

/* s_amount reads the amount of a change (sign +1: deposit, -1: withdraw)
 * and the balance it leads to, with Ray's checks (and finite numbers). */
static actors_err
s_amount(actors_ctx_t *ctx, const msgpack_object *args, double sign,
    const account_t *a, double *amount, double *balance)
{
    if (actors_args_count(args) != 1 || actors_args_double(args, 0, amount)) {
        return actors_ctx_error(ctx, "WrongArguments",
            "%s takes one number: the amount", actors_ctx_method(ctx));
    }
    *balance = a->balance + sign * *amount;
    const char *why =
        !isfinite(*amount)        ? "amount must be a finite number"
        : *amount < 0 && sign > 0 ? "Can not deposit negative amount"
        : *amount < 0             ? "Can not withdraw negative amount"
        : !isfinite(*balance)     ? "the balance would overflow"
        : *balance < a->minimal ? "Withdraw is not supported by current balance"
                                : NULL;
    return why ? actors_ctx_error(ctx, "ValueError", "%s", why) : ACTORS_OK;
}

static actors_err
s_balance(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    account_t *a = state;
    if (actors_args_count(args) != 0) {
        return actors_ctx_error(
            ctx, "WrongArguments", "balance takes no arguments");
    }
    return actors_durable_reply(ctx, a->store, "d", a->balance);
}

static actors_err
s_deposit(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    account_t *a = state;
    double amount = 0;
    double balance = 0;
    actors_err rc = s_amount(ctx, args, 1, a, &amount, &balance);
    return rc ? rc
              : actors_durable_change(
                    ctx, a->store, "d[sd]", balance, "deposit", amount);
}

static actors_err
s_withdraw(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    account_t *a = state;
    double amount = 0;
    double balance = 0;
    actors_err rc = s_amount(ctx, args, -1, a, &amount, &balance);
    return rc ? rc
              : actors_durable_change(
                    ctx, a->store, "d[sd]", balance, "withdraw", amount);
}

static const actors_method_t s_methods[] = {{"balance", s_balance},
    {"deposit", s_deposit}, {"withdraw", s_withdraw}, {NULL, NULL}};

static const actors_service_t s_account = {
    .name = "account", .methods = s_methods, .init = s_init, .fini = s_fini};

int
main(int argc, char **argv)
{
    return actors_service_main(&s_account, argc, argv);
}
