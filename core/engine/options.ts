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
  /** false: forked children and exec'd programs are not followed into the session (default: followed, like
   *  strace -f; README "Children"). */
  follow?: boolean;
}
