import { parseArgs } from "node:util";
import type { SearchMode } from "../src/search/search-service.ts";
import { loadDataset } from "./dataset.ts";
import { type DatasetResult, evaluateDataset } from "./evaluate.ts";
import { renderSection, renderTables, writeEvalMarkdown } from "./report.ts";
import { HttpTarget, InProcessTarget, type SearchTarget } from "./targets.ts";

/*
 * npm run eval -- <dataset-dir>… [--mode keyword|vector|hybrid|all] [--url http://host:port]
 *   [--api-key KEY] [--local-dimensions N] [--out EVAL.md | --no-write]
 * Ingests each collection into a fresh index (in this process, or into a temporary collection
 * of a running server with --url), runs every judged query per mode and prints the table.
 */

const USAGE =
  "usage: npm run eval -- <dataset-dir>… [--mode keyword|vector|hybrid|all] [--url URL] [--api-key KEY] [--local-dimensions N] [--out FILE] [--no-write]";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    mode: { type: "string", default: "all" },
    url: { type: "string" },
    "api-key": { type: "string" },
    "local-dimensions": { type: "string" },
    out: { type: "string", default: "EVAL.md" },
    "no-write": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

const MODES: Record<string, SearchMode[]> = {
  keyword: ["keyword"],
  vector: ["vector"],
  hybrid: ["hybrid"],
  all: ["keyword", "vector", "hybrid"],
};

const modes = MODES[values.mode];
if (values.help || positionals.length === 0 || !modes) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}

const makeTarget = (): SearchTarget =>
  values.url
    ? new HttpTarget(values.url, values["api-key"])
    : new InProcessTarget(
        values["local-dimensions"]
          ? { GLEANER_LOCAL_EMBEDDING_DIMENSIONS: values["local-dimensions"] }
          : {},
      );

const results: DatasetResult[] = [];
let description = "";
for (const directory of positionals) {
  const dataset = loadDataset(directory);
  console.error(
    `${dataset.name}: ${dataset.documents.length} documents, ${dataset.queries.length} queries`,
  );
  const target = makeTarget();
  description = target.description;
  try {
    results.push(await evaluateDataset(dataset, target, modes));
  } finally {
    await target.close();
  }
}

console.log(renderTables(results));
if (!values["no-write"]) {
  const command = `npm run eval -- ${process.argv.slice(2).join(" ")}`;
  writeEvalMarkdown(values.out, renderSection(results, { command, target: description }));
  console.error(`wrote ${values.out}`);
}
