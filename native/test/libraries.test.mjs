// Real client libraries inside coroutines, against real servers started for
// the test on this machine (a private PostgreSQL cluster and Redis on Unix
// sockets in a scratch directory, an HTTPS server on 127.0.0.1 with a CA made
// for the test): libpq, hiredis and libcurl over TLS park on their sockets, so
// N slow operations on ONE worker overlap instead of running one after the
// other, a ticker coroutine beside them keeps time, and every socket call is
// in the trace with its duration (issue 14). Needs the Debian packages
// postgresql, redis-server, libpq-dev, libhiredis-dev, libcurl4-openssl-dev
// and openssl (.ci/run installs them).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv, compileProg, traceCalls } from './support.mjs';

const N = 20;
let tmp;
const servers = [];
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-libs-'));
  chmodSync(tmp, 0o755); // the PostgreSQL server runs as its own user and must reach its directory
});
after(() => {
  for (const s of servers) s.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** Waits until check() is true, polling, at most ms; fails with what. */
async function until(check, ms, what) {
  for (const t0 = Date.now(); !check(); await new Promise((r) => setTimeout(r, 50)))
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
}

function must(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.error?.message ?? ''}${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Runs a program of lib_co.h on one worker, recorded; its report and its trace's calls. */
function runOnOneWorker(exe, args, name) {
  const file = join(tmp, `${name}.cstrace`);
  const r = spawnSync(exe, args, { env: cleanEnv({ COROSCOPE_WORKERS: '1', COROSCOPE_TRACE: file }), encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const m = new RegExp(`^${name} ok (\\d+) of (\\d+) elapsed_ms ([\\d.]+)$`, 'm').exec(r.stdout);
  const t = /^ticker worst_late_ms ([\d.]+) ticks (\d+)$/m.exec(r.stdout);
  assert.ok(m && t, r.stdout);
  const calls = traceCalls(file).filter((c) => c.co === name);
  return { ok: Number(m[1]), elapsedMs: Number(m[3]), tickerLateMs: Number(t[1]), ticks: Number(t[2]), calls };
}

/**
 * What every case checks: all N operations succeeded; together they took well under the time
 * they take one after the other (N x the server's delay), which only happens if they overlapped
 * on the one worker; the ticker ticked meanwhile; the waits are parked calls in the trace, none
 * flagged as blocking the worker, and the longest of them lasted about the server's delay.
 */
function checkOverlapped(r, delayMs, what) {
  assert.equal(r.ok, N, `${what}: every operation succeeded`);
  const serialMs = N * delayMs;
  assert.ok(r.elapsedMs < serialMs / 2, `${what}: ${N} operations of ${delayMs} ms took ${r.elapsedMs} ms (one after the other: ${serialMs} ms)`);
  assert.ok(r.ticks > 0, `${what}: the ticker ran`);
  const parked = r.calls.filter((c) => c.parked);
  assert.ok(parked.length >= N, `${what}: at least one parked call per operation (${parked.length}: ${[...new Set(parked.map((c) => c.hook))].join(', ')})`);
  assert.equal(r.calls.filter((c) => c.blocked).length, 0, `${what}: no call blocked the worker`);
  const longest = Math.max(...parked.map((c) => c.ms));
  assert.ok(longest >= delayMs * 0.8, `${what}: the longest parked call (${longest} ms) is the server's delay`);
  console.log(`# ${what}: ${N} x ${delayMs} ms in ${r.elapsedMs} ms on one worker; ticker worst lateness ${r.tickerLateMs} ms; ` +
    `${r.calls.length} calls in the trace, ${parked.length} parked`);
}

test('libpq: 20 pg_sleep(0.2) queries in coroutines on one worker overlap, and every wait is a parked call', async () => {
  const bin = readdirSync('/usr/lib/postgresql').map((v) => join('/usr/lib/postgresql', v, 'bin')).find((d) => existsSync(join(d, 'initdb')));
  assert.ok(bin, 'PostgreSQL is installed (Debian package postgresql)');
  const data = join(tmp, 'pg');
  mkdirSync(data, { mode: 0o700 });
  // initdb refuses to run as root: as root, the cluster belongs to the postgres user.
  const asRoot = process.getuid() === 0;
  const as = (cmd, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) {
    const ids = must('id', ['-u', 'postgres']).trim();
    chownSync(data, Number(ids), Number(must('id', ['-g', 'postgres']).trim()));
  }
  must(...as(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']));
  const [cmd, args] = as(join(bin, 'postgres'), ['-D', data, '-k', data, '-c', "listen_addresses=", '-c', 'fsync=off', '-c', 'max_connections=100']);
  const pg = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  servers.push(pg);
  let log = '';
  pg.stderr.on('data', (d) => (log += d));
  await until(() => existsSync(join(data, '.s.PGSQL.5432')) || pg.exitCode !== null, 60_000, 'PostgreSQL to listen');
  assert.equal(pg.exitCode, null, `PostgreSQL exited: ${log}`);
  const exe = compileProg('lib_pg', tmp, ['-I/usr/include/postgresql', '-lpq']);
  checkOverlapped(runOnOneWorker(exe, [`host=${data} user=postgres dbname=postgres`, String(N), '0.2'], 'pg'), 200, 'libpq');
});

test('hiredis: 20 BLPOPs of 0.3 s in coroutines on one worker overlap, and every wait is a parked call', async () => {
  const sock = join(tmp, 'redis.sock');
  const redis = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no', '--dir', tmp], { stdio: 'ignore' });
  servers.push(redis);
  await until(() => existsSync(sock) || redis.exitCode !== null, 30_000, 'Redis to listen');
  assert.equal(redis.exitCode, null, 'redis-server is running (Debian package redis-server)');
  const exe = compileProg('lib_redis', tmp, ['-lhiredis']);
  checkOverlapped(runOnOneWorker(exe, [sock, String(N), '0.3'], 'redis'), 300, 'hiredis');
});

test('libcurl over TLS: 20 slow HTTPS requests in coroutines on one worker overlap, verified, with the right bodies', async () => {
  const key = join(tmp, 'key.pem');
  const cert = join(tmp, 'cert.pem');
  must('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', key, '-out', cert, '-days', '1']);
  const server = join(tmp, 'slow_https.py');
  writeFileSync(server, `
import http.server, ssl, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.2)
        body = b"slow hello\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
`);
  const https = spawn('python3', [server, cert, key], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(https);
  let out = '';
  https.stdout.on('data', (d) => (out += d));
  await until(() => /^\d+\n/.test(out) || https.exitCode !== null, 30_000, 'the HTTPS server to listen');
  const port = Number(out.trim());
  assert.ok(port > 0, 'the HTTPS server listens');
  const exe = compileProg('lib_curl', tmp, ['-lcurl']);
  checkOverlapped(runOnOneWorker(exe, [`https://127.0.0.1:${port}/slow`, cert, String(N)], 'curl'), 200, 'libcurl');
});
