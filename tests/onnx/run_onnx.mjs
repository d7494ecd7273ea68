// Runs an exported Atelier model in ONNX Runtime (CPU), for the export test:
//   node run_onnx.mjs MODEL.onnx OUTPUT.f32 NAME INPUT.f32 DIMS [NAME INPUT.f32 DIMS ...]
// Each input is a raw little-endian float32 tensor with its dimensions as
// "1x3x200x300"; the model's first output is written the same way and its
// dimensions printed as JSON on stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [model, output, ...rest] = process.argv.slice(2);
if (!output || rest.length === 0 || rest.length % 3 !== 0) {
  console.error('usage: node run_onnx.mjs MODEL.onnx OUTPUT.f32 NAME INPUT.f32 DIMS [NAME INPUT.f32 DIMS ...]');
  process.exit(2);
}
const feeds = {};
for (let i = 0; i < rest.length; i += 3) {
  const [name, file, text] = rest.slice(i, i + 3);
  const dims = text.split('x').map(Number);
  const bytes = readFileSync(file);
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (values.length !== dims.reduce((a, b) => a * b, 1)) {
    console.error(`${file}: ${values.length} floats, not ${text}`);
    process.exit(1);
  }
  feeds[name] = new ort.Tensor('float32', values, dims);
}
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const result = (await session.run(feeds))[session.outputNames[0]];
writeFileSync(output, Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength));
console.log(JSON.stringify({ output: session.outputNames[0], dims: result.dims }));
