/**
 * Type-level tests of the contract at the host end, checked by `npm run typecheck` (tsc -p main):
 * each `@ts-expect-error` line must be an error, or the build fails ("unused directive"). Nothing
 * here runs.
 */
import type { ApiPush, ReplyEnvelope, RequestEnvelope } from '../../preload/api.js';
import type { AppHost } from './host.js';

type Handlers = AppHost['handlers'];

/** A handler for a request the contract does not have: a wrong name. */
export const wrongName: Partial<Handlers> = {
  // prettier-ignore
  // @ts-expect-error the request is listDemos, there is no listDemo
  listDemo: () => [],
};

/** A request without its handler. */
export function missingHandler(all: Handlers): Handlers {
  const { ack: _ack, ...rest } = all;
  // prettier-ignore
  // @ts-expect-error every request needs its handler: ack is missing
  return rest;
}

/** Handlers taking other arguments than their request's. */
export const wrongArgs: Partial<Handlers> = {
  // prettier-ignore
  // @ts-expect-error attach is given a pid (a number), not a string
  attach: ([pid]: [pid: string]) => ({ id: pid }) as never,
  // prettier-ignore
  // @ts-expect-error step is given [id, n]: there is no third argument to expect
  step: ([_id, _n, _three]: [string, number, number]) => ({ ok: true, steps: 1 }),
};

/** Handlers answering another result than their request's. */
export const wrongResult: Partial<Handlers> = {
  // prettier-ignore
  // @ts-expect-error sessions answers SessionStatus[], not a string
  sessions: () => 'none',
  // prettier-ignore
  // @ts-expect-error snapshot answers the engine's snapshot, not a pause reply
  snapshot: async () => ({ ok: true as const, paused: true }),
};

/** What a transport does with replies and envelopes. */
export function transport(reply: ReplyEnvelope<'listDemos'>, push: (p: ApiPush) => void): void {
  if (reply.ok) {
    // prettier-ignore
    // @ts-expect-error a listDemos result is Demo[]: it has no id
    void reply.result.id;
  }
  // prettier-ignore
  // @ts-expect-error a sessions reply carries SessionStatus[], not demos
  const r: ReplyEnvelope<'sessions'> = { id: 1, ok: true, result: [{ name: 'hello', title: '', description: '', cmd: '', args: [] }] };
  // prettier-ignore
  // @ts-expect-error an envelope's arguments are its request's: attach takes a number
  const e: RequestEnvelope<'attach'> = { id: 2, name: 'attach', args: ['1234'] };
  // prettier-ignore
  // @ts-expect-error no push is named batches
  push({ type: 'batches', session: 's1' });
  // prettier-ignore
  // @ts-expect-error an output push's stream is 1 or 2
  push({ type: 'output', session: 's1', stream: 3, text: '' });
  void r;
  void e;
}
