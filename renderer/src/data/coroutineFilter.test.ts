// The Coroutines table's filter: ids in the forms the other views print, states, names.
import test from 'node:test';
import assert from 'node:assert/strict';
import { coroutineMatcher } from './coroutineFilter.js';

const rows = [
  { co: 1, name: 'main-loop', state: 'running' as const },
  { co: 12, name: 'conn 12', state: 'suspended' as const },
  { co: 120, name: 'ticker', state: 'done' as const },
  { co: 7, name: 'Reader', state: 'ready' as const },
];
const ids = (f: string) => rows.filter(coroutineMatcher(f)).map((c) => c.co);

test('empty filter: everything', () => assert.deepEqual(ids('  '), [1, 12, 120, 7]));
test('an id, as 12, #12 or co#12, matches that coroutine exactly (and names containing it)', () => {
  assert.deepEqual(ids('#12'), [12]);
  assert.deepEqual(ids('co#12'), [12]);
  assert.deepEqual(ids('12'), [12]);
  assert.deepEqual(ids('120'), [120]);
});
test('a state matches that state; anything else is part of a name, case-insensitive', () => {
  assert.deepEqual(ids('done'), [120]);
  assert.deepEqual(ids('Suspended'), [12]);
  assert.deepEqual(ids('read'), [7]);
  assert.deepEqual(ids('LOOP'), [1]);
  assert.deepEqual(ids('nothing'), []);
});
