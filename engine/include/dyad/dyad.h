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
 *
 * Option structs: their first field is `struct_size`, which the caller sets to
 * sizeof the struct it was compiled with (the *_INIT macros do). A library newer
 * than the caller gives fields past that size their defaults; an older library
 * refuses a larger struct whose unknown fields are not all zero (DYAD_UNSUPPORTED).
 */
#ifndef DYAD_DYAD_H_
#define DYAD_DYAD_H_

#include <stddef.h>
#include <stdint.h>

/* The version this header belongs to; dyad_version() returns the same numbers
 * as "MAJOR.MINOR.PATCH". libdyad.so.MAJOR is the SONAME. */
#define DYAD_VERSION_MAJOR 0
#define DYAD_VERSION_MINOR 1
#define DYAD_VERSION_PATCH 0

/* Marks the library's exported functions (everything else is hidden). */
#if defined(__GNUC__) || defined(__clang__)
#define DYAD_API __attribute__((visibility("default")))
#else
#define DYAD_API
#endif

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

/* `dyad_model_options o = DYAD_MODEL_OPTIONS_INIT;` gives the safe defaults. */
typedef struct dyad_model_options {
  size_t struct_size; /* sizeof(dyad_model_options); see "Option structs" above */
  /* 0 (default): the weights file a model names must lie inside the model file's
   * folder; nonzero: any readable path is allowed. */
  int allow_weights_outside_model_dir;
  /* Upper bound in bytes on what the model takes in memory (constants, packed
   * weights, activation arena and scratch), checked before allocating; a model or
   * session that would need more fails with DYAD_OUT_OF_MEMORY. 0: no budget beyond
   * the format's own limits (docs/format.md, "Limits"). */
  size_t memory_budget_bytes;
  /* 0 (default): a weights file is memory-mapped read-only (page cache, shared
   * between processes; the file must not change while the model is loaded);
   * nonzero: it is read into private memory instead. */
  int read_weights_into_memory;
} dyad_model_options;
#define DYAD_MODEL_OPTIONS_INIT {sizeof(dyad_model_options), 0, 0, 0}

typedef struct dyad_session_options {
  size_t struct_size; /* sizeof(dyad_session_options) */
  int num_threads;    /* >= 1; 0 means 1 */
} dyad_session_options;
#define DYAD_SESSION_OPTIONS_INIT {sizeof(dyad_session_options), 1}

/* What a model takes in memory, by part (dyad_model_memory). */
typedef struct dyad_memory_info {
  size_t struct_size;              /* set by the caller: sizeof(dyad_memory_info) */
  size_t constants_bytes;          /* weights file and inline constants, as loaded */
  size_t weights_mapped_bytes;     /* of which memory-mapped from the weights file */
  size_t weights_borrowed_bytes;   /* of which the caller's buffer (..._borrowed) */
  size_t packed_bytes;             /* kernels' prepared copies of weights */
  size_t arena_bytes;              /* activations: one arena per session */
  size_t scratch_bytes_per_thread; /* per session thread */
  size_t session_bytes;            /* arena + scratch for the thread count asked */
} dyad_memory_info;

typedef enum dyad_log_level {
  DYAD_LOG_DEBUG = 0, /* kernel dispatch decisions (DYAD_VERBOSE=dispatch) */
  DYAD_LOG_INFO = 1,
  DYAD_LOG_WARNING = 2 /* e.g. an environment setting that was ignored */
} dyad_log_level;

/* Receives every message the library would otherwise write to stderr: one line,
 * no trailing newline. May be called from any thread, also several at once. */
typedef void (*dyad_log_callback)(void* user_data, dyad_log_level level, const char* message);

/* Version of the library, "MAJOR.MINOR.PATCH". */
DYAD_API const char* dyad_version(void);
/* A short constant description of a status code. */
DYAD_API const char* dyad_status_string(dyad_status status);
/* The message of the last failing call on this thread ("" if none). */
DYAD_API const char* dyad_last_error_message(void);

/* Sends the library's log messages to `callback` instead of stderr, process-wide;
 * NULL restores stderr. Messages below DYAD_LOG_WARNING are produced only when
 * DYAD_VERBOSE asks for them (docs/c_api.md "Logging"). */
DYAD_API void dyad_set_log_callback(dyad_log_callback callback, void* user_data);

/* Loads, validates and plans a model. `options` may be NULL. On failure *out is NULL. */
DYAD_API dyad_status dyad_model_load(const char* json_path, const dyad_model_options* options,
                                     dyad_model** out);
/* The same from memory; both buffers are copied. `weights` may be NULL when the model
 * has no external weights. */
DYAD_API dyad_status dyad_model_load_from_memory(const char* json_text, size_t json_bytes,
                                                 const void* weights, size_t weights_bytes,
                                                 const dyad_model_options* options,
                                                 dyad_model** out);
