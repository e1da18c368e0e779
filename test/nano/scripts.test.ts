/**
 * Every script under scripts/nano answers `--help` / `-h` with its usage (exit 0, before any work: none of them
 * trains, loads a model or writes a file then) and refuses an unknown flag with a usage error naming it (exit 2).
 * Before this, `pretrain.js --help` started a pretraining run.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";

const DIR = join(repoRoot(), "dist", "scripts", "nano");
const scripts = readdirSync(DIR).filter((f) => f.endsWith(".js"));
const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(DIR, script), ...args], { cwd: repoRoot(), encoding: "utf-8", timeout: 60_000, env: { ...process.env, PALIGEMMA_BACKEND: "cpu" } });

describe("scripts/nano flags", () => {
  it("finds the scripts", () => assert.ok(scripts.length >= 4 && scripts.includes("pretrain.js"), scripts.join()));
  for (const script of scripts) {
    it(`${script}: --help and -h print usage and exit 0; --no-such-flag is a usage error naming it`, () => {
      for (const h of ["--help", "-h"]) {
        const r = run(script, h);
        assert.equal(r.status, 0, `${script} ${h}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`usage: node dist/scripts/nano/${script}`));
        assert.match(r.stdout, /Example/);
      }
      const bad = run(script, "--no-such-flag", "1");
      assert.equal(bad.status, 2, `${script}: ${bad.stdout}${bad.stderr}`);
      assert.match(bad.stderr, /unknown option --no-such-flag/);
      assert.match(bad.stderr, /usage:/);
    });
  }
});
