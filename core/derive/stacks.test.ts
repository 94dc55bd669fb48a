import test from 'node:test';
import assert from 'node:assert/strict';
import { RawEvents, RawEventWriter } from '../events/rawEvents.js';
import { Kind, StackWhy } from '../events/schema.js';
import { StringTable } from '../events/strings.js';
import { CodeMap, frameText, parseStack, serialOf } from './stacks.js';

const S1 = 2 ** 32; // ids of the process with serial 1

function mappings(): { raw: RawEvents; strings: StringTable } {
  const strings = new StringTable();
  strings.add([
    [1, '/usr/bin/app'],
    [2, 'ab12'],
    [S1 + 1, '/usr/bin/child'],
    [S1 + 2, '5546 7000'],
    [3, '/lib/libc.so.6'],
    [4, '1010 2010 3ff0'],
  ]);
  const w = new RawEventWriter();
  w.push({ ts: 1, kind: Kind.MAPPING, a: [0x1000, 0x2000, 0x0, 1, 2] });
  w.push({ ts: 1, kind: Kind.MAPPING, a: [0x3000, 0x4000, 0x2000, 3, 0] });
  w.push({ ts: 1, kind: Kind.MAPPING, a: [0x5000, 0x6000, 0x5000, S1 + 1, 0] });
  return { raw: new RawEvents(w.bytes()), strings };
}

test('a stack is its addresses in hex, innermost first; anything else is no stack', () => {
  assert.deepEqual(parseStack('55c3a1 7f00'), [0x55c3a1, 0x7f00]);
  assert.deepEqual(parseStack(''), []);
  assert.deepEqual(parseStack('55c3a1 hello'), []);
  assert.deepEqual(parseStack('55c3a1  7f00'), []);
});

test('mappings are kept per process serial; a return address is looked up one byte before, a preempted pc as is', () => {
  const { raw, strings } = mappings();
  const maps = new CodeMap();
  maps.scan(raw, strings);
  assert.equal(maps.size, 3);
  assert.equal(serialOf(S1 + 2), 1);
  const parked = maps.sites(4, StackWhy.PARK, strings);
  assert.deepEqual(
    parked.map((s) => [s.addr, s.mapping?.path]),
    [
      [0x1010 - 1, '/usr/bin/app'],
      [0x2010, undefined], // in no mapping: its pc, unplaced
      [0x3ff0 - 0x2000 - 1, '/lib/libc.so.6'],
    ],
  );
  assert.equal(maps.sites(4, StackWhy.PREEMPT, strings)[0].addr, 0x1010, 'the interrupted pc itself');
  assert.equal(parked[0].mapping?.buildId, 'ab12');
  // The child's stack is placed in the child's mappings only.
  const child = maps.sites(S1 + 2, StackWhy.PARK, strings);
  assert.deepEqual(
    child.map((s) => s.mapping?.path),
    ['/usr/bin/child', undefined],
  );
});

test('an object mapped again at the same place: the newest record wins', () => {
  const maps = new CodeMap();
  maps.add(0, { start: 0x1000, end: 0x2000, bias: 0, path: '/old.so', buildId: '' });
  maps.add(0, { start: 0x1000, end: 0x2000, bias: 0, path: '/new.so', buildId: '' });
  assert.equal(maps.find(0, 0x1800)?.path, '/new.so');
  assert.equal(maps.size, 1);
});

test('a frame as one line: function (file:line), the object when there is no line, the pc when nothing is known', () => {
  const f = {
    pc: 0x1234,
    function: 'read_all',
    file: '/src/app/io.c',
    line: 88,
    object: '/usr/bin/app',
    inlined: false,
  };
  assert.equal(frameText(f), 'read_all (io.c:88)');
  assert.equal(frameText({ ...f, inlined: true }), 'read_all (io.c:88) [inlined]');
  assert.equal(frameText({ ...f, file: '', line: 0 }), 'read_all (app)');
  assert.equal(frameText({ ...f, function: '', file: '', line: 0, object: '' }), '0x1234');
});
