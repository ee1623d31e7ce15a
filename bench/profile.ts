/**
 * Hot spots of a V8 CPU profile (from BENCH_PROFILE=1, or node --cpu-prof): self time by function and by
 * file, largest first, idle time left out. Given a directory, reads its largest profile (the main thread's;
 * the loader's worker thread writes a small one beside it).
 * Run: node --import tsx bench/profile.ts bench/results/profiles/<server>/ [top]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface HeapNode {
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

function shortName(frame: ProfileNode['callFrame']): string {
  const file = frame.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/work\/main\//, '');
  return `${frame.functionName || '(anonymous)'} ${file || '(native)'}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}

/** Sampled allocations (--heap-prof): bytes by allocating function, and by function including callees. */
function allocationSpots(path: string, top: number): string {
  const root = (JSON.parse(readFileSync(path, 'utf8')) as { head: HeapNode }).head;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode, stack: string[]): void => {
    const name = shortName(node.callFrame);
    const here = stack.includes(name) ? stack : [...stack, name];
    if (node.selfSize > 0) {
      total += node.selfSize;
      self.set(name, (self.get(name) ?? 0) + node.selfSize);
      for (const frame of here) inclusive.set(frame, (inclusive.get(frame) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(root, []);
  const lines = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, bytes]) => `${((bytes / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
  return [
    `${path}: sampled allocations (${(total / 2 ** 20).toFixed(0)} MiB live in samples)`,
    ...lines(self),
    '',
    'allocations including callees',
    ...lines(inclusive),
  ].join('\n');
}

export function hotSpots(input: string, top = 25): string {
  let path = input;
  if (statSync(input).isDirectory()) {
    const files = readdirSync(input)
      .filter((file) => file.endsWith('.cpuprofile') || file.endsWith('.heapprofile'))
      .map((file) => join(input, file));
    path = files.sort((a, b) => statSync(b).size - statSync(a).size)[0] as string;
  }
  if (path.endsWith('.heapprofile')) return allocationSpots(path, top);
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const idle = new Set(
    profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id),
  );
  const total = [...selfTime].reduce((sum, [id, time]) => sum + (idle.has(id) ? 0 : time), 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, time] of selfTime) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    if (frame.functionName === '(idle)') continue;
    const file =
      frame.url
        .replace(/^file:\/\//, '')
        .replace(/^.*\/node_modules\//, 'node_modules/')
        .replace(/^.*\/work\/main\//, '') || `(${frame.functionName || 'native'})`;
    const name = `${frame.functionName || '(anonymous)'} ${file}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
    const group = file.startsWith('node_modules/')
      ? file
          .split('/')
          .slice(0, file.startsWith('node_modules/@') ? 3 : 2)
          .join('/')
      : file;
    byFile.set(group, (byFile.get(group) ?? 0) + time);
  }
  // Inclusive time: a function's own samples plus those of everything it called (recursion counted once).
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, time] of selfTime) {
    if (idle.has(id)) continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = (byId.get(at) as ProfileNode).callFrame;
      if (!frame.url || frame.functionName === '') continue;
      const name = `${frame.functionName} ${frame.url
        .replace(/^file:\/\//, '')
        .replace(/^.*\/node_modules\//, 'node_modules/')
        .replace(/^.*\/work\/main\//, '')}:${frame.lineNumber + 1}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + time);
    }
  }
  const lines = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, time]) => `${((time / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
  return [
    `${path}: self time by function (${(total / 1e6).toFixed(1)} s busy)`,
    ...lines(byFunction),
    '',
    'self time by file or package',
    ...lines(byFile),
    '',
    'inclusive time by function',
    ...lines(inclusive),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node --import tsx bench/profile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(hotSpots(path, Number(process.argv[3] ?? 25)));
}
