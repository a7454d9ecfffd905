import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Hono } from "hono";
import { etag } from "hono/etag";
import { AppError } from "../../errors.ts";

const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));

const STATIC_FILES: Record<string, string> = {
  "app.css": "text/css; charset=utf-8",
  "icon.svg": "image/svg+xml",
};

/**
 * The page for people at `/`. Its script is `src/web/app.js` bundled with the typed client
 * (`src/client`) by esbuild on first request, so the page and internal tools share one
 * client and there is no build step to forget.
 */
export function webRoutes() {
  const files = new Map<string, Promise<Uint8Array>>();
  const read = (name: string): Promise<Uint8Array> => {
    let content = files.get(name);
    if (!content) {
      content = readFile(`${WEB_DIR}${name}`).then((buffer) => new Uint8Array(buffer));
      files.set(name, content);
      content.catch(() => files.delete(name));
    }
    return content;
  };
  let bundle: Promise<Uint8Array> | null = null;
  const script = (): Promise<Uint8Array> => {
    bundle ??= bundleScript().catch((error: unknown) => {
      bundle = null;
      throw new AppError("internal", "The web page's script could not be built.", {
        cause: error,
      });
    });
    return bundle;
  };

  return new Hono()
    .use("/web/*", etag())
    .get("/", async (c) => {
      c.header("cache-control", "no-cache");
      return c.html(new TextDecoder().decode(await read("index.html")));
    })
    .get("/web/app.js", async (c) =>
      c.body(new Uint8Array(await script()), 200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "no-cache",
      }),
    )
    .get("/web/:file", async (c) => {
      const file = c.req.param("file");
      const type = STATIC_FILES[file];
      if (!type) return c.notFound();
      return c.body(new Uint8Array(await read(file)), 200, {
        "content-type": type,
        "cache-control": "no-cache",
      });
    });
}

async function bundleScript(): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [`${WEB_DIR}app.js`],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error("esbuild produced no output");
  return output.contents;
}
