/**
 * A recorded stack's frames, asked of the host (stackFrames: it symbolises with libdw) once per
 * session and stack, and kept: a stack id names the same addresses for the whole session.
 */
import { useEffect, useState } from 'react';
import type { StackRef, StackFrame } from '@core/derive/stacks.js';
import { getApi } from '../../api/index.js';

const cache = new Map<string, Promise<StackFrame[]>>();

export function stackFrames(session: string, ref: Pick<StackRef, 'stack' | 'why'>): Promise<StackFrame[]> {
  const key = `${session}:${ref.stack}:${ref.why}`;
  let p = cache.get(key);
  if (!p) {
    p = getApi().stackFrames(session, { stack: ref.stack, why: ref.why });
    p.then(
      (f) => {
        if (f.length === 0) cache.delete(key); // not in the host's view of the session yet: ask again later
      },
      () => cache.delete(key),
    );
    cache.set(key, p);
  }
  return p;
}

/** The frames of ref (undefined while asked, or without a stack). */
export function useStackFrames(session: string, ref: StackRef | undefined): StackFrame[] | undefined {
  const [frames, setFrames] = useState<{ key: string; frames: StackFrame[] } | null>(null);
  const stack = ref?.stack ?? 0;
  const why = ref?.why ?? 0;
  const key = `${session}:${stack}:${why}`;
  useEffect(() => {
    if (!stack) return;
    let live = true;
    const k = `${session}:${stack}:${why}`;
    stackFrames(session, { stack, why }).then(
      (f) => live && setFrames({ key: k, frames: f }),
      () => live && setFrames({ key: k, frames: [] }),
    );
    return () => {
      live = false;
    };
  }, [session, stack, why]);
  return frames && frames.key === key ? frames.frames : undefined;
}
