/* services/model/model.c - the model stage of the Pykka pipeline.
 * SPDX-License-Identifier: MIT
 *
 * The seed's ModelActor: apply_model(data) is a placeholder model, the sum
 * of each row (pandas' data.sum(axis=1)). data is an array of rows, each an
 * array of numbers; the result is an array of doubles, one per row.
 * Single-threaded and stateless. Schema: schemas/model.json.
 */
#include "model.h"

static actors_err
s_apply_model(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    const msgpack_object *data = actors_args_at(args, 0);
    if (actors_args_count(args) != 1 || data == NULL ||
        data->type != MSGPACK_OBJECT_ARRAY) {
        return actors_ctx_error(ctx, "WrongArguments",
            "apply_model(data): data is an array of rows of numbers");
    }
    actors_msg_t *out = NULL;
    actors_err rc = actors_msg_create(&out);
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_array(out, data->via.array.size);
    }
    for (uint32_t r = 0; rc == ACTORS_OK && r < data->via.array.size; r++) {
        const msgpack_object *row = &data->via.array.ptr[r];
        if (row->type != MSGPACK_OBJECT_ARRAY) {
            actors_msg_destroy(&out);
            return actors_ctx_error(
                ctx, "WrongArguments", "row %u is not an array", r);
        }
        double sum = 0;
        for (uint32_t c = 0; c < row->via.array.size; c++) {
            double v = 0;
            if (actors_value_double(&row->via.array.ptr[c], &v) != ACTORS_OK) {
                actors_msg_destroy(&out);
                return actors_ctx_error(ctx, "WrongArguments",
                    "row %u column %u is not a number", r, c);
            }
            sum += v;
        }
        rc = actors_msg_add_double(out, sum);
    }
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply(ctx, &out);
    }
    actors_msg_destroy(&out);
    return rc;
}

static const actors_method_t s_methods[] = {
    {"apply_model", s_apply_model, NULL},
    {NULL, NULL, NULL},
};

const actors_service_t model_service = {
    .name = "model",
    .methods = s_methods,
};
