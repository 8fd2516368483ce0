import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { readActionSpec, renderReadme } from '../scripts/docs.js';
import { DEFAULTS } from '../src/config/config.js';
import { repoRoot } from '../standins/runner.js';

describe('README and action.yml agree', () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const spec = readActionSpec();

  it('the input and output tables are generated from action.yml (run `npm run docs`)', async () => {
    assert.ok(readme === (await renderReadme(readme, spec)), 'README.md is stale: run `npm run docs`');
  });

  it('every input the code reads is declared, and every declared input is read', () => {
    const source = fs
      .readdirSync(path.join(repoRoot, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => fs.readFileSync(path.join(repoRoot, 'src', f), 'utf8'))
      .join('\n');
    const read = new Set(
      [...source.matchAll(/\b(?:get|opt|raw|read|text)\('([a-z0-9-]+)'\)/g)].map((m) => m[1]!),
    );
    assert.deepEqual([...read].sort(), Object.keys(spec.inputs).sort());
  });

  it("action.yml's defaults are the code's defaults", () => {
    const pairs: Array<[string, string]> = [
      ['disk-name', DEFAULTS.diskName],
      ['disk-size', DEFAULTS.diskSize],
      ['disk-type', DEFAULTS.diskType],
      ['pv-name', DEFAULTS.pvName],
      ['storage-class-name', DEFAULTS.storageClassName],
      ['release-name', DEFAULTS.releaseName],
      ['namespace', DEFAULTS.namespace],
      ['chart', DEFAULTS.chart],
      ['helm-repo-url', DEFAULTS.helmRepoUrl],
      ['web-username', DEFAULTS.webUsername],
      ['service-type', DEFAULTS.serviceType],
      ['timeout', DEFAULTS.timeout],
      ['mode', DEFAULTS.mode],
    ];
    for (const [name, value] of pairs) assert.equal(spec.inputs[name]?.default, value, name);
  });

  it('the example workflows use only declared inputs', () => {
    const dir = path.join(repoRoot, 'examples');
    for (const file of fs.readdirSync(dir).filter((name) => /\.ya?ml$/.test(name))) {
      const workflow = parse(fs.readFileSync(path.join(dir, file), 'utf8')) as {
        jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, unknown> }> }>;
      };
      for (const job of Object.values(workflow.jobs)) {
        for (const step of job.steps.filter((s) => s.uses?.includes('skyha-action'))) {
          for (const name of Object.keys(step.with ?? {})) assert.ok(name in spec.inputs, `${file}: ${name}`);
        }
      }
    }
  });

  it('examples/local.env sets only declared inputs, as the runner names them (and its commented-out ones too)', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'examples', 'local.env'), 'utf8');
    const named = [...text.matchAll(/^#? ?INPUT_([A-Z0-9_-]+)=/gm)].map((m) => m[1]!);
    assert.ok(named.length > 0);
    const declared = new Set(Object.keys(spec.inputs).map((name) => name.replace(/ /g, '_').toUpperCase()));
    for (const name of named) assert.ok(declared.has(name), `examples/local.env: INPUT_${name} is no input`);
  });
});
