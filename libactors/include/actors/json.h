/* libactors/include/actors/json.h - JSON <-> msgpack for shells and configs.
 * SPDX-License-Identifier: MIT
 *
 * actorctl arguments and service constructor arguments are JSON on the
 * command line; results are printed as JSON. Parsing is done by jansson.
 * Mapping: null/true/false/integer/real/string/array/object map to the
 * msgpack types of the same name; a msgpack bin prints as a base64-free
 * {"$bin": "<hex>"} object, an ext as {"$ext": [type, "<hex>"]}.
 *
 * Doubles that are not finite have no JSON form; they print as Python's
 * json module prints them, NaN, Infinity and -Infinity (never null, which
 * would pass for a missing value). A strict JSON parser refuses those
 * words; Python's json.loads and actors_json_add read them back.
 *
 * Map keys that are not strings: JSON keys must be strings, so such a key
 * prints as one JSON string holding the key's compact JSON text, with one
 * difference inside that text: keys that are not strings appear there as
 * their own text, unquoted. {1: 2} prints {"1":2}; a map keyed by the map
 * {1: nil} prints {"{1:null}":2}; by ["a"], {"[\"a\"]":2}. Each key is
 * escaped once, so the output stays linear in the size of the input
 * (quoting keys inside keys would double it with every level).
 * Thread: any.
 */
#ifndef ACTORS_JSON_H
#define ACTORS_JSON_H

#include <stddef.h>

#include <actors/error.h>
#include <actors/export.h>
#include <actors/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* actors_json_add parses one JSON value (text; a bare word that is not
 * valid JSON, such as hello, is taken as the string "hello", so shells
 * need no extra quoting) and appends it to msg. The whole text Infinity,
 * -Infinity or NaN is that double, as actors_json_dump prints it (inside
 * an array or object those words are not JSON: EINVAL); an integer above
 * INT64_MAX that fits a uint64 is a uint64.
 * Returns ACTORS_OK, ACTORS_EINVAL for text that is not JSON or a number
 * out of range (1e999; msg unchanged; a description goes to errbuf if it
 * is not NULL), or ACTORS_ENOMEM. Thread: owner of msg. */
ACTORS_EXPORT actors_err actors_json_add(
    actors_msg_t *msg, const char *text, char *errbuf, size_t errlen);

/* actors_json_dump renders obj as compact JSON into *out (NUL-terminated,
 * the caller frees it with free()). Returns ACTORS_OK or ACTORS_ENOMEM.
 * Thread: any. */
ACTORS_EXPORT actors_err actors_json_dump(
    const msgpack_object *obj, char **out);

#ifdef __cplusplus
}
#endif
#endif
