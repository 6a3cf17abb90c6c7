// Evaluates JSONata expressions with the reference implementation (npm `jsonata`, the version
// Step Functions documents), as a second opinion beside jsonata-python.
// stdin: JSON array of {"expression": "...", "bindings": {...}}; stdout: JSON array of
// {"value": ...} or {"error": "..."}. `$parse` and `$hash` are bound as Step Functions defines them.
import { createHash } from "node:crypto";
import jsonata from "jsonata";

const HASHES = { "MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const results = [];
for (const { expression, bindings } of cases) {
  try {
    const compiled = jsonata(expression);
    compiled.registerFunction("parse", (text) => JSON.parse(text), "<s:x>");
    compiled.registerFunction(
      "hash",
      (text, algorithm) => createHash(HASHES[algorithm ?? "SHA-256"]).update(text, "utf8").digest("hex"),
      "<ss?:s>",
    );
    const value = await compiled.evaluate(null, bindings);
    results.push({ value: value === undefined ? null : value });
  } catch (error) {
    results.push({ error: `${error.code ?? ""} ${error.message}` });
  }
}
process.stdout.write(JSON.stringify(results));
