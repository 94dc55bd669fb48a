/** What a session is and where it stands (no Node imports: the UI shares these types). */
export type SessionKind = 'launched' | 'attached' | 'replay';
export type SessionState = 'running' | 'exited' | 'detached' | 'loaded';
export type ExitInfo = { code: number | null; signal: number | null };

export interface SessionStatus {
  kind: SessionKind;
  pid: number;
  name: string;
  state: SessionState;
  exit?: ExitInfo;
  events: number;
  drops: number;
  /** events per second over the last second (live), 0 for a replay */
  rate: number;
  recordPath?: string;
  recordingError?: string;
  problems: string[];
  startedAt: number;
}
