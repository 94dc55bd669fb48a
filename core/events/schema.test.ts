/**
 * schema.ts must mirror native/engine/include/coroscope_events.h exactly: this
 * test parses the header text (its #defines and enums) and compares every
 * number and name, so the two cannot drift apart silently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DeferWhy,
  EVENT_SIZE,
  EVENTS_VERSION,
  Exit,
  HOOK_COUNT,
  HOOKS,
  Kind,
  NO_WORKER,
  ReadyWhy,
  SuspendWhy,
  hookId,
  hookName,
  kindName,
  SpawnHow,
  Untraced,
} from './schema.js';

const headerPath = fileURLToPath(new URL('../../native/engine/include/coroscope_events.h', import.meta.url));
const header = readFileSync(headerPath, 'utf8')
  .replace(/\/\*[\s\S]*?\*\//g, '')
  .replace(/\/\/.*$/gm, '');

/** The members of `enum name { ... }` in declaration order, with C's implicit numbering. */
function parseEnum(name: string): Array<[string, number]> {
  const m = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(header);
  assert.ok(m, `enum ${name} not found in the header`);
  const out: Array<[string, number]> = [];
  let next = 0;
  for (const item of m[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [ident, value] = item.split('=').map((s) => s.trim());
    const v = value === undefined ? next : Number(value);
    assert.ok(Number.isInteger(v), `enum ${name}: cannot read the value of ${item}`);
    out.push([ident, v]);
    next = v + 1;
  }
  return out;
}

function define(name: string): number {
  const m = new RegExp(`#define\\s+${name}\\s+(\\S+)`).exec(header);
  assert.ok(m, `#define ${name} not found`);
  return Number(m[1].replace(/u$/i, ''));
}

/** enum members with the prefix stripped, as a name -> number object. */
function members(name: string, prefix: string): Record<string, number> {
  return Object.fromEntries(parseEnum(name).map(([ident, v]) => [ident.slice(prefix.length), v]));
}

test('record size, no-worker value and events version equal the header', () => {
  assert.equal(EVENT_SIZE, define('COROSCOPE_EVENT_SIZE'));
  assert.equal(NO_WORKER, define('COROSCOPE_NO_WORKER'));
  assert.equal(EVENTS_VERSION, define('COROSCOPE_EVENTS_VERSION'));
});

test('every event kind has the header number, and no kind is missing either way', () => {
  const kinds = members('coroscope_event_kind', 'COROSCOPE_EV_');
  assert.deepEqual({ ...Kind }, kinds);
  for (const [n, id] of Object.entries(kinds)) assert.equal(kindName(id), n);
});

test('hook ids: same names in the same order, starting at 1, and the count', () => {
  const hooks = parseEnum('coroscope_hook');
  const count = hooks.pop();
  assert.deepEqual(count, ['COROSCOPE_HOOK_COUNT', HOOK_COUNT]);
  assert.deepEqual(
    hooks.map(([ident]) => ident.slice('COROSCOPE_HOOK_'.length)),
    [...HOOKS],
  );
  hooks.forEach(([ident, id], i) => {
    assert.equal(id, i + 1, ident);
    assert.equal(hookName(id), HOOKS[i]);
    assert.equal(hookId(HOOKS[i]), id);
  });
});

test('ready, suspend, exit and defer reasons equal the header enums', () => {
  assert.deepEqual({ ...ReadyWhy }, members('coroscope_ready_why', 'COROSCOPE_READY_'));
  assert.deepEqual({ ...SuspendWhy }, members('coroscope_suspend_why', 'COROSCOPE_SUSPEND_'));
  assert.deepEqual({ ...Exit }, members('coroscope_exit', 'COROSCOPE_EXIT_'));
  assert.deepEqual({ ...DeferWhy }, members('coroscope_defer_why', 'COROSCOPE_DEFER_'));
});

test('spawn kinds and untraced reasons have the header numbers (followed children)', () => {
  assert.deepEqual({ ...SpawnHow }, members('coroscope_spawn_how', 'COROSCOPE_SPAWN_'));
  assert.deepEqual({ ...Untraced }, members('coroscope_untraced', 'COROSCOPE_UNTRACED_'));
});
