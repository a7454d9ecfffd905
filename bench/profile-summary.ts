import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The functions with the most self time in a V8 .cpuprofile, as "share ms name file:line" lines. */
export function topSelfTime(path: string, limit = 20): string[] {
  const profile = JSON.parse(readFileSync(path, "utf8")) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const perNode = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    perNode.set(id, (perNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const perFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
    perFunction.set(key, (perFunction.get(key) ?? 0) + (perNode.get(node.id) ?? 0));
  }
  const busy = [...perFunction].filter(([key]) => !key.startsWith("(idle)"));
  const total = busy.reduce((sum, [, micros]) => sum + micros, 0);
  return busy
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(
      ([key, micros]) =>
        `${((micros / total) * 100).toFixed(1)}%  ${(micros / 1000).toFixed(0)} ms  ${key}`,
    );
}
