/* services/account/account.c - the Ray tutorial's Account as an actor,
 * persistent and exactly-once when given a key.
 * SPDX-License-Identifier: MIT
 *
 * Constructor: balance minimal_balance [account_key]. Methods return the
 * new balance; a refused operation raises ValueError with Ray's message
 * and changes nothing; amounts and balances stay finite. With a key the
 * runtime (actors/durable.h) keeps the state: it recovers it at start
 * (the arguments then only matter for a new key), journals each change as
 * the event ["deposit"|"withdraw", amount] with the call's result, answers
 * once the change is durable and a re-sent call key from the journal.
 * Backend and policy come from the environment (docs/PERSISTENCE.md).
 * Schema: schemas/account.json.
 */
#include "account.h"

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

/* s_apply applies the event ["deposit"|"withdraw", amount]. */
static actors_err
s_apply(void *state, const msgpack_object *event)
{
    account_t *a = state;
    const char *op = NULL;
    size_t len = 0;
    double amount = 0;
    if (actors_args_str(event, 0, &op, &len) != ACTORS_OK ||
        actors_args_double(event, 1, &amount) != ACTORS_OK) {
        return ACTORS_EMSGPACK;
    }
    a->balance += len == 7 && memcmp(op, "deposit", 7) == 0 ? amount : -amount;
    return ACTORS_OK;
}

static const actors_persistence_t s_persistence = {s_load, s_save, s_apply};

static void
s_fini(void *state)
{
    account_t *a = state;
    actors_durable_destroy(&a->store);
    free(a);
}

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    account_t *a = calloc(1, sizeof *a);
    size_t n = actors_args_count(args);
    char *key = NULL;
    double balance = 0;
    double minimal = 0;
    bool restored = false;
    actors_err rc = a ? ACTORS_OK : ACTORS_ENOMEM;
    if (rc == ACTORS_OK &&
        ((n != 2 && n != 3) || actors_args_double(args, 0, &balance) ||
            actors_args_double(args, 1, &minimal) || !isfinite(balance) ||
            !isfinite(minimal) ||
            (n == 3 && actors_args_strdup(args, 2, &key)))) {
        rc = actors_actor_error(actor, "WrongArguments",
            "account takes two numbers and an optional key: balance "
            "minimal_balance [account_key]");
    }
    if (rc == ACTORS_OK) {
        rc = actors_durable_open(
            &a->store, actor, &s_persistence, key, a, &restored);
    }
    if (rc == ACTORS_OK && !restored && balance < minimal) {
        rc = actors_actor_error(actor, "ValueError",
            "Starting balance is less then minimal balance");
    } else if (rc == ACTORS_OK && !restored) {
        a->balance = balance;
        a->minimal = minimal;
        rc = actors_durable_store(a->store);
    }
    free(key);
    if (rc != ACTORS_OK && a != NULL) {
        s_fini(a);
    }
    *state = rc == ACTORS_OK ? a : NULL;
    return rc;
}

/* s_amount reads the amount of a deposit or withdrawal (sign +1 or -1)
 * and the balance it leads to, with Ray's checks. */
static actors_err
s_amount(actors_ctx_t *ctx, const msgpack_object *args, double sign,
    const account_t *a, double *amount, double *balance)
{
    const char *method = actors_ctx_method(ctx);
    if (actors_args_count(args) != 1 || actors_args_double(args, 0, amount)) {
        return actors_ctx_error(
            ctx, "WrongArguments", "%s takes one number: the amount", method);
    }
    if (!isfinite(*amount)) {
        return actors_ctx_error(
            ctx, "ValueError", "amount must be a finite number");
    }
    if (*amount < 0) {
        return actors_ctx_error(
            ctx, "ValueError", "Can not %s negative amount", method);
    }
    *balance = a->balance + sign * *amount;
    return isfinite(*balance) ? ACTORS_OK
                              : actors_ctx_error(ctx, "ValueError",
                                    "the balance would overflow");
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
    if (actors_durable_replayed(ctx, a->store)) {
        return ACTORS_OK;
    }
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
    if (actors_durable_replayed(ctx, a->store)) {
        return ACTORS_OK;
    }
    actors_err rc = s_amount(ctx, args, -1, a, &amount, &balance);
    if (rc == ACTORS_OK && balance < a->minimal) {
        rc = actors_ctx_error(
            ctx, "ValueError", "Withdraw is not supported by current balance");
    }
    return rc ? rc
              : actors_durable_change(
                    ctx, a->store, "d[sd]", balance, "withdraw", amount);
}

static const actors_method_t s_methods[] = {
    {"balance", s_balance},
    {"deposit", s_deposit},
    {"withdraw", s_withdraw},
    {NULL, NULL},
};

const actors_service_t account_service = {
    .name = "account",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini,
};
