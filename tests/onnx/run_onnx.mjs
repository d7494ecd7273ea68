// Runs an exported Atelier model in ONNX Runtime (CPU), for the export test:
//   node run_onnx.mjs MODEL.onnx INPUT.f32 N C H W OUTPUT.f32
// INPUT.f32 and OUTPUT.f32 are raw little-endian float32 tensors (NCHW); the
// output's shape is printed as JSON on stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [model, input, n, c, h, w, output] = process.argv.slice(2);
if (!output) {
  console.error('usage: node run_onnx.mjs MODEL.onnx INPUT.f32 N C H W OUTPUT.f32');
  process.exit(2);
}
const dims = [n, c, h, w].map(Number);
const bytes = readFileSync(input);
const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
if (values.length !== dims.reduce((a, b) => a * b, 1)) {
  console.error(`${input}: ${values.length} floats, expected ${dims.join('x')}`);
  process.exit(1);
}
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const results = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', values, dims) });
const result = results[session.outputNames[0]];
writeFileSync(output, Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength));
console.log(JSON.stringify({ input: session.inputNames[0], output: session.outputNames[0], dims: result.dims }));
