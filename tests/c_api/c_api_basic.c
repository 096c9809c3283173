/* The C API end to end on models/examples/tiny_fc.json (docs/format.md):
 * load, introspect, run with integer and float inputs, error paths, free.
 * Run as `c_api_basic <source_dir>`; prints one line per check and exits
 * non-zero on any failure.
 *
 * tiny_fc: y = fully_connected(x, w, b), x int8 [1, 4] (scale 0.05, zp 0),
 * w = [[1, -2, 3, -4], [5, 6, -7, 8]], b = [100, -50],
 * multiplier 2^30 for both channels, shift [40, 39], y int8 (scale 0.1, zp -3).
 * So acc[c] = b[c] + sum_k x[k] * w[c][k] and
 *   y[0] = clamp(-3 + rne(acc[0] / 1024)),  y[1] = clamp(-3 + rne(acc[1] / 512)),
 * rne rounding half to even. Hand-computed cases (acc0, acc1 -> y0, y1):
 *   x = [0, 0, 0, 0]:           100,    -50  -> rne(0.098)=0,  rne(-0.098)=0  -> -3, -3
 *   x = [127, -128, 100, -100]: 100+127+256+300+400 = 1183 -> rne(1.155)=1 -> -2;
 *                               -50+635-768-700-800 = -1683 -> rne(-3.287)=-3 -> -6
 *   x = [127, 127, -128, 127]:  100+127-254-384-508 = -919 -> rne(-0.897)=-1 -> -4;
 *                               -50+635+762+896+1016 = 3259 -> rne(6.365)=6 -> 3
 * Ties (the half-to-even rule; half away from zero or a floor would differ):
 *   x = [112, -100, 0, -25]:    100+112+200+0+100 = 512 -> rne(0.5)=0 -> -3;
 *                               -50+560-600+0-200 = -290 -> rne(-0.566)=-1 -> -4
 *   x = [0, 100, -100, 28]:     100+0-200-300-112 = -512 -> rne(-0.5)=0 -> -3;
 *                               -50+0+600+700+224 = 1474 -> rne(2.879)=3 -> 0
 *   x = [10, 0, 0, 96]:         100+10-384 = -274 -> 0 -> -3;  -50+50+768 = 768 -> rne(1.5)=2 -> -1
 *   x = [2, 0, 0, 37]:          100+2-148 = -46 -> 0 -> -3;    -50+10+296 = 256 -> rne(0.5)=0 -> -3
 *   x = [0, 0, 2, -88]:         100+6+352 = 458 -> 0 -> -3;    -50-14-704 = -768 -> rne(-1.5)=-2 -> -5
 *   x = [0, 99, 0, 92]:         100-198-368 = -466 -> 0 -> -3; -50+594+736 = 1280 -> rne(2.5)=2 -> -1
 */
#include <dyad/dyad.h>

#include "c_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole file; NULL on failure. */
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

struct fc_case {
  int8_t x[4];
  int8_t y[2];
};

static const struct fc_case kCases[] = {
    {{0, 0, 0, 0}, {-3, -3}},          {{127, -128, 100, -100}, {-2, -6}},
    {{127, 127, -128, 127}, {-4, 3}},  {{112, -100, 0, -25}, {-3, -4}},
    {{0, 100, -100, 28}, {-3, 0}},     {{10, 0, 0, 96}, {-3, -1}},
    {{2, 0, 0, 37}, {-3, -3}},         {{0, 0, 2, -88}, {-3, -5}},
    {{0, 99, 0, 92}, {-3, -1}},
};
#define NUM_CASES (sizeof kCases / sizeof kCases[0])

static void check_info(const dyad_model* model) {
  dyad_tensor_info in, out;
  check(dyad_model_num_inputs(model) == 1, "one input");
  check(dyad_model_num_outputs(model) == 1, "one output");
  check_status(dyad_model_input_info(model, 0, &in), DYAD_OK, "input_info(0)");
  check(strcmp(in.name, "x") == 0, "input 0 is named x");
  check(in.dtype == DYAD_INT8, "input x is int8");
  check(in.rank == 2 && in.shape[0] == 1 && in.shape[1] == 4, "input x has shape [1, 4]");
  check(in.num_elements == 4 && in.bytes == 4, "input x has 4 elements in 4 bytes");
  check(in.num_scales == 1 && in.scales[0] == 0.05, "input x scale 0.05");
  check(in.zero_points[0] == 0 && in.quant_axis == -1, "input x zero point 0, per tensor");

  check_status(dyad_model_output_info(model, 0, &out), DYAD_OK, "output_info(0)");
  check(strcmp(out.name, "y") == 0, "output 0 is named y");
  check(out.dtype == DYAD_INT8, "output y is int8");
  check(out.rank == 2 && out.shape[0] == 1 && out.shape[1] == 2,
        "output y has the inferred shape [1, 2]");
  check(out.num_elements == 2 && out.bytes == 2, "output y has 2 elements in 2 bytes");
  check(out.num_scales == 1 && out.scales[0] == 0.1, "output y scale 0.1");
  check(out.zero_points[0] == -3 && out.quant_axis == -1, "output y zero point -3, per tensor");
}

