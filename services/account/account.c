/* services/account/account.c - the Ray tutorial's Account as an actor,
 * optionally persistent.
 * SPDX-License-Identifier: MIT
 *
 * State: a balance and a minimal balance (doubles, as Ray's floats).
 * Constructor: balance minimal_balance [account_key]; a balance below the
 * minimum fails with ValueError, as Ray's __init__ raises. Methods return
 * the new balance; a refused operation raises ValueError with Ray's
 * message and leaves the balance as it was. Amounts and balances stay
 * finite: an amount that is not, or a change that would overflow the
 * balance, is refused with ValueError too. Schema: schemas/account.json.
 *
 * Persistence (the seed's restorestate/storestate, event-sourced): with an
 * account_key the state lives in actors/persist.h under that key. Start:
 * the stored snapshot and journal are replayed and the balance arguments
 * ignored; with nothing stored, the arguments are checked and saved as the
 * first snapshot. Every deposit and withdrawal is journaled as the event
 * ["deposit"|"withdraw", amount] before it is applied, and acknowledged
 * only once durable: under the ALWAYS and NONE policies at once, under
 * GROUP the reply is deferred until the flush timer (group_ms) syncs the
 * journal; a balance() asked while changes wait for that flush waits with
 * them, so no reply ever shows a balance that a crash could take back.
 * Every snapshot_every events the state is snapshotted (the journal
 * compacted). A journal write that fails leaves the balance unchanged and
 * answers DiskFull when the storage is full (the record is not stored: the
 * caller may send the call again, with its key, once there is room) or
 * PersistenceError otherwise; a failed flush answers the waiting calls
 * the same way (DiskFull: persist.c cut their records off again) and
 * exits (status 1) so that a restart recovers the durable state. Policy
 * and backend come from the environment
 * (ACTORS_PERSIST_SYNC, ACTORS_SNAPSHOT_EVERY, ACTORS_STATE_DIR,
 * ACTORS_REDIS; docs/PERSISTENCE.md).
 *
 * Through the store service instead (ACTORS_ACCOUNT_STORE set; the seed's
 * Account with an injected FilePersistence): init restores the state with
 * a synchronous store.restore (the loop is not running yet), and every
 * change is applied and its whole new state sent with store.save; the
 * reply waits for that save's acknowledgment (saves of one key go to one
 * member and are acknowledged in order: a pool PREFIX:N is picked by the
 * key's hash, a group address is called with the key as its routing key).
 * A failed save answers the waiting
 * calls PersistenceError and exits (status 1), as a failed flush does;
 * never DiskFull, even when the store ran out of room: a later save in
 * flight carries the whole state, this change included, and may succeed.
 */
#include "account.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors/persist.h>

/* A reply owed until change seq is durable. */
typedef struct {
    actors_deferred_t *d; /* the deferred call */
    double balance;       /* its result */
    uint64_t seq;         /* the change it must wait for */
} s_owed_t;

typedef struct account account_t;

/* A save in flight to the store actor. */
typedef struct s_save {
    account_t *a;        /* owner */
    uint64_t seq;        /* the change it makes durable */
    actors_future_t *f;  /* the store's reply */
    struct s_save *next; /* a->saves list */
} s_save_t;

struct account {
    double balance;            /* current */
    double minimal;            /* never go below */
    actors_actor_t *actor;     /* for the flush timer and the client */
    actors_persist_t *persist; /* journal; NULL: none */
    char *key;                 /* account_key, or NULL */
    char store[256];           /* store actor address, or "" */
    bool restored;             /* stored state was found */
    uint64_t seq;              /* changes made */
    uint64_t durable;          /* changes durable */
    s_owed_t *owed;            /* replies waiting, seq ascending */
    size_t n_owed;             /* entries in owed */
    size_t cap_owed;           /* capacity of owed */
    bool flush_armed;          /* the flush timer is set */
    s_save_t *saves;           /* saves in flight to the store */
};

/* s_amount reads the one finite number a method takes. A number that is
 * not finite is a number of the right type with a wrong value (Python's
 * ValueError); anything else is the wrong arguments. */
static actors_err
s_amount(actors_ctx_t *ctx, const msgpack_object *args, double *amount)
{
    if (actors_args_count(args) != 1 ||
        actors_args_double(args, 0, amount) != ACTORS_OK) {
        return actors_ctx_error(ctx, "WrongArguments",
            "%s takes one number: the amount", actors_ctx_method(ctx));
    }
    if (!isfinite(*amount)) {
        return actors_ctx_error(
            ctx, "ValueError", "amount must be a finite number");
    }
    return ACTORS_OK;
}

