/**
 * Symbolised stacks: a CO_STACK's addresses (core/derive/stacks.ts places them in the recorded
 * mappings) resolved by the addon's libdw symbolize, offline, from the objects' files as they are
 * on disk now (a build id that changed since the recording resolves nothing). Results are cached
 * per (object, build id, address); an object that cannot be opened is remembered as such.
 */
import { CodeMap, type StackFrame } from '../../core/derive/stacks.js';
import type { StringTable } from '../../core/events/strings.js';
import { addon, type Addon } from './addon.js';

export class StackSymbols {
  private readonly cache = new Map<string, Map<number, StackFrame[]>>();
  private readonly unreadable = new Set<string>();
  private readonly byStack = new Map<string, StackFrame[]>();

  constructor(private readonly native: Pick<Addon, 'symbolize'> = addon()) {}

  /** The frames of stack `stack` (a string id of strings) taken for `why` (CO_STACK a1), innermost first. */
  frames(stack: number, why: number, strings: StringTable, maps: CodeMap): StackFrame[] {
    const key = `${stack}:${why}`;
    const known = this.byStack.get(key);
    if (known) return known;
    const sites = maps.sites(stack, why, strings);
    // Ask each object once for all of its addresses not cached yet.
    const ask = new Map<string, { path: string; buildId: string; addrs: number[] }>();
    for (const s of sites) {
      if (!s.mapping) continue;
      const k = `${s.mapping.path}\0${s.mapping.buildId}`;
      if (this.unreadable.has(k) || this.cache.get(k)?.has(s.addr)) continue;
      const q = ask.get(k) ?? { path: s.mapping.path, buildId: s.mapping.buildId, addrs: [] };
      q.addrs.push(s.addr);
      ask.set(k, q);
    }
    for (const [k, q] of ask) {
      let got: ReturnType<Addon['symbolize']> = null;
      try {
        got = this.native.symbolize(q.path, q.buildId || null, q.addrs);
      } catch {
        got = null;
      }
      if (!got) {
        this.unreadable.add(k);
        continue;
      }
      const c = this.cache.get(k) ?? new Map<number, StackFrame[]>();
      q.addrs.forEach((a, i) =>
        c.set(
          a,
          (got![i] ?? []).map((f) => ({
            pc: 0,
            function: f.function,
            file: f.file,
            line: f.line,
            object: q.path,
            inlined: f.inlined,
          })),
        ),
      );
      this.cache.set(k, c);
    }
    const out: StackFrame[] = [];
    for (const s of sites) {
      const k = s.mapping ? `${s.mapping.path}\0${s.mapping.buildId}` : '';
      const fs = s.mapping ? this.cache.get(k)?.get(s.addr) : undefined;
      if (fs && fs.length) for (const f of fs) out.push({ ...f, pc: s.pc });
      else out.push({ pc: s.pc, function: '', file: '', line: 0, object: s.mapping?.path ?? '', inlined: false });
    }
    this.byStack.set(key, out);
    return out;
  }
}