static void check_int_runs(dyad_session* session) {
  size_t i;
  int all = 1;
  for (i = 0; i < NUM_CASES; ++i) {
    int8_t y[2] = {99, 99};
    if (dyad_session_set_input(session, 0, kCases[i].x, 4) != DYAD_OK ||
        dyad_session_run(session) != DYAD_OK ||
        dyad_session_get_output(session, 0, y, 2) != DYAD_OK || y[0] != kCases[i].y[0] ||
        y[1] != kCases[i].y[1]) {
      printf("      case %u: x = [%d, %d, %d, %d] gave y = [%d, %d], want [%d, %d]\n",
             (unsigned)i, kCases[i].x[0], kCases[i].x[1], kCases[i].x[2], kCases[i].x[3], y[0],
             y[1], kCases[i].y[0], kCases[i].y[1]);
      all = 0;
    }
  }
  check(all, "integer runs equal the hand-computed outputs (incl. rounding ties)");
}

static void check_float_runs(dyad_session* session) {
  /* x / 0.05 = [127, -128, 100, -100] -> y = [-2, -6] (case 1). */
  const float x1[4] = {6.35f, -6.4f, 5.0f, -5.0f};
  /* Beyond the int8 range: clamps to [127, -128, 100, -100] again. */
  const float x2[4] = {100.0f, -1e30f, 5.0f, -5.0f};
  /* 0.55/0.05 = 11, 0.5/0.05 = 10 -> x = [11, 0, 10, 0]:
   * acc0 = 100 + 11 + 30 = 141 -> rne(0.138) = 0 -> -3; acc1 = -50 + 55 - 70 = -65 -> 0 -> -3 */
  const float x3[4] = {0.55f, 0.0f, 0.5f, 0.0f};
  const float nan_x[4] = {0.0f, NAN, 0.0f, 0.0f};
  int8_t y[2];
  float yf[2];

  check_status(dyad_session_set_input_f32(session, 0, x1, 4), DYAD_OK, "set_input_f32");
  check_status(dyad_session_run(session), DYAD_OK, "run");
  check_status(dyad_session_get_output(session, 0, y, 2), DYAD_OK, "get_output");
  check(y[0] == -2 && y[1] == -6, "float input quantized to [127, -128, 100, -100] gives [-2, -6]");
  check_status(dyad_session_get_output_f32(session, 0, yf, 2), DYAD_OK, "get_output_f32");
  /* (q - zp) * scale in double, then rounded to float: (1) * 0.1 and (-3) * 0.1. */
  check(yf[0] == (float)(1 * 0.1) && yf[1] == (float)(-3 * 0.1),
        "dequantized output is (q + 3) * 0.1 = [0.1, -0.3]");

  check_status(dyad_session_set_input_f32(session, 0, x2, 4), DYAD_OK, "set_input_f32 (large)");
  check_status(dyad_session_run(session), DYAD_OK, "run");
  check_status(dyad_session_get_output(session, 0, y, 2), DYAD_OK, "get_output");
  check(y[0] == -2 && y[1] == -6, "out-of-range float input saturates to the int8 range");

  check_status(dyad_session_set_input_f32(session, 0, x3, 4), DYAD_OK, "set_input_f32 (small)");
  check_status(dyad_session_run(session), DYAD_OK, "run");
  check_status(dyad_session_get_output(session, 0, y, 2), DYAD_OK, "get_output");
  check(y[0] == -3 && y[1] == -3, "float input [0.55, 0, 0.5, 0] gives [-3, -3]");

  check_status(dyad_session_set_input_f32(session, 0, nan_x, 4), DYAD_INVALID_ARGUMENT,
               "set_input_f32 with a NaN");
  check(strstr(dyad_last_error_message(), "NaN") != NULL, "the message mentions NaN");
  check_status(dyad_session_set_input_f32(session, 0, x1, 3), DYAD_INVALID_ARGUMENT,
               "set_input_f32 with 3 values for 4 elements");
  check_status(dyad_session_get_output_f32(session, 0, yf, 1), DYAD_INVALID_ARGUMENT,
               "get_output_f32 with a count of 1 for 2 elements");
}

