"""Tests of `dyad serve` against the real server process on loopback.

    /usr/bin/python3 tests/serve/serve_test.py DYAD_BINARY SOURCE_DIR GROUP

GROUP is one of: endpoints, errors, concurrency, overload, drain. Each starts
its own server with --port 0 and talks to it with the standard library's
http.client (real TCP connections). Expected outputs come from `dyad run` on
the same inputs (.npy files), never from the server itself.
"""
import atexit
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

DYAD, SOURCE, GROUP = sys.argv[1], sys.argv[2], sys.argv[3]
MODELS = {
    "resnet": os.path.join(SOURCE, "models/fmnist/resnet_int8.json"),
    "vit": os.path.join(SOURCE, "models/fmnist/vit_int8.json"),
}
SHAPE = [1, 28, 28, 1]
TMP = tempfile.mkdtemp(prefix="dyad_serve_test_")
atexit.register(shutil.rmtree, TMP, True)


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


# ---- the server ------------------------------------------------------------------

class Server:
    def __init__(self, *extra, models=("resnet",)):
        args = [DYAD, "serve", "--port", "0"]
        for m in models:
            args += ["--model", "%s=%s" % (m, MODELS[m])]
        self.stderr_path = os.path.join(TMP, "server_%d.stderr" % time.monotonic_ns())
        self.stderr = open(self.stderr_path, "w+")
        self.proc = subprocess.Popen(args + list(extra), stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        check(ready, "the server printed no ready line within 30 s")
        self.ready_line = self.proc.stdout.readline()
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+) ", self.ready_line)
        check(found, "unexpected ready line: %r" % self.ready_line)
        self.port = int(found.group(1))
        for m in models:
            check(m + "=" in self.ready_line, "the ready line does not name model " + m)

    def connect(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """Returns (status, headers dict (lower-case names), body bytes)."""
        own = conn is None
        c = conn or self.connect()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if own:
            c.close()
        return r.status, hdrs, data

    def stop(self, expect_code=0):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        check(rc == expect_code, "the server exited with %d, expected %d" % (rc, expect_code))
        self.stderr.seek(0)
        return self.stderr.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---- references from `dyad run` ---------------------------------------------------

def reference(model, image):
    """Runs `dyad run` on `image` (uint8 or float32 array of SHAPE); returns
    (logits int8 array, logits float32 array)."""
    d = tempfile.mkdtemp(dir=TMP)
    path = os.path.join(d, "image.npy")
    np.save(path, image)
    subprocess.run([DYAD, "run", MODELS[model], "--input", "image=" + path, "--output-dir", d],
                   check=True, stdout=subprocess.DEVNULL)
    return np.load(os.path.join(d, "logits.npy")), np.load(os.path.join(d, "logits.f32.npy"))


def images(count, seed):
    rng = np.random.RandomState(seed)
    return [rng.randint(0, 256, size=SHAPE).astype(np.uint8) for _ in range(count)]


# ---- requests ---------------------------------------------------------------------

def json_request(image, datatype="UINT8", outputs=None, rid=None):
    body = {"inputs": [{"name": "image", "shape": SHAPE, "datatype": datatype,
                        "data": image.flatten().tolist()}]}
    if outputs is not None:
        body["outputs"] = outputs
    if rid is not None:
        body["id"] = rid
    return json.dumps(body).encode()


def binary_request(image, outputs=None, datatype="UINT8"):
    raw = image.astype(np.float32 if datatype == "FP32" else np.uint8).tobytes()
    header = {"inputs": [{"name": "image", "shape": SHAPE, "datatype": datatype,
                          "parameters": {"binary_data_size": len(raw)}}]}
    if outputs is not None:
        header["outputs"] = outputs
    h = json.dumps(header).encode()
    return h + raw, {"Inference-Header-Content-Length": str(len(h)),
                     "Content-Type": "application/octet-stream"}


def decode_reply(headers, body):
    """Returns (json part, {output name: numpy array})."""
    if "inference-header-content-length" in headers:
        n = int(headers["inference-header-content-length"])
        head, binary = json.loads(body[:n]), body[n:]
    else:
        head, binary = json.loads(body), b""
    arrays, offset = {}, 0
    kinds = {"INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "INT32": np.int32,
             "INT64": np.int64, "FP32": np.float32}
    for o in head["outputs"]:
        kind = kinds[o["datatype"]]
        if "data" in o:
            a = np.array(o["data"], dtype=kind)
        else:
            size = o["parameters"]["binary_data_size"]
            a = np.frombuffer(binary[offset:offset + size], dtype=kind)
            offset += size
        arrays[o["name"]] = a.reshape(o["shape"])
    check(offset == len(binary), "binary reply has %d unclaimed bytes" % (len(binary) - offset))
    return head, arrays


def expect_equal(got, want, what):
    check(got.dtype == want.dtype and got.shape == want.shape,
          "%s: got %s %s, want %s %s" % (what, got.dtype, got.shape, want.dtype, want.shape))
    check(np.array_equal(got, want), "%s: got %s, want %s" % (what, got.tolist(), want.tolist()))


def infer_ok(server, model, image, want, conn=None, binary=False):
    if binary:
        body, headers = binary_request(image, outputs=[{"name": "logits",
                                                        "parameters": {"binary_data": True}}])
    else:
        body, headers = json_request(image), {"Content-Type": "application/json"}
    status, h, data = server.request("POST", "/v2/models/%s/infer" % model, body, headers, conn)
    check(status == 200, "infer on %s: status %d: %s" % (model, status, data[:300]))
    _, arrays = decode_reply(h, data)
    expect_equal(arrays["logits"], want, "%s logits" % model)


# ---- groups -----------------------------------------------------------------------

def test_endpoints():
    server = Server("--log", "--sessions", "2", "--threads", "2", models=("resnet", "vit"))
    try:
        for path, want in [("/v2/health/live", {"live": True}), ("/v2/health/ready", {"ready": True})]:
            status, _, data = server.request("GET", path)
            check(status == 200 and json.loads(data) == want, "%s: %d %s" % (path, status, data))
        status, _, data = server.request("GET", "/v2")
        meta = json.loads(data)
        check(status == 200 and meta["name"] == "dyad" and "binary_tensor_data" in meta["extensions"],
              "/v2: %s" % data)
        for m in MODELS:
            status, _, data = server.request("GET", "/v2/models/" + m)
            meta = json.loads(data)
            model_json = json.load(open(MODELS[m]))
            tensors = {t["name"]: t for t in model_json["tensors"]}
            check(status == 200 and meta["name"] == m, "model metadata: %s" % data)
            for kind in ("inputs", "outputs"):
                got = [(t["name"], t["datatype"], t["shape"]) for t in meta[kind]]
                want = [(n, tensors[n]["dtype"].upper(), tensors[n]["shape"]) for n in model_json[kind]]
                check(got == want, "%s %s: got %s, want %s" % (m, kind, got, want))
            status, _, data = server.request("GET", "/v2/models/%s/ready" % m)
            check(status == 200 and json.loads(data)["ready"] is True, "model ready: %s" % data)
        status, _, data = server.request("GET", "/v2/models/nope/ready")
        check(status == 404 and "nope" in json.loads(data)["error"], "unknown model ready: %s" % data)

        for m in MODELS:
            for k, image in enumerate(images(3, 7 if m == "resnet" else 8)):
                want_q, want_f = reference(m, image)
                # JSON in, JSON out, with an id; nested data; binary in and out.
                status, h, data = server.request(
                    "POST", "/v2/models/%s/infer" % m, json_request(image, rid="req-%d" % k))
                check(status == 200, "infer: %d %s" % (status, data[:300]))
                head, arrays = decode_reply(h, data)
                check(head["id"] == "req-%d" % k and head["model_name"] == m, "reply head: %s" % head)
                expect_equal(arrays["logits"], want_q, m + " JSON logits")
                nested = json.dumps({"inputs": [{"name": "image", "shape": SHAPE, "datatype": "UINT8",
                                                 "data": image.tolist()}]}).encode()
                status, h, data = server.request("POST", "/v2/models/%s/infer" % m, nested)
                expect_equal(decode_reply(h, data)[1]["logits"], want_q, m + " nested-data logits")
                infer_ok(server, m, image, want_q, binary=True)
                # Dequantized output, JSON and binary, equal to dyad run's .f32.npy.
                for binary in (False, True):
                    params = {"dequantize": True, "binary_data": binary}
                    status, h, data = server.request("POST", "/v2/models/%s/infer" % m,
                                                     json_request(image, outputs=[
                                                         {"name": "logits", "parameters": params}]))
                    head, arrays = decode_reply(h, data)
                    check(head["outputs"][0]["datatype"] == "FP32", "dequantized datatype")
                    expect_equal(arrays["logits"], want_f, m + " dequantized logits (binary=%s)" % binary)
            # FP32 inputs, quantized by the server like dyad run quantizes a float32 .npy.
            rng = np.random.RandomState(11)
            fimage = (rng.rand(*SHAPE) * 1.2 - 0.1).astype(np.float32)
            want_q, _ = reference(m, fimage)
            status, h, data = server.request("POST", "/v2/models/%s/infer" % m,
                                             json_request(fimage, datatype="FP32"))
            check(status == 200, "FP32 infer: %d %s" % (status, data[:300]))
            expect_equal(decode_reply(h, data)[1]["logits"], want_q, m + " FP32-JSON logits")
            body, headers = binary_request(fimage, datatype="FP32")
            status, h, data = server.request("POST", "/v2/models/%s/infer" % m, body, headers)
            expect_equal(decode_reply(h, data)[1]["logits"], want_q, m + " FP32-binary logits")

        # Per model: 17 inferences + metadata + ready.
        needles = ['dyad_requests_total{model="resnet",code="200"} 19',
                   'dyad_requests_total{model="vit",code="200"} 19',
                   'dyad_request_errors_total{model="",code="404"} 1',
                   'dyad_infer_duration_seconds_count{model="resnet"} 17',
                   'dyad_infer_duration_seconds_bucket{model="vit",le="+Inf"} 17',
                   'dyad_queue_depth{model="resnet"} 0', 'dyad_sessions_busy{model="vit"} 0',
                   'dyad_sessions{model="resnet"} 2']
        polls = metrics_show(server, needles)
    finally:
        if server.proc.poll() is None:
            log = server.stop()
        server.kill()
    # 41 requests before /metrics, then `polls` reads of /metrics (all 200), and one 404.
    check("answered" in log and "%d x 200" % (41 + polls) in log, "exit summary: %s" % log)
    access = server.proc.stdout.read().splitlines()
    check(len(access) == 42 + polls, "expected %d access log lines, got %d" % (42 + polls, len(access)))
    check(re.search(r'127\.0\.0\.1:\d+ "POST /v2/models/vit/infer" 200 ', "\n".join(access)),
          "access log line format: %s" % access[-1])


def test_errors():
    server = Server("--max-body-bytes", "64K", "--io-timeout", "1", "--sessions", "1")
    image = images(1, 3)[0]
    want, _ = reference("resnet", image)
    good = json.loads(json_request(image))

    def with_input(**changes):
        body = json.loads(json.dumps(good))
        body["inputs"][0].update(changes)
        return json.dumps(body).encode()

    big = np.zeros(SHAPE, np.uint8)
    cases = [
        # (what, body or (body, headers), path, status, words the message must hold)
        ("malformed JSON", b'{"inputs": [', None, 400, ["malformed JSON"]),
        ("not an object", b"[1, 2]", None, 400, ["object"]),
        ("missing inputs", b"{}", None, 400, ["'inputs'"]),
        ("deep nesting", b"[" * 100 + b"]" * 100, None, 400, ["nested"]),
        ("wrong datatype", with_input(datatype="INT32"), None, 400, ["'image'", "'datatype'", "UINT8"]),
        ("unknown datatype", with_input(datatype="BOOL"), None, 400, ["'image'", "'datatype'"]),
        ("wrong shape", with_input(shape=[1, 28, 28]), None, 400, ["'image'", "'shape'", "[1,28,28,1]"]),
        ("bad shape", with_input(shape="1x28"), None, 400, ["'image'", "'shape'"]),
        ("too few values", with_input(data=image.flatten().tolist()[:-1]), None, 400,
         ["'image'", "'data'", "783"]),
        ("too many values", with_input(data=image.flatten().tolist() + [0]), None, 400,
         ["'image'", "'data'", "785"]),
        ("missing data", with_input(data=None), None, 400, ["'image'", "'data'"]),
        ("missing input", json.dumps({"inputs": []}).encode(), None, 400, ["missing input 'image'"]),
        ("unknown input", with_input(name="picture"), None, 400, ["'picture'", "'image'"]),
        ("non-integer", with_input(data=[1.5] + [0] * 783), None, 400, ["'image'", "'data'[0]", "integer"]),
        ("string value", with_input(data=[0] * 5 + ["x"] + [0] * 778), None, 400, ["'data'[5]", "number"]),
        ("out of range high", with_input(data=[0] * 9 + [256] + [0] * 774), None, 400,
         ["'image'", "'data'[9]", "256", "out of range"]),
        ("out of range low", with_input(data=[-1] + [0] * 783), None, 400, ["'data'[0]", "out of range"]),
        ("FP32 out of range", with_input(datatype="FP32", data=[1e39] + [0] * 783), None, 400,
         ["'data'[0]", "FP32"]),
        ("id not a string", json.dumps(dict(good, id=5)).encode(), None, 400, ["'id'"]),
        ("unknown output", json.dumps(dict(good, outputs=[{"name": "probs"}])).encode(), None, 400,
         ["'probs'", "'logits'"]),
        ("bad dequantize", json.dumps(dict(good, outputs=[{"name": "logits", "parameters": {
            "dequantize": "yes"}}])).encode(), None, 400, ["'logits'", "dequantize"]),
        ("binary size mismatch", (lambda b, h: (b[:-1], h))(*binary_request(image)), None, 400,
         ["'image'", "binary"]),
        ("binary header past body", (binary_request(image)[0], {"Inference-Header-Content-Length": "99999"}),
         None, 400, ["Inference-Header-Content-Length"]),
        ("binary leftover", (lambda b, h: (b + b"xx", h))(*binary_request(image)), None, 400, ["2 bytes"]),
        ("binary without header", (binary_request(image)[0][:-784], {}), None, 400,
         ["'image'", "Inference-Header-Content-Length"]),
        ("binary NaN", (lambda b, h: (b[:-4] + struct.pack("<f", float("nan")), h))(
            *binary_request(image.astype(np.float32), datatype="FP32")), None, 400, ["NaN"]),
        ("unknown model", json_request(image), "/v2/models/nope/infer", 404, ["'nope'"]),
        ("body over limit", json_request(big) + b" " * 70000, None, 413, ["limit"]),
    ]
    try:
        for what, body, path, status_want, words in cases:
            body, headers = body if isinstance(body, tuple) else (body, {})
            status, h, data = server.request("POST", path or "/v2/models/resnet/infer", body, headers)
            check(status == status_want, "%s: status %d, want %d: %s" % (what, status, status_want, data[:300]))
            check(h.get("content-type") == "application/json", "%s: content type %s" % (what, h))
            message = json.loads(data)["error"]
            for w in words:
                check(w in message, "%s: the message %r lacks %r" % (what, message, w))
            print("ok  %-24s %d %s" % (what, status, message[:110]), flush=True)
            infer_ok(server, "resnet", image, want)  # still serving, still right
        # Chunked and gzip-compressed bodies: the limit applies to what arrives.
        import gzip
        for what, body, headers, encode_chunked, status_want in [
                ("chunked over limit", iter([b" " * 40000] * 3), {"Transfer-Encoding": "chunked"}, True, 413),
                ("gzip over limit", gzip.compress(json_request(big) + b" " * 200000),
                 {"Content-Encoding": "gzip"}, False, 413),
                ("chunked", iter([json_request(image)[:100], json_request(image)[100:]]),
                 {"Transfer-Encoding": "chunked"}, True, 200),
                ("gzip", gzip.compress(json_request(image)), {"Content-Encoding": "gzip"}, False, 200)]:
            conn = server.connect()
            conn.request("POST", "/v2/models/resnet/infer", body=body, headers=headers,
                         encode_chunked=encode_chunked)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            check(r.status == status_want, "%s: status %d, want %d: %s" % (what, r.status, status_want, data[:200]))
            if status_want == 200:
                expect_equal(decode_reply({}, data)[1]["logits"], want, what + " logits")
            else:
                check("limit" in json.loads(data)["error"], "%s: %s" % (what, data))
            print("ok  %-24s %d" % (what, r.status), flush=True)
            infer_ok(server, "resnet", image, want)
        for method, path, status_want in [("GET", "/nowhere", 404), ("GET", "/v2/models/resnet/infer", 405),
                                          ("GET", "/v2/models/nope", 404)]:
            status, _, data = server.request(method, path)
            check(status == status_want and "error" in json.loads(data), "%s %s: %d %s" % (method, path, status, data))

        # A slow client: half a request, then nothing. With --sessions 1 the next
        # request still runs (no session is held), and the server drops the
        # connection after --io-timeout.
        for partial in (b"POST /v2/models/resnet/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n{\"inp",
                        b"POST /v2/models/resnet/infer HTTP/1.1\r\nHost: x\r\n"):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(partial)
            t0 = time.monotonic()
            infer_ok(server, "resnet", image, want)
            s.settimeout(10)
            try:
                rest = s.recv(4096)
                while rest and b"\r\n\r\n" not in rest:
                    rest += s.recv(4096)
            except ConnectionResetError:
                rest = b""
            closed_after = time.monotonic() - t0
            s.close()
            check(closed_after < 5, "a half-sent request held its connection %.1f s" % closed_after)
            print("ok  slow client dropped after %.2f s %s" % (closed_after, rest[:40]), flush=True)
        infer_ok(server, "resnet", image, want)
        # 26 bad requests and the two slow clients (answered 400 when their read timed out).
        metrics_show(server, ['dyad_request_errors_total{model="resnet",code="400"} 28'])
    finally:
        if server.proc.poll() is None:
            server.stop()
        server.kill()


def metrics_show(server, needles):
    """Checks that /metrics contains every needle; returns how many times it read
    /metrics (each read is itself a request the server counts). A request is counted once its
    reply has been written (the HTTP library's logger hook), so a client may read
    /metrics a moment before the last count lands: poll for up to 5 s (seen under
    ASan)."""
    deadline, polls = time.monotonic() + 5, 0
    while True:
        status, h, data = server.request("GET", "/metrics")
        polls += 1
        text = data.decode()
        check(status == 200 and h["content-type"].startswith("text/plain"), "metrics: %d" % status)
        missing = [n for n in needles if n not in text]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check(not missing, "metrics lack %r:\n%s" % (missing, text))
    return polls


def run_clients(server, count, per_client, inputs, refs, stop_event=None, on_reply=None):
    """`count` threads, each with its own keep-alive connection, sending up to
    `per_client` requests (alternating JSON and binary) over `inputs`. Returns
    a list of per-thread result dicts."""
    results = [dict(ok=0, busy=0, refused=0, errors=[]) for _ in range(count)]
    models = sorted(refs)

    def client(t):
        r = results[t]
        conn = server.connect()
        for i in range(per_client):
            if stop_event is not None and stop_event.is_set() and r["refused"]:
                break
            model = models[(t + i) % len(models)]
            k = (t * per_client + i) % len(inputs)
            try:
                if i % 2:
                    body, headers = binary_request(inputs[k], outputs=[{"name": "logits", "parameters": {"binary_data": True}}])
                else:
                    body, headers = json_request(inputs[k]), {}
                status, h, data = server.request("POST", "/v2/models/%s/infer" % model, body, headers, conn)
            except (ConnectionError, http.client.HTTPException, OSError):
                r["refused"] += 1  # the server stopped accepting (drain test)
                conn.close()
                if stop_event is not None and stop_event.is_set():
                    break
                conn = server.connect()
                continue
            if status == 503:
                r["busy"] += 1
                if h.get("retry-after") != "1" or "busy" not in json.loads(data)["error"]:
                    r["errors"].append("503 without Retry-After/message: %s %s" % (h, data))
                continue
            if status != 200:
                r["errors"].append("status %d: %s" % (status, data[:200]))
                continue
            got = decode_reply(h, data)[1]["logits"]
            if not np.array_equal(got, refs[model][k]):
                r["errors"].append("%s input %d: got %s want %s" % (model, k, got.tolist(), refs[model][k].tolist()))
            r["ok"] += 1
            if on_reply:
                on_reply()
        conn.close()

    threads = [threading.Thread(target=client, args=(t,)) for t in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for r in results:
        check(not r["errors"], "client errors: %s" % r["errors"][:3])
    return results


def make_refs(count, models=("resnet", "vit")):
    inputs = images(count, 1234)
    refs = {m: [reference(m, x)[0] for x in inputs] for m in models}
    return inputs, refs


def test_concurrency():
    clients = int(os.environ.get("DYAD_SERVE_TEST_CLIENTS", "32"))
    per_client = int(os.environ.get("DYAD_SERVE_TEST_REQUESTS", "200"))
    inputs, refs = make_refs(24)
    server = Server("--sessions", "2", "--max-queue", "64", models=("resnet", "vit"))
    try:
        t0 = time.monotonic()
        results = run_clients(server, clients, per_client, inputs, refs)
        seconds = time.monotonic() - t0
        ok = sum(r["ok"] for r in results)
        check(ok == clients * per_client, "%d of %d requests answered 200 (%s)" % (
            ok, clients * per_client, [(r["busy"], r["refused"]) for r in results if r["ok"] < per_client][:4]))
        print("ok  %d clients x %d requests, every reply equal to dyad run: %.1f s (%.0f requests/s)" % (
            clients, per_client, seconds, ok / seconds), flush=True)
    finally:
        log = server.stop() if server.proc.poll() is None else ""
        server.kill()
    check("%d x 200" % (clients * per_client) in log, "exit summary: %s" % log)


def test_overload():
    # --max-queue 0: a request that finds the one session busy is refused at
    # once. With a queue of 1 the Fashion-MNIST ResNet (about 30 us a run)
    # drained faster than 24 Python clients could fill it, so some runs saw
    # no 503 at all.
    inputs, refs = make_refs(4, models=("resnet",))
    server = Server("--sessions", "1", "--max-queue", "0", "--http-threads", "40")
    try:
        busy = ok = 0
        for _ in range(10):
            results = run_clients(server, 24, 4, inputs, refs)
            busy += sum(r["busy"] for r in results)
            ok += sum(r["ok"] for r in results)
            if busy:
                break
        check(busy > 0, "no 503 with --sessions 1 --max-queue 0 under 24 concurrent clients")
        check(ok >= 2, "only %d requests served under overload" % ok)
        metrics_show(server, ['dyad_requests_total{model="resnet",code="503"} %d' % busy])
        infer_ok(server, "resnet", inputs[0], refs["resnet"][0])  # serves normally afterwards
        print("ok  overload: %d answered 200, %d answered 503 with Retry-After" % (ok, busy), flush=True)
    finally:
        if server.proc.poll() is None:
            server.stop()
        server.kill()


def test_drain():
    inputs, refs = make_refs(8, models=("resnet",))
    server = Server("--sessions", "2")
    stop = threading.Event()
    replies = [0]
    lock = threading.Lock()

    def on_reply():
        with lock:
            replies[0] += 1
            if replies[0] == 300 and not stop.is_set():
                stop.set()
                server.proc.send_signal(signal.SIGTERM)

    try:
        t0 = time.monotonic()
        results = run_clients(server, 32, 200, inputs, refs, stop_event=stop, on_reply=on_reply)
        check(stop.is_set(), "the load ended before SIGTERM was sent")
        rc = server.proc.wait(timeout=30)
        seconds = time.monotonic() - t0
        server.stderr.seek(0)
        log = server.stderr.read()
    finally:
        server.kill()
    check(rc == 0, "the server exited with %d after SIGTERM: %s" % (rc, log))
    ok = sum(r["ok"] for r in results)
    refused = sum(r["refused"] for r in results)
    found = re.search(r"answered (\d+) x 200\n", log)
    check(found and int(found.group(1)) == ok,
          "the server answered %s requests with 200, the clients received %d: %s" % (
              found and found.group(1), ok, log))
    check(ok < 32 * 200, "every request was served: the SIGTERM came too late to test draining")
    print("ok  drain: SIGTERM after 300 replies; %d accepted requests all answered correctly, "
          "%d refused after the stop; exit 0 in %.1f s" % (ok, refused, seconds), flush=True)


GROUPS = {"endpoints": test_endpoints, "errors": test_errors, "concurrency": test_concurrency,
          "overload": test_overload, "drain": test_drain}

if __name__ == "__main__":
    if GROUP not in GROUPS:
        fail("unknown group %r (one of %s)" % (GROUP, ", ".join(GROUPS)))
    GROUPS[GROUP]()
    print("PASS serve.%s" % GROUP)
