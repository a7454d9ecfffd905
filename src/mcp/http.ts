import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { Hono, type MiddlewareHandler } from "hono";
import { type Access, keyAccess } from "../api/auth.ts";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { createMcpServer } from "./server.ts";

export const MCP_PATH = "/mcp";

/**
 * MCP over Streamable HTTP at /mcp, stateless: every POST carries one JSON-RPC message (or
 * batch) and is answered with JSON by a server made for that request, so any replica can answer
 * any request and nothing is kept between them. Callers authenticate as on /v1 (Bearer key; a
 * read-only key gets the reading tools only) and share /v1's per-key rate limit.
 */
export function mcpRoutes(services: Services, options: { rateLimit: MiddlewareHandler }) {
  const { config } = services;
  const accessOf = keyAccess({ full: config.apiKeys, readOnly: config.readApiKeys });
  const app = new Hono<{ Variables: { access: Access } }>();

  app.use(MCP_PATH, async (c, next) => {
    // the MCP specification asks servers to check Origin against DNS rebinding: a browser page
    // may call only from an origin allowed for CORS; MCP clients outside browsers send none
    const origin = c.req.header("origin");
    if (origin !== undefined && !config.corsOrigins.includes(origin)) {
      throw new AppError("forbidden", `Origin ${origin} may not call ${MCP_PATH}.`);
    }
    c.set("access", accessOf(c.req.header("authorization")));
    await next();
  });
  app.use(MCP_PATH, options.rateLimit);

  app.post(MCP_PATH, async (c) => {
    if (!services.readiness.ready) {
      throw new AppError("unavailable", "Gleaner is still loading its indexes; retry shortly.", {
        retryAfterSeconds: 1,
      });
    }
    const server = createMcpServer(services, {
      access: c.get("access"),
      logger: c.var.logger,
      signal: c.req.raw.signal,
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: config.maxUploadBytes,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });

  // stateless: no server-initiated stream to GET and no session to DELETE
  app.on(["GET", "DELETE"], MCP_PATH, (c) =>
    c.json(
      {
        jsonrpc: "2.0",
        error: { code: -32000, message: `Method not allowed: ${MCP_PATH} takes POST only.` },
        id: null,
      },
      405,
      { allow: "POST" },
    ),
  );
  return app;
}