/* s_finite_balance refuses a change whose new balance is not finite: an
 * infinite balance could never be brought back by any amount. */
static actors_err
s_finite_balance(actors_ctx_t *ctx, double balance)
{
    if (!isfinite(balance)) {
        return actors_ctx_error(
            ctx, "ValueError", "the balance would overflow");
    }
    return ACTORS_OK;
}

/* s_failure_type names a failure of the account's own journal for its
 * caller: DiskFull when the storage is full (persist.h: nothing of the
 * change is stored), else PersistenceError. */
static const char *
s_failure_type(actors_err rc)
{
    return rc == ACTORS_ENOSPACE ? actors_err_name(rc) : "PersistenceError";
}

/* ---------------------------------------------------------------- recovery */

static actors_err
s_on_snapshot(void *arg, const msgpack_object *state)
{
    account_t *a = arg;
    if (actors_map_double(state, "balance", &a->balance) != ACTORS_OK ||
        actors_map_double(state, "minimal", &a->minimal) != ACTORS_OK) {
        return ACTORS_EMSGPACK;
    }
    a->restored = true;
    return ACTORS_OK;
}

/* s_apply applies a journaled event ["deposit"|"withdraw", amount]. */
static actors_err
s_on_event(void *arg, uint64_t seq, const msgpack_object *ev)
{
    (void)seq;
    account_t *a = arg;
    const char *op = NULL;
    size_t op_len = 0;
    double amount = 0;
    if (actors_args_count(ev) != 2 ||
        actors_args_str(ev, 0, &op, &op_len) != ACTORS_OK ||
        actors_args_double(ev, 1, &amount) != ACTORS_OK) {
        return ACTORS_EMSGPACK;
    }
    if (op_len == 7 && memcmp(op, "deposit", 7) == 0) {
        a->balance += amount;
    } else if (op_len == 8 && memcmp(op, "withdraw", 8) == 0) {
        a->balance -= amount;
    } else {
        return ACTORS_EMSGPACK;
    }
    a->restored = true;
    return ACTORS_OK;
}

/* s_state_msg builds the whole state {"balance", "minimal"}. */
static actors_err
s_state_msg(const account_t *a, actors_msg_t **out)
{
    return actors_msg_build(
        out, "{sdsd}", "balance", a->balance, "minimal", a->minimal);
}

/* s_snapshot stores the whole state in the journal's snapshot. */
static actors_err
s_snapshot(account_t *a)
{
    actors_msg_t *m = NULL;
    actors_err rc = s_state_msg(a, &m);
    if (rc == ACTORS_OK) {
        rc = actors_persist_snapshot(
            a->persist, actors_msg_data(m), actors_msg_size(m));
    }
    actors_msg_destroy(&m);
    return rc;
}

static actors_err
s_open_journal(actors_actor_t *actor, account_t *a)
{
    actors_persist_opts_t o = ACTORS_PERSIST_OPTS_INIT;
    if (actors_persist_opts_from_env(&o) != ACTORS_OK) {
        return actors_actor_error(actor, "WrongArguments",
            "ACTORS_PERSIST_SYNC must be always, none, group or group:MS, "
            "ACTORS_SNAPSHOT_EVERY a positive count");
    }
    actors_err rc = actors_persist_open(&a->persist, a->key, &o);
    if (rc == ACTORS_ELOCKED) {
        /* Another live process writes this key: this one must not. As
         * KeyLocked the process exits ACTORS_EXIT_KEY_LOCKED and its
         * supervisor does not restart it (the state has a live owner
         * elsewhere). */
        return actors_actor_error(actor, "KeyLocked",
            "the state of account key '%s' is held by another live process "
            "(its directory is locked; see PST-LOCKED); not starting",
            a->key);
    }
    if (rc != ACTORS_OK) {
        return actors_actor_error(actor, s_failure_type(rc),
            "cannot open the state of account key '%s': %s", a->key,
            actors_strerror(rc));
    }
    rc = actors_persist_recover(a->persist, s_on_snapshot, s_on_event, a);
    if (rc != ACTORS_OK) {
        return actors_actor_error(actor, s_failure_type(rc),
            "cannot recover the state of account key '%s': %s", a->key,
            actors_strerror(rc));
    }
    return ACTORS_OK;
}

