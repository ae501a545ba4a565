/* examples/persistence/file_account.c - the seed's Account with
 * FilePersistence: after every change the whole state is saved, and a
 * restart restores it (actors/durable.h, snapshot style: no apply).
 * SPDX-License-Identifier: MIT
 *
 *   file_account --address account/1 100 20 '"1234567"'
 *
 * The runtime picks the backend from the environment: files under
 * $ACTORS_STATE_DIR (the seed's FilePersistence), Redis with $ACTORS_REDIS,
 * or a pool of store actors with ACTORS_PERSIST_STORE=store:3 (the seed's
 * ActorPool of FilePersistence actors). Each call is answered once its
 * state is saved; under ACTORS_PERSIST_SYNC=group:MS one save covers all
 * the changes of MS milliseconds. */
#include <actors/actors.h>
#include <stdlib.h>

typedef struct {
    double balance;
    double minimal;
    actors_durable_t *persistence;
} account_t;

static actors_err
s_restore(void *state, const msgpack_object *saved)
{
    account_t *a = state;
    actors_err rc = actors_map_double(saved, "balance", &a->balance);
    return rc ? rc : actors_map_double(saved, "minimal", &a->minimal);
}

static actors_err
s_store(const void *state, actors_msg_t **out)
{
    const account_t *a = state;
    return actors_msg_build(
        out, "{sdsd}", "balance", a->balance, "minimal", a->minimal);
}

static const actors_persistence_t s_file = {s_restore, s_store, NULL};

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    account_t *a = *state = calloc(1, sizeof(account_t));
    char *key = NULL;
    bool restored = false;
    if (a == NULL) {
        return ACTORS_ENOMEM;
    }
    if (actors_args_count(args) != 3 ||
        actors_args_double(args, 0, &a->balance) ||
        actors_args_double(args, 1, &a->minimal) ||
        actors_args_strdup(args, 2, &key)) {
        return actors_actor_error(actor, "WrongArguments",
            "file_account takes balance minimal_balance account_key");
    }
    actors_err rc =
        actors_durable_open(&a->persistence, actor, &s_file, key, a, &restored);
    free(key);
    if (rc != ACTORS_OK || restored) {
        return rc;
    }
    if (a->balance < a->minimal) {
        return actors_actor_error(actor, "ValueError",
            "Starting balance is less then minimal balance");
    }
    return actors_durable_store(a->persistence);
}

static void
s_fini(void *state)
{
    actors_durable_destroy(&((account_t *)state)->persistence);
    free(state);
}

static actors_err
s_balance(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)args;
    account_t *a = state;
    return actors_durable_reply(ctx, a->persistence, "d", a->balance);
}

static actors_err
s_deposit(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    account_t *a = state;
    double amount = 0;
    if (actors_args_double(args, 0, &amount) || amount < 0) {
        return actors_ctx_error(
            ctx, "ValueError", "Can not deposit negative amount");
    }
    a->balance = a->balance + amount;
    return actors_durable_changed(ctx, a->persistence, "d", a->balance);
}

static actors_err
s_withdraw(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    account_t *a = state;
    double amount = 0;
    if (actors_args_double(args, 0, &amount) || amount < 0) {
        return actors_ctx_error(
            ctx, "ValueError", "Can not withdraw negative amount");
    }
    double balance = a->balance - amount;
    if (balance < a->minimal) {
        return actors_ctx_error(
            ctx, "ValueError", "Withdraw is not supported by current balance");
    }
    a->balance = balance;
    return actors_durable_changed(ctx, a->persistence, "d", a->balance);
}

static const actors_method_t s_methods[] = {
    {.name = "balance", .fn = s_balance},
    {.name = "deposit", .fn = s_deposit},
    {.name = "withdraw", .fn = s_withdraw},
    {.name = NULL},
};

static const actors_service_t s_account = {.name = "file_account",
    .methods = s_methods,
    .init = s_init,
    .fini = s_fini};

int
main(int argc, char **argv)
{
    return actors_service_main(&s_account, argc, argv);
}
