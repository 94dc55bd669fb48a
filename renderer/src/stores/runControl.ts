/**
 * Running a live target: pause, step, resume — one state per session that every control shows
 * (the top bar's buttons, the scheduler view's Step N and its paused/running label), so two
 * views can never disagree about whether the target is paused.
 *
 * `stops` counts the times the target came to rest (a pause or a step answered): views that show
 * the engine's picture while paused refresh it when it changes.
 */
import { create } from 'zustand';
import { getApi, errorText } from '../api/index.js';

interface RunControlState {
  /** session id -> paused (absent: running) */
  paused: Record<string, boolean>;
  /** session id -> the last control request's error ('' or absent: none) */
  error: Record<string, string>;
  /** session id -> times it came to rest */
  stops: Record<string, number>;
  /** A session launched paused starts so. */
  startedPaused(session: string): void;
  pause(session: string): Promise<boolean>;
  step(session: string, n: number): Promise<boolean>;
  resume(session: string): Promise<boolean>;
  kill(session: string): Promise<boolean>;
}

export const useRunControl = create<RunControlState>((set) => {
  /** One request; the state after it only once the engine answered. */
  const send = async (session: string, request: () => Promise<unknown>, pausedAfter?: boolean): Promise<boolean> => {
    set((st) => ({ error: { ...st.error, [session]: '' } }));
    try {
      await request();
    } catch (e) {
      set((st) => ({ error: { ...st.error, [session]: errorText(e) } }));
      return false;
    }
    if (pausedAfter !== undefined)
      set((st) => ({
        paused: { ...st.paused, [session]: pausedAfter },
        stops: pausedAfter ? { ...st.stops, [session]: (st.stops[session] ?? 0) + 1 } : st.stops,
      }));
    return true;
  };
  return {
    paused: {},
    error: {},
    stops: {},
    startedPaused: (session) => set((st) => ({ paused: { ...st.paused, [session]: true } })),
    pause: (session) => send(session, () => getApi().pause(session), true),
    step: (session, n) => send(session, () => getApi().step(session, n), true),
    resume: (session) => send(session, () => getApi().resume(session), false),
    kill: (session) => send(session, () => getApi().kill(session)),
  };
});

export const selectPaused = (session: string) => (s: RunControlState) => s.paused[session] ?? false;
export const selectControlError = (session: string) => (s: RunControlState) => s.error[session] ?? '';
export const selectStops = (session: string) => (s: RunControlState) => s.stops[session] ?? 0;