/* s_store_address picks the store actor from ACTORS_ACCOUNT_STORE: an
 * address ("store/2"), or "PREFIX:N" for a pool PREFIX/1..PREFIX/N, the
 * member chosen by the FNV-1a hash of the key (one key, one member, so its
 * saves stay in order). Returns false for a malformed value. */
static bool
s_store_address(account_t *a, const char *spec)
{
    const char *colon = strrchr(spec, ':');
    if (colon == NULL) {
        return strlen(spec) > 0 && strlen(spec) < sizeof a->store &&
               snprintf(a->store, sizeof a->store, "%s", spec) > 0;
    }
    char *end = NULL;
    long n = strtol(colon + 1, &end, 10);
    if (colon == spec || *end != '\0' || n < 1 || n > 1000 ||
        (size_t)(colon - spec) > sizeof a->store - 8) {
        return false;
    }
    uint32_t h = 2166136261u;
    for (const char *k = a->key; *k; k++) {
        h = (h ^ (unsigned char)*k) * 16777619u;
    }
    snprintf(a->store, sizeof a->store, "%.*s/%ld", (int)(colon - spec), spec,
        (long)(h % (uint32_t)n) + 1);
    return true;
}

/* s_store_call calls the store synchronously (init only: the loop is not
 * running yet, so nothing else waits). */
static actors_err
s_store_call(account_t *a, const char *method, actors_msg_t **args_p,
    actors_future_t **out)
{
    actors_call_opts_t o = ACTORS_CALL_OPTS_INIT;
    o.timeout_ms = 5000;
    o.route = a->key; /* a group of stores: one key, one member */
    o.route_len = strlen(a->key);
    actors_err rc = actors_client_call(
        actors_actor_client(a->actor), a->store, method, args_p, &o, out);
    if (rc == ACTORS_OK) {
        rc = actors_future_get(*out, 6000, NULL);
    }
    return rc;
}

/* s_open_remote restores the state from the store actor (the seed's
 * restorestate through FilePersistence). */
static actors_err
s_open_remote(actors_actor_t *actor, account_t *a)
{
    actors_msg_t *args = NULL;
    actors_future_t *f = NULL;
    actors_err rc = actors_msg_build(&args, "s", a->key);
    if (rc == ACTORS_OK) {
        rc = s_store_call(a, "restore", &args, &f);
    }
    actors_msg_destroy(&args);
    const actors_error_t *err = f != NULL ? actors_future_error(f) : NULL;
    if (rc == ACTORS_EAPP && err != NULL &&
        strcmp(actors_error_type(err), "KeyError") == 0) {
        rc = ACTORS_OK; /* nothing saved yet */
    } else if (rc == ACTORS_OK) {
        rc = s_on_snapshot(a, actors_future_result(f));
    }
    if (rc != ACTORS_OK) {
        rc = actors_actor_error(actor, "PersistenceError",
            "cannot restore account key '%s' from %s: %s", a->key, a->store,
            err != NULL ? actors_error_message(err) : actors_strerror(rc));
    }
    actors_future_destroy(&f);
    return rc;
}

/* s_first_save stores the initial state (the seed's first storestate). */
static actors_err
s_first_save(actors_actor_t *actor, account_t *a)
{
    actors_err rc = ACTORS_OK;
    if (a->persist != NULL) {
        rc = s_snapshot(a);
    } else if (a->store[0] != '\0') {
        actors_msg_t *args = NULL;
        actors_future_t *f = NULL;
        rc = actors_msg_build(&args, "s{sdsd}", a->key, "balance", a->balance,
            "minimal", a->minimal);
        if (rc == ACTORS_OK) {
            rc = s_store_call(a, "save", &args, &f);
        }
        actors_msg_destroy(&args);
        actors_future_destroy(&f);
    }
    if (rc != ACTORS_OK) {
        rc = actors_actor_error(actor,
            a->persist != NULL ? s_failure_type(rc) : "PersistenceError",
            "cannot store the state of account key '%s': %s", a->key,
            actors_strerror(rc));
    }
    return rc;
}

static void
s_fini(void *state)
{
    account_t *a = state;
    if (a == NULL) {
        return;
    }
    /* Owed deferred replies belong to the runtime, which drops them at
     * shutdown; only the array is ours. Saves in flight are abandoned
     * (unacknowledged: they may or may not have been stored). */
    while (a->saves != NULL) {
        s_save_t *s = a->saves;
        a->saves = s->next;
        actors_future_destroy(&s->f);
        free(s);
    }
    actors_persist_destroy(&a->persist);
    free(a->key);
    free(a->owed);
    free(a);
}