/* The same, borrowing `weights` instead of copying it: the model points into the
 * caller's buffer, which must stay valid and unchanged until the model and every
 * session made from it are freed. `json_text` is only read during the call. */
DYAD_API dyad_status dyad_model_load_from_memory_borrowed(const char* json_text, size_t json_bytes,
                                                          const void* weights, size_t weights_bytes,
                                                          const dyad_model_options* options,
                                                          dyad_model** out);
DYAD_API void dyad_model_free(dyad_model* model);

DYAD_API size_t dyad_model_num_inputs(const dyad_model* model);
DYAD_API size_t dyad_model_num_outputs(const dyad_model* model);
DYAD_API dyad_status dyad_model_input_info(const dyad_model* model, size_t index, dyad_tensor_info* out);
DYAD_API dyad_status dyad_model_output_info(const dyad_model* model, size_t index, dyad_tensor_info* out);
/* The index of the input (output) named `name`; DYAD_INVALID_ARGUMENT naming it
 * when the model has none. */
DYAD_API dyad_status dyad_model_find_input(const dyad_model* model, const char* name,
                                           size_t* index);
DYAD_API dyad_status dyad_model_find_output(const dyad_model* model, const char* name,
                                            size_t* index);

/* The model's "name" ("" when it has none or for NULL). Valid until dyad_model_free. */
DYAD_API const char* dyad_model_name(const dyad_model* model);
/* The model's "metadata" object as compact JSON text ("{}" when it has none, NULL
 * for NULL or out of memory). Valid until dyad_model_free. */
DYAD_API const char* dyad_model_metadata_json(const dyad_model* model);
/* The metadata member `key` when it is a JSON string, else NULL (absent, another
 * type, NULL arguments). Valid until dyad_model_free. */
DYAD_API const char* dyad_model_metadata_string(const dyad_model* model, const char* key);

/* What the model takes in memory and what a session with `num_threads` threads
 * (0 means 1) will allocate, known before dyad_session_create. out->struct_size
 * must be set; fields past it are not written. */
DYAD_API dyad_status dyad_model_memory(const dyad_model* model, int num_threads,
                                       dyad_memory_info* out);

/* Creates a session with its own activation memory. `options` may be NULL (one thread). */
DYAD_API dyad_status dyad_session_create(const dyad_model* model, const dyad_session_options* options,
                                         dyad_session** out);
DYAD_API void dyad_session_free(dyad_session* session);

/* Integer input: `bytes` must equal the input's info.bytes. */
DYAD_API dyad_status dyad_session_set_input(dyad_session* session, size_t index, const void* data,
                                            size_t bytes);
/* Float input, quantized at the boundary: q = clamp(rne(x / scale) + zero_point). */
DYAD_API dyad_status dyad_session_set_input_f32(dyad_session* session, size_t index, const float* data,
                                                size_t count);
/* Runs the model on the inputs set so far. Every input must have been set at least once
 * since the session was created (DYAD_INVALID_ARGUMENT naming the first one otherwise);
 * an input keeps its value until it is set again, so a caller that shares a session
 * between requests must set every input for every request. Outputs can be read only
 * after a run that returned DYAD_OK; a failed, cancelled or timed-out run leaves
 * none (dyad_session_get_output then fails). */
DYAD_API dyad_status dyad_session_run(dyad_session* session);
/* Every later run of `session` stops with DYAD_DEADLINE_EXCEEDED once it has run longer
 * than `timeout_microseconds`; 0 (the default) means no limit. The run stops at the
 * next check: before each step, before each parallel task and, in the long-running
 * kernels (pooling, reference convolution), once per output pixel; docs/c_api.md
 * gives the measured latency. The message names the node where it stopped. */
DYAD_API dyad_status dyad_session_set_run_timeout(dyad_session* session, uint64_t timeout_microseconds);
/* Asks the run in progress on `session` to stop; that dyad_session_run returns
 * DYAD_CANCELLED. Safe to call from any thread while another thread is inside
 * dyad_session_run; when no run is in progress it does nothing. A stopped session
 * stays usable: the next run computes everything anew. */
DYAD_API void dyad_session_cancel(dyad_session* session);
/* Copies output `index` into `data` (`bytes` must equal info.bytes). */
DYAD_API dyad_status dyad_session_get_output(const dyad_session* session, size_t index, void* data,
                                             size_t bytes);
/* Dequantized output: (q - zero_point) * scale, per channel where the output has it. */
DYAD_API dyad_status dyad_session_get_output_f32(const dyad_session* session, size_t index, float* data,
                                                 size_t count);

#ifdef __cplusplus
}
#endif

#endif /* DYAD_DYAD_H_ */
