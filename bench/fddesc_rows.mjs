// bench/fddesc_rows.mjs — what describing fds and naming fd wakers costs
// (COROSCOPE_FDDESC, native/engine/src/fddesc.h), rows of bench/run.mjs:
//
//   fddesc_create  c/fd_create.c in one coroutine, recording (COROSCOPE_TRACE):
//                  per iteration a TCP connection over loopback (socket,
//                  connect, accept, 2 closes), a pipe (pipe, 2 closes) and a
//                  file (open, close), with COROSCOPE_FDDESC=1 (ours) and =0
//                  (peer), interleaved; the worker thread's CPU time. The value
//                  is the median CPU ns per fd described, (on − off) of the
//                  medians per fd made, over the three kinds (2 TCP ends, 2
//                  pipe ends, 1 file): each kind's is in the detail.
//   fddesc_echo    echo_server (one worker) recording, against echo_client
//                  (1000 connections × 64 B): req/s with descriptions and
//                  wakers on vs off. Target ≥ 0.95x off.
//
// h: { opts, log, mustRun, lastJson, median, row, errorRow, round4, cleanEnv,
//      needNative, cc, linkEngine, echoOnce, nativeBuild: () => dir, lib: () => path, out }
import { join } from 'node:path';

export function fddescBenchmarks(h) {
  const {
    opts,
    log,
    mustRun,
    lastJson,
    median,
    row,
    errorRow,
    round4,
    cleanEnv,
    needNative,
    cc,
    linkEngine,
    echoOnce,
  } = h;

  async function benchFddesc() {
    const trace = join(h.out, 'fddesc.cstrace');
    const rows = [];
    const cMeta = {
      name: 'fddesc_create',
      title: 'making fds while recording, with fd descriptions (on vs off)',
      unit: 'CPU ns per fd described',
      better: 'lower',
      target: '≤ 2000 ns',
      peer: 'none (cost = on − off)',
    };
    try {
      await needNative(h.lib());
      const exe = await cc('fd_create', 'c/fd_create.c', linkEngine());
      const on = { socket: [], pipe: [], open: [] };
      const off = { socket: [], pipe: [], open: [] };
      for (let i = 0; i < opts.reps; i++) {
        for (const v of i & 1 ? ['0', '1'] : ['1', '0']) {
          const j = lastJson(
            'fd_create',
            (
              await mustRun('fd_create', exe, ['20000', '3'], {
                env: cleanEnv({ COROSCOPE_FDDESC: v, COROSCOPE_TRACE: trace, COROSCOPE_WORKERS: '1' }),
                timeout: 120_000,
              })
            ).stdout,
          );
          const into = v === '1' ? on : off;
          into.socket.push(median(j.socket_ns));
          into.pipe.push(median(j.pipe_ns));
          into.open.push(median(j.open_ns));
        }
        log(
          `  fddesc_create rep ${i + 1} (CPU ns/iteration): TCP connection on ${on.socket.at(-1).toFixed(0)} / off ${off.socket.at(-1).toFixed(0)} ns, pipe ${on.pipe.at(-1).toFixed(0)} / ${off.pipe.at(-1).toFixed(0)} ns, file ${on.open.at(-1).toFixed(0)} / ${off.open.at(-1).toFixed(0)} ns`,
        );
      }
      const per = (k, fds) => round4((median(on[k]) - median(off[k])) / fds);
      const perFd = { tcp_end: per('socket', 2), pipe_end: per('pipe', 2), file: per('open', 1) };
      const value = median([perFd.tcp_end, perFd.pipe_end, perFd.file]);
      rows.push(
        row({
          ...cMeta,
          value: round4(value),
          peer_value: null,
          meets_target: value <= 2000,
          detail: {
            ns_per_fd_described: perFd,
            median_ns_on: {
              socket: round4(median(on.socket)),
              pipe: round4(median(on.pipe)),
              open: round4(median(on.open)),
            },
            median_ns_off: {
              socket: round4(median(off.socket)),
              pipe: round4(median(off.pipe)),
              open: round4(median(off.open)),
            },
            reps_on: on,
            reps_off: off,
            method:
              'c/fd_create.c 20000 iterations x 3 rounds per process (median round), worker thread CPU time, on/off interleaved, recording',
          },
        }),
      );
    } catch (e) {
      rows.push(errorRow(cMeta.name, cMeta.title, cMeta.unit, cMeta.better, cMeta.target, cMeta.peer, e));
    }
    const eMeta = {
      name: 'fddesc_echo',
      title: 'echo, recording, with fd descriptions and wakers (on vs off)',
      unit: 'req/s',
      better: 'higher',
      target: '>= 0.95x off',
      peer: 'COROSCOPE_FDDESC=0',
    };
    try {
      const server = join(h.nativeBuild(), 'examples', 'echo_server');
      const client = join(h.nativeBuild(), 'examples', 'echo_client');
      await needNative(h.lib(), server, client);
      const on = [];
      const off = [];
      for (let i = 0; i < opts.reps; i++) {
        for (const v of i & 1 ? ['0', '1'] : ['1', '0'])
          (v === '1' ? on : off).push(
            await echoOnce(
              `echo_server (COROSCOPE_FDDESC=${v})`,
              server,
              ['--port', '0'],
              cleanEnv({ COROSCOPE_WORKERS: '1', COROSCOPE_FDDESC: v, COROSCOPE_TRACE: trace }),
              client,
            ),
          );
        log(`  fddesc_echo rep ${i + 1}: on ${on.at(-1).rps.toFixed(0)} req/s, off ${off.at(-1).rps.toFixed(0)} req/s`);
      }
      const value = median(on.map((x) => x.rps));
      const peer_value = median(off.map((x) => x.rps));
      rows.push(
        row({
          ...eMeta,
          value: Math.round(value),
          peer_value: Math.round(peer_value),
          meets_target: value / peer_value >= 0.95,
          detail: {
            reps_ours: on.map((x) => x.rps),
            reps_peer: off.map((x) => x.rps),
            client: `echo_client --conns 1000 --size 64 --duration ${opts.echoDuration} --warmup 1; server COROSCOPE_WORKERS=1, recording (COROSCOPE_TRACE)`,
          },
        }),
      );
    } catch (e) {
      rows.push(errorRow(eMeta.name, eMeta.title, eMeta.unit, eMeta.better, eMeta.target, eMeta.peer, e));
    }
    return rows;
  }

  return { fddesc: benchFddesc };
}