static actors_err
s_init(actors_actor_t *actor, const msgpack_object *args, void **state)
{
    double balance = 0;
    double minimal = 0;
    size_t n = actors_args_count(args);
    const char *key = NULL;
    size_t key_len = 0;
    if ((n != 2 && n != 3) ||
        actors_args_double(args, 0, &balance) != ACTORS_OK ||
        actors_args_double(args, 1, &minimal) != ACTORS_OK ||
        !isfinite(balance) || !isfinite(minimal) ||
        (n == 3 && (actors_args_str(args, 2, &key, &key_len) != ACTORS_OK ||
                       key_len == 0 || key_len > 200 ||
                       memchr(key, '\0', key_len) != NULL))) {
        return actors_actor_error(actor, "WrongArguments",
            "account takes two numbers and an optional key: balance "
            "minimal_balance [account_key]");
    }
    account_t *a = calloc(1, sizeof *a);
    if (a == NULL) {
        return ACTORS_ENOMEM;
    }
    a->actor = actor;
    actors_err rc = ACTORS_OK;
    if (n == 3) {
        a->key = strndup(key, key_len);
        if (a->key == NULL) {
            s_fini(a);
            return ACTORS_ENOMEM;
        }
        const char *spec = getenv("ACTORS_ACCOUNT_STORE");
        if (spec != NULL && spec[0] != '\0') {
            rc = s_store_address(a, spec)
                     ? s_open_remote(actor, a)
                     : actors_actor_error(actor, "WrongArguments",
                           "ACTORS_ACCOUNT_STORE must be an address or "
                           "PREFIX:N");
        } else {
            rc = s_open_journal(actor, a);
        }
    }
    if (rc == ACTORS_OK && !a->restored) {
        if (balance < minimal) {
            rc = actors_actor_error(actor, "ValueError",
                "Starting balance is less then minimal balance");
        } else {
            a->balance = balance;
            a->minimal = minimal;
            if (a->key != NULL) {
                rc = s_first_save(actor, a);
            }
        }
    }
    if (rc != ACTORS_OK) {
        s_fini(a);
        return rc;
    }
    *state = a;
    return ACTORS_OK;
}

/* ---------------------------------------------------------------- replies */

/* s_pay answers the owed replies whose change is durable, in order; with
 * failed set, answers all of them the error type instead, why (NULL: the
 * code's text) saying what failed. */
static void
s_pay(account_t *a, actors_err failed, const char *type, const char *why)
{
    size_t i = 0;
    for (;
         i < a->n_owed && (failed != ACTORS_OK || a->owed[i].seq <= a->durable);
         i++) {
        if (failed != ACTORS_OK) {
            actors_deferred_error(&a->owed[i].d, type,
                "the change could not be made durable: %s",
                why != NULL ? why : actors_strerror(failed));
            continue;
        }
        actors_msg_t *v = NULL;
        if (actors_msg_build(&v, "d", a->owed[i].balance) == ACTORS_OK) {
            actors_deferred_reply(&a->owed[i].d, &v);
        } else {
            actors_deferred_error(
                &a->owed[i].d, "OutOfMemory", "out of memory");
        }
        actors_msg_destroy(&v);
    }
    memmove(a->owed, a->owed + i, (a->n_owed - i) * sizeof *a->owed);
    a->n_owed -= i;
    if (failed != ACTORS_OK) {
        /* Memory holds changes the storage may not: restart from it. */
        actors_actor_exit(a->actor, 1);
    }
}

/* s_flush syncs the journal and pays every owed reply (timer callback). */
static void
s_flush(actors_actor_t *actor, void *arg)
{
    (void)actor;
    account_t *a = arg;
    a->flush_armed = false;
    actors_err rc = actors_persist_flush(a->persist);
    if (rc == ACTORS_OK) {
        a->durable = a->seq;
    }
    s_pay(a, rc, s_failure_type(rc), NULL);
}

