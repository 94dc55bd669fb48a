// DNS inside coroutines (hook_dns.c, offload.c): glibc's own resolver runs
// on the offload pool while the coroutine parks, so lookups against a slow
// server overlap and the worker keeps running other coroutines; the answers
// are glibc's, and each lookup is in the trace with its name and duration.
//
// The lookups go through glibc's real path: a private user, mount and
// network namespace (`unshare -rmn`, no root needed where user namespaces
// are enabled) where /etc/resolv.conf and /etc/hosts are bind-mounted
// copies and slow_dns.py answers on 127.0.0.1:53 after a delay.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv, compileProg, dump, here } from './support.mjs';

let tmp;
let exe;

const sandbox = `
D=$1; DELAY=$2; shift 2
ip link set lo up || exit 90
mount --bind "$D/resolv.conf" /etc/resolv.conf || exit 91
mount --bind "$D/hosts" /etc/hosts || exit 92
rm -f "$D/dns.log" # a previous run's "ready" must not count
python3 "$D/slow_dns.py" 127.0.0.1 53 "$DELAY" > "$D/dns.log" 2>&1 &
srv=$!
i=0; until grep -q ready "$D/dns.log"; do i=$((i+1)); [ $i -gt 400 ] && exit 93; sleep 0.05; done
"$@"; rc=$?
kill $srv
exit $rc
`;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-dns-'));
  writeFileSync(join(tmp, 'resolv.conf'), 'nameserver 127.0.0.1\nsearch slow.test\noptions timeout:30 attempts:1\n');
  writeFileSync(join(tmp, 'hosts'), '127.0.0.1 localhost\n::1 localhost ip6-localhost\n192.0.2.7 filehost.slow.test filealias\n');
  writeFileSync(join(tmp, 'slow_dns.py'), readFileSync(join(here, 'slow_dns.py')));
  writeFileSync(join(tmp, 'sandbox.sh'), sandbox);
  exe = compileProg('dns_lookups', tmp);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run dns_lookups ARGS in the sandbox with a server that answers after `delay` seconds. */
function run(args, delay, env = {}) {
  const r = spawnSync('unshare', ['-rmn', 'sh', join(tmp, 'sandbox.sh'), tmp, String(delay), exe, ...args], {
    env: cleanEnv({ COROSCOPE_WORKERS: '1', ...env }), encoding: 'utf8', timeout: 120000,
  });
  assert.notEqual(r.status, 90, `the sandbox could not bring up loopback: ${r.stderr}`);
  assert.ok(r.status !== 91 && r.status !== 92, `the sandbox could not bind-mount /etc files: ${r.stderr}`);
  assert.notEqual(r.status, 93, `slow_dns.py did not start: ${readFileSync(join(tmp, 'dns.log'), 'utf8')}`);
  return r;
}

function concurrent(out) {
  const m = /lookups (\d+) elapsed_ms ([\d.]+) worst_late_ms ([\d.]+)/.exec(out);
  const p = /offload_threads (\d+) blocked (\d+)/.exec(out);
  assert.ok(m && p, out);
  const answers = out.split('\n').filter((l) => l.startsWith('answer ')).map((l) => l.slice(7));
  return { elapsed: Number(m[2]), late: Number(m[3]), answers, threads: Number(p[1]), blocked: Number(p[2]) };
}

test('10 lookups from 10 coroutines on 1 worker against a 1 s DNS server overlap, and the worker keeps running', () => {
  const r = run(['concurrent', '10'], 1, { COROSCOPE_OFFLOAD_THREADS: '10' });
  assert.equal(r.status, 0, r.stderr);
  const c = concurrent(r.stdout);
  assert.equal(c.answers.length, 10);
  for (const [i, a] of c.answers.entries()) assert.match(a, new RegExp(`^host${i}\\.slow\\.test 10\\.53\\.\\d+\\.\\d+$`));
  // One after the other they take 10 s (the worker blocked in each): together about one delay.
  assert.ok(c.elapsed < 5000, `10 lookups took ${c.elapsed} ms`);
  // A ticker sleeping 5 ms at a time is never held up for anything like a lookup.
  assert.ok(c.late < 500, `the ticker was ${c.late} ms late: the worker stalled`);
  assert.ok(c.threads >= 1 && c.threads <= 10 && c.blocked === c.threads, `pool threads ${c.threads}, blocking every signal ${c.blocked}`);
});

test('with the default pool (4 threads) the 10 lookups still complete, in a few rounds, without stalling the worker', () => {
  const r = run(['concurrent', '10'], 0.5, {});
  assert.equal(r.status, 0, r.stderr);
  const c = concurrent(r.stdout);
  assert.equal(c.answers.filter((a) => / 10\.53\./.test(a)).length, 10);
  assert.ok(c.late < 250, `the ticker was ${c.late} ms late`);
});