static void check_session_errors(const dyad_model* model, dyad_session* session) {
  dyad_tensor_info info;
  dyad_session_options bad_threads = DYAD_SESSION_OPTIONS_INIT;
  dyad_session* s2 = NULL;
  int8_t x[4] = {0, 0, 0, 0}, y[2];
  float xf[4] = {0};

  check_status(dyad_model_input_info(model, 1, &info), DYAD_INVALID_ARGUMENT, "input_info(1)");
  check(strstr(dyad_last_error_message(), "index 1") != NULL, "the message names the index");
  check_status(dyad_model_output_info(model, 7, &info), DYAD_INVALID_ARGUMENT, "output_info(7)");
  check_status(dyad_model_input_info(NULL, 0, &info), DYAD_INVALID_ARGUMENT, "input_info(NULL model)");
  check_status(dyad_model_input_info(model, 0, NULL), DYAD_INVALID_ARGUMENT, "input_info(NULL out)");
  check(dyad_model_num_inputs(NULL) == 0, "num_inputs(NULL) is 0");

  check_status(dyad_session_set_input(session, 1, x, 4), DYAD_INVALID_ARGUMENT, "set_input(index 1)");
  check_status(dyad_session_set_input(session, 0, x, 3), DYAD_INVALID_ARGUMENT, "set_input(3 bytes)");
  check(strstr(dyad_last_error_message(), "'x'") != NULL, "the message names input 'x'");
  check_status(dyad_session_set_input(session, 0, NULL, 4), DYAD_INVALID_ARGUMENT, "set_input(NULL)");
  check_status(dyad_session_set_input(NULL, 0, x, 4), DYAD_INVALID_ARGUMENT, "set_input(NULL session)");
  check_status(dyad_session_set_input_f32(session, 2, xf, 4), DYAD_INVALID_ARGUMENT,
               "set_input_f32(index 2)");
  check_status(dyad_session_get_output(session, 1, y, 2), DYAD_INVALID_ARGUMENT, "get_output(index 1)");
  check_status(dyad_session_get_output(session, 0, y, 4), DYAD_INVALID_ARGUMENT, "get_output(4 bytes)");
  check_status(dyad_session_get_output_f32(session, 3, NULL, 2), DYAD_INVALID_ARGUMENT,
               "get_output_f32(index 3)");
  check_status(dyad_session_run(NULL), DYAD_INVALID_ARGUMENT, "run(NULL)");

  bad_threads.num_threads = -2;
  check_status(dyad_session_create(model, &bad_threads, &s2), DYAD_INVALID_ARGUMENT,
               "session_create(num_threads -2)");
  check(s2 == NULL, "a failed session_create leaves *out NULL");
  check_status(dyad_session_create(NULL, NULL, &s2), DYAD_INVALID_ARGUMENT, "session_create(NULL model)");
  check_status(dyad_session_create(model, NULL, NULL), DYAD_INVALID_ARGUMENT, "session_create(NULL out)");

  check_status(dyad_session_create(model, NULL, &s2), DYAD_OK, "session_create");
  check_status(dyad_session_get_output(s2, 0, y, 2), DYAD_INVALID_ARGUMENT,
               "get_output before any run");
  dyad_session_free(s2);
  dyad_session_free(NULL);
}