/* s_reply answers with balance once every change so far is durable. */
static actors_err
s_reply(actors_ctx_t *ctx, account_t *a, double balance)
{
    /* Replies keep their order: none overtakes one still owed. */
    if ((a->durable >= a->seq && a->n_owed == 0) || actors_ctx_is_tell(ctx)) {
        return actors_ctx_reply_double(ctx, balance);
    }
    if (a->n_owed == a->cap_owed) {
        size_t cap = a->cap_owed ? 2 * a->cap_owed : 16;
        s_owed_t *o = realloc(a->owed, cap * sizeof *o);
        if (o == NULL) {
            return ACTORS_ENOMEM;
        }
        a->owed = o;
        a->cap_owed = cap;
    }
    if (a->persist != NULL && !a->flush_armed) {
        actors_err rc = actors_actor_timer_add(a->actor,
            actors_persist_group_ms(a->persist), false, s_flush, a, NULL);
        if (rc != ACTORS_OK) {
            return rc;
        }
        a->flush_armed = true;
    }
    actors_deferred_t *d = NULL;
    actors_err rc = actors_ctx_defer(ctx, &d);
    if (rc != ACTORS_OK) {
        return rc;
    }
    a->owed[a->n_owed].d = d;
    a->owed[a->n_owed].balance = balance;
    a->owed[a->n_owed].seq = a->seq;
    a->n_owed++;
    return ACTORS_OK;
}

/* s_saved: the store answered a save (in order: one caller, one address). */
static void
s_saved(actors_future_t *f, void *arg)
{
    s_save_t *s = arg;
    account_t *a = s->a;
    const actors_error_t *err = actors_future_error(f);
    actors_err rc = err == NULL ? ACTORS_OK : actors_error_code(err);
    char why[320] = "";
    if (err != NULL) {
        snprintf(why, sizeof why, "%s answered %s: %s", a->store,
            actors_error_type(err), actors_error_message(err));
    }
    if (rc == ACTORS_OK && s->seq > a->durable) {
        a->durable = s->seq;
    }
    for (s_save_t **p = &a->saves; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    actors_future_destroy(&s->f);
    free(s);
    s_pay(a, rc, "PersistenceError", why);
}

/* s_store_save sends the new state to the store; its reply makes change
 * a->seq durable. */
static actors_err
s_store_save(account_t *a)
{
    s_save_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return ACTORS_ENOMEM;
    }
    s->a = a;
    s->seq = a->seq;
    actors_msg_t *args = NULL;
    actors_err rc = actors_msg_build(
        &args, "s{sdsd}", a->key, "balance", a->balance, "minimal", a->minimal);
    if (rc == ACTORS_OK) {
        /* The key routes the save: to a group of stores (PROTOCOL.md,
         * "Groups") every save of one key goes to one member, in order. */
        actors_call_opts_t o = ACTORS_CALL_OPTS_INIT;
        o.route = a->key;
        o.route_len = strlen(a->key);
        rc = actors_client_call(
            actors_actor_client(a->actor), a->store, "save", &args, &o, &s->f);
    }
    actors_msg_destroy(&args);
    if (rc != ACTORS_OK) {
        free(s);
        return rc;
    }
    s->next = a->saves;
    a->saves = s;
    actors_future_on_done(s->f, s_saved, s);
    return ACTORS_OK;
}

/* s_replayed answers a call whose key the journal has already applied
 * with the result recorded then (the balance right after it), and sets
 * *done. A call without a key, or an account without a journal, is never
 * a replay (the store keeps no window). */
static actors_err
s_replayed(actors_ctx_t *ctx, account_t *a, bool *done)
{
    *done = false;
    const void *key = NULL;
    size_t key_len = 0;
    const void *res = NULL;
    size_t res_len = 0;
    if (a->persist == NULL || !actors_ctx_call_key(ctx, &key, &key_len) ||
        !actors_persist_lookup(a->persist, key, key_len, &res, &res_len)) {
        return ACTORS_OK;
    }
    actors_decoded_t *rec = NULL;
    double balance = 0;
    bool ok =
        actors_decoded_create(&rec, res, res_len) == ACTORS_OK &&
        actors_value_double(actors_decoded_root(rec), &balance) == ACTORS_OK;
    actors_decoded_destroy(&rec);
    *done = true;
    if (!ok) {
        return actors_ctx_error(ctx, "PersistenceError",
            "the recorded result of this call cannot be read");
    }
    ACTORS_LOG(ACTORS_LOG_DEBUG, "ACC-REPLAYED",
        "%s already applied; answered from the journal",
        actors_ctx_method(ctx));
    /* The record may still wait for its group flush: s_reply waits for
     * every change so far, which includes it. */
    return s_reply(ctx, a, balance);
}

/* s_change records op(amount), which takes the balance to balance, and
 * applies it: journal first (then apply), or apply then send the state to
 * the store. The journal record carries the call's key and its result, so
 * a re-delivery is answered by s_replayed. Returns an error reply
 * (balance unchanged) if it cannot. */
