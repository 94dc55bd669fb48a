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

export function useSessionQuery<N extends QueryName>(
  session: string | null | undefined,
  name: N,
  args: QueryArgs<N>,
  opts: { throttleMs?: number; skip?: boolean } = {},
): QueryResult<N> | undefined {
  return useSessionAnswer(session, name, args, opts).value;
}

/**
 * useSessionQuery's answer with whether it answers the arguments given now (`fresh`), or is the
 * last one kept while the question with the new arguments is on its way.
 */
export function useSessionAnswer<N extends QueryName>(
  session: string | null | undefined,
  name: N,
  args: QueryArgs<N>,
  opts: { throttleMs?: number; skip?: boolean } = {},
): { value: QueryResult<N> | undefined; fresh: boolean } {
  const version = useThrottledVersion(session ?? null, opts.throttleMs ?? 0);
  const key = JSON.stringify(args);
  const [answer, setAnswer] = useState<{ session: string; key: string; value: QueryResult<N> } | null>(null);
  const latest = useRef({ session, name, args, key });
  latest.current = { session, name, args, key };
  const inflight = useRef(false);
  const again = useRef(false);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);
  useEffect(() => {
    if (!session || opts.skip) return;
    const run = () => {
      if (inflight.current) {
        again.current = true;
        return;
      }
      const { session: s, name: n, args: a, key: k } = latest.current;
      if (!s) return;
      inflight.current = true;
      query(s, n, a)
        .then(
          (value) => {
            if (alive.current && latest.current.session === s) setAnswer({ session: s, key: k, value });
          },
          (e: Error) => console.warn(`coroscope: query ${n} failed: ${e.message}`),
        )
        .finally(() => {
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
  const mine = answer && answer.session === session ? answer : null;
  return { value: mine?.value, fresh: !!mine && mine.key === key };
}
