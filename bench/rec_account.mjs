// bench/rec_account.mjs — the accounting of the recording rows
// (bench/rec_rows.mjs, bench/README.md row 13): events made, kept and lost,
// from what a program says it did and what its trace file holds. Pure
// functions (tested by bench/rec_account.test.mjs).
//
// Inputs
//   program   the workload's JSON line: c/rec_workload.c, go/rec_workload.go
//             ({coroutines|goroutines, yields, usleeps, writes, reads,
//             socketpairs, closes}) or c/write1m.c ({writes})
//   count     bench/rec_count.ts's JSON for our trace file ({events, kinds,
//             calls, yields, drop_lost})
//   go        go_trace.mjs countGoTrace() of a Go trace ({events, byType})
//
// Rules (the engine's events per operation, docs/events.md):
//   coroutine workload  CO_CREATE and CO_FINISH one per coroutine; CO_YIELD
//       with a0 = 0 one per coroscope_yield(); CALL one per hooked call
//       (socketpair, write, read, usleep, close). The other kinds depend on
//       timing, so the workload's whole count is not known in advance: the
//       loss is exact on these kinds ("made" below), and the events made in
//       all are at least kept + counted lost + the loss on these kinds that
//       no DROP record counted.
//   write1m   one CALL (write) per write, and the process's and thread's
//       metadata (CLOCK, PROCESS, CONFIG, THREAD: emitted into an empty ring
//       before the first write, never the ones dropped; whatever records
//       other than CALL and DROP a file holds are taken as such metadata):
//       the whole count is known, made = writes + metadata kept.
//   Go        runtime/trace writes one GoSleep per time.Sleep, one GoSched per
//       runtime.Gosched and one GoEnd per goroutine that ends; the runtime
//       adds its own GoSched and GoEnd, so kept >= made there and only a
//       shortfall is a loss.

/** What a kind's count was expected to be and what the file kept of it. */
function perKind(made, kept) {
  const rows = {};
  let madeSum = 0;
  let keptSum = 0;
  let lost = 0;
  const broken = [];
  for (const [k, m] of Object.entries(made)) {
    const got = kept[k] ?? 0;
    rows[k] = { made: m, kept: got };
    madeSum += m;
    keptSum += got;
    if (got > m) broken.push(`${k}: the file kept ${got}, the program made ${m}`);
    else lost += m - got;
  }
  return { rows, madeSum, keptSum, lost, broken };
}

/** Events in the file that the program made: every event but DROP records. */
export function keptEvents(count) {
  return count.events - (count.kinds.DROP ?? 0);
}

/** The coroutine workload (c/rec_workload.c) against its trace file. */
export function accountCoroutines(program, count) {
  const calls = count.calls ?? {};
  const made = {
    CO_CREATE: program.coroutines,
    CO_FINISH: program.coroutines,
    'CO_YIELD (yielded)': program.yields,
    'CALL socketpair': program.socketpairs,
    'CALL write': program.writes,
    'CALL read': program.reads,
    'CALL usleep': program.usleeps,
    'CALL close': program.closes,
  };
  const kept = {
    CO_CREATE: count.kinds.CO_CREATE ?? 0,
    CO_FINISH: count.kinds.CO_FINISH ?? 0,
    'CO_YIELD (yielded)': count.yields,
    'CALL socketpair': calls.socketpair ?? 0,
    'CALL write': calls.write ?? 0,
    'CALL read': calls.read ?? 0,
    'CALL usleep': calls.usleep ?? 0,
    'CALL close': calls.close ?? 0,
  };
  const k = perKind(made, kept);
  const otherCalls = Object.keys(calls).filter((h) => !['socketpair', 'write', 'read', 'usleep', 'close'].includes(h));
  if (otherCalls.length)
    k.broken.push(
      `CALL records of hooks the program does not call: ${otherCalls.map((h) => `${h} ${calls[h]}`).join(', ')}`,
    );
  const keptAll = keptEvents(count);
  const counted = count.drop_lost;
  const uncountedMin = Math.max(0, k.lost - counted);
  return {
    exact: false,
    made_known: k.madeSum,
    kept_known: k.keptSum,
    lost_known: k.lost,
    lost_known_pct: k.madeSum ? (100 * k.lost) / k.madeSum : 0,
    kept: keptAll,
    counted_lost: counted,
    uncounted_min: uncountedMin,
    made_min: keptAll + counted + uncountedMin,
    per_kind: k.rows,
    rule_broken: k.broken,
  };
}

/** The write program (c/write1m.c) against its trace file: every event is known. */
export function accountWrites(program, count) {
  const calls = count.calls ?? {};
  const metadata = Object.entries(count.kinds).reduce(
    (s, [name, n]) => (name === 'CALL' || name === 'DROP' ? s : s + n),
    0,
  );
  // opens: the program's open of /dev/null, a CALL since open is hooked (older write1m: absent)
  const opens = program.opens ?? 0;
  const k = perKind(
    { 'CALL write': program.writes, ...(opens ? { 'CALL open': opens } : {}) },
    { 'CALL write': calls.write ?? 0, ...(opens ? { 'CALL open': calls.open ?? 0 } : {}) },
  );
  const otherCalls = Object.keys(calls).filter((h) => h !== 'write' && !(opens && h === 'open'));
  if (otherCalls.length)
    k.broken.push(
      `CALL records of hooks the program does not call: ${otherCalls.map((h) => `${h} ${calls[h]}`).join(', ')}`,
    );
  const keptAll = keptEvents(count);
  const made = program.writes + opens + metadata;
  const lost = made - keptAll;
  const counted = count.drop_lost;
  return {
    exact: true,
    made_known: made,
    kept_known: keptAll,
    lost_known: lost,
    lost_known_pct: made ? (100 * lost) / made : 0,
    kept: keptAll,
    counted_lost: counted,
    // made = kept + counted lost exactly when this is 0; negative: more counted than lost
    uncounted_min: lost - counted,
    made_min: made,
    metadata,
    per_kind: k.rows,
    rule_broken: k.broken,
  };
}

/** Go's trace of go/rec_workload.go: a shortfall on the kinds with a known count is a loss. */
export function accountGo(program, go) {
  const t = go.byType;
  const made = { GoSleep: program.usleeps, GoSched: program.yields, GoEnd: program.goroutines };
  const kept = { GoSleep: t[19] ?? 0, GoSched: t[17] ?? 0, GoEnd: t[15] ?? 0 };
  let madeSum = 0;
  let lost = 0;
  const rows = {};
  for (const k of Object.keys(made)) {
    rows[k] = { made: made[k], kept: kept[k] };
    madeSum += made[k];
    lost += Math.max(0, made[k] - kept[k]);
  }
  return {
    made_known: madeSum,
    lost_known: lost,
    lost_known_pct: madeSum ? (100 * lost) / madeSum : 0,
    kept: go.events,
    per_kind: rows,
  };
}

/** `coroscope record --help` text -> whether the CLI takes --policy. */
export function cliTakesPolicy(helpText) {
  return /(^|\s)--policy\b/m.test(helpText);
}

/** The engine library's bytes -> whether it reads COROSCOPE_TRACE_POLICY. */
export function engineTakesPolicy(libBytes) {
  return Buffer.from(libBytes.buffer, libBytes.byteOffset, libBytes.byteLength).includes('COROSCOPE_TRACE_POLICY');
}

/** Variants in a different order each repetition (A B C, B C A, C A B, ...). */
export function rotation(list, rep) {
  const k = list.length ? rep % list.length : 0;
  return [...list.slice(k), ...list.slice(0, k)];
}
