/** Engine options of a launch (they become COROSCOPE_* variables: README "Configuration"). */
export interface EngineOptions {
  workers?: number;
  /** e.g. "10ms", "500us" */
  timeSlice?: string;
  preempt?: boolean;
  hooks?: boolean;
  stackSize?: string;
  migrate?: boolean;
}