static void check_load_errors(const char* source_dir) {
  char path[4096];
  dyad_model* model = (dyad_model*)&model; /* must be reset to NULL on failure */
  const char* bad_json = "{\"format\": \"dyad\", \"version\": ";
  const char* not_dyad = "{\"format\": \"onnx\", \"version\": \"1.0\", \"inputs\": [], "
                         "\"outputs\": [], \"tensors\": [], \"nodes\": []}";
  const char* too_new = "{\"format\": \"dyad\", \"version\": \"2.0\", \"inputs\": [], "
                        "\"outputs\": [], \"tensors\": [], \"nodes\": []}";

  snprintf(path, sizeof path, "%s/models/examples/no_such_model.json", source_dir);
  check_status(dyad_model_load(path, NULL, &model), DYAD_IO_ERROR, "load of a missing file");
  check(model == NULL, "a failed load leaves *out NULL");
  check(strstr(dyad_last_error_message(), "no_such_model.json") != NULL,
        "the message names the missing file");

  check_status(dyad_model_load_from_memory(bad_json, strlen(bad_json), NULL, 0, NULL, &model),
               DYAD_PARSE_ERROR, "load_from_memory of truncated JSON");
  check(dyad_last_error_message()[0] != '\0', "a parse error has a message");
  check_status(dyad_model_load_from_memory(not_dyad, strlen(not_dyad), NULL, 0, NULL, &model),
               DYAD_INVALID_MODEL, "load_from_memory of a non-dyad document");
  check(strstr(dyad_last_error_message(), "format") != NULL, "the message names the field 'format'");
  check_status(dyad_model_load_from_memory(too_new, strlen(too_new), NULL, 0, NULL, &model),
               DYAD_UNSUPPORTED, "load_from_memory of format version 2.0");
  check_status(dyad_model_load(NULL, NULL, &model), DYAD_INVALID_ARGUMENT, "load(NULL path)");
  check_status(dyad_model_load(path, NULL, NULL), DYAD_INVALID_ARGUMENT, "load(NULL out)");
  check_status(dyad_model_load_from_memory(NULL, 3, NULL, 0, NULL, &model), DYAD_INVALID_ARGUMENT,
               "load_from_memory(NULL json)");
  check_status(dyad_model_load_from_memory(too_new, strlen(too_new), NULL, 8, NULL, &model),
               DYAD_INVALID_ARGUMENT, "load_from_memory(NULL weights, 8 bytes)");
  check(model == NULL, "*out is NULL after every failed load");
}

/* The same model from memory, and a session that outlives its model. */
static void check_from_memory(const char* path) {
  size_t bytes = 0;
  char* json = read_file(path, &bytes);
  dyad_model* model = NULL;
  dyad_session* session = NULL;
  int8_t y[2] = {0, 0};

  check(json != NULL, "read the model JSON into memory");
  if (json == NULL) return;
  check_status(dyad_model_load_from_memory(json, bytes, NULL, 0, NULL, &model), DYAD_OK,
               "load_from_memory of tiny_fc.json");
  free(json); /* the model copied it */
  if (model == NULL) return;
  check_status(dyad_session_create(model, NULL, &session), DYAD_OK, "session_create");
  dyad_model_free(model); /* the session keeps what it needs */
  if (session == NULL) return;
  check_status(dyad_session_set_input(session, 0, kCases[2].x, 4), DYAD_OK,
               "set_input after the model was freed");
  check_status(dyad_session_run(session), DYAD_OK, "run after the model was freed");
  check_status(dyad_session_get_output(session, 0, y, 2), DYAD_OK, "get_output");
  check(y[0] == kCases[2].y[0] && y[1] == kCases[2].y[1],
        "a model loaded from memory gives the same output [-4, 3]");
  dyad_session_free(session);
}

/* The float boundary on its own: an identity requantize (m = 2^30, e = 30) of an
 * int8 [2, 2] tensor with per-channel scales [0.5, 0.25] along axis 1 and zero
 * point 3 (requantize takes one zero point), so y = x and the output shows the
 * quantized input. x = [0.25, 0.625, -1.25, 100.0]; channels 0, 1, 0, 1:
 *   0.25 / 0.5 = 0.5    -> rne 0  -> 0 + 3 = 3    (half away from zero would give 4)
 *   0.625 / 0.25 = 2.5  -> rne 2  -> 2 + 3 = 5    (half away: 6; scale[0] for all: 4)
 *   -1.25 / 0.5 = -2.5  -> rne -2 -> -2 + 3 = 1   (half away: 0)
 *   100 / 0.25 = 400    -> 403 after the zero point, saturates to 127
 * Dequantized: (3-3)*0.5 = 0, (5-3)*0.25 = 0.5, (1-3)*0.5 = -1, (127-3)*0.25 = 31. */
