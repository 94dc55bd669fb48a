/**
 * useSessionQuery(session, name, args): a view's question to the data worker (worker/protocol.ts
 * Queries), asked again when the session's data version moves (at most every `throttleMs`) or
 * the arguments change. It keeps the last answer while the next is in flight (no flicker), has
 * at most one question in flight (a change meanwhile asks once more when it returns, with the
 * newest arguments), and drops answers about another session than the one now shown.
 */
import { useEffect, useRef, useState } from 'react';
import type { QueryArgs, QueryName, QueryResult } from '../worker/protocol.js';
import { query } from '../worker/client.js';
import { useThrottledVersion } from './useThrottled.js';

export function useSessionQuery<N extends QueryName>(session: string | null | undefined, name: N, args: QueryArgs<N>,
  opts: { throttleMs?: number; skip?: boolean } = {}): QueryResult<N> | undefined {
  const version = useThrottledVersion(session ?? null, opts.throttleMs ?? 0);
  const key = JSON.stringify(args);
  const [answer, setAnswer] = useState<{ session: string; value: QueryResult<N> } | null>(null);
  const latest = useRef({ session, name, args });
  latest.current = { session, name, args };
  const inflight = useRef(false);
  const again = useRef(false);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => { alive.current = false; };
  }, []);
  useEffect(() => {
    if (!session || opts.skip) return;
    const run = () => {
      if (inflight.current) {
        again.current = true;
        return;
      }
      const { session: s, name: n, args: a } = latest.current;
      if (!s) return;
      inflight.current = true;
      query(s, n, a).then(
        (value) => {
          if (alive.current && latest.current.session === s) setAnswer({ session: s, value });
        },
        (e: Error) => console.warn(`coroscope: query ${n} failed: ${e.message}`),
      ).finally(() => {
        inflight.current = false;
        if (again.current && alive.current) {
          again.current = false;
          run();
        }
      });
    };
    run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session, name, key, version, opts.skip]);
  return answer && answer.session === session ? answer.value : undefined;
}
