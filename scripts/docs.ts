// Regenerates the README's input and output tables from action.yml (`npm run docs`); a test fails when they drift.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { parse } from 'yaml';

interface ActionSpec {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function readActionSpec(): ActionSpec {
  return parse(fs.readFileSync(path.join(root, 'action.yml'), 'utf8')) as ActionSpec;
}

const cell = (text: string): string => text.replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|');

export function inputsTable(spec: ActionSpec): string {
  const rows = Object.entries(spec.inputs).map(([name, i]) => {
    const def = i.required ? '**required**' : i.default ? `\`${i.default}\`` : '';
    return `| \`${name}\` | ${def} | ${cell(i.description)} |`;
  });
  return ['| input | default | description |', '| --- | --- | --- |', ...rows].join('\n');
}

export function outputsTable(spec: ActionSpec): string {
  const rows = Object.entries(spec.outputs).map(([name, o]) => `| \`${name}\` | ${cell(o.description)} |`);
  return ['| output | description |', '| --- | --- |', ...rows].join('\n');
}

/** The README with fresh tables, formatted as `npm run lint` wants it. */
export async function renderReadme(readme: string, spec: ActionSpec): Promise<string> {
  const replace = (text: string, tag: string, body: string): string =>
    text.replace(new RegExp(`(<!-- ${tag}:start -->)[\\s\\S]*?(<!-- ${tag}:end -->)`), `$1\n${body}\n$2`);
  const text = replace(replace(readme, 'inputs', inputsTable(spec)), 'outputs', outputsTable(spec));
  const options = await prettier.resolveConfig(path.join(root, 'README.md'));
  return prettier.format(text, { ...options, parser: 'markdown' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.join(root, 'README.md');
  fs.writeFileSync(file, await renderReadme(fs.readFileSync(file, 'utf8'), readActionSpec()));
}
