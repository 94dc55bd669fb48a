// bench/go_trace.mjs — counts the events in a Go execution trace
// (runtime/trace), for the recording rows (bench/rec_rows.mjs).
//
// `go tool trace -d FILE` would print them, but Go's parser first orders
// them by timestamp, and on this project's VMs it refuses the traces of Go
// 1.19 ("failed to parse trace: time stamps out of order": the CPUs' tick
// counters disagree). Counting needs no order, so this decodes the wire
// format itself, by the rules of readTrace in Go's src/internal/trace/
// parser.go (formats 1.7 to 1.21; Go 1.22 changed the format):
//
//   header   16 bytes, "go 1.19 trace\0\0\0"
//   event    1 byte: type (low 6 bits) | (number of arguments - 1) << 6;
//            then the arguments as unsigned LEB128 varints, or, when the
//            count field is 3, a varint byte length followed by that many
//            bytes of varint arguments;
//            EvString (37) is [id varint, length varint, bytes];
//            EvUserLog (48) is followed by a value string [length varint, bytes].
//
// Events, as Go's parser hands them out, are every decoded record except the
// dictionary and framing ones: EvString (37), EvStack (3), EvBatch (1),
// EvFrequency (2) and EvTimerGoroutine (35). Their bytes still count in the
// file size (a fair bytes-per-event figure pays for the dictionaries).
//
// Node 20, ESM, no dependencies.

export const GO_EV = {
  Batch: 1,
  Frequency: 2,
  Stack: 3,
  GoCreate: 13,
  GoStart: 14,
  GoEnd: 15,
  GoSched: 17,
  GoPreempt: 18,
  GoSleep: 19,
  GoUnblock: 21,
  GoBlockNet: 27,
  GoSysCall: 28,
  TimerGoroutine: 35,
  String: 37,
  GoStartLocal: 38,
  GoUnblockLocal: 39,
  UserLog: 48,
  Count: 50,
};
const METADATA = new Set([GO_EV.Batch, GO_EV.Frequency, GO_EV.Stack, GO_EV.TimerGoroutine, GO_EV.String]);

/** "go 1.19 trace\0\0\0" -> 1019; throws on anything else. */
export function goTraceVersion(buf) {
  if (buf.length < 16) throw new Error('not a Go trace: shorter than its 16-byte header');
  const h = Buffer.from(buf.subarray(0, 16)).toString('latin1');
  const m = /^go (\d)\.(\d{1,2}) trace\0+$/.exec(h);
  if (!m) throw new Error(`not a Go trace: header ${JSON.stringify(h)}`);
  return Number(m[1]) * 1000 + Number(m[2]);
}

/**
 * Decode a whole Go trace (a Uint8Array/Buffer). Returns
 * { version, events, records, byType: {type: count}, strings, bytes }:
 * events excludes the dictionary/framing records, records counts every one.
 * Throws with the offset when the file does not decode exactly to its end.
 */
export function countGoTrace(buf) {
  const version = goTraceVersion(buf);
  if (version < 1007 || version > 1021)
    throw new Error(
      `Go trace format ${Math.floor(version / 1000)}.${version % 1000}: only 1.7 to 1.21 are decoded here`,
    );
  const n = buf.length;
  let off = 16;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (off >= n) throw new Error(`Go trace: truncated varint at offset ${off}`);
      const b = buf[off++];
      v += (b & 0x7f) * mul; // exact below 2^53; larger values only need to be skipped
      mul *= 128;
      if (!(b & 0x80)) return v;
    }
    throw new Error(`Go trace: bad varint before offset ${off}`);
  };
  const skip = (len, what) => {
    if (len > n - off) throw new Error(`Go trace: ${what} of ${len} bytes at offset ${off} runs past the end`);
    off += len;
  };
  const byType = new Array(64).fill(0);
  let records = 0;
  while (off < n) {
    const off0 = off;
    const b = buf[off++];
    const typ = b & 0x3f;
    const narg = (b >> 6) + 1;
    if (typ === 0 || typ >= GO_EV.Count) throw new Error(`Go trace: unknown event type ${typ} at offset ${off0}`);
    records++;
    byType[typ]++;
    if (typ === GO_EV.String) {
      varint(); // id
      skip(varint(), 'string');
      continue;
    }
    if (narg < 4) for (let i = 0; i < narg; i++) varint();
    else {
      const len = varint();
      const start = off;
      while (off - start < len) varint();
      if (off - start !== len)
        throw new Error(`Go trace: event at offset ${off0} says ${len} bytes of arguments, they take ${off - start}`);
    }
    if (typ === GO_EV.UserLog) skip(varint(), 'log value');
  }
  let events = 0;
  const out = {};
  for (let t = 0; t < byType.length; t++) {
    if (!byType[t]) continue;
    out[t] = byType[t];
    if (!METADATA.has(t)) events += byType[t];
  }
  return { version, events, records, byType: out, strings: byType[GO_EV.String], bytes: n };
}
