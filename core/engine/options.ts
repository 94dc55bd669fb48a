/** Engine options of a launch (they become COROSCOPE_* variables: README "Configuration"). */
export interface EngineOptions {
  workers?: number;
  /** e.g. "10ms", "500us" */
  timeSlice?: string;
  preempt?: boolean;
  hooks?: boolean;
  stackSize?: string;
  migrate?: boolean;
  /** The scheduler starts paused, before its first decision (step or resume it from the inspector). */
  startPaused?: boolean;
}
