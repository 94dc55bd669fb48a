/** fds.ts mirrors the header's fd enums, and says what an fd is in one line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FdFlag, FdKind, FdOrigin, fdText, WakerHow } from './fds.js';

const header = readFileSync(
  fileURLToPath(new URL('../../native/engine/include/coroscope_events.h', import.meta.url)),
  'utf8',
)
  .replace(/\/\*[\s\S]*?\*\//g, '')
  .replace(/\/\/.*$/gm, '');

function members(name: string, prefix: string): Record<string, number> {
  const m = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(header);
  assert.ok(m, `enum ${name}`);
  const out: Record<string, number> = {};
  for (const item of m[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [ident, value] = item.split('=').map((s) => s.trim());
    out[ident.slice(prefix.length)] = Number(value);
  }
  return out;
}

test('fd kinds, origins and waker hows equal the header enums; flag bits its defines', () => {
  assert.deepEqual({ ...FdKind }, members('coroscope_fd_kind', 'COROSCOPE_FD_'));
  assert.deepEqual({ ...FdOrigin }, members('coroscope_fd_origin', 'COROSCOPE_FDO_'));
  assert.deepEqual({ ...WakerHow }, members('coroscope_waker_how', 'COROSCOPE_WAKER_'));
  for (const [name, bit] of Object.entries(FdFlag)) {
    const m = new RegExp(`#define\\s+COROSCOPE_FDF_${name}\\s+\\(1u << (\\d+)\\)`).exec(header);
    assert.ok(m, name);
    assert.equal(bit, 1 << Number(m[1]), name);
  }
});

test('an fd in one line: sockets with both ends, files by path, pipes by end and partner', () => {
  assert.equal(
    fdText({ kind: FdKind.TCP, flags: 0, local: '127.0.0.1:41234', peer: '127.0.0.1:5432', other: -1 }),
    'TCP 127.0.0.1:41234 → 127.0.0.1:5432',
  );
  assert.equal(
    fdText({ kind: FdKind.TCP, flags: FdFlag.LISTENING, local: '0.0.0.0:8080', peer: '', other: -1 }),
    'TCP listening 0.0.0.0:8080',
  );
  assert.equal(
    fdText({ kind: FdKind.FILE, flags: 0, local: '/var/lib/app.db', peer: '', other: -1 }),
    'file /var/lib/app.db',
  );
  assert.equal(
    fdText({ kind: FdKind.PIPE, flags: FdFlag.READ_END, local: 'pipe:[77]', peer: '', other: 9 }),
    'pipe read end (other end fd 9)',
  );
  assert.equal(
    fdText({ kind: FdKind.UNIX_STREAM, flags: 0, local: '', peer: '', other: 5 }),
    'Unix stream (other end fd 5)',
  );
  assert.equal(fdText({ kind: FdKind.EVENTFD, flags: 0, local: '', peer: '', other: -1 }), 'eventfd');
});
