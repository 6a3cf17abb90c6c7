// Evaluates JSONata expressions with the reference implementation (npm `jsonata`, the version
// Step Functions documents), as a second opinion beside jsonata-python.
// stdin: JSON array of {"expression": "...", "bindings": {...}}; stdout: JSON array of
// {"value": ...} or {"error": "..."}. `$parse` is bound as Step Functions defines it.
import jsonata from "jsonata";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const results = [];
for (const { expression, bindings } of cases) {
  try {
    const compiled = jsonata(expression);
    compiled.registerFunction("parse", (text) => JSON.parse(text), "<s:x>");
    const value = await compiled.evaluate(null, bindings);
    results.push({ value: value === undefined ? null : value });
  } catch (error) {
    results.push({ error: `${error.code ?? ""} ${error.message}` });
  }
}
process.stdout.write(JSON.stringify(results));
