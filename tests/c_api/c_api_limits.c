/* Limits a caller sets, and misuse the C API refuses: the memory budget, the
 * run timeout, dyad_session_cancel from another thread, and a run before every
 * input was set. Run as `c_api_limits <source_dir>`; prints one line per check
 * and exits non-zero on any failure.
 *
 * The slow model is one max_pool over x int8 [1, S, S, 1] with a K x K window
 * and stride 1: one channel keeps it on the scalar path, so a run does about
 * (S - K + 1)^2 * K^2 comparisons: S 256, K 64 some 100 ms; S 512, K 256
 * minutes unless something stops it. */
#define _POSIX_C_SOURCE 200809L
#include <dyad/dyad.h>

#include "c_check.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int message_has(const char* part) { return strstr(dyad_last_error_message(), part) != NULL; }

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static dyad_status load_slow(int side, int window, size_t budget, dyad_model** out) {
  char json[1024];
  dyad_model_options options = DYAD_MODEL_OPTIONS_INIT;
  options.memory_budget_bytes = budget;
  snprintf(json, sizeof json,
           "{\"format\": \"dyad\", \"version\": \"1.0\", \"name\": \"slow_max_pool\","
           " \"inputs\": [\"x\"], \"outputs\": [\"y\"], \"tensors\": ["
           "{\"name\": \"x\", \"dtype\": \"int8\", \"shape\": [1, %d, %d, 1], \"scale\": 1.0,"
           " \"zero_point\": 0},"
           "{\"name\": \"y\", \"dtype\": \"int8\", \"scale\": 1.0, \"zero_point\": 0}],"
           " \"nodes\": [{\"name\": \"pool\", \"op\": \"max_pool\", \"inputs\": [\"x\"],"
           " \"outputs\": [\"y\"], \"attrs\": {\"kernel\": %d, \"stride\": 1}}]}",
           side, side, window);
  return dyad_model_load_from_memory(json, strlen(json), NULL, 0, &options, out);
}

/* A session with `threads` threads and its input set to fixed pseudo-random values. */
static dyad_session* session_with_input(const dyad_model* model, int threads) {
  dyad_session_options options = DYAD_SESSION_OPTIONS_INIT;
  dyad_tensor_info info;
  dyad_session* session = NULL;
  int8_t* x;
  size_t i;
  options.num_threads = threads;
  if (dyad_session_create(model, &options, &session) != DYAD_OK) return NULL;
  dyad_model_input_info(model, 0, &info);
  x = malloc(info.bytes);
  for (i = 0; i < info.bytes; ++i) x[i] = (int8_t)((i * 7919 + 13) % 251 - 125);
  if (dyad_session_set_input(session, 0, x, info.bytes) != DYAD_OK) {
    dyad_session_free(session);
    session = NULL;
  }
  free(x);
  return session;
}

/* The output of a session, malloc'ed; NULL when get_output fails. */
static int8_t* output_of(const dyad_session* session, size_t bytes) {
  int8_t* y = malloc(bytes);
  if (dyad_session_get_output(session, 0, y, bytes) == DYAD_OK) return y;
  free(y);
  return NULL;
}

static void check_budget(void) {
  dyad_model* model = NULL;
  dyad_session* session = NULL;
  dyad_session_options two_threads = {sizeof(dyad_session_options), 2};
  /* side 64, window 8: x 4,096 bytes, y 57 * 57 = 3,249; no constants, no scratch. */
  check_status(load_slow(64, 8, 1000, &model), DYAD_OUT_OF_MEMORY, "load with a 1,000-byte budget");
  check(model == NULL, "no model on failure");
  check(message_has("constants 0") && message_has("packed weights 0") &&
            message_has("arena ") && message_has("scratch 0 (1 thread)") &&
            message_has("memory budget of 1,000 bytes"),
        "the message gives the bytes by part and the budget");
  check_status(load_slow(64, 8, 1 << 20, &model), DYAD_OK, "load with a 1 MiB budget");
  if (model == NULL) return;
  check_status(dyad_session_create(model, &two_threads, &session), DYAD_OK,
               "session with 2 threads within the budget");
  dyad_session_free(session);
  dyad_model_free(model);
}

static void check_run_before_set_input(void) {
  dyad_model* model = NULL;
  dyad_session* session = NULL;
  int8_t y[57 * 57];
  check_status(load_slow(64, 8, 0, &model), DYAD_OK, "load the small pool model");
  if (model == NULL) return;
  check_status(dyad_session_create(model, NULL, &session), DYAD_OK, "session_create");
  dyad_model_free(model); /* the session keeps the model alive */
  if (session == NULL) return;
  check_status(dyad_session_run(session), DYAD_INVALID_ARGUMENT, "run before set_input");
  check(message_has("input 'x'") && message_has("never set"), "the message names input 'x'");
  check_status(dyad_session_get_output(session, 0, y, sizeof y), DYAD_INVALID_ARGUMENT,
               "no output after a refused run");
  dyad_session_free(session);
}

