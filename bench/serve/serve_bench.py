"""Load benchmark of `dyad serve` with wrk (Debian's wrk), next to `dyad classify`.

    /usr/bin/python3 bench/serve/serve_bench.py [--dyad build/dyad] [--seconds 10]

For the Fashion-MNIST ResNet INT8 it measures, in one run:
  - `dyad classify` images/s on the test set at 1 and 2 threads;
  - the server with S = 1 and 2 sessions (1 thread each): requests/s and latency
    p50/p99 at saturation (wrk, 2 connections per session, binary tensor data), and
    again at about half that rate (each connection waits between requests: wrk's
    delay()), where p99 should stay under 3x p50.
wrk runs on the same machine and takes CPU from the server: quote same-run ratios.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models/fmnist/resnet_int8.json")
IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
LABELS = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"


def classify(dyad, threads):
    out = subprocess.run([dyad, "classify", MODEL, "--images", IMAGES, "--labels", LABELS,
                          "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"throughput (\d+(?:\.\d+)?) images/s", out).group(1))


def first_image():
    import gzip
    with gzip.open(IMAGES, "rb") as f:
        data = f.read(16 + 784)
    return data[16:]


def lua_script(delay_ms):
    header = json.dumps({"inputs": [{"name": "image", "shape": [1, 28, 28, 1], "datatype": "UINT8",
                                     "parameters": {"binary_data_size": 784}}],
                         "outputs": [{"name": "logits", "parameters": {"binary_data": True}}]}).encode()
    body = header + first_image()
    escaped = "".join("\\%d" % b for b in body)
    script = ('wrk.method = "POST"\n'
              'wrk.headers["Content-Type"] = "application/octet-stream"\n'
              'wrk.headers["Inference-Header-Content-Length"] = "%d"\n'
              'wrk.body = "%s"\n' % (len(header), escaped))
    if delay_ms > 0:
        script += "function delay() return %d end\n" % delay_ms
    path = os.path.join(tempfile.mkdtemp(), "post.lua")
    with open(path, "w") as f:
        f.write(script)
    return path


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(url, connections, seconds, delay_ms):
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", "%ds" % seconds, "--latency",
                          "-s", lua_script(delay_ms), url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(non2xx.group(1)) if non2xx else 0


def serve(dyad, sessions):
    proc = subprocess.Popen([dyad, "serve", "--model", "resnet=" + MODEL, "--port", "0",
                             "--sessions", str(sessions), "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(re.search(r":(\d+) ", proc.stdout.readline()).group(1))
    return proc, "http://127.0.0.1:%d/v2/models/resnet/infer" % port


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dyad", default=os.path.join(ROOT, "build/dyad"))
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    rows = []
    for s in (1, 2):
        images_per_s = classify(args.dyad, s)
        proc, url = serve(args.dyad, s)
        try:
            wrk(url, 2 * s, 2, 0)  # warm up
            rps, p50, p99, bad = wrk(url, 2 * s, args.seconds, 0)
            # About half the rate: each connection waits so that 2*s connections
            # together send rps/2 requests per second.
            delay_ms = max(1, int(round(2 * s / (rps / 2) * 1e3 - p50)))
            half_rps, half_p50, half_p99, half_bad = wrk(url, 2 * s, args.seconds, delay_ms)
        finally:
            proc.terminate()
            proc.wait()
        rows.append((s, images_per_s, rps, p50, p99, half_rps, half_p50, half_p99, bad + half_bad))
    print("Fashion-MNIST ResNet INT8, `dyad serve` (1 thread per session) under wrk vs `dyad classify`")
    print("| S | classify images/s (S threads) | server req/s | ratio | p50 ms | p99 ms "
          "| half load req/s | p50 ms | p99 ms | p99/p50 | non-2xx |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s, ips, rps, p50, p99, hr, hp50, hp99, bad in rows:
        print("| %d | %.0f | %.0f | %.0f %% | %.2f | %.2f | %.0f | %.2f | %.2f | %.1f | %d |" % (
            s, ips, rps, 100 * rps / ips, p50, p99, hr, hp50, hp99, hp99 / hp50, bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