static actors_err
s_change(actors_ctx_t *ctx, account_t *a, const char *op, double amount,
    double balance)
{
    actors_err rc = ACTORS_OK;
    if (a->persist != NULL) {
        const void *key = NULL;
        size_t key_len = 0;
        (void)actors_ctx_call_key(ctx, &key, &key_len);
        actors_msg_t *ev = NULL;
        actors_msg_t *res = NULL;
        rc = actors_msg_build(&ev, "[sd]", op, amount);
        if (rc == ACTORS_OK) {
            rc = actors_msg_build(&res, "d", balance);
        }
        if (rc == ACTORS_OK) {
            rc = actors_persist_append(a->persist, key, key_len,
                actors_msg_data(ev), actors_msg_size(ev), actors_msg_data(res),
                actors_msg_size(res), NULL);
        }
        actors_msg_destroy(&ev);
        actors_msg_destroy(&res);
    }
    if (rc != ACTORS_OK) {
        /* Not applied, and (DiskFull) provably not stored: the caller may
         * send it again, with the same key, once there is room. */
        return actors_ctx_error(ctx, s_failure_type(rc),
            "the %s could not be journaled: %s; nothing was applied", op,
            actors_strerror(rc));
    }
    double before = a->balance;
    a->balance = balance;
    a->seq++;
    if (a->persist != NULL) {
        if (actors_persist_durable(
                a->persist, actors_persist_last_seq(a->persist))) {
            a->durable = a->seq;
        }
        if (actors_persist_snapshot_due(a->persist)) {
            /* A failed snapshot is not the caller's problem: the journal
             * still has everything. */
            rc = s_snapshot(a);
            if (rc != ACTORS_OK) {
                ACTORS_LOG(ACTORS_LOG_WARN, "ACC-SNAPSHOT",
                    "snapshot failed (%s); the journal keeps growing",
                    actors_err_name(rc));
            } else {
                a->durable = a->seq;
            }
        }
    } else if (a->store[0] != '\0') {
        rc = s_store_save(a);
        if (rc != ACTORS_OK) {
            a->balance = before;
            a->seq--;
            return actors_ctx_error(ctx, "PersistenceError",
                "the %s could not be sent to %s: %s", op, a->store,
                actors_strerror(rc));
        }
    } else {
        a->durable = a->seq; /* in memory: nothing to wait for */
    }
    return ACTORS_OK;
}

/* ---------------------------------------------------------------- methods */

static actors_err
s_balance(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    account_t *a = state;
    if (actors_args_count(args) != 0) {
        return actors_ctx_error(
            ctx, "WrongArguments", "balance takes no arguments");
    }
    return s_reply(ctx, a, a->balance);
}

static actors_err
s_deposit(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    account_t *a = state;
    bool replayed = false;
    actors_err rc = s_replayed(ctx, a, &replayed);
    if (replayed) {
        return rc;
    }
    double amount = 0;
    rc = s_amount(ctx, args, &amount);
    if (rc != ACTORS_OK) {
        return rc;
    }
    if (amount < 0) {
        return actors_ctx_error(
            ctx, "ValueError", "Can not deposit negative amount");
    }
    double balance = a->balance + amount;
    rc = s_finite_balance(ctx, balance);
    if (rc != ACTORS_OK) {
        return rc;
    }
    rc = s_change(ctx, a, "deposit", amount, balance);
    if (rc != ACTORS_OK) {
        return rc;
    }
    return s_reply(ctx, a, a->balance);
}

static actors_err
s_withdraw(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    account_t *a = state;
    bool replayed = false;
    actors_err rc = s_replayed(ctx, a, &replayed);
    if (replayed) {
        return rc;
    }
    double amount = 0;
    rc = s_amount(ctx, args, &amount);
    if (rc != ACTORS_OK) {
        return rc;
    }
    if (amount < 0) {
        return actors_ctx_error(
            ctx, "ValueError", "Can not withdraw negative amount");
    }
    double balance = a->balance - amount;
    rc = s_finite_balance(ctx, balance);
    if (rc != ACTORS_OK) {
        return rc;
    }
    if (balance < a->minimal) {
        return actors_ctx_error(
            ctx, "ValueError", "Withdraw is not supported by current balance");
    }
    rc = s_change(ctx, a, "withdraw", amount, balance);
    if (rc != ACTORS_OK) {
        return rc;
    }
    return s_reply(ctx, a, a->balance);
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
