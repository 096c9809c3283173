/* The C API for embedders (docs/c_api.md): inputs and outputs found by name, the
 * model's name and metadata, loading from memory with borrowed weights, weights
 * files mapped or read, the memory a session will take known before creating it,
 * extensible option structs (struct_size) and the log callback.
 * Run as `c_api_embed <source_dir>`; prints one line per check and exits
 * non-zero on any failure. */
#define _POSIX_C_SOURCE 200112L /* setenv */
#include <dyad/dyad.h>

#include "c_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TINY_CNN_WEIGHTS_BYTES 3688 /* "weights.bytes" of tiny_cnn.json */

static char* read_file(const char* path, size_t* bytes) {
  FILE* f = fopen(path, "rb");
  char* data = NULL;
  long n;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    data = malloc((size_t)n + 1);
    if (data != NULL && fread(data, 1, (size_t)n, f) == (size_t)n) {
      data[n] = '\0';
      *bytes = (size_t)n;
    } else {
      free(data);
      data = NULL;
    }
  }
  fclose(f);
  return data;
}

/* ---- log callback -------------------------------------------------------- */

static int g_debug_lines, g_warning_lines, g_isa_warning;

static void on_log(void* user_data, dyad_log_level level, const char* message) {
  ++*(int*)user_data;
  if (level == DYAD_LOG_DEBUG && strstr(message, "dyad dispatch") != NULL) ++g_debug_lines;
  if (level == DYAD_LOG_WARNING) ++g_warning_lines;
  if (level == DYAD_LOG_WARNING && strstr(message, "DYAD_ISA='bogus'") != NULL) ++g_isa_warning;
  if (strchr(message, '\n') != NULL) check(0, "a log message has no newline");
}

/* ---- names and metadata ---------------------------------------------------- */

static void check_names(const dyad_model* model) {
  size_t index = 99;
  const char* json;
  check(strcmp(dyad_model_name(model), "tiny_cnn") == 0, "dyad_model_name is \"tiny_cnn\"");
  check(strcmp(dyad_model_name(NULL), "") == 0, "dyad_model_name(NULL) is \"\"");
  check_status(dyad_model_find_input(model, "image", &index), DYAD_OK, "find_input(\"image\")");
  check(index == 0, "input \"image\" is index 0");
  index = 99;
  check_status(dyad_model_find_output(model, "logits", &index), DYAD_OK, "find_output(\"logits\")");
  check(index == 0, "output \"logits\" is index 0");
  index = 77;
  check_status(dyad_model_find_input(model, "logits", &index), DYAD_INVALID_ARGUMENT,
               "find_input(\"logits\"), an output");
  check(strstr(dyad_last_error_message(), "no input named 'logits'") != NULL &&
            strstr(dyad_last_error_message(), "'image'") != NULL,
        "the message names the name asked for and the inputs there are");
  check(index == 77, "a failed find leaves *index alone");
  check_status(dyad_model_find_output(model, "", &index), DYAD_INVALID_ARGUMENT, "find_output(\"\")");
  check_status(dyad_model_find_input(NULL, "image", &index), DYAD_INVALID_ARGUMENT, "find_input(NULL model)");
  check_status(dyad_model_find_input(model, NULL, &index), DYAD_INVALID_ARGUMENT, "find_input(NULL name)");
  check_status(dyad_model_find_input(model, "image", NULL), DYAD_INVALID_ARGUMENT, "find_input(NULL index)");

  check(dyad_model_metadata_string(model, "generator") != NULL &&
            strcmp(dyad_model_metadata_string(model, "generator"), "models/tools/gen_tiny_cnn.py") == 0,
        "metadata \"generator\" is models/tools/gen_tiny_cnn.py");
  check(dyad_model_metadata_string(model, "seed") == NULL, "metadata \"seed\" (a number) gives NULL");
  check(dyad_model_metadata_string(model, "no such key") == NULL, "an absent metadata key gives NULL");
  check(dyad_model_metadata_string(model, NULL) == NULL, "metadata_string(NULL key) is NULL");
  json = dyad_model_metadata_json(model);
  check(json != NULL && json[0] == '{' && strstr(json, "\"seed\":20261122") != NULL &&
            strstr(json, "\"generator\":\"models/tools/gen_tiny_cnn.py\"") != NULL,
        "metadata_json is the metadata object");
  check(json == dyad_model_metadata_json(model), "metadata_json returns the same text every time");
  check(dyad_model_metadata_json(NULL) == NULL, "metadata_json(NULL) is NULL");
}

/* ---- memory ---------------------------------------------------------------- */

