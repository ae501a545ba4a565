/* services/loader/loader.c - the loading stage of the Pykka pipeline, and
 * the pipeline itself chained with futures.
 * SPDX-License-Identifier: MIT
 *
 * The seed's DataLoaderActor: load_data(path) reads a table from a file
 * and returns it: an array of rows, each an array of numbers or null
 * (missing). The file is JSON (read with the project's JSON library, as
 * no CSV library is at hand): [[1, 2], [3, null], ...].
 *
 * pipeline(path, preprocessor, model) is the seed's main: it loads the
 * table, then asks the preprocessor actor to preprocess it and, chained
 * on that future (actors_future_then, Pykka's add_callback), the model
 * actor to apply the model, and answers with the predictions. The reply
 * is deferred: the loop serves other calls while the two stages run, and
 * an error of either stage (or an actor that is not there) reaches the
 * caller as is. So the pipeline is one call from C or from the shell:
 *
 *     actorctl call loader/1 pipeline data.json preprocessor/1 model/1
 *
 * Single-threaded: the jobs in flight are the loop's. Schema:
 * schemas/loader.json.
 */
#include "loader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_MAX (16u << 20) /* bytes of one table file */

/* s_read reads the file at path (NUL-terminated, *out freed by the
 * caller); an error is set on ctx. */
static actors_err
s_read(actors_ctx_t *ctx, const char *path, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = f ? EISDIR : errno;
        if (f != NULL) {
            fclose(f);
        }
        return actors_ctx_error(
            ctx, "FileNotFoundError", "%s: %s", path, strerror(e));
    }
    if ((uint64_t)st.st_size > FILE_MAX) {
        fclose(f);
        return actors_ctx_error(ctx, "ValueError",
            "%s: %lld bytes, more than %u", path, (long long)st.st_size,
            FILE_MAX);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return ACTORS_ENOMEM;
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    return ACTORS_OK;
}

/* s_load reads the table at path into a new builder *out (one value). */
static actors_err
s_load(actors_ctx_t *ctx, const msgpack_object *args, actors_msg_t **out)
{
    char path[4096];
    const char *p = NULL;
    size_t len = 0;
    *out = NULL;
    if (actors_args_str(args, 0, &p, &len) != ACTORS_OK || len == 0 ||
        len >= sizeof path) {
        return actors_ctx_error(ctx, "WrongArguments",
            "%s(path, ...): path is a string", actors_ctx_method(ctx));
    }
    memcpy(path, p, len);
    path[len] = '\0';
    ACTORS_LOG(ACTORS_LOG_INFO, "LOADER-LOAD", "Loading data from %s", path);
    char *text = NULL;
    actors_err rc = s_read(ctx, path, &text);
    if (rc != ACTORS_OK) {
        return rc;
    }
    char why[256] = "";
    rc = actors_msg_create(out);
    if (rc == ACTORS_OK) {
        rc = actors_json_add(*out, text, why, sizeof why);
    }
    free(text);
    if (rc == ACTORS_EINVAL) {
        actors_msg_destroy(out);
        return actors_ctx_error(
            ctx, "ValueError", "%s is not a JSON table: %s", path, why);
    }
    if (rc != ACTORS_OK) {
        actors_msg_destroy(out);
    }
    return rc;
}

/* load_data(path): the table in the file. */
static actors_err
s_load_data(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    if (actors_args_count(args) != 1) {
        return actors_ctx_error(ctx, "WrongArguments", "load_data(path)");
    }
    actors_msg_t *table = NULL;
    actors_err rc = s_load(ctx, args, &table);
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply(ctx, &table);
    }
    actors_msg_destroy(&table);
    return rc;
}

/* One pipeline call in flight. */
typedef struct {
    actors_actor_t *actor;
    actors_deferred_t *reply;            /* the caller's, owed */
    char model[ACTORS_CALL_KEY_MAX + 1]; /* the model's address */
    actors_future_t *pre;                /* preprocessor.preprocess */
    actors_future_t *out;                /* ... then model.apply_model */
} job_t;

/* s_to_model: the preprocessed table goes to the model (a continuation:
 * runs on the loop when the preprocessor answers). */
static actors_err
s_to_model(const msgpack_object *result, void *arg, actors_future_t **next)
{
    job_t *job = arg;
    actors_msg_t *args = NULL;
    actors_err rc = actors_msg_build(&args, "o", result);
    if (rc == ACTORS_OK) {
        rc = actors_client_call(actors_actor_client(job->actor), job->model,
            "apply_model", &args, NULL, next);
    }
    actors_msg_destroy(&args);
    return rc;
}

/* s_done: the chain resolved: its outcome is the caller's reply. */
static void
s_done(actors_future_t *f, void *arg)
{
    job_t *job = arg;
    actors_deferred_forward(&job->reply, f);
    actors_future_destroy(&job->pre);
    actors_future_destroy(&job->out);
    free(job);
}

/* pipeline(path, preprocessor, model): model(preprocessor(load(path))). */
static actors_err
s_pipeline(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    const char *pre = NULL;
    const char *model = NULL;
    size_t pre_len = 0;
    size_t model_len = 0;
    if (actors_args_count(args) != 3 ||
        actors_args_str(args, 1, &pre, &pre_len) != ACTORS_OK ||
        actors_args_str(args, 2, &model, &model_len) != ACTORS_OK ||
        pre_len == 0 || pre_len > 255 || model_len == 0 || model_len > 255) {
        return actors_ctx_error(ctx, "WrongArguments",
            "pipeline(path, preprocessor, model): three strings, the "
            "addresses of at most 255 bytes");
    }
    actors_msg_t *table = NULL;
    actors_err rc = s_load(ctx, args, &table);
    if (rc != ACTORS_OK) {
        return rc;
    }
    job_t *job = calloc(1, sizeof *job);
    if (job == NULL) {
        actors_msg_destroy(&table);
        return ACTORS_ENOMEM;
    }
    job->actor = actors_ctx_actor(ctx);
    memcpy(job->model, model, model_len);
    char pre_addr[256];
    memcpy(pre_addr, pre, pre_len);
    pre_addr[pre_len] = '\0';
    actors_client_t *client = actors_actor_client(job->actor);
    rc = actors_client_call(
        client, pre_addr, "preprocess", &table, NULL, &job->pre);
    if (rc == ACTORS_OK) {
        rc = actors_future_then(job->pre, s_to_model, job, &job->out);
    }
    if (rc == ACTORS_OK) {
        rc = actors_ctx_defer(ctx, &job->reply);
    }
    if (rc != ACTORS_OK) {
        actors_msg_destroy(&table);
        actors_future_destroy(&job->pre);
        actors_future_destroy(&job->out);
        free(job);
        return rc;
    }
    /* Runs s_done at once if the chain already failed. */
    actors_future_on_done(job->out, s_done, job);
    return ACTORS_OK;
}

static const actors_method_t s_methods[] = {
    {"load_data", s_load_data, NULL},
    {"pipeline", s_pipeline, NULL},
    {NULL, NULL, NULL},
};

const actors_service_t loader_service = {
    .name = "loader",
    .methods = s_methods,
};
