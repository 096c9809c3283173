/* One model shared by 8 sessions on 8 pthreads (DESIGN.md principle 4), for
 * each model in MODELS: each thread runs its own inputs `iterations` times
 * (default 200), and every output must equal, byte for byte, a single-threaded
 * run of the same inputs. Half of the sessions use 2 intra-op threads, so this
 * also checks that results do not depend on the thread count. scripts/test.sh
 * also runs it under ThreadSanitizer (build-tsan).
 * Run as `c_api_threads <source_dir> [iterations]`.
 */
#include <dyad/dyad.h>

#include "c_check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The models, relative to the source directory: a fully connected layer, the
 * tiny CNN (grouped, depthwise and int4 convolutions, pools, concat) and the
 * Fashion-MNIST ResNet and ViT (matmul, softmax, layernorm, gelu). */
static const char* const MODELS[] = {
    "models/examples/tiny_fc.json",
    "models/examples/tiny_cnn.json",
    "models/fmnist/resnet_int8.json",
    "models/fmnist/vit_int8.json",
};
#define NUM_MODELS (sizeof MODELS / sizeof MODELS[0])
#define NUM_THREADS 8
#define DEFAULT_ITERATIONS 200
#define MAX_TENSORS 16

static int g_iterations = DEFAULT_ITERATIONS;
static dyad_model* g_model;
static size_t g_num_inputs, g_num_outputs;
static dyad_tensor_info g_inputs[MAX_TENSORS], g_outputs[MAX_TENSORS];
static size_t g_output_bytes; /* all outputs of one run, concatenated */

/* A deterministic stream of values for (thread, iteration, input). */
static uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Fills an input buffer with values valid for its dtype. */
static void make_input(const dyad_tensor_info* info, uint64_t seed, void* data) {
  size_t i;
  for (i = 0; i < info->num_elements; ++i) {
    const uint64_t r = mix(seed * 1000003u + i);
    switch (info->dtype) {
      case DYAD_INT8: ((int8_t*)data)[i] = (int8_t)((int)(r % 256) - 128); break;
      case DYAD_UINT8: ((uint8_t*)data)[i] = (uint8_t)(r % 256); break;
      case DYAD_INT4: ((int8_t*)data)[i] = (int8_t)((int)(r % 16) - 8); break;
      case DYAD_UINT4: ((uint8_t*)data)[i] = (uint8_t)(r % 16); break;
      case DYAD_INT16: ((int16_t*)data)[i] = (int16_t)((int)(r % 65536) - 32768); break;
      case DYAD_INT32: ((int32_t*)data)[i] = (int32_t)((int)(r % 256) - 128); break;
      case DYAD_INT64: ((int64_t*)data)[i] = (int64_t)((int)(r % 256) - 128); break;
    }
  }
}

/* Sets inputs for (thread, iteration), runs, and copies all outputs to `out`. */
static dyad_status run_case(dyad_session* session, int thread, int iteration, uint8_t* out) {
  size_t i;
  dyad_status s = DYAD_OK;
  for (i = 0; i < g_num_inputs && s == DYAD_OK; ++i) {
    void* data = malloc(g_inputs[i].bytes);
    if (data == NULL) return DYAD_OUT_OF_MEMORY;
    make_input(&g_inputs[i], ((uint64_t)thread * g_iterations + (uint64_t)iteration) * MAX_TENSORS + i,
               data);
    s = dyad_session_set_input(session, i, data, g_inputs[i].bytes);
    free(data);
  }
  if (s == DYAD_OK) s = dyad_session_run(session);
  for (i = 0; i < g_num_outputs && s == DYAD_OK; ++i) {
    s = dyad_session_get_output(session, i, out, g_outputs[i].bytes);
    out += g_outputs[i].bytes;
  }
  return s;
}

struct worker {
  pthread_t thread;
  int index;
  uint8_t* expected; /* g_iterations * g_output_bytes from the single-threaded run */
  int mismatches;
  int errors;
  char first_error[512];
};

static void* worker_main(void* arg) {
  struct worker* w = (struct worker*)arg;
  dyad_session* session = NULL;
  dyad_session_options options = DYAD_SESSION_OPTIONS_INIT;
  uint8_t* got = malloc(g_output_bytes);
  int it;
  options.num_threads = 1 + w->index % 2;
  if (got == NULL || dyad_session_create(g_model, &options, &session) != DYAD_OK) {
    w->errors = 1;
    snprintf(w->first_error, sizeof w->first_error, "session_create: %s", dyad_last_error_message());
    free(got);
    return NULL;
  }
  for (it = 0; it < g_iterations; ++it) {
    if (run_case(session, w->index, it, got) != DYAD_OK) {
      if (w->errors++ == 0)
        snprintf(w->first_error, sizeof w->first_error, "%s", dyad_last_error_message());
      continue;
    }
    if (memcmp(got, w->expected + (size_t)it * g_output_bytes, g_output_bytes) != 0) ++w->mismatches;
  }
  dyad_session_free(session);
  free(got);
  return NULL;
}

