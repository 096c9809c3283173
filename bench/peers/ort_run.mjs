// Times an ONNX model in ONNX Runtime (the npm package onnxruntime-node), or
// records the range of every input and output for bench/peers/quantize_onnx.py.
//
//   node ort_run.mjs --model M.onnx --input NAME:TYPE:DIMS [...] --threads N \
//        [--warmup W] [--iters I] [--ranges OUT.json --samples S] [--save-optimized OUT.onnx]
//        [--profile PREFIX]
//
// TYPE is float32 or int64; DIMS like 1x3x224x224. float32 inputs are standard
// normal, int64 inputs `input_ids` uniform in [0, 30522) and any other int64
// input all ones (an attention mask): the same kind of input dyad bench uses.
// --save-optimized writes the graph ONNX Runtime runs (to check which kernels it fused).
// Prints one JSON line: {"model", "threads", "iters", "median_ms", "min_ms", "times_ms"}.
import * as ort from 'onnxruntime-node';
import { writeFileSync } from 'node:fs';

function parseArgs(argv) {
  const args = { inputs: [], threads: 1, warmup: 5, iters: 20, samples: 8 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--model') args.model = value;
    else if (flag === '--input') args.inputs.push(value);
    else if (flag === '--ranges') args.ranges = value;
    else if (flag === '--save-optimized') args.saveOptimized = value;
    else if (flag === '--profile') args.profile = value;
    else if (['--threads', '--warmup', '--iters', '--samples'].includes(flag)) {
      args[flag.slice(2)] = Number.parseInt(value, 10);
      if (!(args[flag.slice(2)] >= 0)) throw new Error(`${flag}: not a count: ${value}`);
    } else throw new Error(`unknown flag ${flag}`);
  }
  if (!args.model || args.inputs.length === 0) throw new Error('need --model and at least one --input');
  return args;
}

// Deterministic pseudo-random numbers (xorshift32), so runs are repeatable.
function makeRandom(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function makeInput(spec, seed) {
  const [name, type, dimsText] = spec.split(':');
  const dims = dimsText.split('x').map((d) => Number.parseInt(d, 10));
  const count = dims.reduce((a, b) => a * b, 1);
  const random = makeRandom(seed);
  if (type === 'float32') {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i += 1) {  // Box-Muller
      data[i] = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    }
    return [name, new ort.Tensor('float32', data, dims)];
  }
  if (type === 'int64') {
    const data = new BigInt64Array(count);
    for (let i = 0; i < count; i += 1) data[i] = name === 'input_ids' ? BigInt(Math.floor(random() * 30522)) : 1n;
    return [name, new ort.Tensor('int64', data, dims)];
  }
  throw new Error(`input ${name}: unsupported type ${type}`);
}

function feedsFor(args, seed) {
  return Object.fromEntries(args.inputs.map((spec, i) => makeInput(spec, seed * 101 + i + 1)));
}

const args = parseArgs(process.argv.slice(2));
const session = await ort.InferenceSession.create(args.model, {
  intraOpNumThreads: args.threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
  ...(args.saveOptimized ? { optimizedModelFilePath: args.saveOptimized } : {}),
  ...(args.profile ? { enableProfiling: true, profileFilePrefix: args.profile } : {}),
});

if (args.ranges) {
  const ranges = {};
  for (let s = 0; s < args.samples; s += 1) {
    const feeds = feedsFor(args, s);
    const outputs = await session.run(feeds);
    for (const [name, tensor] of [...Object.entries(feeds), ...Object.entries(outputs)]) {
      if (tensor.type !== 'float32') continue;
      let [lo, hi] = ranges[name] ?? [Infinity, -Infinity];
      for (const v of tensor.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
      ranges[name] = [lo, hi];
    }
  }
  writeFileSync(args.ranges, JSON.stringify(ranges));
  console.log(JSON.stringify({ model: args.model, ranges: args.ranges, tensors: Object.keys(ranges).length }));
} else {
  const feeds = feedsFor(args, 0);
  for (let i = 0; i < args.warmup; i += 1) await session.run(feeds);
  const times = [];
  for (let i = 0; i < args.iters; i += 1) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const profile = args.profile ? session.endProfiling() : undefined;
  console.log(JSON.stringify({ model: args.model, threads: args.threads, iters: args.iters,
    median_ms: median, min_ms: sorted[0], times_ms: times, ...(profile ? { profile } : {}) }));
}
