// Parse and validate an AsyncAPI document with @asyncapi/parser; print diagnostics as JSON.
// Usage: node validate.mjs <document.json>   (exit 0 when valid, 1 when not)
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
const errors = diagnostics.filter((d) => d.severity === 0);
const summary = {
  valid: Boolean(document) && errors.length === 0,
  version: document ? document.version() : null,
  channels: document ? document.channels().all().map((c) => c.id()) : [],
  messages: document ? document.allMessages().all().map((m) => m.id()) : [],
  errors: errors.map((d) => ({ message: d.message, path: d.path })),
  warnings: diagnostics.filter((d) => d.severity === 1).map((d) => ({ message: d.message, path: d.path })),
};
console.log(JSON.stringify(summary));
process.exit(summary.valid ? 0 : 1);