test('the pool never has more threads than COROSCOPE_OFFLOAD_THREADS, each blocks every signal, and the lookups beyond it wait their turn', () => {
  const r = run(['concurrent', '10'], 0.2, { COROSCOPE_OFFLOAD_THREADS: '2' });
  assert.equal(r.status, 0, r.stderr);
  const c = concurrent(r.stdout);
  assert.equal(c.threads, 2, 'two pool threads');
  assert.equal(c.blocked, 2, 'both block every signal a thread can block');
  assert.equal(c.answers.filter((a) => / 10\.53\./.test(a)).length, 10, 'every lookup got its answer');
  // 10 lookups, 2 at a time, 0.2 s each: at least 5 rounds.
  assert.ok(c.elapsed >= 900, `10 lookups on 2 threads took only ${c.elapsed} ms`);
});

test('every answer is the one glibc gives on a plain thread: hosts file, numeric hosts, flags, search domains, errors', () => {
  const r = run(['matrix'], 0.02);
  const lines = r.stdout.trim().split('\n');
  assert.equal(r.status, 0, `differences:\n${lines.filter((l) => l.startsWith('DIFF')).join('\n')}\n${r.stderr}`);
  const by = Object.fromEntries(lines.map((l) => /^same (.*?): (.*)$/.exec(l)).filter(Boolean).map((m) => [m[1], m[2]]));
  assert.equal(Object.keys(by).length, 27, r.stdout);
  // The matrix means something only if the cases reach each source and each error.
  assert.match(by['hosts-file alias, canonical name'], /192\.0\.2\.7:0 canon=filehost\.slow\.test/);
  assert.match(by['numeric IPv6'], /\[10\/1\/6 ::1:0\]/);
  assert.match(by['passive, no node'], /0\.0\.0\.0:8080/);
  assert.match(by['DNS name, canonical name'], /10\.53\.\d+\.\d+:443 canon=dnshost\.slow\.test/);
  assert.match(by['search domain'], /10\.53\./);
  assert.equal(by['unknown name (NXDOMAIN)'], 'rc=Name or service not known');
  assert.equal(by['unknown service'], 'rc=Servname not supported for ai_socktype');
  assert.match(by['getnameinfo PTR'], /host=ptr-host\.slow\.test serv=http/);
  assert.match(by['gethostbyname search domain'], /name=searched\.slow\.test/);
  assert.equal(by['gethostbyname unknown'], 'NULL h_errno=1');
  assert.equal(by['gethostbyname_r buffer too small'], 'rc=34 res=NULL');
  assert.match(by['res_search search domain'], /^len=\d+ /);
  assert.equal(by['res_query unknown'], 'len=-1 h_errno=1');
});

test('gethostbyname keeps each coroutine\'s result while another coroutine resolves (no shared static buffer)', () => {
  const r = run(['static'], 0.2);
  assert.equal(r.status, 0, r.stderr);
  const got = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ')).map(([q, n, ip]) => [q, { n, ip }]));
  assert.equal(got['first.slow.test'].n, 'first.slow.test');
  assert.equal(got['second.slow.test'].n, 'second.slow.test');
  assert.notEqual(got['first.slow.test'].ip, got['second.slow.test'].ip);
});

test('a process that exits while a lookup is in flight on the pool exits at once', () => {
  const t0 = Date.now();
  const r = run(['exit'], 60);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /exiting/);
  assert.ok(Date.now() - t0 < 30000, 'the exit waited for the 60 s lookup');
});

test('each lookup is in the trace: CALL_ENTER and CALL with the name looked up, parked, with its duration', () => {
  const file = join(tmp, 'dns.cstrace');
  const r = run(['concurrent', '3'], 0.3, { COROSCOPE_TRACE: file });
  assert.equal(r.status, 0, r.stderr);
  const d = spawnSync(dump, [file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(d.status, 0, d.stderr);
  const lines = d.stdout.split('\n');
  for (let i = 0; i < 3; i++) {
    const at = lines.findIndex((l) => new RegExp(`"lookup${i}" getaddrinfo\\(\\) = 0 <([\\d.]+)ms> parked$`).test(l));
    assert.ok(at >= 0, `lookup${i}'s CALL:\n${lines.filter((l) => /getaddrinfo/.test(l)).join('\n')}`);
    const ms = Number(/<([\d.]+)ms>/.exec(lines[at])[1]);
    assert.ok(ms >= 250, `lookup${i} took ${ms} ms by its CALL: less than the server's delay`);
    assert.match(lines[at + 1], new RegExp(`"lookup${i}"   address "host${i}\\.slow\\.test"`));
    assert.ok(lines.some((l) => new RegExp(`"lookup${i}" getaddrinfo\\(timeout=none\\) \\.\\.\\.`).test(l)), 'its CALL_ENTER');
    assert.ok(lines.some((l) => new RegExp(`"lookup${i}" woke \\(offloaded call finished\\)`).test(l)), 'woken by the pool');
  }
});
