/* services/preprocessor/preprocessor.c - the preprocessing stage of the
 * Pykka pipeline. SPDX-License-Identifier: MIT
 *
 * The seed's DataPreprocessorActor: preprocess(data) drops the rows with a
 * missing value (nil; pandas' dropna) and standardises every column:
 * (x - mean) / std, with the sample standard deviation (pandas' std,
 * ddof=1). A column whose values are all equal (std 0), or a table of one
 * row, has nothing to scale: its values become 0.0 where pandas would give
 * NaN. data is an array of rows, each an array of numbers or nil, all rows
 * as long as the first; the result is an array of rows of doubles.
 * Single-threaded and stateless. Schema: schemas/preprocessor.json.
 */
#include "preprocessor.h"

#include <math.h>
#include <stdlib.h>

#define COLS_MAX 4096 /* columns of one table */

static actors_err
s_preprocess(actors_ctx_t *ctx, const msgpack_object *args, void *state)
{
    (void)state;
    const msgpack_object *data = actors_args_at(args, 0);
    if (actors_args_count(args) != 1 || data == NULL ||
        data->type != MSGPACK_OBJECT_ARRAY) {
        return actors_ctx_error(ctx, "WrongArguments",
            "preprocess(data): data is an array of rows of numbers or nil");
    }
    const msgpack_object_array *rows = &data->via.array;
    uint32_t ncols = 0;
    if (rows->size > 0) {
        if (rows->ptr[0].type != MSGPACK_OBJECT_ARRAY ||
            rows->ptr[0].via.array.size > COLS_MAX) {
            return actors_ctx_error(ctx, "WrongArguments",
                "row 0 is not an array of at most %d values", COLS_MAX);
        }
        ncols = rows->ptr[0].via.array.size;
    }
    /* Check every row; keep those without a missing value. */
    bool *keep = calloc(rows->size ? rows->size : 1, sizeof *keep);
    double *sum = calloc(ncols ? ncols : 1, sizeof *sum);
    double *sq = calloc(ncols ? ncols : 1, sizeof *sq);
    if (keep == NULL || sum == NULL || sq == NULL) {
        free(keep);
        free(sum);
        free(sq);
        return ACTORS_ENOMEM;
    }
    actors_err rc = ACTORS_OK;
    uint32_t kept = 0;
    for (uint32_t r = 0; rc == ACTORS_OK && r < rows->size; r++) {
        const msgpack_object *row = &rows->ptr[r];
        if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size != ncols) {
            rc = actors_ctx_error(ctx, "WrongArguments",
                "row %u is not an array of %u values", r, ncols);
            break;
        }
        keep[r] = true;
        for (uint32_t c = 0; c < ncols; c++) {
            const msgpack_object *v = &row->via.array.ptr[c];
            double d = 0;
            if (v->type == MSGPACK_OBJECT_NIL) {
                keep[r] = false;
            } else if (actors_value_double(v, &d) != ACTORS_OK ||
                       !isfinite(d)) {
                rc = actors_ctx_error(ctx, "WrongArguments",
                    "row %u column %u is not a number or nil", r, c);
                break;
            }
        }
        if (rc == ACTORS_OK && keep[r]) {
            kept++;
            for (uint32_t c = 0; c < ncols; c++) {
                double d = 0;
                actors_value_double(&row->via.array.ptr[c], &d);
                sum[c] += d;
            }
        }
    }
    /* Mean, then the sample variance around it (two passes: exact). */
    for (uint32_t c = 0; rc == ACTORS_OK && c < ncols; c++) {
        sum[c] = kept ? sum[c] / kept : 0; /* the mean from here on */
    }
    for (uint32_t r = 0; rc == ACTORS_OK && r < rows->size; r++) {
        for (uint32_t c = 0; keep[r] && c < ncols; c++) {
            double d = 0;
            actors_value_double(&rows->ptr[r].via.array.ptr[c], &d);
            sq[c] += (d - sum[c]) * (d - sum[c]);
        }
    }
    actors_msg_t *out = NULL;
    if (rc == ACTORS_OK) {
        rc = actors_msg_create(&out);
    }
    if (rc == ACTORS_OK) {
        rc = actors_msg_add_array(out, kept);
    }
    for (uint32_t r = 0; rc == ACTORS_OK && r < rows->size; r++) {
        if (!keep[r]) {
            continue;
        }
        rc = actors_msg_add_array(out, ncols);
        for (uint32_t c = 0; rc == ACTORS_OK && c < ncols; c++) {
            double d = 0;
            actors_value_double(&rows->ptr[r].via.array.ptr[c], &d);
            double sd = kept > 1 ? sqrt(sq[c] / (kept - 1)) : 0;
            rc = actors_msg_add_double(out, sd > 0 ? (d - sum[c]) / sd : 0.0);
        }
    }
    if (rc == ACTORS_OK) {
        rc = actors_ctx_reply(ctx, &out);
    }
    actors_msg_destroy(&out);
    free(keep);
    free(sum);
    free(sq);
    return rc;
}

static const actors_method_t s_methods[] = {
    {"preprocess", s_preprocess, NULL},
    {NULL, NULL, NULL},
};

const actors_service_t preprocessor_service = {
    .name = "preprocessor",
    .methods = s_methods,
};
