import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readActionSpec, renderReadme } from '../scripts/docs.js';
import { formatFinding, readWorkflows } from '../scripts/lint-workflows.js';
import { actionInputFindings } from '../scripts/workflowCalls.js';
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

  it('the example workflows give the action only declared inputs, and every required one', () => {
    const examples = readWorkflows().filter((w) => w.path.startsWith('examples/'));
    assert.ok(examples.some((w) => w.text.includes('skyha-action@')));
    assert.deepEqual(actionInputFindings(examples, spec).map(formatFinding), []);
  });

  it('examples/local.env sets only declared inputs, as the runner names them (and its commented-out ones too)', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'examples', 'local.env'), 'utf8');
    const named = [...text.matchAll(/^#? ?INPUT_([A-Z0-9_-]+)=/gm)].map((m) => m[1]!);
    assert.ok(named.length > 0);
    const declared = new Set(Object.keys(spec.inputs).map((name) => name.replace(/ /g, '_').toUpperCase()));
    for (const name of named) assert.ok(declared.has(name), `examples/local.env: INPUT_${name} is no input`);
  });
});

describe('README: for users first, with commands that exist', () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]!);
  const section = (name: string): string => {
    const start = readme.indexOf(`\n## ${name}\n`);
    assert.ok(start >= 0, `no section ${name}`);
    const next = readme.indexOf('\n## ', start + 1);
    return readme.slice(start, next < 0 ? undefined : next);
  };

  it('what users need comes before what developers need, in this order', () => {
    const order = [
      'Prerequisites',
      'Setup',
      'Usage',
      'Versioning',
      'Inputs',
      'Outputs',
      'Permissions',
      'Troubleshooting',
      'Try it locally',
      'Developing',
    ];
    const at = order.map((h) => headings.indexOf(h));
    assert.ok(!at.includes(-1), `missing: ${order.filter((_, i) => at[i] === -1).join(', ')}`);
    assert.deepEqual(
      [...at].sort((a, b) => a - b),
      at,
      `sections out of order: ${headings.join(' / ')}`,
    );
    assert.ok(
      readme.indexOf('npm ci') > readme.indexOf('\n## Try it locally'),
      'developer commands open the README',
    );
  });

  it('"Try it locally" gives the demo and the test commands, and both are scripts of package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const commands = [...section('Try it locally').matchAll(/^npm ci && (npm (?:run )?([a-z:-]+))/gm)];
    assert.deepEqual(
      commands.map((m) => m[1]),
      ['npm run demo', 'npm test'],
    );
    for (const [, , script] of commands) assert.ok(pkg.scripts[script!], `no script ${script}`);
    for (const script of ['standins', 'local']) {
      if (section('Try it locally').includes(`npm run ${script}`))
        assert.ok(pkg.scripts[script], `the README names npm run ${script}, which package.json lacks`);
    }
  });

  it('every example workflow is linked, and every other action the README shows is pinned by commit SHA', () => {
    for (const file of fs.readdirSync(path.join(repoRoot, 'examples')).filter((f) => f.endsWith('.yml')))
      assert.ok(readme.includes(`(examples/${file})`), `examples/${file} is not linked`);
    // This action, and a workflow of the user's own repository (`./`), have no release to pin.
    const uses = [...readme.matchAll(/uses: ([^\s]+)(.*)$/gm)].filter(
      (m) => !m[1]!.includes('skyha-action') && !m[1]!.startsWith('./'),
    );
    assert.ok(uses.length > 0);
    for (const [line, ref, comment] of uses) {
      assert.match(ref!, /@[0-9a-f]{40}$/, line);
      assert.match(comment!, /# v\d+\.\d+\.\d+/, `${line}: the pinned version in a comment`);
    }
  });

  it('Setup gives the gcloud commands of workload identity federation and the roles of each mode', () => {
    const text = section('Setup');
    for (const command of [
      /gcloud iam workload-identity-pools create /,
      /gcloud iam workload-identity-pools providers create-oidc .*\n(.*\n)*.*--attribute-condition/,
      /--role roles\/iam\.workloadIdentityUser/,
      /principalSet:\/\/iam\.googleapis\.com\/\$POOL\/attribute\.repository\/\$REPO/,
    ])
      assert.match(text, command);
    for (const mode of ['deploy', 'plan', 'drill'])
      assert.match(text, new RegExp(`^ *\\| ${mode} \\(`, 'm'), mode);
    assert.match(text, /roles\/container\.admin/);
  });

  it("Setup's table names every variable, secret and environment the examples use, and nothing else", () => {
    const rows = section('Setup')
      .split('\n')
      .map((line) => /^\| `([A-Za-z_-]+)` +\| (variable|secret|environment)/.exec(line))
      .filter((m) => m !== null)
      .map((m) => `${m[2]} ${m[1]}`);
    const examples = fs
      .readdirSync(path.join(repoRoot, 'examples'))
      .filter((f) => f.endsWith('.yml'))
      .map((f) => fs.readFileSync(path.join(repoRoot, 'examples', f), 'utf8'))
      .join('\n');
    const used = new Set([
      ...[...examples.matchAll(/\bvars\.([A-Z_]+)/g)].map((m) => `variable ${m[1]}`),
      ...[...examples.matchAll(/\bsecrets\.([A-Z_]+)/g)].map((m) => `secret ${m[1]}`),
      ...[...examples.matchAll(/^\s+environment: ([a-z][\w-]*)\s*$/gm)].map((m) => `environment ${m[1]}`),
    ]);
    used.delete('secret GITHUB_TOKEN');
    assert.deepEqual([...rows].sort(), [...used].sort());
  });

  it('troubleshooting covers the errors users meet, each with what to do', () => {
    const text = section('Troubleshooting');
    for (const topic of [/pending-upgrade/, /attached to/, /403/, /LoadBalancer address/, /4 CPU/, /63/]) {
      assert.match(text, topic);
    }
    const rows = text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| the error'));
    for (const row of rows) assert.equal(row.split(' | ').length, 3, `a row without its fix: ${row}`);
  });
});

describe('README and CONTRIBUTING name files that exist in the repository', () => {
  // A path in backticks under a folder of this repository; `<resource>` stands for a name still to be chosen.
  const REPO_PATH = /^(?:src|standins|scripts|__tests__|bench|examples|\.github)\/[^\s<>*]*$/;
  for (const doc of ['README.md', 'CONTRIBUTING.md']) {
    it(doc, () => {
      const text = fs.readFileSync(path.join(repoRoot, doc), 'utf8');
      const spans = [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
      const paths = spans.flatMap((span) => span.split(/\s+/)).filter((word) => REPO_PATH.test(word));
      assert.ok(paths.length > 0);
      for (const file of paths) assert.ok(fs.existsSync(path.join(repoRoot, file)), `${doc} names ${file}`);
      const outside = spans.flatMap((span) => span.split(/\s+/)).filter((word) => word.startsWith('../'));
      assert.deepEqual(outside, [], `${doc} names files outside the repository`);
    });
  }
});