/* The whole check for one model; returns nonzero when it could not go on. */
static int check_model(const char* source_dir, const char* model_path) {
  char path[4096];
  char line[700];
  struct worker workers[NUM_THREADS];
  dyad_session* session = NULL;
  size_t i;
  int t, it, setup_ok = 1;
  const time_t start = time(NULL);

  g_output_bytes = 0;
  snprintf(path, sizeof path, "%s/%s", source_dir, model_path);
  snprintf(line, sizeof line, "load %s", model_path);
  check(dyad_model_load(path, NULL, &g_model) == DYAD_OK, line);
  if (g_model == NULL) return 1;
  g_num_inputs = dyad_model_num_inputs(g_model);
  g_num_outputs = dyad_model_num_outputs(g_model);
  check(g_num_inputs <= MAX_TENSORS && g_num_outputs <= MAX_TENSORS, "at most 16 inputs and outputs");
  if (g_failures) return 1;
  for (i = 0; i < g_num_inputs; ++i)
    setup_ok &= dyad_model_input_info(g_model, i, &g_inputs[i]) == DYAD_OK;
  for (i = 0; i < g_num_outputs; ++i) {
    setup_ok &= dyad_model_output_info(g_model, i, &g_outputs[i]) == DYAD_OK;
    g_output_bytes += g_outputs[i].bytes;
  }
  check(setup_ok, "input and output infos");

  /* Single-threaded reference: one session, every (thread, iteration) case in turn. */
  check(dyad_session_create(g_model, NULL, &session) == DYAD_OK, "reference session");
  if (session == NULL) return 1;
  for (t = 0; t < NUM_THREADS; ++t) {
    workers[t].index = t;
    workers[t].mismatches = 0;
    workers[t].errors = 0;
    workers[t].first_error[0] = '\0';
    workers[t].expected = malloc((size_t)g_iterations * g_output_bytes);
    if (workers[t].expected == NULL) return 1;
    for (it = 0; it < g_iterations; ++it)
      setup_ok &= run_case(session, t, it, workers[t].expected + (size_t)it * g_output_bytes) == DYAD_OK;
  }
  dyad_session_free(session);
  snprintf(line, sizeof line, "single-threaded reference runs (%d cases)", NUM_THREADS * g_iterations);
  check(setup_ok, line);

  /* Distinct inputs should give distinct outputs somewhere, or the test proves little. */
  for (t = 1, i = 0; t < NUM_THREADS; ++t)
    i += memcmp(workers[0].expected, workers[t].expected, (size_t)g_iterations * g_output_bytes) != 0;
  check(i > 0, "the cases do not all have the same outputs");

  for (t = 0; t < NUM_THREADS; ++t) {
    if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0) {
      check(0, "pthread_create");
      return 1;
    }
  }
  for (t = 0; t < NUM_THREADS; ++t) pthread_join(workers[t].thread, NULL);

  for (t = 0; t < NUM_THREADS; ++t) {
    snprintf(line, sizeof line,
             "thread %d (session with %d thread(s)): %d runs, %d errors, %d mismatches%s%s", t,
             1 + t % 2, g_iterations, workers[t].errors, workers[t].mismatches,
             workers[t].errors ? "; first error: " : "", workers[t].first_error);
    check(workers[t].errors == 0 && workers[t].mismatches == 0, line);
    free(workers[t].expected);
  }
  dyad_model_free(g_model);
  g_model = NULL;
  printf("      %s: %d runs on %d threads in %lds\n", model_path, 2 * NUM_THREADS * g_iterations,
         NUM_THREADS, (long)(time(NULL) - start));
  return 0;
}

int main(int argc, char** argv) {
  size_t m;
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s SOURCE_DIR [g_iterations]\n", argv[0]);
    return 2;
  }
  if (argc == 3) g_iterations = atoi(argv[2]);
  if (g_iterations < 1) {
    fprintf(stderr, "g_iterations must be >= 1\n");
    return 2;
  }
  for (m = 0; m < NUM_MODELS; ++m) {
    if (check_model(argv[1], MODELS[m]) != 0) break;
  }
  printf("%s: %d failure(s)\n", g_failures ? "FAILED" : "PASSED", g_failures);
  return g_failures ? 1 : 0;
}
