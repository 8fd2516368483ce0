// `npm run shape`: the shape CONTRIBUTING asks of the code, measured with the TypeScript compiler's parser: no
// function longer than about 80 lines, and no import circle, in src/, standins/, bench/ and scripts/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export interface Shape {
  files: number;
  /** `file:line name N lines`, relative to the folder measured. */
  long: string[];
  /** Each import circle: the files in it, relative to the folder measured. */
  circles: string[][];
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FOLDERS = ['src', 'standins', 'bench', 'scripts'];
export const MAX_LINES = 80;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.ts$/.test(entry.name) && !/\.d\.ts$/.test(entry.name) ? [file] : [];
  });
}

/** The file a relative import names: `./x.js` is `x.ts` (or `x/index.ts`) in this ESM tree. */
function importedFile(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const file = path.resolve(path.dirname(from), specifier).replace(/\.js$/, '.ts');
  const index = file.replace(/\.ts$/, '/index.ts');
  return !fs.existsSync(file) && fs.existsSync(index) ? index : file;
}

function isFunction(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node)
  );
}

function functionName(node: ts.FunctionLikeDeclaration): string {
  if (node.name) return node.name.getText();
  return ts.isVariableDeclaration(node.parent) ? node.parent.name.getText() : '(anonymous)';
}

/** Each file's long functions and the files it imports. */
function readFile(file: string, dir: string, max: number): { long: string[]; imports: Set<string> } {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const long: string[] = [];
  const imports = new Set<string>();
  const visit = (node: ts.Node): void => {
    const specifier = (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier;
    if (specifier && ts.isStringLiteral(specifier)) {
      const target = importedFile(file, specifier.text);
      if (target) imports.add(target);
    }
    if (isFunction(node)) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const lines = source.getLineAndCharacterOfPosition(node.getEnd()).line - first + 1;
      if (lines > max)
        long.push(`${path.relative(dir, file)}:${first + 1} ${functionName(node)} ${lines} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { long, imports };
}

/** The import circles: strongly connected components of more than one file (Tarjan's algorithm). */
export function importCircles(edges: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const circles: string[][] = [];
  const strongConnect = (file: string): void => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    for (const target of edges.get(file) ?? []) {
      if (!edges.has(target)) continue;
      if (!index.has(target)) {
        strongConnect(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (stack.includes(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const circle: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      circle.push(member);
    } while (member !== file);
    if (circle.length > 1) circles.push(circle.sort());
  };
  for (const file of edges.keys()) if (!index.has(file)) strongConnect(file);
  return circles;
}

export function measureShape(dir: string, max = MAX_LINES): Shape {
  const files = sourceFiles(dir);
  const long: string[] = [];
  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    const read = readFile(file, dir, max);
    long.push(...read.long);
    edges.set(file, read.imports);
  }
  const circles = importCircles(edges).map((circle) => circle.map((file) => path.relative(dir, file)));
  return { files: files.length, long, circles };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const folders = process.argv.slice(2).length > 0 ? process.argv.slice(2) : FOLDERS;
  for (const folder of folders) {
    const shape = measureShape(path.resolve(root, folder));
    for (const line of shape.long) console.error(`${folder}/${line}: longer than ${MAX_LINES} lines`);
    for (const circle of shape.circles) console.error(`${folder}: import circle ${circle.join(' -> ')}`);
    if (shape.long.length + shape.circles.length > 0) process.exitCode = 1;
    else
      console.log(`${folder}: ${shape.files} files, no function over ${MAX_LINES} lines, no import circle`);
  }
}