static void check_timeout(void) {
  dyad_model* model = NULL;
  dyad_session* session;
  double start, ms;
  int8_t* y;
  char line[128];
  check_status(load_slow(512, 256, 0, &model), DYAD_OK, "load the minutes-long pool model");
  if (model == NULL) return;
  session = session_with_input(model, 2);
  check(session != NULL, "session with its input set");
  if (session != NULL) {
    check_status(dyad_session_set_run_timeout(session, 50000), DYAD_OK, "set_run_timeout 50 ms");
    start = now_ms();
    check_status(dyad_session_run(session), DYAD_DEADLINE_EXCEEDED, "run with a 50 ms timeout");
    ms = now_ms() - start;
    check(message_has("node 'pool'"), "the message names the node where it stopped");
    snprintf(line, sizeof line, "the run returned within 1 s (%.1f ms)", ms);
    check(ms < 1000.0, line);
    y = output_of(session, (size_t)257 * 257);
    check(y == NULL, "no output after a timed-out run");
    free(y);
    dyad_session_free(session);
  }
  check_status(dyad_session_set_run_timeout(NULL, 1), DYAD_INVALID_ARGUMENT, "set_run_timeout(NULL)");
  dyad_session_cancel(NULL); /* does nothing */
  dyad_model_free(model);
}

struct canceller {
  dyad_session* session;
  int delay_ms;
  int done; /* the run has returned; guarded by mutex */
  pthread_mutex_t mutex;
};

static int is_done(struct canceller* c) {
  int done;
  pthread_mutex_lock(&c->mutex);
  done = c->done;
  pthread_mutex_unlock(&c->mutex);
  return done;
}

/* Cancels after delay_ms, then every millisecond until the run has returned, so
 * a cancel that lands before the run starts on a busy machine cannot decide the
 * outcome. */
static void* cancel_loop(void* arg) {
  struct canceller* c = arg;
  struct timespec delay = {0, 0}, one_ms = {0, 1000000};
  delay.tv_nsec = (long)c->delay_ms * 1000000L;
  nanosleep(&delay, NULL);
  while (!is_done(c)) {
    dyad_session_cancel(c->session);
    nanosleep(&one_ms, NULL);
  }
  return NULL;
}

static dyad_status run_with_canceller(dyad_session* session, int delay_ms, double* ms) {
  struct canceller c;
  pthread_t thread;
  dyad_status s;
  double start;
  c.session = session;
  c.delay_ms = delay_ms;
  c.done = 0;
  pthread_mutex_init(&c.mutex, NULL);
  pthread_create(&thread, NULL, cancel_loop, &c);
  start = now_ms();
  s = dyad_session_run(session);
  *ms = now_ms() - start;
  pthread_mutex_lock(&c.mutex);
  c.done = 1;
  pthread_mutex_unlock(&c.mutex);
  pthread_join(thread, NULL);
  pthread_mutex_destroy(&c.mutex);
  return s;
}

static void check_cancel_and_reuse(void) {
  const size_t out_bytes = (size_t)193 * 193; /* side 256, window 64 */
  dyad_model* model = NULL;
  dyad_session *session, *fresh;
  int8_t *y = NULL, *want = NULL;
  double ms = 0;
  char line[128];
  check_status(load_slow(256, 64, 0, &model), DYAD_OK, "load the 100 ms pool model");
  if (model == NULL) return;
  session = session_with_input(model, 2);
  fresh = session_with_input(model, 1);
  check(session != NULL && fresh != NULL, "two sessions with their input set");
  if (session == NULL || fresh == NULL) return;

  dyad_session_cancel(session); /* idle: no effect */
  check_status(dyad_session_run(session), DYAD_OK, "run after a cancel while idle");
  want = output_of(session, out_bytes);
  check(want != NULL, "outputs after a complete run");

  check_status(run_with_canceller(session, 5, &ms), DYAD_CANCELLED,
               "run cancelled from another thread");
  check(message_has("node 'pool'") && message_has("cancelled"), "the message names the node");
  snprintf(line, sizeof line, "the cancelled run returned within 1 s (%.1f ms)", ms);
  check(ms < 1000.0, line);
  y = output_of(session, out_bytes);
  check(y == NULL, "no output after a cancelled run");
  free(y);

  check_status(dyad_session_set_run_timeout(session, 1), DYAD_OK, "set_run_timeout 1 us");
  check_status(dyad_session_run(session), DYAD_DEADLINE_EXCEEDED, "run past a 1 us timeout");
  check_status(dyad_session_set_run_timeout(session, 0), DYAD_OK, "set_run_timeout 0 (none)");
  check_status(dyad_session_run(session), DYAD_OK, "the next run succeeds");
  y = output_of(session, out_bytes);
  check_status(dyad_session_run(fresh), DYAD_OK, "run of a fresh session");
  free(want);
  want = output_of(fresh, out_bytes);
  check(y != NULL && want != NULL && memcmp(y, want, out_bytes) == 0,
        "after a cancel and a timeout the output equals a fresh session's");
  free(y);
  free(want);
  dyad_session_free(session);
  dyad_session_free(fresh);
  dyad_model_free(model);
}

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  check_budget();
  check_run_before_set_input();
  check_timeout();
  check_cancel_and_reuse();
  if (g_failures) printf("%d check(s) failed\n", g_failures);
  return g_failures ? 1 : 0;
}
