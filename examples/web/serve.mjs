// npm run demo:web: serves the demo page (and the built package it imports) on 127.0.0.1
// and prints its address. PORT picks the port (default 8080; a free one if that is taken).
import { startServer } from "../../scripts/static-server.mjs";

const wanted = Number(process.env.PORT ?? 8080);
let server;
try {
  server = await startServer({ port: wanted });
} catch (error) {
  if (error.code !== "EADDRINUSE") throw error;
  server = await startServer({ port: 0 });
}
console.log(`kl-simd demo: ${server.origin}/examples/web/  (Ctrl+C stops it)`);

// Stopping `npm run demo:web` by the PID npm printed kills npm and its shell but not this
// process, which would go on serving: exit when the parent goes (this is re-parented).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();