static void check_memory(const dyad_model* model, size_t mapped, size_t borrowed, const char* what) {
  dyad_memory_info one, two, small;
  char line[256];
  memset(&one, 0xff, sizeof one);
  one.struct_size = sizeof one;
  two = one;
  snprintf(line, sizeof line, "%s: dyad_model_memory(1 thread)", what);
  check_status(dyad_model_memory(model, 1, &one), DYAD_OK, line);
  check_status(dyad_model_memory(model, 2, &two), DYAD_OK, "dyad_model_memory(2 threads)");
  snprintf(line, sizeof line, "%s: %zu constant bytes, %zu mapped, %zu borrowed, arena %zu", what,
           one.constants_bytes, one.weights_mapped_bytes, one.weights_borrowed_bytes, one.arena_bytes);
  check(one.weights_mapped_bytes == mapped && one.weights_borrowed_bytes == borrowed &&
            one.constants_bytes >= TINY_CNN_WEIGHTS_BYTES && one.arena_bytes > 0,
        line);
  check(one.session_bytes == one.arena_bytes + one.scratch_bytes_per_thread &&
            two.session_bytes == two.arena_bytes + 2 * two.scratch_bytes_per_thread &&
            two.arena_bytes == one.arena_bytes,
        "session_bytes = arena + scratch per thread x threads");
  /* A caller compiled against an older, smaller struct: nothing past it is written. */
  memset(&small, 0xab, sizeof small);
  small.struct_size = offsetof(dyad_memory_info, packed_bytes);
  check_status(dyad_model_memory(model, 1, &small), DYAD_OK, "dyad_model_memory(smaller struct)");
  check(small.constants_bytes == one.constants_bytes && small.arena_bytes == (size_t)-1 / 0xff * 0xab,
        "a smaller struct gets the fields that fit and no more");
  small.struct_size = 0;
  check_status(dyad_model_memory(model, 1, &small), DYAD_INVALID_ARGUMENT, "dyad_model_memory(struct_size 0)");
  check_status(dyad_model_memory(model, -1, &one), DYAD_INVALID_ARGUMENT, "dyad_model_memory(-1 threads)");
  check_status(dyad_model_memory(NULL, 1, &one), DYAD_INVALID_ARGUMENT, "dyad_model_memory(NULL model)");
}

/* ---- runs ------------------------------------------------------------------ */

/* Runs `model` on a fixed input and copies its output to `out` (zero-filled to out_bytes). */
static int run_once(const dyad_model* model, int8_t* out, size_t out_bytes) {
  dyad_session* session = NULL;
  dyad_tensor_info in, o;
  int8_t x[4096];
  size_t i;
  int ok = dyad_model_input_info(model, 0, &in) == DYAD_OK && in.bytes <= sizeof x &&
           dyad_model_output_info(model, 0, &o) == DYAD_OK && o.bytes <= out_bytes &&
           dyad_session_create(model, NULL, &session) == DYAD_OK;
  memset(out, 0, out_bytes);
  for (i = 0; ok && i < in.bytes; ++i) x[i] = (int8_t)((i * 37 + 11) % 256 - 128);
  ok = ok && dyad_session_set_input(session, 0, x, in.bytes) == DYAD_OK &&
       dyad_session_run(session) == DYAD_OK &&
       dyad_session_get_output(session, 0, out, o.bytes) == DYAD_OK;
  dyad_session_free(session);
  return ok;
}

/* ---- option structs --------------------------------------------------------- */

struct newer_model_options { /* what a newer header's struct could look like */
  dyad_model_options known;
  unsigned long long future_field;
};

static void check_struct_sizes(const char* path) {
  dyad_model* model = NULL;
  dyad_session* session = NULL;
  dyad_model_options unset = DYAD_MODEL_OPTIONS_INIT;
  dyad_session_options threads = DYAD_SESSION_OPTIONS_INIT;
  struct newer_model_options newer;

  unset.struct_size = 0;
  check_status(dyad_model_load(path, &unset, &model), DYAD_INVALID_ARGUMENT, "load with struct_size 0");
  check(strstr(dyad_last_error_message(), "dyad_model_options.struct_size is 0") != NULL,
        "the message names dyad_model_options.struct_size");
  check(model == NULL, "nothing is loaded");
  unset.struct_size = sizeof(size_t);
  check_status(dyad_model_load(path, &unset, &model), DYAD_INVALID_ARGUMENT,
               "load with a struct_size smaller than the first release's");
  unset.struct_size = 1u << 20;
  check_status(dyad_model_load(path, &unset, &model), DYAD_INVALID_ARGUMENT,
               "load with an implausible struct_size (1 MiB)");

  memset(&newer, 0, sizeof newer);
  newer.known.struct_size = sizeof newer;
  check_status(dyad_model_load(path, &newer.known, &model), DYAD_OK,
               "load with a newer, larger struct whose new field is 0");
  dyad_model_free(model);
  model = NULL;
  newer.future_field = 1;
  check_status(dyad_model_load(path, &newer.known, &model), DYAD_UNSUPPORTED,
               "load with a newer struct whose new field is set");
  check(strstr(dyad_last_error_message(), "does not know") != NULL, "the message says why");

  check_status(dyad_model_load(path, NULL, &model), DYAD_OK, "load with NULL options");
  threads.struct_size = 0;
  check_status(dyad_session_create(model, &threads, &session), DYAD_INVALID_ARGUMENT,
               "session_create with struct_size 0");
  check(strstr(dyad_last_error_message(), "dyad_session_options.struct_size") != NULL,
        "the message names dyad_session_options.struct_size");
  check(session == NULL, "no session");
  dyad_model_free(model);
}

