// npm run demo:web's server (examples/web/serve.mjs) exits with its parent: stopping npm by its
// PID used to leave the server running and serving (issue 12). Here a stand-in parent starts
// it as npm's shell does, is killed with SIGKILL (no chance to pass anything on), and the
// server must be gone within a few seconds.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const SERVE = fileURLToPath(new URL("../examples/web/serve.mjs", import.meta.url));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("the demo server serves, then exits when its parent is killed", async () => {
  const parentScript = `
    const child = require("node:child_process").spawn(process.execPath, [${JSON.stringify(SERVE)}], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, PORT: "0" } });
    child.stdout.on("data", (d) => process.stdout.write(JSON.stringify({ pid: child.pid, line: String(d) }) + "\\n"));`;
  const parent = spawn(process.execPath, ["-e", parentScript], { stdio: ["ignore", "pipe", "inherit"] });
  const first = await new Promise<{ pid: number; line: string }>((resolve, reject) => {
    parent.stdout.once("data", (d) => resolve(JSON.parse(String(d).split("\n")[0])));
    parent.once("exit", () => reject(new Error("the parent exited first")));
  });
  const origin = /(http:\/\/127\.0\.0\.1:\d+)/.exec(first.line)![1];
  try {
    expect((await fetch(`${origin}/examples/web/index.html`)).status).toBe(200);
    parent.kill("SIGKILL");
    const deadline = Date.now() + 5000;
    while (alive(first.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(first.pid), "the server outlived its parent").toBe(false);
  } finally {
    if (alive(first.pid)) process.kill(first.pid);
  }
}, 20_000);
