// Builds the raw hnswlib-node index of one dataset in a process of its own, so the bench can
// build it beside Gleaner's store on the other core; writes the graph to a file and prints
// {buildS, rssDeltaMb, indexBytes} as one JSON line.
import { statSync } from "node:fs";
import hnswlib from "hnswlib-node";
import { log, rssMb } from "./common.ts";
import { DIMENSIONS, loadDataset, row } from "./vectors.ts";

const [nArg, file] = process.argv.slice(2);
if (!nArg || !file) throw new Error("usage: raw-build-child.ts <n> <index file>");
const dataset = loadDataset(Number(nArg));
const rssBefore = rssMb();
const index = new hnswlib.HierarchicalNSW("ip", DIMENSIONS);
index.initIndex({ maxElements: dataset.n, m: 16, efConstruction: 200, randomSeed: 100 });
// the library as a user would call it: plain arrays, one insert per call
const scratch = new Array<number>(DIMENSIONS).fill(0);
const started = performance.now();
for (let i = 0; i < dataset.n; i++) {
  const vector = row(dataset.base, i);
  for (let d = 0; d < DIMENSIONS; d++) scratch[d] = vector[d] as number;
  index.addPoint(scratch, i);
  if (i > 0 && i % 100_000 === 0) log(`raw hnswlib: ${i} inserted`);
}
const buildS = (performance.now() - started) / 1000;
const rssDeltaMb = rssMb() - rssBefore;
index.writeIndexSync(file);
process.stdout.write(
  `${JSON.stringify({ buildS, rssDeltaMb, indexBytes: statSync(file).size })}\n`,
);
