/* A program built against an installed dyad package (tests/package/install_test.cmake):
 * it sees only <dyad/dyad.h> and libdyad. Runs models/examples/tiny_fc.json on
 * x = [127, -128, 100, -100], found by name, and checks y = [-2, -6] (worked
 * out by hand in tests/c_api/c_api_basic.c). Usage: consumer MODEL.json */
#include <dyad/dyad.h>

#include <stdio.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)

int main(int argc, char** argv) {
  const char* header_version =
      STR(DYAD_VERSION_MAJOR) "." STR(DYAD_VERSION_MINOR) "." STR(DYAD_VERSION_PATCH);
  dyad_model_options options = DYAD_MODEL_OPTIONS_INIT;
  dyad_session_options session_options = DYAD_SESSION_OPTIONS_INIT;
  dyad_model* model = NULL;
  dyad_session* session = NULL;
  const int8_t x[4] = {127, -128, 100, -100};
  int8_t y[2] = {0, 0};
  size_t in = 99, out = 99;
  int ok;

  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.json\n", argv[0]);
    return 2;
  }
  if (strcmp(dyad_version(), header_version) != 0) {
    fprintf(stderr, "library %s, header %s\n", dyad_version(), header_version);
    return 1;
  }
  ok = dyad_model_load(argv[1], &options, &model) == DYAD_OK &&
       dyad_model_find_input(model, "x", &in) == DYAD_OK &&
       dyad_model_find_output(model, "y", &out) == DYAD_OK &&
       dyad_session_create(model, &session_options, &session) == DYAD_OK &&
       dyad_session_set_input(session, in, x, sizeof x) == DYAD_OK &&
       dyad_session_run(session) == DYAD_OK &&
       dyad_session_get_output(session, out, y, sizeof y) == DYAD_OK;
  if (!ok) fprintf(stderr, "dyad: %s\n", dyad_last_error_message());
  dyad_session_free(session);
  dyad_model_free(model);
  if (!ok) return 1;
  printf("dyad %s: y = [%d, %d]\n", dyad_version(), y[0], y[1]);
  return y[0] == -2 && y[1] == -6 ? 0 : 1;
}
