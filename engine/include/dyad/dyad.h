/* dyad: integer-only inference for quantized transformers and CNNs.
 *
 * The C API. Every function returns a dyad_status (or a value that cannot
 * fail); no C++ exception crosses this boundary. Objects are opaque and are
 * freed by their own *_free function. A dyad_model is immutable once loaded and
 * may be shared by any number of sessions on any threads; a dyad_session is used
 * by one thread at a time.
 *
 * Error messages: when a call fails, dyad_last_error_message() returns a text
 * that names the file, node and field at fault. It is thread-local and stays
 * valid until the next failing dyad call on the same thread.
 *
 * Lifetimes: a session keeps its model alive, so dyad_model_free may come
 * before dyad_session_free of the model's sessions; they stay fully usable.
 * NULL passed to a *_free function or to dyad_session_cancel does nothing;
 * NULL elsewhere is DYAD_INVALID_ARGUMENT.
 *
 * Undefined behaviour (not detected): freeing an object twice; using an object
 * after its *_free; passing a pointer that no dyad call returned; one session
 * used by two threads at once (except dyad_session_cancel, which any thread may
 * call while another runs the session, but not after or during its
 * dyad_session_free); buffers shorter than the byte or element count given.
 */
#ifndef DYAD_DYAD_H_
#define DYAD_DYAD_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dyad_status {
  DYAD_OK = 0,
  DYAD_INVALID_ARGUMENT = 1, /* a bad argument to a call (null pointer, index, size) */
  DYAD_IO_ERROR = 2,         /* a file could not be opened or read */
  DYAD_PARSE_ERROR = 3,      /* the model JSON is not valid JSON */
  DYAD_INVALID_MODEL = 4,    /* the model is not valid (see the message) */
  DYAD_UNSUPPORTED = 5,      /* newer format version, or a feature this build lacks */
  DYAD_OUT_OF_MEMORY = 6,
  DYAD_INTERNAL_ERROR = 7,
  DYAD_CANCELLED = 8,         /* dyad_session_cancel stopped the run */
  DYAD_DEADLINE_EXCEEDED = 9  /* the run took longer than dyad_session_set_run_timeout allows */
} dyad_status;

typedef enum dyad_dtype {
  DYAD_INT8 = 0,
  DYAD_UINT8 = 1,
  DYAD_INT4 = 2,  /* one value per int8 byte at the API */
  DYAD_UINT4 = 3, /* one value per uint8 byte at the API */
  DYAD_INT16 = 4,
  DYAD_INT32 = 5,
  DYAD_INT64 = 6
} dyad_dtype;

typedef struct dyad_model dyad_model;
typedef struct dyad_session dyad_session;

#define DYAD_MAX_RANK 8

/* Describes one input or output. Strings and arrays belong to the model and stay
 * valid until dyad_model_free. */
typedef struct dyad_tensor_info {
  const char* name;
  dyad_dtype dtype;
  size_t rank;
  int64_t shape[DYAD_MAX_RANK];
  size_t num_elements;
  size_t bytes;                 /* size of the buffer set_input/get_output use */
  size_t num_scales;            /* 0 (no scale), 1 (per tensor) or the channel count */
  const double* scales;
  const int64_t* zero_points;   /* num_scales entries, or one when num_scales is 0 */
  int quant_axis;               /* -1 for per tensor */
} dyad_tensor_info;

/* Zero-initialize (`dyad_model_options o = {0};`) for the safe defaults. */
typedef struct dyad_model_options {
  /* 0 (default): the weights file a model names must lie inside the model file's
   * folder; nonzero: any readable path is allowed. */
  int allow_weights_outside_model_dir;
  /* Upper bound in bytes on what the model takes in memory (constants, packed
   * weights, activation arena and scratch), checked before allocating; a model or
   * session that would need more fails with DYAD_OUT_OF_MEMORY. 0: no budget beyond
   * the format's own limits (docs/format.md, "Limits"). */
  size_t memory_budget_bytes;
} dyad_model_options;

typedef struct dyad_session_options {
  int num_threads; /* >= 1; 0 means 1 */
} dyad_session_options;

/* Version of the library, "MAJOR.MINOR.PATCH". */
const char* dyad_version(void);
/* A short constant description of a status code. */
const char* dyad_status_string(dyad_status status);
/* The message of the last failing call on this thread ("" if none). */
const char* dyad_last_error_message(void);

/* Loads, validates and plans a model. `options` may be NULL. On failure *out is NULL. */
dyad_status dyad_model_load(const char* json_path, const dyad_model_options* options,
                            dyad_model** out);
/* The same from memory; both buffers are copied. `weights` may be NULL when the model
 * has no external weights. */
dyad_status dyad_model_load_from_memory(const char* json_text, size_t json_bytes,
                                        const void* weights, size_t weights_bytes,
                                        const dyad_model_options* options, dyad_model** out);
void dyad_model_free(dyad_model* model);

size_t dyad_model_num_inputs(const dyad_model* model);
size_t dyad_model_num_outputs(const dyad_model* model);
dyad_status dyad_model_input_info(const dyad_model* model, size_t index, dyad_tensor_info* out);
dyad_status dyad_model_output_info(const dyad_model* model, size_t index, dyad_tensor_info* out);

/* Creates a session with its own activation memory. `options` may be NULL (one thread). */
dyad_status dyad_session_create(const dyad_model* model, const dyad_session_options* options,
                                dyad_session** out);
void dyad_session_free(dyad_session* session);

/* Integer input: `bytes` must equal the input's info.bytes. */
dyad_status dyad_session_set_input(dyad_session* session, size_t index, const void* data,
                                   size_t bytes);
/* Float input, quantized at the boundary: q = clamp(rne(x / scale) + zero_point). */
dyad_status dyad_session_set_input_f32(dyad_session* session, size_t index, const float* data,
                                       size_t count);
/* Runs the model on the inputs set so far. Every input must have been set at least once
 * since the session was created (DYAD_INVALID_ARGUMENT naming the first one otherwise);
 * an input keeps its value until it is set again, so a caller that shares a session
 * between requests must set every input for every request. Outputs can be read only
 * after a run that returned DYAD_OK; a failed, cancelled or timed-out run leaves
 * none (dyad_session_get_output then fails). */
dyad_status dyad_session_run(dyad_session* session);
/* Every later run of `session` stops with DYAD_DEADLINE_EXCEEDED once it has run longer
 * than `timeout_microseconds`; 0 (the default) means no limit. The run stops at the
 * next check: before each step, before each parallel task and, in the long-running
 * kernels (pooling, reference convolution), once per output pixel; docs/c_api.md
 * gives the measured latency. The message names the node where it stopped. */
dyad_status dyad_session_set_run_timeout(dyad_session* session, uint64_t timeout_microseconds);
/* Asks the run in progress on `session` to stop; that dyad_session_run returns
 * DYAD_CANCELLED. Safe to call from any thread while another thread is inside
 * dyad_session_run; when no run is in progress it does nothing. A stopped session
 * stays usable: the next run computes everything anew. */
void dyad_session_cancel(dyad_session* session);
/* Copies output `index` into `data` (`bytes` must equal info.bytes). */
dyad_status dyad_session_get_output(const dyad_session* session, size_t index, void* data,
                                    size_t bytes);
/* Dequantized output: (q - zero_point) * scale, per channel where the output has it. */
dyad_status dyad_session_get_output_f32(const dyad_session* session, size_t index, float* data,
                                        size_t count);

#ifdef __cplusplus
}
#endif

#endif /* DYAD_DYAD_H_ */
