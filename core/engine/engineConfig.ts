/**
 * The engine's run-time configuration as its control channel reports it (`hello`'s config,
 * `set`'s reply; native/engine/src/control.c). Types only: shared by the core and the app's
 * contract (preload/api.ts), which must not depend on Node.
 */
export interface EngineConfig {
  workers: number;
  stack_size: number;
  time_slice_ns: number;
  hooks: 0 | 1;
  preempt: 0 | 1;
  migrate: 0 | 1;
  preempt_signal: number;
  /** COROSCOPE_FLIGHT: bytes the flight recorder keeps (0: none). */
  flight_bytes: number;
  /** COROSCOPE_TRACE_POLICY: the policy of COROSCOPE_TRACE and of a launching inspector (absent: older engine). */
  trace_policy?: 'lossless' | 'drop';
}
