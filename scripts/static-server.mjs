// A small read-only static server for the browser tests and the demo page. It serves parts of
// the repository (the built dist/, examples/, test/browser/, test/fixtures/) on 127.0.0.1.
// A first path segment naming a policy sets the response headers of everything under it, so
// the same page can be loaded as it is, cross-origin isolated, or under a CSP:
//   /plain/…       no extra headers (also what a path without a policy segment gets)
//   /coi/…         Cross-Origin-Opener-Policy: same-origin + Cross-Origin-Embedder-Policy: require-corp
//   /csp-wasm/…    Content-Security-Policy: script-src 'self' 'wasm-unsafe-eval'
//   /csp-strict/…  Content-Security-Policy: script-src 'self' (no WebAssembly compilation)
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SERVED = ["dist/", "examples/", "test/browser/", "test/fixtures/"];

export const POLICIES = {
  plain: {},
  coi: {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
  },
  "csp-wasm": { "Content-Security-Policy": "script-src 'self' 'wasm-unsafe-eval'" },
  "csp-strict": { "Content-Security-Policy": "script-src 'self'" },
};

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".csv": "text/csv; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Starts the server; resolves to its origin, e.g. "http://127.0.0.1:41234", and a close(). */
export function startServer({ port = 0, host = "127.0.0.1" } = {}) {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    let path = decodeURIComponent(url.pathname).replace(/^\/+/, "");
    let headers = POLICIES.plain;
    const first = path.split("/")[0];
    if (Object.hasOwn(POLICIES, first)) {
      headers = POLICIES[first];
      path = path.slice(first.length + 1);
    }
    if (path === "" || path.endsWith("/")) path += "index.html";
    const relative = normalize(path).split(sep).join("/");
    const allowed = !relative.startsWith("..") && SERVED.some((prefix) => relative.startsWith(prefix));
    const file = join(ROOT, relative);
    try {
      if (!allowed || request.method !== "GET" || !(await stat(file)).isFile()) throw new Error("not served");
      const body = await readFile(file);
      response.writeHead(200, {
        ...headers,
        "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
        "Cache-Control": "no-store",
      });
      response.end(body);
    } catch {
      response.writeHead(404, { ...headers, "Content-Type": "text/plain; charset=utf-8" });
      response.end(`not found: /${relative}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      resolve({
        origin: `http://${host}:${bound}`,
        close: () => new Promise((done) => server.close(done)),
      });
    });
  });
}