int main(int argc, char** argv) {
  char json_path[1024], bin_path[1024];
  dyad_model_options options = DYAD_MODEL_OPTIONS_INIT;
  dyad_model *mapped = NULL, *read = NULL, *borrowed = NULL, *bad = NULL;
  char *json = NULL, *weights = NULL;
  size_t json_bytes = 0, weights_bytes = 0;
  int8_t y_mapped[64], y_read[64], y_borrowed[64];
  int log_calls = 0;

  if (argc != 2) {
    fprintf(stderr, "usage: %s SOURCE_DIR\n", argv[0]);
    return 2;
  }
  snprintf(json_path, sizeof json_path, "%s/models/examples/tiny_cnn.json", argv[1]);
  snprintf(bin_path, sizeof bin_path, "%s/models/examples/tiny_cnn.bin", argv[1]);

  /* Before any model loads: the kernels read these once. */
  setenv("DYAD_VERBOSE", "dispatch", 1);
  setenv("DYAD_ISA", "bogus", 1);
  dyad_set_log_callback(on_log, &log_calls);

  check_status(dyad_model_load(json_path, &options, &mapped), DYAD_OK, "load tiny_cnn.json (mapped)");
  check(log_calls > 0 && g_debug_lines > 0, "dispatch lines went to the log callback");
  check(g_isa_warning == 1, "the DYAD_ISA warning went to the log callback, once");
  dyad_set_log_callback(NULL, NULL);
  log_calls = 0;
  setenv("DYAD_VERBOSE", "", 1);
  if (mapped == NULL) return 1;
  check_names(mapped);
  check_memory(mapped, TINY_CNN_WEIGHTS_BYTES, 0, "weights file mapped");

  options.read_weights_into_memory = 1;
  check_status(dyad_model_load(json_path, &options, &read), DYAD_OK, "load tiny_cnn.json (read)");
  if (read != NULL) check_memory(read, 0, 0, "weights file read");

  json = read_file(json_path, &json_bytes);
  weights = read_file(bin_path, &weights_bytes);
  check(json != NULL && weights != NULL && weights_bytes == TINY_CNN_WEIGHTS_BYTES, "read tiny_cnn files");
  if (json == NULL || weights == NULL) return 1;
  check_status(dyad_model_load_from_memory_borrowed(json, json_bytes, weights, weights_bytes, NULL,
                                                    &borrowed),
               DYAD_OK, "load_from_memory_borrowed");
  /* json_text is only read during the call. */
  memset(json, 0, json_bytes);
  if (borrowed != NULL) check_memory(borrowed, 0, TINY_CNN_WEIGHTS_BYTES, "weights borrowed");

  if (read != NULL && borrowed != NULL) {
    check(run_once(mapped, y_mapped, sizeof y_mapped) && run_once(read, y_read, sizeof y_read) &&
              run_once(borrowed, y_borrowed, sizeof y_borrowed),
          "a run with each model");
    check(memcmp(y_mapped, y_read, sizeof y_read) == 0 &&
              memcmp(y_mapped, y_borrowed, sizeof y_borrowed) == 0,
          "mapped, read and borrowed weights give the same logits");
  }
  check(log_calls == 0, "no log call after dyad_set_log_callback(NULL)");

  /* Hostile input stays an error with a borrowed buffer: one flipped byte. */
  free(json);
  json = read_file(json_path, &json_bytes);
  weights[100] ^= 1;
  check_status(dyad_model_load_from_memory_borrowed(json, json_bytes, weights, weights_bytes, NULL, &bad),
               DYAD_INVALID_MODEL, "borrowed weights with a flipped byte");
  check(strstr(dyad_last_error_message(), "checksum mismatch") != NULL, "the message is the checksum's");
  check(bad == NULL, "nothing is loaded");
  weights[100] ^= 1;
  check_status(dyad_model_load_from_memory_borrowed(json, json_bytes, weights, weights_bytes - 1, NULL, &bad),
               DYAD_INVALID_MODEL, "borrowed weights one byte short");
  check_status(dyad_model_load_from_memory_borrowed(json, json_bytes, NULL, 8, NULL, &bad),
               DYAD_INVALID_ARGUMENT, "borrowed NULL weights with 8 bytes");

  check_struct_sizes(json_path);

  dyad_model_free(mapped);
  dyad_model_free(read);
  /* The borrowed buffer outlives the model and its sessions, as documented. */
  dyad_model_free(borrowed);
  free(weights);
  free(json);
  printf("%s\n", g_failures == 0 ? "all checks passed" : "FAILED");
  return g_failures == 0 ? 0 : 1;
}