static void check_boundary_model(void) {
  const char* json =
      "{\"format\": \"dyad\", \"version\": \"1.0\", \"name\": \"boundary\","
      " \"inputs\": [\"x\"], \"outputs\": [\"y\"],"
      " \"tensors\": ["
      "  {\"name\": \"x\", \"dtype\": \"int8\", \"shape\": [2, 2], \"scale\": [0.5, 0.25],"
      "   \"zero_point\": 3, \"axis\": 1},"
      "  {\"name\": \"y\", \"dtype\": \"int8\", \"shape\": [2, 2], \"scale\": [0.5, 0.25],"
      "   \"zero_point\": 3, \"axis\": 1}],"
      " \"nodes\": [{\"name\": \"copy\", \"op\": \"requantize\", \"inputs\": [\"x\"],"
      "  \"outputs\": [\"y\"], \"attrs\": {\"multiplier\": 1073741824, \"shift\": 30}}]}";
  const float x[4] = {0.25f, 0.625f, -1.25f, 100.0f};
  dyad_model* model = NULL;
  dyad_session* session = NULL;
  dyad_tensor_info info;
  int8_t y[4] = {0, 0, 0, 0};
  float yf[4] = {0, 0, 0, 0};

  check_status(dyad_model_load_from_memory(json, strlen(json), NULL, 0, NULL, &model), DYAD_OK,
               "load_from_memory of a per-channel identity model");
  if (model == NULL) return;
  check_status(dyad_model_input_info(model, 0, &info), DYAD_OK, "input_info(0)");
  check(info.num_scales == 2 && info.scales[0] == 0.5 && info.scales[1] == 0.25 &&
            info.zero_points[0] == 3 && info.zero_points[1] == 3 && info.quant_axis == 1,
        "per-channel info: scales [0.5, 0.25], zero points [3, 3] (expanded), axis 1");
  check_status(dyad_session_create(model, NULL, &session), DYAD_OK, "session_create");
  if (session != NULL) {
    check_status(dyad_session_set_input_f32(session, 0, x, 4), DYAD_OK, "set_input_f32");
    check_status(dyad_session_run(session), DYAD_OK, "run");
    check_status(dyad_session_get_output(session, 0, y, 4), DYAD_OK, "get_output");
    check(y[0] == 3 && y[1] == 5 && y[2] == 1 && y[3] == 127,
          "per-channel quantization rounds half to even and saturates: [3, 5, 1, 127]");
    check_status(dyad_session_get_output_f32(session, 0, yf, 4), DYAD_OK, "get_output_f32");
    check(yf[0] == 0.0f && yf[1] == 0.5f && yf[2] == -1.0f && yf[3] == 31.0f,
          "per-channel dequantization: [0, 0.5, -1, 31]");
    dyad_session_free(session);
  }
  dyad_model_free(model);
}

int main(int argc, char** argv) {
  char path[4096];
  dyad_model* model = NULL;
  dyad_session* session = NULL;
  dyad_session_options options = DYAD_SESSION_OPTIONS_INIT;
  unsigned major, minor, patch;
  int status;

  if (argc != 2) {
    fprintf(stderr, "usage: %s SOURCE_DIR\n", argv[0]);
    return 2;
  }
  check(sscanf(dyad_version(), "%u.%u.%u", &major, &minor, &patch) == 3,
        "dyad_version() is MAJOR.MINOR.PATCH");
  printf("      (version %s)\n", dyad_version());
  check(major == DYAD_VERSION_MAJOR && minor == DYAD_VERSION_MINOR && patch == DYAD_VERSION_PATCH,
        "dyad_version() equals DYAD_VERSION_MAJOR.MINOR.PATCH of the header");
  for (status = DYAD_OK; status <= DYAD_INTERNAL_ERROR; ++status)
    if (dyad_status_string((dyad_status)status) == NULL) check(0, "every status has a string");
  check(strcmp(dyad_status_string(DYAD_OK), "ok") == 0, "dyad_status_string(DYAD_OK) is \"ok\"");

  snprintf(path, sizeof path, "%s/models/examples/tiny_fc.json", argv[1]);
  check_status(dyad_model_load(path, NULL, &model), DYAD_OK, "load models/examples/tiny_fc.json");
  if (model == NULL) {
    printf("cannot continue without the model\n");
    return 1;
  }
  check_info(model);

  options.num_threads = 2;
  check_status(dyad_session_create(model, &options, &session), DYAD_OK, "session_create (2 threads)");
  if (session != NULL) {
    check_int_runs(session);
    check_float_runs(session);
    check_session_errors(model, session);
    dyad_session_free(session);
  }
  dyad_model_free(model);
  dyad_model_free(NULL);

  check_load_errors(argv[1]);
  check_from_memory(path);
  check_boundary_model();

  printf("%s: %d failure(s)\n", g_failures ? "FAILED" : "PASSED", g_failures);
  return g_failures ? 1 : 0;
}
