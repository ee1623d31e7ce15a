/**
 * The README's (and docs') runnable code blocks, as the README test reads them. A block is runnable when
 * the line before its fence (blank lines aside) is a marker of its own:
 *
 *   <!-- runnable: SCENARIOS ROLE -->
 *
 * SCENARIOS is a comma-separated list of scenario names, or `*` for every scenario. ROLE is `install`
 * (shell lines: `npm i` ones are installed, keycard from the packed checkout; others run), `run` (shell
 * lines run in order; the last starts the server), `browser` (JavaScript run in a page of the app), or a
 * file name (`app.ts`, `tsconfig.json`): the block is that file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface RunnableBlock {
  scenarios: string[] | '*';
  role: string;
  language: string;
  code: string;
  /** file:line of the marker, for messages. */
  where: string;
}

export interface CodeBlock {
  language: string;
  code: string;
  /** The runnable marker before it, if any. */
  marker: { scenarios: string[] | '*'; role: string } | null;
  where: string;
}

const MARKER = /^<!--\s*runnable:\s*(\S+)\s+(\S+)\s*-->\s*$/;
const FENCE = /^```(\S*)\s*$/;

/** Every fenced code block of a Markdown file, with the runnable marker that precedes it. */
export function codeBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let marker: { scenarios: string[] | '*'; role: string; line: number } | null = null;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    const markerMatch = MARKER.exec(line);
    if (markerMatch) {
      if (marker) throw new Error(`${file}:${marker.line}: a runnable marker with no code block after it`);
      const [, list = '', role = ''] = markerMatch;
      marker = { scenarios: list === '*' ? '*' : list.split(',').filter(Boolean), role, line: index + 1 };
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const start = index;
      const body: string[] = [];
      for (index++; index < lines.length && !/^```\s*$/.test(lines[index] as string); index++) {
        body.push(lines[index] as string);
      }
      if (index >= lines.length) throw new Error(`${file}:${start + 1}: a code block that never closes`);
      blocks.push({
        language: fence[1] ?? '',
        code: `${body.join('\n')}\n`,
        marker: marker && { scenarios: marker.scenarios, role: marker.role },
        where: `${file}:${marker?.line ?? start + 1}`,
      });
      marker = null;
      continue;
    }
    if (marker && line.trim() !== '') {
      throw new Error(`${file}:${marker.line}: a runnable marker must be followed by its code block`);
    }
  }
  if (marker) throw new Error(`${file}:${marker.line}: a runnable marker with no code block after it`);
  return blocks;
}

/** The runnable blocks of README.md and docs/*.md under `root`. */
export function runnableBlocks(root: string): RunnableBlock[] {
  const files = [
    join(root, 'README.md'),
    ...readdirSync(join(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => join(root, 'docs', name)),
  ];
  const blocks: RunnableBlock[] = [];
  for (const file of files) {
    for (const block of codeBlocks(readFileSync(file, 'utf8'), relative(root, file))) {
      if (!block.marker) continue;
      blocks.push({ ...block.marker, language: block.language, code: block.code, where: block.where });
    }
  }
  return blocks;
}

export interface Scenario {
  name: string;
  install: RunnableBlock;
  run: RunnableBlock;
  browser: RunnableBlock | undefined;
  /** File name → contents. */
  files: Map<string, string>;
}

/** Groups blocks by scenario; each needs one install and one run block, and may have one browser block. */
export function scenarios(blocks: RunnableBlock[]): Map<string, Scenario> {
  const names = new Set(blocks.flatMap((block) => (block.scenarios === '*' ? [] : block.scenarios)));
  const result = new Map<string, Scenario>();
  for (const name of names) {
    const mine = blocks.filter((block) => block.scenarios === '*' || block.scenarios.includes(name));
    const one = (role: string, required: boolean): RunnableBlock | undefined => {
      const found = mine.filter((block) => block.role === role);
      if (found.length > 1) {
        throw new Error(
          `scenario ${name} has ${found.length} ${role} blocks: ${found.map((b) => b.where).join(', ')}`,
        );
      }
      if (required && found.length === 0) throw new Error(`scenario ${name} has no ${role} block`);
      return found[0];
    };
    const files = new Map<string, string>();
    for (const block of mine.filter((block) => block.role.includes('.'))) {
      if (files.has(block.role)) throw new Error(`scenario ${name} has two blocks for ${block.role}`);
      files.set(block.role, block.code);
    }
    const unknown = mine.filter(
      (block) => !['install', 'run', 'browser'].includes(block.role) && !block.role.includes('.'),
    );
    if (unknown.length > 0) throw new Error(`${unknown[0]?.where}: unknown role ${unknown[0]?.role}`);
    result.set(name, {
      name,
      install: one('install', true) as RunnableBlock,
      run: one('run', true) as RunnableBlock,
      browser: one('browser', false),
      files,
    });
  }
  return result;
}

/** The shell commands of a block: one per line, without blank and comment-only lines. */
export function shellLines(block: RunnableBlock): string[] {
  return block.code
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * An install block split into the npm specs it installs (`npm i`/`npm install`, with or without -D) and
 * the other commands it runs (`npm init -y`, `npm pkg set type=module`), in order.
 */
export function installSteps(block: RunnableBlock): { specs: string[]; commands: string[] } {
  const specs: string[] = [];
  const commands: string[] = [];
  for (const line of shellLines(block)) {
    const withoutComment = line.replace(/\s+#.*$/, '');
    for (const command of withoutComment.split('&&').map((part) => part.trim())) {
      const words = command.split(/\s+/);
      if (words[0] === 'npm' && (words[1] === 'i' || words[1] === 'install')) {
        specs.push(...words.slice(2).filter((word) => !word.startsWith('-')));
      } else {
        commands.push(command);
      }
    }
  }
  return { specs, commands };
}

/** A scenario as the test runs it: Express 4 is the `express` scenario with the README's express@4 line. */
export interface Variant {
  scenario: Scenario;
  label: string;
  /** What `npm i` installs besides keycard (which comes from the packed checkout). */
  dependencies: string[];
}

/**
 * Every variant the README test runs: each scenario as written, and `express` again with Express 4, as
 * its install block says (`express@4`, `@types/express@4`).
 */
export function variants(all: Map<string, Scenario>): Variant[] {
  const result: Variant[] = [];
  for (const scenario of all.values()) {
    const dependencies = installSteps(scenario.install).specs.filter((spec) => spec !== 'keycard');
    result.push({ scenario, label: scenario.name, dependencies });
    if (scenario.name === 'express') {
      result.push({
        scenario,
        label: 'express with Express 4',
        dependencies: dependencies.map((spec) =>
          spec === 'express' ? 'express@4' : spec === '@types/express' ? '@types/express@4' : spec,
        ),
      });
    }
  }
  return result;
}

/** The dependency lists the README test installs, for scripts/test.mjs to prepare before the runner. */
export function readmeDependencyLists(root: string): string[][] {
  const lists = variants(scenarios(runnableBlocks(root))).map((variant) => [...variant.dependencies].sort());
  return [...new Map(lists.map((list) => [JSON.stringify(list), list])).values()];
}
